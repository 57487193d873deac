/*
 * /vbd: one regular file per disk, served over the FUSE device hvd mounted
 * for us, so UML's ubd driver reads and writes plain files while every byte
 * goes to blkfront. ubd reads one page at a time, one system call each,
 * whatever the size of the guest's request: through a direct-io file every
 * page was a round trip to us. So reads go through the host's page cache: a
 * page costs UML a copy, and the kernel's readahead (1 MiB, set by hvd:
 * hvd_sandbox_fuse_tune) asks us for large reads, queued while we answer the
 * last one (dd in the guest reading 177-216 -> 560-980 MB/s in the same
 * hour). Writes stay write-through, each page a request, gathered here
 * (below), as fast as through a direct-io file: the kernel's writeback mode
 * was no faster (50-290 MB/s), its dirty throttling held a new mount to its
 * first estimate, and its dirty pages would count against the domain's
 * memory limit. Reads and writes that do not cover whole sectors
 * (none from ubd, but the file is a file) are widened to sectors through a
 * bounce buffer.
 *
 * One request at a time, answered in order: the handler waits for blkfront
 * (events_wait dispatches rings only, never this descriptor again).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"
#include "xmalloc.h"

#define SHIM_FUSE_MAX_WRITE	(1u << 20)
#define SHIM_FUSE_BUF		(SHIM_FUSE_MAX_WRITE + 4096)
#define SHIM_FUSE_ROOT_MODE	(S_IFDIR | 0500)
/* Seconds the kernel may keep names and attributes: nothing of a disk's file
 * but its data ever changes, and a cached file asks for them around writes. */
#define SHIM_FUSE_ATTR_VALID	86400

static struct shim *shim_fuse_shim;
static int shim_fuse_fd = -1;
static uint8_t *shim_fuse_in;		/* one request */
static uint8_t *shim_fuse_bounce;	/* one request's sectors */

/* Node ids: 1 the root, 2 + i disk i. */
static struct shim_disk *
shim_fuse_disk(uint64_t nodeid)
{
	if (nodeid < 2 || nodeid - 2 >= shim_fuse_shim->s_ndisks)
		return NULL;
	return &shim_fuse_shim->s_disks[nodeid - 2];
}

/* A reply: the header with error (0 or -errno) and an optional body. */
static void
shim_fuse_reply(uint64_t unique, int error, const void *body, size_t len)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(sizeof(oh) + (error ? 0 : len)), .error = error, .unique = unique,
	};
	struct iovec iov[2] = { { &oh, sizeof(oh) }, { (void *)body, error ? 0 : len } };

	/* a reply the kernel refuses (the request was interrupted) changes nothing */
	(void)!writev(shim_fuse_fd, iov, error || len == 0 ? 1 : 2);
}

static void
shim_fuse_attr(uint64_t nodeid, struct fuse_attr *a)
{
	struct shim_disk *d = shim_fuse_disk(nodeid);

	memset(a, 0, sizeof(*a));
	a->ino = nodeid;
	a->uid = getuid();
	a->gid = getgid();
	a->blksize = 4096;
	if (d == NULL) {
		a->mode = SHIM_FUSE_ROOT_MODE;
		a->nlink = 2;
		return;
	}
	const struct blkfront_info *bi = blkfront_info(d->sd_bf);
	a->mode = S_IFREG | (d->sd_ro ? 0400 : 0600);
	a->nlink = 1;
	a->size = bi->bi_sectors * 512;
	a->blocks = bi->bi_sectors;
}

static void
shim_fuse_init_op(uint64_t unique, const struct fuse_init_in *in)
{
	struct fuse_init_out out = {
		.major = FUSE_KERNEL_VERSION,
		.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor : FUSE_KERNEL_MINOR_VERSION,
		/* the kernel keeps the smaller of this and the mount's read_ahead_kb */
		.max_readahead = SHIM_FUSE_MAX_WRITE,
		.flags = FUSE_MAX_PAGES | FUSE_BIG_WRITES | (in->flags & FUSE_ASYNC_READ),
		.max_write = SHIM_FUSE_MAX_WRITE,
		.max_pages = SHIM_FUSE_MAX_WRITE / 4096,
		.time_gran = 1,
	};

	if (in->major != FUSE_KERNEL_VERSION) {
		shim_fuse_reply(unique, -EPROTO, NULL, 0);
		return;
	}
	shim_fuse_reply(unique, 0, &out, sizeof(out));
}

