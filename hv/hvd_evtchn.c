#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "log.h"
#include "xmalloc.h"

/* Open ports in all spaces, against a budget guests may not exhaust. */
static unsigned hvd_evtchn_nr;

/* Guests may hold ports (two fds each) for 3/4 of hvd's descriptor limit, never all of it. */
static bool
hvd_evtchn_budget_ok(const struct hvd_domain *d)
{
	static unsigned guest_max;

	if (d->domid == 0)
		return true;
	if (guest_max == 0) {
		struct rlimit rl;
		rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
		guest_max = n > 2048 ? (n - 1024) / 2 * 3 / 4 : 256;
	}
	return hvd_evtchn_nr < guest_max;
}

/* The port record, or NULL when out of range or closed. */
struct hvd_port *
hvd_evtchn_port(struct hvd_domain *d, uint32_t port)
{
	if (port == 0 || port >= d->nports || d->ports[port].state == HV_EVTCHN_STATE_CLOSED)
		return NULL;
	return &d->ports[port];
}

/*
 * The lowest free port of d, growing the space up to its limit: each port
 * costs hvd two descriptors, so a guest's space is bounded like xl bounds it.
 */
static int
hvd_evtchn_get_free(struct hvd_domain *d, uint32_t *port)
{
	uint32_t max = d->domid == 0 ? HVD_MAX_PORTS : HVD_MAX_PORTS_DOMU;
	uint32_t p;

	if (!hvd_evtchn_budget_ok(d)) {
		log_warnx("d%u: event channel refused, hvd's port budget is spent", d->domid);
		errno = ENOSPC;
		return -1;
	}

	for (p = 1; p < d->nports; p++)
		if (d->ports[p].state == HV_EVTCHN_STATE_CLOSED)
			break;
	if (p >= d->nports) {
		if (d->nports >= max) {
			errno = ENOSPC;
			return -1;
		}
		uint32_t n = d->nports ? d->nports * 2 : 16;
		if (n > max)
			n = max;
		d->ports = xreallocarray(d->ports, n, sizeof(*d->ports));
		for (uint32_t i = d->nports; i < n; i++)
			d->ports[i] = (struct hvd_port){ .wait_fd = -1, .signal_fd = -1 };
		d->nports = n;
	}
	*port = p;
	return 0;
}

/* Releases hvd's references and frees the slot. */
static void
hvd_evtchn_free(struct hvd_port *p)
{
	hvd_evtchn_nr--;
	if (p->wait_fd >= 0)
		close(p->wait_fd);
	if (p->signal_fd >= 0)
		close(p->signal_fd);
	*p = (struct hvd_port){ .wait_fd = -1, .signal_fd = -1 };
}

/*
 * EVTCHNOP_alloc_unbound: both eventfds of the future pair are made now, so the
 * allocating side can wait and signal at once; the binder gets them crossed.
 */
int
hvd_evtchn_alloc_unbound(struct hvd_domain *d, uint32_t remote_dom, struct hvd_conn *owner,
    uint32_t *port)
{
	struct hvd_port *p;
	int a = -1, b = -1;

	if (remote_dom == DOMID_SELF)
		remote_dom = d->domid;
	if (hvd_evtchn_get_free(d, port) < 0)
		return -1;
	a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a < 0 || b < 0) {
		int saved = errno;
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		errno = saved;
		return -1;
	}
	p = &d->ports[*port];
	hvd_evtchn_nr++;
	*p = (struct hvd_port){
		.state = HV_EVTCHN_STATE_UNBOUND, .owner = owner, .remote_dom = remote_dom,
		.wait_fd = a, .signal_fd = b,
	};
	hvd_keeper_port(d, *port, true);
	return 0;
}

/* EVTCHNOP_bind_interdomain: the remote port must be unbound and waiting for us. */
int
hvd_evtchn_bind_interdomain(struct hvd_domain *d, struct hvd_conn *owner,
    uint32_t remote_dom, uint32_t remote_port, uint32_t *port)
{
	struct hvd_domain *rd;
	struct hvd_port *rp, *p;

	if (remote_dom == DOMID_SELF)
		remote_dom = d->domid;
	rd = hvd_domain_get(remote_dom);
	if (rd == NULL) {
		errno = ESRCH;
		return -1;
	}
	rp = hvd_evtchn_port(rd, remote_port);
	if (rp == NULL || rp->state != HV_EVTCHN_STATE_UNBOUND || rp->remote_dom != d->domid) {
		errno = EINVAL;
		return -1;
	}
	int w = fcntl(rp->signal_fd, F_DUPFD_CLOEXEC, 0);
	int s = w < 0 ? -1 : fcntl(rp->wait_fd, F_DUPFD_CLOEXEC, 0);
	if (s < 0 || hvd_evtchn_get_free(d, port) < 0) {
		int saved = errno;
		if (w >= 0)
			close(w);
		if (s >= 0)
			close(s);
		errno = saved;
		return -1;
	}
	/* the port space may have moved when it grew */
	rp = &rd->ports[remote_port];
	p = &d->ports[*port];
	hvd_evtchn_nr++;
	*p = (struct hvd_port){
		.state = HV_EVTCHN_STATE_INTERDOMAIN, .owner = owner, .remote_dom = remote_dom,
		.remote_port = remote_port, .wait_fd = w, .signal_fd = s,
	};
	rp->state = HV_EVTCHN_STATE_INTERDOMAIN;
	rp->remote_port = *port;
	hvd_keeper_port(d, *port, true);
	hvd_keeper_port(rd, remote_port, false);
	return 0;
}

