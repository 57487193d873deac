/* What domain.c and the ring transport (ring.c) share. */
#ifndef XENSTORED_DOMAIN_H
#define XENSTORED_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <xen/io/xs_wire.h>

struct conn;
struct event;

/* An introduced guest: its ring page, its event channel, its connection. */
struct domain {
	LIST_ENTRY(domain) d_link;
	uint32_t d_domid;
	struct conn *d_conn;
	struct xenstore_domain_interface *d_intf;
	uint64_t d_mfn;
	uint32_t d_remote_port;
	int d_local_port;		/* -1: none */
	struct event *d_ev;
	uint32_t d_target;
	bool d_shutdown_reported;
	int d_pidfd;			/* the guest's process, -1: none (checked at every VIRQ) */
	struct event *d_pid_ev;		/* on d_pidfd, or the timer that opens it after INTRODUCE */
	bool d_exited;			/* its process ended before hvd said why */
	LIST_ENTRY(domain) d_check_link;	/* on the list VIRQ_DOM_EXC checks */
	bool d_check;
};

/* Signals the guest's event channel. */
void domain_notify(struct domain *d);
/* The connection that speaks the wire protocol over d's ring. */
struct conn *ring_conn_new(struct domain *d);

#endif
