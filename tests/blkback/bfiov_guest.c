/*
 * A test kernel for blkfront's iovec path against a real blkback: the disk
 * whose device number starts the command line is written and read back
 * through iovecs with segments of odd sizes (1, 3, 511, 4097 bytes, empty
 * ones ...), synchronously (blkfront_rwv, split over several requests) and
 * asynchronously (more requests than the ring has slots or the pool pages,
 * those refused with EAGAIN queued again from completions, which come in
 * whatever order blkback answers). It reports "BFIOV <what>" lines on its
 * console; test_blk_guest.c compares the image with bfiov.h's bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bfiov.h"
#include "blkfront.h"
#include "guest.h"
#include "hv_elfnote.h"

HV_GUEST_ELFNOTE();

static struct guest g;
static struct blkfront *bf;
static unsigned fails;

/* Segment sizes the data is cut into, cycled; writes and reads differ. */
static const size_t bfiov_odd_w[] = { 1, 511, 513, 4095, 4097, 3, 0, 65541, 7, 12345 };
static const size_t bfiov_odd_r[] = { 4096, 1000, 2, 9001, 0, 511, 131073, 17 };

/* A failed check, on the console for the test to show. */
static void
bfiov_fail(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	console_printf(g.g_cons, "BFIOV FAIL %s\n", line);
	fails++;
}

/* Cuts [0, len + extra) of buf into segments of the sizes cycled from
 * sizes[first]; the array is malloc'd, its length in *cnt. */
static struct iovec *
bfiov_cut(uint8_t *buf, size_t len, const size_t *sizes, unsigned nsizes, unsigned first,
    unsigned *cnt)
{
	size_t cap = 16, pos = 0;
	struct iovec *iov = malloc(cap * sizeof(*iov));

	*cnt = 0;
	for (unsigned i = first; pos < len; i++) {
		size_t k = sizes[i % nsizes];
		if (k > len - pos)
			k = len - pos;
		if (*cnt == cap)
			iov = realloc(iov, (cap *= 2) * sizeof(*iov));
		iov[(*cnt)++] = (struct iovec){ buf + pos, k };
		pos += k;
	}
	return iov;
}

/* The bytes bfiov.h says [sector, sector + nsect) holds after pass seed. */
static void
bfiov_fill(uint8_t *buf, uint64_t sector, uint64_t nsect, unsigned seed)
{
	for (uint64_t i = 0; i < nsect * 512; i++)
		buf[i] = bfiov_byte(sector * 512 + i, seed);
}

/* The first byte of buf that is not what pass seed wrote, or -1. */
static long long
bfiov_diff(const uint8_t *buf, uint64_t sector, uint64_t nsect, unsigned seed)
{
	for (uint64_t i = 0; i < nsect * 512; i++) {
		if (buf[i] != bfiov_byte(sector * 512 + i, seed))
			return (long long)i;
	}
	return -1;
}

/* Region A: one write and one read of several requests' worth, the write's
 * iovecs reaching past the data (only the data goes), then what is refused. */
static void
bfiov_sync(void)
{
	size_t len = BFIOV_A_NSECT * 512;
	uint8_t *w = malloc(len + 100), *r = calloc(1, len);
	unsigned nw, nr;
	struct iovec *wi = bfiov_cut(w, len + 100, bfiov_odd_w, 10, 0, &nw);
	struct iovec *ri = bfiov_cut(r, len, bfiov_odd_r, 8, 0, &nr);

	bfiov_fill(w, BFIOV_A_SECTOR, BFIOV_A_NSECT, 1);
	memset(w + len, 0xee, 100);
	if (blkfront_rwv(bf, BLKIF_OP_WRITE, BFIOV_A_SECTOR, BFIOV_A_NSECT, wi, nw) < 0)
		bfiov_fail("sync write: %s", strerror(errno));
	if (blkfront_rwv(bf, BLKIF_OP_READ, BFIOV_A_SECTOR, BFIOV_A_NSECT, ri, nr) < 0)
		bfiov_fail("sync read: %s", strerror(errno));
	long long d = bfiov_diff(r, BFIOV_A_SECTOR, BFIOV_A_NSECT, 1);
	if (d >= 0)
		bfiov_fail("sync read back differs at byte %lld", d);
	else
		console_printf(g.g_cons, "BFIOV sync ok %llu sectors, %u and %u segments, "
		    "%u sectors per request\n", BFIOV_A_NSECT, nw, nr, blkfront_max_sectors(bf));

	struct iovec shorter = { w, 511 };
	int rc = blkfront_rwv(bf, BLKIF_OP_WRITE, 0, 1, &shorter, 1);
	struct blkfront_io both = { .bio_op = BLKIF_OP_WRITE, .bio_nsect = 1, .bio_buf = w,
		.bio_iov = wi, .bio_iovcnt = nw };
	int rc2 = blkfront_queue(bf, &both);
	int e2 = errno;
	struct blkfront_io past = { .bio_op = BLKIF_OP_READ, .bio_nsect = 1, .bio_iov = ri,
		.bio_iovcnt = nr, .bio_iovoff = len - 511 };
	int rc3 = blkfront_queue(bf, &past);
	int e3 = errno;
	if (rc == 0 || rc2 == 0 || rc3 == 0 || e2 != EINVAL || e3 != EINVAL)
		bfiov_fail("refusals: %d %d %d (%d %d)", rc, rc2, rc3, e2, e3);
	else
		console_printf(g.g_cons, "BFIOV refused EINVAL\n");
	free(wi);
	free(ri);
	free(w);
	free(r);
}

