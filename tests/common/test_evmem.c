/* evmem: libevent's small blocks in slabs that go back when they empty. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "evmem.h"

#define N 5000

/* Thousands of small blocks (as libevent's per-descriptor records) keep their
 * contents, are 16-byte aligned, and their slabs go when they are freed. */
Test(evmem, small_blocks_packed_then_given_back)
{
	static unsigned char *p[N];
	size_t base = evmem_slab_bytes();

	for (int i = 0; i < N; i++) {
		size_t n = 1 + (size_t)i % 300;

		p[i] = evmem_malloc(n);
		cr_assert_not_null(p[i]);
		cr_assert_eq((uintptr_t)p[i] % 16, 0, "block %d misaligned", i);
		memset(p[i], i & 0xff, n);
	}
	/* 5000 blocks of at most 384 bytes: densely packed, not a page each */
	cr_assert_leq(evmem_slab_bytes() - base, (size_t)N * 384 + 8 * 65536,
	    "%zu bytes of slabs for %d blocks", evmem_slab_bytes() - base, N);
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < 1 + (size_t)i % 300; j++)
			cr_assert_eq(p[i][j], i & 0xff, "block %d byte %zu overwritten", i, j);
	for (int i = 0; i < N; i++)
		evmem_free(p[i]);
	/* only one spare slab per size stays mapped */
	cr_assert_leq(evmem_slab_bytes(), base + 4 * 65536,
	    "%zu bytes of slabs after every block was freed", evmem_slab_bytes());
}

/* realloc keeps the bytes, across sizes and into malloc's range and back. */
Test(evmem, realloc_keeps_contents)
{
	char *p = evmem_malloc(10);

	cr_assert_not_null(p);
	memcpy(p, "0123456789", 10);
	p = evmem_realloc(p, 20);
	cr_assert_not_null(p);
	cr_assert_eq(memcmp(p, "0123456789", 10), 0);
	p = evmem_realloc(p, 5000);
	cr_assert_not_null(p);
	cr_assert_eq(memcmp(p, "0123456789", 10), 0);
	p = evmem_realloc(p, 3);
	cr_assert_not_null(p);
	cr_assert_eq(memcmp(p, "012", 3), 0);
	evmem_free(p);
	evmem_free(NULL);
	p = evmem_realloc(NULL, 7);
	cr_assert_not_null(p);
	evmem_free(p);
}

/* Installed, libevent runs on it: a base, events on many descriptors, a loop. */
Test(evmem, libevent_runs_on_it)
{
	struct event_base *base;
	struct event *ev[64];
	int fds[64][2];

	evmem_install();
	base = event_base_new();
	cr_assert_not_null(base);
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(pipe(fds[i]), 0);
		ev[i] = event_new(base, fds[i][0], EV_READ | EV_PERSIST, NULL, NULL);
		cr_assert_not_null(ev[i]);
		cr_assert_eq(event_add(ev[i], NULL), 0);
	}
	cr_assert_geq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	for (int i = 0; i < 64; i++) {
		event_free(ev[i]);
		close(fds[i][0]);
		close(fds[i][1]);
	}
	evmem_trim_soon(base);
	evmem_trim_stop();
	event_base_free(base);
}
