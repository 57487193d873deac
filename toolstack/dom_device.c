/*
 * vbd and vif devices: their frontend and backend directories as libxl writes
 * them (reference §1.2, §2.4, §3.2), the wait for each backend (InitWait,
 * then hotplug-status=connected), and the close on destroy.
 *
 * blkback and netback may not be running (they come later): a device whose
 * backend daemon has no live pid file in $RUNDIR is written but not waited
 * for, with a warning naming it, unless the config says missing_backend="error".
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dom.h"
#include "dom_ops.h"
#include "log.h"
#include "paths.h"
#include "xlconf.h"
#include "xmalloc.h"

/* One device being waited for. */
struct dom_dev {
	char dd_be[128];	/* backend dir */
	char dd_what[64];	/* "vbd hda1", for messages */
	const char *dd_script;
	int dd_done;
};

/* The daemon that serves a device kind, for messages and its pid file. */
static const char *
dom_device_daemon(const char *kind)
{
	return strcmp(kind, "vbd") == 0 ? "blkback" : "netback";
}

/* Whether $RUNDIR/<daemon>.pid names a live process. */
int
dom_device_backend_running(const char *kind)
{
	char rel[32], buf[32];
	FILE *f;
	long pid = 0;

	snprintf(rel, sizeof(rel), "%s.pid", dom_device_daemon(kind));
	char *path = paths_run(rel);
	f = fopen(path, "re");
	free(path);
	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		pid = strtol(buf, NULL, 10);
	fclose(f);
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* A script name as the backend stores it: absolute, in the script dir by default. */
static char *
dom_device_script(const char *script, const char *dflt)
{
	const char *dir = getenv("PVSTACK_SCRIPTDIR");
	char *p;

	if (script && script[0] == '/')
		return xstrdup(script);
	if (dir && *dir)
		xasprintf(&p, "%s/%s", dir, script ? script : dflt);
	else
		xasprintf(&p, "%s/scripts/%s", paths_confdir(), script ? script : dflt);
	return p;
}

/* Writes key=value pairs under dir, and under the /libxl copy when copy is set. */
static void
dom_device_keys(struct dom_ops *o, const char *dir, const char *copy,
    const char *const (*kv)[2], size_t n)
{
	char p[256];

	for (size_t i = 0; i < n; i++) {
		if (kv[i][1] == NULL)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, kv[i][0]);
		dom_ops_write(o, p, kv[i][1]);
		if (copy) {
			snprintf(p, sizeof(p), "%s/%s", copy, kv[i][0]);
			dom_ops_write(o, p, kv[i][1]);
		}
	}
}

/* A device's frontend, backend and /libxl copy directories. */
void
dom_device_paths(hv_domid_t domid, const char *kind, int devid, char *fe, char *be, char *lb,
    size_t len)
{
	snprintf(fe, len, "/local/domain/%u/device/%s/%d", domid, kind, devid);
	snprintf(be, len, "/local/domain/%u/backend/%s/%u/%d", DOM_BACKEND_DOMID, kind, domid,
	    devid);
	snprintf(lb, len, "/libxl/%u/device/%s/%d", domid, kind, devid);
}

/* Creates a device's two directories with their owners: frontend the guest's, backend dom0's. */
static void
dom_device_dirs(struct dom_ops *o, hv_domid_t domid, const char *kind, int devid,
    char *fe, char *be, char *lb, size_t len)
{
	dom_device_paths(domid, kind, devid, fe, be, lb, len);
	dom_ops_mkdir(o, fe);
	dom_ops_perms(o, fe, domid, DOM_BACKEND_DOMID);
	dom_ops_mkdir(o, be);
	dom_ops_perms(o, be, DOM_BACKEND_DOMID, domid);
}

