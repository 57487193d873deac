/*
 * A private pvstack for integration tests, written once for the new suites:
 * a fresh mkdtemp RUNDIR (PVSTACK_RUNDIR is set for the test process too),
 * hvd and xenstored, then the daemons asked for, each in the foreground with
 * its log in <rundir>/<name>.log and PR_SET_PDEATHSIG so none outlives a
 * crashed test; stack_stop ends them (SIGTERM, then SIGKILL after 5 s) and
 * removes the RUNDIR (kept when $PVSTACK_TEST_KEEP is set).
 */
#ifndef PVSTACK_TEST_STACK_H
#define PVSTACK_TEST_STACK_H

#include <sys/types.h>

struct hv;
struct xs;

enum stack_daemon { STACK_HVD, STACK_XENSTORED, STACK_CONSOLED, STACK_BLKBACK, STACK_NETBACK,
    STACK_NDAEMONS };

#define STACK_WITH(d)	(1u << (d))

struct stack {
	char s_rundir[64];
	pid_t s_pid[STACK_NDAEMONS];
	struct hv *s_hv;		/* dom0 connection to the stack's hvd */
	struct xs *s_xs;		/* and to its xenstored */
};

/* A built program, relative to the build root ("blkback/blkback"). */
const char *stack_prog(const char *rel);
/* Whether hvd, xenstored and the asked daemons are built. */
int stack_have(unsigned with);
/* hvd, xenstored and the daemons in with (STACK_WITH(STACK_BLKBACK) | ...); tag names the rundir. */
void stack_start(struct stack *s, const char *tag, unsigned with);
/* Starts one daemon (again) with its usual arguments. */
void stack_spawn(struct stack *s, enum stack_daemon d);
/* SIGTERM, reap; the wait status (SIGKILL after 5 s). */
int stack_kill(struct stack *s, enum stack_daemon d);
void stack_stop(struct stack *s);
/* Monotonic milliseconds. */
long long stack_now_ms(void);
/* Reads a xenstore node of the stack (malloc'd, NULL when absent). */
char *stack_xs_read(struct stack *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits up to ms for the node to read want; 0 or -1. */
int stack_xs_wait(struct stack *s, const char *path, const char *want, int ms);

#endif
