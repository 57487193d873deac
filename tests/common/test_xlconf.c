/*
 * xl.conf reader: golden files (tests/common/xlconf/pass-*.conf and
 * fail-*.conf, each with a .out holding the errors then the dump of every
 * key; XLCONF_GOLDEN_UPDATE=1 rewrites them), defaults for a missing file,
 * $PVSTACK_CONFDIR, and the typed getters.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail.h"
#include "xlconf.h"

#ifndef XLCONF_GOLDEN_DIR
#error XLCONF_GOLDEN_DIR must name tests/common/xlconf
#endif

/* Reads a whole file, or NULL. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r"), *m;
	char *buf = NULL;
	size_t len = 0;
	int c;

	if (f == NULL)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* Loads one case (relative name, so messages do not carry the source path). */
static char *
golden_run(const char *name, int *rc)
{
	struct xlconf xc;
	char *errors, *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	*rc = xlconf_load_file(&xc, name, &errors);
	if (errors)
		fputs(errors, m);
	fprintf(m, "-- rc %d\n", *rc);
	xlconf_dump(m, &xc);
	fclose(m);
	free(errors);
	xlconf_free(&xc);
	return out;
}

Test(xlconf, golden)
{
	DIR *dir;
	struct dirent *e;
	int n = 0, update = getenv("XLCONF_GOLDEN_UPDATE") != NULL;

	cr_assert_eq(chdir(XLCONF_GOLDEN_DIR), 0);
	cr_assert_not_null(dir = opendir("."));
	while ((e = readdir(dir)) != NULL) {
		size_t l = strlen(e->d_name);
		char want_name[256];
		int rc;

		if (l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0)
			continue;
		snprintf(want_name, sizeof(want_name), "%.*s.out", (int)(l - 5), e->d_name);
		char *got = golden_run(e->d_name, &rc);
		if (strncmp(e->d_name, "fail-", 5) == 0)
			cr_expect_eq(rc, -1, "%s must fail", e->d_name);
		else
			cr_expect_eq(rc, 0, "%s must pass:\n%s", e->d_name, got);
		if (update) {
			FILE *f = fopen(want_name, "w");
			cr_assert_not_null(f);
			fputs(got, f);
			fclose(f);
		}
		char *want = slurp(want_name);
		cr_assert_not_null(want, "%s missing (XLCONF_GOLDEN_UPDATE=1 writes it)", want_name);
		cr_expect_str_eq(got, want, "%s:\n--- got\n%s--- want\n%s", e->d_name, got, want);
		free(got);
		free(want);
		n++;
	}
	closedir(dir);
	cr_expect_geq(n, 6, "golden cases not found");
}

Test(xlconf, missing_file_gives_defaults)
{
	struct xlconf xc;
	char *errors = (char *)1;

	cr_assert_eq(xlconf_load_file(&xc, "/nonexistent/xl.conf", &errors), 0);
	cr_expect_null(errors);
	cr_expect_eq(xc.xc_found, 0);
	cr_expect(xlconf_bool(&xc, "run_hotplug_scripts"));
	cr_expect_eq(xlconf_int(&xc, "guest_uid_range_base"), JAIL_UID_BASE_DEFAULT);
	cr_expect_str_eq(xlconf_string(&xc, "vif.default.bridge"), "xenbr0");
	cr_expect_str_eq(xlconf_string(&xc, "vif.default.script"), "vif-bridge");
	cr_expect_str_eq(xlconf_string(&xc, "lockfile"), "/var/lock/xl");
	xlconf_free(&xc);
}

Test(xlconf, unreadable_file_is_an_error_naming_it)
{
	char tmpl[] = "/tmp/xlconf.XXXXXX", path[64];
	struct xlconf xc;
	char *errors;

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/xl.conf", tmpl);
	cr_assert_eq(mkdir(path, 0755), 0);	/* a directory cannot be read as a file */
	cr_expect_eq(xlconf_load_file(&xc, path, &errors), -1);
	cr_assert_not_null(errors);
	cr_expect(strstr(errors, path) != NULL, "%s", errors);
	cr_expect(strstr(errors, "cannot read") != NULL, "%s", errors);
	free(errors);
	xlconf_free(&xc);
	rmdir(path);
	rmdir(tmpl);
}

Test(xlconf, confdir_environment_and_process_copy)
{
	char tmpl[] = "/tmp/xlconf.XXXXXX", path[64];
	FILE *f;

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/xl.conf", tmpl);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("run_hotplug_scripts=0\nvif.default.bridge=\"br9\"\n", f);
	fclose(f);
	setenv("PVSTACK_CONFDIR", tmpl, 1);
	const struct xlconf *xc = xlconf_get();
	cr_assert_not_null(xc);
	cr_expect_not(xlconf_bool(xc, "run_hotplug_scripts"));
	cr_expect_str_eq(xlconf_string(xc, "vif.default.bridge"), "br9");
	cr_expect_str_eq(xc->xc_path, path);
	/* Loaded once: a later change of the file is not seen by this process. */
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("run_hotplug_scripts=1\n", f);
	fclose(f);
	cr_expect_eq(xlconf_get(), xc);
	cr_expect_not(xlconf_bool(xlconf_get(), "run_hotplug_scripts"));
	unlink(path);
	rmdir(tmpl);
}

Test(xlconf, malformed_file_gives_no_process_copy)
{
	char tmpl[] = "/tmp/xlconf.XXXXXX", path[64];
	FILE *f;

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/xl.conf", tmpl);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("run_hotplug_scripts = \"no\"\n", f);
	fclose(f);
	setenv("PVSTACK_CONFDIR", tmpl, 1);
	cr_expect_null(xlconf_get());
	unlink(path);
	rmdir(tmpl);
}

Test(xlconf, unknown_key_is_a_bug, .exit_code = 1)
{
	struct xlconf xc;
	char *errors;

	xlconf_load_file(&xc, "/nonexistent/xl.conf", &errors);
	xlconf_string(&xc, "no.such.key");
}

Test(xlconf, wrong_type_is_a_bug, .exit_code = 1)
{
	struct xlconf xc;
	char *errors;

	xlconf_load_file(&xc, "/nonexistent/xl.conf", &errors);
	xlconf_int(&xc, "lockfile");
}
