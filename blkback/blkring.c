/*
 * One blkif ring in the worker: requests copied out of the shared ring once,
 * decoded and validated (blkreq.c), turned into libaio iocbs straight on the
 * guest's pages; responses written as the I/Os finish, in any order, as
 * Xen's blkback does: answering in ring order held every finished request
 * behind the slowest one before it, which cost random I/O on a disk a part
 * of its queue depth. Every request taken and every response on its way is
 * recorded in the daemon's journal (blkback.h), from which a worker started
 * after a crash runs again exactly the requests left unanswered.
 * Notifications follow ring.h's rules both ways.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <event2/event.h>

#include "backend.h"
#include "blkw.h"
#include "libhv.h"
#include "log.h"
#include "xmalloc.h"

#define BLKRING_PAGE	4096u
#define BLKRING_POLL_US	50	/* how long the ring is watched after a push */

/* The journal entry that records slot s. */
static struct blkback_journal_entry *
blkring_journal(const struct blkring_slot *s)
{
	return &s->s_ring->r_journal[s - s->s_ring->r_slots];
}

/* An idle slot for the next request; there is one while the ring is sound
 * (at most RING_SIZE requests are taken and unanswered). */
static struct blkring_slot *
blkring_slot(struct blkring *r)
{
	return r->r_nfree ? r->r_free[--r->r_nfree] : NULL;
}

