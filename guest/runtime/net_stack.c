#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net_stack.h"
#include "xmalloc.h"

#define NET_STACK_MAX 16

static struct {
	struct guest *s_g;
	netfront_report_fn *s_report;
	struct net_if *s_ifs[NET_STACK_MAX];
	unsigned s_nifs;
	bool s_cmdline_used;		/* ip= went to an interface already */
} net_stack;

long long
net_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Remembers (or refreshes) ip's MAC; the oldest entry makes room. */
static void
net_stack_learn(struct net_if *ni, uint32_t ip, const uint8_t mac[6])
{
	struct net_arp_entry *slot = &ni->ni_arp[0];

	for (unsigned i = 0; i < NET_ARP_MAX; i++) {
		struct net_arp_entry *e = &ni->ni_arp[i];
		if (e->ae_ip == ip) {
			slot = e;
			break;
		}
		if (e->ae_seen_ms < slot->ae_seen_ms)
			slot = e;
	}
	slot->ae_ip = ip;
	memcpy(slot->ae_mac, mac, 6);
	slot->ae_seen_ms = events_now_ms();
}

/* ip's cache entry, or NULL. */
static struct net_arp_entry *
net_stack_lookup(struct net_if *ni, uint32_t ip)
{
	for (unsigned i = 0; i < NET_ARP_MAX; i++) {
		if (ni->ni_arp[i].ae_ip == ip && ip != 0)
			return &ni->ni_arp[i];
	}
	return NULL;
}

/* A reply from the event loop: queued, never waited for (dropped when full). */
static void
net_stack_reply(struct net_if *ni, const uint8_t *frame, size_t len)
{
	if (netfront_queue(ni->ni_nf, frame, len) < 0)
		ni->ni_reply_dropped++;
}

/* ARP: learn who asks us or answers us; answer a request for our address. */
static void
net_stack_arp(struct net_if *ni, const uint8_t *frame, size_t len)
{
	struct net_arp a;
	uint8_t out[NET_ETH_MIN];
	const uint8_t *mac = netfront_info(ni->ni_nf)->ni_mac;

	if (net_arp_parse(frame, len, &a) < 0) {
		ni->ni_ignored++;
		return;
	}
	bool for_us = ni->ni_ip.ic_addr != 0 && a.na_tpa == ni->ni_ip.ic_addr;
	if (a.na_spa != 0 && (for_us || net_stack_lookup(ni, a.na_spa) != NULL))
		net_stack_learn(ni, a.na_spa, a.na_sha);
	if (a.na_op != NET_ARP_REQUEST || !for_us)
		return;
	ni->ni_arp_requests++;
	size_t n = net_arp_build(out, NET_ARP_REPLY, mac, ni->ni_ip.ic_addr, a.na_sha, a.na_spa,
	    a.na_sha);
	net_stack_reply(ni, out, n);
	ni->ni_arp_replies++;
}

/* ICMP echo: answer requests for our address; match replies to net ping's request. */
static void
net_stack_icmp(struct net_if *ni, const uint8_t *frame, const struct net_ipv4 *ip)
{
	static uint8_t out[65536];
	struct net_icmp_echo e;

	if (net_icmp_echo_parse(ip, &e) < 0 || ni->ni_ip.ic_addr == 0 ||
	    ip->ip_dst != ni->ni_ip.ic_addr) {
		ni->ni_ignored++;
		return;
	}
	if (e.ie_type == 0) {
		if (ni->ni_ping_waiting && e.ie_id == ni->ni_ping_id && e.ie_seq == ni->ni_ping_seq &&
		    ip->ip_src != 0) {
			ni->ni_ping_rtt_ns = net_now_ns() - ni->ni_ping_sent_ns;
			ni->ni_ping_ttl = ip->ip_ttl;
			ni->ni_ping_got = true;
			ni->ni_ping_waiting = false;
		}
		return;
	}
	ni->ni_echo_requests++;
	size_t n = net_icmp_echo_build(out, frame + 6, netfront_info(ni->ni_nf)->ni_mac,
	    ni->ni_ip.ic_addr, ip->ip_src, 0, e.ie_id, e.ie_seq, e.ie_data, e.ie_dlen);
	net_stack_reply(ni, out, n);
	ni->ni_echo_replies++;
}

