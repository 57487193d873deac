/*
 * The UML process: its command line built from the domain (mem= from the
 * domain's memory, a virtio-blk device per disk and the initramfs that
 * mounts root from it, the console on fd 0/1, the Xen disk names of root=
 * mapped to UML's), its start, and its end turned into the
 * domain's shutdown reason. A clean shutdown asked by the toolstack goes to
 * the kernel as Ctrl-Alt-Del through UML's management console, so the
 * guest's init runs its shutdown.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"
#include "vhost_user.h"
#include "xmalloc.h"

#define SHIM_UML_UMID		"pvstack"
#define SHIM_UML_ARGS_MAX	96
#define SHIM_MCONSOLE_MAGIC	0xcafebabeu	/* arch/um/drivers/mconsole.h */
#define SHIM_MCONSOLE_VERSION	2

struct shim_uml_argv {
	char *a[SHIM_UML_ARGS_MAX + 1];
	unsigned n;
};

/* One argument of UML's, printf-style (arg: the shim_uml_argv). */
static void __attribute__((format(printf, 2, 3)))
shim_uml_add(void *arg, const char *fmt, ...)
{
	struct shim_uml_argv *v = arg;
	va_list ap;

	if (v->n >= SHIM_UML_ARGS_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v->a[v->n], fmt, ap) >= 0)
		v->n++;
	va_end(ap);
}

/* The guest's own words: root= by Xen disk name becomes UML's name of that
 * disk, and pvroot=, which the initramfs's /init mounts (the kernel hands it
 * to init, and root= is not its to mount then). */
static void
shim_uml_cmdline(struct shim *s, struct shim_uml_argv *v, const char *cmdline, bool *console)
{
	char *copy = xstrdup(cmdline), *save = NULL;

	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		const char *dev;
		if (strncmp(t, "pvshim.", 7) == 0)
			continue;
		if (strncmp(t, "console=", 8) == 0)
			*console = true;
		if (strncmp(t, "root=", 5) == 0 && (dev = shim_disks_ubd(s, t + 5)) != NULL) {
			shim_uml_add(v, "root=/dev/%s", dev);
			shim_uml_add(v, "pvroot=/dev/%s", dev);
		} else
			shim_uml_add(v, "%s", t);
	}
	free(copy);
}

static void
shim_uml_argv(struct shim *s, struct shim_uml_argv *v, const char *payload, const char *cmdline,
    const char *initrd)
{
	bool console = false;
	char sock[64];

	shim_uml_add(v, "%s", payload);
	shim_uml_add(v, "mem=%lluK", (unsigned long long)s->s_g->g_start.nr_pages * 4);
	/* virtio_uml numbers its devices in this order, so they are vda, vdb, ... */
	for (unsigned i = 0; i < s->s_ndisks; i++) {
		shim_vblk_path(s, i, sock, sizeof(sock));
		shim_uml_add(v, "virtio_uml.device=%s:%d", sock, VIRTIO_ID_BLOCK);
	}
	shim_uml_add(v, "initrd=%s", initrd);
	shim_net_args(shim_uml_add, v);
	shim_uml_add(v, "con=null");
	shim_uml_add(v, "ssl=null");
	shim_uml_add(v, "ssl0=fd:0,fd:1");
	shim_uml_add(v, "uml_dir=" SHIM_UML_DIR);
	shim_uml_add(v, "umid=" SHIM_UML_UMID);
	shim_uml_cmdline(s, v, cmdline, &console);
	if (!console)
		shim_uml_add(v, "console=ttyS0");
}

/* The domain's reason: what the toolstack asked for if the kernel obeyed, else what it did. */
static unsigned
shim_uml_reason(const struct shim *s, int status)
{
	unsigned did = s->s_seen;

	if (did == ~0u)
		did = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? SHUTDOWN_poweroff :
		    SHUTDOWN_crash;
	if (did != SHUTDOWN_crash && s->s_requested != ~0u)
		return s->s_requested;
	return did;
}

