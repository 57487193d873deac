/* Hash table for the node store, transaction overlays and the watch index. */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "xmalloc.h"

/* FNV-1a: short paths, cheap and good enough. */
static size_t
htab_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* An empty table. */
void
htab_init(struct htab *ht)
{
	htab_init_small(ht, 64);
}

/* An empty table of size buckets (a power of two), for tables that usually stay small. */
void
htab_init_small(struct htab *ht, size_t size)
{
	ht->ht_size = size;
	ht->ht_count = 0;
	ht->ht_buckets = xcalloc(ht->ht_size, sizeof(*ht->ht_buckets));
	ht->ht_static = false;
}

/*
 * An empty table whose first size buckets are the caller's (in the object
 * that holds the table): a short-lived table that stays small allocates
 * nothing but its entries.
 */
void
htab_init_buf(struct htab *ht, struct htab_entry **buckets, size_t size)
{
	memset(buckets, 0, size * sizeof(*buckets));
	ht->ht_size = size;
	ht->ht_count = 0;
	ht->ht_buckets = buckets;
	ht->ht_static = true;
}

/* Frees the entries (not the values). */
void
htab_free(struct htab *ht)
{
	size_t i;
	struct htab_entry *e, *n;

	for (i = 0; i < ht->ht_size; i++)
		for (e = ht->ht_buckets[i]; e; e = n) {
			n = e->he_next;
			free(e);
		}
	if (!ht->ht_static)
		free(ht->ht_buckets);
	ht->ht_buckets = NULL;
	ht->ht_count = 0;
}

/*
 * Calls fn (if any) on each entry, then empties the table, keeping its
 * buckets up to the initial 64: a table emptied after every use (the
 * journal's dirty set) allocates nothing for itself.
 */
void
htab_clear(struct htab *ht, void (*fn)(const char *, void *, void *), void *arg)
{
	size_t i;
	struct htab_entry *e, *n;

	for (i = 0; i < ht->ht_size; i++) {
		for (e = ht->ht_buckets[i]; e; e = n) {
			n = e->he_next;
			if (fn)
				fn(e->he_key, e->he_val, arg);
			free(e);
		}
		ht->ht_buckets[i] = NULL;
	}
	ht->ht_count = 0;
	if (ht->ht_size > 64 && !ht->ht_static) {
		free(ht->ht_buckets);
		htab_init(ht);
	}
}

/* Rehashes into nsize buckets: doubled when the load passes 1, halved below 1/4. */
static void
htab_resize(struct htab *ht, size_t nsize)
{
	size_t i;
	struct htab_entry **nb = xcalloc(nsize, sizeof(*nb)), *e, *n;

	for (i = 0; i < ht->ht_size; i++)
		for (e = ht->ht_buckets[i]; e; e = n) {
			size_t b = htab_hash(e->he_key) & (nsize - 1);

			n = e->he_next;
			e->he_next = nb[b];
			nb[b] = e;
		}
	if (!ht->ht_static)
		free(ht->ht_buckets);
	ht->ht_static = false;
	ht->ht_buckets = nb;
	ht->ht_size = nsize;
}

/* The value for key, or NULL. */
void *
htab_get(const struct htab *ht, const char *key)
{
	struct htab_entry *e;

	for (e = ht->ht_buckets[htab_hash(key) & (ht->ht_size - 1)]; e; e = e->he_next)
		if (strcmp(e->he_key, key) == 0)
			return e->he_val;
	return NULL;
}

/* Inserts or replaces; returns the replaced value. */
void *
htab_put(struct htab *ht, const char *key, void *val)
{
	size_t b = htab_hash(key) & (ht->ht_size - 1);
	struct htab_entry *e;
	void *old;

	for (e = ht->ht_buckets[b]; e; e = e->he_next)
		if (strcmp(e->he_key, key) == 0) {
			old = e->he_val;
			e->he_key = key;
			e->he_val = val;
			return old;
		}
	e = xmalloc(sizeof(*e));
	e->he_key = key;
	e->he_val = val;
	e->he_next = ht->ht_buckets[b];
	ht->ht_buckets[b] = e;
	if (++ht->ht_count > ht->ht_size)
		htab_resize(ht, ht->ht_size * 2);
	return NULL;
}

/* Removes key; returns its value. */
void *
htab_del(struct htab *ht, const char *key)
{
	struct htab_entry **pp, *e;
	void *val;

	for (pp = &ht->ht_buckets[htab_hash(key) & (ht->ht_size - 1)]; (e = *pp); pp = &e->he_next)
		if (strcmp(e->he_key, key) == 0) {
			*pp = e->he_next;
			val = e->he_val;
			free(e);
			/* the store shrinks back when domains go: so does its table */
			if (--ht->ht_count < ht->ht_size / 4 && ht->ht_size > 64)
				htab_resize(ht, ht->ht_size / 2);
			return val;
		}
	return NULL;
}

/* Visits every entry. */
void
htab_foreach(const struct htab *ht, void (*fn)(const char *, void *, void *), void *arg)
{
	size_t i;
	struct htab_entry *e;

	for (i = 0; i < ht->ht_size; i++)
		for (e = ht->ht_buckets[i]; e; e = e->he_next)
			fn(e->he_key, e->he_val, arg);
}