/* One vbd: §2.4's toolstack keys. */
static void
dom_device_vbd(struct dom_ops *o, hv_domid_t domid, const struct cfg_disk *d)
{
	char fe[128], be[128], lb[128], devid[16], fid[16], bid[16];
	char *script = dom_device_script(d->cd_script, "block");

	snprintf(devid, sizeof(devid), "%d", d->cd_devid);
	snprintf(fid, sizeof(fid), "%u", domid);
	snprintf(bid, sizeof(bid), "%u", DOM_BACKEND_DOMID);
	const char *devtype = d->cd_cdrom ? "cdrom" : "disk";
	const char *const front[][2] = { { "backend", be }, { "backend-id", bid },
	    { "state", "1" }, { "virtual-device", devid }, { "device-type", devtype },
	    { "trusted", d->cd_trusted == 0 ? "0" : "1" } };
	const char *const back[][2] = { { "frontend", fe }, { "frontend-id", fid },
	    { "online", "1" }, { "state", "1" }, { "params", d->cd_target },
	    { "script", script }, { "type", d->cd_backendtype ? d->cd_backendtype : "phy" },
	    { "mode", d->cd_readonly ? "r" : "w" }, { "dev", d->cd_vdev },
	    { "device-type", devtype }, { "removable", d->cd_cdrom ? "1" : "0" },
	    { "bootable", "1" },
	    { "discard-enable", d->cd_discard < 0 ? NULL : d->cd_discard ? "1" : "0" },
	    { "direct-io-safe", d->cd_direct_io_safe ? "1" : NULL },
	    { "format", d->cd_format } };

	dom_device_dirs(o, domid, "vbd", d->cd_devid, fe, be, lb, sizeof(fe));
	dom_device_keys(o, fe, NULL, front, sizeof(front) / sizeof(front[0]));
	dom_device_keys(o, be, lb, back, sizeof(back) / sizeof(back[0]));
	free(script);
}

/* A vif default from xl.conf (vif.default.*); the built-in one when xl.conf is malformed. */
static const char *
dom_device_vif_default(const char *key, const char *builtin)
{
	const struct xlconf *xc = xlconf_get();

	return xc ? xlconf_string(xc, key) : builtin;
}

/* One vif: §3.2's toolstack keys; mtu is read-only to the guest. */
static void
dom_device_vif(struct dom_ops *o, hv_domid_t domid, const struct cfg_nic *n)
{
	char fe[128], be[128], lb[128], handle[16], fid[16], bid[16], mtu[16], p[160];
	char *script = dom_device_script(n->cn_script,
	    dom_device_vif_default("vif.default.script", "vif-bridge"));
	const char *bridge = n->cn_bridge ? n->cn_bridge :
	    dom_device_vif_default("vif.default.bridge", "xenbr0");

	snprintf(handle, sizeof(handle), "%d", n->cn_devid);
	snprintf(fid, sizeof(fid), "%u", domid);
	snprintf(bid, sizeof(bid), "%u", DOM_BACKEND_DOMID);
	snprintf(mtu, sizeof(mtu), "%u", n->cn_mtu ? n->cn_mtu : 1500);
	const char *const front[][2] = { { "backend", be }, { "backend-id", bid },
	    { "state", "1" }, { "handle", handle }, { "mac", n->cn_mac },
	    { "trusted", n->cn_trusted == 0 ? "0" : "1" } };
	const char *const back[][2] = { { "frontend", fe }, { "frontend-id", fid },
	    { "online", "1" }, { "state", "1" }, { "script", script }, { "mac", n->cn_mac },
	    { "bridge", bridge }, { "handle", handle },
	    { "type", n->cn_type ? n->cn_type : "vif" }, { "ip", n->cn_ip },
	    { "vifname", n->cn_vifname }, { "gatewaydev", n->cn_gatewaydev },
	    { "rate", n->cn_rate }, { "mtu", mtu }, { "hotplug-status", "" } };

	dom_device_dirs(o, domid, "vif", n->cn_devid, fe, be, lb, sizeof(fe));
	dom_device_keys(o, fe, NULL, front, sizeof(front) / sizeof(front[0]));
	snprintf(p, sizeof(p), "%s/mtu", fe);
	dom_ops_write_perm(o, p, mtu, DOM_BACKEND_DOMID, domid);
	dom_device_keys(o, be, lb, back, sizeof(back) / sizeof(back[0]));
	free(script);
}

