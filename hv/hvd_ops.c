#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "hvd_maptrack.h"
#include "hv_maptrack.h"
#include "log.h"

uint64_t hvd_start_time;

/* A domain named by a request: never dom0 for the domain-control calls. */
static struct hvd_domain *
hvd_ops_domu(uint32_t domid)
{
	struct hvd_domain *d = domid == 0 ? NULL : hvd_domain_get(domid);

	if (d == NULL)
		errno = domid == 0 ? EINVAL : ESRCH;
	return d;
}

/* Puts a reply payload in place. */
static void
hvd_ops_reply(struct hvd_req *r, const void *buf, size_t len)
{
	memcpy(r->rep, buf, len);
	r->rep_len = len;
}

/* XEN_DOMCTL_createdomain. */
static int
hvd_ops_create(struct hvd_req *r)
{
	struct hv_req_domain_create req;
	struct hv_rep_domain_create rep = { 0 };

	memcpy(&req, r->payload, sizeof(req));
	if (hvd_domain_create(&req, &rep.domid) < 0)
		return -1;
	hvd_ops_reply(r, &rep, sizeof(rep));
	return 0;
}

/* The domain builder: start_info, reserved grants, the kernel program. */
static int
hvd_ops_build(struct hvd_req *r)
{
	static struct hv_req_domain_build req;	/* 2 KiB: kept off the stack */
	struct hv_rep_domain_build rep = { 0 };
	struct hvd_domain *d;

	memcpy(&req, r->payload, sizeof(req));
	d = hvd_ops_domu(req.domid);
	if (d == NULL || hvd_build(d, &req, &rep) < 0)
		return -1;
	hvd_ops_reply(r, &rep, sizeof(rep));
	return 0;
}

/* The payload of destroy, pause, unpause and memfd. */
static struct hvd_domain *
hvd_ops_target(struct hvd_req *r)
{
	struct hv_req_domid req;

	memcpy(&req, r->payload, sizeof(req));
	return hvd_ops_domu(req.domid);
}

/* XEN_DOMCTL_destroydomain. */
static int
hvd_ops_destroy(struct hvd_req *r)
{
	struct hvd_domain *d = hvd_ops_target(r);

	if (d == NULL)
		return -1;
	hvd_domain_destroy(d);
	return 0;
}

/* XEN_DOMCTL_pausedomain. */
static int
hvd_ops_pause(struct hvd_req *r)
{
	struct hvd_domain *d = hvd_ops_target(r);

	return d ? hvd_domain_pause(d) : -1;
}

/* XEN_DOMCTL_unpausedomain. */
static int
hvd_ops_unpause(struct hvd_req *r)
{
	struct hvd_domain *d = hvd_ops_target(r);

	return d ? hvd_domain_unpause(d) : -1;
}

/* XEN_SYSCTL_getdomaininfolist: as many domains from first_domid on as fit. */
static int
hvd_ops_getinfo(struct hvd_req *r)
{
	struct hv_req_domain_getinfo req;
	struct hv_rep_domain_getinfo rep = { 0 };
	size_t room = (r->rep_cap - sizeof(rep)) / sizeof(struct hv_dominfo_wire);
	struct hvd_domain *d;
	uint32_t next;

	memcpy(&req, r->payload, sizeof(req));
	if (req.max < room)
		room = req.max;
	r->rep_len = sizeof(rep);
	for (next = req.first_domid; rep.count < room && (d = hvd_domain_next(next)); next = d->domid + 1) {
		struct hv_dominfo_wire w;
		hvd_domain_info(d, &w);
		memcpy(r->rep + r->rep_len, &w, sizeof(w));
		r->rep_len += sizeof(w);
		rep.count++;
	}
	memcpy(r->rep, &rep, sizeof(rep));
	return 0;
}

/* XEN_DOMCTL_max_mem. */
static int
hvd_ops_setmaxmem(struct hvd_req *r)
{
	struct hv_req_domain_setmaxmem req;
	struct hvd_domain *d;

	memcpy(&req, r->payload, sizeof(req));
	d = hvd_ops_domu(req.domid);
	if (d == NULL)
		return -1;
	/* The memfd is sealed at its size: the ceiling can be recorded, not raised past it. */
	if (req.max_kib < HV_MIN_MEM_PAGES * (HVD_PAGE_SIZE / 1024)) {
		errno = EINVAL;
		return -1;
	}
	d->max_mem_kib = req.max_kib;
	hvd_keeper_dom(d, false);
	/* the host-side limit follows, so a balloon target is also what the kernel enforces */
	if (d->built && d->cgroup && hvd_limits_set_memory(d, hvd_build_mem_limit(d)) < 0)
		log_warn("d%u: memory limit", d->domid);
	return 0;
}

