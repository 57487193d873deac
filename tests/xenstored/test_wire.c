/* xenstored over its unix socket (a privileged client): every message type. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xs.h"
#include "xst.h"

static struct xst_daemon d;
static int fd = -1;
static struct xst_msg m;

#define S(type, a, b) xst_str(fd, (type), 0, (a), (b), &m)
#define ST(type, tx, a, b) xst_str(fd, (type), (tx), (a), (b), &m)
#define NO_EVENT() cr_assert(xst_nevents_pending() == 0 && !xst_readable(fd, 100), "unexpected event")
#define OK(expr) cr_assert_str_eq((expr), "OK")

static void
setup(void)
{
	xst_daemon_start(&d, NULL);
	fd = xst_connect(d.sock);
	cr_assert(fd >= 0);
}

static void
teardown(void)
{
	if (fd >= 0)
		close(fd);
	xst_daemon_stop(&d);
}

TestSuite(wire, .init = setup, .fini = teardown, .timeout = 20);

static bool
is_err(const char *name)
{
	return m.hdr.type == XS_ERROR && strcmp(m.body, name) == 0;
}

/* Next message, which must be a watch event; returns "path token". */
static const char *
event(void)
{
	static char buf[8192];

	cr_assert_eq(xst_event(fd, &m), 0, "no event");
	cr_assert_eq(m.hdr.type, XS_WATCH_EVENT);
	cr_assert_eq(m.hdr.req_id, 0);
	snprintf(buf, sizeof(buf), "%s %s", m.body, m.body + strlen(m.body) + 1);
	return buf;
}

Test(wire, initial_tree)
{
	cr_assert_eq(S(XS_READ, "/", NULL)[0], '\0');
	cr_assert_eq(m.hdr.type, XS_READ);
	S(XS_DIRECTORY, "/tool", NULL);
	cr_assert_str_eq(m.body, "xenstored");
	cr_assert_str_eq(S(XS_GET_PERMS, "/tool/xenstored", NULL), "n0");
}

Test(wire, write_read_binary_and_parents)
{
	static const char val[] = "a\0b\xff";

	xst_send(fd, XS_WRITE, 7, 0, "/x/y/z\0a\0b\xff", 7 + sizeof(val) - 1);
	cr_assert_eq(xst_recv(fd, &m), 0);
	cr_assert_eq(m.hdr.type, XS_WRITE);
	cr_assert_eq(m.hdr.req_id, 7);
	cr_assert_str_eq(m.body, "OK");
	S(XS_READ, "/x/y/z", NULL);
	cr_assert_eq(m.hdr.len, sizeof(val) - 1);
	cr_assert_eq(memcmp(m.body, val, sizeof(val) - 1), 0);
	cr_assert_eq(S(XS_READ, "/x/y", NULL)[0], '\0');
	cr_assert_eq(m.hdr.len, 0);
	S(XS_READ, "/x/nope", NULL);
	cr_assert(is_err("ENOENT"));
	/* WRITE without a NUL after the path */
	xst_call(fd, XS_WRITE, 0, "/x", 2, &m);
	cr_assert(is_err("EINVAL"));
}

Test(wire, relative_paths_are_dom0_home)
{
	OK(S(XS_WRITE, "name", "Domain-0"));
	cr_assert_str_eq(S(XS_READ, "/local/domain/0/name", NULL), "Domain-0");
	cr_assert_str_eq(S(XS_GET_DOMAIN_PATH, "7", NULL), "/local/domain/7");
}

Test(wire, path_rules)
{
	static const char *bad[] = { "/a//b", "/a/", "/a b", "/a*", "/local/domain/", "", NULL };
	char path[2100 + 32];
	int i;

	for (i = 0; bad[i]; i++) {
		S(XS_WRITE, bad[i], "v");
		cr_assert(is_err("EINVAL"), "%s accepted", bad[i]);
	}
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[2048] = '\0';
	OK(S(XS_WRITE, path, "v"));
	path[2048] = 'a';
	path[2049] = '\0';
	S(XS_WRITE, path, "v");
	cr_assert(is_err("EINVAL"));
	/* the limit applies to the part after /local/domain/<id>/ */
	strcpy(path, "/local/domain/3/");
	memset(path + 16, 'b', 2048);
	path[16 + 2048] = '\0';
	OK(S(XS_WRITE, path, "v"));
	S(XS_READ, "@introduceDomain", NULL);
	cr_assert(is_err("EINVAL"));
}

