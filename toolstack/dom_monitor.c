/*
 * The per-domain monitor (xl's background process): watches @releaseDomain/<domid>
 * and the guest's process (a pidfd), re-reads the domain's info from hvd when
 * either says something happened, and on shutdown applies the stored
 * config's on_poweroff / on_reboot / on_crash / on_watchdog action. A domain
 * that dies again within restart_interval seconds of its restart is not
 * restarted. Logs to paths_logdir()/xl-<name>.log.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dom.h"
#include "log.h"
#include "paths.h"
#include "xmalloc.h"

#define DOM_MONITOR_TOKEN	"xl-monitor"
#define DOM_MONITOR_POLL_MS	1000	/* re-check even without an event, with no pidfd */
#define DOM_MONITOR_IDLE_MS	30000	/* ... and with one: a safety net, not the way deaths are seen */
#define DOM_MONITOR_QUICK_MS	10	/* ... and this often for a while after one */
#define DOM_MONITOR_QUICK_N	50
#define DOM_MONITOR_LOGS	10	/* old logs kept: xl-<name>.log.1 ... .10 */

struct dom_monitor {
	struct hv *dm_hv;
	struct xs *dm_xs;
	hv_domid_t dm_domid;
	long long dm_start_ms;	/* when the current domain was started */
	int dm_restarted;	/* the current domain is a restart */
	int dm_pidfd;		/* the guest's process, -1 when not watched */
	hv_domid_t dm_pid_domid;	/* the domain that pidfd (or its exit) belongs to */
};

enum { DOM_MONITOR_DONE, DOM_MONITOR_CONTINUE };

/*
 * Watches the guest's process: every shutdown, crash and destroy ends it, so
 * the monitor need not ask hvd every second (1000 monitors made hvd read
 * 2000 files a second). Once per domain; the pid is checked again after the
 * pidfd is open, so a reused pid is not taken for the guest.
 */
static void
dom_monitor_watch_pid(struct dom_monitor *m, const struct hv_dominfo *info)
{
	struct hv_dominfo again;
	int fd;

	if (m->dm_pid_domid == m->dm_domid || info->pid <= 0)
		return;
	if (m->dm_pidfd >= 0)
		close(m->dm_pidfd);
	m->dm_pidfd = -1;
	m->dm_pid_domid = m->dm_domid;
	if ((fd = syscall(SYS_pidfd_open, info->pid, 0)) < 0)
		return;
	if (hv_domain_getinfo(m->dm_hv, m->dm_domid, &again) < 0 || again.pid != info->pid) {
		close(fd);
		return;
	}
	m->dm_pidfd = fd;
}

/*
 * Waits for a watch event, the guest process's end or the poll interval; -1
 * when xenstored went away. After the process ended it polls briefly for a
 * while (a crash may end it before hvd has recorded why); without a pidfd it
 * does so after any event, since xl destroy releases the domain in xenstored
 * (our event) before hvd destroys it and nothing fires after.
 */
static int
dom_monitor_wait(struct dom_monitor *m)
{
	struct pollfd pfd[2] = { { .fd = xs_fd(m->dm_xs), .events = POLLIN },
	    { .fd = m->dm_pidfd, .events = POLLIN } };
	static int quick;
	char **ev;

	if (poll(pfd, 2, quick > 0 ? DOM_MONITOR_QUICK_MS :
	    m->dm_pidfd >= 0 ? DOM_MONITOR_IDLE_MS : DOM_MONITOR_POLL_MS) < 0 && errno != EINTR)
		return -1;
	if (quick > 0)
		quick--;
	if (m->dm_pidfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
		close(m->dm_pidfd);
		m->dm_pidfd = -1;
		quick = DOM_MONITOR_QUICK_N;
	}
	/* with the process watched its end is the news: the watch's first event
	 * (every watch fires once when set) and xl destroy's release need no polling */
	while ((ev = xs_check_watch(m->dm_xs)) != NULL) {
		if (m->dm_pidfd < 0)
			quick = DOM_MONITOR_QUICK_N;
		free(ev);
	}
	if (errno != EAGAIN) {
		log_warn("lost the connection to xenstored");
		return -1;
	}
	return 0;
}

