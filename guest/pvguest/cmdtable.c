/* Every shell command, one row each; a new device's commands are new rows. */
#include <stddef.h>

#include "pvguest.h"

const struct shell_cmd *const pvguest_cmds[] = {
	&cmd_help,
	&cmd_echo,
	&cmd_uptime,
	&cmd_info,
	&cmd_xs,
	&cmd_devices,
	&cmd_blk,
	&cmd_net,
	&cmd_poweroff,
	&cmd_reboot,
	&cmd_crash,
	NULL,
};

/* Commands reach the guest through the shell's context. */
struct guest *
pvguest_guest(struct shell *sh)
{
	return sh->sh_ctx;
}