Test(wire, mkdir_keeps_existing_and_fires_nothing)
{
	OK(S(XS_WRITE, "/m", "keep"));
	OK(S(XS_WATCH, "/m", "tok"));
	cr_assert_str_eq(event(), "/m tok");
	OK(S(XS_MKDIR, "/m", NULL));
	cr_assert_str_eq(S(XS_READ, "/m", NULL), "keep");
	OK(S(XS_MKDIR, "/m/new", NULL));
	cr_assert_str_eq(event(), "/m/new tok");
	NO_EVENT();
}

Test(wire, rm_rules)
{
	OK(S(XS_WRITE, "/r/a/b", "1"));
	OK(S(XS_RM, "/r/missing", NULL));
	S(XS_RM, "/nope/missing", NULL);
	cr_assert(is_err("ENOENT"));
	S(XS_RM, "/", NULL);
	cr_assert(is_err("EINVAL"));
	OK(S(XS_RM, "/r/a", NULL));
	S(XS_READ, "/r/a/b", NULL);
	cr_assert(is_err("ENOENT"));
	S(XS_DIRECTORY, "/r", NULL);
	cr_assert_eq(m.hdr.len, 0);
}

Test(wire, directory_e2big_and_part)
{
	char name[32], all[65536];
	size_t alen = 0, got = 0;
	char gen[32] = "";
	int i;

	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "/big/c%07d", i);
		OK(S(XS_WRITE, name, ""));
		alen += strlen(name) - 5 + 1;
	}
	S(XS_DIRECTORY, "/big", NULL);
	cr_assert(is_err("E2BIG"));
	for (;;) {
		char off[16];
		size_t gl;

		snprintf(off, sizeof(off), "%zu", got);
		S(XS_DIRECTORY_PART, "/big", off);
		cr_assert_eq(m.hdr.type, XS_DIRECTORY_PART);
		gl = strlen(m.body) + 1;
		if (gen[0])
			cr_assert_str_eq(gen, m.body);
		strcpy(gen, m.body);
		memcpy(all + got, m.body + gl, m.hdr.len - gl);
		got += m.hdr.len - gl;
		if (m.hdr.len - gl >= 1 && m.body[m.hdr.len - 1] == '\0' &&
		    m.body[m.hdr.len - 2] == '\0') {
			got--;
			break;
		}
	}
	cr_assert_eq(got, alen);
	cr_assert_str_eq(all, "c0000000");
	S(XS_DIRECTORY_PART, "/big", "999999");
	cr_assert_eq(m.hdr.len, strlen(gen) + 2);
}

Test(wire, perms_get_set)
{
	OK(S(XS_WRITE, "/p", "v"));
	xst_call(fd, XS_SET_PERMS, 0, "/p\0r5\0w6\0", 9, &m);
	cr_assert_str_eq(m.body, "OK");
	S(XS_GET_PERMS, "/p", NULL);
	cr_assert_eq(m.hdr.len, 6);
	cr_assert_eq(memcmp(m.body, "r5\0w6\0", 6), 0);
	xst_call(fd, XS_SET_PERMS, 0, "/p\0q5\0", 6, &m);
	cr_assert(is_err("EINVAL"));
	xst_call(fd, XS_SET_PERMS, 0, "/p\0", 3, &m);
	cr_assert(is_err("EINVAL"));
	/* children inherit */
	OK(S(XS_WRITE, "/p/c", "v"));
	S(XS_GET_PERMS, "/p/c", NULL);
	cr_assert_eq(memcmp(m.body, "r5\0w6\0", 6), 0);
	xst_call(fd, XS_SET_PERMS, 0, "@releaseDomain\0n0\0r3\0", 21, &m);
	cr_assert_str_eq(m.body, "OK");
	xst_call(fd, XS_SET_PERMS, 0, "@other\0n0\0", 10, &m);
	cr_assert(is_err("EINVAL"));
}

