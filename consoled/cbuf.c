#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "xmalloc.h"

/* Storage kept across an emptied buffer, so steady traffic does not reallocate. */
#define CBUF_KEEP_CAP	(64 * 1024)

/* Clamps a console/limit value into the range the buffer accepts. */
void
cbuf_set_limit(struct cbuf *b, size_t limit)
{
	if (limit == 0)
		limit = CBUF_DEFAULT_LIMIT;
	if (limit < CBUF_MIN_LIMIT)
		limit = CBUF_MIN_LIMIT;
	if (limit > CBUF_MAX_LIMIT)
		limit = CBUF_MAX_LIMIT;
	b->cbuf_limit = limit;
}

/* An empty buffer for a console that just came up. */
void
cbuf_init(struct cbuf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	cbuf_set_limit(b, limit);
}

/* Releases the storage; the buffer stays usable and empty. */
void
cbuf_free(struct cbuf *b)
{
	free(b->cbuf_data);
	b->cbuf_data = NULL;
	b->cbuf_start = b->cbuf_len = b->cbuf_cap = 0;
}

/* The bound past which the middle is dropped. */
size_t
cbuf_max_bytes(const struct cbuf *b)
{
	return b->cbuf_limit + b->cbuf_limit / 4;
}

/* Makes room for len more bytes at the end: compacts first, grows if needed. */
static void
cbuf_reserve(struct cbuf *b, size_t len)
{
	size_t need = b->cbuf_len + len, cap;

	if (b->cbuf_start + need <= b->cbuf_cap)
		return;
	if (b->cbuf_start > 0) {
		memmove(b->cbuf_data, b->cbuf_data + b->cbuf_start, b->cbuf_len);
		b->cbuf_start = 0;
	}
	if (need <= b->cbuf_cap)
		return;
	cap = b->cbuf_cap ? b->cbuf_cap : 4096;
	while (cap < need)
		cap *= 2;
	b->cbuf_data = xreallocarray(b->cbuf_data, 1, cap);
	b->cbuf_cap = cap;
}

/* Keeps the oldest limit/2 and the newest limit/2 bytes once over the bound. */
static size_t
cbuf_trim(struct cbuf *b)
{
	size_t keep = b->cbuf_limit / 2, drop;
	char *base = b->cbuf_data + b->cbuf_start;

	if (b->cbuf_len <= cbuf_max_bytes(b))
		return 0;
	drop = b->cbuf_len - 2 * keep;
	memmove(base + keep, base + keep + drop, keep);
	b->cbuf_len -= drop;
	b->cbuf_dropped += drop;
	return drop;
}

/* Takes guest output, dropping the middle when nobody reads. */
size_t
cbuf_append(struct cbuf *b, const char *data, size_t len)
{
	size_t dropped = 0, chunk;

	/* Feed in slices so the buffer never holds more than the bound plus one slice. */
	while (len > 0) {
		chunk = len < b->cbuf_limit / 4 ? len : b->cbuf_limit / 4;
		cbuf_reserve(b, chunk);
		memcpy(b->cbuf_data + b->cbuf_start + b->cbuf_len, data, chunk);
		b->cbuf_len += chunk;
		data += chunk;
		len -= chunk;
		dropped += cbuf_trim(b);
	}
	return dropped;
}

/* What to write to the pty next. */
const char *
cbuf_peek(const struct cbuf *b, size_t *len)
{
	*len = b->cbuf_len;
	return b->cbuf_data ? b->cbuf_data + b->cbuf_start : NULL;
}

/* Forgets what the pty took. */
void
cbuf_consume(struct cbuf *b, size_t n)
{
	if (n > b->cbuf_len)
		n = b->cbuf_len;
	b->cbuf_start += n;
	b->cbuf_len -= n;
	if (b->cbuf_len > 0)
		return;
	b->cbuf_start = 0;
	if (b->cbuf_cap > CBUF_KEEP_CAP)
		cbuf_free(b);
}
