/*
 * A vbd's own hotplug script. Disks on files and block devices are opened by
 * blkback itself (no loop device, no script: the default block script is
 * not run for them); a disk whose backend names another script (script=) gets
 * it run with Xen's contract through common/hotplug.c, add before the device
 * is opened and remove when it goes, and blkback then opens what the script
 * set up (node, physical-device-path), as Linux blkback waits for
 * physical-device. With run_hotplug_scripts=0 in xl.conf, udev runs the
 * script instead (udev-rules/xen-backend.rules, on a synthetic uevent) and
 * common/udev_wait.c tells us when it has; the script's keys are the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "hotplug.h"
#include "log.h"
#include "udev_wait.h"
#include "vbd.h"
#include "xlconf.h"
#include "xmalloc.h"

/* The script this device names, or NULL when blkback opens the image itself. */
static char *
vbd_script_path(struct vbd *v)
{
	char *script = backend_dev_read(v->v_dev, false, "script");
	const char *base;

	if (script == NULL || *script == '\0') {
		free(script);
		return NULL;
	}
	base = strrchr(script, '/') ? strrchr(script, '/') + 1 : script;
	if (strcmp(base, "block") == 0) {
		free(script);
		return NULL;
	}
	return script;
}

/* The add script ended: its keys are recorded, the device goes on. */
static void
vbd_script_done(struct hotplug *hp, const struct hotplug_result *res, void *arg)
{
	struct vbd *v = arg;

	(void)hp;
	v->v_hp = NULL;
	v->v_script = res->hres_ok ? VBD_SCRIPT_OK : VBD_SCRIPT_FAILED;
	if (!res->hres_ok)
		log_warnx("%s: hotplug script: %s", backend_dev_name(v->v_dev),
		    res->hres_error ? res->hres_error : "failed");
	backend_dev_kick(v->v_dev);
}

/* Starts the script with action; the handle, or NULL. */
static struct hotplug *
vbd_script_run(struct backend_dev *d, const char *script, enum hotplug_action a,
    hotplug_done_cb done, void *arg)
{
	struct hotplug_req r = { .hr_script = script, .hr_action = a, .hr_kind = "vbd",
	    .hr_backend_dir = backend_dev_bepath(d) };

	return hotplug_run(backend_dev_base(d), backend_dev_xsa(d), &r, done, arg);
}

/* udev has run the add script (err 0) or not in time: its keys tell which. */
static void
vbd_script_udev_done(int err, void *arg)
{
	struct vbd *v = arg;
	char *hs;

	v->v_udev = NULL;
	if (err) {
		backend_dev_fail(v->v_dev, "error", "udev did not run the hotplug script "
		    "(run_hotplug_scripts=0): %s", strerror(err));
		v->v_script = VBD_SCRIPT_FAILED;
	} else {
		/* xen-udev-hotplug records the exit status as hotplug.c does */
		hs = backend_dev_read(v->v_dev, false, "hotplug-exit-status");
		v->v_script = hs && strcmp(hs, "0") == 0 ? VBD_SCRIPT_OK : VBD_SCRIPT_FAILED;
		if (v->v_script == VBD_SCRIPT_FAILED)
			log_warnx("%s: hotplug script run by udev: exit status %s",
			    backend_dev_name(v->v_dev), hs ? hs : "unknown");
		free(hs);
	}
	backend_dev_kick(v->v_dev);
}

/* Whether udev runs the scripts on this host (xl.conf's run_hotplug_scripts=0). */
static bool
vbd_script_by_udev(void)
{
	const struct xlconf *xc = xlconf_get();

	return xc && !xlconf_bool(xc, "run_hotplug_scripts");
}

/* Asks udev to run the script with action; the request, or NULL (device failed for add). */
static struct udev_wait_req *
vbd_script_udev(struct vbd *v, enum hotplug_action a, udev_wait_cb cb, void *arg)
{
	struct blkback_state *bs = backend_priv(backend_dev_backend(v->v_dev));
	struct udev_wait_req *r;

	if (bs->bs_udev == NULL &&
	    (bs->bs_udev = udev_wait_open(backend_dev_base(v->v_dev))) == NULL) {
		if (a == HOTPLUG_ADD)
			backend_dev_fail(v->v_dev, "error", "run_hotplug_scripts=0 but udev cannot "
			    "run the hotplug script: %s", strerror(errno));
		return NULL;
	}
	r = udev_wait_hotplug(bs->bs_udev, UDEV_WAIT_VBD_SYSPATH, "vbd", v->v_domid,
	    backend_dev_devid(v->v_dev), a, HOTPLUG_TIMEOUT_MS, cb, arg);
	if (r == NULL && a == HOTPLUG_ADD)
		backend_dev_fail(v->v_dev, "error", "cannot raise the uevent for udev: %s",
		    strerror(errno));
	return r;
}

