/*
 * umlshim: the PV shim that runs user-mode Linux as a pvstack domain. It is
 * a guest kernel on the runtime (it owns the hv channel, xenbus, the console
 * ring, blkfront and netfront) and runs /usr/bin/linux.uml as its child inside
 * the domain's confinement (profile "uml"):
 *
 *   UML vd<x>   -- vhost-user virtio-blk on /tmp/vd<x>.sock (shim_vblk.c,
 *                  vhost_user_blkfront.c)          -- blkfront -- blkback
 *   UML ssl0    -- socketpair (shim_cons.c)        -- console ring -- consoled
 *   UML eth<i>  -- uml_switch protocol (shim_net.c) -- netfront -- netback
 *
 * so every byte of disk, console and network goes through the PV protocols.
 */
#ifndef UMLSHIM_SHIM_H
#define UMLSHIM_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "blkfront.h"
#include "guest.h"
#include "vhost_user_blkfront.h"

#define SHIM_MAX_DISKS	16
#define SHIM_MAX_NICS	8
#define SHIM_UML_DIR	"/tmp/uml"

/* One disk as UML sees it: vd<letter>, a virtio-blk device on its socket. */
struct shim_disk {
	struct blkfront *sd_bf;
	char sd_name[8];		/* "vda" */
	const char *sd_xen;		/* the config's name, "hda1" */
	bool sd_ro;
	/* virtio-blk: the socket UML connects to, then the device on it */
	int sd_listen;			/* listening until UML connects, then -1 */
	struct vhubf *sd_vh;
	bool sd_gone;			/* UML closed it: freed after the loop's round */
};

struct shim {
	struct guest *s_g;
	struct shim_disk s_disks[SHIM_MAX_DISKS];
	unsigned s_ndisks;
	pid_t s_uml;			/* the UML process, 0 once gone */
	int s_uml_pidfd;
	int s_cons;			/* our end of UML's console */
	unsigned s_requested;		/* SHUTDOWN_* asked by the toolstack, or ~0u */
	bool s_cad_pending;		/* asked before UML's mconsole was up: retried */
	unsigned s_seen;		/* what the kernel's last words said, or ~0u */
	char s_line[256];		/* the console line being assembled, for s_seen */
	size_t s_linelen;
};

/* shim_disks.c: waits for every vbd, in vdev order: vda, vdb, ... */
int shim_disks_init(struct shim *s, int timeout_ms);
/* UML's name of a Xen disk name ("hda1", "xvda1", "/dev/hda1"), or NULL. */
const char *shim_disks_ubd(const struct shim *s, const char *xen);

/* shim_vblk.c: a listening socket per disk in /tmp, before UML starts; each
 * connection becomes a virtio-blk device served through blkfront. */
int shim_vblk_init(struct shim *s);
/* Once per round of the main loop: one call per disk for what blkback
 * answered in the round; devices whose front-end went are freed. */
void shim_vblk_round(struct shim *s);
/* The socket of disk i, for virtio_uml.device=. */
void shim_vblk_path(const struct shim *s, unsigned i, char *buf, size_t len);

/* shim_initrd.c: the initramfs (init: umlinit, the host's virtio_blk.ko) at out. */
int shim_initrd_make(struct shim *s, const char *out, const char *init, const char *module);

/* shim_net.c: every vif as a uml_switch port UML's eth<devid> connects to. */
int shim_net_init(struct shim *s, int timeout_ms);
/* Adds UML's eth<devid>=daemon,... arguments through add. */
void shim_net_args(void (*add)(void *arg, const char *fmt, ...), void *arg);

/* shim_cons.c: UML's console on the console ring, and its last words.
 * init returns UML's end of the console; in pumps what was typed. */
int shim_cons_init(struct shim *s);
void shim_cons_in(struct shim *s);

/* shim_uml.c: starts UML with its command line and initramfs; watches it die. */
int shim_uml_start(struct shim *s, const char *payload, const char *cmdline, int consfd,
    const char *initrd);
/* Ends a kernel that is rebooting (UML would re-exec itself) or hangs after a panic. */
void shim_uml_check(struct shim *s);
/* Asks the kernel to shut down cleanly (Ctrl-Alt-Del through UML's mconsole). */
void shim_uml_request(struct shim *s, unsigned reason);

/* shim_control.c: control/shutdown from the toolstack. */
int shim_control_init(struct shim *s);

#endif
