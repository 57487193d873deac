/*
 * The keeper: a small process hvd starts (its child, in a session of its
 * own) whose only job is to hold what the domains need while no hvd runs:
 * hvd's listening socket, every connection's hvd end (guest channels and dom0
 * clients), each domain's memfd and pidfd, each port's eventfds, each
 * maptrack memfd, and a record per object describing it. hvd sends each
 * record as it changes, before the change is visible to a client (before the
 * reply); a new hvd asks the keeper for everything at start and carries on
 * with the same objects. See docs/hv.md, "Restarting hvd".
 */
#ifndef PVSTACK_HVD_KEEPER_H
#define PVSTACK_HVD_KEEPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hv_maptrack.h"
#include "hv_proto.h"

struct event_base;
struct hvd_conn;
struct hvd_domain;

/* One message between hvd and the keeper: a header, a record, up to 2 fds. */
enum hvk_op {
	HVK_PUT = 1,	/* record and descriptors (they replace the old ones) */
	HVK_SET,	/* record only: the descriptors stay */
	HVK_DEL,	/* the object is gone: record and descriptors closed */
	HVK_STOP,	/* hvd exits for good with no domain left: the keeper exits too */
	HVK_ENTRY,	/* keeper -> a new hvd: one object */
	HVK_END,	/* keeper -> a new hvd: that was all */
	HVK_BUSY,	/* keeper -> a second hvd: another one is attached */
};

enum hvk_kind {
	HVK_LISTEN = 1,	/* the listening socket (fd) */
	HVK_DOM,	/* a = domid: struct hvk_dom, fds memfd [, pidfd] */
	HVK_CONN,	/* a = connection id: struct hvk_conn, fd the socket */
	HVK_PORT,	/* a = domid, b = port: struct hvk_port, fds wait [, signal] */
	HVK_MT,		/* a = domid: struct hvk_mt, fd the maptrack memfd */
	HVK_DIR,	/* a = index: a cgroup directory the keeper clears when it ends domains */
	HVK_TIE,	/* fd: a pidfd of the process hvd dies with (its PR_SET_PDEATHSIG) */
};

struct hvk_hdr {
	uint32_t op;
	uint32_t kind;
	uint32_t a, b;
	uint32_t len;	/* record bytes after the header */
};

#define HVK_MSG_MAX	2048
#define HVK_CGROUP_MAX	256

struct hvk_dom {
	uint8_t uuid[16];
	uint64_t mem_kib, max_mem_kib, nr_pages, cpu_ns_dead;
	uint32_t vcpus, shutdown_reason, uid, domid_next;
	int32_t pid, profile;
	uint8_t paused, built, shutdown, pinned;
	uint8_t affinity[HV_CPUMAP_BYTES];
	char cgroup[HVK_CGROUP_MAX];	/* "" when none */
};

struct hvk_conn {
	uint32_t guest;		/* the guest's domid, UINT32_MAX for dom0 */
	uint8_t privileged;
};

struct hvk_port {
	uint32_t state, owner, remote_dom, remote_port, virq;	/* owner: connection id, 0 none */
};

struct hvk_mt {
	uint32_t owner[HV_MT_SLOTS];	/* connection ids, 0 free */
	uint8_t dying[HV_MT_SLOTS];
};

/* hvd_keeper.c: hvd's side */
/* Connects to a running keeper (true: its objects are read, to adopt) or finds none. */
bool hvd_keeper_connect(void);
/* Starts a keeper for a fresh hvd (our child, in a session of its own). */
void hvd_keeper_spawn(void);
/* The keeper's pid names hvd's cgroups, so they outlive a restart of hvd. */
pid_t hvd_keeper_pid(void);
/* Re-creates the adopted objects; their listening socket, or -1. */
int hvd_keeper_adopt(struct event_base *base, unsigned *ndoms);
/* hvd exits: true when the domains are left to the keeper for the next hvd. */
bool hvd_keeper_leave(void);
/* hvd exits for good (no domain left): the keeper ends too. */
void hvd_keeper_stop(void);
/* hvd started with a parent-death signal: the domains end with that parent too. */
void hvd_keeper_tie(void);

void hvd_keeper_dom(const struct hvd_domain *d, bool fds);
void hvd_keeper_conn(uint32_t id, int fd, const struct hvd_domain *guest, bool privileged,
    bool fds);
void hvd_keeper_port(const struct hvd_domain *d, uint32_t port, bool fds);
void hvd_keeper_mt(uint32_t domid, const struct hvk_mt *mt, int fd);
void hvd_keeper_del(enum hvk_kind kind, uint32_t a, uint32_t b);
void hvd_keeper_dir(uint32_t index, const char *path);
void hvd_keeper_listen(int fd);

/* hvd_keeperd.c: the keeper process; never returns. */
_Noreturn void hvd_keeperd_main(int hvd_fd, int listen_fd, const char *rundir);

/* The adoption entry points of the modules that own each object. */
struct hvd_domain *hvd_domain_adopt(uint32_t domid, const struct hvk_dom *r, int memfd,
    int pidfd);
struct hvd_conn *hvd_conn_adopt(struct event_base *base, uint32_t id, int fd,
    const struct hvk_conn *r);
uint32_t hvd_conn_id(const struct hvd_conn *c);
int hvd_evtchn_adopt(struct hvd_domain *d, uint32_t port, const struct hvk_port *r,
    struct hvd_conn *owner, int wait_fd, int signal_fd);
int hvd_maptrack_adopt(struct hvd_domain *d, int fd, struct hvd_conn *const *owners,
    const uint8_t *dying);
int hvd_listen_adopt(struct event_base *base, int fd, const char *path);

#endif
