/* poweroff, reboot, crash: the three ways a guest asks to go. */
#include <stdlib.h>
#include <string.h>

#include "pvguest.h"

/* The guest asks to be powered off. */
static int
cmd_poweroff_exec(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pvguest_shutdown(pvguest_guest(sh), SHUTDOWN_poweroff);
}

const struct shell_cmd cmd_poweroff = {
	.sc_name = "poweroff", .sc_usage = "", .sc_help = "shut down (reason poweroff)",
	.sc_min = 0, .sc_max = 0, .sc_exec = cmd_poweroff_exec,
};

/* The guest asks to be rebooted (xl restarts it per on_reboot). */
static int
cmd_reboot_exec(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pvguest_shutdown(pvguest_guest(sh), SHUTDOWN_reboot);
}

const struct shell_cmd cmd_reboot = {
	.sc_name = "reboot", .sc_usage = "", .sc_help = "shut down (reason reboot)",
	.sc_min = 0, .sc_max = 0, .sc_exec = cmd_reboot_exec,
};

/* "crash" reports a crash through the hypercall; "crash die" dies without one. */
static int
cmd_crash_exec(struct shell *sh, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "die") == 0) {
		shell_printf(sh, "pvguest: dying without a word\n");
		abort();
	}
	if (argc == 2) {
		shell_printf(sh, "usage: crash [die]\n");
		return -1;
	}
	pvguest_shutdown(pvguest_guest(sh), SHUTDOWN_crash);
}

const struct shell_cmd cmd_crash = {
	.sc_name = "crash", .sc_usage = "[die]", .sc_help = "shut down (reason crash); die: abort",
	.sc_min = 0, .sc_max = 1, .sc_exec = cmd_crash_exec,
};
