/*
 * xenstore-{read,write,rm,list,exists,ls,watch,chmod}: one multicall program
 * chosen by argv[0], with the options, output and exit codes of Xen's
 * xenstore_client. As there, every command except ls and watch runs in one
 * transaction, retried on EAGAIN, and prints its output after the commit.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "xmalloc.h"
#include "xs.h"

struct tool_opts {
	bool prefix;		/* -p */
	bool raw;		/* -R */
	bool tidy;		/* -t */
	bool recurse;		/* -r */
	bool upto;		/* -u */
	bool full;		/* -f */
	long count;		/* -n */
};

struct tool {
	const char *t_name;
	const char *t_optstring;
	const char *t_usage;
	int t_min, t_pairs;	/* minimum operands; operands must come in pairs */
	bool t_tx;		/* runs in a transaction */
	int (*t_fn)(struct xs *, xs_tx_t, FILE *, const struct tool_opts *, int, char **);
};

static const struct tool *tool_cur;
static const char *tool_argv0;

/* The value as Xen's tools print it: printable ASCII as is, the rest escaped. */
static char *
tool_sanitise(const char *val, size_t len)
{
	char *out = xmalloc(len * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = val[i];

		if (ch == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (ch >= ' ' && ch <= '~') {
			*o++ = ch;
		} else if (ch == '\t') {
			o += sprintf(o, "\\t");
		} else if (ch == '\n') {
			o += sprintf(o, "\\n");
		} else if (ch == '\r') {
			o += sprintf(o, "\\r");
		} else if (ch < 010) {
			o += sprintf(o, "\\%03o", ch);
		} else {
			o += sprintf(o, "\\x%02x", ch);
		}
	}
	*o = '\0';
	return out;
}

/* The inverse, for xenstore-write without -R: \t \n \r \\ \xHH \ooo, else the char. */
static char *
tool_unsanitise(const char *in, size_t *len)
{
	char *out = xmalloc(strlen(in) + 2), *o = out;
	unsigned v;
	int n;
	char ch;

	while ((ch = *in++) != '\0') {
		if (ch != '\\') {
			*o++ = ch;
			continue;
		}
		ch = *in++;
		switch (ch) {
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 'x':
			n = 0;
			if (sscanf(in, "%2x%n", &v, &n) >= 1 && n > 0) {
				*o++ = (char)v;
				in += n;
			} else {
				*o++ = 'x';
			}
			break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			n = 0;
			in--;
			sscanf(in, "%3o%n", &v, &n);
			*o++ = (char)v;
			in += n;
			break;
		default:
			*o++ = ch;
			if (ch == '\0') {
				*len = o - out;
				return out;
			}
		}
	}
	*len = o - out;
	return out;
}

/* xenstore-read: values, sanitised unless -R. */
static int
tool_read(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		size_t len;
		char *val = xs_read(xs, tx, argv[i], &len), *s;

		if (val == NULL) {
			warnx("couldn't read path %s", argv[i]);
			return 1;
		}
		if (o->prefix)
			fprintf(out, "%s: ", argv[i]);
		if (o->raw) {
			fwrite(val, 1, len, out);
		} else {
			s = tool_sanitise(val, len);
			fputs(s, out);
			fputc('\n', out);
			free(s);
		}
		free(val);
	}
	return 0;
}

/* xenstore-write key value...: values unsanitised unless -R. */
static int
tool_write(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc, char **argv)
{
	int i;

	(void)out;
	for (i = 0; i + 1 < argc; i += 2) {
		size_t len = strlen(argv[i + 1]);
		char *val = o->raw ? xstrdup(argv[i + 1]) : tool_unsanitise(argv[i + 1], &len);
		int rc = xs_write(xs, tx, argv[i], val, len);

		free(val);
		if (rc < 0) {
			warnx("could not write path %s", argv[i]);
			return 1;
		}
	}
	return 0;
}

