/*
 * pvconsole: the console client `xl console` runs (xenconsole's job).
 * Waits for the domain's pty, takes the per-console lock, copies between
 * the terminal and the pty; Ctrl+] detaches; exits when the domain dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <stdint.h>
#include <xen/xen.h>

#include "conlock.h"
#include "xmalloc.h"
#include "xs.h"

#define PVCONSOLE_ESCAPE	0x1d	/* Ctrl+] */
#define PVCONSOLE_WAIT_MS	5000	/* for the tty node to appear */
#define PVCONSOLE_RETRY_MS	100
#define PVCONSOLE_TOKEN		"pvconsole-tty"
#define PVCONSOLE_HOME_TOKEN	"pvconsole-home"

struct pvconsole {
	struct xs *pc_xs;
	char *pc_home;		/* /local/domain/D: gone when the domain is */
	char *pc_path;		/* the tty node */
	char *pc_tty;		/* its value, the pty we use */
	int pc_pty;
	int pc_stdin_open;
	char pc_in[4096];	/* typed bytes not yet accepted by the pty */
	size_t pc_in_len;
};

static struct termios pvconsole_saved_tio;
static int pvconsole_tio_saved;

/* The option summary. */
static void
pvconsole_usage(FILE *f)
{
	fprintf(f,
	    "usage: pvconsole [--type pv|serial] [-n|--num N] [--start-notify-fd FD] DOMID\n"
	    "Attaches the terminal to a domain's console; Ctrl+] detaches.\n");
}

/* Names a bad argument and exits 2. */
static _Noreturn void
pvconsole_die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "pvconsole: %s \"%s\"\n", what, arg);
	pvconsole_usage(stderr);
	exit(2);
}

/* Puts the terminal back as we found it, on every way out. */
static void
pvconsole_restore_tty(void)
{
	if (pvconsole_tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &pvconsole_saved_tio);
}

/* Leaves the terminal usable when killed. */
static void
pvconsole_on_signal(int sig)
{
	pvconsole_restore_tty();
	_exit(128 + sig);
}

/*
 * Raw mode on a terminal fd. For stdin (save) the old settings are kept for
 * the way out; the pty is changed without a flush, which would throw away
 * the console output consoled queued there before we attached.
 */
static int
pvconsole_raw(int fd, int save)
{
	struct termios tio;

	if (tcgetattr(fd, &tio) < 0)
		return -1;
	if (save) {
		pvconsole_saved_tio = tio;
		pvconsole_tio_saved = 1;
	}
	cfmakeraw(&tio);
	return tcsetattr(fd, save ? TCSAFLUSH : TCSANOW, &tio);
}

/* A clock for the tty wait. */
static long
pvconsole_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* The tty node's value; NULL when absent or empty. */
static char *
pvconsole_read_tty(struct pvconsole *pc)
{
	size_t len = 0;
	char *val = xs_read(pc->pc_xs, XS_TX_NONE, pc->pc_path, &len), *copy;

	if (val == NULL)
		return NULL;
	copy = len ? xstrndup(val, len) : NULL;
	free(val);
	return copy;
}

/* Drops queued watch events (we re-read the node anyway); their count, or -1. */
static int
pvconsole_drain_watches(struct pvconsole *pc)
{
	char **vec;
	int n = 0;

	while ((vec = xs_check_watch(pc->pc_xs)) != NULL) {
		free(vec);
		n++;
	}
	return errno == EAGAIN ? n : -1;
}

/* Whether the domain's xenstore home still exists (xl destroy removes it). */
static int
pvconsole_domain_exists(struct pvconsole *pc)
{
	size_t len;
	char *v = xs_read(pc->pc_xs, XS_TX_NONE, pc->pc_home, &len);

	free(v);
	return v != NULL;
}

/*
 * Waits up to timeout_ms for the tty node; its value or NULL. With
 * while_alive the wait also ends when the domain's home goes: consoled may
 * withdraw the tty on the death before the toolstack removes the home.
 */