Test(wire, watch_rules)
{
	OK(S(XS_WATCH, "/w", "t1"));
	cr_assert_str_eq(event(), "/w t1");
	S(XS_WATCH, "/w", "t1");
	cr_assert(is_err("EEXIST"));
	OK(S(XS_WATCH, "/w/a/b", "child"));
	cr_assert_str_eq(event(), "/w/a/b child");
	OK(S(XS_WATCH, "w", "rel"));
	cr_assert_str_eq(event(), "w rel");
	OK(S(XS_WRITE, "/w/a", "1"));	/* ancestors fire, the child watch does not */
	cr_assert_str_eq(event(), "/w/a t1");
	NO_EVENT();
	OK(S(XS_WRITE, "/w/a/b/c", "1"));
	{
		const char *e1 = event(), *e2;
		char a[256];

		strcpy(a, e1);
		e2 = event();
		cr_assert((strcmp(a, "/w/a/b/c child") == 0 && strcmp(e2, "/w/a/b/c t1") == 0) ||
		    (strcmp(a, "/w/a/b/c t1") == 0 && strcmp(e2, "/w/a/b/c child") == 0));
	}
	OK(S(XS_WRITE, "/local/domain/0/w/x", "1"));
	cr_assert_str_eq(event(), "w/x rel");
	/* RM: root event to ancestors, exact events to watched descendants */
	OK(S(XS_RM, "/w/a", NULL));
	{
		char e[2][256];
		int i, saw_child = 0, saw_root = 0;

		for (i = 0; i < 2; i++)
			strcpy(e[i], event());
		for (i = 0; i < 2; i++) {
			saw_child |= strcmp(e[i], "/w/a/b child") == 0;
			saw_root |= strcmp(e[i], "/w/a t1") == 0;
		}
		cr_assert(saw_child && saw_root);
	}
	OK(S(XS_UNWATCH, "/w", "t1"));
	S(XS_UNWATCH, "/w", "t1");
	cr_assert(is_err("ENOENT"));
	OK(S(XS_UNWATCH, "w", "rel"));
	OK(S(XS_WRITE, "/w/q", "1"));
	NO_EVENT();
	/* tx_id is ignored on WATCH */
	OK(ST(XS_WATCH, 1234, "/z", "t"));
	cr_assert_str_eq(event(), "/z t");
	OK(S(XS_RESET_WATCHES, "", NULL));
	OK(S(XS_WRITE, "/z", "1"));
	NO_EVENT();
}

Test(wire, watch_event_too_big_is_dropped)
{
	char tok[4000];

	memset(tok, 't', sizeof(tok) - 1);
	tok[sizeof(tok) - 1] = '\0';
	OK(S(XS_WATCH, "/big", tok));
	cr_assert_eq(xst_recv(fd, &m), 0);	/* initial event fits */
	{
		char path[200];

		memset(path, 'p', sizeof(path));
		path[0] = '/';
		memcpy(path, "/big/", 5);
		path[199] = '\0';
		OK(S(XS_WRITE, path, "1"));
	}
	NO_EVENT();
	cr_assert_str_eq(S(XS_READ, "/big", NULL), "");
}

Test(wire, special_watches)
{
	OK(S(XS_WATCH, "@releaseDomain", "r"));
	cr_assert_str_eq(event(), "@releaseDomain r");
	OK(S(XS_WATCH, "@introduceDomain", "i"));
	cr_assert_str_eq(event(), "@introduceDomain i");
}

