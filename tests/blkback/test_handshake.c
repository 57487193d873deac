/* blkback's xenbus handshake on a private stack: the keys of InitWait and
 * Connected, connect from frontend state 3 and 4, close and reconnect while
 * online=1, teardown on detach, and the errors a user meets. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bbfront.h"
#include "libhv.h"
#include "xs.h"

static struct stack st;
static struct bbfront fe;
static char img[160];

static void
setup(void)
{
	bbf_stack_disk(&st, "blkback-hs", &fe, img, sizeof(img), 16);
}

static void
teardown(void)
{
	bbf_destroy(&fe);
	int status = stack_kill(&st, STACK_BLKBACK);
	stack_stop(&st);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "blkback did not exit cleanly on SIGTERM (status %#x)", status);
}

TestSuite(handshake, .init = setup, .fini = teardown, .timeout = 60);

/* A backend key equals want. */
static void
expect_key(const char *key, const char *want)
{
	char *v = bbf_be_read(&fe, key);

	cr_expect(v && strcmp(v, want) == 0, "%s = %s, want %s", key, v ? v : "(absent)", want);
	free(v);
}

Test(handshake, initwait_keys)
{
	char buf[16];

	bbf_devdirs(&fe, 51712, img, "w", NULL);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0, "no InitWait (state %d)", bbf_be_state(&fe));
	expect_key("hotplug-status", "connected");
	expect_key("feature-max-indirect-segments", "256");
	expect_key("max-ring-page-order", "4");
	snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_NPROCESSORS_ONLN) > 4 ? 4 :
	    sysconf(_SC_NPROCESSORS_ONLN));
	expect_key("multi-queue-max-queues", buf);
}

Test(handshake, connect_from_initialised)
{
	bbf_devdirs(&fe, 51712, img, "w", NULL);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0);
	bbf_connect(&fe, 1, 0, false, 3);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0, "no Connected from frontend state 3");
	expect_key("sectors", "32768");
	expect_key("sector-size", "512");
	expect_key("info", "0");
	expect_key("feature-flush-cache", "1");
	expect_key("feature-persistent", "1");
	expect_key("feature-discard", "1");
	expect_key("discard-granularity", "4096");
}

Test(handshake, connect_from_connected_readonly)
{
	bbf_devdirs(&fe, 51712, img, "r", NULL);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0);
	bbf_connect(&fe, 1, 0, false, 4);	/* Mini-OS skips state 3 */
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0, "no Connected from frontend state 4");
	expect_key("info", "4");		/* VDISK_READONLY */
	expect_key("feature-discard", "0");
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 0, BBF_PFN_DATA, 8), BLKIF_RSP_ERROR,
	    "a write to a read-only disk succeeded");
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_READ, 0, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
}

Test(handshake, close_reconnect_detach)
{
	bbf_attach(&fe, img);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 8, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	bbf_close(&fe);
	/* online=1: a frontend back at Initialising finds InitWait again */
	bbf_fe_state(&fe, 1);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0, "no InitWait after reconnect (state %d)",
	    bbf_be_state(&fe));
	bbf_connect(&fe, 1, 0, false, 3);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_READ, 8, BBF_PFN_DATA + 1, 8), BLKIF_RSP_OKAY);
	/* xl's detach: online=0, backend Closing; the frontend follows */
	bbf_detach(&fe, 0);
	cr_assert_eq(bbf_wait_be(&fe, 5, 5000), 0);
	bbf_close(&fe);
	bbf_rmdirs(&fe);
	cr_assert_eq(stack_xs_wait(&st, "/local/domain/0/backend/vbd/1/51712/state", "x", 300), -1);
}