static void
shim_fuse_lookup(uint64_t unique, uint64_t parent, const char *name)
{
	struct fuse_entry_out e;

	memset(&e, 0, sizeof(e));
	for (unsigned i = 0; parent == FUSE_ROOT_ID && i < shim_fuse_shim->s_ndisks; i++)
		if (strcmp(name, shim_fuse_shim->s_disks[i].sd_name) == 0) {
			e.nodeid = 2 + i;
			e.entry_valid = e.attr_valid = SHIM_FUSE_ATTR_VALID;
			shim_fuse_attr(e.nodeid, &e.attr);
			shim_fuse_reply(unique, 0, &e, sizeof(e));
			return;
		}
	shim_fuse_reply(unique, -ENOENT, NULL, 0);
}

static void
shim_fuse_getattr(uint64_t unique, uint64_t nodeid)
{
	struct fuse_attr_out out;

	memset(&out, 0, sizeof(out));
	if (nodeid != FUSE_ROOT_ID && shim_fuse_disk(nodeid) == NULL) {
		shim_fuse_reply(unique, -ENOENT, NULL, 0);
		return;
	}
	out.attr_valid = SHIM_FUSE_ATTR_VALID;
	shim_fuse_attr(nodeid, &out.attr);
	shim_fuse_reply(unique, 0, &out, sizeof(out));
}

static void
shim_fuse_open(uint64_t unique, uint64_t nodeid, const struct fuse_open_in *in)
{
	struct shim_disk *d = shim_fuse_disk(nodeid);
	/* only UML writes the disk, so what is cached stays true across opens */
	struct fuse_open_out out = { .open_flags = FOPEN_KEEP_CACHE };

	if (d == NULL) {
		shim_fuse_reply(unique, nodeid == FUSE_ROOT_ID ? 0 : -ENOENT, &out, sizeof(out));
		return;
	}
	if (d->sd_ro && (in->flags & O_ACCMODE) != O_RDONLY) {
		shim_fuse_reply(unique, -EROFS, NULL, 0);
		return;
	}
	shim_fuse_reply(unique, 0, &out, sizeof(out));
}

/* Sectors [first, first + n) covering [off, off + len). */
static void
shim_fuse_span(uint64_t off, uint32_t len, uint64_t *first, uint64_t *n)
{
	*first = off / 512;
	*n = (off + len + 511) / 512 - *first;
}

#define SHIM_FUSE_RA	(256 * 1024)	/* a sequential reader's window */
#define SHIM_FUSE_WB	(1024 * 1024)	/* gathered sequential writes */
#define SHIM_FUSE_WB_DEPTH	3	/* gathered writes in flight at once */

/* A gathered write on the ring (blkfront copied its data when it was queued). */
struct shim_fuse_wb {
	struct blkfront_io w_io;
	struct shim_disk *w_disk;
};

/* A gathered write finished; a failure is kept for the next flush to report. */
static void
shim_fuse_wb_done(struct blkfront_io *io, void *arg)
{
	struct shim_fuse_wb *w = arg;

	if (io->bio_error != 0)
		w->w_disk->sd_wb_err = EIO;
	w->w_disk->sd_wb_inflight--;
	free(w);
}

struct shim_fuse_wb_wait {
	struct shim_disk *ww_disk;
	unsigned ww_max;
};

/* events_wait condition: at most ww_max gathered writes in flight. */
static bool
shim_fuse_wb_below(void *arg)
{
	const struct shim_fuse_wb_wait *ww = arg;

	return ww->ww_disk->sd_wb_inflight <= ww->ww_max;
}

/* Waits until at most max gathered writes are in flight; a backend silent
 * for BLKFRONT_IO_MS stops the disk, which fails (and so ends) them. */
