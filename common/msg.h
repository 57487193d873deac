/* Whole-message transport over SOCK_SEQPACKET unix sockets, with descriptors
 * passed by SCM_RIGHTS. The kernel keeps message boundaries, so a reader never
 * sees half a message and never needs reassembly state. */
#ifndef PVSTACK_MSG_H
#define PVSTACK_MSG_H

#include <stddef.h>
#include <sys/types.h>

#define MSG_MAX_FDS 16

/* Sends one message; 0, or -1 with errno (EAGAIN on a full non-blocking socket). */
int msg_send(int sock, const void *buf, size_t len, const int *fds, int nfds);
/*
 * Receives one message of at most cap bytes and at most MSG_MAX_FDS descriptors
 * (all received descriptors are close-on-exec). Returns its length, 0 on EOF,
 * -1 with errno: EMSGSIZE when the message or its descriptors did not fit (the
 * descriptors that did arrive are closed, *nfds is 0), EAGAIN, or others.
 */
ssize_t msg_recv(int sock, void *buf, size_t cap, int *fds, int *nfds);
/* Closes n descriptors, ignoring -1 entries. */
void msg_close_fds(int *fds, int n);

#endif
