/* Small helpers over the synchronous xenstore client, for the layout writers. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dom.h"
#include "xmalloc.h"

/* Writes a string value. */
int
dom_xs_write(struct xs *xs, xs_tx_t tx, const char *path, const char *val)
{
	return xs_write(xs, tx, path, val, strlen(val));
}

/* Writes a formatted value. */
int
dom_xs_printf(struct xs *xs, xs_tx_t tx, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (v == NULL)
		return -1;
	rc = dom_xs_write(xs, tx, path, v);
	free(v);
	return rc;
}

/* Xen's two-entry permission lists: owner (everything), reader (read). */
int
dom_xs_perms(struct xs *xs, xs_tx_t tx, const char *path, hv_domid_t owner, hv_domid_t reader)
{
	struct xs_perm p[2] = {
		{ owner, XS_PERM_NONE },
		{ reader, XS_PERM_READ },
	};

	return xs_set_perms(xs, tx, path, p, owner == reader ? 1 : 2);
}

/* Writes val, then sets the perms. */
int
dom_xs_write_perm(struct xs *xs, xs_tx_t tx, const char *path, const char *val,
    hv_domid_t owner, hv_domid_t reader)
{
	if (dom_xs_write(xs, tx, path, val) < 0)
		return -1;
	return dom_xs_perms(xs, tx, path, owner, reader);
}

/* A node's value as a C string, or NULL. */
char *
dom_xs_read(struct xs *xs, const char *path)
{
	return xs_read(xs, XS_TX_NONE, path, NULL);
}

/* Monotonic clock in milliseconds, for timeouts. */
long long
dom_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
