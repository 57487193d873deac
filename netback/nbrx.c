/*
 * Tap to guest: a frame is read from the tap straight into the buffers the
 * frontend posted (each RX request copied out of the ring once, its page
 * mapped writable for the read), one page per slot, the GSO extra after the
 * first when there is one; each response goes in the slot of the request it
 * answers. What does not fit that way (too few buffers posted, a frame over
 * more pages than were mapped, a checksum to finish across pages) is read
 * into private memory and copied from there. When the ring has too few buffers the
 * frame is held and the tap is not read until the frontend posts more (its
 * event, or a poll without feature-rx-notify). One push of responses and at
 * most one event per batch.
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

#define NBRX_VH		sizeof(struct virtio_net_hdr)
#define NBRX_PAGES	17	/* a 64 KiB segment's pages: 16, one more for the offset */
#define NBRX_BIG	64	/* frames read with room for a segment after one that needed it */

/* Folds a 32-bit one's complement sum to 16 bits. */
static uint16_t
nbrx_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/*
 * A partial checksum finished in software, for a frontend that does not take
 * csum_blank frames of this kind: the kernel left the pseudo-header sum at
 * start + off, the sum over [start, len) completes it.
 */
static int
nbrx_csum(uint8_t *f, size_t len, unsigned start, unsigned off)
{
	uint32_t sum = 0;
	uint16_t c;
	size_t i;

	if (start > len || off + 2u > len - start)
		return -1;
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	if (i < len)
		sum += (uint32_t)f[i] << 8;
	c = ~nbrx_fold(sum);
	f[start + off] = c >> 8;
	f[start + off + 1] = c & 0xff;
	return 0;
}

/* RX flags of the first slot from the virtio header; -1 to drop the frame. */
static int
nbrx_flags(struct nbq *q, struct virtio_net_hdr *vh, uint8_t *f, size_t len)
{
	uint32_t fe = q->q_w->w_features;
	bool v6 = len > 13 && f[12] == 0x86 && f[13] == 0xdd;

	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if ((fe & NETBACK_FE_CSUM) && (!v6 || (fe & NETBACK_FE_CSUM6)))
			return NETRXF_csum_blank | NETRXF_data_validated;
		if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE ||
		    nbrx_csum(f, len, vh->csum_start, vh->csum_offset) < 0)
			return -1;
		return NETRXF_data_validated;
	}
	return vh->flags & VIRTIO_NET_HDR_F_DATA_VALID ? NETRXF_data_validated : 0;
}

/* Slots the held frame needs; 0 when this frontend cannot take it. */
static unsigned
nbrx_slots(struct nbq *q, const struct virtio_net_hdr *vh, size_t len)
{
	uint32_t fe = q->q_w->w_features;
	unsigned pages = (len + NBW_RING_PAGE - 1) / NBW_RING_PAGE;
	bool gso = vh->gso_type != VIRTIO_NET_HDR_GSO_NONE;

	if (len == 0 || (pages > 1 && !(fe & NETBACK_FE_SG)))
		return 0;
	if (gso && (vh->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || !(fe & NETBACK_FE_GSO_TCPV4)))
		return 0;
	if (pages > XEN_NETIF_NR_SLOTS_MIN)
		return 0;
	return pages + gso;
}

/* Takes the next RX request (copied once) and copies a chunk into its page. */
static int16_t
nbrx_fill(struct nbq *q, const uint8_t *src, size_t n, uint16_t *id)
{
	struct nbw *w = q->q_w;
	netif_rx_request_t req;
	uint8_t *page;

	memcpy(&req, RING_GET_REQUEST(&q->q_rx, q->q_rx.req_cons), sizeof(req));
	q->q_rx.req_cons++;
	*id = req.id;
	if ((page = hv_gnttab_map_grant_ref(w->w_gt, w->w_domid, req.gref,
	    PROT_READ | PROT_WRITE)) == NULL) {
		log_debug("queue %u: RX grant %u: %s", q->q_idx, req.gref, strerror(errno));
		return NETIF_RSP_ERROR;
	}
	memcpy(page, src, n);
	hv_gnttab_unmap(w->w_gt, w->w_domid, req.gref);
	return n;
}

/* Writes a response in the slot of the request it answers. */
static void
nbrx_response(struct nbq *q, uint16_t id, uint16_t flags, int16_t status)
{
	netif_rx_response_t rsp = { .id = id, .offset = 0, .flags = flags, .status = status };

	memcpy(RING_GET_RESPONSE(&q->q_rx, q->q_rx.rsp_prod_pvt), &rsp, sizeof(rsp));
	q->q_rx.rsp_prod_pvt++;
}

/* The GSO extra, in the slot after the first (its request is consumed unanswered). */
static void
nbrx_gso(struct nbq *q, const struct virtio_net_hdr *vh)
{
	netif_extra_info_t e;

	memset(&e, 0, sizeof(e));
	e.type = XEN_NETIF_EXTRA_TYPE_GSO;
	e.u.gso.size = vh->gso_size;
	e.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	q->q_rx.req_cons++;
	memcpy(RING_GET_RESPONSE(&q->q_rx, q->q_rx.rsp_prod_pvt), &e, sizeof(e));
	q->q_rx.rsp_prod_pvt++;
}

