/*
 * vCPU affinity (XEN_DOMCTL_setvcpuaffinity): a domain's vCPUs are the
 * threads of one process group here, so they share one CPU set. It holds
 * for every process the domain has now (its pids group's cgroup.procs, each
 * thread of each) and for every one it starts later, since the kernel
 * program is started on it and children inherit it. Backend workers take
 * their domain's set when they start, so a guest and the worker that copies
 * its frames share caches instead of bouncing every line between CPUs.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "log.h"

/* The map as a cpu_set_t; false when it names no CPU this host has online. */
static bool
hvd_affinity_cpuset(const uint8_t *map, cpu_set_t *set)
{
	cpu_set_t online;
	bool any = false;

	CPU_ZERO(set);
	if (sched_getaffinity(0, sizeof(online), &online) < 0)
		CPU_ZERO(&online);
	for (int cpu = 0; cpu < HV_CPUMAP_BYTES * 8 && cpu < CPU_SETSIZE; cpu++)
		if (map[cpu / 8] & (1u << (cpu % 8))) {
			CPU_SET(cpu, set);
			any |= CPU_ISSET(cpu, &online) != 0;
		}
	return any;
}

/* Every thread of one process; the first error's errno, 0 when all moved. */
static int
hvd_affinity_process(pid_t pid, const cpu_set_t *set)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : errno;	/* gone meanwhile */
	while ((de = readdir(dir)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid > 0 && sched_setaffinity(tid, sizeof(*set), set) < 0 && errno != ESRCH &&
		    err == 0)
			err = errno;
	}
	closedir(dir);
	return err;
}

/* Moves every process the domain has now; 0 or -1 with errno. */
static int
hvd_affinity_apply(struct hvd_domain *d, const cpu_set_t *set)
{
	char path[600];
	FILE *f;
	int pid, err = 0;

	if (d->pid <= 0)
		return 0;
	if (hvd_limits_procs_path(d, path, sizeof(path)) < 0 || (f = fopen(path, "re")) == NULL) {
		/* unconfined (hvd --insecure): no group, its own process only */
		err = hvd_affinity_process(d->pid, set);
	} else {
		while (fscanf(f, "%d", &pid) == 1) {
			int e = hvd_affinity_process(pid, set);
			if (err == 0)
				err = e;
		}
		fclose(f);
	}
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* hvd.h */
int
hvd_affinity_set(struct hvd_domain *d, const uint8_t *map, bool pinned)
{
	cpu_set_t set;

	if (!pinned)
		sched_getaffinity(0, sizeof(set), &set);	/* anywhere hvd may run */
	else if (!hvd_affinity_cpuset(map, &set)) {
		errno = EINVAL;
		return -1;
	}
	if (hvd_affinity_apply(d, &set) < 0) {
		log_warn("d%u: vcpu affinity", d->domid);
		return -1;
	}
	d->pinned = pinned;
	memcpy(d->affinity, map, HV_CPUMAP_BYTES);
	hvd_keeper_dom(d, false);
	return 0;
}

/* hvd.h */
int
hvd_affinity_self(const struct hvd_domain *d)
{
	cpu_set_t set;

	if (!d->pinned)
		return 0;
	if (!hvd_affinity_cpuset(d->affinity, &set)) {
		errno = EINVAL;
		return -1;
	}
	return sched_setaffinity(0, sizeof(set), &set);
}
