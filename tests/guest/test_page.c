/* The page allocator: first fit, contiguity, zeroing, double free refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"

#define NPAGES 16
#define FIRST 7

static uint8_t *mem;
static struct page_pool pp;

static void
setup(void)
{
	mem = aligned_alloc(PAGE_SIZE, NPAGES * PAGE_SIZE);
	memset(mem, 0xaa, NPAGES * PAGE_SIZE);
	cr_assert_eq(page_pool_init(&pp, mem, FIRST, NPAGES), 0);
}

static void
teardown(void)
{
	page_pool_fini(&pp);
	free(mem);
}

TestSuite(page, .init = setup, .fini = teardown);

Test(page, allocates_free_frames_only_and_zeroed)
{
	uint64_t pfn;
	uint8_t *p = page_alloc(&pp, 1, &pfn);

	cr_assert_not_null(p);
	cr_assert_eq(pfn, FIRST);
	cr_assert_eq(p, mem + FIRST * PAGE_SIZE);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(mem[(FIRST - 1) * PAGE_SIZE], 0xaa, "special pages untouched");
	cr_assert_eq(pp.pp_nfree, NPAGES - FIRST - 1);
}

Test(page, runs_out_then_reuses_freed)
{
	uint64_t pfn, seen = 0;

	for (int i = 0; i < NPAGES - FIRST; i++) {
		cr_assert_not_null(page_alloc(&pp, 1, &pfn));
		cr_assert_eq(pfn, (uint64_t)FIRST + i);
		seen++;
	}
	cr_assert_eq(seen, NPAGES - FIRST);
	cr_assert_null(page_alloc(&pp, 1, &pfn));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(page_free(&pp, FIRST + 3, 1), 0);
	cr_assert_not_null(page_alloc(&pp, 1, &pfn));
	cr_assert_eq(pfn, FIRST + 3);
}

Test(page, contiguous_runs_skip_holes)
{
	uint64_t a, b, c, run;

	page_alloc(&pp, 1, &a);
	page_alloc(&pp, 1, &b);
	page_alloc(&pp, 1, &c);
	cr_assert_eq(page_free(&pp, b, 1), 0);
	cr_assert_not_null(page_alloc(&pp, 2, &run));
	cr_assert_eq(run, c + 1, "a one-frame hole does not fit two");
	cr_assert_not_null(page_alloc(&pp, 1, &run));
	cr_assert_eq(run, b, "but a single frame fills it");
	cr_assert_null(page_alloc(&pp, NPAGES, &run));
}

Test(page, refuses_double_free_and_foreign_frames)
{
	uint64_t pfn;

	page_alloc(&pp, 2, &pfn);
	cr_assert_eq(page_free(&pp, pfn, 2), 0);
	cr_assert_eq(page_free(&pp, pfn, 1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(page_free(&pp, 0, 1), -1, "special frame");
	cr_assert_eq(page_free(&pp, NPAGES - 1, 2), -1, "past the end");
	cr_assert_eq(pp.pp_nfree, NPAGES - FIRST);
}

Test(page, pointer_and_frame_conversions)
{
	cr_assert_eq(page_ptr(&pp, 2), mem + 2 * PAGE_SIZE);
	cr_assert_null(page_ptr(&pp, NPAGES));
	cr_assert_eq(page_pfn(&pp, mem + 5 * PAGE_SIZE + 17), 5);
	cr_assert_eq(page_pfn(&pp, mem + NPAGES * PAGE_SIZE), -1);
}
