/*
 * Which domains exist: @introduceDomain/@releaseDomain watches, hvd's domain
 * list, and dispatch of xenstore watch events to the per-domain consoles.
 * Nothing here is O(domains) per create or destroy: a new domain is looked
 * for above the highest domid tracked (hvd counts domids up), a death is
 * seen on the guest process's pidfd, and only the domains with no process
 * watched are asked about when a death is announced. The full list is read
 * at start and when the look above finds nothing (domids wrapped).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "consoled.h"
#include "evmem.h"
#include "libhv.h"
#include "log.h"
#include "xmalloc.h"
#include "xs.h"

#define DOMAINS_TOKEN_NEW	"domnew"
#define DOMAINS_TOKEN_GONE	"domgone"
#define DOMAINS_BATCH	64

struct domains_live {
	struct hv_dominfo *dl_info;
	unsigned dl_count;
};

static void domains_check_one(struct condom *dom);

/* Every domain from first on but dom0 and the dying, from hvd. */
static int
domains_list(struct consoled *cd, hv_domid_t first, struct domains_live *live)
{
	struct hv_dominfo batch[DOMAINS_BATCH];
	int n, i;

	live->dl_info = NULL;
	live->dl_count = 0;
	if (first == 0)
		first = 1;
	for (;;) {
		n = hv_domain_getinfolist(cd->cd_hv, first, batch, DOMAINS_BATCH);
		if (n < 0) {
			free(live->dl_info);
			live->dl_info = NULL;
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (batch[i].flags & HV_DOMINF_DYING)
				continue;
			live->dl_info = xreallocarray(live->dl_info, live->dl_count + 1,
			    sizeof(*live->dl_info));
			live->dl_info[live->dl_count++] = batch[i];
		}
		if (n < DOMAINS_BATCH)
			return 0;
		first = batch[n - 1].domid + 1;
	}
}

/* The console state of a domid we track, or NULL. */
static struct condom *
domains_find(struct consoled *cd, uint32_t domid)
{
	return domtab_get(&cd->cd_byid, domid);
}

/* Puts a domain on the list a death announcement checks (no process watched). */
static void
domains_suspect(struct condom *dom)
{
	if (dom->dom_suspect)
		return;
	TAILQ_INSERT_TAIL(&dom->dom_cd->cd_suspects, dom, dom_suspect_entry);
	dom->dom_suspect = 1;
}

/* Takes a domain off that list: its process is watched, or it is forgotten. */
static void
domains_unsuspect(struct condom *dom)
{
	if (!dom->dom_suspect)
		return;
	TAILQ_REMOVE(&dom->dom_cd->cd_suspects, dom, dom_suspect_entry);
	dom->dom_suspect = 0;
}

/* Stops watching the guest's process. */
static void
domains_unwatch_pid(struct condom *dom)
{
	if (dom->dom_pid_ev)
		event_free(dom->dom_pid_ev);
	dom->dom_pid_ev = NULL;
	if (dom->dom_pidfd >= 0)
		close(dom->dom_pidfd);
	dom->dom_pidfd = -1;
}

/* The guest's process ended (shutdown, crash or destroy): ask hvd about this domain. */
static void
domains_on_pid(evutil_socket_t fd, short what, void *arg)
{
	struct condom *dom = arg;

	(void)fd;
	(void)what;
	domains_unwatch_pid(dom);
	dom->dom_exited = 1;
	domains_suspect(dom);
	domains_check_one(dom);
}

/*
 * Watches the guest's process through a pidfd: while it runs the domain
 * exists (hvd kills it before destroying the domain), so a death elsewhere
 * need not ask about this one. Without a process (not built yet, or gone
 * already) the domain stays a suspect.
 */
