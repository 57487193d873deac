/*
 * netback's device, daemon side: the netif keys of the backend directory
 * (reference devices.md §3.2), the tap made and put on its bridge, the
 * hotplug step, the frontend's rings read at connect.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "libhv.h"
#include "log.h"
#include "nbtap.h"
#include "vif.h"
#include "xmalloc.h"

#define VIF_ABSENT	(1ull << 40)	/* a key's default that no valid value equals */

/* What a frontend reads before it connects (netif.h's feature keys). */
static void
vif_write_features(struct vif *v)
{
	struct backend_dev *d = v->v_dev;

	backend_dev_write(d, XS_TX_NONE, "feature-sg", "1");
	backend_dev_write(d, XS_TX_NONE, "feature-gso-tcpv4", "1");
	backend_dev_write(d, XS_TX_NONE, "feature-ipv6-csum-offload", "1");
	backend_dev_write(d, XS_TX_NONE, "feature-rx-copy", "1");
	backend_dev_write(d, XS_TX_NONE, "feature-rx-flip", "0");
	backend_dev_write(d, XS_TX_NONE, "feature-split-event-channels", "1");
	backend_dev_write(d, XS_TX_NONE, "multi-queue-max-queues", "%u", v->v_ntaps);
}

/* The tap, made and put on its bridge; the device fails naming what is wrong. */
static int
vif_tap_up(struct vif *v)
{
	char err[512];

	v->v_ntaps = v->v_nb->nb_max_queues;
	if (nbtap_create(v->v_name, v->v_ntaps, v->v_tapfd, err, sizeof(err)) < 0) {
		v->v_ntaps = 0;
		backend_dev_fail(v->v_dev, "error", "vif %u: %s", backend_dev_devid(v->v_dev), err);
		return -1;
	}
	if (nblink_setup(v->v_name, v->v_bridge, v->v_mtu, err, sizeof(err)) < 0) {
		backend_dev_fail(v->v_dev, "error", "vif %u: %s", backend_dev_devid(v->v_dev), err);
		while (v->v_ntaps > 0)		/* no tap left on no bridge */
			close(v->v_tapfd[--v->v_ntaps]);
		return -1;
	}
	log_info("%s: %s on %s, mtu %u, guest mac %s%s", backend_dev_name(v->v_dev), v->v_name,
	    v->v_bridge, v->v_mtu, v->v_mac, v->v_credit_bytes ? ", rate limited" : "");
	return 0;
}

/* The worker's config: the domain's memory and the tap's queues. */
static int
vif_config(struct backend_dev *d, struct vif *v, struct backend_blob *cfg)
{
	struct hv_foreign_mem mem;
	struct netback_config c = { .nc_ntaps = v->v_ntaps, .nc_mtu = v->v_mtu,
	    .nc_credit_bytes = v->v_credit_bytes, .nc_credit_usec = v->v_credit_usec,
	    .nc_flags = v->v_credit_bytes ? NETBACK_F_RATE : 0 };

	if (hv_foreign_memfd(backend_dev_hv(d), backend_dev_domid(d), &mem) < 0) {
		backend_dev_fail(d, "error", "cannot get domain %u's memory: %s",
		    backend_dev_domid(d), strerror(errno));
		return -1;
	}
	c.nc_mem_pages = mem.nr_pages;
	c.nc_gnttab_pfn = mem.gnttab_pfn;
	c.nc_gnttab_frames = mem.gnttab_frames;
	backend_blob_add_fd(cfg, mem.fd);
	close(mem.fd);
	for (unsigned q = 0; q < v->v_ntaps; q++)
		backend_blob_add_fd(cfg, v->v_tapfd[q]);
	memcpy(cfg->b_data, &c, sizeof(c));
	cfg->b_len = sizeof(c);
	return 0;
}

/* Probe: keys, tap on its bridge, features, the hotplug step; 1 while it runs. */
static int
vif_probe(struct backend_dev *d, struct backend_blob *cfg)
{
	struct vif *v = backend_dev_priv(d);

	if (v == NULL) {
		v = xcalloc(1, sizeof(*v));
		v->v_dev = d;
		v->v_nb = backend_priv(backend_dev_backend(d));
		backend_dev_set_priv(d, v);
		if (vif_keys_read(v) < 0 || vif_tap_up(v) < 0)
			return -1;
		vif_write_features(v);
		vif_hotplug_online(v);
	}
	switch (v->v_hp) {
	case VIF_HP_RUNNING:
		return 1;
	case VIF_HP_FAILED:
		backend_dev_mark_failed(d);
		return -1;
	default:
		break;
	}
	return vif_config(d, v, cfg);
}

/* A frontend key that must be a number (a ref or a port); -1 with the device failed. */
static long long
vif_fe_number(struct backend_dev *d, const char *dir, const char *key, unsigned long long max)
{
	char k[64];
	long long n;

	snprintf(k, sizeof(k), "%s%s", dir, key);
	n = backend_dev_read_ull(d, true, k, VIF_ABSENT, max);
	if (n < 0 || n == (long long)VIF_ABSENT) {
		backend_dev_fail(d, NULL, "frontend %s: %s missing or bad", backend_dev_fepath(d), k);
		return -1;
	}
	return n;
}

