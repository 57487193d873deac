/*
 * Hotplug scripts on a libevent loop (see hotplug.h): fork and exec with Xen's
 * argv/env contract, the output through a pipe, the exit through a pidfd, a
 * timer that kills the session, then the outcome written to the backend dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hotplug.h"
#include "log.h"
#include "paths.h"
#include "xmalloc.h"
#include "xs_async.h"

extern char **environ;

struct hotplug {
	struct event_base *hp_base;
	struct xsa *hp_xsa;
	char *hp_script;
	char *hp_be;			/* backend dir */
	enum hotplug_action hp_action;
	pid_t hp_pid;
	int hp_pidfd, hp_outfd, hp_logfd;
	struct event *hp_ev_exit, *hp_ev_out, *hp_ev_timer;
	char hp_out[HOTPLUG_STDERR_MAX + 1];
	size_t hp_outlen;
	struct hotplug_result hp_res;
	char *hp_error;
	char hp_exit_text[32];
	char *hp_old_status;		/* hotplug-status when recording */
	int hp_has_error;		/* the script wrote hotplug-error */
	int hp_cancelled;
	hotplug_done_cb hp_done;
	void *hp_arg;
};

static const char *const hotplug_names[] = { "add", "remove", "online", "offline" };

/* The action as the script's argv[1]. */
const char *
hotplug_action_name(enum hotplug_action a)
{
	return (unsigned)a < 4 ? hotplug_names[a] : "?";
}

/* For tests and logs. */
pid_t
hotplug_pid(const struct hotplug *hp)
{
	return hp->hp_pid;
}

/* Whether env entry e sets one of the names we set ourselves. */
static int
hotplug_env_ours(const char *e, char *const *ours, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strcspn(ours[i], "=");
		if (strncmp(e, ours[i], l + 1) == 0)
			return 1;
	}
	return 0;
}

/* The script's environment: ours (contract + per kind) over the daemon's; the
 * first *np entries are ours to free. */
static char **
hotplug_env(const struct hotplug_req *r, size_t *np)
{
	char *ours[64];
	size_t n = 0, total = 0, k;
	char **env;

	xasprintf(&ours[n++], "XENBUS_PATH=%s", r->hr_backend_dir);
	xasprintf(&ours[n++], "XENBUS_TYPE=%s", r->hr_kind);
	ours[n++] = xstrdup("XENBUS_BASE_PATH=backend");
	xasprintf(&ours[n++], "script=%s", r->hr_script);
	for (size_t i = 0; r->hr_env && r->hr_env[i] && n < 64; i++)
		ours[n++] = xstrdup(r->hr_env[i]);
	for (char **e = environ; *e; e++)
		total++;
	env = xcalloc(total + n + 1, sizeof(*env));
	for (k = 0; k < n; k++)
		env[k] = ours[k];
	for (char **e = environ; *e; e++)
		if (!hotplug_env_ours(*e, ours, n))
			env[k++] = *e;
	env[k] = NULL;
	*np = n;
	return env;
}

/* In the child: the contract's descriptors and signals, then exec (never returns). */
static _Noreturn void
hotplug_child(int outfd, char **argv, char **env)
{
	sigset_t none;
	int null = open("/dev/null", O_RDONLY);

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
		_exit(126);
	closefrom(3);
	execve(argv[0], argv, env);
	dprintf(2, "%s: cannot run: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Keeps the tail of the output and appends every byte to the hotplug log. */
static void
hotplug_keep(struct hotplug *hp, const char *buf, size_t n)
{
	if (hp->hp_logfd >= 0 && write(hp->hp_logfd, buf, n) < 0) {
		close(hp->hp_logfd);	/* the log is best effort */
		hp->hp_logfd = -1;
	}
	if (n >= HOTPLUG_STDERR_MAX) {
		memcpy(hp->hp_out, buf + n - HOTPLUG_STDERR_MAX, HOTPLUG_STDERR_MAX);
		hp->hp_outlen = HOTPLUG_STDERR_MAX;
	} else {
		size_t drop = hp->hp_outlen + n > HOTPLUG_STDERR_MAX ?
		    hp->hp_outlen + n - HOTPLUG_STDERR_MAX : 0;
		memmove(hp->hp_out, hp->hp_out + drop, hp->hp_outlen - drop);
		hp->hp_outlen -= drop;
		memcpy(hp->hp_out + hp->hp_outlen, buf, n);
		hp->hp_outlen += n;
	}
	hp->hp_out[hp->hp_outlen] = '\0';
}

/* Reads what the script wrote so far; 0 at EOF or error (then the pipe is done). */
static int
hotplug_drain(struct hotplug *hp)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(hp->hp_outfd, buf, sizeof(buf))) > 0)
		hotplug_keep(hp, buf, (size_t)n);
	return n < 0 && (errno == EAGAIN || errno == EINTR);
}

