/*
 * Domain creation as libxl does it: a paused domain in hvd, its store and
 * console event channels, the builder, the xenstore layout with every device
 * (disks, console, nics), INTRODUCE to xenstored, the wait for the backends.
 * Any failure tears the half-built domain down completely.
 */
#include <errno.h>
#include <poll.h>
#include <sys/file.h>
#include <string.h>
#include <unistd.h>

#include "dom.h"
#include "jail.h"
#include "xlconf.h"
#include "log.h"

/*
 * Allocates both event channels and asks hvd to start the kernel program
 * (stopped); hvd answers in dom_create_built. The special frames are hvd's
 * fixed ones (HV_PFN_*), so the layout can be written while it builds.
 */
static int
dom_create_build(struct hv *hv, const struct cfg_domain *dom, struct dom_layout *l)
{
	struct hv_build_config bc = { .kernel = dom->cd_kernel, .cmdline = dom->cd_cmdline,
		.payload = dom->cd_payload };
	const struct xlconf *xc = xlconf_get();
	int sp, cp;

	if (xc == NULL)
		return -1;	/* xl.conf is malformed, and said where */
	bc.uid_base = (uint32_t)xlconf_int(xc, "guest_uid_range_base");

	if ((sp = hv_evtchn_alloc_unbound(hv, l->dl_domid, 0)) < 0 ||
	    (cp = hv_evtchn_alloc_unbound(hv, l->dl_domid, 0)) < 0) {
		log_warn("domain %u: cannot allocate its store and console event channels",
		    l->dl_domid);
		return -1;
	}
	bc.store_port = l->dl_store_port = (hv_port_t)sp;
	bc.console_port = l->dl_console_port = (hv_port_t)cp;
	l->dl_store_mfn = HV_PFN_XENSTORE;
	l->dl_console_mfn = HV_PFN_CONSOLE;
	if (hv_domain_build_start(hv, l->dl_domid, &bc) < 0) {
		log_warn("domain %u: cannot ask hvd to build kernel %s", l->dl_domid,
		    dom->cd_kernel);
		return -1;
	}
	return 0;
}

/* hvd's answer to the build; a refusal is explained. */
static int
dom_create_built(struct hv *hv, const struct cfg_domain *dom, const struct dom_layout *l)
{
	const struct xlconf *xc = xlconf_get();
	uint32_t base = xc ? (uint32_t)xlconf_int(xc, "guest_uid_range_base") : 0;
	struct hv_build_result br;

	if (hv_domain_build_finish(hv, &br) < 0) {
		if (errno == ENOEXEC)
			log_warnx("kernel %s: hvd refused it: not a guest program this hypervisor "
			    "can run (an ELF program built on the pvstack guest runtime)", dom->cd_kernel);
		else if (errno == EOPNOTSUPP)
			log_warnx("domain %u: hvd starts no guest on this host: it cannot confine "
			    "them (its log names the missing facility)", l->dl_domid);
		else if (errno == EINVAL && base)
			log_warnx("domain %u: hvd refused guest_uid_range_base %u from %s "
			    "(it must be at least 65536 and leave room for %u uids)", l->dl_domid,
			    base, xc->xc_path, JAIL_UID_RANGE);
		else
			log_warn("domain %u: hvd could not build kernel %s", l->dl_domid,
			    dom->cd_kernel);
		return -1;
	}
	if (br.store_mfn != l->dl_store_mfn || br.console_mfn != l->dl_console_mfn) {
		log_warnx("domain %u: hvd put the store and console rings at frames %llu and %llu, "
		    "not %llu and %llu", l->dl_domid, (unsigned long long)br.store_mfn,
		    (unsigned long long)br.console_mfn, (unsigned long long)l->dl_store_mfn,
		    (unsigned long long)l->dl_console_mfn);
		return -1;
	}
	return 0;
}

/* Everything up to a connected, paused domain. */
int
dom_create(struct hv *hv, struct xs *xs, struct cfg *cfg, const struct cfg_domain *dom,
    const struct dom_create_opts *o, hv_domid_t *domidp)
{
	struct hv_domain_config dc = { .mem_kib = (uint32_t)(dom->cd_memory_mib * 1024),
	    .vcpus = dom->cd_vcpus };
	struct dom_layout l = { .dl_cfg = dom };
	hv_domid_t domid;

	memcpy(dc.uuid, dom->cd_uuid, sizeof(dc.uuid));
	memcpy(l.dl_uuid, dom->cd_uuid, sizeof(l.dl_uuid));
	if (hv_domain_create(hv, &dc, &domid) < 0) {
		log_warn("cannot create domain %s (%llu MiB, %u vcpus)", dom->cd_name,
		    (unsigned long long)dom->cd_memory_mib, dom->cd_vcpus);
		return -1;
	}
	l.dl_domid = domid;
	if (dom->cd_has_cpus && hv_vcpu_setaffinity(hv, domid, &dom->cd_cpus) < 0) {
		char cpus[256];
		cpumap_format(&dom->cd_cpus, 0, cpus, sizeof(cpus));
		log_warn("%s: cpus = \"%s\": hvd cannot pin domain %u there", dom->cd_file, cpus,
		    domid);
		goto fail;
	}
	if (dom_create_build(hv, dom, &l) < 0)
		goto fail;
	/* the layout is written while hvd builds; its answer is taken either way */
	if (dom_layout_write(xs, &l) < 0) {
		dom_create_built(hv, dom, &l);
		goto fail;
	}
	/* then the caller's work for the new domid (xl create -c: the console's lock
	 * and tty watch, the monitor): while hvd builds, not before it is asked to,
	 * and after the layout, which INTRODUCE waits for */
	if (o->dco_on_domid)
		o->dco_on_domid(domid, o->dco_arg);
	/* the stored config too (a file on the run directory's filesystem) */
	if (dom_store_save(domid, cfg) < 0) {
		log_warn("domain %u: cannot store its config", domid);
		dom_create_built(hv, dom, &l);
		goto fail;
	}
	if (dom_create_built(hv, dom, &l) < 0)
		goto fail;
	/* The name is visible now: other creates may check theirs against it. */
	if (o->dco_name_lock >= 0)
		flock(o->dco_name_lock, LOCK_UN);
	if (xs_introduce_domain(xs, domid, l.dl_store_mfn, l.dl_store_port) < 0) {
		log_warn("domain %u: xenstored refused INTRODUCE", domid);
		goto fail;
	}
	if (dom_device_wait(xs, domid, dom) < 0)
		goto fail;
	*domidp = domid;
	return 0;
fail:
	log_warnx("domain %s (domid %u) could not be created; tearing it down", dom->cd_name,
	    domid);
	dom_destroy(hv, xs, domid);
	return -1;
}

/* Waits for the console client's start byte (so no output is lost), then unpauses. */
int
dom_create_unpause(struct hv *hv, hv_domid_t domid, int console_fd)
{
	if (console_fd >= 0) {
		struct pollfd pfd = { .fd = console_fd, .events = POLLIN };
		char c;
		if (poll(&pfd, 1, 10000) <= 0 || read(console_fd, &c, 1) != 1)
			log_warnx("domain %u: the console client did not start; unpausing anyway",
			    domid);
	}
	if (hv_domain_unpause(hv, domid) < 0) {
		log_warn("domain %u: cannot unpause", domid);
		return -1;
	}
	return 0;
}
