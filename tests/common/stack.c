#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "libhv.h"
#include "stack.h"
#include "xs.h"

/* Program and arguments of each daemon, in the foreground. */
static const struct {
	const char *prog, *name;
	const char *args[4];
} stack_daemons[STACK_NDAEMONS] = {
	[STACK_HVD] = { "hv/hvd", "hvd", { "--foreground" } },
	[STACK_XENSTORED] = { "xenstored/xenstored", "xenstored", { "-N" } },
	[STACK_CONSOLED] = { "consoled/consoled", "consoled", { "--foreground" } },
	[STACK_BLKBACK] = { "blkback/blkback", "blkback", { "-F", "-v" } },
	[STACK_NETBACK] = { "netback/netback", "netback", { "-F", "-v" } },
};

/* A path in the build tree. */
const char *
stack_prog(const char *rel)
{
	static char buf[8][512];
	static int n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", STACK_BUILD_ROOT, rel);
	return b;
}

/* For deadlines: never a wall clock. */
long long
stack_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Whether every program the stack needs is built. */
int
stack_have(unsigned with)
{
	with |= STACK_WITH(STACK_HVD) | STACK_WITH(STACK_XENSTORED);
	for (int d = 0; d < STACK_NDAEMONS; d++) {
		struct stat sb;
		if ((with & STACK_WITH(d)) && (stat(stack_prog(stack_daemons[d].prog), &sb) < 0 ||
		    !S_ISREG(sb.st_mode)))
			return 0;
	}
	return 1;
}

/* fork + exec of one daemon, output to its log, pid file in the rundir. */
void
stack_spawn(struct stack *s, enum stack_daemon d)
{
	const char *prog = stack_prog(stack_daemons[d].prog);
	const char *argv[8] = { prog };
	char log[128], pidf[128], pidarg[160];
	int n = 1;

	snprintf(log, sizeof(log), "%s/%s.log", s->s_rundir, stack_daemons[d].name);
	snprintf(pidf, sizeof(pidf), "%s/%s.pid", s->s_rundir, stack_daemons[d].name);
	snprintf(pidarg, sizeof(pidarg), "--pid-file=%s", pidf);
	for (int i = 0; stack_daemons[d].args[i]; i++)
		argv[n++] = stack_daemons[d].args[i];
	if (d == STACK_BLKBACK || d == STACK_NETBACK || d == STACK_CONSOLED)
		argv[n++] = pidarg;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	s->s_pid[d] = pid;
}

/* Waits for a path (socket, pid file) a daemon makes when ready. */
static void
stack_wait_path(struct stack *s, const char *path, enum stack_daemon d)
{
	long long deadline = stack_now_ms() + 5000;

	while (access(path, F_OK) < 0) {
		if (waitpid(s->s_pid[d], NULL, WNOHANG) != 0) {
			s->s_pid[d] = 0;
			stack_stop(s);
			cr_assert_fail("%s died during start-up", stack_daemons[d].name);
		}
		if (stack_now_ms() > deadline) {
			stack_stop(s);
			cr_assert_fail("%s never appeared", path);
		}
		usleep(5000);
	}
}

/* Starts the stack in a fresh rundir. */
void
stack_start(struct stack *s, const char *tag, unsigned with)
{
	char path[128];

	memset(s, 0, sizeof(*s));
	snprintf(s->s_rundir, sizeof(s->s_rundir), "/tmp/%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(s->s_rundir));
	setenv("PVSTACK_RUNDIR", s->s_rundir, 1);
	unsetenv("XENSTORED_PATH");
	unsetenv("PVSTACK_LOGDIR");
	stack_spawn(s, STACK_HVD);
	snprintf(path, sizeof(path), "%s/hvd.sock", s->s_rundir);
	stack_wait_path(s, path, STACK_HVD);
	stack_spawn(s, STACK_XENSTORED);
	stack_wait_path(s, xs_socket_path(), STACK_XENSTORED);
	cr_assert_not_null(s->s_hv = hv_open(NULL), "hvd: %s", strerror(errno));
	for (long long deadline = stack_now_ms() + 5000; (s->s_xs = xs_open(NULL)) == NULL;) {
		cr_assert_lt(stack_now_ms(), deadline, "xenstored does not answer");
		usleep(5000);
	}
	xs_write(s->s_xs, XS_TX_NONE, "/local/domain/0/name", "Domain-0", 8);
	for (int d = STACK_CONSOLED; d < STACK_NDAEMONS; d++) {
		if (!(with & STACK_WITH(d)))
			continue;
		stack_spawn(s, d);
		snprintf(path, sizeof(path), "%s/%s.pid", s->s_rundir, stack_daemons[d].name);
		stack_wait_path(s, path, d);
	}
}

/* One daemon down, politely first. */
int
stack_kill(struct stack *s, enum stack_daemon d)
{
	pid_t pid = s->s_pid[d];
	int status = 0;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	for (long long deadline = stack_now_ms() + 5000; waitpid(pid, &status, WNOHANG) == 0;) {
		if (stack_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	s->s_pid[d] = 0;
	return status;
}

/* Everything down, in reverse order, and the rundir gone. */
void
stack_stop(struct stack *s)
{
	char cmd[128];

	if (s->s_xs)
		xs_close(s->s_xs);
	if (s->s_hv)
		hv_close(s->s_hv);
	s->s_xs = NULL;
	s->s_hv = NULL;
	for (int d = STACK_NDAEMONS - 1; d >= 0; d--)
		stack_kill(s, d);
	if (s->s_rundir[0] && getenv("PVSTACK_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->s_rundir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", s->s_rundir);
	}
	s->s_rundir[0] = '\0';
}

/* A node of the stack's store, path formatted. */
char *
stack_xs_read(struct stack *s, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(s->s_xs, XS_TX_NONE, path, NULL);
}

/* Polls a node until it reads want. */
int
stack_xs_wait(struct stack *s, const char *path, const char *want, int ms)
{
	long long deadline = stack_now_ms() + ms;

	for (;;) {
		char *v = xs_read(s->s_xs, XS_TX_NONE, path, NULL);
		int ok = v && strcmp(v, want) == 0;
		free(v);
		if (ok)
			return 0;
		if (stack_now_ms() > deadline)
			return -1;
		usleep(2000);
	}
}
