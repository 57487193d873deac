/* One logging API for every pvstack process (daemons, tools, guests). */
#ifndef PVSTACK_LOG_H
#define PVSTACK_LOG_H

#include <stdarg.h>

enum log_dest {
	LOG_TO_STDERR = 1,
	LOG_TO_SYSLOG = 2,
};

/* name prefixes every line; verbose enables log_debug. */
void log_init(const char *name, int verbose, int dest);
void log_set_prefix(const char *prefix);
int log_verbose(void);

/* The plain forms say nothing of errno; the log_warn/fatal forms append
 * strerror(errno). Every call preserves errno. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vmsg(int prio, int with_errno, const char *fmt, va_list ap);

/* Only for set-up failures and impossible states. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
