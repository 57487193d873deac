/*
 * pvguest's IPv4 stack, as small as answering and sending pings needs: one
 * net_if per connected netfront (named eth<handle>), its address from the
 * vif's ip key or the kernel's ip= argument, an ARP cache, answers to ARP
 * requests and ICMP echo requests for its address, and echo requests of our
 * own (net ping). Frames are handled on the event loop and never block: a
 * reply that finds its TX ring full is dropped, as a NIC would.
 */
#ifndef PVGUEST_NET_STACK_H
#define PVGUEST_NET_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "net_ip.h"
#include "netfront.h"

#define NET_ARP_MAX		16
#define NET_ARP_TRIES		3
#define NET_ARP_WAIT_MS		500

struct net_arp_entry {
	uint32_t ae_ip;		/* 0: free */
	uint8_t ae_mac[6];
	long long ae_seen_ms;
};

struct net_if {
	struct netfront *ni_nf;
	char ni_name[16];		/* eth<handle> */
	struct net_ip_cfg ni_ip;	/* ic_addr 0: none */
	const char *ni_ip_from;		/* "vif ip key", "ip= on the command line", or NULL */
	struct net_arp_entry ni_arp[NET_ARP_MAX];
	/* counters of the stack (netfront counts frames and bytes) */
	unsigned long long ni_arp_requests, ni_arp_replies, ni_echo_requests, ni_echo_replies;
	unsigned long long ni_not_ours, ni_ignored, ni_reply_dropped;
	/* the echo request in flight (net ping) */
	uint16_t ni_ping_id, ni_ping_seq;
	bool ni_ping_waiting, ni_ping_got;
	long long ni_ping_sent_ns, ni_ping_rtt_ns;
	uint8_t ni_ping_ttl;
	/* net recv's window: frames counted from the first to the last */
	bool ni_recv_on;
	unsigned long long ni_recv_frames, ni_recv_bytes;
	long long ni_recv_first_ns, ni_recv_last_ns;
};

/* Brings up the interfaces (netfront_bus) with the stack on top; report says
 * on the console what happens to each. */
int net_stack_init(struct guest *g, netfront_report_fn *report);
/* The interfaces up, i from 0 until NULL. */
struct net_if *net_stack_get(unsigned i);
/* An interface by name (eth0) or vif handle (0); NULL when none. */
struct net_if *net_stack_find(const char *name);
/* The interface and next hop for dst: the interface whose subnet holds it,
 * else one with a gateway; -1 EHOSTUNREACH (no address, no route). */
int net_stack_route(uint32_t dst, struct net_if **ni, uint32_t *nexthop);
/* The MAC of ip on ni's link, asking with ARP when the cache has none;
 * -1 EHOSTUNREACH after NET_ARP_TRIES unanswered requests. */
int net_stack_resolve(struct net_if *ni, uint32_t ip, uint8_t mac[6]);
/* One echo request of dlen data bytes to dst through mac; 0 with the
 * round trip in *rtt_ns and the reply's TTL, -1 ETIMEDOUT after timeout_ms. */
int net_stack_ping(struct net_if *ni, uint32_t dst, const uint8_t mac[6], uint16_t seq,
    size_t dlen, int timeout_ms, long long *rtt_ns, uint8_t *ttl);
/* A monotonic clock in nanoseconds, for round trips and rates. */
long long net_now_ns(void);

#endif
