/*
 * blkfront in pvguest against a blkback the test plays (test_blkfront_fake.c):
 * the handshake and its keys, the blk commands, data byte for byte in the
 * backend's disk, persistent grants, indirect requests, several queues,
 * discard and flush, a read-only disk, a response with an id never issued,
 * and a detach.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gt_dev.h"
#include "gt_harness.h"
#include "shell.h"
#include "test_blkfront_fake.h"

#define DEVID "51712"		/* xvda */
#define SECTORS 2048

static struct gt t;
static struct fbe f;
static struct gt_dev dev;

static void
teardown(void)
{
	fbe_fini(&f);
	gt_stop(&t);
}

TestSuite(blkfront, .fini = teardown, .timeout = 90);

/* fbe's view of the frontend's keys. */
static const char *
fe_get(void *arg, const char *key)
{
	(void)arg;
	return gt_store_get(t.store, gt_dev_fe(&dev, key));
}

/* The toolstack's directories for xvda, the backend in InitWait with its limits. */
static void
add_disk(const char *mode)
{
	gt_dev_init(&dev, &t, "vbd", DEVID);
	gt_store_set(t.store, gt_dev_be(&dev, "frontend"), dev.d_fe);
	gt_store_set(t.store, gt_dev_be(&dev, "online"), "1");
	gt_store_set(t.store, gt_dev_be(&dev, "dev"), "xvda");
	gt_store_set(t.store, gt_dev_be(&dev, "mode"), mode);
	gt_dev_be_num(&dev, "multi-queue-max-queues", f.f_max_queues);
	gt_dev_be_num(&dev, "max-ring-page-order", f.f_max_order);
	if (f.f_max_indirect)
		gt_dev_be_num(&dev, "feature-max-indirect-segments", f.f_max_indirect);
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "2");
	gt_store_set(t.store, gt_dev_fe(&dev, "backend"), dev.d_be);
	gt_store_set(t.store, gt_dev_fe(&dev, "backend-id"), "0");
	gt_store_set(t.store, gt_dev_fe(&dev, "virtual-device"), DEVID);
	gt_store_set(t.store, gt_dev_fe(&dev, "state"), "1");
}

/* The backend's half once the frontend is Initialised: map, properties, Connected. */
static void
connect_disk(unsigned info)
{
	gt_wait_node(&t, gt_dev_fe(&dev, "state"), "3");
	fbe_connect(&f, t.domid, t.hvt.sock, fe_get, NULL);
	gt_dev_be_num(&dev, "sectors", f.f_sectors);
	gt_dev_be_num(&dev, "sector-size", 512);
	gt_dev_be_num(&dev, "info", info);
	gt_dev_be_num(&dev, "feature-flush-cache", f.f_flush);
	gt_dev_be_num(&dev, "feature-discard", f.f_discard);
	gt_dev_be_num(&dev, "feature-persistent", f.f_persistent);
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "4");
	gt_wait_node(&t, gt_dev_fe(&dev, "state"), "4");
}

/* pvguest with one disk, connected, at its prompt. */
static void
boot_with_disk(const char *mode, unsigned info)
{
	gt_start(&t, true);
	add_disk(mode);
	gt_unpause(&t);
	connect_disk(info);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, 10000), "no prompt; output:\n%s", t.out);
}

/* Runs a command line and waits for the next prompt; returns its output. */
static const char *
run(const char *line)
{
	return gt_run(&t, line, 20000);
}

