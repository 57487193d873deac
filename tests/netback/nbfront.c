#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include "libhv.h"
#include "nbfront.h"
#include "tfront.h"
#include "xs.h"

void
nbf_netns(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
}

/* A netlink socket; the caller frees it. */
static struct nl_sock *
nbf_nl(void)
{
	struct nl_sock *sk = nl_socket_alloc();

	cr_assert_not_null(sk);
	cr_assert_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	return sk;
}

void
nbf_bridge_add(const char *name)
{
	struct nl_sock *sk = nbf_nl();
	struct rtnl_link *l, *chg;

	cr_assert_eq(rtnl_link_bridge_add(sk, name), 0, "bridge %s", name);
	cr_assert_eq(rtnl_link_get_kernel(sk, 0, name, &l), 0);
	chg = rtnl_link_alloc();
	rtnl_link_set_flags(chg, IFF_UP);
	cr_assert_eq(rtnl_link_change(sk, l, chg, 0), 0);
	rtnl_link_put(chg);
	rtnl_link_put(l);
	nl_socket_free(sk);
}

void
nbf_link_del(const char *name)
{
	struct nl_sock *sk = nbf_nl();
	struct rtnl_link *l = rtnl_link_alloc();

	rtnl_link_set_name(l, name);
	rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	nl_socket_free(sk);
}

/* The link as the kernel has it, NULL when absent. */
static struct rtnl_link *
nbf_link(const char *name)
{
	struct nl_sock *sk = nbf_nl();
	struct rtnl_link *l = NULL;

	if (rtnl_link_get_kernel(sk, 0, name, &l) < 0)
		l = NULL;
	nl_socket_free(sk);
	return l;
}

int
nbf_ifindex(const char *name)
{
	return if_nametoindex(name);
}

int
nbf_master(const char *name)
{
	struct rtnl_link *l = nbf_link(name);
	int m = l ? rtnl_link_get_master(l) : 0;

	if (l)
		rtnl_link_put(l);
	return m;
}

unsigned
nbf_mtu(const char *name)
{
	struct rtnl_link *l = nbf_link(name);
	unsigned m = l ? rtnl_link_get_mtu(l) : 0;

	if (l)
		rtnl_link_put(l);
	return m;
}

bool
nbf_up(const char *name)
{
	struct rtnl_link *l = nbf_link(name);
	bool up = l && (rtnl_link_get_flags(l) & IFF_UP);

	if (l)
		rtnl_link_put(l);
	return up;
}

void
nbf_mac(const char *name, char out[18])
{
	struct rtnl_link *l = nbf_link(name);

	out[0] = '\0';
	if (l) {
		nl_addr2str(rtnl_link_get_addr(l), out, 18);
		rtnl_link_put(l);
	}
}

int
nbf_count_links(const char *prefix)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int n = 0;

	cr_assert_not_null(ifs);
	for (i = ifs; i->if_index; i++)
		n += strncmp(i->if_name, prefix, strlen(prefix)) == 0;
	if_freenameindex(ifs);
	return n;
}

/* Writes a frontend or backend key; asserts. */
#define nbf_write(f, tx, fe, key, ...) \
	tfront_write((f)->f_st, (tx), (fe) ? (f)->f_fe : (f)->f_be, (key), __VA_ARGS__)

void
nbf_domain(struct nbfront *f, struct stack *st)
{
	struct tfront_dom d;

	memset(f, 0, sizeof(*f));
	f->f_st = st;
	f->f_pkt = -1;
	f->f_next_ref = TFRONT_FIRST_REF;
	tfront_domain(st, NBF_MEM_PAGES, f->f_port, 2 * NBF_MAX_QUEUES, &d);
	f->f_domid = d.td_domid;
	f->f_mem = d.td_mem;
	f->f_gnt = d.td_gnt;
	f->f_xce = d.td_xce;
	f->f_bell = d.td_bell;
}

void
nbf_destroy(struct nbfront *f)
{
	if (f->f_pkt >= 0)
		close(f->f_pkt);
	f->f_pkt = -1;
	tfront_destroy(f->f_st, f->f_domid, f->f_xce);
	f->f_mem = NULL;
}