/* -t: removes parents that are left with neither children nor a value. */
static int
tool_tidy(struct xs *xs, xs_tx_t tx, const char *path)
{
	char *p = xstrdup(path), *slash;

	while ((slash = strrchr(p, '/')) != NULL && slash != p) {
		unsigned num = 1;
		size_t len = 1;
		char **kids, *val;

		*slash = '\0';
		if ((kids = xs_directory(xs, tx, p, &num)) == NULL)
			break;
		free(kids);
		if (num != 0 || (val = xs_read(xs, tx, p, &len)) == NULL)
			break;
		free(val);
		if (len != 0 || xs_rm(xs, tx, p) < 0)
			break;
	}
	free(p);
	return 0;
}

/* xenstore-rm [-t] key... */
static int
tool_rm(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc, char **argv)
{
	int i;

	(void)out;
	for (i = 0; i < argc; i++) {
		if (xs_rm(xs, tx, argv[i]) < 0) {
			warnx("could not remove path %s", argv[i]);
			return 1;
		}
		if (o->tidy)
			tool_tidy(xs, tx, argv[i]);
	}
	return 0;
}

/* xenstore-exists: exit 1 if any key is missing. */
static int
tool_exists(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc,
    char **argv)
{
	int i;

	(void)out;
	(void)o;
	for (i = 0; i < argc; i++) {
		char *val = xs_read(xs, tx, argv[i], NULL);

		if (val == NULL)
			return 1;
		free(val);
	}
	return 0;
}

/* xenstore-list [-p]: child names. */
static int
tool_list(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc, char **argv)
{
	int i;
	unsigned n, j;

	for (i = 0; i < argc; i++) {
		char **kids = xs_directory(xs, tx, argv[i], &n);

		if (kids == NULL) {
			warnx("could not list path %s", argv[i]);
			return 1;
		}
		for (j = 0; j < n; j++) {
			if (o->prefix)
				fprintf(out, "%s/", argv[i]);
			fprintf(out, "%s\n", kids[j]);
		}
		free(kids);
	}
	return 0;
}

/* Parses "r5" style modes, as Xen's tool reports a bad one. */
static struct xs_perm *
tool_parse_modes(int argc, char **argv)
{
	struct xs_perm *perms = xcalloc(argc ? argc : 1, sizeof(*perms));
	int i;

	for (i = 0; i < argc; i++)
		if (xs_perm_parse(argv[i], &perms[i]) < 0) {
			warnx("Invalid permission specification: '%c'", argv[i][0]);
			free(perms);
			return NULL;
		}
	return perms;
}

/* Sets perms on path and, with -r, on everything below it (iteratively). */
static int
tool_chmod_one(struct xs *xs, xs_tx_t tx, const char *path, const struct xs_perm *perms,
    int n, bool recurse)
{
	char **stack = xmalloc(sizeof(char *));
	size_t sp = 0, cap = 1;
	unsigned num, j;
	int rc = 0;

	stack[sp++] = xstrdup(path);
	while (sp > 0) {
		char *p = stack[--sp], **kids;

		if (rc == 0 && xs_set_perms(xs, tx, p, perms, n) < 0) {
			warn("Error occurred setting permissions on '%s'", p);
			rc = 1;
		}
		if (rc == 0 && recurse && (kids = xs_directory(xs, tx, p, &num)) != NULL) {
			for (j = num; j-- > 0;) {
				if (sp == cap)
					stack = xreallocarray(stack, cap *= 2, sizeof(char *));
				xasprintf(&stack[sp++], "%s/%s", strcmp(p, "/") ? p : "", kids[j]);
			}
			free(kids);
		}
		free(p);
	}
	free(stack);
	return rc;
}

/* xenstore-chmod [-u] [-r] key mode... */
static int
tool_chmod(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc,
    char **argv)
{
	struct xs_perm *perms = tool_parse_modes(argc - 1, argv + 1);
	const char *path = argv[0];
	char *prefix;
	size_t i;
	int rc = 1;

	(void)out;
	if (perms == NULL)
		return 1;
	if (o->upto) {
		for (i = 1; path[i]; i++) {
			if (path[i] != '/')
				continue;
			prefix = xstrndup(path, i);
			rc = tool_chmod_one(xs, tx, prefix, perms, argc - 1, false);
			free(prefix);
			if (rc)
				goto out;
		}
	}
	rc = tool_chmod_one(xs, tx, path, perms, argc - 1, o->recurse);
out:
	free(perms);
	return rc;
}

#define TOOL_TAG_LEN 8		/* strlen(" = \"...\"") */
#define TOOL_DESIRED_WIDTH 60

