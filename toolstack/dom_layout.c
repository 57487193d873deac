/*
 * A domain's xenstore home as libxl writes it (libxl__domain_make and
 * libxl__build_post): /local/domain/N read-only to the guest except the nodes
 * it must write (control/..., data, drivers, feature, attr, error), /vm/UUID,
 * /libxl/N, and the primary console's front and back ends. One transaction,
 * retried on conflict; written before INTRODUCE so consoled finds it whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dom.h"
#include "dom_ops.h"
#include "log.h"
#include "xmalloc.h"


/* Nodes the guest owns (rw): libxl's rwperm list. */
static const char *const dom_layout_rw[] = {
	"control/shutdown", "control/feature-poweroff", "control/feature-reboot",
	"control/feature-suspend", "control/sysrq", "data", "drivers", "feature", "attr",
	"error", NULL,
};

/* path = base + "/" + rel, in a caller buffer. */
static const char *
dom_layout_path(char *buf, size_t len, const char *base, const char *rel)
{
	snprintf(buf, len, "%s/%s", base, rel);
	return buf;
}

/* The domain home: identity, memory, store, cpus, the guest-writable nodes. */
static void
dom_layout_home(struct dom_ops *o, const struct dom_layout *l, const char *dp, const char *vm)
{
	const struct cfg_domain *c = l->dl_cfg;
	hv_domid_t N = l->dl_domid;
	char p[256];

	dom_ops_write(o, dom_layout_path(p, sizeof(p), dp, "vm"), vm);
	dom_ops_write(o, dom_layout_path(p, sizeof(p), dp, "name"), c->cd_name);
	dom_ops_printf(o, dom_layout_path(p, sizeof(p), dp, "domid"), "%u", N);
	dom_ops_printf(o, dom_layout_path(p, sizeof(p), dp, "memory/static-max"), "%llu",
	    (unsigned long long)c->cd_maxmem_mib * 1024);
	dom_ops_printf(o, dom_layout_path(p, sizeof(p), dp, "memory/target"), "%llu",
	    (unsigned long long)c->cd_memory_mib * 1024);
	dom_ops_printf(o, dom_layout_path(p, sizeof(p), dp, "store/port"), "%u", l->dl_store_port);
	dom_ops_printf(o, dom_layout_path(p, sizeof(p), dp, "store/ring-ref"), "%llu",
	    (unsigned long long)l->dl_store_mfn);
	dom_ops_mkdir(o, dom_layout_path(p, sizeof(p), dp, "device"));
	dom_ops_mkdir(o, dom_layout_path(p, sizeof(p), dp, "control"));
	for (unsigned i = 0; i < c->cd_maxvcpus; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "cpu/%u/availability", i);
		dom_ops_write(o, dom_layout_path(p, sizeof(p), dp, rel),
		    i < c->cd_vcpus ? "online" : "offline");
	}
	for (size_t i = 0; dom_layout_rw[i]; i++)
		dom_ops_write_perm(o, dom_layout_path(p, sizeof(p), dp, dom_layout_rw[i]), "", N, N);
}

/* /vm/UUID: the VM's identity across restarts. */
static void
dom_layout_vm(struct dom_ops *o, const struct dom_layout *l, const char *vm, const char *uuid)
{
	const struct cfg_domain *c = l->dl_cfg;
	struct timeval tv;
	char p[256];

	gettimeofday(&tv, NULL);
	dom_ops_write(o, dom_layout_path(p, sizeof(p), vm, "uuid"), uuid);
	dom_ops_write(o, dom_layout_path(p, sizeof(p), vm, "name"), c->cd_name);
	dom_ops_printf(o, dom_layout_path(p, sizeof(p), vm, "start_time"), "%ld.%02ld",
	    (long)tv.tv_sec, (long)tv.tv_usec / 10000);
	dom_ops_write(o, dom_layout_path(p, sizeof(p), vm, "image/ostype"), "linux");
	dom_ops_write(o, dom_layout_path(p, sizeof(p), vm, "image/kernel"), c->cd_kernel);
	dom_ops_write(o, dom_layout_path(p, sizeof(p), vm, "image/cmdline"), c->cd_cmdline);
}

/*
 * The primary console: frontend /local/domain/N/console (the guest's, with
 * ring-ref, port and the daemon's keys owned by dom0: "ro_front"), backend
 * /local/domain/0/backend/console/N/0 and its /libxl copy.
 */
