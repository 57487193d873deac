/*
 * Transactions, after C xenstored's generation scheme: a transaction keeps a
 * private copy of every node it touches together with the generation the node
 * had when first touched; commit fails with EAGAIN only if one of those nodes
 * changed meanwhile. Every operation goes through acc_* so the same code runs
 * inside and outside transactions.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xenstored.h"
#include "xmalloc.h"

/* One node the transaction touched; one allocation with its path. */
struct txn_ent {
	struct node *te_node;		/* our view; NULL = absent */
	uint64_t te_base;		/* generation when first touched; 0 = absent */
	bool te_modified;
	char te_path[];
};

/* The transaction's entry for path, copying the live node on first touch. */
static struct txn_ent *
txn_ent(struct txn *t, const char *path)
{
	struct txn_ent *e = htab_get(&t->t_ents, path);
	struct node *cur;
	size_t l;

	if (e)
		return e;
	cur = db_lookup(path);
	l = strlen(path) + 1;
	e = xmalloc(sizeof(*e) + l);
	memcpy(e->te_path, path, l);
	e->te_modified = false;
	e->te_node = cur ? node_dup(cur) : NULL;
	e->te_base = cur ? cur->n_gen : 0;
	/* newer than our snapshot: the view would not be consistent, so commit fails */
	if (cur && cur->n_gen > t->t_start_gen)
		t->t_conflict = true;
	htab_put(&t->t_ents, e->te_path, e);
	if (++t->t_nents > quota.q_tx_nodes && !t->t_conn->c_priv && !t->t_failed)
		t->t_failed = ENOSPC;
	return e;
}

/* The node at path as t sees it (live outside a transaction). */
const struct node *
acc_get(struct txn *t, const char *path)
{
	if (t == NULL)
		return db_lookup(path);
	return txn_ent(t, path)->te_node;
}

/* Stores n (taking it) live or into t. */
int
acc_put(struct txn *t, struct node *n)
{
	struct txn_ent *e;

	if (t == NULL) {
		db_store(n);
		return 0;
	}
	e = txn_ent(t, n->n_path);
	node_free(e->te_node);
	e->te_node = n;
	e->te_modified = true;
	return t->t_failed;
}

/* Deletes the node at path live or in t. */
int
acc_del(struct txn *t, const char *path)
{
	struct txn_ent *e;

	if (t == NULL) {
		db_remove(path);
		return 0;
	}
	e = txn_ent(t, path);
	node_free(e->te_node);
	e->te_node = NULL;
	e->te_modified = true;
	return t->t_failed;
}

/* Nodes the connection's domain owns, as seen from inside t. */
int
acc_entries(struct txn *t, struct conn *c)
{
	return (int)db_domain_entries(c->c_domid) + (t ? t->t_entry_delta : 0);
}

/* Tracks node-count changes a transaction will make for its own domain. */
void
acc_entries_add(struct txn *t, uint32_t owner, int delta)
{
	if (t && owner == t->t_conn->c_domid)
		t->t_entry_delta += delta;
}

/* Records a change: fired now outside a transaction (nothing to copy), on commit inside one. */
void
acc_event(struct txn *t, const char *path, bool exact, const struct node *n)
{
	struct event_rec *er;
	unsigned np;
	size_t l;

	if (t == NULL) {
		watch_fire(path, exact, n ? n->n_perms : NULL, n ? n->n_nperms : 0);
		return;
	}
	np = n ? n->n_nperms : 0;
	l = strlen(path) + 1;
	er = xmalloc(sizeof(*er) + np * sizeof(*er->er_perms) + l);	/* one allocation */
	er->er_perms = (struct xs_perm *)(er + 1);
	er->er_nperms = np;
	if (np)
		memcpy(er->er_perms, n->n_perms, np * sizeof(*n->n_perms));
	er->er_path = (char *)(er->er_perms + np);
	memcpy(er->er_path, path, l);
	er->er_exact = exact;
	STAILQ_INSERT_TAIL(&t->t_events, er, er_link);
}

/* Fires and frees a list of recorded events. */
void
events_fire(struct event_list *l)
{
	struct event_rec *er;

	while ((er = STAILQ_FIRST(l)) != NULL) {
		STAILQ_REMOVE_HEAD(l, er_link);
		watch_fire(er->er_path, er->er_exact, er->er_perms, er->er_nperms);
		free(er);
	}
}

