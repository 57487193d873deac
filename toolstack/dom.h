/*
 * The domain library under xl's commands: finding domains by name or id,
 * building one from a validated config (hvd, xenstore layout, devices,
 * backends), tearing one down, the stored config, and the monitor.
 * Every function reports its own failures (log_warnx) with the domain, the
 * device or the path involved, so commands only return the status.
 */
#ifndef PVSTACK_DOM_H
#define PVSTACK_DOM_H

#include <stdint.h>

#include "cfg.h"
#include "cfg_domain.h"
#include "libhv.h"
#include "xs.h"

#define DOM_DOM0_NAME		"Domain-0"
#define DOM_BACKEND_DOMID	0
#define DOM_CONSOLE_LIMIT	1048576		/* LIBXL_XENCONSOLE_LIMIT */
#define DOM_INIT_TIMEOUT_MS	10000		/* backend to InitWait */
#define DOM_HOTPLUG_TIMEOUT_MS	40000		/* hotplug-status to connected */
#define DOM_SHUTDOWN_ACK_MS	60000		/* guest to take control/shutdown */

/* dom_find.c */
/* Name of domid from /local/domain/N/name (Domain-0 for 0); NULL if none. */
char *dom_find_name(struct xs *xs, hv_domid_t domid);
/* A domain by name (xenstore) or number (hvd); -1 with a message when not found. */
int dom_find(struct xs *xs, struct hv *hv, const char *arg, hv_domid_t *domid);
/* Whether a live domain already carries name (its domid in *domid). */
int dom_find_by_name(struct xs *xs, struct hv *hv, const char *name, hv_domid_t *domid);
#define DOM_FIND_INDEX "/tool/xl/name"	/* <name> = domid, for names of path characters */
int dom_find_index_path(char *buf, size_t len, const char *name);
int dom_find_index_set(struct xs *xs, const char *name, hv_domid_t domid);
void dom_find_index_drop(struct xs *xs, const char *name, hv_domid_t domid);
/* Every domain hvd knows, in domid order; malloc'd, count in *n. */
struct hv_dominfo *dom_find_all(struct hv *hv, unsigned *n);

/* dom_store.c: the config a domain was created with, under $RUNDIR/xl/ */
int dom_store_save(hv_domid_t domid, struct cfg *cfg);
/* Parses the stored config into cfg; -1 ENOENT when there is none. */
int dom_store_load(hv_domid_t domid, struct cfg *cfg);
void dom_store_remove(hv_domid_t domid);
/* Replaces one setting of the stored config (rename). */
int dom_store_set(hv_domid_t domid, const char *key, const char *value);

/* dom_uuid.c */
void dom_uuid_generate(uint8_t uuid[16]);
/* Formats as 8-4-4-4-12; buf of at least 37 bytes. */
void dom_uuid_format(const uint8_t uuid[16], char *buf);

/* dom_defaults.c */
/* Writes the random uuid and vif MACs into cfg (before validation and storing). */
void dom_defaults_fill(struct cfg *cfg);
/* A random MAC in Xen's range (00:16:3e, fourth byte below 0x80) into buf. */
void dom_defaults_mac(char *buf, size_t len);

/* dom_kernel.c */
/* 0 when path is a program hvd can start as a guest; -1 with the reason printed. */
/* 0 when dom's kernel can run; a user-mode Linux kernel is handed to the shim
 * (cd_kernel becomes umlshim, cd_payload the UML binary). Otherwise says why not. */
int dom_kernel_check(struct cfg_domain *dom);

/* dom_layout.c: the domain's xenstore home, /vm and /libxl */
struct dom_layout {
	hv_domid_t dl_domid;
	const struct cfg_domain *dl_cfg;
	uint8_t dl_uuid[16];
	hv_port_t dl_store_port, dl_console_port;
	uint64_t dl_store_mfn, dl_console_mfn;
};
int dom_layout_write(struct xs *xs, const struct dom_layout *l);
/* Removes /local/domain/N, /vm/UUID (from N/vm), /libxl/N and our backend dirs. */
void dom_layout_remove(struct xs *xs, hv_domid_t domid);

