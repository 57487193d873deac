/* A domid-indexed table whose memory follows the domids in use (domtab.h). */
#include <stdlib.h>
#include <string.h>

#include "domtab.h"
#include "xmalloc.h"

void *
domtab_peek(const struct domtab *t, unsigned domid)
{
	unsigned char *c;

	if (domid >= DOMTAB_IDS || (c = t->chunk[domid / DOMTAB_CHUNK]) == NULL)
		return NULL;
	return c + (size_t)(domid % DOMTAB_CHUNK) * t->esize;
}

void *
domtab_slot(struct domtab *t, unsigned domid)
{
	unsigned char **c;

	if (domid >= DOMTAB_IDS)
		return NULL;
	c = &t->chunk[domid / DOMTAB_CHUNK];
	if (*c == NULL)
		*c = xcalloc(DOMTAB_CHUNK, t->esize);
	return *c + (size_t)(domid % DOMTAB_CHUNK) * t->esize;
}

/* Whether n bytes at p are all zero. */
static int
domtab_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

void
domtab_settle(struct domtab *t, unsigned domid)
{
	unsigned char *e = domtab_peek(t, domid), **c;

	/* the chunk is looked at whole only when this entry went back to zero */
	if (e == NULL || !domtab_zero(e, t->esize))
		return;
	c = &t->chunk[domid / DOMTAB_CHUNK];
	if (domtab_zero(*c, (size_t)DOMTAB_CHUNK * t->esize)) {
		free(*c);
		*c = NULL;
	}
}

void
domtab_clear(struct domtab *t)
{
	for (unsigned i = 0; i < DOMTAB_NCHUNK; i++) {
		free(t->chunk[i]);
		t->chunk[i] = NULL;
	}
}

size_t
domtab_bytes(const struct domtab *t)
{
	size_t n = 0;

	for (unsigned i = 0; i < DOMTAB_NCHUNK; i++)
		n += t->chunk[i] ? (size_t)DOMTAB_CHUNK * t->esize : 0;
	return n;
}

void *
domtab_get(const struct domtab *t, unsigned domid)
{
	void **e = domtab_peek(t, domid);

	return e ? *e : NULL;
}

int
domtab_set(struct domtab *t, unsigned domid, void *p)
{
	void **e = p ? domtab_slot(t, domid) : domtab_peek(t, domid);

	if (domid >= DOMTAB_IDS)
		return -1;
	if (e) {
		*e = p;
		domtab_settle(t, domid);
	}
	return 0;
}
