/*
 * The `rate` key as a token bucket, applied to what the guest sends (TX), as
 * Xen's netback does: credit_bytes every credit_usec, never more than
 * max(credit_bytes, 128 KiB) saved up, so one large GSO frame always fits.
 * Pure arithmetic on a clock the caller passes in: unit tested alone.
 */
#ifndef PVSTACK_NBRATE_H
#define PVSTACK_NBRATE_H

#include <stdbool.h>
#include <stdint.h>

#define NBRATE_MIN_BURST	131072u

struct nbrate {
	bool r_on;
	uint64_t r_bytes;		/* credit added per period */
	uint64_t r_usec;		/* period */
	uint64_t r_left;		/* credit now */
	uint64_t r_next_us;		/* when the next period's credit arrives */
};

/* Parses "bytes,usecs" (the rate key as xl writes it); -1 when malformed. */
int nbrate_parse(const char *key, uint64_t *bytes, uint64_t *usec);
/* A bucket, full; bytes == 0 means unlimited. */
void nbrate_init(struct nbrate *r, uint64_t bytes, uint64_t usec, uint64_t now_us);
/* Whether len bytes may go now (and takes them); false: wait until *wake_us. */
bool nbrate_take(struct nbrate *r, uint32_t len, uint64_t now_us, uint64_t *wake_us);

#endif
