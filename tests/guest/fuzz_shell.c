/*
 * libFuzzer target: keystrokes from the console (anything a dom0 user or a
 * corrupted in ring sends) through the line editor, parser and dispatcher.
 */
#include <stddef.h>
#include <stdint.h>

#include "shell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Output goes nowhere; only memory safety is checked. */
static void
fuzz_out(void *arg, const char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
}

/* Touches every argument, as a command would. */
static int
fuzz_cmd(struct shell *sh, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		shell_printf(sh, "%s", argv[i]);
	return 0;
}

static const struct shell_cmd fuzz_one = {
	.sc_name = "one", .sc_usage = "A", .sc_help = "", .sc_min = 1, .sc_max = 1, .sc_exec = fuzz_cmd,
};
static const struct shell_cmd fuzz_any = {
	.sc_name = "any", .sc_usage = "", .sc_help = "", .sc_min = 0, .sc_max = -1, .sc_exec = fuzz_cmd,
};
static const struct shell_cmd *const fuzz_sub[] = { &fuzz_one, NULL };
static const struct shell_cmd fuzz_xs = {
	.sc_name = "xs", .sc_usage = "", .sc_help = "", .sc_min = 1, .sc_max = -1, .sc_sub = fuzz_sub,
};
static const struct shell_cmd *const fuzz_table[] = { &fuzz_one, &fuzz_any, &fuzz_xs, NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shell sh;

	shell_init(&sh, fuzz_table, "# ", fuzz_out, NULL, NULL);
	shell_input(&sh, (const char *)data, size);
	shell_input(&sh, "\r", 1);
	return 0;
}
