/*
 * netback's worker side of the backend skeleton: CONFIG gives the domain's
 * memory and the tap's queues; CONNECT the rings and their event channels;
 * DISCONNECT unmaps every ring (no grant stays mapped between calls).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "backend.h"
#include "libhv.h"
#include "log.h"
#include "msg.h"
#include "nbw.h"
#include "vif.h"
#include "xmalloc.h"

/* nbw.h */
uint64_t
nbworker_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

/* nbw.h */
void
nbworker_notify(int signal_fd)
{
	uint64_t one = 1;

	if (write(signal_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("notify");
}

/* nbw.h */
void
nbworker_broken(struct nbw *w, unsigned q, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->w_broken = true;
	for (unsigned i = 0; i < w->w_nq; i++) {
		struct nbq *x = w->w_q[i];
		event_del(x->q_tx_ev);
		if (x->q_rx_ev)
			event_del(x->q_rx_ev);
		event_del(x->q_tap_ev);
		event_del(x->q_rate_ev);
		event_del(x->q_poll_ev);
	}
	backend_worker_fail(w->w_w, 0, "queue %u: %s", q, msg);
}

/* Keeps the config's descriptors and maps the domain's memory. */
int
nbworker_config(struct backend_worker *bw, const void *blob, size_t len, int *fds, int nfds)
{
	struct netback_config cfg;
	struct nbw *w;

	if (len != sizeof(cfg))
		goto proto;
	memcpy(&cfg, blob, sizeof(cfg));
	if (cfg.nc_ntaps < 1 || cfg.nc_ntaps > NETBACK_MAX_QUEUES ||
	    nfds != 1 + (int)cfg.nc_ntaps || cfg.nc_mtu < 68 || cfg.nc_mtu > 65535)
		goto proto;
	w = xcalloc(1, sizeof(*w));
	w->w_w = bw;
	w->w_domid = backend_worker_domid(bw);
	w->w_cfg = cfg;
	struct hv_foreign_mem mem = { .fd = fds[NETBACK_FD_MEM], .nr_pages = cfg.nc_mem_pages,
	    .gnttab_pfn = cfg.nc_gnttab_pfn, .gnttab_frames = cfg.nc_gnttab_frames };
	if ((w->w_hv = hv_open_foreign(w->w_domid, &mem)) == NULL ||
	    (w->w_gt = hv_gnttab_open(w->w_hv)) == NULL)
		return -1;
	close(fds[NETBACK_FD_MEM]);
	w->w_ntaps = cfg.nc_ntaps;
	for (unsigned q = 0; q < w->w_ntaps; q++)
		w->w_taps[q] = fds[NETBACK_FD_TAP0 + q];
	w->w_mtu = cfg.nc_mtu;
	nbrate_init(&w->w_rate, cfg.nc_flags & NETBACK_F_RATE ? cfg.nc_credit_bytes : 0,
	    cfg.nc_credit_usec, nbworker_now_us());
	backend_worker_set_priv(bw, w);
	log_debug("config: %u tap queue(s), mtu %u%s", w->w_ntaps, w->w_mtu,
	    w->w_rate.r_on ? ", rate limited" : "");
	return 0;
proto:
	msg_close_fds(fds, nfds);
	errno = EPROTO;
	return -1;
}

/* An event on the TX (or the only) channel. */
static void
nbworker_on_tx(evutil_socket_t fd, short what, void *arg)
{
	struct nbq *q = arg;
	uint64_t cnt;

	(void)what;
	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("event channel");
	nbtx_kick(q);
	if (q->q_rx_wait < 0)
		nbrx_resume(q);		/* one channel: it may say RX buffers too */
}

/* An event on the RX channel: buffers posted. */
static void
nbworker_on_rx(evutil_socket_t fd, short what, void *arg)
{
	uint64_t cnt;

	(void)what;
	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("event channel");
	nbrx_resume(arg);
}

/* The tap has frames. */
static void
nbworker_on_tap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nbrx_kick(arg);
}

/* Credit arrived. */
static void
nbworker_on_rate(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nbtx_kick(arg);
}

/* Without feature-rx-notify: look for buffers again. */
static void
nbworker_on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nbrx_resume(arg);
}

/* Maps one ring page. */
static void *
nbworker_map_ring(struct nbw *w, uint32_t ref)
{
	return hv_gnttab_map_grant_ref(w->w_gt, w->w_domid, ref, PROT_READ | PROT_WRITE);
}

/* Unmaps a queue's rings, frees its events and closes its eventfds. */
static void
nbworker_queue_free(struct nbq *q)
{
	struct nbw *w = q->q_w;
	struct event *evs[] = { q->q_tx_ev, q->q_rx_ev, q->q_tap_ev, q->q_rate_ev, q->q_poll_ev };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (q->q_tx_mapped)
		hv_gnttab_unmap(w->w_gt, w->w_domid, q->q_tx_ref);
	if (q->q_rx_mapped)
		hv_gnttab_unmap(w->w_gt, w->w_domid, q->q_rx_ref);
	int fds[] = { q->q_tx_wait, q->q_tx_signal, q->q_rx_wait, q->q_rx_signal };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	log_debug("queue %u: %llu frames sent (%llu dropped), %llu received (%llu dropped)",
	    q->q_idx, (unsigned long long)q->q_tx_frames, (unsigned long long)q->q_tx_dropped,
	    (unsigned long long)q->q_rx_frames, (unsigned long long)q->q_rx_dropped);
	free(q->q_rxbuf);
	free(q);
}

