/*
 * Guest rules on xenstored's core through fake connections: permissions,
 * errno hiding, watch filtering, special watches, SET_TARGET, quotas,
 * throttling and domain death.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "xst_mem.h"

static struct xg *dom0, *gu;
static struct xst_msg m;

#define D0(type, a, b) xg_str(dom0, (type), 0, (a), (b), &m)
#define G(type, a, b) xg_str(gu, (type), 0, (a), (b), &m)
#define OK(expr) cr_assert_str_eq((expr), "OK")
#define ERR(expr, name) do { (void)(expr); \
	cr_assert(m.hdr.type == XS_ERROR && strcmp(m.body, name) == 0, \
	    "expected %s, got type %u \"%s\"", name, m.hdr.type, m.body); } while (0)

/* dom0 sets perms from a space-separated list. */
static void
chmod0(const char *path, const char *perms)
{
	char buf[256], *p;
	size_t l = strlen(path) + 1;

	memcpy(buf, path, l);
	strcpy(buf + l, perms);
	for (p = buf + l; *p; p++)
		if (*p == ' ')
			*p = '\0';
	xg_call(dom0, XS_SET_PERMS, 0, buf, l + strlen(perms) + 1, &m);
	cr_assert_str_eq(m.body, "OK");
}

/* The libxl layout for dom5: home readable, data/ guest-owned. */
static void
setup(void)
{
	xg_init_store();
	dom0 = xg_new(0, true);
	gu = xg_new(5, false);
	domain_adopt(5, gu->g_conn);
	OK(D0(XS_MKDIR, "/local/domain/5", NULL));
	chmod0("/local/domain/5", "n0 r5");
	OK(D0(XS_MKDIR, "/local/domain/5/data", NULL));
	chmod0("/local/domain/5/data", "n5");
	OK(D0(XS_WRITE, "/local/domain/0/secret", "s"));
}

TestSuite(guest, .init = setup, .timeout = 20);

Test(guest, privileged_types_refused)
{
	static const uint32_t priv[] = { XS_CONTROL, XS_INTRODUCE, XS_RELEASE, XS_RESUME,
		XS_SET_TARGET, XS_IS_DOMAIN_INTRODUCED };
	size_t i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		ERR(G(priv[i], "5", NULL), "EACCES");
	cr_assert_str_eq(G(XS_GET_DOMAIN_PATH, "5", NULL), "/local/domain/5");
}

Test(guest, read_rules_and_errno_hiding)
{
	ERR(G(XS_READ, "/", NULL), "EACCES");
	ERR(G(XS_DIRECTORY, "/local/domain", NULL), "EACCES");
	ERR(G(XS_READ, "/local/domain/0/secret", NULL), "EACCES");
	ERR(G(XS_READ, "/local/domain/0/missing", NULL), "EACCES");	/* hidden */
	ERR(G(XS_READ, "/local/domain/5/missing", NULL), "ENOENT");
	cr_assert_str_eq(G(XS_READ, "/local/domain/5", NULL), "");
	cr_assert_str_eq(G(XS_DIRECTORY, "/local/domain/5", NULL), "data");
	ERR(G(XS_DIRECTORY, "", NULL), "EINVAL");
	cr_assert_str_eq(G(XS_READ, "data", NULL), "");	/* relative to home */
}

Test(guest, create_needs_write_and_owner_becomes_creator)
{
	ERR(G(XS_WRITE, "/local/domain/5/x", "1"), "EACCES");	/* home is r5 only */
	ERR(G(XS_WRITE, "/newtop", "1"), "EACCES");
	OK(G(XS_WRITE, "data/a/b", "1"));
	cr_assert_str_eq(G(XS_READ, "/local/domain/5/data/a/b", NULL), "1");
	xg_call(dom0, XS_GET_PERMS, 0, "/local/domain/5/data/a\0", 23, &m);
	cr_assert_str_eq(m.body, "n5");
	/* inheritance from a parent with an ACL; owner is the creator */
	OK(D0(XS_WRITE, "/shared", ""));
	chmod0("/shared", "n0 b5 r7");
	OK(G(XS_WRITE, "/shared/g", "1"));
	xg_call(dom0, XS_GET_PERMS, 0, "/shared/g\0", 10, &m);
	cr_assert_eq(m.hdr.len, 9);
	cr_assert_eq(memcmp(m.body, "n5\0b5\0r7\0", 9), 0);
	/* dom0 creating inherits as is */
	OK(D0(XS_WRITE, "/shared/d", "1"));
	xg_call(dom0, XS_GET_PERMS, 0, "/shared/d\0", 10, &m);
	cr_assert_eq(memcmp(m.body, "n0\0b5\0r7\0", 9), 0);
}

