/*
 * A domain's xenstore home as libxl writes it (libxl__domain_make and
 * libxl__build_post): /local/domain/N read-only to the guest except the nodes
 * it must write (control/..., data, drivers, feature, attr, error), /vm/UUID,
 * /libxl/N, and the primary console's front and back ends. One transaction,
 * retried on conflict; written before INTRODUCE so consoled finds it whole.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dom.h"
#include "log.h"
#include "xmalloc.h"

#define DOM_LAYOUT_RETRIES 200	/* conflicts are normal when many domains start at once */

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
static int
dom_layout_home(struct xs *xs, xs_tx_t tx, const struct dom_layout *l, const char *dp,
    const char *vm)
{
	const struct cfg_domain *c = l->dl_cfg;
	hv_domid_t N = l->dl_domid;
	char p[256];

	if (xs_mkdir(xs, tx, dp) < 0 || dom_xs_perms(xs, tx, dp, 0, N) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), dp, "vm"), vm) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), dp, "name"), c->cd_name) < 0 ||
	    dom_xs_printf(xs, tx, dom_layout_path(p, sizeof(p), dp, "domid"), "%u", N) < 0 ||
	    dom_xs_printf(xs, tx, dom_layout_path(p, sizeof(p), dp, "memory/static-max"),
	    "%llu", (unsigned long long)c->cd_maxmem_mib * 1024) < 0 ||
	    dom_xs_printf(xs, tx, dom_layout_path(p, sizeof(p), dp, "memory/target"),
	    "%llu", (unsigned long long)c->cd_memory_mib * 1024) < 0 ||
	    dom_xs_printf(xs, tx, dom_layout_path(p, sizeof(p), dp, "store/port"), "%u",
	    l->dl_store_port) < 0 ||
	    dom_xs_printf(xs, tx, dom_layout_path(p, sizeof(p), dp, "store/ring-ref"), "%llu",
	    (unsigned long long)l->dl_store_mfn) < 0 ||
	    xs_mkdir(xs, tx, dom_layout_path(p, sizeof(p), dp, "device")) < 0 ||
	    xs_mkdir(xs, tx, dom_layout_path(p, sizeof(p), dp, "control")) < 0)
		return -1;
	for (unsigned i = 0; i < c->cd_maxvcpus; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "cpu/%u/availability", i);
		if (dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), dp, rel),
		    i < c->cd_vcpus ? "online" : "offline") < 0)
			return -1;
	}
	for (size_t i = 0; dom_layout_rw[i]; i++)
		if (dom_xs_write_perm(xs, tx, dom_layout_path(p, sizeof(p), dp, dom_layout_rw[i]),
		    "", N, N) < 0)
			return -1;
	return 0;
}

/* /vm/UUID: the VM's identity across restarts. */
static int
dom_layout_vm(struct xs *xs, xs_tx_t tx, const struct dom_layout *l, const char *vm,
    const char *uuid)
{
	const struct cfg_domain *c = l->dl_cfg;
	struct timeval tv;
	char p[256];

	gettimeofday(&tv, NULL);
	return xs_mkdir(xs, tx, vm) < 0 || dom_xs_perms(xs, tx, vm, 0, l->dl_domid) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), vm, "uuid"), uuid) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), vm, "name"), c->cd_name) < 0 ||
	    dom_xs_printf(xs, tx, dom_layout_path(p, sizeof(p), vm, "start_time"), "%ld.%02ld",
	    (long)tv.tv_sec, (long)tv.tv_usec / 10000) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), vm, "image/ostype"), "linux") < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), vm, "image/kernel"),
	    c->cd_kernel) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), vm, "image/cmdline"),
	    c->cd_cmdline) < 0 ? -1 : 0;
}

/*
 * The primary console: frontend /local/domain/N/console (the guest's, with
 * ring-ref, port and the daemon's keys owned by dom0: "ro_front"), backend
 * /local/domain/0/backend/console/N/0 and its /libxl copy.
 */
static int
dom_layout_console(struct xs *xs, xs_tx_t tx, const struct dom_layout *l, const char *dp)
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

	if (xs_mkdir(xs, tx, fe) < 0 || dom_xs_perms(xs, tx, fe, N, DOM_BACKEND_DOMID) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), fe, "backend"), be) < 0 ||
	    dom_xs_printf(xs, tx, dom_layout_path(p, sizeof(p), fe, "backend-id"), "%u",
	    DOM_BACKEND_DOMID) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (dom_xs_write_perm(xs, tx, dom_layout_path(p, sizeof(p), fe, ro[i][0]), ro[i][1],
		    DOM_BACKEND_DOMID, N) < 0)
			return -1;
	if (xs_mkdir(xs, tx, be) < 0 || dom_xs_perms(xs, tx, be, DOM_BACKEND_DOMID, N) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(bk) / sizeof(bk[0]); i++)
		if (dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), be, bk[i][0]), bk[i][1]) < 0 ||
		    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), lb, bk[i][0]), bk[i][1]) < 0)
			return -1;
	return 0;
}

/* One attempt at the whole layout in one transaction. */
static int
dom_layout_once(struct xs *xs, const struct dom_layout *l)
{
	char dp[64], vm[64], lp[64], uuid[37], p[128];
	xs_tx_t tx;
	int rc;

	dom_uuid_format(l->dl_uuid, uuid);
	snprintf(dp, sizeof(dp), "/local/domain/%u", l->dl_domid);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	snprintf(lp, sizeof(lp), "/libxl/%u", l->dl_domid);
	if (xs_transaction_start(xs, &tx) < 0)
		return -1;
	xs_rm(xs, tx, dp);
	xs_rm(xs, tx, lp);
	rc = dom_layout_home(xs, tx, l, dp, vm) < 0 || dom_layout_vm(xs, tx, l, vm, uuid) < 0 ||
	    xs_mkdir(xs, tx, lp) < 0 || dom_xs_perms(xs, tx, lp, 0, 0) < 0 ||
	    dom_xs_write(xs, tx, dom_layout_path(p, sizeof(p), lp, "type"), "pv") < 0 ||
	    dom_layout_console(xs, tx, l, dp) < 0 ||
	    dom_device_write(xs, tx, l->dl_domid, l->dl_cfg) < 0 ? -1 : 0;
	if (rc < 0) {
		int saved = errno;
		xs_transaction_end(xs, tx, true);
		errno = saved;
		return -1;
	}
	return xs_transaction_end(xs, tx, false);
}

/* Writes the layout, retrying when another writer conflicts. */
int
dom_layout_write(struct xs *xs, const struct dom_layout *l)
{
	for (int i = 0; i < DOM_LAYOUT_RETRIES; i++) {
		if (dom_layout_once(xs, l) == 0)
			return 0;
		if (errno != EAGAIN)
			break;
		/* Back off a little, randomly, so parallel creates stop colliding. */
		poll(NULL, 0, (int)(random() % (2 + i)));
	}
	log_warn("domain %u: cannot write its xenstore layout", l->dl_domid);
	return -1;
}

/* Removes every node create wrote for domid, whatever state it is in. */
void
dom_layout_remove(struct xs *xs, hv_domid_t domid)
{
	static const char *const kinds[] = { "vbd", "vif", "console", NULL };
	char p[128], *vm;

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
