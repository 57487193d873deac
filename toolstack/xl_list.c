/* xl list: the table Xen prints, or (-l) the JSON xendomains reads. */
#include <stdlib.h>
#include <string.h>

#include "dom.h"
#include "dom_ops.h"
#include "log.h"
#include "xl.h"
#include "xl_list.h"
#include "xmalloc.h"

/* The six state letters: r b p s, shutdown reason, d. */
void
xl_list_state(const struct hv_dominfo *i, char out[7])
{
	static const char reasons[] = "-rscwS";

	out[0] = i->flags & HV_DOMINF_RUNNING ? 'r' : '-';
	out[1] = i->flags & HV_DOMINF_BLOCKED ? 'b' : '-';
	out[2] = i->flags & HV_DOMINF_PAUSED ? 'p' : '-';
	out[3] = i->flags & HV_DOMINF_SHUTDOWN ? 's' : '-';
	out[4] = i->flags & HV_DOMINF_SHUTDOWN ?
	    (i->shutdown_reason < sizeof(reasons) - 1 ? reasons[i->shutdown_reason] : '?') :
	    (i->flags & HV_DOMINF_CRASHED ? 'c' : '-');
	out[5] = i->flags & HV_DOMINF_DYING ? 'd' : '-';
	out[6] = '\0';
}

/* One row, formatted as xl_info.c's list_domains does. */
static void
xl_list_row(const char *name, const struct hv_dominfo *i, int verbose)
{
	char state[7], uuid[37];

	xl_list_state(i, state);
	printf("%-40s %5u %5lu %5u     %s  %8.1f", name ? name : "(null)", i->domid,
	    (unsigned long)(i->mem_kib / 1024), i->vcpus, state, (double)i->cpu_ns / 1e9);
	if (verbose) {
		dom_uuid_format(i->uuid, uuid);
		printf(" %s", uuid);
		if (i->flags & HV_DOMINF_SHUTDOWN)
			printf(" %8x", i->shutdown_reason);
		else
			printf(" %8s", "-");
		printf("     -");
	}
	putchar('\n');
}

/* Every row, the names read from xenstore in one round trip. */
static void
xl_list_rows(const struct hv_dominfo *info, unsigned n, int verbose)
{
	char **paths = xcalloc(n + 1, sizeof(*paths)), **names;

	for (unsigned i = 0; i < n; i++)
		xasprintf(&paths[i], "/local/domain/%u/name", info[i].domid);
	names = dom_ops_read_all((const char *const *)paths, n);
	for (unsigned i = 0; i < n; i++) {
		const char *name = names && names[i] ? names[i] :
		    info[i].domid == 0 ? DOM_DOM0_NAME : NULL;
		xl_list_row(name, &info[i], verbose);
		if (names)
			free(names[i]);
		free(paths[i]);
	}
	free(names);
	free(paths);
}

/* The domains named on the command line, or every domain. */
static struct hv_dominfo *
xl_list_select(struct xl_ctx *ctx, struct xl_args *a, unsigned *n)
{
	struct hv_dominfo *all;

	if (a->xa_argc == 0)
		return dom_find_all(ctx->xc_hv, n);
	all = xcalloc(a->xa_argc, sizeof(*all));
	for (int i = 0; i < a->xa_argc; i++) {
		hv_domid_t domid;
		if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[i], &domid) < 0 ||
		    hv_domain_getinfo(ctx->xc_hv, domid, &all[i]) < 0) {
			free(all);
			return NULL;
		}
	}
	*n = a->xa_argc;
	return all;
}

/* xl list: the table, or -l JSON. */
static int
xl_list_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	struct hv_dominfo *info;
	unsigned n;
	int rc = 0;

	if ((info = xl_list_select(ctx, a, &n)) == NULL) {
		if (a->xa_argc == 0)
			log_warn("cannot list domains");
		return 1;
	}
	if (xl_has(a, 'l')) {
		rc = xl_list_json(ctx, info, n);
	} else {
		printf("Name                                        ID   Mem VCPUs\tState\tTime(s)%s\n",
		    xl_has(a, 'v') ? "   UUID                            Reason-Code\tSecurity Label" :
		    "");
		xl_list_rows(info, n, xl_has(a, 'v'));
	}
	free(info);
	return rc;
}

const struct xl_cmd xl_cmd_list = {
	.xc_name = "list",
	.xc_usage = "[options] [Domain...]",
	.xc_summary = "List information about all/some domains",
	.xc_help = "-l, --long              Output all domain details in JSON\n"
	    "-v, --verbose           Prints out UUIDs and the shutdown reason\n",
	.xc_opts = "lv",
	.xc_min_args = 0,
	.xc_max_args = -1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_list_exec,
};
