#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "jail.h"
#include "libhv.h"
#include "log.h"

struct event_base *hvd_base;
static const char *hvd_build_emptydir;
static bool hvd_build_insecure;
static const char *hvd_build_lacks;	/* the facility the host lacks, NULL when none */

/*
 * Descriptors reserved low in hvd's table at start, on /dev/null: what a child
 * inherits (channel, kernel, the two pipe ends) is put there, the child is
 * cloned sharing hvd's table and its first act is a table of its own holding
 * only the descriptors up to the last slot (close_range with
 * CLOSE_RANGE_UNSHARE). A plain clone copied hvd's table, ~12 descriptors per
 * domain, and the child then closed them all: each build cost O(domains).
 */
#define HVD_BUILD_NSLOTS	4
static int hvd_build_slot[HVD_BUILD_NSLOTS] = { -1, -1, -1, -1 };
static int hvd_build_slot_top = -1;	/* the highest slot; -1: no slots, plain clone */
static int hvd_build_null = -1;		/* what a slot holds between builds */

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

/* What the child needs to confine itself; all prepared by hvd before the clone. */
struct hvd_build_child {
	int chan, kfd, errfd, gofd;
	bool confine;
	uid_t uid;
	int profile;
	uint64_t mem_bytes;	/* the domain's memory, which sizes a profile's /tmp */
	char *const *files;	/* a dynamic kernel's interpreter and libraries */
	const char *argv0;
	const struct hvd_domain *dom;	/* for its CPU affinity */
	const struct hvd_limits_cfg *limits;	/* set while the child sets up; NULL: no groups */
};

/* The namespaces every confined guest gets: init of its own pid namespace,
 * in a user namespace that maps only its own uid. */
#define HVD_BUILD_NS	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | \
			 CLONE_NEWUTS | CLONE_NEWNET)

/* Reserves the slots; without them builds copy hvd's table as before. */
static void
hvd_build_slots_init(void)
{
	int top = -1;

	hvd_build_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < HVD_BUILD_NSLOTS && hvd_build_null >= 0; i++) {
		if ((hvd_build_slot[i] = fcntl(hvd_build_null, F_DUPFD_CLOEXEC, 3)) < 0)
			return;
		if (hvd_build_slot[i] > top)
			top = hvd_build_slot[i];
	}
	if (hvd_build_null >= 0 && top < 64)
		hvd_build_slot_top = top;
}

/* Puts /dev/null back in the slots once the child has its own table. */
static void
hvd_build_slots_reset(void)
{
	for (int i = 0; i < HVD_BUILD_NSLOTS; i++)
		if (dup3(hvd_build_null, hvd_build_slot[i], O_CLOEXEC) < 0)
			hvd_build_slot_top = -1;	/* cannot happen; then never share again */
}

/* The child's inheritance into the slots; -1 (slots reset) if a dup fails. */
static int
hvd_build_slots_fill(const int *fds)
{
	for (int i = 0; i < HVD_BUILD_NSLOTS; i++)
		if (dup3(fds[i], hvd_build_slot[i], O_CLOEXEC) < 0) {
			hvd_build_slots_reset();
			return -1;
		}
	return 0;
}

/*
 * Parent side of a shared clone: waits for the child's word that its table is
 * its own (0, or an errno), without blocking on a child that died first.
 */
static int
hvd_build_wait_unshared(pid_t pid, int errfd)
{
	struct pollfd pfd = { .fd = errfd, .events = POLLIN };
	int err = 0, status;

	for (;;) {
		int n = poll(&pfd, 1, 100);

		if (n > 0) {
			if (read(errfd, &err, sizeof(err)) != sizeof(err))
				err = EIO;
			return err;
		}
		if (n < 0 && errno != EINTR)
			return errno;
		if (n == 0 && waitpid(pid, &status, WNOHANG) == pid)
			return ECHILD;
	}
}

