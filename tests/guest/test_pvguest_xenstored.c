/*
 * pvguest against the real stack: a private hvd and xenstored, the domain's
 * home written with libxl's permissions, INTRODUCE, then the guest's shell
 * reads and writes its own subtree over the ring and is refused elsewhere
 * (issue 3's guest-side test), and control/shutdown from dom0 powers it off.
 * A second suite adds consoled: the shell is reached through the pty it serves.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gt_harness.h"
#include "shell.h"
#include "xs.h"

#define BOOT_MS 10000

static struct gt t;
static pid_t xsd_pid = -1;
static struct xs *xs;

/* xenstored in the foreground in hvd's rundir; waits for its socket. */
static void
start_xenstored(void)
{
	unsetenv("XENSTORED_PATH");
	xsd_pid = fork();
	cr_assert_geq(xsd_pid, 0);
	if (xsd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* a crashed test leaves no daemon */
		execl(GT_XENSTORED, "xenstored", "-N", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 2500 && (xs = xs_open(NULL)) == NULL; i++)
		usleep(2000);
	cr_assert_not_null(xs, "cannot connect to xenstored: %s", strerror(errno));
}

/* Writes path = value with perms, as libxl's mknod does. */
static void
put(const char *path, const char *value, const struct xs_perm *perms, unsigned n)
{
	cr_assert_eq(xs_write(xs, XS_TX_NONE, path, value, strlen(value)), 0, "%s: %s", path,
	    strerror(errno));
	cr_assert_eq(xs_set_perms(xs, XS_TX_NONE, path, perms, n), 0, "%s perms: %s", path,
	    strerror(errno));
}

/* The layout libxl__domain_make and libxl__build_post write, then INTRODUCE. */
static void
make_domain_home(void)
{
	struct xs_perm ro[] = { { 0, XS_PERM_NONE }, { t.domid, XS_PERM_READ } };
	struct xs_perm rw[] = { { t.domid, XS_PERM_NONE } };
	char home[64], p[128], v[64];

	snprintf(home, sizeof(home), "/local/domain/%u", t.domid);
	put(home, "", ro, 2);
#define AT(rel) (snprintf(p, sizeof(p), "%s/%s", home, rel), p)
	snprintf(v, sizeof(v), "gx%u", t.domid);
	put(AT("name"), v, ro, 2);
	snprintf(v, sizeof(v), "%u", t.domid);
	put(AT("domid"), v, ro, 2);
	put(AT("control"), "", ro, 2);
	put(AT("control/shutdown"), "", rw, 1);
	put(AT("control/feature-poweroff"), "", rw, 1);
	put(AT("control/feature-reboot"), "", rw, 1);
	put(AT("data"), "", rw, 1);
	snprintf(v, sizeof(v), "%u", t.store_port);
	put(AT("store/port"), v, ro, 2);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)t.store_mfn);
	put(AT("store/ring-ref"), v, ro, 2);
	snprintf(v, sizeof(v), "%u", t.console_port);
	put(AT("console/port"), v, ro, 2);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)t.console_mfn);
	put(AT("console/ring-ref"), v, ro, 2);
	put(AT("console/type"), "xenconsoled", ro, 2);
	put(AT("console/output"), "pty", ro, 2);
#undef AT
	cr_assert_eq(xs_introduce_domain(xs, t.domid, t.store_mfn, t.store_port), 0,
	    "introduce: %s", strerror(errno));
}

static pid_t cd_pid = -1;

/* consoled in the foreground in the same rundir. */
static void
start_consoled(void)
{
	cd_pid = fork();
	cr_assert_geq(cd_pid, 0);
	if (cd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(GT_CONSOLED, "consoled", "-F", (char *)NULL);
		_exit(127);
	}
}

static void
setup(void)
{
	gt_start(&t, false);
	start_xenstored();
	make_domain_home();
	gt_unpause(&t);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, BOOT_MS), "no prompt; output:\n%s", t.out);
}

