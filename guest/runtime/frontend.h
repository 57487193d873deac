/*
 * The handshake every frontend performs, written once (blkif.h "STATE
 * DIAGRAMS"): find the backend the toolstack named, wait for it to reach
 * InitWait, publish the transport (rings, event channel) with our state
 * Initialised in one transaction, wait for the backend to be Connected, then
 * say Connected ourselves. Shutdown walks Closing, Closed, Initialising as
 * Mini-OS does, so the backend can take the device back for a later connect.
 * blkfront and netfront are a publish function and their ring code.
 */
#ifndef PVGUEST_FRONTEND_H
#define PVGUEST_FRONTEND_H

#include "guest.h"

#define FRONTEND_PATH_MAX 256

struct frontend {
	struct guest *fe_guest;
	char fe_dir[FRONTEND_PATH_MAX];		/* "device/<kind>/<devid>", relative */
	char fe_backend[FRONTEND_PATH_MAX];	/* the backend's directory, absolute */
	hv_domid_t fe_backend_id;
};

/* Publishes the transport keys inside the connect transaction. */
typedef int frontend_publish_fn(struct frontend *fe, xenbus_tx_t tx, void *arg);

/* Device ids under device/<kind> (NULL-terminated, one allocation). */
char **frontend_list(struct guest *g, const char *kind, unsigned *num);
/* Reads backend and backend-id of device/<kind>/<devid>; -1 ENOENT/EINVAL. */
int frontend_init(struct frontend *fe, struct guest *g, const char *kind, const char *devid);
/* The handshake up to both ends Connected; -1 ETIMEDOUT, or the error of publish. */
int frontend_connect(struct frontend *fe, frontend_publish_fn *publish, void *arg, int timeout_ms);
/* Closing, Closed, then Initialising (re-armed); -1 ETIMEDOUT. */
int frontend_shutdown(struct frontend *fe, int timeout_ms);
/* Writes <fe_dir>/<key>. */
int frontend_printf(struct frontend *fe, xenbus_tx_t tx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads <backend>/<key> (malloc'd), NULL with errno. */
char *frontend_backend_read(struct frontend *fe, const char *key);
/* An event channel for the backend to bind, handled on our loop; the port or -1. */
int frontend_alloc_evtchn(struct frontend *fe, events_handler_fn *fn, void *arg);

/* ---- what every frontend's open and close share ---- */

/* The deadline timeout_ms from now (-1: none), and the time left of one for
 * the next wait (-1: none, 0: passed). */
long long frontend_deadline(int timeout_ms);
int frontend_left(long long deadline);
/* frontend_init, then waits for the backend's InitWait; -1 saying why. */
int frontend_probe(struct frontend *fe, struct guest *g, const char *kind, const char *devid,
    long long deadline, char *why, size_t len);
/* A decimal key under dir (absolute, or ours relative); def when absent.
 * -1 (EINVAL when not a number) naming the key in why. */
int frontend_read_ull(struct frontend *fe, const char *dir, const char *key,
    unsigned long long def, unsigned long long *val, char *why, size_t len);
/* "<driver>.<name>=N" on the guest's command line (as Linux's module
 * parameters): def lowered to N, or def. */
unsigned long long frontend_param(struct guest *g, const char *driver, const char *name,
    unsigned long long def);
/* After frontend_connect failed: why, in the backend's own words when it left
 * them (hotplug-error); errno kept. */
void frontend_connect_failed(struct frontend *fe, char *why, size_t len);
/* Closing then Closed, not re-armed; a backend that vanished (the toolstack
 * removed the device) counts as closed. -1 ETIMEDOUT or the write's error. */
int frontend_detach(struct frontend *fe, int timeout_ms);

#endif
