/*
 * Networking end to end, driven from inside guests: a network namespace of
 * the test's own (unshare: it goes with the test process, and every tap and
 * bridge in it), a bridge xenbr0 holding dom0's 10.9.0.1, a private stack
 * with netback, pvguests created by xl with bridged vifs and their consoles
 * on ptys. dom0 pings a guest and a guest dom0, two guests ping each other,
 * frames over a page cross with feature-sg, and an interface attached to and
 * detached from a running guest carries pings in between.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "netguest.h"
#include "stack.h"

static struct stack s;
static struct ng_con cons[2] = { { .c_pid = -1 }, { .c_pid = -1 } };

static void
setup(void)
{
	ng_start(&s, "netguest", "10.9.0.1/24");
}

static void
teardown(void)
{
	ng_con_close(&cons[0]);
	ng_con_close(&cons[1]);
	ng_sh(NULL, "$XL destroy g1; $XL destroy g2");
	stack_stop(&s);
	ng_sh(NULL, "ip link del xenbr0");
}

TestSuite(net_guest, .init = setup, .fini = teardown, .timeout = 240);

Test(net_guest, dom0_and_guest_ping_each_other)
{
	ng_boot(&cons[0], s.s_rundir, "g1", "'ip=10.9.0.2'");
	cr_assert(ng_con_wait(&cons[0],
	    "net: eth0: address 10.9.0.2 netmask 255.0.0.0 (the vif's ip key)", 0, 20000), "%s",
	    cons[0].c_out);
	ng_expect_in(ng_run(&cons[0], "net list"), "10.9.0.2        255.0.0.0       connected");
	cr_assert_eq(ng_dom0_ping("10.9.0.2", 3), 3, "dom0 pings the guest; guest:\n%s",
	    cons[0].c_out);
	const char *out = ng_run(&cons[0], "net ping 10.9.0.1 3");
	ng_expect_in(out, "3 packets transmitted, 3 received, 0% packet loss");
	ng_expect_in(ng_run(&cons[0], "net stats"), "echo requests answered 3");
}

Test(net_guest, two_guests_ping_each_other_with_frames_over_a_page)
{
	ng_boot(&cons[0], s.s_rundir, "g1", "'ip=10.9.0.2,mtu=9000'");
	ng_boot(&cons[1], s.s_rundir, "g2", "'ip=10.9.0.3,mtu=9000'");
	cr_assert(ng_con_wait(&cons[1], "net: eth0: address 10.9.0.3", 0, 20000), "%s",
	    cons[1].c_out);
	const char *out = ng_run(&cons[0], "net ping 10.9.0.3 3");
	ng_expect_in(out, "3 packets transmitted, 3 received");
	out = ng_run(&cons[1], "net ping 10.9.0.2 3");
	ng_expect_in(out, "3 packets transmitted, 3 received");
	/* 8000 data bytes: 8042-byte frames over two slots each way */
	out = ng_run(&cons[0], "net ping 10.9.0.3 2 8000");
	ng_expect_in(out, "8008 bytes from 10.9.0.3: icmp_seq=2");
	ng_expect_in(out, "2 received");
	ng_expect_in(ng_run(&cons[1], "net stats"), "echo requests answered 5");
}

Test(net_guest, interface_attached_and_detached_while_running)
{
	char *o;

	ng_boot(&cons[0], s.s_rundir, "g1", "'ip=10.9.0.2'");
	int rc = ng_sh(&o, "$XL network-attach g1 ip=10.9.0.12 mac=00:16:3e:00:09:12");
	cr_assert_eq(rc, 0, "%s", o);
	cr_assert(ng_con_wait(&cons[0], "net: eth1: address 10.9.0.12", 0, 20000), "%s",
	    cons[0].c_out);
	rc = ng_sh(&o, "$XL network-list g1");
	cr_assert_eq(rc, 0, "%s", o);
	ng_expect_in(o, "00:16:3e:00:09:12");
	cr_assert_eq(ng_dom0_ping("10.9.0.12", 2), 2, "dom0 pings the new interface");
	rc = ng_sh(&o, "$XL network-detach g1 00:16:3e:00:09:12");
	cr_assert_eq(rc, 0, "%s", o);
	cr_assert(ng_con_wait(&cons[0], "net: vif 1: disconnected", 0, 20000), "%s",
	    cons[0].c_out);
	ng_expect_in(ng_run(&cons[0], "net list"), "eth0");
	cr_assert_null(strstr(ng_run(&cons[0], "net list"), "eth1"), "eth1 is gone");
	cr_assert_neq(ng_sh(&o, "ls /sys/class/net | grep -c '^vif.*\\.1$'"), 0,
	    "no tap vif*.1 left:\n%s", o);
	cr_assert_eq(ng_dom0_ping("10.9.0.2", 1), 1, "eth0 carries on");
}