Test(wire, transaction_basics)
{
	char tx[16];
	uint32_t t;

	strcpy(tx, S(XS_TRANSACTION_START, "", NULL));
	t = strtoul(tx, NULL, 10);
	cr_assert_neq(t, 0);
	OK(ST(XS_WRITE, t, "/t/a", "in-tx"));
	cr_assert_str_eq(ST(XS_READ, t, "/t/a", NULL), "in-tx");
	S(XS_READ, "/t/a", NULL);
	cr_assert(is_err("ENOENT"), "isolation");
	ST(XS_TRANSACTION_START, t, "", NULL);
	cr_assert(is_err("EBUSY"));
	ST(XS_TRANSACTION_START, 999, "", NULL);
	cr_assert(is_err("ENOENT"));
	ST(XS_READ, 999, "/t", NULL);
	cr_assert(is_err("ENOENT"));
	ST(XS_TRANSACTION_END, t, "X", NULL);
	cr_assert(is_err("EINVAL"));
	OK(ST(XS_TRANSACTION_END, t, "T", NULL));
	cr_assert_str_eq(S(XS_READ, "/t/a", NULL), "in-tx");
	ST(XS_TRANSACTION_END, t, "T", NULL);
	cr_assert(is_err("ENOENT"));
	/* abort discards */
	t = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	OK(ST(XS_RM, t, "/t", NULL));
	OK(ST(XS_TRANSACTION_END, t, "F", NULL));
	cr_assert_str_eq(S(XS_READ, "/t/a", NULL), "in-tx");
}

Test(wire, transaction_conflicts)
{
	int fd2 = xst_connect(d.sock);
	uint32_t t1, t2;
	struct xst_msg m2;

	OK(S(XS_WRITE, "/c/a", "0"));
	OK(S(XS_WRITE, "/c/b", "0"));
	/* read A in a tx, someone writes A: EAGAIN */
	t1 = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	ST(XS_READ, t1, "/c/a", NULL);
	cr_assert_str_eq(xst_str(fd2, XS_WRITE, 0, "/c/a", "1", &m2), "OK");
	OK(ST(XS_WRITE, t1, "/c/b", "x"));
	ST(XS_TRANSACTION_END, t1, "T", NULL);
	cr_assert(is_err("EAGAIN"));
	cr_assert_str_eq(S(XS_READ, "/c/b", NULL), "0");
	/* snapshot: a node changed after the start and read later: EAGAIN */
	t1 = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	cr_assert_str_eq(xst_str(fd2, XS_WRITE, 0, "/c/b", "1", &m2), "OK");
	cr_assert_str_eq(ST(XS_READ, t1, "/c/b", NULL), "1");
	OK(ST(XS_WRITE, t1, "/c/a", "x"));
	ST(XS_TRANSACTION_END, t1, "T", NULL);
	cr_assert(is_err("EAGAIN"));
	cr_assert_str_eq(S(XS_READ, "/c/a", NULL), "1");
	OK(S(XS_WRITE, "/c/b", "0"));
	/* disjoint nodes: both commit */
	t1 = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	t2 = strtoul(xst_str(fd2, XS_TRANSACTION_START, 0, "", NULL, &m2), NULL, 10);
	OK(ST(XS_WRITE, t1, "/c/a", "t1"));
	cr_assert_str_eq(xst_str(fd2, XS_WRITE, t2, "/c/b", "t2", &m2), "OK");
	OK(ST(XS_TRANSACTION_END, t1, "T", NULL));
	cr_assert_str_eq(xst_str(fd2, XS_TRANSACTION_END, t2, "T", NULL, &m2), "OK");
	cr_assert_str_eq(S(XS_READ, "/c/a", NULL), "t1");
	cr_assert_str_eq(S(XS_READ, "/c/b", NULL), "t2");
	/* both delete the same nodes: one wins (XSA-440) */
	t1 = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	t2 = strtoul(xst_str(fd2, XS_TRANSACTION_START, 0, "", NULL, &m2), NULL, 10);
	OK(ST(XS_RM, t1, "/c", NULL));
	cr_assert_str_eq(xst_str(fd2, XS_RM, t2, "/c", NULL, &m2), "OK");
	OK(ST(XS_TRANSACTION_END, t1, "T", NULL));
	xst_str(fd2, XS_TRANSACTION_END, t2, "T", NULL, &m2);
	cr_assert(m2.hdr.type == XS_ERROR && strcmp(m2.body, "EAGAIN") == 0);
	/* created then deleted inside one transaction (XSA-421) */
	t1 = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	OK(ST(XS_MKDIR, t1, "/n/a/b", NULL));
	OK(ST(XS_RM, t1, "/n", NULL));
	OK(ST(XS_TRANSACTION_END, t1, "T", NULL));
	S(XS_READ, "/n", NULL);
	cr_assert(is_err("ENOENT"));
	close(fd2);
}

