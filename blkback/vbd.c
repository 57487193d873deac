/*
 * blkback's device, daemon side: the blkif keys of the backend directory
 * (reference devices.md §2.4), the image opened for the worker, the
 * frontend's rings read at connect, the device published before Connected.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "backend.h"
#include "blkback.h"
#include "libhv.h"
#include "log.h"
#include "vbd.h"
#include "xmalloc.h"

#define VBD_ABSENT	(1ull << 40)	/* a key's default that no valid value equals */

/* The vdev name for messages: the backend's dev key, else the devid. */
static void
vbd_what(struct backend_dev *d, char *buf, size_t len)
{
	char *dev = backend_dev_read(d, false, "dev");

	if (dev)
		snprintf(buf, len, "vbd %s", dev);
	else
		snprintf(buf, len, "vbd %u", backend_dev_devid(d));
	free(dev);
}

/* The negotiation limits a frontend reads before it publishes its rings. */
static void
vbd_write_limits(struct backend_dev *d)
{
	long nq = sysconf(_SC_NPROCESSORS_ONLN);

	if (nq < 1)
		nq = 1;
	if (nq > BLKBACK_MAX_QUEUES)
		nq = BLKBACK_MAX_QUEUES;
	backend_dev_write(d, XS_TX_NONE, "feature-max-indirect-segments", "%u",
	    BLKBACK_MAX_INDIRECT_SEGS);
	backend_dev_write(d, XS_TX_NONE, "max-ring-page-order", "%u", BLKBACK_MAX_RING_ORDER);
	backend_dev_write(d, XS_TX_NONE, "multi-queue-max-queues", "%ld", nq);
}

/* The image and the keys that shape it; 1 when the toolstack is not done yet. */
static int
vbd_open(struct backend_dev *d, struct vbd *v, const char *target)
{
	char *params = target ? xstrdup(target) : backend_dev_read(d, false, "params");
	char *mode = backend_dev_read(d, false, "mode");
	char *format = backend_dev_read(d, false, "format");
	char *devtype = backend_dev_read(d, false, "device-type");
	char what[64], err[256];
	int rc = -1;

	if (params == NULL || mode == NULL) {
		rc = 1;
		goto out;
	}
	vbd_what(d, what, sizeof(what));
	v->v_readonly = strchr(mode, 'w') == NULL;
	v->v_shared = strcmp(mode, "w!") == 0;
	v->v_cdrom = devtype && strcmp(devtype, "cdrom") == 0;
	if (v->v_cdrom)
		v->v_readonly = true;
	if (format && *format && strcmp(format, "raw") != 0) {
		backend_dev_fail(d, "error", "%s: image %s: format %s is not supported (raw only)",
		    what, params, format);
		goto out;
	}
	if (vbd_image_open(&v->v_img, params, v->v_readonly, err, sizeof(err)) < 0) {
		backend_dev_fail(d, "error", "%s: image %s: %s", what, params, err);
		goto out;
	}
	if (!*v->v_img.vi_path && !v->v_cdrom) {
		backend_dev_fail(d, "error", "%s: no image (params is empty)", what);
		goto out;
	}
	rc = 0;
out:
	free(params);
	free(mode);
	free(format);
	free(devtype);
	return rc;
}

/* The worker's config: geometry, flags, the domain's memory and the image fds. */
static int
vbd_config(struct backend_dev *d, struct vbd *v, struct backend_blob *cfg)
{
	struct hv_foreign_mem mem;
	struct blkback_config c = {
		.bc_sectors = v->v_img.vi_sectors, .bc_sector_size = v->v_img.vi_sector_size,
		.bc_flags = (v->v_readonly ? BLKBACK_F_READONLY : 0) | BLKBACK_F_FLUSH,
	};
	long long discard = backend_dev_read_ull(d, false, "discard-enable", 1, 1);

	if (v->v_img.vi_discard && discard != 0 && !v->v_readonly)
		c.bc_flags |= BLKBACK_F_DISCARD;
	if (hv_foreign_memfd(backend_dev_hv(d), backend_dev_domid(d), &mem) < 0) {
		backend_dev_fail(d, "error", "cannot get domain %u's memory: %s",
		    backend_dev_domid(d), strerror(errno));
		return -1;
	}
	c.bc_mem_pages = mem.nr_pages;
	c.bc_gnttab_pfn = mem.gnttab_pfn;
	c.bc_gnttab_frames = mem.gnttab_frames;
	backend_blob_add_fd(cfg, mem.fd);
	close(mem.fd);
	if (v->v_img.vi_fd_buffered < 0)
		c.bc_flags |= BLKBACK_F_NOMEDIA;
	else {
		backend_blob_add_fd(cfg, v->v_img.vi_fd_buffered);
		if (v->v_img.vi_fd_direct >= 0) {
			c.bc_flags |= BLKBACK_F_DIRECT;
			backend_blob_add_fd(cfg, v->v_img.vi_fd_direct);
		}
	}
	memcpy(cfg->b_data, &c, sizeof(c));
	cfg->b_len = sizeof(c);
	return 0;
}

