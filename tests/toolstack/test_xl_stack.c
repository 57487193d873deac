/*
 * xl against a private stack (hvd, xenstored, consoled started by xencommons
 * in a mkdtemp RUNDIR) booting pvguest: create, list formats, console I/O,
 * shutdown/reboot/crash with each on_* action, the restart-too-fast refusal,
 * pause/unpause, destroy, failed creates leaving nothing behind, 50 domains.
 */
#include <errno.h>
#include <criterion/criterion.h>
#include <poll.h>
#include <pty.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xltest.h"
#include "xs.h"

static struct xlt T;

static void
setup(void)
{
	/* xl's own behaviour, with the backends played by the tests where they need one
	 * (tests/blkback and tests/netback drive the real ones) */
	xlt_start_skip(&T, "blkback netback");
}

static void
teardown(void)
{
	xlt_stop(&T);
}

TestSuite(xl, .init = setup, .fini = teardown, .timeout = 60);

/* Whether a line of text matches an extended regex. */
static int
matches(const char *text, const char *re)
{
	regex_t r;
	int ok;

	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0, "%s", re);
	ok = regexec(&r, text, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

/* Creates a domain from a fresh config; returns its domid. */
static int
create(const char *name, const char *extra)
{
	int id;

	xlt_create(&T, name, extra);
	id = xlt_domid(name);
	cr_assert_gt(id, 0);
	return id;
}

static int
gone(const char *id)
{
	return xlt_guest_pid(atoi(id)) < 0 && xlt_run(NULL, "$XL list %s", id) != 0;
}

/*
 * The domid of the domain a monitor restarted in place of old: the name is
 * resolved until it names another live domain (between the old one's end
 * and the new one's layout it names none, which is not a restart); -1 after
 * 5 s.
 */
static int
restarted(const char *name, int old)
{
	for (int i = 0; i < 250; i++) {
		int id = xlt_domid(name);

		if (id > 0 && id != old)
			return id;
		usleep(20000);
	}
	return -1;
}

/* Waits for the domid to disappear from hvd. */
static void
wait_gone(int domid)
{
	char id[16];

	snprintf(id, sizeof(id), "%d", domid);
	cr_assert(xlt_wait(5000, gone, id), "domain %d still exists", domid);
}

/* The xenstore paths create wrote are all gone for domid. */
static void
assert_no_traces(int domid, const char *uuid)
{
	char p[128];

	snprintf(p, sizeof(p), "/local/domain/%d/name", domid);
	cr_expect_null(xlt_xs_read(p), "%s left behind", p);
	snprintf(p, sizeof(p), "/libxl/%d/type", domid);
	cr_expect_null(xlt_xs_read(p), "%s left behind", p);
	snprintf(p, sizeof(p), "/local/domain/0/backend/console/%d/0/state", domid);
	cr_expect_null(xlt_xs_read(p), "%s left behind", p);
	if (uuid) {
		snprintf(p, sizeof(p), "/vm/%s/name", uuid);
		cr_expect_null(xlt_xs_read(p), "%s left behind", p);
	}
}

Test(xl, create_list_destroy)
{
	int id = create("t1", "vcpus = 1");
	char *out, p[64], re[160], *uuid;

	cr_assert_eq(xlt_run(&out, "$XL list"), 0);
	cr_expect(matches(out, "^Name {40}ID   Mem VCPUs\tState\tTime\\(s\\)$"), "%s", out);
	cr_expect(matches(out, "^Domain-0 {37}0 +[0-9]+ +[0-9]+     r-----  +[0-9]+\\.[0-9]$"),
	    "%s", out);
	/* running (r) when listed while it still boots, as on a loaded host; never paused */
	snprintf(re, sizeof(re), "^t1 {39} {%d}%d     8     1     [-r][-b]----  +[0-9]+\\.[0-9]$",
	    4 - (id > 9), id);
	cr_expect(matches(out, re), "no row for t1 like %s in\n%s", re, out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL list -l"), 0);
	cr_expect(matches(out, "^    \\{$"), "%s", out);
	snprintf(re, sizeof(re), "^        \"domid\": %d,$", id);
	cr_expect(matches(out, re), "%s", out);
	cr_expect(matches(out, "^                \"name\": \"t1\",$"), "%s", out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL uptime t1"), 0);
	cr_expect(matches(out, "^Name {29} {3}ID Uptime$"), "%s", out);
	cr_expect(matches(out, "^t1 {31} +[0-9]+  0:00:[0-9][0-9]$"), "%s", out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL domname %d", id), 0);
	cr_expect_str_eq(out, "t1\n");
	free(out);
	snprintf(p, sizeof(p), "/local/domain/%d/vm", id);
	char *vm = xlt_xs_read(p);
	cr_assert_not_null(vm);
	uuid = strdup(vm + 4);
	cr_assert_eq(xlt_run(&out, "$XL destroy t1"), 0, "%s", out);
	free(out);
	wait_gone(id);
	assert_no_traces(id, uuid);
	cr_expect_eq(xlt_nr_domains(), 1);
	free(vm);
	free(uuid);
}

/* The Cpus_allowed_list of a process, or "" when it is gone. */
static const char *
allowed_cpus(pid_t pid)
{
	static char list[64];
	char path[64], line[256];
	FILE *f;

	list[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return list;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Cpus_allowed_list: %63s", list) == 1)
			break;
	fclose(f);
	return list;
}

Test(xl, cpus_pins_the_guest_and_vcpu_pin_moves_it)
{
	int last = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	char extra[64], want[16], *out, re[160];

	snprintf(extra, sizeof(extra), "vcpus = 2\ncpus = \"%d\"", last);
	int id = create("pin", extra);
	pid_t pid = xlt_guest_pid(id);
	cr_assert_gt(pid, 0);
	snprintf(want, sizeof(want), "%d", last);
	cr_expect_str_eq(allowed_cpus(pid), want, "the guest runs on CPU %d only", last);
	cr_assert_eq(xlt_run(&out, "$XL vcpu-list pin"), 0, "%s", out);
	cr_expect(matches(out, "^Name {28} +ID +VCPU +CPU State +Time\\(s\\) Affinity \\(Hard / Soft\\)$"),
	    "%s", out);
	for (int v = 0; v < 2; v++) {
		snprintf(re, sizeof(re), "^pin {29} +%d +%d +[0-9-]+ [-r][-b]-  +[0-9]+\\.[0-9]  %d / all$",
		    id, v, last);
		cr_expect(matches(out, re), "no row like %s in\n%s", re, out);
	}
	free(out);
	/* to CPU 0, then anywhere again: the running guest moves each time */
	cr_assert_eq(xlt_run(&out, "$XL vcpu-pin pin all 0"), 0, "%s", out);
	free(out);
	cr_expect_str_eq(allowed_cpus(pid), "0");
	cr_assert_eq(xlt_run(&out, "$XL vcpu-pin pin 1 all"), 0, "%s", out);
	free(out);
	snprintf(want, sizeof(want), last ? "0-%d" : "0", last);
	cr_expect_str_eq(allowed_cpus(pid), want);
	/* what cannot be done is refused by name */
	cr_expect_neq(xlt_run(&out, "$XL vcpu-pin pin 2 0"), 0);
	cr_expect(strstr(out, "\"2\" is not a vCPU of domain") != NULL, "%s", out);
	free(out);
	cr_expect_neq(xlt_run(&out, "$XL vcpu-pin pin all 1023"), 0);
	cr_expect(strstr(out, "cannot pin domain") != NULL, "%s", out);
	free(out);
	cr_expect_neq(xlt_run(&out, "$XL vcpu-pin pin all nodes:0"), 0);
	cr_expect(strstr(out, "NUMA node lists") != NULL, "%s", out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL destroy pin"), 0, "%s", out);
	free(out);
	wait_gone(id);
}

/* Reads the pty until needle shows up or ms pass; returns what was read. */
static char *
pty_expect(int fd, const char *needle, int ms)
{
	static char buf[65536];
	size_t len = 0;

	buf[0] = '\0';
	for (int waited = 0; waited < ms && !strstr(buf, needle); waited += 20) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 20) > 0) {
			ssize_t n = read(fd, buf + len, sizeof(buf) - len - 1);
			if (n <= 0)
				break;
			len += n;
			buf[len] = '\0';
		}
	}
	return buf;
}

Test(xl, create_c_console_io_and_detach)
{
	char *cfg = xlt_cfg(&T, "con", NULL), *got;
	int fd, status;
	pid_t pid = forkpty(&fd, NULL, NULL, NULL);

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execl(XLT_XL, "xl", "create", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	/* The boot banner is printed before the prompt: -c must not lose it. */
	got = pty_expect(fd, "pvguest# ", 5000);
	cr_assert(strstr(got, "booting") != NULL, "early output lost:\n%s", got);
	cr_assert(strstr(got, "pvguest# ") != NULL, "no prompt:\n%s", got);
	cr_assert_eq(write(fd, "echo hello-from-dom0\r", 21), 21);
	got = pty_expect(fd, "hello-from-dom0\r\npvguest# ", 5000);
	cr_expect(strstr(got, "hello-from-dom0\r\npvguest# ") != NULL, "no answer:\n%s", got);
	cr_assert_eq(write(fd, "\x1d", 1), 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	int id = xlt_domid("con");
	cr_expect_gt(id, 0, "the domain must outlive the detach");
	/* the console's lock goes with its client: nothing is left in the rundir */
	char lock[128];
	snprintf(lock, sizeof(lock), "%s/console/pvconsole.%d.lock", T.xt_dir, id);
	cr_expect(access(lock, F_OK) < 0 && errno == ENOENT, "%s is left after the detach", lock);
	free(cfg);
}

Test(xl, shutdown_with_on_poweroff_destroy_and_preserve)
{
	int a = create("pa", "on_poweroff = 'destroy'");
	int b = create("pb", "on_poweroff = 'preserve'");
	char *out;

	cr_assert_eq(xlt_run(&out, "$XL shutdown -w pa"), 0, "%s", out);
	cr_expect(strstr(out, "Shutting down domain") != NULL, "%s", out);
	free(out);
	wait_gone(a);
	assert_no_traces(a, NULL);
	cr_assert_eq(xlt_run(&out, "$XL shutdown -w pb"), 0, "%s", out);
	free(out);
	usleep(300000);
	cr_assert_eq(xlt_run(&out, "$XL list pb"), 0, "%s", out);
	cr_expect(matches(out, "^pb .* ---s--  "), "preserved domain not shown shut down:\n%s", out);
	free(out);
	out = xlt_monitor_log(&T, "pb");
	cr_expect(strstr(out, "Action for shutdown reason code 0 is preserve") != NULL, "%s", out);
	free(out);
	cr_assert_eq(xlt_run(NULL, "$XL destroy pb"), 0);
	wait_gone(b);
}

Test(xl, reboot_restarts_with_the_same_name_and_uuid)
{
	int id = create("rb", NULL);
	char p[64], *uuid, *out;

	snprintf(p, sizeof(p), "/local/domain/%d/vm", id);
	uuid = xlt_xs_read(p);
	cr_assert_eq(xlt_run(&out, "$XL reboot rb"), 0, "%s", out);
	free(out);
	wait_gone(id);
	int id2 = restarted("rb", id);
	cr_assert_gt(id2, 0, "rb was not restarted");
	snprintf(p, sizeof(p), "/local/domain/%d/vm", id2);
	char *uuid2 = xlt_xs_read(p);
	cr_expect_str_eq(uuid2, uuid);
	out = xlt_monitor_log(&T, "rb");
	cr_expect(strstr(out, "Action for shutdown reason code 1 is restart") != NULL, "%s", out);
	free(out);
	free(uuid);
	free(uuid2);
}

/* Crashes a domain the hard way: its guest program dies without a shutdown call.
 * A domain just restarted by its monitor has its name before its guest process
 * (the build comes after), so the process is waited for. */
static void
crash(int domid)
{
	pid_t pid = -1;

	for (int i = 0; i < 500 && (pid = xlt_guest_pid(domid)) <= 0; i++)
		usleep(10000);
	cr_assert_gt(pid, 0, "domain %d has no guest process", domid);
	cr_assert_eq(kill(pid, SIGKILL), 0);
}

Test(xl, crash_with_each_on_crash_action)
{
	int d = create("cd", "on_crash = 'destroy'");
	int p = create("cp", "on_crash = 'preserve'");
	int r = create("cr", "on_crash = 'restart'");
	int n = create("cn", "on_crash = 'rename-restart'");
	char *out;

	crash(d);
	crash(p);
	crash(r);
	crash(n);
	wait_gone(d);
	cr_assert_gt(restarted("cr", r), 0, "cr not restarted");
	cr_assert_gt(restarted("cn", n), 0, "cn not restarted");
	cr_assert_eq(xlt_run(&out, "$XL list"), 0);
	cr_expect(matches(out, "^cp .* ---sc-  "), "preserved crash not shown:\n%s", out);
	cr_expect(matches(out, "^cn-[0-9]{8}T[0-9]{4}Z .* ---sc-  "),
	    "rename-restart did not keep the old domain renamed:\n%s", out);
	free(out);
	out = xlt_monitor_log(&T, "cd");
	cr_expect(strstr(out, "Action for shutdown reason code 3 is destroy") != NULL, "%s", out);
	free(out);
}

Test(xl, a_restart_that_dies_too_fast_is_not_restarted)
{
	int id = create("loop", "on_crash = 'restart'\nrestart_interval = 10");
	char *out;

	crash(id);
	int id2 = restarted("loop", id);
	cr_assert_gt(id2, 0, "not restarted");
	crash(id2);
	wait_gone(id2);
	usleep(300000);
	cr_expect_eq(xlt_domid("loop"), -1, "restarted again despite dying at once");
	out = xlt_monitor_log(&T, "loop");
	cr_expect(matches(out, "domain loop \\(domid [0-9]+\\) died [0-9]+\\.[0-9] seconds after "
	    "its restart; refusing to restart to avoid a loop"), "%s", out);
	free(out);
}

Test(xl, pause_unpause_and_destroy_a_guest_that_ignores_shutdown)
{
	int id = create("pz", "cmdline = \"pvguest.ignore_shutdown\"");
	char *out;

	cr_assert_eq(xlt_run(NULL, "$XL pause pz"), 0);
	cr_assert_eq(xlt_run(&out, "$XL list pz"), 0, "%s", out);
	cr_expect(matches(out, "^pz .* --p---  "), "%s", out);
	free(out);
	cr_assert_eq(xlt_run(NULL, "$XL unpause pz"), 0);
	cr_assert_eq(xlt_run(&out, "$XL list pz"), 0, "%s", out);
	cr_expect(matches(out, "^pz .* [-r][-b]----  "), "%s", out);
	free(out);
	/* A running guest that ignores the request: shutdown gives up, destroy does not. */
	cr_expect_neq(xlt_run(&out, "PVSTACK_XL_ACK_TIMEOUT=0.5 $XL shutdown pz"), 0);
	cr_expect(strstr(out, "didn't acknowledge") != NULL, "%s", out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL list pz"), 0, "%s", out);
	cr_expect(matches(out, "^pz .* -[-rb]----  "), "still running: %s", out);
	free(out);
	cr_assert_eq(xlt_run(NULL, "$XL destroy %d", id), 0);
	wait_gone(id);
	assert_no_traces(id, NULL);
}

Test(xl, broken_configs_report_every_line_and_create_nothing)
{
	char *path, *out;
	FILE *f;

	cr_assert_geq(asprintf(&path, "%s/broken.cfg", T.xt_dir), 0);
	f = fopen(path, "w");
	fprintf(f, "name = \"broken\"\nkernel = \"%s\"\nmemory = \"abc\"\nvcpus = 1 2\n"
	    "disk = [ 'file:/x.img,hdz9,w' ]\non_crash = 'explode'\n", XLT_PVGUEST);
	fclose(f);
	cr_expect_eq(xlt_run(&out, "$XL create %s", path), 1);
	cr_expect(strstr(out, "broken.cfg:3: memory: expected a number, got \"abc\"") != NULL, "%s",
	    out);
	cr_expect(strstr(out, "broken.cfg:4: vcpus:") != NULL, "%s", out);
	cr_expect(strstr(out, "broken.cfg:5: disk:") != NULL, "%s", out);
	cr_expect(strstr(out, "broken.cfg:6: on_crash:") != NULL, "%s", out);
	free(out);
	cr_expect_eq(xlt_nr_domains(), 1, "a domain was left in hvd");
	cr_expect_null(xlt_xs_read("/local/domain/1/name"));
	free(path);
}

Test(xl, a_kernel_it_cannot_run_is_refused_by_name)
{
	char *cfg, *out, *img;
	FILE *f;

	cr_assert_geq(asprintf(&img, "%s/bzImage", T.xt_dir), 0);
	f = fopen(img, "w");
	char head[0x300] = { 0 };
	memcpy(head + 0x202, "HdrS", 4);
	fwrite(head, 1, sizeof(head), f);
	fclose(f);
	cfg = xlt_cfg(&T, "linux", NULL);
	cr_expect_eq(xlt_run(&out, "$XL create %s kernel=%s", cfg, img), 1);
	cr_expect(strstr(out, "a Linux bzImage, not a guest program pvstack can run") != NULL,
	    "%s", out);
	free(out);
	cr_expect_eq(xlt_run(&out, "$XL create %s kernel=/bin/true", cfg), 1);
	cr_expect(strstr(out, "without the pvstack guest note") != NULL, "%s", out);
	free(out);
	cr_expect_eq(xlt_nr_domains(), 1);
	free(cfg);
	free(img);
}

/* A live pid file for "blkback" (a sleeping child: xencommons stop may kill it). */
static pid_t
fake_blkback_pidfile(void)
{
	char *pidf;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	cr_assert_geq(asprintf(&pidf, "%s/blkback.pid", T.xt_dir), 0);
	FILE *f = fopen(pidf, "w");
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	free(pidf);
	return pid;
}

Test(xl, a_failing_hotplug_script_is_named_and_the_domain_torn_down)
{
	char *cfg = xlt_cfg(&T, "hp", "disk = [ 'file:/srv/none.img,xvda,w' ]"), *out;
	pid_t helper, sleeper = fake_blkback_pidfile();

	helper = fork();
	cr_assert_geq(helper, 0);
	if (helper == 0) {
		/* Wait for the backend dir, then answer like a failed block script. */
		for (int i = 0; i < 500; i++) {
			struct xs *xs = xs_open(NULL);
			for (int d = 1; xs && d < 8; d++) {
				char p[128];
				snprintf(p, sizeof(p), "/local/domain/0/backend/vbd/%d/51712/state", d);
				char *v = xs_read(xs, XS_TX_NONE, p, NULL);
				if (v == NULL)
					continue;
				free(v);
				snprintf(p, sizeof(p), "/local/domain/0/backend/vbd/%d/51712", d);
				char k[192];
				snprintf(k, sizeof(k), "%s/hotplug-error", p);
				xs_write(xs, XS_TX_NONE, k, "/srv/none.img does not exist", 28);
				snprintf(k, sizeof(k), "%s/hotplug-exit-status", p);
				xs_write(xs, XS_TX_NONE, k, "1", 1);
				snprintf(k, sizeof(k), "%s/state", p);
				xs_write(xs, XS_TX_NONE, k, "2", 1);
				snprintf(k, sizeof(k), "%s/hotplug-status", p);
				xs_write(xs, XS_TX_NONE, k, "error", 5);
				/* Then close when the toolstack asks (online=0), as a backend does. */
				snprintf(k, sizeof(k), "%s/online", p);
				for (int j = 0; j < 500; j++) {
					char *on = xs_read(xs, XS_TX_NONE, k, NULL);
					int off = on && strcmp(on, "0") == 0;
					free(on);
					if (off)
						break;
					usleep(10000);
				}
				snprintf(k, sizeof(k), "%s/state", p);
				xs_write(xs, XS_TX_NONE, k, "6", 1);
				xs_close(xs);
				_exit(0);
			}
			xs_close(xs);
			usleep(10000);
		}
		_exit(1);
	}
	cr_expect_eq(xlt_run(&out, "$XL create %s", cfg), 1);
	cr_expect(strstr(out, "vbd xvda: hotplug script /etc/xen/scripts/block failed "
	    "(hotplug-status error, "
	    "exit status 1): /srv/none.img does not exist") != NULL, "%s", out);
	free(out);
	waitpid(helper, NULL, 0);
	cr_expect_eq(xlt_nr_domains(), 1, "the half-built domain is still in hvd");
	for (int d = 1; d < 8; d++)
		assert_no_traces(d, NULL);
	cr_expect_null(xlt_xs_read("/local/domain/0/backend/vbd/1/51712/state"));
	cr_expect_eq(xlt_run(&out, "xenstore-ls -s /vm | grep -c ."), 1, "/vm not empty:\n%s", out);
	free(out);
	cr_expect_eq(xlt_run(&out, "ls %s/xl/ 2>/dev/null | grep -c cfg", T.xt_dir), 1,
	    "a stored config was left:\n%s", out);
	free(out);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	free(cfg);
}

Test(xl, fifty_domains_at_once, .timeout = 120)
{
	char *out;
	int rc;

	for (int i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%02d", i);
		free(xlt_cfg(&T, name, NULL));
	}
	rc = xlt_run(&out, "for i in $(seq -w 0 49); do $XL create -q %s/f$i.cfg & done; wait; "
	    "$XL list | grep -c '^f[0-9][0-9] '", T.xt_dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "50\n") != NULL, "%s", out);
	free(out);
	cr_expect_eq(xlt_nr_domains(), 51);
	rc = xlt_run(&out, "for i in $(seq -w 0 49); do $XL destroy f$i & done; wait");
	cr_expect_eq(rc, 0, "%s", out);
	free(out);
	cr_expect_eq(xlt_nr_domains(), 1);
}

Test(xl, rename_info_dmesg_and_xencommons_status)
{
	int id = create("old", NULL);
	char *out, p[64], re[96];

	cr_assert_eq(xlt_run(&out, "$XL rename old new"), 0, "%s", out);
	free(out);
	cr_expect_eq(xlt_domid("new"), id);
	cr_expect_eq(xlt_domid("old"), -1);
	snprintf(p, sizeof(p), "/local/domain/%d/vm", id);
	char *vm = xlt_xs_read(p), *name;
	cr_assert_not_null(vm);
	snprintf(p, sizeof(p), "%s/name", vm);
	name = xlt_xs_read(p);
	cr_expect_str_eq(name, "new");
	free(name);
	free(vm);
	cr_expect_neq(xlt_run(&out, "$XL rename new Domain-0"), 0);
	free(out);

	cr_assert_eq(xlt_run(&out, "$XL info"), 0);
	cr_expect(matches(out, "^host {19}: .+$"), "%s", out);
	cr_expect(matches(out, "^total_memory {11}: [0-9]+$"), "%s", out);
	cr_expect(matches(out, "^xend_config_format     : 4$"), "%s", out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL info nr_cpus"), 0);
	cr_expect(matches(out, "^[0-9]+$"), "%s", out);
	free(out);

	cr_assert_eq(xlt_run(&out, "$XL dmesg"), 0);
	snprintf(re, sizeof(re), "d%d: created", id);
	cr_expect(strstr(out, re) != NULL, "%s", out);
	free(out);

	cr_assert_eq(xlt_run(&out, "%s status", XLT_XENCOMMONS), 0, "%s", out);
	cr_expect(matches(out, "^hvd: running \\(pid [0-9]+\\)$"), "%s", out);
	cr_expect(matches(out, "^xenstored: running"), "%s", out);
	cr_expect(matches(out, "^consoled: running"), "%s", out);
	free(out);
}

Test(xl, parallel_creates_of_one_name_make_one_domain)
{
	char *cfg = xlt_cfg(&T, "same", NULL), *out;

	xlt_run(&out, "for i in 1 2 3 4 5 6; do $XL create -q %s & done; wait; "
	    "$XL list | grep -c '^same '", cfg);
	cr_expect(strstr(out, "\n1\n") != NULL || strncmp(out, "1\n", 2) == 0 ||
	    matches(out, "^1$"), "%s", out);
	cr_expect(strstr(out, "domain with name 'same' already exists") != NULL, "%s", out);
	free(out);
	cr_expect_eq(xlt_nr_domains(), 2);
	free(cfg);
}
