/* Domain lifecycle: build checks, pause/unpause, crash and shutdown reasons, getinfo. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/nsfs.h>
#include <criterion/criterion.h>

#include "hv_test_guest.h"
#include "hv_test_util.h"
#include "jail.h"
#include "proc_stat.h"

static struct hvt t;

static void setup(void) { hvt_start(&t); }
static void teardown(void) { hvt_stop(&t); }

TestSuite(hv_domain, .init = setup, .fini = teardown, .timeout = 60);

/* Builds kernel into a fresh domain; returns build's result and errno. */
static int
try_build(const char *kernel, int *err)
{
	struct hv_domain_config cfg = { .mem_kib = 1024, .vcpus = 1 };
	struct hv_build_config b = { .kernel = kernel, .cmdline = "" };
	hv_domid_t domid;
	int rc;

	cr_assert_eq(hv_domain_create(t.hv, &cfg, &domid), 0);
	rc = hv_domain_build(t.hv, domid, &b, NULL);
	*err = errno;
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
	return rc;
}

Test(hv_domain, non_guest_kernels_refused)
{
	char junk[] = "/tmp/hvjunk.XXXXXX";
	int fd = mkstemp(junk), err;
	char data[4096];

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 3);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	close(fd);
	cr_assert_eq(try_build("/bin/true", &err), -1);
	cr_assert_eq(err, ENOEXEC, "/bin/true: %s", strerror(err));
	cr_assert_eq(try_build(junk, &err), -1);
	cr_assert_eq(err, ENOEXEC, "random file: %s", strerror(err));
	cr_assert_eq(try_build("/nonexistent/kernel", &err), -1);
	cr_assert_eq(err, ENOENT);
	cr_assert_eq(try_build("relative/path", &err), -1);
	cr_assert_eq(err, EINVAL);
	unlink(junk);
}

