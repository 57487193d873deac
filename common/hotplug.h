/*
 * Running a hotplug script the way libxl does (run_hotplug_scripts=1), from a
 * backend daemon's libevent loop: the daemon keeps serving while the script
 * runs, and learns the outcome through a callback.
 *
 * The contract the script sees (Xen's, reference devices.md §5.1):
 *   argv	script, "add" | "remove" | "online" | "offline", then hr_args
 *		(vif-bridge wants "type_if=vif")
 *   env	the daemon's environment plus
 *		XENBUS_PATH=<backend dir>	(absolute: /local/domain/0/backend/vbd/5/51712)
 *		XENBUS_TYPE=<kind>		("vbd", "vif")
 *		XENBUS_BASE_PATH=backend
 *		script=<script path>
 *		and hr_env ("vif=vif5.0", "bridge=xenbr0", ... per kind)
 *   stdin	/dev/null; stdout and stderr both captured (stdout goes to stderr in libxl)
 *   session	its own (setsid), so a timeout kills the script and everything it started
 *   time	hr_timeout_ms (default HOTPLUG_TIMEOUT_MS, libxl's 40 s), then SIGKILL
 *
 * What is recorded in the backend directory when the script has ended, in one
 * transaction (nothing when the directory is gone by then: a device removed
 * while its script ran is not brought back):
 *   hotplug-exit-status	the exit code ("0", "1"), or "signal N" / "timeout"
 *   hotplug-stderr		the last HOTPLUG_STDERR_MAX bytes of its output
 *   on failure (non-zero exit, signal, timeout, or the script could not be run):
 *   hotplug-error		ours ("<script> add: exit status 1: <last line>"),
 *				unless the script wrote its own (Xen's fatal() does)
 *   hotplug-status		"error", unless the script said "busy" or "error" itself
 * Every line of output is also appended to $PVSTACK_LOGDIR/xen-hotplug.log,
 * as Xen's scripts append theirs to /var/log/xen/xen-hotplug.log.
 *
 * The callback runs once, after those writes have been answered (so a backend
 * that proceeds on success finds the keys in place), unless hotplug_cancel
 * was called first. Children are reaped through a pidfd: a caller must not
 * reap unknown children with waitpid(-1) (use pidfds or waitpid(pid) too).
 *
 * Usage (blkback, on a vbd that names script=):
 *
 *	struct hotplug_req r = { .hr_script = script, .hr_action = HOTPLUG_ADD,
 *	    .hr_kind = "vbd", .hr_backend_dir = be_dir };
 *	vbd->hp = hotplug_run(base, xsa, &r, vbd_script_done, vbd);
 *	...
 *	static void vbd_script_done(struct hotplug *hp, const struct hotplug_result *res, void *arg)
 *	{	vbd->hp = NULL;
 *		if (!res->hres_ok) -> the keys above tell the toolstack; close the device
 *		else -> read physical-device and open it }
 */
#ifndef PVSTACK_HOTPLUG_H
#define PVSTACK_HOTPLUG_H

#include <stdbool.h>
#include <sys/types.h>

#define HOTPLUG_TIMEOUT_MS	40000	/* LIBXL_HOTPLUG_TIMEOUT */
#define HOTPLUG_STDERR_MAX	1000	/* bytes of output kept in hotplug-stderr */

struct event_base;
struct xsa;
struct hotplug;

enum hotplug_action {
	HOTPLUG_ADD,
	HOTPLUG_REMOVE,
	HOTPLUG_ONLINE,
	HOTPLUG_OFFLINE,
};

struct hotplug_req {
	const char *hr_script;		/* absolute path: the backend's "script" key */
	enum hotplug_action hr_action;
	const char *hr_kind;		/* XENBUS_TYPE: "vbd", "vif" */
	const char *hr_backend_dir;	/* XENBUS_PATH, and where the outcome is recorded */
	const char *const *hr_args;	/* more argv after the action; NULL-terminated or NULL */
	const char *const *hr_env;	/* more "NAME=value"; NULL-terminated or NULL */
	int hr_timeout_ms;		/* 0: HOTPLUG_TIMEOUT_MS */
};

struct hotplug_result {
	bool hres_ok;			/* exited with status 0 */
	int hres_exit;			/* exit code; -1 when killed or not run */
	int hres_signal;		/* the signal that killed it, 0 if none */
	bool hres_timed_out;
	const char *hres_output;	/* the last HOTPLUG_STDERR_MAX bytes of output */
	const char *hres_error;		/* why it failed, for logs; NULL when ok */
	int hres_xs_err;		/* 0, or the errno of recording the keys */
};

/* Runs once per request, after the outcome has been recorded. */
typedef void (*hotplug_done_cb)(struct hotplug *hp, const struct hotplug_result *res,
    void *arg);

/*
 * Starts the script; the handle lives until the callback has returned (or
 * until the script has ended, after hotplug_cancel). xsa NULL: nothing is
 * recorded in xenstore. Returns NULL with errno only when nothing could be
 * started at all (fork or pipe failed); a script that cannot be executed is
 * reported through the callback like any failure (exit status 127).
 */
struct hotplug *hotplug_run(struct event_base *base, struct xsa *xsa,
    const struct hotplug_req *req, hotplug_done_cb done, void *arg);

/* Kills the script's session and drops the callback; the handle frees itself. */
void hotplug_cancel(struct hotplug *hp);

/* The script's pid (tests, logs); -1 once reaped. */
pid_t hotplug_pid(const struct hotplug *hp);

/* "add", "remove", "online", "offline". */
const char *hotplug_action_name(enum hotplug_action a);

#endif
