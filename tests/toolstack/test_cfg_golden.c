/*
 * Golden-file tests of the xl.cfg parser: every tests/toolstack/cfg/pass-*.cfg
 * and fail-*.cfg is parsed (with the overrides named on a first line
 * "# args: key=value ..."), and the diagnostics plus the canonical dump must
 * equal the .out file beside it. CFG_GOLDEN_UPDATE=1 rewrites the .out files.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_domain.h"

#ifndef CFG_GOLDEN_DIR
#error CFG_GOLDEN_DIR must name tests/toolstack/cfg
#endif

/* Reads a whole file, or NULL. */
static char *
golden_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* Applies "# args: a=b c=d" from the file's first line. */
static void
golden_overrides(const char *name, struct cfg *cfg, struct cfg_diag *d)
{
	char *text = golden_slurp(name), *line, *save = NULL;

	cr_assert_not_null(text);
	if (strncmp(text, "# args:", 7) == 0) {
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		for (line = strtok_r(text + 7, " ", &save); line; line = strtok_r(NULL, " ", &save))
			cfg_override(cfg, line, d);
	}
	free(text);
}

/* Runs one case and returns its output. */
static char *
golden_run(const char *name)
{
	struct cfg cfg = { 0 };
	struct cfg_domain dom;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	struct cfg_diag d = { .cd_out = m };

	cfg_load(&cfg, name, &d);
	golden_overrides(name, &cfg, &d);
	cfg_domain_from(&cfg, &dom, name, &d);
	cfg_diag_flush(&d);
	fprintf(m, "-- errors: %d, warnings: %d\n", d.cd_errors, d.cd_warnings);
	if (d.cd_errors == 0)
		cfg_domain_dump(m, &dom);
	cfg_domain_free(&dom);
	cfg_free(&cfg);
	fclose(m);
	return out;
}

Test(cfg_golden, every_case_matches_its_expected_output)
{
	DIR *dir;
	struct dirent *de;
	int cases = 0, pass = 0, fail = 0;

	cr_assert_eq(chdir(CFG_GOLDEN_DIR), 0);
	dir = opendir(".");
	cr_assert_not_null(dir);
	while ((de = readdir(dir)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".cfg") != 0)
			continue;
		int is_pass = strncmp(de->d_name, "pass-", 5) == 0;
		if (!is_pass && strncmp(de->d_name, "fail-", 5) != 0)
			continue;
		char expected_name[512];
		snprintf(expected_name, sizeof(expected_name), "%.*s.out", (int)(n - 4), de->d_name);
		char *got = golden_run(de->d_name);
		if (getenv("CFG_GOLDEN_UPDATE")) {
			FILE *f = fopen(expected_name, "w");
			cr_assert_not_null(f);
			fputs(got, f);
			fclose(f);
		}
		char *want = golden_slurp(expected_name);
		cr_expect_not_null(want, "%s: no expected output %s", de->d_name, expected_name);
		cr_expect(want && strcmp(got, want) == 0, "%s: output differs\n--- expected\n%s"
		    "--- got\n%s", de->d_name, want ? want : "", got);
		/* A pass case has no error, a fail case at least one. */
		int errors = strstr(got, "-- errors: 0,") == NULL;
		cr_expect(is_pass ? !errors : errors, "%s: %s", de->d_name,
		    is_pass ? "expected no error" : "expected errors");
		pass += is_pass;
		fail += !is_pass;
		cases++;
		free(got);
		free(want);
	}
	closedir(dir);
	cr_expect_geq(pass, 4, "too few pass cases (%d)", pass);
	cr_expect_geq(fail, 4, "too few fail cases (%d)", fail);
	cr_log_info("%d golden cases", cases);
}
