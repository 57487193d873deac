/*
 * The grammar of xl.cfg and of xl.conf (xlconf.h reads the latter with it), as
 * a pure module: text in, settings out, every problem reported with file and
 * line. No I/O beyond cfg_load's read of the file and the diagnostics stream,
 * so the golden tests and the fuzzer drive it directly.
 *
 *   setting  := IDENT ('=' | '+=') value (NEWLINE | ';')
 *   value    := NUMBER | STRING | '[' [value {',' value} [',']] ']'
 *   STRING   := '...' | "..." (backslash escapes in both)
 *
 * '#' starts a comment; a backslash before a newline continues the line (the
 * Xen 3 xm files use it inside lists); newlines inside a list are blanks.
 * Later settings of a key replace earlier ones ('+=' appends to a list).
 */
#ifndef PVSTACK_CFG_H
#define PVSTACK_CFG_H

#include <stddef.h>
#include <stdio.h>

/* One held diagnostic. */
struct cfg_diag_msg {
	char *cdm_file;
	size_t cdm_fileidx;	/* files in order of their first message */
	int cdm_line;
	size_t cdm_seq;
	char *cdm_text;
};

/*
 * Where diagnostics go, and how many there were. Messages are held until
 * cfg_diag_flush, which prints them in file and line order, so syntax and
 * value errors found in different passes read top to bottom.
 */
struct cfg_diag {
	FILE *cd_out;		/* NULL: count only */
	int cd_errors;
	int cd_warnings;
	struct cfg_diag_msg *cd_msgs;
	size_t cd_nmsgs;
};

enum cfg_kind { CFG_ATOM, CFG_LIST };

struct cfg_value {
	enum cfg_kind cv_kind;
	int cv_line;
	char *cv_atom;		/* CFG_ATOM: the text, unquoted */
	int cv_quoted;		/* CFG_ATOM: came from a string literal */
	struct cfg_value *cv_items;	/* CFG_LIST */
	size_t cv_nitems;
};

struct cfg_setting {
	char *cs_key;
	const char *cs_file;	/* points into struct cfg's file names */
	int cs_line;
	int cs_used;		/* set by whoever consumed it, for the unknown-key warning */
	struct cfg_value cs_value;
};

struct cfg {
	struct cfg_setting *c_settings;
	size_t c_nsettings;
	char **c_files;		/* names settings point at */
	size_t c_nfiles;
};

/* Reports "file:line: message" as an error / a warning (cfg_diag.c). */
void cfg_diag_error(struct cfg_diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfg_diag_warn(struct cfg_diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prints the held messages in order (lines without a number last) and drops them. */
void cfg_diag_flush(struct cfg_diag *d);

/* Parses text into cfg (appending); returns the number of errors found. */
int cfg_parse(struct cfg *cfg, const char *text, size_t len, const char *file,
    struct cfg_diag *d);
/* Reads and parses a file; -1 (with a message) when it cannot be read. */
int cfg_load(struct cfg *cfg, const char *path, struct cfg_diag *d);
/*
 * A command-line "key=value": parsed as a config line; a value that is not a
 * number, string or list is taken verbatim, so name=web1 works unquoted.
 */
int cfg_override(struct cfg *cfg, const char *arg, struct cfg_diag *d);
/* The setting in force for key (the last one), marked used; NULL if absent. */
struct cfg_setting *cfg_get(struct cfg *cfg, const char *key);
void cfg_free(struct cfg *cfg);
/* Frees what a value owns (not the value itself). */
void cfg_value_clear(struct cfg_value *v);

/* Prints a value in config syntax (for the stored config and golden dumps). */
void cfg_value_print(FILE *f, const struct cfg_value *v);

#endif
