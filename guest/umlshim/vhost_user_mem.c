/*
 * The front-end's memory table (SET_MEM_TABLE): up to 8 regions, each an fd
 * we map and the two address spaces it answers to. UML gives one region of
 * its memory file (two with highmem); the vrings' addresses are in its
 * "user" space, the descriptors' in its "guest physical" space (UML makes
 * them equal, the spec does not).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost_user.h"

/* The payload's layout: a count, padding, then the regions. */
struct vhu_mem_wire {
	uint32_t nregions;
	uint32_t padding;
	struct {
		uint64_t gpa, size, uva, mmap_offset;
	} r[VHU_MAX_REGIONS];
};

/* The mappings go with the table (a new table, or the session's end). */
void
vhu_mem_clear(struct vhu_mem *m)
{
	for (unsigned i = 0; i < m->m_n; i++)
		munmap(m->m_r[i].r_map, m->m_r[i].r_maplen);
	m->m_n = 0;
}

/* Replaces the table; the fds are the caller's to close either way. */
int
vhu_mem_set(struct vhu_mem *m, const void *payload, size_t len, const int *fds, unsigned nfds)
{
	struct vhu_mem_wire w;
	struct vhu_mem fresh = { .m_n = 0 };

	memset(&w, 0, sizeof(w));
	memcpy(&w, payload, len < sizeof(w) ? len : sizeof(w));
	if (len < 8 || w.nregions == 0 || w.nregions > VHU_MAX_REGIONS || w.nregions != nfds ||
	    len < 8 + w.nregions * sizeof(w.r[0])) {
		errno = EPROTO;
		return -1;
	}
	for (unsigned i = 0; i < w.nregions; i++) {
		struct vhu_region *r = &fresh.m_r[i];
		/* mapped from the file's start, so the offset need not be page-aligned */
		size_t maplen = (size_t)(w.r[i].mmap_offset + w.r[i].size);
		void *p;

		if (w.r[i].size == 0 || maplen < w.r[i].size ||
		    w.r[i].gpa + w.r[i].size < w.r[i].gpa || w.r[i].uva + w.r[i].size < w.r[i].uva) {
			errno = EPROTO;
			vhu_mem_clear(&fresh);
			return -1;
		}
		p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		if (p == MAP_FAILED) {
			vhu_mem_clear(&fresh);
			return -1;
		}
		r->r_map = p;
		r->r_maplen = maplen;
		r->r_host = (uint8_t *)p + w.r[i].mmap_offset;
		r->r_gpa = w.r[i].gpa;
		r->r_uva = w.r[i].uva;
		r->r_size = w.r[i].size;
		fresh.m_n = i + 1;
	}
	vhu_mem_clear(m);
	*m = fresh;
	return 0;
}

/* Why two lookups: rings are named by user address, buffers by guest address. */
static void *
vhu_mem_find(const struct vhu_mem *m, uint64_t a, uint64_t len, int uva)
{
	for (unsigned i = 0; i < m->m_n; i++) {
		const struct vhu_region *r = &m->m_r[i];
		uint64_t base = uva ? r->r_uva : r->r_gpa;

		if (a >= base && a - base <= r->r_size && len <= r->r_size - (a - base))
			return r->r_host + (a - base);
	}
	return NULL;
}

/* A descriptor's buffer, by guest address. */
void *
vhu_mem_gpa(const struct vhu_mem *m, uint64_t gpa, uint64_t len)
{
	return vhu_mem_find(m, gpa, len, 0);
}

/* A ring, by the front-end's user address. */
void *
vhu_mem_uva(const struct vhu_mem *m, uint64_t uva, uint64_t len)
{
	return vhu_mem_find(m, uva, len, 1);
}
