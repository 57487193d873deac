/* The private-stack helpers of the xl integration tests. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libhv.h"
#include "proc_stat.h"
#include "xltest.h"
#include "xs.h"

#ifndef XLT_XL
#error XLT_XL, XLT_XENCOMMONS and XLT_PVGUEST name the built programs
#endif

/* Runs a command, returns its exit status, keeps its output in *out if asked. */
int
xlt_run(char **out, const char *fmt, ...)
{
	char *cmd, *full, *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *p, *m;
	int c, status;

	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	cr_assert_geq(asprintf(&full, "XL=%s; (%s) 2>&1", XLT_XL, cmd), 0);
	p = popen(full, "r");
	cr_assert_not_null(p);
	m = open_memstream(&buf, &len);
	while ((c = fgetc(p)) != EOF)
		fputc(c, m);
	fclose(m);
	status = pclose(p);
	free(cmd);
	free(full);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
xlt_start(struct xlt *t)
{
	char *out;

	snprintf(t->xt_dir, sizeof(t->xt_dir), "/tmp/xltest.XXXXXX");
	cr_assert_not_null(mkdtemp(t->xt_dir));
	setenv("PVSTACK_RUNDIR", t->xt_dir, 1);
	unsetenv("PVSTACK_LOGDIR");
	unsetenv("PVSTACK_CONFDIR");
	char *sock;
	cr_assert_geq(asprintf(&sock, "%s/xenstored/socket", t->xt_dir), 0);
	setenv("XENSTORED_PATH", sock, 1);
	free(sock);
	int rc = xlt_run(&out, "%s start", XLT_XENCOMMONS);
	cr_assert_eq(rc, 0, "xencommons start failed:\n%s", out);
	free(out);
}

void
xlt_start_skip(struct xlt *t, const char *skip)
{
	setenv("XENCOMMONS_SKIP", skip, 1);
	xlt_start(t);
}

void
xlt_stop(struct xlt *t)
{
	/* Retried: a daemon or monitor still leaving may write a last file. */
	xlt_run(NULL, "%s stop; for i in 1 2 3 4 5; do rm -rf '%s'; [ -e '%s' ] || break; "
	    "sleep 0.2; done", XLT_XENCOMMONS, t->xt_dir, t->xt_dir);
}

char *
xlt_cfg(struct xlt *t, const char *name, const char *extra)
{
	char *path;
	FILE *f;

	cr_assert_geq(asprintf(&path, "%s/%s.cfg", t->xt_dir, name), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "name = \"%s\"\nkernel = \"%s\"\nmemory = 8\n%s\n", name, XLT_PVGUEST,
	    extra ? extra : "");
	fclose(f);
	return path;
}

void
xlt_create(struct xlt *t, const char *name, const char *extra)
{
	char *cfg = xlt_cfg(t, name, extra), *out;

	cr_assert_eq(xlt_run(&out, "$XL create %s", cfg), 0, "xl create %s:\n%s", name, out);
	free(out);
	free(cfg);
}

int
xlt_console_works(const char *name, const char *token)
{
	char *out, want[64];
	int ok;

	/* Ctrl+] detaches once the answer is in (xl console stays on at EOF) */
	xlt_run(&out, "{ sleep 0.4; printf 'echo %s\\r'; sleep 0.8; printf '\\035'; } | "
	    "timeout 4 $XL console %s | tr -d '\\r'", token, name);
	snprintf(want, sizeof(want), "\n%s\n", token);
	ok = strstr(out, want) != NULL;
	if (!ok)
		fprintf(stderr, "console of %s: %s\n", name, out);
	free(out);
	return ok;
}

pid_t
xlt_daemon_pid(struct xlt *t, const char *daemon)
{
	char path[128];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pid", t->xt_dir, daemon);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

char *
xlt_xs_read(const char *path)
{
	struct xs *xs = xs_open(NULL);
	char *v;

	cr_assert_not_null(xs, "xenstored unreachable");
	v = xs_read(xs, XS_TX_NONE, path, NULL);
	xs_close(xs);
	return v;
}

int
xlt_domid(const char *name)
{
	char *out;
	int rc = xlt_run(&out, "$XL domid '%s'", name), id = -1;

	if (rc == 0)
		id = atoi(out);
	free(out);
	return id;
}

pid_t
xlt_guest_pid(int domid)
{
	struct hv *hv = hv_open(NULL);
	struct hv_dominfo info;
	pid_t pid = -1;

	cr_assert_not_null(hv);
	if (hv_domain_getinfo(hv, (hv_domid_t)domid, &info) == 0)
		pid = info.pid;
	hv_close(hv);
	return pid;
}

int
xlt_nr_domains(void)
{
	struct hv *hv = hv_open(NULL);
	struct hv_dominfo info[256];
	int n;

	cr_assert_not_null(hv);
	n = hv_domain_getinfolist(hv, 0, info, 256);
	hv_close(hv);
	return n;
}

int
xlt_wait(int ms, int (*cond)(const char *arg), const char *arg)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		if (cond(arg))
			return 1;
		usleep(20000);
	}
	return 0;
}

char *
xlt_monitor_log(struct xlt *t, const char *name)
{
	char *path, *text = NULL;
	size_t len = 0;
	FILE *f, *m;
	int c;

	cr_assert_geq(asprintf(&path, "%s/log/xl-%s.log", t->xt_dir, name), 0);
	f = fopen(path, "r");
	free(path);
	m = open_memstream(&text, &len);
	while (f && (c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	if (f)
		fclose(f);
	return text;
}

int
xlt_daemon_fds(struct xlt *t, const char *daemon)
{
	char path[128], buf[32];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/%s.pid", t->xt_dir, daemon);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	n = proc_fd_count(atoi(buf));
	cr_assert_geq(n, 0, "no /proc entry for %s (pid %s)", daemon, buf);
	return n;
}
