/*
 * The guest's network path against the host's own tap path, in the same run.
 * The bench makes its own network namespace (unshare: nothing of the host's is
 * touched, and what is left goes with the process) holding a bridge xenbr0
 * and three taps of its own on it: bsrc (the direct writer's), bsink (a port
 * nobody reads: the frames' destination, counted by its drops) and brecv (the
 * direct reader's). A private stack (xencommons in a mkdtemp RUNDIR, netback
 * included) boots pvguest with one bridged vif, and each case runs the guest's
 * side, then the direct side, with the same frames:
 *   guest to bridge: `net send eth0 COUNT SIZE <bsink's MAC>` in the guest,
 *     against COUNT write()s of the same frame into bsrc;
 *   bridge to guest: COUNT frames written into bsrc for the guest's MAC
 *     while the guest runs `net recv`, against the same frames for brecv's
 *     MAC read by a process from brecv.
 * Each case runs ROUNDS times, guest and direct taking turns, and the table
 * has the medians and the guest's share of the direct path. Not a test.
 * Usage: bench_net [COUNT [ROUNDS]] (frames per run, default 300000; 3
 * rounds); BENCH_NET_ONLY=TEXT runs only the cases whose label has TEXT;
 * BENCH_NET_STATS=1 prints the guest's `net stats` after each of its sends;
 * the guest's command line from $BENCH_NET_CMDLINE (default "netfront.gso=1").
 * The guest is pinned to the last CPU (cpus= in its config; netback's worker
 * follows its domain), as one would place a guest and its backend to share
 * caches; $BENCH_NET_CPUS names other CPUs, or "" to let both float.
 * The GSO case: `net send` of a 65000-byte TCP segment, which netfront
 * sends with a GSO extra (feature-gso-tcpv4) for netback's tap to cut into
 * 1460-byte segments, against the same segment written with a GSO
 * virtio-net header into a tap of its own (bgso); its COUNT is a 40th. And
 * back: the same segments written into bgso for the guest (netfront.gso=1
 * on its command line: it takes them whole, through netback's TSO tap), and
 * for a reader on a tap that takes them whole too (brecvg).
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_tap.h"

#ifndef BENCH_XL
#error BENCH_XL, BENCH_XENCOMMONS, BENCH_PVGUEST and BENCH_SCRIPTDIR name the built programs
#endif

#define BENCH_OUT_MAX	(1 << 20)
#define BENCH_GUEST_MAC	"00:16:3e:00:0b:01"
#define BENCH_SINK_MAC	"02:00:00:00:0b:99"
#define BENCH_ROUNDS_MAX	15
#define BENCH_GSO_SIZE	65000	/* a TCP segment as big as 16 pages take */
#define BENCH_GSO_MSS	1460	/* the guest's MTU (1500) less IPv4 and TCP headers */

enum bench_dir { BENCH_G2B, BENCH_B2G };

struct bench_case {
	const char *bc_label;
	size_t bc_size;
	enum bench_dir bc_dir;
	bool bc_gso;			/* one TCP segment the backend (or the tap) cuts at the MTU */
	double bc_fps[2];		/* guest, direct */
	double bc_seen[2];		/* share of the frames the other end saw */
};

static struct bench_case bench_cases[] = {
	{ "guest->bridge 64 B", 64, BENCH_G2B, false, { 0 }, { 0 } },
	{ "guest->bridge 1514 B", 1514, BENCH_G2B, false, { 0 }, { 0 } },
	{ "guest->bridge TCP GSO", BENCH_GSO_SIZE, BENCH_G2B, true, { 0 }, { 0 } },
	{ "bridge->guest 64 B", 64, BENCH_B2G, false, { 0 }, { 0 } },
	{ "bridge->guest 1514 B", 1514, BENCH_B2G, false, { 0 }, { 0 } },
	{ "bridge->guest TCP GSO", BENCH_GSO_SIZE, BENCH_B2G, true, { 0 }, { 0 } },
};

