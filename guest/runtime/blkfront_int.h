/* blkfront's insides, shared by blkfront.c (handshake, synchronous I/O),
 * blkfront_ring.c (rings, grants, requests and responses) and blkfront_bus.c. */
#ifndef PVGUEST_BLKFRONT_INT_H
#define PVGUEST_BLKFRONT_INT_H

#include "blkfront.h"
#include "blkfront_req.h"
#include "frontend.h"

/* A data or indirect page, granted writable to the backend once. */
struct blkfront_page {
	void *bp_ptr;
	uint64_t bp_pfn;
	hv_gref_t bp_ref;
	struct blkfront_page *bp_next;	/* free list */
};

/* A request outstanding in a ring slot (its id is the slot's index). */
struct blkfront_slot {
	struct blkfront_io *bs_io;
	unsigned bs_npages;		/* data pages, then indirect pages */
	struct blkfront_page **bs_pages;
};

struct blkfront_queue {
	struct blkfront *q_bf;
	unsigned q_index;
	blkif_front_ring_t q_ring;
	blkif_sring_t *q_sring;
	uint64_t q_ring_pfn;
	unsigned q_ring_pages;
	hv_gref_t q_ring_refs[1u << BLKFRONT_MAX_RING_ORDER];
	int q_port;			/* -1 until allocated */
	unsigned q_nslots;
	struct blkfront_slot *q_slots;
	uint8_t *q_slot_op;		/* blkfront_rsp_check's view of the slots */
	uint16_t *q_free;		/* stack of free slot ids */
	unsigned q_nfree;
};

struct blkfront {
	struct frontend bf_fe;
	struct guest *bf_g;
	char bf_devid[16];
	uint32_t bf_vdev;
	char bf_name[32];		/* backend "dev", else decoded */
	char bf_canon[32];		/* decoded from the number */
	struct blkfront_info bf_info;
	unsigned bf_max_queues;		/* offered: multi-queue-max-queues */
	unsigned bf_max_order;		/* offered: max-ring-page-order */
	unsigned bf_max_segs;		/* per request: 11, or bi_indirect */
	unsigned bf_nqueues;
	struct blkfront_queue bf_queues[BLKFRONT_MAX_QUEUES];
	struct blkfront_page *bf_pool;	/* free granted pages, LIFO */
	unsigned bf_pool_free;
	unsigned bf_granted;		/* pages granted in all */
	unsigned bf_inflight;
	unsigned long bf_completed;	/* responses taken, for blkfront_poll */
	int bf_broken;			/* errno that stopped the disk, or 0 */
	char bf_why[160];		/* what stopped it */
};

/* blkfront_ring.c */
int blkfront_rings_init(struct blkfront *bf);
/* Publishes ring-ref(s) and event-channel(s) of every queue in tx. */
int blkfront_rings_publish(struct blkfront *bf, xenbus_tx_t tx);
/* Frees rings, slots and the page pool; pages still mapped by the backend are kept. */
void blkfront_rings_fini(struct blkfront *bf);
/* Stops the disk: every request in flight fails with err, later ones too. */
void blkfront_stop(struct blkfront *bf, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
