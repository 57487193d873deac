/*
 * A domain's share of the host: memory, processes and CPU, enforced by the
 * kernel's memory, pids and cpu controllers. Each controller is used where the
 * host has it: in the cgroup v2 tree when it is enabled there, otherwise in its
 * own cgroup v1 hierarchy (these machines mount v2 with no controller but
 * hugetlb, and memory, pids and cpu as v1). In v1 each domain gets a group
 * <mount><hvd's own group>/pvstack-hvd.<pid>/dom<N> per controller, joined by
 * the guest before it runs, next to its v2 group (which hvd_cgroup.c owns).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "log.h"
#include "xmalloc.h"

enum hvd_limit_ctl { HVD_LIMIT_MEMORY, HVD_LIMIT_PIDS, HVD_LIMIT_CPU, HVD_LIMIT_NCTL };

static const char *const hvd_limit_names[HVD_LIMIT_NCTL] = { "memory", "pids", "cpu" };

struct hvd_limit_hier {
	bool v2;		/* the controller is enabled in hvd's v2 group */
	char *base;		/* v1: hvd's group in the controller's hierarchy */
};

static struct hvd_limit_hier hvd_limits[HVD_LIMIT_NCTL];
static char *hvd_limits_v2base;

/* The keeper's path in the v1 hierarchy holding ctl (hvd's when it started it; it stays when hvd restarts). */
static char *
hvd_limits_self_path(const char *ctl)
{
	char line[1024], *path = NULL;
	FILE *f;

	snprintf(line, sizeof(line), "/proc/%d/cgroup", (int)hvd_keeper_pid());
	if ((f = fopen(line, "re")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *ctls = strchr(line, ':'), *p;
		if (ctls == NULL || (p = strchr(++ctls, ':')) == NULL)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		for (char *tok = strtok(ctls, ","); tok; tok = strtok(NULL, ","))
			if (strcmp(tok, ctl) == 0)
				path = xstrdup(p);
		if (path)
			break;
	}
	fclose(f);
	return path;
}

/* The mount point of the v1 hierarchy that has ctl, or NULL. */
static char *
hvd_limits_v1_mount(const char *ctl)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	char *dir = NULL;

	if (f == NULL)
		return NULL;
	while (dir == NULL && (m = getmntent(f)))
		if (strcmp(m->mnt_type, "cgroup") == 0 && hasmntopt(m, ctl))
			dir = xstrdup(m->mnt_dir);
	endmntent(f);
	return dir;
}

/* Whether ctl can be enabled for hvd's v2 group (listed in its cgroup.controllers). */
static bool
hvd_limits_v2_has(const char *v2base, const char *ctl)
{
	char path[512], buf[512];
	bool has = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", v2base);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
			has |= strcmp(tok, ctl) == 0;
	fclose(f);
	if (has) {
		char val[64];
		snprintf(val, sizeof(val), "+%s", ctl);
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", v2base);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		has = fd >= 0 && write(fd, val, strlen(val)) == (ssize_t)strlen(val);
		if (fd >= 0)
			close(fd);
	}
	return has;
}

/* v1 groups an hvd that was killed left behind (its pid is gone): removed at start. */
static void
hvd_limits_reap_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;
	char path[600];
	int pid;

	if (d == NULL)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "pvstack-hvd.%d", &pid) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d", pid);
		if (access(path, F_OK) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		DIR *sub = opendir(path);
		struct dirent *se;
		while (sub && (se = readdir(sub))) {
			char dom[900];
			if (strncmp(se->d_name, "dom", 3) != 0)
				continue;
			snprintf(dom, sizeof(dom), "%s/%s", path, se->d_name);
			rmdir(dom);
		}
		if (sub)
			closedir(sub);
		rmdir(path);
	}
	closedir(d);
}