Test(hv_domain, create_argument_checks_and_dom0)
{
	struct hv_domain_config small = { .mem_kib = 64, .vcpus = 1 };
	struct hv_dominfo info[4];
	struct hv_physinfo pi;
	hv_domid_t domid;

	cr_assert_eq(hv_domain_create(t.hv, &small, &domid), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(hv_domain_getinfo(t.hv, 0, &info[0]), 0);
	cr_assert_eq(info[0].domid, 0);
	cr_assert(info[0].mem_kib > 0);
	cr_assert_eq(hv_domain_destroy(t.hv, 0), -1);
	cr_assert_eq(hv_domain_pause(t.hv, 77), -1);
	cr_assert_eq(errno, ESRCH);
	cr_assert_eq(hv_domain_getinfo(t.hv, 77, &info[0]), -1);
	cr_assert_eq(errno, ENOENT);
	/* domids count up from 1 and are not reused at once */
	struct hv_domain_config cfg = { .mem_kib = 2048, .vcpus = 2, .uuid = { 1, 2, 3 } };
	hv_domid_t a, b;
	cr_assert_eq(hv_domain_create(t.hv, &cfg, &a), 0);
	cr_assert_eq(hv_domain_create(t.hv, &cfg, &b), 0);
	cr_assert_eq(a, 1);
	cr_assert_eq(b, 2);
	cr_assert_eq(hv_domain_getinfolist(t.hv, 0, info, 4), 3);
	cr_assert_eq(info[1].domid, 1);
	cr_assert_eq(info[1].vcpus, 2);
	cr_assert_eq(info[1].mem_kib, 2048);
	cr_assert_eq(info[1].uuid[2], 3);
	cr_assert_eq(info[1].flags, HV_DOMINF_PAUSED);
	cr_assert_eq(hv_physinfo(t.hv, &pi), 0);
	cr_assert_eq(pi.nr_domains, 3);
	cr_assert(pi.nr_cpus >= 1 && pi.total_kib > 0);
	cr_assert_eq(hv_domain_destroy(t.hv, a), 0);
	hv_domid_t c;
	cr_assert_eq(hv_domain_create(t.hv, &cfg, &c), 0);
	cr_assert_eq(c, 3);
	cr_assert_eq(hv_domain_getinfolist(t.hv, 2, info, 4), 2);
	cr_assert_eq(hv_domain_setmaxmem(t.hv, c, 4096), 0);
	cr_assert_eq(hv_domain_getinfo(t.hv, c, &info[0]), 0);
	cr_assert_eq(info[0].max_mem_kib, 4096);
}

/* Polls until domid has used at least ns of CPU (up to 5 s: the host may be busy). */
static bool
cpu_reaches(hv_domid_t domid, uint64_t ns, struct hv_dominfo *info)
{
	for (int i = 0; i < 500; i++) {
		if (hv_domain_getinfo(t.hv, domid, info) == 0 && info->cpu_ns >= ns)
			return true;
		usleep(10000);
	}
	return false;
}

Test(hv_domain, pause_stops_cpu_time)
{
	hv_domid_t domid = hvt_guest(&t, "spin", NULL, NULL);
	struct hv_dominfo info, i0, i1;

	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), 0);
	cr_assert(info.flags & HV_DOMINF_PAUSED);
	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	cr_assert(hvt_wait_flags(&t, domid, HV_DOMINF_RUNNING, HV_DOMINF_RUNNING, 5000, &info),
	    "flags %#x", info.flags);
	cr_assert(cpu_reaches(domid, 50000000ull, &i0), "spinning guest used only %llu ns",
	    (unsigned long long)i0.cpu_ns);
	cr_assert_eq(hv_domain_pause(t.hv, domid), 0);
	cr_assert(hvt_wait_flags(&t, domid, HV_DOMINF_PAUSED | HV_DOMINF_RUNNING, HV_DOMINF_PAUSED,
	    1000, &i0));
	/* the stop lands asynchronously: wait for two equal readings */
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &i0), 0);
	for (int i = 0; i < 40; i++) {
		usleep(25000);
		cr_assert_eq(hv_domain_getinfo(t.hv, domid, &i1), 0);
		if (i1.cpu_ns == i0.cpu_ns)
			break;
		i0 = i1;
	}
	usleep(400000);
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &i1), 0);
	cr_assert(i1.flags & HV_DOMINF_PAUSED);
	cr_assert(i1.cpu_ns - i0.cpu_ns <= 20000000ull, "paused guest ran %llu ns",
	    (unsigned long long)(i1.cpu_ns - i0.cpu_ns));
	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	cr_assert(cpu_reaches(domid, i1.cpu_ns + 50000000ull, &i0), "unpaused guest did not run");
	cr_assert(!(i0.flags & HV_DOMINF_PAUSED));
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
}

Test(hv_domain, sleeping_guest_is_blocked)
{
	hv_domid_t domid = hvt_guest(&t, "sleep", NULL, NULL);
	struct hv_dominfo info;

	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	cr_assert(hvt_wait_flags(&t, domid, HV_DOMINF_BLOCKED | HV_DOMINF_RUNNING | HV_DOMINF_PAUSED,
	    HV_DOMINF_BLOCKED, 5000, &info), "flags %#x", info.flags);
}

Test(hv_domain, sigkill_is_a_crash)
{
	hv_domid_t domid = hvt_guest(&t, "sleep", NULL, NULL);
	struct hv_dominfo info;

	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), 0);
	cr_assert(info.pid > 0);
	cr_assert_eq(kill(info.pid, SIGKILL), 0);
	cr_assert(hvt_wait_flags(&t, domid, HV_DOMINF_SHUTDOWN | HV_DOMINF_CRASHED,
	    HV_DOMINF_SHUTDOWN | HV_DOMINF_CRASHED, 5000, &info));
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_crash);
	cr_assert_eq(info.pid, 0);
	/* a crashed domain still holds its memory until destroyed */
	cr_assert_not_null(hv_foreign_map(t.hv, domid, PROT_READ, 0, 1));
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), -1);
}

