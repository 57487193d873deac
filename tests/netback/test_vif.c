/*
 * netback's device handshake, in a network namespace of the test's own: the
 * tap appears on the bridge with Xen's dom0-side MAC, the MTU and vifname
 * asked for, the netif features are advertised, Connected follows the
 * frontend; the tap goes when the device does. A missing bridge, a frontend
 * without request-rx-copy and a bad mac key fail with messages naming them;
 * script= runs hotplug/vif-bridge with Xen's contract.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nbfront.h"
#include "stack.h"

static struct stack st;

/* A namespace, its xenbr0 (unless bridge is NULL), the stack with netback. */
static void
setup_with(const char *bridge)
{
	nbf_netns();
	if (bridge)
		nbf_bridge_add(bridge);
	setenv("PVSTACK_CONFDIR", "/nonexistent", 1);	/* xl.conf's defaults */
	stack_start(&st, "nbvif", STACK_WITH(STACK_NETBACK));
}

static void
setup(void)
{
	if (!stack_have(STACK_WITH(STACK_NETBACK)))
		cr_skip_test("netback not built");
	setup_with("xenbr0");
}

static void
teardown(void)
{
	stack_stop(&st);
}

/* Waits for hotplug-status to read want. */
static int
wait_hotplug(struct nbfront *f, const char *want, int ms)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/hotplug-status", f->f_be);
	return stack_xs_wait(&st, p, want, ms);
}

/* Waits for the interface to go. */
static int
wait_gone(const char *ifname, int ms)
{
	long long deadline = stack_now_ms() + ms;

	while (nbf_ifindex(ifname) != 0) {
		if (stack_now_ms() > deadline)
			return -1;
		usleep(2000);
	}
	return 0;
}

Test(vif, tap_on_bridge, .init = setup, .fini = teardown)
{
	struct nbfront f;
	char mac[18], *v;

	nbf_domain(&f, &st);
	nbf_devdirs(&f, 0, NULL);
	cr_assert_eq(nbf_wait_be(&f, 2, 5000), 0, "no InitWait (state %d)", nbf_be_state(&f));
	cr_assert_eq(wait_hotplug(&f, "connected", 1000), 0);
	cr_assert_gt(nbf_ifindex(f.f_ifname), 0, "no %s", f.f_ifname);
	cr_assert_eq(nbf_master(f.f_ifname), nbf_ifindex("xenbr0"), "%s is not on xenbr0", f.f_ifname);
	cr_assert_eq(nbf_mtu(f.f_ifname), 1500);
	cr_assert(nbf_up(f.f_ifname));
	nbf_mac(f.f_ifname, mac);
	cr_assert_str_eq(mac, "fe:ff:ff:ff:ff:ff", "the tap must never carry the guest's MAC");
	static const char *const keys[][2] = { { "feature-rx-copy", "1" }, { "feature-sg", "1" },
	    { "feature-gso-tcpv4", "1" }, { "feature-split-event-channels", "1" },
	    { "feature-rx-flip", "0" } };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = nbf_be_read(&f, keys[i][0]);
		cr_assert_str_eq(v ? v : "(absent)", keys[i][1], "%s", keys[i][0]);
		free(v);
	}
	v = nbf_be_read(&f, "multi-queue-max-queues");
	cr_assert(v && atoi(v) >= 1, "multi-queue-max-queues");
	free(v);
	nbf_connect(&f, 1, NBF_SG, 4);
	cr_assert_eq(nbf_wait_be(&f, 4, 5000), 0, "not Connected (state %d)", nbf_be_state(&f));
	cr_assert_eq(nbf_detach(&f, 5000), 0, "detach: state %d", nbf_be_state(&f));
	nbf_rmdirs(&f);
	cr_assert_eq(wait_gone(f.f_ifname, 5000), 0, "%s outlived its device", f.f_ifname);
	nbf_destroy(&f);
}

Test(vif, vifname_and_mtu, .init = setup, .fini = teardown)
{
	static const char *const extra[] = { "vifname=guestnet0", "mtu=9000", NULL };
	struct nbfront f;

	nbf_domain(&f, &st);
	nbf_devdirs(&f, 3, extra);
	cr_assert_eq(nbf_wait_be(&f, 2, 5000), 0);
	cr_assert_str_eq(f.f_ifname, "guestnet0");
	cr_assert_gt(nbf_ifindex("guestnet0"), 0);
	cr_assert_eq(nbf_mtu("guestnet0"), 9000);
	cr_assert_eq(nbf_master("guestnet0"), nbf_ifindex("xenbr0"));
	nbf_destroy(&f);
	nbf_rmdirs(&f);
	cr_assert_eq(wait_gone("guestnet0", 5000), 0);
}

