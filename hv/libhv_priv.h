/* libhv internals shared by its files: the connection, the request call and
 * the per-process cache of whole-domain mappings. Not installed. */
#ifndef PVSTACK_LIBHV_PRIV_H
#define PVSTACK_LIBHV_PRIV_H

#include <stdbool.h>

#include "domtab.h"
#include "libhv.h"
#include "hv_maptrack.h"

#define HV_PAGE_SIZE 4096u

/*
 * A domain's maptrack as this process sees it (hv/libhv_maptrack.c): the
 * shared region and our slot in it, or a private region when no hvd counts
 * for us (then only this process's own pins are known, as before maptrack).
 */
struct hv_maptrack {
	uint8_t *base;
	uint64_t size;
	struct hv_mt_ref *refs;
	struct hv_mt_pin *pins;		/* our slot's */
	uint32_t nr_refs;
	uint32_t me;			/* lock holder id: slot + 1 */
	bool lease;			/* the process's lease: shared by handles, never unmapped */
};

/* One whole-domain mapping, shared by foreign maps and grant maps. */
struct hv_mapping {
	struct hv_mapping *next;
	struct hv_mapping **prevp;	/* what points at it: unlinked in O(1) */
	hv_domid_t domid;
	uint8_t *base;
	uint64_t nr_pages;
	uint64_t gnttab_pfn;
	uint32_t gnttab_frames;
	struct hv_maptrack *mt;		/* NULL until the first grant operation */
};

struct hv {
	int fd;
	bool guest;
	hv_domid_t self;
	uint32_t next_id;
	uint32_t build_id;	/* a build hv_domain_build_finish has still to answer, 0: none */
	struct hv_mapping *maps;	/* dom0: cached domain mappings */
	struct domtab *map_byid;	/* the same by domid, made on first use */
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
/* hv_call in two halves, for a caller that works while hvd answers: the send gives the id. */
int hv_call_send(struct hv *hv, uint32_t type, const void *req, size_t len, uint32_t *id);
int hv_call_recv(struct hv *hv, uint32_t type, uint32_t id, struct hv_reply *rep);
/* The cached whole-domain mapping, fetched from hvd on first use. */
struct hv_mapping *hv_mapping_get(struct hv *hv, hv_domid_t domid);
/* The grant entry array of a mapping (guest's own or foreign). */
grant_entry_v1_t *hv_mapping_gnttab(const struct hv_mapping *m, uint32_t *nr);
/* Unmaps a domain's memory and its maptrack view, and frees the record. */
void hv_mapping_free(struct hv_mapping *m);

/* libhv_maptrack.c */
/* The mapping's maptrack, asked of hvd (or the process lease) on first use. */
struct hv_maptrack *hv_maptrack_of(struct hv *hv, struct hv_mapping *m);
/* The process lease's view when it is for domid, else NULL. */
struct hv_maptrack *hv_maptrack_leased(hv_domid_t domid);
void hv_maptrack_free(struct hv_maptrack *mt);
/* A pin of ref: Xen's acquire on the entry (EACCES) and the counts, under the ref's lock. */
int hv_maptrack_pin(struct hv_maptrack *mt, grant_entry_v1_t *e, hv_gref_t ref, hv_domid_t self,
    bool write);
/* Drops one pin (write: a writable one); flags clear with the last pin of their kind. */
int hv_maptrack_unpin(struct hv_maptrack *mt, grant_entry_v1_t *e, hv_gref_t ref, bool write);

#endif
