/*
 * Guests: INTRODUCE maps a domain's xenstore page through libhv and binds its
 * event channel; the ring then carries the same framing as the socket. Domain
 * death arrives as VIRQ_DOM_EXC and becomes @releaseDomain and cleanup.
 * Without hvd the daemon still serves its sockets and retries hvd later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>
#include <xen/xen.h>

#include "domtab.h"
#include "evmem.h"
#include "libhv.h"
#include "log.h"
#include "xenstored.h"
#include "xmalloc.h"
#include "domain.h"

#ifndef VIRQ_DOM_EXC
#define VIRQ_DOM_EXC 3
#endif
#define DOMID_SELF_ID 0x7ff0u


bool domain_keep_orphans;
static LIST_HEAD(, domain) domains = LIST_HEAD_INITIALIZER(domains);
/* The domains VIRQ_DOM_EXC must ask hvd about: not a walk of every domain per VIRQ. */
static LIST_HEAD(, domain) domains_check = LIST_HEAD_INITIALIZER(domains_check);
/* By domid: a lookup per guest request and per INTRODUCE/RELEASE must not walk the list. */
static struct domtab domain_by_id = DOMTAB_INIT(struct domain *);
static struct event_base *domain_base;
static struct hv *domain_hv;
static struct hv_evtchn *domain_xce;
static struct event *domain_virq_ev, *domain_retry_ev;
static int domain_virq_port = -1;

static void domain_check_all(void);
static void domain_unwatch_pid(struct domain *d);
void domain_destroy(struct domain *d);

/* The introduced domain with that id, or NULL. */
struct domain *
domain_find(uint32_t domid)
{
	return domtab_get(&domain_by_id, domid);
}

/* Links a domain into the list and the table. */
static void
domain_link(struct domain *d)
{
	LIST_INSERT_HEAD(&domains, d, d_link);
	domtab_set(&domain_by_id, d->d_domid, d);
	persist_dom_dirty(d->d_domid);
}

/*
 * Puts d on the list VIRQ_DOM_EXC checks, or takes it off: a mapped domain
 * whose process no pidfd watches, or whose process ended before its shutdown
 * was reported. Called wherever those change.
 */
static void
domain_sync_check(struct domain *d)
{
	bool need = d->d_intf != NULL && !(d->d_pidfd >= 0 && !d->d_exited) &&
	    !(d->d_exited && d->d_shutdown_reported);

	if (need && !d->d_check)
		LIST_INSERT_HEAD(&domains_check, d, d_check_link);
	else if (!need && d->d_check)
		LIST_REMOVE(d, d_check_link);
	d->d_check = need;
}

/* Unlinks a domain from the list and the table. */
static void
domain_unlink(struct domain *d)
{
	if (d->d_check)
		LIST_REMOVE(d, d_check_link);
	d->d_check = false;
	LIST_REMOVE(d, d_link);
	if (domtab_get(&domain_by_id, d->d_domid) == d)
		domtab_set(&domain_by_id, d->d_domid, NULL);
	persist_dom_dirty(d->d_domid);
}

/* The target a domain acts for (SET_TARGET), or DOMID_NONE. */
uint32_t
domain_target(uint32_t domid)
{
	struct domain *d = domain_find(domid);

	return d ? d->d_target : DOMID_NONE;
}

/* The guest notified us: pull requests, push queued replies. */
static void
domain_port_cb(evutil_socket_t fd, short what, void *arg)
{
	struct domain *d = arg;

	(void)fd;
	(void)what;
	if (domain_xce && d->d_local_port >= 0)
		hv_evtchn_ack(domain_xce, d->d_local_port);
	if (d->d_conn) {
		conn_output(d->d_conn);
		conn_input(d->d_conn);
	}
}

/* ---- hvd ---- */

/* Signals the guest's port (after we consumed requests or produced replies). */
void
domain_notify(struct domain *d)
{
	if (domain_xce && d->d_local_port >= 0)
		hv_evtchn_notify(domain_xce, d->d_local_port);
}

