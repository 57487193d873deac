/*
 * hvd restarted under running guests (docs/hv.md, "Restarting hvd"): kill -9
 * or SIGTERM of hvd with two guests running, then a new `hvd -f` in the same
 * run directory. The guests live on; the new hvd lists them with the same
 * domids, memory and uuids; the connections opened before the restart are
 * served again (the keeper held them); a new event channel and a new grant
 * mapping with an old guest work; a grant pinned before the restart stays
 * pinned until its unmap; one guest is destroyed and a new one is created.
 * kill9_with_many_guests prints the time from the kill to the new hvd's first
 * answer with HVT_RESTART_N guests running. kill9_with_requests_in_flight
 * kills hvd under a client's stream of requests (it fails two runs in three
 * when hvd takes a request off its socket before answering it).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
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
#include "hv_test_util.h"
#include "proc_stat.h"

static struct hvt t;

/* Orphans (the keeper, guests whose hvd died) come to us, so we reap them and leave none. */
static void
setup(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	hvt_start(&t);
}

static void
reap_all(void)
{
	for (int i = 0; i < 300; i++) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p < 0)
			return;
		if (p == 0)
			usleep(10000);
	}
}

static void
teardown(void)
{
	hvt_stop(&t);
	reap_all();
}

TestSuite(hv_restart, .init = setup, .fini = teardown, .timeout = 60);

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

