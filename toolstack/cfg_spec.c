/*
 * What the disk and vif spec parsers have in common: both report a bad spec
 * with one message in the caller's buffer, set each field at most once and
 * split on commas with blanks around the tokens ignored.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

#include "cfg_spec.h"
#include "xmalloc.h"

/* Both parsers return -1 with a message: one place formats it. */
int
cfg_spec_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* A key given twice is an error in both spec forms. */
int
cfg_spec_once(char **field, const char *key, const char *val, char *why, size_t len)
{
	if (*field)
		return cfg_spec_fail(why, len, "%s given more than once", key);
	*field = xstrdup(val);
	return 0;
}

/* Tokens are compared without the blanks around them. */
char *
cfg_spec_trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}
