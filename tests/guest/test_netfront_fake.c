#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "net_ip.h"
#include "test_netfront_fake.h"

void
fnb_init(struct fnb *f)
{
	memset(f, 0, sizeof(*f));
	f->f_max_queues = 2;
	f->f_sg = f->f_split = true;
	f->f_fake.gf_cache_max = FNB_CACHE;
	pthread_mutex_init(&f->f_lock, NULL);
	f->f_kept = calloc(FNB_KEEP, sizeof(*f->f_kept));
	f->f_inject = calloc(FNB_INJECT, sizeof(*f->f_inject));
	cr_assert(f->f_kept != NULL && f->f_inject != NULL);
}

/* A grant of the guest, mapped once and kept (read-only when that is all it allows). */
static uint8_t *
fnb_map(struct fnb *f, hv_gref_t ref)
{
	return gt_fake_map(&f->f_fake, ref, true);
}

void
fnb_inject(struct fnb *f, const void *frame, size_t len)
{
	pthread_mutex_lock(&f->f_lock);
	cr_assert_lt(f->f_inject_tail - f->f_inject_head, FNB_INJECT, "injection queue full");
	struct fnb_frame *fr = &f->f_inject[f->f_inject_tail++ % FNB_INJECT];
	fr->ff_len = (uint16_t)len;
	memcpy(fr->ff_data, frame, len);
	pthread_mutex_unlock(&f->f_lock);
}

/* The peer we play: answers ARP for its address and echo requests to it. */
static void
fnb_peer(struct fnb *f, const uint8_t *frame, size_t len)
{
	static const uint8_t pmac[6] = FNB_PEER_MAC;
	static uint8_t out[65536];
	uint32_t pip;
	struct net_arp a;
	struct net_ipv4 ip;
	struct net_icmp_echo e;

	net_ip_parse_addr(FNB_PEER_IP, &pip);
	if (net_arp_parse(frame, len, &a) == 0 && a.na_op == NET_ARP_REQUEST && a.na_tpa == pip) {
		size_t n = net_arp_build(out, NET_ARP_REPLY, pmac, pip, a.na_sha, a.na_spa, a.na_sha);
		fnb_inject(f, out, n);
		atomic_fetch_add(&f->f_arp_answered, 1);
	} else if (net_ipv4_parse(frame, len, &ip) == 0 && ip.ip_dst == pip &&
	    net_icmp_echo_parse(&ip, &e) == 0 && e.ie_type == 8) {
		size_t n = net_icmp_echo_build(out, frame + 6, pmac, pip, ip.ip_src, 0, e.ie_id,
		    e.ie_seq, e.ie_data, e.ie_dlen);
		fnb_inject(f, out, n);
		atomic_fetch_add(&f->f_echo_answered, 1);
	}
}

/* A frame the guest sent: kept, counted, perhaps answered. */
static void
fnb_got(struct fnb *f, struct fnb_queue *q, const uint8_t *frame, size_t len, unsigned slots)
{
	pthread_mutex_lock(&f->f_lock);
	if (f->f_nkept < FNB_KEEP) {
		f->f_kept[f->f_nkept].ff_len = (uint16_t)len;
		memcpy(f->f_kept[f->f_nkept++].ff_data, frame, len);
	}
	pthread_mutex_unlock(&f->f_lock);
	atomic_fetch_add(&f->f_tx_frames, 1);
	atomic_fetch_add(&f->f_tx_bytes, len);
	atomic_fetch_add(&q->fq_tx_frames, 1);
	if (slots > atomic_load(&f->f_max_slots))
		atomic_store(&f->f_max_slots, slots);
	fnb_peer(f, frame, len);
}

/* One TX response per slot. */
static void
fnb_tx_respond(struct fnb *f, struct fnb_queue *q, uint16_t id, int16_t status)
{
	netif_tx_response_t *rsp = RING_GET_RESPONSE(&q->fq_tx, q->fq_tx.rsp_prod_pvt);
	unsigned long n = atomic_fetch_add(&f->f_tx_responses, 1) + 1;

	memset(rsp, 0, sizeof(*rsp));
	rsp->id = n == f->f_bad_id_at ? 0x7fff : id;
	rsp->status = status;
	q->fq_tx.rsp_prod_pvt++;
}