/* A new hvd in the same run directory, as a supervisor would start it. */
static pid_t
start_hvd(void)
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(HVT_HVD, "hvd", "-f", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The keeper's pid, from the pid file it leaves for scripts. */
static pid_t
keeper_pid(void)
{
	char path[160];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/hvd-keeper.pid", t.rundir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* Ping-pong rounds over a bound port (the guest echoes every event). */
static void
pingpong(struct hv_evtchn *xce, int port, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		cr_assert_eq(hv_evtchn_notify(xce, port), 0);
		cr_assert_eq(hvt_wait_event(xce, 5000), port, "no pong in round %d", i);
	}
}

/* The "grant" guest ends access to ref on our command; 0 or -errno. */
static int
end_access(volatile struct tg_page *pg, struct hv_evtchn *xce, int port, hv_gref_t ref)
{
	uint32_t done = pg->done;

	pg->arg = ref;
	__atomic_store_n(&pg->cmd, TG_CMD_END_ACCESS, __ATOMIC_RELEASE);
	cr_assert_eq(hv_evtchn_notify(xce, port), 0);
	cr_assert_eq(hvt_wait_event(xce, 5000), port);
	cr_assert_eq(__atomic_load_n(&pg->done, __ATOMIC_ACQUIRE), done + 1);
	return pg->result;
}

/* Kills hvd with sig with a ping-pong guest and a grant guest running, starts it again, checks everything. */
static void
restart_with_guests(int sig)
{
	struct hv_dominfo before[3], after[3], info;
	hv_port_t sp1, sp2, sp3;
	hv_domid_t d1 = hvt_guest(&t, "pingpong", &sp1, NULL);
	hv_domid_t d2 = hvt_guest(&t, "grant", &sp2, NULL), d3;
	struct hv_evtchn *xce1 = hv_evtchn_open(t.hv), *xce2 = hv_evtchn_open(t.hv), *xce3;
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv), *xgt2;
	volatile struct tg_page *pg;
	int p1, p2, p3, status, n;
	uint8_t *rw_old, *rw_new;
	struct hv *hv2;
	char *text;

	cr_assert(xce1 && xce2 && xgt);
	p1 = hv_evtchn_bind_interdomain(xce1, d1, sp1);
	p2 = hv_evtchn_bind_interdomain(xce2, d2, sp2);
	cr_assert(p1 > 0 && p2 > 0);
	pg = hv_foreign_map(t.hv, d2, PROT_READ | PROT_WRITE, TG_PFN_PAGE, 1);
	cr_assert_not_null(pg);
	cr_assert_eq(hv_domain_unpause(t.hv, d1), 0);
	cr_assert_eq(hv_domain_unpause(t.hv, d2), 0);
	pingpong(xce1, p1, 10);
	cr_assert_eq(hvt_wait_event(xce2, 5000), p2, "the grant guest never published its grants");
	cr_assert_eq(__atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE), TG_MAGIC);
	/* a writable mapping made before the restart, kept across it */
	rw_old = hv_gnttab_map_grant_ref(xgt, d2, pg->ref_rw, PROT_READ | PROT_WRITE);
	cr_assert_not_null(rw_old, "map: %s", strerror(errno));
	cr_assert_eq(hv_domain_getinfolist(t.hv, 0, before, 3), 3);
	pid_t g1 = before[1].pid, g2 = before[2].pid;

	/* the kill */
	cr_assert_eq(kill(t.hvd_pid, sig), 0);
	cr_assert_eq(waitpid(t.hvd_pid, &status, 0), t.hvd_pid);
	if (sig == SIGTERM)
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	cr_assert(proc_running(g1) && proc_running(g2), "a guest died with hvd");
	cr_assert_eq(access(t.sock, F_OK), 0, "the socket went with hvd");
	cr_assert_gt(keeper_pid(), 0);
	cr_assert(proc_running(keeper_pid()), "no keeper holds the domains");
	/* notifies never pass through hvd: the guest answers with no hvd at all */
	pingpong(xce1, p1, 3);

	/* a client that asks while no hvd runs waits and is answered by the next one */
	pid_t asker = fork();
	cr_assert(asker >= 0);
	if (asker == 0) {
		struct hv *h = hv_open(NULL);
		struct hv_dominfo i;
		_exit(h && hv_domain_getinfo(h, d1, &i) == 0 && i.pid == g1 ? 0 : 1);
	}
	usleep(50000);
	cr_assert_eq(waitpid(asker, &status, WNOHANG), 0, "answered with no hvd running");

	t.hvd_pid = start_hvd();
	/* the old connection is served again: the keeper held it */
	for (n = 0; (n = hv_domain_getinfolist(t.hv, 0, after, 3)) < 0 && errno == EINTR;)
		;
	cr_assert_eq(n, 3, "getinfolist on the old connection: %s", strerror(errno));
	for (int i = 1; i < 3; i++) {
		cr_expect_eq(after[i].domid, before[i].domid);
		cr_expect_eq(after[i].pid, before[i].pid);
		cr_expect_eq(after[i].mem_kib, before[i].mem_kib);
		cr_expect_eq(after[i].vcpus, before[i].vcpus);
		cr_expect_eq(memcmp(after[i].uuid, before[i].uuid, sizeof(after[i].uuid)), 0);
		cr_expect_eq(after[i].flags & (HV_DOMINF_SHUTDOWN | HV_DOMINF_PAUSED), 0,
		    "d%u flags %#x", after[i].domid, after[i].flags);
	}
	cr_assert_eq(waitpid(asker, &status, 0), asker);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the waiting client: %#x", status);
	text = hv_console_read(t.hv, 0);
	cr_assert(text && strstr(text, "restarted: 2 domain(s)"), "%s", text ? text : "");
	free(text);

	/* a new event channel with an old guest, made by the new hvd */
	cr_assert_eq(hv_evtchn_unbind(xce1, p1), 0);
	xce3 = hv_evtchn_open(t.hv);
	cr_assert_not_null(xce3);
	p3 = hv_evtchn_bind_interdomain(xce3, d1, sp1);
	cr_assert(p3 > 0, "bind after the restart: %s", strerror(errno));
	pingpong(xce3, p3, 10);

	/* grants: the pin from before holds, a new process maps through the new hvd */
	cr_assert_eq(end_access(pg, xce2, p2, pg->ref_rw), -EBUSY,
	    "a grant mapped before the restart was freed by it");
	hv2 = hv_open(NULL);
	cr_assert_not_null(hv2);
	xgt2 = hv_gnttab_open(hv2);
	rw_new = hv_gnttab_map_grant_ref(xgt2, d2, pg->ref_rw, PROT_READ | PROT_WRITE);
	cr_assert_not_null(rw_new, "map after the restart: %s", strerror(errno));
	rw_new[0] = 0x42;
	cr_assert_eq(rw_old[0], 0x42, "two mappings of one grant disagree");
	cr_assert_eq(hv_gnttab_unmap(xgt, d2, pg->ref_rw), 0);
	cr_assert_eq(end_access(pg, xce2, p2, pg->ref_rw), -EBUSY, "still mapped by the new process");
	cr_assert_eq(hv_gnttab_unmap(xgt2, d2, pg->ref_rw), 0);
	cr_assert_eq(end_access(pg, xce2, p2, pg->ref_rw), 0, "end-access after the last unmap");
	hv_gnttab_close(xgt2);
	hv_close(hv2);

	/* destroy one, create one */
	cr_assert_eq(hv_domain_destroy(t.hv, d1), 0);
	for (int i = 0; i < 200 && proc_running(g1); i++)
		usleep(10000);
	cr_assert_not(proc_running(g1), "the destroyed guest lives on");
	cr_assert_eq(hv_domain_getinfo(t.hv, d1, &info), -1);
	d3 = hvt_guest(&t, "pingpong", &sp3, NULL);
	cr_assert_gt(d3, d2, "a domid reused: %u", d3);
	p3 = hv_evtchn_bind_interdomain(xce3, d3, sp3);
	cr_assert(p3 > 0);
	cr_assert_eq(hv_domain_unpause(t.hv, d3), 0);
	pingpong(xce3, p3, 10);
	cr_assert_eq(hv_domain_destroy(t.hv, d3), 0);
	cr_assert_eq(hv_domain_destroy(t.hv, d2), 0);
	hv_evtchn_close(xce1);
	hv_evtchn_close(xce2);
	hv_evtchn_close(xce3);
	hv_gnttab_close(xgt);
}

