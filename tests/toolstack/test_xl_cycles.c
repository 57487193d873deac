/*
 * 500 create/destroy cycles through xl on a private stack: afterwards no
 * daemon holds more descriptors than after the first cycle, hvd knows only
 * dom0 and xenstore holds no trace of any guest.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xltest.h"

#define CYCLES 500

static struct xlt T;

static void
setup(void)
{
	xlt_start(&T);
}

static void
teardown(void)
{
	xlt_stop(&T);
}

Test(xl_cycles, five_hundred_create_destroy_cycles_leak_no_fd, .init = setup, .fini = teardown,
    .timeout = 600)
{
	static const char *const daemons[] = { "hvd", "xenstored", "consoled" };
	int before[3], after[3];
	char *cfg = xlt_cfg(&T, "cyc", NULL), *out;

	cr_assert_eq(xlt_run(&out, "$XL create -q %s && $XL destroy cyc", cfg), 0, "%s", out);
	free(out);
	/* counted once the first cycle has settled, as the last one will be: a daemon
	 * still tearing that domain down (consoled's console, its port) counts otherwise */
	xlt_run(NULL, "sleep 1.5");
	for (int i = 0; i < 3; i++)
		before[i] = xlt_daemon_fds(&T, daemons[i]);
	int rc = xlt_run(&out, "i=1; while [ $i -lt %d ]; do $XL create -q %s || exit 1; "
	    "$XL destroy cyc || exit 2; i=$((i + 1)); done", CYCLES, cfg);
	cr_assert_eq(rc, 0, "cycle failed:\n%s", out);
	free(out);
	/* Monitors of destroyed domains leave within their poll interval. */
	xlt_run(NULL, "sleep 1.5");
	for (int i = 0; i < 3; i++) {
		after[i] = xlt_daemon_fds(&T, daemons[i]);
		cr_expect_leq(after[i], before[i], "%s: %d fds after %d cycles, %d after the first",
		    daemons[i], after[i], CYCLES, before[i]);
		cr_log_info("%s: %d fds after the first cycle, %d after %d", daemons[i], before[i],
		    after[i], CYCLES);
	}
	cr_expect_eq(xlt_nr_domains(), 1);
	cr_expect_null(xlt_xs_read("/local/domain/1/name"));
	cr_assert_eq(xlt_run(&out, "xenstore-ls -s /local/domain | grep -c '^[0-9]' ; "
	    "xenstore-ls -s /vm | grep -c . ; xenstore-ls -s /libxl | grep -c ."), 1, "%s", out);
	if (strcmp(out, "1\n0\n0\n") != 0) {
		char *tree;
		xlt_run(&tree, "xenstore-ls -s -p /local/domain | grep -v '^ [a-z]'; "
		    "xenstore-ls -s /vm; xenstore-ls -s /libxl");
		cr_expect_fail("xenstore still holds guest nodes:\n%s\n%s", out, tree);
		free(tree);
	}
	free(out);
	cr_assert_eq(xlt_run(&out, "pgrep -f 'xl create' | wc -l"), 0);
	free(cfg);
	free(out);
}
