/*
 * The maptrack's per-ref lock and the rule that turns counts into flags,
 * shared by libhv (every map, unmap and copy) and hvd (giving back a dead
 * mapper's pins), so both sides agree on them.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <time.h>

#include "hv_maptrack.h"

/* Milliseconds on the monotonic clock, for the slow path's deadline only. */
static long long
hv_mt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* One attempt: 0 when the lock is ours, else the holder's id. */
uint32_t
hv_mt_trylock(struct hv_mt_ref *r, uint32_t me)
{
	uint32_t free = 0;

	if (__atomic_compare_exchange_n(&r->lock, &free, me, false, __ATOMIC_ACQUIRE,
	    __ATOMIC_RELAXED))
		return 0;
	return free;
}

/*
 * Takes a ref's lock. Held only for a few instructions, so a short spin
 * usually wins; a holder that was preempted gets the CPU by our yields, one
 * that died holding it is taken over by hvd once it notices the death (its
 * connection closes). EAGAIN after ms: hvd is not there to do that.
 */
int
hv_mt_lock(struct hv_mt_ref *r, uint32_t me, int ms)
{
	long long deadline = 0;

	for (unsigned i = 0;; i++) {
		if (hv_mt_trylock(r, me) == 0)
			return 0;
		if (i < 64)
			continue;
		if (i < 1024) {
			sched_yield();
			continue;
		}
		if (deadline == 0)
			deadline = hv_mt_now_ms() + ms;
		else if (hv_mt_now_ms() > deadline) {
			errno = EAGAIN;
			return -1;
		}
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* Lets the next holder in; everything written under the lock is visible to it. */
void
hv_mt_unlock(struct hv_mt_ref *r)
{
	__atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
}

/*
 * Xen's rule, applied after counts went down: GTF_writing goes when no
 * writable pin is left, GTF_reading with the last pin. Called with the lock.
 */
void
hv_mt_settle(grant_entry_v1_t *e, const struct hv_mt_ref *r)
{
	uint16_t bits = 0, flags = __atomic_load_n(&e->flags, __ATOMIC_RELAXED);

	if (r->nr_write == 0)
		bits |= GTF_writing;
	if (r->nr_map == 0)
		bits |= GTF_reading | GTF_writing;
	if (bits & flags)
		__atomic_fetch_and(&e->flags, (uint16_t)~bits, __ATOMIC_RELEASE);
}
