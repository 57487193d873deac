/*
 * Guest to tap: every TX slot is copied out of the shared ring once (into
 * q_txcopy), packets are decoded and validated there (txreq.c), the frame's
 * headers are copied privately to fill the tap's virtio-net header, and the
 * rest goes out with one writev() straight from the guest's pages, mapped
 * read-only for the call. Every slot is answered in ring order, so a new
 * worker takes over from rsp_prod after a crash. All the packets of one
 * notification go before one push of responses and at most one event.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>

#include "libhv.h"
#include "log.h"
#include "nbw.h"

#define NBTX_PUSH	32	/* packets between pushes inside a batch */

/* Copies the slots the frontend produced since last time, each once. */
static int
nbtx_copy(struct nbq *q, RING_IDX rp)
{
	netif_tx_back_ring_t *r = &q->q_tx;

	if (rp - r->req_cons > RING_SIZE(r)) {
		nbworker_broken(q->q_w, q->q_idx, "TX request producer %u is %u entries past our "
		    "consumer, beyond the ring's %u", rp, rp - r->req_cons, RING_SIZE(r));
		return -1;
	}
	if (q->q_tx_copied - r->req_cons > rp - r->req_cons) {
		nbworker_broken(q->q_w, q->q_idx, "TX request producer went back from %u to %u",
		    q->q_tx_copied, rp);
		return -1;
	}
	for (; q->q_tx_copied != rp; q->q_tx_copied++)
		memcpy(&q->q_txcopy[q->q_tx_copied & (NBW_TX_RING - 1)],
		    RING_GET_REQUEST(r, q->q_tx_copied), sizeof(union txreq_slot));
	return 0;
}

/* One response per slot of the packet, in ring order. */
static void
nbtx_respond(struct nbq *q, const struct txpkt *p, int16_t status)
{
	netif_tx_back_ring_t *r = &q->q_tx;

	for (unsigned i = 0; i < p->nslots; i++) {
		netif_tx_response_t rsp = { .id = p->slot[i].id,
		    .status = p->slot[i].extra ? NETIF_RSP_NULL : status };
		memcpy(RING_GET_RESPONSE(r, r->rsp_prod_pvt), &rsp, sizeof(rsp));
		r->rsp_prod_pvt++;
	}
	r->req_cons += p->nslots;
}

/* The virtio-net header for the frame; -1 when csum_blank names no checksum we can place. */
static int
nbtx_vnet(struct nbq *q, const struct txpkt *p, size_t hlen, struct virtio_net_hdr *vh)
{
	struct txhdr h;

	memset(vh, 0, sizeof(*vh));
	if (p->flags & NETTXF_csum_blank) {
		if (txhdr_parse(&h, q->q_hdr, hlen) < 0)
			return -1;
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->csum_start = h.l4_off;
		vh->csum_offset = h.csum_off;
		if (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV4) {
			if (h.l4_proto != 6 || h.ipv6)
				return -1;
			vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
			vh->gso_size = p->gso_size;
			vh->hdr_len = h.hdr_len;
		}
	} else if (p->flags & NETTXF_data_validated)
		vh->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	return 0;
}

/* Maps every fragment read-only; pages[i] NULL for empty ones. -1: none left mapped. */
static int
nbtx_map(struct nbq *q, const struct txpkt *p, uint8_t **pages)
{
	struct nbw *w = q->q_w;

	for (unsigned i = 0; i < p->nfrags; i++) {
		pages[i] = NULL;
		if (p->frag[i].len == 0)
			continue;
		pages[i] = hv_gnttab_map_grant_ref(w->w_gt, w->w_domid, p->frag[i].gref, PROT_READ);
		if (pages[i] == NULL) {
			log_debug("queue %u: TX grant %u: %s", q->q_idx, p->frag[i].gref,
			    strerror(errno));
			while (i-- > 0)
				if (pages[i])
					hv_gnttab_unmap(w->w_gt, w->w_domid, p->frag[i].gref);
			return -1;
		}
	}
	return 0;
}

/* Copies the frame's first bytes (across fragments) into q_hdr; their count. */
static size_t
nbtx_headers(struct nbq *q, const struct txpkt *p, uint8_t **pages)
{
	size_t want = p->len < sizeof(q->q_hdr) ? p->len : sizeof(q->q_hdr), got = 0;

	for (unsigned i = 0; i < p->nfrags && got < want; i++) {
		size_t n = p->frag[i].len < want - got ? p->frag[i].len : want - got;
		if (n)
			memcpy(q->q_hdr + got, pages[i] + p->frag[i].offset, n);
		got += n;
	}
	return got;
}

/* The iovec: virtio header, private header copy, the rest from the pages. */
static int
nbtx_iov(const struct txpkt *p, uint8_t **pages, struct virtio_net_hdr *vh, uint8_t *hdr,
    size_t hlen, struct iovec *iov)
{
	size_t skip = hlen;
	int n = 0;

	iov[n++] = (struct iovec){ vh, sizeof(*vh) };
	if (hlen > 0)
		iov[n++] = (struct iovec){ hdr, hlen };
	for (unsigned i = 0; i < p->nfrags; i++) {
		size_t len = p->frag[i].len, off = p->frag[i].offset;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		iov[n++] = (struct iovec){ pages[i] + off + skip, len - skip };
		skip = 0;
	}
	return n;
}

