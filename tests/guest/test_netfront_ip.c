/* The packets of pvguest's IPv4 stack and its address settings. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "net_ip.h"

static uint32_t
A(const char *s)
{
	uint32_t a;

	cr_assert_eq(net_ip_parse_addr(s, &a), 0, "%s", s);
	return a;
}

Test(net_ip, addresses)
{
	char buf[16];
	uint32_t a;

	cr_assert_eq(A("10.1.2.3"), htonl(0x0a010203));
	cr_assert_str_eq(net_ip_fmt(A("192.168.1.10"), buf), "192.168.1.10");
	cr_assert_eq(net_ip_parse_addr("10.1.2", &a), -1);
	cr_assert_eq(net_ip_parse_addr("10.1.2.256", &a), -1);
	cr_assert_eq(net_ip_parse_addr("10.1.2.3x", &a), -1);
	cr_assert_eq(net_ip_parse_addr("", &a), -1);
	cr_assert_eq(net_ip_default_mask(A("10.0.0.1")), A("255.0.0.0"));
	cr_assert_eq(net_ip_default_mask(A("172.16.0.1")), A("255.255.0.0"));
	cr_assert_eq(net_ip_default_mask(A("192.168.1.1")), A("255.255.255.0"));
}

Test(net_ip, vif_ip_key)
{
	struct net_ip_cfg c;

	cr_assert_eq(net_ip_parse_vif("10.0.0.2", &c), 0);
	cr_assert_eq(c.ic_addr, A("10.0.0.2"));
	cr_assert_eq(c.ic_mask, A("255.0.0.0"));
	cr_assert_eq(net_ip_parse_vif("192.168.5.7/28 10.0.0.1", &c), 0, "the first of several");
	cr_assert_eq(c.ic_addr, A("192.168.5.7"));
	cr_assert_eq(c.ic_mask, A("255.255.255.240"));
	cr_assert_eq(net_ip_parse_vif("fe80::1", &c), -1);
	cr_assert_eq(net_ip_parse_vif("10.0.0.2/33", &c), -1);
	cr_assert_eq(net_ip_parse_vif("", &c), -1);
}

Test(net_ip, kernel_ip_argument)
{
	struct net_ip_cfg c;
	const char *bad = NULL;

	cr_assert_eq(net_ip_parse_cmdline("console=hvc0 ip=192.168.1.10 root=/dev/xvda", &c, &bad), 1);
	cr_assert_eq(c.ic_addr, A("192.168.1.10"));
	cr_assert_eq(c.ic_mask, A("255.255.255.0"));
	cr_assert_eq(c.ic_gw, 0);
	/* xm's form from ip, gateway and netmask in the config */
	cr_assert_eq(net_ip_parse_cmdline("ip=10.0.0.5::10.0.0.1:255.255.255.0::eth0:off", &c, &bad), 1);
	cr_assert_eq(c.ic_addr, A("10.0.0.5"));
	cr_assert_eq(c.ic_gw, A("10.0.0.1"));
	cr_assert_eq(c.ic_mask, A("255.255.255.0"));
	cr_assert_eq(net_ip_parse_cmdline("ip=dhcp", &c, &bad), 0);
	cr_assert_eq(net_ip_parse_cmdline("ip=:::::eth0:dhcp", &c, &bad), 0, "no client address");
	cr_assert_eq(net_ip_parse_cmdline("vip=10.0.0.1", &c, &bad), 0, "a word ending in ip=");
	cr_assert_eq(net_ip_parse_cmdline("ip=10.0.0.5::10.0.0.x", &c, &bad), -1);
	cr_assert_str_eq(bad, "ip= gateway");
}

Test(net_ip, checksum_rfc1071)
{
	/* the example header of RFC 1071's section 3 style check: a packet whose
	 * checksum field holds its sum checks to zero */
	uint8_t hdr[20];

	net_ipv4_build(hdr, A("10.0.0.1"), A("10.0.0.2"), 1, 64, 0x1234);
	cr_assert_eq(net_ip_csum(hdr, 20), 0);
	hdr[8]--;
	cr_assert_neq(net_ip_csum(hdr, 20), 0);
	uint8_t odd[3] = { 0x01, 0x02, 0x03 };
	cr_assert_eq(net_ip_csum(odd, 3), (uint16_t)~(0x0102 + 0x0300));
}

