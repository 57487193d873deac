/*
 * kill -9 of a device's worker during I/O: the daemon notices at once, says
 * so in the backend's hotplug-error, starts a new worker that re-attaches to
 * the frontend's ring, every request in flight is answered exactly once, and
 * the next request succeeds. A worker that keeps dying closes its device.
 * SIGTERM to blkback leaves the device to a restarted blkback.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bbfront.h"
#include "jail.h"
#include "xlconf.h"
#include "libhv.h"
#include "xs.h"

#define NREQ	32

static struct stack st;
static struct bbfront fe;
static char img[160];

static void
setup(void)
{
	bbf_stack_disk(&st, "blkback-restart", &fe, img, sizeof(img), 64);
	bbf_attach(&fe, img);
}

static void
teardown(void)
{
	bbf_destroy(&fe);
	stack_stop(&st);
}

TestSuite(restart, .init = setup, .fini = teardown, .timeout = 90);

/* Pushes NREQ writes of distinct pages to distinct sectors (1 MiB each apart). */
static void
push_writes(unsigned seed)
{
	for (unsigned i = 0; i < NREQ; i++) {
		uint8_t *p = bbf_page(&fe, BBF_PFN_DATA + i);
		memset(p, (int)(seed + i), 4096);
		blkif_request_t q = { .operation = BLKIF_OP_WRITE, .nr_segments = 1,
		    .id = seed * 1000 + i, .sector_number = i * 2048 };
		q.seg[0] = (struct blkif_request_segment){ bbf_ref(&fe, BBF_PFN_DATA + i), 0, 7 };
		memcpy(RING_GET_REQUEST(&fe.f_ring[0], fe.f_ring[0].req_prod_pvt), &q, sizeof(q));
		fe.f_ring[0].req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&fe.f_ring[0]);
	hv_evtchn_notify(fe.f_xce, fe.f_bell);
}

/* Collects NREQ responses: each id once, each OKAY. */
static void
collect(unsigned seed)
{
	bool seen[NREQ] = { false };
	blkif_response_t rsp;

	for (unsigned n = 0; n < NREQ; n++) {
		cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 10000), 0, "only %u of %u responses", n, NREQ);
		cr_assert(rsp.id >= seed * 1000 && rsp.id < seed * 1000 + NREQ, "unknown id %llu",
		    (unsigned long long)rsp.id);
		cr_assert(!seen[rsp.id - seed * 1000], "id %llu answered twice",
		    (unsigned long long)rsp.id);
		seen[rsp.id - seed * 1000] = true;
		cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
	}
	cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 200), -1, "an extra response");
	int fd = open(img, O_RDONLY);
	for (unsigned i = 0; i < NREQ; i++) {
		uint8_t got[4096];
		cr_assert_eq(pread(fd, got, 4096, (off_t)i * 2048 * 512), 4096);
		cr_assert_arr_eq(got, bbf_page(&fe, BBF_PFN_DATA + i), 4096, "request %u lost", i);
	}
	close(fd);
}

Test(restart, kill9_during_io)
{
	pid_t w = bbf_worker_pid(&st, 0, 5000), w2;
	char *err;

	cr_assert_gt(w, 0, "no worker");
	push_writes(1);
	cr_assert_eq(kill(w, SIGKILL), 0);
	collect(1);
	w2 = bbf_worker_pid(&st, w, 5000);
	cr_assert_gt(w2, 0, "no new worker");
	cr_assert_neq(w2, w);
	err = bbf_be_read(&fe, "hotplug-error");
	cr_expect(err && strstr(err, "killed by signal 9") && strstr(err, "restarted"),
	    "hotplug-error: %s", err);
	free(err);
	cr_assert_eq(bbf_be_state(&fe), 4);
	/* the next requests go to the new worker */
	push_writes(2);
	collect(2);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_READ, 0, BBF_PFN_DATA + 100, 8), BLKIF_RSP_OKAY);
}

