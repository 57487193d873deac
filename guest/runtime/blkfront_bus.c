/*
 * The guest's disks: device/vbd tracked by frontend_bus.c, which connects,
 * closes and reconnects them as their backends move. A backend that goes back
 * to InitWait while we are connected (a restarted backend worker) has its
 * disk forgotten without a close, the requests in flight failed, and
 * connected again.
 */
#include <stdio.h>

#include "blkfront_int.h"
#include "frontend_bus.h"

static struct {
	struct guest *b_g;
	blkfront_report_fn *b_report;
	struct frontend_bus b_bus;
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

/* Opens a disk for the bus, saying how it went. */
static void *
blkfront_bus_connect(struct guest *g, const char *devid)
{
	char why[256];
	struct blkfront *bf = blkfront_open(g, devid, BLKFRONT_CONNECT_MS, why, sizeof(why));

	if (bf == NULL)
		blkfront_bus.b_report(g, "blk: vbd %s: %s\n", devid, why);
	else
		blkfront_bus_report_up(bf);
	return bf;
}

/* Closes a disk for the bus; its name is said after it is gone. */
static void
blkfront_bus_close(void *dev, const char *devid, const char *why)
{
	struct blkfront *bf = dev;
	char name[32];

	(void)devid;
	snprintf(name, sizeof(name), "%s", blkfront_name(bf));
	blkfront_close(bf, BLKFRONT_CONNECT_MS);
	blkfront_bus.b_report(blkfront_bus.b_g, "blk: %s: disconnected (%s)\n", name, why);
}

/* A restarted backend worker takes the rings over: nothing to close. */
static void
blkfront_bus_forget(void *dev)
{
	struct blkfront *bf = dev;

	blkfront_bus.b_report(blkfront_bus.b_g, "blk: %s: backend in InitWait again, "
	    "reconnecting\n", blkfront_name(bf));
	blkfront_forget(bf);
}

static const struct frontend_bus_ops blkfront_bus_ops = {
	.fbo_kind = "vbd",
	.fbo_name = "blkfront",
	.fbo_max = 64,
	.fbo_connect = blkfront_bus_connect,
	.fbo_close = blkfront_bus_close,
	.fbo_forget = blkfront_bus_forget,
};

int
blkfront_bus_init(struct guest *g, blkfront_report_fn *report)
{
	blkfront_bus.b_g = g;
	blkfront_bus.b_report = report;
	return frontend_bus_init(&blkfront_bus.b_bus, g, &blkfront_bus_ops);
}

struct blkfront *
blkfront_bus_get(unsigned i)
{
	return frontend_bus_get(&blkfront_bus.b_bus, i);
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
