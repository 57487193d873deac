/* One domain's console data path: ring -> buffer -> pty and pty -> ring,
 * with the event-storm rate limit. */
#include <errno.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "condom.h"
#include "conlog.h"
#include "consoled.h"
#include "libhv.h"
#include "log.h"
#include "ring.h"

#define CONDOM_IO_PASSES	2	/* ring-fulls per turn, so one guest cannot starve others */
#define CONDOM_IO_INPOLL_MS	20	/* in ring full: look again this often */

static void condom_io_drain(struct condom *dom);

/* A monotonic clock for the rate and reader timers: wall-clock jumps must not mask a port. */
static void
condom_io_now(struct timeval *tv)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
}

/* Logs corrupt indices, the first time and then every 1000th. */
static void
condom_io_corrupt(struct condom *dom, const char *ring)
{
	if (dom->dom_corrupt++ % 1000 == 0)
		log_warnx("dom/%u: impossible %s ring indices (seen %lu times), reset",
		    dom->dom_domid, ring, dom->dom_corrupt);
}

/* Counts an event; past the allowance masks the port until the period ends. */
static void
condom_io_rate(struct condom *dom)
{
	struct timeval now, diff, left, period = { 0, CONSOLED_RATE_PERIOD_MS * 1000 };

	if (dom->dom_cd->cd_rate_events == 0)
		return;
	condom_io_now(&now);
	timersub(&now, &dom->dom_period, &diff);
	if (!timercmp(&diff, &period, <)) {
		dom->dom_period = now;
		dom->dom_events = 0;
		diff.tv_sec = diff.tv_usec = 0;
	}
	if (++dom->dom_events < dom->dom_cd->cd_rate_events)
		return;
	timersub(&period, &diff, &left);
	dom->dom_throttled = 1;
	event_del(dom->dom_evtchn_ev);
	evtimer_add(dom->dom_throttle_ev, &left);
	log_debug("dom/%u: event storm, port masked", dom->dom_domid);
}

/*
 * True when one more turn could push the buffer past its bound while a
 * reader is still taking output: then the guest waits (its ring stays full)
 * rather than lose bytes. A reader idle for the grace period does not count.
 */
static int
condom_io_must_wait(struct condom *dom)
{
	struct timeval now, idle, left, grace = {
		CONSOLED_READER_GRACE_MS / 1000, (CONSOLED_READER_GRACE_MS % 1000) * 1000,
	};

	if (dom->dom_buf.cbuf_len + CONDOM_IO_PASSES * RING_OUT_SIZE <= cbuf_max_bytes(&dom->dom_buf))
		return 0;
	condom_io_now(&now);
	timersub(&now, &dom->dom_progress, &idle);
	if (!timercmp(&idle, &grace, <))
		return 0;
	timersub(&grace, &idle, &left);
	if (!dom->dom_stalled)
		log_debug("dom/%u: reader behind, guest waits", dom->dom_domid);
	dom->dom_stalled = 1;
	evtimer_add(dom->dom_stall_ev, &left);
	return 1;
}

/* The reader went quiet for the grace period: drain again, dropping if need be. */
void
condom_io_stall_end(int fd, short what, void *arg)
{
	struct condom *dom = arg;

	(void)fd;
	(void)what;
	dom->dom_stalled = 0;
	condom_io_drain(dom);
}

/* Moves guest output from the ring into the buffer and the log. */
static void
condom_io_drain(struct condom *dom)
{
	struct consoled *cd = dom->dom_cd;
	char tmp[RING_OUT_SIZE];
	ssize_t n;
	size_t got = 0;
	int pass, corrupt = 0;

	if (condom_io_must_wait(dom))
		return;
	dom->dom_stalled = 0;
	event_del(dom->dom_stall_ev);
	for (pass = 0; pass < CONDOM_IO_PASSES; pass++) {
		n = ring_out_consume(dom->dom_intf, tmp, sizeof(tmp));
		if (n < 0) {
			condom_io_corrupt(dom, "out");
			corrupt = 1;
			break;
		}
		if (n == 0)
			break;
		got += n;
		if (dom->dom_log && conlog_write(dom->dom_log, tmp, n) < 0)
			log_warn("dom/%u: guest log", dom->dom_domid);
		if (cbuf_append(&dom->dom_buf, tmp, n) > 0)
			log_debug("dom/%u: nobody reads, buffer bound dropped output",
			    dom->dom_domid);
	}
	if (got || corrupt)
		hv_evtchn_notify(cd->cd_xce, dom->dom_local_port);
	if (dom->dom_buf.cbuf_len > 0)
		event_add(dom->dom_wr_ev, NULL);
	/* More waiting: come back after the other ready events have had a turn. */
	if (!dom->dom_throttled && ring_out_pending(dom->dom_intf) > 0)
		event_active(dom->dom_evtchn_ev, EV_READ, 0);
}