/* One event to the frontend (eventfd write; never blocks). */
static void
blkring_notify(struct blkring *r)
{
	uint64_t one = 1;

	if (write(r->r_signal_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("queue %u: notify", r->r_queue);
}

/* Releases a request's transient grants and records its status. */
static void
blkring_finish(struct blkring_slot *s, int status)
{
	struct blkw *bw = s->s_ring->r_bw;

	for (unsigned i = 0; i < s->s_ngrefs; i++)
		blkgrant_put(bw->bw_grants, s->s_grefs[i]);
	s->s_ngrefs = 0;
	s->s_status = status;
	s->s_ring->r_done[s->s_ring->r_ndone++] = s;
}

/* Writes the responses that are ready, in ring order, and notifies if the frontend
 * waits; whether there were any. */
static bool
blkring_retire(struct blkring *r)
{
	blkif_back_ring_t *br = &r->r_br;
	bool pushed = false;
	int notify;

	for (unsigned i = 0; i < r->r_ndone; i++) {
		struct blkring_slot *s = r->r_done[i];
		struct blkback_journal_entry *je = blkring_journal(s);
		blkif_response_t rsp;
		/* a crash before the push below leaves it unanswered, after it answered */
		je->je_rsp_idx = br->rsp_prod_pvt;
		__atomic_store_n(&je->je_state, BLKBACK_JE_ANSWERING, __ATOMIC_RELEASE);
		memset(&rsp, 0, sizeof(rsp));	/* no stale bytes in the padding (XSA-216) */
		rsp.id = s->s_id;
		rsp.operation = s->s_op;
		rsp.status = s->s_status;
		memcpy(RING_GET_RESPONSE(br, br->rsp_prod_pvt), &rsp, sizeof(rsp));
		br->rsp_prod_pvt++;
		pushed = true;
	}
	if (!pushed)
		return false;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(br, notify);
	for (unsigned i = 0; i < r->r_ndone; i++) {
		__atomic_store_n(&blkring_journal(r->r_done[i])->je_state, BLKBACK_JE_FREE,
		    __ATOMIC_RELEASE);
		r->r_free[r->r_nfree++] = r->r_done[i];
	}
	r->r_ndone = 0;
	if (notify)
		blkring_notify(r);
	return true;
}

/* Copies an indirect request's segment pages once, then validates them. */
static int
blkring_indirect(struct blkring *r, struct blkreq *q)
{
	struct blkw *bw = r->r_bw;
	unsigned left = q->nseg, k = 0;

	for (unsigned p = 0; p < q->nr_indirect; p++) {
		unsigned n = left < BLKREQ_SEGS_PER_PAGE ? left : BLKREQ_SEGS_PER_PAGE;
		bool transient;
		void *page = blkgrant_get(bw->bw_grants, q->indirect_grefs[p], false, &transient);
		if (page == NULL)
			return BLKIF_RSP_ERROR;
		memcpy(&bw->bw_segs[k], page, n * sizeof(bw->bw_segs[0]));
		if (transient)
			blkgrant_put(bw->bw_grants, q->indirect_grefs[p]);
		k += n;
		left -= n;
	}
	return blkreq_decode_indirect(q, bw->bw_segs, &bw->bw_lim);
}

/* Discard: punch a hole (files) or discard/zero (block devices), now. */
static int
blkring_discard(struct blkw *bw, const struct blkreq *q)
{
	if (q->nr_sectors == 0)
		return BLKIF_RSP_OKAY;
	if (fallocate(bw->bw_fd_buffered, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)q->sector * 512, (off_t)q->nr_sectors * 512) < 0) {
		log_debug("queue discard %llu+%llu: %s", (unsigned long long)q->sector,
		    (unsigned long long)q->nr_sectors, strerror(errno));
		return BLKIF_RSP_ERROR;
	}
	return BLKIF_RSP_OKAY;
}

/* The iovec and grant arrays a request needs (heap only for indirect ones). */
static void
blkring_arrays(struct blkring_slot *s, unsigned nseg)
{
	if (nseg <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		if (s->s_iov != s->s_iov_inline) {
			free(s->s_iov);
			free(s->s_grefs);
		}
		s->s_iov = s->s_iov_inline;
		s->s_grefs = s->s_grefs_inline;
		return;
	}
	if (s->s_iov == s->s_iov_inline) {
		s->s_iov = xcalloc(BLKREQ_MAX_SEGS, sizeof(*s->s_iov));
		s->s_grefs = xcalloc(BLKREQ_MAX_SEGS, sizeof(*s->s_grefs));
	}
}

/* READ/WRITE (and FLUSH with data): map the segments, one vectored iocb. */
static int
blkring_rw(struct blkring *r, struct blkring_slot *s, const struct blkreq *q)
{
	struct blkw *bw = r->r_bw;
	bool to_guest = q->op == BLKIF_OP_READ;
	int fd = bw->bw_fd_direct >= 0 ? bw->bw_fd_direct : bw->bw_fd_buffered;

	if (fd < 0)
		return BLKIF_RSP_ERROR;		/* no medium */
	blkring_arrays(s, q->nseg);
	for (unsigned i = 0; i < q->nseg; i++) {
		bool transient;
		uint8_t *page = blkgrant_get(bw->bw_grants, q->seg[i].gref, to_guest, &transient);
		if (page == NULL) {
			log_debug("queue %u: grant %u: %s", r->r_queue, q->seg[i].gref, strerror(errno));
			return BLKIF_RSP_ERROR;
		}
		if (transient)
			s->s_grefs[s->s_ngrefs++] = q->seg[i].gref;
		s->s_iov[i].iov_base = page + q->seg[i].first * 512u;
		s->s_iov[i].iov_len = (q->seg[i].last - q->seg[i].first + 1u) * 512u;
	}
	s->s_niov = q->nseg;
	if (to_guest)
		io_prep_preadv(&s->s_iocb, fd, s->s_iov, s->s_niov, (long long)q->sector * 512);
	else
		io_prep_pwritev(&s->s_iocb, fd, s->s_iov, s->s_niov, (long long)q->sector * 512);
	if (q->op == BLKIF_OP_FLUSH_DISKCACHE)
		s->s_iocb.aio_rw_flags = RWF_DSYNC;
	s->s_buffered = fd == bw->bw_fd_buffered;
	s->s_expect = (long long)q->nr_sectors * 512;
	return BLKIF_RSP_OKAY;
}

/* One request copied out of slot i: validated, then queued or answered. */
static void
blkring_start(struct blkring *r, struct blkring_slot *s, const blkif_request_t *copy)
{
	struct blkw *bw = r->r_bw;
	struct blkreq *q = &bw->bw_req;
	int st = blkreq_decode(q, copy, &bw->bw_lim);

	s->s_id = q->id;
	s->s_op = q->rsp_op;
	s->s_ngrefs = 0;
	if (st == BLKIF_RSP_OKAY && q->indirect)
		st = blkring_indirect(r, q);
	if (st == BLKIF_RSP_OKAY && q->op == BLKIF_OP_DISCARD)
		st = blkring_discard(bw, q);
	else if (st == BLKIF_RSP_OKAY && q->nseg == 0) {	/* a flush alone */
		int fd = bw->bw_fd_buffered;
		if (fd < 0)
			st = BLKIF_RSP_ERROR;
		else {
			io_prep_fdsync(&s->s_iocb, fd);
			s->s_buffered = true;
			s->s_expect = 0;
			goto queue;
		}
	} else if (st == BLKIF_RSP_OKAY && (st = blkring_rw(r, s, q)) == BLKIF_RSP_OKAY)
		goto queue;
	blkring_finish(s, st);
	return;
queue:
	s->s_iocb.data = s;
	r->r_inflight++;
	blkio_queue(bw->bw_io, &s->s_iocb);
}

/* An iocb finished: retry EINVAL from O_DIRECT on the buffered fd, else answer. */
void
blkring_complete(struct blkring_slot *s, long long res)
{
	struct blkring *r = s->s_ring;
	struct blkw *bw = r->r_bw;

	if (res == -EINVAL && !s->s_buffered && bw->bw_fd_buffered >= 0) {
		s->s_buffered = true;
		s->s_iocb.aio_fildes = bw->bw_fd_buffered;
		blkio_queue(bw->bw_io, &s->s_iocb);
		return;
	}
	if (res != s->s_expect)
		log_debug("queue %u: request %llu: %lld of %lld bytes%s%s", r->r_queue,
		    (unsigned long long)s->s_id, res, s->s_expect, res < 0 ? ": " : "",
		    res < 0 ? strerror(-res) : "");
	r->r_inflight--;
	blkring_finish(s, res == s->s_expect ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
}

/* The frontend broke the ring: only this device stops. */
static void
blkring_broken(struct blkring *r, RING_IDX rp)
{
	struct blkw *bw = r->r_bw;

	bw->bw_broken = true;
	for (unsigned q = 0; q < bw->bw_nrings; q++)
		event_del(bw->bw_rings[q]->r_ev);
	backend_worker_fail(bw->bw_w, 0, "malformed ring %u: request producer %u is %u entries "
	    "past the responses, beyond the ring's %u", r->r_queue, rp,
	    rp - r->r_br.rsp_prod_pvt, RING_SIZE(&r->r_br));
}

/* Takes every request the frontend has produced, then re-arms req_event. */
void
blkring_kick(struct blkring *r)
{
	struct blkw *bw = r->r_bw;
	blkif_back_ring_t *br = &r->r_br;
	int more;

	if (bw->bw_broken)
		return;
	do {
		RING_IDX rp = __atomic_load_n(&br->sring->req_prod, __ATOMIC_ACQUIRE);
		if (rp - br->rsp_prod_pvt > RING_SIZE(br)) {
			blkring_broken(r, rp);
			return;
		}
		while (br->req_cons != rp) {
			struct blkring_slot *s = blkring_slot(r);
			blkif_request_t copy;
			if (s == NULL) {	/* cannot be, after the check above */
				blkring_broken(r, rp);
				return;
			}
			RING_COPY_REQUEST(br, br->req_cons, &copy);
			memcpy(blkring_journal(s)->je_req, &copy, sizeof(copy));
			__atomic_store_n(&blkring_journal(s)->je_state, BLKBACK_JE_TAKEN,
			    __ATOMIC_RELEASE);
			blkring_start(r, s, &copy);
			br->req_cons++;
		}
		blkio_submit(bw->bw_io);
		RING_FINAL_CHECK_FOR_REQUESTS(br, more);
	} while (more);
	blkring_retire(r);
}

/* The frontend's event. */
static void
blkring_on_event(evutil_socket_t fd, short what, void *arg)
{
	uint64_t cnt;

	(void)what;
	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("event channel");
	blkring_kick(arg);
}

/* A spin-wait's pause (the sibling hyperthread gets the core meanwhile). */
static inline void
blkring_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * Responses for whatever completed since the last push. When the page cache
 * answers (everything done, and done within BLKRING_POLL_US of its submit),
 * a frontend with more to do answers the responses with new requests within
 * microseconds: so the ring is watched for BLKRING_POLL_US with events from
 * the frontend held back (req_event set a ring ahead), and what comes is
 * started at once, without an event and a wake-up in between (bench_blk, 4
 * KiB reads from the page cache: 0.88 -> 1.2 of fio). Not with a disk below:
 * watching there cost random 4 KiB I/O at queue depth 32 a quarter of its rate.
 */
void
blkring_flush(struct blkring *r)
{
	blkif_back_ring_t *br = &r->r_br;

	if (!blkring_retire(r) || r->r_bw->bw_broken || blkio_inflight(r->r_bw->bw_io) > 0 ||
	    blkio_since_submit_us(r->r_bw->bw_io) > BLKRING_POLL_US)
		return;
	br->sring->req_event = br->req_cons + RING_SIZE(br);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (long long end = blkio_now_us() + BLKRING_POLL_US;
	    __atomic_load_n(&br->sring->req_prod, __ATOMIC_ACQUIRE) == br->req_cons &&
	    blkio_now_us() < end;)
		blkring_relax();
	blkring_kick(r);	/* takes what came, and re-arms req_event */
}

/* Maps ring pages contiguously: one page as is, several through our own view of the memfd. */
static int
blkring_map(struct blkring *r, const struct blkback_ring *info)
{
	struct blkw *bw = r->r_bw;
	unsigned n = 1u << info->br_order;
	uint8_t *pages[BLKBACK_MAX_RING_PAGES];

	for (unsigned i = 0; i < n; i++) {
		pages[i] = hv_gnttab_map_grant_ref(bw->bw_gt, bw->bw_domid, info->br_refs[i],
		    PROT_READ | PROT_WRITE);
		if (pages[i] == NULL)
			return -1;
		r->r_refs[r->r_nrefs++] = info->br_refs[i];
	}
	r->r_len = n * BLKRING_PAGE;
	if (n == 1) {
		r->r_va = pages[0];
		return 0;
	}
	r->r_va = mmap(NULL, r->r_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->r_va == MAP_FAILED) {
		r->r_va = NULL;
		return -1;
	}
	r->r_mmapped = true;
	for (unsigned i = 0; i < n; i++) {
		off_t off = (off_t)(pages[i] - bw->bw_mem);
		if (mmap((uint8_t *)r->r_va + i * BLKRING_PAGE, BLKRING_PAGE, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, bw->bw_memfd, off) == MAP_FAILED)
			return -1;
	}
	return 0;
}

/*
 * What the journal says of the ring as a dead worker left it: a response up to
 * the pushed rsp_prod went out; every other entry in use is a request taken and
 * unanswered, run again now from its copy (its ring slot may hold a newer one).
 * Each taken request gets one response, so they and the responses pushed
 * account for every request taken: the next one to take is rsp_prod + those.
 */
static void
blkring_take_over(struct blkring *r)
{
	blkif_back_ring_t *br = &r->r_br;
	RING_IDX pushed = br->rsp_prod_pvt;
	unsigned again = 0;

	_Static_assert(sizeof(blkif_request_t) == sizeof(r->r_journal->je_req), "journal entry");
	for (unsigned i = RING_SIZE(br); i-- > 0;) {
		struct blkback_journal_entry *je = &r->r_journal[i];
		uint32_t st = __atomic_load_n(&je->je_state, __ATOMIC_ACQUIRE);
		if (st == BLKBACK_JE_ANSWERING && (int32_t)(je->je_rsp_idx - pushed) < 0)
			st = BLKBACK_JE_FREE;
		if (st == BLKBACK_JE_FREE) {
			__atomic_store_n(&je->je_state, BLKBACK_JE_FREE, __ATOMIC_RELEASE);
			r->r_free[r->r_nfree++] = &r->r_slots[i];
			continue;
		}
		blkif_request_t copy;
		memcpy(&copy, je->je_req, sizeof(copy));
		__atomic_store_n(&je->je_state, BLKBACK_JE_TAKEN, __ATOMIC_RELEASE);
		blkring_start(r, &r->r_slots[i], &copy);
		again++;
	}
	br->req_cons = pushed + again;
	if (again)
		log_info("queue %u: took over %u request(s) left unanswered", r->r_queue, again);
}

/* Attaches to a ring the frontend initialised: we answer from its rsp_prod on,
 * after what the journal holds. */
struct blkring *
blkring_new(struct blkw *bw, unsigned queue, const struct blkback_ring *info, int wait_fd,
    int signal_fd, struct blkback_journal_entry *journal)
{
	struct blkring *r = xcalloc(1, sizeof(*r));
	blkif_sring_t *sring;

	r->r_bw = bw;
	r->r_queue = queue;
	r->r_wait_fd = wait_fd;
	r->r_signal_fd = signal_fd;
	if (info->br_order > BLKBACK_MAX_RING_ORDER) {
		errno = EINVAL;
		goto fail;
	}
	if (blkring_map(r, info) < 0)
		goto fail;
	sring = r->r_va;
	r->r_br.sring = sring;
	r->r_br.nr_ents = __RING_SIZE(sring, r->r_len);
	r->r_br.req_cons = r->r_br.rsp_prod_pvt = __atomic_load_n(&sring->rsp_prod, __ATOMIC_ACQUIRE);
	r->r_journal = journal;
	r->r_slots = xcalloc(RING_SIZE(&r->r_br), sizeof(*r->r_slots));
	r->r_free = xcalloc(RING_SIZE(&r->r_br), sizeof(*r->r_free));
	r->r_done = xcalloc(RING_SIZE(&r->r_br), sizeof(*r->r_done));
	for (unsigned i = 0; i < RING_SIZE(&r->r_br); i++) {
		r->r_slots[i].s_ring = r;
		r->r_slots[i].s_iov = r->r_slots[i].s_iov_inline;
		r->r_slots[i].s_grefs = r->r_slots[i].s_grefs_inline;
	}
	r->r_ev = event_new(backend_worker_base(bw->bw_w), wait_fd, EV_READ | EV_PERSIST,
	    blkring_on_event, r);
	if (r->r_ev == NULL || event_add(r->r_ev, NULL) < 0)
		goto fail;
	blkring_take_over(r);
	return r;
fail:;
	int saved = errno;
	blkring_free(r);
	errno = saved;
	return NULL;
}

/* Unmaps the ring (nothing may be in flight) and closes its eventfds. */
void
blkring_free(struct blkring *r)
{
	struct blkw *bw = r->r_bw;

	if (r->r_ev)
		event_free(r->r_ev);
	if (r->r_mmapped)
		munmap(r->r_va, r->r_len);
	for (unsigned i = 0; i < r->r_nrefs; i++)
		hv_gnttab_unmap(bw->bw_gt, bw->bw_domid, r->r_refs[i]);
	for (unsigned i = 0; r->r_slots && i < RING_SIZE(&r->r_br); i++) {
		if (r->r_slots[i].s_iov != r->r_slots[i].s_iov_inline) {
			free(r->r_slots[i].s_iov);
			free(r->r_slots[i].s_grefs);
		}
	}
	free(r->r_slots);
	free(r->r_free);
	free(r->r_done);
	close(r->r_wait_fd);
	close(r->r_signal_fd);
	free(r);
}