Test(restart, dying_worker_closes_device)
{
	pid_t w = 0;
	char *err;

	for (int i = 0; i < 8 && bbf_be_state(&fe) == 4; i++) {
		if ((w = bbf_worker_pid(&st, w, 2000)) <= 0)
			break;
		kill(w, SIGKILL);
		usleep(50000);
	}
	cr_assert_eq(bbf_wait_be(&fe, 6, 5000), 0, "state %d", bbf_be_state(&fe));
	err = bbf_be_read(&fe, "hotplug-error");
	/* the sixth death, or a kill that caught a new worker before it was ready
	 * (while it took its configuration, or while it mapped the rings) */
	cr_expect(err && (strstr(err, "died 6 times") || strstr(err, "refused its configuration") ||
	    strstr(err, "restarted worker cannot serve the rings")), "hotplug-error: %s", err);
	free(err);
	cr_assert_eq(kill(st.s_pid[STACK_BLKBACK], 0), 0, "blkback died");
}

Test(restart, daemon_restart_takes_over)
{
	int status;

	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 8, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	status = stack_kill(&st, STACK_BLKBACK);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "blkback exit %#x", status);
	cr_assert_eq(bbf_be_state(&fe), 4, "SIGTERM changed the device's state");
	/* requests queued while no backend runs are served by the next one */
	push_writes(3);
	stack_spawn(&st, STACK_BLKBACK);
	collect(3);
}

/* A status line of /proc/<pid>/status, e.g. "Uid:" (malloc'd). */
static char *
status_line(pid_t pid, const char *key)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0) {
			fclose(f);
			return strdup(line + strlen(key));
		}
	fclose(f);
	return NULL;
}

Test(restart, worker_confined)
{
	pid_t w = bbf_worker_pid(&st, 0, 5000);
	char *uid, *seccomp, *capeff, root[256], want[32];
	ssize_t n;

	cr_assert_gt(w, 0);
	uid = status_line(w, "Uid:");
	seccomp = status_line(w, "Seccomp:");
	capeff = status_line(w, "CapEff:");
	snprintf(want, sizeof(want), "%u", jail_uid_backend(xlconf_int(xlconf_get(),
	    "guest_uid_range_base"), fe.f_domid));
	cr_expect(uid && strstr(uid, want), "worker uid: %s, want %s", uid, want);
	cr_expect(seccomp && atoi(seccomp) == 2, "worker seccomp mode: %s", seccomp);
	cr_expect(capeff && strtoull(capeff, NULL, 16) == 0, "worker capabilities: %s", capeff);
	snprintf(want, sizeof(want), "/proc/%d/root", w);
	n = readlink(want, root, sizeof(root) - 1);
	root[n > 0 ? n : 0] = '\0';
	cr_expect(n > 0 && strcmp(root, "/") != 0, "worker root is %s", root);
	free(uid);
	free(seccomp);
	free(capeff);
	/* and it still serves the disk */
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 8, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
}

Test(restart, uid_base_from_xl_conf)
{
	char conf[160], *uid, want[32];
	pid_t w;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/xl.conf", st.s_rundir);
	cr_assert_not_null(f = fopen(conf, "w"));
	fputs("guest_uid_range_base = 300000\n", f);
	fclose(f);
	stack_kill(&st, STACK_BLKBACK);
	setenv("PVSTACK_CONFDIR", st.s_rundir, 1);
	stack_spawn(&st, STACK_BLKBACK);
	unsetenv("PVSTACK_CONFDIR");
	cr_assert_gt(w = bbf_worker_pid(&st, 0, 5000), 0, "no worker after the restart");
	/* the worker exists before it drops its uid: wait for the drop */
	snprintf(want, sizeof(want), "%u", jail_uid_backend(300000, fe.f_domid));
	for (long long end = stack_now_ms() + 5000;;) {
		uid = status_line(w, "Uid:");
		if ((uid && strstr(uid, want)) || stack_now_ms() > end)
			break;
		free(uid);
		usleep(5000);
	}
	cr_expect(uid && strstr(uid, want), "worker uid: %s, want %s", uid, want);
	free(uid);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_READ, 8, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
}

