/*
 * A test kernel for virtio-blk over blkfront (guest/umlshim/vhost_user_blkfront.h)
 * against a real blkback: it plays UML's virtio_uml itself, in the same
 * process, over a socketpair (the vhost-user messages, a memory file as the
 * "guest memory", a split ring with indirect tables), and puts requests on
 * the ring whose buffers are of odd sizes: writes, reads back into other
 * buffers, more 1 MiB reads than blkfront's page pool holds at once, a
 * flush, GET_ID, then the front-end goes away. "VHUBF <what>" lines on the
 * console; test_blk_guest.c reads the image.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bfiov.h"
#include "blkfront.h"
#include "guest.h"
#include "hv_elfnote.h"
#include "vhost_user.h"
#include "vhost_user_blkfront.h"

HV_GUEST_ELFNOTE();

#define QN		64
#define MEM_SIZE	(8u << 20)
#define MEM_OFF		4096u			/* the region starts this far into the file */
#define GPA		0x40000000ull
#define UVA		0x7e0000000000ull
#define DESC		0x0u
#define AVAIL		0x1000u
#define USED		0x2000u
#define HDR(k)		(0x3000u + (k) * 0x20u)
#define TBL(k)		(0x10000u + (k) * 0x2000u)	/* up to 512 entries each */
#define WBUF		0x100000u
#define RBUF		0x480000u
#define NREQ		6

static struct guest g;
static struct blkfront *bf;
static struct vhubf *vh;
static unsigned fails, gone;
static int fe = -1, kick = -1, call = -1, memfd = -1;
static uint8_t *mem;
static uint16_t avail_idx;
static unsigned seg_max;

static void
fail(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	console_printf(g.g_cons, "VHUBF FAIL %s\n", line);
	fails++;
}

/* Runs the guest's loop (ports and watched fds) until fd is readable or
 * cond holds; -1 after 30 s. */
static int
spin(int fd, bool (*cond)(void))
{
	long long deadline = events_now_ms() + 30000;

	while (events_now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (fd >= 0 && poll(&p, 1, 0) == 1)
			return 0;
		if (cond != NULL && cond())
			return 0;
		events_loop_once(g.g_ev, 20);
	}
	return -1;
}

/* One message (with NEED_REPLY when no reply of its own is due, REPLY_ACK being
 * on) and its reply; the back-end answers from the event loop. */
static int
fe_call(uint32_t req, const void *payload, uint32_t len, int *fds, unsigned nfds, void *reply,
    uint32_t rlen)
{
	uint32_t hdr[3] = { req, VHU_VERSION | (reply == NULL ? VHU_FLAG_NEED_REPLY : 0), len };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	uint64_t ack;

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
	if (sendmsg(fe, &mh, 0) != (ssize_t)(sizeof(hdr) + len) || spin(fe, NULL) < 0 ||
	    read(fe, hdr, sizeof(hdr)) != sizeof(hdr) || hdr[0] != req ||
	    !(hdr[1] & VHU_FLAG_REPLY)) {
		fail("message %u: no reply", req);
		return -1;
	}
	if (reply == NULL) {
		reply = &ack;
		rlen = sizeof(ack);
	}
	if (hdr[2] > rlen || read(fe, reply, hdr[2]) != (ssize_t)hdr[2]) {
		fail("message %u: a reply of %u bytes", req, hdr[2]);
		return -1;
	}
	if (reply == &ack && ack != 0) {
		fail("message %u refused", req);
		return -1;
	}
	return (int)hdr[2];
}

