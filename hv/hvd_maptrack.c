/*
 * Maptrack, hvd's part: the per-domain memfd of grant pins (hv/hv_maptrack.h),
 * which slot belongs to which connection, and giving back the pins of a
 * connection that closed (its process died, or let the domain go), with
 * GTF_reading/GTF_writing cleared when no other mapper still holds them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "hvd_maptrack.h"
#include "hv_maptrack.h"
#include "log.h"
#include "xmalloc.h"

#define HVD_MT_RETRY_MS	5	/* a live holder keeps a lock we need: try again this soon */

struct hvd_mt {
	struct hvd_mt *next;
	struct hvd_domain *dom;
	int fd;
	uint8_t *base;
	uint64_t size;
	grant_entry_v1_t *gnttab;	/* the guest's entries, mapped from its memfd */
	uint32_t nr_refs;
	struct hvd_conn *owner[HV_MT_SLOTS];	/* NULL: free, or dying */
	bool dying[HV_MT_SLOTS];	/* its connection closed, pins not all back yet */
};

static struct hvd_mt *hvd_mts;
static struct event *hvd_mt_retry_ev;

/* A ref's totals and lock. */
static struct hv_mt_ref *
hvd_maptrack_ref(struct hvd_mt *mt, uint32_t ref)
{
	return (struct hv_mt_ref *)(mt->base + HV_MT_REFS_OFF) + ref;
}

/* One slot's pins, indexed by ref. */
static struct hv_mt_pin *
hvd_maptrack_pins(struct hvd_mt *mt, unsigned slot)
{
	return (struct hv_mt_pin *)(mt->base + HV_MT_SLOTS_OFF(mt->nr_refs) +
	    slot * HV_MT_SLOT_SIZE(mt->nr_refs));
}

/* The domain's maptrack, or NULL. */
static struct hvd_mt *
hvd_maptrack_find(struct hvd_domain *d)
{
	for (struct hvd_mt *mt = hvd_mts; mt; mt = mt->next)
		if (mt->dom == d)
			return mt;
	return NULL;
}

/* Frees a maptrack's memory and descriptor. */
static void
hvd_maptrack_free(struct hvd_mt *mt)
{
	if (mt->base)
		munmap(mt->base, mt->size);
	if (mt->gnttab)
		munmap(mt->gnttab, HV_GNTTAB_FRAMES * HVD_PAGE_SIZE);
	if (mt->fd >= 0)
		close(mt->fd);
	free(mt);
}

/* The slots' owners to the keeper (fd >= 0: with the memfd, the first time). */
static void
hvd_maptrack_keep(const struct hvd_mt *mt, int fd)
{
	struct hvk_mt r;

	for (unsigned s = 0; s < HV_MT_SLOTS; s++) {
		r.owner[s] = mt->owner[s] ? hvd_conn_id(mt->owner[s]) : 0;
		r.dying[s] = mt->dying[s];
	}
	hvd_keeper_mt(mt->dom->domid, &r, fd);
}

/* Maps a maptrack memfd and the domain's grant entries (new, or adopted after a restart). */
static int
hvd_maptrack_map(struct hvd_mt *mt, struct hvd_domain *d)
{
	void *p = mmap(NULL, mt->size, PROT_READ | PROT_WRITE, MAP_SHARED, mt->fd, 0);

	if (p == MAP_FAILED)
		return -1;
	mt->base = p;
	p = mmap(NULL, HV_GNTTAB_FRAMES * HVD_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    d->memfd, (off_t)HV_PFN_GNTTAB * HVD_PAGE_SIZE);
	if (p == MAP_FAILED)
		return -1;
	mt->gnttab = p;
	return 0;
}

