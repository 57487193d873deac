/*
 * netfront and pvguest's IPv4 stack against a netback the test plays
 * (test_netfront_fake.c): the handshake and its keys (queues, split event
 * channels, single ring), a backend without rx-copy refused, the address
 * from the vif's ip key or ip= on the command line, ping of the peer the fake
 * plays, ARP and echo answered by the guest, a frame over several slots each
 * way, the generator and the counter, a response never issued, a detach.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gt_dev.h"
#include "gt_harness.h"
#include "net_ip.h"
#include "shell.h"
#include "test_netfront_fake.h"

#define MAC "00:16:3e:11:22:33"

static struct gt t;
static struct fnb f;
static struct gt_dev dev;
static const uint8_t guest_mac[6] = { 0x00, 0x16, 0x3e, 0x11, 0x22, 0x33 };
static const uint8_t peer_mac[6] = FNB_PEER_MAC;

static void
teardown(void)
{
	fnb_fini(&f);
	gt_stop(&t);
}

TestSuite(netfront, .fini = teardown, .timeout = 90);

static const char *
fe_get(void *arg, const char *key)
{
	(void)arg;
	return gt_store_get(t.store, gt_dev_fe(&dev, key));
}

/* The toolstack's directories for vif 0 (as xl writes them), the backend in
 * InitWait with what it offers. */
static void
add_vif(const char *ip, unsigned mtu, bool rx_copy)
{
	gt_dev_init(&dev, &t, "vif", "0");
	gt_store_set(t.store, gt_dev_be(&dev, "frontend"), dev.d_fe);
	gt_store_set(t.store, gt_dev_be(&dev, "online"), "1");
	gt_store_set(t.store, gt_dev_be(&dev, "mac"), MAC);
	gt_store_set(t.store, gt_dev_be(&dev, "handle"), "0");
	if (ip != NULL)
		gt_store_set(t.store, gt_dev_be(&dev, "ip"), ip);
	gt_dev_be_num(&dev, "feature-rx-copy", rx_copy);
	gt_dev_be_num(&dev, "feature-sg", f.f_sg);
	gt_dev_be_num(&dev, "feature-split-event-channels", f.f_split);
	gt_dev_be_num(&dev, "multi-queue-max-queues", f.f_max_queues);
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "2");
	gt_store_set(t.store, gt_dev_fe(&dev, "backend"), dev.d_be);
	gt_store_set(t.store, gt_dev_fe(&dev, "backend-id"), "0");
	gt_store_set(t.store, gt_dev_fe(&dev, "handle"), "0");
	gt_store_set(t.store, gt_dev_fe(&dev, "mac"), MAC);
	gt_dev_be_num(&dev, "mtu", mtu);
	gt_store_set(t.store, gt_dev_fe(&dev, "mtu"),
	    gt_store_get(t.store, gt_dev_be(&dev, "mtu")));
	gt_store_set(t.store, gt_dev_fe(&dev, "state"), "1");
}

/* The backend's half once the frontend is Initialised. */
static void
connect_vif(void)
{
	gt_wait_node(&t, gt_dev_fe(&dev, "state"), "3");
	fnb_connect(&f, t.domid, t.hvt.sock, fe_get, NULL);
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "4");
	gt_wait_node(&t, gt_dev_fe(&dev, "state"), "4");
}

/* pvguest with vif 0 connected, at its prompt. */
static void
boot_with_vif(const char *cmdline, const char *ip, unsigned mtu)
{
	gt_start_kernel(&t, GT_OWN_STORE, GT_PVGUEST, cmdline);
	add_vif(ip, mtu, true);
	gt_unpause(&t);
	connect_vif();
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, 10000), "no prompt; output:\n%s", t.out);
}

/* Runs a command line and waits for the next prompt; returns its output. */
static const char *
run(const char *line)
{
	return gt_run(&t, line, 30000);
}

static uint32_t
A(const char *s)
{
	uint32_t a;

	net_ip_parse_addr(s, &a);
	return a;
}

/* Waits until the fake has kept n frames. */
static void
wait_kept(unsigned n)
{
	for (int i = 0; i < 250 && fnb_nkept(&f) < n; i++)
		gt_serve(&t, 20);
	cr_assert_geq(fnb_nkept(&f), n, "the guest sent %u frames, not %u", fnb_nkept(&f), n);
}

