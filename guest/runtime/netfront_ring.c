/*
 * netfront's rings: per queue a TX and an RX ring, their event channel(s)
 * and their persistently granted buffers; frames out, frames in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfront_int.h"
#include "xmalloc.h"

#define NETFRONT_TX_WAKE	64	/* responses a full TX ring waits for before an event */

static void netfront_event(hv_port_t port, void *arg);
static void netfront_event_tx(hv_port_t port, void *arg);
static void netfront_event_rx(hv_port_t port, void *arg);

/* Buffers per queue: a ring's worth shared by the queues, and never more
 * than half the guest's free memory for this interface. */
static unsigned
netfront_bufs(struct netfront *nf)
{
	uint64_t free_pages = nf->nf_g->g_pages.pp_nfree;
	unsigned nq = nf->nf_nqueues, per = NETFRONT_BUFS_MAX / nq;
	uint64_t budget = free_pages / 2 / nq;

	if (budget < 2 + 2 * 8)
		return 0;
	if (per > (budget - 2) / 2)
		per = (unsigned)((budget - 2) / 2);
	return per;
}

/* A ring page granted writable to the backend; NULL with errno. */
static void *
netfront_ring_page(struct netfront *nf, uint64_t *pfn, hv_gref_t *ref)
{
	void *p = grant_alloc_page(nf->nf_g, nf->nf_fe.fe_backend_id, 0, ref, pfn);

	if (p == NULL)
		*ref = 0;
	return p;
}

/* Posts every free RX buffer at the ring's next indices (not yet pushed). */
static void
netfront_rx_refill(struct netfront_queue *q)
{
	unsigned size = RING_SIZE(&q->q_rx);

	while (q->q_rx_nfree > 0 && q->q_rx.req_prod_pvt - q->q_rx.rsp_cons < size) {
		uint16_t b = q->q_rx_free[--q->q_rx_nfree];
		netif_rx_request_t r = { .id = b, .gref = q->q_rx_bufs[b].nb_ref };
		q->q_rx_slot_id[q->q_rx.req_prod_pvt & (size - 1)] = b;
		memcpy(RING_GET_REQUEST(&q->q_rx, q->q_rx.req_prod_pvt), &r, sizeof(r));
		q->q_rx.req_prod_pvt++;
	}
}

/* One queue's port(s): one for both rings, or one each when split. */
static int
netfront_queue_ports(struct netfront *nf, struct netfront_queue *q)
{
	if (!nf->nf_info.ni_split) {
		q->q_tx_port = q->q_rx_port = frontend_alloc_evtchn(&nf->nf_fe, netfront_event, q);
		return q->q_tx_port < 0 ? -1 : 0;
	}
	q->q_tx_port = frontend_alloc_evtchn(&nf->nf_fe, netfront_event_tx, q);
	if (q->q_tx_port < 0)
		return -1;
	q->q_rx_port = frontend_alloc_evtchn(&nf->nf_fe, netfront_event_rx, q);
	return q->q_rx_port < 0 ? -1 : 0;
}

/* Rings (initialised by us, as only the frontend may), buffers, ports; the
 * RX ring full of buffers before the backend looks. */
static int
netfront_queue_init(struct netfront *nf, struct netfront_queue *q, unsigned index)
{
	unsigned n = nf->nf_info.ni_bufs;

	q->q_nf = nf;
	q->q_index = index;
	q->q_tx_port = q->q_rx_port = -1;
	q->q_tx_sring = netfront_ring_page(nf, &q->q_tx_pfn, &q->q_tx_ref);
	q->q_rx_sring = netfront_ring_page(nf, &q->q_rx_pfn, &q->q_rx_ref);
	if (q->q_tx_sring == NULL || q->q_rx_sring == NULL)
		return -1;
	SHARED_RING_INIT(q->q_tx_sring);
	FRONT_RING_INIT(&q->q_tx, q->q_tx_sring, PAGE_SIZE);
	SHARED_RING_INIT(q->q_rx_sring);
	FRONT_RING_INIT(&q->q_rx, q->q_rx_sring, PAGE_SIZE);
	q->q_tx_bufs = xcalloc(n, sizeof(*q->q_tx_bufs));
	q->q_tx_state = xcalloc(n, 1);
	q->q_tx_free = xcalloc(n, sizeof(*q->q_tx_free));
	q->q_rx_bufs = xcalloc(n, sizeof(*q->q_rx_bufs));
	q->q_rx_free = xcalloc(n, sizeof(*q->q_rx_free));
	for (unsigned i = 0; i < n; i++) {
		q->q_tx_free[q->q_tx_nfree++] = (uint16_t)(n - 1 - i);
		struct netfront_buf *b = &q->q_rx_bufs[i];
		b->nb_ptr = grant_alloc_page(nf->nf_g, nf->nf_fe.fe_backend_id, 0, &b->nb_ref,
		    &b->nb_pfn);
		if (b->nb_ptr == NULL)
			return -1;
		q->q_rx_free[q->q_rx_nfree++] = (uint16_t)(n - 1 - i);
	}
	netfront_rx_refill(q);
	RING_PUSH_REQUESTS(&q->q_rx);
	return netfront_queue_ports(nf, q);
}

