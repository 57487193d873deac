/*
 * hotplug.c against a private xenstored: the argv/env/stdin contract, the
 * keys recorded in the backend dir (exit status, bounded output, error),
 * timeouts that kill the script's whole session, the loop serving meanwhile;
 * then hotplug/block itself through hotplug_run: files on loop devices
 * (detached on remove, never another domain's after reuse), read-only, phy
 * devices, sharing refused as busy, missing images and directories named in
 * hotplug-error, empty cdroms.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <event2/event.h>

#include "hotplug.h"
#include "loops.h"
#include "proc_stat.h"
#include "xs.h"
#include "xs_async.h"
#include "xst.h"

#ifndef HOTPLUG_BLOCK
#error HOTPLUG_BLOCK names hotplug/block
#endif

#define BE "/local/domain/0/backend/vbd/5/51712"

static struct xst_daemon D;
static struct event_base *base;
static struct xsa *xsa;
static struct xs *xs;
static char dir[64];

struct outcome {
	int done;
	struct hotplug_result res;
	char output[HOTPLUG_STDERR_MAX + 1];
	char error[1024];
	int ticks;			/* the loop's timer fired meanwhile */
};

static void
setup(void)
{
	xst_daemon_start(&D, NULL);
	setenv("XENSTORED_PATH", D.sock, 1);
	setenv("PVSTACK_RUNDIR", D.dir, 1);
	unsetenv("PVSTACK_LOGDIR");
	base = event_base_new();
	cr_assert_not_null(xsa = xsa_open(base, D.sock, NULL, NULL));
	cr_assert_not_null(xs = xs_open(D.sock));
	snprintf(dir, sizeof(dir), "/tmp/hptest.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	xs_close(xs);
	xsa_close(xsa);
	event_base_free(base);
	xst_daemon_stop(&D);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(hotplug, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(block, .init = setup, .fini = teardown, .timeout = 30);

/* Writes an executable shell script into the test dir; returns its path. */
static char *
script(const char *name, const char *body)
{
	char *path;
	FILE *f;

	cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static void
put(const char *path, const char *val)
{
	cr_assert_eq(xs_write(xs, XS_TX_NONE, path, val, strlen(val)), 0, "%s", path);
}

/* A key of the backend dir ("" when absent; static buffer). */
static const char *
key(const char *be, const char *k)
{
	static char buf[4][4096];
	static int n;
	char p[256], *v;

	snprintf(p, sizeof(p), "%s/%s", be, k);
	v = xs_read(xs, XS_TX_NONE, p, NULL);
	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s", v ? v : "");
	free(v);
	return buf[n];
}

static int
exists(const char *path)
{
	char *v = xs_read(xs, XS_TX_NONE, path, NULL);

	free(v);
	return v != NULL;
}

static void
on_done(struct hotplug *hp, const struct hotplug_result *res, void *arg)
{
	struct outcome *o = arg;

	(void)hp;
	o->done++;
	o->res = *res;
	snprintf(o->output, sizeof(o->output), "%s", res->hres_output);
	snprintf(o->error, sizeof(o->error), "%s", res->hres_error ? res->hres_error : "");
	o->res.hres_output = o->output;
	o->res.hres_error = res->hres_error ? o->error : NULL;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	((struct outcome *)arg)->ticks++;
}

/* Runs the loop until o is done (or ms pass). */
static void
run_until(struct outcome *o, int ms)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, o);
	struct timeval tv = { 0, 20000 };

	event_add(tick, &tv);
	for (int waited = 0; !o->done && waited < ms; waited += 10) {
		struct timeval slice = { 0, 10000 };
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	event_free(tick);
	cr_assert(o->done, "the script's callback did not come in %d ms", ms);
}

/* Runs script with action on the backend dir be and waits for the outcome. */
static void
run(const char *path, enum hotplug_action a, const char *be, int timeout_ms,
    const char *const *env, struct outcome *o)
{
	struct hotplug_req r = { .hr_script = path, .hr_action = a, .hr_kind = "vbd",
	    .hr_backend_dir = be, .hr_env = env, .hr_timeout_ms = timeout_ms };

	memset(o, 0, sizeof(*o));
	cr_assert_not_null(hotplug_run(base, xsa, &r, on_done, o));
	run_until(o, 20000);
	cr_expect_eq(o->done, 1);
}

Test(hotplug, contract_and_success)
{
	char out[128], *s, line[1024] = "";
	const char *env[] = { "vif=vif5.0", "bridge=xenbr7", NULL };
	struct outcome o;
	FILE *f;

	snprintf(out, sizeof(out), "%s/seen", dir);
	char body[1024];
	snprintf(body, sizeof(body),
	    "printf '%%s|%%s|%%s|%%s|%%s|%%s|%%s|%%s\\n' \"$#\" \"$1\" \"$XENBUS_PATH\" "
	    "\"$XENBUS_TYPE\" \"$XENBUS_BASE_PATH\" \"$script\" \"$vif\" \"$bridge\" > %s\n"
	    "if read x; then echo stdin-had-data >> %s; fi\n"
	    "sleep 0.3\necho to-stderr >&2\necho to-stdout\n"
	    "xenstore-write \"$XENBUS_PATH/hotplug-status\" connected", out, out);
	s = script("ok", body);
	put(BE "/state", "2");
	run(s, HOTPLUG_ONLINE, BE, 0, env, &o);
	cr_expect(o.res.hres_ok);
	cr_expect_eq(o.res.hres_exit, 0);
	cr_expect_null(o.res.hres_error);
	cr_assert_not_null(f = fopen(out, "r"));
	cr_expect_not_null(fgets(line, sizeof(line), f));
	char want[512];
	snprintf(want, sizeof(want), "1|online|%s|vbd|backend|%s|vif5.0|xenbr7\n", BE, s);
	cr_expect_str_eq(line, want);
	cr_expect_null(fgets(line, sizeof(line), f), "stdin was not /dev/null: %s", line);
	fclose(f);
	cr_expect_str_eq(key(BE, "hotplug-exit-status"), "0");
	cr_expect_str_eq(key(BE, "hotplug-stderr"), "to-stderr\nto-stdout\n");
	cr_expect_str_eq(key(BE, "hotplug-status"), "connected");
	cr_expect_not(exists(BE "/hotplug-error"));
	cr_expect_geq(o.ticks, 5, "the loop did not serve while the script ran (%d ticks)", o.ticks);
	free(s);
}

Test(hotplug, failure_is_recorded_with_the_last_line)
{
	char *s = script("bad", "echo first >&2\necho 'disk is on fire' >&2\nexit 3");
	char want[256];
	struct outcome o;

	put(BE "/state", "2");
	run(s, HOTPLUG_ADD, BE, 0, NULL, &o);
	cr_expect_not(o.res.hres_ok);
	cr_expect_eq(o.res.hres_exit, 3);
	snprintf(want, sizeof(want), "%s add: exit status 3: disk is on fire", s);
	cr_expect_str_eq(key(BE, "hotplug-error"), want);
	cr_expect_str_eq(o.error, want);
	cr_expect_str_eq(key(BE, "hotplug-status"), "error");
	cr_expect_str_eq(key(BE, "hotplug-exit-status"), "3");
	cr_expect_str_eq(key(BE, "hotplug-stderr"), "first\ndisk is on fire\n");
	free(s);
}

Test(hotplug, the_scripts_own_error_and_busy_are_kept)
{
	char *s = script("busy", "xenstore-write \"$XENBUS_PATH/hotplug-error\" 'image in use by d7' "
	    "\"$XENBUS_PATH/hotplug-status\" busy\nexit 1");
	struct outcome o;

	put(BE "/state", "2");
	run(s, HOTPLUG_ADD, BE, 0, NULL, &o);
	cr_expect_not(o.res.hres_ok);
	cr_expect_str_eq(key(BE, "hotplug-error"), "image in use by d7");
	cr_expect_str_eq(key(BE, "hotplug-status"), "busy");
	cr_expect_str_eq(key(BE, "hotplug-exit-status"), "1");
	free(s);
}

Test(hotplug, timeout_kills_the_whole_session)
{
	char body[256], pidf[96];
	struct outcome o;
	FILE *f;
	int child = 0;

	snprintf(pidf, sizeof(pidf), "%s/child.pid", dir);
	snprintf(body, sizeof(body), "sleep 100 &\necho $! > %s\nsleep 100", pidf);
	char *s = script("slow", body);
	put(BE "/state", "2");
	run(s, HOTPLUG_ADD, BE, 300, NULL, &o);
	cr_expect(o.res.hres_timed_out);
	cr_expect_not(o.res.hres_ok);
	cr_expect_str_eq(key(BE, "hotplug-exit-status"), "timeout");
	cr_expect(strstr(key(BE, "hotplug-error"), "did not finish in time") != NULL, "%s",
	    key(BE, "hotplug-error"));
	cr_assert_not_null(f = fopen(pidf, "r"));
	cr_assert_eq(fscanf(f, "%d", &child), 1);
	fclose(f);
	/* The background sleep was in the script's session: gone (or a zombie of init). */
	for (int i = 0; i < 100 && proc_running(child); i++)
		usleep(10000);
	cr_expect_not(proc_running(child), "the script's child %d survived the timeout", child);
	free(s);
}

Test(hotplug, output_is_bounded_to_its_tail)
{
	char *s = script("loud", "i=0\nwhile [ $i -lt 4000 ]; do echo 'line of noise 0123456789 "
	    "0123456789 0123456789' >&2; i=$((i+1)); done\necho LAST-LINE >&2\nexit 2");
	struct outcome o;

	put(BE "/state", "2");
	run(s, HOTPLUG_ADD, BE, 0, NULL, &o);
	const char *e = key(BE, "hotplug-stderr");
	cr_expect_leq(strlen(e), HOTPLUG_STDERR_MAX);
	cr_expect_geq(strlen(e), HOTPLUG_STDERR_MAX - 60);
	cr_expect(strlen(e) > 10 && strcmp(e + strlen(e) - 10, "LAST-LINE\n") == 0, "%s", e);
	cr_expect(strstr(key(BE, "hotplug-error"), ": LAST-LINE") != NULL);
	free(s);
}

Test(hotplug, a_missing_script_is_reported)
{
	struct outcome o;

	put(BE "/state", "2");
	run("/nonexistent/block", HOTPLUG_ADD, BE, 0, NULL, &o);
	cr_expect_eq(o.res.hres_exit, 127);
	const char *e = key(BE, "hotplug-error");
	cr_expect(strstr(e, "/nonexistent/block add: could not be run") != NULL, "%s", e);
	cr_expect(strstr(e, "No such file") != NULL, "%s", e);
	cr_expect_str_eq(key(BE, "hotplug-status"), "error");
}

Test(hotplug, a_removed_device_is_not_brought_back)
{
	char *s = script("rm", "xenstore-rm \"$XENBUS_PATH\"\nexit 1");
	struct outcome o;

	put(BE "/state", "2");
	run(s, HOTPLUG_REMOVE, BE, 0, NULL, &o);
	cr_expect_eq(o.res.hres_exit, 1);
	cr_expect_eq(o.res.hres_xs_err, 0);
	cr_expect_not(exists(BE), "the backend dir was recreated");
	free(s);
}

Test(hotplug, cancel_kills_and_drops_the_callback)
{
	char *s = script("sleepy", "sleep 100");
	struct hotplug_req r = { .hr_script = s, .hr_action = HOTPLUG_ADD, .hr_kind = "vbd",
	    .hr_backend_dir = BE };
	struct outcome o = { 0 };
	struct hotplug *hp;

	put(BE "/state", "2");
	cr_assert_not_null(hp = hotplug_run(base, xsa, &r, on_done, &o));
	pid_t pid = hotplug_pid(hp);
	cr_assert_gt(pid, 0);
	usleep(50000);
	hotplug_cancel(hp);
	for (int i = 0; i < 50; i++) {
		struct timeval slice = { 0, 10000 };
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	cr_expect_eq(o.done, 0);
	cr_expect(kill(pid, 0) < 0 && errno == ESRCH, "script %d not reaped", (int)pid);
	cr_expect_not(exists(BE "/hotplug-exit-status"));
	free(s);
}

/* ---- hotplug/block ---- */

/* A vbd backend dir for domid/devid with params and mode. */
static void
vbd(char *be, size_t len, int domid, int devid, const char *params, const char *mode)
{
	char p[256];

	snprintf(be, len, "/local/domain/0/backend/vbd/%d/%d", domid, devid);
	snprintf(p, sizeof(p), "%s/params", be);
	put(p, params);
	snprintf(p, sizeof(p), "%s/mode", be);
	put(p, mode);
	snprintf(p, sizeof(p), "%s/type", be);
	put(p, "phy");
	snprintf(p, sizeof(p), "%s/state", be);
	put(p, "2");
}

/* A sparse image file of 1 MiB in the test dir. */
static char *
image(const char *name)
{
	char *path;
	FILE *f;

	cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(ftruncate(fileno(f), 1 << 20), 0);
	fclose(f);
	return path;
}

/* The hex maj:min of a block device, as physical-device holds it. */
static void
devnum(const char *dev, char *buf, size_t len)
{
	struct stat st;

	cr_assert_eq(stat(dev, &st), 0, "%s", dev);
	snprintf(buf, len, "%x:%x", major(st.st_rdev), minor(st.st_rdev));
}

/* Checks no loop device holds img any more (and frees any that does). */
static void
expect_no_loop_over(const char *img)
{
	int n = loops_left_over(img);

	cr_expect_eq(n, 0, "%d loop device(s) still hold %s", n, img);
}

/* Checks loop device dev holds file want. */
static void
expect_backing(const char *dev, const char *want)
{
	char *b = loop_backing(dev);

	cr_expect_str_eq(b, want, "%s", dev);
	free(b);
}

/* Detaches a loop device the test set up itself. */
static void
loop_free(const char *loop)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", loop);
	cr_expect_eq(system(cmd), 0, "could not detach %s", loop);
}

Test(block, file_gets_a_loop_device_freed_on_remove)
{
	char be[128], node[64], want[32];
	char *img = image("root.img");
	struct outcome o;

	vbd(be, sizeof(be), 5, 769, img, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	snprintf(node, sizeof(node), "%s", key(be, "node"));
	cr_expect(o.res.hres_ok, "%s", o.output);
	cr_expect_str_eq(key(be, "hotplug-status"), "connected");
	cr_assert(strncmp(node, "/dev/loop", 9) == 0, "node \"%s\"", node);
	expect_backing(node, img);
	devnum(node, want, sizeof(want));
	cr_expect_str_eq(key(be, "physical-device"), want);
	cr_expect_str_eq(key(be, "physical-device-path"), node);
	/* Idempotent: a second add (udev and the backend both) changes nothing. */
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_expect(o.res.hres_ok);
	cr_expect_str_eq(key(be, "node"), node);
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, be, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);
	expect_no_loop_over(img);
	free(img);
}

Test(block, read_only_mode_gives_a_read_only_loop)
{
	char be[128], node[64], p[128], ro[8] = "";
	char *img = image("ro.img");
	struct outcome o;
	FILE *f;

	vbd(be, sizeof(be), 5, 770, img, "r");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	snprintf(node, sizeof(node), "%s", key(be, "node"));
	cr_expect(o.res.hres_ok, "%s", o.output);
	snprintf(p, sizeof(p), "/sys/block/%s/ro", strrchr(node, '/') + 1);
	cr_assert_not_null(f = fopen(p, "r"));
	cr_expect_not_null(fgets(ro, sizeof(ro), f));
	fclose(f);
	cr_expect_str_eq(ro, "1\n");
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, be, 0, NULL, &o);
	expect_no_loop_over(img);
	free(img);
}

/*
 * remove runs twice (udev and the backend both), and a loop device freed by
 * the first may already hold another domain's disk by the second: a remove
 * detaches its node only while that node still holds its own file.
 */
Test(block, remove_leaves_a_reused_loop_device_alone)
{
	char a[128], b[128], node[64], p[256];
	char *mine = image("mine.img"), *gone = image("gone.img");
	struct outcome o;

	vbd(a, sizeof(a), 5, 773, mine, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, a, 0, NULL, &o);
	cr_assert(o.res.hres_ok, "%s", o.output);
	snprintf(node, sizeof(node), "%s", key(a, "node"));
	/* Domain 6's vbd once had the same node, over a file of its own. */
	vbd(b, sizeof(b), 6, 773, gone, "w");
	snprintf(p, sizeof(p), "%s/node", b);
	put(p, node);
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, b, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);
	expect_backing(node, mine);	/* a stale remove left domain 5's device alone */
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, a, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);
	expect_no_loop_over(mine);
	free(mine);
	free(gone);
}

