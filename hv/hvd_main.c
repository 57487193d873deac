#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "evmem.h"
#include "hvd.h"
#include "hvd_keeper.h"
#include "log.h"
#include "paths.h"

/* Prints the usage line and exits. */
static _Noreturn void
hvd_usage(void)
{
	fprintf(stderr, "usage: hvd [-f|--foreground] [-v] [--pid-file FILE] [--socket PATH] [--insecure]\n");
	exit(2);
}

/* Guests inherit 0-2: make sure they are something harmless when hvd was started without them. */
static void
hvd_main_stdio(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd)
				close(n);
		}
}

/* Every port is two eventfds and every domain a memfd and a pidfd: lift the soft fd limit. */
static void
hvd_main_rlimit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Options, set-up, the loop; on SIGTERM every domain is destroyed before exit. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "insecure", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts opts = { .name = "hvd" };
	struct event_base *base;
	char *sockpath = NULL, *sockpath_alloc = NULL, *emptydir;
	bool insecure = false, adopting;
	unsigned ndoms = 0;
	int ch, lfd = -1;

	while ((ch = getopt_long(argc, argv, "fvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': opts.foreground = 1; break;
		case 'v': opts.verbose = 1; break;
		case 'p': opts.pidfile = optarg; break;
		case 's': sockpath = optarg; break;
		case 'I': insecure = true; break;
		default: hvd_usage();
		}
	}
	if (optind != argc)
		hvd_usage();
	hvd_main_stdio();
	/* guests are reaped through pidfds and waitpid: an inherited SIG_IGN would auto-reap them */
	signal(SIGCHLD, SIG_DFL);
	if (paths_mkdir_p(paths_rundir(), 0755) < 0)
		fatal("%s", paths_rundir());
	emptydir = paths_run("empty");
	if (mkdir(emptydir, 0555) < 0 && errno != EEXIST)
		fatal("%s", emptydir);
	if (sockpath == NULL)
		sockpath = sockpath_alloc = paths_run("hvd.sock");
	daemon_start(&opts);
	hvd_main_rlimit();
	hvd_start_time = time(NULL);
	evmem_install();	/* libevent's per-fd records do not pin heap pages */
	base = event_base_new();
	if (base == NULL)
		fatalx("event_base_new");
	daemon_signals(base);
	/* the domains of an hvd that went away, held by its keeper; or a keeper of our own */
	if (!(adopting = hvd_keeper_connect()))
		hvd_keeper_spawn();
	hvd_keeper_tie();
	hvd_domain_init();
	hvd_cgroup_init();
	hvd_build_init(base, emptydir, insecure);
	if (adopting)
		lfd = hvd_keeper_adopt(base, &ndoms);
	if (lfd >= 0)
		hvd_listen_adopt(base, lfd, sockpath);
	else if (hvd_listen(base, sockpath) < 0) {
		int saved = errno;
		hvd_keeper_stop();
		errno = saved;
		fatal("listen on %s", sockpath);
	}
	hvd_console_printf("hvd started, listening on %s%s", sockpath,
	    adopting ? " (restarted)" : "");
	daemon_ready();
	event_base_dispatch(base);

	if (hvd_keeper_leave()) {
		/* a planned restart: the domains, their sockets and our listening one stay */
		daemon_stop();
		_exit(0);
	}

	hvd_domain_destroy_all();
	evmem_trim_stop();
	hvd_cgroup_fini();
	hvd_conn_free_all();
	hvd_listen_stop();
	hvd_keeper_stop();
	daemon_stop();
	event_base_free(base);
	free(emptydir);
	free(sockpath_alloc);
	log_info("exiting");
	return 0;
}
