/*
 * Connections, whatever carries them: message framing on input, the reply
 * queue on output, throttling of clients that do not read their replies, and
 * deferred teardown so a connection is never freed under a handler.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "xenstored.h"
#include "xmalloc.h"

struct conn_list conns = TAILQ_HEAD_INITIALIZER(conns);
static struct event_base *conn_evbase;
static unsigned conn_next_id;

/* The replies of the connection whose input is being read, sent when it runs dry. */
static struct conn *conn_batch_owner;
static char conn_batch_buf[16 * 1024];
static size_t conn_batch_len;

/* The monotonic clock in ms. */
static uint64_t
conn_clock_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
uint64_t (*conn_clock)(void) = conn_clock_real;

static void conn_update_throttle(struct conn *c);
static void conn_batch_flush(void);

/* The loop connections schedule their deferred work on. */
void
conn_setup(struct event_base *base)
{
	conn_evbase = base;
}

/* The loop, for transports that add their own events. */
struct event_base *
conn_base(void)
{
	return conn_evbase;
}

/* Runs deferred work: teardown of a dead connection, or input after unthrottling. */
static void
conn_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->c_dead)
		conn_free_now(c);
	else
		conn_input(c);
}

/* Wakes a connection for its rate limit or its expiring events. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_expire(c);
	conn_update_throttle(c);
}

/* Arms the timer for ms from now unless it is due sooner already. */
static void
conn_arm(struct conn *c, uint64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 }, due, now;

	if (c->c_timer == NULL)
		return;
	if (event_pending(c->c_timer, EV_TIMEOUT, &due)) {
		event_base_gettimeofday_cached(conn_evbase, &now);
		timeradd(&now, &tv, &now);
		if (timercmp(&due, &now, <))
			return;
	}
	evtimer_add(c->c_timer, &tv);
}

/* A connection over any transport; sockets are privileged, rings are not. */
struct conn *
conn_new(const struct conn_ops *ops, void *tp, uint32_t domid, bool priv)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->c_id = ++conn_next_id;
	c->c_ops = ops;
	c->c_tp = tp;
	c->c_domid = domid;
	c->c_target = DOMID_NONE;
	c->c_priv = priv;
	c->c_in = xmalloc(XENSTORE_PAYLOAD_MAX + 1);
	STAILQ_INIT(&c->c_out);
	LIST_INIT(&c->c_watches);
	LIST_INIT(&c->c_txns);
	if (conn_evbase) {
		c->c_kick = event_new(conn_evbase, -1, 0, conn_kick_cb, c);
		c->c_timer = evtimer_new(conn_evbase, conn_timer_cb, c);
	}
	wrl_conn_new(c);
	TAILQ_INSERT_TAIL(&conns, c, c_link);
	if (ops->co_publish)
		persist_conn_touch(c);	/* a new guest connection goes in the next entry */
	return c;
}

/* Marks a connection dead; it is freed from the loop, never under a handler. */
void
conn_kill(struct conn *c)
{
	if (c->c_dead)
		return;
	c->c_dead = true;
	if (c->c_kick)
		event_active(c->c_kick, 0, 0);
}

/* Frees a dead connection: its transactions, watches, queue and transport. */
void
conn_free_now(struct conn *c)
{
	struct outmsg *m;

	if (conn_batch_owner == c) {
		conn_batch_owner = NULL;
		conn_batch_len = 0;
	}
	txn_free_all(c);
	watch_free_all(c);
	while ((m = STAILQ_FIRST(&c->c_out)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->c_out, om_link);
		quota_mem_charge(c->c_domid, -(long)m->om_len);
		free(m);
	}
	wrl_conn_gone(c);
	if (c->c_ops->co_publish)
		persist_gconn_gone(c->c_domid);
	persist_conn_forget(c);
	free(c->c_jr_last);
	if (c->c_timer)
		event_free(c->c_timer);
	if (c->c_ops->co_free)
		c->c_ops->co_free(c);
	domain_conn_gone(c);
	TAILQ_REMOVE(&conns, c, c_link);
	if (c->c_kick)
		event_free(c->c_kick);
	free(c->c_in);
	free(c);
}

/* Queued messages after which we stop reading this client's requests. */
static unsigned
conn_limit(const struct conn *c)
{
	return c->c_priv ? quota.q_priv_outstanding : quota.q_outstanding;
}

/*
 * Should we stop reading? The reply backlog, a guest over its memory quota
 * (looked at again every second) or in write-rate debt (until it is paid).
 */
