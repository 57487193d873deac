#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail.h"
#include "paths.h"

static const char *const jail_profile_names[JAIL_PROFILE_MAX] = {
	[JAIL_PROFILE_GUEST] = "guest",
	[JAIL_PROFILE_SANITIZER] = "sanitizer",
	[JAIL_PROFILE_UML] = "uml",
	[JAIL_PROFILE_WORKER] = "worker",
};

#define JAIL_MIB	(1024ull * 1024)

static const struct jail_limits jail_profile_table[JAIL_PROFILE_MAX] = {
	/* the runtime's own pages, stack, page tables and socket buffers */
	[JAIL_PROFILE_GUEST] = { 16 * JAIL_MIB, 64, false, false, 0 },
	/* shadow memory, quarantine and the LSan tracer; ASan reads /proc/self/maps */
	[JAIL_PROFILE_SANITIZER] = { 256 * JAIL_MIB, 64, true, false, 0 },
	/* user-mode Linux runs every guest process as a host process, keeps its
	 * physical memory in a file under /tmp that it maps executable (and the
	 * shim maps too, to serve its virtio-blk disks), next to the shim's
	 * sockets and UML's initramfs */
	[JAIL_PROFILE_UML] = { 128 * JAIL_MIB, 1024, true, true, 16 * JAIL_MIB },
};

const struct jail_limits *
jail_profile_limits(enum jail_profile p)
{
	if ((unsigned)p >= JAIL_PROFILE_MAX || p == JAIL_PROFILE_WORKER)
		return NULL;
	return &jail_profile_table[p];
}

uid_t
jail_uid_guest(uint32_t base, uint32_t domid)
{
	return (uid_t)(base + domid);
}

uid_t
jail_uid_backend(uint32_t base, uint32_t domid)
{
	return (uid_t)(base + JAIL_UID_BACKEND_OFFSET + domid);
}

/* Only the profiles a kernel may ask for: "worker" is dom0's own. */
int
jail_profile_from_name(const char *name)
{
	for (int p = 0; p < JAIL_PROFILE_MAX; p++)
		if (p != JAIL_PROFILE_WORKER && strcmp(name, jail_profile_names[p]) == 0)
			return p;
	return -1;
}

const char *
jail_profile_name(enum jail_profile p)
{
	return (unsigned)p < JAIL_PROFILE_MAX ? jail_profile_names[p] : "?";
}

/* capset(2) with every set empty: glibc has no wrapper. */
static int
jail_caps_clear(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * The order matters: the bounding set and securebits need CAP_SETPCAP, so they
 * go first; setuid would clear the parent-death signal and the caller's dumpable
 * state, which the caller sets again afterwards if it wants them.
 */
int
jail_drop_privileges(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	const int secbits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

	if (uid == 0 || gid == 0) {
		errno = EINVAL;
		return -1;
	}
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECUREBITS, secbits, 0, 0, 0) < 0)
		return -1;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	if (jail_caps_clear() < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	/* a kernel that let any of the above fail silently must not go on */
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * A worker holds its descriptors already, so it needs no file at all: its
 * root is hvd's empty directory, seen through a private mount namespace.
 */
int
jail_worker(uint32_t base, uint32_t domid)
{
	char *empty = paths_run("empty");
	uid_t uid = jail_uid_backend(base, domid);
	int rc = -1;

	if (mkdir(empty, 0555) < 0 && errno != EEXIST)
		goto out;
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    chroot(empty) < 0 || chdir("/") < 0)
		goto out;
	if (jail_drop_privileges(uid, uid) < 0 || jail_seccomp(JAIL_PROFILE_WORKER) < 0)
		goto out;
	rc = 0;
out:
	free(empty);
	return rc;
}
