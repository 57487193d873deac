/* libhv internals shared by its files: the connection, the request call and
 * the per-process cache of whole-domain mappings. Not installed. */
#ifndef PVSTACK_LIBHV_PRIV_H
#define PVSTACK_LIBHV_PRIV_H

#include <stdbool.h>

#include "libhv.h"

#define HV_PAGE_SIZE 4096u

/* One whole-domain mapping, shared by foreign maps and grant maps. */
struct hv_mapping {
	struct hv_mapping *next;
	hv_domid_t domid;
	uint8_t *base;
	uint64_t nr_pages;
	uint64_t gnttab_pfn;
	uint32_t gnttab_frames;
};

struct hv {
	int fd;
	bool guest;
	hv_domid_t self;
	uint32_t next_id;
	struct hv_mapping *maps;	/* dom0: cached domain mappings */
	struct hv_guest_info ginfo;	/* guest: filled by hello */
	uint8_t *gref_used;		/* guest: refs handed out by hv_guest_grant */
};

/* A request's reply as the caller wants it back. */
struct hv_reply {
	void *buf;		/* payload destination */
	size_t cap;
	size_t len;		/* out: payload bytes received */
	int fds[4];
	int nfds;		/* out */
};

/*
 * Sends one request and waits for its reply; 0 or -1 with errno (the
 * daemon's rc, or a transport error). rep may be NULL when no payload or fd
 * is wanted; received fds are always closed unless rep takes them.
 */
int hv_call(struct hv *hv, uint32_t type, const void *req, size_t len, struct hv_reply *rep);
/* The cached whole-domain mapping, fetched from hvd on first use. */
struct hv_mapping *hv_mapping_get(struct hv *hv, hv_domid_t domid);
/* The grant entry array of a mapping (guest's own or foreign). */
grant_entry_v1_t *hv_mapping_gnttab(const struct hv_mapping *m, uint32_t *nr);

#endif
