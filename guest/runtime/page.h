/*
 * The guest's page allocator: a bitmap over the free frames of domain memory
 * (HV_PFN_FIRST_FREE up to nr_pages). Frontends take ring and data pages from
 * it and grant them to backends. Pure memory bookkeeping, no hypervisor call.
 */
#ifndef PVGUEST_PAGE_H
#define PVGUEST_PAGE_H

#include <limits.h>
#include <stdint.h>

/* a guest frame; musl's <limits.h> has a PAGE_SIZE of its own (the same 4096 on x86) */
#undef PAGE_SIZE
#define PAGE_SIZE	4096u

struct page_pool {
	uint8_t *pp_mem;	/* frame 0 of guest memory */
	uint64_t pp_first;	/* first frame the pool manages */
	uint64_t pp_end;	/* one past the last */
	uint64_t pp_nfree;
	uint64_t *pp_map;	/* bit set = frame allocated */
};

/* Manages frames [first, nr_pages) of the memory at mem. */
int page_pool_init(struct page_pool *pp, void *mem, uint64_t first, uint64_t nr_pages);
void page_pool_fini(struct page_pool *pp);
/* n contiguous zeroed frames; *pfn gets the first. NULL ENOMEM. */
void *page_alloc(struct page_pool *pp, unsigned n, uint64_t *pfn);
/* Gives back n frames from pfn; -1 EINVAL if any was not allocated. */
int page_free(struct page_pool *pp, uint64_t pfn, unsigned n);
/* Address of frame pfn, NULL (EINVAL) outside guest memory. */
void *page_ptr(const struct page_pool *pp, uint64_t pfn);
/* Frame holding addr, or -1 (EINVAL) outside guest memory. */
int64_t page_pfn(const struct page_pool *pp, const void *addr);

#endif
