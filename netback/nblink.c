/*
 * The tap's link settings through libnl-route (rtnetlink), so netback runs
 * neither `ip` nor `brctl`: one RTM_NEWLINK change sets the MAC, the MTU,
 * the bridge (IFLA_MASTER) and IFF_UP.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "netback.h"
#include "nbtap.h"

/* The bridge's ifindex, or 0 with the reason in err. */
static int
nblink_bridge(struct nl_sock *sk, const char *bridge, char *err, size_t errlen)
{
	struct rtnl_link *br = NULL;
	const char *type;
	int ifindex;

	if (rtnl_link_get_kernel(sk, 0, bridge, &br) < 0) {
		if (strcmp(bridge, NETBACK_DEFAULT_BRIDGE) == 0)
			snprintf(err, errlen, "bridge %s does not exist: create it (ip link add %s "
			    "type bridge; ip link set %s up, or a bridge stanza in "
			    "/etc/network/interfaces), or name another with bridge= in the vif "
			    "spec or vif.default.bridge in xl.conf", bridge, bridge, bridge);
		else
			snprintf(err, errlen, "bridge %s does not exist", bridge);
		return 0;
	}
	type = rtnl_link_get_type(br);
	if (type == NULL || strcmp(type, "bridge") != 0) {
		snprintf(err, errlen, "%s is not a bridge (it is a %s device)", bridge,
		    type ? type : "plain");
		rtnl_link_put(br);
		return 0;
	}
	ifindex = rtnl_link_get_ifindex(br);
	rtnl_link_put(br);
	return ifindex;
}

/* The change itself, once both links are known. */
static int
nblink_change(struct nl_sock *sk, struct rtnl_link *tap, int master, unsigned mtu)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	struct nl_addr *mac = NULL;
	int rc;

	if (chg == NULL)
		return -NLE_NOMEM;
	if ((rc = nl_addr_parse(NETBACK_TAP_MAC, AF_LLC, &mac)) < 0)
		goto out;
	rtnl_link_set_addr(chg, mac);
	rtnl_link_set_mtu(chg, mtu);
	rtnl_link_set_master(chg, master);
	rtnl_link_set_flags(chg, IFF_UP);
	rc = rtnl_link_change(sk, tap, chg, 0);
out:
	if (mac)
		nl_addr_put(mac);
	rtnl_link_put(chg);
	return rc;
}

/* nbtap.h */
int
nblink_setup(const char *tapname, const char *bridge, unsigned mtu, char *err, size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *tap = NULL;
	int master, rc = -1, nlrc;

	if (sk == NULL || nl_connect(sk, NETLINK_ROUTE) < 0) {
		snprintf(err, errlen, "cannot open a netlink socket");
		goto out;
	}
	if ((master = nblink_bridge(sk, bridge, err, errlen)) == 0)
		goto out;
	if ((nlrc = rtnl_link_get_kernel(sk, 0, tapname, &tap)) < 0) {
		snprintf(err, errlen, "tap %s vanished: %s", tapname, nl_geterror(nlrc));
		goto out;
	}
	if ((nlrc = nblink_change(sk, tap, master, mtu)) < 0) {
		snprintf(err, errlen, "cannot set up %s on bridge %s (mtu %u): %s", tapname, bridge,
		    mtu, nl_geterror(nlrc));
		goto out;
	}
	rc = 0;
out:
	if (tap)
		rtnl_link_put(tap);
	if (sk)
		nl_socket_free(sk);
	return rc;
}
