/*
 * The guest transport: struct xenstore_domain_interface, one shared page per
 * guest. Indexes are read once per access and checked (prod - cons <= ring
 * size); a violation sets the page's error field and drops the connection,
 * while the domain itself stays known until it dies (XSA-325).
 */
#include <string.h>

#include "domain.h"
#include "xenstored.h"

/*
 * Reads request bytes from the guest's ring; indexes are read once and
 * checked. The bytes stay the guest's until ring_publish moves req_cons, which
 * conn.c does after the journal entry for them is written.
 */
static ssize_t
ring_read(struct conn *c, void *buf, size_t len)
{
	struct domain *d = c->c_domain;
	struct xenstore_domain_interface *intf;
	XENSTORE_RING_IDX cons, prod, pub;
	size_t avail, off;

	if (d == NULL || (intf = d->d_intf) == NULL)
		return -1;
	pub = __atomic_load_n(&intf->req_cons, __ATOMIC_RELAXED);
	prod = __atomic_load_n(&intf->req_prod, __ATOMIC_ACQUIRE);
	cons = c->c_ring_rd;
	if (prod - pub > XENSTORE_RING_SIZE || prod - cons > prod - pub) {
		intf->error = XENSTORE_ERROR_RINGIDX;
		return -1;
	}
	avail = prod - cons;
	off = MASK_XENSTORE_IDX(cons);
	if (avail > XENSTORE_RING_SIZE - off)
		avail = XENSTORE_RING_SIZE - off;
	if (len > avail)
		len = avail;
	if (len == 0)
		return 0;
	memcpy(buf, intf->req + off, len);
	c->c_ring_rd = cons + len;
	return len;
}

/* Tells the guest how far its requests were consumed. */
static void
ring_publish(struct conn *c)
{
	struct domain *d = c->c_domain;

	if (d == NULL || d->d_intf == NULL ||
	    __atomic_load_n(&d->d_intf->req_cons, __ATOMIC_RELAXED) == c->c_ring_rd)
		return;
	__atomic_store_n(&d->d_intf->req_cons, c->c_ring_rd, __ATOMIC_RELEASE);
	domain_notify(d);
}

/* After a restart: reading resumes where the journal says, req_cons catches up. */
void
ring_restore_input(struct conn *c, uint32_t idx)
{
	struct xenstore_domain_interface *intf = c->c_domain ? c->c_domain->d_intf : NULL;
	XENSTORE_RING_IDX pub, prod;

	if (intf == NULL)
		return;
	pub = __atomic_load_n(&intf->req_cons, __ATOMIC_RELAXED);
	prod = __atomic_load_n(&intf->req_prod, __ATOMIC_ACQUIRE);
	/* only forward, and never past what the guest produced */
	if (idx - pub > prod - pub)
		return;
	c->c_ring_rd = idx;
	ring_publish(c);
}

/* The guest's rsp_prod: how much of our output it was given. */
uint32_t
ring_rsp_prod(struct conn *c)
{
	struct xenstore_domain_interface *intf = c->c_domain ? c->c_domain->d_intf : NULL;

	return intf ? __atomic_load_n(&intf->rsp_prod, __ATOMIC_ACQUIRE) : 0;
}

/* Produces reply bytes into the guest's ring. */
static ssize_t
ring_write(struct conn *c, const void *buf, size_t len)
{
	struct domain *d = c->c_domain;
	struct xenstore_domain_interface *intf;
	XENSTORE_RING_IDX cons, prod;
	size_t space, off;

	if (d == NULL || (intf = d->d_intf) == NULL)
		return -1;
	cons = __atomic_load_n(&intf->rsp_cons, __ATOMIC_ACQUIRE);
	prod = __atomic_load_n(&intf->rsp_prod, __ATOMIC_RELAXED);
	if (prod - cons > XENSTORE_RING_SIZE) {
		intf->error = XENSTORE_ERROR_RINGIDX;
		return -1;
	}
	space = XENSTORE_RING_SIZE - (prod - cons);
	off = MASK_XENSTORE_IDX(prod);
	if (space > XENSTORE_RING_SIZE - off)
		space = XENSTORE_RING_SIZE - off;
	if (len > space)
		len = space;
	if (len == 0)
		return 0;
	memcpy(intf->rsp + off, buf, len);
	__atomic_store_n(&intf->rsp_prod, prod + len, __ATOMIC_RELEASE);
	domain_notify(d);
	return len;
}

/* A dropped ring connection: flag the error and ignore the ring, keep the domain (XSA-325). */
static void
ring_free(struct conn *c)
{
	struct domain *d = c->c_domain;

	if (d == NULL)
		return;
	if (d->d_intf && d->d_intf->error == XENSTORE_ERROR_NONE)
		d->d_intf->error = XENSTORE_ERROR_PROTO;
	d->d_conn = NULL;
}

static const struct conn_ops ring_ops = {
	.co_read = ring_read,
	.co_write = ring_write,
	.co_publish = ring_publish,
	.co_free = ring_free,
};

/* A connection over a domain's ring: unprivileged, as the domain. */
struct conn *
ring_conn_new(struct domain *d)
{
	struct conn *c = conn_new(&ring_ops, d, d->d_domid, false);

	c->c_domain = d;
	c->c_target = d->d_target;
	if (d->d_intf) {
		c->c_ring_rd = d->d_intf->req_cons;
		c->c_out_sent = c->c_jr_out_end = d->d_intf->rsp_prod;
	}
	return c;
}
