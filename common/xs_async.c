/*
 * The asynchronous xenstore client on a libevent loop: requests pipelined
 * with unique req_ids, replies matched to callbacks by req_id, watch events
 * matched by token, and transactions that retry themselves on EAGAIN.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "unixsock.h"
#include "xmalloc.h"
#include "xs_async.h"

#define XSA_TX_RETRIES 100

struct xsa_pending {
	TAILQ_ENTRY(xsa_pending) p_link;
	uint32_t p_req_id;
	xsa_reply_cb p_cb;
	void *p_arg;
};

struct xsa_watch {
	LIST_ENTRY(xsa_watch) w_link;
	struct xsa *w_xsa;
	char *w_path;
	char w_token[32];
	xsa_watch_cb w_cb;
	void *w_arg;
};

struct xsa {
	struct event_base *x_base;
	struct bufferevent *x_bev;
	uint32_t x_next_req;
	unsigned x_next_watch;
	TAILQ_HEAD(, xsa_pending) x_pending;
	LIST_HEAD(, xsa_watch) x_watches;
	xsa_lost_cb x_lost;
	void *x_arg;
	bool x_dead;
};

struct xsa_tx {
	struct xsa *t_xsa;
	xsa_tx_body t_body;
	xsa_tx_done t_done;
	void *t_arg;
	xs_tx_t t_tx;
	unsigned t_tries;
	int t_abort_err;
};

/* Runs every pending callback with EPIPE, then the lost callback. */
static void
xsa_fail(struct xsa *x)
{
	struct xsa_pending *p;

	if (x->x_dead)
		return;
	x->x_dead = true;
	while ((p = TAILQ_FIRST(&x->x_pending)) != NULL) {
		TAILQ_REMOVE(&x->x_pending, p, p_link);
		if (p->p_cb)
			p->p_cb(x, EPIPE, NULL, 0, p->p_arg);
		free(p);
	}
	if (x->x_lost)
		x->x_lost(x, x->x_arg);
}

/* A watch event: "path\0token\0". */
static void
xsa_deliver_event(struct xsa *x, const char *data, size_t len)
{
	const char *path = data, *token;
	struct xsa_watch *w;
	size_t pl = strnlen(data, len);

	if (pl + 1 >= len)
		return;
	token = data + pl + 1;
	if (strnlen(token, len - pl - 1) == len - pl - 1)
		return;
	LIST_FOREACH(w, &x->x_watches, w_link)
		if (strcmp(w->w_token, token) == 0) {
			w->w_cb(x, path, token, w->w_arg);
			return;
		}
}

/* A reply: the pending request with the same req_id. */
static void
xsa_deliver_reply(struct xsa *x, const struct xsd_sockmsg *hdr, const char *data)
{
	struct xsa_pending *p;

	TAILQ_FOREACH(p, &x->x_pending, p_link)
		if (p->p_req_id == hdr->req_id)
			break;
	if (p == NULL) {
		log_warnx("xenstore: reply to unknown request %u", hdr->req_id);
		return;
	}
	TAILQ_REMOVE(&x->x_pending, p, p_link);
	if (p->p_cb) {
		if (hdr->type == XS_ERROR)
			p->p_cb(x, xs_errno_from_name(data), NULL, 0, p->p_arg);
		else
			p->p_cb(x, 0, data, hdr->len, p->p_arg);
	}
	free(p);
}

/* Takes every whole message out of the input buffer. */
static void
xsa_read_cb(struct bufferevent *bev, void *arg)
{
	struct xsa *x = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct xsd_sockmsg hdr;
	char *data;

	while (!x->x_dead && evbuffer_get_length(in) >= sizeof(hdr)) {
		evbuffer_copyout(in, &hdr, sizeof(hdr));
		if (hdr.len > XENSTORE_PAYLOAD_MAX) {
			log_warnx("xenstore: oversized message from the daemon");
			xsa_fail(x);
			return;
		}
		if (evbuffer_get_length(in) < sizeof(hdr) + hdr.len)
			return;
		evbuffer_drain(in, sizeof(hdr));
		data = xmalloc(hdr.len + 1);
		evbuffer_remove(in, data, hdr.len);
		data[hdr.len] = '\0';
		if (hdr.type == XS_WATCH_EVENT)
			xsa_deliver_event(x, data, hdr.len);
		else
			xsa_deliver_reply(x, &hdr, data);
		free(data);
	}
}

/* EOF or error on the socket: the connection is lost. */
static void
xsa_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		xsa_fail(arg);
}

