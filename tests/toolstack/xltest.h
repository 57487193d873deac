/* Helpers for the xl integration tests: a private stack per test (its own
 * PVSTACK_RUNDIR from mkdtemp), configs, running xl, reading xenstore. */
#ifndef PVSTACK_XLTEST_H
#define PVSTACK_XLTEST_H

#include <sys/types.h>

struct xlt {
	char xt_dir[64];	/* the private RUNDIR, also holding configs */
};

/* Starts hvd, xenstored and consoled with xencommons in a fresh RUNDIR. */
void xlt_start(struct xlt *t);
/* xlt_start without the backends named in skip ("blkback netback"), which the test plays or
 * does not need. */
void xlt_start_skip(struct xlt *t, const char *skip);
/* Stops the stack and removes the RUNDIR. */
void xlt_stop(struct xlt *t);
/* Writes <dir>/<name>.cfg for pvguest with name = <name> plus extra lines; returns its path. */
char *xlt_cfg(struct xlt *t, const char *name, const char *extra);
/* xl create of a fresh config (xlt_cfg); asserts it succeeds. */
void xlt_create(struct xlt *t, const char *name, const char *extra);
/* Whether the guest answers `echo token` at its console (xl console, through consoled). */
int xlt_console_works(const char *name, const char *token);
/* A daemon's pid from its xencommons pid file ("hvd"), or -1. */
pid_t xlt_daemon_pid(struct xlt *t, const char *daemon);
/* Runs a shell command (xl is $XL) with stdout+stderr captured; returns the exit status. */
int xlt_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The domid of a domain name, or -1. */
int xlt_domid(const char *name);
/* Reads a xenstore node (NULL when absent). */
char *xlt_xs_read(const char *path);
/* Pid of the guest program of domid (from hvd), or -1. */
pid_t xlt_guest_pid(int domid);
/* Number of domains hvd knows (dom0 included). */
int xlt_nr_domains(void);
/* Waits up to ms for cond(domid, name) to hold; polls every 20 ms. */
int xlt_wait(int ms, int (*cond)(const char *arg), const char *arg);
/* The text of the monitor log for a domain name. */
char *xlt_monitor_log(struct xlt *t, const char *name);
/* Counts open fds of a daemon by pid file name ("hvd"). */
int xlt_daemon_fds(struct xlt *t, const char *daemon);

#endif