/* XEN_DOMCTL_setvcpuaffinity, for all the domain's vCPUs at once. */
static int
hvd_ops_setaffinity(struct hvd_req *r)
{
	struct hv_req_vcpu_affinity req;
	struct hvd_domain *d;

	memcpy(&req, r->payload, sizeof(req));
	if ((d = hvd_ops_domu(req.domid)) == NULL)
		return -1;
	return hvd_affinity_set(d, req.map, req.pinned != 0);
}

/* XEN_DOMCTL_getvcpuaffinity. */
static int
hvd_ops_getaffinity(struct hvd_req *r)
{
	struct hv_req_domid req;
	struct hv_req_vcpu_affinity rep = { 0 };
	struct hvd_domain *d;

	memcpy(&req, r->payload, sizeof(req));
	if ((d = hvd_ops_domu(req.domid)) == NULL)
		return -1;
	rep.domid = d->domid;
	rep.pinned = d->pinned;
	memcpy(rep.map, d->affinity, sizeof(rep.map));
	hvd_ops_reply(r, &rep, sizeof(rep));
	return 0;
}

/* dom0 forces a shutdown reason (xc_domain_shutdown). */
static int
hvd_ops_shutdown(struct hvd_req *r)
{
	struct hv_req_domain_shutdown req;
	struct hvd_domain *d;

	memcpy(&req, r->payload, sizeof(req));
	d = hvd_ops_domu(req.domid);
	if (d == NULL)
		return -1;
	if (req.reason > SHUTDOWN_MAX) {
		errno = EINVAL;
		return -1;
	}
	hvd_domain_shutdown(d, req.reason);
	return 0;
}

/* Hands a privileged dom0 process the domain's memory, mapped once per process. */
static int
hvd_ops_memfd(struct hvd_req *r)
{
	struct hvd_domain *d = hvd_ops_target(r);
	struct hv_rep_domain_memfd rep = {
		.gnttab_pfn = HV_PFN_GNTTAB, .gnttab_frames = HV_GNTTAB_FRAMES,
	};

	if (d == NULL)
		return -1;
	rep.nr_pages = d->nr_pages;
	hvd_ops_reply(r, &rep, sizeof(rep));
	r->fds[0] = d->memfd;
	r->nfds = 1;
	return 0;
}

/* The caller's maptrack slot for a domain it maps grants of; a lease drops its other rights. */
static int
hvd_ops_maptrack(struct hvd_req *r)
{
	struct hv_req_domain_maptrack req;
	struct hv_rep_domain_maptrack rep = { .nr_slots = HV_MT_SLOTS };
	struct hvd_domain *d;

	memcpy(&req, r->payload, sizeof(req));
	if ((d = hvd_ops_domu(req.domid)) == NULL)
		return -1;
	if (req.flags & ~HV_MAPTRACK_LEASE) {
		errno = EINVAL;
		return -1;
	}
	if (hvd_maptrack_attach(d, r->conn, &rep.slot, &r->fds[0], &rep.nr_refs, &rep.size) < 0)
		return -1;
	r->nfds = 1;
	if (req.flags & HV_MAPTRACK_LEASE)
		hvd_conn_restrict(r->conn);
	hvd_ops_reply(r, &rep, sizeof(rep));
	return 0;
}

/* XEN_SYSCTL_readconsole, for xl dmesg. */
static int
hvd_ops_console_read(struct hvd_req *r)
{
	struct hv_req_console_read req;

	memcpy(&req, r->payload, sizeof(req));
	r->rep_len = hvd_console_read((char *)r->rep, r->rep_cap, req.clear != 0);
	return 0;
}

/* XEN_SYSCTL_physinfo, for xl info. */
static int
hvd_ops_physinfo(struct hvd_req *r)
{
	struct hv_rep_physinfo rep = { 0 };

	rep.nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	rep.nr_domains = hvd_domain_count();
	rep.total_kib = hvd_domain_meminfo("MemTotal");
	rep.free_kib = hvd_domain_meminfo("MemAvailable");
	rep.start_time = hvd_start_time;
	snprintf(rep.version, sizeof(rep.version), "pvstack-hvd-%d", HV_PROTO_VERSION);
	hvd_ops_reply(r, &rep, sizeof(rep));
	return 0;
}