/* VIRQ_DOM_EXC: some domain shut down or died. */
static void
domain_virq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (domain_xce && domain_virq_port >= 0)
		hv_evtchn_ack(domain_xce, domain_virq_port);
	domain_check_all();
}

/* hvd went away: drop the handles so the next INTRODUCE reconnects. */
static void
domain_hv_lost(void)
{
	struct domain *d;

	log_warnx("lost hvd: its domains are gone; will reconnect");
	while ((d = LIST_FIRST(&domains)) != NULL)
		domain_destroy(d);
	if (domain_virq_ev) {
		event_free(domain_virq_ev);
		domain_virq_ev = NULL;
	}
	if (domain_xce)
		hv_evtchn_close(domain_xce);
	hv_close(domain_hv);
	domain_xce = NULL;
	domain_hv = NULL;
	domain_virq_port = -1;
}

/* Connects to hvd and binds VIRQ_DOM_EXC; 0 when connected. */
static int
domain_connect_hv(void)
{
	int fd;

	if (domain_hv)
		return 0;
	if ((domain_hv = hv_open(NULL)) == NULL)
		return -1;
	if ((domain_xce = hv_evtchn_open(domain_hv)) == NULL)
		goto fail;
	if ((domain_virq_port = hv_evtchn_bind_virq(domain_xce, VIRQ_DOM_EXC)) < 0)
		goto fail;
	if ((fd = hv_evtchn_port_fd(domain_xce, domain_virq_port)) < 0)
		goto fail;
	domain_virq_ev = event_new(domain_base, fd, EV_READ | EV_PERSIST, domain_virq_cb, NULL);
	event_add(domain_virq_ev, NULL);
	if (domain_retry_ev)
		event_del(domain_retry_ev);
	log_info("connected to hvd");
	return 0;
fail:
	log_warn("hvd set-up");
	if (domain_xce)
		hv_evtchn_close(domain_xce);
	hv_close(domain_hv);
	domain_xce = NULL;
	domain_hv = NULL;
	domain_virq_port = -1;
	return -1;
}

/* Periodic retry while hvd is unavailable. */
static void
domain_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	domain_connect_hv();
}

/* Connects to hvd, or serves sockets only and retries. */
void
domain_setup(struct event_base *base)
{
	struct timeval tv = { 2, 0 };

	domain_base = base;
	if (domain_connect_hv() == 0)
		return;
	log_warn("hvd not available, serving sockets only; retrying");
	domain_retry_ev = event_new(base, -1, EV_PERSIST, domain_retry_cb, NULL);
	event_add(domain_retry_ev, &tv);
}

/* ---- domains ---- */

/* Registers a domain and its connection. */
struct domain *
domain_adopt(uint32_t domid, struct conn *c)
{
	struct domain *d = xcalloc(1, sizeof(*d));

	d->d_domid = domid;
	d->d_conn = c;
	d->d_local_port = -1;
	d->d_target = DOMID_NONE;
	d->d_pidfd = -1;
	if (c)
		c->c_domain = d;
	domain_link(d);
	return d;
}

/* A connection went away: detach it from its domain. */
void
domain_conn_gone(struct conn *c)
{
	if (c->c_domain && c->c_domain->d_conn == c)
		c->c_domain->d_conn = NULL;
	c->c_domain = NULL;
}

/* Unbinds the port and stops listening to it. */
static void
domain_unbind(struct domain *d)
{
	if (d->d_ev) {
		event_free(d->d_ev);
		d->d_ev = NULL;
	}
	if (domain_xce && d->d_local_port >= 0)
		hv_evtchn_unbind(domain_xce, d->d_local_port);
	d->d_local_port = -1;
}

/* Binds the guest's port and listens to it. */
static int
domain_bind(struct domain *d, uint32_t port)
{
	int lp, fd;

	if ((lp = hv_evtchn_bind_interdomain(domain_xce, d->d_domid, port)) < 0)
		return -1;
	if ((fd = hv_evtchn_port_fd(domain_xce, lp)) < 0) {
		hv_evtchn_unbind(domain_xce, lp);
		return -1;
	}
	d->d_local_port = lp;
	d->d_remote_port = port;
	persist_dom_dirty(d->d_domid);
	d->d_ev = event_new(domain_base, fd, EV_READ | EV_PERSIST, domain_port_cb, d);
	event_add(d->d_ev, NULL);
	return 0;
}