/* The action the config names for a shutdown reason. */
static enum cfg_action
dom_monitor_action(const struct cfg_domain *c, unsigned reason)
{
	switch (reason) {
	case SHUTDOWN_poweroff:
		return c->cd_on_poweroff;
	case SHUTDOWN_crash:
		return c->cd_on_crash;
	case SHUTDOWN_watchdog:
		return c->cd_on_watchdog;
	default:
		return c->cd_on_reboot;
	}
}

/* rename-restart: the dead domain keeps running state as <name>-<UTC time> with a new uuid. */
static void
dom_monitor_preserve_renamed(struct dom_monitor *m, const char *name)
{
	char stamp[32], *newname, uuid[37], vm[64], p[128];
	uint8_t u[16];
	time_t now = time(NULL);
	struct tm tm;

	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%MZ", gmtime_r(&now, &tm));
	xasprintf(&newname, "%s-%s", name, stamp);
	dom_uuid_generate(u);
	dom_uuid_format(u, uuid);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	snprintf(p, sizeof(p), "%s/uuid", vm);
	dom_xs_write(m->dm_xs, XS_TX_NONE, p, uuid);
	snprintf(p, sizeof(p), "%s/name", vm);
	dom_xs_write(m->dm_xs, XS_TX_NONE, p, newname);
	snprintf(p, sizeof(p), "/local/domain/%u/vm", m->dm_domid);
	dom_xs_write(m->dm_xs, XS_TX_NONE, p, vm);
	snprintf(p, sizeof(p), "/local/domain/%u/name", m->dm_domid);
	dom_xs_write(m->dm_xs, XS_TX_NONE, p, newname);
	dom_find_index_drop(m->dm_xs, name, m->dm_domid);
	dom_find_index_set(m->dm_xs, newname, m->dm_domid);
	dom_store_set(m->dm_domid, "name", newname);
	dom_store_set(m->dm_domid, "uuid", uuid);
	log_info("Domain %u renamed to %s and preserved", m->dm_domid, newname);
	free(newname);
}

/* Restarts from the stored config; the old domain is destroyed or preserved renamed. */
static int
dom_monitor_restart(struct dom_monitor *m, struct cfg *cfg, const struct cfg_domain *old,
    int rename)
{
	struct cfg_diag d = { .cd_out = stderr };
	struct cfg_domain dom;
	struct dom_create_opts o = { .dco_name_lock = -1 };
	hv_domid_t domid;
	int rc = DOM_MONITOR_DONE;

	if (rename)
		dom_monitor_preserve_renamed(m, old->cd_name);
	else
		dom_destroy(m->dm_hv, m->dm_xs, m->dm_domid);
	/* the kernel is checked again: a UML kernel goes to the shim as at create */
	if (cfg_domain_from(cfg, &dom, "stored config", &d) == 0 && dom_kernel_check(&dom) == 0 &&
	    dom_create(m->dm_hv, m->dm_xs, cfg, &dom, &o, &domid) == 0 &&
	    dom_create_unpause(m->dm_hv, domid, -1) == 0) {
		log_info("Domain %s restarted as domid %u", dom.cd_name, domid);
		m->dm_domid = domid;
		m->dm_start_ms = dom_now_ms();
		m->dm_restarted = 1;
		rc = DOM_MONITOR_CONTINUE;
	} else {
		log_warnx("Domain %s could not be restarted", old->cd_name);
	}
	cfg_diag_flush(&d);
	cfg_domain_free(&dom);
	return rc;
}

