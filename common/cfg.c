/* The settings container: loading a file, command-line overrides, lookups. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "xmalloc.h"

/* Frees what a value owns (not the value itself). */
void
cfg_value_clear(struct cfg_value *v)
{
	free(v->cv_atom);
	for (size_t i = 0; i < v->cv_nitems; i++)
		cfg_value_clear(&v->cv_items[i]);
	free(v->cv_items);
	memset(v, 0, sizeof(*v));
}

/* Reads a whole file into memory. */
static char *
cfg_slurp(const char *path, size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (64u << 20)) {
				errno = EFBIG;
				goto fail;
			}
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	n = errno;
	close(fd);
	free(buf);
	errno = (int)n;
	return NULL;
}

/* Reads and parses a config file; -1 when it cannot be read. */
int
cfg_load(struct cfg *cfg, const char *path, struct cfg_diag *d)
{
	size_t len;
	char *text = cfg_slurp(path, &len);
	int n;

	if (text == NULL) {
		cfg_diag_error(d, path, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	n = cfg_parse(cfg, text, len, path, d);
	free(text);
	return n;
}

/* Whether s is a value the grammar reads (number, quoted string or list). */
static int
cfg_override_is_literal(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\'' || *s == '"' || *s == '[' || (*s >= '0' && *s <= '9') ||
	    (*s == '-' && s[1] >= '0' && s[1] <= '9');
}

/* Whether [s, s+n) is a setting name (optionally ending in '+', for "+="). */
static int
cfg_override_key_ok(const char *s, size_t n)
{
	if (n && s[n - 1] == '+')
		n--;
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/* Applies a command-line key=value. */
int
cfg_override(struct cfg *cfg, const char *arg, struct cfg_diag *d)
{
	const char *eq = strchr(arg, '=');
	size_t before = cfg->c_nsettings;
	char *text;
	int n;

	if (eq == NULL || !cfg_override_key_ok(arg, eq - arg)) {
		cfg_diag_error(d, "command line", 0, "expected key=value, got \"%s\"", arg);
		return 1;
	}
	if (cfg_override_is_literal(eq + 1) || eq[-1] == '+')
		return cfg_parse(cfg, arg, strlen(arg), "command line", d);
	/* A bare word: take it verbatim as a string. */
	char *key = xstrndup(arg, eq - arg);
	xasprintf(&text, "%s = \"\"", key);
	n = cfg_parse(cfg, text, strlen(text), "command line", d);
	if (n == 0 && cfg->c_nsettings == before + 1) {
		struct cfg_setting *s = &cfg->c_settings[cfg->c_nsettings - 1];
		free(s->cs_value.cv_atom);
		s->cs_value.cv_atom = xstrdup(eq + 1);
	}
	free(text);
	free(key);
	return n;
}

/* The last setting of key, marked as used. */
struct cfg_setting *
cfg_get(struct cfg *cfg, const char *key)
{
	for (size_t i = cfg->c_nsettings; i > 0; i--) {
		struct cfg_setting *s = &cfg->c_settings[i - 1];
		if (strcmp(s->cs_key, key) == 0) {
			for (size_t j = 0; j < cfg->c_nsettings; j++)
				if (strcmp(cfg->c_settings[j].cs_key, key) == 0)
					cfg->c_settings[j].cs_used = 1;
			return s;
		}
	}
	return NULL;
}

/* Frees every setting and file name. */
void
cfg_free(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->c_nsettings; i++) {
		free(cfg->c_settings[i].cs_key);
		cfg_value_clear(&cfg->c_settings[i].cs_value);
	}
	free(cfg->c_settings);
	for (size_t i = 0; i < cfg->c_nfiles; i++)
		free(cfg->c_files[i]);
	free(cfg->c_files);
	memset(cfg, 0, sizeof(*cfg));
}

/* Prints one atom as a double-quoted string with escapes. */
static void
cfg_atom_print(FILE *f, const struct cfg_value *v)
{
	if (!v->cv_quoted) {
		fputs(v->cv_atom, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)v->cv_atom; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Prints a value in the config grammar. */
void
cfg_value_print(FILE *f, const struct cfg_value *v)
{
	if (v->cv_kind == CFG_ATOM) {
		cfg_atom_print(f, v);
		return;
	}
	fputs("[ ", f);
	for (size_t i = 0; i < v->cv_nitems; i++) {
		cfg_atom_print(f, &v->cv_items[i]);
		fputs(i + 1 < v->cv_nitems ? ", " : " ", f);
	}
	fputc(']', f);
}