/* One valid packet to the tap; the status its slots get. */
static int16_t
nbtx_send(struct nbq *q, const struct txpkt *p)
{
	struct nbw *w = q->q_w;
	uint8_t *pages[TXREQ_FATAL_SLOTS];
	struct iovec iov[TXREQ_FATAL_SLOTS + 2];
	struct virtio_net_hdr vh;
	int16_t st = NETIF_RSP_OKAY;
	size_t hlen;
	int n;

	if (nbtx_map(q, p, pages) < 0)
		return NETIF_RSP_ERROR;
	/* only a checksum to place needs the headers parsed, so only then copied */
	hlen = p->flags & NETTXF_csum_blank ? nbtx_headers(q, p, pages) : 0;
	if (nbtx_vnet(q, p, hlen, &vh) < 0) {
		log_debug("queue %u: csum_blank frame without TCP/UDP headers we can read", q->q_idx);
		st = NETIF_RSP_ERROR;
	} else {
		n = nbtx_iov(p, pages, &vh, q->q_hdr, hlen, iov);
		if (writev(q->q_tap, iov, n) < 0) {
			log_debug("queue %u: tap write: %s", q->q_idx, strerror(errno));
			st = NETIF_RSP_DROPPED;
		}
	}
	for (unsigned i = 0; i < p->nfrags; i++)
		if (pages[i])
			hv_gnttab_unmap(w->w_gt, w->w_domid, p->frag[i].gref);
	return st;
}

/* The copied slots of the next packet, contiguous (in q_txcopy itself unless they wrap,
 * else gathered into buf); how many there are in *n. */
static const union txreq_slot *
nbtx_window(struct nbq *q, union txreq_slot *buf, unsigned *n)
{
	RING_IDX c = q->q_tx.req_cons;
	unsigned at = c & (NBW_TX_RING - 1);

	*n = q->q_tx_copied - c;
	if (*n > TXREQ_SCAN)
		*n = TXREQ_SCAN;
	if (at + *n <= NBW_TX_RING)
		return &q->q_txcopy[at];
	for (unsigned i = 0; i < *n; i++)
		buf[i] = q->q_txcopy[(c + i) & (NBW_TX_RING - 1)];
	return buf;
}

/* The rate limit holds the packet back: try again when credit comes. */
static void
nbtx_wait_credit(struct nbq *q, uint64_t wake_us)
{
	uint64_t now = nbworker_now_us();
	uint64_t us = wake_us > now ? wake_us - now : 0;
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 };

	event_add(q->q_rate_ev, &tv);
}

/*
 * Responses so far to the frontend, and an event if it asked for one. Done
 * every NBTX_PUSH packets inside a batch too: a frontend with a full ring
 * refills it while we carry on, instead of both sides taking turns (which
 * left the worker idle a fifth of the time with 1514-byte frames).
 */
static void
nbtx_push(struct nbq *q)
{
	int notify;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->q_tx, notify);
	if (notify)
		nbworker_notify(q->q_tx_signal);
}

/* Packets until the copied slots run out; false when the rate limit stopped us. */
static bool
nbtx_drain(struct nbq *q, unsigned *budget)
{
	struct nbw *w = q->q_w;
	union txreq_slot buf[TXREQ_SCAN];
	const union txreq_slot *win;
	struct txpkt *p = &q->q_pkt;
	uint64_t wake;
	unsigned n;

	while ((win = nbtx_window(q, buf, &n), n > 0) && *budget > 0) {
		enum txreq_verdict v = txreq_decode(p, win, n, &w->w_lim);
		if (v == TXREQ_FATAL) {
			nbworker_broken(w, q->q_idx, "malformed TX packet: %s", p->why);
			return false;
		}
		if (v == TXREQ_OK && w->w_rate.r_on &&	/* no clock read per packet without a limit */
		    !nbrate_take(&w->w_rate, p->len, nbworker_now_us(), &wake)) {
			nbtx_wait_credit(q, wake);
			return false;
		}
		if (v == TXREQ_DROP) {
			log_debug("queue %u: TX packet dropped: %s", q->q_idx, p->why);
			q->q_tx_dropped++;
			nbtx_respond(q, p, NETIF_RSP_ERROR);
		} else {
			q->q_tx_frames++;
			nbtx_respond(q, p, nbtx_send(q, p));
		}
		if (--(*budget) % NBTX_PUSH == 0)
			nbtx_push(q);
	}
	return true;
}

/* nbw.h: takes what the frontend produced, answers it, then re-arms req_event. */
void
nbtx_kick(struct nbq *q)
{
	netif_tx_back_ring_t *r = &q->q_tx;
	unsigned budget = NBW_TX_RING;
	int more = 0;

	if (q->q_w->w_broken || event_pending(q->q_rate_ev, EV_TIMEOUT, NULL))
		return;
	do {
		if (nbtx_copy(q, __atomic_load_n(&r->sring->req_prod, __ATOMIC_ACQUIRE)) < 0)
			return;
		if (!nbtx_drain(q, &budget))
			break;
		if (budget == 0) {
			event_active(q->q_tx_ev, EV_READ, 0);	/* more later, others get a turn */
			break;
		}
		RING_FINAL_CHECK_FOR_REQUESTS(r, more);
	} while (more);
	if (q->q_w->w_broken)
		return;
	nbtx_push(q);
}