Test(wire, transaction_events_on_commit_only)
{
	uint32_t t;

	OK(S(XS_WATCH, "/e", "tok"));
	cr_assert_str_eq(event(), "/e tok");
	t = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	OK(ST(XS_WRITE, t, "/e/x", "1"));
	NO_EVENT();
	OK(ST(XS_TRANSACTION_END, t, "T", NULL));
	cr_assert_str_eq(event(), "/e/x tok");
	/* aborted: nothing */
	t = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);
	OK(ST(XS_WRITE, t, "/e/y", "1"));
	OK(ST(XS_TRANSACTION_END, t, "F", NULL));
	NO_EVENT();
}

Test(wire, reset_watches_mid_transaction)
{
	uint32_t t = strtoul(S(XS_TRANSACTION_START, "", NULL), NULL, 10);

	OK(ST(XS_WRITE, t, "/rw", "1"));
	OK(ST(XS_RESET_WATCHES, t, "", NULL));
	ST(XS_TRANSACTION_END, t, "T", NULL);
	cr_assert(is_err("ENOENT"));
}

Test(wire, unknown_types)
{
	static const uint32_t types[] = { 20, 23, 99, XS_WATCH_EVENT, XS_ERROR };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		xst_call(fd, types[i], 0, "x\0", 2, &m);
		cr_assert(is_err("ENOSYS"), "type %u", types[i]);
	}
}

Test(wire, pipelined_replies_in_order)
{
	char buf[64];
	uint32_t i;

	for (i = 1; i <= 50; i++) {
		snprintf(buf, sizeof(buf), "/pipe/%u%c%u", i, 0, i);
		xst_send(fd, XS_WRITE, i, 0, buf, strlen(buf) + 1 + strlen(buf + strlen(buf) + 1));
	}
	for (i = 1; i <= 50; i++) {
		cr_assert_eq(xst_recv(fd, &m), 0);
		cr_assert_eq(m.hdr.req_id, i);
		cr_assert_str_eq(m.body, "OK");
	}
}

/*
 * Replies are gathered and written together; when the client's socket fills
 * mid-way, the rest is queued message by message: every reply arrives whole,
 * in order, and queued events to the same watch may merge but never vanish.
 */
Test(wire, gathered_replies_over_a_full_socket_stay_whole_and_in_order)
{
	char big[3000], buf[64];
	uint32_t i, next = 1, events = 0;

	memset(big, 'v', sizeof(big));
	{
		char req[5 + sizeof(big)];

		memcpy(req, "/big", 5);
		memcpy(req + 5, big, sizeof(big));
		xst_call(fd, XS_WRITE, 0, req, sizeof(req), &m);
		cr_assert_str_eq(m.body, "OK");
	}
	OK(S(XS_WATCH, "/w", "t"));
	cr_assert_str_eq(event(), "/w t");
	/* 400 requests at once: about 600 KiB of replies, more than the socket holds */
	for (i = 1; i <= 400; i++) {
		if (i % 2) {
			xst_send(fd, XS_READ, i, 0, "/big", 5);
		} else {
			size_t l = snprintf(buf, sizeof(buf), "/w%c%u", 0, i);

			xst_send(fd, XS_WRITE, i, 0, buf, l);
		}
	}
	usleep(200000);
	while (next <= 400) {
		cr_assert_eq(xst_recv(fd, &m), 0, "reply %u missing", next);
		if (m.hdr.type == XS_WATCH_EVENT) {
			cr_assert_str_eq(m.body, "/w");
			events++;
			continue;
		}
		cr_assert_eq(m.hdr.req_id, next, "reply %u came as %u", next, m.hdr.req_id);
		if (next % 2) {
			cr_assert_eq(m.hdr.type, XS_READ);
			cr_assert_eq(m.hdr.len, sizeof(big));
			cr_assert(memcmp(m.body, big, sizeof(big)) == 0, "reply %u torn", next);
		} else {
			cr_assert_str_eq(m.body, "OK");
		}
		next++;
	}
	cr_assert(events >= 1 && events <= 200, "%u events", events);
	while (xst_readable(fd, 100)) {
		cr_assert_eq(xst_recv(fd, &m), 0);
		cr_assert_eq(m.hdr.type, XS_WATCH_EVENT, "a reply after the last one");
	}
}

