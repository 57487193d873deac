/*
 * The node operations of the wire protocol. Each handler parses its
 * arguments, checks permissions, and replies; it returns 0 when it replied
 * or an errno for dispatch to send as XS_ERROR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"
#include "xmalloc.h"

/* ENOENT or EACCES for a missing node, after the nearest existing ancestor (Xen's rule). */
static int
ops_errno_missing(struct conn *c, struct txn *t, const char *path, unsigned want)
{
	char *p = xstrdup(path), *q;
	const struct node *n = NULL;
	int rc;

	while (strcmp(p, "/") != 0) {
		q = path_parent(p);
		free(p);
		p = q;
		if ((n = acc_get(t, p)) != NULL)
			break;
	}
	free(p);
	if (n == NULL)
		return ENOENT;
	rc = (perms_for_conn(c, n->n_perms, n->n_nperms) & want) ? ENOENT : EACCES;
	return rc;
}

/* The node at path if the caller has want on it. */
static int
ops_lookup(struct conn *c, struct txn *t, const char *path, unsigned want,
    const struct node **out)
{
	const struct node *n = acc_get(t, path);

	if (n == NULL)
		return ops_errno_missing(c, t, path, want);
	if ((perms_for_conn(c, n->n_perms, n->n_nperms) & want) != want)
		return EACCES;
	*out = n;
	return 0;
}

/* The single path argument, made absolute. */
static int
ops_path(struct conn *c, const struct req *r, bool special_ok, char **path)
{
	const char *arg = req_onearg(r);

	if (arg == NULL)
		return EINVAL;
	return path_canon(c, arg, special_ok, path);
}

/* Unprivileged writers: C's per-node record limit. */
static int
ops_check_size(const struct conn *c, const struct node *n)
{
	if (!c->c_priv && node_record_size(n) > quota.q_node_size)
		return ENOSPC;
	return 0;
}

/* XS_READ: the raw value. */
int
op_read(struct conn *c, struct req *r)
{
	const struct node *n;
	char *path;
	int rc;

	if ((rc = ops_path(c, r, false, &path)) != 0)
		return rc;
	if ((rc = ops_lookup(c, r->r_tx, path, PERM_READ, &n)) == 0)
		conn_reply(c, r, XS_READ, n->n_value, n->n_vlen);
	free(path);
	return rc;
}

/* The memory quota for new nodes: their names, perms, value and names in parents. */
static int
ops_check_mem_create(const struct conn *c, char **missing, unsigned nmiss, unsigned nperms,
    size_t len)
{
	long growth = len;
	unsigned i;

	for (i = 0; i < nmiss; i++)
		growth += strlen(missing[i]) + nperms * 4 + strlen(path_basename(missing[i])) + 1;
	return quota_mem_check(c, c->c_domid, growth);
}

/* Creates path and its missing parents, inheriting perms, owned by an unprivileged creator. */
static int
ops_create(struct conn *c, struct txn *t, const char *path, const void *val, size_t len)
{
	char **missing = NULL, *p = xstrdup(path), *q;
	const struct node *anc;
	struct node *parent, *n = NULL;
	unsigned nmiss = 0, i;
	int rc;

	for (;;) {
		missing = xreallocarray(missing, nmiss + 1, sizeof(*missing));
		missing[nmiss++] = p;
		q = path_parent(p);
		if ((anc = acc_get(t, q)) != NULL) {
			p = q;
			break;
		}
		p = q;
	}
	rc = EACCES;
	if (!(perms_for_conn(c, anc->n_perms, anc->n_nperms) & PERM_WRITE))
		goto out;
	rc = ENOSPC;
	if (!c->c_priv && acc_entries(t, c) + (int)nmiss > (int)quota.q_entries)
		goto out;
	if ((rc = ops_check_mem_create(c, missing, nmiss, anc->n_nperms, len)) != 0)
		goto out;
	parent = node_dup(anc);
	for (i = nmiss; i-- > 0;) {
		node_add_child(parent, path_basename(missing[i]));
		if ((rc = ops_check_size(c, parent)) != 0) {
			node_free(parent);
			goto out;
		}
		n = node_new(missing[i], parent->n_perms, parent->n_nperms);
		if (!c->c_priv)
			n->n_perms[0].domid = c->c_domid;
		acc_put(t, parent);
		acc_entries_add(t, n->n_perms[0].domid, 1);
		parent = n;
	}
	node_set_value(n, val, len);
	rc = ops_check_size(c, n);
	acc_put(t, n);
	acc_event(t, path, false, n);
out:
	for (i = 0; i < nmiss; i++)
		free(missing[i]);
	free(missing);
	free(p);
	return rc ? rc : (t ? t->t_failed : 0);
}