/* Delivers the held frame into the next slots (the caller checked there are enough). */
static void
nbrx_deliver(struct nbq *q, int flags)
{
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)q->q_rxbuf;
	const uint8_t *f = q->q_rxbuf + NBRX_VH;
	size_t len = q->q_rxlen - NBRX_VH, off = 0;
	bool gso = vh->gso_type != VIRTIO_NET_HDR_GSO_NONE;
	uint16_t id;

	while (off < len) {
		size_t n = len - off < NBW_RING_PAGE ? len - off : NBW_RING_PAGE;
		int16_t st = nbrx_fill(q, f + off, n, &id);
		uint16_t fl = (off == 0 ? flags : 0) | (off + n < len ? NETRXF_more_data : 0) |
		    (off == 0 && gso ? NETRXF_extra_info : 0);
		nbrx_response(q, id, fl, st);
		if (off == 0 && gso)
			nbrx_gso(q, vh);
		off += n;
	}
	q->q_rx_frames++;
}

/* Too few buffers: stop reading the tap until the frontend posts enough. */
static void
nbrx_stall(struct nbq *q, unsigned need)
{
	if (!q->q_rx_stalled) {
		event_del(q->q_tap_ev);
		q->q_rx_stalled = true;
	}
	q->q_rx.sring->req_event = q->q_rx.req_cons + need;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(q->q_w->w_features & NETBACK_FE_RX_NOTIFY)) {
		struct timeval tv = { 0, NBW_RX_POLL_MS * 1000 };
		event_add(q->q_poll_ev, &tv);
	}
}

/* Reads the next frame into q_rxbuf; false when the tap is empty. */
static bool
nbrx_read(struct nbq *q)
{
	ssize_t n;

	for (;;) {
		n = read(q->q_tap, q->q_rxbuf, NBW_RXBUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				log_debug("queue %u: tap read: %s", q->q_idx, strerror(errno));
			return false;
		}
		if ((size_t)n > NBRX_VH + 13) {
			q->q_rxlen = n;
			return true;
		}
		q->q_rx_dropped++;
	}
}

/* One frame into the ring: 1 done, 0 wait for buffers, -1 the ring is broken. */
static int
nbrx_one(struct nbq *q)
{
	netif_rx_back_ring_t *r = &q->q_rx;
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)q->q_rxbuf;
	size_t len = q->q_rxlen - NBRX_VH;
	unsigned need = nbrx_slots(q, vh, len);
	RING_IDX rp = __atomic_load_n(&r->sring->req_prod, __ATOMIC_ACQUIRE);
	int flags;

	if (rp - r->rsp_prod_pvt > RING_SIZE(r)) {
		nbworker_broken(q->q_w, q->q_idx, "RX request producer %u is %u entries past our "
		    "responses, beyond the ring's %u", rp, rp - r->rsp_prod_pvt, RING_SIZE(r));
		return -1;
	}
	if (need == 0 || (flags = nbrx_flags(q, vh, q->q_rxbuf + NBRX_VH, len)) < 0) {
		q->q_rx_dropped++;
		q->q_rxlen = 0;
		return 1;
	}
	if (rp - r->req_cons < need) {
		nbrx_stall(q, need);
		if (__atomic_load_n(&r->sring->req_prod, __ATOMIC_ACQUIRE) - r->req_cons < need)
			return 0;
	}
	nbrx_deliver(q, flags);
	q->q_rxlen = 0;
	return 1;
}

/* Requests posted and not yet taken. */
static unsigned
nbrx_posted(struct nbq *q)
{
	return __atomic_load_n(&q->q_rx.sring->req_prod, __ATOMIC_ACQUIRE) - q->q_rx.req_cons;
}

/*
 * Reads the next frame straight into the next posted buffers: page 0 of the
 * first request, then (while segments came lately, q_rx_big) the pages of
 * the third request on, the second kept for a GSO extra; what is left over
 * lands in q_rxbuf. 1: delivered; 0: the tap is empty; 2: the frame is in
 * q_rxbuf for the copying path (it did not fit, or needs a checksum
 * finished); -1: a grant could not be mapped (the copying path reports it).
 */