/* libevent writes with writev(): a dead daemon must not kill us with SIGPIPE. */
static void
xsa_ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

/* Connects and starts reading on base. */
struct xsa *
xsa_open(struct event_base *base, const char *path, xsa_lost_cb lost, void *arg)
{
	struct xsa *x;
	int fd;

	if (path == NULL)
		path = xs_socket_path();
	if ((fd = unixsock_connect(path, SOCK_STREAM | SOCK_CLOEXEC)) < 0)
		return NULL;
	if (evutil_make_socket_nonblocking(fd) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return NULL;
	}
	xsa_ignore_sigpipe();
	x = xcalloc(1, sizeof(*x));
	x->x_base = base;
	x->x_lost = lost;
	x->x_arg = arg;
	TAILQ_INIT(&x->x_pending);
	LIST_INIT(&x->x_watches);
	x->x_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(x->x_bev, xsa_read_cb, NULL, xsa_event_cb, x);
	bufferevent_enable(x->x_bev, EV_READ);
	return x;
}

/* Closes without running pending callbacks. */
void
xsa_close(struct xsa *x)
{
	struct xsa_pending *p;
	struct xsa_watch *w;

	if (x == NULL)
		return;
	while ((p = TAILQ_FIRST(&x->x_pending)) != NULL) {
		TAILQ_REMOVE(&x->x_pending, p, p_link);
		free(p);
	}
	while ((w = LIST_FIRST(&x->x_watches)) != NULL) {
		LIST_REMOVE(w, w_link);
		free(w->w_path);
		free(w);
	}
	bufferevent_free(x->x_bev);
	free(x);
}

/* Queues one request made of pieces; each piece is copied. */
static int
xsa_send(struct xsa *x, uint32_t type, xs_tx_t tx, const struct iovec *iov, unsigned n,
    xsa_reply_cb cb, void *arg)
{
	struct xsd_sockmsg hdr = { .type = type, .tx_id = tx };
	struct evbuffer *out;
	struct xsa_pending *p;
	unsigned i;

	if (x->x_dead) {
		errno = EPIPE;
		return -1;
	}
	for (i = 0; i < n; i++)
		hdr.len += iov[i].iov_len;
	if (hdr.len > XENSTORE_PAYLOAD_MAX) {
		errno = E2BIG;
		return -1;
	}
	do {
		hdr.req_id = ++x->x_next_req;
	} while (hdr.req_id == 0);
	out = bufferevent_get_output(x->x_bev);
	evbuffer_add(out, &hdr, sizeof(hdr));
	for (i = 0; i < n; i++)
		evbuffer_add(out, iov[i].iov_base, iov[i].iov_len);
	p = xcalloc(1, sizeof(*p));
	p->p_req_id = hdr.req_id;
	p->p_cb = cb;
	p->p_arg = arg;
	TAILQ_INSERT_TAIL(&x->x_pending, p, p_link);
	return 0;
}

/* Queues a raw request; cb runs with its reply. */
int
xsa_request(struct xsa *x, uint32_t type, xs_tx_t tx, const void *payload, size_t len,
    xsa_reply_cb cb, void *arg)
{
	struct iovec iov = { (void *)payload, len };

	return xsa_send(x, type, tx, &iov, 1, cb, arg);
}

/* A request with one string argument. */
static int
xsa_path_req(struct xsa *x, uint32_t type, xs_tx_t tx, const char *path, xsa_reply_cb cb,
    void *arg)
{
	return xsa_request(x, type, tx, path, strlen(path) + 1, cb, arg);
}

/* Async XS_READ. */
int
xsa_read(struct xsa *x, xs_tx_t tx, const char *path, xsa_reply_cb cb, void *arg)
{
	return xsa_path_req(x, XS_READ, tx, path, cb, arg);
}

/* Async XS_WRITE. */
int
xsa_write(struct xsa *x, xs_tx_t tx, const char *path, const void *val, size_t len,
    xsa_reply_cb cb, void *arg)
{
	struct iovec iov[2] = { { (void *)path, strlen(path) + 1 }, { (void *)val, len } };

	return xsa_send(x, XS_WRITE, tx, iov, 2, cb, arg);
}

/* Async XS_RM. */
int
xsa_rm(struct xsa *x, xs_tx_t tx, const char *path, xsa_reply_cb cb, void *arg)
{
	return xsa_path_req(x, XS_RM, tx, path, cb, arg);
}

/* Async XS_DIRECTORY (payload: NUL-separated names). */
int
xsa_directory(struct xsa *x, xs_tx_t tx, const char *path, xsa_reply_cb cb, void *arg)
{
	return xsa_path_req(x, XS_DIRECTORY, tx, path, cb, arg);
}

