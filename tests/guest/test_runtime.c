/*
 * The guest runtime's grant, state-machine and transaction paths, driven by
 * the gt_guest test kernel under a private hvd with a test-served store.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gt_harness.h"

static struct gt t;

static void
teardown(void)
{
	gt_stop(&t);
}

TestSuite(runtime, .fini = teardown, .timeout = 60);

static void
boot(const char *scenario)
{
	gt_start_kernel(&t, GT_OWN_STORE, GT_GUEST, scenario);
}

static void
expect(const char *line)
{
	cr_assert(gt_wait_output(&t, line, 0, 5000), "no \"%s\"; output:\n%s", line, t.out);
}

static void
expect_poweroff(void)
{
	struct hv_dominfo info;

	cr_assert(gt_wait_shutdown(&t, 5000, &info));
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_poweroff, "output:\n%s", t.out);
}

Test(runtime, grant_shared_then_end_access_refused_while_mapped)
{
	unsigned ref;
	unsigned long long pfn;

	boot("grant");
	gt_unpause(&t);
	expect("GT gref ");
	const char *at = strstr(t.out, "GT gref ");
	cr_assert_eq(sscanf(at, "GT gref %u pfn %llu", &ref, &pfn), 2);
	cr_assert_geq(pfn, HV_PFN_FIRST_FREE, "from the page pool");
	struct hv_gnttab *gt = hv_gnttab_open(t.hvt.hv);
	cr_assert_not_null(gt);
	char *page = hv_gnttab_map_grant_ref(gt, t.domid, ref, PROT_READ | PROT_WRITE);
	cr_assert_not_null(page);
	cr_assert_str_eq(page, "granted by the guest");
	strcpy(page + 2048, "hello from dom0");
	gt_type(&t, "go\r");
	expect("GT seen hello from dom0\r\n");
	expect("GT end-mapped EBUSY\r\n");
	cr_assert_eq(hv_gnttab_unmap(gt, t.domid, ref), 0);
	gt_type(&t, "go\r");
	expect("GT end-unmapped OK\r\n");
	cr_assert_null(hv_gnttab_map_grant_ref(gt, t.domid, ref, PROT_READ), "access ended");
	hv_gnttab_close(gt);
	expect_poweroff();
}

Test(runtime, wait_for_backend_state)
{
	char fe[64], be[64];

	boot("state");
	snprintf(fe, sizeof(fe), "/local/domain/%u/data/fe/state", t.domid);
	snprintf(be, sizeof(be), "/local/domain/%u/data/be/state", t.domid);
	gt_store_set(t.store, be, "1");
	gt_unpause(&t);
	for (int i = 0; i < 250 && gt_store_get(t.store, fe) == NULL; i++)
		gt_serve(&t, 20);
	cr_assert_str_eq(gt_store_get(t.store, fe), "3", "frontend Initialised");
	gt_store_set(t.store, be, "2");
	gt_serve(&t, 200);
	cr_assert_null(strstr(t.out, "GT wait "), "InitWait is not Connected");
	gt_store_set(t.store, be, "4");
	expect("GT wait OK Connected\r\n");
	expect("GT wait-closed ETIMEDOUT Connected\r\n");
	expect_poweroff();
	cr_assert_eq(t.store->gs_nwatches, 0, "state watches removed");
}

Test(runtime, transaction_retried_on_eagain)
{
	char path[64];

	boot("tx");
	t.store->gs_eagain = 2;
	gt_unpause(&t);
	expect("GT tx OK attempts 3\r\n");
	snprintf(path, sizeof(path), "/local/domain/%u/data/tx", t.domid);
	cr_assert_str_eq(gt_store_get(t.store, path), "3");
	cr_assert_eq(t.store->gs_commits, 3);
	expect_poweroff();
}

Test(runtime, batch_posts_then_reports_the_first_refusal)
{
	char path[64];

	boot("batch");
	gt_unpause(&t);
	/* posted requests return 0 at once; the read in between sees the earlier write */
	expect("GT batch posted 0 0 0 read 1 end EACCES\r\n");
	expect("GT batch watch OK\r\n");
	expect("GT batch2 OK\r\n");
	snprintf(path, sizeof(path), "/local/domain/%u/data/b1", t.domid);
	cr_assert_str_eq(gt_store_get(t.store, path), "1");
	snprintf(path, sizeof(path), "/local/domain/%u/data/b2", t.domid);
	cr_assert_str_eq(gt_store_get(t.store, path), "2");
	cr_assert_null(gt_store_get(t.store, "/local/domain/0/refused"));
	cr_assert_eq(t.store->gs_nwatches, 1, "the accepted watch stays");
	expect_poweroff();
}