Test(blkfront, handshake_publishes_queues_ring_pages_and_features)
{
	fbe_init(&f, 0, SECTORS);
	boot_with_disk("w", 0);
	cr_assert_str_eq(fe_get(NULL, "multi-queue-num-queues"), "2");
	cr_assert_str_eq(fe_get(NULL, "ring-page-order"), "1");
	cr_assert_str_eq(fe_get(NULL, "protocol"), "x86_64-abi");
	cr_assert_str_eq(fe_get(NULL, "feature-persistent"), "1");
	for (int q = 0; q < 2; q++) {
		char key[64];
		snprintf(key, sizeof(key), "queue-%d/ring-ref1", q);
		cr_assert_not_null(fe_get(NULL, key), "%s", key);
		snprintf(key, sizeof(key), "queue-%d/event-channel", q);
		cr_assert_not_null(fe_get(NULL, key), "%s", key);
	}
	cr_assert_null(fe_get(NULL, "ring-ref"), "no top-level ring with several queues");
	gt_expect_in(t.out, "blk: xvda: connected, 2048 sectors of 512 bytes, rw, queues 2, "
	    "ring pages 2, indirect 256, persistent yes, flush yes, discard yes\r\n");
	const char *out = run("blk list");
	gt_expect_in(out, "VDEV");
	gt_expect_in(out, "xvda     51712              2048         512        1048576 rw\r\n");
}

Test(blkfront, write_and_read_byte_for_byte)
{
	fbe_init(&f, 0, SECTORS);
	f.f_max_queues = 1;
	f.f_max_order = 0;
	f.f_max_indirect = 0;
	f.f_discard = f.f_flush = false;
	memset(f.f_disk, 0xaa, SECTORS * 512);
	boot_with_disk("w", 0);
	cr_assert_not_null(fe_get(NULL, "ring-ref"), "one page, one queue: plain ring-ref");
	cr_assert_not_null(fe_get(NULL, "event-channel"));
	cr_assert_null(fe_get(NULL, "multi-queue-num-queues"));
	gt_expect_in(run("blk write xvda 5 \"hello disk\""), "ok\r\n");
	cr_assert_eq(memcmp(f.f_disk + 5 * 512, "hello disk", 11), 0);
	for (int i = 10; i < 512; i++)
		cr_assert_eq(f.f_disk[5 * 512 + i], 0, "zero padded to the sector (byte %d)", i);
	cr_assert_eq(f.f_disk[4 * 512 + 511], 0xaa, "sector 4 untouched");
	cr_assert_eq(f.f_disk[6 * 512], 0xaa, "sector 6 untouched");
	const char *out = run("blk read xvda 5");
	gt_expect_in(out, "00000a00  68 65 6c 6c 6f 20 64 69  73 6b 00 00 00 00 00 00  |hello disk......|");
	gt_expect_in(out, "*\r\n00000c00\r\n");
	strcpy((char *)f.f_disk + 9 * 512 + 16, "from dom0");
	out = run("blk read hda1 9");
	gt_expect_in(out, "no such disk");
	out = run("blk read 51712 9 2");
	gt_expect_in(out, "00001210  66 72 6f 6d 20 64 6f 6d  30 00 aa aa aa aa aa aa  |from dom0.......|");
	gt_expect_in(out, "00001600\r\n");
	gt_expect_in(run("blk read xvda 2048"), "outside the disk");
	gt_expect_in(run("blk discard xvda 0 1"), "blk discard: xvda: EOPNOTSUPP");
	gt_expect_in(run("blk flush xvda"), "blk flush: xvda: EOPNOTSUPP");
	cr_assert_eq(atomic_load(&f.f_total), 3, "refused in the guest, never sent");
}

Test(blkfront, verify_and_persistent_grants)
{
	fbe_init(&f, 0, SECTORS);
	boot_with_disk("w", 0);
	gt_expect_in(run("blk verify xvda"), "verify xvda: 2048 sectors written and read back, 0 mismatches");
	unsigned maps = fbe_maps(&f);
	cr_assert_gt(maps, 0);
	cr_assert_gt(atomic_load(&f.f_indirect), 0, "256 KiB steps go as indirect requests");
	uint64_t nonzero = 0;
	for (size_t i = 0; i < SECTORS * 512; i++)
		nonzero += f.f_disk[i] != 0;
	cr_assert_gt(nonzero, SECTORS * 500, "the pattern reached the backend's disk");
	gt_expect_in(run("blk verify xvda"), "0 mismatches");
	cr_assert_eq(fbe_maps(&f), maps, "the second pass reused the granted pages");
	for (int i = 0; i < 20; i++) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "blk write xvda %d w%d", 100 + i, i);
		gt_expect_in(run(cmd), "ok");
	}
	cr_assert_eq(fbe_maps(&f), maps, "single-sector writes reuse them too");
}