/* The add step of probe: the script's outcome decides what blkback opens. */
int
vbd_script_add(struct vbd *v, char **target)
{
	char *script;

	*target = NULL;
	switch (v->v_script) {
	case VBD_SCRIPT_RUNNING:
		return 1;
	case VBD_SCRIPT_FAILED:
	case VBD_SCRIPT_REMOVING:
	case VBD_SCRIPT_REMOVED:
		return -1;
	case VBD_SCRIPT_OK:
		if ((*target = backend_dev_read(v->v_dev, false, "node")) == NULL)
			*target = backend_dev_read(v->v_dev, false, "physical-device-path");
		return 0;
	case VBD_SCRIPT_NONE:
		break;
	}
	if ((script = vbd_script_path(v)) == NULL)
		return 0;
	if (vbd_script_by_udev()) {
		log_info("%s: udev runs %s add", backend_dev_name(v->v_dev), script);
		free(script);
		if ((v->v_udev = vbd_script_udev(v, HOTPLUG_ADD, vbd_script_udev_done, v)) == NULL) {
			v->v_script = VBD_SCRIPT_FAILED;
			return -1;
		}
		v->v_script = VBD_SCRIPT_RUNNING;
		return 1;
	}
	log_info("%s: running %s add", backend_dev_name(v->v_dev), script);
	v->v_hp = vbd_script_run(v->v_dev, script, HOTPLUG_ADD, vbd_script_done, v);
	free(script);
	if (v->v_hp == NULL) {
		backend_dev_fail(v->v_dev, "error", "cannot run the hotplug script");
		v->v_script = VBD_SCRIPT_FAILED;
		return -1;
	}
	v->v_script = VBD_SCRIPT_RUNNING;
	return 1;
}

/* remove ended (its keys are recorded): the close goes on. */
static void
vbd_script_removed(struct hotplug *hp, const struct hotplug_result *res, void *arg)
{
	struct vbd *v = arg;

	(void)hp;
	(void)res;
	v->v_hp = NULL;
	v->v_script = VBD_SCRIPT_REMOVED;
	backend_dev_kick(v->v_dev);
}

/* udev's remove ended (or timed out). */
static void
vbd_script_udev_removed(int err, void *arg)
{
	struct vbd *v = arg;

	if (err)
		log_warnx("%s: udev did not run the remove script: %s",
		    backend_dev_name(v->v_dev), strerror(err));
	v->v_udev = NULL;
	v->v_script = VBD_SCRIPT_REMOVED;
	backend_dev_kick(v->v_dev);
}

/* A remove nobody waits for (the device object is gone). */
static void
vbd_script_removed_alone(struct hotplug *hp, const struct hotplug_result *res, void *arg)
{
	(void)hp;
	(void)res;
	(void)arg;
}

/* The same for udev. */
static void
vbd_script_udev_removed_alone(int err, void *arg)
{
	(void)err;
	(void)arg;
}

/* Starts remove; 1 while it runs (alone: nobody is told), 0 when nothing is to be done. */
static int
vbd_script_remove(struct vbd *v, bool alone)
{
	char *script;

	if (v->v_script == VBD_SCRIPT_REMOVING)
		return 1;
	if (v->v_script != VBD_SCRIPT_OK || (script = vbd_script_path(v)) == NULL)
		return 0;
	log_info("%s: %s %s remove", backend_dev_name(v->v_dev),
	    vbd_script_by_udev() ? "udev runs" : "running", script);
	if (vbd_script_by_udev())
		v->v_udev = vbd_script_udev(v, HOTPLUG_REMOVE, alone ?
		    vbd_script_udev_removed_alone : vbd_script_udev_removed, alone ? NULL : v);
	else
		v->v_hp = vbd_script_run(v->v_dev, script, HOTPLUG_REMOVE, alone ?
		    vbd_script_removed_alone : vbd_script_removed, alone ? NULL : v);
	free(script);
	if (v->v_udev == NULL && v->v_hp == NULL) {
		log_warn("%s: cannot run the remove script", backend_dev_name(v->v_dev));
		v->v_script = VBD_SCRIPT_REMOVED;
		return 0;
	}
	v->v_script = VBD_SCRIPT_REMOVING;
	return 1;
}

/* The skeleton's unplug step: remove while the backend keys are still there. */
int
vbd_script_unplug(struct vbd *v)
{
	return vbd_script_remove(v, false);
}

/* Nothing of the script may outlive the device object. */
void
vbd_script_release(struct vbd *v)
{
	bool stopping = backend_stopping(backend_dev_backend(v->v_dev));

	if (v->v_hp) {
		hotplug_cancel(v->v_hp);
		v->v_hp = NULL;
	}
	if (v->v_udev) {
		udev_wait_cancel(v->v_udev);
		v->v_udev = NULL;
	}
	/* a directory removed before we closed: remove still runs, unanswered */
	if (!stopping && v->v_script == VBD_SCRIPT_OK)
		vbd_script_remove(v, true);
	v->v_hp = NULL;
	v->v_udev = NULL;
}
