/*
 * UML's console is one end of a socketpair (its stdin, stdout and stderr, and
 * ssl0=fd:0,fd:1); the other end is pumped to and from the console ring, so
 * `xl console` shows the kernel from its first line and a login prompt on
 * ttyS0. Lines are also read for the kernel's last words, which say why it
 * stopped: UML re-execs itself on reboot and may sit forever after a panic.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"

static const struct {
	const char *text;
	unsigned reason;
} shim_cons_last_words[] = {
	{ "reboot: Restarting system", SHUTDOWN_reboot },
	{ "reboot: Power down", SHUTDOWN_poweroff },
	{ "reboot: System halted", SHUTDOWN_poweroff },
	{ "Kernel panic - not syncing", SHUTDOWN_crash },
};

/* A whole line of the kernel's: does it say how the kernel is going down? */
static void
shim_cons_line(struct shim *s)
{
	s->s_line[s->s_linelen] = '\0';
	for (size_t i = 0; i < sizeof(shim_cons_last_words) / sizeof(shim_cons_last_words[0]); i++)
		if (strstr(s->s_line, shim_cons_last_words[i].text))
			s->s_seen = shim_cons_last_words[i].reason;
	s->s_linelen = 0;
}

static void
shim_cons_track(struct shim *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			if (s->s_linelen)
				shim_cons_line(s);
		} else if (s->s_linelen < sizeof(s->s_line) - 1)
			s->s_line[s->s_linelen++] = buf[i];
	}
}

/* UML wrote: to the ring. */
static void
shim_cons_out(int fd, short revents, void *arg)
{
	struct shim *s = arg;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)revents;
	if (n <= 0) {
		events_unwatch_fd(s->s_g->g_ev, fd);
		return;
	}
	console_write(s->s_g->g_cons, buf, (size_t)n);
	shim_cons_track(s, buf, (size_t)n);
}

/* What was typed on the console: to UML. Called each round of the main loop. */
void
shim_cons_in(struct shim *s)
{
	char buf[512];
	ssize_t n;

	while ((n = console_read(s->s_g->g_cons, buf, sizeof(buf))) > 0)
		if (write(s->s_cons, buf, (size_t)n) < 0 && errno != EAGAIN)
			break;
}

/* Makes the pair; returns UML's end (the caller gives it to the child). */
int
shim_cons_init(struct shim *s)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	s->s_cons = sv[0];
	s->s_seen = ~0u;
	if (events_watch_fd(s->s_g->g_ev, sv[0], POLLIN, shim_cons_out, s) < 0)
		return -1;
	return sv[1];
}
