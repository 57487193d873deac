/*
 * The state kept on disk so that a xenstored killed at any moment comes back
 * as it was (--state-dir): a snapshot of the whole state plus an append-only
 * journal of what changed since, replayed at start.
 *
 * Each journal entry is one write() of [len u32][hash u64][records]; a torn
 * tail fails its hash and is cut off. An entry holds the images of the nodes,
 * domains and guest connections changed since the previous one, and the guest
 * output queued meanwhile. Nothing a client can see (a reply, an event, a
 * guest's req_cons) moves before the entry describing it is written: output
 * waits in conn.c until persist_flush(), and ring.c publishes req_cons after
 * it. So a request a guest had fully written but whose entry was not written
 * is still in its ring and is read again; one whose entry was written is
 * answered from the journaled output, never executed twice.
 *
 * Snapshots: every PERSIST_JOURNAL_MAX bytes of journal (or twice the last
 * snapshot's size, if more: a snapshot costs the whole state, so its cost per
 * entry stays flat however many domains there are), and right after a
 * restore. snapshot.tmp is written and fsync'd, renamed over `snapshot`, then
 * a fresh journal with the snapshot's generation replaces the old one; a
 * journal of another generation is ignored, so a crash between the two steps
 * loses nothing. The journal itself is not fsync'd: a killed daemon's writes
 * are in the page cache, and a host crash takes the guests down with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "log.h"
#include "paths.h"
#include "xenstored.h"
#include "xmalloc.h"

#define PERSIST_MAGIC		0x31535850u	/* "PXS1" */
#define PERSIST_JOURNAL_MAX	(8u << 20)

enum {
	R_GEN = 1,	/* u64 store generation */
	R_NODE,		/* path, gen, perms, value, children */
	R_DEL,		/* path */
	R_DOMS,		/* the introduced domains, the whole list */
	R_GCONN,	/* domid: ring position, partial input, transactions, watches */
	R_OUTFULL,	/* domid, rsp index of the first unsent byte, the unsent bytes */
	R_OUTAPP,	/* domid, more unsent bytes */
	R_GONE,		/* domid: no guest connection any more */
	R_DOM,		/* one introduced domain, as in R_DOMS: added or changed */
	R_DOMDEL,	/* domid: no longer introduced */
};

#define PERSIST_DOM_LEN	28	/* one domain's image in R_DOMS and R_DOM */
#define PERSIST_ENTRY_KEEP (16 * 1024)	/* a journal entry's buffer kept up to this size */

struct buf {
	char *b;
	size_t len, cap;
};

static char *persist_dir;
static int persist_jfd = -1;
static uint64_t persist_gen;		/* snapshot generation */
static size_t persist_jsize;
static bool persist_loading;
static unsigned persist_holds;
static struct htab persist_dirty;	/* node paths changed since the last entry */
static bool persist_any_dirty;
/* guest connections changed since the last entry, and connections with output held */
static struct conn_list persist_jr_pending = TAILQ_HEAD_INITIALIZER(persist_jr_pending);
static struct conn_list persist_held = TAILQ_HEAD_INITIALIZER(persist_held);
static uint32_t *persist_doms_dirty;	/* domains changed since the last entry */
static unsigned persist_ndoms_dirty, persist_doms_dirty_cap;
static size_t persist_snap_len;		/* the last snapshot's size */
static struct buf persist_gone;		/* R_GONE records for the next entry */

/* --- encoding ------------------------------------------------------------ */

/* Appends raw bytes. */
static void
buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->b = xreallocarray(b->b, 1, b->cap);
	}
	if (n == 0)
		return;		/* p may be NULL then (an empty value), and memcpy wants neither */
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

/* Overwrites the u32 at off (a length written after its record); records are unaligned. */
static void
buf_set_u32(struct buf *b, size_t off, uint32_t v)
{
	memcpy(b->b + off, &v, sizeof(v));
}

/* Appends a u32. */
static void
buf_u32(struct buf *b, uint32_t v)
{
	buf_put(b, &v, sizeof(v));
}

/* Appends a u64. */
static void
buf_u64(struct buf *b, uint64_t v)
{
	buf_put(b, &v, sizeof(v));
}

/* Appends a length-prefixed byte string. */
static void
buf_str(struct buf *b, const void *p, size_t n)
{
	buf_u32(b, n);
	buf_put(b, p, n);
}

