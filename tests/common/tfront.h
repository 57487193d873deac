/*
 * What the backend tests' frontends (tests/blkback's bbfront, tests/netback's
 * nbfront) share: the test process plays a frontend on a real domain running
 * the relay kernel (tests/blkback's bbguest), writing grant entries and
 * xenstore keys itself. Each frontend keeps its own struct and rings; these
 * are the steps that do not depend on the device kind. Assertions inside.
 */
#ifndef PVSTACK_TEST_TFRONT_H
#define PVSTACK_TEST_TFRONT_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/grant_table.h>

#include "stack.h"
#include "xs.h"

#define TFRONT_FIRST_REF	8	/* grant refs below are the toolstack's */

struct hv_evtchn;

/* A relay domain and our ends of its event channels. */
struct tfront_dom {
	uint32_t td_domid;
	uint8_t *td_mem;		/* all of its memory, mapped writable */
	grant_entry_v1_t *td_gnt;	/* its grant table in td_mem */
	struct hv_evtchn *td_xce;
	int td_bell;			/* our end of the relay */
};

/* A domain of pages pages running the relay guest, which signals the
 * nports guest-side ports (allocated into ports) when the bell rings. */
void tfront_domain(struct stack *st, unsigned pages, int *ports, unsigned nports,
    struct tfront_dom *d);
/* Destroys the domain; our mapping of it first. */
void tfront_destroy(struct stack *st, uint32_t domid, struct hv_evtchn *xce);
/* A v1 grant entry for dom0, written as the guest would; the next ref of *next. */
uint32_t tfront_grant(grant_entry_v1_t *gnt, uint32_t *next, uint64_t pfn, bool readonly);
/* Writes <dir>/<key>; asserts. */
void tfront_write(struct stack *st, xs_tx_t tx, const char *dir, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Inside a transaction: the keys xl writes for every kind of device (the
 * cross-links, backend-id 0, online=1, both states Initialising) and the
 * test's extra backend keys ("key=value", NULL-ended; extra may be NULL). */
void tfront_devdir_keys(struct stack *st, xs_tx_t tx, const char *fe, const char *be,
    uint32_t domid, const char *const *extra);
/* The value of key in such an extra list, NULL when it has none. */
const char *tfront_extra_get(const char *const *extra, const char *key);
/* The xenbus state in dir, 0 when absent; waits for it (0, or -1 after ms). */
int tfront_state(struct stack *st, const char *dir);
int tfront_wait_state(struct stack *st, const char *dir, int state, int ms);
/* Waits up to ms for dir's state to reach at least state (no assertion). */
void tfront_wait_at_least(struct stack *st, const char *dir, int state, int ms);
/* What xl's detach writes: online=0 and state 5 in the backend directory be. */
void tfront_detach(struct stack *st, const char *be);
/* Removes both device directories (what xl does after a detach). */
void tfront_rmdirs(struct stack *st, const char *fe, const char *be);

#endif
