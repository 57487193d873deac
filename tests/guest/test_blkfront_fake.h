/*
 * A small blkback played by the test, for blkfront's tests before (and
 * besides) the real one: it maps the guest's rings and data grants with its
 * own libhv handles and answers requests from a thread, on a disk held in
 * memory. It keeps every grant it maps (persistent grants), counts what it
 * sees, and can answer one request with an id that was never issued.
 */
#ifndef PVSTACK_TEST_BLKFRONT_FAKE_H
#define PVSTACK_TEST_BLKFRONT_FAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gt_fake.h"
#include "libhv.h"
#include "xen_ring.h"
#include <xen/io/blkif.h>

#define FBE_MAX_QUEUES 4
#define FBE_CACHE 2048

struct fbe_queue {
	blkif_back_ring_t fq_ring;
	void *fq_sring;
	unsigned fq_npages;
	hv_gref_t fq_refs[16];
	int fq_lport;
	atomic_ulong fq_requests;
};

struct fbe {
	/* what the backend offers, set before fbe_connect */
	unsigned f_max_queues, f_max_order, f_max_indirect;
	bool f_flush, f_discard, f_persistent;
	uint64_t f_sectors;		/* 512-byte sectors */
	uint8_t *f_disk;
	unsigned long f_bad_id_at;	/* answer the n-th request (from 1) with a bogus id; 0 never */

	struct gt_fake f_fake;		/* handles, kept grants, the thread */
	unsigned f_nqueues;
	struct fbe_queue f_q[FBE_MAX_QUEUES];

	atomic_ulong f_reads, f_writes, f_flushes, f_discards, f_indirect, f_errors, f_total;
};

/* Offers a 2048-sector disk with every feature unless the test changes f_*. */
void fbe_init(struct fbe *f, hv_domid_t domid, uint64_t sectors);
/* Maps the rings the frontend published (keys read with get(arg, key), key
 * relative to the frontend dir), binds its ports, starts answering. */
void fbe_connect(struct fbe *f, hv_domid_t domid, const char *sock, gt_fake_get_fn *get,
    void *arg);
/* Stops answering and unmaps everything (the disk stays for the test to read). */
void fbe_stop(struct fbe *f);
/* fbe_stop, and the disk is freed. */
void fbe_fini(struct fbe *f);
/* Grants mapped so far (each once: persistent). */
unsigned fbe_maps(struct fbe *f);

#endif
