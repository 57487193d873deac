/*
 * A malicious frontend: hostile requests each get an error response (padding
 * zeroed) and the device carries on; nothing outside the granted pages and
 * the requested sectors is read or written; a ring whose producer runs away
 * closes only that device, and blkback and another domain's disk carry on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bbfront.h"
#include "libhv.h"
#include "xs.h"

#define CANARY		0xa5
#define HOSTILE_ID	0x1122334455667788ull

static struct stack st;
static struct bbfront fe, other;
static char img[160], img2[160];

static void
make_image(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", st.s_rundir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4 << 20), 0);
	close(fd);
}

/* Attaches and connects a device of f on path. */
static void
attach(struct bbfront *f, const char *path)
{
	bbf_devdirs(f, 51712, path, "w", NULL);
	cr_assert_eq(bbf_wait_be(f, 2, 5000), 0);
	bbf_connect(f, 1, 0, false, 4);
	cr_assert_eq(bbf_wait_be(f, 4, 5000), 0, "no Connected (state %d)", bbf_be_state(f));
}

static void
setup(void)
{
	cr_assert(stack_have(STACK_WITH(STACK_BLKBACK)), "blkback is not built");
	stack_start(&st, "blkback-hostile", STACK_WITH(STACK_BLKBACK));
	make_image(img, sizeof(img), "a.img");
	make_image(img2, sizeof(img2), "b.img");
	bbf_domain(&fe, &st);
	bbf_domain(&other, &st);
	attach(&fe, img);
	attach(&other, img2);
}

static void
teardown(void)
{
	bbf_destroy(&fe);
	bbf_destroy(&other);
	stack_stop(&st);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 90);

/* Pushes req and asserts the response: status, id, zeroed padding. */
static void
expect(const blkif_request_t *req, int status, const char *what)
{
	blkif_response_t rsp;
	const uint8_t *raw = (const uint8_t *)&rsp;

	bbf_push(&fe, 0, req);
	cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 5000), 0, "%s: no response", what);
	cr_expect_eq(rsp.status, status, "%s: status %d, want %d", what, rsp.status, status);
	cr_expect_eq(rsp.id, req->id, "%s: id not echoed", what);
	cr_expect(raw[9] == 0 && raw[12] == 0 && raw[13] == 0 && raw[14] == 0 && raw[15] == 0,
	    "%s: response padding not zeroed", what);
}

/* A one-segment read of page pfn's ref into sector 0. */
static blkif_request_t
one(uint8_t op, uint32_t gref)
{
	blkif_request_t q;

	memset(&q, 0, sizeof(q));
	q.operation = op;
	q.nr_segments = 1;
	q.id = HOSTILE_ID;
	q.seg[0] = (struct blkif_request_segment){ .gref = gref, .first_sect = 0, .last_sect = 7 };
	return q;
}

/* The image's whole content. */
static uint8_t *
slurp(const char *path)
{
	uint8_t *buf = malloc(4 << 20);
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, 4 << 20, 0), 4 << 20);
	close(fd);
	return buf;
}

