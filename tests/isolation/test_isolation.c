/*
 * Guest isolation, tried as an attacker would: escape_probe runs in a domain
 * of a private stack next to an ordinary pvguest (the victim) and tries every
 * escape; the test asserts each attempt was refused, that the host sees the
 * guest with its own uid, no capabilities, a seccomp filter and its limits,
 * and that hvd, xenstored and consoled kept serving the victim throughout.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jail.h"
#include "libhv.h"
#include "proc_stat.h"
#include "xltest.h"

#ifndef ISO_PROBE
#error ISO_PROBE names the built escape_probe
#endif

static struct xlt t;

static void setup(void) { xlt_start(&t); }
static void teardown(void) { xlt_stop(&t); }

TestSuite(isolation, .init = setup, .fini = teardown, .timeout = 120);

/* Pid of a daemon of the private stack, from its pid file. */
static pid_t
daemon_pid(const char *name)
{
	char path[128];
	int pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pid", t.xt_dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	return pid;
}

/* The hypervisor console so far (hvd's notes and the guests' lines). */
static char *
hv_console(void)
{
	struct hv *hv = hv_open(NULL);
	char *text;

	cr_assert_not_null(hv);
	text = hv_console_read(hv, 0);
	hv_close(hv);
	return text ? text : strdup("");
}

/* Waits until the console holds needle; returns the console text. */
static char *
wait_console(const char *needle, int ms)
{
	char *text = NULL;

	for (int waited = 0; waited <= ms; waited += 50) {
		free(text);
		text = hv_console();
		if (strstr(text, needle))
			return text;
		usleep(50000);
	}
	return text;
}

/* Creates the probe domain with cmdline; returns its domid. */
static int
create_probe(const char *name, const char *cmdline, const char *extra)
{
	char *cfg, *out, *body;

	cr_assert_geq(asprintf(&body, "cmdline = \"%s\"\n%s", cmdline, extra ? extra : ""), 0);
	cfg = xlt_cfg(&t, name, body);
	int rc = xlt_run(&out, "$XL create '%s' kernel=%s memory=16", cfg, ISO_PROBE);
	cr_assert_eq(rc, 0, "create %s: %s", name, out);
	free(out);
	free(cfg);
	free(body);
	return xlt_domid(name);
}

