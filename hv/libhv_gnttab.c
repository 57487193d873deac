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

/* The flags and domid words of an entry, swapped together as Xen does. */
union hv_gnttab_word {
	uint32_t word;
	struct {
		uint16_t flags;
		domid_t domid;
	} f;
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

/*
 * Xen's pin step: checks permit_access, grantee and readonly, and sets
 * GTF_reading (and GTF_writing) in one compare-and-swap of flags+domid.
 */
static int
hv_gnttab_acquire(grant_entry_v1_t *e, hv_domid_t self, bool write, uint16_t *was)
{
	uint32_t *wp = (uint32_t *)(void *)e;
	union hv_gnttab_word old, new;

	old.word = __atomic_load_n(wp, __ATOMIC_ACQUIRE);
	for (;;) {
		if ((old.f.flags & GTF_type_mask) != GTF_permit_access || old.f.domid != self ||
		    (write && (old.f.flags & GTF_readonly))) {
			errno = EACCES;
			return -1;
		}
		new = old;
		new.f.flags |= GTF_reading | (write ? GTF_writing : 0);
		*was = old.f.flags;
		if (new.word == old.word ||
		    __atomic_compare_exchange_n(wp, &old.word, new.word, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
}

/* Clears the bits a pin no longer needs. */
static void
hv_gnttab_release(grant_entry_v1_t *e, uint16_t bits)
{
	if (bits)
		__atomic_fetch_and(&e->flags, (uint16_t)~bits, __ATOMIC_RELEASE);
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
	struct hv_gnttab_pin *pin;
	uint8_t *page;

	if (e == NULL)
		return NULL;
	pin = hv_gnttab_pin(xgt, domid, ref, false);
	uint16_t was;
	if (hv_gnttab_acquire(e, hv_self(xgt->hv), write, &was) < 0)
		return NULL;
	page = hv_gnttab_frame(m, e);
	if (page == NULL) {
		if (pin == NULL)
			hv_gnttab_release(e, GTF_reading | GTF_writing);
		else if (pin->nr_write == 0)
			hv_gnttab_release(e, GTF_writing);
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
	uint16_t bits = 0;

	if (pin == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (pin->nr_map > pin->nr_write)
		pin->nr_map--;
	else {
		pin->nr_map--;
		if (--pin->nr_write == 0)
			bits |= GTF_writing;
	}
	if (pin->nr_map == 0) {
		bits |= GTF_reading | GTF_writing;
		*pin = xgt->pins[--xgt->npins];
	}
	e = hv_gnttab_entry(xgt->hv, domid, ref, &m);
	if (e)
		hv_gnttab_release(e, bits);
	return 0;
}

/* xengnttab_close: releases every pin still held. */
void
hv_gnttab_close(struct hv_gnttab *xgt)
{
	if (xgt == NULL)
		return;
	while (xgt->npins) {
		struct hv_gnttab_pin *pin = &xgt->pins[0];
		pin->nr_map = 1;
		pin->nr_write = 0;
		hv_gnttab_unmap(xgt, pin->domid, pin->ref);
	}
	free(xgt->pins);
	free(xgt);
}

/* One side of a copy segment resolved to a pointer, pinned transiently when a grant. */
struct hv_gnttab_side {
	uint8_t *ptr;
	grant_entry_v1_t *e;
	uint16_t bits;		/* bits to clear after the copy */
};

/* Resolves one side of a segment; a GNTST_* status. */
static int16_t
hv_gnttab_copy_side(struct hv_gnttab *xgt, bool is_ref, hv_gref_t ref, void *virt,
    hv_domid_t domid, uint16_t off, bool write, struct hv_gnttab_side *s)
{
	struct hv_mapping *m;
	struct hv_gnttab_pin *pin;

	s->e = NULL;
	s->bits = 0;
	if (!is_ref) {
		s->ptr = (uint8_t *)virt + off;
		return GNTST_okay;
	}
	s->e = hv_gnttab_entry(xgt->hv, domid, ref, &m);
	if (s->e == NULL)
		return errno == EINVAL ? GNTST_bad_gntref : GNTST_bad_domain;
	pin = hv_gnttab_pin(xgt, domid, ref, false);
	uint16_t held = pin ? GTF_reading | (pin->nr_write ? GTF_writing : 0) : 0, was;
	if (hv_gnttab_acquire(s->e, hv_self(xgt->hv), write, &was) < 0) {
		s->e = NULL;
		return GNTST_permission_denied;
	}
	/* only the bits this copy set: a mapping (ours or another process's) keeps its own */
	s->bits = (GTF_reading | (write ? GTF_writing : 0)) & ~held & ~was;
	uint8_t *page = hv_gnttab_frame(m, s->e);
	if (page == NULL)
		return GNTST_bad_page;
	s->ptr = page + off;
	return GNTST_okay;
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
	if (src.e)
		hv_gnttab_release(src.e, src.bits);
	if (dst.e)
		hv_gnttab_release(dst.e, dst.bits);
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
