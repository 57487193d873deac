/* In-process fake connections on xenstored's core: a guest (unprivileged,
 * any domid) or dom0, speaking the wire format through memory buffers. */
#ifndef XST_MEM_H
#define XST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenstored.h"
#include "xst.h"

struct xg {
	struct conn *g_conn;
	char *g_in;
	size_t g_in_len, g_in_off;
	char *g_out;
	size_t g_out_len, g_out_off;
	bool g_blocked;		/* the "guest" stops consuming replies */
	bool g_limited;		/* it takes only g_room more bytes, then blocks */
	size_t g_room;
};

void xg_init_store(void);
struct xg *xg_new(uint32_t domid, bool priv);
void xg_send(struct xg *g, uint32_t type, uint32_t tx, const void *p, size_t len);
/* The next message the daemon wrote, or -1. */
int xg_next(struct xg *g, struct xst_msg *m);
/* Sends and returns the reply; events before it are kept for xg_event. */
void xg_call(struct xg *g, uint32_t type, uint32_t tx, const void *p, size_t len,
    struct xst_msg *m);
const char *xg_str(struct xg *g, uint32_t type, uint32_t tx, const char *a, const char *b,
    struct xst_msg *m);
/* Next event "path token", or NULL. */
const char *xg_event(struct xg *g);

#endif
