/*
 * xl benchmarks on a private stack (xencommons in a mkdtemp RUNDIR):
 *  1. xl create -c to the guest's prompt, median of 20, next to the cost of
 *     starting xl itself (xl help) measured in the same rounds (one before
 *     each pair of creates, so a load that comes and goes weighs on both);
 *  2. 50 domains created in parallel: wall time until every xl create returned;
 *  1 and 2 run on two stacks side by side, guests confined (the default) and
 *  unconfined (hvd --insecure), rounds interleaved, so the price of the
 *  confinement is a ratio from one run;
 *  3. dom0 memory added per running domain: PSS of hvd, xenstored, consoled
 *     and every xl monitor, before and after starting the domains, per domain.
 * The stacks' run directories are on a tmpfs the bench mounts, as /run (where
 * /run/pvstack lives) is on Debian; their logs on the disk, as /var/log is.
 * BENCH_XL_RUNDIR_DISK=1 keeps the run directories on the disk too (this
 * VM's /run is on its disk; the figures before 2026-11-29 evening were so).
 * Usage: bench_xl [rounds] (default 20).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_XL
#error BENCH_XL, BENCH_XENCOMMONS and BENCH_PVGUEST name the built programs
#endif

#define BENCH_PARALLEL 50

static char bench_dir[128];
static char bench_base[64];	/* the logs, and the run directories' tmpfs (run/) */
static bool bench_tmpfs;

/* Monotonic time in seconds. */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs a shell command quietly; its exit status. */
static int
bench_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes <dir>/<name>.cfg for pvguest. */
static void
bench_cfg(const char *name)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.cfg", bench_dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "name = \"%s\"\nkernel = \"%s\"\nmemory = 8\non_poweroff = \"destroy\"\n", name,
	    BENCH_PVGUEST);
	fclose(f);
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One xl create -c, timed until the prompt shows on the console; detaches after. */
static double
bench_create_to_prompt(void)
{
	char cfg[192], buf[8192];
	size_t len = 0;
	int fd;
	double t0 = bench_now(), t = -1;
	pid_t pid;

	snprintf(cfg, sizeof(cfg), "%s/p.cfg", bench_dir);
	pid = forkpty(&fd, NULL, NULL, NULL);
	if (pid == 0) {
		execl(BENCH_XL, "xl", "create", "-q", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	while (bench_now() - t0 < 10) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof(buf) - len - 1);
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
		if (strstr(buf, "pvguest# ")) {
			t = bench_now() - t0;
			break;
		}
	}
	if (write(fd, "\x1d", 1) != 1)
		kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(fd);
	bench_sh("%s destroy p >/dev/null 2>&1", BENCH_XL);
	return t;
}