Test(netfront, handshake_two_queues_split_channels)
{
	fnb_init(&f);
	boot_with_vif("gt test", "10.0.0.2", 1500);
	cr_assert_str_eq(fe_get(NULL, "request-rx-copy"), "1");
	cr_assert_str_eq(fe_get(NULL, "feature-rx-notify"), "1");
	cr_assert_str_eq(fe_get(NULL, "feature-sg"), "1");
	cr_assert_str_eq(fe_get(NULL, "multi-queue-num-queues"), "2");
	for (int q = 0; q < 2; q++) {
		static const char *const keys[] = { "tx-ring-ref", "rx-ring-ref", "event-channel-tx",
		    "event-channel-rx" };
		for (int k = 0; k < 4; k++) {
			char key[64];
			snprintf(key, sizeof(key), "queue-%d/%s", q, keys[k]);
			cr_assert_not_null(fe_get(NULL, key), "%s", key);
		}
	}
	cr_assert_null(fe_get(NULL, "tx-ring-ref"), "no top-level ring with several queues");
	cr_assert_null(fe_get(NULL, "event-channel"));
	gt_expect_in(t.out, "net: vif 0: connected, mac " MAC ", mtu 1500, queues 2, ");
	gt_expect_in(t.out, "sg yes, split yes\r\n");
	gt_expect_in(t.out, "net: eth0: address 10.0.0.2 netmask 255.0.0.0 (the vif's ip key)");
	const char *out = run("net list");
	gt_expect_in(out, "IFACE  HANDLE MAC               IP              NETMASK         STATE");
	gt_expect_in(out, "eth0   0      " MAC " 10.0.0.2        255.0.0.0       connected (mtu 1500, "
	    "queues 2, sg yes)");
}

Test(netfront, one_queue_one_channel)
{
	fnb_init(&f);
	f.f_max_queues = 1;
	f.f_split = false;
	boot_with_vif("gt test", "192.168.7.2/24", 1500);
	cr_assert_not_null(fe_get(NULL, "tx-ring-ref"));
	cr_assert_not_null(fe_get(NULL, "rx-ring-ref"));
	cr_assert_not_null(fe_get(NULL, "event-channel"));
	cr_assert_null(fe_get(NULL, "event-channel-tx"));
	cr_assert_null(fe_get(NULL, "multi-queue-num-queues"));
	gt_expect_in(run("net list"), "192.168.7.2     255.255.255.0   connected (mtu 1500, queues 1");
}

Test(netfront, backend_without_rx_copy_refused)
{
	fnb_init(&f);
	gt_start(&t, true);
	add_vif("10.0.0.2", 1500, false);
	gt_unpause(&t);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, 10000), "%s", t.out);
	gt_expect_in(t.out, "net: vif 0: /local/domain/0/backend/vif/");
	gt_expect_in(t.out, "/feature-rx-copy: the backend does not offer rx-copy");
	cr_assert_str_eq(fe_get(NULL, "state"), "1", "never Initialised");
	gt_expect_in(run("net list"), "no interfaces");
}

Test(netfront, address_from_the_command_line)
{
	fnb_init(&f);
	boot_with_vif("console=hvc0 ip=10.0.0.9::10.0.0.254:255.255.255.0::eth0:off", NULL, 1500);
	gt_expect_in(t.out, "net: eth0: address 10.0.0.9 netmask 255.255.255.0 (ip= on the command line)");
	gt_expect_in(run("net list"), "10.0.0.9        255.255.255.0   connected");
	gt_expect_in(run("net ping 192.168.1.1 1"), "From 10.0.0.9: Destination Host Unreachable");
	cr_assert_geq(fnb_nkept(&f), 3, "ARP asked for the gateway three times");
	uint8_t buf[128];
	struct net_arp a;
	cr_assert_gt(fnb_kept(&f, 0, buf, sizeof(buf)), 0);
	cr_assert_eq(net_arp_parse(buf, 60, &a), 0);
	cr_assert_eq(a.na_tpa, A("10.0.0.254"), "off the subnet: the gateway is asked for");
}

Test(netfront, ping_the_peer)
{
	fnb_init(&f);
	boot_with_vif("gt test", "10.0.0.2", 1500);
	const char *out = run("net ping 10.0.0.1 3");
	gt_expect_in(out, "PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.");
	gt_expect_in(out, "64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=");
	gt_expect_in(out, "64 bytes from 10.0.0.1: icmp_seq=3 ttl=64 time=");
	gt_expect_in(out, "--- 10.0.0.1 ping statistics ---");
	gt_expect_in(out, "3 packets transmitted, 3 received, 0% packet loss");
	gt_expect_in(out, "rtt min/avg/max/mdev = ");
	cr_assert_eq(atomic_load(&f.f_arp_answered), 1, "one ARP, then the cache");
	cr_assert_eq(atomic_load(&f.f_echo_answered), 3);
	gt_expect_in(run("net ping 10.0.0.1 1"), "1 received");
	cr_assert_eq(atomic_load(&f.f_arp_answered), 1, "still cached");
	gt_expect_in(run("net ping 10.0.0.7 1"), "Destination Host Unreachable");
	gt_expect_in(run("net ping 10.0.0.300"), "not an IPv4 address");
}

