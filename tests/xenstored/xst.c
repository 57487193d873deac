/* Test helpers for xenstored: private daemons and a raw wire client. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xst.h"

int
xst_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void
xst_daemon_start(struct xst_daemon *d, const char *const *extra)
{
	const char *argv[32] = { XST_XENSTORED, "-N" };
	int argc = 2, i, fd;

	strcpy(d->dir, "/tmp/xst.XXXXXX");
	cr_assert(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/xenstored/socket", d->dir);
	for (i = 0; extra && extra[i]; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	d->pid = fork();
	cr_assert(d->pid >= 0);
	if (d->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		setenv("PVSTACK_RUNDIR", d->dir, 1);
		if (!getenv("XST_VERBOSE"))
			dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if ((fd = xst_connect(d->sock)) >= 0) {
			close(fd);
			return;
		}
		usleep(10000);
	}
	cr_assert_fail("xenstored did not start");
}

void
xst_daemon_stop(struct xst_daemon *d)
{
	char cmd[128];
	int st;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, &st, 0);
		d->pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", d->dir);
}

void
xst_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx, const void *p, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx, len };
	char buf[sizeof(h) + 8192];

	cr_assert(len <= 8192);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, len);
	cr_assert_eq(send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL), (ssize_t)(sizeof(h) + len));
}

/* Reads exactly len bytes, or fails. */
static int
xst_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int
xst_recv(int fd, struct xst_msg *m)
{
	if (!xst_readable(fd, 3000))
		return -1;
	if (xst_read_full(fd, &m->hdr, sizeof(m->hdr)) < 0)
		return -1;
	cr_assert_leq(m->hdr.len, XENSTORE_PAYLOAD_MAX);
	if (xst_read_full(fd, m->body, m->hdr.len) < 0)
		return -1;
	m->body[m->hdr.len] = '\0';
	return 0;
}

/* Events that arrived before a reply, for xst_event(). */
static struct xst_msg xst_events[64];
static unsigned xst_nevents;

unsigned
xst_nevents_pending(void)
{
	return xst_nevents;
}

void
xst_events_clear(void)
{
	xst_nevents = 0;
}

int
xst_event(int fd, struct xst_msg *m)
{
	if (xst_nevents > 0) {
		*m = xst_events[0];
		memmove(xst_events, xst_events + 1, --xst_nevents * sizeof(*m));
		return 0;
	}
	return xst_recv(fd, m);
}

void
xst_call(int fd, uint32_t type, uint32_t tx, const void *p, size_t len, struct xst_msg *m)
{
	static uint32_t req = 100;

	xst_send(fd, type, ++req, tx, p, len);
	for (;;) {
		cr_assert_eq(xst_recv(fd, m), 0, "no reply to type %u", type);
		if (m->hdr.type != XS_WATCH_EVENT)
			break;
		if (xst_nevents < 64)
			xst_events[xst_nevents++] = *m;
	}
	cr_assert_eq(m->hdr.req_id, req);
	cr_assert_eq(m->hdr.tx_id, tx);
	cr_assert(m->hdr.type == type || m->hdr.type == XS_ERROR);
}

const char *
xst_str(int fd, uint32_t type, uint32_t tx, const char *a, const char *b, struct xst_msg *m)
{
	char buf[8192];
	size_t len = 0;

	if (a) {
		len = strlen(a) + 1;
		memcpy(buf, a, len);
	}
	if (b) {
		memcpy(buf + len, b, strlen(b) + 1);
		len += strlen(b) + (type == XS_WRITE ? 0 : 1);
	}
	xst_call(fd, type, tx, buf, len, m);
	return m->body;
}

bool
xst_readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1;
}