Test(hostile, bad_requests_fail_alone)
{
	uint64_t data = BBF_PFN_DATA + 10;
	uint32_t ref = bbf_ref(&fe, data), ro = bbf_grant(&fe, data + 4, true);
	uint32_t foreign = bbf_grant(&fe, data + 5, false), ungranted = bbf_grant(&fe, data + 6, false);
	blkif_request_t q;
	uint8_t *before, *after;

	fe.f_gnt[foreign].domid = 7;		/* granted to someone else */
	bbf_ungrant(&fe, ungranted);
	for (int p = -1; p <= 1; p++)
		memset(bbf_page(&fe, data + p), CANARY, 4096);
	for (uint64_t p = data + 3; p <= data + 6; p++)
		memset(bbf_page(&fe, p), CANARY, 4096);
	int fd = open(img, O_WRONLY);
	for (unsigned i = 0; i < 1024; i++) {
		uint8_t pat[4096];
		memset(pat, i * 13 + 1, sizeof(pat));
		cr_assert_eq(pwrite(fd, pat, sizeof(pat), (off_t)i * 4096), 4096);
	}
	close(fd);
	before = slurp(img);

	q = one(200, ref);
	expect(&q, BLKIF_RSP_EOPNOTSUPP, "unknown operation");
	q = one(BLKIF_OP_WRITE_BARRIER, ref);
	expect(&q, BLKIF_RSP_EOPNOTSUPP, "barrier (not advertised)");
	q = one(BLKIF_OP_READ, ref);
	q.nr_segments = 0;
	expect(&q, BLKIF_RSP_ERROR, "zero segments");
	q.nr_segments = 12;
	expect(&q, BLKIF_RSP_ERROR, "12 segments");
	q = one(BLKIF_OP_READ, ref);
	q.seg[0].first_sect = 6;
	q.seg[0].last_sect = 2;
	expect(&q, BLKIF_RSP_ERROR, "first > last");
	q.seg[0].first_sect = 0;
	q.seg[0].last_sect = 8;
	expect(&q, BLKIF_RSP_ERROR, "last_sect past the page");
	q = one(BLKIF_OP_READ, ref);
	q.sector_number = 8192 - 7;
	expect(&q, BLKIF_RSP_ERROR, "one sector past the end");
	q.sector_number = UINT64_MAX - 2;
	expect(&q, BLKIF_RSP_ERROR, "wrapping sector");
	q = one(BLKIF_OP_READ, 5000);
	expect(&q, BLKIF_RSP_ERROR, "gref beyond the table");
	q = one(BLKIF_OP_READ, ungranted);
	expect(&q, BLKIF_RSP_ERROR, "gref not granted");
	q = one(BLKIF_OP_READ, foreign);
	expect(&q, BLKIF_RSP_ERROR, "gref granted to another domain");
	q = one(BLKIF_OP_READ, ro);
	expect(&q, BLKIF_RSP_ERROR, "a read into a read-only grant");
	/* writes from pages that are not granted to us: nothing of them reaches the image */
	memset(bbf_page(&fe, data + 6), 0xee, 4096);
	q = one(BLKIF_OP_WRITE, ungranted);
	expect(&q, BLKIF_RSP_ERROR, "a write from an ungranted page");
	q = one(BLKIF_OP_WRITE, foreign);
	expect(&q, BLKIF_RSP_ERROR, "a write from a page granted to another domain");
	q = one(BLKIF_OP_WRITE, 2047);
	expect(&q, BLKIF_RSP_ERROR, "a write from the last, empty grant entry");
	memset(bbf_page(&fe, data + 6), CANARY, 4096);
	/* a second segment that fails after a good first one: nothing is read into either */
	q = one(BLKIF_OP_READ, ref);
	q.nr_segments = 2;
	q.seg[1] = (struct blkif_request_segment){ .gref = ungranted, .first_sect = 0, .last_sect = 7 };
	expect(&q, BLKIF_RSP_ERROR, "second segment ungranted");
	memset(&q, 0, sizeof(q));
	blkif_request_indirect_t *in = (void *)&q;
	in->operation = BLKIF_OP_INDIRECT;
	in->indirect_op = BLKIF_OP_READ;
	in->nr_segments = 300;
	in->id = HOSTILE_ID;
	expect(&q, BLKIF_RSP_ERROR, "300 indirect segments");
	in->nr_segments = 4;
	in->indirect_grefs[0] = ungranted;
	expect(&q, BLKIF_RSP_ERROR, "indirect page not granted");
	in->indirect_op = BLKIF_OP_DISCARD;
	expect(&q, BLKIF_RSP_ERROR, "indirect discard");

	for (int p = -1; p <= 1; p++)
		for (unsigned i = 0; i < 4096; i++)
			cr_assert_eq(((uint8_t *)bbf_page(&fe, data + p))[i], CANARY,
			    "page %+d of the data page written at byte %u", p, i);
	for (uint64_t p = data + 3; p <= data + 6; p++)
		for (unsigned i = 0; i < 4096; i++)
			cr_assert_eq(((uint8_t *)bbf_page(&fe, p))[i], CANARY, "pfn %llu written",
			    (unsigned long long)p);
	after = slurp(img);
	cr_assert_arr_eq(after, before, 4 << 20, "the image changed");
	/* and the device still works: one good sector, exactly where asked */
	memset(bbf_page(&fe, data), 0x3c, 4096);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 16, data, 1), BLKIF_RSP_OKAY);
	free(after);
	after = slurp(img);
	memset(before + 16 * 512, 0x3c, 512);
	cr_assert_arr_eq(after, before, 4 << 20, "a one-sector write touched more than its sector");
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_READ, 1024, data, 8), BLKIF_RSP_OKAY);
	cr_assert_arr_eq(bbf_page(&fe, data), before + 1024 * 512, 4096);
	for (int p = -1; p <= 1; p += 2)
		for (unsigned i = 0; i < 4096; i++)
			cr_assert_eq(((uint8_t *)bbf_page(&fe, data + p))[i], CANARY);
	free(before);
	free(after);
	cr_assert_eq(bbf_be_state(&fe), 4, "the device did not survive bad requests");
}

