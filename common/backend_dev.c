/*
 * One device in the backend daemon: its xenbus state machine (reference
 * devices.md §1.3-1.4) and its worker. Every watch event that concerns the
 * device re-reads the three states that matter (the frontend's, our own node,
 * online) and takes the next step, so the machine is idempotent and never
 * depends on seeing every intermediate state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/xenbus.h>

#include "backend_priv.h"
#include "libhv.h"
#include "log.h"
#include "xmalloc.h"
#include "xs_async.h"

static void backend_dev_on_fe(struct xsa *xsa, const char *path, const char *token, void *arg);

/* Accessors: the ops see the device only through these. */
uint32_t backend_dev_domid(const struct backend_dev *d) { return d->d_domid; }
uint32_t backend_dev_devid(const struct backend_dev *d) { return d->d_devid; }
const char *backend_dev_name(const struct backend_dev *d) { return d->d_name; }
const char *backend_dev_bepath(const struct backend_dev *d) { return d->d_bepath; }
const char *backend_dev_fepath(const struct backend_dev *d) { return d->d_fepath; }
struct backend *backend_dev_backend(struct backend_dev *d) { return d->d_be; }
struct hv *backend_dev_hv(struct backend_dev *d) { return d->d_be->be_hv; }
void *backend_dev_priv(struct backend_dev *d) { return d->d_priv; }
void backend_dev_set_priv(struct backend_dev *d, void *priv) { d->d_priv = priv; }
struct event_base *backend_dev_base(struct backend_dev *d) { return d->d_be->be_base; }
struct xsa *backend_dev_xsa(struct backend_dev *d) { return d->d_be->be_xsa; }
void backend_dev_mark_failed(struct backend_dev *d) { d->d_failed = true; }

/* Empties a blob, closing the descriptors it owns. */
void
backend_blob_clear(struct backend_blob *b)
{
	for (int i = 0; i < b->b_nfds; i++)
		close(b->b_fds[i]);
	b->b_nfds = 0;
	b->b_len = 0;
}

/* Keeps a duplicate of fd in the blob (the caller keeps its own). */
int
backend_blob_add_fd(struct backend_blob *b, int fd)
{
	int dup_fd;

	if (b->b_nfds == BACKEND_MAX_FDS) {
		errno = EMFILE;
		return -1;
	}
	if ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return -1;
	b->b_fds[b->b_nfds++] = dup_fd;
	return 0;
}

/* A key of either directory; malloc'd or NULL. */
char *
backend_dev_read(struct backend_dev *d, bool fe, const char *key)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", fe ? d->d_fepath : d->d_bepath, key);
	return xs_read(d->d_be->be_xs, XS_TX_NONE, p, NULL);
}

/* An unsigned key: dflt when absent, -1 when not a number up to max. */
long long
backend_dev_read_ull(struct backend_dev *d, bool fe, const char *key, unsigned long long dflt,
    unsigned long long max)
{
	char *v = backend_dev_read(d, fe, key), *end;
	unsigned long long n;

	if (v == NULL)
		return dflt;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > max) {
		free(v);
		return -1;
	}
	free(v);
	return n;
}

/* Writes a backend key. */
int
backend_dev_write(struct backend_dev *d, xs_tx_t tx, const char *key, const char *fmt, ...)
{
	char p[192], *val;
	va_list ap;
	int rc, len;

	va_start(ap, fmt);
	len = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (len < 0)
		fatalx("out of memory");
	snprintf(p, sizeof(p), "%s/%s", d->d_bepath, key);
	rc = xs_write(d->d_be->be_xs, tx, p, val, len);
	if (rc < 0 && errno != EAGAIN)
		log_warn("%s: write %s", d->d_name, p);
	free(val);
	return rc;
}

/* Logs the failure and leaves it where xl looks (hotplug-error, hotplug-status). */
void
backend_dev_fail(struct backend_dev *d, const char *status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", d->d_name, msg);
	backend_dev_write(d, XS_TX_NONE, "hotplug-error", "%s", msg);
	if (status)
		backend_dev_write(d, XS_TX_NONE, "hotplug-status", "%s", status);
	d->d_failed = true;
}