Test(handshake, missing_image_named)
{
	char path[200], *err, *hs;

	snprintf(path, sizeof(path), "%s/no-such.img", st.s_rundir);
	bbf_devdirs(&fe, 768, path, "w", NULL);
	cr_assert_eq(stack_xs_wait(&st, "/local/domain/0/backend/vbd/1/768/hotplug-status",
	    "error", 5000), 0);
	err = bbf_be_read(&fe, "hotplug-error");
	cr_assert_not_null(err);
	cr_expect(strstr(err, path) && strstr(err, "No such file"), "hotplug-error: %s", err);
	free(err);
	hs = bbf_be_read(&fe, "state");
	cr_expect(hs && atoi(hs) < 2, "state %s after a failed probe", hs);
	free(hs);
	cr_assert_eq(bbf_detach(&fe, 5000), 0, "a failed device does not close");
}

Test(handshake, directory_and_format_refused)
{
	char *err;

	bbf_devdirs(&fe, 768, st.s_rundir, "w", NULL);
	cr_assert_eq(stack_xs_wait(&st, "/local/domain/0/backend/vbd/1/768/hotplug-status",
	    "error", 5000), 0);
	err = bbf_be_read(&fe, "hotplug-error");
	cr_expect(err && strstr(err, "is a directory"), "hotplug-error: %s", err);
	free(err);
	bbf_devdirs(&fe, 832, img, "w", (const char *const[]){ "format=qcow2", NULL });
	cr_assert_eq(stack_xs_wait(&st, "/local/domain/0/backend/vbd/1/832/hotplug-status",
	    "error", 5000), 0);
	err = bbf_be_read(&fe, "hotplug-error");
	cr_expect(err && strstr(err, "qcow2") && strstr(err, img), "hotplug-error: %s", err);
	free(err);
}

Test(handshake, busy_names_other_domain)
{
	struct bbfront other;
	char *err, p[192];

	bbf_devdirs(&fe, 51712, img, "w", NULL);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0);
	bbf_domain(&other, &st);
	bbf_devdirs(&other, 51712, img, "w", NULL);
	snprintf(p, sizeof(p), "%s/hotplug-status", other.f_be);
	cr_assert_eq(stack_xs_wait(&st, p, "busy", 5000), 0, "a second writer was not refused");
	err = bbf_be_read(&other, "hotplug-error");
	snprintf(p, sizeof(p), "domain %u", fe.f_domid);
	cr_expect(err && strstr(err, p) && strstr(err, img), "hotplug-error: %s", err);
	free(err);
	bbf_detach(&other, 5000);
	bbf_rmdirs(&other);
	/* w! shares it */
	bbf_devdirs(&other, 51728, img, "w!", NULL);
	cr_assert_eq(bbf_wait_be(&other, 2, 5000), 0, "w! was refused");
	bbf_detach(&other, 5000);
	bbf_rmdirs(&other);
	bbf_destroy(&other);
}

/* Writes an executable script in the rundir; returns its path (static). */
static const char *
script(const char *name, const char *body)
{
	static char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", st.s_rundir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
	return path;
}

Test(handshake, named_script_runs_add_and_remove)
{
	char body[1200], extra[256], marker[200], *v;

	snprintf(marker, sizeof(marker), "%s/removed", st.s_rundir);
	snprintf(body, sizeof(body),
	    "case $1 in\n"
	    "add) %s \"$XENBUS_PATH/physical-device-path\" %s ;;\n"
	    "remove) %s \"$XENBUS_PATH/physical-device-path\" > %s.tmp && mv %s.tmp %s ;;\n"
	    "esac", stack_prog("xenstored/xenstore-write"), img,
	    stack_prog("xenstored/xenstore-read"), marker, marker, marker);
	snprintf(extra, sizeof(extra), "script=%s", script("my-disk", body));
	bbf_devdirs(&fe, 51712, "my-disk-target", "w", (const char *const[]){ extra, NULL });
	cr_assert_eq(bbf_wait_be(&fe, 2, 10000), 0, "no InitWait after the script (state %d)",
	    bbf_be_state(&fe));
	expect_key("hotplug-exit-status", "0");
	expect_key("hotplug-status", "connected");
	expect_key("physical-device-path", img);
	bbf_connect(&fe, 1, 0, false, 4);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0);
	expect_key("sectors", "32768");
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 0, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	bbf_detach(&fe, 0);
	bbf_close(&fe);
	/* remove ran before Closed, while the backend's keys were all there */
	FILE *f = fopen(marker, "r");
	char got[256] = "";
	cr_assert_not_null(f, "state 6 before the script's remove had run");
	cr_assert_not_null(fgets(got, sizeof(got), f));
	fclose(f);
	got[strcspn(got, "\n")] = '\0';
	cr_expect_str_eq(got, img, "remove did not find physical-device-path");
	v = bbf_be_read(&fe, "hotplug-exit-status");
	cr_expect(v && strcmp(v, "0") == 0, "remove's exit status: %s", v);
	free(v);
}

