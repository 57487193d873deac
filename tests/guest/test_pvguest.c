/*
 * pvguest booted by a private hvd, its console read and typed on here, its
 * xenstore ring served by gt_store: the runtime's console front, xenbus
 * client and shutdown paths against the real hypervisor and the wire format.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gt_harness.h"
#include "shell.h"

#define BOOT_MS 10000

static struct gt t;

static void
boot(void)
{
	gt_start(&t, true);
	gt_unpause(&t);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, BOOT_MS), "no prompt; output:\n%s", t.out);
}

static void
setup(void)
{
	boot();
}

static void
teardown(void)
{
	gt_stop(&t);
}

TestSuite(pvguest, .init = setup, .fini = teardown, .timeout = 60);

/* Runs a command line and waits for the next prompt; returns its output. */
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

Test(pvguest, banner_prompt_and_features)
{
	char banner[64], path[64];

	snprintf(banner, sizeof(banner), "pvstack guest %u (gt%u) booting\r\n", t.domid, t.domid);
	cr_assert_not_null(strstr(t.out, banner), "%s", t.out);
	cr_assert_not_null(strstr(t.out, "cmdline: gt test"));
	snprintf(path, sizeof(path), "/local/domain/%u/control/feature-poweroff", t.domid);
	cr_assert_str_eq(gt_store_get(t.store, path), "1");
	snprintf(path, sizeof(path), "/local/domain/%u/control/feature-reboot", t.domid);
	cr_assert_str_eq(gt_store_get(t.store, path), "1");
	cr_assert_eq(t.store->gs_dup_req_ids, 0, "req_ids are unique");
}

Test(pvguest, echo_with_line_editing)
{
	const char *out = run("ecgo\x7f\x7fho  hello   \"big world\"");

	cr_assert_not_null(strstr(out, "\b \b\b \b"), "backspace erases");
	cr_assert_not_null(strstr(out, "\r\nhello big world\r\n"), "%s", out);
	cr_assert_not_null(strstr(run("frob"), "frob: unknown command"));
	cr_assert_not_null(strstr(run("help"), "xs read|write|ls|tree|rm|mkdir"));
}

Test(pvguest, xs_commands_reach_the_store)
{
	char path[64];

	cr_assert_not_null(strstr(run("xs write data/greeting \"hi there\""), "ok"));
	snprintf(path, sizeof(path), "/local/domain/%u/data/greeting", t.domid);
	cr_assert_str_eq(gt_store_get(t.store, path), "hi there");
	cr_assert_not_null(strstr(run("xs read data/greeting"), "\r\nhi there\r\n"));
	snprintf(path, sizeof(path), "xs read /local/domain/%u/data/greeting", t.domid);
	cr_assert_not_null(strstr(run(path), "\r\nhi there\r\n"));
	const char *ls = run("xs ls data");
	cr_assert_not_null(strstr(ls, "\r\ngreeting\r\n"), "%s", ls);
	ls = run("xs ls");
	cr_assert_not_null(strstr(ls, "\r\ncontrol\r\n"), "%s", ls);
	cr_assert_not_null(strstr(run("xs read data/nothing"), "ENOENT"));
	cr_assert_not_null(strstr(run("xs write /local/domain/0/x 1"), "EACCES"));
	const char *tree = run("xs tree");
	cr_assert_not_null(strstr(tree, "\r\ndata = \"\"\r\n greeting = \"hi there\"\r\n"), "%s",
	    tree);
	cr_assert_not_null(strstr(tree, "\r\ncontrol = \"\"\r\n feature-"), "%s", tree);
	cr_assert_not_null(strstr(run("xs rm data"), "ok"));
	cr_assert_null(gt_store_get(t.store, path + strlen("xs read ")));
	cr_assert_not_null(strstr(run("xs write onlypath"), "usage: xs write PATH VALUE"));
}

Test(pvguest, uptime_and_info)
{
	cr_assert_not_null(strstr(run("uptime"), "up 0:00:"));
	char want[32];
	snprintf(want, sizeof(want), "domid %u, 1024 pages", t.domid);
	cr_assert_not_null(strstr(run("info"), want));
}

/* The toolstack's request: the guest clears the node, then goes with that reason. */
static void
control_request(const char *what, unsigned reason)
{
	char path[64];
	struct hv_dominfo info;

	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", t.domid);
	gt_store_set(t.store, path, what);
	cr_assert(gt_wait_shutdown(&t, 5000, &info), "no shutdown; output:\n%s", t.out);
	cr_assert_eq(info.shutdown_reason, reason);
	cr_assert_str_eq(gt_store_get(t.store, path), "", "request cleared");
}

Test(pvguest, control_shutdown_poweroff)
{
	control_request("poweroff", SHUTDOWN_poweroff);
	cr_assert_not_null(strstr(t.out, "shutdown request \"poweroff\""));
}

Test(pvguest, control_shutdown_reboot)
{
	control_request("reboot", SHUTDOWN_reboot);
}

/* A shell command that shuts down, and the reason hvd reports. */
static void
shell_shutdown(const char *cmd, unsigned reason, uint32_t flag)
{
	struct hv_dominfo info;

	gt_type(&t, cmd);
	gt_type(&t, "\r");
	cr_assert(gt_wait_shutdown(&t, 5000, &info), "no shutdown after %s", cmd);
	cr_assert_eq(info.shutdown_reason, reason);
	cr_assert(info.flags & flag);
}

Test(pvguest, poweroff_command)
{
	shell_shutdown("poweroff", SHUTDOWN_poweroff, HV_DOMINF_SHUTDOWN);
	cr_assert_not_null(strstr(t.out, "pvguest: powering off"));
}

Test(pvguest, reboot_command)
{
	shell_shutdown("reboot", SHUTDOWN_reboot, HV_DOMINF_SHUTDOWN);
}

Test(pvguest, crash_command)
{
	shell_shutdown("crash", SHUTDOWN_crash, HV_DOMINF_CRASHED);
}

Test(pvguest, crash_die_without_hypercall)
{
	shell_shutdown("crash die", SHUTDOWN_crash, HV_DOMINF_CRASHED);
}

Test(pvguest, devices_lists_both_ends)
{
	char path[128], be[96];

	cr_assert_not_null(strstr(run("devices"), "no devices"));
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/0", t.domid);
	snprintf(path, sizeof(path), "%s/state", be);
	gt_store_set(t.store, path, "2");
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/0/backend", t.domid);
	gt_store_set(t.store, path, be);
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/0/backend-id", t.domid);
	gt_store_set(t.store, path, "0");
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/0/state", t.domid);
	gt_store_set(t.store, path, "1");
	const char *out = run("devices");
	char want[160];
	snprintf(want, sizeof(want), "vif/0: Initialising, backend dom0 InitWait (%s)", be);
	cr_assert_not_null(strstr(out, want), "%s", out);
}
