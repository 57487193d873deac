/*
 * Watches, indexed by path: an event on P looks up P and each of its
 * ancestors, so firing costs the path's depth, not connections x watches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"
#include "xmalloc.h"

LIST_HEAD(watch_list, watch);

static struct htab watch_index;		/* path -> struct watch_list */
static unsigned watch_total;
static struct node *watch_special[2];	/* @introduceDomain, @releaseDomain */

/* The watch index and the special nodes (perms n0). */
void
watch_init(void)
{
	static const struct xs_perm n0 = { 0, XS_PERM_NONE };

	htab_init(&watch_index);
	watch_special[0] = node_new("@introduceDomain", &n0, 1);
	watch_special[1] = node_new("@releaseDomain", &n0, 1);
}

/* The perms holder of a special watch name, or NULL for other names. */
struct node *
watch_special_node(const char *name)
{
	unsigned i;

	for (i = 0; i < 2; i++)
		if (strcmp(watch_special[i]->n_path, name) == 0)
			return watch_special[i];
	return NULL;
}

/* All watches, for the dump. */
unsigned
watch_count(void)
{
	return watch_total;
}

/*
 * The connection's (path, token) watch, or NULL. Looked for among the
 * watches on path, not the connection's own: consoled holds one watch per
 * domain, and each create and destroy adds or removes one.
 */
static struct watch *
watch_find(struct conn *c, const char *path, const char *token)
{
	struct watch_list *l = htab_get(&watch_index, path);
	struct watch *w;

	if (l == NULL)
		return NULL;
	LIST_FOREACH(w, l, w_path_link)
		if (w->w_conn == c && strcmp(w->w_token, token) == 0)
			return w;
	return NULL;
}

/* Adds a watch: duplicates EEXIST, over quota E2BIG. */
int
watch_add(struct conn *c, const char *path, const char *token, bool relative)
{
	struct watch_list *l;
	struct watch *w;

	if (watch_find(c, path, token) != NULL)
		return EEXIST;
	if (!c->c_priv && c->c_nwatches >= quota.q_watches)
		return E2BIG;
	if (quota_mem_check(c, c->c_domid, strlen(path) + strlen(token)))
		return ENOMEM;
	quota_mem_charge(c->c_domid, strlen(path) + strlen(token));
	w = xcalloc(1, sizeof(*w));
	w->w_conn = c;
	w->w_path = xstrdup(path);
	w->w_token = xstrdup(token);
	w->w_relative = relative;
	if ((l = htab_get(&watch_index, path)) == NULL) {
		l = xcalloc(1, sizeof(*l));
		LIST_INIT(l);
		htab_put(&watch_index, w->w_path, l);
	}
	LIST_INSERT_HEAD(l, w, w_path_link);
	LIST_INSERT_HEAD(&c->c_watches, w, w_conn_link);
	c->c_nwatches++;
	watch_total++;
	return 0;
}

/* Unlinks and frees one watch, dropping its index bucket when empty. */
static void
watch_free(struct watch *w)
{
	struct watch_list *l;

	LIST_REMOVE(w, w_path_link);
	LIST_REMOVE(w, w_conn_link);
	w->w_conn->c_nwatches--;
	watch_total--;
	quota_mem_charge(w->w_conn->c_domid, -(long)(strlen(w->w_path) + strlen(w->w_token)));
	l = htab_get(&watch_index, w->w_path);
	if (l && LIST_EMPTY(l)) {
		htab_del(&watch_index, w->w_path);
		free(l);
	} else if (l) {
		/* the bucket's key may be this watch's path: rekey it */
		htab_put(&watch_index, LIST_FIRST(l)->w_path, l);
	}
	free(w->w_path);
	free(w->w_token);
	free(w);
}

/* Removes the (path, token) watch: ENOENT if none. */
int
watch_remove(struct conn *c, const char *path, const char *token)
{
	struct watch *w = watch_find(c, path, token);

	if (w == NULL)
		return ENOENT;
	watch_free(w);
	return 0;
}

/* Drops a connection's watches. */
void
watch_free_all(struct conn *c)
{
	struct watch *w;

	while ((w = LIST_FIRST(&c->c_watches)) != NULL)
		watch_free(w);
}

/* May this watcher hear of a change at path? (XSA-115: node or parent readable.) */
static bool
watch_permitted(const struct conn *c, const char *path, const struct xs_perm *perms,
    unsigned nperms)
{
	const struct node *n;
	char *parent;
	bool ok;

	if (c->c_priv)
		return true;
	if (perms && (perms_for_conn(c, perms, nperms) & PERM_READ))
		return true;
	if ((n = db_lookup(path)) && (perms_for_conn(c, n->n_perms, n->n_nperms) & PERM_READ))
		return true;
	if (strcmp(path, "/") == 0)
		return false;
	parent = path_parent(path);
	n = db_lookup(parent);
	ok = n && (perms_for_conn(c, n->n_perms, n->n_nperms) & PERM_READ);
	free(parent);
	return ok;
}

/* Sends one event, relative to the watcher's home if the watch was relative. */
static void
watch_send(struct watch *w, const char *path)
{
	const char *p = path;

	if (w->w_relative) {
		char *home = path_home(w->w_conn->c_domid);
		size_t l = strlen(home);

		if (strncmp(path, home, l) == 0 && path[l] == '/')
			p = path + l + 1;
		free(home);
	}
	conn_send_event(w->w_conn, p, w->w_token);
}

/* Fires the watches on path (and, unless exact, on its ancestors). */
void
watch_fire(const char *path, bool exact, const struct xs_perm *perms, unsigned nperms)
{
	char buf[256], *p;
	struct watch_list *l;
	struct watch *w;

	if (watch_total == 0)
		return;
	p = strlen(path) < sizeof(buf) ? strcpy(buf, path) : xstrdup(path);
	for (;;) {
		if ((l = htab_get(&watch_index, p)) != NULL)
			LIST_FOREACH(w, l, w_path_link)
				if (!w->w_conn->c_dead &&
				    watch_permitted(w->w_conn, path, perms, nperms))
					watch_send(w, path);
		if (exact || p[0] != '/' || strcmp(p, "/") == 0)
			break;
		*strrchr(p, '/') = '\0';
		if (p[0] == '\0')
			strcpy(p, "/");
	}
	if (p != buf)
		free(p);
}

/* Sends a special event to the watchers of path, with the perms of the special node sn. */
static void
watch_send_special(const struct node *sn, const char *path)
{
	struct watch_list *l = htab_get(&watch_index, path);
	struct watch *w;

	if (l == NULL)
		return;
	LIST_FOREACH(w, l, w_path_link)
		if (!w->w_conn->c_dead &&
		    (perms_for_conn(w->w_conn, sn->n_perms, sn->n_nperms) & PERM_READ))
			conn_send_event(w->w_conn, path, w->w_token);
}

/* @introduceDomain / @releaseDomain: privileged watchers and those granted read. */
void
watch_fire_special(const char *name)
{
	struct node *sn = watch_special_node(name);

	if (sn != NULL)
		watch_send_special(sn, name);
}

/*
 * "<name>/<domid>", our extension, fired beside <name> itself: a watcher of
 * one domain (xl's monitor) is not woken by every other domain's death (with
 * n monitors on @releaseDomain each death cost n wake-ups and n hvd calls).
 */
void
watch_fire_special_domain(const char *name, uint32_t domid)
{
	struct node *sn = watch_special_node(name);
	char path[64];

	if (sn == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%u", name, domid);
	watch_send_special(sn, path);
}
