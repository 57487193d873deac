#include <dirent.h>
#include <errno.h>
#include <ftw.h>
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

#include <criterion/criterion.h>

#include "hv_test_guest.h"
#include "hv_test_util.h"

/* Milliseconds on the monotonic clock. */
static long
hvt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hvt_start(struct hvt *t)
{
	long deadline;

	snprintf(t->rundir, sizeof(t->rundir), "/tmp/hvtest.XXXXXX");
	cr_assert_not_null(mkdtemp(t->rundir));
	snprintf(t->sock, sizeof(t->sock), "%s/hvd.sock", t->rundir);
	setenv("PVSTACK_RUNDIR", t->rundir, 1);
	t->hvd_pid = fork();
	cr_assert(t->hvd_pid >= 0);
	if (t->hvd_pid == 0) {
		/* a test that dies without its fini must not leave hvd (and guests) behind */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(HVT_HVD, "hvd", "-f", (char *)NULL);
		_exit(127);
	}
	deadline = hvt_now_ms() + 5000;
	while ((t->hv = hv_open(NULL)) == NULL && hvt_now_ms() < deadline)
		usleep(2000);
	cr_assert_not_null(t->hv, "cannot connect to hvd: %s", strerror(errno));
}

/* nftw callback: removes one file or (emptied) directory. */
static int
hvt_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* rm -rf of the rundir, whatever the daemons left in it. */
static void
hvt_rmdir(const char *dir)
{
	/* depth-first, so every directory is empty when its turn comes */
	nftw(dir, hvt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
hvt_stop(struct hvt *t)
{
	int status = 0;

	hv_close(t->hv);
	t->hv = NULL;
	if (t->hvd_pid > 0) {
		kill(t->hvd_pid, SIGTERM);
		waitpid(t->hvd_pid, &status, 0);
		t->hvd_pid = 0;
	}
	hvt_rmdir(t->rundir);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "hvd exit status %#x", status);
}

hv_domid_t
hvt_guest(struct hvt *t, const char *cmdline, hv_port_t *store, hv_port_t *console)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_build_config b = { .kernel = HVT_GUEST, .cmdline = cmdline };
	struct hv_build_result res;
	hv_domid_t domid;
	int sp, cp;

	cr_assert_eq(hv_domain_create(t->hv, &cfg, &domid), 0, "create: %s", strerror(errno));
	sp = hv_evtchn_alloc_unbound(t->hv, domid, 0);
	cp = hv_evtchn_alloc_unbound(t->hv, domid, 0);
	cr_assert(sp > 0 && cp > 0, "alloc_unbound: %s", strerror(errno));
	b.store_port = sp;
	b.console_port = cp;
	cr_assert_eq(hv_domain_build(t->hv, domid, &b, &res), 0, "build: %s", strerror(errno));
	cr_assert(res.pid > 0);
	cr_assert_eq(res.store_mfn, HV_PFN_XENSTORE);
	cr_assert_eq(res.console_mfn, HV_PFN_CONSOLE);
	if (store)
		*store = sp;
	if (console)
		*console = cp;
	return domid;
}

bool
hvt_wait_flags(struct hvt *t, hv_domid_t domid, uint32_t mask, uint32_t want, int ms,
    struct hv_dominfo *info)
{
	long deadline = hvt_now_ms() + ms;

	do {
		if (hv_domain_getinfo(t->hv, domid, info) == 0 && (info->flags & mask) == want)
			return true;
		usleep(2000);
	} while (hvt_now_ms() < deadline);
	return false;
}

int
hvt_wait_event(struct hv_evtchn *xce, int ms)
{
	struct pollfd pfd = { .fd = hv_evtchn_fd(xce), .events = POLLIN };
	long deadline = hvt_now_ms() + ms;

	for (;;) {
		int port = hv_evtchn_pending(xce);
		if (port >= 0)
			return port;
		long left = deadline - hvt_now_ms();
		if (left <= 0)
			return -1;
		poll(&pfd, 1, left);
	}
}

/* The grant tests' guest, booted the same way by each. */
void
hvt_grant_guest_start(struct hvt *t, struct hvt_grant_guest *g, bool with_gnttab)
{
	hv_port_t sp;

	memset(g, 0, sizeof(*g));
	g->domid = hvt_guest(t, "grant", &sp, NULL);
	g->xce = hv_evtchn_open(t->hv);
	g->port = hv_evtchn_bind_interdomain(g->xce, g->domid, sp);
	cr_assert(g->port > 0);
	g->pg = hv_foreign_map(t->hv, g->domid, PROT_READ | PROT_WRITE, TG_PFN_PAGE, 1);
	cr_assert_not_null(g->pg);
	if (with_gnttab) {
		g->gnt = hv_foreign_map(t->hv, g->domid, PROT_READ, HV_PFN_GNTTAB, HV_GNTTAB_FRAMES);
		cr_assert_not_null(g->gnt);
	}
	cr_assert_eq(hv_domain_unpause(t->hv, g->domid), 0);
	cr_assert_eq(hvt_wait_event(g->xce, 5000), g->port, "guest never published its grants");
	cr_assert_eq(__atomic_load_n(&g->pg->magic, __ATOMIC_ACQUIRE), TG_MAGIC);
}

/* The guest's own end of access, so tests see what the granter sees. */
int
hvt_grant_guest_end_access(struct hvt_grant_guest *g, hv_gref_t ref)
{
	uint32_t done = g->pg->done;

	g->pg->arg = ref;
	__atomic_store_n(&g->pg->cmd, TG_CMD_END_ACCESS, __ATOMIC_RELEASE);
	cr_assert_eq(hv_evtchn_notify(g->xce, g->port), 0);
	cr_assert_eq(hvt_wait_event(g->xce, 5000), g->port);
	cr_assert_eq(__atomic_load_n(&g->pg->done, __ATOMIC_ACQUIRE), done + 1);
	return g->pg->result;
}
