/*
 * umlshim: boots the runtime, connects the domain's disks, serves them to
 * UML as virtio-blk devices, bridges its console, then runs it until it
 * stops and turns that into the domain's shutdown (shim.h has the picture).
 *
 * The command line is the domain's (root=, extra=), with tokens of the
 * toolstack's own: pvshim.payload=PATH, the UML binary hvd bound into the root,
 * pvshim.preload= (shim_uml.c), and pvshim.init= and pvshim.virtio_blk=, the
 * initramfs's /init and UML's module, bound there too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_elfnote.h"
#include "shim.h"

HV_GUEST_ELFNOTE();
HV_GUEST_SANDBOX_ELFNOTE("uml");

#define SHIM_DISKS_MS	30000
#define SHIM_INITRD	"/tmp/initrd"	/* in the domain's private /tmp */

/* The value of the toolstack's token key (with its '=') on the command line, or NULL. */
static char *
shim_arg(const char *cmdline, const char *key)
{
	const char *p = strstr(cmdline, key);

	if (p == NULL)
		return NULL;
	p += strlen(key);
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
	const char *cmdline;
	char *payload, *init, *vblk;
	int consfd;

	if (guest_boot(&g) < 0)
		return 1;
	s.s_g = &g;
	cmdline = (const char *)g.g_start.cmd_line;
	payload = shim_arg(cmdline, "pvshim.payload=");
	init = shim_arg(cmdline, "pvshim.init=");
	vblk = shim_arg(cmdline, "pvshim.virtio_blk=");
	if (payload == NULL || init == NULL || vblk == NULL) {
		errno = EINVAL;
		shim_fail(&s, payload == NULL ? "no pvshim.payload=" :
		    "no initramfs pieces (pvshim.init=, pvshim.virtio_blk=): is UML's "
		    "virtio_blk.ko installed?");
	}
	console_printf(g.g_cons, "umlshim: domain %u, %s\n", g.g_domid, payload);
	if (shim_control_init(&s) < 0)
		shim_fail(&s, "control/shutdown");
	if (shim_disks_init(&s, SHIM_DISKS_MS) < 0)
		shim_fail(&s, "disks");
	if (shim_net_init(&s, SHIM_DISKS_MS) < 0)
		shim_fail(&s, "network");
	if (shim_vblk_init(&s) < 0)
		shim_fail(&s, "virtio-blk sockets");
	if (shim_initrd_make(&s, SHIM_INITRD, init, vblk) < 0)
		shim_fail(&s, "initramfs");
	if ((consfd = shim_cons_init(&s)) < 0)
		shim_fail(&s, "console");
	if (shim_uml_start(&s, payload, cmdline, consfd, SHIM_INITRD) < 0)
		shim_fail(&s, payload);
	free(payload);
	free(init);
	free(vblk);
	for (;;) {
		if (events_loop_once(g.g_ev, 1000) < 0 && errno != EINTR)
			shim_fail(&s, "event loop");
		shim_vblk_round(&s);
		xenbus_dispatch_watches(g.g_xb);
		shim_cons_in(&s);
		shim_uml_check(&s);
	}
}