/* A failed WATCH is worth a line in the log; there is no one else to tell. */
static void
xsa_watch_reply(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	(void)x;
	(void)data;
	(void)len;
	if (err && err != EPIPE)
		log_warnx("xenstore: watch %s: %s", (char *)arg, strerror(err));
	free(arg);
}

/* Watches path with a library-made token; cb also gets the initial event. */
struct xsa_watch *
xsa_watch(struct xsa *x, const char *path, xsa_watch_cb cb, void *arg)
{
	struct xsa_watch *w = xcalloc(1, sizeof(*w));
	struct iovec iov[2];

	w->w_xsa = x;
	w->w_path = xstrdup(path);
	snprintf(w->w_token, sizeof(w->w_token), "xsa-%u", ++x->x_next_watch);
	w->w_cb = cb;
	w->w_arg = arg;
	iov[0] = (struct iovec){ w->w_path, strlen(path) + 1 };
	iov[1] = (struct iovec){ w->w_token, strlen(w->w_token) + 1 };
	if (xsa_send(x, XS_WATCH, 0, iov, 2, xsa_watch_reply, xstrdup(path)) < 0) {
		free(w->w_path);
		free(w);
		return NULL;
	}
	LIST_INSERT_HEAD(&x->x_watches, w, w_link);
	return w;
}

/* Stops a watch; its events are ignored from now on. */
void
xsa_unwatch(struct xsa *x, struct xsa_watch *w)
{
	struct iovec iov[2] = { { w->w_path, strlen(w->w_path) + 1 },
		{ w->w_token, strlen(w->w_token) + 1 } };

	xsa_send(x, XS_UNWATCH, 0, iov, 2, NULL, NULL);
	LIST_REMOVE(w, w_link);
	free(w->w_path);
	free(w);
}

static void xsa_tx_begin(struct xsa_tx *t);

/* Finishes a transaction: done runs once, then t is gone. */
static void
xsa_tx_finish(struct xsa_tx *t, int err)
{
	t->t_done(t->t_xsa, err, t->t_arg);
	free(t);
}

/* TRANSACTION_START answered: run the body. */
static void
xsa_tx_started(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct xsa_tx *t = arg;

	(void)len;
	if (err) {
		xsa_tx_finish(t, err);
		return;
	}
	t->t_tx = strtoul(data, NULL, 10);
	t->t_body(x, t, t->t_tx, t->t_arg);
}

/* Starts (or restarts) a transaction. */
static void
xsa_tx_begin(struct xsa_tx *t)
{
	if (xsa_request(t->t_xsa, XS_TRANSACTION_START, 0, "", 1, xsa_tx_started, t) < 0)
		xsa_tx_finish(t, errno);
}

/* A transaction that retries itself on EAGAIN. */
int
xsa_transaction(struct xsa *x, xsa_tx_body body, xsa_tx_done done, void *arg)
{
	struct xsa_tx *t;

	if (x->x_dead) {
		errno = EPIPE;
		return -1;
	}
	t = xcalloc(1, sizeof(*t));
	t->t_xsa = x;
	t->t_body = body;
	t->t_done = done;
	t->t_arg = arg;
	xsa_tx_begin(t);
	return 0;
}

/* Commit answered: retry on EAGAIN, else done. */
static void
xsa_tx_ended(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct xsa_tx *t = arg;

	(void)x;
	(void)data;
	(void)len;
	if (err == EAGAIN && ++t->t_tries < XSA_TX_RETRIES) {
		xsa_tx_begin(t);
		return;
	}
	xsa_tx_finish(t, err);
}

/* Ends the body: commit. */
void
xsa_tx_commit(struct xsa_tx *t)
{
	if (xsa_request(t->t_xsa, XS_TRANSACTION_END, t->t_tx, "T", 2, xsa_tx_ended, t) < 0)
		xsa_tx_finish(t, errno);
}

/* Abort answered: done with the body's error. */
static void
xsa_tx_aborted(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct xsa_tx *t = arg;

	(void)x;
	(void)err;
	(void)data;
	(void)len;
	xsa_tx_finish(t, t->t_abort_err);
}

/* Ends the body: abort with err. */
void
xsa_tx_abort(struct xsa_tx *t, int err)
{
	t->t_abort_err = err;
	if (xsa_request(t->t_xsa, XS_TRANSACTION_END, t->t_tx, "F", 2, xsa_tx_aborted, t) < 0)
		xsa_tx_finish(t, err);
}
