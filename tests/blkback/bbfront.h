/*
 * The blkback tests' frontend: the test process plays blkfront on a real
 * domain's memory (mapped as dom0 may), writing grant entries, the shared
 * ring and the frontend's xenstore keys itself, while the domain's guest
 * kernel (bbguest) relays event-channel notifications. A hostile frontend is
 * the same code writing what a well-behaved one would not.
 */
#ifndef PVSTACK_TEST_BBFRONT_H
#define PVSTACK_TEST_BBFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xen_ring.h"
#include <xen/grant_table.h>
#include <xen/io/blkif.h>

#include "stack.h"

#define BBF_MAX_QUEUES		4
#define BBF_MEM_PAGES		2048		/* 8 MiB */
#define BBF_PFN_RINGS		16		/* 16 pages per queue at most */
#define BBF_PFN_DATA		128		/* where tests put their data pages */

struct bbfront {
	struct stack *f_st;
	uint32_t f_domid, f_devid;
	uint8_t *f_mem;
	grant_entry_v1_t *f_gnt;
	struct hv_evtchn *f_xce;
	int f_bell;				/* our end of the relay */
	int f_port[BBF_MAX_QUEUES];		/* guest-side ports, one per queue */
	unsigned f_nq, f_order;
	blkif_front_ring_t f_ring[BBF_MAX_QUEUES];
	uint32_t f_next_ref;
	uint32_t f_pfn_ref[BBF_MEM_PAGES];	/* the writable grant kept per data page */
	char f_fe[128], f_be[128];
};

/* A domain with BBF_MEM_PAGES of memory running the relay guest. */
void bbf_domain(struct bbfront *f, struct stack *st);
/* A private stack with blkback (tag names it), a sparse image of mib MiB at
 * <rundir>/disk.img (its path in img) and f's domain; no device yet. */
void bbf_stack_disk(struct stack *st, const char *tag, struct bbfront *f, char *img, size_t len,
    unsigned mib);
/* Attaches path read-write as xvda and connects one persistent one-page ring;
 * returns the ring's grant ref. */
uint32_t bbf_attach(struct bbfront *f, const char *path);
/* The pid of blkback's only child (the worker) other than not, waiting up to ms; -1 if none. */
pid_t bbf_worker_pid(struct stack *st, pid_t not, int ms);
/* Destroys the domain (the device directories are removed first). */
void bbf_destroy(struct bbfront *f);
/* Writes both device directories as xl does; extra: "key=value" backend keys, NULL-ended. */
void bbf_devdirs(struct bbfront *f, uint32_t devid, const char *params, const char *mode,
    const char *const *extra);
/* Removes both directories (what xl does after a detach). */
void bbf_rmdirs(struct bbfront *f);
/* The backend's state, 0 when absent. */
int bbf_be_state(struct bbfront *f);
/* Waits for the backend state; 0 or -1 after ms. */
int bbf_wait_be(struct bbfront *f, int state, int ms);
/* A backend key (malloc'd or NULL). */
char *bbf_be_read(struct bbfront *f, const char *key);
/* The grant a well-behaved frontend keeps for a data page (writable, made once). */
uint32_t bbf_ref(struct bbfront *f, uint64_t pfn);
/* Grants pfn to dom0; returns a new ref. */
uint32_t bbf_grant(struct bbfront *f, uint64_t pfn, bool readonly);
void bbf_ungrant(struct bbfront *f, uint32_t ref);
void *bbf_page(struct bbfront *f, uint64_t pfn);
/* Initialises nq rings of 2^order pages, publishes them and goes to fe_state (3 or 4). */
void bbf_connect(struct bbfront *f, unsigned nq, unsigned order, bool persistent, int fe_state);
/* Writes the frontend's state. */
void bbf_fe_state(struct bbfront *f, int state);
/* Puts a request in queue q's next slot, pushes, notifies. */
void bbf_push(struct bbfront *f, unsigned q, const blkif_request_t *req);
/* Waits for queue q's next response; 0 or -1 after ms. */
int bbf_wait_rsp(struct bbfront *f, unsigned q, blkif_response_t *rsp, int ms);
/* One read or write of nsect sectors (<= 8) between sector and the data page pfn. */
int bbf_rw(struct bbfront *f, unsigned q, int op, uint64_t sector, uint64_t pfn, unsigned nsect);
/* The Mini-OS close: 5, wait backend >= 5; 6, wait backend 6. */
void bbf_close(struct bbfront *f);
/* What xl's detach does: online=0 and backend state 5, then waits for 6. */
int bbf_detach(struct bbfront *f, int ms);

#endif
