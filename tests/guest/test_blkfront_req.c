/* blkfront's pure parts: vdev names, request layout, response checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk_vdev.h"
#include "blkfront_req.h"

static const char *
name(uint32_t vdev)
{
	static char buf[32];

	return blk_vdev_name(vdev, buf, sizeof(buf));
}

Test(blk_vdev, names_of_every_scheme)
{
	cr_assert_str_eq(name(51712), "xvda");		/* 202<<8 */
	cr_assert_str_eq(name((202 << 8) | (1 << 4) | 2), "xvdb2");
	cr_assert_str_eq(name(769), "hda1");		/* 3<<8 | 0<<6 | 1 */
	cr_assert_str_eq(name((3 << 8) | (1 << 6) | 4), "hdb4");
	cr_assert_str_eq(name((22 << 8) | (0 << 6)), "hdc");
	cr_assert_str_eq(name((22 << 8) | (1 << 6) | 3), "hdd3");
	cr_assert_str_eq(name((8 << 8) | (1 << 4)), "sdb");
	cr_assert_str_eq(name((1u << 28) | (26 << 8)), "xvdaa");
	cr_assert_str_eq(name((1u << 28) | (701 << 8) | 7), "xvdzz7");
	cr_assert_str_eq(name((1u << 28) | (702 << 8)), "xvdaaa");
	cr_assert_str_eq(name(12345), "12345", "no scheme: the number");
	cr_assert_str_eq(name((3 << 8) | (2 << 6)), "896", "hd major 3 has disks a and b only");
}

Test(blk_req, segments_and_indirect_pages)
{
	cr_assert_eq(blkfront_req_segs(1), 1);
	cr_assert_eq(blkfront_req_segs(8), 1);
	cr_assert_eq(blkfront_req_segs(9), 2);
	cr_assert_eq(blkfront_req_segs(88), 11);
	cr_assert_eq(blkfront_req_segs(2048), 256);
	cr_assert_eq(blkfront_req_ind_pages(11), 1);
	cr_assert_eq(blkfront_req_ind_pages(512), 1);
	cr_assert_eq(blkfront_req_ind_pages(513), 2);
	cr_assert_eq(sizeof(blkif_request_t), 112, "x86_64 ABI");
	cr_assert_eq(sizeof(blkif_response_t), 16);
}

Test(blk_req, rw_packs_sectors_into_whole_pages)
{
	blkif_request_t req;
	grant_ref_t refs[3] = { 100, 101, 102 };

	memset(&req, 0xee, sizeof(req));
	blkfront_req_rw(&req, BLKIF_OP_WRITE, 0x1234, 7, 4096, 19, refs);
	cr_assert_eq(req.operation, BLKIF_OP_WRITE);
	cr_assert_eq(req.nr_segments, 3);
	cr_assert_eq(req.handle, 0x1234);
	cr_assert_eq(req.id, 7);
	cr_assert_eq(req.sector_number, 4096);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(req.seg[i].gref, 100 + i);
		cr_assert_eq(req.seg[i].first_sect, 0);
	}
	cr_assert_eq(req.seg[0].last_sect, 7);
	cr_assert_eq(req.seg[1].last_sect, 7);
	cr_assert_eq(req.seg[2].last_sect, 2, "19 = 8 + 8 + 3");
	cr_assert_eq(req.seg[3].gref, 0, "unused segments are zeroed, not stale");
}

Test(blk_req, indirect_puts_the_segment_list_in_its_pages)
{
	blkif_request_t slot;
	static struct blkif_request_segment list[512];
	grant_ref_t refs[256], iref = 900;
	void *ind[1] = { list };

	for (int i = 0; i < 256; i++)
		refs[i] = 1000 + i;
	blkfront_req_indirect(&slot, BLKIF_OP_READ, 9, 31, 2048, 2044, refs, ind, &iref);
	blkif_request_indirect_t *r = (blkif_request_indirect_t *)&slot;
	cr_assert_eq(r->operation, BLKIF_OP_INDIRECT);
	cr_assert_eq(r->indirect_op, BLKIF_OP_READ);
	cr_assert_eq(r->nr_segments, 256);
	cr_assert_eq(r->id, 31);
	cr_assert_eq(r->sector_number, 2048);
	cr_assert_eq(r->handle, 9);
	cr_assert_eq(r->indirect_grefs[0], 900);
	cr_assert_eq(r->indirect_grefs[1], 0);
	cr_assert_eq(list[0].gref, 1000);
	cr_assert_eq(list[255].gref, 1255);
	cr_assert_eq(list[254].last_sect, 7);
	cr_assert_eq(list[255].last_sect, 3, "2044 = 255 * 8 + 4");
}

Test(blk_req, discard_and_flush)
{
	blkif_request_t slot;

	memset(&slot, 0xee, sizeof(slot));
	blkfront_req_discard(&slot, 3, 5, 1ull << 40, 1ull << 33);
	blkif_request_discard_t *d = (blkif_request_discard_t *)&slot;
	cr_assert_eq(d->operation, BLKIF_OP_DISCARD);
	cr_assert_eq(d->flag, 0, "not a secure discard");
	cr_assert_eq(d->id, 5);
	cr_assert_eq(d->sector_number, 1ull << 40);
	cr_assert_eq(d->nr_sectors, 1ull << 33);
	blkfront_req_flush(&slot, 3, 6);
	cr_assert_eq(slot.operation, BLKIF_OP_FLUSH_DISKCACHE);
	cr_assert_eq(slot.nr_segments, 0);
	cr_assert_eq(slot.id, 6);
}

Test(blk_req, responses_must_answer_what_we_issued)
{
	uint8_t ops[4] = { BLKIF_OP_READ, BLKFRONT_SLOT_FREE, BLKIF_OP_WRITE | BLKFRONT_SLOT_INDIRECT,
	    BLKIF_OP_DISCARD };
	blkif_response_t rsp = { .id = 0, .operation = BLKIF_OP_READ, .status = BLKIF_RSP_OKAY };

	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), 0);
	rsp.status = BLKIF_RSP_ERROR;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), EIO);
	rsp.status = -77;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), EIO, "unknown status is an error");
	rsp.status = BLKIF_RSP_EOPNOTSUPP;
	rsp.id = 3;
	rsp.operation = BLKIF_OP_DISCARD;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), EOPNOTSUPP);
	rsp.status = 0;
	rsp.id = 2;
	rsp.operation = BLKIF_OP_WRITE;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), 0, "indirect_op echoed (Linux)");
	rsp.operation = BLKIF_OP_INDIRECT;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), 0, "BLKIF_OP_INDIRECT echoed");
	rsp.operation = BLKIF_OP_READ;
	errno = 0;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), -1, "wrong operation");
	cr_assert_eq(errno, EPROTO);
	rsp.id = 0;
	rsp.operation = BLKIF_OP_INDIRECT;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), -1, "slot 0 was not indirect");
	rsp.id = 1;
	rsp.operation = BLKIF_OP_READ;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), -1, "nothing outstanding in slot 1");
	rsp.id = 4;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), -1, "id beyond the ring");
	rsp.id = 1ull << 40;
	cr_assert_eq(blkfront_rsp_check(&rsp, ops, 4), -1, "id beyond the ring");
}