/* Finds each controller; says on the hypervisor console where, or that it is missing. */
void
hvd_limits_init(const char *v2base)
{
	hvd_limits_v2base = v2base ? xstrdup(v2base) : NULL;
	for (int c = 0; c < HVD_LIMIT_NCTL; c++) {
		const char *name = hvd_limit_names[c];
		char *mnt, *self;

		if (v2base && hvd_limits_v2_has(v2base, name)) {
			hvd_limits[c].v2 = true;
			hvd_console_printf("limits: %s in cgroup v2", name);
			continue;
		}
		mnt = hvd_limits_v1_mount(name);
		self = mnt ? hvd_limits_self_path(name) : NULL;
		if (self) {
			char *parent;
			xasprintf(&parent, "%s%s", mnt, strcmp(self, "/") == 0 ? "" : self);
			hvd_limits_reap_stale(parent);
			free(parent);
			xasprintf(&hvd_limits[c].base, "%s%s/pvstack-hvd.%d", mnt,
			    strcmp(self, "/") == 0 ? "" : self, (int)hvd_keeper_pid());
			if (mkdir(hvd_limits[c].base, 0755) < 0 && errno != EEXIST) {
				hvd_console_printf("limits: %s: %s", hvd_limits[c].base, strerror(errno));
				free(hvd_limits[c].base);
				hvd_limits[c].base = NULL;
			} else {
				hvd_console_printf("limits: %s in cgroup v1 under %s", name,
				    hvd_limits[c].base);
				hvd_keeper_dir(1 + c, hvd_limits[c].base);
			}
		}
		free(mnt);
		free(self);
		if (!hvd_limits[c].base)
			hvd_console_printf("limits: no %s controller", name);
	}
}

/* The first controller the host lacks, or NULL when every one is there. */
const char *
hvd_limits_missing(void)
{
	for (int c = 0; c < HVD_LIMIT_NCTL; c++)
		if (!hvd_limits[c].v2 && !hvd_limits[c].base)
			return hvd_limit_names[c];
	return NULL;
}

/* The directory of the domain's group for controller c. */
static void
hvd_limits_dir(struct hvd_domain *d, int c, char *buf, size_t len)
{
	if (hvd_limits[c].v2)
		snprintf(buf, len, "%s", d->cgroup ? d->cgroup : "");
	else
		snprintf(buf, len, "%s/dom%u", hvd_limits[c].base, d->domid);
}

/* hvd.h */
int
hvd_limits_write(const char *dir, const char *file, const char *fmt, ...)
{
	char path[600], val[64];
	va_list ap;
	int fd, n, rc;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = write(fd, val, (size_t)n) == n ? 0 : -1;
	close(fd);
	return rc;
}

