/* libevent's small allocations in slabs of their own, so a daemon's memory
 * follows its domains (see evmem.c). */
#ifndef PVSTACK_EVMEM_H
#define PVSTACK_EVMEM_H

#include <stddef.h>

struct event_base;

/* Gives libevent the slab allocator; call before any other libevent call.
 * Single-threaded daemons only (no locking). */
void evmem_install(void);

/*
 * After a death: the dead domain's memory is free but stays in the process
 * unless trimmed (the RSS would keep the high-water mark of the domain
 * count); one malloc_trim, 100 ms later, covers a burst of deaths.
 */
void evmem_trim_soon(struct event_base *base);
/* Runs fn right before each of those trims. */
void evmem_trim_hook(void (*fn)(void));
/* Frees the trim event; call before freeing the base. */
void evmem_trim_stop(void);

/* The bytes held in slabs now (in use or cached), for tests and figures. */
size_t evmem_slab_bytes(void);

/* The allocator itself, exposed for its unit test. */
void *evmem_malloc(size_t n);
void *evmem_realloc(void *p, size_t n);
void evmem_free(void *p);

#endif
