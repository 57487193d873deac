/* blk bench's pure helpers: block sizes as typed, the offset generator. */
#include <criterion/criterion.h>

#include "blk_bench.h"

Test(blk_bench, sizes_as_typed)
{
	cr_assert_eq(blk_bench_size("4k"), 4096);
	cr_assert_eq(blk_bench_size("4K"), 4096);
	cr_assert_eq(blk_bench_size("4KiB"), 4096);
	cr_assert_eq(blk_bench_size("64KB"), 65536);
	cr_assert_eq(blk_bench_size("1M"), 1u << 20);
	cr_assert_eq(blk_bench_size("1m"), 1u << 20);
	cr_assert_eq(blk_bench_size("512"), 512);
	cr_assert_eq(blk_bench_size("64M"), 64u << 20, "the largest");
	cr_assert_eq(blk_bench_size("65M"), 0, "too large");
	cr_assert_eq(blk_bench_size("1G"), 0);
	cr_assert_eq(blk_bench_size("0"), 0);
	cr_assert_eq(blk_bench_size("-4k"), 0);
	cr_assert_eq(blk_bench_size("k"), 0);
	cr_assert_eq(blk_bench_size("4kx"), 0);
	cr_assert_eq(blk_bench_size(""), 0);
}

Test(blk_bench, random_blocks_cover_the_disk)
{
	uint64_t state = 0x9e3779b97f4a7c15ull, seen[64] = { 0 };
	unsigned hit = 0;

	for (int i = 0; i < 4096; i++) {
		uint64_t v = blk_bench_rand(&state);
		cr_assert_neq(state, 0, "xorshift never reaches 0");
		uint64_t b = v % 4096;
		if (!(seen[b / 64] & (1ull << (b % 64))))
			hit++;
		seen[b / 64] |= 1ull << (b % 64);
	}
	cr_assert_gt(hit, 2400, "4096 draws over 4096 blocks hit about 63%% of them: %u", hit);
	cr_assert_lt(hit, 2800, "%u", hit);
}
