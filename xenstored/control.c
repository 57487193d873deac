/*
 * XS_CONTROL (xenstore-control): log, logfile, print, quota, dump, check,
 * help; and the -T request trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "paths.h"
#include "xenstored.h"
#include "xmalloc.h"

static FILE *control_tracef;
static char *control_trace_path;

/* Opens (or reopens) the trace file; NULL path closes it. */
int
control_open_trace(const char *path)
{
	FILE *f = NULL;

	if (path && (f = fopen(path, "a")) == NULL)
		return -1;
	if (control_tracef)
		fclose(control_tracef);
	control_tracef = f;
	if (path && path != control_trace_path) {
		free(control_trace_path);
		control_trace_path = xstrdup(path);
	}
	if (f)
		setvbuf(f, NULL, _IOLBF, 0);
	return 0;
}

/* One line per message in and out, payload NULs shown as spaces. */
void
control_trace(const char *dir, const struct conn *c, const struct xsd_sockmsg *hdr,
    const char *data)
{
	char buf[128];
	size_t i, n;

	if (control_tracef == NULL)
		return;
	n = hdr->len < sizeof(buf) - 1 ? hdr->len : sizeof(buf) - 1;
	for (i = 0; i < n; i++)
		buf[i] = data[i] >= ' ' && data[i] < 127 ? data[i] : ' ';
	buf[n] = '\0';
	fprintf(control_tracef, "%s conn %u dom%u type %u req %u tx %u len %u (%s)\n", dir,
	    c->c_id, c->c_domid, hdr->type, hdr->req_id, hdr->tx_id, hdr->len, buf);
}

/* "quota" alone: the limits; "quota <domid>": what the domain uses. */
static int
control_quota(struct conn *c, struct req *r, const char *const *argv, int argc)
{
	char buf[1024];
	unsigned long domid;
	struct conn *d;
	unsigned w = 0, t = 0;

	if (argc < 2) {
		snprintf(buf, sizeof(buf),
		    "Nodes per Domain:         %u\nMax. Node Size:           %u\n"
		    "Watches per Domain:       %u\nTransactions per Domain:  %u\n"
		    "Nodes per Transaction:    %u\nOutstanding Requests:     %u\n"
		    "Max. Path Length:         %u\nPermissions per Node:     %u\n"
		    "Memory per Domain:        %u (soft %u)\nWatch Event Timeout (s): %u\n",
		    quota.q_entries, quota.q_node_size, quota.q_watches, quota.q_txns,
		    quota.q_tx_nodes, quota.q_outstanding, quota.q_path_max, quota.q_perms,
		    quota.q_mem_hard, quota.q_mem_soft, quota.q_watch_event_ms / 1000);
		conn_reply_str(c, r, buf);
		return 0;
	}
	domid = strtoul(argv[1], NULL, 10);
	TAILQ_FOREACH(d, &conns, c_link)
		if (d->c_domid == domid && !d->c_priv) {
			w += d->c_nwatches;
			t += d->c_ntxns;
		}
	snprintf(buf, sizeof(buf), "Domain %lu:\nNodes:        %u\nWatches:      %u\n"
	    "Transactions: %u\nMemory:       %zu\n", domid, db_domain_entries(domid), w, t,
	    quota_mem_used(domid));
	conn_reply_str(c, r, buf);
	return 0;
}

/* One node per line in the state dump. */
static void
control_dump_node(struct node *n, void *arg)
{
	FILE *f = arg;
	char perms[256];
	size_t i, l = perms_format(n->n_perms, n->n_nperms, perms, sizeof(perms));

	for (i = 0; i + 1 < l; i++)
		if (perms[i] == '\0')
			perms[i] = ',';
	fprintf(f, "node %s gen %llu perms %s len %zu value \"", n->n_path,
	    (unsigned long long)n->n_gen, l ? perms : "", n->n_vlen);
	for (i = 0; i < n->n_vlen; i++)
		fputc(n->n_value[i] >= ' ' && n->n_value[i] < 127 ? n->n_value[i] : '.', f);
	fputs("\"\n", f);
}

/* Writes the whole state (nodes, connections, watches, domains) as text. */
static int
control_dump(struct conn *c, struct req *r, const char *const *argv, int argc)
{
	char *path = argc > 1 ? xstrdup(argv[1]) : paths_run("xenstored/state.dump");
	char dom[2048];
	struct conn *d;
	struct watch *w;
	FILE *f;

	if ((f = fopen(path, "w")) == NULL) {
		free(path);
		return EIO;
	}
	fprintf(f, "nodes %u generation %llu watches %u\n", db_count(),
	    (unsigned long long)db_generation(), watch_count());
	db_foreach(control_dump_node, f);
	TAILQ_FOREACH(d, &conns, c_link) {
		fprintf(f, "conn %u dom%u%s%s requests %llu queued %u txns %u\n", d->c_id,
		    d->c_domid, d->c_priv ? " priv" : "", d->c_readonly ? " ro" : "",
		    (unsigned long long)d->c_requests, d->c_out_count, d->c_ntxns);
		LIST_FOREACH(w, &d->c_watches, w_conn_link)
			fprintf(f, "  watch %s %s\n", w->w_path, w->w_token);
	}
	domain_dump(dom, sizeof(dom));
	fputs(dom, f);
	heap_dump(f);
	fclose(f);
	conn_reply_str(c, r, path);
	free(path);
	return 0;
}