Test(hostile, runaway_producer_closes_only_that_device)
{
	blkif_sring_t *s = fe.f_ring[0].sring;
	char *err;

	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 0, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	__atomic_store_n(&s->req_prod, s->rsp_prod + 1000, __ATOMIC_RELEASE);
	hv_evtchn_notify(fe.f_xce, fe.f_bell);
	cr_assert_eq(bbf_wait_be(&fe, 6, 5000), 0, "a malformed ring did not close the device "
	    "(state %d)", bbf_be_state(&fe));
	err = bbf_be_read(&fe, "hotplug-error");
	cr_expect(err && strstr(err, "malformed ring"), "hotplug-error: %s", err);
	free(err);
	cr_assert_eq(kill(st.s_pid[STACK_BLKBACK], 0), 0, "blkback died");
	/* another domain's disk carries on */
	cr_assert_eq(bbf_be_state(&other), 4);
	memset(bbf_page(&other, BBF_PFN_DATA), 0x77, 4096);
	cr_assert_eq(bbf_rw(&other, 0, BLKIF_OP_WRITE, 64, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	cr_assert_eq(bbf_rw(&other, 0, BLKIF_OP_READ, 64, BBF_PFN_DATA + 1, 8), BLKIF_RSP_OKAY);
	cr_assert_arr_eq(bbf_page(&other, BBF_PFN_DATA + 1), bbf_page(&other, BBF_PFN_DATA), 4096);
	/* and the hostile frontend may start over: Initialising gets InitWait again */
	bbf_fe_state(&fe, 6);
	bbf_fe_state(&fe, 1);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0, "no InitWait for a frontend that starts over");
	bbf_connect(&fe, 1, 0, false, 4);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_READ, 0, BBF_PFN_DATA + 1, 8), BLKIF_RSP_OKAY);
}

Test(hostile, bad_ring_keys)
{
	char *err;

	bbf_close(&fe);
	bbf_fe_state(&fe, 1);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0);
	char p[192];
	snprintf(p, sizeof(p), "%s/ring-page-order", fe.f_fe);
	cr_assert_eq(xs_write(st.s_xs, XS_TX_NONE, p, "9", 1), 0);
	bbf_fe_state(&fe, 3);
	cr_assert_eq(bbf_wait_be(&fe, 6, 5000), 0, "state %d", bbf_be_state(&fe));
	err = bbf_be_read(&fe, "hotplug-error");
	cr_expect(err && strstr(err, "ring-page-order"), "hotplug-error: %s", err);
	free(err);
	cr_assert_eq(kill(st.s_pid[STACK_BLKBACK], 0), 0, "blkback died");
}