/* Binds a frontend port for the worker. */
static int
vif_bind(struct backend_dev *d, const char *dir, const char *key, struct backend_blob *conn)
{
	long long port = vif_fe_number(d, dir, key, UINT32_MAX);

	if (port < 0)
		return -1;
	if (port == 0 || backend_dev_bind(d, port, conn) < 0) {
		backend_dev_fail(d, NULL, "frontend %s: cannot bind %s%s %lld: %s",
		    backend_dev_fepath(d), dir, key, port, port ? strerror(errno) : "port 0");
		return -1;
	}
	return 0;
}

/* One queue's rings and event channel(s). */
static int
vif_connect_queue(struct backend_dev *d, unsigned q, unsigned nq, struct netback_connect *c,
    struct backend_blob *conn)
{
	char dir[32], k[64], *split;
	long long tx, rx;

	if (nq > 1)
		snprintf(dir, sizeof(dir), "queue-%u/", q);
	else
		dir[0] = '\0';
	if ((tx = vif_fe_number(d, dir, "tx-ring-ref", UINT32_MAX - 1)) < 0 ||
	    (rx = vif_fe_number(d, dir, "rx-ring-ref", UINT32_MAX - 1)) < 0)
		return -1;
	c->nk_queues[q] = (struct netback_queue){ .nq_tx_ref = tx, .nq_rx_ref = rx };
	snprintf(k, sizeof(k), "%sevent-channel-tx", dir);
	split = backend_dev_read(d, true, k);
	if (q == 0 && split)
		c->nk_features |= NETBACK_FE_SPLIT;
	free(split);
	if (!(c->nk_features & NETBACK_FE_SPLIT))
		return vif_bind(d, dir, "event-channel", conn);
	if (vif_bind(d, dir, "event-channel-tx", conn) < 0 ||
	    vif_bind(d, dir, "event-channel-rx", conn) < 0)
		return -1;
	return 0;
}

/* Whether a frontend flag key is 1. */
static bool
vif_fe_flag(struct backend_dev *d, const char *key)
{
	return backend_dev_read_ull(d, true, key, 0, 1) == 1;
}

/* The tap takes what the frontend takes: offloads, and as many queues as it uses. */
static int
vif_tap_connect(struct vif *v, const struct netback_connect *c)
{
	bool csum = c->nk_features & NETBACK_FE_CSUM;

	if (nbtap_offload(v->v_tapfd[0], csum, c->nk_features & NETBACK_FE_GSO_TCPV4) < 0)
		return -1;
	for (unsigned q = 0; v->v_ntaps > 1 && q < v->v_ntaps; q++)
		if (nbtap_queue(v->v_tapfd[q], q < c->nk_nr_queues) < 0)
			return -1;
	return 0;
}

/* The frontend published its rings: read them all for the worker's CONNECT. */
static int
vif_connect(struct backend_dev *d, struct backend_blob *conn)
{
	struct vif *v = backend_dev_priv(d);
	struct netback_connect c;
	long long nq = backend_dev_read_ull(d, true, "multi-queue-num-queues", 1, v->v_ntaps);

	memset(&c, 0, sizeof(c));
	if (!vif_fe_flag(d, "request-rx-copy")) {
		backend_dev_fail(d, NULL, "frontend %s does not set request-rx-copy=1: netback "
		    "copies into the guest's buffers and does not flip pages", backend_dev_fepath(d));
		return -1;
	}
	if (nq < 1) {
		backend_dev_fail(d, NULL, "frontend %s: bad multi-queue-num-queues (1 to %u)",
		    backend_dev_fepath(d), v->v_ntaps);
		return -1;
	}
	c.nk_nr_queues = nq;
	c.nk_features = (vif_fe_flag(d, "feature-sg") ? NETBACK_FE_SG : 0) |
	    (vif_fe_flag(d, "feature-gso-tcpv4") ? NETBACK_FE_GSO_TCPV4 : 0) |
	    (vif_fe_flag(d, "feature-rx-notify") ? NETBACK_FE_RX_NOTIFY : 0) |
	    (vif_fe_flag(d, "feature-no-csum-offload") ? 0 : NETBACK_FE_CSUM) |
	    (vif_fe_flag(d, "feature-ipv6-csum-offload") ? NETBACK_FE_CSUM6 : 0);
	for (unsigned q = 0; q < c.nk_nr_queues; q++)
		if (vif_connect_queue(d, q, nq, &c, conn) < 0)
			return -1;
	if (vif_tap_connect(v, &c) < 0) {
		backend_dev_fail(d, NULL, "cannot set up %s's queues and offloads: %s", v->v_name,
		    strerror(errno));
		return -1;
	}
	memcpy(conn->b_data, &c, sizeof(c));
	conn->b_len = sizeof(c);
	return 0;
}

/* Nothing more to publish with state 4: the features went out at probe. */
static int
vif_publish(struct backend_dev *d, xs_tx_t tx)
{
	(void)d;
	(void)tx;
	return 0;
}

/* The device is gone: the offline step, then the tap. */
static void
vif_release(struct backend_dev *d)
{
	struct vif *v = backend_dev_priv(d);

	if (v == NULL)
		return;
	backend_dev_set_priv(d, NULL);
	vif_hotplug_offline(v);
}

const struct backend_ops netback_ops = {
	.kind = "vif",
	.probe = vif_probe,
	.connect = vif_connect,
	.publish = vif_publish,
	.release = vif_release,
	.w_config = nbworker_config,
	.w_connect = nbworker_connect,
	.w_disconnect = nbworker_disconnect,
};