Test(wire, oversized_message_drops_the_client_only)
{
	struct xsd_sockmsg h = { XS_READ, 1, 0, 5000 };
	int fd2 = xst_connect(d.sock);
	char c;

	cr_assert_eq(write(fd2, &h, sizeof(h)), sizeof(h));
	cr_assert(xst_readable(fd2, 2000));
	cr_assert_eq(read(fd2, &c, 1), 0, "connection not closed");
	close(fd2);
	OK(S(XS_WRITE, "/alive", "1"));
}

Test(wire, domain_messages)
{
	cr_assert_str_eq(S(XS_IS_DOMAIN_INTRODUCED, "0", NULL), "T");
	cr_assert_str_eq(S(XS_IS_DOMAIN_INTRODUCED, "5", NULL), "F");
	S(XS_RELEASE, "5", NULL);
	cr_assert(is_err("ENOENT"));
	S(XS_RELEASE, "0", NULL);
	cr_assert(is_err("EINVAL"));
	S(XS_RESUME, "5", NULL);
	cr_assert(is_err("ENOENT"));
	xst_call(fd, XS_SET_TARGET, 0, "5\0006\0", 4, &m);
	cr_assert(is_err("ENOENT"));
	xst_call(fd, XS_INTRODUCE, 0, "5\0001\0", 4, &m);
	cr_assert(is_err("EINVAL"));
	xst_call(fd, XS_INTRODUCE, 0, "5\0001\0000\0", 6, &m);
	cr_assert(is_err("EINVAL"), "port 0");
	S(XS_GET_DOMAIN_PATH, "x", NULL);
	cr_assert(is_err("EINVAL"));
}

Test(wire, control)
{
	char path[256];
	struct stat st;

	xst_call(fd, XS_CONTROL, 0, "print\0hello\0", 12, &m);
	cr_assert_str_eq(m.body, "OK");
	xst_call(fd, XS_CONTROL, 0, "quota\0", 6, &m);
	cr_assert(strstr(m.body, "Nodes per Domain:         1000"));
	xst_call(fd, XS_CONTROL, 0, "quota\0005\0", 8, &m);
	cr_assert(strstr(m.body, "Domain 5"));
	xst_call(fd, XS_CONTROL, 0, "check\0", 6, &m);
	cr_assert_str_eq(m.body, "OK");
	snprintf(path, sizeof(path), "%s/dump", d.dir);
	{
		char req[300];
		size_t l = snprintf(req, sizeof(req), "dump%c%s", 0, path) + 1;

		xst_call(fd, XS_CONTROL, 0, req, l, &m);
	}
	cr_assert_str_eq(m.body, path);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_gt(st.st_size, 0);
	xst_call(fd, XS_CONTROL, 0, "bogus\0", 6, &m);
	cr_assert(is_err("EINVAL"));
}

Test(wire, readonly_socket)
{
	char ro[160];
	int rfd;
	struct xst_msg rm;

	OK(S(XS_WRITE, "/ro", "v"));
	snprintf(ro, sizeof(ro), "%s_ro", d.sock);
	rfd = xst_connect(ro);
	cr_assert(rfd >= 0);
	cr_assert_str_eq(xst_str(rfd, XS_READ, 0, "/ro", NULL, &rm), "v");
	xst_str(rfd, XS_WRITE, 0, "/ro", "w", &rm);
	cr_assert(rm.hdr.type == XS_ERROR && strcmp(rm.body, "EROFS") == 0);
	close(rfd);
}

