/*
 * Quota settings: Xen 4.17's defaults and the -E -S -W -t -A -M -Q -q -w
 * overrides; and the per-domain memory account the memory quota checks.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domtab.h"
#include "log.h"
#include "xenstored.h"

struct quota quota = {
	.q_entries = 1000,
	.q_node_size = 2048,
	.q_watches = 128,
	.q_txns = 10,
	.q_tx_nodes = 1024,
	.q_outstanding = 20,
	.q_path_max = XENSTORE_REL_PATH_MAX,
	.q_perms = 5,
	.q_priv_outstanding = 1024,
	.q_event_queue = 1024,
	.q_mem_hard = 2 * 1024 * 1024 + 512 * 1024,
	.q_mem_soft = 2 * 1024 * 1024,
	.q_watch_event_ms = 20000,
};

/* Bytes each domain holds in the store: its nodes, watches, queued output. */
struct quota_acct {
	size_t mem;
	time_t warned;	/* last soft-quota warning */
};
static struct domtab quota_mem = DOMTAB_INIT(struct quota_acct);
#define QUOTA_MEM_WARN_EVERY	10		/* seconds, as C xenstored */

/* A positive decimal; -1 when malformed. */
static long
quota_num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return (*s == '\0' || *end || v < 0) ? -1 : v;
}

/* One short option's value (E S W t A M); 0 or -1. */
int
quota_set_opt(int opt, const char *val)
{
	long v = quota_num(val);

	if (v < 0)
		return -1;
	switch (opt) {
	case 'E': quota.q_entries = v; break;
	case 'S': quota.q_node_size = v; break;
	case 'W': quota.q_watches = v; break;
	case 't': quota.q_txns = v; break;
	case 'A': quota.q_perms = v; break;
	case 'M':
		quota.q_path_max = v > XENSTORE_REL_PATH_MAX ? XENSTORE_REL_PATH_MAX : v;
		break;
	default: return -1;
	}
	return 0;
}

/* -Q what=value: outstanding, transaction-nodes, memory, and the short options' long names. */
int
quota_set_named(const char *arg)
{
	static const struct { const char *name; int opt; unsigned *field; } names[] = {
		{ "outstanding", 0, &quota.q_outstanding },
		{ "transaction-nodes", 0, &quota.q_tx_nodes },
		{ "nodes", 'E', NULL },
		{ "node-size", 'S', NULL },
		{ "watches", 'W', NULL },
		{ "transactions", 't', NULL },
		{ "permissions", 'A', NULL },
		{ "path-max", 'M', NULL },
		{ "memory", 0, &quota.q_mem_hard },
	};
	const char *eq = strchr(arg, '=');
	size_t i;
	long v;

	if (eq == NULL || (v = quota_num(eq + 1)) < 0)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) != (size_t)(eq - arg) ||
		    strncmp(names[i].name, arg, eq - arg) != 0)
			continue;
		if (names[i].field)
			*names[i].field = v;
		else if (names[i].opt)
			return quota_set_opt(names[i].opt, eq + 1);
		return 0;
	}
	return -1;
}

/* "what=value" split; the value, or -1 when malformed or another name. */
static long
quota_named_value(const char *arg, const char *name)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || strlen(name) != (size_t)(eq - arg) || strncmp(arg, name, eq - arg))
		return -1;
	return quota_num(eq + 1);
}

/* -q memory=N: the soft memory quota (a warning in the log, nothing refused). */
int
quota_set_soft(const char *arg)
{
	long v = quota_named_value(arg, "memory");

	if (v < 0)
		return -1;
	quota.q_mem_soft = v;
	return 0;
}

/* -w watch-event=SECONDS: unread events of a guest older than this are dropped. */
int
quota_set_timeout(const char *arg)
{
	long v = quota_named_value(arg, "watch-event");

	if (v < 0)
		return -1;
	quota.q_watch_event_ms = v * 1000;
	return 0;
}

/* Adds (or with a negative delta, returns) bytes to a domain's account. */
void
quota_mem_charge(uint32_t domid, long delta)
{
	struct quota_acct *a = delta > 0 ? domtab_slot(&quota_mem, domid) :
	    domtab_peek(&quota_mem, domid);
	time_t now;

	if (a == NULL)
		return;
	if (delta < 0 && (size_t)-delta >= a->mem) {
		/* an empty account has nothing to warn about: its memory goes */
		*a = (struct quota_acct){ 0 };
		domtab_settle(&quota_mem, domid);
		return;
	}
	a->mem += delta;
	if (delta <= 0 || domid == 0 || quota.q_mem_soft == 0 || a->mem <= quota.q_mem_soft)
		return;
	now = time(NULL);
	if (now - a->warned < QUOTA_MEM_WARN_EVERY)
		return;
	a->warned = now;
	log_warnx("dom%u uses %zu bytes of xenstore memory, over the soft quota of %u",
	    domid, a->mem, quota.q_mem_soft);
}

/* The bytes a domain holds, for the quota command and the checks. */
size_t
quota_mem_used(uint32_t domid)
{
	const struct quota_acct *a = domtab_peek(&quota_mem, domid);

	return a ? a->mem : 0;
}

/* ENOMEM when an unprivileged caller would grow domid's account past the hard quota. */
int
quota_mem_check(const struct conn *c, uint32_t domid, long growth)
{
	if (c->c_priv || quota.q_mem_hard == 0 || growth <= 0)
		return 0;
	return quota_mem_used(domid) + growth > quota.q_mem_hard ? ENOMEM : 0;
}

/* At or over the hard quota: the domain is not served until it drops below (C's rule). */
bool
quota_mem_over(const struct conn *c)
{
	return !c->c_priv && quota.q_mem_hard != 0 &&
	    quota_mem_used(c->c_domid) >= quota.q_mem_hard;
}