/* Output is readable. */
static void
hotplug_on_output(evutil_socket_t fd, short what, void *arg)
{
	struct hotplug *hp = arg;

	(void)fd;
	(void)what;
	if (!hotplug_drain(hp))
		event_del(hp->hp_ev_out);
}

/* Too slow: the whole session goes, the exit event finishes the job. */
static void
hotplug_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hotplug *hp = arg;

	(void)fd;
	(void)what;
	hp->hp_res.hres_timed_out = true;
	kill(-hp->hp_pid, SIGKILL);
	kill(hp->hp_pid, SIGKILL);
}

/* Releases everything; called once no callback can come any more. */
static void
hotplug_free(struct hotplug *hp)
{
	if (hp->hp_ev_exit)
		event_free(hp->hp_ev_exit);
	if (hp->hp_ev_out)
		event_free(hp->hp_ev_out);
	if (hp->hp_ev_timer)
		event_free(hp->hp_ev_timer);
	if (hp->hp_pidfd >= 0)
		close(hp->hp_pidfd);
	if (hp->hp_outfd >= 0)
		close(hp->hp_outfd);
	if (hp->hp_logfd >= 0)
		close(hp->hp_logfd);
	free(hp->hp_script);
	free(hp->hp_be);
	free(hp->hp_error);
	free(hp->hp_old_status);
	free(hp);
}

/* Hands the outcome over and frees the handle. */
static void
hotplug_finish(struct hotplug *hp, int xs_err)
{
	hp->hp_res.hres_xs_err = xs_err;
	hp->hp_res.hres_output = hp->hp_out;
	hp->hp_res.hres_error = hp->hp_error;
	if (!hp->hp_cancelled && hp->hp_done)
		hp->hp_done(hp, &hp->hp_res, hp->hp_arg);
	hotplug_free(hp);
}