Test(wire, flooding_client_costs_nobody_else)
{
	int bad = xst_connect(d.sock);
	char buf[16 + 8];
	struct xsd_sockmsg h = { XS_READ, 0, 0, 2 };
	int i, sent = 0;

	/* Never read the replies: the daemon must stop reading us, not block. */
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "/\0", 2);
	for (i = 0; i < 200000; i++) {
		if (send(bad, buf, sizeof(h) + 2, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
		sent++;
	}
	cr_assert_lt(sent, 200000, "daemon kept reading an unread client");
	OK(S(XS_WRITE, "/still", "fine"));
	cr_assert_str_eq(S(XS_READ, "/still", NULL), "fine");
	close(bad);
}

Test(wire, sigterm_exits_cleanly)
{
	int st;
	struct stat sb;

	kill(d.pid, SIGTERM);
	cr_assert_eq(waitpid(d.pid, &st, 0), d.pid);
	d.pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_neq(stat(d.sock, &sb), 0, "socket left behind");
}

Test(wire, libxs_directory_2000_children)
{
	struct xs *xs = xs_open(d.sock);
	unsigned n, i;
	char **v;
	char p[64];

	cr_assert(xs);
	for (i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "/many/child%u", i);
		cr_assert_eq(xs_write(xs, 0, p, "", 0), 0);
	}
	v = xs_directory(xs, 0, "/many", &n);
	cr_assert(v);
	cr_assert_eq(n, 2000);
	cr_assert_str_eq(v[0], "child0");
	cr_assert_str_eq(v[1999], "child1999");
	free(v);
	xs_close(xs);
}

/* Command-line overrides: -M path length applies to every caller. */
Test(wireopt, path_max_override, .timeout = 20)
{
	char path[100], pid[160];
	struct xst_daemon od;
	FILE *f;
	long p = 0;
	int ofd;

	{
		const char *a[] = { "-M", "64", NULL };

		xst_daemon_start(&od, a);
	}
	ofd = xst_connect(od.sock);
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[64] = '\0';
	cr_assert_str_eq(xst_str(ofd, XS_WRITE, 0, path, "v", &m), "OK");
	path[64] = 'a';
	path[65] = '\0';
	xst_str(ofd, XS_WRITE, 0, path, "v", &m);
	cr_assert(is_err("EINVAL"));
	close(ofd);
	xst_daemon_stop(&od);
	/* --pid-file */
	{
		struct xst_daemon pd;
		const char *a[] = { "--pid-file", pid, NULL };

		snprintf(pid, sizeof(pid), "/tmp/xst-wire-%d.pid", (int)getpid());
		xst_daemon_start(&pd, a);
		f = fopen(pid, "r");
		cr_assert_not_null(f);
		cr_assert_eq(fscanf(f, "%ld", &p), 1);
		fclose(f);
		cr_assert_eq(p, pd.pid);
		xst_daemon_stop(&pd);
		cr_assert_neq(access(pid, F_OK), 0, "pid file left behind");
	}
}

