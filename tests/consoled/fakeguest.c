/*
 * A guest kernel for the consoled integration test that does nothing but
 * relay doorbells: the test (dom0) writes the console page itself and rings
 * a port it shares with us ("doorbell=N" on the command line); we notify the
 * console port, and forward consoled's notifications back the same way.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_elfnote.h"
#include "libhv.h"

HV_GUEST_ELFNOTE();

int
main(void)
{
	const struct hv_guest_info *gi;
	struct hv_evtchn *xce;
	struct hv *hv;
	const char *arg;
	int con, bell, port;
	struct pollfd pfd;

	if ((hv = hv_open_guest()) == NULL || (gi = hv_guest_info(hv)) == NULL)
		return 1;
	arg = strstr((const char *)gi->start_info->cmd_line, "doorbell=");
	if (arg == NULL || (xce = hv_evtchn_open(hv)) == NULL)
		return 1;
	con = hv_evtchn_attach(xce, gi->start_info->console.domU.evtchn);
	bell = hv_evtchn_bind_interdomain(xce, 0, strtoul(arg + 9, NULL, 10));
	if (con < 0 || bell < 0)
		return 1;
	pfd.fd = hv_evtchn_fd(xce);
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, -1) < 0)
			continue;
		while ((port = hv_evtchn_pending(xce)) >= 0)
			hv_evtchn_notify(xce, port == bell ? con : bell);
	}
}