static bool
conn_blocked(struct conn *c)
{
	uint64_t ms;

	if (c->c_out_count >= conn_limit(c))
		return true;
	if (quota_mem_over(c)) {
		conn_arm(c, 1000);
		return true;
	}
	if ((ms = wrl_delay_ms(c)) > 0) {
		conn_arm(c, ms);
		return true;
	}
	return false;
}

/* Stops or resumes reading according to the reply backlog and the guest limits. */
static void
conn_update_throttle(struct conn *c)
{
	bool over = conn_blocked(c);

	if (over == c->c_throttled)
		return;
	c->c_throttled = over;
	if (c->c_ops->co_throttle)
		c->c_ops->co_throttle(c, over);
	if (!over && c->c_kick)
		event_active(c->c_kick, 0, 0);
}

static void conn_input_loop(struct conn *c);
static void conn_batch_begin(struct conn *c);

/*
 * Reads and dispatches whole messages until the transport runs dry; their
 * replies go out together in one write. With the state on disk, replies wait
 * until the journal entry for the requests is written, and only then does a
 * guest see its requests consumed.
 */
void
conn_input(struct conn *c)
{
	struct conn *outer = conn_batch_owner;

	persist_hold();
	conn_batch_begin(c);
	conn_input_loop(c);
	conn_batch_flush();
	conn_batch_owner = outer != c ? outer : NULL;
	persist_release();
	if (!persist_holding() && !c->c_dead && c->c_ops->co_publish)
		c->c_ops->co_publish(c);
}

/* conn_input's work. */
static void
conn_input_loop(struct conn *c)
{
	ssize_t n;
	size_t need;

	conn_update_throttle(c);
	while (!c->c_dead && !c->c_throttled) {
		if (c->c_in_have < sizeof(c->c_hdr)) {
			n = c->c_ops->co_read(c, (char *)&c->c_hdr + c->c_in_have,
			    sizeof(c->c_hdr) - c->c_in_have);
		} else {
			need = sizeof(c->c_hdr) + c->c_hdr.len - c->c_in_have;
			n = need ? c->c_ops->co_read(c, c->c_in + c->c_in_have - sizeof(c->c_hdr),
			    need) : 0;
		}
		if (n < 0) {
			conn_kill(c);
			return;
		}
		c->c_in_have += n;
		if (n > 0 && !c->c_jr_dirty) {
			c->c_jr_dirty = true;	/* its watches, transactions, position may change */
			persist_conn_touch(c);
		}
		if (c->c_in_have == sizeof(c->c_hdr) && n > 0 &&
		    c->c_hdr.len > XENSTORE_PAYLOAD_MAX) {
			log_warnx("conn %u (dom%u): message of %u bytes, dropping it",
			    c->c_id, c->c_domid, c->c_hdr.len);
			conn_kill(c);
			return;
		}
		if (c->c_in_have < sizeof(c->c_hdr) ||
		    c->c_in_have < sizeof(c->c_hdr) + c->c_hdr.len) {
			if (n == 0)
				return;
			continue;
		}
		c->c_in[c->c_hdr.len] = '\0';
		c->c_in_have = 0;
		c->c_requests++;
		dispatch(c, &c->c_hdr, c->c_in);
		conn_update_throttle(c);
	}
}

/* Writes queued messages until the transport is full. */
void
conn_output(struct conn *c)
{
	struct outmsg *m;
	ssize_t n;

	if (persist_holding()) {
		persist_hold_output(c);
		return;
	}
	persist_flush();
	while (!c->c_dead && (m = STAILQ_FIRST(&c->c_out)) != NULL) {
		n = c->c_ops->co_write(c, m->om_data + m->om_off, m->om_len - m->om_off);
		if (n < 0) {
			conn_kill(c);
			return;
		}
		if (n == 0)
			break;
		m->om_off += n;
		c->c_out_sent += n;
		if (m->om_off < m->om_len)
			continue;
		STAILQ_REMOVE_HEAD(&c->c_out, om_link);
		c->c_out_count--;
		c->c_out_bytes -= m->om_len;
		quota_mem_charge(c->c_domid, -(long)m->om_len);
		free(m);
	}
	if (c->c_ops->co_want_write)
		c->c_ops->co_want_write(c, !STAILQ_EMPTY(&c->c_out));
	conn_update_throttle(c);
}

