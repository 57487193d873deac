/* Shared by xl list's table and its JSON form. */
#ifndef PVSTACK_XL_LIST_H
#define PVSTACK_XL_LIST_H

#include "xl.h"

/* The six-letter state column: r b p s <reason> d. */
void xl_list_state(const struct hv_dominfo *i, char out[7]);
/* xl list -l: a JSON array, 4-space indent, one object per domain. */
int xl_list_json(struct xl_ctx *ctx, const struct hv_dominfo *info, unsigned n);

#endif
