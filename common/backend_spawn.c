/*
 * Worker processes seen from the daemon: fork with a SOCK_SEQPACKET
 * socketpair, a pidfd on the loop so a death is noticed at once, synchronous
 * calls (CONFIG, CONNECT, DISCONNECT are short and bounded) and the FAIL
 * messages a worker sends on its own.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "backend_priv.h"
#include "libhv.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

/* Frees a reaped child's events and descriptors. */
static void
backend_spawn_free(struct backend_child *c)
{
	if (c->c_pid_ev)
		event_free(c->c_pid_ev);
	if (c->c_sock_ev)
		event_free(c->c_sock_ev);
	if (c->c_sock >= 0)
		close(c->c_sock);
	close(c->c_pidfd);
	free(c);
}

/* "exited with status 1", "killed by signal 9". */
static void
backend_spawn_how(int status, pid_t pid, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "%ld was killed by signal %d (%s)", (long)pid,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "%ld exited with status %d", (long)pid, WEXITSTATUS(status));
}

/* The pidfd became readable: the worker is gone. */
static void
backend_spawn_on_exit(evutil_socket_t fd, short what, void *arg)
{
	struct backend_child *c = arg;
	struct backend_dev *d = c->c_dev;
	char how[96];
	int status = 0;

	(void)fd;
	(void)what;
	if (waitpid(c->c_pid, &status, WNOHANG) == 0)
		return;
	backend_spawn_how(status, c->c_pid, how, sizeof(how));
	if (d == NULL) {
		log_debug("worker %s", how);
		TAILQ_REMOVE(&c->c_be->be_reaping, c, c_entry);
		backend_spawn_free(c);
		return;
	}
	backend_spawn_free(c);
	backend_dev_worker_died(d, how);
}

/* A message the worker sent unasked: FAIL closes its device. */
static void
backend_spawn_on_msg(evutil_socket_t fd, short what, void *arg)
{
	struct backend_child *c = arg;
	uint8_t buf[BACKEND_MSG_MAX + 1];
	struct backend_msg_hdr hdr;
	int fds[MSG_MAX_FDS], nfds = 0;
	ssize_t n;

	(void)what;
	n = msg_recv(fd, buf, sizeof(buf) - 1, fds, &nfds);
	msg_close_fds(fds, nfds);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		event_del(c->c_sock_ev);	/* EOF: the pidfd reports the death */
		return;
	}
	if ((size_t)n >= sizeof(hdr))
		memcpy(&hdr, buf, sizeof(hdr));
	if ((size_t)n < sizeof(hdr) || hdr.len != n - sizeof(hdr)) {
		log_warnx("worker %ld: malformed message", (long)c->c_pid);
		return;
	}
	buf[n] = '\0';
	if (hdr.type == BACKEND_MSG_FAIL && c->c_dev)
		backend_dev_worker_failed(c->c_dev, hdr.err, (char *)buf + sizeof(hdr));
	else
		log_debug("worker %ld: unexpected message %u", (long)c->c_pid, hdr.type);
}

/*
 * The worker runs on its domain's CPUs when the domain is pinned (cpus= in
 * its config): the guest's pages it copies are then warm in a cache it
 * shares, not pulled line by line from another CPU (bench/netback: 1514-byte
 * frames guest to bridge went from 0.5 to 0.74 of the direct tap path).
 */
static bool
backend_spawn_affinity(struct hv *hv, unsigned domid, cpu_set_t *set)
{
	struct hv_cpumap map;

	if (hv_vcpu_getaffinity(hv, (hv_domid_t)domid, &map) <= 0)
		return false;
	CPU_ZERO(set);
	for (int cpu = 0; cpu < HV_CPUMAP_MAX && cpu < CPU_SETSIZE; cpu++)
		if (map.bits[cpu / 8] & (1u << (cpu % 8)))
			CPU_SET(cpu, set);
	return true;
}

/* Forks the device's worker; it runs backend_worker_main and never returns. */
struct backend_child *
backend_spawn(struct backend_dev *d)
{
	struct backend *be = d->d_be;
	struct backend_child *c;
	int sv[2], pidfd;
	cpu_set_t cpus;
	bool pinned = backend_spawn_affinity(be->be_hv, d->d_domid, &cpus);
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		if (pinned && sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
			log_warn("%s: worker CPU affinity", d->d_name);
		backend_worker_main(be, d, sv[1]);
	}
	close(sv[1]);
	if ((pidfd = syscall(SYS_pidfd_open, pid, 0)) < 0)
		fatal("pidfd_open");
	c = xcalloc(1, sizeof(*c));
	c->c_be = be;
	c->c_dev = d;
	c->c_pid = pid;
	c->c_pidfd = pidfd;
	c->c_sock = sv[0];
	evutil_make_socket_nonblocking(c->c_sock);
	c->c_pid_ev = event_new(be->be_base, pidfd, EV_READ, backend_spawn_on_exit, c);
	c->c_sock_ev = event_new(be->be_base, c->c_sock, EV_READ | EV_PERSIST,
	    backend_spawn_on_msg, c);
	if (c->c_pid_ev == NULL || c->c_sock_ev == NULL)
		fatalx("event_new");
	event_add(c->c_pid_ev, NULL);
	event_add(c->c_sock_ev, NULL);
	log_debug("%s: worker %ld started", d->d_name, (long)pid);
	return c;
}

