/*
 * A list of xenstore operations committed as one transaction whose requests
 * are pipelined over the asynchronous client: start, every operation back to
 * back, then commit once every reply is in (abort on the first error). The
 * domain layout is ~80 operations; one round trip each would dominate create.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dom_ops.h"
#include "log.h"
#include "xmalloc.h"
#include "xs_async.h"

#define DOM_OPS_ATTEMPTS 100	/* conflicts are normal when many domains start at once */

/* Appends one operation. */
static struct dom_op *
dom_ops_add(struct dom_ops *o, uint32_t type, const char *path)
{
	struct dom_op *op;

	o->do_ops = xreallocarray(o->do_ops, o->do_n + 1, sizeof(*o->do_ops));
	op = &o->do_ops[o->do_n++];
	memset(op, 0, sizeof(*op));
	op->op_type = type;
	op->op_path = xstrdup(path);
	return op;
}

/* Queues a write of a string value. */
void
dom_ops_write(struct dom_ops *o, const char *path, const char *val)
{
	dom_ops_add(o, XS_WRITE, path)->op_val = xstrdup(val);
}

/* Queues a write of a formatted value. */
void
dom_ops_printf(struct dom_ops *o, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		fatalx("dom_ops_printf: out of memory");
	va_end(ap);
	dom_ops_add(o, XS_WRITE, path)->op_val = v;
}

/* Queues a mkdir. */
void
dom_ops_mkdir(struct dom_ops *o, const char *path)
{
	dom_ops_add(o, XS_MKDIR, path);
}

/* Queues an rm whose ENOENT is not an error. */
void
dom_ops_rm(struct dom_ops *o, const char *path)
{
	dom_ops_add(o, XS_RM, path);
}

/* Queues Xen's two-entry perms: owner (everything), reader (read). */
void
dom_ops_perms(struct dom_ops *o, const char *path, uint32_t owner, uint32_t reader)
{
	struct dom_op *op = dom_ops_add(o, XS_SET_PERMS, path);

	op->op_perms[0] = (struct xs_perm){ owner, XS_PERM_NONE };
	op->op_perms[1] = (struct xs_perm){ reader, XS_PERM_READ };
	op->op_nperms = owner == reader ? 1 : 2;
}

/* Queues a write and its perms. */
void
dom_ops_write_perm(struct dom_ops *o, const char *path, const char *val, uint32_t owner,
    uint32_t reader)
{
	dom_ops_write(o, path, val);
	dom_ops_perms(o, path, owner, reader);
}

/* Frees the list. */
void
dom_ops_free(struct dom_ops *o)
{
	for (size_t i = 0; i < o->do_n; i++) {
		free(o->do_ops[i].op_path);
		free(o->do_ops[i].op_val);
	}
	free(o->do_ops);
	memset(o, 0, sizeof(*o));
}

/* One commit in progress. */
struct dom_ops_run {
	struct dom_ops *r_ops;
	struct event_base *r_base;
	struct xsa_tx *r_tx;
	size_t r_replies;
	int r_err;		/* first operation error of this attempt */
	int r_done;
	int r_result;
	int r_plain;		/* no transaction: the result is the first error */
};

/* An operation's reply; once all are in, commit or abort. */
static void
dom_ops_reply(struct xsa *xsa, int err, const char *data, size_t len, void *arg)
{
	struct dom_ops_run *r = arg;
	const struct dom_op *op = &r->r_ops->do_ops[r->r_replies];

	(void)xsa, (void)data, (void)len;
	if (err && !(err == ENOENT && op->op_type == XS_RM) && r->r_err == 0) {
		r->r_err = err;
		log_debug("xenstore %s: %s", op->op_path, strerror(err));
	}
	if (++r->r_replies < r->r_ops->do_n)
		return;
	if (r->r_plain) {
		r->r_result = r->r_err;
		r->r_done = 1;
		event_base_loopbreak(r->r_base);
		return;
	}
	if (r->r_err)
		xsa_tx_abort(r->r_tx, r->r_err);
	else
		xsa_tx_commit(r->r_tx);
}

/* The payload of one operation: path\0 then the value or the perms. */
static size_t
dom_ops_payload(const struct dom_op *op, char *buf, size_t cap)
{
	size_t n = strlen(op->op_path) + 1;

	if (n > cap)
		return 0;
	memcpy(buf, op->op_path, n);
	if (op->op_type == XS_WRITE) {
		size_t v = strlen(op->op_val);
		if (n + v > cap)
			return 0;
		memcpy(buf + n, op->op_val, v);
		return n + v;
	}
	for (unsigned i = 0; i < op->op_nperms; i++) {
		char p[16];
		xs_perm_format(&op->op_perms[i], p, sizeof(p));
		size_t l = strlen(p) + 1;
		if (n + l > cap)
			return 0;
		memcpy(buf + n, p, l);
		n += l;
	}
	return n;
}

/* Transaction body: every operation, pipelined. */
static void
dom_ops_body(struct xsa *xsa, struct xsa_tx *t, xs_tx_t tx, void *arg)
{
	struct dom_ops_run *r = arg;
	char buf[XENSTORE_PAYLOAD_MAX];

	r->r_tx = t;
	r->r_replies = 0;
	r->r_err = 0;
	if (r->r_ops->do_n == 0) {
		xsa_tx_commit(t);
		return;
	}
	for (size_t i = 0; i < r->r_ops->do_n; i++) {
		size_t len = dom_ops_payload(&r->r_ops->do_ops[i], buf, sizeof(buf));
		if (len == 0 || xsa_request(xsa, r->r_ops->do_ops[i].op_type, tx, buf, len,
		    dom_ops_reply, r) < 0) {
			/* Already-sent requests still answer; fail the attempt after them. */
			r->r_err = len == 0 ? E2BIG : errno;
			r->r_ops->do_n = i;
			if (i == 0)
				xsa_tx_abort(t, r->r_err);
			return;
		}
	}
}

