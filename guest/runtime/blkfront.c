/*
 * blkfront's handshake and synchronous I/O: what the backend offers is read
 * in two steps, as blkif.h orders it (transport limits before InitWait,
 * device properties once Connected), and the rings follow what we took.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/protocols.h>

#include "blk_vdev.h"
#include "blkfront_int.h"
#include "xmalloc.h"

/* A decimal backend key; def when absent. -1 EINVAL naming the key in why. */
static int
blkfront_read_ull(struct blkfront *bf, const char *key, unsigned long long def,
    unsigned long long *val, char *why, size_t len)
{
	return frontend_read_ull(&bf->bf_fe, bf->bf_fe.fe_backend, key, def, val, why, len);
}

/* "blkfront.<name>=N" on the guest's command line (as Linux's module
 * parameters max_queues, max_ring_page_order, max_indirect_segments): our
 * limit lowered, or def. */
static unsigned long long
blkfront_param(struct blkfront *bf, const char *name, unsigned long long def)
{
	return frontend_param(bf->bf_g, "blkfront", name, def);
}

/* Transport limits the backend published before InitWait: queues, ring
 * pages, indirect segments. We take at most our own limits. */
static int
blkfront_read_limits(struct blkfront *bf, char *why, size_t len)
{
	unsigned long long queues, order, indirect;

	if (blkfront_read_ull(bf, "multi-queue-max-queues", 1, &queues, why, len) < 0 ||
	    blkfront_read_ull(bf, "max-ring-page-order", 0, &order, why, len) < 0 ||
	    blkfront_read_ull(bf, "feature-max-indirect-segments", 0, &indirect, why, len) < 0)
		return -1;
	queues = blkfront_param(bf, "max_queues", queues);
	order = blkfront_param(bf, "max_ring_page_order", order);
	indirect = blkfront_param(bf, "max_indirect_segments", indirect);
	bf->bf_max_queues = (unsigned)(queues > 64 ? 64 : queues);
	bf->bf_max_order = (unsigned)(order > 16 ? 16 : order);
	bf->bf_nqueues = queues == 0 ? 1 : queues < BLKFRONT_MAX_QUEUES ? (unsigned)queues :
	    BLKFRONT_MAX_QUEUES;
	bf->bf_info.bi_queues = bf->bf_nqueues;
	bf->bf_info.bi_ring_order = order < BLKFRONT_MAX_RING_ORDER ? (unsigned)order :
	    BLKFRONT_MAX_RING_ORDER;
	/* fewer than 11 would make indirect requests pointless */
	bf->bf_info.bi_indirect = indirect <= BLKIF_MAX_SEGMENTS_PER_REQUEST ? 0 :
	    indirect < BLKFRONT_MAX_INDIRECT ? (unsigned)indirect : BLKFRONT_MAX_INDIRECT;
	bf->bf_max_segs = bf->bf_info.bi_indirect ? bf->bf_info.bi_indirect :
	    BLKIF_MAX_SEGMENTS_PER_REQUEST;
	return 0;
}

/* Device properties, once the backend is Connected. */
static int
blkfront_read_props(struct blkfront *bf, char *why, size_t len)
{
	struct blkfront_info *bi = &bf->bf_info;
	unsigned long long sectors, ssize, info, flush, discard, persistent;

	if (blkfront_read_ull(bf, "sectors", 0, &sectors, why, len) < 0 ||
	    blkfront_read_ull(bf, "sector-size", 512, &ssize, why, len) < 0 ||
	    blkfront_read_ull(bf, "info", 0, &info, why, len) < 0 ||
	    blkfront_read_ull(bf, "feature-flush-cache", 0, &flush, why, len) < 0 ||
	    blkfront_read_ull(bf, "feature-discard", 0, &discard, why, len) < 0 ||
	    blkfront_read_ull(bf, "feature-persistent", 0, &persistent, why, len) < 0)
		return -1;
	if (ssize < 512 || ssize > PAGE_SIZE || (ssize & (ssize - 1)) != 0) {
		snprintf(why, len, "%s/sector-size: %llu is not a power of two from 512 to 4096",
		    bf->bf_fe.fe_backend, ssize);
		errno = EINVAL;
		return -1;
	}
	bi->bi_sectors = sectors;
	bi->bi_sector_size = (unsigned)ssize;
	bi->bi_info = (unsigned)info;
	bi->bi_flush = flush != 0;
	bi->bi_discard = discard != 0;
	bi->bi_persistent = persistent != 0;
	char *mode = frontend_backend_read(&bf->bf_fe, "mode");
	bi->bi_readonly = (info & VDISK_READONLY) || (mode != NULL && strchr(mode, 'w') == NULL);
	free(mode);
	return 0;
}

