/*
 * A list of xenstore operations committed as one pipelined transaction (see
 * dom_ops.c): how create writes a domain's layout in a few round trips.
 */
#ifndef PVSTACK_DOM_OPS_H
#define PVSTACK_DOM_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "xs.h"

struct dom_op {
	uint32_t op_type;	/* XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS */
	char *op_path;
	char *op_val;		/* XS_WRITE */
	struct xs_perm op_perms[2];
	unsigned op_nperms;
};

struct dom_ops {
	struct dom_op *do_ops;
	size_t do_n;
};

void dom_ops_write(struct dom_ops *o, const char *path, const char *val);
void dom_ops_printf(struct dom_ops *o, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void dom_ops_mkdir(struct dom_ops *o, const char *path);
void dom_ops_rm(struct dom_ops *o, const char *path);
/* Owner gets everything, reader READ (only the owner when they are the same). */
void dom_ops_perms(struct dom_ops *o, const char *path, uint32_t owner, uint32_t reader);
void dom_ops_write_perm(struct dom_ops *o, const char *path, const char *val, uint32_t owner,
    uint32_t reader);
/* All or nothing, on a connection of its own; -1 with errno. */
int dom_ops_commit(struct dom_ops *o);
/* Pipelined without a transaction (rm of an absent node is fine); -1 with errno. */
int dom_ops_send(struct dom_ops *o);
void dom_ops_free(struct dom_ops *o);
/* Reads n nodes pipelined; an array of n values (NULL where absent), or NULL. */
char **dom_ops_read_all(const char *const *paths, size_t n);

#endif