/* UML's setup of the device and its one queue. */
static int
fe_handshake(void)
{
	uint64_t f = 0, pf = 0;
	struct { uint32_t n, pad; uint64_t gpa, size, uva, off; } table = {
		1, 0, GPA, MEM_SIZE, UVA, MEM_OFF };
	struct { uint32_t index, num; } st = { 0, QN };
	struct { uint32_t index, flags; uint64_t desc, used, avail, log; } addr = {
		0, 0, UVA + DESC, UVA + USED, UVA + AVAIL, ~0ull };
	struct { uint32_t off, size, flags; uint8_t data[24]; } cfg = { 0, 24, 0, { 0 } };
	uint64_t idx = 0, cap;

	if (fe_call(VHU_GET_FEATURES, NULL, 0, NULL, 0, &f, 8) != 8 ||
	    fe_call(VHU_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, &pf, 8) != 8)
		return -1;
	pf &= (1ull << VHU_PROTO_F_REPLY_ACK) | (1ull << VHU_PROTO_F_CONFIG);
	if (!(pf & (1ull << VHU_PROTO_F_REPLY_ACK))) {
		fail("no REPLY_ACK offered");
		return -1;
	}
	if (fe_call(VHU_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0, NULL, 0) < 0 ||
	    fe_call(VHU_SET_OWNER, NULL, 0, NULL, 0, NULL, 0) < 0 ||
	    fe_call(VHU_GET_CONFIG, &cfg, sizeof(cfg), NULL, 0, &cfg, sizeof(cfg)) < 0 ||
	    fe_call(VHU_SET_FEATURES, &f, 8, NULL, 0, NULL, 0) < 0 ||
	    fe_call(VHU_SET_MEM_TABLE, &table, sizeof(table), &memfd, 1, NULL, 0) < 0 ||
	    fe_call(VHU_SET_VRING_CALL, &idx, 8, &call, 1, NULL, 0) < 0 ||
	    fe_call(VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL, 0) < 0)
		return -1;
	st.num = 0;
	if (fe_call(VHU_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL, 0) < 0 ||
	    fe_call(VHU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, NULL, 0) < 0 ||
	    fe_call(VHU_SET_VRING_KICK, &idx, 8, &kick, 1, NULL, 0) < 0)
		return -1;
	st.num = 1;
	if (fe_call(VHU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0, NULL, 0) < 0)
		return -1;
	memcpy(&cap, cfg.data, 8);
	memcpy(&seg_max, cfg.data + 12, 4);
	uint32_t size_max;
	memcpy(&size_max, cfg.data + 8, 4);
	if (cap != blkfront_info(bf)->bi_sectors || size_max != 4096 ||
	    seg_max != blkfront_max_sectors(bf) / 8 ||
	    !(f & (1ull << VIRTIO_BLK_F_SIZE_MAX)) ||
	    !(f & (1ull << VIRTIO_BLK_F_FLUSH)) != !blkfront_info(bf)->bi_flush) {
		fail("config: %llu sectors, size_max %u, seg_max %u, features %#llx",
		    (unsigned long long)cap, size_max, seg_max, (unsigned long long)f);
		return -1;
	}
	console_printf(g.g_cons, "VHUBF connected, seg_max %u, size_max %u\n", seg_max, size_max);
	return 0;
}

static struct vring_used_le *
used(void)
{
	return (struct vring_used_le *)(mem + USED);
}

/* Request k in desc slot k: an indirect table of the header, the data
 * [at, at + len) cut into pieces no larger than a page, of odd sizes where
 * seg_max leaves room, and the status. */
static void
post(uint16_t k, uint32_t type, uint64_t sector, uint32_t at, uint32_t len, unsigned first)
{
	static const uint32_t odd[] = { 1, 511, 4095, 3, 4096, 2000, 1234, 513 };
	struct vring_desc_le *t = (struct vring_desc_le *)(mem + TBL(k));
	struct vring_avail_le *av = (struct vring_avail_le *)(mem + AVAIL);
	uint16_t w = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;
	unsigned n = 1;

	memcpy(mem + HDR(k), &type, 4);
	memset(mem + HDR(k) + 4, 0, 4);
	memcpy(mem + HDR(k) + 8, &sector, 8);
	mem[HDR(k) + 16] = 0xff;
	t[0] = (struct vring_desc_le){ GPA + HDR(k), 16, VRING_DESC_F_NEXT, 1 };
	for (uint32_t done = 0, i = first; done < len; i++, n++) {
		uint32_t left = len - done, s = odd[i % 8];
		if (s > left || left - s > (seg_max - n) * 4096u)
			s = left < 4096 ? left : 4096;
		t[n] = (struct vring_desc_le){ GPA + at + done, s, VRING_DESC_F_NEXT | w,
			(uint16_t)(n + 1) };
		done += s;
	}
	t[n] = (struct vring_desc_le){ GPA + HDR(k) + 16, 1, VRING_DESC_F_WRITE, 0 };
	((struct vring_desc_le *)(mem + DESC))[k] = (struct vring_desc_le){ GPA + TBL(k),
		(n + 1) * 16, VRING_DESC_F_INDIRECT, 0 };
	av->ring[avail_idx % QN] = k;
	__atomic_store_n(&av->idx, ++avail_idx, __ATOMIC_RELEASE);
}

