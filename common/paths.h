/* Where a pvstack instance keeps its sockets, configs and logs. Every path is
 * overridable through the environment so tests run private stacks side by side. */
#ifndef PVSTACK_PATHS_H
#define PVSTACK_PATHS_H

/* $PVSTACK_RUNDIR, default /run/pvstack. */
const char *paths_rundir(void);
/* $PVSTACK_CONFDIR, default /etc/xen. */
const char *paths_confdir(void);
/* $PVSTACK_LOGDIR; default $PVSTACK_RUNDIR/log when PVSTACK_RUNDIR is set,
 * /var/log/pvstack otherwise. */
const char *paths_logdir(void);
/* Newly allocated "<rundir>/<rel>". */
char *paths_run(const char *rel);
char *paths_log(const char *rel);
/* mkdir -p with the given mode for created components; 0 or -1 with errno. */
int paths_mkdir_p(const char *path, unsigned mode);

#endif
