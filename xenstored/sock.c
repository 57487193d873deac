/*
 * The dom0 transport: unix sockets "socket" (read-write) and "socket_ro".
 * Every socket client is privileged, as in Xen; socket_ro refuses writes.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "xenstored.h"
#include "paths.h"
#include "unixsock.h"
#include "xmalloc.h"

#define SOCK_BUF 8192

struct sock_listener {
	int sl_fd;
	bool sl_readonly;
	char *sl_path;
	struct event *sl_ev;
};

struct sock {
	int s_fd;
	struct event *s_rd, *s_wr;
	size_t s_have, s_off;
	bool s_dry;		/* a short read this wakeup: the socket is empty */
	char s_buf[SOCK_BUF];
};

static struct sock_listener sock_listeners[2] = { { .sl_fd = -1 }, { .sl_fd = -1 } };

/*
 * Serves reads from a staging buffer so a small request costs one read(),
 * and no second read() to hear EAGAIN: after a short read the socket is
 * empty, and the (level-triggered) read event tells us when it is not.
 */
static ssize_t
sock_read(struct conn *c, void *buf, size_t len)
{
	struct sock *s = c->c_tp;
	ssize_t n;

	if (s->s_off == s->s_have) {
		if (s->s_dry)
			return 0;
		n = read(s->s_fd, s->s_buf, sizeof(s->s_buf));
		if (n == 0)
			return -1;
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		s->s_have = n;
		s->s_off = 0;
		s->s_dry = (size_t)n < sizeof(s->s_buf);
	}
	if (len > s->s_have - s->s_off)
		len = s->s_have - s->s_off;
	memcpy(buf, s->s_buf + s->s_off, len);
	s->s_off += len;
	return len;
}

/* Non-blocking send; 0 when the socket buffer is full. */
static ssize_t
sock_write(struct conn *c, const void *buf, size_t len)
{
	struct sock *s = c->c_tp;
	ssize_t n = send(s->s_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	return n;
}

/* Stops or resumes reading a client. */
static void
sock_throttle(struct conn *c, bool on)
{
	struct sock *s = c->c_tp;

	s->s_dry = false;	/* read again when resumed */
	if (on)
		event_del(s->s_rd);
	else
		event_add(s->s_rd, NULL);
}

/* Waits for writability only while replies are queued. */
static void
sock_want_write(struct conn *c, bool on)
{
	struct sock *s = c->c_tp;

	if (on && !event_pending(s->s_wr, EV_WRITE, NULL))
		event_add(s->s_wr, NULL);
	else if (!on && event_pending(s->s_wr, EV_WRITE, NULL))
		event_del(s->s_wr);
}

/* Closes the client socket. */
static void
sock_free(struct conn *c)
{
	struct sock *s = c->c_tp;

	event_free(s->s_rd);
	event_free(s->s_wr);
	close(s->s_fd);
	free(s);
}

static const struct conn_ops sock_ops = {
	.co_read = sock_read,
	.co_write = sock_write,
	.co_throttle = sock_throttle,
	.co_want_write = sock_want_write,
	.co_free = sock_free,
};

/* Client readable. */
static void
sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct sock *s = c->c_tp;

	(void)fd;
	(void)what;
	s->s_dry = false;
	conn_input(c);
}

/* Client writable again. */
static void
sock_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_output(arg);
}

/* A new client: privileged, read-only if it came through socket_ro. */
static void
sock_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct sock_listener *sl = arg;
	struct event_base *base = conn_base();
	struct sock *s;
	struct conn *c;
	int fd;

	(void)what;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("accept");
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->s_fd = fd;
	c = conn_new(&sock_ops, s, 0, true);
	c->c_readonly = sl->sl_readonly;
	s->s_rd = event_new(base, fd, EV_READ | EV_PERSIST, sock_read_cb, c);
	s->s_wr = event_new(base, fd, EV_WRITE | EV_PERSIST, sock_write_cb, c);
	event_add(s->s_rd, NULL);
	log_debug("conn %u: socket client%s", c->c_id, sl->sl_readonly ? " (read-only)" : "");
}

/* Binds one listening socket, replacing a stale one. */
static int
sock_bind(struct event_base *base, struct sock_listener *sl, const char *path, bool ro)
{
	int fd;

	fd = unixsock_listen(path, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0600, 128);
	if (fd < 0)
		return -1;
	sl->sl_fd = fd;
	sl->sl_readonly = ro;
	sl->sl_path = xstrdup(path);
	sl->sl_ev = event_new(base, fd, EV_READ | EV_PERSIST, sock_accept_cb, sl);
	event_add(sl->sl_ev, NULL);
	return 0;
}

/* Listens on <dir>/socket and <dir>/socket_ro. */
int
sock_listen(struct event_base *base, const char *dir)
{
	char *rw = NULL, *ro = NULL;
	int rc = -1;

	if (paths_mkdir_p(dir, 0755) < 0) {
		log_warn("mkdir %s", dir);
		goto out;
	}
	xasprintf(&rw, "%s/socket", dir);
	xasprintf(&ro, "%s/socket_ro", dir);
	if (sock_bind(base, &sock_listeners[0], rw, false) < 0) {
		log_warn("listen %s", rw);
		goto out;
	}
	if (sock_bind(base, &sock_listeners[1], ro, true) < 0) {
		log_warn("listen %s", ro);
		goto out;
	}
	rc = 0;
out:
	free(rw);
	free(ro);
	return rc;
}

/* Closes and unlinks the listening sockets. */
void
sock_shutdown(void)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct sock_listener *sl = &sock_listeners[i];

		if (sl->sl_fd < 0)
			continue;
		event_free(sl->sl_ev);
		close(sl->sl_fd);
		unlink(sl->sl_path);
		free(sl->sl_path);
		sl->sl_fd = -1;
	}
}
