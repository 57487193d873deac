/*
 * blkfront's rings: one per queue, each with its slots, event channel and
 * the disk's pool of persistently granted pages; requests in, responses out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkfront_int.h"
#include "xmalloc.h"

/* Pages one slot may hold: the data pages and their indirect pages. */
static unsigned
blkfront_slot_pages(const struct blkfront *bf)
{
	return bf->bf_max_segs + blkfront_req_ind_pages(bf->bf_max_segs);
}

/* The most recently freed page first: it is the one the backend most likely
 * still has mapped. A new page is granted only when none is free. */
static struct blkfront_page *
blkfront_page_get(struct blkfront *bf)
{
	struct blkfront_page *p = bf->bf_pool;

	if (p != NULL) {
		bf->bf_pool = p->bp_next;
		bf->bf_pool_free--;
		return p;
	}
	p = xcalloc(1, sizeof(*p));
	p->bp_ptr = grant_alloc_page(bf->bf_g, bf->bf_fe.fe_backend_id, 0, &p->bp_ref, &p->bp_pfn);
	if (p->bp_ptr == NULL) {
		free(p);
		return NULL;
	}
	bf->bf_granted++;
	return p;
}

static void
blkfront_page_put(struct blkfront *bf, struct blkfront_page *p)
{
	p->bp_next = bf->bf_pool;
	bf->bf_pool = p;
	bf->bf_pool_free++;
}

/* Whether n pages can be had without passing the pool's bound. */
static bool
blkfront_pages_avail(const struct blkfront *bf, unsigned n)
{
	return bf->bf_pool_free + (BLKFRONT_POOL_MAX - bf->bf_granted) >= n;
}

/* Takes n pages for slot s; on failure gives back what it took. */
static int
blkfront_slot_fill(struct blkfront *bf, struct blkfront_slot *s, unsigned n)
{
	for (s->bs_npages = 0; s->bs_npages < n; s->bs_npages++) {
		struct blkfront_page *p = blkfront_page_get(bf);
		if (p == NULL) {
			int saved = bf->bf_inflight > 0 ? EAGAIN : errno;
			while (s->bs_npages > 0)
				blkfront_page_put(bf, s->bs_pages[--s->bs_npages]);
			errno = saved;
			return -1;
		}
		s->bs_pages[s->bs_npages] = p;
	}
	return 0;
}

static void blkfront_queue_event(hv_port_t port, void *arg);

/* Ring pages (contiguous), granted; the shared ring initialised by us, as
 * only the frontend may; slots; the event channel. */
static int
blkfront_queue_init(struct blkfront *bf, struct blkfront_queue *q, unsigned index)
{
	struct guest *g = bf->bf_g;
	unsigned order = bf->bf_info.bi_ring_order;

	q->q_bf = bf;
	q->q_index = index;
	q->q_port = -1;
	q->q_ring_pages = 1u << order;
	q->q_sring = page_alloc(&g->g_pages, q->q_ring_pages, &q->q_ring_pfn);
	if (q->q_sring == NULL) {
		q->q_ring_pages = 0;
		return -1;
	}
	for (unsigned i = 0; i < q->q_ring_pages; i++) {
		int ref = grant_access(g, bf->bf_fe.fe_backend_id, q->q_ring_pfn + i, 0);
		if (ref < 0)
			return -1;
		q->q_ring_refs[i] = (hv_gref_t)ref;
	}
	SHARED_RING_INIT(q->q_sring);
	FRONT_RING_INIT(&q->q_ring, q->q_sring, q->q_ring_pages * PAGE_SIZE);
	q->q_nslots = RING_SIZE(&q->q_ring);
	q->q_slots = xcalloc(q->q_nslots, sizeof(*q->q_slots));
	q->q_slot_op = xmalloc(q->q_nslots);
	q->q_free = xcalloc(q->q_nslots, sizeof(*q->q_free));
	unsigned per = blkfront_slot_pages(bf);
	struct blkfront_page **pages = xcalloc((size_t)q->q_nslots * per, sizeof(*pages));
	for (unsigned i = 0; i < q->q_nslots; i++) {
		q->q_slots[i].bs_pages = pages + (size_t)i * per;
		q->q_slot_op[i] = BLKFRONT_SLOT_FREE;
		q->q_free[q->q_nfree++] = (uint16_t)(q->q_nslots - 1 - i);
	}
	q->q_port = frontend_alloc_evtchn(&bf->bf_fe, blkfront_queue_event, q);
	return q->q_port < 0 ? -1 : 0;
}

