/*
 * The domain's disks as UML's ubd devices: every device/vbd, connected
 * through blkfront's bus, ordered by vdev so the config's order holds
 * (hda1 < hda2 < ..., xvda < xvdb), and named vda, vdb, ... in that order:
 * UML numbers its devices in the order it is given them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "shim.h"

/* blkfront says on the console what happens to each disk. */
static void
shim_disks_report(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_vprintf(g->g_cons, fmt, ap);
	va_end(ap);
}

static unsigned
shim_disks_connected(void)
{
	unsigned n = 0;

	while (blkfront_bus_get(n))
		n++;
	return n;
}

static int
shim_disks_cmp(const void *a, const void *b)
{
	uint32_t x = blkfront_vdev(((const struct shim_disk *)a)->sd_bf);
	uint32_t y = blkfront_vdev(((const struct shim_disk *)b)->sd_bf);

	return x < y ? -1 : x > y;
}

int
shim_disks_init(struct shim *s, int timeout_ms)
{
	struct guest *g = s->s_g;
	unsigned want = 0;
	char **ids = frontend_list(g, "vbd", &want);
	long long deadline = events_now_ms() + timeout_ms;

	free(ids);
	if (blkfront_bus_init(g, shim_disks_report) < 0)
		return -1;
	while (shim_disks_connected() < want && events_now_ms() < deadline) {
		events_poll(g->g_ev, 100);
		xenbus_dispatch_watches(g->g_xb);
	}
	for (struct blkfront *bf; s->s_ndisks < SHIM_MAX_DISKS &&
	    (bf = blkfront_bus_get(s->s_ndisks)) != NULL; s->s_ndisks++) {
		s->s_disks[s->s_ndisks].sd_bf = bf;
		s->s_disks[s->s_ndisks].sd_xen = blkfront_name(bf);
		s->s_disks[s->s_ndisks].sd_ro = blkfront_info(bf)->bi_readonly;
	}
	if (s->s_ndisks < want)
		console_printf(g->g_cons, "umlshim: %u of %u disks connected; booting without "
		    "the others\n", s->s_ndisks, want);
	qsort(s->s_disks, s->s_ndisks, sizeof(s->s_disks[0]), shim_disks_cmp);
	for (unsigned i = 0; i < s->s_ndisks; i++)
		snprintf(s->s_disks[i].sd_name, sizeof(s->s_disks[i].sd_name), "vd%c", 'a' + i);
	return 0;
}

/* "/dev/hda1", "hda1", "xvda" -> "vda" when that disk is here. */
const char *
shim_disks_ubd(const struct shim *s, const char *xen)
{
	if (strncmp(xen, "/dev/", 5) == 0)
		xen += 5;
	for (unsigned i = 0; i < s->s_ndisks; i++)
		if (blkfront_is(s->s_disks[i].sd_bf, xen))
			return s->s_disks[i].sd_name;
	return NULL;
}
