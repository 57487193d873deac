/* Hostile and unprivileged clients on hvd.sock: each gets an error or is
 * dropped, and hvd goes on serving everyone else. */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "hv_test_util.h"
#include "proc_stat.h"
#include "msg.h"

static struct hvt t;

static void setup(void) { hvt_start(&t); }
static void teardown(void) { hvt_stop(&t); }

TestSuite(hv_proto, .init = setup, .fini = teardown, .timeout = 30);

/* A raw connection to hvd.sock. */
static int
raw_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	strcpy(sun.sun_path, t.sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Waits for one reply; returns its rc, or 1 when hvd closed the connection. */
static int
raw_reply(int fd, uint32_t id)
{
	uint8_t buf[HV_MSG_MAX];
	struct hv_msg_hdr hdr;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int fds[MSG_MAX_FDS], nfds;
	ssize_t n;

	cr_assert_eq(poll(&pfd, 1, 5000), 1, "hvd neither replied nor closed");
	n = msg_recv(fd, buf, sizeof(buf), fds, &nfds);
	msg_close_fds(fds, nfds);
	if (n <= 0)
		return 1;
	cr_assert((size_t)n >= sizeof(hdr));
	memcpy(&hdr, buf, sizeof(hdr));
	cr_assert_eq(hdr.id, id);
	return hdr.rc;
}

/* hvd still answers a well-behaved client. */
static void
assert_alive(void)
{
	struct hv_dominfo info;

	cr_assert_eq(hv_domain_getinfo(t.hv, 0, &info), 0, "hvd stopped serving: %s", strerror(errno));
	struct hv *other = hv_open(NULL);
	cr_assert_not_null(other);
	cr_assert_eq(hv_domain_getinfo(other, 0, &info), 0);
	hv_close(other);
}

Test(hv_proto, truncated_header)
{
	int fd = raw_connect();
	uint8_t junk[7] = { 1, 2, 3 };

	cr_assert_eq(send(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	cr_assert_eq(raw_reply(fd, 0), 1, "truncated header not dropped");
	close(fd);
	assert_alive();
}

Test(hv_proto, length_mismatch_and_bad_sizes)
{
	int fd = raw_connect();
	uint8_t buf[64] = { 0 };
	struct hv_msg_hdr hdr = { .type = HV_DOMAIN_GETINFO, .len = 40, .id = 7 };

	/* header says 40, message carries 8 */
	memcpy(buf, &hdr, sizeof(hdr));
	cr_assert(send(fd, buf, sizeof(hdr) + 8, 0) > 0);
	cr_assert_eq(raw_reply(fd, 7), -EBADMSG);
	/* consistent length, wrong payload size for the type */
	hdr.len = 3, hdr.id = 8;
	memcpy(buf, &hdr, sizeof(hdr));
	cr_assert(send(fd, buf, sizeof(hdr) + 3, 0) > 0);
	cr_assert_eq(raw_reply(fd, 8), -EINVAL);
	close(fd);
	assert_alive();
}

Test(hv_proto, over_the_limit)
{
	int fd = raw_connect();
	size_t len = HV_MSG_MAX + 100;
	uint8_t *buf = calloc(1, len);
	struct hv_msg_hdr hdr = { .type = HV_DOMAIN_GETINFO, .len = len - sizeof(hdr), .id = 9 };

	memcpy(buf, &hdr, sizeof(hdr));
	cr_assert_eq(send(fd, buf, len, 0), (ssize_t)len);
	cr_assert_eq(raw_reply(fd, 9), 1, "oversized message not dropped");
	free(buf);
	close(fd);
	assert_alive();
}

Test(hv_proto, unknown_type)
{
	int fd = raw_connect();
	struct hv_msg_hdr hdr = { .type = 4000, .len = 0, .id = 10 };

	cr_assert(send(fd, &hdr, sizeof(hdr), 0) > 0);
	cr_assert_eq(raw_reply(fd, 10), -ENOSYS);
	hdr.type = 31, hdr.id = 11;	/* a hole in the table */
	cr_assert(send(fd, &hdr, sizeof(hdr), 0) > 0);
	cr_assert_eq(raw_reply(fd, 11), -ENOSYS);
	/* a guest-only call on the dom0 socket */
	hdr.type = HV_GUEST_HELLO, hdr.id = 12;
	cr_assert(send(fd, &hdr, sizeof(hdr), 0) > 0);
	cr_assert_eq(raw_reply(fd, 12), -EPERM);
	close(fd);
	assert_alive();
}

Test(hv_proto, fds_where_none_expected)
{
	int fd = raw_connect(), efd[MSG_MAX_FDS], before;
	struct hv_msg_hdr hdr = { .type = HV_PHYSINFO, .len = 0, .id = 20 };

	for (int i = 0; i < MSG_MAX_FDS; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC);
	cr_assert_eq(msg_send(fd, &hdr, sizeof(hdr), NULL, 0), 0);
	cr_assert_eq(raw_reply(fd, 20), 0);	/* accepted: counted in before */
	before = proc_fd_count(t.hvd_pid);
	/* a few fds: closed by hvd, the request still answered */
	cr_assert_eq(msg_send(fd, &hdr, sizeof(hdr), efd, 3), 0);
	cr_assert_eq(raw_reply(fd, 20), 0);
	cr_assert_eq(proc_fd_count(t.hvd_pid), before, "hvd kept passed fds");
	/* a flood: more than hvd takes, in one message */
	{
		int many[64];
		union { struct cmsghdr a; char b[CMSG_SPACE(sizeof(many))]; } ctl;
		struct iovec iov = { .iov_base = &hdr, .iov_len = sizeof(hdr) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			.msg_controllen = sizeof(ctl.b) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		for (int i = 0; i < 64; i++)
			many[i] = efd[i % MSG_MAX_FDS];
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(many));
		memcpy(CMSG_DATA(cm), many, sizeof(many));
		hdr.id = 21;
		cr_assert(sendmsg(fd, &mh, 0) > 0);
		cr_assert_eq(raw_reply(fd, 21), 1, "fd flood not dropped");
	}
	close(fd);
	msg_close_fds(efd, MSG_MAX_FDS);
	assert_alive();
	int now = -1;
	for (int i = 0; i < 500 && (now = proc_fd_count(t.hvd_pid)) != before - 1; i++)
		usleep(2000);
	cr_assert_eq(now, before - 1, "fds leaked after flood: %d, was %d", now, before);
}

Test(hv_proto, vanishing_and_non_reading_clients)
{
	struct hv_req_domain_create req = { .mem_kib = 4096, .vcpus = 1 };
	uint8_t buf[sizeof(struct hv_msg_hdr) + sizeof(req)];
	struct hv_msg_hdr hdr = { .type = HV_DOMAIN_CREATE, .len = sizeof(req), .id = 1 };
	struct hv_dominfo info[8];

	/* a client that sends a request and is gone before the reply */
	for (int i = 0; i < 5; i++) {
		int fd = raw_connect();
		memcpy(buf, &hdr, sizeof(hdr));
		memcpy(buf + sizeof(hdr), &req, sizeof(req));
		cr_assert(send(fd, buf, sizeof(buf), 0) > 0);
		close(fd);
	}
	assert_alive();
	cr_assert_eq(hv_domain_getinfolist(t.hv, 0, info, 8), 6);

	/* a client that never reads its replies is dropped, not buffered forever */
	int fd = raw_connect();
	struct hv_msg_hdr q = { .type = HV_CONSOLE_READ, .len = 4 };
	uint8_t qb[sizeof(q) + 4] = { 0 };
	struct timeval tv = { .tv_sec = 2 };
	int sent = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 5000; i++) {
		q.id = i;
		memcpy(qb, &q, sizeof(q));
		if (send(fd, qb, sizeof(qb), MSG_NOSIGNAL) < 0)
			break;
		sent++;
	}
	assert_alive();
	/* drain: the connection must end (EOF) rather than deliver everything */
	uint8_t rb[HV_MSG_MAX];
	int got = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 2000) != 1)
			break;
		ssize_t n = recv(fd, rb, sizeof(rb), 0);
		if (n <= 0)
			break;
		got++;
	}
	cr_assert(got < sent, "hvd buffered all %d replies for a non-reader", sent);
	close(fd);
	assert_alive();
}

