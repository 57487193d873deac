/*
 * The vhost-user session with one front-end: each message is a 12-byte header
 * (request, flags, payload size), its payload, and fds passed with it; the
 * handlers below are listed in one table with the least payload each needs, so
 * a short message drops the peer before any handler reads it. A handler
 * answers 1 (reply in the message), 0 (no reply: an ack if the front-end asked
 * for one under REPLY_ACK) or -1 (the session is broken).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

/* The header is 12 bytes on the wire; the payload follows it unpadded, so the
 * two are sent and received as separate pieces. */
struct vhu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	uint32_t pad;			/* not on the wire */
	union {
		uint64_t u64;
		struct {
			uint32_t index, num;
		} state;
		struct {
			uint32_t index, flags;
			uint64_t desc, used, avail, log;
		} addr;
		struct {
			uint32_t offset, size, flags;
			uint8_t data[VHU_CONFIG_MAX];
		} config;
		uint8_t raw[VHU_MAX_PAYLOAD];
	} p;
	int fds[VHU_MAX_FDS];
	unsigned nfds;
};

#define VHU_HDR_SIZE	12u

/* A session on an accepted connection; nothing is known of the front-end yet. */
void
vhu_dev_init(struct vhu_dev *d, int fd, const char *name, const struct vhu_dev_ops *ops, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->d_fd = fd;
	d->d_name = name;
	d->d_ops = ops;
	d->d_arg = arg;
	d->d_backend_fd = -1;
	for (unsigned i = 0; i < VHU_MAX_QUEUES; i++)
		d->d_vq[i] = (struct vhu_vq){ .q_kick = -1, .q_call = -1 };
}

/* The front-end is gone: its fds and its memory are let go. */
void
vhu_dev_close(struct vhu_dev *d)
{
	for (unsigned i = 0; i < VHU_MAX_QUEUES; i++) {
		if (d->d_vq[i].q_kick >= 0 && d->d_ops->kick_changed)
			d->d_ops->kick_changed(d->d_arg, i, d->d_vq[i].q_kick, -1);
		vhu_vq_reset(&d->d_vq[i]);
	}
	vhu_mem_clear(&d->d_mem);
	if (d->d_backend_fd >= 0)
		close(d->d_backend_fd);
	d->d_backend_fd = -1;
	if (d->d_fd >= 0)
		close(d->d_fd);
	d->d_fd = -1;
}

/* Requests are taken only from a ring that is fully described and enabled. */
bool
vhu_dev_queue_ready(const struct vhu_dev *d, unsigned q)
{
	return q < d->d_ops->nqueues && d->d_vq[q].q_desc != NULL && d->d_vq[q].q_enabled &&
	    d->d_mem.m_n > 0;
}

/* Reads exactly len bytes (the rest of a message the peer is sending now). */
static int
vhu_read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (uint8_t *)buf + got, len - got);
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

/* The header with the fds that came with it, then the payload. */
static int
vhu_recv(struct vhu_dev *d, struct vhu_msg *m)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { m, VHU_HDR_SIZE };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	m->nfds = 0;
	do
		n = recvmsg(d->d_fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		return -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (unsigned i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				if (m->nfds < VHU_MAX_FDS)
					m->fds[m->nfds++] = fd;
				else
					close(fd);
			}
		}
	if ((size_t)n < VHU_HDR_SIZE &&
	    vhu_read_full(d->d_fd, (uint8_t *)m + n, VHU_HDR_SIZE - (size_t)n) < 0)
		return -1;
	if (m->size > VHU_MAX_PAYLOAD) {
		log_warnx("%s: message %u of %u bytes", d->d_name, m->request, m->size);
		errno = EMSGSIZE;
		return -1;
	}
	return vhu_read_full(d->d_fd, &m->p, m->size);
}