Test(guest, owner_and_acl_letters)
{
	OK(D0(XS_WRITE, "/o/n", "v"));
	chmod0("/o", "r5");
	chmod0("/o/n", "n5");	/* owner: full access whatever the letter */
	OK(G(XS_WRITE, "/o/n", "w"));
	OK(D0(XS_WRITE, "/o/w", "v"));
	chmod0("/o/w", "n0 w5");
	OK(G(XS_WRITE, "/o/w", "x"));
	ERR(G(XS_READ, "/o/w", NULL), "EACCES");
	OK(D0(XS_WRITE, "/o/def", "v"));
	chmod0("/o/def", "r0 n5");	/* default r, but dom5 listed with n */
	ERR(G(XS_READ, "/o/def", NULL), "EACCES");
	chmod0("/o/def", "r0 n7");
	cr_assert_str_eq(G(XS_READ, "/o/def", NULL), "v");
	ERR(G(XS_RM, "/o/def", NULL), "EACCES");
	ERR(G(XS_WRITE, "/", "x"), "EACCES");
	ERR(G(XS_RM, "/", NULL), "EINVAL");
}

Test(guest, set_perms_rules)
{
	OK(G(XS_WRITE, "data/p", "1"));
	xg_call(gu, XS_SET_PERMS, 0, "data/p\0n5\0r0\0", 13, &m);
	cr_assert_str_eq(m.body, "OK");
	xg_call(gu, XS_SET_PERMS, 0, "data/p\0n7\0", 10, &m);
	cr_assert_str_eq(m.body, "EPERM");
	xg_call(gu, XS_SET_PERMS, 0, "data/p\0n5\0r1\0r2\0r3\0r4\0r6\0", 25, &m);
	cr_assert_str_eq(m.body, "ENOSPC");
	xg_call(gu, XS_SET_PERMS, 0, "/local/domain/5\0n5\0", 19, &m);
	cr_assert_str_eq(m.body, "EACCES");
	xg_call(gu, XS_SET_PERMS, 0, "@releaseDomain\0n5\0", 18, &m);
	cr_assert_str_eq(m.body, "EACCES");
}

Test(guest, watch_events_are_filtered)
{
	OK(G(XS_WATCH, "/", "all"));
	cr_assert_str_eq(xg_event(gu), "/ all");
	OK(D0(XS_WRITE, "/local/domain/0/secret", "changed"));
	OK(D0(XS_WRITE, "/elsewhere/x", "1"));
	cr_assert_null(xg_event(gu));
	OK(D0(XS_WRITE, "/local/domain/5/data/z", "1"));
	cr_assert_str_eq(xg_event(gu), "/local/domain/5/data/z all");
	/* revoking: the SET_PERMS event is seen (old perms readable), later ones not */
	chmod0("/local/domain/5/data/z", "n0");
	cr_assert_str_eq(xg_event(gu), "/local/domain/5/data/z all");
	chmod0("/local/domain/5/data", "n0");
	cr_assert_str_eq(xg_event(gu), "/local/domain/5/data all");
	OK(D0(XS_WRITE, "/local/domain/5/data/z", "2"));
	cr_assert_null(xg_event(gu));
	/* relative watch: relative paths */
	OK(G(XS_WATCH, "rel", "r"));
	cr_assert_str_eq(xg_event(gu), "rel r");
	OK(D0(XS_WRITE, "/local/domain/5/rel/k", "1"));
	cr_assert_str_eq(xg_event(gu), "rel/k r");
}

