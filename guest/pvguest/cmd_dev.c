/* devices: what the toolstack put under device/, with both ends' states. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend.h"
#include "pvguest.h"
#include "xb_msg.h"

/* One line per device of kind. */
static void
cmd_devices_kind(struct shell *sh, struct guest *g, const char *kind)
{
	unsigned num;
	char **ids = frontend_list(g, kind, &num);

	if (ids == NULL)
		return;
	for (unsigned i = 0; i < num; i++) {
		struct frontend fe;
		if (frontend_init(&fe, g, kind, ids[i]) < 0) {
			shell_printf(sh, "%s/%s: no backend (%s)\n", kind, ids[i], xb_msg_errname(errno));
			continue;
		}
		XenbusState fs = xenbus_read_state(g->g_xb, XENBUS_TX_NONE, fe.fe_dir);
		XenbusState bs = xenbus_read_state(g->g_xb, XENBUS_TX_NONE, fe.fe_backend);
		shell_printf(sh, "%s/%s: %s, backend dom%u %s (%s)\n", kind, ids[i],
		    xenbus_state_name(fs), fe.fe_backend_id, xenbus_state_name(bs), fe.fe_backend);
	}
	free(ids);
}

/* Every kind under device/, or the one named. */
static int
cmd_devices_exec(struct shell *sh, int argc, char **argv)
{
	struct guest *g = pvguest_guest(sh);
	unsigned num;

	if (argc == 2) {
		cmd_devices_kind(sh, g, argv[1]);
		return 0;
	}
	char **kinds = xenbus_ls(g->g_xb, XENBUS_TX_NONE, "device", &num);
	if (kinds == NULL || num == 0) {
		shell_printf(sh, "no devices\n");
		free(kinds);
		return 0;
	}
	for (unsigned i = 0; i < num; i++)
		cmd_devices_kind(sh, g, kinds[i]);
	free(kinds);
	return 0;
}

const struct shell_cmd cmd_devices = {
	.sc_name = "devices", .sc_usage = "[KIND]", .sc_help = "device/ entries and both ends' states",
	.sc_min = 0, .sc_max = 1, .sc_exec = cmd_devices_exec,
};