/* Every device, in libxl's order: disks, (the console, in dom_layout), nics. */
void
dom_device_write(struct dom_ops *o, hv_domid_t domid, const struct cfg_domain *cfg)
{
	for (size_t i = 0; i < cfg->cd_ndisks; i++)
		dom_device_vbd(o, domid, &cfg->cd_disks[i]);
	for (size_t i = 0; i < cfg->cd_nnics; i++)
		dom_device_vif(o, domid, &cfg->cd_nics[i]);
}

/* Whether dom_device_wait will have anything to wait for. */
int
dom_device_will_wait(const struct cfg_domain *cfg)
{
	return (cfg->cd_ndisks && dom_device_backend_running("vbd")) ||
	    (cfg->cd_nnics && dom_device_backend_running("vif"));
}

/* Says, per device, when no backend daemon runs; -1 when that is an error. */
int
dom_device_precheck(const struct cfg_domain *cfg)
{
	int fatal = cfg->cd_nobackend == CFG_NOBACKEND_ERROR, bad = 0;
	int vbd = cfg->cd_ndisks && !dom_device_backend_running("vbd");
	int vif = cfg->cd_nnics && !dom_device_backend_running("vif");
	const char *then = fatal ? "refusing to create the domain (missing_backend=\"error\")" :
	    "its xenstore entries are written but not waited for";

	for (size_t i = 0; vbd && i < cfg->cd_ndisks; i++, bad++)
		log_warnx("%svbd %s: no block backend running (blkback); %s", fatal ? "" : "warning: ",
		    cfg->cd_disks[i].cd_vdev, then);
	for (size_t i = 0; vif && i < cfg->cd_nnics; i++, bad++)
		log_warnx("%svif %d: no network backend running (netback); %s",
		    fatal ? "" : "warning: ", cfg->cd_nics[i].cn_devid, then);
	return fatal && bad ? -1 : 0;
}

/* Reads backend key into a caller buffer ("" when absent). */
static void
dom_device_get(struct xs *xs, const struct dom_dev *d, const char *key, char *buf, size_t len)
{
	char p[192], *v;

	snprintf(p, sizeof(p), "%s/%s", d->dd_be, key);
	v = dom_xs_read(xs, p);
	snprintf(buf, len, "%s", v ? v : "");
	free(v);
}

/* The failure report: device, script, exit status and stderr where the backend left them. */
static void
dom_device_failed(struct xs *xs, const struct dom_dev *d, const char *status)
{
	char err[512], code[32], out[1024], script[256];

	/* The backend records the exit status and output just after the script's own
	 * hotplug-status: give it a moment, so the report carries them. */
	for (int i = 0; i < 50; i++) {
		dom_device_get(xs, d, "hotplug-exit-status", code, sizeof(code));
		if (*code)
			break;
		poll(NULL, 0, 20);
	}
	dom_device_get(xs, d, "script", script, sizeof(script));
	dom_device_get(xs, d, "hotplug-error", err, sizeof(err));
	dom_device_get(xs, d, "hotplug-exit-status", code, sizeof(code));
	dom_device_get(xs, d, "hotplug-stderr", out, sizeof(out));
	log_warnx("%s: hotplug script %s failed (hotplug-status %s%s%s): %s%s%s", d->dd_what,
	    *script ? script : d->dd_script, status, *code ? ", exit status " : "", code,
	    *err ? err : "no hotplug-error given", *out ? "; stderr: " : "", out);
}

/* 1 when the device is ready, 0 not yet, -1 failed (reported). */
static int
dom_device_ready(struct xs *xs, struct dom_dev *d)
{
	char state[16], hs[32];

	dom_device_get(xs, d, "state", state, sizeof(state));
	dom_device_get(xs, d, "hotplug-status", hs, sizeof(hs));
	if (strcmp(hs, "error") == 0 || strcmp(hs, "busy") == 0) {
		dom_device_failed(xs, d, hs);
		return -1;
	}
	if (atoi(state) >= 5) {
		log_warnx("%s: the backend closed the device (state %s) while connecting; see the"
		    " backend's log", d->dd_what, state);
		return -1;
	}
	return atoi(state) >= 2 && strcmp(hs, "connected") == 0;
}