static void
shim_fuse_wb_wait(struct shim_disk *d, unsigned max)
{
	struct shim_fuse_wb_wait ww = { d, max };

	if (d->sd_wb_inflight > max && events_wait(shim_fuse_shim->s_g->g_ev, shim_fuse_wb_below,
	    &ww, BLKFRONT_IO_MS) < 0)
		blkfront_abort(d->sd_bf, ETIMEDOUT, "no answer to a gathered write");
}

/* Puts what is gathered on the ring and returns: UML's next writes are
 * gathered while it is written. */
static void
shim_fuse_wb_flush(struct shim_disk *d)
{
	uint32_t nsect = d->sd_wb_len / 512;

	if (d->sd_wb_len == 0)
		return;
	d->sd_wb_chain = d->sd_wb_off + d->sd_wb_len;
	d->sd_wb_len = 0;
	if (nsect > blkfront_max_sectors(d->sd_bf)) {
		shim_fuse_wb_wait(d, 0);
		if (blkfront_rw(d->sd_bf, BLKIF_OP_WRITE, d->sd_wb_off / 512, nsect, d->sd_wb) < 0)
			d->sd_wb_err = EIO;
		return;
	}
	struct shim_fuse_wb *w = xcalloc(1, sizeof(*w));
	w->w_disk = d;
	w->w_io = (struct blkfront_io){ .bio_op = BLKIF_OP_WRITE, .bio_sector = d->sd_wb_off / 512,
	    .bio_nsect = nsect, .bio_buf = d->sd_wb, .bio_done = shim_fuse_wb_done, .bio_arg = w };
	shim_fuse_wb_wait(d, SHIM_FUSE_WB_DEPTH - 1);
	while (blkfront_submit(d->sd_bf, &w->w_io) < 0) {
		if (errno != EAGAIN || d->sd_wb_inflight == 0) {
			d->sd_wb_err = EIO;
			free(w);
			return;
		}
		shim_fuse_wb_wait(d, d->sd_wb_inflight - 1);
	}
	d->sd_wb_inflight++;
}

/* Gathered writes, then those in flight: the disk holds every write answered. */
static void
shim_fuse_wb_settle(struct shim_disk *d)
{
	shim_fuse_wb_flush(d);
	shim_fuse_wb_wait(d, 0);
}

/* Gathers a whole-sector write that continues (or starts) the buffer; false when it cannot. */
static bool
shim_fuse_wb_add(struct shim_disk *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	if ((off | len) % 512 || len >= SHIM_FUSE_WB)
		return false;
	if (d->sd_wb_len && (off != d->sd_wb_off + d->sd_wb_len ||
	    d->sd_wb_len + len > SHIM_FUSE_WB))
		shim_fuse_wb_flush(d);
	if (d->sd_wb == NULL)
		d->sd_wb = xmalloc(SHIM_FUSE_WB);
	if (d->sd_wb_len == 0) {
		/* only a buffer that continues the last one cannot overlap one in flight */
		if (off != d->sd_wb_chain)
			shim_fuse_wb_wait(d, 0);
		d->sd_wb_off = off;
	}
	memcpy(d->sd_wb + d->sd_wb_len, data, len);
	d->sd_wb_len += len;
	return true;
}

/* Before the disk is read or changed over [off, off + len): gathered writes
 * over it go first, and a read must not pass the writes in flight (the
 * backend may complete requests in any order). */
static void
shim_fuse_wb_before(struct shim_disk *d, uint64_t off, uint64_t len)
{
	if (d->sd_wb_len && off < d->sd_wb_off + d->sd_wb_len && d->sd_wb_off < off + len)
		shim_fuse_wb_flush(d);
	shim_fuse_wb_wait(d, 0);
}

/* Every disk's gathered writes, when the kernel stops. */
void
shim_fuse_flush_all(struct shim *s)
{
	for (unsigned i = 0; i < s->s_ndisks; i++)
		shim_fuse_wb_settle(&s->s_disks[i]);
}

