/* The shell: parsing, table dispatch with argument checks, line editing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "shell.h"

static char out[4096];
static size_t outlen;
static char last_args[1024];
static int runs;

static void
capture(void *arg, const char *buf, size_t len)
{
	(void)arg;
	cr_assert_lt(outlen + len, sizeof(out));
	memcpy(out + outlen, buf, len);
	outlen += len;
	out[outlen] = '\0';
}

/* Records its arguments joined by '|'. */
static int
record(struct shell *sh, int argc, char **argv)
{
	(void)sh;
	runs++;
	last_args[0] = '\0';
	for (int i = 0; i < argc; i++) {
		strcat(last_args, argv[i]);
		if (i + 1 < argc)
			strcat(last_args, "|");
	}
	return 0;
}

static const struct shell_cmd c_one = {
	.sc_name = "one", .sc_usage = "ARG", .sc_help = "exactly one",
	.sc_min = 1, .sc_max = 1, .sc_exec = record,
};
static const struct shell_cmd c_any = {
	.sc_name = "any", .sc_usage = "[ARG...]", .sc_help = "any",
	.sc_min = 0, .sc_max = -1, .sc_exec = record,
};
static const struct shell_cmd c_sub_write = {
	.sc_name = "write", .sc_usage = "PATH VALUE", .sc_help = "w",
	.sc_min = 2, .sc_max = 2, .sc_exec = record,
};
static const struct shell_cmd *const sub[] = { &c_sub_write, NULL };
static const struct shell_cmd c_xs = {
	.sc_name = "xs", .sc_usage = "write ...", .sc_help = "store",
	.sc_min = 1, .sc_max = -1, .sc_sub = sub,
};
static const struct shell_cmd *const table[] = { &c_one, &c_any, &c_xs, NULL };

static struct shell sh;

static void
setup(void)
{
	outlen = 0;
	out[0] = '\0';
	runs = 0;
	last_args[0] = '\0';
	shell_init(&sh, table, "t# ", capture, NULL, NULL);
}

TestSuite(shell, .init = setup);

Test(shell, parse_words_quotes_escapes)
{
	char line[] = "  xs write  \"a b\" c\\ d \"\" ";
	char *argv[8];

	cr_assert_eq(shell_parse(line, argv, 8), 5);
	cr_assert_str_eq(argv[0], "xs");
	cr_assert_str_eq(argv[1], "write");
	cr_assert_str_eq(argv[2], "a b");
	cr_assert_str_eq(argv[3], "c d");
	cr_assert_str_eq(argv[4], "");
}

Test(shell, parse_errors)
{
	char open[] = "echo \"abc";
	char many[] = "a b c d";
	char blank[] = "   ";
	char *argv[3];

	cr_assert_eq(shell_parse(open, argv, 3), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(shell_parse(many, argv, 3), -1);
	cr_assert_eq(errno, E2BIG);
	cr_assert_eq(shell_parse(blank, argv, 3), 0);
}

Test(shell, dispatch_checks_argument_counts)
{
	char l1[] = "one x", l2[] = "one", l3[] = "one x y", l4[] = "nope";

	cr_assert_eq(shell_exec_line(&sh, l1), 0);
	cr_assert_str_eq(last_args, "one|x");
	cr_assert_eq(shell_exec_line(&sh, l2), -1);
	cr_assert_eq(shell_exec_line(&sh, l3), -1);
	cr_assert_eq(runs, 1);
	cr_assert_not_null(strstr(out, "usage: one ARG\n"));
	cr_assert_eq(shell_exec_line(&sh, l4), -1);
	cr_assert_not_null(strstr(out, "nope: unknown command"));
}

Test(shell, sub_tables)
{
	char l1[] = "xs write data/k \"v 1\"", l2[] = "xs write data/k", l3[] = "xs frob";

	cr_assert_eq(shell_exec_line(&sh, l1), 0);
	cr_assert_str_eq(last_args, "write|data/k|v 1");
	cr_assert_eq(shell_exec_line(&sh, l2), -1);
	cr_assert_not_null(strstr(out, "usage: xs write PATH VALUE"), "%s", out);
	cr_assert_eq(shell_exec_line(&sh, l3), -1);
	cr_assert_not_null(strstr(out, "xs frob: unknown command"), "%s", out);
	cr_assert_not_null(strstr(out, "xs write PATH VALUE"));
}

Test(shell, line_editor_echo_backspace_crlf)
{
	const char typed[] = "anyx\x7f a\bb\r\n";

	shell_input(&sh, typed, sizeof(typed) - 1);
	cr_assert_eq(runs, 1, "CR LF runs the line once");
	cr_assert_str_eq(last_args, "any|b");
	cr_assert_str_eq(out, "anyx\b \b a\b \bb\nt# ");
	shell_input(&sh, "any 2\n", 6);
	cr_assert_eq(runs, 2, "a bare LF ends a line too");
	cr_assert_str_eq(last_args, "any|2");
}

Test(shell, ctrl_c_and_ctrl_u_discard)
{
	shell_input(&sh, "one abc\x03", 8);
	cr_assert_eq(runs, 0);
	cr_assert_not_null(strstr(out, "^C\nt# "));
	shell_input(&sh, "garbage\x15one k\r", 15);
	cr_assert_eq(runs, 1);
	cr_assert_str_eq(last_args, "one|k");
}

Test(shell, empty_line_prompts_again)
{
	shell_input(&sh, "\r\r", 2);
	cr_assert_eq(runs, 0);
	cr_assert_str_eq(out, "\nt# \nt# ");
}

Test(shell, overlong_line_is_truncated_not_overflowed)
{
	static char big[SHELL_LINE_MAX * 2];

	memset(big, 'a', sizeof(big));
	memcpy(big, "any ", 4);
	shell_input(&sh, big, sizeof(big));
	shell_input(&sh, "\r", 1);
	cr_assert_eq(runs, 1);
	cr_assert_eq(strlen(last_args), SHELL_LINE_MAX - 1, "any|aaa... = line minus NUL");
}
