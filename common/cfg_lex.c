#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_lex.h"
#include "xmalloc.h"

/* UTF-8 typographic quotes that pasted wiki examples carry (‘ ’ “ ”). */
#define CFG_LSQUO "\xe2\x80\x98"
#define CFG_RSQUO "\xe2\x80\x99"
#define CFG_LDQUO "\xe2\x80\x9c"
#define CFG_RDQUO "\xe2\x80\x9d"

/* Sets up a tokenizer over text; nothing is read until cfg_lex_next. */
void
cfg_lex_init(struct cfg_lex *lx, const char *text, size_t len, const char *file,
    struct cfg_diag *d)
{
	memset(lx, 0, sizeof(*lx));
	lx->cl_text = text;
	lx->cl_len = len;
	lx->cl_line = 1;
	lx->cl_file = file;
	lx->cl_diag = d;
	lx->cl_bufcap = 64;
	lx->cl_buf = xmalloc(lx->cl_bufcap);
	lx->cl_buf[0] = '\0';
}

/* Releases the token buffer. */
void
cfg_lex_free(struct cfg_lex *lx)
{
	free(lx->cl_buf);
	lx->cl_buf = NULL;
}

/* Appends one byte to the current token's text. */
static void
cfg_lex_put(struct cfg_lex *lx, char c)
{
	if (lx->cl_buflen + 2 > lx->cl_bufcap) {
		lx->cl_bufcap *= 2;
		lx->cl_buf = xreallocarray(lx->cl_buf, lx->cl_bufcap, 1);
	}
	lx->cl_buf[lx->cl_buflen++] = c;
	lx->cl_buf[lx->cl_buflen] = '\0';
}

/* The byte at pos + off, or 0 past the end (NUL bytes in a file read as 0 too). */
static int
cfg_lex_peek(struct cfg_lex *lx, size_t off)
{
	size_t p = lx->cl_pos + off;

	return p < lx->cl_len ? (unsigned char)lx->cl_text[p] : 0;
}

/* Whether the text at pos starts with s. */
static int
cfg_lex_at(struct cfg_lex *lx, const char *s)
{
	size_t n = strlen(s);

	return lx->cl_pos + n <= lx->cl_len && memcmp(lx->cl_text + lx->cl_pos, s, n) == 0;
}

/* Reports a tokenizer error naming the setting being parsed, if any. */
static void
cfg_lex_error(struct cfg_lex *lx, const char *msg)
{
	if (lx->cl_key)
		cfg_diag_error(lx->cl_diag, lx->cl_file, lx->cl_line, "%s: %s", lx->cl_key, msg);
	else
		cfg_diag_error(lx->cl_diag, lx->cl_file, lx->cl_line, "%s", msg);
}

/* Skips blanks, comments and backslash-newline continuations. */
static void
cfg_lex_blanks(struct cfg_lex *lx)
{
	for (;;) {
		int c = cfg_lex_peek(lx, 0);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			lx->cl_pos++;
		} else if (c == '\\' && (cfg_lex_peek(lx, 1) == '\n' ||
		    (cfg_lex_peek(lx, 1) == '\r' && cfg_lex_peek(lx, 2) == '\n'))) {
			lx->cl_pos += cfg_lex_peek(lx, 1) == '\n' ? 2 : 3;
			lx->cl_line++;
		} else if (c == '#') {
			while (lx->cl_pos < lx->cl_len && lx->cl_text[lx->cl_pos] != '\n')
				lx->cl_pos++;
		} else if (c == '\n' && lx->cl_in_list) {
			lx->cl_pos++;
			lx->cl_line++;
		} else {
			return;
		}
	}
}

/* Value of one hex digit, or -1. */
static int
cfg_lex_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the escape after a backslash at pos; 0, or -1 when invalid. */
static int
cfg_lex_escape(struct cfg_lex *lx)
{
	static const char from[] = "nrtabfv\\'\"";
	static const char to[] = "\n\r\t\a\b\f\v\\'\"";
	int c = cfg_lex_peek(lx, 1);
	const char *p = c ? strchr(from, c) : NULL;

	if (p) {
		cfg_lex_put(lx, to[p - from]);
		lx->cl_pos += 2;
		return 0;
	}
	if (c == 'x' && cfg_lex_hex(cfg_lex_peek(lx, 2)) >= 0 &&
	    cfg_lex_hex(cfg_lex_peek(lx, 3)) >= 0) {
		int v = cfg_lex_hex(cfg_lex_peek(lx, 2)) * 16 + cfg_lex_hex(cfg_lex_peek(lx, 3));
		if (v == 0)
			return -1;
		cfg_lex_put(lx, (char)v);
		lx->cl_pos += 4;
		return 0;
	}
	return -1;
}

