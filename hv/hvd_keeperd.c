/*
 * The keeper process (hv/hvd_keeper.h): a table of records with their
 * descriptors, written by the hvd attached to it and handed whole to the next
 * hvd that attaches. It never looks inside a domain and never answers a
 * client; holding the descriptors is what keeps the domains' memory, channels
 * and ports alive (and their sockets open for the clients) while no hvd runs.
 * It ends its domains (kills their processes and clears their cgroups) when
 * told to with SIGTERM, or when its socket is removed from the run directory
 * (rm -rf of the run directory: no hvd can come back to it then). The
 * directory's own IN_DELETE_SELF cannot tell: a live guest's mount namespace
 * holds its "empty" mount point, so the directory lingers until the guests go.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hvd_keeper.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

#define HVK_BUCKETS	16384

struct hvk_ent {
	struct hvk_ent *next;
	uint32_t kind, a, b;
	uint32_t len;
	int fds[2];
	int nfds;
	uint8_t *rec;
};

static struct hvk_ent *hvk_tab[HVK_BUCKETS];
static unsigned hvk_ndoms;

/* The bucket of a key. */
static struct hvk_ent **
hvk_bucket(uint32_t kind, uint32_t a, uint32_t b)
{
	uint32_t h = kind * 0x9e3779b1u ^ a * 0x85ebca6bu ^ b * 0xc2b2ae35u;

	return &hvk_tab[(h ^ h >> 15) % HVK_BUCKETS];
}

/* The entry of a key, or NULL. */
static struct hvk_ent *
hvk_find(uint32_t kind, uint32_t a, uint32_t b)
{
	for (struct hvk_ent *e = *hvk_bucket(kind, a, b); e; e = e->next)
		if (e->kind == kind && e->a == a && e->b == b)
			return e;
	return NULL;
}

/* Closes an entry's descriptors. */
static void
hvk_close_fds(struct hvk_ent *e)
{
	msg_close_fds(e->fds, e->nfds);
	e->nfds = 0;
}

/* Removes a key, closing what it held. */
static void
hvk_del(uint32_t kind, uint32_t a, uint32_t b)
{
	for (struct hvk_ent **pe = hvk_bucket(kind, a, b); *pe; pe = &(*pe)->next) {
		struct hvk_ent *e = *pe;
		if (e->kind != kind || e->a != a || e->b != b)
			continue;
		*pe = e->next;
		hvk_close_fds(e);
		if (kind == HVK_DOM)
			hvk_ndoms--;
		free(e->rec);
		free(e);
		return;
	}
}

/* PUT (fds replace the old ones) or SET (record only) of one key. */
static void
hvk_put(const struct hvk_hdr *h, const uint8_t *rec, int *fds, int nfds)
{
	struct hvk_ent *e = hvk_find(h->kind, h->a, h->b);

	if (e == NULL) {
		struct hvk_ent **pb = hvk_bucket(h->kind, h->a, h->b);
		e = xcalloc(1, sizeof(*e));
		e->kind = h->kind;
		e->a = h->a;
		e->b = h->b;
		e->next = *pb;
		*pb = e;
		if (h->kind == HVK_DOM)
			hvk_ndoms++;
	}
	free(e->rec);
	e->rec = xmalloc(h->len ? h->len : 1);
	memcpy(e->rec, rec, h->len);
	e->len = h->len;
	if (h->op == HVK_PUT) {
		hvk_close_fds(e);
		for (int i = 0; i < nfds && i < 2; i++)
			e->fds[e->nfds++] = fds[i];
		msg_close_fds(fds + e->nfds, nfds - e->nfds);
	} else
		msg_close_fds(fds, nfds);
}

/* Writes "1" into a cgroup control file; quiet when the file is not there. */
static void
hvk_cgwrite(const char *dir, const char *file)
{
	char path[600];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path) ||
	    (fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	if (write(fd, "1", 1) != 1)
		log_warn("%s", path);
	close(fd);
}

