/*
 * netfront: the guest's network interfaces over netif rings, on the frontend
 * handshake of frontend.c. It reads what the backend offers (rx-copy, which
 * it requires; sg; queues; split event channels), takes what it can use and
 * publishes a TX and an RX ring per queue.
 *
 * Buffers are persistent: each TX id and each RX slot has its own page,
 * granted once (TX read-only, RX writable) and reused for every frame. A
 * frame to send is copied into the pages of its slots; a received one is
 * handed to the rx callback from the pages (or gathered, when it came over
 * several slots) and the pages are posted again.
 *
 * Every response is copied out of the ring once and checked (a TX id we
 * issued and a status netif.h defines; an RX response in its own slot, within
 * its page, the frame within 64 KiB); a bad one stops the interface (EPROTO):
 * later sends fail, the guest carries on.
 */
#ifndef PVGUEST_NETFRONT_H
#define PVGUEST_NETFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

#define NETFRONT_MAX_QUEUES	4	/* queues we use when the backend offers more */
#define NETFRONT_BUFS_MAX	256	/* TX ids and RX slots per queue, at most (a ring's size) */
#define NETFRONT_CONNECT_MS	10000

/* What the backend offered and what we took of it. */
struct netfront_info {
	uint8_t ni_mac[6];
	unsigned ni_mtu;		/* frontend mtu key, default 1500 */
	bool ni_sg;			/* feature-sg: frames over several slots */
	bool ni_gso;			/* feature-gso-tcpv4 (with sg): netfront_queue_tso */
	bool ni_split;			/* feature-split-event-channels */
	unsigned ni_queues;		/* queues in use */
	unsigned ni_bufs;		/* TX ids and RX slots per queue */
	char ni_ip[64];			/* the backend's ip key (toolstack), "" when none */
};

/* Counters since connect. */
struct netfront_stats {
	unsigned long long ns_tx_frames, ns_tx_bytes, ns_tx_errors;	/* errors: ERROR/DROPPED answers */
	unsigned long long ns_rx_frames, ns_rx_bytes, ns_rx_errors;	/* errors: frames the backend lost */
	unsigned long long ns_tx_notify, ns_rx_notify;	/* notifications we sent */
	unsigned long long ns_events;			/* events we took */
	unsigned long long ns_queue_tx[NETFRONT_MAX_QUEUES];	/* frames per queue */
	unsigned long long ns_queue_rx[NETFRONT_MAX_QUEUES];
};

struct netfront;
/* A received frame, valid during the call only. */
typedef void netfront_rx_fn(struct netfront *nf, const uint8_t *frame, size_t len, void *arg);

/* Connects device/vif/<devid> (the backend must be in InitWait or later within
 * timeout_ms); NULL with errno and why says which key or step. */
struct netfront *netfront_open(struct guest *g, const char *devid, int timeout_ms, char *why,
    size_t len);
/* Walks the close handshake, frees rings and pages (a page the backend still
 * maps stays granted rather than reused). */
int netfront_close(struct netfront *nf, int timeout_ms);
const struct netfront_info *netfront_info(const struct netfront *nf);
const struct netfront_stats *netfront_stats(const struct netfront *nf);
const char *netfront_devid(const struct netfront *nf);
/* Who gets received frames (called from the event loop). */
void netfront_set_rx(struct netfront *nf, netfront_rx_fn *fn, void *arg);
/* 0, or the errno that stopped the interface; netfront_why says what happened. */
int netfront_broken(const struct netfront *nf);
const char *netfront_why(const struct netfront *nf);
/* Most bytes one frame may have: mtu + 14 (18 with a VLAN tag), never over 64 KiB. */
size_t netfront_max_frame(const struct netfront *nf);

/*
 * Copies a frame onto its queue's TX ring, not yet published (netfront_kick
 * does that, once per batch). -1 with EAGAIN when the ring has no free ids
 * (wait for completions: netfront_wait_tx), EMSGSIZE, or the errno that
 * stopped the interface.
 */
int netfront_queue(struct netfront *nf, const void *frame, size_t len);
/*
 * netfront_queue for one TCP/IPv4 segment of up to 64 KiB that the backend
 * cuts into mss-byte ones (ni_gso; EOPNOTSUPP without it). Its TCP checksum
 * field holds the pseudo-header sum (net_tcp_build): the backend fills it in.
 */
int netfront_queue_tso(struct netfront *nf, const void *frame, size_t len, uint16_t mss);
/* Publishes queued frames and notifies where ring.h says to. */
void netfront_kick(struct netfront *nf);
/* netfront_queue then netfront_kick; waits up to 1 s for room when the ring is full. */
int netfront_send(struct netfront *nf, const void *frame, size_t len);
/* Waits until every queue has room for the largest frame or ms pass; -1 ETIMEDOUT. */
int netfront_wait_tx(struct netfront *nf, int ms);
/* Waits until every frame sent has been answered (or ms pass, or it stops). */
int netfront_wait_tx_idle(struct netfront *nf, int ms);
/* TX requests outstanding. */
unsigned netfront_tx_inflight(const struct netfront *nf);

/* ---- the guest's interfaces (netfront_bus.c) ---- */

typedef void netfront_report_fn(struct guest *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An interface came up (connected) or is going away (before it closes). */
typedef void netfront_hook_fn(struct netfront *nf, void *arg);

struct netfront_hooks {
	netfront_report_fn *nh_report;	/* says what happens, on the console */
	netfront_hook_fn *nh_up;
	netfront_hook_fn *nh_down;
	void *nh_arg;
};

/*
 * Brings up every device/vif whose backend is ready now, and watches
 * device/vif and each backend's state, so interfaces whose backend comes
 * later, interfaces attached later and detached ones are handled from
 * xenbus_dispatch_watches().
 */
int netfront_bus_init(struct guest *g, const struct netfront_hooks *h);
/* The connected interfaces, in the order they came: i from 0 until NULL. */
struct netfront *netfront_bus_get(unsigned i);

#endif
