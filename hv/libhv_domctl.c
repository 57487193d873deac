#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libhv_priv.h"
#include "xmalloc.h"

/* Asks hvd for an empty paused domain (xc_domain_create). */
int
hv_domain_create(struct hv *hv, const struct hv_domain_config *cfg, hv_domid_t *domid)
{
	struct hv_req_domain_create req = { .mem_kib = cfg->mem_kib, .vcpus = cfg->vcpus };
	struct hv_rep_domain_create r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };

	memcpy(req.uuid, cfg->uuid, sizeof(req.uuid));
	if (hv_call(hv, HV_DOMAIN_CREATE, &req, sizeof(req), &rep) < 0)
		return -1;
	if (rep.len != sizeof(r)) {
		errno = EPROTO;
		return -1;
	}
	*domid = r.domid;
	return 0;
}

/* The build request for cfg; NULL (errno set) when a string does not fit. */
static struct hv_req_domain_build *
hv_domain_build_req(hv_domid_t domid, const struct hv_build_config *cfg)
{
	struct hv_req_domain_build *req = xcalloc(1, sizeof(*req));

	req->domid = domid;
	req->store_port = cfg->store_port;
	req->console_port = cfg->console_port;
	req->uid_base = cfg->uid_base;
	if ((cfg->payload && strlen(cfg->payload) >= sizeof(req->payload)) ||
	    cfg->kernel == NULL || strlen(cfg->kernel) >= sizeof(req->kernel) ||
	    (cfg->cmdline && strlen(cfg->cmdline) >= sizeof(req->cmdline))) {
		free(req);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (cfg->payload)
		memcpy(req->payload, cfg->payload, strlen(cfg->payload) + 1);
	strcpy(req->kernel, cfg->kernel);
	if (cfg->cmdline)
		strcpy(req->cmdline, cfg->cmdline);
	return req;
}

/* Sends the build and returns at once, so the toolstack writes xenstore while hvd builds. */
int
hv_domain_build_start(struct hv *hv, hv_domid_t domid, const struct hv_build_config *cfg)
{
	struct hv_req_domain_build *req;
	int rc;

	if (hv->build_id != 0) {
		errno = EBUSY;
		return -1;
	}
	if ((req = hv_domain_build_req(domid, cfg)) == NULL)
		return -1;
	rc = hv_call_send(hv, HV_DOMAIN_BUILD, req, sizeof(*req), &hv->build_id);
	free(req);
	return rc;
}

/* Takes the answer to hv_domain_build_start: 0 once the kernel program is started. */
int
hv_domain_build_finish(struct hv *hv, struct hv_build_result *res)
{
	struct hv_rep_domain_build r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };
	uint32_t id = hv->build_id;

	if (id == 0) {
		errno = EINVAL;
		return -1;
	}
	hv->build_id = 0;
	if (hv_call_recv(hv, HV_DOMAIN_BUILD, id, &rep) < 0)
		return -1;
	if (rep.len != sizeof(r)) {
		errno = EPROTO;
		return -1;
	}
	if (res) {
		res->store_mfn = r.store_mfn;
		res->console_mfn = r.console_mfn;
		res->pid = r.pid;
	}
	return 0;
}

/* Has hvd fill the special pages and start the kernel program, still paused. */
int
hv_domain_build(struct hv *hv, hv_domid_t domid, const struct hv_build_config *cfg,
    struct hv_build_result *res)
{
	if (hv_domain_build_start(hv, domid, cfg) < 0)
		return -1;
	return hv_domain_build_finish(hv, res);
}

/* The requests that carry nothing but a domid. */
static int
hv_domctl_simple(struct hv *hv, uint32_t type, hv_domid_t domid)
{
	struct hv_req_domid req = { .domid = domid };

	return hv_call(hv, type, &req, sizeof(req), NULL);
}

/* Kills the guest, closes its channels and frees the domain. */
int
hv_domain_destroy(struct hv *hv, hv_domid_t domid)
{
	hv_foreign_forget(hv, domid);
	return hv_domctl_simple(hv, HV_DOMAIN_DESTROY, domid);
}

/* Stops the guest's process group. */
int
hv_domain_pause(struct hv *hv, hv_domid_t domid)
{
	return hv_domctl_simple(hv, HV_DOMAIN_PAUSE, domid);
}

/* Continues the guest's process group. */
int
hv_domain_unpause(struct hv *hv, hv_domid_t domid)
{
	return hv_domctl_simple(hv, HV_DOMAIN_UNPAUSE, domid);
}

/* dom0 forces a shutdown with a reason (xc_domain_shutdown). */
int
hv_domain_shutdown(struct hv *hv, hv_domid_t domid, unsigned reason)
{
	struct hv_req_domain_shutdown req = { .domid = domid, .reason = reason };

	return hv_call(hv, HV_DOMAIN_SHUTDOWN, &req, sizeof(req), NULL);
}

