/*
 * The node store: a flat map from path to node record, as C xenstored keeps
 * it, with a global generation counter and per-domain node counts for quotas.
 */
#include <stdlib.h>
#include <string.h>

#include "domtab.h"
#include "xenstored.h"
#include "xmalloc.h"

static struct htab db_nodes;
static uint64_t db_gen;
static struct domtab db_entries = DOMTAB_INIT(unsigned);
/*
 * Per guest: the nodes whose perms name it (owner or ACL entry), path -> node,
 * so a dead domain's nodes are found without walking the store; allocated
 * while not empty. dom0, never released, is not indexed.
 */
static struct domtab db_refs = DOMTAB_INIT(struct htab *);

/* Puts n into (delta > 0) or takes it out of the index of each guest its perms name. */
static void
db_index(struct node *n, int delta)
{
	struct htab *h;
	unsigned i, j;
	uint32_t d;

	for (i = 0; i < n->n_nperms; i++) {
		d = n->n_perms[i].domid;
		for (j = 0; j < i && n->n_perms[j].domid != d; j++)
			;
		if (d == 0 || d >= DOMID_MAX || j < i)
			continue;
		if (delta > 0) {
			if ((h = domtab_get(&db_refs, d)) == NULL) {
				h = xmalloc(sizeof(*h));
				htab_init(h);
				domtab_set(&db_refs, d, h);
			}
			htab_put(h, n->n_path, n);
		} else if ((h = domtab_get(&db_refs, d)) != NULL && htab_get(h, n->n_path) == n) {
			/* (a replacement already took the slot when the value differs) */
			htab_del(h, n->n_path);
			if (h->ht_count == 0) {
				htab_free(h);
				free(h);
				domtab_set(&db_refs, d, NULL);
			}
		}
	}
}

/* Counts a node against its owner and indexes it under the guests it names. */
static void
db_account(struct node *n, int delta)
{
	uint32_t owner = n->n_perms[0].domid;

	unsigned *e = domtab_slot(&db_entries, owner);

	if (e) {
		*e += delta;
		domtab_settle(&db_entries, owner);
	}
	quota_mem_charge(owner, delta * (long)node_mem_size(n));
	db_index(n, delta);
}

/* A node in one allocation: copies of path, perms, value and child names. */
struct node *
node_make(const char *path, const struct xs_perm *perms, unsigned nperms, const void *val,
    size_t vlen, const char *children, size_t clen)
{
	size_t pl = strlen(path) + 1, ps = nperms * sizeof(*perms);
	struct node *n = xmalloc(sizeof(*n) + ps + pl + vlen + 1 + clen + 1);
	char *p = (char *)(n + 1);

	memset(n, 0, sizeof(*n));
	n->n_perms = (struct xs_perm *)p;
	memcpy(p, perms, ps);
	n->n_nperms = n->n_pcap = nperms;
	p += ps;
	n->n_path = p;
	memcpy(p, path, pl);
	p += pl;
	n->n_value = p;
	memcpy(p, val, vlen);
	p[vlen] = '\0';
	n->n_vlen = n->n_vcap = vlen;
	p += vlen + 1;
	n->n_children = p;
	memcpy(p, children, clen);
	p[clen] = '\0';
	n->n_clen = clen;
	n->n_ccap = clen + 1;
	return n;
}

/* A node with the given path and a copy of perms, no value, no children. */
struct node *
node_new(const char *path, const struct xs_perm *perms, unsigned nperms)
{
	return node_make(path, perms, nperms, "", 0, "", 0);
}

/* Deep copy, for transactions: one allocation. */
struct node *
node_dup(const struct node *o)
{
	struct node *n = node_make(o->n_path, o->n_perms, o->n_nperms, o->n_value, o->n_vlen,
	    o->n_children, o->n_clen);

	n->n_gen = o->n_gen;
	return n;
}

/* Frees a node record (NULL is fine). */
void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	if (n->n_heap & NODE_HEAP_PERMS)
		free(n->n_perms);
	if (n->n_heap & NODE_HEAP_VALUE)
		free(n->n_value);
	if (n->n_heap & NODE_HEAP_CHILDREN)
		free(n->n_children);
	free(n);
}

