/*
 * Virtual disk numbers (xen-vbd-interface(7)) turned back into the names a
 * configuration gives them (hda1, sdb, xvda), so the shell can name a disk
 * the way its config did when the backend does not say. Pure.
 */
#ifndef PVGUEST_BLK_VDEV_H
#define PVGUEST_BLK_VDEV_H

#include <stddef.h>
#include <stdint.h>

/* The canonical name of vdev into buf ("xvda", "hda1"); the number itself
 * when it encodes no known name. Returns buf. */
char *blk_vdev_name(uint32_t vdev, char *buf, size_t len);

#endif
