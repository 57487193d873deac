/* blkback: the block backend's part of the shared backend main (backend_main.c). */
#include <stddef.h>

#include "backend_main.h"
#include "blkback.h"
#include "udev_wait.h"
#include "vbd.h"

/* Closes the udev watch a vbd opened, once every device is gone. */
static void
main_cleanup(void *priv)
{
	struct blkback_state *bs = priv;

	if (bs->bs_udev)
		udev_wait_close(bs->bs_udev);
}

/* Options, hvd and xenstored, the device watch, the loop. */
int
main(int argc, char **argv)
{
	struct blkback_state bs;
	const struct backend_main bm = {
		.bm_name = "blkback",
		.bm_ops = &blkback_ops,
		.bm_priv = &bs,
		.bm_daemon_ready = true,
		.bm_cleanup = main_cleanup,
	};

	TAILQ_INIT(&bs.bs_vbds);
	bs.bs_udev = NULL;
	return backend_main(argc, argv, &bm);
}