static int
nbrx_direct(struct nbq *q)
{
	struct nbw *w = q->q_w;
	netif_rx_request_t req[NBRX_PAGES + 1];
	uint8_t *page[NBRX_PAGES + 1] = { NULL };
	struct iovec iov[NBRX_PAGES + 2];
	struct virtio_net_hdr vh;
	bool big = q->q_rx_big > 0 && (w->w_features & NETBACK_FE_GSO_TCPV4);
	unsigned nreq = big ? NBRX_PAGES + 1 : 1, niov = 0, ndata = 0;
	int rc = -1;
	ssize_t n;

	for (unsigned i = 0; i < nreq; i++)
		memcpy(&req[i], RING_GET_REQUEST(&q->q_rx, q->q_rx.req_cons + i), sizeof(req[i]));
	iov[niov++] = (struct iovec){ &vh, NBRX_VH };
	for (unsigned i = 0; i < nreq; i++) {
		if (i == 1)
			continue;	/* the GSO extra's slot: no data */
		page[i] = hv_gnttab_map_grant_ref(w->w_gt, w->w_domid, req[i].gref,
		    PROT_READ | PROT_WRITE);
		if (page[i] == NULL)
			goto out;
		iov[niov++] = (struct iovec){ page[i], NBW_RING_PAGE };
		ndata++;
	}
	iov[niov++] = (struct iovec){ q->q_rxbuf + NBRX_VH, NBW_RXBUF - NBRX_VH };
	do
		n = readv(q->q_tap, iov, (int)niov);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN)
			log_debug("queue %u: tap read: %s", q->q_idx, strerror(errno));
		rc = 0;
		goto out;
	}
	size_t len = (size_t)n > NBRX_VH ? (size_t)n - NBRX_VH : 0;
	bool gso = vh.gso_type != VIRTIO_NET_HDR_GSO_NONE;
	int flags = -1;
	if (len < 14) {
		q->q_rx_dropped++;
		rc = 1;
		goto out;
	}
	/*
	 * Whole in the pages: one page, or a segment in the slots it takes.
	 * nbrx_flags reads the frame from page 0, and finishes a checksum only
	 * for a frame that is not a segment, so only within that page.
	 */
	if ((len <= NBW_RING_PAGE || (gso && len <= (size_t)ndata * NBW_RING_PAGE)) &&
	    nbrx_slots(q, &vh, len) > 0 && (flags = nbrx_flags(q, &vh, page[0], len)) >= 0) {
		for (size_t off = 0, k = 0; off < len; k++) {
			size_t chunk = len - off < NBW_RING_PAGE ? len - off : NBW_RING_PAGE;
			uint16_t fl = (off == 0 ? flags : 0) | (off + chunk < len ? NETRXF_more_data : 0) |
			    (off == 0 && gso ? NETRXF_extra_info : 0);
			q->q_rx.req_cons++;
			nbrx_response(q, req[k].id, fl, (int16_t)chunk);
			if (off == 0 && gso) {
				nbrx_gso(q, &vh);
				k++;
			}
			off += chunk;
		}
		q->q_rx_frames++;
		if (!gso && q->q_rx_big > 0)
			q->q_rx_big--;
		rc = 1;
		goto out;
	}
	/* the copying path takes it from q_rxbuf: gather what went into the pages */
	if (len > NBW_RING_PAGE)
		q->q_rx_big = NBRX_BIG;
	size_t inpages = len < (size_t)ndata * NBW_RING_PAGE ? len : (size_t)ndata * NBW_RING_PAGE;
	memmove(q->q_rxbuf + NBRX_VH + inpages, q->q_rxbuf + NBRX_VH, len - inpages);
	memcpy(q->q_rxbuf, &vh, NBRX_VH);
	for (unsigned i = 0, k = 0; i < nreq && k * NBW_RING_PAGE < inpages; i++) {
		if (page[i] == NULL)
			continue;
		size_t at = (size_t)k * NBW_RING_PAGE, c = inpages - at;
		memcpy(q->q_rxbuf + NBRX_VH + at, page[i], c < NBW_RING_PAGE ? c : NBW_RING_PAGE);
		k++;
	}
	q->q_rxlen = (size_t)n;
	rc = 2;
out:
	for (unsigned i = 0; i < nreq; i++)
		if (page[i] != NULL)
			hv_gnttab_unmap(w->w_gt, w->w_domid, req[i].gref);
	return rc;
}

/* nbw.h: frames while the tap has some and the ring has buffers. */
void
nbrx_kick(struct nbq *q)
{
	unsigned budget = NBW_BUDGET;
	int notify, rc = 1;

	if (q->q_w->w_broken)
		return;
	while (budget-- > 0) {
		if (q->q_rxlen == 0 && nbrx_posted(q) > NBRX_PAGES + 1 && nbrx_posted(q) <=
		    RING_SIZE(&q->q_rx)) {
			int d = nbrx_direct(q);
			if (d == 0)
				break;
			if (d == 1)
				continue;
			if (d < 0 && !nbrx_read(q))	/* a bad grant: the copying path says so */
				break;
		} else if (q->q_rxlen == 0 && !nbrx_read(q))
			break;
		if ((rc = nbrx_one(q)) <= 0)
			break;
	}
	if (rc < 0)
		return;
	if (rc > 0 && q->q_rx_stalled) {
		q->q_rx_stalled = false;
		event_add(q->q_tap_ev, NULL);
	}
	if (budget == (unsigned)-1)
		event_active(q->q_tap_ev, EV_READ, 0);	/* more later, others get a turn */
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->q_rx, notify);
	if (notify)
		nbworker_notify(q->q_rx_signal >= 0 ? q->q_rx_signal : q->q_tx_signal);
}

/* nbw.h */
void
nbrx_resume(struct nbq *q)
{
	if (q->q_rx_stalled) {
		q->q_rx_stalled = false;
		event_add(q->q_tap_ev, NULL);
	}
	nbrx_kick(q);
}
