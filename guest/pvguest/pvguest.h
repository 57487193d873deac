/* pvguest, the small guest program: its commands and its control node. */
#ifndef PVGUEST_PVGUEST_H
#define PVGUEST_PVGUEST_H

#include "guest.h"
#include "shell.h"

/* The command table (cmdtable.c) and its rows, one per command file. */
extern const struct shell_cmd *const pvguest_cmds[];
extern const struct shell_cmd cmd_help;
extern const struct shell_cmd cmd_echo;
extern const struct shell_cmd cmd_uptime;
extern const struct shell_cmd cmd_info;
extern const struct shell_cmd cmd_poweroff;
extern const struct shell_cmd cmd_reboot;
extern const struct shell_cmd cmd_crash;
extern const struct shell_cmd cmd_xs;
extern const struct shell_cmd cmd_devices;
extern const struct shell_cmd cmd_blk;
extern const struct shell_cmd cmd_net;

/* The guest the shell's commands act on. */
struct guest *pvguest_guest(struct shell *sh);
/* Says why on the console and shuts down with reason. */
_Noreturn void pvguest_shutdown(struct guest *g, unsigned reason);
/* Advertises feature-poweroff/reboot and watches control/shutdown. */
int control_init(struct guest *g);

#endif
