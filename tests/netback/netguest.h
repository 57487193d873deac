/*
 * What the guest-driven network tests share: pvguests created by xl with
 * their consoles on ptys, commands typed on those consoles, shell commands,
 * and dom0's own ping (a raw ICMP socket: the host may have no ping program).
 * Assertions inside (Criterion), so a test reads as its steps.
 */
#ifndef PVSTACK_TESTS_NETGUEST_H
#define PVSTACK_TESTS_NETGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NG_PROMPT "pvguest# "

struct ng_con {
	pid_t c_pid;			/* xl create -c, holding the console; -1: none */
	int c_fd;
	char c_out[1 << 17];
	size_t c_len;
};

struct stack;

/* The network namespace of a test's own (made here, it goes with the test's
 * process), a bridge xenbr0 holding cidr in it, a private stack with consoled
 * and netback, and xl set up to use them. */
void ng_start(struct stack *s, const char *name, const char *cidr);
/* xenbr0 up in the current namespace, holding cidr (dom0's address). */
void ng_bridge(const char *cidr);
/* xl and the daemons read s's xl.conf and the source tree's hotplug scripts;
 * $XL names xl for ng_sh. */
void ng_env(struct stack *s);
/* Asserts that needle is in text, showing text when not. */
void ng_expect_in(const char *text, const char *needle);
/* Runs a shell command; its exit status, its output (both streams) in *o. */
int ng_sh(char **o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a console until needle shows after from; false after ms. */
bool ng_con_wait(struct ng_con *c, const char *needle, size_t from, int ms);
/* Types a line on a guest's console; what came until the next prompt. */
const char *ng_run(struct ng_con *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes <dir>/<name>.cfg (pvguest, 32 MiB, the vif entries given) and
 * creates the guest with its console on c, up to its prompt. */
void ng_boot(struct ng_con *c, const char *dir, const char *name, const char *vifs);
/* Ends the xl holding the console (the domain is destroyed separately). */
void ng_con_close(struct ng_con *c);
/* dom0 pings addr count times; the replies that came back, each within 2 s. */
int ng_dom0_ping(const char *addr, int count);
/* The last "frames n fps f Mbit/s m" line of an output: its Mbit/s, and n. */
double ng_mbits(const char *out, unsigned long long *frames);

#endif
