/*
 * xenstore messages as they travel on the ring: struct xsd_sockmsg and at most
 * XENSTORE_PAYLOAD_MAX bytes of payload, exactly as on xenstored's socket.
 * Building requests, reassembling replies from the ring, splitting payloads.
 * Pure code over memory, unit-tested without a hypervisor.
 */
#ifndef PVGUEST_XB_MSG_H
#define PVGUEST_XB_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/io/xs_wire.h>

#include "byte_ring.h"

struct xb_msg {
	struct xsd_sockmsg xm_hdr;
	char xm_body[XENSTORE_PAYLOAD_MAX + 1];	/* + a NUL we add for callers */
};

/* Header plus payload bytes. */
size_t xb_msg_size(const struct xb_msg *m);
/*
 * Fills m: each of the nstr strings with its NUL, then rawlen raw bytes
 * (a write's value, no NUL). -1 E2BIG past XENSTORE_PAYLOAD_MAX.
 */
int xb_msg_build(struct xb_msg *m, uint32_t type, uint32_t req_id, uint32_t tx_id,
    const char *const *strs, unsigned nstr, const void *raw, size_t rawlen);
/* errno for an XS_ERROR reply ("ENOENT\0" -> ENOENT; unknown names -> EINVAL). */
int xb_msg_errno(const struct xb_msg *m);
/* "ENOENT" for ENOENT: the daemon's name for an errno, "EINVAL" if none. */
const char *xb_msg_errname(int err);
/*
 * Splits a payload of NUL-terminated strings into a NULL-terminated vector,
 * one allocation; *num gets the count. A trailing piece without its NUL
 * counts as a string. Never NULL.
 */
char **xb_msg_split(const char *buf, size_t len, unsigned *num);

/* Reassembly of one incoming message from the response ring. */
struct xb_rx {
	struct xb_msg xr_msg;
	size_t xr_have;		/* bytes of xr_msg received */
};

void xb_rx_reset(struct xb_rx *rx);
/*
 * Pulls what the ring holds towards the current message. 1: xr_msg is
 * complete (NUL added after the payload; reset before the next one);
 * 0: more bytes needed; -1 EIO (corrupt ring) or EPROTO (oversized message).
 */
int xb_rx_pull(struct xb_rx *rx, const struct byte_ring *r);

#endif
