/*
 * umlshim: boots the runtime, connects the domain's disks, serves them to
 * UML through /vbd, bridges its console, then runs it until it stops and
 * turns that into the domain's shutdown (shim.h has the picture).
 *
 * The command line is the domain's (root=, extra=), with one token of the
 * toolstack's own: pvshim.payload=PATH, the UML binary hvd bound into the root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_elfnote.h"
#include "hv_proto.h"
#include "shim.h"

HV_GUEST_ELFNOTE();
HV_GUEST_SANDBOX_ELFNOTE("uml");

#define SHIM_DISKS_MS	30000

/* The value of pvshim.payload= on the command line, or NULL. */
static char *
shim_payload(const char *cmdline)
{
	const char *p = strstr(cmdline, "pvshim.payload=");

	if (p == NULL)
		return NULL;
	p += strlen("pvshim.payload=");
	return strndup(p, strcspn(p, " "));
}

static _Noreturn void
shim_fail(struct shim *s, const char *what)
{
	console_printf(s->s_g->g_cons, "umlshim: %s: %s\n", what, strerror(errno));
	guest_shutdown(s->s_g, SHUTDOWN_crash);
}

int
main(void)
{
	static struct guest g;
	static struct shim s;
	const char *fusefd = getenv(HV_GUEST_FUSE_FD_ENV);
	char *payload;
	int consfd;

	if (guest_boot(&g) < 0)
		return 1;
	s.s_g = &g;
	payload = shim_payload((const char *)g.g_start.cmd_line);
	if (payload == NULL || fusefd == NULL) {
		errno = EINVAL;
		shim_fail(&s, payload ? "no /vbd from hvd (profile uml)" : "no pvshim.payload=");
	}
	console_printf(g.g_cons, "umlshim: domain %u, %s\n", g.g_domid, payload);
	if (shim_control_init(&s) < 0)
		shim_fail(&s, "control/shutdown");
	if (shim_disks_init(&s, SHIM_DISKS_MS) < 0)
		shim_fail(&s, "disks");
	if (shim_net_init(&s, SHIM_DISKS_MS) < 0)
		shim_fail(&s, "network");
	/* UML must never hold the FUSE device: a kernel blocked on /vbd would then
	 * keep its own server's connection alive and could not die */
	if (fcntl(atoi(fusefd), F_SETFD, FD_CLOEXEC) < 0 || shim_fuse_init(&s, atoi(fusefd)) < 0)
		shim_fail(&s, "/vbd");
	if ((consfd = shim_cons_init(&s)) < 0)
		shim_fail(&s, "console");
	if (shim_uml_start(&s, payload, (const char *)g.g_start.cmd_line, consfd) < 0)
		shim_fail(&s, payload);
	free(payload);
	for (;;) {
		if (events_loop_once(g.g_ev, 1000) < 0 && errno != EINTR)
			shim_fail(&s, "event loop");
		xenbus_dispatch_watches(g.g_xb);
		shim_cons_in(&s);
		shim_uml_check(&s);
	}
}
