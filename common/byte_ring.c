#include <errno.h>

#include "byte_ring.h"
#include "xen_ring.h"

/* One read of an index the peer may change at any time. */
static uint32_t
byte_ring_load(const uint32_t *idx)
{
	return __atomic_load_n(idx, __ATOMIC_RELAXED);
}

/* One store of our own index, seen by the peer. */
static void
byte_ring_store(uint32_t *idx, uint32_t v)
{
	__atomic_store_n(idx, v, __ATOMIC_RELAXED);
}

/* prod - cons, validated; both indices read once. */
static ssize_t
byte_ring_used(const struct byte_ring *r, uint32_t *prod, uint32_t *cons)
{
	*prod = byte_ring_load(r->br_prod);
	*cons = byte_ring_load(r->br_cons);
	uint32_t used = *prod - *cons;

	if (used > r->br_size) {
		errno = EIO;
		return -1;
	}
	return used;
}

/* Room for the producer; 0 when full. */
ssize_t
byte_ring_space(const struct byte_ring *r)
{
	uint32_t prod, cons;
	ssize_t used = byte_ring_used(r, &prod, &cons);

	return used < 0 ? -1 : (ssize_t)r->br_size - used;
}

/* Bytes for the consumer; 0 when empty. */
ssize_t
byte_ring_avail(const struct byte_ring *r)
{
	uint32_t prod, cons;

	return byte_ring_used(r, &prod, &cons);
}

/* Producer: data first, then the index behind a write barrier. */
ssize_t
byte_ring_put(const struct byte_ring *r, const void *buf, size_t len)
{
	const char *src = buf;
	uint32_t prod, cons;
	ssize_t used = byte_ring_used(r, &prod, &cons);

	if (used < 0)
		return -1;
	size_t n = r->br_size - (size_t)used;
	if (n > len)
		n = len;
	mb();	/* the consumer's index is read before we overwrite its slots */
	for (size_t i = 0; i < n; i++)
		r->br_buf[(prod + i) & (r->br_size - 1)] = src[i];
	wmb();
	byte_ring_store(r->br_prod, prod + (uint32_t)n);
	return n;
}

/* Consumer: index, read barrier, data, then our index after a full barrier. */
ssize_t
byte_ring_get(const struct byte_ring *r, void *buf, size_t len)
{
	char *dst = buf;
	uint32_t prod, cons;
	ssize_t used = byte_ring_used(r, &prod, &cons);

	if (used < 0)
		return -1;
	size_t n = (size_t)used < len ? (size_t)used : len;
	rmb();
	for (size_t i = 0; i < n; i++)
		dst[i] = r->br_buf[(cons + i) & (r->br_size - 1)];
	mb();	/* the slots are read before the producer may reuse them */
	byte_ring_store(r->br_cons, cons + (uint32_t)n);
	return n;
}