/* Made on the first request for a domain, so creating a domain costs nothing more. */
static struct hvd_mt *
hvd_maptrack_new(struct hvd_domain *d)
{
	struct hvd_mt *mt = xcalloc(1, sizeof(*mt));
	char name[32];

	mt->dom = d;
	mt->nr_refs = HV_GNTTAB_FRAMES * (HVD_PAGE_SIZE / sizeof(grant_entry_v1_t));
	mt->size = HV_MT_SIZE(mt->nr_refs, HV_MT_SLOTS);
	snprintf(name, sizeof(name), "pvstack-mt-dom%u", d->domid);
	mt->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mt->fd < 0 || ftruncate(mt->fd, mt->size) < 0 ||
	    fcntl(mt->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	if (hvd_maptrack_map(mt, d) < 0)
		goto fail;
	*(struct hv_mt_hdr *)mt->base = (struct hv_mt_hdr){ .magic = HV_MT_MAGIC,
	    .nr_refs = mt->nr_refs, .nr_slots = HV_MT_SLOTS };
	mt->next = hvd_mts;
	hvd_mts = mt;
	hvd_maptrack_keep(mt, mt->fd);
	return mt;
fail:;
	int saved = errno;
	hvd_maptrack_free(mt);
	errno = saved;
	return NULL;
}

/* HV_DOMAIN_MAPTRACK: the connection's own slot, kept until it closes. */
int
hvd_maptrack_attach(struct hvd_domain *d, struct hvd_conn *c, uint32_t *slot, int *fd,
    uint32_t *nr_refs, uint64_t *size)
{
	struct hvd_mt *mt = hvd_maptrack_find(d);
	int free_slot = -1;

	if (mt == NULL && (mt = hvd_maptrack_new(d)) == NULL)
		return -1;
	for (int s = HV_MT_SLOTS - 1; s >= 0; s--) {
		if (mt->owner[s] == c) {
			free_slot = s;
			break;
		}
		if (mt->owner[s] == NULL && !mt->dying[s])
			free_slot = s;
	}
	if (free_slot < 0) {
		log_warnx("d%u: all %u maptrack slots in use", d->domid, HV_MT_SLOTS);
		errno = ENOSPC;
		return -1;
	}
	if (mt->owner[free_slot] != c) {
		mt->owner[free_slot] = c;
		hvd_maptrack_keep(mt, -1);
	}
	*slot = free_slot;
	*fd = mt->fd;
	*nr_refs = mt->nr_refs;
	*size = mt->size;
	return 0;
}

/*
 * Takes a ref's lock for hvd: free, or held by a slot whose connection is
 * gone (it died holding it, between two instructions of a map or unmap).
 * A live holder is never waited for long: false, and we come back later.
 */
static bool
hvd_maptrack_take(struct hvd_mt *mt, struct hv_mt_ref *r)
{
	for (int i = 0; i < 100; i++) {
		uint32_t holder = hv_mt_trylock(r, HV_MT_HVD);
		if (holder == 0)
			return true;
		if (holder != HV_MT_HVD && holder >= 1 && holder <= HV_MT_SLOTS &&
		    mt->owner[holder - 1] == NULL &&
		    __atomic_compare_exchange_n(&r->lock, &holder, HV_MT_HVD, false,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
		sched_yield();
	}
	return false;
}

/* Sets a ref's totals from every slot: exact whatever step its last holder died at. */
static void
hvd_maptrack_recount(struct hvd_mt *mt, uint32_t ref)
{
	struct hv_mt_ref *r = hvd_maptrack_ref(mt, ref);
	uint64_t map = 0, write = 0;

	for (unsigned s = 0; s < HV_MT_SLOTS; s++) {
		struct hv_mt_pin *p = &hvd_maptrack_pins(mt, s)[ref];
		map += p->nr_map;
		write += p->nr_write;
	}
	r->nr_map = map > UINT32_MAX ? UINT32_MAX : map;
	r->nr_write = write > UINT32_MAX ? UINT32_MAX : write;
}

/* Gives back what one dead slot pins; false when a live holder made us skip a ref. */
static bool
hvd_maptrack_release(struct hvd_mt *mt, unsigned slot)
{
	struct hv_mt_pin *pins = hvd_maptrack_pins(mt, slot);
	unsigned freed = 0;
	bool done = true;

	for (uint32_t ref = 0; ref < mt->nr_refs; ref++) {
		struct hv_mt_ref *r = hvd_maptrack_ref(mt, ref);
		if (pins[ref].nr_map == 0 && pins[ref].nr_write == 0 &&
		    __atomic_load_n(&r->lock, __ATOMIC_RELAXED) != slot + 1)
			continue;
		if (!hvd_maptrack_take(mt, r)) {
			done = false;
			continue;
		}
		freed += pins[ref].nr_map;
		pins[ref] = (struct hv_mt_pin){ 0 };
		hvd_maptrack_recount(mt, ref);
		hv_mt_settle(&mt->gnttab[ref], r);
		hv_mt_unlock(r);
	}
	if (freed)
		log_debug("d%u: maptrack slot %u: %u pin(s) of a closed connection given back",
		    mt->dom->domid, slot, freed);
	if (done) {
		mt->dying[slot] = false;
		hvd_maptrack_keep(mt, -1);
	}
	return done;
}

static void hvd_maptrack_release_dying(void);

/* The retry timer. */
static void
hvd_maptrack_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	hvd_maptrack_release_dying();
}

/* Releases every dying slot; comes back on a timer while some are left. */
static void
hvd_maptrack_release_dying(void)
{
	extern struct event_base *hvd_base;
	bool left = false;

	for (struct hvd_mt *mt = hvd_mts; mt; mt = mt->next)
		for (unsigned s = 0; s < HV_MT_SLOTS; s++)
			if (mt->dying[s] && !hvd_maptrack_release(mt, s))
				left = true;
	if (!left)
		return;
	if (hvd_mt_retry_ev == NULL &&
	    (hvd_mt_retry_ev = evtimer_new(hvd_base, hvd_maptrack_on_retry, NULL)) == NULL)
		fatalx("hvd_maptrack: libevent");
	struct timeval tv = { 0, HVD_MT_RETRY_MS * 1000 };
	evtimer_add(hvd_mt_retry_ev, &tv);
}

/* Every slot of a closed connection is dying until its pins are back. */
void
hvd_maptrack_conn_gone(struct hvd_conn *c)
{
	bool any = false;

	for (struct hvd_mt *mt = hvd_mts; mt; mt = mt->next) {
		bool changed = false;
		for (unsigned s = 0; s < HV_MT_SLOTS; s++)
			if (mt->owner[s] == c) {
				mt->owner[s] = NULL;
				mt->dying[s] = true;
				changed = true;
			}
		if (changed)
			hvd_maptrack_keep(mt, -1);
		any |= changed;
	}
	if (any)
		hvd_maptrack_release_dying();
}

/* Destroy: the maptrack goes with the domain (mappers keep their own mapping). */
void
hvd_maptrack_domain_gone(struct hvd_domain *d)
{
	for (struct hvd_mt **pm = &hvd_mts; *pm; pm = &(*pm)->next)
		if ((*pm)->dom == d) {
			struct hvd_mt *mt = *pm;
			*pm = mt->next;
			hvd_keeper_del(HVK_MT, d->domid, 0);
			hvd_maptrack_free(mt);
			break;
		}
	if (hvd_mts == NULL && hvd_mt_retry_ev) {
		event_free(hvd_mt_retry_ev);
		hvd_mt_retry_ev = NULL;
	}
}

/*
 * A restarted hvd takes over a domain's maptrack from the keeper: the slots
 * of connections still there keep their pins; a slot whose connection is gone
 * (dying) gives its pins back now, as at any close.
 */
int
hvd_maptrack_adopt(struct hvd_domain *d, int fd, struct hvd_conn *const *owners,
    const uint8_t *dying)
{
	struct hvd_mt *mt;
	struct stat st;
	bool any = false;

	if (hvd_maptrack_find(d)) {
		errno = EEXIST;
		return -1;
	}
	mt = xcalloc(1, sizeof(*mt));
	mt->dom = d;
	mt->fd = fd;
	mt->nr_refs = HV_GNTTAB_FRAMES * (HVD_PAGE_SIZE / sizeof(grant_entry_v1_t));
	mt->size = HV_MT_SIZE(mt->nr_refs, HV_MT_SLOTS);
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != mt->size || hvd_maptrack_map(mt, d) < 0 ||
	    ((struct hv_mt_hdr *)mt->base)->magic != HV_MT_MAGIC) {
		mt->fd = -1;	/* the caller still owns it */
		hvd_maptrack_free(mt);
		errno = EINVAL;
		return -1;
	}
	for (unsigned s = 0; s < HV_MT_SLOTS; s++) {
		mt->owner[s] = owners[s];
		mt->dying[s] = dying[s] && owners[s] == NULL;
		any |= mt->dying[s];
	}
	mt->next = hvd_mts;
	hvd_mts = mt;
	if (any)
		hvd_maptrack_release_dying();
	return 0;
}
