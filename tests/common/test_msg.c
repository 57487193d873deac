#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"

static int sv[2];

static void
setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

static void
teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

TestSuite(msg, .init = setup, .fini = teardown);

Test(msg, boundaries_are_kept)
{
	char buf[64];
	int fds[MSG_MAX_FDS], nfds;

	cr_assert_eq(msg_send(sv[0], "abc", 3, NULL, 0), 0);
	cr_assert_eq(msg_send(sv[0], "defgh", 5, NULL, 0), 0);
	cr_assert_eq(msg_recv(sv[1], buf, sizeof(buf), fds, &nfds), 3);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
	cr_assert_eq(msg_recv(sv[1], buf, sizeof(buf), fds, &nfds), 5);
	cr_assert_eq(memcmp(buf, "defgh", 5), 0);
}

Test(msg, descriptors_travel_and_are_cloexec)
{
	int p[2], fds[MSG_MAX_FDS], nfds;
	char buf[8];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(msg_send(sv[0], "x", 1, p, 2), 0);
	cr_assert_eq(msg_recv(sv[1], buf, sizeof(buf), fds, &nfds), 1);
	cr_assert_eq(nfds, 2);
	cr_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(write(p[1], "z", 1), 1);
	cr_assert_eq(read(fds[0], buf, 1), 1);
	cr_assert_eq(buf[0], 'z');
	msg_close_fds(fds, nfds);
	close(p[0]);
	close(p[1]);
}

Test(msg, oversized_message_is_refused_and_fds_closed)
{
	char big[256], small[16];
	int p[2], fds[MSG_MAX_FDS], nfds = -1;

	memset(big, 'a', sizeof(big));
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(msg_send(sv[0], big, sizeof(big), p, 1), 0);
	close(p[0]);
	cr_assert_eq(msg_recv(sv[1], small, sizeof(small), fds, &nfds), -1);
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(nfds, 0);
	/* the only read end we received was closed: the writer sees EPIPE */
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(write(p[1], "z", 1), -1);
	cr_assert_eq(errno, EPIPE);
	close(p[1]);
}

Test(msg, too_many_fds_are_refused)
{
	int fds[MSG_MAX_FDS + 1] = { 0 };

	cr_assert_eq(msg_send(sv[0], "x", 1, fds, MSG_MAX_FDS + 1), -1);
	cr_assert_eq(errno, EINVAL);
}

Test(msg, eof_reads_zero)
{
	char buf[8];
	int fds[MSG_MAX_FDS], nfds;

	close(sv[0]);
	sv[0] = open("/dev/null", O_RDONLY);
	cr_assert_eq(msg_recv(sv[1], buf, sizeof(buf), fds, &nfds), 0);
}