/* The last non-empty line of the output, for the error message. */
static void
hotplug_last_line(const struct hotplug *hp, char *buf, size_t len)
{
	size_t end = hp->hp_outlen, start;

	while (end > 0 && (hp->hp_out[end - 1] == '\n' || hp->hp_out[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && hp->hp_out[start - 1] != '\n')
		start--;
	snprintf(buf, len, "%.*s", (int)(end - start), hp->hp_out + start);
}

/* Sets hres_* and our message from the wait status. */
static void
hotplug_judge(struct hotplug *hp, int status)
{
	struct hotplug_result *r = &hp->hp_res;
	char what[64], line[256];

	r->hres_exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->hres_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	r->hres_ok = r->hres_exit == 0 && !r->hres_timed_out;
	if (r->hres_timed_out)
		snprintf(hp->hp_exit_text, sizeof(hp->hp_exit_text), "timeout");
	else if (r->hres_signal)
		snprintf(hp->hp_exit_text, sizeof(hp->hp_exit_text), "signal %d", r->hres_signal);
	else
		snprintf(hp->hp_exit_text, sizeof(hp->hp_exit_text), "%d", r->hres_exit);
	if (r->hres_ok)
		return;
	if (r->hres_timed_out)
		snprintf(what, sizeof(what), "did not finish in time; killed");
	else if (r->hres_signal)
		snprintf(what, sizeof(what), "killed by signal %d", r->hres_signal);
	else if (r->hres_exit == 127 || r->hres_exit == 126)
		snprintf(what, sizeof(what), "could not be run (exit status %d)", r->hres_exit);
	else
		snprintf(what, sizeof(what), "exit status %d", r->hres_exit);
	hotplug_last_line(hp, line, sizeof(line));
	xasprintf(&hp->hp_error, "%s %s: %s%s%s", hp->hp_script,
	    hotplug_action_name(hp->hp_action), what, *line ? ": " : "", line);
}

/* Joins a key to the backend dir. */
static char *
hotplug_key(const struct hotplug *hp, const char *key)
{
	char *p;

	xasprintf(&p, "%s/%s", hp->hp_be, key);
	return p;
}

/* Writes one key within tx (replies are not waited for: the commit follows in order). */
static void
hotplug_put(struct hotplug *hp, xs_tx_t tx, const char *key, const char *val)
{
	char *p = hotplug_key(hp, key);

	xsa_write(hp->hp_xsa, tx, p, val, strlen(val), NULL, NULL);
	free(p);
}

/* Step 3 of recording: the keys, then commit. */
static void
hotplug_rec_write(struct hotplug *hp, struct xsa_tx *t, xs_tx_t tx)
{
	const char *st = hp->hp_old_status ? hp->hp_old_status : "";

	hotplug_put(hp, tx, "hotplug-exit-status", hp->hp_exit_text);
	hotplug_put(hp, tx, "hotplug-stderr", hp->hp_out);
	if (!hp->hp_res.hres_ok) {
		if (!hp->hp_has_error)
			hotplug_put(hp, tx, "hotplug-error", hp->hp_error);
		if (strcmp(st, "busy") != 0 && strcmp(st, "error") != 0)
			hotplug_put(hp, tx, "hotplug-status", "error");
	}
	xsa_tx_commit(t);
}

struct hotplug_rec {
	struct hotplug *hr_hp;
	struct xsa_tx *hr_t;
	xs_tx_t hr_tx;
};

/* Step 2: the current hotplug-status (the script may have said busy). */
static void
hotplug_rec_status(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct hotplug_rec *rc = arg;

	(void)x;
	free(rc->hr_hp->hp_old_status);
	rc->hr_hp->hp_old_status = err ? NULL : xstrndup(data, len);
	hotplug_rec_write(rc->hr_hp, rc->hr_t, rc->hr_tx);
	free(rc);
}

/* Step 1: the directory still exists? Which keys did the script write? */
static void
hotplug_rec_dir(struct xsa *x, int err, const char *data, size_t len, void *arg)
{
	struct hotplug_rec *rc = arg;
	char *p;

	if (err) {
		xsa_tx_abort(rc->hr_t, err);
		free(rc);
		return;
	}
	rc->hr_hp->hp_has_error = 0;
	for (size_t off = 0; off < len; off += strlen(data + off) + 1)
		if (strcmp(data + off, "hotplug-error") == 0)
			rc->hr_hp->hp_has_error = 1;
	p = hotplug_key(rc->hr_hp, "hotplug-status");
	if (xsa_read(x, rc->hr_tx, p, hotplug_rec_status, rc) < 0) {
		xsa_tx_abort(rc->hr_t, errno);
		free(rc);
	}
	free(p);
}

/* The transaction body (run again on conflict). */
static void
hotplug_rec_body(struct xsa *x, struct xsa_tx *t, xs_tx_t tx, void *arg)
{
	struct hotplug_rec *rc = xmalloc(sizeof(*rc));

	*rc = (struct hotplug_rec){ arg, t, tx };
	if (xsa_directory(x, tx, rc->hr_hp->hp_be, hotplug_rec_dir, rc) < 0) {
		xsa_tx_abort(t, errno);
		free(rc);
	}
}

/* The transaction ended: ENOENT means the device was removed meanwhile (nothing to record). */
static void
hotplug_rec_done(struct xsa *x, int err, void *arg)
{
	(void)x;
	if (err && err != ENOENT)
		log_warnx("%s: cannot record the outcome of %s: %s", ((struct hotplug *)arg)->hp_be,
		    ((struct hotplug *)arg)->hp_script, strerror(err));
	hotplug_finish(arg, err == ENOENT ? 0 : err);
}

/* The script exited: reap, take its last output, judge, record. */
static void
hotplug_on_exit(evutil_socket_t fd, short what, void *arg)
{
	struct hotplug *hp = arg;
	int status = 0;

	(void)fd;
	(void)what;
	if (waitpid(hp->hp_pid, &status, WNOHANG) <= 0)
		return;
	hp->hp_pid = -1;
	event_del(hp->hp_ev_exit);
	event_del(hp->hp_ev_timer);
	if (hp->hp_ev_out)
		event_del(hp->hp_ev_out);
	hotplug_drain(hp);	/* what is already in the pipe; children left behind may hold it */
	hotplug_judge(hp, status);
	if (hp->hp_cancelled || hp->hp_xsa == NULL ||
	    xsa_transaction(hp->hp_xsa, hotplug_rec_body, hotplug_rec_done, hp) < 0)
		hotplug_finish(hp, hp->hp_xsa && !hp->hp_cancelled ? errno : 0);
}

/* Opens $PVSTACK_LOGDIR/xen-hotplug.log and writes the run's header line. */
static int
hotplug_log_open(const struct hotplug_req *r)
{
	char *path = paths_log("xen-hotplug.log"), stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	paths_mkdir_p(paths_logdir(), 0755);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (fd >= 0) {
		strftime(stamp, sizeof(stamp), "%F %T", localtime_r(&now, &tm));
		dprintf(fd, "[%s] %s %s %s\n", stamp, r->hr_script, hotplug_action_name(r->hr_action),
		    r->hr_backend_dir);
	}
	return fd;
}

/* Forks the script with its argv, env and descriptors. */
static int
hotplug_spawn(struct hotplug *hp, const struct hotplug_req *r)
{
	const char *argv[32] = { r->hr_script, hotplug_action_name(r->hr_action) };
	size_t argc = 2, nours;
	int pfd[2], saved;
	char **env;

	for (size_t i = 0; r->hr_args && r->hr_args[i] && argc < 31; i++)
		argv[argc++] = r->hr_args[i];
	argv[argc] = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	env = hotplug_env(r, &nours);
	hp->hp_pid = fork();
	if (hp->hp_pid == 0)
		hotplug_child(pfd[1], (char **)argv, env);
	saved = errno;
	for (size_t i = 0; i < nours; i++)
		free(env[i]);
	free(env);
	close(pfd[1]);
	if (hp->hp_pid < 0) {
		close(pfd[0]);
		errno = saved;
		return -1;
	}
	hp->hp_outfd = pfd[0];
	fcntl(hp->hp_outfd, F_SETFL, O_NONBLOCK);
	hp->hp_pidfd = (int)syscall(SYS_pidfd_open, hp->hp_pid, 0);
	return hp->hp_pidfd < 0 ? -1 : 0;
}

/* Starts the script and arms its three events. */
struct hotplug *
hotplug_run(struct event_base *base, struct xsa *xsa, const struct hotplug_req *r,
    hotplug_done_cb done, void *arg)
{
	struct hotplug *hp = xcalloc(1, sizeof(*hp));
	int ms = r->hr_timeout_ms > 0 ? r->hr_timeout_ms : HOTPLUG_TIMEOUT_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	hp->hp_base = base;
	hp->hp_xsa = xsa;
	hp->hp_script = xstrdup(r->hr_script);
	hp->hp_be = xstrdup(r->hr_backend_dir);
	hp->hp_action = r->hr_action;
	hp->hp_done = done;
	hp->hp_arg = arg;
	hp->hp_pidfd = hp->hp_outfd = -1;
	hp->hp_logfd = hotplug_log_open(r);
	if (hotplug_spawn(hp, r) < 0) {
		int saved = errno;
		if (hp->hp_pid > 0) {
			kill(-hp->hp_pid, SIGKILL);
			waitpid(hp->hp_pid, NULL, 0);
		}
		log_warn("%s: cannot start %s", r->hr_backend_dir, r->hr_script);
		hotplug_free(hp);
		errno = saved;
		return NULL;
	}
	hp->hp_ev_exit = event_new(base, hp->hp_pidfd, EV_READ | EV_PERSIST, hotplug_on_exit, hp);
	hp->hp_ev_out = event_new(base, hp->hp_outfd, EV_READ | EV_PERSIST, hotplug_on_output, hp);
	hp->hp_ev_timer = evtimer_new(base, hotplug_on_timeout, hp);
	if (!hp->hp_ev_exit || !hp->hp_ev_out || !hp->hp_ev_timer)
		fatalx("hotplug: out of memory for events");
	event_add(hp->hp_ev_exit, NULL);
	event_add(hp->hp_ev_out, NULL);
	evtimer_add(hp->hp_ev_timer, &tv);
	return hp;
}

/* Kills the script; the exit event still reaps it and frees the handle. */
void
hotplug_cancel(struct hotplug *hp)
{
	hp->hp_cancelled = 1;
	if (hp->hp_pid > 0) {
		kill(-hp->hp_pid, SIGKILL);
		kill(hp->hp_pid, SIGKILL);
	}
}