/* Attaches to one queue's rings as the frontend initialised them; we answer from rsp_prod on. */
static int
nbworker_queue_rings(struct nbq *q, const struct netback_queue *info)
{
	struct nbw *w = q->q_w;
	netif_tx_sring_t *tx;
	netif_rx_sring_t *rx;

	q->q_tx_ref = info->nq_tx_ref;
	q->q_rx_ref = info->nq_rx_ref;
	if ((tx = nbworker_map_ring(w, q->q_tx_ref)) == NULL)
		return -1;
	q->q_tx_mapped = true;
	if ((rx = nbworker_map_ring(w, q->q_rx_ref)) == NULL)
		return -1;
	q->q_rx_mapped = true;
	BACK_RING_ATTACH(&q->q_tx, tx, __atomic_load_n(&tx->rsp_prod, __ATOMIC_ACQUIRE),
	    NBW_RING_PAGE);
	BACK_RING_ATTACH(&q->q_rx, rx, __atomic_load_n(&rx->rsp_prod, __ATOMIC_ACQUIRE),
	    NBW_RING_PAGE);
	q->q_tx_copied = q->q_tx.req_cons;
	return 0;
}

/* The queue's events on the worker's loop. */
static int
nbworker_queue_events(struct nbq *q)
{
	struct event_base *base = backend_worker_base(q->q_w->w_w);

	q->q_tx_ev = event_new(base, q->q_tx_wait, EV_READ | EV_PERSIST, nbworker_on_tx, q);
	if (q->q_rx_wait >= 0)
		q->q_rx_ev = event_new(base, q->q_rx_wait, EV_READ | EV_PERSIST, nbworker_on_rx, q);
	q->q_tap_ev = event_new(base, q->q_tap, EV_READ | EV_PERSIST, nbworker_on_tap, q);
	q->q_rate_ev = evtimer_new(base, nbworker_on_rate, q);
	q->q_poll_ev = evtimer_new(base, nbworker_on_poll, q);
	if (q->q_tx_ev == NULL || (q->q_rx_wait >= 0 && q->q_rx_ev == NULL) ||
	    q->q_tap_ev == NULL || q->q_rate_ev == NULL || q->q_poll_ev == NULL)
		return -1;
	if (event_add(q->q_tx_ev, NULL) < 0 || (q->q_rx_ev && event_add(q->q_rx_ev, NULL) < 0) ||
	    event_add(q->q_tap_ev, NULL) < 0)
		return -1;
	return 0;
}

/* One queue: its eventfds (taken), rings and events; NULL with errno. */
static struct nbq *
nbworker_queue_new(struct nbw *w, unsigned idx, const struct netback_queue *info, int *fds,
    bool split)
{
	struct nbq *q = xcalloc(1, sizeof(*q));

	q->q_w = w;
	q->q_idx = idx;
	q->q_tap = w->w_taps[idx];
	q->q_tx_wait = fds[0];
	q->q_tx_signal = fds[1];
	q->q_rx_wait = split ? fds[2] : -1;
	q->q_rx_signal = split ? fds[3] : -1;
	q->q_rxbuf = xmalloc(NBW_RXBUF);
	if (nbworker_queue_rings(q, info) < 0 || nbworker_queue_events(q) < 0) {
		int saved = errno;
		nbworker_queue_free(q);
		errno = saved;
		return NULL;
	}
	return q;
}

/* Undoes a connect. */
void
nbworker_disconnect(struct backend_worker *bw)
{
	struct nbw *w = backend_worker_priv(bw);

	for (unsigned q = 0; q < w->w_nq; q++) {
		nbworker_queue_free(w->w_q[q]);
		w->w_q[q] = NULL;
	}
	w->w_nq = 0;
	w->w_broken = false;
}

/* Maps every queue's rings and serves what is already in them. */
int
nbworker_connect(struct backend_worker *bw, const void *blob, size_t len, int *fds, int nfds)
{
	struct nbw *w = backend_worker_priv(bw);
	struct netback_connect c;
	unsigned per;
	bool split;

	if (len != sizeof(c))
		goto proto;
	memcpy(&c, blob, sizeof(c));
	split = c.nk_features & NETBACK_FE_SPLIT;
	per = split ? 4 : 2;
	if (c.nk_nr_queues == 0 || c.nk_nr_queues > w->w_ntaps || nfds != (int)(per * c.nk_nr_queues))
		goto proto;
	w->w_features = c.nk_features;
	w->w_lim = (struct txreq_limits){ .max_len = w->w_mtu + TXREQ_ETH_HLEN + 4,
	    .gso_tcpv4 = true };
	for (unsigned q = 0; q < c.nk_nr_queues; q++) {
		if ((w->w_q[q] = nbworker_queue_new(w, q, &c.nk_queues[q], fds + per * q, split)) == NULL) {
			int saved = errno;
			msg_close_fds(fds + per * (q + 1), nfds - per * (q + 1));
			nbworker_disconnect(bw);
			errno = saved;
			return -1;
		}
		w->w_nq = q + 1;
	}
	log_debug("connected: %u queue(s)%s%s%s", w->w_nq, split ? ", split channels" : "",
	    c.nk_features & NETBACK_FE_SG ? ", sg" : "",
	    c.nk_features & NETBACK_FE_GSO_TCPV4 ? ", gso" : "");
	for (unsigned q = 0; q < w->w_nq; q++) {
		nbtx_kick(w->w_q[q]);
		nbrx_kick(w->w_q[q]);
	}
	return 0;
proto:
	msg_close_fds(fds, nfds);
	errno = EPROTO;
	return -1;
}