Test(hv_restart, kill9_with_two_guests)
{
	restart_with_guests(SIGKILL);
}

Test(hv_restart, sigterm_with_two_guests)
{
	restart_with_guests(SIGTERM);
}

Test(hv_restart, twice_in_a_row)
{
	hv_port_t sp;
	hv_domid_t d = hvt_guest(&t, "pingpong", &sp, NULL);
	struct hv_evtchn *xce = hv_evtchn_open(t.hv);
	int p = hv_evtchn_bind_interdomain(xce, d, sp), status;

	cr_assert(p > 0);
	cr_assert_eq(hv_domain_unpause(t.hv, d), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(kill(t.hvd_pid, i % 2 ? SIGTERM : SIGKILL), 0);
		cr_assert_eq(waitpid(t.hvd_pid, &status, 0), t.hvd_pid);
		t.hvd_pid = start_hvd();
		pingpong(xce, p, 3);
		struct hv_dominfo info;
		cr_assert_eq(hv_domain_getinfo(t.hv, d, &info), 0, "round %d: %s", i, strerror(errno));
	}
	/* a third hvd beside the attached one is refused, and changes nothing */
	pid_t second = start_hvd();
	cr_assert_eq(waitpid(second, &status, 0), second);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "a second hvd started: %#x", status);
	struct hv_dominfo info;
	cr_assert_eq(hv_domain_getinfo(t.hv, d, &info), 0);
	hv_evtchn_close(xce);
	cr_assert_eq(hv_domain_destroy(t.hv, d), 0);
}

