#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

/* start_info is shared with the hypervisor: copy it once, then check the copy. */
static int
guest_read_start_info(struct guest *g)
{
	const struct hv_guest_info *info = g->g_info;

	memcpy(&g->g_start, info->start_info, sizeof(g->g_start));
	g->g_start.cmd_line[sizeof(g->g_start.cmd_line) - 1] = '\0';
	g->g_start.magic[sizeof(g->g_start.magic) - 1] = '\0';
	if (strncmp(g->g_start.magic, "xen-", 4) != 0) {
		console_early_printf(g->g_hv, "guest: bad start_info magic\n");
		errno = EINVAL;
		return -1;
	}
	uint64_t n = info->nr_pages;
	if (g->g_start.store_mfn >= n || g->g_start.console.domU.mfn >= n ||
	    g->g_start.store_mfn < 1 || g->g_start.console.domU.mfn < 1) {
		console_early_printf(g->g_hv, "guest: start_info pages out of range\n");
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Everything a guest needs before its first xenstore request. */
int
guest_boot(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	g->g_boot_ms = events_now_ms();
	g->g_hv = hv_open_guest();
	if (g->g_hv == NULL)
		return -1;
	g->g_info = hv_guest_info(g->g_hv);
	g->g_domid = g->g_info->domid;
	if (guest_read_start_info(g) < 0)
		return -1;
	if (page_pool_init(&g->g_pages, g->g_info->mem, HV_PFN_FIRST_FREE, g->g_info->nr_pages) < 0)
		return -1;
	g->g_ev = events_open(g->g_hv);
	if (g->g_ev == NULL) {
		console_early_printf(g->g_hv, "guest: evtchn open failed (%s)\n", strerror(errno));
		return -1;
	}
	void *cring = page_ptr(&g->g_pages, g->g_start.console.domU.mfn);
	g->g_cons = console_open(g->g_ev, cring, g->g_start.console.domU.evtchn);
	if (g->g_cons == NULL) {
		console_early_printf(g->g_hv, "guest: console port %u: %s\n",
		    g->g_start.console.domU.evtchn, strerror(errno));
		return -1;
	}
	void *sring = page_ptr(&g->g_pages, g->g_start.store_mfn);
	g->g_xb = xenbus_open(g->g_ev, sring, g->g_start.store_evtchn);
	if (g->g_xb == NULL) {
		console_early_printf(g->g_hv, "guest: store port %u: %s\n",
		    g->g_start.store_evtchn, strerror(errno));
		return -1;
	}
	return 0;
}

/* For uptime: the monotonic clock since boot. */
long long
guest_uptime_ms(const struct guest *g)
{
	return events_now_ms() - g->g_boot_ms;
}

/* A refused hypercall leaves nothing sane to do: dying without one is a crash. */
_Noreturn void
guest_shutdown(struct guest *g, unsigned reason)
{
	hv_guest_shutdown(g->g_hv, reason);
	console_early_printf(g->g_hv, "guest: shutdown(%u) refused: %s\n", reason, strerror(errno));
	_exit(127);
}