Test(guest, special_watches_need_read)
{
	struct xg *other = xg_new(9, false);
	struct domain *d9 = domain_adopt(9, other->g_conn);

	OK(G(XS_WATCH, "@releaseDomain", "rel"));
	cr_assert_str_eq(xg_event(gu), "@releaseDomain rel");
	OK(D0(XS_WATCH, "@releaseDomain", "d0"));
	cr_assert_str_eq(xg_event(dom0), "@releaseDomain d0");
	domain_destroy(d9);
	cr_assert_str_eq(xg_event(dom0), "@releaseDomain d0");
	cr_assert_null(xg_event(gu));
	xg_call(dom0, XS_SET_PERMS, 0, "@releaseDomain\0n0\0r5\0", 21, &m);
	cr_assert_str_eq(m.body, "OK");
	domain_destroy(domain_adopt(10, NULL));
	cr_assert_str_eq(xg_event(gu), "@releaseDomain rel");
}

Test(guest, set_target_grants_the_targets_rights)
{
	struct xg *dm = xg_new(6, false);

	domain_adopt(6, dm->g_conn);
	OK(G(XS_WRITE, "data/t", "1"));
	ERR(xg_str(dm, XS_READ, 0, "/local/domain/5/data/t", NULL, &m), "EACCES");
	xg_call(dom0, XS_SET_TARGET, 0, "6\0005\0", 4, &m);
	cr_assert_str_eq(m.body, "OK");
	cr_assert_str_eq(xg_str(dm, XS_READ, 0, "/local/domain/5/data/t", NULL, &m), "1");
	cr_assert_str_eq(xg_str(dm, XS_WRITE, 0, "/local/domain/5/data/t", "2", &m), "OK");
	xg_call(dom0, XS_SET_TARGET, 0, "6\00077\0", 5, &m);
	cr_assert_str_eq(m.body, "ENOENT");
}

Test(guest, quota_entries_no_partial_nodes)
{
	char p[64];
	int i;

	quota.q_entries = 6;
	/* the guest owns nothing yet; data/ is owned by it through dom0's chmod */
	for (i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "data/n%d", i);
		OK(G(XS_WRITE, p, "1"));
	}
	/* a 3-level write with 0 entries left: ENOSPC and nothing created (XSA-414) */
	ERR(G(XS_WRITE, "data/x/y/z", "1"), "ENOSPC");
	ERR(G(XS_READ, "data/x", NULL), "ENOENT");
	OK(G(XS_RM, "data/n0", NULL));
	OK(G(XS_WRITE, "data/n9", "1"));
	ERR(G(XS_WRITE, "data/n10", "1"), "ENOSPC");
	/* inside a transaction too */
	OK(G(XS_RM, "data/n1", NULL));
	{
		uint32_t t = strtoul(G(XS_TRANSACTION_START, "", NULL), NULL, 10);

		cr_assert_str_eq(xg_str(gu, XS_WRITE, t, "data/q1", "1", &m), "OK");
		xg_str(gu, XS_WRITE, t, "data/q2", "1", &m);
		cr_assert_str_eq(m.body, "ENOSPC");
		xg_str(gu, XS_TRANSACTION_END, t, "T", NULL, &m);
	}
}

Test(guest, quota_node_size_perms_watches_transactions)
{
	char big[2100];
	char tok[16];
	int i;

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ERR(G(XS_WRITE, "data/big", big), "ENOSPC");
	big[1000] = '\0';
	OK(G(XS_WRITE, "data/big", big));
	OK(D0(XS_WRITE, "/local/domain/0/big2", big));	/* dom0 is not limited */
	for (i = 0; i < 128; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		OK(G(XS_WATCH, "data", tok));
	}
	ERR(G(XS_WATCH, "data", "one-more"), "E2BIG");
	OK(G(XS_RESET_WATCHES, "", NULL));
	OK(G(XS_WATCH, "data", "again"));
	for (i = 0; i < 11; i++)
		cr_assert_neq(strtoul(G(XS_TRANSACTION_START, "", NULL), NULL, 10), 0);
	ERR(G(XS_TRANSACTION_START, "", NULL), "ENOSPC");
}

