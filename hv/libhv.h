/*
 * libhv: the client side of hvd, for dom0 daemons, the toolstack and guests.
 *
 * Shaped after Xen's stable libraries (xenctrl's domain calls, xenevtchn,
 * xengnttab, xenforeignmemory) so a later backend over /dev/xen/{evtchn,gntdev,...} is a second
 * implementation of this header, not a rewrite of its callers.
 *
 * Convention: functions returning int give 0 (or a non-negative value such as
 * a port) on success and -1 with errno set on failure; pointer functions give
 * NULL with errno. A handle is not thread-safe. No call here touches libevent:
 * the fds it exposes go on whatever loop the caller runs.
 *
 * Fast paths never talk to hvd: notify is one write() on an eventfd; grant
 * map/unmap/copy work in-process on a domain's memory, which a dom0 process
 * fetches from hvd once per domain (the memfd) and keeps mapped.
 */
#ifndef PVSTACK_LIBHV_H
#define PVSTACK_LIBHV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/sched.h>

#include "hv_proto.h"

typedef uint32_t hv_domid_t;
typedef uint32_t hv_port_t;
typedef uint32_t hv_gref_t;

/* ---- connection ---- */

struct hv;

/* dom0: connects to $PVSTACK_RUNDIR/hvd.sock (or sockpath when not NULL). */
struct hv *hv_open(const char *sockpath);
/* guest: adopts the channel fd hvd gave it ($PVSTACK_HV_FD, default 3) and says HELLO. */
struct hv *hv_open_guest(void);
void hv_close(struct hv *hv);
/* Our own domid: 0 for dom0, the guest's for a guest channel. */
hv_domid_t hv_self(struct hv *hv);

/* ---- domain control (dom0) ---- */

struct hv_domain_config {
	uint32_t mem_kib;
	uint32_t vcpus;
	uint8_t uuid[16];
};

struct hv_build_config {
	const char *kernel;	/* path of the guest program */
	const char *cmdline;	/* may be NULL */
	hv_port_t store_port;	/* guest-side, from hv_evtchn_alloc_unbound(hv, domid, 0) */
	hv_port_t console_port;
	uint32_t uid_base;	/* xl.conf's guest_uid_range_base; 0: the default */
	const char *payload;	/* NULL, or the program a shim kernel runs (user-mode Linux) */
};

struct hv_build_result {
	uint64_t store_mfn;
	uint64_t console_mfn;
	pid_t pid;
};

struct hv_dominfo {
	hv_domid_t domid;
	uint32_t flags;		/* HV_DOMINF_* */
	uint32_t shutdown_reason;	/* SHUTDOWN_* */
	uint32_t vcpus;
	uint64_t mem_kib;
	uint64_t max_mem_kib;
	uint64_t cpu_ns;
	uint8_t uuid[16];
	pid_t pid;
};

struct hv_physinfo {
	uint32_t nr_cpus;
	uint32_t nr_domains;
	uint64_t total_kib;
	uint64_t free_kib;
	uint64_t start_time;
	char version[32];
};

/* Creates a paused, empty domain with its memory. */
int hv_domain_create(struct hv *hv, const struct hv_domain_config *cfg, hv_domid_t *domid);
/* Fills start_info and the special pages, starts the kernel program; it runs from the unpause. */
int hv_domain_build(struct hv *hv, hv_domid_t domid, const struct hv_build_config *cfg,
    struct hv_build_result *res);
/* The same in two halves: nothing else may be called on hv between start and finish. */
int hv_domain_build_start(struct hv *hv, hv_domid_t domid, const struct hv_build_config *cfg);
int hv_domain_build_finish(struct hv *hv, struct hv_build_result *res);
int hv_domain_destroy(struct hv *hv, hv_domid_t domid);
int hv_domain_pause(struct hv *hv, hv_domid_t domid);
int hv_domain_unpause(struct hv *hv, hv_domid_t domid);
int hv_domain_shutdown(struct hv *hv, hv_domid_t domid, unsigned reason);
int hv_domain_setmaxmem(struct hv *hv, hv_domid_t domid, uint64_t max_kib);

/* CPUs 0 to HV_CPUMAP_MAX - 1, bit n in byte n / 8 (xc_cpumap_t). */
#define HV_CPUMAP_MAX	1024
struct hv_cpumap {
	uint8_t bits[HV_CPUMAP_MAX / 8];
};
/*
 * xc_vcpu_setaffinity. A domain's vCPUs are threads of one process group,
 * so they share one set: the domain's processes, now and later, run only on
 * map's CPUs; NULL lets them run anywhere again. EINVAL: no CPU of map is online.
 */
