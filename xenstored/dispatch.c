/*
 * One table row per message type with its policy flags, checked here once so
 * that handlers only do their job (after C xenstored's wire_funcs[]).
 */
#include <string.h>

#include "log.h"
#include "xenstored.h"

#define OPF_PRIV	0x1	/* privileged callers only: EACCES */
#define OPF_WRITE	0x2	/* refused on socket_ro: EROFS */
#define OPF_TX		0x4	/* honours tx_id: the transaction must exist */

struct dispatch_op {
	const char *do_name;
	int (*do_fn)(struct conn *c, struct req *r);
	unsigned do_flags;
};

static const struct dispatch_op dispatch_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { "CONTROL", op_control, OPF_PRIV },
	[XS_DIRECTORY] = { "DIRECTORY", op_directory, OPF_TX },
	[XS_READ] = { "READ", op_read, OPF_TX },
	[XS_GET_PERMS] = { "GET_PERMS", op_get_perms, OPF_TX },
	[XS_WATCH] = { "WATCH", op_watch, 0 },
	[XS_UNWATCH] = { "UNWATCH", op_unwatch, 0 },
	[XS_TRANSACTION_START] = { "TRANSACTION_START", op_transaction_start, 0 },
	[XS_TRANSACTION_END] = { "TRANSACTION_END", op_transaction_end, 0 },
	[XS_INTRODUCE] = { "INTRODUCE", op_introduce, OPF_PRIV | OPF_WRITE },
	[XS_RELEASE] = { "RELEASE", op_release, OPF_PRIV | OPF_WRITE },
	[XS_GET_DOMAIN_PATH] = { "GET_DOMAIN_PATH", op_get_domain_path, 0 },
	[XS_WRITE] = { "WRITE", op_write, OPF_TX | OPF_WRITE },
	[XS_MKDIR] = { "MKDIR", op_mkdir, OPF_TX | OPF_WRITE },
	[XS_RM] = { "RM", op_rm, OPF_TX | OPF_WRITE },
	[XS_SET_PERMS] = { "SET_PERMS", op_set_perms, OPF_TX | OPF_WRITE },
	[XS_IS_DOMAIN_INTRODUCED] = { "IS_DOMAIN_INTRODUCED", op_is_domain_introduced, OPF_PRIV },
	[XS_RESUME] = { "RESUME", op_resume, OPF_PRIV | OPF_WRITE },
	[XS_SET_TARGET] = { "SET_TARGET", op_set_target, OPF_PRIV | OPF_WRITE },
	[XS_RESET_WATCHES] = { "RESET_WATCHES", op_reset_watches, 0 },
	[XS_DIRECTORY_PART] = { "DIRECTORY_PART", op_directory_part, OPF_TX },
};

/* Splits the payload into NUL-terminated strings; -1 if one is unterminated. */
int
req_args(const struct req *r, const char **argv, unsigned max)
{
	size_t off = 0, l;
	unsigned n = 0;

	while (off < r->r_len) {
		l = strnlen(r->r_data + off, r->r_len - off);
		if (l == r->r_len - off)
			return -1;
		if (n < max)
			argv[n] = r->r_data + off;
		n++;
		off += l + 1;
	}
	return n;
}

/* Exactly one string whose NUL is the payload's last byte (C onearg()). */
const char *
req_onearg(const struct req *r)
{
	if (r->r_len == 0 || r->r_data[r->r_len - 1] != '\0' ||
	    strlen(r->r_data) != r->r_len - 1)
		return NULL;
	return r->r_data;
}

/* Validates one request against its table row and runs the handler. */
void
dispatch(struct conn *c, const struct xsd_sockmsg *hdr, const char *data)
{
	struct req r = { .r_hdr = *hdr, .r_data = data, .r_len = hdr->len };
	const struct dispatch_op *op = NULL;
	int rc;

	control_trace("IN ", c, hdr, data);
	if (hdr->type < XS_TYPE_COUNT)
		op = &dispatch_ops[hdr->type];
	if (op == NULL || op->do_fn == NULL) {
		rc = ENOSYS;
		goto out;
	}
	rc = EACCES;
	if ((op->do_flags & OPF_PRIV) && !c->c_priv)
		goto out;
	rc = EROFS;
	if ((op->do_flags & OPF_WRITE) && c->c_readonly)
		goto out;
	if ((op->do_flags & OPF_TX) && hdr->tx_id != 0) {
		rc = ENOENT;
		if ((r.r_tx = txn_find(c, hdr->tx_id)) == NULL)
			goto out;
	}
	/* the write rate limit: stores outside a transaction, and commits */
	if ((op->do_flags & OPF_WRITE) && (op->do_flags & OPF_TX) && hdr->tx_id == 0)
		wrl_debit(c, false);
	else if (hdr->type == XS_TRANSACTION_END && r.r_len > 0 && data[0] == 'T')
		wrl_debit(c, true);
	rc = op->do_fn(c, &r);
out:
	if (rc) {
		log_debug("conn %u: %s: %s", c->c_id, op && op->do_name ? op->do_name : "?",
		    xs_errno_name(rc));
		conn_reply_err(c, &r, rc);
	}
}
