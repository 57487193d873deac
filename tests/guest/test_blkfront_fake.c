#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test_blkfront_fake.h"

void
fbe_init(struct fbe *f, hv_domid_t domid, uint64_t sectors)
{
	memset(f, 0, sizeof(*f));
	f->f_fake.gf_domid = domid;
	f->f_fake.gf_cache_max = FBE_CACHE;
	f->f_max_queues = 2;
	f->f_max_order = 1;
	f->f_max_indirect = 256;
	f->f_flush = f->f_discard = f->f_persistent = true;
	f->f_sectors = sectors;
	f->f_disk = calloc(sectors, 512);
	cr_assert_not_null(f->f_disk);
}

/* A grant of the guest, mapped once and kept. */
static void *
fbe_map(struct fbe *f, hv_gref_t ref)
{
	return gt_fake_map(&f->f_fake, ref, false);
}

unsigned
fbe_maps(struct fbe *f)
{
	return f->f_fake.gf_ncache;
}

/* Moves one segment between the disk and the granted page. */
static int
fbe_segment(struct fbe *f, uint8_t op, const struct blkif_request_segment *seg, uint64_t *sector)
{
	if (seg->first_sect > seg->last_sect || seg->last_sect > 7)
		return -1;
	uint64_t n = seg->last_sect - seg->first_sect + 1;
	if (*sector + n > f->f_sectors)
		return -1;
	uint8_t *page = fbe_map(f, seg->gref);
	if (page == NULL)
		return -1;
	uint8_t *disk = f->f_disk + *sector * 512, *mem = page + seg->first_sect * 512;
	if (op == BLKIF_OP_WRITE)
		memcpy(disk, mem, n * 512);
	else
		memcpy(mem, disk, n * 512);
	*sector += n;
	return 0;
}

/* A READ or WRITE with its segment list (copied out of the indirect pages). */
static int
fbe_rw(struct fbe *f, uint8_t op, uint64_t sector, const struct blkif_request_segment *segs,
    unsigned nsegs)
{
	for (unsigned i = 0; i < nsegs; i++) {
		if (fbe_segment(f, op, &segs[i], &sector) < 0)
			return BLKIF_RSP_ERROR;
	}
	atomic_fetch_add(op == BLKIF_OP_WRITE ? &f->f_writes : &f->f_reads, 1);
	return BLKIF_RSP_OKAY;
}

static int
fbe_indirect(struct fbe *f, const blkif_request_t *req, uint8_t *echo)
{
	const blkif_request_indirect_t *r = (const blkif_request_indirect_t *)req;
	static __thread struct blkif_request_segment segs[512];
	unsigned n = r->nr_segments;

	*echo = r->indirect_op;
	if (f->f_max_indirect == 0 || n == 0 || n > f->f_max_indirect ||
	    (r->indirect_op != BLKIF_OP_READ && r->indirect_op != BLKIF_OP_WRITE))
		return BLKIF_RSP_ERROR;
	const struct blkif_request_segment *list = fbe_map(f, r->indirect_grefs[0]);
	if (list == NULL)
		return BLKIF_RSP_ERROR;
	memcpy(segs, list, n * sizeof(segs[0]));
	atomic_fetch_add(&f->f_indirect, 1);
	return fbe_rw(f, r->indirect_op, r->sector_number, segs, n);
}

