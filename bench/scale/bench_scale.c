/*
 * The control plane at scale, on a private stack (xencommons in a mkdtemp
 * RUNDIR): domains are created with `xl create -q` one after another up to
 * max (default 1000) in steps (default 100, with a first step at 10). At each
 * step it prints the create time per domain of the step's batch, the create and
 * destroy time of `probe` extra domains made and destroyed at that level, the
 * time of `xl list`, and each daemon's RSS, CPU time and open fds. Then every
 * domain is destroyed in the same steps downwards, timed per domain, and the
 * daemons' RSS and fds after the last destroy are set beside those before the
 * first create. At the end: the probe create and destroy times at max over
 * those at 10.
 * Usage: bench_scale [max] [step] [probe] [memory MiB] (1000 100 10 16).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_XL
#error BENCH_XL, BENCH_XENCOMMONS and BENCH_PVGUEST name the built programs
#endif

#define BENCH_NDAEMONS 5

static const char *const bench_daemons[BENCH_NDAEMONS] = {
	"hvd", "xenstored", "consoled", "blkback", "netback"
};

static char bench_dir[64];
static int bench_mem = 16;

/* One daemon's figures at one moment. */
struct bench_proc {
	long rss_kb;
	double cpu_s;
	int fds;
};

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

/* fork+exec of xl with its output thrown away (no shell in the timing); its status. */
static int
bench_xl(const char *cmd, const char *arg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		if (arg != NULL && strcmp(cmd, "create") == 0)
			execl(BENCH_XL, "xl", cmd, "-q", arg, (char *)NULL);
		else
			execl(BENCH_XL, "xl", cmd, arg, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes <dir>/d.cfg, one config for every domain: the name is given by xl create's key=value. */
static void
bench_cfg(const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.cfg", bench_dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "name = \"%s\"\nkernel = \"%s\"\nmemory = %d\non_poweroff = \"destroy\"\n",
	    name, BENCH_PVGUEST, bench_mem);
	fclose(f);
}

/* Creates domain <prefix><i> from its own config; 0 on success. */
static int
bench_create(const char *prefix, int i)
{
	char name[32], path[128];

	snprintf(name, sizeof(name), "%s%d", prefix, i);
	snprintf(path, sizeof(path), "%s/%s.cfg", bench_dir, name);
	if (access(path, R_OK) != 0)
		bench_cfg(name);
	return bench_xl("create", path);
}

/* Destroys domain <prefix><i>; 0 on success. */
static int
bench_destroy(const char *prefix, int i)
{
	char name[32];

	snprintf(name, sizeof(name), "%s%d", prefix, i);
	return bench_xl("destroy", name);
}

/* The pid in <dir>/<name>.pid, or 0. */
static int
bench_pid(const char *name)
{
	char path[128];
	int pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pid", bench_dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

/* RSS, CPU time (user + system) and open fds of one process. */
static struct bench_proc
bench_proc(int pid)
{
	struct bench_proc p = { 0, 0, 0 };
	char path[64], buf[1024], *s;
	unsigned long ut, st;
	long pages;
	struct dirent *de;
	FILE *f;
	DIR *d;

	if (pid <= 0)
		return p;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) && (s = strrchr(buf, ')')) != NULL &&
		    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
		    &st) == 2)
			p.cpu_s = (double)(ut + st) / sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%*d %ld", &pages) == 1)
			p.rss_kb = pages * (sysconf(_SC_PAGESIZE) / 1024);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			p.fds += de->d_name[0] != '.';
		closedir(d);
	}
	return p;
}

/* Every daemon's figures now. */
static void
bench_snap(struct bench_proc out[BENCH_NDAEMONS])
{
	for (int i = 0; i < BENCH_NDAEMONS; i++)
		out[i] = bench_proc(bench_pid(bench_daemons[i]));
}

/* One row of the daemons' RSS (MiB), CPU used since `base` (s) and fds. */
static void
bench_print_snap(const struct bench_proc now[BENCH_NDAEMONS],
    const struct bench_proc base[BENCH_NDAEMONS])
{
	for (int i = 0; i < BENCH_NDAEMONS; i++) {
		if (now[i].rss_kb == 0)
			continue;
		printf("  %s %.1fM/%.2fs/%d", bench_daemons[i], now[i].rss_kb / 1024.0,
		    now[i].cpu_s - base[i].cpu_s, now[i].fds);
	}
	printf("\n");
}

/* Wall time of one xl list. */
static double
bench_list_time(void)
{
	double t0 = bench_now();

	bench_xl("list", NULL);
	return bench_now() - t0;
}