/* dom_xs.c: small helpers over the synchronous client */
int dom_xs_write(struct xs *xs, xs_tx_t tx, const char *path, const char *val);
int dom_xs_printf(struct xs *xs, xs_tx_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets owner/other perms: owner gets everything, reader gets READ (NONE when reader == owner). */
int dom_xs_perms(struct xs *xs, xs_tx_t tx, const char *path, hv_domid_t owner,
    hv_domid_t reader);
/* Writes val and gives the node perms owner/reader. */
int dom_xs_write_perm(struct xs *xs, xs_tx_t tx, const char *path, const char *val,
    hv_domid_t owner, hv_domid_t reader);
/* Reads a node as a string; NULL when absent. */
char *dom_xs_read(struct xs *xs, const char *path);
/* Monotonic milliseconds. */
long long dom_now_ms(void);

/* dom_device.c: vbd and vif front and back ends, and waiting for backends */
struct dom_ops;
/* Queues every vbd and vif front and back end (libxl's order: disks, then nics). */
void dom_device_write(struct dom_ops *o, hv_domid_t domid, const struct cfg_domain *cfg);
/* Waits for every backend (InitWait + hotplug-status=connected); -1 with the device named. */
int dom_device_wait(struct xs *xs, hv_domid_t domid, const struct cfg_domain *cfg);
/* Whether the daemon serving kind ("vbd", "vif") is running ($RUNDIR/<daemon>.pid). */
int dom_device_backend_running(const char *kind);
/* Whether create will wait for any backend (a device whose backend daemon runs). */
int dom_device_will_wait(const struct cfg_domain *cfg);
/* Checks up front, per device, that a backend runs; -1 when the config wants one. */
int dom_device_precheck(const struct cfg_domain *cfg);
/* Asks every backend to close (online=0, state=5) and waits a little for state 6. */
void dom_device_close(struct xs *xs, hv_domid_t domid);
/* A device's frontend, backend and /libxl copy directories (buffers of len bytes). */
void dom_device_paths(hv_domid_t domid, const char *kind, int devid, char *fe, char *be,
    char *lb, size_t len);
/* xl block-attach: one vbd on a running domain, waited for; -1 (reported, nothing left). */
int dom_device_attach_vbd(struct xs *xs, hv_domid_t domid, const struct cfg_disk *d);
/* xl network-attach: one vif on a running domain (devid and MAC chosen when
 * the spec has none), waited for; -1 (reported, nothing left). */
int dom_device_attach_vif(struct xs *xs, hv_domid_t domid, struct cfg_nic *n);
/* Closes (unless force) and removes one device; -1 ENOENT when the domain has no such device. */
int dom_device_detach(struct xs *xs, hv_domid_t domid, const char *kind, int devid, int force);

/* dom_create.c */
struct dom_create_opts {
	int dco_paused;		/* leave it paused */
	int dco_quiet;
	int dco_name_lock;	/* >= 0: flock'd fd, released once the name is in xenstore */
	/* Called once hvd is building the domain (xl create -c takes the console's lock and
	 * watches its tty there, or starts the console client): overlaps the build. */
	void (*dco_on_domid)(hv_domid_t domid, void *arg);
	void *dco_arg;
};
/* Builds, lays out, connects and (unless paused) starts a domain; all or nothing. */
int dom_create(struct hv *hv, struct xs *xs, struct cfg *cfg, const struct cfg_domain *dom,
    const struct dom_create_opts *o, hv_domid_t *domid);
/* Completes the start: waits for the console notify (if any) and unpauses. */
int dom_create_unpause(struct hv *hv, hv_domid_t domid, int console_fd);

/* dom_destroy.c */
/* Everything: devices, xenstore, RELEASE, hvd, stored config. */
int dom_destroy(struct hv *hv, struct xs *xs, hv_domid_t domid);

/* dom_console.c */
/* Where pvconsole is; NULL with a message when it cannot be found. */
char *dom_console_path(void);
char *dom_program_path(const char *name, const char *const *rel);
/* Forks pvconsole for domid; *notify_fd gets the read end of its start notification. */
pid_t dom_console_spawn(hv_domid_t domid, const char *type, int *notify_fd);
/* Replaces the process with pvconsole (xl console). */
int dom_console_exec(hv_domid_t domid, const char *type);

/* dom_monitor.c */
/* Runs the per-domain monitor (forked into the background unless foreground); 0 in the caller. */
int dom_monitor_start(struct hv *hv, struct xs *xs, hv_domid_t domid, const char *name,
    int foreground);
/* Forks the background monitor early (while hvd builds): it sets up, then waits for
 * dom_monitor_go; a descriptor for that, or -1. */
int dom_monitor_fork(hv_domid_t domid, const char *name);
/* The domain exists (go: the monitor watches it) or not (it leaves); closes fd. */
void dom_monitor_go(int fd, bool go);

#endif
