/*
 * The asynchronous face of the xenstore client, on a libevent loop, for the
 * daemons: every request takes a callback that runs with the reply; watch
 * events run the watch's callback. Requests are pipelined with unique req_ids.
 * xsa_open ignores SIGPIPE if its disposition is the default (writes are writev()).
 * A restarted xenstored is reconnected to on the loop (see xs.h): callbacks
 * wait meanwhile, watches fire once when registered again, and the lost
 * callback runs only when the reconnect time is up.
 */
#ifndef PVSTACK_XS_ASYNC_H
#define PVSTACK_XS_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "xs.h"

struct event_base;
struct xsa;
struct xsa_watch;

/* err = 0 and the reply payload, or err = errno from the daemon (EAGAIN for a
 * request of a transaction begun on a lost connection, EPIPE when the
 * connection is given up). data is valid only during the callback. */
typedef void (*xsa_reply_cb)(struct xsa *xsa, int err, const char *data, size_t len, void *arg);
typedef void (*xsa_watch_cb)(struct xsa *xsa, const char *path, const char *token, void *arg);
/* The connection to xenstored was lost for good (the reconnect time ran out);
 * every pending callback has run with EPIPE. */
typedef void (*xsa_lost_cb)(struct xsa *xsa, void *arg);

struct xsa *xsa_open(struct event_base *base, const char *path, xsa_lost_cb lost, void *arg);
void xsa_close(struct xsa *xsa);
/* How long a lost connection is retried (default xs_reconnect_default_ms()); 0: not at all. */
void xsa_set_reconnect_timeout(struct xsa *xsa, unsigned ms);
/* Connections lost so far. */
unsigned xsa_reconnects(struct xsa *xsa);

/* Raw request: type XS_*, payload, optional transaction. */
int xsa_request(struct xsa *xsa, uint32_t type, xs_tx_t tx, const void *payload, size_t len,
    xsa_reply_cb cb, void *arg);
int xsa_read(struct xsa *xsa, xs_tx_t tx, const char *path, xsa_reply_cb cb, void *arg);
int xsa_write(struct xsa *xsa, xs_tx_t tx, const char *path, const void *val, size_t len,
    xsa_reply_cb cb, void *arg);
int xsa_rm(struct xsa *xsa, xs_tx_t tx, const char *path, xsa_reply_cb cb, void *arg);
int xsa_directory(struct xsa *xsa, xs_tx_t tx, const char *path, xsa_reply_cb cb, void *arg);

/* The token is made unique by the library; the callback also gets the initial
 * event, and one more after each reconnect. */
struct xsa_watch *xsa_watch(struct xsa *xsa, const char *path, xsa_watch_cb cb, void *arg);
void xsa_unwatch(struct xsa *xsa, struct xsa_watch *w);

/*
 * A transaction that retries itself on EAGAIN: body runs with a fresh tx and
 * issues its requests with it, then calls xsa_tx_commit(). done runs once with
 * the final result (0 or errno). tx is a handle of the library's: after a
 * reconnect, the body's requests with it answer EAGAIN and the commit (or an
 * abort with EAGAIN) runs the body again on a fresh transaction.
 */
struct xsa_tx;
typedef void (*xsa_tx_body)(struct xsa *xsa, struct xsa_tx *t, xs_tx_t tx, void *arg);
typedef void (*xsa_tx_done)(struct xsa *xsa, int err, void *arg);
int xsa_transaction(struct xsa *xsa, xsa_tx_body body, xsa_tx_done done, void *arg);
void xsa_tx_commit(struct xsa_tx *t);
void xsa_tx_abort(struct xsa_tx *t, int err);

#endif
