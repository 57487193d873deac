/*
 * The vhost-user virtio-blk back-end (guest/umlshim/vhost_user.h) driven by a
 * front-end written here: the messages UML's virtio_uml sends, a memory file
 * shared as its "guest memory" (guest and user addresses deliberately
 * different from each other and from the file's offsets), a split ring laid
 * out in it, and requests put on the ring by hand.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost_user.h"

#define MEM_SIZE	(1u << 20)
#define MEM_OFF		4096u			/* the region starts this far into the file */
#define GPA		0x100000ull		/* its guest address */
#define UVA		0x7f0000000000ull	/* its user address */
#define QN		8
#define DESC		0x0000u			/* ring offsets in the region */
#define AVAIL		0x1000u
#define USED		0x2000u
#define BUF		0x10000u
#define DISK_SECTORS	128

static int fe = -1;			/* the front-end's end of the socket */
static int memfd = -1, kick = -1, call = -1;
static uint8_t *mem;			/* the region, as the front-end sees it */
static struct vblk *vb;
static uint8_t disk[DISK_SECTORS * 512];
static struct vblk_req *held[QN];	/* requests kept for a later answer */
static unsigned nheld;
static bool hold;
static int kick_old = -2, kick_new = -2;	/* the last kick_changed */

/* The owner: a memory disk, answered at once or held. */
static void
t_submit(void *arg, struct vblk_req *r)
{
	uint8_t *p = disk + r->r_sector * 512;

	(void)arg;
	if (hold) {
		held[nheld++] = r;
		return;
	}
	for (unsigned i = 0; i < r->r_niov; i++) {
		if (r->r_type == VIRTIO_BLK_T_IN)
			memcpy(r->r_iov[i].iov_base, p, r->r_iov[i].iov_len);
		else if (r->r_type == VIRTIO_BLK_T_OUT)
			memcpy(p, r->r_iov[i].iov_base, r->r_iov[i].iov_len);
		p += r->r_iov[i].iov_len;
	}
	vblk_complete(r, VIRTIO_BLK_S_OK);
}

/* The owner is told which fd to poll. */
static void
t_kick_changed(void *arg, int oldfd, int newfd)
{
	(void)arg;
	kick_old = oldfd;
	kick_new = newfd;
}

/* Sends one message with its fds. */
static void
t_send(uint32_t req, uint32_t flags, const void *payload, uint32_t len, int *fds, unsigned nfds)
{
	uint32_t hdr[3] = { req, VHU_VERSION | flags, len };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	memset(&ctl, 0, sizeof(ctl));
	if (nfds) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	cr_assert_eq(sendmsg(fe, &mh, 0), (ssize_t)(sizeof(hdr) + len));
}

