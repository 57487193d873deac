/* hvd internals: the domain table, the port spaces, client connections and
 * the request handlers that join them. */
#ifndef PVSTACK_HVD_H
#define PVSTACK_HVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/grant_table.h>

#include "hv_proto.h"

struct event_base;
struct hvd_conn;

#define HVD_MAX_PORTS	4096	/* EVTCHN_2L_NR_CHANNELS on 64-bit: dom0's space */
#define HVD_MAX_PORTS_DOMU 1024	/* xl's default max_event_channels (1023) + port 0 */
#define HVD_PAGE_SIZE	4096u

/* One event channel end in a domain's port space. */
struct hvd_port {
	uint32_t state;		/* HV_EVTCHN_STATE_* */
	struct hvd_conn *owner;	/* connection holding its fds; NULL until attached */
	uint32_t remote_dom;
	uint32_t remote_port;
	uint32_t virq;
	int wait_fd;		/* eventfd this end waits on (hvd's reference) */
	int signal_fd;		/* eventfd this end signals; -1 for a VIRQ */
};

struct hvd_domain {
	uint32_t domid;
	uint8_t uuid[16];
	uint32_t vcpus;
	uint64_t mem_kib;
	uint64_t max_mem_kib;
	uint64_t nr_pages;
	int memfd;		/* -1 for dom0 */
	bool paused;
	bool built;
	bool shutdown;
	uint32_t shutdown_reason;
	pid_t pid;		/* the kernel program, 0 before build and after reaping */
	int pidfd;
	struct event *pid_ev;
	uint64_t cpu_ns_dead;	/* CPU time of the reaped process */
	struct hvd_conn *guest;	/* hvd's end of the guest channel */
	char *cgroup;		/* its cgroup v2 group, NULL when none */
	int netns;		/* its network namespace (hvd_netns.c), -1 when none held */
	int profile;		/* enum jail_profile of its kernel, from the note */
	uint32_t uid;		/* the host uid its processes run as; 0 before build */
	bool pinned;		/* affinity holds: its processes run only there */
	uint8_t affinity[HV_CPUMAP_BYTES];
	struct hvd_port *ports;	/* port space; index = port, 0 unused */
	uint32_t nports;
};

/* hvd_domain.c */
void hvd_domain_init(void);
uint64_t hvd_domain_meminfo(const char *key);
struct hvd_domain *hvd_domain_get(uint32_t domid);
/* Next domain with domid >= first, or NULL. */
struct hvd_domain *hvd_domain_next(uint32_t first);
unsigned hvd_domain_count(void);
int hvd_domain_create(const struct hv_req_domain_create *req, uint32_t *domid);
void hvd_domain_destroy(struct hvd_domain *d);
void hvd_domain_destroy_all(void);
int hvd_domain_pause(struct hvd_domain *d);
int hvd_domain_unpause(struct hvd_domain *d);
/* Marks a shutdown (reason), kills the processes, fires VIRQ_DOM_EXC. */
void hvd_domain_shutdown(struct hvd_domain *d, uint32_t reason);
void hvd_domain_info(struct hvd_domain *d, struct hv_dominfo_wire *w);
/* The builder hands over a started process. */
int hvd_domain_attach_process(struct hvd_domain *d, pid_t pid);

/* hvd_affinity.c */
/* Records a domain's CPUs and moves its running processes there. */
int hvd_affinity_set(struct hvd_domain *d, const uint8_t *map, bool pinned);
/* Child side of the build: the kernel starts on its domain's CPUs. */
int hvd_affinity_self(const struct hvd_domain *d);

/* hvd_build.c */
int hvd_build(struct hvd_domain *d, const struct hv_req_domain_build *req,
    struct hv_rep_domain_build *rep);
/* insecure: start guests without the confinement the host cannot give (hvd --insecure) */
void hvd_build_init(struct event_base *base, const char *emptydir, bool insecure);
/* Host memory the domain's processes may use: its memory plus its profile's overhead. */
uint64_t hvd_build_mem_limit(const struct hvd_domain *d);

/* hvd_netns.c: network namespaces made ahead of the builds by a helper process */
void hvd_netns_init(void);
void hvd_netns_fini(void);
/* Enters a namespace made ahead for the next clone: its fd, or -1 (clone a new one). */
int hvd_netns_enter(void);
/* Takes a dead domain's namespace back for a later build, or closes it (-1: nothing). */
void hvd_netns_recycle(int fd);
/* Back into hvd's own namespace after the clone (the fd stays the caller's). */
void hvd_netns_leave(void);

/* hvd_sandbox.c */
struct jail_limits;
/* Child side: the private read-only root over dir, with files bound in; pivots into it. */
/* mem_bytes sizes a profile's /tmp. */
int hvd_sandbox_root(const char *dir, char *const *files, const struct jail_limits *prof,
    uid_t uid, uint64_t mem_bytes);
