/* blkback's request path: data through the ring lands in the image file byte
 * for byte and back, on ext4 (O_DIRECT) and tmpfs (buffered); several queues
 * with multi-page rings; indirect requests; flush; discard punching holes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bbfront.h"
#include "libhv.h"
#include "xs.h"

static struct stack st;
static struct bbfront fe;
static char img[160];

/* A sparse image of mib MiB in dir (the rundir when NULL). */
static void
make_image(const char *dir, unsigned mib)
{
	snprintf(img, sizeof(img), "%s/disk.img", dir ? dir : st.s_rundir);
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", img, strerror(errno));
	cr_assert_eq(ftruncate(fd, (off_t)mib << 20), 0);
	close(fd);
}

static void
setup(void)
{
	cr_assert(stack_have(STACK_WITH(STACK_BLKBACK)), "blkback is not built");
	stack_start(&st, "blkback-io", STACK_WITH(STACK_BLKBACK));
	bbf_domain(&fe, &st);
}

static void
teardown(void)
{
	bbf_destroy(&fe);
	stack_stop(&st);
}

TestSuite(io, .init = setup, .fini = teardown, .timeout = 90);

/* Attaches the image and connects nq queues of 2^order pages. */
static void
attach(unsigned nq, unsigned order, bool persistent)
{
	bbf_devdirs(&fe, 51712, img, "w", NULL);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0, "no InitWait (state %d)", bbf_be_state(&fe));
	bbf_connect(&fe, nq, order, persistent, 4);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0, "no Connected (state %d)", bbf_be_state(&fe));
}

/* Fills a page with a pattern made of seed. */
static void
fill(uint8_t *p, unsigned seed)
{
	for (unsigned i = 0; i < 4096; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

/* The image's bytes at sector. */
static void
file_read(uint64_t sector, void *buf, size_t len)
{
	int fd = open(img, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, len, sector * 512), (ssize_t)len);
	close(fd);
}

/* Writes pages through every queue, checks the file, writes the file, reads it back through the ring. */
static void
roundtrip(void)
{
	uint8_t want[4096], got[4096];

	for (unsigned q = 0; q < fe.f_nq; q++) {
		for (unsigned i = 0; i < 8; i++) {
			uint64_t sector = (q * 64 + i * 8) + 1000 * i;
			fill(bbf_page(&fe, BBF_PFN_DATA + i), q * 100 + i);
			cr_assert_eq(bbf_rw(&fe, q, BLKIF_OP_WRITE, sector, BBF_PFN_DATA + i, 8),
			    BLKIF_RSP_OKAY, "write q%u sector %llu", q, (unsigned long long)sector);
			file_read(sector, got, 4096);
			cr_assert_arr_eq(got, bbf_page(&fe, BBF_PFN_DATA + i), 4096,
			    "the image does not hold what queue %u wrote at sector %llu", q,
			    (unsigned long long)sector);
		}
	}
	int fd = open(img, O_WRONLY);
	fill(want, 4242);
	cr_assert_eq(pwrite(fd, want, 4096, 2048 * 512), 4096);
	close(fd);
	for (unsigned q = 0; q < fe.f_nq; q++) {
		memset(bbf_page(&fe, BBF_PFN_DATA + 20), 0, 4096);
		cr_assert_eq(bbf_rw(&fe, q, BLKIF_OP_READ, 2048, BBF_PFN_DATA + 20, 8), BLKIF_RSP_OKAY);
		cr_assert_arr_eq(bbf_page(&fe, BBF_PFN_DATA + 20), want, 4096,
		    "queue %u read something else than the image holds", q);
	}
}

Test(io, ext4_direct_one_queue)
{
	make_image(NULL, 16);
	attach(1, 0, false);
	roundtrip();
}

Test(io, tmpfs_buffered_persistent)
{
	char dir[] = "/dev/shm/blkback-io-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	make_image(dir, 16);
	attach(1, 0, true);
	roundtrip();
	bbf_detach(&fe, 5000);
	bbf_close(&fe);
	unlink(img);
	rmdir(dir);
}

Test(io, multiqueue_multipage)
{
	make_image(NULL, 32);
	attach(2, 2, true);
	cr_assert_eq(RING_SIZE(&fe.f_ring[0]), 128);
	roundtrip();
}

Test(io, partial_sectors_and_flush)
{
	uint8_t got[4096];
	blkif_request_t req = { .operation = BLKIF_OP_WRITE, .nr_segments = 2, .id = 9,
	    .sector_number = 100 };
	blkif_response_t rsp;

	make_image(NULL, 16);
	attach(1, 0, false);
	fill(bbf_page(&fe, BBF_PFN_DATA), 1);
	fill(bbf_page(&fe, BBF_PFN_DATA + 1), 2);
	/* sectors 3..7 of one page, then 0..1 of the next: 7 sectors at 100 */
	req.seg[0] = (struct blkif_request_segment){ bbf_ref(&fe, BBF_PFN_DATA), 3, 7 };
	req.seg[1] = (struct blkif_request_segment){ bbf_ref(&fe, BBF_PFN_DATA + 1), 0, 1 };
	bbf_push(&fe, 0, &req);
	cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 5000), 0);
	cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
	file_read(100, got, 7 * 512);
	cr_assert_arr_eq(got, (uint8_t *)bbf_page(&fe, BBF_PFN_DATA) + 3 * 512, 5 * 512);
	cr_assert_arr_eq(got + 5 * 512, bbf_page(&fe, BBF_PFN_DATA + 1), 2 * 512);
	/* a flush alone */
	memset(&req, 0, sizeof(req));
	req.operation = BLKIF_OP_FLUSH_DISKCACHE;
	req.id = 10;
	bbf_push(&fe, 0, &req);
	cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 5000), 0);
	cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
	cr_assert_eq(rsp.id, 10);
	cr_assert_eq(rsp.operation, BLKIF_OP_FLUSH_DISKCACHE);
}

