/* Every xl command, in the order `xl help` lists them. */
#include <string.h>

#include "xl.h"

const struct xl_cmd *const xl_cmds[] = {
	&xl_cmd_create,
	&xl_cmd_list,
	&xl_cmd_destroy,
	&xl_cmd_shutdown,
	&xl_cmd_reboot,
	&xl_cmd_pause,
	&xl_cmd_unpause,
	&xl_cmd_console,
	&xl_cmd_rename,
	&xl_cmd_uptime,
	&xl_cmd_info,
	&xl_cmd_dmesg,
	&xl_cmd_domid,
	&xl_cmd_domname,
	&xl_cmd_block_attach,
	&xl_cmd_block_list,
	&xl_cmd_block_detach,
	&xl_cmd_network_attach,
	&xl_cmd_network_list,
	&xl_cmd_network_detach,
	&xl_cmd_vcpu_list,
	&xl_cmd_vcpu_pin,
	&xl_cmd_help,
	NULL,
};

/* The command called name. */
const struct xl_cmd *
xl_cmd_find(const char *name)
{
	for (size_t i = 0; xl_cmds[i]; i++)
		if (strcmp(xl_cmds[i]->xc_name, name) == 0)
			return xl_cmds[i];
	return NULL;
}
