#include <errno.h>
#include <stdint.h>

#include "byte_ring.h"
#include "ring.h"

/* The guest's out ring as a byte ring, for us as its consumer. The const is
 * dropped for byte_ring_avail, which only reads. */
static struct byte_ring
ring_out(const struct xencons_interface *intf)
{
	struct xencons_interface *w = (struct xencons_interface *)intf;

	return (struct byte_ring){ w->out, RING_OUT_SIZE, &w->out_prod, &w->out_cons };
}

/* The guest's in ring as a byte ring, for us as its producer. */
static struct byte_ring
ring_in(struct xencons_interface *intf)
{
	return (struct byte_ring){ intf->in, RING_IN_SIZE, &intf->in_prod, &intf->in_cons };
}

/* Impossible indices: our own index is set to the peer's, so the ring works
 * again once the guest behaves, and the caller sees EPROTO. */
static ssize_t
ring_resync(uint32_t *ours, const uint32_t *peers)
{
	__atomic_store_n(ours, __atomic_load_n(peers, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	errno = EPROTO;
	return -1;
}

/* Whether more guest output waits (to schedule another turn). */
ssize_t
ring_out_pending(const struct xencons_interface *intf)
{
	struct byte_ring r = ring_out(intf);
	ssize_t n = byte_ring_avail(&r);

	if (n < 0)
		errno = EPROTO;
	return n;
}

/* Takes guest output off the ring. */
ssize_t
ring_out_consume(struct xencons_interface *intf, char *buf, size_t max)
{
	struct byte_ring r = ring_out(intf);
	ssize_t n = byte_ring_get(&r, buf, max);

	return n < 0 ? ring_resync(&intf->out_cons, &intf->out_prod) : n;
}

/* Room for typed input in the guest in ring. */
ssize_t
ring_in_space(struct xencons_interface *intf)
{
	struct byte_ring r = ring_in(intf);
	ssize_t n = byte_ring_space(&r);

	return n < 0 ? ring_resync(&intf->in_prod, &intf->in_cons) : n;
}

/* Puts typed input into the in ring. */
ssize_t
ring_in_produce(struct xencons_interface *intf, const char *buf, size_t len)
{
	struct byte_ring r = ring_in(intf);
	ssize_t n = byte_ring_put(&r, buf, len);

	return n < 0 ? ring_resync(&intf->in_prod, &intf->in_cons) : n;
}
