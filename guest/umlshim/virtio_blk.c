/*
 * A virtio-blk device on a vhost-user session: its features and config space,
 * and its requests (a 16-byte header the driver wrote: type, reserved, sector;
 * the data; a status byte we write) taken off the one queue, checked against
 * the disk's size and mode, and handed to the owner, who reads or writes the
 * data in place in the front-end's memory, now or later. GET_ID is answered
 * here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vhost_user.h"
#include "xmalloc.h"

#define VBLK_HDR	16u
#define VBLK_SECTOR	512u

struct vblk {
	struct vhu_dev vb_dev;
	struct vhu_dev_ops vb_ops;
	struct vblk_params vb_p;
	char vb_name[64];
	unsigned vb_inflight;
	struct vblk_req *vb_free;	/* requests to reuse */
};

static uint64_t
vblk_features(void *arg)
{
	struct vblk *vb = arg;

	return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_INDIRECT_DESC) |
	    (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
	    (vb->vb_p.size_max ? 1ull << VIRTIO_BLK_F_SIZE_MAX : 0) |
	    (vb->vb_p.flush ? 1ull << VIRTIO_BLK_F_FLUSH : 0) |
	    (vb->vb_p.ro ? 1ull << VIRTIO_BLK_F_RO : 0);
}

/* The config space's first fields: capacity at 0, size_max at 8, seg_max at
 * 12, blk_size at 20. */
