#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

Test(paths, rundir_follows_environment)
{
	unsetenv("PVSTACK_RUNDIR");
	cr_assert_str_eq(paths_rundir(), "/run/pvstack");
	setenv("PVSTACK_RUNDIR", "/tmp/pv-x", 1);
	cr_assert_str_eq(paths_rundir(), "/tmp/pv-x");
	char *p = paths_run("hvd.sock");
	cr_assert_str_eq(p, "/tmp/pv-x/hvd.sock");
	free(p);
	cr_assert_str_eq(paths_logdir(), "/tmp/pv-x/log");
}

Test(paths, confdir_default_and_override)
{
	unsetenv("PVSTACK_CONFDIR");
	cr_assert_str_eq(paths_confdir(), "/etc/xen");
	setenv("PVSTACK_CONFDIR", "/tmp/conf", 1);
	cr_assert_str_eq(paths_confdir(), "/tmp/conf");
}

Test(paths, mkdir_p_creates_every_component)
{
	char tmpl[] = "/tmp/pvpaths.XXXXXX", path[128];
	struct stat st;

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/a/b/c", tmpl);
	cr_assert_eq(paths_mkdir_p(path, 0755), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(paths_mkdir_p(path, 0755), 0, "existing path is fine");
	snprintf(path, sizeof(path), "rm -rf %s", tmpl);
	cr_assert_eq(system(path), 0);
}