Test(hv_restart, guest_dies_while_no_hvd_runs)
{
	hv_port_t sp;
	hv_domid_t d = hvt_guest(&t, "sleep", &sp, NULL);
	struct hv_dominfo info;
	int status;

	cr_assert_eq(hv_domain_unpause(t.hv, d), 0);
	cr_assert_eq(hv_domain_getinfo(t.hv, d, &info), 0);
	cr_assert_eq(kill(t.hvd_pid, SIGKILL), 0);
	cr_assert_eq(waitpid(t.hvd_pid, &status, 0), t.hvd_pid);
	cr_assert_eq(kill(info.pid, SIGKILL), 0);
	for (int i = 0; i < 200 && proc_running(info.pid); i++)
		usleep(10000);
	t.hvd_pid = start_hvd();
	cr_assert(hvt_wait_flags(&t, d, HV_DOMINF_CRASHED, HV_DOMINF_CRASHED, 5000, &info),
	    "a guest that died while no hvd ran is not shown crashed");
	cr_assert_eq(hv_domain_destroy(t.hv, d), 0);
}

Test(hv_restart, sigterm_without_domains_leaves_nothing)
{
	pid_t k = keeper_pid();
	int status;

	cr_assert_gt(k, 0);
	cr_assert(proc_running(k));
	hv_close(t.hv);
	t.hv = NULL;
	cr_assert_eq(kill(t.hvd_pid, SIGTERM), 0);
	cr_assert_eq(waitpid(t.hvd_pid, &status, 0), t.hvd_pid);
	t.hvd_pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the keeper was hvd's child and hvd reaped it */
	cr_assert_not(proc_running(k), "the keeper outlived an hvd that had no domain");
	cr_assert_eq(access(t.sock, F_OK), -1, "socket left behind");
	char path[160];
	snprintf(path, sizeof(path), "%s/hvd-keeper.sock", t.rundir);
	cr_assert_eq(access(path, F_OK), -1, "keeper socket left behind");
}

Test(hv_restart, removing_the_run_dir_ends_kept_domains)
{
	hv_domid_t d = hvt_guest(&t, "spin", NULL, NULL);
	struct hv_dominfo info;
	pid_t k = keeper_pid();
	int status;

	cr_assert_eq(hv_domain_unpause(t.hv, d), 0);
	cr_assert_eq(hv_domain_getinfo(t.hv, d, &info), 0);
	hv_close(t.hv);
	t.hv = NULL;
	cr_assert_eq(kill(t.hvd_pid, SIGTERM), 0);
	cr_assert_eq(waitpid(t.hvd_pid, &status, 0), t.hvd_pid);
	t.hvd_pid = 0;
	cr_assert(proc_running(info.pid) && proc_running(k));
	/* what every test harness does last: rm -rf of the run directory */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t.rundir);
	cr_assert_eq(system(cmd), 0);
	for (int i = 0; i < 500 && (proc_running(info.pid) || proc_running(k)); i++)
		usleep(10000);
	cr_assert_not(proc_running(info.pid), "the guest outlived its run directory");
	cr_assert_not(proc_running(k), "the keeper outlived its run directory");
}

/* The figure for many domains: kill -9 with HVT_RESTART_N (default 50) guests, to the first answer. */
Test(hv_restart, kill9_with_many_guests, .timeout = 120)
{
	const char *env = getenv("HVT_RESTART_N");
	int n = env ? atoi(env) : 50, got, status;
	struct hv_dominfo *info = calloc(n + 1, sizeof(*info));
	hv_domid_t *d = calloc(n, sizeof(*d));

	cr_assert(n > 0 && n < 1000 && info && d);
	for (int i = 0; i < n; i++) {
		d[i] = hvt_guest(&t, "sleep", NULL, NULL);
		cr_assert_eq(hv_domain_unpause(t.hv, d[i]), 0);
	}
	long long t0 = now_us();
	cr_assert_eq(kill(t.hvd_pid, SIGKILL), 0);
	cr_assert_eq(waitpid(t.hvd_pid, &status, 0), t.hvd_pid);
	long long t1 = now_us();
	t.hvd_pid = start_hvd();
	got = hv_domain_getinfolist(t.hv, 0, info, n + 1);
	long long t2 = now_us();
	cr_assert_eq(got, n + 1, "%d domains listed of %d", got, n + 1);
	for (int i = 1; i <= n; i++)
		cr_expect(proc_running(info[i].pid), "d%u's guest died", info[i].domid);
	char *text = hv_console_read(t.hv, 0), *line = text ? strstr(text, "restarted:") : NULL;
	fprintf(stderr, "figure: kill -9 of hvd with %d guests: dead after %.1f ms, serving again "
	    "%.1f ms after the kill (%.*s)\n", n, (t1 - t0) / 1000.0, (t2 - t0) / 1000.0,
	    line ? (int)strcspn(line, "\n") : 0, line ? line : "");
	free(text);
	for (int i = 0; i < n; i++)
		cr_assert_eq(hv_domain_destroy(t.hv, d[i]), 0);
	free(info);
	free(d);
}

