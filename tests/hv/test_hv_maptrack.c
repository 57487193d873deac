/*
 * Grant pins counted across dom0 processes (the domain's maptrack): two
 * mappers of one grant keep its flags until the last unmaps, and a mapper
 * killed with SIGKILL (with an hvd connection, with a worker's lease, or
 * while it holds a ref's lock) has its pins given back by hvd, so the guest's
 * end-access succeeds.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "hv_test_guest.h"
#include "hv_test_util.h"
#include "libhv_priv.h"

static struct hvt t;

static void setup(void) { hvt_start(&t); }
static void teardown(void) { hvt_stop(&t); }

TestSuite(hv_maptrack, .init = setup, .fini = teardown, .timeout = 60);

static uint16_t
flags_of(struct hvt_grant_guest *g, hv_gref_t ref)
{
	return __atomic_load_n(&g->gnt[ref].flags, __ATOMIC_ACQUIRE) & (GTF_reading | GTF_writing);
}

/* Waits up to ms for ref's reading/writing flags to equal want. */
static bool
wait_flags(struct hvt_grant_guest *g, hv_gref_t ref, uint16_t want, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (flags_of(g, ref) == want)
			return true;
		usleep(1000);
	}
	return flags_of(g, ref) == want;
}

/* A second dom0 process: runs fn with its own hvd connection, then waits for a byte on cmd. */
struct peer {
	pid_t pid;
	int cmd;	/* we write: each byte is "go on" */
	int ack;	/* it writes a byte after each step */
};

static void
peer_step(struct peer *p)
{
	char c = 0;

	cr_assert_eq(write(p->cmd, &c, 1), 1);
	cr_assert_eq(read(p->ack, &c, 1), 1, "peer died");
	cr_assert_eq(c, 'k', "peer step failed");
}

static void
peer_wait_ack(struct peer *p)
{
	char c = 0;

	cr_assert_eq(read(p->ack, &c, 1), 1, "peer died");
	cr_assert_eq(c, 'k', "peer step failed");
}

/* Child side: one byte back, 'k' when the step worked. */
static void
peer_ack(int fd, bool ok)
{
	char c = ok ? 'k' : 'x';

	if (write(fd, &c, 1) != 1)
		_exit(2);
}

static void
peer_await(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(0);
}

/* Forks a peer running body(cmd fd, ack fd); the child never returns. */
static void
peer_start(struct peer *p, void (*body)(int cmd, int ack, void *arg), void *arg)
{
	int c[2], a[2];

	cr_assert_eq(pipe(c), 0);
	cr_assert_eq(pipe(a), 0);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		close(c[1]);
		close(a[0]);
		body(c[0], a[1], arg);
		_exit(0);
	}
	close(c[0]);
	close(a[1]);
	p->cmd = c[1];
	p->ack = a[0];
}

static void
peer_kill(struct peer *p)
{
	int status;

	kill(p->pid, SIGKILL);
	cr_assert_eq(waitpid(p->pid, &status, 0), p->pid);
	close(p->cmd);
	close(p->ack);
}

