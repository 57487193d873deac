/*
 * The guest's disks: every device/vbd the toolstack lists is tracked with a
 * watch on its backend's state. A backend ready at boot is connected at once;
 * one that becomes ready later (or a disk attached later) is connected from
 * the watch; a backend that closes (detach) is closed on our side, and one
 * that goes back to InitWait while we are connected (a restarted backend
 * worker) is connected again, its requests in flight failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkfront_int.h"
#include "xmalloc.h"

#define BLKFRONT_BUS_MAX 64
#define BLKFRONT_BUS_TOKEN "blkfront-bus"

struct blkfront_dev {
	char bd_devid[16];
	char bd_backend[FRONTEND_PATH_MAX];
	char bd_state[FRONTEND_PATH_MAX + 8];	/* <backend>/state, watched */
	char bd_online[FRONTEND_PATH_MAX + 8];	/* <backend>/online */
	char bd_token[32];
	struct blkfront *bd_bf;
	bool bd_failed;		/* the last connect failed: wait for the backend to move */
	XenbusState bd_seen;	/* backend state at the last look */
};

static struct {
	struct guest *b_g;
	blkfront_report_fn *b_report;
	struct blkfront_dev *b_devs[BLKFRONT_BUS_MAX];
	unsigned b_ndevs;
	unsigned b_seq;
} blkfront_bus;

/* "xvda: connected, 2048 sectors of 512 bytes, rw" and its features. */
static void
blkfront_bus_report_up(struct blkfront *bf)
{
	const struct blkfront_info *bi = blkfront_info(bf);

	blkfront_bus.b_report(blkfront_bus.b_g,
	    "blk: %s: connected, %llu sectors of %u bytes, %s, queues %u, ring pages %u, "
	    "indirect %u, persistent %s, flush %s, discard %s\n", blkfront_name(bf),
	    (unsigned long long)(bi->bi_sectors * 512 / bi->bi_sector_size), bi->bi_sector_size,
	    bi->bi_readonly ? "ro" : "rw", bi->bi_queues, 1u << bi->bi_ring_order, bi->bi_indirect,
	    bi->bi_persistent ? "yes" : "no", bi->bi_flush ? "yes" : "no",
	    bi->bi_discard ? "yes" : "no");
}

/* Connects d; a failure is said once and retried when the backend moves. */
static void
blkfront_bus_connect(struct blkfront_dev *d)
{
	char why[256];

	d->bd_bf = blkfront_open(blkfront_bus.b_g, d->bd_devid, BLKFRONT_CONNECT_MS, why,
	    sizeof(why));
	if (d->bd_bf == NULL) {
		d->bd_failed = true;
		blkfront_bus.b_report(blkfront_bus.b_g, "blk: vbd %s: %s\n", d->bd_devid, why);
		return;
	}
	d->bd_failed = false;
	blkfront_bus_report_up(d->bd_bf);
}

/* Closes d's disk; unless the toolstack is taking the device away
 * (online=0), re-arms it (Initialising) so the backend may come back. */
static void
blkfront_bus_disconnect(struct blkfront_dev *d, const char *why)
{
	struct guest *g = blkfront_bus.b_g;
	char name[32];

	snprintf(name, sizeof(name), "%s", blkfront_name(d->bd_bf));
	struct frontend fe = d->bd_bf->bf_fe;
	blkfront_close(d->bd_bf, BLKFRONT_CONNECT_MS);
	d->bd_bf = NULL;
	blkfront_bus.b_report(g, "blk: %s: disconnected (%s)\n", name, why);
	long online = 0;
	if (xenbus_read_long(g->g_xb, XENBUS_TX_NONE, d->bd_online, &online) == 0 && online == 1)
		xenbus_switch_state(g->g_xb, XENBUS_TX_NONE, fe.fe_dir, XenbusStateInitialising);
}

/* The backend's state moved: connect, close or reconnect. */
static void
blkfront_bus_changed(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	struct blkfront_dev *d = arg;
	XenbusState st = xenbus_read_state(xb, XENBUS_TX_NONE, d->bd_backend);
	XenbusState was = d->bd_seen;

	(void)path;
	(void)token;
	d->bd_seen = st;
	if (d->bd_bf != NULL) {
		if (st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown)
			blkfront_bus_disconnect(d, xenbus_state_name(st));
		else if (st == XenbusStateInitWait && was != XenbusStateInitWait) {
			blkfront_bus.b_report(blkfront_bus.b_g, "blk: %s: backend in InitWait again, "
			    "reconnecting\n", blkfront_name(d->bd_bf));
			blkfront_forget(d->bd_bf);
			d->bd_bf = NULL;
			blkfront_bus_connect(d);
		}
		return;
	}
	if (st == was && d->bd_failed)
		return;
	if (st >= XenbusStateInitWait && st <= XenbusStateConnected)
		blkfront_bus_connect(d);
}