static void
domains_watch_pid(struct condom *dom, pid_t pid)
{
	struct consoled *cd = dom->dom_cd;
	struct hv_dominfo again;
	int fd;

	if (dom->dom_pidfd >= 0 || pid <= 0 || (fd = syscall(SYS_pidfd_open, pid, 0)) < 0) {
		if (dom->dom_pidfd < 0)
			domains_suspect(dom);
		return;
	}
	/* the pid must still be the guest's (not reused since hvd answered) */
	if (hv_domain_getinfo(cd->cd_hv, dom->dom_domid, &again) < 0 || again.pid != pid ||
	    memcmp(again.uuid, dom->dom_uuid, sizeof(dom->dom_uuid)) != 0) {
		close(fd);
		domains_suspect(dom);
		return;
	}
	dom->dom_pidfd = fd;
	dom->dom_pid_ev = event_new(cd->cd_base, fd, EV_READ, domains_on_pid, dom);
	if (dom->dom_pid_ev == NULL || event_add(dom->dom_pid_ev, NULL) < 0)
		fatalx("domains_watch_pid: libevent");
	domains_unsuspect(dom);
}

/* Starts tracking a domain hvd listed. */
static void
domains_track(struct consoled *cd, const struct hv_dominfo *info)
{
	struct condom *dom = condom_new(cd, info->domid, info->uuid);

	domtab_set(&cd->cd_byid, info->domid, dom);
	if (info->domid > cd->cd_hi)
		cd->cd_hi = info->domid;
	domains_watch_pid(dom, info->pid);
}

/* Forgets a domain: its process watch, its slot, its console. */
static void
domains_forget(struct condom *dom, int gone)
{
	struct consoled *cd = dom->dom_cd;

	domains_unwatch_pid(dom);
	domains_unsuspect(dom);
	domtab_set(&cd->cd_byid, dom->dom_domid, NULL);
	condom_free(dom, gone);
	if (gone)
		evmem_trim_soon(cd->cd_base);	/* its memory goes back */
}

/*
 * Asks hvd about one domain: forgets it when gone, dying or replaced (a new
 * uuid under its domid, then tracked anew), watches its process once it has one.
 */
static void
domains_check_one(struct condom *dom)
{
	struct consoled *cd = dom->dom_cd;
	struct hv_dominfo info;

	if (hv_domain_getinfo(cd->cd_hv, dom->dom_domid, &info) < 0) {
		if (errno == ENOENT || errno == ESRCH)
			domains_forget(dom, 1);
		else
			log_warn("dom/%u: domain info", dom->dom_domid);
		return;
	}
	if (info.flags & HV_DOMINF_DYING) {
		domains_forget(dom, 1);
		return;
	}
	if (memcmp(info.uuid, dom->dom_uuid, sizeof(dom->dom_uuid)) != 0) {
		domains_forget(dom, 1);
		domains_track(cd, &info);
		return;
	}
	if (dom->dom_pidfd < 0 && !dom->dom_exited)
		domains_watch_pid(dom, info.pid);
}

/* A death was announced (VIRQ_DOM_EXC, @releaseDomain): only the suspects can be it. */
static void
domains_check_suspects(struct consoled *cd)
{
	struct condom *dom, *next;

	for (dom = TAILQ_FIRST(&cd->cd_suspects); dom; dom = next) {
		next = TAILQ_NEXT(dom, dom_suspect_entry);
		domains_check_one(dom);
	}
}

/*
 * Forgets dead (or replaced: same domid, new uuid) domains, tracks new ones:
 * the whole list, at start and when domids wrapped. O(n): each tracked
 * domain is found in the list through the domid index and marked.
 */
