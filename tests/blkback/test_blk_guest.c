/*
 * Disks end to end, driven from inside a guest: a private stack (hvd,
 * xenstored, consoled, blkback), pvguest created by xl with file: disks, its
 * console on a pty (xl create -c), and the image files read back here:
 * several disks written byte for byte, a read-only disk refusing writes,
 * discard punching holes in a sparse image, a disk attached to and
 * detached from the running guest with xl block-attach/block-detach, and the
 * disk's worker killed during I/O (blkback starts another; the guest's next
 * request succeeds), blkfront's iovec path from a test kernel of its own
 * (bfiov_guest.c), and virtio-blk requests served by blkfront as the shim
 * will serve UML's (vhubf_guest.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bfiov.h"
#include "stack.h"

#define IMG_MIB 8
#define PROMPT "pvguest# "

static struct stack s;
static pid_t con_pid = -1;		/* xl create -c, holding the console */
static int con_fd = -1;
static char out[1 << 18];
static size_t outlen;
static char boot_extra[128];		/* more config lines for the next boot() */

/* The path of a file in the stack's rundir. */
static const char *
path_of(const char *name)
{
	static char buf[4][160];
	static int n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", s.s_rundir, name);
	return b;
}

/* Runs xl with the stack's environment; its exit status, output in *o. */
static int
xl(char **o, const char *fmt, ...)
{
	char args[1024], cmd[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", stack_prog("toolstack/xl"), args);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	int st = pclose(p);
	if (o != NULL)
		*o = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A zero-filled image of IMG_MIB (sparse). */
static const char *
image(const char *name)
{
	const char *p = path_of(name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(ftruncate(fd, IMG_MIB << 20), 0);
	close(fd);
	return p;
}

/* Reads the console until needle shows after from. */
static bool
con_wait(const char *needle, size_t from, int ms)
{
	long long deadline = stack_now_ms() + ms;

	for (;;) {
		if (strstr(out + from, needle) != NULL)
			return true;
		long long left = deadline - stack_now_ms();
		if (left <= 0)
			return false;
		struct pollfd pfd = { .fd = con_fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) <= 0)
			continue;
		ssize_t n = read(con_fd, out + outlen, sizeof(out) - 1 - outlen);
		if (n <= 0)
			return false;
		outlen += n;
		out[outlen] = '\0';
	}
}

/* Types a line and returns what came until the next prompt. */
static const char *
run(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t from = outlen;
	strcat(line, "\r");
	cr_assert_eq(write(con_fd, line, strlen(line)), (ssize_t)strlen(line));
	cr_assert(con_wait("\n" PROMPT, from, 60000), "no prompt after %s; console:\n%s", line,
	    out + from);
	return out + from;
}

static void
expect_in(const char *text, const char *needle)
{
	cr_assert_not_null(strstr(text, needle), "no \"%s\" in:\n%s", needle, text);
}

/* Domain "g" running kernel with the disk lines given, created with its
 * console on our pty; returns once wait_for shows there. */
static void
boot_kernel(const char *kernel, const char *cmdline, int mib, const char *disks,
    const char *wait_for, int ms)
{
	const char *cfg = path_of("g.cfg");
	FILE *f = fopen(cfg, "w");

	cr_assert_not_null(f);
	fprintf(f, "name = \"g\"\nkernel = \"%s\"\nmemory = %d\non_poweroff = \"destroy\"\n"
	    "cmdline = \"%s\"\ndisk = [ %s ]\n%s\n", kernel, mib, cmdline, disks, boot_extra);
	fclose(f);
	con_pid = forkpty(&con_fd, NULL, NULL, NULL);
	cr_assert_geq(con_pid, 0);
	if (con_pid == 0) {
		execl(stack_prog("toolstack/xl"), "xl", "create", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	cr_assert(con_wait(wait_for, 0, ms), "no \"%s\"; console:\n%s", wait_for, out);
}

/* pvguest "g" with the disk lines given, at its prompt. */
static void
boot(const char *disks)
{
	/* One queue: blkback reads ring-page-order under queue-N/ where blkif.h
	 * has it at the top level (its multi-queue lines 451-460), so a guest
	 * using two queues of several pages does not connect yet. */
	boot_kernel(stack_prog("guest/pvguest"), "blkfront.max_queues=1", 32, disks, PROMPT, 30000);
}

static void
setup(void)
{
	cr_assert(stack_have(STACK_WITH(STACK_CONSOLED) | STACK_WITH(STACK_BLKBACK)),
	    "hvd, xenstored, consoled and blkback must be built");
	stack_start(&s, "blkguest", STACK_WITH(STACK_CONSOLED) | STACK_WITH(STACK_BLKBACK));
	setenv("PVSTACK_CONFDIR", s.s_rundir, 1);	/* xl reads no host xl.conf */
	outlen = 0;
	out[0] = '\0';
	boot_extra[0] = '\0';
}

static void
teardown(void)
{
	if (con_pid > 0) {
		kill(con_pid, SIGTERM);
		waitpid(con_pid, NULL, 0);
		close(con_fd);
		con_pid = -1;
	}
	xl(NULL, "destroy g");
	stack_stop(&s);
}

TestSuite(blk_guest, .init = setup, .fini = teardown, .timeout = 180);

/* Bytes [off, off+len) of an image file. */
static void
image_read(const char *img, off_t off, void *buf, size_t len)
{
	int fd = open(img, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* Whether sector n of img holds text, zero-padded to 512 bytes. */
static void
expect_sector(const char *img, off_t n, const char *text)
{
	char buf[512], want[512] = { 0 };

	strcpy(want, text);
	image_read(img, n * 512, buf, sizeof(buf));
	cr_assert_eq(memcmp(buf, want, sizeof(buf)), 0, "%s sector %lld is not \"%s\"", img,
	    (long long)n, text);
}

Test(blk_guest, several_disks_byte_for_byte)
{
	char disks[1024], from_dom0[512] = "written by dom0";
	const char *root = image("root.img"), *var = image("var.img"), *home = image("home.img");
	int fd = open(home, O_WRONLY);

	cr_assert_eq(pwrite(fd, from_dom0, sizeof(from_dom0), 100 * 512), 512);
	close(fd);
	snprintf(disks, sizeof(disks), "'file:%s,hda1,w', 'file:%s,hda2,w', "
	    "'format=raw, vdev=xvdc, access=rw, target=%s'", root, var, home);
	boot(disks);
	expect_in(out, "blk: hda1: connected");
	expect_in(out, "blk: hda2: connected");
	expect_in(out, "blk: xvdc: connected");
	const char *o = run("blk list");
	expect_in(o, "hda1     769               16384         512        8388608 rw");
	expect_in(o, "xvdc     51744             16384         512        8388608 rw");
	expect_in(run("blk write hda1 0 \"the root disk\""), "ok");
	expect_in(run("blk write hda2 16383 \"the last sector of var\""), "ok");
	expect_in(run("blk write 51744 7 home"), "ok");
	expect_in(run("blk read xvdc 100"), "|written by dom0.|");
	expect_in(run("blk flush hda1"), "ok");
	expect_sector(root, 0, "the root disk");
	expect_sector(var, 16383, "the last sector of var");
	expect_sector(home, 7, "home");
	expect_sector(root, 1, "");
	expect_in(run("blk verify hda2"), "verify hda2: 16384 sectors written and read back, "
	    "0 mismatches");
}

Test(blk_guest, read_only_disk_refuses_writes)
{
	char disks[512], before[512], after[512];
	const char *ro = image("ro.img");
	int fd = open(ro, O_WRONLY);

	memset(before, 'r', sizeof(before));
	cr_assert_eq(pwrite(fd, before, sizeof(before), 0), 512);
	close(fd);
	snprintf(disks, sizeof(disks), "'file:%s,hdb,r'", ro);
	boot(disks);
	expect_in(out, "blk: hdb: connected, 16384 sectors of 512 bytes, ro,");
	expect_in(run("blk write hdb 0 nope"), "blk write: hdb: EROFS");
	expect_in(run("blk read hdb 0"), "00000000  72 72 72 72");
	image_read(ro, 0, after, sizeof(after));
	cr_assert_eq(memcmp(before, after, sizeof(after)), 0, "the image is unchanged");
}

Test(blk_guest, discard_punches_holes_in_a_sparse_image)
{
	char disks[512];
	struct stat st0, st1;
	const char *img = image("sparse.img");

	snprintf(disks, sizeof(disks), "'format=raw, vdev=xvda, access=rw, target=%s'", img);
	boot(disks);
	expect_in(out, "discard yes");
	expect_in(run("blk verify xvda"), "0 mismatches");
	cr_assert_eq(stat(img, &st0), 0);
	cr_assert_geq(st0.st_blocks * 512LL, (IMG_MIB << 20), "verify filled the image");
	expect_in(run("blk discard xvda 2048 4096"), "ok");
	cr_assert_eq(stat(img, &st1), 0);
	cr_assert_leq(st1.st_blocks * 512LL, st0.st_blocks * 512LL - (2 << 20),
	    "2 MiB punched: %lld -> %lld blocks", (long long)st0.st_blocks, (long long)st1.st_blocks);
	char zero[512] = { 0 }, buf[512];
	image_read(img, 3000 * 512, buf, sizeof(buf));
	cr_assert_eq(memcmp(buf, zero, sizeof(buf)), 0, "a discarded sector reads as zeros");
	expect_in(run("blk read xvda 3000"), "00177000  00 00 00 00");
}

Test(blk_guest, attach_and_detach_on_a_running_guest)
{
	char *o, disks[512];
	const char *first = image("first.img"), *hot = image("hot.img");

	snprintf(disks, sizeof(disks), "'format=raw, vdev=xvda, access=rw, target=%s'", first);
	boot(disks);
	size_t from = outlen;
	cr_assert_eq(xl(&o, "block-attach g 'format=raw, vdev=xvdb, access=rw, target=%s'", hot), 0,
	    "%s", o);
	cr_assert(con_wait("blk: xvdb: connected", from, 20000), "console:\n%s", out + from);
	expect_in(run("blk write xvdb 3 hotplugged"), "ok");
	expect_sector(hot, 3, "hotplugged");
	cr_assert_eq(xl(&o, "block-list g"), 0, "%s", o);
	expect_in(o, "51728");
	from = outlen;
	cr_assert_eq(xl(&o, "block-detach g xvdb"), 0, "%s", o);
	cr_assert(con_wait("blk: xvdb: disconnected", from, 20000), "console:\n%s", out + from);
	o = (char *)run("blk list");
	cr_assert_null(strstr(o, "xvdb"), "%s", o);
	expect_in(o, "xvda");
	expect_in(run("blk write xvda 1 still"), "ok");
	expect_sector(first, 1, "still");
}

/* The pid of a child of blkback's daemon (the disk's worker), or -1. */
static pid_t
worker_pid(void)
{
	char cmd[128], line[32];

	snprintf(cmd, sizeof(cmd), "pgrep -P %d", (int)s.s_pid[STACK_BLKBACK]);
	FILE *p = popen(cmd, "r");
	pid_t pid = -1;
	if (p != NULL && fgets(line, sizeof(line), p) != NULL)
		pid = (pid_t)atoi(line);
	if (p != NULL)
		pclose(p);
	return pid;
}

Test(blk_guest, worker_killed_during_io_the_next_request_succeeds)
{
	char disks[512];
	const char *img = image("kill.img");

	snprintf(disks, sizeof(disks), "'format=raw, vdev=xvda, access=rw, target=%s'", img);
	boot(disks);
	pid_t w = worker_pid();
	cr_assert_gt(w, 0, "blkback has a worker for the disk");
	size_t from = outlen;
	cr_assert_eq(write(con_fd, "blk bench xvda rand write 4k 16 3\r", 34), 34);
	usleep(1000 * 1000);
	cr_assert_eq(kill(w, SIGKILL), 0);
	cr_assert(con_wait("\n" PROMPT, from, 90000), "the bench never ended; console:\n%s",
	    out + from);
	expect_in(out + from, "IOPS ");
	pid_t w2 = -1;
	for (int i = 0; i < 100 && ((w2 = worker_pid()) <= 0 || w2 == w); i++)
		usleep(50 * 1000);
	cr_assert(w2 > 0 && w2 != w, "blkback started a new worker");
	expect_in(run("blk write xvda 9 \"after the restart\""), "ok");
	expect_sector(img, 9, "after the restart");
	expect_in(run("blk read xvda 9"), "|after the restar|");
}

/* The Cpus_allowed_list of a process. */
static void
allowed_cpus(pid_t pid, char *list, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	list[0] = '\0';
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
			snprintf(list, len, "%.*s", (int)strcspn(line + 19, "\n"), line + 19);
	fclose(f);
}

Test(blk_guest, a_pinned_domains_worker_runs_on_its_cpus)
{
	int last = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	char disks[512], got[64], want[16];
	const char *img = image("pin.img");

	snprintf(boot_extra, sizeof(boot_extra), "cpus = \"%d\"", last);
	snprintf(disks, sizeof(disks), "'format=raw, vdev=xvda, access=rw, target=%s'", img);
	boot(disks);
	pid_t w = worker_pid();
	cr_assert_gt(w, 0, "blkback has a worker for the disk");
	allowed_cpus(w, got, sizeof(got));
	snprintf(want, sizeof(want), "%d", last);
	cr_expect_str_eq(got, want, "the worker shares its domain's CPU %d", last);
	expect_in(run("blk write xvda 3 \"pinned\""), "ok");
	expect_sector(img, 3, "pinned");
}

/* Whether [sector, sector + nsect) of img holds what bfiov_guest's pass seed
 * wrote there (seed 0: zeros). */
static void
expect_bfiov(const char *img, uint64_t sector, uint64_t nsect, unsigned seed)
{
	size_t len = nsect * 512;
	uint8_t *buf = malloc(len);

	image_read(img, (off_t)(sector * 512), buf, len);
	for (size_t i = 0; i < len; i++) {
		uint8_t want = seed ? bfiov_byte(sector * 512 + i, seed) : 0;
		cr_assert_eq(buf[i], want, "%s byte %llu: %#x, not %#x", img,
		    (unsigned long long)(sector * 512 + i), buf[i], want);
	}
	free(buf);
}

/* Boots a test kernel on a fresh zeroed image as its xvda, up to its marker line. */
static void
boot_disk_guest(const char *img, const char *prog, const char *done)
{
	char disks[512];
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, BFIOV_IMG_MIB << 20), 0);
	close(fd);
	snprintf(disks, sizeof(disks), "'format=raw, vdev=xvda, access=rw, target=%s'", img);
	boot_kernel(stack_prog(prog), "51712 blkfront.max_queues=1", 64, disks, done, 120000);
}

Test(blk_guest, iovec_requests_land_in_the_image_and_read_back)
{
	char *o;
	const char *img = path_of("iov.img");
	unsigned n, again, late;

	boot_disk_guest(img, "tests/blkback/bfiov_guest", "BFIOV done");
	cr_assert_null(strstr(out, "FAIL"), "console:\n%s", out);
	expect_in(out, "BFIOV done, 0 failed");
	expect_in(out, "BFIOV sync ok 4120 sectors");
	expect_in(out, "BFIOV refused EINVAL");
	cr_assert_not_null(o = strstr(out, "BFIOV async write ok "), "%s", out);
	cr_assert_eq(sscanf(o, "BFIOV async write ok %u requests, EAGAIN %u times, %u", &n, &again,
	    &late), 3, "%s", o);
	cr_assert_gt(n, BFIOV_B_SMALL, "the big part took several requests");
	cr_assert_gt(again, 0, "more requests than the ring or pool holds were refused, then retried");
	expect_in(out, "BFIOV async read ok");
	expect_bfiov(img, 0, BFIOV_A_SECTOR, 0);
	expect_bfiov(img, BFIOV_A_SECTOR, BFIOV_A_NSECT, 1);
	/* the write's iovecs ran 100 bytes past its data: they stay out */
	expect_bfiov(img, BFIOV_A_SECTOR + BFIOV_A_NSECT, 1, 0);
	expect_bfiov(img, BFIOV_B_SECTOR, BFIOV_B_NSECT, 2);
	expect_bfiov(img, BFIOV_B_SECTOR + BFIOV_B_NSECT, 8, 0);
}

Test(blk_guest, virtio_blk_requests_through_blkfront_land_in_the_image)
{
	char *o;
	const char *img = path_of("vhubf.img");
	unsigned n, waited;
	unsigned long long total;

	boot_disk_guest(img, "tests/blkback/vhubf_guest", "VHUBF done");
	cr_assert_null(strstr(out, "FAIL"), "console:\n%s", out);
	expect_in(out, "VHUBF done, 0 failed");
	expect_in(out, "VHUBF connected, seg_max 256, size_max 4096");
	cr_assert_not_null(o = strstr(out, "VHUBF write ok "), "%s", out);
	cr_assert_eq(sscanf(o, "VHUBF write ok %u requests, %llu sectors", &n, &total), 2, "%s", o);
	cr_assert_eq(total, 2048 + 8 + 1000 + 24 + 2048 + 1);
	expect_in(out, "VHUBF read ok");
	cr_assert_not_null(o = strstr(out, "VHUBF eight reads ok, "), "%s", out);
	cr_assert_eq(sscanf(o, "VHUBF eight reads ok, %u waited", &waited), 1, "%s", o);
	cr_assert_gt(waited, 0, "eight 1 MiB reads do not fit blkfront's pool at once");
	expect_in(out, "id xvda");
	expect_bfiov(img, BFIOV_C_SECTOR - 8, 8, 0);
	expect_bfiov(img, BFIOV_C_SECTOR, total, 3);
	expect_bfiov(img, BFIOV_C_SECTOR + total, 8, 0);
}
