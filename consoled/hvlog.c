/* --log=hv: copies the hypervisor console (hvd's ring, what `xl dmesg`
 * shows) into hypervisor.log, without clearing it for anybody else. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conlog.h"
#include "consoled.h"
#include "libhv.h"
#include "log.h"
#include "xmalloc.h"

#define HVLOG_POLL_MS	1000
#define HVLOG_OVERLAP	256	/* bytes of the last text used to find where new text starts */

/* The part of now that was not in seen: the ring may have wrapped since. */
static const char *
hvlog_new_text(const char *seen, const char *now)
{
	size_t slen = seen ? strlen(seen) : 0, olen;
	const char *tail, *hit, *last = NULL;

	if (slen == 0)
		return now;
	if (strncmp(now, seen, slen) == 0)
		return now + slen;
	olen = slen < HVLOG_OVERLAP ? slen : HVLOG_OVERLAP;
	tail = seen + slen - olen;
	for (hit = strstr(now, tail); hit; hit = strstr(hit + 1, tail))
		last = hit;
	return last ? last + olen : now;
}

/* Appends what hvd added to its console since the last look. */
static void
hvlog_poll(evutil_socket_t fd, short what, void *arg)
{
	struct consoled *cd = arg;
	const char *fresh;
	char *text;

	(void)fd;
	(void)what;
	text = hv_console_read(cd->cd_hv, 0);
	if (text == NULL)
		return;
	fresh = hvlog_new_text(cd->cd_hvlog_seen, text);
	if (*fresh && conlog_write(cd->cd_hvlog, fresh, strlen(fresh)) < 0)
		log_warn("hypervisor log");
	free(cd->cd_hvlog_seen);
	cd->cd_hvlog_seen = text;
}

/* --log=hv: open hypervisor.log and poll hvd once a second. */
int
hvlog_start(struct consoled *cd)
{
	struct timeval tv = { HVLOG_POLL_MS / 1000, (HVLOG_POLL_MS % 1000) * 1000 };
	char *path;

	xasprintf(&path, "%s/hypervisor.log", cd->cd_log_dir);
	cd->cd_hvlog = conlog_open(path, !!(cd->cd_stamp & CONSOLED_LOG_HV));
	if (cd->cd_hvlog == NULL) {
		log_warn("%s", path);
		free(path);
		return -1;
	}
	free(path);
	cd->cd_hvlog_ev = event_new(cd->cd_base, -1, EV_PERSIST, hvlog_poll, cd);
	if (cd->cd_hvlog_ev == NULL)
		fatalx("event_new");
	event_add(cd->cd_hvlog_ev, &tv);
	hvlog_poll(-1, 0, cd);
	return 0;
}

/* Closes hypervisor.log at exit. */
void
hvlog_stop(struct consoled *cd)
{
	if (cd->cd_hvlog_ev)
		event_free(cd->cd_hvlog_ev);
	cd->cd_hvlog_ev = NULL;
	conlog_close(cd->cd_hvlog);
	cd->cd_hvlog = NULL;
	free(cd->cd_hvlog_seen);
	cd->cd_hvlog_seen = NULL;
}