Test(hv_domain, shutdown_reasons)
{
	static const struct { const char *cmd; unsigned reason; bool crashed; } cases[] = {
		{ "shutdown poweroff", SHUTDOWN_poweroff, false },
		{ "shutdown reboot", SHUTDOWN_reboot, false },
		{ "shutdown crash", SHUTDOWN_crash, true },
		{ "shutdown watchdog", SHUTDOWN_watchdog, false },
		{ "crash", SHUTDOWN_crash, true },	/* abort() without a hypercall */
		{ "exit", SHUTDOWN_crash, true },	/* exit(0) without a hypercall */
	};
	struct hv_dominfo info;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hv_domid_t domid = hvt_guest(&t, cases[i].cmd, NULL, NULL);
		uint32_t want = HV_DOMINF_SHUTDOWN | (cases[i].crashed ? HV_DOMINF_CRASHED : 0);
		cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
		cr_assert(hvt_wait_flags(&t, domid, HV_DOMINF_SHUTDOWN | HV_DOMINF_CRASHED, want,
		    5000, &info), "%s: flags %#x", cases[i].cmd, info.flags);
		cr_assert_eq(info.shutdown_reason, cases[i].reason, "%s: reason %u", cases[i].cmd,
		    info.shutdown_reason);
		/* the guest process is gone after a shutdown */
		cr_assert(hvt_wait_flags(&t, domid, 0, 0, 0, &info));
		for (int n = 0; n < 500 && info.pid; n++) {
			usleep(2000);
			hv_domain_getinfo(t.hv, domid, &info);
		}
		cr_assert_eq(info.pid, 0, "%s: process still there", cases[i].cmd);
		cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
	}
	/* dom0 forcing a shutdown */
	hv_domid_t domid = hvt_guest(&t, "sleep", NULL, NULL);
	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	cr_assert_eq(hv_domain_shutdown(t.hv, domid, SHUTDOWN_reboot), 0);
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), 0);
	cr_assert_eq(info.flags & (HV_DOMINF_SHUTDOWN | HV_DOMINF_CRASHED), HV_DOMINF_SHUTDOWN);
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_reboot);
}

Test(hv_domain, console_ring)
{
	hv_domid_t domid = hvt_guest(&t, "console hello from the guest\x01", NULL, NULL);
	char want[64], *text = NULL;

	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	snprintf(want, sizeof(want), "(d%u) hello from the guest?", domid);
	for (int i = 0; i < 500; i++) {
		free(text);
		text = hv_console_read(t.hv, 0);
		cr_assert_not_null(text);
		if (strstr(text, want))
			break;
		usleep(2000);
	}
	cr_assert_not_null(strstr(text, want), "console: %s", text);
	cr_assert_not_null(strstr(text, "created"));
	free(text);
	text = hv_console_read(t.hv, 1);
	free(text);
	text = hv_console_read(t.hv, 0);
	cr_assert_str_eq(text, "");
	free(text);
}

/* Whether hvd's console holds text (for the guest's own lines). */
static bool
console_has(const char *want)
{
	char *text = hv_console_read(t.hv, 0);
	bool found = text && strstr(text, want);

	free(text);
	return found;
}

Test(hv_domain, built_guest_waits_for_unpause)
{
	/* The program is started at build; none of its own code runs before the unpause. */
	hv_domid_t domid = hvt_guest(&t, "console early bird", NULL, NULL);
	struct hv_dominfo info;
	char want[64];

	snprintf(want, sizeof(want), "(d%u) early bird", domid);
	usleep(300000);
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), 0);
	cr_assert(info.flags & HV_DOMINF_PAUSED, "flags %#x", info.flags);
	cr_assert(!(info.flags & HV_DOMINF_SHUTDOWN), "flags %#x", info.flags);
	cr_assert(!console_has(want), "the guest ran before its unpause");
	/* a pause before the first unpause changes nothing */
	cr_assert_eq(hv_domain_pause(t.hv, domid), 0);
	usleep(100000);
	cr_assert(!console_has(want), "the guest ran before its unpause");
	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	for (int i = 0; i < 500 && !console_has(want); i++)
		usleep(2000);
	cr_assert(console_has(want), "the guest did not run after its unpause");
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
}

/* SIGTERM no longer ends the guests: hvd leaves them to its keeper for the next
 * hvd (test_hv_restart.c, sigterm_with_two_guests and the tests after it). */