Test(guest, quota_transaction_nodes)
{
	uint32_t t;
	char p[64];
	int i;

	quota.q_tx_nodes = 8;
	for (i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "data/k%d", i);
		OK(G(XS_WRITE, p, "1"));
	}
	t = strtoul(G(XS_TRANSACTION_START, "", NULL), NULL, 10);
	for (i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "data/k%d", i);
		xg_str(gu, XS_READ, t, p, NULL, &m);
	}
	xg_str(gu, XS_TRANSACTION_END, t, "T", NULL, &m);
	cr_assert_str_eq(m.body, "ENOSPC");
}

Test(guest, outstanding_requests_throttle)
{
	int i;

	gu->g_blocked = true;	/* the guest stops consuming its replies */
	for (i = 0; i < 100; i++)
		xg_send(gu, XS_READ, 0, "/local/domain/5\0", 16);
	cr_assert_eq(gu->g_conn->c_requests, quota.q_outstanding);
	cr_assert(gu->g_conn->c_throttled);
	gu->g_blocked = false;
	conn_output(gu->g_conn);
	conn_input(gu->g_conn);
	cr_assert_eq(gu->g_conn->c_requests, 100);
}

/*
 * Replies to requests read in one go are written together; a transport that
 * takes part of them (here 100 bytes: one reply and part of the next) gets
 * the rest from the queue, message by message, the partial one resumed.
 */
Test(guest, gathered_replies_resume_after_a_partial_write)
{
	struct xsd_sockmsg h = { XS_READ, 0, 0, 3 };
	char val[41];
	int i;

	memset(val, 'x', 40);
	val[40] = '\0';
	OK(D0(XS_WRITE, "/p", val));
	dom0->g_in_off = dom0->g_in_len = 0;
	for (i = 0; i < 5; i++) {
		h.req_id = i + 1;
		memcpy(dom0->g_in + dom0->g_in_len, &h, sizeof(h));
		memcpy(dom0->g_in + dom0->g_in_len + sizeof(h), "/p", 3);
		dom0->g_in_len += sizeof(h) + 3;
	}
	dom0->g_limited = true;
	dom0->g_room = 100;
	conn_input(dom0->g_conn);
	cr_assert_eq(dom0->g_out_len - dom0->g_out_off, 100);
	cr_assert_eq(dom0->g_conn->c_out_count, 4, "the 4 replies not fully sent are queued");
	dom0->g_limited = false;
	conn_output(dom0->g_conn);
	cr_assert_eq(dom0->g_conn->c_out_count, 0);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(xg_next(dom0, &m), 0, "reply %d missing", i + 1);
		cr_assert_eq(m.hdr.type, XS_READ);
		cr_assert_eq(m.hdr.req_id, (uint32_t)i + 1);
		cr_assert_str_eq(m.body, val);
	}
	cr_assert_neq(xg_next(dom0, &m), 0, "one reply too many");
}

Test(guest, oversized_message_drops_the_guest)
{
	struct xsd_sockmsg h = { XS_READ, 0, 0, 5000 };

	memcpy(gu->g_in, &h, sizeof(h));
	gu->g_in_len = sizeof(h);
	conn_input(gu->g_conn);
	cr_assert(gu->g_conn->c_dead);
	OK(D0(XS_WRITE, "/alive", "1"));
}

Test(guest, domain_death_removes_its_nodes_and_acls)
{
	struct domain *d5 = domain_find(5);

	OK(D0(XS_WRITE, "/shared", ""));
	chmod0("/shared", "n0 w5");
	OK(G(XS_WRITE, "/shared/mine", "1"));
	OK(D0(XS_WRITE, "/acl", "1"));
	chmod0("/acl", "n0 r5");
	OK(D0(XS_WATCH, "@releaseDomain", "tok"));
	cr_assert_str_eq(xg_event(dom0), "@releaseDomain tok");
	domain_destroy(d5);
	cr_assert_str_eq(xg_event(dom0), "@releaseDomain tok");
	ERR(D0(XS_READ, "/shared/mine", NULL), "ENOENT");
	ERR(D0(XS_READ, "/local/domain/5/data", NULL), "ENOENT");
	xg_call(dom0, XS_GET_PERMS, 0, "/acl\0", 5, &m);
	cr_assert_eq(m.hdr.len, 3);
	cr_assert_str_eq(m.body, "n0");
	cr_assert_eq(db_domain_entries(5), 0);
}

