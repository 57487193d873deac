/*
 * A small xenstore served by the test itself on a guest's ring, so the guest
 * runtime's client is tested against the wire format without xenstored:
 * flat nodes, relative paths, watches with their initial event, transactions
 * applied at once (gs_eagain refuses commits to make the client retry), and only the guest's own home writable or readable.
 */
#ifndef PVSTACK_GT_STORE_H
#define PVSTACK_GT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#include "xb_msg.h"

#define GT_STORE_NODES 128
#define GT_STORE_WATCHES 16

struct gt_store {
	uint32_t gs_domid;
	char gs_home[32];
	struct xenstore_domain_interface *gs_intf;
	struct byte_ring gs_req;
	struct byte_ring gs_rsp;
	struct xb_rx gs_rx;
	struct { char path[256]; char value[XENSTORE_PAYLOAD_MAX + 1]; } gs_nodes[GT_STORE_NODES];
	unsigned gs_nnodes;
	struct { char path[256]; char token[64]; } gs_watches[GT_STORE_WATCHES];
	unsigned gs_nwatches;
	unsigned gs_requests;
	uint32_t gs_last_req_id;
	int gs_dup_req_ids;		/* req_ids seen twice in a row */
	int gs_eagain;			/* commits still to refuse with EAGAIN */
	unsigned gs_commits;		/* TRANSACTION_END requests */
	bool gs_unsent;			/* messages put on the ring since the last notify */
	void (*gs_kick)(void *arg);	/* notifies the guest (a message larger than the ring) */
	void *gs_kick_arg;
};

void gt_store_init(struct gt_store *s, uint32_t domid, void *ring);
/* Answers every whole request on the ring; returns how many. */
int gt_store_serve(struct gt_store *s);
/* The value at an absolute path, or NULL. */
const char *gt_store_get(struct gt_store *s, const char *path);
/* Sets a node as the toolstack would, firing watches (the harness notifies). */
void gt_store_set(struct gt_store *s, const char *path, const char *value);

#endif
