/*
 * xl network-attach, network-detach and network-list on a running pvguest in
 * a private stack without netback: the directories appear with create's keys
 * and permissions (a chosen devid and a MAC in 00:16:3e when none is given),
 * the list has Xen's columns, detach by devid or MAC takes everything away,
 * and bad specs and unknown devices are refused with the reason.
 * Interfaces that carry frames are tested with netback in tests/netback.
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xltest.h"

static struct xlt T;

static void
setup(void)
{
	/* xenstore-level checks: no backend answers, as the test expects */
	xlt_start_skip(&T, "netback");
}

static void
teardown(void)
{
	xlt_stop(&T);
}

TestSuite(xl_network, .init = setup, .fini = teardown, .timeout = 90);

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

static int
create(const char *name)
{
	xlt_create(&T, name, NULL);
	return xlt_domid(name);
}

/* Asserts node == want (NULL: absent). */
static void
expect_node(const char *dir, const char *key, const char *want)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	char *v = xlt_xs_read(p);
	if (want == NULL)
		cr_expect_null(v, "%s = \"%s\", expected absent", p, v);
	else if (v == NULL)
		cr_expect_fail("%s absent, expected \"%s\"", p, want);
	else
		cr_expect_str_eq(v, want, "%s", p);
	free(v);
}

static int
node_exists(const char *path)
{
	char *v = xlt_xs_read(path);

	free(v);
	return v != NULL;
}

Test(xl_network, attach_list_detach_without_netback)
{
	char fe[96], be[96], *out;
	int domid = create("netg");

	int rc = xlt_run(&out, "$XL network-attach netg mac=00:16:3e:0a:0b:0c bridge=xenbr7 "
	    "ip=10.1.0.5 mtu=9000");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(matches(out, "no network backend running \\(netback\\)"), "%s", out);
	free(out);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vif/0", domid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%d/0", domid);
	expect_node(fe, "backend", be);
	expect_node(fe, "backend-id", "0");
	expect_node(fe, "handle", "0");
	expect_node(fe, "mac", "00:16:3e:0a:0b:0c");
	expect_node(fe, "mtu", "9000");
	expect_node(fe, "state", "1");
	expect_node(be, "frontend", fe);
	expect_node(be, "bridge", "xenbr7");
	expect_node(be, "ip", "10.1.0.5");
	expect_node(be, "mac", "00:16:3e:0a:0b:0c");
	expect_node(be, "online", "1");
	expect_node(be, "hotplug-status", "");
	cr_assert(node_exists("/libxl/1/device/vif/0") || domid != 1);

	/* a second one: the next devid and a random MAC in Xen's range */
	rc = xlt_run(&out, "$XL network-attach %d", domid);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vif/1/mac", domid);
	char *mac = xlt_xs_read(fe);
	cr_assert_not_null(mac);
	cr_assert(matches(mac, "^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$"), "%s", mac);

	rc = xlt_run(&out, "$XL network-list netg");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(matches(out, "^Idx BE Mac Addr\\. +handle state evt-ch +tx-/rx-ring-ref BE-path"),
	    "%s", out);
	cr_assert(matches(out, "^0   0  00:16:3e:0a:0b:0c +0 +1 +-1 +-1/-1 +/local/domain/0/backend/vif/"),
	    "%s", out);
	cr_assert(matches(out, "^1   0  00:16:3e:"), "%s", out);
	free(out);

	rc = xlt_run(&out, "$XL network-detach netg 00:16:3E:0A:0B:0C");
	cr_assert_eq(rc, 0, "detach by MAC (any case): %s", out);
	free(out);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vif/0", domid);
	cr_assert_not(node_exists(fe));
	cr_assert_not(node_exists(be));
	rc = xlt_run(&out, "$XL network-detach netg 1");
	cr_assert_eq(rc, 0, "detach by devid: %s", out);
	free(out);
	rc = xlt_run(&out, "$XL network-list netg");
	cr_assert_not(matches(out, "^[01] "), "nothing left: %s", out);
	free(mac);
	free(out);
	xlt_run(&out, "$XL destroy netg");
	free(out);
}

Test(xl_network, refusals_name_the_problem)
{
	char *out;

	create("netr");
	cr_assert_neq(xlt_run(&out, "$XL network-attach netr mac=00:16:3e:zz:00:01"), 0);
	cr_assert(matches(out, "invalid mac address \"00:16:3e:zz:00:01\""), "%s", out);
	free(out);
	cr_assert_neq(xlt_run(&out, "$XL network-attach netr colour=blue"), 0);
	cr_assert(matches(out, "unrecognized argument `colour=blue'"), "%s", out);
	free(out);
	cr_assert_neq(xlt_run(&out, "$XL network-attach nosuchdomain"), 0);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL network-attach netr devid=3"), 0, "%s", out);
	free(out);
	cr_assert_neq(xlt_run(&out, "$XL network-attach netr devid=3"), 0);
	cr_assert(matches(out, "already has a vif with devid 3"), "%s", out);
	free(out);
	cr_assert_neq(xlt_run(&out, "$XL network-detach netr 5"), 0);
	cr_assert(matches(out, "Error: Device 5 not connected\\."), "%s", out);
	free(out);
	cr_assert_neq(xlt_run(&out, "$XL network-detach netr 00:16:3e:00:00:09"), 0);
	cr_assert(matches(out, "Error: Device 00:16:3e:00:00:09 not connected\\."), "%s", out);
	free(out);
	cr_assert_neq(xlt_run(&out, "$XL network-detach netr eth0"), 0);
	cr_assert(matches(out, "'eth0' is not a vif devid or a MAC address"), "%s", out);
	free(out);
	xlt_run(&out, "$XL destroy netr");
	free(out);
}