/* The guest notified: drain its output. */
void
condom_io_evtchn(int fd, short what, void *arg)
{
	struct condom *dom = arg;

	(void)fd;
	(void)what;
	if (hv_evtchn_ack(dom->dom_cd->cd_xce, dom->dom_local_port) > 0)
		condom_io_rate(dom);
	condom_io_drain(dom);
}

/* End of a storm period: unmask the port and catch up. */
void
condom_io_throttle_end(int fd, short what, void *arg)
{
	struct condom *dom = arg;

	(void)fd;
	(void)what;
	dom->dom_throttled = 0;
	dom->dom_events = 0;
	condom_io_now(&dom->dom_period);
	event_add(dom->dom_evtchn_ev, NULL);
	condom_io_drain(dom);
}

/* Stops reading the pty until the guest has made room in its in ring. */
static void
condom_io_input_pause(struct condom *dom)
{
	struct timeval tv = { 0, CONDOM_IO_INPOLL_MS * 1000 };

	event_del(dom->dom_rd_ev);
	evtimer_add(dom->dom_inpoll_ev, &tv);
}

/* Looks whether the guest made room in its in ring. */
void
condom_io_inpoll(int fd, short what, void *arg)
{
	struct condom *dom = arg;

	(void)fd;
	(void)what;
	if (ring_in_space(dom->dom_intf) > 0)
		event_add(dom->dom_rd_ev, NULL);
	else
		condom_io_input_pause(dom);
}

/* The pty failed: start over with a new one, keeping the buffer. */
static void
condom_io_pty_reset(struct condom *dom)
{
	log_warn("dom/%u: pty %s, reopening", dom->dom_domid, dom->dom_tty);
	condom_pty_close(dom);
	if (condom_pty_open(dom) == 0 && dom->dom_buf.cbuf_len > 0)
		event_add(dom->dom_wr_ev, NULL);
	event_active(dom->dom_cd->cd_xs_tick, EV_TIMEOUT, 0);
}

/* Typed input for the guest, as much as its in ring takes. */
void
condom_io_input(int fd, short what, void *arg)
{
	struct condom *dom = arg;
	char buf[RING_IN_SIZE];
	ssize_t space, n;

	(void)what;
	space = ring_in_space(dom->dom_intf);
	if (space < 0) {
		condom_io_corrupt(dom, "in");
		space = ring_in_space(dom->dom_intf);
	}
	if (space <= 0) {
		condom_io_input_pause(dom);
		return;
	}
	n = read(fd, buf, space);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		condom_io_pty_reset(dom);
		return;
	}
	if (ring_in_produce(dom->dom_intf, buf, n) < 0)
		condom_io_corrupt(dom, "in");
	hv_evtchn_notify(dom->dom_cd->cd_xce, dom->dom_local_port);
}

/* Buffered output to the pty while it takes it. */
void
condom_io_output(int fd, short what, void *arg)
{
	struct condom *dom = arg;
	const char *data;
	size_t len;
	ssize_t n;

	(void)what;
	data = cbuf_peek(&dom->dom_buf, &len);
	if (len == 0) {
		event_del(dom->dom_wr_ev);
		return;
	}
	n = write(fd, data, len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		condom_io_pty_reset(dom);
		return;
	}
	cbuf_consume(&dom->dom_buf, n);
	condom_io_now(&dom->dom_progress);
	if (dom->dom_buf.cbuf_len == 0)
		event_del(dom->dom_wr_ev);
	/* room again for a guest that was waiting on its reader */
	if (dom->dom_stalled)
		condom_io_drain(dom);
}
