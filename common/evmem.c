/*
 * libevent's small allocations in slabs of their own. libevent keeps a small
 * record per descriptor number it has ever watched (its evmap) until the base
 * is freed. Made among a daemon's per-domain allocations while the domains
 * come, they ended one to a heap page, and every such page stayed resident
 * after the domains went (xenstored: about 1000 pages, 4 MiB, after 300
 * domains; malloc_trim cannot give back a page with a live block). Here
 * blocks up to 384 bytes come from 64 KiB slabs of one size each, packed
 * densely; a slab that empties is unmapped (one per size is kept, its pages
 * given back, against mapping churn). Larger blocks go to malloc. Each block
 * carries a 16-byte header naming its slab. No locking: single-threaded
 * daemons only.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/event.h>

#include "evmem.h"

#define EVMEM_SLAB	(64u * 1024)
#define EVMEM_FIRST	64	/* the slab's own record, then the blocks */
#define EVMEM_NCLASS	4

static const size_t evmem_class[EVMEM_NCLASS] = { 48, 96, 192, 384 };

struct evmem_slab {
	struct evmem_slab *next, **prevp;	/* on its size's list of slabs with room */
	char *freelist;		/* freed blocks, linked through their first word */
	char *carve;		/* the first block never handed out */
	unsigned used;
	unsigned cls;
	bool listed;
};

/* What precedes every block: its slab (NULL: from malloc) and the size asked. */
struct evmem_hdr {
	struct evmem_slab *slab;
	size_t size;
};

static struct evmem_slab *evmem_room[EVMEM_NCLASS];
static struct evmem_slab *evmem_spare[EVMEM_NCLASS];
static size_t evmem_bytes;

/* Puts a slab on its size's list of slabs with room. */
static void
evmem_list(struct evmem_slab *s)
{
	s->next = evmem_room[s->cls];
	if (s->next)
		s->next->prevp = &s->next;
	s->prevp = &evmem_room[s->cls];
	evmem_room[s->cls] = s;
	s->listed = true;
}

/* Takes a slab off that list (full, or empty and going). */
static void
evmem_unlist(struct evmem_slab *s)
{
	*s->prevp = s->next;
	if (s->next)
		s->next->prevp = s->prevp;
	s->listed = false;
}

/* A fresh (or the spare) slab for a size; NULL when no memory. */
static struct evmem_slab *
evmem_slab_get(unsigned cls)
{
	struct evmem_slab *s = evmem_spare[cls];

	if (s != NULL) {
		evmem_spare[cls] = NULL;
	} else {
		void *m = mmap(NULL, EVMEM_SLAB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);

		if (m == MAP_FAILED)
			return NULL;
		s = m;
		evmem_bytes += EVMEM_SLAB;
	}
	memset(s, 0, sizeof(*s));
	s->cls = cls;
	s->carve = (char *)s + EVMEM_FIRST;
	return s;
}

/* An empty slab: kept as its size's spare (pages given back) or unmapped. */
static void
evmem_slab_put(struct evmem_slab *s)
{
	if (evmem_spare[s->cls] == NULL) {
		madvise((char *)s + 4096, EVMEM_SLAB - 4096, MADV_DONTNEED);
		evmem_spare[s->cls] = s;
		return;
	}
	munmap(s, EVMEM_SLAB);
	evmem_bytes -= EVMEM_SLAB;
}

/* libevent's malloc. */
void *
evmem_malloc(size_t n)
{
	struct evmem_hdr *h = NULL;
	struct evmem_slab *s = NULL;
	unsigned c;

	if (n == 0)
		n = 1;
	for (c = 0; c < EVMEM_NCLASS && n + sizeof(*h) > evmem_class[c]; c++)
		;
	if (c < EVMEM_NCLASS && (s = evmem_room[c]) == NULL && (s = evmem_slab_get(c)) != NULL)
		evmem_list(s);
	if (c == EVMEM_NCLASS || s == NULL) {
		if (n > SIZE_MAX - sizeof(*h) || (h = malloc(n + sizeof(*h))) == NULL)
			return NULL;
		h->slab = NULL;
		h->size = n;
		return h + 1;
	}
	if (s->freelist) {
		h = (struct evmem_hdr *)s->freelist;
		s->freelist = *(char **)s->freelist;
	} else {
		h = (struct evmem_hdr *)s->carve;
		s->carve += evmem_class[c];
	}
	s->used++;
	if (s->freelist == NULL && s->carve + evmem_class[c] > (char *)s + EVMEM_SLAB)
		evmem_unlist(s);
	h->slab = s;
	h->size = n;
	return h + 1;
}

/* libevent's free. */
void
evmem_free(void *p)
{
	struct evmem_hdr *h;
	struct evmem_slab *s;

	if (p == NULL)
		return;
	h = (struct evmem_hdr *)p - 1;
	if ((s = h->slab) == NULL) {
		free(h);
		return;
	}
	*(char **)h = s->freelist;
	s->freelist = (char *)h;
	if (--s->used == 0) {
		if (s->listed)
			evmem_unlist(s);
		evmem_slab_put(s);
	} else if (!s->listed) {
		evmem_list(s);
	}
}

/* libevent's realloc: in place while the block's size still holds it. */
void *
evmem_realloc(void *p, size_t n)
{
	struct evmem_hdr *h, *nh;
	void *q;

	if (p == NULL)
		return evmem_malloc(n);
	h = (struct evmem_hdr *)p - 1;
	if (h->slab == NULL) {
		if (n > SIZE_MAX - sizeof(*h) || (nh = realloc(h, n + sizeof(*h))) == NULL)
			return NULL;
		nh->size = n;
		return nh + 1;
	}
	if (n + sizeof(*h) <= evmem_class[h->slab->cls]) {
		h->size = n;
		return p;
	}
	if ((q = evmem_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, h->size < n ? h->size : n);
	evmem_free(p);
	return q;
}

/* The bytes mapped for slabs, spares included. */
size_t
evmem_slab_bytes(void)
{
	return evmem_bytes;
}

static void (*evmem_pre_trim)(void);

/* Gives the heap's free pages back to the system. */
static void
evmem_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (evmem_pre_trim)
		evmem_pre_trim();
	malloc_trim(0);
}

/* Work to do right before each trim (xenstored empties glibc's thread cache). */
void
evmem_trim_hook(void (*fn)(void))
{
	evmem_pre_trim = fn;
}

static struct event *evmem_trim_ev;

/* One trim 100 ms after the first death of a burst (the event is made on first use). */
void
evmem_trim_soon(struct event_base *base)
{
	struct timeval tv = { 0, 100000 };

	if (base == NULL)
		return;
	if (evmem_trim_ev == NULL &&
	    (evmem_trim_ev = evtimer_new(base, evmem_trim_cb, NULL)) == NULL)
		return;
	if (!evtimer_pending(evmem_trim_ev, NULL))
		evtimer_add(evmem_trim_ev, &tv);
}

/* Frees the trim event, before its base goes. */
void
evmem_trim_stop(void)
{
	if (evmem_trim_ev)
		event_free(evmem_trim_ev);
	evmem_trim_ev = NULL;
}

/* Before the first libevent call of the process. */
void
evmem_install(void)
{
	event_set_mem_functions(evmem_malloc, evmem_realloc, evmem_free);
}