int hv_vcpu_setaffinity(struct hv *hv, hv_domid_t domid, const struct hv_cpumap *map);
/* xc_vcpu_getaffinity: 1 and the map when pinned, 0 (map all ones) when not, -1. */
int hv_vcpu_getaffinity(struct hv *hv, hv_domid_t domid, struct hv_cpumap *map);
/* ENOENT (-1) when no such domain. */
int hv_domain_getinfo(struct hv *hv, hv_domid_t domid, struct hv_dominfo *info);
/* Domains with domid >= first, in domid order; returns the count (<= max). */
int hv_domain_getinfolist(struct hv *hv, hv_domid_t first, struct hv_dominfo *info, unsigned max);
int hv_physinfo(struct hv *hv, struct hv_physinfo *info);
/* Hypervisor console (guests' early printk, hvd's own notes): NUL-terminated,
 * malloc'd; clear empties the ring after reading. */
char *hv_console_read(struct hv *hv, int clear);

/* ---- guest kernels ---- */

enum hv_kernel_verdict {
	HV_KERNEL_OK,
	HV_KERNEL_NOT_ELF,	/* a bzImage, a script, anything else */
	HV_KERNEL_FOREIGN_ELF,	/* 32-bit, another machine, not an executable */
	HV_KERNEL_NO_NOTE,	/* an ELF program not built on the guest runtime */
};
struct hv_kernel_info {
	bool is_static;		/* no PT_INTERP */
	char profile[16];	/* the sandbox profile its note asks for; "" = "guest" */
	bool is_uml;		/* a user-mode Linux kernel (section .uml.setup.init): run by the shim */
};
/* Whether the file open at fd is a guest program hvd can run (the builder's own
 * test), and what it asks of its sandbox. Reads only, never calls hvd. */
enum hv_kernel_verdict hv_kernel_check(int fd, struct hv_kernel_info *info);

/* ---- foreign memory (dom0) ---- */

/*
 * Pointer to frames [pfn, pfn+n) of domid, mapped with prot (PROT_READ|PROT_WRITE).
 * The first call per domain fetches the memfd from hvd and maps the whole domain;
 * later calls are pointer arithmetic. Valid until hv_foreign_forget or hv_close.
 */
void *hv_foreign_map(struct hv *hv, hv_domid_t domid, int prot, uint64_t pfn, size_t n);
/* Drops the cached mapping of a dead domain (the memory lives until every mapper forgets it). */
void hv_foreign_forget(struct hv *hv, hv_domid_t domid);

/* A domain's memory as a descriptor, for privilege separation: a dom0 daemon
 * fetches it and hands it to a confined worker, which maps it itself. */
struct hv_foreign_mem {
	int fd;			/* the memfd; the caller closes it */
	uint64_t nr_pages;
	uint64_t gnttab_pfn;
	uint32_t gnttab_frames;
};
/* Fetches domid's memfd from hvd without mapping it. */
int hv_foreign_memfd(struct hv *hv, hv_domid_t domid, struct hv_foreign_mem *mem);
/*
 * A handle with no hvd connection that knows one domain's memory (mem->fd is
 * mapped, not kept): foreign maps and grant map/unmap/copy on that domain work
 * as dom0's; everything needing hvd fails. For backend workers.
 */
struct hv *hv_open_foreign(hv_domid_t domid, const struct hv_foreign_mem *mem);

/*
 * Grant pins are counted per domain across every dom0 process (the domain's
 * maptrack, from hvd), so a grant stays pinned until its last mapper unmaps
 * it and a mapper that dies has its pins given back by hvd. A process with an
 * hvd connection gets its slot on the first grant operation. A confined worker
 * (hv_open_foreign, no connection) takes a lease first, while it can still
 * reach hvd: a connection of its own (sockpath as for hv_open) that keeps no
 * right but to say the process lives, and a slot that every hv_open_foreign
 * handle of domid in this process then uses. One lease per process; EBUSY.
 */
int hv_maptrack_lease(const char *sockpath, hv_domid_t domid);

/* ---- event channels (dom0 and guests) ---- */

struct hv_evtchn;

/* One pollable fd for all the handle's ports, like /dev/xen/evtchn. */
struct hv_evtchn *hv_evtchn_open(struct hv *hv);
/* Closes every port the handle bound; their peers become unbound. */
void hv_evtchn_close(struct hv_evtchn *xce);
int hv_evtchn_fd(struct hv_evtchn *xce);
/* A port in our own space, waiting for remote_dom to bind it. */
int hv_evtchn_bind_unbound_port(struct hv_evtchn *xce, hv_domid_t remote_dom);
int hv_evtchn_bind_interdomain(struct hv_evtchn *xce, hv_domid_t remote_dom, hv_port_t remote_port);
int hv_evtchn_bind_virq(struct hv_evtchn *xce, unsigned virq);
/* guest: take into this handle a port that already exists in our space (start_info's). */
int hv_evtchn_attach(struct hv_evtchn *xce, hv_port_t port);
int hv_evtchn_unbind(struct hv_evtchn *xce, hv_port_t port);
/* One write() on the port's eventfd; never a round trip. */
int hv_evtchn_notify(struct hv_evtchn *xce, hv_port_t port);
/* Next port with a pending event (consumed), or -1 with EAGAIN when none. */
int hv_evtchn_pending(struct hv_evtchn *xce);
int hv_evtchn_unmask(struct hv_evtchn *xce, hv_port_t port);
/*
 * The eventfd a port's events arrive on, for a caller that wants the port on
 * its own loop directly (backends); it then drains it with hv_evtchn_ack().
 * Such a port no longer shows in hv_evtchn_fd().
 */
