#include <errno.h>
#include <stdint.h>

#include "ring.h"

/* One acquire load of a shared index: the guest may change it under us. */
static uint32_t
ring_load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* One release store, so the data written before it is visible first. */
static void
ring_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Whether more guest output waits (to schedule another turn). */
ssize_t
ring_out_pending(const struct xencons_interface *intf)
{
	uint32_t cons = ring_load(&intf->out_cons), prod = ring_load(&intf->out_prod);

	if (prod - cons > RING_OUT_SIZE) {
		errno = EPROTO;
		return -1;
	}
	return prod - cons;
}

/* Takes guest output off the ring. */
ssize_t
ring_out_consume(struct xencons_interface *intf, char *buf, size_t max)
{
	uint32_t cons = ring_load(&intf->out_cons), prod = ring_load(&intf->out_prod);
	size_t n = 0;

	if (prod - cons > RING_OUT_SIZE) {
		ring_store(&intf->out_cons, prod);
		errno = EPROTO;
		return -1;
	}
	while (cons != prod && n < max)
		buf[n++] = intf->out[MASK_XENCONS_IDX(cons++, intf->out)];
	ring_store(&intf->out_cons, cons);
	return n;
}

/* Room for typed input in the guest in ring. */
ssize_t
ring_in_space(struct xencons_interface *intf)
{
	uint32_t cons = ring_load(&intf->in_cons), prod = ring_load(&intf->in_prod);

	if (prod - cons > RING_IN_SIZE) {
		ring_store(&intf->in_prod, cons);
		errno = EPROTO;
		return -1;
	}
	return RING_IN_SIZE - (prod - cons);
}

/* Puts typed input into the in ring. */
ssize_t
ring_in_produce(struct xencons_interface *intf, const char *buf, size_t len)
{
	uint32_t cons = ring_load(&intf->in_cons), prod = ring_load(&intf->in_prod);
	size_t n = 0;

	if (prod - cons > RING_IN_SIZE) {
		ring_store(&intf->in_prod, cons);
		errno = EPROTO;
		return -1;
	}
	while (n < len && prod - cons < RING_IN_SIZE)
		intf->in[MASK_XENCONS_IDX(prod++, intf->in)] = buf[n++];
	ring_store(&intf->in_prod, prod);
	return n;
}
