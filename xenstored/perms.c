/* Xen's permission model: owner + default in entry 0, per-domain ACL entries after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"
#include "xmalloc.h"

/* Perm letter to PERM_* bits. */
static unsigned
perms_bits(enum xs_perm_kind k)
{
	return (k & XS_PERM_READ ? PERM_READ : 0) | (k & XS_PERM_WRITE ? PERM_WRITE : 0);
}

/* Rights of one domid on a perm list: owner = all, then its ACL entry, else the default. */
static unsigned
perms_for_domid(uint32_t domid, const struct xs_perm *perms, unsigned n)
{
	unsigned i;

	if (perms[0].domid == domid)
		return PERM_ALL;
	for (i = 1; i < n; i++)
		if (perms[i].domid == domid)
			return perms_bits(perms[i].perm);
	return perms_bits(perms[0].perm);
}

/* What a connection may do on a node; privileged callers may do everything. */
unsigned
perms_for_conn(const struct conn *c, const struct xs_perm *perms, unsigned n)
{
	unsigned mask;

	if (c->c_priv)
		return PERM_ALL;
	if (perms == NULL || n == 0)
		return 0;
	mask = perms_for_domid(c->c_domid, perms, n);
	if (c->c_target != DOMID_NONE)
		mask |= perms_for_domid(c->c_target, perms, n);
	if (mask & PERM_OWNER)
		mask = PERM_ALL;
	return mask;
}

/* Parses "r5\0n0\0..." as sent in SET_PERMS; EINVAL on anything malformed. */
int
perms_parse(const char *data, size_t len, struct xs_perm **out, unsigned *n)
{
	struct xs_perm *p = NULL;
	unsigned cnt = 0;
	size_t off = 0;

	while (off < len) {
		const char *s = data + off;
		size_t l = strnlen(s, len - off);

		if (l == len - off)
			goto bad;
		p = xreallocarray(p, cnt + 1, sizeof(*p));
		if (xs_perm_parse(s, &p[cnt]) < 0)
			goto bad;
		cnt++;
		off += l + 1;
	}
	if (cnt == 0)
		goto bad;
	*out = p;
	*n = cnt;
	return 0;
bad:
	free(p);
	return EINVAL;
}

/* Formats a perm list as the NUL-separated wire form; returns its length. */
size_t
perms_format(const struct xs_perm *perms, unsigned n, char *buf, size_t cap)
{
	size_t off = 0;
	unsigned i;

	for (i = 0; i < n && off + 16 <= cap; i++) {
		xs_perm_format(&perms[i], buf + off, cap - off);
		off += strlen(buf + off) + 1;
	}
	return off;
}

/* Same perm lists, entry by entry. */
bool
perms_equal(const struct xs_perm *a, unsigned na, const struct xs_perm *b, unsigned nb)
{
	unsigned i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].domid != b[i].domid || a[i].perm != b[i].perm)
			return false;
	return true;
}

/* Removes a dead domain's ACL entries from a special node (not in the store). */
static void
perms_strip_special(struct node *n, uint32_t domid)
{
	unsigned i, j;

	for (i = j = 1; i < n->n_nperms; i++)
		if (n->n_perms[i].domid != domid)
			n->n_perms[j++] = n->n_perms[i];
	n->n_nperms = j;
}

/*
 * Strips a dead domain from every ACL, the special nodes included (XSA-322):
 * the nodes that name it come from the store's per-domain index, not a walk
 * of the whole store.
 */
void
perms_forget_domain(uint32_t domid)
{
	struct node *n, **v;
	unsigned i, cnt;

	v = db_domain_nodes(domid, &cnt);
	for (i = 0; i < cnt; i++)
		db_strip_acl(v[i], domid);
	free(v);
	if ((n = watch_special_node("@introduceDomain")))
		perms_strip_special(n, domid);
	if ((n = watch_special_node("@releaseDomain")))
		perms_strip_special(n, domid);
}
