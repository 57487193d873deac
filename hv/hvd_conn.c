#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "hvd_maptrack.h"
#include "log.h"
#include "msg.h"
#include "unixsock.h"
#include "xmalloc.h"

#define HVD_CONN_QUEUE_MAX	64	/* unread replies before a client is dropped */

/* A reply the socket could not take yet; owns duplicates of its fds. */
struct hvd_out {
	struct hvd_out *next;
	size_t len;
	int fds[2];
	int nfds;
	uint8_t buf[];
};

struct hvd_conn {
	struct hvd_conn *next, **prevp;
	int fd;
	uint32_t id;			/* names it in the keeper's records */
	bool privileged;		/* dom0 with uid 0 (or hvd's own uid) */
	struct hvd_domain *guest;	/* guest channel: its domain */
	struct event *ev_read, *ev_write;
	struct hvd_out *outq, **outq_tail;
	unsigned outq_len;
};

static struct hvd_conn *hvd_conns;
static uint32_t hvd_conn_next_id = 1;
static int hvd_listen_fd = -1;
static struct event *hvd_listen_ev;
static char *hvd_listen_path;

static void hvd_conn_on_read(evutil_socket_t fd, short what, void *arg);
static void hvd_conn_on_write(evutil_socket_t fd, short what, void *arg);

/* A connection on the loop with its id (new, or a restarted hvd's adopted one). */
static struct hvd_conn *
hvd_conn_make(struct event_base *base, int fd, struct hvd_domain *guest, bool privileged,
    uint32_t id)
{
	struct hvd_conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->id = id;
	if (id >= hvd_conn_next_id)
		hvd_conn_next_id = id + 1 ? id + 1 : 1;
	c->guest = guest;
	c->privileged = privileged;
	c->outq_tail = &c->outq;
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, hvd_conn_on_read, c);
	c->ev_write = event_new(base, fd, EV_WRITE, hvd_conn_on_write, c);
	if (c->ev_read == NULL || c->ev_write == NULL || event_add(c->ev_read, NULL) < 0)
		fatalx("hvd_conn_new: libevent");
	c->next = hvd_conns;
	if (hvd_conns)
		hvd_conns->prevp = &c->next;
	c->prevp = &hvd_conns;
	hvd_conns = c;
	return c;
}

/* Wraps an accepted or guest socket in a connection on the loop; the keeper holds it too. */
static struct hvd_conn *
hvd_conn_new_priv(struct event_base *base, int fd, struct hvd_domain *guest, bool privileged)
{
	struct hvd_conn *c = hvd_conn_make(base, fd, guest, privileged, hvd_conn_next_id);

	hvd_keeper_conn(c->id, fd, guest, privileged, true);
	return c;
}

/* A guest channel made by the builder. */
struct hvd_conn *
hvd_conn_new(struct event_base *base, int fd, struct hvd_domain *guest)
{
	return hvd_conn_new_priv(base, fd, guest, false);
}

/* Names a connection in the records that refer to it (ports, maptrack slots). */
uint32_t
hvd_conn_id(const struct hvd_conn *c)
{
	return c->id;
}

