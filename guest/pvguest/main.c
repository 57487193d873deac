/*
 * pvguest: the small guest kernel. Boots the runtime, says who it is on the
 * console, answers control/shutdown and runs the shell until told to stop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "blkfront.h"
#include "hv_elfnote.h"
#include "net_stack.h"
#include "pvguest.h"

HV_GUEST_ELFNOTE();

static const char *const pvguest_reason[] = {
	[SHUTDOWN_poweroff] = "powering off",
	[SHUTDOWN_reboot] = "rebooting",
	[SHUTDOWN_suspend] = "suspending",
	[SHUTDOWN_crash] = "crashing",
};

/* Says why on the console, then the hypercall. */
_Noreturn void
pvguest_shutdown(struct guest *g, unsigned reason)
{
	const char *what = reason < sizeof(pvguest_reason) / sizeof(pvguest_reason[0]) &&
	    pvguest_reason[reason] != NULL ? pvguest_reason[reason] : "shutting down";

	console_printf(g->g_cons, "pvguest: %s\n", what);
	guest_shutdown(g, reason);
}

/* blkfront and netfront say on the console what happens to each device. */
static void
pvguest_blk_report(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_vprintf(g->g_cons, fmt, ap);
	va_end(ap);
}

/* The shell writes on the console. */
static void
pvguest_out(void *arg, const char *buf, size_t len)
{
	struct guest *g = arg;

	console_write(g->g_cons, buf, len);
}

/* Feeds what was typed to the shell; returns whether anything came. */
static int
pvguest_read_input(struct guest *g, struct shell *sh)
{
	char buf[128];
	ssize_t n = console_read(g->g_cons, buf, sizeof(buf));

	if (n > 0)
		shell_input(sh, buf, (size_t)n);
	return n > 0;
}

/* Boot, banner, control node, then the shell until a shutdown. */
int
main(void)
{
	static struct guest g;
	static struct shell sh;

	if (guest_boot(&g) < 0)
		return 1;
	/* control's writes and watch go with the name's read: one round trip */
	xenbus_batch_begin(g.g_xb);
	int ctl = control_init(&g), ctl_err = errno;
	char *name = xenbus_read(g.g_xb, XENBUS_TX_NONE, "name", NULL);
	if (xenbus_batch_end(g.g_xb) < 0 && ctl == 0) {
		ctl = -1;
		ctl_err = errno;
	}
	console_printf(g.g_cons, "pvstack guest %u (%s) booting\n", g.g_domid,
	    name != NULL ? name : "?");
	free(name);
	if (g.g_start.cmd_line[0] != '\0')
		console_printf(g.g_cons, "cmdline: %s\n", (const char *)g.g_start.cmd_line);
	if (ctl < 0)
		console_printf(g.g_cons, "pvguest: control/shutdown unavailable: %s\n",
		    strerror(ctl_err));
	if (blkfront_bus_init(&g, pvguest_blk_report) < 0)
		console_printf(g.g_cons, "pvguest: device/vbd unwatched: %s\n", strerror(errno));
	if (net_stack_init(&g, pvguest_blk_report) < 0)
		console_printf(g.g_cons, "pvguest: device/vif unwatched: %s\n", strerror(errno));
	shell_init(&sh, pvguest_cmds, SHELL_PROMPT, pvguest_out, &g, &g);
	shell_prompt(&sh);
	for (;;) {
		int busy = xenbus_dispatch_watches(g.g_xb) > 0;
		busy |= pvguest_read_input(&g, &sh);
		if (events_poll(g.g_ev, busy || xenbus_has_events(g.g_xb) ? 0 : -1) < 0) {
			console_early_printf(g.g_hv, "pvguest: event loop: %s\n", strerror(errno));
			guest_shutdown(&g, SHUTDOWN_crash);
		}
	}
}