/* rmdir, retried while the group still empties (up to about 2 s). */
static void
hvk_rmdir(const char *dir)
{
	for (int i = 0; i < 400; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		usleep(5000);
	}
	log_warn("keeper: rmdir %s", dir);
}

/* Removes hvd's cgroup directories: each domain group (killed first), then the base. */
static void
hvk_clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char sub[600];

	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || strncmp(de->d_name, "dom", 3) != 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		hvk_cgwrite(sub, "cgroup.kill");
		hvk_rmdir(sub);
	}
	if (d)
		closedir(d);
	hvk_rmdir(dir);
}

/* Kills every domain's processes and clears hvd's cgroups: nobody will come back to them. */
static void
hvk_end_domains(const char *why)
{
	log_info("keeper: %s: ending %u domain(s)", why, hvk_ndoms);
	for (unsigned i = 0; i < HVK_BUCKETS; i++)
		for (struct hvk_ent *e = hvk_tab[i]; e; e = e->next) {
			const struct hvk_dom *r = (const void *)e->rec;
			if (e->kind != HVK_DOM || e->len != sizeof(*r))
				continue;
			if (r->cgroup[0])
				hvk_cgwrite(r->cgroup, "cgroup.kill");
			if (r->pid > 0 && e->nfds == 2)
				syscall(SYS_pidfd_send_signal, e->fds[1], SIGKILL, NULL, 0);
		}
	for (unsigned i = 0; i < HVK_BUCKETS; i++)
		for (struct hvk_ent *e = hvk_tab[i]; e; e = e->next)
			if (e->kind == HVK_DIR && e->len > 1 && e->rec[e->len - 1] == '\0')
				hvk_clear_dir((const char *)e->rec);
}

/* Reads every message the attached hvd sent; false once it is gone (or said STOP: *stop). */
static bool
hvk_drain(int fd, bool *stop)
{
	uint8_t buf[HVK_MSG_MAX];
	int fds[MSG_MAX_FDS], nfds;

	for (;;) {
		struct hvk_hdr h;
		ssize_t n = msg_recv(fd, buf, sizeof(buf), fds, &nfds);

		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0 && errno == EMSGSIZE)
			continue;
		if (n <= 0)
			return false;
		if ((size_t)n < sizeof(h)) {
			msg_close_fds(fds, nfds);
			continue;
		}
		memcpy(&h, buf, sizeof(h));
		if (h.len != (size_t)n - sizeof(h)) {
			msg_close_fds(fds, nfds);
			continue;
		}
		switch (h.op) {
		case HVK_PUT:
		case HVK_SET:
			hvk_put(&h, buf + sizeof(h), fds, nfds);
			break;
		case HVK_DEL:
			msg_close_fds(fds, nfds);
			hvk_del(h.kind, h.a, h.b);
			break;
		case HVK_STOP:
			msg_close_fds(fds, nfds);
			*stop = true;
			return false;
		default:
			msg_close_fds(fds, nfds);
		}
	}
}

/* Sends one message from the keeper, waiting while the new hvd reads what came before. */
static int
hvk_send(int fd, uint32_t op, const struct hvk_ent *e)
{
	uint8_t buf[sizeof(struct hvk_hdr) + HVK_MSG_MAX];
	struct hvk_hdr h = { .op = op };
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	if (e) {
		h.kind = e->kind, h.a = e->a, h.b = e->b, h.len = e->len;
		memcpy(buf + sizeof(h), e->rec, e->len);
	}
	memcpy(buf, &h, sizeof(h));
	while (msg_send(fd, buf, sizeof(h) + h.len, e ? e->fds : NULL, e ? e->nfds : 0) < 0) {
		if ((errno != EAGAIN && errno != ENOBUFS) || poll(&pfd, 1, 5000) <= 0)
			return -1;
	}
	return 0;
}

/* A new hvd attached: everything we hold, then END. */
static bool
hvk_dump(int fd)
{
	for (unsigned i = 0; i < HVK_BUCKETS; i++)
		for (struct hvk_ent *e = hvk_tab[i]; e; e = e->next)
			if (hvk_send(fd, HVK_ENTRY, e) < 0)
				return false;
	return hvk_send(fd, HVK_END, &(struct hvk_ent){ .kind = 0, .a = (uint32_t)getpid(),
	    .rec = (uint8_t *)"" }) == 0;
}