/* A restarted hvd takes over a connection the keeper held; a guest's channel is served unless paused. */
struct hvd_conn *
hvd_conn_adopt(struct event_base *base, uint32_t id, int fd, const struct hvk_conn *r)
{
	struct hvd_domain *d = NULL;
	struct hvd_conn *c;

	if (r->guest != UINT32_MAX) {
		d = hvd_domain_get(r->guest);
		if (d == NULL || r->guest == 0 || d->guest != NULL) {
			errno = EINVAL;
			return NULL;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return NULL;
	c = hvd_conn_make(base, fd, d, r->privileged, id);
	if (d) {
		d->guest = c;
		hvd_conn_serve(c, !d->paused);
	}
	return c;
}

/* Closes a connection and every port it held (their peers become unbound). */
void
hvd_conn_free(struct hvd_conn *c)
{
	struct hvd_domain *d = c->guest ? c->guest : hvd_domain_get(0);

	if (d)
		hvd_evtchn_close_all(d, c);
	hvd_maptrack_conn_gone(c);
	if (c->guest && c->guest->guest == c)
		c->guest->guest = NULL;
	*c->prevp = c->next;
	if (c->next)
		c->next->prevp = c->prevp;
	while (c->outq) {
		struct hvd_out *o = c->outq;
		c->outq = o->next;
		msg_close_fds(o->fds, o->nfds);
		free(o);
	}
	event_free(c->ev_read);
	event_free(c->ev_write);
	close(c->fd);
	hvd_keeper_del(HVK_CONN, c->id, 0);
	free(c);
}

/* A maptrack lease: the connection only tells hvd that its process lives. */
void
hvd_conn_restrict(struct hvd_conn *c)
{
	c->privileged = false;
	hvd_keeper_conn(c->id, c->fd, c->guest, false, false);
}

/* Starts or stops reading a guest's channel: a built domain is served once it is unpaused. */
void
hvd_conn_serve(struct hvd_conn *c, bool on)
{
	if (on)
		event_add(c->ev_read, NULL);
	else
		event_del(c->ev_read);
}

/* The caller's domain: the guest's for a guest channel, dom0 otherwise. */
struct hvd_domain *
hvd_conn_domain(struct hvd_conn *c)
{
	return c->guest ? c->guest : hvd_domain_get(0);
}

/* The domain is going away; its channel stays only until it closes. */
void
hvd_conn_forget_domain(struct hvd_conn *c)
{
	hvd_conn_free(c);
}

/* Queues a reply with duplicates of its fds, since hvd's own may close before it is sent. */
static int
hvd_conn_queue(struct hvd_conn *c, const void *buf, size_t len, const int *fds, int nfds)
{
	struct hvd_out *o;

	if (c->outq_len >= HVD_CONN_QUEUE_MAX) {
		log_warnx("client fd %d does not read its replies, dropping it", c->fd);
		return -1;
	}
	o = xmalloc(sizeof(*o) + len);
	o->len = len;
	o->nfds = 0;
	for (int i = 0; i < nfds; i++) {
		o->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (o->fds[i] < 0) {
			msg_close_fds(o->fds, i);
			free(o);
			return -1;
		}
		o->nfds++;
	}
	memcpy(o->buf, buf, len);
	o->next = NULL;
	*c->outq_tail = o;
	c->outq_tail = &o->next;
	c->outq_len++;
	event_add(c->ev_write, NULL);
	return 0;
}

/* Sends or queues one reply; -1 means the client must be dropped. */
static int
hvd_conn_send(struct hvd_conn *c, const void *buf, size_t len, const int *fds, int nfds)
{
	if (c->outq == NULL) {
		if (msg_send(c->fd, buf, len, fds, nfds) == 0)
			return 0;
		if (errno != EAGAIN && errno != ENOBUFS)
			return -1;
	}
	return hvd_conn_queue(c, buf, len, fds, nfds);
}

/* Flushes queued replies when the client reads again. */
static void
hvd_conn_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct hvd_conn *c = arg;

	(void)fd, (void)what;
	while (c->outq) {
		struct hvd_out *o = c->outq;
		if (msg_send(c->fd, o->buf, o->len, o->fds, o->nfds) < 0) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				event_add(c->ev_write, NULL);
				return;
			}
			hvd_conn_free(c);
			return;
		}
		c->outq = o->next;
		if (c->outq == NULL)
			c->outq_tail = &c->outq;
		c->outq_len--;
		msg_close_fds(o->fds, o->nfds);
		free(o);
	}
}

/* Policy check in one place, before any handler runs. */
static int
hvd_conn_allowed(const struct hvd_conn *c, const struct hvd_op *op)
{
	if (c->guest)
		return (op->policy & HVD_GUEST) != 0;
	if (c->privileged)
		return (op->policy & (HVD_DOM0 | HVD_DOM0_RO)) != 0;
	return (op->policy & HVD_DOM0_RO) != 0;
}

