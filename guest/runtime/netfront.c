/*
 * netfront's handshake: what the backend offers is read once it is in
 * InitWait (rx-copy, which we require, sg, queues, split event channels),
 * the interface's own keys (mac, mtu) from our directory as the toolstack
 * wrote them, the rings built to match and published with our features.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_ip.h"
#include "netfront_int.h"
#include "xmalloc.h"

/* A decimal key under dir (absolute); def when absent. -1 EINVAL naming the key in why. */
static int
netfront_read_ul(struct netfront *nf, const char *dir, const char *key, unsigned long def,
    unsigned long *val, char *why, size_t len)
{
	char path[FRONTEND_PATH_MAX + 64], *end;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	char *s = xenbus_read(nf->nf_g->g_xb, XENBUS_TX_NONE, path, NULL);
	if (s == NULL) {
		if (errno == ENOENT) {
			*val = def;
			return 0;
		}
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	*val = strtoul(s, &end, 10);
	int ok = errno == 0 && end != s && *end == '\0' && s[0] != '-';
	free(s);
	if (ok)
		return 0;
	snprintf(why, len, "%s: not a number", path);
	errno = EINVAL;
	return -1;
}

/* "netfront.<name>=N" on the guest's command line (as Linux's module
 * parameter max_queues): our limit lowered, or def. */
static unsigned long
netfront_param(struct netfront *nf, const char *name, unsigned long def)
{
	char key[64];
	const char *cmdline = (const char *)nf->nf_g->g_start.cmd_line;

	snprintf(key, sizeof(key), "netfront.%s=", name);
	for (const char *at = strstr(cmdline, key); at != NULL; at = strstr(at + 1, key)) {
		if (at != cmdline && at[-1] != ' ')
			continue;
		unsigned long v = strtoul(at + strlen(key), NULL, 10);
		return v < def ? v : def;
	}
	return def;
}

/* Our MAC: our own mac key (the toolstack's, as Mini-OS reads it), else the backend's. */
static int
netfront_read_mac(struct netfront *nf, char *why, size_t len)
{
	char path[FRONTEND_PATH_MAX + 8];
	const char *where = nf->nf_fe.fe_dir;

	snprintf(path, sizeof(path), "%s/mac", nf->nf_fe.fe_dir);
	char *mac = xenbus_read(nf->nf_g->g_xb, XENBUS_TX_NONE, path, NULL);
	if (mac == NULL) {
		where = nf->nf_fe.fe_backend;
		mac = frontend_backend_read(&nf->nf_fe, "mac");
	}
	if (mac == NULL) {
		snprintf(why, len, "%s/mac: %s", where, strerror(errno));
		return -1;
	}
	/* a group address is no interface's */
	int rc = net_mac_parse(mac, nf->nf_info.ni_mac) < 0 || (nf->nf_info.ni_mac[0] & 1) ? -1 : 0;
	if (rc < 0) {
		snprintf(why, len, "%s/mac: \"%s\" is not a unicast MAC address", where, mac);
		errno = EINVAL;
	}
	free(mac);
	return rc;
}

/* What the backend offers, before we build the rings. */
static int
netfront_read_features(struct netfront *nf, char *why, size_t len)
{
	struct netfront_info *ni = &nf->nf_info;
	const char *be = nf->nf_fe.fe_backend;
	unsigned long copy, sg, split, queues, mtu;

	if (netfront_read_ul(nf, be, "feature-rx-copy", 0, &copy, why, len) < 0 ||
	    netfront_read_ul(nf, be, "feature-sg", 0, &sg, why, len) < 0 ||
	    netfront_read_ul(nf, be, "feature-split-event-channels", 0, &split, why, len) < 0 ||
	    netfront_read_ul(nf, be, "multi-queue-max-queues", 1, &queues, why, len) < 0 ||
	    netfront_read_ul(nf, nf->nf_fe.fe_dir, "mtu", 1500, &mtu, why, len) < 0)
		return -1;
	if (copy == 0) {
		snprintf(why, len, "%s/feature-rx-copy: the backend does not offer rx-copy, "
		    "the only receive mode netfront has", be);
		errno = EOPNOTSUPP;
		return -1;
	}
	if (mtu < 68 || mtu > NETFRONT_FRAME_MAX - 18) {
		snprintf(why, len, "%s/mtu: %lu is not from 68 to %u", nf->nf_fe.fe_dir, mtu,
		    NETFRONT_FRAME_MAX - 18);
		errno = EINVAL;
		return -1;
	}
	queues = netfront_param(nf, "max_queues", queues);
	nf->nf_max_queues = (unsigned)(queues > 64 ? 64 : queues);
	nf->nf_nqueues = queues == 0 ? 1 : queues < NETFRONT_MAX_QUEUES ? (unsigned)queues :
	    NETFRONT_MAX_QUEUES;
	ni->ni_queues = nf->nf_nqueues;
	ni->ni_sg = sg != 0;
	ni->ni_split = split != 0;
	ni->ni_mtu = (unsigned)mtu;
	char *ip = frontend_backend_read(&nf->nf_fe, "ip");
	snprintf(ni->ni_ip, sizeof(ni->ni_ip), "%s", ip != NULL ? ip : "");
	free(ip);
	return 0;
}

/* Inside the connect transaction: rings, event channels, what we do. */
static int
netfront_publish(struct frontend *fe, xenbus_tx_t tx, void *arg)
{
	struct netfront *nf = arg;

	if (netfront_rings_publish(nf, tx) < 0 ||
	    frontend_printf(fe, tx, "request-rx-copy", "1") < 0 ||
	    frontend_printf(fe, tx, "feature-rx-notify", "1") < 0 ||
	    frontend_printf(fe, tx, "feature-sg", "1") < 0 ||
	    frontend_printf(fe, tx, "feature-no-csum-offload", "1") < 0)
		return -1;
	return 0;
}

/* Why the backend never said Connected: its own words when it left them. */
static void
netfront_connect_failed(struct netfront *nf, char *why, size_t len)
{
	int err = errno;
	char *msg = frontend_backend_read(&nf->nf_fe, "hotplug-error");

	if (msg != NULL && msg[0] != '\0')
		snprintf(why, len, "%s: %s", nf->nf_fe.fe_backend, msg);
	else
		snprintf(why, len, "%s: connect: %s", nf->nf_fe.fe_backend, strerror(err));
	free(msg);
	errno = err;
}

static void
netfront_free(struct netfront *nf)
{
	netfront_rings_fini(nf);
	free(nf->nf_gather);
	free(nf);
}

/* Time left until deadline for a wait (-1 none, 0 passed). */
static int
netfront_left(long long deadline)
{
	if (deadline < 0)
		return -1;
	long long left = deadline - events_now_ms();
	return left > 0 ? (int)left : 0;
}

struct netfront *
netfront_open(struct guest *g, const char *devid, int timeout_ms, char *why, size_t len)
{
	struct netfront *nf = xcalloc(1, sizeof(*nf));
	long long deadline = timeout_ms < 0 ? -1 : events_now_ms() + timeout_ms;
	char *end;

	nf->nf_g = g;
	snprintf(nf->nf_devid, sizeof(nf->nf_devid), "%s", devid);
	unsigned long v = strtoul(devid, &end, 10);
	if (*devid == '\0' || *end != '\0' || v > 65535) {
		snprintf(why, len, "device/vif/%s: not a vif handle", devid);
		errno = EINVAL;
		goto fail;
	}
	if (frontend_init(&nf->nf_fe, g, "vif", devid) < 0) {
		snprintf(why, len, "device/vif/%s: backend or backend-id: %s", devid, strerror(errno));
		goto fail;
	}
	if (xenbus_wait_for_state(g->g_xb, nf->nf_fe.fe_backend, XenbusStateInitWait,
	    XenbusStateConnected, netfront_left(deadline), NULL) < 0) {
		snprintf(why, len, "%s: backend not ready: %s", nf->nf_fe.fe_backend, strerror(errno));
		goto fail;
	}
	if (netfront_read_mac(nf, why, len) < 0 || netfront_read_features(nf, why, len) < 0)
		goto fail;
	if (netfront_rings_init(nf) < 0) {
		snprintf(why, len, "rings: %s", strerror(errno));
		goto fail;
	}
	if (frontend_connect(&nf->nf_fe, netfront_publish, nf, netfront_left(deadline)) < 0) {
		netfront_connect_failed(nf, why, len);
		goto fail;
	}
	return nf;
fail:;
	int saved = errno;
	netfront_free(nf);
	errno = saved;
	return NULL;
}

/* Waits until dir's state is at least want, or gone (the toolstack removed
 * the device). */
static int
netfront_wait_closed(struct guest *g, const char *dir, XenbusState want, long long deadline)
{
	for (;;) {
		XenbusState st = xenbus_read_state(g->g_xb, XENBUS_TX_NONE, dir);
		if (st == XenbusStateUnknown || (st >= want && st <= XenbusStateClosed))
			return 0;
		long long left = deadline - events_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		xenbus_wait_for_state(g->g_xb, dir, want, XenbusStateClosed, left < 200 ? (int)left : 200,
		    NULL);
	}
}

int
netfront_close(struct netfront *nf, int timeout_ms)
{
	struct guest *g = nf->nf_g;
	long long deadline = events_now_ms() + (timeout_ms < 0 ? NETFRONT_CONNECT_MS : timeout_ms);
	int rc = 0;

	netfront_stop(nf, ESHUTDOWN, "closed");
	if (xenbus_switch_state(g->g_xb, XENBUS_TX_NONE, nf->nf_fe.fe_dir, XenbusStateClosing) < 0 ||
	    netfront_wait_closed(g, nf->nf_fe.fe_backend, XenbusStateClosing, deadline) < 0)
		rc = -1;
	if (xenbus_switch_state(g->g_xb, XENBUS_TX_NONE, nf->nf_fe.fe_dir, XenbusStateClosed) < 0 ||
	    netfront_wait_closed(g, nf->nf_fe.fe_backend, XenbusStateClosed, deadline) < 0)
		rc = -1;
	int saved = errno;
	netfront_free(nf);
	errno = saved;
	return rc;
}

const struct netfront_info *
netfront_info(const struct netfront *nf)
{
	return &nf->nf_info;
}

const struct netfront_stats *
netfront_stats(const struct netfront *nf)
{
	return &nf->nf_stats;
}

const char *
netfront_devid(const struct netfront *nf)
{
	return nf->nf_devid;
}

void
netfront_set_rx(struct netfront *nf, netfront_rx_fn *fn, void *arg)
{
	nf->nf_rx = fn;
	nf->nf_rx_arg = arg;
}

int
netfront_broken(const struct netfront *nf)
{
	return nf->nf_broken;
}

const char *
netfront_why(const struct netfront *nf)
{
	return nf->nf_why;
}

size_t
netfront_max_frame(const struct netfront *nf)
{
	size_t max = (size_t)nf->nf_info.ni_mtu + 18;

	if (!nf->nf_info.ni_sg && max > NETFRONT_PAGE)
		max = NETFRONT_PAGE;
	return max < NETFRONT_FRAME_MAX ? max : NETFRONT_FRAME_MAX;
}
