/* Fake in-memory transport for xenstored's core, so guest rules are testable without hvd. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xst_mem.h"
#include "xmalloc.h"

#define XG_BUF (1 << 20)

static ssize_t
xg_read(struct conn *c, void *buf, size_t len)
{
	struct xg *g = c->c_tp;

	if (len > g->g_in_len - g->g_in_off)
		len = g->g_in_len - g->g_in_off;
	memcpy(buf, g->g_in + g->g_in_off, len);
	g->g_in_off += len;
	return len;
}

static ssize_t
xg_write(struct conn *c, const void *buf, size_t len)
{
	struct xg *g = c->c_tp;

	if (g->g_blocked)
		return 0;
	if (g->g_limited) {
		len = len < g->g_room ? len : g->g_room;
		g->g_room -= len;
	}
	cr_assert_leq(g->g_out_len + len, XG_BUF);
	memcpy(g->g_out + g->g_out_len, buf, len);
	g->g_out_len += len;
	return len;
}

static const struct conn_ops xg_ops = {
	.co_read = xg_read,
	.co_write = xg_write,
};

void
xg_init_store(void)
{
	db_init();
	watch_init();
}

struct xg *
xg_new(uint32_t domid, bool priv)
{
	struct xg *g = xcalloc(1, sizeof(*g));

	g->g_in = xmalloc(XG_BUF);
	g->g_out = xmalloc(XG_BUF);
	g->g_conn = conn_new(&xg_ops, g, domid, priv);
	return g;
}

void
xg_send(struct xg *g, uint32_t type, uint32_t tx, const void *p, size_t len)
{
	struct xsd_sockmsg h = { type, 0, tx, len };

	if (g->g_in_off == g->g_in_len)		/* all consumed: reuse the buffer */
		g->g_in_off = g->g_in_len = 0;
	cr_assert_leq(g->g_in_len + sizeof(h) + len, XG_BUF);
	memcpy(g->g_in + g->g_in_len, &h, sizeof(h));
	memcpy(g->g_in + g->g_in_len + sizeof(h), p, len);
	g->g_in_len += sizeof(h) + len;
	conn_input(g->g_conn);
}

int
xg_next(struct xg *g, struct xst_msg *m)
{
	if (g->g_out_len - g->g_out_off < sizeof(m->hdr))
		return -1;
	memcpy(&m->hdr, g->g_out + g->g_out_off, sizeof(m->hdr));
	cr_assert_leq(m->hdr.len, XENSTORE_PAYLOAD_MAX);
	memcpy(m->body, g->g_out + g->g_out_off + sizeof(m->hdr), m->hdr.len);
	m->body[m->hdr.len] = '\0';
	g->g_out_off += sizeof(m->hdr) + m->hdr.len;
	return 0;
}

/* Events skipped by xg_call, oldest first. */
static char xg_evq[64][8400];
static unsigned xg_nev;

void
xg_call(struct xg *g, uint32_t type, uint32_t tx, const void *p, size_t len, struct xst_msg *m)
{
	xg_send(g, type, tx, p, len);
	for (;;) {
		cr_assert_eq(xg_next(g, m), 0, "no reply to type %u", type);
		if (m->hdr.type != XS_WATCH_EVENT)
			break;
		if (xg_nev < 64)
			snprintf(xg_evq[xg_nev++], sizeof(xg_evq[0]), "%s %s", m->body,
			    m->body + strlen(m->body) + 1);
	}
	cr_assert(m->hdr.type == type || m->hdr.type == XS_ERROR);
}

const char *
xg_str(struct xg *g, uint32_t type, uint32_t tx, const char *a, const char *b, struct xst_msg *m)
{
	char buf[8192];
	size_t len = 0;

	if (a) {
		len = strlen(a) + 1;
		memcpy(buf, a, len);
	}
	if (b) {
		memcpy(buf + len, b, strlen(b) + 1);
		len += strlen(b) + (type == XS_WRITE ? 0 : 1);
	}
	xg_call(g, type, tx, buf, len, m);
	return m->body;
}

const char *
xg_event(struct xg *g)
{
	static char buf[8400];
	struct xst_msg m;

	(void)g;
	if (xg_nev > 0) {
		strcpy(buf, xg_evq[0]);
		memmove(xg_evq, xg_evq + 1, --xg_nev * sizeof(xg_evq[0]));
		return buf;
	}
	while (xg_next(g, &m) == 0)
		if (m.hdr.type == XS_WATCH_EVENT) {
			snprintf(buf, sizeof(buf), "%s %s", m.body, m.body + strlen(m.body) + 1);
			return buf;
		}
	return NULL;
}
