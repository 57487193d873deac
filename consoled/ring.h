/*
 * The console ring of xen/io/console.h, seen from the backend: we consume the
 * guest's "out" ring and produce into its "in" ring. Every index is read once
 * from the shared page into private memory and checked before use.
 */
#ifndef PVSTACK_CONSOLED_RING_H
#define PVSTACK_CONSOLED_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>
#include <xen/io/console.h>

#define RING_OUT_SIZE	sizeof(((struct xencons_interface *)0)->out)
#define RING_IN_SIZE	sizeof(((struct xencons_interface *)0)->in)

/*
 * Copies at most max bytes of guest output into buf and advances out_cons.
 * Returns the count (0 when empty); -1 with EPROTO when the guest's indices
 * are impossible, in which case out_cons is resynchronised to out_prod.
 */
ssize_t ring_out_consume(struct xencons_interface *intf, char *buf, size_t max);
/* Bytes of guest output waiting; -1 with EPROTO when the indices are impossible. */
ssize_t ring_out_pending(const struct xencons_interface *intf);
/* Free bytes in the in ring; -1 with EPROTO (in_prod reset to in_cons). */
ssize_t ring_in_space(struct xencons_interface *intf);
/* Copies as much of buf as fits into the in ring; returns the count or -1 EPROTO. */
ssize_t ring_in_produce(struct xencons_interface *intf, const char *buf, size_t len);

#endif
