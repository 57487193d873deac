/* xl domid, domname and rename: names live in /local/domain/N/name. */
#include <stdlib.h>
#include <string.h>

#include "dom.h"
#include "log.h"
#include "xl.h"
#include "xmalloc.h"

/* xl domid NAME. */
static int
xl_domid_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	hv_domid_t domid;

	if (strcmp(a->xa_argv[0], DOM_DOM0_NAME) == 0) {
		printf("0\n");
		return 0;
	}
	if (dom_find_by_name(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0) {
		log_warnx("domain '%s' does not exist", a->xa_argv[0]);
		return 1;
	}
	printf("%u\n", domid);
	return 0;
}

const struct xl_cmd xl_cmd_domid = {
	.xc_name = "domid",
	.xc_usage = "<DomainName>",
	.xc_summary = "Convert a domain name to domain id",
	.xc_opts = "",
	.xc_min_args = 1,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_domid_exec,
};

/* xl domname ID. */
static int
xl_domname_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	char *end, *name;
	unsigned long id = strtoul(a->xa_argv[0], &end, 10);
	struct hv_dominfo info;

	if (*end || !*a->xa_argv[0] || id > 0x7fef) {
		log_warnx("invalid domain id '%s'", a->xa_argv[0]);
		return 1;
	}
	if (hv_domain_getinfo(ctx->xc_hv, (hv_domid_t)id, &info) < 0 ||
	    (name = dom_find_name(ctx->xc_xs, (hv_domid_t)id)) == NULL) {
		log_warnx("domain %lu does not exist", id);
		return 1;
	}
	printf("%s\n", name);
	free(name);
	return 0;
}

const struct xl_cmd xl_cmd_domname = {
	.xc_name = "domname",
	.xc_usage = "<DomainId>",
	.xc_summary = "Convert a domain id to domain name",
	.xc_opts = "",
	.xc_min_args = 1,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_domname_exec,
};

/* Renames in xenstore (/local/domain/N/name and /vm/UUID/name) and in the stored config. */
static int
xl_rename_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	const char *new = a->xa_argv[1];
	hv_domid_t domid, other;
	char path[64], *vm, *p, *old;

	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		return 1;
	if (domid == 0 || !*new || strchr(new, '/') || strspn(new, "0123456789") == strlen(new)) {
		log_warnx("cannot rename domain %u to '%s'", domid, new);
		return 1;
	}
	if (dom_find_by_name(ctx->xc_xs, ctx->xc_hv, new, &other) == 0 && other != domid) {
		log_warnx("domain with name '%s' already exists (domid %u)", new, other);
		return 1;
	}
	old = dom_find_name(ctx->xc_xs, domid);
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (dom_xs_write(ctx->xc_xs, XS_TX_NONE, path, new) < 0) {
		log_warn("cannot rename domain %u: %s", domid, path);
		free(old);
		return 1;
	}
	if (old != NULL)
		dom_find_index_drop(ctx->xc_xs, old, domid);
	free(old);
	dom_find_index_set(ctx->xc_xs, new, domid);
	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	if ((vm = dom_xs_read(ctx->xc_xs, path)) != NULL) {
		xasprintf(&p, "%s/name", vm);
		dom_xs_write(ctx->xc_xs, XS_TX_NONE, p, new);
		free(p);
		free(vm);
	}
	dom_store_set(domid, "name", new);
	return 0;
}

const struct xl_cmd xl_cmd_rename = {
	.xc_name = "rename",
	.xc_usage = "<Domain> <NewDomainName>",
	.xc_summary = "Rename a domain",
	.xc_opts = "",
	.xc_min_args = 2,
	.xc_max_args = 2,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_rename_exec,
};
