#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_ip.h"

const uint8_t net_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Big-endian 16 bits at p (frames are unaligned byte arrays). */
static uint16_t
net_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
net_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int
net_ip_parse_addr(const char *s, uint32_t *addr)
{
	unsigned b[4];
	int n = 0;

	if (sscanf(s, "%3u.%3u.%3u.%3u%n", &b[0], &b[1], &b[2], &b[3], &n) != 4 || s[n] != '\0' ||
	    b[0] > 255 || b[1] > 255 || b[2] > 255 || b[3] > 255 || s[0] < '0' || s[0] > '9')
		return -1;
	uint8_t bytes[4] = { (uint8_t)b[0], (uint8_t)b[1], (uint8_t)b[2], (uint8_t)b[3] };
	memcpy(addr, bytes, 4);
	return 0;
}

const char *
net_ip_fmt(uint32_t addr, char *buf)
{
	uint8_t b[4];

	memcpy(b, &addr, 4);
	snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return buf;
}

uint32_t
net_ip_default_mask(uint32_t addr)
{
	uint8_t first;

	memcpy(&first, &addr, 1);
	return htonl(first < 128 ? 0xff000000u : first < 192 ? 0xffff0000u : 0xffffff00u);
}

int
net_ip_parse_vif(const char *s, struct net_ip_cfg *c)
{
	char word[64];
	size_t n = strcspn(s + strspn(s, " \t"), " \t,");

	s += strspn(s, " \t");
	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(word))
		return -1;
	memcpy(word, s, n);
	word[n] = '\0';
	char *slash = strchr(word, '/');
	if (slash != NULL) {
		char *end;
		*slash = '\0';
		long prefix = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || prefix < 1 || prefix > 32)
			return -1;
		c->ic_mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	}
	if (net_ip_parse_addr(word, &c->ic_addr) < 0)
		return -1;
	if (c->ic_mask == 0)
		c->ic_mask = net_ip_default_mask(c->ic_addr);
	return 0;
}

/* Field i (0-based) of a ':'-separated list into buf ("" when absent). */
static void
net_ip_field(const char *s, int i, char *buf, size_t len)
{
	for (; i > 0 && s != NULL; i--) {
		s = strchr(s, ':');
		if (s != NULL)
			s++;
	}
	size_t n = s == NULL ? 0 : strcspn(s, ":");
	if (n >= len)
		n = len - 1;
	memcpy(buf, s ? s : "", n);
	buf[n] = '\0';
}

int
net_ip_parse_cmdline(const char *cmdline, struct net_ip_cfg *c, const char **bad)
{
	static const char *const names[] = { "ip= client address", "ip= server", "ip= gateway",
	    "ip= netmask" };
	char arg[256], f[64];
	const char *at;

	memset(c, 0, sizeof(*c));
	for (at = strstr(cmdline, "ip="); at != NULL; at = strstr(at + 1, "ip=")) {
		if (at == cmdline || at[-1] == ' ')
			break;
	}
	if (at == NULL)
		return 0;
	at += 3;
	size_t n = strcspn(at, " ");
	if (n >= sizeof(arg))
		n = sizeof(arg) - 1;
	memcpy(arg, at, n);
	arg[n] = '\0';
	uint32_t *dst[] = { &c->ic_addr, NULL, &c->ic_gw, &c->ic_mask };
	for (int i = 0; i < 4; i++) {
		net_ip_field(arg, i, f, sizeof(f));
		if (i == 0 && (strcmp(f, "dhcp") == 0 || strcmp(f, "off") == 0 ||
		    strcmp(f, "none") == 0 || strcmp(f, "bootp") == 0 || strcmp(f, "any") == 0))
			return 0;
		if (f[0] == '\0' || dst[i] == NULL)
			continue;
		if (net_ip_parse_addr(f, dst[i]) < 0) {
			*bad = names[i];
			return -1;
		}
	}
	if (c->ic_addr == 0)
		return 0;
	if (c->ic_mask == 0)
		c->ic_mask = net_ip_default_mask(c->ic_addr);
	return 1;
}

