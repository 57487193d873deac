/* Grants: Xen's flag protocol between a real guest (granter) and this process (dom0 mapper). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <criterion/criterion.h>

#include "hv_test_guest.h"
#include "hv_test_util.h"

static struct hvt t;

static void setup(void) { hvt_start(&t); }
static void teardown(void) { hvt_stop(&t); }

TestSuite(hv_grant, .init = setup, .fini = teardown, .timeout = 30);

Test(hv_grant, reserved_entries_prefilled_by_builder)
{
	hv_domid_t domid = hvt_guest(&t, "sleep", NULL, NULL);
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv);
	uint8_t *con = hv_gnttab_map_grant_ref(xgt, domid, GNTTAB_RESERVED_CONSOLE, PROT_READ | PROT_WRITE);
	uint8_t *store = hv_gnttab_map_grant_ref(xgt, domid, GNTTAB_RESERVED_XENSTORE, PROT_READ | PROT_WRITE);
	uint8_t *mem = hv_foreign_map(t.hv, domid, PROT_READ, 0, 8);

	cr_assert_not_null(con);
	cr_assert_not_null(store);
	cr_assert_eq(con, mem + HV_PFN_CONSOLE * 4096);
	cr_assert_eq(store, mem + HV_PFN_XENSTORE * 4096);
	start_info_t *si = (start_info_t *)mem;
	cr_assert_str_eq((char *)si->magic, "xen-3.0-x86_64");
	cr_assert_eq(si->nr_pages, 1024);
	cr_assert_eq(si->store_mfn, HV_PFN_XENSTORE);
	cr_assert_eq(si->console.domU.mfn, HV_PFN_CONSOLE);
	cr_assert_str_eq((char *)si->cmd_line, "sleep");
	/* out of range and beyond the table */
	cr_assert_null(hv_gnttab_map_grant_ref(xgt, domid, 2048, PROT_READ));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(hv_foreign_map(t.hv, domid, PROT_READ, 1023, 2));
	cr_assert_null(hv_foreign_map(t.hv, 999, PROT_READ, 0, 1));
	hv_gnttab_close(xgt);
}

Test(hv_grant, readonly_other_domid_and_revoke)
{
	struct hvt_grant_guest g;
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv);
	uint8_t *p;

	hvt_grant_guest_start(&t, &g, false);
	/* a read-only grant maps for reading, never for writing */
	cr_assert_null(hv_gnttab_map_grant_ref(xgt, g.domid, g.pg->ref_ro, PROT_READ | PROT_WRITE));
	cr_assert_eq(errno, EACCES);
	p = hv_gnttab_map_grant_ref(xgt, g.domid, g.pg->ref_ro, PROT_READ);
	cr_assert_not_null(p);
	cr_assert_eq(p[0], TG_FILL_RO);
	cr_assert_eq(p[4095], TG_FILL_RO);
	cr_assert_eq(hv_gnttab_unmap(xgt, g.domid, g.pg->ref_ro), 0);

	/* a grant made to domain 5 is not ours */
	cr_assert_null(hv_gnttab_map_grant_ref(xgt, g.domid, g.pg->ref_other, PROT_READ));
	cr_assert_eq(errno, EACCES);
	/* an unused entry grants nothing */
	cr_assert_null(hv_gnttab_map_grant_ref(xgt, g.domid, 100, PROT_READ));
	cr_assert_eq(errno, EACCES);

	/* revoking a mapped grant fails, twice mapped needs two unmaps, then it succeeds */
	p = hv_gnttab_map_grant_ref(xgt, g.domid, g.pg->ref_rw, PROT_READ | PROT_WRITE);
	cr_assert_not_null(p);
	cr_assert_eq(p[0], TG_FILL_RW);
	p[0] = 0x11;
	cr_assert_not_null(hv_gnttab_map_grant_ref(xgt, g.domid, g.pg->ref_rw, PROT_READ));
	cr_assert_eq(hvt_grant_guest_end_access(&g, g.pg->ref_rw), -EBUSY);
	cr_assert_eq(hv_gnttab_unmap(xgt, g.domid, g.pg->ref_rw), 0);
	cr_assert_eq(hvt_grant_guest_end_access(&g, g.pg->ref_rw), -EBUSY);
	cr_assert_eq(hv_gnttab_unmap(xgt, g.domid, g.pg->ref_rw), 0);
	cr_assert_eq(hv_gnttab_unmap(xgt, g.domid, g.pg->ref_rw), -1);
	cr_assert_eq(hvt_grant_guest_end_access(&g, g.pg->ref_rw), 0);
	/* the guest saw our write; the ended grant no longer maps */
	uint8_t *mem = hv_foreign_map(t.hv, g.domid, PROT_READ, TG_PFN_RW, 1);
	cr_assert_eq(mem[0], 0x11);
	cr_assert_null(hv_gnttab_map_grant_ref(xgt, g.domid, g.pg->ref_rw, PROT_READ));
	cr_assert_eq(errno, EACCES);
	hv_gnttab_close(xgt);
	hv_evtchn_close(g.xce);
}

