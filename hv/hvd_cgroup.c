#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_keeper.h"
#include "log.h"
#include "xmalloc.h"

/*
 * One cgroup v2 group per domain, where the host lets us make them: the
 * kernel then contains the whole guest (a process that leaves its process
 * group with setsid() is still killed on destroy and frozen on pause) and
 * accounts its CPU time. Without cgroup v2 hvd falls back to signals to the
 * process group and /proc accounting.
 */
static char *hvd_cgroup_base;		/* <cgroup2 mount>/pvstack-hvd.<pid>, NULL when off */

/* Groups whose rmdir found them still populated, retried later. */
static char **hvd_cgroup_stale;
static unsigned hvd_cgroup_nstale;

static int hvd_cgroup_write(const char *cg, const char *file, const char *val);

/* Where cgroup2 is mounted, from /proc/self/mounts. */
static char *
hvd_cgroup_mount(void)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	char *dir = NULL;

	if (f == NULL)
		return NULL;
	while ((m = getmntent(f)))
		if (strcmp(m->mnt_type, "cgroup2") == 0) {
			dir = xstrdup(m->mnt_dir);
			break;
		}
	endmntent(f);
	return dir;
}

/* Removes one dead hvd's group: kills what is left in each domain group, then rmdirs. */
static void
hvd_cgroup_reap_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *sub;

	if (d == NULL)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || strncmp(de->d_name, "dom", 3) != 0)
			continue;
		xasprintf(&sub, "%s/%s", dir, de->d_name);
		hvd_cgroup_write(sub, "cgroup.kill", "1");
		hvd_cgroup_rmdir(sub);
	}
	closedir(d);
	rmdir(dir);
}

/* Groups left by an hvd that was killed (its pid is gone) are cleaned up at start. */
static void
hvd_cgroup_reap_stale(const char *mnt)
{
	DIR *d = opendir(mnt);
	struct dirent *de;
	char *dir, proc[64];

	if (d == NULL)
		return;
	while ((de = readdir(d))) {
		int pid;
		if (sscanf(de->d_name, "pvstack-hvd.%d", &pid) != 1)
			continue;
		snprintf(proc, sizeof(proc), "/proc/%d", pid);
		if (access(proc, F_OK) == 0)
			continue;
		xasprintf(&dir, "%s/%s", mnt, de->d_name);
		log_info("removing cgroup %s of a dead hvd", dir);
		hvd_cgroup_reap_dir(dir);
		free(dir);
	}
	closedir(d);
}

/* Makes hvd's own group; leaves cgroups off when the host does not allow it. */
void
hvd_cgroup_init(void)
{
	char *mnt = hvd_cgroup_mount();

	if (mnt == NULL) {
		hvd_console_printf("cgroups: off (no cgroup2 mount)");
		return;
	}
	hvd_cgroup_reap_stale(mnt);
	/* named after the keeper, which outlives hvd: a restarted hvd finds its domains' groups */
	xasprintf(&hvd_cgroup_base, "%s/pvstack-hvd.%d", mnt, (int)hvd_keeper_pid());
	free(mnt);
	if (mkdir(hvd_cgroup_base, 0755) < 0 && errno != EEXIST) {
		hvd_console_printf("cgroups: off (%s: %s)", hvd_cgroup_base, strerror(errno));
		free(hvd_cgroup_base);
		hvd_cgroup_base = NULL;
		return;
	}
	hvd_console_printf("cgroups: domains under %s", hvd_cgroup_base);
	hvd_keeper_dir(0, hvd_cgroup_base);
	hvd_limits_init(hvd_cgroup_base);
}

/* True when domains get their own groups. */
bool
hvd_cgroup_enabled(void)
{
	return hvd_cgroup_base != NULL;
}

/* Writes a short string to a control file of a group. */
static int
hvd_cgroup_write(const char *cg, const char *file, const char *val)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Tries to remove a group (takes cg); a still-populated one is queued for later (false). */
bool
hvd_cgroup_rmdir(char *cg)
{
	for (int i = 0; i < 20; i++) {
		if (rmdir(cg) == 0 || errno == ENOENT) {
			free(cg);
			return true;
		}
		if (errno != EBUSY)
			break;
		usleep(500);
	}
	hvd_cgroup_stale = xreallocarray(hvd_cgroup_stale, hvd_cgroup_nstale + 1, sizeof(char *));
	hvd_cgroup_stale[hvd_cgroup_nstale++] = cg;
	return false;
}