/* Creates then destroys `probe` extra domains at the present level; ms per create and destroy. */
static void
bench_probe(int probe, double *create_ms, double *destroy_ms)
{
	double t0 = bench_now();
	int fails = 0;

	for (int i = 0; i < probe; i++)
		fails += bench_create("p", i) != 0;
	*create_ms = (bench_now() - t0) * 1e3 / probe;
	t0 = bench_now();
	for (int i = 0; i < probe; i++)
		fails += bench_destroy("p", i) != 0;
	*destroy_ms = (bench_now() - t0) * 1e3 / probe;
	if (fails)
		printf("  (%d probe commands failed)\n", fails);
}

/* Makes xl and xencommons use the private stack. */
static int
bench_stack_start(void)
{
	char sock[128];

	snprintf(bench_dir, sizeof(bench_dir), "/tmp/benchscale.XXXXXX");
	if (mkdtemp(bench_dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	setenv("PVSTACK_RUNDIR", bench_dir, 1);
	snprintf(sock, sizeof(sock), "%s/xenstored/socket", bench_dir);
	setenv("XENSTORED_PATH", sock, 1);
	if (bench_sh("%s start >/dev/null 2>&1", BENCH_XENCOMMONS) != 0) {
		fprintf(stderr, "bench_scale: xencommons start failed (logs in %s/log)\n",
		    bench_dir);
		return -1;
	}
	return 0;
}

/* The number of xl list lines naming a domain other than Domain-0. */
static int
bench_count(void)
{
	char cmd[256];
	int n = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s list 2>/dev/null | tail -n +3 | wc -l", BENCH_XL);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

int
main(int argc, char **argv)
{
	int max = argc > 1 ? atoi(argv[1]) : 1000, step = argc > 2 ? atoi(argv[2]) : 100;
	int probe = argc > 3 ? atoi(argv[3]) : 10, n = 0, fails = 0, nsteps = 0;
	struct bench_proc base[BENCH_NDAEMONS], now[BENCH_NDAEMONS];
	double first_c = 0, first_d = 0, last_c = 0, last_d = 0, t0;
	int levels[128];

	if (argc > 4)
		bench_mem = atoi(argv[4]);
	if (max < 10 || step < 1 || probe < 1 || bench_mem < 8) {
		fprintf(stderr, "usage: bench_scale [max>=10] [step] [probe] [memory MiB>=8]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (bench_stack_start() < 0)
		return 1;
	levels[nsteps++] = 10;
	for (int l = step; l <= max && nsteps < 128; l += step)
		if (l > 10)
			levels[nsteps++] = l;
	bench_snap(base);
	printf("scale bench: %d MiB pvguests up to %d, %d probe creates/destroys per level\n",
	    bench_mem, max, probe);
	printf("daemon figures: RSS / CPU since start / fds\n  before:");
	bench_print_snap(base, base);
	for (int s = 0; s < nsteps; s++) {
		int batch = levels[s] - n;
		double c_ms, pc, pd, l_ms;

		t0 = bench_now();
		for (; n < levels[s]; n++)
			fails += bench_create("d", n) != 0;
		c_ms = (bench_now() - t0) * 1e3 / batch;
		bench_probe(probe, &pc, &pd);
		l_ms = bench_list_time() * 1e3;
		bench_snap(now);
		printf("%4d domains: batch create %.1f ms/dom, probe create %.1f ms, destroy %.1f ms, "
		    "xl list %.1f ms\n", n, c_ms, pc, pd, l_ms);
		bench_print_snap(now, base);
		if (s == 0) {
			first_c = pc;
			first_d = pd;
		}
		last_c = pc;
		last_d = pd;
		fflush(stdout);
	}
	printf("running: %d domains listed (of %d; %d creates failed)\n", bench_count(), n, fails);
	for (int s = nsteps - 1; s >= 0; s--) {
		int lo = s > 0 ? levels[s - 1] : 0, batch = n - lo;

		t0 = bench_now();
		for (; n > lo; n--)
			fails += bench_destroy("d", n - 1) != 0;
		printf("%4d -> %4d domains: destroy %.1f ms/dom\n", lo + batch, lo,
		    (bench_now() - t0) * 1e3 / batch);
		fflush(stdout);
	}
	usleep(500000);		/* let the daemons finish their last watch events */
	bench_snap(now);
	printf("after destroying all (%d listed):", bench_count());
	bench_print_snap(now, base);
	for (int i = 0; i < BENCH_NDAEMONS; i++)
		if (base[i].rss_kb)
			printf("  %s RSS after/before = %.2f, fds %d -> %d\n", bench_daemons[i],
			    (double)now[i].rss_kb / base[i].rss_kb, base[i].fds, now[i].fds);
	printf("probe create at %d / at 10 = %.2f (%.1f / %.1f ms); destroy = %.2f (%.1f / %.1f ms)\n",
	    levels[nsteps - 1], last_c / first_c, last_c, first_c, last_d / first_d, last_d,
	    first_d);
	bench_sh("%s stop >/dev/null; rm -rf '%s'", BENCH_XENCOMMONS, bench_dir);
	return fails ? 1 : 0;
}