Test(hv_domain, destroy_kills_escaped_processes)
{
	char *text = hv_console_read(t.hv, 0);
	int cgroups = text && strstr(text, "cgroups: domains under") != NULL;

	free(text);
	if (!cgroups)
		cr_skip_test("hvd runs without cgroup v2 here: process groups only");
	hv_domid_t domid = hvt_guest(&t, "escape", NULL, NULL);
	volatile struct tg_page *pg = hv_foreign_map(t.hv, domid, PROT_READ, TG_PFN_PAGE, 1);
	struct hv_dominfo info;

	cr_assert_not_null(pg);
	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	for (int i = 0; i < 2500 && __atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE) != TG_MAGIC; i++)
		usleep(2000);
	cr_assert_eq(pg->magic, TG_MAGIC);
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), 0);
	/* the guest is init of its own pid namespace: its pid for the child is not the host's */
	pid_t child = proc_host_pid(info.pid, (pid_t)pg->arg);
	cr_assert(child > 0 && proc_running(child));
	cr_assert_neq(getpgid(child), info.pid, "child did not leave the process group");
	/* pause freezes it too */
	cr_assert_eq(hv_domain_pause(t.hv, domid), 0);
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
	for (int i = 0; i < 500 && proc_running(child); i++)
		usleep(2000);
	cr_assert_not(proc_running(child), "escaped child %d outlived its domain", (int)child);
}

/* The inode naming pid's network namespace. */
static ino_t
netns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_ino;
}

/* The interfaces pid's network namespace holds, from its /proc/<pid>/net/dev. */
static int
netns_ifaces(pid_t pid, char *names, size_t cap)
{
	char path[64], line[256], name[64];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	names[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %63[^:]:", name) == 1 && strchr(line, '|') == NULL) {
			snprintf(names + strlen(names), cap - strlen(names), "%s ", name);
			n++;
		}
	fclose(f);
	return n;
}

/* More guests than hvd makes namespaces ahead for (hvd_netns.c), so both paths are seen. */
Test(hv_domain, every_guest_in_an_empty_network_namespace_of_its_own)
{
	enum { N = 4 };
	hv_domid_t d[N];
	ino_t ns[N], host = netns_of(getpid());
	char names[256];

	for (int i = 0; i < N; i++) {
		struct hv_dominfo info;
		d[i] = hvt_guest(&t, "sleep", NULL, NULL);
		cr_assert_eq(hv_domain_getinfo(t.hv, d[i], &info), 0);
		ns[i] = netns_of(info.pid);
		cr_assert_neq(ns[i], host, "guest %d in the host's network namespace", i);
		for (int j = 0; j < i; j++)
			cr_assert_neq(ns[i], ns[j], "guests %d and %d share a network namespace", j, i);
		cr_assert_eq(netns_ifaces(info.pid, names, sizeof(names)), 1, "interfaces: %s", names);
		cr_assert_str_eq(names, "lo ");
	}
	/* hvd itself went back to its own after each clone */
	cr_assert_eq(netns_of(t.hvd_pid), host);
	for (int i = 0; i < N; i++)
		cr_assert_eq(hv_domain_destroy(t.hv, d[i]), 0);
}

/*
 * A guest whose own set-up fails (here: hvd's empty directory, its root's
 * mount point, is gone) fails its build with the set-up's errno and the
 * reason on hvd's console; none of its processes is left, and the next build,
 * the directory back, runs.
 */
