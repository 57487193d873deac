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
	for (i = 0; i < 500 && (xs = xs_open(path)) == NULL; i++)
		usleep(10000);
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
