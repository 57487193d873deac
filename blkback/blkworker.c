/*
 * blkback's worker side of the backend skeleton: CONFIG gives the domain's
 * memory and the image descriptors; CONNECT the rings and their event
 * channels; DISCONNECT finishes in-flight I/O and unmaps every grant.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "backend.h"
#include "blkw.h"
#include "libhv.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

/* Keeps the config's descriptors and maps the domain's memory. */
int
blkworker_config(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds)
{
	struct blkback_config cfg;
	struct blkw *bw;
	bool media;

	if (len != sizeof(cfg) || nfds < 1) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&cfg, blob, sizeof(cfg));
	media = !(cfg.bc_flags & BLKBACK_F_NOMEDIA);
	if (nfds != 1 + media + (media && (cfg.bc_flags & BLKBACK_F_DIRECT))) {
		errno = EPROTO;
		return -1;
	}
	bw = xcalloc(1, sizeof(*bw));
	bw->bw_w = w;
	bw->bw_domid = backend_worker_domid(w);
	struct hv_foreign_mem mem = { .fd = fds[BLKBACK_FD_MEM], .nr_pages = cfg.bc_mem_pages,
	    .gnttab_pfn = cfg.bc_gnttab_pfn, .gnttab_frames = cfg.bc_gnttab_frames };
	if ((bw->bw_hv = hv_open_foreign(bw->bw_domid, &mem)) == NULL)
		return -1;
	bw->bw_gt = hv_gnttab_open(bw->bw_hv);
	bw->bw_mem = hv_foreign_map(bw->bw_hv, bw->bw_domid, PROT_READ | PROT_WRITE, 0, 1);
	bw->bw_mem_pages = cfg.bc_mem_pages;
	bw->bw_memfd = fds[BLKBACK_FD_MEM];
	bw->bw_fd_buffered = media ? fds[BLKBACK_FD_BUFFERED] : -1;
	bw->bw_fd_direct = nfds > BLKBACK_FD_DIRECT ? fds[BLKBACK_FD_DIRECT] : -1;
	bw->bw_lim = (struct blkreq_limits){
		.sectors = cfg.bc_sectors, .sector_size = cfg.bc_sector_size,
		.readonly = cfg.bc_flags & BLKBACK_F_READONLY,
		.discard = cfg.bc_flags & BLKBACK_F_DISCARD,
		.flush = cfg.bc_flags & BLKBACK_F_FLUSH,
		.max_indirect = BLKBACK_MAX_INDIRECT_SEGS,
	};
	backend_worker_set_priv(w, bw);
	log_debug("config: %llu sectors of %u bytes%s%s", (unsigned long long)cfg.bc_sectors,
	    cfg.bc_sector_size, bw->bw_lim.readonly ? ", read-only" : "",
	    bw->bw_fd_direct >= 0 ? ", O_DIRECT" : ", buffered");
	return 0;
}

/* After a batch of completions: the responses go out, and requests the
 * frontend queued meanwhile are taken now rather than after its next event. */
static void
blkworker_after_io(void *arg)
{
	struct blkw *bw = arg;

	for (unsigned q = 0; q < bw->bw_nrings; q++) {
		blkring_flush(bw->bw_rings[q]);
		blkring_kick(bw->bw_rings[q]);
	}
}

/* Undoes a connect, in-flight I/O first. */
void
blkworker_disconnect(struct backend_worker *w)
{
	struct blkw *bw = backend_worker_priv(w);

	if (bw->bw_io)
		blkio_drain(bw->bw_io);
	for (unsigned q = 0; q < bw->bw_nrings; q++) {
		blkring_flush(bw->bw_rings[q]);
		blkring_free(bw->bw_rings[q]);
		bw->bw_rings[q] = NULL;
	}
	bw->bw_nrings = 0;
	if (bw->bw_journal)
		munmap(bw->bw_journal, bw->bw_journal_len);
	bw->bw_journal = NULL;
	blkgrant_free(bw->bw_grants);
	bw->bw_grants = NULL;
	blkio_free(bw->bw_io);
	bw->bw_io = NULL;
	bw->bw_broken = false;
}

/* Maps every queue's ring and serves what is already in them. */
int
blkworker_connect(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds)
{
	struct blkw *bw = backend_worker_priv(w);
	struct blkback_connect c;
	unsigned depth = 0, ring_size;
	struct stat st;

	if (len != sizeof(c))
		goto proto;
	memcpy(&c, blob, sizeof(c));
	if (c.bk_nr_queues == 0 || c.bk_nr_queues > BLKBACK_MAX_QUEUES ||
	    nfds != 2 * (int)c.bk_nr_queues + 1)
		goto proto;
	for (unsigned q = 0; q < c.bk_nr_queues; q++) {
		if (c.bk_rings[q].br_order != c.bk_rings[0].br_order)
			goto proto;
		depth += __CONST_RING_SIZE(blkif, 4096u << c.bk_rings[q].br_order);
	}
	if (c.bk_rings[0].br_order > BLKBACK_MAX_RING_ORDER)
		goto proto;
	ring_size = __CONST_RING_SIZE(blkif, 4096u << c.bk_rings[0].br_order);
	/* the daemon's journal, from the connect a crashed worker left behind */
	bw->bw_journal_len = BLKBACK_JOURNAL_BYTES(c.bk_nr_queues, ring_size);
	if (fstat(fds[nfds - 1], &st) < 0 || (size_t)st.st_size != bw->bw_journal_len)
		goto proto;
	bw->bw_journal = mmap(NULL, bw->bw_journal_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fds[nfds - 1], 0);
	close(fds[--nfds]);
	if (bw->bw_journal == MAP_FAILED) {
		bw->bw_journal = NULL;
		msg_close_fds(fds, nfds);
		return -1;
	}
	if ((bw->bw_io = blkio_new(backend_worker_base(w), depth, blkworker_after_io, bw)) == NULL) {
		int saved = errno;
		msg_close_fds(fds, nfds);
		blkworker_disconnect(w);
		errno = saved;
		return -1;
	}
	bw->bw_grants = blkgrant_new(bw->bw_gt, bw->bw_domid,
	    c.bk_persistent ? BLKBACK_PERSISTENT_PER_QUEUE * c.bk_nr_queues : 0);
	for (unsigned q = 0; q < c.bk_nr_queues; q++) {
		bw->bw_rings[q] = blkring_new(bw, q, &c.bk_rings[q], fds[2 * q], fds[2 * q + 1],
		    bw->bw_journal + q * ring_size);
		if (bw->bw_rings[q] == NULL) {
			int saved = errno;
			msg_close_fds(fds + 2 * q + 2, nfds - 2 * q - 2);
			blkworker_disconnect(w);
			errno = saved;
			return -1;
		}
		bw->bw_nrings = q + 1;
	}
	log_debug("connected: %u queue(s), %s grants", bw->bw_nrings,
	    c.bk_persistent ? "persistent" : "per-request");
	for (unsigned q = 0; q < bw->bw_nrings; q++)
		blkring_kick(bw->bw_rings[q]);
	return 0;
proto:
	msg_close_fds(fds, nfds);
	errno = EPROTO;
	return -1;
}
