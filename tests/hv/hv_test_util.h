/* A private hvd per test, in its own temporary PVSTACK_RUNDIR, and the
 * helpers the hv tests share to boot the test guest. */
#ifndef PVSTACK_HV_TEST_UTIL_H
#define PVSTACK_HV_TEST_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "libhv.h"

struct hvt {
	char rundir[64];
	char sock[128];
	pid_t hvd_pid;
	struct hv *hv;
};

/* Starts hvd in a fresh rundir and connects to it. */
void hvt_start(struct hvt *t);
/* SIGTERM to hvd, waits for it, removes the rundir. */
void hvt_stop(struct hvt *t);
/* Creates and builds the test guest with cmdline; store/console ports made for it. */
hv_domid_t hvt_guest(struct hvt *t, const char *cmdline, hv_port_t *store, hv_port_t *console);
/* Polls getinfo until (flags & mask) == want, up to ms milliseconds; returns the info. */
bool hvt_wait_flags(struct hvt *t, hv_domid_t domid, uint32_t mask, uint32_t want, int ms,
    struct hv_dominfo *info);
/* Waits up to ms for an event on xce; returns the port or -1. */
int hvt_wait_event(struct hv_evtchn *xce, int ms);

/* A booted "grant" guest (hv_test_guest.h): its command page, its grant
 * entries when asked for, and our end of its store channel. */
struct hvt_grant_guest {
	hv_domid_t domid;
	volatile struct tg_page *pg;
	grant_entry_v1_t *gnt;		/* NULL unless with_gnttab */
	struct hv_evtchn *xce;
	int port;
};

/* Boots a "grant" guest and waits until it has published its grants; with_gnttab also maps
 * its grant table read-only. */
void hvt_grant_guest_start(struct hvt *t, struct hvt_grant_guest *g, bool with_gnttab);
/* The guest ends access to ref (gnttab_end_foreign_access_ref); 0 or -errno. */
int hvt_grant_guest_end_access(struct hvt_grant_guest *g, hv_gref_t ref);

#endif