int
blkfront_rings_init(struct blkfront *bf)
{
	for (unsigned i = 0; i < bf->bf_nqueues; i++) {
		if (blkfront_queue_init(bf, &bf->bf_queues[i], i) < 0)
			return -1;
	}
	return 0;
}

/* ring-ref, or ring-ref0..N-1 for a ring of several pages; event-channel. */
static int
blkfront_queue_publish(struct blkfront *bf, struct blkfront_queue *q, xenbus_tx_t tx)
{
	char key[48], prefix[24] = "";

	if (bf->bf_nqueues > 1)
		snprintf(prefix, sizeof(prefix), "queue-%u/", q->q_index);
	for (unsigned i = 0; i < q->q_ring_pages; i++) {
		if (q->q_ring_pages == 1)
			snprintf(key, sizeof(key), "%sring-ref", prefix);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", prefix, i);
		if (frontend_printf(&bf->bf_fe, tx, key, "%u", q->q_ring_refs[i]) < 0)
			return -1;
	}
	snprintf(key, sizeof(key), "%sevent-channel", prefix);
	return frontend_printf(&bf->bf_fe, tx, key, "%d", q->q_port);
}

int
blkfront_rings_publish(struct blkfront *bf, xenbus_tx_t tx)
{
	struct frontend *fe = &bf->bf_fe;

	if (bf->bf_info.bi_ring_order > 0 &&
	    frontend_printf(fe, tx, "ring-page-order", "%u", bf->bf_info.bi_ring_order) < 0)
		return -1;
	if (bf->bf_nqueues > 1 &&
	    frontend_printf(fe, tx, "multi-queue-num-queues", "%u", bf->bf_nqueues) < 0)
		return -1;
	for (unsigned i = 0; i < bf->bf_nqueues; i++) {
		if (blkfront_queue_publish(bf, &bf->bf_queues[i], tx) < 0)
			return -1;
	}
	return 0;
}

/* Ends a grant and frees the frames; a page the backend still maps is left
 * granted (and leaked) rather than reused under its feet. */
static void
blkfront_release(struct blkfront *bf, hv_gref_t ref, uint64_t pfn, unsigned n)
{
	if (grant_end_access(bf->bf_g, ref) < 0) {
		bf->bf_broken = bf->bf_broken ? bf->bf_broken : EBUSY;
		return;
	}
	page_free(&bf->bf_g->g_pages, pfn, n);
}

static void
blkfront_queue_fini(struct blkfront *bf, struct blkfront_queue *q)
{
	if (q->q_port >= 0)
		events_unbind(bf->bf_g->g_ev, (hv_port_t)q->q_port);
	if (q->q_ring_pages > 0) {
		unsigned granted = 0;
		for (unsigned i = 0; i < q->q_ring_pages && q->q_ring_refs[i] != 0; i++)
			granted++;
		int busy = 0;
		for (unsigned i = 0; i < granted; i++)
			busy |= grant_end_access(bf->bf_g, q->q_ring_refs[i]) < 0;
		if (!busy)
			page_free(&bf->bf_g->g_pages, q->q_ring_pfn, q->q_ring_pages);
	}
	for (unsigned id = 0; q->q_slots != NULL && id < q->q_nslots; id++) {
		struct blkfront_slot *s = &q->q_slots[id];
		while (s->bs_npages > 0) {	/* left by a stopped disk's requests */
			struct blkfront_page *p = s->bs_pages[--s->bs_npages];
			blkfront_release(bf, p->bp_ref, p->bp_pfn, 1);
			free(p);
		}
	}
	if (q->q_slots != NULL)
		free(q->q_slots[0].bs_pages);
	free(q->q_slots);
	free(q->q_slot_op);
	free(q->q_free);
	memset(q, 0, sizeof(*q));
}

