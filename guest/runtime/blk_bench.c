#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blk_bench.h"
#include "blkfront_req.h"
#include "xmalloc.h"

struct blk_bench;

/* One of QD units: its parts are the requests that carry it. */
struct blk_bench_unit {
	struct blk_bench *u_bench;
	struct blkfront_io *u_parts;
	unsigned u_next;		/* next part to queue */
	unsigned u_left;		/* parts not completed */
	uint64_t u_sector;
	bool u_active;
	bool u_error;			/* a part failed */
};

struct blk_bench {
	struct blkfront *b_bf;
	const struct blk_bench_params *b_p;
	struct blk_bench_result *b_r;
	struct blk_bench_unit *b_units;
	unsigned b_nparts;		/* parts per unit */
	uint32_t b_part_sect;		/* sectors per part (the last may be shorter) */
	uint64_t b_blocks;		/* BS-sized blocks on the disk */
	uint64_t b_cursor;		/* sequential: next block */
	uint64_t b_rand;
	long long b_start, b_deadline, b_last;
	unsigned b_active;
	bool b_stopping;
};

uint64_t
blk_bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

uint32_t
blk_bench_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || s[0] == '-')
		return 0;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end == 'i' || *end == 'B')	/* "4KiB", "4KB" */
		end += end[0] == 'i' && end[1] == 'B' ? 2 : 1;
	return *end == '\0' && v > 0 && v <= (64u << 20) ? (uint32_t)v : 0;
}

/* The block the next unit covers. */
static uint64_t
blk_bench_block(struct blk_bench *b)
{
	if (b->b_p->bp_random)
		return blk_bench_rand(&b->b_rand) % b->b_blocks;
	uint64_t blk = b->b_cursor;
	b->b_cursor = (b->b_cursor + 1) % b->b_blocks;
	return blk;
}

/* Queues what is left of u's parts; EAGAIN leaves the rest for later. */
static void
blk_bench_push(struct blk_bench *b, struct blk_bench_unit *u)
{
	while (u->u_next < b->b_nparts) {
		if (blkfront_queue(b->b_bf, &u->u_parts[u->u_next]) < 0) {
			if (errno == EAGAIN)
				return;
			if (b->b_r->br_error == 0)
				b->b_r->br_error = errno;
			b->b_stopping = true;
			/* parts never queued will never complete */
			u->u_left -= b->b_nparts - u->u_next;
			u->u_next = b->b_nparts;
			break;
		}
		u->u_next++;
	}
	if (u->u_left == 0 && u->u_active) {
		u->u_active = false;
		b->b_active--;
	}
}

static void blk_bench_done(struct blkfront_io *io, void *arg);

/* Starts u on a fresh block. */
static void
blk_bench_start(struct blk_bench *b, struct blk_bench_unit *u)
{
	uint32_t unit_sect = b->b_p->bp_bs / 512;
	uint64_t sector = blk_bench_block(b) * unit_sect;

	u->u_sector = sector;
	u->u_error = false;
	u->u_next = 0;
	u->u_left = b->b_nparts;
	for (unsigned i = 0; i < b->b_nparts; i++) {
		struct blkfront_io *io = &u->u_parts[i];
		uint32_t off = i * b->b_part_sect;
		memset(io, 0, sizeof(*io));
		io->bio_op = b->b_p->bp_op;
		io->bio_sector = sector + off;
		io->bio_nsect = unit_sect - off < b->b_part_sect ? unit_sect - off : b->b_part_sect;
		io->bio_done = blk_bench_done;
		io->bio_arg = u;
	}
	if (!u->u_active) {
		u->u_active = true;
		b->b_active++;
	}
	blk_bench_push(b, u);
}

/* Units held back by EAGAIN get their turn after each completion. */
static void
blk_bench_retry(struct blk_bench *b)
{
	for (unsigned i = 0; i < b->b_p->bp_qd; i++) {
		struct blk_bench_unit *u = &b->b_units[i];
		if (u->u_active && u->u_next < b->b_nparts)
			blk_bench_push(b, u);
	}
}

/* A whole unit is in: it counts, and starts again until the deadline. */
static void
blk_bench_finish(struct blk_bench *b, struct blk_bench_unit *u)
{
	b->b_last = events_now_ms();
	if (!u->u_error) {
		b->b_r->br_ios++;
		b->b_r->br_bytes += b->b_p->bp_bs;
	}
	if (b->b_stopping || b->b_last >= b->b_deadline) {
		b->b_stopping = true;
		u->u_active = false;
		b->b_active--;
	} else {
		blk_bench_start(b, u);
	}
}

/* Once stopping, parts not yet queued never will be. */
static void
blk_bench_abandon(struct blk_bench *b, struct blk_bench_unit *u)
{
	if (u->u_next < b->b_nparts) {
		u->u_left -= b->b_nparts - u->u_next;
		u->u_next = b->b_nparts;
		if (u->u_left == 0 && u->u_active) {
			u->u_active = false;
			b->b_active--;
		}
	}
}

/* A part completed. */
static void
blk_bench_done(struct blkfront_io *io, void *arg)
{
	struct blk_bench_unit *u = arg;
	struct blk_bench *b = u->u_bench;

	if (io->bio_error != 0) {
		u->u_error = true;
		if (b->b_r->br_error == 0)
			b->b_r->br_error = io->bio_error;
		b->b_stopping = true;
	}
	u->u_left--;
	if (b->b_stopping && u->u_next < b->b_nparts) {
		u->u_left -= b->b_nparts - u->u_next;
		u->u_next = b->b_nparts;
	}
	if (u->u_left == 0 && u->u_next == b->b_nparts)
		blk_bench_finish(b, u);
	if (!b->b_stopping)
		blk_bench_retry(b);
}