Test(io, indirect_one_mib)
{
	blkif_request_t req;
	blkif_request_indirect_t *in = (void *)&req;
	struct blkif_request_segment *segs = bbf_page(&fe, BBF_PFN_DATA - 1);
	static uint8_t got[256 * 4096];
	blkif_response_t rsp;

	make_image(NULL, 16);
	attach(1, 0, true);
	memset(&req, 0, sizeof(req));
	in->operation = BLKIF_OP_INDIRECT;
	in->indirect_op = BLKIF_OP_WRITE;
	in->nr_segments = 256;
	in->id = 0x1d;
	in->sector_number = 4096;
	in->indirect_grefs[0] = bbf_grant(&fe, BBF_PFN_DATA - 1, true);
	for (unsigned i = 0; i < 256; i++) {
		fill(bbf_page(&fe, BBF_PFN_DATA + 256 + i), i + 7);
		segs[i] = (struct blkif_request_segment){ bbf_ref(&fe, BBF_PFN_DATA + 256 + i), 0, 7 };
	}
	bbf_push(&fe, 0, &req);
	cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 5000), 0);
	cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
	cr_assert_eq(rsp.operation, BLKIF_OP_WRITE, "the response names indirect_op");
	file_read(4096, got, sizeof(got));
	cr_assert_arr_eq(got, bbf_page(&fe, BBF_PFN_DATA + 256), sizeof(got),
	    "1 MiB indirect write differs in the image");
}

Test(io, discard_punches_holes)
{
	struct stat sb;
	blkif_request_t req;
	blkif_request_discard_t *d = (void *)&req;
	blkif_response_t rsp;
	uint8_t zero[4096] = { 0 }, got[4096];
	blkcnt_t before;

	make_image(NULL, 16);
	attach(1, 0, false);
	for (unsigned i = 0; i < 64; i++) {
		fill(bbf_page(&fe, BBF_PFN_DATA), i);
		cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 8192 + i * 8, BBF_PFN_DATA, 8), 0);
	}
	cr_assert_eq(stat(img, &sb), 0);
	before = sb.st_blocks;
	cr_assert_geq(before, 64 * 8, "the writes did not allocate");
	memset(&req, 0, sizeof(req));
	d->operation = BLKIF_OP_DISCARD;
	d->id = 0xd15c;
	d->sector_number = 8192;
	d->nr_sectors = 64 * 8;
	bbf_push(&fe, 0, &req);
	cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 5000), 0);
	cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
	cr_assert_eq(stat(img, &sb), 0);
	cr_assert_leq(sb.st_blocks, before - 64 * 8, "no hole: %lld blocks before, %lld after",
	    (long long)before, (long long)sb.st_blocks);
	file_read(8192 + 8, got, 4096);
	cr_assert_arr_eq(got, zero, 4096);
}

