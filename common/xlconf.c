/* xl.conf: the key table, loading and checking once, and the typed getters (see xlconf.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "jail.h"
#include "log.h"
#include "paths.h"
#include "xlconf.h"
#include "xmalloc.h"

#define XLCONF_STR(x)	#x
#define XLCONF_XSTR(x)	XLCONF_STR(x)

/* One key pvstack reads: its type, its default (as text) and, for ints, its range. */
struct xlconf_key {
	const char *xk_name;
	enum xlconf_type xk_type;
	const char *xk_default;
	long long xk_min, xk_max;
};

/*
 * guest_uid_range_base: the range base .. base + JAIL_UID_RANGE - 1 must be
 * valid uids (uid_t is 32 bits, (uid_t)-1 is "no uid") and must not start in
 * the system's own users (below 65536).
 */
static const struct xlconf_key xlconf_keys[] = {
	{ "run_hotplug_scripts", XLCONF_BOOL, "1", 0, 0 },
	{ "guest_uid_range_base", XLCONF_INT, XLCONF_XSTR(JAIL_UID_BASE_DEFAULT), 65536,
	    (long long)UINT32_MAX - JAIL_UID_RANGE },
	{ "vif.default.bridge", XLCONF_STRING, "xenbr0", 0, 0 },
	{ "vif.default.script", XLCONF_STRING, "vif-bridge", 0, 0 },
	{ "lockfile", XLCONF_STRING, "/var/lock/xl", 0, 0 },
	{ "autoballoon", XLCONF_STRING, "auto", 0, 0 },
};
#define XLCONF_NKEYS (sizeof(xlconf_keys) / sizeof(xlconf_keys[0]))

/* Parses a number as xl.conf(5) writes them: decimal, 0octal, 0xhex, optional sign. */
static int
xlconf_number(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 0);
	return *s && *end == '\0' && errno == 0 ? 0 : -1;
}

/* Fills a value from the key's default. */
static void
xlconf_default(const struct xlconf_key *k, struct xlconf_val *v)
{
	v->xv_text = xstrdup(k->xk_default);
	v->xv_int = k->xk_type == XLCONF_STRING ? 0 : strtoll(k->xk_default, NULL, 0);
	v->xv_line = 0;
}

/* Checks one setting against its key; 0, or -1 with the problem reported. */
static int
xlconf_check(const struct xlconf_key *k, const struct cfg_setting *s, struct xlconf_val *v,
    struct cfg_diag *d)
{
	const struct cfg_value *cv = &s->cs_value;
	long long n;

	if (cv->cv_kind == CFG_LIST) {
		cfg_diag_error(d, s->cs_file, s->cs_line, "%s: expected a single value, got a list",
		    k->xk_name);
		return -1;
	}
	if (k->xk_type != XLCONF_STRING) {
		if (cv->cv_quoted || xlconf_number(cv->cv_atom, &n) < 0) {
			cfg_diag_error(d, s->cs_file, s->cs_line, "%s: expected %s, got %s%s%s",
			    k->xk_name, k->xk_type == XLCONF_BOOL ? "a number (0 or 1)" : "a number",
			    cv->cv_quoted ? "the string \"" : "\"", cv->cv_atom, "\"");
			return -1;
		}
		if (k->xk_type == XLCONF_INT && (n < k->xk_min || n > k->xk_max)) {
			cfg_diag_error(d, s->cs_file, s->cs_line,
			    "%s: %s is out of range (%lld to %lld)", k->xk_name, cv->cv_atom,
			    k->xk_min, k->xk_max);
			return -1;
		}
		v->xv_int = n;
	}
	free(v->xv_text);
	v->xv_text = xstrdup(cv->cv_atom);
	v->xv_line = s->cs_line;
	return 0;
}

/* Turns the held diagnostics into one malloc'd text (NULL when there are none). */
static char *
xlconf_diag_text(struct cfg_diag *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (d->cd_nmsgs == 0)
		return NULL;
	m = open_memstream(&text, &len);
	if (m == NULL)
		fatal("xlconf: open_memstream");
	d->cd_out = m;
	cfg_diag_flush(d);
	fclose(m);
	return text;
}

