/*
 * virtio-blk requests to blkfront and back: the vblk library's owner for a
 * disk of the guest (vhost_user_blkfront.h says what it promises).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vhost_user.h"
#include "vhost_user_blkfront.h"
#include "xmalloc.h"

#define VHUBF_SEG	4096u		/* size_max: one granted page per segment */

/* One virtio request on its way through blkfront. */
struct vhubf_req {
	struct blkfront_io q_io;
	struct vblk_req *q_r;
	struct vhubf *q_vh;
	struct vhubf_req *q_next;	/* waiting for a slot, or free */
};

struct vhubf {
	struct guest *vh_g;
	struct blkfront *vh_bf;
	struct vblk *vh_vb;
	int vh_sock, vh_kick;		/* watched while >= 0 */
	bool vh_freeing;
	bool vh_batched;		/* the owner signals calls once per loop round */
	unsigned vh_out;		/* taken from the ring, not answered */
	unsigned long vh_waited;	/* requests that found blkfront full */
	struct vhubf_req *vh_wait, **vh_wait_tail, *vh_free;
	vhubf_gone_fn *vh_gone;
	void *vh_arg;
	char vh_name[64];
};

/* The request's answer on the ring, and its record back to the free list. */
static void
vhubf_answer(struct vhubf *vh, struct vhubf_req *q, int err)
{
	uint8_t status = err == 0 ? VIRTIO_BLK_S_OK :
	    err == EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;

	if (err != 0 && err != EOPNOTSUPP)
		log_warnx("%s: request at sector %llu: %s", vh->vh_name,
		    (unsigned long long)q->q_r->r_sector, strerror(err));
	vblk_complete(q->q_r, status);
	vh->vh_out--;
	q->q_next = vh->vh_free;
	vh->vh_free = q;
}

/* Gives blkfront what waits, in order, until it refuses again; once the
 * device is going, what waits is answered with an error instead. */
static void
vhubf_retry(struct vhubf *vh)
{
	struct vhubf_req *q;

	while ((q = vh->vh_wait) != NULL) {
		int err = vh->vh_freeing ? ESHUTDOWN : 0;
		if (err == 0 && blkfront_queue(vh->vh_bf, &q->q_io) < 0) {
			if (errno == EAGAIN)
				return;
			err = errno;
		}
		vh->vh_wait = q->q_next;
		if (vh->vh_wait == NULL)
			vh->vh_wait_tail = &vh->vh_wait;
		if (err != 0)
			vhubf_answer(vh, q, err);
	}
}

/* The last answer of a device being freed frees it. */
static void
vhubf_release(struct vhubf *vh)
{
	if (!vh->vh_freeing || vh->vh_out > 0)
		return;
	vblk_free(vh->vh_vb);
	while (vh->vh_free != NULL) {
		struct vhubf_req *q = vh->vh_free;
		vh->vh_free = q->q_next;
		free(q);
	}
	free(vh);
}

/* blkfront's completion: slots are free again, so what waits goes first,
 * then this answer and its call. */
static void
vhubf_done(struct blkfront_io *io, void *arg)
{
	struct vhubf_req *q = arg;
	struct vhubf *vh = q->q_vh;

	vhubf_retry(vh);
	vhubf_answer(vh, q, io->bio_error);
	if (!vh->vh_batched || vh->vh_freeing)
		vblk_flush_calls(vh->vh_vb);
	vhubf_release(vh);
}

/* vblk's submit: the request as a blkif one over its own buffers. */
static void
vhubf_submit(void *arg, struct vblk_req *r)
{
	struct vhubf *vh = arg;
	struct vhubf_req *q = vh->vh_free;

	if (q != NULL)
		vh->vh_free = q->q_next;
	else
		q = xmalloc(sizeof(*q));
	*q = (struct vhubf_req){ .q_r = r, .q_vh = vh };
	q->q_io.bio_done = vhubf_done;
	q->q_io.bio_arg = q;
	vh->vh_out++;
	switch (r->r_type) {
	case VIRTIO_BLK_T_FLUSH:
		q->q_io.bio_op = BLKIF_OP_FLUSH_DISKCACHE;
		break;
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->r_len == 0) {
			vhubf_answer(vh, q, 0);
			return;
		}
		q->q_io.bio_op = r->r_type == VIRTIO_BLK_T_IN ? BLKIF_OP_READ : BLKIF_OP_WRITE;
		q->q_io.bio_sector = r->r_sector;
		q->q_io.bio_nsect = (uint32_t)(r->r_len / 512);
		q->q_io.bio_iov = r->r_iov;
		q->q_io.bio_iovcnt = r->r_niov;
		break;
	default:
		vhubf_answer(vh, q, EOPNOTSUPP);
		return;
	}
	if (vh->vh_wait == NULL && blkfront_queue(vh->vh_bf, &q->q_io) == 0)
		return;
	if (vh->vh_wait == NULL && errno != EAGAIN) {
		vhubf_answer(vh, q, errno);
		return;
	}
	vh->vh_waited++;
	q->q_next = NULL;
	*vh->vh_wait_tail = q;
	vh->vh_wait_tail = &q->q_next;
}

