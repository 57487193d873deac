/*
 * The skeleton every backend daemon (blkback, netback) shares, written once:
 *  - the daemon watches backend/<kind> in xenstore, keeps one object per
 *    device keyed (frontend domid, devid), and runs the xenbus state machine
 *    (InitWait, connect on frontend 3 or 4, Closing, Closed, reconnect while
 *    online=1, teardown on online=0 or a vanished frontend);
 *  - each device is served by its own worker process, forked from the daemon,
 *    that gets what it may use as descriptors (the image, the domain's memory,
 *    event channels), confines itself with jail_worker() and runs its own loop;
 *  - a worker that dies is noticed at once through its pidfd; the device's
 *    backend gets hotplug-error saying so, and a new worker takes the device
 *    over, re-attaching to the rings the frontend published.
 * A backend adds a const struct backend_ops (its device files), nothing more.
 *
 * Convention: int functions return 0 or -1 (errno set, or the device's
 * failure already reported with backend_dev_fail()).
 */
#ifndef PVSTACK_BACKEND_H
#define PVSTACK_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xs.h"

struct event_base;
struct backend;
struct backend_dev;
struct backend_worker;
struct hv;
struct hv_evtchn;
struct xsa;

#define BACKEND_MAX_FDS		16	/* MSG_MAX_FDS */
#define BACKEND_BLOB_MAX	4096

/* What the daemon sends a worker: a blob and descriptors the device owns. */
struct backend_blob {
	uint8_t b_data[BACKEND_BLOB_MAX];
	size_t b_len;
	int b_fds[BACKEND_MAX_FDS];
	int b_nfds;
};

struct backend_ops {
	const char *kind;	/* "vbd": watches backend/vbd, logs dom/<id>/vbd<devid> */

	/* daemon side */
	/* Reads the backend keys, opens what the worker needs into *cfg, writes
	 * the features a frontend reads before it connects; 1 when the
	 * toolstack has not written the keys yet (probe again on the next event). */
	int (*probe)(struct backend_dev *d, struct backend_blob *cfg);
	/* The frontend published its rings: reads them, binds the event
	 * channels (backend_dev_bind), fills the worker's connect message. */
	int (*connect)(struct backend_dev *d, struct backend_blob *conn);
	/* The worker serves the rings: the device properties, written in the
	 * same transaction as state 4. */
	int (*publish)(struct backend_dev *d, xs_tx_t tx);
	/* Optional. The device closes for good: undo what probe set up outside the
	 * daemon (a hotplug script's remove) before state 6, while the backend
	 * keys are still there; 1 while that runs (backend_dev_kick when done). */
	int (*unplug)(struct backend_dev *d);
	/* The device is gone: frees what probe kept in backend_dev_priv() (called
	 * whenever that is set, even if probe never succeeded). */
	void (*release)(struct backend_dev *d);

	/* worker side, in the worker process */
	/* Takes the config (and its fds) before the worker confines itself. */
	int (*w_config)(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds);
	/* Maps the rings and starts serving them on backend_worker_base(w). */
	int (*w_connect)(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds);
	/* Stops serving: waits for in-flight work, unmaps every grant. */
	void (*w_disconnect)(struct backend_worker *w);
};

/* ---- the daemon ---- */

/* Workers run as jail_uid_backend(xl.conf's guest_uid_range_base, domid). */
struct backend *backend_new(struct event_base *base, const struct backend_ops *ops,
    struct hv *hv, int log_dest, void *priv);
/* Connects to xenstored, watches backend/<kind>, takes the devices already there. */
int backend_start(struct backend *be);
/* Stops every worker (they unmap their grants first) and forgets every device;
 * the xenstore nodes stay, so a restarted daemon takes the devices over. */
void backend_free(struct backend *be);
void *backend_priv(struct backend *be);
/* Workers alive, for tests and the leak check. */
unsigned backend_nr_workers(struct backend *be);

/* ---- a device, in the daemon ---- */

uint32_t backend_dev_domid(const struct backend_dev *d);
uint32_t backend_dev_devid(const struct backend_dev *d);
const char *backend_dev_name(const struct backend_dev *d);	/* dom/<id>/vbd<N> */
const char *backend_dev_bepath(const struct backend_dev *d);
const char *backend_dev_fepath(const struct backend_dev *d);
struct backend *backend_dev_backend(struct backend_dev *d);
struct hv *backend_dev_hv(struct backend_dev *d);
void *backend_dev_priv(struct backend_dev *d);
void backend_dev_set_priv(struct backend_dev *d, void *priv);

/* A key of the backend (fe false) or frontend (fe true) directory; malloc'd or NULL. */
char *backend_dev_read(struct backend_dev *d, bool fe, const char *key);
/* The same as an unsigned number; dflt when absent, -1 (and *bad) when not a number. */
long long backend_dev_read_ull(struct backend_dev *d, bool fe, const char *key,
    unsigned long long dflt, unsigned long long max);
int backend_dev_write(struct backend_dev *d, xs_tx_t tx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The daemon's loop and its asynchronous xenstore connection (hotplug_run wants both). */
struct event_base *backend_dev_base(struct backend_dev *d);
struct xsa *backend_dev_xsa(struct backend_dev *d);
/* Runs the state machine again (a probe that returned 1 is ready now). */
void backend_dev_kick(struct backend_dev *d);
/* The failure is already reported (a hotplug script's keys): wait for teardown. */
void backend_dev_mark_failed(struct backend_dev *d);
/* The daemon is shutting down: devices are let go, not torn down (no remove scripts). */
bool backend_stopping(struct backend *be);
/* Says why the device cannot work: log, hotplug-error, hotplug-status (error or busy). */
void backend_dev_fail(struct backend_dev *d, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Binds the frontend's event channel; its wait and signal eventfds (the
 * daemon's, duplicated into *conn) go to the worker. */
int backend_dev_bind(struct backend_dev *d, uint32_t remote_port, struct backend_blob *conn);
/* Appends fd (duplicated) to a blob; -1 when full. */
int backend_blob_add_fd(struct backend_blob *b, int fd);
void backend_blob_clear(struct backend_blob *b);

/* ---- the worker process ---- */

struct event_base *backend_worker_base(struct backend_worker *w);
uint32_t backend_worker_domid(const struct backend_worker *w);
uint32_t backend_worker_devid(const struct backend_worker *w);
void *backend_worker_priv(struct backend_worker *w);
void backend_worker_set_priv(struct backend_worker *w, void *priv);
/* The device broke (a malformed ring): tells the daemon, which closes it. */
void backend_worker_fail(struct backend_worker *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