/* Shorter paths first, so parents go before their children. */
static int
domain_path_cmp(const void *a, const void *b)
{
	return (int)strlen(*(char *const *)a) - (int)strlen(*(char *const *)b);
}

/* Deletes every node a dead domain owns and strips it from the ACLs. */
static void
domain_forget_nodes(uint32_t domid)
{
	unsigned i, cnt, n = 0;
	struct node **v = db_domain_nodes(domid, &cnt);
	char **paths = xreallocarray(NULL, cnt + 1, sizeof(char *));

	/* the nodes it owns, from the store's index of the nodes naming it */
	for (i = 0; i < cnt; i++) {
		if (v[i]->n_perms[0].domid != domid)
			continue;
		if (domain_keep_orphans)
			db_chown(v[i], 0);	/* -K: dom0 gets them */
		else
			paths[n++] = xstrdup(v[i]->n_path);
	}
	free(v);
	if (n > 1)
		qsort(paths, n, sizeof(char *), domain_path_cmp);
	for (i = 0; i < n; i++) {
		ops_remove_tree(paths[i]);
		free(paths[i]);
	}
	free(paths);
	perms_forget_domain(domid);
}

/* Forgets a domain: connection, port, mapping, nodes; fires @releaseDomain. */
void
domain_destroy(struct domain *d)
{
	uint32_t domid = d->d_domid;

	domain_unlink(d);
	if (d->d_conn) {
		d->d_conn->c_domain = NULL;
		conn_kill(d->d_conn);
	}
	domain_unbind(d);
	domain_unwatch_pid(d);
	if (domain_hv && d->d_intf)
		hv_foreign_forget(domain_hv, domid);
	free(d);
	domain_forget_nodes(domid);
	watch_fire_special("@releaseDomain");
	watch_fire_special_domain("@releaseDomain", domid);
	evmem_trim_soon(domain_base);	/* the dead domain's memory goes back */
}

/*
 * Asks hvd about one domain: destroys it when gone, reports a new shutdown
 * (@releaseDomain/<domid> here, @releaseDomain by the caller). Returns 1 when
 * @releaseDomain is due, and sets *alive when the domain still runs.
 */
static int
domain_check_one(struct domain *d, bool *alive)
{
	struct hv_dominfo info;

	*alive = false;
	if (hv_domain_getinfo(domain_hv, d->d_domid, &info) < 0) {
		if (errno != ENOENT && errno != ESRCH) {
			log_warn("getinfo dom%u", d->d_domid);
			*alive = true;
			return 0;
		}
		info.flags = HV_DOMINF_DYING;
	}
	if (info.flags & HV_DOMINF_DYING) {
		log_info("dom%u is gone", d->d_domid);
		domain_destroy(d);
		return 0;
	}
	if ((info.flags & (HV_DOMINF_SHUTDOWN | HV_DOMINF_CRASHED)) == 0) {
		*alive = true;
		return 0;
	}
	if (d->d_shutdown_reported)
		return 0;
	d->d_shutdown_reported = true;
	persist_dom_dirty(d->d_domid);
	domain_sync_check(d);
	watch_fire_special_domain("@releaseDomain", d->d_domid);
	return 1;
}

/* Stops watching the guest's process. */
static void
domain_unwatch_pid(struct domain *d)
{
	if (d->d_pid_ev)
		event_free(d->d_pid_ev);
	d->d_pid_ev = NULL;
	if (d->d_pidfd >= 0)
		close(d->d_pidfd);
	d->d_pidfd = -1;
}

/*
 * The guest's process ended: every shutdown, crash and destroy ends it, so
 * this domain alone is asked about. If hvd has not recorded why yet, its
 * VIRQ_DOM_EXC follows and checks the domain then.
 */