/* The cost of starting xl at all (process start, dynamic linking, option parsing). */
static double
bench_xl_help(void)
{
	double t0 = bench_now();
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execl(BENCH_XL, "xl", "help", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return bench_now() - t0;
}

/* Proportional set size of a process in KiB (0 if gone). */
static long
bench_pss(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* PSS of the three daemons and of every xl process (the monitors). */
static long
bench_dom0_pss(int *monitors)
{
	static const char *const daemons[] = { "hvd", "xenstored", "consoled" };
	char path[PATH_MAX], exe[PATH_MAX], xl[PATH_MAX];
	long total = 0;
	struct dirent *de;
	DIR *d;

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s.pid", bench_dir, daemons[i]);
		FILE *f = fopen(path, "r");
		int pid = 0;
		if (f && fscanf(f, "%d", &pid) == 1)
			total += bench_pss(pid);
		if (f)
			fclose(f);
	}
	if (realpath(BENCH_XL, xl) == NULL)
		return total;
	*monitors = 0;
	d = opendir("/proc");
	while (d && (de = readdir(d)) != NULL) {
		int pid = atoi(de->d_name);
		ssize_t n;
		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
			continue;
		exe[n] = '\0';
		if (strcmp(exe, xl) == 0) {
			total += bench_pss(pid);
			(*monitors)++;
		}
	}
	if (d)
		closedir(d);
	return total;
}

/* A private stack: the confined one, and the same with hvd --insecure as the baseline. */
struct bench_stack {
	const char *label;
	const char *hvd_args;
	char dir[128];
	double *prompt;		/* one create-to-prompt time per round */
	double par;		/* wall time of BENCH_PARALLEL parallel creates */
	int running;
};

/* Makes later xl calls and bench_dir point at s. */
static void
bench_use(struct bench_stack *s)
{
	char path[192];

	snprintf(bench_dir, sizeof(bench_dir), "%s", s->dir);
	setenv("PVSTACK_RUNDIR", s->dir, 1);
	snprintf(path, sizeof(path), "%s/xenstored/socket", s->dir);
	setenv("XENSTORED_PATH", path, 1);
	snprintf(path, sizeof(path), "%s/log.%s", bench_base, strrchr(s->dir, '.') + 1);
	setenv("PVSTACK_LOGDIR", path, 1);
}

/* The base directory on the disk, and a tmpfs at its run/ unless BENCH_XL_RUNDIR_DISK is set. */
static int
bench_base_make(void)
{
	const char *disk = getenv("BENCH_XL_RUNDIR_DISK");
	char run[96];

	snprintf(bench_base, sizeof(bench_base), "/tmp/benchxl.XXXXXX");
	if (mkdtemp(bench_base) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(run, sizeof(run), "%s/run", bench_base);
	if (mkdir(run, 0755) < 0) {
		perror(run);
		return -1;
	}
	bench_tmpfs = !(disk && *disk && strcmp(disk, "0") != 0);
	if (bench_tmpfs && mount("bench-run", run, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
		perror("mount tmpfs");
		return -1;
	}
	printf("run directories on %s, logs on the disk (%s)\n", bench_tmpfs ? "a tmpfs" : "the disk",
	    bench_base);
	return 0;
}

/* Unmounts the run directories' tmpfs and removes the base. */
static void
bench_base_remove(void)
{
	char run[96];

	snprintf(run, sizeof(run), "%s/run", bench_base);
	if (bench_tmpfs && umount(run) < 0)
		perror("umount");
	bench_sh("rm -rf '%s'", bench_base);
}

static int
bench_stack_start(struct bench_stack *s)
{
	snprintf(s->dir, sizeof(s->dir), "%s/run/stack.XXXXXX", bench_base);
	if (mkdtemp(s->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	bench_use(s);
	setenv("HVD_ARGS", s->hvd_args, 1);
	if (bench_sh("%s start >/dev/null 2>&1", BENCH_XENCOMMONS) != 0) {
		fprintf(stderr, "bench_xl: xencommons start failed (%s)\n", s->label);
		return -1;
	}
	unsetenv("HVD_ARGS");
	bench_cfg("p");
	for (int i = 0; i < BENCH_PARALLEL; i++) {
		char n[16];
		snprintf(n, sizeof(n), "b%02d", i);
		bench_cfg(n);
	}
	return 0;
}

/* BENCH_PARALLEL creates at once; then checks they all run. */
static void
bench_stack_parallel(struct bench_stack *s)
{
	double t0;

	bench_use(s);
	t0 = bench_now();
	bench_sh("for i in $(seq -w 0 %d); do %s create -q %s/b$i.cfg & done; wait",
	    BENCH_PARALLEL - 1, BENCH_XL, bench_dir);
	s->par = bench_now() - t0;
	usleep(500000);		/* let monitors settle */
	s->running = bench_sh("test $(%s list | grep -c '^b[0-9][0-9] ') -eq %d", BENCH_XL,
	    BENCH_PARALLEL) == 0;
}

static double
bench_sorted_median(double *v, int n, double *min)
{
	qsort(v, n, sizeof(*v), bench_cmp);
	*min = v[0];
	return v[n / 2];
}

/* The lower quartile of a sorted v: under a load that comes and goes, the creates it spared. */
static double
bench_quartile(const double *v, int n)
{
	return v[n / 4];
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20, mon0 = 0, mon1 = 0;
	struct bench_stack st[2] = {
		{ .label = "confined", .hvd_args = "" },
		{ .label = "unconfined (hvd --insecure)", .hvd_args = "--insecure" },
	};
	double min, help, med[2], mins[2];
	long pss0, pss1;

	if (rounds < 1)
		rounds = 1;
	if (bench_base_make() < 0)
		return 1;
	for (int i = 0; i < 2; i++) {
		st[i].prompt = calloc(rounds, sizeof(double));
		if (bench_stack_start(&st[i]) < 0)
			return 1;
	}
	/* interleaved, so drift of the machine hits both stacks and the baseline alike */
	double *helps = calloc(rounds, sizeof(double));
	for (int r = 0; r < rounds; r++) {
		helps[r] = bench_xl_help();
		for (int i = 0; i < 2; i++) {
			bench_use(&st[i]);
			st[i].prompt[r] = bench_create_to_prompt();
		}
	}
	help = bench_sorted_median(helps, rounds, &min);
	free(helps);
	for (int i = 0; i < 2; i++) {
		med[i] = bench_sorted_median(st[i].prompt, rounds, &mins[i]);
		printf("xl create -c to the guest's prompt, %s: median %.2f ms, best %.2f ms, "
		    "lower quartile %.2f ms (%d rounds) = %.1fx a fork+exec of xl help\n", st[i].label,
		    med[i] * 1e3, mins[i] * 1e3, bench_quartile(st[i].prompt, rounds) * 1e3, rounds,
		    med[i] / help);
	}
	printf("  baseline, fork+exec of xl help: median %.2f ms\n", help * 1e3);
	printf("  confinement costs %.2f ms per create-to-prompt: confined/unconfined = %.2f\n",
	    (med[0] - med[1]) * 1e3, med[0] / med[1]);

	bench_use(&st[0]);
	pss0 = bench_dom0_pss(&mon0);
	bench_stack_parallel(&st[0]);
	pss1 = bench_dom0_pss(&mon1);
	bench_stack_parallel(&st[1]);
	for (int i = 0; i < 2; i++)
		printf("%d domains created in parallel, %s: %.0f ms (%.1f ms per domain)%s\n",
		    BENCH_PARALLEL, st[i].label, st[i].par * 1e3, st[i].par * 1e3 / BENCH_PARALLEL,
		    st[i].running ? "" : " -- NOT ALL RUNNING");
	printf("  confined/unconfined = %.2f\n", st[0].par / st[1].par);
	printf("dom0 memory per running domain (PSS of hvd, xenstored, consoled and %d monitors): "
	    "%.0f KiB (%ld KiB before, %ld KiB with %d domains)\n", mon1 - mon0,
	    (double)(pss1 - pss0) / BENCH_PARALLEL, pss0, pss1, BENCH_PARALLEL);

	for (int i = 0; i < 2; i++) {
		bench_use(&st[i]);
		/* destroyed first: their monitors end with them, not after waiting for hvd */
		bench_sh("for d in $(%s list | awk 'NR > 2 { print $1 }'); do %s destroy $d; done "
		    ">/dev/null 2>&1", BENCH_XL, BENCH_XL);
		bench_sh("%s stop >/dev/null; rm -rf '%s'", BENCH_XENCOMMONS, st[i].dir);
		free(st[i].prompt);
	}
	bench_base_remove();
	return st[0].running && st[1].running ? 0 : 1;
}
