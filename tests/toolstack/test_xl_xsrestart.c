/*
 * A private stack (xencommons) across a kill -9 of xenstored: xencommons
 * started it with --state-dir, a second "xencommons start" starts it again
 * with the same state, consoled reconnects (its watches fire again), so a
 * guest created after the restart has its console served, the guest from
 * before keeps its console, and xl list works.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_stat.h"
#include "xltest.h"

static struct xlt T;

static void
setup(void)
{
	xlt_start_skip(&T, "blkback netback");
}

static void
teardown(void)
{
	xlt_run(NULL, "$XL destroy before 2>/dev/null; $XL destroy after 2>/dev/null");
	xlt_stop(&T);
}

TestSuite(xsrestart, .init = setup, .fini = teardown, .timeout = 120);

Test(xsrestart, consoled_and_xl_after_kill9_of_xenstored)
{
	char state[128], *out, *log;
	pid_t old, cons;
	struct stat st;

	snprintf(state, sizeof(state), "%s/xenstored/state", T.xt_dir);
	cr_assert_eq(stat(state, &st), 0, "xencommons started xenstored without --state-dir");
	xlt_create(&T, "before", NULL);
	cr_assert(xlt_console_works("before", "one"), "the console works before the kill");
	old = xlt_daemon_pid(&T, "xenstored");
	cons = xlt_daemon_pid(&T, "consoled");
	cr_assert_gt(old, 0);
	cr_assert_gt(cons, 0);

	cr_assert_eq(kill(old, SIGKILL), 0);
	for (int i = 0; i < 250 && proc_running(old); i++)
		usleep(20000);
	cr_assert_eq(xlt_run(&out, "PVSTACK_RUNDIR=%s %s start", T.xt_dir, XLT_XENCOMMONS), 0,
	    "xencommons start after the kill:\n%s", out);
	cr_expect(strstr(out, "xenstored: started") != NULL, "%s", out);
	cr_expect(strstr(out, "consoled: already running") != NULL, "%s", out);
	free(out);
	cr_assert_neq(xlt_daemon_pid(&T, "xenstored"), old);
	cr_assert_eq(xlt_daemon_pid(&T, "consoled"), cons, "consoled lived through it");

	cr_assert_eq(xlt_run(&out, "$XL list"), 0, "xl list after the restart:\n%s", out);
	cr_expect(strstr(out, "\nbefore ") != NULL, "the old guest is listed:\n%s", out);
	free(out);
	xlt_create(&T, "after", NULL);
	cr_assert(xlt_console_works("after", "two"),
	    "consoled serves the console of a guest made after the restart");
	cr_assert(xlt_console_works("before", "three"), "and the old guest's console");
	cr_assert_eq(xlt_run(&out, "$XL list"), 0);
	cr_expect(strstr(out, "\nafter ") != NULL, "%s", out);
	free(out);

	/* consoled said what happened */
	cr_assert_eq(xlt_run(&log, "cat %s/log/consoled.log", T.xt_dir), 0);
	cr_expect(strstr(log, "reconnected to") != NULL, "consoled's log:\n%s", log);
	free(log);
	cr_assert(proc_running(cons), "consoled died");
}
