/*
 * hvd's side of the keeper (hv/hvd_keeper.h): finding or starting it, sending
 * each object's record as it changes, and re-creating every object from the
 * keeper's records when hvd starts again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "log.h"
#include "msg.h"
#include "paths.h"
#include "unixsock.h"
#include "xmalloc.h"

static int hvd_keeper_fd = -1;
static pid_t hvd_keeper_pid_v;
static bool hvd_keeper_ours;	/* we forked it: we reap it */

/* One record of the keeper's hand-over, kept until hvd_keeper_adopt. */
struct hvd_keeper_rec {
	struct hvd_keeper_rec *next;
	struct hvk_hdr h;
	uint8_t *rec;
	int fds[2];
	int nfds;
};
static struct hvd_keeper_rec *hvd_keeper_recs;

uint32_t hvd_domain_next_id(void);

/* The keeper is gone while we run: its objects are lost, ours stay ours. */
static void
hvd_keeper_lost(void)
{
	log_warnx("the keeper (pid %d) is gone: the domains will not outlive this hvd",
	    (int)hvd_keeper_pid_v);
	hvd_console_printf("keeper lost: domains no longer survive a restart of hvd");
	close(hvd_keeper_fd);
	hvd_keeper_fd = -1;
	if (hvd_keeper_ours)
		waitpid(hvd_keeper_pid_v, NULL, WNOHANG);
}

/* One message to the keeper; blocking, so that it is in the keeper's queue before we reply. */
static void
hvd_keeper_send(uint32_t op, uint32_t kind, uint32_t a, uint32_t b, const void *rec, size_t len,
    const int *fds, int nfds)
{
	uint8_t buf[sizeof(struct hvk_hdr) + HVK_MSG_MAX];
	struct hvk_hdr h = { .op = op, .kind = kind, .a = a, .b = b, .len = len };

	if (hvd_keeper_fd < 0 || len > HVK_MSG_MAX)
		return;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), rec, len);
	if (msg_send(hvd_keeper_fd, buf, sizeof(h) + len, fds, nfds) < 0)
		hvd_keeper_lost();
}

/* Reads the keeper's hand-over up to END; fatal when it breaks off (a supervisor retries). */
static void
hvd_keeper_read_all(int fd)
{
	uint8_t buf[sizeof(struct hvk_hdr) + HVK_MSG_MAX];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int fds[MSG_MAX_FDS], nfds;

	for (;;) {
		struct hvd_keeper_rec *r;
		struct hvk_hdr h;
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			fatalx("the keeper (pid %d) does not hand over", (int)hvd_keeper_pid_v);
		n = msg_recv(fd, buf, sizeof(buf), fds, &nfds);
		if (n < (ssize_t)sizeof(h))
			fatalx("the keeper (pid %d) broke off its hand-over", (int)hvd_keeper_pid_v);
		memcpy(&h, buf, sizeof(h));
		if (h.op == HVK_BUSY) {
			/* a refused start: nothing of the domains is ours to undo or free */
			log_warnx("another hvd is attached to the keeper (pid %d) of %s",
			    (int)hvd_keeper_pid_v, paths_rundir());
			_exit(1);
		}
		if (h.op == HVK_END) {
			/* its pid: SO_PEERCRED of its socket names the hvd that made the socket */
			hvd_keeper_pid_v = (pid_t)h.a;
			msg_close_fds(fds, nfds);
			return;
		}
		if (h.op != HVK_ENTRY || h.len != (size_t)n - sizeof(h) || nfds > 2) {
			log_warnx("keeper: a malformed record (op %u kind %u), dropped", h.op, h.kind);
			msg_close_fds(fds, nfds);
			continue;
		}
		r = xcalloc(1, sizeof(*r));
		r->h = h;
		r->rec = xmalloc(h.len ? h.len : 1);
		memcpy(r->rec, buf + sizeof(h), h.len);
		memcpy(r->fds, fds, nfds * sizeof(int));
		r->nfds = nfds;
		r->next = hvd_keeper_recs;
		hvd_keeper_recs = r;
	}
}

/* A keeper of this run directory holds the domains of an hvd that went away: attach to it. */
bool
hvd_keeper_connect(void)
{
	char *path = paths_run("hvd-keeper.sock");
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = unixsock_connect(path, SOCK_SEQPACKET | SOCK_CLOEXEC);

	free(path);
	if (fd < 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid()))
		fatalx("%s/hvd-keeper.sock is not a keeper of ours", paths_rundir());
	hvd_keeper_pid_v = cred.pid;	/* until its hand-over says */
	hvd_keeper_read_all(fd);
	hvd_keeper_fd = fd;
	return true;
}

