/*
 * The guest's interfaces: device/vif tracked by frontend_bus.c, which
 * connects, closes and reconnects them as their backends move. A backend
 * that goes back to InitWait while we are connected (a restarted backend
 * worker) has its interface closed, re-armed and connected again; the hooks
 * hear each one come up and go down.
 */
#include "frontend_bus.h"
#include "netfront_int.h"

static struct {
	struct guest *b_g;
	struct netfront_hooks b_hooks;
	struct frontend_bus b_bus;
} netfront_bus;

/* "vif 0: connected, mac 00:16:3e:..., mtu 1500, queues 2, ..." */
static void
netfront_bus_report_up(struct netfront *nf)
{
	const struct netfront_info *ni = netfront_info(nf);
	const uint8_t *m = ni->ni_mac;

	netfront_bus.b_hooks.nh_report(netfront_bus.b_g,
	    "net: vif %s: connected, mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, queues %u, "
	    "buffers %u, sg %s, split %s\n", netfront_devid(nf), m[0], m[1], m[2], m[3], m[4], m[5],
	    ni->ni_mtu, ni->ni_queues, ni->ni_bufs, ni->ni_sg ? "yes" : "no",
	    ni->ni_split ? "yes" : "no");
}

/* Opens an interface for the bus, saying how it went; the up hook hears it. */
static void *
netfront_bus_connect(struct guest *g, const char *devid)
{
	char why[256];
	struct netfront *nf = netfront_open(g, devid, NETFRONT_CONNECT_MS, why, sizeof(why));

	if (nf == NULL) {
		netfront_bus.b_hooks.nh_report(g, "net: vif %s: %s\n", devid, why);
		return NULL;
	}
	netfront_bus_report_up(nf);
	if (netfront_bus.b_hooks.nh_up != NULL)
		netfront_bus.b_hooks.nh_up(nf, netfront_bus.b_hooks.nh_arg);
	return nf;
}

/* Closes an interface for the bus, the down hook first. */
static void
netfront_bus_close(void *dev, const char *devid, const char *why)
{
	struct netfront *nf = dev;

	if (netfront_bus.b_hooks.nh_down != NULL)
		netfront_bus.b_hooks.nh_down(nf, netfront_bus.b_hooks.nh_arg);
	netfront_close(nf, NETFRONT_CONNECT_MS);
	netfront_bus.b_hooks.nh_report(netfront_bus.b_g, "net: vif %s: disconnected (%s)\n", devid,
	    why);
}

static const struct frontend_bus_ops netfront_bus_ops = {
	.fbo_kind = "vif",
	.fbo_name = "netfront",
	.fbo_max = 16,
	.fbo_connect = netfront_bus_connect,
	.fbo_close = netfront_bus_close,
};

int
netfront_bus_init(struct guest *g, const struct netfront_hooks *h)
{
	netfront_bus.b_g = g;
	netfront_bus.b_hooks = *h;
	return frontend_bus_init(&netfront_bus.b_bus, g, &netfront_bus_ops);
}

struct netfront *
netfront_bus_get(unsigned i)
{
	return frontend_bus_get(&netfront_bus.b_bus, i);
}
