#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

static char *daemon_pidfile;
static struct event *daemon_ev_term, *daemon_ev_int;

static void
daemon_write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fatal("pid file %s", path);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, n) != n)
		fatal("pid file %s: write", path);
	close(fd);
	daemon_pidfile = xstrdup(path);
}

void
daemon_start(const struct daemon_opts *opts)
{
	log_init(opts->name, opts->verbose,
	    opts->foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG);
	if (!opts->foreground && daemon(0, 0) < 0)
		fatal("daemon");
	if (opts->pidfile)
		daemon_write_pidfile(opts->pidfile);
}

static void
daemon_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	log_info("signal %d, shutting down", (int)sig);
	event_base_loopbreak(base);
}

void
daemon_signals(struct event_base *base)
{
	signal(SIGPIPE, SIG_IGN);
	daemon_ev_term = evsignal_new(base, SIGTERM, daemon_on_signal, base);
	daemon_ev_int = evsignal_new(base, SIGINT, daemon_on_signal, base);
	if (!daemon_ev_term || !daemon_ev_int ||
	    evsignal_add(daemon_ev_term, NULL) < 0 || evsignal_add(daemon_ev_int, NULL) < 0)
		fatalx("cannot install signal handlers");
}

void
daemon_ready(void)
{
#ifdef HAVE_LIBSYSTEMD
	/* unset: its socket is not passed on to guests, workers or hotplug scripts */
	if (sd_notifyf(1, "READY=1\nMAINPID=%ld", (long)getpid()) < 0)
		log_warnx("sd_notify: cannot tell the service manager we are ready");
#endif
}

void
daemon_stop(void)
{
	if (daemon_ev_term)
		event_free(daemon_ev_term);
	if (daemon_ev_int)
		event_free(daemon_ev_int);
	daemon_ev_term = daemon_ev_int = NULL;
	if (daemon_pidfile) {
		unlink(daemon_pidfile);
		free(daemon_pidfile);
		daemon_pidfile = NULL;
	}
}
