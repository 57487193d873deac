/*
 * What the frontend tests (test_blkfront.c, test_netfront.c) share on top of
 * gt_harness: one device's two directories in the test's own store, waits on
 * a node, and commands typed on the guest's shell. Assertions inside.
 */
#ifndef PVSTACK_GT_DEV_H
#define PVSTACK_GT_DEV_H

#include "gt_harness.h"

struct gt_dev {
	struct gt *d_t;
	char d_fe[96], d_be[96];	/* the frontend's and the backend's directory */
	char d_fe_key[192], d_be_key[192];
};

/* Names device/<kind>/<devid> of t's domain and dom0's backend/<kind> for it. */
void gt_dev_init(struct gt_dev *d, struct gt *t, const char *kind, const char *devid);
/* A key's path in the frontend's or the backend's directory (valid until the
 * next call of the same function). */
const char *gt_dev_fe(struct gt_dev *d, const char *key);
const char *gt_dev_be(struct gt_dev *d, const char *key);
/* Writes a number into the backend's directory. */
void gt_dev_be_num(struct gt_dev *d, const char *key, unsigned long long v);
/* Serves the store until path holds value. */
void gt_wait_node(struct gt *t, const char *path, const char *value);
/* Types a command line and waits up to ms for the next prompt; its output. */
const char *gt_run(struct gt *t, const char *line, int ms);
/* Asserts that needle is in out, showing out when not. */
void gt_expect_in(const char *out, const char *needle);

#endif
