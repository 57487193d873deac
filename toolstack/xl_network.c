/*
 * xl network-attach, network-detach and network-list on running domains.
 * The vif spec is the xl.cfg one (cfg_nic_parse), the xenstore directories
 * are the ones create writes (dom_device_attach_vif), and the wait for the
 * backend and the hotplug error report are create's too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dom.h"
#include "log.h"
#include "xl.h"
#include "xmalloc.h"

/* xl network-attach DOMAIN [key=value]...: the words are one spec, joined by commas. */
static int
xl_network_attach_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	struct cfg_nic nic;
	char why[256], *spec = xstrdup("");
	hv_domid_t domid;
	int rc = 1;

	for (int i = 1; i < a->xa_argc; i++) {
		char *more;
		xasprintf(&more, "%s%s%s", spec, *spec ? "," : "", a->xa_argv[i]);
		free(spec);
		spec = more;
	}
	if (cfg_nic_parse(spec, &nic, why, sizeof(why)) < 0) {
		log_warnx("vif '%s': %s", spec, why);
		goto out;
	}
	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		goto out;
	if (domid == 0) {
		log_warnx("vif '%s': pvstack attaches interfaces to guests, not to Domain-0", spec);
		goto out;
	}
	rc = dom_device_attach_vif(ctx->xc_xs, domid, &nic) < 0;
out:
	cfg_nic_free(&nic);
	free(spec);
	return rc;
}

const struct xl_cmd xl_cmd_network_attach = {
	.xc_name = "network-attach",
	.xc_usage = "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] "
	    "[script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [mtu=<mtu>] "
	    "[devid=<devid>]",
	.xc_summary = "Create a new virtual network device",
	.xc_help = "The keys are those of xl.cfg's vif = [ ... ] (xl-network-configuration(5)).\n"
	    "Without mac= a random one in 00:16:3e is chosen; without devid= the lowest free one.\n",
	.xc_opts = "",
	.xc_min_args = 1,
	.xc_max_args = -1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_network_attach_exec,
};

/* A node under dir as a string (malloc'd), NULL when absent. */
static char *
xl_network_get(struct xs *xs, const char *dir, const char *key)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return dom_xs_read(xs, p);
}

/* The devid of the domain's vif whose frontend mac is mac; -1 when none. */
static int
xl_network_by_mac(struct xs *xs, hv_domid_t domid, const char *mac)
{
	char dir[96], fe[160];
	unsigned num = 0;
	int found = -1;

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif", domid);
	char **ids = xs_directory(xs, XS_TX_NONE, dir, &num);
	for (unsigned i = 0; ids && i < num && found < 0; i++) {
		snprintf(fe, sizeof(fe), "%s/%s", dir, ids[i]);
		char *m = xl_network_get(xs, fe, "mac");
		if (m != NULL && strcasecmp(m, mac) == 0)
			found = atoi(ids[i]);
		free(m);
	}
	free(ids);
	return found;
}

/* xl network-detach DOMAIN DEVID|MAC. */
static int
xl_network_detach_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	const char *which = a->xa_argv[1];
	hv_domid_t domid;
	char *end;
	int devid;

	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		return 1;
	if (strchr(which, ':') != NULL) {
		devid = xl_network_by_mac(ctx->xc_xs, domid, which);
	} else {
		long v = strtol(which, &end, 10);
		devid = *which && !*end && v >= 0 && v <= 65535 ? (int)v : -2;
	}
	if (devid == -2) {
		log_warnx("'%s' is not a vif devid or a MAC address", which);
		return 1;
	}
	if (devid < 0 || dom_device_detach(ctx->xc_xs, domid, "vif", devid, 0) < 0) {
		if (devid < 0 || errno == ENOENT)
			log_warnx("Error: Device %s not connected.", which);
		else
			log_warn("vif %s of domain %u: cannot remove it", which, domid);
		return 1;
	}
	return 0;
}

const struct xl_cmd xl_cmd_network_detach = {
	.xc_name = "network-detach",
	.xc_usage = "<Domain> <DevId|mac>",
	.xc_summary = "Destroy a domain's virtual network device",
	.xc_opts = "",
	.xc_min_args = 2,
	.xc_max_args = 2,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_network_detach_exec,
};

/* A frontend number: the top-level key, else queue-0's (several queues);
 * -1 when absent, as xl prints a ring not set up yet. */
static int
xl_network_num(struct xs *xs, const char *fe, const char *key, const char *alt)
{
	char k[64];
	const char *keys[2] = { key, alt };

	for (int q = 0; q < 2; q++) {
		for (int i = 0; i < 2 && keys[i]; i++) {
			snprintf(k, sizeof(k), "%s%s", q ? "queue-0/" : "", keys[i]);
			char *v = xl_network_get(xs, fe, k);
			int n = v && *v ? atoi(v) : -1;
			free(v);
			if (n >= 0)
				return n;
		}
	}
	return -1;
}

/* The rows of one domain's vifs, in devid order as xenstore lists them. */
static void
xl_network_list_domain(struct xs *xs, hv_domid_t domid)
{
	char dir[96], fe[128], be[128], lb[128];
	unsigned num = 0;

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif", domid);
	char **ids = xs_directory(xs, XS_TX_NONE, dir, &num);
	for (unsigned i = 0; ids && i < num; i++) {
		int devid = atoi(ids[i]);
		dom_device_paths(domid, "vif", devid, fe, be, lb, sizeof(fe));
		char *bpath = xl_network_get(xs, fe, "backend"), *mac = xl_network_get(xs, fe, "mac");
		printf("%-3d %-2d %-17s %6d %5d %6d %5d/%-11d %-30s\n", devid,
		    xl_network_num(xs, fe, "backend-id", NULL), mac ? mac : "-", devid,
		    xl_network_num(xs, fe, "state", NULL),
		    xl_network_num(xs, fe, "event-channel", "event-channel-tx"),
		    xl_network_num(xs, fe, "tx-ring-ref", NULL), xl_network_num(xs, fe, "rx-ring-ref", NULL),
		    bpath ? bpath : be);
		free(bpath);
		free(mac);
	}
	free(ids);
}

/* xl network-list DOMAIN...: Xen's columns. */
static int
xl_network_list_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	int rc = 0;

	printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-11s %-30s\n", "Idx", "BE", "Mac Addr.",
	    "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
	for (int i = 0; i < a->xa_argc; i++) {
		hv_domid_t domid;
		if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[i], &domid) < 0) {
			rc = 1;
			continue;
		}
		xl_network_list_domain(ctx->xc_xs, domid);
	}
	return rc;
}

const struct xl_cmd xl_cmd_network_list = {
	.xc_name = "network-list",
	.xc_usage = "<Domain(s)>",
	.xc_summary = "List virtual network interfaces for a domain",
	.xc_opts = "",
	.xc_min_args = 1,
	.xc_max_args = -1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_network_list_exec,
};