/* Prints one node's line. */
static void
tool_ls_line(struct xs *xs, const char *path, int depth, const struct tool_opts *o,
    int max_width)
{
	const char *name = strrchr(path, '/') + 1;
	int linewid = 0, i;
	size_t len;
	char *val, *s;

	if (o->full) {
		fputs(path, stdout);
	} else {
		for (; linewid < depth; linewid++)
			putchar(' ');
		linewid += printf("%.*s", max_width - TOOL_TAG_LEN - linewid, name);
	}
	val = xs_read(xs, XS_TX_NONE, path, &len);
	if (val == NULL) {
		printf(":\n");
	} else {
		s = tool_sanitise(val, len);
		if (!o->full && (size_t)max_width < linewid + len + TOOL_TAG_LEN) {
			printf(" = \"%.*s\\...\"", max_width - TOOL_TAG_LEN - linewid, s);
		} else {
			linewid += printf(" = \"%s\"", s);
			if (o->prefix) {
				int lim = TOOL_DESIRED_WIDTH < max_width - TOOL_TAG_LEN ?
				    TOOL_DESIRED_WIDTH : max_width - TOOL_TAG_LEN;

				putchar(' ');
				if (!o->full)
					for (linewid++; linewid < lim; linewid++)
						putchar((linewid & 1) ? '.' : ' ');
			}
		}
		free(s);
		free(val);
	}
	if (o->prefix) {
		unsigned np;
		struct xs_perm *perms = xs_get_perms(xs, XS_TX_NONE, path, &np);

		if (perms == NULL) {
			warn("\ncould not access permissions for %s", name);
		} else {
			fputs("  (", stdout);
			for (i = 0; i < (int)np; i++) {
				char buf[16];

				if (i)
					putchar(',');
				xs_perm_format(&perms[i], buf, sizeof(buf));
				fputs(buf, stdout);
			}
			putchar(')');
			free(perms);
		}
	}
	putchar('\n');
}

/* xenstore-ls [-f] [-p] [path]: the tree, depth first, without recursion. */
static int
tool_ls(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc, char **argv)
{
	struct frame { char *path; int depth; };
	const char *root = argc > 0 ? argv[0] : "/";
	struct frame *stack;
	size_t sp = 0, cap = 16;
	struct winsize ws;
	int max_width = 80;
	unsigned num, j;
	char **kids;

	(void)tx;
	(void)out;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		max_width = ws.ws_col;
	if ((kids = xs_directory(xs, XS_TX_NONE, root, &num)) == NULL)
		err(1, "xs_directory (%s)", root);
	stack = xreallocarray(NULL, cap, sizeof(*stack));
	for (j = num; j-- > 0;) {
		if (sp == cap)
			stack = xreallocarray(stack, cap *= 2, sizeof(*stack));
		xasprintf(&stack[sp].path, "%s/%s", strcmp(root, "/") ? root : "", kids[j]);
		stack[sp++].depth = 0;
	}
	free(kids);
	while (sp > 0) {
		struct frame f = stack[--sp];

		tool_ls_line(xs, f.path, f.depth, o, max_width);
		if ((kids = xs_directory(xs, XS_TX_NONE, f.path, &num)) != NULL) {
			for (j = num; j-- > 0;) {
				if (sp == cap)
					stack = xreallocarray(stack, cap *= 2, sizeof(*stack));
				xasprintf(&stack[sp].path, "%s/%s", f.path, kids[j]);
				stack[sp++].depth = f.depth + 1;
			}
			free(kids);
		}
		free(f.path);
	}
	free(stack);
	return 0;
}

/* xenstore-watch [-n NR] key...: prints each event's path. */
static int
tool_watch(struct xs *xs, xs_tx_t tx, FILE *out, const struct tool_opts *o, int argc,
    char **argv)
{
	long seen = 0;
	int i;

	(void)tx;
	(void)out;
	for (i = 0; i < argc; i++)
		if (xs_watch(xs, argv[i], argv[i]) < 0)
			err(1, "watch %s", argv[i]);
	while (o->count < 0 || seen < o->count) {
		char **vec = xs_read_watch(xs, NULL);

		if (vec == NULL)
			break;
		printf("%s\n", vec[0]);
		fflush(stdout);
		free(vec);
		seen++;
	}
	return 0;
}