void
blkfront_rings_fini(struct blkfront *bf)
{
	for (unsigned i = 0; i < bf->bf_nqueues; i++)
		blkfront_queue_fini(bf, &bf->bf_queues[i]);
	while (bf->bf_pool != NULL) {
		struct blkfront_page *p = bf->bf_pool;
		bf->bf_pool = p->bp_next;
		blkfront_release(bf, p->bp_ref, p->bp_pfn, 1);
		free(p);
	}
	bf->bf_pool_free = 0;
}

/* A scattered request's iovecs hold its data from bio_iovoff on, and it has
 * no buffer besides. */
static int
blkfront_iov_check(const struct blkfront_io *io)
{
	size_t need = (size_t)io->bio_nsect * 512, total = 0;

	if (io->bio_buf != NULL || (io->bio_op != BLKIF_OP_READ && io->bio_op != BLKIF_OP_WRITE) ||
	    io->bio_iovoff > SIZE_MAX - need)
		return -1;
	need += io->bio_iovoff;
	for (unsigned i = 0; i < io->bio_iovcnt && total < need; i++) {
		if (io->bio_iov[i].iov_len > SIZE_MAX - total)
			return -1;
		total += io->bio_iov[i].iov_len;
	}
	return total >= need ? 0 : -1;
}