int
netfront_rings_init(struct netfront *nf)
{
	nf->nf_info.ni_bufs = netfront_bufs(nf);
	if (nf->nf_info.ni_bufs == 0) {
		errno = ENOMEM;
		return -1;
	}
	for (unsigned i = 0; i < nf->nf_nqueues; i++) {
		if (netfront_queue_init(nf, &nf->nf_queues[i], i) < 0)
			return -1;
	}
	return 0;
}

/* tx-ring-ref, rx-ring-ref and event-channel (or -tx and -rx), under
 * queue-N/ when there are several queues. */
static int
netfront_queue_publish(struct netfront *nf, struct netfront_queue *q, xenbus_tx_t tx)
{
	struct frontend *fe = &nf->nf_fe;
	char key[48], prefix[24] = "";

	if (nf->nf_nqueues > 1)
		snprintf(prefix, sizeof(prefix), "queue-%u/", q->q_index);
	snprintf(key, sizeof(key), "%stx-ring-ref", prefix);
	if (frontend_printf(fe, tx, key, "%u", q->q_tx_ref) < 0)
		return -1;
	snprintf(key, sizeof(key), "%srx-ring-ref", prefix);
	if (frontend_printf(fe, tx, key, "%u", q->q_rx_ref) < 0)
		return -1;
	if (!nf->nf_info.ni_split) {
		snprintf(key, sizeof(key), "%sevent-channel", prefix);
		return frontend_printf(fe, tx, key, "%d", q->q_tx_port);
	}
	snprintf(key, sizeof(key), "%sevent-channel-tx", prefix);
	if (frontend_printf(fe, tx, key, "%d", q->q_tx_port) < 0)
		return -1;
	snprintf(key, sizeof(key), "%sevent-channel-rx", prefix);
	return frontend_printf(fe, tx, key, "%d", q->q_rx_port);
}

int
netfront_rings_publish(struct netfront *nf, xenbus_tx_t tx)
{
	if (nf->nf_nqueues > 1 &&
	    frontend_printf(&nf->nf_fe, tx, "multi-queue-num-queues", "%u", nf->nf_nqueues) < 0)
		return -1;
	for (unsigned i = 0; i < nf->nf_nqueues; i++) {
		if (netfront_queue_publish(nf, &nf->nf_queues[i], tx) < 0)
			return -1;
	}
	return 0;
}

/* Ends a page's grant and frees it; a page the backend still maps is left
 * granted (and leaked) rather than reused under its feet. */
static void
netfront_release(struct netfront *nf, hv_gref_t ref, uint64_t pfn)
{
	if (ref == 0)
		return;
	if (grant_end_access(nf->nf_g, ref) < 0)
		return;
	page_free(&nf->nf_g->g_pages, pfn, 1);
}

