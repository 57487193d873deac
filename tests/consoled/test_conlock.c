/* The one-client-per-console lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
	conlock_release(fd, p);
	cr_assert(access(p, F_OK) < 0 && errno == ENOENT, "%s is left after its release", p);
	fd2 = conlock_acquire(p, "other", holder, sizeof(holder));
	cr_assert_geq(fd2, 0, "free again once released");
	conlock_release(fd2, p);
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
	conlock_release(fd, p);
	cr_assert(access(p, F_OK) < 0 && errno == ENOENT, "a killed holder's file is left");
	close(pipefd[0]);
	close(pipefd[1]);
	free(p);
}

/*
 * Takers and releasers racing on one console: a release removes the file
 * while others have it open, so a taker that locked the removed file must
 * not count as holder. Each holder checks it is alone (a shared counter).
 */
Test(conlock, one_holder_at_a_time_while_files_come_and_go)
{
	enum { PROCS = 4, ROUNDS = 2000 };
	char *p = conlock_path(9, 0);
	int *held = mmap(NULL, sizeof(int) * 2, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[PROCS];

	cr_assert_neq(held, MAP_FAILED);
	held[0] = held[1] = 0;
	for (int i = 0; i < PROCS; i++) {
		pid[i] = fork();
		cr_assert_geq(pid[i], 0);
		if (pid[i] > 0)
			continue;
		char holder[256];
		for (int r = 0, got = 0; got < ROUNDS / PROCS && r < ROUNDS * 100; r++) {
			int fd = conlock_acquire(p, "racer", holder, sizeof(holder));
			if (fd < 0) {
				if (errno != EWOULDBLOCK)
					_exit(2);
				continue;
			}
			if (__atomic_add_fetch(&held[0], 1, __ATOMIC_SEQ_CST) != 1)
				__atomic_store_n(&held[1], 1, __ATOMIC_SEQ_CST);
			usleep(20);	/* held a while, so an overlap has time to show */
			__atomic_sub_fetch(&held[0], 1, __ATOMIC_SEQ_CST);
			conlock_release(fd, p);
			got++;
		}
		_exit(0);
	}
	for (int i = 0; i < PROCS; i++) {
		int st;
		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "taker %d: status %#x", i, st);
	}
	cr_assert_eq(held[1], 0, "two processes held the console's lock at once");
	cr_assert(access(p, F_OK) < 0 && errno == ENOENT, "%s is left", p);
	munmap(held, sizeof(int) * 2);
	free(p);
}
