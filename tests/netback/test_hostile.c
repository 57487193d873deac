/*
 * A malicious frontend, played by the test on rings it grants: bad frames are
 * answered NETIF_RSP_ERROR and the VIF carries on; a malformed ring (a slot
 * crossing its page, a runaway TX or RX producer, a packet running past the
 * producer) closes only that VIF with the reason in its backend, while
 * netback and another domain's VIF keep moving frames. Then: kill -9 of a
 * worker, and many attach/detach cycles leaving nothing behind.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nbfront.h"
#include "proc_stat.h"
#include "stack.h"

static struct stack st;
static struct nbfront a, b;

static void
setup(void)
{
	if (!stack_have(STACK_WITH(STACK_NETBACK)))
		cr_skip_test("netback not built");
	nbf_netns();
	nbf_bridge_add("xenbr0");
	setenv("PVSTACK_CONFDIR", "/nonexistent", 1);
	stack_start(&st, "nbhostile", STACK_WITH(STACK_NETBACK));
}

static void
teardown(void)
{
	if (a.f_mem)
		nbf_destroy(&a);
	if (b.f_mem)
		nbf_destroy(&b);
	stack_stop(&st);
}

/* A connected VIF on its own domain. */
static void
vif_up(struct nbfront *f)
{
	nbf_domain(f, &st);
	nbf_devdirs(f, 0, NULL);
	cr_assert_eq(nbf_wait_be(f, 2, 5000), 0);
	nbf_connect(f, 1, NBF_SG, 4);
	cr_assert_eq(nbf_wait_be(f, 4, 5000), 0, "state %d", nbf_be_state(f));
	nbf_pkt_open(f);
}

/* A good frame from f, seen on its tap. */
static void
still_works(struct nbfront *f)
{
	uint8_t frame[200], got[2048];

	nbf_frame(frame, sizeof(frame), 1);
	cr_assert_eq(nbf_send(f, 0, frame, sizeof(frame)), NETIF_RSP_OKAY);
	cr_assert_eq(nbf_pkt_recv(f, got, sizeof(got), 5000), (int)sizeof(frame));
}

/* One raw TX request. */
static void
put(struct nbfront *f, uint32_t gref, uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
	netif_tx_request_t r = { .gref = gref, .offset = off, .flags = flags, .id = id, .size = size };

	nbf_tx_put(f, 0, &r);
}

/* The VIF was closed for a malformed ring, saying why. */
static void
closed_for(struct nbfront *f, const char *why)
{
	char *err;

	cr_assert_eq(nbf_wait_be(f, 6, 5000), 0, "VIF not closed (state %d)", nbf_be_state(f));
	err = nbf_be_read(f, "hotplug-error");
	cr_assert(err && strstr(err, why), "hotplug-error: %s (wanted %s)", err, why);
	free(err);
	cr_assert_eq(kill(st.s_pid[STACK_NETBACK], 0), 0, "netback died");
}

Test(hostile, bad_frames_answered_error, .init = setup, .fini = teardown)
{
	netif_tx_response_t rsp;
	uint32_t ref;

	vif_up(&a);
	ref = nbf_ref(&a, NBF_PFN_TX);
	put(&a, ref, 0, 0, 1, 10);			/* runt */
	put(&a, ref, 0, 0, 2, 1600);			/* over the MTU */
	put(&a, 1999, 0, 0, 3, 100);			/* a grant never made */
	put(&a, ref, 0, NETTXF_csum_blank, 4, 100);	/* no headers to checksum */
	nbf_tx_push(&a, 0);
	for (int i = 1; i <= 4; i++) {
		cr_assert_eq(nbf_tx_rsp(&a, 0, &rsp, 5000), 0, "no response %d", i);
		cr_assert_eq(rsp.id, i);
		cr_assert_eq(rsp.status, NETIF_RSP_ERROR, "frame %d: status %d", i, rsp.status);
	}
	cr_assert_eq(nbf_be_state(&a), 4, "bad frames must not close the VIF");
	still_works(&a);
}

/* Each malformed ring closes its VIF and nothing else. */
static void
malformed(void (*spoil)(struct nbfront *), const char *why)
{
	vif_up(&a);
	vif_up(&b);
	spoil(&a);
	closed_for(&a, why);
	still_works(&b);
	cr_assert_eq(nbf_be_state(&b), 4);
}

static void
spoil_cross(struct nbfront *f)
{
	put(f, nbf_ref(f, NBF_PFN_TX), 4000, 0, 1, 200);
	nbf_tx_push(f, 0);
}

