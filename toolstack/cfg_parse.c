#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_lex.h"
#include "xmalloc.h"

/* Shared body of cfg_error and cfg_warn: formats and holds the message. */
static void
cfg_vreport(struct cfg_diag *d, const char *kind, const char *file, int line,
    const char *fmt, va_list ap)
{
	struct cfg_diag_msg *m;
	char *body, *text;

	if (d->cd_out == NULL)
		return;
	if (vasprintf(&body, fmt, ap) < 0)
		return;
	if (line > 0)
		xasprintf(&text, "%s:%d: %s%s", file, line, kind, body);
	else
		xasprintf(&text, "%s: %s%s", file, kind, body);
	free(body);
	d->cd_msgs = xreallocarray(d->cd_msgs, d->cd_nmsgs + 1, sizeof(*d->cd_msgs));
	m = &d->cd_msgs[d->cd_nmsgs];
	m->cdm_file = xstrdup(file);
	m->cdm_fileidx = d->cd_nmsgs;
	for (size_t i = 0; i < d->cd_nmsgs; i++)
		if (strcmp(d->cd_msgs[i].cdm_file, file) == 0) {
			m->cdm_fileidx = d->cd_msgs[i].cdm_fileidx;
			break;
		}
	m->cdm_line = line > 0 ? line : 0x7fffffff;
	m->cdm_seq = d->cd_nmsgs++;
	m->cdm_text = text;
}

/* Orders messages by file (first seen first), line, then arrival. */
static int
cfg_diag_cmp(const void *a, const void *b)
{
	const struct cfg_diag_msg *x = a, *y = b;

	if (x->cdm_fileidx != y->cdm_fileidx)
		return x->cdm_fileidx < y->cdm_fileidx ? -1 : 1;
	if (x->cdm_line != y->cdm_line)
		return x->cdm_line < y->cdm_line ? -1 : 1;
	return x->cdm_seq < y->cdm_seq ? -1 : (x->cdm_seq > y->cdm_seq);
}

/* Prints and drops the held messages. */
void
cfg_diag_flush(struct cfg_diag *d)
{
	if (d->cd_nmsgs > 1)
		qsort(d->cd_msgs, d->cd_nmsgs, sizeof(*d->cd_msgs), cfg_diag_cmp);
	for (size_t i = 0; i < d->cd_nmsgs; i++) {
		if (d->cd_out)
			fprintf(d->cd_out, "%s\n", d->cd_msgs[i].cdm_text);
		free(d->cd_msgs[i].cdm_text);
		free(d->cd_msgs[i].cdm_file);
	}
	free(d->cd_msgs);
	d->cd_msgs = NULL;
	d->cd_nmsgs = 0;
	if (d->cd_out)
		fflush(d->cd_out);
}

/* Reports an error at file:line and counts it. */
void
cfg_error(struct cfg_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	d->cd_errors++;
	va_start(ap, fmt);
	cfg_vreport(d, "", file, line, fmt, ap);
	va_end(ap);
}

/* Reports a warning at file:line and counts it. */
void
cfg_warn(struct cfg_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	d->cd_warnings++;
	va_start(ap, fmt);
	cfg_vreport(d, "warning: ", file, line, fmt, ap);
	va_end(ap);
}

/* Frees what a value owns (not the value itself). */
static void
cfg_value_clear(struct cfg_value *v)
{
	free(v->cv_atom);
	for (size_t i = 0; i < v->cv_nitems; i++)
		cfg_value_clear(&v->cv_items[i]);
	free(v->cv_items);
	memset(v, 0, sizeof(*v));
}

/* Reports "key: what, got <token>" at the current token. */
static void
cfg_parse_expected(struct cfg_lex *lx, const char *what)
{
	char buf[96];

	cfg_error(lx->cl_diag, lx->cl_file, lx->cl_tok_line, "%s: expected %s, got %s",
	    lx->cl_key, what, cfg_lex_describe(lx, buf, sizeof(buf)));
}