/* The window no longer matches the disk where [off, off + len) was written. */
static void
shim_fuse_ra_forget(struct shim_disk *d, uint64_t off, uint64_t len)
{
	if (d->sd_ra_len && off < d->sd_ra_off + d->sd_ra_len && d->sd_ra_off < off + len)
		d->sd_ra_len = 0;
}

/*
 * Serves [off, off + len) from the readahead window when it holds it, filling
 * it first when the read continues the previous one; 0 when served, 1 when
 * the caller must read the disk itself (a random read), -1 on an I/O error.
 */
static int
shim_fuse_ra(uint64_t unique, struct shim_disk *d, uint64_t off, uint32_t len, uint64_t size)
{
	bool sequential = off == d->sd_next;

	d->sd_next = off + len;
	if (!(d->sd_ra_len && off >= d->sd_ra_off && off + len <= d->sd_ra_off + d->sd_ra_len)) {
		if (!sequential || len >= SHIM_FUSE_RA || off % 512)
			return 1;
		uint64_t want = size - off < SHIM_FUSE_RA ? size - off : SHIM_FUSE_RA;
		if (d->sd_ra == NULL)
			d->sd_ra = xmalloc(SHIM_FUSE_RA);
		d->sd_ra_len = 0;
		if (blkfront_rw(d->sd_bf, BLKIF_OP_READ, off / 512, (want + 511) / 512, d->sd_ra) < 0)
			return -1;
		d->sd_ra_off = off;
		d->sd_ra_len = (uint32_t)want;
		if (len > want)
			return 1;
	}
	shim_fuse_reply(unique, 0, d->sd_ra + (off - d->sd_ra_off), len);
	return 0;
}

static void
shim_fuse_read(uint64_t unique, uint64_t nodeid, const struct fuse_read_in *in)
{
	struct shim_disk *d = shim_fuse_disk(nodeid);
	uint64_t size, first, n;
	uint32_t len = in->size;

	if (d == NULL) {
		shim_fuse_reply(unique, -EBADF, NULL, 0);
		return;
	}
	size = blkfront_info(d->sd_bf)->bi_sectors * 512;
	if (in->offset >= size) {
		shim_fuse_reply(unique, 0, NULL, 0);
		return;
	}
	if (len > size - in->offset)
		len = (uint32_t)(size - in->offset);
	if (len > SHIM_FUSE_MAX_WRITE)
		len = SHIM_FUSE_MAX_WRITE;
	shim_fuse_wb_before(d, in->offset, SHIM_FUSE_RA > len ? SHIM_FUSE_RA : len);
	int ra = shim_fuse_ra(unique, d, in->offset, len, size);
	if (ra <= 0) {
		if (ra < 0)
			shim_fuse_reply(unique, -EIO, NULL, 0);
		return;
	}
	shim_fuse_span(in->offset, len, &first, &n);
	if (n * 512 > SHIM_FUSE_BUF ||
	    blkfront_rw(d->sd_bf, BLKIF_OP_READ, first, n, shim_fuse_bounce) < 0) {
		shim_fuse_reply(unique, -EIO, NULL, 0);
		return;
	}
	shim_fuse_reply(unique, 0, shim_fuse_bounce + (in->offset - first * 512), len);
}

