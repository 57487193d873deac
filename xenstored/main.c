/* xenstored: options, set-up, the loop. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon.h"
#include "evmem.h"
#include "log.h"
#include "paths.h"
#include "xenstored.h"

/* Options summary; exits 2. */
static void
main_usage(void)
{
	fprintf(stderr,
	    "usage: xenstored [options]\n"
	    "  -N, --no-fork                stay in the foreground, log to stderr\n"
	    "  -F, --pid-file <file>        write the pid file\n"

	    "  -T, --trace-file <file>      trace every request and reply\n"
	    "  -s, --socket-dir <dir>       sockets there (default $PVSTACK_RUNDIR/xenstored)\n"
	    "  -E, --entry-nb <n>           nodes per domain (1000)\n"
	    "  -S, --entry-size <n>         bytes per node (2048)\n"
	    "  -W, --watch-nb <n>           watches per domain (128)\n"
	    "  -t, --transaction <n>        transactions per connection (10)\n"
	    "  -A, --perm-nb <n>            permissions per node (5)\n"
	    "  -M, --path-max <n>           path length (2048)\n"
	    "  -Q, --quota <what>=<n>       outstanding (20), transaction-nodes (1024),\n"
	    "                               memory (2621440 bytes per domain, 0: off)\n"
	    "  -q, --quota-soft memory=<n>  log a domain over n bytes (2097152)\n"
	    "  -w, --timeout watch-event=<s> drop a guest's unread events after s (20, 0: never)\n"
	    "  -K, --keep-orphans           give a dead domain's nodes to dom0\n"
	    "  -P, --state-dir <dir>        keep the state there and reload it at start\n"
	    "  -D, --no-domain-init         accepted for compatibility\n"
	    "  -v, -V, --verbose            debug logging\n");
	exit(2);
}

/* Entry point. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-fork", no_argument, NULL, 'N' },
		{ "pid-file", required_argument, NULL, 'F' },
		{ "trace-file", required_argument, NULL, 'T' },
		{ "socket-dir", required_argument, NULL, 's' },
		{ "entry-nb", required_argument, NULL, 'E' },
		{ "entry-size", required_argument, NULL, 'S' },
		{ "watch-nb", required_argument, NULL, 'W' },
		{ "transaction", required_argument, NULL, 't' },
		{ "perm-nb", required_argument, NULL, 'A' },
		{ "path-max", required_argument, NULL, 'M' },
		{ "quota", required_argument, NULL, 'Q' },
		{ "quota-soft", required_argument, NULL, 'q' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "keep-orphans", no_argument, NULL, 'K' },
		{ "state-dir", required_argument, NULL, 'P' },
		{ "no-domain-init", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts dopts = { .name = "xenstored" };
	const char *trace = NULL, *statedir = NULL;
	char *sockdir = NULL;
	struct event_base *base;
	int ch;

	while ((ch = getopt_long(argc, argv, "NF:T:s:E:S:W:t:A:M:Q:q:w:KP:DvVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		/* Xen's letters: -F is the pid file, -N stays in the foreground */
		case 'N': dopts.foreground = 1; break;
		case 'F': dopts.pidfile = optarg; break;
		case 'T': trace = optarg; break;
		case 's': sockdir = optarg; break;
		case 'E': case 'S': case 'W': case 't': case 'A': case 'M':
			if (quota_set_opt(ch, optarg) < 0)
				main_usage();
			break;
		case 'Q':
			if (quota_set_named(optarg) < 0)
				main_usage();
			break;
		case 'q':
			if (quota_set_soft(optarg) < 0)
				main_usage();
			break;
		case 'w':
			if (quota_set_timeout(optarg) < 0)
				main_usage();
			break;
		case 'K': domain_keep_orphans = true; break;
		case 'P': statedir = optarg; break;
		case 'D': break;
		case 'v': case 'V': dopts.verbose = 1; break;
		default: main_usage();
		}
	}
	if (optind != argc)
		main_usage();
	if (sockdir == NULL)
		sockdir = paths_run("xenstored");
	daemon_start(&dopts);
	if (trace && control_open_trace(trace) < 0)
		fatal("trace file %s", trace);
	evmem_install();	/* libevent's per-fd records do not pin heap pages */
	evmem_trim_hook(heap_before_trim);	/* nor glibc's cache of freed blocks */
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* before the socket exists: a SIGTERM right after start must still exit cleanly */
	daemon_signals(base);
	db_init();
	watch_init();
	conn_setup(base);
	domain_setup(base);
	/* the saved state before the sockets: no client sees a half-restored store */
	if (statedir && persist_open(statedir) < 0)
		fatalx("cannot keep the state in %s", statedir);
	if (sock_listen(base, sockdir) < 0)
		fatalx("cannot listen in %s", sockdir);
	log_info("serving %s/socket", sockdir);
	daemon_ready();
	event_base_dispatch(base);
	log_info("exiting");
	persist_close();
	sock_shutdown();
	domain_shutdown();
	daemon_stop();
	event_base_free(base);
	return 0;
}