/* Opens a transaction; ids are per connection and never 0. */
int
txn_start(struct conn *c, uint32_t *id)
{
	struct txn *t;

	if (!c->c_priv && c->c_ntxns > quota.q_txns)
		return ENOSPC;
	t = xcalloc(1, sizeof(*t));
	do {
		t->t_id = ++c->c_next_txid;
	} while (t->t_id == 0 || txn_find(c, t->t_id));
	t->t_conn = c;
	t->t_start_gen = db_generation();
	htab_init_buf(&t->t_ents, t->t_buckets, TXN_BUCKETS);
	STAILQ_INIT(&t->t_events);
	LIST_INSERT_HEAD(&c->c_txns, t, t_link);
	c->c_ntxns++;
	wrl_txn_count(1);
	*id = t->t_id;
	return 0;
}

/*
 * A guest's transaction that was open when the daemon died: its view is gone,
 * so it fails with EAGAIN (writes in it, and the commit) and the guest retries.
 */
void
txn_restore(struct conn *c, uint32_t id)
{
	struct txn *t = xcalloc(1, sizeof(*t));

	t->t_id = id;
	t->t_conn = c;
	t->t_start_gen = db_generation();
	t->t_failed = EAGAIN;
	htab_init_buf(&t->t_ents, t->t_buckets, TXN_BUCKETS);
	STAILQ_INIT(&t->t_events);
	LIST_INSERT_HEAD(&c->c_txns, t, t_link);
	c->c_ntxns++;
	wrl_txn_count(1);
}

/* The connection's transaction with that id, or NULL. */
struct txn *
txn_find(struct conn *c, uint32_t id)
{
	struct txn *t;

	LIST_FOREACH(t, &c->c_txns, t_link)
		if (t->t_id == id)
			return t;
	return NULL;
}

/* Frees one transaction entry. */
static void
txn_ent_free(const char *key, void *val, void *arg)
{
	struct txn_ent *e = val;

	(void)key;
	(void)arg;
	node_free(e->te_node);
	free(e);
}

/* Forgets a transaction without applying it. */
static void
txn_free(struct txn *t)
{
	struct event_rec *er;

	LIST_REMOVE(t, t_link);
	t->t_conn->c_ntxns--;
	wrl_txn_count(-1);
	htab_foreach(&t->t_ents, txn_ent_free, NULL);
	htab_free(&t->t_ents);
	while ((er = STAILQ_FIRST(&t->t_events)) != NULL) {
		STAILQ_REMOVE_HEAD(&t->t_events, er_link);
		free(er);
	}
	free(t);
}

/* Conflict if a touched node's generation moved. */
static void
txn_check_one(const char *key, void *val, void *arg)
{
	struct txn_ent *e = val;
	struct node *cur = db_lookup(key);
	bool *conflict = arg;

	if ((cur ? cur->n_gen : 0) != e->te_base)
		*conflict = true;
}

/* Applies one modified entry to the live store. */
static void
txn_apply_one(const char *key, void *val, void *arg)
{
	struct txn_ent *e = val;

	(void)arg;
	if (!e->te_modified)
		return;
	if (e->te_node) {
		db_store(e->te_node);
		e->te_node = NULL;
	} else {
		db_remove(key);
	}
}

/* Commits (conflict -> EAGAIN) or aborts; the transaction is gone either way. */
int
txn_end(struct txn *t, bool commit)
{
	bool conflict = false;
	int rc = 0;

	if (!commit)
		goto out;
	if (t->t_failed) {
		rc = t->t_failed;
		goto out;
	}
	conflict = t->t_conflict;
	htab_foreach(&t->t_ents, txn_check_one, &conflict);
	if (conflict) {
		rc = EAGAIN;
		goto out;
	}
	htab_foreach(&t->t_ents, txn_apply_one, NULL);
	events_fire(&t->t_events);
out:
	txn_free(t);
	return rc;
}

/* Drops every transaction of a connection (RESET_WATCHES, disconnect). */
void
txn_free_all(struct conn *c)
{
	struct txn *t;

	while ((t = LIST_FIRST(&c->c_txns)) != NULL)
		txn_free(t);
}
