/* backend_main: the options, set-up, loop and exit blkback and netback share. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "backend.h"
#include "backend_main.h"
#include "daemon.h"
#include "libhv.h"
#include "log.h"
#include "paths.h"
#include "xlconf.h"

/* The option summary, the same for every backend but its name. */
static void
backend_main_usage(FILE *f, const char *name)
{
	fprintf(f,
	    "usage: %s [-F] [-v] [--pid-file=PATH]\n"
	    "  -F, --foreground   stay in the foreground, log to stderr\n"
	    "  -v, --verbose      debug messages\n"
	    "  --pid-file=PATH    write our pid there ($PVSTACK_RUNDIR/%s.pid by xencommons)\n",
	    name, name);
}

/* Parses the command line; exits on a bad option. */
static void
backend_main_options(int argc, char **argv, struct daemon_opts *opts)
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
			backend_main_usage(stdout, opts->name);
			exit(0);
		default:
			backend_main_usage(stderr, opts->name);
			exit(2);
		}
	}
	if (optind != argc) {
		backend_main_usage(stderr, opts->name);
		exit(2);
	}
}

/* Each device holds a few descriptors in the daemon: take what the hard limit allows. */
static void
backend_main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Options, xl.conf, hvd and xenstored, the device watch, the loop. */
int
backend_main(int argc, char **argv, const struct backend_main *bm)
{
	struct daemon_opts opts = { .name = bm->bm_name };
	struct event_base *base;
	struct backend *be;
	struct hv *hv;

	backend_main_options(argc, argv, &opts);
	daemon_start(&opts);
	if (xlconf_get() == NULL)
		fatalx("%s/xl.conf is malformed", paths_confdir());
	backend_main_raise_nofile();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(base);
	if (bm->bm_setup)
		bm->bm_setup(bm->bm_priv, base);
	if ((hv = hv_open(NULL)) == NULL)
		fatal("cannot connect to hvd");
	be = backend_new(base, bm->bm_ops, hv, opts.foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG,
	    bm->bm_priv);
	if (backend_start(be) < 0)
		fatal("cannot watch %s devices in xenstore", bm->bm_ops->kind);
	log_info("ready");
	if (bm->bm_daemon_ready)
		daemon_ready();
	event_base_dispatch(base);

	backend_free(be);
	if (bm->bm_cleanup)
		bm->bm_cleanup(bm->bm_priv);
	hv_close(hv);
	daemon_stop();
	event_base_free(base);
	return 0;
}