static void
shim_fuse_write(uint64_t unique, uint64_t nodeid, const struct fuse_write_in *in,
    const uint8_t *data)
{
	struct shim_disk *d = shim_fuse_disk(nodeid);
	struct fuse_write_out out = { .size = in->size };
	uint64_t size, first, n;

	if (d == NULL || d->sd_ro) {
		shim_fuse_reply(unique, d ? -EROFS : -EBADF, NULL, 0);
		return;
	}
	size = blkfront_info(d->sd_bf)->bi_sectors * 512;
	if (in->offset >= size || in->size > size - in->offset) {
		shim_fuse_reply(unique, -ENOSPC, NULL, 0);
		return;
	}
	shim_fuse_ra_forget(d, in->offset, in->size);
	if (shim_fuse_wb_add(d, in->offset, data, in->size)) {
		shim_fuse_reply(unique, 0, &out, sizeof(out));
		return;
	}
	shim_fuse_wb_settle(d);
	shim_fuse_span(in->offset, in->size, &first, &n);
	if (n * 512 > SHIM_FUSE_BUF) {
		shim_fuse_reply(unique, -EINVAL, NULL, 0);
		return;
	}
	/* whole sectors go straight out; a partial one is read, patched, written */
	if ((in->offset | in->size) % 512 == 0) {
		if (blkfront_rw(d->sd_bf, BLKIF_OP_WRITE, first, n, (void *)data) < 0)
			goto fail;
	} else {
		if (blkfront_rw(d->sd_bf, BLKIF_OP_READ, first, n, shim_fuse_bounce) < 0)
			goto fail;
		memcpy(shim_fuse_bounce + (in->offset - first * 512), data, in->size);
		if (blkfront_rw(d->sd_bf, BLKIF_OP_WRITE, first, n, shim_fuse_bounce) < 0)
			goto fail;
	}
	shim_fuse_reply(unique, 0, &out, sizeof(out));
	return;
fail:
	shim_fuse_reply(unique, -EIO, NULL, 0);
}

/* fsync and fdatasync reach the disk: gathered writes, then a flush to the
 * backend when it has one; a gathered write that failed fails the fsync. */
static void
shim_fuse_fsync(uint64_t unique, uint64_t nodeid)
{
	struct shim_disk *d = shim_fuse_disk(nodeid);
	int err;

	if (d == NULL) {
		shim_fuse_reply(unique, 0, NULL, 0);
		return;
	}
	shim_fuse_wb_settle(d);
	err = d->sd_wb_err;
	d->sd_wb_err = 0;
	if (err == 0 && blkfront_info(d->sd_bf)->bi_flush && blkfront_flush(d->sd_bf) < 0)
		err = EIO;
	shim_fuse_reply(unique, -err, NULL, 0);
}

/* Zeroes [first, first + n) sectors with writes of a zeroed buffer. */
static int
shim_fuse_zero(struct shim_disk *d, uint64_t first, uint64_t n)
{
	const uint64_t chunk = SHIM_FUSE_MAX_WRITE / 512;

	memset(shim_fuse_bounce, 0, SHIM_FUSE_MAX_WRITE);
	for (uint64_t done = 0; done < n; done += chunk)
		if (blkfront_rw(d->sd_bf, BLKIF_OP_WRITE, first + done,
		    n - done < chunk ? n - done : chunk, shim_fuse_bounce) < 0)
			return -1;
	return 0;
}

/*
 * UML's discard and write-zeroes: a punched hole is a discard when the backend
 * offers one (blkback punches the image file), zeroes written otherwise; a
 * zeroed range is always written, since a discard need not read back as zeroes.
 */
