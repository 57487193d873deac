#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gt_store.h"

void
gt_store_init(struct gt_store *s, uint32_t domid, void *ring)
{
	memset(s, 0, sizeof(*s));
	s->gs_domid = domid;
	snprintf(s->gs_home, sizeof(s->gs_home), "/local/domain/%u", domid);
	s->gs_intf = ring;
	s->gs_req = (struct byte_ring){ s->gs_intf->req, XENSTORE_RING_SIZE,
	    &s->gs_intf->req_prod, &s->gs_intf->req_cons };
	s->gs_rsp = (struct byte_ring){ s->gs_intf->rsp, XENSTORE_RING_SIZE,
	    &s->gs_intf->rsp_prod, &s->gs_intf->rsp_cons };
	xb_rx_reset(&s->gs_rx);
}

/* Puts a whole message on the response ring, in pieces while the guest drains it. */
static void
gt_store_send(struct gt_store *s, uint32_t type, uint32_t req_id, uint32_t tx_id,
    const void *body, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)len };
	char buf[sizeof(h) + XENSTORE_PAYLOAD_MAX];
	size_t off = 0, total = sizeof(h) + len;

	cr_assert_leq(len, XENSTORE_PAYLOAD_MAX);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	for (int i = 0; off < total; i++) {
		ssize_t n = byte_ring_put(&s->gs_rsp, buf + off, total - off);
		cr_assert_geq(n, 0, "guest corrupted the response ring");
		off += n;
		s->gs_unsent = true;
		if (off == total)
			break;
		cr_assert_lt(i, 2000, "guest stopped reading replies");
		if (n > 0 && s->gs_kick != NULL)
			s->gs_kick(s->gs_kick_arg);
		usleep(1000);
	}
}

static void
gt_store_error(struct gt_store *s, const struct xsd_sockmsg *req, const char *name)
{
	gt_store_send(s, XS_ERROR, req->req_id, req->tx_id, name, strlen(name) + 1);
}

static void
gt_store_ok(struct gt_store *s, const struct xsd_sockmsg *req)
{
	gt_store_send(s, req->type, req->req_id, req->tx_id, "OK", 3);
}

/* Relative paths live under our home, as xenstored resolves them. */
static void
gt_store_abs(struct gt_store *s, const char *path, char *out, size_t len)
{
	int n;

	if (path[0] == '/' || path[0] == '@')
		n = snprintf(out, len, "%s", path);
	else
		n = snprintf(out, len, "%s/%s", s->gs_home, path);
	cr_assert_lt((size_t)n, len, "path too long for the test store");
}

/* The guest may write its own home only; it may also read backend directories. */
static int
gt_store_allowed(struct gt_store *s, const char *abs, int write)
{
	size_t n = strlen(s->gs_home);
	const char *be = "/local/domain/0/backend/";

	if (strncmp(abs, s->gs_home, n) == 0 && (abs[n] == '\0' || abs[n] == '/'))
		return 1;
	return !write && strncmp(abs, be, strlen(be)) == 0;
}

static int
gt_store_find(struct gt_store *s, const char *abs)
{
	for (unsigned i = 0; i < s->gs_nnodes; i++) {
		if (strcmp(s->gs_nodes[i].path, abs) == 0)
			return (int)i;
	}
	return -1;
}