void *
nbf_page(struct nbfront *f, uint64_t pfn)
{
	cr_assert_lt(pfn, NBF_MEM_PAGES);
	return f->f_mem + pfn * 4096;
}

uint32_t
nbf_grant(struct nbfront *f, uint64_t pfn, bool readonly)
{
	return tfront_grant(f->f_gnt, &f->f_next_ref, pfn, readonly);
}

uint32_t
nbf_ref(struct nbfront *f, uint64_t pfn)
{
	cr_assert_lt(pfn, NBF_MEM_PAGES);
	if (f->f_pfn_ref[pfn] == 0)
		f->f_pfn_ref[pfn] = nbf_grant(f, pfn, false);
	return f->f_pfn_ref[pfn];
}

void
nbf_devdirs(struct nbfront *f, uint32_t devid, const char *const *extra)
{
	struct xs *xs = f->f_st->s_xs;
	xs_tx_t tx;

	f->f_devid = devid;
	snprintf(f->f_fe, sizeof(f->f_fe), "/local/domain/%u/device/vif/%u", f->f_domid, devid);
	snprintf(f->f_be, sizeof(f->f_be), "/local/domain/0/backend/vif/%u/%u", f->f_domid, devid);
	snprintf(f->f_ifname, sizeof(f->f_ifname), "vif%u.%u", f->f_domid, devid);
	do {
		cr_assert_eq(xs_transaction_start(xs, &tx), 0);
		nbf_write(f, tx, true, "handle", "%u", devid);
		nbf_write(f, tx, true, "mac", "00:16:3e:00:00:%02x", devid);
		nbf_write(f, tx, false, "mac", "00:16:3e:00:00:%02x", devid);
		nbf_write(f, tx, false, "handle", "%u", devid);
		nbf_write(f, tx, false, "type", "vif");
		nbf_write(f, tx, false, "mtu", "1500");
		nbf_write(f, tx, false, "bridge", "xenbr0");
		nbf_write(f, tx, false, "hotplug-status", "%s", "");
		tfront_devdir_keys(f->f_st, tx, f->f_fe, f->f_be, f->f_domid, extra);
	} while (xs_transaction_end(xs, tx, false) < 0 && errno == EAGAIN);
	const char *vifname = tfront_extra_get(extra, "vifname");
	if (vifname != NULL)
		snprintf(f->f_ifname, sizeof(f->f_ifname), "%s", vifname);
}

void
nbf_rmdirs(struct nbfront *f)
{
	tfront_rmdirs(f->f_st, f->f_fe, f->f_be);
}

char *
nbf_be_read(struct nbfront *f, const char *key)
{
	return stack_xs_read(f->f_st, "%s/%s", f->f_be, key);
}

int
nbf_be_state(struct nbfront *f)
{
	return tfront_state(f->f_st, f->f_be);
}

int
nbf_wait_be(struct nbfront *f, int state, int ms)
{
	return tfront_wait_state(f->f_st, f->f_be, state, ms);
}

void
nbf_fe_state(struct nbfront *f, int state)
{
	nbf_write(f, XS_TX_NONE, true, "state", "%d", state);
}

void
nbf_notify(struct nbfront *f)
{
	hv_evtchn_notify(f->f_xce, f->f_bell);
}

/* One queue's rings and keys, inside the connect transaction. */
static void
nbf_connect_queue(struct nbfront *f, xs_tx_t tx, unsigned q, unsigned nq, unsigned features)
{
	uint64_t pfn = NBF_PFN_RINGS + 2 * q;
	netif_tx_sring_t *txs = nbf_page(f, pfn);
	netif_rx_sring_t *rxs = nbf_page(f, pfn + 1);
	char dir[32], key[64];

	memset(txs, 0, 4096);
	memset(rxs, 0, 4096);
	SHARED_RING_INIT(txs);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&f->f_tx[q], txs, 4096);
	FRONT_RING_INIT(&f->f_rx[q], rxs, 4096);
	if (nq > 1)
		snprintf(dir, sizeof(dir), "queue-%u/", q);
	else
		dir[0] = '\0';
	snprintf(key, sizeof(key), "%stx-ring-ref", dir);
	nbf_write(f, tx, true, key, "%u", nbf_grant(f, pfn, false));
	snprintf(key, sizeof(key), "%srx-ring-ref", dir);
	nbf_write(f, tx, true, key, "%u", nbf_grant(f, pfn + 1, false));
	if (features & NBF_SPLIT) {
		snprintf(key, sizeof(key), "%sevent-channel-tx", dir);
		nbf_write(f, tx, true, key, "%d", f->f_port[2 * q]);
		snprintf(key, sizeof(key), "%sevent-channel-rx", dir);
		nbf_write(f, tx, true, key, "%d", f->f_port[2 * q + 1]);
	} else {
		snprintf(key, sizeof(key), "%sevent-channel", dir);
		nbf_write(f, tx, true, key, "%d", f->f_port[q]);
	}
}