static void
netfront_queue_fini(struct netfront *nf, struct netfront_queue *q)
{
	unsigned n = nf->nf_info.ni_bufs;

	if (q->q_tx_port >= 0)
		events_unbind(nf->nf_g->g_ev, (hv_port_t)q->q_tx_port);
	if (q->q_rx_port >= 0 && q->q_rx_port != q->q_tx_port)
		events_unbind(nf->nf_g->g_ev, (hv_port_t)q->q_rx_port);
	netfront_release(nf, q->q_tx_ref, q->q_tx_pfn);
	netfront_release(nf, q->q_rx_ref, q->q_rx_pfn);
	for (unsigned i = 0; i < n; i++) {
		if (q->q_tx_bufs != NULL)
			netfront_release(nf, q->q_tx_bufs[i].nb_ref, q->q_tx_bufs[i].nb_pfn);
		if (q->q_rx_bufs != NULL)
			netfront_release(nf, q->q_rx_bufs[i].nb_ref, q->q_rx_bufs[i].nb_pfn);
	}
	free(q->q_tx_bufs);
	free(q->q_tx_state);
	free(q->q_tx_free);
	free(q->q_rx_bufs);
	free(q->q_rx_free);
	memset(q, 0, sizeof(*q));
}

void
netfront_rings_fini(struct netfront *nf)
{
	for (unsigned i = 0; i < nf->nf_nqueues; i++)
		netfront_queue_fini(nf, &nf->nf_queues[i]);
}

void
netfront_stop(struct netfront *nf, int err, const char *fmt, ...)
{
	va_list ap;

	if (nf->nf_broken)
		return;
	nf->nf_broken = err;
	va_start(ap, fmt);
	vsnprintf(nf->nf_why, sizeof(nf->nf_why), fmt, ap);
	va_end(ap);
}

/* ---- transmit ---- */

/*
 * Takes back the ids of every TX response so far. It leaves rsp_event where
 * it was (behind, so the backend's pushes wake nobody): only a sender that
 * is about to sleep on a full ring arms it (netfront_tx_arm_late). Re-arming
 * here at every reap made the backend wake us every few dozen frames, an
 * eventfd write and a cross-CPU wake-up each, a fifth of its time.
 */
static void
netfront_tx_reap(struct netfront *nf, struct netfront_queue *q)
{
	RING_IDX prod = __atomic_load_n(&q->q_tx_sring->rsp_prod, __ATOMIC_ACQUIRE);

	if (prod - q->q_tx.rsp_cons > q->q_tx.req_prod_pvt - q->q_tx.rsp_cons) {
		netfront_stop(nf, EPROTO, "queue %u: tx response producer %u beyond our %u "
		    "requests", q->q_index, prod, q->q_tx.req_prod_pvt);
		return;
	}
	while (q->q_tx.rsp_cons != prod) {
		netif_tx_response_t rsp;
		memcpy(&rsp, (const void *)RING_GET_RESPONSE(&q->q_tx, q->q_tx.rsp_cons),
		    sizeof(rsp));
		q->q_tx.rsp_cons++;
		int st = netfront_tx_rsp_check(&rsp, q->q_tx_state, nf->nf_info.ni_bufs);
		if (st == NETFRONT_RSP_BAD) {
			netfront_stop(nf, EPROTO, "queue %u: tx response id %u status %d was not "
			    "issued", q->q_index, rsp.id, rsp.status);
			return;
		}
		if (st == NETIF_RSP_NULL)
			continue;	/* an extra slot's: no id of ours */
		if (st == NETIF_RSP_ERROR || st == NETIF_RSP_DROPPED)
			nf->nf_stats.ns_tx_errors++;
		q->q_tx_state[rsp.id] = NETFRONT_TX_FREE;
		q->q_tx_free[q->q_tx_nfree++] = rsp.id;
	}
}

/* The page of TX id, granted read-only on first use and kept. */
static struct netfront_buf *
netfront_tx_buf(struct netfront *nf, struct netfront_queue *q, uint16_t id)
{
	struct netfront_buf *b = &q->q_tx_bufs[id];

	if (b->nb_ref == 0) {
		b->nb_ptr = grant_alloc_page(nf->nf_g, nf->nf_fe.fe_backend_id, 1, &b->nb_ref,
		    &b->nb_pfn);
		if (b->nb_ptr == NULL) {
			b->nb_ref = 0;
			return NULL;
		}
	}
	return b;
}

