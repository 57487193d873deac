#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "libhv_priv.h"
#include "xmalloc.h"

/* One (domid, ref) this handle maps, with its map counts. */
struct hv_gnttab_pin {
	hv_domid_t domid;
	hv_gref_t ref;
	unsigned nr_map;	/* all mappings */
	unsigned nr_write;	/* writable ones among them */
};

struct hv_gnttab {
	struct hv *hv;
	struct hv_gnttab_pin *pins;
	unsigned npins, cap;
};

/* xengnttab_open. */
struct hv_gnttab *
hv_gnttab_open(struct hv *hv)
{
	struct hv_gnttab *xgt = xcalloc(1, sizeof(*xgt));

	xgt->hv = hv;
	return xgt;
}

/* The entry for (domid, ref), or NULL with errno. */
static grant_entry_v1_t *
hv_gnttab_entry(struct hv *hv, hv_domid_t domid, hv_gref_t ref, struct hv_mapping **mp)
{
	struct hv_mapping *m = hv_mapping_get(hv, domid);
	grant_entry_v1_t *tab;
	uint32_t nr;

	if (m == NULL)
		return NULL;
	tab = hv_mapping_gnttab(m, &nr);
	if (ref >= nr) {
		errno = EINVAL;
		return NULL;
	}
	*mp = m;
	return &tab[ref];
}

/* Reads the granted frame once, after pinning, and checks it lies in the domain. */
static uint8_t *
hv_gnttab_frame(const struct hv_mapping *m, grant_entry_v1_t *e)
{
	uint32_t frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);

	if (frame >= m->nr_pages) {
		errno = EFAULT;
		return NULL;
	}
	return m->base + (uint64_t)frame * HV_PAGE_SIZE;
}

/* The handle's pin record for (domid, ref), created when asked. */
static struct hv_gnttab_pin *
hv_gnttab_pin(struct hv_gnttab *xgt, hv_domid_t domid, hv_gref_t ref, bool create)
{
	for (unsigned i = 0; i < xgt->npins; i++)
		if (xgt->pins[i].domid == domid && xgt->pins[i].ref == ref)
			return &xgt->pins[i];
	if (!create)
		return NULL;
	if (xgt->npins == xgt->cap) {
		xgt->cap = xgt->cap ? xgt->cap * 2 : 16;
		xgt->pins = xreallocarray(xgt->pins, xgt->cap, sizeof(*xgt->pins));
	}
	xgt->pins[xgt->npins] = (struct hv_gnttab_pin){ .domid = domid, .ref = ref };
	return &xgt->pins[xgt->npins++];
}

/* xengnttab_map_grant_ref: validates the entry, pins it, returns its page. */
void *
hv_gnttab_map_grant_ref(struct hv_gnttab *xgt, hv_domid_t domid, hv_gref_t ref, int prot)
{
	bool write = (prot & PROT_WRITE) != 0;
	struct hv_mapping *m;
	grant_entry_v1_t *e = hv_gnttab_entry(xgt->hv, domid, ref, &m);
	struct hv_maptrack *mt;
	struct hv_gnttab_pin *pin;
	uint8_t *page;

	if (e == NULL || (mt = hv_maptrack_of(xgt->hv, m)) == NULL)
		return NULL;
	if (hv_maptrack_pin(mt, e, ref, hv_self(xgt->hv), write) < 0)
		return NULL;
	page = hv_gnttab_frame(m, e);
	if (page == NULL) {
		int saved = errno;
		hv_maptrack_unpin(mt, e, ref, write);
		errno = saved;
		return NULL;
	}
	pin = hv_gnttab_pin(xgt, domid, ref, true);
	pin->nr_map++;
	pin->nr_write += write;
	return page;
}