/* One asynchronous request of region B with its own iovecs. */
struct bfiov_req {
	struct blkfront_io rq_io;
	struct iovec *rq_iov;		/* writes: cut for this request alone */
	unsigned rq_idx;
	bool rq_done;
	struct bfiov_req *rq_next;	/* refused with EAGAIN, waiting */
};

static struct bfiov_req *bfiov_wait_head, **bfiov_wait_tail = &bfiov_wait_head;
static unsigned bfiov_nreq, bfiov_ndone, bfiov_eagain, bfiov_late, bfiov_top;

/* Queues what waits, in order, until the disk refuses again. */
static void
bfiov_retry(void)
{
	struct bfiov_req *r;

	while ((r = bfiov_wait_head) != NULL) {
		if (blkfront_queue(bf, &r->rq_io) < 0) {
			if (errno == EAGAIN) {
				bfiov_eagain++;
				return;
			}
			bfiov_fail("queue %u again: %s", r->rq_idx, strerror(errno));
			r->rq_done = true;
			bfiov_ndone++;
		}
		bfiov_wait_head = r->rq_next;
		if (bfiov_wait_head == NULL)
			bfiov_wait_tail = &bfiov_wait_head;
	}
}

/* A new request goes behind those waiting, so they keep their order. */
static void
bfiov_submit(struct bfiov_req *r)
{
	if (bfiov_wait_head == NULL && blkfront_queue(bf, &r->rq_io) == 0)
		return;
	if (bfiov_wait_head == NULL && errno != EAGAIN) {
		bfiov_fail("queue %u: %s", r->rq_idx, strerror(errno));
		r->rq_done = true;
		bfiov_ndone++;
		return;
	}
	bfiov_eagain += bfiov_wait_head == NULL;	/* those behind it were not tried */
	r->rq_next = NULL;
	*bfiov_wait_tail = r;
	bfiov_wait_tail = &r->rq_next;
}

/* The callback: its own request, once, without error; then what waits. */
static void
bfiov_done(struct blkfront_io *io, void *arg)
{
	struct bfiov_req *r = arg;

	if (io != &r->rq_io)
		bfiov_fail("request %u called back with another's io", r->rq_idx);
	if (r->rq_done)
		bfiov_fail("request %u completed twice", r->rq_idx);
	if (io->bio_error != 0)
		bfiov_fail("request %u: %s", r->rq_idx, strerror(io->bio_error));
	r->rq_done = true;
	bfiov_ndone++;
	if (bfiov_ndone > 1 && r->rq_idx < bfiov_top)
		bfiov_late++;
	if (r->rq_idx > bfiov_top || bfiov_ndone == 1)
		bfiov_top = r->rq_idx;
	bfiov_retry();
}

static bool
bfiov_all_done(void *arg)
{
	(void)arg;
	return bfiov_ndone == bfiov_nreq;
}

/* Region B's requests: as large as the disk takes, then small ones. */
static struct bfiov_req *
bfiov_plan(unsigned *n)
{
	uint64_t max = blkfront_max_sectors(bf), s = BFIOV_B_SECTOR;
	unsigned cap = (unsigned)(BFIOV_B_BIG / max + 1 + BFIOV_B_SMALL);
	struct bfiov_req *rq = calloc(cap, sizeof(*rq));

	*n = 0;
	for (uint64_t end = BFIOV_B_SECTOR + BFIOV_B_BIG; s < end; (*n)++) {
		rq[*n].rq_io.bio_sector = s;
		rq[*n].rq_io.bio_nsect = (uint32_t)(end - s < max ? end - s : max);
		s += rq[*n].rq_io.bio_nsect;
	}
	for (unsigned i = 0; i < BFIOV_B_SMALL; i++, (*n)++) {
		rq[*n].rq_io.bio_sector = s;
		rq[*n].rq_io.bio_nsect = i % 8 + 1;
		s += rq[*n].rq_io.bio_nsect;
	}
	for (unsigned i = 0; i < *n; i++) {
		rq[i].rq_idx = i;
		rq[i].rq_io.bio_done = bfiov_done;
		rq[i].rq_io.bio_arg = &rq[i];
	}
	return rq;
}