/* A fresh start: the keeper is our child, in a session of its own, holding nothing yet. */
void
hvd_keeper_spawn(void)
{
	char *path = paths_run("hvd-keeper.sock"), *tmp;
	int sv[2], lfd;
	pid_t pid;

	xasprintf(&tmp, "%s.%d", path, (int)getpid());
	lfd = unixsock_listen(tmp, SOCK_SEQPACKET | SOCK_CLOEXEC, 0600, 8);
	if (lfd < 0 || rename(tmp, path) < 0)
		fatal("keeper socket %s", path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("keeper socketpair");
	pid = fork();
	if (pid < 0)
		fatal("fork of the keeper");
	if (pid == 0) {
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		int hfd = fcntl(sv[1], F_DUPFD_CLOEXEC, 10), kfd = fcntl(lfd, F_DUPFD_CLOEXEC, 10);
		if (hfd < 0 || kfd < 0 || dup2(hfd, 3) < 0 || dup2(kfd, 4) < 0)
			_exit(1);
		syscall(SYS_close_range, 5, ~0u, 0);
		hvd_keeperd_main(3, 4, paths_rundir());
	}
	close(sv[1]);
	close(lfd);
	free(tmp);
	free(path);
	hvd_keeper_fd = sv[0];
	hvd_keeper_pid_v = pid;
	hvd_keeper_ours = true;
	/* for scripts (xencommons): a live keeper means a new hvd takes over its domains */
	path = paths_run("hvd-keeper.pid");
	FILE *f = fopen(path, "we");
	if (f == NULL)
		log_warn("%s", path);
	else {
		int bad = fprintf(f, "%d\n", (int)pid) < 0;
		if (fclose(f) != 0 || bad)
			log_warn("%s", path);
	}
	free(path);
	log_debug("keeper started, pid %d", (int)pid);
}

/* Names hvd's cgroups: the keeper outlives hvd, so its groups do too. */
pid_t
hvd_keeper_pid(void)
{
	return hvd_keeper_pid_v > 0 ? hvd_keeper_pid_v : getpid();
}

/* PUT (with the domain's memfd and pidfd) or SET of a domain's record. */
void
hvd_keeper_dom(const struct hvd_domain *d, bool fds)
{
	struct hvk_dom r = {
		.mem_kib = d->mem_kib, .max_mem_kib = d->max_mem_kib, .nr_pages = d->nr_pages,
		.cpu_ns_dead = d->cpu_ns_dead, .vcpus = d->vcpus,
		.shutdown_reason = d->shutdown_reason, .uid = d->uid,
		.domid_next = hvd_domain_next_id(), .pid = d->pid, .profile = d->profile,
		.paused = d->paused, .built = d->built, .shutdown = d->shutdown, .pinned = d->pinned,
	};
	int f[2] = { d->memfd, d->pidfd };

	if (d->domid == 0)
		return;
	memcpy(r.uuid, d->uuid, sizeof(r.uuid));
	memcpy(r.affinity, d->affinity, sizeof(r.affinity));
	if (d->cgroup)
		snprintf(r.cgroup, sizeof(r.cgroup), "%s", d->cgroup);
	hvd_keeper_send(fds ? HVK_PUT : HVK_SET, HVK_DOM, d->domid, 0, &r, sizeof(r), f,
	    fds ? (d->pidfd >= 0 ? 2 : 1) : 0);
}

/* PUT or SET of a connection (a guest channel or a dom0 client). */
void
hvd_keeper_conn(uint32_t id, int fd, const struct hvd_domain *guest, bool privileged, bool fds)
{
	struct hvk_conn r = { .guest = guest ? guest->domid : UINT32_MAX, .privileged = privileged };

	hvd_keeper_send(fds ? HVK_PUT : HVK_SET, HVK_CONN, id, 0, &r, sizeof(r), &fd, fds ? 1 : 0);
}

/* PUT (with its eventfds) or SET of one port. */
void
hvd_keeper_port(const struct hvd_domain *d, uint32_t port, bool fds)
{
	const struct hvd_port *p = &d->ports[port];
	struct hvk_port r = {
		.state = p->state, .owner = p->owner ? hvd_conn_id(p->owner) : 0,
		.remote_dom = p->remote_dom, .remote_port = p->remote_port, .virq = p->virq,
	};
	int f[2] = { p->wait_fd, p->signal_fd };

	hvd_keeper_send(fds ? HVK_PUT : HVK_SET, HVK_PORT, d->domid, port, &r, sizeof(r), f,
	    fds ? (p->signal_fd >= 0 ? 2 : 1) : 0);
}

/* PUT (fd >= 0: the maptrack memfd) or SET of a domain's maptrack slots. */
void
hvd_keeper_mt(uint32_t domid, const struct hvk_mt *mt, int fd)
{
	hvd_keeper_send(fd >= 0 ? HVK_PUT : HVK_SET, HVK_MT, domid, 0, mt, sizeof(*mt), &fd,
	    fd >= 0 ? 1 : 0);
}

/* The object is gone: the keeper closes what it held of it. */
void
hvd_keeper_del(enum hvk_kind kind, uint32_t a, uint32_t b)
{
	hvd_keeper_send(HVK_DEL, kind, a, b, NULL, 0, NULL, 0);
}

/* A cgroup directory of hvd's (index: v2 base 0, v1 controllers after it). */
void
hvd_keeper_dir(uint32_t index, const char *path)
{
	hvd_keeper_send(HVK_PUT, HVK_DIR, index, 0, path, strlen(path) + 1, NULL, 0);
}

/* The listening socket, kept so that clients queue while no hvd runs. */
void
hvd_keeper_listen(int fd)
{
	hvd_keeper_send(HVK_PUT, HVK_LISTEN, 0, 0, NULL, 0, &fd, 1);
}

/* Connection ids to connections, for the records that name them (open addressing). */
struct hvd_keeper_ids {
	uint32_t *id;
	struct hvd_conn **c;
	size_t cap;
};

static void
hvd_keeper_ids_put(struct hvd_keeper_ids *m, uint32_t id, struct hvd_conn *c)
{
	size_t i = (id * 0x9e3779b1u) & (m->cap - 1);

	while (m->id[i] != 0)
		i = (i + 1) & (m->cap - 1);
	m->id[i] = id;
	m->c[i] = c;
}

static struct hvd_conn *
hvd_keeper_ids_get(const struct hvd_keeper_ids *m, uint32_t id)
{
	if (id == 0)
		return NULL;
	for (size_t i = (id * 0x9e3779b1u) & (m->cap - 1); m->id[i] != 0; i = (i + 1) & (m->cap - 1))
		if (m->id[i] == id)
			return m->c[i];
	return NULL;
}

/* Drops a record the adoption could not use. */
static void
hvd_keeper_rec_drop(struct hvd_keeper_rec *r, const char *why)
{
	log_warnx("keeper: record kind %u (%u, %u) not adopted: %s", r->h.kind, r->h.a, r->h.b, why);
	msg_close_fds(r->fds, r->nfds);
	r->nfds = 0;
	hvd_keeper_del(r->h.kind, r->h.a, r->h.b);
}

/* Whether a record has the size its kind needs and at least min descriptors. */
static bool
hvd_keeper_rec_ok(const struct hvd_keeper_rec *r, size_t len, int min)
{
	return r->h.len == len && r->nfds >= min;
}

/*
 * Re-creates what the keeper handed over, kind by kind (domains, then the
 * connections that name them, then the ports and maptracks that name both).
 * Returns the listening socket, or -1 when there was none.
 */
int
hvd_keeper_adopt(struct event_base *base, unsigned *ndoms)
{
	struct hvd_keeper_ids ids = { 0 };
	struct hvd_keeper_rec *r, *next;
	struct timespec t0, t1;
	size_t nconn = 0;
	int lfd = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	*ndoms = 0;
	for (r = hvd_keeper_recs; r; r = r->next)
		nconn += r->h.kind == HVK_CONN;
	for (ids.cap = 16; ids.cap < nconn * 2; ids.cap *= 2)
		;
	ids.id = xcalloc(ids.cap, sizeof(*ids.id));
	ids.c = xcalloc(ids.cap, sizeof(*ids.c));
	for (int kind = HVK_LISTEN; kind <= HVK_DIR; kind++)
		for (r = hvd_keeper_recs; r; r = r->next) {
			if (r->h.kind != (uint32_t)kind)
				continue;
			switch (kind) {
			case HVK_LISTEN:
				if (r->nfds != 1 || lfd >= 0) {
					hvd_keeper_rec_drop(r, "not one socket");
					break;
				}
				lfd = r->fds[0];
				r->nfds = 0;
				break;
			case HVK_DOM: {
				const struct hvk_dom *dr = (const void *)r->rec;
				if (!hvd_keeper_rec_ok(r, sizeof(*dr), 1) || dr->cgroup[HVK_CGROUP_MAX - 1] ||
				    hvd_domain_adopt(r->h.a, dr, r->fds[0],
				    r->nfds > 1 ? r->fds[1] : -1) == NULL) {
					hvd_keeper_rec_drop(r, "bad domain");
					break;
				}
				r->nfds = 0;
				(*ndoms)++;
				break;
			}
			case HVK_CONN: {
				const struct hvk_conn *cr = (const void *)r->rec;
				struct hvd_conn *c;
				if (r->h.a == 0 || !hvd_keeper_rec_ok(r, sizeof(*cr), 1) ||
				    (c = hvd_conn_adopt(base, r->h.a, r->fds[0], cr)) == NULL) {
					hvd_keeper_rec_drop(r, "bad connection");
					break;
				}
				r->nfds = 0;
				hvd_keeper_ids_put(&ids, r->h.a, c);
				break;
			}
			case HVK_PORT: {
				const struct hvk_port *pr = (const void *)r->rec;
				struct hvd_domain *d = hvd_domain_get(r->h.a);
				if (d == NULL || !hvd_keeper_rec_ok(r, sizeof(*pr), 1) ||
				    hvd_evtchn_adopt(d, r->h.b, pr, hvd_keeper_ids_get(&ids, pr->owner),
				    r->fds[0], r->nfds > 1 ? r->fds[1] : -1) < 0) {
					hvd_keeper_rec_drop(r, "bad port");
					break;
				}
				r->nfds = 0;
				break;
			}
			case HVK_MT: {
				const struct hvk_mt *mr = (const void *)r->rec;
				struct hvd_domain *d = hvd_domain_get(r->h.a);
				struct hvd_conn *owners[HV_MT_SLOTS];
				uint8_t dying[HV_MT_SLOTS];
				if (d == NULL || r->h.a == 0 || !hvd_keeper_rec_ok(r, sizeof(*mr), 1)) {
					hvd_keeper_rec_drop(r, "bad maptrack");
					break;
				}
				/* a slot whose connection is not there any more gives its pins back */
				for (unsigned s = 0; s < HV_MT_SLOTS; s++) {
					owners[s] = hvd_keeper_ids_get(&ids, mr->owner[s]);
					dying[s] = mr->dying[s] || (mr->owner[s] && owners[s] == NULL);
				}
				if (hvd_maptrack_adopt(d, r->fds[0], owners, dying) < 0) {
					hvd_keeper_rec_drop(r, "maptrack not mappable");
					break;
				}
				r->nfds = 0;
				break;
			}
			default:	/* HVK_DIR: only the keeper uses them */
				msg_close_fds(r->fds, r->nfds);
				r->nfds = 0;
			}
		}
	for (r = hvd_keeper_recs; r; r = next) {
		next = r->next;
		msg_close_fds(r->fds, r->nfds);
		free(r->rec);
		free(r);
	}
	hvd_keeper_recs = NULL;
	free(ids.id);
	free(ids.c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	hvd_console_printf("restarted: %u domain(s) and %zu connection(s) taken over from the "
	    "keeper (pid %d) in %.1f ms", *ndoms, nconn, (int)hvd_keeper_pid_v,
	    (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return lfd;
}

/* hvd exits: with domains and a live keeper, they stay for the next hvd. */
bool
hvd_keeper_leave(void)
{
	struct pollfd pfd = { .fd = hvd_keeper_fd, .events = POLLIN };

	if (hvd_keeper_fd < 0 || hvd_domain_count() <= 1)
		return false;
	if (poll(&pfd, 1, 0) > 0) {	/* EOF: it died */
		hvd_keeper_lost();
		return false;
	}
	log_info("exiting: %u domain(s) stay with the keeper (pid %d) for the next hvd",
	    hvd_domain_count() - 1, (int)hvd_keeper_pid_v);
	return true;
}

/* hvd exits for good: the keeper, holding nothing of use, ends too. */
void
hvd_keeper_stop(void)
{
	if (hvd_keeper_fd < 0)
		return;
	hvd_keeper_send(HVK_STOP, 0, 0, 0, NULL, 0, NULL, 0);
	if (hvd_keeper_fd >= 0)
		close(hvd_keeper_fd);
	hvd_keeper_fd = -1;
	if (hvd_keeper_ours)
		while (waitpid(hvd_keeper_pid_v, NULL, 0) < 0 && errno == EINTR)
			;
}

/*
 * Whoever started hvd with PR_SET_PDEATHSIG (a test, a harness) wants hvd to
 * die with it; its guests did too, when they died with hvd. The keeper watches
 * that process and ends the domains when it goes, so a harness that dies
 * leaves no guest behind. A supervisor (systemd, xencommons) sets no such
 * signal: then the domains wait for the next hvd.
 */
void
hvd_keeper_tie(void)
{
	int sig = 0, pidfd;

	if (prctl(PR_GET_PDEATHSIG, &sig) < 0 || sig == 0 || getppid() <= 1) {
		hvd_keeper_del(HVK_TIE, 0, 0);
		return;
	}
	if ((pidfd = syscall(SYS_pidfd_open, getppid(), 0)) < 0) {
		log_warn("pidfd of hvd's parent");
		return;
	}
	hvd_keeper_send(HVK_PUT, HVK_TIE, 0, 0, NULL, 0, &pidfd, 1);
	close(pidfd);
}
