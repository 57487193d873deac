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

static int
jail_emit(struct jail_filter *f, struct sock_filter insn)
{
	if (f->n >= f->cap)
		return -1;
	f->insns[f->n++] = insn;
	return 0;
}

/* One "nr == x: allow" pair per listed call. */
static int
jail_emit_list(struct jail_filter *f, const int *list)
{
	for (; *list != JAIL_END; list++)
		if (jail_emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (unsigned)*list, 0, 1)) < 0 ||
		    jail_emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)) < 0)
			return -1;
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

static int
jail_build(struct jail_filter *f, enum jail_profile p)
{
	const struct sock_filter head[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, JAIL_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, JAIL_X32_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		rc |= jail_emit(f, head[i]);
	rc |= jail_emit_list(f, jail_sys_common);
	if (p == JAIL_PROFILE_WORKER)
		rc |= jail_emit_list(f, jail_sys_worker);
	else {
		rc |= jail_emit_clone(f);
		rc |= jail_emit_list(f, jail_sys_guest);
	}
	if (p == JAIL_PROFILE_SANITIZER)
		rc |= jail_emit_list(f, jail_sys_sanitizer);
	if (p == JAIL_PROFILE_UML)
		rc |= jail_emit_list(f, jail_sys_uml);
	rc |= jail_emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
	return rc;
}

int
jail_seccomp(enum jail_profile p)
{
	struct sock_filter insns[JAIL_FILTER_MAX];
	struct jail_filter f = { insns, 0, JAIL_FILTER_MAX };
	struct sock_fprog prog;

	if ((unsigned)p >= JAIL_PROFILE_MAX || jail_build(&f, p) < 0) {
		errno = EINVAL;
		return -1;
	}
	prog.len = (unsigned short)f.n;
	prog.filter = insns;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
