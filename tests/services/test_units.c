/*
 * The systemd units: `systemd-analyze verify` passes on each (with the built
 * programs where the units name the installed ones, and the project's man
 * pages for Documentation=); the daemons are Type=notify and send READY=1
 * through sd_notify only once they serve; the restart policy is the one
 * docs/services.md argues for.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svctest.h"

static struct svc sv;

static void
setup(void)
{
	svc_setup(&sv);
}

static void
teardown(void)
{
	svc_teardown(&sv);
}

TestSuite(units, .init = setup, .fini = teardown, .timeout = 60);

/* A configured unit's text. */
static char *
unit_text(const char *name)
{
	char rel[64], *out;

	snprintf(rel, sizeof(rel), "services/%s.service", name);
	cr_assert_eq(svc_run(&out, "cat %s", svc_build(rel)), 0, "%s", rel);
	return out;
}

/* Verifies one unit, the installed paths pointing at the private bin dir. */
static void
verify(const char *name, const char *prog)
{
	char *out, dir[160];

	if (prog && access(svc_build(prog), X_OK) < 0)
		cr_skip_test("%s is not built", prog);
	snprintf(dir, sizeof(dir), "%s/units", sv.sv_dir);
	/* every unit, so the ones it names are found; the prefixes become the test's bin dir */
	cr_assert_eq(svc_run(&out, "mkdir -p %s && for u in %s/services/*.service; do "
	    "sed -e 's|%s/s\\?bin/|%s/|g' -e 's|%s/pvstack/xendomains|%s/xendomains|g' \"$u\" "
	    "> %s/${u##*/}; done", dir, SVC_BUILD_ROOT, SVC_PREFIX, sv.sv_bin,
	    SVC_LIBEXECDIR, sv.sv_bin, dir), 0, "%s", out);
	free(out);
	int rc = svc_run(&out, "MANPATH=%s SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=yes %s/%s.service",
	    svc_src("man"), dir, name);
	cr_assert_eq(rc, 0, "systemd-analyze verify %s.service:\n%s", name, out);
	cr_assert_eq(out[0], '\0', "verify printed warnings for %s.service:\n%s", name, out);
	free(out);
}

Test(units, verify_hvd) { verify("hvd", "hv/hvd"); }
Test(units, verify_xenstored) { verify("xenstored", "xenstored/xenstored"); }
Test(units, verify_consoled) { verify("consoled", "consoled/consoled"); }
Test(units, verify_blkback) { verify("blkback", "blkback/blkback"); }
Test(units, verify_netback) { verify("netback", "netback/netback"); }
Test(units, verify_xencommons) { verify("xencommons", NULL); }
Test(units, verify_xendomains) { verify("xendomains", NULL); }

/* Each daemon's type and restart policy, as docs/services.md argues. */
Test(units, policies)
{
	static const struct { const char *name, *restart; } want[] = {
		{ "hvd", "on-failure" }, { "xenstored", "on-failure" }, { "consoled", "on-failure" },
		{ "blkback", "on-failure" }, { "netback", "on-failure" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *t = unit_text(want[i].name), line[64];
		cr_assert_not_null(strstr(t, "\nType=notify\n"), "%s: Type=notify", want[i].name);
		snprintf(line, sizeof(line), "\nRestart=%s\n", want[i].restart);
		cr_assert_not_null(strstr(t, line), "%s: Restart=%s", want[i].name, want[i].restart);
		cr_assert_not_null(strstr(t, "PartOf=xencommons.service"), "%s", want[i].name);
		free(t);
	}
	char *t = unit_text("xendomains");
	cr_assert_not_null(strstr(t, "After=xencommons.service"));
	cr_assert_not_null(strstr(t, "ExecStop="));
	free(t);
}

/* A datagram socket standing in for systemd's NOTIFY_SOCKET. */
static int
notify_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s", path);
	return fd;
}

/* Starts a daemon in the foreground with NOTIFY_SOCKET; its pid. */
static pid_t
spawn(const char *sock, const char *prog, const char *const argv[])
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setenv("NOTIFY_SOCKET", sock, 1);
		execv(svc_build(prog), (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits for one notification; its text (empty on timeout). */
static void
notified(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	buf[0] = '\0';
	if (poll(&p, 1, ms) == 1) {
		ssize_t n = recv(fd, buf, len - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
	}
}

/* Ends a daemon started by spawn. */
static void
stop(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
}

Test(units, daemons_notify_ready_once_serving)
{
	char sock[160], msg[256], path[192];
	struct stat st;

	snprintf(sock, sizeof(sock), "%s/notify", sv.sv_dir);
	int fd = notify_socket(sock);

	const char *hv[] = { "hvd", "-f", NULL };
	pid_t h = spawn(sock, "hv/hvd", hv);
	notified(fd, msg, sizeof(msg), 10000);
	cr_assert_not_null(strstr(msg, "READY=1"), "hvd said \"%s\"", msg);
	snprintf(path, sizeof(path), "%s/hvd.sock", sv.sv_run);
	cr_assert_eq(stat(path, &st), 0, "hvd.sock exists when hvd says ready");

	const char *xs[] = { "xenstored", "-N", NULL };
	pid_t x = spawn(sock, "xenstored/xenstored", xs);
	notified(fd, msg, sizeof(msg), 10000);
	cr_assert_not_null(strstr(msg, "READY=1"), "xenstored said \"%s\"", msg);
	cr_assert_eq(svc_run(NULL, "%s/xenstore-read -s /", sv.sv_bin), 0,
	    "xenstored answers when it says ready");

	const char *cd[] = { "consoled", "-F", "--log=none", NULL };
	pid_t c = spawn(sock, "consoled/consoled", cd);
	notified(fd, msg, sizeof(msg), 10000);
	cr_assert_not_null(strstr(msg, "READY=1"), "consoled said \"%s\"", msg);

	pid_t b = -1;
	if (access(svc_build("blkback/blkback"), X_OK) == 0) {
		const char *bb[] = { "blkback", "-F", NULL };
		b = spawn(sock, "blkback/blkback", bb);
		notified(fd, msg, sizeof(msg), 10000);
		cr_assert_not_null(strstr(msg, "READY=1"), "blkback said \"%s\"", msg);
	}
	pid_t n = -1;
	if (access(svc_build("netback/netback"), X_OK) == 0) {
		const char *nb[] = { "netback", "-F", NULL };
		n = spawn(sock, "netback/netback", nb);
		notified(fd, msg, sizeof(msg), 10000);
		cr_assert_not_null(strstr(msg, "READY=1"), "netback said \"%s\"", msg);
	}
	/* one READY each: nothing more arrives */
	notified(fd, msg, sizeof(msg), 300);
	cr_assert_eq(msg[0], '\0', "an extra notification: \"%s\"", msg);

	if (n > 0)
		stop(n);
	if (b > 0)
		stop(b);
	stop(c);
	stop(x);
	stop(h);
	close(fd);
}

Test(units, no_notify_socket_no_harm)
{
	char *out;

	/* without NOTIFY_SOCKET (sysvinit, xencommons) the daemons start as before */
	unsetenv("NOTIFY_SOCKET");
	cr_assert_eq(svc_run(&out, "%s/xencommons start && %s/xencommons status", sv.sv_bin, sv.sv_bin), 0,
	    "%s", out);
	free(out);
}