int hv_evtchn_port_fd(struct hv_evtchn *xce, hv_port_t port);
/* Consumes the port's pending events; returns how many (0 when none). */
int hv_evtchn_ack(struct hv_evtchn *xce, hv_port_t port);
/* Both eventfds of an interdomain port (the one we wait on, the one we
 * signal), for a confined worker that notifies without a handle; the port
 * leaves the handle's epoll set, the fds stay the handle's. */
int hv_evtchn_port_fds(struct hv_evtchn *xce, hv_port_t port, int *wait_fd, int *signal_fd);

/* dom0 on behalf of another domain (xc_evtchn_alloc_unbound): a port in dom's
 * space for remote_dom to bind; returns the port. */
int hv_evtchn_alloc_unbound(struct hv *hv, hv_domid_t dom, hv_domid_t remote_dom);

/* ---- grant tables, mapping side (dom0 backends) ---- */

struct hv_gnttab;

struct hv_gnttab *hv_gnttab_open(struct hv *hv);
/* Unmaps everything the handle still maps. */
void hv_gnttab_close(struct hv_gnttab *xgt);
/*
 * Maps domid's grant ref with prot (PROT_READ, or PROT_READ|PROT_WRITE).
 * Refused (EACCES) unless the entry is GTF_permit_access for us, and writable
 * when asked to write (GTF_readonly refuses); EINVAL for a ref out of range.
 * Sets GTF_reading/GTF_writing by compare-and-swap while mapped, so the granter
 * cannot end access. Mappings are counted: mapping a ref twice needs two unmaps,
 * and the flags stay while any dom0 process maps the ref (the domain's maptrack,
 * see hv_maptrack_lease). ENOSPC: the domain's maptrack has no free slot;
 * EAGAIN: a ref's lock stayed held (its holder died and no hvd released it).
 */
void *hv_gnttab_map_grant_ref(struct hv_gnttab *xgt, hv_domid_t domid, hv_gref_t ref, int prot);
/* Maps count refs of one domain; addrs[i] gets each page. All or nothing. */
int hv_gnttab_map_batch(struct hv_gnttab *xgt, hv_domid_t domid, unsigned count,
    const hv_gref_t *refs, int prot, void **addrs);
int hv_gnttab_unmap(struct hv_gnttab *xgt, hv_domid_t domid, hv_gref_t ref);

/* Grant copy, as GNTTABOP_copy: flags GNTCOPY_source_gref / GNTCOPY_dest_gref
 * say which side is a grant; the other side is a local pointer. */
struct hv_gnttab_copy_seg {
	union {
		hv_gref_t ref;
		void *virt;
	} src, dst;
	hv_domid_t src_domid, dst_domid;
	uint16_t src_offset, dst_offset;
	uint16_t len;
	uint16_t flags;
	int16_t status;		/* out: GNTST_* */
};
/* Returns 0 when every segment was attempted; look at each status. */
int hv_gnttab_copy(struct hv_gnttab *xgt, unsigned count, struct hv_gnttab_copy_seg *segs);

/* ---- guest side ---- */

struct hv_guest_info {
	hv_domid_t domid;
	uint64_t nr_pages;
	void *mem;		/* the whole of our memory, mapped shared */
	start_info_t *start_info;
	grant_entry_v1_t *gnttab;
	uint32_t gnttab_entries;
};

/* Filled by hv_open_guest. */
const struct hv_guest_info *hv_guest_info(struct hv *hv);
/* Grants domid access to our frame pfn (GTF_readonly when readonly); returns the ref. */
int hv_guest_grant(struct hv *hv, hv_domid_t domid, uint64_t pfn, int readonly);
/* Ends access; -1 EBUSY while the grantee still maps the page (GTF_reading/writing). */
int hv_guest_end_access(struct hv *hv, hv_gref_t ref);
/* SCHEDOP_shutdown; on success does not return. */
int hv_guest_shutdown(struct hv *hv, unsigned reason);
/* CONSOLEIO_write into the hypervisor console. */
int hv_guest_console_write(struct hv *hv, const char *buf, size_t len);

#endif
