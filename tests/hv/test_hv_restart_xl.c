/*
 * hvd restarted under a whole stack (xencommons: hvd, xenstored, consoled)
 * with two pvguests made by xl: kill -9 (or SIGTERM) of hvd, then
 * "xencommons start", which starts hvd alone again (its keeper lives, so the
 * socket and xenstored's state stay). xl list shows the same domains (domids,
 * names, memory), both consoles answer through the same consoled, xl destroy
 * of one works and a new xl create works, its console too.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libhv.h"
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
	xlt_run(NULL, "$XL destroy one 2>/dev/null; $XL destroy two 2>/dev/null; "
	    "$XL destroy three 2>/dev/null");
	xlt_stop(&T);
}

TestSuite(hv_restart_xl, .init = setup, .fini = teardown, .timeout = 150);

/* The line of `xl list` naming name, without its Time(s) and state columns. */
static char *
list_line(const char *name)
{
	char *out, *line = NULL;

	cr_assert_eq(xlt_run(&out, "$XL list %s | awk 'NR == 2 { print $1, $2, $3, $4 }'", name), 0,
	    "xl list %s: %s", name, out);
	if (out[0])
		line = out;
	else
		free(out);
	return line;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static void
restart_under_xl(int sig)
{
	char *one, *two, *out;
	pid_t hvd, cons, xs, g1, g2;

	xlt_create(&T, "one", NULL);
	xlt_create(&T, "two", NULL);
	cr_assert(xlt_console_works("one", "a1") && xlt_console_works("two", "a2"),
	    "the consoles work before the kill");
	one = list_line("one");
	two = list_line("two");
	cr_assert(one && two);
	g1 = xlt_guest_pid(xlt_domid("one"));
	g2 = xlt_guest_pid(xlt_domid("two"));
	hvd = xlt_daemon_pid(&T, "hvd");
	cons = xlt_daemon_pid(&T, "consoled");
	xs = xlt_daemon_pid(&T, "xenstored");
	cr_assert(hvd > 0 && cons > 0 && xs > 0 && g1 > 0 && g2 > 0);

	long long t0 = now_ms();
	cr_assert_eq(kill(hvd, sig), 0);
	for (int i = 0; i < 250 && proc_running(hvd); i++)
		usleep(20000);
	cr_assert_not(proc_running(hvd), "hvd did not go");
	cr_assert(proc_running(g1), "guest one died with hvd");
	cr_assert(proc_running(g2), "guest two died with hvd");
	cr_assert_eq(xlt_run(&out, "PVSTACK_RUNDIR=%s %s start", T.xt_dir, XLT_XENCOMMONS), 0,
	    "xencommons start after the kill:\n%s", out);
	long long t1 = now_ms();
	cr_expect(strstr(out, "hvd: started") != NULL, "%s", out);
	cr_expect(strstr(out, "xenstored: already running") != NULL, "%s", out);
	cr_expect(strstr(out, "consoled: already running") != NULL, "%s", out);
	free(out);
	fprintf(stderr, "figure: hvd %s under xl with 2 pvguests: xencommons start back in %lld ms "
	    "after the kill\n", sig == SIGKILL ? "kill -9" : "SIGTERM", t1 - t0);
	cr_assert_eq(xlt_daemon_pid(&T, "consoled"), cons, "consoled lived through it");
	cr_assert_eq(xlt_daemon_pid(&T, "xenstored"), xs, "xenstored lived through it");

	/* the same domains: domid, name, memory, vcpus */
	char *one2 = list_line("one"), *two2 = list_line("two");
	cr_assert(one2 && two2, "xl list lost a domain");
	cr_expect_str_eq(one2, one);
	cr_expect_str_eq(two2, two);
	cr_assert_eq(xlt_guest_pid(xlt_domid("one")), g1);
	cr_assert(xlt_console_works("one", "b1"), "the console of one after the restart");
	cr_assert(xlt_console_works("two", "b2"), "the console of two after the restart");

	cr_assert_eq(xlt_run(&out, "$XL destroy one"), 0, "xl destroy: %s", out);
	free(out);
	cr_assert(xlt_domid("one") < 0, "one is still there");
	for (int i = 0; i < 200 && proc_running(g1); i++)
		usleep(10000);
	xlt_create(&T, "three", NULL);
	cr_assert(xlt_console_works("three", "c3"), "the console of a guest made after the restart");
	cr_assert(xlt_console_works("two", "c2"));
	free(one);
	free(two);
	free(one2);
	free(two2);
}

Test(hv_restart_xl, kill9_with_two_pvguests)
{
	restart_under_xl(SIGKILL);
}

Test(hv_restart_xl, sigterm_with_two_pvguests)
{
	restart_under_xl(SIGTERM);
}
