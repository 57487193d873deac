/*
 * The guest kernel of the blkback tests: the test (dom0) plays blkfront on
 * this domain's memory, and we only relay events, as a guest's event-channel
 * upcall would: "doorbell=D ports=P1,P2,..." on the command line; an event
 * from the test on D is sent to every Pi (the vbd queues' ports the test
 * allocated in our space), an event from blkback on any Pi goes back on D.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_elfnote.h"
#include "libhv.h"

HV_GUEST_ELFNOTE();

#define BBGUEST_MAX_PORTS 16

/* Relays events between the test's doorbell and the vbd ports, forever. */
int
main(void)
{
	const struct hv_guest_info *gi;
	struct hv_evtchn *xce;
	struct hv *hv;
	const char *bell_arg, *ports_arg;
	int bell, ports[BBGUEST_MAX_PORTS], nports = 0, port;
	char *p;

	if ((hv = hv_open_guest()) == NULL || (gi = hv_guest_info(hv)) == NULL)
		return 1;
	bell_arg = strstr((const char *)gi->start_info->cmd_line, "doorbell=");
	ports_arg = strstr((const char *)gi->start_info->cmd_line, "ports=");
	if (bell_arg == NULL || ports_arg == NULL || (xce = hv_evtchn_open(hv)) == NULL)
		return 1;
	bell = hv_evtchn_bind_interdomain(xce, 0, strtoul(bell_arg + 9, NULL, 10));
	for (p = (char *)ports_arg + 6; nports < BBGUEST_MAX_PORTS && *p >= '0' && *p <= '9';) {
		if ((ports[nports++] = hv_evtchn_attach(xce, strtoul(p, &p, 10))) < 0)
			return 1;
		if (*p == ',')
			p++;
	}
	if (bell < 0)
		return 1;
	struct pollfd pfd = { .fd = hv_evtchn_fd(xce), .events = POLLIN };
	for (;;) {
		if (poll(&pfd, 1, -1) < 0)
			continue;
		while ((port = hv_evtchn_pending(xce)) >= 0) {
			if (port != bell) {
				hv_evtchn_notify(xce, bell);
				continue;
			}
			for (int i = 0; i < nports; i++)
				hv_evtchn_notify(xce, ports[i]);
		}
	}
}