Test(runtime, console_output_nobody_reads_is_dropped_not_waited_for)
{
	char path[64];

	boot("flood");
	snprintf(path, sizeof(path), "/local/domain/%u/data/flood", t.domid);
	t.no_drain = true;
	gt_unpause(&t);
	for (int i = 0; i < 400 && gt_store_get(t.store, path) == NULL; i++)
		gt_serve(&t, 20);
	cr_assert_str_eq(gt_store_get(t.store, path), "done", "the guest went on");
	t.no_drain = false;
	gt_serve(&t, 100);	/* the backend is back: the ring empties */
	gt_type(&t, "go\r");
	expect("GT dropped ");
	unsigned long dropped = strtoul(strstr(t.out, "GT dropped ") + 11, NULL, 10);
	cr_assert_gt(dropped, 0);
	cr_assert_lt(dropped, 100 * 101, "the ring kept what fitted");
	cr_assert_geq(t.outlen, 2048, "a full ring of output arrived");
	expect_poweroff();
}

Test(runtime, messages_larger_than_the_ring)
{
	char path[64];

	boot("big");
	gt_unpause(&t);
	expect("GT big OK 3000 same\r\n");
	expect("GT huge E2BIG\r\n");
	expect("GT after OK\r\n");
	snprintf(path, sizeof(path), "/local/domain/%u/data/big", t.domid);
	cr_assert_eq(strlen(gt_store_get(t.store, path)), 3000);
	expect_poweroff();
}

/* Serves the store until path holds value. */
static void
wait_node(const char *path, const char *value)
{
	for (int i = 0; i < 250; i++) {
		const char *v = gt_store_get(t.store, path);
		if (v != NULL && strcmp(v, value) == 0)
			return;
		gt_serve(&t, 20);
	}
	cr_assert_fail("%s never became %s (is %s); output:\n%s", path, value,
	    gt_store_get(t.store, path) ? gt_store_get(t.store, path) : "absent", t.out);
}

/* The test plays blkback; the guest runs the shared frontend handshake. */
Test(runtime, frontend_handshake_and_shutdown)
{
	char fe[96], be[96], key[128];

	boot("frontend");
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/51712", t.domid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/51712", t.domid);
#define FE(k) (snprintf(key, sizeof(key), "%s/%s", fe, k), key)
#define BE(k) (snprintf(key, sizeof(key), "%s/%s", be, k), key)
	gt_store_set(t.store, BE("state"), "1");
	gt_store_set(t.store, FE("backend"), be);
	gt_store_set(t.store, FE("backend-id"), "0");
	gt_store_set(t.store, FE("state"), "1");
	gt_unpause(&t);
	char want[160];
	snprintf(want, sizeof(want), "GT fe backend %s 0\r\n", be);
	expect(want);
	gt_serve(&t, 100);
	cr_assert_str_eq(gt_store_get(t.store, FE("state")), "1", "waits for InitWait");
	gt_store_set(t.store, BE("state"), "2");
	wait_node(FE("state"), "3");
	unsigned ref = strtoul(gt_store_get(t.store, FE("ring-ref")), NULL, 10);
	int port = atoi(gt_store_get(t.store, FE("event-channel")));
	cr_assert_str_eq(gt_store_get(t.store, FE("protocol")), "x86_64-abi");
	struct hv_gnttab *gt = hv_gnttab_open(t.hvt.hv);
	char *ring = hv_gnttab_map_grant_ref(gt, t.domid, ref, PROT_READ | PROT_WRITE);
	cr_assert_not_null(ring, "ring-ref is a grant to the backend");
	cr_assert_str_eq(ring, "ring page");
	int lport = hv_evtchn_bind_interdomain(t.xce, t.domid, port);
	cr_assert_geq(lport, 0, "event-channel is bindable by the backend");
	gt_store_set(t.store, BE("state"), "4");
	expect("GT fe connected OK\r\n");
	cr_assert_str_eq(gt_store_get(t.store, FE("state")), "4");
	hv_evtchn_notify(t.xce, lport);
	expect("GT fe kicked OK\r\n");
	wait_node(FE("state"), "5");
	gt_store_set(t.store, BE("state"), "5");
	wait_node(FE("state"), "6");
	gt_store_set(t.store, BE("state"), "6");
	wait_node(FE("state"), "1");
	gt_store_set(t.store, BE("state"), "2");
	expect("GT fe closed OK\r\n");
	hv_gnttab_unmap(gt, t.domid, ref);
	hv_gnttab_close(gt);
	expect_poweroff();
#undef FE
#undef BE
}