/* A reader over a record stream; r_bad is set on any overrun. */
struct rd {
	const char *p, *end;
	bool bad;
};

/* Takes n raw bytes, or marks the reader bad. */
static const char *
rd_take(struct rd *r, size_t n)
{
	const char *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return p;
}

/* Reads a u32 (0 when bad). */
static uint32_t
rd_u32(struct rd *r)
{
	const char *p = rd_take(r, 4);
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, 4);
	return v;
}

/* Reads a u64 (0 when bad). */
static uint64_t
rd_u64(struct rd *r)
{
	const char *p = rd_take(r, 8);
	uint64_t v = 0;

	if (p)
		memcpy(&v, p, 8);
	return v;
}

/* Reads a byte string; its length in *n. */
static const char *
rd_str(struct rd *r, size_t *n)
{
	*n = rd_u32(r);
	return rd_take(r, *n);
}

/* FNV-1a over an entry, to find a torn tail. */
static uint64_t
persist_hash(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

/* --- what is recorded ---------------------------------------------------- */

/* A node image (live or special). */
static void
persist_enc_node(struct buf *b, const struct node *n)
{
	unsigned i;

	buf_u32(b, R_NODE);
	buf_str(b, n->n_path, strlen(n->n_path));
	buf_u64(b, n->n_gen);
	buf_u32(b, n->n_nperms);
	for (i = 0; i < n->n_nperms; i++) {
		buf_u32(b, n->n_perms[i].domid);
		buf_u32(b, n->n_perms[i].perm);
	}
	buf_str(b, n->n_value, n->n_vlen);
	buf_str(b, n->n_children, n->n_clen);
}

/* One introduced domain in R_DOMS and R_DOM. */
static void
persist_enc_dom(const struct domain *d, void *arg)
{
	struct buf *b = arg;

	buf_u32(b, d->d_domid);
	buf_u64(b, d->d_mfn);
	buf_u32(b, d->d_remote_port);
	buf_u32(b, d->d_target);
	buf_u32(b, d->d_shutdown_reported);
	buf_u32(b, d->d_intf != NULL);
}

/* A guest connection's state, output aside. */
static void
persist_enc_gconn(struct buf *b, const struct conn *c)
{
	const struct watch *w;
	const struct txn *t;
	unsigned n = 0;

	buf_u32(b, R_GCONN);
	buf_u32(b, c->c_domid);
	buf_u32(b, c->c_ring_rd);
	buf_str(b, &c->c_hdr, c->c_in_have < sizeof(c->c_hdr) ? c->c_in_have : sizeof(c->c_hdr));
	buf_str(b, c->c_in, c->c_in_have > sizeof(c->c_hdr) ? c->c_in_have - sizeof(c->c_hdr) : 0);
	buf_u32(b, c->c_next_txid);
	LIST_FOREACH(t, &c->c_txns, t_link)
		n++;
	buf_u32(b, n);
	LIST_FOREACH(t, &c->c_txns, t_link)
		buf_u32(b, t->t_id);
	n = 0;
	LIST_FOREACH(w, &c->c_watches, w_conn_link)
		n++;
	buf_u32(b, n);
	LIST_FOREACH(w, &c->c_watches, w_conn_link) {
		buf_str(b, w->w_path, strlen(w->w_path));
		buf_str(b, w->w_token, strlen(w->w_token));
		buf_u32(b, w->w_relative);
	}
}

/* The unsent output bytes of a guest, from byte `from` of the queue. */
static void
persist_enc_out(struct buf *b, const struct conn *c, size_t from)
{
	const struct outmsg *m;
	size_t at = 0, skip, n;

	STAILQ_FOREACH(m, &c->c_out, om_link) {
		n = m->om_len - m->om_off;
		if (at + n > from) {
			skip = from > at ? from - at : 0;
			buf_put(b, m->om_data + m->om_off + skip, n - skip);
		}
		at += n;
	}
}

/* Unsent bytes queued for c. */
static size_t
persist_out_len(const struct conn *c)
{
	const struct outmsg *m = STAILQ_FIRST(&c->c_out);

	return c->c_out_bytes - (m ? m->om_off : 0);
}

/* A guest's output, in full or what was queued since the last entry. */
static void
persist_enc_output(struct buf *b, struct conn *c, bool full)
{
	size_t len = persist_out_len(c), start;

	if (full || c->c_jr_out_full || c->c_jr_out_end - c->c_out_sent > len) {
		buf_u32(b, R_OUTFULL);
		buf_u32(b, c->c_domid);
		buf_u32(b, c->c_out_sent);
		start = b->len;
		buf_u32(b, 0);
		persist_enc_out(b, c, 0);
		buf_set_u32(b, start, (uint32_t)(b->len - start - 4));
	} else if (c->c_out_sent + len != c->c_jr_out_end) {
		buf_u32(b, R_OUTAPP);
		buf_u32(b, c->c_domid);
		start = b->len;
		buf_u32(b, 0);
		persist_enc_out(b, c, c->c_jr_out_end - c->c_out_sent);
		buf_set_u32(b, start, (uint32_t)(b->len - start - 4));
	}
	c->c_jr_out_end = c->c_out_sent + len;
	c->c_jr_out_full = false;
}

/*
 * One guest connection's record when its state changed (only its own requests
 * change it), comparing with what was written; and its new output.
 */
static void
persist_enc_gconn_one(struct buf *b, struct buf *one, struct conn *c, bool full)
{
	bool first;

	if (!full && !c->c_jr_dirty && c->c_jr_last != NULL) {
		persist_enc_output(b, c, false);
		return;
	}
	/* a new connection's output is anchored where its ring is */
	first = c->c_jr_last == NULL;
	c->c_jr_dirty = false;
	one->len = 0;
	persist_enc_gconn(one, c);
	if (full || c->c_jr_last == NULL || c->c_jr_last_len != one->len ||
	    (one->len && memcmp(c->c_jr_last, one->b, one->len) != 0)) {
		buf_put(b, one->b, one->len);
		free(c->c_jr_last);
		c->c_jr_last = xmalloc(one->len + 1);
		if (one->len)
			memcpy(c->c_jr_last, one->b, one->len);
		c->c_jr_last_len = one->len;
	}
	persist_enc_output(b, c, full || first);
}

/*
 * The guest connections' records: all of them for a snapshot, otherwise only
 * those on the list of connections that read input, queued output or are new
 * since the last entry (not a walk of every connection per entry).
 */
static void
persist_enc_gconns(struct buf *b, bool full)
{
	struct conn_list later = TAILQ_HEAD_INITIALIZER(later);
	struct buf one = { 0 };
	struct conn *c;

	while ((c = TAILQ_FIRST(&persist_jr_pending)) != NULL) {
		TAILQ_REMOVE(&persist_jr_pending, c, c_jr_link);
		if (c->c_domain == NULL && !c->c_dead) {
			TAILQ_INSERT_TAIL(&later, c, c_jr_link);	/* not attached yet */
			continue;
		}
		c->c_jr_pending = false;
		if (!full && !c->c_dead)
			persist_enc_gconn_one(b, &one, c, false);
	}
	TAILQ_CONCAT(&persist_jr_pending, &later, c_jr_link);
	if (full)
		TAILQ_FOREACH(c, &conns, c_link)
			if (c->c_domain != NULL && !c->c_dead)
				persist_enc_gconn_one(b, &one, c, true);
	free(one.b);
}

/*
 * The domains: the whole list in a snapshot, otherwise a record for each
 * domain changed since the last entry (the whole list compared per entry
 * cost every request O(domains)).
 */
static void
persist_enc_doms(struct buf *b, bool full)
{
	size_t at;
	unsigned i;

	if (full) {
		buf_u32(b, R_DOMS);
		at = b->len;
		buf_u32(b, 0);
		domain_foreach(persist_enc_dom, b);
		buf_set_u32(b, at, (uint32_t)((b->len - at - 4) / PERSIST_DOM_LEN));
	} else {
		for (i = 0; i < persist_ndoms_dirty; i++) {
			struct domain *d = domain_find(persist_doms_dirty[i]);

			if (d != NULL) {
				buf_u32(b, R_DOM);
				persist_enc_dom(d, b);
			} else {
				buf_u32(b, R_DOMDEL);
				buf_u32(b, persist_doms_dirty[i]);
			}
		}
	}
	persist_ndoms_dirty = 0;
}

/* Node images for the dirty paths. */
static void
persist_enc_dirty_one(const char *path, void *val, void *arg)
{
	struct buf *b = arg;
	const struct node *n = path[0] == '@' ? watch_special_node(path) : db_lookup(path);

	(void)val;
	if (n) {
		persist_enc_node(b, n);
	} else {
		buf_u32(b, R_DEL);
		buf_str(b, path, strlen(path));
	}
}

/* Frees a dirty-set key. */
static void
persist_free_key(const char *path, void *val, void *arg)
{
	(void)val;
	(void)arg;
	free((char *)path);
}

/* Encodes a changed node for the next entry, then frees its dirty-set key. */
static void
persist_enc_dirty_free(const char *path, void *val, void *arg)
{
	persist_enc_dirty_one(path, val, arg);
	free((char *)path);
}

/* Every node and both special nodes, for a snapshot. */
static void
persist_enc_all_one(struct node *n, void *arg)
{
	persist_enc_node(arg, n);
}

/* --- hooks --------------------------------------------------------------- */

/* A guest connection's journaled state or output changed: it goes in the next entry. */
void
persist_conn_touch(struct conn *c)
{
	/* only guest connections are journaled: a dom0 client on the list stayed there */
	if (!persist_on() || c->c_ops->co_publish == NULL)
		return;
	persist_any_dirty = true;
	if (c->c_jr_pending)
		return;
	c->c_jr_pending = true;
	TAILQ_INSERT_TAIL(&persist_jr_pending, c, c_jr_link);
}

/* Output produced while requests are processed waits for their journal entry. */
void
persist_hold_output(struct conn *c)
{
	if (c->c_out_held)
		return;
	c->c_out_held = true;
	TAILQ_INSERT_TAIL(&persist_held, c, c_held_link);
}

/* A connection is freed: off the lists. */
void
persist_conn_forget(struct conn *c)
{
	if (c->c_jr_pending)
		TAILQ_REMOVE(&persist_jr_pending, c, c_jr_link);
	if (c->c_out_held)
		TAILQ_REMOVE(&persist_held, c, c_held_link);
	c->c_jr_pending = c->c_out_held = false;
}

/* Is the state being kept on disk? */
bool
persist_on(void)
{
	return persist_jfd >= 0 && !persist_loading;
}

/* A node (or a special node's perms) changed; its image goes in the next entry. */
void
persist_node_dirty(const char *path)
{
	char *k;

	if (!persist_on())
		return;
	persist_any_dirty = true;
	if (htab_get(&persist_dirty, path))
		return;
	k = xstrdup(path);
	htab_put(&persist_dirty, k, k);
}

/* An introduced domain was added, changed or removed: its record goes in the next entry. */
void
persist_dom_dirty(uint32_t domid)
{
	unsigned i;

	if (!persist_on())
		return;
	persist_any_dirty = true;
	for (i = 0; i < persist_ndoms_dirty; i++)
		if (persist_doms_dirty[i] == domid)
			return;
	if (persist_ndoms_dirty == persist_doms_dirty_cap) {
		persist_doms_dirty_cap = persist_doms_dirty_cap ? persist_doms_dirty_cap * 2 : 8;
		persist_doms_dirty = xreallocarray(persist_doms_dirty, persist_doms_dirty_cap,
		    sizeof(*persist_doms_dirty));
	}
	persist_doms_dirty[persist_ndoms_dirty++] = domid;
}

/* A guest connection went away: its saved state must not outlive it. */
void
persist_gconn_gone(uint32_t domid)
{
	if (!persist_on())
		return;
	buf_u32(&persist_gone, R_GONE);
	buf_u32(&persist_gone, domid);
	persist_any_dirty = true;
}


/* --- files --------------------------------------------------------------- */

/* dir/name, malloc'd. */
static char *
persist_path(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", persist_dir, name);
	return p;
}

/* Writes all of buf to fd; -1 on error. */
static int
persist_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* Writes one framed entry (len, hash, payload) to fd: one writev, the payload not copied. */
static int
persist_write_entry(int fd, const struct buf *payload)
{
	uint32_t len = payload->len;
	uint64_t h = persist_hash(payload->b, payload->len);
	char hdr[12];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { payload->b, payload->len } };
	struct iovec *v = iov;
	int nv = payload->len ? 2 : 1;
	ssize_t w;

	memcpy(hdr, &len, 4);
	memcpy(hdr + 4, &h, 8);
	while (nv > 0) {
		if ((w = writev(fd, v, nv)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (nv > 0 && (size_t)w >= v->iov_len) {	/* a short write: what is left */
			w -= v->iov_len;
			v++;
			nv--;
		}
		if (nv > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= w;
		}
	}
	return 0;
}

/* Creates dir/name atomically with a header and one entry, fsync'd. */
static int
persist_replace(const char *name, uint64_t gen, const struct buf *payload, int *keep_fd)
{
	char *tmp, *path = persist_path(name);
	struct buf h = { 0 };
	int fd, rc = -1, dfd;

	xasprintf(&tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto out;
	buf_u32(&h, PERSIST_MAGIC);
	buf_u64(&h, gen);
	if (persist_write_all(fd, h.b, h.len) < 0 ||
	    (payload && persist_write_entry(fd, payload) < 0) || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		close(fd);
		goto out;
	}
	if ((dfd = open(persist_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
	rc = 0;
out:
	free(h.b);
	free(tmp);
	free(path);
	return rc;
}

/* Writes a snapshot of everything, then starts a new journal of its generation. */
static int
persist_snapshot(void)
{
	struct buf b = { 0 };
	struct node *sn;
	int jfd = -1;

	buf_u32(&b, R_GEN);
	buf_u64(&b, db_generation());
	db_foreach(persist_enc_all_one, &b);
	if ((sn = watch_special_node("@introduceDomain")))
		persist_enc_node(&b, sn);
	if ((sn = watch_special_node("@releaseDomain")))
		persist_enc_node(&b, sn);
	persist_gone.len = 0;
	persist_enc_doms(&b, true);
	persist_enc_gconns(&b, true);
	htab_foreach(&persist_dirty, persist_free_key, NULL);
	htab_free(&persist_dirty);
	htab_init(&persist_dirty);
	persist_any_dirty = false;
	if (persist_replace("snapshot", persist_gen + 1, &b, NULL) < 0 ||
	    persist_replace("journal", persist_gen + 1, NULL, &jfd) < 0) {
		log_warn("snapshot in %s", persist_dir);
		free(b.b);
		return -1;
	}
	persist_gen++;
	if (persist_jfd >= 0)
		close(persist_jfd);
	persist_jfd = jfd;
	persist_jsize = 0;
	persist_snap_len = b.len;
	log_debug("snapshot %llu: %zu bytes", (unsigned long long)persist_gen, b.len);
	free(b.b);
	return 0;
}

/*
 * Writes what changed since the last entry as one entry. Called before any
 * output reaches a client and before a guest's req_cons moves.
 */
void
persist_flush(void)
{
	/* reused: an entry per batch allocates nothing, unless it is a big one */
	static struct buf b;

	if (!persist_on() || !persist_any_dirty)
		return;
	persist_any_dirty = false;
	b.len = 0;
	htab_clear(&persist_dirty, persist_enc_dirty_free, &b);	/* one pass */
	buf_u32(&b, R_GEN);
	buf_u64(&b, db_generation());
	buf_put(&b, persist_gone.b, persist_gone.len);
	persist_gone.len = 0;
	persist_enc_doms(&b, false);
	persist_enc_gconns(&b, false);
	if (persist_write_entry(persist_jfd, &b) < 0)
		fatal("journal %s/journal", persist_dir);
	persist_jsize += b.len + 12;
	if (b.cap > PERSIST_ENTRY_KEEP) {
		free(b.b);
		b = (struct buf){ 0 };
	}
	if (persist_jsize > PERSIST_JOURNAL_MAX && persist_jsize > 2 * persist_snap_len)
		persist_snapshot();
}

/* Output and req_cons are held back while requests are processed. */
void
persist_hold(void)
{
	persist_holds++;
}

/* The last hold ends: write the entry, then let the held output go. */
void
persist_release(void)
{
	struct conn *c;

	if (--persist_holds > 0 || !persist_on())
		return;
	persist_flush();
	while ((c = TAILQ_FIRST(&persist_held)) != NULL) {
		TAILQ_REMOVE(&persist_held, c, c_held_link);
		c->c_out_held = false;
		conn_output(c);
	}
}

/* Are outputs held (a request is being processed)? */
bool
persist_holding(void)
{
	return persist_on() && persist_holds > 0;
}

/* --- restore ------------------------------------------------------------- */

/* A guest connection's state as read back. */
struct pgconn {
	uint32_t domid;
	bool present;
	struct buf rec;		/* the last R_GCONN record */
	uint32_t out_at;	/* rsp index of out's first byte */
	struct buf out;
};

struct pstate {
	struct pgconn *g;
	unsigned ng;
	struct buf doms;	/* the last R_DOMS payload */
	bool have_doms;
};

/* The slot for a guest's saved connection. */
static struct pgconn *
pstate_g(struct pstate *s, uint32_t domid)
{
	unsigned i;

	for (i = 0; i < s->ng; i++)
		if (s->g[i].domid == domid)
			return &s->g[i];
	s->g = xreallocarray(s->g, s->ng + 1, sizeof(*s->g));
	memset(&s->g[s->ng], 0, sizeof(s->g[0]));
	s->g[s->ng].domid = domid;
	return &s->g[s->ng++];
}

/*
 * An R_DOM (add, the image at rec) or R_DOMDEL (drop, the domid at rec) on
 * the list being restored, kept as an R_DOMS payload.
 */
static void
persist_doms_put(struct pstate *s, const char *rec, bool add)
{
	uint32_t n = 0, id;
	size_t i;

	if (!s->have_doms || s->doms.len < 4) {
		s->doms.len = 0;
		buf_u32(&s->doms, 0);
		s->have_doms = true;
	}
	memcpy(&n, s->doms.b, 4);
	for (i = 0; i < n; i++) {
		memcpy(&id, s->doms.b + 4 + i * PERSIST_DOM_LEN, 4);
		if (memcmp(&id, rec, 4) == 0)
			break;
	}
	if (i < n && add) {
		memcpy(s->doms.b + 4 + i * PERSIST_DOM_LEN, rec, PERSIST_DOM_LEN);
		return;
	}
	if (i < n) {
		memmove(s->doms.b + 4 + i * PERSIST_DOM_LEN, s->doms.b + 4 + (i + 1) * PERSIST_DOM_LEN,
		    (n - i - 1) * PERSIST_DOM_LEN);
		s->doms.len -= PERSIST_DOM_LEN;
		n--;
	} else if (add) {
		buf_put(&s->doms, rec, PERSIST_DOM_LEN);
		n++;
	}
	buf_set_u32(&s->doms, 0, n);
}

/* Applies the records of one entry; -1 if one is malformed. */
static int
persist_apply(struct pstate *s, const char *p, size_t n)
{
	struct rd r = { p, p + n, false };
	const char *q, *v, *ch;
	size_t l, vl, cl, i;
	struct xs_perm *perms;
	struct pgconn *g;
	struct node *nd;
	uint32_t type, np;
	uint64_t gen;

	while (!r.bad && r.p < r.end) {
		type = rd_u32(&r);
		switch (type) {
		case R_GEN:
			db_set_generation(rd_u64(&r));
			break;
		case R_NODE:
			q = rd_str(&r, &l);
			gen = rd_u64(&r);
			np = rd_u32(&r);
			if (r.bad || np == 0 || np > 4096)
				return -1;
			perms = xcalloc(np, sizeof(*perms));
			for (i = 0; i < np; i++) {
				perms[i].domid = rd_u32(&r);
				perms[i].perm = rd_u32(&r);
			}
			v = rd_str(&r, &vl);
			ch = rd_str(&r, &cl);
			if (r.bad) {
				free(perms);
				return -1;
			}
			{
				char *path = xstrndup(q, l);

				if (path[0] == '@') {
					if ((nd = watch_special_node(path)))
						node_set_perms(nd, perms, np);
				} else {
					nd = node_make(path, perms, np, vl ? v : "", vl, cl ? ch : "",
					    cl);
					db_store_raw(nd, gen);
				}
				free(path);
			}
			free(perms);
			break;
		case R_DEL:
			q = rd_str(&r, &l);
			if (q) {
				char *path = xstrndup(q, l);

				db_remove(path);
				free(path);
			}
			break;
		case R_DOMS:
			q = r.p;
			np = rd_u32(&r);
			rd_take(&r, (size_t)np * PERSIST_DOM_LEN);
			if (r.bad)
				return -1;
			s->doms.len = 0;
			buf_put(&s->doms, q, r.p - q);
			s->have_doms = true;
			break;
		case R_DOM:
			q = rd_take(&r, PERSIST_DOM_LEN);
			if (r.bad)
				return -1;
			persist_doms_put(s, q, true);
			break;
		case R_DOMDEL:
			q = r.p;
			rd_u32(&r);
			if (r.bad)
				return -1;
			persist_doms_put(s, q, false);
			break;
		case R_GCONN: {
			const char *start = r.p;
			uint32_t nt, nw;

			g = pstate_g(s, rd_u32(&r));
			rd_u32(&r);
			rd_str(&r, &l);
			rd_str(&r, &l);
			rd_u32(&r);
			nt = rd_u32(&r);
			rd_take(&r, (size_t)nt * 4);
			nw = rd_u32(&r);
			for (i = 0; i < nw && !r.bad; i++) {
				rd_str(&r, &l);
				rd_str(&r, &l);
				rd_u32(&r);
			}
			if (r.bad)
				return -1;
			g->rec.len = 0;
			buf_put(&g->rec, start, r.p - start);
			g->present = true;
			break;
		}
		case R_OUTFULL:
			g = pstate_g(s, rd_u32(&r));
			g->out_at = rd_u32(&r);
			q = rd_str(&r, &l);
			if (r.bad)
				return -1;
			g->out.len = 0;
			buf_put(&g->out, q, l);
			break;
		case R_OUTAPP:
			g = pstate_g(s, rd_u32(&r));
			q = rd_str(&r, &l);
			if (r.bad)
				return -1;
			buf_put(&g->out, q, l);
			break;
		case R_GONE:
			g = pstate_g(s, rd_u32(&r));
			g->present = false;
			g->out.len = 0;
			g->out_at = 0;
			break;
		default:
			return -1;
		}
	}
	return r.bad ? -1 : 0;
}

/* Reads a whole file; NULL if absent. */
static char *
persist_slurp(const char *name, size_t *len)
{
	char *path = persist_path(name), *p = NULL;
	struct stat st;
	int fd;
	ssize_t n;
	size_t got = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto out;
	if (fstat(fd, &st) < 0)
		goto out_close;
	p = xmalloc(st.st_size + 1);
	while (got < (size_t)st.st_size && (n = read(fd, p + got, st.st_size - got)) > 0)
		got += n;
	*len = got;
out_close:
	close(fd);
out:
	free(path);
	return p;
}

/*
 * Applies a file's entries up to the first torn or bad one; the entries
 * applied. With want_gen (not 0) a file of another generation is left alone.
 */
static int
persist_apply_file(struct pstate *s, const char *name, uint64_t want_gen, uint64_t *gen,
    bool *found)
{
	size_t len = 0, off = 12;
	char *p = persist_slurp(name, &len);
	uint32_t magic, elen;
	uint64_t h;
	int n = 0;

	*found = p != NULL && len >= 12;
	if (!*found) {
		free(p);
		return 0;
	}
	memcpy(&magic, p, 4);
	memcpy(gen, p + 4, 8);
	if (magic != PERSIST_MAGIC) {
		log_warnx("%s/%s: not a xenstored state file", persist_dir, name);
		*found = false;
		free(p);
		return 0;
	}
	if (want_gen && *gen != want_gen) {
		log_warnx("%s/%s is of generation %llu, the snapshot %llu: ignored", persist_dir,
		    name, (unsigned long long)*gen, (unsigned long long)want_gen);
		free(p);
		return 0;
	}
	while (off + 12 <= len) {
		memcpy(&elen, p + off, 4);
		memcpy(&h, p + off + 4, 8);
		if (elen > len - off - 12 || persist_hash(p + off + 12, elen) != h)
			break;
		if (persist_apply(s, p + off + 12, elen) < 0) {
			log_warnx("%s/%s: bad entry at %zu", persist_dir, name, off);
			break;
		}
		off += 12 + elen;
		n++;
	}
	if (off < len)
		log_warnx("%s/%s: %zu bytes of torn tail ignored", persist_dir, name, len - off);
	free(p);
	return n;
}

/* Gives a restored guest connection its saved state; the output is cut where the ring is. */
static void
persist_restore_gconn(struct conn *c, struct pgconn *g)
{
	struct rd r = { g->rec.b, g->rec.b + g->rec.len, false };
	const char *hdr, *in, *path, *tok;
	size_t hl, il, pl, tl, i;
	uint32_t nt, nw, rd_idx, prod;
	char *ps, *ts;
	bool rel;

	rd_u32(&r);			/* domid */
	rd_idx = rd_u32(&r);
	hdr = rd_str(&r, &hl);
	in = rd_str(&r, &il);
	c->c_next_txid = rd_u32(&r);
	if (r.bad || hl > sizeof(c->c_hdr) || il > XENSTORE_PAYLOAD_MAX)
		return;
	memcpy(&c->c_hdr, hdr, hl);
	memcpy(c->c_in, in, il);
	c->c_in_have = hl + il;
	nt = rd_u32(&r);
	for (i = 0; i < nt && !r.bad; i++)
		txn_restore(c, rd_u32(&r));
	nw = rd_u32(&r);
	for (i = 0; i < nw && !r.bad; i++) {
		path = rd_str(&r, &pl);
		tok = rd_str(&r, &tl);
		rel = rd_u32(&r);
		if (r.bad)
			break;
		ps = xstrndup(path, pl);
		ts = xstrndup(tok, tl);
		if (watch_add(c, ps, ts, rel) != 0)
			log_warnx("dom%u: watch %s not restored", c->c_domid, ps);
		free(ps);
		free(ts);
	}
	/* input: where the journal says we were, even if the ring was not told yet */
	ring_restore_input(c, rd_idx);
	/* output: the ring shows how much of the journaled output went out */
	prod = ring_rsp_prod(c);
	if ((uint32_t)(prod - g->out_at) > g->out.len) {
		log_warnx("dom%u: ring at %u, journaled output %u+%zu: output lost", c->c_domid,
		    prod, g->out_at, g->out.len);
		return;
	}
	conn_restore_output(c, g->out.b + (prod - g->out_at), g->out.len - (prod - g->out_at),
	    prod);
	log_info("dom%u: reading at %u (%zu bytes of a request held), %zu bytes of output to send, "
	    "%u watches, %u transactions to fail", c->c_domid, rd_idx, c->c_in_have,
	    g->out.len - (prod - g->out_at), nw, nt);
}

/*
 * Opens (creating) dir and reloads the state found there: the tree, then the
 * domains (their rings mapped and ports bound again through libhv), then each
 * guest's watches, transactions (which end with EAGAIN), partial input and
 * unsent output. A fresh snapshot follows.
 */
int
persist_open(const char *dir)
{
	struct pstate s = { 0 };
	uint64_t sgen = 0, jgen = 0;
	bool have_snap, have_j;
	struct timespec t0, t1;
	struct rd r;
	uint32_t nd, i, j;
	int nj = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	persist_dir = xstrdup(dir);
	if (paths_mkdir_p(dir, 0700) < 0) {
		log_warn("mkdir %s", dir);
		return -1;
	}
	htab_init(&persist_dirty);
	persist_loading = true;
	persist_apply_file(&s, "snapshot", 0, &sgen, &have_snap);
	if (have_snap) {
		nj = persist_apply_file(&s, "journal", sgen, &jgen, &have_j);
		persist_gen = sgen;
	}
	/* the domains, with their connections */
	if (s.have_doms) {
		r = (struct rd){ s.doms.b, s.doms.b + s.doms.len, false };
		nd = rd_u32(&r);
		for (i = 0; i < nd && !r.bad; i++) {
			uint32_t domid = rd_u32(&r), port, target, shut, mapped;
			uint64_t mfn = rd_u64(&r);
			struct conn *c;

			port = rd_u32(&r);
			target = rd_u32(&r);
			shut = rd_u32(&r);
			mapped = rd_u32(&r);
			c = domain_restore(domid, mfn, port, target, shut, mapped);
			if (c == NULL)
				continue;
			for (j = 0; j < s.ng; j++)
				if (s.g[j].domid == domid && s.g[j].present)
					persist_restore_gconn(c, &s.g[j]);
		}
	}
	persist_loading = false;
	for (j = 0; j < s.ng; j++) {
		free(s.g[j].rec.b);
		free(s.g[j].out.b);
	}
	free(s.g);
	free(s.doms.b);
	if (persist_snapshot() < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (have_snap)
		log_info("state restored from %s: %u nodes, %d journal entries, %.1f ms", dir,
		    db_count(), nj, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

/* A clean exit: the last entry is written (the state stays for the next start). */
void
persist_close(void)
{
	persist_flush();
	if (persist_jfd >= 0)
		close(persist_jfd);
	persist_jfd = -1;
}
