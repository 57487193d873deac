/*
 * The guest's side of its confinement, run by the builder's child between
 * clone and exec: a private root that holds only what the kernel program
 * needs, then the drop to its own uid and its seccomp profile.
 *
 * The child was cloned into new user, pid, mount, IPC, UTS and network
 * namespaces, so every mount here happens in its own mount namespace and
 * disappears with the domain: nothing is left on the host, and nothing one
 * domain writes can reach the next. The root is a small tmpfs mounted over
 * hvd's empty directory, made read-only before the kernel runs; /dev/null and,
 * for a dynamic kernel, its interpreter and libraries are bind-mounted into it
 * read-only at the paths the loader looks for them. pivot_root, not chroot:
 * the host's tree is detached from the namespace, so there is nothing left
 * to escape to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hvd.h"
#include "jail.h"
#include "log.h"

/* mkdir -p of path's parent directories, inside the new root; async-signal-safe. */
static int
hvd_sandbox_parents(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* Binds the host file src at ./src (cwd is the new root), read-only, keeping the flags the host mount locks. */
static int
hvd_sandbox_bind(const char *src)
{
	char dst[HV_PATH_MAX + 2];
	struct statvfs sv;
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID;
	int fd;

	if ((size_t)snprintf(dst, sizeof(dst), ".%s", src) >= sizeof(dst) ||
	    statvfs(src, &sv) < 0 || hvd_sandbox_parents(dst) < 0)
		return -1;
	if ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444)) < 0)
		return -1;
	close(fd);
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	/* a user namespace may not change the host mount's atime mode either */
	if (sv.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0 || mount(NULL, dst, NULL, flags, NULL) < 0)
		return -1;
	return 0;
}

/* A writable /tmp of its own, where user-mode Linux keeps the file it maps as
 * its physical memory (executable: guest code runs from those pages). */
static int
hvd_sandbox_tmp(uid_t uid, uint64_t bytes)
{
	char opts[128];

	snprintf(opts, sizeof(opts), "size=%llu,mode=0700,uid=%u,gid=%u",
	    (unsigned long long)bytes, (unsigned)uid, (unsigned)uid);
	if (mkdir("tmp", 0700) < 0)
		return -1;
	return mount("pvstack-tmp", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

/*
 * Builds the root over dir (hvd's empty directory) and pivots into it.
 * files: NULL-terminated host paths to bind read-only (a dynamic kernel's
 * interpreter and libraries); NULL for a static kernel. The root belongs to
 * the guest's uid: hvd's root is not mapped in the guest's user namespace, so
 * files made as root could not be created there. Paths inside the root are
 * relative to it, so no lookup crosses hvd's private directories as that uid.
 */
int
hvd_sandbox_root(const char *dir, char *const *files, const struct jail_limits *prof,
    uid_t uid, uint64_t mem_bytes)
{
	const unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char opts[128];

	snprintf(opts, sizeof(opts), "size=64k,nr_inodes=256,mode=0755,uid=%u,gid=%u",
	    (unsigned)uid, (unsigned)uid);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("pvstack-guest", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0 ||
	    chdir(dir) < 0)
		return -1;
	setfsgid(uid);
	setfsuid(uid);
	if ((uid_t)setfsuid(uid) != uid) {
		errno = EPERM;
		return -1;
	}
	if (mkdir("dev", 0755) < 0 || hvd_sandbox_bind("/dev/null") < 0)
		return -1;
	/* /tmp first: a payload may live under /tmp on the host and is bound inside it */
	if (prof->tmp_bytes && hvd_sandbox_tmp(uid, mem_bytes + prof->tmp_bytes) < 0)
		return -1;
	for (; files && *files; files++)
		if (hvd_sandbox_bind(*files) < 0)
			return -1;
	/* only this domain's processes: the child is init of its own pid namespace */
	if (prof->proc && (mkdir("proc", 0555) < 0 ||
	    mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0))
		return -1;
	if (mount(NULL, ".", NULL, ro, NULL) < 0)
		return -1;
	/* the host's tree goes away under the new root: no chroot to break out of */
	if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -1;
	return 0;
}
