/* The one-client-per-console lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conlock.h"

static char rundir[] = "/tmp/conlock-XXXXXX";

static void
lock_setup(void)
{
	cr_assert_not_null(mkdtemp(rundir));
	setenv("PVSTACK_RUNDIR", rundir, 1);
}

static void
lock_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(conlock, .init = lock_setup, .fini = lock_teardown);

Test(conlock, path_is_under_the_rundir)
{
	char *p = conlock_path(7, 0), *q = conlock_path(7, 2);

	cr_assert(strncmp(p, rundir, strlen(rundir)) == 0);
	cr_assert_str_eq(p + strlen(rundir), "/console/pvconsole.7.lock");
	cr_assert_str_neq(p, q);
	free(p);
	free(q);
}

Test(conlock, second_taker_fails_at_once_naming_the_holder)
{
	char *p = conlock_path(3, 0), holder[256], want[64];
	int fd, fd2;

	fd = conlock_acquire(p, "xl console 3", holder, sizeof(holder));
	cr_assert_geq(fd, 0);
	fd2 = conlock_acquire(p, "other", holder, sizeof(holder));
	cr_assert_eq(fd2, -1);
	cr_assert_eq(errno, EWOULDBLOCK);
	snprintf(want, sizeof(want), "pid %ld xl console 3", (long)getpid());
	cr_assert_str_eq(holder, want);
	conlock_release(fd);
	fd2 = conlock_acquire(p, "other", holder, sizeof(holder));
	cr_assert_geq(fd2, 0, "free again once released");
	conlock_release(fd2);
	free(p);
}

Test(conlock, held_by_another_process_and_freed_when_it_dies)
{
	char *p = conlock_path(4, 0), holder[256], want[64];
	int pipefd[2], fd;
	char c;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		fd = conlock_acquire(p, "child", holder, sizeof(holder));
		if (write(pipefd[1], "x", 1) != 1 || fd < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	cr_assert_eq(read(pipefd[0], &c, 1), 1);
	fd = conlock_acquire(p, "parent", holder, sizeof(holder));
	cr_assert_eq(fd, -1);
	snprintf(want, sizeof(want), "pid %ld child", (long)pid);
	cr_assert_str_eq(holder, want);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fd = conlock_acquire(p, "parent", holder, sizeof(holder));
	cr_assert_geq(fd, 0, "a dead holder's lock is free");
	conlock_release(fd);
	close(pipefd[0]);
	close(pipefd[1]);
	free(p);
}
