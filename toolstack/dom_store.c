/*
 * The stored config of each domain ($RUNDIR/xl/domain-<id>.cfg), written at
 * create in config syntax with the overrides and the generated uuid folded in:
 * `xl list -l` reads it back, the monitor restarts from it, rename edits it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dom.h"
#include "paths.h"
#include "xmalloc.h"

/* The file name for domid. */
static char *
dom_store_path(hv_domid_t domid)
{
	char *dir = paths_run("xl"), *p;

	xasprintf(&p, "%s/domain-%u.cfg", dir, domid);
	free(dir);
	return p;
}

/* Whether setting i is replaced by a later one with the same key. */
static int
dom_store_overridden(const struct cfg *cfg, size_t i)
{
	for (size_t j = i + 1; j < cfg->c_nsettings; j++)
		if (strcmp(cfg->c_settings[j].cs_key, cfg->c_settings[i].cs_key) == 0)
			return 1;
	return 0;
}

/* Writes the settings in force, atomically (temp file + rename). */
int
dom_store_save(hv_domid_t domid, struct cfg *cfg)
{
	char *dir = paths_run("xl"), *path = dom_store_path(domid), *tmp;
	FILE *f = NULL;
	int rc = -1;

	xasprintf(&tmp, "%s.tmp", path);
	if (paths_mkdir_p(dir, 0755) < 0 || (f = fopen(tmp, "we")) == NULL)
		goto out;
	fprintf(f, "# written by xl create for domain %u\n", domid);
	for (size_t i = 0; i < cfg->c_nsettings; i++) {
		if (dom_store_overridden(cfg, i))
			continue;
		fprintf(f, "%s = ", cfg->c_settings[i].cs_key);
		cfg_value_print(f, &cfg->c_settings[i].cs_value);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	rc = rename(tmp, path);
out:
	if (f)
		fclose(f);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	free(path);
	free(dir);
	return rc;
}

/* Parses the stored config; messages are dropped (we wrote it). */
int
dom_store_load(hv_domid_t domid, struct cfg *cfg)
{
	char *path = dom_store_path(domid);
	struct cfg_diag d = { .cd_out = NULL };
	int rc;

	if (access(path, R_OK) < 0) {
		free(path);
		errno = ENOENT;
		return -1;
	}
	rc = cfg_load(cfg, path, &d);
	cfg_diag_flush(&d);
	free(path);
	return rc == 0 ? 0 : -1;
}

/* Drops the stored config of a destroyed domain. */
void
dom_store_remove(hv_domid_t domid)
{
	char *path = dom_store_path(domid);

	unlink(path);
	free(path);
}

/* Rewrites one string setting (xl rename). */
int
dom_store_set(hv_domid_t domid, const char *key, const char *value)
{
	struct cfg cfg = { 0 };
	struct cfg_diag d = { .cd_out = NULL };
	char *line;
	int rc = -1;

	if (dom_store_load(domid, &cfg) < 0)
		return -1;
	xasprintf(&line, "%s=\"\"", key);
	if (cfg_override(&cfg, line, &d) == 0) {
		struct cfg_setting *s = &cfg.c_settings[cfg.c_nsettings - 1];
		free(s->cs_value.cv_atom);
		s->cs_value.cv_atom = xstrdup(value);
		rc = dom_store_save(domid, &cfg);
	}
	cfg_diag_flush(&d);
	free(line);
	cfg_free(&cfg);
	return rc;
}
