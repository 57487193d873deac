/*
 * blkif requests as blkfront writes them into a ring slot, and the check of
 * each response against the request we issued. Pure: no grants, no ring
 * indices, so the layout rules are unit-tested on their own.
 *
 * Units (blkif.h): sector numbers and counts are 512-byte sectors whatever
 * the disk's sector-size; a segment is one granted 4 KiB page, of which
 * first_sect..last_sect (inclusive, 0..7) carry data. blkfront packs an I/O
 * into whole pages from sector 0 of the first one.
 */
#ifndef PVGUEST_BLKFRONT_REQ_H
#define PVGUEST_BLKFRONT_REQ_H

#include <stdint.h>

#include "xen_ring.h"
#include <xen/io/blkif.h>

#define BLKFRONT_SECT_PER_PAGE	8u
#define BLKFRONT_SEGS_PER_IND	(4096u / sizeof(struct blkif_request_segment))	/* 512 */
#define BLKFRONT_SLOT_FREE	0xff	/* no request outstanding in the slot */
#define BLKFRONT_SLOT_INDIRECT	0x80	/* or'ed into a slot's op: sent as BLKIF_OP_INDIRECT */

/* Segments (pages) an I/O of nsect 512-byte sectors takes. */
unsigned blkfront_req_segs(uint32_t nsect);
/* Indirect pages holding the segment list of nsegs segments. */
unsigned blkfront_req_ind_pages(unsigned nsegs);
/* A READ or WRITE with its segments in the slot (at most 11); refs[i] is page i. */
void blkfront_req_rw(blkif_request_t *req, uint8_t op, uint16_t handle, uint64_t id,
    uint64_t sector, uint32_t nsect, const grant_ref_t *refs);
/* BLKIF_OP_INDIRECT: the segment list goes into ind[] (the indirect pages,
 * granted as irefs), the slot carries their refs. */
void blkfront_req_indirect(blkif_request_t *slot, uint8_t op, uint16_t handle, uint64_t id,
    uint64_t sector, uint32_t nsect, const grant_ref_t *refs, void *const *ind,
    const grant_ref_t *irefs);
/* BLKIF_OP_DISCARD of nsect sectors from sector. */
void blkfront_req_discard(blkif_request_t *slot, uint16_t handle, uint64_t id, uint64_t sector,
    uint64_t nsect);
/* BLKIF_OP_FLUSH_DISKCACHE with no data. */
void blkfront_req_flush(blkif_request_t *slot, uint16_t handle, uint64_t id);
/*
 * Checks a response (already copied out of the ring) against slot_op[] (the
 * operation each of nslots slots expects, with BLKFRONT_SLOT_INDIRECT when it
 * went as an indirect request; BLKFRONT_SLOT_FREE when none is outstanding). Returns the I/O's result as an errno (0, EIO, EOPNOTSUPP),
 * or -1 when the response is not one we can take: an id we did not issue or
 * an operation that is not the one we sent.
 */
int blkfront_rsp_check(const blkif_response_t *rsp, const uint8_t *slot_op, unsigned nslots);

#endif
