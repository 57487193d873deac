/*
 * Append-only console log files (guest-<name>.log, hypervisor.log), with an
 * optional "[YYYY-MM-DD HH:MM:SS.mmm] " stamp at the start of every line.
 * Reopened on SIGHUP so logrotate can move them away.
 */
#ifndef PVSTACK_CONSOLED_CONLOG_H
#define PVSTACK_CONSOLED_CONLOG_H

#include <stddef.h>

struct conlog;

/* Opens (creating the directory) with O_APPEND; NULL with errno. */
struct conlog *conlog_open(const char *path, int timestamps);
void conlog_close(struct conlog *log);
/* Writes all of data, stamping line starts; 0 or -1 with errno. */
int conlog_write(struct conlog *log, const char *data, size_t len);
/* Closes and reopens the same path; 0 or -1 with errno (the old fd is kept). */
int conlog_reopen(struct conlog *log);

#endif