uint16_t
net_ip_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void
net_eth_build(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	net_put16(frame + 12, type);
}

size_t
net_arp_build(uint8_t *frame, uint16_t op, const uint8_t sha[6], uint32_t spa,
    const uint8_t tha[6], uint32_t tpa, const uint8_t *eth_dst)
{
	uint8_t *a = frame + NET_ETH_HLEN;

	memset(frame, 0, NET_ETH_MIN);
	net_eth_build(frame, eth_dst, sha, NET_ETHERTYPE_ARP);
	net_put16(a, 1);			/* Ethernet */
	net_put16(a + 2, NET_ETHERTYPE_IP);
	a[4] = 6;
	a[5] = 4;
	net_put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &tpa, 4);
	return NET_ETH_MIN;
}

int
net_arp_parse(const uint8_t *frame, size_t len, struct net_arp *a)
{
	const uint8_t *p = frame + NET_ETH_HLEN;

	if (len < NET_ARP_LEN || net_get16(frame + 12) != NET_ETHERTYPE_ARP ||
	    net_get16(p) != 1 || net_get16(p + 2) != NET_ETHERTYPE_IP || p[4] != 6 || p[5] != 4)
		return -1;
	a->na_op = net_get16(p + 6);
	if (a->na_op != NET_ARP_REQUEST && a->na_op != NET_ARP_REPLY)
		return -1;
	memcpy(a->na_sha, p + 8, 6);
	memcpy(&a->na_spa, p + 14, 4);
	memcpy(&a->na_tpa, p + 24, 4);
	return 0;
}

int
net_ipv4_parse(const uint8_t *frame, size_t len, struct net_ipv4 *p)
{
	const uint8_t *ip = frame + NET_ETH_HLEN;

	if (len < NET_ETH_HLEN + NET_IP_HLEN || net_get16(frame + 12) != NET_ETHERTYPE_IP ||
	    (ip[0] >> 4) != 4)
		return -1;
	size_t hlen = (size_t)(ip[0] & 15) * 4, tot = net_get16(ip + 2);
	if (hlen < NET_IP_HLEN || tot < hlen || NET_ETH_HLEN + tot > len ||
	    net_ip_csum(ip, hlen) != 0 || (net_get16(ip + 6) & 0x3fff) != 0)
		return -1;
	p->ip_ttl = ip[8];
	p->ip_proto = ip[9];
	memcpy(&p->ip_src, ip + 12, 4);
	memcpy(&p->ip_dst, ip + 16, 4);
	p->ip_payload = ip + hlen;
	p->ip_plen = tot - hlen;
	return 0;
}

void
net_ipv4_build(uint8_t *pkt, uint32_t src, uint32_t dst, uint8_t proto, size_t plen,
    uint16_t ident)
{
	memset(pkt, 0, NET_IP_HLEN);
	pkt[0] = 0x45;
	net_put16(pkt + 2, (uint16_t)(NET_IP_HLEN + plen));
	net_put16(pkt + 4, ident);
	net_put16(pkt + 6, 0x4000);		/* don't fragment */
	pkt[8] = 64;
	pkt[9] = proto;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	net_put16(pkt + 10, net_ip_csum(pkt, NET_IP_HLEN));
}

size_t
net_icmp_echo_build(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6],
    uint32_t ip_src, uint32_t ip_dst, uint8_t type, uint16_t id, uint16_t seq,
    const void *data, size_t dlen)
{
	uint8_t *icmp = frame + NET_ETH_HLEN + NET_IP_HLEN;
	size_t plen = NET_ICMP_HLEN + dlen, len = NET_ETH_HLEN + NET_IP_HLEN + plen;

	if (len < NET_ETH_MIN)
		memset(frame + len, 0, NET_ETH_MIN - len);
	net_eth_build(frame, dst, src, NET_ETHERTYPE_IP);
	net_ipv4_build(frame + NET_ETH_HLEN, ip_src, ip_dst, 1, plen, seq);
	icmp[0] = type;
	icmp[1] = 0;
	net_put16(icmp + 2, 0);
	net_put16(icmp + 4, id);
	net_put16(icmp + 6, seq);
	memmove(icmp + NET_ICMP_HLEN, data, dlen);
	net_put16(icmp + 2, net_ip_csum(icmp, plen));
	return len < NET_ETH_MIN ? NET_ETH_MIN : len;
}

