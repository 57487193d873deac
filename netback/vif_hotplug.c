/*
 * A VIF's hotplug step, once netback has made the tap and put it on its
 * bridge itself (docs/netback.md says why both):
 *  - no script key: nothing more, netback writes hotplug-status=connected;
 *  - run_hotplug_scripts=1 (xl.conf's default, libxl's way): the script the
 *    key names runs through common/hotplug.c, `online type_if=vif` with vif=
 *    the tap, and `offline` when the VIF goes, before the tap is closed;
 *  - run_hotplug_scripts=0: a synthetic uevent on the tap asks udev to run it
 *    (udev-rules/xen-backend.rules) and udev_wait says when it has.
 * The probe waits (returns 1) while the step runs; its end kicks the device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "hotplug.h"
#include "log.h"
#include "udev_wait.h"
#include "vif.h"
#include "xmalloc.h"

#define VIF_HOTPLUG_UDEV_MS	HOTPLUG_TIMEOUT_MS

/* The step ended: hotplug-status says whether the device goes on. */
static void
vif_hotplug_settle(struct vif *v, bool ran_ok)
{
	char *st = backend_dev_read(v->v_dev, false, "hotplug-status");

	if (ran_ok && (st == NULL || *st == '\0')) {
		/* a script of the admin's that exited 0 without the key */
		backend_dev_write(v->v_dev, XS_TX_NONE, "hotplug-status", "connected");
	} else if (ran_ok && strcmp(st, "connected") != 0)
		ran_ok = false;
	free(st);
	v->v_hp = ran_ok ? VIF_HP_DONE : VIF_HP_FAILED;
	backend_dev_kick(v->v_dev);
}

/* The online script ended; its keys are recorded. */
static void
vif_hotplug_script_done(struct hotplug *hp, const struct hotplug_result *res, void *arg)
{
	struct vif *v = arg;

	(void)hp;
	v->v_hotplug = NULL;
	if (!res->hres_ok)
		log_warnx("%s: %s online: %s", backend_dev_name(v->v_dev), v->v_script,
		    res->hres_error ? res->hres_error : "failed");
	vif_hotplug_settle(v, res->hres_ok);
}

/* udev has run the online script (or did not in time). */
static void
vif_hotplug_udev_done(int err, void *arg)
{
	struct vif *v = arg;

	v->v_udev = NULL;
	if (err) {
		backend_dev_fail(v->v_dev, "error", "udev did not run %s online for %s within %d s "
		    "(run_hotplug_scripts=0 in xl.conf: is xen-backend.rules installed?)",
		    v->v_script, v->v_name, VIF_HOTPLUG_UDEV_MS / 1000);
		v->v_hp = VIF_HP_FAILED;
		backend_dev_kick(v->v_dev);
		return;
	}
	vif_hotplug_settle(v, true);
}

/* Runs the script with action; the handle, or NULL. */
static struct hotplug *
vif_hotplug_run(struct vif *v, enum hotplug_action a, hotplug_done_cb done, void *arg)
{
	static const char *const args[] = { "type_if=vif", NULL };
	char vifenv[32], brenv[32];
	const char *const env[] = { vifenv, brenv, NULL };
	struct hotplug_req r = { .hr_script = v->v_script, .hr_action = a, .hr_kind = "vif",
	    .hr_backend_dir = backend_dev_bepath(v->v_dev), .hr_args = args, .hr_env = env };

	snprintf(vifenv, sizeof(vifenv), "vif=%s", v->v_name);
	snprintf(brenv, sizeof(brenv), "bridge=%s", v->v_bridge);
	return hotplug_run(backend_dev_base(v->v_dev), backend_dev_xsa(v->v_dev), &r, done, arg);
}

/* Asks udev to run the script with action; the request, or NULL. */
static struct udev_wait_req *
vif_hotplug_udev(struct vif *v, enum hotplug_action a, udev_wait_cb done, void *arg)
{
	char syspath[64];

	snprintf(syspath, sizeof(syspath), "/sys/class/net/%s", v->v_name);
	return udev_wait_hotplug(v->v_nb->nb_udev, syspath, "vif", backend_dev_domid(v->v_dev),
	    backend_dev_devid(v->v_dev), a, VIF_HOTPLUG_UDEV_MS, done, arg);
}

/* vif.h */
void
vif_hotplug_online(struct vif *v)
{
	struct backend_dev *d = v->v_dev;

	if (v->v_script == NULL) {
		backend_dev_write(d, XS_TX_NONE, "hotplug-status", "connected");
		v->v_hp = VIF_HP_DONE;
		return;
	}
	v->v_hp = VIF_HP_RUNNING;
	v->v_hp_ran = true;
	if (v->v_nb->nb_run_scripts) {
		log_info("%s: running %s online for %s", backend_dev_name(d), v->v_script, v->v_name);
		if ((v->v_hotplug = vif_hotplug_run(v, HOTPLUG_ONLINE, vif_hotplug_script_done,
		    v)) == NULL) {
			backend_dev_fail(d, "error", "cannot run %s: %s", v->v_script, strerror(errno));
			v->v_hp = VIF_HP_FAILED;
		}
		return;
	}
	if (v->v_nb->nb_udev == NULL) {
		backend_dev_fail(d, "error", "run_hotplug_scripts=0 in xl.conf, but no udevd is "
		    "running to run %s", v->v_script);
		v->v_hp = VIF_HP_FAILED;
		return;
	}
	if ((v->v_udev = vif_hotplug_udev(v, HOTPLUG_ONLINE, vif_hotplug_udev_done, v)) == NULL) {
		backend_dev_fail(d, "error", "cannot ask udev to run %s for %s: %s", v->v_script,
		    v->v_name, strerror(errno));
		v->v_hp = VIF_HP_FAILED;
	}
}

/* vif.h */
void
vif_free(struct vif *v)
{
	for (unsigned q = 0; q < v->v_ntaps; q++)
		close(v->v_tapfd[q]);
	free(v->v_script);
	free(v);
}

/* The offline script ended: now the tap may go. */
static void
vif_hotplug_offline_done(struct hotplug *hp, const struct hotplug_result *res, void *arg)
{
	(void)hp;
	(void)res;
	vif_free(arg);
}

/* udev has run the offline script. */
static void
vif_hotplug_offline_udev(int err, void *arg)
{
	(void)err;
	vif_free(arg);
}

/* vif.h */
void
vif_hotplug_offline(struct vif *v)
{
	bool stopping = backend_stopping(backend_dev_backend(v->v_dev));

	if (v->v_hotplug)
		hotplug_cancel(v->v_hotplug);
	if (v->v_udev)
		udev_wait_cancel(v->v_udev);
	v->v_hotplug = NULL;
	v->v_udev = NULL;
	if (!v->v_hp_ran || stopping) {
		vif_free(v);
		return;
	}
	if (v->v_nb->nb_run_scripts) {
		if (vif_hotplug_run(v, HOTPLUG_OFFLINE, vif_hotplug_offline_done, v) == NULL)
			vif_free(v);
	} else if (v->v_nb->nb_udev == NULL ||
	    vif_hotplug_udev(v, HOTPLUG_OFFLINE, vif_hotplug_offline_udev, v) == NULL)
		vif_free(v);
}