struct control_check {
	unsigned bad;
};

/* Every child listed by a node exists and every node's parent lists it. */
static void
control_check_node(struct node *n, void *arg)
{
	struct control_check *cc = arg;
	struct node *p;
	char *pp;
	size_t off;

	for (off = 0; off < n->n_clen; off += strlen(n->n_children + off) + 1) {
		char *cp;

		xasprintf(&cp, "%s/%s", strcmp(n->n_path, "/") ? n->n_path : "",
		    n->n_children + off);
		if (db_lookup(cp) == NULL)
			cc->bad++;
		free(cp);
	}
	if (strcmp(n->n_path, "/") == 0)
		return;
	pp = path_parent(n->n_path);
	if ((p = db_lookup(pp)) == NULL)
		cc->bad++;
	free(pp);
	(void)p;
}

/* "check": the tree is consistent. */
static int
control_check(struct conn *c, struct req *r, const char *const *argv, int argc)
{
	struct control_check cc = { 0 };

	(void)argv;
	(void)argc;
	db_foreach(control_check_node, &cc);
	if (cc.bad)
		log_warnx("check: %u inconsistencies", cc.bad);
	conn_reply_str(c, r, cc.bad ? "inconsistent" : "OK");
	return 0;
}

/* "log on|off": request tracing. */
static int
control_log(struct conn *c, struct req *r, const char *const *argv, int argc)
{
	if (argc < 2)
		return EINVAL;
	if (strcmp(argv[1], "on") == 0) {
		if (control_open_trace(control_trace_path ? control_trace_path :
		    paths_run("xenstored/trace")) < 0)
			return EIO;
	} else if (strcmp(argv[1], "off") == 0) {
		control_open_trace(NULL);
	} else {
		return EINVAL;
	}
	conn_reply_str(c, r, "OK");
	return 0;
}

/* "logfile <file>": trace to that file. */
static int
control_logfile(struct conn *c, struct req *r, const char *const *argv, int argc)
{
	if (argc < 2)
		return EINVAL;
	if (control_open_trace(argv[1]) < 0)
		return EIO;
	conn_reply_str(c, r, "OK");
	return 0;
}

/* "print <text>": a marker in the daemon's log. */
static int
control_print(struct conn *c, struct req *r, const char *const *argv, int argc)
{
	if (argc < 2)
		return EINVAL;
	log_info("control: %s", argv[1]);
	conn_reply_str(c, r, "OK");
	return 0;
}

static int control_help(struct conn *, struct req *, const char *const *, int);

static const struct control_cmd {
	const char *cc_name;
	int (*cc_fn)(struct conn *, struct req *, const char *const *, int);
	const char *cc_help;
} control_cmds[] = {
	{ "check", control_check, "check: verify the node tree" },
	{ "dump", control_dump, "dump [file]: write the state to a file" },
	{ "help", control_help, "help: this list" },
	{ "log", control_log, "log on|off: trace requests" },
	{ "logfile", control_logfile, "logfile <file>: trace requests to file" },
	{ "memreport", control_dump, "memreport [file]: as dump" },
	{ "print", control_print, "print <text>: write text to the log" },
	{ "quota", control_quota, "quota [domid]: limits, or a domain's usage" },
	{ "quota-soft", control_quota, "quota-soft [domid]: as quota" },
};

/* "help": the command list. */
static int
control_help(struct conn *c, struct req *r, const char *const *argv, int argc)
{
	char buf[1024];
	size_t off = 0, i;

	(void)argv;
	(void)argc;
	for (i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s\n", control_cmds[i].cc_help);
	conn_reply_str(c, r, buf);
	return 0;
}

/* XS_CONTROL: dispatches on the first argument. */
int
op_control(struct conn *c, struct req *r)
{
	const char *argv[8];
	int argc = req_args(r, argv, 8);
	size_t i;

	if (argc < 1 || argc > 8)
		return EINVAL;
	for (i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (strcmp(argv[0], control_cmds[i].cc_name) == 0)
			return control_cmds[i].cc_fn(c, r, argv, argc);
	return EINVAL;
}