int
net_icmp_echo_parse(const struct net_ipv4 *p, struct net_icmp_echo *e)
{
	const uint8_t *icmp = p->ip_payload;

	if (p->ip_proto != 1 || p->ip_plen < NET_ICMP_HLEN || (icmp[0] != 0 && icmp[0] != 8) ||
	    icmp[1] != 0 || net_ip_csum(icmp, p->ip_plen) != 0)
		return -1;
	e->ie_type = icmp[0];
	e->ie_id = net_get16(icmp + 4);
	e->ie_seq = net_get16(icmp + 6);
	e->ie_data = icmp + NET_ICMP_HLEN;
	e->ie_dlen = p->ip_plen - NET_ICMP_HLEN;
	return 0;
}

size_t
net_udp_build(uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6],
    uint32_t ip_src, uint32_t ip_dst, uint16_t sport, uint16_t dport)
{
	size_t hdrs = NET_ETH_HLEN + NET_IP_HLEN + NET_UDP_HLEN;

	if (size < hdrs || size > 65535)
		return 0;
	size_t dlen = size - hdrs;
	uint8_t *udp = frame + NET_ETH_HLEN + NET_IP_HLEN;
	memset(frame, 0, size);
	net_eth_build(frame, dst, src, NET_ETHERTYPE_IP);
	net_ipv4_build(frame + NET_ETH_HLEN, ip_src, ip_dst, 17, NET_UDP_HLEN + dlen, 0);
	net_put16(udp, sport);
	net_put16(udp + 2, dport);
	net_put16(udp + 4, (uint16_t)(NET_UDP_HLEN + dlen));
	for (size_t i = 0; i < dlen; i++)
		udp[NET_UDP_HLEN + i] = (uint8_t)i;
	return size;
}

size_t
net_tcp_build(uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6],
    uint32_t ip_src, uint32_t ip_dst, uint16_t sport, uint16_t dport)
{
	size_t hdrs = NET_ETH_HLEN + NET_IP_HLEN + NET_TCP_HLEN;

	if (size < hdrs || size > 65535)
		return 0;
	size_t tlen = size - NET_ETH_HLEN - NET_IP_HLEN;
	uint8_t *tcp = frame + NET_ETH_HLEN + NET_IP_HLEN;
	memset(frame, 0, size);
	net_eth_build(frame, dst, src, NET_ETHERTYPE_IP);
	net_ipv4_build(frame + NET_ETH_HLEN, ip_src, ip_dst, 6, tlen, 0);
	net_put16(tcp, sport);
	net_put16(tcp + 2, dport);
	net_put16(tcp + 6, 1);			/* sequence 1 */
	net_put16(tcp + 10, 1);			/* acknowledgement 1 */
	tcp[12] = (NET_TCP_HLEN / 4) << 4;
	tcp[13] = 0x18;				/* ACK | PSH */
	net_put16(tcp + 14, 65535);		/* window */
	for (size_t i = NET_TCP_HLEN; i < tlen; i++)
		tcp[i] = (uint8_t)i;
	/* the pseudo-header, folded and not complemented: whoever fills in the
	 * checksum (netback's tap, or GSO per segment) adds the segment to it */
	const uint8_t *ip = frame + NET_ETH_HLEN;
	uint32_t sum = net_get16(ip + 12) + net_get16(ip + 14) + net_get16(ip + 16) +
	    net_get16(ip + 18) + 6 + (uint32_t)tlen;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	net_put16(tcp + 16, (uint16_t)sum);
	return size;
}

int
net_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
	    &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}
