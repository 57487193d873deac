/*
 * Guest tests: a private hvd (tests/hv's hvt helpers), pvguest built into a
 * domain, and dom0's end of its console ring mapped here so a test reads the
 * banner and types commands. The store side is either gt_store (this test
 * serving the ring itself) or a real xenstored.
 */
#ifndef PVSTACK_GT_HARNESS_H
#define PVSTACK_GT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/console.h>

#include "hv_test_util.h"
#include "gt_store.h"

struct gt {
	struct hvt hvt;
	hv_domid_t domid;
	hv_port_t store_port;		/* guest side */
	hv_port_t console_port;
	uint64_t store_mfn, console_mfn;
	struct hv_evtchn *xce;
	int lcons;			/* our end of the console port */
	int lstore;			/* our end of the store port (gt_store only), or -1 */
	struct xencons_interface *cons;
	struct gt_store *store;		/* NULL with a real xenstored */
	bool no_drain;			/* play a console daemon that does not read */
	char out[1 << 16];		/* everything the guest printed */
	size_t outlen;
};

#define GT_OWN_STORE	1	/* gt_store serves the store ring */
#define GT_NO_CONSOLE	2	/* leave the console port to consoled */

/* hvd up, domain created and built (paused), console bound; with own_store,
 * the store ring is served by gt_store. */
void gt_start(struct gt *t, bool own_store);
/* The same with GT_* flags, another kernel and command line. */
void gt_start_kernel(struct gt *t, int flags, const char *kernel, const char *cmdline);
void gt_unpause(struct gt *t);
/* Serves events until the output holds needle (after offset from). */
bool gt_wait_output(struct gt *t, const char *needle, size_t from, int ms);
/* Serves events for ms milliseconds. */
void gt_serve(struct gt *t, int ms);
/* Puts keystrokes on the console's in ring. */
void gt_type(struct gt *t, const char *keys);
/* Serves events for ms milliseconds, or until hvd reports the domain shut down. */
bool gt_wait_shutdown(struct gt *t, int ms, struct hv_dominfo *info);
void gt_stop(struct gt *t);

#endif
