/* Xen's ring macros (xen/io/ring.h) need the includer to supply memory barriers;
 * every pvstack file that touches a shared ring includes this instead. */
#ifndef PVSTACK_XEN_RING_H
#define PVSTACK_XEN_RING_H

#include <stdatomic.h>
#include <string.h>

#ifndef mb
#define mb()  atomic_thread_fence(memory_order_seq_cst)
#define rmb() atomic_thread_fence(memory_order_acquire)
#define wmb() atomic_thread_fence(memory_order_release)
#endif

#include <xen/xen.h>
#include <xen/io/ring.h>

#endif