Test(blkfront, bench_indirect_and_both_queues)
{
	fbe_init(&f, 0, SECTORS);
	boot_with_disk("w", 0);
	const char *out = run("blk bench xvda seq read 1M 2 1");
	gt_expect_in(out, "IOPS ");
	unsigned long long iops;
	double mibs;
	cr_assert_eq(sscanf(strstr(out, "IOPS "), "IOPS %llu MiB/s %lf", &iops, &mibs), 2, "%s", out);
	cr_assert_gt(iops, 0);
	cr_assert_gt(mibs, 0.0);
	cr_assert_gt(atomic_load(&f.f_indirect), 0, "1 MiB requests are indirect");
	out = run("blk bench xvda rand write 4k 16 1");
	gt_expect_in(out, "IOPS ");
	cr_assert_gt(atomic_load(&f.f_q[0].fq_requests), 0);
	cr_assert_gt(atomic_load(&f.f_q[1].fq_requests), 0, "the second queue carried requests");
	cr_assert_eq(atomic_load(&f.f_errors), 0);
	gt_expect_in(run("blk bench xvda rand read 1000 1 1"), "blk bench: xvda: EINVAL");
	gt_expect_in(run("blk bench xvda rand read 4k 0 1"), "QD is 1..256");
}

Test(blkfront, bench_splits_units_without_indirect)
{
	fbe_init(&f, 0, SECTORS);
	f.f_max_indirect = 0;
	boot_with_disk("w", 0);
	const char *out = run("blk bench xvda seq write 1M 2 1");
	gt_expect_in(out, "IOPS ");
	cr_assert_eq(atomic_load(&f.f_indirect), 0);
	cr_assert_gt(atomic_load(&f.f_writes), 24, "1 MiB in 44 KiB requests");
	cr_assert_eq(atomic_load(&f.f_errors), 0);
}

Test(blkfront, discard_and_flush)
{
	fbe_init(&f, 0, SECTORS);
	memset(f.f_disk, 0xaa, SECTORS * 512);
	boot_with_disk("w", 0);
	gt_expect_in(run("blk discard xvda 10 4"), "ok\r\n");
	cr_assert_eq(atomic_load(&f.f_discards), 1);
	cr_assert_eq(f.f_disk[10 * 512], 0);
	cr_assert_eq(f.f_disk[14 * 512 - 1], 0);
	cr_assert_eq(f.f_disk[14 * 512], 0xaa, "only the range");
	cr_assert_eq(f.f_disk[10 * 512 - 1], 0xaa, "only the range");
	gt_expect_in(run("blk flush xvda"), "ok\r\n");
	cr_assert_eq(atomic_load(&f.f_flushes), 1);
}

Test(blkfront, read_only_disk_refuses_writes)
{
	fbe_init(&f, 0, SECTORS);
	f.f_disk[0] = 'r';
	boot_with_disk("r", VDISK_READONLY);
	gt_expect_in(t.out, "blk: xvda: connected, 2048 sectors of 512 bytes, ro,");
	gt_expect_in(run("blk list"), "1048576 ro\r\n");
	gt_expect_in(run("blk write xvda 0 x"), "blk write: xvda: EROFS");
	gt_expect_in(run("blk verify xvda"), "blk verify: xvda: EROFS");
	gt_expect_in(run("blk bench xvda rand write 4k 1 1"), "blk bench: xvda: EROFS");
	gt_expect_in(run("blk read xvda 0"), "00000000  72 00");
	cr_assert_eq(atomic_load(&f.f_writes), 0, "no write reached the backend");
	cr_assert_eq(f.f_disk[0], 'r');
}