static void
teardown(void)
{
	int status;

	xs_close(xs);
	hv_domain_destroy(t.hvt.hv, t.domid);
	if (cd_pid > 0) {
		kill(cd_pid, SIGTERM);
		waitpid(cd_pid, &status, 0);
		cd_pid = -1;
	}
	if (xsd_pid > 0) {
		kill(xsd_pid, SIGTERM);
		waitpid(xsd_pid, &status, 0);
	}
	gt_stop(&t);
}

TestSuite(pvguest_xenstored, .init = setup, .fini = teardown, .timeout = 60);

static const char *
run(const char *line)
{
	size_t from = t.outlen;

	gt_type(&t, line);
	gt_type(&t, "\r");
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, from + strlen(line), 5000),
	    "no prompt after %s; output:\n%s", line, t.out + from);
	return t.out + from;
}

/* dom0's view of a node, "" when absent. */
static char *
dom0_read(const char *fmt, unsigned domid)
{
	char path[128];

	snprintf(path, sizeof(path), fmt, domid);
	char *v = xs_read(xs, XS_TX_NONE, path, NULL);
	return v != NULL ? v : strdup("");
}

Test(pvguest_xenstored, boots_with_its_name_and_features)
{
	char banner[64];

	snprintf(banner, sizeof(banner), "pvstack guest %u (gx%u) booting", t.domid, t.domid);
	cr_assert_not_null(strstr(t.out, banner), "%s", t.out);
	char *v = dom0_read("/local/domain/%u/control/feature-poweroff", t.domid);
	cr_assert_str_eq(v, "1");
	free(v);
	v = dom0_read("/local/domain/%u/control/feature-reboot", t.domid);
	cr_assert_str_eq(v, "1");
	free(v);
}

Test(pvguest_xenstored, own_subtree_read_write_and_refused_elsewhere)
{
	cr_assert_not_null(strstr(run("xs write data/answer 42"), "\r\nok\r\n"));
	char *v = dom0_read("/local/domain/%u/data/answer", t.domid);
	cr_assert_str_eq(v, "42", "dom0 sees the guest's write");
	free(v);
	cr_assert_not_null(strstr(run("xs read data/answer"), "\r\n42\r\n"));
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "xs read /local/domain/%u/name", t.domid);
	char name[32];
	snprintf(name, sizeof(name), "\r\ngx%u\r\n", t.domid);
	cr_assert_not_null(strstr(run(cmd), name));
	const char *ls = run("xs ls");
	cr_assert_not_null(strstr(ls, "\r\ndata\r\n"), "%s", ls);
	cr_assert_not_null(strstr(ls, "\r\ncontrol\r\n"), "%s", ls);
	const char *tree = run("xs tree");
	snprintf(name, sizeof(name), "\r\nname = \"gx%u\"\r\n", t.domid);
	cr_assert_not_null(strstr(tree, name), "%s", tree);
	cr_assert_not_null(strstr(tree, "\r\ndata = \"\"\r\n answer = \"42\"\r\n"), "%s", tree);

	const char *out = run("xs write /local/domain/0/x 1");
	cr_assert_not_null(strstr(out, "EACCES"), "%s", out);
	errno = 0;
	cr_assert_null(xs_read(xs, XS_TX_NONE, "/local/domain/0/x", NULL));
	cr_assert_eq(errno, ENOENT);
	out = run("xs write name evil");
	cr_assert_not_null(strstr(out, "EACCES"), "name is read-only: %s", out);
	out = run("xs read /local/domain/0/name");
	cr_assert(strstr(out, "EACCES") || strstr(out, "ENOENT"), "%s", out);
}

Test(pvguest_xenstored, control_shutdown_poweroff)
{
	char path[64];
	struct hv_dominfo info;

	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", t.domid);
	cr_assert_eq(xs_write(xs, XS_TX_NONE, path, "poweroff", 8), 0);
	cr_assert(gt_wait_shutdown(&t, 5000, &info), "no shutdown; output:\n%s", t.out);
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_poweroff);
	char *v = dom0_read("/local/domain/%u/control/shutdown", t.domid);
	cr_assert_str_eq(v, "", "the guest cleared the request");
	free(v);
}

