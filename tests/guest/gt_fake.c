/* The fake backends' handles, grant cache, frontend numbers and thread (gt_fake.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gt_fake.h"

/* A fake backend maps with handles of its own, as a real backend's worker does. */
void
gt_fake_open(struct gt_fake *g, hv_domid_t domid, const char *sock)
{
	g->gf_domid = domid;
	g->gf_hv = hv_open(sock);
	cr_assert_not_null(g->gf_hv);
	g->gf_gt = hv_gnttab_open(g->gf_hv);
	g->gf_xce = hv_evtchn_open(g->gf_hv);
	cr_assert(g->gf_gt != NULL && g->gf_xce != NULL);
}

/* Ring refs, ports and queue counts are decimal keys the frontend must get right. */
unsigned long
gt_fake_key(gt_fake_get_fn *get, void *arg, const char *key, long def)
{
	const char *v = get(arg, key);

	cr_assert(v != NULL || def >= 0, "frontend key %s missing", key);
	return v ? strtoul(v, NULL, 10) : (unsigned long)def;
}

/* Every event channel the frontend publishes is bound the same way. */
int
gt_fake_bind(struct gt_fake *g, gt_fake_get_fn *get, void *arg, const char *key)
{
	int lport = hv_evtchn_bind_interdomain(g->gf_xce, g->gf_domid,
	    (hv_port_t)gt_fake_key(get, arg, key, -1));

	cr_assert_geq(lport, 0, "bind %s: %s", key, strerror(errno));
	return lport;
}

/* Persistent grants: a page the guest grants again is the mapping we kept. */
void *
gt_fake_map(struct gt_fake *g, hv_gref_t ref, bool ro_ok)
{
	for (unsigned i = 0; i < g->gf_ncache; i++) {
		if (g->gf_cache[i].ref == ref)
			return g->gf_cache[i].ptr;
	}
	if (g->gf_ncache == g->gf_cache_max)
		return NULL;
	void *p = hv_gnttab_map_grant_ref(g->gf_gt, g->gf_domid, ref, PROT_READ | PROT_WRITE);
	if (p == NULL && ro_ok)
		p = hv_gnttab_map_grant_ref(g->gf_gt, g->gf_domid, ref, PROT_READ);
	if (p != NULL) {
		g->gf_cache[g->gf_ncache].ref = ref;
		g->gf_cache[g->gf_ncache++].ptr = p;
	}
	return p;
}

/* The serving thread: events are drained and unmasked, then the rings looked at. */
static void *
gt_fake_thread(void *arg)
{
	struct gt_fake *g = arg;
	struct pollfd pfd = { .fd = hv_evtchn_fd(g->gf_xce), .events = POLLIN };
	int port;

	while (!atomic_load(&g->gf_stop)) {
		poll(&pfd, 1, g->gf_poll_ms);
		while ((port = hv_evtchn_pending(g->gf_xce)) >= 0)
			hv_evtchn_unmask(g->gf_xce, port);
		g->gf_serve(g->gf_arg);
	}
	return NULL;
}

/* Serving starts once the rings are mapped and the ports bound. */
void
gt_fake_start(struct gt_fake *g, int poll_ms, void (*serve)(void *arg), void *arg)
{
	g->gf_poll_ms = poll_ms;
	g->gf_serve = serve;
	g->gf_arg = arg;
	atomic_store(&g->gf_stop, false);
	cr_assert_eq(pthread_create(&g->gf_thread, NULL, gt_fake_thread, g), 0);
	g->gf_running = true;
}

/* The thread goes first: it touches the rings. */
void
gt_fake_stop(struct gt_fake *g)
{
	if (g->gf_running) {
		atomic_store(&g->gf_stop, true);
		pthread_join(g->gf_thread, NULL);
		g->gf_running = false;
	}
}

/* What is left after the rings: the kept grants and the handles. */
void
gt_fake_close(struct gt_fake *g)
{
	if (g->gf_hv != NULL) {
		for (unsigned i = 0; i < g->gf_ncache; i++)
			hv_gnttab_unmap(g->gf_gt, g->gf_domid, g->gf_cache[i].ref);
		hv_gnttab_close(g->gf_gt);
		hv_evtchn_close(g->gf_xce);
		hv_close(g->gf_hv);
		g->gf_hv = NULL;
	}
	g->gf_ncache = 0;
}