Test(vif, missing_bridge_named, .init = setup, .fini = teardown)
{
	static const char *const extra[] = { "bridge=brnone", NULL };
	struct nbfront f;
	char *err;

	nbf_domain(&f, &st);
	nbf_devdirs(&f, 0, extra);
	cr_assert_eq(wait_hotplug(&f, "error", 5000), 0);
	err = nbf_be_read(&f, "hotplug-error");
	cr_assert(err && strstr(err, "bridge brnone does not exist"), "hotplug-error: %s", err);
	free(err);
	/* netback says why first, then takes its half-made tap away */
	cr_assert_eq(wait_gone(f.f_ifname, 5000), 0, "a tap on no bridge was left behind");
	cr_assert_eq(kill(st.s_pid[STACK_NETBACK], 0), 0, "netback died");
	nbf_destroy(&f);
}

Test(vif, no_xenbr0_says_how, .fini = teardown)
{
	struct nbfront f;
	char *err;

	if (!stack_have(STACK_WITH(STACK_NETBACK)))
		cr_skip_test("netback not built");
	setup_with(NULL);
	nbf_domain(&f, &st);
	nbf_devdirs(&f, 0, NULL);
	cr_assert_eq(wait_hotplug(&f, "error", 5000), 0);
	err = nbf_be_read(&f, "hotplug-error");
	cr_assert(err && strstr(err, "xenbr0 does not exist") &&
	    strstr(err, "ip link add xenbr0 type bridge"), "hotplug-error: %s", err);
	free(err);
	nbf_destroy(&f);
}

Test(vif, refuses_without_rx_copy, .init = setup, .fini = teardown)
{
	struct nbfront f;
	char *err;

	nbf_domain(&f, &st);
	nbf_devdirs(&f, 0, NULL);
	cr_assert_eq(nbf_wait_be(&f, 2, 5000), 0);
	nbf_connect(&f, 1, NBF_NO_RX_COPY, 4);
	cr_assert_eq(nbf_wait_be(&f, 6, 5000), 0, "state %d", nbf_be_state(&f));
	err = nbf_be_read(&f, "hotplug-error");
	cr_assert(err && strstr(err, "request-rx-copy"), "hotplug-error: %s", err);
	free(err);
	nbf_destroy(&f);
}

Test(vif, bad_mac, .init = setup, .fini = teardown)
{
	static const char *const extra[] = { "mac=00:16:3e:zz:00:01", NULL };
	struct nbfront f;
	char *err;

	nbf_domain(&f, &st);
	nbf_devdirs(&f, 0, extra);
	cr_assert_eq(wait_hotplug(&f, "error", 5000), 0);
	err = nbf_be_read(&f, "hotplug-error");
	cr_assert(err && strstr(err, "00:16:3e:zz:00:01"), "hotplug-error: %s", err);
	free(err);
	nbf_destroy(&f);
}

Test(vif, script_vif_bridge, .init = setup, .fini = teardown)
{
	static const char *const extra[] = { "script=" NBF_VIF_BRIDGE, NULL };
	struct nbfront f;
	char *v;

	if (access("/usr/bin/xenstore-write", X_OK) < 0)
		cr_skip_test("no xenstore-utils for the script");
	nbf_domain(&f, &st);
	nbf_devdirs(&f, 0, extra);
	cr_assert_eq(nbf_wait_be(&f, 2, 10000), 0, "state %d", nbf_be_state(&f));
	cr_assert_eq(wait_hotplug(&f, "connected", 1000), 0);
	v = nbf_be_read(&f, "hotplug-exit-status");
	cr_assert_str_eq(v ? v : "(absent)", "0", "the script did not run");
	free(v);
	cr_assert_eq(nbf_master(f.f_ifname), nbf_ifindex("xenbr0"));
	nbf_connect(&f, 1, NBF_SG, 4);
	cr_assert_eq(nbf_wait_be(&f, 4, 5000), 0);
	cr_assert_eq(nbf_detach(&f, 5000), 0);
	nbf_rmdirs(&f);
	cr_assert_eq(wait_gone(f.f_ifname, 10000), 0, "offline did not let the tap go");
	nbf_destroy(&f);
}
