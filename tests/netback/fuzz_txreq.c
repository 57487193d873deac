/*
 * libFuzzer target for netback's TX request decoder and validator and its
 * header parser: the input is the device's limits, then up to TXREQ_SCAN ring
 * slots (then a frame's first bytes for txhdr_parse), as hostile as a
 * frontend can make them. Whatever the decoder accepts must describe a frame
 * that stays within each granted page and within its limits; otherwise we trap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "txreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct txpkt pkt;

/* What an accepted (or dropped) packet must satisfy. */
static void
fuzz_check(enum txreq_verdict v, unsigned avail, const struct txreq_limits *lim)
{
	uint32_t sum = 0;

	if (v == TXREQ_FATAL)
		return;
	if (pkt.nslots == 0 || pkt.nslots > avail || pkt.nslots > TXREQ_SCAN ||
	    pkt.nfrags > TXREQ_FATAL_SLOTS || pkt.slot[0].extra)
		__builtin_trap();
	if (v == TXREQ_DROP)
		return;
	if (pkt.nfrags > TXREQ_MAX_SLOTS || pkt.len < TXREQ_ETH_HLEN)
		__builtin_trap();
	for (unsigned i = 0; i < pkt.nfrags; i++) {
		if ((uint32_t)pkt.frag[i].offset + pkt.frag[i].len > TXREQ_PAGE)
			__builtin_trap();
		sum += pkt.frag[i].len;
	}
	if (sum != pkt.len)
		__builtin_trap();
	if (pkt.gso_type == XEN_NETIF_GSO_TYPE_NONE && pkt.len > lim->max_len)
		__builtin_trap();
	if (pkt.gso_type != XEN_NETIF_GSO_TYPE_NONE &&
	    (!lim->gso_tcpv4 || pkt.gso_type != XEN_NETIF_GSO_TYPE_TCPV4 || pkt.gso_size == 0))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union txreq_slot slots[TXREQ_SCAN];
	struct txreq_limits lim;
	struct txhdr h;
	unsigned avail;

	if (size < 4)
		return 0;
	lim.max_len = 60 + (((unsigned)data[0] << 8 | data[1]) % 65536);
	lim.gso_tcpv4 = data[2] & 1;
	data += 4;
	size -= 4;
	avail = size / sizeof(slots[0]);
	if (avail > TXREQ_SCAN)
		avail = TXREQ_SCAN;
	memcpy(slots, data, avail * sizeof(slots[0]));
	if (avail > 0)
		fuzz_check(txreq_decode(&pkt, slots, avail, &lim), avail, &lim);
	if (txhdr_parse(&h, data, size) == 0 &&
	    (h.hdr_len > size || h.l4_off >= h.hdr_len || h.l4_off + h.csum_off + 2u > h.hdr_len))
		__builtin_trap();
	return 0;
}