/* Does one request; returns the status. */
static int
fbe_do(struct fbe *f, const blkif_request_t *req, uint8_t *echo)
{
	const blkif_request_discard_t *d = (const blkif_request_discard_t *)req;

	*echo = req->operation;
	switch (req->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (req->nr_segments == 0 || req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return BLKIF_RSP_ERROR;
		return fbe_rw(f, req->operation, req->sector_number, req->seg, req->nr_segments);
	case BLKIF_OP_INDIRECT:
		return fbe_indirect(f, req, echo);
	case BLKIF_OP_FLUSH_DISKCACHE:
		if (!f->f_flush)
			return BLKIF_RSP_EOPNOTSUPP;
		atomic_fetch_add(&f->f_flushes, 1);
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_DISCARD:
		if (!f->f_discard)
			return BLKIF_RSP_EOPNOTSUPP;
		if (d->sector_number > f->f_sectors || d->nr_sectors > f->f_sectors - d->sector_number)
			return BLKIF_RSP_ERROR;
		memset(f->f_disk + d->sector_number * 512, 0, d->nr_sectors * 512);
		atomic_fetch_add(&f->f_discards, 1);
		return BLKIF_RSP_OKAY;
	default:
		return BLKIF_RSP_EOPNOTSUPP;
	}
}

/* Answers everything on q's ring, as a backend must: copy, do, respond. */
static void
fbe_serve(struct fbe *f, struct fbe_queue *q)
{
	int more, notify;

	do {
		RING_IDX rp = q->fq_ring.sring->req_prod;
		rmb();
		while (q->fq_ring.req_cons != rp) {
			blkif_request_t req;
			uint8_t echo;
			RING_COPY_REQUEST(&q->fq_ring, q->fq_ring.req_cons, &req);
			q->fq_ring.req_cons++;
			int status = fbe_do(f, &req, &echo);
			if (status != BLKIF_RSP_OKAY)
				atomic_fetch_add(&f->f_errors, 1);
			blkif_response_t *rsp = RING_GET_RESPONSE(&q->fq_ring, q->fq_ring.rsp_prod_pvt);
			memset(rsp, 0, sizeof(*rsp));
			rsp->id = atomic_fetch_add(&f->f_total, 1) + 1 == f->f_bad_id_at ? 9999 : req.id;
			rsp->operation = echo;
			rsp->status = (int16_t)status;
			q->fq_ring.rsp_prod_pvt++;
			atomic_fetch_add(&q->fq_requests, 1);
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->fq_ring, notify);
		if (notify)
			hv_evtchn_notify(f->f_fake.gf_xce, q->fq_lport);
		RING_FINAL_CHECK_FOR_REQUESTS(&q->fq_ring, more);
	} while (more);
}

/* Each wake-up looks at every queue. */
static void
fbe_serve_all(void *arg)
{
	struct fbe *f = arg;

	for (unsigned i = 0; i < f->f_nqueues; i++)
		fbe_serve(f, &f->f_q[i]);
}

/* One queue's ring pages and port, under prefix ("" or "queue-N/"). */
static void
fbe_queue_connect(struct fbe *f, struct fbe_queue *q, const char *prefix, unsigned order,
    gt_fake_get_fn *get, void *arg)
{
	char key[64];
	void *addrs[16];

	q->fq_npages = 1u << order;
	for (unsigned i = 0; i < q->fq_npages; i++) {
		if (order == 0)
			snprintf(key, sizeof(key), "%sring-ref", prefix);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", prefix, i);
		q->fq_refs[i] = (hv_gref_t)gt_fake_key(get, arg, key, -1);
	}
	cr_assert_eq(hv_gnttab_map_batch(f->f_fake.gf_gt, f->f_fake.gf_domid, q->fq_npages, q->fq_refs,
	    PROT_READ | PROT_WRITE, addrs), 0, "map ring: %s", strerror(errno));
	for (unsigned i = 1; i < q->fq_npages; i++)
		cr_assert_eq((char *)addrs[i], (char *)addrs[0] + i * 4096,
		    "ring pages contiguous in guest memory");
	q->fq_sring = addrs[0];
	BACK_RING_INIT(&q->fq_ring, (blkif_sring_t *)q->fq_sring, q->fq_npages * 4096);
	snprintf(key, sizeof(key), "%sevent-channel", prefix);
	q->fq_lport = gt_fake_bind(&f->f_fake, get, arg, key);
}

void
fbe_connect(struct fbe *f, hv_domid_t domid, const char *sock, gt_fake_get_fn *get, void *arg)
{
	char prefix[32] = "";

	gt_fake_open(&f->f_fake, domid, sock);
	f->f_nqueues = gt_fake_key(get, arg, "multi-queue-num-queues", 1);
	unsigned order = gt_fake_key(get, arg, "ring-page-order", 0);
	cr_assert(f->f_nqueues >= 1 && f->f_nqueues <= f->f_max_queues);
	cr_assert_leq(order, f->f_max_order);
	for (unsigned i = 0; i < f->f_nqueues; i++) {
		if (f->f_nqueues > 1)
			snprintf(prefix, sizeof(prefix), "queue-%u/", i);
		fbe_queue_connect(f, &f->f_q[i], prefix, order, get, arg);
	}
	gt_fake_start(&f->f_fake, 20, fbe_serve_all, f);
}

void
fbe_stop(struct fbe *f)
{
	gt_fake_stop(&f->f_fake);
	for (unsigned i = 0; f->f_fake.gf_hv != NULL && i < f->f_nqueues; i++)
		for (unsigned p = 0; p < f->f_q[i].fq_npages; p++)
			hv_gnttab_unmap(f->f_fake.gf_gt, f->f_fake.gf_domid, f->f_q[i].fq_refs[p]);
	gt_fake_close(&f->f_fake);
}

void
fbe_fini(struct fbe *f)
{
	fbe_stop(f);
	free(f->f_disk);
	f->f_disk = NULL;
}
