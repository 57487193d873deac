/* consoled and pvconsole against a private hvd and xenstored. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "libhv.h"
#include "proc_stat.h"
#include "stack.h"
#include "xs.h"

static void
suite_init(void)
{
	if (!stack_have_daemons())
		cr_skip_test("hvd, xenstored or consoled not built");
	stack_start("--log=all", "--timestamp=guest");
}

static void
suite_fini(void)
{
	stack_stop();
}

TestSuite(consoled, .init = suite_init, .fini = suite_fini, .timeout = 60);

static int
open_tty(const char *tty)
{
	int fd = open(tty, O_RDWR | O_NOCTTY);

	cr_assert_geq(fd, 0, "open %s: %s", tty, strerror(errno));
	return fd;
}

struct client {
	pid_t c_pid;
	int c_in, c_out, c_err, c_notify;
};

/* Starts pvconsole DOMID with pipes for stdio and --start-notify-fd 3. */
static void
client_start(struct client *c, uint32_t domid)
{
	int in[2], out[2], err[2], nt[2];
	char id[16];
	const char *prog = stack_prog("consoled/pvconsole");

	cr_assert_eq(pipe(in) | pipe(out) | pipe(err) | pipe(nt), 0);
	snprintf(id, sizeof(id), "%u", domid);
	c->c_pid = fork();
	if (c->c_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		dup2(nt[1], 3);
		for (int fd = 4; fd < 64; fd++)
			close(fd);
		execl(prog, prog, "--type", "pv", "--start-notify-fd", "3", id, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(nt[1]);
	c->c_in = in[1];
	c->c_out = out[0];
	c->c_err = err[0];
	c->c_notify = nt[0];
}

/* Waits up to ms for the client to exit; its status, or -1 if still running. */
static int
client_wait(struct client *c, int ms)
{
	int status;

	for (long deadline = now_ms() + ms; now_ms() < deadline; usleep(5000))
		if (waitpid(c->c_pid, &status, WNOHANG) == c->c_pid)
			return status;
	return -1;
}

static void
client_close(struct client *c)
{
	if (client_wait(c, 0) == -1) {
		kill(c->c_pid, SIGKILL);
		waitpid(c->c_pid, NULL, 0);
	}
	close(c->c_in);
	close(c->c_out);
	close(c->c_err);
	close(c->c_notify);
}

Test(consoled, output_before_attach_is_replayed_then_live_output_flows)
{
	struct tguest g;
	char *tty, *got;
	int fd;

	tguest_create(&g, "replay", 1);
	/* written before consoled knows the domain: must not be lost */
	tguest_write(&g, "boot banner\r\n", 13);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000), "console/tty never appeared");
	cr_assert(strncmp(tty, "/dev/pts/", 9) == 0, "tty is %s", tty);
	{
		/* ro_front: dom0 owns it, the guest may only read it */
		char path[96];
		unsigned n;
		struct xs_perm *p;

		snprintf(path, sizeof(path), "/local/domain/%u/console/tty", g.g_domid);
		p = xs_get_perms(st.st_xs, XS_TX_NONE, path, &n);
		cr_assert_not_null(p);
		cr_assert(n == 2 && p[0].domid == 0 && p[0].perm == XS_PERM_NONE &&
		    p[1].domid == g.g_domid && p[1].perm == XS_PERM_READ, "tty perms wrong");
		free(p);
	}
	tguest_write(&g, "more before open\r\n", 18);
	usleep(100 * 1000);
	fd = open_tty(tty);
	got = read_until(fd, "before open", 3000, NULL);
	cr_assert(strstr(got, "boot banner\r\nmore before open\r\n"), "replayed: \"%s\"", got);
	free(got);
	tguest_write(&g, "live line\r\n", 11);
	got = read_until(fd, "live line", 3000, NULL);
	cr_assert(strstr(got, "live line\r\n"), "live: \"%s\"", got);
	free(got);
	close(fd);
	free(tty);
}

