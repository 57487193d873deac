/* consoled: options, set-up, the loop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "conlog.h"
#include "consoled.h"
#include "daemon.h"
#include "evmem.h"
#include "libhv.h"
#include "log.h"
#include "paths.h"
#include "xmalloc.h"
#include "xs.h"

/* The option summary. */
static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: consoled [-F] [-v] [--pid-file=PATH] [--log=none|guest|hv|all]\n"
	    "                [--log-dir=DIR] [-t|--timestamp[=none|guest|hv|all]] [--rate-limit=N]\n"
	    "  -F, -i, --foreground, --interactive  stay in the foreground, log to stderr\n"
	    "  -v, --verbose                        debug messages\n"
	    "  --pid-file=PATH                      write our pid there\n"
	    "  --log=WHAT                           guest-<name>.log and/or hypervisor.log\n"
	    "  --log-dir=DIR                        default $PVSTACK_LOGDIR/console\n"
	    "  -t, --timestamp[=WHAT]               stamp log lines (default all)\n"
	    "  --rate-limit=N                       events per 200 ms before a port is\n"
	    "                                       masked for the rest of them (30; 0: off)\n");
}

/* none|guest|hv|all -> CONSOLED_LOG_* bits; -1 when unknown. */
static int
main_parse_which(const char *s)
{
	if (strcmp(s, "none") == 0)
		return 0;
	if (strcmp(s, "guest") == 0)
		return CONSOLED_LOG_GUEST;
	if (strcmp(s, "hv") == 0)
		return CONSOLED_LOG_HV;
	if (strcmp(s, "all") == 0)
		return CONSOLED_LOG_GUEST | CONSOLED_LOG_HV;
	return -1;
}

/* Many domains mean many ptys and ports: take every fd the hard limit allows. */
static void
main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* SIGHUP: reopen every log. */
static void
main_on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct consoled *cd = arg;
	struct condom *dom;

	(void)fd;
	(void)what;
	log_info("SIGHUP: reopening logs");
	TAILQ_FOREACH(dom, &cd->cd_doms, dom_entry)
		condom_reopen_log(dom);
	if (cd->cd_hvlog && conlog_reopen(cd->cd_hvlog) < 0)
		log_warn("reopen hypervisor log");
}

/* Parses the command line into cd and opts; exits on a bad option. */
static void
main_options(int argc, char **argv, struct consoled *cd, struct daemon_opts *opts)
{
	enum { OPT_PIDFILE = 256, OPT_LOG, OPT_LOGDIR, OPT_RATE };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'F' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pid-file", required_argument, NULL, OPT_PIDFILE },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-dir", required_argument, NULL, OPT_LOGDIR },
		{ "timestamp", optional_argument, NULL, 't' },
		{ "rate-limit", required_argument, NULL, OPT_RATE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *trace = getenv("XENCONSOLED_TRACE");
	unsigned long rate;
	char *end;
	int c, which;

	cd->cd_rate_events = CONSOLED_RATE_EVENTS;
	if (trace && *trace && (which = main_parse_which(trace)) >= 0)
		cd->cd_log = which;
	while ((c = getopt_long(argc, argv, "Fivt::h", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
		case 'i':
			opts->foreground = 1;
			break;
		case 'v':
			opts->verbose = 1;
			break;
		case OPT_PIDFILE:
			opts->pidfile = optarg;
			break;
		case OPT_LOG:
		case 't':
			which = optarg ? main_parse_which(optarg) :
			    CONSOLED_LOG_GUEST | CONSOLED_LOG_HV;
			if (which < 0) {
				fprintf(stderr, "consoled: bad value \"%s\": none, guest, hv or all\n",
				    optarg);
				exit(2);
			}
			if (c == 't')
				cd->cd_stamp = which;
			else
				cd->cd_log = which;
			break;
		case OPT_LOGDIR:
			cd->cd_log_dir = optarg;
			break;
		case OPT_RATE:
			rate = strtoul(optarg, &end, 10);
			if (*end || end == optarg || rate > 1000000) {
				fprintf(stderr, "consoled: bad --rate-limit \"%s\"\n", optarg);
				exit(2);
			}
			cd->cd_rate_events = rate;
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

/* Options, hvd and xenstored connections, the loop, a clean exit. */
int
main(int argc, char **argv)
{
	struct daemon_opts opts = { .name = "consoled" };
	struct consoled cd = { 0 };
	char *logdir = NULL;

	TAILQ_INIT(&cd.cd_doms);
	cd.cd_virq_port = -1;
	main_options(argc, argv, &cd, &opts);
	if (cd.cd_log_dir == NULL)
		cd.cd_log_dir = logdir = paths_log("console");
	daemon_start(&opts);
	main_raise_nofile();
	evmem_install();	/* libevent's per-fd records do not pin heap pages */
	if ((cd.cd_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_signals(cd.cd_base);
	if ((cd.cd_hv = hv_open(NULL)) == NULL)
		fatal("cannot connect to hvd");
	if ((cd.cd_xce = hv_evtchn_open(cd.cd_hv)) == NULL)
		fatal("event channel handle");
	if ((cd.cd_xs = xs_open(NULL)) == NULL)
		fatal("cannot connect to xenstored");
	if ((cd.cd_hup_ev = evsignal_new(cd.cd_base, SIGHUP, main_on_hup, &cd)) == NULL ||
	    evsignal_add(cd.cd_hup_ev, NULL) < 0)
		fatalx("SIGHUP handler");
	if ((cd.cd_log & CONSOLED_LOG_HV) && hvlog_start(&cd) < 0)
		log_warnx("no hypervisor log");
	conpty_spare_init(&cd);
	if (domains_start(&cd) < 0)
		fatal("xenstore watches");
	log_info("ready");
	daemon_ready();
	event_base_dispatch(cd.cd_base);

	domains_stop(&cd);
	conpty_spare_fini(&cd);
	hvlog_stop(&cd);
	event_free(cd.cd_hup_ev);
	xs_close(cd.cd_xs);
	hv_evtchn_close(cd.cd_xce);
	hv_close(cd.cd_hv);
	daemon_stop();
	event_base_free(cd.cd_base);
	free(logdir);
	return cd.cd_lost ? 1 : 0;
}
