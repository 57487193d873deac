#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "libhv_priv.h"
#include "msg.h"
#include "xmalloc.h"

/* One bound port as this handle sees it: the eventfd it waits on and the one it signals. */
struct hv_evtchn_port {
	hv_port_t port;
	int wait_fd;
	int signal_fd;		/* -1 for a VIRQ */
	bool own_loop;		/* taken out of the epoll set by hv_evtchn_port_fd */
};

struct hv_evtchn {
	struct hv *hv;
	int epfd;
	struct hv_evtchn_port *ports;
	unsigned nports, cap;
};

/* xenevtchn_open: one epoll set stands for /dev/xen/evtchn. */
struct hv_evtchn *
hv_evtchn_open(struct hv *hv)
{
	struct hv_evtchn *xce;
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0)
		return NULL;
	xce = xcalloc(1, sizeof(*xce));
	xce->hv = hv;
	xce->epfd = epfd;
	return xce;
}

/* The handle's record for port, or NULL. */
static struct hv_evtchn_port *
hv_evtchn_find(struct hv_evtchn *xce, hv_port_t port)
{
	for (unsigned i = 0; i < xce->nports; i++)
		if (xce->ports[i].port == port)
			return &xce->ports[i];
	return NULL;
}

/* Takes the fds of a freshly bound port into the handle. */
static int
hv_evtchn_adopt(struct hv_evtchn *xce, hv_port_t port, int wait_fd, int signal_fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = port };
	struct hv_evtchn_port *p;

	if (epoll_ctl(xce->epfd, EPOLL_CTL_ADD, wait_fd, &ev) < 0)
		return -1;
	if (xce->nports == xce->cap) {
		xce->cap = xce->cap ? xce->cap * 2 : 8;
		xce->ports = xreallocarray(xce->ports, xce->cap, sizeof(*xce->ports));
	}
	p = &xce->ports[xce->nports++];
	p->port = port;
	p->wait_fd = wait_fd;
	p->signal_fd = signal_fd;
	p->own_loop = false;
	return 0;
}

/* Sends a binding request and adopts the port and fds of its reply. */
static int
hv_evtchn_bind(struct hv_evtchn *xce, uint32_t type, const void *req, size_t len, int want_fds)
{
	struct hv_rep_evtchn_port r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };

	if (hv_call(xce->hv, type, req, len, &rep) < 0)
		return -1;
	if (rep.len != sizeof(r) || rep.nfds != want_fds || hv_evtchn_find(xce, r.port))
		goto proto;
	if (hv_evtchn_adopt(xce, r.port, rep.fds[0], want_fds == 2 ? rep.fds[1] : -1) < 0) {
		int saved = errno;
		struct hv_req_evtchn_port c = { .port = r.port };
		msg_close_fds(rep.fds, rep.nfds);
		hv_call(xce->hv, HV_EVTCHN_CLOSE, &c, sizeof(c), NULL);
		errno = saved;
		return -1;
	}
	return r.port;
proto:
	msg_close_fds(rep.fds, rep.nfds);
	errno = EPROTO;
	return -1;
}

/* xenevtchn_bind_unbound_port: a port in our space for remote_dom. */
int
hv_evtchn_bind_unbound_port(struct hv_evtchn *xce, hv_domid_t remote_dom)
{
	struct hv_req_evtchn_alloc_unbound req = { .dom = DOMID_SELF, .remote_dom = remote_dom };

	return hv_evtchn_bind(xce, HV_EVTCHN_ALLOC_UNBOUND, &req, sizeof(req), 2);
}

/* xenevtchn_bind_interdomain: connects to remote_dom's unbound port. */
int
hv_evtchn_bind_interdomain(struct hv_evtchn *xce, hv_domid_t remote_dom, hv_port_t remote_port)
{
	struct hv_req_evtchn_bind_interdomain req = {
		.remote_dom = remote_dom, .remote_port = remote_port,
	};

	return hv_evtchn_bind(xce, HV_EVTCHN_BIND_INTERDOMAIN, &req, sizeof(req), 2);
}

/* xenevtchn_bind_virq (dom0). */
int
hv_evtchn_bind_virq(struct hv_evtchn *xce, unsigned virq)
{
	struct hv_req_evtchn_bind_virq req = { .virq = virq };

	return hv_evtchn_bind(xce, HV_EVTCHN_BIND_VIRQ, &req, sizeof(req), 1);
}

/* Guest: takes a port that the toolstack allocated in our space (start_info's). */
int
hv_evtchn_attach(struct hv_evtchn *xce, hv_port_t port)
{
	struct hv_req_evtchn_port req = { .port = port };

	if (hv_evtchn_find(xce, port))
		return port;
	return hv_evtchn_bind(xce, HV_EVTCHN_ATTACH, &req, sizeof(req), 2);
}