Test(hv_proto, non_root_cannot_control)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	hv_domid_t domid;
	pid_t pid;
	int status;

	cr_assert_eq(hv_domain_create(t.hv, &cfg, &domid), 0);
	cr_assert_eq(chmod(t.rundir, 0755), 0);	/* mkdtemp made it 0700 */
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct passwd *pw = getpwnam("nobody");
		uid_t uid = pw ? pw->pw_uid : 65534;
		if (setgid(uid) < 0 || setuid(uid) < 0)
			_exit(10);
		struct hv *hv = hv_open(NULL);
		struct hv_dominfo info;
		struct hv_physinfo pi;
		hv_domid_t d2;
		if (hv == NULL)
			_exit(11);
		if (hv_domain_getinfo(hv, domid, &info) < 0 || hv_physinfo(hv, &pi) < 0)
			_exit(12);
		if (hv_domain_create(hv, &cfg, &d2) != -1 || errno != EPERM)
			_exit(13);
		if (hv_domain_destroy(hv, domid) != -1 || errno != EPERM)
			_exit(14);
		if (hv_domain_pause(hv, domid) != -1 || errno != EPERM)
			_exit(15);
		if (hv_foreign_map(hv, domid, PROT_READ, 0, 1) != NULL || errno != EPERM)
			_exit(16);
		struct hv_evtchn *xce = hv_evtchn_open(hv);
		if (hv_evtchn_bind_virq(xce, VIRQ_DOM_EXC) != -1 || errno != EPERM)
			_exit(17);
		if (hv_evtchn_alloc_unbound(hv, domid, 0) != -1 || errno != EPERM)
			_exit(18);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "unprivileged client step %d failed",
	    WEXITSTATUS(status));
	struct hv_dominfo info;
	cr_assert_eq(hv_domain_getinfo(t.hv, domid, &info), 0, "domain gone");
}

Test(hv_proto, guest_channel_is_guest_only)
{
	hv_domid_t domid = hvt_guest(&t, "probe", NULL, NULL);
	struct hv_dominfo info;
	char *text;

	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	cr_assert(hvt_wait_flags(&t, domid, HV_DOMINF_SHUTDOWN, HV_DOMINF_SHUTDOWN, 5000, &info));
	text = hv_console_read(t.hv, 0);
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_poweroff, "guest probe: %s", text);
	free(text);
}
