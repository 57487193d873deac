#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvd.h"
#include "log.h"

struct event_base *hvd_base;
static const char *hvd_build_emptydir;

/* The loop guest channels and pidfds go on, and the empty root sandboxed guests get. */
void
hvd_build_init(struct event_base *base, const char *emptydir)
{
	hvd_base = base;
	hvd_build_emptydir = emptydir;
}

/* start_info and the two reserved grant entries, written into guest memory. */
static int
hvd_build_pages(struct hvd_domain *d, const struct hv_req_domain_build *req)
{
	start_info_t si;
	grant_entry_v1_t ge[2];
	const struct hvd_port *sp = hvd_evtchn_port(d, req->store_port);
	const struct hvd_port *cp = hvd_evtchn_port(d, req->console_port);

	if ((req->store_port && sp == NULL) || (req->console_port && cp == NULL)) {
		errno = EINVAL;
		return -1;
	}
	memset(&si, 0, sizeof(si));
	snprintf(si.magic, sizeof(si.magic), "xen-3.0-x86_64");
	si.nr_pages = d->nr_pages;
	si.flags = 0;
	si.store_mfn = HV_PFN_XENSTORE;
	si.store_evtchn = req->store_port;
	si.console.domU.mfn = HV_PFN_CONSOLE;
	si.console.domU.evtchn = req->console_port;
	memcpy(si.cmd_line, req->cmdline, sizeof(si.cmd_line));
	si.cmd_line[sizeof(si.cmd_line) - 1] = '\0';
	/* Like libxl: the console and store pages are pre-granted to dom0. */
	ge[GNTTAB_RESERVED_CONSOLE] = (grant_entry_v1_t){
		.flags = GTF_permit_access, .domid = 0, .frame = HV_PFN_CONSOLE,
	};
	ge[GNTTAB_RESERVED_XENSTORE] = (grant_entry_v1_t){
		.flags = GTF_permit_access, .domid = 0, .frame = HV_PFN_XENSTORE,
	};
	if (pwrite(d->memfd, &si, sizeof(si), HV_PFN_START_INFO * HVD_PAGE_SIZE) != sizeof(si) ||
	    pwrite(d->memfd, ge, sizeof(ge), HV_PFN_GNTTAB * HVD_PAGE_SIZE) != sizeof(ge))
		return -1;
	return 0;
}

/* Moves fd to a number >= 10 so the dup2 calls into 3 and 4 cannot clobber it. */
static int
hvd_build_high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

/* Child side, up to exec; on failure reports errno on the pipe and exits. */
static _Noreturn void
hvd_build_child(int chan, int kfd, int errfd, int cgfd, bool sandbox, const char *emptydir,
    const char *argv0)
{
	char *argv[] = { (char *)argv0, NULL };
	char *envp[] = { HV_GUEST_FD_ENV "=3", NULL };
	int err, nullfd;

	if (setsid() < 0)
		goto fail;
	/* into the domain's cgroup before anything of the guest runs */
	if (cgfd >= 0 && write(cgfd, "0", 1) != 1)
		goto fail;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	chan = hvd_build_high(chan);
	kfd = hvd_build_high(kfd);
	errfd = hvd_build_high(errfd);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (chan < 0 || kfd < 0 || errfd < 0 || nullfd < 0)
		goto fail;
	if (dup2(nullfd, 0) < 0 || dup2(chan, HV_GUEST_FD) < 0 || dup2(kfd, 4) < 0)
		goto fail;
	/* stdout and stderr stay hvd's (/dev/null when it daemonized) for early debugging */
	if (fcntl(4, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	if (sandbox) {
		if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0 ||
		    chroot(emptydir) < 0 || chdir("/") < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			goto fail;
	} else if (chdir("/") < 0)
		goto fail;
	/* every descriptor but stdio, the channel, the kernel and the error pipe goes */
	if (errfd != 5 && (dup2(errfd, 5) < 0 || fcntl(5, F_SETFD, FD_CLOEXEC) < 0))
		goto fail;
	errfd = 5;
	syscall(SYS_close_range, 6, ~0u, 0);
	/*
	 * Set up: tell hvd, then become the kernel at once. Its runtime's first
	 * act is HELLO on the channel, which hvd answers only once the domain is
	 * unpaused, so the exec and the libc start-up happen during the build.
	 */
	err = 0;
	if (write(errfd, &err, sizeof(err)) != sizeof(err))
		_exit(126);
	syscall(SYS_execveat, 4, "", argv, envp, AT_EMPTY_PATH);
	_exit(126);		/* after the report: hvd sees a crash */
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(126);
}

/* Forks the guest; returns its pid once its sandbox is set up (it is exec'ing then). */
static pid_t
hvd_build_spawn(struct hvd_domain *d, int chan, int kfd, int cgfd, bool sandbox)
{
	char argv0[32];
	int pipefd[2], status = 0, err = 0;
	ssize_t n;
	pid_t pid;

	snprintf(argv0, sizeof(argv0), "pvstack-dom%u", d->domid);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		hvd_build_child(chan, kfd, pipefd[1], cgfd, sandbox, hvd_build_emptydir, argv0);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	if (n == sizeof(err) && err == 0)
		return pid;
	if (n != sizeof(err) || err == 0)
		err = EIO;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	log_warnx("d%u: guest set-up failed: %s", d->domid, strerror(err));
	errno = err;
	return -1;
}

/* XEN_DOMCTL / libxc build: check the kernel, fill the special pages, start the program. */
int
hvd_build(struct hvd_domain *d, const struct hv_req_domain_build *req,
    struct hv_rep_domain_build *rep)
{
	int kfd = -1, cgfd = -1, sv[2] = { -1, -1 }, rc = -1;
	bool is_static;
	pid_t pid;

	if (d->domid == 0) {
		errno = EINVAL;
		return -1;
	}
	if (d->built || d->shutdown) {
		errno = EBUSY;
		return -1;
	}
	if (memchr(req->kernel, 0, sizeof(req->kernel)) == NULL ||
	    memchr(req->cmdline, 0, sizeof(req->cmdline)) == NULL || req->kernel[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	kfd = open(req->kernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		log_warn("d%u: build: kernel %s", d->domid, req->kernel);
		return -1;
	}
	if (hvd_elf_check(kfd, req->kernel, &is_static) < 0)
		goto out;
	if (hvd_build_pages(d, req) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		goto out;
	cgfd = hvd_cgroup_create(d);
	if (cgfd < 0 && hvd_cgroup_enabled())
		goto out;
	pid = hvd_build_spawn(d, sv[1], kfd, cgfd, is_static && geteuid() == 0);
	if (pid < 0) {
		hvd_cgroup_destroy(d);
		goto out;
	}
	if (hvd_domain_attach_process(d, pid) < 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		hvd_cgroup_destroy(d);
		goto out;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		log_warn("d%u: channel", d->domid);
	d->guest = hvd_conn_new(hvd_base, sv[0], d);
	sv[0] = -1;
	/* the guest's HELLO waits for the unpause */
	hvd_conn_serve(d->guest, !d->paused);
	rep->store_mfn = HV_PFN_XENSTORE;
	rep->console_mfn = HV_PFN_CONSOLE;
	rep->pid = pid;
	hvd_console_printf("d%u: built %s%s, pid %d", d->domid, req->kernel,
	    is_static ? "" : " (dynamic, not chrooted)", (int)pid);
	rc = 0;
out:
	if (cgfd >= 0)
		close(cgfd);
	if (kfd >= 0)
		close(kfd);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return rc;
}