static const uint8_t bench_src_mac[6] = { 0x02, 0, 0, 0, 0x0b, 0x01 };
static const uint8_t bench_sink_mac[6] = { 0x02, 0, 0, 0, 0x0b, 0x99 };
static const uint8_t bench_recv_mac[6] = { 0x02, 0, 0, 0, 0x0b, 0x98 };
static const uint8_t bench_recvg_mac[6] = { 0x02, 0, 0, 0, 0x0b, 0x97 };
static const uint8_t bench_guest_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x0b, 0x01 };

static char bench_run[64];
static int bench_con = -1;		/* the guest's console (xl create -c on a pty) */
static pid_t bench_xl = -1;
static char *bench_out;
static size_t bench_outlen;
static int bench_src = -1, bench_sink = -1, bench_recv = -1, bench_gso = -1, bench_recvg = -1;
static bool bench_bridge;
static uint8_t bench_frame[65536];

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
	double end = bench_tap_now() + secs;

	while (bench_tap_now() < end) {
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

/* Types one command line; where its output starts in bench_out. */
static size_t
bench_type(const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line) - 2, fmt, ap);
	size_t from = bench_outlen;
	strcat(line, "\r");
	if (write(bench_con, line, strlen(line)) != (ssize_t)strlen(line))
		fprintf(stderr, "bench_net: console write: %s\n", strerror(errno));
	return from;
}

/* Types one command line and waits for the next prompt; its output. */
static const char *
bench_cmd(double secs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	size_t from = bench_type(fmt, ap);
	va_end(ap);
	if (bench_expect("\npvguest# ", from, secs) < 0) {
		fprintf(stderr, "bench_net: no prompt; console:\n%s\n", bench_out + from);
		return NULL;
	}
	return bench_out + from;
}

/* The figures of the guest's closing "frames n fps f Mbit/s m" line. */
static int
bench_guest_fps(const char *out, const char *what, unsigned long long *frames, double *fps)
{
	const char *at = out != NULL ? strstr(out, "\nframes ") : NULL;

	if (at == NULL || sscanf(at, "\nframes %llu fps %lf", frames, fps) != 2) {
		fprintf(stderr, "bench_net: %s: no frames line from the guest:\n%s\n", what,
		    out ? out : "");
		return -1;
	}
	return 0;
}

/* Frames the kernel took for a tap's reader (sent and dropped), from /proc/net/dev of our namespace. */
static unsigned long long
bench_tx_seen(const char *ifname)
{
	char line[512], name[32];
	unsigned long long v[12], sum = 0;
	FILE *f = fopen("/proc/net/dev", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = ' ';
		if (sscanf(line, " %31s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		    name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
		    &v[10], &v[11]) == 13 && strcmp(name, ifname) == 0)
			sum = v[9] + v[11];	/* tx packets + tx drop */
	}
	if (f != NULL)
		fclose(f);
	return sum;
}

/* Empties a tap's queue (stray frames before a run). */
static void
bench_drain(int fd)
{
	struct bench_tap_run r;

	bench_tap_recv(fd, ~0ull, 50, &r);
}

/* The namespace, its bridge and the bench's three taps on it. */
static int
bench_net_setup(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "bench_net: unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
		return -1;
	}
	/* no IPv6 chatter (router solicitations, DAD) in the counts */
	if (bench_sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
	    "net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1; ip link set lo up && "
	    "ip link add xenbr0 type bridge && ip addr add 10.9.0.1/24 dev xenbr0 && "
	    "ip link set xenbr0 up") != 0)
		return -1;
	bench_bridge = true;
	if ((bench_src = bench_tap_open("bsrc")) < 0 || (bench_sink = bench_tap_open("bsink")) < 0 ||
	    (bench_recv = bench_tap_open("brecv")) < 0 || (bench_gso = bench_tap_open_vnet("bgso")) < 0 ||
	    (bench_recvg = bench_tap_open_vnet("brecvg")) < 0 || bench_tap_offload(bench_recvg) < 0)
		return -1;
	if (bench_sh("for t in bsrc bsink brecv bgso brecvg; do ip link set $t master xenbr0 up || "
	    "exit 1; done") != 0)
		return -1;
	/* the bridge learns where the destinations are, so nothing is flooded */
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct bench_tap_run r;
	bench_tap_frame(bench_frame, 64, bcast, bench_sink_mac);
	bench_tap_send(bench_sink, bench_frame, 64, 1, &r);
	bench_tap_frame(bench_frame, 64, bcast, bench_recv_mac);
	bench_tap_send(bench_recv, bench_frame, 64, 1, &r);
	bench_tap_frame(bench_frame, 64, bcast, bench_src_mac);
	bench_tap_send(bench_src, bench_frame, 64, 1, &r);
	/* a vnet tap's frames start with a virtio-net header: all zero, a plain frame */
	memset(bench_frame, 0, 10);
	bench_tap_frame(bench_frame + 10, 64, bcast, bench_recvg_mac);
	if (write(bench_recvg, bench_frame, 74) != 74)
		return -1;
	return 0;
}

