/* The xl.cfg tokenizer, private to cfg_parse.c (and its fuzzer). */
#ifndef PVSTACK_CFG_LEX_H
#define PVSTACK_CFG_LEX_H

#include <stddef.h>

#include "cfg.h"

enum cfg_tok {
	CFG_T_EOF,
	CFG_T_NL,
	CFG_T_SEMI,
	CFG_T_IDENT,
	CFG_T_NUMBER,
	CFG_T_STRING,
	CFG_T_LBRACK,
	CFG_T_RBRACK,
	CFG_T_COMMA,
	CFG_T_EQ,
	CFG_T_PLUSEQ,
	CFG_T_BAD,		/* already reported */
};

struct cfg_lex {
	const char *cl_text;
	size_t cl_len;
	size_t cl_pos;
	int cl_line;
	const char *cl_file;
	struct cfg_diag *cl_diag;
	const char *cl_key;	/* setting being parsed, for messages */
	int cl_in_list;		/* newlines are blanks */
	/* the current token */
	enum cfg_tok cl_tok;
	int cl_tok_line;
	size_t cl_tok_start;	/* offset of the token */
	int cl_tok_bol;		/* the token is the first on its line */
	size_t cl_stmt_start;	/* offset of the statement being parsed */
	char *cl_buf;		/* its text (strings unquoted) */
	size_t cl_buflen, cl_bufcap;
};

void cfg_lex_init(struct cfg_lex *lx, const char *text, size_t len, const char *file,
    struct cfg_diag *d);
void cfg_lex_free(struct cfg_lex *lx);
/* Reads the next token into lx->cl_tok / cl_buf. */
enum cfg_tok cfg_lex_next(struct cfg_lex *lx);
/* Skips to the start of the next line that looks like "name =" (error recovery). */
void cfg_lex_recover(struct cfg_lex *lx);
/* The current token for a message: "end of line", "'['", "\"abc\"", "abc". */
const char *cfg_lex_describe(struct cfg_lex *lx, char *buf, size_t len);

#endif
