#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_name = "pvstack";
static char log_prefix[128];
static int log_verbosity;
static int log_dest = LOG_TO_STDERR;

void
log_init(const char *name, int verbose, int dest)
{
	log_name = name;
	log_verbosity = verbose;
	log_dest = dest;
	if (dest & LOG_TO_SYSLOG)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

int
log_verbose(void)
{
	return log_verbosity;
}

void
log_vmsg(int prio, int with_errno, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char msg[1024];
	const char *sep = log_prefix[0] ? ": " : "";

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_dest & LOG_TO_STDERR) {
		if (with_errno)
			fprintf(stderr, "%s: %s%s%s: %s\n", log_name, log_prefix, sep,
			    msg, strerror(saved_errno));
		else
			fprintf(stderr, "%s: %s%s%s\n", log_name, log_prefix, sep, msg);
	}
	if (log_dest & LOG_TO_SYSLOG) {
		if (with_errno)
			syslog(prio, "%s%s%s: %s", log_prefix, sep, msg,
			    strerror(saved_errno));
		else
			syslog(prio, "%s%s%s", log_prefix, sep, msg);
	}
	errno = saved_errno;
}

#define LOG_BODY(prio, with_errno) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vmsg(prio, with_errno, fmt, ap);	\
	va_end(ap);				\
} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO, 0); }

void
log_debug(const char *fmt, ...)
{
	if (log_verbosity)
		LOG_BODY(LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}
