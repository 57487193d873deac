/*
 * A vhost-user back-end for one virtio-blk device, for UML's virtio_uml
 * driver (kernel parameter virtio_uml.device=SOCKET:2): UML connects to our
 * socket, tells us where its memory is (the fd of its memory file, which we
 * map), where each split virtqueue lies in it and which eventfds kick us and
 * call it; we then take requests straight out of its memory.
 *
 *   vhost_user.c      the session: messages on the socket, features, config
 *   vhost_user_mem.c  the memory table: UML's addresses to ours
 *   vhost_user_vq.c   a split virtqueue: chains in, used entries out
 *   virtio_blk.c      the block device: requests parsed, handed to the owner
 *
 * The owner (the file server in tests/umlshim, later the shim with blkfront
 * behind it) polls the socket and the kick eventfd, gets each request through
 * its submit callback and answers it with vblk_complete, from the same thread,
 * in any order, at once or from a later round of its loop. While requests are
 * out, the front-end's memory stays mapped (a new memory table then ends the
 * session) and a ring stopped or reset in the meantime is not written by their
 * late answers. Facts from the vhost-user and virtio 1.x specifications; all
 * multi-byte fields are little-endian, as on the only hosts UML runs on.
 */
#ifndef UMLSHIM_VHOST_USER_H
#define UMLSHIM_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* vhost-user front-end messages (the spec's numbers) */
enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_LOG_FD = 7,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SET_BACKEND_REQ_FD = 21,	/* "SET_SLAVE_REQ_FD" in older texts */
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
	VHU_REQUEST_MAX = 41,
};

#define VHU_VERSION		1u
#define VHU_FLAG_VERSION_MASK	0x3u
#define VHU_FLAG_REPLY		(1u << 2)
#define VHU_FLAG_NEED_REPLY	(1u << 3)
#define VHU_F_PROTOCOL_FEATURES	30	/* feature bit: the protocol features exist */
#define VHU_PROTO_F_REPLY_ACK	3
#define VHU_PROTO_F_BACKEND_REQ	5	/* a channel for our own requests to the front-end */
#define VHU_PROTO_F_CONFIG	9
#define VHU_VRING_INDEX_MASK	0xffu
#define VHU_VRING_NOFD		(1u << 8)	/* kick/call: no fd came with it */
#define VHU_MAX_REGIONS		8
#define VHU_MAX_FDS		8
#define VHU_MAX_PAYLOAD		4096
#define VHU_CONFIG_MAX		256

/* virtio feature bits and split ring layout (virtio 1.x) */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_VERSION_1	32
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VHU_VQ_MAX_SIZE		32768