/*
 * Stores a copy of the value, NUL-terminated for convenience: in the room it
 * has if it fits (a value rewritten with the same length costs no malloc), in
 * a buffer of its own otherwise, not kept much larger than the value.
 */
void
node_set_value(struct node *n, const void *val, size_t len)
{
	bool heap = n->n_heap & NODE_HEAP_VALUE;

	if (len > n->n_vcap || (heap && n->n_vcap > 2 * len + 64)) {
		if (heap)
			free(n->n_value);
		n->n_value = xmalloc(len + 1);
		n->n_vcap = len;
		n->n_heap |= NODE_HEAP_VALUE;
	}
	memcpy(n->n_value, val, len);
	n->n_value[len] = '\0';
	n->n_vlen = len;
}

/* Replaces a node's perm list with a copy, in place when it has the room. */
void
node_set_perms(struct node *n, const struct xs_perm *perms, unsigned nperms)
{
	if (nperms > n->n_pcap) {
		if (n->n_heap & NODE_HEAP_PERMS)
			free(n->n_perms);
		n->n_perms = xcalloc(nperms, sizeof(*perms));
		n->n_pcap = nperms;
		n->n_heap |= NODE_HEAP_PERMS;
	}
	memmove(n->n_perms, perms, nperms * sizeof(*perms));
	n->n_nperms = nperms;
}

/*
 * Appends a child name (the caller checked it is not there yet). The list
 * grows by doubling: reallocated to the exact size, /local/domain's list was
 * copied whole at every create, and its thousand old sizes, freed across the
 * heap, kept pages resident after the domains went.
 */
void
node_add_child(struct node *n, const char *name)
{
	size_t l = strlen(name) + 1, cap = n->n_ccap;
	char *c;

	if (n->n_clen + l + 1 > cap) {
		for (cap = cap < 64 ? 64 : cap; cap < n->n_clen + l + 1; cap *= 2)
			;
		if (n->n_heap & NODE_HEAP_CHILDREN) {
			n->n_children = xreallocarray(n->n_children, 1, cap);
		} else {
			c = xmalloc(cap);
			memcpy(c, n->n_children, n->n_clen);
			n->n_children = c;
			n->n_heap |= NODE_HEAP_CHILDREN;
		}
		n->n_ccap = cap;
	}
	memcpy(n->n_children + n->n_clen, name, l);
	n->n_clen += l;
}

/* Removes a child name if present. */
void
node_del_child(struct node *n, const char *name)
{
	size_t off = 0, l;

	while (off < n->n_clen) {
		l = strlen(n->n_children + off) + 1;
		if (strcmp(n->n_children + off, name) == 0) {
			memmove(n->n_children + off, n->n_children + off + l, n->n_clen - off - l);
			n->n_clen -= l;
			/* and shrinks by halves as children go */
			if ((n->n_heap & NODE_HEAP_CHILDREN) && n->n_ccap > 64 &&
			    n->n_clen + 1 < n->n_ccap / 4) {
				n->n_children = xreallocarray(n->n_children, 1, n->n_ccap / 2);
				n->n_ccap /= 2;
			}
			return;
		}
		off += l;
	}
}

/* The size C xenstored charges against the node-size quota (without its header). */
size_t
node_record_size(const struct node *n)
{
	return n->n_nperms * 4 + n->n_vlen + n->n_clen;
}

/* The bytes a node costs its owner's memory quota: its name and its record. */
size_t
node_mem_size(const struct node *n)
{
	return strlen(n->n_path) + node_record_size(n);
}

/* Creates the initial tree: /, /tool, /tool/xenstored, all n0. */
void
db_init(void)
{
	static const struct xs_perm n0 = { 0, XS_PERM_NONE };
	struct node *root, *tool;

	htab_init(&db_nodes);
	root = node_new("/", &n0, 1);
	node_add_child(root, "tool");
	tool = node_new("/tool", &n0, 1);
	node_add_child(tool, "xenstored");
	db_store(root);
	db_store(tool);
	db_store(node_new("/tool/xenstored", &n0, 1));
}

/* The live node at path, or NULL. */
struct node *
db_lookup(const char *path)
{
	return htab_get(&db_nodes, path);
}

