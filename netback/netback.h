/*
 * What netback's daemon and its workers agree on: the limits it advertises
 * and the CONFIG and CONNECT blobs of the backend channel (common/backend_proto.h).
 */
#ifndef PVSTACK_NETBACK_H
#define PVSTACK_NETBACK_H

#include <stdint.h>

/*
 * multi-queue-max-queues, capped by the CPUs. Each queue has a tap fd in
 * CONFIG and up to two event channels (split) of two eventfds each in
 * CONNECT, and a message carries BACKEND_MAX_FDS descriptors: 2 queues.
 */
#define NETBACK_MAX_QUEUES	2
#define NETBACK_DEFAULT_BRIDGE	"xenbr0"
#define NETBACK_DEFAULT_MTU	1500
#define NETBACK_TAP_MAC		"fe:ff:ff:ff:ff:ff"	/* never the guest's: see docs/netback.md */
#define NETBACK_TX_COPY_LEN	256	/* header bytes copied privately before parsing */

/* Config flags. */
#define NETBACK_F_RATE		0x1	/* nc_credit_bytes per nc_credit_usec */

/* CONFIG descriptors: the domain's memory, then one tap fd per queue. */
enum { NETBACK_FD_MEM, NETBACK_FD_TAP0 };

struct netback_config {
	uint64_t nc_mem_pages;		/* the domain's memory (fds[NETBACK_FD_MEM]) */
	uint64_t nc_gnttab_pfn;
	uint32_t nc_gnttab_frames;
	uint32_t nc_ntaps;		/* tap fds after the memfd */
	uint32_t nc_mtu;
	uint32_t nc_flags;
	uint64_t nc_credit_bytes;
	uint64_t nc_credit_usec;
};

/* Frontend features a worker honours. */
#define NETBACK_FE_SG		0x1	/* feature-sg: frames over several RX slots */
#define NETBACK_FE_GSO_TCPV4	0x2	/* feature-gso-tcpv4: GSO extras on RX */
#define NETBACK_FE_RX_NOTIFY	0x4	/* feature-rx-notify: it signals new RX buffers */
#define NETBACK_FE_CSUM		0x8	/* no feature-no-csum-offload: partial checksums on RX */
#define NETBACK_FE_SPLIT	0x10	/* event-channel-tx and -rx */
#define NETBACK_FE_CSUM6	0x20	/* feature-ipv6-csum-offload: partial IPv6 checksums too */

struct netback_queue {
	uint32_t nq_tx_ref;
	uint32_t nq_rx_ref;
};

/* CONNECT: the rings; descriptors per queue: (wait, signal) of the one event
 * channel, or of the tx channel then the rx channel when split. */
struct netback_connect {
	uint32_t nk_nr_queues;
	uint32_t nk_features;		/* NETBACK_FE_* */
	struct netback_queue nk_queues[NETBACK_MAX_QUEUES];
};

struct backend_ops;
extern const struct backend_ops netback_ops;

#endif
