/*
 * umlshim-xstate.so, preloaded into linux.uml by the shim: user-mode Linux
 * 6.1 moves its processes' XSAVE state with PTRACE_GETREGSET/SETREGSET of
 * NT_X86_XSTATE through a buffer sized when it was built, and a host whose
 * XSAVE area is larger (AVX-512 with AMX, PKRU) refuses every SETREGSET of
 * that size (EFAULT), which kills the guest's init. Here both requests go
 * through a buffer of the host's own size: a GET hands UML the part it knows,
 * a SET writes UML's part over the process's current state, so nothing of
 * the registers UML does not know is lost, and AVX state is kept whole
 * (refusing XSTATE instead would leave UML with the legacy FXSAVE part only).
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/elf.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define XSTATE_MAX	(64 * 1024)

typedef long ptrace_fn(enum __ptrace_request, ...);

static _Alignas(64) uint8_t xstate_buf[XSTATE_MAX];

static ptrace_fn *
xstate_real(void)
{
	static ptrace_fn *real;

	if (real == NULL)
		real = (ptrace_fn *)dlsym(RTLD_NEXT, "ptrace");
	return real;
}

/* The tracee's whole XSAVE state into xstate_buf; its size, or -1. */
static long
xstate_get_all(pid_t pid)
{
	struct iovec all = { xstate_buf, sizeof(xstate_buf) };

	if (xstate_real()(PTRACE_GETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &all) < 0)
		return -1;
	return (long)all.iov_len;
}

static long
xstate_regset(enum __ptrace_request req, pid_t pid, struct iovec *iov)
{
	long size = xstate_get_all(pid);
	size_t n;

	if (size < 0)
		return -1;
	n = iov->iov_len < (size_t)size ? iov->iov_len : (size_t)size;
	if (req == PTRACE_GETREGSET) {
		memcpy(iov->iov_base, xstate_buf, n);
		iov->iov_len = n;
		return 0;
	}
	memcpy(xstate_buf, iov->iov_base, n);
	struct iovec all = { xstate_buf, (size_t)size };
	return xstate_real()(PTRACE_SETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &all);
}

long
ptrace(enum __ptrace_request req, ...)
{
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, req);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);
	if ((req == PTRACE_GETREGSET || req == PTRACE_SETREGSET) &&
	    (uintptr_t)addr == NT_X86_XSTATE && data != NULL)
		return xstate_regset(req, pid, data);
	if (xstate_real() == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return xstate_real()(req, pid, addr, data);
}