/* The kick eventfd: every new request to blkfront, published in one push. */
static void
vhubf_kick(int fd, short revents, void *arg)
{
	struct vhubf *vh = arg;

	(void)fd;
	(void)revents;
	vblk_kick(vh->vh_vb);
	blkfront_kick(vh->vh_bf);
}

/* UML replaced (or dropped) the queue's kick eventfd. */
static void
vhubf_kick_changed(void *arg, int oldfd, int newfd)
{
	struct vhubf *vh = arg;

	(void)oldfd;
	if (vh->vh_kick >= 0)
		events_unwatch_fd(vh->vh_g->g_ev, vh->vh_kick);
	vh->vh_kick = -1;
	if (newfd >= 0 && !vh->vh_freeing &&
	    events_watch_fd(vh->vh_g->g_ev, newfd, POLLIN, vhubf_kick, vh) == 0)
		vh->vh_kick = newfd;
	else if (newfd >= 0)
		log_warnx("%s: cannot watch the kick eventfd", vh->vh_name);
}

/* Stops both watches. */
static void
vhubf_unwatch(struct vhubf *vh)
{
	if (vh->vh_sock >= 0)
		events_unwatch_fd(vh->vh_g->g_ev, vh->vh_sock);
	if (vh->vh_kick >= 0)
		events_unwatch_fd(vh->vh_g->g_ev, vh->vh_kick);
	vh->vh_sock = vh->vh_kick = -1;
}

/* A message on the socket; the end of the session tells the owner. */
static void
vhubf_message(int fd, short revents, void *arg)
{
	struct vhubf *vh = arg;

	(void)fd;
	(void)revents;
	if (vblk_dispatch(vh->vh_vb) == 0)
		return;
	log_info("%s: the front-end has gone", vh->vh_name);
	vhubf_unwatch(vh);
	if (vh->vh_gone != NULL)
		vh->vh_gone(vh, vh->vh_arg);
}

struct vhubf *
vhubf_new(struct guest *g, struct blkfront *bf, int sockfd, const char *name,
    vhubf_gone_fn *gone, void *arg)
{
	struct vhubf *vh = xcalloc(1, sizeof(*vh));
	const struct blkfront_info *bi = blkfront_info(bf);

	vh->vh_g = g;
	vh->vh_bf = bf;
	vh->vh_kick = -1;
	vh->vh_wait_tail = &vh->vh_wait;
	vh->vh_gone = gone;
	vh->vh_arg = arg;
	snprintf(vh->vh_name, sizeof(vh->vh_name), "%s", name);
	struct vblk_params p = {
		.sectors = bi->bi_sectors, .ro = bi->bi_readonly, .flush = bi->bi_flush,
		.serial = blkfront_name(bf), .size_max = VHUBF_SEG,
		.seg_max = blkfront_max_sectors(bf) / (VHUBF_SEG / 512),
		.submit = vhubf_submit, .kick_changed = vhubf_kick_changed, .arg = vh,
	};
	vh->vh_vb = vblk_new(sockfd, vh->vh_name, &p);
	if (events_watch_fd(g->g_ev, sockfd, POLLIN, vhubf_message, vh) < 0) {
		int saved = errno;
		vblk_free(vh->vh_vb);
		free(vh);
		errno = saved;
		return NULL;
	}
	vh->vh_sock = sockfd;
	return vh;
}

void
vhubf_free(struct vhubf *vh)
{
	if (vh == NULL)
		return;
	vhubf_unwatch(vh);
	vh->vh_freeing = true;
	vhubf_retry(vh);
	if (vh->vh_vb != NULL)
		vblk_flush_calls(vh->vh_vb);
	vhubf_release(vh);
}

unsigned
vhubf_inflight(const struct vhubf *vh)
{
	return vh->vh_out;
}

bool
vhubf_connected(const struct vhubf *vh)
{
	return vh->vh_sock >= 0;
}

unsigned long
vhubf_waited(const struct vhubf *vh)
{
	return vh->vh_waited;
}

void
vhubf_batch_calls(struct vhubf *vh)
{
	vh->vh_batched = true;
}

void
vhubf_flush_calls(struct vhubf *vh)
{
	if (!vh->vh_freeing)
		vblk_flush_calls(vh->vh_vb);
}