/* Stores n as read back from disk, with its own generation. */
void
db_store_raw(struct node *n, uint64_t gen)
{
	struct node *old;

	n->n_gen = gen;
	db_account(n, 1);
	old = htab_put(&db_nodes, n->n_path, n);
	if (old) {
		db_account(old, -1);
		node_free(old);
	}
}

/* The store generation as read back from disk. */
void
db_set_generation(uint64_t gen)
{
	db_gen = gen;
}

/* Stores n, replacing the old record and bumping the generation. */
void
db_store(struct node *n)
{
	struct node *old;

	persist_node_dirty(n->n_path);
	n->n_gen = ++db_gen;
	db_account(n, 1);
	old = htab_put(&db_nodes, n->n_path, n);
	if (old) {
		db_account(old, -1);
		node_free(old);
	}
}

/*
 * A new value for a live node, in place (a write outside a transaction: no
 * copy). Owner, perms and path stay: only the memory account moves, by the
 * difference, not out and back in with the node counts and indexes.
 */
void
db_set_value(struct node *n, const void *val, size_t len)
{
	long delta = (long)len - (long)n->n_vlen;

	persist_node_dirty(n->n_path);
	node_set_value(n, val, len);
	n->n_gen = ++db_gen;
	if (delta)
		quota_mem_charge(n->n_perms[0].domid, delta);
}

/* Removes the node at path, if any (its children are the caller's business). */
void
db_remove(const char *path)
{
	struct node *old = htab_del(&db_nodes, path);

	persist_node_dirty(path);
	if (old) {
		db_account(old, -1);
		node_free(old);
	}
}

/* Gives a stored node to another owner in place (-K), moving its accounting. */
void
db_chown(struct node *n, uint32_t owner)
{
	persist_node_dirty(n->n_path);
	db_account(n, -1);
	n->n_perms[0].domid = owner;
	db_account(n, 1);
}

/* Takes a dead domain out of a live node's ACL, its index and accounting with it. */
void
db_strip_acl(struct node *n, uint32_t domid)
{
	unsigned i, j;

	db_account(n, -1);
	for (i = j = 1; i < n->n_nperms; i++)
		if (n->n_perms[i].domid != domid)
			n->n_perms[j++] = n->n_perms[i];
	if (j != n->n_nperms)
		persist_node_dirty(n->n_path);
	n->n_nperms = j;
	db_account(n, 1);
}

/* Collects the index's nodes into an array. */
static void
db_domain_nodes_one(const char *key, void *val, void *arg)
{
	struct node ***pp = arg;

	(void)key;
	*(*pp)++ = val;
}

/*
 * The live nodes whose perms name domid (a guest), as a new array of *n:
 * a snapshot, so the caller may change the store while going through it.
 */
struct node **
db_domain_nodes(uint32_t domid, unsigned *n)
{
	struct htab *h = domid > 0 ? domtab_get(&db_refs, domid) : NULL;
	struct node **v, **p;

	*n = h ? h->ht_count : 0;
	v = p = xreallocarray(NULL, *n + 1, sizeof(*v));
	if (h)
		htab_foreach(h, db_domain_nodes_one, &p);
	return v;
}

/* Nodes owned by domid, for the entries quota. */
unsigned
db_domain_entries(uint32_t domid)
{
	const unsigned *e = domtab_peek(&db_entries, domid);

	return e ? *e : 0;
}

/* Number of nodes, for the dump. */
unsigned
db_count(void)
{
	return db_nodes.ht_count;
}

/* The last generation handed out: transactions snapshot it. */
uint64_t
db_generation(void)
{
	return db_gen;
}

struct db_foreach_arg {
	void (*fn)(struct node *, void *);
	void *arg;
};

/* Adapts htab_foreach to node callbacks. */
static void
db_foreach_one(const char *key, void *val, void *arg)
{
	struct db_foreach_arg *a = arg;

	(void)key;
	a->fn(val, a->arg);
}

/* Visits every node; fn must not add or remove nodes. */
void
db_foreach(void (*fn)(struct node *n, void *arg), void *arg)
{
	struct db_foreach_arg a = { fn, arg };

	htab_foreach(&db_nodes, db_foreach_one, &a);
}
