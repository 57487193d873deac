/*
 * Guest pages by grant ref. With persistent grants (blkif.h notes 7-9) a page
 * is mapped the first time the frontend uses its ref and stays mapped until
 * disconnect, so steady-state I/O costs no grant operation at all; the
 * cache is an open-addressing table keyed by gref (the worker serves one
 * domain, so (domid, gref) is the gref). Without them, or once the cache is
 * full, pages are mapped per request and unmapped at completion.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "blkw.h"
#include "libhv.h"
#include "xmalloc.h"

struct blkgrant_ent {
	uint32_t e_key;			/* gref + 1; 0 = empty */
	bool e_write;
	void *e_page;
};

struct blkgrant {
	struct hv_gnttab *g_gt;
	uint32_t g_domid;
	unsigned g_max, g_count;
	unsigned g_mask;
	struct blkgrant_ent *g_tab;
};

/* A cache for up to max_persistent refs (0: map every page per request). */
struct blkgrant *
blkgrant_new(struct hv_gnttab *gt, uint32_t domid, unsigned max_persistent)
{
	struct blkgrant *g = xcalloc(1, sizeof(*g));
	unsigned size = 16;

	while (size < 2 * max_persistent)
		size *= 2;
	g->g_gt = gt;
	g->g_domid = domid;
	g->g_max = max_persistent;
	g->g_mask = size - 1;
	g->g_tab = xcalloc(size, sizeof(*g->g_tab));
	return g;
}

/* The slot for gref: its entry, or the empty one where it would go. */
static struct blkgrant_ent *
blkgrant_slot(struct blkgrant *g, uint32_t gref)
{
	unsigned i = (gref * 2654435761u) & g->g_mask;

	while (g->g_tab[i].e_key && g->g_tab[i].e_key != gref + 1)
		i = (i + 1) & g->g_mask;
	return &g->g_tab[i];
}

/* Maps (or finds) a page with the access the request needs. */
void *
blkgrant_get(struct blkgrant *g, uint32_t gref, bool write, bool *transient)
{
	int prot = write ? PROT_READ | PROT_WRITE : PROT_READ;
	struct blkgrant_ent *e;
	void *page;

	*transient = false;
	if (g->g_max == 0 || gref == UINT32_MAX) {
		*transient = true;
		return hv_gnttab_map_grant_ref(g->g_gt, g->g_domid, gref, prot);
	}
	e = blkgrant_slot(g, gref);
	if (e->e_key && (e->e_write || !write))
		return e->e_page;
	if (e->e_key) {
		/* kept read-only, now needed writable: map again, keep the stronger one */
		if ((page = hv_gnttab_map_grant_ref(g->g_gt, g->g_domid, gref, prot)) == NULL)
			return NULL;
		hv_gnttab_unmap(g->g_gt, g->g_domid, gref);
		e->e_write = true;
		e->e_page = page;
		return page;
	}
	if ((page = hv_gnttab_map_grant_ref(g->g_gt, g->g_domid, gref, prot)) == NULL)
		return NULL;
	if (g->g_count >= g->g_max) {
		*transient = true;
		return page;
	}
	*e = (struct blkgrant_ent){ .e_key = gref + 1, .e_write = write, .e_page = page };
	g->g_count++;
	return page;
}

/* Undoes a transient mapping. */
void
blkgrant_put(struct blkgrant *g, uint32_t gref)
{
	hv_gnttab_unmap(g->g_gt, g->g_domid, gref);
}

/* Refs kept mapped. */
unsigned
blkgrant_count(const struct blkgrant *g)
{
	return g->g_count;
}

/* Disconnect: every kept page unmapped, so the frontend can end access. */
void
blkgrant_free(struct blkgrant *g)
{
	if (g == NULL)
		return;
	for (unsigned i = 0; i <= g->g_mask; i++)
		if (g->g_tab[i].e_key)
			hv_gnttab_unmap(g->g_gt, g->g_domid, g->g_tab[i].e_key - 1);
	free(g->g_tab);
	free(g);
}
