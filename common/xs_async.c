/*
 * The asynchronous xenstore client on a libevent loop: requests pipelined
 * with unique req_ids, replies matched to callbacks by req_id, watch events
 * matched by token, and transactions that retry themselves on EAGAIN.
 * A lost connection is made again on a timer (xs.h says what survives it):
 * requests keep their bytes until answered so they can be sent again.
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
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "unixsock.h"
#include "xmalloc.h"
#include "xs_async.h"

#define XSA_TX_RETRIES 100
#define XSA_BACKOFF_FIRST_MS 10
#define XSA_BACKOFF_MAX_MS 500
/* Transaction handles given to bodies; raw daemon ids never have the top bit. */
#define XSA_TXH_BIT 0x80000000u

struct xsa_pending {
	TAILQ_ENTRY(xsa_pending) p_link;
	uint32_t p_req_id;
	uint32_t p_type;
	uint32_t p_tx;		/* the daemon's transaction id on the wire */
	char *p_msg;		/* header and payload, to send again */
	size_t p_len;
	bool p_sent;		/* on the current connection */
	bool p_again;		/* sent again after a reconnect, and may have been done before */
	bool p_local;		/* answered here with p_err (0: "OK") from the deferred event */
	int p_err;
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
	struct bufferevent *x_bev;	/* NULL while reconnecting */
	char *x_path;
	uint32_t x_next_req;
	unsigned x_next_watch;
	TAILQ_HEAD(xsa_pending_q, xsa_pending) x_pending;
	LIST_HEAD(, xsa_watch) x_watches;
	LIST_HEAD(, xsa_tx) x_txs;
	xsa_lost_cb x_lost;
	void *x_arg;
	bool x_dead;
	unsigned x_epoch;		/* connections lost so far */
	unsigned x_next_txh;
	unsigned x_reconnect_ms, x_backoff_ms;
	long long x_lost_at;
	struct event *x_retry_ev;	/* the next connect attempt */
	struct event *x_defer_ev;	/* answers made here, outside the caller's call */
};

struct xsa_tx {
	LIST_ENTRY(xsa_tx) t_link;
	struct xsa *t_xsa;
	xsa_tx_body t_body;
	xsa_tx_done t_done;
	void *t_arg;
	xs_tx_t t_handle;	/* what the body passes */
	uint32_t t_id;		/* what the daemon knows */
	unsigned t_epoch;	/* the connection it was started on */
	bool t_open;
	unsigned t_tries;
	int t_abort_err;
};

/* Monotonic milliseconds, for the reconnect deadline. */
static long long
xsa_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Frees a request record. */
static void
xsa_pending_free(struct xsa_pending *p)
{
	free(p->p_msg);
	free(p);
}

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
		xsa_pending_free(p);
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
		if (p->p_sent && p->p_req_id == hdr->req_id)
			break;
	if (p == NULL) {
		log_warnx("xenstore: reply to unknown request %u", hdr->req_id);
		return;
	}
	TAILQ_REMOVE(&x->x_pending, p, p_link);
	if (p->p_cb) {
		int err = hdr->type == XS_ERROR ? xs_errno_from_name(data) : 0;

		/* an RM sent again finds nothing when the first one was done */
		if (err == ENOENT && p->p_again && p->p_type == XS_RM)
			p->p_cb(x, 0, "OK", 2, p->p_arg);
		else if (err)
			p->p_cb(x, err, NULL, 0, p->p_arg);
		else
			p->p_cb(x, 0, data, hdr->len, p->p_arg);
	}
	xsa_pending_free(p);
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

/* Runs the answers made here (stale transactions, watches to be registered again). */
static void
xsa_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xsa *x = arg;
	struct xsa_pending *p;

	(void)fd;
	(void)what;
	for (;;) {
		TAILQ_FOREACH(p, &x->x_pending, p_link)
			if (p->p_local)
				break;
		if (p == NULL)
			return;
		TAILQ_REMOVE(&x->x_pending, p, p_link);
		if (p->p_cb)
			p->p_cb(x, p->p_err, p->p_err ? NULL : "OK", p->p_err ? 0 : 2, p->p_arg);
		xsa_pending_free(p);
	}
}

