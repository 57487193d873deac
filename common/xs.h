/*
 * The xenstore client library: one connection to xenstored, either the dom0
 * unix socket or (in a guest, through its own transport) a ring.
 *
 * Two faces over one connection type:
 *  - synchronous, for tools and simple callers: each call sends one request
 *    and blocks for its reply; watch events that arrive meanwhile are queued
 *    and read with xs_read_watch().
 *  - asynchronous on libevent, for daemons (xs_async.h).
 *
 * A restarted xenstored (--state-dir) is transparent to both faces: when the
 * socket closes, the client connects again with a short backoff for up to
 * xs_reconnect_default_ms() (30 s; $PVSTACK_XS_RECONNECT_TIMEOUT seconds, 0 =
 * never), logging the loss, the reconnect and giving up; it registers every
 * watch again with the same token (each fires once, as after any XS_WATCH, so
 * a watcher re-reads what it watches); requests outside a transaction are sent
 * again; requests and the commit of a transaction opened on the lost
 * connection fail with EAGAIN (an abort succeeds), so their owner retries. Only
 * when the time is up do calls fail with EPIPE (and xsa's lost callback run).
 *
 * Convention: 0 / pointer on success; -1 / NULL with errno on failure, where
 * errno is the daemon's error name mapped back (ENOENT, EACCES, EAGAIN, ...).
 * Returned strings and arrays are malloc'd; the caller frees them (arrays are
 * one allocation: free the array only).
 */
#ifndef PVSTACK_XS_H
#define PVSTACK_XS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

typedef uint32_t xs_tx_t;
#define XS_TX_NONE 0

struct xs;

/* Perm letters as in Xen: n r w b. */
enum xs_perm_kind { XS_PERM_NONE = 0, XS_PERM_READ = 1, XS_PERM_WRITE = 2, XS_PERM_BOTH = 3 };
struct xs_perm {
	uint32_t domid;
	enum xs_perm_kind perm;
};

/* Socket path: $XENSTORED_PATH, else $PVSTACK_RUNDIR/xenstored/socket. */
const char *xs_socket_path(void);
/* Connects (path NULL: xs_socket_path()). */
struct xs *xs_open(const char *path);
void xs_close(struct xs *xs);
/* The socket; its number stays the same across reconnects, the file behind it
 * does not (an epoll/libevent watcher re-adds it when xs_reconnects() changes). */
int xs_fd(struct xs *xs);

#define XS_RECONNECT_DEFAULT_MS 30000
/* $PVSTACK_XS_RECONNECT_TIMEOUT (seconds) in ms, else XS_RECONNECT_DEFAULT_MS. */
unsigned xs_reconnect_default_ms(void);
/* How long a lost connection is retried; 0 fails at once with EPIPE. */
void xs_set_reconnect_timeout(struct xs *xs, unsigned ms);
/* Connections lost so far (each followed by a reconnect attempt). */
unsigned xs_reconnects(struct xs *xs);

char *xs_read(struct xs *xs, xs_tx_t tx, const char *path, size_t *len);
int xs_write(struct xs *xs, xs_tx_t tx, const char *path, const void *val, size_t len);
int xs_printf(struct xs *xs, xs_tx_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int xs_mkdir(struct xs *xs, xs_tx_t tx, const char *path);
int xs_rm(struct xs *xs, xs_tx_t tx, const char *path);
/* Children names; *num gets the count. */
char **xs_directory(struct xs *xs, xs_tx_t tx, const char *path, unsigned *num);
struct xs_perm *xs_get_perms(struct xs *xs, xs_tx_t tx, const char *path, unsigned *num);
int xs_set_perms(struct xs *xs, xs_tx_t tx, const char *path, const struct xs_perm *perms, unsigned num);
/* "r5" -> {5, READ}; -1 EINVAL on a bad string. */
int xs_perm_parse(const char *s, struct xs_perm *perm);
/* {5, READ} -> "r5"; buf of at least 16 bytes. */
void xs_perm_format(const struct xs_perm *perm, char *buf, size_t len);

int xs_watch(struct xs *xs, const char *path, const char *token);
int xs_unwatch(struct xs *xs, const char *path, const char *token);
/* Blocks for the next watch event; vec[0] = path, vec[1] = token (one allocation). */
char **xs_read_watch(struct xs *xs, unsigned *num);
/* Non-blocking form: NULL with EAGAIN when nothing is queued or readable
 * (it blocks while reconnecting, when the daemon went away). */
char **xs_check_watch(struct xs *xs);

int xs_transaction_start(struct xs *xs, xs_tx_t *tx);
/* abort = true discards; -1 EAGAIN on conflict (the transaction is gone). */
int xs_transaction_end(struct xs *xs, xs_tx_t tx, bool abort);

int xs_introduce_domain(struct xs *xs, uint32_t domid, uint64_t mfn, uint32_t port);
int xs_release_domain(struct xs *xs, uint32_t domid);
int xs_resume_domain(struct xs *xs, uint32_t domid);
int xs_is_domain_introduced(struct xs *xs, uint32_t domid);	/* 1, 0, or -1 */
char *xs_get_domain_path(struct xs *xs, uint32_t domid);
int xs_set_target(struct xs *xs, uint32_t domid, uint32_t target);
int xs_reset_watches(struct xs *xs);
/* XS_CONTROL: argv joined with NULs; reply text returned. */
char *xs_control(struct xs *xs, const char *const *argv, unsigned argc);

/* Errno for a daemon error name ("ENOENT" -> ENOENT; unknown -> EINVAL), and back. */
int xs_errno_from_name(const char *name);
const char *xs_errno_name(int err);

#endif
