#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "events.h"
#include "xmalloc.h"

struct events_slot {
	hv_port_t es_port;
	events_handler_fn *es_fn;
	void *es_arg;
};

struct events_fdw {
	int ef_fd;
	short ef_events;
	events_fd_fn *ef_fn;
	void *ef_arg;
};

struct events {
	struct hv_evtchn *ev_xce;
	unsigned ev_nslots;
	struct events_slot ev_slots[EVENTS_MAX_PORTS];
	unsigned ev_nfds;
	struct events_fdw ev_fds[EVENTS_MAX_FDS];
};

/* Deadlines for waits and uptime, immune to clock changes. */
long long
events_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One evtchn handle for every port the guest uses. */
struct events *
events_open(struct hv *hv)
{
	struct events *ev = xcalloc(1, sizeof(*ev));

	ev->ev_xce = hv_evtchn_open(hv);
	if (ev->ev_xce == NULL) {
		free(ev);
		return NULL;
	}
	return ev;
}

/* Closes every port of the handle. */
void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	hv_evtchn_close(ev->ev_xce);
	free(ev);
}

/* The handle, for frontends that bind their own ports. */
struct hv_evtchn *
events_xce(struct events *ev)
{
	return ev->ev_xce;
}

/* The slot of port, or NULL. */
static struct events_slot *
events_find(struct events *ev, hv_port_t port)
{
	for (unsigned i = 0; i < ev->ev_nslots; i++) {
		if (ev->ev_slots[i].es_port == port)
			return &ev->ev_slots[i];
	}
	return NULL;
}

/* Registers (or replaces) port's handler. */
int
events_handle(struct events *ev, hv_port_t port, events_handler_fn *fn, void *arg)
{
	struct events_slot *s = events_find(ev, port);

	if (s == NULL) {
		if (ev->ev_nslots == EVENTS_MAX_PORTS) {
			errno = ENOSPC;
			return -1;
		}
		s = &ev->ev_slots[ev->ev_nslots++];
	}
	s->es_port = port;
	s->es_fn = fn;
	s->es_arg = arg;
	return 0;
}

/* start_info's ports exist already: take them into our handle. */
int
events_attach(struct events *ev, hv_port_t port, events_handler_fn *fn, void *arg)
{
	if (hv_evtchn_attach(ev->ev_xce, port) < 0)
		return -1;
	return events_handle(ev, port, fn, arg);
}

/* Forgets the handler; the peer becomes unbound. */
int
events_unbind(struct events *ev, hv_port_t port)
{
	struct events_slot *s = events_find(ev, port);

	if (s != NULL)
		*s = ev->ev_slots[--ev->ev_nslots];
	return hv_evtchn_unbind(ev->ev_xce, port);
}

/* Kicks the peer of port. */
int
events_notify(struct events *ev, hv_port_t port)
{
	return hv_evtchn_notify(ev->ev_xce, port);
}

/* Runs the handler of every pending port, then unmasks it. */
static int
events_dispatch(struct events *ev)
{
	int n = 0, port;

	while ((port = hv_evtchn_pending(ev->ev_xce)) >= 0) {
		struct events_slot *s = events_find(ev, (hv_port_t)port);
		if (s != NULL && s->es_fn != NULL)
			s->es_fn((hv_port_t)port, s->es_arg);
		hv_evtchn_unmask(ev->ev_xce, (hv_port_t)port);
		n++;
	}
	if (errno != EAGAIN)
		return -1;
	return n;
}

/* One round of the loop: wait, then dispatch. */
int
events_poll(struct events *ev, int timeout_ms)
{
	struct pollfd pfd = { .fd = hv_evtchn_fd(ev->ev_xce), .events = POLLIN };
	int rc = poll(&pfd, 1, timeout_ms);

	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (rc == 0)
		return 0;
	if (pfd.revents & (POLLERR | POLLNVAL)) {
		errno = EIO;
		return -1;
	}
	return events_dispatch(ev);
}

/* Watches fd for events (POLLIN, POLLOUT) on the main loop. */
int
events_watch_fd(struct events *ev, int fd, short events, events_fd_fn *fn, void *arg)
{
	for (unsigned i = 0; i < ev->ev_nfds; i++)
		if (ev->ev_fds[i].ef_fd == fd) {
			ev->ev_fds[i] = (struct events_fdw){ fd, events, fn, arg };
			return 0;
		}
	if (ev->ev_nfds == EVENTS_MAX_FDS) {
		errno = ENOSPC;
		return -1;
	}
	ev->ev_fds[ev->ev_nfds++] = (struct events_fdw){ fd, events, fn, arg };
	return 0;
}

void
events_unwatch_fd(struct events *ev, int fd)
{
	for (unsigned i = 0; i < ev->ev_nfds; i++)
		if (ev->ev_fds[i].ef_fd == fd) {
			ev->ev_fds[i] = ev->ev_fds[--ev->ev_nfds];
			return;
		}
}

int
events_loop_once(struct events *ev, int timeout_ms)
{
	struct pollfd pfd[1 + EVENTS_MAX_FDS];
	struct events_fdw fds[EVENTS_MAX_FDS];
	unsigned n = ev->ev_nfds;
	int rc;

	pfd[0] = (struct pollfd){ .fd = hv_evtchn_fd(ev->ev_xce), .events = POLLIN };
	/* a handler may unwatch (or watch) descriptors: work on a copy */
	memcpy(fds, ev->ev_fds, n * sizeof(fds[0]));
	for (unsigned i = 0; i < n; i++)
		pfd[1 + i] = (struct pollfd){ .fd = fds[i].ef_fd, .events = fds[i].ef_events };
	rc = poll(pfd, 1 + n, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (rc == 0)
		return 0;
	if (pfd[0].revents & (POLLERR | POLLNVAL)) {
		errno = EIO;
		return -1;
	}
	if (pfd[0].revents && events_dispatch(ev) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (pfd[1 + i].revents)
			fds[i].ef_fn(fds[i].ef_fd, pfd[1 + i].revents, fds[i].ef_arg);
	return rc;
}

/* Blocks until done(arg), dispatching meanwhile, with a deadline. */
int
events_wait(struct events *ev, events_done_fn *done, void *arg, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : events_now_ms() + timeout_ms;

	while (!done(arg)) {
		int left = -1;
		if (deadline >= 0) {
			long long now = events_now_ms();
			if (now >= deadline) {
				errno = ETIMEDOUT;
				return -1;
			}
			left = (int)(deadline - now);
		}
		if (events_poll(ev, left) < 0)
			return -1;
	}
	return 0;
}
