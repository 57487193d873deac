/*
 * rate= end to end: a pvguest with two vifs on xenbr0 (in a network
 * namespace of the test's own, with a private stack), one unlimited and one
 * with rate=1Mb/s (xl writes "6250,50000": 6250 bytes every 50 ms). The
 * guest's frame generator sends 1514-byte frames through each; the limited
 * one may not beat the bucket (what it sends past the 128 KiB burst takes at
 * least its bytes at 125000 bytes/s), so its rate stays near 1 Mbit/s and far
 * below the unlimited one. Only upper bounds are asserted: a slow machine
 * makes the limited rate lower, never higher.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netguest.h"
#include "stack.h"

#define RATE_FRAMES	600		/* 908 KiB: about 6 s at 1 Mbit/s past the burst */

static struct stack s;
static struct ng_con con = { .c_pid = -1 };

static void
setup(void)
{
	ng_start(&s, "netrate", "10.9.0.1/16");
}

static void
teardown(void)
{
	ng_con_close(&con);
	ng_sh(NULL, "$XL destroy rg");
	stack_stop(&s);
	ng_sh(NULL, "ip link del xenbr0");
}

TestSuite(net_rate, .init = setup, .fini = teardown, .timeout = 120);

Test(net_rate, rate_limits_what_the_guest_sends)
{
	unsigned long long n;

	ng_boot(&con, s.s_rundir, "rg", "'ip=10.9.0.2', 'ip=10.9.1.2, rate=1Mb/s'");
	cr_assert(ng_con_wait(&con, "net: eth1: address 10.9.1.2", 0, 20000), "%s", con.c_out);
	char *rate = stack_xs_read(&s, "/local/domain/0/backend/vif/1/1/rate");
	cr_assert_not_null(rate, "no rate key in the limited vif's backend");
	cr_assert_str_eq(rate, "6250,50000");
	free(rate);

	const char *out = ng_run(&con, "net send eth0 %d 1514", RATE_FRAMES * 4);
	double unlimited = ng_mbits(out, &n);
	cr_assert_eq(n, RATE_FRAMES * 4, "%s", out);
	cr_assert_not_null(strstr(out, "0 refused by the backend"), "%s", out);

	out = ng_run(&con, "net send eth1 %d 1514", RATE_FRAMES);
	double limited = ng_mbits(out, &n);
	cr_assert_eq(n, RATE_FRAMES, "every frame goes, only later:\n%s", out);
	cr_assert_not_null(strstr(out, "0 refused by the backend"), "%s", out);
	cr_log_info("unlimited %.1f Mbit/s, rate=1Mb/s %.2f Mbit/s", unlimited, limited);
	cr_assert_lt(limited, 3.0, "rate=1Mb/s sent at %.2f Mbit/s", limited);
	cr_assert_lt(limited * 10, unlimited, "limited %.2f Mbit/s against unlimited %.2f",
	    limited, unlimited);
	/* and the limit is the vif's alone: eth0 is as fast afterwards */
	out = ng_run(&con, "net send eth0 %d 1514", RATE_FRAMES);
	cr_assert_lt(limited * 10, ng_mbits(out, &n), "%s", out);
}
