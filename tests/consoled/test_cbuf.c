/* The per-console buffer: bound, drop policy, replay order. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cbuf.h"

/* A byte that says where it came from in a stream. */
static char
stream_byte(size_t i)
{
	return (char)('a' + (i * 31 + i / 251) % 26);
}

static void
feed(struct cbuf *b, size_t *pos, size_t n)
{
	char *tmp = malloc(n);

	for (size_t i = 0; i < n; i++)
		tmp[i] = stream_byte(*pos + i);
	cbuf_append(b, tmp, n);
	*pos += n;
	free(tmp);
}

Test(cbuf, default_and_minimum_limits)
{
	struct cbuf b;

	cbuf_init(&b, 0);
	cr_assert_eq(b.cbuf_limit, CBUF_DEFAULT_LIMIT);
	cbuf_init(&b, 10);
	cr_assert_eq(b.cbuf_limit, CBUF_MIN_LIMIT);
	cbuf_init(&b, (size_t)1 << 40);
	cr_assert_eq(b.cbuf_limit, CBUF_MAX_LIMIT, "a hostile console/limit is capped");
}

Test(cbuf, keeps_everything_under_the_limit_in_order)
{
	struct cbuf b;
	size_t pos = 0, len;
	const char *p;

	cbuf_init(&b, 64 * 1024);
	for (int i = 0; i < 100; i++)
		feed(&b, &pos, 600);
	p = cbuf_peek(&b, &len);
	cr_assert_eq(len, 60000);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(p[i], stream_byte(i));
	cr_assert_eq(b.cbuf_dropped, 0);
	cbuf_free(&b);
}

Test(cbuf, never_exceeds_the_bound_and_keeps_head_and_newest)
{
	struct cbuf b;
	size_t pos = 0, len, limit = 64 * 1024, half = limit / 2;
	const char *p;

	cbuf_init(&b, limit);
	for (int i = 0; i < 1000; i++) {
		feed(&b, &pos, 2048);
		cr_assert_leq(b.cbuf_len, cbuf_max_bytes(&b));
		cr_assert_leq(b.cbuf_cap, 2 * cbuf_max_bytes(&b));
	}
	p = cbuf_peek(&b, &len);
	cr_assert_eq(b.cbuf_dropped + len, pos, "every byte kept or counted as dropped");
	/* oldest half kept */
	for (size_t i = 0; i < half; i++)
		cr_assert_eq(p[i], stream_byte(i));
	/* newest bytes kept, in order, up to the end of the stream */
	for (size_t i = half; i < len; i++)
		cr_assert_eq(p[i], stream_byte(pos - len + i));
	cbuf_free(&b);
}

Test(cbuf, one_huge_append_is_bounded_too)
{
	struct cbuf b;
	size_t pos = 0, len;

	cbuf_init(&b, 8192);
	feed(&b, &pos, 1 << 20);
	cbuf_peek(&b, &len);
	cr_assert_leq(len, cbuf_max_bytes(&b));
	cr_assert_leq(b.cbuf_cap, 4 * 8192);
	cbuf_free(&b);
}

Test(cbuf, consume_replays_in_order_with_nothing_lost)
{
	struct cbuf b;
	size_t pos = 0, seen = 0, len, n;
	const char *p;

	cbuf_init(&b, 16 * 1024);
	/* a reader that keeps up: never more than the bound in flight */
	for (int round = 0; round < 200; round++) {
		feed(&b, &pos, 3000);
		p = cbuf_peek(&b, &len);
		n = len / 2 + 1;
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(p[i], stream_byte(seen + i));
		cbuf_consume(&b, n);
		seen += n;
	}
	p = cbuf_peek(&b, &len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(p[i], stream_byte(seen + i));
	cr_assert_eq(seen + len, pos);
	cr_assert_eq(b.cbuf_dropped, 0);
	cbuf_consume(&b, len);
	cr_assert_eq(b.cbuf_len, 0);
	cbuf_free(&b);
}

Test(cbuf, consume_more_than_held_empties)
{
	struct cbuf b;
	size_t len;

	cbuf_init(&b, 0);
	cbuf_append(&b, "abc", 3);
	cbuf_consume(&b, 100);
	cbuf_peek(&b, &len);
	cr_assert_eq(len, 0);
	cbuf_append(&b, "de", 2);
	cr_assert_arr_eq(cbuf_peek(&b, &len), "de", 2);
	cbuf_free(&b);
}

Test(cbuf, a_lower_limit_applies_from_the_next_append)
{
	struct cbuf b;
	size_t pos = 0, len;

	cbuf_init(&b, 0);
	feed(&b, &pos, 100000);
	cbuf_set_limit(&b, 8192);
	cr_assert_eq(b.cbuf_limit, 8192);
	feed(&b, &pos, 10);
	cbuf_peek(&b, &len);
	cr_assert_leq(len, cbuf_max_bytes(&b));
	cbuf_set_limit(&b, 0);
	cr_assert_eq(b.cbuf_limit, CBUF_DEFAULT_LIMIT);
	cbuf_free(&b);
}