/* The victim's console still answers a command. */
static void
assert_victim_serves(int victim)
{
	char *out;

	xlt_run(&out, "{ sleep 0.3; printf 'uptime\\r'; sleep 0.6; } | timeout 5 %s %d",
	    ISO_PVCONSOLE, victim);
	cr_assert(strstr(out, "up 0:") != NULL, "victim's console did not answer:\n%s", out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL list victim"), 0, "%s", out);
	free(out);
	char path[64];
	snprintf(path, sizeof(path), "/local/domain/%d/name", victim);
	char *name = xlt_xs_read(path);
	cr_assert_str_eq(name ? name : "", "victim");
	free(name);
}

/* Counts "probe ...: refused" lines and fails on any ALLOWED one. */
static unsigned
check_probe_lines(const char *text)
{
	unsigned refused = 0;
	const char *p = text;

	while ((p = strstr(p, "probe "))) {
		const char *eol = strchr(p, '\n');
		int len = eol ? (int)(eol - p) : (int)strlen(p);
		cr_expect(strstr(p, ": ALLOWED") == NULL || (eol && strstr(p, ": ALLOWED") > eol),
		    "%.*s", len, p);
		if (strstr(p, ": refused") && (!eol || strstr(p, ": refused") < eol))
			refused++;
		p += len;
	}
	return refused;
}

/* The first line of a control file of pid's group for controller ctl: v1_file
 * in the v1 hierarchy holding ctl, or v2_file in the v2 group when ctl is there. */
static char *
cgroup_read(pid_t pid, const char *ctl, const char *v1_file, const char *v2_file)
{
	char *out;
	int rc = xlt_run(&out,
	    "p=$(awk -F: '$2 ~ /(^|,)%s(,|$)/ {print $3}' /proc/%d/cgroup); "
	    "m=$(awk '$3 == \"cgroup\" && $4 ~ /(^|,)%s(,|$)/ {print $2}' /proc/mounts); "
	    "if [ -n \"$p\" ] && [ -f \"$m$p/%s\" ]; then head -1 \"$m$p/%s\"; else "
	    "p=$(awk -F: '$1 == 0 {print $3}' /proc/%d/cgroup); "
	    "m=$(awk '$3 == \"cgroup2\" {print $2; exit}' /proc/mounts); head -1 \"$m$p/%s\"; fi",
	    ctl, (int)pid, ctl, v1_file, v1_file, (int)pid, v2_file);
	cr_assert_eq(rc, 0, "%s of %d: %s", ctl, (int)pid, out);
	return out;
}

/* What the host sees of a confined guest: its uid, no capabilities, seccomp, limits. */
static void
assert_confined_from_host(int domid, uint32_t uid_base)
{
	pid_t pid = xlt_guest_pid(domid);
	char *text = NULL, *out;
	unsigned uid = 0;

	cr_assert_gt(pid, 0);
	cr_assert_eq(xlt_run(&text, "cat /proc/%d/status", (int)pid), 0);
	cr_assert(sscanf(strstr(text, "Uid:"), "Uid:\t%u", &uid) == 1);
	cr_expect_eq(uid, jail_uid_guest(uid_base, (uint32_t)domid));
	cr_expect(strstr(text, "CapEff:\t0000000000000000"), "%s", text);
	cr_expect(strstr(text, "CapBnd:\t0000000000000000"), "%s", text);
	cr_expect(strstr(text, "NoNewPrivs:\t1"), "%s", text);
	cr_expect(strstr(text, "Seccomp:\t2"), "%s", text);
	cr_expect(strstr(text, "NSpid:\t") && strstr(text, "\t1\n"), "not init of its own pid "
	    "namespace:\n%s", text);
	free(text);
	/* a user namespace that maps its own uid and nothing else */
	cr_assert_eq(xlt_run(&text, "cat /proc/%d/uid_map", (int)pid), 0);
	unsigned in = 0, outside = 0, count = 0;
	cr_expect_eq(sscanf(text, "%u %u %u", &in, &outside, &count), 3, "%s", text);
	cr_expect(in == uid && outside == uid && count == 1, "uid_map:\n%s", text);
	cr_expect_eq(strchr(text, '\n'), text + strlen(text) - 1, "more than one range:\n%s", text);
	free(text);
	/* its root: /dev, and for a dynamic kernel (sanitizer builds) its libraries and /proc */
	struct hv_kernel_info ki;
	int kfd = open(ISO_PROBE, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(hv_kernel_check(kfd, &ki), HV_KERNEL_OK);
	close(kfd);
	int profile = ki.profile[0] ? jail_profile_from_name(ki.profile) : JAIL_PROFILE_GUEST;
	const struct jail_limits *lim = jail_profile_limits(profile);
	cr_assert_not_null(lim);
	cr_assert_eq(xlt_run(&out, "ls -A /proc/%d/root/", (int)pid), 0);
	if (ki.is_static)
		cr_expect_str_eq(out, lim->proc ? "dev\nproc\n" : "dev\n");
	else
		cr_expect(strncmp(out, "dev\n", 4) == 0 && strspn(out + 4, "") == 0 &&
		    xlt_run(NULL, "ls -A /proc/%d/root/ | grep -qvxE 'dev|lib|lib64|usr|proc'",
		    (int)pid) != 0, "more than its libraries in its root:\n%s", out);
	free(out);
	/* its memory, process and CPU limits, wherever the host keeps each controller */
	char *mem = cgroup_read(pid, "memory", "memory.limit_in_bytes", "memory.max");
	char *pids = cgroup_read(pid, "pids", "pids.max", "pids.max");
	char *cpu = cgroup_read(pid, "cpu", "cpu.cfs_quota_us", "cpu.max");
	/* 16 MiB of domain memory and its profile's overhead; one vcpu is one CPU's time */
	cr_expect_eq(strtoull(mem, NULL, 10), (16ull << 20) + lim->mem_overhead, "memory %s", mem);
	cr_expect_eq(strtoul(pids, NULL, 10), lim->pids, "pids %s", pids);
	cr_expect_eq(strtoul(cpu, NULL, 10), 100000ul, "cpu %s", cpu);
	free(mem);
	free(pids);
	free(cpu);
}

Test(isolation, every_escape_attempt_is_refused)
{
	char *cfg = xlt_cfg(&t, "victim", NULL), *out, cmd[512];

	cr_assert_eq(xlt_run(&out, "$XL create '%s'", cfg), 0, "%s", out);
	free(out);
	free(cfg);
	int victim = xlt_domid("victim");
	pid_t hvd = daemon_pid("hvd"), xsd = daemon_pid("xenstored"), cons = daemon_pid("consoled");

	snprintf(cmd, sizeof(cmd), "all hvd=%d xenstored=%d consoled=%d rundir=%s", (int)hvd,
	    (int)xsd, (int)cons, t.xt_dir);
	/* twice, one domain after the other: nothing the first leaves reaches the second */
	for (int round = 0; round < 2; round++) {
		char name[16], done[32];
		snprintf(name, sizeof(name), "probe%d", round);
		int id = create_probe(name, cmd, NULL);
		cr_assert_geq(id, 0);
		snprintf(done, sizeof(done), "probe done ");
		char *text = wait_console(done, 60000);
		cr_assert(strstr(text, done), "the probe did not finish:\n%s", text);
		unsigned total = (unsigned)atoi(strstr(text, done) + strlen(done));
		unsigned refused = check_probe_lines(text);
		cr_expect_geq(total, 40u, "only %u attempts", total);
		cr_expect_eq(refused, total, "%u of %u refused:\n%s", refused, total, text);
		free(text);
		assert_confined_from_host(id, JAIL_UID_BASE_DEFAULT);
		/* dom0 kept serving the other domain throughout */
		cr_assert(proc_running(hvd), "hvd died");
		cr_assert(proc_running(xsd), "xenstored died");
		cr_assert(proc_running(cons), "consoled died");
		assert_victim_serves(victim);
		cr_assert_eq(xlt_run(&out, "$XL destroy %s", name), 0, "%s", out);
		free(out);
		/* the console's "probe done" of this round must not satisfy the next */
		struct hv *hv = hv_open(NULL);
		if (round == 0) {
			char *old = hv_console_read(hv, 1);
			free(old);
		}
		hv_close(hv);
	}
}

Test(isolation, exceeding_memory_kills_only_that_domain)
{
	char *cfg = xlt_cfg(&t, "victim", NULL), *out;

	cr_assert_eq(xlt_run(&out, "$XL create '%s'", cfg), 0, "%s", out);
	free(out);
	free(cfg);
	int victim = xlt_domid("victim");
	int id = create_probe("hog", "alloc 512", "on_crash = \"preserve\"\n");
	cr_assert_geq(id, 0);
	/* killed by the kernel inside its own group: a crash, preserved for us to see */
	int crashed = 0;
	for (int i = 0; i < 200 && !crashed; i++) {
		cr_assert_eq(xlt_run(&out, "$XL list hog"), 0, "%s", out);
		crashed = strstr(out, "---sc-") != NULL;
		free(out);
		if (!crashed)
			usleep(50000);
	}
	cr_assert(crashed, "a guest touching 512 MiB in a 16 MiB domain was not stopped");
	char *text = hv_console();
	cr_expect(strstr(text, "probe alloc survived") == NULL, "%s", text);
	free(text);
	assert_victim_serves(victim);
}

Test(isolation, guest_uids_come_from_xl_conf)
{
	char path[128], *out;
	FILE *f;

	snprintf(path, sizeof(path), "%s/xl.conf", t.xt_dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "# the range Xen would call xen-qemuuser-range-base\nguest_uid_range_base = 300000\n");
	fclose(f);
	setenv("PVSTACK_CONFDIR", t.xt_dir, 1);
	int a = create_probe("pa", "hold", NULL), b = create_probe("pb", "hold", NULL);
	cr_assert(a > 0 && b > 0);
	assert_confined_from_host(a, 300000);
	assert_confined_from_host(b, 300000);
	/* a base that would reach system uids is refused, and xl says which file set it */
	f = fopen(path, "w");
	fprintf(f, "guest_uid_range_base = 1000\n");
	fclose(f);
	char *cfg = xlt_cfg(&t, "low", NULL);
	cr_expect_neq(xlt_run(&out, "$XL create '%s'", cfg), 0);
	cr_expect(strstr(out, "guest_uid_range_base") && strstr(out, "xl.conf"), "%s", out);
	free(out);
	free(cfg);
	unsetenv("PVSTACK_CONFDIR");
}

/* hvd started as an ordinary user cannot confine guests: it must refuse to build, and say why. */
TestSuite(isolation_host, .timeout = 60);

Test(isolation_host, a_host_that_cannot_confine_refuses_guests)
{
	char dir[] = "/tmp/isohost.XXXXXX", sock[96], logf[96], *log = NULL;
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_build_config b = { .kernel = ISO_PROBE, .cmdline = "hold" };
	struct hv *hv = NULL;
	hv_domid_t domid;
	size_t len = 0;
	pid_t pid;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chown(dir, 65534, 65534), 0);
	snprintf(sock, sizeof(sock), "%s/hvd.sock", dir);
	snprintf(logf, sizeof(logf), "%s/hvd.log", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		setenv("PVSTACK_RUNDIR", dir, 1);
		if (fd < 0 || dup2(fd, 2) < 0 || setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(126);
		execl(ISO_HVD, "hvd", "-f", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0);
	for (int i = 0; i < 200 && (hv = hv_open(sock)) == NULL; i++)
		usleep(20000);
	cr_assert_not_null(hv, "hvd as nobody did not come up");
	cr_assert_eq(hv_domain_create(hv, &cfg, &domid), 0);
	errno = 0;
	cr_expect_eq(hv_domain_build(hv, domid, &b, NULL), -1, "an unconfined guest was started");
	cr_expect_eq(errno, EOPNOTSUPP, "%s", strerror(errno));
	hv_close(hv);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	FILE *f = fopen(logf, "r");
	cr_assert_not_null(f);
	cr_assert_geq(getdelim(&log, &len, '\0', f), 0);
	fclose(f);
	cr_expect(strstr(log, "lacks root") != NULL, "hvd's log does not say why:\n%s", log);
	cr_expect(strstr(log, "--insecure") != NULL, "%s", log);
	free(log);
	char *cmd;
	cr_assert_geq(asprintf(&cmd, "rm -rf '%s'", dir), 0);
	cr_expect_eq(system(cmd), 0);
	free(cmd);
}