static void
domain_pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct domain *d = arg;
	bool alive;

	(void)fd;
	(void)what;
	domain_unwatch_pid(d);
	d->d_exited = true;
	domain_sync_check(d);
	if (domain_hv != NULL && domain_check_one(d, &alive))
		watch_fire_special("@releaseDomain");
}

/*
 * Watches the guest's process through a pidfd, so VIRQ_DOM_EXC (raised for
 * every domain's shutdown and destroy) need not ask hvd about every domain:
 * that cost each create and destroy a round trip per running domain. Without
 * a pidfd (no process yet, another pid namespace) the domain is checked at
 * every VIRQ as before.
 */
static void
domain_watch_pid(struct domain *d)
{
	struct hv_dominfo info, again;
	int fd;

	if (hv_domain_getinfo(domain_hv, d->d_domid, &info) < 0 || info.pid <= 0 ||
	    (fd = syscall(SYS_pidfd_open, info.pid, 0)) < 0) {
		domain_sync_check(d);
		return;
	}
	/* the pid must still be the guest's (not reused since the first answer) */
	if (hv_domain_getinfo(domain_hv, d->d_domid, &again) < 0 || again.pid != info.pid) {
		close(fd);
		domain_sync_check(d);
		return;
	}
	d->d_pidfd = fd;
	d->d_pid_ev = event_new(domain_base, fd, EV_READ, domain_pid_cb, d);
	if (d->d_pid_ev == NULL || event_add(d->d_pid_ev, NULL) < 0)
		fatalx("domain_watch_pid: libevent");
	domain_sync_check(d);
}

static void
domain_watch_pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct domain *d = arg;

	(void)fd;
	(void)what;
	domain_unwatch_pid(d);
	domain_watch_pid(d);
}

/*
 * The pid watch once INTRODUCE has been answered: its two questions to hvd
 * were two round trips of every create's INTRODUCE. Meanwhile the domain is
 * checked at every VIRQ, as one without a pidfd is.
 */
static void
domain_watch_pid_soon(struct domain *d)
{
	static const struct timeval now = { 0, 0 };

	domain_sync_check(d);
	d->d_pid_ev = evtimer_new(domain_base, domain_watch_pid_cb, d);
	if (d->d_pid_ev == NULL || event_add(d->d_pid_ev, &now) < 0)
		fatalx("domain_watch_pid_soon: libevent");
}

/* VIRQ_DOM_EXC: asks hvd about the domains no pidfd watches and those whose process ended. */
static void
domain_check_all(void)
{
	struct domain *d, *next;
	bool notify = false, alive;

	if (domain_hv == NULL)
		return;
	for (d = LIST_FIRST(&domains_check); d; d = next) {
		next = LIST_NEXT(d, d_check_link);
		if (domain_check_one(d, &alive))
			notify = true;
	}
	if (notify)
		watch_fire_special("@releaseDomain");
}

/* Parses a decimal domid argument. */
static int
domain_parse_id(const char *s, uint32_t *domid)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end || errno || v > UINT32_MAX)
		return EINVAL;
	*domid = v;
	return 0;
}

/* Maps the page, binds the port, opens the connection and says @introduceDomain. */
static int
domain_introduce_new(uint32_t domid, uint64_t mfn, uint32_t port)
{
	struct xenstore_domain_interface *intf;
	struct domain *d;
	struct conn *c;

	if (domain_connect_hv() < 0)
		return EIO;
	intf = hv_foreign_map(domain_hv, domid, PROT_READ | PROT_WRITE, mfn, 1);
	if (intf == NULL && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)) {
		domain_hv_lost();
		if (domain_connect_hv() < 0)
			return EIO;
		intf = hv_foreign_map(domain_hv, domid, PROT_READ | PROT_WRITE, mfn, 1);
	}
	if (intf == NULL)
		return errno ? errno : EINVAL;
	d = domain_adopt(domid, NULL);
	d->d_intf = intf;
	d->d_mfn = mfn;
	persist_dom_dirty(d->d_domid);
	if (domain_bind(d, port) < 0) {
		int e = errno;

		domain_unlink(d);
		hv_foreign_forget(domain_hv, domid);
		free(d);
		return e ? e : EINVAL;
	}
	intf->req_cons = intf->req_prod = intf->rsp_cons = intf->rsp_prod = 0;
	intf->server_features = 0;
	intf->connection = XENSTORE_CONNECTED;
	intf->error = XENSTORE_ERROR_NONE;
	c = ring_conn_new(d);
	d->d_conn = c;
	domain_watch_pid_soon(d);
	log_info("dom%u introduced (mfn %llu, port %u)", domid, (unsigned long long)mfn, port);
	watch_fire_special("@introduceDomain");
	hv_evtchn_notify(domain_xce, d->d_local_port);
	return 0;
}