/* Inside the connect transaction: rings, protocol, persistent grants. */
static int
blkfront_publish(struct frontend *fe, xenbus_tx_t tx, void *arg)
{
	struct blkfront *bf = arg;

	if (blkfront_rings_publish(bf, tx) < 0 ||
	    frontend_printf(fe, tx, "protocol", "%s", XEN_IO_PROTO_ABI_X86_64) < 0 ||
	    frontend_printf(fe, tx, "feature-persistent", "1") < 0)
		return -1;
	return 0;
}

/* Our names for the disk: the config's ("dev" in the backend) and the
 * decoded number. */
static void
blkfront_names(struct blkfront *bf)
{
	char *dev = frontend_backend_read(&bf->bf_fe, "dev");

	blk_vdev_name(bf->bf_vdev, bf->bf_canon, sizeof(bf->bf_canon));
	if (dev != NULL && dev[0] != '\0' && strlen(dev) < sizeof(bf->bf_name))
		strcpy(bf->bf_name, dev);
	else
		strcpy(bf->bf_name, bf->bf_canon);
	free(dev);
}

/* Frees what open built; the rings go only once the backend let them go. */
static void
blkfront_free(struct blkfront *bf)
{
	blkfront_rings_fini(bf);
	free(bf);
}

struct blkfront *
blkfront_open(struct guest *g, const char *devid, int timeout_ms, char *why, size_t len)
{
	struct blkfront *bf = xcalloc(1, sizeof(*bf));
	long long deadline = frontend_deadline(timeout_ms);
	char *end;

	bf->bf_g = g;
	snprintf(bf->bf_devid, sizeof(bf->bf_devid), "%s", devid);
	unsigned long v = strtoul(devid, &end, 10);
	if (*devid == '\0' || *end != '\0' || v >= (1ul << 30)) {
		snprintf(why, len, "device/vbd/%s: not a virtual device number", devid);
		errno = EINVAL;
		goto fail;
	}
	bf->bf_vdev = (uint32_t)v;
	if (frontend_probe(&bf->bf_fe, g, "vbd", devid, deadline, why, len) < 0)
		goto fail;
	blkfront_names(bf);
	if (blkfront_read_limits(bf, why, len) < 0)
		goto fail;
	if (blkfront_rings_init(bf) < 0) {
		snprintf(why, len, "rings: %s", strerror(errno));
		goto fail;
	}
	if (frontend_connect(&bf->bf_fe, blkfront_publish, bf, frontend_left(deadline)) < 0) {
		frontend_connect_failed(&bf->bf_fe, why, len);
		goto fail;
	}
	if (blkfront_read_props(bf, why, len) < 0)
		goto fail;
	return bf;
fail:;
	int saved = errno;
	blkfront_free(bf);
	errno = saved;
	return NULL;
}

int
blkfront_close(struct blkfront *bf, int timeout_ms)
{
	blkfront_stop(bf, ESHUTDOWN, "closed");
	int rc = frontend_detach(&bf->bf_fe, timeout_ms < 0 ? BLKFRONT_IO_MS : timeout_ms);
	int saved = errno;
	blkfront_free(bf);
	errno = saved;
	return rc;
}

void
blkfront_forget(struct blkfront *bf)
{
	blkfront_stop(bf, ESHUTDOWN, "backend went back to InitWait");
	blkfront_free(bf);
}

const struct blkfront_info *
blkfront_info(const struct blkfront *bf)
{
	return &bf->bf_info;
}

