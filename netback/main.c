/* netback: options, set-up, the loop, a clean exit. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "backend.h"
#include "daemon.h"
#include "libhv.h"
#include "log.h"
#include "paths.h"
#include "udev_wait.h"
#include "vif.h"
#include "xlconf.h"
#include "xs.h"

/* The option summary. */
static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: netback [-F] [-v] [--pid-file=PATH]\n"
	    "  -F, --foreground   stay in the foreground, log to stderr\n"
	    "  -v, --verbose      debug messages\n"
	    "  --pid-file=PATH    write our pid there ($PVSTACK_RUNDIR/netback.pid by xencommons)\n");
}

/* Parses the command line; exits on a bad option. */
static void
main_options(int argc, char **argv, struct daemon_opts *opts)
{
	enum { OPT_PIDFILE = 256 };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pid-file", required_argument, NULL, OPT_PIDFILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "Fvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			opts->foreground = 1;
			break;
		case 'v':
			opts->verbose = 1;
			break;
		case OPT_PIDFILE:
			opts->pidfile = optarg;
			break;
		case 'h':
			main_usage(stdout);
			exit(0);
		default:
			main_usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		exit(2);
	}
}

/* Each device holds a few descriptors in the daemon: take what the hard limit allows. */
static void
main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* xl.conf's choice of hotplug runner, and the queues a VIF may have. */
static void
main_settings(struct netback_state *nb, struct event_base *base)
{
	const struct xlconf *xc = xlconf_get();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (xc == NULL)
		fatalx("cannot start with a malformed xl.conf");
	nb->nb_base = base;
	nb->nb_run_scripts = xlconf_bool(xc, "run_hotplug_scripts");
	nb->nb_max_queues = ncpu < 1 ? 1 : ncpu > NETBACK_MAX_QUEUES ? NETBACK_MAX_QUEUES : ncpu;
	/* the scripts we run talk to our xenstored with Debian's xenstore-utils */
	setenv("XENSTORED_PATH", xs_socket_path(), 0);
	if (!nb->nb_run_scripts && (nb->nb_udev = udev_wait_open(base)) == NULL)
		log_warn("run_hotplug_scripts=0 but udev cannot be watched; vifs naming a "
		    "script will fail");
}

/* Options, hvd and xenstored, the device watch, the loop. */
int
main(int argc, char **argv)
{
	struct daemon_opts opts = { .name = "netback" };
	struct netback_state nb = { 0 };
	struct event_base *base;
	struct backend *be;
	struct hv *hv;

	main_options(argc, argv, &opts);
	daemon_start(&opts);
	main_raise_nofile();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(base);
	main_settings(&nb, base);
	if ((hv = hv_open(NULL)) == NULL)
		fatal("cannot connect to hvd");
	be = backend_new(base, &netback_ops, hv, opts.foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG, &nb);
	if (backend_start(be) < 0)
		fatal("cannot watch %s devices in xenstore", "vif");
	log_info("ready");
	event_base_dispatch(base);

	backend_free(be);
	if (nb.nb_udev)
		udev_wait_close(nb.nb_udev);
	hv_close(hv);
	daemon_stop();
	event_base_free(base);
	return 0;
}
