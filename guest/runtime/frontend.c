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

/* Time left of a deadline, for the next wait (-1: none). */
static int
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
	long long deadline = timeout_ms < 0 ? -1 : events_now_ms() + timeout_ms;
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
