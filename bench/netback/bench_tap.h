/*
 * The direct path of the network benchmark: tap devices this process opens
 * on the bench's bridge, frames built as pvguest's `net send` builds them
 * (UDP to the discard port, the source port cycling over 64 flows), a
 * writer that puts them into a tap one write() each, and a reader that
 * counts what a tap hands it.
 */
#ifndef PVSTACK_BENCH_TAP_H
#define PVSTACK_BENCH_TAP_H

#include <stddef.h>
#include <stdint.h>

/* What a writer sent or a reader got, over the frames' own span. */
struct bench_tap_run {
	unsigned long long btr_frames;
	unsigned long long btr_bytes;
	double btr_secs;
};

/* A tap named name (IFF_TAP | IFF_NO_PI), non-persistent: it goes with the fd. -1 on error. */
int bench_tap_open(const char *name);
/* Writes the frame pvguest sends: size bytes from src to dst. */
void bench_tap_frame(uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6]);
/* A tap with IFF_VNET_HDR: each write starts with a struct virtio_net_hdr. */
int bench_tap_open_vnet(const char *name);
/* A vnet tap hands its reader whole TCP segments (TUN_F_CSUM | TUN_F_TSO4); -1 on error. */
int bench_tap_offload(int fd);
/* The TCP segment pvguest's `net send` sends past the MTU: checksum field = pseudo-header sum. */
void bench_tap_tcp_frame(uint8_t *frame, size_t size, const uint8_t dst[6], const uint8_t src[6]);
/* count such segments into a vnet tap with a GSO header (TCPv4, mss), as netback writes them. */
int bench_tap_send_gso(int fd, uint8_t *frame, size_t size, unsigned mss,
    unsigned long long count, struct bench_tap_run *r);
/* count frames into fd as fast as write() takes them; -1 on a failed write. */
int bench_tap_send(int fd, uint8_t *frame, size_t size, unsigned long long count,
    struct bench_tap_run *r);
/* Reads fd until want frames came or idle_ms pass without one. */
void bench_tap_recv(int fd, unsigned long long want, int idle_ms, struct bench_tap_run *r);
/* Monotonic seconds. */
double bench_tap_now(void);

#endif
