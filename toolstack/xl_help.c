/* xl help [CMD]. */
#include <stdio.h>

#include "log.h"
#include "xl.h"

/* xl help [command]. */
static int
xl_help_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	const struct xl_cmd *cmd;

	(void)ctx;
	if (a->xa_argc == 0) {
		printf("Usage: xl [-v] <subcommand> [args]\n\nxl full list of subcommands:\n\n");
		for (size_t i = 0; xl_cmds[i]; i++)
			printf(" %-19s %s\n", xl_cmds[i]->xc_name, xl_cmds[i]->xc_summary);
		return 0;
	}
	if ((cmd = xl_cmd_find(a->xa_argv[0])) == NULL) {
		log_warnx("unknown command '%s'", a->xa_argv[0]);
		return 2;
	}
	xl_usage(stdout, cmd);
	return 0;
}

const struct xl_cmd xl_cmd_help = {
	.xc_name = "help",
	.xc_usage = "[command]",
	.xc_summary = "Print help for xl or for one command",
	.xc_opts = "",
	.xc_min_args = 0,
	.xc_max_args = 1,
	.xc_flags = 0,
	.xc_exec = xl_help_exec,
};
