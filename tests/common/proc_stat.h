/* What the leak tests read of a daemon from /proc: open descriptors, resident memory. */
#ifndef PVSTACK_TESTS_PROC_STAT_H
#define PVSTACK_TESTS_PROC_STAT_H

#include <sys/types.h>

/* Whether pid exists and is not a zombie: a daemon's zombie waits for init,
 * which reaps late on some hosts (a container's init), so kill(pid, 0) says
 * nothing about whether it still runs. */
int proc_running(pid_t pid);
/* Open descriptors of pid, or -1. */
int proc_fd_count(pid_t pid);
/* VmRSS of pid in KiB, or -1. */
long proc_rss_kib(pid_t pid);
/* The host pid of the process known as ns_pid inside the pid namespace whose
 * init is host pid init (a confined guest sees only its own pids), or -1. */
pid_t proc_host_pid(pid_t init, pid_t ns_pid);

#endif
