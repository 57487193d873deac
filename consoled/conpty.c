/*
 * Raw ptys for the consoles, one kept open ahead. Opening one (/dev/ptmx,
 * unlock, the slave, its termios) costs ~0.25 ms here, paid between a new
 * domain's introduction and console/tty, which `xl create -c` waits for
 * before it unpauses the guest. The spare is taken there instead, and the
 * next one opened a little later, when the new console's first output has
 * gone by, or when a console closes (the daemon then holds as many ptys as
 * before that console came). A spare is a pty like any other: fresh, never used, its own
 * slave held open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "conpty.h"
#include "consoled.h"
#include "log.h"

/* How long after a take the next spare is opened. */
#define CONPTY_REFILL_MS	20

/* Opens a raw pty: a nonblocking master and its open slave. */
int
conpty_open(struct conpty *p)
{
	struct termios tio;

	p->cp_master = p->cp_slave = -1;
	p->cp_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->cp_master < 0 || grantpt(p->cp_master) < 0 || unlockpt(p->cp_master) < 0 ||
	    ptsname_r(p->cp_master, p->cp_name, sizeof(p->cp_name)) != 0)
		goto fail;
	p->cp_slave = open(p->cp_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->cp_slave < 0 || tcgetattr(p->cp_slave, &tio) < 0)
		goto fail;
	cfmakeraw(&tio);
	if (tcsetattr(p->cp_slave, TCSANOW, &tio) < 0 ||
	    fcntl(p->cp_master, F_SETFL, fcntl(p->cp_master, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	return 0;
fail:
	conpty_close(p);
	return -1;
}

/* Closes both ends (either may be -1). */
void
conpty_close(struct conpty *p)
{
	int saved = errno;

	if (p->cp_slave >= 0)
		close(p->cp_slave);
	if (p->cp_master >= 0)
		close(p->cp_master);
	p->cp_master = p->cp_slave = -1;
	errno = saved;
}

/* A new spare, unless one is there: from the timer, and when a console closes. */
void
conpty_spare_refill(struct consoled *cd)
{
	if (cd->cd_spare_ev != NULL && cd->cd_spare.cp_master < 0 &&
	    conpty_open(&cd->cd_spare) < 0)
		log_warn("spare pty");
}

/* The refill timer's callback. */
static void
conpty_refill(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conpty_spare_refill(arg);
}

/* Opens the first spare; without one every console opens its own. */
void
conpty_spare_init(struct consoled *cd)
{
	cd->cd_spare.cp_master = cd->cd_spare.cp_slave = -1;
	if ((cd->cd_spare_ev = evtimer_new(cd->cd_base, conpty_refill, cd)) == NULL)
		fatalx("evtimer_new");
	conpty_refill(-1, 0, cd);
}

/* Closes the spare. */
void
conpty_spare_fini(struct consoled *cd)
{
	if (cd->cd_spare_ev)
		event_free(cd->cd_spare_ev);
	cd->cd_spare_ev = NULL;
	conpty_close(&cd->cd_spare);
}

/* A pty for a console: the spare when there is one (the next one opened later), else a new one. */
int
conpty_take(struct consoled *cd, struct conpty *p)
{
	static const struct timeval later = { 0, CONPTY_REFILL_MS * 1000 };

	if (cd->cd_spare.cp_master < 0)
		return conpty_open(p);
	*p = cd->cd_spare;
	cd->cd_spare.cp_master = cd->cd_spare.cp_slave = -1;
	evtimer_add(cd->cd_spare_ev, &later);
	return 0;
}
