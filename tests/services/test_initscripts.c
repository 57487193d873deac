/*
 * The stack as an administrator runs it: /etc/init.d/xencommons starts the
 * daemons, /etc/init.d/xendomains creates the domains linked in
 * /etc/xen/auto and shuts them all down, destroying the one that ignores the
 * request after XENDOMAINS_STOP_MAXWAIT and saying so. Everything in a
 * private RUNDIR, /etc/xen and /etc/default (svctest.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(initscripts, .init = setup, .fini = teardown, .timeout = 120);

/* /etc/init.d/<name> <action> as built, its output in *out; the exit status. */
static int
initd(char **out, const char *name, const char *action)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "services/init.d-%s", name);
	int rc = svc_run(out, "sh %s %s", svc_build(rel), action);
	fprintf(stderr, "--- %s %s: %d\n%s", name, action, rc, out ? *out : "");
	return rc;
}

/* The domid of a running domain, or -1. */
static int
domid(const char *name)
{
	char *out;
	int id = -1;

	if (svc_run(&out, "\"$PVSTACK_BINDIR/xl\" domid %s", name) == 0)
		id = atoi(out);
	free(out);
	return id;
}

/* Writes the test's /etc/default/xendomains. */
static void
xendomains_defaults(int maxwait)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/xendomains", sv.sv_defaults);
	svc_write(path, "XENDOMAINS_AUTO=%s/auto\nXENDOMAINS_STOP_MAXWAIT=%d\n", sv.sv_conf, maxwait);
}

Test(initscripts, two_auto_domains_up_and_down)
{
	char *out;

	svc_auto_domain(&sv, "alpha", NULL);
	svc_auto_domain(&sv, "beta", NULL);
	xendomains_defaults(60);
	cr_assert_eq(initd(&out, "xencommons", "start"), 0);
	cr_assert_not_null(strstr(out, "hvd: started"));
	free(out);
	cr_assert_eq(initd(&out, "xencommons", "status"), 0);
	free(out);

	cr_assert_eq(initd(&out, "xendomains", "start"), 0);
	char *a = strstr(out, "alpha: started"), *b = strstr(out, "beta: started");
	cr_assert(a && b && a < b, "both started, in name order:\n%s", out);
	free(out);
	cr_assert_eq(svc_nr_guests(), 2);
	cr_assert_geq(domid("alpha"), 1);
	cr_assert_geq(domid("beta"), 1);

	/* a second start leaves them alone */
	cr_assert_eq(initd(&out, "xendomains", "start"), 0);
	cr_assert_not_null(strstr(out, "alpha: already running"), "%s", out);
	free(out);
	cr_assert_eq(svc_nr_guests(), 2);

	cr_assert_eq(initd(&out, "xendomains", "status"), 0);
	cr_assert_not_null(strstr(out, "alpha: running (id"), "%s", out);
	cr_assert_not_null(strstr(out, "beta: running (id"), "%s", out);
	free(out);

	cr_assert_eq(initd(&out, "xendomains", "stop"), 0);
	cr_assert_not_null(strstr(out, "Shutting down 2 domain(s)"), "%s", out);
	cr_assert_not_null(strstr(out, "alpha (id"), "%s", out);
	cr_assert(strstr(out, "alpha (id") && strstr(strstr(out, "alpha (id"), "): shut down after"),
	    "alpha shut down within the wait:\n%s", out);
	cr_assert(strstr(out, "beta (id") && strstr(strstr(out, "beta (id"), "): shut down after"),
	    "beta shut down within the wait:\n%s", out);
	cr_assert_null(strstr(out, "destroy"), "nothing destroyed:\n%s", out);
	free(out);
	cr_assert_eq(svc_nr_guests(), 0);

	cr_assert_eq(initd(&out, "xendomains", "status"), 3, "auto domains down: status 3");
	cr_assert_not_null(strstr(out, "alpha: not running"), "%s", out);
	free(out);

	cr_assert_eq(initd(&out, "xencommons", "stop"), 0);
	free(out);
	cr_assert_eq(initd(&out, "xencommons", "status"), 3);
	free(out);
}

