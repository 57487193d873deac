/* help, echo, uptime, info: commands about the shell and the guest itself. */
#include <string.h>

#include "pvguest.h"

/* help lists every row; "help xs" lists a command's sub-table. */
static int
cmd_help_exec(struct shell *sh, int argc, char **argv)
{
	if (argc == 2) {
		const struct shell_cmd *c = shell_find(sh->sh_table, argv[1]);
		if (c == NULL) {
			shell_printf(sh, "help: no command %s\n", argv[1]);
			return -1;
		}
		if (c->sc_sub != NULL)
			shell_help_table(sh, c->sc_sub, c->sc_name);
		else
			shell_help_table(sh, (const struct shell_cmd *const[]){ c, NULL }, "");
		return 0;
	}
	shell_printf(sh, "commands:\n");
	shell_help_table(sh, sh->sh_table, "");
	return 0;
}

const struct shell_cmd cmd_help = {
	.sc_name = "help", .sc_usage = "[COMMAND]", .sc_help = "list commands",
	.sc_min = 0, .sc_max = 1, .sc_exec = cmd_help_exec,
};

/* Words back, one blank apart: tests use it to check the console both ways. */
static int
cmd_echo_exec(struct shell *sh, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		shell_printf(sh, "%s%s", i > 1 ? " " : "", argv[i]);
	shell_write(sh, "\n", 1);
	return 0;
}

const struct shell_cmd cmd_echo = {
	.sc_name = "echo", .sc_usage = "[WORD...]", .sc_help = "print the words",
	.sc_min = 0, .sc_max = -1, .sc_exec = cmd_echo_exec,
};

/* Time since guest_boot, in H:MM:SS and seconds. */
static int
cmd_uptime_exec(struct shell *sh, int argc, char **argv)
{
	long long ms = guest_uptime_ms(pvguest_guest(sh));
	long long s = ms / 1000;

	(void)argc;
	(void)argv;
	shell_printf(sh, "up %lld:%02lld:%02lld (%lld.%03lld s)\n", s / 3600, s / 60 % 60, s % 60,
	    s, ms % 1000);
	return 0;
}

const struct shell_cmd cmd_uptime = {
	.sc_name = "uptime", .sc_usage = "", .sc_help = "time since boot",
	.sc_min = 0, .sc_max = 0, .sc_exec = cmd_uptime_exec,
};

/* What start_info and the page pool say about this domain. */
static int
cmd_info_exec(struct shell *sh, int argc, char **argv)
{
	struct guest *g = pvguest_guest(sh);

	(void)argc;
	(void)argv;
	shell_printf(sh, "domid %u, %llu pages (%llu free), store mfn %llu port %u, "
	    "console mfn %llu port %u\n", g->g_domid,
	    (unsigned long long)g->g_info->nr_pages, (unsigned long long)g->g_pages.pp_nfree,
	    (unsigned long long)g->g_start.store_mfn, g->g_start.store_evtchn,
	    (unsigned long long)g->g_start.console.domU.mfn, g->g_start.console.domU.evtchn);
	shell_printf(sh, "cmdline: %s\n", (const char *)g->g_start.cmd_line);
	return 0;
}

const struct shell_cmd cmd_info = {
	.sc_name = "info", .sc_usage = "", .sc_help = "domain id, memory, rings, cmdline",
	.sc_min = 0, .sc_max = 0, .sc_exec = cmd_info_exec,
};