const char *
blkfront_name(const struct blkfront *bf)
{
	return bf->bf_name;
}

uint32_t
blkfront_vdev(const struct blkfront *bf)
{
	return bf->bf_vdev;
}

const char *
blkfront_devid(const struct blkfront *bf)
{
	return bf->bf_devid;
}

uint32_t
blkfront_max_sectors(const struct blkfront *bf)
{
	return bf->bf_max_segs * BLKFRONT_SECT_PER_PAGE;
}

bool
blkfront_is(const struct blkfront *bf, const char *name)
{
	return strcmp(name, bf->bf_name) == 0 || strcmp(name, bf->bf_canon) == 0 ||
	    strcmp(name, bf->bf_devid) == 0;
}

unsigned
blkfront_pages_granted(const struct blkfront *bf)
{
	return bf->bf_granted;
}

unsigned
blkfront_inflight(const struct blkfront *bf)
{
	return bf->bf_inflight;
}

int
blkfront_broken(const struct blkfront *bf)
{
	return bf->bf_broken;
}

const char *
blkfront_why(const struct blkfront *bf)
{
	return bf->bf_why;
}

void
blkfront_abort(struct blkfront *bf, int err, const char *why)
{
	blkfront_stop(bf, err, "%s", why);
}

/* ---- synchronous I/O ---- */

#define BLKFRONT_SYNC_WINDOW 16

struct blkfront_sync {
	struct blkfront_io bs_ios[BLKFRONT_SYNC_WINDOW];
	bool bs_busy[BLKFRONT_SYNC_WINDOW];
	unsigned bs_pending;
	unsigned long bs_completed, bs_seen;
	int bs_err;
};

static void
blkfront_sync_done(struct blkfront_io *io, void *arg)
{
	struct blkfront_sync *s = arg;

	s->bs_busy[io - s->bs_ios] = false;
	s->bs_pending--;
	s->bs_completed++;
	if (io->bio_error != 0 && s->bs_err == 0)
		s->bs_err = io->bio_error;
}

/* events_wait condition: a completion since the last look. */
static bool
blkfront_sync_moved(void *arg)
{
	struct blkfront_sync *s = arg;

	return s->bs_completed != s->bs_seen;
}

/* Waits for a completion; a backend silent past BLKFRONT_IO_MS stops the
 * disk, which fails (and so finishes) everything in flight. */
static int
blkfront_sync_wait(struct blkfront *bf, struct blkfront_sync *s)
{
	s->bs_seen = s->bs_completed;
	if (events_wait(bf->bf_g->g_ev, blkfront_sync_moved, s, BLKFRONT_IO_MS) == 0)
		return 0;
	blkfront_stop(bf, errno == ETIMEDOUT ? ETIMEDOUT : EIO, "no response in %d ms",
	    BLKFRONT_IO_MS);
	return -1;
}

/* Runs ops from a generator: next() fills an io (1), or says none is left (0). */
static int
blkfront_sync_run(struct blkfront *bf, struct blkfront_sync *s,
    int (*next)(void *arg, struct blkfront_io *io), void *arg)
{
	int more = 1, err = 0;
	struct blkfront_io pending = { 0 };
	bool have = false;

	while ((more || have || s->bs_pending > 0) && err == 0 && s->bs_err == 0) {
		for (unsigned i = 0; i < BLKFRONT_SYNC_WINDOW && (more || have); i++) {
			if (s->bs_busy[i])
				continue;
			if (!have) {
				more = next(arg, &pending);
				if (!more)
					break;
				have = true;
			}
			s->bs_ios[i] = pending;
			s->bs_ios[i].bio_done = blkfront_sync_done;
			s->bs_ios[i].bio_arg = s;
			if (blkfront_queue(bf, &s->bs_ios[i]) < 0) {
				if (errno != EAGAIN || s->bs_pending == 0)
					err = errno;
				break;
			}
			have = false;
			s->bs_busy[i] = true;
			s->bs_pending++;
		}
		blkfront_kick(bf);
		if (s->bs_pending > 0 && blkfront_sync_wait(bf, s) < 0 && err == 0)
			err = errno;
	}
	while (s->bs_pending > 0 && blkfront_sync_wait(bf, s) == 0)
		;
	if (err == 0)
		err = s->bs_err;
	errno = err;
	return err ? -1 : 0;
}