/* Sends a message, lets the back-end take it, and reads the reply if one is due. */
static uint32_t
t_call(uint32_t req, const void *payload, uint32_t len, int *fds, unsigned nfds, void *reply,
    uint32_t rlen)
{
	uint32_t hdr[3];

	t_send(req, 0, payload, len, fds, nfds);
	cr_assert_eq(vblk_dispatch(vb), 0, "request %u refused", req);
	if (reply == NULL)
		return 0;
	cr_assert_eq(read(fe, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	cr_assert_eq(hdr[0], req);
	cr_assert_eq(hdr[1], VHU_VERSION | VHU_FLAG_REPLY, "reply flags %#x", hdr[1]);
	cr_assert_leq(hdr[2], rlen);
	cr_assert_eq(read(fe, reply, hdr[2]), (ssize_t)hdr[2]);
	return hdr[2];
}

static uint64_t
t_u64(uint32_t req)
{
	uint64_t v = 0;

	cr_assert_eq(t_call(req, NULL, 0, NULL, 0, &v, sizeof(v)), 8);
	return v;
}

static void t_teardown(void);

static void
t_setup_dev(bool ro, bool flush, uint32_t seg_max, uint32_t size_max)
{
	int sv[2];

	t_teardown();

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe = sv[1];
	struct vblk_params p = { .sectors = DISK_SECTORS, .ro = ro, .serial = "t-serial",
		.flush = flush, .seg_max = seg_max, .size_max = size_max,
		.submit = t_submit, .kick_changed = t_kick_changed };
	kick_old = kick_new = -2;
	vb = vblk_new(sv[0], "test", &p);
	memfd = memfd_create("t-mem", MFD_CLOEXEC);
	cr_assert_geq(memfd, 0);
	cr_assert_eq(ftruncate(memfd, MEM_OFF + MEM_SIZE), 0);
	uint8_t *all = mmap(NULL, MEM_OFF + MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	cr_assert_neq(all, MAP_FAILED);
	mem = all + MEM_OFF;
	memset(disk, 0, sizeof(disk));
	nheld = 0;
	hold = false;
}

static void
t_setup(void)
{
	t_setup_dev(false, true, 0, 0);
}

static void
t_setup_ro(void)
{
	t_setup_dev(true, true, 0, 0);
}

/* A disk below that cannot flush and takes 16 KiB at once: 4 segments of 4 KiB. */
static void
t_setup_limits(void)
{
	t_setup_dev(false, false, 4, 4096);
}

/* Idempotent: a test with a set-up of its own gets the suite's set-up and
 * tear-down too, and its set-up replaces the suite's device. */
static void
t_teardown(void)
{
	if (vb == NULL)
		return;
	vblk_free(vb);
	vb = NULL;
	munmap(mem - MEM_OFF, MEM_OFF + MEM_SIZE);
	close(memfd);
	close(fe);
	if (kick >= 0)
		close(kick);
	if (call >= 0)
		close(call);
	memfd = fe = kick = call = -1;
}

/* The queue's size, base, addresses, call, kick and enable, as virtio_uml sends them. */
static void
t_ring_setup(void)
{
	struct { uint32_t index, num; } st = { 0, QN };
	struct { uint32_t index, flags; uint64_t desc, used, avail, log; } addr = {
		0, 0, UVA + DESC, UVA + USED, UVA + AVAIL, ~0ull };
	uint64_t idx = 0;

	t_call(VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL, 0);
	st.num = 0;
	t_call(VHU_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL, 0);
	t_call(VHU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, NULL, 0);
	t_call(VHU_SET_VRING_CALL, &idx, 8, &call, 1, NULL, 0);
	t_call(VHU_SET_VRING_KICK, &idx, 8, &kick, 1, NULL, 0);
	st.num = 1;
	t_call(VHU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0, NULL, 0);
}

/* The sequence UML's virtio_uml sends, through the queue's setup. */
static void
t_handshake(void)
{
	uint64_t f, pf;
	struct { uint32_t n, pad; uint64_t gpa, size, uva, off; } table = {
		1, 0, GPA, MEM_SIZE, UVA, MEM_OFF };
	int fd;

	t_call(VHU_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
	f = t_u64(VHU_GET_FEATURES);
	cr_assert(f & (1ull << VHU_F_PROTOCOL_FEATURES));
	pf = t_u64(VHU_GET_PROTOCOL_FEATURES);
	cr_assert(pf & (1ull << VHU_PROTO_F_CONFIG));
	cr_assert(pf & (1ull << VHU_PROTO_F_BACKEND_REQ), "UML 6.1 cannot probe without it");
	pf &= (1ull << VHU_PROTO_F_CONFIG) | (1ull << VHU_PROTO_F_BACKEND_REQ);
	t_call(VHU_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, NULL, 0);
	int sp[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	t_call(VHU_SET_BACKEND_REQ_FD, NULL, 0, &sp[1], 1, NULL, 0);
	close(sp[0]);
	close(sp[1]);
	t_call(VHU_SET_FEATURES, &f, 8, NULL, 0, NULL, 0);
	fd = memfd;
	t_call(VHU_SET_MEM_TABLE, &table, sizeof(table), &fd, 1, NULL, 0);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t_ring_setup();
}

static struct vring_desc_le *
t_desc(void)
{
	return (struct vring_desc_le *)(mem + DESC);
}

/* Puts a chain whose head is desc slot head on the avail ring and kicks. */
static void
t_post(uint16_t head)
{
	struct vring_avail_le *av = (struct vring_avail_le *)(mem + AVAIL);
	uint64_t one = 1;

	av->ring[av->idx % QN] = head;
	__atomic_store_n(&av->idx, (uint16_t)(av->idx + 1), __ATOMIC_RELEASE);
	cr_assert_eq(write(kick, &one, 8), 8);
	vblk_kick(vb);
}

static struct vring_used_le *
t_used(void)
{
	return (struct vring_used_le *)(mem + USED);
}

/* A three-part request at slot s: header, data (len bytes at buf), status. */
static void
t_request(uint16_t s, uint32_t type, uint64_t sector, uint32_t buf, uint32_t len)
{
	struct vring_desc_le *d = t_desc();
	uint8_t *h = mem + BUF + s * 0x100;

	memcpy(h, &type, 4);
	memset(h + 4, 0, 4);
	memcpy(h + 8, &sector, 8);
	h[16] = 0xff;				/* the status, not written yet */
	d[s] = (struct vring_desc_le){ GPA + BUF + s * 0x100, 16, VRING_DESC_F_NEXT,
		(uint16_t)(s + 1) };
	d[s + 1] = (struct vring_desc_le){ GPA + buf, len, VRING_DESC_F_NEXT |
		(type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE), (uint16_t)(s + 2) };
	d[s + 2] = (struct vring_desc_le){ GPA + BUF + s * 0x100 + 16, 1, VRING_DESC_F_WRITE, 0 };
}

static uint8_t
t_status(uint16_t s)
{
	return mem[BUF + s * 0x100 + 16];
}

TestSuite(vhost_user, .init = t_setup, .fini = t_teardown);

Test(vhost_user, handshake_features_and_config)
{
	uint64_t f;
	struct { uint32_t off, size, flags; uint8_t data[64]; } cfg = { 0, 24, 0, { 0 } };
	uint64_t cap;
	uint32_t seg_max, blk_size;

	f = t_u64(VHU_GET_FEATURES);
	cr_assert(f & (1ull << VIRTIO_F_VERSION_1));
	cr_assert(f & (1ull << VIRTIO_BLK_F_FLUSH));
	cr_assert(f & (1ull << VIRTIO_BLK_F_SEG_MAX));
	cr_assert_not(f & (1ull << VIRTIO_BLK_F_RO));
	/* UML asks from offset 0 and expects exactly what it asked for back */
	cr_assert_eq(t_call(VHU_GET_CONFIG, &cfg, 12 + 24, NULL, 0, &cfg, sizeof(cfg)), 12 + 24);
	cr_assert_eq(cfg.size, 24);
	memcpy(&cap, cfg.data, 8);
	memcpy(&seg_max, cfg.data + 12, 4);
	memcpy(&blk_size, cfg.data + 20, 4);
	cr_assert_eq(cap, DISK_SECTORS);
	cr_assert_eq(seg_max, VBLK_SEG_MAX);
	cr_assert_eq(blk_size, 512);
}

Test(vhost_user, write_then_read_through_the_ring)
{
	uint64_t n = 0;

	t_handshake();
	for (unsigned i = 0; i < 4096; i++)
		mem[0x20000 + i] = (uint8_t)(i * 7 + 1);
	t_request(0, VIRTIO_BLK_T_OUT, 8, 0x20000, 4096);
	t_post(0);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_OK);
	cr_assert_eq(t_used()->idx, 1);
	cr_assert_eq(t_used()->ring[0].id, 0);
	cr_assert_eq(t_used()->ring[0].len, 1);
	cr_assert_eq(memcmp(disk + 8 * 512, mem + 0x20000, 4096), 0);
	cr_assert_eq(read(call, &n, 8), 8, "no call after a completion");

	/* read it back through an indirect table: header, two halves, status */
	struct vring_desc_le *ind = (struct vring_desc_le *)(mem + 0x30000);
	uint32_t type = VIRTIO_BLK_T_IN;
	uint64_t sector = 8;
	memcpy(mem + 0x31000, &type, 4);
	memcpy(mem + 0x31008, &sector, 8);
	ind[0] = (struct vring_desc_le){ GPA + 0x31000, 16, VRING_DESC_F_NEXT, 1 };
	ind[1] = (struct vring_desc_le){ GPA + 0x40000, 2048, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	ind[2] = (struct vring_desc_le){ GPA + 0x50000, 2048, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3 };
	ind[3] = (struct vring_desc_le){ GPA + 0x31010, 1, VRING_DESC_F_WRITE, 0 };
	t_desc()[5] = (struct vring_desc_le){ GPA + 0x30000, 4 * 16, VRING_DESC_F_INDIRECT, 0 };
	t_post(5);
	cr_assert_eq(mem[0x31010], VIRTIO_BLK_S_OK);
	cr_assert_eq(t_used()->idx, 2);
	cr_assert_eq(t_used()->ring[1].id, 5);
	cr_assert_eq(t_used()->ring[1].len, 4097);
	cr_assert_eq(memcmp(mem + 0x40000, disk + 8 * 512, 2048), 0);
	cr_assert_eq(memcmp(mem + 0x50000, disk + 8 * 512 + 2048, 2048), 0);

	/* the owner was told of the kick fd; stopping the ring says where it stopped */
	cr_assert_eq(kick_old, -1);
	cr_assert_geq(kick_new, 0);
	int polled = kick_new;
	struct { uint32_t index, num; } st = { 0, 0 };
	cr_assert_eq(t_call(VHU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &st, sizeof(st)), 8);
	cr_assert_eq(st.num, 2);
	cr_assert_eq(kick_old, polled);
	cr_assert_eq(kick_new, -1);
}

Test(vhost_user, answers_out_of_order_and_bad_requests)
{
	t_handshake();
	hold = true;
	t_request(0, VIRTIO_BLK_T_IN, 0, 0x20000, 512);
	t_post(0);
	t_request(3, VIRTIO_BLK_T_FLUSH, 0, 0x21000, 0);
	t_desc()[3].flags = VRING_DESC_F_NEXT;	/* header, then status only */
	t_desc()[3].next = 5;
	t_post(3);
	cr_assert_eq(nheld, 2);
	cr_assert_eq(vblk_inflight(vb), 2);
	cr_assert_eq(t_used()->idx, 0);
	vblk_complete(held[1], VIRTIO_BLK_S_OK);
	vblk_complete(held[0], VIRTIO_BLK_S_IOERR);
	cr_assert_eq(t_used()->idx, 2);
	cr_assert_eq(t_used()->ring[0].id, 3, "the flush answered first");
	cr_assert_eq(t_used()->ring[1].id, 0);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(t_status(3), VIRTIO_BLK_S_OK);
	hold = false;

	/* past the end of the disk */
	t_request(0, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 0x20000, 1024);
	t_post(0);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_IOERR);
	/* an unknown type */
	t_request(0, 99, 0, 0x20000, 512);
	t_post(0);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_UNSUPP);
	/* the serial */
	t_request(0, VIRTIO_BLK_T_GET_ID, 0, 0x22000, VIRTIO_BLK_ID_BYTES);
	t_post(0);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_OK);
	cr_assert_str_eq((char *)mem + 0x22000, "t-serial");
	/* a buffer outside the memory table: given back empty, the queue goes on */
	t_request(0, VIRTIO_BLK_T_IN, 0, 0x20000, 512);
	t_desc()[1].addr = GPA + MEM_SIZE;
	t_post(0);
	uint16_t u = t_used()->idx;
	cr_assert_eq(t_used()->ring[(u - 1) % QN].len, 0);
	t_request(0, VIRTIO_BLK_T_IN, 0, 0x20000, 512);
	t_post(0);
	cr_assert_eq(t_used()->idx, (uint16_t)(u + 1));
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_OK);
	cr_assert_eq(vblk_inflight(vb), 0);
}

Test(vhost_user, refuses_malformed_messages)
{
	uint32_t four = QN;

	/* a ring size without its index: too short, the session ends */
	t_send(VHU_SET_VRING_NUM, 0, &four, 4, NULL, 0);
	cr_assert_eq(vblk_dispatch(vb), -1);
}

Test(vhost_user, refuses_a_ring_outside_memory)
{
	struct { uint32_t n, pad; uint64_t gpa, size, uva, off; } table = {
		1, 0, GPA, MEM_SIZE, UVA, MEM_OFF };
	struct { uint32_t index, flags; uint64_t desc, used, avail, log; } addr = {
		0, 0, UVA + MEM_SIZE, UVA + USED, UVA + AVAIL, 0 };
	struct { uint32_t index, num; } st = { 0, QN };
	int fd = memfd;

	t_call(VHU_SET_MEM_TABLE, &table, sizeof(table), &fd, 1, NULL, 0);
	t_call(VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL, 0);
	t_send(VHU_SET_VRING_ADDR, 0, &addr, sizeof(addr), NULL, 0);
	cr_assert_eq(vblk_dispatch(vb), -1);
	st.num = 3;				/* not a power of two */
	t_send(VHU_SET_VRING_NUM, 0, &st, sizeof(st), NULL, 0);
	cr_assert_eq(vblk_dispatch(vb), -1);
}

Test(vhost_user, read_only_disk_refuses_writes, .init = t_setup_ro, .fini = t_teardown)
{
	cr_assert(t_u64(VHU_GET_FEATURES) & (1ull << VIRTIO_BLK_F_RO));
	t_handshake();
	t_request(0, VIRTIO_BLK_T_OUT, 0, 0x20000, 512);
	mem[0x20000] = 0x5a;
	t_post(0);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(disk[0], 0);
}

/* The owner's late answer to a held request: the data moved now, then the status. */
static void
t_answer(struct vblk_req *r, uint8_t status)
{
	uint8_t *p = disk + r->r_sector * 512;

	for (unsigned i = 0; status == VIRTIO_BLK_S_OK && i < r->r_niov; i++) {
		if (r->r_type == VIRTIO_BLK_T_IN)
			memcpy(r->r_iov[i].iov_base, p, r->r_iov[i].iov_len);
		else if (r->r_type == VIRTIO_BLK_T_OUT)
			memcpy(p, r->r_iov[i].iov_base, r->r_iov[i].iov_len);
		p += r->r_iov[i].iov_len;
	}
	vblk_complete(r, status);
}

/* The held request taken from desc slot head. */
static struct vblk_req *
t_held(uint16_t head)
{
	for (unsigned i = 0; i < nheld; i++)
		if (held[i] != NULL && held[i]->r_head == head) {
			struct vblk_req *r = held[i];
			held[i] = NULL;
			return r;
		}
	cr_assert_fail("no held request with head %u", head);
	return NULL;
}

/* Request k as desc slot k pointing to an indirect table at TBL(k): header at
 * HDR(k) (status at HDR(k) + 16), then n data segments of lens[] laid end to
 * end at DATA(k), the status in a descriptor of its own. */
#define TBL(k)	(0x60000u + (k) * 0x100u)
#define HDR(k)	(0x61000u + (k) * 0x20u)
#define DATA(k)	(0x70000u + (k) * 0x8000u)
static void
t_indirect(uint16_t k, uint32_t type, uint64_t sector, const uint32_t *lens, unsigned n)
{
	struct vring_desc_le *t = (struct vring_desc_le *)(mem + TBL(k));
	uint16_t w = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;
	uint32_t at = DATA(k);

	memcpy(mem + HDR(k), &type, 4);
	memset(mem + HDR(k) + 4, 0, 4);
	memcpy(mem + HDR(k) + 8, &sector, 8);
	mem[HDR(k) + 16] = 0xff;
	t[0] = (struct vring_desc_le){ GPA + HDR(k), 16, VRING_DESC_F_NEXT, 1 };
	for (unsigned i = 0; i < n; i++) {
		t[1 + i] = (struct vring_desc_le){ GPA + at, lens[i], VRING_DESC_F_NEXT | w,
			(uint16_t)(2 + i) };
		at += lens[i];
	}
	t[1 + n] = (struct vring_desc_le){ GPA + HDR(k) + 16, 1, VRING_DESC_F_WRITE, 0 };
	t_desc()[k] = (struct vring_desc_le){ GPA + TBL(k), (2 + n) * 16, VRING_DESC_F_INDIRECT, 0 };
}

static uint8_t
t_istatus(uint16_t k)
{
	return mem[HDR(k) + 16];
}

/* What the call eventfd collected since the last look: 0 when nothing. */
static uint64_t
t_calls(void)
{
	uint64_t n = 0;

	if (read(call, &n, 8) != 8)
		return 0;
	return n;
}

Test(vhost_user, owner_answers_from_later_rounds_in_any_order)
{
	static const uint32_t la[] = { 100, 412, 1536 }, lb[] = { 1, 511, 3584 },
	    lc[] = { 4096 }, le[] = { 2047, 1 };

	t_handshake();
	for (unsigned i = 0; i < sizeof(disk); i++)
		disk[i] = (uint8_t)(i * 13 + 5);
	for (unsigned i = 0; i < 2048; i++)
		mem[DATA(0) + i] = (uint8_t)(i * 3 + 1);
	memset(mem + DATA(2), 0xc3, 4096);
	hold = true;
	t_indirect(0, VIRTIO_BLK_T_OUT, 0, la, 3);	/* A: 4 sectors in odd pieces */
	t_post(0);
	t_indirect(1, VIRTIO_BLK_T_IN, 16, lb, 3);	/* B */
	t_post(1);
	t_indirect(2, VIRTIO_BLK_T_OUT, 40, lc, 1);	/* C */
	t_post(2);
	t_indirect(3, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);	/* D */
	t_post(3);
	cr_assert_eq(nheld, 4, "every request went to the owner");
	cr_assert_eq(vblk_inflight(vb), 4);
	cr_assert_eq(t_used()->idx, 0, "nothing answered yet");
	cr_assert_eq(t_calls(), 0);
	struct vblk_req *b = t_held(1);
	cr_assert_eq(b->r_niov, 3, "the status's own descriptor is no data segment");
	cr_assert_eq(b->r_len, 4096);

	/* a later round: C, then A, one call for both */
	t_answer(t_held(2), VIRTIO_BLK_S_OK);
	t_answer(t_held(0), VIRTIO_BLK_S_OK);
	cr_assert_eq(t_calls(), 0, "no call before the batch ends");
	vblk_flush_calls(vb);
	cr_assert_eq(t_calls(), 1, "one call for the batch");
	cr_assert_eq(t_used()->idx, 2);
	cr_assert_eq(t_used()->ring[0].id, 2);
	cr_assert_eq(t_used()->ring[0].len, 1);
	cr_assert_eq(t_used()->ring[1].id, 0);
	cr_assert_eq(t_istatus(0), VIRTIO_BLK_S_OK);
	cr_assert_eq(t_istatus(2), VIRTIO_BLK_S_OK);
	cr_assert_eq(t_istatus(1), 0xff, "B is still out");
	cr_assert_eq(memcmp(disk, mem + DATA(0), 2048), 0);
	cr_assert_eq(memcmp(disk + 40 * 512, mem + DATA(2), 4096), 0);

	/* while B and D are out, a new request still reaches the owner */
	t_indirect(4, VIRTIO_BLK_T_IN, 0, le, 2);	/* E: reads A back */
	t_post(4);
	cr_assert_eq(nheld, 5);
	cr_assert_eq(vblk_inflight(vb), 3);
	t_answer(t_held(4), VIRTIO_BLK_S_OK);
	t_answer(t_held(3), VIRTIO_BLK_S_OK);
	t_answer(b, VIRTIO_BLK_S_OK);
	vblk_flush_calls(vb);
	cr_assert_eq(t_calls(), 1);
	cr_assert_eq(t_used()->idx, 5);
	cr_assert_eq(t_used()->ring[2].id, 4);
	cr_assert_eq(t_used()->ring[2].len, 2049);
	cr_assert_eq(t_used()->ring[3].id, 3);
	cr_assert_eq(t_used()->ring[3].len, 1);
	cr_assert_eq(t_used()->ring[4].id, 1);
	cr_assert_eq(t_used()->ring[4].len, 4097);
	cr_assert_eq(memcmp(mem + DATA(4), mem + DATA(0), 2048), 0, "E read what A wrote");
	cr_assert_eq(memcmp(mem + DATA(1), disk + 16 * 512, 4096), 0, "B read its sectors");
	for (uint16_t k = 0; k < 5; k++)
		cr_assert_eq(t_istatus(k), VIRTIO_BLK_S_OK, "request %u", k);
	cr_assert_eq(vblk_inflight(vb), 0);
	vblk_flush_calls(vb);
	cr_assert_eq(t_calls(), 0, "nothing new, no call");
}

/* The queue set up again from scratch, on fresh ring memory. */
static void
t_ring_again(void)
{
	memset(mem + AVAIL, 0, 0x1000);
	memset(mem + USED, 0, 0x1000);
	t_ring_setup();
}

Test(vhost_user, a_late_answer_after_the_ring_stopped_is_dropped)
{
	struct { uint32_t index, num; } st = { 0, 0 };

	t_handshake();
	hold = true;
	t_request(0, VIRTIO_BLK_T_IN, 0, 0x20000, 512);
	t_post(0);
	cr_assert_eq(nheld, 1);
	cr_assert_eq(t_call(VHU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &st, sizeof(st)), 8);
	cr_assert_eq(st.num, 1);
	t_ring_again();
	/* the old request is answered only now: the new ring must not see it */
	t_answer(held[0], VIRTIO_BLK_S_OK);
	vblk_flush_calls(vb);
	cr_assert_eq(t_used()->idx, 0, "no used entry on the new ring");
	cr_assert_eq(t_status(0), 0xff, "no status in a buffer given up");
	cr_assert_eq(t_calls(), 0);
	cr_assert_eq(vblk_inflight(vb), 0);
	hold = false;
	t_request(0, VIRTIO_BLK_T_IN, 0, 0x20000, 512);
	t_post(0);
	cr_assert_eq(t_used()->idx, 1);
	cr_assert_eq(t_used()->ring[0].id, 0);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_OK);
}

