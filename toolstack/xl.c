/*
 * xl's main: global options, then the command's own options parsed once here
 * for every command (with -h and argument counts), then exec.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xl.h"

/* Long spellings accepted for short options (xendomains uses --wait, --quiet). */
static const struct { const char *name; char c; } xl_long_names[] = {
	{ "wait", 'w' }, { "all", 'a' }, { "quiet", 'q' }, { "long", 'l' }, { "verbose", 'v' },
	{ "force", 'f' }, { "defconfig", 'f' }, { "dryrun", 'n' }, { "type", 't' },
	{ "paused", 'p' }, { "console", 'c' }, { "foreground", 'F' }, { "clear", 'c' },
};

/* Prints "Usage: xl CMD ARGS" and the command's help. */
void
xl_usage(FILE *f, const struct xl_cmd *cmd)
{
	fprintf(f, "Usage: xl %s %s\n\n%s.\n", cmd->xc_name, cmd->xc_usage, cmd->xc_summary);
	if (cmd->xc_help && *cmd->xc_help)
		fprintf(f, "\nOptions:\n\n%s", cmd->xc_help);
}

/* Whether option c was given. */
int
xl_has(const struct xl_args *a, char c)
{
	return a->xa_count[(unsigned char)c & 127] > 0;
}

/* Builds getopt_long's tables from the command's letters. */
static void
xl_optstring(const struct xl_cmd *cmd, char *shortopts, size_t len, struct option *lo)
{
	size_t n = 0;

	snprintf(shortopts, len, "+h%s", cmd->xc_opts);
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (size_t i = 0; i < sizeof(xl_long_names) / sizeof(xl_long_names[0]); i++) {
		const char *p = strchr(cmd->xc_opts, xl_long_names[i].c);
		if (p == NULL)
			continue;
		lo[n++] = (struct option){ xl_long_names[i].name,
		    p[1] == ':' ? required_argument : no_argument, NULL, xl_long_names[i].c };
	}
	lo[n] = (struct option){ 0 };
}

/* Parses the command's options; 0, 1 when -h was asked, -1 on a usage error. */
static int
xl_parse(const struct xl_cmd *cmd, int argc, char **argv, struct xl_args *a)
{
	struct option lo[sizeof(xl_long_names) / sizeof(xl_long_names[0]) + 2];
	char shortopts[64];
	int c;

	xl_optstring(cmd, shortopts, sizeof(shortopts), lo);
	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == '?' || c == ':')
			return -1;
		a->xa_count[c & 127]++;
		if (optarg)
			a->xa_value[c & 127] = optarg;
	}
	a->xa_argc = argc - optind;
	a->xa_argv = argv + optind;
	if (a->xa_argc < cmd->xc_min_args ||
	    (cmd->xc_max_args >= 0 && a->xa_argc > cmd->xc_max_args))
		return -1;
	return 0;
}

/* Opens what the command needs; messages say which daemon is missing. */
int
xl_open(struct xl_ctx *ctx, unsigned flags)
{
	if ((flags & XL_NEED_HV) && !ctx->xc_hv && (ctx->xc_hv = hv_open(NULL)) == NULL) {
		log_warn("cannot connect to hvd (is it running? xencommons start)");
		return -1;
	}
	if ((flags & XL_NEED_XS) && !ctx->xc_xs && (ctx->xc_xs = xs_open(NULL)) == NULL) {
		log_warn("cannot connect to xenstored at %s (is it running? xencommons start)",
		    xs_socket_path());
		return -1;
	}
	return 0;
}

/* Prints the top-level usage. */
static void
xl_main_usage(FILE *f)
{
	fprintf(f, "Usage: xl [-v] <subcommand> [args]\n\nxl full list of subcommands:\n\n");
	for (size_t i = 0; xl_cmds[i]; i++)
		fprintf(f, " %-19s %s\n", xl_cmds[i]->xc_name, xl_cmds[i]->xc_summary);
}

int
main(int argc, char **argv)
{
	struct xl_ctx ctx = { 0 };
	const struct xl_cmd *cmd;
	struct xl_args args;
	int i = 1, rc;

	log_init("xl", 0, LOG_TO_STDERR);
	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0)
			ctx.xc_verbose++;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			xl_main_usage(stdout);
			return 0;
		} else {
			xl_main_usage(stderr);
			return 2;
		}
	}
	log_init("xl", ctx.xc_verbose, LOG_TO_STDERR);
	if (i >= argc) {
		xl_main_usage(stderr);
		return 2;
	}
	if ((cmd = xl_cmd_find(argv[i])) == NULL) {
		fprintf(stderr, "xl: unknown command '%s'\n\n", argv[i]);
		xl_main_usage(stderr);
		return 2;
	}
	rc = xl_parse(cmd, argc - i, argv + i, &args);
	if (rc != 0) {
		xl_usage(rc > 0 ? stdout : stderr, cmd);
		return rc > 0 ? 0 : 2;
	}
	if (xl_open(&ctx, cmd->xc_flags) < 0)
		rc = 1;
	else
		rc = cmd->xc_exec(&ctx, &args);
	if (ctx.xc_xs)
		xs_close(ctx.xc_xs);
	if (ctx.xc_hv)
		hv_close(ctx.xc_hv);
	return rc;
}
