/*
 * The seccomp filters are a search tree built from the allow-lists: run
 * each profile's program on every call number (and on the clone flags, a
 * foreign ABI and x32) with a small classic-BPF evaluator here, and check
 * its answer against the lists themselves; then install one for real.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail.h"

#define NR_MAX		600	/* past every call number of this ABI */
#define PROG_MAX	1024

/* The instructions the filters use; anything else fails the test. */
static uint32_t
run(const struct sock_filter *prog, int len, const struct seccomp_data *sd)
{
	uint32_t a = 0;

	for (int pc = 0; pc < len; pc++) {
		const struct sock_filter *i = &prog[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			cr_assert(i->k + 4 <= sizeof(*sd) && i->k % 4 == 0, "load at %u", i->k);
			memcpy(&a, (const char *)sd + i->k, 4);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & i->k) ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			cr_assert_fail("instruction %d: code %#x", pc, i->code);
		}
	}
	cr_assert_fail("the program ran off its end");
	return 0;
}

/* The program's answer to call nr of this ABI with first argument arg0. */
static uint32_t
verdict(const struct sock_filter *prog, int len, int nr, uint64_t arg0)
{
	struct seccomp_data sd = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .args = { arg0 } };

	return run(prog, len, &sd);
}

Test(jail_seccomp, every_call_number_gets_what_the_lists_say)
{
	static struct sock_filter prog[PROG_MAX];

	for (int p = 0; p < JAIL_PROFILE_MAX; p++) {
		int len = jail_seccomp_program(p, prog, PROG_MAX), allowed = 0;

		cr_assert_gt(len, 0, "profile %s: %s", jail_profile_name(p), strerror(errno));
		for (int nr = 0; nr < NR_MAX; nr++) {
			uint32_t v = verdict(prog, len, nr, 0);
			uint32_t want = SECCOMP_RET_ERRNO | EPERM;

			if (nr == SYS_clone3 && p != JAIL_PROFILE_WORKER)
				want = SECCOMP_RET_ERRNO | ENOSYS;
			else if ((nr == SYS_clone && p != JAIL_PROFILE_WORKER) ||
			    jail_seccomp_listed(p, nr))
				want = SECCOMP_RET_ALLOW;
			cr_expect_eq(v, want, "profile %s, call %d: %#x, not %#x",
			    jail_profile_name(p), nr, v, want);
			allowed += v == SECCOMP_RET_ALLOW;
		}
		/* the lists are not empty, and the filter is not "allow all" */
		cr_assert_gt(allowed, 40, "profile %s allows %d calls", jail_profile_name(p), allowed);
		cr_assert_lt(allowed, 200, "profile %s allows %d calls", jail_profile_name(p), allowed);
	}
}

Test(jail_seccomp, clone_flags_foreign_abis_and_x32)
{
	static struct sock_filter prog[PROG_MAX];
	int len = jail_seccomp_program(JAIL_PROFILE_GUEST, prog, PROG_MAX);
	struct seccomp_data sd = { .nr = SYS_getpid, .arch = AUDIT_ARCH_I386 };

	cr_assert_gt(len, 0);
	cr_expect_eq(verdict(prog, len, SYS_clone, SIGCHLD), SECCOMP_RET_ALLOW);
	cr_expect_eq(verdict(prog, len, SYS_clone, CLONE_NEWUSER | SIGCHLD),
	    SECCOMP_RET_ERRNO | EPERM);
	cr_expect_eq(verdict(prog, len, SYS_clone, CLONE_NEWNET),
	    SECCOMP_RET_ERRNO | EPERM);
	cr_expect_eq(run(prog, len, &sd), SECCOMP_RET_KILL_PROCESS, "a 32-bit call is not killed");
	cr_expect_eq(verdict(prog, len, 0x40000000 | SYS_getpid, 0),
	    SECCOMP_RET_ERRNO | EPERM, "an x32 call is not refused");
	/* no clone at all for a worker */
	len = jail_seccomp_program(JAIL_PROFILE_WORKER, prog, PROG_MAX);
	cr_assert_gt(len, 0);
	cr_expect_eq(verdict(prog, len, SYS_clone, SIGCHLD),
	    SECCOMP_RET_ERRNO | EPERM);
}

Test(jail_seccomp, a_program_too_big_for_its_buffer_is_refused)
{
	static struct sock_filter prog[16];

	cr_assert_eq(jail_seccomp_program(JAIL_PROFILE_GUEST, prog, 16), -1);
	cr_assert_eq(errno, E2BIG);
	cr_assert_eq(jail_seccomp_program(JAIL_PROFILE_MAX, prog, 16), -1);
	cr_assert_eq(errno, EINVAL);
}

/* The kernel takes the program and enforces it: a listed call works, others fail as said. */
Test(jail_seccomp, the_kernel_enforces_the_guest_profile)
{
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (jail_seccomp(JAIL_PROFILE_GUEST) < 0)
			_exit(1);
		if (getppid() <= 0)
			_exit(2);
		errno = 0;
		if (syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL) != -1 || errno != EPERM)
			_exit(3);
		if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
			_exit(4);
		if (syscall(SYS_unshare, CLONE_NEWNS) != -1 || errno != EPERM)
			_exit(5);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "the child was killed by signal %d", WTERMSIG(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "check %d failed", WEXITSTATUS(st));
}
