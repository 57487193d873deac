/* xs read/write/ls/rm/mkdir: the guest's own view of xenstore, over its ring. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pvguest.h"
#include "xb_msg.h"
#include "xmalloc.h"

/* "xs write: /local/domain/0/x: EACCES (Permission denied)" */
static int
cmd_xs_fail(struct shell *sh, const char *op, const char *path)
{
	int err = errno;

	shell_printf(sh, "xs %s: %s: %s (%s)\n", op, path, xb_msg_errname(err), strerror(err));
	return -1;
}

/* The raw value, then a newline. */
static int
cmd_xs_read_exec(struct shell *sh, int argc, char **argv)
{
	size_t len;
	char *val = xenbus_read(pvguest_guest(sh)->g_xb, XENBUS_TX_NONE, argv[1], &len);

	(void)argc;
	if (val == NULL)
		return cmd_xs_fail(sh, "read", argv[1]);
	shell_write(sh, val, len);
	shell_write(sh, "\n", 1);
	free(val);
	return 0;
}

static const struct shell_cmd cmd_xs_read = {
	.sc_name = "read", .sc_usage = "PATH", .sc_help = "print a node's value",
	.sc_min = 1, .sc_max = 1, .sc_exec = cmd_xs_read_exec,
};

/* The value is one word (quote it to keep blanks). */
static int
cmd_xs_write_exec(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	if (xenbus_write(pvguest_guest(sh)->g_xb, XENBUS_TX_NONE, argv[1], argv[2]) < 0)
		return cmd_xs_fail(sh, "write", argv[1]);
	shell_printf(sh, "ok\n");
	return 0;
}

static const struct shell_cmd cmd_xs_write = {
	.sc_name = "write", .sc_usage = "PATH VALUE", .sc_help = "set a node (\"quote\" spaces)",
	.sc_min = 2, .sc_max = 2, .sc_exec = cmd_xs_write_exec,
};

/* Children one per line; no PATH lists our home, whose path we ask xenstored. */
static int
cmd_xs_ls_exec(struct shell *sh, int argc, char **argv)
{
	const char *path = argc == 2 ? argv[1] : "";
	unsigned num;

	if (*path == '\0') {	/* our home: relative "" is not a path, ask for it */
		char *home = xenbus_domain_path(pvguest_guest(sh)->g_xb, pvguest_guest(sh)->g_domid);
		if (home == NULL)
			return cmd_xs_fail(sh, "ls", "~");
		int rc = cmd_xs_ls_exec(sh, 2, (char *[]){ argv[0], home, NULL });
		free(home);
		return rc;
	}
	char **names = xenbus_ls(pvguest_guest(sh)->g_xb, XENBUS_TX_NONE, path, &num);
	if (names == NULL)
		return cmd_xs_fail(sh, "ls", path);
	for (unsigned i = 0; i < num; i++)
		shell_printf(sh, "%s\n", names[i]);
	free(names);
	return 0;
}

static const struct shell_cmd cmd_xs_ls = {
	.sc_name = "ls", .sc_usage = "[PATH]", .sc_help = "list children (default: our home)",
	.sc_min = 0, .sc_max = 1, .sc_exec = cmd_xs_ls_exec,
};

/* Removes a node and everything below it. */
static int
cmd_xs_rm_exec(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	if (xenbus_rm(pvguest_guest(sh)->g_xb, XENBUS_TX_NONE, argv[1]) < 0)
		return cmd_xs_fail(sh, "rm", argv[1]);
	shell_printf(sh, "ok\n");
	return 0;
}

static const struct shell_cmd cmd_xs_rm = {
	.sc_name = "rm", .sc_usage = "PATH", .sc_help = "remove a node and its children",
	.sc_min = 1, .sc_max = 1, .sc_exec = cmd_xs_rm_exec,
};

/* Creates an empty node (no watch fires if it exists). */
static int
cmd_xs_mkdir_exec(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	if (xenbus_mkdir(pvguest_guest(sh)->g_xb, XENBUS_TX_NONE, argv[1]) < 0)
		return cmd_xs_fail(sh, "mkdir", argv[1]);
	shell_printf(sh, "ok\n");
	return 0;
}

