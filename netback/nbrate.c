/* The TX token bucket (nbrate.h). */
#include <errno.h>
#include <stdlib.h>

#include "nbrate.h"

/* "bytes,usecs": two decimal numbers, both above zero. */
int
nbrate_parse(const char *key, uint64_t *bytes, uint64_t *usec)
{
	char *end;
	unsigned long long b, u;

	if (key == NULL || *key < '0' || *key > '9')
		return -1;
	errno = 0;
	b = strtoull(key, &end, 10);
	if (errno || *end != ',' || end[1] < '0' || end[1] > '9')
		return -1;
	u = strtoull(end + 1, &end, 10);
	if (errno || *end || b == 0 || u == 0 || u > 4000000000ull)
		return -1;
	*bytes = b;
	*usec = u;
	return 0;
}

/* Full bucket. */
void
nbrate_init(struct nbrate *r, uint64_t bytes, uint64_t usec, uint64_t now_us)
{
	r->r_on = bytes != 0 && usec != 0;
	r->r_bytes = bytes;
	r->r_usec = usec;
	r->r_left = bytes;
	r->r_next_us = now_us + usec;
}

/* One period's credit, capped at the burst. */
static void
nbrate_refill(struct nbrate *r, uint64_t now_us)
{
	uint64_t burst = r->r_bytes > NBRATE_MIN_BURST ? r->r_bytes : NBRATE_MIN_BURST;
	uint64_t left = r->r_left + r->r_bytes;

	if (left < r->r_left)
		left = UINT64_MAX;
	r->r_left = left < burst ? left : burst;
	r->r_next_us = now_us + r->r_usec;
}

/* nbrate.h */
bool
nbrate_take(struct nbrate *r, uint32_t len, uint64_t now_us, uint64_t *wake_us)
{
	if (!r->r_on)
		return true;
	if (len > r->r_left && now_us >= r->r_next_us)
		nbrate_refill(r, now_us);
	if (len > r->r_left) {
		*wake_us = r->r_next_us;
		return false;
	}
	r->r_left -= len;
	return true;
}
