/*
 * run_hotplug_scripts=0 end to end: udev, not netback, runs a vif's script.
 * The test makes a network namespace and a mount namespace of its own; in
 * them a sysfs of the new network namespace is bound over /sys/class/net and
 * /sys/devices/virtual/net (the taps live here: the host's sysfs would not
 * show them, and udevd and netback's synthetic uevent both go through those
 * paths), and a tmpfs over /run holds a real systemd-udevd's control socket
 * and udev-rules/xen-backend.rules, so neither a udevd of the host nor
 * another test's sees or disturbs ours. xl.conf says run_hotplug_scripts=0;
 * netback raises the uevent, udevd runs hotplug/xen-udev-hotplug, which
 * runs vif-bridge online, and only then does the vif connect: dom0 pings the
 * guest through it. Destroying the guest has udev run vif-bridge offline and
 * leaves no tap. Without a udevd, the vif fails saying so.
 * Everything (udevd, the stack, mounts, the namespaces) goes with the test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netguest.h"
#include "stack.h"

#ifndef NG_RULES_IN
#error NG_RULES_IN, NG_SCRIPTDIR and NG_UDEVD name the rule template, hotplug/ and udevd
#endif

#define UDEV_CONTROL	"/run/udev/control"

static struct stack s;
static struct ng_con con = { .c_pid = -1 };
static pid_t udevd = -1;
static char sysdir[64];			/* where the namespace's sysfs is mounted */
static bool bound[2], run_mounted, sys_mounted;
static const char *const net_dirs[2] = { "/sys/class/net", "/sys/devices/virtual/net" };

/* This namespace's sysfs, bound over the host's network directories. */
static void
ns_sysfs(void)
{
	char src[128];

	snprintf(sysdir, sizeof(sysdir), "/tmp/netudev.XXXXXX");
	cr_assert_not_null(mkdtemp(sysdir));
	cr_assert_eq(mount("sysfs", sysdir, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), 0,
	    "sysfs on %s: %s", sysdir, strerror(errno));
	sys_mounted = true;
	for (int i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "%s%s", sysdir, net_dirs[i] + 4);
		cr_assert_eq(mount(src, net_dirs[i], NULL, MS_BIND, NULL), 0, "bind %s on %s: %s", src,
		    net_dirs[i], strerror(errno));
		bound[i] = true;
	}
}

