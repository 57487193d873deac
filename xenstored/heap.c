/*
 * The heap after domains die. malloc_trim gives back the free pages, but not
 * a page holding a block in glibc's per-thread cache (tcache): up to 7 freed
 * blocks of each of its 64 sizes (up to 1 KiB), the last ones freed, wherever
 * they lie; glibc counts them as in use. After a burst of deaths they are the
 * dead domains' last nodes, spread over the heap's high-water mark: after 200
 * domains about 300 pages stayed (RSS 1.5x what it was before the domains,
 * 1.1x with the cache turned off by GLIBC_TUNABLES). No call empties the
 * cache, but a thread's exit empties its own into the heap: here the main
 * thread takes every cached block out (7 mallocs per size), a short-lived
 * thread frees them (into its cache) and exits, and only then is the heap
 * trimmed.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "evmem.h"
#include "log.h"
#include "xenstored.h"

#define HEAP_TC_BINS	64	/* glibc's tcache sizes: chunks of 32 to 1040 bytes */
#define HEAP_TC_COUNT	7	/* blocks it keeps per size */

static void *heap_blocks[HEAP_TC_BINS * HEAP_TC_COUNT];

/* The helper thread: frees the blocks into its own cache, emptied at its exit. */
static void *
heap_free_thread(void *arg)
{
	unsigned i;

	(void)arg;
	for (i = 0; i < HEAP_TC_BINS * HEAP_TC_COUNT; i++)
		free(heap_blocks[i]);
	return NULL;
}

/* Empties the main thread's tcache into the heap's bins, where malloc_trim sees it. */
static void
heap_flush_tcache(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	unsigned i, j;
	int rc;

	/* the request size whose chunk is the bin's: 24 + 16 * bin */
	for (i = 0; i < HEAP_TC_BINS; i++)
		for (j = 0; j < HEAP_TC_COUNT; j++)
			heap_blocks[i * HEAP_TC_COUNT + j] = malloc(24 + 16 * i);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay the main thread's */
	rc = pthread_create(&t, &attr, heap_free_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc == 0) {
		pthread_join(t, NULL);
		return;
	}
	log_debug("heap: no thread to empty the cache (%d)", rc);
	heap_free_thread(NULL);
}

/* Before each trim after deaths (evmem's timer): the cache first. */
void
heap_before_trim(void)
{
	heap_flush_tcache();
}

/* The heap's figures for the dump (memreport): what the process holds and why. */
void
heap_dump(FILE *f)
{
	struct mallinfo2 mi = mallinfo2();

	fprintf(f, "heap: arena %zu in use %zu free %zu (fastbins %zu, top %zu) mmapped %zu;"
	    " libevent slabs %zu\n", mi.arena, mi.uordblks, mi.fordblks, mi.fsmblks, mi.keepcost,
	    mi.hblkhd, evmem_slab_bytes());
	malloc_info(0, f);
}
