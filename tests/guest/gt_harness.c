#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "byte_ring.h"
#include "gt_harness.h"

static long
gt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* gt_store's way to wake the guest mid-message. */
static void
gt_kick_store(void *arg)
{
	struct gt *t = arg;

	hv_evtchn_notify(t->xce, t->lstore);
}

void
gt_start(struct gt *t, bool own_store)
{
	gt_start_kernel(t, own_store ? GT_OWN_STORE : 0, GT_PVGUEST, "gt test");
}

void
gt_start_kernel(struct gt *t, int flags, const char *kernel, const char *cmdline)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_build_config b = { .kernel = kernel, .cmdline = cmdline };
	struct hv_build_result res;
	int sp, cp;

	memset(t, 0, sizeof(*t));
	t->lstore = t->lcons = -1;
	hvt_start(&t->hvt);
	cr_assert_eq(hv_domain_create(t->hvt.hv, &cfg, &t->domid), 0, "create: %s", strerror(errno));
	sp = hv_evtchn_alloc_unbound(t->hvt.hv, t->domid, 0);
	cp = hv_evtchn_alloc_unbound(t->hvt.hv, t->domid, 0);
	cr_assert(sp > 0 && cp > 0, "alloc_unbound: %s", strerror(errno));
	t->store_port = b.store_port = sp;
	t->console_port = b.console_port = cp;
	cr_assert_eq(hv_domain_build(t->hvt.hv, t->domid, &b, &res), 0, "build: %s", strerror(errno));
	t->store_mfn = res.store_mfn;
	t->console_mfn = res.console_mfn;
	t->xce = hv_evtchn_open(t->hvt.hv);
	cr_assert_not_null(t->xce);
	if (flags & GT_NO_CONSOLE) {
		t->no_drain = true;
	} else {
		t->cons = hv_foreign_map(t->hvt.hv, t->domid, PROT_READ | PROT_WRITE,
		    t->console_mfn, 1);
		cr_assert_not_null(t->cons, "map console: %s", strerror(errno));
		t->lcons = hv_evtchn_bind_interdomain(t->xce, t->domid, t->console_port);
		cr_assert_geq(t->lcons, 0, "bind console: %s", strerror(errno));
	}
	if (!(flags & GT_OWN_STORE))
		return;
	void *ring = hv_foreign_map(t->hvt.hv, t->domid, PROT_READ | PROT_WRITE, t->store_mfn, 1);
	cr_assert_not_null(ring);
	t->lstore = hv_evtchn_bind_interdomain(t->xce, t->domid, t->store_port);
	cr_assert_geq(t->lstore, 0, "bind store: %s", strerror(errno));
	t->store = calloc(1, sizeof(*t->store));
	gt_store_init(t->store, t->domid, ring);
	t->store->gs_kick = gt_kick_store;
	t->store->gs_kick_arg = t;
	char home[64], name[32];
	snprintf(home, sizeof(home), "/local/domain/%u/name", t->domid);
	snprintf(name, sizeof(name), "gt%u", t->domid);
	gt_store_set(t->store, home, name);
}

void
gt_unpause(struct gt *t)
{
	cr_assert_eq(hv_domain_unpause(t->hvt.hv, t->domid), 0, "unpause: %s", strerror(errno));
}

/* Drains the console's out ring into t->out, as consoled would. */
static void
gt_drain_console(struct gt *t)
{
	if (t->no_drain || t->cons == NULL)
		return;
	struct byte_ring r = { t->cons->out, sizeof(t->cons->out), &t->cons->out_prod,
	    &t->cons->out_cons };
	ssize_t n;

	while ((n = byte_ring_get(&r, t->out + t->outlen, sizeof(t->out) - 1 - t->outlen)) > 0) {
		t->outlen += n;
		t->out[t->outlen] = '\0';
		hv_evtchn_notify(t->xce, t->lcons);
	}
	cr_assert_geq(n, 0, "console ring corrupt");
}

/* One round: wait up to ms for an event, then serve both rings; like xenstored,
 * notify after consuming requests too (a writer may wait for room). */
static void
gt_pump(struct gt *t, int ms)
{
	struct pollfd pfd = { .fd = hv_evtchn_fd(t->xce), .events = POLLIN };
	int port;

	poll(&pfd, 1, ms);
	while ((port = hv_evtchn_pending(t->xce)) >= 0)
		hv_evtchn_unmask(t->xce, port);
	if (t->store != NULL) {
		uint32_t cons = t->store->gs_intf->req_cons;
		gt_store_serve(t->store);
		if (t->store->gs_unsent || t->store->gs_intf->req_cons != cons)
			hv_evtchn_notify(t->xce, t->lstore);
		t->store->gs_unsent = false;
	}
	gt_drain_console(t);
}

void
gt_serve(struct gt *t, int ms)
{
	long deadline = gt_now_ms() + ms;

	for (long left = ms; left > 0; left = deadline - gt_now_ms())
		gt_pump(t, left < 20 ? (int)left : 20);
}

bool
gt_wait_output(struct gt *t, const char *needle, size_t from, int ms)
{
	long deadline = gt_now_ms() + ms;

	for (;;) {
		gt_pump(t, 0);
		if (from <= t->outlen && strstr(t->out + from, needle) != NULL)
			return true;
		long left = deadline - gt_now_ms();
		if (left <= 0)
			return false;
		gt_pump(t, left < 50 ? (int)left : 50);
	}
}

void
gt_type(struct gt *t, const char *keys)
{
	cr_assert_not_null(t->cons, "the console belongs to consoled");
	struct byte_ring r = { t->cons->in, sizeof(t->cons->in), &t->cons->in_prod,
	    &t->cons->in_cons };
	size_t len = strlen(keys);

	while (len > 0) {
		ssize_t n = byte_ring_put(&r, keys, len);
		cr_assert_geq(n, 0);
		hv_evtchn_notify(t->xce, t->lcons);
		keys += n;
		len -= n;
		if (len > 0)
			gt_pump(t, 10);
	}
}

bool
gt_wait_shutdown(struct gt *t, int ms, struct hv_dominfo *info)
{
	long deadline = gt_now_ms() + ms;

	do {
		gt_pump(t, 20);
		if (hv_domain_getinfo(t->hvt.hv, t->domid, info) == 0 &&
		    (info->flags & HV_DOMINF_SHUTDOWN))
			return true;
	} while (gt_now_ms() < deadline);
	return false;
}

/* nftw callback: removes one entry, children first. */
static int
gt_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void
gt_stop(struct gt *t)
{
	if (t->xce != NULL)
		hv_evtchn_close(t->xce);
	hv_domain_destroy(t->hvt.hv, t->domid);
	free(t->store);
	hvt_stop(&t->hvt);
	/* hvt_stop removes the rundir while reading it, which may skip entries. */
	nftw(t->hvt.rundir, gt_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
