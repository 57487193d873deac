/* Finding domains: names live in xenstore (/local/domain/N/name), ids in hvd. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dom.h"
#include "dom_ops.h"
#include "log.h"
#include "xmalloc.h"

#define DOM_FIND_BATCH 256

/* The name xenstore holds for domid; Domain-0 when dom0 has none. */
char *
dom_find_name(struct xs *xs, hv_domid_t domid)
{
	char path[64], *name;

	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	name = xs ? xs_read(xs, XS_TX_NONE, path, NULL) : NULL;
	if (name == NULL && domid == 0)
		name = xstrdup(DOM_DOM0_NAME);
	return name;
}

/* Every domain, in domid order. */
struct hv_dominfo *
dom_find_all(struct hv *hv, unsigned *n)
{
	struct hv_dominfo *all = NULL;
	unsigned count = 0;
	hv_domid_t next = 0;

	for (;;) {
		all = xreallocarray(all, count + DOM_FIND_BATCH, sizeof(*all));
		int got = hv_domain_getinfolist(hv, next, all + count, DOM_FIND_BATCH);
		if (got < 0) {
			free(all);
			return NULL;
		}
		count += got;
		if (got < DOM_FIND_BATCH)
			break;
		next = all[count - 1].domid + 1;
	}
	*n = count;
	return all;
}

/*
 * Whether a name can be a key of the name index (xenstore's path characters,
 * not "." or ".."); other names are found by listing every domain.
 */
static int
dom_find_indexable(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 64 && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_") == n;
}

/* The index node of a name: DOM_FIND_INDEX/<name>, holding the domid; -1 if it has none. */
int
dom_find_index_path(char *buf, size_t len, const char *name)
{
	if (!dom_find_indexable(name))
		return -1;
	snprintf(buf, len, "%s/%s", DOM_FIND_INDEX, name);
	return 0;
}

/* Adds name -> domid to the index (create, rename); names it cannot hold are skipped. */
int
dom_find_index_set(struct xs *xs, const char *name, hv_domid_t domid)
{
	char path[128], id[16];

	if (dom_find_index_path(path, sizeof(path), name) < 0)
		return 0;
	snprintf(id, sizeof(id), "%u", domid);
	return xs_write(xs, XS_TX_NONE, path, id, strlen(id));
}

/* Drops name from the index if it still names domid (destroy, rename). */
void
dom_find_index_drop(struct xs *xs, const char *name, hv_domid_t domid)
{
	char path[128], *id;

	if (dom_find_index_path(path, sizeof(path), name) < 0)
		return;
	if ((id = xs_read(xs, XS_TX_NONE, path, NULL)) == NULL)
		return;
	if (strtoul(id, NULL, 10) == domid)
		xs_rm(xs, XS_TX_NONE, path);
	free(id);
}

/*
 * The index's answer for an indexable name: 1 and *domid when the entry names a
 * live domain that still bears the name, 0 when there is none (a stale entry,
 * left by a toolstack that died mid-destroy, counts as none).
 */
static int
dom_find_index_get(struct xs *xs, struct hv *hv, const char *name, hv_domid_t *domid)
{
	struct hv_dominfo info;
	char path[128], *id, *cur;
	unsigned long v;
	int found = 0;

	dom_find_index_path(path, sizeof(path), name);
	if ((id = xs_read(xs, XS_TX_NONE, path, NULL)) == NULL)
		return 0;
	v = strtoul(id, NULL, 10);
	free(id);
	if (v == 0 || v >= DOMID_FIRST_RESERVED || hv_domain_getinfo(hv, v, &info) < 0 ||
	    (info.flags & HV_DOMINF_DYING))
		return 0;
	if ((cur = dom_find_name(xs, (hv_domid_t)v)) != NULL) {
		found = strcmp(cur, name) == 0;
		free(cur);
	}
	if (found)
		*domid = (hv_domid_t)v;
	return found;
}

/*
 * A live domain whose xenstore name is name. xl create, rename and the
 * monitor keep an index of names, so this is one lookup, not a listing of
 * every domain (which made each create and destroy cost O(domains)); names
 * the index cannot hold are looked for among all, every name read in one
 * round trip.
 */
int
dom_find_by_name(struct xs *xs, struct hv *hv, const char *name, hv_domid_t *domid)
{
	struct hv_dominfo *all;
	char **paths, **names;
	unsigned n;
	int found = 0;

	if (strcmp(name, DOM_DOM0_NAME) == 0) {
		*domid = 0;
		return 0;
	}
	if (xs != NULL && dom_find_indexable(name)) {
		if (dom_find_index_get(xs, hv, name, domid))
			return 0;
		errno = ENOENT;
		return -1;
	}
	if ((all = dom_find_all(hv, &n)) == NULL)
		return -1;
	paths = xcalloc(n + 1, sizeof(*paths));
	for (unsigned i = 0; i < n; i++)
		xasprintf(&paths[i], "/local/domain/%u/name", all[i].domid);
	names = dom_ops_read_all((const char *const *)paths, n);
	for (unsigned i = 0; names && i < n; i++) {
		if (!found && names[i] && strcmp(names[i], name) == 0) {
			*domid = all[i].domid;
			found = 1;
		}
		free(names[i]);
	}
	for (unsigned i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(names);
	free(all);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

/* Name or number to domid, as every xl command's Domain argument. */
int
dom_find(struct xs *xs, struct hv *hv, const char *arg, hv_domid_t *domid)
{
	struct hv_dominfo info;
	const char *p = arg;

	while (isdigit((unsigned char)*p))
		p++;
	if (*arg && *p == '\0' && strlen(arg) < 6) {
		*domid = (hv_domid_t)strtoul(arg, NULL, 10);
		if (hv_domain_getinfo(hv, *domid, &info) == 0)
			return 0;
		log_warnx("domain %s does not exist", arg);
		return -1;
	}
	if (dom_find_by_name(xs, hv, arg, domid) == 0)
		return 0;
	log_warnx("domain '%s' does not exist", arg);
	return -1;
}
