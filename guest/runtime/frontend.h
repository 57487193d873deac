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

#endif
