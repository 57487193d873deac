#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "xmalloc.h"

/* Our devices of one kind, as the toolstack listed them. */
char **
frontend_list(struct guest *g, const char *kind, unsigned *num)
{
	char path[FRONTEND_PATH_MAX];

	snprintf(path, sizeof(path), "device/%s", kind);
	return xenbus_ls(g->g_xb, XENBUS_TX_NONE, path, num);
}

/* The toolstack's cross-links: backend (absolute path) and backend-id. */
int
frontend_init(struct frontend *fe, struct guest *g, const char *kind, const char *devid)
{
	char path[FRONTEND_PATH_MAX + 16];
	long id;

	memset(fe, 0, sizeof(*fe));
	fe->fe_guest = g;
	if ((size_t)snprintf(fe->fe_dir, sizeof(fe->fe_dir), "device/%s/%s", kind, devid) >=
	    sizeof(fe->fe_dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/backend", fe->fe_dir);
	char *be = xenbus_read(g->g_xb, XENBUS_TX_NONE, path, NULL);
	if (be == NULL)
		return -1;
	int bad = be[0] != '/' || strlen(be) >= sizeof(fe->fe_backend);
	if (!bad)
		strcpy(fe->fe_backend, be);
	free(be);
	snprintf(path, sizeof(path), "%s/backend-id", fe->fe_dir);
	if (bad || xenbus_read_long(g->g_xb, XENBUS_TX_NONE, path, &id) < 0 || id < 0 ||
	    id >= DOMID_FIRST_RESERVED) {
		errno = EINVAL;
		return -1;
	}
	fe->fe_backend_id = (hv_domid_t)id;
	return 0;
}

int
frontend_printf(struct frontend *fe, xenbus_tx_t tx, const char *key, const char *fmt, ...)
{
	char path[FRONTEND_PATH_MAX + 64];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", fe->fe_dir, key);
	va_start(ap, fmt);
	int rc = xenbus_vprintf(fe->fe_guest->g_xb, tx, path, fmt, ap);
	va_end(ap);
	return rc;
}

char *
frontend_backend_read(struct frontend *fe, const char *key)
{
	char path[FRONTEND_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", fe->fe_backend, key);
	return xenbus_read(fe->fe_guest->g_xb, XENBUS_TX_NONE, path, NULL);
}

/* Unbound port in our space that the backend binds with bind_interdomain. */
int
frontend_alloc_evtchn(struct frontend *fe, events_handler_fn *fn, void *arg)
{
	struct events *ev = fe->fe_guest->g_ev;
	int port = hv_evtchn_bind_unbound_port(events_xce(ev), fe->fe_backend_id);

	if (port < 0)
		return -1;
	if (events_handle(ev, (hv_port_t)port, fn, arg) < 0) {
		int saved = errno;
		hv_evtchn_unbind(events_xce(ev), (hv_port_t)port);
		errno = saved;
		return -1;
	}
	return port;
}

struct frontend_tx {
	struct frontend *ft_fe;
	frontend_publish_fn *ft_publish;
	void *ft_arg;
};

/* Transaction body: the transport keys and Initialised together. */
static int
frontend_publish_tx(struct xenbus *xb, xenbus_tx_t tx, void *arg)
{
	struct frontend_tx *ft = arg;

	if (ft->ft_publish != NULL && ft->ft_publish(ft->ft_fe, tx, ft->ft_arg) < 0)
		return -1;
	return xenbus_switch_state(xb, tx, ft->ft_fe->fe_dir, XenbusStateInitialised);
}

/* Every wait of one open or close shares a deadline. */
long long
frontend_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : events_now_ms() + timeout_ms;
}

/* Time left of a deadline, for the next wait (-1: none). */
int
frontend_left(long long deadline)
{
	if (deadline < 0)
		return -1;
	long long left = deadline - events_now_ms();
	return left > 0 ? (int)left : 0;
}

int
frontend_connect(struct frontend *fe, frontend_publish_fn *publish, void *arg, int timeout_ms)
{
	struct xenbus *xb = fe->fe_guest->g_xb;
	long long deadline = frontend_deadline(timeout_ms);
	struct frontend_tx ft = { fe, publish, arg };

	if (xenbus_wait_for_state(xb, fe->fe_backend, XenbusStateInitWait, XenbusStateConnected,
	    frontend_left(deadline), NULL) < 0)
		return -1;
	if (xenbus_transaction(xb, frontend_publish_tx, &ft) < 0)
		return -1;
	if (xenbus_wait_for_state(xb, fe->fe_backend, XenbusStateConnected, XenbusStateConnected,
	    frontend_left(deadline), NULL) < 0)
		return -1;
	return xenbus_switch_state(xb, XENBUS_TX_NONE, fe->fe_dir, XenbusStateConnected);
}

int
frontend_shutdown(struct frontend *fe, int timeout_ms)
{
	struct xenbus *xb = fe->fe_guest->g_xb;
	long long deadline = timeout_ms < 0 ? -1 : events_now_ms() + timeout_ms;

	if (xenbus_switch_state(xb, XENBUS_TX_NONE, fe->fe_dir, XenbusStateClosing) < 0 ||
	    xenbus_wait_for_state(xb, fe->fe_backend, XenbusStateClosing, XenbusStateClosed,
	    frontend_left(deadline), NULL) < 0)
		return -1;
	if (xenbus_switch_state(xb, XENBUS_TX_NONE, fe->fe_dir, XenbusStateClosed) < 0 ||
	    xenbus_wait_for_state(xb, fe->fe_backend, XenbusStateClosed, XenbusStateClosed,
	    frontend_left(deadline), NULL) < 0)
		return -1;
	if (xenbus_switch_state(xb, XENBUS_TX_NONE, fe->fe_dir, XenbusStateInitialising) < 0)
		return -1;
	return xenbus_wait_for_state(xb, fe->fe_backend, XenbusStateInitWait, XenbusStateClosing,
	    frontend_left(deadline), NULL);
}

/* An open starts the same for every kind: the cross-links, then a backend
 * that has published its limits (InitWait). */
int
frontend_probe(struct frontend *fe, struct guest *g, const char *kind, const char *devid,
    long long deadline, char *why, size_t len)
{
	if (frontend_init(fe, g, kind, devid) < 0) {
		snprintf(why, len, "device/%s/%s: backend or backend-id: %s", kind, devid,
		    strerror(errno));
		return -1;
	}
	if (xenbus_wait_for_state(g->g_xb, fe->fe_backend, XenbusStateInitWait,
	    XenbusStateConnected, frontend_left(deadline), NULL) < 0) {
		snprintf(why, len, "%s: backend not ready: %s", fe->fe_backend, strerror(errno));
		return -1;
	}
	return 0;
}

/* Limits and features are decimal keys; a bad one is named in why. */
int
frontend_read_ull(struct frontend *fe, const char *dir, const char *key,
    unsigned long long def, unsigned long long *val, char *why, size_t len)
{
	char path[FRONTEND_PATH_MAX + 64], *end;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	char *s = xenbus_read(fe->fe_guest->g_xb, XENBUS_TX_NONE, path, NULL);
	if (s == NULL) {
		if (errno == ENOENT) {
			*val = def;
			return 0;
		}
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	*val = strtoull(s, &end, 10);
	int ok = errno == 0 && end != s && *end == '\0' && s[0] != '-';
	free(s);
	if (ok)
		return 0;
	snprintf(why, len, "%s: not a number", path);
	errno = EINVAL;
	return -1;
}

/* The guest's own limits, set on its command line, lower what a backend offers. */
unsigned long long
frontend_param(struct guest *g, const char *driver, const char *name, unsigned long long def)
{
	char key[64];
	const char *cmdline = (const char *)g->g_start.cmd_line;

	snprintf(key, sizeof(key), "%s.%s=", driver, name);
	for (const char *at = strstr(cmdline, key); at != NULL; at = strstr(at + 1, key)) {
		if (at != cmdline && at[-1] != ' ')
			continue;
		unsigned long long v = strtoull(at + strlen(key), NULL, 10);
		return v < def ? v : def;
	}
	return def;
}

/* A backend that refuses a device says why in hotplug-error (the backends
 * and the hotplug scripts write it): that beats a timeout. */
void
frontend_connect_failed(struct frontend *fe, char *why, size_t len)
{
	int err = errno;
	char *msg = frontend_backend_read(fe, "hotplug-error");

	if (msg != NULL && msg[0] != '\0')
		snprintf(why, len, "%s: %s", fe->fe_backend, msg);
	else
		snprintf(why, len, "%s: connect: %s", fe->fe_backend, strerror(err));
	free(msg);
	errno = err;
}

/* Waits until dir's state is at least want, or gone: detaching does not
 * re-arm the backend. */
static int
frontend_wait_closed(struct frontend *fe, const char *dir, XenbusState want, long long deadline)
{
	struct xenbus *xb = fe->fe_guest->g_xb;

	for (;;) {
		XenbusState st = xenbus_read_state(xb, XENBUS_TX_NONE, dir);
		if (st == XenbusStateUnknown || (st >= want && st <= XenbusStateClosed))
			return 0;
		long long left = deadline - events_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		xenbus_wait_for_state(xb, dir, want, XenbusStateClosed,
		    left < 200 ? (int)left : 200, NULL);
	}
}

/* A close walks both steps even when the first fails, so the backend sees
 * Closed whatever happened. */
int
frontend_detach(struct frontend *fe, int timeout_ms)
{
	struct xenbus *xb = fe->fe_guest->g_xb;
	long long deadline = events_now_ms() + timeout_ms;
	int rc = 0;

	if (xenbus_switch_state(xb, XENBUS_TX_NONE, fe->fe_dir, XenbusStateClosing) < 0 ||
	    frontend_wait_closed(fe, fe->fe_backend, XenbusStateClosing, deadline) < 0)
		rc = -1;
	if (xenbus_switch_state(xb, XENBUS_TX_NONE, fe->fe_dir, XenbusStateClosed) < 0 ||
	    frontend_wait_closed(fe, fe->fe_backend, XenbusStateClosed, deadline) < 0)
		rc = -1;
	return rc;
}