/* A write outside a transaction: the live node takes the value in place. */
static int
ops_write_live(struct conn *c, struct node *n, const void *val, size_t len)
{
	int rc;

	if (!c->c_priv && node_record_size(n) - n->n_vlen + len > quota.q_node_size)
		return ENOSPC;
	if ((rc = quota_mem_check(c, n->n_perms[0].domid, (long)len - (long)n->n_vlen)) != 0)
		return rc;
	db_set_value(n, val, len);
	acc_event(NULL, n->n_path, false, n);
	return 0;
}

/* WRITE and MKDIR: an existing node gets the value (MKDIR leaves it, silently). */
static int
ops_write_node(struct conn *c, struct txn *t, const char *path, const void *val, size_t len,
    bool mkdir)
{
	const struct node *n = acc_get(t, path);
	struct node *nn;
	int rc;

	if (n == NULL)
		return ops_create(c, t, path, val, len);
	if (!(perms_for_conn(c, n->n_perms, n->n_nperms) & PERM_WRITE))
		return EACCES;
	if (mkdir)
		return 0;
	if (t == NULL)
		return ops_write_live(c, db_lookup(path), val, len);
	nn = node_dup(n);
	node_set_value(nn, val, len);
	if ((rc = ops_check_size(c, nn)) != 0 ||
	    (rc = quota_mem_check(c, nn->n_perms[0].domid, (long)len - (long)n->n_vlen)) != 0) {
		node_free(nn);
		return rc;
	}
	acc_put(t, nn);
	acc_event(t, path, false, nn);
	return t ? t->t_failed : 0;
}

/* XS_WRITE path\0value: creates missing parents. */
int
op_write(struct conn *c, struct req *r)
{
	size_t plen = strnlen(r->r_data, r->r_len);
	char *path;
	int rc;

	if (plen == r->r_len)
		return EINVAL;
	if ((rc = path_canon(c, r->r_data, false, &path)) != 0)
		return rc;
	rc = ops_write_node(c, r->r_tx, path, r->r_data + plen + 1, r->r_len - plen - 1, false);
	free(path);
	if (rc == 0)
		conn_reply_str(c, r, "OK");
	return rc;
}

/* XS_MKDIR: like WRITE with an empty value, but an existing node is left alone. */
int
op_mkdir(struct conn *c, struct req *r)
{
	char *path;
	int rc;

	if ((rc = ops_path(c, r, false, &path)) != 0)
		return rc;
	rc = ops_write_node(c, r->r_tx, path, "", 0, true);
	free(path);
	if (rc == 0)
		conn_reply_str(c, r, "OK");
	return rc;
}

/* Deletes a subtree without recursion; exact events for each removed descendant. */
static void
ops_delete_tree(struct txn *t, const char *root)
{
	char **stack = xmalloc(sizeof(char *));
	size_t sp = 0, cap = 1, off;
	const struct node *n;
	char *p;

	stack[sp++] = xstrdup(root);
	while (sp > 0) {
		p = stack[--sp];
		if ((n = acc_get(t, p)) != NULL) {
			for (off = 0; off < n->n_clen; off += strlen(n->n_children + off) + 1) {
				if (sp == cap)
					stack = xreallocarray(stack, cap *= 2, sizeof(char *));
				xasprintf(&stack[sp++], "%s/%s", strcmp(p, "/") ? p : "",
				    n->n_children + off);
			}
			acc_event(t, p, strcmp(p, root) != 0, n);
			acc_entries_add(t, n->n_perms[0].domid, -1);
			acc_del(t, p);
		}
		free(p);
	}
	free(stack);
}