struct blkfront_rw_gen {
	struct blkfront *rg_bf;
	uint8_t rg_op;
	uint64_t rg_sector, rg_left;
	char *rg_buf;
	const struct iovec *rg_iov;	/* or the data scattered here */
	unsigned rg_iovcnt;
	size_t rg_iovoff;
};

/* The next piece of a large read or write, as big as one request may be. */
static int
blkfront_rw_next(void *arg, struct blkfront_io *io)
{
	struct blkfront_rw_gen *rg = arg;
	uint64_t max = blkfront_max_sectors(rg->rg_bf);
	uint32_t n = (uint32_t)(rg->rg_left < max ? rg->rg_left : max);

	if (rg->rg_left == 0)
		return 0;
	memset(io, 0, sizeof(*io));
	io->bio_op = rg->rg_op;
	io->bio_sector = rg->rg_sector;
	io->bio_nsect = n;
	io->bio_buf = rg->rg_buf;
	io->bio_iov = rg->rg_iov;
	io->bio_iovcnt = rg->rg_iovcnt;
	io->bio_iovoff = rg->rg_iovoff;
	rg->rg_sector += n;
	rg->rg_left -= n;
	if (rg->rg_buf != NULL)
		rg->rg_buf += (size_t)n * 512;
	rg->rg_iovoff += (size_t)n * 512;
	return 1;
}

int
blkfront_rw(struct blkfront *bf, uint8_t op, uint64_t sector, uint64_t nsect, void *buf)
{
	struct blkfront_sync s = { 0 };
	struct blkfront_rw_gen rg = { bf, op, sector, nsect, buf, NULL, 0, 0 };

	if (nsect == 0 || (op != BLKIF_OP_READ && op != BLKIF_OP_WRITE)) {
		errno = EINVAL;
		return -1;
	}
	return blkfront_sync_run(bf, &s, blkfront_rw_next, &rg);
}

int
blkfront_rwv(struct blkfront *bf, uint8_t op, uint64_t sector, uint64_t nsect,
    const struct iovec *iov, unsigned iovcnt)
{
	struct blkfront_sync s = { 0 };
	struct blkfront_rw_gen rg = { bf, op, sector, nsect, NULL, iov, iovcnt, 0 };
	uint64_t total = 0;

	if (nsect == 0 || nsect > SIZE_MAX / 512 || iov == NULL ||
	    (op != BLKIF_OP_READ && op != BLKIF_OP_WRITE)) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i < iovcnt && total < nsect * 512; i++)
		total += iov[i].iov_len;
	if (total < nsect * 512) {
		errno = EINVAL;
		return -1;
	}
	return blkfront_sync_run(bf, &s, blkfront_rw_next, &rg);
}

/* One request, waited for. */
static int
blkfront_one_next(void *arg, struct blkfront_io *io)
{
	struct blkfront_io **one = arg;

	if (*one == NULL)
		return 0;
	*io = **one;
	*one = NULL;
	return 1;
}

int
blkfront_flush(struct blkfront *bf)
{
	struct blkfront_sync s = { 0 };
	struct blkfront_io io = { .bio_op = BLKIF_OP_FLUSH_DISKCACHE, .bio_nsect = 1 };
	struct blkfront_io *one = &io;

	return blkfront_sync_run(bf, &s, blkfront_one_next, &one);
}

int
blkfront_discard(struct blkfront *bf, uint64_t sector, uint64_t nsect)
{
	struct blkfront_sync s = { 0 };
	struct blkfront_io io = { .bio_op = BLKIF_OP_DISCARD, .bio_sector = sector };
	struct blkfront_io *one = &io;

	if (nsect > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	io.bio_nsect = (uint32_t)nsect;
	return blkfront_sync_run(bf, &s, blkfront_one_next, &one);
}
