/* The start-up every pvstack daemon shares: logging, foreground or background,
 * pid file, and a clean loop exit on SIGTERM/SIGINT. */
#ifndef PVSTACK_DAEMON_H
#define PVSTACK_DAEMON_H

struct event_base;

struct daemon_opts {
	const char *name;	/* log name, e.g. "hvd" */
	int foreground;		/* stay attached, log to stderr */
	int verbose;
	const char *pidfile;	/* NULL: none */
};

/* Logs, daemonizes unless foreground, writes the pid file. Exits on failure. */
void daemon_start(const struct daemon_opts *opts);
/* SIGTERM and SIGINT break the loop; SIGPIPE is ignored. Call once per process. */
void daemon_signals(struct event_base *base);
/* Tells the service manager (systemd's Type=notify) that the daemon now serves;
 * nothing without libsystemd or outside systemd. Call once, after listening. */
void daemon_ready(void);
/* Removes the pid file and frees the signal events. */
void daemon_stop(void);

#endif