static void
vblk_get_config(void *arg, uint32_t off, void *buf, uint32_t len)
{
	struct vblk *vb = arg;
	uint8_t cfg[64];
	uint32_t seg_max = vb->vb_p.seg_max, blk_size = VBLK_SECTOR;

	memset(cfg, 0, sizeof(cfg));
	memcpy(cfg + 0, &vb->vb_p.sectors, 8);
	memcpy(cfg + 8, &vb->vb_p.size_max, 4);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 20, &blk_size, 4);
	if (off < sizeof(cfg))
		memcpy(buf, cfg + off, len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

/* The owner polls the kick fd: it hears when the front-end replaces it. */
static void
vblk_kick_changed(void *arg, unsigned q, int oldfd, int newfd)
{
	struct vblk *vb = arg;

	(void)q;
	if (vb->vb_p.kick_changed)
		vb->vb_p.kick_changed(vb->vb_p.arg, oldfd, newfd);
}

/* Requests out keep the front-end's memory mapped. */
static bool
vblk_busy(void *arg)
{
	struct vblk *vb = arg;

	return vb->vb_inflight > 0;
}

/* A virtio-blk device on an accepted vhost-user connection. */
struct vblk *
vblk_new(int sockfd, const char *name, const struct vblk_params *p)
{
	struct vblk *vb = xcalloc(1, sizeof(*vb));

	vb->vb_p = *p;
	if (vb->vb_p.seg_max == 0 || vb->vb_p.seg_max > VBLK_SEG_MAX)
		vb->vb_p.seg_max = VBLK_SEG_MAX;
	snprintf(vb->vb_name, sizeof(vb->vb_name), "%s", name);
	vb->vb_ops = (struct vhu_dev_ops){
		.features = vblk_features, .get_config = vblk_get_config,
		.kick_changed = vblk_kick_changed, .busy = vblk_busy, .nqueues = 1,
	};
	vhu_dev_init(&vb->vb_dev, sockfd, vb->vb_name, &vb->vb_ops, vb);
	return vb;
}

/* Requests still with the owner are the owner's to finish first. */
void
vblk_free(struct vblk *vb)
{
	struct vblk_req *r;

	if (vb == NULL)
		return;
	vhu_dev_close(&vb->vb_dev);
	while ((r = vb->vb_free) != NULL) {
		vb->vb_free = r->r_next;
		free(r);
	}
	free(vb);
}

/* The connection the owner polls. */
int
vblk_sockfd(const struct vblk *vb)
{
	return vb->vb_dev.d_fd;
}

/* What the owner still holds (to wait for before vblk_free). */
unsigned
vblk_inflight(const struct vblk *vb)
{
	return vb->vb_inflight;
}

/* A message on the connection. */
int
vblk_dispatch(struct vblk *vb)
{
	return vhu_dev_dispatch(&vb->vb_dev) < 0 ? -1 : 0;
}

/* The header, which the driver may split over descriptors; copied out. */
static int
vblk_header(struct vhu_chain *c, uint32_t *type, uint64_t *sector, unsigned *seg, size_t *off)
{
	uint8_t hdr[VBLK_HDR];
	size_t got = 0;

	*seg = 0;
	*off = 0;
	while (got < VBLK_HDR && *seg < c->c_nout) {
		size_t k = c->c_iov[*seg].iov_len - *off;
		if (k > VBLK_HDR - got)
			k = VBLK_HDR - got;
		memcpy(hdr + got, (uint8_t *)c->c_iov[*seg].iov_base + *off, k);
		got += k;
		*off += k;
		if (*off == c->c_iov[*seg].iov_len) {
			(*seg)++;
			*off = 0;
		}
	}
	if (got < VBLK_HDR)
		return -1;
	memcpy(type, hdr, 4);
	memcpy(sector, hdr + 8, 8);
	return 0;
}

/* Makes r_iov the data segments [from, to) of the chain, the first trimmed by off. */
static void
vblk_slice(struct vblk_req *r, unsigned from, size_t off, unsigned to)
{
	struct vhu_chain *c = &r->r_chain;

	r->r_iov = &c->c_iov[from];
	r->r_niov = to > from ? to - from : 0;
	if (r->r_niov && off) {
		c->c_iov[from].iov_base = (uint8_t *)c->c_iov[from].iov_base + off;
		c->c_iov[from].iov_len -= off;
	}
	r->r_len = 0;
	for (unsigned i = 0; i < r->r_niov; i++)
		r->r_len += r->r_iov[i].iov_len;
}

/* Parses one chain; the status byte is the last writable byte. Returns the
 * status to answer at once, or -1 if the request goes to the owner. */
static int
vblk_parse(struct vblk *vb, struct vblk_req *r)
{
	struct vhu_chain *c = &r->r_chain;
	unsigned seg, last, end;
	size_t off;

	if (c->c_nin == 0 || vblk_header(c, &r->r_type, &r->r_sector, &seg, &off) < 0)
		return -2;
	last = c->c_nout + c->c_nin - 1;
	r->r_status = (uint8_t *)c->c_iov[last].iov_base + c->c_iov[last].iov_len - 1;
	c->c_iov[last].iov_len--;
	/* a status in a descriptor of its own leaves no segment of data there */
	end = c->c_iov[last].iov_len > 0 ? last + 1 : last;
	switch (r->r_type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (seg != c->c_nout)
			return VIRTIO_BLK_S_IOERR;	/* readable data after a read's header */
		vblk_slice(r, c->c_nout, 0, end);
		break;
	case VIRTIO_BLK_T_OUT:
		vblk_slice(r, seg, off, c->c_nout);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->r_niov = 0;
		r->r_len = 0;
		break;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (r->r_type == VIRTIO_BLK_T_GET_ID) {
		char id[VIRTIO_BLK_ID_BYTES];
		size_t done = 0;
		memset(id, 0, sizeof(id));
		strncpy(id, vb->vb_p.serial ? vb->vb_p.serial : "", sizeof(id));
		for (unsigned i = 0; i < r->r_niov && done < sizeof(id); i++) {
			size_t k = r->r_iov[i].iov_len < sizeof(id) - done ?
			    r->r_iov[i].iov_len : sizeof(id) - done;
			memcpy(r->r_iov[i].iov_base, id + done, k);
			done += k;
		}
		return VIRTIO_BLK_S_OK;
	}
	if (r->r_type == VIRTIO_BLK_T_FLUSH)
		return vb->vb_p.flush ? -1 : VIRTIO_BLK_S_UNSUPP;
	/* past the limits offered: the owner may take no more */
	if (r->r_niov > vb->vb_p.seg_max || (vb->vb_p.size_max &&
	    r->r_len > (uint64_t)vb->vb_p.seg_max * vb->vb_p.size_max))
		return VIRTIO_BLK_S_IOERR;
	if (r->r_len % VBLK_SECTOR || r->r_sector > vb->vb_p.sectors ||
	    r->r_len / VBLK_SECTOR > vb->vb_p.sectors - r->r_sector)
		return VIRTIO_BLK_S_IOERR;
	if (r->r_type == VIRTIO_BLK_T_OUT && vb->vb_p.ro)
		return VIRTIO_BLK_S_IOERR;
	return -1;
}

/* A request record, reused: a request is 8 KiB of iovecs. */
static struct vblk_req *
vblk_req_get(struct vblk *vb)
{
	struct vblk_req *r = vb->vb_free;

	if (r)
		vb->vb_free = r->r_next;
	else
		r = xmalloc(sizeof(*r));
	r->r_vb = vb;
	r->r_owner = NULL;
	r->r_next = NULL;
	return r;
}

/* Everything on the ring goes to the owner, or is answered here if it is bad. */
void
vblk_kick(struct vblk *vb)
{
	struct vhu_dev *d = &vb->vb_dev;
	struct vhu_vq *q = &d->d_vq[0];

	vhu_vq_drain_kick(q);
	while (vhu_dev_queue_ready(d, 0)) {
		struct vblk_req *r = vblk_req_get(vb);
		int rc = vhu_vq_pop(q, &d->d_mem, &r->r_chain);

		if (rc <= 0) {
			r->r_next = vb->vb_free;
			vb->vb_free = r;
			if (rc == 0)
				break;
			log_warnx("%s: a malformed chain", vb->vb_name);
			continue;
		}
		r->r_head = r->r_chain.c_head;
		r->r_epoch = q->q_epoch;
		vb->vb_inflight++;
		rc = vblk_parse(vb, r);
		if (rc == -2) {
			/* no room for a status: given back empty */
			log_warnx("%s: a request without header or status", vb->vb_name);
			vb->vb_inflight--;
			vhu_vq_push(q, r->r_head, 0);
			r->r_next = vb->vb_free;
			vb->vb_free = r;
		} else if (rc >= 0) {
			vblk_complete(r, (uint8_t)rc);
		} else {
			vb->vb_p.submit(vb->vb_p.arg, r);
		}
	}
	vblk_flush_calls(vb);
}

/* The owner's answer: the status byte, then the used entry; neither when the
 * ring was stopped or reset since the request was taken. */
void
vblk_complete(struct vblk_req *r, uint8_t status)
{
	struct vblk *vb = r->r_vb;
	struct vhu_vq *q = &vb->vb_dev.d_vq[0];
	uint32_t written = 1;

	if (r->r_epoch == q->q_epoch) {
		*r->r_status = status;
		if ((r->r_type == VIRTIO_BLK_T_IN || r->r_type == VIRTIO_BLK_T_GET_ID) &&
		    status == VIRTIO_BLK_S_OK)
			written += (uint32_t)(r->r_type == VIRTIO_BLK_T_GET_ID &&
			    r->r_len > VIRTIO_BLK_ID_BYTES ? VIRTIO_BLK_ID_BYTES : r->r_len);
		vhu_vq_push(q, r->r_head, written);
	}
	vb->vb_inflight--;
	r->r_next = vb->vb_free;
	vb->vb_free = r;
}

/* One call for everything answered since the last. */
void
vblk_flush_calls(struct vblk *vb)
{
	vhu_vq_notify(&vb->vb_dev.d_vq[0]);
}
