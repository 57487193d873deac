/* The frontend tests' device directories, waits and shell commands (gt_dev.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gt_dev.h"
#include "shell.h"

/* Both paths as the toolstack names them. */
void
gt_dev_init(struct gt_dev *d, struct gt *t, const char *kind, const char *devid)
{
	memset(d, 0, sizeof(*d));
	d->d_t = t;
	snprintf(d->d_fe, sizeof(d->d_fe), "/local/domain/%u/device/%s/%s", t->domid, kind, devid);
	snprintf(d->d_be, sizeof(d->d_be), "/local/domain/0/backend/%s/%u/%s", kind, t->domid,
	    devid);
}

/* A buffer per side, so one call of each fits in one expression. */
const char *
gt_dev_fe(struct gt_dev *d, const char *key)
{
	snprintf(d->d_fe_key, sizeof(d->d_fe_key), "%s/%s", d->d_fe, key);
	return d->d_fe_key;
}

/* The backend side of gt_dev_fe. */
const char *
gt_dev_be(struct gt_dev *d, const char *key)
{
	snprintf(d->d_be_key, sizeof(d->d_be_key), "%s/%s", d->d_be, key);
	return d->d_be_key;
}

/* The backend's limits and features are numbers. */
void
gt_dev_be_num(struct gt_dev *d, const char *key, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	gt_store_set(d->d_t->store, gt_dev_be(d, key), buf);
}

/* The test plays the backend: it waits for the frontend's steps while serving the store. */
void
gt_wait_node(struct gt *t, const char *path, const char *value)
{
	for (int i = 0; i < 500; i++) {
		const char *v = gt_store_get(t->store, path);
		if (v != NULL && strcmp(v, value) == 0)
			return;
		gt_serve(t, 20);
	}
	cr_assert_fail("%s never became %s (is %s); output:\n%s", path, value,
	    gt_store_get(t->store, path) ? gt_store_get(t->store, path) : "absent", t->out);
}

/* A command's output is what the console printed after its echo, up to the prompt. */
const char *
gt_run(struct gt *t, const char *line, int ms)
{
	size_t from = t->outlen;

	gt_type(t, line);
	gt_type(t, "\r");
	cr_assert(gt_wait_output(t, SHELL_PROMPT, from + strlen(line), ms),
	    "no prompt after %s; output:\n%s", line, t->out + from);
	return t->out + from;
}

/* Shows the whole output when a line is missing. */
void
gt_expect_in(const char *out, const char *needle)
{
	cr_assert_not_null(strstr(out, needle), "no \"%s\" in:\n%s", needle, out);
}
