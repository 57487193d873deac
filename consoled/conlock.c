#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conlock.h"
#include "paths.h"
#include "xmalloc.h"

/* Where the lock of one console lives, under the rundir. */
char *
conlock_path(uint32_t domid, unsigned num)
{
	char *p;

	if (num == 0)
		xasprintf(&p, "%s/console/pvconsole.%u.lock", paths_rundir(), domid);
	else
		xasprintf(&p, "%s/console/pvconsole.%u.%u.lock", paths_rundir(), domid, num);
	return p;
}

/* Reads the holder's record for the refusal message. */
static void
conlock_read_holder(int fd, char *holder, size_t holderlen)
{
	ssize_t n;

	if (holderlen == 0)
		return;
	n = pread(fd, holder, holderlen - 1, 0);
	if (n <= 0) {
		snprintf(holder, holderlen, "unknown");
		return;
	}
	holder[n] = '\0';
	holder[strcspn(holder, "\n")] = '\0';
}

/* Whether fd is still the file at path: a holder unlinks it when it lets go. */
static bool
conlock_still_linked(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
}

/* Becomes the one client of a console, or learns who is. */
int
conlock_acquire(const char *path, const char *cmd, char *holder, size_t holderlen)
{
	char *dir = NULL, *slash, rec[512];
	int fd = -1, n, saved;

	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (paths_mkdir_p(dir, 0755) < 0)
			goto fail;
	}
	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			goto fail;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			saved = errno;
			if (errno == EWOULDBLOCK)
				conlock_read_holder(fd, holder, holderlen);
			errno = saved;
			goto fail;
		}
		/* the holder we waited on may have unlinked it (conlock_release): a
		 * lock on a file no longer at path excludes no one, so open it anew */
		if (conlock_still_linked(fd, path))
			break;
		close(fd);
	}
	n = snprintf(rec, sizeof(rec), "pid %ld %s\n", (long)getpid(), cmd ? cmd : "");
	if (n >= (int)sizeof(rec))
		n = sizeof(rec) - 1;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, rec, n, 0) != n)
		goto fail;
	free(dir);
	return fd;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	errno = saved;
	return -1;
}

/* Lets the next client in, leaving no file behind. */
void
conlock_release(int fd, const char *path)
{
	if (fd < 0)
		return;
	/* unlinked while still held, so no one can lock it and then lose it */
	unlink(path);
	close(fd);
}
