/*
 * The guest's disk path against the host's own: a private stack (xencommons in
 * a mkdtemp RUNDIR, blkback included) boots pvguest with two disks, and each
 * case runs `blk bench` in the guest, then fio (libaio) on the same file with
 * the same block size, queue depth and time, in the same run:
 *   4 KiB random read and write at QD32 and 1 MiB sequential read and write
 *   at QD4 on an image on the root file system (fio with O_DIRECT, as blkback
 *   opens it), and 4 KiB random read at QD32 from the page cache (an image on
 *   tmpfs, where neither side can use O_DIRECT).
 * Each case runs ROUNDS times, guest and fio taking turns; the table has the
 * medians and the guest's share of fio's IOPS per case. Not a test.
 * Usage: bench_blk [SECONDS [IMAGE_MIB [ROUNDS]]] (default 5 s, 1024 MiB, 3); the guest's
 * command line from $BENCH_BLK_CMDLINE (blkfront.max_queues=1 and the like);
 * $BENCH_BLK_CPUS pins the guest (cpus=, and blkback's worker with it);
 * $BENCH_BLK_ONLY=TEXT runs only the cases whose label has TEXT;
 * $BENCH_BLK_POLL_US sets how long the guest polls its rings before sleeping.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
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

#define BENCH_SHM_MIB 256
#define BENCH_OUT_MAX (1 << 20)
#define BENCH_ROUNDS_MAX 15

struct bench_case {
	const char *bc_label;
	const char *bc_vdev;		/* xvda: the disk image, xvdb: the tmpfs one */
	const char *bc_guest;		/* blk bench arguments after VDEV, before SECONDS */
	const char *bc_rw;		/* fio --rw */
	const char *bc_bs;
	int bc_qd;
	int bc_direct;
	double bc_iops[2], bc_mibs[2];	/* guest, fio */
};

static struct bench_case bench_cases[] = {
	{ "4k rand read QD32", "xvda", "rand read 4k 32", "randread", "4k", 32, 1 },
	{ "4k rand write QD32", "xvda", "rand write 4k 32", "randwrite", "4k", 32, 1 },
	{ "1M seq read QD4", "xvda", "seq read 1M 4", "read", "1M", 4, 1 },
	{ "1M seq write QD4", "xvda", "seq write 1M 4", "write", "1M", 4, 1 },
	{ "4k rand read QD32 page cache", "xvdb", "rand read 4k 32", "randread", "4k", 32, 0 },
};

static char bench_run[64], bench_imgdir[64], bench_disk[128], bench_shm[128];
static int bench_con = -1;		/* the guest's console (xl create -c on a pty) */
static pid_t bench_xl = -1;
static char *bench_out;
static size_t bench_outlen;

/* Monotonic seconds. */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs a shell command; its exit status. */
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

/* Reads the console until needle shows after from, or secs pass. */
static int
bench_expect(const char *needle, size_t from, double secs)
{
	double end = bench_now() + secs;

	while (bench_now() < end) {
		if (strstr(bench_out + from, needle) != NULL)
			return 0;
		struct pollfd pfd = { .fd = bench_con, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (bench_outlen + 4096 >= BENCH_OUT_MAX)
			bench_outlen = from = 0;	/* only the tail matters */
		ssize_t n = read(bench_con, bench_out + bench_outlen, 4095);
		if (n <= 0)
			return -1;
		bench_outlen += n;
		bench_out[bench_outlen] = '\0';
	}
	return -1;
}

/* Types one command line and waits for the next prompt; returns where its output starts. */
static const char *
bench_cmd(double secs, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t from = bench_outlen;
	strcat(line, "\r");
	if (write(bench_con, line, strlen(line)) != (ssize_t)strlen(line) ||
	    bench_expect("\npvguest# ", from, secs) < 0) {
		fprintf(stderr, "bench_blk: no prompt after \"%s\"; console:\n%s\n", line,
		    bench_out + from);
		return NULL;
	}
	return bench_out + from;
}

/* Writes the config: pvguest, the disk image as xvda, the tmpfs one as xvdb. */
static int
bench_config(char *path, size_t len)
{
	snprintf(path, len, "%s/bblk.cfg", bench_run);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "name = \"bblk\"\nkernel = \"%s\"\nmemory = 64\non_poweroff = \"destroy\"\n"
	    "disk = [ 'format=raw, vdev=xvda, access=rw, target=%s',\n"
	    "         'format=raw, vdev=xvdb, access=rw, target=%s' ]\n",
	    BENCH_PVGUEST, bench_disk, bench_shm);
	if (getenv("BENCH_BLK_CMDLINE") != NULL)	/* "blkfront.max_queues=1" ... */
		fprintf(f, "cmdline = \"%s\"\n", getenv("BENCH_BLK_CMDLINE"));
	if (getenv("BENCH_BLK_CPUS") != NULL && getenv("BENCH_BLK_CPUS")[0] != '\0')
		fprintf(f, "cpus = \"%s\"\n", getenv("BENCH_BLK_CPUS"));
	return fclose(f);
}