/*
 * A death finds the domain's nodes through the store's per-domain index, not
 * a walk: the index must follow perms changes, removals, values written in
 * place and nodes created by a transaction.
 */
Test(guest, death_finds_its_nodes_through_the_index)
{
	struct node **v;
	unsigned n;
	uint32_t t;

	OK(D0(XS_WRITE, "/x1", "1"));
	chmod0("/x1", "n0 r5");
	chmod0("/x1", "n0 r6");			/* no longer names dom5 */
	OK(D0(XS_WRITE, "/x2", "2"));
	chmod0("/x2", "n0 r5 w5");		/* named twice */
	OK(D0(XS_WRITE, "/x3", "3"));
	chmod0("/x3", "n0 r5");
	OK(D0(XS_RM, "/x3", NULL));
	t = strtoul(G(XS_TRANSACTION_START, "", NULL), NULL, 10);
	OK(xg_str(gu, XS_WRITE, t, "data/t1", "v", &m));
	OK(xg_str(gu, XS_TRANSACTION_END, t, "T", NULL, &m));
	OK(G(XS_WRITE, "data/v", "1"));
	OK(D0(XS_WRITE, "/local/domain/5/data/v", "22"));	/* in place */
	v = db_domain_nodes(6, &n);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0]->n_path, "/x1");
	free(v);
	domain_destroy(domain_find(5));
	ERR(D0(XS_READ, "/local/domain/5/data/t1", NULL), "ENOENT");
	ERR(D0(XS_READ, "/local/domain/5/data/v", NULL), "ENOENT");
	xg_call(dom0, XS_GET_PERMS, 0, "/x2\0", 4, &m);
	cr_assert_str_eq(m.body, "n0");
	cr_assert_eq(m.hdr.len, 3);
	xg_call(dom0, XS_GET_PERMS, 0, "/x1\0", 4, &m);
	cr_assert_eq(m.hdr.len, 6);
	cr_assert(memcmp(m.body, "n0\0r6\0", 6) == 0);
	v = db_domain_nodes(5, &n);
	cr_assert_eq(n, 0, "%u nodes still name dom5", n);
	free(v);
	cr_assert_eq(db_domain_entries(5), 0);
}

Test(guest, deep_chain_no_recursion)
{
	static char path[4096];
	size_t l = 0;
	int i;

	for (i = 0; i < 1000; i++) {
		path[l++] = '/';
		path[l++] = 'a';
	}
	path[l] = '\0';
	OK(D0(XS_WRITE, path, "deep"));
	OK(D0(XS_RM, "/a", NULL));
	ERR(D0(XS_READ, "/a", NULL), "ENOENT");
}

Test(guest, identical_pending_events_are_merged)
{
	int i, n = 0;
	const char *e;

	OK(G(XS_WATCH, "data", "tok"));
	cr_assert_str_eq(xg_event(gu), "data tok");
	gu->g_blocked = true;	/* not reading: events pile up */
	for (i = 0; i < 50; i++)
		OK(D0(XS_WRITE, "/local/domain/5/data/k", "v"));
	OK(D0(XS_WRITE, "/local/domain/5/data/other", "v"));
	gu->g_blocked = false;
	conn_output(gu->g_conn);
	while ((e = xg_event(gu)) != NULL)
		n++;
	cr_assert_eq(n, 2, "%d events", n);
}

