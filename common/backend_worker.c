/*
 * A device worker's whole life, one start-up script and one failure path (in
 * the manner of vmd's vioblk_main): shed the daemon's descriptors, take the
 * config and its descriptors, confine ourselves, say READY, run the loop,
 * serve CONNECT/DISCONNECT; EOF from the daemon ends us.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "backend_priv.h"
#include "log.h"
#include "jail.h"
#include "libhv.h"
#include "msg.h"

#define BACKEND_WORKER_SOCK	3

struct backend_worker {
	const struct backend_ops *w_ops;
	struct event_base *w_base;
	struct event *w_sock_ev;
	int w_sock;
	uint32_t w_domid, w_devid;
	bool w_connected;
	void *w_priv;
};

struct event_base *backend_worker_base(struct backend_worker *w) { return w->w_base; }
uint32_t backend_worker_domid(const struct backend_worker *w) { return w->w_domid; }
uint32_t backend_worker_devid(const struct backend_worker *w) { return w->w_devid; }
void *backend_worker_priv(struct backend_worker *w) { return w->w_priv; }
void backend_worker_set_priv(struct backend_worker *w, void *priv) { w->w_priv = priv; }

/* Sends a header-only answer, or FAIL with a message. */
static void
backend_worker_send(struct backend_worker *w, enum backend_msg_type type, int err, const char *text)
{
	uint8_t buf[BACKEND_MSG_MAX];
	size_t tl = text ? strnlen(text, BACKEND_MSG_MAX - sizeof(struct backend_msg_hdr) - 1) : 0;
	struct backend_msg_hdr hdr = { .type = type, .version = BACKEND_PROTO_VERSION,
	    .len = text ? tl + 1 : 0, .err = err };

	memcpy(buf, &hdr, sizeof(hdr));
	if (text) {
		memcpy(buf + sizeof(hdr), text, tl);
		buf[sizeof(hdr) + tl] = '\0';
	}
	if (msg_send(w->w_sock, buf, sizeof(hdr) + hdr.len, NULL, 0) < 0)
		log_warn("cannot reach the daemon");
}

/* The device broke: the daemon closes it (and sends DISCONNECT). */
void
backend_worker_fail(struct backend_worker *w, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s%s%s", msg, err ? ": " : "", err ? strerror(err) : "");
	backend_worker_send(w, BACKEND_MSG_FAIL, err, msg);
}

/* One message from the daemon: n bytes in buf, already length-checked. */
static void
backend_worker_dispatch(struct backend_worker *w, const struct backend_msg_hdr *hdr,
    const uint8_t *blob, int *fds, int nfds)
{
	switch (hdr->type) {
	case BACKEND_MSG_CONNECT:
		if (w->w_connected)
			w->w_ops->w_disconnect(w);
		w->w_connected = false;
		errno = 0;
		if (w->w_ops->w_connect(w, blob, hdr->len, fds, nfds) < 0) {
			char why[64];
			snprintf(why, sizeof(why), "cannot map the rings");
			backend_worker_send(w, BACKEND_MSG_FAIL, errno, why);
			return;
		}
		w->w_connected = true;
		backend_worker_send(w, BACKEND_MSG_CONNECTED, 0, NULL);
		return;
	case BACKEND_MSG_DISCONNECT:
		msg_close_fds(fds, nfds);
		if (w->w_connected)
			w->w_ops->w_disconnect(w);
		w->w_connected = false;
		backend_worker_send(w, BACKEND_MSG_DISCONNECTED, 0, NULL);
		return;
	default:
		msg_close_fds(fds, nfds);
		log_warnx("unexpected message %u from the daemon", hdr->type);
	}
}

/* Reads one message; EOF (the daemon let us go, or died) ends the loop. */
static void
backend_worker_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct backend_worker *w = arg;
	uint8_t buf[BACKEND_MSG_MAX];
	struct backend_msg_hdr hdr;
	int fds[MSG_MAX_FDS], nfds = 0;
	ssize_t n;

	(void)what;
	n = msg_recv(fd, buf, sizeof(buf), fds, &nfds);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_base_loopbreak(w->w_base);
		return;
	}
	if ((size_t)n < sizeof(hdr) || (memcpy(&hdr, buf, sizeof(hdr)), hdr.len != n - sizeof(hdr)) ||
	    hdr.version != BACKEND_PROTO_VERSION) {
		msg_close_fds(fds, nfds);
		log_warnx("malformed message from the daemon");
		return;
	}
	backend_worker_dispatch(w, &hdr, buf + sizeof(hdr), fds, nfds);
}

/* Leaves the daemon's world behind: its descriptors, signal handlers, loop. */
static void
backend_worker_detach(struct backend *be, struct backend_dev *d, int sock)
{
	sigset_t all;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (sock != BACKEND_WORKER_SOCK) {
		if (dup2(sock, BACKEND_WORKER_SOCK) < 0)
			_exit(127);
		close(sock);
	}
	closefrom(BACKEND_WORKER_SOCK + 1);
	log_init(program_invocation_short_name, log_verbose(), be->be_log_dest);
	log_set_prefix(d->d_name);
}

/* The worker: config, confinement, READY, loop; never returns. */
_Noreturn void
backend_worker_main(struct backend *be, struct backend_dev *d, int sock)
{
	struct backend_worker w = { .w_ops = be->be_ops, .w_sock = BACKEND_WORKER_SOCK,
	    .w_domid = d->d_domid, .w_devid = d->d_devid };
	uint8_t buf[BACKEND_MSG_MAX];
	struct backend_msg_hdr hdr;
	int fds[MSG_MAX_FDS], nfds = 0;
	ssize_t n;

	backend_worker_detach(be, d, sock);
	/* our own maptrack slot, while hvd's socket is still in reach: our grant pins
	 * are counted with every other mapper's, and hvd gives them back when we die */
	if (hv_maptrack_lease(NULL, w.w_domid) < 0)
		log_warn("no maptrack lease for domain %u (grant pins counted by this process only)",
		    w.w_domid);
	n = msg_recv(w.w_sock, buf, sizeof(buf), fds, &nfds);
	if (n < (ssize_t)sizeof(hdr))
		_exit(1);
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.type != BACKEND_MSG_CONFIG || hdr.len != n - sizeof(hdr) ||
	    hdr.version != BACKEND_PROTO_VERSION) {
		backend_worker_send(&w, BACKEND_MSG_FAIL, EPROTO, "first message is not CONFIG");
		_exit(1);
	}
	if ((w.w_base = event_base_new()) == NULL) {
		backend_worker_send(&w, BACKEND_MSG_FAIL, errno, "event_base_new");
		_exit(1);
	}
	if (w.w_ops->w_config(&w, buf + sizeof(hdr), hdr.len, fds, nfds) < 0) {
		backend_worker_send(&w, BACKEND_MSG_FAIL, errno, "bad configuration");
		_exit(1);
	}
	if (jail_worker(be->be_uid_base, w.w_domid) < 0) {
		backend_worker_send(&w, BACKEND_MSG_FAIL, errno, "cannot confine the worker");
		_exit(1);
	}
	evutil_make_socket_nonblocking(w.w_sock);
	w.w_sock_ev = event_new(w.w_base, w.w_sock, EV_READ | EV_PERSIST, backend_worker_on_sock, &w);
	if (w.w_sock_ev == NULL || event_add(w.w_sock_ev, NULL) < 0)
		_exit(1);
	backend_worker_send(&w, BACKEND_MSG_READY, 0, NULL);
	event_base_dispatch(w.w_base);
	if (w.w_connected)
		w.w_ops->w_disconnect(&w);
	_exit(0);
}