static char *
pvconsole_wait_tty(struct pvconsole *pc, long timeout_ms, int while_alive)
{
	long deadline = pvconsole_now_ms() + timeout_ms, left;
	struct pollfd pfd = { .fd = xs_fd(pc->pc_xs), .events = POLLIN };
	char *tty;

	for (;;) {
		if ((tty = pvconsole_read_tty(pc)) != NULL)
			return tty;
		left = deadline - pvconsole_now_ms();
		if (left <= 0)
			return NULL;
		/* the watch wakes us; the cap covers events the library already queued */
		poll(&pfd, 1, left < PVCONSOLE_RETRY_MS ? left : PVCONSOLE_RETRY_MS);
		if (pvconsole_drain_watches(pc) < 0)
			return NULL;
		if (while_alive && !pvconsole_domain_exists(pc))
			return NULL;
	}
}

/* Opens the pty named by pc_tty in raw, non-blocking mode. */
static int
pvconsole_open_pty(struct pvconsole *pc)
{
	int fd = open(pc->pc_tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	pvconsole_raw(fd, 0);
	if (pc->pc_pty >= 0)
		close(pc->pc_pty);
	pc->pc_pty = fd;
	return 0;
}

/*
 * The tty node changed: follow a new pty. Without a node, a live domain
 * (consoled restarting) gets the usual wait; 1 when the domain is gone.
 */
static int
pvconsole_follow(struct pvconsole *pc)
{
	char *tty = pvconsole_read_tty(pc);

	if (tty == NULL && pvconsole_domain_exists(pc))
		tty = pvconsole_wait_tty(pc, PVCONSOLE_WAIT_MS, 1);
	if (tty == NULL)
		return 1;
	if (pc->pc_pty >= 0 && strcmp(tty, pc->pc_tty) == 0) {
		free(tty);
		return 0;
	}
	free(pc->pc_tty);
	pc->pc_tty = tty;
	return pvconsole_open_pty(pc);
}

/* Writes all of buf to a blocking fd. */
static int
pvconsole_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Keyboard input: queue it for the pty; 1 on Ctrl+] (detach). */
static int
pvconsole_on_stdin(struct pvconsole *pc)
{
	char *room = pc->pc_in + pc->pc_in_len, *esc;
	ssize_t n = read(STDIN_FILENO, room, sizeof(pc->pc_in) - pc->pc_in_len);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		pc->pc_stdin_open = 0;
		return 0;
	}
	esc = memchr(room, PVCONSOLE_ESCAPE, n);
	if (esc) {
		pc->pc_in_len += esc - room;
		return 1;
	}
	pc->pc_in_len += n;
	return 0;
}

/* Pushes queued keyboard input into the pty as far as it takes it. */
static int
pvconsole_flush_input(struct pvconsole *pc)
{
	ssize_t n = write(pc->pc_pty, pc->pc_in, pc->pc_in_len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	memmove(pc->pc_in, pc->pc_in + n, pc->pc_in_len - n);
	pc->pc_in_len -= n;
	return 0;
}

/* Console output to the terminal; -1 when the pty failed. */
static int
pvconsole_on_pty(struct pvconsole *pc)
{
	char buf[8192];
	ssize_t n = read(pc->pc_pty, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	return pvconsole_write_all(STDOUT_FILENO, buf, n) < 0 ? -2 : 0;
}

/* The pty failed: wait for consoled's next one; 1 = domain gone, -1 = give up. */
static int
pvconsole_reattach(struct pvconsole *pc)
{
	int tries;

	close(pc->pc_pty);
	pc->pc_pty = -1;
	for (tries = 0; tries < 50; tries++) {
		if (pvconsole_follow(pc) == 1)
			return 1;
		if (pc->pc_pty >= 0)
			return 0;
		usleep(PVCONSOLE_RETRY_MS * 1000);
	}
	return -1;
}

/* The copy loop; returns the exit status. */
static int
pvconsole_loop(struct pvconsole *pc)
{
	struct pollfd pfd[3];
	int rc;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = pc->pc_stdin_open && pc->pc_in_len == 0 ?
		    STDIN_FILENO : -1, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = pc->pc_pty,
		    .events = POLLIN | (pc->pc_in_len ? POLLOUT : 0) };
		pfd[2] = (struct pollfd){ .fd = xs_fd(pc->pc_xs), .events = POLLIN };
		if (poll(pfd, 3, 1000) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents && pvconsole_on_stdin(pc) == 1) {
			pvconsole_flush_input(pc);
			return 0;
		}
		if ((pfd[1].revents & POLLOUT) && pvconsole_flush_input(pc) < 0)
			pfd[1].revents |= POLLHUP;
		if (pfd[1].revents) {
			rc = pvconsole_on_pty(pc);
			if (rc == -2)
				return 1;
			if (rc < 0 && (rc = pvconsole_reattach(pc)) != 0)
				return rc > 0 ? 0 : 1;
		}
		if ((rc = pvconsole_drain_watches(pc)) < 0)
			return 1;
		if (rc > 0 && (rc = pvconsole_follow(pc)) != 0)
			return rc > 0 ? 0 : 1;
	}
}

