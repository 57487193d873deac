#include <string.h>

#include "blkreq.h"

/* One segment: first <= last <= 7 (one 4 KiB page of 512-byte sectors). */
static int
blkreq_seg(struct blkreq *r, unsigned i, uint32_t gref, uint8_t first, uint8_t last)
{
	if (first > last || last >= 4096 / 512)
		return BLKIF_RSP_ERROR;
	r->seg[i] = (struct blkreq_seg){ .gref = gref, .first = first, .last = last };
	r->nr_sectors += last - first + 1u;
	return BLKIF_RSP_OKAY;
}

/* The whole range inside the device, aligned to its sector size, overflow-safe. */
static int
blkreq_range(const struct blkreq *r, const struct blkreq_limits *lim)
{
	uint32_t per = lim->sector_size / 512;

	if (r->sector > lim->sectors || r->nr_sectors > lim->sectors - r->sector)
		return BLKIF_RSP_ERROR;
	if (per > 1 && (r->sector % per || r->nr_sectors % per))
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

/* READ, WRITE, FLUSH_DISKCACHE: up to 11 direct segments. */
static int
blkreq_rw(struct blkreq *r, const blkif_request_t *c, const struct blkreq_limits *lim)
{
	r->nseg = c->nr_segments;
	r->sector = c->sector_number;
	if (r->nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	if (r->op == BLKIF_OP_FLUSH_DISKCACHE) {
		if (!lim->flush)
			return BLKIF_RSP_EOPNOTSUPP;
	} else if (r->nseg == 0)
		return BLKIF_RSP_ERROR;
	if (r->op != BLKIF_OP_READ && r->nseg > 0 && lim->readonly)
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < r->nseg; i++)
		if (blkreq_seg(r, i, c->seg[i].gref, c->seg[i].first_sect, c->seg[i].last_sect))
			return BLKIF_RSP_ERROR;
	if (r->nseg == 0)
		r->sector = 0;		/* a flush alone names no sectors */
	return r->nseg ? blkreq_range(r, lim) : BLKIF_RSP_OKAY;
}

/* DISCARD: a sector range, no segments. */
static int
blkreq_discard(struct blkreq *r, const blkif_request_t *c, const struct blkreq_limits *lim)
{
	blkif_request_discard_t d;

	memcpy(&d, c, sizeof(d));
	if (!lim->discard)
		return BLKIF_RSP_EOPNOTSUPP;
	if (lim->readonly)
		return BLKIF_RSP_ERROR;
	r->sector = d.sector_number;
	r->nr_sectors = d.nr_sectors;
	return blkreq_range(r, lim);
}

/* INDIRECT: the header; the segments come from the indirect pages. */
static int
blkreq_indirect(struct blkreq *r, const blkif_request_t *c, const struct blkreq_limits *lim)
{
	blkif_request_indirect_t in;

	memcpy(&in, c, sizeof(in));
	if (lim->max_indirect == 0)
		return BLKIF_RSP_EOPNOTSUPP;
	r->rsp_op = in.indirect_op;
	if (in.indirect_op != BLKIF_OP_READ && in.indirect_op != BLKIF_OP_WRITE)
		return BLKIF_RSP_ERROR;
	r->op = in.indirect_op;
	r->indirect = true;
	r->nseg = in.nr_segments;
	r->sector = in.sector_number;
	if (r->nseg == 0 || r->nseg > lim->max_indirect || r->nseg > BLKREQ_MAX_SEGS)
		return BLKIF_RSP_ERROR;
	if (r->op == BLKIF_OP_WRITE && lim->readonly)
		return BLKIF_RSP_ERROR;
	r->nr_indirect = (r->nseg + BLKREQ_SEGS_PER_PAGE - 1) / BLKREQ_SEGS_PER_PAGE;
	if (r->nr_indirect > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	memcpy(r->indirect_grefs, in.indirect_grefs, r->nr_indirect * sizeof(uint32_t));
	return BLKIF_RSP_OKAY;
}

/* Decodes one slot's private copy. */
int
blkreq_decode(struct blkreq *r, const blkif_request_t *copy, const struct blkreq_limits *lim)
{
	r->id = copy->id;
	r->rsp_op = r->op = copy->operation;
	r->indirect = false;
	r->nr_indirect = 0;
	r->nseg = 0;
	r->sector = r->nr_sectors = 0;
	switch (copy->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_FLUSH_DISKCACHE:
		return blkreq_rw(r, copy, lim);
	case BLKIF_OP_DISCARD:
		return blkreq_discard(r, copy, lim);
	case BLKIF_OP_INDIRECT:
		return blkreq_indirect(r, copy, lim);
	default:
		return BLKIF_RSP_EOPNOTSUPP;
	}
}

/* Finishes an indirect request from its copied segment list. */
int
blkreq_decode_indirect(struct blkreq *r, const struct blkif_request_segment *segs,
    const struct blkreq_limits *lim)
{
	r->nr_sectors = 0;
	for (unsigned i = 0; i < r->nseg; i++)
		if (blkreq_seg(r, i, segs[i].gref, segs[i].first_sect, segs[i].last_sect))
			return BLKIF_RSP_ERROR;
	return blkreq_range(r, lim);
}