static const struct shell_cmd cmd_xs_mkdir = {
	.sc_name = "mkdir", .sc_usage = "PATH", .sc_help = "create an empty node",
	.sc_min = 1, .sc_max = 1, .sc_exec = cmd_xs_mkdir_exec,
};

#define CMD_XS_TREE_DEPTH 16

/* One level of xs tree: name = "value", then the children one space deeper. */
static void
cmd_xs_tree_walk(struct shell *sh, struct xenbus *xb, const char *path, int depth)
{
	unsigned num;
	char **names = xenbus_ls(xb, XENBUS_TX_NONE, path, &num);

	if (names == NULL) {
		shell_printf(sh, "%*s(%s)\n", depth, "", xb_msg_errname(errno));
		return;
	}
	for (unsigned i = 0; i < num; i++) {
		char *child;
		xasprintf(&child, "%s/%s", path, names[i]);
		char *val = xenbus_read(xb, XENBUS_TX_NONE, child, NULL);
		shell_printf(sh, "%*s%s = \"%s\"\n", depth, "", names[i], val != NULL ? val : "");
		free(val);
		if (depth + 1 < CMD_XS_TREE_DEPTH)
			cmd_xs_tree_walk(sh, xb, child, depth + 1);
		free(child);
	}
	free(names);
}

/* The subtree under PATH as xenstore-ls prints it (default: our home). */
static int
cmd_xs_tree_exec(struct shell *sh, int argc, char **argv)
{
	struct guest *g = pvguest_guest(sh);
	char *home = NULL;
	const char *path = argc == 2 ? argv[1] : NULL;

	if (path == NULL) {
		home = xenbus_domain_path(g->g_xb, g->g_domid);
		if (home == NULL)
			return cmd_xs_fail(sh, "tree", "~");
		path = home;
	}
	cmd_xs_tree_walk(sh, g->g_xb, path, 0);
	free(home);
	return 0;
}

static const struct shell_cmd cmd_xs_tree = {
	.sc_name = "tree", .sc_usage = "[PATH]", .sc_help = "the subtree, as xenstore-ls prints it",
	.sc_min = 0, .sc_max = 1, .sc_exec = cmd_xs_tree_exec,
};

/* Round trips over the ring: N reads of PATH, timed. */
static int
cmd_xs_bench_exec(struct shell *sh, int argc, char **argv)
{
	struct guest *g = pvguest_guest(sh);
	long n = argc >= 2 ? strtol(argv[1], NULL, 10) : 1000;
	const char *path = argc == 3 ? argv[2] : "name";

	if (n <= 0 || n > 10000000) {
		shell_printf(sh, "xs bench: count out of range\n");
		return -1;
	}
	long long start = events_now_ms();
	for (long i = 0; i < n; i++) {
		char *v = xenbus_read(g->g_xb, XENBUS_TX_NONE, path, NULL);
		if (v == NULL)
			return cmd_xs_fail(sh, "bench", path);
		free(v);
	}
	long long ms = events_now_ms() - start;
	shell_printf(sh, "xs bench: %ld reads in %lld ms, %lld us/read\n", n, ms,
	    ms * 1000 / n);
	return 0;
}

static const struct shell_cmd cmd_xs_bench = {
	.sc_name = "bench", .sc_usage = "[COUNT [PATH]]", .sc_help = "time COUNT reads (1000 of name)",
	.sc_min = 0, .sc_max = 2, .sc_exec = cmd_xs_bench_exec,
};

static const struct shell_cmd *const cmd_xs_table[] = {
	&cmd_xs_read, &cmd_xs_write, &cmd_xs_ls, &cmd_xs_tree, &cmd_xs_rm, &cmd_xs_mkdir,
	&cmd_xs_bench, NULL,
};

const struct shell_cmd cmd_xs = {
	.sc_name = "xs", .sc_usage = "read|write|ls|tree|rm|mkdir|bench ...",
	.sc_help = "xenstore (relative paths: our home)",
	.sc_min = 1, .sc_max = -1, .sc_sub = cmd_xs_table, .sc_exec = NULL,
};
