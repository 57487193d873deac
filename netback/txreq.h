/*
 * The TX request decoder and validator: the slots of one packet, copied out
 * of the shared ring once by the caller, are checked here with no access to
 * shared memory, so this can be unit tested and fuzzed alone (reference
 * devices.md §3.1, §3.4). A packet that breaks a rule a well-behaved
 * frontend never breaks is DROP (every slot answered NETIF_RSP_ERROR, the
 * device carries on); one that shows the ring itself is garbage is FATAL
 * (the VIF is disconnected with the reason).
 */
#ifndef PVSTACK_TXREQ_H
#define PVSTACK_TXREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/netif.h>

#define TXREQ_PAGE		4096u
#define TXREQ_ETH_HLEN		14
#define TXREQ_MAX_SLOTS		XEN_NETIF_NR_SLOTS_MIN	/* data slots a packet may use */
#define TXREQ_FATAL_SLOTS	20	/* more than this: the frontend is malicious */
#define TXREQ_MAX_EXTRAS	(XEN_NETIF_EXTRA_TYPE_MAX - 1)
/* Slots the caller copies ahead at most: enough to see any packet end or break a rule. */
#define TXREQ_SCAN		(1 + TXREQ_MAX_EXTRAS + TXREQ_FATAL_SLOTS)

/* A ring slot holds a request or, after one with NETTXF_extra_info, an extra. */
union txreq_slot {
	netif_tx_request_t req;
	netif_extra_info_t extra;
};

enum txreq_verdict {
	TXREQ_OK,
	TXREQ_DROP,		/* answer every slot with NETIF_RSP_ERROR */
	TXREQ_FATAL,		/* disconnect the VIF */
};

struct txreq_limits {
	uint32_t max_len;	/* a frame without GSO: MTU + Ethernet header (+ a VLAN tag) */
	bool gso_tcpv4;		/* we advertised feature-gso-tcpv4 */
};

struct txreq_frag {
	uint32_t gref;
	uint16_t offset;
	uint16_t len;
};

struct txpkt {
	unsigned nslots;		/* slots consumed: each gets one response */
	struct {
		uint16_t id;
		bool extra;		/* answered NETIF_RSP_NULL */
	} slot[TXREQ_SCAN];
	unsigned nfrags;
	struct txreq_frag frag[TXREQ_FATAL_SLOTS];
	uint32_t len;			/* the frame's total length */
	uint16_t flags;			/* NETTXF_csum_blank, NETTXF_data_validated */
	uint8_t gso_type;		/* XEN_NETIF_GSO_TYPE_*, NONE without a GSO extra */
	uint16_t gso_size;
	char why[96];			/* DROP or FATAL: the reason */
};

/*
 * Decodes the packet starting at s[0]; avail is how many slots the frontend
 * has produced from there (the caller passes at most TXREQ_SCAN of them).
 * p->nslots and p->slot are valid for OK and DROP.
 */
enum txreq_verdict txreq_decode(struct txpkt *p, const union txreq_slot *s, unsigned avail,
    const struct txreq_limits *lim);

/* Where a frame's headers end and how its checksum is placed (txhdr.c). */
struct txhdr {
	uint16_t l4_off;		/* csum_start */
	uint16_t csum_off;		/* from l4_off: 16 for TCP, 6 for UDP */
	uint16_t hdr_len;		/* up to the end of the TCP or UDP header */
	uint8_t l4_proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	bool ipv6;
};

/* Parses Ethernet (one VLAN tag), IPv4 or IPv6, TCP or UDP headers in a private
 * copy of the frame's first len bytes; -1 when they are not all there. */
int txhdr_parse(struct txhdr *h, const uint8_t *buf, size_t len);

#endif