static void
peer_end(struct peer *p)
{
	int status;

	close(p->cmd);
	cr_assert_eq(waitpid(p->pid, &status, 0), p->pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peer status %d", status);
	close(p->ack);
}

struct map_job {
	hv_domid_t domid;
	hv_gref_t refs[4];
	int prot[4];
	unsigned n;
	const struct hv_foreign_mem *mem;	/* a worker: lease + hv_open_foreign */
};

/* Maps the job's refs, acks, waits, unmaps them, acks, waits for the end. */
static void
peer_map_body(int cmd, int ack, void *arg)
{
	struct map_job *j = arg;
	struct hv *hv;
	struct hv_gnttab *xgt;
	bool ok = true;

	if (j->mem) {
		if (hv_maptrack_lease(t.sock, j->domid) < 0)
			_exit(3);
		hv = hv_open_foreign(j->domid, j->mem);
	} else
		hv = hv_open(t.sock);
	if (hv == NULL || (xgt = hv_gnttab_open(hv)) == NULL)
		_exit(4);
	for (unsigned i = 0; i < j->n; i++)
		ok &= hv_gnttab_map_grant_ref(xgt, j->domid, j->refs[i], j->prot[i]) != NULL;
	peer_ack(ack, ok);
	peer_await(cmd);
	for (unsigned i = 0; i < j->n; i++)
		ok &= hv_gnttab_unmap(xgt, j->domid, j->refs[i]) == 0;
	peer_ack(ack, ok);
	peer_await(cmd);
	hv_gnttab_close(xgt);
	hv_close(hv);
	_exit(0);
}

Test(hv_maptrack, two_processes_keep_the_flags_until_the_last_unmap)
{
	struct hvt_grant_guest g;
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv);
	struct peer p;
	struct map_job j;

	hvt_grant_guest_start(&t, &g, true);
	hv_gref_t rw = g.pg->ref_rw;
	/* we map first, the peer second; we unmap first: the peer's pin keeps both flags */
	cr_assert_not_null(hv_gnttab_map_grant_ref(xgt, g.domid, rw, PROT_READ | PROT_WRITE));
	j = (struct map_job){ .domid = g.domid, .refs = { rw }, .prot = { PROT_READ | PROT_WRITE },
	    .n = 1 };
	peer_start(&p, peer_map_body, &j);
	peer_wait_ack(&p);
	cr_assert_eq(hv_gnttab_unmap(xgt, g.domid, rw), 0);
	cr_assert_eq(flags_of(&g, rw), GTF_reading | GTF_writing);
	cr_assert_eq(hvt_grant_guest_end_access(&g, rw), -EBUSY);
	peer_step(&p);		/* the peer unmaps: the last pin */
	cr_assert_eq(flags_of(&g, rw), 0);
	peer_end(&p);

	/* the other order, and write counts across processes: we read, the peer writes */
	cr_assert_not_null(hv_gnttab_map_grant_ref(xgt, g.domid, rw, PROT_READ));
	peer_start(&p, peer_map_body, &j);
	peer_wait_ack(&p);
	cr_assert_eq(flags_of(&g, rw), GTF_reading | GTF_writing);
	peer_step(&p);		/* the only writer goes: GTF_writing with it, not GTF_reading */
	cr_assert_eq(flags_of(&g, rw), GTF_reading);
	cr_assert_eq(hvt_grant_guest_end_access(&g, rw), -EBUSY);
	peer_end(&p);
	cr_assert_eq(hv_gnttab_unmap(xgt, g.domid, rw), 0);
	cr_assert_eq(flags_of(&g, rw), 0);
	cr_assert_eq(hvt_grant_guest_end_access(&g, rw), 0);
	hv_gnttab_close(xgt);
	hv_evtchn_close(g.xce);
}