/* Every frame the interface receives. */
static void
net_stack_rx(struct netfront *nf, const uint8_t *frame, size_t len, void *arg)
{
	struct net_if *ni = arg;
	struct net_ipv4 ip;

	(void)nf;
	if (ni->ni_recv_on) {
		long long now = net_now_ns();
		if (ni->ni_recv_frames++ == 0)
			ni->ni_recv_first_ns = now;
		ni->ni_recv_last_ns = now;
		ni->ni_recv_bytes += len;
	}
	if (memcmp(frame, netfront_info(ni->ni_nf)->ni_mac, 6) != 0 &&
	    memcmp(frame, net_broadcast, 6) != 0) {
		ni->ni_not_ours++;
		return;
	}
	if (len >= NET_ETH_HLEN && frame[12] == 0x08 && frame[13] == 0x06)
		net_stack_arp(ni, frame, len);
	else if (net_ipv4_parse(frame, len, &ip) == 0 && ip.ip_proto == 1)
		net_stack_icmp(ni, frame, &ip);
	else
		ni->ni_ignored++;
}

/* The address: the vif's ip key, else ip= on the command line for the first
 * interface that has none of its own. */
static void
net_stack_address(struct net_if *ni)
{
	const struct netfront_info *info = netfront_info(ni->ni_nf);
	const char *cmdline = (const char *)net_stack.s_g->g_start.cmd_line, *bad = NULL;
	char a[16], m[16];

	if (info->ni_ip[0] != '\0') {
		if (net_ip_parse_vif(info->ni_ip, &ni->ni_ip) == 0)
			ni->ni_ip_from = "the vif's ip key";
		else
			net_stack.s_report(net_stack.s_g, "net: %s: vif ip key \"%s\" is not an IPv4 "
			    "address; trying ip= on the command line\n", ni->ni_name, info->ni_ip);
	}
	if (ni->ni_ip_from == NULL && !net_stack.s_cmdline_used) {
		int r = net_ip_parse_cmdline(cmdline, &ni->ni_ip, &bad);
		if (r < 0)
			net_stack.s_report(net_stack.s_g, "net: %s: command line: %s is not an IPv4 "
			    "address\n", ni->ni_name, bad);
		if (r > 0) {
			ni->ni_ip_from = "ip= on the command line";
			net_stack.s_cmdline_used = true;
		}
	}
	if (ni->ni_ip_from == NULL) {
		memset(&ni->ni_ip, 0, sizeof(ni->ni_ip));
		net_stack.s_report(net_stack.s_g, "net: %s: no address (no ip key in the vif, no ip= "
		    "on the command line)\n", ni->ni_name);
		return;
	}
	net_stack.s_report(net_stack.s_g, "net: %s: address %s netmask %s (%s)\n", ni->ni_name,
	    net_ip_fmt(ni->ni_ip.ic_addr, a), net_ip_fmt(ni->ni_ip.ic_mask, m), ni->ni_ip_from);
}

/* netfront_bus: an interface is connected. */
static void
net_stack_up(struct netfront *nf, void *arg)
{
	(void)arg;
	if (net_stack.s_nifs == NET_STACK_MAX)
		return;
	struct net_if *ni = xcalloc(1, sizeof(*ni));
	ni->ni_nf = nf;
	snprintf(ni->ni_name, sizeof(ni->ni_name), "eth%s", netfront_devid(nf));
	ni->ni_ping_id = (uint16_t)(0x7000 + net_stack.s_g->g_domid);
	net_stack.s_ifs[net_stack.s_nifs++] = ni;
	net_stack_address(ni);
	netfront_set_rx(nf, net_stack_rx, ni);
}

/* netfront_bus: an interface goes away. */
static void
net_stack_down(struct netfront *nf, void *arg)
{
	(void)arg;
	netfront_set_rx(nf, NULL, NULL);
	for (unsigned i = 0; i < net_stack.s_nifs; i++) {
		struct net_if *ni = net_stack.s_ifs[i];
		if (ni->ni_nf != nf)
			continue;
		if (ni->ni_ip_from != NULL && strcmp(ni->ni_ip_from, "ip= on the command line") == 0)
			net_stack.s_cmdline_used = false;
		memmove(&net_stack.s_ifs[i], &net_stack.s_ifs[i + 1],
		    (net_stack.s_nifs - i - 1) * sizeof(net_stack.s_ifs[0]));
		net_stack.s_nifs--;
		free(ni);
		return;
	}
}

int
net_stack_init(struct guest *g, netfront_report_fn *report)
{
	struct netfront_hooks h = { report, net_stack_up, net_stack_down, NULL };

	net_stack.s_g = g;
	net_stack.s_report = report;
	return netfront_bus_init(g, &h);
}

struct net_if *
net_stack_get(unsigned i)
{
	return i < net_stack.s_nifs ? net_stack.s_ifs[i] : NULL;
}

