/*
 * Helpers of the services tests: a private host for the init scripts and
 * units (its own RUNDIR, /etc/xen, /etc/default and a bin directory of links
 * to the built programs, all under one mkdtemp directory, exported as the
 * PVSTACK_* variables the scripts read), shell commands with their output.
 */
#ifndef PVSTACK_SVCTEST_H
#define PVSTACK_SVCTEST_H

struct svc {
	char sv_dir[64];	/* everything of the test lives here */
	char sv_run[96];	/* PVSTACK_RUNDIR */
	char sv_conf[96];	/* PVSTACK_CONFDIR, the test's /etc/xen */
	char sv_defaults[96];	/* PVSTACK_DEFAULTDIR, the test's /etc/default */
	char sv_bin[96];	/* PVSTACK_BINDIR: links to the built programs */
};

/* A built file, relative to the build root ("services/init.d-xencommons"). */
const char *svc_build(const char *rel);
/* A source file, relative to the source root. */
const char *svc_src(const char *rel);
/* Makes the private host and exports its variables. */
void svc_setup(struct svc *s);
/* Stops whatever the test left running (domains, daemons) and removes it all. */
void svc_teardown(struct svc *s);
/* Writes a file with printf formatting. */
void svc_write(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes <conf>/<name>.cfg for pvguest with extra lines and links it into <conf>/auto. */
void svc_auto_domain(struct svc *s, const char *name, const char *extra);
/* Runs a shell command with stdout and stderr in *out (if out); its exit status, -1 on a signal. */
int svc_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Number of running domains but dom0, from `xl list`. */
int svc_nr_guests(void);
/* Monotonic milliseconds. */
long long svc_now_ms(void);

#endif