/* xengnttab_map_domain_grant_refs, all or nothing. */
int
hv_gnttab_map_batch(struct hv_gnttab *xgt, hv_domid_t domid, unsigned count,
    const hv_gref_t *refs, int prot, void **addrs)
{
	for (unsigned i = 0; i < count; i++) {
		addrs[i] = hv_gnttab_map_grant_ref(xgt, domid, refs[i], prot);
		if (addrs[i] != NULL)
			continue;
		int saved = errno;
		while (i-- > 0)
			hv_gnttab_unmap(xgt, domid, refs[i]);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * Drops one mapping of (domid, ref). A read-only one goes first, so
 * GTF_writing never clears while a writable mapping may be in use.
 */
int
hv_gnttab_unmap(struct hv_gnttab *xgt, hv_domid_t domid, hv_gref_t ref)
{
	struct hv_gnttab_pin *pin = hv_gnttab_pin(xgt, domid, ref, false);
	struct hv_mapping *m;
	grant_entry_v1_t *e;
	bool write;

	if (pin == NULL) {
		errno = EINVAL;
		return -1;
	}
	write = pin->nr_map == pin->nr_write;
	if ((e = hv_gnttab_entry(xgt->hv, domid, ref, &m)) == NULL)
		return -1;
	if (m->mt == NULL) {	/* the domain was forgotten and fetched again: nothing pinned there */
		errno = EINVAL;
		return -1;
	}
	if (hv_maptrack_unpin(m->mt, e, ref, write) < 0)
		return -1;
	pin->nr_map--;
	pin->nr_write -= write;
	if (pin->nr_map == 0)
		*pin = xgt->pins[--xgt->npins];
	return 0;
}

/* xengnttab_close: releases every pin still held. */
void
hv_gnttab_close(struct hv_gnttab *xgt)
{
	if (xgt == NULL)
		return;
	while (xgt->npins) {
		struct hv_gnttab_pin *pin = &xgt->pins[xgt->npins - 1];
		if (hv_gnttab_unmap(xgt, pin->domid, pin->ref) < 0)
			xgt->npins--;	/* the domain's memory is gone: nothing left to clear */
	}
	free(xgt->pins);
	free(xgt);
}

/* One side of a copy segment resolved to a pointer, pinned transiently when a grant. */
struct hv_gnttab_side {
	uint8_t *ptr;
	grant_entry_v1_t *e;	/* set while pinned */
	struct hv_maptrack *mt;
	hv_gref_t ref;
	bool write;
};

/* Resolves one side of a segment; a GNTST_* status. */
static int16_t
hv_gnttab_copy_side(struct hv_gnttab *xgt, bool is_ref, hv_gref_t ref, void *virt,
    hv_domid_t domid, uint16_t off, bool write, struct hv_gnttab_side *s)
{
	struct hv_mapping *m;
	grant_entry_v1_t *e;

	s->e = NULL;
	if (!is_ref) {
		s->ptr = (uint8_t *)virt + off;
		return GNTST_okay;
	}
	e = hv_gnttab_entry(xgt->hv, domid, ref, &m);
	if (e == NULL)
		return errno == EINVAL ? GNTST_bad_gntref : GNTST_bad_domain;
	if ((s->mt = hv_maptrack_of(xgt->hv, m)) == NULL)
		return GNTST_general_error;
	/* a pin like a mapping's, for the copy only: counted with everyone's, so
	 * neither side clears the flags under the other */
	if (hv_maptrack_pin(s->mt, e, ref, hv_self(xgt->hv), write) < 0)
		return errno == EACCES ? GNTST_permission_denied : GNTST_general_error;
	s->e = e;
	s->ref = ref;
	s->write = write;
	uint8_t *page = hv_gnttab_frame(m, e);
	if (page == NULL)
		return GNTST_bad_page;
	s->ptr = page + off;
	return GNTST_okay;
}

/* Drops a copy side's transient pin. */
static void
hv_gnttab_copy_done(struct hv_gnttab_side *s)
{
	if (s->e)
		hv_maptrack_unpin(s->mt, s->e, s->ref, s->write);
}

/* One GNTTABOP_copy segment. */
static int16_t
hv_gnttab_copy_one(struct hv_gnttab *xgt, struct hv_gnttab_copy_seg *seg)
{
	struct hv_gnttab_side src = { 0 }, dst = { 0 };
	int16_t st;

	if ((unsigned)seg->src_offset + seg->len > HV_PAGE_SIZE ||
	    (unsigned)seg->dst_offset + seg->len > HV_PAGE_SIZE)
		return GNTST_bad_copy_arg;
	st = hv_gnttab_copy_side(xgt, seg->flags & GNTCOPY_source_gref, seg->src.ref,
	    seg->src.virt, seg->src_domid, seg->src_offset, false, &src);
	if (st == GNTST_okay)
		st = hv_gnttab_copy_side(xgt, seg->flags & GNTCOPY_dest_gref, seg->dst.ref,
		    seg->dst.virt, seg->dst_domid, seg->dst_offset, true, &dst);
	if (st == GNTST_okay)
		memcpy(dst.ptr, src.ptr, seg->len);
	hv_gnttab_copy_done(&src);
	hv_gnttab_copy_done(&dst);
	return st;
}

/* xengnttab_grant_copy: every segment attempted, each with its own status. */
int
hv_gnttab_copy(struct hv_gnttab *xgt, unsigned count, struct hv_gnttab_copy_seg *segs)
{
	for (unsigned i = 0; i < count; i++)
		segs[i].status = hv_gnttab_copy_one(xgt, &segs[i]);
	return 0;
}