/* Reports a device that did not become ready in time. */
static void
dom_device_timeout(struct xs *xs, const struct dom_dev *d, long long waited_ms)
{
	char state[16], hs[32];

	dom_device_get(xs, d, "state", state, sizeof(state));
	dom_device_get(xs, d, "hotplug-status", hs, sizeof(hs));
	if (atoi(state) < 2)
		log_warnx("%s: the backend did not reach InitWait within %lld s (state %s); "
		    "script %s was not run", d->dd_what, waited_ms / 1000, *state ? state : "gone",
		    d->dd_script);
	else
		log_warnx("%s: hotplug script %s did not report within %lld s (hotplug-status \"%s\")",
		    d->dd_what, d->dd_script, waited_ms / 1000, hs);
}

/* Collects the devices whose backend daemon runs. */
static struct dom_dev *
dom_device_list(hv_domid_t domid, const struct cfg_domain *cfg, size_t *n)
{
	struct dom_dev *devs = xcalloc(cfg->cd_ndisks + cfg->cd_nnics + 1, sizeof(*devs));
	int vbd = dom_device_backend_running("vbd"), vif = dom_device_backend_running("vif");

	*n = 0;
	for (size_t i = 0; vbd && i < cfg->cd_ndisks; i++, (*n)++) {
		struct dom_dev *d = &devs[*n];
		snprintf(d->dd_be, sizeof(d->dd_be), "/local/domain/%u/backend/vbd/%u/%d",
		    DOM_BACKEND_DOMID, domid, cfg->cd_disks[i].cd_devid);
		snprintf(d->dd_what, sizeof(d->dd_what), "vbd %s", cfg->cd_disks[i].cd_vdev);
		d->dd_script = cfg->cd_disks[i].cd_script ? cfg->cd_disks[i].cd_script : "block";
	}
	for (size_t i = 0; vif && i < cfg->cd_nnics; i++, (*n)++) {
		struct dom_dev *d = &devs[*n];
		snprintf(d->dd_be, sizeof(d->dd_be), "/local/domain/%u/backend/vif/%u/%d",
		    DOM_BACKEND_DOMID, domid, cfg->cd_nics[i].cn_devid);
		snprintf(d->dd_what, sizeof(d->dd_what), "vif %d", cfg->cd_nics[i].cn_devid);
		d->dd_script = cfg->cd_nics[i].cn_script ? cfg->cd_nics[i].cn_script : "vif-bridge";
	}
	return devs;
}

/* Waits until every device is ready, one fails, or time runs out. */
int
dom_device_wait(struct xs *xs, hv_domid_t domid, const struct cfg_domain *cfg)
{
	size_t n, left;
	struct dom_dev *devs = dom_device_list(domid, cfg, &n);
	long long start = dom_now_ms();
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		xs_watch(xs, devs[i].dd_be, "xl-device-wait");
	for (;;) {
		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (devs[i].dd_done)
				continue;
			int r = dom_device_ready(xs, &devs[i]);
			if (r < 0)
				goto out;
			devs[i].dd_done = r;
			left += !r;
		}
		if (left == 0)
			break;
		long long waited = dom_now_ms() - start;
		int late = 0;
		for (size_t i = 0; i < n; i++) {
			char st[16];
			if (devs[i].dd_done)
				continue;
			dom_device_get(xs, &devs[i], "state", st, sizeof(st));
			if ((atoi(st) < 2 && waited >= DOM_INIT_TIMEOUT_MS) ||
			    waited >= DOM_INIT_TIMEOUT_MS + DOM_HOTPLUG_TIMEOUT_MS) {
				dom_device_timeout(xs, &devs[i], waited);
				late = 1;
			}
		}
		if (late)
			goto out;
		char **ev;
		while ((ev = xs_check_watch(xs)) != NULL)
			free(ev);
		struct pollfd pfd = { .fd = xs_fd(xs), .events = POLLIN };
		poll(&pfd, 1, 200);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		xs_unwatch(xs, devs[i].dd_be, "xl-device-wait");
	free(devs);
	return rc;
}

