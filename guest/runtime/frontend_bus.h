/*
 * The devices of one kind a guest has, tracked as the toolstack lists them
 * (device/<kind>), each with a watch on its backend's state: a backend ready
 * at boot is connected at once; one that becomes ready later (or a device
 * attached later) is connected from the watch; a backend that closes (detach)
 * is closed on our side and, while the toolstack keeps it online, re-armed
 * (Initialising) so it may come back; one that goes back to InitWait while we
 * are connected (a restarted backend worker) is connected again. blkfront_bus.c
 * and netfront_bus.c are a const struct frontend_bus_ops each.
 */
#ifndef PVGUEST_FRONTEND_BUS_H
#define PVGUEST_FRONTEND_BUS_H

#include "frontend.h"

#define FRONTEND_BUS_MAX 64

struct frontend_bus_ops {
	const char *fbo_kind;		/* "vbd": tracks device/vbd */
	const char *fbo_name;		/* "blkfront": the watches' tokens */
	unsigned fbo_max;		/* devices tracked at most (<= FRONTEND_BUS_MAX) */
	/* Connects devid and says how it went; the device, or NULL (tried
	 * again when the backend moves). */
	void *(*fbo_connect)(struct guest *g, const char *devid);
	/* Closes dev for good and says why. */
	void (*fbo_close)(void *dev, const char *devid, const char *why);
	/* Optional: the backend went back to InitWait while dev was connected;
	 * lets dev go without a close. Without it dev is closed ("backend
	 * restarted") and re-armed. Either way it is connected again. */
	void (*fbo_forget)(void *dev);
};

struct frontend_bus_dev;

struct frontend_bus {
	const struct frontend_bus_ops *fb_ops;
	struct guest *fb_g;
	struct frontend_bus_dev *fb_devs[FRONTEND_BUS_MAX];
	unsigned fb_ndevs;
	unsigned fb_seq;		/* numbers the devices' watch tokens */
	char fb_token[32];		/* the device/<kind> watch's */
	bool fb_initial;		/* its first event (the registration's) is still to come */
};

/* Tracks what device/<kind> holds now and watches it for more; the watches
 * fire from xenbus_dispatch_watches(). -1 when device/<kind> cannot be watched. */
int frontend_bus_init(struct frontend_bus *b, struct guest *g, const struct frontend_bus_ops *ops);
/* The i-th connected device (in the toolstack's order), NULL past the last. */
void *frontend_bus_get(struct frontend_bus *b, unsigned i);

#endif
