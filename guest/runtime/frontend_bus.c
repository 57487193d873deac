/* frontend_bus: one kind's devices, connected and closed as their backends move. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_bus.h"
#include "xmalloc.h"

struct frontend_bus_dev {
	struct frontend_bus *fd_bus;
	char fd_devid[16];
	char fd_dir[FRONTEND_PATH_MAX];		/* device/<kind>/<devid> */
	char fd_backend[FRONTEND_PATH_MAX];
	char fd_state[FRONTEND_PATH_MAX + 8];	/* <backend>/state, watched */
	char fd_online[FRONTEND_PATH_MAX + 8];	/* <backend>/online */
	char fd_token[48];
	void *fd_dev;				/* connected: the frontend's own object */
	bool fd_failed;		/* the last connect failed: wait for the backend to move */
	XenbusState fd_seen;	/* backend state at the last look */
};

/* Connects d; a failure is said once (by the kind) and retried when the backend moves. */
static void
frontend_bus_connect(struct frontend_bus_dev *d)
{
	d->fd_dev = d->fd_bus->fb_ops->fbo_connect(d->fd_bus->fb_g, d->fd_devid);
	d->fd_failed = d->fd_dev == NULL;
}

/* Closes d's device; unless the toolstack is taking the device away
 * (online=0), re-arms it (Initialising) so the backend may come back. */
static void
frontend_bus_disconnect(struct frontend_bus_dev *d, const char *why)
{
	struct xenbus *xb = d->fd_bus->fb_g->g_xb;
	long online = 0;

	d->fd_bus->fb_ops->fbo_close(d->fd_dev, d->fd_devid, why);
	d->fd_dev = NULL;
	if (xenbus_read_long(xb, XENBUS_TX_NONE, d->fd_online, &online) == 0 && online == 1)
		xenbus_switch_state(xb, XENBUS_TX_NONE, d->fd_dir, XenbusStateInitialising);
}

/* The backend's state moved: connect, close or reconnect. */
static void
frontend_bus_changed(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	struct frontend_bus_dev *d = arg;
	const struct frontend_bus_ops *ops = d->fd_bus->fb_ops;
	XenbusState st = xenbus_read_state(xb, XENBUS_TX_NONE, d->fd_backend);
	XenbusState was = d->fd_seen;

	(void)path;
	(void)token;
	d->fd_seen = st;
	if (d->fd_dev != NULL) {
		if (st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown)
			frontend_bus_disconnect(d, xenbus_state_name(st));
		else if (st == XenbusStateInitWait && was != XenbusStateInitWait) {
			if (ops->fbo_forget != NULL) {
				ops->fbo_forget(d->fd_dev);
				d->fd_dev = NULL;
			} else
				frontend_bus_disconnect(d, "backend restarted");
			frontend_bus_connect(d);
		}
		return;
	}
	if (st == was && d->fd_failed)
		return;
	if (st >= XenbusStateInitWait && st <= XenbusStateConnected)
		frontend_bus_connect(d);
}

/* Starts tracking device/<kind>/<devid>; connects now if its backend is ready. */
static void
frontend_bus_track(struct frontend_bus *b, const char *devid)
{
	struct guest *g = b->fb_g;
	struct frontend fe;

	if (b->fb_ndevs == b->fb_ops->fbo_max || strlen(devid) >= 16 ||
	    frontend_init(&fe, g, b->fb_ops->fbo_kind, devid) < 0)
		return;		/* not complete yet: a later scan tries again */
	struct frontend_bus_dev *d = xcalloc(1, sizeof(*d));
	d->fd_bus = b;
	strcpy(d->fd_devid, devid);
	strcpy(d->fd_dir, fe.fe_dir);
	strcpy(d->fd_backend, fe.fe_backend);
	snprintf(d->fd_state, sizeof(d->fd_state), "%s/state", fe.fe_backend);
	snprintf(d->fd_online, sizeof(d->fd_online), "%s/online", fe.fe_backend);
	snprintf(d->fd_token, sizeof(d->fd_token), "%s-%u", b->fb_ops->fbo_name, ++b->fb_seq);
	b->fb_devs[b->fb_ndevs++] = d;
	d->fd_seen = xenbus_read_state(g->g_xb, XENBUS_TX_NONE, fe.fe_backend);
	if (d->fd_seen >= XenbusStateInitWait && d->fd_seen <= XenbusStateConnected)
		frontend_bus_connect(d);
	xenbus_watch(g->g_xb, d->fd_state, d->fd_token, frontend_bus_changed, d);
}