/* Puts one message, of which off bytes are already sent, at the tail of the queue. */
static void
conn_enqueue(struct conn *c, const char *msg, size_t len, size_t off)
{
	struct outmsg *m = xmalloc(sizeof(*m) + len);

	m->om_len = len;
	m->om_off = off;
	m->om_raw = false;
	m->om_stamp = conn_clock();
	quota_mem_charge(c->c_domid, m->om_len);
	memcpy(m->om_data, msg, len);
	STAILQ_INSERT_TAIL(&c->c_out, m, om_link);
	c->c_out_count++;
	c->c_out_bytes += m->om_len;
}

/*
 * Writes whole messages in one call with nothing queued before them; the
 * transport's leftovers are queued message by message, so the queue's rules
 * (event de-duplication, expiry, the backlog limit) still see messages.
 */
static void
conn_send_msgs(struct conn *c, const char *buf, size_t len)
{
	ssize_t n = c->c_ops->co_write(c, buf, len);
	size_t off, mlen, sent;

	if (n < 0) {
		conn_kill(c);
		return;
	}
	c->c_out_sent += n;
	sent = n;
	if (sent == len)
		return;
	for (off = 0; off < len; off += mlen) {
		struct xsd_sockmsg h;
		memcpy(&h, buf + off, sizeof(h));	/* replies are packed: no alignment */
		mlen = sizeof(h) + h.len;
		if (off + mlen > sent)
			conn_enqueue(c, buf + off, mlen, sent > off ? sent - off : 0);
	}
	if (c->c_ops->co_want_write)
		c->c_ops->co_want_write(c, true);
	conn_update_throttle(c);
}

/* Starts gathering c's replies: they go out in one write when its input runs dry. */
static void
conn_batch_begin(struct conn *c)
{
	conn_batch_flush();
	if (c->c_ops->co_publish == NULL)
		conn_batch_owner = c;
}

/* Writes the gathered replies, if any, and stops gathering. */
static void
conn_batch_flush(void)
{
	struct conn *c = conn_batch_owner;
	size_t len = conn_batch_len;

	conn_batch_owner = NULL;
	conn_batch_len = 0;
	if (c && len && !c->c_dead)
		conn_send_msgs(c, conn_batch_buf, len);
	conn_batch_owner = c;
}

/*
 * May a message skip the queue? Only with nothing queued before it, and not
 * for guest rings (their output is journaled) nor while replies wait for the
 * journal.
 */
static bool
conn_direct_ok(const struct conn *c)
{
	return !c->c_dead && STAILQ_EMPTY(&c->c_out) && c->c_ops->co_publish == NULL &&
	    !persist_on();
}

/* Header and two payload pieces, laid out as one message at p. */
static void
conn_fill(char *p, const struct xsd_sockmsg *hdr, const void *a, size_t alen, const void *b,
    size_t blen)
{
	memcpy(p, hdr, sizeof(*hdr));
	if (alen)
		memcpy(p + sizeof(*hdr), a, alen);
	if (blen)
		memcpy(p + sizeof(*hdr) + alen, b, blen);
}

/*
 * Sends one message (header + two payload pieces): gathered while its
 * connection's input is read, written at once from the stack otherwise, and
 * queued only behind other queued output or for rings.
 */
static void
conn_queue(struct conn *c, const struct xsd_sockmsg *hdr, const void *a, size_t alen,
    const void *b, size_t blen)
{
	size_t len = sizeof(*hdr) + alen + blen;
	char one[sizeof(*hdr) + XENSTORE_PAYLOAD_MAX];

	if (conn_batch_owner == c && conn_batch_len + len > sizeof(conn_batch_buf))
		conn_batch_flush();
	if (conn_direct_ok(c) && conn_batch_owner == c) {
		conn_fill(conn_batch_buf + conn_batch_len, hdr, a, alen, b, blen);
		conn_batch_len += len;
		return;
	}
	conn_fill(one, hdr, a, alen, b, blen);
	if (conn_direct_ok(c)) {
		conn_send_msgs(c, one, len);
		return;
	}
	conn_enqueue(c, one, len, 0);
	if (c->c_ops->co_publish)
		persist_conn_touch(c);	/* a guest's output is journaled */
	conn_output(c);
}

/* A guest's unsent output as read back from the journal, to go out first. */
void
conn_restore_output(struct conn *c, const void *p, size_t len, uint32_t at)
{
	struct outmsg *m;

	c->c_out_sent = c->c_jr_out_end = at;
	if (len == 0)
		return;
	m = xmalloc(sizeof(*m) + len);
	m->om_len = len;
	m->om_off = 0;
	m->om_raw = true;
	m->om_stamp = conn_clock();
	memcpy(m->om_data, p, len);
	STAILQ_INSERT_HEAD(&c->c_out, m, om_link);
	c->c_out_count++;
	c->c_out_bytes += len;
	c->c_jr_out_end = at + len;
	quota_mem_charge(c->c_domid, len);
}

