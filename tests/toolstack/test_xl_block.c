/*
 * xl block-attach, block-detach and block-list on a running pvguest in a
 * private stack. Without blkback the directories appear and disappear with
 * the right keys and permissions; with a fake backend (a child that plays the
 * backend's side: runs the vbd's script through hotplug.c, InitWait, and
 * Closed on request) the attach waits for it, a file gets a loop device from
 * the real hotplug/block that detach gives back, and a failing script is
 * reported by xl with its error, exit status and output, leaving nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "hotplug.h"
#include "loops.h"
#include "xltest.h"
#include "xs.h"
#include "xs_async.h"

#ifndef XLT_SCRIPTDIR
#error XLT_SCRIPTDIR names the source hotplug/ directory
#endif

static struct xlt T;
static pid_t fake = -1;

static void
setup(void)
{
	setenv("PVSTACK_SCRIPTDIR", XLT_SCRIPTDIR, 1);
	/* these tests play the block backend themselves */
	xlt_start_skip(&T, "blkback netback");
}

/* Stops the fake backend and takes its pid file away. */
static void
fake_stop(void)
{
	char p[128];

	if (fake > 0) {
		kill(fake, SIGTERM);
		waitpid(fake, NULL, 0);
		fake = -1;
	}
	snprintf(p, sizeof(p), "%s/blkback.pid", T.xt_dir);
	unlink(p);
}

static void
teardown(void)
{
	fake_stop();
	xlt_stop(&T);
}

TestSuite(xl_block, .init = setup, .fini = teardown, .timeout = 90);

static int
matches(const char *text, const char *re)
{
	regex_t r;
	int ok;

	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0, "%s", re);
	ok = regexec(&r, text, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static int
create(const char *name)
{
	xlt_create(&T, name, NULL);
	return xlt_domid(name);
}

/* A sparse 1 MiB image in the stack's dir. */
static char *
image(const char *name)
{
	char *path;
	FILE *f;

	cr_assert_geq(asprintf(&path, "%s/%s", T.xt_dir, name), 0);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(ftruncate(fileno(f), 1 << 20), 0);
	fclose(f);
	return path;
}

/* The perms of a node as "n5,r0". */
static char *
perms(const char *path)
{
	struct xs *xs = xs_open(NULL);
	struct xs_perm *p;
	unsigned n = 0;
	char buf[128] = "", one[16];

	cr_assert_not_null(xs);
	p = xs_get_perms(xs, XS_TX_NONE, path, &n);
	for (unsigned i = 0; p && i < n; i++) {
		xs_perm_format(&p[i], one, sizeof(one));
		strcat(buf, i ? "," : "");
		strcat(buf, one);
	}
	free(p);
	xs_close(xs);
	return strdup(buf);
}

/* Asserts node == want (NULL: absent). */
static void
expect_node(const char *dir, const char *key, const char *want)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	char *v = xlt_xs_read(p);
	if (want == NULL)
		cr_expect_null(v, "%s = \"%s\", expected absent", p, v);
	else if (v == NULL)
		cr_expect_fail("%s absent, expected \"%s\"", p, want);
	else
		cr_expect_str_eq(v, want, "%s", p);
	free(v);
}

static int
node_exists(const char *path)
{
	char *v = xlt_xs_read(path);

	free(v);
	return v != NULL;
}

/* ---- the fake backend ---- */

static int fake_done;

static void
fake_script_done(struct hotplug *hp, const struct hotplug_result *res, void *arg)
{
	(void)hp;
	(void)res;
	(void)arg;
	fake_done = 1;
}

/* Runs the device's script (its backend key) with action, as blkback will. */
static int
fake_script(struct event_base *base, struct xsa *xsa, struct xs *xs, const char *be,
    enum hotplug_action a)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/script", be);
	char *script = xs_read(xs, XS_TX_NONE, p, NULL);
	struct hotplug_req r = { .hr_script = script, .hr_action = a, .hr_kind = "vbd",
	    .hr_backend_dir = be, .hr_timeout_ms = 20000 };

	if (script == NULL)
		return -1;
	fake_done = 0;
	if (hotplug_run(base, xsa, &r, fake_script_done, NULL) == NULL)
		return -1;
	while (!fake_done)
		event_base_loop(base, EVLOOP_ONCE);
	free(script);
	return 0;
}

