/* Unit tests of blkback's request decoder and validator (blkback/blkreq.c). */
#include <string.h>

#include <criterion/criterion.h>

#include "blkreq.h"

static const struct blkreq_limits lim = {
	.sectors = 1000, .sector_size = 512, .flush = true, .discard = true,
	.max_indirect = BLKBACK_MAX_INDIRECT_SEGS,
};
static struct blkreq r;

/* A request with n one-page segments of 8 sectors each. */
static blkif_request_t
rw(uint8_t op, uint64_t sector, unsigned n)
{
	blkif_request_t q;

	memset(&q, 0, sizeof(q));
	q.operation = op;
	q.nr_segments = n;
	q.id = 77;
	q.sector_number = sector;
	for (unsigned i = 0; i < n && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		q.seg[i] = (struct blkif_request_segment){ .gref = 10 + i, .first_sect = 0,
		    .last_sect = 7 };
	return q;
}

Test(blkreq, read_write_ok)
{
	blkif_request_t q = rw(BLKIF_OP_READ, 8, 11);

	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_OKAY);
	cr_assert_eq(r.id, 77);
	cr_assert_eq(r.nseg, 11);
	cr_assert_eq(r.nr_sectors, 88);
	cr_assert_eq(r.seg[10].gref, 20);
	q = rw(BLKIF_OP_WRITE, 1000 - 8, 1);
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_OKAY, "last page of the device");
}

Test(blkreq, segment_count)
{
	blkif_request_t q = rw(BLKIF_OP_READ, 0, 0);

	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR, "zero segments");
	q = rw(BLKIF_OP_WRITE, 0, 11);
	q.nr_segments = 12;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR, "12 segments");
	q.nr_segments = 255;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR);
}

Test(blkreq, sectors_within_page)
{
	blkif_request_t q = rw(BLKIF_OP_READ, 0, 2);

	q.seg[1].first_sect = 5;
	q.seg[1].last_sect = 4;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR, "first > last");
	q.seg[1].first_sect = 0;
	q.seg[1].last_sect = 8;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR, "last = 8");
	q.seg[1].first_sect = 7;
	q.seg[1].last_sect = 7;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_OKAY);
	cr_assert_eq(r.nr_sectors, 9);
}

Test(blkreq, range)
{
	blkif_request_t q = rw(BLKIF_OP_READ, 993, 1);

	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR, "past the end by one sector");
	q = rw(BLKIF_OP_READ, UINT64_MAX - 3, 1);
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR, "wrapping sector");
	q = rw(BLKIF_OP_READ, 1000, 1);
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR);
}

Test(blkreq, readonly)
{
	struct blkreq_limits ro = lim;
	blkif_request_t q = rw(BLKIF_OP_WRITE, 0, 1);

	ro.readonly = true;
	cr_assert_eq(blkreq_decode(&r, &q, &ro), BLKIF_RSP_ERROR);
	q.operation = BLKIF_OP_READ;
	cr_assert_eq(blkreq_decode(&r, &q, &ro), BLKIF_RSP_OKAY);
	q.operation = BLKIF_OP_DISCARD;
	cr_assert_eq(blkreq_decode(&r, &q, &ro), BLKIF_RSP_ERROR);
	q = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 1);
	cr_assert_eq(blkreq_decode(&r, &q, &ro), BLKIF_RSP_ERROR, "flush carrying a write");
}

Test(blkreq, unknown_ops)
{
	blkif_request_t q = rw(BLKIF_OP_WRITE_BARRIER, 0, 1);

	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_EOPNOTSUPP);
	cr_assert_eq(r.rsp_op, BLKIF_OP_WRITE_BARRIER);
	q.operation = BLKIF_OP_RESERVED_1;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_EOPNOTSUPP);
	q.operation = 200;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_EOPNOTSUPP);
	cr_assert_eq(r.id, 77, "the id is echoed even for an unknown op");
}

Test(blkreq, flush)
{
	struct blkreq_limits noflush = lim;
	blkif_request_t q = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);

	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_OKAY, "flush alone");
	cr_assert_eq(r.nseg, 0);
	noflush.flush = false;
	cr_assert_eq(blkreq_decode(&r, &q, &noflush), BLKIF_RSP_EOPNOTSUPP);
}

Test(blkreq, discard)
{
	blkif_request_t q;
	blkif_request_discard_t *d = (void *)&q;
	struct blkreq_limits nodiscard = lim;

	memset(&q, 0, sizeof(q));
	d->operation = BLKIF_OP_DISCARD;
	d->sector_number = 100;
	d->nr_sectors = 900;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_OKAY);
	cr_assert_eq(r.nr_sectors, 900);
	d->nr_sectors = 901;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR);
	d->nr_sectors = UINT64_MAX;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_ERROR, "wrapping count");
	nodiscard.discard = false;
	d->nr_sectors = 1;
	cr_assert_eq(blkreq_decode(&r, &q, &nodiscard), BLKIF_RSP_EOPNOTSUPP);
}