/*
 * EVTCHNOP_bind_virq. Unlike Xen, where a VIRQ binds once per vCPU, any number
 * of dom0 handles may bind VIRQ_DOM_EXC, each to its own port: our dom0 is
 * many processes (xenstored, the toolstack monitors), not one kernel.
 */
int
hvd_evtchn_bind_virq(struct hvd_domain *d, struct hvd_conn *owner, uint32_t virq,
    uint32_t *port)
{
	int fd;

	if (virq >= NR_VIRQS) {
		errno = EINVAL;
		return -1;
	}
	if (hvd_evtchn_get_free(d, port) < 0)
		return -1;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -1;
	hvd_evtchn_nr++;
	d->ports[*port] = (struct hvd_port){
		.state = HV_EVTCHN_STATE_VIRQ, .owner = owner, .virq = virq,
		.wait_fd = fd, .signal_fd = -1,
	};
	hvd_keeper_port(d, *port, true);
	return 0;
}

/* Guest side of a port the toolstack made for it: the first connection to ask takes it. */
int
hvd_evtchn_attach(struct hvd_domain *d, struct hvd_conn *owner, uint32_t port)
{
	struct hvd_port *p = hvd_evtchn_port(d, port);

	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (p->owner != NULL && p->owner != owner) {
		errno = EBUSY;
		return -1;
	}
	if (p->owner != owner) {
		p->owner = owner;
		hvd_keeper_port(d, port, false);
	}
	return 0;
}

/* Closes one end; an interdomain peer goes back to unbound, waiting for us, as in Xen. */
static void
hvd_evtchn_do_close(struct hvd_domain *d, uint32_t port)
{
	struct hvd_port *p = &d->ports[port];

	if (p->state == HV_EVTCHN_STATE_INTERDOMAIN) {
		struct hvd_domain *rd = hvd_domain_get(p->remote_dom);
		struct hvd_port *rp = rd ? hvd_evtchn_port(rd, p->remote_port) : NULL;
		if (rp && rp->state == HV_EVTCHN_STATE_INTERDOMAIN &&
		    rp->remote_dom == d->domid && rp->remote_port == port) {
			rp->state = HV_EVTCHN_STATE_UNBOUND;
			rp->remote_port = 0;
			hvd_keeper_port(rd, p->remote_port, false);
		}
	}
	hvd_evtchn_free(p);
	hvd_keeper_del(HVK_PORT, d->domid, port);
}

/* EVTCHNOP_close on behalf of a connection: only the owner may close. */
int
hvd_evtchn_close(struct hvd_domain *d, struct hvd_conn *owner, uint32_t port)
{
	struct hvd_port *p = hvd_evtchn_port(d, port);

	if (p == NULL || (p->owner != NULL && p->owner != owner)) {
		errno = EINVAL;
		return -1;
	}
	hvd_evtchn_do_close(d, port);
	return 0;
}

/* A connection went away (owner) or the domain is destroyed (owner NULL). */
void
hvd_evtchn_close_all(struct hvd_domain *d, struct hvd_conn *owner)
{
	for (uint32_t port = 1; port < d->nports; port++) {
		struct hvd_port *p = &d->ports[port];
		if (p->state == HV_EVTCHN_STATE_CLOSED)
			continue;
		if (owner == NULL || p->owner == owner)
			hvd_evtchn_do_close(d, port);
	}
	if (owner == NULL) {
		free(d->ports);
		d->ports = NULL;
		d->nports = 0;
	}
}

/* send_global_virq: every dom0 port bound to virq gets one event. */
void
hvd_evtchn_fire_virq(uint32_t virq)
{
	struct hvd_domain *d0 = hvd_domain_get(0);
	uint64_t one = 1;

	for (uint32_t port = 1; d0 && port < d0->nports; port++) {
		struct hvd_port *p = &d0->ports[port];
		if (p->state == HV_EVTCHN_STATE_VIRQ && p->virq == virq &&
		    write(p->wait_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("virq %u port %u", virq, port);
	}
}

/* A restarted hvd takes over a port the keeper held (owner: its connection, if still there). */
int
hvd_evtchn_adopt(struct hvd_domain *d, uint32_t port, const struct hvk_port *r,
    struct hvd_conn *owner, int wait_fd, int signal_fd)
{
	uint32_t max = d->domid == 0 ? HVD_MAX_PORTS : HVD_MAX_PORTS_DOMU;

	if (port == 0 || port >= max || (r->state != HV_EVTCHN_STATE_UNBOUND &&
	    r->state != HV_EVTCHN_STATE_INTERDOMAIN && r->state != HV_EVTCHN_STATE_VIRQ) ||
	    (r->state == HV_EVTCHN_STATE_VIRQ) != (signal_fd < 0)) {
		errno = EINVAL;
		return -1;
	}
	if (port >= d->nports) {
		uint32_t n = d->nports ? d->nports : 16;
		while (n <= port)
			n *= 2;
		if (n > max)
			n = max;
		d->ports = xreallocarray(d->ports, n, sizeof(*d->ports));
		for (uint32_t i = d->nports; i < n; i++)
			d->ports[i] = (struct hvd_port){ .wait_fd = -1, .signal_fd = -1 };
		d->nports = n;
	}
	if (d->ports[port].state != HV_EVTCHN_STATE_CLOSED) {
		errno = EEXIST;
		return -1;
	}
	d->ports[port] = (struct hvd_port){
		.state = r->state, .owner = owner, .remote_dom = r->remote_dom,
		.remote_port = r->remote_port, .virq = r->virq, .wait_fd = wait_fd,
		.signal_fd = signal_fd,
	};
	hvd_evtchn_nr++;
	return 0;
}
