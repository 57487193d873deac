#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <xen/io/protocols.h>

#include "bbfront.h"
#include "libhv.h"
#include "tfront.h"
#include "xs.h"

/* Writes a frontend (fe) or backend key; asserts. */
#define bbf_write(f, tx, fe, key, ...) \
	tfront_write((f)->f_st, (tx), (fe) ? (f)->f_fe : (f)->f_be, (key), __VA_ARGS__)

/* A domain whose memory the test fills as its guest would. */
void
bbf_domain(struct bbfront *f, struct stack *st)
{
	struct tfront_dom d;

	memset(f, 0, sizeof(*f));
	f->f_st = st;
	f->f_next_ref = TFRONT_FIRST_REF;
	tfront_domain(st, BBF_MEM_PAGES, f->f_port, BBF_MAX_QUEUES, &d);
	f->f_domid = d.td_domid;
	f->f_mem = d.td_mem;
	f->f_gnt = d.td_gnt;
	f->f_xce = d.td_xce;
	f->f_bell = d.td_bell;
}

/* The set-up most blkback tests share: the stack, one image, the domain. */
void
bbf_stack_disk(struct stack *st, const char *tag, struct bbfront *f, char *img, size_t len,
    unsigned mib)
{
	cr_assert(stack_have(STACK_WITH(STACK_BLKBACK)), "blkback is not built");
	stack_start(st, tag, STACK_WITH(STACK_BLKBACK));
	snprintf(img, len, "%s/disk.img", st->s_rundir);
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)mib << 20), 0);
	close(fd);
	bbf_domain(f, st);
}

/* A device connected as a well-behaved Linux blkfront would, for tests that start there. */
uint32_t
bbf_attach(struct bbfront *f, const char *path)
{
	uint32_t ring_ref;

	bbf_devdirs(f, 51712, path, "w", NULL);
	cr_assert_eq(bbf_wait_be(f, 2, 5000), 0);
	ring_ref = f->f_next_ref;	/* one queue of one page: its grant is the next ref */
	bbf_connect(f, 1, 0, true, 4);
	cr_assert_eq(bbf_wait_be(f, 4, 5000), 0);
	return ring_ref;
}

/* Tests that kill the worker need to know which process it is. */
pid_t
bbf_worker_pid(struct stack *st, pid_t not, int ms)
{
	char path[96], buf[256];
	long long deadline = stack_now_ms() + ms;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", st->s_pid[STACK_BLKBACK],
	    st->s_pid[STACK_BLKBACK]);
	for (;;) {
		FILE *f = fopen(path, "r");
		pid_t pid = -1;
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				pid = atoi(buf);
			fclose(f);
		}
		if (pid > 0 && pid != not)
			return pid;
		if (stack_now_ms() > deadline)
			return -1;
		usleep(2000);
	}
}

/* The domain goes; our mapping of it first. */
void
bbf_destroy(struct bbfront *f)
{
	tfront_destroy(f->f_st, f->f_domid, f->f_xce);
	f->f_mem = NULL;
}

/* Where a guest frame is in our mapping. */
void *
bbf_page(struct bbfront *f, uint64_t pfn)
{
	cr_assert_lt(pfn, BBF_MEM_PAGES);
	return f->f_mem + pfn * 4096;
}

/* A v1 grant entry for dom0, written as the guest would. */
uint32_t
bbf_grant(struct bbfront *f, uint64_t pfn, bool readonly)
{
	return tfront_grant(f->f_gnt, &f->f_next_ref, pfn, readonly);
}

/* A persistent frontend's grant: one per page, kept. */
uint32_t
bbf_ref(struct bbfront *f, uint64_t pfn)
{
	cr_assert_lt(pfn, BBF_MEM_PAGES);
	if (f->f_pfn_ref[pfn] == 0)
		f->f_pfn_ref[pfn] = bbf_grant(f, pfn, false);
	return f->f_pfn_ref[pfn];
}

/* Ends access (the backend must not hold the page). */
void
bbf_ungrant(struct bbfront *f, uint32_t ref)
{
	__atomic_store_n(&f->f_gnt[ref].flags, 0, __ATOMIC_RELEASE);
}

/* Both directories in one transaction, as xl writes them. */
void
bbf_devdirs(struct bbfront *f, uint32_t devid, const char *params, const char *mode,
    const char *const *extra)
{
	struct xs *xs = f->f_st->s_xs;
	xs_tx_t tx;

	f->f_devid = devid;
	snprintf(f->f_fe, sizeof(f->f_fe), "/local/domain/%u/device/vbd/%u", f->f_domid, devid);
	snprintf(f->f_be, sizeof(f->f_be), "/local/domain/0/backend/vbd/%u/%u", f->f_domid, devid);
	do {
		cr_assert_eq(xs_transaction_start(xs, &tx), 0);
		bbf_write(f, tx, true, "virtual-device", "%u", devid);
		bbf_write(f, tx, true, "device-type", "disk");
		bbf_write(f, tx, false, "params", "%s", params);
		bbf_write(f, tx, false, "mode", "%s", mode);
		bbf_write(f, tx, false, "type", "phy");
		bbf_write(f, tx, false, "dev", "xvd%c", 'a' + devid % 26);
		bbf_write(f, tx, false, "device-type", "disk");
		tfront_devdir_keys(f->f_st, tx, f->f_fe, f->f_be, f->f_domid, extra);
	} while (xs_transaction_end(xs, tx, false) < 0 && errno == EAGAIN);
}

/* What xl removes after a detach. */
void
bbf_rmdirs(struct bbfront *f)
{
	tfront_rmdirs(f->f_st, f->f_fe, f->f_be);
}

