/* The guest-driven network tests' common steps (netguest.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netguest.h"
#include "stack.h"

#ifndef NG_SCRIPTDIR
#error NG_SCRIPTDIR names the source hotplug/ directory
#endif

#define NG_PING_ID	0x4e51

/* netguest.h */
void
ng_start(struct stack *s, const char *name, const char *cidr)
{
	cr_assert(stack_have(STACK_WITH(STACK_CONSOLED) | STACK_WITH(STACK_NETBACK)),
	    "hvd, xenstored, consoled and netback must be built");
	/* our own namespace: the host's interfaces are never touched, and what
	 * is made here goes with this test's process */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ng_bridge(cidr);
	stack_start(s, name, STACK_WITH(STACK_CONSOLED) | STACK_WITH(STACK_NETBACK));
	ng_env(s);
}

/* netguest.h */
void
ng_bridge(const char *cidr)
{
	char *o;

	cr_assert_eq(ng_sh(&o, "ip link set lo up && ip link add xenbr0 type bridge && "
	    "ip addr add %s dev xenbr0 && ip link set xenbr0 up", cidr), 0, "%s", o);
}

/* netguest.h */
void
ng_env(struct stack *s)
{
	setenv("PVSTACK_CONFDIR", s->s_rundir, 1);	/* xl reads no host xl.conf */
	setenv("PVSTACK_SCRIPTDIR", NG_SCRIPTDIR, 1);	/* vif-bridge from the source tree */
	setenv("XL", stack_prog("toolstack/xl"), 1);
}

/* netguest.h */
void
ng_expect_in(const char *text, const char *needle)
{
	cr_assert_not_null(strstr(text, needle), "no \"%s\" in:\n%s", needle, text);
}

/* netguest.h */
int
ng_sh(char **o, const char *fmt, ...)
{
	char cmd[1400];
	static char buf[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>&1");
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	int st = pclose(p);
	if (o != NULL)
		*o = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* netguest.h */
bool
ng_con_wait(struct ng_con *c, const char *needle, size_t from, int ms)
{
	long long deadline = stack_now_ms() + ms;

	for (;;) {
		if (strstr(c->c_out + from, needle) != NULL)
			return true;
		long long left = deadline - stack_now_ms();
		if (left <= 0)
			return false;
		struct pollfd pfd = { .fd = c->c_fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) <= 0)
			continue;
		ssize_t n = read(c->c_fd, c->c_out + c->c_len, sizeof(c->c_out) - 1 - c->c_len);
		if (n <= 0)
			return false;
		c->c_len += (size_t)n;
		c->c_out[c->c_len] = '\0';
	}
}

/* netguest.h */
const char *
ng_run(struct ng_con *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	size_t from = c->c_len;
	strcat(line, "\r");
	cr_assert_eq(write(c->c_fd, line, strlen(line)), (ssize_t)strlen(line));
	cr_assert(ng_con_wait(c, "\n" NG_PROMPT, from, 60000), "no prompt after %s; console:\n%s",
	    line, c->c_out + from);
	return c->c_out + from;
}

/* netguest.h */
void
ng_boot(struct ng_con *c, const char *dir, const char *name, const char *vifs)
{
	char cfg[200];

	snprintf(cfg, sizeof(cfg), "%s/%s.cfg", dir, name);
	FILE *f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f, "name = \"%s\"\nkernel = \"%s\"\nmemory = 32\non_poweroff = \"destroy\"\n"
	    "vif = [ %s ]\n", name, stack_prog("guest/pvguest"), vifs);
	fclose(f);
	c->c_len = 0;
	c->c_out[0] = '\0';
	c->c_pid = forkpty(&c->c_fd, NULL, NULL, NULL);
	cr_assert_geq(c->c_pid, 0);
	if (c->c_pid == 0) {
		execl(stack_prog("toolstack/xl"), "xl", "create", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	cr_assert(ng_con_wait(c, NG_PROMPT, 0, 30000), "no prompt; console:\n%s", c->c_out);
}

/* netguest.h */
void
ng_con_close(struct ng_con *c)
{
	if (c->c_pid <= 0)
		return;
	kill(c->c_pid, SIGTERM);
	waitpid(c->c_pid, NULL, 0);
	close(c->c_fd);
	c->c_pid = -1;
}

/* RFC 1071 checksum of an ICMP message we send. */
static uint16_t
ng_icmp_sum(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return (uint16_t)~sum;
}

/* Whether the reply to seq from to came within 2 s. */
static bool
ng_ping_reply(int fd, const struct sockaddr_in *to, int seq)
{
	uint8_t in[1500];
	long long deadline = stack_now_ms() + 2000;

	for (long long left; (left = deadline - stack_now_ms()) > 0;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			return false;
		ssize_t n = recv(fd, in, sizeof(in), 0);
		const struct iphdr *ip = (const struct iphdr *)in;
		if (n < (ssize_t)sizeof(*ip) || ip->saddr != to->sin_addr.s_addr ||
		    n < (ssize_t)(ip->ihl * 4 + sizeof(struct icmphdr)))
			continue;
		const struct icmphdr *r = (const struct icmphdr *)(in + ip->ihl * 4);
		if (r->type == ICMP_ECHOREPLY && r->un.echo.id == htons(NG_PING_ID) &&
		    r->un.echo.sequence == htons((uint16_t)seq))
			return true;
	}
	return false;
}

/* netguest.h */
int
ng_dom0_ping(const char *addr, int count)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), got = 0;
	struct sockaddr_in to = { .sin_family = AF_INET };

	cr_assert_geq(fd, 0, "raw ICMP socket: %s", strerror(errno));
	cr_assert_eq(inet_pton(AF_INET, addr, &to.sin_addr), 1);
	for (int seq = 1; seq <= count; seq++) {
		uint8_t msg[64] = { 0 };
		struct icmphdr *h = (struct icmphdr *)msg;
		h->type = ICMP_ECHO;
		h->un.echo.id = htons(NG_PING_ID);
		h->un.echo.sequence = htons((uint16_t)seq);
		h->checksum = ng_icmp_sum(msg, sizeof(msg));
		cr_assert_eq(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
		    (ssize_t)sizeof(msg), "sendto %s: %s", addr, strerror(errno));
		got += ng_ping_reply(fd, &to, seq);
	}
	close(fd);
	return got;
}

/* netguest.h */
double
ng_mbits(const char *out, unsigned long long *frames)
{
	const char *at = NULL;
	double fps, mbits;

	for (const char *p = out; (p = strstr(p, "\nframes ")) != NULL; p++)
		at = p;
	cr_assert_not_null(at, "no frames line in:\n%s", out);
	cr_assert_eq(sscanf(at, "\nframes %llu fps %lf Mbit/s %lf", frames, &fps, &mbits), 3,
	    "unreadable frames line in:\n%s", out);
	return mbits;
}
