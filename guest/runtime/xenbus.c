#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_ring.h"
#include "xb_msg.h"
#include "xenbus.h"
#include "xmalloc.h"

struct xenbus_watch {
	struct xenbus_watch *xw_next;
	char *xw_path;
	char *xw_token;
	xenbus_watch_fn *xw_fn;
	void *xw_arg;
};

struct xenbus_event {
	struct xenbus_event *xe_next;
	char **xe_vec;		/* [XS_WATCH_PATH], [XS_WATCH_TOKEN] */
};

/* An acknowledged request of a batch, sent without waiting for its "OK". */
struct xenbus_posted {
	uint32_t xp_id;
	uint32_t xp_type;
	bool xp_done;
	int xp_err;			/* 0, or the daemon's errno */
	struct xenbus_watch *xp_watch;	/* an XS_WATCH's record, forgotten if refused */
};

struct xenbus {
	struct events *xb_ev;
	hv_port_t xb_port;
	struct byte_ring xb_req;
	struct byte_ring xb_rsp;
	struct xb_rx xb_rx;
	struct xb_msg xb_out;
	bool xb_broken;
	int xb_timeout_ms;
	uint32_t xb_next_id;
	uint32_t xb_wait_id;	/* req_id of the request in flight, 0 if none */
	struct xb_msg *xb_reply;	/* its reply, once here */
	struct xenbus_watch *xb_watches;
	struct xenbus_event *xb_head, **xb_tail;
	unsigned xb_nqueued;
	const char *xb_want_token;	/* xenbus_wait_event's token */
	bool xb_batch;			/* between xenbus_batch_begin and _end */
	unsigned xb_nposted;
	struct xenbus_posted xb_posted[XENBUS_MAX_POSTED];
};

/* The posted request a reply answers, NULL if none. */
static struct xenbus_posted *
xenbus_posted_find(struct xenbus *xb, uint32_t id)
{
	for (unsigned i = 0; i < xb->xb_nposted; i++)
		if (xb->xb_posted[i].xp_id == id && !xb->xb_posted[i].xp_done)
			return &xb->xb_posted[i];
	return NULL;
}

/* A watch event goes on the queue, a reply to the request in flight is kept. */
static void
xenbus_deliver(struct xenbus *xb, const struct xb_msg *m)
{
	if (m->xm_hdr.type == XS_WATCH_EVENT) {
		unsigned num;
		char **vec = xb_msg_split(m->xm_body, m->xm_hdr.len, &num);
		if (num < 2 || xb->xb_nqueued >= XENBUS_MAX_QUEUED) {
			free(vec);
			return;
		}
		struct xenbus_event *e = xcalloc(1, sizeof(*e));
		e->xe_vec = vec;
		*xb->xb_tail = e;
		xb->xb_tail = &e->xe_next;
		xb->xb_nqueued++;
		return;
	}
	struct xenbus_posted *p = xenbus_posted_find(xb, m->xm_hdr.req_id);
	if (p != NULL) {
		p->xp_done = true;
		p->xp_err = m->xm_hdr.type == XS_ERROR ? xb_msg_errno(m) :
		    m->xm_hdr.type != p->xp_type ? EIO : 0;
		return;
	}
	if (xb->xb_wait_id == 0 || m->xm_hdr.req_id != xb->xb_wait_id || xb->xb_reply != NULL)
		return;		/* late reply to a request that timed out */
	xb->xb_reply = xmalloc(sizeof(*m));
	memcpy(xb->xb_reply, m, xb_msg_size(m));
	xb->xb_reply->xm_body[m->xm_hdr.len] = '\0';
}

/*
 * Store port handler: drains every whole message the ring holds. Xenstored
 * writes what fits, so it can only be waiting for room when it found the
 * ring full: that is the one case where consuming needs a notify.
 */
static void
xenbus_event(hv_port_t port, void *arg)
{
	struct xenbus *xb = arg;
	bool was_full = byte_ring_avail(&xb->xb_rsp) == XENSTORE_RING_SIZE;
	int rc;

	(void)port;
	while (!xb->xb_broken && (rc = xb_rx_pull(&xb->xb_rx, &xb->xb_rsp)) != 0) {
		if (rc < 0) {
			xb->xb_broken = true;
			break;
		}
		xenbus_deliver(xb, &xb->xb_rx.xr_msg);
		xb_rx_reset(&xb->xb_rx);
	}
	if (was_full)
		events_notify(xb->xb_ev, xb->xb_port);
}

