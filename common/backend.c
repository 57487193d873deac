/*
 * The backend daemon's device table: one watch on backend/<kind>, and the
 * dispatch of its events to the device they concern (created when the
 * toolstack writes a new one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "backend_priv.h"
#include "jail.h"
#include "libhv.h"
#include "log.h"
#include "xlconf.h"
#include "xmalloc.h"
#include "xs_async.h"

/* Monotonic milliseconds, for the restart window. */
long long
backend_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The daemon's state; nothing is connected until backend_start. */
struct backend *
backend_new(struct event_base *base, const struct backend_ops *ops, struct hv *hv,
    int log_dest, void *priv)
{
	struct backend *be = xcalloc(1, sizeof(*be));

	be->be_base = base;
	be->be_ops = ops;
	be->be_hv = hv;
	be->be_log_dest = log_dest;
	be->be_priv = priv;
	snprintf(be->be_root, sizeof(be->be_root), "/local/domain/0/backend/%s", ops->kind);
	be->be_uid_base = xlconf_get() ? xlconf_int(xlconf_get(), "guest_uid_range_base") :
	    JAIL_UID_BASE_DEFAULT;
	TAILQ_INIT(&be->be_devs);
	TAILQ_INIT(&be->be_reaping);
	return be;
}

/* The backend's own daemon-wide state. */
void *
backend_priv(struct backend *be)
{
	return be->be_priv;
}

/* The device object for (domid, devid), or NULL. */
static struct backend_dev *
backend_find(struct backend *be, uint32_t domid, uint32_t devid)
{
	struct backend_dev *d;

	TAILQ_FOREACH(d, &be->be_devs, d_entry)
		if (d->d_domid == domid && d->d_devid == devid)
			return d;
	return NULL;
}

/* A decimal path component, at most max; -1 when it is not one. */
static long long
backend_parse_id(const char *s, size_t len, unsigned long long max)
{
	unsigned long long v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? (long long)v : -1;
}

/*
 * Whether the toolstack has a new device for us there: online=1 and a state
 * before Closing. Devices we closed (state 6) or that are going away stay
 * unclaimed, so our own writes never resurrect them.
 */
static bool
backend_wanted(struct backend *be, uint32_t domid, uint32_t devid)
{
	char p[160], *v;
	bool want;

	snprintf(p, sizeof(p), "%s/%u/%u/state", be->be_root, domid, devid);
	v = xs_read(be->be_xs, XS_TX_NONE, p, NULL);
	want = v && atoi(v) >= 1 && atoi(v) <= 4;
	free(v);
	if (!want)
		return false;
	snprintf(p, sizeof(p), "%s/%u/%u/online", be->be_root, domid, devid);
	v = xs_read(be->be_xs, XS_TX_NONE, p, NULL);
	want = v && strcmp(v, "1") == 0;
	free(v);
	return want;
}

/* Something changed under one device's directory: create it or step it. */
static void
backend_touch(struct backend *be, uint32_t domid, uint32_t devid)
{
	struct backend_dev *d = backend_find(be, domid, devid);
	char *state;

	if (d) {
		/* the directory removed under a live device: its own watch event says so */
		if ((state = backend_dev_read(d, false, "state")) == NULL) {
			log_info("%s: backend directory removed", d->d_name);
			backend_dev_free(d);
			return;
		}
		free(state);
		backend_dev_update(d);
		return;
	}
	if (!backend_wanted(be, domid, devid))
		return;
	d = backend_dev_new(be, domid, devid);
	if (d)
		backend_dev_update(d);
}

/* Every device of one frontend domain. */
static void
backend_scan_dom(struct backend *be, long long domid)
{
	char p[128], **devs;
	unsigned ndev = 0;
	long long dev;

	snprintf(p, sizeof(p), "%s/%lld", be->be_root, domid);
	if ((devs = xs_directory(be->be_xs, XS_TX_NONE, p, &ndev)) == NULL)
		return;
	for (unsigned j = 0; j < ndev; j++)
		if ((dev = backend_parse_id(devs[j], strlen(devs[j]), UINT32_MAX)) >= 0)
			backend_touch(be, domid, dev);
	free(devs);
}