/* Applies the action for a shut-down domain. */
static int
dom_monitor_shutdown(struct dom_monitor *m, const struct hv_dominfo *info)
{
	struct cfg cfg = { 0 };
	struct cfg_domain c = { 0 };
	struct cfg_diag d = { .cd_out = stderr };
	unsigned reason = info->shutdown_reason;
	int rc = DOM_MONITOR_DONE;

	if (reason == SHUTDOWN_suspend)
		return DOM_MONITOR_CONTINUE;
	log_info("Domain %u has shut down, reason code %u 0x%x", m->dm_domid, reason, reason);
	if (dom_store_load(m->dm_domid, &cfg) < 0 || cfg_domain_from(&cfg, &c, "stored config", &d)) {
		log_warnx("Domain %u: its stored config is gone; leaving it as it is", m->dm_domid);
		goto out;
	}
	enum cfg_action a = dom_monitor_action(&c, reason);
	log_info("Action for shutdown reason code %u is %s", reason, cfg_action_name(a));
	if (a == CFG_ACT_COREDUMP_DESTROY || a == CFG_ACT_COREDUMP_RESTART)
		log_warnx("core dumps are not supported; doing %s without one",
		    a == CFG_ACT_COREDUMP_DESTROY ? "destroy" : "restart");
	double alive = (dom_now_ms() - m->dm_start_ms) / 1000.0;
	switch (a) {
	case CFG_ACT_PRESERVE:
		log_info("Domain %u preserved", m->dm_domid);
		break;
	case CFG_ACT_DESTROY:
	case CFG_ACT_COREDUMP_DESTROY:
		log_info("Domain %u needs to be cleaned up: destroying the domain", m->dm_domid);
		dom_destroy(m->dm_hv, m->dm_xs, m->dm_domid);
		break;
	default:
		if (m->dm_restarted && alive < c.cd_restart_interval) {
			log_warnx("domain %s (domid %u) died %.1f seconds after its restart; "
			    "refusing to restart to avoid a loop (restart_interval is %g s)",
			    c.cd_name, m->dm_domid, alive, c.cd_restart_interval);
			dom_destroy(m->dm_hv, m->dm_xs, m->dm_domid);
			break;
		}
		rc = dom_monitor_restart(m, &cfg, &c, a == CFG_ACT_RENAME_RESTART);
	}
out:
	cfg_diag_flush(&d);
	cfg_domain_free(&c);
	cfg_free(&cfg);
	return rc;
}

/*
 * Watches @releaseDomain/<domid> (xenstored fires it beside @releaseDomain for
 * that domain alone), so a monitor wakes for its own domain, not for each of
 * the n others; the poll interval still catches anything missed.
 */
static void
dom_monitor_watch(struct dom_monitor *m, hv_domid_t *watched)
{
	char path[64];

	if (*watched == m->dm_domid)
		return;
	if (*watched != DOMID_INVALID) {
		snprintf(path, sizeof(path), "@releaseDomain/%u", *watched);
		xs_unwatch(m->dm_xs, path, DOM_MONITOR_TOKEN);
	}
	snprintf(path, sizeof(path), "@releaseDomain/%u", m->dm_domid);
	if (xs_watch(m->dm_xs, path, DOM_MONITOR_TOKEN) < 0)
		log_warn("cannot watch %s; polling instead", path);
	*watched = m->dm_domid;
}

/* The monitor's loop; returns the exit status. */
static int
dom_monitor_loop(struct dom_monitor *m, const char *name)
{
	struct hv_dominfo info;
	hv_domid_t watched = DOMID_INVALID;

	log_info("Waiting for domain %s (domid %u) to die [pid %ld]", name, m->dm_domid,
	    (long)getpid());
	if (hv_domain_getinfo(m->dm_hv, m->dm_domid, &info) == 0 &&
	    !(info.flags & HV_DOMINF_SHUTDOWN))
		dom_monitor_watch_pid(m, &info);
	for (;;) {
		dom_monitor_watch(m, &watched);
		if (dom_monitor_wait(m) < 0)
			return 1;
		if (hv_domain_getinfo(m->dm_hv, m->dm_domid, &info) < 0) {
			if (errno == ENOENT) {
				log_info("Domain %u has been destroyed.", m->dm_domid);
				return 0;
			}
			log_warn("cannot read domain %u's state from hvd", m->dm_domid);
			return 1;
		}
		if ((info.flags & HV_DOMINF_SHUTDOWN) &&
		    dom_monitor_shutdown(m, &info) == DOM_MONITOR_DONE)
			return 0;
		if (!(info.flags & HV_DOMINF_SHUTDOWN))
			dom_monitor_watch_pid(m, &info);
	}
}

/* Keeps the previous logs as .1 ... .10, as libxl_create_logfile does. */
static void
dom_monitor_rotate(const char *path)
{
	char from[4096], to[4096];

	for (int i = DOM_MONITOR_LOGS; i > 0; i--) {
		if (i > 1)
			snprintf(from, sizeof(from), "%s.%d", path, i - 1);
		else
			snprintf(from, sizeof(from), "%s", path);
		snprintf(to, sizeof(to), "%s.%d", path, i);
		rename(from, to);
	}
}