Test(hv_domain, a_guest_that_cannot_set_itself_up_fails_its_build)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_build_config b = { .kernel = HVT_GUEST, .cmdline = "sleep" };
	char empty[128];
	hv_domid_t d;

	snprintf(empty, sizeof(empty), "%s/empty", t.rundir);
	cr_assert_eq(rmdir(empty), 0, "%s: %s", empty, strerror(errno));
	cr_assert_eq(hv_domain_create(t.hv, &cfg, &d), 0);
	b.store_port = hv_evtchn_alloc_unbound(t.hv, d, 0);
	b.console_port = hv_evtchn_alloc_unbound(t.hv, d, 0);
	cr_assert_eq(hv_domain_build(t.hv, d, &b, NULL), -1, "a guest with no root was built");
	cr_assert_eq(errno, ENOENT, "%s", strerror(errno));
	char *text = hv_console_read(t.hv, 0);
	cr_assert_not_null(text);
	cr_assert(strstr(text, "guest set-up failed: No such file or directory"), "%s", text);
	free(text);
	struct hv_dominfo info;
	cr_assert_eq(hv_domain_getinfo(t.hv, d, &info), 0);
	cr_assert_leq(info.pid, 0, "the failed guest's process %d is left", (int)info.pid);
	cr_assert_eq(hv_domain_destroy(t.hv, d), 0);
	cr_assert_eq(mkdir(empty, 0555), 0);
	d = hvt_guest(&t, "sleep", NULL, NULL);
	cr_assert_eq(hv_domain_unpause(t.hv, d), 0, "%s", strerror(errno));
	cr_assert_eq(hv_domain_destroy(t.hv, d), 0);
}

/* Whether lo is up in pid's network namespace (asked from a child that enters it). */
static bool
netns_lo_up(pid_t pid)
{
	char path[64];
	int st;
	pid_t c;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		struct ifreq ifr = { .ifr_name = "lo" };
		int fd = open(path, O_RDONLY | O_CLOEXEC), s;
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0 ||
		    (s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
		    ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
			_exit(2);
		_exit((ifr.ifr_flags & IFF_UP) ? 1 : 0);
	}
	cr_assert_eq(waitpid(c, &st, 0), c);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 2, "could not look into %s", path);
	return WEXITSTATUS(st) == 1;
}

/* A descriptor on pid's network namespace, its inode in *ino: while held, that inode names no other. */
static int
netns_hold(pid_t pid, ino_t *ino)
{
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	*ino = st.st_ino;
	return fd;
}

/* The inode of the user namespace that owns the network namespace held by nsfd. */
static ino_t
netns_owner(int nsfd)
{
	struct stat st;
	int ufd = ioctl(nsfd, NS_GET_USERNS);

	cr_assert_geq(ufd, 0, "NS_GET_USERNS: %s", strerror(errno));
	cr_assert_eq(fstat(ufd, &st), 0);
	close(ufd);
	return st.st_ino;
}

/*
 * A destroyed guest's namespace serves the next build (hvd_netns.c): the
 * next guest finds it as a new one (lo alone, down), never while a process
 * of the dead guest is left, and never shared with a guest that runs. A
 * build that comes before hvd's helper has made a namespace gets one its
 * clone makes, owned by the guest's own user namespace: the guest could have
 * changed that one, so it must never serve another guest.
 */
Test(hv_domain, a_dead_guests_namespace_serves_the_next_as_new)
{
	struct hv_dominfo a, b, c;
	hv_domid_t da, db, dc;
	ino_t host_user, ns_a;
	int held, tries;

	held = netns_hold(getpid(), &ns_a);
	host_user = netns_owner(held);
	close(held);

	for (tries = 0;; tries++) {
		da = hvt_guest(&t, "sleep", NULL, NULL);
		cr_assert_eq(hv_domain_getinfo(t.hv, da, &a), 0);
		held = netns_hold(a.pid, &ns_a);
		bool made_ahead = netns_owner(held) == host_user;
		cr_assert_eq(hv_domain_destroy(t.hv, da), 0);
		cr_assert(kill(a.pid, 0) < 0 && errno == ESRCH, "the first guest's process is left");
		if (made_ahead)
			break;
		db = hvt_guest(&t, "sleep", NULL, NULL);
		cr_assert_eq(hv_domain_getinfo(t.hv, db, &b), 0);
		cr_assert_neq(netns_of(b.pid), ns_a, "a namespace its dead guest owned served the next");
		cr_assert_eq(hv_domain_destroy(t.hv, db), 0);
		close(held);
		cr_assert_lt(tries, 50, "hvd made no network namespace ahead in %d builds", tries);
		usleep(20000);	/* hvd's helper runs at idle priority */
	}
	db = hvt_guest(&t, "sleep", NULL, NULL);
	cr_assert_eq(hv_domain_getinfo(t.hv, db, &b), 0);
	cr_expect_eq(netns_of(b.pid), ns_a, "the dead guest's namespace was not taken again");
	char names[256];
	cr_assert_eq(netns_ifaces(b.pid, names, sizeof(names)), 1, "interfaces: %s", names);
	cr_assert_str_eq(names, "lo ");
	cr_assert_not(netns_lo_up(b.pid), "lo is up in a guest's namespace");
	/* one that runs meanwhile has another */
	dc = hvt_guest(&t, "sleep", NULL, NULL);
	cr_assert_eq(hv_domain_getinfo(t.hv, dc, &c), 0);
	cr_assert_neq(netns_of(c.pid), netns_of(b.pid));
	cr_assert_eq(hv_domain_destroy(t.hv, db), 0);
	cr_assert_eq(hv_domain_destroy(t.hv, dc), 0);
	close(held);
}

