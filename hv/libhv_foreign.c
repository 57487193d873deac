#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libhv_priv.h"
#include "msg.h"
#include "xmalloc.h"

/* Maps a domain's memfd whole and caches it in the handle. */
static struct hv_mapping *
hv_foreign_adopt(struct hv *hv, hv_domid_t domid, const struct hv_foreign_mem *mem)
{
	struct hv_mapping *m;
	void *base;

	if (mem->nr_pages == 0 || mem->nr_pages > (1ull << 32) ||
	    mem->gnttab_pfn + mem->gnttab_frames > mem->nr_pages) {
		errno = EPROTO;
		return NULL;
	}
	base = mmap(NULL, mem->nr_pages * HV_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    mem->fd, 0);
	if (base == MAP_FAILED)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->domid = domid;
	m->base = base;
	m->nr_pages = mem->nr_pages;
	m->gnttab_pfn = mem->gnttab_pfn;
	m->gnttab_frames = mem->gnttab_frames;
	m->next = hv->maps;
	if (m->next)
		m->next->prevp = &m->next;
	m->prevp = &hv->maps;
	hv->maps = m;
	if (domid < DOMID_FIRST_RESERVED) {
		if (hv->map_byid == NULL) {
			hv->map_byid = xmalloc(sizeof(*hv->map_byid));
			*hv->map_byid = (struct domtab)DOMTAB_INIT(struct hv_mapping *);
		}
		domtab_set(hv->map_byid, domid, m);
	}
	return m;
}

/* xc's memory fetch without the map: the memfd and its geometry. */
int
hv_foreign_memfd(struct hv *hv, hv_domid_t domid, struct hv_foreign_mem *mem)
{
	struct hv_req_domid req = { .domid = domid };
	struct hv_rep_domain_memfd r;
	struct hv_reply rep = { .buf = &r, .cap = sizeof(r) };

	if (hv_call(hv, HV_DOMAIN_MEMFD, &req, sizeof(req), &rep) < 0)
		return -1;
	if (rep.len != sizeof(r) || rep.nfds != 1) {
		msg_close_fds(rep.fds, rep.nfds);
		errno = EPROTO;
		return -1;
	}
	mem->fd = rep.fds[0];
	mem->nr_pages = r.nr_pages;
	mem->gnttab_pfn = r.gnttab_pfn;
	mem->gnttab_frames = r.gnttab_frames;
	return 0;
}

/* Fetches a domain's memfd from hvd and maps all of it once. */
static struct hv_mapping *
hv_foreign_fetch(struct hv *hv, hv_domid_t domid)
{
	struct hv_foreign_mem mem;
	struct hv_mapping *m;

	if (hv_foreign_memfd(hv, domid, &mem) < 0)
		return NULL;
	m = hv_foreign_adopt(hv, domid, &mem);
	int saved = errno;
	close(mem.fd);
	errno = saved;
	return m;
}

/* A connectionless dom0 handle over one domain's memory (backend workers). */
struct hv *
hv_open_foreign(hv_domid_t domid, const struct hv_foreign_mem *mem)
{
	struct hv *hv = xcalloc(1, sizeof(*hv));

	hv->fd = -1;
	hv->self = 0;
	if (hv_foreign_adopt(hv, domid, mem) == NULL) {
		int saved = errno;
		free(hv);
		errno = saved;
		return NULL;
	}
	return hv;
}

/*
 * The cached mapping of domid, fetching it on first use. Found by domid, not
 * by walking the mappings: xenstored and consoled hold one per domain and
 * look one up at every INTRODUCE and grant operation.
 */
struct hv_mapping *
hv_mapping_get(struct hv *hv, hv_domid_t domid)
{
	struct hv_mapping *m;

	if (domid < DOMID_FIRST_RESERVED) {
		if (hv->map_byid && (m = domtab_get(hv->map_byid, domid)) != NULL)
			return m;
	} else {
		for (m = hv->maps; m; m = m->next)
			if (m->domid == domid)
				return m;
	}
	if (hv->guest) {
		errno = EPERM;
		return NULL;
	}
	return hv_foreign_fetch(hv, domid);
}

/* Where a mapping's grant entries are. */
grant_entry_v1_t *
hv_mapping_gnttab(const struct hv_mapping *m, uint32_t *nr)
{
	*nr = m->gnttab_frames * (HV_PAGE_SIZE / sizeof(grant_entry_v1_t));
	return (grant_entry_v1_t *)(m->base + m->gnttab_pfn * HV_PAGE_SIZE);
}

/* xenforeignmemory_map over the cached whole-domain mapping: pointer arithmetic after the first call. */
void *
hv_foreign_map(struct hv *hv, hv_domid_t domid, int prot, uint64_t pfn, size_t n)
{
	struct hv_mapping *m;

	(void)prot;	/* the cache is mapped read-write once; prot is advisory */
	m = hv_mapping_get(hv, domid);
	if (m == NULL)
		return NULL;
	if (n == 0 || pfn >= m->nr_pages || n > m->nr_pages - pfn) {
		errno = EINVAL;
		return NULL;
	}
	return m->base + pfn * HV_PAGE_SIZE;
}

/* Drops a dead domain's mapping so its memory can go. */
void
hv_foreign_forget(struct hv *hv, hv_domid_t domid)
{
	struct hv_mapping *m = NULL;

	if (domid < DOMID_FIRST_RESERVED) {
		if (hv->map_byid == NULL || (m = domtab_get(hv->map_byid, domid)) == NULL)
			return;
		domtab_set(hv->map_byid, domid, NULL);
	} else {
		for (m = hv->maps; m && m->domid != domid; m = m->next)
			;
		if (m == NULL)
			return;
	}
	*m->prevp = m->next;
	if (m->next)
		m->next->prevp = m->prevp;
	hv_mapping_free(m);
}

/* A mapping's memory, its maptrack view and the record go together. */
void
hv_mapping_free(struct hv_mapping *m)
{
	munmap(m->base, m->nr_pages * HV_PAGE_SIZE);
	hv_maptrack_free(m->mt);
	free(m);
}