/* The rule from its template with this stack's paths, in our /run. */
static void
rule_install(void)
{
	FILE *in = fopen(NG_RULES_IN, "r"), *out;
	char line[1024], sock[128];

	snprintf(sock, sizeof(sock), "%s/xenstored/socket", s.s_rundir);
	cr_assert_not_null(in, "%s", NG_RULES_IN);
	cr_assert_eq(mkdir("/run/udev", 0755), 0);
	cr_assert_eq(mkdir("/run/udev/rules.d", 0755), 0);
	cr_assert_not_null(out = fopen("/run/udev/rules.d/65-pvstack-test.rules", "w"));
	while (fgets(line, sizeof(line), in)) {
		for (char *at; (at = strchr(line, '@')) != NULL;) {
			const char *names[] = { "@SCRIPTDIR@", "@RUNDIR@", "@XENSTORED_PATH@" };
			const char *vals[] = { NG_SCRIPTDIR, s.s_rundir, sock }, *val = NULL;
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

/* systemd-udevd in the foreground (its log in the rundir), up to its control socket. */
static void
udevd_start(void)
{
	char log[128];

	rule_install();
	snprintf(log, sizeof(log), "%s/udevd.log", s.s_rundir);
	udevd = fork();
	cr_assert_geq(udevd, 0);
	if (udevd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(NG_UDEVD, "systemd-udevd", "--debug", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(UDEV_CONTROL, F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access(UDEV_CONTROL, F_OK), 0, "systemd-udevd did not start (%s)", log);
}

/* netback, reading an xl.conf with run_hotplug_scripts=0. */
static void
netback_start(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/xl.conf", s.s_rundir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "run_hotplug_scripts=0\n");
	fclose(f);
	stack_spawn(&s, STACK_NETBACK);
	snprintf(path, sizeof(path), "%s/netback.pid", s.s_rundir);
	for (int i = 0; i < 500 && access(path, F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access(path, F_OK), 0, "netback did not start");
}

static void
setup(void)
{
	cr_assert(stack_have(STACK_WITH(STACK_CONSOLED) | STACK_WITH(STACK_NETBACK)),
	    "hvd, xenstored, consoled and netback must be built");
	cr_assert_eq(unshare(CLONE_NEWNET | CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	/* nothing mounted here reaches the host */
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	ns_sysfs();
	cr_assert_eq(mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0,
	    "tmpfs on /run: %s", strerror(errno));
	run_mounted = true;
	ng_bridge("10.9.0.1/24");
	stack_start(&s, "netudev", STACK_WITH(STACK_CONSOLED));
	ng_env(&s);	/* xl and netback read our xl.conf */
}

static void
teardown(void)
{
	ng_con_close(&con);
	ng_sh(NULL, "$XL destroy ug");
	stack_stop(&s);
	if (udevd > 0) {
		kill(udevd, SIGTERM);
		waitpid(udevd, NULL, 0);
		udevd = -1;
	}
	ng_sh(NULL, "ip link del xenbr0");
	if (run_mounted)
		cr_expect_eq(umount2("/run", MNT_DETACH), 0, "/run: %s", strerror(errno));
	for (int i = 1; i >= 0; i--)
		if (bound[i])
			cr_expect_eq(umount2(net_dirs[i], MNT_DETACH), 0, "%s: %s", net_dirs[i],
			    strerror(errno));
	if (sys_mounted)
		cr_expect_eq(umount2(sysdir, MNT_DETACH), 0, "%s: %s", sysdir, strerror(errno));
	if (*sysdir)
		rmdir(sysdir);
	run_mounted = sys_mounted = bound[0] = bound[1] = false;
}

TestSuite(net_udev, .init = setup, .fini = teardown, .timeout = 150);

/* A file of the rundir (a log), read whole. */
static const char *
rundir_file(const char *name)
{
	static char buf[1 << 20];
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", s.s_rundir, name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(net_udev, udevd_runs_the_vif_script_before_the_vif_connects)
{
	char *o;

	udevd_start();
	netback_start();
	ng_boot(&con, s.s_rundir, "ug", "'ip=10.9.0.2'");
	cr_assert(ng_con_wait(&con, "net: eth0: address 10.9.0.2", 0, 20000), "%s", con.c_out);
	const char *be = "/local/domain/0/backend/vif/1/0";
	char *st = stack_xs_read(&s, "%s/hotplug-status", be);
	char *rc = stack_xs_read(&s, "%s/hotplug-exit-status", be);
	cr_assert(st != NULL && strcmp(st, "connected") == 0, "hotplug-status %s", st ? st : "-");
	cr_assert(rc != NULL && strcmp(rc, "0") == 0, "xen-udev-hotplug recorded no exit status 0 "
	    "(%s)", rc ? rc : "-");
	free(st);
	free(rc);
	/* udev ran it, netback did not */
	cr_assert_not_null(strstr(rundir_file("udevd.log"), "xen-udev-hotplug online"),
	    "udevd's log has no xen-udev-hotplug online");
	cr_assert_null(strstr(rundir_file("netback.log"), "running "), "netback ran a script itself");
	cr_assert_eq(ng_dom0_ping("10.9.0.2", 3), 3, "dom0 pings the guest; guest:\n%s", con.c_out);
	cr_assert_not_null(strstr(ng_run(&con, "net ping 10.9.0.1 2"), "2 received"));

	/* going away: udev runs offline, the tap goes */
	ng_con_close(&con);
	cr_assert_eq(ng_sh(&o, "$XL destroy ug"), 0, "%s", o);
	bool offline = false;
	for (int i = 0; i < 200 && !offline; i++) {
		offline = strstr(rundir_file("udevd.log"), "xen-udev-hotplug offline") != NULL;
		if (!offline)
			usleep(50000);
	}
	cr_assert(offline, "udev never ran xen-udev-hotplug offline");
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		gone = ng_sh(NULL, "ip link show vif1.0") != 0;
		if (!gone)
			usleep(50000);
	}
	cr_assert(gone, "the tap vif1.0 is still there");
}

Test(net_udev, no_udevd_fails_the_vif_saying_so)
{
	char cfg[128], *o;

	netback_start();
	snprintf(cfg, sizeof(cfg), "%s/ug.cfg", s.s_rundir);
	FILE *f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f, "name = \"ug\"\nkernel = \"%s\"\nmemory = 32\nvif = [ 'ip=10.9.0.2' ]\n",
	    stack_prog("guest/pvguest"));
	fclose(f);
	cr_assert_neq(ng_sh(&o, "$XL create %s", cfg), 0, "xl create succeeded:\n%s", o);
	cr_assert_not_null(strstr(o, "no udevd is running to run"), "xl says:\n%s", o);
	cr_assert_not_null(strstr(o, "vif-bridge"), "the script is named:\n%s", o);
	cr_assert_neq(ng_sh(NULL, "ip link show vif1.0"), 0, "a tap was left behind");
}