/* The transaction's end. */
static void
dom_ops_done(struct xsa *xsa, int err, void *arg)
{
	struct dom_ops_run *r = arg;

	(void)xsa;
	r->r_result = err;
	r->r_done = 1;
	event_base_loopbreak(r->r_base);
}

/* The connection died under us. */
static void
dom_ops_lost(struct xsa *xsa, void *arg)
{
	struct dom_ops_run *r = arg;

	(void)xsa;
	if (!r->r_done) {
		r->r_result = EPIPE;
		r->r_done = 1;
	}
	event_base_loopbreak(r->r_base);
}

/* Sends every operation outside any transaction (plain mode). */
static int
dom_ops_send_plain(struct xsa *xsa, struct dom_ops_run *r)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	for (size_t i = 0; i < r->r_ops->do_n; i++) {
		size_t len = dom_ops_payload(&r->r_ops->do_ops[i], buf, sizeof(buf));
		if (len == 0) {
			errno = E2BIG;
			return -1;
		}
		if (xsa_request(xsa, r->r_ops->do_ops[i].op_type, XS_TX_NONE, buf, len,
		    dom_ops_reply, r) < 0)
			return -1;
	}
	return 0;
}

/* Runs one attempt (a transaction, or plain requests) to its end; the errno-style result. */
static int
dom_ops_attempt(struct dom_ops *o, int plain)
{
	struct dom_ops_run r = { .r_ops = o, .r_plain = plain };
	struct xsa *xsa = NULL;
	int rc = EIO;

	if ((r.r_base = event_base_new()) == NULL)
		return ENOMEM;
	if ((xsa = xsa_open(r.r_base, NULL, dom_ops_lost, &r)) == NULL) {
		rc = errno;
		goto out;
	}
	if (plain ? dom_ops_send_plain(xsa, &r) < 0 :
	    xsa_transaction(xsa, dom_ops_body, dom_ops_done, &r) < 0) {
		rc = errno;
		goto out;
	}
	while (!r.r_done && event_base_dispatch(r.r_base) == 0)
		;
	rc = r.r_result;
out:
	if (xsa)
		xsa_close(xsa);
	event_base_free(r.r_base);
	return rc;
}

/* Commits the list atomically, retrying conflicts with a short random back-off. */
int
dom_ops_commit(struct dom_ops *o)
{
	size_t n = o->do_n;
	int err = 0;

	for (int i = 0; i < DOM_OPS_ATTEMPTS; i++) {
		o->do_n = n;
		if ((err = dom_ops_attempt(o, 0)) == 0)
			return 0;
		if (err != EAGAIN)
			break;
		log_debug("xenstore transaction conflict; attempt %d", i + 2);
		poll(NULL, 0, (int)(random() % (2 + i)));
	}
	o->do_n = n;
	errno = err;
	return -1;
}

/* Sends every operation pipelined without a transaction; the first error wins. */
int
dom_ops_send(struct dom_ops *o)
{
	int err;

	if (o->do_n == 0)
		return 0;
	if ((err = dom_ops_attempt(o, 1)) == 0)
		return 0;
	errno = err;
	return -1;
}

/* State of a batch of pipelined reads. */
struct dom_ops_reads {
	struct event_base *rd_base;
	char **rd_vals;
	size_t rd_n, rd_got;
	int rd_lost;
};

/* One read's reply, stored by arrival order (replies come in request order). */
static void
dom_ops_read_reply(struct xsa *xsa, int err, const char *data, size_t len, void *arg)
{
	struct dom_ops_reads *r = arg;

	(void)xsa;
	if (err == 0)
		r->rd_vals[r->rd_got] = xstrndup(data, len);
	if (++r->rd_got == r->rd_n)
		event_base_loopbreak(r->rd_base);
}

/* The connection died: stop waiting. */
static void
dom_ops_read_lost(struct xsa *xsa, void *arg)
{
	struct dom_ops_reads *r = arg;

	(void)xsa;
	r->rd_lost = 1;
	event_base_loopbreak(r->rd_base);
}

/* Reads n nodes with one round trip; vals[i] is NULL where a node is absent. */
char **
dom_ops_read_all(const char *const *paths, size_t n)
{
	struct dom_ops_reads r = { .rd_n = n };
	struct xsa *xsa = NULL;

	r.rd_vals = xcalloc(n + 1, sizeof(*r.rd_vals));
	if (n == 0)
		return r.rd_vals;
	if ((r.rd_base = event_base_new()) == NULL ||
	    (xsa = xsa_open(r.rd_base, NULL, dom_ops_read_lost, &r)) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (xsa_read(xsa, XS_TX_NONE, paths[i], dom_ops_read_reply, &r) < 0)
			goto fail;
	while (r.rd_got < n && !r.rd_lost && event_base_dispatch(r.rd_base) == 0)
		;
	if (r.rd_lost)
		goto fail;
	xsa_close(xsa);
	event_base_free(r.rd_base);
	return r.rd_vals;
fail:
	if (xsa)
		xsa_close(xsa);
	if (r.rd_base)
		event_base_free(r.rd_base);
	for (size_t i = 0; i < n; i++)
		free(r.rd_vals[i]);
	free(r.rd_vals);
	return NULL;
}