/* One pass over every vbd backend: InitWait after add, Closed after remove. */
static void
fake_pass(struct event_base *base, struct xsa *xsa, struct xs *xs)
{
	const char *root = "/local/domain/0/backend/vbd";
	unsigned nd = 0, nv = 0;
	char **doms = xs_directory(xs, XS_TX_NONE, root, &nd), be[256], p[300];

	for (unsigned i = 0; doms && i < nd; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, doms[i]);
		char **devs = xs_directory(xs, XS_TX_NONE, p, &nv);
		for (unsigned j = 0; devs && j < nv; j++) {
			snprintf(be, sizeof(be), "%s/%s/%s", root, doms[i], devs[j]);
			snprintf(p, sizeof(p), "%s/state", be);
			char *st = xs_read(xs, XS_TX_NONE, p, NULL);
			snprintf(p, sizeof(p), "%s/hotplug-exit-status", be);
			char *ran = xs_read(xs, XS_TX_NONE, p, NULL);
			if (st && strcmp(st, "1") == 0 && ran == NULL) {
				fake_script(base, xsa, xs, be, HOTPLUG_ADD);
				snprintf(p, sizeof(p), "%s/hotplug-status", be);
				char *hs = xs_read(xs, XS_TX_NONE, p, NULL);
				snprintf(p, sizeof(p), "%s/state", be);
				if (hs && strcmp(hs, "connected") == 0)
					xs_write(xs, XS_TX_NONE, p, "2", 1);
				free(hs);
			} else if (st && strcmp(st, "5") == 0) {
				fake_script(base, xsa, xs, be, HOTPLUG_REMOVE);
				snprintf(p, sizeof(p), "%s/state", be);
				xs_write(xs, XS_TX_NONE, p, "6", 1);
			}
			free(st);
			free(ran);
		}
		free(devs);
	}
	free(doms);
}

/* The fake's process: announces itself as blkback by its pid file, then polls. */
static _Noreturn void
fake_main(void)
{
	struct event_base *base = event_base_new();
	struct xsa *xsa = xsa_open(base, NULL, NULL, NULL);
	struct xs *xs = xs_open(NULL);
	char p[128];
	FILE *f;

	if (!base || !xsa || !xs)
		_exit(2);
	snprintf(p, sizeof(p), "%s/blkback.pid", T.xt_dir);
	if ((f = fopen(p, "w")) == NULL)
		_exit(2);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	for (;;) {
		fake_pass(base, xsa, xs);
		usleep(20000);
	}
}

static void
fake_start(void)
{
	char p[128];

	fake = fork();
	cr_assert_geq(fake, 0);
	if (fake == 0)
		fake_main();
	snprintf(p, sizeof(p), "%s/blkback.pid", T.xt_dir);
	for (int i = 0; i < 200 && access(p, F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access(p, F_OK), 0, "the fake backend did not start");
}

/* ---- tests ---- */

Test(xl_block, attach_list_detach_without_backend)
{
	int id = create("b1");
	char *img = image("data.img"), *out, fe[96], be[96], lb[96], want[160], *pm;

	cr_assert_gt(id, 0);
	cr_assert_eq(xlt_run(&out, "$XL block-attach b1 file:%s,xvdb,w", img), 0, "%s", out);
	cr_expect(strstr(out, "no block backend running") != NULL, "no warning:\n%s", out);
	free(out);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vbd/51728", id);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%d/51728", id);
	snprintf(lb, sizeof(lb), "/libxl/%d/device/vbd/51728", id);
	expect_node(fe, "backend", be);
	expect_node(fe, "backend-id", "0");
	expect_node(fe, "state", "1");
	expect_node(fe, "virtual-device", "51728");
	expect_node(fe, "device-type", "disk");
	snprintf(want, sizeof(want), "%d", id);
	expect_node(be, "frontend", fe);
	expect_node(be, "frontend-id", want);
	expect_node(be, "online", "1");
	expect_node(be, "state", "1");
	expect_node(be, "params", img);
	expect_node(be, "mode", "w");
	expect_node(be, "dev", "xvdb");
	expect_node(be, "script", XLT_SCRIPTDIR "/block");
	expect_node(lb, "params", img);
	snprintf(want, sizeof(want), "n%d,r0", id);
	cr_expect_str_eq(pm = perms(fe), want, "frontend perms");
	free(pm);
	snprintf(want, sizeof(want), "n0,r%d", id);
	cr_expect_str_eq(pm = perms(be), want, "backend perms");
	free(pm);

	cr_assert_eq(xlt_run(&out, "$XL block-list b1"), 0, "%s", out);
	cr_expect(matches(out, "^Vdev  BE  handle state evt-ch ring-ref BE-path {23}$"), "%s", out);
	snprintf(want, sizeof(want), "^51728 0   %-6d 1     -?[0-9]+ +-?[0-9]+ +%s *$", id, be);
	cr_expect(matches(out, want), "no row like %s in\n%s", want, out);
	free(out);

	cr_assert_eq(xlt_run(&out, "$XL block-detach b1 xvdb"), 0, "%s", out);
	free(out);
	cr_expect_not(node_exists(fe), "%s left", fe);
	cr_expect_not(node_exists(be), "%s left", be);
	cr_expect_not(node_exists(lb), "%s left", lb);
	cr_assert_eq(xlt_run(&out, "$XL block-list b1"), 0);
	snprintf(want, sizeof(want), "%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle",
	    "state", "evt-ch", "ring-ref", "BE-path");
	cr_expect_str_eq(out, want);
	free(out);
	free(img);
}