/* A file deleted while its guest runs still has its loop device freed. */
Test(block, remove_frees_the_loop_of_a_deleted_file)
{
	char be[128];
	char *img = image("deleted.img");
	struct outcome o;

	vbd(be, sizeof(be), 5, 774, img, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_assert(o.res.hres_ok, "%s", o.output);
	cr_assert_eq(unlink(img), 0);
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, be, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);
	expect_no_loop_over(img);
	free(img);
}

Test(block, missing_image_and_directory_are_named)
{
	char be[128], missing[128];
	struct outcome o;

	snprintf(missing, sizeof(missing), "%s/nothere.img", dir);
	vbd(be, sizeof(be), 5, 771, missing, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_expect_eq(o.res.hres_exit, 1);
	cr_expect_str_eq(key(be, "hotplug-status"), "error");
	cr_expect(strstr(key(be, "hotplug-error"), missing) != NULL, "%s", key(be, "hotplug-error"));
	cr_expect(strstr(key(be, "hotplug-error"), "does not exist") != NULL);
	cr_expect(strstr(o.output, missing) != NULL, "stderr: %s", o.output);
	cr_expect_not(exists("/local/domain/0/backend/vbd/5/771/physical-device"));

	vbd(be, sizeof(be), 5, 772, dir, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_expect_eq(o.res.hres_exit, 1);
	cr_expect(strstr(key(be, "hotplug-error"), "is a directory") != NULL, "%s",
	    key(be, "hotplug-error"));
}

Test(block, phy_device_is_published_as_is)
{
	char be[128], loop[64] = "", want[32], cmd[256];
	char *img = image("phy.img");
	struct outcome o;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", img);
	cr_assert_not_null(p = popen(cmd, "r"));
	cr_assert_not_null(fgets(loop, sizeof(loop), p));
	pclose(p);
	loop[strcspn(loop, "\n")] = '\0';
	vbd(be, sizeof(be), 6, 51712, loop, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);
	devnum(loop, want, sizeof(want));
	cr_expect_str_eq(key(be, "physical-device"), want);
	cr_expect_str_eq(key(be, "physical-device-path"), loop);
	cr_expect_not(exists("/local/domain/0/backend/vbd/6/51712/node"), "phy took a loop");
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, be, 0, NULL, &o);
	expect_backing(loop, img);	/* remove leaves a phy device alone */
	loop_free(loop);
	free(img);
}

Test(block, writable_sharing_is_busy_unless_w_bang)
{
	char a[128], b[128], c[128];
	char *img = image("shared.img");
	struct outcome o;

	vbd(a, sizeof(a), 7, 769, img, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, a, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);
	vbd(b, sizeof(b), 8, 769, img, "r");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, b, 0, NULL, &o);
	cr_expect_eq(o.res.hres_exit, 1);
	cr_expect_str_eq(key(b, "hotplug-status"), "busy");
	cr_expect(strstr(key(b, "hotplug-error"), "in use by domain 7") != NULL, "%s",
	    key(b, "hotplug-error"));
	cr_expect_not(exists("/local/domain/0/backend/vbd/8/769/node"));
	vbd(c, sizeof(c), 9, 769, img, "w!");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, c, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "w! must share: %s", o.output);
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, a, 0, NULL, &o);
	run(HOTPLUG_BLOCK, HOTPLUG_REMOVE, c, 0, NULL, &o);
	expect_no_loop_over(img);
	free(img);
}