/* Whether the queue can take a frame of n pages (plus an extra slot with gso). */
static bool
netfront_tx_fits(const struct netfront_queue *q, unsigned n, bool gso)
{
	/* extras take ring slots but no id: the ring may fill before the ids run out */
	RING_IDX used = q->q_tx.req_prod_pvt - q->q_tx.rsp_cons;

	return q->q_tx_nfree >= n && used + n + gso <= RING_SIZE(&q->q_tx);
}

/* netfront_queue, with mss > 0 for a TCP segment the backend cuts (GSO). */
static int
netfront_queue_frame(struct netfront *nf, const void *frame, size_t len, uint16_t mss)
{
	netif_tx_request_t reqs[NETFRONT_SLOTS_MAX];
	grant_ref_t refs[NETFRONT_SLOTS_MAX];
	uint16_t ids[NETFRONT_SLOTS_MAX];

	if (nf->nf_broken) {
		errno = nf->nf_broken;
		return -1;
	}
	int n = netfront_tx_slots(len, mss ? NETFRONT_FRAME_MAX : netfront_max_frame(nf),
	    nf->nf_info.ni_sg);
	if (n < 0)
		return -1;
	unsigned qi = netfront_queue_pick(frame, len, nf->nf_nqueues);
	struct netfront_queue *q = &nf->nf_queues[qi];
	if (!netfront_tx_fits(q, (unsigned)n, mss != 0))
		netfront_tx_reap(nf, q);
	if (nf->nf_broken || !netfront_tx_fits(q, (unsigned)n, mss != 0)) {
		errno = nf->nf_broken ? nf->nf_broken : EAGAIN;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint16_t id = q->q_tx_free[q->q_tx_nfree - 1 - i];
		struct netfront_buf *b = netfront_tx_buf(nf, q, id);
		if (b == NULL)
			return -1;	/* ids stay free; ENOMEM */
		size_t off = (size_t)i * NETFRONT_PAGE, chunk = len - off;
		memcpy(b->nb_ptr, (const uint8_t *)frame + off, chunk < NETFRONT_PAGE ? chunk :
		    NETFRONT_PAGE);
		ids[i] = id;
		refs[i] = b->nb_ref;
	}
	q->q_tx_nfree -= (unsigned)n;
	netfront_tx_build(reqs, len, refs, ids);
	for (int i = 0; i < n; i++)
		q->q_tx_state[ids[i]] = NETFRONT_TX_BUSY;
	unsigned nslots = mss ? netfront_tx_add_gso(reqs, (unsigned)n, mss) : (unsigned)n;
	for (unsigned i = 0; i < nslots; i++) {
		memcpy(RING_GET_REQUEST(&q->q_tx, q->q_tx.req_prod_pvt), &reqs[i], sizeof(reqs[i]));
		q->q_tx.req_prod_pvt++;
	}
	nf->nf_stats.ns_tx_frames++;
	nf->nf_stats.ns_tx_bytes += len;
	nf->nf_stats.ns_queue_tx[qi]++;
	return 0;
}

int
netfront_queue(struct netfront *nf, const void *frame, size_t len)
{
	return netfront_queue_frame(nf, frame, len, 0);
}

int
netfront_queue_tso(struct netfront *nf, const void *frame, size_t len, uint16_t mss)
{
	if (!nf->nf_info.ni_gso || mss == 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return netfront_queue_frame(nf, frame, len, mss);
}

void
netfront_kick(struct netfront *nf)
{
	for (unsigned i = 0; i < nf->nf_nqueues && !nf->nf_broken; i++) {
		struct netfront_queue *q = &nf->nf_queues[i];
		int notify;
		if (q->q_tx.req_prod_pvt == q->q_tx_sring->req_prod)
			continue;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_tx, notify);
		if (notify) {
			events_notify(nf->nf_g->g_ev, (hv_port_t)q->q_tx_port);
			nf->nf_stats.ns_tx_notify++;
		}
	}
}

/*
 * Asks the backend for its event once `want` more responses are in; 0 when
 * some came already (reap again), 1 when the caller may sleep. A full ring
 * asks for NETFRONT_TX_WAKE, not the first: the backend pushes responses as
 * it goes, and a wake per push cost it an eventfd write (a cross-CPU
 * wake-up) every few dozen frames (bench/netback). The ring holds far more
 * than that in flight, so the event always comes.
 */
