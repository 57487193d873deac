/* The xl.cfg parser: statements from tokens, with error recovery (see cfg.h). */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_lex.h"
#include "xmalloc.h"

/* Reports "key: what, got <token>" at the current token. */
static void
cfg_parse_expected(struct cfg_lex *lx, const char *what)
{
	char buf[96];

	cfg_diag_error(lx->cl_diag, lx->cl_file, lx->cl_tok_line, "%s: expected %s, got %s",
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
			cfg_diag_error(lx->cl_diag, lx->cl_file, open_line,
			    "%s: unterminated list (no ']' before the end of the file)", lx->cl_key);
			return -1;
		}
		if (lx->cl_tok == CFG_T_LBRACK) {
			cfg_diag_error(lx->cl_diag, lx->cl_file, lx->cl_tok_line,
			    "%s: nested lists are not supported", lx->cl_key);
			return -1;
		}
		if (lx->cl_tok == CFG_T_IDENT && lx->cl_tok_bol) {
			cfg_diag_error(lx->cl_diag, lx->cl_file, open_line,
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
				cfg_diag_error(lx->cl_diag, lx->cl_file, open_line,
				    "%s: list not closed (no ']' before line %d)", lx->cl_key,
				    lx->cl_tok_line);
			else if (lx->cl_tok == CFG_T_EOF)
				cfg_diag_error(lx->cl_diag, lx->cl_file, open_line,
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
cfg_parse_intern_file(struct cfg *cfg, const char *file)
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
cfg_parse_append(struct cfg_setting *s, struct cfg_value *v)
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
cfg_parse_store(struct cfg *cfg, struct cfg_lex *lx, const char *key, int line, int append,
    struct cfg_value *v)
{
	struct cfg_setting *s = NULL;

	for (size_t i = cfg->c_nsettings; append && i > 0; i--)
		if (strcmp(cfg->c_settings[i - 1].cs_key, key) == 0) {
			s = &cfg->c_settings[i - 1];
			break;
		}
	if (s) {
		if (cfg_parse_append(s, v) < 0) {
			cfg_diag_error(lx->cl_diag, lx->cl_file, line,
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
	s->cs_file = cfg_parse_intern_file(cfg, lx->cl_file);
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
	cfg_parse_store(cfg, lx, key, line, append, &v);
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
			cfg_diag_error(d, file, lx.cl_tok_line, "expected a setting (name = value), got %s",
			    cfg_lex_describe(&lx, buf, sizeof(buf)));
		cfg_lex_recover(&lx);
	}
	cfg_lex_free(&lx);
	return d->cd_errors - before;
}