/* The memory limit: the domain's memory plus the profile's overhead, swap included. */
int
hvd_limits_set_memory(struct hvd_domain *d, uint64_t bytes)
{
	char dir[512];
	int c = HVD_LIMIT_MEMORY;

	hvd_limits_dir(d, c, dir, sizeof(dir));
	if (hvd_limits[c].v2)
		return hvd_limits_write(dir, "memory.max", "%" PRIu64, bytes) < 0 ||
		    (hvd_limits_write(dir, "memory.swap.max", "0") < 0 && errno != ENOENT) ? -1 : 0;
	/* v1 wants memory <= memory+swap at every step: raising goes memsw first */
	if (hvd_limits_write(dir, "memory.limit_in_bytes", "%" PRIu64, bytes) < 0 &&
	    (hvd_limits_write(dir, "memory.memsw.limit_in_bytes", "%" PRIu64, bytes) < 0 ||
	    hvd_limits_write(dir, "memory.limit_in_bytes", "%" PRIu64, bytes) < 0))
		return -1;
	if (hvd_limits_write(dir, "memory.memsw.limit_in_bytes", "%" PRIu64, bytes) < 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

static int
hvd_limits_set_pids(const char *dir, unsigned pids)
{
	return hvd_limits_write(dir, "pids.max", "%u", pids);
}

static int
hvd_limits_set_cpu(const char *dir, bool v2, unsigned vcpus)
{
	const unsigned period = 100000;

	if (v2)
		return hvd_limits_write(dir, "cpu.max", "%u %u", vcpus * period, period);
	return hvd_limits_write(dir, "cpu.cfs_period_us", "%u", period) < 0 ? -1 :
	    hvd_limits_write(dir, "cpu.cfs_quota_us", "%u", vcpus * period);
}

/*
 * Makes the domain's v1 groups; puts the tasks fd of each in fds (the guest
 * joins them, hvd_cgroup_create says how) and returns how many, or -1. The
 * v2 group (d->cgroup) exists already. The limits come with
 * hvd_limits_apply, which the builder runs while the guest sets itself up:
 * they hold before its kernel is exec'd.
 */
int
hvd_limits_create(struct hvd_domain *d, int *fds)
{
	char dir[512], path[600];
	int n = 0;

	for (int c = 0; c < HVD_LIMIT_NCTL; c++) {
		if (hvd_limits[c].v2 || !hvd_limits[c].base)
			continue;
		hvd_limits_dir(d, c, dir, sizeof(dir));
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			goto fail;
		snprintf(path, sizeof(path), "%s/tasks", dir);
		if ((fds[n] = open(path, O_WRONLY | O_CLOEXEC)) < 0)
			goto fail;
		n++;
	}
	return n;
fail:
	log_warn("d%u: limits: %s", d->domid, dir);
	while (n > 0)
		close(fds[--n]);
	hvd_limits_destroy(d);
	return -1;
}

/* Sets every limit of the domain's groups (made by hvd_limits_create); 0 or -1. */
int
hvd_limits_apply(struct hvd_domain *d, const struct hvd_limits_cfg *cfg)
{
	char dir[512];

	for (int c = 0; c < HVD_LIMIT_NCTL; c++) {
		int rc = 0;
		if (!hvd_limits[c].v2 && !hvd_limits[c].base)
			continue;
		hvd_limits_dir(d, c, dir, sizeof(dir));
		if (c == HVD_LIMIT_MEMORY)
			rc = hvd_limits_set_memory(d, cfg->mem_bytes);
		else if (c == HVD_LIMIT_PIDS)
			rc = hvd_limits_set_pids(dir, cfg->pids);
		else
			rc = hvd_limits_set_cpu(dir, hvd_limits[c].v2, cfg->vcpus);
		if (rc < 0) {
			log_warn("d%u: limits: %s", d->domid, dir);
			return -1;
		}
	}
	return 0;
}

/* hvd.h: the pids group holds every process of the domain, in v2 or v1. */
int
hvd_limits_procs_path(struct hvd_domain *d, char *buf, size_t len)
{
	char dir[512];

	if (!hvd_limits[HVD_LIMIT_PIDS].v2 && !hvd_limits[HVD_LIMIT_PIDS].base) {
		errno = ENOENT;
		return -1;
	}
	hvd_limits_dir(d, HVD_LIMIT_PIDS, dir, sizeof(dir));
	if (dir[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	snprintf(buf, len, "%s/cgroup.procs", dir);
	return 0;
}

/* Removes the domain's v1 groups once its processes are gone (retried by the caller's queue). */
void
hvd_limits_destroy(struct hvd_domain *d)
{
	char dir[512];

	for (int c = 0; c < HVD_LIMIT_NCTL; c++) {
		if (hvd_limits[c].v2 || !hvd_limits[c].base)
			continue;
		hvd_limits_dir(d, c, dir, sizeof(dir));
		hvd_cgroup_rmdir(xstrdup(dir));
	}
}

/* hvd exits: its own v1 groups go (the domains' were queued by destroy). */
void
hvd_limits_fini(void)
{
	for (int c = 0; c < HVD_LIMIT_NCTL; c++) {
		if (hvd_limits[c].base && rmdir(hvd_limits[c].base) < 0 && errno != ENOENT)
			log_warn("rmdir %s", hvd_limits[c].base);
		free(hvd_limits[c].base);
		hvd_limits[c].base = NULL;
		hvd_limits[c].v2 = false;
	}
	free(hvd_limits_v2base);
	hvd_limits_v2base = NULL;
}
