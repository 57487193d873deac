/* Diagnostics of the config parser: held, then printed in file and line order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "xmalloc.h"

/* Shared body of cfg_error and cfg_warn: formats and holds the message. */
static void
cfg_diag_report(struct cfg_diag *d, const char *kind, const char *file, int line,
    const char *fmt, va_list ap)
{
	struct cfg_diag_msg *m;
	char *body, *text;

	if (d->cd_out == NULL)
		return;
	if (vasprintf(&body, fmt, ap) < 0)
		return;
	if (line > 0)
		xasprintf(&text, "%s:%d: %s%s", file, line, kind, body);
	else
		xasprintf(&text, "%s: %s%s", file, kind, body);
	free(body);
	d->cd_msgs = xreallocarray(d->cd_msgs, d->cd_nmsgs + 1, sizeof(*d->cd_msgs));
	m = &d->cd_msgs[d->cd_nmsgs];
	m->cdm_file = xstrdup(file);
	m->cdm_fileidx = d->cd_nmsgs;
	for (size_t i = 0; i < d->cd_nmsgs; i++)
		if (strcmp(d->cd_msgs[i].cdm_file, file) == 0) {
			m->cdm_fileidx = d->cd_msgs[i].cdm_fileidx;
			break;
		}
	m->cdm_line = line > 0 ? line : 0x7fffffff;
	m->cdm_seq = d->cd_nmsgs++;
	m->cdm_text = text;
}

/* Orders messages by file (first seen first), line, then arrival. */
static int
cfg_diag_cmp(const void *a, const void *b)
{
	const struct cfg_diag_msg *x = a, *y = b;

	if (x->cdm_fileidx != y->cdm_fileidx)
		return x->cdm_fileidx < y->cdm_fileidx ? -1 : 1;
	if (x->cdm_line != y->cdm_line)
		return x->cdm_line < y->cdm_line ? -1 : 1;
	return x->cdm_seq < y->cdm_seq ? -1 : (x->cdm_seq > y->cdm_seq);
}

/* Prints and drops the held messages. */
void
cfg_diag_flush(struct cfg_diag *d)
{
	if (d->cd_nmsgs > 1)
		qsort(d->cd_msgs, d->cd_nmsgs, sizeof(*d->cd_msgs), cfg_diag_cmp);
	for (size_t i = 0; i < d->cd_nmsgs; i++) {
		if (d->cd_out)
			fprintf(d->cd_out, "%s\n", d->cd_msgs[i].cdm_text);
		free(d->cd_msgs[i].cdm_text);
		free(d->cd_msgs[i].cdm_file);
	}
	free(d->cd_msgs);
	d->cd_msgs = NULL;
	d->cd_nmsgs = 0;
	if (d->cd_out)
		fflush(d->cd_out);
}

/* Reports an error at file:line and counts it. */
void
cfg_diag_error(struct cfg_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	d->cd_errors++;
	va_start(ap, fmt);
	cfg_diag_report(d, "", file, line, fmt, ap);
	va_end(ap);
}

/* Reports a warning at file:line and counts it. */
void
cfg_diag_warn(struct cfg_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	d->cd_warnings++;
	va_start(ap, fmt);
	cfg_diag_report(d, "warning: ", file, line, fmt, ap);
	va_end(ap);
}

