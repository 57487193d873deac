/* What the leak tests read of a daemon from /proc: open descriptors, resident memory. */
#ifndef PVSTACK_TESTS_PROC_STAT_H
#define PVSTACK_TESTS_PROC_STAT_H

#include <sys/types.h>

/* Open descriptors of pid, or -1. */
int proc_fd_count(pid_t pid);
/* VmRSS of pid in KiB, or -1. */
long proc_rss_kib(pid_t pid);
/* The host pid of the process known as ns_pid inside the pid namespace whose
 * init is host pid init (a confined guest sees only its own pids), or -1. */
pid_t proc_host_pid(pid_t init, pid_t ns_pid);

#endif
