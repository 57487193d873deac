/*
 * The guest's event loop: one poll() on the evtchn handle's fd, then every
 * pending port goes to the handler registered for it. No threads and no
 * libevent: a guest blocks in events_wait() until the condition it waits for
 * (a xenstore reply, space on the console ring) holds.
 */
#ifndef PVGUEST_EVENTS_H
#define PVGUEST_EVENTS_H

#include <stdbool.h>

#include "libhv.h"

#define EVENTS_MAX_PORTS 64

typedef void events_handler_fn(hv_port_t port, void *arg);
typedef bool events_done_fn(void *arg);

struct events;

struct events *events_open(struct hv *hv);
void events_close(struct events *ev);
struct hv_evtchn *events_xce(struct events *ev);
/* Takes a port of our own space (start_info's) into the handle and handles it. */
int events_attach(struct events *ev, hv_port_t port, events_handler_fn *fn, void *arg);
/* Handles a port already bound in events_xce() (by a frontend). */
int events_handle(struct events *ev, hv_port_t port, events_handler_fn *fn, void *arg);
/* Forgets a port's handler and unbinds it. */
int events_unbind(struct events *ev, hv_port_t port);
int events_notify(struct events *ev, hv_port_t port);
/* Waits up to timeout_ms (-1: forever) and dispatches; returns events handled. */
int events_poll(struct events *ev, int timeout_ms);

/*
 * Descriptors of the guest's own (a shim's pipes and sockets) on the same
 * wait. Their handlers run only from events_loop_once, never from inside
 * events_poll or events_wait, so a handler may itself wait for a ring.
 * Sized for the UML shim at its limits: two per virtio disk (its connection
 * and kick eventfd, 16 disks), three per interface port (8: its listening
 * and accepted control sockets, its datagram socket), and its own few.
 */
#define EVENTS_MAX_FDS 64
typedef void events_fd_fn(int fd, short revents, void *arg);
int events_watch_fd(struct events *ev, int fd, short events, events_fd_fn *fn, void *arg);
void events_unwatch_fd(struct events *ev, int fd);
/* One round of a main loop: ports and watched descriptors. */
int events_loop_once(struct events *ev, int timeout_ms);
/* Dispatches until done(arg); -1 ETIMEDOUT after timeout_ms (-1: never). */
int events_wait(struct events *ev, events_done_fn *done, void *arg, int timeout_ms);
/* Milliseconds of a monotonic clock, for deadlines. */
long long events_now_ms(void);

#endif