/* Whether the comma-separated list has item. */
static bool
list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* The mount point of the cgroup hierarchy holding ctl (v1), or of cgroup2 (ctl NULL). */
static bool
cgroup_mount(const char *ctl, char *dir, size_t cap)
{
	char dev[256], mnt[256], type[64], opts[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "re");

	while (f && !found && fscanf(f, "%255s %255s %63s %511s %*d %*d", dev, mnt, type, opts) == 4)
		found = ctl ? strcmp(type, "cgroup") == 0 && list_has(opts, ctl) :
		    strcmp(type, "cgroup2") == 0;
	if (f)
		fclose(f);
	if (found)
		snprintf(dir, cap, "%s", mnt);
	return found;
}

/* The first number in pid's limit file: v1_file in ctl's v1 group, else v2_file in its v2 group. */
static unsigned long long
limit_of(pid_t pid, const char *ctl, const char *v1_file, const char *v2_file)
{
	char path[64], line[512], mnt[256], file[1024], val[64] = "";
	const char *rel = NULL, *name = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	while (!rel && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		line[strcspn(line, "\n")] = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (list_has(c1 + 1, ctl) && cgroup_mount(ctl, mnt, sizeof(mnt)))
			rel = c2 + 1, name = v1_file;
	}
	if (rel == NULL) {
		rewind(f);
		while (!rel && fgets(line, sizeof(line), f))
			if (strncmp(line, "0::", 3) == 0 && cgroup_mount(NULL, mnt, sizeof(mnt))) {
				line[strcspn(line, "\n")] = '\0';
				rel = line + 3, name = v2_file;
			}
	}
	fclose(f);
	cr_assert_not_null(rel, "no %s group for %d", ctl, (int)pid);
	snprintf(file, sizeof(file), "%s%s/%s", mnt, rel, name);
	f = fopen(file, "re");
	cr_assert_not_null(f, "%s", file);
	cr_assert_not_null(fgets(val, sizeof(val), f), "%s", file);
	fclose(f);
	return strtoull(val, NULL, 10);
}

/* Limits are set while the guest sets itself up: they hold once the build answers, before any unpause. */
Test(hv_domain, limits_hold_when_the_build_answers)
{
	char *text = hv_console_read(t.hv, 0);
	int cgroups = text && strstr(text, "cgroups: domains under") != NULL;
#if defined(__SANITIZE_ADDRESS__)
	/* a sanitizer build's test kernels ask for the sanitizer profile (hv_elfnote.h) */
	const struct jail_limits *lim = jail_profile_limits(JAIL_PROFILE_SANITIZER);
#else
	const struct jail_limits *lim = jail_profile_limits(JAIL_PROFILE_GUEST);
#endif
	struct hv_dominfo info;

	free(text);
	if (!cgroups)
		cr_skip_test("hvd runs without cgroups here");
	hv_domid_t domid = hvt_guest(&t, "sleep", NULL, NULL);
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), 0);
	cr_assert(info.flags & HV_DOMINF_PAUSED);
	/* hvt_guest's 4 MiB and the guest profile's overhead; its pids */
	cr_expect_eq(limit_of(info.pid, "memory", "memory.limit_in_bytes", "memory.max"),
	    (4ull << 20) + lim->mem_overhead);
	cr_expect_eq(limit_of(info.pid, "pids", "pids.max", "pids.max"), lim->pids);
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
}
