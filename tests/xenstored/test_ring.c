/*
 * xenstored with a private hvd: INTRODUCE maps a domain's page and binds its
 * port; the test plays the guest on the ring (it maps the page too), with
 * re-INTRODUCE (which rebinds the port and rescans the ring) standing in for
 * the guest's notification. RELEASE, domain death through VIRQ_DOM_EXC, and a
 * guest corrupting its ring indexes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_test_util.h"
#include "libhv.h"
#include "xs.h"

static struct hvt t;
static pid_t xsd = -1;
static struct xs *xs;

static const char *xsd_extra[8];		/* more xenstored arguments, NULL-ended */

/* Starts xenstored -N with xsd_extra and connects xs to it. */
static void
xsd_start(void)
{
	const char *argv[12] = { "xenstored", "-N" };
	char path[160];
	int i, n = 2;

	for (i = 0; xsd_extra[i]; i++)
		argv[n++] = xsd_extra[i];
	xsd = fork();
	cr_assert_geq(xsd, 0);
	if (xsd == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(XST_XENSTORED, (char *const *)argv);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/xenstored/socket", t.rundir);
	for (i = 0; i < 5000 && (xs = xs_open(path)) == NULL; i++)
		usleep(1000);
	cr_assert_not_null(xs);
}

static void
setup(void)
{
	hvt_start(&t);
	xsd_start();
}

static void
teardown(void)
{
	xs_close(xs);
	if (xsd > 0) {
		kill(xsd, SIGTERM);
		waitpid(xsd, NULL, 0);
	}
	hvt_stop(&t);
}

TestSuite(ring, .init = setup, .fini = teardown, .timeout = 30);

struct guest {
	hv_domid_t domid;
	uint32_t port;
	struct xenstore_domain_interface *intf;
	uint32_t req_id;
};

/* A paused, empty domain whose frame 1 is its xenstore page; INTRODUCEd. */
static void
guest_new(struct guest *g)
{
	struct hv_domain_config cfg = { .mem_kib = 1024, .vcpus = 1 };
	int port;

	cr_assert_eq(hv_domain_create(t.hv, &cfg, &g->domid), 0);
	port = hv_evtchn_alloc_unbound(t.hv, g->domid, 0);
	cr_assert_geq(port, 0);
	g->port = port;
	g->intf = hv_foreign_map(t.hv, g->domid, PROT_READ | PROT_WRITE, 1, 1);
	cr_assert_not_null(g->intf);
	cr_assert_eq(xs_introduce_domain(xs, g->domid, 1, g->port), 0, "introduce: %s",
	    strerror(errno));
}

/* Re-INTRODUCE with a fresh port: the daemon rebinds and reads the ring. */
static void
guest_kick(struct guest *g)
{
	int port = hv_evtchn_alloc_unbound(t.hv, g->domid, 0);

	cr_assert_geq(port, 0);
	cr_assert_eq(xs_introduce_domain(xs, g->domid, 1, port), 0);
}

/* Writes bytes into the request ring as a guest would, kicking when it is full. */
static void
guest_put(struct guest *g, const void *buf, size_t len)
{
	int waited = 0;

	while (len > 0) {
		XENSTORE_RING_IDX prod = g->intf->req_prod;
		XENSTORE_RING_IDX cons = __atomic_load_n(&g->intf->req_cons, __ATOMIC_ACQUIRE);
		size_t space = XENSTORE_RING_SIZE - (prod - cons), i;

		if (space == 0) {
			cr_assert_lt(waited++, 2000, "request ring stays full");
			guest_kick(g);
			usleep(1000);
			continue;
		}
		if (space > len)
			space = len;
		for (i = 0; i < space; i++)
			g->intf->req[MASK_XENSTORE_IDX(prod + i)] = ((const char *)buf)[i];
		__atomic_store_n(&g->intf->req_prod, prod + space, __ATOMIC_RELEASE);
		buf = (const char *)buf + space;
		len -= space;
	}
}

/* Reads len bytes from the response ring, kicking the daemon while it waits. */
static void
guest_get(struct guest *g, void *buf, size_t len)
{
	int waited = 0;

	while (len > 0) {
		XENSTORE_RING_IDX cons = g->intf->rsp_cons;
		size_t avail = __atomic_load_n(&g->intf->rsp_prod, __ATOMIC_ACQUIRE) - cons, i;

		if (avail == 0) {
			cr_assert_lt(waited++, 2000, "no reply on the ring");
			if (waited % 10 == 0)
				guest_kick(g);
			usleep(1000);
			continue;
		}
		if (avail > len)
			avail = len;
		for (i = 0; i < avail; i++)
			((char *)buf)[i] = g->intf->rsp[MASK_XENSTORE_IDX(cons + i)];
		__atomic_store_n(&g->intf->rsp_cons, cons + avail, __ATOMIC_RELEASE);
		buf = (char *)buf + avail;
		len -= avail;
	}
}

/* One request over the ring; returns the reply payload in buf. */
static uint32_t
guest_call(struct guest *g, uint32_t type, const void *p, size_t len, char *buf)
{
	struct xsd_sockmsg h = { type, ++g->req_id, 0, len };

	guest_put(g, &h, sizeof(h));
	guest_put(g, p, len);
	guest_kick(g);
	do {
		guest_get(g, &h, sizeof(h));
		cr_assert_leq(h.len, XENSTORE_PAYLOAD_MAX);
		guest_get(g, buf, h.len);
		buf[h.len] = '\0';
	} while (h.type == XS_WATCH_EVENT);
	cr_assert_eq(h.req_id, g->req_id);
	return h.type;
}

/* Waits for a dom0 watch event with the given path. */
static void
wait_event(const char *path)
{
	char **v = xs_read_watch(xs, NULL);

	cr_assert_not_null(v);
	cr_assert_str_eq(v[0], path);
	free(v);
}

Test(ring, introduce_and_guest_requests)
{
	struct guest g = { 0 };
	char buf[4200], home[64], p[96];
	struct xs_perm own;
	unsigned n;
	struct xs_perm *perms;

	cr_assert_eq(xs_watch(xs, "@introduceDomain", "i"), 0);
	wait_event("@introduceDomain");
	guest_new(&g);
	wait_event("@introduceDomain");
	cr_assert_eq(xs_is_domain_introduced(xs, g.domid), 1);

	snprintf(home, sizeof(home), "/local/domain/%u", g.domid);
	cr_assert_eq(guest_call(&g, XS_GET_DOMAIN_PATH, "0", 2, buf), XS_GET_DOMAIN_PATH);
	cr_assert_str_eq(buf, "/local/domain/0");
	cr_assert_eq(guest_call(&g, XS_READ, "/", 2, buf), XS_ERROR);
	cr_assert_str_eq(buf, "EACCES");
	cr_assert_eq(guest_call(&g, XS_CONTROL, "print\0x", 8, buf), XS_ERROR);
	cr_assert_str_eq(buf, "EACCES");

	/* the home, owned by the guest as libxl's "rw" */
	own = (struct xs_perm){ g.domid, XS_PERM_NONE };
	cr_assert_eq(xs_mkdir(xs, 0, home), 0);
	cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
	cr_assert_eq(guest_call(&g, XS_WRITE, "x\0ring-value", 12, buf), XS_WRITE);
	cr_assert_str_eq(buf, "OK");
	snprintf(p, sizeof(p), "%s/x", home);
	{
		char *v = xs_read(xs, 0, p, NULL);

		cr_assert_str_eq(v, "ring-value");
		free(v);
	}
	perms = xs_get_perms(xs, 0, p, &n);
	cr_assert_eq(perms[0].domid, g.domid);
	free(perms);

	/* a reply larger than the ring streams through it */
	memset(buf, 'v', 2000);
	memcpy(buf, "big\0", 4);
	cr_assert_eq(guest_call(&g, XS_WRITE, buf, 2000, buf), XS_WRITE);
	cr_assert_eq(guest_call(&g, XS_READ, "big", 4, buf), XS_READ);
	cr_assert_eq(strlen(buf), 1996);

	/* RELEASE: @releaseDomain, and the guest's nodes go */
	cr_assert_eq(xs_watch(xs, "@releaseDomain", "r"), 0);
	wait_event("@releaseDomain");
	cr_assert_eq(xs_release_domain(xs, g.domid), 0);
	wait_event("@releaseDomain");
	cr_assert_eq(xs_is_domain_introduced(xs, g.domid), 0);
	cr_assert_null(xs_read(xs, 0, p, NULL));
	cr_assert_eq(errno, ENOENT);
	/* and again: RELEASE / re-INTRODUCE cycles (XSA-425) */
	guest_kick(&g);
	cr_assert_eq(xs_is_domain_introduced(xs, g.domid), 1);
	cr_assert_eq(xs_release_domain(xs, g.domid), 0);
}

Test(ring, bad_indexes_set_error_but_keep_the_domain)
{
	struct guest g = { 0 };

	guest_new(&g);
	__atomic_store_n(&g.intf->req_prod, g.intf->req_cons + 5000, __ATOMIC_RELEASE);
	guest_kick(&g);
	for (int i = 0; i < 200 && g.intf->error == XENSTORE_ERROR_NONE; i++)
		usleep(5000);
	cr_assert_eq(g.intf->error, XENSTORE_ERROR_RINGIDX);
	cr_assert_eq(xs_is_domain_introduced(xs, g.domid), 1);
	cr_assert_eq(xs_write(xs, 0, "/alive", "1", 1), 0);
}

Test(ring, oversized_request_sets_proto_error)
{
	struct guest g = { 0 };
	struct xsd_sockmsg h = { XS_READ, 1, 0, 100000 };

	guest_new(&g);
	guest_put(&g, &h, sizeof(h));
	guest_kick(&g);
	for (int i = 0; i < 200 && g.intf->error == XENSTORE_ERROR_NONE; i++)
		usleep(5000);
	cr_assert_eq(g.intf->error, XENSTORE_ERROR_PROTO);
	cr_assert_eq(xs_is_domain_introduced(xs, g.domid), 1);
}

Test(ring, domain_death_fires_release_domain)
{
	struct guest g = { 0 };
	char p[96];
	struct xs_perm own;

	guest_new(&g);
	snprintf(p, sizeof(p), "/local/domain/%u", g.domid);
	own = (struct xs_perm){ g.domid, XS_PERM_NONE };
	cr_assert_eq(xs_mkdir(xs, 0, p), 0);
	cr_assert_eq(xs_set_perms(xs, 0, p, &own, 1), 0);
	cr_assert_eq(xs_watch(xs, "@releaseDomain", "r"), 0);
	wait_event("@releaseDomain");
	cr_assert_eq(hv_domain_destroy(t.hv, g.domid), 0);
	wait_event("@releaseDomain");
	for (int i = 0; i < 200 && xs_is_domain_introduced(xs, g.domid) == 1; i++)
		usleep(5000);
	cr_assert_eq(xs_is_domain_introduced(xs, g.domid), 0);
	cr_assert_null(xs_read(xs, 0, p, NULL), "the dead domain's nodes are gone");
}

Test(ring, shutdown_fires_release_domain_once_until_resume)
{
	struct guest g = { 0 };
	char **v;

	guest_new(&g);
	cr_assert_eq(xs_watch(xs, "@releaseDomain", "r"), 0);
	wait_event("@releaseDomain");
	cr_assert_eq(hv_domain_shutdown(t.hv, g.domid, SHUTDOWN_poweroff), 0);
	wait_event("@releaseDomain");
	cr_assert_eq(xs_is_domain_introduced(xs, g.domid), 1, "shut down is not dead");
	cr_assert_eq(xs_resume_domain(xs, g.domid), 0);
	v = xs_check_watch(xs);
	cr_assert_null(v);
	free(v);
}

/* Unread events expire after -w watch-event seconds: 1 here. */
static void
setup_expire(void)
{
	xsd_extra[0] = "-w";
	xsd_extra[1] = "watch-event=1";
	setup();
}

/* The Memory line of "quota <domid>": nodes, watches and queued output. */
static long
quota_memory(hv_domid_t domid)
{
	char id[16], *out, *mem;
	const char *argv[] = { "quota", id };
	long v;

	snprintf(id, sizeof(id), "%u", domid);
	out = xs_control(xs, argv, 2);
	cr_assert_not_null(out);
	mem = strstr(out, "Memory:");
	cr_assert_not_null(mem, "%s", out);
	v = strtol(mem + 7, NULL, 10);
	free(out);
	return v;
}

Test(ringexp, unread_events_expire_in_the_daemon, .init = setup_expire, .fini = teardown,
    .timeout = 60)
{
	struct guest g = { 0 };
	struct xsd_sockmsg h;
	char buf[4200], home[64], p[160];
	struct xs_perm own;
	long full, now;
	int i, events = 0;

	guest_new(&g);
	snprintf(home, sizeof(home), "/local/domain/%u", g.domid);
	own = (struct xs_perm){ g.domid, XS_PERM_NONE };
	cr_assert_eq(xs_mkdir(xs, 0, home), 0);
	cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
	snprintf(p, sizeof(p), "%s%c%s", home, 0, "tok");
	cr_assert_eq(guest_call(&g, XS_WATCH, p, strlen(home) + 5, buf), XS_WATCH);
	/* 200 distinct events, 16 KiB: the 1 KiB ring fills, the rest waits in the daemon */
	for (i = 0; i < 200; i++) {
		snprintf(p, sizeof(p), "%s/a-rather-long-name-so-the-ring-fills-%03d", home, i);
		cr_assert_eq(xs_write(xs, 0, p, "v", 1), 0);
	}
	full = quota_memory(g.domid);
	/* the guest reads nothing: its queued events go after a second */
	for (i = 0; i < 1000 && (now = quota_memory(g.domid)) > full - 10000; i++)
		usleep(10000);
	cr_assert_leq(now, full - 10000, "queued events never expired (%ld -> %ld)", full, now);
	/* the guest reads again: what was in the ring, then new events flow */
	cr_assert_eq(xs_write(xs, 0, home, "fresh", 5), 0);
	for (;;) {
		guest_get(&g, &h, sizeof(h));
		cr_assert_leq(h.len, XENSTORE_PAYLOAD_MAX);
		guest_get(&g, buf, h.len);
		buf[h.len] = '\0';
		cr_assert_eq(h.type, XS_WATCH_EVENT);
		if (strcmp(buf, home) == 0 && events > 0)
			break;
		events++;
	}
	cr_assert_lt(events, 50, "%d of 200 events were delivered", events);
}

/* --- the state on disk: kill -9 and come back ------------------------------ */

static char state_dir[64];

/* xenstored keeps its state in a private directory. */
static void
setup_persist(void)
{
	strcpy(state_dir, "/tmp/xst-state-XXXXXX");
	cr_assert_not_null(mkdtemp(state_dir));
	xsd_extra[0] = "--state-dir";
	xsd_extra[1] = state_dir;
	setup();
}

/* Removes the state directory after the usual teardown. */
static void
teardown_persist(void)
{
	char cmd[128];

	teardown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", state_dir);
	cr_assert_eq(system(cmd), 0);
}

static int kick_fd = -1;		/* guest_kick_nowait's connection */

/* kill -9, start again, and wait until the socket answers; the ms it took. */
static double
xsd_kill_restart(void)
{
	struct timespec t0, t1;
	char *v = NULL;

	xs_close(xs);
	xs = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(xsd, SIGKILL);
	waitpid(xsd, NULL, 0);
	if (kick_fd >= 0)
		close(kick_fd);
	kick_fd = -1;
	xsd_start();
	for (int i = 0; i < 500 && (v = xs_read(xs, 0, "/", NULL)) == NULL; i++)
		usleep(1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_not_null(v, "the restarted daemon does not answer");
	free(v);
	return (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* The node lines of a dump (path, generation, perms, value), sorted. */
static char *
dump_nodes(void)
{
	char file[128], cmd[300], *out = NULL, *r;
	const char *argv[] = { "dump", file };
	size_t len = 0;
	FILE *f;

	snprintf(file, sizeof(file), "%s.dump", state_dir);
	r = xs_control(xs, argv, 2);
	cr_assert_not_null(r, "dump: %s", strerror(errno));
	free(r);
	snprintf(cmd, sizeof(cmd), "grep '^node ' %s | sort", file);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_gt(getdelim(&out, &len, '\0', f), 0);
	pclose(f);
	unlink(file);
	return out;
}

/* A dom0 client writing in a loop, reconnecting whenever the daemon goes. */
static pid_t
load_client(int k)
{
	char sock[160], p[96], v[32];
	struct xs *c = NULL;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid > 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(sock, sizeof(sock), "%s/xenstored/socket", t.rundir);
	for (unsigned i = 0;; i++) {
		while (c == NULL && (c = xs_open(sock)) == NULL)
			usleep(2000);
		snprintf(p, sizeof(p), "/load/c%d/n%u", k, i % 200);
		snprintf(v, sizeof(v), "%u", i);
		if (xs_write(c, 0, p, v, strlen(v)) < 0 ||
		    (snprintf(p, sizeof(p), "/load/c%d/count", k),
		    xs_write(c, 0, p, v, strlen(v))) < 0) {
			xs_close(c);
			c = NULL;
		}
	}
}

/* The count a load client last wrote. */
static long
load_count(int k)
{
	char p[64], *v;
	long n;

	snprintf(p, sizeof(p), "/load/c%d/count", k);
	if ((v = xs_read(xs, 0, p, NULL)) == NULL)
		return -1;
	n = strtol(v, NULL, 10);
	free(v);
	return n;
}

/* Asserts that a node exists. */
static void
must_exist(const char *path)
{
	char *v = xs_read(xs, 0, path, NULL);

	cr_assert_not_null(v, "%s is missing", path);
	free(v);
}

/* Queues a guest WRITE on the ring without waiting for its reply. */
static void
guest_send_write(struct guest *g, const char *path, const char *val)
{
	char buf[256];
	size_t pl = strlen(path) + 1, vl = strlen(val);
	struct xsd_sockmsg h = { XS_WRITE, ++g->req_id, 0, pl + vl };

	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	guest_put(g, &h, sizeof(h));
	guest_put(g, buf, pl + vl);
}

/* The next non-event message on the guest's ring; events are counted in *events. */
static uint32_t
guest_next_reply(struct guest *g, char *buf, uint32_t *req_id, int *events)
{
	struct xsd_sockmsg h;

	for (;;) {
		guest_get(g, &h, sizeof(h));
		cr_assert_leq(h.len, XENSTORE_PAYLOAD_MAX);
		guest_get(g, buf, h.len);
		buf[h.len] = '\0';
		if (h.type != XS_WATCH_EVENT)
			break;
		(*events)++;
	}
	*req_id = h.req_id;
	return h.type;
}

Test(persist, kill9_under_load_from_clients_and_a_guest, .init = setup_persist,
    .fini = teardown_persist, .timeout = 90)
{
	struct guest g = { 0 };
	char buf[4200], home[64], p[160], tx[16];
	struct xs_perm own;
	pid_t cl[3];
	uint32_t rid, first;
	char *before, *after;
	long count[3];
	int i, k, events = 0;
	double ms;

	guest_new(&g);
	snprintf(home, sizeof(home), "/local/domain/%u", g.domid);
	own = (struct xs_perm){ g.domid, XS_PERM_NONE };
	cr_assert_eq(xs_mkdir(xs, 0, home), 0);
	cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
	/* the guest watches its w node */
	snprintf(p, sizeof(p), "%s/w%c%s", home, 0, "gw");
	cr_assert_eq(guest_call(&g, XS_WATCH, p, strlen(home) + 6, buf), XS_WATCH);
	for (k = 0; k < 3; k++)
		cl[k] = load_client(k);
	usleep(300 * 1000);

	/* 1: killed while the clients write and 60 guest writes are in flight */
	first = g.req_id + 1;
	for (i = 0; i < 60; i++) {
		snprintf(p, sizeof(p), "%s/inflight-%02d", home, i);
		guest_send_write(&g, p, "x");
	}
	guest_kick(&g);
	ms = xsd_kill_restart();
	cr_log_info("kill -9 under load to serving again: %.1f ms", ms);
	fprintf(stderr, "figure: kill -9 under load to serving: %.1f ms\n", ms);
	/* every in-flight request is answered once, in order, and did its work */
	for (i = 0; i < 60; i++) {
		cr_assert_eq(guest_next_reply(&g, buf, &rid, &events), XS_WRITE, "reply %d: %s", i,
		    buf);
		cr_assert_eq(rid, first + i, "reply %d has req_id %u", i, rid);
		cr_assert_str_eq(buf, "OK");
		snprintf(p, sizeof(p), "%s/inflight-%02d", home, i);
		must_exist(p);
	}
	cr_assert_eq(g.intf->rsp_prod, g.intf->rsp_cons, "a reply came twice");
	/* the dom0 clients reconnected and go on writing */
	for (k = 0; k < 3; k++) {
		long c0 = load_count(k);

		for (i = 0; i < 500 && load_count(k) <= c0; i++)
			usleep(10000);
		cr_assert_gt(load_count(k), c0, "client %d did not come back", k);
	}

	/* 2: a guest transaction open at the crash; the clients paused so the dumps compare */
	cr_assert_eq(guest_call(&g, XS_TRANSACTION_START, "", 1, tx), XS_TRANSACTION_START);
	for (k = 0; k < 3; k++)
		kill(cl[k], SIGSTOP);
	usleep(100 * 1000);
	for (k = 0; k < 3; k++)
		count[k] = load_count(k);
	before = dump_nodes();
	ms = xsd_kill_restart();
	fprintf(stderr, "figure: kill -9 (quiet) to serving: %.1f ms, %zu bytes of dump\n", ms,
	    strlen(before));
	after = dump_nodes();
	cr_assert_str_eq(after, before, "the tree differs after the restart");
	free(before);
	free(after);
	/* the guest: its transaction ends with EAGAIN, its next request succeeds */
	{
		struct xsd_sockmsg h = { XS_TRANSACTION_END, ++g.req_id, strtoul(tx, NULL, 10), 2 };

		guest_put(&g, &h, sizeof(h));
		guest_put(&g, "T", 2);
		guest_kick(&g);
		cr_assert_eq(guest_next_reply(&g, buf, &rid, &events), XS_ERROR);
		cr_assert_str_eq(buf, "EAGAIN");
		cr_assert_eq(rid, g.req_id);
	}
	cr_assert_eq(guest_call(&g, XS_WRITE, "after\0restart", 13, buf), XS_WRITE);
	cr_assert_str_eq(buf, "OK");
	snprintf(p, sizeof(p), "%s/after", home);
	must_exist(p);
	/* its watch still fires */
	snprintf(p, sizeof(p), "%s/w", home);
	cr_assert_eq(xs_write(xs, 0, p, "1", 1), 0);
	{
		struct xsd_sockmsg h;

		do {
			guest_get(&g, &h, sizeof(h));
			guest_get(&g, buf, h.len);
			buf[h.len] = '\0';
		} while (h.type != XS_WATCH_EVENT);
		cr_assert_str_eq(buf, p);
		cr_assert_str_eq(buf + strlen(buf) + 1, "gw");
	}
	for (k = 0; k < 3; k++) {
		cr_assert_eq(load_count(k), count[k]);
		kill(cl[k], SIGKILL);
		waitpid(cl[k], NULL, 0);
	}
}

/* SIGTERM, start again; the ms until the socket answers. */
static double
xsd_term_restart(void)
{
	struct timespec t0, t1;
	char *v = NULL;

	xs_close(xs);
	xs = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(xsd, SIGTERM);
	waitpid(xsd, NULL, 0);
	xsd_start();
	for (int i = 0; i < 500 && (v = xs_read(xs, 0, "/", NULL)) == NULL; i++)
		usleep(1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_not_null(v);
	free(v);
	return (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* Milliseconds since t0. */
static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * A planned restart (SIGTERM) keeps the same state as a crash does; and the
 * figures: restart time after kill -9 with the tree in the journal, then in the
 * snapshot, for XST_FIGURE_NODES nodes (20000) and 8 guests (printed, not asserted).
 */
Test(persist, planned_restart_and_figures, .init = setup_persist, .fini = teardown_persist,
    .timeout = 240)
{
	struct guest g[8];
	const char *env = getenv("XST_FIGURE_NODES");
	unsigned nodes = env ? strtoul(env, NULL, 10) : 20000, i, k;
	char buf[4200], home[64], p[160], *before, *after;
	struct xs_perm own;
	struct timespec t0;
	struct xsd_sockmsg h;
	double ms;

	memset(g, 0, sizeof(g));
	for (k = 0; k < 8; k++) {
		guest_new(&g[k]);
		snprintf(home, sizeof(home), "/local/domain/%u", g[k].domid);
		own = (struct xs_perm){ g[k].domid, XS_PERM_NONE };
		cr_assert_eq(xs_mkdir(xs, 0, home), 0);
		cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
		for (i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/w%u%cgw%u", home, i, 0, i);
			cr_assert_eq(guest_call(&g[k], XS_WATCH, p, strlen(home) + 8, buf),
			    XS_WATCH);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nodes; i++) {
		snprintf(p, sizeof(p), "/tool/fig/d%u/n%u", i / 100, i % 100);
		cr_assert_eq(xs_write(xs, 0, p, "some value of a node", 20), 0);
	}
	ms = ms_since(&t0);
	fprintf(stderr, "figure: %u dom0 writes with --state-dir: %.0f ms (%.0f/s)\n", nodes, ms,
	    nodes / ms * 1000);
	ms = xsd_kill_restart();
	fprintf(stderr, "figure: kill -9 to serving, %u nodes from the journal, 8 guests: %.1f ms\n",
	    nodes, ms);

	ms = xsd_kill_restart();
	fprintf(stderr, "figure: kill -9 to serving, %u nodes from the snapshot, 8 guests: %.1f ms\n",
	    nodes, ms);
	/* planned: the same state comes back */
	before = dump_nodes();
	ms = xsd_term_restart();
	fprintf(stderr, "figure: SIGTERM to serving, %u nodes, 8 guests: %.1f ms\n", nodes, ms);
	after = dump_nodes();
	cr_assert_str_eq(after, before, "the tree differs after a planned restart");
	free(before);
	free(after);
	for (k = 0; k < 8; k++) {
		cr_assert_eq(xs_is_domain_introduced(xs, g[k].domid), 1);
		cr_assert_eq(guest_call(&g[k], XS_WRITE, "w2\0x", 4, buf), XS_WRITE);
		cr_assert_str_eq(buf, "OK");
		/* its watch on w2 fires for dom0's write */
		snprintf(p, sizeof(p), "/local/domain/%u/w2", g[k].domid);
		cr_assert_eq(xs_write(xs, 0, p, "y", 1), 0);
		do {
			guest_get(&g[k], &h, sizeof(h));
			guest_get(&g[k], buf, h.len);
			buf[h.len] = '\0';
		} while (h.type != XS_WATCH_EVENT || strcmp(buf + strlen(buf) + 1, "gw2") != 0);
		cr_assert_str_eq(buf, p);
	}
}

/* A domid released and introduced again: its new connection's state alone comes back. */
Test(persist, reintroduced_guest_after_kill9, .init = setup_persist, .fini = teardown_persist,
    .timeout = 60)
{
	struct guest g = { 0 };
	char buf[4200], home[64], p[160];
	struct xs_perm own;
	uint32_t rid;
	int i, events = 0;

	guest_new(&g);
	snprintf(home, sizeof(home), "/local/domain/%u", g.domid);
	own = (struct xs_perm){ g.domid, XS_PERM_NONE };
	cr_assert_eq(xs_mkdir(xs, 0, home), 0);
	cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
	for (i = 0; i < 20; i++)
		cr_assert_eq(guest_call(&g, XS_WRITE, "old\0v", 5, buf), XS_WRITE);
	cr_assert_eq(xs_release_domain(xs, g.domid), 0);
	/* INTRODUCE again: the indexes start from 0, a new connection */
	guest_kick(&g);
	cr_assert_eq(g.intf->rsp_prod, 0);
	cr_assert_eq(xs_mkdir(xs, 0, home), 0);
	cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
	cr_assert_eq(guest_call(&g, XS_WRITE, "new\0v", 5, buf), XS_WRITE);
	guest_send_write(&g, home, "in-flight");
	guest_kick(&g);
	xsd_kill_restart();
	cr_assert_eq(guest_next_reply(&g, buf, &rid, &events), XS_WRITE, "%s", buf);
	cr_assert_eq(rid, g.req_id);
	cr_assert_str_eq(buf, "OK");
	cr_assert_eq(g.intf->rsp_prod, g.intf->rsp_cons, "more output than the one reply");
	cr_assert_eq(guest_call(&g, XS_READ, "new", 4, buf), XS_READ);
	cr_assert_str_eq(buf, "v");
	snprintf(p, sizeof(p), "%s/old", home);
	cr_assert_null(xs_read(xs, 0, p, NULL), "the released domain's nodes came back");
}

/*
 * The journal records each domain's introduction and release, not the whole
 * list per entry: after kill -9 the introduced ones are back, the released
 * one is not, whichever entry said so last.
 */
Test(persist, introduced_and_released_domains_after_kill9, .init = setup_persist,
    .fini = teardown_persist, .timeout = 60)
{
	struct guest g[3] = { 0 };
	char buf[256], home[64];
	struct xs_perm own;
	int i;

	for (i = 0; i < 3; i++)
		guest_new(&g[i]);
	snprintf(home, sizeof(home), "/local/domain/%u", g[2].domid);
	own = (struct xs_perm){ g[2].domid, XS_PERM_NONE };
	cr_assert_eq(xs_mkdir(xs, 0, home), 0);
	cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
	cr_assert_eq(xs_release_domain(xs, g[1].domid), 0);
	cr_assert_eq(guest_call(&g[2], XS_WRITE, "w\0v", 4, buf), XS_WRITE);
	xsd_kill_restart();
	cr_assert_eq(xs_is_domain_introduced(xs, g[0].domid), 1);
	cr_assert_eq(xs_is_domain_introduced(xs, g[1].domid), 0, "a released domain came back");
	cr_assert_eq(xs_is_domain_introduced(xs, g[2].domid), 1);
	/* released after the restart, then another restart: the journal's record wins */
	cr_assert_eq(xs_release_domain(xs, g[0].domid), 0);
	xsd_kill_restart();
	cr_assert_eq(xs_is_domain_introduced(xs, g[0].domid), 0);
	cr_assert_eq(xs_is_domain_introduced(xs, g[2].domid), 1);
	cr_assert_eq(guest_call(&g[2], XS_READ, "w", 2, buf), XS_READ);
	cr_assert_str_eq(buf, "v");
}

/* Re-INTRODUCE (the guest's "notify") without waiting for the answer. */
static void
guest_kick_nowait(struct guest *g)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int port = hv_evtchn_alloc_unbound(t.hv, g->domid, 0), fd;
	char body[64];
	struct xsd_sockmsg h = { XS_INTRODUCE, 1, 0, 0 };

	cr_assert_geq(port, 0);
	h.len = snprintf(body, sizeof(body), "%u%c1%c%d", g->domid, 0, 0, port) + 1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/xenstored/socket", t.rundir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	cr_assert_eq(write(fd, body, h.len), (ssize_t)h.len);
	kick_fd = fd;		/* closed after the kill, so the request is not cut short */
}

/*
 * kill -9 at twenty arbitrary moments while a guest has 24 writes (a ring
 * full, so no wait for room) in flight:
 * every time, each request is answered exactly once and in order, and the
 * tree holds what the replies said.
 */
Test(persist, repeated_kill9_answers_each_request_once, .init = setup_persist,
    .fini = teardown_persist, .timeout = 120)
{
	struct guest g = { 0 };
	char buf[4200], home[64], p[160], val[32], *v;
	struct xs_perm own;
	uint32_t rid, first;
	int it, i, events = 0;
	unsigned seed = getpid();

	guest_new(&g);
	snprintf(home, sizeof(home), "/local/domain/%u", g.domid);
	own = (struct xs_perm){ g.domid, XS_PERM_NONE };
	cr_assert_eq(xs_mkdir(xs, 0, home), 0);
	cr_assert_eq(xs_set_perms(xs, 0, home, &own, 1), 0);
	for (it = 0; it < 20; it++) {
		first = g.req_id + 1;
		for (i = 0; i < 24; i++) {
			snprintf(p, sizeof(p), "%s/k%02d", home, i);
			snprintf(val, sizeof(val), "%d-%d", it, i);
			guest_send_write(&g, p, val);
		}
		guest_kick_nowait(&g);
		usleep(rand_r(&seed) % 400);	/* 0 to 0.4 ms: before, during or after the batch */
		xsd_kill_restart();
		for (i = 0; i < 24; i++) {
			cr_assert_eq(guest_next_reply(&g, buf, &rid, &events), XS_WRITE,
			    "round %d reply %d: %s", it, i, buf);
			cr_assert_eq(rid, first + i, "round %d: reply %d has req_id %u", it, i, rid);
		}
		cr_assert_eq(g.intf->rsp_prod, g.intf->rsp_cons, "round %d: a reply came twice", it);
		for (i = 0; i < 24; i++) {
			snprintf(p, sizeof(p), "%s/k%02d", home, i);
			snprintf(val, sizeof(val), "%d-%d", it, i);
			v = xs_read(xs, 0, p, NULL);
			cr_assert_not_null(v);
			cr_assert_str_eq(v, val, "round %d", it);
			free(v);
		}
	}
}
