/*
 * netfront's handshake: what the backend offers is read once it is in
 * InitWait (rx-copy, which we require, sg, queues, split event channels),
 * the interface's own keys (mac, mtu) from our directory as the toolstack
 * wrote them, the rings built to match and published with our features.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_ip.h"
#include "netfront_int.h"
#include "xmalloc.h"

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
	struct frontend *fe = &nf->nf_fe;
	const char *be = fe->fe_backend;
	unsigned long long copy, sg, split, queues, mtu, gso;

	if (frontend_read_ull(fe, be, "feature-rx-copy", 0, &copy, why, len) < 0 ||
	    frontend_read_ull(fe, be, "feature-sg", 0, &sg, why, len) < 0 ||
	    frontend_read_ull(fe, be, "feature-gso-tcpv4", 0, &gso, why, len) < 0 ||
	    frontend_read_ull(fe, be, "feature-split-event-channels", 0, &split, why, len) < 0 ||
	    frontend_read_ull(fe, be, "multi-queue-max-queues", 1, &queues, why, len) < 0 ||
	    frontend_read_ull(fe, nf->nf_fe.fe_dir, "mtu", 1500, &mtu, why, len) < 0)
		return -1;
	if (copy == 0) {
		snprintf(why, len, "%s/feature-rx-copy: the backend does not offer rx-copy, "
		    "the only receive mode netfront has", be);
		errno = EOPNOTSUPP;
		return -1;
	}
	if (mtu < 68 || mtu > NETFRONT_FRAME_MAX - 18) {
		snprintf(why, len, "%s/mtu: %llu is not from 68 to %u", nf->nf_fe.fe_dir, mtu,
		    NETFRONT_FRAME_MAX - 18);
		errno = EINVAL;
		return -1;
	}
	/* "netfront.max_queues=N" on the command line, as Linux's module parameter */
	queues = frontend_param(nf->nf_g, "netfront", "max_queues", queues);
	nf->nf_max_queues = (unsigned)(queues > 64 ? 64 : queues);
	nf->nf_nqueues = queues == 0 ? 1 : queues < NETFRONT_MAX_QUEUES ? (unsigned)queues :
	    NETFRONT_MAX_QUEUES;
	ni->ni_queues = nf->nf_nqueues;
	ni->ni_sg = sg != 0;
	ni->ni_gso = sg != 0 && gso != 0;	/* a segment to cut spans pages */
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
	    frontend_printf(fe, tx, "feature-sg", "1") < 0)
		return -1;
	/*
	 * "netfront.gso=1": take TCP segments of up to 64 KiB and partial
	 * checksums on receive, as Linux's netfront does. Off by default: a
	 * kernel the shim runs behind it (user-mode Linux) takes no frame past
	 * its MTU, and pvguest's stack never needs a checksum the host left out.
	 */
	unsigned long long gso = frontend_param(nf->nf_g, "netfront", "gso", ULLONG_MAX);
	if (gso != ULLONG_MAX && gso != 0)	/* given, and not 0 */
		return frontend_printf(fe, tx, "feature-gso-tcpv4", "1");
	return frontend_printf(fe, tx, "feature-no-csum-offload", "1");
}

static void
netfront_free(struct netfront *nf)
{
	netfront_rings_fini(nf);
	free(nf->nf_gather);
	free(nf);
}

struct netfront *
netfront_open(struct guest *g, const char *devid, int timeout_ms, char *why, size_t len)
{
	struct netfront *nf = xcalloc(1, sizeof(*nf));
	long long deadline = frontend_deadline(timeout_ms);
	char *end;

	nf->nf_g = g;
	snprintf(nf->nf_devid, sizeof(nf->nf_devid), "%s", devid);
	unsigned long v = strtoul(devid, &end, 10);
	if (*devid == '\0' || *end != '\0' || v > 65535) {
		snprintf(why, len, "device/vif/%s: not a vif handle", devid);
		errno = EINVAL;
		goto fail;
	}
	if (frontend_probe(&nf->nf_fe, g, "vif", devid, deadline, why, len) < 0)
		goto fail;
	if (netfront_read_mac(nf, why, len) < 0 || netfront_read_features(nf, why, len) < 0)
		goto fail;
	if (netfront_rings_init(nf) < 0) {
		snprintf(why, len, "rings: %s", strerror(errno));
		goto fail;
	}
	if (frontend_connect(&nf->nf_fe, netfront_publish, nf, frontend_left(deadline)) < 0) {
		frontend_connect_failed(&nf->nf_fe, why, len);
		goto fail;
	}
	return nf;
fail:;
	int saved = errno;
	netfront_free(nf);
	errno = saved;
	return NULL;
}

int
netfront_close(struct netfront *nf, int timeout_ms)
{
	netfront_stop(nf, ESHUTDOWN, "closed");
	int rc = frontend_detach(&nf->nf_fe, timeout_ms < 0 ? NETFRONT_CONNECT_MS : timeout_ms);
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
