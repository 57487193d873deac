/*
 * The console client (xenconsole's job), for pvconsole and xl create -c:
 * waits for the domain's pty, copies between the terminal and the pty;
 * Ctrl+] detaches; ends when the domain dies.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "pvconsole_client.h"
#include "xmalloc.h"
#include "xs.h"

#define PVCONSOLE_ESCAPE	0x1d	/* Ctrl+] */
#define PVCONSOLE_WAIT_MS	5000	/* for the tty node to appear */
#define PVCONSOLE_RETRY_MS	100
#define PVCONSOLE_TOKEN		"pvconsole-tty"
#define PVCONSOLE_HOME_TOKEN	"pvconsole-home"

static struct termios pvconsole_saved_tio;
static int pvconsole_tio_saved;

/* Puts the terminal back as we found it, on every way out. */
void
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
int
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

/* The xenstore node holding the pty path of the chosen console. */
char *
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

/*
 * Connects and watches the tty node, which need not exist yet: xl create -c
 * does this while the domain is being built, off the path to the prompt.
 */
int
pvconsole_watch(struct pvconsole *pc, unsigned long domid, const char *type, unsigned long num)
{
	if ((pc->pc_xs = xs_open(NULL)) == NULL) {
		fprintf(stderr, "pvconsole: cannot connect to xenstored: %s\n", strerror(errno));
		return -1;
	}
	pc->pc_path = pvconsole_tty_node(domid, type, num);
	xasprintf(&pc->pc_home, "/local/domain/%lu", domid);
	if (xs_watch(pc->pc_xs, pc->pc_path, PVCONSOLE_TOKEN) < 0) {
		fprintf(stderr, "pvconsole: watch %s: %s\n", pc->pc_path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * After pvconsole_watch: waits for the pty and opens it; 0, or -1 after
 * saying why. while_alive: the domain runs already, and the wait ends if it
 * goes away first.
 */
int
pvconsole_attach(struct pvconsole *pc, unsigned long domid, int while_alive)
{
	/* the home's removal wakes a client waiting for a withdrawn tty */
	if (xs_watch(pc->pc_xs, pc->pc_home, PVCONSOLE_HOME_TOKEN) < 0) {
		fprintf(stderr, "pvconsole: watch %s: %s\n", pc->pc_home, strerror(errno));
		return -1;
	}
	pc->pc_tty = pvconsole_wait_tty(pc, PVCONSOLE_WAIT_MS, while_alive);
	if (pc->pc_tty == NULL && while_alive && !pvconsole_domain_exists(pc)) {
		fprintf(stderr, "pvconsole: domain %lu went away before its console came\n", domid);
		return -1;
	}
	if (pc->pc_tty == NULL) {
		fprintf(stderr, "pvconsole: domain %lu has no console (%s) after %d s\n",
		    domid, pc->pc_path, PVCONSOLE_WAIT_MS / 1000);
		return -1;
	}
	if (pvconsole_open_pty(pc) < 0) {
		fprintf(stderr, "pvconsole: %s: %s\n", pc->pc_tty, strerror(errno));
		return -1;
	}
	return 0;
}

/* Waits for the pty and opens it; 0, or -1 after saying why. */
int
pvconsole_connect(struct pvconsole *pc, unsigned long domid, const char *type,
    unsigned long num)
{
	if (pvconsole_watch(pc, domid, type, num) < 0)
		return -1;
	return pvconsole_attach(pc, domid, 0);
}

/* Raw mode for our terminal, and signals that put it back before we die. */
void
pvconsole_take_terminal(void)
{
	signal(SIGTERM, pvconsole_on_signal);
	signal(SIGHUP, pvconsole_on_signal);
	signal(SIGINT, pvconsole_on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (isatty(STDIN_FILENO))
		pvconsole_raw(STDIN_FILENO, 1);
}

/* Everything pvconsole_connect opened goes; the lock is the caller's. */
void
pvconsole_close(struct pvconsole *pc)
{
	if (pc->pc_pty >= 0)
		close(pc->pc_pty);
	pc->pc_pty = -1;
	if (pc->pc_xs)
		xs_close(pc->pc_xs);
	pc->pc_xs = NULL;
	free(pc->pc_home);
	free(pc->pc_path);
	free(pc->pc_tty);
	pc->pc_home = pc->pc_path = pc->pc_tty = NULL;
}