/* XS_RM: recursive; a missing node with an existing parent is fine. */
int
op_rm(struct conn *c, struct req *r)
{
	const struct node *n, *pn;
	struct node *parent;
	char *path, *ppath = NULL;
	int rc;

	if ((rc = ops_path(c, r, false, &path)) != 0)
		return rc;
	rc = EINVAL;
	if (strcmp(path, "/") == 0)
		goto out;
	ppath = path_parent(path);
	if ((rc = ops_lookup(c, r->r_tx, path, PERM_WRITE, &n)) != 0) {
		if (rc == ENOENT && acc_get(r->r_tx, ppath))
			rc = 0;
		goto out;
	}
	ops_delete_tree(r->r_tx, path);
	if ((pn = acc_get(r->r_tx, ppath)) != NULL) {
		parent = node_dup(pn);
		node_del_child(parent, path_basename(path));
		acc_put(r->r_tx, parent);
	}
	rc = r->r_tx ? r->r_tx->t_failed : 0;
out:
	if (rc == 0)
		conn_reply_str(c, r, "OK");
	free(ppath);
	free(path);
	return rc;
}

/* XS_DIRECTORY: child names. */
int
op_directory(struct conn *c, struct req *r)
{
	const struct node *n;
	char *path;
	int rc;

	if ((rc = ops_path(c, r, false, &path)) != 0)
		return rc;
	if ((rc = ops_lookup(c, r->r_tx, path, PERM_READ, &n)) == 0)
		conn_reply(c, r, XS_DIRECTORY, n->n_children, n->n_clen);
	free(path);
	return rc;
}

/* "<gen>\0" then whole names from offset that fit; the final chunk gets an extra NUL. */
int
op_directory_part(struct conn *c, struct req *r)
{
	const char *argv[2];
	const struct node *n;
	char *path = NULL, buf[XENSTORE_PAYLOAD_MAX];
	size_t off, len, l, start;
	char *end;
	int rc;

	if (req_args(r, argv, 2) != 2)
		return EINVAL;
	errno = 0;
	start = strtoul(argv[1], &end, 10);
	if (*end || errno)
		return EINVAL;
	if ((rc = path_canon(c, argv[0], false, &path)) != 0)
		return rc;
	if ((rc = ops_lookup(c, r->r_tx, path, PERM_READ, &n)) != 0)
		goto out;
	len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n->n_gen) + 1;
	for (off = start; off < n->n_clen; off += l) {
		l = strlen(n->n_children + off) + 1;
		if (len + l + (off + l == n->n_clen) > sizeof(buf))
			break;
		memcpy(buf + len, n->n_children + off, l);
		len += l;
	}
	if (off >= n->n_clen)
		buf[len++] = '\0';
	conn_reply(c, r, XS_DIRECTORY_PART, buf, len);
out:
	free(path);
	return rc;
}

/* XS_GET_PERMS: the perm list. */
int
op_get_perms(struct conn *c, struct req *r)
{
	char *path, buf[XENSTORE_PAYLOAD_MAX];
	const struct node *n;
	int rc;

	if ((rc = ops_path(c, r, false, &path)) != 0)
		return rc;
	if ((rc = ops_lookup(c, r->r_tx, path, PERM_READ, &n)) == 0)
		conn_reply(c, r, XS_GET_PERMS, buf, perms_format(n->n_perms, n->n_nperms, buf,
		    sizeof(buf)));
	free(path);
	return rc;
}

/* New perms for a special watch name: dom0's business only, no event. */
static int
ops_set_special(struct conn *c, const char *name, const struct xs_perm *p, unsigned np)
{
	struct node *sn = watch_special_node(name);

	if (sn == NULL)
		return EINVAL;
	if (!(perms_for_conn(c, sn->n_perms, sn->n_nperms) & PERM_OWNER))
		return EACCES;
	node_set_perms(sn, p, np);
	persist_node_dirty(name);
	return 0;
}