/* Parses path (when it exists) and checks every known key. */
int
xlconf_load_file(struct xlconf *xc, const char *path, char **errors)
{
	struct cfg_diag d = { .cd_out = stderr };	/* held until xlconf_diag_text */
	struct cfg cfg = { 0 };

	memset(xc, 0, sizeof(*xc));
	xc->xc_path = xstrdup(path);
	xc->xc_vals = xcalloc(XLCONF_NKEYS, sizeof(*xc->xc_vals));
	for (size_t i = 0; i < XLCONF_NKEYS; i++)
		xlconf_default(&xlconf_keys[i], &xc->xc_vals[i]);
	*errors = NULL;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	xc->xc_found = 1;
	cfg_load(&cfg, path, &d);
	for (size_t i = 0; i < XLCONF_NKEYS; i++) {
		const struct cfg_setting *s = cfg_get(&cfg, xlconf_keys[i].xk_name);
		if (s)
			xlconf_check(&xlconf_keys[i], s, &xc->xc_vals[i], &d);
	}
	cfg_free(&cfg);
	*errors = xlconf_diag_text(&d);
	return d.cd_errors ? -1 : 0;
}

/* Loads the host's xl.conf, logging each problem. */
int
xlconf_load(struct xlconf *xc)
{
	char *path, *errors, *line, *save = NULL;
	int rc;

	xasprintf(&path, "%s/xl.conf", paths_confdir());
	rc = xlconf_load_file(xc, path, &errors);
	for (line = errors ? strtok_r(errors, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
	free(errors);
	free(path);
	return rc;
}

/* Frees what the values own. */
void
xlconf_free(struct xlconf *xc)
{
	for (size_t i = 0; xc->xc_vals && i < XLCONF_NKEYS; i++)
		free(xc->xc_vals[i].xv_text);
	free(xc->xc_vals);
	free(xc->xc_path);
	memset(xc, 0, sizeof(*xc));
}

/* The process-wide copy: xl and the daemons read xl.conf once. */
const struct xlconf *
xlconf_get(void)
{
	static struct xlconf xc;
	static int state;	/* 0 not loaded, 1 good, -1 malformed */

	if (state == 0)
		state = xlconf_load(&xc) == 0 ? 1 : -1;
	return state > 0 ? &xc : NULL;
}

/* The table index of key, of the expected type; a wrong key is a bug. */
static size_t
xlconf_find(const char *key, int want_string)
{
	for (size_t i = 0; i < XLCONF_NKEYS; i++)
		if (strcmp(xlconf_keys[i].xk_name, key) == 0) {
			if ((xlconf_keys[i].xk_type == XLCONF_STRING) != want_string)
				fatalx("xlconf: %s read as the wrong type", key);
			return i;
		}
	fatalx("xlconf: %s is not a key of the table", key);
}

/* A string key's value. */
const char *
xlconf_string(const struct xlconf *xc, const char *key)
{
	return xc->xc_vals[xlconf_find(key, 1)].xv_text;
}

/* A number key's value. */
long long
xlconf_int(const struct xlconf *xc, const char *key)
{
	return xc->xc_vals[xlconf_find(key, 0)].xv_int;
}

/* A boolean key's value. */
bool
xlconf_bool(const struct xlconf *xc, const char *key)
{
	return xc->xc_vals[xlconf_find(key, 0)].xv_int != 0;
}

/* Every key, its value and where it came from. */
void
xlconf_dump(FILE *f, const struct xlconf *xc)
{
	for (size_t i = 0; i < XLCONF_NKEYS; i++) {
		const struct xlconf_key *k = &xlconf_keys[i];
		const struct xlconf_val *v = &xc->xc_vals[i];

		if (k->xk_type == XLCONF_STRING)
			fprintf(f, "%s = \"%s\"", k->xk_name, v->xv_text);
		else
			fprintf(f, "%s = %lld", k->xk_name, v->xv_int);
		if (v->xv_line)
			fprintf(f, "\t# line %d\n", v->xv_line);
		else
			fputs("\t# default\n", f);
	}
}
