/*
 * control/shutdown: the toolstack writes "poweroff", "halt" or "reboot"; we
 * clear the node in a transaction (so the request is taken once, as Linux
 * does), then shut down with that reason.
 */
#include <stdlib.h>
#include <string.h>

#include "pvguest.h"

#define CONTROL_SHUTDOWN "control/shutdown"

struct control_req {
	char *cr_value;		/* what was asked, NULL if nothing */
};

/* Transaction body: take the request and clear the node. */
static int
control_take(struct xenbus *xb, xenbus_tx_t tx, void *arg)
{
	struct control_req *req = arg;

	free(req->cr_value);
	req->cr_value = xenbus_read(xb, tx, CONTROL_SHUTDOWN, NULL);
	if (req->cr_value == NULL || req->cr_value[0] == '\0')
		return 0;
	return xenbus_write(xb, tx, CONTROL_SHUTDOWN, "");
}

/* Watch callback; the initial event finds the node empty or absent. */
static void
control_shutdown_changed(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	struct guest *g = arg;
	struct control_req req = { NULL };

	(void)path;
	(void)token;
	/* "pvguest.ignore_shutdown" on the command line plays a hung guest: it
	 * neither acknowledges nor obeys, so the toolstack must give up or destroy */
	if (strstr((const char *)g->g_start.cmd_line, "pvguest.ignore_shutdown")) {
		char *v = xenbus_read(xb, XENBUS_TX_NONE, CONTROL_SHUTDOWN, NULL);
		if (v && v[0])
			console_printf(g->g_cons, "\npvguest: ignoring shutdown request \"%s\"\n", v);
		free(v);
		return;
	}
	/* nothing asked (the watch's first event, every clear): no transaction */
	char *asked = xenbus_read(xb, XENBUS_TX_NONE, CONTROL_SHUTDOWN, NULL);
	bool empty = asked == NULL || asked[0] == '\0';
	free(asked);
	if (empty)
		return;
	if (xenbus_transaction(xb, control_take, &req) < 0 || req.cr_value == NULL ||
	    req.cr_value[0] == '\0') {
		free(req.cr_value);
		return;
	}
	console_printf(g->g_cons, "\npvguest: shutdown request \"%s\"\n", req.cr_value);
	if (strcmp(req.cr_value, "poweroff") == 0 || strcmp(req.cr_value, "halt") == 0)
		pvguest_shutdown(g, SHUTDOWN_poweroff);
	if (strcmp(req.cr_value, "reboot") == 0)
		pvguest_shutdown(g, SHUTDOWN_reboot);
	console_printf(g->g_cons, "pvguest: unknown shutdown request ignored\n");
	free(req.cr_value);
}

/* Tells the toolstack we handle poweroff and reboot, then listens for them
 * (inside the caller's xenbus batch, its end has the answers). */
int
control_init(struct guest *g)
{
	if (xenbus_write(g->g_xb, XENBUS_TX_NONE, "control/feature-poweroff", "1") < 0 ||
	    xenbus_write(g->g_xb, XENBUS_TX_NONE, "control/feature-reboot", "1") < 0)
		return -1;
	return xenbus_watch(g->g_xb, CONTROL_SHUTDOWN, "control-shutdown",
	    control_shutdown_changed, g);
}
