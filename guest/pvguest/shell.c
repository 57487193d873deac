#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

#define SHELL_CTRL_C	0x03
#define SHELL_CTRL_U	0x15
#define SHELL_BS	0x08
#define SHELL_DEL	0x7f

/* A shell over table, writing through out. */
void
shell_init(struct shell *sh, const struct shell_cmd *const *table, const char *prompt,
    shell_out_fn *out, void *out_arg, void *ctx)
{
	memset(sh, 0, sizeof(*sh));
	sh->sh_table = table;
	sh->sh_prompt = prompt;
	sh->sh_out = out;
	sh->sh_out_arg = out_arg;
	sh->sh_ctx = ctx;
}

/* Every byte the shell prints goes through the output callback. */
void
shell_write(struct shell *sh, const char *buf, size_t len)
{
	sh->sh_out(sh->sh_out_arg, buf, len);
}

/* Formatted output for commands. */
void
shell_printf(struct shell *sh, const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	shell_write(sh, s, (size_t)n);
	free(s);
}

/* The prompt tests and users wait for. */
void
shell_prompt(struct shell *sh)
{
	shell_write(sh, sh->sh_prompt, strlen(sh->sh_prompt));
}

/* Splits in place: words, quotes, backslash escapes. */
int
shell_parse(char *line, char **argv, int max)
{
	char *src = line, *dst = line;
	int argc = 0;

	for (;;) {
		while (*src == ' ' || *src == '\t')
			src++;
		if (*src == '\0')
			break;
		if (argc == max) {
			errno = E2BIG;
			return -1;
		}
		argv[argc++] = dst;
		int quoted = 0;
		while (*src != '\0' && (quoted || (*src != ' ' && *src != '\t'))) {
			if (*src == '"') {
				quoted = !quoted;
				src++;
				continue;
			}
			if (*src == '\\' && src[1] != '\0')
				src++;
			*dst++ = *src++;
		}
		if (quoted) {
			errno = EINVAL;
			return -1;
		}
		/* dst never passes src: ending the word cannot clobber unread input. */
		int end = *src == '\0';
		*dst++ = '\0';
		if (end)
			break;
		src++;
	}
	return argc;
}

/* Table lookup by exact name. */
const struct shell_cmd *
shell_find(const struct shell_cmd *const *table, const char *name)
{
	for (; *table != NULL; table++) {
		if (strcmp((*table)->sc_name, name) == 0)
			return *table;
	}
	return NULL;
}

/* "usage: xs write PATH VALUE" for the command reached through argv. */
static void
shell_usage(struct shell *sh, const char *prefix, const struct shell_cmd *c)
{
	shell_printf(sh, "usage: %s%s%s%s%s\n", prefix, *prefix ? " " : "", c->sc_name,
	    *c->sc_usage ? " " : "", c->sc_usage);
}

/* Runs argv; prefix is the parent command's name for messages. */
static int
shell_run_prefixed(struct shell *sh, const struct shell_cmd *const *table, const char *prefix,
    int argc, char **argv)
{
	if (argc == 0)
		return 0;
	const struct shell_cmd *c = shell_find(table, argv[0]);
	if (c == NULL) {
		shell_printf(sh, "%s%s%s: unknown command (try help)\n", prefix, *prefix ? " " : "",
		    argv[0]);
		return -1;
	}
	if (c->sc_sub != NULL && argc >= 2 && shell_find(c->sc_sub, argv[1]) != NULL)
		return shell_run_prefixed(sh, c->sc_sub, c->sc_name, argc - 1, argv + 1);
	if (c->sc_sub != NULL && c->sc_exec == NULL) {
		if (argc >= 2)
			shell_printf(sh, "%s %s: unknown command\n", c->sc_name, argv[1]);
		shell_help_table(sh, c->sc_sub, c->sc_name);
		return -1;
	}
	int nargs = argc - 1;
	if (nargs < c->sc_min || (c->sc_max >= 0 && nargs > c->sc_max)) {
		shell_usage(sh, prefix, c);
		return -1;
	}
	return c->sc_exec(sh, argc, argv);
}

/* Runs a parsed line from the top-level table. */
int
shell_run(struct shell *sh, const struct shell_cmd *const *table, int argc, char **argv)
{
	return shell_run_prefixed(sh, table, "", argc, argv);
}

/* Parses then runs; parse errors are printed, not returned to a caller. */
int
shell_exec_line(struct shell *sh, char *line)
{
	char *argv[SHELL_ARGS_MAX];
	int argc = shell_parse(line, argv, SHELL_ARGS_MAX);

	if (argc < 0) {
		shell_printf(sh, "%s\n", errno == E2BIG ? "too many words" : "unterminated quote");
		return -1;
	}
	return shell_run(sh, sh->sh_table, argc, argv);
}

/* One line per row: name, usage, help. */
void
shell_help_table(struct shell *sh, const struct shell_cmd *const *table, const char *prefix)
{
	for (; *table != NULL; table++) {
		const struct shell_cmd *c = *table;
		char head[96];
		snprintf(head, sizeof(head), "%s%s%s%s%s", prefix, *prefix ? " " : "", c->sc_name,
		    *c->sc_usage ? " " : "", c->sc_usage);
		shell_printf(sh, "  %-28s %s\n", head, c->sc_help);
	}
}

/* Enter: run the line, then prompt again. */
static void
shell_enter(struct shell *sh)
{
	shell_write(sh, "\n", 1);
	sh->sh_line[sh->sh_len] = '\0';
	sh->sh_len = 0;
	shell_exec_line(sh, sh->sh_line);
	shell_prompt(sh);
}

/* One typed byte through the line editor. */
static void
shell_key(struct shell *sh, char ch)
{
	unsigned char c = (unsigned char)ch;
	bool after_cr = sh->sh_after_cr;

	sh->sh_after_cr = false;
	switch (c) {
	case '\r':
		sh->sh_after_cr = true;
		shell_enter(sh);
		return;
	case '\n':
		if (!after_cr)
			shell_enter(sh);
		return;
	case SHELL_BS:
	case SHELL_DEL:
		if (sh->sh_len > 0) {
			sh->sh_len--;
			shell_write(sh, "\b \b", 3);
		}
		return;
	case SHELL_CTRL_U:
		while (sh->sh_len > 0) {
			sh->sh_len--;
			shell_write(sh, "\b \b", 3);
		}
		return;
	case SHELL_CTRL_C:
		sh->sh_len = 0;
		shell_write(sh, "^C\n", 3);
		shell_prompt(sh);
		return;
	}
	if (c < 0x20 || c > 0x7e || sh->sh_len + 1 >= sizeof(sh->sh_line))
		return;
	sh->sh_line[sh->sh_len++] = ch;
	shell_write(sh, &ch, 1);
}

/* Typed bytes, one key at a time. */
void
shell_input(struct shell *sh, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		shell_key(sh, buf[i]);
}