/* Reads a quoted string whose opening quote (open_len bytes) is at pos. */
static enum cfg_tok
cfg_lex_string(struct cfg_lex *lx, size_t open_len, const char *close, const char *alt_close)
{
	char msg[64];

	lx->cl_pos += open_len;
	for (;;) {
		int c = cfg_lex_peek(lx, 0);

		if (lx->cl_pos >= lx->cl_len || c == '\n') {
			cfg_lex_error(lx, "unterminated string");
			return CFG_T_BAD;
		}
		if (cfg_lex_at(lx, close) || (alt_close && cfg_lex_at(lx, alt_close))) {
			lx->cl_pos += cfg_lex_at(lx, close) ? strlen(close) : strlen(alt_close);
			return CFG_T_STRING;
		}
		if (c == '\\') {
			if (cfg_lex_escape(lx) < 0) {
				int e = cfg_lex_peek(lx, 1);
				snprintf(msg, sizeof(msg), "invalid escape \\%c in string",
				    isprint(e) ? e : '?');
				cfg_lex_error(lx, msg);
				while (lx->cl_pos < lx->cl_len && lx->cl_text[lx->cl_pos] != '\n')
					lx->cl_pos++;
				return CFG_T_BAD;
			}
			continue;
		}
		if (c == 0) {
			cfg_lex_error(lx, "NUL byte in string");
			lx->cl_pos++;
			return CFG_T_BAD;
		}
		cfg_lex_put(lx, (char)c);
		lx->cl_pos++;
	}
}

/* Reads a name or a number: a run of letters, digits, '_', '.', '-' and '+'. */
static enum cfg_tok
cfg_lex_word(struct cfg_lex *lx)
{
	int c = cfg_lex_peek(lx, 0);
	enum cfg_tok t = isdigit(c) || c == '-' ? CFG_T_NUMBER : CFG_T_IDENT;

	while ((c = cfg_lex_peek(lx, 0)) != 0 && (isalnum(c) || c == '_' || c == '.' ||
	    ((c == '-' || c == '+') && t == CFG_T_NUMBER))) {
		cfg_lex_put(lx, (char)c);
		lx->cl_pos++;
	}
	return t;
}

/* Reads one quoted string of any of the quote styles at pos, or returns -1. */
static int
cfg_lex_quoted(struct cfg_lex *lx, enum cfg_tok *t)
{
	int c = cfg_lex_peek(lx, 0);

	if (c == '\'' || c == '"') {
		char q[2] = { (char)c, 0 };
		*t = cfg_lex_string(lx, 1, q, NULL);
		return 0;
	}
	if (cfg_lex_at(lx, CFG_LSQUO) || cfg_lex_at(lx, CFG_LDQUO)) {
		int single = cfg_lex_at(lx, CFG_LSQUO);
		cfg_diag_warn(lx->cl_diag, lx->cl_file, lx->cl_line,
		    "%s%stypographic quotes read as %s", lx->cl_key ? lx->cl_key : "",
		    lx->cl_key ? ": " : "", single ? "'...'" : "\"...\"");
		*t = cfg_lex_string(lx, 3, single ? CFG_RSQUO : CFG_RDQUO, single ? "'" : "\"");
		return 0;
	}
	return -1;
}

/* Whether only blanks precede pos on its line. */
static int
cfg_lex_bol(struct cfg_lex *lx)
{
	for (size_t p = lx->cl_pos; p > 0; p--) {
		char c = lx->cl_text[p - 1];
		if (c == '\n')
			return 1;
		if (c != ' ' && c != '\t')
			return 0;
	}
	return 1;
}

