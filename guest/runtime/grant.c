#include <errno.h>

#include "guest.h"

/* Grants domid access to one of our frames. */
int
grant_access(struct guest *g, hv_domid_t domid, uint64_t pfn, int readonly)
{
	return hv_guest_grant(g->g_hv, domid, pfn, readonly);
}

/* Revokes; refused while the grantee maps the page. */
int
grant_end_access(struct guest *g, hv_gref_t ref)
{
	return hv_guest_end_access(g->g_hv, ref);
}

/* Frontends grant rings and buffers they allocate: one call for both. */
void *
grant_alloc_page(struct guest *g, hv_domid_t domid, int readonly, hv_gref_t *ref, uint64_t *pfn)
{
	void *page = page_alloc(&g->g_pages, 1, pfn);

	if (page == NULL)
		return NULL;
	int r = grant_access(g, domid, *pfn, readonly);
	if (r < 0) {
		int saved = errno;
		page_free(&g->g_pages, *pfn, 1);
		errno = saved;
		return NULL;
	}
	*ref = (hv_gref_t)r;
	return page;
}

/* The page goes back to the pool only once the backend cannot touch it. */
int
grant_free_page(struct guest *g, hv_gref_t ref, uint64_t pfn)
{
	if (grant_end_access(g, ref) < 0)
		return -1;
	return page_free(&g->g_pages, pfn, 1);
}