/* Every frame on q's TX ring: its slots read once, put together, answered. */
static void
fnb_tx(struct fnb *f, struct fnb_queue *q)
{
	static uint8_t frame[65536];
	int more, notify;

	do {
		RING_IDX rp = q->fq_tx.sring->req_prod;
		rmb();
		while (q->fq_tx.req_cons != rp) {
			netif_tx_request_t reqs[XEN_NETIF_NR_SLOTS_MIN];
			unsigned n = 0;
			do {
				RING_COPY_REQUEST(&q->fq_tx, q->fq_tx.req_cons, &reqs[n]);
				q->fq_tx.req_cons++;
			} while ((reqs[n++].flags & NETTXF_more_data) && n < XEN_NETIF_NR_SLOTS_MIN &&
			    q->fq_tx.req_cons != rp);
			size_t rest = 0, at = 0;
			for (unsigned i = 1; i < n; i++)
				rest += reqs[i].size;
			int16_t status = rest <= reqs[0].size ? NETIF_RSP_OKAY : NETIF_RSP_ERROR;
			for (unsigned i = 0; i < n && status == NETIF_RSP_OKAY; i++) {
				size_t len = i == 0 ? reqs[0].size - rest : reqs[i].size;
				const uint8_t *page = fnb_map(f, reqs[i].gref);
				if (page == NULL || reqs[i].offset + len > 4096) {
					status = NETIF_RSP_ERROR;
					break;
				}
				memcpy(frame + at, page + reqs[i].offset, len);
				at += len;
			}
			for (unsigned i = 0; i < n; i++)
				fnb_tx_respond(f, q, reqs[i].id, status);
			if (status == NETIF_RSP_OKAY)
				fnb_got(f, q, frame, at, n);
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->fq_tx, notify);
		if (notify)
			hv_evtchn_notify(f->f_fake.gf_xce, q->fq_tx_lport);
		RING_FINAL_CHECK_FOR_REQUESTS(&q->fq_tx, more);
	} while (more);
}

/* One injected frame onto q's RX ring over as many slots as it needs;
 * false when the guest has not posted enough buffers yet. */
static bool
fnb_rx_one(struct fnb *f, struct fnb_queue *q, const struct fnb_frame *fr)
{
	unsigned n = (fr->ff_len + 4095) / 4096;
	int notify;

	if (n > 1 && !f->f_sg) {
		atomic_fetch_add(&f->f_rx_dropped, 1);
		return true;
	}
	RING_IDX rp = q->fq_rx.sring->req_prod;
	rmb();
	if (rp - q->fq_rx.req_cons < n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		netif_rx_request_t req;
		RING_COPY_REQUEST(&q->fq_rx, q->fq_rx.req_cons, &req);
		q->fq_rx.req_cons++;
		size_t len = fr->ff_len - i * 4096u;
		if (len > 4096)
			len = 4096;
		uint8_t *page = fnb_map(f, req.gref);
		netif_rx_response_t *rsp = RING_GET_RESPONSE(&q->fq_rx, q->fq_rx.rsp_prod_pvt);
		memset(rsp, 0, sizeof(*rsp));
		rsp->id = req.id;
		rsp->offset = 0;
		rsp->flags = i + 1 < n ? NETRXF_more_data : 0;
		rsp->status = page == NULL ? NETIF_RSP_ERROR : (int16_t)len;
		if (page != NULL)
			memcpy(page, fr->ff_data + i * 4096u, len);
		q->fq_rx.rsp_prod_pvt++;
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->fq_rx, notify);
	if (notify)
		hv_evtchn_notify(f->f_fake.gf_xce, q->fq_rx_lport);
	atomic_fetch_add(&q->fq_rx_frames, 1);
	atomic_fetch_add(&f->f_rx_frames, 1);
	return true;
}

/* Injected frames go to the guest, spread over the queues in turn. */
static void
fnb_rx(struct fnb *f)
{
	static unsigned turn;

	for (;;) {
		pthread_mutex_lock(&f->f_lock);
		if (f->f_inject_head == f->f_inject_tail) {
			pthread_mutex_unlock(&f->f_lock);
			return;
		}
		struct fnb_frame *fr = &f->f_inject[f->f_inject_head % FNB_INJECT];
		pthread_mutex_unlock(&f->f_lock);
		if (!fnb_rx_one(f, &f->f_q[turn % f->f_nqueues], fr))
			return;
		turn++;
		pthread_mutex_lock(&f->f_lock);
		f->f_inject_head++;
		pthread_mutex_unlock(&f->f_lock);
	}
}