/* Reads the next token into lx; errors are reported here and give CFG_T_BAD. */
enum cfg_tok
cfg_lex_next(struct cfg_lex *lx)
{
	enum cfg_tok t;
	int c;

	lx->cl_buflen = 0;
	lx->cl_buf[0] = '\0';
	cfg_lex_blanks(lx);
	lx->cl_tok_line = lx->cl_line;
	lx->cl_tok_start = lx->cl_pos;
	lx->cl_tok_bol = cfg_lex_bol(lx);
	c = cfg_lex_peek(lx, 0);
	if (lx->cl_pos >= lx->cl_len) {
		t = CFG_T_EOF;
	} else if (c == '\n') {
		lx->cl_pos++;
		lx->cl_line++;
		t = CFG_T_NL;
	} else if (cfg_lex_quoted(lx, &t) == 0) {
		;
	} else if (isalnum(c) || c == '_' || (c == '-' && isdigit(cfg_lex_peek(lx, 1)))) {
		t = cfg_lex_word(lx);
	} else if (c == '+' && cfg_lex_peek(lx, 1) == '=') {
		lx->cl_pos += 2;
		t = CFG_T_PLUSEQ;
	} else if (strchr(";[],=", c)) {
		lx->cl_pos++;
		t = c == ';' ? CFG_T_SEMI : c == '[' ? CFG_T_LBRACK : c == ']' ? CFG_T_RBRACK :
		    c == ',' ? CFG_T_COMMA : CFG_T_EQ;
	} else {
		char msg[64];
		snprintf(msg, sizeof(msg), isprint(c) ? "stray character '%c'" :
		    "stray byte 0x%02x", c);
		cfg_lex_error(lx, msg);
		lx->cl_pos++;
		t = CFG_T_BAD;
	}
	lx->cl_tok = t;
	return t;
}

/* Whether the line at pos starts a new statement rather than continuing a list. */
static int
cfg_lex_line_is_statement(struct cfg_lex *lx)
{
	size_t p = lx->cl_pos;
	const char *s = lx->cl_text;

	while (p < lx->cl_len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r'))
		p++;
	if (p >= lx->cl_len)
		return 1;
	return !strchr("'\"[],#\n\\", s[p]) && !isdigit((unsigned char)s[p]) &&
	    (unsigned char)s[p] != 0xe2;
}

/*
 * Error recovery: drops the rest of the statement. A name at the start of a
 * line inside a list means the list was left open: parsing resumes there.
 * Otherwise it resumes at the next line that does not continue a list.
 */
void
cfg_lex_recover(struct cfg_lex *lx)
{
	lx->cl_in_list = 0;
	if (lx->cl_tok == CFG_T_IDENT && lx->cl_tok_bol && lx->cl_tok_start > lx->cl_stmt_start) {
		lx->cl_pos = lx->cl_tok_start;
		lx->cl_line = lx->cl_tok_line;
		return;
	}
	if (lx->cl_tok == CFG_T_EOF)
		return;
	if (lx->cl_tok == CFG_T_NL && cfg_lex_line_is_statement(lx))
		return;
	for (;;) {
		while (lx->cl_pos < lx->cl_len && lx->cl_text[lx->cl_pos] != '\n')
			lx->cl_pos++;
		if (lx->cl_pos >= lx->cl_len)
			return;
		lx->cl_pos++;
		lx->cl_line++;
		if (cfg_lex_line_is_statement(lx))
			return;
	}
}

/* Describes the current token for an error message. */
const char *
cfg_lex_describe(struct cfg_lex *lx, char *buf, size_t len)
{
	switch (lx->cl_tok) {
	case CFG_T_EOF:
		return "end of file";
	case CFG_T_NL:
		return "end of line";
	case CFG_T_SEMI:
		return "';'";
	case CFG_T_LBRACK:
		return "'['";
	case CFG_T_RBRACK:
		return "']'";
	case CFG_T_COMMA:
		return "','";
	case CFG_T_EQ:
		return "'='";
	case CFG_T_PLUSEQ:
		return "'+='";
	case CFG_T_STRING:
		snprintf(buf, len, "\"%s\"", lx->cl_buf);
		return buf;
	case CFG_T_IDENT:
	case CFG_T_NUMBER:
		snprintf(buf, len, "%s", lx->cl_buf);
		return buf;
	case CFG_T_BAD:
		break;
	}
	return "a bad token";
}
