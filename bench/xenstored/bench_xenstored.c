/*
 * xenstored round trips against a raw unix-socket echo server measured in the
 * same run: read, write, directory of 1000 children, a read-modify-write
 * transaction, and watch fan-out to 100 watchers. Prints ops/s, p50, p99 and
 * the ratio of each p50 to the echo of a message of the same size. Then the
 * throughput of 4 client processes in closed loops (one request outstanding
 * each) against the echo server and against xenstored, interleaved over a few
 * rounds: read, write, directory and the rmw transaction, each with its ratio
 * to the echo of the same message sizes (the median of the rounds' ratios),
 * and the CPU time each server spent per op (steadier on a shared machine).
 * Usage: bench-xenstored [iterations] [seconds per 4-client round (0.2)] [4-client case]
 * (the case's first word: read, write, directory or rmw; to profile one alone).
 * BENCH_XENSTORED=path runs another xenstored build, to compare two with one bench.
 *
 * In the one-client cases both servers run on CPU 1 and the client on CPU 0
 * (all on CPU 0 on a one-CPU machine), so a ratio compares the servers and
 * not where the scheduler happened to put them: left to it, the echo server, a fork of
 * the bench, stayed on its client's CPU while the exec'd xenstored went to
 * the other, and every wake-up then crossed CPUs (an IPI, 15-30 us on this
 * VM): the fan-out's ratio read 3x from placement alone, the same servers
 * pinned 0.8x. The 4-client cases run where the scheduler puts them, as
 * they are meant to find the machine's limit. BENCH_XS_UNPINNED=1 leaves
 * placement to the scheduler throughout.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#define WATCHERS 100
#define CLIENTS 4
#define ROUNDS 9

static char bench_dir[64];
static pid_t bench_xsd = -1, bench_echo = -1, bench_parent;

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
bench_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
bench_full(int fd, void *buf, size_t len, int wr)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n <= 0) {
			perror("bench i/o");
			exit(1);
		}
		p += n;
		len -= n;
	}
}

/* One request, one reply (events skipped); returns the reply type. */
static uint32_t
bench_rt(int fd, uint32_t type, uint32_t tx, const void *p, size_t len, char *out, size_t *olen)
{
	char buf[16 + 4096];
	struct xsd_sockmsg h = { type, 1, tx, len };

	memcpy(buf, &h, 16);
	memcpy(buf + 16, p, len);
	bench_full(fd, buf, 16 + len, 1);
	do {
		bench_full(fd, &h, 16, 0);
		bench_full(fd, buf, h.len, 0);
	} while (h.type == XS_WATCH_EVENT);
	if (out) {
		memcpy(out, buf, h.len);
		out[h.len] = '\0';
	}
	if (olen)
		*olen = h.len;
	return h.type;
}

#define BENCH_BROADCAST 0xbeefu

/* Reads one framed message from a blocking socket; -1 at EOF. */
static int
bench_echo_read(int fd, struct xsd_sockmsg *h, char *body)
{
	char *p = (char *)h;
	size_t need = 16;

	while (need) {
		ssize_t n = read(fd, p, need);

		if (n <= 0)
			return -1;
		p += n;
		need -= n;
	}
	bench_full(fd, body, h->len, 0);
	return 0;
}

/*
 * The echo server, one process and one poll loop like xenstored: answers each
 * message with req_id bytes; a BENCH_BROADCAST message is first copied to every
 * other connection (the native form of a watch fan-out), then answered.
 */