/* Runs every request of rq (from the last when reverse), all queued before
 * the first completion can run; -1 if they did not all finish. */
static int
bfiov_run(struct bfiov_req *rq, unsigned n, bool reverse)
{
	bfiov_nreq = n;
	bfiov_ndone = bfiov_eagain = bfiov_late = bfiov_top = 0;
	for (unsigned i = 0; i < n; i++) {
		rq[i].rq_done = false;
		rq[i].rq_idx = reverse ? n - 1 - i : i;	/* its place in submission order */
	}
	for (unsigned i = 0; i < n; i++)
		bfiov_submit(&rq[reverse ? n - 1 - i : i]);
	blkfront_kick(bf);
	if (events_wait(g.g_ev, bfiov_all_done, NULL, 60000) < 0) {
		bfiov_fail("%u of %u requests finished", bfiov_ndone, n);
		return -1;
	}
	return 0;
}

/* Region B: writes with iovecs of their own, then reads into one buffer
 * through one iovec for the whole region, each request at its offset in it. */
static void
bfiov_async(void)
{
	size_t len = BFIOV_B_NSECT * 512;
	uint8_t *w = malloc(len), *r = calloc(1, len);
	unsigned n, nr;
	struct bfiov_req *rq = bfiov_plan(&n);

	bfiov_fill(w, BFIOV_B_SECTOR, BFIOV_B_NSECT, 2);
	for (unsigned i = 0; i < n; i++) {
		struct blkfront_io *io = &rq[i].rq_io;
		unsigned cnt;
		io->bio_op = BLKIF_OP_WRITE;
		rq[i].rq_iov = bfiov_cut(w + (io->bio_sector - BFIOV_B_SECTOR) * 512,
		    (size_t)io->bio_nsect * 512, bfiov_odd_w, 10, i, &cnt);
		io->bio_iov = rq[i].rq_iov;
		io->bio_iovcnt = cnt;
	}
	if (bfiov_run(rq, n, false) == 0)
		console_printf(g.g_cons, "BFIOV async write ok %u requests, EAGAIN %u times, "
		    "%u completed after a later one\n", n, bfiov_eagain, bfiov_late);

	struct iovec *ri = bfiov_cut(r, len, bfiov_odd_r, 8, 3, &nr);
	for (unsigned i = 0; i < n; i++) {
		struct blkfront_io *io = &rq[i].rq_io;
		io->bio_op = BLKIF_OP_READ;
		io->bio_iov = ri;
		io->bio_iovcnt = nr;
		io->bio_iovoff = (io->bio_sector - BFIOV_B_SECTOR) * 512;
	}
	if (bfiov_run(rq, n, true) == 0) {
		long long d = bfiov_diff(r, BFIOV_B_SECTOR, BFIOV_B_NSECT, 2);
		if (d >= 0)
			bfiov_fail("async read back differs at byte %lld", d);
		else
			console_printf(g.g_cons, "BFIOV async read ok %u requests, EAGAIN %u "
			    "times, %u completed after a later one\n", n, bfiov_eagain,
			    bfiov_late);
	}
	for (unsigned i = 0; i < n; i++)
		free(rq[i].rq_iov);
	free(rq);
	free(ri);
	free(w);
	free(r);
}

int
main(void)
{
	char why[160], devid[16];

	if (guest_boot(&g) < 0)
		return 1;
	snprintf(devid, sizeof(devid), "%.*s", (int)strcspn((const char *)g.g_start.cmd_line, " "),
	    (const char *)g.g_start.cmd_line);
	console_printf(g.g_cons, "BFIOV start %s\n", devid);
	bf = blkfront_open(&g, devid, 20000, why, sizeof(why));
	if (bf == NULL) {
		console_printf(g.g_cons, "BFIOV FAIL open %s: %s (%s)\n", devid, why,
		    strerror(errno));
	} else {
		bfiov_sync();
		bfiov_async();
		if (blkfront_info(bf)->bi_flush && blkfront_flush(bf) < 0)
			bfiov_fail("flush: %s", strerror(errno));
	}
	console_printf(g.g_cons, "BFIOV done, %u failed\n", fails);
	for (;;)			/* the test reads the image, then destroys us */
		events_poll(g.g_ev, -1);
}