Test(net_arp, request_and_reply_round_trip)
{
	uint8_t f[64], me[6] = { 0, 0x16, 0x3e, 1, 2, 3 }, zero[6] = { 0 };
	struct net_arp a;

	cr_assert_eq(net_arp_build(f, NET_ARP_REQUEST, me, A("10.0.0.2"), zero, A("10.0.0.3"),
	    net_broadcast), 60);
	cr_assert_eq(memcmp(f, net_broadcast, 6), 0);
	cr_assert_eq(f[12], 0x08);
	cr_assert_eq(f[13], 0x06);
	cr_assert_eq(net_arp_parse(f, 60, &a), 0);
	cr_assert_eq(a.na_op, NET_ARP_REQUEST);
	cr_assert_eq(a.na_spa, A("10.0.0.2"));
	cr_assert_eq(a.na_tpa, A("10.0.0.3"));
	cr_assert_eq(memcmp(a.na_sha, me, 6), 0);
	cr_assert_eq(net_arp_parse(f, 41, &a), -1, "truncated");
	f[14 + 5] = 16;
	cr_assert_eq(net_arp_parse(f, 60, &a), -1, "not IPv4 addresses");
}

Test(net_icmp, echo_round_trip_and_checks)
{
	uint8_t f[2000], a[6] = { 2, 0, 0, 0, 0, 1 }, b[6] = { 2, 0, 0, 0, 0, 2 };
	struct net_ipv4 ip;
	struct net_icmp_echo e;
	char data[1000];

	memset(data, 'x', sizeof(data));
	size_t n = net_icmp_echo_build(f, a, b, A("10.0.0.1"), A("10.0.0.2"), 8, 0x7001, 3, data, 56);
	cr_assert_eq(n, 14 + 20 + 8 + 56);
	cr_assert_eq(net_ipv4_parse(f, n, &ip), 0);
	cr_assert_eq(ip.ip_proto, 1);
	cr_assert_eq(ip.ip_ttl, 64);
	cr_assert_eq(ip.ip_src, A("10.0.0.1"));
	cr_assert_eq(net_icmp_echo_parse(&ip, &e), 0);
	cr_assert_eq(e.ie_type, 8);
	cr_assert_eq(e.ie_id, 0x7001);
	cr_assert_eq(e.ie_seq, 3);
	cr_assert_eq(e.ie_dlen, 56);
	cr_assert_eq(net_ipv4_parse(f, n - 1, &ip), -1, "total length past the frame");
	f[14 + 8 + 20 + 10] ^= 1;	/* a data byte */
	cr_assert_eq(net_ipv4_parse(f, n, &ip), 0);
	cr_assert_eq(net_icmp_echo_parse(&ip, &e), -1, "ICMP checksum");
	f[14 + 8] ^= 1;			/* the TTL */
	cr_assert_eq(net_ipv4_parse(f, n, &ip), -1, "header checksum");
	n = net_icmp_echo_build(f, a, b, A("10.0.0.1"), A("10.0.0.2"), 0, 1, 1, data, 0);
	cr_assert_eq(n, 60, "padded to the shortest frame");
	cr_assert_eq(net_ipv4_parse(f, n, &ip), 0);
	cr_assert_eq(ip.ip_plen, 8, "padding is not payload");
}

Test(net_udp, generator_frames)
{
	uint8_t f[1514], a[6] = { 2, 0, 0, 0, 0, 1 };
	struct net_ipv4 ip;

	cr_assert_eq(net_udp_build(f, 64, net_broadcast, a, A("10.0.0.1"), 0xffffffffu, 1024, 9), 64);
	cr_assert_eq(net_ipv4_parse(f, 64, &ip), 0);
	cr_assert_eq(ip.ip_proto, 17);
	cr_assert_eq(ip.ip_plen, 64 - 14 - 20);
	cr_assert_eq(f[NET_UDP_SPORT_OFF] << 8 | f[NET_UDP_SPORT_OFF + 1], 1024);
	cr_assert_eq(net_udp_build(f, 1514, a, a, 0, 0, 1, 9), 1514);
	cr_assert_eq(net_ipv4_parse(f, 1514, &ip), 0);
	cr_assert_eq(ip.ip_plen, 1480);
	cr_assert_eq(net_udp_build(f, 41, a, a, 0, 0, 1, 9), 0);
}

Test(net_mac, parse)
{
	uint8_t m[6];

	cr_assert_eq(net_mac_parse("00:16:3e:0a:0B:ff", m), 0);
	cr_assert_eq(m[5], 0xff);
	cr_assert_eq(m[4], 0x0b);
	cr_assert_eq(net_mac_parse("00:16:3e:0a:0b", m), -1);
	cr_assert_eq(net_mac_parse("00:16:3e:0a:0b:ff:", m), -1);
	cr_assert_eq(net_mac_parse("00-16-3e-0a-0b-ff", m), -1);
}
