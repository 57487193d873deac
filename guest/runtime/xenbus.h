/*
 * The xenbus client: xenstore requests over the guest's ring page, one at a
 * time, each with a fresh req_id; replies are matched by req_id and watch
 * events (XS_WATCH_EVENT) are queued apart from them, to be run by
 * xenbus_dispatch_watches() from the main loop, never inside a request.
 * Relative paths are sent as they are; xenstored resolves them against
 * /local/domain/<our domid>/.
 *
 * Errors: -1 / NULL with errno, the daemon's error name mapped back (ENOENT,
 * EACCES, EAGAIN, ...), ETIMEDOUT when no reply came within the timeout, EIO
 * once the ring is broken (corrupt indices or an oversized message).
 */
#ifndef PVGUEST_XENBUS_H
#define PVGUEST_XENBUS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xenbus.h>

#include "events.h"

#define XENBUS_TIMEOUT_MS	30000
#define XENBUS_TX_RETRIES	16
#define XENBUS_MAX_QUEUED	256	/* watch events kept before newer ones are dropped */
#define XENBUS_MAX_POSTED	8	/* requests of a batch in flight; more are sent one by one */

typedef uint32_t xenbus_tx_t;
#define XENBUS_TX_NONE 0

struct xenbus;
typedef void xenbus_watch_fn(struct xenbus *xb, const char *path, const char *token, void *arg);
typedef int xenbus_tx_fn(struct xenbus *xb, xenbus_tx_t tx, void *arg);

struct xenbus *xenbus_open(struct events *ev, void *ring_page, hv_port_t port);
void xenbus_close(struct xenbus *xb);
/* Per-request timeout (default XENBUS_TIMEOUT_MS; -1 waits forever). */
void xenbus_set_timeout(struct xenbus *xb, int timeout_ms);

/* The value, NUL-terminated (*len without the NUL when len is not NULL). */
char *xenbus_read(struct xenbus *xb, xenbus_tx_t tx, const char *path, size_t *len);
int xenbus_write(struct xenbus *xb, xenbus_tx_t tx, const char *path, const char *value);
int xenbus_printf(struct xenbus *xb, xenbus_tx_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int xenbus_vprintf(struct xenbus *xb, xenbus_tx_t tx, const char *path, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));
int xenbus_mkdir(struct xenbus *xb, xenbus_tx_t tx, const char *path);
int xenbus_rm(struct xenbus *xb, xenbus_tx_t tx, const char *path);
/* Children names, NULL-terminated, one allocation (free the vector only). */
char **xenbus_ls(struct xenbus *xb, xenbus_tx_t tx, const char *path, unsigned *num);
/* Reads a decimal integer; -1 EINVAL when the value is not one. */
int xenbus_read_long(struct xenbus *xb, xenbus_tx_t tx, const char *path, long *val);
/* Our home, "/local/domain/<domid>" (XS_GET_DOMAIN_PATH). */
char *xenbus_domain_path(struct xenbus *xb, unsigned domid);

/* fn runs for every event of (path, token), from xenbus_dispatch_watches(). */
int xenbus_watch(struct xenbus *xb, const char *path, const char *token,
    xenbus_watch_fn *fn, void *arg);
int xenbus_unwatch(struct xenbus *xb, const char *path, const char *token);
/* Runs the queued watch events; returns how many. */
int xenbus_dispatch_watches(struct xenbus *xb);
/* Whether watch events are queued. */
bool xenbus_has_events(const struct xenbus *xb);
/* Waits for one event of token (taken off the queue); -1 ETIMEDOUT. */
int xenbus_wait_event(struct xenbus *xb, const char *token, int timeout_ms);

/*
 * A batch, for a boot's string of independent requests: between begin and
 * end, writes, mkdirs, rms and watches outside a transaction return 0 once
 * sent and are checked by xenbus_batch_end (one round trip for them all; a
 * read or ls in the batch waits for its own reply as usual). end returns 0,
 * or -1 with the first failure's errno; a refused watch is forgotten.
 */
void xenbus_batch_begin(struct xenbus *xb);
int xenbus_batch_end(struct xenbus *xb);

int xenbus_transaction_start(struct xenbus *xb, xenbus_tx_t *tx);
int xenbus_transaction_end(struct xenbus *xb, xenbus_tx_t tx, bool abort);
/*
 * Runs fn inside a transaction and commits, starting again on EAGAIN (at
 * most XENBUS_TX_RETRIES times). A failing fn aborts with fn's errno.
 */
int xenbus_transaction(struct xenbus *xb, xenbus_tx_fn *fn, void *arg);

/* ---- frontend state machine (xenbus_state.c) ---- */

/* <dir>/state as a XenbusState; XenbusStateUnknown when absent or garbage. */
XenbusState xenbus_read_state(struct xenbus *xb, xenbus_tx_t tx, const char *dir);
int xenbus_switch_state(struct xenbus *xb, xenbus_tx_t tx, const char *dir, XenbusState state);
/*
 * Waits until lo <= <dir>/state <= hi (a watch on the node, re-read on each
 * event); *got gets the last state seen. -1 ETIMEDOUT.
 */
int xenbus_wait_for_state(struct xenbus *xb, const char *dir, XenbusState lo, XenbusState hi,
    int timeout_ms, XenbusState *got);
const char *xenbus_state_name(XenbusState state);

#endif