/* A reply: header and payload as two pieces (no padding between them on the wire). */
static int
vhu_send(struct vhu_dev *d, struct vhu_msg *m)
{
	struct iovec iov[2] = { { m, VHU_HDR_SIZE }, { &m->p, m->size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	m->flags = VHU_VERSION | VHU_FLAG_REPLY;
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(d->d_fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n < 0)
			continue;
		while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* The first fd of the message, now ours; -1 if none came. */
static int
vhu_take_fd(struct vhu_msg *m)
{
	int fd = m->nfds ? m->fds[0] : -1;

	for (unsigned i = 1; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
	return fd;
}

static int
vhu_reply_u64(struct vhu_msg *m, uint64_t v)
{
	m->size = sizeof(uint64_t);
	m->p.u64 = v;
	return 1;
}

/* The queue a message names, or NULL (and a warning) for one we do not have. */
static struct vhu_vq *
vhu_queue(struct vhu_dev *d, uint32_t index)
{
	if (index >= d->d_ops->nqueues) {
		log_warnx("%s: no queue %u", d->d_name, index);
		return NULL;
	}
	return &d->d_vq[index];
}

/* The device's features, with the bit that says protocol features exist. */
static int
vhu_get_features(struct vhu_dev *d, struct vhu_msg *m)
{
	return vhu_reply_u64(m, d->d_ops->features(d->d_arg) | (1ull << VHU_F_PROTOCOL_FEATURES));
}

/* The driver's choice; a bit we did not offer is a broken front-end. */
static int
vhu_set_features(struct vhu_dev *d, struct vhu_msg *m)
{
	uint64_t offered = d->d_ops->features(d->d_arg) | (1ull << VHU_F_PROTOCOL_FEATURES);

	if (m->p.u64 & ~offered) {
		log_warnx("%s: features %#llx not offered", d->d_name,
		    (unsigned long long)(m->p.u64 & ~offered));
		return -1;
	}
	d->d_features = m->p.u64;
	return 0;
}

/* The session's start; nothing to do beyond noting it. */
static int
vhu_set_owner(struct vhu_dev *d, struct vhu_msg *m)
{
	(void)m;
	d->d_owned = true;
	return 0;
}

/* The front-end starts over: every ring is forgotten. */
static int
vhu_reset_owner(struct vhu_dev *d, struct vhu_msg *m)
{
	(void)m;
	for (unsigned i = 0; i < VHU_MAX_QUEUES; i++) {
		if (d->d_vq[i].q_kick >= 0 && d->d_ops->kick_changed)
			d->d_ops->kick_changed(d->d_arg, i, d->d_vq[i].q_kick, -1);
		vhu_vq_reset(&d->d_vq[i]);
	}
	d->d_owned = false;
	return 0;
}

/* Where the front-end's memory is; UML sends it once, before the rings. With
 * requests out, the mapping they point into must stay: the session ends. */
static int
vhu_set_mem_table(struct vhu_dev *d, struct vhu_msg *m)
{
	if (d->d_ops->busy != NULL && d->d_ops->busy(d->d_arg)) {
		log_warnx("%s: a new memory table while requests are out", d->d_name);
		return -1;
	}
	int rc = vhu_mem_set(&d->d_mem, m->p.raw, m->size, m->fds, m->nfds);

	if (rc < 0)
		log_warn("%s: memory table", d->d_name);
	for (unsigned i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
	/* rings set up before the table, or moved by it, resolve now */
	for (unsigned i = 0; rc == 0 && i < d->d_ops->nqueues; i++)
		if (d->d_vq[i].q_num)
			(void)vhu_vq_map(&d->d_vq[i], &d->d_mem);
	return rc;
}

/* The ring's size, a power of two as split rings require. */
static int
vhu_set_vring_num(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_vq *q = vhu_queue(d, m->p.state.index);
	uint32_t n = m->p.state.num;

	if (q == NULL || n == 0 || n > VHU_VQ_MAX_SIZE || (n & (n - 1))) {
		log_warnx("%s: ring size %u", d->d_name, n);
		return -1;
	}
	q->q_num = (uint16_t)n;
	if (q->q_desc_uva)
		(void)vhu_vq_map(q, &d->d_mem);
	return 0;
}

/* Where the ring's three parts are, in the front-end's user addresses. */
static int
vhu_set_vring_addr(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_vq *q = vhu_queue(d, m->p.addr.index);

	if (q == NULL)
		return -1;
	q->q_desc_uva = m->p.addr.desc;
	q->q_used_uva = m->p.addr.used;
	q->q_avail_uva = m->p.addr.avail;
	if (vhu_vq_map(q, &d->d_mem) < 0 && d->d_mem.m_n > 0) {
		log_warnx("%s: ring %u lies outside the memory table", d->d_name, m->p.addr.index);
		return -1;
	}
	return 0;
}

/* Where the driver starts (0 on a fresh ring). */
static int
vhu_set_vring_base(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_vq *q = vhu_queue(d, m->p.state.index);

	if (q == NULL)
		return -1;
	q->q_last_avail = q->q_used_idx = (uint16_t)m->p.state.num;
	return 0;
}

/* Stops the ring and tells where it stopped. */
static int
vhu_get_vring_base(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_vq *q = vhu_queue(d, m->p.state.index);

	if (q == NULL)
		return -1;
	m->p.state.num = q->q_last_avail;
	m->size = sizeof(m->p.state);
	if (q->q_kick >= 0 && d->d_ops->kick_changed)
		d->d_ops->kick_changed(d->d_arg, m->p.state.index, q->q_kick, -1);
	vhu_vq_reset(q);
	return 1;
}

/* KICK, CALL and ERR: an index, maybe "no fd", maybe an fd. */
static int
vhu_set_vring_fd(struct vhu_dev *d, struct vhu_msg *m)
{
	unsigned index = (unsigned)(m->p.u64 & VHU_VRING_INDEX_MASK);
	struct vhu_vq *q = vhu_queue(d, index);
	int fd = vhu_take_fd(m);

	if (fd >= 0 && (m->p.u64 & VHU_VRING_NOFD)) {
		close(fd);
		fd = -1;
	}
	if (q == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (m->request == VHU_SET_VRING_KICK) {
		int old = q->q_kick;

		if (fd >= 0)
			(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		q->q_kick = fd;
		/* without protocol features a ring runs once it has its kick */
		if (!(d->d_features & (1ull << VHU_F_PROTOCOL_FEATURES)))
			q->q_enabled = true;
		if (d->d_ops->kick_changed)
			d->d_ops->kick_changed(d->d_arg, index, old, fd);
		if (old >= 0)
			close(old);
	} else if (m->request == VHU_SET_VRING_CALL) {
		if (q->q_call >= 0)
			close(q->q_call);
		/* UML's is a pipe: a driver that stops reading must not stop us */
		if (fd >= 0)
			(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		q->q_call = fd;
	} else if (fd >= 0) {
		close(fd);		/* errors are not reported */
	}
	return 0;
}

/* BACKEND_REQ is offered though we never send on it: UML 6.1 takes the
 * interrupt its queues share from setting that channel up, and without it
 * asks for interrupt 0 (the timer's) and fails to probe the device. */
#define VHU_PROTO_OFFERED ((1ull << VHU_PROTO_F_CONFIG) | (1ull << VHU_PROTO_F_REPLY_ACK) | \
	(1ull << VHU_PROTO_F_BACKEND_REQ))

/* What we speak beyond the base protocol (VHU_PROTO_OFFERED says why). */
static int
vhu_get_protocol_features(struct vhu_dev *d, struct vhu_msg *m)
{
	(void)d;
	return vhu_reply_u64(m, VHU_PROTO_OFFERED);
}

/* The front-end's choice of them; REPLY_ACK changes how we answer. */
static int
vhu_set_protocol_features(struct vhu_dev *d, struct vhu_msg *m)
{
	d->d_proto = m->p.u64 & VHU_PROTO_OFFERED;
	return 0;
}

/* Kept for the session's life: a config change would be announced on it. */
static int
vhu_set_backend_req_fd(struct vhu_dev *d, struct vhu_msg *m)
{
	int fd = vhu_take_fd(m);

	if (fd < 0) {
		log_warnx("%s: backend request channel without an fd", d->d_name);
		return -1;
	}
	if (d->d_backend_fd >= 0)
		close(d->d_backend_fd);
	d->d_backend_fd = fd;
	return 0;
}

/* How many queues the device has. */
static int
vhu_get_queue_num(struct vhu_dev *d, struct vhu_msg *m)
{
	return vhu_reply_u64(m, d->d_ops->nqueues);
}

/* Under protocol features a ring serves only once enabled. */
static int
vhu_set_vring_enable(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_vq *q = vhu_queue(d, m->p.state.index);

	if (q == NULL)
		return -1;
	q->q_enabled = m->p.state.num != 0;
	return 0;
}

/* The device's config space, exactly the bytes asked for. */
static int
vhu_get_config(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t off = m->p.config.offset, len = m->p.config.size;

	if (off > VHU_CONFIG_MAX || len > VHU_CONFIG_MAX - off || m->size < 12 + len) {
		log_warnx("%s: config [%u, +%u)", d->d_name, off, len);
		return -1;
	}
	memset(m->p.config.data, 0, len);
	d->d_ops->get_config(d->d_arg, off, m->p.config.data, len);
	m->size = 12 + len;
	return 1;
}

/* Nothing of our config space is writable: accepted and ignored. */
static int
vhu_set_config(struct vhu_dev *d, struct vhu_msg *m)
{
	(void)d;
	(void)m;
	return 0;
}

/* Logging is for live migration, which we never offer: the fd is dropped. */
static int
vhu_ignore(struct vhu_dev *d, struct vhu_msg *m)
{
	(void)d;
	for (unsigned i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
	return 0;
}

static const struct {
	int (*fn)(struct vhu_dev *, struct vhu_msg *);
	uint32_t min;			/* least payload */
} vhu_handlers[VHU_REQUEST_MAX] = {
	[VHU_GET_FEATURES] = { vhu_get_features, 0 },
	[VHU_SET_FEATURES] = { vhu_set_features, 8 },
	[VHU_SET_OWNER] = { vhu_set_owner, 0 },
	[VHU_RESET_OWNER] = { vhu_reset_owner, 0 },
	[VHU_SET_MEM_TABLE] = { vhu_set_mem_table, 8 },
	[VHU_SET_LOG_BASE] = { vhu_ignore, 0 },
	[VHU_SET_LOG_FD] = { vhu_ignore, 0 },
	[VHU_SET_VRING_NUM] = { vhu_set_vring_num, 8 },
	[VHU_SET_VRING_ADDR] = { vhu_set_vring_addr, 40 },
	[VHU_SET_VRING_BASE] = { vhu_set_vring_base, 8 },
	[VHU_GET_VRING_BASE] = { vhu_get_vring_base, 8 },
	[VHU_SET_VRING_KICK] = { vhu_set_vring_fd, 8 },
	[VHU_SET_VRING_CALL] = { vhu_set_vring_fd, 8 },
	[VHU_SET_VRING_ERR] = { vhu_set_vring_fd, 8 },
	[VHU_GET_PROTOCOL_FEATURES] = { vhu_get_protocol_features, 0 },
	[VHU_SET_PROTOCOL_FEATURES] = { vhu_set_protocol_features, 8 },
	[VHU_GET_QUEUE_NUM] = { vhu_get_queue_num, 0 },
	[VHU_SET_VRING_ENABLE] = { vhu_set_vring_enable, 8 },
	[VHU_SET_BACKEND_REQ_FD] = { vhu_set_backend_req_fd, 0 },
	[VHU_GET_CONFIG] = { vhu_get_config, 12 },
	[VHU_SET_CONFIG] = { vhu_set_config, 12 },
};

/* One message in, its answer out; the only entry point of the session. */
int
vhu_dev_dispatch(struct vhu_dev *d)
{
	static struct vhu_msg m;	/* 4 KiB: off the stack; dispatch never nests */
	int rc;

	if (vhu_recv(d, &m) < 0) {
		if (errno != ECONNRESET)
			log_warn("%s: receive", d->d_name);
		return -1;
	}
	if ((m.flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION) {
		log_warnx("%s: protocol version %u", d->d_name, m.flags & VHU_FLAG_VERSION_MASK);
		vhu_ignore(d, &m);
		return -1;
	}
	log_debug("%s: request %u, %u bytes, %u fds", d->d_name, m.request, m.size, m.nfds);
	if (m.request >= VHU_REQUEST_MAX || vhu_handlers[m.request].fn == NULL) {
		log_warnx("%s: request %u not handled", d->d_name, m.request);
		vhu_ignore(d, &m);
		rc = -2;
	} else if (m.size < vhu_handlers[m.request].min) {
		log_warnx("%s: request %u with %u bytes", d->d_name, m.request, m.size);
		vhu_ignore(d, &m);
		return -1;
	} else {
		rc = vhu_handlers[m.request].fn(d, &m);
		vhu_ignore(d, &m);
	}
	if (rc == 1)
		return vhu_send(d, &m);
	/* under REPLY_ACK, a request that has no reply of its own asks for a status */
	if ((m.flags & VHU_FLAG_NEED_REPLY) && (d->d_proto & (1ull << VHU_PROTO_F_REPLY_ACK))) {
		vhu_reply_u64(&m, rc == 0 ? 0 : 1);
		if (vhu_send(d, &m) < 0)
			return -1;
		return rc == -1 ? -1 : 0;
	}
	return rc == -1 ? -1 : 0;
}