/* Probe: the device's script if it names one, then the image (refusing a
 * conflicting share), the worker's config, the limits; 1 while waiting. */
static int
vbd_probe(struct backend_dev *d, struct backend_blob *cfg)
{
	struct blkback_state *bs = backend_priv(backend_dev_backend(d));
	struct vbd *v = backend_dev_priv(d), *other;
	char what[64], *target = NULL;
	int rc;

	if (v == NULL) {
		v = xcalloc(1, sizeof(*v));
		v->v_dev = d;
		v->v_domid = backend_dev_domid(d);
		v->v_img.vi_fd_buffered = v->v_img.vi_fd_direct = -1;
		backend_dev_set_priv(d, v);
	}
	if ((rc = vbd_script_add(v, &target)) != 0) {
		if (rc < 0)
			backend_dev_mark_failed(d);
		return rc;
	}
	rc = vbd_open(d, v, target);
	free(target);
	if (rc != 0)
		return rc;
	if ((other = vbd_image_conflict(bs, v)) != NULL) {
		vbd_what(d, what, sizeof(what));
		backend_dev_fail(d, "busy", "%s: image %s is already in use by domain %u (%s, %s); "
		    "mode w! shares it anyway", what, v->v_img.vi_path, other->v_domid,
		    backend_dev_name(other->v_dev), other->v_readonly ? "read-only" : "writable");
		vbd_image_close(&v->v_img);
		return -1;
	}
	rc = vbd_config(d, v, cfg);
	/* the worker holds its own copies now; a loop device lives while they do */
	vbd_image_close(&v->v_img);
	if (rc < 0)
		return -1;
	TAILQ_INSERT_TAIL(&bs->bs_vbds, v, v_entry);
	v->v_listed = true;
	vbd_write_limits(d);
	backend_dev_write(d, XS_TX_NONE, "hotplug-status", "connected");
	log_info("%s: %s%s, %llu sectors%s", backend_dev_name(d), v->v_img.vi_path,
	    v->v_img.vi_loop[0] ? " (loop)" : "", (unsigned long long)v->v_img.vi_sectors,
	    v->v_readonly ? ", read-only" : "");
	return 0;
}

/* Reads one queue's ring refs and event channel; binds the channel. The
 * ring-page-order is the frontend's, for every queue (order VBD_ABSENT: a
 * one-page ring named ring-ref). */
static int
vbd_connect_queue(struct backend_dev *d, const char *dir, long long order,
    struct blkback_ring *ring, struct backend_blob *conn)
{
	char key[64];
	long long ref, port;

	ring->br_order = order == (long long)VBD_ABSENT ? 0 : order;
	for (unsigned i = 0; i < (1u << ring->br_order); i++) {
		if (order == (long long)VBD_ABSENT)
			snprintf(key, sizeof(key), "%sring-ref", dir);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", dir, i);
		ref = backend_dev_read_ull(d, true, key, VBD_ABSENT, UINT32_MAX - 1);
		if (ref < 0 || ref == (long long)VBD_ABSENT) {
			backend_dev_fail(d, NULL, "frontend %s: %s missing or bad",
			    backend_dev_fepath(d), key);
			return -1;
		}
		ring->br_refs[i] = ref;
	}
	snprintf(key, sizeof(key), "%sevent-channel", dir);
	port = backend_dev_read_ull(d, true, key, 0, UINT32_MAX);
	if (port <= 0) {
		backend_dev_fail(d, NULL, "frontend %s: %s missing or bad", backend_dev_fepath(d), key);
		return -1;
	}
	if (backend_dev_bind(d, port, conn) < 0) {
		backend_dev_fail(d, NULL, "frontend %s: cannot bind event channel %lld: %s",
		    backend_dev_fepath(d), port, strerror(errno));
		return -1;
	}
	return 0;
}

/* A zeroed journal for this connection's rings, kept in the CONNECT message
 * the daemon resends to a restarted worker. */