static int
netfront_tx_arm(struct netfront_queue *q, RING_IDX want)
{
	RING_IDX inflight = q->q_tx.req_prod_pvt - q->q_tx.rsp_cons;

	if (want > inflight)
		want = inflight;
	if (want == 0)
		want = 1;
	q->q_tx_sring->rsp_event = q->q_tx.rsp_cons + want;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&q->q_tx_sring->rsp_prod, __ATOMIC_ACQUIRE) == q->q_tx.rsp_cons;
}

/* events_wait condition: room for the largest frame on every queue (reaped here too;
 * less would have a sender of big frames spin), or stopped. */
static bool
netfront_tx_room(void *arg)
{
	struct netfront *nf = arg;

	for (unsigned i = 0; i < nf->nf_nqueues && !nf->nf_broken; i++) {
		struct netfront_queue *q = &nf->nf_queues[i];
		if (!netfront_tx_fits(q, NETFRONT_SLOTS_MAX - 1, true))
			netfront_tx_reap(nf, q);
		if (!netfront_tx_fits(q, NETFRONT_SLOTS_MAX - 1, true) && !nf->nf_broken &&
		    netfront_tx_arm(q, NETFRONT_TX_WAKE) == 0)
			netfront_tx_reap(nf, q);	/* came while we armed */
		if (!netfront_tx_fits(q, NETFRONT_SLOTS_MAX - 1, true))
			return nf->nf_broken != 0;
	}
	return true;
}

int
netfront_wait_tx(struct netfront *nf, int ms)
{
	return events_wait(nf->nf_g->g_ev, netfront_tx_room, nf, ms);
}

/* events_wait condition: every frame sent answered on every queue, or stopped. */
static bool
netfront_tx_idle(void *arg)
{
	struct netfront *nf = arg;

	for (unsigned i = 0; i < nf->nf_nqueues && !nf->nf_broken; i++) {
		struct netfront_queue *q = &nf->nf_queues[i];
		netfront_tx_reap(nf, q);
		if (q->q_tx_nfree < nf->nf_info.ni_bufs && !nf->nf_broken &&
		    netfront_tx_arm(q, q->q_tx.req_prod_pvt - q->q_tx.rsp_cons) == 0)
			netfront_tx_reap(nf, q);
		if (q->q_tx_nfree < nf->nf_info.ni_bufs)
			return nf->nf_broken != 0;
	}
	return true;
}

int
netfront_wait_tx_idle(struct netfront *nf, int ms)
{
	return events_wait(nf->nf_g->g_ev, netfront_tx_idle, nf, ms);
}

int
netfront_send(struct netfront *nf, const void *frame, size_t len)
{
	int rc = netfront_queue(nf, frame, len);

	if (rc < 0 && errno == EAGAIN) {
		netfront_kick(nf);
		if (netfront_wait_tx(nf, 1000) == 0)
			rc = netfront_queue(nf, frame, len);
	}
	netfront_kick(nf);
	return rc;
}

unsigned
netfront_tx_inflight(const struct netfront *nf)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nf->nf_nqueues; i++)
		n += nf->nf_info.ni_bufs - nf->nf_queues[i].q_tx_nfree;
	return n;
}

/* ---- receive ---- */

/* Hands one frame to the rx callback: straight from its page, or gathered
 * when it came over several slots. */
static void
netfront_deliver(struct netfront *nf, struct netfront_queue *q, const struct netfront_rx_frame *f)
{
	const uint8_t *data;

	if (f->rf_status != 0) {
		nf->nf_stats.ns_rx_errors++;
		return;
	}
	if (f->rf_nfrags == 1) {
		data = (const uint8_t *)q->q_rx_bufs[f->rf_frags[0].id].nb_ptr + f->rf_frags[0].offset;
	} else {
		if (nf->nf_gather == NULL)
			nf->nf_gather = xmalloc(NETFRONT_FRAME_MAX);
		size_t at = 0;
		for (unsigned i = 0; i < f->rf_nfrags; i++) {
			memcpy(nf->nf_gather + at, (const uint8_t *)q->q_rx_bufs[f->rf_frags[i].id].nb_ptr +
			    f->rf_frags[i].offset, f->rf_frags[i].len);
			at += f->rf_frags[i].len;
		}
		data = nf->nf_gather;
	}
	nf->nf_stats.ns_rx_frames++;
	nf->nf_stats.ns_rx_bytes += f->rf_len;
	nf->nf_stats.ns_queue_rx[q->q_index]++;
	if (nf->nf_rx != NULL)
		nf->nf_rx(nf, data, f->rf_len, nf->nf_rx_arg);
}

