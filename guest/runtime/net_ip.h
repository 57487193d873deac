/*
 * The packets pvguest's small IPv4 stack speaks, built and parsed: Ethernet,
 * ARP (RFC 826), IPv4 (RFC 791) with its header checksum (RFC 1071), ICMP
 * echo (RFC 792) and the UDP frames of the traffic generator. Also the
 * address settings: the vif's ip key and the kernel's ip= argument. Pure:
 * bytes in, bytes out, unit-tested on their own. Addresses are in network
 * byte order throughout.
 */
#ifndef PVGUEST_NET_IP_H
#define PVGUEST_NET_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ETH_HLEN	14
#define NET_ETH_MIN	60		/* shortest frame on the wire, without FCS */
#define NET_ARP_LEN	(NET_ETH_HLEN + 28)
#define NET_IP_HLEN	20
#define NET_ICMP_HLEN	8
#define NET_UDP_HLEN	8
#define NET_ETHERTYPE_IP	0x0800
#define NET_ETHERTYPE_ARP	0x0806
#define NET_ARP_REQUEST	1
#define NET_ARP_REPLY	2

extern const uint8_t net_broadcast[6];

/* An interface's addresses; 0 means none. */
struct net_ip_cfg {
	uint32_t ic_addr, ic_mask, ic_gw;
};

/* "a.b.c.d" into *addr; -1 when it is not one. */
int net_ip_parse_addr(const char *s, uint32_t *addr);
/* "a.b.c.d" of addr into buf (16 bytes). */
const char *net_ip_fmt(uint32_t addr, char *buf);
/*
 * The vif's ip key as the toolstack writes it: one address or several
 * separated by blanks, each perhaps with /prefix; the first is taken. -1 when
 * it does not start with an address.
 */
int net_ip_parse_vif(const char *s, struct net_ip_cfg *c);
/*
 * ip= in a kernel command line as xm wrote it: "ip=ADDR", or the kernel's
 * "ip=CLIENT:SERVER:GW:NETMASK:HOST:DEV:AUTOCONF" (fields may be empty).
 * Returns 1 with c filled, 0 when there is no static address (no ip=, or
 * dhcp/off), -1 when a field is not an address (*bad names it).
 */
int net_ip_parse_cmdline(const char *cmdline, struct net_ip_cfg *c, const char **bad);
/* The mask when none was given: the address's class, as ifconfig guessed it. */
uint32_t net_ip_default_mask(uint32_t addr);

/* RFC 1071 sum over len bytes, folded and complemented. */
uint16_t net_ip_csum(const void *data, size_t len);

/* Ethernet header at frame. */
void net_eth_build(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6], uint16_t type);
/* An ARP request or reply for IPv4 over Ethernet; returns its length (60, padded). */
size_t net_arp_build(uint8_t *frame, uint16_t op, const uint8_t sha[6], uint32_t spa,
    const uint8_t tha[6], uint32_t tpa, const uint8_t *eth_dst);

struct net_arp {
	uint16_t na_op;
	uint8_t na_sha[6];
	uint32_t na_spa, na_tpa;
};
/* An ARP packet for IPv4 over Ethernet in a frame; -1 when it is not one. */
int net_arp_parse(const uint8_t *frame, size_t len, struct net_arp *a);

/* An IPv4 packet in a frame, checked: version 4, header length and checksum,
 * total length within the frame, not a fragment. */
struct net_ipv4 {
	uint32_t ip_src, ip_dst;
	uint8_t ip_proto, ip_ttl;
	const uint8_t *ip_payload;
	size_t ip_plen;
};
int net_ipv4_parse(const uint8_t *frame, size_t len, struct net_ipv4 *p);
/* IPv4 header (no options) at pkt for plen bytes of payload. */
void net_ipv4_build(uint8_t *pkt, uint32_t src, uint32_t dst, uint8_t proto, size_t plen,
    uint16_t ident);

/* ICMP echo request (type 8) or reply (type 0) with id, seq and the data; the
 * whole frame (Ethernet, IPv4, ICMP); returns its length (at least 60). */
size_t net_icmp_echo_build(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6],
    uint32_t ip_src, uint32_t ip_dst, uint8_t type, uint16_t id, uint16_t seq,
    const void *data, size_t dlen);
struct net_icmp_echo {
	uint8_t ie_type;
	uint16_t ie_id, ie_seq;
	const uint8_t *ie_data;
	size_t ie_dlen;
};
/* An ICMP echo request or reply (checksum checked) in an IPv4 payload; -1 otherwise. */
int net_icmp_echo_parse(const struct net_ipv4 *p, struct net_icmp_echo *e);

/* A UDP datagram filling a frame of exactly size bytes (42 to 65535), ports
 * sport -> dport, checksum 0 (none, as IPv4 allows). Returns size, or 0 when
 * size cannot hold the headers. */
size_t net_udp_build(uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6],
    uint32_t ip_src, uint32_t ip_dst, uint16_t sport, uint16_t dport);
/*
 * An Ethernet/IPv4/TCP frame of size bytes (ACK|PSH, a byte pattern as
 * payload) for checksum offload: the TCP checksum field holds the
 * pseudo-header sum, as a frame sent with csum_blank (and cut by GSO) must.
 */
size_t net_tcp_build(uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6],
    uint32_t ip_src, uint32_t ip_dst, uint16_t sport, uint16_t dport);
#define NET_TCP_HLEN	20
/* Offset of the UDP source port in a frame built by net_udp_build (the TCP one too). */
#define NET_UDP_SPORT_OFF	(NET_ETH_HLEN + NET_IP_HLEN)

/* "00:16:3e:01:02:03" into mac; -1 when it is not that. */
int net_mac_parse(const char *s, uint8_t mac[6]);

#endif
