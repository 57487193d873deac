/*
 * bench-hv: what the hypervisor's paths cost against the native path
 * measured in the same run. Starts a private hvd in a temporary rundir.
 *   1. event channel round trip with a guest (libhv handle: notify, epoll,
 *      pending) against a raw eventfd ping-pong between the same two processes
 *   2. grant copy of 4 KiB into a guest's granted page against memcpy
 *   3. domains created + built + destroyed per second
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_test_guest.h"
#include "libhv.h"

static char bench_rundir[64];
static pid_t bench_hvd_pid;
static struct hv *hv;

/* Seconds on the monotonic clock. */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Exits with a message. */
static _Noreturn void
bench_die(const char *what)
{
	fprintf(stderr, "bench-hv: %s: %s\n", what, strerror(errno));
	if (bench_hvd_pid > 0)
		kill(bench_hvd_pid, SIGTERM);
	exit(1);
}

/* A private hvd for the run. */
static void
bench_start_hvd(void)
{
	snprintf(bench_rundir, sizeof(bench_rundir), "/tmp/hvbench.XXXXXX");
	if (mkdtemp(bench_rundir) == NULL)
		bench_die("mkdtemp");
	setenv("PVSTACK_RUNDIR", bench_rundir, 1);
	bench_hvd_pid = fork();
	if (bench_hvd_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);	/* hvd's and the guests' chatter */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(BENCH_HVD, "hvd", "-f", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 2500 && (hv = hv_open(NULL)) == NULL; i++)
		usleep(2000);
	if (hv == NULL)
		bench_die("connect to hvd");
}

/* SIGTERM to hvd and removal of the rundir. */
static void
bench_stop_hvd(void)
{
	char path[128];

	hv_close(hv);
	kill(bench_hvd_pid, SIGTERM);
	waitpid(bench_hvd_pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/empty", bench_rundir);
	rmdir(path);
	rmdir(bench_rundir);
}

/* A guest running cmdline, with the store and console ports bound in xce. */
static hv_domid_t
bench_guest(const char *cmdline, struct hv_evtchn *xce, int *store, int *console)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_build_config b = { .kernel = BENCH_GUEST, .cmdline = cmdline };
	hv_domid_t domid;
	int sp, cp;

	if (hv_domain_create(hv, &cfg, &domid) < 0)
		bench_die("create");
	sp = hv_evtchn_alloc_unbound(hv, domid, 0);
	cp = hv_evtchn_alloc_unbound(hv, domid, 0);
	if (sp < 0 || cp < 0)
		bench_die("alloc_unbound");
	b.store_port = sp;
	b.console_port = cp;
	if (hv_domain_build(hv, domid, &b, NULL) < 0)
		bench_die("build");
	if (xce) {
		*store = hv_evtchn_bind_interdomain(xce, domid, sp);
		*console = hv_evtchn_bind_interdomain(xce, domid, cp);
		if (*store < 0 || *console < 0)
			bench_die("bind_interdomain");
	}
	if (hv_domain_unpause(hv, domid) < 0)
		bench_die("unpause");
	return domid;
}

/* Round trips through the handle: notify, poll on the handle's fd, pending. */
static double
bench_rtt_handle(struct hv_evtchn *xce, int port, int n)
{
	struct pollfd pfd = { .fd = hv_evtchn_fd(xce), .events = POLLIN };
	double t0 = bench_now();

	for (int i = 0; i < n; i++) {
		hv_evtchn_notify(xce, port);
		while (hv_evtchn_pending(xce) != port)
			poll(&pfd, 1, -1);
	}
	return (bench_now() - t0) / n;
}

/* Round trips on the port's own eventfds: write, poll, read; no epoll layer. */
static double
bench_rtt_raw(struct hv_evtchn *xce, int port, int n)
{
	struct pollfd pfd = { .fd = hv_evtchn_port_fd(xce, port), .events = POLLIN };
	double t0 = bench_now();

	for (int i = 0; i < n; i++) {
		hv_evtchn_notify(xce, port);	/* one write() on the eventfd */
		while (hv_evtchn_ack(xce, port) == 0)	/* one read() */
			poll(&pfd, 1, -1);
	}
	return (bench_now() - t0) / n;
}

