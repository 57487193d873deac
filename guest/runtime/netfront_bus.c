/*
 * The guest's interfaces: every device/vif the toolstack lists is tracked
 * with a watch on its backend's state. A backend ready at boot is connected
 * at once; one that becomes ready later (or a vif attached later) is
 * connected from the watch; a backend that closes (detach) is closed on our
 * side, and one that goes back to InitWait while we are connected (a
 * restarted backend worker) is connected again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfront_int.h"
#include "xmalloc.h"

#define NETFRONT_BUS_MAX 16
#define NETFRONT_BUS_TOKEN "netfront-bus"

struct netfront_dev {
	char nd_devid[16];
	char nd_backend[FRONTEND_PATH_MAX];
	char nd_state[FRONTEND_PATH_MAX + 8];	/* <backend>/state, watched */
	char nd_online[FRONTEND_PATH_MAX + 8];	/* <backend>/online */
	char nd_token[32];
	struct netfront *nd_nf;
	bool nd_failed;		/* the last connect failed: wait for the backend to move */
	XenbusState nd_seen;
};

static struct {
	struct guest *b_g;
	struct netfront_hooks b_hooks;
	struct netfront_dev *b_devs[NETFRONT_BUS_MAX];
	unsigned b_ndevs;
	unsigned b_seq;
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

/* Connects d; a failure is said once and retried when the backend moves. */
static void
netfront_bus_connect(struct netfront_dev *d)
{
	char why[256];

	d->nd_nf = netfront_open(netfront_bus.b_g, d->nd_devid, NETFRONT_CONNECT_MS, why,
	    sizeof(why));
	if (d->nd_nf == NULL) {
		d->nd_failed = true;
		netfront_bus.b_hooks.nh_report(netfront_bus.b_g, "net: vif %s: %s\n", d->nd_devid, why);
		return;
	}
	d->nd_failed = false;
	netfront_bus_report_up(d->nd_nf);
	if (netfront_bus.b_hooks.nh_up != NULL)
		netfront_bus.b_hooks.nh_up(d->nd_nf, netfront_bus.b_hooks.nh_arg);
}

/* Closes d's interface; unless the toolstack is taking the device away
 * (online=0), re-arms it (Initialising) so the backend may come back. */
static void
netfront_bus_disconnect(struct netfront_dev *d, const char *why)
{
	struct guest *g = netfront_bus.b_g;

	if (netfront_bus.b_hooks.nh_down != NULL)
		netfront_bus.b_hooks.nh_down(d->nd_nf, netfront_bus.b_hooks.nh_arg);
	struct frontend fe = d->nd_nf->nf_fe;
	netfront_close(d->nd_nf, NETFRONT_CONNECT_MS);
	d->nd_nf = NULL;
	netfront_bus.b_hooks.nh_report(g, "net: vif %s: disconnected (%s)\n", d->nd_devid, why);
	long online = 0;
	if (xenbus_read_long(g->g_xb, XENBUS_TX_NONE, d->nd_online, &online) == 0 && online == 1)
		xenbus_switch_state(g->g_xb, XENBUS_TX_NONE, fe.fe_dir, XenbusStateInitialising);
}

/* The backend's state moved: connect, close or reconnect. */
static void
netfront_bus_changed(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	struct netfront_dev *d = arg;
	XenbusState st = xenbus_read_state(xb, XENBUS_TX_NONE, d->nd_backend);
	XenbusState was = d->nd_seen;

	(void)path;
	(void)token;
	d->nd_seen = st;
	if (d->nd_nf != NULL) {
		if (st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown)
			netfront_bus_disconnect(d, xenbus_state_name(st));
		else if (st == XenbusStateInitWait && was != XenbusStateInitWait) {
			netfront_bus_disconnect(d, "backend restarted");
			netfront_bus_connect(d);
		}
		return;
	}
	if (st == was && d->nd_failed)
		return;
	if (st >= XenbusStateInitWait && st <= XenbusStateConnected)
		netfront_bus_connect(d);
}

/* Starts tracking device/vif/<devid>; connects now if its backend is ready. */
static void
netfront_bus_track(const char *devid)
{
	struct guest *g = netfront_bus.b_g;
	struct frontend fe;

	if (netfront_bus.b_ndevs == NETFRONT_BUS_MAX || strlen(devid) >= 16 ||
	    frontend_init(&fe, g, "vif", devid) < 0)
		return;		/* not complete yet: a later scan tries again */
	struct netfront_dev *d = xcalloc(1, sizeof(*d));
	strcpy(d->nd_devid, devid);
	strcpy(d->nd_backend, fe.fe_backend);
	snprintf(d->nd_state, sizeof(d->nd_state), "%s/state", fe.fe_backend);
	snprintf(d->nd_online, sizeof(d->nd_online), "%s/online", fe.fe_backend);
	snprintf(d->nd_token, sizeof(d->nd_token), "netfront-%u", ++netfront_bus.b_seq);
	netfront_bus.b_devs[netfront_bus.b_ndevs++] = d;
	d->nd_seen = xenbus_read_state(g->g_xb, XENBUS_TX_NONE, fe.fe_backend);
	if (d->nd_seen >= XenbusStateInitWait && d->nd_seen <= XenbusStateConnected)
		netfront_bus_connect(d);
	xenbus_watch(g->g_xb, d->nd_state, d->nd_token, netfront_bus_changed, d);
}

/* The toolstack removed the device: close what is left and forget it. */
static void
netfront_bus_untrack(unsigned i)
{
	struct netfront_dev *d = netfront_bus.b_devs[i];

	xenbus_unwatch(netfront_bus.b_g->g_xb, d->nd_state, d->nd_token);
	if (d->nd_nf != NULL)
		netfront_bus_disconnect(d, "removed");
	memmove(&netfront_bus.b_devs[i], &netfront_bus.b_devs[i + 1],
	    (netfront_bus.b_ndevs - i - 1) * sizeof(netfront_bus.b_devs[0]));
	netfront_bus.b_ndevs--;
	free(d);
}

/* Whether ids (num of them) holds id. */
static bool
netfront_bus_listed(char **ids, unsigned num, const char *id)
{
	for (unsigned i = 0; i < num; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

/* device/vif changed: new ids are tracked, vanished ones forgotten. */
static void
netfront_bus_scan(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	unsigned num = 0;
	char **ids = frontend_list(netfront_bus.b_g, "vif", &num);

	(void)xb;
	(void)path;
	(void)token;
	(void)arg;
	for (unsigned i = netfront_bus.b_ndevs; i-- > 0;) {
		if (!netfront_bus_listed(ids, ids ? num : 0, netfront_bus.b_devs[i]->nd_devid))
			netfront_bus_untrack(i);
	}
	for (unsigned i = 0; ids != NULL && i < num; i++) {
		bool known = false;
		for (unsigned j = 0; j < netfront_bus.b_ndevs && !known; j++)
			known = strcmp(netfront_bus.b_devs[j]->nd_devid, ids[i]) == 0;
		if (!known)
			netfront_bus_track(ids[i]);
	}
	free(ids);
}

int
netfront_bus_init(struct guest *g, const struct netfront_hooks *h)
{
	netfront_bus.b_g = g;
	netfront_bus.b_hooks = *h;
	netfront_bus_scan(g->g_xb, NULL, NULL, NULL);
	return xenbus_watch(g->g_xb, "device/vif", NETFRONT_BUS_TOKEN, netfront_bus_scan, NULL);
}

struct netfront *
netfront_bus_get(unsigned i)
{
	for (unsigned j = 0; j < netfront_bus.b_ndevs; j++) {
		if (netfront_bus.b_devs[j]->nd_nf != NULL && i-- == 0)
			return netfront_bus.b_devs[j]->nd_nf;
	}
	return NULL;
}
