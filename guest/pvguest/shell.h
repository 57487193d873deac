/*
 * The console shell: a line editor (echo, backspace, CR/LF, ^C, ^U) and a
 * dispatcher over tables of const command descriptors. Argument counts and
 * usage are checked here once; a command is a descriptor and its exec
 * function. A descriptor may carry a sub-table instead ("xs read ...").
 * Later devices (disk, net) add commands as rows of cmdtable.c.
 * Output goes through a callback, so the shell is tested without a console.
 */
#ifndef PVGUEST_SHELL_H
#define PVGUEST_SHELL_H

#include <stdbool.h>
#include <stddef.h>

#define SHELL_PROMPT	"pvguest# "
#define SHELL_LINE_MAX	512
#define SHELL_ARGS_MAX	32

struct shell;

struct shell_cmd {
	const char *sc_name;
	const char *sc_usage;	/* arguments after the name, "" if none */
	const char *sc_help;	/* one line */
	int sc_min;		/* arguments after the name */
	int sc_max;		/* -1: no limit */
	const struct shell_cmd *const *sc_sub;	/* NULL-terminated sub-table, or NULL */
	/* argv[0] is the command's name; returns 0, or -1 after printing why. */
	int (*sc_exec)(struct shell *sh, int argc, char **argv);
};

typedef void shell_out_fn(void *arg, const char *buf, size_t len);

struct shell {
	const struct shell_cmd *const *sh_table;
	shell_out_fn *sh_out;
	void *sh_out_arg;
	void *sh_ctx;		/* what commands act on (the guest) */
	const char *sh_prompt;
	char sh_line[SHELL_LINE_MAX];
	size_t sh_len;
	bool sh_after_cr;	/* swallow the LF of a CR LF pair */
};

void shell_init(struct shell *sh, const struct shell_cmd *const *table, const char *prompt,
    shell_out_fn *out, void *out_arg, void *ctx);
void shell_write(struct shell *sh, const char *buf, size_t len);
void shell_printf(struct shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shell_prompt(struct shell *sh);
/* Feeds typed bytes: echoes them, edits the line, runs it on Enter. */
void shell_input(struct shell *sh, const char *buf, size_t len);
/*
 * Splits line in place into argv (at most max): blanks separate words,
 * "double quotes" group them, backslash escapes the next character.
 * Returns argc, or -1 with EINVAL (open quote) or E2BIG (too many words).
 */
int shell_parse(char *line, char **argv, int max);
/* Runs one parsed line against table; prints usage or "unknown command". */
int shell_run(struct shell *sh, const struct shell_cmd *const *table, int argc, char **argv);
/* Parses and runs one line (modified in place). */
int shell_exec_line(struct shell *sh, char *line);
/* Lists a table with usages; prefix names the parent ("xs") or is "". */
void shell_help_table(struct shell *sh, const struct shell_cmd *const *table, const char *prefix);
/* The row called name, or NULL. */
const struct shell_cmd *shell_find(const struct shell_cmd *const *table, const char *name);

#endif