/* The stack, then the guest on a pty, up to its prompt with eth0 addressed. */
static int
bench_boot(void)
{
	char cfg[128];

	snprintf(bench_run, sizeof(bench_run), "/tmp/benchnet.XXXXXX");
	if (mkdtemp(bench_run) == NULL)
		return -1;
	setenv("PVSTACK_RUNDIR", bench_run, 1);
	setenv("PVSTACK_CONFDIR", bench_run, 1);	/* no host xl.conf or xencommons */
	setenv("PVSTACK_SCRIPTDIR", BENCH_SCRIPTDIR, 1);
	setenv("XENCOMMONS_SKIP", "blkback", 1);
	snprintf(cfg, sizeof(cfg), "%s/xenstored/socket", bench_run);
	setenv("XENSTORED_PATH", cfg, 1);
	if (bench_sh("%s start >/dev/null 2>&1", BENCH_XENCOMMONS) != 0) {
		fprintf(stderr, "bench_net: xencommons start failed (logs in %s/log)\n", bench_run);
		return -1;
	}
	snprintf(cfg, sizeof(cfg), "%s/bnet.cfg", bench_run);
	FILE *f = fopen(cfg, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "name = \"bnet\"\nkernel = \"%s\"\nmemory = 32\non_poweroff = \"destroy\"\n"
	    "vif = [ 'mac=%s, ip=10.9.0.2' ]\n", BENCH_PVGUEST, BENCH_GUEST_MAC);
	/* the guest takes whole TCP segments, as Linux's netfront does */
	fprintf(f, "cmdline = \"%s\"\n", getenv("BENCH_NET_CMDLINE") ?: "netfront.gso=1");
	/* pinned, and netback's worker with it: the frames it copies stay in one CPU's caches */
	if (getenv("BENCH_NET_CPUS") == NULL)
		fprintf(f, "cpus = \"%ld\"\n", sysconf(_SC_NPROCESSORS_ONLN) - 1);
	else if (getenv("BENCH_NET_CPUS")[0] != '\0')
		fprintf(f, "cpus = \"%s\"\n", getenv("BENCH_NET_CPUS"));
	fclose(f);
	bench_xl = forkpty(&bench_con, NULL, NULL, NULL);
	if (bench_xl == 0) {
		execl(BENCH_XL, "xl", "create", "-q", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	if (bench_xl < 0 || bench_expect("pvguest# ", 0, 60) < 0 ||
	    bench_expect("net: eth0: address 10.9.0.2", 0, 20) < 0) {
		fprintf(stderr, "bench_net: the guest did not come up with eth0; console:\n%s\n",
		    bench_out);
		return -1;
	}
	/* one frame from the guest: the bridge learns its port */
	bench_cmd(10, "net send eth0 1 64");
	return 0;
}

/* Guest to bridge: the guest's generator, then the same frames written into bsrc. */
static int
bench_g2b(struct bench_case *c, unsigned long long count)
{
	unsigned long long frames, seen = bench_tx_seen("bsink");
	struct bench_tap_run r;

	const char *out = bench_cmd(120, "net send eth0 %llu %zu " BENCH_SINK_MAC, count, c->bc_size);
	if (bench_guest_fps(out, c->bc_label, &frames, &c->bc_fps[0]) < 0)
		return -1;
	/* a GSO segment reaches bsink as the MTU-sized frames it was cut into */
	double want = (double)count * (c->bc_gso ?
	    (double)((c->bc_size - 54 + BENCH_GSO_MSS - 1) / BENCH_GSO_MSS) : 1.0);
	c->bc_seen[0] = (double)(bench_tx_seen("bsink") - seen) / want;
	if (getenv("BENCH_NET_STATS") != NULL)	/* events and notifications, for tuning */
		printf("\n%s", bench_cmd(10, "net stats") ?: "");
	seen = bench_tx_seen("bsink");
	if (c->bc_gso) {
		bench_tap_tcp_frame(bench_frame, c->bc_size, bench_sink_mac, bench_src_mac);
		if (bench_tap_send_gso(bench_gso, bench_frame, c->bc_size, BENCH_GSO_MSS, count,
		    &r) < 0)
			return -1;
	} else {
		bench_tap_frame(bench_frame, c->bc_size, bench_sink_mac, bench_src_mac);
		if (bench_tap_send(bench_src, bench_frame, c->bc_size, count, &r) < 0)
			return -1;
	}
	c->bc_fps[1] = (double)r.btr_frames / r.btr_secs;
	c->bc_seen[1] = (double)(bench_tx_seen("bsink") - seen) / want;
	return 0;
}

/* Bridge to guest: frames into bsrc for the guest while it counts them. */
static int
bench_b2g_guest(struct bench_case *c, unsigned long long count)
{
	unsigned long long frames;
	struct bench_tap_run r;
	int secs = (int)(count / 100000) + 3;

	if (c->bc_gso)
		bench_tap_tcp_frame(bench_frame, c->bc_size, bench_guest_mac, bench_src_mac);
	else
		bench_tap_frame(bench_frame, c->bc_size, bench_guest_mac, bench_src_mac);
	size_t from = bench_outlen;
	char line[64];
	snprintf(line, sizeof(line), "net recv eth0 %d %llu\r", secs, count);
	if (write(bench_con, line, strlen(line)) != (ssize_t)strlen(line))
		return -1;
	bench_expect("\n", from, 2);		/* the shell took the line */
	usleep(300 * 1000);
	if ((c->bc_gso ? bench_tap_send_gso(bench_gso, bench_frame, c->bc_size, BENCH_GSO_MSS, count,
	    &r) : bench_tap_send(bench_src, bench_frame, c->bc_size, count, &r)) < 0)
		return -1;
	if (bench_expect("\npvguest# ", from, secs + 30) < 0 ||
	    bench_guest_fps(bench_out + from, c->bc_label, &frames, &c->bc_fps[0]) < 0)
		return -1;
	c->bc_seen[0] = (double)frames / (double)count;
	return 0;
}

/* Bridge to a process: the same frames for brecv's MAC, read by a child from brecv. */
static int
bench_b2g_direct(struct bench_case *c, unsigned long long count)
{
	struct bench_tap_run r, got;
	int p[2], rfd = c->bc_gso ? bench_recvg : bench_recv;

	bench_drain(rfd);
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		bench_tap_recv(rfd, count, 1000, &got);
		_exit(write(p[1], &got, sizeof(got)) == sizeof(got) ? 0 : 1);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	usleep(100 * 1000);
	int rc;
	if (c->bc_gso) {
		/* whole segments for a reader that takes them whole, as the vif's tap does */
		bench_tap_tcp_frame(bench_frame, c->bc_size, bench_recvg_mac, bench_src_mac);
		rc = bench_tap_send_gso(bench_gso, bench_frame, c->bc_size, BENCH_GSO_MSS, count, &r);
	} else {
		bench_tap_frame(bench_frame, c->bc_size, bench_recv_mac, bench_src_mac);
		rc = bench_tap_send(bench_src, bench_frame, c->bc_size, count, &r);
	}
	if (read(p[0], &got, sizeof(got)) != sizeof(got))
		rc = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (rc < 0 || got.btr_frames < 2)
		return -1;
	c->bc_fps[1] = (double)got.btr_frames / got.btr_secs;
	c->bc_seen[1] = (double)got.btr_frames / (double)count;
	return 0;
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

/* rounds of a case, guest and direct taking turns (so both see the same load); the medians. */
static int
bench_case(struct bench_case *c, unsigned long long count, int rounds)
{
	double fps[2][BENCH_ROUNDS_MAX], seen[2][BENCH_ROUNDS_MAX];

	printf("%s:", c->bc_label);
	fflush(stdout);
	for (int i = 0; i < rounds; i++) {
		if (c->bc_dir == BENCH_G2B ? bench_g2b(c, count) < 0 :
		    bench_b2g_guest(c, count) < 0 || bench_b2g_direct(c, count) < 0)
			return -1;
		for (int k = 0; k < 2; k++) {
			fps[k][i] = c->bc_fps[k];
			seen[k][i] = c->bc_seen[k];
		}
		printf(" %.0f/%.0f", c->bc_fps[0], c->bc_fps[1]);
		fflush(stdout);
	}
	printf(" fps (guest/direct)\n");
	for (int k = 0; k < 2; k++) {
		c->bc_fps[k] = bench_median(fps[k], rounds);
		c->bc_seen[k] = bench_median(seen[k], rounds);
	}
	return 0;
}

static void
bench_table(const char *only)
{
	printf("\n%-22s %11s %8s %6s %11s %8s %6s %6s\n", "case", "guest fps", "Gbit/s", "seen",
	    "direct fps", "Gbit/s", "seen", "ratio");
	for (size_t i = 0; i < sizeof(bench_cases) / sizeof(bench_cases[0]); i++) {
		struct bench_case *c = &bench_cases[i];
		if (only != NULL && strstr(c->bc_label, only) == NULL)
			continue;
		printf("%-22s %11.0f %8.3f %5.0f%% %11.0f %8.3f %5.0f%% %6.2f\n", c->bc_label,
		    c->bc_fps[0], c->bc_fps[0] * c->bc_size * 8 / 1e9, c->bc_seen[0] * 100,
		    c->bc_fps[1], c->bc_fps[1] * c->bc_size * 8 / 1e9, c->bc_seen[1] * 100,
		    c->bc_fps[1] > 0 ? c->bc_fps[0] / c->bc_fps[1] : 0);
	}
	printf("seen: share of the frames that reached the other end (bsink's queue, the guest, "
	    "brecv's reader)\n");
}

/* Powers the guest off, stops the stack, closes the taps, removes the bridge and the RUNDIR. */
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
		bench_sh("%s destroy bnet >/dev/null 2>&1", BENCH_XL);
		bench_sh("%s stop >/dev/null 2>&1", BENCH_XENCOMMONS);
		bench_sh("rm -rf %s", bench_run);
	}
	int *fds[] = { &bench_src, &bench_sink, &bench_recv, &bench_gso, &bench_recvg };
	for (size_t i = 0; i < 3; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	if (bench_bridge)
		bench_sh("ip link del xenbr0");
	/* the namespace goes with this process, the last one in it */
}

/* Ctrl-C or a kill still stops the stack and removes what the bench made (the
 * daemons run in their own sessions and would outlive us). Not async-signal-safe,
 * but the main flow is abandoned, and a bench is not a daemon. */
static void
bench_signal(int sig)
{
	signal(sig, SIG_DFL);
	bench_cleanup();
	_exit(128 + sig);
}

int
main(int argc, char **argv)
{
	unsigned long long count = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000;
	int rounds = argc > 2 ? atoi(argv[2]) : 3, rc = 1;
	const char *only = getenv("BENCH_NET_ONLY");

	if (count < 1000 || rounds < 1 || rounds > BENCH_ROUNDS_MAX) {
		fprintf(stderr, "usage: bench_net [COUNT >= 1000 [ROUNDS 1..%d]]\n", BENCH_ROUNDS_MAX);
		return 2;
	}
	signal(SIGINT, bench_signal);
	signal(SIGTERM, bench_signal);
	signal(SIGHUP, bench_signal);
	bench_out = calloc(1, BENCH_OUT_MAX);
	if (bench_out == NULL || bench_net_setup() < 0 || bench_boot() < 0)
		goto out;
	for (size_t i = 0; i < sizeof(bench_cases) / sizeof(bench_cases[0]); i++) {
		struct bench_case *c = &bench_cases[i];
		if (only != NULL && strstr(c->bc_label, only) == NULL)
			continue;
		if (bench_case(c, c->bc_gso ? count / 40 + 1 : count, rounds) < 0)
			goto out;
	}
	bench_table(only);
	rc = 0;
out:
	bench_cleanup();
	free(bench_out);
	return rc;
}
