/* xl console: exec pvconsole on the domain's console; Ctrl+] detaches. */
#include <string.h>

#include "dom.h"
#include "log.h"
#include "xl.h"

/* xl console: hands the terminal to pvconsole. */
static int
xl_console_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	const char *type = a->xa_value['t'] ? a->xa_value['t'] : "pv";
	hv_domid_t domid;

	if (strcmp(type, "pv") != 0 && strcmp(type, "serial") != 0) {
		log_warnx("console type must be pv or serial, not '%s'", type);
		return 2;
	}
	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0)
		return 1;
	if (domid == 0) {
		log_warnx("Can't specify Domain-0");
		return 1;
	}
	xs_close(ctx->xc_xs);
	hv_close(ctx->xc_hv);
	ctx->xc_xs = NULL;
	ctx->xc_hv = NULL;
	dom_console_exec(domid, type);
	return 1;
}

const struct xl_cmd xl_cmd_console = {
	.xc_name = "console",
	.xc_usage = "[options] <Domain>",
	.xc_summary = "Attach to domain's console (Ctrl+] detaches)",
	.xc_help = "-t <type>       console type, pv or serial\n",
	.xc_opts = "t:n:",
	.xc_min_args = 1,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_console_exec,
};
