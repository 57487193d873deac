/*
 * Maptrack, the mapper's part: our slot in a domain's maptrack (asked of hvd
 * once per connection and domain, or the process's lease for a confined
 * worker), and the pin and unpin every grant map, unmap and copy goes
 * through. A pin never talks to hvd: a lock, Xen's compare-and-swap on the
 * entry, four counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libhv_priv.h"
#include "msg.h"
#include "xmalloc.h"

#define HV_MT_LOCK_MS	2000	/* a lock held longer: its holder died and hvd is not there */

/* The process's lease (a backend worker's): its connection stays open for our whole life. */
static struct {
	struct hv *conn;
	hv_domid_t domid;
	struct hv_maptrack *mt;
} hv_lease;

/* The flags and domid words of an entry, swapped together as Xen does. */
union hv_maptrack_word {
	uint32_t word;
	struct {
		uint16_t flags;
		domid_t domid;
	} f;
};

/* Maps a maptrack memfd hvd sent and checks it is what the reply says. */
static struct hv_maptrack *
hv_maptrack_map(int fd, const struct hv_rep_domain_maptrack *r)
{
	struct hv_maptrack *mt;
	const struct hv_mt_hdr *h;
	void *base;

	if (r->nr_refs == 0 || r->nr_refs > (1u << 20) || r->nr_slots == 0 ||
	    r->nr_slots > HV_MT_SLOTS || r->slot >= r->nr_slots ||
	    r->size != HV_MT_SIZE(r->nr_refs, r->nr_slots)) {
		errno = EPROTO;
		return NULL;
	}
	base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return NULL;
	h = base;
	if (h->magic != HV_MT_MAGIC || h->nr_refs != r->nr_refs || h->nr_slots != r->nr_slots) {
		munmap(base, r->size);
		errno = EPROTO;
		return NULL;
	}
	mt = xcalloc(1, sizeof(*mt));
	mt->base = base;
	mt->size = r->size;
	mt->nr_refs = r->nr_refs;
	mt->refs = (struct hv_mt_ref *)(mt->base + HV_MT_REFS_OFF);
	mt->pins = (struct hv_mt_pin *)(mt->base + HV_MT_SLOTS_OFF(r->nr_refs) +
	    r->slot * HV_MT_SLOT_SIZE(r->nr_refs));
	mt->me = r->slot + 1;
	return mt;
}

/* Our slot for domid on hv's connection (HV_DOMAIN_MAPTRACK). */
static struct hv_maptrack *
hv_maptrack_fetch(struct hv *hv, hv_domid_t domid, uint32_t flags)
{
	struct hv_req_domain_maptrack req = { .domid = domid, .flags = flags };
	struct hv_rep_domain_maptrack r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };
	struct hv_maptrack *mt;

	if (hv_call(hv, HV_DOMAIN_MAPTRACK, &req, sizeof(req), &rep) < 0)
		return NULL;
	if (rep.len != sizeof(r) || rep.nfds != 1) {
		msg_close_fds(rep.fds, rep.nfds);
		errno = EPROTO;
		return NULL;
	}
	mt = hv_maptrack_map(rep.fds[0], &r);
	int saved = errno;
	close(rep.fds[0]);
	errno = saved;
	return mt;
}

/* Nobody counts for us (a connectionless handle without a lease): our own pins only. */
static struct hv_maptrack *
hv_maptrack_private(uint32_t nr_refs)
{
	struct hv_maptrack *mt;
	uint64_t size = HV_MT_SIZE(nr_refs, 1);
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	mt = xcalloc(1, sizeof(*mt));
	mt->base = base;
	mt->size = size;
	mt->nr_refs = nr_refs;
	mt->refs = (struct hv_mt_ref *)(mt->base + HV_MT_REFS_OFF);
	mt->pins = (struct hv_mt_pin *)(mt->base + HV_MT_SLOTS_OFF(nr_refs));
	mt->me = 1;
	return mt;
}

/* The first grant operation on a domain finds who counts our pins. */
struct hv_maptrack *
hv_maptrack_of(struct hv *hv, struct hv_mapping *m)
{
	uint32_t nr;

	if (m->mt)
		return m->mt;
	hv_mapping_gnttab(m, &nr);
	if (hv->fd < 0) {
		m->mt = hv_maptrack_leased(m->domid);
		if (m->mt == NULL)
			m->mt = hv_maptrack_private(nr);
	} else {
		m->mt = hv_maptrack_fetch(hv, m->domid, 0);
		if (m->mt == NULL && errno == ENOSYS)	/* an hvd without maptrack */
			m->mt = hv_maptrack_private(nr);
	}
	return m->mt;
}