/* Writes our state node. */
static void
backend_dev_switch(struct backend_dev *d, int state)
{
	if (d->d_state == state)
		return;
	log_debug("%s: state %d -> %d", d->d_name, d->d_state, state);
	if (backend_dev_write(d, XS_TX_NONE, "state", "%d", state) == 0)
		d->d_state = state;
}

/* Binds a frontend port and hands its eventfds to the connect message. */
int
backend_dev_bind(struct backend_dev *d, uint32_t remote_port, struct backend_blob *conn)
{
	struct backend *be = d->d_be;
	int port, wfd, sfd;

	if (d->d_nports == BACKEND_MAX_PORTS) {
		errno = ENOSPC;
		return -1;
	}
	if ((port = hv_evtchn_bind_interdomain(be->be_xce, d->d_domid, remote_port)) < 0)
		return -1;
	d->d_ports[d->d_nports++] = port;
	if (hv_evtchn_port_fds(be->be_xce, port, &wfd, &sfd) < 0 ||
	    backend_blob_add_fd(conn, wfd) < 0 || backend_blob_add_fd(conn, sfd) < 0)
		return -1;
	return 0;
}

/* Unbinds every port this device bound. */
static void
backend_dev_unbind(struct backend_dev *d)
{
	while (d->d_nports > 0)
		hv_evtchn_unbind(d->d_be->be_xce, d->d_ports[--d->d_nports]);
}

/* Takes the rings back from the worker (it finishes in-flight work first). */
static void
backend_dev_disconnect(struct backend_dev *d)
{
	char why[256];

	if (d->d_connected && d->d_child &&
	    backend_spawn_call(d->d_child, BACKEND_MSG_DISCONNECT, NULL,
	    BACKEND_MSG_DISCONNECTED, why, sizeof(why)) < 0)
		log_warnx("%s: worker did not disconnect cleanly: %s", d->d_name, why);
	d->d_connected = false;
	backend_dev_unbind(d);
	backend_blob_clear(&d->d_conn);
}

/* A new worker for the device, configured and confined. */
static int
backend_dev_start_worker(struct backend_dev *d)
{
	char why[256];

	if ((d->d_child = backend_spawn(d)) == NULL) {
		backend_dev_fail(d, "error", "cannot start a worker: %s", strerror(errno));
		return -1;
	}
	if (backend_spawn_call(d->d_child, BACKEND_MSG_CONFIG, &d->d_cfg, BACKEND_MSG_READY,
	    why, sizeof(why)) < 0) {
		backend_dev_fail(d, "error", "worker refused its configuration: %s", why);
		backend_spawn_release(d->d_child);
		d->d_child = NULL;
		return -1;
	}
	return 0;
}

/* The device as the toolstack made it: the backend's probe, a worker, InitWait;
 * 1 while the toolstack has not written every key yet. */
static int
backend_dev_probe(struct backend_dev *d)
{
	int rc;

	backend_blob_clear(&d->d_cfg);
	if ((rc = d->d_be->be_ops->probe(d, &d->d_cfg)) != 0)
		return rc;
	if (backend_dev_start_worker(d) < 0)
		return -1;
	d->d_probed = true;
	backend_dev_switch(d, XenbusStateInitWait);
	return 0;
}