/* A backend key. */
char *
bbf_be_read(struct bbfront *f, const char *key)
{
	return stack_xs_read(f->f_st, "%s/%s", f->f_be, key);
}

/* The backend's xenbus state. */
int
bbf_be_state(struct bbfront *f)
{
	return tfront_state(f->f_st, f->f_be);
}

/* Polls the backend's state. */
int
bbf_wait_be(struct bbfront *f, int state, int ms)
{
	return tfront_wait_state(f->f_st, f->f_be, state, ms);
}

/* Our xenbus state. */
void
bbf_fe_state(struct bbfront *f, int state)
{
	bbf_write(f, XS_TX_NONE, true, "state", "%d", state);
}

/* The frontend's half of the handshake: rings, grants, keys, state. */
void
bbf_connect(struct bbfront *f, unsigned nq, unsigned order, bool persistent, int fe_state)
{
	struct xs *xs = f->f_st->s_xs;
	char dir[32];
	xs_tx_t tx;

	cr_assert_leq(nq, BBF_MAX_QUEUES);
	f->f_nq = nq;
	f->f_order = order;
	do {
		cr_assert_eq(xs_transaction_start(xs, &tx), 0);
		for (unsigned q = 0; q < nq; q++) {
			uint64_t pfn = BBF_PFN_RINGS + q * 16;
			blkif_sring_t *sring = bbf_page(f, pfn);
			memset(sring, 0, 4096u << order);
			SHARED_RING_INIT(sring);
			FRONT_RING_INIT(&f->f_ring[q], sring, 4096u << order);
			if (nq > 1)
				snprintf(dir, sizeof(dir), "queue-%u/", q);
			else
				dir[0] = '\0';
			char key[64];
			for (unsigned i = 0; i < (1u << order); i++) {
				uint32_t ref = bbf_grant(f, pfn + i, false);
				if (order == 0)
					snprintf(key, sizeof(key), "%sring-ref", dir);
				else
					snprintf(key, sizeof(key), "%sring-ref%u", dir, i);
				bbf_write(f, tx, true, key, "%u", ref);
			}
			snprintf(key, sizeof(key), "%sevent-channel", dir);
			bbf_write(f, tx, true, key, "%d", f->f_port[q]);
		}
		if (order)
			bbf_write(f, tx, true, "ring-page-order", "%u", order);
		if (nq > 1)
			bbf_write(f, tx, true, "multi-queue-num-queues", "%u", nq);
		bbf_write(f, tx, true, "protocol", "%s", XEN_IO_PROTO_ABI_X86_64);
		bbf_write(f, tx, true, "feature-persistent", "%d", persistent);
		bbf_write(f, tx, true, "state", "%d", fe_state);
	} while (xs_transaction_end(xs, tx, false) < 0 && errno == EAGAIN);
}

/* One request, notifying only when ring.h says the backend sleeps. */
void
bbf_push(struct bbfront *f, unsigned q, const blkif_request_t *req)
{
	blkif_front_ring_t *r = &f->f_ring[q];
	int notify;

	memcpy(RING_GET_REQUEST(r, r->req_prod_pvt), req, sizeof(*req));
	r->req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r, notify);
	if (notify)
		hv_evtchn_notify(f->f_xce, f->f_bell);
}

/* Polls for the next response and re-arms rsp_event. */
int
bbf_wait_rsp(struct bbfront *f, unsigned q, blkif_response_t *rsp, int ms)
{
	blkif_front_ring_t *r = &f->f_ring[q];
	long long deadline = stack_now_ms() + ms;

	while (__atomic_load_n(&r->sring->rsp_prod, __ATOMIC_ACQUIRE) == r->rsp_cons) {
		if (stack_now_ms() > deadline)
			return -1;
		usleep(200);
	}
	memcpy(rsp, RING_GET_RESPONSE(r, r->rsp_cons), sizeof(*rsp));
	r->rsp_cons++;
	r->sring->rsp_event = r->rsp_cons + 1;
	return 0;
}

/* One I/O, asserted to be answered for itself. */
int
bbf_rw(struct bbfront *f, unsigned q, int op, uint64_t sector, uint64_t pfn, unsigned nsect)
{
	blkif_request_t req = { .operation = op, .nr_segments = 1, .id = 0xb10c0000 + sector,
	    .sector_number = sector };
	blkif_response_t rsp;
	uint32_t ref = bbf_ref(f, pfn);

	req.seg[0] = (struct blkif_request_segment){ .gref = ref, .first_sect = 0,
	    .last_sect = nsect - 1 };
	bbf_push(f, q, &req);
	cr_assert_eq(bbf_wait_rsp(f, q, &rsp, 5000), 0, "no response to %s of sector %llu",
	    op == BLKIF_OP_READ ? "read" : "write", (unsigned long long)sector);
	cr_assert_eq(rsp.id, req.id);
	cr_assert_eq(rsp.operation, op);
	return rsp.status;
}

/* Mini-OS's close sequence. */
void
bbf_close(struct bbfront *f)
{
	bbf_fe_state(f, 5);
	tfront_wait_at_least(f->f_st, f->f_be, 5, 5000);
	bbf_fe_state(f, 6);
	cr_assert_eq(bbf_wait_be(f, 6, 5000), 0, "backend never reached Closed (state %d)",
	    bbf_be_state(f));
}

/* xl's detach request. */
int
bbf_detach(struct bbfront *f, int ms)
{
	tfront_detach(f->f_st, f->f_be);
	return bbf_wait_be(f, 6, ms);
}