static uint16_t want_used;

static bool
all_used(void)
{
	return __atomic_load_n(&used()->idx, __ATOMIC_ACQUIRE) == want_used;
}

/* Kicks and waits for every posted request; counts answers that came
 * before one posted earlier. */
static int
run(const char *what, unsigned *late)
{
	uint64_t one = 1;
	uint16_t from = used()->idx;

	want_used = avail_idx;
	if (write(kick, &one, 8) != 8 || spin(-1, all_used) < 0) {
		fail("%s: %u of %u answered", what, (uint16_t)(used()->idx - from),
		    (uint16_t)(avail_idx - from));
		return -1;
	}
	*late = 0;
	for (uint16_t i = from + 1; i != want_used; i++)
		*late += used()->ring[i % QN].id < used()->ring[(uint16_t)(i - 1) % QN].id;
	return 0;
}

static void
gone_cb(struct vhubf *v, void *arg)
{
	(void)arg;
	gone++;
	vhubf_free(v);
}

/* Writes, reads back, reads beyond the pool, flush, GET_ID, then goes. */
static void
scenario(void)
{
	static const uint64_t want[NREQ] = { 2048, 8, 1000, 24, 2048, 1 };
	uint64_t nsect[NREQ], total = 0, max = blkfront_max_sectors(bf);
	unsigned late;

	for (unsigned k = 0; k < NREQ; k++) {
		nsect[k] = want[k] < max ? want[k] : max;
		total += nsect[k];
	}
	for (uint64_t i = 0; i < total * 512; i++)
		mem[WBUF + i] = bfiov_byte(BFIOV_C_SECTOR * 512 + i, 3);
	memset(mem + RBUF, 0, total * 512);
	for (uint64_t k = 0, s = 0; k < NREQ; s += nsect[k++])
		post((uint16_t)k, VIRTIO_BLK_T_OUT, BFIOV_C_SECTOR + s, WBUF + (uint32_t)s * 512,
		    (uint32_t)nsect[k] * 512, (unsigned)k);
	if (run("write", &late) < 0)
		return;
	for (unsigned k = 0; k < NREQ; k++) {
		struct vring_used_elem_le *e = &used()->ring[k];
		if (mem[HDR(e->id) + 16] != VIRTIO_BLK_S_OK || e->len != 1)
			fail("write %u: status %u, length %u", e->id, mem[HDR(e->id) + 16], e->len);
	}
	console_printf(g.g_cons, "VHUBF write ok %u requests, %llu sectors, %u answered "
	    "after a later one\n", NREQ, (unsigned long long)total, late);

	for (unsigned k = NREQ; k-- > 0;) {
		uint64_t s = 0;
		for (unsigned j = 0; j < k; j++)
			s += nsect[j];
		post((uint16_t)k, VIRTIO_BLK_T_IN, BFIOV_C_SECTOR + s, RBUF + (uint32_t)s * 512,
		    (uint32_t)nsect[k] * 512, (unsigned)k + 3);
	}
	if (run("read", &late) < 0)
		return;
	for (unsigned k = 0; k < NREQ; k++) {
		struct vring_used_elem_le *e = &used()->ring[(NREQ + k) % QN];
		if (mem[HDR(e->id) + 16] != VIRTIO_BLK_S_OK || e->len != nsect[e->id] * 512 + 1)
			fail("read %u: status %u, length %u", e->id, mem[HDR(e->id) + 16], e->len);
	}
	if (memcmp(mem + RBUF, mem + WBUF, total * 512) != 0)
		fail("read back differs");
	else
		console_printf(g.g_cons, "VHUBF read ok, %u answered after a later one\n", late);

	/* eight reads of the largest size at once: more than the page pool holds */
	memset(mem + RBUF, 0, max * 512);
	unsigned long waited = vhubf_waited(vh);
	for (unsigned k = 0; k < 8; k++)
		post((uint16_t)k, VIRTIO_BLK_T_IN, BFIOV_C_SECTOR, RBUF, (uint32_t)max * 512, k);
	if (run("eight reads", &late) < 0)
		return;
	for (unsigned k = 0; k < 8; k++)
		if (mem[HDR(k) + 16] != VIRTIO_BLK_S_OK)
			fail("big read %u: status %u", k, mem[HDR(k) + 16]);
	if (memcmp(mem + RBUF, mem + WBUF, max * 512) != 0)
		fail("big reads differ");
	else
		console_printf(g.g_cons, "VHUBF eight reads ok, %lu waited for blkfront\n",
		    vhubf_waited(vh) - waited);

	post(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
	post(1, VIRTIO_BLK_T_GET_ID, 0, RBUF, VIRTIO_BLK_ID_BYTES, 0);
	if (run("flush and id", &late) < 0)
		return;
	uint8_t fl = mem[HDR(0) + 16];
	if (fl != (blkfront_info(bf)->bi_flush ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_UNSUPP))
		fail("flush: status %u", fl);
	if (mem[HDR(1) + 16] != VIRTIO_BLK_S_OK ||
	    strncmp((char *)mem + RBUF, blkfront_name(bf), VIRTIO_BLK_ID_BYTES) != 0)
		fail("GET_ID: status %u, \"%.20s\"", mem[HDR(1) + 16], (char *)mem + RBUF);
	uint64_t calls = 0;
	if (read(call, &calls, 8) != 8 || calls == 0)
		fail("no call signalled");
	console_printf(g.g_cons, "VHUBF flush %s, id %.20s\n", fl == 0 ? "ok" : "unsupported",
	    (char *)mem + RBUF);
}

static bool
is_gone(void)
{
	return gone > 0;
}

int
main(void)
{
	char why[160], devid[16];
	int sv[2];

	if (guest_boot(&g) < 0)
		return 1;
	snprintf(devid, sizeof(devid), "%.*s", (int)strcspn((const char *)g.g_start.cmd_line, " "),
	    (const char *)g.g_start.cmd_line);
	bf = blkfront_open(&g, devid, 20000, why, sizeof(why));
	memfd = memfd_create("vhubf-mem", MFD_CLOEXEC);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bf == NULL) {
		fail("open %s: %s (%s)", devid, why, strerror(errno));
	} else if (memfd < 0 || kick < 0 || call < 0 || ftruncate(memfd, MEM_OFF + MEM_SIZE) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		fail("setup: %s", strerror(errno));
	} else {
		uint8_t *all = mmap(NULL, MEM_OFF + MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    memfd, 0);
		mem = all == MAP_FAILED ? NULL : all + MEM_OFF;
		fe = sv[1];
		vh = vhubf_new(&g, bf, sv[0], "vhubf xvda", gone_cb, NULL);
		if (mem == NULL || vh == NULL)
			fail("setup: %s", strerror(errno));
		else if (fe_handshake() == 0)
			scenario();
		close(fe);
		if (vh != NULL && spin(-1, is_gone) < 0)
			fail("the device never saw the front-end go");
	}
	console_printf(g.g_cons, "VHUBF done, %u failed\n", fails);
	for (;;)			/* the test reads the image, then destroys us */
		events_poll(g.g_ev, -1);
}
