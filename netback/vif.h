/* netback's daemon side: one struct vif per device, its tap and its hotplug step. */
#ifndef PVSTACK_VIF_H
#define PVSTACK_VIF_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "netback.h"

struct backend_dev;
struct backend_worker;
struct event_base;
struct hotplug;
struct udev_wait;
struct udev_wait_req;
struct xsa;

/* The daemon-wide state. */
struct netback_state {
	struct event_base *nb_base;
	struct xsa *nb_xsa;		/* where hotplug_run records a script's outcome */
	struct udev_wait *nb_udev;	/* run_hotplug_scripts=0: udev runs the scripts */
	bool nb_run_scripts;		/* xl.conf's run_hotplug_scripts */
	bool nb_stopping;		/* shutting down: no offline scripts */
	unsigned nb_max_queues;
};

enum vif_hotplug_state {
	VIF_HP_IDLE,			/* not started */
	VIF_HP_RUNNING,			/* the script (or udev) is at work */
	VIF_HP_DONE,			/* hotplug-status=connected */
	VIF_HP_FAILED,
};

struct vif {
	struct backend_dev *v_dev;
	struct netback_state *v_nb;
	char v_name[IFNAMSIZ];
	char v_bridge[IFNAMSIZ];
	char *v_script;			/* the script key; NULL: none */
	char v_mac[18];			/* the guest's MAC (the backend's mac key) */
	unsigned v_mtu;
	unsigned v_ntaps;
	int v_tapfd[NETBACK_MAX_QUEUES];
	uint64_t v_credit_bytes, v_credit_usec;	/* 0: unlimited */
	enum vif_hotplug_state v_hp;
	bool v_hp_ran;			/* a script (or udev) ran online: run offline at the end */
	struct hotplug *v_hotplug;
	struct udev_wait_req *v_udev;
};

/* vif_keys.c: the backend keys xl wrote, checked; 0, or -1 with the device failed. */
int vif_keys_read(struct vif *v);

/* vif_hotplug.c */
/* Starts the online step (script, udev or none); VIF_HP_DONE when none is needed. */
void vif_hotplug_online(struct vif *v);
/* Ends the VIF: the offline step if online ran, then the tap goes; frees v. */
void vif_hotplug_offline(struct vif *v);
/* Closes the tap and frees v. */
void vif_free(struct vif *v);

/* nbworker.c: the worker half of netback_ops. */
int nbworker_config(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds);
int nbworker_connect(struct backend_worker *w, const void *blob, size_t len, int *fds, int nfds);
void nbworker_disconnect(struct backend_worker *w);

#endif