/* Publishes the device and state 4 in one transaction. */
static int
backend_dev_publish(struct backend_dev *d)
{
	struct xs *xs = d->d_be->be_xs;
	xs_tx_t tx;

	for (int tries = 0; tries < 16; tries++) {
		if (xs_transaction_start(xs, &tx) < 0)
			return -1;
		if (d->d_be->be_ops->publish(d, tx) < 0 ||
		    backend_dev_write(d, tx, "state", "%d", XenbusStateConnected) < 0) {
			int saved = errno;
			xs_transaction_end(xs, tx, true);
			if (saved == EAGAIN)
				continue;
			errno = saved;
			return -1;
		}
		if (xs_transaction_end(xs, tx, false) == 0) {
			d->d_state = XenbusStateConnected;
			return 0;
		}
		if (errno != EAGAIN)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

/* The frontend is ready: rings to the worker, then Connected. */
static void
backend_dev_connect(struct backend_dev *d)
{
	char why[256];

	backend_blob_clear(&d->d_conn);
	if (d->d_be->be_ops->connect(d, &d->d_conn) < 0)
		goto fail;
	if (backend_spawn_call(d->d_child, BACKEND_MSG_CONNECT, &d->d_conn,
	    BACKEND_MSG_CONNECTED, why, sizeof(why)) < 0) {
		backend_dev_fail(d, NULL, "cannot serve the frontend's rings: %s", why);
		goto fail;
	}
	d->d_connected = true;
	if (backend_dev_publish(d) < 0) {
		backend_dev_fail(d, NULL, "cannot publish the device: %s", strerror(errno));
		goto fail;
	}
	log_info("%s: connected", d->d_name);
	return;
fail:
	d->d_failed = true;
	backend_dev_disconnect(d);
	backend_dev_switch(d, XenbusStateClosed);
}

/* New device object for backend/<kind>/<domid>/<devid>, or NULL if not ready yet. */
struct backend_dev *
backend_dev_new(struct backend *be, uint32_t domid, uint32_t devid)
{
	struct backend_dev *d = xcalloc(1, sizeof(*d));
	char *fe;

	d->d_be = be;
	d->d_domid = domid;
	d->d_devid = devid;
	snprintf(d->d_name, sizeof(d->d_name), "dom/%u/%s%u", domid, be->be_ops->kind, devid);
	snprintf(d->d_bepath, sizeof(d->d_bepath), "%s/%u/%u", be->be_root, domid, devid);
	fe = backend_dev_read(d, false, "frontend");
	if (fe == NULL || strlen(fe) >= sizeof(d->d_fepath) - 16 || fe[0] != '/') {
		free(fe);
		free(d);
		return NULL;
	}
	snprintf(d->d_fepath, sizeof(d->d_fepath), "%s", fe);
	free(fe);
	d->d_state = backend_dev_read_ull(d, false, "state", 0, 8);
	TAILQ_INSERT_TAIL(&be->be_devs, d, d_entry);
	char p[160];
	snprintf(p, sizeof(p), "%s/state", d->d_fepath);
	d->d_fe_watch = xsa_watch(be->be_xsa, p, backend_dev_on_fe, d);
	log_debug("%s: new device, frontend %s", d->d_name, d->d_fepath);
	return d;
}

/* Forgets the device: worker stopped (grants unmapped), ports unbound. */
void
backend_dev_free(struct backend_dev *d)
{
	struct backend *be = d->d_be;

	backend_dev_disconnect(d);
	if (d->d_child)
		backend_spawn_release(d->d_child);
	d->d_child = NULL;
	if (d->d_priv && be->be_ops->release)
		be->be_ops->release(d);
	if (d->d_fe_watch)
		xsa_unwatch(be->be_xsa, d->d_fe_watch);
	backend_blob_clear(&d->d_cfg);
	TAILQ_REMOVE(&be->be_devs, d, d_entry);
	log_debug("%s: device released", d->d_name);
	free(d);
}

/* Closed: state 6; for good (online=0 or no frontend) after the backend's
 * unplug, and then the object goes. */
static bool
backend_dev_close(struct backend_dev *d, bool online, int fe)
{
	const struct backend_ops *ops = d->d_be->be_ops;

	backend_dev_disconnect(d);
	if (online && fe != XenbusStateUnknown) {
		backend_dev_switch(d, XenbusStateClosed);
		return false;
	}
	if (ops->unplug && d->d_priv && !d->d_unplugged) {
		if (ops->unplug(d) == 1)
			return false;	/* kicked again when it is done */
		d->d_unplugged = true;
	}
	backend_dev_switch(d, XenbusStateClosed);
	log_info("%s: closed", d->d_name);
	backend_dev_free(d);
	return true;
}

/* The step for a frontend state. */
static void
backend_dev_step(struct backend_dev *d, int fe, bool online)
{
	switch (fe) {
	case XenbusStateUnknown:
		backend_dev_close(d, online, fe);
		break;
	case XenbusStateInitialising:
		if (d->d_state >= XenbusStateConnected && online && d->d_probed) {
			backend_dev_disconnect(d);
			d->d_failed = false;
			if (d->d_child == NULL && backend_dev_start_worker(d) < 0)
				break;
			backend_dev_write(d, XS_TX_NONE, "hotplug-error", "%s", "");
			backend_dev_switch(d, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (!d->d_failed && !d->d_connected && d->d_child &&
		    d->d_state == XenbusStateInitWait)
			backend_dev_connect(d);
		break;
	case XenbusStateClosing:
		backend_dev_disconnect(d);
		if (d->d_state < XenbusStateClosing)
			backend_dev_switch(d, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		backend_dev_close(d, online, fe);
		break;
	default:
		break;
	}
}

/* The state machine's entry: one step from whatever is in xenstore now. */
void
backend_dev_update(struct backend_dev *d)
{
	long long be_state = backend_dev_read_ull(d, false, "state", 0, 8);
	long long fe = backend_dev_read_ull(d, true, "state", 0, 8);
	char *v = backend_dev_read(d, false, "online");
	bool online = v && strcmp(v, "1") == 0;

	free(v);
	if (be_state <= 0) {
		v = backend_dev_read(d, false, "frontend");
		if (v == NULL && errno == ENOENT) {
			log_info("%s: backend directory removed", d->d_name);
			backend_dev_free(d);
		}
		free(v);
		return;
	}
	if (fe < 0)
		fe = XenbusStateUnknown;
	if (!d->d_probed && !d->d_failed && online && be_state < XenbusStateClosing &&
	    backend_dev_probe(d) != 0)
		return;
	/* the toolstack writes Closing into our node to ask for a close */
	if (be_state == XenbusStateClosing && d->d_state < XenbusStateClosing) {
		d->d_state = XenbusStateClosing;
		d->d_kicked = true;
	}
	if (d->d_kicked && fe != XenbusStateInitialised && fe != XenbusStateConnected &&
	    fe != XenbusStateClosing) {
		backend_dev_close(d, online && fe != XenbusStateClosed, fe);
		return;
	}
	if (!online && !d->d_probed && be_state >= XenbusStateClosing) {
		backend_dev_close(d, false, fe);
		return;
	}
	backend_dev_step(d, fe, online);
}

/* Something the device waited for happened (a hotplug script ended). */
void
backend_dev_kick(struct backend_dev *d)
{
	backend_dev_update(d);
}

/* The frontend's state node changed. */
static void
backend_dev_on_fe(struct xsa *xsa, const char *path, const char *token, void *arg)
{
	(void)xsa;
	(void)path;
	(void)token;
	backend_dev_update(arg);
}

/* The worker died: note it where xl looks, and put a new one in its place. */
void
backend_dev_worker_died(struct backend_dev *d, const char *how)
{
	long long now = backend_now_ms();
	char why[256];

	d->d_child = NULL;
	if (d->d_failed) {
		log_info("%s: worker %s", d->d_name, how);
		return;
	}
	if (now - d->d_deaths_t0 > BACKEND_RESTART_WINDOW_MS) {
		d->d_deaths_t0 = now;
		d->d_deaths = 0;
	}
	if (++d->d_deaths > BACKEND_RESTARTS) {
		backend_dev_fail(d, NULL, "worker %s; it died %u times within %d s, device closed",
		    how, d->d_deaths, BACKEND_RESTART_WINDOW_MS / 1000);
		goto close;
	}
	log_warnx("%s: worker %s; starting a new one", d->d_name, how);
	backend_dev_write(d, XS_TX_NONE, "hotplug-error", "worker %s; restarted", how);
	if (backend_dev_start_worker(d) < 0)
		goto close;
	if (d->d_connected && backend_spawn_call(d->d_child, BACKEND_MSG_CONNECT, &d->d_conn,
	    BACKEND_MSG_CONNECTED, why, sizeof(why)) < 0) {
		backend_dev_fail(d, NULL, "restarted worker cannot serve the rings: %s", why);
		goto close;
	}
	if (!d->d_connected)
		backend_dev_update(d);	/* a frontend that became ready meanwhile */
	return;
close:
	d->d_failed = true;
	backend_dev_disconnect(d);
	backend_dev_switch(d, XenbusStateClosed);
}

/* The worker found the frontend misbehaving: only this device closes. */
void
backend_dev_worker_failed(struct backend_dev *d, int err, const char *msg)
{
	backend_dev_fail(d, NULL, "%s%s%s", msg, err ? ": " : "", err ? strerror(err) : "");
	backend_dev_disconnect(d);
	backend_dev_switch(d, XenbusStateClosed);
}