/* UML's pidfd is readable: it is gone. Its helpers die with it; reap them all. */
static void
shim_uml_exited(int fd, short revents, void *arg)
{
	struct shim *s = arg;
	int status = 0;
	pid_t p;

	(void)revents;
	events_unwatch_fd(s->s_g->g_ev, fd);
	while ((p = waitpid(-1, &status, 0)) > 0)
		if (p == s->s_uml)
			break;
	s->s_uml = 0;
	unsigned reason = shim_uml_reason(s, status);
	console_printf(s->s_g->g_cons, "\numlshim: the kernel stopped (%s %d): %s\n",
	    WIFSIGNALED(status) ? "signal" : "exit",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
	    reason == SHUTDOWN_reboot ? "reboot" : reason == SHUTDOWN_poweroff ? "poweroff" :
	    "crash");
	guest_shutdown(s->s_g, reason);
}

static int shim_uml_cad(void);

/* Called each round: UML re-execs itself to reboot and may hang after a panic; end it.
 * A shutdown asked while UML was still starting is handed over once it can take it. */
void
shim_uml_check(struct shim *s)
{
	if (s->s_cad_pending && s->s_uml > 0 && shim_uml_cad() == 0)
		s->s_cad_pending = false;
	if (s->s_uml > 0 && (s->s_seen == SHUTDOWN_reboot || s->s_seen == SHUTDOWN_crash))
		kill(s->s_uml, SIGKILL);
}

int
shim_uml_start(struct shim *s, const char *payload, const char *cmdline, int consfd,
    const char *initrd)
{
	struct shim_uml_argv v = { .n = 0 };
	char *envp[] = { "TMPDIR=/tmp", "HOME=/tmp", "PATH=/usr/bin:/bin", NULL, NULL };
	const char *pre = strstr(cmdline, "pvshim.preload=");
	char *preload = NULL;
	pid_t pid;

	/* the XSAVE fix-up (uml_xstate.c), bound into our root by hvd next to the payload */
	if (pre) {
		pre += strlen("pvshim.preload=");
		xasprintf(&preload, "LD_PRELOAD=%.*s", (int)strcspn(pre, " "), pre);
		envp[3] = preload;
	}

	if (mkdir(SHIM_UML_DIR, 0700) < 0 && errno != EEXIST)
		return -1;
	shim_uml_argv(s, &v, payload, cmdline, initrd);
	s->s_requested = ~0u;
	pid = fork();
	if (pid == 0) {
		if (dup2(consfd, 0) < 0 || dup2(consfd, 1) < 0 || dup2(consfd, 2) < 0)
			_exit(126);
		syscall(SYS_close_range, 3, ~0u, 0);
		execve(payload, v.a, envp);
		_exit(127);
	}
	for (unsigned i = 0; i < v.n; i++)
		free(v.a[i]);
	free(preload);
	close(consfd);
	if (pid < 0)
		return -1;
	s->s_uml = pid;
	s->s_uml_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s->s_uml_pidfd < 0)
		return -1;
	return events_watch_fd(s->s_g->g_ev, s->s_uml_pidfd, POLLIN, shim_uml_exited, s);
}

/* Ctrl-Alt-Del on the management console: the guest's init shuts down. */
void
shim_uml_request(struct shim *s, unsigned reason)
{
	s->s_requested = reason;
	/* not up yet (the kernel is still booting): the main loop retries */
	if (shim_uml_cad() < 0)
		s->s_cad_pending = true;
}

/* Sends "cad" to UML's mconsole; -1 while its socket is not there yet. */
static int
shim_uml_cad(void)
{
	struct {
		uint32_t magic, version, len;
		char data[512];
	} req = { SHIM_MCONSOLE_MAGIC, SHIM_MCONSOLE_VERSION, 3, "cad" };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/mconsole", SHIM_UML_DIR, SHIM_UML_UMID);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -1 : 0;
	close(fd);
	return rc;
}