/* The store ring from start_info, attached to the loop; drains what is already there. */
struct xenbus *
xenbus_open(struct events *ev, void *ring_page, hv_port_t port)
{
	struct xenstore_domain_interface *intf = ring_page;
	struct xenbus *xb = xcalloc(1, sizeof(*xb));

	xb->xb_ev = ev;
	xb->xb_port = port;
	xb->xb_req = (struct byte_ring){ intf->req, XENSTORE_RING_SIZE, &intf->req_prod, &intf->req_cons };
	xb->xb_rsp = (struct byte_ring){ intf->rsp, XENSTORE_RING_SIZE, &intf->rsp_prod, &intf->rsp_cons };
	xb->xb_timeout_ms = XENBUS_TIMEOUT_MS;
	xb->xb_next_id = 1;
	xb->xb_tail = &xb->xb_head;
	if (events_attach(ev, port, xenbus_event, xb) < 0) {
		free(xb);
		return NULL;
	}
	xenbus_event(port, xb);	/* anything already there */
	return xb;
}

/* Forgets watches and queued events (xenstored keeps its watches until RESET). */
void
xenbus_close(struct xenbus *xb)
{
	if (xb == NULL)
		return;
	events_unbind(xb->xb_ev, xb->xb_port);
	while (xb->xb_watches != NULL) {
		struct xenbus_watch *w = xb->xb_watches;
		xb->xb_watches = w->xw_next;
		free(w->xw_path);
		free(w->xw_token);
		free(w);
	}
	while (xb->xb_head != NULL) {
		struct xenbus_event *e = xb->xb_head;
		xb->xb_head = e->xe_next;
		free(e->xe_vec);
		free(e);
	}
	free(xb->xb_reply);
	free(xb);
}

/* Per-request deadline, for callers that cannot wait 30 s. */
void
xenbus_set_timeout(struct xenbus *xb, int timeout_ms)
{
	xb->xb_timeout_ms = timeout_ms;
}

/* events_wait conditions. */
static bool
xenbus_req_space(void *arg)
{
	struct xenbus *xb = arg;

	return xb->xb_broken || byte_ring_space(&xb->xb_req) != 0;
}

/* events_wait condition: the reply to the request in flight is here. */
static bool
xenbus_replied(void *arg)
{
	struct xenbus *xb = arg;

	return xb->xb_broken || xb->xb_reply != NULL;
}

/* Puts xb_out on the request ring, waiting for room as the daemon reads. */
static int
xenbus_send(struct xenbus *xb)
{
	const char *p = (const char *)&xb->xb_out;
	size_t len = xb_msg_size(&xb->xb_out);

	while (len > 0) {
		ssize_t n = byte_ring_put(&xb->xb_req, p, len);
		if (n < 0) {
			xb->xb_broken = true;
			return -1;
		}
		if (n > 0)
			events_notify(xb->xb_ev, xb->xb_port);
		p += n;
		len -= n;
		if (len > 0 && events_wait(xb->xb_ev, xenbus_req_space, xb, xb->xb_timeout_ms) < 0) {
			/* Half a request on the ring: the stream can no longer be parsed. */
			if (p != (const char *)&xb->xb_out)
				xb->xb_broken = true;
			return -1;
		}
		if (xb->xb_broken) {
			errno = EIO;
			return -1;
		}
	}
	return 0;
}

/* One request, one reply: the reply (malloc'd) or NULL with the daemon's errno. */
static struct xb_msg *
xenbus_talk(struct xenbus *xb, uint32_t type, xenbus_tx_t tx, const char *const *strs,
    unsigned nstr, const void *raw, size_t rawlen)
{
	struct xb_msg *reply = NULL;

	if (xb->xb_broken) {
		errno = EIO;
		return NULL;
	}
	uint32_t id = xb->xb_next_id++;
	if (xb->xb_next_id == 0)
		xb->xb_next_id = 1;
	if (xb_msg_build(&xb->xb_out, type, id, tx, strs, nstr, raw, rawlen) < 0)
		return NULL;
	xb->xb_wait_id = id;
	if (xenbus_send(xb) < 0 ||
	    events_wait(xb->xb_ev, xenbus_replied, xb, xb->xb_timeout_ms) < 0)
		goto out;
	if (xb->xb_broken) {
		errno = EIO;
		goto out;
	}
	reply = xb->xb_reply;
	xb->xb_reply = NULL;
	if (reply->xm_hdr.type == XS_ERROR) {
		errno = xb_msg_errno(reply);
		free(reply);
		reply = NULL;
	} else if (reply->xm_hdr.type != type) {
		free(reply);
		reply = NULL;
		errno = EIO;
	}
out:
	xb->xb_wait_id = 0;
	free(xb->xb_reply);
	xb->xb_reply = NULL;
	return reply;
}

