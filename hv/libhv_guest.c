#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libhv_priv.h"

/* What hello told us about our own memory. */
const struct hv_guest_info *
hv_guest_info(struct hv *hv)
{
	return hv->guest ? &hv->ginfo : NULL;
}

/* gnttab_grant_foreign_access: a free ref above the reserved ones, published flags last. */
int
hv_guest_grant(struct hv *hv, hv_domid_t domid, uint64_t pfn, int readonly)
{
	struct hv_guest_info *gi = &hv->ginfo;

	if (!hv->guest || pfn >= gi->nr_pages || domid >= DOMID_FIRST_RESERVED) {
		errno = EINVAL;
		return -1;
	}
	for (uint32_t ref = GNTTAB_NR_RESERVED_ENTRIES; ref < gi->gnttab_entries; ref++) {
		grant_entry_v1_t *e = &gi->gnttab[ref];
		if (hv->gref_used[ref] || __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) != 0)
			continue;
		hv->gref_used[ref] = 1;
		e->frame = pfn;
		e->domid = domid;
		__atomic_store_n(&e->flags, GTF_permit_access | (readonly ? GTF_readonly : 0),
		    __ATOMIC_RELEASE);
		return ref;
	}
	errno = ENOSPC;
	return -1;
}

/* gnttab_end_foreign_access_ref: Xen's rule, a CAS to 0 that fails while mapped. */
int
hv_guest_end_access(struct hv *hv, hv_gref_t ref)
{
	struct hv_guest_info *gi = &hv->ginfo;
	grant_entry_v1_t *e;
	uint16_t flags;

	if (!hv->guest || ref >= gi->gnttab_entries) {
		errno = EINVAL;
		return -1;
	}
	e = &gi->gnttab[ref];
	flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	do {
		if (flags & (GTF_reading | GTF_writing)) {
			errno = EBUSY;
			return -1;
		}
	} while (!__atomic_compare_exchange_n(&e->flags, &flags, 0, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (ref >= GNTTAB_NR_RESERVED_ENTRIES)
		hv->gref_used[ref] = 0;
	return 0;
}

/* SCHEDOP_shutdown: hvd kills us, so success never returns. */
int
hv_guest_shutdown(struct hv *hv, unsigned reason)
{
	struct hv_req_guest_shutdown req = { .reason = reason };

	if (hv_call(hv, HV_GUEST_SHUTDOWN, &req, sizeof(req), NULL) < 0)
		return -1;
	for (;;)
		pause();
}

/* CONSOLEIO_write: early printk lands in hvd's console ring. */
int
hv_guest_console_write(struct hv *hv, const char *buf, size_t len)
{
	size_t max = HV_MSG_MAX - sizeof(struct hv_msg_hdr);

	while (len > 0) {
		size_t n = len < max ? len : max;
		if (hv_call(hv, HV_GUEST_CONSOLE_IO, buf, n, NULL) < 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}