/* Replies with a port and, when the caller holds it, the fds it waits on and signals. */
static int
hvd_ops_port_reply(struct hvd_req *r, struct hvd_domain *d, uint32_t port, bool with_fds)
{
	struct hv_rep_evtchn_port rep = { .port = port };
	struct hvd_port *p = hvd_evtchn_port(d, port);

	hvd_ops_reply(r, &rep, sizeof(rep));
	if (with_fds) {
		r->fds[r->nfds++] = p->wait_fd;
		if (p->signal_fd >= 0)
			r->fds[r->nfds++] = p->signal_fd;
	}
	return 0;
}

/* EVTCHNOP_alloc_unbound, in our own space or (dom0) in another domain's. */
static int
hvd_ops_alloc_unbound(struct hvd_req *r)
{
	struct hv_req_evtchn_alloc_unbound req;
	struct hvd_domain *d = r->dom;
	uint32_t port;
	bool self;

	memcpy(&req, r->payload, sizeof(req));
	self = req.dom == DOMID_SELF || req.dom == r->dom->domid;
	if (!self) {
		/* only privileged dom0 allocates in another domain's space */
		d = r->dom->domid == 0 ? hvd_domain_get(req.dom) : NULL;
		if (d == NULL) {
			errno = r->dom->domid == 0 ? ESRCH : EPERM;
			return -1;
		}
	}
	if (req.remote_dom != DOMID_SELF && hvd_domain_get(req.remote_dom) == NULL) {
		errno = ESRCH;
		return -1;
	}
	if (hvd_evtchn_alloc_unbound(d, req.remote_dom == DOMID_SELF ? r->dom->domid : req.remote_dom,
	    self ? r->conn : NULL, &port) < 0)
		return -1;
	return hvd_ops_port_reply(r, d, port, self);
}

/* EVTCHNOP_bind_interdomain. */
static int
hvd_ops_bind_interdomain(struct hvd_req *r)
{
	struct hv_req_evtchn_bind_interdomain req;
	uint32_t port;

	memcpy(&req, r->payload, sizeof(req));
	if (hvd_evtchn_bind_interdomain(r->dom, r->conn, req.remote_dom, req.remote_port, &port) < 0)
		return -1;
	return hvd_ops_port_reply(r, r->dom, port, true);
}

/* EVTCHNOP_bind_virq (dom0). */
static int
hvd_ops_bind_virq(struct hvd_req *r)
{
	struct hv_req_evtchn_bind_virq req;
	uint32_t port;

	memcpy(&req, r->payload, sizeof(req));
	if (hvd_evtchn_bind_virq(r->dom, r->conn, req.virq, &port) < 0)
		return -1;
	return hvd_ops_port_reply(r, r->dom, port, true);
}

/* EVTCHNOP_close. */
static int
hvd_ops_evtchn_close(struct hvd_req *r)
{
	struct hv_req_evtchn_port req;

	memcpy(&req, r->payload, sizeof(req));
	return hvd_evtchn_close(r->dom, r->conn, req.port);
}

/* Gives a guest the fds of a port the toolstack made in its space. */
static int
hvd_ops_evtchn_attach(struct hvd_req *r)
{
	struct hv_req_evtchn_port req;

	memcpy(&req, r->payload, sizeof(req));
	if (hvd_evtchn_attach(r->dom, r->conn, req.port) < 0)
		return -1;
	return hvd_ops_port_reply(r, r->dom, req.port, true);
}

/* EVTCHNOP_status, for a port in the caller's own space. */
static int
hvd_ops_evtchn_status(struct hvd_req *r)
{
	struct hv_req_evtchn_port req;
	struct hv_rep_evtchn_status rep = { 0 };
	struct hvd_port *p;

	memcpy(&req, r->payload, sizeof(req));
	p = hvd_evtchn_port(r->dom, req.port);
	if (p) {
		rep.state = p->state;
		rep.remote_dom = p->remote_dom;
		rep.remote_port = p->remote_port;
		rep.virq = p->virq;
	}
	hvd_ops_reply(r, &rep, sizeof(rep));
	return 0;
}

/* A guest's first call: who it is and its memory. */
static int
hvd_ops_hello(struct hvd_req *r)
{
	struct hvd_domain *d = r->dom;
	struct hv_rep_guest_hello rep = {
		.domid = d->domid, .nr_pages = d->nr_pages, .start_info_pfn = HV_PFN_START_INFO,
		.gnttab_pfn = HV_PFN_GNTTAB, .gnttab_frames = HV_GNTTAB_FRAMES,
	};

	hvd_ops_reply(r, &rep, sizeof(rep));
	r->fds[0] = d->memfd;
	r->nfds = 1;
	return 0;
}

