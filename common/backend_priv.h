/* The backend skeleton's internals, shared by its files only. */
#ifndef PVSTACK_BACKEND_PRIV_H
#define PVSTACK_BACKEND_PRIV_H

#include <sys/queue.h>

#include "backend.h"
#include "backend_proto.h"

#define BACKEND_MAX_PORTS	8
#define BACKEND_CALL_MS		5000	/* a worker answers CONFIG/CONNECT/DISCONNECT within this */
#define BACKEND_RESTARTS	5	/* more deaths than this within BACKEND_RESTART_WINDOW_MS */
#define BACKEND_RESTART_WINDOW_MS 10000	/* fail the device instead of restarting */

struct xsa;
struct xsa_watch;
struct event;

struct backend {
	struct event_base *be_base;
	const struct backend_ops *be_ops;
	struct hv *be_hv;
	struct hv_evtchn *be_xce;
	struct xsa *be_xsa;		/* watches */
	struct xs *be_xs;		/* reads and writes, synchronous */
	struct xsa_watch *be_watch;
	char be_root[64];		/* /local/domain/0/backend/<kind> */
	int be_log_dest;
	bool be_stopping;
	uint32_t be_uid_base;		/* xl.conf's guest_uid_range_base */
	void *be_priv;
	TAILQ_HEAD(, backend_dev) be_devs;
	TAILQ_HEAD(, backend_child) be_reaping;
};

/* A worker process: alive, or stopped and waiting to be reaped. */
struct backend_child {
	TAILQ_ENTRY(backend_child) c_entry;
	struct backend *c_be;
	struct backend_dev *c_dev;	/* NULL once its device let it go */
	pid_t c_pid;
	int c_pidfd;
	int c_sock;
	struct event *c_pid_ev;
	struct event *c_sock_ev;
};

struct backend_dev {
	TAILQ_ENTRY(backend_dev) d_entry;
	struct backend *d_be;
	uint32_t d_domid, d_devid;
	char d_name[48];
	char d_bepath[128];
	char d_fepath[128];
	int d_state;			/* the state we last wrote */
	bool d_probed;			/* probe succeeded, worker configured */
	bool d_failed;			/* reported; waits for teardown */
	bool d_connected;		/* the worker serves the rings */
	bool d_kicked;			/* the toolstack wrote Closing into our state */
	bool d_unplugged;		/* ops->unplug has finished */
	struct xsa_watch *d_fe_watch;
	struct backend_child *d_child;
	unsigned d_deaths;
	long long d_deaths_t0;
	struct backend_blob d_cfg, d_conn;
	uint32_t d_ports[BACKEND_MAX_PORTS];
	unsigned d_nports;
	void *d_priv;
};

/* backend.c */
long long backend_now_ms(void);

/* backend_dev.c */
struct backend_dev *backend_dev_new(struct backend *be, uint32_t domid, uint32_t devid);
void backend_dev_free(struct backend_dev *d);
/* Re-reads the device's states and takes the next step of the state machine. */
void backend_dev_update(struct backend_dev *d);
/* The worker died; called once it is reaped. */
void backend_dev_worker_died(struct backend_dev *d, const char *how);
/* The worker said FAIL on its own. */
void backend_dev_worker_failed(struct backend_dev *d, int err, const char *msg);

/* backend_spawn.c */
struct backend_child *backend_spawn(struct backend_dev *d);
/* Sends a message and waits for its answer (want) or FAIL; 0, or -1 with the
 * failure text in why (the worker's, or what went wrong with it). */
int backend_spawn_call(struct backend_child *c, enum backend_msg_type type,
    const struct backend_blob *b, enum backend_msg_type want, char *why, size_t whylen);
/* Lets a worker go: closes its channel (it exits), reaps it later. */
void backend_spawn_release(struct backend_child *c);
/* Waits (bounded) for every released worker. */
void backend_spawn_reap_all(struct backend *be);

/* backend_worker.c: the worker process's whole life. */
_Noreturn void backend_worker_main(struct backend *be, struct backend_dev *d, int sock);

#endif
