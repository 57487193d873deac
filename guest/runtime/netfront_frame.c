#include <errno.h>
#include <string.h>

#include "netfront_frame.h"

int
netfront_tx_slots(size_t len, size_t max, bool sg)
{
	if (len < NETFRONT_ETH_MIN || len > max || len > NETFRONT_FRAME_MAX ||
	    (!sg && len > NETFRONT_PAGE)) {
		errno = EMSGSIZE;
		return -1;
	}
	size_t n = (len + NETFRONT_PAGE - 1) / NETFRONT_PAGE;
	if (n > NETFRONT_SLOTS_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	return (int)n;
}

/* Each slot is built in a zeroed private copy and copied whole, so no stale
 * byte of an earlier request reaches the backend. */
void
netfront_tx_build(netif_tx_request_t *reqs, size_t len, const grant_ref_t *refs,
    const uint16_t *ids)
{
	unsigned n = (unsigned)((len + NETFRONT_PAGE - 1) / NETFRONT_PAGE);

	for (unsigned i = 0; i < n; i++) {
		netif_tx_request_t r;
		size_t left = len - (size_t)i * NETFRONT_PAGE;
		memset(&r, 0, sizeof(r));
		r.gref = refs[i];
		r.offset = 0;
		r.id = ids[i];
		r.size = (uint16_t)(i == 0 ? len : left < NETFRONT_PAGE ? left : NETFRONT_PAGE);
		r.flags = i + 1 < n ? NETTXF_more_data : 0;
		memcpy(&reqs[i], &r, sizeof(r));
	}
}

unsigned
netfront_tx_add_gso(netif_tx_request_t *reqs, unsigned n, uint16_t mss)
{
	netif_extra_info_t x;

	memmove(&reqs[2], &reqs[1], (n - 1) * sizeof(reqs[0]));
	reqs[0].flags |= NETTXF_csum_blank | NETTXF_data_validated | NETTXF_extra_info;
	memset(&x, 0, sizeof(x));
	x.type = XEN_NETIF_EXTRA_TYPE_GSO;
	x.u.gso.size = mss;
	x.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	_Static_assert(sizeof(x) <= sizeof(reqs[1]), "an extra fits in one request slot");
	memset(&reqs[1], 0, sizeof(reqs[1]));
	memcpy(&reqs[1], &x, sizeof(x));
	return n + 1;
}

int
netfront_tx_rsp_check(const netif_tx_response_t *rsp, const uint8_t *state, unsigned nids)
{
	if (rsp->status == NETIF_RSP_NULL)
		return NETIF_RSP_NULL;
	if (rsp->id >= nids || state[rsp->id] != NETFRONT_TX_BUSY)
		return NETFRONT_RSP_BAD;
	switch (rsp->status) {
	case NETIF_RSP_OKAY:
	case NETIF_RSP_ERROR:
	case NETIF_RSP_DROPPED:
	case NETIF_RSP_NULL:
		return rsp->status;
	default:
		return NETFRONT_RSP_BAD;
	}
}

/* Marks f broken with why; -1 for the caller to return. */
static int
netfront_rx_bad(struct netfront_rx_frame *f, const char *why)
{
	f->rf_why = why;
	return -1;
}

/* Extra-info slots after slot at (flags NETRXF_extra_info): they overlay
 * responses, chained by XEN_NETIF_EXTRA_FLAG_MORE; we asked for none, so an
 * unknown type loses the frame rather than the device. Returns the slots
 * they take, 0 when not all have arrived. */
static unsigned
netfront_rx_extras(const netif_rx_response_t *rsps, unsigned avail, unsigned at,
    struct netfront_rx_frame *f)
{
	unsigned n = 0;
	netif_extra_info_t x;

	do {
		if (at + 1 + n >= avail)
			return 0;
		memcpy(&x, &rsps[at + 1 + n], sizeof(x));
		n++;
		if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX)
			f->rf_status = NETIF_RSP_ERROR;
	} while ((x.flags & XEN_NETIF_EXTRA_FLAG_MORE) && n < NETFRONT_SLOTS_MAX);
	return n;
}

int
netfront_rx_frame(const netif_rx_response_t *rsps, unsigned avail, RING_IDX first,
    unsigned size, const uint16_t *slot_ids, bool sg, struct netfront_rx_frame *f)
{
	unsigned at = 0;

	memset(f, 0, sizeof(*f));
	for (;;) {
		if (at >= avail)
			return 0;
		const netif_rx_response_t *r = &rsps[at];
		if (r->id != slot_ids[(first + at) & (size - 1)])
			return netfront_rx_bad(f, "response id is not its slot's request's");
		if (f->rf_nfrags == NETFRONT_SLOTS_MAX)
			return netfront_rx_bad(f, "frame over more slots than netif allows");
		if (r->status < 0) {
			f->rf_status = r->status;
		} else if ((unsigned)r->offset + (unsigned)r->status > NETFRONT_PAGE) {
			return netfront_rx_bad(f, "fragment past the end of its page");
		} else {
			f->rf_frags[f->rf_nfrags].id = r->id;
			f->rf_frags[f->rf_nfrags].offset = r->offset;
			f->rf_frags[f->rf_nfrags].len = (uint16_t)r->status;
			f->rf_len += (size_t)r->status;
		}
		f->rf_nfrags++;
		if (f->rf_len > NETFRONT_FRAME_MAX)
			return netfront_rx_bad(f, "frame larger than 64 KiB");
		unsigned extras = 0;
		if (f->rf_nfrags == 1 && (r->flags & NETRXF_extra_info)) {
			extras = netfront_rx_extras(rsps, avail, at, f);
			if (extras == 0)
				return 0;
		}
		if ((r->flags & NETRXF_more_data) && !sg)
			return netfront_rx_bad(f, "more_data but we did not offer feature-sg");
		at += 1 + extras;
		if (!(r->flags & NETRXF_more_data))
			break;
	}
	f->rf_slots = at;
	if (f->rf_status == 0 && f->rf_len < NETFRONT_ETH_MIN)
		f->rf_status = NETIF_RSP_ERROR;
	return 1;
}

unsigned
netfront_queue_pick(const uint8_t *frame, size_t len, unsigned nqueues)
{
	uint32_t h = 2166136261u;

	if (nqueues <= 1 || len < 38 || frame[12] != 0x08 || frame[13] != 0x00)
		return 0;
	for (size_t i = 26; i < 38; i++)	/* IPv4 source, destination, first 4 bytes of L4 */
		h = (h ^ frame[i]) * 16777619u;
	return h % nqueues;
}