/* Records a new memory ceiling (xc_domain_setmaxmem). */
int
hv_domain_setmaxmem(struct hv *hv, hv_domid_t domid, uint64_t max_kib)
{
	struct hv_req_domain_setmaxmem req = { .domid = domid, .max_kib = max_kib };

	return hv_call(hv, HV_DOMAIN_SETMAXMEM, &req, sizeof(req), NULL);
}

/* libhv.h */
int
hv_vcpu_setaffinity(struct hv *hv, hv_domid_t domid, const struct hv_cpumap *map)
{
	struct hv_req_vcpu_affinity req = { .domid = domid, .pinned = map != NULL };

	_Static_assert(sizeof(req.map) == sizeof(map->bits), "one cpumap size on the wire");
	if (map)
		memcpy(req.map, map->bits, sizeof(req.map));
	return hv_call(hv, HV_VCPU_SETAFFINITY, &req, sizeof(req), NULL);
}

/* libhv.h */
int
hv_vcpu_getaffinity(struct hv *hv, hv_domid_t domid, struct hv_cpumap *map)
{
	struct hv_req_domid req = { .domid = domid };
	struct hv_req_vcpu_affinity rep;
	struct hv_reply r = { .buf = &rep, .cap = sizeof(rep) };

	if (hv_call(hv, HV_VCPU_GETAFFINITY, &req, sizeof(req), &r) < 0)
		return -1;
	if (r.len != sizeof(rep)) {
		errno = EPROTO;
		return -1;
	}
	if (!rep.pinned)
		memset(rep.map, 0xff, sizeof(rep.map));
	memcpy(map->bits, rep.map, sizeof(map->bits));
	return rep.pinned != 0;
}

/* Wire form to API form. */
static void
hv_domctl_info_from_wire(struct hv_dominfo *info, const struct hv_dominfo_wire *w)
{
	info->domid = w->domid;
	info->flags = w->flags;
	info->shutdown_reason = w->shutdown_reason;
	info->vcpus = w->vcpus;
	info->mem_kib = w->mem_kib;
	info->max_mem_kib = w->max_mem_kib;
	info->cpu_ns = w->cpu_ns;
	memcpy(info->uuid, w->uuid, sizeof(info->uuid));
	info->pid = w->pid;
}

/* xc_domain_getinfolist: domains from first on, as many as fit. */
int
hv_domain_getinfolist(struct hv *hv, hv_domid_t first, struct hv_dominfo *info, unsigned max)
{
	uint8_t buf[HV_MSG_MAX];
	struct hv_req_domain_getinfo req = { .first_domid = first, .max = max };
	struct hv_rep_domain_getinfo r;
	struct hv_reply rep = { .buf = buf, .cap = sizeof(buf) };
	unsigned got = 0;

	while (got < max) {
		req.first_domid = first;
		req.max = max - got;
		if (hv_call(hv, HV_DOMAIN_GETINFO, &req, sizeof(req), &rep) < 0)
			return -1;
		memcpy(&r, buf, sizeof(r) <= rep.len ? sizeof(r) : 0);
		if (rep.len < sizeof(r) || r.count > req.max ||
		    rep.len != sizeof(r) + r.count * sizeof(struct hv_dominfo_wire)) {
			errno = EPROTO;
			return -1;
		}
		if (r.count == 0)
			break;
		for (unsigned i = 0; i < r.count; i++) {
			struct hv_dominfo_wire w;
			memcpy(&w, buf + sizeof(r) + i * sizeof(w), sizeof(w));
			hv_domctl_info_from_wire(&info[got++], &w);
		}
		first = info[got - 1].domid + 1;
	}
	return got;
}

/* xc_domain_getinfo for exactly one domain. */
int
hv_domain_getinfo(struct hv *hv, hv_domid_t domid, struct hv_dominfo *info)
{
	int n = hv_domain_getinfolist(hv, domid, info, 1);

	if (n < 0)
		return -1;
	if (n == 0 || info->domid != domid) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* xc_physinfo for xl info. */
int
hv_physinfo(struct hv *hv, struct hv_physinfo *info)
{
	struct hv_rep_physinfo r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };

	if (hv_call(hv, HV_PHYSINFO, NULL, 0, &rep) < 0)
		return -1;
	if (rep.len != sizeof(r)) {
		errno = EPROTO;
		return -1;
	}
	info->nr_cpus = r.nr_cpus;
	info->nr_domains = r.nr_domains;
	info->total_kib = r.total_kib;
	info->free_kib = r.free_kib;
	info->start_time = r.start_time;
	memcpy(info->version, r.version, sizeof(info->version));
	info->version[sizeof(info->version) - 1] = '\0';
	return 0;
}

/* xl dmesg: the hypervisor console as one string. */
char *
hv_console_read(struct hv *hv, int clear)
{
	struct hv_req_console_read req = { .clear = clear ? 1 : 0 };
	char *text = xmalloc(HV_MSG_MAX + 1);
	struct hv_reply rep = { .buf = text, .cap = HV_MSG_MAX };

	if (hv_call(hv, HV_CONSOLE_READ, &req, sizeof(req), &rep) < 0) {
		int saved = errno;
		free(text);
		errno = saved;
		return NULL;
	}
	text[rep.len] = '\0';
	return text;
}
