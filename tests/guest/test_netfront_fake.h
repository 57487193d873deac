/*
 * A small netback played by the test, for netfront's tests before (and
 * besides) the real one: it maps the guest's TX and RX rings and buffers with
 * its own libhv handles and serves them from a thread. Frames the guest sends
 * are put together from their slots, kept for the test to look at, and
 * answered when they are for the peer it plays (ARP and ICMP echo for
 * FNB_PEER_IP); frames the test injects go onto the guest's RX ring over as
 * many slots as they need.
 */
#ifndef PVSTACK_TEST_NETFRONT_FAKE_H
#define PVSTACK_TEST_NETFRONT_FAKE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gt_fake.h"
#include "libhv.h"
#include "xen_ring.h"
#include <xen/io/netif.h>

#define FNB_MAX_QUEUES	4
#define FNB_CACHE	4096
#define FNB_KEEP	64		/* frames kept for the test */
#define FNB_INJECT	1024		/* frames waiting to go to the guest */
#define FNB_PEER_IP	"10.0.0.1"
#define FNB_PEER_MAC	{ 0x02, 0, 0, 0, 0, 0x01 }

struct fnb_frame {
	uint16_t ff_len;
	uint8_t ff_data[65536];
};

struct fnb_queue {
	netif_tx_back_ring_t fq_tx;
	netif_rx_back_ring_t fq_rx;
	hv_gref_t fq_tx_ref, fq_rx_ref;
	void *fq_tx_ring, *fq_rx_ring;
	int fq_tx_lport, fq_rx_lport;
	atomic_ulong fq_tx_frames, fq_rx_frames;
};

struct fnb {
	/* what the backend offers, set before fnb_connect */
	unsigned f_max_queues;
	bool f_sg, f_split;
	unsigned long f_bad_id_at;	/* answer the n-th TX response (from 1) with a bogus id */

	struct gt_fake f_fake;		/* handles, kept grants, the thread */
	unsigned f_nqueues;
	struct fnb_queue f_q[FNB_MAX_QUEUES];

	pthread_mutex_t f_lock;
	struct fnb_frame *f_kept;	/* FNB_KEEP frames the guest sent, in order */
	unsigned f_nkept;
	struct fnb_frame *f_inject;	/* FNB_INJECT frames for the guest */
	unsigned f_inject_head, f_inject_tail;

	atomic_ulong f_tx_frames, f_tx_bytes, f_tx_responses, f_max_slots, f_rx_frames;
	atomic_ulong f_arp_answered, f_echo_answered, f_rx_dropped;
};

/* Offers every feature (2 queues, sg, split channels) unless the test changes f_*. */
void fnb_init(struct fnb *f);
/* Maps the rings the frontend published (keys read with get(arg, key), key
 * relative to the frontend dir), binds its ports, starts serving. */
void fnb_connect(struct fnb *f, hv_domid_t domid, const char *sock, gt_fake_get_fn *get,
    void *arg);
/* Queues a frame for the guest's RX ring. */
void fnb_inject(struct fnb *f, const void *frame, size_t len);
/* Copies the i-th frame the guest sent (kept ones only); its length or -1. */
int fnb_kept(struct fnb *f, unsigned i, void *buf, size_t len);
unsigned fnb_nkept(struct fnb *f);
/* Stops serving and unmaps everything. */
void fnb_stop(struct fnb *f);
void fnb_fini(struct fnb *f);

#endif
