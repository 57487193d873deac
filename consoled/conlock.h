/*
 * One attached client per console: an flock on
 * $PVSTACK_RUNDIR/console/pvconsole.<domid>.lock, whose content names the
 * holder ("pid <pid> <command>") so a refused client can say who has it.
 * The holder removes the file when it lets go, so the directory lists the
 * consoles in use (and a killed holder's file, free, until the next taker's).
 */
#ifndef PVSTACK_CONSOLED_CONLOCK_H
#define PVSTACK_CONSOLED_CONLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Newly allocated lock path for a console. */
char *conlock_path(uint32_t domid, unsigned num);
/*
 * Takes the lock and records us as holder; returns its fd. When another
 * process holds it: -1 with EWOULDBLOCK and holder filled with its record
 * ("unknown" when it has not written one yet). Other failures: -1 with errno.
 */
int conlock_acquire(const char *path, const char *cmd, char *holder, size_t holderlen);
/* Removes the file at path (the lock's) and drops the lock. */
void conlock_release(int fd, const char *path);

#endif