/* The toolstack removed the device: close what is left and forget it. */
static void
frontend_bus_untrack(struct frontend_bus *b, unsigned i)
{
	struct frontend_bus_dev *d = b->fb_devs[i];

	xenbus_unwatch(b->fb_g->g_xb, d->fd_state, d->fd_token);
	if (d->fd_dev != NULL)
		frontend_bus_disconnect(d, "removed");
	memmove(&b->fb_devs[i], &b->fb_devs[i + 1], (b->fb_ndevs - i - 1) * sizeof(b->fb_devs[0]));
	b->fb_ndevs--;
	free(d);
}

/* Whether ids (num of them) holds id. */
static bool
frontend_bus_listed(char **ids, unsigned num, const char *id)
{
	for (unsigned i = 0; i < num; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

/* New ids (device/<kind>'s listing, NULL when absent) are tracked, vanished ones forgotten. */
static void
frontend_bus_apply(struct frontend_bus *b, char **ids, unsigned num)
{
	for (unsigned i = b->fb_ndevs; i-- > 0;) {
		if (!frontend_bus_listed(ids, ids ? num : 0, b->fb_devs[i]->fd_devid))
			frontend_bus_untrack(b, i);
	}
	for (unsigned i = 0; ids != NULL && i < num; i++) {
		bool known = false;
		for (unsigned j = 0; j < b->fb_ndevs && !known; j++)
			known = strcmp(b->fb_devs[j]->fd_devid, ids[i]) == 0;
		if (!known)
			frontend_bus_track(b, ids[i]);
	}
	free(ids);
}

/*
 * device/<kind> changed: list it again. The watch's first event is the one
 * its registration fires, and init listed the directory after registering
 * it (any later change fires an event of its own): that one is skipped, two
 * round trips less right after the boot.
 */
static void
frontend_bus_scan(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	struct frontend_bus *b = arg;

	(void)xb;
	(void)path;
	(void)token;
	if (b->fb_initial) {
		b->fb_initial = false;
		return;
	}
	unsigned num = 0;
	char **ids = frontend_list(b->fb_g, b->fb_ops->fbo_kind, &num);
	frontend_bus_apply(b, ids, num);
}

int
frontend_bus_init(struct frontend_bus *b, struct guest *g, const struct frontend_bus_ops *ops)
{
	char dir[FRONTEND_PATH_MAX];

	memset(b, 0, sizeof(*b));
	b->fb_ops = ops;
	b->fb_g = g;
	snprintf(b->fb_token, sizeof(b->fb_token), "%s-bus", ops->fbo_name);
	snprintf(dir, sizeof(dir), "device/%s", ops->fbo_kind);
	/* the watch and the first listing in one round trip (the watch first: a
	 * device added in between is seen by its event) */
	xenbus_batch_begin(g->g_xb);
	b->fb_initial = true;
	int rc = xenbus_watch(g->g_xb, dir, b->fb_token, frontend_bus_scan, b);
	unsigned num = 0;
	char **ids = frontend_list(g, ops->fbo_kind, &num);
	int saved = errno;
	if (xenbus_batch_end(g->g_xb) < 0)
		rc = -1;
	else
		errno = saved;
	frontend_bus_apply(b, ids, num);
	return rc;
}

void *
frontend_bus_get(struct frontend_bus *b, unsigned i)
{
	for (unsigned j = 0; j < b->fb_ndevs; j++) {
		if (b->fb_devs[j]->fd_dev != NULL && i-- == 0)
			return b->fb_devs[j]->fd_dev;
	}
	return NULL;
}