/* Asks a backend to close: online=0 (do not wait for a reconnect), and Closing unless Closed. */
static void
dom_device_request_close(struct xs *xs, const char *be)
{
	char p[192], *st;

	snprintf(p, sizeof(p), "%s/online", be);
	dom_xs_write(xs, XS_TX_NONE, p, "0");
	snprintf(p, sizeof(p), "%s/state", be);
	st = dom_xs_read(xs, p);
	if (st == NULL || atoi(st) != 6)
		dom_xs_write(xs, XS_TX_NONE, p, "5");
	free(st);
}

/* Waits until the backend is Closed (or gone) or the deadline passes; 0 when it closed. */
static int
dom_device_wait_closed(struct xs *xs, const char *be, long long deadline_ms)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/state", be);
	for (;;) {
		char *st = dom_xs_read(xs, p);
		int closed = st == NULL || atoi(st) == 6;
		free(st);
		if (closed)
			return 0;
		if (dom_now_ms() > deadline_ms)
			return -1;
		poll(NULL, 0, 20);
	}
}

/*
 * The frontend's device node goes: the domain is paused for good and its
 * frontends will never answer Closing, so a backend that sees its frontend
 * gone closes at once instead of waiting for it (as Xen's forced removal
 * does not wait either). Without this a destroy soon after a create, with a
 * frontend still connecting, waited out the 10 s for each device class.
 */
static void
dom_device_drop_frontend(struct xs *xs, const char *be)
{
	char p[256], *fe;

	snprintf(p, sizeof(p), "%s/frontend", be);
	if ((fe = dom_xs_read(xs, p)) == NULL)
		return;
	if (strncmp(fe, "/local/domain/", 14) == 0 && strstr(fe, "/device/") != NULL)
		xs_rm(xs, XS_TX_NONE, fe);
	free(fe);
}

/* Asks every vbd/vif backend of a dying domain to close, and gives running backends
 * 10 s to reach Closed. */
void
dom_device_close(struct xs *xs, hv_domid_t domid)
{
	static const char *const kinds[] = { "vbd", "vif" };
	char dir[128], be[192];

	for (size_t k = 0; k < 2; k++) {
		unsigned num = 0;
		snprintf(dir, sizeof(dir), "/local/domain/%u/backend/%s/%u", DOM_BACKEND_DOMID,
		    kinds[k], domid);
		char **ids = xs_directory(xs, XS_TX_NONE, dir, &num);
		int running = dom_device_backend_running(kinds[k]);
		for (unsigned i = 0; ids && i < num; i++) {
			snprintf(be, sizeof(be), "%s/%s", dir, ids[i]);
			dom_device_request_close(xs, be);
			dom_device_drop_frontend(xs, be);
		}
		long long deadline = dom_now_ms() + DOM_INIT_TIMEOUT_MS;
		for (unsigned i = 0; running && ids && i < num; i++) {
			snprintf(be, sizeof(be), "%s/%s", dir, ids[i]);
			dom_device_wait_closed(xs, be, deadline);
		}
		free(ids);
	}
}

/* Whether a node exists. */
static int
dom_device_exists(struct xs *xs, const char *path)
{
	char *v = dom_xs_read(xs, path);

	free(v);
	return v != NULL;
}