/* The memory quota (-Q memory, 2.5 MiB): growth past it is ENOMEM, shrinking is fine. */
Test(guest, quota_memory_per_domain)
{
	static char val[1901], tok[2001];
	char p[64], want[64], *big;
	int i;

	quota.q_entries = 5000;		/* so memory, not the node count, is what runs out */
	memset(val, 'm', sizeof(val) - 1);
	memset(tok, 't', sizeof(tok) - 1);
	for (i = 0; i < 5000; i++) {
		/* 100 per directory keeps each parent under the node-size quota */
		snprintf(p, sizeof(p), "data/d%d/m%d", i / 100, i % 100);
		if (strcmp(G(XS_WRITE, p, val), "OK") != 0)
			break;
	}
	ERR((void)0, "ENOMEM");
	cr_assert_gt(i, 1300, "ENOMEM after only %d nodes", i);
	cr_assert_leq(quota_mem_used(5), quota.q_mem_hard);
	cr_assert_gt(quota_mem_used(5), quota.q_mem_hard - 4096);
	ERR(G(XS_WATCH, "data", tok), "ENOMEM");
	/* growing an existing node by one byte more than what is left */
	quota.q_node_size = 8192;
	big = xmalloc(1900 + quota.q_mem_hard - quota_mem_used(5) + 2);
	memset(big, 'g', 1900 + quota.q_mem_hard - quota_mem_used(5) + 1);
	big[1900 + quota.q_mem_hard - quota_mem_used(5) + 1] = '\0';
	ERR(G(XS_WRITE, "data/d0/m0", big), "ENOMEM");
	free(big);
	OK(G(XS_WRITE, "data/d0/m0", ""));			/* shrinking it */
	OK(G(XS_WRITE, "data/after", val));
	OK(D0(XS_WRITE, "/local/domain/0/big", val));		/* dom0 is not limited */
	snprintf(want, sizeof(want), "Memory:       %zu\n", quota_mem_used(5));
	xg_call(dom0, XS_CONTROL, 0, "quota\0" "5\0", 8, &m);
	cr_assert(strstr(m.body, want), "quota 5 says \"%s\", want \"%s\"", m.body, want);
	/* everything it held is returned when it dies: a reused domid starts afresh */
	domain_destroy(domain_find(5));
	conn_free_now(gu->g_conn);
	cr_assert_eq(quota_mem_used(5), 0, "%zu bytes left", quota_mem_used(5));
}

/* -K gives a dead domain's nodes to dom0 with their accounting. */
Test(guest, keep_orphans_moves_the_accounts)
{
	OK(G(XS_WRITE, "data/kept", "v"));
	cr_assert_gt(quota_mem_used(5), 0);
	domain_keep_orphans = true;
	domain_destroy(domain_find(5));
	conn_free_now(gu->g_conn);
	cr_assert_str_eq(D0(XS_READ, "/local/domain/5/data/kept", NULL), "v");
	cr_assert_eq(db_domain_entries(5), 0);
	cr_assert_eq(quota_mem_used(5), 0);
}

static uint64_t fake_now = 1000000;

/* The clock the rate limit and the event expiry read, moved by the tests. */
static uint64_t
fake_clock(void)
{
	return fake_now;
}

/* Sends n guest writes in one go; how many were answered. */
static unsigned
send_writes(unsigned n)
{
	uint64_t before = gu->g_conn->c_requests;
	unsigned i;

	for (i = 0; i < n; i++)
		xg_send(gu, XS_WRITE, 0, "data/w\0v", 8);
	return gu->g_conn->c_requests - before;
}

/* XSA-206: while a transaction is open a writing guest gets 200/s after its burst of 10. */
Test(guest, write_rate_limit)
{
	struct xg *g6;

	conn_clock = fake_clock;
	/* made before the clock changed: restart its accounting on the fake clock */
	wrl_conn_gone(gu->g_conn);
	wrl_conn_new(gu->g_conn);
	/* no transaction open anywhere: writes are free */
	cr_assert_eq(send_writes(100), 100);
	cr_assert_str_neq(D0(XS_TRANSACTION_START, "", NULL), "0");
	/* now the burst (10 from the reserve, and the first write into debt) */
	cr_assert_eq(send_writes(30), 11);
	cr_assert(gu->g_conn->c_throttled);
	cr_assert_eq(wrl_delay_ms(gu->g_conn), 5, "one write at 200/s");
	fake_now += 5;
	conn_input(gu->g_conn);
	cr_assert_eq(gu->g_conn->c_requests, 100 + 12, "one more after 5 ms");
	fake_now += 1000;
	conn_input(gu->g_conn);
	/* 1 s = 200 writes, capped at the burst of 10 plus what the reserve lends */
	cr_assert_eq(gu->g_conn->c_requests, 100 + 30, "the queue drained");
	/* the second saved in the common reserve is lent out, then it is debt again */
	cr_assert_gt(wrl_reserve_now(), 100 * 1000);
	cr_assert_lt(send_writes(1000), 1000);
	cr_assert(gu->g_conn->c_throttled);
	cr_assert_leq(wrl_reserve_now(), 0);
	OK(D0(XS_WRITE, "/local/domain/0/x", "1"));	/* dom0 is never limited */
	/* a second guest shares the rate: each gets half */
	g6 = xg_new(6, false);
	cr_assert_eq(wrl_delay_ms(gu->g_conn), 10, "two guests: 100/s each");
	(void)g6;
}