/* Waits up to 10 s for the client's count of answered rounds to pass want. */
static void
wait_rounds(volatile unsigned long *done, unsigned long want, const char *when)
{
	for (int i = 0; i < 10000 && __atomic_load_n(done, __ATOMIC_ACQUIRE) < want; i++)
		usleep(1000);
	cr_assert_geq(__atomic_load_n(done, __ATOMIC_ACQUIRE), want,
	    "the client stopped at round %lu %s", *done, when);
}

/*
 * kill -9 of hvd ten times while a client keeps it busy with requests, each
 * kill at a random instant: a request read but not answered, answered but
 * not yet taken off its socket, or not yet read, is answered by the next hvd.
 * The client sets a new maximum and reads it back in every round: every call
 * returns, no answer is lost or taken for another's, and the last maximum set
 * is the one that holds.
 */
Test(hv_restart, kill9_with_requests_in_flight, .timeout = 120)
{
	hv_domid_t d = hvt_guest(&t, "sleep", NULL, NULL);
	volatile unsigned long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	volatile unsigned long *done = shared, *stop = shared + 1;
	struct hv_dominfo info;
	uint64_t base;
	int status;

	cr_assert(shared != MAP_FAILED);
	cr_assert_eq(hv_domain_getinfo(t.hv, d, &info), 0);
	base = (info.max_mem_kib > info.mem_kib ? info.max_mem_kib : info.mem_kib) + 4096;
	pid_t client = fork();
	cr_assert(client >= 0);
	if (client == 0) {
		struct hv *hv = hv_open(NULL);
		if (hv == NULL)
			_exit(10);
		for (unsigned long i = 1; !__atomic_load_n(stop, __ATOMIC_ACQUIRE); i++) {
			struct hv_dominfo got;
			if (hv_domain_setmaxmem(hv, d, base + i) < 0)
				_exit(11);
			if (hv_domain_getinfo(hv, d, &got) < 0 || got.max_mem_kib != base + i)
				_exit(12);
			__atomic_store_n(done, i, __ATOMIC_RELEASE);
		}
		hv_close(hv);
		_exit(0);
	}
	srand((unsigned)getpid());
	for (int k = 0; k < 10; k++) {
		wait_rounds(done, *done + 20, "before a kill");
		usleep(rand() % 3000);
		cr_assert_eq(kill(t.hvd_pid, SIGKILL), 0);
		cr_assert_eq(waitpid(t.hvd_pid, &status, 0), t.hvd_pid);
		t.hvd_pid = start_hvd();
	}
	wait_rounds(done, *done + 20, "after the last restart");
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(waitpid(client, &status, 0), client);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the client failed (status %#x: 11 a set, 12 a read back)", status);
	cr_assert_eq(hv_domain_getinfo(t.hv, d, &info), 0);
	cr_assert_eq(info.max_mem_kib, base + *done, "maximum %llu after %lu rounds from %llu",
	    (unsigned long long)info.max_mem_kib, *done, (unsigned long long)base);
	fprintf(stderr, "figure: %lu rounds answered across 10 kills of hvd\n", *done);
	munmap((void *)shared, 4096);
	cr_assert_eq(hv_domain_destroy(t.hv, d), 0);
}
