/*
 * seccomp allow-lists, written as classic BPF by hand (a list of numbers and
 * one argument check does not justify libseccomp). Anything not listed fails
 * with EPERM, so a probe sees a refusal rather than a dead process; clone3
 * fails with ENOSYS so the C library falls back to clone, whose flags we can
 * read (clone3 passes them in memory, out of a filter's reach).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "jail.h"

#if defined(__x86_64__)
#define JAIL_AUDIT_ARCH		AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define JAIL_AUDIT_ARCH		AUDIT_ARCH_AARCH64
#else
#error "jail_seccomp: no audit arch for this machine"
#endif

#define JAIL_X32_BIT		0x40000000u
#define JAIL_CLONE_NS_FLAGS	(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
				 CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)
#define JAIL_END		(-1)

/* What every program on the guest runtime or a backend's loop uses. */
static const int jail_sys_common[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64,
	SYS_preadv, SYS_pwritev, SYS_close, SYS_fcntl, SYS_dup, SYS_dup3, SYS_lseek,
	SYS_fstat, SYS_newfstatat, SYS_statx, SYS_openat, SYS_getdents64, SYS_readlinkat,
	SYS_mmap, SYS_munmap, SYS_mremap, SYS_mprotect, SYS_madvise, SYS_brk,
	SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait, SYS_ppoll, SYS_pselect6,
	SYS_eventfd2, SYS_pipe2, SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime,
	SYS_recvmsg, SYS_sendmsg, SYS_recvfrom, SYS_sendto, SYS_socketpair, SYS_shutdown,
	SYS_futex, SYS_set_robust_list, SYS_get_robust_list, SYS_set_tid_address, SYS_rseq,
	SYS_clock_gettime, SYS_clock_getres, SYS_clock_nanosleep, SYS_gettimeofday, SYS_nanosleep,
	SYS_sched_yield, SYS_sched_getaffinity, SYS_getrandom, SYS_prlimit64, SYS_getrusage,
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_rt_sigsuspend,
	SYS_rt_sigtimedwait, SYS_sigaltstack, SYS_restart_syscall,
	SYS_getpid, SYS_gettid, SYS_getppid, SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid,
	SYS_getresuid, SYS_getresgid, SYS_getgroups, SYS_uname, SYS_sysinfo, SYS_getcwd,
	SYS_exit, SYS_exit_group, SYS_close_range,
#ifdef SYS_arch_prctl
	SYS_arch_prctl,
#endif
#ifdef SYS_poll
	SYS_poll, SYS_epoll_wait, SYS_select, SYS_pipe, SYS_dup2, SYS_stat, SYS_lstat,
	SYS_readlink, SYS_open, SYS_getdents, SYS_access, SYS_pause, SYS_time, SYS_epoll_create,
#endif
	JAIL_END,
};

/* A guest kernel: processes of its own (bounded by pids.max), signals within its pid namespace. */
static const int jail_sys_guest[] = {
	SYS_wait4, SYS_waitid, SYS_kill, SYS_tgkill, SYS_tkill, SYS_setsid, SYS_setpgid,
	SYS_getpgid, SYS_getsid, SYS_execve, SYS_execveat, SYS_prctl, SYS_faccessat,
	SYS_mincore, SYS_msync, SYS_mlock, SYS_munlock, SYS_memfd_create, SYS_ftruncate,
	SYS_fallocate, SYS_unlinkat, SYS_mkdirat, SYS_sched_getparam, SYS_sched_getscheduler,
	SYS_alarm, SYS_setitimer, SYS_getitimer, SYS_timer_create, SYS_timer_settime,
	SYS_timer_delete, SYS_timer_gettime, SYS_timer_getoverrun, SYS_personality,
	SYS_pidfd_open,
#ifdef SYS_fork
	SYS_fork, SYS_vfork, SYS_access, SYS_unlink, SYS_mkdir,
#endif
	JAIL_END,
};

/* ASan, UBSan and LSan runtimes: LeakSanitizer stops the world by tracing its own threads. */
static const int jail_sys_sanitizer[] = {
	SYS_ptrace, SYS_process_vm_readv, SYS_sched_setaffinity, SYS_setrlimit,
	JAIL_END,
};

/* user-mode Linux: it runs its processes as its own ptraced children. */
static const int jail_sys_uml[] = {
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_ioctl, SYS_socket,
	SYS_connect, SYS_bind, SYS_listen, SYS_accept4, SYS_accept, SYS_getsockopt,
	SYS_setsockopt, SYS_getsockname,
	SYS_sched_setaffinity, SYS_setrlimit, SYS_fchmod, SYS_fchown, SYS_renameat,
	SYS_symlinkat, SYS_linkat, SYS_fsync, SYS_fdatasync, SYS_truncate, SYS_statfs,
	SYS_fstatfs, SYS_utimensat, SYS_fchdir, SYS_chdir, SYS_umask, SYS_io_setup,
	SYS_io_submit, SYS_io_getevents, SYS_io_destroy, SYS_remap_file_pages,
#ifdef SYS_modify_ldt
	SYS_modify_ldt,		/* its stubs read the host's LDT */
	SYS_rmdir, SYS_chmod,	/* its umid directory in /tmp */
#endif
	JAIL_END,
};