struct net_if *
net_stack_find(const char *name)
{
	for (unsigned i = 0; i < net_stack.s_nifs; i++) {
		struct net_if *ni = net_stack.s_ifs[i];
		if (strcmp(ni->ni_name, name) == 0 || strcmp(netfront_devid(ni->ni_nf), name) == 0)
			return ni;
	}
	return NULL;
}

int
net_stack_route(uint32_t dst, struct net_if **out, uint32_t *nexthop)
{
	struct net_if *gw = NULL;

	for (unsigned i = 0; i < net_stack.s_nifs; i++) {
		struct net_if *ni = net_stack.s_ifs[i];
		if (ni->ni_ip.ic_addr == 0)
			continue;
		if ((dst & ni->ni_ip.ic_mask) == (ni->ni_ip.ic_addr & ni->ni_ip.ic_mask)) {
			*out = ni;
			*nexthop = dst;
			return 0;
		}
		if (gw == NULL && ni->ni_ip.ic_gw != 0)
			gw = ni;
	}
	if (gw == NULL) {
		errno = EHOSTUNREACH;
		return -1;
	}
	*out = gw;
	*nexthop = gw->ni_ip.ic_gw;
	return 0;
}

struct net_stack_wait {
	struct net_if *w_ni;
	uint32_t w_ip;
};

/* events_wait condition: the cache has the address, or the interface stopped. */
static bool
net_stack_arp_done(void *arg)
{
	struct net_stack_wait *w = arg;

	return net_stack_lookup(w->w_ni, w->w_ip) != NULL || netfront_broken(w->w_ni->ni_nf);
}

int
net_stack_resolve(struct net_if *ni, uint32_t ip, uint8_t mac[6])
{
	static const uint8_t zero[6];
	struct net_stack_wait w = { ni, ip };
	uint8_t req[NET_ETH_MIN];

	for (int i = 0; i < NET_ARP_TRIES && net_stack_lookup(ni, ip) == NULL; i++) {
		size_t n = net_arp_build(req, NET_ARP_REQUEST, netfront_info(ni->ni_nf)->ni_mac,
		    ni->ni_ip.ic_addr, zero, ip, net_broadcast);
		if (netfront_send(ni->ni_nf, req, n) < 0)
			return -1;
		events_wait(net_stack.s_g->g_ev, net_stack_arp_done, &w, NET_ARP_WAIT_MS);
		if (netfront_broken(ni->ni_nf)) {
			errno = netfront_broken(ni->ni_nf);
			return -1;
		}
	}
	struct net_arp_entry *e = net_stack_lookup(ni, ip);
	if (e == NULL) {
		errno = EHOSTUNREACH;
		return -1;
	}
	memcpy(mac, e->ae_mac, 6);
	return 0;
}

/* events_wait condition: the echo reply came, or the interface stopped. */
static bool
net_stack_ping_done(void *arg)
{
	struct net_if *ni = arg;

	return ni->ni_ping_got || netfront_broken(ni->ni_nf);
}

int
net_stack_ping(struct net_if *ni, uint32_t dst, const uint8_t mac[6], uint16_t seq,
    size_t dlen, int timeout_ms, long long *rtt_ns, uint8_t *ttl)
{
	static uint8_t frame[65536], data[65536];

	if (dlen > netfront_max_frame(ni->ni_nf) - NET_ETH_HLEN - NET_IP_HLEN - NET_ICMP_HLEN) {
		errno = EMSGSIZE;
		return -1;
	}
	for (size_t i = 0; i < dlen; i++)
		data[i] = (uint8_t)(i + seq);
	size_t n = net_icmp_echo_build(frame, mac, netfront_info(ni->ni_nf)->ni_mac,
	    ni->ni_ip.ic_addr, dst, 8, ni->ni_ping_id, seq, data, dlen);
	ni->ni_ping_seq = seq;
	ni->ni_ping_got = false;
	ni->ni_ping_waiting = true;
	ni->ni_ping_sent_ns = net_now_ns();
	if (netfront_send(ni->ni_nf, frame, n) < 0) {
		ni->ni_ping_waiting = false;
		return -1;
	}
	int rc = events_wait(net_stack.s_g->g_ev, net_stack_ping_done, ni, timeout_ms);
	ni->ni_ping_waiting = false;
	if (rc < 0 || !ni->ni_ping_got) {
		errno = netfront_broken(ni->ni_nf) ? netfront_broken(ni->ni_nf) : ETIMEDOUT;
		return -1;
	}
	*rtt_ns = ni->ni_ping_rtt_ns;
	*ttl = ni->ni_ping_ttl;
	return 0;
}
