/*
 * blk bench's engine: QD units of BS bytes kept in flight for SECONDS on one
 * disk, random or sequential, read or write, with no copy (the data stays in
 * the granted pages, as fio's buffers stay in its own). A unit larger than
 * one request goes as several. Completions refill from the event loop and
 * leave in one push per notification.
 */
#ifndef PVGUEST_BLK_BENCH_H
#define PVGUEST_BLK_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "blkfront.h"

#define BLK_BENCH_MAX_QD	256
#define BLK_BENCH_SPIN_US	100	/* default: rings polled this long before sleeping */
#define BLK_BENCH_SPIN_SLOW_US	20	/* at most this when the I/Os are slow (a disk) */
#define BLK_BENCH_FAST_US	100	/* a mean latency up to this is fast (the page cache) */
#define BLK_BENCH_LAT_MS	10	/* the latency is looked at this often */

struct blk_bench_params {
	bool bp_random;
	uint8_t bp_op;			/* BLKIF_OP_READ or BLKIF_OP_WRITE */
	uint32_t bp_bs;			/* bytes, a multiple of the sector size */
	unsigned bp_qd;
	unsigned bp_seconds;
	unsigned bp_spin_us;		/* polling before each sleep; 0: sleep at once */
};

struct blk_bench_result {
	unsigned long long br_ios;	/* units completed */
	unsigned long long br_bytes;
	long long br_ms;		/* from the first submit to the last completion */
	int br_error;			/* the first errno a request met, or 0 */
};

/* Runs the benchmark; -1 EINVAL when the parameters do not fit the disk. */
int blk_bench_run(struct blkfront *bf, struct events *ev, const struct blk_bench_params *p,
    struct blk_bench_result *r);
/* "4k", "1M", "512", "64K" in bytes; 0 when malformed. */
uint32_t blk_bench_size(const char *s);
/* The next value of a xorshift64 generator (state never 0). */
uint64_t blk_bench_rand(uint64_t *state);

#endif