Test(blkreq, indirect)
{
	blkif_request_t q;
	blkif_request_indirect_t *in = (void *)&q;
	static struct blkif_request_segment segs[BLKREQ_MAX_SEGS];

	memset(&q, 0, sizeof(q));
	in->operation = BLKIF_OP_INDIRECT;
	in->indirect_op = BLKIF_OP_READ;
	in->nr_segments = 100;
	in->id = 5;
	in->sector_number = 0;
	in->indirect_grefs[0] = 99;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_OKAY);
	cr_assert(r.indirect);
	cr_assert_eq(r.nr_indirect, 1);
	cr_assert_eq(r.indirect_grefs[0], 99);
	cr_assert_eq(r.rsp_op, BLKIF_OP_READ, "the response names indirect_op");
	for (unsigned i = 0; i < 100; i++)
		segs[i] = (struct blkif_request_segment){ .gref = 200 + i, .last_sect = 7 };
	cr_assert_eq(blkreq_decode_indirect(&r, segs, &lim), BLKIF_RSP_OKAY, "800 sectors fit");
	cr_assert_eq(r.seg[99].gref, 299);
	in->nr_segments = 126;
	cr_assert_eq(blkreq_decode(&r, &q, &lim), BLKIF_RSP_OKAY);
	for (unsigned i = 100; i < 126; i++)
		segs[i] = (struct blkif_request_segment){ .gref = 200 + i, .last_sect = 7 };
	cr_assert_eq(blkreq_decode_indirect(&r, segs, &lim), BLKIF_RSP_ERROR, "1008 sectors do not");
}

Test(blkreq, indirect_limits)
{
	blkif_request_t q;
	blkif_request_indirect_t *in = (void *)&q;
	static struct blkif_request_segment segs[BLKREQ_MAX_SEGS];
	struct blkreq_limits big = lim, noind = lim;

	big.sectors = 1 << 20;
	memset(&q, 0, sizeof(q));
	in->operation = BLKIF_OP_INDIRECT;
	in->indirect_op = BLKIF_OP_WRITE;
	in->nr_segments = BLKBACK_MAX_INDIRECT_SEGS;
	cr_assert_eq(blkreq_decode(&r, &q, &big), BLKIF_RSP_OKAY);
	for (unsigned i = 0; i < r.nseg; i++)
		segs[i] = (struct blkif_request_segment){ .gref = i, .last_sect = 7 };
	cr_assert_eq(blkreq_decode_indirect(&r, segs, &big), BLKIF_RSP_OKAY);
	cr_assert_eq(r.nr_sectors, BLKBACK_MAX_INDIRECT_SEGS * 8);
	segs[17].first_sect = 9;
	cr_assert_eq(blkreq_decode_indirect(&r, segs, &big), BLKIF_RSP_ERROR, "bad indirect segment");
	in->nr_segments = BLKBACK_MAX_INDIRECT_SEGS + 1;
	cr_assert_eq(blkreq_decode(&r, &q, &big), BLKIF_RSP_ERROR, "more than advertised");
	in->nr_segments = 0;
	cr_assert_eq(blkreq_decode(&r, &q, &big), BLKIF_RSP_ERROR);
	in->nr_segments = 1;
	in->indirect_op = BLKIF_OP_FLUSH_DISKCACHE;
	cr_assert_eq(blkreq_decode(&r, &q, &big), BLKIF_RSP_ERROR, "indirect_op not read/write");
	in->indirect_op = BLKIF_OP_READ;
	noind.max_indirect = 0;
	cr_assert_eq(blkreq_decode(&r, &q, &noind), BLKIF_RSP_EOPNOTSUPP);
}

Test(blkreq, sector_size_alignment)
{
	struct blkreq_limits k4 = lim;
	blkif_request_t q = rw(BLKIF_OP_READ, 8, 1);

	k4.sector_size = 4096;
	cr_assert_eq(blkreq_decode(&r, &q, &k4), BLKIF_RSP_OKAY);
	q.sector_number = 4;
	cr_assert_eq(blkreq_decode(&r, &q, &k4), BLKIF_RSP_ERROR, "unaligned start");
	q.sector_number = 8;
	q.seg[0].last_sect = 3;
	cr_assert_eq(blkreq_decode(&r, &q, &k4), BLKIF_RSP_ERROR, "unaligned length");
}