static const struct tool tools[] = {
	{ "xenstore-read", "hpsR", "[-h] [-p] [-s] [-R] key [...]", 1, 0, true, tool_read },
	{ "xenstore-write", "hsR", "[-h] [-s] [-R] key value [...]", 2, 1, true, tool_write },
	{ "xenstore-rm", "hst", "[-h] [-s] [-t] key [...]", 1, 0, true, tool_rm },
	{ "xenstore-list", "hps", "[-h] [-p] [-s] key [...]", 1, 0, true, tool_list },
	{ "xenstore-exists", "hps", "[-h] [-p] [-s] key [...]", 1, 0, true, tool_exists },
	{ "xenstore-chmod", "hurs", "[-h] [-u] [-r] [-s] key <mode [modes...]>", 1, 0, true,
	    tool_chmod },
	{ "xenstore-ls", "hfps", "[-h] [-f] [-p] [-s] [path]", 0, 0, false, tool_ls },
	{ "xenstore-watch", "hn:s", "[-h] [-n NR] key", 1, 0, false, tool_watch },
};

/* Usage on stderr, exit 1, as Xen's tools do. */
static _Noreturn void
tool_usage(void)
{
	errx(1, "Usage: %s %s", tool_argv0, tool_cur->t_usage);
}

/* Runs the command, in a transaction that is retried on EAGAIN when the tool uses one. */
static int
tool_run(struct xs *xs, const struct tool_opts *o, int argc, char **argv)
{
	char *buf = NULL;
	size_t blen = 0;
	xs_tx_t tx = XS_TX_NONE;
	FILE *out;
	int rc;

	if (!tool_cur->t_tx)
		return tool_cur->t_fn(xs, XS_TX_NONE, stdout, o, argc, argv);
	for (;;) {
		if (xs_transaction_start(xs, &tx) < 0)
			errx(1, "couldn't start transaction");
		out = open_memstream(&buf, &blen);
		rc = tool_cur->t_fn(xs, tx, out, o, argc, argv);
		fclose(out);
		if (xs_transaction_end(xs, tx, rc != 0) < 0) {
			if (rc == 0 && errno == EAGAIN) {
				free(buf);
				buf = NULL;
				continue;
			}
			errx(1, "couldn't end transaction");
		}
		fwrite(buf, 1, blen, stdout);
		free(buf);
		return rc;
	}
}

/* Entry point. */
int
main(int argc, char **argv)
{
	struct tool_opts o = { .count = -1 };
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct xs *xs;
	size_t i;
	int ch, rc;

	tool_argv0 = argv[0];
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (strcmp(name, tools[i].t_name) == 0)
			tool_cur = &tools[i];
	if (tool_cur == NULL && argc > 1) {
		/* "xenstore read ..." */
		char *sub;

		xasprintf(&sub, "xenstore-%s", argv[1]);
		for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
			if (strcmp(sub, tools[i].t_name) == 0)
				tool_cur = &tools[i];
		free(sub);
		argv++;
		argc--;
	}
	if (tool_cur == NULL)
		errx(1, "Usage: xenstore read|write|rm|list|exists|ls|watch|chmod ...");
	while ((ch = getopt(argc, argv, tool_cur->t_optstring)) != -1) {
		switch (ch) {
		case 'p': o.prefix = true; break;
		case 'R': o.raw = true; break;
		case 't': o.tidy = true; break;
		case 'r': o.recurse = true; break;
		case 'u': o.upto = true; break;
		case 'f': o.full = true; break;
		case 's': break;
		case 'n': o.count = strtol(optarg, NULL, 10); break;
		default: tool_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < tool_cur->t_min || (tool_cur->t_pairs && argc % 2))
		tool_usage();
	if (strcmp(tool_cur->t_name, "xenstore-ls") == 0 && argc > 1)
		tool_usage();
	if (strcmp(tool_cur->t_name, "xenstore-chmod") == 0 && argc < 1)
		tool_usage();
	if ((xs = xs_open(NULL)) == NULL)
		err(1, "xs_open");
	rc = tool_run(xs, &o, argc, argv);
	xs_close(xs);
	return rc;
}
