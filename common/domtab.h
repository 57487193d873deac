/*
 * A table indexed by domid that holds memory only for the stretches of domids
 * in use. A flat array over the 32k domids is touched page by page as domids
 * count up and is never given back: a soak of 10,000 create/destroy cycles
 * grew each daemon's RSS by 8 bytes per domid per such table. Here each 256
 * domids share a chunk, allocated when one of them gets a non-zero entry and
 * freed when the last of them is zero again, so the memory follows the
 * domains that exist, not the domids used so far.
 */
#ifndef PVSTACK_DOMTAB_H
#define PVSTACK_DOMTAB_H

#include <stddef.h>
#include <stdint.h>

#define DOMTAB_IDS	0x7ff0u		/* DOMID_FIRST_RESERVED: the domids a guest can have */
#define DOMTAB_CHUNK	256u
#define DOMTAB_NCHUNK	((DOMTAB_IDS + DOMTAB_CHUNK - 1) / DOMTAB_CHUNK)

struct domtab {
	size_t esize;	/* bytes per entry; an all-zero entry is an empty one */
	unsigned char *chunk[DOMTAB_NCHUNK];
};

/* A table of entries of type T, as a static initialiser. */
#define DOMTAB_INIT(T)	{ .esize = sizeof(T) }

/* The entry of domid, or NULL when it is zero (its chunk absent) or out of range. */
void *domtab_peek(const struct domtab *t, unsigned domid);
/* The entry of domid to write, its chunk made when absent; NULL out of range. */
void *domtab_slot(struct domtab *t, unsigned domid);
/* After an entry was written: frees its chunk when every entry there is zero. */
void domtab_settle(struct domtab *t, unsigned domid);
/* Frees every chunk (a daemon's exit). */
void domtab_clear(struct domtab *t);
/* Bytes held in chunks, for tests. */
size_t domtab_bytes(const struct domtab *t);

/* Tables of pointers: NULL for an empty or out-of-range domid. */
void *domtab_get(const struct domtab *t, unsigned domid);
/* Sets (p == NULL: empties) domid's pointer; -1 when domid is out of range. */
int domtab_set(struct domtab *t, unsigned domid, void *p);

#endif
