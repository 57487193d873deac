/*
 * The hvd wire protocol: one SOCK_SEQPACKET message per request and per reply,
 * descriptors by SCM_RIGHTS. Shared by hvd and libhv, nobody else.
 *
 * Every message starts with struct hv_msg_hdr; the payload is one struct per
 * type, read through a length-checked reader. A reply carries the request's
 * type and id, rc = 0 or a negative errno, and the reply payload of that type.
 * Retired type values are never reused.
 */
#ifndef PVSTACK_HV_PROTO_H
#define PVSTACK_HV_PROTO_H

#include <stdint.h>

/*
 * xen/xen.h defines console_mfn and console_evtchn as macros (an old
 * start_info compatibility spelling), which would turn our field names into
 * console.domU.mfn. Include it here, once, and drop those two macros; write
 * start_info's fields out in full (si->console.domU.mfn).
 */
#include <xen/xen.h>
#undef console_mfn
#undef console_evtchn

#define HV_PROTO_VERSION	1
#define HV_MSG_MAX		8192	/* header + payload, either direction */
#define HV_CMDLINE_MAX		1024	/* MAX_GUEST_CMDLINE */
#define HV_PATH_MAX		1024
#define HV_GUEST_FD_ENV		"PVSTACK_HV_FD"	/* guest: its channel's fd number */
#define HV_GUEST_FD		3

struct hv_msg_hdr {
	uint32_t type;		/* enum hv_msg_type */
	uint32_t len;		/* payload bytes after this header */
	uint32_t id;		/* chosen by the client, echoed */
	int32_t rc;		/* replies: 0 or -errno; requests: 0 */
};

enum hv_msg_type {
	/* 1-31: domain control, dom0 only (getinfo also for unprivileged dom0 users) */
	HV_DOMAIN_CREATE = 1,
	HV_DOMAIN_BUILD = 2,
	HV_DOMAIN_DESTROY = 3,
	HV_DOMAIN_PAUSE = 4,
	HV_DOMAIN_UNPAUSE = 5,
	HV_DOMAIN_GETINFO = 6,
	HV_DOMAIN_SETMAXMEM = 7,
	HV_DOMAIN_SHUTDOWN = 8,		/* dom0 forces a shutdown reason (xc_domain_shutdown) */
	HV_DOMAIN_MEMFD = 9,		/* reply carries the domain's memfd */
	HV_CONSOLE_READ = 10,		/* hypervisor console ring, for xl dmesg */
	HV_PHYSINFO = 11,		/* for xl info */
	HV_VCPU_SETAFFINITY = 12,	/* the CPUs a domain's processes may run on */
	HV_VCPU_GETAFFINITY = 13,
	HV_DOMAIN_MAPTRACK = 14,	/* a slot in the domain's maptrack; reply carries its memfd */

	/* 32-63: event channels, dom0 and guests */
	HV_EVTCHN_ALLOC_UNBOUND = 32,	/* dom0 may name another domain */
	HV_EVTCHN_BIND_INTERDOMAIN = 33,
	HV_EVTCHN_BIND_VIRQ = 34,	/* dom0 only */
	HV_EVTCHN_CLOSE = 35,
	HV_EVTCHN_ATTACH = 36,		/* fds of a port already in the caller's own space */
	HV_EVTCHN_STATUS = 37,

	/* 64-95: guest-only hypercalls */
	HV_GUEST_HELLO = 64,		/* reply carries the memfd */
	HV_GUEST_SHUTDOWN = 65,		/* SCHEDOP_shutdown */
	HV_GUEST_CONSOLE_IO = 66,	/* CONSOLEIO_write: early printk into hvd's log */
};

/* Domain state flags, as xl prints them: r b p s c d. */
#define HV_DOMINF_RUNNING	(1u << 0)
#define HV_DOMINF_BLOCKED	(1u << 1)
#define HV_DOMINF_PAUSED	(1u << 2)
#define HV_DOMINF_SHUTDOWN	(1u << 3)
#define HV_DOMINF_CRASHED	(1u << 4)	/* shutdown with reason crash, or died */
#define HV_DOMINF_DYING		(1u << 5)

/* Guest physical layout: special pages sit at fixed frames below the free ones. */
#define HV_PFN_START_INFO	0
#define HV_PFN_XENSTORE		1
#define HV_PFN_CONSOLE		2
#define HV_PFN_GNTTAB		3
#define HV_GNTTAB_FRAMES	4	/* 4 * 512 v1 entries */
#define HV_PFN_FIRST_FREE	(HV_PFN_GNTTAB + HV_GNTTAB_FRAMES)
#define HV_MIN_MEM_PAGES	64

struct hv_req_domain_create {
	uint32_t mem_kib;
	uint32_t vcpus;
	uint8_t uuid[16];
	uint32_t flags;		/* none yet */
};
struct hv_rep_domain_create {
	uint32_t domid;
};

