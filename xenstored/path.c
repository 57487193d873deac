/* Node names: Xen's character and length rules, relative paths, parents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"
#include "xmalloc.h"

/* "/local/domain/<domid>", the home of a domain. */
char *
path_home(uint32_t domid)
{
	char *p;

	xasprintf(&p, "/local/domain/%u", domid);
	return p;
}

/* [A-Za-z0-9-/_@] */
static bool
path_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' || ch == '_' || ch == '@';
}

/* The part the length limit applies to: after /local/domain/<up to 5 digits>/. */
static size_t
path_rel_len(const char *p)
{
	static const char pfx[] = "/local/domain/";
	const char *q;

	if (strncmp(p, pfx, sizeof(pfx) - 1) != 0)
		return strlen(p);
	q = p + sizeof(pfx) - 1;
	while (*q >= '0' && *q <= '9' && q - p < (long)sizeof(pfx) - 1 + 5)
		q++;
	if (*q != '/' || q == p + sizeof(pfx) - 1)
		return strlen(p);
	return strlen(q + 1);
}

/* Validates in and makes it absolute; special_ok admits "@..." names. */
int
path_canon(const struct conn *c, const char *in, bool special_ok, char **out)
{
	char *p;
	size_t i, len;

	if (in[0] == '@') {
		if (!special_ok)
			return EINVAL;
		p = xstrdup(in);
	} else if (in[0] != '/') {
		xasprintf(&p, "/local/domain/%u/%s", c->c_domid, in);
	} else {
		p = xstrdup(in);
	}
	len = strlen(p);
	for (i = 0; i < len; i++)
		if (!path_char_ok(p[i]) || (p[i] == '/' && p[i + 1] == '/'))
			goto bad;
	if (p[0] == '/' && len > 1 && p[len - 1] == '/')
		goto bad;
	if (path_rel_len(p) > quota.q_path_max)
		goto bad;
	*out = p;
	return 0;
bad:
	free(p);
	return EINVAL;
}

/* Parent path of an absolute path other than "/". */
char *
path_parent(const char *path)
{
	const char *s = strrchr(path, '/');

	if (s == path)
		return xstrdup("/");
	return xstrndup(path, s - path);
}

/* The last component of an absolute path. */
const char *
path_basename(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* path equals parent or lies below it. */
bool
path_is_under(const char *parent, const char *path)
{
	size_t l = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return path[0] == '/';
	return strncmp(parent, path, l) == 0 && (path[l] == '\0' || path[l] == '/');
}
