#include <errno.h>
#include <string.h>

#include "blkfront_req.h"

unsigned
blkfront_req_segs(uint32_t nsect)
{
	return (nsect + BLKFRONT_SECT_PER_PAGE - 1) / BLKFRONT_SECT_PER_PAGE;
}

unsigned
blkfront_req_ind_pages(unsigned nsegs)
{
	return (nsegs + BLKFRONT_SEGS_PER_IND - 1) / BLKFRONT_SEGS_PER_IND;
}

/* Segment i of an I/O of nsect sectors packed from the start of each page. */
static struct blkif_request_segment
blkfront_req_seg(grant_ref_t ref, unsigned i, uint32_t nsect)
{
	uint32_t left = nsect - i * BLKFRONT_SECT_PER_PAGE;
	struct blkif_request_segment seg = {
		.gref = ref,
		.first_sect = 0,
		.last_sect = (uint8_t)((left < BLKFRONT_SECT_PER_PAGE ? left : BLKFRONT_SECT_PER_PAGE) - 1),
	};

	return seg;
}

/* The slot is built in a zeroed private copy and copied once, so no stale
 * bytes of an earlier request reach the backend. */
void
blkfront_req_rw(blkif_request_t *req, uint8_t op, uint16_t handle, uint64_t id,
    uint64_t sector, uint32_t nsect, const grant_ref_t *refs)
{
	blkif_request_t r;
	unsigned nsegs = blkfront_req_segs(nsect);

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.nr_segments = (uint8_t)nsegs;
	r.handle = handle;
	r.id = id;
	r.sector_number = sector;
	for (unsigned i = 0; i < nsegs; i++)
		r.seg[i] = blkfront_req_seg(refs[i], i, nsect);
	memcpy(req, &r, sizeof(r));
}

void
blkfront_req_indirect(blkif_request_t *slot, uint8_t op, uint16_t handle, uint64_t id,
    uint64_t sector, uint32_t nsect, const grant_ref_t *refs, void *const *ind,
    const grant_ref_t *irefs)
{
	blkif_request_t raw;
	blkif_request_indirect_t *r = (blkif_request_indirect_t *)&raw;
	unsigned nsegs = blkfront_req_segs(nsect);

	for (unsigned i = 0; i < nsegs; i++) {
		struct blkif_request_segment *list = ind[i / BLKFRONT_SEGS_PER_IND];
		list[i % BLKFRONT_SEGS_PER_IND] = blkfront_req_seg(refs[i], i, nsect);
	}
	memset(&raw, 0, sizeof(raw));
	r->operation = BLKIF_OP_INDIRECT;
	r->indirect_op = op;
	r->nr_segments = (uint16_t)nsegs;
	r->id = id;
	r->sector_number = sector;
	r->handle = handle;
	for (unsigned i = 0; i < blkfront_req_ind_pages(nsegs); i++)
		r->indirect_grefs[i] = irefs[i];
	memcpy(slot, &raw, sizeof(raw));
}

void
blkfront_req_discard(blkif_request_t *slot, uint16_t handle, uint64_t id, uint64_t sector,
    uint64_t nsect)
{
	blkif_request_t raw;
	blkif_request_discard_t *r = (blkif_request_discard_t *)&raw;

	memset(&raw, 0, sizeof(raw));
	r->operation = BLKIF_OP_DISCARD;
	r->flag = 0;
	r->handle = handle;
	r->id = id;
	r->sector_number = sector;
	r->nr_sectors = nsect;
	memcpy(slot, &raw, sizeof(raw));
}

void
blkfront_req_flush(blkif_request_t *slot, uint16_t handle, uint64_t id)
{
	blkif_request_t r;

	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_FLUSH_DISKCACHE;
	r.handle = handle;
	r.id = id;
	memcpy(slot, &r, sizeof(r));
}

/* A backend answers each request once, in any order, echoing id and operation;
 * for an indirect request Linux's blkback echoes indirect_op, others echo
 * BLKIF_OP_INDIRECT: both are taken. */
int
blkfront_rsp_check(const blkif_response_t *rsp, const uint8_t *slot_op, unsigned nslots)
{
	if (rsp->id >= nslots || slot_op[rsp->id] == BLKFRONT_SLOT_FREE) {
		errno = EPROTO;
		return -1;
	}
	uint8_t want = slot_op[rsp->id] & ~BLKFRONT_SLOT_INDIRECT;
	int indirect = (slot_op[rsp->id] & BLKFRONT_SLOT_INDIRECT) != 0;
	if (rsp->operation != want && !(indirect && rsp->operation == BLKIF_OP_INDIRECT)) {
		errno = EPROTO;
		return -1;
	}
	switch (rsp->status) {
	case BLKIF_RSP_OKAY:
		return 0;
	case BLKIF_RSP_EOPNOTSUPP:
		return EOPNOTSUPP;
	default:
		return EIO;
	}
}