void
nbf_connect(struct nbfront *f, unsigned nq, unsigned features, int fe_state)
{
	struct xs *xs = f->f_st->s_xs;
	xs_tx_t tx;

	cr_assert_leq(nq, NBF_MAX_QUEUES);
	f->f_nq = nq;
	do {
		cr_assert_eq(xs_transaction_start(xs, &tx), 0);
		for (unsigned q = 0; q < nq; q++)
			nbf_connect_queue(f, tx, q, nq, features);
		if (nq > 1)
			nbf_write(f, tx, true, "multi-queue-num-queues", "%u", nq);
		if (!(features & NBF_NO_RX_COPY))
			nbf_write(f, tx, true, "request-rx-copy", "1");
		nbf_write(f, tx, true, "feature-rx-notify", "1");
		nbf_write(f, tx, true, "feature-sg", "%d", !!(features & NBF_SG));
		nbf_write(f, tx, true, "feature-gso-tcpv4", "%d", !!(features & NBF_GSO));
		nbf_write(f, tx, true, "state", "%d", fe_state);
	} while (xs_transaction_end(xs, tx, false) < 0 && errno == EAGAIN);
}

int
nbf_detach(struct nbfront *f, int ms)
{
	tfront_detach(f->f_st, f->f_be);
	/* the guest's part: it sees Closing and closes its end */
	tfront_wait_at_least(f->f_st, f->f_be, 5, ms);
	nbf_fe_state(f, 5);
	nbf_fe_state(f, 6);
	return nbf_wait_be(f, 6, ms);
}

void
nbf_tx_put(struct nbfront *f, unsigned q, const void *slot)
{
	netif_tx_front_ring_t *r = &f->f_tx[q];

	memcpy(RING_GET_REQUEST(r, r->req_prod_pvt), slot, sizeof(netif_tx_request_t));
	r->req_prod_pvt++;
}

void
nbf_tx_push(struct nbfront *f, unsigned q)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->f_tx[q], notify);
	if (notify)
		nbf_notify(f);
}

int
nbf_tx_rsp(struct nbfront *f, unsigned q, netif_tx_response_t *rsp, int ms)
{
	netif_tx_front_ring_t *r = &f->f_tx[q];
	long long deadline = stack_now_ms() + ms;

	while (__atomic_load_n(&r->sring->rsp_prod, __ATOMIC_ACQUIRE) == r->rsp_cons) {
		if (stack_now_ms() > deadline)
			return -1;
		usleep(200);
	}
	memcpy(rsp, RING_GET_RESPONSE(r, r->rsp_cons), sizeof(*rsp));
	r->rsp_cons++;
	r->sring->rsp_event = r->rsp_cons + 1;
	return 0;
}

int
nbf_send(struct nbfront *f, unsigned q, const uint8_t *frame, size_t len)
{
	unsigned nslots = (len + 4095) / 4096, status = 0;
	netif_tx_response_t rsp;

	cr_assert_leq(nslots, 18u);
	for (unsigned i = 0; i < nslots; i++) {
		uint64_t pfn = NBF_PFN_TX + 32 * q + i;
		size_t n = len - i * 4096 < 4096 ? len - i * 4096 : 4096;
		memcpy(nbf_page(f, pfn), frame + i * 4096, n);
		netif_tx_request_t r = { .gref = nbf_ref(f, pfn), .offset = 0,
		    .flags = i + 1 < nslots ? NETTXF_more_data : 0, .id = (uint16_t)(100 + i),
		    .size = (uint16_t)(i == 0 ? len : n) };
		nbf_tx_put(f, q, &r);
	}
	nbf_tx_push(f, q);
	for (unsigned i = 0; i < nslots; i++) {
		cr_assert_eq(nbf_tx_rsp(f, q, &rsp, 5000), 0, "no TX response to slot %u", i);
		cr_assert_eq(rsp.id, 100 + i);
		if (i == 0)
			status = rsp.status;
	}
	return (int16_t)status;
}

