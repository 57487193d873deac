/* Unix-domain sockets by path: the address check, connect and listen that the
 * xenstore clients, libhv, hvd and xenstored all need. No libevent. */
#ifndef PVSTACK_UNIXSOCK_H
#define PVSTACK_UNIXSOCK_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* Fills sun with AF_UNIX and path; -1 with ENAMETOOLONG when it does not fit. */
int unixsock_addr(struct sockaddr_un *sun, const char *path);
/* A socket of type (SOCK_STREAM or SOCK_SEQPACKET, | SOCK_CLOEXEC etc.)
 * connected to path; -1 with errno. */
int unixsock_connect(const char *path, int type);
/* A socket of type bound to path (a stale path is unlinked first), chmod'ed to
 * mode and listening; -1 with errno. */
int unixsock_listen(const char *path, int type, mode_t mode, int backlog);

#endif
