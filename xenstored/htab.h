/* A string-keyed hash table with chaining; keys are owned by the caller's values. */
#ifndef XENSTORED_HTAB_H
#define XENSTORED_HTAB_H

#include <stdbool.h>
#include <stddef.h>

struct htab_entry {
	struct htab_entry *he_next;
	const char *he_key;
	void *he_val;
};

struct htab {
	struct htab_entry **ht_buckets;
	size_t ht_size;
	size_t ht_count;
	bool ht_static;			/* ht_buckets is the caller's (htab_init_buf) */
};

void htab_init(struct htab *ht);
void htab_init_small(struct htab *ht, size_t size);
void htab_init_buf(struct htab *ht, struct htab_entry **buckets, size_t size);
void htab_free(struct htab *ht);
/* Calls fn (if any) on each entry, then empties the table; fn must not modify it. */
void htab_clear(struct htab *ht, void (*fn)(const char *key, void *val, void *arg), void *arg);
void *htab_get(const struct htab *ht, const char *key);
/* Inserts or replaces; key must live as long as the entry. Returns the old value. */
void *htab_put(struct htab *ht, const char *key, void *val);
/* Removes; returns the value or NULL. */
void *htab_del(struct htab *ht, const char *key);
/* Calls fn for each entry; fn must not modify the table. */
void htab_foreach(const struct htab *ht, void (*fn)(const char *key, void *val, void *arg),
    void *arg);

#endif
