/*
 * What bfiov_guest writes through blkfront's iovec path (and vhubf_guest
 * through virtio-blk on it) and test_blk_guest reads back from the image: the
 * regions and the bytes in them.
 */
#ifndef PVSTACK_TEST_BFIOV_H
#define PVSTACK_TEST_BFIOV_H

#include <stdint.h>

#define BFIOV_IMG_MIB	16
#define BFIOV_A_SECTOR	8ull		/* synchronous, split over requests */
#define BFIOV_A_NSECT	4120ull		/* 2 MiB and 12 KiB */
#define BFIOV_B_SECTOR	8192ull		/* asynchronous, many in flight */
#define BFIOV_B_BIG	16384ull	/* in requests as large as the disk takes */
#define BFIOV_B_SMALL	40u		/* then this many, request i of i % 8 + 1 sectors */
#define BFIOV_B_NSECT	(BFIOV_B_BIG + 180ull)
#define BFIOV_C_SECTOR	24832ull	/* virtio-blk requests through vhubf (vhubf_guest.c) */

/* Byte off (from the start of the disk) as written in pass seed: no two
 * nearby sectors alike, so a piece copied to the wrong place shows. */
static inline uint8_t
bfiov_byte(uint64_t off, unsigned seed)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull + seed * 0x632be59bd9b4e019ull;

	return (uint8_t)(x >> 56 ^ x >> 29);
}

#endif
