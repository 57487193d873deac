/*
 * xenstored's own work per request, without the kernel: its core (framing,
 * dispatch, store, transactions, watches) driven in process through a memory
 * transport, as one dom0 client. On a shared machine the socket bench's
 * figures swing with the scheduler; these are the part xenstored controls,
 * steady enough to compare two builds. Prints CPU ns per operation.
 * Usage: bench-xenstored-core [iterations (200000)] [case: read|write|directory|rmw|all]
 *        [journal] (with a state directory, as xencommons runs it: an entry per change)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xenstored.h"

struct bench_core_tp {
	const char *in;
	size_t len, off;
	char last[64];		/* the start of the last reply's payload (a transaction id) */
	uint32_t last_type;
};

static struct bench_core_tp bench_core_tp;

/* Serves the request queued by bench_core_call. */
static ssize_t
bench_core_read(struct conn *c, void *buf, size_t len)
{
	struct bench_core_tp *t = c->c_tp;

	if (len > t->len - t->off)
		len = t->len - t->off;
	memcpy(buf, t->in + t->off, len);
	t->off += len;
	return len;
}

/* Keeps the reply's type and the start of its payload. */
static ssize_t
bench_core_write(struct conn *c, const void *buf, size_t len)
{
	struct bench_core_tp *t = c->c_tp;
	struct xsd_sockmsg h;
	size_t l;

	memcpy(&h, buf, sizeof(h));
	t->last_type = h.type;
	l = h.len < sizeof(t->last) - 1 ? h.len : sizeof(t->last) - 1;
	memcpy(t->last, (const char *)buf + sizeof(h), l);
	t->last[l] = '\0';
	return len;
}

static const struct conn_ops bench_core_ops = {
	.co_read = bench_core_read,
	.co_write = bench_core_write,
};

/* One request through the core; its reply's type. */
static uint32_t
bench_core_call(struct conn *c, uint32_t type, uint32_t tx, const void *p, size_t len)
{
	static char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg h = { type, 1, tx, len };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, len);
	bench_core_tp.in = buf;
	bench_core_tp.len = sizeof(h) + len;
	bench_core_tp.off = 0;
	conn_input(c);
	return bench_core_tp.last_type;
}

/* This process's CPU time in ns: what xenstored's code costs, not the machine's load. */
static double
bench_core_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Runs one case n times; CPU ns per operation. */
static double
bench_core_case(struct conn *c, const char *name, int n)
{
	static const char wr[] = "/bench/c0\0" "0123456789abcdef";
	double t0 = bench_core_now();
	uint32_t id;
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(name, "read") == 0) {
			if (bench_core_call(c, XS_READ, 0, "/bench/c0", 10) != XS_READ)
				exit(3);
		} else if (strcmp(name, "write") == 0) {
			if (bench_core_call(c, XS_WRITE, 0, wr, sizeof(wr) - 1) != XS_WRITE)
				exit(3);
		} else if (strcmp(name, "directory") == 0) {
			if (bench_core_call(c, XS_DIRECTORY, 0, "/bench/dir", 11) != XS_DIRECTORY)
				exit(3);
		} else {
			if (bench_core_call(c, XS_TRANSACTION_START, 0, "", 1) != XS_TRANSACTION_START)
				exit(3);
			id = strtoul(bench_core_tp.last, NULL, 10);
			bench_core_call(c, XS_READ, id, "/bench/c0", 10);
			bench_core_call(c, XS_WRITE, id, wr, sizeof(wr) - 1);
			if (bench_core_call(c, XS_TRANSACTION_END, id, "T", 2) != XS_TRANSACTION_END)
				exit(3);
		}
	}
	return (bench_core_now() - t0) / n;
}

int
main(int argc, char **argv)
{
	static const char *cases[] = { "read", "write", "directory", "rmw" };
	int n = argc > 1 ? atoi(argv[1]) : 200000, i;
	const char *only = argc > 2 && strcmp(argv[2], "all") != 0 ? argv[2] : NULL;
	bool journal = argc > 3 && strcmp(argv[3], "journal") == 0;
	char name[32], dir[] = "/tmp/xscore.XXXXXX", cmd[64];
	struct conn *c;

	log_init("bench-core", 0, 0);
	db_init();
	watch_init();
	if (journal && (mkdtemp(dir) == NULL || persist_open(dir) < 0)) {
		perror("state directory");
		return 1;
	}
	c = conn_new(&bench_core_ops, &bench_core_tp, 0, true);
	bench_core_call(c, XS_WRITE, 0, "/bench/c0\0" "0123456789abcdef", 26);
	for (i = 0; i < 1000; i++) {
		size_t l = snprintf(name, sizeof(name), "/bench/dir/%d", i) + 1;

		bench_core_call(c, XS_WRITE, 0, name, l);
	}
	printf("xenstored core in process, one dom0 client, %d iterations%s\n", n,
	    journal ? ", with a journal" : "");
	for (i = 0; i < 4; i++)
		if (only == NULL || strcmp(only, cases[i]) == 0)
			printf("%-10s %8.0f ns/op (CPU)\n", cases[i], bench_core_case(c, cases[i], n));
	conn_free_now(c);
	if (journal) {
		persist_close();
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return 0;
}