Test(consoled, pty_input_lands_in_the_in_ring)
{
	struct tguest g;
	char *tty, got[16];
	int fd;
	uint32_t cons;

	tguest_create(&g, "input", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	fd = open_tty(tty);
	cr_assert_eq(write(fd, "ls -l\r", 6), 6);
	for (long deadline = now_ms() + 3000; g.g_intf->in_prod - g.g_intf->in_cons < 6;) {
		cr_assert_lt(now_ms(), deadline, "input never reached the ring");
		usleep(1000);
	}
	cons = g.g_intf->in_cons;
	for (int i = 0; i < 6; i++)
		got[i] = g.g_intf->in[MASK_XENCONS_IDX(cons + i, g.g_intf->in)];
	cr_assert_arr_eq(got, "ls -l\r", 6);
	cr_assert_eq(g.g_intf->in_prod - cons, 6, "no extra bytes (no echo, raw mode)");
	close(fd);
	free(tty);
}

/* Waits for a file to contain needle; its content (malloc'd). */
static char *
wait_file(const char *path, const char *needle)
{
	char *got = NULL;
	int fd = -1;

	for (long deadline = now_ms() + 3000; now_ms() < deadline; usleep(5000)) {
		if (fd < 0 && (fd = open(path, O_RDONLY)) < 0)
			continue;
		free(got);
		lseek(fd, 0, SEEK_SET);
		got = read_until(fd, NULL, 10, NULL);
		if (strstr(got, needle))
			break;
	}
	cr_assert_geq(fd, 0, "%s never appeared", path);
	close(fd);
	return got;
}

Test(consoled, guest_and_hypervisor_logs_are_written)
{
	struct tguest g;
	char path[160], moved[170], *got, *tty, *line, *hvtext;

	tguest_create(&g, "logged", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	tguest_write(&g, "to the log\nsecond line\n", 23);
	snprintf(path, sizeof(path), "%s/log/console/guest-logged.log", st.st_rundir);
	got = wait_file(path, "second line\n");
	/* --timestamp=guest: "[YYYY-MM-DD HH:MM:SS.mmm] " before every line */
	line = strstr(got, "to the log\n");
	cr_assert(line && line - got >= 26 && line[-26] == '[' && line[-2] == ']',
	    "guest log lacks stamps: \"%s\"", got);
	cr_assert(strstr(got, "] second line\n"), "guest log: \"%s\"", got);
	free(got);
	/* logrotate: move it away, SIGHUP, the next output goes to a new file */
	snprintf(moved, sizeof(moved), "%s.1", path);
	cr_assert_eq(rename(path, moved), 0);
	kill(st.st_cd, SIGHUP);
	for (long deadline = now_ms() + 3000; access(path, F_OK) < 0; usleep(2000))
		cr_assert_lt(now_ms(), deadline, "SIGHUP did not reopen %s", path);
	tguest_write(&g, "after rotation\n", 15);
	got = wait_file(path, "after rotation\n");
	cr_assert(strstr(got, "after rotation\n"), "new log: \"%s\"", got);
	free(got);
	/* hvd's own console, e.g. its note of the domain's creation */
	snprintf(path, sizeof(path), "%s/log/console/hypervisor.log", st.st_rundir);
	got = wait_file(path, "hvd started");
	cr_assert(strstr(got, "hvd started"), "hypervisor log: \"%s\"", got);
	/* copied verbatim (no stamps for hv), from the start of hvd's ring */
	hvtext = hv_console_read(st.st_hv, 0);
	cr_assert_not_null(hvtext);
	*strchrnul(hvtext, '\n') = '\0';
	cr_assert(strncmp(got, hvtext, strlen(hvtext)) == 0, "\"%s\" vs \"%s\"", got, hvtext);
	free(hvtext);
	free(got);
	free(tty);
}

Test(consoled, no_byte_lost_while_a_client_reads)
{
	struct tguest g;
	char *tty, chunk[1000], *got;
	size_t len, total = 256 * 1024;
	int fd;

	tguest_create(&g, "reader", 1);
	tguest_publish(&g, 16384);	/* far smaller than what passes */
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	fd = open_tty(tty);
	if (fork() == 0) {
		/* the guest writes a numbered stream while we read */
		for (size_t off = 0; off < total; off += sizeof(chunk)) {
			for (size_t i = 0; i < sizeof(chunk); i++)
				chunk[i] = 'A' + (off + i) % 23;
			tguest_write(&g, chunk, sizeof(chunk) < total - off ? sizeof(chunk) : total - off);
		}
		_exit(0);
	}
	got = read_until(fd, NULL, 0, &len);
	free(got);
	{
		size_t have = 0;
		char *buf = malloc(total);
		long deadline = now_ms() + 20000;
		while (have < total && now_ms() < deadline) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t n;
			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = read(fd, buf + have, total - have);
			cr_assert_gt(n, 0);
			have += n;
		}
		cr_assert_eq(have, total, "only %zu of %zu bytes arrived", have, total);
		for (size_t i = 0; i < total; i++)
			cr_assert_eq(buf[i], 'A' + i % 23, "byte %zu differs", i);
		free(buf);
	}
	wait(NULL);
	close(fd);
	free(tty);
}

Test(consoled, one_client_at_a_time_escape_detaches)
{
	struct tguest g;
	struct client a, b, c;
	char *tty, *got, zero = 1, holder[64];
	int status;
	uint32_t cons;

	tguest_create(&g, "locked", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	tguest_write(&g, "before client\r\n", 15);
	usleep(100 * 1000);
	client_start(&a, g.g_domid);
	cr_assert_eq(read(a.c_notify, &zero, 1), 1, "no start notification");
	cr_assert_eq(zero, 0);
	tguest_write(&g, "hello client\r\n", 14);
	got = read_until(a.c_out, "hello client", 3000, NULL);
	cr_assert(strstr(got, "before client\r\nhello client"), "client got \"%s\"", got);
	free(got);

	/* keyboard input through the client reaches the guest */
	cons = g.g_intf->in_prod;
	cr_assert_eq(write(a.c_in, "x", 1), 1);
	for (long deadline = now_ms() + 3000; g.g_intf->in_prod == cons; usleep(1000))
		cr_assert_lt(now_ms(), deadline, "client input never arrived");
	cr_assert_eq(g.g_intf->in[MASK_XENCONS_IDX(cons, g.g_intf->in)], 'x');

	/* a second client is refused at once, naming the first */
	client_start(&b, g.g_domid);
	status = client_wait(&b, 2000);
	cr_assert_neq(status, -1, "second client did not fail at once");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	got = read_until(b.c_err, NULL, 200, NULL);
	snprintf(holder, sizeof(holder), "pid %ld", (long)a.c_pid);
	cr_assert(strstr(got, holder), "refusal does not name the holder: \"%s\"", got);
	free(got);
	client_close(&b);

	/* Ctrl+] detaches the first; then another may attach */
	cr_assert_eq(write(a.c_in, "\x1d", 1), 1);
	status = client_wait(&a, 2000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "Ctrl+] did not detach (status %#x)", status);
	client_close(&a);
	client_start(&c, g.g_domid);
	cr_assert_eq(read(c.c_notify, &zero, 1), 1, "re-attach failed");
	client_close(&c);
	free(tty);
}

Test(consoled, client_exits_when_the_domain_dies)
{
	struct tguest g;
	struct client a;
	char zero;
	int status;

	tguest_create(&g, "dying", 1);
	tguest_publish(&g, 0);
	client_start(&a, g.g_domid);
	cr_assert_eq(read(a.c_notify, &zero, 1), 1, "no start notification");
	tguest_destroy(&g);
	status = client_wait(&a, 3000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "client did not leave with the domain (status %#x)", status);
	client_close(&a);
}

/*
 * The order a loaded machine can produce: consoled sees the death and
 * withdraws console/tty before the toolstack removes the domain's home. The
 * client must still leave when the home goes, not after its 5 s tty wait.
 */
Test(consoled, client_exits_when_the_tty_goes_before_the_home)
{
	struct tguest g;
	struct client a;
	char zero, path[96], *v;
	size_t len;
	int status;

	tguest_create(&g, "tty-first", 1);
	tguest_publish(&g, 0);
	client_start(&a, g.g_domid);
	cr_assert_eq(read(a.c_notify, &zero, 1), 1, "no start notification");
	hv_foreign_forget(st.st_hv, g.g_domid);
	if (g.g_bell >= 0)
		hv_evtchn_unbind(st.st_xce, g.g_bell);
	cr_assert_eq(hv_domain_destroy(st.st_hv, g.g_domid), 0, "destroy: %s", strerror(errno));
	snprintf(path, sizeof(path), "/local/domain/%u/console/tty", g.g_domid);
	for (long deadline = now_ms() + 3000; (v = xs_read(st.st_xs, XS_TX_NONE, path, &len));
	    usleep(5000)) {
		free(v);
		cr_assert_lt(now_ms(), deadline, "consoled never withdrew %s", path);
	}
	/* the client has seen its pty hang up and the tty vanish; the home is still there */
	cr_assert_eq(client_wait(&a, 300), -1, "client left while the home still exists");
	snprintf(path, sizeof(path), "/local/domain/%u", g.g_domid);
	xs_release_domain(st.st_xs, g.g_domid);
	cr_assert_eq(xs_rm(st.st_xs, XS_TX_NONE, path), 0);
	g.g_intf = NULL;
	status = client_wait(&a, 3000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "client did not leave with the home (status %#x)", status);
	client_close(&a);
}

Test(consoled, corrupt_indices_do_not_hurt)
{
	struct tguest g;
	char *tty, *got;
	int fd;

	tguest_create(&g, "evil", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	fd = open_tty(tty);
	g.g_intf->out_prod = g.g_intf->out_cons + 100000;
	tguest_ring(&g);
	g.g_intf->in_prod = g.g_intf->in_cons - 7;
	cr_assert_eq(write(fd, "q", 1), 1);
	usleep(200 * 1000);
	cr_assert_eq(waitpid(st.st_cd, NULL, WNOHANG), 0, "consoled died");
	/* the guest behaves again: its console works */
	tguest_write(&g, "recovered\r\n", 11);
	got = read_until(fd, "recovered", 3000, NULL);
	cr_assert(strstr(got, "recovered"), "got \"%s\"", got);
	free(got);
	close(fd);
	free(tty);
}

Test(consoled, flood_stays_within_the_bound_and_others_are_served)
{
	struct tguest flood, quiet;
	char chunk[2048], *tty, *got;
	long rss0, rss1;
	int fd;

	tguest_create(&flood, "flood", 1);
	tguest_publish(&flood, 65536);
	tguest_create(&quiet, "quiet", 1);
	tguest_publish(&quiet, 0);
	cr_assert_not_null(tty = tguest_tty(&flood, 5000));
	free(tty);
	cr_assert_not_null(tty = tguest_tty(&quiet, 5000));
	fd = open_tty(tty);
	usleep(100 * 1000);
	rss0 = proc_rss_kib(st.st_cd);
	memset(chunk, 'F', sizeof(chunk));
	/* 2 MiB that nobody reads, 32 times the limit */
	for (int i = 0; i < 1024; i++) {
		tguest_write(&flood, chunk, sizeof(chunk));
		if (i == 512) {
			/* meanwhile the quiet domain's console is still served */
			tguest_write(&quiet, "still here\r\n", 12);
			got = read_until(fd, "still here", 3000, NULL);
			cr_assert(strstr(got, "still here"), "starved: \"%s\"", got);
			free(got);
		}
	}
	rss1 = proc_rss_kib(st.st_cd);
	cr_assert_lt(rss1 - rss0, 1024, "consoled grew %ld KiB for a 64 KiB limit", rss1 - rss0);
	cr_assert_eq(waitpid(st.st_cd, NULL, WNOHANG), 0, "consoled died");
	close(fd);
	free(tty);
}

Test(consoled, hundred_create_destroy_cycles_leak_no_fd, .timeout = 120)
{
	struct tguest g;
	char *tty;
	int fds0, fds1 = -1;

	/* one cycle first, so lazily opened things are counted in the baseline */
	tguest_create(&g, "warm", 0);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	free(tty);
	tguest_destroy(&g);
	usleep(200 * 1000);
	fds0 = proc_fd_count(st.st_cd);
	for (int i = 0; i < 100; i++) {
		tguest_create(&g, "cycle", 0);
		tguest_publish(&g, 0);
		cr_assert_not_null(tty = tguest_tty(&g, 5000), "cycle %d: no tty", i);
		free(tty);
		tguest_destroy(&g);
	}
	for (long deadline = now_ms() + 5000; now_ms() < deadline; usleep(20000))
		if ((fds1 = proc_fd_count(st.st_cd)) == fds0)
			break;
	cr_assert_eq(fds1, fds0, "consoled holds %d fds, started with %d", fds1, fds0);
}

Test(consoled, restart_picks_up_running_domains)
{
	struct tguest g;
	char *tty, *tty2, *got, path[96];
	size_t len;
	int fd;

	tguest_create(&g, "survivor", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	stack_restart_consoled();
	/* the old tty node goes with the old consoled, a new one comes */
	snprintf(path, sizeof(path), "/local/domain/%u/console/tty", g.g_domid);
	for (long deadline = now_ms() + 5000;; usleep(5000)) {
		tty2 = xs_read(st.st_xs, XS_TX_NONE, path, &len);
		if (tty2 && len > 0 && proc_fd_count(st.st_cd) > 0)
			break;
		free(tty2);
		tty2 = NULL;
		cr_assert_lt(now_ms(), deadline, "no tty after the restart");
	}
	fd = open_tty(tty2);
	tguest_write(&g, "after restart\r\n", 15);
	got = read_until(fd, "after restart", 3000, NULL);
	cr_assert(strstr(got, "after restart"), "got \"%s\"", got);
	free(got);
	close(fd);
	free(tty);
	free(tty2);
}

Test(consoled, foreign_console_types_are_left_alone)
{
	struct tguest g;
	char path[96], *tty;

	tguest_create(&g, "qemu", 1);
	g.g_type = "ioemu";
	tguest_publish(&g, 0);
	snprintf(path, sizeof(path), "/local/domain/%u/console/type", g.g_domid);
	tty = tguest_tty(&g, 500);
	cr_assert_null(tty, "consoled served an ioemu console: %s", tty);
	/* handed over to us: served */
	cr_assert_eq(xs_write(st.st_xs, XS_TX_NONE, path, "xenconsoled", 11), 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	free(tty);
}

/* Median of n samples (sorts them). */
static long
median_us(long *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			long t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

Test(consoled, latency_figures)
{
	struct tguest g;
	long out_us[40], in_us[40], t0;
	char *tty, c;
	uint32_t prod;
	int fd;

	tguest_create(&g, "latency", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	fd = open_tty(tty);
	for (int i = 0; i < 40; i++) {
		/* guest -> pty, one byte, paced below the storm allowance */
		usleep(10 * 1000);
		t0 = now_us();
		tguest_write(&g, "x", 1);
		cr_assert_eq(read(fd, &c, 1), 1);
		out_us[i] = now_us() - t0;
		/* pty -> in ring */
		prod = g.g_intf->in_prod;
		t0 = now_us();
		cr_assert_eq(write(fd, "y", 1), 1);
		while (g.g_intf->in_prod == prod) {
			cr_assert_lt(now_us() - t0, 2000000);
			usleep(20);	/* do not spin against consoled on a busy machine */
		}
		in_us[i] = now_us() - t0;
	}
	cr_log_info("console latency, median of 40: guest->pty %ld us, pty->in ring %ld us",
	    median_us(out_us, 40), median_us(in_us, 40));
	fprintf(stderr, "consoled figures: guest->pty %ld us, pty->ring %ld us (median of 40)\n",
	    median_us(out_us, 40), median_us(in_us, 40));
	/* figures only: timings are never assertions on these noisy machines */
	close(fd);
	free(tty);
}

static void
fast_init(void)
{
	if (!stack_have_daemons())
		cr_skip_test("hvd, xenstored or consoled not built");
	stack_start("--rate-limit=0", NULL);
}

TestSuite(consoled_nolimit, .init = fast_init, .fini = suite_fini, .timeout = 60);

Test(consoled_nolimit, throughput_figures)
{
	struct tguest g;
	char *tty, chunk[2048], *buf;
	size_t total = 4 << 20, have = 0;
	long t0, us;
	int fd;

	tguest_create(&g, "fast", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	fd = open_tty(tty);
	memset(chunk, 'z', sizeof(chunk));
	buf = malloc(65536);
	t0 = now_us();
	if (fork() == 0) {
		for (size_t off = 0; off < total; off += sizeof(chunk))
			tguest_write(&g, chunk, sizeof(chunk));
		_exit(0);
	}
	while (have < total) {
		ssize_t n = read(fd, buf, 65536);
		cr_assert_gt(n, 0);
		have += n;
	}
	us = now_us() - t0;
	wait(NULL);
	fprintf(stderr, "consoled figures: %zu KiB guest->pty in %ld ms = %ld KiB/s (no rate limit)\n",
	    total >> 10, us / 1000, (long)((total >> 10) * 1000000.0 / us));
	cr_assert_eq(have, total);
	free(buf);
	close(fd);
	free(tty);
}

Test(consoled, client_terminal_is_raw_while_attached_and_restored_after)
{
	struct tguest g;
	struct termios before, during, after;
	char slave[64], *tty, *got, id[16];
	const char *prog = stack_prog("consoled/pvconsole");
	int master, sfd, status = -1;
	pid_t pid;

	tguest_create(&g, "term", 1);
	tguest_publish(&g, 0);
	cr_assert_not_null(tty = tguest_tty(&g, 5000));
	/* a terminal for the client: it must find stdin is a tty */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master) | unlockpt(master), 0);
	cr_assert_eq(ptsname_r(master, slave, sizeof(slave)), 0);
	sfd = open(slave, O_RDWR | O_NOCTTY);
	cr_assert_geq(sfd, 0);
	cr_assert_eq(tcgetattr(sfd, &before), 0);
	cr_assert(before.c_lflag & ICANON, "a fresh pty starts cooked");
	snprintf(id, sizeof(id), "%u", g.g_domid);
	pid = fork();
	if (pid == 0) {
		dup2(sfd, 0);
		dup2(sfd, 1);
		execl(prog, prog, id, (char *)NULL);
		_exit(127);
	}
	tguest_write(&g, "on the terminal\r\n", 17);
	got = read_until(master, "on the terminal", 3000, NULL);
	cr_assert(strstr(got, "on the terminal"), "terminal got \"%s\"", got);
	free(got);
	cr_assert_eq(tcgetattr(sfd, &during), 0);
	cr_assert(!(during.c_lflag & (ICANON | ECHO)), "not raw while attached");
	cr_assert_eq(write(master, "\x1d", 1), 1);
	for (long deadline = now_ms() + 3000; now_ms() < deadline; usleep(5000))
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	cr_assert_eq(tcgetattr(sfd, &after), 0);
	cr_assert_eq(after.c_lflag, before.c_lflag, "terminal not restored");
	cr_assert_eq(after.c_iflag, before.c_iflag);
	cr_assert_eq(after.c_oflag, before.c_oflag);
	close(sfd);
	close(master);
	free(tty);
}

Test(consoled, client_stays_across_a_consoled_restart)
{
	struct tguest g;
	struct client a;
	char zero, *got;

	tguest_create(&g, "steady", 1);
	tguest_publish(&g, 0);
	client_start(&a, g.g_domid);
	cr_assert_eq(read(a.c_notify, &zero, 1), 1, "no start notification");
	stack_restart_consoled();
	usleep(300 * 1000);
	cr_assert_eq(client_wait(&a, 0), -1, "the client left with the old consoled");
	tguest_write(&g, "new consoled\r\n", 14);
	got = read_until(a.c_out, "new consoled", 5000, NULL);
	cr_assert(strstr(got, "new consoled"), "client got \"%s\"", got);
	free(got);
	client_close(&a);
}
