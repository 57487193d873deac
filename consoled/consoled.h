/*
 * consoled: the console backend daemon (xenconsoled's job). One libevent
 * loop; one struct condom per domain, found through @introduceDomain, its
 * death seen on its process's pidfd (or asked about at @releaseDomain and
 * VIRQ_DOM_EXC when no process is watched), configured through a watch on
 * its console directory.
 */
#ifndef PVSTACK_CONSOLED_H
#define PVSTACK_CONSOLED_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "cbuf.h"
#include "conpty.h"
#include "domtab.h"

struct event;
struct event_base;
struct hv;
struct hv_evtchn;
struct xs;
struct conlog;

#define CONSOLED_LOG_GUEST	1
#define CONSOLED_LOG_HV		2

/* Rate limit, as xenconsoled: this many events in a period masks the port
 * until the period ends (--rate-limit changes the count, 0 turns it off). */
#define CONSOLED_RATE_EVENTS	30
#define CONSOLED_RATE_PERIOD_MS	200

/* With the buffer at its bound, a pty that took output this recently has a
 * reader: the guest waits for it instead of losing output. Past it, nobody
 * reads and the buffer drops its middle. */
#define CONSOLED_READER_GRACE_MS	1000

struct condom;
TAILQ_HEAD(condom_list, condom);

struct consoled {
	struct event_base *cd_base;
	struct hv *cd_hv;
	struct hv_evtchn *cd_xce;
	struct xs *cd_xs;
	struct event *cd_xs_ev;		/* xenstore socket readable */
	struct event *cd_xs_tick;	/* safety net for events queued by sync calls */
	struct event *cd_scan_ev;	/* one domain scan per loop turn, however many asked */
	int cd_want_new;		/* @introduceDomain came: look for new domains */
	int cd_want_check;		/* a death was announced: check the suspects */
	struct domtab cd_byid;		/* tracked domains by domid */
	uint32_t cd_hi;			/* highest domid tracked: newer ones come above it */
	struct condom_list cd_suspects;	/* no process watched: a death must be asked about */
	struct event *cd_hup_ev;
	struct event *cd_virq_ev;	/* VIRQ_DOM_EXC */
	int cd_virq_port;
	struct event *cd_hvlog_ev;
	struct conlog *cd_hvlog;
	char *cd_hvlog_seen;		/* last hypervisor console text logged */
	struct condom_list cd_doms;
	unsigned cd_log;		/* CONSOLED_LOG_* */
	unsigned cd_stamp;		/* CONSOLED_LOG_*: which logs get timestamps */
	const char *cd_log_dir;
	unsigned cd_rate_events;	/* allowance per period; 0: no limit */
	int cd_lost;			/* xenstored went away: exit non-zero */
	struct conpty cd_spare;		/* a pty opened ahead for the next console (conpty.c) */
	struct event *cd_spare_ev;	/* opens the next spare */
};

struct condom {
	TAILQ_ENTRY(condom) dom_entry;
	struct consoled *dom_cd;
	uint32_t dom_domid;
	uint8_t dom_uuid[16];		/* tells a reused domid from the old domain */
	char dom_path[64];		/* /local/domain/N/console */
	char dom_token[32];		/* dom<N> */
	int dom_watching;
	int dom_skip_initial;		/* the watch's first event, which condom_new answered already */
	unsigned dom_skip_epoch;	/* xs_reconnects() then: a new connection's events all count */
	TAILQ_ENTRY(condom) dom_suspect_entry;
	int dom_suspect;		/* on cd_suspects */
	int dom_pidfd;			/* the guest's process, -1 when not watched */
	int dom_exited;			/* that process ended: never watched again */
	struct event *dom_pid_ev;

	int dom_up;			/* the fields below are live */
	uint64_t dom_mfn;
	uint32_t dom_remote_port;
	int dom_local_port;
	int dom_evtchn_fd;
	struct xencons_interface *dom_intf;
	int dom_master, dom_slave;
	char dom_tty[64];
	struct event *dom_evtchn_ev;
	struct event *dom_rd_ev;	/* pty master readable: input for the guest */
	struct event *dom_wr_ev;	/* pty master writable: output pending */
	struct event *dom_throttle_ev;	/* end of a rate-limit period */
	struct event *dom_inpoll_ev;	/* the in ring was full: look again */
	struct event *dom_stall_ev;	/* a reader stopped reading: give up waiting */
	int dom_stalled;		/* ring left full: a reader is behind */
	struct timeval dom_progress;	/* the pty last took output */
	struct cbuf dom_buf;
	struct conlog *dom_log;
	struct timeval dom_period;	/* start of the current rate period */
	unsigned dom_events;
	int dom_throttled;
	unsigned long dom_corrupt;	/* corrupt index sightings, for the log */
};

/* condom.c */
struct condom *condom_new(struct consoled *cd, uint32_t domid, const uint8_t uuid[16]);
/* Tears the console down and stops watching; gone says the domain died. */
void condom_free(struct condom *dom, int gone);
/* Re-reads the console directory and sets up, keeps, or tears down. */
void condom_refresh(struct condom *dom);
/* Whether a watch event on path can change the console's set-up (a refresh is five reads). */
int condom_event_matters(struct condom *dom, const char *path);
/* SIGHUP: reopen the guest log. */
void condom_reopen_log(struct condom *dom);

/* domains.c */
int domains_start(struct consoled *cd);
void domains_stop(struct consoled *cd);

/* hvlog.c */
int hvlog_start(struct consoled *cd);
void hvlog_stop(struct consoled *cd);

#endif
