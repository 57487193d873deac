/*
 * xl block-attach, block-detach and block-list on running domains. The disk
 * spec is the xl.cfg one (cfg_disk_parse), the xenstore directories are the
 * ones create writes (dom_device_attach_vbd), and the wait for the backend
 * and the hotplug error report are create's too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dom.h"
#include "log.h"
#include "xl.h"
#include "xmalloc.h"

/* xl block-attach DOMAIN DISKSPEC...: the words are one spec, joined by commas (as xl does). */
static int
xl_block_attach_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	struct cfg_disk disk;
	char why[256], *spec = xstrdup(a->xa_argv[1]);
	hv_domid_t domid;
	int rc = 1;

	for (int i = 2; i < a->xa_argc; i++) {
		char *more;
		xasprintf(&more, "%s,%s", spec, a->xa_argv[i]);
		free(spec);
		spec = more;
	}
	if (cfg_disk_parse(spec, &disk, why, sizeof(why)) < 0) {
		log_warnx("disk '%s': %s", spec, why);
		goto out;
	}
	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		goto out;
	if (domid == 0) {
		log_warnx("disk '%s': pvstack attaches disks to guests, not to Domain-0", spec);
		goto out;
	}
	rc = dom_device_attach_vbd(ctx->xc_xs, domid, &disk) < 0;
out:
	cfg_disk_free(&disk);
	free(spec);
	return rc;
}

const struct xl_cmd xl_cmd_block_attach = {
	.xc_name = "block-attach",
	.xc_usage = "<Domain> <disk-spec-component(s)>...",
	.xc_summary = "Create a new virtual block device",
	.xc_help = "The disk spec is the one of xl.cfg's disk = [ ... ] (xl-disk-configuration(5)),\n"
	    "e.g. 'file:/img/data.img,xvdb,w' or 'target=/dev/vg/data,vdev=xvdc,access=r'.\n",
	.xc_opts = "",
	.xc_min_args = 2,
	.xc_max_args = -1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_block_attach_exec,
};

/* xl block-detach [-f] DOMAIN VDEV (a name such as xvdb, or the virtual-device number). */
static int
xl_block_detach_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	const char *vdev = a->xa_argv[1];
	int devid = cfg_disk_vdev_devid(vdev);
	hv_domid_t domid;

	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		return 1;
	if (devid < 0) {
		log_warnx("'%s' is not a virtual device name (hda, sdb, xvdc, ...) or number", vdev);
		return 1;
	}
	if (dom_device_detach(ctx->xc_xs, domid, "vbd", devid, xl_has(a, 'f')) < 0) {
		if (errno == ENOENT)
			log_warnx("Error: Device %s not connected.", vdev);
		else
			log_warn("vbd %s of domain %u: cannot remove it", vdev, domid);
		return 1;
	}
	return 0;
}

const struct xl_cmd xl_cmd_block_detach = {
	.xc_name = "block-detach",
	.xc_usage = "[-f] <Domain> <DevId>",
	.xc_summary = "Destroy a domain's virtual block device",
	.xc_help = "-f                      Do not wait for the backend to close the device.\n",
	.xc_opts = "f",
	.xc_min_args = 2,
	.xc_max_args = 2,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_block_detach_exec,
};

/* A frontend key as a number, -1 when absent (as xl prints a missing ring-ref). */
static int
xl_block_num(struct xs *xs, const char *dir, const char *key)
{
	char p[192], *v;
	int n;

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	v = dom_xs_read(xs, p);
	n = v && *v ? atoi(v) : -1;
	free(v);
	return n;
}

/* The rows of one domain's vbds, in devid order as xenstore lists them. */
static void
xl_block_list_domain(struct xs *xs, hv_domid_t domid)
{
	char dir[96], fe[128], be[128], lb[128];
	unsigned num = 0;
	char **ids;

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd", domid);
	ids = xs_directory(xs, XS_TX_NONE, dir, &num);
	for (unsigned i = 0; ids && i < num; i++) {
		int devid = atoi(ids[i]);
		dom_device_paths(domid, "vbd", devid, fe, be, lb, sizeof(fe));
		char *bpath = NULL, p[192];
		snprintf(p, sizeof(p), "%s/backend", fe);
		bpath = dom_xs_read(xs, p);
		printf("%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n", devid,
		    xl_block_num(xs, fe, "backend-id"), (int)domid, xl_block_num(xs, fe, "state"),
		    xl_block_num(xs, fe, "event-channel"), xl_block_num(xs, fe, "ring-ref"),
		    bpath ? bpath : be);
		free(bpath);
	}
	free(ids);
}

/* xl block-list DOMAIN...: Xen's columns (handle is the frontend domain, as libxl reports it). */
static int
xl_block_list_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	int rc = 0;

	printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state", "evt-ch",
	    "ring-ref", "BE-path");
	for (int i = 0; i < a->xa_argc; i++) {
		hv_domid_t domid;
		if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[i], &domid) < 0) {
			rc = 1;
			continue;
		}
		xl_block_list_domain(ctx->xc_xs, domid);
	}
	return rc;
}

const struct xl_cmd xl_cmd_block_list = {
	.xc_name = "block-list",
	.xc_usage = "<Domain(s)>",
	.xc_summary = "List virtual block devices for a domain",
	.xc_opts = "",
	.xc_min_args = 1,
	.xc_max_args = -1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_block_list_exec,
};
