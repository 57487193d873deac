/* xl create: config, checks, the domain, its console, then its monitor. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conlock.h"
#include "dom.h"
#include "log.h"
#include "paths.h"
#include "pvconsole_client.h"
#include "xl.h"
#include "xmalloc.h"

/* The config file: as given, or under the config dir (/etc/xen) as xl looks. */
static char *
xl_create_find_cfg(const char *name)
{
	char *p;

	if (strchr(name, '/') || access(name, F_OK) == 0)
		return xstrdup(name);
	xasprintf(&p, "%s/%s", paths_confdir(), name);
	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return xstrdup(name);
}

/* Loads, overrides, completes and validates; every message printed. */
static int
xl_create_config(struct xl_args *a, const char *file, int first_override, struct cfg *cfg,
    struct cfg_domain *dom)
{
	struct cfg_diag d = { .cd_out = stderr };
	int errors;

	if (!xl_has(a, 'q'))
		fprintf(stderr, "Parsing config from %s\n", file);
	if (cfg_load(cfg, file, &d) < 0) {
		cfg_diag_flush(&d);
		return -1;
	}
	for (int i = first_override; i < a->xa_argc; i++)
		cfg_override(cfg, a->xa_argv[i], &d);
	dom_defaults_fill(cfg);
	errors = cfg_domain_from(cfg, dom, file, &d);
	cfg_diag_flush(&d);
	if (errors) {
		log_warnx("%s: %d error%s; domain not created", file, errors, errors == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/*
 * Serializes name checks with the creates that could take the name (as xl's
 * lock file does), until the new domain's name is in xenstore.
 */
static int
xl_create_name_lock(void)
{
	char *dir = paths_run("xl"), *path;
	int fd = -1;

	xasprintf(&path, "%s/create.lock", dir);
	if (paths_mkdir_p(dir, 0755) < 0 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(fd, LOCK_EX) < 0) {
		log_warn("cannot take %s", path);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	free(dir);
	return fd;
}

/* What must hold before hvd is asked for anything; a UML kernel becomes the shim's payload. */
static int
xl_create_precheck(struct xl_ctx *ctx, struct cfg_domain *dom)
{
	hv_domid_t other;

	if (dom_kernel_check(dom) < 0)
		return -1;
	if (dom_find_by_name(ctx->xc_xs, ctx->xc_hv, dom->cd_name, &other) == 0) {
		log_warnx("domain with name '%s' already exists (domid %u)", dom->cd_name, other);
		return -1;
	}
	return dom_device_precheck(dom);
}

/* The console client of xl create -c, started as early as it can be. */
struct xl_create_console {
	pid_t cc_pid;
	int cc_fd;		/* its start notification */
};

/* Starts pvconsole while hvd builds the domain, so its start overlaps the build. */
static void
xl_create_console_early(hv_domid_t domid, void *arg)
{
	struct xl_create_console *cc = arg;

	if ((cc->cc_pid = dom_console_spawn(domid, "pv", &cc->cc_fd)) < 0)
		log_warn("cannot start the console client");
}

/* Stops a console client whose domain was not created. */
static void
xl_create_console_abort(struct xl_create_console *cc)
{
	if (cc->cc_pid > 0) {
		kill(cc->cc_pid, SIGTERM);
		waitpid(cc->cc_pid, NULL, 0);
		cc->cc_pid = -1;
	}
	if (cc->cc_fd >= 0)
		close(cc->cc_fd);
	cc->cc_fd = -1;
}

/*
 * create -c without -F attaches in this process, as pvconsole would: a
 * pvconsole started for it was a fork and an exec (the C library's start-up
 * included, ~1 ms of CPU here) competing with the build for the two vCPUs.
 */
struct xl_create_attach {
	struct pvconsole ca_pc;
	const char *ca_file;	/* the config, named in the lock */
	int ca_lock;		/* the console's lock, as pvconsole takes it */
	char *ca_lockpath;	/* its file, removed when it is given back */
	bool ca_watching;	/* locked, connected, the tty node watched */
	bool ca_on;		/* attached: the pty is open, the terminal is ours */
};

/*
 * While hvd builds the domain: takes the console's lock, connects and
 * watches the tty node, so only the wait for consoled is left after INTRODUCE.
 */
static void
xl_create_attach_early(hv_domid_t domid, void *arg)
{
	struct xl_create_attach *ca = arg;
	char holder[512], *lockpath = conlock_path(domid, 0), *desc;

	xasprintf(&desc, "xl create -c %s (domain %u)", ca->ca_file, domid);
	ca->ca_lock = conlock_acquire(lockpath, desc, holder, sizeof(holder));
	free(desc);
	if (ca->ca_lock < 0) {
		if (errno == EWOULDBLOCK)
			log_warnx("Could not lock %s: console of domain %u is in use by %s", lockpath,
			    domid, holder);
		else
			log_warn("Could not lock %s", lockpath);
		free(lockpath);
		return;
	}
	ca->ca_lockpath = lockpath;
	if (pvconsole_watch(&ca->ca_pc, domid, "pv", 0) == 0)
		ca->ca_watching = true;
}

/* What xl create starts while hvd builds the domain. */
struct xl_create_early {
	void (*ce_console)(hv_domid_t domid, void *arg);	/* attach_early or console_early */
	void *ce_console_arg;
	const char *ce_name;		/* for the background monitor, when there is one */
	int ce_monitor;			/* its dom_monitor_go descriptor, -1 when none */
};

/* The background monitor, forked now so its set-up overlaps the build, then the console's part. */
static void
xl_create_early(hv_domid_t domid, void *arg)
{
	struct xl_create_early *ce = arg;

	if (ce->ce_name)
		ce->ce_monitor = dom_monitor_fork(domid, ce->ce_name);
	if (ce->ce_console)
		ce->ce_console(domid, ce->ce_console_arg);
}

/* Waits for the pty (while the domain lives, if running), takes the terminal; false after saying why. */
static bool
xl_create_attach(struct xl_create_attach *ca, hv_domid_t domid, bool running)
{
	if (ca->ca_watching && pvconsole_attach(&ca->ca_pc, domid, running) == 0) {
		pvconsole_take_terminal();
		ca->ca_on = true;
	}
	return ca->ca_on;
}

/* Copies until detach or the domain's death; gives the terminal and the lock back; the exit status. */
static int
xl_create_attached(struct xl_create_attach *ca)
{
	int rc = ca->ca_on ? pvconsole_loop(&ca->ca_pc) : 1;

	pvconsole_restore_tty();
	pvconsole_close(&ca->ca_pc);
	conlock_release(ca->ca_lock, ca->ca_lockpath);
	free(ca->ca_lockpath);
	ca->ca_lockpath = NULL;
	ca->ca_lock = -1;
	ca->ca_watching = ca->ca_on = false;
	return rc;
}

/* Waits for the console client and returns its exit status. */
static int
xl_create_wait_console(pid_t pid)
{
	int status;

	signal(SIGINT, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* xl create: config, checks, domain, console, monitor. */
static int
xl_create_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	struct cfg cfg = { 0 };
	struct cfg_domain dom = { 0 };
	struct dom_create_opts o = { .dco_name_lock = -1 };
	const char *given = a->xa_value['f'];
	struct xl_create_console cc = { .cc_pid = -1, .cc_fd = -1 };
	struct xl_create_attach ca = { .ca_pc = { .pc_pty = -1, .pc_stdin_open = 1 }, .ca_lock = -1 };
	struct xl_create_early ce = { .ce_monitor = -1 };
	int first = 0, rc = 1;
	bool attach;
	hv_domid_t domid;
	char *file;

	if (given == NULL && a->xa_argc > 0 && !strchr(a->xa_argv[0], '='))
		given = a->xa_argv[first++];
	if (given == NULL) {
		log_warnx("no config file given");
		return 2;
	}
	file = xl_create_find_cfg(given);
	if (xl_create_config(a, file, first, &cfg, &dom) < 0)
		goto out;
	if (xl_has(a, 'n')) {
		cfg_domain_dump(stdout, &dom);
		rc = 0;
		goto out;
	}
	if (xl_open(ctx, XL_NEED_HV | XL_NEED_XS) < 0 ||
	    (o.dco_name_lock = xl_create_name_lock()) < 0 || xl_create_precheck(ctx, &dom) < 0)
		goto out;
	o.dco_paused = xl_has(a, 'p');
	o.dco_quiet = xl_has(a, 'q');
	/* with -F this process is the monitor, so pvconsole does the console */
	attach = xl_has(a, 'c') && !xl_has(a, 'F');
	/* pvconsole gives up after 5 s without a tty: start it early only when no backend is awaited. */
	if (xl_has(a, 'c') && !attach && !dom_device_will_wait(&dom)) {
		ce.ce_console = xl_create_console_early;
		ce.ce_console_arg = &cc;
	}
	if (attach) {
		ca.ca_file = file;
		ce.ce_console = xl_create_attach_early;
		ce.ce_console_arg = &ca;
	}
	/* with -F this process is the monitor, with -e there is none */
	if (!xl_has(a, 'e') && !xl_has(a, 'F'))
		ce.ce_name = dom.cd_name;
	if (ce.ce_console || ce.ce_name) {
		o.dco_on_domid = xl_create_early;
		o.dco_arg = &ce;
	}
	if (dom_create(ctx->xc_hv, ctx->xc_xs, &cfg, &dom, &o, &domid) < 0) {
		dom_monitor_go(ce.ce_monitor, false);
		xl_create_console_abort(&cc);
		xl_create_attached(&ca);
		goto out;
	}
	close(o.dco_name_lock);
	o.dco_name_lock = -1;
	if (xl_has(a, 'c') && !attach && ce.ce_console == NULL)
		xl_create_console_early(domid, &cc);
	/*
	 * -c: the guest starts while consoled sets its console up, not after:
	 * what it writes meanwhile waits in its ring, then in the pty, which
	 * consoled holds open. A paused domain gets its console first.
	 */
	if (attach && o.dco_paused && !xl_create_attach(&ca, domid, false))
		log_warnx("domain %u: the console could not be attached", domid);
	if (!o.dco_paused && dom_create_unpause(ctx->xc_hv, domid, cc.cc_fd) < 0) {
		dom_monitor_go(ce.ce_monitor, false);
		xl_create_console_abort(&cc);
		xl_create_attached(&ca);
		dom_destroy(ctx->xc_hv, ctx->xc_xs, domid);
		goto out;
	}
	if (cc.cc_fd >= 0)
		close(cc.cc_fd);
	rc = 0;
	/* the monitor watches from the unpause on (a guest dying at once is its business);
	 * forked during the build, and without one (the fork failed) the create still stands */
	if (ce.ce_name) {
		rc = ce.ce_monitor < 0;
		dom_monitor_go(ce.ce_monitor, true);
	}
	if (attach && !o.dco_paused && !xl_create_attach(&ca, domid, true))
		log_warnx("domain %u: the console could not be attached", domid);
	/* with -c, pvconsole already made the terminal raw: \n alone would not return the carriage */
	if (!o.dco_quiet)
		fprintf(stderr, "Started domain %s (id=%u)%s", dom.cd_name, domid,
		    cc.cc_pid > 0 || ca.ca_on ? "\r\n" : "\n");
	if (xl_has(a, 'F') && !xl_has(a, 'e'))
		rc = dom_monitor_start(ctx->xc_hv, ctx->xc_xs, domid, dom.cd_name, 1) < 0;
	if (cc.cc_pid > 0)
		rc = xl_create_wait_console(cc.cc_pid);
	if (attach)
		rc = xl_create_attached(&ca);
out:
	if (o.dco_name_lock >= 0)
		close(o.dco_name_lock);
	cfg_domain_free(&dom);
	cfg_free(&cfg);
	free(file);
	return rc;
}

const struct xl_cmd xl_cmd_create = {
	.xc_name = "create",
	.xc_usage = "[options] <ConfigFile> [options] [vars]",
	.xc_summary = "Create a domain from config file <filename>",
	.xc_help = "-h                      Print this help.\n"
	    "-p                      Leave the domain paused after it is created.\n"
	    "-c                      Connect to the console after the domain is created.\n"
	    "-f FILE, --defconfig=FILE\n"
	    "                        Use the given configuration file.\n"
	    "-q, --quiet             Quiet.\n"
	    "-n, --dryrun            Dry run - prints the resulting configuration.\n"
	    "-e                      Do not wait in the background for the death of the domain.\n"
	    "-F                      Run in foreground until death of the domain.\n"
	    "key=value               Override a setting of the config file.\n",
	.xc_opts = "f:cpqneF",
	.xc_min_args = 0,
	.xc_max_args = -1,
	.xc_flags = 0,		/* opened after the config is read, so -n needs no daemon */
	.xc_exec = xl_create_exec,
};