/* Child side, up to exec; on failure reports errno on the pipe and exits. */
static _Noreturn void
hvd_build_child(struct hvd_build_child *c)
{
	char *argv[] = { (char *)c->argv0, NULL };
	char *envp[] = { HV_GUEST_FD_ENV "=3", NULL };
	int err, nullfd, chan, kfd, errfd = c->errfd, gofd;
	char go;

	/* hvd writes our uid map (we are in our cgroups already), then says go */
	if (read(c->gofd, &go, 1) != 1 || (gofd = hvd_build_high(c->gofd)) < 0)
		goto fail;
	close(c->gofd);
	if (setsid() < 0 || hvd_affinity_self(c->dom) < 0)
		goto fail;
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	chan = hvd_build_high(c->chan);
	kfd = hvd_build_high(c->kfd);
	errfd = hvd_build_high(c->errfd);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (chan < 0 || kfd < 0 || errfd < 0 || nullfd < 0)
		goto fail;
	if (dup2(nullfd, 0) < 0 || dup2(chan, HV_GUEST_FD) < 0 || dup2(kfd, 4) < 0)
		goto fail;
	/* A confined guest inherits no host file: stdout and stderr are /dev/null too.
	 * Sanitizer builds keep hvd's stderr, where their reports go. */
	if (c->confine && (dup2(nullfd, 1) < 0 ||
	    (c->profile != JAIL_PROFILE_SANITIZER && dup2(nullfd, 2) < 0)))
		goto fail;
	if (fcntl(4, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	if (c->confine) {
		if (hvd_sandbox_root(hvd_build_emptydir, c->files,
		    jail_profile_limits(c->profile), c->uid, c->mem_bytes) < 0 ||
		    jail_drop_privileges(c->uid, c->uid) < 0)
			goto fail;
	} else if (chdir("/") < 0)
		goto fail;
	/* hvd set our limits meanwhile: its second word (none: it could not) */
	if (read(gofd, &go, 1) != 1) {
		errno = EIO;
		goto fail;
	}
	close(gofd);
	/* no PR_SET_PDEATHSIG: the domain outlives hvd, held by the keeper (hvd_keeper.h) */
	/* every descriptor but stdio, the channel, the kernel and the error pipe goes */
	if (errfd != 5 && (dup2(errfd, 5) < 0 || fcntl(5, F_SETFD, FD_CLOEXEC) < 0))
		goto fail;
	errfd = 5;
	syscall(SYS_close_range, 6, ~0u, 0);
	if (c->confine && jail_seccomp(c->profile) < 0)
		goto fail;
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

/* Writes one line into a /proc/<pid> file (uid_map, gid_map). */
static int
hvd_build_proc_write(pid_t pid, const char *file, const char *line)
{
	char path[64];
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = write(fd, line, strlen(line)) == (ssize_t)strlen(line) ? 0 : -1;
	close(fd);
	return rc;
}

/*
 * The guest's process, born in its v2 group (cgdir, clone3 with
 * CLONE_INTO_CGROUP) when it has one: that takes no global lock, where a pid
 * written to cgroup.procs afterwards waits for an RCU grace period (8-15 ms on
 * this VM, the largest part of a create). *placed says whether it was; a
 * kernel or filter without clone3 gets a plain clone.
 */
static pid_t
hvd_build_clone(uint64_t flags, int cgdir, bool *placed)
{
	*placed = false;
	if (cgdir >= 0) {
		struct clone_args ca = { .flags = flags | CLONE_INTO_CGROUP,
		    .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgdir };
		pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid >= 0) {
			*placed = true;
			return pid;
		}
	}
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

/*
 * Child side, its first act: joins its v1 groups by writing "0" (the calling
 * thread, which is the whole process here) to each tasks file, which takes no
 * global lock either. 0 or an errno.
 */
static int
hvd_build_join(const int *tasks, int n)
{
	for (int i = 0; i < n; i++)
		if (write(tasks[i], "0", 1) != 1)
			return errno ? errno : EIO;
	return 0;
}

/* Parent side of the hand-shake: the v2 group if the clone did not place it, the uid map, then go. */
static int
hvd_build_release(pid_t pid, const struct hvd_build_child *c, int cgdir, bool placed, int gofd)
{
	char line[64];

	if (cgdir >= 0 && !placed) {
		int n = snprintf(line, sizeof(line), "%d", (int)pid);
		int fd = openat(cgdir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		bool ok = fd >= 0 && write(fd, line, (size_t)n) == n;
		if (fd >= 0)
			close(fd);
		if (!ok)
			return -1;
	}
	if (c->confine) {
		/* its own uid and gid, and nothing else of the host's */
		snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)c->uid, (unsigned)c->uid);
		if (hvd_build_proc_write(pid, "uid_map", line) < 0 ||
		    hvd_build_proc_write(pid, "gid_map", line) < 0)
			return -1;
	}
	return write(gofd, "g", 1) == 1 ? 0 : -1;
}

/* Forks the guest; returns its pid once its sandbox is set up (it is exec'ing then). */
static pid_t
hvd_build_spawn(struct hvd_domain *d, struct hvd_build_child *c, const int *cgfds, int ncg)
{
	char argv0[32];
	int errp[2], gop[2], status = 0, err = 0;
	ssize_t n;
	pid_t pid;

	snprintf(argv0, sizeof(argv0), "pvstack-dom%u", d->domid);
	c->argv0 = argv0;
	if (pipe2(errp, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(gop, O_CLOEXEC) < 0) {
		close(errp[0]);
		close(errp[1]);
		return -1;
	}
	int inherit[HVD_BUILD_NSLOTS] = { c->chan, c->kfd, errp[1], gop[0] };
	bool share = hvd_build_slot_top >= 0 && hvd_build_slots_fill(inherit) == 0, placed;
	int cgdir = ncg > 0 ? cgfds[0] : -1;
	/* a network namespace made ahead (hvd_netns.c) spares the clone making one */
	int netfd = c->confine ? hvd_netns_enter() : -1;
	uint64_t ns = c->confine ? (netfd >= 0 ? HVD_BUILD_NS & ~CLONE_NEWNET : HVD_BUILD_NS) : 0;
	/* clone, not fork: the child is init of its new pid namespace */
	pid = hvd_build_clone(ns | (share ? CLONE_FILES : 0), cgdir, &placed);
	int clone_err = errno;
	if (pid != 0 && netfd >= 0)
		hvd_netns_leave();
	/* the domain holds its namespace from now on; one no child entered is as new */
	if (pid > 0)
		d->netns = netfd;
	else if (pid < 0)
		hvd_netns_recycle(netfd);
	if (pid == 0)
		err = hvd_build_join(cgfds + 1, ncg > 0 ? ncg - 1 : 0);
	if (pid == 0 && share) {
		/* before anything else: hvd's table is shared until this returns */
		if (syscall(SYS_close_range, (unsigned)hvd_build_slot_top + 1, ~0u,
		    CLOSE_RANGE_UNSHARE) < 0 && unshare(CLONE_FILES) < 0 && err == 0)
			err = errno;
		c->chan = hvd_build_slot[0];
		c->kfd = hvd_build_slot[1];
		c->errfd = hvd_build_slot[2];
		c->gofd = hvd_build_slot[3];
		if (write(c->errfd, &err, sizeof(err)) != sizeof(err) || err != 0)
			_exit(126);
		hvd_build_child(c);
	}
	if (pid == 0) {
		close(errp[0]);
		close(gop[1]);
		c->errfd = errp[1];
		c->gofd = gop[0];
		if (err != 0) {
			if (write(c->errfd, &err, sizeof(err)) < 0)
				_exit(126);
			_exit(126);
		}
		hvd_build_child(c);
	}
	/*
	 * The uid map and the go before the child's word that its table is its
	 * own: nothing here touches the slots, so the child finds its go waiting
	 * instead of telling hvd, waiting for it and being woken again.
	 */
	int rel = pid > 0 && hvd_build_release(pid, c, cgdir, placed, gop[1]) < 0 ?
	    (errno ? errno : EIO) : 0;
	/* the limits while the child sets itself up; it waits for them before its exec */
	if (pid > 0 && rel == 0 &&
	    ((c->limits && hvd_limits_apply(d, c->limits) < 0 && c->confine) ||
	    write(gop[1], "l", 1) != 1))
		rel = errno ? errno : EIO;
	if (share && pid > 0)
		err = hvd_build_wait_unshared(pid, errp[0]);
	if (share)
		hvd_build_slots_reset();
	close(errp[1]);
	close(gop[0]);
	if (pid < 0) {
		close(errp[0]);
		close(gop[1]);
		errno = clone_err;
		return -1;
	}
	if (err == 0)
		err = rel;
	close(gop[1]);
	while (err == 0 && (n = read(errp[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(errp[0]);
	if (err == 0 && n == sizeof(err))
		return pid;
	if (err == 0)
		err = EIO;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (d->netns >= 0)
		close(d->netns);
	d->netns = -1;
	log_warnx("d%u: guest set-up failed: %s", d->domid, strerror(err));
	hvd_console_printf("d%u: guest set-up failed: %s", d->domid, strerror(err));
	errno = err;
	return -1;
}

/* Why guests cannot be confined on this host, or NULL when they can. */
static const char *
hvd_build_missing(void)
{
	const char *ctl;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return "root (hvd runs as an ordinary user)";
	if (!hvd_cgroup_enabled())
		return "a writable cgroup v2 mount";
	if ((ctl = hvd_limits_missing()) != NULL)
		return ctl;
	/* the real thing, once: some kernels turn user namespaces off by sysctl */
	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWPID) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return "user and pid namespaces";
	return NULL;
}

/* The loop guest channels and pidfds go on, and the empty directory guests' roots are made over. */
void
hvd_build_init(struct event_base *base, const char *emptydir, bool insecure)
{
	hvd_base = base;
	hvd_build_emptydir = emptydir;
	hvd_build_insecure = insecure;
	hvd_build_lacks = hvd_build_missing();
	hvd_build_slots_init();
	if (!insecure && hvd_build_lacks == NULL)
		hvd_netns_init();
	if (insecure) {
		log_warnx("INSECURE (--insecure): guests run UNCONFINED, as root, with the host's files");
		hvd_console_printf("INSECURE: guests run unconfined (--insecure)");
	} else if (hvd_build_lacks)
		log_warnx("this host lacks %s: guests cannot be confined, so none will be "
		    "started (hvd --insecure would run them unconfined)", hvd_build_lacks);
}

/* The uid base of the build, or 0 when it is unusable (it would reach system or overflow). */
static uint32_t
hvd_build_uid_base(const struct hv_req_domain_build *req)
{
	uint32_t base = req->uid_base ? req->uid_base : JAIL_UID_BASE_DEFAULT;

	if (base < 65536 || base > UINT32_MAX - JAIL_UID_RANGE - 1)
		return 0;
	return base;
}

/* The kernel's note names its profile; an unknown name is refused, not widened. */
static int
hvd_build_profile(struct hvd_domain *d, const struct hv_kernel_info *ki, const char *path)
{
	int p = ki->profile[0] ? jail_profile_from_name(ki->profile) : JAIL_PROFILE_GUEST;

	if (p < 0) {
		log_warnx("d%u: build: %s asks for sandbox profile \"%s\", which hvd does not have",
		    d->domid, path, ki->profile);
		errno = ENOEXEC;
		return -1;
	}
	return p;
}

/* A payload (the program a shim runs) only for a profile that takes one, and only a real file. */
static int
hvd_build_payload(struct hvd_domain *d, const struct hv_req_domain_build *req)
{
	const struct jail_limits *lim = jail_profile_limits(d->profile);
	struct stat st;

	if (req->payload[0] == '\0')
		return 0;
	if (memchr(req->payload, 0, sizeof(req->payload)) == NULL || req->payload[0] != '/' ||
	    lim == NULL || !lim->payload) {
		log_warnx("d%u: build: a payload (%.64s) for a kernel whose profile takes none",
		    d->domid, req->payload);
		errno = EINVAL;
		return -1;
	}
	for (const char *p = req->payload; *p; p += strcspn(p, ":"), p += *p == ':') {
		char path[HV_PATH_MAX];
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(p, ":"), p);
		if (path[0] != '/' || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			log_warnx("d%u: build: payload %s is not a regular file", d->domid, path);
			errno = ENOENT;
			return -1;
		}
	}
	return 0;
}

/* The memory the kernel may use on the host: the domain's, plus its profile's overhead. */
uint64_t
hvd_build_mem_limit(const struct hvd_domain *d)
{
	const struct jail_limits *prof = jail_profile_limits(d->profile);
	uint64_t kib = d->max_mem_kib > d->mem_kib ? d->max_mem_kib : d->mem_kib;

	return kib * 1024 + (prof ? prof->mem_overhead : 0);
}

/* XEN_DOMCTL / libxc build: check the kernel, fill the special pages, start the program. */
int
hvd_build(struct hvd_domain *d, const struct hv_req_domain_build *req,
    struct hv_rep_domain_build *rep)
{
	int kfd = -1, cgfds[HVD_CGROUP_FDS_MAX], ncg = 0, sv[2] = { -1, -1 }, rc = -1;
	struct hv_kernel_info ki;
	struct hvd_build_child c = { .confine = !hvd_build_insecure };
	struct hvd_limits_cfg lim;
	char **files = NULL;
	uint32_t base;
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
	    memchr(req->cmdline, 0, sizeof(req->cmdline)) == NULL || req->kernel[0] != '/' ||
	    (base = hvd_build_uid_base(req)) == 0) {
		errno = EINVAL;
		return -1;
	}
	if (hvd_build_lacks && !hvd_build_insecure) {
		log_warnx("d%u: build refused: this host lacks %s, and guests are never "
		    "started unconfined (hvd --insecure)", d->domid, hvd_build_lacks);
		errno = EOPNOTSUPP;
		return -1;
	}
	kfd = open(req->kernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		log_warn("d%u: build: kernel %s", d->domid, req->kernel);
		return -1;
	}
	if (hvd_elf_check(kfd, req->kernel, &ki) < 0 ||
	    (d->profile = hvd_build_profile(d, &ki, req->kernel)) < 0)
		goto out;
	if (hvd_build_payload(d, req) < 0)
		goto out;
	if (c.confine && (!ki.is_static || req->payload[0]) &&
	    (files = hvd_kdeps(req->kernel, !ki.is_static,
	    req->payload[0] ? req->payload : NULL)) == NULL) {
		errno = ENOEXEC;
		goto out;
	}
	if (hvd_build_pages(d, req) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		goto out;
	lim = (struct hvd_limits_cfg){
		.mem_bytes = hvd_build_mem_limit(d),
		.pids = jail_profile_limits(d->profile)->pids,
		.vcpus = d->vcpus ? d->vcpus : 1,
	};
	ncg = hvd_cgroup_create(d, cgfds);
	if (ncg < 0 && c.confine)
		goto out;
	c.limits = ncg > 0 ? &lim : NULL;
	c.chan = sv[1];
	c.dom = d;
	c.kfd = kfd;
	c.uid = jail_uid_guest(base, d->domid);
	c.profile = d->profile;
	c.files = files;
	c.mem_bytes = (d->max_mem_kib > d->mem_kib ? d->max_mem_kib : d->mem_kib) * 1024;
	pid = hvd_build_spawn(d, &c, cgfds, ncg > 0 ? ncg : 0);
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
	d->uid = c.confine ? c.uid : 0;
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		log_warn("d%u: channel", d->domid);
	d->guest = hvd_conn_new(hvd_base, sv[0], d);
	sv[0] = -1;
	/* the guest's HELLO waits for the unpause */
	hvd_conn_serve(d->guest, !d->paused);
	rep->store_mfn = HV_PFN_XENSTORE;
	rep->console_mfn = HV_PFN_CONSOLE;
	rep->pid = pid;
	if (c.confine)
		hvd_console_printf("d%u: built %s, pid %d, uid %u, profile %s", d->domid,
		    req->kernel, (int)pid, (unsigned)c.uid, jail_profile_name(d->profile));
	else
		hvd_console_printf("d%u: built %s, pid %d, UNCONFINED", d->domid, req->kernel,
		    (int)pid);
	hvd_keeper_dom(d, true);
	rc = 0;
out:
	for (int i = 0; i < ncg; i++)
		close(cgfds[i]);
	hvd_kdeps_free(files);
	if (kfd >= 0)
		close(kfd);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return rc;
}
