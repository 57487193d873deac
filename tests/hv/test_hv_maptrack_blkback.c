/*
 * A real blkback worker (it maps grants through its maptrack lease) killed
 * with SIGKILL mid-I/O: the pages it kept mapped as persistent grants, which
 * the restarted worker never maps again, are given back by hvd; the ring's
 * grant is the new worker's alone, so the frontend's close leaves every
 * grant free to end. Runs on the blkback tests' stack and frontend.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bbfront.h"
#include "libhv.h"

#define NOLD	8	/* pages written before the kill, never again */
#define NREQ	32	/* writes in flight at the kill */

static struct stack st;
static struct bbfront fe;
static char img[160];
static uint32_t ring_ref;

static void
setup(void)
{
	bbf_stack_disk(&st, "hv-maptrack-blkback", &fe, img, sizeof(img), 64);
	ring_ref = bbf_attach(&fe, img);
}

static void
teardown(void)
{
	bbf_destroy(&fe);
	stack_stop(&st);
}

TestSuite(maptrack_blkback, .init = setup, .fini = teardown, .timeout = 90);

static uint16_t
flags_of(uint32_t ref)
{
	return __atomic_load_n(&fe.f_gnt[ref].flags, __ATOMIC_ACQUIRE) & (GTF_reading | GTF_writing);
}

/* Waits up to ms for ref's reading/writing flags to equal want. */
static bool
wait_flags(uint32_t ref, uint16_t want, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (flags_of(ref) == want)
			return true;
		usleep(1000);
	}
	return flags_of(ref) == want;
}

Test(maptrack_blkback, worker_killed_mid_io_leaves_no_pin)
{
	blkif_response_t rsp;
	pid_t w = bbf_worker_pid(&st, 0, 5000), w2;

	cr_assert_gt(w, 0, "no worker");
	/* pages the worker keeps mapped (persistent grants) and that nobody maps again */
	for (unsigned i = 0; i < NOLD; i++)
		cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, i * 8, BBF_PFN_DATA + 200 + i, 8),
		    BLKIF_RSP_OKAY);
	for (unsigned i = 0; i < NOLD; i++)
		cr_assert_eq(flags_of(bbf_ref(&fe, BBF_PFN_DATA + 200 + i)), GTF_reading,
		    "page %u is not kept mapped (read: a disk write only reads it)", i);
	cr_assert_eq(flags_of(ring_ref), GTF_reading | GTF_writing);

	/* writes in flight, and the kill */
	for (unsigned i = 0; i < NREQ; i++) {
		memset(bbf_page(&fe, BBF_PFN_DATA + i), (int)i, 4096);
		blkif_request_t q = { .operation = BLKIF_OP_WRITE, .nr_segments = 1, .id = i,
		    .sector_number = 4096 + i * 2048 };
		q.seg[0] = (struct blkif_request_segment){ bbf_ref(&fe, BBF_PFN_DATA + i), 0, 7 };
		memcpy(RING_GET_REQUEST(&fe.f_ring[0], fe.f_ring[0].req_prod_pvt), &q, sizeof(q));
		fe.f_ring[0].req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&fe.f_ring[0]);
	hv_evtchn_notify(fe.f_xce, fe.f_bell);
	cr_assert_eq(kill(w, SIGKILL), 0);
	for (unsigned n = 0; n < NREQ; n++)
		cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 10000), 0, "only %u of %u responses", n, NREQ);
	w2 = bbf_worker_pid(&st, w, 5000);
	cr_assert_gt(w2, 0, "no new worker");
	cr_assert_eq(bbf_be_state(&fe), 4);

	/* the dead worker's pins are back; the ring is the new worker's, mapped once */
	for (unsigned i = 0; i < NOLD; i++) {
		uint32_t ref = bbf_ref(&fe, BBF_PFN_DATA + 200 + i);
		cr_assert(wait_flags(ref, 0, 5000), "page %u's grant still pinned: %#x", i,
		    flags_of(ref));
	}
	cr_assert_eq(flags_of(ring_ref), GTF_reading | GTF_writing);

	/* the frontend closes: every grant can be ended */
	bbf_close(&fe);
	cr_assert(wait_flags(ring_ref, 0, 5000), "ring grant still pinned: %#x", flags_of(ring_ref));
	for (unsigned i = 0; i < NREQ; i++) {
		uint32_t ref = bbf_ref(&fe, BBF_PFN_DATA + i);
		cr_assert_eq(flags_of(ref), 0, "request %u's grant still pinned: %#x", i,
		    flags_of(ref));
	}
}