void
nbf_rx_post(struct nbfront *f, unsigned q, unsigned n)
{
	netif_rx_front_ring_t *r = &f->f_rx[q];
	int notify;

	for (unsigned i = 0; i < n; i++) {
		RING_IDX idx = r->req_prod_pvt;
		uint64_t pfn = NBF_PFN_RX + 256 * q + (idx & 255);
		netif_rx_request_t req = { .id = idx & 255, .gref = nbf_ref(f, pfn) };
		memcpy(RING_GET_REQUEST(r, idx), &req, sizeof(req));
		r->req_prod_pvt++;
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r, notify);
	if (notify)
		nbf_notify(f);
}

int
nbf_recv(struct nbfront *f, unsigned q, uint8_t *buf, size_t cap, int ms)
{
	netif_rx_front_ring_t *r = &f->f_rx[q];
	long long deadline = stack_now_ms() + ms;
	size_t got = 0;
	bool more = true;

	while (more) {
		while (__atomic_load_n(&r->sring->rsp_prod, __ATOMIC_ACQUIRE) == r->rsp_cons) {
			if (stack_now_ms() > deadline)
				return -1;
			usleep(200);
		}
		netif_rx_response_t rsp;
		memcpy(&rsp, RING_GET_RESPONSE(r, r->rsp_cons), sizeof(rsp));
		RING_IDX idx = r->rsp_cons++;
		cr_assert_geq(rsp.status, 0, "RX response status %d", rsp.status);
		cr_assert_eq(rsp.id, idx & 255, "RX response in the slot of another request");
		cr_assert_leq(got + rsp.status, cap);
		memcpy(buf + got, (uint8_t *)nbf_page(f, NBF_PFN_RX + 256 * q + (idx & 255)) +
		    rsp.offset, rsp.status);
		got += rsp.status;
		more = rsp.flags & NETRXF_more_data;
		if (rsp.flags & NETRXF_extra_info)
			r->rsp_cons++;		/* the extra slot */
	}
	r->sring->rsp_event = r->rsp_cons + 1;
	return got;
}

void
nbf_pkt_open(struct nbfront *f)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	f->f_pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	cr_assert_geq(f->f_pkt, 0, "packet socket: %s", strerror(errno));
	sll.sll_ifindex = nbf_ifindex(f->f_ifname);
	cr_assert_gt(sll.sll_ifindex, 0, "no %s", f->f_ifname);
	cr_assert_eq(bind(f->f_pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

int
nbf_pkt_recv(struct nbfront *f, uint8_t *buf, size_t cap, int ms)
{
	long long deadline = stack_now_ms() + ms;

	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct pollfd p = { .fd = f->f_pkt, .events = POLLIN };
		int left = deadline - stack_now_ms();
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		ssize_t n = recvfrom(f->f_pkt, buf, cap, 0, (struct sockaddr *)&from, &fl);
		if (n >= 14 && from.sll_pkttype != PACKET_OUTGOING && buf[12] == (NBF_ETHERTYPE >> 8) &&
		    buf[13] == (NBF_ETHERTYPE & 0xff))
			return n;
	}
}

void
nbf_pkt_send(struct nbfront *f, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = nbf_ifindex(f->f_ifname),
	    .sll_halen = 6 };

	memcpy(sll.sll_addr, frame, 6);
	cr_assert_eq(sendto(f->f_pkt, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)),
	    (ssize_t)len, "send on %s: %s", f->f_ifname, strerror(errno));
}

void
nbf_frame(uint8_t *buf, size_t len, uint8_t seed)
{
	static const uint8_t dst[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
	static const uint8_t src[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x02 };

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = NBF_ETHERTYPE >> 8;
	buf[13] = NBF_ETHERTYPE & 0xff;
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
}