/* What a request must satisfy before it takes a slot. */
static int
blkfront_check(const struct blkfront *bf, const struct blkfront_io *io)
{
	const struct blkfront_info *bi = &bf->bf_info;
	uint64_t align = bi->bi_sector_size / 512;

	if (bf->bf_broken) {
		errno = bf->bf_broken;
		return -1;
	}
	switch (io->bio_op) {
	case BLKIF_OP_FLUSH_DISKCACHE:
		errno = EOPNOTSUPP;
		return bi->bi_flush ? 0 : -1;
	case BLKIF_OP_DISCARD:
		if (!bi->bi_discard) {
			errno = EOPNOTSUPP;
			return -1;
		}
		break;
	case BLKIF_OP_WRITE:
		if (bi->bi_readonly) {
			errno = EROFS;
			return -1;
		}
		/* fall through */
	case BLKIF_OP_READ:
		if (io->bio_nsect > blkfront_max_sectors(bf)) {
			errno = EINVAL;
			return -1;
		}
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (io->bio_iov != NULL && blkfront_iov_check(io) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (io->bio_nsect == 0 || io->bio_sector >= bi->bi_sectors ||
	    io->bio_nsect > bi->bi_sectors - io->bio_sector ||
	    io->bio_sector % align != 0 || io->bio_nsect % align != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The queue with the most free slots: several rings share the load. */
static struct blkfront_queue *
blkfront_pick(struct blkfront *bf)
{
	struct blkfront_queue *best = &bf->bf_queues[0];

	for (unsigned i = 1; i < bf->bf_nqueues; i++) {
		if (bf->bf_queues[i].q_nfree > best->q_nfree)
			best = &bf->bf_queues[i];
	}
	return best;
}

/* Writes the request for slot id of q into the next ring entry. */
static void
blkfront_build(struct blkfront *bf, struct blkfront_queue *q, uint16_t id)
{
	struct blkfront_slot *s = &q->q_slots[id];
	struct blkfront_io *io = s->bs_io;
	blkif_request_t *req = RING_GET_REQUEST(&q->q_ring, q->q_ring.req_prod_pvt);
	uint16_t handle = (uint16_t)bf->bf_vdev;
	unsigned nsegs = blkfront_req_segs(io->bio_nsect);
	grant_ref_t refs[BLKFRONT_MAX_INDIRECT], irefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	void *ind[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

	q->q_slot_op[id] = io->bio_op;
	if (io->bio_op == BLKIF_OP_FLUSH_DISKCACHE) {
		blkfront_req_flush(req, handle, id);
		return;
	}
	if (io->bio_op == BLKIF_OP_DISCARD) {
		blkfront_req_discard(req, handle, id, io->bio_sector, io->bio_nsect);
		return;
	}
	for (unsigned i = 0; i < nsegs; i++)
		refs[i] = s->bs_pages[i]->bp_ref;
	if (nsegs <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		blkfront_req_rw(req, io->bio_op, handle, id, io->bio_sector, io->bio_nsect, refs);
		return;
	}
	for (unsigned i = nsegs; i < s->bs_npages; i++) {
		ind[i - nsegs] = s->bs_pages[i]->bp_ptr;
		irefs[i - nsegs] = s->bs_pages[i]->bp_ref;
	}
	q->q_slot_op[id] |= BLKFRONT_SLOT_INDIRECT;
	blkfront_req_indirect(req, io->bio_op, handle, id, io->bio_sector, io->bio_nsect, refs, ind,
	    irefs);
}

/* Moves a request's data between the caller (bio_buf, or bio_iov from
 * bio_iovoff) and the slot's pages, which hold it from byte 0 of the first:
 * to_pages for writes before the request is visible, back for reads once the
 * response is in. Segments and pages need not line up. */
static void
blkfront_copy(struct blkfront_slot *s, bool to_pages)
{
	struct blkfront_io *io = s->bs_io;
	size_t len = (size_t)io->bio_nsect * 512, pos = 0;
	struct iovec one = { io->bio_buf, len };
	const struct iovec *iov = io->bio_iov != NULL ? io->bio_iov : &one;
	size_t skip = io->bio_iov != NULL ? io->bio_iovoff : 0;
	unsigned v = 0;

	while (skip > 0 && skip >= iov[v].iov_len)
		skip -= iov[v++].iov_len;
	for (; pos < len; v++, skip = 0) {
		char *u = (char *)iov[v].iov_base + skip;
		size_t k = iov[v].iov_len - skip;
		if (k > len - pos)
			k = len - pos;
		while (k > 0) {
			size_t in_page = PAGE_SIZE - pos % PAGE_SIZE, n = k < in_page ? k : in_page;
			char *p = (char *)s->bs_pages[pos / PAGE_SIZE]->bp_ptr + pos % PAGE_SIZE;
			if (to_pages)
				memcpy(p, u, n);
			else
				memcpy(u, p, n);
			u += n;
			pos += n;
			k -= n;
		}
	}
}

int
blkfront_queue(struct blkfront *bf, struct blkfront_io *io)
{
	if (blkfront_check(bf, io) < 0)
		return -1;
	unsigned npages = 0;
	if (io->bio_op == BLKIF_OP_READ || io->bio_op == BLKIF_OP_WRITE) {
		npages = blkfront_req_segs(io->bio_nsect);
		if (npages > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			npages += blkfront_req_ind_pages(npages);
	}
	struct blkfront_queue *q = blkfront_pick(bf);
	if (q->q_nfree == 0 || !blkfront_pages_avail(bf, npages)) {
		errno = EAGAIN;
		return -1;
	}
	uint16_t id = q->q_free[q->q_nfree - 1];
	struct blkfront_slot *s = &q->q_slots[id];
	if (blkfront_slot_fill(bf, s, npages) < 0)
		return -1;
	q->q_nfree--;
	s->bs_io = io;
	io->bio_error = 0;
	if (io->bio_op == BLKIF_OP_WRITE && (io->bio_buf != NULL || io->bio_iov != NULL))
		blkfront_copy(s, true);
	blkfront_build(bf, q, id);
	q->q_ring.req_prod_pvt++;
	bf->bf_inflight++;
	return 0;
}

void
blkfront_kick(struct blkfront *bf)
{
	for (unsigned i = 0; i < bf->bf_nqueues; i++) {
		struct blkfront_queue *q = &bf->bf_queues[i];
		int notify;
		if (q->q_sring == NULL || q->q_ring.req_prod_pvt == q->q_sring->req_prod)
			continue;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_ring, notify);
		if (notify)
			events_notify(bf->bf_g->g_ev, (hv_port_t)q->q_port);
	}
}

int
blkfront_submit(struct blkfront *bf, struct blkfront_io *io)
{
	if (blkfront_queue(bf, io) < 0)
		return -1;
	blkfront_kick(bf);
	return 0;
}

/* Frees slot id of q and runs the request's callback with err. */
static void
blkfront_complete(struct blkfront *bf, struct blkfront_queue *q, uint16_t id, int err)
{
	struct blkfront_slot *s = &q->q_slots[id];
	struct blkfront_io *io = s->bs_io;

	if (err == 0 && io->bio_op == BLKIF_OP_READ && (io->bio_buf != NULL || io->bio_iov != NULL))
		blkfront_copy(s, false);
	while (s->bs_npages > 0)
		blkfront_page_put(bf, s->bs_pages[--s->bs_npages]);
	s->bs_io = NULL;
	q->q_slot_op[id] = BLKFRONT_SLOT_FREE;
	q->q_free[q->q_nfree++] = id;
	bf->bf_inflight--;
	bf->bf_completed++;
	io->bio_error = err;
	if (io->bio_done != NULL)
		io->bio_done(io, io->bio_arg);
}

void
blkfront_stop(struct blkfront *bf, int err, const char *fmt, ...)
{
	va_list ap;

	if (bf->bf_broken)
		return;
	bf->bf_broken = err;
	va_start(ap, fmt);
	vsnprintf(bf->bf_why, sizeof(bf->bf_why), fmt, ap);
	va_end(ap);
	/* The pages of failed requests stay out of the pool: the backend may
	 * still write them. */
	for (unsigned i = 0; i < bf->bf_nqueues; i++) {
		struct blkfront_queue *q = &bf->bf_queues[i];
		for (unsigned id = 0; id < q->q_nslots; id++) {
			struct blkfront_io *io = q->q_slots[id].bs_io;
			if (io == NULL)
				continue;
			q->q_slots[id].bs_io = NULL;
			q->q_slot_op[id] = BLKFRONT_SLOT_FREE;
			bf->bf_inflight--;
			io->bio_error = err;
			if (io->bio_done != NULL)
				io->bio_done(io, io->bio_arg);
		}
	}
}

/* Every response is copied once and checked before anything trusts it;
 * RING_FINAL_CHECK_FOR_RESPONSES re-arms rsp_event so the backend notifies
 * only when we are about to sleep. Without arm (a caller polling the ring),
 * rsp_event is left behind, so the backend does not notify at all. */
static void
blkfront_queue_responses(struct blkfront *bf, struct blkfront_queue *q, bool arm)
{
	int more = 0;

	do {
		RING_IDX prod = __atomic_load_n(&q->q_sring->rsp_prod, __ATOMIC_ACQUIRE);
		if (prod - q->q_ring.rsp_cons > q->q_ring.req_prod_pvt - q->q_ring.rsp_cons) {
			blkfront_stop(bf, EPROTO, "queue %u: response producer %u beyond our %u requests",
			    q->q_index, prod, q->q_ring.req_prod_pvt);
			return;
		}
		while (q->q_ring.rsp_cons != prod) {
			blkif_response_t rsp;
			memcpy(&rsp, (const void *)RING_GET_RESPONSE(&q->q_ring, q->q_ring.rsp_cons),
			    sizeof(rsp));
			q->q_ring.rsp_cons++;
			int err = blkfront_rsp_check(&rsp, q->q_slot_op, q->q_nslots);
			if (err < 0) {
				blkfront_stop(bf, EPROTO, "queue %u: response id %llu op %u was not issued",
				    q->q_index, (unsigned long long)rsp.id, rsp.operation);
				return;
			}
			blkfront_complete(bf, q, (uint16_t)rsp.id, err);
			if (bf->bf_broken)
				return;
		}
		if (arm)
			RING_FINAL_CHECK_FOR_RESPONSES(&q->q_ring, more);
	} while (more);
}

int
blkfront_poll(struct blkfront *bf, bool arm)
{
	unsigned long before = bf->bf_completed;

	for (unsigned i = 0; i < bf->bf_nqueues && !bf->bf_broken; i++) {
		struct blkfront_queue *q = &bf->bf_queues[i];
		if (q->q_sring != NULL && (arm ||
		    __atomic_load_n(&q->q_sring->rsp_prod, __ATOMIC_ACQUIRE) != q->q_ring.rsp_cons))
			blkfront_queue_responses(bf, q, arm);
	}
	if (!bf->bf_broken)
		blkfront_kick(bf);
	return (int)(bf->bf_completed - before);
}

/* The queue's port: responses, then whatever the callbacks queued goes out
 * in one push. */
static void
blkfront_queue_event(hv_port_t port, void *arg)
{
	struct blkfront_queue *q = arg;
	struct blkfront *bf = q->q_bf;

	(void)port;
	if (bf->bf_broken)
		return;
	blkfront_queue_responses(bf, q, true);
	if (!bf->bf_broken)
		blkfront_kick(bf);
}
