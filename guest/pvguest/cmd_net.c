/*
 * net: the guest's interfaces from the shell: their addresses, ping, and the
 * frame generator and counter the network benchmark drives.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_stack.h"
#include "pvguest.h"

#define CMD_NET_PING_MS		1000	/* wait for each echo reply */
#define CMD_NET_PING_DATA	56	/* ping's default */
#define CMD_NET_DISCARD		9	/* UDP port of the generated frames (discard) */
#define CMD_NET_FLOWS		64	/* source ports the generator cycles through */

/* The interface the user named, or a message. */
static struct net_if *
cmd_net_iface(struct shell *sh, const char *op, const char *name)
{
	struct net_if *ni = net_stack_find(name);

	if (ni == NULL)
		shell_printf(sh, "net %s: %s: no such interface (try net list)\n", op, name);
	return ni;
}

/* A decimal argument within [min, max]; -1 after saying which one is wrong. */
static int
cmd_net_number(struct shell *sh, const char *op, const char *what, const char *s,
    unsigned long long min, unsigned long long max, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || *v < min || *v > max) {
		shell_printf(sh, "net %s: %s: %s is not a number from %llu to %llu\n", op, what, s, min,
		    max);
		return -1;
	}
	return 0;
}

/* "00:16:3e:01:02:03" */
static const char *
cmd_net_mac(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static int
cmd_net_list_exec(struct shell *sh, int argc, char **argv)
{
	struct net_if *ni;
	char mac[24], ip[16], mask[16];

	(void)argc;
	(void)argv;
	if (net_stack_get(0) == NULL) {
		shell_printf(sh, "no interfaces\n");
		return 0;
	}
	shell_printf(sh, "%-6s %-6s %-17s %-15s %-15s %s\n", "IFACE", "HANDLE", "MAC", "IP",
	    "NETMASK", "STATE");
	for (unsigned i = 0; (ni = net_stack_get(i)) != NULL; i++) {
		const struct netfront_info *info = netfront_info(ni->ni_nf);
		bool has = ni->ni_ip.ic_addr != 0;
		shell_printf(sh, "%-6s %-6s %-17s %-15s %-15s ", ni->ni_name, netfront_devid(ni->ni_nf),
		    cmd_net_mac(info->ni_mac, mac, sizeof(mac)), has ? net_ip_fmt(ni->ni_ip.ic_addr, ip) :
		    "-", has ? net_ip_fmt(ni->ni_ip.ic_mask, mask) : "-");
		if (netfront_broken(ni->ni_nf))
			shell_printf(sh, "stopped (%s)\n", netfront_why(ni->ni_nf));
		else
			shell_printf(sh, "connected (mtu %u, queues %u, sg %s)\n", info->ni_mtu,
			    info->ni_queues, info->ni_sg ? "yes" : "no");
	}
	return 0;
}

static const struct shell_cmd cmd_net_list = {
	.sc_name = "list", .sc_usage = "", .sc_help = "interfaces: handle, MAC, address, state",
	.sc_min = 0, .sc_max = 0, .sc_exec = cmd_net_list_exec,
};

/* Round trips of a ping run, for the summary. */
struct cmd_net_rtt {
	unsigned long long sent, got;
	double min, max, sum, sum2;	/* ms */
};

static void
cmd_net_rtt_add(struct cmd_net_rtt *r, double ms)
{
	if (r->got == 0 || ms < r->min)
		r->min = ms;
	if (r->got == 0 || ms > r->max)
		r->max = ms;
	r->sum += ms;
	r->sum2 += ms * ms;
	r->got++;
}

/* ping's closing lines. */
static void
cmd_net_ping_summary(struct shell *sh, const char *dst, const struct cmd_net_rtt *r,
    long long ms)
{
	unsigned long long lost = r->sent - r->got;

	shell_printf(sh, "--- %s ping statistics ---\n", dst);
	shell_printf(sh, "%llu packets transmitted, %llu received, %llu%% packet loss, time %lldms\n",
	    r->sent, r->got, r->sent ? lost * 100 / r->sent : 0, ms);
	if (r->got == 0)
		return;
	double avg = r->sum / (double)r->got, var = r->sum2 / (double)r->got - avg * avg;
	shell_printf(sh, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", r->min, avg, r->max,
	    sqrt(var > 0 ? var : 0));
}

/* One echo after another, as soon as the last is answered (or lost). */
static void
cmd_net_ping_run(struct shell *sh, struct net_if *ni, uint32_t dst, const uint8_t mac[6],
    unsigned long long count, size_t dlen, struct cmd_net_rtt *r)
{
	char ip[16];

	for (unsigned long long seq = 1; seq <= count; seq++) {
		long long rtt;
		uint8_t ttl;
		r->sent++;
		if (net_stack_ping(ni, dst, mac, (uint16_t)seq, dlen, CMD_NET_PING_MS, &rtt, &ttl) < 0) {
			if (errno != ETIMEDOUT) {
				shell_printf(sh, "net ping: %s: %s\n", ni->ni_name, strerror(errno));
				return;
			}
			continue;
		}
		cmd_net_rtt_add(r, (double)rtt / 1e6);
		shell_printf(sh, "%zu bytes from %s: icmp_seq=%llu ttl=%u time=%.3f ms\n",
		    dlen + NET_ICMP_HLEN, net_ip_fmt(dst, ip), seq, ttl, (double)rtt / 1e6);
	}
}

static int
cmd_net_ping_exec(struct shell *sh, int argc, char **argv)
{
	unsigned long long count = 4, size = CMD_NET_PING_DATA;
	struct cmd_net_rtt r = { 0 };
	struct net_if *ni;
	uint32_t dst, hop;
	uint8_t mac[6];
	char ip[16];

	if (net_ip_parse_addr(argv[1], &dst) < 0) {
		shell_printf(sh, "net ping: %s: not an IPv4 address\n", argv[1]);
		return -1;
	}
	if ((argc > 2 && cmd_net_number(sh, "ping", "COUNT", argv[2], 1, 100000, &count) < 0) ||
	    (argc > 3 && cmd_net_number(sh, "ping", "SIZE", argv[3], 0, 65000, &size) < 0))
		return -1;
	if (net_stack_route(dst, &ni, &hop) < 0) {
		shell_printf(sh, "net ping: %s: no route (no interface with an address on its "
		    "subnet, no gateway)\n", argv[1]);
		return -1;
	}
	shell_printf(sh, "PING %s (%s) %llu(%llu) bytes of data.\n", argv[1], net_ip_fmt(dst, ip),
	    size, size + NET_ICMP_HLEN + NET_IP_HLEN);
	long long start = events_now_ms();
	int rc = net_stack_resolve(ni, hop, mac);
	if (rc < 0 && errno != EHOSTUNREACH) {
		shell_printf(sh, "net ping: %s: %s\n", ni->ni_name, strerror(errno));
		return -1;
	}
	if (rc < 0) {
		shell_printf(sh, "From %s: Destination Host Unreachable (no ARP answer for %s)\n",
		    net_ip_fmt(ni->ni_ip.ic_addr, ip), argv[1]);
		r.sent = count;
	} else {
		cmd_net_ping_run(sh, ni, dst, mac, count, (size_t)size, &r);
	}
	cmd_net_ping_summary(sh, argv[1], &r, events_now_ms() - start);
	return r.got > 0 ? 0 : -1;
}

static const struct shell_cmd cmd_net_ping = {
	.sc_name = "ping", .sc_usage = "ADDR [COUNT [SIZE]]",
	.sc_help = "COUNT echo requests (default 4) of SIZE data bytes (default 56), ping's summary",
	.sc_min = 1, .sc_max = 3, .sc_exec = cmd_net_ping_exec,
};

/* The closing line the benchmark reads. */
static void
cmd_net_rate(struct shell *sh, unsigned long long frames, unsigned long long bytes, long long ns)
{
	double secs = ns > 0 ? (double)ns / 1e9 : 1e-9;

	shell_printf(sh, "frames %llu fps %.0f Mbit/s %.1f\n", frames, (double)frames / secs,
	    (double)bytes * 8 / secs / 1e6);
}

/* Queues count frames, refilling the rings from the completions; 0, or -1 with errno. */
static int
cmd_net_send_run(struct net_if *ni, uint8_t *frame, size_t size, uint16_t mss,
    unsigned long long count, unsigned long long *sent)
{
	for (*sent = 0; *sent < count;) {
		uint16_t sport = (uint16_t)(1024 + *sent % CMD_NET_FLOWS);
		frame[NET_UDP_SPORT_OFF] = (uint8_t)(sport >> 8);
		frame[NET_UDP_SPORT_OFF + 1] = (uint8_t)sport;
		if ((mss ? netfront_queue_tso(ni->ni_nf, frame, size, mss) :
		    netfront_queue(ni->ni_nf, frame, size)) == 0) {
			(*sent)++;
			continue;
		}
		if (errno != EAGAIN)
			return -1;
		netfront_kick(ni->ni_nf);
		if (netfront_wait_tx(ni->ni_nf, 5000) < 0)
			return -1;
	}
	netfront_kick(ni->ni_nf);
	return 0;
}

static int
cmd_net_send_exec(struct shell *sh, int argc, char **argv)
{
	struct net_if *ni = cmd_net_iface(sh, "send", argv[1]);
	unsigned long long count, size, sent;
	uint8_t dst[6];
	static uint8_t frame[65536];
	uint16_t mss = 0;

	if (ni == NULL || cmd_net_number(sh, "send", "COUNT", argv[2], 1, 1ull << 40, &count) < 0)
		return -1;
	const struct netfront_info *info = netfront_info(ni->ni_nf);
	size_t max = netfront_max_frame(ni->ni_nf);
	if (cmd_net_number(sh, "send", "SIZE", argv[3], 42, info->ni_gso ? 65535 : max, &size) < 0)
		return -1;
	memcpy(dst, net_broadcast, 6);
	if (argc > 4 && (net_mac_parse(argv[4], dst) < 0)) {
		shell_printf(sh, "net send: %s: not a MAC address\n", argv[4]);
		return -1;
	}
	if (size > max) {
		/* one TCP segment for the backend to cut at the MTU (feature-gso-tcpv4) */
		mss = (uint16_t)(info->ni_mtu - NET_IP_HLEN - NET_TCP_HLEN);
		net_tcp_build(frame, (size_t)size, dst, info->ni_mac, ni->ni_ip.ic_addr,
		    0xffffffffu, 1024, CMD_NET_DISCARD);
	} else
		net_udp_build(frame, (size_t)size, dst, info->ni_mac, ni->ni_ip.ic_addr,
		    0xffffffffu, 1024, CMD_NET_DISCARD);
	unsigned long long errs = netfront_stats(ni->ni_nf)->ns_tx_errors;
	long long start = net_now_ns();
	int rc = cmd_net_send_run(ni, frame, (size_t)size, mss, count, &sent);
	int err = errno;
	netfront_wait_tx_idle(ni->ni_nf, 5000);
	long long ns = net_now_ns() - start;
	if (rc == 0 && netfront_broken(ni->ni_nf)) {	/* stopped by an answer to what went out */
		rc = -1;
		err = netfront_broken(ni->ni_nf);
	}
	if (rc < 0)
		shell_printf(sh, "net send: %s: %s after %llu frames\n", ni->ni_name, strerror(err), sent);
	shell_printf(sh, "net send: %s: %llu frames of %llu bytes in %.3f ms, %llu refused by the "
	    "backend\n", ni->ni_name, sent, size, (double)ns / 1e6,
	    netfront_stats(ni->ni_nf)->ns_tx_errors - errs);
	cmd_net_rate(sh, sent, sent * size, ns);
	return rc;
}

static const struct shell_cmd cmd_net_send = {
	.sc_name = "send", .sc_usage = "IFACE COUNT SIZE [DST-MAC]",
	.sc_help = "COUNT UDP frames of SIZE bytes (broadcast unless DST-MAC); a SIZE past "
	    "the MTU is one TCP segment the backend cuts (feature-gso-tcpv4); "
	    "ends with frames n fps f Mbit/s m",
	.sc_min = 3, .sc_max = 4, .sc_exec = cmd_net_send_exec,
};

struct cmd_net_recv {
	struct net_if *r_ni;
	unsigned long long r_want;	/* 0: the whole window */
};

/* events_wait condition: COUNT frames in, or the interface stopped. */
static bool
cmd_net_recv_done(void *arg)
{
	struct cmd_net_recv *r = arg;

	return (r->r_want > 0 && r->r_ni->ni_recv_frames >= r->r_want) ||
	    netfront_broken(r->r_ni->ni_nf);
}

static int
cmd_net_recv_exec(struct shell *sh, int argc, char **argv)
{
	struct cmd_net_recv r = { cmd_net_iface(sh, "recv", argv[1]), 0 };
	unsigned long long secs;
	struct net_if *ni = r.r_ni;

	if (ni == NULL || cmd_net_number(sh, "recv", "SECONDS", argv[2], 1, 3600, &secs) < 0 ||
	    (argc > 3 && cmd_net_number(sh, "recv", "COUNT", argv[3], 1, 1ull << 40, &r.r_want) < 0))
		return -1;
	ni->ni_recv_frames = ni->ni_recv_bytes = 0;
	ni->ni_recv_on = true;
	long long start = net_now_ns();
	events_wait(pvguest_guest(sh)->g_ev, cmd_net_recv_done, &r, (int)secs * 1000);
	ni->ni_recv_on = false;
	long long window = net_now_ns() - start;
	long long active = ni->ni_recv_frames > 1 ? ni->ni_recv_last_ns - ni->ni_recv_first_ns :
	    window;
	/* the rate over the frames' own span: a window longer than the burst
	 * would understate it; n frames span n-1 gaps */
	unsigned long long n = ni->ni_recv_frames;
	shell_printf(sh, "net recv: %s: %llu frames, %llu bytes in %.3f ms (first to last %.3f ms)\n",
	    ni->ni_name, n, ni->ni_recv_bytes, (double)window / 1e6, (double)active / 1e6);
	if (n > 1)
		cmd_net_rate(sh, n, ni->ni_recv_bytes, active * (long long)n / (long long)(n - 1));
	else
		cmd_net_rate(sh, n, ni->ni_recv_bytes, window);
	return netfront_broken(ni->ni_nf) ? -1 : 0;
}

static const struct shell_cmd cmd_net_recv = {
	.sc_name = "recv", .sc_usage = "IFACE SECONDS [COUNT]",
	.sc_help = "counts frames for SECONDS (or until COUNT); ends with frames n fps f Mbit/s m",
	.sc_min = 2, .sc_max = 3, .sc_exec = cmd_net_recv_exec,
};

static int
cmd_net_stats_exec(struct shell *sh, int argc, char **argv)
{
	struct net_if *ni;

	(void)argc;
	(void)argv;
	if (net_stack_get(0) == NULL) {
		shell_printf(sh, "no interfaces\n");
		return 0;
	}
	for (unsigned i = 0; (ni = net_stack_get(i)) != NULL; i++) {
		const struct netfront_stats *s = netfront_stats(ni->ni_nf);
		unsigned nq = netfront_info(ni->ni_nf)->ni_queues;
		shell_printf(sh, "%s: rx frames %llu bytes %llu errors %llu; tx frames %llu bytes %llu "
		    "errors %llu\n", ni->ni_name, s->ns_rx_frames, s->ns_rx_bytes, s->ns_rx_errors,
		    s->ns_tx_frames, s->ns_tx_bytes, s->ns_tx_errors);
		shell_printf(sh, "%s: events %llu, notifications tx %llu rx %llu\n", ni->ni_name,
		    s->ns_events, s->ns_tx_notify, s->ns_rx_notify);
		for (unsigned q = 0; q < nq; q++)
			shell_printf(sh, "%s: queue %u: tx frames %llu rx frames %llu\n", ni->ni_name, q,
			    s->ns_queue_tx[q], s->ns_queue_rx[q]);
		shell_printf(sh, "%s: arp requests answered %llu, echo requests answered %llu, "
		    "replies dropped %llu, not ours %llu, ignored %llu\n", ni->ni_name,
		    ni->ni_arp_replies, ni->ni_echo_replies, ni->ni_reply_dropped, ni->ni_not_ours,
		    ni->ni_ignored);
	}
	return 0;
}

static const struct shell_cmd cmd_net_stats = {
	.sc_name = "stats", .sc_usage = "", .sc_help = "counters of every interface and queue",
	.sc_min = 0, .sc_max = 0, .sc_exec = cmd_net_stats_exec,
};

static const struct shell_cmd *const cmd_net_sub[] = {
	&cmd_net_list, &cmd_net_ping, &cmd_net_send, &cmd_net_recv, &cmd_net_stats, NULL,
};

const struct shell_cmd cmd_net = {
	.sc_name = "net", .sc_usage = "list|ping|send|recv|stats",
	.sc_help = "the guest's network interfaces", .sc_min = 1, .sc_max = -1, .sc_sub = cmd_net_sub,
};