/* -Q memory, -q memory and -w watch-event set the limits the quota command shows. */
Test(wireopt, memory_quota_and_event_timeout_options, .timeout = 20)
{
	struct xst_daemon od;
	const char *a[] = { "-Q", "memory=300000", "--quota-soft", "memory=200000",
		"--timeout", "watch-event=7", NULL };
	int ofd, status;
	pid_t pid;

	xst_daemon_start(&od, a);
	ofd = xst_connect(od.sock);
	xst_call(ofd, XS_CONTROL, 0, "quota", 6, &m);
	cr_assert(strstr(m.body, "Memory per Domain:        300000 (soft 200000)"), "%s", m.body);
	cr_assert(strstr(m.body, "Watch Event Timeout (s): 7"), "%s", m.body);
	close(ofd);
	xst_daemon_stop(&od);
	/* a bad value is a usage error, not a silent default */
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(XST_XENSTORED, "xenstored", "-N", "-w", "watch-event=soon", (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
}

static char pstate[64];

/* A daemon on the state in pstate. */
static int
pstart(struct xst_daemon *od)
{
	const char *a[] = { "--state-dir", pstate, NULL };

	xst_daemon_start(od, a);
	return xst_connect(od->sock);
}

/* kill -9, the run directory removed. */
static void
pkill9(struct xst_daemon *od, int ofd)
{
	close(ofd);
	kill(od->pid, SIGKILL);
	waitpid(od->pid, NULL, 0);
	od->pid = 0;
	xst_daemon_stop(od);
}

/* Copies a file (the test's stand-in for a crash at a chosen moment). */
static void
pcopy(const char *from, const char *to)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	cr_assert_eq(system(cmd), 0);
}

/*
 * Crash consistency of --state-dir: a torn last journal entry is cut off and
 * the entries before it stay; a journal left from before a snapshot (a crash
 * between the snapshot's rename and the journal's) is ignored.
 */
static struct xst_daemon pod;

/* Whatever the test left: its daemon, its state. */
static void
pcleanup(void)
{
	char cmd[100];

	xst_daemon_stop(&pod);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pstate);
	if (pstate[0] && system(cmd) != 0)
		cr_log_warn("could not remove %s", pstate);
}

Test(wireopt, state_dir_torn_tail_and_stale_journal, .fini = pcleanup, .timeout = 30)
{
	char jpath[128], saved[128];
	struct stat st;
	int ofd;

	strcpy(pstate, "/tmp/xst-pstate-XXXXXX");
	cr_assert_not_null(mkdtemp(pstate));
	snprintf(jpath, sizeof(jpath), "%s/journal", pstate);
	snprintf(saved, sizeof(saved), "%s/journal.saved", pstate);

	ofd = pstart(&pod);
	cr_assert_str_eq(xst_str(ofd, XS_WRITE, 0, "/t/one", "1", &m), "OK");
	cr_assert_str_eq(xst_str(ofd, XS_WRITE, 0, "/t/two", "2", &m), "OK");
	cr_assert_str_eq(xst_str(ofd, XS_WRITE, 0, "/t/x", "old", &m), "OK");
	pcopy(jpath, saved);		/* this journal's generation ends at the next start */
	cr_assert_str_eq(xst_str(ofd, XS_WRITE, 0, "/t/x", "new", &m), "OK");
	cr_assert_str_eq(xst_str(ofd, XS_WRITE, 0, "/t/last", "3", &m), "OK");
	pkill9(&pod, ofd);
	/* tear the last entry: 3 bytes of it never reached the file */
	cr_assert_eq(stat(jpath, &st), 0);
	cr_assert_eq(truncate(jpath, st.st_size - 3), 0);
	ofd = pstart(&pod);
	cr_assert_str_eq(xst_str(ofd, XS_READ, 0, "/t/one", NULL, &m), "1");
	cr_assert_str_eq(xst_str(ofd, XS_READ, 0, "/t/x", NULL, &m), "new");
	xst_str(ofd, XS_READ, 0, "/t/last", NULL, &m);
	cr_assert(is_err("ENOENT"), "the torn entry was applied: %s", m.body);
	cr_assert_str_eq(xst_str(ofd, XS_WRITE, 0, "/t/after", "4", &m), "OK");
	pkill9(&pod, ofd);
	/* the restart made a snapshot of a newer generation: the old journal must not replay */
	cr_assert_eq(rename(saved, jpath), 0);
	ofd = pstart(&pod);
	cr_assert_str_eq(xst_str(ofd, XS_READ, 0, "/t/x", NULL, &m), "new");
	xst_str(ofd, XS_READ, 0, "/t/after", NULL, &m);
	cr_assert(is_err("ENOENT"), "/t/after was written after the snapshot: %s", m.body);
	/* and a daemon without the state is untouched by it */
	close(ofd);
	xst_daemon_stop(&pod);
	xst_daemon_start(&pod, NULL);
	ofd = xst_connect(pod.sock);
	xst_str(ofd, XS_READ, 0, "/t/x", NULL, &m);
	cr_assert(is_err("ENOENT"));
	close(ofd);
}
