/* 1000 create/build/destroy cycles leave hvd's descriptors where they were. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <criterion/criterion.h>

#include "hv_test_util.h"
#include "proc_stat.h"

static struct hvt t;

static void setup(void) { hvt_start(&t); }
static void teardown(void) { hvt_stop(&t); }

TestSuite(hv_leak, .init = setup, .fini = teardown, .timeout = 300);

/* One full cycle: a guest with both channels bound in dom0, run, destroyed. */
static void
cycle(struct hv_evtchn *xce, struct hv_gnttab *xgt, int i)
{
	hv_port_t sp, cp;
	hv_domid_t domid = hvt_guest(&t, i % 2 ? "pingpong" : "exit", &sp, &cp);
	int local = hv_evtchn_bind_interdomain(xce, domid, sp);

	cr_assert(local > 0, "cycle %d: bind: %s", i, strerror(errno));
	cr_assert_not_null(hv_gnttab_map_grant_ref(xgt, domid, GNTTAB_RESERVED_CONSOLE, PROT_READ));
	cr_assert_eq(hv_gnttab_unmap(xgt, domid, GNTTAB_RESERVED_CONSOLE), 0);
	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	if (i % 2) {
		cr_assert_eq(hv_evtchn_notify(xce, local), 0);
		cr_assert_eq(hvt_wait_event(xce, 5000), local, "cycle %d: no pong", i);
	}
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0, "cycle %d: destroy: %s", i, strerror(errno));
	cr_assert_eq(hv_evtchn_unbind(xce, local), 0);
}

Test(hv_leak, thousand_cycles)
{
	struct hv_evtchn *xce = hv_evtchn_open(t.hv);
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv);
	struct timespec a, b;
	int fd0, fd1;
	long rss0, rss1;

	/* warm up allocations that legitimately stay (port spaces, console ring) */
	for (int i = 0; i < 20; i++)
		cycle(xce, xgt, i);
	fd0 = proc_fd_count(t.hvd_pid);
	rss0 = proc_rss_kib(t.hvd_pid);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000; i++)
		cycle(xce, xgt, i);
	clock_gettime(CLOCK_MONOTONIC, &b);
	fd1 = proc_fd_count(t.hvd_pid);
	rss1 = proc_rss_kib(t.hvd_pid);
	double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	fprintf(stderr, "hv_leak: 1000 cycles in %.2f s (%.0f/s); hvd fds %d -> %d; RSS %ld -> %ld KiB\n",
	    s, 1000 / s, fd0, fd1, rss0, rss1);
	hv_gnttab_close(xgt);
	hv_evtchn_close(xce);
	cr_assert_eq(fd1, fd0, "hvd fds grew from %d to %d", fd0, fd1);
#if !defined(__SANITIZE_ADDRESS__)
	/* (ASan's quarantine holds freed memory: there LeakSanitizer judges instead) */
	cr_assert(rss1 - rss0 < 2048, "hvd RSS grew by %ld KiB", rss1 - rss0);
#endif
}
