/*
 * What blkback's daemon and its workers agree on: the limits it advertises
 * and the CONFIG and CONNECT blobs of the backend channel (common/backend_proto.h).
 */
#ifndef PVSTACK_BLKBACK_H
#define PVSTACK_BLKBACK_H

#include <stdint.h>

#define BLKBACK_MAX_QUEUES		4	/* multi-queue-max-queues (2 fds each per message) */
#define BLKBACK_MAX_RING_ORDER		4	/* max-ring-page-order: 16 pages, 512 slots */
#define BLKBACK_MAX_RING_PAGES		(1u << BLKBACK_MAX_RING_ORDER)
#define BLKBACK_MAX_INDIRECT_SEGS	256	/* feature-max-indirect-segments (1 MiB) */
#define BLKBACK_PERSISTENT_PER_QUEUE	1056	/* kept grants per queue, as Linux's default */

/* Config flags. */
#define BLKBACK_F_READONLY	0x1
#define BLKBACK_F_DISCARD	0x2
#define BLKBACK_F_FLUSH		0x4
#define BLKBACK_F_DIRECT	0x8	/* fds[BLKBACK_FD_DIRECT] is an O_DIRECT descriptor */
#define BLKBACK_F_NOMEDIA	0x10	/* empty cdrom: no image at all */

/* CONFIG descriptors, in this order. */
enum { BLKBACK_FD_MEM, BLKBACK_FD_BUFFERED, BLKBACK_FD_DIRECT };

struct blkback_config {
	uint64_t bc_sectors;		/* 512-byte units */
	uint32_t bc_sector_size;
	uint32_t bc_flags;
	uint64_t bc_mem_pages;		/* the domain's memory (fds[BLKBACK_FD_MEM]) */
	uint64_t bc_gnttab_pfn;
	uint32_t bc_gnttab_frames;
	uint32_t bc_pad;
};

struct blkback_ring {
	uint32_t br_order;
	uint32_t br_refs[BLKBACK_MAX_RING_PAGES];
};

/*
 * The journal: what a worker has taken from a ring and not yet answered, in a
 * memfd the daemon makes at each connect and keeps, so that a worker started
 * after a crash knows which requests to run again, though responses go out in
 * any order and a request's ring slot may already hold a newer one. One entry
 * per worker slot, RING_SIZE of them per queue, queue after queue.
 */
enum { BLKBACK_JE_FREE, BLKBACK_JE_TAKEN, BLKBACK_JE_ANSWERING };
struct blkback_journal_entry {
	uint32_t je_state;		/* BLKBACK_JE_*, stored last */
	uint32_t je_rsp_idx;		/* ANSWERING: the ring index of its response */
	uint8_t je_req[112];		/* the request as copied (blkif_request_t) */
};
#define BLKBACK_JOURNAL_BYTES(nq, ring_size) \
	((size_t)(nq) * (ring_size) * sizeof(struct blkback_journal_entry))

/* CONNECT: the rings; descriptors: wait and signal eventfd of each queue, then the journal. */
struct blkback_connect {
	uint32_t bk_nr_queues;
	uint32_t bk_persistent;		/* the frontend said feature-persistent=1 */
	struct blkback_ring bk_rings[BLKBACK_MAX_QUEUES];
};

struct backend_ops;
extern const struct backend_ops blkback_ops;

#endif
