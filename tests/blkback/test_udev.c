/*
 * run_hotplug_scripts=0: a vbd that names its own script has it run by udev,
 * not by blkback. The test starts a real systemd-udevd in a network namespace
 * of its own, with udev-rules/xen-backend.rules installed under
 * /run/udev/rules.d pointing at a script directory the test makes (its
 * script and xen-udev-hotplug); blkback raises the uevent, learns through
 * libudev that udev is done, opens what the script set up, and asks udev for
 * remove before Closed. udevd, the rule and /run/udev (if the test made it)
 * are gone afterwards.
 */
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

#include <criterion/criterion.h>

#include "bbfront.h"
#include "libhv.h"
#include "xs.h"

#ifndef BBT_RULES_IN
#error BBT_RULES_IN, BBT_UDEV_HOTPLUG and BBT_UDEVD name the rule template, xen-udev-hotplug, udevd
#endif

static struct stack st;
static struct bbfront fe;
static char confdir[64], scriptdir[64], rule[128], img[160], marker[160];
static pid_t udevd = -1;
static int made_run_udev;

/* Copies a file, executable. */
static void
copy_exec(const char *from, const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", from, to, to);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* The rule from its template with this test's paths. */
static void
rule_install(void)
{
	FILE *in = fopen(BBT_RULES_IN, "r"), *out;
	const char *names[] = { "@SCRIPTDIR@", "@RUNDIR@", "@XENSTORED_PATH@" };
	const char *vals[] = { scriptdir, st.s_rundir, xs_socket_path() };
	char line[1024];

	cr_assert_not_null(in, "%s", BBT_RULES_IN);
	made_run_udev = access("/run/udev", F_OK) < 0;
	cr_assert_eq(system("mkdir -p /run/udev/rules.d"), 0);
	snprintf(rule, sizeof(rule), "/run/udev/rules.d/65-pvstack-blkback-test-%d.rules",
	    (int)getpid());
	cr_assert_not_null(out = fopen(rule, "w"));
	while (fgets(line, sizeof(line), in)) {
		for (char *at; (at = strchr(line, '@')) != NULL;) {
			int i = 0;
			while (i < 3 && strncmp(at, names[i], strlen(names[i])) != 0)
				i++;
			cr_assert_lt(i, 3, "unknown placeholder in %s", line);
			fwrite(line, 1, at - line, out);
			fputs(vals[i], out);
			memmove(line, at + strlen(names[i]), strlen(at + strlen(names[i])) + 1);
		}
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
}

/* systemd-udevd in the foreground, its log in the rundir. */
static void
udevd_start(void)
{
	char log[128];

	snprintf(log, sizeof(log), "%s/udevd.log", st.s_rundir);
	cr_assert_geq(udevd = fork(), 0);
	if (udevd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(BBT_UDEVD, "systemd-udevd", "--debug", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access("/run/udev/control", F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access("/run/udev/control", F_OK), 0, "systemd-udevd did not start (%s)", log);
}

static void
setup(void)
{
	FILE *f;
	char body[1024], path[128];

	if (access("/run/udev/control", F_OK) == 0)
		cr_skip_test("a udevd already runs on this host (/run/udev/control): not starting ours");
	cr_assert(stack_have(STACK_WITH(STACK_BLKBACK)), "blkback is not built");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	strcpy(confdir, "/tmp/blkback-udev-conf-XXXXXX");
	strcpy(scriptdir, "/tmp/blkback-udev-scripts-XXXXXX");
	cr_assert_not_null(mkdtemp(confdir));
	cr_assert_not_null(mkdtemp(scriptdir));
	chmod(scriptdir, 0755);
	snprintf(path, sizeof(path), "%s/xl.conf", confdir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("run_hotplug_scripts = 0\n", f);
	fclose(f);
	setenv("PVSTACK_CONFDIR", confdir, 1);
	stack_start(&st, "blkback-udev", STACK_WITH(STACK_BLKBACK));
	snprintf(img, sizeof(img), "%s/disk.img", st.s_rundir);
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 16 << 20), 0);
	close(fd);
	snprintf(marker, sizeof(marker), "%s/removed", st.s_rundir);
	snprintf(path, sizeof(path), "%s/xen-udev-hotplug", scriptdir);
	copy_exec(BBT_UDEV_HOTPLUG, path);
	snprintf(path, sizeof(path), "%s/my-disk", scriptdir);
	cr_assert_not_null(f = fopen(path, "w"));
	snprintf(body, sizeof(body), "#!/bin/sh\n"
	    "case $1 in\n"
	    "add) xenstore-write \"$XENBUS_PATH/physical-device-path\" %s "
	    "\"$XENBUS_PATH/hotplug-status\" connected ;;\n"
	    "remove) echo \"$UDEV_CALL\" > %s ;;\n"
	    "esac\n", img, marker);
	fputs(body, f);
	fclose(f);
	chmod(path, 0755);
	rule_install();
	udevd_start();
	bbf_domain(&fe, &st);
}

static void
teardown(void)
{
	char cmd[200];

	if (udevd > 0) {
		kill(udevd, SIGTERM);
		waitpid(udevd, NULL, 0);
		udevd = -1;
	}
	if (*rule)
		unlink(rule);
	if (made_run_udev && system("rm -rf /run/udev") != 0)
		cr_log_warn("could not remove /run/udev");
	if (fe.f_mem)
		bbf_destroy(&fe);
	stack_stop(&st);
	unsetenv("PVSTACK_CONFDIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", confdir, scriptdir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", cmd);
}

TestSuite(udev, .init = setup, .fini = teardown, .timeout = 60);

Test(udev, named_script_run_by_udev)
{
	char extra[128], *v;

	snprintf(extra, sizeof(extra), "script=%s/my-disk", scriptdir);
	bbf_devdirs(&fe, 51712, "my-target", "w", (const char *const[]){ extra, NULL });
	cr_assert_eq(bbf_wait_be(&fe, 2, 20000), 0, "no InitWait (state %d); see %s/udevd.log",
	    bbf_be_state(&fe), st.s_rundir);
	v = bbf_be_read(&fe, "hotplug-exit-status");
	cr_expect(v && strcmp(v, "0") == 0, "hotplug-exit-status %s", v);
	free(v);
	bbf_connect(&fe, 1, 0, false, 4);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0);
	memset(bbf_page(&fe, BBF_PFN_DATA), 0x5a, 4096);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 0, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	bbf_detach(&fe, 0);
	bbf_close(&fe);
	FILE *f = fopen(marker, "r");
	char got[16] = "";
	cr_assert_not_null(f, "Closed before udev ran the script's remove");
	cr_assert_not_null(fgets(got, sizeof(got), f));
	fclose(f);
	cr_expect_eq(atoi(got), 1, "remove was not run by udev (UDEV_CALL=%s)", got);
}