static void
domains_scan(struct consoled *cd)
{
	struct domains_live live;
	struct condom *dom, *next;
	unsigned char *seen;
	unsigned i;

	if (domains_list(cd, 1, &live) < 0) {
		log_warn("domain list");
		return;
	}
	seen = xcalloc(DOMID_FIRST_RESERVED, 1);
	for (i = 0; i < live.dl_count; i++) {
		const struct hv_dominfo *info = &live.dl_info[i];

		dom = domains_find(cd, info->domid);
		if (dom && memcmp(info->uuid, dom->dom_uuid, sizeof(dom->dom_uuid)) != 0) {
			domains_forget(dom, 1);
			dom = NULL;
		}
		if (dom == NULL)
			domains_track(cd, info);
		seen[info->domid] = 1;
	}
	for (dom = TAILQ_FIRST(&cd->cd_doms); dom; dom = next) {
		next = TAILQ_NEXT(dom, dom_entry);
		if (!seen[dom->dom_domid])
			domains_forget(dom, 1);
	}
	free(seen);
	free(live.dl_info);
}

/*
 * @introduceDomain: the new domain is above the highest domid tracked (hvd
 * counts domids up and wraps only at the reserved range); when nothing new
 * is there (it wrapped, or the domain was tracked before its introduction)
 * the whole list is read.
 */
static void
domains_scan_new(struct consoled *cd)
{
	struct domains_live live;
	unsigned i, found = 0;

	if (domains_list(cd, cd->cd_hi + 1, &live) < 0) {
		log_warn("domain list");
		return;
	}
	for (i = 0; i < live.dl_count; i++)
		if (domains_find(cd, live.dl_info[i].domid) == NULL) {
			domains_track(cd, &live.dl_info[i]);
			found++;
		}
	free(live.dl_info);
	if (found == 0)
		domains_scan(cd);
}

/* Runs the looks asked for in this loop turn, once however many asked. */
static void
domains_on_scan(evutil_socket_t fd, short what, void *arg)
{
	struct consoled *cd = arg;

	(void)fd;
	(void)what;
	if (cd->cd_want_check) {
		cd->cd_want_check = 0;
		domains_check_suspects(cd);
	}
	if (cd->cd_want_new) {
		cd->cd_want_new = 0;
		domains_scan_new(cd);
	}
}

/* @introduceDomain, @releaseDomain and VIRQ_DOM_EXC arrive together: one look for all. */
static void
domains_want(struct consoled *cd, int *want)
{
	*want = 1;
	if (cd->cd_scan_ev)
		event_active(cd->cd_scan_ev, 0, 0);
	else
		domains_on_scan(-1, 0, cd);
}

/* One watch event: a domain came or went, or a domain's console directory changed. */
static void
domains_dispatch(struct consoled *cd, const char *path, const char *token)
{
	struct condom *dom;
	unsigned long id;
	char *end;

	log_debug("watch %s %s", path, token);
	if (strcmp(token, DOMAINS_TOKEN_NEW) == 0) {
		domains_want(cd, &cd->cd_want_new);
		return;
	}
	if (strcmp(token, DOMAINS_TOKEN_GONE) == 0) {
		domains_want(cd, &cd->cd_want_check);
		return;
	}
	if (strncmp(token, "dom", 3) != 0)
		return;
	id = strtoul(token + 3, &end, 10);
	if (*end != '\0' || end == token + 3)
		return;
	dom = domains_find(cd, id);
	if (dom && condom_event_matters(dom, path))
		condom_refresh(dom);
}

/* Runs every queued watch event; sync calls made meanwhile may queue more. */
static void
domains_drain(struct consoled *cd)
{
	char **vec;

	for (;;) {
		vec = xs_check_watch(cd->cd_xs);
		if (vec == NULL) {
			if (errno == EAGAIN)
				return;
			log_warn("lost xenstored");
			cd->cd_lost = 1;
			event_base_loopbreak(cd->cd_base);
			return;
		}
		domains_dispatch(cd, vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN]);
		free(vec);
	}
}

