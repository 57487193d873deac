/*
 * A TCP segment larger than the MTU, end to end with feature-gso-tcpv4: the
 * guest's netfront sends one 20054-byte segment with a GSO extra, netback
 * writes it to its tap with a virtio-net GSO header, and the bridge hands a
 * plain tap of the test's (no offloads: the kernel must cut it) MTU-sized
 * segments. Each must be a well-formed TCP/IPv4 frame of at most 1514 bytes
 * with correct IPv4 and TCP checksums, and together they must carry every
 * payload byte in sequence. And back: a guest that takes segments whole
 * (netfront.gso=1) gets one written into the bridge with a GSO header as
 * one frame of the same size, through netback's TSO tap.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netguest.h"
#include "stack.h"

#define GSO_TAP_MAC	"02:00:00:00:0c:01"
#define GSO_SIZE	20054		/* Ethernet + IPv4 + TCP headers and 20000 bytes */
#define GSO_PAYLOAD	(GSO_SIZE - 54)
#define GSO_MSS		1460

static struct stack s;
static struct ng_con con = { .c_pid = -1 };
static int tapfd = -1;

static void
setup(void)
{
	ng_start(&s, "netgso", "10.9.0.1/24");
	/* no IPv6 chatter (router solicitations, MLD) among the frames counted */
	ng_sh(NULL, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
}

static void
teardown(void)
{
	ng_con_close(&con);
	ng_sh(NULL, "$XL destroy g1");
	stack_stop(&s);
	if (tapfd >= 0)
		close(tapfd);
	ng_sh(NULL, "ip link del xenbr0");
}

TestSuite(net_gso, .init = setup, .fini = teardown, .timeout = 240);

/* The one's-complement sum of len bytes, added to sum. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Checks one segment and marks the payload bytes it carries; false when it is not ours. */
static bool
check_segment(const uint8_t *f, size_t n, bool *have)
{
	if (n < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 6)
		return false;			/* not TCP/IPv4: ARP, IPv6 chatter */
	const uint8_t *ip = f + 14, *tcp = f + 34;
	size_t ip_len = (size_t)(ip[2] << 8 | ip[3]);
	cr_assert_leq(n, 1514, "a segment of %zu bytes: longer than the MTU", n);
	cr_assert_eq(ip_len, n - 14, "IPv4 total length %zu in a %zu-byte frame", ip_len, n);
	cr_assert_eq(csum_fold(csum_add(0, ip, 20)), 0xffff, "bad IPv4 header checksum");
	size_t tcp_len = ip_len - 20;
	uint32_t ps = csum_add(0, ip + 12, 8) + 6 + (uint32_t)tcp_len;
	cr_assert_eq(csum_fold(csum_add(ps, tcp, tcp_len)), 0xffff, "bad TCP checksum");
	cr_assert_eq(tcp[2] << 8 | tcp[3], 9, "to the discard port");
	uint32_t seq = (uint32_t)tcp[4] << 24 | tcp[5] << 16 | tcp[6] << 8 | tcp[7];
	size_t off = seq - 1, len = tcp_len - 20;
	cr_assert_leq(len, GSO_MSS);
	cr_assert_leq(off + len, GSO_PAYLOAD, "sequence %u beyond the segment", seq);
	for (size_t j = 0; j < len; j++) {
		/* pvguest's pattern: byte i of the TCP segment is (uint8_t)i */
		cr_assert_eq(tcp[20 + j], (uint8_t)(20 + off + j), "payload byte %zu", off + j);
		have[off + j] = true;
	}
	return true;
}

Test(net_gso, a_tcp_segment_past_the_mtu_is_cut_by_the_host)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	static bool have[GSO_PAYLOAD];
	static uint8_t f[65536];
	int segs = 0;

	tapfd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(tapfd, 0);
	strcpy(ifr.ifr_name, "gsotap");
	cr_assert_eq(ioctl(tapfd, TUNSETIFF, &ifr), 0);
	/* the tap keeps its own MAC (a port's own address is the bridge's, not forwarded);
	 * GSO_TAP_MAC is the station behind it, learned from the frame below */
	cr_assert_eq(ng_sh(NULL, "ip link set gsotap master xenbr0 up"), 0);
	ng_boot(&con, s.s_rundir, "g1", "'ip=10.9.0.2'");
	ng_expect_in(ng_run(&con, "net list"), "connected");
	/* one frame from the tap: the bridge learns its port, so the segments go only there */
	cr_assert_eq(write(tapfd, (uint8_t[60]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0,
	    0x0c, 0x01, 0x88, 0xb5 }, 60), 60);
	const char *out = ng_run(&con, "net send eth0 1 %d " GSO_TAP_MAC, GSO_SIZE);
	ng_expect_in(out, "1 frames of 20054 bytes");
	ng_expect_in(out, "0 refused by the backend");
	for (;;) {
		struct pollfd p = { .fd = tapfd, .events = POLLIN };
		if (poll(&p, 1, 2000) <= 0)
			break;
		ssize_t n = read(tapfd, f, sizeof(f));
		if (n > 0 && check_segment(f, (size_t)n, have))
			segs++;
	}
	cr_expect_eq(segs, (GSO_PAYLOAD + GSO_MSS - 1) / GSO_MSS, "%d segments", segs);
	for (size_t i = 0; i < GSO_PAYLOAD; i++)
		cr_assert(have[i], "payload byte %zu never arrived", i);
}