Test(block, empty_cdrom_connects_without_a_device)
{
	char be[128];
	struct outcome o;

	vbd(be, sizeof(be), 5, 5632, "", "r");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);
	cr_expect_str_eq(key(be, "hotplug-status"), "connected");
	cr_expect_not(exists("/local/domain/0/backend/vbd/5/5632/physical-device"));
}

Test(block, a_device_mounted_in_dom0_is_busy)
{
	char be[128], loop[64] = "", cmd[512], mnt[96];
	char *img = image("fs.img");
	struct outcome o;
	FILE *p;

	/* A mount namespace of our own: the script (our child) sees the mount, the host does not. */
	cr_assert_eq(unshare(CLONE_NEWNS), 0);
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	snprintf(cmd, sizeof(cmd), "mkfs.ext2 -q -F %s >/dev/null 2>&1 && losetup -f --show %s",
	    img, img);
	cr_assert_not_null(p = popen(cmd, "r"));
	cr_assert_not_null(fgets(loop, sizeof(loop), p));
	pclose(p);
	loop[strcspn(loop, "\n")] = '\0';
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	mkdir(mnt, 0755);
	cr_assert_eq(mount(loop, mnt, "ext2", MS_RDONLY, NULL), 0, "mount %s: %s", loop,
	    strerror(errno));

	vbd(be, sizeof(be), 5, 51712, loop, "w");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_expect_eq(o.res.hres_exit, 1);
	cr_expect_str_eq(key(be, "hotplug-status"), "busy");
	cr_expect(strstr(key(be, "hotplug-error"), "is mounted on") != NULL, "%s",
	    key(be, "hotplug-error"));
	/* Read-only use of a read-only mount is fine. */
	vbd(be, sizeof(be), 5, 51728, loop, "r");
	run(HOTPLUG_BLOCK, HOTPLUG_ADD, be, 0, NULL, &o);
	cr_expect(o.res.hres_ok, "%s", o.output);

	cr_expect_eq(umount(mnt), 0);
	loop_free(loop);
	free(img);
}