Test(handshake, failing_named_script_reported)
{
	char extra[256], *v;

	snprintf(extra, sizeof(extra), "script=%s",
	    script("bad-disk", "echo 'no luck with' \"$XENBUS_PATH\" >&2\nexit 3"));
	bbf_devdirs(&fe, 51712, "whatever", "w", (const char *const[]){ extra, NULL });
	cr_assert_eq(stack_xs_wait(&st, "/local/domain/0/backend/vbd/1/51712/hotplug-status",
	    "error", 10000), 0);
	expect_key("hotplug-exit-status", "3");
	v = bbf_be_read(&fe, "hotplug-stderr");
	cr_expect(v && strstr(v, "no luck with"), "hotplug-stderr: %s", v);
	free(v);
	cr_expect_lt(bbf_be_state(&fe), 2);
	cr_assert_eq(bbf_detach(&fe, 5000), 0);
}

/* Whether blkback has any child (a worker) left, after up to ms. */
static int
has_workers(int ms)
{
	char path[96], buf[256];
	long long end = stack_now_ms() + ms;
	int any;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", st.s_pid[STACK_BLKBACK],
	    st.s_pid[STACK_BLKBACK]);
	do {
		FILE *f = fopen(path, "r");
		any = f && fgets(buf, sizeof(buf), f) && buf[0] >= '0' && buf[0] <= '9';
		if (f)
			fclose(f);
		if (!any)
			break;
		usleep(5000);
	} while (stack_now_ms() < end);
	return any;
}

Test(handshake, directory_removed_while_connected)
{
	bbf_attach(&fe, img);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 0, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	cr_assert(has_workers(0), "no worker while connected");
	/* a forced removal of the backend's directory alone: no close handshake at all */
	cr_assert_eq(xs_rm(st.s_xs, XS_TX_NONE, fe.f_be), 0);
	cr_assert_not(has_workers(5000), "the worker outlived its device's directory");
	for (uint32_t ref = 8; ref < fe.f_next_ref; ref++)
		cr_assert_eq(fe.f_gnt[ref].flags & (GTF_reading | GTF_writing), 0,
		    "grant %u still pinned", ref);
	cr_assert_eq(kill(st.s_pid[STACK_BLKBACK], 0), 0);
}

Test(handshake, worker_killed_before_connect)
{
	char path[96], buf[64] = "";
	FILE *f;

	bbf_devdirs(&fe, 51712, img, "w", NULL);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", st.s_pid[STACK_BLKBACK],
	    st.s_pid[STACK_BLKBACK]);
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_not_null(fgets(buf, sizeof(buf), f), "no worker in InitWait");
	fclose(f);
	cr_assert_eq(kill(atoi(buf), SIGKILL), 0);
	usleep(100000);
	bbf_connect(&fe, 1, 0, false, 4);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0, "no Connected after a worker death in InitWait "
	    "(state %d)", bbf_be_state(&fe));
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, 0, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY);
	cr_assert(has_workers(0));
}
