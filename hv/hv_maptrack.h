/*
 * A domain's maptrack: who in dom0 pins which of its grants, shared by hvd
 * and every dom0 process that maps them (Xen keeps this inside the
 * hypervisor; our dom0 is many processes, so it is a memfd hvd makes per
 * domain, never given to the guest). Shared by hvd and libhv, nobody else.
 *
 * Per grant ref: a lock, and the map and write counts of all mappers
 * together. Per mapper (a slot, one per hvd connection that asked for one):
 * its own counts per ref, so that hvd can give back a dead mapper's pins.
 * Every change to a ref's counts and to its GTF_reading/GTF_writing bits
 * happens under the ref's lock, whose word names the holder (slot + 1), so
 * hvd can take over the lock of a holder that died holding it.
 */
#ifndef PVSTACK_HV_MAPTRACK_H
#define PVSTACK_HV_MAPTRACK_H

#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#define HV_MT_MAGIC	0x746d7670u	/* "pvmt" */
#define HV_MT_SLOTS	64		/* mapping processes per domain at once */
#define HV_MT_HVD	0xffffffffu	/* lock holder: hvd giving back a dead slot */

struct hv_mt_hdr {
	uint32_t magic;
	uint32_t nr_refs;
	uint32_t nr_slots;
	uint32_t pad;
};

/* One grant ref, all mappers together. */
struct hv_mt_ref {
	uint32_t lock;		/* 0 free, else the holder's slot + 1 (HV_MT_HVD: hvd) */
	uint32_t nr_map;	/* every pin: mappings and copies in progress */
	uint32_t nr_write;	/* the writable ones among them */
	uint32_t pad;
};

/* One mapper's pins of one ref. */
struct hv_mt_pin {
	uint32_t nr_map;
	uint32_t nr_write;
};

/* Layout: the header page, the refs, then the slots, each page-aligned. */
#define HV_MT_PAGE		4096u
#define HV_MT_ALIGN(x)		(((x) + HV_MT_PAGE - 1) & ~(uint64_t)(HV_MT_PAGE - 1))
#define HV_MT_REFS_OFF		HV_MT_PAGE
#define HV_MT_SLOTS_OFF(nr_refs) \
	(HV_MT_REFS_OFF + HV_MT_ALIGN((uint64_t)(nr_refs) * sizeof(struct hv_mt_ref)))
#define HV_MT_SLOT_SIZE(nr_refs)	HV_MT_ALIGN((uint64_t)(nr_refs) * sizeof(struct hv_mt_pin))
#define HV_MT_SIZE(nr_refs, nr_slots) \
	(HV_MT_SLOTS_OFF(nr_refs) + (uint64_t)(nr_slots) * HV_MT_SLOT_SIZE(nr_refs))

/* hv_maptrack.c */
/* One attempt at a ref's lock: 0 when taken, else who holds it. */
uint32_t hv_mt_trylock(struct hv_mt_ref *r, uint32_t me);
/* Waits for a ref's lock up to ms (after a short spin); -1 EAGAIN. */
int hv_mt_lock(struct hv_mt_ref *r, uint32_t me, int ms);
void hv_mt_unlock(struct hv_mt_ref *r);
/* Clears the flags no pin holds any more (the lock is held). */
void hv_mt_settle(grant_entry_v1_t *e, const struct hv_mt_ref *r);

#endif
