/* The daemon's tap and link set-up: nbtap.c (the device), nblink.c (libnl-route). */
#ifndef PVSTACK_NBTAP_H
#define PVSTACK_NBTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates tap name with nq queues (fds[0..nq-1], non-blocking); err says why not. */
int nbtap_create(const char *name, unsigned nq, int *fds, char *err, size_t errlen);
/* Whether name may name an interface (and a script's argument). */
bool nbtap_name_ok(const char *name);
/* What the kernel may hand us: partial checksums, TCPv4 GSO (as the frontend takes them). */
int nbtap_offload(int fd, bool csum, bool tso4);
/* Attaches or detaches one queue of a multi-queue tap. */
int nbtap_queue(int fd, bool attach);

/*
 * The tap's MAC (NETBACK_TAP_MAC), MTU, its bridge and IFF_UP, in one
 * netlink change. A missing bridge, or one that is not a bridge, is an error
 * naming it (with how to create xenbr0 when that is the one missing).
 */
int nblink_setup(const char *tap, const char *bridge, unsigned mtu, char *err, size_t errlen);

#endif
