/*
 * Unix-domain sockets by path, one place for the sun_path length check and the
 * close-on-failure that keeps errno.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unixsock.h"

/* Every user needs the same length check before copying the path. */
int
unixsock_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/* Closes fd keeping the errno of the failure that made us give it up. */
static int
unixsock_fail(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
	return -1;
}

/* The address and a fresh socket for it: what connect and listen both start with. */
static int
unixsock_socket(struct sockaddr_un *sun, const char *path, int type)
{
	if (unixsock_addr(sun, path) < 0)
		return -1;
	return socket(AF_UNIX, type, 0);
}

/* The clients' connect: socket, connect, and no fd leaked on failure. */
int
unixsock_connect(const char *path, int type)
{
	struct sockaddr_un sun;
	int fd;

	if ((fd = unixsock_socket(&sun, path, type)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return unixsock_fail(fd);
	return fd;
}

/* The daemons' listen: a stale socket file is replaced, the mode set. */
int
unixsock_listen(const char *path, int type, mode_t mode, int backlog)
{
	struct sockaddr_un sun;
	int fd;

	if ((fd = unixsock_socket(&sun, path, type)) < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, backlog) < 0)
		return unixsock_fail(fd);
	return fd;
}
