#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conlog.h"
#include "paths.h"
#include "xmalloc.h"

struct conlog {
	char *log_path;
	int log_fd;
	int log_stamps;
	int log_at_bol;		/* the next byte starts a line */
};

/* Opens the file, creating its directory first. */
static int
conlog_open_fd(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd;

	if (slash && slash != dir) {
		*slash = '\0';
		paths_mkdir_p(dir, 0755);
	}
	free(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return fd;
}

/* A guest or hypervisor log, appended to across restarts. */
struct conlog *
conlog_open(const char *path, int timestamps)
{
	struct conlog *log;
	int fd = conlog_open_fd(path);

	if (fd < 0)
		return NULL;
	log = xcalloc(1, sizeof(*log));
	log->log_path = xstrdup(path);
	log->log_fd = fd;
	log->log_stamps = timestamps;
	log->log_at_bol = 1;
	return log;
}

/* Closes a log (NULL is fine). */
void
conlog_close(struct conlog *log)
{
	if (log == NULL)
		return;
	close(log->log_fd);
	free(log->log_path);
	free(log);
}

/* SIGHUP: the file may have been rotated away. */
int
conlog_reopen(struct conlog *log)
{
	int fd = conlog_open_fd(log->log_path);

	if (fd < 0)
		return -1;
	close(log->log_fd);
	log->log_fd = fd;
	return 0;
}

/* write() until done; a log file is a regular file, so this does not block long. */
static int
conlog_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= n;
	}
	return 0;
}

/* The stamp put before each line. */
static int
conlog_stamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, len, "[%Y-%m-%d %H:%M:%S", &tm);
	return n + snprintf(buf + n, len - n, ".%03ld] ", (long)tv.tv_usec / 1000);
}

/* Appends console bytes, stamping each new line when asked. */
int
conlog_write(struct conlog *log, const char *data, size_t len)
{
	char stamp[64];
	const char *nl;
	size_t line;

	if (!log->log_stamps)
		return conlog_write_all(log->log_fd, data, len);
	while (len > 0) {
		if (log->log_at_bol &&
		    conlog_write_all(log->log_fd, stamp, conlog_stamp(stamp, sizeof(stamp))) < 0)
			return -1;
		nl = memchr(data, '\n', len);
		line = nl ? (size_t)(nl - data) + 1 : len;
		if (conlog_write_all(log->log_fd, data, line) < 0)
			return -1;
		log->log_at_bol = nl != NULL;
		data += line;
		len -= line;
	}
	return 0;
}