static void
bench_echo_serve(int lfd)
{
	struct pollfd pfd[WATCHERS + 8];
	char buf[16 + 8192];
	int n = 1, i, j;

	pfd[0] = (struct pollfd){ lfd, POLLIN, 0 };
	for (;;) {
		if (poll(pfd, n, -1) < 0)
			continue;
		if ((pfd[0].revents & POLLIN) && n < WATCHERS + 8) {
			int fd = accept(lfd, NULL, NULL);

			if (fd >= 0)
				pfd[n++] = (struct pollfd){ fd, POLLIN, 0 };
		}
		for (i = 1; i < n; i++) {
			struct xsd_sockmsg h;

			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (bench_echo_read(pfd[i].fd, &h, buf + 16) < 0) {
				close(pfd[i].fd);
				pfd[i--] = pfd[--n];
				continue;
			}
			if (h.type == BENCH_BROADCAST) {
				memcpy(buf, &h, 16);
				for (j = 1; j < n; j++)
					if (j != i)
						bench_full(pfd[j].fd, buf, 16 + h.len, 1);
			}
			h.len = h.req_id;	/* reply size asked by the client */
			memcpy(buf, &h, 16);
			bench_full(pfd[i].fd, buf, 16 + h.len, 1);
		}
	}
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bench_res {
	double ops, p50, p99;
};

static struct bench_res
bench_stats(double *lat, int n, double total)
{
	struct bench_res r;

	double sum = 0;
	int i;

	(void)total;
	for (i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, n, sizeof(*lat), bench_cmp);
	r.ops = n / (sum / 1e6);
	r.p50 = lat[n / 2];
	r.p99 = lat[(int)(n * 0.99)];
	return r;
}

/* Echo round trips with the same request and reply sizes. */
static struct bench_res
bench_echo_rt(int efd, size_t req, size_t rep, int n, double *lat)
{
	char buf[16 + 8192];
	struct xsd_sockmsg h = { 0, rep, 0, req };
	double t0 = bench_now(), t;
	int i;

	memset(buf, 'e', sizeof(buf));
	for (i = 0; i < n; i++) {
		t = bench_now();
		memcpy(buf, &h, 16);
		bench_full(efd, buf, 16 + req, 1);
		bench_full(efd, buf, 16, 0);
		bench_full(efd, buf + 16, rep, 0);
		lat[i] = bench_now() - t;
	}
	return bench_stats(lat, n, bench_now() - t0);
}

/* Native fan-out: one broadcast through the echo server to 100 listeners. */
static struct bench_res
bench_echo_fanout(const char *esock, size_t len, int n, double *lat)
{
	int w[WATCHERS], i, j, fd = bench_connect(esock);
	struct xsd_sockmsg h = { BENCH_BROADCAST, 3, 0, len };
	char buf[16 + 4096];
	double t0, t;

	for (i = 0; i < WATCHERS; i++)
		w[i] = bench_connect(esock);
	usleep(100000);	/* let the server accept them all */
	memset(buf, 'b', sizeof(buf));
	for (i = 0, t0 = bench_now(); i < n; i++) {
		struct pollfd pfd[WATCHERS];
		int got = 0;

		t = bench_now();
		memcpy(buf, &h, 16);
		bench_full(fd, buf, 16 + len, 1);
		bench_full(fd, buf, 16 + 3, 0);
		for (j = 0; j < WATCHERS; j++)
			pfd[j] = (struct pollfd){ w[j], POLLIN, 0 };
		while (got < WATCHERS) {
			poll(pfd, WATCHERS, 1000);
			for (j = 0; j < WATCHERS; j++) {
				if (pfd[j].fd < 0 || !(pfd[j].revents & POLLIN))
					continue;
				bench_full(w[j], buf, 16 + len, 0);
				pfd[j].fd = -1;
				got++;
			}
		}
		lat[i] = bench_now() - t;
	}
	for (i = 0; i < WATCHERS; i++)
		close(w[i]);
	close(fd);
	return bench_stats(lat, n, bench_now() - t0);
}

static void
bench_print(const char *name, struct bench_res x, struct bench_res e)
{
	printf("%-28s %9.0f ops/s  p50 %7.1f us  p99 %7.1f us | echo p50 %6.1f us p99 %6.1f us"
	    " | ratio p50 %.2fx\n", name, x.ops, x.p50, x.p99, e.p50, e.p99, x.p50 / e.p50);
}

static void
bench_cleanup(void)
{
	char cmd[128];

	if (getpid() != bench_parent)
		return;		/* a client that failed: the parent cleans up */
	if (bench_xsd > 0) {
		kill(bench_xsd, SIGTERM);
		waitpid(bench_xsd, NULL, 0);
	}
	if (bench_echo > 0) {
		kill(-bench_echo, SIGTERM);
		waitpid(bench_echo, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", bench_dir);
	if (bench_dir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", bench_dir);
}

/* Keeps pid (0: the caller) on CPU cpu (0 if the machine has no such CPU); -1: on all of them. */
static void
bench_pin(pid_t pid, int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *unpinned = getenv("BENCH_XS_UNPINNED");
	cpu_set_t set;

	if (unpinned && *unpinned && strcmp(unpinned, "0") != 0)
		return;
	CPU_ZERO(&set);
	for (long c = 0; c < n && c < CPU_SETSIZE; c++)
		if (cpu < 0 || c == (cpu < n ? cpu : 0))
			CPU_SET(c, &set);
	if (sched_setaffinity(pid, sizeof(set), &set) < 0)
		perror("bench: sched_setaffinity");
}

static int
bench_start(char *xsock, char *esock, size_t cap)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd, i, fd;

	strcpy(bench_dir, "/tmp/xsbench.XXXXXX");
	if (!mkdtemp(bench_dir))
		return -1;
	snprintf(xsock, cap, "%s/xenstored/socket", bench_dir);
	snprintf(esock, cap, "%s/echo", bench_dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sun.sun_path, esock, strlen(esock) < sizeof(sun.sun_path) ? strlen(esock) + 1 : 0);
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 8) < 0)
		return -1;
	if ((bench_echo = fork()) == 0) {
		bench_pin(0, 1);
		setpgid(0, 0);
		bench_echo_serve(lfd);
		_exit(0);
	}
	setpgid(bench_echo, bench_echo);
	close(lfd);
	if ((bench_xsd = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		setenv("PVSTACK_RUNDIR", bench_dir, 1);
		bench_pin(0, 1);
		dup2(null, 2);
		/* BENCH_XENSTORED in the environment: another build, against the same bench */
		execl(getenv("BENCH_XENSTORED") ? getenv("BENCH_XENSTORED") : BENCH_XENSTORED,
		    "xenstored", "-N", (char *)NULL);
		_exit(127);
	}
	/* the client on CPU 0 */
	bench_pin(0, 0);
	for (i = 0; i < 200; i++, usleep(10000))
		if ((fd = bench_connect(xsock)) >= 0)
			return fd;
	return -1;
}

/* What one 4-client job does per operation; client is 0..CLIENTS-1. */
typedef void (*bench_op_fn)(int fd, int client);

static size_t bench_dirlen, bench_wlen[CLIENTS];
static const char *bench_only;		/* run only the 4-client case of that name */
static char bench_wbuf[CLIENTS][64];

/* The echoes standing for one op: (request, reply) sizes, set before the fork. */
static size_t bench_eq[4][2];
static int bench_en;

/*
 * One op against the echo server: bench_en round trips, each reply read as
 * bench_rt reads xenstored's (header, then body): the clients of both servers
 * make the same calls.
 */
static void
bench_op_echo(int fd, int client)
{
	char buf[16 + 8192];
	int i;

	(void)client;
	memset(buf, 'e', 64);
	for (i = 0; i < bench_en; i++) {
		struct xsd_sockmsg h = { 0, bench_eq[i][1], 0, bench_eq[i][0] };

		memcpy(buf, &h, 16);
		bench_full(fd, buf, 16 + bench_eq[i][0], 1);
		bench_full(fd, buf, 16, 0);
		bench_full(fd, buf + 16, bench_eq[i][1], 0);
	}
}

/* Reads the client's own key. */
static void
bench_op_read(int fd, int client)
{
	char path[32];
	size_t l = snprintf(path, sizeof(path), "/bench/c%d", client) + 1;

	if (bench_rt(fd, XS_READ, 0, path, l, NULL, NULL) != XS_READ)
		_exit(3);
}

/* Writes the client's own key. */
static void
bench_op_write(int fd, int client)
{
	if (bench_rt(fd, XS_WRITE, 0, bench_wbuf[client], bench_wlen[client], NULL, NULL) !=
	    XS_WRITE)
		_exit(3);
}

/* Lists the 1000 children of /bench/dir. */
static void
bench_op_dir(int fd, int client)
{
	(void)client;
	if (bench_rt(fd, XS_DIRECTORY, 0, "/bench/dir", 11, NULL, NULL) != XS_DIRECTORY)
		_exit(3);
}

/* Read-modify-write of the client's own key in a transaction (EAGAIN counts too). */
static void
bench_op_txn(int fd, int client)
{
	char tx[32], path[32];
	size_t l = snprintf(path, sizeof(path), "/bench/c%d", client) + 1;
	uint32_t id;

	if (bench_rt(fd, XS_TRANSACTION_START, 0, "", 1, tx, NULL) != XS_TRANSACTION_START)
		_exit(3);
	id = strtoul(tx, NULL, 10);
	bench_rt(fd, XS_READ, id, path, l, NULL, NULL);
	bench_rt(fd, XS_WRITE, id, bench_wbuf[client], bench_wlen[client], NULL, NULL);
	bench_rt(fd, XS_TRANSACTION_END, id, "T", 2, NULL, NULL);
}

/* One client process: waits for the start, runs op for secs, reports its count. */
static void
bench_client(const char *sock, int client, bench_op_fn op, double secs, int go, int res)
{
	int fd = bench_connect(sock);
	uint64_t count = 0;
	double end;
	char b;

	if (fd < 0 || read(go, &b, 1) != 0)
		_exit(2);
	for (end = bench_now() + secs * 1e6; bench_now() < end; count++)
		op(fd, client);
	if (write(res, &count, sizeof(count)) != sizeof(count))
		_exit(2);
	_exit(0);
}

/* A process's user + system CPU time in microseconds, from /proc. */
static double
bench_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	fclose(f);
	return (ut + st) * 1e6 / sysconf(_SC_CLK_TCK);
}

/*
 * CLIENTS processes running op on sock at once for secs; total ops/s, or -1.
 * *cpu gets the server's (pid srv) CPU microseconds per op.
 */
static double
bench_par(const char *sock, bench_op_fn op, double secs, pid_t srv, double *cpu)
{
	double c0 = bench_cpu_us(srv);
	int go[2], res[2], i, st, bad = 0;
	pid_t pid[CLIENTS];
	uint64_t total = 0, n;

	if (pipe(go) < 0 || pipe(res) < 0)
		return -1;
	for (i = 0; i < CLIENTS; i++) {
		if ((pid[i] = fork()) == 0) {
			close(go[1]);
			close(res[0]);
			bench_client(sock, i, op, secs, go[0], res[1]);
		}
	}
	close(go[0]);
	close(res[1]);
	usleep(20000);	/* all connected */
	close(go[1]);
	for (i = 0; i < CLIENTS; i++)
		if (read(res[0], &n, sizeof(n)) == sizeof(n))
			total += n;
	close(res[0]);
	for (i = 0; i < CLIENTS; i++)
		if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	*cpu = total ? (bench_cpu_us(srv) - c0) / total : 0;
	return bad ? -1 : total / secs;
}

/* The median of ROUNDS values (sorts them). */
static double
bench_median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), bench_cmp);
	return v[ROUNDS / 2];
}

