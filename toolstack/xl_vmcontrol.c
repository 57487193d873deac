/* xl pause, unpause and destroy. */
#include "dom.h"
#include "log.h"
#include "xl.h"

/* xl pause Domain. */
static int
xl_pause_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	hv_domid_t domid;

	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		return 1;
	if (hv_domain_pause(ctx->xc_hv, domid) < 0) {
		log_warn("cannot pause domain %u", domid);
		return 1;
	}
	return 0;
}

const struct xl_cmd xl_cmd_pause = {
	.xc_name = "pause",
	.xc_usage = "<Domain>",
	.xc_summary = "Pause execution of a domain",
	.xc_opts = "",
	.xc_min_args = 1,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_pause_exec,
};

/* xl unpause Domain. */
static int
xl_unpause_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	hv_domid_t domid;

	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		return 1;
	if (hv_domain_unpause(ctx->xc_hv, domid) < 0) {
		log_warn("cannot unpause domain %u", domid);
		return 1;
	}
	return 0;
}

const struct xl_cmd xl_cmd_unpause = {
	.xc_name = "unpause",
	.xc_usage = "<Domain>",
	.xc_summary = "Unpause a paused domain",
	.xc_opts = "",
	.xc_min_args = 1,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_unpause_exec,
};

/* xl destroy Domain (never dom0). */
static int
xl_destroy_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	hv_domid_t domid;

	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		return 1;
	if (domid == 0) {
		log_warnx("Not destroying domain 0; use -f to force.");
		return 1;
	}
	return dom_destroy(ctx->xc_hv, ctx->xc_xs, domid) < 0;
}

const struct xl_cmd xl_cmd_destroy = {
	.xc_name = "destroy",
	.xc_usage = "[-f] <Domain>",
	.xc_summary = "Terminate a domain immediately",
	.xc_help = "-f                      Permit destroying domain 0 (which pvstack never does).\n",
	.xc_opts = "f",
	.xc_min_args = 1,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_destroy_exec,
};