/* Each wake-up takes what every queue sent, then gives the guest what waits. */
static void
fnb_serve_all(void *arg)
{
	struct fnb *f = arg;

	for (unsigned i = 0; i < f->f_nqueues; i++)
		fnb_tx(f, &f->f_q[i]);
	fnb_rx(f);
}

static void
fnb_queue_connect(struct fnb *f, struct fnb_queue *q, const char *prefix,
    gt_fake_get_fn *get, void *arg)
{
	char key[64];

	snprintf(key, sizeof(key), "%stx-ring-ref", prefix);
	q->fq_tx_ref = (hv_gref_t)gt_fake_key(get, arg, key, -1);
	snprintf(key, sizeof(key), "%srx-ring-ref", prefix);
	q->fq_rx_ref = (hv_gref_t)gt_fake_key(get, arg, key, -1);
	q->fq_tx_ring = hv_gnttab_map_grant_ref(f->f_fake.gf_gt, f->f_fake.gf_domid, q->fq_tx_ref,
	    PROT_READ | PROT_WRITE);
	q->fq_rx_ring = hv_gnttab_map_grant_ref(f->f_fake.gf_gt, f->f_fake.gf_domid, q->fq_rx_ref,
	    PROT_READ | PROT_WRITE);
	cr_assert(q->fq_tx_ring != NULL && q->fq_rx_ring != NULL, "map rings: %s", strerror(errno));
	BACK_RING_INIT(&q->fq_tx, (netif_tx_sring_t *)q->fq_tx_ring, 4096);
	BACK_RING_INIT(&q->fq_rx, (netif_rx_sring_t *)q->fq_rx_ring, 4096);
	if (f->f_split) {
		snprintf(key, sizeof(key), "%sevent-channel-tx", prefix);
		q->fq_tx_lport = gt_fake_bind(&f->f_fake, get, arg, key);
		snprintf(key, sizeof(key), "%sevent-channel-rx", prefix);
		q->fq_rx_lport = gt_fake_bind(&f->f_fake, get, arg, key);
	} else {
		snprintf(key, sizeof(key), "%sevent-channel", prefix);
		q->fq_tx_lport = q->fq_rx_lport = gt_fake_bind(&f->f_fake, get, arg, key);
	}
}

void
fnb_connect(struct fnb *f, hv_domid_t domid, const char *sock,
    gt_fake_get_fn *get, void *arg)
{
	char prefix[32] = "";

	gt_fake_open(&f->f_fake, domid, sock);
	cr_assert_str_eq(get(arg, "request-rx-copy"), "1");
	f->f_nqueues = gt_fake_key(get, arg, "multi-queue-num-queues", 1);
	cr_assert(f->f_nqueues >= 1 && f->f_nqueues <= f->f_max_queues);
	for (unsigned i = 0; i < f->f_nqueues; i++) {
		if (f->f_nqueues > 1)
			snprintf(prefix, sizeof(prefix), "queue-%u/", i);
		fnb_queue_connect(f, &f->f_q[i], prefix, get, arg);
	}
	gt_fake_start(&f->f_fake, 5, fnb_serve_all, f);
}

int
fnb_kept(struct fnb *f, unsigned i, void *buf, size_t len)
{
	int n = -1;

	pthread_mutex_lock(&f->f_lock);
	if (i < f->f_nkept && f->f_kept[i].ff_len <= len) {
		n = f->f_kept[i].ff_len;
		memcpy(buf, f->f_kept[i].ff_data, (size_t)n);
	}
	pthread_mutex_unlock(&f->f_lock);
	return n;
}

unsigned
fnb_nkept(struct fnb *f)
{
	pthread_mutex_lock(&f->f_lock);
	unsigned n = f->f_nkept;
	pthread_mutex_unlock(&f->f_lock);
	return n;
}

void
fnb_stop(struct fnb *f)
{
	gt_fake_stop(&f->f_fake);
	for (unsigned i = 0; f->f_fake.gf_hv != NULL && i < f->f_nqueues; i++) {
		hv_gnttab_unmap(f->f_fake.gf_gt, f->f_fake.gf_domid, f->f_q[i].fq_tx_ref);
		hv_gnttab_unmap(f->f_fake.gf_gt, f->f_fake.gf_domid, f->f_q[i].fq_rx_ref);
	}
	gt_fake_close(&f->f_fake);
}

void
fnb_fini(struct fnb *f)
{
	fnb_stop(f);
	free(f->f_kept);
	free(f->f_inject);
	f->f_kept = f->f_inject = NULL;
}
