/*
 * Tearing a domain down, whatever state it is in (half built included):
 * pause, close its devices, RELEASE it in xenstored, destroy it in hvd, then
 * remove /local/domain/N, /vm/UUID, /libxl/N, backend dirs and the stored config.
 */
#include <errno.h>

#include "dom.h"
#include "log.h"

/* Every trace of domid; -1 when hvd refused the destroy itself. */
int
dom_destroy(struct hv *hv, struct xs *xs, hv_domid_t domid)
{
	int rc = 0;

	if (domid == 0) {
		errno = EPERM;
		return -1;
	}
	hv_domain_pause(hv, domid);
	dom_device_close(xs, domid);
	xs_release_domain(xs, domid);
	if (hv_domain_destroy(hv, domid) < 0 && errno != ENOENT) {
		log_warn("domain %u: hvd refused to destroy it", domid);
		rc = -1;
	}
	dom_layout_remove(xs, domid);
	dom_store_remove(domid);
	return rc;
}
