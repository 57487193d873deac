/* Quota settings: Xen 4.17's defaults and the -E -S -W -t -A -M -Q overrides. */
#include <stdlib.h>
#include <string.h>

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
};

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

/* -Q what=value: outstanding, transaction-nodes, and the short options' long names. */
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
		{ "memory", 0, NULL },
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
		return 0;	/* memory: accepted, not enforced */
	}
	return -1;
}