struct hv_req_domain_build {
	uint32_t domid;
	uint32_t store_port;	/* guest-side ports the toolstack allocated */
	uint32_t console_port;
	uint32_t flags;
	uint32_t uid_base;	/* guest uids start here (xl.conf); 0: hvd's default */
	char kernel[HV_PATH_MAX];	/* NUL-terminated */
	char cmdline[HV_CMDLINE_MAX];	/* NUL-terminated */
	char payload[HV_PATH_MAX];	/* "" or files the kernel runs (profile uml), ':' between
					 * them: bound read-only into its root at the same paths */
};
struct hv_rep_domain_build {
	uint64_t store_mfn;
	uint64_t console_mfn;
	int32_t pid;
	uint32_t pad;
};

struct hv_req_domid {		/* destroy, pause, unpause, memfd */
	uint32_t domid;
};

struct hv_req_domain_getinfo {
	uint32_t first_domid;	/* reports domains with domid >= first */
	uint32_t max;		/* at most this many, capped by the message size */
};
struct hv_dominfo_wire {
	uint32_t domid;
	uint32_t flags;		/* HV_DOMINF_* */
	uint32_t shutdown_reason;	/* SHUTDOWN_*, valid with HV_DOMINF_SHUTDOWN */
	uint32_t vcpus;
	uint64_t mem_kib;
	uint64_t max_mem_kib;
	uint64_t cpu_ns;
	uint8_t uuid[16];
	int32_t pid;		/* the guest kernel's process, 0 if none */
	uint32_t pad;
};
struct hv_rep_domain_getinfo {
	uint32_t count;
	uint32_t pad;
	struct hv_dominfo_wire info[];	/* count entries */
};

struct hv_req_domain_setmaxmem {
	uint32_t domid;
	uint32_t pad;
	uint64_t max_kib;
};

struct hv_req_domain_shutdown {
	uint32_t domid;
	uint32_t reason;
};

struct hv_rep_domain_memfd {	/* + 1 fd: the memfd, mmap it MAP_SHARED */
	uint64_t nr_pages;
	uint64_t gnttab_pfn;
	uint32_t gnttab_frames;
	uint32_t pad;
};

/*
 * HV_DOMAIN_MAPTRACK: the caller's slot in the domain's maptrack
 * (hv/hv_maptrack.h), the same one each time on one connection; hvd gives
 * back the slot's pins when the connection closes. HV_MAPTRACK_LEASE also
 * drops every other right of the connection (a confined backend worker keeps
 * it only so that its death is seen).
 */
#define HV_MAPTRACK_LEASE	0x1
struct hv_req_domain_maptrack {
	uint32_t domid;
	uint32_t flags;
};
struct hv_rep_domain_maptrack {	/* + 1 fd: the maptrack memfd, mmap it MAP_SHARED */
	uint32_t slot;
	uint32_t nr_refs;
	uint32_t nr_slots;
	uint32_t pad;
	uint64_t size;
};

#define HV_CPUMAP_BYTES	128	/* CPUs 0-1023, bit n of byte n / 8 */
/*
 * set: the domain's processes (every vCPU: they are threads of one group)
 * may run only on these CPUs; an all-zero map clears the pinning.
 * get: the reply, with pinned 0 when the domain may run anywhere.
 */
struct hv_req_vcpu_affinity {
	uint32_t domid;
	uint32_t pinned;
	uint8_t map[HV_CPUMAP_BYTES];
};

struct hv_req_console_read {
	uint32_t clear;
};
/* reply payload: raw text */

struct hv_rep_physinfo {
	uint32_t nr_cpus;
	uint32_t nr_domains;
	uint64_t total_kib;
	uint64_t free_kib;
	uint64_t start_time;	/* hvd start, seconds since the epoch */
	char version[32];
};

struct hv_req_evtchn_alloc_unbound {
	uint32_t dom;		/* DOMID_SELF or (dom0 only) another domain */
	uint32_t remote_dom;
};
struct hv_req_evtchn_bind_interdomain {
	uint32_t remote_dom;
	uint32_t remote_port;
};
struct hv_req_evtchn_bind_virq {
	uint32_t virq;
};
struct hv_req_evtchn_port {	/* close, attach, status */
	uint32_t port;
};
/*
 * Reply to alloc_unbound (self), bind_interdomain, bind_virq and attach:
 * + 2 fds: [0] the eventfd to wait on, [1] the eventfd to signal (virq: only [0]).
 * alloc_unbound on behalf of another domain returns no fds.
 */
struct hv_rep_evtchn_port {
	uint32_t port;
	uint32_t pad;
};

#define HV_EVTCHN_STATE_CLOSED		0
#define HV_EVTCHN_STATE_UNBOUND		1
#define HV_EVTCHN_STATE_INTERDOMAIN	2
#define HV_EVTCHN_STATE_VIRQ		5
struct hv_rep_evtchn_status {
	uint32_t state;
	uint32_t remote_dom;
	uint32_t remote_port;
	uint32_t virq;
};

struct hv_rep_guest_hello {	/* + 1 fd: the domain's memfd */
	uint32_t domid;
	uint32_t pad;
	uint64_t nr_pages;
	uint64_t start_info_pfn;
	uint64_t gnttab_pfn;
	uint32_t gnttab_frames;
	uint32_t pad2;
};

struct hv_req_guest_shutdown {
	uint32_t reason;
};

/* HV_GUEST_CONSOLE_IO: payload is raw text, at most HV_MSG_MAX - header. */

#endif