/* hv_open_foreign's handles share the process lease of their domain. */
struct hv_maptrack *
hv_maptrack_leased(hv_domid_t domid)
{
	return hv_lease.mt && hv_lease.domid == domid ? hv_lease.mt : NULL;
}

/* Drops a handle's view; the lease's stays for the process's life. */
void
hv_maptrack_free(struct hv_maptrack *mt)
{
	if (mt == NULL || mt->lease)
		return;
	munmap(mt->base, mt->size);
	free(mt);
}

/*
 * Xen's pin step: checks permit_access, grantee and readonly, and sets
 * GTF_reading (and GTF_writing) in one compare-and-swap of flags+domid.
 */
static int
hv_maptrack_acquire(grant_entry_v1_t *e, hv_domid_t self, bool write)
{
	uint32_t *wp = (uint32_t *)(void *)e;
	union hv_maptrack_word old, new;

	old.word = __atomic_load_n(wp, __ATOMIC_ACQUIRE);
	for (;;) {
		if ((old.f.flags & GTF_type_mask) != GTF_permit_access || old.f.domid != self ||
		    (write && (old.f.flags & GTF_readonly))) {
			errno = EACCES;
			return -1;
		}
		new = old;
		new.f.flags |= GTF_reading | (write ? GTF_writing : 0);
		if (new.word == old.word ||
		    __atomic_compare_exchange_n(wp, &old.word, new.word, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
}

/* Ref's totals and our slot's counts, its lock taken; -1 with errno. */
static int
hv_mt_lock_ref(struct hv_maptrack *mt, hv_gref_t ref, struct hv_mt_ref **r, struct hv_mt_pin **p)
{
	if (ref >= mt->nr_refs) {
		errno = EINVAL;
		return -1;
	}
	*r = &mt->refs[ref];
	*p = &mt->pins[ref];
	return hv_mt_lock(*r, mt->me, HV_MT_LOCK_MS);
}

/* Every map and copy: one more pin, counted for us and for everyone. */
int
hv_maptrack_pin(struct hv_maptrack *mt, grant_entry_v1_t *e, hv_gref_t ref, hv_domid_t self,
    bool write)
{
	struct hv_mt_ref *r;
	struct hv_mt_pin *p;

	if (hv_mt_lock_ref(mt, ref, &r, &p) < 0)
		return -1;
	if (p->nr_map == UINT32_MAX || r->nr_map == UINT32_MAX) {
		hv_mt_unlock(r);
		errno = EOVERFLOW;
		return -1;
	}
	if (hv_maptrack_acquire(e, self, write) < 0) {
		hv_mt_unlock(r);
		return -1;
	}
	/* ours first: hvd recounts the totals from the slots after a death here */
	p->nr_map++;
	p->nr_write += write;
	r->nr_map++;
	r->nr_write += write;
	hv_mt_unlock(r);
	return 0;
}

/* Every unmap and copy's end: one pin less; the last one clears the flags. */
int
hv_maptrack_unpin(struct hv_maptrack *mt, grant_entry_v1_t *e, hv_gref_t ref, bool write)
{
	struct hv_mt_ref *r;
	struct hv_mt_pin *p;

	if (hv_mt_lock_ref(mt, ref, &r, &p) < 0)
		return -1;
	if (p->nr_map == 0 || (write && p->nr_write == 0)) {
		hv_mt_unlock(r);
		errno = EINVAL;
		return -1;
	}
	p->nr_map--;
	p->nr_write -= write;
	if (r->nr_map)
		r->nr_map--;
	if (write && r->nr_write)
		r->nr_write--;
	hv_mt_settle(e, r);
	hv_mt_unlock(r);
	return 0;
}

/* A confined worker's own accounting: a connection that only says we live, and our slot. */
int
hv_maptrack_lease(const char *sockpath, hv_domid_t domid)
{
	struct hv *hv;
	struct hv_maptrack *mt;

	if (hv_lease.conn) {
		errno = EBUSY;
		return -1;
	}
	if ((hv = hv_open(sockpath)) == NULL)
		return -1;
	if ((mt = hv_maptrack_fetch(hv, domid, HV_MAPTRACK_LEASE)) == NULL) {
		int saved = errno;
		hv_close(hv);
		errno = saved;
		return -1;
	}
	mt->lease = true;
	hv_lease.conn = hv;
	hv_lease.domid = domid;
	hv_lease.mt = mt;
	return 0;
}