static void
spoil_tx_producer(struct nbfront *f)
{
	f->f_tx[0].sring->req_prod += 1000;
	nbf_notify(f);
}

static void
spoil_rx_producer(struct nbfront *f)
{
	f->f_rx[0].sring->req_prod -= 5;
	nbf_notify(f);
	uint8_t frame[100];
	nbf_frame(frame, sizeof(frame), 3);
	nbf_pkt_send(f, frame, sizeof(frame));
}

static void
spoil_past_producer(struct nbfront *f)
{
	put(f, nbf_ref(f, NBF_PFN_TX), 0, NETTXF_more_data, 1, 200);
	nbf_tx_push(f, 0);
}

static void
spoil_slots(struct nbfront *f)
{
	for (int i = 0; i < 22; i++)
		put(f, nbf_ref(f, NBF_PFN_TX), 0, NETTXF_more_data, i, 100);
	put(f, nbf_ref(f, NBF_PFN_TX), 0, 0, 22, 100);
	nbf_tx_push(f, 0);
}

Test(hostile, slot_crosses_page, .init = setup, .fini = teardown)
{
	malformed(spoil_cross, "crosses its page");
}

Test(hostile, runaway_tx_producer, .init = setup, .fini = teardown)
{
	malformed(spoil_tx_producer, "TX request producer");
}

Test(hostile, rx_producer_backwards, .init = setup, .fini = teardown)
{
	malformed(spoil_rx_producer, "RX request producer");
}

Test(hostile, packet_past_producer, .init = setup, .fini = teardown)
{
	malformed(spoil_past_producer, "past the request producer");
}

Test(hostile, too_many_slots, .init = setup, .fini = teardown)
{
	malformed(spoil_slots, "more than 20 slots");
}

/* The pid of the VIF's worker: netback's only child that is not a script. */
static pid_t
worker_pid(void)
{
	char path[64], buf[256];
	FILE *fp;
	pid_t pid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", st.s_pid[STACK_NETBACK],
	    st.s_pid[STACK_NETBACK]);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), fp))
		pid = atoi(buf);
	fclose(fp);
	return pid;
}

Test(hostile, kill9_worker_restarted, .init = setup, .fini = teardown)
{
	pid_t w, w2 = 0;
	char *err;

	vif_up(&a);
	nbf_rx_post(&a, 0, 64);
	still_works(&a);
	cr_assert_gt(w = worker_pid(), 0, "no worker");
	cr_assert_eq(kill(w, SIGKILL), 0);
	for (long long end = stack_now_ms() + 5000; stack_now_ms() < end; usleep(5000))
		if ((w2 = worker_pid()) > 0 && w2 != w)
			break;
	cr_assert(w2 > 0 && w2 != w, "no new worker");
	err = nbf_be_read(&a, "hotplug-error");
	cr_assert(err && strstr(err, "killed by signal 9") && strstr(err, "restarted"),
	    "hotplug-error: %s", err);
	free(err);
	cr_assert_eq(nbf_be_state(&a), 4);
	still_works(&a);
}

Test(hostile, cycles_leave_nothing, .init = setup, .fini = teardown, .timeout = 600)
{
	pid_t nb = st.s_pid[STACK_NETBACK];
	int fds0 = -1, n = getenv("NETBACK_CYCLES") ? atoi(getenv("NETBACK_CYCLES")) : 100;

	nbf_domain(&a, &st);
	for (int i = 0; i < n; i++) {
		nbf_devdirs(&a, i % 4, NULL);
		cr_assert_eq(nbf_wait_be(&a, 2, 5000), 0, "cycle %d: no InitWait", i);
		nbf_connect(&a, 1, NBF_SG, 4);
		cr_assert_eq(nbf_wait_be(&a, 4, 5000), 0, "cycle %d: not Connected", i);
		cr_assert_eq(nbf_detach(&a, 5000), 0, "cycle %d: not Closed", i);
		nbf_rmdirs(&a);
		if (i == 0) {
			usleep(100000);
			fds0 = proc_fd_count(nb);
		}
	}
	for (long long end = stack_now_ms() + 5000; stack_now_ms() < end; usleep(10000))
		if (nbf_count_links("vif") == 0 && worker_pid() == 0)
			break;
	cr_assert_eq(nbf_count_links("vif"), 0, "taps left behind");
	cr_assert_eq(worker_pid(), 0, "a worker left behind");
	cr_assert_eq(proc_fd_count(nb), fds0, "netback holds %d fds, %d after the first cycle",
	    proc_fd_count(nb), fds0);
	printf("%d attach/detach cycles: no tap, worker or fd left\n", n);
}