/* Guest reads over the ring against dom0 reads over the socket, same store. */
Test(pvguest_xenstored, xs_bench_round_trips)
{
	const char *out = run("xs bench 500");
	long long ms, us;

	const char *at = strstr(out, "xs bench: 500 reads in ");
	cr_assert_not_null(at, "%s", out);
	cr_assert_eq(sscanf(at, "xs bench: 500 reads in %lld ms, %lld us/read", &ms, &us), 2);
	char path[64];
	snprintf(path, sizeof(path), "/local/domain/%u/name", t.domid);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 500; i++)
		free(xs_read(xs, XS_TX_NONE, path, NULL));
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long dom0_ns = ((b.tv_sec - a.tv_sec) * 1000000000LL + b.tv_nsec - a.tv_nsec) / 500;
	cr_log_info("xenstore read: guest ring %lld us, dom0 socket %lld.%03lld us (ratio %.2f)",
	    us, dom0_ns / 1000, dom0_ns % 1000, dom0_ns ? us * 1000.0 / dom0_ns : 0.0);
}

#ifdef GT_CONSOLED
static void
setup_consoled(void)
{
	gt_start_kernel(&t, GT_NO_CONSOLE, GT_PVGUEST, "");
	start_xenstored();
	start_consoled();
	make_domain_home();
	gt_unpause(&t);
}

TestSuite(pvguest_consoled, .init = setup_consoled, .fini = teardown, .timeout = 60);

/* Reads the pty until needle arrived after from, or ms passed. */
static bool
pty_wait(int fd, char *buf, size_t cap, size_t *len, size_t from, const char *needle, int ms)
{
	for (int waited = 0; waited < ms; waited += 20) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 20) > 0) {
			ssize_t n = read(fd, buf + *len, cap - 1 - *len);
			if (n > 0) {
				*len += n;
				buf[*len] = '\0';
			}
		}
		if (strstr(buf + from, needle) != NULL)
			return true;
	}
	return false;
}

Test(pvguest_consoled, shell_through_the_pty)
{
	char path[64], *tty = NULL, buf[8192] = "";
	size_t len = 0;

	snprintf(path, sizeof(path), "/local/domain/%u/console/tty", t.domid);
	for (int i = 0; i < 250; i++) {
		free(tty);
		tty = xs_read(xs, XS_TX_NONE, path, NULL);
		if (tty != NULL && tty[0] != '\0')
			break;
		usleep(20000);
	}
	cr_assert(tty != NULL && tty[0] == '/', "consoled published no tty");
	int fd = open(tty, O_RDWR | O_NOCTTY);
	cr_assert_geq(fd, 0, "%s: %s", tty, strerror(errno));
	free(tty);
	cr_assert(pty_wait(fd, buf, sizeof(buf), &len, 0, SHELL_PROMPT, 5000), "%s", buf);
	char banner[64];
	snprintf(banner, sizeof(banner), "pvstack guest %u (gx%u) booting\r\n", t.domid, t.domid);
	cr_assert_not_null(strstr(buf, banner), "%s", buf);
	size_t from = len;
	cr_assert_eq(write(fd, "echo via consoled\r", 18), 18);
	cr_assert(pty_wait(fd, buf, sizeof(buf), &len, from, "\r\nvia consoled\r\n" SHELL_PROMPT,
	    5000), "%s", buf + from);
	cr_assert_eq(write(fd, "poweroff\r", 9), 9);
	struct hv_dominfo info;
	cr_assert(gt_wait_shutdown(&t, 5000, &info));
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_poweroff);
	close(fd);
}
#endif

/* A reply three times the ring's size: the guest must tell xenstored it made room. */
Test(pvguest_xenstored, reply_larger_than_the_ring)
{
	static char big[3501];
	char path[64];

	for (int i = 0; i < 3500; i++)
		big[i] = 'A' + i % 26;
	snprintf(path, sizeof(path), "/local/domain/%u/data/big", t.domid);
	cr_assert_eq(xs_write(xs, XS_TX_NONE, path, big, 3500), 0);
	const char *out = run("xs read data/big");
	cr_assert_not_null(strstr(out, big), "the whole value came back");
}