/* The background process's stdio: /dev/null in, the log file out. */
static int
dom_monitor_stdio(const char *name)
{
	char *rel, *path;
	int fd, null;

	if (paths_mkdir_p(paths_logdir(), 0755) < 0)
		return -1;
	xasprintf(&rel, "xl-%s.log", name);
	path = paths_log(rel);
	dom_monitor_rotate(path);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	free(rel);
	free(path);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		return -1;
	close(fd);
	close(null);
	return 0;
}

/*
 * The daemonized monitor's body: fresh connections, then the loop once the
 * creator says the domain exists (one byte on gofd; EOF: it does not, and
 * there is nothing to watch). Forked while hvd builds the domain, its
 * set-up (log rotation, connections) runs then, not while the guest boots
 * and its console's first output goes by.
 */
static void __attribute__((noreturn))
dom_monitor_child(hv_domid_t domid, const char *name, int gofd)
{
	struct dom_monitor m = { .dm_domid = domid, .dm_pidfd = -1,
	    .dm_pid_domid = DOMID_INVALID };
	int rc = 1, go = fcntl(gofd, F_DUPFD, 10);
	ssize_t n;
	char c;

	/* none of xl's descriptors (its locks, its pending build) stays with us */
	if (go < 0 || dup2(go, 3) < 0)
		_exit(1);
	closefrom(4);
	/* xl create -c forks us with its console's handlers (they put its terminal back) */
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (setsid() < 0 || dom_monitor_stdio(name) < 0 || chdir("/") < 0)
		_exit(1);
	log_init("xl", log_verbose(), LOG_TO_STDERR);
	if ((m.dm_hv = hv_open(NULL)) == NULL || (m.dm_xs = xs_open(NULL)) == NULL)
		log_warn("monitor for domain %s cannot connect to hvd and xenstored", name);
	else {
		while ((n = read(3, &c, 1)) < 0 && errno == EINTR)
			;
		close(3);
		m.dm_start_ms = dom_now_ms();
		rc = n == 1 ? dom_monitor_loop(&m, name) : 0;
	}
	if (m.dm_pidfd >= 0)
		close(m.dm_pidfd);
	xs_close(m.dm_xs);
	hv_close(m.dm_hv);
	_exit(rc);
}

/*
 * Forks the background monitor, which waits for dom_monitor_go: a
 * descriptor for that, or -1. One fork, not libxl's two: xl returns at once
 * and init adopts the monitor when xl exits (a monitor that ends first is a
 * zombie only until then); the second fork cost every create ~1.5 ms.
 */
int
dom_monitor_fork(hv_domid_t domid, const char *name)
{
	int sv[2];
	pid_t pid;

	/* a socket, not a pipe: a monitor that could not start must not SIGPIPE its creator */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("cannot start the monitor for domain %s", name);
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		log_warn("cannot fork the monitor for domain %s", name);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		dom_monitor_child(domid, name, sv[1]);
	}
	close(sv[1]);
	return sv[0];
}

/* Tells a forked monitor whether its domain exists (it watches) or not (it leaves); closes fd. */
void
dom_monitor_go(int fd, bool go)
{
	if (fd < 0)
		return;
	if (go && send(fd, "g", 1, MSG_NOSIGNAL) != 1)
		log_warn("the monitor did not start");
	close(fd);
}

/* Runs the per-domain monitor: in this process (foreground) or forked into the background. */
int
dom_monitor_start(struct hv *hv, struct xs *xs, hv_domid_t domid, const char *name,
    int foreground)
{
	int fd;

	if (foreground) {
		struct dom_monitor m = { .dm_hv = hv, .dm_xs = xs, .dm_domid = domid,
		    .dm_start_ms = dom_now_ms(), .dm_pidfd = -1, .dm_pid_domid = DOMID_INVALID };
		int rc = dom_monitor_loop(&m, name);

		if (m.dm_pidfd >= 0)
			close(m.dm_pidfd);
		return rc;
	}
	if ((fd = dom_monitor_fork(domid, name)) < 0)
		return -1;
	dom_monitor_go(fd, true);
	return 0;
}