/* SIGKILL to a peer mapping ro (read) and rw (read and write, twice); we map rw too. */
static void
killed_mapper(struct hvt_grant_guest *g, bool worker)
{
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv);
	struct hv_foreign_mem mem = { .fd = -1 };
	hv_gref_t ro = g->pg->ref_ro, rw = g->pg->ref_rw;
	struct map_job j = { .domid = g->domid, .refs = { ro, rw, rw },
	    .prot = { PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE }, .n = 3 };
	struct peer p;

	if (worker) {
		/* as a backend daemon does: the memfd fetched here, the worker maps it */
		cr_assert_eq(hv_foreign_memfd(t.hv, g->domid, &mem), 0);
		j.mem = &mem;
	}
	cr_assert_not_null(hv_gnttab_map_grant_ref(xgt, g->domid, rw, PROT_READ));
	peer_start(&p, peer_map_body, &j);
	if (mem.fd >= 0)
		close(mem.fd);
	peer_wait_ack(&p);
	cr_assert_eq(flags_of(g, ro), GTF_reading);
	cr_assert_eq(flags_of(g, rw), GTF_reading | GTF_writing);
	peer_kill(&p);
	/* hvd sees the connection close and gives the pins back; ours stays */
	cr_assert(wait_flags(g, ro, 0, 5000), "ro flags %#x after the kill", flags_of(g, ro));
	cr_assert(wait_flags(g, rw, GTF_reading, 5000), "rw flags %#x after the kill",
	    flags_of(g, rw));
	cr_assert_eq(hvt_grant_guest_end_access(g, ro), 0);
	cr_assert_eq(hvt_grant_guest_end_access(g, rw), -EBUSY);
	cr_assert_eq(hv_gnttab_unmap(xgt, g->domid, rw), 0);
	cr_assert_eq(hvt_grant_guest_end_access(g, rw), 0);
	hv_gnttab_close(xgt);
}

Test(hv_maptrack, killed_mapper_releases_its_pins)
{
	struct hvt_grant_guest g;

	hvt_grant_guest_start(&t, &g, true);
	killed_mapper(&g, false);
	hv_evtchn_close(g.xce);
}

Test(hv_maptrack, killed_worker_with_a_lease_releases_its_pins)
{
	struct hvt_grant_guest g;

	hvt_grant_guest_start(&t, &g, true);
	killed_mapper(&g, true);
	hv_evtchn_close(g.xce);
}

/* Takes a slot, then a ref's lock, counts a writable pin and sets the flags, and stops there. */
static void
peer_lock_body(int cmd, int ack, void *arg)
{
	struct hvt_grant_guest *g = arg;
	struct hv *hv = hv_open(t.sock);
	struct hv_req_domain_maptrack req = { .domid = g->domid };
	struct hv_rep_domain_maptrack r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };
	hv_gref_t ref = g->pg->ref_rw;

	if (hv == NULL || hv_call(hv, HV_DOMAIN_MAPTRACK, &req, sizeof(req), &rep) < 0 ||
	    rep.nfds != 1 || r.slot >= HV_MT_SLOTS || r.nr_refs <= ref)
		_exit(3);
	uint8_t *base = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, rep.fds[0], 0);
	grant_entry_v1_t *gnt = hv_foreign_map(hv, g->domid, PROT_READ | PROT_WRITE,
	    HV_PFN_GNTTAB, HV_GNTTAB_FRAMES);
	if (base == MAP_FAILED || gnt == NULL)
		_exit(4);
	struct hv_mt_ref *mr = (struct hv_mt_ref *)(base + HV_MT_REFS_OFF) + ref;
	struct hv_mt_pin *pin = (struct hv_mt_pin *)(base + HV_MT_SLOTS_OFF(r.nr_refs) +
	    r.slot * HV_MT_SLOT_SIZE(r.nr_refs)) + ref;
	bool ok = hv_mt_lock(mr, r.slot + 1, 1000) == 0;
	/* a map that died half-way: our slot counts it, the totals do not yet */
	__atomic_fetch_or(&gnt[ref].flags, GTF_reading | GTF_writing, __ATOMIC_ACQ_REL);
	pin->nr_map = pin->nr_write = 1;
	peer_ack(ack, ok);
	peer_await(cmd);
	_exit(0);
}