Test(xl_block, bad_requests_are_refused_clearly)
{
	char *img = image("d.img"), *out;

	cr_assert_gt(create("b2"), 0);
	cr_expect_neq(xlt_run(&out, "$XL block-attach b2 file:%s,notadisk,w", img), 0);
	cr_expect(strstr(out, "notadisk") != NULL, "%s", out);
	free(out);
	cr_expect_neq(xlt_run(&out, "$XL block-attach nosuchdom file:%s,xvdb,w", img), 0);
	cr_expect(strstr(out, "nosuchdom") != NULL, "%s", out);
	free(out);
	cr_assert_eq(xlt_run(&out, "$XL block-attach b2 %s,,xvdc,r", img), 0, "%s", out);
	free(out);
	cr_expect_neq(xlt_run(&out, "$XL block-attach b2 'vdev=xvdc,target=%s'", img), 0);
	cr_expect(strstr(out, "already has a disk xvdc") != NULL, "%s", out);
	free(out);
	cr_expect_neq(xlt_run(&out, "$XL block-detach b2 xvdz"), 0);
	cr_expect(strstr(out, "Error: Device xvdz not connected.") != NULL, "%s", out);
	free(out);
	cr_expect_neq(xlt_run(&out, "$XL block-detach b2 bogus"), 0);
	cr_expect(strstr(out, "bogus") != NULL, "%s", out);
	free(out);
	cr_expect_eq(xlt_run(&out, "$XL block-detach b2 51744"), 0, "%s", out);
	free(out);
	free(img);
}

Test(xl_block, attach_waits_for_the_backend_and_its_script)
{
	int id = create("b3");
	char *img = image("root.img"), *out, be[96], p[160], *node, *bf;

	fake_start();
	cr_assert_eq(xlt_run(&out, "$XL block-attach b3 file:%s,xvdb,w", img), 0, "%s", out);
	cr_expect(strstr(out, "no block backend") == NULL, "%s", out);
	free(out);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%d/51728", id);
	expect_node(be, "hotplug-status", "connected");
	expect_node(be, "hotplug-exit-status", "0");
	snprintf(p, sizeof(p), "%s/node", be);
	node = xlt_xs_read(p);
	cr_assert_not_null(node, "the block script set up no loop device");
	cr_expect_str_eq(bf = loop_backing(node), img);
	free(bf);
	cr_assert_eq(xlt_run(&out, "$XL block-detach b3 xvdb"), 0, "%s", out);
	cr_expect(strstr(out, "did not close") == NULL, "%s", out);
	free(out);
	cr_expect_not(node_exists(be));
	cr_expect_eq(loops_left_over(img), 0, "a loop device still holds %s after detach", img);
	free(node);
	free(img);
}

Test(xl_block, a_failing_script_is_reported_and_nothing_is_left)
{
	int id = create("b4");
	char missing[128], *out, be[96], fe[96];

	snprintf(missing, sizeof(missing), "%s/missing.img", T.xt_dir);
	fake_start();
	cr_expect_neq(xlt_run(&out, "$XL block-attach b4 file:%s,xvdb,w", missing), 0);
	cr_expect(strstr(out, "vbd xvdb") != NULL, "%s", out);
	cr_expect(strstr(out, XLT_SCRIPTDIR "/block") != NULL, "%s", out);
	cr_expect(strstr(out, "exit status 1") != NULL, "%s", out);
	cr_expect(strstr(out, missing) != NULL, "%s", out);
	cr_expect(strstr(out, "does not exist") != NULL, "%s", out);
	free(out);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%d/51728", id);
	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vbd/51728", id);
	cr_expect_not(node_exists(be), "%s left after a failed attach", be);
	cr_expect_not(node_exists(fe), "%s left after a failed attach", fe);
}