/* Sends one message with the blob's descriptors. */
static int
backend_spawn_send(int sock, enum backend_msg_type type, const struct backend_blob *b)
{
	uint8_t buf[BACKEND_MSG_MAX];
	struct backend_msg_hdr hdr = { .type = type, .version = BACKEND_PROTO_VERSION,
	    .len = b ? b->b_len : 0 };

	memcpy(buf, &hdr, sizeof(hdr));
	if (b && b->b_len)
		memcpy(buf + sizeof(hdr), b->b_data, b->b_len);
	return msg_send(sock, buf, sizeof(hdr) + hdr.len, b ? b->b_fds : NULL, b ? b->b_nfds : 0);
}

/* Waits for the answer want (or FAIL) to a call. */
static int
backend_spawn_answer(struct backend_child *c, enum backend_msg_type want, char *why, size_t whylen)
{
	long long deadline = backend_now_ms() + BACKEND_CALL_MS;
	uint8_t buf[BACKEND_MSG_MAX + 1];
	struct backend_msg_hdr hdr;
	int fds[MSG_MAX_FDS], nfds;
	ssize_t n;

	for (;;) {
		long long left = deadline - backend_now_ms();
		struct pollfd pfd = { .fd = c->c_sock, .events = POLLIN };
		if (left <= 0) {
			snprintf(why, whylen, "worker %ld did not answer within %d ms; killed",
			    (long)c->c_pid, BACKEND_CALL_MS);
			kill(c->c_pid, SIGKILL);
			return -1;
		}
		if (poll(&pfd, 1, left) <= 0)
			continue;
		nfds = 0;
		n = msg_recv(c->c_sock, buf, sizeof(buf) - 1, fds, &nfds);
		msg_close_fds(fds, nfds);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "worker %ld exited", (long)c->c_pid);
			return -1;
		}
		if ((size_t)n < sizeof(hdr))
			continue;
		memcpy(&hdr, buf, sizeof(hdr));
		buf[n] = '\0';
		if (hdr.type == want)
			return 0;
		if (hdr.type == BACKEND_MSG_FAIL) {
			snprintf(why, whylen, "%s%s%s", (char *)buf + sizeof(hdr),
			    hdr.err ? ": " : "", hdr.err ? strerror(hdr.err) : "");
			return -1;
		}
	}
}

/* One request to the worker and its answer. */
int
backend_spawn_call(struct backend_child *c, enum backend_msg_type type,
    const struct backend_blob *b, enum backend_msg_type want, char *why, size_t whylen)
{
	if (c->c_sock < 0) {
		snprintf(why, whylen, "worker %ld is gone", (long)c->c_pid);
		return -1;
	}
	if (backend_spawn_send(c->c_sock, type, b) < 0) {
		snprintf(why, whylen, "cannot reach worker %ld: %s", (long)c->c_pid,
		    strerror(errno));
		return -1;
	}
	return backend_spawn_answer(c, want, why, whylen);
}

/* Lets the worker go: EOF on its channel makes it finish and exit. */
void
backend_spawn_release(struct backend_child *c)
{
	c->c_dev = NULL;
	event_free(c->c_sock_ev);
	c->c_sock_ev = NULL;
	close(c->c_sock);
	c->c_sock = -1;
	TAILQ_INSERT_TAIL(&c->c_be->be_reaping, c, c_entry);
}

/* Daemon shutdown: every released worker reaped, the slow ones killed. */
void
backend_spawn_reap_all(struct backend *be)
{
	struct backend_child *c;

	while ((c = TAILQ_FIRST(&be->be_reaping)) != NULL) {
		struct pollfd pfd = { .fd = c->c_pidfd, .events = POLLIN };
		if (poll(&pfd, 1, BACKEND_CALL_MS) <= 0)
			kill(c->c_pid, SIGKILL);
		waitpid(c->c_pid, NULL, 0);
		TAILQ_REMOVE(&be->be_reaping, c, c_entry);
		backend_spawn_free(c);
	}
}
