#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "xmalloc.h"

/* Whether frame pfn (absolute) is marked allocated. */
static int
page_test(const struct page_pool *pp, uint64_t pfn)
{
	uint64_t i = pfn - pp->pp_first;

	return (pp->pp_map[i / 64] >> (i % 64)) & 1;
}

/* Marks frames [pfn, pfn+n) allocated (set) or free. */
static void
page_mark(struct page_pool *pp, uint64_t pfn, unsigned n, int set)
{
	for (uint64_t i = pfn - pp->pp_first; n > 0; i++, n--) {
		if (set)
			pp->pp_map[i / 64] |= 1ull << (i % 64);
		else
			pp->pp_map[i / 64] &= ~(1ull << (i % 64));
	}
}

/* Sets up the bitmap for the frames the hypervisor left free. */
int
page_pool_init(struct page_pool *pp, void *mem, uint64_t first, uint64_t nr_pages)
{
	if (mem == NULL || first > nr_pages) {
		errno = EINVAL;
		return -1;
	}
	pp->pp_mem = mem;
	pp->pp_first = first;
	pp->pp_end = nr_pages;
	pp->pp_nfree = nr_pages - first;
	pp->pp_map = xcalloc((pp->pp_nfree + 63) / 64 + 1, sizeof(uint64_t));
	return 0;
}

/* Frees the bitmap (not the memory, which belongs to the domain). */
void
page_pool_fini(struct page_pool *pp)
{
	free(pp->pp_map);
	pp->pp_map = NULL;
	pp->pp_nfree = 0;
}

/* First fit: frontends allocate a few rings at start and data pages rarely. */
void *
page_alloc(struct page_pool *pp, unsigned n, uint64_t *pfn)
{
	uint64_t run = 0;

	if (n == 0 || n > pp->pp_nfree) {
		errno = n == 0 ? EINVAL : ENOMEM;
		return NULL;
	}
	for (uint64_t f = pp->pp_first; f < pp->pp_end; f++) {
		run = page_test(pp, f) ? 0 : run + 1;
		if (run < n)
			continue;
		uint64_t start = f + 1 - n;
		page_mark(pp, start, n, 1);
		pp->pp_nfree -= n;
		memset(pp->pp_mem + start * PAGE_SIZE, 0, (size_t)n * PAGE_SIZE);
		if (pfn != NULL)
			*pfn = start;
		return pp->pp_mem + start * PAGE_SIZE;
	}
	errno = ENOMEM;
	return NULL;
}

/* Refuses a double free or a frame the pool does not manage. */
int
page_free(struct page_pool *pp, uint64_t pfn, unsigned n)
{
	if (n == 0 || pfn < pp->pp_first || pfn > pp->pp_end || n > pp->pp_end - pfn) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!page_test(pp, pfn + i)) {
			errno = EINVAL;
			return -1;
		}
	}
	page_mark(pp, pfn, n, 0);
	pp->pp_nfree += n;
	return 0;
}

/* Frame number to address, for the special pages and granted ones. */
void *
page_ptr(const struct page_pool *pp, uint64_t pfn)
{
	if (pfn >= pp->pp_end) {
		errno = EINVAL;
		return NULL;
	}
	return pp->pp_mem + pfn * PAGE_SIZE;
}

/* Address to frame number, for granting a page a caller holds by pointer. */
int64_t
page_pfn(const struct page_pool *pp, const void *addr)
{
	const uint8_t *p = addr;

	if (p < pp->pp_mem || p >= pp->pp_mem + pp->pp_end * PAGE_SIZE) {
		errno = EINVAL;
		return -1;
	}
	return (p - pp->pp_mem) / PAGE_SIZE;
}