/* A backend worker: its descriptors, libaio, hole punching; no processes, no exec. */
static const int jail_sys_worker[] = {
	SYS_io_setup, SYS_io_submit, SYS_io_getevents, SYS_io_destroy, SYS_io_cancel,
	SYS_fallocate, SYS_fsync, SYS_fdatasync, SYS_ftruncate, SYS_tgkill, SYS_prctl,
	JAIL_END,
};

struct jail_filter {
	struct sock_filter *insns;
	unsigned n;
	unsigned cap;
};

#define JAIL_FILTER_MAX	512
#define JAIL_LIST_MAX	512
#define JAIL_LEAF	4	/* calls tested one by one at the bottom of the search */

static int
jail_emit(struct jail_filter *f, struct sock_filter insn)
{
	if (f->n >= f->cap)
		return -1;
	f->insns[f->n++] = insn;
	return 0;
}

/* clone is allowed without namespace flags; clone3 and unshare never. */
static int
jail_emit_clone(struct jail_filter *f)
{
	const struct sock_filter insns[] = {
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, JAIL_CLONE_NS_FLAGS, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++)
		if (jail_emit(f, insns[i]) < 0)
			return -1;
	return 0;
}

/* The lists a profile allows, in the order they are read. */
static size_t
jail_lists(enum jail_profile p, const int *lists[4])
{
	size_t n = 0;

	lists[n++] = jail_sys_common;
	lists[n++] = p == JAIL_PROFILE_WORKER ? jail_sys_worker : jail_sys_guest;
	if (p == JAIL_PROFILE_SANITIZER)
		lists[n++] = jail_sys_sanitizer;
	if (p == JAIL_PROFILE_UML)
		lists[n++] = jail_sys_uml;
	return n;
}

static int
jail_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Every call the profile lists, sorted, each once; -1 if they do not fit. */
static int
jail_allowed(enum jail_profile p, int *nrs, size_t max)
{
	const int *lists[4];
	size_t nl = jail_lists(p, lists), n = 0, u = 0;

	for (size_t l = 0; l < nl; l++)
		for (const int *c = lists[l]; *c != JAIL_END; c++) {
			if (n == max)
				return -1;
			nrs[n++] = *c;
		}
	qsort(nrs, n, sizeof(*nrs), jail_cmp_int);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || nrs[u - 1] != nrs[i])
			nrs[u++] = nrs[i];
	return (int)u;
}

/*
 * Allows the sorted calls nrs[lo, hi) and refuses every other: a binary
 * search on the number, then a few equality tests. A list of tests in a row
 * cost each filtered call up to ~200 instructions, and its installation
 * ~0.18 ms, most of it the kernel running the filter once per call number to
 * cache which ones it always allows; this takes ~10 per call.
 */
static int
jail_emit_tree(struct jail_filter *f, const int *nrs, size_t lo, size_t hi)
{
	if (hi - lo <= JAIL_LEAF) {
		/* each match jumps over the tests after it and the refusal */
		for (size_t i = lo; i < hi; i++)
			if (jail_emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			    (unsigned)nrs[i], (unsigned char)(hi - i), 0)) < 0)
				return -1;
		if (jail_emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_ERRNO | EPERM)) < 0)
			return -1;
		return jail_emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
	size_t mid = lo + (hi - lo) / 2;
	unsigned at = f->n;
	if (jail_emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
	    (unsigned)nrs[mid], 0, 0)) < 0 || jail_emit_tree(f, nrs, lo, mid) < 0)
		return -1;
	/* a classic BPF jump reaches 255 instructions ahead at most */
	if (f->n - at - 1 > 255)
		return -1;
	f->insns[at].jt = (unsigned char)(f->n - at - 1);
	return jail_emit_tree(f, nrs, mid, hi);
}

int
jail_seccomp_program(enum jail_profile p, struct sock_filter *insns, unsigned max)
{
	const struct sock_filter head[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, JAIL_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, JAIL_X32_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct jail_filter f = { insns, 0, max };
	int nrs[JAIL_LIST_MAX], n;

	if ((unsigned)p >= JAIL_PROFILE_MAX || (n = jail_allowed(p, nrs, JAIL_LIST_MAX)) < 0) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		if (jail_emit(&f, head[i]) < 0)
			goto full;
	/* the clone test reloads the accumulator: the search comes after it */
	if (p != JAIL_PROFILE_WORKER && (jail_emit_clone(&f) < 0 ||
	    jail_emit(&f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr))) < 0))
		goto full;
	if (jail_emit_tree(&f, nrs, 0, (size_t)n) < 0)
		goto full;
	return (int)f.n;
full:
	errno = E2BIG;
	return -1;
}

bool
jail_seccomp_listed(enum jail_profile p, int nr)
{
	const int *lists[4];
	size_t nl;

	if ((unsigned)p >= JAIL_PROFILE_MAX)
		return false;
	nl = jail_lists(p, lists);
	for (size_t l = 0; l < nl; l++)
		for (const int *c = lists[l]; *c != JAIL_END; c++)
			if (*c == nr)
				return true;
	return false;
}

int
jail_seccomp(enum jail_profile p)
{
	struct sock_filter insns[JAIL_FILTER_MAX];
	struct sock_fprog prog;
	int n = jail_seccomp_program(p, insns, JAIL_FILTER_MAX);

	if (n < 0)
		return -1;
	prog.len = (unsigned short)n;
	prog.filter = insns;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