static void
shim_fuse_fallocate(uint64_t unique, uint64_t nodeid, const struct fuse_fallocate_in *in)
{
	struct shim_disk *d = shim_fuse_disk(nodeid);
	uint64_t size, first, n;
	int rc = 0;

	if (d == NULL || d->sd_ro) {
		shim_fuse_reply(unique, d ? -EROFS : -EBADF, NULL, 0);
		return;
	}
	size = blkfront_info(d->sd_bf)->bi_sectors * 512;
	if (in->offset > size || in->length > size - in->offset || (in->offset | in->length) % 512) {
		shim_fuse_reply(unique, -EINVAL, NULL, 0);
		return;
	}
	first = in->offset / 512;
	n = in->length / 512;
	shim_fuse_ra_forget(d, in->offset, in->length);
	shim_fuse_wb_before(d, in->offset, in->length);
	if (in->mode & FALLOC_FL_PUNCH_HOLE && blkfront_info(d->sd_bf)->bi_discard)
		rc = blkfront_discard(d->sd_bf, first, n);
	else if (in->mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		rc = shim_fuse_zero(d, first, n);
	/* a plain allocation: every sector of a disk is there already */
	shim_fuse_reply(unique, rc < 0 ? -EIO : 0, NULL, 0);
}

/* One fuse_dirent per disk, from the offset the kernel asks for. */
static void
shim_fuse_readdir(uint64_t unique, const struct fuse_read_in *in)
{
	uint8_t buf[4096];
	size_t len = 0;

	for (uint64_t i = in->offset; i < shim_fuse_shim->s_ndisks; i++) {
		const char *name = shim_fuse_shim->s_disks[i].sd_name;
		struct fuse_dirent de = {
			.ino = 2 + i, .off = i + 1, .namelen = (uint32_t)strlen(name),
			.type = DT_REG,
		};
		size_t rec = FUSE_DIRENT_SIZE(&de);
		if (len + rec > sizeof(buf) || len + rec > in->size)
			break;
		memset(buf + len, 0, rec);
		memcpy(buf + len, &de, FUSE_NAME_OFFSET);
		memcpy(buf + len + FUSE_NAME_OFFSET, name, de.namelen);
		len += rec;
	}
	shim_fuse_reply(unique, 0, buf, len);
}

/* Dispatches one request (already read whole into shim_fuse_in). */
static void
shim_fuse_dispatch(size_t n)
{
	const struct fuse_in_header *ih = (const void *)shim_fuse_in;
	const void *arg = shim_fuse_in + sizeof(*ih);

	if (n < sizeof(*ih) || ih->len != n)
		return;
	switch (ih->opcode) {
	case FUSE_INIT:
		shim_fuse_init_op(ih->unique, arg);
		break;
	case FUSE_LOOKUP:
		shim_fuse_in[n - 1] = '\0';
		shim_fuse_lookup(ih->unique, ih->nodeid, arg);
		break;
	case FUSE_GETATTR:
	case FUSE_SETATTR:	/* nothing of a disk's file can change but its data */
		shim_fuse_getattr(ih->unique, ih->nodeid);
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		shim_fuse_open(ih->unique, ih->nodeid, arg);
		break;
	case FUSE_READ:
		shim_fuse_read(ih->unique, ih->nodeid, arg);
		break;
	case FUSE_WRITE:
		if (n < sizeof(*ih) + sizeof(struct fuse_write_in) +
		    ((const struct fuse_write_in *)arg)->size) {
			shim_fuse_reply(ih->unique, -EINVAL, NULL, 0);
			break;
		}
		shim_fuse_write(ih->unique, ih->nodeid, arg,
		    (const uint8_t *)arg + sizeof(struct fuse_write_in));
		break;
	case FUSE_FSYNC:
		shim_fuse_fsync(ih->unique, ih->nodeid);
		break;
	case FUSE_FALLOCATE:
		shim_fuse_fallocate(ih->unique, ih->nodeid, arg);
		break;
	case FUSE_READDIR:
		shim_fuse_readdir(ih->unique, arg);
		break;
	case FUSE_STATFS: {
		struct fuse_statfs_out out = { .st = { .bsize = 4096, .namelen = 255 } };
		shim_fuse_reply(ih->unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break;		/* no reply, by the protocol */
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_ACCESS:
	case FUSE_DESTROY:
		shim_fuse_reply(ih->unique, 0, NULL, 0);
		break;
	default:
		shim_fuse_reply(ih->unique, -ENOSYS, NULL, 0);
	}
}

/* The FUSE device is readable: one request. */
static void
shim_fuse_ready(int fd, short revents, void *arg)
{
	ssize_t n;

	(void)revents;
	(void)arg;
	n = read(fd, shim_fuse_in, SHIM_FUSE_BUF);
	if (n > 0)
		shim_fuse_dispatch((size_t)n);
}

int
shim_fuse_init(struct shim *s, int fd)
{
	shim_fuse_shim = s;
	shim_fuse_fd = fd;
	shim_fuse_in = xmalloc(SHIM_FUSE_BUF);
	shim_fuse_bounce = xmalloc(SHIM_FUSE_BUF);
	return events_watch_fd(s->s_g->g_ev, fd, POLLIN, shim_fuse_ready, s);
}