Test(io, block_device)
{
	char cmd[256], dev[64] = "", params[80];
	uint8_t got[4096];
	FILE *p;

	make_image(NULL, 16);
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", img);
	cr_assert_not_null(p = popen(cmd, "r"));
	cr_assert_not_null(fgets(dev, sizeof(dev), p), "losetup gave no device");
	pclose(p);
	dev[strcspn(dev, "\n")] = '\0';
	snprintf(params, sizeof(params), "phy:%s", dev);
	bbf_devdirs(&fe, 51712, params, "w", NULL);
	int connected = bbf_wait_be(&fe, 2, 5000) == 0;
	if (connected) {
		bbf_connect(&fe, 1, 0, true, 4);
		connected = bbf_wait_be(&fe, 4, 5000) == 0;
	}
	char *sectors = bbf_be_read(&fe, "sectors");
	if (connected) {
		fill(bbf_page(&fe, BBF_PFN_DATA), 99);
		cr_expect_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 512, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
		bbf_detach(&fe, 0);
		bbf_close(&fe);
	}
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	cr_expect_eq(system(cmd), 0, "%s", cmd);
	cr_assert(connected, "%s did not connect (state %d)", dev, bbf_be_state(&fe));
	cr_expect(sectors && strcmp(sectors, "32768") == 0, "sectors %s", sectors);
	free(sectors);
	file_read(512, got, 4096);
	cr_assert_arr_eq(got, bbf_page(&fe, BBF_PFN_DATA), 4096, "the write did not reach %s", img);
}

Test(io, empty_cdrom)
{
	char *v;

	bbf_devdirs(&fe, 5632, "", "r", (const char *const[]){ "device-type=cdrom", NULL });
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0, "an empty cdrom did not reach InitWait");
	bbf_connect(&fe, 1, 0, false, 4);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0);
	v = bbf_be_read(&fe, "info");
	cr_expect(v && atoi(v) == (VDISK_CDROM | VDISK_REMOVABLE | VDISK_READONLY), "info %s", v);
	free(v);
	v = bbf_be_read(&fe, "sectors");
	cr_expect(v && strcmp(v, "0") == 0, "sectors %s", v);
	free(v);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_READ, 0, BBF_PFN_DATA, 8), BLKIF_RSP_ERROR,
	    "a read from an empty drive succeeded");
}

/* Events that reached the test from the backend (through the relay guest) since the last call. */
static int
events(int ms)
{
	struct pollfd p = { .fd = hv_evtchn_fd(fe.f_xce), .events = POLLIN };
	int n = 0;

	poll(&p, 1, ms);
	while (hv_evtchn_pending(fe.f_xce) >= 0)
		n++;
	return n;
}

Test(io, notifications_follow_ring_rules)
{
	blkif_front_ring_t *r = &fe.f_ring[0];
	blkif_request_t q;

	make_image(NULL, 16);
	attach(1, 0, false);
	events(50);
	/* the frontend does not wait for responses: no event however many are pushed */
	__atomic_store_n(&r->sring->rsp_event, r->rsp_cons + 1000, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < 8; i++) {
		q = (blkif_request_t){ .operation = BLKIF_OP_READ, .nr_segments = 1, .id = i,
		    .sector_number = i * 8 };
		q.seg[0] = (struct blkif_request_segment){ bbf_ref(&fe, BBF_PFN_DATA + i), 0, 7 };
		memcpy(RING_GET_REQUEST(r, r->req_prod_pvt), &q, sizeof(q));
		r->req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(r);
	hv_evtchn_notify(fe.f_xce, fe.f_bell);
	for (long long end = stack_now_ms() + 5000; r->sring->rsp_prod != r->rsp_cons + 8;) {
		cr_assert_lt(stack_now_ms(), end, "responses did not come");
		usleep(500);
	}
	r->rsp_cons += 8;
	cr_assert_eq(events(300), 0, "the backend notified a frontend that was not waiting");
	/* the backend re-armed req_event once it had taken everything */
	cr_assert_eq(r->sring->req_event, r->req_prod_pvt + 1, "req_event %u, req_prod %u",
	    r->sring->req_event, r->req_prod_pvt);
	/* a waiting frontend gets one */
	r->sring->rsp_event = r->rsp_cons + 1;
	q.id = 99;
	bbf_push(&fe, 0, &q);
	cr_assert_geq(events(2000), 1, "no event for a frontend waiting for its response");
	cr_assert_eq(r->sring->rsp_prod, r->rsp_cons + 1);
}
