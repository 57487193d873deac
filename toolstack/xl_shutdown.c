/*
 * xl shutdown and xl reboot: write control/shutdown, wait for the guest to
 * take the request (it clears the node), and with -w wait for the shutdown
 * (-ww: for the death). $PVSTACK_XL_ACK_TIMEOUT overrides the 60 s ack wait.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "dom.h"
#include "log.h"
#include "xl.h"
#include "xmalloc.h"

/* The ack timeout in ms. */
static long long
xl_shutdown_ack_ms(void)
{
	const char *v = getenv("PVSTACK_XL_ACK_TIMEOUT");

	return v && *v ? (long long)(strtod(v, NULL) * 1000) : DOM_SHUTDOWN_ACK_MS;
}

/* Waits until path is empty or gone, or the domain is already down; 0 on ack. */
static int
xl_shutdown_wait_ack(struct xl_ctx *ctx, hv_domid_t domid, const char *path)
{
	long long start = dom_now_ms(), limit = xl_shutdown_ack_ms();
	struct hv_dominfo info;

	for (;;) {
		char *v = dom_xs_read(ctx->xc_xs, path);
		int taken = v == NULL || *v == '\0';
		free(v);
		if (taken)
			return 0;
		if (hv_domain_getinfo(ctx->xc_hv, domid, &info) < 0 ||
		    (info.flags & HV_DOMINF_SHUTDOWN))
			return 0;
		if (dom_now_ms() - start >= limit)
			return -1;
		poll(NULL, 0, 10);
	}
}

/* Waits until each domain has shut down (or died, when death). */
static void
xl_shutdown_wait_all(struct xl_ctx *ctx, const hv_domid_t *ids, int n, int death)
{
	int *done = xcalloc(n, sizeof(*done)), left = n;
	char **ev;

	xs_watch(ctx->xc_xs, "@releaseDomain", "xl-wait");
	printf("Waiting for %d domains\n", n);
	fflush(stdout);
	while (left) {
		for (int i = 0; i < n; i++) {
			struct hv_dominfo info;
			if (done[i])
				continue;
			if (hv_domain_getinfo(ctx->xc_hv, ids[i], &info) < 0) {
				printf("Domain %u has been destroyed\n", ids[i]);
				done[i] = 1;
			} else if (!death && (info.flags & HV_DOMINF_SHUTDOWN)) {
				printf("Domain %u has been shut down, reason code %u\n", ids[i],
				    info.shutdown_reason);
				done[i] = 1;
			}
			left -= done[i];
		}
		fflush(stdout);
		if (!left)
			break;
		struct pollfd pfd = { .fd = xs_fd(ctx->xc_xs), .events = POLLIN };
		poll(&pfd, 1, 200);
		while ((ev = xs_check_watch(ctx->xc_xs)) != NULL)
			free(ev);
	}
	xs_unwatch(ctx->xc_xs, "@releaseDomain", "xl-wait");
	free(done);
}

/* The domains to act on: the one named, or (-a) every domain but dom0. */
static hv_domid_t *
xl_shutdown_targets(struct xl_ctx *ctx, struct xl_args *a, int *n)
{
	hv_domid_t *ids;

	if (xl_has(a, 'a')) {
		unsigned count;
		struct hv_dominfo *all = dom_find_all(ctx->xc_hv, &count);
		if (all == NULL)
			return NULL;
		ids = xcalloc(count + 1, sizeof(*ids));
		*n = 0;
		for (unsigned i = 0; i < count; i++)
			if (all[i].domid != 0 && !(all[i].flags & HV_DOMINF_SHUTDOWN))
				ids[(*n)++] = all[i].domid;
		free(all);
		return ids;
	}
	if (a->xa_argc != 1) {
		log_warnx("name exactly one domain, or use -a");
		return NULL;
	}
	ids = xcalloc(1, sizeof(*ids));
	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &ids[0]) < 0) {
		free(ids);
		return NULL;
	}
	*n = 1;
	return ids;
}

/* Shared body: request, ack, optional wait. */
static int
xl_shutdown_common(struct xl_ctx *ctx, struct xl_args *a, const char *request,
    const char *verb)
{
	int n = 0, rc = 0;
	hv_domid_t *ids = xl_shutdown_targets(ctx, a, &n);
	char path[64];

	if (ids == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		if (ids[i] == 0) {
			log_warnx("cannot %s Domain-0 from here", request);
			rc = 1;
			continue;
		}
		printf("%s domain %u\n", verb, ids[i]);
		fflush(stdout);
		snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", ids[i]);
		if (dom_xs_write(ctx->xc_xs, XS_TX_NONE, path, request) < 0) {
			log_warn("domain %u: cannot write %s", ids[i], path);
			rc = 1;
		} else if (xl_shutdown_wait_ack(ctx, ids[i], path) < 0) {
			log_warnx("domain %u: guest didn't acknowledge control request within %g s",
			    ids[i], xl_shutdown_ack_ms() / 1000.0);
			rc = 1;
		}
	}
	if (rc == 0 && xl_has(a, 'w'))
		xl_shutdown_wait_all(ctx, ids, n, a->xa_count['w'] > 1);
	free(ids);
	return rc;
}

/* xl shutdown: control/shutdown = poweroff. */
static int
xl_shutdown_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	return xl_shutdown_common(ctx, a, "poweroff", "Shutting down");
}

/* xl reboot: control/shutdown = reboot. */
static int
xl_reboot_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	return xl_shutdown_common(ctx, a, "reboot", "Rebooting");
}

const struct xl_cmd xl_cmd_shutdown = {
	.xc_name = "shutdown",
	.xc_usage = "[options] <-a|Domain>",
	.xc_summary = "Issue a shutdown signal to a domain",
	.xc_help = "-a, --all               Shutdown all guest domains.\n"
	    "-w, --wait              Wait for guest(s) to shutdown (-ww: to be destroyed).\n"
	    "-F                      Accepted for compatibility (ACPI fallback is HVM only).\n",
	.xc_opts = "awF",
	.xc_min_args = 0,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_shutdown_exec,
};

const struct xl_cmd xl_cmd_reboot = {
	.xc_name = "reboot",
	.xc_usage = "[options] <-a|Domain>",
	.xc_summary = "Issue a reboot signal to a domain",
	.xc_help = "-a, --all               Reboot all guest domains.\n"
	    "-w, --wait              Wait for guest(s) to reboot.\n"
	    "-F                      Accepted for compatibility (ACPI fallback is HVM only).\n",
	.xc_opts = "awF",
	.xc_min_args = 0,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_reboot_exec,
};