/* Turns the current number or string token into an atom value. */
static int
cfg_parse_atom(struct cfg_lex *lx, struct cfg_value *v)
{
	if (lx->cl_tok != CFG_T_NUMBER && lx->cl_tok != CFG_T_STRING) {
		if (lx->cl_tok != CFG_T_BAD)
			cfg_parse_expected(lx, "a value (a number, a quoted string or a list)");
		return -1;
	}
	v->cv_kind = CFG_ATOM;
	v->cv_line = lx->cl_tok_line;
	v->cv_atom = xstrdup(lx->cl_buf);
	v->cv_quoted = lx->cl_tok == CFG_T_STRING;
	return 0;
}

/* Parses "[ atom, atom, ]" after its '['; newlines inside are blanks. */
static int
cfg_parse_list(struct cfg_lex *lx, struct cfg_value *v)
{
	int open_line = lx->cl_tok_line;

	v->cv_kind = CFG_LIST;
	v->cv_line = open_line;
	lx->cl_in_list = 1;
	for (;;) {
		struct cfg_value item = { 0 };

		if (cfg_lex_next(lx) == CFG_T_RBRACK)
			break;
		if (lx->cl_tok == CFG_T_EOF) {
			cfg_error(lx->cl_diag, lx->cl_file, open_line,
			    "%s: unterminated list (no ']' before the end of the file)", lx->cl_key);
			return -1;
		}
		if (lx->cl_tok == CFG_T_LBRACK) {
			cfg_error(lx->cl_diag, lx->cl_file, lx->cl_tok_line,
			    "%s: nested lists are not supported", lx->cl_key);
			return -1;
		}
		if (lx->cl_tok == CFG_T_IDENT && lx->cl_tok_bol) {
			cfg_error(lx->cl_diag, lx->cl_file, open_line,
			    "%s: list not closed (no ']' before line %d)", lx->cl_key, lx->cl_tok_line);
			return -1;
		}
		if (cfg_parse_atom(lx, &item) < 0)
			return -1;
		v->cv_items = xreallocarray(v->cv_items, v->cv_nitems + 1, sizeof(*v->cv_items));
		v->cv_items[v->cv_nitems++] = item;
		if (cfg_lex_next(lx) == CFG_T_RBRACK)
			break;
		if (lx->cl_tok != CFG_T_COMMA) {
			if (lx->cl_tok == CFG_T_IDENT && lx->cl_tok_bol)
				cfg_error(lx->cl_diag, lx->cl_file, open_line,
				    "%s: list not closed (no ']' before line %d)", lx->cl_key,
				    lx->cl_tok_line);
			else if (lx->cl_tok == CFG_T_EOF)
				cfg_error(lx->cl_diag, lx->cl_file, open_line,
				    "%s: unterminated list (no ']' before the end of the file)",
				    lx->cl_key);
			else if (lx->cl_tok != CFG_T_BAD)
				cfg_parse_expected(lx, "',' or ']' in the list");
			return -1;
		}
	}
	lx->cl_in_list = 0;
	return 0;
}

/* Records the file name once; settings point at the copy. */
static const char *
cfg_intern_file(struct cfg *cfg, const char *file)
{
	for (size_t i = 0; i < cfg->c_nfiles; i++)
		if (strcmp(cfg->c_files[i], file) == 0)
			return cfg->c_files[i];
	cfg->c_files = xreallocarray(cfg->c_files, cfg->c_nfiles + 1, sizeof(*cfg->c_files));
	cfg->c_files[cfg->c_nfiles] = xstrdup(file);
	return cfg->c_files[cfg->c_nfiles++];
}

/* Appends to an existing setting ("+="); -1 when the kinds differ. */
static int
cfg_append(struct cfg_setting *s, struct cfg_value *v)
{
	struct cfg_value *old = &s->cs_value;

	if (old->cv_kind != v->cv_kind)
		return -1;
	if (v->cv_kind == CFG_ATOM) {
		char *cat;
		xasprintf(&cat, "%s%s", old->cv_atom, v->cv_atom);
		free(old->cv_atom);
		old->cv_atom = cat;
		cfg_value_clear(v);
		return 0;
	}
	old->cv_items = xreallocarray(old->cv_items, old->cv_nitems + v->cv_nitems,
	    sizeof(*old->cv_items));
	memcpy(old->cv_items + old->cv_nitems, v->cv_items, v->cv_nitems * sizeof(*v->cv_items));
	old->cv_nitems += v->cv_nitems;
	free(v->cv_items);
	memset(v, 0, sizeof(*v));
	return 0;
}