/* xenstored socket readable (or the safety tick): run the watch events. */
static void
domains_on_xs(evutil_socket_t fd, short what, void *arg)
{
	struct consoled *cd = arg;
	static unsigned reconnects;

	(void)fd;
	(void)what;
	domains_drain(cd);
	/* a restarted xenstored: same fd number, new socket, which epoll must be told of */
	if (!cd->cd_lost && xs_reconnects(cd->cd_xs) != reconnects) {
		reconnects = xs_reconnects(cd->cd_xs);
		event_del(cd->cd_xs_ev);
		event_add(cd->cd_xs_ev, NULL);
	}
}

/* VIRQ_DOM_EXC: a domain shut down or died, even one xenstored never knew. */
static void
domains_on_virq(evutil_socket_t fd, short what, void *arg)
{
	struct consoled *cd = arg;

	(void)fd;
	(void)what;
	if (hv_evtchn_ack(cd->cd_xce, cd->cd_virq_port) > 0)
		domains_want(cd, &cd->cd_want_check);
}

/* Binds VIRQ_DOM_EXC on our loop; without it @releaseDomain still works. */
static void
domains_bind_virq(struct consoled *cd)
{
	int port = hv_evtchn_bind_virq(cd->cd_xce, VIRQ_DOM_EXC), fd;

	cd->cd_virq_port = port;
	if (port < 0 || (fd = hv_evtchn_port_fd(cd->cd_xce, port)) < 0) {
		log_warn("VIRQ_DOM_EXC");
		return;
	}
	cd->cd_virq_ev = event_new(cd->cd_base, fd, EV_READ | EV_PERSIST, domains_on_virq, cd);
	if (cd->cd_virq_ev == NULL)
		fatalx("event_new");
	event_add(cd->cd_virq_ev, NULL);
}

/* Watches for domains coming and going, and takes the ones already there. */
int
domains_start(struct consoled *cd)
{
	struct timeval tick = { 1, 0 };

	cd->cd_xs_ev = event_new(cd->cd_base, xs_fd(cd->cd_xs), EV_READ | EV_PERSIST,
	    domains_on_xs, cd);
	cd->cd_xs_tick = event_new(cd->cd_base, -1, EV_PERSIST, domains_on_xs, cd);
	cd->cd_scan_ev = event_new(cd->cd_base, -1, 0, domains_on_scan, cd);
	if (cd->cd_xs_ev == NULL || cd->cd_xs_tick == NULL || cd->cd_scan_ev == NULL)
		fatalx("event_new");
	cd->cd_byid = (struct domtab)DOMTAB_INIT(struct condom *);
	TAILQ_INIT(&cd->cd_suspects);
	if (xs_watch(cd->cd_xs, "@introduceDomain", DOMAINS_TOKEN_NEW) < 0 ||
	    xs_watch(cd->cd_xs, "@releaseDomain", DOMAINS_TOKEN_GONE) < 0)
		return -1;
	event_add(cd->cd_xs_ev, NULL);
	event_add(cd->cd_xs_tick, &tick);
	domains_bind_virq(cd);
	domains_scan(cd);
	domains_drain(cd);
	return 0;
}

/* Forgets every domain and the watches, at exit. */
void
domains_stop(struct consoled *cd)
{
	struct condom *dom;

	while ((dom = TAILQ_FIRST(&cd->cd_doms)) != NULL)
		domains_forget(dom, 0);
	domtab_clear(&cd->cd_byid);
	evmem_trim_stop();
	if (cd->cd_xs_ev)
		event_free(cd->cd_xs_ev);
	if (cd->cd_xs_tick)
		event_free(cd->cd_xs_tick);
	cd->cd_xs_ev = cd->cd_xs_tick = NULL;
	if (cd->cd_scan_ev)
		event_free(cd->cd_scan_ev);
	cd->cd_scan_ev = NULL;
	if (cd->cd_virq_ev)
		event_free(cd->cd_virq_ev);
	cd->cd_virq_ev = NULL;
	if (cd->cd_virq_port >= 0)
		hv_evtchn_unbind(cd->cd_xce, cd->cd_virq_port);
	cd->cd_virq_port = -1;
}
