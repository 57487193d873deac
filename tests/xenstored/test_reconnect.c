/*
 * dom0 clients across a kill -9 of xenstored --state-dir: the libevent client
 * (xs_async.h) reconnects on its loop and its watch fires again, the blocking
 * client (xs.h) reconnects inside its next call; requests in flight are
 * answered once, a transaction of the lost connection ends with EAGAIN, and a
 * client whose daemon never comes back gives up with EPIPE.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "xs_async.h"
#include "xst.h"

static char dir[64], sock[128], state[128];
static pid_t xsd;
static struct event_base *base;

/* xenstored -N --state-dir in dir; returns once its socket answers. */
static void
daemon_start(void)
{
	int fd;

	xsd = fork();
	cr_assert_geq(xsd, 0);
	if (xsd == 0) {
		int null = open("/dev/null", O_WRONLY);

		setenv("PVSTACK_RUNDIR", dir, 1);
		if (!getenv("XST_VERBOSE"))
			dup2(null, 2);
		execl(XST_XENSTORED, XST_XENSTORED, "-N", "--state-dir", state, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if ((fd = xst_connect(sock)) >= 0) {
			close(fd);
			return;
		}
		usleep(10000);
	}
	cr_assert_fail("xenstored did not start");
}

/* SIGKILL, reaped: nothing of the daemon is left but its state dir. */
static void
daemon_kill9(void)
{
	cr_assert_eq(kill(xsd, SIGKILL), 0);
	waitpid(xsd, NULL, 0);
	xsd = 0;
}

static void
setup(void)
{
	strcpy(dir, "/tmp/xsr.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/xenstored/socket", dir);
	snprintf(state, sizeof(state), "%s/xenstored-state", dir);
	setenv("XENSTORED_PATH", sock, 1);
	unsetenv("PVSTACK_XS_RECONNECT_TIMEOUT");
	daemon_start();
	base = event_base_new();
}

static void
teardown(void)
{
	char cmd[128];

	event_base_free(base);
	if (xsd > 0) {
		kill(xsd, SIGTERM);
		waitpid(xsd, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

TestSuite(reconnect, .init = setup, .fini = teardown, .timeout = 60);

/* Runs the loop until *flag reaches want (10 s at most). */
static void
run_until(const int *flag, int want)
{
	struct timeval tv = { 0, 10000 };

	for (int i = 0; i < 1000 && *flag < want; i++)
		event_base_loopexit(base, &tv), event_base_dispatch(base);
	cr_assert_geq(*flag, want, "timed out waiting (%d of %d)", *flag, want);
}

struct seen {
	int events;
	char last[128];
};

static void
on_watch(struct xsa *x, const char *path, const char *token, void *arg)
{
	struct seen *s = arg;

	(void)x;
	(void)token;
	s->events++;
	snprintf(s->last, sizeof(s->last), "%s", path);
}

struct result {
	int calls, err;
	char data[64];
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
}

/* A blocking read that must succeed; the value. */
static char *
must_read(struct xs *xs, const char *path)
{
	char *v = xs_read(xs, XS_TX_NONE, path, NULL);

	cr_assert_not_null(v, "read %s: %s", path, strerror(errno));
	return v;
}

Test(reconnect, watch_fires_again_and_blocking_read_succeeds)
{
	struct xs *xs = xs_open(NULL);
	struct xsa *x = xsa_open(base, NULL, NULL, NULL);
	struct seen s = { 0 };
	xs_tx_t tx;
	unsigned n;
	char **ev, *v;

	cr_assert_not_null(xs);
	cr_assert_not_null(x);
	cr_assert_eq(xs_write(xs, XS_TX_NONE, "/r/kept", "before", 6), 0);
	cr_assert_not_null(xsa_watch(x, "/r/w", on_watch, &s));
	run_until(&s.events, 1);	/* the initial event */
	cr_assert_eq(xs_watch(xs, "/r/sync", "tok-sync"), 0);
	ev = xs_read_watch(xs, &n);
	cr_assert_not_null(ev);
	free(ev);
	cr_assert_eq(xs_transaction_start(xs, &tx), 0);
	cr_assert_eq(xs_write(xs, tx, "/r/in-tx", "x", 1), 0);

	daemon_kill9();
	daemon_start();

	/* the async client reconnects by itself; its watch fires once on re-registration */
	run_until(&s.events, 2);
	cr_assert_str_eq(s.last, "/r/w");
	cr_assert_eq(xsa_reconnects(x), 1);

	/* the blocking client: the transaction of the lost connection is gone */
	cr_assert_eq(xs_write(xs, tx, "/r/in-tx", "y", 1), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(xs_transaction_end(xs, tx, false), -1);
	cr_assert_eq(errno, EAGAIN);
	v = must_read(xs, "/r/kept");
	cr_assert_str_eq(v, "before", "the tree survived the kill");
	free(v);
	cr_assert_null(xs_read(xs, XS_TX_NONE, "/r/in-tx", NULL), "nothing of the transaction");
	cr_assert_eq(xs_reconnects(xs), 1);

	/* its watch was registered again with the same token: the re-registration event */
	ev = xs_read_watch(xs, &n);
	cr_assert_not_null(ev);
	cr_assert_str_eq(ev[XS_WATCH_PATH], "/r/sync");
	cr_assert_str_eq(ev[XS_WATCH_TOKEN], "tok-sync");
	free(ev);

	/* a write made after the restart fires the async watch */
	cr_assert_eq(xs_write(xs, XS_TX_NONE, "/r/w/child", "after", 5), 0);
	run_until(&s.events, 3);
	cr_assert_str_eq(s.last, "/r/w/child");
	/* and the blocking one */
	cr_assert_eq(xs_write(xs, XS_TX_NONE, "/r/sync", "1", 1), 0);
	ev = xs_read_watch(xs, &n);
	cr_assert_not_null(ev);
	cr_assert_str_eq(ev[XS_WATCH_PATH], "/r/sync");
	free(ev);

	/* transactions work again on the new connection */
	cr_assert_eq(xs_transaction_start(xs, &tx), 0);
	cr_assert_eq(xs_write(xs, tx, "/r/in-tx", "z", 1), 0);
	cr_assert_eq(xs_transaction_end(xs, tx, false), 0);
	v = must_read(xs, "/r/in-tx");
	cr_assert_str_eq(v, "z");
	free(v);
	xsa_close(x);
	xs_close(xs);
}

/* Forty writes in flight when the daemon dies: each answered once, each value in the tree. */
Test(reconnect, requests_in_flight_answered_once)
{
	enum { N = 40 };
	struct xsa *x = xsa_open(base, NULL, NULL, NULL);
	struct result r[N] = { 0 }, last = { 0 };
	char path[32], val[16];
	int done = 0;

	cr_assert_not_null(x);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/f/%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		cr_assert_eq(xsa_write(x, 0, path, val, strlen(val), on_reply, &r[i]), 0);
		cr_assert_eq(xsa_rm(x, 0, "/nothere/gone", on_reply, &last), 0);
	}
	/* the requests sit in the output buffer: the kill comes before any is sent */
	daemon_kill9();
	daemon_start();
	for (int i = 0; i < 1000 && done < N; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		done = 0;
		for (int j = 0; j < N; j++)
			done += r[j].calls;
	}
	struct xs *xs = xs_open(NULL);
	cr_assert_not_null(xs);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(r[i].calls, 1, "write %d answered %d times", i, r[i].calls);
		cr_assert_eq(r[i].err, 0, "write %d: %s", i, strerror(r[i].err));
		snprintf(path, sizeof(path), "/f/%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		char *v = must_read(xs, path);
		cr_assert_str_eq(v, val);
		free(v);
	}
	/* never sent before the kill, so not "maybe done": the rm under a missing node is ENOENT */
	run_until(&last.calls, N);
	cr_assert_eq(last.calls, N);
	cr_assert_eq(last.err, ENOENT);
	xs_close(xs);
	xsa_close(x);
}

struct txstate {
	int bodies, done, err;
	struct xsa_tx *t;
	xs_tx_t tx;
};

static void
tx_body(struct xsa *x, struct xsa_tx *t, xs_tx_t tx, void *arg)
{
	struct txstate *st = arg;

	(void)x;
	st->bodies++;
	st->t = t;
	st->tx = tx;
}

static void
tx_done(struct xsa *x, int err, void *arg)
{
	struct txstate *st = arg;

	(void)x;
	st->done++;
	st->err = err;
}

static void
tx_wrote(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct txstate *st = arg;

	(void)x;
	(void)data;
	(void)len;
	if (err)
		xsa_tx_abort(st->t, err);
	else
		xsa_tx_commit(st->t);
}

/* A transaction body interrupted by the kill runs again and commits on the new daemon. */
Test(reconnect, async_transaction_runs_again)
{
	struct xsa *x = xsa_open(base, NULL, NULL, NULL);
	struct txstate st = { 0 };
	struct seen s = { 0 };

	cr_assert_not_null(x);
	cr_assert_eq(xsa_transaction(x, tx_body, tx_done, &st), 0);
	run_until(&st.bodies, 1);
	cr_assert_not_null(xsa_watch(x, "/t", on_watch, &s));
	daemon_kill9();
	daemon_start();
	run_until(&s.events, 1);	/* reconnected: the watch is registered (again) */
	/* the first body's write: its transaction belongs to the lost connection */
	cr_assert_eq(xsa_write(x, st.tx, "/t/v", "1", 1, tx_wrote, &st), 0);
	run_until(&st.bodies, 2);
	cr_assert_eq(st.done, 0);
	cr_assert_eq(xsa_write(x, st.tx, "/t/v", "2", 1, tx_wrote, &st), 0);
	run_until(&st.done, 1);
	cr_assert_eq(st.err, 0, "%s", strerror(st.err));
	cr_assert_eq(st.bodies, 2, "the body ran again once");
	struct xs *xs = xs_open(NULL);
	char *v = must_read(xs, "/t/v");
	cr_assert_str_eq(v, "2");
	free(v);
	xs_close(xs);
	xsa_close(x);
}

static void
on_lost(struct xsa *x, void *arg)
{
	(void)x;
	(*(int *)arg)++;
}

/* No daemon comes back: both clients give up with EPIPE once their time is up. */
Test(reconnect, gives_up_when_time_is_up)
{
	struct xs *xs = xs_open(NULL);
	int lost = 0;
	struct xsa *x = xsa_open(base, NULL, on_lost, &lost);
	struct result r = { 0 };

	cr_assert_not_null(xs);
	cr_assert_not_null(x);
	xs_set_reconnect_timeout(xs, 300);
	xsa_set_reconnect_timeout(x, 300);
	daemon_kill9();
	cr_assert_null(xs_read(xs, XS_TX_NONE, "/", NULL));
	cr_assert_eq(errno, EPIPE);
	cr_assert_eq(xsa_read(x, 0, "/", on_reply, &r), 0);
	run_until(&lost, 1);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.err, EPIPE);
	cr_assert_eq(xsa_read(x, 0, "/", on_reply, &r), -1);
	xsa_close(x);
	xs_close(xs);
}
