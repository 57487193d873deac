/* hvd's side of the maptrack (hv/hv_maptrack.h): made per domain on first
 * request, a slot per connection that asks, given back when it closes. */
#ifndef PVSTACK_HVD_MAPTRACK_H
#define PVSTACK_HVD_MAPTRACK_H

#include <stdint.h>

struct hvd_conn;
struct hvd_domain;

/* The connection's slot in d's maptrack (the same on every call) and the memfd (hvd's). */
int hvd_maptrack_attach(struct hvd_domain *d, struct hvd_conn *c, uint32_t *slot, int *fd,
    uint32_t *nr_refs, uint64_t *size);
/* The connection closed: the pins of its slots go (GTF bits clear with the last pin). */
void hvd_maptrack_conn_gone(struct hvd_conn *c);
/* The domain is destroyed: its maptrack goes (mappers keep their own mapping of it). */
void hvd_maptrack_domain_gone(struct hvd_domain *d);

/* hvd_conn.c: a lease connection keeps only the rights of an unprivileged client. */
void hvd_conn_restrict(struct hvd_conn *c);

#endif