Test(initscripts, guest_ignoring_shutdown_is_destroyed_after_the_wait)
{
	char *out;

	svc_auto_domain(&sv, "good", NULL);
	svc_auto_domain(&sv, "hung", "cmdline = \"pvguest.ignore_shutdown\"");
	xendomains_defaults(3);
	cr_assert_eq(initd(&out, "xencommons", "start"), 0);
	free(out);
	cr_assert_eq(initd(&out, "xendomains", "start"), 0);
	free(out);
	cr_assert_eq(svc_nr_guests(), 2);
	int hung = domid("hung"), good = domid("good");
	cr_assert_geq(hung, 1);
	cr_assert_geq(good, 1);

	long long t0 = svc_now_ms();
	cr_assert_eq(initd(&out, "xendomains", "stop"), 0);
	long long ms = svc_now_ms() - t0;
	char want[96];
	snprintf(want, sizeof(want), "hung (id %d): still running after 3s", hung);
	cr_assert_not_null(strstr(out, want), "the hung guest named:\n%s", out);
	snprintf(want, sizeof(want), "hung (id %d): destroyed", hung);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not_null(strstr(out, "good (id"), "%s", out);
	cr_assert(strstr(strstr(out, "good (id"), "): shut down after"), "%s", out);
	snprintf(want, sizeof(want), "good (id %d): destroyed", good);
	cr_assert_null(strstr(out, want), "the good guest was not destroyed:\n%s", out);
	free(out);
	cr_assert_eq(svc_nr_guests(), 0, "nothing left running");
	fprintf(stderr, "figure: xendomains stop with a hung guest and MAXWAIT=3 took %lld ms\n", ms);
}

Test(initscripts, broken_config_reported_others_started)
{
	char *out, path[160];

	svc_auto_domain(&sv, "ok", NULL);
	snprintf(path, sizeof(path), "%s/auto/broken.cfg", sv.sv_conf);
	svc_write(path, "name = \"broken\"\nmemory = \"lots\"\n");
	snprintf(path, sizeof(path), "%s/auto/ok.cfg~", sv.sv_conf);
	svc_write(path, "name = \"backup\"\nkernel = \"/nonexistent\"\n");
	xendomains_defaults(30);
	cr_assert_eq(initd(&out, "xencommons", "start"), 0);
	free(out);
	cr_assert_neq(initd(&out, "xendomains", "start"), 0, "a config failed: non-zero");
	cr_assert_not_null(strstr(out, "broken.cfg: not started, the config does not parse"), "%s", out);
	cr_assert_not_null(strstr(out, "memory"), "the bad key is named:\n%s", out);
	cr_assert_not_null(strstr(out, "ok: started"), "%s", out);
	cr_assert_null(strstr(out, "backup"), "editor leftovers are skipped:\n%s", out);
	free(out);
	cr_assert_eq(svc_nr_guests(), 1);
}

Test(initscripts, stop_and_status_without_the_daemons)
{
	char *out;

	xendomains_defaults(30);
	cr_assert_eq(initd(&out, "xendomains", "stop"), 0, "nothing to stop is not an error");
	cr_assert_not_null(strstr(out, "no domains to stop"), "%s", out);
	free(out);
	cr_assert_eq(initd(&out, "xendomains", "status"), 3);
	free(out);
	cr_assert_neq(initd(&out, "xendomains", "start"), 0);
	cr_assert_not_null(strstr(out, "xencommons start"), "says what to do:\n%s", out);
	free(out);
	cr_assert_eq(initd(&out, "xencommons", "status"), 3);
	free(out);
	cr_assert_eq(initd(&out, "xendomains", "bogus"), 2);
	cr_assert_not_null(strstr(out, "usage"));
	free(out);
}

/* The LSB headers update-rc.d and insserv read: what the notes' `update-rc.d xendomains defaults 40 10` needs. */
Test(initscripts, lsb_headers)
{
	char *out;
	const char *names[] = { "xencommons", "xendomains" };

	for (int i = 0; i < 2; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "services/init.d-%s", names[i]);
		cr_assert_eq(svc_run(&out, "sed -n '/^### BEGIN INIT INFO/,/^### END INIT INFO/p' %s", svc_build(rel)), 0);
		char want[64];
		snprintf(want, sizeof(want), "# Provides:          %s\n", names[i]);
		cr_assert_not_null(strstr(out, want), "%s", out);
		cr_assert_not_null(strstr(out, "# Default-Start:     2 3 4 5\n"), "%s", out);
		cr_assert_not_null(strstr(out, "# Default-Stop:      0 1 6\n"), "%s", out);
		cr_assert_not_null(strstr(out, "### END INIT INFO"), "%s", out);
		if (i == 1)
			cr_assert_not_null(strstr(out, "Required-Stop:     $local_fs $remote_fs $syslog $network xencommons"),
			    "xendomains stops before xencommons:\n%s", out);
		free(out);
		cr_assert_eq(svc_run(&out, "sh -n %s", svc_build(rel)), 0, "%s", out);
		free(out);
	}
}
