/*
 * heap_before_trim: glibc's per-thread cache of freed blocks is emptied into
 * the heap, so malloc_trim gives back the pages those blocks held.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xenstored.h"

#define HT_SIZES	64		/* the cache's sizes: requests of 24 + 16 * i bytes */
#define HT_PER_SIZE	56		/* blocks of each size: 8 times what the cache keeps */
#define HT_N		(HT_SIZES * HT_PER_SIZE)

/* This process's resident memory in KiB. */
static long
ht_rss_kb(void)
{
	long size, res = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * Blocks of every cached size, interleaved over about 1.8 MiB of heap; one in
 * eight freed first, 7 of each size, spread about a page apart (they fill the
 * cache), then the rest. A trim alone keeps the pages holding the cached blocks; emptying the
 * cache first lets them go, and glibc no longer counts the blocks in use.
 */
Test(heap, emptied_cache_lets_trim_give_pages_back)
{
	static void *p[HT_N];
	struct mallinfo2 before, after;
	long rss_trim, rss_flush;
	int i, pass;

	for (i = 0; i < HT_N; i++)
		cr_assert_not_null(p[i] = malloc(24 + 16 * (i % HT_SIZES)));
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < HT_N; i++)
			if (((i / HT_SIZES) % 8 == (i % HT_SIZES) % 8) == (pass == 0))
				free(p[i]);
	malloc_trim(0);
	rss_trim = ht_rss_kb();
	before = mallinfo2();
	heap_before_trim();
	malloc_trim(0);
	rss_flush = ht_rss_kb();
	after = mallinfo2();
	cr_log_info("RSS after a trim %ld KiB, after the flush and a trim %ld KiB; in use %zu -> %zu",
	    rss_trim, rss_flush, before.uordblks, after.uordblks);
#ifdef __SANITIZE_ADDRESS__
	/* ASan's allocator stands in for glibc's: no cache, no trim, no mallinfo to
	 * measure. What still holds is that the flush frees every block it takes
	 * (LeakSanitizer checks at exit) and touches none it does not own. */
	return;
#endif
	/* 7 blocks of each of 64 sizes, 24 to 1032 bytes: about 230 KiB in use before */
	cr_assert_gt(before.uordblks, after.uordblks + 200 * 1024,
	    "in use: %zu -> %zu bytes", before.uordblks, after.uordblks);
	/* the ~1.8 MiB they were spread over goes back */
	cr_assert_gt(rss_trim, rss_flush + 1024, "RSS after a trim %ld KiB, after the flush %ld KiB",
	    rss_trim, rss_flush);
}
