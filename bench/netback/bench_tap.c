/*
 * The direct path: the same frames written straight into a tap on the bridge,
 * and read straight out of one, so the guest's figures have the host's own
 * tap path of the same run beside them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* bench_tap.h */
int
bench_tap_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "bench_net: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "bench_net: tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
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
bench_tap_send(int fd, uint8_t *frame, size_t size, unsigned long long count,
    struct bench_tap_run *r)
{
	double start = bench_tap_now();

	memset(r, 0, sizeof(*r));
	for (unsigned long long i = 0; i < count; i++) {
		uint16_t sport = (uint16_t)(1024 + i % BENCH_TAP_FLOWS);
		frame[BENCH_TAP_SPORT] = (uint8_t)(sport >> 8);
		frame[BENCH_TAP_SPORT + 1] = (uint8_t)sport;
		if (write(fd, frame, size) != (ssize_t)size) {
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
