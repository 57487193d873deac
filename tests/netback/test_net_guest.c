/*
 * Networking end to end, driven from inside guests: a network namespace of
 * the test's own (unshare: it goes with the test process, and every tap and
 * bridge in it), a bridge xenbr0 holding dom0's 10.9.0.1, a private stack
 * with netback, pvguests created by xl with bridged vifs and their consoles
 * on ptys. dom0 pings a guest and a guest dom0, two guests ping each other,
 * frames over a page cross with feature-sg, and an interface attached to and
 * detached from a running guest carries pings in between.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stack.h"

#define PROMPT "pvguest# "

#ifndef NG_SCRIPTDIR
#error NG_SCRIPTDIR names the source hotplug/ directory
#endif

struct con {
	pid_t c_pid;			/* xl create -c, holding the console */
	int c_fd;
	char c_out[1 << 17];
	size_t c_len;
};

static struct stack s;
static struct con cons[2];

/* Runs a shell command; its exit status, output (both streams) in *o. */
static int
sh(char **o, const char *fmt, ...)
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

/* RFC 1071 checksum of an ICMP message we send. */
static uint16_t
icmp_sum(const void *p, size_t len)
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

/* dom0 pings addr count times (a raw ICMP socket: the host may have no ping
 * program); the replies that came back, each within 2 s. */
static int
dom0_ping(const char *addr, int count)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), got = 0;
	struct sockaddr_in to = { .sin_family = AF_INET };

	cr_assert_geq(fd, 0, "raw ICMP socket: %s", strerror(errno));
	cr_assert_eq(inet_pton(AF_INET, addr, &to.sin_addr), 1);
	for (int seq = 1; seq <= count; seq++) {
		uint8_t msg[64] = { 0 }, in[1500];
		struct icmphdr *h = (struct icmphdr *)msg;
		h->type = ICMP_ECHO;
		h->un.echo.id = htons(0x4e47);
		h->un.echo.sequence = htons((uint16_t)seq);
		h->checksum = icmp_sum(msg, sizeof(msg));
		cr_assert_eq(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
		    (ssize_t)sizeof(msg), "sendto %s: %s", addr, strerror(errno));
		long long deadline = stack_now_ms() + 2000;
		for (long long left; (left = deadline - stack_now_ms()) > 0;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, (int)left) <= 0)
				break;
			ssize_t n = recv(fd, in, sizeof(in), 0);
			const struct iphdr *ip = (const struct iphdr *)in;
			if (n < (ssize_t)sizeof(*ip) || ip->saddr != to.sin_addr.s_addr ||
			    n < (ssize_t)(ip->ihl * 4 + sizeof(struct icmphdr)))
				continue;
			const struct icmphdr *r = (const struct icmphdr *)(in + ip->ihl * 4);
			if (r->type == ICMP_ECHOREPLY && r->un.echo.id == htons(0x4e47) &&
			    r->un.echo.sequence == htons((uint16_t)seq)) {
				got++;
				break;
			}
		}
	}
	close(fd);
	return got;
}

/* Reads a console until needle shows after from. */
static bool
con_wait(struct con *c, const char *needle, size_t from, int ms)
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

/* Types a line on a guest's console and returns what came until the next prompt. */
static const char *
run(struct con *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	size_t from = c->c_len;
	strcat(line, "\r");
	cr_assert_eq(write(c->c_fd, line, strlen(line)), (ssize_t)strlen(line));
	cr_assert(con_wait(c, "\n" PROMPT, from, 60000), "no prompt after %s; console:\n%s", line,
	    c->c_out + from);
	return c->c_out + from;
}

static void
expect_in(const char *text, const char *needle)
{
	cr_assert_not_null(strstr(text, needle), "no \"%s\" in:\n%s", needle, text);
}

/* pvguest name with the vif lines given, created with its console on a pty of c. */
static void
boot(struct con *c, const char *name, const char *vifs)
{
	char cfg[200];

	snprintf(cfg, sizeof(cfg), "%s/%s.cfg", s.s_rundir, name);
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
	cr_assert(con_wait(c, PROMPT, 0, 30000), "no prompt; console:\n%s", c->c_out);
}