/* Takes every whole frame off the RX ring, each response copied once; a
 * frame whose last slot has not come yet waits, with rsp_event set past
 * what is there so the backend says when it comes. */
static void
netfront_rx_poll(struct netfront *nf, struct netfront_queue *q)
{
	static netif_rx_response_t rsps[NETFRONT_BUFS_MAX];
	unsigned size = RING_SIZE(&q->q_rx);
	int more = 0;

	do {
		RING_IDX prod = __atomic_load_n(&q->q_rx_sring->rsp_prod, __ATOMIC_ACQUIRE);
		RING_IDX cons = q->q_rx.rsp_cons;
		if (prod - cons > q->q_rx.req_prod_pvt - cons) {
			netfront_stop(nf, EPROTO, "queue %u: rx response producer %u beyond our %u "
			    "requests", q->q_index, prod, q->q_rx.req_prod_pvt);
			return;
		}
		unsigned avail = prod - cons;
		for (unsigned i = 0; i < avail; i++)
			memcpy(&rsps[i], (const void *)RING_GET_RESPONSE(&q->q_rx, cons + i),
			    sizeof(rsps[i]));
		unsigned at = 0;
		while (at < avail) {
			struct netfront_rx_frame f;
			int r = netfront_rx_frame(rsps + at, avail - at, cons + at, size,
			    q->q_rx_slot_id, true, &f);
			if (r < 0) {
				netfront_stop(nf, EPROTO, "queue %u: rx slot %u: %s", q->q_index,
				    (cons + at) & (size - 1), f.rf_why);
				return;
			}
			if (r == 0)
				break;
			netfront_deliver(nf, q, &f);
			for (unsigned i = 0; i < f.rf_slots; i++)
				q->q_rx_free[q->q_rx_nfree++] = q->q_rx_slot_id[(cons + at + i) & (size - 1)];
			at += f.rf_slots;
			if (nf->nf_broken)
				return;
		}
		q->q_rx.rsp_cons = cons + at;
		if (at < avail) {	/* a frame still coming: wake us when more is there */
			q->q_rx_sring->rsp_event = prod + 1;
			mb();
			more = q->q_rx_sring->rsp_prod != prod;
		} else {
			RING_FINAL_CHECK_FOR_RESPONSES(&q->q_rx, more);
		}
	} while (more);
	netfront_rx_refill(q);
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_rx, notify);
	if (notify) {
		events_notify(nf->nf_g->g_ev, (hv_port_t)q->q_rx_port);
		nf->nf_stats.ns_rx_notify++;
	}
}

/* One port for both rings: completions, frames, then what the rx callback sent. */
static void
netfront_event(hv_port_t port, void *arg)
{
	struct netfront_queue *q = arg;
	struct netfront *nf = q->q_nf;

	(void)port;
	nf->nf_stats.ns_events++;
	if (!nf->nf_broken)
		netfront_tx_reap(nf, q);
	if (!nf->nf_broken)
		netfront_rx_poll(nf, q);
	if (!nf->nf_broken)
		netfront_kick(nf);
}

static void
netfront_event_tx(hv_port_t port, void *arg)
{
	struct netfront_queue *q = arg;

	(void)port;
	q->q_nf->nf_stats.ns_events++;
	if (!q->q_nf->nf_broken)
		netfront_tx_reap(q->q_nf, q);
}

static void
netfront_event_rx(hv_port_t port, void *arg)
{
	struct netfront_queue *q = arg;
	struct netfront *nf = q->q_nf;

	(void)port;
	nf->nf_stats.ns_events++;
	if (!nf->nf_broken)
		netfront_rx_poll(nf, q);
	if (!nf->nf_broken)
		netfront_kick(nf);
}