/* C's -w watch-event (20 s): a guest's unread events go, its replies stay. */
Test(guest, unread_watch_events_expire)
{
	int i, n = 0;
	const char *e;
	char p[64];

	conn_clock = fake_clock;
	OK(G(XS_WATCH, "data", "tok"));
	cr_assert_str_eq(xg_event(gu), "data tok");
	gu->g_blocked = true;
	xg_send(gu, XS_READ, 0, "data\0", 5);		/* an unread reply */
	for (i = 0; i < 30; i++) {
		snprintf(p, sizeof(p), "/local/domain/5/data/k%d", i);
		OK(D0(XS_WRITE, p, "v"));
	}
	fake_now += 19999;
	conn_expire(gu->g_conn);
	cr_assert_eq(gu->g_conn->c_out_count, 31, "nothing expires before 20 s");
	OK(D0(XS_WRITE, "/local/domain/5/data/late", "v"));
	fake_now += 1;
	conn_expire(gu->g_conn);
	cr_assert_eq(gu->g_conn->c_out_count, 2, "the reply and the young event stay");
	gu->g_blocked = false;
	conn_output(gu->g_conn);
	cr_assert_eq(xg_next(gu, &m), 0);
	cr_assert_eq(m.hdr.type, XS_READ, "the reply is still there");
	while ((e = xg_event(gu)) != NULL) {
		cr_assert_str_eq(e, "data/late tok");
		n++;
	}
	cr_assert_eq(n, 1);
	/* dom0's events never expire */
	OK(D0(XS_WATCH, "/local/domain/5/data", "d0"));
	cr_assert_str_eq(xg_event(dom0), "/local/domain/5/data d0");
	dom0->g_blocked = true;
	xg_send(dom0, XS_WRITE, 0, "/local/domain/5/data/k0\0w", 25);
	fake_now += 60000;
	conn_expire(dom0->g_conn);
	dom0->g_blocked = false;
	conn_output(dom0->g_conn);
	cr_assert_str_eq(xg_event(dom0), "/local/domain/5/data/k0 d0");
}

/* A guest whose unread output takes it over the memory quota is not read until it reads. */
Test(guest, over_the_memory_quota_by_unread_output_stops_reading)
{
	char p[300], name[251];
	uint64_t before;
	int i;

	quota.q_mem_hard = 9000;	/* the nodes alone (names in data too) hold about 6400 */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	OK(G(XS_WATCH, "data", "tok"));
	cr_assert_str_eq(xg_event(gu), "data tok");
	gu->g_blocked = true;
	for (i = 0; i < 12; i++) {
		snprintf(p, sizeof(p), "/local/domain/5/data/%s%02d", name, i);
		OK(D0(XS_WRITE, p, "v"));
	}
	cr_assert_geq(quota_mem_used(5), quota.q_mem_hard, "%zu bytes", quota_mem_used(5));
	cr_assert_lt(gu->g_conn->c_out_count, quota.q_outstanding, "the backlog alone would stop it");
	before = gu->g_conn->c_requests;
	xg_send(gu, XS_READ, 0, "data\0", 5);
	cr_assert_eq(gu->g_conn->c_requests, before, "read while over its quota");
	cr_assert(gu->g_conn->c_throttled);
	gu->g_blocked = false;
	conn_output(gu->g_conn);
	cr_assert_lt(quota_mem_used(5), quota.q_mem_hard);
	conn_input(gu->g_conn);
	cr_assert_eq(gu->g_conn->c_requests, before + 1, "not read again once under");
}
