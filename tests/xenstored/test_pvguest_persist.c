/*
 * xenstored --state-dir with a real guest (pvguest booted by a private hvd):
 * the guest writes through its ring, xenstored is killed with SIGKILL and
 * started again, and the guest carries on: its next writes succeed (its
 * notifications reach the new daemon through the port hvd kept for it), and
 * the watch it set at boot on control/shutdown still fires.
 */
#include <criterion/criterion.h>
#include <errno.h>
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

static struct gt t;
static pid_t xsd_pid = -1;
static struct xs *xs;
static char state[64];

/* xenstored with the state directory; waits for its socket. */
static void
xsd_start(void)
{
	unsetenv("XENSTORED_PATH");
	xsd_pid = fork();
	cr_assert_geq(xsd_pid, 0);
	if (xsd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(XST_XENSTORED, "xenstored", "-N", "--state-dir", state, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 5000 && (xs = xs_open(NULL)) == NULL; i++)
		usleep(1000);
	cr_assert_not_null(xs, "cannot connect to xenstored: %s", strerror(errno));
}

/* Writes path = value with perms, as libxl does. */
static void
put(const char *path, const char *value, const struct xs_perm *perms, unsigned n)
{
	cr_assert_eq(xs_write(xs, XS_TX_NONE, path, value, strlen(value)), 0, "%s", path);
	cr_assert_eq(xs_set_perms(xs, XS_TX_NONE, path, perms, n), 0, "%s perms", path);
}

/* The part of libxl's layout pvguest reads, then INTRODUCE. */
static void
make_home(void)
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
#undef AT
	cr_assert_eq(xs_introduce_domain(xs, t.domid, t.store_mfn, t.store_port), 0,
	    "introduce: %s", strerror(errno));
}

static void
setup(void)
{
	strcpy(state, "/tmp/xst-gstate-XXXXXX");
	cr_assert_not_null(mkdtemp(state));
	gt_start(&t, false);
	xsd_start();
	make_home();
	gt_unpause(&t);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, 10000), "no prompt:\n%s", t.out);
}

static void
teardown(void)
{
	char cmd[100];

	if (xs)
		xs_close(xs);
	hv_domain_destroy(t.hvt.hv, t.domid);
	if (xsd_pid > 0) {
		kill(xsd_pid, SIGTERM);
		waitpid(xsd_pid, NULL, 0);
	}
	gt_stop(&t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", state);
}

TestSuite(pvguest_persist, .init = setup, .fini = teardown, .timeout = 60);

/* One shell command; its output. */
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

/* dom0's value of a guest node ("" when absent). */
static char *
dom0_read(const char *rel)
{
	char path[128], *v;

	snprintf(path, sizeof(path), "/local/domain/%u/%s", t.domid, rel);
	v = xs_read(xs, XS_TX_NONE, path, NULL);
	return v ? v : strdup("");
}

Test(pvguest_persist, guest_carries_on_after_kill9)
{
	struct hv_dominfo info;
	char *v;
	int i;

	cr_assert_not_null(strstr(run("xs write data/before 1"), "\r\nok\r\n"));
	xs_close(xs);
	xs = NULL;
	kill(xsd_pid, SIGKILL);
	waitpid(xsd_pid, NULL, 0);
	/* the guest writes while no xenstored runs: its request waits in the ring */
	gt_type(&t, "xs write data/during 2\r");
	usleep(200 * 1000);
	xsd_start();
	cr_assert(gt_wait_output(&t, "\r\nok\r\n", t.outlen > 200 ? t.outlen - 200 : 0, 5000),
	    "the write made while xenstored was down got no answer:\n%s", t.out);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, t.outlen - strlen(SHELL_PROMPT), 5000));
	v = dom0_read("data/during");
	cr_assert_str_eq(v, "2");
	free(v);
	v = dom0_read("data/before");
	cr_assert_str_eq(v, "1");
	free(v);
	for (i = 0; i < 5; i++)
		cr_assert_not_null(strstr(run("xs write data/after 3"), "\r\nok\r\n"));
	cr_assert_not_null(strstr(run("xs read data/during"), "\r\n2\r\n"));
	/* the watch pvguest set at boot on control/shutdown fires in the new daemon */
	{
		char path[64];

		snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", t.domid);
		cr_assert_eq(xs_write(xs, XS_TX_NONE, path, "poweroff", 8), 0);
	}
	cr_assert(gt_wait_shutdown(&t, 5000, &info), "no shutdown:\n%s", t.out);
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_poweroff);
}