/* One vbd on a running domain: written in one transaction, then waited for as create does. */
int
dom_device_attach_vbd(struct xs *xs, hv_domid_t domid, const struct cfg_disk *d)
{
	struct cfg_domain one = { .cd_disks = (struct cfg_disk *)d, .cd_ndisks = 1 };
	char fe[128], be[128], lb[128];
	struct dom_ops o = { 0 };
	int rc;

	dom_device_paths(domid, "vbd", d->cd_devid, fe, be, lb, sizeof(fe));
	if (dom_device_exists(xs, fe) || dom_device_exists(xs, be)) {
		log_warnx("vbd %s: domain %u already has a disk %s (virtual-device %d)", d->cd_vdev,
		    domid, d->cd_vdev, d->cd_devid);
		return -1;
	}
	dom_device_precheck(&one);
	dom_device_vbd(&o, domid, d);
	rc = dom_ops_commit(&o);
	dom_ops_free(&o);
	if (rc < 0) {
		log_warn("vbd %s: cannot write its xenstore directories for domain %u", d->cd_vdev,
		    domid);
		return -1;
	}
	if (dom_device_wait(xs, domid, &one) < 0) {
		dom_device_detach(xs, domid, "vbd", d->cd_devid, 0);
		return -1;
	}
	return 0;
}

/* The lowest devid that none of the domain's vifs (front or back) has. */
static int
dom_device_free_vif(struct xs *xs, hv_domid_t domid)
{
	char fe[128], be[128], lb[128];

	for (int devid = 0;; devid++) {
		dom_device_paths(domid, "vif", devid, fe, be, lb, sizeof(fe));
		if (!dom_device_exists(xs, fe) && !dom_device_exists(xs, be))
			return devid;
	}
}

/* One vif on a running domain, as create writes it, then waited for. */
int
dom_device_attach_vif(struct xs *xs, hv_domid_t domid, struct cfg_nic *n)
{
	struct cfg_domain one = { .cd_nics = n, .cd_nnics = 1 };
	char fe[128], be[128], lb[128], mac[24];
	struct dom_ops o = { 0 };
	int rc;

	if (n->cn_devid < 0)
		n->cn_devid = dom_device_free_vif(xs, domid);
	if (n->cn_mac == NULL) {
		dom_defaults_mac(mac, sizeof(mac));
		n->cn_mac = xstrdup(mac);
	}
	dom_device_paths(domid, "vif", n->cn_devid, fe, be, lb, sizeof(fe));
	if (dom_device_exists(xs, fe) || dom_device_exists(xs, be)) {
		log_warnx("vif %d: domain %u already has a vif with devid %d", n->cn_devid, domid,
		    n->cn_devid);
		return -1;
	}
	dom_device_precheck(&one);
	dom_device_vif(&o, domid, n);
	rc = dom_ops_commit(&o);
	dom_ops_free(&o);
	if (rc < 0) {
		log_warn("vif %d: cannot write its xenstore directories for domain %u", n->cn_devid,
		    domid);
		return -1;
	}
	if (dom_device_wait(xs, domid, &one) < 0) {
		dom_device_detach(xs, domid, "vif", n->cn_devid, 0);
		return -1;
	}
	return 0;
}

/*
 * Takes one device away as libxl does: online=0 and Closing, up to 10 s for
 * the backend to reach Closed (the backend runs the remove script before it
 * says Closed), then the backend, frontend and /libxl directories go. force
 * skips the wait. A backend that does not close in time is removed anyway.
 */
int
dom_device_detach(struct xs *xs, hv_domid_t domid, const char *kind, int devid, int force)
{
	char fe[128], be[128], lb[128];

	dom_device_paths(domid, kind, devid, fe, be, lb, sizeof(fe));
	if (!dom_device_exists(xs, fe) && !dom_device_exists(xs, be)) {
		errno = ENOENT;
		return -1;
	}
	if (!force) {
		dom_device_request_close(xs, be);
		if (dom_device_backend_running(kind) &&
		    dom_device_wait_closed(xs, be, dom_now_ms() + DOM_INIT_TIMEOUT_MS) < 0)
			log_warnx("%s %d: the backend did not close within %d s; removing it anyway",
			    kind, devid, DOM_INIT_TIMEOUT_MS / 1000);
	}
	xs_rm(xs, XS_TX_NONE, be);
	xs_rm(xs, XS_TX_NONE, fe);
	xs_rm(xs, XS_TX_NONE, lb);
	return 0;
}