/* Every device of every frontend domain. */
static void
backend_scan(struct backend *be)
{
	unsigned ndom = 0;
	char **doms = xs_directory(be->be_xs, XS_TX_NONE, be->be_root, &ndom);
	long long id;

	for (unsigned i = 0; doms && i < ndom; i++)
		if ((id = backend_parse_id(doms[i], strlen(doms[i]), DOMID_FIRST_RESERVED - 1)) >= 0)
			backend_scan_dom(be, id);
	free(doms);
}

/* A device whose directory vanished whole (xl removed it) goes too. */
static void
backend_prune(struct backend *be)
{
	struct backend_dev *d, *next;
	char *v;

	for (d = TAILQ_FIRST(&be->be_devs); d; d = next) {
		next = TAILQ_NEXT(d, d_entry);
		if ((v = backend_dev_read(d, false, "state")) != NULL) {
			free(v);
			continue;
		}
		log_info("%s: backend directory removed", d->d_name);
		backend_dev_free(d);
	}
}

/* The watch on backend/<kind>: which device the path names. */
static void
backend_on_watch(struct xsa *xsa, const char *path, const char *token, void *arg)
{
	struct backend *be = arg;
	size_t rl = strlen(be->be_root);
	const char *rest, *slash;
	long long domid, devid;

	(void)xsa;
	(void)token;
	if (strncmp(path, be->be_root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
		return;
	rest = path + rl;
	if (*rest == '\0' || rest[1] == '\0') {
		backend_scan(be);
		backend_prune(be);
		return;
	}
	rest++;
	slash = strchr(rest, '/');
	domid = backend_parse_id(rest, slash ? (size_t)(slash - rest) : strlen(rest),
	    DOMID_FIRST_RESERVED - 1);
	if (domid < 0)
		return;
	if (slash == NULL) {
		backend_scan_dom(be, domid);
		backend_prune(be);
		return;
	}
	rest = slash + 1;
	slash = strchr(rest, '/');
	devid = backend_parse_id(rest, slash ? (size_t)(slash - rest) : strlen(rest), UINT32_MAX);
	if (devid >= 0)
		backend_touch(be, domid, devid);
}

/* xenstored went away: nothing can be served any more. */
static void
backend_on_lost(struct xsa *xsa, void *arg)
{
	struct backend *be = arg;

	(void)xsa;
	log_warnx("lost the connection to xenstored");
	event_base_loopbreak(be->be_base);
}

/* Connections, the watch (its first event takes the devices already there). */
int
backend_start(struct backend *be)
{
	if ((be->be_xce = hv_evtchn_open(be->be_hv)) == NULL)
		return -1;
	if ((be->be_xs = xs_open(NULL)) == NULL)
		return -1;
	if ((be->be_xsa = xsa_open(be->be_base, NULL, backend_on_lost, be)) == NULL)
		return -1;
	be->be_watch = xsa_watch(be->be_xsa, be->be_root, backend_on_watch, be);
	return be->be_watch ? 0 : -1;
}

/* Whether backend_free is letting the devices go. */
bool
backend_stopping(struct backend *be)
{
	return be->be_stopping;
}

/* Workers alive now. */
unsigned
backend_nr_workers(struct backend *be)
{
	struct backend_dev *d;
	unsigned n = 0;

	TAILQ_FOREACH(d, &be->be_devs, d_entry)
		n += d->d_child != NULL;
	return n;
}

/* Every device let go, every worker reaped, every connection closed. */
void
backend_free(struct backend *be)
{
	struct backend_dev *d;

	if (be == NULL)
		return;
	be->be_stopping = true;
	while ((d = TAILQ_FIRST(&be->be_devs)) != NULL)
		backend_dev_free(d);
	backend_spawn_reap_all(be);
	if (be->be_watch)
		xsa_unwatch(be->be_xsa, be->be_watch);
	if (be->be_xsa)
		xsa_close(be->be_xsa);
	if (be->be_xs)
		xs_close(be->be_xs);
	if (be->be_xce)
		hv_evtchn_close(be->be_xce);
	free(be);
}