/* Forgets a port locally: out of the epoll set, fds closed. */
static void
hv_evtchn_drop(struct hv_evtchn *xce, struct hv_evtchn_port *p)
{
	if (!p->own_loop)
		epoll_ctl(xce->epfd, EPOLL_CTL_DEL, p->wait_fd, NULL);
	close(p->wait_fd);
	if (p->signal_fd >= 0)
		close(p->signal_fd);
	*p = xce->ports[--xce->nports];
}

/* xenevtchn_unbind: closes the port in hvd; its peer becomes unbound. */
int
hv_evtchn_unbind(struct hv_evtchn *xce, hv_port_t port)
{
	struct hv_evtchn_port *p = hv_evtchn_find(xce, port);
	struct hv_req_evtchn_port req = { .port = port };

	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	hv_evtchn_drop(xce, p);
	return hv_call(xce->hv, HV_EVTCHN_CLOSE, &req, sizeof(req), NULL);
}

/* xenevtchn_close: unbinds every port the handle holds. */
void
hv_evtchn_close(struct hv_evtchn *xce)
{
	if (xce == NULL)
		return;
	while (xce->nports)
		hv_evtchn_unbind(xce, xce->ports[0].port);
	free(xce->ports);
	close(xce->epfd);
	free(xce);
}

/* The one pollable fd for all the handle's ports. */
int
hv_evtchn_fd(struct hv_evtchn *xce)
{
	return xce->epfd;
}

/* One write() on the peer's eventfd; hvd is not involved. */
int
hv_evtchn_notify(struct hv_evtchn *xce, hv_port_t port)
{
	struct hv_evtchn_port *p = hv_evtchn_find(xce, port);
	uint64_t one = 1;

	if (p == NULL || p->signal_fd < 0) {
		errno = EINVAL;
		return -1;
	}
	/* EAGAIN means the counter is saturated: the event is pending anyway. */
	if (write(p->signal_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

/* Reads (and so consumes) a port's eventfd counter; 0 when nothing was pending. */
static int
hv_evtchn_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return errno == EAGAIN ? 0 : -1;
	return v > INT32_MAX ? INT32_MAX : (int)v;
}

/* xenevtchn_pending: the next port with an event, consumed. */
int
hv_evtchn_pending(struct hv_evtchn *xce)
{
	struct epoll_event ev;

	for (;;) {
		int n = epoll_wait(xce->epfd, &ev, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EAGAIN;
			return -1;
		}
		struct hv_evtchn_port *p = hv_evtchn_find(xce, ev.data.u32);
		if (p == NULL || p->own_loop)
			continue;
		if (hv_evtchn_drain(p->wait_fd) > 0)
			return p->port;
	}
}

/* xenevtchn_unmask: events are consumed by pending, so there is no mask to lift. */
int
hv_evtchn_unmask(struct hv_evtchn *xce, hv_port_t port)
{
	if (hv_evtchn_find(xce, port) == NULL) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Hands a port's eventfd to a caller's own loop; it leaves the handle's epoll set. */
int
hv_evtchn_port_fd(struct hv_evtchn *xce, hv_port_t port)
{
	struct hv_evtchn_port *p = hv_evtchn_find(xce, port);

	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (!p->own_loop) {
		epoll_ctl(xce->epfd, EPOLL_CTL_DEL, p->wait_fd, NULL);
		p->own_loop = true;
	}
	return p->wait_fd;
}

/* Hands both of a port's eventfds to a caller that passes them to a worker. */
int
hv_evtchn_port_fds(struct hv_evtchn *xce, hv_port_t port, int *wait_fd, int *signal_fd)
{
	struct hv_evtchn_port *p = hv_evtchn_find(xce, port);

	if (p == NULL || p->signal_fd < 0) {
		errno = EINVAL;
		return -1;
	}
	if (hv_evtchn_port_fd(xce, port) < 0)
		return -1;
	*wait_fd = p->wait_fd;
	*signal_fd = p->signal_fd;
	return 0;
}

/* Drains a port that lives on the caller's loop. */
int
hv_evtchn_ack(struct hv_evtchn *xce, hv_port_t port)
{
	struct hv_evtchn_port *p = hv_evtchn_find(xce, port);

	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	return hv_evtchn_drain(p->wait_fd);
}

/* xc_evtchn_alloc_unbound: dom0 makes a port in dom's space for remote_dom. */
int
hv_evtchn_alloc_unbound(struct hv *hv, hv_domid_t dom, hv_domid_t remote_dom)
{
	struct hv_req_evtchn_alloc_unbound req = { .dom = dom, .remote_dom = remote_dom };
	struct hv_rep_evtchn_port r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };

	if (hv_call(hv, HV_EVTCHN_ALLOC_UNBOUND, &req, sizeof(req), &rep) < 0)
		return -1;
	msg_close_fds(rep.fds, rep.nfds);
	if (rep.len != sizeof(r)) {
		errno = EPROTO;
		return -1;
	}
	return r.port;
}
