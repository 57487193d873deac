/* The console ring consumer/producer: wraparound and hostile indices. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ring.h"

static struct xencons_interface intf;

static void
ring_setup(void)
{
	memset(&intf, 0, sizeof(intf));
}

TestSuite(ring, .init = ring_setup);

/* Plays the guest: appends to the out ring. */
static void
guest_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		intf.out[MASK_XENCONS_IDX(intf.out_prod++, intf.out)] = s[i];
}

Test(ring, empty_ring_gives_nothing)
{
	char buf[16];

	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), 0);
	cr_assert_eq(ring_out_pending(&intf), 0);
}

Test(ring, consumes_in_order_and_advances_cons)
{
	char buf[64];

	guest_put("hello", 5);
	cr_assert_eq(ring_out_pending(&intf), 5);
	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), 5);
	cr_assert_arr_eq(buf, "hello", 5);
	cr_assert_eq(intf.out_cons, 5);
}

Test(ring, respects_max)
{
	char buf[3];

	guest_put("abcdef", 6);
	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), 3);
	cr_assert_arr_eq(buf, "abc", 3);
	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), 3);
	cr_assert_arr_eq(buf, "def", 3);
}

Test(ring, wraps_around_the_buffer_and_the_index)
{
	char data[RING_OUT_SIZE], buf[RING_OUT_SIZE];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	/* indices near 2^32 and a start near the end of out[] */
	intf.out_cons = intf.out_prod = 0xffffffffu - 100;
	guest_put(data, sizeof(data));
	cr_assert_eq(ring_out_pending(&intf), (ssize_t)RING_OUT_SIZE);
	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), (ssize_t)RING_OUT_SIZE);
	cr_assert_arr_eq(buf, data, sizeof(data));
	cr_assert_eq(intf.out_cons, intf.out_prod);
}

Test(ring, corrupt_out_indices_are_reset_not_followed)
{
	char buf[RING_OUT_SIZE];

	intf.out_cons = 10;
	intf.out_prod = 10 + RING_OUT_SIZE + 1;
	errno = 0;
	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_eq(intf.out_cons, intf.out_prod, "consumer resynchronised");
	/* prod behind cons is as impossible */
	intf.out_prod = 5;
	intf.out_cons = 6;
	cr_assert_eq(ring_out_pending(&intf), -1);
	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), -1);
	/* and the ring works again once the guest behaves */
	guest_put("ok", 2);
	cr_assert_eq(ring_out_consume(&intf, buf, sizeof(buf)), 2);
	cr_assert_arr_eq(buf, "ok", 2);
}

Test(ring, in_ring_produce_stops_when_full)
{
	char data[RING_IN_SIZE + 100];

	memset(data, 'x', sizeof(data));
	cr_assert_eq(ring_in_space(&intf), (ssize_t)RING_IN_SIZE);
	cr_assert_eq(ring_in_produce(&intf, data, sizeof(data)), (ssize_t)RING_IN_SIZE);
	cr_assert_eq(ring_in_space(&intf), 0);
	cr_assert_eq(ring_in_produce(&intf, data, 1), 0);
	intf.in_cons += 10;	/* guest read 10 bytes */
	cr_assert_eq(ring_in_space(&intf), 10);
}

Test(ring, in_ring_wraps)
{
	char got[8];

	intf.in_cons = intf.in_prod = RING_IN_SIZE - 3;
	cr_assert_eq(ring_in_produce(&intf, "abcdefgh", 8), 8);
	for (int i = 0; i < 8; i++)
		got[i] = intf.in[MASK_XENCONS_IDX(intf.in_cons + i, intf.in)];
	cr_assert_arr_eq(got, "abcdefgh", 8);
	cr_assert_eq(intf.in[RING_IN_SIZE - 1], 'c');
	cr_assert_eq(intf.in[0], 'd');
}

Test(ring, corrupt_in_indices_are_reset)
{
	intf.in_cons = 100;
	intf.in_prod = 100 + RING_IN_SIZE + 5;
	cr_assert_eq(ring_in_produce(&intf, "x", 1), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_eq(intf.in_prod, intf.in_cons);
	cr_assert_eq(ring_in_space(&intf), (ssize_t)RING_IN_SIZE);
	intf.in_prod = 1u << 31;
	cr_assert_eq(ring_in_space(&intf), -1);
	cr_assert_eq(ring_in_space(&intf), (ssize_t)RING_IN_SIZE);
}