/*
 * In a batch: sends the request and returns at once, its "OK" checked by
 * xenbus_batch_end. 1 when posted, 0 when it must be sent the usual way (no
 * batch, a transaction's request, the batch full), -1 when sending failed.
 */
static int
xenbus_post(struct xenbus *xb, uint32_t type, xenbus_tx_t tx, const char *const *strs,
    unsigned nstr, const void *raw, size_t rawlen, struct xenbus_watch *w)
{
	if (!xb->xb_batch || tx != XENBUS_TX_NONE || xb->xb_nposted == XENBUS_MAX_POSTED)
		return 0;
	if (xb->xb_broken) {
		errno = EIO;
		return -1;
	}
	uint32_t id = xb->xb_next_id++;
	if (xb->xb_next_id == 0)
		xb->xb_next_id = 1;
	if (xb_msg_build(&xb->xb_out, type, id, tx, strs, nstr, raw, rawlen) < 0)
		return -1;
	/* in the table before the send: its reply may come while the ring has no room */
	xb->xb_posted[xb->xb_nposted++] = (struct xenbus_posted){
		.xp_id = id, .xp_type = type, .xp_watch = w,
	};
	if (xenbus_send(xb) < 0) {
		xb->xb_nposted--;
		return -1;
	}
	return 1;
}

/* Requests whose reply is only "OK" (posted without a wait inside a batch). */
static int
xenbus_ack(struct xenbus *xb, uint32_t type, xenbus_tx_t tx, const char *const *strs,
    unsigned nstr, const void *raw, size_t rawlen)
{
	int posted = xenbus_post(xb, type, tx, strs, nstr, raw, rawlen, NULL);

	if (posted != 0)
		return posted < 0 ? -1 : 0;
	struct xb_msg *reply = xenbus_talk(xb, type, tx, strs, nstr, raw, rawlen);

	free(reply);
	return reply == NULL ? -1 : 0;
}

/* XS_READ; the value gets a NUL so callers may treat it as a string. */
char *
xenbus_read(struct xenbus *xb, xenbus_tx_t tx, const char *path, size_t *len)
{
	struct xb_msg *reply = xenbus_talk(xb, XS_READ, tx, &path, 1, NULL, 0);

	if (reply == NULL)
		return NULL;
	char *val = xmalloc(reply->xm_hdr.len + 1);
	memcpy(val, reply->xm_body, reply->xm_hdr.len + 1);
	if (len != NULL)
		*len = reply->xm_hdr.len;
	free(reply);
	return val;
}

/* XS_WRITE of a string value (no NUL on the wire). */
int
xenbus_write(struct xenbus *xb, xenbus_tx_t tx, const char *path, const char *value)
{
	return xenbus_ack(xb, XS_WRITE, tx, &path, 1, value, strlen(value));
}

/* XS_WRITE of a formatted value, for the printf wrappers (frontend_printf too). */
int
xenbus_vprintf(struct xenbus *xb, xenbus_tx_t tx, const char *path, const char *fmt, va_list ap)
{
	char *val;

	if (vasprintf(&val, fmt, ap) < 0) {
		errno = ENOMEM;
		return -1;
	}
	int rc = xenbus_write(xb, tx, path, val);
	free(val);
	return rc;
}

/* XS_WRITE of a formatted value. */
int
xenbus_printf(struct xenbus *xb, xenbus_tx_t tx, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = xenbus_vprintf(xb, tx, path, fmt, ap);
	va_end(ap);
	return rc;
}

/* XS_MKDIR. */
int
xenbus_mkdir(struct xenbus *xb, xenbus_tx_t tx, const char *path)
{
	return xenbus_ack(xb, XS_MKDIR, tx, &path, 1, NULL, 0);
}

/* XS_RM, recursive on the daemon side. */
int
xenbus_rm(struct xenbus *xb, xenbus_tx_t tx, const char *path)
{
	return xenbus_ack(xb, XS_RM, tx, &path, 1, NULL, 0);
}

/* XS_DIRECTORY. */
char **
xenbus_ls(struct xenbus *xb, xenbus_tx_t tx, const char *path, unsigned *num)
{
	struct xb_msg *reply = xenbus_talk(xb, XS_DIRECTORY, tx, &path, 1, NULL, 0);

	if (reply == NULL)
		return NULL;
	char **vec = xb_msg_split(reply->xm_body, reply->xm_hdr.len, num);
	free(reply);
	return vec;
}