Test(blkfront, response_never_issued_stops_only_the_disk)
{
	fbe_init(&f, 0, SECTORS);
	f.f_bad_id_at = 3;
	boot_with_disk("w", 0);
	gt_expect_in(run("blk read xvda 0"), "00000000");
	gt_expect_in(run("blk read xvda 1"), "00000200");
	gt_expect_in(run("blk read xvda 2"), "blk read: xvda: EPROTO");
	gt_expect_in(run("blk read xvda 3"), "blk read: xvda: EPROTO");
	cr_assert_eq(atomic_load(&f.f_total), 3, "nothing sent once the disk stopped");
	gt_expect_in(run("echo still here"), "still here\r\n");
}

Test(blkfront, detach_closes_and_ends_the_grants)
{
	fbe_init(&f, 0, SECTORS);
	boot_with_disk("w", 0);
	gt_expect_in(run("blk write xvda 1 before"), "ok");
	hv_gref_t ring = (hv_gref_t)strtoul(fe_get(NULL, "queue-0/ring-ref0"), NULL, 10);
	gt_store_set(t.store, gt_dev_be(&dev, "online"), "0");
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "5");
	gt_wait_node(&t, gt_dev_fe(&dev, "state"), "6");
	fbe_stop(&f);		/* the backend unmaps before it says Closed */
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "6");
	cr_assert(gt_wait_output(&t, "blk: xvda: disconnected (Closing)", 0, 10000), "%s", t.out);
	gt_expect_in(run("blk list"), "no disks");
	gt_expect_in(run("blk read xvda 0"), "no such disk");
	cr_assert_str_eq(fe_get(NULL, "state"), "6", "not re-armed: online is 0");
	struct hv_gnttab *gt = hv_gnttab_open(t.hvt.hv);
	cr_assert_null(hv_gnttab_map_grant_ref(gt, t.domid, ring, PROT_READ), "ring grant ended");
	hv_gnttab_close(gt);
	cr_assert_eq(memcmp(f.f_disk + 512, "before", 7), 0);
}

Test(blkfront, disk_attached_to_a_running_guest)
{
	fbe_init(&f, 0, SECTORS);
	gt_start(&t, true);
	gt_unpause(&t);
	cr_assert(gt_wait_output(&t, SHELL_PROMPT, 0, 10000), "no prompt; output:\n%s", t.out);
	gt_expect_in(run("blk list"), "no disks");
	add_disk("w");
	connect_disk(0);
	cr_assert(gt_wait_output(&t, "blk: xvda: connected", 0, 10000), "%s", t.out);
	gt_expect_in(run("blk write xvda 3 hot"), "ok");
	cr_assert_eq(memcmp(f.f_disk + 3 * 512, "hot", 4), 0);
}

Test(blkfront, backend_back_in_initwait_reconnects)
{
	fbe_init(&f, 0, SECTORS);
	boot_with_disk("w", 0);
	gt_expect_in(run("blk write xvda 2 first"), "ok");
	fbe_stop(&f);			/* a backend that starts over lets go of everything */
	gt_store_set(t.store, gt_dev_be(&dev, "state"), "2");
	connect_disk(0);
	cr_assert(gt_wait_output(&t, "blk: xvda: backend in InitWait again, reconnecting", 0, 10000),
	    "%s", t.out);
	cr_assert(gt_wait_output(&t, "blk: xvda: connected", strstr(t.out, "reconnecting") - t.out,
	    10000), "%s", t.out);
	gt_expect_in(run("blk write xvda 3 second"), "ok");
	cr_assert_eq(memcmp(f.f_disk + 2 * 512, "first", 6), 0);
	cr_assert_eq(memcmp(f.f_disk + 3 * 512, "second", 7), 0);
}