Test(hv_maptrack, killed_while_holding_a_lock)
{
	struct hvt_grant_guest g;
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv);
	struct peer p;

	hvt_grant_guest_start(&t, &g, true);
	hv_gref_t rw = g.pg->ref_rw;
	peer_start(&p, peer_lock_body, &g);
	peer_wait_ack(&p);
	cr_assert_eq(flags_of(&g, rw), GTF_reading | GTF_writing);
	cr_assert_eq(hvt_grant_guest_end_access(&g, rw), -EBUSY);
	peer_kill(&p);
	/* hvd takes the dead holder's lock over, recounts, clears */
	cr_assert(wait_flags(&g, rw, 0, 5000), "flags %#x after the kill", flags_of(&g, rw));
	/* the lock is free again: a map and an unmap go through at once */
	cr_assert_not_null(hv_gnttab_map_grant_ref(xgt, g.domid, rw, PROT_READ | PROT_WRITE));
	cr_assert_eq(hv_gnttab_unmap(xgt, g.domid, rw), 0);
	cr_assert_eq(hvt_grant_guest_end_access(&g, rw), 0);
	hv_gnttab_close(xgt);
	hv_evtchn_close(g.xce);
}

Test(hv_maptrack, slot_is_per_connection_and_reused)
{
	hv_domid_t domid = hvt_guest(&t, "sleep", NULL, NULL);
	struct hv_req_domain_maptrack req = { .domid = domid };
	struct hv_rep_domain_maptrack r1, r2, r3;
	struct hv_reply rep = { .buf = &r1, .cap = sizeof(r1) };
	struct hv *other = hv_open(t.sock);

	cr_assert_eq(hv_call(t.hv, HV_DOMAIN_MAPTRACK, &req, sizeof(req), &rep), 0);
	close(rep.fds[0]);
	rep = (struct hv_reply){ .buf = &r2, .cap = sizeof(r2) };
	cr_assert_eq(hv_call(t.hv, HV_DOMAIN_MAPTRACK, &req, sizeof(req), &rep), 0);
	close(rep.fds[0]);
	cr_assert_eq(r1.slot, r2.slot, "one connection, one slot");
	rep = (struct hv_reply){ .buf = &r3, .cap = sizeof(r3) };
	cr_assert_eq(hv_call(other, HV_DOMAIN_MAPTRACK, &req, sizeof(req), &rep), 0);
	close(rep.fds[0]);
	cr_assert_neq(r3.slot, r1.slot);
	/* a lease keeps no other right */
	req.flags = HV_MAPTRACK_LEASE;
	cr_assert_eq(hv_call(other, HV_DOMAIN_MAPTRACK, &req, sizeof(req), NULL), 0);
	cr_assert_eq(hv_domain_pause(other, domid), -1);
	cr_assert_eq(errno, EPERM);
	/* dom0 and unknown domains have no maptrack; unknown flags are refused */
	req = (struct hv_req_domain_maptrack){ .domid = 0 };
	cr_assert_eq(hv_call(t.hv, HV_DOMAIN_MAPTRACK, &req, sizeof(req), NULL), -1);
	req = (struct hv_req_domain_maptrack){ .domid = 999 };
	cr_assert_eq(hv_call(t.hv, HV_DOMAIN_MAPTRACK, &req, sizeof(req), NULL), -1);
	cr_assert_eq(errno, ESRCH);
	req = (struct hv_req_domain_maptrack){ .domid = domid, .flags = 2 };
	cr_assert_eq(hv_call(t.hv, HV_DOMAIN_MAPTRACK, &req, sizeof(req), NULL), -1);
	cr_assert_eq(errno, EINVAL);
	/* a closed connection's slot goes to the next one (the lowest free slot is taken) */
	uint32_t old = r3.slot;
	bool reused = false;
	req = (struct hv_req_domain_maptrack){ .domid = domid };
	hv_close(other);
	for (int i = 0; i < 50 && !reused; i++) {	/* once hvd has seen the close */
		other = hv_open(t.sock);
		rep = (struct hv_reply){ .buf = &r3, .cap = sizeof(r3) };
		cr_assert_eq(hv_call(other, HV_DOMAIN_MAPTRACK, &req, sizeof(req), &rep), 0);
		close(rep.fds[0]);
		hv_close(other);
		reused = r3.slot == old;
		usleep(10000);
	}
	cr_assert(reused, "slot %u never given again", old);
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
}