static void
dom_layout_console(struct dom_ops *o, const struct dom_layout *l, const char *dp)
{
	hv_domid_t N = l->dl_domid;
	char fe[96], be[96], lb[96], p[256];
	char port[16], ref[24], limit[16], fid[16];

	snprintf(fe, sizeof(fe), "%s/console", dp);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/console/%u/0", DOM_BACKEND_DOMID, N);
	snprintf(lb, sizeof(lb), "/libxl/%u/device/console/0", N);
	snprintf(port, sizeof(port), "%u", l->dl_console_port);
	snprintf(ref, sizeof(ref), "%llu", (unsigned long long)l->dl_console_mfn);
	snprintf(limit, sizeof(limit), "%u", DOM_CONSOLE_LIMIT);
	snprintf(fid, sizeof(fid), "%u", N);
	const char *ro[][2] = { { "port", port }, { "ring-ref", ref }, { "limit", limit },
	    { "type", "xenconsoled" }, { "output", "pty" }, { "tty", "" } };
	const char *bk[][2] = { { "frontend", fe }, { "frontend-id", fid }, { "online", "1" },
	    { "state", "1" }, { "protocol", "vt100" } };

	dom_ops_mkdir(o, fe);
	dom_ops_perms(o, fe, N, DOM_BACKEND_DOMID);
	dom_ops_write(o, dom_layout_path(p, sizeof(p), fe, "backend"), be);
	dom_ops_printf(o, dom_layout_path(p, sizeof(p), fe, "backend-id"), "%u", DOM_BACKEND_DOMID);
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		dom_ops_write_perm(o, dom_layout_path(p, sizeof(p), fe, ro[i][0]), ro[i][1],
		    DOM_BACKEND_DOMID, N);
	dom_ops_mkdir(o, be);
	dom_ops_perms(o, be, DOM_BACKEND_DOMID, N);
	for (size_t i = 0; i < sizeof(bk) / sizeof(bk[0]); i++) {
		dom_ops_write(o, dom_layout_path(p, sizeof(p), be, bk[i][0]), bk[i][1]);
		dom_ops_write(o, dom_layout_path(p, sizeof(p), lb, bk[i][0]), bk[i][1]);
	}
}

/*
 * The domain's own top directories, created outside the transaction: a
 * transaction that created them would change /local/domain, /vm and /libxl and
 * so conflict with every other domain being created at the same time.
 */
static int
dom_layout_roots(const struct dom_layout *l, const char *dp, const char *vm, const char *lp)
{
	static const char *const kinds[] = { "console", "vbd", "vif" };
	struct dom_ops o = { 0 };
	char p[128];
	int rc;

	dom_ops_rm(&o, dp);
	dom_ops_rm(&o, lp);
	dom_ops_mkdir(&o, dp);
	dom_ops_perms(&o, dp, 0, l->dl_domid);
	dom_ops_mkdir(&o, vm);
	dom_ops_perms(&o, vm, 0, l->dl_domid);
	dom_ops_mkdir(&o, lp);
	dom_ops_perms(&o, lp, 0, 0);
	/* the name index (dom_find.c): found by name in one lookup, not by listing all */
	if (dom_find_index_path(p, sizeof(p), l->dl_cfg->cd_name) == 0)
		dom_ops_printf(&o, p, "%u", l->dl_domid);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if ((i == 1 && l->dl_cfg->cd_ndisks == 0) || (i == 2 && l->dl_cfg->cd_nnics == 0))
			continue;
		snprintf(p, sizeof(p), "/local/domain/%u/backend/%s/%u", DOM_BACKEND_DOMID, kinds[i],
		    l->dl_domid);
		dom_ops_rm(&o, p);
		dom_ops_mkdir(&o, p);
	}
	rc = dom_ops_send(&o);
	dom_ops_free(&o);
	return rc;
}

/* The whole layout: the roots, then everything below them in one pipelined transaction. */
int
dom_layout_write(struct xs *xs, const struct dom_layout *l)
{
	char dp[64], vm[64], lp[64], uuid[37], p[128];
	struct dom_ops o = { 0 };
	int rc;

	(void)xs;
	dom_uuid_format(l->dl_uuid, uuid);
	snprintf(dp, sizeof(dp), "/local/domain/%u", l->dl_domid);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	snprintf(lp, sizeof(lp), "/libxl/%u", l->dl_domid);
	if (dom_layout_roots(l, dp, vm, lp) < 0) {
		log_warn("domain %u: cannot create its xenstore directories", l->dl_domid);
		return -1;
	}
	dom_layout_home(&o, l, dp, vm);
	dom_layout_vm(&o, l, vm, uuid);
	dom_ops_write(&o, dom_layout_path(p, sizeof(p), lp, "type"), "pv");
	dom_layout_console(&o, l, dp);
	dom_device_write(&o, l->dl_domid, l->dl_cfg);
	rc = dom_ops_commit(&o);
	if (rc < 0)
		log_warn("domain %u: cannot write its xenstore layout", l->dl_domid);
	dom_ops_free(&o);
	return rc;
}

/* Removes every node create wrote for domid, whatever state it is in. */
void
dom_layout_remove(struct xs *xs, hv_domid_t domid)
{
	static const char *const kinds[] = { "vbd", "vif", "console", NULL };
	char p[128], *vm, *name;

	if ((name = dom_find_name(xs, domid)) != NULL) {
		dom_find_index_drop(xs, name, domid);
		free(name);
	}
	snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
	vm = dom_xs_read(xs, p);
	if (vm && strncmp(vm, "/vm/", 4) == 0 && !strchr(vm + 4, '/'))
		xs_rm(xs, XS_TX_NONE, vm);
	free(vm);
	for (size_t i = 0; kinds[i]; i++) {
		snprintf(p, sizeof(p), "/local/domain/%u/backend/%s/%u", DOM_BACKEND_DOMID,
		    kinds[i], domid);
		xs_rm(xs, XS_TX_NONE, p);
	}
	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	xs_rm(xs, XS_TX_NONE, p);
	snprintf(p, sizeof(p), "/libxl/%u", domid);
	xs_rm(xs, XS_TX_NONE, p);
}
