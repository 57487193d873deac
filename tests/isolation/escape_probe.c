/*
 * A hostile guest kernel: it carries the pvstack note like any other, and
 * tries, one after another, everything a guest must not be able to do to its
 * host. Each attempt ends in one line on the hypervisor console:
 *
 *   probe NAME: refused (why)     the host said no
 *   probe NAME: ALLOWED (what)    the host let it happen
 *
 * then "probe done N" (N attempts). The test reads them from hvd.
 *
 * Command line (start_info): "all hvd=PID xenstored=PID consoled=PID
 * rundir=DIR" runs every attempt against those dom0 processes and paths;
 * "alloc MIB" touches MIB MiB in the kernel's own process (the domain must
 * die of it); "hold" only powers on and waits, for the tests that look at
 * the guest from the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv_elfnote.h"
#include "libhv.h"

HV_GUEST_ELFNOTE();

#define PROBE_FORKS	300
#define PROBE_ALLOC_MIB	512

static struct hv *probe_hv;
static unsigned probe_count;

struct probe_target {
	pid_t hvd, xenstored, consoled;
	char rundir[256];
};

/* One result line on the hypervisor console. */
static void
probe_report(const char *name, int refused, const char *fmt, ...)
{
	char line[256], why[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line), "probe %s: %s (%s)\n", name,
	    refused ? "refused" : "ALLOWED", why);
	hv_guest_console_write(probe_hv, line, (size_t)n);
	probe_count++;
}

/* A call that must fail: refused with its errno, ALLOWED if it worked. */
static void
probe_call(const char *name, long rc)
{
	if (rc < 0)
		probe_report(name, 1, "%s", strerror(errno));
	else
		probe_report(name, 0, "returned %ld", rc);
}

static void
probe_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uid_t r, e, s;
	int bounding = 0;

	getresuid(&r, &e, &s);
	probe_report("uid", r && e && s, "uid %u euid %u suid %u", r, e, s);
	memset(data, 0, sizeof(data));
	syscall(SYS_capget, &hdr, data);
	for (int c = 0; c <= 63; c++)
		bounding += prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
	probe_report("capabilities", !(data[0].effective | data[1].effective |
	    data[0].permitted | data[1].permitted) && bounding == 0,
	    "effective %08x%08x bounding %d", data[1].effective, data[0].effective, bounding);
	probe_report("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "flag %d",
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	probe_call("setuid 0", setuid(0));
	probe_call("unshare user namespace", unshare(CLONE_NEWUSER));
	probe_call("clone new user namespace",
	    syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0));
}

/* The dom0 daemons, by their host pids: a confined guest cannot even name them. */
static void
probe_processes(const struct probe_target *t)
{
	const struct { const char *name; pid_t pid; } d[] = {
		{ "hvd", t->hvd }, { "xenstored", t->xenstored }, { "consoled", t->consoled },
	};
	char name[64];

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		snprintf(name, sizeof(name), "kill %s", d[i].name);
		probe_call(name, kill(d[i].pid, SIGKILL));
		snprintf(name, sizeof(name), "ptrace %s", d[i].name);
		probe_call(name, ptrace(PTRACE_ATTACH, d[i].pid, NULL, NULL));
	}
	/* pid 1 is this kernel itself: the host's init has no name here */
	probe_report("see host init", getpid() == 1, "getpid() = %d", (int)getpid());
	probe_call("ptrace init", ptrace(PTRACE_ATTACH, 1, NULL, NULL));
	/* -1 from init reaches every process of its own namespace, and none is here */
	probe_call("kill -1", kill(-1, SIGKILL));
}

/* /proc is absent, or (sanitizer and uml profiles) shows only the domain's own pid namespace. */
static void
probe_host_proc(const struct probe_target *t)
{
	char self[16] = "", path[64];
	ssize_t n;

	if (access("/proc", F_OK) < 0) {
		probe_call("host /proc", open("/proc/1/status", O_RDONLY));
		return;
	}
	n = readlink("/proc/self", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)t->hvd);
	int hvd_seen = access(path, F_OK) == 0;
	probe_report("host /proc", strcmp(self, "1") == 0 && !hvd_seen,
	    "/proc/self is %s, hvd %s", self, hvd_seen ? "visible" : "absent");
}

static void
probe_files(const struct probe_target *t)
{
	char path[300];

	probe_call("mknod block device", mknod("/sda", S_IFBLK | 0600, makedev(8, 0)));
	probe_call("mknod in /dev", mknod("/dev/sda", S_IFBLK | 0600, makedev(8, 0)));
	probe_call("mount tmpfs", mount("none", "/", "tmpfs", 0, NULL));
	probe_call("mount proc", mount("proc", "/dev", "proc", 0, NULL));
	probe_call("umount /dev/null", umount2("/dev/null", MNT_DETACH));
	probe_call("write root", open("/persist", O_WRONLY | O_CREAT, 0644));
	probe_call("mkdir in root", mkdir("/tmp", 0755));
	probe_call("write /dev", open("/dev/persist", O_WRONLY | O_CREAT, 0644));
	probe_call("chroot", chroot("/dev"));
	probe_call("double-chroot escape", open("/../../../../etc/passwd", O_RDONLY));
	probe_call("host /etc/passwd", open("/etc/passwd", O_RDONLY));
	probe_host_proc(t);
	probe_call("host /sys", open("/sys/kernel/uevent_helper", O_RDONLY));
	probe_call("host /dev/mem", open("/dev/mem", O_RDONLY));
	snprintf(path, sizeof(path), "%s/hvd.sock", t->rundir);
	probe_call("hvd.sock by path", open(path, O_RDONLY));
	/* what a previous domain could have left: the root holds only dev */
	probe_call("left by a previous domain", open("/persist", O_RDONLY));
}

