/*
 * The per-console output buffer between the ring and the pty. Bounded: when
 * nobody reads and it grows past limit + limit/4, the middle is dropped (the
 * oldest limit/2 bytes, usually the boot messages, and the newest limit/2 are
 * kept), as xenconsoled does in its default "discard" mode.
 */
#ifndef PVSTACK_CONSOLED_CBUF_H
#define PVSTACK_CONSOLED_CBUF_H

#include <stddef.h>

#define CBUF_DEFAULT_LIMIT	(1024 * 1024)	/* LIBXL_XENCONSOLE_LIMIT */
#define CBUF_MIN_LIMIT		4096
#define CBUF_MAX_LIMIT		(16 * 1024 * 1024)	/* whatever console/limit says */

struct cbuf {
	char *cbuf_data;
	size_t cbuf_start;	/* first unsent byte */
	size_t cbuf_len;	/* unsent bytes from cbuf_start */
	size_t cbuf_cap;	/* allocated */
	size_t cbuf_limit;
	unsigned long long cbuf_dropped;	/* bytes lost to the bound, ever */
};

/* limit 0 means CBUF_DEFAULT_LIMIT; others are clamped to [CBUF_MIN_LIMIT, CBUF_MAX_LIMIT]. */
void cbuf_init(struct cbuf *b, size_t limit);
void cbuf_free(struct cbuf *b);
/* A new limit (console/limit changed); applied from the next append. */
void cbuf_set_limit(struct cbuf *b, size_t limit);
/* Appends, then applies the bound; returns the bytes dropped by this call. */
size_t cbuf_append(struct cbuf *b, const char *data, size_t len);
/* Oldest unsent bytes. */
const char *cbuf_peek(const struct cbuf *b, size_t *len);
/* n bytes were sent; frees large storage once empty. */
void cbuf_consume(struct cbuf *b, size_t n);
/* The most memory the buffer may hold for a limit. */
size_t cbuf_max_bytes(const struct cbuf *b);

#endif
