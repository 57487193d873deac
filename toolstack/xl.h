/*
 * xl: the command table and what every command gets. Each command area is one
 * file exporting one const struct xl_cmd per command; xl_cmdtable.c lists them.
 * The table code (xl.c) parses options, answers -h, checks argument counts
 * and opens hvd and xenstore before exec runs, so a command does one job.
 */
#ifndef PVSTACK_XL_H
#define PVSTACK_XL_H

#include <stdio.h>

#include "libhv.h"
#include "xs.h"

#define XL_NEED_HV	0x1	/* open hvd before exec */
#define XL_NEED_XS	0x2	/* connect to xenstored before exec */

/* Parsed options and operands of one command. */
struct xl_args {
	int xa_count[128];		/* times each option letter was given */
	const char *xa_value[128];	/* last argument of options that take one */
	int xa_argc;			/* operands after the options */
	char **xa_argv;
};

struct xl_ctx {
	struct hv *xc_hv;
	struct xs *xc_xs;
	int xc_verbose;
};

struct xl_cmd {
	const char *xc_name;
	const char *xc_usage;	/* "[-l] [Domain...]" */
	const char *xc_summary;	/* one line for `xl help` */
	const char *xc_help;	/* option lines for `xl help CMD` / CMD -h */
	const char *xc_opts;	/* getopt letters ("lv", "c:"); -h is added */
	int xc_min_args;
	int xc_max_args;	/* -1: no limit */
	unsigned xc_flags;	/* XL_NEED_* */
	int (*xc_exec)(struct xl_ctx *ctx, struct xl_args *args);
};

/* xl_cmdtable.c */
extern const struct xl_cmd *const xl_cmds[];
const struct xl_cmd *xl_cmd_find(const char *name);

/* xl.c */
void xl_usage(FILE *f, const struct xl_cmd *cmd);
/* Whether option c was given. */
int xl_has(const struct xl_args *a, char c);
/* Opens hvd and/or xenstored (XL_NEED_*) unless open; -1 with a message. */
int xl_open(struct xl_ctx *ctx, unsigned flags);

extern const struct xl_cmd xl_cmd_create, xl_cmd_list, xl_cmd_destroy, xl_cmd_shutdown,
    xl_cmd_reboot, xl_cmd_pause, xl_cmd_unpause, xl_cmd_console, xl_cmd_rename,
    xl_cmd_uptime, xl_cmd_info, xl_cmd_dmesg, xl_cmd_domid, xl_cmd_domname, xl_cmd_help,
    xl_cmd_block_attach, xl_cmd_block_list, xl_cmd_block_detach, xl_cmd_network_attach,
    xl_cmd_network_list, xl_cmd_network_detach, xl_cmd_vcpu_list, xl_cmd_vcpu_pin;

#endif