/* Numbers in the store (states, ports, refs) are decimal strings. */
int
xenbus_read_long(struct xenbus *xb, xenbus_tx_t tx, const char *path, long *val)
{
	char *s = xenbus_read(xb, tx, path, NULL), *end;

	if (s == NULL)
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	int bad = errno != 0 || end == s || *end != '\0';
	free(s);
	if (bad) {
		errno = EINVAL;
		return -1;
	}
	*val = v;
	return 0;
}

/* XS_GET_DOMAIN_PATH: our home without assuming its layout. */
char *
xenbus_domain_path(struct xenbus *xb, unsigned domid)
{
	char id[16];
	const char *arg = id;

	snprintf(id, sizeof(id), "%u", domid);
	struct xb_msg *reply = xenbus_talk(xb, XS_GET_DOMAIN_PATH, XENBUS_TX_NONE, &arg, 1, NULL, 0);
	if (reply == NULL)
		return NULL;
	char *path = xstrdup(reply->xm_body);
	free(reply);
	return path;
}

/* Drops a watch record (its events are dropped from then on). */
static void
xenbus_forget(struct xenbus *xb, struct xenbus_watch *w)
{
	for (struct xenbus_watch **pw = &xb->xb_watches; *pw != NULL; pw = &(*pw)->xw_next) {
		if (*pw == w) {
			*pw = w->xw_next;
			free(w->xw_path);
			free(w->xw_token);
			free(w);
			return;
		}
	}
}

/* Registered before the request, so that the initial event finds it. */
int
xenbus_watch(struct xenbus *xb, const char *path, const char *token,
    xenbus_watch_fn *fn, void *arg)
{
	const char *strs[] = { path, token };
	struct xenbus_watch *w = xcalloc(1, sizeof(*w));

	w->xw_path = xstrdup(path);
	w->xw_token = xstrdup(token);
	w->xw_fn = fn;
	w->xw_arg = arg;
	w->xw_next = xb->xb_watches;
	xb->xb_watches = w;
	int posted = xenbus_post(xb, XS_WATCH, XENBUS_TX_NONE, strs, 2, NULL, 0, w);
	if (posted > 0 ||
	    (posted == 0 && xenbus_ack(xb, XS_WATCH, XENBUS_TX_NONE, strs, 2, NULL, 0) == 0))
		return 0;
	int saved = errno;
	xenbus_forget(xb, w);
	errno = saved;
	return -1;
}

/* Forgets the callback first, so late events for it are dropped. */
int
xenbus_unwatch(struct xenbus *xb, const char *path, const char *token)
{
	const char *strs[] = { path, token };

	for (struct xenbus_watch **pw = &xb->xb_watches; *pw != NULL; pw = &(*pw)->xw_next) {
		struct xenbus_watch *w = *pw;
		if (strcmp(w->xw_path, path) != 0 || strcmp(w->xw_token, token) != 0)
			continue;
		*pw = w->xw_next;
		free(w->xw_path);
		free(w->xw_token);
		free(w);
		break;
	}
	return xenbus_ack(xb, XS_UNWATCH, XENBUS_TX_NONE, strs, 2, NULL, 0);
}

/* Starts a batch: acknowledged requests are sent without waiting for their "OK". */
void
xenbus_batch_begin(struct xenbus *xb)
{
	xb->xb_batch = true;
}

/* events_wait condition: every posted request has its answer. */
static bool
xenbus_posted_all(void *arg)
{
	struct xenbus *xb = arg;

	if (xb->xb_broken)
		return true;
	for (unsigned i = 0; i < xb->xb_nposted; i++)
		if (!xb->xb_posted[i].xp_done)
			return false;
	return true;
}

/*
 * Ends the batch once every posted request is answered (a later request's
 * reply implies the earlier ones', the daemon answering in order): 0, or -1
 * with the first failure's errno. A refused or unanswered watch is forgotten.
 */