/* Connects a unix socket to path; -1 when any step is refused. */
static long
probe_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	long rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc;
}

static void
probe_network(const struct probe_target *t)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/hvd.sock", t->rundir);
	probe_call("connect hvd.sock", probe_connect(path));
	snprintf(path, sizeof(path), "%s/xenstored/socket", t->rundir);
	probe_call("connect xenstored socket", probe_connect(path));
	probe_call("abstract unix socket", socket(AF_UNIX, SOCK_SEQPACKET, 0));
	probe_call("inet socket", socket(AF_INET, SOCK_STREAM, 0));
	probe_call("netlink socket", socket(AF_NETLINK, SOCK_RAW, 0));
}

/* Descriptors the kernel found open at start beyond stdio and its channel (3). */
static int
probe_inherited(int *last)
{
	struct stat st;
	int n = 0;

	*last = -1;
	for (int fd = 4; fd < 4096; fd++)
		if (fstat(fd, &st) == 0) {
			n++;
			*last = fd;
		}
	return n;
}

static void
probe_fds(int inherited, int last)
{
	struct stat st;

	probe_report("inherited descriptors", inherited == 0, "%d beyond 0-3 (last %d)",
	    inherited, last);
	/* stdin, stdout and stderr lead nowhere on the host (sanitizer builds keep
	 * hvd's stderr for their reports, and say so in docs/hv.md) */
#ifdef __SANITIZE_ADDRESS__
	for (int fd = 0; fd < 2; fd++) {
#else
	for (int fd = 0; fd < 3; fd++) {
#endif
		char name[32];
		int ok = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
		snprintf(name, sizeof(name), "fd %d is /dev/null", fd);
		probe_report(name, ok, "mode %o rdev %u:%u", st.st_mode, major(st.st_rdev),
		    minor(st.st_rdev));
	}
}

static void
probe_system(void)
{
	probe_call("sethostname", sethostname("evil", 4));
	probe_call("reboot", reboot(RB_DISABLE_CAD));
	probe_call("bpf", syscall(SYS_bpf, 0, NULL, 0));
	probe_call("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	probe_call("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	probe_call("init_module", syscall(SYS_init_module, NULL, 0, ""));
	probe_call("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
	probe_call("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
}

/* Touches mib MiB page by page; returns how many were touched (the kernel may kill us first). */
static size_t
probe_touch(size_t mib)
{
	size_t len = mib << 20, done = 0;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 0;
	for (; done < len; done += 4096)
		p[done] = 1;
	return done >> 20;
}

/* A child touches 512 MiB: the domain's memory limit must kill it. */
static void
probe_memory(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(probe_touch(PROBE_ALLOC_MIB) == PROBE_ALLOC_MIB ? 0 : 1);
	if (pid < 0) {
		probe_report("allocate 512 MiB", 1, "fork: %s", strerror(errno));
		return;
	}
	waitpid(pid, &status, 0);
	probe_report("allocate 512 MiB", !(WIFEXITED(status) && WEXITSTATUS(status) == 0),
	    WIFSIGNALED(status) ? "killed by signal %d" : "exit %d",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* Forks until refused, up to PROBE_FORKS; every child is killed and reaped after. */
static void
probe_fork_bomb(void)
{
	int n = 0, err = 0;

	for (; n < PROBE_FORKS; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (;;)
				pause();
		}
		if (pid < 0) {
			err = errno;
			break;
		}
	}
	/* as init of our pid namespace, -1 reaches exactly our own children */
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	probe_report("fork bomb", n < PROBE_FORKS, "%d processes, then %s", n,
	    err ? strerror(err) : "none refused");
}

static void
probe_parse(const char *cmd, struct probe_target *t)
{
	const char *p;

	memset(t, 0, sizeof(*t));
	if ((p = strstr(cmd, "hvd=")))
		t->hvd = atoi(p + 4);
	if ((p = strstr(cmd, "xenstored=")))
		t->xenstored = atoi(p + 10);
	if ((p = strstr(cmd, "consoled=")))
		t->consoled = atoi(p + 9);
	if ((p = strstr(cmd, "rundir=")))
		sscanf(p + 7, "%255s", t->rundir);
}

int
main(void)
{
	const struct hv_guest_info *gi;
	struct probe_target t;
	char cmd[1024], done[64];
	int last, inherited = probe_inherited(&last);	/* before the runtime opens any */

	probe_hv = hv_open_guest();
	if (probe_hv == NULL)
		return 1;
	gi = hv_guest_info(probe_hv);
	snprintf(cmd, sizeof(cmd), "%s", (const char *)gi->start_info->cmd_line);
	if (strncmp(cmd, "alloc ", 6) == 0) {
		size_t mib = probe_touch((size_t)atoi(cmd + 6));
		snprintf(done, sizeof(done), "probe alloc survived %zu MiB\n", mib);
		hv_guest_console_write(probe_hv, done, strlen(done));
		hv_guest_shutdown(probe_hv, SHUTDOWN_poweroff);
		return 0;
	}
	if (strncmp(cmd, "all", 3) == 0) {
		probe_parse(cmd, &t);
		probe_fds(inherited, last);
		probe_privileges();
		probe_processes(&t);
		probe_files(&t);
		probe_network(&t);
		probe_system();
		probe_memory();
		probe_fork_bomb();
		snprintf(done, sizeof(done), "probe done %u\n", probe_count);
		hv_guest_console_write(probe_hv, done, strlen(done));
	}
	for (;;)
		pause();
}