/* XS_SET_PERMS: owner and privileged callers; only the privileged change the owner. */
int
op_set_perms(struct conn *c, struct req *r)
{
	size_t plen = strnlen(r->r_data, r->r_len);
	struct xs_perm *perms = NULL;
	const struct node *n;
	struct node *nn;
	unsigned np;
	char *path = NULL;
	int rc;

	if (plen == r->r_len)
		return EINVAL;
	if ((rc = path_canon(c, r->r_data, true, &path)) != 0)
		return rc;
	rc = perms_parse(r->r_data + plen + 1, r->r_len - plen - 1, &perms, &np);
	if (rc)
		goto out;
	rc = ENOSPC;
	if (!c->c_priv && np > quota.q_perms)
		goto out;
	if (path[0] == '@') {
		rc = ops_set_special(c, path, perms, np);
		goto out;
	}
	if ((rc = ops_lookup(c, r->r_tx, path, PERM_WRITE | PERM_OWNER, &n)) != 0)
		goto out;
	rc = EPERM;
	if (!c->c_priv && perms[0].domid != n->n_perms[0].domid)
		goto out;
	nn = node_dup(n);
	node_set_perms(nn, perms, np);
	acc_entries_add(r->r_tx, n->n_perms[0].domid, -1);
	acc_entries_add(r->r_tx, perms[0].domid, 1);
	acc_event(r->r_tx, path, false, n);
	acc_put(r->r_tx, nn);
	rc = r->r_tx ? r->r_tx->t_failed : 0;
out:
	if (rc == 0)
		conn_reply_str(c, r, "OK");
	free(perms);
	free(path);
	return rc;
}

/* XS_WATCH path token: OK, then the initial event. */
int
op_watch(struct conn *c, struct req *r)
{
	const char *argv[3];
	char *path;
	int rc;

	if (req_args(r, argv, 3) != 2)
		return EINVAL;
	if ((rc = path_canon(c, argv[0], true, &path)) != 0)
		return rc;
	rc = watch_add(c, path, argv[1], argv[0][0] != '/' && argv[0][0] != '@');
	free(path);
	if (rc)
		return rc;
	conn_reply_str(c, r, "OK");
	conn_send_event(c, argv[0], argv[1]);
	return 0;
}

/* XS_UNWATCH path token. */
int
op_unwatch(struct conn *c, struct req *r)
{
	const char *argv[3];
	char *path;
	int rc;

	if (req_args(r, argv, 3) != 2)
		return EINVAL;
	if ((rc = path_canon(c, argv[0], true, &path)) != 0)
		return rc;
	rc = watch_remove(c, path, argv[1]);
	free(path);
	if (rc == 0)
		conn_reply_str(c, r, "OK");
	return rc;
}

/* XS_RESET_WATCHES: drops the caller's watches and transactions. */
int
op_reset_watches(struct conn *c, struct req *r)
{
	watch_free_all(c);
	txn_free_all(c);
	conn_reply_str(c, r, "OK");
	return 0;
}

/* XS_TRANSACTION_START: a new id (never nested). */
int
op_transaction_start(struct conn *c, struct req *r)
{
	char buf[16], *p = buf + sizeof(buf);
	uint32_t id;
	int rc;

	if (r->r_hdr.tx_id != 0)
		return txn_find(c, r->r_hdr.tx_id) ? EBUSY : ENOENT;
	if ((rc = txn_start(c, &id)) != 0)
		return rc;
	*--p = '\0';
	do {			/* the id in decimal, without snprintf's machinery */
		*--p = '0' + id % 10;
	} while ((id /= 10) != 0);
	conn_reply_str(c, r, p);
	return 0;
}

/* XS_TRANSACTION_END T|F: commit or abort. */
int
op_transaction_end(struct conn *c, struct req *r)
{
	struct txn *t = txn_find(c, r->r_hdr.tx_id);
	const char *arg = req_onearg(r);
	int rc;

	if (t == NULL)
		return ENOENT;
	if (arg == NULL || (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0))
		return EINVAL;
	if ((rc = txn_end(t, arg[0] == 'T')) != 0)
		return rc;
	conn_reply_str(c, r, "OK");
	return 0;
}

/* Removes a subtree outside any transaction (dead domains' nodes); no-op if gone. */
void
ops_remove_tree(const char *path)
{
	const struct node *pn;
	struct node *parent;
	char *ppath;

	if (strcmp(path, "/") == 0 || db_lookup(path) == NULL)
		return;
	ops_delete_tree(NULL, path);
	ppath = path_parent(path);
	if ((pn = db_lookup(ppath)) != NULL) {
		parent = node_dup(pn);
		node_del_child(parent, path_basename(path));
		db_store(parent);
	}
	free(ppath);
}
