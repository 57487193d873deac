/* blkback: options, set-up, the loop, a clean exit. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "backend.h"
#include "blkback.h"
#include "daemon.h"
#include "libhv.h"
#include "log.h"
#include "paths.h"
#include "udev_wait.h"
#include "vbd.h"
#include "xlconf.h"

/* The option summary. */
static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: blkback [-F] [-v] [--pid-file=PATH]\n"
	    "  -F, --foreground   stay in the foreground, log to stderr\n"
	    "  -v, --verbose      debug messages\n"
	    "  --pid-file=PATH    write our pid there ($PVSTACK_RUNDIR/blkback.pid by xencommons)\n");
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

/* Options, hvd and xenstored, the device watch, the loop. */
int
main(int argc, char **argv)
{
	struct daemon_opts opts = { .name = "blkback" };
	struct blkback_state bs;
	struct event_base *base;
	struct backend *be;
	struct hv *hv;

	TAILQ_INIT(&bs.bs_vbds);
	bs.bs_udev = NULL;
	main_options(argc, argv, &opts);
	daemon_start(&opts);
	if (xlconf_get() == NULL)
		fatalx("%s/xl.conf is malformed", paths_confdir());
	main_raise_nofile();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(base);
	if ((hv = hv_open(NULL)) == NULL)
		fatal("cannot connect to hvd");
	be = backend_new(base, &blkback_ops, hv, opts.foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG, &bs);
	if (backend_start(be) < 0)
		fatal("cannot watch %s devices in xenstore", "vbd");
	log_info("ready");
	daemon_ready();
	event_base_dispatch(base);

	backend_free(be);
	if (bs.bs_udev)
		udev_wait_close(bs.bs_udev);
	hv_close(hv);
	daemon_stop();
	event_base_free(base);
	return 0;
}
