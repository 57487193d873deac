/*
 * udev as the hotplug runner, for hosts with run_hotplug_scripts=0 in xl.conf,
 * and how a backend learns on its libevent loop that udev has finished.
 *
 * There is no kernel xen-backend device here to raise a uevent per vbd or
 * vif, so the backend raises one itself: a synthetic "change" uevent
 * (sysfs-uevent(5): "ACTION UUID KEY=VALUE...", root only) on a kernel object
 * that stands for the device (the vif's tap, /sys/class/net/vif5.0; for a vbd
 * /sys/devices/virtual/misc/loop-control, present wherever loop devices are),
 * carrying XENBUSTYPE, DOMID, DEVID and XENBUSACTION (the kernel only passes
 * alphanumeric keys and values). udev-rules/xen-backend.rules turns those into
 * Xen's legacy udev contract (XENBUS_TYPE, XENBUS_PATH=backend/<type>/<domid>/
 * <devid>, XENBUS_BASE_PATH, UDEV_CALL=1) and runs hotplug/xen-udev-hotplug,
 * which runs the script the backend dir names (block, vif-bridge), in the
 * script directory only, and records hotplug-exit-status, hotplug-stderr and,
 * on failure, hotplug-error, as hotplug.c does.
 *
 * udevd broadcasts an event to libudev monitors once its RUN programs have
 * returned; the monitor here matches that broadcast by the event's SYNTH_UUID,
 * so the callback means "the script has run": the backend then reads
 * hotplug-status and goes on (connected) or fails the device.
 *
 *	struct udev_wait *uw = udev_wait_open(base);	at start-up, before any device
 *	udev_wait_hotplug(uw, UDEV_WAIT_VBD_SYSPATH, "vbd", domid, devid,
 *	    HOTPLUG_ADD, 40000, vbd_udev_done, vbd);
 *	static void vbd_udev_done(int err, void *arg)	err 0, or ETIMEDOUT
 *
 * udev_wait_device waits for udev's processing of a kernel event of a device
 * the backend made itself (the "add" of a tap, the "change" of a loop device
 * being bound), so that rules such as naming or permissions have been applied.
 * Open the monitor before making the device, or its event may be missed.
 */
#ifndef PVSTACK_UDEV_WAIT_H
#define PVSTACK_UDEV_WAIT_H

#include <stdint.h>

#include "hotplug.h"

#define UDEV_WAIT_VBD_SYSPATH	"/sys/devices/virtual/misc/loop-control"

struct event_base;
struct udev_wait;
struct udev_wait_req;

/* err: 0 once udev has processed the event, ETIMEDOUT, or ECANCELED at close. */
typedef void (*udev_wait_cb)(int err, void *arg);

/* A monitor of udevd's processed events on the loop; NULL with errno
 * (ENOENT: no udevd is running, /run/udev/control is missing). */
struct udev_wait *udev_wait_open(struct event_base *base);
/* Runs every pending callback with ECANCELED, then frees. */
void udev_wait_close(struct udev_wait *uw);

/*
 * Asks udev to run the hotplug script of backend/<kind>/<domid>/<devid> with
 * action, through a synthetic uevent on syspath. NULL with errno: EINVAL for a
 * kind that is not alphanumeric, or the write's error (EACCES when not root).
 */
struct udev_wait_req *udev_wait_hotplug(struct udev_wait *uw, const char *syspath,
    const char *kind, uint32_t domid, uint32_t devid, enum hotplug_action action,
    int timeout_ms, udev_wait_cb cb, void *arg);

/* Waits for udev's processed event action ("add", "change", ...) of subsystem/sysname. */
struct udev_wait_req *udev_wait_device(struct udev_wait *uw, const char *subsystem,
    const char *sysname, const char *action, int timeout_ms, udev_wait_cb cb, void *arg);

/* Drops a pending wait without its callback. */
void udev_wait_cancel(struct udev_wait_req *r);

#endif
