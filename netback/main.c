/* netback: the network backend's part of the shared backend main (backend_main.c). */
#include <stdlib.h>
#include <unistd.h>

#include "backend_main.h"
#include "log.h"
#include "udev_wait.h"
#include "vif.h"
#include "xlconf.h"
#include "xs.h"

/* xl.conf's choice of hotplug runner, and the queues a VIF may have. */
static void
main_settings(void *priv, struct event_base *base)
{
	struct netback_state *nb = priv;
	const struct xlconf *xc = xlconf_get();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	nb->nb_base = base;
	nb->nb_run_scripts = xlconf_bool(xc, "run_hotplug_scripts");
	nb->nb_max_queues = ncpu < 1 ? 1 : ncpu > NETBACK_MAX_QUEUES ? NETBACK_MAX_QUEUES : ncpu;
	/* the scripts we run talk to our xenstored with Debian's xenstore-utils */
	setenv("XENSTORED_PATH", xs_socket_path(), 0);
	if (!nb->nb_run_scripts && (nb->nb_udev = udev_wait_open(base)) == NULL)
		log_warn("run_hotplug_scripts=0 but udev cannot be watched; vifs naming a "
		    "script will fail");
}

/* Closes the udev watch main_settings opened, once every VIF is gone. */
static void
main_cleanup(void *priv)
{
	struct netback_state *nb = priv;

	if (nb->nb_udev)
		udev_wait_close(nb->nb_udev);
}

/* Options, hvd and xenstored, the device watch, the loop. */
int
main(int argc, char **argv)
{
	struct netback_state nb = { 0 };
	const struct backend_main bm = {
		.bm_name = "netback",
		.bm_ops = &netback_ops,
		.bm_priv = &nb,
		.bm_setup = main_settings,
		.bm_cleanup = main_cleanup,
		.bm_daemon_ready = true,
	};

	return backend_main(argc, argv, &bm);
}
