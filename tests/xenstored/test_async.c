/* The asynchronous client (xs_async.h) against a private xenstored. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "xs_async.h"
#include "xst.h"

static struct xst_daemon d;
static struct event_base *base;

static void
setup(void)
{
	xst_daemon_start(&d, NULL);
	base = event_base_new();
}

static void
teardown(void)
{
	event_base_free(base);
	xst_daemon_stop(&d);
}

TestSuite(async, .init = setup, .fini = teardown, .timeout = 20);

struct result {
	int calls, err;
	char data[256];
};

static void
on_reply(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct result *r = arg;

	(void)x;
	r->calls++;
	r->err = err;
	if (data)
		snprintf(r->data, sizeof(r->data), "%.*s", (int)len, data);
	if (r->calls >= 2)
		event_base_loopbreak(base);
}

static void
run_until(int *flag, int want)
{
	struct timeval tv = { 0, 10000 };
	int i;

	for (i = 0; i < 500 && *flag < want; i++)
		event_base_loopexit(base, &tv), event_base_dispatch(base);
	cr_assert_geq(*flag, want, "timed out");
}

Test(async, write_then_read_pipelined)
{
	struct xsa *x = xsa_open(base, d.sock, NULL, NULL);
	struct result w = { 0 }, r = { 0 }, e = { 0 };

	cr_assert(x);
	cr_assert_eq(xsa_write(x, 0, "/a", "hello", 5, on_reply, &w), 0);
	cr_assert_eq(xsa_read(x, 0, "/a", on_reply, &r), 0);
	cr_assert_eq(xsa_read(x, 0, "/missing", on_reply, &e), 0);
	run_until(&e.calls, 1);
	cr_assert_eq(w.err, 0);
	cr_assert_str_eq(w.data, "OK");
	cr_assert_eq(r.err, 0);
	cr_assert_str_eq(r.data, "hello");
	cr_assert_eq(e.err, ENOENT);
	xsa_close(x);
}

struct wstate {
	int events;
	char last[128];
};

static void
on_watch(struct xsa *x, const char *path, const char *token, void *arg)
{
	struct wstate *s = arg;

	(void)x;
	(void)token;
	s->events++;
	snprintf(s->last, sizeof(s->last), "%s", path);
}

Test(async, watch_initial_and_change_then_unwatch)
{
	struct xsa *x = xsa_open(base, d.sock, NULL, NULL);
	struct wstate s = { 0 };
	struct result w = { 0 };
	struct xsa_watch *wt = xsa_watch(x, "/wt", on_watch, &s);

	cr_assert(wt);
	run_until(&s.events, 1);
	cr_assert_str_eq(s.last, "/wt");
	xsa_write(x, 0, "/wt/k", "1", 1, on_reply, &w);
	run_until(&s.events, 2);
	cr_assert_str_eq(s.last, "/wt/k");
	xsa_unwatch(x, wt);
	xsa_write(x, 0, "/wt/k", "2", 1, on_reply, &w);
	run_until(&w.calls, 2);
	cr_assert_eq(s.events, 2);
	xsa_close(x);
}

/* A read-modify-write increment, retried by the library on EAGAIN. */
struct incr {
	struct xsa_tx *t;
	xs_tx_t tx;
	int left, done, err, bodies;
};

static void incr_start(struct xsa *x, struct incr *c);

static void
incr_wrote(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct incr *c = arg;

	(void)x;
	(void)data;
	(void)len;
	if (err)
		xsa_tx_abort(c->t, err);
	else
		xsa_tx_commit(c->t);
}

static void
incr_read(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct incr *c = arg;
	char buf[32];
	long v = 0;

	if (!err)
		v = strtol(data, NULL, 10);
	(void)len;
	snprintf(buf, sizeof(buf), "%ld", v + 1);
	xsa_write(x, c->tx, "/counter", buf, strlen(buf), incr_wrote, c);
}

static void
incr_body(struct xsa *x, struct xsa_tx *t, xs_tx_t tx, void *arg)
{
	struct incr *c = arg;

	c->t = t;
	c->tx = tx;
	c->bodies++;
	xsa_read(x, tx, "/counter", incr_read, c);
}

static void
incr_done(struct xsa *x, int err, void *arg)
{
	struct incr *c = arg;

	if (err == EAGAIN) {		/* starved past the retry bound: start it again */
		incr_start(x, c);
		return;
	}
	if (err) {
		c->err = err;
		c->done++;
		return;
	}
	if (--c->left > 0)
		incr_start(x, c);
	else
		c->done++;
}

static void
incr_start(struct xsa *x, struct incr *c)
{
	cr_assert_eq(xsa_transaction(x, incr_body, incr_done, c), 0);
}

/*
 * Two clients incrementing one counter in transactions. Both run in this one
 * loop, in lockstep: each round one commit wins and the other retries, so the
 * same client can lose every round while the other still has increments, more
 * than the library's 100 retries; then it starts its increment again, as a
 * toolstack does (incr_done), and only other errors fail the test.
 */
Test(async, concurrent_transactions_retry_on_eagain)
{
	struct xsa *a = xsa_open(base, d.sock, NULL, NULL), *b = xsa_open(base, d.sock, NULL, NULL);
	struct incr ca = { .left = 100 }, cb = { .left = 100 };
	struct result r = { 0 };
	int both = 0;

	incr_start(a, &ca);
	incr_start(b, &cb);
	while (both < 2 && r.calls == 0) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		both = ca.done + cb.done;
		if (both == 2)
			break;
	}
	cr_assert_eq(ca.err, 0);
	cr_assert_eq(cb.err, 0);
	xsa_read(a, 0, "/counter", on_reply, &r);
	run_until(&r.calls, 1);
	cr_assert_str_eq(r.data, "200", "increments lost");
	cr_assert_gt(ca.bodies + cb.bodies, 200, "no conflict was ever retried");
	xsa_close(a);
	xsa_close(b);
}

static void
on_lost(struct xsa *x, void *arg)
{
	(void)x;
	(*(int *)arg)++;
}

Test(async, lost_connection_fails_pending_requests)
{
	int lost = 0;
	struct xsa *x = xsa_open(base, d.sock, on_lost, &lost);
	struct result r = { 0 };

	kill(d.pid, SIGKILL);
	waitpid(d.pid, NULL, 0);
	d.pid = 0;
	xsa_read(x, 0, "/", on_reply, &r);
	run_until(&lost, 1);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.err, EPIPE);
	cr_assert_eq(xsa_read(x, 0, "/", on_reply, &r), -1);
	xsa_close(x);
}
