/*
 * Where a guest frame's transport header is, for the tap's virtio-net header:
 * a frame with csum_blank needs csum_start/csum_offset, a GSO frame also the
 * length of its headers. Parsed from a private copy only, so a guest that
 * rewrites its page meanwhile can only spoil its own frame.
 */
#include <netinet/in.h>
#include <string.h>

#include "txreq.h"

#define TXHDR_ETH_P_IP		0x0800
#define TXHDR_ETH_P_IPV6	0x86dd
#define TXHDR_ETH_P_8021Q	0x8100

/* A big-endian 16-bit field. */
static unsigned
txhdr_be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The IPv4 header at off: its protocol and length; -1 when it is not a first fragment. */
static int
txhdr_ipv4(const uint8_t *buf, size_t len, size_t off, uint8_t *proto, size_t *l4)
{
	unsigned ihl;

	if (len < off + 20 || (buf[off] >> 4) != 4)
		return -1;
	ihl = (buf[off] & 0xf) * 4u;
	if (ihl < 20 || (txhdr_be16(buf + off + 6) & 0x1fff) != 0)
		return -1;
	*proto = buf[off + 9];
	*l4 = off + ihl;
	return 0;
}

/* The IPv6 header at off, without extension headers. */
static int
txhdr_ipv6(const uint8_t *buf, size_t len, size_t off, uint8_t *proto, size_t *l4)
{
	if (len < off + 40 || (buf[off] >> 4) != 6)
		return -1;
	*proto = buf[off + 6];
	*l4 = off + 40;
	return 0;
}

/* The transport header at l4. */
static int
txhdr_l4(struct txhdr *h, const uint8_t *buf, size_t len, uint8_t proto, size_t l4)
{
	size_t end;

	if (l4 > UINT16_MAX - 60)
		return -1;
	if (proto == IPPROTO_TCP) {
		if (len < l4 + 20 || (buf[l4 + 12] >> 4) < 5)
			return -1;
		end = l4 + (buf[l4 + 12] >> 4) * 4u;
		h->csum_off = 16;
	} else if (proto == IPPROTO_UDP) {
		end = l4 + 8;
		h->csum_off = 6;
	} else
		return -1;
	if (len < end)
		return -1;
	h->l4_proto = proto;
	h->l4_off = l4;
	h->hdr_len = end;
	return 0;
}

/* txreq.h */
int
txhdr_parse(struct txhdr *h, const uint8_t *buf, size_t len)
{
	size_t off = TXREQ_ETH_HLEN, l4;
	unsigned type;
	uint8_t proto;

	memset(h, 0, sizeof(*h));
	if (len < TXREQ_ETH_HLEN)
		return -1;
	type = txhdr_be16(buf + 12);
	if (type == TXHDR_ETH_P_8021Q) {
		if (len < off + 4)
			return -1;
		type = txhdr_be16(buf + 16);
		off += 4;
	}
	if (type == TXHDR_ETH_P_IP) {
		if (txhdr_ipv4(buf, len, off, &proto, &l4) < 0)
			return -1;
	} else if (type == TXHDR_ETH_P_IPV6) {
		if (txhdr_ipv6(buf, len, off, &proto, &l4) < 0)
			return -1;
		h->ipv6 = true;
	} else
		return -1;
	return txhdr_l4(h, buf, len, proto, l4);
}
