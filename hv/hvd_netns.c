/*
 * Network namespaces made ahead of the builds. A new network namespace is
 * the dearest part of a confined guest's clone (~0.25 ms of ~0.4 here: the
 * kernel sets up its loopback device and per-namespace tables), paid while
 * hvd and xl wait for the build. A helper process forked at start makes
 * them beforehand, HVD_NETNS_POOL at a time, and passes each over a socket,
 * where it waits in flight (in no descriptor table) until a build takes it;
 * each one taken asks the helper for the next. The builder enters the
 * namespace around the clone (setns) and returns to its own at once, so the
 * guest still gets a fresh, empty namespace of its own, never shared, only
 * made earlier. It is owned by the host's user namespace rather than the
 * guest's, so the guest holds no capability over it at all.
 *
 * Without a namespace ready (the helper died, cannot make namespaces, or has
 * not had the CPU yet) a build clones a new namespace as before.
 *
 * A destroyed domain's namespace is kept for the next build once none of its
 * processes is left (its cgroup could be removed), instead of being made
 * again: a namespace costs ~0.25 ms of CPU to make and ~0.2 ms more in a
 * kernel worker to tear down, both during the creates and destroys around
 * it. Nothing of the dead guest can be left in it: the guest held no
 * capability over it (so its loopback stayed down, its sysctls, routes and
 * filters untouched), and what an unprivileged process makes in a network
 * namespace (sockets, abstract names) goes with its last descriptor, which
 * went with its processes. The next guest finds it as empty as a new one.
 * A namespace the clone made is never kept: the guest's user namespace owns
 * it, and that is not a thing to hand to another guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvd.h"
#include "log.h"

#define HVD_NETNS_POOL	2
#define HVD_NETNS_KEEP	16	/* dead domains' namespaces kept for the next builds */

static int hvd_netns_sock = -1;		/* hvd's end of the helper's socket; -1: no pool */
static int hvd_netns_self = -1;		/* hvd's own namespace, returned to after a clone */
static pid_t hvd_netns_pid = -1;
/* dead domains' namespaces, in flight in a socket pair of hvd's own: no descriptor each */
static int hvd_netns_keep[2] = { -1, -1 };
static unsigned hvd_netns_nkept;

/* Sends fd with one byte over sock (SCM_RIGHTS, sendmsg's flags); 0, or -1 with errno. */
static int
hvd_netns_send(int sock, int fd, int flags)
{
	char c = 'n', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };

	memset(cbuf, 0, sizeof(cbuf));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL | flags) == 1 ? 0 : -1;
}

/* The descriptor in the next message on sock; -1 with errno EAGAIN when none is there, 0 at EOF. */
static int
hvd_netns_recv(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fd = -1;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n <= 0) {
		if (n == 0)
			errno = 0;
		return -1;
	}
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm != NULL && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	else
		errno = EPROTO;
	return fd;
}

/* The helper: one new namespace per byte hvd writes, until hvd goes away. */
static _Noreturn void
hvd_netns_helper(int sock, pid_t parent)
{
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, "hvd-netns");
	/* the next build's namespace is made in time no one else wants: at normal
	 * priority its ~0.3 ms unshare took a CPU from the create in progress */
	sched_setscheduler(0, SCHED_IDLE, &(struct sched_param){ 0 });
	while (read(sock, &c, 1) == 1) {
		int fd;

		/* the previous namespace lives on in its descriptor, sent to hvd */
		if (unshare(CLONE_NEWNET) < 0 ||
		    (fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
			_exit(1);
		if (hvd_netns_send(sock, fd, 0) < 0)
			_exit(0);
		close(fd);
	}
	_exit(0);
}

/* Starts the helper and asks for the first namespaces; without it builds make their own. */
void
hvd_netns_init(void)
{
	pid_t parent = getpid();
	int sv[2];

	hvd_netns_self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (hvd_netns_self >= 0 &&
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, hvd_netns_keep) < 0)
		hvd_netns_keep[0] = hvd_netns_keep[1] = -1;
	if (hvd_netns_self < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("network namespaces are made at each build");
		return;
	}
	hvd_netns_pid = fork();
	if (hvd_netns_pid == 0) {
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		syscall(SYS_close_range, 4, ~0u, 0);
		hvd_netns_helper(3, parent);
	}
	close(sv[1]);
	if (hvd_netns_pid < 0) {
		log_warn("fork of the network namespace helper");
		close(sv[0]);
		return;
	}
	hvd_netns_sock = sv[0];
	if (fcntl(hvd_netns_sock, F_SETFL, O_NONBLOCK) < 0)
		hvd_netns_fini();
	/* one message per namespace: the helper reads them one by one */
	for (int i = 0; i < HVD_NETNS_POOL && hvd_netns_sock >= 0; i++)
		if (send(hvd_netns_sock, "n", 1, MSG_NOSIGNAL) != 1)
			hvd_netns_fini();
}

/* Stops the helper (the namespaces in flight go with the socket). */
void
hvd_netns_fini(void)
{
	if (hvd_netns_sock >= 0)
		close(hvd_netns_sock);
	hvd_netns_sock = -1;
	if (hvd_netns_pid > 0) {
		kill(hvd_netns_pid, SIGKILL);
		while (waitpid(hvd_netns_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	hvd_netns_pid = -1;
}

/*
 * A namespace made ahead, entered by hvd's thread for the clone that
 * follows (the child is born in it): its descriptor, or -1 when none is
 * ready (the clone makes a new one then). hvd_netns_leave returns.
 */
int
hvd_netns_enter(void)
{
	int fd;

	/* a dead domain's first, then one the helper made */
	if (hvd_netns_nkept > 0) {
		hvd_netns_nkept--;
		if ((fd = hvd_netns_recv(hvd_netns_keep[1])) >= 0 && setns(fd, CLONE_NEWNET) == 0)
			return fd;
		log_warn("a recycled network namespace");
		if (fd >= 0)
			close(fd);
	}
	if (hvd_netns_sock < 0)
		return -1;
	if ((fd = hvd_netns_recv(hvd_netns_sock)) < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			log_warnx("the network namespace helper is gone: builds make their own");
			hvd_netns_fini();
		}
		return -1;
	}
	/* the next one, made while hvd goes on */
	if (send(hvd_netns_sock, "n", 1, MSG_NOSIGNAL) != 1)
		log_warn("network namespace helper");
	if (setns(fd, CLONE_NEWNET) < 0) {
		log_warn("setns into a network namespace made ahead");
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Back to hvd's own namespace after the clone; the caller keeps the namespace's fd. */
void
hvd_netns_leave(void)
{
	/* hvd must not go on in a guest's namespace: this cannot fail for root */
	if (setns(hvd_netns_self, CLONE_NEWNET) < 0)
		fatal("setns back into hvd's network namespace");
}

/* Called only once no process of the domain that had it is left (hvd_domain_destroy). */
void
hvd_netns_recycle(int fd)
{
	if (fd < 0)
		return;
	if (hvd_netns_nkept < HVD_NETNS_KEEP && hvd_netns_keep[0] >= 0 &&
	    hvd_netns_send(hvd_netns_keep[0], fd, MSG_DONTWAIT) == 0)
		hvd_netns_nkept++;
	close(fd);
}