/* A connection on the keeper's socket: a new hvd, taken when no other is attached. */
static int
hvk_accept(int lfd, int cur, bool *stop)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return cur;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		close(fd);
		return cur;
	}
	/* the old hvd may have died a moment ago: what it sent is read first */
	if (cur >= 0 && !hvk_drain(cur, stop)) {
		close(cur);
		cur = -1;
	}
	if (cur >= 0 || *stop) {
		hvk_send(fd, HVK_BUSY, NULL);
		close(fd);
		return cur;
	}
	log_info("keeper: hvd pid %d attached, handing over %u domain(s)", (int)cred.pid, hvk_ndoms);
	if (!hvk_dump(fd)) {
		log_warn("keeper: hand-over to pid %d", (int)cred.pid);
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the inotify events say our socket (or the run directory) went. */
static bool
hvk_rundir_gone(int ifd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) +
		    ((struct inotify_event *)p)->len) {
			const struct inotify_event *ev = (const void *)p;
			if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) ||
			    (ev->len && strcmp(ev->name, "hvd-keeper.sock") == 0))
				gone = true;
		}
	return gone;
}

/* The keeper's loop: records from the attached hvd, new hvds, SIGTERM, the run dir's removal. */
_Noreturn void
hvd_keeperd_main(int hvd_fd, int lfd, const char *rundir)
{
	struct pollfd pfd[5];
	sigset_t set;
	bool stop = false;
	int sfd, ifd;

	prctl(PR_SET_NAME, "hvd-keeper");
	/* it outlives hvd: it must not hold the pipes of whoever started hvd (logs go to syslog) */
	int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && nfd >= 0; i++)
		dup2(nfd, i);
	if (nfd > 2)
		close(nfd);
	log_init("hvd-keeper", log_verbose(), LOG_TO_SYSLOG);
	fcntl(hvd_fd, F_SETFL, fcntl(hvd_fd, F_GETFL) | O_NONBLOCK);
	setsid();
	if (chdir("/") < 0)
		_exit(1);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd >= 0 && inotify_add_watch(ifd, rundir,
	    IN_DELETE_SELF | IN_MOVE_SELF | IN_DELETE | IN_MOVED_FROM) < 0) {
		close(ifd);
		ifd = -1;
	}
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = hvd_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = ifd, .events = POLLIN };
		struct hvk_ent *tie = hvk_find(HVK_TIE, 0, 0);
		pfd[4] = (struct pollfd){ .fd = tie && tie->nfds ? tie->fds[0] : -1, .events = POLLIN };
		if (poll(pfd, 5, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents && !hvk_drain(hvd_fd, &stop)) {
			close(hvd_fd);
			hvd_fd = -1;
			if (stop)
				break;
			log_info("keeper: hvd went away, holding %u domain(s) for the next one",
			    hvk_ndoms);
			if (hvk_ndoms == 0) {
				/* nothing to keep: a new hvd starts a keeper of its own */
				hvk_end_domains("no domain left");
				break;
			}
		}
		if (pfd[0].revents)
			hvd_fd = hvk_accept(lfd, hvd_fd, &stop);
		if (stop)
			break;
		if (pfd[2].revents) {
			hvk_end_domains("SIGTERM");
			break;
		}
		if (pfd[4].revents & POLLIN) {
			hvk_end_domains("the process hvd was tied to (PR_SET_PDEATHSIG) ended");
			break;
		}
		if (pfd[3].revents && hvk_rundir_gone(ifd)) {
			hvk_end_domains("the run directory is gone");
			break;
		}
	}
	/* the next hvd starts afresh: no socket or pid file of ours to mislead it */
	for (const char *const *f = (const char *const[]){ "hvd-keeper.sock", "hvd-keeper.pid",
	    NULL }; *f; f++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", rundir, *f);
		unlink(path);
	}
	_exit(0);
}