/* 1: event channel round trip against raw eventfds, same two processes. */
static void
bench_evtchn(void)
{
	struct hv_evtchn *xce = hv_evtchn_open(hv);
	int sp, cp, n = 20000;
	hv_domid_t domid = bench_guest("pingpong", xce, &sp, &cp);

	bench_rtt_handle(xce, sp, 500);	/* warm up */
	double h = bench_rtt_handle(xce, sp, n);
	double r = bench_rtt_raw(xce, cp, n);
	printf("evtchn round trip: %.1f us via libhv (notify/epoll/pending), "
	    "%.1f us raw eventfd (write/poll/read), ratio %.2f\n", h * 1e6, r * 1e6, h / r);
	hv_evtchn_close(xce);
	hv_domain_destroy(hv, domid);
}

/* 2: 4 KiB grant copy into the guest's writable grant against memcpy to the same page. */
static void
bench_grant_copy(void)
{
	struct hv_evtchn *xce = hv_evtchn_open(hv);
	struct hv_gnttab *xgt = hv_gnttab_open(hv);
	int sp, cp, n = 200000;
	hv_domid_t domid = bench_guest("grant", xce, &sp, &cp);
	volatile struct tg_page *pg = hv_foreign_map(hv, domid, PROT_READ, TG_PFN_PAGE, 1);
	uint8_t *dst = hv_foreign_map(hv, domid, PROT_READ | PROT_WRITE, TG_PFN_RW, 1);
	static uint8_t src[4096];
	struct hv_gnttab_copy_seg seg = { 0 };

	if (pg == NULL || dst == NULL)
		bench_die("foreign map");
	for (int i = 0; i < 5000 && __atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE) != TG_MAGIC; i++)
		usleep(1000);
	if (pg->magic != TG_MAGIC)
		bench_die("grant guest did not start");
	memset(src, 0x42, sizeof(src));
	seg.src.virt = src;
	seg.dst.ref = pg->ref_rw;
	seg.dst_domid = domid;
	seg.len = 4096;
	seg.flags = GNTCOPY_dest_gref;

	double t0 = bench_now();
	for (int i = 0; i < n; i++) {
		src[0] = i;
		hv_gnttab_copy(xgt, 1, &seg);
		if (seg.status != GNTST_okay)
			bench_die("grant copy");
	}
	double g = (bench_now() - t0) / n;
	t0 = bench_now();
	for (int i = 0; i < n; i++) {
		src[0] = i;
		memcpy(dst, src, sizeof(src));
		__asm__ volatile("" ::: "memory");
	}
	double m = (bench_now() - t0) / n;
	printf("grant copy 4 KiB: %.0f ns, memcpy 4 KiB: %.0f ns, ratio %.2f\n",
	    g * 1e9, m * 1e9, g / m);
	hv_gnttab_close(xgt);
	hv_evtchn_close(xce);
	hv_domain_destroy(hv, domid);
}

/* 3: create + build (+ unpause, so the program is exec'd) + destroy per second. */
static void
bench_lifecycle(void)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_build_config b = { .kernel = BENCH_GUEST, .cmdline = "sleep" };
	int n = 300;

	for (int pass = 0; pass < 2; pass++) {
		double t0 = bench_now();
		for (int i = 0; i < n; i++) {
			hv_domid_t domid;
			if (hv_domain_create(hv, &cfg, &domid) < 0 ||
			    hv_domain_build(hv, domid, &b, NULL) < 0 ||
			    (pass && hv_domain_unpause(hv, domid) < 0) ||
			    hv_domain_destroy(hv, domid) < 0)
				bench_die("lifecycle");
		}
		double s = bench_now() - t0;
		printf("domain create+build+%sdestroy: %.0f per second (%.2f ms each)\n",
		    pass ? "unpause+" : "", n / s, s / n * 1e3);
	}
}

int
main(void)
{
	bench_start_hvd();
	bench_evtchn();
	bench_grant_copy();
	bench_lifecycle();
	bench_stop_hvd();
	return 0;
}