/* One 4-client case: rounds of echo then xenstored; medians, and the median ratio. */
static int
bench_par_case(const char *name, const char *xsock, const char *esock, bench_op_fn op,
    double secs)
{
	double x[ROUNDS], e[ROUNDS], r[ROUNDS], xc[ROUNDS], ec[ROUNDS];
	int i;

	if (bench_only && strncmp(name, bench_only, strlen(bench_only)) != 0)
		return 0;
	for (i = 0; i < ROUNDS; i++) {
		/* which goes first alternates: neither always follows the other */
		if (i % 2)
			x[i] = bench_par(xsock, op, secs, bench_xsd, &xc[i]);
		e[i] = bench_par(esock, bench_op_echo, secs, bench_echo, &ec[i]);
		if (i % 2 == 0)
			x[i] = bench_par(xsock, op, secs, bench_xsd, &xc[i]);
		if (e[i] < 0 || x[i] < 0) {
			fprintf(stderr, "%s: a client failed\n", name);
			return -1;
		}
		r[i] = x[i] / e[i];	/* neighbours in time: the machine's load cancels */
	}
	printf("%-24s %7.0f ops/s | echo %7.0f ops/s | ratio %.2fx | server CPU/op %5.2f us,"
	    " echo %5.2f us\n", name, bench_median(x), bench_median(e), bench_median(r),
	    bench_median(xc), bench_median(ec));
	return 0;
}