static int
vbd_journal(struct backend_dev *d, const struct blkback_connect *c, struct backend_blob *conn)
{
	size_t len = BLKBACK_JOURNAL_BYTES(c->bk_nr_queues,
	    __CONST_RING_SIZE(blkif, 4096u << c->bk_rings[0].br_order));
	int fd = memfd_create("blkback-journal", MFD_CLOEXEC), rc;

	rc = fd < 0 || ftruncate(fd, (off_t)len) < 0 || backend_blob_add_fd(conn, fd) < 0 ? -1 : 0;
	if (rc < 0)
		backend_dev_fail(d, NULL, "cannot make the request journal: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The frontend published its rings: read them all for the worker's CONNECT. */
static int
vbd_connect(struct backend_dev *d, struct backend_blob *conn)
{
	struct blkback_connect c;
	char *proto = backend_dev_read(d, true, "protocol");
	char *pers = backend_dev_read(d, true, "feature-persistent");
	long long nq = backend_dev_read_ull(d, true, "multi-queue-num-queues", 1, BLKBACK_MAX_QUEUES);
	long long order;
	char dir[32];
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (proto && strcmp(proto, XEN_IO_PROTO_ABI_X86_64) != 0) {
		backend_dev_fail(d, NULL, "frontend %s: protocol %s is not supported (only %s)",
		    backend_dev_fepath(d), proto, XEN_IO_PROTO_ABI_X86_64);
		goto out;
	}
	if (nq < 1) {
		backend_dev_fail(d, NULL, "frontend %s: bad multi-queue-num-queues (1 to %u)",
		    backend_dev_fepath(d), BLKBACK_MAX_QUEUES);
		goto out;
	}
	order = backend_dev_read_ull(d, true, "ring-page-order", VBD_ABSENT, BLKBACK_MAX_RING_ORDER);
	if (order < 0) {
		backend_dev_fail(d, NULL, "frontend %s: bad ring-page-order (at most %u)",
		    backend_dev_fepath(d), BLKBACK_MAX_RING_ORDER);
		goto out;
	}
	c.bk_nr_queues = nq;
	c.bk_persistent = pers && strcmp(pers, "1") == 0;
	for (unsigned q = 0; q < c.bk_nr_queues; q++) {
		if (nq > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", q);
		else
			dir[0] = '\0';
		if (vbd_connect_queue(d, dir, order, &c.bk_rings[q], conn) < 0)
			goto out;
	}
	if (vbd_journal(d, &c, conn) < 0)
		goto out;
	memcpy(conn->b_data, &c, sizeof(c));
	conn->b_len = sizeof(c);
	rc = 0;
out:
	free(proto);
	free(pers);
	return rc;
}

/* The device properties, in the transaction that also writes state 4. */
static int
vbd_publish(struct backend_dev *d, xs_tx_t tx)
{
	struct vbd *v = backend_dev_priv(d);
	unsigned info = (v->v_readonly ? VDISK_READONLY : 0) |
	    (v->v_cdrom ? VDISK_CDROM | VDISK_REMOVABLE : 0);
	bool discard = v->v_img.vi_discard && !v->v_readonly &&
	    backend_dev_read_ull(d, false, "discard-enable", 1, 1) != 0;

	if (backend_dev_write(d, tx, "sectors", "%llu", (unsigned long long)v->v_img.vi_sectors) < 0 ||
	    backend_dev_write(d, tx, "info", "%u", info) < 0 ||
	    backend_dev_write(d, tx, "sector-size", "%u", v->v_img.vi_sector_size) < 0 ||
	    backend_dev_write(d, tx, "physical-sector-size", "%u", v->v_img.vi_phys_sector_size) < 0 ||
	    backend_dev_write(d, tx, "feature-flush-cache", "1") < 0 ||
	    backend_dev_write(d, tx, "feature-persistent", "1") < 0 ||
	    backend_dev_write(d, tx, "feature-discard", "%d", discard) < 0)
		return -1;
	if (discard && (backend_dev_write(d, tx, "discard-granularity", "%u",
	    v->v_img.vi_blockdev ? v->v_img.vi_sector_size : 4096) < 0 ||
	    backend_dev_write(d, tx, "discard-alignment", "0") < 0 ||
	    backend_dev_write(d, tx, "discard-secure", "0") < 0))
		return -1;
	return 0;
}

/* Closing for good: the device's own script's remove, before state 6. */
static int
vbd_unplug(struct backend_dev *d)
{
	struct vbd *v = backend_dev_priv(d);

	return v ? vbd_script_unplug(v) : 0;
}

/* The device is gone: it no longer counts for the sharing check. */
static void
vbd_release(struct backend_dev *d)
{
	struct blkback_state *bs = backend_priv(backend_dev_backend(d));
	struct vbd *v = backend_dev_priv(d);

	if (v == NULL)
		return;
	vbd_script_release(v);
	if (v->v_listed)
		TAILQ_REMOVE(&bs->bs_vbds, v, v_entry);
	vbd_image_close(&v->v_img);
	free(v);
	backend_dev_set_priv(d, NULL);
}

const struct backend_ops blkback_ops = {
	.kind = "vbd",
	.probe = vbd_probe,
	.connect = vbd_connect,
	.publish = vbd_publish,
	.unplug = vbd_unplug,
	.release = vbd_release,
	.w_config = blkworker_config,
	.w_connect = blkworker_connect,
	.w_disconnect = blkworker_disconnect,
};