/* "pvconsole ARGS (from PARENT-CMD)", recorded in the lock for refused clients. */
static char *
pvconsole_describe(int argc, char **argv)
{
	char path[64], pbuf[256], *s, *tmp;
	ssize_t n = 0;
	int i, fd;

	s = xstrdup("pvconsole");
	for (i = 1; i < argc; i++) {
		xasprintf(&tmp, "%s %s", s, argv[i]);
		free(s);
		s = tmp;
	}
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)getppid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, pbuf, sizeof(pbuf) - 1);
		close(fd);
	}
	if (n > 0) {
		for (i = 0; i < n - 1; i++)
			if (pbuf[i] == '\0')
				pbuf[i] = ' ';
		pbuf[n] = '\0';
		xasprintf(&tmp, "%s (from pid %ld: %s)", s, (long)getppid(), pbuf);
		free(s);
		s = tmp;
	}
	return s;
}

/* The xenstore node holding the pty path of the chosen console. */
static char *
pvconsole_tty_node(unsigned domid, const char *type, unsigned num)
{
	char *p;

	if (strcmp(type, "serial") == 0)
		xasprintf(&p, "/local/domain/%u/serial/%u/tty", domid, num);
	else if (num == 0)
		xasprintf(&p, "/local/domain/%u/console/tty", domid);
	else
		xasprintf(&p, "/local/domain/%u/device/console/%u/tty", domid, num);
	return p;
}

struct pvconsole_opts {
	const char *po_type;
	unsigned long po_domid;
	unsigned long po_num;
	int po_notify_fd;
};

/* Parses the command line; exits on a usage error. */
static void
pvconsole_options(int argc, char **argv, struct pvconsole_opts *o)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "num", required_argument, NULL, 'n' },
		{ "start-notify-fd", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long fd;
	int c;

	o->po_type = "pv";
	o->po_num = 0;
	o->po_notify_fd = -1;
	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->po_type = optarg;
			if (strcmp(optarg, "pv") != 0 && strcmp(optarg, "serial") != 0)
				pvconsole_die_usage("unknown console type", optarg);
			break;
		case 'n':
			o->po_num = strtoul(optarg, &end, 10);
			if (*end || end == optarg || o->po_num > 1000)
				pvconsole_die_usage("bad console number", optarg);
			break;
		case 's':
			fd = strtol(optarg, &end, 10);
			if (*end || end == optarg || fd < 0 || fd > 65535)
				pvconsole_die_usage("bad fd", optarg);
			o->po_notify_fd = fd;
			break;
		case 'h':
			pvconsole_usage(stdout);
			exit(0);
		default:
			pvconsole_usage(stderr);
			exit(2);
		}
	}
	if (optind + 1 != argc) {
		pvconsole_usage(stderr);
		exit(2);
	}
	o->po_domid = strtoul(argv[optind], &end, 10);
	if (*end || end == argv[optind] || o->po_domid >= DOMID_FIRST_RESERVED)
		pvconsole_die_usage("bad domain id", argv[optind]);
	if (o->po_domid == 0) {
		fprintf(stderr, "pvconsole: Can't specify Domain-0\n");
		exit(2);
	}
}