Test(netfront, guest_answers_arp_and_echo)
{
	uint8_t frame[256], buf[256];
	struct net_arp a;
	struct net_ipv4 ip;
	struct net_icmp_echo e;

	fnb_init(&f);
	boot_with_vif("gt test", "10.0.0.2", 1500);
	size_t n = net_arp_build(frame, NET_ARP_REQUEST, peer_mac, A("10.0.0.1"),
	    (const uint8_t[6]){ 0 }, A("10.0.0.2"), net_broadcast);
	fnb_inject(&f, frame, n);
	wait_kept(1);
	cr_assert_eq(fnb_kept(&f, 0, buf, sizeof(buf)), 60);
	cr_assert_eq(net_arp_parse(buf, 60, &a), 0);
	cr_assert_eq(a.na_op, NET_ARP_REPLY);
	cr_assert_eq(a.na_spa, A("10.0.0.2"));
	cr_assert_eq(memcmp(a.na_sha, guest_mac, 6), 0);
	cr_assert_eq(memcmp(buf, peer_mac, 6), 0, "unicast back to the asker");
	n = net_arp_build(frame, NET_ARP_REQUEST, peer_mac, A("10.0.0.1"), (const uint8_t[6]){ 0 },
	    A("10.0.0.3"), net_broadcast);
	fnb_inject(&f, frame, n);
	n = net_icmp_echo_build(frame, guest_mac, peer_mac, A("10.0.0.1"), A("10.0.0.2"), 8, 0x4242,
	    17, "hello guest", 11);
	fnb_inject(&f, frame, n);
	wait_kept(2);
	int len = fnb_kept(&f, 1, buf, sizeof(buf));
	cr_assert_eq(net_ipv4_parse(buf, (size_t)len, &ip), 0, "the echo reply, not an ARP answer");
	cr_assert_eq(net_icmp_echo_parse(&ip, &e), 0);
	cr_assert_eq(e.ie_type, 0);
	cr_assert_eq(e.ie_id, 0x4242);
	cr_assert_eq(e.ie_seq, 17);
	cr_assert_eq(e.ie_dlen, 11);
	cr_assert_eq(memcmp(e.ie_data, "hello guest", 11), 0);
	cr_assert_eq(ip.ip_dst, A("10.0.0.1"));
	gt_expect_in(run("net stats"), "arp requests answered 1, echo requests answered 1");
}

Test(netfront, frames_over_several_slots_both_ways)
{
	static uint8_t frame[9100], buf[9100];
	static char data[9000];
	struct net_ipv4 ip;
	struct net_icmp_echo e;

	fnb_init(&f);
	boot_with_vif("gt test", "10.0.0.2", 9000);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	size_t n = net_icmp_echo_build(frame, guest_mac, peer_mac, A("10.0.0.1"), A("10.0.0.2"), 8, 9,
	    1, data, 8000 - 42);
	cr_assert_eq(n, 8000);
	fnb_inject(&f, frame, n);
	wait_kept(1);
	int len = fnb_kept(&f, 0, buf, sizeof(buf));
	cr_assert_eq(len, 8000, "the 8000-byte reply came back whole");
	cr_assert_eq(net_ipv4_parse(buf, (size_t)len, &ip), 0);
	cr_assert_eq(net_icmp_echo_parse(&ip, &e), 0);
	cr_assert_eq(memcmp(e.ie_data, data, 8000 - 42), 0, "byte for byte across pages");
	cr_assert_eq(atomic_load(&f.f_max_slots), 2, "sent over two TX slots");
	const char *out = run("net ping 10.0.0.1 2 8900");
	gt_expect_in(out, "8908 bytes from 10.0.0.1: icmp_seq=2");
	gt_expect_in(out, "2 received");
	cr_assert_eq(atomic_load(&f.f_max_slots), 3, "8942-byte frames take three slots");
	/* EMSGSIZE, in the guest's C library's words (glibc: "too long", musl: "too large") */
	out = run("net ping 10.0.0.1 1 9000");
	cr_assert(strstr(out, "net ping: eth0: Message too long") ||
	    strstr(out, "net ping: eth0: Message too large"), "no EMSGSIZE in:\n%s", out);
}