/* The segment pvguest sends, for the guest's MAC: Ethernet, IPv4, TCP and a pattern. */
static void
build_segment(uint8_t *f, size_t size, const uint8_t dst[6])
{
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0x0c, 0x02 };
	size_t tcp_len = size - 34;
	uint8_t *ip = f + 14, *tcp = f + 34;

	memset(f, 0, size);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((size - 14) >> 8);
	ip[3] = (uint8_t)(size - 14);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (uint8_t[]){ 10, 9, 0, 1, 10, 9, 0, 2 }, 8);
	uint16_t sum = (uint16_t)~csum_fold(csum_add(0, ip, 20));
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	tcp[3] = 9;
	tcp[7] = 1;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	for (size_t i = 20; i < tcp_len; i++)
		tcp[i] = (uint8_t)i;
	uint16_t ps = csum_fold(csum_add(0, ip + 12, 8) + 6 + (uint32_t)tcp_len);
	tcp[16] = (uint8_t)(ps >> 8);
	tcp[17] = (uint8_t)ps;
}

Test(net_gso, a_guest_that_takes_segments_whole_gets_one_frame)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54, .gso_size = GSO_MSS,
	    .csum_start = 34, .csum_offset = 16 };
	static uint8_t f[GSO_SIZE];
	uint8_t mac[6];
	unsigned m[6];

	tapfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_geq(tapfd, 0);
	strcpy(ifr.ifr_name, "gsotap");
	cr_assert_eq(ioctl(tapfd, TUNSETIFF, &ifr), 0);
	cr_assert_eq(ng_sh(NULL, "ip link set gsotap master xenbr0 up"), 0);
	/* ng_boot's vif line, then the command line (what follows it is a comment) */
	ng_boot(&con, s.s_rundir, "g1", "'ip=10.9.0.2,mac=00:16:3e:00:0c:03' ]\n"
	    "cmdline = \"netfront.gso=1\" #");
	ng_expect_in(ng_run(&con, "net list"), "connected");
	char *fe;
	cr_assert_eq(ng_sh(&fe, "XENSTORED_PATH=%s/xenstored/socket xenstore-read "
	    "/local/domain/$($XL domid g1)/device/vif/0/feature-gso-tcpv4", s.s_rundir), 0,
	    "the guest offers to take segments: %s", fe);
	cr_assert_eq(sscanf("00:16:3e:00:0c:03", "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
	    &m[4], &m[5]), 6);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	build_segment(f, GSO_SIZE, mac);
	/* the guest counts the first frame for up to 3 s while one segment goes in; a
	 * stray frame of the host's may come first, so up to three tries */
	struct iovec iov[2] = { { &vh, sizeof(vh) }, { f, sizeof(f) } };
	bool whole = false;
	for (int i = 0; i < 3 && !whole; i++) {
		size_t from = con.c_len;
		cr_assert_eq(write(con.c_fd, "net recv eth0 3 1\r", 18), 18);
		usleep(300 * 1000);
		cr_assert_eq(writev(tapfd, iov, 2), (ssize_t)(sizeof(vh) + sizeof(f)));
		cr_assert(ng_con_wait(&con, "\n" NG_PROMPT, from, 10000), "%s", con.c_out + from);
		whole = strstr(con.c_out + from, "net recv: eth0: 1 frames, 20054 bytes") != NULL;
	}
	cr_assert(whole, "no whole segment:\n%s\n%s", con.c_out, ng_run(&con, "net stats"));
}