Test(xl_block, xl_conf_gives_the_vif_defaults)
{
	char conf[128], be[96], want[192], *out;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/xl.conf", T.xt_dir);
	cr_assert_not_null(f = fopen(conf, "w"));
	fputs("# host defaults\nvif.default.bridge = \"br-test\"\nvif.default.script = 'vif-test'\n",
	    f);
	fclose(f);
	setenv("PVSTACK_CONFDIR", T.xt_dir, 1);
	char *cfg = xlt_cfg(&T, "v1", "vif = [ '', 'bridge=br-other' ]");
	cr_assert_eq(xlt_run(&out, "$XL create %s", cfg), 0, "%s", out);
	free(out);
	int id = xlt_domid("v1");
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%d/0", id);
	expect_node(be, "bridge", "br-test");
	snprintf(want, sizeof(want), "%s/vif-test", XLT_SCRIPTDIR);
	expect_node(be, "script", want);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%d/1", id);
	expect_node(be, "bridge", "br-other");

	/* A malformed xl.conf stops xl with the file, line and key. */
	cr_assert_not_null(f = fopen(conf, "w"));
	fputs("run_hotplug_scripts = \"yes\"\n", f);
	fclose(f);
	free(cfg);
	cfg = xlt_cfg(&T, "v2", NULL);
	cr_expect_neq(xlt_run(&out, "$XL create %s", cfg), 0);
	snprintf(want, sizeof(want), "%s:1: run_hotplug_scripts: expected a number", conf);
	cr_expect(strstr(out, want) != NULL, "%s", out);
	free(out);
	free(cfg);
	unsetenv("PVSTACK_CONFDIR");
}

Test(xl_block, phy_and_empty_cdrom_forms_attach_through_the_script)
{
	int id = create("b5");
	char *img = image("phy.img"), *out, cmd[256], dev[64] = "", be[96], want[32];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", img);
	cr_assert_not_null(p = popen(cmd, "r"));
	cr_assert_not_null(fgets(dev, sizeof(dev), p));
	pclose(p);
	dev[strcspn(dev, "\n")] = '\0';
	fake_start();
	int rc = xlt_run(&out, "$XL block-attach b5 phy:%s,xvdd,w", dev);
	cr_expect_eq(rc, 0, "%s", out);
	free(out);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%d/51760", id);
	expect_node(be, "physical-device-path", dev);
	expect_node(be, "node", NULL);
	struct stat st;
	cr_assert_eq(stat(dev, &st), 0);
	snprintf(want, sizeof(want), "%x:%x", major(st.st_rdev), minor(st.st_rdev));
	expect_node(be, "physical-device", want);
	cr_expect_eq(xlt_run(&out, "$XL block-attach b5 ,hdc:cdrom,r"), 0, "%s", out);
	free(out);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%d/5632", id);
	expect_node(be, "device-type", "cdrom");
	expect_node(be, "mode", "r");
	expect_node(be, "hotplug-status", "connected");
	expect_node(be, "physical-device", NULL);
	cr_expect_eq(xlt_run(&out, "$XL block-detach b5 xvdd && $XL block-detach b5 hdc"), 0,
	    "%s", out);
	free(out);
	char *bf = loop_backing(dev);
	cr_expect_str_eq(bf, img, "detach of a phy disk must leave the device alone");
	free(bf);
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	cr_expect_eq(system(cmd), 0);
	free(img);
}

Test(xl_block, attach_detach_cycles_leave_nothing_behind)
{
	int id = create("b6");
	char *img = image("cycle.img"), *out, dir[96];
	int fds_before, cycles = 50;

	fake_start();
	/* One cycle first, so lazily opened things are open before counting. */
	cr_assert_eq(xlt_run(&out, "$XL block-attach b6 file:%s,xvdb,w && $XL block-detach b6 xvdb",
	    img), 0, "%s", out);
	free(out);
	fds_before = xlt_daemon_fds(&T, "xenstored");
	for (int i = 0; i < cycles; i++) {
		int rc = xlt_run(&out, "$XL block-attach b6 file:%s,xvdb,w && $XL block-detach b6 xvdb",
		    img);
		cr_assert_eq(rc, 0, "cycle %d: %s", i, out);
		free(out);
	}
	cr_expect_eq(loops_left_over(img), 0, "loop devices left on %s", img);
	/* Clients that just left may still be closing on xenstored's side. */
	int fds_after = xlt_daemon_fds(&T, "xenstored");
	for (int i = 0; i < 100 && fds_after > fds_before; i++) {
		usleep(20000);
		fds_after = xlt_daemon_fds(&T, "xenstored");
	}
	cr_expect_eq(fds_after, fds_before, "xenstored fds %d -> %d after %d cycles", fds_before,
	    fds_after, cycles);
	snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%d", id);
	char p[128];
	snprintf(p, sizeof(p), "%s/51728", dir);
	cr_expect_not(node_exists(p));
	snprintf(p, sizeof(p), "/local/domain/%d/device/vbd/51728", id);
	cr_expect_not(node_exists(p));
	free(img);
}
