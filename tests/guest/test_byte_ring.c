/* Console and xenstore byte rings: wraparound, full/empty, corrupt indices. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

#include "byte_ring.h"

static struct xencons_interface cons;

static struct byte_ring
out_ring(void)
{
	return (struct byte_ring){ cons.out, sizeof(cons.out), &cons.out_prod, &cons.out_cons };
}

static struct byte_ring
in_ring(void)
{
	return (struct byte_ring){ cons.in, sizeof(cons.in), &cons.in_prod, &cons.in_cons };
}

static void
setup(void)
{
	memset(&cons, 0, sizeof(cons));
}

TestSuite(byte_ring, .init = setup);

Test(byte_ring, put_fills_to_capacity_and_no_further)
{
	struct byte_ring r = out_ring();
	char buf[3000];

	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(byte_ring_put(&r, buf, sizeof(buf)), 2048);
	cr_assert_eq(cons.out_prod, 2048);
	cr_assert_eq(byte_ring_space(&r), 0);
	cr_assert_eq(byte_ring_put(&r, buf, 1), 0);
}

Test(byte_ring, wraps_around_the_end_of_the_array)
{
	struct byte_ring r = out_ring();
	char got[16];

	/* The peer has consumed up to 2040: our next 16 bytes straddle the end. */
	cons.out_prod = cons.out_cons = 2040;
	cr_assert_eq(byte_ring_put(&r, "0123456789abcdef", 16), 16);
	cr_assert_eq(memcmp(cons.out + 2040, "01234567", 8), 0);
	cr_assert_eq(memcmp(cons.out, "89abcdef", 8), 0);
	cr_assert_eq(byte_ring_get(&r, got, sizeof(got)), 16);
	cr_assert_eq(memcmp(got, "0123456789abcdef", 16), 0);
	cr_assert_eq(cons.out_cons, 2056);
}

Test(byte_ring, indices_wrap_at_32_bits)
{
	struct byte_ring r = in_ring();
	char got[8];

	cons.in_prod = cons.in_cons = UINT32_MAX - 2;
	cr_assert_eq(byte_ring_put(&r, "abcdef", 6), 6);
	cr_assert_eq(cons.in_prod, 3);
	cr_assert_eq(byte_ring_avail(&r), 6);
	cr_assert_eq(byte_ring_get(&r, got, 4), 4);
	cr_assert_eq(memcmp(got, "abcd", 4), 0);
	cr_assert_eq(byte_ring_get(&r, got, 8), 2);
	cr_assert_eq(memcmp(got, "ef", 2), 0);
	cr_assert_eq(byte_ring_get(&r, got, 8), 0);
}

Test(byte_ring, corrupt_indices_are_refused)
{
	struct byte_ring r = in_ring();
	char buf[4];

	cons.in_prod = 5000;	/* more than the ring holds */
	cons.in_cons = 0;
	cr_assert_eq(byte_ring_get(&r, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EIO);
	cr_assert_eq(byte_ring_put(&r, "x", 1), -1);
	cr_assert_eq(cons.in_cons, 0, "nothing consumed");
}

Test(byte_ring, xenstore_ring_shape)
{
	static struct xenstore_domain_interface xs;
	struct byte_ring req = { xs.req, XENSTORE_RING_SIZE, &xs.req_prod, &xs.req_cons };
	char big[1500];

	memset(big, 'q', sizeof(big));
	cr_assert_eq(byte_ring_put(&req, big, sizeof(big)), XENSTORE_RING_SIZE);
	xs.req_cons = 1000;	/* the daemon read 1000 */
	cr_assert_eq(byte_ring_space(&req), 1000);
	cr_assert_eq(byte_ring_put(&req, big, sizeof(big) - XENSTORE_RING_SIZE), 476);
	cr_assert_eq(xs.req_prod, 1500);
}
