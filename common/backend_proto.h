/*
 * The channel between a backend daemon and one of its device workers: a
 * SOCK_SEQPACKET socketpair made at fork, one message per request or event,
 * descriptors by SCM_RIGHTS (common/msg.h). The header is the same both ways;
 * the payload after it is the backend's own blob (blkback's config, netback's
 * rings), which only that backend's two halves interpret.
 *
 * Daemon to worker: CONFIG once (then the worker confines itself and says
 * READY), CONNECT / DISCONNECT any number of times, each answered by
 * CONNECTED / DISCONNECTED or FAIL. A worker sends FAIL unasked when its
 * device broke (a malformed ring): the daemon closes that device.
 */
#ifndef PVSTACK_BACKEND_PROTO_H
#define PVSTACK_BACKEND_PROTO_H

#include <stdint.h>

#define BACKEND_PROTO_VERSION	1
#define BACKEND_MSG_MAX		8192	/* header + blob */

enum backend_msg_type {
	/* daemon -> worker: 1..63 */
	BACKEND_MSG_CONFIG = 1,		/* blob: backend config; fds: what the worker may use */
	BACKEND_MSG_CONNECT = 2,	/* blob: rings; fds: event channel eventfds */
	BACKEND_MSG_DISCONNECT = 3,	/* stop, finish in-flight work, unmap */
	/* worker -> daemon: 64.. */
	BACKEND_MSG_READY = 64,		/* config taken, confined, loop running */
	BACKEND_MSG_CONNECTED = 65,
	BACKEND_MSG_DISCONNECTED = 66,
	BACKEND_MSG_FAIL = 67,		/* err = errno; blob: a NUL-terminated message */
};

struct backend_msg_hdr {
	uint16_t type;			/* enum backend_msg_type */
	uint16_t version;		/* BACKEND_PROTO_VERSION */
	uint32_t len;			/* blob bytes after the header */
	int32_t err;			/* FAIL: errno */
	uint32_t pad;
};

#endif
