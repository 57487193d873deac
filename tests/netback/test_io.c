/*
 * Frames through netback, in a network namespace of the test's own: guest
 * TX seen byte for byte on the VIF's tap, frames sent on the tap arriving in
 * the guest's RX buffers in the slots of their requests, a 9000-byte frame
 * over several slots with feature-sg both ways, two queues with split event
 * channels, and RX held while the guest posts no buffers.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nbfront.h"
#include "stack.h"

static struct stack st;
static struct nbfront f;

/* A connected VIF (extra backend keys, nq queues, features). */
static void
up(const char *const *extra, unsigned nq, unsigned features)
{
	nbf_netns();
	nbf_bridge_add("xenbr0");
	setenv("PVSTACK_CONFDIR", "/nonexistent", 1);
	stack_start(&st, "nbio", STACK_WITH(STACK_NETBACK));
	nbf_domain(&f, &st);
	nbf_devdirs(&f, 0, extra);
	cr_assert_eq(nbf_wait_be(&f, 2, 5000), 0, "no InitWait");
	nbf_connect(&f, nq, features, 4);
	cr_assert_eq(nbf_wait_be(&f, 4, 5000), 0, "not Connected (state %d)", nbf_be_state(&f));
	nbf_pkt_open(&f);
}

static void
setup(void)
{
	if (!stack_have(STACK_WITH(STACK_NETBACK)))
		cr_skip_test("netback not built");
}

static void
teardown(void)
{
	if (f.f_mem)
		nbf_destroy(&f);
	stack_stop(&st);
}

/* A frame from the guest, byte for byte on the tap. */
static void
guest_to_host(unsigned q, size_t len, uint8_t seed)
{
	static uint8_t frame[65536], got[65536];
	int n;

	nbf_frame(frame, len, seed);
	cr_assert_eq(nbf_send(&f, q, frame, len), NETIF_RSP_OKAY, "TX of %zu bytes refused", len);
	n = nbf_pkt_recv(&f, got, sizeof(got), 5000);
	cr_assert_eq(n, (int)len, "tap saw %d bytes of a %zu-byte frame", n, len);
	cr_assert_eq(memcmp(frame, got, len), 0, "frame altered on the way out");
}

/* The next frame of our ethertype on queue q (the kernel's own IPv6 chatter skipped). */
static int
recv_ours(unsigned q, uint8_t *buf, size_t cap)
{
	int n;

	while ((n = nbf_recv(&f, q, buf, cap, 50)) >= 0)
		if (n >= 14 && buf[12] == (NBF_ETHERTYPE >> 8) && buf[13] == (NBF_ETHERTYPE & 0xff))
			return n;
	return -1;
}

/* A frame from the tap, byte for byte in the guest's buffers (any queue). */
static void
host_to_guest(size_t len, uint8_t seed)
{
	static uint8_t frame[65536], got[65536];
	int n = -1;

	nbf_frame(frame, len, seed);
	nbf_pkt_send(&f, frame, len);
	for (long long end = stack_now_ms() + 5000; n < 0 && stack_now_ms() < end;)
		for (unsigned q = 0; q < f.f_nq && n < 0; q++)
			n = recv_ours(q, got, sizeof(got));
	cr_assert_eq(n, (int)len, "guest got %d bytes of a %zu-byte frame", n, len);
	cr_assert_eq(memcmp(frame, got, len), 0, "frame altered on the way in");
}

Test(io, both_ways, .init = setup, .fini = teardown)
{
	up(NULL, 1, NBF_SG);
	nbf_rx_post(&f, 0, 64);
	for (int i = 0; i < 20; i++)
		guest_to_host(0, 60 + i * 70, i);
	for (int i = 0; i < 20; i++)
		host_to_guest(60 + i * 70, i);
	guest_to_host(0, 1514, 99);
	host_to_guest(1514, 98);
}

Test(io, jumbo_over_slots, .init = setup, .fini = teardown)
{
	static const char *const extra[] = { "mtu=9000", NULL };

	up(extra, 1, NBF_SG);
	nbf_rx_post(&f, 0, 64);
	guest_to_host(0, 9014, 5);
	host_to_guest(9014, 6);
}

Test(io, two_queues_split, .init = setup, .fini = teardown)
{
	char *mq;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("one CPU: netback offers one queue");
	up(NULL, 2, NBF_SG | NBF_SPLIT);
	mq = nbf_be_read(&f, "multi-queue-max-queues");
	cr_assert_str_eq(mq ? mq : "(absent)", "2");
	free(mq);
	nbf_rx_post(&f, 0, 64);
	nbf_rx_post(&f, 1, 64);
	for (int i = 0; i < 8; i++) {
		guest_to_host(0, 100 + i, i);
		guest_to_host(1, 200 + i, i);
	}
	for (int i = 0; i < 8; i++)
		host_to_guest(300 + i, i);
}

Test(io, rx_waits_for_buffers, .init = setup, .fini = teardown)
{
	static uint8_t frame[1514], got[2048];

	up(NULL, 1, NBF_SG);
	nbf_frame(frame, 1000, 42);
	nbf_pkt_send(&f, frame, 1000);
	cr_assert_eq(recv_ours(0, got, sizeof(got)), -1, "a frame without a buffer");
	nbf_rx_post(&f, 0, 64);
	int n = -1;
	for (long long end = stack_now_ms() + 5000; n < 0 && stack_now_ms() < end;)
		n = recv_ours(0, got, sizeof(got));
	cr_assert_eq(n, 1000, "held frame not delivered");
	cr_assert_eq(memcmp(frame, got, 1000), 0);
}