Test(hv_grant, copy_statuses)
{
	struct hvt_grant_guest g;
	struct hv_gnttab *xgt = hv_gnttab_open(t.hv);
	uint8_t buf[4096], out[4096];
	struct hv_gnttab_copy_seg seg[5];

	hvt_grant_guest_start(&t, &g, false);
	memset(buf, 0x77, sizeof(buf));
	memset(seg, 0, sizeof(seg));
	/* 0: read the read-only page into buf */
	seg[0].src.ref = g.pg->ref_ro, seg[0].src_domid = g.domid;
	seg[0].dst.virt = out, seg[0].len = 4096, seg[0].flags = GNTCOPY_source_gref;
	/* 1: write into the read-only page: refused */
	seg[1].src.virt = buf, seg[1].dst.ref = g.pg->ref_ro, seg[1].dst_domid = g.domid;
	seg[1].len = 16, seg[1].flags = GNTCOPY_dest_gref;
	/* 2: write into the writable page at an offset */
	seg[2].src.virt = buf, seg[2].dst.ref = g.pg->ref_rw, seg[2].dst_domid = g.domid;
	seg[2].dst_offset = 100, seg[2].len = 8, seg[2].flags = GNTCOPY_dest_gref;
	/* 3: beyond the page */
	seg[3] = seg[2];
	seg[3].dst_offset = 4090;
	/* 4: another domain's grant */
	seg[4] = seg[0];
	seg[4].src.ref = g.pg->ref_other;
	cr_assert_eq(hv_gnttab_copy(xgt, 5, seg), 0);
	cr_assert_eq(seg[0].status, GNTST_okay);
	cr_assert_eq(out[0], TG_FILL_RO);
	cr_assert_eq(out[4095], TG_FILL_RO);
	cr_assert_eq(seg[1].status, GNTST_permission_denied);
	cr_assert_eq(seg[2].status, GNTST_okay);
	cr_assert_eq(seg[3].status, GNTST_bad_copy_arg);
	cr_assert_eq(seg[4].status, GNTST_permission_denied);
	uint8_t *rw = hv_foreign_map(t.hv, g.domid, PROT_READ, TG_PFN_RW, 1);
	cr_assert_eq(rw[99], TG_FILL_RW);
	cr_assert_eq(rw[100], 0x77);
	cr_assert_eq(rw[107], 0x77);
	cr_assert_eq(rw[108], TG_FILL_RW);
	/* copy leaves no pin behind: the guest can end access at once */
	cr_assert_eq(hvt_grant_guest_end_access(&g, g.pg->ref_rw), 0);
	cr_assert_eq(hvt_grant_guest_end_access(&g, g.pg->ref_ro), 0);
	hv_gnttab_close(xgt);
	hv_evtchn_close(g.xce);
}
