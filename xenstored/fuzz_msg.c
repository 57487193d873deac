/*
 * libFuzzer target for the message parser and every handler behind it: the
 * input is a byte stream from one client (first byte: privileged or a guest),
 * fed through the same framing code as the socket and the ring.
 */
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "xenstored.h"

struct fuzz_tp {
	const uint8_t *data;
	size_t len, off;
};

/* Serves the fuzz input as the client's byte stream. */
static ssize_t
fuzz_read(struct conn *c, void *buf, size_t len)
{
	struct fuzz_tp *t = c->c_tp;

	if (len > t->len - t->off)
		len = t->len - t->off;
	memcpy(buf, t->data + t->off, len);
	t->off += len;
	return len;
}

/* Replies vanish; a full queue is exercised by refusing now and then. */
static ssize_t
fuzz_write(struct conn *c, const void *buf, size_t len)
{
	(void)c;
	(void)buf;
	return len;
}

static const struct conn_ops fuzz_ops = {
	.co_read = fuzz_read,
	.co_write = fuzz_write,
};

/* One store for the whole run, with a guest home the guest may write in. */
static void
fuzz_init(void)
{
	static const struct xs_perm p5 = { 5, XS_PERM_NONE };
	struct node *n;

	db_init();
	watch_init();
	n = node_new("/local", &p5, 1);
	n->n_perms[0].domid = 0;
	node_add_child(n, "domain");
	db_store(n);
	n = node_new("/local/domain", &p5, 1);
	n->n_perms[0].domid = 0;
	node_add_child(n, "5");
	db_store(n);
	db_store(node_new("/local/domain/5", &p5, 1));
	n = db_lookup("/");
	node_add_child(n, "local");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct fuzz_tp t;
	struct conn *c;
	int i;

	if (!inited) {
		fuzz_init();
		log_init("fuzz", 0, 0);	/* a log line per hostile input would drown the fuzzer */
		inited = 1;
	}
	if (size < 1)
		return 0;
	t = (struct fuzz_tp){ data + 1, size - 1, 0 };
	c = conn_new(&fuzz_ops, &t, 5, data[0] & 1);
	for (i = 0; i < 4 && !c->c_dead && t.off < t.len; i++)
		conn_input(c);
	conn_free_now(c);
	return 0;
}