struct vring_desc_le {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail_le {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem_le {
	uint32_t id;
	uint32_t len;
};

struct vring_used_le {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem_le ring[];
};

/* One region of the front-end's memory, mapped here. */
struct vhu_region {
	uint64_t r_gpa;			/* the front-end's "guest physical" address */
	uint64_t r_size;
	uint64_t r_uva;			/* the front-end's own virtual address */
	uint8_t *r_host;		/* where [gpa, gpa + size) is here */
	void *r_map;			/* what to munmap */
	size_t r_maplen;
};

struct vhu_mem {
	struct vhu_region m_r[VHU_MAX_REGIONS];
	unsigned m_n;
};

/* A split virtqueue as the front-end set it up. */
struct vhu_vq {
	uint16_t q_num;			/* 0 until SET_VRING_NUM */
	uint16_t q_last_avail;		/* the next avail entry we take */
	uint16_t q_used_idx;		/* the next used entry we write */
	bool q_enabled;			/* SET_VRING_ENABLE (starts on without protocol features) */
	bool q_pending_call;		/* used entries not signalled yet */
	uint32_t q_epoch;		/* counts resets: a chain taken before one is stale */
	int q_kick, q_call;		/* eventfds, -1 none */
	uint64_t q_desc_uva, q_avail_uva, q_used_uva;
	struct vring_desc_le *q_desc;	/* NULL until the address resolves */
	struct vring_avail_le *q_avail;
	struct vring_used_le *q_used;
};

/* One chain taken off a queue: the device-readable part first, then the writable. */
#define VHU_MAX_IOV	512
struct vhu_chain {
	uint16_t c_head;
	unsigned c_nout, c_nin;
	struct iovec c_iov[VHU_MAX_IOV];
};

struct vhu_dev;

/* What the device on top of the session provides. */
struct vhu_dev_ops {
	uint64_t (*features)(void *arg);
	/* fills buf with len bytes of config space from off (zeros past the end) */
	void (*get_config)(void *arg, uint32_t off, void *buf, uint32_t len);
	/* queue q's kick fd changes from oldfd to newfd (-1: none): stop polling
	 * the old one (still open during the call), poll the new one */
	void (*kick_changed)(void *arg, unsigned q, int oldfd, int newfd);
	/* whether requests are still out (their buffers must stay mapped); NULL: never */
	bool (*busy)(void *arg);
	unsigned nqueues;
};

#define VHU_MAX_QUEUES	4
struct vhu_dev {
	int d_fd;			/* the connection, -1 once gone */
	const struct vhu_dev_ops *d_ops;
	void *d_arg;
	uint64_t d_features;		/* acknowledged by SET_FEATURES */
	uint64_t d_proto;		/* acknowledged by SET_PROTOCOL_FEATURES */
	bool d_owned;
	int d_backend_fd;		/* SET_BACKEND_REQ_FD's socket, -1 none */
	struct vhu_mem d_mem;
	struct vhu_vq d_vq[VHU_MAX_QUEUES];
	const char *d_name;		/* for messages: "vhublk /path" */
};

/* vhost_user.c */
void vhu_dev_init(struct vhu_dev *d, int fd, const char *name, const struct vhu_dev_ops *ops,
    void *arg);
/* Reads and answers one message; -1 when the peer is gone or broke the protocol. */
int vhu_dev_dispatch(struct vhu_dev *d);
/* Closes the connection, its fds and mappings. */
void vhu_dev_close(struct vhu_dev *d);
/* Whether the queue can be served (address, size, enabled, memory). */
bool vhu_dev_queue_ready(const struct vhu_dev *d, unsigned q);

/* vhost_user_mem.c */
int vhu_mem_set(struct vhu_mem *m, const void *payload, size_t len, const int *fds, unsigned nfds);
void vhu_mem_clear(struct vhu_mem *m);
/* [gpa, gpa + len) here, or NULL when it is not inside one region */
void *vhu_mem_gpa(const struct vhu_mem *m, uint64_t gpa, uint64_t len);
void *vhu_mem_uva(const struct vhu_mem *m, uint64_t uva, uint64_t len);

/* vhost_user_vq.c */
void vhu_vq_reset(struct vhu_vq *q);
/* Resolves the ring's addresses against the memory table; -1 if outside it. */
int vhu_vq_map(struct vhu_vq *q, const struct vhu_mem *m);
/* 1: a chain taken into c; 0: none available; -1: a malformed chain (skipped,
 * its head given back with length 0). */
int vhu_vq_pop(struct vhu_vq *q, const struct vhu_mem *m, struct vhu_chain *c);
void vhu_vq_push(struct vhu_vq *q, uint16_t head, uint32_t len);
/* Signals the call eventfd if entries were pushed and the driver wants to know. */
void vhu_vq_notify(struct vhu_vq *q);
/* Empties the kick eventfd. */
void vhu_vq_drain_kick(struct vhu_vq *q);

/* virtio_blk.c: the device */
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_BLK_F_SIZE_MAX	1
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2
#define VIRTIO_BLK_ID_BYTES	20
#define VBLK_SEG_MAX		(VHU_MAX_IOV - 2)

struct vblk;

/* One request handed to the owner: read (IN) into or write (OUT) from iov at
 * sector (512 bytes), or FLUSH. iov points into the front-end's memory. */
struct vblk_req {
	struct vblk *r_vb;
	uint32_t r_type;
	uint64_t r_sector;
	size_t r_len;			/* bytes of data */
	struct iovec *r_iov;		/* the data segments */
	unsigned r_niov;
	uint8_t *r_status;
	uint16_t r_head;
	uint32_t r_epoch;		/* the ring's epoch when it was taken */
	void *r_owner;			/* free for the owner */
	struct vblk_req *r_next;	/* free for the owner */
	struct vhu_chain r_chain;
};

struct vblk_params {
	uint64_t sectors;		/* capacity in 512-byte sectors */
	bool ro;
	const char *serial;		/* GET_ID, up to 20 bytes */
	bool flush;			/* offer VIRTIO_BLK_F_FLUSH: the disk below can flush */
	/* Limits offered to the driver and held to (a request past them is an
	 * I/O error, never the owner's): data segments per request (0:
	 * VBLK_SEG_MAX) and bytes per segment (VIRTIO_BLK_F_SIZE_MAX; 0: no
	 * limit). seg_max * size_max bounds a request's data, so an owner
	 * that takes N bytes at once offers N / size_max segments. */
	uint32_t seg_max, size_max;
	/* takes r; answer with vblk_complete, now or later */
	void (*submit)(void *arg, struct vblk_req *r);
	void (*kick_changed)(void *arg, int oldfd, int newfd);
	void *arg;
};

struct vblk *vblk_new(int sockfd, const char *name, const struct vblk_params *p);
void vblk_free(struct vblk *vb);
int vblk_sockfd(const struct vblk *vb);
/* The socket is readable: one message. -1: the front-end is gone. */
int vblk_dispatch(struct vblk *vb);
/* The kick eventfd is readable (or the owner polls): every available request
 * goes to submit. */
void vblk_kick(struct vblk *vb);
/* The owner's answer; the used entry is written at once, the call signalled by
 * vblk_flush_calls (once per batch). A request whose ring was stopped or reset
 * since is only taken back: the driver has given up its buffers. */
void vblk_complete(struct vblk_req *r, uint8_t status);
void vblk_flush_calls(struct vblk *vb);
/* requests handed out and not yet completed: vblk_free only once this is 0,
 * even after the front-end has gone (the owner may still write their buffers) */
unsigned vblk_inflight(const struct vblk *vb);

#endif
