/* netfront's insides, shared by netfront.c (handshake, open and close),
 * netfront_ring.c (rings, buffers, frames in and out) and netfront_bus.c. */
#ifndef PVGUEST_NETFRONT_INT_H
#define PVGUEST_NETFRONT_INT_H

#include "frontend.h"
#include "netfront.h"
#include "netfront_frame.h"

/* A page granted to the backend once, reused for every frame. */
struct netfront_buf {
	void *nb_ptr;
	uint64_t nb_pfn;
	hv_gref_t nb_ref;		/* 0: not granted yet */
};

struct netfront_queue {
	struct netfront *q_nf;
	unsigned q_index;
	netif_tx_front_ring_t q_tx;
	netif_rx_front_ring_t q_rx;
	netif_tx_sring_t *q_tx_sring;
	netif_rx_sring_t *q_rx_sring;
	uint64_t q_tx_pfn, q_rx_pfn;
	hv_gref_t q_tx_ref, q_rx_ref;	/* 0 until granted */
	int q_tx_port, q_rx_port;	/* the same port unless split; -1 until allocated */
	struct netfront_buf *q_tx_bufs;	/* one per TX id */
	uint8_t *q_tx_state;		/* NETFRONT_TX_FREE / _BUSY per id */
	uint16_t *q_tx_free;		/* stack of free ids */
	unsigned q_tx_nfree;
	struct netfront_buf *q_rx_bufs;	/* ni_bufs pages, granted writable */
	uint16_t *q_rx_free;		/* stack of buffers not posted */
	unsigned q_rx_nfree;
	uint16_t q_rx_slot_id[NETFRONT_BUFS_MAX];	/* buffer posted at ring index i & 255 */
};

struct netfront {
	struct frontend nf_fe;
	struct guest *nf_g;
	char nf_devid[16];
	struct netfront_info nf_info;
	struct netfront_stats nf_stats;
	unsigned nf_max_queues;		/* offered: multi-queue-max-queues */
	unsigned nf_nqueues;
	struct netfront_queue nf_queues[NETFRONT_MAX_QUEUES];
	netfront_rx_fn *nf_rx;
	void *nf_rx_arg;
	uint8_t *nf_gather;		/* a frame that came over several slots, put together */
	int nf_broken;			/* errno that stopped the interface, or 0 */
	char nf_why[160];
};

/* netfront_ring.c */
int netfront_rings_init(struct netfront *nf);
/* Publishes ring refs and event channels of every queue in tx. */
int netfront_rings_publish(struct netfront *nf, xenbus_tx_t tx);
/* Frees rings and buffers; pages still mapped by the backend are kept. */
void netfront_rings_fini(struct netfront *nf);
/* Stops the interface: later sends fail with err. */
void netfront_stop(struct netfront *nf, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
