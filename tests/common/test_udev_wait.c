/*
 * udev as the hotplug runner (run_hotplug_scripts=0): a real systemd-udevd,
 * started by the test in a network namespace of its own (so it leaves the
 * host's interfaces alone) with udev-rules/xen-backend.rules installed under
 * /run/udev/rules.d, runs hotplug/block through xen-udev-hotplug when
 * udev_wait_hotplug raises the synthetic uevent, and udev_wait reports on the
 * loop once udev is done: the loop device is there, the keys are written.
 * Everything (udevd, the rule, /run/udev if the test made it, loop devices) is
 * gone afterwards.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "loops.h"
#include "udev_wait.h"
#include "xs.h"
#include "xst.h"

#ifndef UDEVT_RULES_IN
#error UDEVT_RULES_IN, UDEVT_SCRIPTDIR and UDEVT_UDEVD name the rule template, hotplug/ and udevd
#endif

static struct xst_daemon D;
static struct event_base *base;
static struct xs *xs;
static pid_t udevd = -1;
static int made_run_udev;
static char rule[128], dir[64], loop_img[96];

/* Writes the rule from the template with this test's paths. */
static void
rule_install(void)
{
	FILE *in = fopen(UDEVT_RULES_IN, "r"), *out;
	char line[1024];

	cr_assert_not_null(in, "%s", UDEVT_RULES_IN);
	made_run_udev = access("/run/udev", F_OK) < 0;
	cr_assert_eq(system("mkdir -p /run/udev/rules.d"), 0);
	snprintf(rule, sizeof(rule), "/run/udev/rules.d/65-pvstack-test-%d.rules", (int)getpid());
	cr_assert_not_null(out = fopen(rule, "w"));
	while (fgets(line, sizeof(line), in)) {
		for (char *at; (at = strchr(line, '@')) != NULL;) {
			const char *val = NULL, *names[] = { "@SCRIPTDIR@", "@RUNDIR@",
			    "@XENSTORED_PATH@" }, *vals[] = { UDEVT_SCRIPTDIR, D.dir, D.sock };
			size_t n = 0;
			for (int i = 0; i < 3; i++)
				if (strncmp(at, names[i], strlen(names[i])) == 0) {
					val = vals[i];
					n = strlen(names[i]);
				}
			cr_assert_not_null(val, "unknown placeholder in %s", line);
			fwrite(line, 1, at - line, out);
			fputs(val, out);
			memmove(line, at + n, strlen(at + n) + 1);
		}
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
}

/* Starts systemd-udevd in the foreground and waits for its control socket. */
static void
udevd_start(void)
{
	char log[96];

	snprintf(log, sizeof(log), "%s/udevd.log", dir);
	udevd = fork();
	cr_assert_geq(udevd, 0);
	if (udevd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(UDEVT_UDEVD, "systemd-udevd", "--debug", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access("/run/udev/control", F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access("/run/udev/control", F_OK), 0, "systemd-udevd did not start (%s)", log);
}

static void
setup(void)
{
	if (access("/run/udev/control", F_OK) == 0)
		cr_skip_test("a udevd already runs on this host (/run/udev/control): not starting ours");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	snprintf(dir, sizeof(dir), "/tmp/udevt.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	xst_daemon_start(&D, NULL);
	setenv("XENSTORED_PATH", D.sock, 1);
	cr_assert_not_null(xs = xs_open(D.sock));
	rule_install();
	udevd_start();
	base = event_base_new();
}

static void
teardown(void)
{
	char cmd[160];

	if (udevd > 0) {
		kill(udevd, SIGTERM);
		waitpid(udevd, NULL, 0);
		udevd = -1;
	}
	if (*rule)
		unlink(rule);
	if (made_run_udev)
		cr_expect_eq(system("rm -rf /run/udev"), 0);
	if (*loop_img && loops_over(loop_img, 1) > 0)
		cr_log_warn("a loop device over %s was left attached", loop_img);
	if (xs)
		xs_close(xs);
	if (base)
		event_base_free(base);
	if (D.pid > 0)
		xst_daemon_stop(&D);
	if (*dir) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		cr_expect_eq(system(cmd), 0);
	}
}

TestSuite(udev_wait, .init = setup, .fini = teardown, .timeout = 60);

static void
put(const char *be, const char *k, const char *val)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", be, k);
	cr_assert_eq(xs_write(xs, XS_TX_NONE, p, val, strlen(val)), 0, "%s", p);
}

static const char *
key(const char *be, const char *k)
{
	static char buf[4][2048];
	static int n;
	char p[256], *v;

	snprintf(p, sizeof(p), "%s/%s", be, k);
	v = xs_read(xs, XS_TX_NONE, p, NULL);
	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s", v ? v : "");
	free(v);
	return buf[n];
}

struct done {
	int called;
	int err;
};

static void
on_done(int err, void *arg)
{
	struct done *d = arg;

	d->called++;
	d->err = err;
}

static void
run_until(struct done *d, int ms)
{
	for (int waited = 0; !d->called && waited < ms; waited += 10) {
		struct timeval slice = { 0, 10000 };
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	cr_assert(d->called, "no callback within %d ms", ms);
}

/* A vbd backend dir whose script is the source tree's block. */
static void
vbd(const char *be, const char *params, const char *script)
{
	put(be, "params", params);
	put(be, "mode", "w");
	put(be, "type", "phy");
	put(be, "script", script);
	put(be, "state", "2");
}

/* Asks udev for the vbd's script and waits for udev to be done. */
static void
hotplug(struct udev_wait *uw, int domid, int devid, enum hotplug_action a, struct done *d)
{
	memset(d, 0, sizeof(*d));
	cr_assert_not_null(udev_wait_hotplug(uw, UDEV_WAIT_VBD_SYSPATH, "vbd", domid, devid, a,
	    20000, on_done, d), "raising the uevent: %s", strerror(errno));
	run_until(d, 25000);
	cr_expect_eq(d->called, 1);
}

Test(udev_wait, udev_runs_block_and_the_backend_learns_when_it_is_done)
{
	const char *be = "/local/domain/0/backend/vbd/5/769";
	char img[96], loop[64], *bf;
	struct udev_wait *uw = udev_wait_open(base);
	struct done d;
	FILE *f;

	cr_assert_not_null(uw, "udev_wait_open: %s", strerror(errno));
	snprintf(img, sizeof(img), "%s/root.img", dir);
	cr_assert_not_null(f = fopen(img, "w"));
	cr_assert_eq(ftruncate(fileno(f), 1 << 20), 0);
	fclose(f);
	vbd(be, img, UDEVT_SCRIPTDIR "/block");
	hotplug(uw, 5, 769, HOTPLUG_ADD, &d);
	cr_expect_eq(d.err, 0);
	/* Done means done: the script's results are already in place. */
	cr_expect_str_eq(key(be, "hotplug-status"), "connected", "udevd log in %s", dir);
	cr_expect_str_eq(key(be, "hotplug-exit-status"), "0");
	snprintf(loop_img, sizeof(loop_img), "%s", img);
	snprintf(loop, sizeof(loop), "%s", key(be, "node"));
	cr_assert(strncmp(loop, "/dev/loop", 9) == 0, "node \"%s\"; stderr \"%s\"", loop,
	    key(be, "hotplug-stderr"));
	cr_expect_str_eq(bf = loop_backing(loop), img);
	free(bf);
	cr_expect_neq(key(be, "physical-device")[0], '\0');

	hotplug(uw, 5, 769, HOTPLUG_REMOVE, &d);
	cr_expect_eq(d.err, 0);
	cr_expect_eq(loops_left_over(img), 0, "a loop device still holds %s", img);
	udev_wait_close(uw);
}

Test(udev_wait, a_failing_script_is_recorded_like_the_backend_would)
{
	const char *be = "/local/domain/0/backend/vbd/6/51712";
	char missing[96];
	struct udev_wait *uw = udev_wait_open(base);
	struct done d;

	cr_assert_not_null(uw);
	snprintf(missing, sizeof(missing), "%s/nothere.img", dir);
	vbd(be, missing, UDEVT_SCRIPTDIR "/block");
	hotplug(uw, 6, 51712, HOTPLUG_ADD, &d);
	cr_expect_eq(d.err, 0);
	cr_expect_str_eq(key(be, "hotplug-status"), "error");
	cr_expect_str_eq(key(be, "hotplug-exit-status"), "1");
	cr_expect(strstr(key(be, "hotplug-error"), missing) != NULL, "%s", key(be, "hotplug-error"));
	cr_expect(strstr(key(be, "hotplug-stderr"), "does not exist") != NULL, "%s",
	    key(be, "hotplug-stderr"));
	udev_wait_close(uw);
}

Test(udev_wait, only_scripts_of_the_script_dir_are_run)
{
	const char *be = "/local/domain/0/backend/vbd/7/51712";
	char marker[96], evil[128];
	struct udev_wait *uw = udev_wait_open(base);
	struct done d;
	FILE *f;

	cr_assert_not_null(uw);
	snprintf(marker, sizeof(marker), "%s/ran", dir);
	snprintf(evil, sizeof(evil), "%s/evil", dir);
	cr_assert_not_null(f = fopen(evil, "w"));
	fprintf(f, "#!/bin/sh\ntouch %s\n", marker);
	fclose(f);
	chmod(evil, 0755);
	vbd(be, "", evil);
	hotplug(uw, 7, 51712, HOTPLUG_ADD, &d);
	cr_expect_eq(d.err, 0);
	cr_expect(access(marker, F_OK) < 0, "a script outside the script dir ran");
	cr_expect(strstr(key(be, "hotplug-error"), "is not in") != NULL, "%s",
	    key(be, "hotplug-error"));
	cr_expect_str_eq(key(be, "hotplug-status"), "error");
	udev_wait_close(uw);
}

Test(udev_wait, device_events_and_timeouts)
{
	struct udev_wait *uw = udev_wait_open(base);
	struct done a = { 0 }, b = { 0 };
	int fd;

	cr_assert_not_null(uw);
	cr_assert_not_null(udev_wait_device(uw, "misc", "loop-control", "change", 10000, on_done,
	    &a));
	cr_assert_not_null(udev_wait_device(uw, "misc", "no-such-device", "change", 300, on_done,
	    &b));
	/* A plain change of loop-control, as the kernel would raise one. */
	cr_assert_geq(fd = open(UDEV_WAIT_VBD_SYSPATH "/uevent", O_WRONLY), 0);
	cr_assert_eq(write(fd, "change", 6), 6);
	close(fd);
	run_until(&a, 10000);
	cr_expect_eq(a.err, 0);
	run_until(&b, 2000);
	cr_expect_eq(b.err, ETIMEDOUT);
	cr_expect_null(udev_wait_hotplug(uw, UDEV_WAIT_VBD_SYSPATH, "v/bd", 1, 1, HOTPLUG_ADD,
	    1000, on_done, &a));
	cr_expect_eq(errno, EINVAL);
	udev_wait_close(uw);
}
