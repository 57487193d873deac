/*
 * The direct path: the same frames written straight into a tap on the bridge,
 * and read straight out of one, so the guest's figures have the host's own
 * tap path of the same run beside them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench_tap.h"

#define BENCH_TAP_FLOWS	64	/* as pvguest's generator */
#define BENCH_TAP_SPORT	34	/* offset of the UDP source port in the frame */

/* bench_tap.h */
double
bench_tap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A tap with flags; -1 on error. */
static int
bench_tap_open_flags(const char *name, short flags)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "bench_net: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "bench_net: tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* bench_tap.h */
int
bench_tap_open(const char *name)
{
	return bench_tap_open_flags(name, IFF_TAP | IFF_NO_PI);
}

/* bench_tap.h */
int
bench_tap_open_vnet(const char *name)
{
	return bench_tap_open_flags(name, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
}

/* The IPv4 header checksum. */
static uint16_t
bench_tap_ipsum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* bench_tap.h */
void
bench_tap_frame(uint8_t *f, size_t size, const uint8_t dst[6], const uint8_t src[6])
{
	size_t ip_len = size - 14, udp_len = size - 34;

	memset(f, 0, size);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	uint8_t *ip = f + 14, *udp = f + 34;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 9, 0, 250 }, 4);
	memset(ip + 16, 0xff, 4);
	uint16_t sum = bench_tap_ipsum(ip);
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	udp[0] = 1024 >> 8;
	udp[3] = 9;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	for (size_t i = 8; i < udp_len; i++)
		udp[i] = (uint8_t)(i - 8);
}

/* bench_tap.h */
int
bench_tap_offload(int fd)
{
	return ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4);
}

/* bench_tap.h */
void
bench_tap_tcp_frame(uint8_t *f, size_t size, const uint8_t dst[6], const uint8_t src[6])
{
	size_t tcp_len = size - 34;

	bench_tap_frame(f, size, dst, src);	/* Ethernet and IPv4, then TCP over the UDP */
	uint8_t *ip = f + 14, *tcp = f + 34;
	ip[9] = 6;
	ip[10] = ip[11] = 0;
	uint16_t sum = bench_tap_ipsum(ip);
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	memset(tcp, 0, 20);
	tcp[0] = 1024 >> 8;
	tcp[3] = 9;
	tcp[7] = 1;
	tcp[11] = 1;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	tcp[14] = tcp[15] = 0xff;
	for (size_t i = 20; i < tcp_len; i++)
		tcp[i] = (uint8_t)i;
	uint32_t ps = (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]) +
	    (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]) + 6 + (uint32_t)tcp_len;
	while (ps >> 16)
		ps = (ps & 0xffff) + (ps >> 16);
	tcp[16] = (uint8_t)(ps >> 8);
	tcp[17] = (uint8_t)ps;
}

/*
 * count writes of the frame into fd, its flow (source port) cycling as
 * pvguest's generator does; iov[0], when niov is 2, is a virtio-net header
 * (a lone frame goes by write(), as a plain tap writer would).
 */
static int
bench_tap_write_all(int fd, struct iovec *iov, int niov, uint8_t *frame, size_t size,
    unsigned long long count, struct bench_tap_run *r)
{
	size_t total = niov == 2 ? iov[0].iov_len + size : size;
	double start = bench_tap_now();

	memset(r, 0, sizeof(*r));
	for (unsigned long long i = 0; i < count; i++) {
		uint16_t sport = (uint16_t)(1024 + i % BENCH_TAP_FLOWS);
		frame[BENCH_TAP_SPORT] = (uint8_t)(sport >> 8);
		frame[BENCH_TAP_SPORT + 1] = (uint8_t)sport;
		if ((niov == 2 ? writev(fd, iov, 2) : write(fd, frame, size)) != (ssize_t)total) {
			fprintf(stderr, "bench_net: tap write: %s\n", strerror(errno));
			return -1;
		}
	}
	r->btr_frames = count;
	r->btr_bytes = count * size;
	r->btr_secs = bench_tap_now() - start;
	return 0;
}

/* bench_tap.h */
int
bench_tap_send_gso(int fd, uint8_t *frame, size_t size, unsigned mss, unsigned long long count,
    struct bench_tap_run *r)
{
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54, .gso_size = (uint16_t)mss,
	    .csum_start = 34, .csum_offset = 16 };
	struct iovec iov[2] = { { &vh, sizeof(vh) }, { frame, size } };

	return bench_tap_write_all(fd, iov, 2, frame, size, count, r);
}

/* bench_tap.h */
int
bench_tap_send(int fd, uint8_t *frame, size_t size, unsigned long long count,
    struct bench_tap_run *r)
{
	return bench_tap_write_all(fd, NULL, 1, frame, size, count, r);
}

/* bench_tap.h */
void
bench_tap_recv(int fd, unsigned long long want, int idle_ms, struct bench_tap_run *r)
{
	static uint8_t buf[65536];
	double first = 0, last = 0;

	memset(r, 0, sizeof(*r));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);	/* poll only when it is empty */
	while (r->btr_frames < want) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, idle_ms) <= 0)
				break;
			continue;
		}
		if (n <= 0)
			break;
		last = bench_tap_now();
		if (r->btr_frames++ == 0)
			first = last;
		r->btr_bytes += (unsigned long long)n;
	}
	/* n frames span n-1 gaps, as pvguest's net recv counts them */
	if (r->btr_frames > 1)
		r->btr_secs = (last - first) * (double)r->btr_frames / (double)(r->btr_frames - 1);
}
