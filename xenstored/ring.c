/*
 * The guest transport: struct xenstore_domain_interface, one shared page per
 * guest. Indexes are read once per access and checked (prod - cons <= ring
 * size); a violation sets the page's error field and drops the connection,
 * while the domain itself stays known until it dies (XSA-325).
 */
#include <string.h>

#include "domain.h"
#include "xenstored.h"

/* Consumes request bytes from the guest's ring; indexes are read once and checked. */
static ssize_t
ring_read(struct conn *c, void *buf, size_t len)
{
	struct domain *d = c->c_domain;
	struct xenstore_domain_interface *intf;
	XENSTORE_RING_IDX cons, prod;
	size_t avail, off;

	if (d == NULL || (intf = d->d_intf) == NULL)
		return -1;
	cons = __atomic_load_n(&intf->req_cons, __ATOMIC_RELAXED);
	prod = __atomic_load_n(&intf->req_prod, __ATOMIC_ACQUIRE);
	if (prod - cons > XENSTORE_RING_SIZE) {
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
	__atomic_store_n(&intf->req_cons, cons + len, __ATOMIC_RELEASE);
	domain_notify(d);
	return len;
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
	.co_free = ring_free,
};

/* A connection over a domain's ring: unprivileged, as the domain. */
struct conn *
ring_conn_new(struct domain *d)
{
	struct conn *c = conn_new(&ring_ops, d, d->d_domid, false);

	c->c_domain = d;
	c->c_target = d->d_target;
	return c;
}
