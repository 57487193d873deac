/*
 * The request decoder and validator: everything a frontend puts in a ring
 * slot or an indirect page is copied to private memory once (by the caller)
 * and then checked here, with no access to shared memory, so it can be unit
 * tested and fuzzed alone. A request that fails gets the status to answer
 * with; the device carries on.
 */
#ifndef PVSTACK_BLKREQ_H
#define PVSTACK_BLKREQ_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>

#include "blkback.h"

#define BLKREQ_MAX_SEGS			BLKBACK_MAX_INDIRECT_SEGS
#define BLKREQ_SEGS_PER_PAGE		(4096 / sizeof(struct blkif_request_segment))

/* What the device allows. */
struct blkreq_limits {
	uint64_t sectors;		/* device size, 512-byte units */
	uint32_t sector_size;		/* offsets and lengths aligned to it */
	bool readonly;
	bool discard;
	bool flush;
	uint16_t max_indirect;		/* 0: no BLKIF_OP_INDIRECT */
};

struct blkreq_seg {
	uint32_t gref;
	uint8_t first, last;		/* 512-byte sectors within the page, inclusive */
};

struct blkreq {
	uint64_t id;			/* echoed */
	uint8_t rsp_op;			/* the operation the response names */
	uint8_t op;			/* READ, WRITE, FLUSH_DISKCACHE, DISCARD (indirect: its op) */
	bool indirect;
	uint8_t nr_indirect;		/* indirect pages to read segments from */
	uint16_t nseg;
	uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint64_t sector;		/* 512-byte units */
	uint64_t nr_sectors;
	struct blkreq_seg seg[BLKREQ_MAX_SEGS];
};

/*
 * Decodes and checks a private copy of a ring slot. Returns BLKIF_RSP_OKAY,
 * BLKIF_RSP_ERROR or BLKIF_RSP_EOPNOTSUPP; id and rsp_op are always set. An
 * indirect request is OKAY so far with nr_indirect pages still to read:
 * blkreq_decode_indirect finishes it.
 */
int blkreq_decode(struct blkreq *r, const blkif_request_t *copy, const struct blkreq_limits *lim);
/* The segments of an indirect request, from a private copy of r->nseg entries. */
int blkreq_decode_indirect(struct blkreq *r, const struct blkif_request_segment *segs,
    const struct blkreq_limits *lim);

#endif