/* Writes one printf-formatted value into dir/file (a cgroup's or sysfs's knob). */
int hvd_limits_write(const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* hvd_kdeps.c: interpreter and libraries of a dynamic kernel (NULL-terminated) */
char **hvd_kdeps(const char *kernel, bool kernel_dynamic, const char *payload);
void hvd_kdeps_free(char **paths);

/* hvd_limits.c: memory, pids and cpu controllers, v2 where enabled, else v1 */
struct hvd_limits_cfg {
	uint64_t mem_bytes;
	unsigned pids;
	unsigned vcpus;
};
#define HVD_CGROUP_FDS_MAX	4	/* v2 + memory, pids, cpu in v1 */
void hvd_limits_init(const char *v2base);
/* The first controller the host lacks, or NULL. */
const char *hvd_limits_missing(void);
/* The v1 groups (tasks fds in fds; how many, or -1), then their limits (0 or -1). */
int hvd_limits_create(struct hvd_domain *d, int *fds);
int hvd_limits_apply(struct hvd_domain *d, const struct hvd_limits_cfg *cfg);
int hvd_limits_set_memory(struct hvd_domain *d, uint64_t bytes);
/* The cgroup.procs file listing every process of the domain; -1 without groups. */
int hvd_limits_procs_path(struct hvd_domain *d, char *buf, size_t len);
void hvd_limits_destroy(struct hvd_domain *d);
void hvd_limits_fini(void);

/* hvd_cgroup.c */
void hvd_cgroup_init(void);
bool hvd_cgroup_enabled(void);
int hvd_cgroup_create(struct hvd_domain *d, int *fds);
/* Removes a group (takes cg), queueing it while still populated. */
bool hvd_cgroup_rmdir(char *cg);
void hvd_cgroup_kill(struct hvd_domain *d);
int hvd_cgroup_freeze(struct hvd_domain *d, bool frozen);
bool hvd_cgroup_cpu_ns(struct hvd_domain *d, uint64_t *ns);
bool hvd_cgroup_destroy(struct hvd_domain *d);
void hvd_cgroup_fini(void);

/* hvd_elf.c */
/* 0 when fd is an ELF executable with our note; info says what else its headers say. */
struct hv_kernel_info;
int hvd_elf_check(int fd, const char *path, struct hv_kernel_info *info);

/* hvd_evtchn.c */
int hvd_evtchn_alloc_unbound(struct hvd_domain *d, uint32_t remote_dom, struct hvd_conn *owner,
    uint32_t *port);
int hvd_evtchn_bind_interdomain(struct hvd_domain *d, struct hvd_conn *owner,
    uint32_t remote_dom, uint32_t remote_port, uint32_t *port);
int hvd_evtchn_bind_virq(struct hvd_domain *d, struct hvd_conn *owner, uint32_t virq,
    uint32_t *port);
int hvd_evtchn_attach(struct hvd_domain *d, struct hvd_conn *owner, uint32_t port);
int hvd_evtchn_close(struct hvd_domain *d, struct hvd_conn *owner, uint32_t port);
struct hvd_port *hvd_evtchn_port(struct hvd_domain *d, uint32_t port);
/* Closes every port of d (owner NULL) or only those owner holds. */
void hvd_evtchn_close_all(struct hvd_domain *d, struct hvd_conn *owner);
void hvd_evtchn_fire_virq(uint32_t virq);

/* hvd_console.c */
void hvd_console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hvd_console_guest(uint32_t domid, const char *text, size_t len);
/* Copies at most cap bytes (the newest) into buf; returns the length. */
size_t hvd_console_read(char *buf, size_t cap, bool clear);

/* hvd_conn.c */
struct hvd_conn *hvd_conn_new(struct event_base *base, int fd, struct hvd_domain *guest);
void hvd_conn_free(struct hvd_conn *c);
struct hvd_domain *hvd_conn_domain(struct hvd_conn *c);
void hvd_conn_serve(struct hvd_conn *c, bool on);
/* The domain a guest connection speaks for; NULL for dom0 connections. */
void hvd_conn_forget_domain(struct hvd_conn *c);
int hvd_listen(struct event_base *base, const char *path);
void hvd_listen_stop(void);
void hvd_conn_free_all(void);

/* hvd_ops.c: one handler per message type */
struct hvd_req {
	struct hvd_conn *conn;
	struct hvd_domain *dom;	/* the caller's domain (dom0 or the guest) */
	const struct hv_msg_hdr *hdr;
	const void *payload;
	/* reply */
	uint8_t *rep;
	size_t rep_len;
	size_t rep_cap;
	int fds[2];
	int nfds;
	bool no_reply;
};
typedef int (*hvd_handler)(struct hvd_req *r);

#define HVD_DOM0	0x1	/* privileged dom0 connection */
#define HVD_DOM0_RO	0x2	/* any dom0 connection, root or not */
#define HVD_GUEST	0x4	/* a guest channel */
struct hvd_op {
	hvd_handler handler;
	uint32_t policy;
	uint32_t req_len;	/* exact payload size; UINT32_MAX: any up to the max */
};
const struct hvd_op *hvd_ops_lookup(uint32_t type);

extern uint64_t hvd_start_time;

#endif