/* SCHEDOP_shutdown: the guest is killed, so no reply. */
static int
hvd_ops_guest_shutdown(struct hvd_req *r)
{
	struct hv_req_guest_shutdown req;

	memcpy(&req, r->payload, sizeof(req));
	if (req.reason > SHUTDOWN_MAX) {
		errno = EINVAL;
		return -1;
	}
	hvd_domain_shutdown(r->dom, req.reason);
	r->no_reply = true;
	return 0;
}

/* CONSOLEIO_write into the hypervisor console ring. */
static int
hvd_ops_console_io(struct hvd_req *r)
{
	hvd_console_guest(r->dom->domid, r->payload, r->hdr->len);
	return 0;
}

#define ANY UINT32_MAX
/* Dispatch table: handler, who may call it, exact payload size. */
static const struct hvd_op hvd_ops[] = {
	[HV_DOMAIN_CREATE] = { hvd_ops_create, HVD_DOM0, sizeof(struct hv_req_domain_create) },
	[HV_DOMAIN_BUILD] = { hvd_ops_build, HVD_DOM0, sizeof(struct hv_req_domain_build) },
	[HV_DOMAIN_DESTROY] = { hvd_ops_destroy, HVD_DOM0, sizeof(struct hv_req_domid) },
	[HV_DOMAIN_PAUSE] = { hvd_ops_pause, HVD_DOM0, sizeof(struct hv_req_domid) },
	[HV_DOMAIN_UNPAUSE] = { hvd_ops_unpause, HVD_DOM0, sizeof(struct hv_req_domid) },
	[HV_DOMAIN_GETINFO] = { hvd_ops_getinfo, HVD_DOM0_RO, sizeof(struct hv_req_domain_getinfo) },
	[HV_DOMAIN_SETMAXMEM] = { hvd_ops_setmaxmem, HVD_DOM0, sizeof(struct hv_req_domain_setmaxmem) },
	[HV_DOMAIN_SHUTDOWN] = { hvd_ops_shutdown, HVD_DOM0, sizeof(struct hv_req_domain_shutdown) },
	[HV_DOMAIN_MEMFD] = { hvd_ops_memfd, HVD_DOM0, sizeof(struct hv_req_domid) },
	[HV_DOMAIN_MAPTRACK] = { hvd_ops_maptrack, HVD_DOM0, sizeof(struct hv_req_domain_maptrack) },
	[HV_CONSOLE_READ] = { hvd_ops_console_read, HVD_DOM0, sizeof(struct hv_req_console_read) },
	[HV_PHYSINFO] = { hvd_ops_physinfo, HVD_DOM0_RO, 0 },
	[HV_VCPU_SETAFFINITY] = { hvd_ops_setaffinity, HVD_DOM0, sizeof(struct hv_req_vcpu_affinity) },
	[HV_VCPU_GETAFFINITY] = { hvd_ops_getaffinity, HVD_DOM0_RO, sizeof(struct hv_req_domid) },
	[HV_EVTCHN_ALLOC_UNBOUND] = { hvd_ops_alloc_unbound, HVD_DOM0 | HVD_GUEST,
	    sizeof(struct hv_req_evtchn_alloc_unbound) },
	[HV_EVTCHN_BIND_INTERDOMAIN] = { hvd_ops_bind_interdomain, HVD_DOM0 | HVD_GUEST,
	    sizeof(struct hv_req_evtchn_bind_interdomain) },
	[HV_EVTCHN_BIND_VIRQ] = { hvd_ops_bind_virq, HVD_DOM0, sizeof(struct hv_req_evtchn_bind_virq) },
	[HV_EVTCHN_CLOSE] = { hvd_ops_evtchn_close, HVD_DOM0 | HVD_GUEST, sizeof(struct hv_req_evtchn_port) },
	[HV_EVTCHN_ATTACH] = { hvd_ops_evtchn_attach, HVD_DOM0 | HVD_GUEST, sizeof(struct hv_req_evtchn_port) },
	[HV_EVTCHN_STATUS] = { hvd_ops_evtchn_status, HVD_DOM0 | HVD_GUEST, sizeof(struct hv_req_evtchn_port) },
	[HV_GUEST_HELLO] = { hvd_ops_hello, HVD_GUEST, 0 },
	[HV_GUEST_SHUTDOWN] = { hvd_ops_guest_shutdown, HVD_GUEST, sizeof(struct hv_req_guest_shutdown) },
	[HV_GUEST_CONSOLE_IO] = { hvd_ops_console_io, HVD_GUEST, ANY },
};

/* The table entry for a message type, or NULL (ENOSYS). */
const struct hvd_op *
hvd_ops_lookup(uint32_t type)
{
	if (type >= sizeof(hvd_ops) / sizeof(hvd_ops[0]) || hvd_ops[type].handler == NULL)
		return NULL;
	return &hvd_ops[type];
}
