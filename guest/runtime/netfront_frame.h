/*
 * netif frames as netfront lays them over ring slots, and the checks of what
 * the backend answers. Pure: no grants, no ring pointers, so the layout rules
 * (netif.h "Guest transmit" / "Guest receive") are unit-tested on their own.
 *
 * TX: a frame goes from offset 0 of one page per slot; slot 0's size is the
 * whole frame, the others their fragment's, NETTXF_more_data on all but the
 * last. RX: each slot's status is its fragment's length, the frame is their
 * sum; a response sits in the ring slot of the request it answers, so its id
 * is known before it is read.
 */
#ifndef PVGUEST_NETFRONT_FRAME_H
#define PVGUEST_NETFRONT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xen_ring.h"
#include <xen/io/netif.h>

#define NETFRONT_PAGE		4096u
#define NETFRONT_FRAME_MAX	XEN_NETIF_MAX_TX_SIZE	/* 65535 */
#define NETFRONT_SLOTS_MAX	XEN_NETIF_NR_SLOTS_MIN	/* 18: what every backend takes */
#define NETFRONT_ETH_MIN	14			/* an Ethernet header */
#define NETFRONT_TX_FREE	0			/* tx id state: no request outstanding */
#define NETFRONT_TX_BUSY	1

/* Slots a frame of len bytes takes; -1 EMSGSIZE when it cannot go (shorter
 * than a header, longer than max, or over one page without sg). */
int netfront_tx_slots(size_t len, size_t max, bool sg);
/* Writes the nslots requests of a frame of len bytes: slot i from page refs[i]
 * with id ids[i]. */
void netfront_tx_build(netif_tx_request_t *reqs, size_t len, const grant_ref_t *refs,
    const uint16_t *ids);
/*
 * Makes the n requests netfront_tx_build wrote one TCP/IPv4 segment for the
 * backend to cut into mss-byte ones (feature-gso-tcpv4): slot 0 says
 * csum_blank (the checksum field holds the pseudo-header sum) and
 * extra_info, and a GSO extra goes in slot 1, the data slots after it.
 * reqs has room for n + 1; returns n + 1.
 */
unsigned netfront_tx_add_gso(netif_tx_request_t *reqs, unsigned n, uint16_t mss);
/*
 * Checks a TX response (copied out of the ring) against state[] (one byte per
 * id, NETFRONT_TX_BUSY while outstanding). Returns NETIF_RSP_OKAY, _ERROR,
 * _DROPPED or _NULL as the backend said, or NETFRONT_RSP_BAD when it is not
 * one we can take (an id never issued, a status netif.h does not define).
 * _NULL answers an extra-info slot, which has no id: its id is not checked.
 */
#define NETFRONT_RSP_BAD	(-3)
int netfront_tx_rsp_check(const netif_tx_response_t *rsp, const uint8_t *state, unsigned nids);

/* One received frame as its responses describe it. */
struct netfront_rx_frame {
	unsigned rf_slots;		/* ring slots it used (extras included) */
	unsigned rf_nfrags;
	struct { uint16_t id, offset, len; } rf_frags[NETFRONT_SLOTS_MAX];
	size_t rf_len;			/* bytes in all */
	int rf_status;			/* 0, or the NETIF_RSP_* that makes it a lost frame */
	const char *rf_why;		/* on -1: what was wrong */
};

/*
 * The frame starting at ring index first (rsps[0] is its response, avail
 * responses copied from there on), in a ring of size slots (a power of two)
 * where slot_ids[i & (size-1)] is the id of the request posted at index i.
 * Returns 1 with f filled, 0 when the frame's last response has not arrived
 * yet, -1 when the responses break netif.h (f->rf_why says how): an id that is
 * not its slot's request's, a fragment past its page, more_data without sg,
 * too many slots, a frame past 64 KiB.
 */
int netfront_rx_frame(const netif_rx_response_t *rsps, unsigned avail, RING_IDX first,
    unsigned size, const uint16_t *slot_ids, bool sg, struct netfront_rx_frame *f);

/* Which of nqueues queues carries a frame: its IPv4 addresses and ports
 * hashed, so one flow stays on one queue and flows spread. */
unsigned netfront_queue_pick(const uint8_t *frame, size_t len, unsigned nqueues);

#endif