/* Sets the echoes that stand for one op: pairs of request and reply sizes. */
static void
bench_set_echo(int n, const size_t *sizes)
{
	int i;

	bench_en = n;
	for (i = 0; i < n; i++) {
		bench_eq[i][0] = sizes[2 * i];
		bench_eq[i][1] = sizes[2 * i + 1];
	}
}

/* The 4-client throughput cases; the store holds /bench/dir from the latency part. */
static int
bench_par_all(int xfd, const char *xsock, const char *esock, double secs)
{
	size_t rd[2] = { 10, 16 }, wr[2], dir[2] = { 11, bench_dirlen }, tx[8];
	int i, rc = 0;

	for (i = 0; i < CLIENTS; i++) {
		bench_wlen[i] = snprintf(bench_wbuf[i], sizeof(bench_wbuf[i]), "/bench/c%d%c%s", i,
		    0, "0123456789abcdef");
		bench_rt(xfd, XS_WRITE, 0, bench_wbuf[i], bench_wlen[i], NULL, NULL);
	}
	wr[0] = bench_wlen[0];
	wr[1] = 3;
	tx[0] = 1; tx[1] = 2;		/* "" -> "1" */
	tx[2] = 10; tx[3] = 16;		/* read */
	tx[4] = wr[0]; tx[5] = 3;	/* write -> "OK" */
	tx[6] = 2; tx[7] = 3;		/* "T" -> "OK" */
	/* the machine's limit: wherever the scheduler puts the servers and clients */
	bench_pin(0, -1);
	bench_pin(bench_xsd, -1);
	bench_pin(bench_echo, -1);
	printf("%d clients, one request outstanding each, %d rounds of %.1f s, medians\n",
	    CLIENTS, ROUNDS, secs);
	bench_set_echo(1, rd);
	rc |= bench_par_case("read x4 (16 B value)", xsock, esock, bench_op_read, secs);
	bench_set_echo(1, wr);
	rc |= bench_par_case("write x4 (16 B value)", xsock, esock, bench_op_write, secs);
	bench_set_echo(1, dir);
	rc |= bench_par_case("directory x4 (1000)", xsock, esock, bench_op_dir, secs);
	bench_set_echo(4, tx);
	rc |= bench_par_case("rmw transaction x4", xsock, esock, bench_op_txn, secs);
	return rc;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000, i, fd, efd, w[WATCHERS];
	double secs = argc > 2 ? atof(argv[2]) : 0.2;
	char xsock[128], esock[128], val[17] = "0123456789abcdef", buf[4200], name[32];
	double *lat = calloc(n, sizeof(double)), *elat = calloc(n, sizeof(double)), t0, t;
	struct bench_res x, e;
	size_t len, dirlen;

	bench_only = argc > 3 ? argv[3] : NULL;
	bench_parent = getpid();
	atexit(bench_cleanup);
	if ((fd = bench_start(xsock, esock, sizeof(xsock))) < 0 ||
	    (efd = bench_connect(esock)) < 0) {
		fprintf(stderr, "bench: cannot start xenstored or the echo server\n");
		return 1;
	}
	len = snprintf(buf, sizeof(buf), "/bench/key%c%s", 0, val);
	bench_rt(fd, XS_WRITE, 0, buf, len, NULL, NULL);
	printf("xenstored benchmark, %d iterations, unix socket, one client%s\n", n,
	    getenv("BENCH_XS_UNPINNED") ? "" : " (clients on CPU 0, servers on CPU 1)");

	/* read: 16-byte request path, 16-byte value */
	for (i = 0, t0 = bench_now(); i < n; i++) {
		t = bench_now();
		bench_rt(fd, XS_READ, 0, "/bench/key", 11, NULL, NULL);
		lat[i] = bench_now() - t;
		bench_echo_rt(efd, 11, 16, 1, elat + i);	/* interleaved: same load */
	}
	x = bench_stats(lat, n, bench_now() - t0);
	e = bench_stats(elat, n, 0);
	bench_print("read (16 B value)", x, e);

	/* write */
	for (i = 0, t0 = bench_now(); i < n; i++) {
		t = bench_now();
		bench_rt(fd, XS_WRITE, 0, buf, len, NULL, NULL);
		lat[i] = bench_now() - t;
		bench_echo_rt(efd, len, 3, 1, elat + i);
	}
	x = bench_stats(lat, n, bench_now() - t0);
	e = bench_stats(elat, n, 0);
	bench_print("write (16 B value)", x, e);

	/* directory of 1000 children: names 0..999 fit one payload */
	for (i = 0; i < 1000; i++) {
		size_t l = snprintf(name, sizeof(name), "/bench/dir/%d", i) + 1;

		bench_rt(fd, XS_WRITE, 0, name, l, NULL, NULL);
	}
	bench_rt(fd, XS_DIRECTORY, 0, "/bench/dir", 11, buf, &dirlen);
	bench_dirlen = dirlen;
	for (i = 0, t0 = bench_now(); i < n / 4; i++) {
		t = bench_now();
		if (bench_rt(fd, XS_DIRECTORY, 0, "/bench/dir", 11, NULL, NULL) != XS_DIRECTORY) {
			fprintf(stderr, "directory failed\n");
			return 1;
		}
		lat[i] = bench_now() - t;
		bench_echo_rt(efd, 11, dirlen, 1, elat + i);
	}
	x = bench_stats(lat, n / 4, bench_now() - t0);
	e = bench_stats(elat, n / 4, 0);
	bench_print("directory (1000 children)", x, e);

	/* read-modify-write transaction: 4 round trips, interleaved with 4 echoes */
	for (i = 0, t0 = bench_now(); i < n / 4; i++) {
		char tx[16];
		uint32_t id;
		double s, tmp;

		t = bench_now();
		bench_rt(fd, XS_TRANSACTION_START, 0, "", 1, tx, NULL);
		id = strtoul(tx, NULL, 10);
		bench_rt(fd, XS_READ, id, "/bench/key", 11, NULL, NULL);
		bench_rt(fd, XS_WRITE, id, buf, len, NULL, NULL);
		if (bench_rt(fd, XS_TRANSACTION_END, id, "T", 2, NULL, NULL) != XS_TRANSACTION_END) {
			fprintf(stderr, "transaction failed\n");
			return 1;
		}
		lat[i] = bench_now() - t;
		s = bench_now();
		bench_echo_rt(efd, 2, 3, 1, &tmp);
		bench_echo_rt(efd, 11, 16, 1, &tmp);
		bench_echo_rt(efd, len, 3, 1, &tmp);
		bench_echo_rt(efd, 2, 3, 1, &tmp);
		elat[i] = bench_now() - s;
	}
	x = bench_stats(lat, n / 4, bench_now() - t0);
	e = bench_stats(elat, n / 4, 0);
	bench_print("rmw transaction (4 msgs)", x, e);

	/* watch fan-out: 100 watchers, time until all have the event */
	for (i = 0; i < WATCHERS; i++) {
		char tok[16];
		size_t l;

		w[i] = bench_connect(xsock);
		l = snprintf(buf, sizeof(buf), "/bench/fan%c", 0);
		l += snprintf(buf + l, sizeof(buf) - l, "w%d", i) + 1;
		bench_rt(w[i], XS_WATCH, 0, buf, l, NULL, NULL);
		bench_full(w[i], buf, 16, 0);	/* initial event header */
		memcpy(tok, buf, 16);
		bench_full(w[i], buf, ((struct xsd_sockmsg *)tok)->len, 0);
	}
	len = snprintf(buf, sizeof(buf), "/bench/fan%c1", 0);
	/* each watcher's event: the path written (/bench/fan), then its token */
	size_t evlen[WATCHERS];
	for (i = 0; i < WATCHERS; i++)
		evlen[i] = strlen("/bench/fan") + 1 + (size_t)snprintf(NULL, 0, "w%d", i) + 1;
	for (i = 0, t0 = bench_now(); i < n / 20; i++) {
		struct pollfd pfd[WATCHERS];
		int got = 0, j;

		t = bench_now();
		bench_rt(fd, XS_WRITE, 0, buf, len, NULL, NULL);
		for (j = 0; j < WATCHERS; j++)
			pfd[j] = (struct pollfd){ w[j], POLLIN, 0 };
		while (got < WATCHERS) {
			poll(pfd, WATCHERS, 1000);
			for (j = 0; j < WATCHERS; j++) {
				char ev[16 + 256];

				if (pfd[j].fd < 0 || !(pfd[j].revents & POLLIN))
					continue;
				/* one read of the whole event, as the echo listeners read theirs */
				bench_full(w[j], ev, 16 + evlen[j], 0);
				if (((struct xsd_sockmsg *)ev)->len != evlen[j]) {
					fprintf(stderr, "watcher %d: an event of %u bytes, not %zu\n", j,
					    ((struct xsd_sockmsg *)ev)->len, evlen[j]);
					exit(1);
				}
				pfd[j].fd = -1;
				got++;
			}
		}
		lat[i] = bench_now() - t;
	}
	x = bench_stats(lat, n / 20, bench_now() - t0);
	close(efd);	/* only the listeners may receive broadcasts */
	e = bench_echo_fanout(esock, len, n / 20, elat);
	bench_print("watch fan-out (100)", x, e);
	for (i = 0; i < WATCHERS; i++)
		close(w[i]);
	return bench_par_all(fd, xsock, esock, secs) ? 1 : 0;
}
