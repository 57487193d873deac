/*
 * control/shutdown for a Linux guest: the request is taken once (cleared in a
 * transaction, as Linux's xenbus driver does) and handed to the kernel as a
 * clean shutdown; the domain's reason is what was asked.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define SHIM_CONTROL "control/shutdown"

static int
shim_control_take(struct xenbus *xb, xenbus_tx_t tx, void *arg)
{
	char **value = arg;

	free(*value);
	*value = xenbus_read(xb, tx, SHIM_CONTROL, NULL);
	if (*value == NULL || (*value)[0] == '\0')
		return 0;
	return xenbus_write(xb, tx, SHIM_CONTROL, "");
}

static void
shim_control_changed(struct xenbus *xb, const char *path, const char *token, void *arg)
{
	struct shim *s = arg;
	char *value = NULL;
	unsigned reason;

	(void)path;
	(void)token;
	if (xenbus_transaction(xb, shim_control_take, &value) < 0 || value == NULL ||
	    value[0] == '\0') {
		free(value);
		return;
	}
	if (strcmp(value, "poweroff") == 0 || strcmp(value, "halt") == 0)
		reason = SHUTDOWN_poweroff;
	else if (strcmp(value, "reboot") == 0)
		reason = SHUTDOWN_reboot;
	else {
		console_printf(s->s_g->g_cons, "\numlshim: unknown shutdown request \"%s\"\n", value);
		free(value);
		return;
	}
	free(value);
	if (s->s_uml <= 0)
		guest_shutdown(s->s_g, reason);
	shim_uml_request(s, reason);
}

int
shim_control_init(struct shim *s)
{
	struct xenbus *xb = s->s_g->g_xb;

	if (xenbus_write(xb, XENBUS_TX_NONE, "control/feature-poweroff", "1") < 0 ||
	    xenbus_write(xb, XENBUS_TX_NONE, "control/feature-reboot", "1") < 0)
		return -1;
	return xenbus_watch(xb, SHIM_CONTROL, "control-shutdown", shim_control_changed, s);
}
