/* Test helpers: a private xenstored on a socket, a raw wire client, and
 * in-process fake connections (unprivileged guests) on the daemon's core. */
#ifndef XST_H
#define XST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/io/xs_wire.h>

struct xst_msg {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];
};

/* A private daemon in a mkdtemp dir; extra args after the defaults. */
struct xst_daemon {
	char dir[64];
	char sock[128];
	pid_t pid;
};
void xst_daemon_start(struct xst_daemon *d, const char *const *extra);
void xst_daemon_stop(struct xst_daemon *d);
int xst_connect(const char *path);

/* Raw wire: send one request, receive one message. */
void xst_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx, const void *p, size_t len);
int xst_recv(int fd, struct xst_msg *m);
/* Sends and returns the reply, queuing nothing: events before the reply are skipped
 * into *events (count). */
void xst_call(int fd, uint32_t type, uint32_t tx, const void *p, size_t len, struct xst_msg *m);
/* Helpers returning the reply body or "E..." error name. */
const char *xst_str(int fd, uint32_t type, uint32_t tx, const char *a, const char *b,
    struct xst_msg *m);
bool xst_readable(int fd, int ms);
/* The next watch event: queued ones first (xst_call skips them), then the socket. */
int xst_event(int fd, struct xst_msg *m);
/* Drops queued events (when switching connections). */
void xst_events_clear(void);
unsigned xst_nevents_pending(void);

#endif