#define FULL_TOTAL	600

/* Every fifth request of a kept-full run is malformed (first sector past the
 * last): answered at once with an error, it passes the writes still in flight,
 * so responses leave the ring in another order than requests came. */
#define FULL_BAD(i)	((i) % 5 == 4)

/* Request i of a kept-full run: its own page and its own 8 KiB of the image. */
static void
push_one(unsigned seed, unsigned i)
{
	uint8_t *p = bbf_page(&fe, BBF_PFN_DATA + i);
	memset(p, (int)(seed * 7 + i), 4096);
	blkif_request_t q = { .operation = BLKIF_OP_WRITE, .nr_segments = 1,
	    .id = seed * 1000 + i, .sector_number = i * 16 };
	q.seg[0] = (struct blkif_request_segment){ bbf_ref(&fe, BBF_PFN_DATA + i), 0, 7 };
	if (FULL_BAD(i))
		q.seg[0].first_sect = 7, q.seg[0].last_sect = 0;
	memcpy(RING_GET_REQUEST(&fe.f_ring[0], fe.f_ring[0].req_prod_pvt), &q, sizeof(q));
	fe.f_ring[0].req_prod_pvt++;
	RING_PUSH_REQUESTS(&fe.f_ring[0]);
	hv_evtchn_notify(fe.f_xce, fe.f_bell);
}

/*
 * The ring kept full while the worker is killed five times, each time just
 * after a malformed request's early answer: responses had left the ring out of
 * order and the frontend had reused the slots of answered requests, so the ring
 * alone no longer says what is unanswered. Each new worker must still answer
 * every request once (from the daemon's journal), and every write must land.
 */
Test(restart, kill9_with_the_ring_kept_full)
{
	static const unsigned kill_at[] = { 60, 170, 280, 390, 500 };
	const unsigned seed = 3;
	bool seen[FULL_TOTAL] = { false };
	unsigned pushed = 0, answered = 0, kills = 0;
	blkif_response_t rsp;
	pid_t w = bbf_worker_pid(&st, 0, 5000);

	cr_assert_gt(w, 0, "no worker");
	while (pushed < RING_SIZE(&fe.f_ring[0]))
		push_one(seed, pushed++);
	while (answered < FULL_TOTAL) {
		cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 10000), 0, "only %u of %u responses",
		    answered, FULL_TOTAL);
		unsigned i = (unsigned)(rsp.id - seed * 1000);
		cr_assert(rsp.id >= seed * 1000 && i < FULL_TOTAL, "unknown id %llu",
		    (unsigned long long)rsp.id);
		cr_assert(!seen[i], "id %llu answered twice (kill %u)", (unsigned long long)rsp.id,
		    kills);
		cr_assert_eq(rsp.status, FULL_BAD(i) ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY, "id %llu",
		    (unsigned long long)rsp.id);
		seen[i] = true;
		answered++;
		if (kills < 5 && answered >= kill_at[kills] && FULL_BAD(i)) {
			cr_assert_eq(kill(w, SIGKILL), 0);
			kills++;
			w = bbf_worker_pid(&st, w, 5000);
			cr_assert_gt(w, 0, "no new worker after kill %u", kills);
		}
		if (pushed < FULL_TOTAL)
			push_one(seed, pushed++);
	}
	cr_assert_eq(kills, 5);
	cr_assert_eq(bbf_wait_rsp(&fe, 0, &rsp, 200), -1, "an extra response");
	int fd = open(img, O_RDONLY);
	for (unsigned i = 0; i < FULL_TOTAL; i++) {
		uint8_t got[4096];
		if (FULL_BAD(i))
			continue;
		cr_assert_eq(pread(fd, got, 4096, (off_t)i * 16 * 512), 4096);
		cr_assert_arr_eq(got, bbf_page(&fe, BBF_PFN_DATA + i), 4096, "request %u lost", i);
	}
	close(fd);
}
