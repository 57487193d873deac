/*
 * What the backends the frontend tests play (test_blkfront_fake.c,
 * test_netfront_fake.c) share: libhv handles of their own, the guest's grants
 * mapped once and kept, the numbers the frontend published, and a thread
 * that serves the rings whenever an event channel fires (or every poll_ms).
 */
#ifndef PVSTACK_GT_FAKE_H
#define PVSTACK_GT_FAKE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "libhv.h"

#define GT_FAKE_CACHE 4096

/* A frontend key's value (key relative to the frontend's directory), NULL when absent. */
typedef const char *gt_fake_get_fn(void *arg, const char *key);

struct gt_fake {
	hv_domid_t gf_domid;
	struct hv *gf_hv;			/* NULL until gt_fake_open */
	struct hv_gnttab *gf_gt;
	struct hv_evtchn *gf_xce;
	struct { hv_gref_t ref; void *ptr; } gf_cache[GT_FAKE_CACHE];
	unsigned gf_ncache;
	unsigned gf_cache_max;			/* grants kept at most (<= GT_FAKE_CACHE) */
	pthread_t gf_thread;
	atomic_bool gf_stop;
	bool gf_running;
	int gf_poll_ms;
	void (*gf_serve)(void *arg);
	void *gf_arg;
};

/* Opens hvd at sock with a grant and an event-channel handle, for domid's grants. */
void gt_fake_open(struct gt_fake *g, hv_domid_t domid, const char *sock);
/* A number the frontend published; def when absent (def < 0: it must be there). */
unsigned long gt_fake_key(gt_fake_get_fn *get, void *arg, const char *key, long def);
/* A guest port bound on our side; asserts. */
int gt_fake_bind(struct gt_fake *g, gt_fake_get_fn *get, void *arg, const char *key);
/* A grant of the guest, mapped once and kept; read-only when writable fails
 * and ro_ok. NULL when it cannot be mapped or the cache is full. */
void *gt_fake_map(struct gt_fake *g, hv_gref_t ref, bool ro_ok);
/* Starts the thread calling serve(arg) on every event, and every poll_ms. */
void gt_fake_start(struct gt_fake *g, int poll_ms, void (*serve)(void *arg), void *arg);
/* Stops the thread (before the rings are unmapped). */
void gt_fake_stop(struct gt_fake *g);
/* Unmaps the kept grants and closes the handles (after the rings are unmapped). */
void gt_fake_close(struct gt_fake *g);

#endif