/* Visits every introduced domain (for the journal). */
void
domain_foreach(void (*fn)(const struct domain *d, void *arg), void *arg)
{
	struct domain *d;

	LIST_FOREACH(d, &domains, d_link)
		fn(d, arg);
}

/*
 * A domain from the saved state after a restart: its ring page is mapped and
 * its port bound again, its indexes left as they are (the guest carries on),
 * and no @introduceDomain fires. One that cannot be taken back (it died
 * meanwhile) is released as at its death.
 */
struct conn *
domain_restore(uint32_t domid, uint64_t mfn, uint32_t port, uint32_t target,
    bool shutdown_reported, bool mapped)
{
	struct xenstore_domain_interface *intf = NULL;
	struct domain *d;

	if (domid >= DOMID_MAX || domain_find(domid))
		return NULL;
	if (mapped && domain_connect_hv() == 0)
		intf = hv_foreign_map(domain_hv, domid, PROT_READ | PROT_WRITE, mfn, 1);
	d = domain_adopt(domid, NULL);
	d->d_mfn = mfn;
	d->d_remote_port = port;
	d->d_target = target;
	d->d_shutdown_reported = shutdown_reported;
	if (!mapped)
		return NULL;
	if (intf == NULL || domain_bind(d, port) < 0) {
		log_warnx("dom%u: its ring cannot be taken back (%s): released", domid,
		    strerror(errno));
		if (intf)
			hv_foreign_forget(domain_hv, domid);
		domain_destroy(d);
		return NULL;
	}
	d->d_intf = intf;
	if (intf->error == XENSTORE_ERROR_NONE)
		d->d_conn = ring_conn_new(d);
	domain_watch_pid(d);
	log_info("dom%u restored (mfn %llu, port %u)", domid, (unsigned long long)mfn, port);
	/* whatever the guest queued while we were away */
	if (d->d_conn)
		event_active(d->d_ev, EV_READ, 0);
	return d->d_conn;
}

/* XS_INTRODUCE domid mfn port: a new guest, or a rebind for a known one. */
int
op_introduce(struct conn *c, struct req *r)
{
	const char *argv[3];
	uint32_t domid, port;
	unsigned long long mfn;
	struct domain *d;
	char *end;
	int rc;

	if (req_args(r, argv, 3) != 3)
		return EINVAL;
	if ((rc = domain_parse_id(argv[0], &domid)) || (rc = domain_parse_id(argv[2], &port)))
		return rc;
	errno = 0;
	mfn = strtoull(argv[1], &end, 10);
	if (*end || errno || port == 0 || domid >= DOMID_MAX)
		return EINVAL;
	if ((d = domain_find(domid)) != NULL) {
		/* already known: rebind the event channel only (soft reset, kexec) */
		if (domain_xce && d->d_intf) {
			domain_unbind(d);
			if (domain_bind(d, port) < 0)
				return errno ? errno : EINVAL;
			/* whatever the guest queued meanwhile */
			if (d->d_conn)
				event_active(d->d_ev, EV_READ, 0);
		}
		conn_reply_str(c, r, "OK");
		return 0;
	}
	if ((rc = domain_introduce_new(domid, mfn, port)) != 0)
		return rc;
	conn_reply_str(c, r, "OK");
	return 0;
}

/* The single domid argument of XS_RELEASE, XS_RESUME, XS_GET_DOMAIN_PATH and
 * XS_IS_DOMAIN_INTRODUCED; 0 or EINVAL. */