/* Images written whole (a sparse one would be read from holes, not the disk). */
static int
bench_images(int mib)
{
	snprintf(bench_imgdir, sizeof(bench_imgdir), "/var/tmp/benchblk.XXXXXX");
	if (mkdtemp(bench_imgdir) == NULL)
		return -1;
	snprintf(bench_disk, sizeof(bench_disk), "%s/disk.img", bench_imgdir);
	snprintf(bench_shm, sizeof(bench_shm), "/dev/shm/%s.img", strrchr(bench_imgdir, '/') + 1);
	printf("filling %d MiB on %s and %d MiB on tmpfs...\n", mib, bench_imgdir, BENCH_SHM_MIB);
	fflush(stdout);
	if (bench_sh("fio --name=fill --filename=%s --rw=write --bs=1M --size=%dM --ioengine=libaio"
	    " --direct=1 --iodepth=8 >/dev/null", bench_disk, mib) != 0 ||
	    bench_sh("fio --name=fill --filename=%s --rw=write --bs=1M --size=%dM >/dev/null",
	    bench_shm, BENCH_SHM_MIB) != 0) {
		fprintf(stderr, "bench_blk: fio could not fill the images (apt-get install fio)\n");
		return -1;
	}
	return 0;
}

/* The stack, then the guest on a pty, up to its prompt with both disks. */
static int
bench_boot(void)
{
	char cfg[128], pidfile[128];

	snprintf(bench_run, sizeof(bench_run), "/tmp/benchblk.XXXXXX");
	if (mkdtemp(bench_run) == NULL)
		return -1;
	setenv("PVSTACK_RUNDIR", bench_run, 1);
	setenv("PVSTACK_CONFDIR", bench_run, 1);	/* no host xl.conf or xencommons */
	snprintf(cfg, sizeof(cfg), "%s/xenstored/socket", bench_run);
	setenv("XENSTORED_PATH", cfg, 1);
	if (bench_sh("%s start >/dev/null 2>&1", BENCH_XENCOMMONS) != 0) {
		fprintf(stderr, "bench_blk: xencommons start failed (logs in %s/log)\n", bench_run);
		return -1;
	}
	snprintf(pidfile, sizeof(pidfile), "%s/blkback.pid", bench_run);
	if (access(pidfile, F_OK) != 0) {
		fprintf(stderr, "bench_blk: blkback is not running (not built?)\n");
		return -1;
	}
	if (bench_config(cfg, sizeof(cfg)) < 0)
		return -1;
	bench_xl = forkpty(&bench_con, NULL, NULL, NULL);
	if (bench_xl == 0) {
		execl(BENCH_XL, "xl", "create", "-q", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	if (bench_xl < 0 || bench_expect("pvguest# ", 0, 60) < 0 ||
	    strstr(bench_out, "blk: xvda: connected") == NULL ||
	    strstr(bench_out, "blk: xvdb: connected") == NULL) {
		fprintf(stderr, "bench_blk: the guest did not come up with both disks; console:\n%s\n",
		    bench_out);
		return -1;
	}
	return 0;
}

/* The guest's figures from the last line of blk bench. */
static int
bench_guest(struct bench_case *c, int secs)
{
	const char *poll = getenv("BENCH_BLK_POLL_US");	/* the guest's ring polling */
	const char *out = bench_cmd(secs + 60, "blk bench %s %s %d %s", c->bc_vdev, c->bc_guest, secs,
	    poll ? poll : "");
	const char *at = out != NULL ? strstr(out, "IOPS ") : NULL;

	if (at == NULL || sscanf(at, "IOPS %lf MiB/s %lf", &c->bc_iops[0], &c->bc_mibs[0]) != 2) {
		fprintf(stderr, "bench_blk: %s: no IOPS line from the guest\n", c->bc_label);
		return -1;
	}
	return 0;
}

/* fio's figures (terse v3: field 7/8 read KiB/s and IOPS, 48/49 write). */
static int
bench_fio(struct bench_case *c, int secs)
{
	char cmd[1024], line[8192];
	const char *file = strcmp(c->bc_vdev, "xvda") == 0 ? bench_disk : bench_shm;
	int write = strstr(c->bc_rw, "write") != NULL;

	snprintf(cmd, sizeof(cmd), "fio --name=native --filename=%s --rw=%s --bs=%s --iodepth=%d"
	    " --ioengine=libaio --direct=%d --runtime=%d --time_based --minimal --terse-version=3"
	    " 2>/dev/null", file, c->bc_rw, c->bc_bs, c->bc_qd, c->bc_direct, secs);
	FILE *p = popen(cmd, "r");
	if (p == NULL || fgets(line, sizeof(line), p) == NULL) {
		if (p)
			pclose(p);
		fprintf(stderr, "bench_blk: %s: fio gave nothing\n", c->bc_label);
		return -1;
	}
	pclose(p);
	char *f[64], *save = NULL;
	int n = 0;
	for (char *tok = strtok_r(line, ";", &save); tok && n < 64; tok = strtok_r(NULL, ";", &save))
		f[n++] = tok;
	if (n < 50)
		return -1;
	c->bc_mibs[1] = atof(f[write ? 47 : 6]) / 1024.0;
	c->bc_iops[1] = atof(f[write ? 48 : 7]);
	return 0;
}

static void
bench_table(void)
{
	printf("\n%-30s %12s %12s %12s %12s %7s\n", "case", "guest IOPS", "guest MiB/s",
	    "fio IOPS", "fio MiB/s", "ratio");
	for (size_t i = 0; i < sizeof(bench_cases) / sizeof(bench_cases[0]); i++) {
		struct bench_case *c = &bench_cases[i];
		if (c->bc_iops[1] == 0)
			continue;	/* not run (BENCH_BLK_ONLY) */
		printf("%-30s %12.0f %12.1f %12.0f %12.1f %7.2f\n", c->bc_label, c->bc_iops[0],
		    c->bc_mibs[0], c->bc_iops[1], c->bc_mibs[1],
		    c->bc_iops[1] > 0 ? c->bc_iops[0] / c->bc_iops[1] : 0);
	}
}

/* Powers the guest off, stops the stack, removes the images and the RUNDIR. */
static void
bench_cleanup(void)
{
	if (bench_con >= 0 && bench_xl > 0) {
		if (write(bench_con, "poweroff\r", 9) == 9)
			bench_expect("powering off", 0, 5);
		if (write(bench_con, "\x1d", 1) != 1 || waitpid(bench_xl, NULL, WNOHANG) == 0) {
			kill(bench_xl, SIGTERM);
			waitpid(bench_xl, NULL, 0);
		}
		close(bench_con);
	}
	if (bench_run[0] != '\0') {
		bench_sh("%s destroy bblk >/dev/null 2>&1", BENCH_XL);
		bench_sh("%s stop >/dev/null 2>&1", BENCH_XENCOMMONS);
		bench_sh("rm -rf %s", bench_run);
	}
	if (bench_imgdir[0] != '\0')
		bench_sh("rm -rf %s %s", bench_imgdir, bench_shm);
}

/* The middle value of n (sorts v). */
static double
bench_median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * rounds of a case, the guest and fio taking turns, and the medians: the
 * disk under the image is a shared virtual one whose speed drifts by 2x over
 * minutes, so one guest run beside one fio run says little.
 */
static int
bench_case(struct bench_case *c, int secs, int rounds)
{
	double v[4][BENCH_ROUNDS_MAX];

	printf("%s:", c->bc_label);
	fflush(stdout);
	for (int r = 0; r < rounds; r++) {
		if (bench_guest(c, secs) < 0 || bench_fio(c, secs) < 0)
			return -1;
		v[0][r] = c->bc_iops[0];
		v[1][r] = c->bc_mibs[0];
		v[2][r] = c->bc_iops[1];
		v[3][r] = c->bc_mibs[1];
		printf(" %.0f/%.0f", c->bc_iops[0], c->bc_iops[1]);
		fflush(stdout);
	}
	printf(" IOPS (guest/fio)\n");
	c->bc_iops[0] = bench_median(v[0], rounds);
	c->bc_mibs[0] = bench_median(v[1], rounds);
	c->bc_iops[1] = bench_median(v[2], rounds);
	c->bc_mibs[1] = bench_median(v[3], rounds);
	return 0;
}

int
main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 5, mib = argc > 2 ? atoi(argv[2]) : 1024, rc = 1;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;

	if (secs <= 0 || mib < 64 || rounds < 1 || rounds > BENCH_ROUNDS_MAX) {
		fprintf(stderr, "usage: bench_blk [SECONDS [IMAGE_MIB >= 64 [ROUNDS <= %d]]]\n",
		    BENCH_ROUNDS_MAX);
		return 2;
	}
	bench_out = calloc(1, BENCH_OUT_MAX);
	if (bench_out == NULL || bench_images(mib) < 0 || bench_boot() < 0)
		goto out;
	for (size_t i = 0; i < sizeof(bench_cases) / sizeof(bench_cases[0]); i++) {
		struct bench_case *c = &bench_cases[i];
		if (getenv("BENCH_BLK_ONLY") && !strstr(c->bc_label, getenv("BENCH_BLK_ONLY")))
			continue;
		if (bench_case(c, secs, rounds) < 0)
			goto out;
	}
	bench_table();
	rc = 0;
out:
	bench_cleanup();
	free(bench_out);
	return rc;
}
