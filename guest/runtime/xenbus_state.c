#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "xenbus.h"

/* Tokens of our own state waits, unique per wait. */
static unsigned xenbus_state_seq;

/* For messages: XenbusState names as in xenbus.h. */
const char *
xenbus_state_name(XenbusState state)
{
	static const char *const names[] = {
		"Unknown", "Initialising", "InitWait", "Initialised", "Connected",
		"Closing", "Closed", "Reconfiguring", "Reconfigured",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "Invalid";
}

XenbusState
xenbus_read_state(struct xenbus *xb, xenbus_tx_t tx, const char *dir)
{
	char path[512];
	long v;

	snprintf(path, sizeof(path), "%s/state", dir);
	if (xenbus_read_long(xb, tx, path, &v) < 0 || v < XenbusStateUnknown ||
	    v > XenbusStateReconfigured)
		return XenbusStateUnknown;
	return (XenbusState)v;
}

/* Publishes our side's state. */
int
xenbus_switch_state(struct xenbus *xb, xenbus_tx_t tx, const char *dir, XenbusState state)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/state", dir);
	return xenbus_printf(xb, tx, path, "%d", (int)state);
}

/* Watch first, then read, so a change between the two is not missed. */
int
xenbus_wait_for_state(struct xenbus *xb, const char *dir, XenbusState lo, XenbusState hi,
    int timeout_ms, XenbusState *got)
{
	char path[512], token[32];
	long long deadline = timeout_ms < 0 ? -1 : events_now_ms() + timeout_ms;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(token, sizeof(token), "xbstate-%u", ++xenbus_state_seq);
	if (xenbus_watch(xb, path, token, NULL, NULL) < 0)
		return -1;
	for (;;) {
		XenbusState st = xenbus_read_state(xb, XENBUS_TX_NONE, dir);
		if (got != NULL)
			*got = st;
		if (st >= lo && st <= hi) {
			rc = 0;
			break;
		}
		int left = -1;
		if (deadline >= 0) {
			long long now = events_now_ms();
			left = now >= deadline ? 0 : (int)(deadline - now);
		}
		if (left == 0 || xenbus_wait_event(xb, token, left) < 0) {
			errno = ETIMEDOUT;
			break;
		}
	}
	int saved = errno;
	xenbus_unwatch(xb, path, token);
	errno = saved;
	return rc;
}
