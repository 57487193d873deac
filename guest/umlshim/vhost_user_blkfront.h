/*
 * A virtio-blk device (vhost_user.h) whose disk is a blkfront, for the shim:
 * each virtio request goes to blkfront as one blkif request over the
 * virtqueue's own buffers (bio_iov: one copy each way, between UML's memory
 * and the granted pages) and is answered when blkback answers, in whatever
 * order. It runs on the guest's event loop: the socket and the kick eventfd
 * are watched descriptors, so events_loop_once drives it.
 *
 * The limits offered follow blkfront (seg_max segments of 4 KiB make one
 * blkif request at most), so no virtio request is ever split; one refused
 * with EAGAIN (ring or page pool full) waits and is queued again from the
 * next completion. Flush is offered when the backend flushes, read-only when
 * the disk is.
 */
#ifndef UMLSHIM_VHOST_USER_BLKFRONT_H
#define UMLSHIM_VHOST_USER_BLKFRONT_H

#include <stdbool.h>

#include "blkfront.h"
#include "guest.h"

struct vhubf;
/* The front-end closed the socket (UML ended): the owner frees the device. */
typedef void vhubf_gone_fn(struct vhubf *vh, void *arg);

/* Serves bf on the accepted connection sockfd (taken over); name is for messages. */
struct vhubf *vhubf_new(struct guest *g, struct blkfront *bf, int sockfd, const char *name,
    vhubf_gone_fn *gone, void *arg);
/* Stops watching and answers what waits; what blkfront still holds keeps the
 * front-end's memory mapped until it is answered, then everything goes. Call
 * it before blkfront_close on the same disk. */
void vhubf_free(struct vhubf *vh);
/* Requests taken from the ring and not answered yet. */
unsigned vhubf_inflight(const struct vhubf *vh);
/* Requests so far that found blkfront's ring or pool full and waited. */
unsigned long vhubf_waited(const struct vhubf *vh);
/* Whether the front-end is still connected. */
bool vhubf_connected(const struct vhubf *vh);
/* From now on answers only write the used ring; the owner signals them with
 * vhubf_flush_calls once per round of its loop (one call for a batch of
 * blkback's answers). */
void vhubf_batch_calls(struct vhubf *vh);
void vhubf_flush_calls(struct vhubf *vh);

#endif