/* A reply echoing the request's req_id and tx_id; over-long replies become E2BIG. */
void
conn_reply(struct conn *c, const struct req *r, uint32_t type, const void *data, size_t len)
{
	struct xsd_sockmsg hdr = { type, r->r_hdr.req_id, r->r_hdr.tx_id, len };

	if (c->c_dead)
		return;
	if (len > XENSTORE_PAYLOAD_MAX) {
		conn_reply_err(c, r, E2BIG);
		return;
	}
	control_trace("OUT", c, &hdr, data);
	conn_queue(c, &hdr, data, len, NULL, 0);
}

/* A reply that is one string with its NUL ("OK", a tx id, ...). */
void
conn_reply_str(struct conn *c, const struct req *r, const char *s)
{
	conn_reply(c, r, r->r_hdr.type, s, strlen(s) + 1);
}

/* An XS_ERROR reply with the errno's wire name. */
void
conn_reply_err(struct conn *c, const struct req *r, int err)
{
	const char *name = xs_errno_name(err);

	conn_reply(c, r, XS_ERROR, name, strlen(name) + 1);
}

/* Is this very event still waiting, unsent, in the queue? (XSA-326 de-duplication) */
static bool
conn_event_queued(const struct conn *c, const char *path, size_t pl, const char *token,
    size_t tl)
{
	const struct outmsg *m;
	const struct xsd_sockmsg *h;

	STAILQ_FOREACH(m, &c->c_out, om_link) {
		h = (const struct xsd_sockmsg *)m->om_data;
		if (m->om_off == 0 && !m->om_raw && h->type == XS_WATCH_EVENT && h->len == pl + tl &&
		    memcmp(m->om_data + sizeof(*h), path, pl) == 0 &&
		    memcmp(m->om_data + sizeof(*h) + pl, token, tl) == 0)
			return true;
	}
	return false;
}

/* An unsolicited WATCH_EVENT; dropped when too large, already queued, or unread. */
void
conn_send_event(struct conn *c, const char *path, const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	struct xsd_sockmsg hdr = { XS_WATCH_EVENT, 0, 0, pl + tl };

	if (c->c_dead || hdr.len > XENSTORE_PAYLOAD_MAX)
		return;
	if (c->c_out_count >= quota.q_event_queue) {
		log_debug("conn %u (dom%u): not reading, event %s dropped", c->c_id, c->c_domid,
		    path);
		return;
	}
	if (path[0] != '@' && c->c_out_count > 0 && conn_event_queued(c, path, pl, token, tl))
		return;
	conn_queue(c, &hdr, path, pl, token, tl);
	if (!c->c_priv && quota.q_watch_event_ms && !STAILQ_EMPTY(&c->c_out))
		conn_arm(c, quota.q_watch_event_ms);
}

/*
 * Drops a guest's watch events still unsent after -w watch-event seconds
 * (20 by default, as C xenstored): a guest that never reads its events holds
 * neither memory nor its outstanding-request allowance for long. Replies stay,
 * and so does a message already partly written.
 */
void
conn_expire(struct conn *c)
{
	struct outmsg *m, *next;
	const struct xsd_sockmsg *h;
	uint64_t now = conn_clock(), oldest = 0;
	unsigned dropped = 0;

	if (c->c_priv || quota.q_watch_event_ms == 0)
		return;
	for (m = STAILQ_FIRST(&c->c_out); m != NULL; m = next) {
		next = STAILQ_NEXT(m, om_link);
		h = (const struct xsd_sockmsg *)m->om_data;
		if (m->om_off != 0 || m->om_raw || h->type != XS_WATCH_EVENT)
			continue;
		if (now - m->om_stamp < quota.q_watch_event_ms) {
			if (oldest == 0 || m->om_stamp < oldest)
				oldest = m->om_stamp;
			continue;
		}
		STAILQ_REMOVE(&c->c_out, m, outmsg, om_link);
		c->c_out_count--;
		c->c_out_bytes -= m->om_len;
		quota_mem_charge(c->c_domid, -(long)m->om_len);
		free(m);
		dropped++;
	}
	if (dropped) {
		log_debug("conn %u (dom%u): %u unread watch events expired", c->c_id, c->c_domid,
		    dropped);
		c->c_jr_out_full = true;
		persist_conn_touch(c);
	}
	if (oldest)
		conn_arm(c, oldest + quota.q_watch_event_ms - now);
	if (dropped)
		conn_update_throttle(c);
}
