/*
 * Confinement written once, for guest kernels (hvd's builder) and backend
 * workers (blkback, netback): an unprivileged uid/gid of their own per domain,
 * no capabilities (bounding and ambient sets cleared, securebits locked),
 * no_new_privs, an empty read-only root, and a seccomp allow-list.
 *
 * uids come from one range, configured in xl.conf (guest_uid_range_base, like
 * Xen's xen-qemuuser-range-base): the guest of domain N runs as base + N, the
 * backend workers serving domain N as base + JAIL_UID_BACKEND_OFFSET + N, so a
 * worker can signal or trace neither its guest nor another domain's worker.
 */
#ifndef PVSTACK_JAIL_H
#define PVSTACK_JAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_UID_BASE_DEFAULT	1879048192u	/* 0x70000000: past systemd's container ranges */
#define JAIL_UID_RANGE		65536u
#define JAIL_UID_BACKEND_OFFSET	32768u		/* domids stay below DOMID_FIRST_RESERVED (0x7ff0) */

/* seccomp allow-lists: what a process may ask the kernel for, beyond its fds. */
enum jail_profile {
	JAIL_PROFILE_GUEST,	/* a guest kernel on the runtime: memory, its fds, time, fork */
	JAIL_PROFILE_SANITIZER,	/* plus what ASan/UBSan/LSan runtimes need (ptrace of own threads) */
	JAIL_PROFILE_UML,	/* plus ptrace of its own children, as user-mode Linux needs */
	JAIL_PROFILE_WORKER,	/* a backend worker: its fds, libaio, its loop; no fork, no exec */
	JAIL_PROFILE_MAX,
};

/* What a profile allows a guest beyond its configured memory, and what its root holds. */
struct jail_limits {
	uint64_t mem_overhead;	/* bytes above the domain's memory */
	unsigned pids;		/* pids.max */
	bool proc;		/* a /proc of its own pid namespace in its root */
	bool payload;		/* may run a payload program bound into its root */
	uint64_t tmp_bytes;	/* a writable, exec-able /tmp of this size (+ memory), 0: none */
};
/* The guest profiles' limits; NULL for JAIL_PROFILE_WORKER or out of range. */
const struct jail_limits *jail_profile_limits(enum jail_profile p);

/* The uid/gid a domain's guest or its backend workers run as. */
uid_t jail_uid_guest(uint32_t base, uint32_t domid);
uid_t jail_uid_backend(uint32_t base, uint32_t domid);

/* The profile a kernel's note names ("guest", "sanitizer", "uml"); -1 unknown. */
int jail_profile_from_name(const char *name);
const char *jail_profile_name(enum jail_profile p);

/*
 * Drops to uid/gid with no supplementary groups, clears every capability
 * (effective, permitted, inheritable, ambient, bounding), locks securebits and
 * sets no_new_privs. Must be called as root (or in a user namespace we own).
 * Returns -1 with errno on the first step that fails; the caller must then exit.
 */
int jail_drop_privileges(uid_t uid, gid_t gid);

/* Installs the profile's seccomp filter (denied calls fail with EPERM). -1 errno. */
int jail_seccomp(enum jail_profile p);

/* The profile's filter, as jail_seccomp installs it: its length, or -1 (errno). */
struct sock_filter;
int jail_seccomp_program(enum jail_profile p, struct sock_filter *insns, unsigned max);
/* Whether the profile's lists name call nr (clone, clone3 and foreign ABIs aside). */
bool jail_seccomp_listed(enum jail_profile p, int nr);

/*
 * A backend worker's whole confinement, once it holds every descriptor it
 * needs: new mount, IPC and network namespaces, an empty read-only root,
 * jail_drop_privileges(jail_uid_backend(base, domid)) and the worker profile.
 * Called by the worker process itself, as root, right before its loop runs.
 */
int jail_worker(uint32_t base, uint32_t domid);

#endif