int
xenbus_batch_end(struct xenbus *xb)
{
	int err = 0;

	xb->xb_batch = false;
	if (events_wait(xb->xb_ev, xenbus_posted_all, xb, xb->xb_timeout_ms) < 0)
		err = errno;
	else if (xb->xb_broken)
		err = EIO;
	for (unsigned i = 0; i < xb->xb_nposted; i++) {
		struct xenbus_posted *p = &xb->xb_posted[i];
		int e = p->xp_done ? p->xp_err : (err ? err : EIO);
		if (e != 0 && p->xp_watch != NULL)
			xenbus_forget(xb, p->xp_watch);
		if (e != 0 && err == 0)
			err = e;
	}
	xb->xb_nposted = 0;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* The main loop must not sleep while events wait to be run. */
bool
xenbus_has_events(const struct xenbus *xb)
{
	return xb->xb_head != NULL;
}

/* Unlinks and returns the first queued event matching token (any if NULL). */
static struct xenbus_event *
xenbus_take(struct xenbus *xb, const char *token)
{
	for (struct xenbus_event **pe = &xb->xb_head; *pe != NULL; pe = &(*pe)->xe_next) {
		struct xenbus_event *e = *pe;
		if (token != NULL && strcmp(e->xe_vec[XS_WATCH_TOKEN], token) != 0)
			continue;
		*pe = e->xe_next;
		if (xb->xb_tail == &e->xe_next)
			xb->xb_tail = pe;
		xb->xb_nqueued--;
		return e;
	}
	return NULL;
}

/* Runs each queued event's callback, from the main loop only. */
int
xenbus_dispatch_watches(struct xenbus *xb)
{
	struct xenbus_event *e;
	int n = 0;

	while ((e = xenbus_take(xb, NULL)) != NULL) {
		const char *token = e->xe_vec[XS_WATCH_TOKEN];
		for (struct xenbus_watch *w = xb->xb_watches; w != NULL; w = w->xw_next) {
			if (strcmp(w->xw_token, token) == 0) {
				if (w->xw_fn != NULL)
					w->xw_fn(xb, e->xe_vec[XS_WATCH_PATH], token,
					    w->xw_arg);
				break;
			}
		}
		free(e->xe_vec);
		free(e);
		n++;
	}
	return n;
}

/* events_wait condition: an event for the awaited token is queued. */
static bool
xenbus_token_queued(void *arg)
{
	struct xenbus *xb = arg;

	if (xb->xb_broken)
		return true;
	for (struct xenbus_event *e = xb->xb_head; e != NULL; e = e->xe_next) {
		if (strcmp(e->xe_vec[XS_WATCH_TOKEN], xb->xb_want_token) == 0)
			return true;
	}
	return false;
}

/* For waits on one watch (state changes); other events stay queued. */
int
xenbus_wait_event(struct xenbus *xb, const char *token, int timeout_ms)
{
	xb->xb_want_token = token;
	int rc = events_wait(xb->xb_ev, xenbus_token_queued, xb, timeout_ms);
	xb->xb_want_token = NULL;
	if (rc < 0)
		return -1;
	struct xenbus_event *e = xenbus_take(xb, token);
	if (e == NULL) {
		errno = EIO;
		return -1;
	}
	free(e->xe_vec);
	free(e);
	return 0;
}

/* XS_TRANSACTION_START; the id comes back as a decimal string. */
int
xenbus_transaction_start(struct xenbus *xb, xenbus_tx_t *tx)
{
	const char *empty = "";
	struct xb_msg *reply = xenbus_talk(xb, XS_TRANSACTION_START, XENBUS_TX_NONE, &empty, 1, NULL, 0);

	if (reply == NULL)
		return -1;
	char *end;
	unsigned long id = strtoul(reply->xm_body, &end, 10);
	int bad = end == reply->xm_body || id == 0 || id > UINT32_MAX;
	free(reply);
	if (bad) {
		errno = EIO;
		return -1;
	}
	*tx = (xenbus_tx_t)id;
	return 0;
}

/* Commit ("T") or abort ("F"); EAGAIN means start again. */
int
xenbus_transaction_end(struct xenbus *xb, xenbus_tx_t tx, bool abort)
{
	const char *arg = abort ? "F" : "T";

	return xenbus_ack(xb, XS_TRANSACTION_END, tx, &arg, 1, NULL, 0);
}

/* The retry loop every transactional caller would otherwise write. */
int
xenbus_transaction(struct xenbus *xb, xenbus_tx_fn *fn, void *arg)
{
	for (int i = 0; i < XENBUS_TX_RETRIES; i++) {
		xenbus_tx_t tx;
		if (xenbus_transaction_start(xb, &tx) < 0)
			return -1;
		if (fn(xb, tx, arg) < 0) {
			int saved = errno;
			xenbus_transaction_end(xb, tx, true);
			errno = saved;
			return -1;
		}
		if (xenbus_transaction_end(xb, tx, false) == 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}
