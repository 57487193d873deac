/*
 * The worker's libaio context: iocbs are queued while a ring is drained and
 * submitted in one io_submit per batch; completions raise an eventfd on the
 * loop and are reaped without blocking.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "blkw.h"
#include "log.h"
#include "xmalloc.h"

#define BLKIO_REAP	64

struct blkio {
	io_context_t io_ctx;
	int io_efd;
	struct event *io_ev;
	struct iocb **io_batch;
	unsigned io_nbatch, io_depth;
	unsigned io_inflight;
	long long io_submit_us;		/* when the last batch went in */
	void (*io_after)(void *);
	void *io_arg;
};

/* Hands one finished iocb to its ring. */
static void
blkio_done(struct blkio *io, struct io_event *ev)
{
	struct blkring_slot *s = ev->data;

	io->io_inflight--;
	blkring_complete(s, (long long)(long)ev->res);
}

/* Reaps whatever has completed, without blocking. */
static void
blkio_reap(struct blkio *io)
{
	struct io_event evs[BLKIO_REAP];
	struct timespec zero = { 0, 0 };
	int n;

	do {
		n = io_getevents(io->io_ctx, 0, BLKIO_REAP, evs, &zero);
		for (int i = 0; i < n; i++)
			blkio_done(io, &evs[i]);
	} while (n == BLKIO_REAP);
}

/* The completion eventfd fired. */
static void
blkio_on_event(evutil_socket_t fd, short what, void *arg)
{
	uint64_t cnt;

	(void)what;
	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("aio eventfd");
	blkio_reap(arg);
	struct blkio *io = arg;
	blkio_submit(io);	/* buffered retries queued by the completions */
	io->io_after(io->io_arg);
}

/* A context for depth concurrent iocbs, its eventfd on base. */
struct blkio *
blkio_new(struct event_base *base, unsigned depth, void (*after)(void *), void *arg)
{
	struct blkio *io = xcalloc(1, sizeof(*io));
	int rc;

	if ((rc = io_setup(depth, &io->io_ctx)) < 0) {
		free(io);
		errno = -rc;
		return NULL;
	}
	io->io_depth = depth;
	io->io_after = after;
	io->io_arg = arg;
	io->io_batch = xcalloc(depth, sizeof(*io->io_batch));
	io->io_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	io->io_ev = io->io_efd >= 0 ?
	    event_new(base, io->io_efd, EV_READ | EV_PERSIST, blkio_on_event, io) : NULL;
	if (io->io_ev == NULL || event_add(io->io_ev, NULL) < 0) {
		blkio_free(io);
		errno = ENOMEM;
		return NULL;
	}
	return io;
}

/* Adds an iocb to the next io_submit. */
void
blkio_queue(struct blkio *io, struct iocb *iocb)
{
	io_set_eventfd(iocb, io->io_efd);
	if (io->io_nbatch == io->io_depth)
		blkio_submit(io);
	io->io_batch[io->io_nbatch++] = iocb;
}

/* blkw.h */
unsigned
blkio_inflight(const struct blkio *io)
{
	return io->io_inflight + io->io_nbatch;
}

/* blkw.h */
long long
blkio_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* blkw.h */
long long
blkio_since_submit_us(const struct blkio *io)
{
	return blkio_now_us() - io->io_submit_us;
}

/* Submits the batch; iocbs the kernel refuses complete at once with its error. */
void
blkio_submit(struct blkio *io)
{
	unsigned done = 0;

	if (io->io_nbatch > 0)
		io->io_submit_us = blkio_now_us();
	while (done < io->io_nbatch) {
		int n = io_submit(io->io_ctx, io->io_nbatch - done, io->io_batch + done);
		if (n > 0) {
			io->io_inflight += n;
			done += n;
			continue;
		}
		if (n == -EAGAIN || n == -EINTR) {
			blkio_reap(io);
			continue;
		}
		/* the first iocb is bad: fail it alone and go on with the rest */
		struct iocb *bad = io->io_batch[done++];
		blkring_complete(bad->data, n < 0 ? n : -EIO);
	}
	io->io_nbatch = 0;
}

/* Blocks until every submitted iocb has completed. */
void
blkio_drain(struct blkio *io)
{
	struct io_event evs[BLKIO_REAP];

	blkio_submit(io);
	while (io->io_inflight > 0) {
		int n = io_getevents(io->io_ctx, 1, BLKIO_REAP, evs, NULL);
		if (n < 0 && n != -EINTR)
			break;
		for (int i = 0; i < n; i++)
			blkio_done(io, &evs[i]);
		blkio_submit(io);
	}
}

/* Context, eventfd and batch gone (nothing may be in flight). */
void
blkio_free(struct blkio *io)
{
	if (io == NULL)
		return;
	if (io->io_ev)
		event_free(io->io_ev);
	if (io->io_efd >= 0)
		close(io->io_efd);
	io_destroy(io->io_ctx);
	free(io->io_batch);
	free(io);
}