static int
domain_req_id(const struct req *r, uint32_t *domid)
{
	const char *arg = req_onearg(r);

	return arg != NULL && domain_parse_id(arg, domid) == 0 ? 0 : EINVAL;
}

/* XS_RELEASE: the toolstack is done with the domain. */
int
op_release(struct conn *c, struct req *r)
{
	struct domain *d;
	uint32_t domid;

	if (domain_req_id(r, &domid) != 0)
		return EINVAL;
	if (domid == 0)
		return EINVAL;
	if ((d = domain_find(domid)) == NULL)
		return ENOENT;
	domain_destroy(d);
	conn_reply_str(c, r, "OK");
	return 0;
}

/* XS_IS_DOMAIN_INTRODUCED: "T" or "F". */
int
op_is_domain_introduced(struct conn *c, struct req *r)
{
	uint32_t domid;

	if (domain_req_id(r, &domid) != 0)
		return EINVAL;
	conn_reply_str(c, r, domid == 0 || domid == DOMID_SELF_ID || domain_find(domid) ? "T" :
	    "F");
	return 0;
}

/* XS_GET_DOMAIN_PATH: the domain's home, whether it exists or not. */
int
op_get_domain_path(struct conn *c, struct req *r)
{
	uint32_t domid;
	char *p;

	if (domain_req_id(r, &domid) != 0)
		return EINVAL;
	p = path_home(domid);
	conn_reply_str(c, r, p);
	free(p);
	return 0;
}

/* XS_SET_TARGET: domid gets the rights of target (device models). */
int
op_set_target(struct conn *c, struct req *r)
{
	const char *argv[3];
	struct domain *d;
	uint32_t domid, target;

	if (req_args(r, argv, 3) != 2 || domain_parse_id(argv[0], &domid) ||
	    domain_parse_id(argv[1], &target))
		return EINVAL;
	if ((d = domain_find(domid)) == NULL)
		return ENOENT;
	if (domain_find(target) == NULL)
		return ENOENT;
	d->d_target = target;
	persist_dom_dirty(d->d_domid);
	if (d->d_conn)
		d->d_conn->c_target = target;
	conn_reply_str(c, r, "OK");
	return 0;
}

/* XS_RESUME: the next shutdown fires @releaseDomain again. */
int
op_resume(struct conn *c, struct req *r)
{
	struct domain *d;
	uint32_t domid;

	if (domain_req_id(r, &domid) != 0)
		return EINVAL;
	if ((d = domain_find(domid)) == NULL)
		return ENOENT;
	d->d_shutdown_reported = false;
	persist_dom_dirty(d->d_domid);
	domain_sync_check(d);
	conn_reply_str(c, r, "OK");
	return 0;
}

/* Text lines describing every domain, for the state dump. */
size_t
domain_dump(char *buf, size_t cap)
{
	struct domain *d;
	size_t off = 0;

	buf[0] = '\0';
	LIST_FOREACH(d, &domains, d_link) {
		int n = snprintf(buf + off, cap - off, "domain %u mfn %llu port %u target %d%s%s\n",
		    d->d_domid, (unsigned long long)d->d_mfn, d->d_remote_port, (int)d->d_target,
		    d->d_conn ? "" : " (no connection)", d->d_shutdown_reported ? " shutdown" : "");

		if (n < 0 || (size_t)n >= cap - off)
			break;
		off += n;
	}
	return off;
}

/* Closes everything on exit. */
void
domain_shutdown(void)
{
	struct domain *d;

	while ((d = LIST_FIRST(&domains)) != NULL) {
		domain_unlink(d);
		domain_unbind(d);
		domain_unwatch_pid(d);
		free(d);
	}
	if (domain_virq_ev)
		event_free(domain_virq_ev);
	if (domain_retry_ev)
		event_free(domain_retry_ev);
	evmem_trim_stop();
	if (domain_xce)
		hv_evtchn_close(domain_xce);
	if (domain_hv)
		hv_close(domain_hv);
}