Test(netfront, send_spreads_over_queues_and_recv_counts)
{
	static uint8_t frame[1514];

	fnb_init(&f);
	boot_with_vif("gt test", "10.0.0.2", 1500);
	const char *out = run("net send eth0 2000 64");
	gt_expect_in(out, "net send: eth0: 2000 frames of 64 bytes in ");
	unsigned long long frames;
	double fps, mbit;
	const char *line = strstr(out, "frames 2000 fps ");
	cr_assert_not_null(line, "%s", out);
	cr_assert_eq(sscanf(line, "frames %llu fps %lf Mbit/s %lf", &frames, &fps, &mbit), 3);
	cr_assert_gt(fps, 0);
	cr_assert_gt(mbit, 0);
	cr_assert_eq(atomic_load(&f.f_tx_frames), 2000);
	cr_assert_eq(atomic_load(&f.f_tx_bytes), 2000 * 64);
	cr_assert_gt(atomic_load(&f.f_q[0].fq_tx_frames), 0);
	cr_assert_gt(atomic_load(&f.f_q[1].fq_tx_frames), 0, "the second queue carried frames");
	gt_expect_in(run("net send eth0 10 1519"), "SIZE: 1519 is not a number from 42 to 1518");
	gt_expect_in(run("net send eth1 10 64"), "eth1: no such interface");
	size_t n = net_udp_build(frame, sizeof(frame), guest_mac, peer_mac, A("10.0.0.1"),
	    A("10.0.0.2"), 1000, 9);
	for (int i = 0; i < 700; i++)
		fnb_inject(&f, frame, n);
	out = run("net recv eth0 10 700");
	gt_expect_in(out, "net recv: eth0: 700 frames, 1059800 bytes in ");
	gt_expect_in(out, "frames 700 fps ");
	cr_assert_gt(atomic_load(&f.f_q[1].fq_rx_frames), 0, "frames came on both queues");
	out = run("net stats");
	gt_expect_in(out, "eth0: rx frames 700 bytes 1059800 errors 0; tx frames 2000 bytes 128000 errors 0");
	gt_expect_in(out, "eth0: queue 1: tx frames ");
}

Test(netfront, response_never_issued_stops_only_the_interface)
{
	fnb_init(&f);
	f.f_bad_id_at = 5;
	boot_with_vif("gt test", "10.0.0.2", 1500);
	gt_expect_in(run("net send eth0 20 64"), "net send: eth0: Protocol error after");
	const char *out = run("net list");
	gt_expect_in(out, "stopped (queue ");
	gt_expect_in(out, "tx response id 32767 status 0 was not issued)");
	gt_expect_in(run("net ping 10.0.0.1 1"), "Protocol error");
	gt_expect_in(run("echo still here"), "still here\r\n");
}

Test(netfront, detach_closes_and_ends_the_grants)
{
	fnb_init(&f);
	boot_with_vif("gt test", "10.0.0.2", 1500);
	gt_expect_in(run("net ping 10.0.0.1 1"), "1 received");
	hv_gref_t ring = (hv_gref_t)strtoul(fe_get(NULL, "queue-0/tx-ring-ref"), NULL, 10);
	gt_store_set(t.store, gt_dev_be(&dev, "online"), "0");
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "5");
	gt_wait_node(&t, gt_dev_fe(&dev, "state"), "6");
	fnb_stop(&f);
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "6");
	cr_assert(gt_wait_output(&t, "net: vif 0: disconnected (Closing)", 0, 10000), "%s", t.out);
	gt_expect_in(run("net list"), "no interfaces");
	cr_assert_str_eq(fe_get(NULL, "state"), "6", "not re-armed: online is 0");
	struct hv_gnttab *gt = hv_gnttab_open(t.hvt.hv);
	cr_assert_null(hv_gnttab_map_grant_ref(gt, t.domid, ring, PROT_READ), "ring grant ended");
	hv_gnttab_close(gt);
}

Test(netfront, vif_attached_to_a_running_guest)
{
	fnb_init(&f);
	gt_start(&t, true);
	gt_unpause(&t);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, 10000), "no prompt; output:\n%s", t.out);
	gt_expect_in(run("net list"), "no interfaces");
	add_vif("10.0.0.2", 1500, true);
	connect_vif();
	cr_assert(gt_wait_output(&t, "net: eth0: address 10.0.0.2", 0, 10000), "%s", t.out);
	gt_expect_in(run("net ping 10.0.0.1 1"), "1 received");
}
