/* A private hvd + xenstored + consoled for the consoled integration tests,
 * and a "guest" played by the test through the console page it maps. */
#ifndef PVSTACK_TEST_CONSOLED_STACK_H
#define PVSTACK_TEST_CONSOLED_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>
#include <xen/io/console.h>

struct hv;
struct hv_evtchn;
struct xs;

struct stack {
	char st_rundir[64];
	pid_t st_hvd, st_xsd, st_cd;
	struct hv *st_hv;
	struct hv_evtchn *st_xce;
	struct xs *st_xs;
};

struct tguest {
	uint32_t g_domid;
	struct xencons_interface *g_intf;
	int g_bell;		/* our end of the doorbell, -1 without a guest process */
	int g_con_port;		/* guest-side console port */
	int g_store_port;
	char g_name[32];
	const char *g_type;	/* console/type tguest_publish writes */
};

extern struct stack st;

/* Paths of the built programs: the build root comes from meson. */
const char *stack_prog(const char *rel);
int stack_have_daemons(void);
/* Starts the three daemons; extra1, extra2: more consoled arguments, or NULL. */
void stack_start(const char *extra1, const char *extra2);
/* SIGTERM to consoled (asserting a clean exit), then a new one. */
void stack_restart_consoled(void);
/* SIGTERM to each; asserts consoled exited 0. */
void stack_stop(void);

/* Creates a domain; with run, builds the doorbell relay guest and unpauses it. */
void tguest_create(struct tguest *g, const char *name, int run);
/* Writes the console nodes (limit 0: none) and introduces the domain. */
void tguest_publish(struct tguest *g, unsigned limit);
/* Plays the guest: puts data in the out ring, ringing the doorbell, waiting for room. */
void tguest_write(struct tguest *g, const void *data, size_t len);
void tguest_ring(struct tguest *g);
/* Waits (ms) for console/tty; malloc'd path or NULL. */
char *tguest_tty(struct tguest *g, int ms);
/* Destroys the domain and removes its xenstore home, as xl destroy would. */
void tguest_destroy(struct tguest *g);

/* Reads from fd until needle was seen or ms passed; the bytes read (malloc'd). */
char *read_until(int fd, const char *needle, int ms, size_t *got);
long now_ms(void);

#endif