Test(vhost_user, a_memory_table_while_requests_are_out_ends_the_session)
{
	struct { uint32_t n, pad; uint64_t gpa, size, uva, off; } table = {
		1, 0, GPA, MEM_SIZE, UVA, MEM_OFF };
	int fd = memfd;

	t_handshake();
	hold = true;
	disk[0] = 0x42;
	t_request(0, VIRTIO_BLK_T_IN, 0, 0x20000, 512);
	t_post(0);
	cr_assert_eq(nheld, 1);
	t_send(VHU_SET_MEM_TABLE, 0, &table, sizeof(table), &fd, 1);
	cr_assert_eq(vblk_dispatch(vb), -1, "the mapping the owner writes into would go");
	/* the owner finishes what it holds: the buffers are still mapped */
	t_answer(held[0], VIRTIO_BLK_S_OK);
	cr_assert_eq(mem[0x20000], 0x42);
	cr_assert_eq(t_status(0), VIRTIO_BLK_S_OK);
	cr_assert_eq(t_used()->idx, 1);
	cr_assert_eq(vblk_inflight(vb), 0);
}

Test(vhost_user, limits_offered_and_held_to, .init = t_setup_limits, .fini = t_teardown)
{
	struct { uint32_t off, size, flags; uint8_t data[64]; } cfg = { 0, 24, 0, { 0 } };
	uint32_t size_max, seg_max;
	static const uint32_t five[] = { 512, 512, 512, 512, 512 }, four[] = { 512, 512, 512, 512 },
	    big[] = { 8192, 8192, 512 };
	uint64_t f = t_u64(VHU_GET_FEATURES);

	cr_assert(f & (1ull << VIRTIO_BLK_F_SIZE_MAX));
	cr_assert(f & (1ull << VIRTIO_BLK_F_SEG_MAX));
	cr_assert_not(f & (1ull << VIRTIO_BLK_F_FLUSH), "the disk below cannot flush");
	cr_assert_eq(t_call(VHU_GET_CONFIG, &cfg, 12 + 24, NULL, 0, &cfg, sizeof(cfg)), 12 + 24);
	memcpy(&size_max, cfg.data + 8, 4);
	memcpy(&seg_max, cfg.data + 12, 4);
	cr_assert_eq(size_max, 4096);
	cr_assert_eq(seg_max, 4);

	t_handshake();
	hold = true;
	t_indirect(0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	t_post(0);
	cr_assert_eq(t_istatus(0), VIRTIO_BLK_S_UNSUPP);
	t_indirect(1, VIRTIO_BLK_T_IN, 0, five, 5);
	t_post(1);
	cr_assert_eq(t_istatus(1), VIRTIO_BLK_S_IOERR, "five segments where four are offered");
	t_indirect(2, VIRTIO_BLK_T_OUT, 0, big, 3);
	t_post(2);
	cr_assert_eq(t_istatus(2), VIRTIO_BLK_S_IOERR, "more than seg_max * size_max bytes");
	cr_assert_eq(nheld, 0, "none of them reached the owner");
	t_indirect(3, VIRTIO_BLK_T_IN, 0, four, 4);
	t_post(3);
	cr_assert_eq(nheld, 1, "four segments are taken");
	cr_assert_eq(held[0]->r_niov, 4);
	t_answer(held[0], VIRTIO_BLK_S_OK);
	cr_assert_eq(t_istatus(3), VIRTIO_BLK_S_OK);
	cr_assert_eq(vblk_inflight(vb), 0);
}