/* Retries the groups a previous destroy could not remove yet. */
static void
hvd_cgroup_retry_stale(void)
{
	unsigned n = hvd_cgroup_nstale;
	char **old = hvd_cgroup_stale;

	hvd_cgroup_stale = NULL;
	hvd_cgroup_nstale = 0;
	for (unsigned i = 0; i < n; i++) {
		hvd_cgroup_write(old[i], "cgroup.kill", "1");
		hvd_cgroup_rmdir(old[i]);
	}
	free(old);
}

/*
 * Fresh groups for a domain being built (hvd_limits_apply sets the limits): the v2 group and
 * one per v1 controller. fds[0] is the v2 group's directory (the guest is
 * cloned into it, CLONE_INTO_CGROUP), then each v1 group's tasks file (the
 * guest's first act is to write "0" there: moving the calling thread alone
 * takes no global lock, where writing a pid to cgroup.procs waits for an RCU
 * grace period, 8-15 ms on this VM); returns how many, or -1.
 */
int
hvd_cgroup_create(struct hvd_domain *d, int *fds)
{
	int n;

	if (hvd_cgroup_base == NULL)
		return 0;
	hvd_cgroup_retry_stale();
	xasprintf(&d->cgroup, "%s/dom%u", hvd_cgroup_base, d->domid);
	if (mkdir(d->cgroup, 0755) < 0 && errno != EEXIST) {
		log_warn("d%u: cgroup %s", d->domid, d->cgroup);
		goto fail;
	}
	fds[0] = open(d->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fds[0] < 0) {
		log_warn("d%u: %s", d->domid, d->cgroup);
		rmdir(d->cgroup);
		goto fail;
	}
	n = hvd_limits_create(d, fds + 1);
	if (n < 0) {
		close(fds[0]);
		rmdir(d->cgroup);
		goto fail;
	}
	return n + 1;
fail:
	free(d->cgroup);
	d->cgroup = NULL;
	return -1;
}

/* Kills every process of the domain, wherever it moved in the process tree. */
void
hvd_cgroup_kill(struct hvd_domain *d)
{
	if (d->cgroup && hvd_cgroup_write(d->cgroup, "cgroup.kill", "1") < 0)
		log_warn("d%u: cgroup.kill", d->domid);
}

/* Pause and unpause through the cgroup v2 freezer; -1 when the domain has no group. */
int
hvd_cgroup_freeze(struct hvd_domain *d, bool frozen)
{
	if (d->cgroup == NULL)
		return -1;
	return hvd_cgroup_write(d->cgroup, "cgroup.freeze", frozen ? "1" : "0");
}

/* CPU time of the whole domain (usage_usec of cpu.stat) in ns; false without a group. */
bool
hvd_cgroup_cpu_ns(struct hvd_domain *d, uint64_t *ns)
{
	char path[512], buf[512];
	unsigned long long us;
	ssize_t n;
	int fd;

	if (d->cgroup == NULL)
		return false;
	snprintf(path, sizeof(path), "%s/cpu.stat", d->cgroup);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (sscanf(buf, "usage_usec %llu", &us) != 1)
		return false;
	*ns = us * 1000ull;
	return true;
}

/* The domain is gone: kill what is left and remove its group; true when it could be removed. */
bool
hvd_cgroup_destroy(struct hvd_domain *d)
{
	bool gone;

	if (d->cgroup == NULL)
		return false;
	hvd_cgroup_kill(d);
	gone = hvd_cgroup_rmdir(d->cgroup);
	d->cgroup = NULL;
	hvd_limits_destroy(d);
	return gone;
}

/* hvd exits: every group goes, then hvd's own. */
void
hvd_cgroup_fini(void)
{
	if (hvd_cgroup_base == NULL)
		return;
	for (int i = 0; i < 200 && hvd_cgroup_nstale; i++) {
		hvd_cgroup_retry_stale();
		if (hvd_cgroup_nstale)
			usleep(5000);
	}
	for (unsigned i = 0; i < hvd_cgroup_nstale; i++) {
		log_warnx("cgroup %s still populated, left behind", hvd_cgroup_stale[i]);
		free(hvd_cgroup_stale[i]);
	}
	free(hvd_cgroup_stale);
	hvd_cgroup_stale = NULL;
	hvd_cgroup_nstale = 0;
	hvd_limits_fini();
	if (rmdir(hvd_cgroup_base) < 0)
		log_warn("rmdir %s", hvd_cgroup_base);
	free(hvd_cgroup_base);
	hvd_cgroup_base = NULL;
}
