/* The private host of the services tests (svctest.h). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "svctest.h"

#ifndef SVC_BUILD_ROOT
#error SVC_BUILD_ROOT and SVC_SOURCE_ROOT name the trees
#endif

/* The built programs linked into the private bin dir, as installed names. */
static const char *const svc_progs[][2] = {
	{ "hv/hvd", "hvd" }, { "xenstored/xenstored", "xenstored" },
	{ "consoled/consoled", "consoled" }, { "consoled/pvconsole", "pvconsole" },
	{ "blkback/blkback", "blkback" }, { "netback/netback", "netback" },
	{ "toolstack/xl", "xl" }, { "toolstack/xencommons", "xencommons" },
	{ "services/xendomains", "xendomains" }, { "xenstored/xenstore-write", "xenstore-write" },
	{ "xenstored/xenstore-read", "xenstore-read" },
};

const char *
svc_build(const char *rel)
{
	static char buf[8][512];
	static int n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", SVC_BUILD_ROOT, rel);
	return p;
}

const char *
svc_src(const char *rel)
{
	static char buf[8][512];
	static int n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", SVC_SOURCE_ROOT, rel);
	return p;
}

int
svc_run(char **out, const char *fmt, ...)
{
	char *cmd, *full, *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *p, *m;
	int c, status;

	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	cr_assert_geq(asprintf(&full, "(%s) 2>&1 </dev/null", cmd), 0);
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
svc_write(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	cr_assert_not_null(f, "cannot write %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	cr_assert_eq(fclose(f), 0);
}

void
svc_setup(struct svc *s)
{
	char link[256], sock[160];

	snprintf(s->sv_dir, sizeof(s->sv_dir), "/tmp/pvsvc.XXXXXX");
	cr_assert_not_null(mkdtemp(s->sv_dir));
	snprintf(s->sv_run, sizeof(s->sv_run), "%s/run", s->sv_dir);
	snprintf(s->sv_conf, sizeof(s->sv_conf), "%s/etc-xen", s->sv_dir);
	snprintf(s->sv_defaults, sizeof(s->sv_defaults), "%s/etc-default", s->sv_dir);
	snprintf(s->sv_bin, sizeof(s->sv_bin), "%s/bin", s->sv_dir);
	const char *dirs[] = { s->sv_run, s->sv_conf, s->sv_defaults, s->sv_bin };
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(mkdir(dirs[i], 0755), 0, "mkdir %s", dirs[i]);
	snprintf(link, sizeof(link), "%s/auto", s->sv_conf);
	cr_assert_eq(mkdir(link, 0755), 0);
	for (size_t i = 0; i < sizeof(svc_progs) / sizeof(svc_progs[0]); i++) {
		const char *prog = svc_build(svc_progs[i][0]);
		snprintf(link, sizeof(link), "%s/%s", s->sv_bin, svc_progs[i][1]);
		if (access(prog, X_OK) == 0)
			cr_assert_eq(symlink(prog, link), 0, "link %s", link);
		else if (access(prog, R_OK) == 0) {	/* a configured script, installed with +x */
			svc_write(link, "#!/bin/sh\nexec sh %s \"$@\"\n", prog);
			cr_assert_eq(chmod(link, 0755), 0);
		}	/* else netback while it is not built */
	}
	setenv("PVSTACK_RUNDIR", s->sv_run, 1);
	setenv("PVSTACK_CONFDIR", s->sv_conf, 1);
	setenv("PVSTACK_DEFAULTDIR", s->sv_defaults, 1);
	setenv("PVSTACK_BINDIR", s->sv_bin, 1);
	unsetenv("PVSTACK_LOGDIR");
	snprintf(sock, sizeof(sock), "%s/xenstored/socket", s->sv_run);
	setenv("XENSTORED_PATH", sock, 1);
	/* xl's shutdown requests give up on an unresponsive guest sooner */
	setenv("PVSTACK_XL_ACK_TIMEOUT", "20", 1);
}

void
svc_auto_domain(struct svc *s, const char *name, const char *extra)
{
	char cfg[256], link[256];

	snprintf(cfg, sizeof(cfg), "%s/%s.cfg", s->sv_conf, name);
	svc_write(cfg, "name = \"%s\"\nkernel = \"%s\"\nmemory = 16\non_poweroff = \"destroy\"\n%s\n",
	    name, svc_build("guest/pvguest"), extra ? extra : "");
	snprintf(link, sizeof(link), "%s/auto/%s.cfg", s->sv_conf, name);
	cr_assert_eq(symlink(cfg, link), 0);
}

int
svc_nr_guests(void)
{
	char *out;
	int n = 0;

	if (svc_run(&out, "%s/xl list", getenv("PVSTACK_BINDIR")) != 0) {
		free(out);
		return -1;
	}
	for (char *l = strchr(out, '\n'); l && l[1]; l = strchr(l + 1, '\n'))
		if (strncmp(l + 1, "Domain-0 ", 9) != 0)
			n++;
	free(out);
	return n;
}

void
svc_teardown(struct svc *s)
{
	if (s->sv_dir[0] == '\0')
		return;
	if (getenv("PVSTACK_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", s->sv_dir);
		svc_run(NULL, "\"$PVSTACK_BINDIR/xencommons\" stop");
		return;
	}
	/* every domain destroyed, then the daemons, then the files */
	svc_run(NULL, "for id in $(\"$PVSTACK_BINDIR/xl\" list 2>/dev/null | awk 'NR > 2 { print $2 }'); do "
	    "\"$PVSTACK_BINDIR/xl\" destroy $id; done; \"$PVSTACK_BINDIR/xencommons\" stop; "
	    "for i in 1 2 3 4 5; do rm -rf '%s'; [ -e '%s' ] || break; sleep 0.2; done",
	    s->sv_dir, s->sv_dir);
	s->sv_dir[0] = '\0';
}

long long
svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
