/* blkback's daemon side: one struct vbd per device, the images they hold open. */
#ifndef PVSTACK_VBD_H
#define PVSTACK_VBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

struct backend_dev;
struct backend_worker;
struct hotplug;
struct udev_wait;
struct udev_wait_req;

enum vbd_script_state { VBD_SCRIPT_NONE, VBD_SCRIPT_RUNNING, VBD_SCRIPT_OK, VBD_SCRIPT_FAILED,
	VBD_SCRIPT_REMOVING, VBD_SCRIPT_REMOVED };

/* An opened image (file, block device, or loop device over a file). */
struct vbd_image {
	char vi_path[256];		/* as the user named it, without prefix */
	int vi_fd_buffered;		/* -1: no medium (empty cdrom) */
	int vi_fd_direct;		/* -1: the file system refuses O_DIRECT */
	uint64_t vi_sectors;		/* 512-byte units */
	uint32_t vi_sector_size;
	uint32_t vi_phys_sector_size;
	bool vi_media;			/* false: an empty cdrom */
	bool vi_blockdev;
	bool vi_discard;
	dev_t vi_dev;			/* identity for the sharing check */
	ino_t vi_ino;
	char vi_loop[32];		/* the loop device taken for a phy: file, or "" */
};

struct vbd {
	TAILQ_ENTRY(vbd) v_entry;
	struct backend_dev *v_dev;
	uint32_t v_domid;
	bool v_readonly;
	bool v_shared;			/* mode w!: sharing allowed */
	bool v_cdrom;
	bool v_listed;			/* in bs_vbds: probed */
	struct vbd_image v_img;
	enum vbd_script_state v_script;
	struct hotplug *v_hp;		/* the script running now */
	struct udev_wait_req *v_udev;	/* or udev running it (run_hotplug_scripts=0) */
};

/* The daemon-wide state: every open vbd, for the sharing check. */
struct blkback_state {
	TAILQ_HEAD(, vbd) bs_vbds;
	struct udev_wait *bs_udev;	/* opened on first use when udev runs the scripts */
};

/* vbd_image.c */
/* Opens params ("file:/x", "phy:/dev/y", "/x", ...); on failure the reason in err. */
int vbd_image_open(struct vbd_image *img, const char *params, bool readonly, char *err,
    size_t errlen);
void vbd_image_close(struct vbd_image *img);
/* The other vbd that already uses the same image in a conflicting way, or NULL. */
struct vbd *vbd_image_conflict(struct blkback_state *bs, const struct vbd *v);

/* vbd_script.c */
/* Runs the device's own hotplug script when it names one: 0 nothing (more) to
 * wait for, 1 running (the device is kicked when it ends), -1 it failed (its
 * keys say why). *target: what to open afterwards (malloc'd) or NULL. */
int vbd_script_add(struct vbd *v, char **target);
/* The device closes for good: remove after a successful add; 1 while it runs. */
int vbd_script_unplug(struct vbd *v);
/* The device goes: cancel a running script; remove if unplug never ran it. */
void vbd_script_release(struct vbd *v);

/* blkworker.c: the worker half of blkback_ops. */
int blkworker_config(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds);
int blkworker_connect(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds);
void blkworker_disconnect(struct backend_worker *w);

#endif
