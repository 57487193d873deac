/*
 * The guest runtime's entry points: boot (hv channel, start_info, page pool,
 * event channels, console and xenbus on the start_info pages) and shutdown.
 * A guest program calls guest_boot() first and owns the struct it fills.
 */
#ifndef PVGUEST_GUEST_H
#define PVGUEST_GUEST_H

#include <stdint.h>

#include "console.h"
#include "events.h"
#include "libhv.h"
#include "page.h"
#include "xenbus.h"

struct guest {
	struct hv *g_hv;
	const struct hv_guest_info *g_info;
	hv_domid_t g_domid;
	start_info_t g_start;		/* private copy, read once and checked */
	struct page_pool g_pages;
	struct events *g_ev;
	struct console *g_cons;
	struct xenbus *g_xb;
	long long g_boot_ms;		/* events_now_ms() at boot, for uptime */
};

/* Brings everything up; on failure says why on the hypervisor console. */
int guest_boot(struct guest *g);
/* SCHEDOP_shutdown with reason (SHUTDOWN_poweroff, _reboot, _crash). */
_Noreturn void guest_shutdown(struct guest *g, unsigned reason);
/* Milliseconds since guest_boot. */
long long guest_uptime_ms(const struct guest *g);

/* ---- grants (grant.c) ---- */

/* Grants domid our frame pfn; returns the ref or -1. */
int grant_access(struct guest *g, hv_domid_t domid, uint64_t pfn, int readonly);
/* Ends access; -1 EBUSY while the grantee still maps the page. */
int grant_end_access(struct guest *g, hv_gref_t ref);
/* A fresh zeroed page granted to domid; *ref and *pfn filled. NULL on failure. */
void *grant_alloc_page(struct guest *g, hv_domid_t domid, int readonly, hv_gref_t *ref,
    uint64_t *pfn);
/* Ends access and frees the page; -1 EBUSY (page kept) while still mapped. */
int grant_free_page(struct guest *g, hv_gref_t ref, uint64_t pfn);

#endif
