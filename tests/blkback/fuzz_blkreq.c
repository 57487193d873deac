/*
 * libFuzzer target for blkback's request decoder and validator: the input is
 * a ring slot, then the device's limits, then an indirect segment page, all
 * as hostile as a frontend can make them. Whatever the validator accepts must
 * stay within the device and within each granted page; otherwise we trap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blkreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blkreq req;
static struct blkif_request_segment segs[BLKREQ_MAX_SEGS];

/* What an accepted request must satisfy. */
static void
fuzz_check(const struct blkreq_limits *lim)
{
	uint64_t n = 0;

	if (req.nseg > BLKREQ_MAX_SEGS || (!req.indirect && req.nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST))
		__builtin_trap();
	for (unsigned i = 0; i < req.nseg; i++) {
		if (req.seg[i].first > req.seg[i].last || req.seg[i].last > 7)
			__builtin_trap();
		n += req.seg[i].last - req.seg[i].first + 1u;
	}
	if (req.op != BLKIF_OP_DISCARD && n != req.nr_sectors)
		__builtin_trap();
	if (req.sector > lim->sectors || req.nr_sectors > lim->sectors - req.sector)
		__builtin_trap();
	if (lim->readonly && req.op != BLKIF_OP_READ && (req.nseg || req.op == BLKIF_OP_DISCARD))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	blkif_request_t slot;
	struct blkreq_limits lim = { .sector_size = 512 };
	uint8_t flags;

	if (size < sizeof(slot) + 9)
		return 0;
	memcpy(&slot, data, sizeof(slot));
	memcpy(&lim.sectors, data + sizeof(slot), 8);
	flags = data[sizeof(slot) + 8];
	lim.readonly = flags & 1;
	lim.discard = flags & 2;
	lim.flush = flags & 4;
	lim.max_indirect = flags & 8 ? BLKBACK_MAX_INDIRECT_SEGS : 0;
	lim.sector_size = 512u << ((flags >> 4) & 3);
	data += sizeof(slot) + 9;
	size -= sizeof(slot) + 9;
	memset(segs, 0, sizeof(segs));
	memcpy(segs, data, size < sizeof(segs) ? size : sizeof(segs));

	int st = blkreq_decode(&req, &slot, &lim);
	if (st == BLKIF_RSP_OKAY && req.indirect) {
		if (req.nr_indirect == 0 || req.nr_indirect > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
			__builtin_trap();
		st = blkreq_decode_indirect(&req, segs, &lim);
	}
	if (st == BLKIF_RSP_OKAY)
		fuzz_check(&lim);
	else if (st != BLKIF_RSP_ERROR && st != BLKIF_RSP_EOPNOTSUPP)
		__builtin_trap();
	if (req.id != slot.id)
		__builtin_trap();
	return 0;
}