/* Starts tracking device/vbd/<devid>; connects now if its backend is ready. */
static void
blkfront_bus_track(const char *devid)
{
	struct guest *g = blkfront_bus.b_g;
	struct frontend fe;

	if (blkfront_bus.b_ndevs == BLKFRONT_BUS_MAX || strlen(devid) >= 16 ||
	    frontend_init(&fe, g, "vbd", devid) < 0)
		return;		/* not complete yet: a later scan tries again */
	struct blkfront_dev *d = xcalloc(1, sizeof(*d));
	strcpy(d->bd_devid, devid);
	strcpy(d->bd_backend, fe.fe_backend);
	snprintf(d->bd_state, sizeof(d->bd_state), "%s/state", fe.fe_backend);
	snprintf(d->bd_online, sizeof(d->bd_online), "%s/online", fe.fe_backend);
	snprintf(d->bd_token, sizeof(d->bd_token), "blkfront-%u", ++blkfront_bus.b_seq);
	blkfront_bus.b_devs[blkfront_bus.b_ndevs++] = d;
	d->bd_seen = xenbus_read_state(g->g_xb, XENBUS_TX_NONE, fe.fe_backend);
	if (d->bd_seen >= XenbusStateInitWait && d->bd_seen <= XenbusStateConnected)
		blkfront_bus_connect(d);
	xenbus_watch(g->g_xb, d->bd_state, d->bd_token, blkfront_bus_changed, d);
}

/* The toolstack removed the device: close what is left and forget it. */
static void
blkfront_bus_untrack(unsigned i)
{
	struct blkfront_dev *d = blkfront_bus.b_devs[i];

	xenbus_unwatch(blkfront_bus.b_g->g_xb, d->bd_state, d->bd_token);
	if (d->bd_bf != NULL)
		blkfront_bus_disconnect(d, "removed");
	memmove(&blkfront_bus.b_devs[i], &blkfront_bus.b_devs[i + 1],
	    (blkfront_bus.b_ndevs - i - 1) * sizeof(blkfront_bus.b_devs[0]));
	blkfront_bus.b_ndevs--;
	free(d);
}

/* Whether ids (num of them) holds id. */
static bool
blkfront_bus_listed(char **ids, unsigned num, const char *id)
{
	for (unsigned i = 0; i < num; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

/* device/vbd changed: new ids are tracked, vanished ones forgotten. */
static void
blkfront_bus_scan(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	unsigned num = 0;
	char **ids = frontend_list(blkfront_bus.b_g, "vbd", &num);

	(void)xb;
	(void)path;
	(void)token;
	(void)arg;
	for (unsigned i = blkfront_bus.b_ndevs; i-- > 0;) {
		if (!blkfront_bus_listed(ids, ids ? num : 0, blkfront_bus.b_devs[i]->bd_devid))
			blkfront_bus_untrack(i);
	}
	for (unsigned i = 0; ids != NULL && i < num; i++) {
		bool known = false;
		for (unsigned j = 0; j < blkfront_bus.b_ndevs && !known; j++)
			known = strcmp(blkfront_bus.b_devs[j]->bd_devid, ids[i]) == 0;
		if (!known)
			blkfront_bus_track(ids[i]);
	}
	free(ids);
}

int
blkfront_bus_init(struct guest *g, blkfront_report_fn *report)
{
	blkfront_bus.b_g = g;
	blkfront_bus.b_report = report;
	blkfront_bus_scan(g->g_xb, NULL, NULL, NULL);
	return xenbus_watch(g->g_xb, "device/vbd", BLKFRONT_BUS_TOKEN, blkfront_bus_scan, NULL);
}

struct blkfront *
blkfront_bus_get(unsigned i)
{
	for (unsigned j = 0; j < blkfront_bus.b_ndevs; j++) {
		if (blkfront_bus.b_devs[j]->bd_bf != NULL && i-- == 0)
			return blkfront_bus.b_devs[j]->bd_bf;
	}
	return NULL;
}

struct blkfront *
blkfront_bus_find(const char *name)
{
	struct blkfront *bf;

	for (unsigned i = 0; (bf = blkfront_bus_get(i)) != NULL; i++) {
		if (blkfront_is(bf, name))
			return bf;
	}
	return NULL;
}
