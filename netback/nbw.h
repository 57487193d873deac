/* A netback worker's state, shared by its files (worker side only). */
#ifndef PVSTACK_NBW_H
#define PVSTACK_NBW_H

#include <stdbool.h>
#include <stdint.h>

#include "xen_ring.h"
#include <xen/io/netif.h>

#include "nbrate.h"
#include "netback.h"
#include "txreq.h"

#define NBW_RING_PAGE	4096u
#define NBW_TX_RING	__CONST_RING_SIZE(netif_tx, NBW_RING_PAGE)
#define NBW_BUDGET	64		/* frames per direction per turn of the loop */
#define NBW_RX_POLL_MS	10		/* without feature-rx-notify: how often we look for buffers */
#define NBW_RXBUF	(12 + 65536 + 4096)	/* virtio-net header and the largest GSO frame */

struct backend_worker;
struct event;
struct hv;
struct hv_gnttab;
struct nbw;

/* One queue: a TX ring, an RX ring, one tap queue. */
struct nbq {
	struct nbw *q_w;
	unsigned q_idx;
	int q_tap;			/* the worker's tap fd of this queue (not owned) */
	netif_tx_back_ring_t q_tx;
	netif_rx_back_ring_t q_rx;
	uint32_t q_tx_ref, q_rx_ref;
	bool q_tx_mapped, q_rx_mapped;
	int q_tx_wait, q_tx_signal;	/* the one channel, or the tx one when split */
	int q_rx_wait, q_rx_signal;	/* -1 unless split */
	struct event *q_tx_ev, *q_rx_ev, *q_tap_ev, *q_rate_ev, *q_poll_ev;
	bool q_rx_stalled;		/* no RX buffers: the tap is not read until some come */
	/* TX slots copied out of the shared ring, each exactly once */
	union txreq_slot q_txcopy[NBW_TX_RING];
	RING_IDX q_tx_copied;
	struct txpkt q_pkt;
	uint8_t q_hdr[NETBACK_TX_COPY_LEN];
	/* the frame read from the tap and not yet delivered */
	uint8_t *q_rxbuf;
	size_t q_rxlen;			/* 0: none held */
	unsigned q_rx_big;		/* frames still to read with room for a whole segment */
	uint64_t q_tx_frames, q_tx_dropped, q_rx_frames, q_rx_dropped;
};

struct nbw {
	struct backend_worker *w_w;
	uint32_t w_domid;
	struct hv *w_hv;
	struct hv_gnttab *w_gt;
	int w_taps[NETBACK_MAX_QUEUES];
	unsigned w_ntaps;
	unsigned w_mtu;
	struct nbrate w_rate;
	struct netback_config w_cfg;
	uint32_t w_features;		/* NETBACK_FE_* of the connected frontend */
	struct txreq_limits w_lim;
	struct nbq *w_q[NETBACK_MAX_QUEUES];
	unsigned w_nq;
	bool w_broken;			/* a ring was malformed: serve nothing more */
};

/* nbworker.c */
/* The frontend broke a ring: stop serving, tell the daemon (which closes the VIF). */
void nbworker_broken(struct nbw *w, unsigned q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Monotonic microseconds, for the rate limit. */
uint64_t nbworker_now_us(void);
/* One event to the frontend on an eventfd. */
void nbworker_notify(int signal_fd);

/* nbtx.c: guest to tap. */
void nbtx_kick(struct nbq *q);
/* nbrx.c: tap to guest. */
void nbrx_kick(struct nbq *q);
/* The frontend posted buffers (or might have): read the tap again. */
void nbrx_resume(struct nbq *q);

#endif