/* Whether path is base or below it. */
static int
gt_store_under(const char *path, const char *base)
{
	size_t n = strlen(base);

	return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Events for every watch on abs or an ancestor of it. */
static void
gt_store_fire(struct gt_store *s, const char *abs)
{
	for (unsigned i = 0; i < s->gs_nwatches; i++) {
		char wabs[256], body[512];
		const char *wpath = s->gs_watches[i].path;
		gt_store_abs(s, wpath, wabs, sizeof(wabs));
		if (!gt_store_under(abs, wabs))
			continue;
		const char *p = abs;
		if (wpath[0] != '/' && wpath[0] != '@')
			p = abs + strlen(s->gs_home) + 1;
		int n = snprintf(body, sizeof(body), "%s%c%s", p, '\0', s->gs_watches[i].token);
		gt_store_send(s, XS_WATCH_EVENT, 0, 0, body, (size_t)n + 1);
	}
}

void
gt_store_set(struct gt_store *s, const char *abs, const char *value)
{
	int i = gt_store_find(s, abs);

	if (i < 0) {
		cr_assert_lt(s->gs_nnodes, GT_STORE_NODES);
		i = (int)s->gs_nnodes++;
		snprintf(s->gs_nodes[i].path, sizeof(s->gs_nodes[i].path), "%s", abs);
	}
	snprintf(s->gs_nodes[i].value, sizeof(s->gs_nodes[i].value), "%s", value);
	gt_store_fire(s, abs);
}

const char *
gt_store_get(struct gt_store *s, const char *abs)
{
	int i = gt_store_find(s, abs);

	return i < 0 ? NULL : s->gs_nodes[i].value;
}

/* Children of abs, from every node below it. */
static void
gt_store_directory(struct gt_store *s, const struct xsd_sockmsg *req, const char *abs)
{
	char body[XENSTORE_PAYLOAD_MAX];
	size_t len = 0, n = strlen(abs);

	for (unsigned i = 0; i < s->gs_nnodes; i++) {
		const char *p = s->gs_nodes[i].path;
		if (strncmp(p, abs, n) != 0 || p[n] != '/')
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%s", p + n + 1);
		*strchrnul(name, '/') = '\0';
		int dup = 0;
		for (size_t k = 0; k < len; k += strlen(body + k) + 1)
			dup |= strcmp(body + k, name) == 0;
		if (!dup) {
			memcpy(body + len, name, strlen(name) + 1);
			len += strlen(name) + 1;
		}
	}
	gt_store_send(s, req->type, req->req_id, req->tx_id, body, len);
}

static void
gt_store_rm(struct gt_store *s, const char *abs)
{
	for (unsigned i = 0; i < s->gs_nnodes;) {
		if (gt_store_under(s->gs_nodes[i].path, abs))
			s->gs_nodes[i] = s->gs_nodes[--s->gs_nnodes];
		else
			i++;
	}
	gt_store_fire(s, abs);
}

static void
gt_store_watch(struct gt_store *s, const struct xsd_sockmsg *req, const char *path,
    const char *token)
{
	cr_assert_lt(s->gs_nwatches, GT_STORE_WATCHES);
	int n = snprintf(s->gs_watches[s->gs_nwatches].path, 256, "%s", path);
	cr_assert_lt(n, 256);
	n = snprintf(s->gs_watches[s->gs_nwatches].token, 64, "%s", token);
	cr_assert_lt(n, 64);
	s->gs_nwatches++;
	gt_store_ok(s, req);
	char body[512];
	n = snprintf(body, sizeof(body), "%s%c%s", path, '\0', token);
	gt_store_send(s, XS_WATCH_EVENT, 0, 0, body, (size_t)n + 1);
}

static void
gt_store_unwatch(struct gt_store *s, const struct xsd_sockmsg *req, const char *path,
    const char *token)
{
	for (unsigned i = 0; i < s->gs_nwatches; i++) {
		if (strcmp(s->gs_watches[i].path, path) == 0 &&
		    strcmp(s->gs_watches[i].token, token) == 0) {
			s->gs_watches[i] = s->gs_watches[--s->gs_nwatches];
			gt_store_ok(s, req);
			return;
		}
	}
	gt_store_error(s, req, "ENOENT");
}

/* One request: the first string is the path for every type we serve. */
static void
gt_store_handle(struct gt_store *s, const struct xb_msg *m)
{
	const struct xsd_sockmsg *req = &m->xm_hdr;
	const char *arg0 = m->xm_body, *arg1 = "";
	char abs[256];

	if (req->req_id == s->gs_last_req_id)
		s->gs_dup_req_ids++;
	s->gs_last_req_id = req->req_id;
	s->gs_requests++;
	size_t l0 = strnlen(arg0, req->len);
	if (l0 < req->len)
		arg1 = arg0 + l0 + 1;
	gt_store_abs(s, arg0, abs, sizeof(abs));
	switch (req->type) {
	case XS_READ:
		if (!gt_store_allowed(s, abs, 0))
			{ gt_store_error(s, req, "EACCES"); return; }
		if (gt_store_get(s, abs) == NULL)
			{ gt_store_error(s, req, "ENOENT"); return; }
		{ gt_store_send(s, req->type, req->req_id, req->tx_id, gt_store_get(s, abs),
		    strlen(gt_store_get(s, abs))); return; }
	case XS_WRITE: {
		if (!gt_store_allowed(s, abs, 1))
			{ gt_store_error(s, req, "EACCES"); return; }
		char value[XENSTORE_PAYLOAD_MAX + 1];
		size_t vlen = req->len - (l0 + 1);
		cr_assert_lt(vlen, sizeof(value));
		memcpy(value, arg1, vlen);
		value[vlen] = '\0';
		gt_store_ok(s, req);
		{ gt_store_set(s, abs, value); return; }
	}
	case XS_MKDIR:
		if (!gt_store_allowed(s, abs, 1))
			{ gt_store_error(s, req, "EACCES"); return; }
		gt_store_ok(s, req);
		if (gt_store_get(s, abs) == NULL)
			gt_store_set(s, abs, "");
		return;
	case XS_RM:
		if (!gt_store_allowed(s, abs, 1))
			{ gt_store_error(s, req, "EACCES"); return; }
		gt_store_ok(s, req);
		{ gt_store_rm(s, abs); return; }
	case XS_DIRECTORY:
		if (!gt_store_allowed(s, abs, 0))
			{ gt_store_error(s, req, "EACCES"); return; }
		{ gt_store_directory(s, req, abs); return; }
	case XS_WATCH:
		{ gt_store_watch(s, req, arg0, arg1); return; }
	case XS_UNWATCH:
		{ gt_store_unwatch(s, req, arg0, arg1); return; }
	case XS_TRANSACTION_START:
		{ gt_store_send(s, req->type, req->req_id, 0, "7", 2); return; }
	case XS_TRANSACTION_END:
		s->gs_commits++;
		if (strcmp(arg0, "T") == 0 && s->gs_eagain > 0) {
			s->gs_eagain--;
			gt_store_error(s, req, "EAGAIN");
			return;
		}
		gt_store_ok(s, req);
		return;
	case XS_GET_DOMAIN_PATH:
		{ gt_store_send(s, req->type, req->req_id, 0, s->gs_home, strlen(s->gs_home) + 1); return; }
	default:
		{ gt_store_error(s, req, "ENOSYS"); return; }
	}
}

int
gt_store_serve(struct gt_store *s)
{
	int n = 0, rc;

	while ((rc = xb_rx_pull(&s->gs_rx, &s->gs_req)) == 1) {
		gt_store_handle(s, &s->gs_rx.xr_msg);
		xb_rx_reset(&s->gs_rx);
		n++;
	}
	cr_assert_eq(rc, 0, "guest broke the store ring: %s", strerror(errno));
	return n;
}