/* Waits for the pty and opens it; 0, or -1 after saying why. */
static int
pvconsole_connect(struct pvconsole *pc, const struct pvconsole_opts *o)
{
	if ((pc->pc_xs = xs_open(NULL)) == NULL) {
		fprintf(stderr, "pvconsole: cannot connect to xenstored: %s\n", strerror(errno));
		return -1;
	}
	pc->pc_path = pvconsole_tty_node(o->po_domid, o->po_type, o->po_num);
	xasprintf(&pc->pc_home, "/local/domain/%lu", o->po_domid);
	if (xs_watch(pc->pc_xs, pc->pc_path, PVCONSOLE_TOKEN) < 0) {
		fprintf(stderr, "pvconsole: watch %s: %s\n", pc->pc_path, strerror(errno));
		return -1;
	}
	/* the home's removal wakes a client waiting for a withdrawn tty */
	if (xs_watch(pc->pc_xs, pc->pc_home, PVCONSOLE_HOME_TOKEN) < 0) {
		fprintf(stderr, "pvconsole: watch %s: %s\n", pc->pc_home, strerror(errno));
		return -1;
	}
	pc->pc_tty = pvconsole_wait_tty(pc, PVCONSOLE_WAIT_MS, 0);
	if (pc->pc_tty == NULL) {
		fprintf(stderr, "pvconsole: domain %lu has no console (%s) after %d s\n",
		    o->po_domid, pc->pc_path, PVCONSOLE_WAIT_MS / 1000);
		return -1;
	}
	if (pvconsole_open_pty(pc) < 0) {
		fprintf(stderr, "pvconsole: %s: %s\n", pc->pc_tty, strerror(errno));
		return -1;
	}
	return 0;
}

/* Says we are attached on --start-notify-fd. */
static void
pvconsole_notify_start(int fd)
{
	char zero = 0;

	if (fd < 0)
		return;
	if (write(fd, &zero, 1) != 1)
		fprintf(stderr, "pvconsole: start notify fd %d: %s\r\n", fd, strerror(errno));
	close(fd);
}

/* Lock, wait for the pty, copy both ways, restore the terminal. */
int
main(int argc, char **argv)
{
	struct pvconsole pc = { .pc_pty = -1, .pc_stdin_open = 1 };
	struct pvconsole_opts o;
	char holder[512], *lockpath, *desc;
	int lockfd, rc = 1;

	pvconsole_options(argc, argv, &o);
	lockpath = conlock_path(o.po_domid, o.po_num);
	desc = pvconsole_describe(argc, argv);
	lockfd = conlock_acquire(lockpath, desc, holder, sizeof(holder));
	free(desc);
	if (lockfd < 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr, "pvconsole: Could not lock %s: console of domain %lu "
			    "is in use by %s\n", lockpath, o.po_domid, holder);
		else
			fprintf(stderr, "pvconsole: Could not lock %s: %s\n", lockpath,
			    strerror(errno));
		goto out;
	}
	if (pvconsole_connect(&pc, &o) < 0)
		goto out;
	signal(SIGTERM, pvconsole_on_signal);
	signal(SIGHUP, pvconsole_on_signal);
	signal(SIGINT, pvconsole_on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (isatty(STDIN_FILENO))
		pvconsole_raw(STDIN_FILENO, 1);
	pvconsole_notify_start(o.po_notify_fd);
	rc = pvconsole_loop(&pc);
	pvconsole_restore_tty();
out:
	if (pc.pc_pty >= 0)
		close(pc.pc_pty);
	conlock_release(lockfd);
	if (pc.pc_xs)
		xs_close(pc.pc_xs);
	free(pc.pc_home);
	free(pc.pc_path);
	free(pc.pc_tty);
	free(lockpath);
	return rc;
}
