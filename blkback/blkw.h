/* A blkback worker's state, shared by its files (worker side only). */
#ifndef PVSTACK_BLKW_H
#define PVSTACK_BLKW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <libaio.h>

#include "xen_ring.h"
#include <xen/io/blkif.h>

#include "blkback.h"
#include "blkreq.h"

struct backend_worker;
struct event;
struct hv;
struct hv_gnttab;
struct blkio;
struct blkgrant;
struct blkring;

/* One request taken from the ring and not yet answered. */
struct blkring_slot {
	struct iocb s_iocb;
	struct blkring *s_ring;
	uint64_t s_id;
	uint8_t s_op;			/* echoed operation */
	int16_t s_status;
	bool s_buffered;
	long long s_expect;		/* bytes the I/O must move */
	struct iovec s_iov_inline[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	struct iovec *s_iov;		/* s_iov_inline, or heap for indirect */
	unsigned s_niov;
	uint32_t s_grefs_inline[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	uint32_t *s_grefs;		/* transient grant maps to undo at completion */
	unsigned s_ngrefs;
};

struct blkring {
	struct blkw *r_bw;
	unsigned r_queue;
	blkif_back_ring_t r_br;
	void *r_va;			/* the shared ring */
	size_t r_len;
	bool r_mmapped;			/* r_va is our own contiguous view (order > 0) */
	uint32_t r_refs[BLKBACK_MAX_RING_PAGES];
	unsigned r_nrefs;
	int r_wait_fd, r_signal_fd;
	struct event *r_ev;
	struct blkring_slot *r_slots;	/* RING_SIZE of them: at most that many unanswered */
	struct blkring_slot **r_free;	/* a stack of the idle ones */
	unsigned r_nfree;
	struct blkring_slot **r_done;	/* finished, in completion order, to answer */
	struct blkback_journal_entry *r_journal;	/* entry i is slot i's */
	unsigned r_ndone;
	unsigned r_inflight;
};

struct blkw {
	struct backend_worker *bw_w;
	uint32_t bw_domid;
	struct hv *bw_hv;
	struct hv_gnttab *bw_gt;
	uint8_t *bw_mem;		/* the domain's memory, mapped whole */
	uint64_t bw_mem_pages;
	int bw_memfd;
	int bw_fd_buffered, bw_fd_direct;	/* -1 when absent */
	struct blkreq_limits bw_lim;
	struct blkio *bw_io;
	struct blkgrant *bw_grants;
	struct blkring *bw_rings[BLKBACK_MAX_QUEUES];
	unsigned bw_nrings;
	bool bw_broken;			/* a ring was malformed: serve nothing more */
	struct blkback_journal_entry *bw_journal;	/* every queue's, the daemon's memfd */
	size_t bw_journal_len;
	struct blkreq bw_req;		/* scratch for the request being decoded */
	struct blkif_request_segment bw_segs[BLKREQ_MAX_SEGS];
};

/* blkring.c */
struct blkring *blkring_new(struct blkw *bw, unsigned queue, const struct blkback_ring *info,
    int wait_fd, int signal_fd, struct blkback_journal_entry *journal);
void blkring_free(struct blkring *r);
void blkring_kick(struct blkring *r);
/* Pushes the responses that completed since the last push. */
void blkring_flush(struct blkring *r);
/* Called by blkio when one of the ring's I/Os finished with res (bytes or -errno). */
void blkring_complete(struct blkring_slot *s, long long res);

/* blkio.c: one libaio context per worker, completions through an eventfd. */
struct event_base;
/* after(arg) runs once per batch of completions, to push responses. */
struct blkio *blkio_new(struct event_base *base, unsigned depth, void (*after)(void *), void *arg);
void blkio_free(struct blkio *io);
void blkio_queue(struct blkio *io, struct iocb *iocb);
void blkio_submit(struct blkio *io);
/* Waits until nothing is in flight (disconnect). */
void blkio_drain(struct blkio *io);
/* iocbs submitted or queued and not yet completed. */
unsigned blkio_inflight(const struct blkio *io);
/* Monotonic microseconds (the worker's one clock). */
long long blkio_now_us(void);
/* Microseconds since the last io_submit. */
long long blkio_since_submit_us(const struct blkio *io);

/* blkgrant.c: guest pages by grant ref, kept mapped when the frontend is persistent. */
struct blkgrant *blkgrant_new(struct hv_gnttab *gt, uint32_t domid, unsigned max_persistent);
void blkgrant_free(struct blkgrant *g);
/* The page; *transient when the caller must blkgrant_put it after use. NULL: errno. */
void *blkgrant_get(struct blkgrant *g, uint32_t gref, bool write, bool *transient);
void blkgrant_put(struct blkgrant *g, uint32_t gref);
unsigned blkgrant_count(const struct blkgrant *g);

#endif
