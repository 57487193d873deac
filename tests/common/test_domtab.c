/* domtab: a domid-indexed table whose memory follows the domids in use. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "domtab.h"

/* Domids counting up through the whole range, a few alive at a time (the
 * soak's create/destroy cycles): the table never holds more than the chunks
 * of the live ones, and every lookup finds what was set. */
Test(domtab, memory_follows_the_live_domids)
{
	static struct domtab t = DOMTAB_INIT(void *);
	static int obj[DOMTAB_IDS];

	cr_assert_eq(domtab_set(&t, 0, &obj[0]), 0);
	for (unsigned id = 1; id < DOMTAB_IDS; id++) {
		cr_assert_eq(domtab_set(&t, id, &obj[id]), 0);
		cr_assert_eq(domtab_get(&t, id), &obj[id]);
		if (id > 3) {
			cr_assert_eq(domtab_get(&t, id - 3), &obj[id - 3]);
			domtab_set(&t, id - 3, NULL);
			cr_assert_null(domtab_get(&t, id - 3));
		}
		/* dom0's chunk and at most two for the last three domids */
		cr_assert_leq(domtab_bytes(&t), 3 * DOMTAB_CHUNK * sizeof(void *),
		    "%zu bytes at domid %u", domtab_bytes(&t), id);
	}
	cr_assert_eq(domtab_get(&t, 0), &obj[0]);
	cr_assert_null(domtab_get(&t, DOMTAB_IDS));
	cr_assert_eq(domtab_set(&t, DOMTAB_IDS, &obj[0]), -1);
	domtab_clear(&t);
	cr_assert_eq(domtab_bytes(&t), 0);
	cr_assert_null(domtab_get(&t, 0));
}

/* Counters: a chunk stays while any entry in it is non-zero. */
Test(domtab, a_chunk_goes_with_its_last_nonzero_entry)
{
	struct domtab t = DOMTAB_INIT(uint64_t);
	uint64_t *a = domtab_slot(&t, 300), *b = domtab_slot(&t, 301);

	*a = 5;
	*b = 7;
	cr_assert_null(domtab_peek(&t, 700));
	cr_assert_eq(*(uint64_t *)domtab_peek(&t, 300), 5);
	*a = 0;
	domtab_settle(&t, 300);
	cr_assert_eq(domtab_bytes(&t), DOMTAB_CHUNK * sizeof(uint64_t), "301 still counts");
	cr_assert_eq(*(uint64_t *)domtab_peek(&t, 301), 7);
	*b = 0;
	domtab_settle(&t, 301);
	cr_assert_eq(domtab_bytes(&t), 0);
	cr_assert_null(domtab_peek(&t, 301));
}
