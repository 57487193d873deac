/* Which domains exist: @introduceDomain/@releaseDomain watches, hvd's domain
 * list, and dispatch of xenstore watch events to the per-domain consoles. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "consoled.h"
#include "libhv.h"
#include "log.h"
#include "xmalloc.h"
#include "xs.h"

#define DOMAINS_TOKEN	"domlist"
#define DOMAINS_BATCH	64

struct domains_live {
	struct hv_dominfo *dl_info;
	unsigned dl_count;
};

/* Every domain but dom0 that is not dying, from hvd. */
static int
domains_list(struct consoled *cd, struct domains_live *live)
{
	struct hv_dominfo batch[DOMAINS_BATCH];
	hv_domid_t first = 1;
	int n, i;

	live->dl_info = NULL;
	live->dl_count = 0;
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

/* Orders dominfo entries by domid, for bsearch. */
static int
domains_info_cmp(const void *a, const void *b)
{
	const struct hv_dominfo *x = a, *y = b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

/* The live entry for a domid, or NULL (hvd lists in domid order: a binary search). */
static const struct hv_dominfo *
domains_find_info(const struct domains_live *live, uint32_t domid)
{
	struct hv_dominfo key = { .domid = domid };

	if (live->dl_count == 0)
		return NULL;
	return bsearch(&key, live->dl_info, live->dl_count, sizeof(key), domains_info_cmp);
}

/* The console state of a domid we track, or NULL. */
static struct condom *
domains_find(struct consoled *cd, uint32_t domid)
{
	struct condom *dom;

	TAILQ_FOREACH(dom, &cd->cd_doms, dom_entry)
		if (dom->dom_domid == domid)
			return dom;
	return NULL;
}

/*
 * Forgets dead (or replaced: same domid, new uuid) domains, tracks new ones.
 * O(n log n) in the domains: each tracked one is looked up in hvd's sorted
 * list and its entry marked, and only unmarked entries are new.
 */
static void
domains_scan(struct consoled *cd)
{
	struct domains_live live;
	const struct hv_dominfo *info;
	struct condom *dom, *next;
	unsigned char *tracked;
	unsigned i;

	if (domains_list(cd, &live) < 0) {
		log_warn("domain list");
		return;
	}
	tracked = xcalloc(live.dl_count + 1, 1);
	for (dom = TAILQ_FIRST(&cd->cd_doms); dom; dom = next) {
		next = TAILQ_NEXT(dom, dom_entry);
		info = domains_find_info(&live, dom->dom_domid);
		if (info == NULL || memcmp(info->uuid, dom->dom_uuid, sizeof(dom->dom_uuid)) != 0)
			condom_free(dom, 1);
		else
			tracked[info - live.dl_info] = 1;
	}
	for (i = 0; i < live.dl_count; i++)
		if (!tracked[i])
			condom_new(cd, live.dl_info[i].domid, live.dl_info[i].uuid);
	free(tracked);
	free(live.dl_info);
}

/* Rescans once, after the callbacks of this loop turn, however many asked. */
static void
domains_on_scan(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	domains_scan(arg);
}

/* @introduceDomain, @releaseDomain and VIRQ_DOM_EXC arrive together: one scan for all. */
static void
domains_want_scan(struct consoled *cd)
{
	if (cd->cd_scan_ev)
		event_active(cd->cd_scan_ev, 0, 0);
	else
		domains_scan(cd);
}

/* One watch event: the domain list, or a domain's console directory. */
static void
domains_dispatch(struct consoled *cd, const char *path, const char *token)
{
	struct condom *dom;
	unsigned long id;
	char *end;

	log_debug("watch %s %s", path, token);
	if (strcmp(token, DOMAINS_TOKEN) == 0) {
		domains_want_scan(cd);
		return;
	}
	if (strncmp(token, "dom", 3) != 0)
		return;
	id = strtoul(token + 3, &end, 10);
	if (*end != '\0' || end == token + 3)
		return;
	dom = domains_find(cd, id);
	if (dom)
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
		domains_want_scan(cd);
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
	if (xs_watch(cd->cd_xs, "@introduceDomain", DOMAINS_TOKEN) < 0 ||
	    xs_watch(cd->cd_xs, "@releaseDomain", DOMAINS_TOKEN) < 0)
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
		condom_free(dom, 0);
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