/* Validates framing, checks policy, runs the handler and replies; -1 drops the client. */
static int
hvd_conn_dispatch(struct hvd_conn *c, const uint8_t *buf, size_t n)
{
	uint8_t rep[HV_MSG_MAX];
	struct hv_msg_hdr hdr, rh;
	const struct hvd_op *op;
	struct hvd_req r = {
		.conn = c, .dom = hvd_conn_domain(c), .hdr = &hdr, .payload = buf + sizeof(hdr),
		.rep = rep + sizeof(hdr), .rep_cap = sizeof(rep) - sizeof(hdr),
	};
	int rc;

	if (n < sizeof(hdr)) {
		log_debug("client fd %d: truncated header (%zu bytes)", c->fd, n);
		return -1;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	op = hvd_ops_lookup(hdr.type);
	if (hdr.len != n - sizeof(hdr))
		rc = -EBADMSG;
	else if (op == NULL)
		rc = -ENOSYS;
	else if (!hvd_conn_allowed(c, op))
		rc = -EPERM;
	else if (op->req_len != UINT32_MAX && hdr.len != op->req_len)
		rc = -EINVAL;
	else if (r.dom == NULL)
		rc = -ESRCH;
	else
		rc = op->handler(&r) < 0 ? -errno : 0;
	if (r.no_reply)
		return 0;
	if (rc < 0) {
		r.rep_len = 0;
		r.nfds = 0;
	}
	rh = (struct hv_msg_hdr){ .type = hdr.type, .len = r.rep_len, .id = hdr.id, .rc = rc };
	memcpy(rep, &rh, sizeof(rh));
	return hvd_conn_send(c, rep, sizeof(hdr) + r.rep_len, r.fds, r.nfds);
}

/*
 * One message per readable event; bad framing or a vanished client ends the
 * connection. The request is read with MSG_PEEK and taken off the socket only
 * once it is answered: an hvd that dies while handling it leaves it there
 * (the keeper holds the socket) and the next hvd handles it, so a client never
 * waits for an answer that cannot come. The price is that a request answered
 * an instant before the death is answered twice; libhv skips a reply whose id
 * it is no longer waiting for.
 */
static void
hvd_conn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct hvd_conn *c = arg;
	uint8_t buf[HV_MSG_MAX];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MSG_MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	int rc;

	(void)fd, (void)what;
	do {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(c->fd, &mh, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	/* No request carries descriptors: whatever came along is closed. */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			msg_close_fds((int *)CMSG_DATA(cm),
			    (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	if (n > (ssize_t)sizeof(buf) || (n >= 0 && (mh.msg_flags & MSG_CTRUNC))) {
		errno = EMSGSIZE;
		n = -1;
	}
	if (n <= 0) {
		if (n < 0)
			log_debug("client fd %d: %s, dropping it", c->fd, strerror(errno));
		hvd_conn_free(c);
		return;
	}
	rc = hvd_conn_dispatch(c, buf, n);
	while (recv(c->fd, buf, 0, MSG_DONTWAIT) < 0 && errno == EINTR)
		;
	if (rc < 0)
		hvd_conn_free(c);
}

/* Accepts a dom0 client and decides its privilege from SO_PEERCRED. */
static void
hvd_listen_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct event_base *base = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct hvd_conn *c;
	int fd;

	(void)what;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	/* root, or hvd's own user when hvd runs unprivileged (development) */
	c = hvd_conn_new_priv(base, fd, NULL, cred.uid == 0 || cred.uid == geteuid());
	log_debug("client fd %d pid %d uid %d%s", fd, (int)cred.pid, (int)cred.uid,
	    c->privileged ? "" : " (unprivileged)");
}

/* Binds the dom0 socket, world-connectable (privilege is decided per peer).
 * It is bound and listening under a temporary name first and renamed into
 * place, so the path appears only once connections are accepted. */
int
hvd_listen(struct event_base *base, const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a live hvd answers on the path: never steal its socket */
	fd = unixsock_connect(path, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	fd = unixsock_listen(tmp, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0666, 64);
	if (fd < 0 || rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		if (fd >= 0)
			close(fd);
		errno = saved;
		return -1;
	}
	hvd_keeper_listen(fd);
	return hvd_listen_adopt(base, fd, path);
}

/* Accepts on a listening socket: our own, or the one the keeper kept while no hvd ran. */
int
hvd_listen_adopt(struct event_base *base, int fd, const char *path)
{
	hvd_listen_fd = fd;
	hvd_listen_path = xstrdup(path);
	hvd_listen_ev = event_new(base, fd, EV_READ | EV_PERSIST, hvd_listen_on_accept, base);
	if (hvd_listen_ev == NULL || event_add(hvd_listen_ev, NULL) < 0)
		fatalx("hvd_listen: libevent");
	return 0;
}

/* Stops accepting and removes the socket path. */
void
hvd_listen_stop(void)
{
	if (hvd_listen_ev)
		event_free(hvd_listen_ev);
	hvd_listen_ev = NULL;
	if (hvd_listen_fd >= 0) {
		close(hvd_listen_fd);
		unlink(hvd_listen_path);
	}
	hvd_listen_fd = -1;
	free(hvd_listen_path);
	hvd_listen_path = NULL;
}

/* Exit path: drops every client. */
void
hvd_conn_free_all(void)
{
	while (hvd_conns)
		hvd_conn_free(hvd_conns);
}