/* Looks at the rings for up to spin_us before the loop sleeps: a
 * response that comes meanwhile is taken and its unit refilled at once, so
 * the backend finds new requests before it goes to sleep, and neither side
 * pays a wake-up per batch (about 20 us each way on these machines). While
 * we look, the backend is asked for no notification. */
static int
blk_bench_spin(struct blkfront *bf, unsigned spin_us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int n = blkfront_poll(bf, false);
		if (n != 0 || blkfront_inflight(bf) == 0)
			return n;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) <
	    spin_us * 1000LL);
	return blkfront_poll(bf, true);		/* re-armed before the loop sleeps */
}

/*
 * How long to poll, from the I/Os' mean latency over the last interval (by
 * Little's law: QD times the time over the I/Os done). Answers that come
 * within BLK_BENCH_FAST_US (the page cache; blkback watches its ring for
 * them too) are worth the whole POLL_US: the two sides then pass requests
 * and responses without a wake-up. A disk's answers are spread out by the
 * device: polling for them long takes the CPU the backend and the disk's
 * completions need on a small host, so it polls only about a wake-up's cost
 * (4k random QD32: 0.63-0.77 of fio polling 100 us, 0.85-0.89 polling 20;
 * the page cache 1.14 against 0.67).
 */
static unsigned
blk_bench_spin_window(const struct blk_bench_params *p, long long ms, unsigned long long ios)
{
	unsigned long long lat_us = (unsigned long long)p->bp_qd * (unsigned long long)ms * 1000 / ios;

	if (lat_us <= BLK_BENCH_FAST_US)
		return p->bp_spin_us;
	return p->bp_spin_us < BLK_BENCH_SPIN_SLOW_US ? p->bp_spin_us : BLK_BENCH_SPIN_SLOW_US;
}

/* Whether the parameters fit the disk and our limits. */
static int
blk_bench_check(struct blkfront *bf, const struct blk_bench_params *p)
{
	const struct blkfront_info *bi = blkfront_info(bf);

	if (p->bp_qd == 0 || p->bp_qd > BLK_BENCH_MAX_QD || p->bp_seconds == 0 ||
	    p->bp_bs == 0 || p->bp_bs % bi->bi_sector_size != 0 ||
	    p->bp_bs / 512 > bi->bi_sectors ||
	    (p->bp_op != BLKIF_OP_READ && p->bp_op != BLKIF_OP_WRITE)) {
		errno = EINVAL;
		return -1;
	}
	if (p->bp_op == BLKIF_OP_WRITE && bi->bi_readonly) {
		errno = EROFS;
		return -1;
	}
	return 0;
}

int
blk_bench_run(struct blkfront *bf, struct events *ev, const struct blk_bench_params *p,
    struct blk_bench_result *r)
{
	struct blk_bench b = { .b_bf = bf, .b_p = p, .b_r = r, .b_rand = 0x9e3779b97f4a7c15ull };

	memset(r, 0, sizeof(*r));
	if (blk_bench_check(bf, p) < 0)
		return -1;
	uint32_t unit_sect = p->bp_bs / 512;
	b.b_part_sect = blkfront_max_sectors(bf);
	b.b_nparts = (unit_sect + b.b_part_sect - 1) / b.b_part_sect;
	b.b_blocks = blkfront_info(bf)->bi_sectors / unit_sect;
	b.b_units = xcalloc(p->bp_qd, sizeof(*b.b_units));
	for (unsigned i = 0; i < p->bp_qd; i++) {
		b.b_units[i].u_bench = &b;
		b.b_units[i].u_parts = xcalloc(b.b_nparts, sizeof(struct blkfront_io));
	}
	b.b_start = b.b_last = events_now_ms();
	b.b_deadline = b.b_start + (long long)p->bp_seconds * 1000;
	for (unsigned i = 0; i < p->bp_qd; i++)
		blk_bench_start(&b, &b.b_units[i]);
	blkfront_kick(bf);
	long long quiet_since = events_now_ms(), mark_ms = quiet_since;
	unsigned long long mark_ios = 0;
	unsigned spin_us = p->bp_spin_us;
	while (b.b_active > 0) {
		unsigned long long before = r->br_ios;
		if (spin_us > 0 && blk_bench_spin(bf, spin_us) > 0)
			continue;
		if (events_poll(ev, blkfront_inflight(bf) ? 1000 : 0) < 0 && errno != EINTR) {
			r->br_error = errno;
			blkfront_abort(bf, errno, "event loop failed");
		}
		long long now = events_now_ms();
		if (now - mark_ms >= BLK_BENCH_LAT_MS && r->br_ios > mark_ios) {
			spin_us = blk_bench_spin_window(p, now - mark_ms, r->br_ios - mark_ios);
			mark_ms = now;
			mark_ios = r->br_ios;
		}
		if (r->br_ios != before || blkfront_inflight(bf) == 0)
			quiet_since = now;
		else if (now - quiet_since > BLKFRONT_IO_MS)
			blkfront_abort(bf, ETIMEDOUT, "no response in 30 s");
		if (now >= b.b_deadline)
			b.b_stopping = true;
		for (unsigned i = 0; b.b_stopping && i < p->bp_qd; i++)
			blk_bench_abandon(&b, &b.b_units[i]);
	}
	r->br_ms = b.b_last - b.b_start;
	for (unsigned i = 0; i < p->bp_qd; i++)
		free(b.b_units[i].u_parts);
	free(b.b_units);
	return 0;
}
