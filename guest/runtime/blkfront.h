/*
 * blkfront: the guest's virtual disks over blkif rings, on the frontend
 * handshake of frontend.c. It reads what the backend offers (size, sector
 * size, flush, discard, persistent grants, indirect segments, queues, ring
 * pages), takes what it can use, and publishes its rings.
 *
 * Data pages come from one pool per disk, granted writable to the backend
 * once and reused for every request (persistent grants, blkif.h notes 7-9):
 * a request copies between the caller's buffer (one, or an iovec) and those
 * pages, or, with no buffer, leaves the data in them (benchmarks). I/O is
 * asynchronous: submit, then each completion runs its callback from the event
 * loop; blkfront_rw and friends wait for theirs.
 *
 * Every response is copied out of the ring once and checked (an id we issued,
 * the operation we sent); a bad one stops the disk (EPROTO): its requests
 * fail, the guest carries on.
 */
#ifndef PVGUEST_BLKFRONT_H
#define PVGUEST_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest.h"
#include "xen_ring.h"
#include <xen/io/blkif.h>

#define BLKFRONT_MAX_QUEUES	4	/* rings we use when the backend offers more */
#define BLKFRONT_MAX_RING_ORDER	2	/* up to 4 pages (128 slots) per ring */
#define BLKFRONT_MAX_INDIRECT	256	/* segments per indirect request: 1 MiB */
#define BLKFRONT_POOL_MAX	1280	/* granted data pages per disk (5 MiB: 4 requests of 1 MiB) */
#define BLKFRONT_CONNECT_MS	10000
#define BLKFRONT_IO_MS		30000

/* What the backend said and what we took of it. */
struct blkfront_info {
	uint64_t bi_sectors;		/* 512-byte sectors */
	unsigned bi_sector_size;	/* bytes, a power of two >= 512 */
	unsigned bi_info;		/* VDISK_* */
	bool bi_readonly;		/* VDISK_READONLY or mode "r" */
	bool bi_flush;			/* feature-flush-cache */
	bool bi_discard;		/* feature-discard */
	bool bi_persistent;		/* feature-persistent on both ends */
	unsigned bi_indirect;		/* segments per indirect request we use, 0: none */
	unsigned bi_queues;		/* rings in use */
	unsigned bi_ring_order;		/* pages per ring = 1 << order */
};

struct blkfront;
struct blkfront_io;
typedef void blkfront_done_fn(struct blkfront_io *io, void *arg);

/* One request as the caller sees it. */
struct blkfront_io {
	uint8_t bio_op;			/* BLKIF_OP_READ, _WRITE, _FLUSH_DISKCACHE, _DISCARD */
	uint64_t bio_sector;		/* 512-byte sectors */
	uint32_t bio_nsect;		/* 512-byte sectors (DISCARD: any count) */
	void *bio_buf;			/* copied to/from; NULL: data stays in the granted pages */
	int bio_error;			/* out: 0, EIO, EOPNOTSUPP, EPROTO (disk stopped) */
	blkfront_done_fn *bio_done;
	void *bio_arg;
	/* Scattered data instead of bio_buf (which must then be NULL): the
	 * bytes [bio_iovoff, bio_iovoff + bio_nsect * 512) of the iovecs laid
	 * end to end, segments of any length (a virtqueue's buffers). Writes
	 * copy them at queue time, reads when the response is in; the iovecs
	 * and what they point to stay the caller's until the callback. */
	const struct iovec *bio_iov;
	unsigned bio_iovcnt;
	size_t bio_iovoff;
};

/* Connects device/vbd/<devid> (the backend must be in InitWait or later
 * within timeout_ms); NULL with errno and why says which key or step. */
struct blkfront *blkfront_open(struct guest *g, const char *devid, int timeout_ms, char *why,
    size_t len);
/* Fails what is in flight, walks the close handshake, frees rings and pages. */
int blkfront_close(struct blkfront *bf, int timeout_ms);
/* The backend started over (InitWait while we were connected): fails what
 * is in flight and frees our side without a handshake, ready for a new open. */
void blkfront_forget(struct blkfront *bf);
const struct blkfront_info *blkfront_info(const struct blkfront *bf);
/* The config's name (backend "dev", else decoded from the number). */
const char *blkfront_name(const struct blkfront *bf);
uint32_t blkfront_vdev(const struct blkfront *bf);
const char *blkfront_devid(const struct blkfront *bf);
/* Most 512-byte sectors one READ/WRITE may carry. */
uint32_t blkfront_max_sectors(const struct blkfront *bf);
/* Whether name is this disk: its config name, canonical name or number. */
bool blkfront_is(const struct blkfront *bf, const char *name);
/* Pages granted so far (persistent grants make this stop growing). */
unsigned blkfront_pages_granted(const struct blkfront *bf);
/* Requests submitted and not completed. */
unsigned blkfront_inflight(const struct blkfront *bf);
/* 0, or the errno that stopped the disk; blkfront_why says what happened. */
int blkfront_broken(const struct blkfront *bf);
const char *blkfront_why(const struct blkfront *bf);
/* Stops the disk (a backend that stopped answering): what is in flight fails
 * with err now, and so does every later request. */
void blkfront_abort(struct blkfront *bf, int err, const char *why);

/*
 * Puts io on a ring, not yet published (blkfront_kick does that, once per
 * batch). -1 with EAGAIN when no slot or data page is free (wait for a
 * completion), EINVAL (range, alignment, size, an iovec shorter than the
 * data or with bio_buf), EROFS, EOPNOTSUPP (the backend offers no flush or
 * discard), or the errno that stopped the disk.
 */
int blkfront_queue(struct blkfront *bf, struct blkfront_io *io);
/* Publishes queued requests and notifies the backend where ring.h says to. */
void blkfront_kick(struct blkfront *bf);
/* blkfront_queue then blkfront_kick. */
int blkfront_submit(struct blkfront *bf, struct blkfront_io *io);
/* Takes the responses already on the rings without waiting for their
 * notification (a caller spinning between completions), then kicks; returns
 * how many requests completed. Without arm the backend is told not to
 * notify (it would wake nobody); call it with arm before sleeping. */
int blkfront_poll(struct blkfront *bf, bool arm);

/* Synchronous I/O, split into requests as large as the disk takes and kept
 * several in flight: 0, or -1 with errno (EIO when the backend failed one). */
int blkfront_rw(struct blkfront *bf, uint8_t op, uint64_t sector, uint64_t nsect, void *buf);
/* The same with the data in iov (at least nsect * 512 bytes), each request
 * taking the next bytes of it wherever its segments begin and end. */
int blkfront_rwv(struct blkfront *bf, uint8_t op, uint64_t sector, uint64_t nsect,
    const struct iovec *iov, unsigned iovcnt);
int blkfront_flush(struct blkfront *bf);
int blkfront_discard(struct blkfront *bf, uint64_t sector, uint64_t nsect);

/* ---- the guest's disks (blkfront_bus.c) ---- */

/* Says what happened to a disk ("xvda: connected ...") on the guest's console. */
typedef void blkfront_report_fn(struct guest *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Brings up every device/vbd whose backend is ready now, and watches
 * device/vbd and each backend's state, so disks whose backend comes later,
 * disks attached later and disks detached are handled from
 * xenbus_dispatch_watches(). report is told each change.
 */
int blkfront_bus_init(struct guest *g, blkfront_report_fn *report);
/* The connected disks, in the order they came: i from 0 until NULL. */
struct blkfront *blkfront_bus_get(unsigned i);
/* The connected disk called name (config name, canonical name or number). */
struct blkfront *blkfront_bus_find(const char *name);

#endif