/* Stores a parsed setting: a new entry, or appended to the last one for "+=". */
static void
cfg_store(struct cfg *cfg, struct cfg_lex *lx, const char *key, int line, int append,
    struct cfg_value *v)
{
	struct cfg_setting *s = NULL;

	for (size_t i = cfg->c_nsettings; append && i > 0; i--)
		if (strcmp(cfg->c_settings[i - 1].cs_key, key) == 0) {
			s = &cfg->c_settings[i - 1];
			break;
		}
	if (s) {
		if (cfg_append(s, v) < 0) {
			cfg_error(lx->cl_diag, lx->cl_file, line,
			    "%s: '+=' needs the same kind of value as before (list or string)", key);
			cfg_value_clear(v);
		}
		return;
	}
	cfg->c_settings = xreallocarray(cfg->c_settings, cfg->c_nsettings + 1,
	    sizeof(*cfg->c_settings));
	s = &cfg->c_settings[cfg->c_nsettings++];
	memset(s, 0, sizeof(*s));
	s->cs_key = xstrdup(key);
	s->cs_file = cfg_intern_file(cfg, lx->cl_file);
	s->cs_line = line;
	s->cs_value = *v;
	memset(v, 0, sizeof(*v));
}

/* Parses one "name = value" statement whose name is the current token. */
static int
cfg_parse_setting(struct cfg *cfg, struct cfg_lex *lx)
{
	struct cfg_value v = { 0 };
	char *key = xstrdup(lx->cl_buf);
	int line = lx->cl_tok_line, append, rc = -1;

	lx->cl_key = key;
	cfg_lex_next(lx);
	if (lx->cl_tok != CFG_T_EQ && lx->cl_tok != CFG_T_PLUSEQ) {
		if (lx->cl_tok != CFG_T_BAD)
			cfg_parse_expected(lx, "'=' after the name");
		goto out;
	}
	append = lx->cl_tok == CFG_T_PLUSEQ;
	if (cfg_lex_next(lx) == CFG_T_LBRACK) {
		if (cfg_parse_list(lx, &v) < 0)
			goto out;
	} else if (cfg_parse_atom(lx, &v) < 0) {
		goto out;
	}
	cfg_lex_next(lx);
	if (lx->cl_tok != CFG_T_NL && lx->cl_tok != CFG_T_SEMI && lx->cl_tok != CFG_T_EOF) {
		if (lx->cl_tok != CFG_T_BAD)
			cfg_parse_expected(lx, "the end of the line after the value");
		goto out;
	}
	cfg_store(cfg, lx, key, line, append, &v);
	rc = 0;
out:
	cfg_value_clear(&v);
	lx->cl_key = NULL;
	free(key);
	return rc;
}

/* Parses a whole text, recovering after each bad statement so all are reported. */
int
cfg_parse(struct cfg *cfg, const char *text, size_t len, const char *file, struct cfg_diag *d)
{
	struct cfg_lex lx;
	int before = d->cd_errors;
	char buf[96];

	cfg_lex_init(&lx, text, len, file, d);
	for (;;) {
		enum cfg_tok t = cfg_lex_next(&lx);

		if (t == CFG_T_EOF)
			break;
		if (t == CFG_T_NL || t == CFG_T_SEMI)
			continue;
		lx.cl_stmt_start = lx.cl_tok_start;
		if (t == CFG_T_IDENT) {
			if (cfg_parse_setting(cfg, &lx) < 0)
				cfg_lex_recover(&lx);
			continue;
		}
		if (t != CFG_T_BAD)
			cfg_error(d, file, lx.cl_tok_line, "expected a setting (name = value), got %s",
			    cfg_lex_describe(&lx, buf, sizeof(buf)));
		cfg_lex_recover(&lx);
	}
	cfg_lex_free(&lx);
	return d->cd_errors - before;
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
		cfg_error(d, path, 0, "cannot read: %s", strerror(errno));
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
		cfg_error(d, "command line", 0, "expected key=value, got \"%s\"", arg);
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
