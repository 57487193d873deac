/*
 * The byte rings of the console page (xen/io/console.h) and the xenstore page
 * (xen/io/xs_wire.h): a power-of-two char array, a producer and a consumer
 * index that run freely and are masked on use. Each call reads the peer's
 * index once, checks that prod - cons fits the ring, copies, then publishes
 * its own index behind a barrier. The caller notifies the peer. Used from
 * both sides: the guest runtime's frontends and consoled's backend.
 */
#ifndef PVSTACK_BYTE_RING_H
#define PVSTACK_BYTE_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct byte_ring {
	char *br_buf;
	uint32_t br_size;		/* power of two */
	uint32_t *br_prod;
	uint32_t *br_cons;
};

/* Copies up to len bytes in as producer; returns the count (0 when full),
 * -1 EIO when the indices are corrupt. */
ssize_t byte_ring_put(const struct byte_ring *r, const void *buf, size_t len);
/* Copies up to len bytes out as consumer; returns the count (0 when empty),
 * -1 EIO when the indices are corrupt. */
ssize_t byte_ring_get(const struct byte_ring *r, void *buf, size_t len);
/* Bytes a producer may write now, or -1 EIO. */
ssize_t byte_ring_space(const struct byte_ring *r);
/* Bytes a consumer may read now, or -1 EIO. */
ssize_t byte_ring_avail(const struct byte_ring *r);

#endif