/* Answers a request here, from the loop: callers never see their callback inside their call. */
static void
xsa_answer_later(struct xsa *x, struct xsa_pending *p, int err)
{
	p->p_local = true;
	p->p_err = err;
	event_active(x->x_defer_ev, EV_TIMEOUT, 0);
}

static void xsa_event_cb(struct bufferevent *bev, short what, void *arg);

/* A new connection's bufferevent on fd; -1 when fd cannot be made non-blocking. */
static int
xsa_attach(struct xsa *x, int fd)
{
	if (evutil_make_socket_nonblocking(fd) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	x->x_bev = bufferevent_socket_new(x->x_base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(x->x_bev, xsa_read_cb, NULL, xsa_event_cb, x);
	bufferevent_enable(x->x_bev, EV_READ);
	return 0;
}

static int xsa_send(struct xsa *x, uint32_t type, xs_tx_t tx, const struct iovec *iov,
    unsigned n, xsa_reply_cb cb, void *arg);
static void xsa_watch_reply(struct xsa *x, int err, const char *data, size_t len, void *arg);

/* Connected again: the requests waiting go out, then every watch is registered again. */
static void
xsa_resume(struct xsa *x)
{
	struct evbuffer *out = bufferevent_get_output(x->x_bev);
	struct xsa_pending *p;
	struct xsa_watch *w;
	unsigned n = 0;

	TAILQ_FOREACH(p, &x->x_pending, p_link)
		if (!p->p_sent && !p->p_local) {
			evbuffer_add(out, p->p_msg, p->p_len);
			p->p_sent = true;
		}
	LIST_FOREACH(w, &x->x_watches, w_link) {
		struct iovec iov[2] = { { w->w_path, strlen(w->w_path) + 1 },
			{ w->w_token, strlen(w->w_token) + 1 } };

		xsa_send(x, XS_WATCH, 0, iov, 2, xsa_watch_reply, xstrdup(w->w_path));
		n++;
	}
	log_info("xenstore: reconnected to %s after %lld ms, %u watches registered again",
	    x->x_path, xsa_now_ms() - x->x_lost_at, n);
}

/* One connect attempt; the next one later, until the time is up. */
static void
xsa_retry_cb(evutil_socket_t fd_unused, short what, void *arg)
{
	struct xsa *x = arg;
	struct timeval tv;
	int fd;

	(void)fd_unused;
	(void)what;
	fd = unixsock_connect(x->x_path, SOCK_STREAM | SOCK_CLOEXEC);
	if (fd >= 0 && xsa_attach(x, fd) == 0) {
		xsa_resume(x);
		return;
	}
	if (xsa_now_ms() - x->x_lost_at >= x->x_reconnect_ms) {
		log_warnx("xenstore: gave up reconnecting to %s after %.1f s", x->x_path,
		    x->x_reconnect_ms / 1000.0);
		xsa_fail(x);
		return;
	}
	tv.tv_sec = x->x_backoff_ms / 1000;
	tv.tv_usec = (x->x_backoff_ms % 1000) * 1000;
	x->x_backoff_ms = x->x_backoff_ms * 2 > XSA_BACKOFF_MAX_MS ? XSA_BACKOFF_MAX_MS :
	    x->x_backoff_ms * 2;
	event_add(x->x_retry_ev, &tv);
}

/*
 * The daemon closed the socket (it was restarted, or died): requests of the
 * lost connection's transactions answer EAGAIN, WATCH and UNWATCH are done
 * by the re-registration, everything else waits to be sent again.
 */
static void
xsa_conn_lost(struct xsa *x)
{
	struct xsa_pending *p;
	struct timeval tv = { 0, XSA_BACKOFF_FIRST_MS * 1000 };
	size_t unsent;

	if (x->x_dead)
		return;
	if (x->x_reconnect_ms == 0) {
		xsa_fail(x);
		return;
	}
	log_warnx("xenstore: lost the connection to %s; reconnecting for up to %.1f s", x->x_path,
	    x->x_reconnect_ms / 1000.0);
	/* the tail of the output never left: those requests were certainly not done */
	unsent = evbuffer_get_length(bufferevent_get_output(x->x_bev));
	TAILQ_FOREACH_REVERSE(p, &x->x_pending, xsa_pending_q, p_link) {
		if (unsent == 0)
			break;
		if (!p->p_sent || p->p_local)
			continue;
		p->p_sent = false;
		unsent -= unsent < p->p_len ? unsent : p->p_len;
	}
	bufferevent_free(x->x_bev);
	x->x_bev = NULL;
	x->x_epoch++;
	x->x_lost_at = xsa_now_ms();
	x->x_backoff_ms = XSA_BACKOFF_FIRST_MS * 2;
	TAILQ_FOREACH(p, &x->x_pending, p_link) {
		if (p->p_local)
			continue;
		p->p_again |= p->p_sent;
		p->p_sent = false;
		if (p->p_tx != 0)
			xsa_answer_later(x, p, EAGAIN);
		else if (p->p_type == XS_WATCH || p->p_type == XS_UNWATCH)
			xsa_answer_later(x, p, 0);
	}
	event_add(x->x_retry_ev, &tv);
}

/* EOF or error on the socket: the connection is lost. */
static void
xsa_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		xsa_conn_lost(arg);
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
	xsa_ignore_sigpipe();
	x = xcalloc(1, sizeof(*x));
	x->x_base = base;
	x->x_lost = lost;
	x->x_arg = arg;
	x->x_path = xstrdup(path);
	x->x_reconnect_ms = xs_reconnect_default_ms();
	TAILQ_INIT(&x->x_pending);
	LIST_INIT(&x->x_watches);
	LIST_INIT(&x->x_txs);
	x->x_retry_ev = evtimer_new(base, xsa_retry_cb, x);
	x->x_defer_ev = event_new(base, -1, 0, xsa_defer_cb, x);
	if (x->x_retry_ev == NULL || x->x_defer_ev == NULL)
		fatalx("xenstore: event_new");
	if (xsa_attach(x, fd) < 0) {
		int e = errno;

		xsa_close(x);
		errno = e;
		return NULL;
	}
	return x;
}

/* How long a lost connection is retried; 0 gives up at once (EPIPE, then lost). */
void
xsa_set_reconnect_timeout(struct xsa *x, unsigned ms)
{
	x->x_reconnect_ms = ms;
}

/* Connections lost so far. */
unsigned
xsa_reconnects(struct xsa *x)
{
	return x->x_epoch;
}

/* Closes without running pending callbacks. */
void
xsa_close(struct xsa *x)
{
	struct xsa_pending *p;
	struct xsa_watch *w;
	struct xsa_tx *t;

	if (x == NULL)
		return;
	while ((p = TAILQ_FIRST(&x->x_pending)) != NULL) {
		TAILQ_REMOVE(&x->x_pending, p, p_link);
		xsa_pending_free(p);
	}
	while ((w = LIST_FIRST(&x->x_watches)) != NULL) {
		LIST_REMOVE(w, w_link);
		free(w->w_path);
		free(w);
	}
	while ((t = LIST_FIRST(&x->x_txs)) != NULL) {
		LIST_REMOVE(t, t_link);
		free(t);
	}
	if (x->x_bev)
		bufferevent_free(x->x_bev);
	if (x->x_retry_ev)
		event_free(x->x_retry_ev);
	if (x->x_defer_ev)
		event_free(x->x_defer_ev);
	free(x->x_path);
	free(x);
}

/* The open transaction behind a body's handle, or NULL. */
static struct xsa_tx *
xsa_tx_find(struct xsa *x, xs_tx_t handle)
{
	struct xsa_tx *t;

	LIST_FOREACH(t, &x->x_txs, t_link)
		if (t->t_open && t->t_handle == handle)
			return t;
	return NULL;
}

/* Queues one request made of pieces; each piece is copied. */
static int
xsa_send(struct xsa *x, uint32_t type, xs_tx_t tx, const struct iovec *iov, unsigned n,
    xsa_reply_cb cb, void *arg)
{
	struct xsd_sockmsg hdr = { .type = type, .tx_id = tx };
	struct xsa_pending *p;
	struct xsa_tx *t = NULL;
	size_t off;
	unsigned i;
	int err = 0;

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
	if (tx != XS_TX_NONE && (t = xsa_tx_find(x, tx)) != NULL) {
		hdr.tx_id = t->t_id;
		if (t->t_epoch != x->x_epoch)
			err = EAGAIN;	/* begun on a lost connection */
	} else if (tx & XSA_TXH_BIT)
		err = ENOENT;		/* a handle whose transaction ended */
	do {
		hdr.req_id = ++x->x_next_req;
	} while (hdr.req_id == 0);
	p = xcalloc(1, sizeof(*p));
	p->p_req_id = hdr.req_id;
	p->p_type = type;
	p->p_tx = hdr.tx_id;
	p->p_len = sizeof(hdr) + hdr.len;
	p->p_msg = xmalloc(p->p_len);
	memcpy(p->p_msg, &hdr, sizeof(hdr));
	for (off = sizeof(hdr), i = 0; i < n; off += iov[i].iov_len, i++)
		memcpy(p->p_msg + off, iov[i].iov_base, iov[i].iov_len);
	p->p_cb = cb;
	p->p_arg = arg;
	TAILQ_INSERT_TAIL(&x->x_pending, p, p_link);
	if (err)
		xsa_answer_later(x, p, err);
	else if (x->x_bev) {
		evbuffer_add(bufferevent_get_output(x->x_bev), p->p_msg, p->p_len);
		p->p_sent = true;
	}
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
	/* while reconnecting, the re-registration sends it */
	if (x->x_dead)
		errno = EPIPE;
	if (x->x_dead || (x->x_bev && xsa_send(x, XS_WATCH, 0, iov, 2, xsa_watch_reply,
	    xstrdup(path)) < 0)) {
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

	if (x->x_bev)
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
	LIST_REMOVE(t, t_link);
	t->t_done(t->t_xsa, err, t->t_arg);
	free(t);
}

/* EAGAIN (a conflict, or the connection was lost): start again, a bounded number of times. */
static void
xsa_tx_retry(struct xsa_tx *t, int err)
{
	t->t_open = false;
	if (err == EAGAIN && ++t->t_tries < XSA_TX_RETRIES)
		xsa_tx_begin(t);
	else
		xsa_tx_finish(t, err);
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
	t->t_id = strtoul(data, NULL, 10);
	t->t_epoch = x->x_epoch;
	do
		t->t_handle = XSA_TXH_BIT | (++x->x_next_txh & ~XSA_TXH_BIT);
	while (t->t_handle == XSA_TXH_BIT);
	t->t_open = true;
	t->t_body(x, t, t->t_handle, t->t_arg);
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
	LIST_INSERT_HEAD(&x->x_txs, t, t_link);
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
	xsa_tx_retry(t, err);
}

/* Ends the body: commit (one begun on a lost connection is a conflict: it runs again). */
void
xsa_tx_commit(struct xsa_tx *t)
{
	if (t->t_epoch != t->t_xsa->x_epoch)
		xsa_tx_retry(t, EAGAIN);
	else if (xsa_request(t->t_xsa, XS_TRANSACTION_END, t->t_handle, "T", 2, xsa_tx_ended, t) < 0)
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
	xsa_tx_retry(t, t->t_abort_err);
}

/* Ends the body: abort with err. A body that aborts with EAGAIN (its requests
 * met a lost connection's transaction) runs again, as on a commit conflict. */
void
xsa_tx_abort(struct xsa_tx *t, int err)
{
	t->t_abort_err = err;
	if (t->t_epoch != t->t_xsa->x_epoch)
		xsa_tx_retry(t, err);
	else if (xsa_request(t->t_xsa, XS_TRANSACTION_END, t->t_handle, "F", 2, xsa_tx_aborted,
	    t) < 0)
		xsa_tx_finish(t, err);
}