static void
setup(void)
{
	cr_assert(stack_have(STACK_WITH(STACK_CONSOLED) | STACK_WITH(STACK_NETBACK)),
	    "hvd, xenstored, consoled and netback must be built");
	/* our own namespace: the host's interfaces are never touched, and what
	 * is made here goes with this test's process */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	char *o;
	cr_assert_eq(sh(&o, "ip link set lo up && ip link add xenbr0 type bridge && "
	    "ip addr add 10.9.0.1/24 dev xenbr0 && ip link set xenbr0 up"), 0, "%s", o);
	stack_start(&s, "netguest", STACK_WITH(STACK_CONSOLED) | STACK_WITH(STACK_NETBACK));
	setenv("PVSTACK_CONFDIR", s.s_rundir, 1);	/* xl reads no host xl.conf */
	setenv("PVSTACK_SCRIPTDIR", NG_SCRIPTDIR, 1);	/* vif-bridge from the source tree */
	setenv("XL", stack_prog("toolstack/xl"), 1);
	memset(cons, 0, sizeof(cons));
	cons[0].c_pid = cons[1].c_pid = -1;
}

static void
teardown(void)
{
	for (int i = 0; i < 2; i++) {
		if (cons[i].c_pid > 0) {
			kill(cons[i].c_pid, SIGTERM);
			waitpid(cons[i].c_pid, NULL, 0);
			close(cons[i].c_fd);
			cons[i].c_pid = -1;
		}
	}
	sh(NULL, "$XL destroy g1; $XL destroy g2");
	stack_stop(&s);
	sh(NULL, "ip link del xenbr0");
}

TestSuite(net_guest, .init = setup, .fini = teardown, .timeout = 240);

Test(net_guest, dom0_and_guest_ping_each_other)
{
	boot(&cons[0], "g1", "'ip=10.9.0.2'");
	cr_assert(con_wait(&cons[0], "net: eth0: address 10.9.0.2 netmask 255.0.0.0 (the vif's ip key)",
	    0, 20000), "%s", cons[0].c_out);
	expect_in(run(&cons[0], "net list"), "10.9.0.2        255.0.0.0       connected");
	cr_assert_eq(dom0_ping("10.9.0.2", 3), 3, "dom0 pings the guest; guest:\n%s", cons[0].c_out);
	const char *out = run(&cons[0], "net ping 10.9.0.1 3");
	expect_in(out, "3 packets transmitted, 3 received, 0% packet loss");
	expect_in(run(&cons[0], "net stats"), "echo requests answered 3");
}

Test(net_guest, two_guests_ping_each_other_with_frames_over_a_page)
{
	boot(&cons[0], "g1", "'ip=10.9.0.2,mtu=9000'");
	boot(&cons[1], "g2", "'ip=10.9.0.3,mtu=9000'");
	cr_assert(con_wait(&cons[1], "net: eth0: address 10.9.0.3", 0, 20000), "%s", cons[1].c_out);
	const char *out = run(&cons[0], "net ping 10.9.0.3 3");
	expect_in(out, "3 packets transmitted, 3 received");
	out = run(&cons[1], "net ping 10.9.0.2 3");
	expect_in(out, "3 packets transmitted, 3 received");
	/* 8000 data bytes: 8042-byte frames over two slots each way */
	out = run(&cons[0], "net ping 10.9.0.3 2 8000");
	expect_in(out, "8008 bytes from 10.9.0.3: icmp_seq=2");
	expect_in(out, "2 received");
	expect_in(run(&cons[1], "net stats"), "echo requests answered 5");
}

Test(net_guest, interface_attached_and_detached_while_running)
{
	char *o;

	boot(&cons[0], "g1", "'ip=10.9.0.2'");
	int rc = sh(&o, "$XL network-attach g1 ip=10.9.0.12 mac=00:16:3e:00:09:12");
	cr_assert_eq(rc, 0, "%s", o);
	cr_assert(con_wait(&cons[0], "net: eth1: address 10.9.0.12", 0, 20000), "%s", cons[0].c_out);
	rc = sh(&o, "$XL network-list g1");
	cr_assert_eq(rc, 0, "%s", o);
	expect_in(o, "00:16:3e:00:09:12");
	cr_assert_eq(dom0_ping("10.9.0.12", 2), 2, "dom0 pings the new interface");
	rc = sh(&o, "$XL network-detach g1 00:16:3e:00:09:12");
	cr_assert_eq(rc, 0, "%s", o);
	cr_assert(con_wait(&cons[0], "net: vif 1: disconnected", 0, 20000), "%s", cons[0].c_out);
	expect_in(run(&cons[0], "net list"), "eth0");
	cr_assert_null(strstr(run(&cons[0], "net list"), "eth1"), "eth1 is gone");
	cr_assert_neq(sh(&o, "ls /sys/class/net | grep -c '^vif.*\\.1$'"), 0, "no tap vif*.1 left:\n%s",
	    o);
	cr_assert_eq(dom0_ping("10.9.0.2", 1), 1, "eth0 carries on");
}
