/* xl info, xl dmesg and xl uptime: what the host and its domains report. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "dom.h"
#include "log.h"
#include "xl.h"
#include "xmalloc.h"

/* One "key : value" line unless only another key was asked for. */
static void
xl_info_line(const char *want, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
xl_info_line(const char *want, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (want && strncmp(key, want, strlen(want)) != 0)
		return;
	if (!want)
		printf("%-23s: ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* xl info [key]: host facts from hvd and uname, in xl's order. */
static int
xl_info_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	const char *want = a->xa_argc ? a->xa_argv[0] : NULL;
	struct hv_physinfo pi;
	struct utsname u;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (hv_physinfo(ctx->xc_hv, &pi) < 0) {
		log_warn("cannot read the host's information from hvd");
		return 1;
	}
	uname(&u);
	pi.version[sizeof(pi.version) - 1] = '\0';
	xl_info_line(want, "host", "%s", u.nodename);
	xl_info_line(want, "release", "%s", u.release);
	xl_info_line(want, "version", "%s", u.version);
	xl_info_line(want, "machine", "%s", u.machine);
	xl_info_line(want, "nr_cpus", "%u", pi.nr_cpus);
	xl_info_line(want, "max_cpu_id", "%ld", cpus - 1);
	xl_info_line(want, "nr_nodes", "1");
	xl_info_line(want, "cores_per_socket", "%u", pi.nr_cpus);
	xl_info_line(want, "threads_per_core", "1");
	xl_info_line(want, "cpu_mhz", "0");
	xl_info_line(want, "hw_caps", "-");
	xl_info_line(want, "virt_caps", "pv");
	xl_info_line(want, "total_memory", "%lu", (unsigned long)(pi.total_kib / 1024));
	xl_info_line(want, "free_memory", "%lu", (unsigned long)(pi.free_kib / 1024));
	xl_info_line(want, "sharing_freed_memory", "0");
	xl_info_line(want, "sharing_used_memory", "0");
	xl_info_line(want, "outstanding_claims", "0");
	xl_info_line(want, "free_cpus", "0");
	xl_info_line(want, "nr_domains", "%u", pi.nr_domains);
	xl_info_line(want, "xen_major", "4");
	xl_info_line(want, "xen_minor", "17");
	xl_info_line(want, "xen_extra", "-pvstack");
	xl_info_line(want, "xen_version", "4.17-pvstack (%s)", pi.version);
	xl_info_line(want, "xen_caps", "xen-3.0-%s", u.machine);
	xl_info_line(want, "xen_scheduler", "host");
	xl_info_line(want, "xen_pagesize", "4096");
	xl_info_line(want, "platform_params", "virt_start=0x0");
	xl_info_line(want, "xen_changeset", "-");
	xl_info_line(want, "xen_commandline", "-");
	xl_info_line(want, "cc_compiler", "%s", __VERSION__);
	xl_info_line(want, "cc_compile_by", "-");
	xl_info_line(want, "cc_compile_domain", "-");
	xl_info_line(want, "cc_compile_date", "%s", __DATE__);
	xl_info_line(want, "build_id", "-");
	xl_info_line(want, "xend_config_format", "4");
	return 0;
}

const struct xl_cmd xl_cmd_info = {
	.xc_name = "info",
	.xc_usage = "[key]",
	.xc_summary = "Get information about the host (only one key's value when a key is named)",
	.xc_opts = "",
	.xc_min_args = 0,
	.xc_max_args = 1,
	.xc_flags = XL_NEED_HV,
	.xc_exec = xl_info_exec,
};

/* xl dmesg [-c]: hvd's console ring. */
static int
xl_dmesg_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	char *text = hv_console_read(ctx->xc_hv, xl_has(a, 'c'));

	if (text == NULL) {
		log_warn("cannot read the hypervisor console");
		return 1;
	}
	fputs(text, stdout);
	if (*text && text[strlen(text) - 1] != '\n')
		putchar('\n');
	free(text);
	return 0;
}

const struct xl_cmd xl_cmd_dmesg = {
	.xc_name = "dmesg",
	.xc_usage = "[-c]",
	.xc_summary = "Read and/or clear the hypervisor's message buffer",
	.xc_help = "-c                        Clear the buffer after reading\n",
	.xc_opts = "c",
	.xc_min_args = 0,
	.xc_max_args = 0,
	.xc_flags = XL_NEED_HV,
	.xc_exec = xl_dmesg_exec,
};

/* Seconds a domain has been up: dom0 from /proc/uptime, others from /vm/<uuid>/start_time. */
static long
xl_uptime_of(struct xs *xs, hv_domid_t domid)
{
	char path[64], *vm, *st = NULL;
	double t = -1;

	if (domid == 0) {
		FILE *f = fopen("/proc/uptime", "re");
		if (f && fscanf(f, "%lf", &t) != 1)
			t = -1;
		if (f)
			fclose(f);
		return (long)t;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	if ((vm = dom_xs_read(xs, path)) != NULL) {
		char *p;
		xasprintf(&p, "%s/start_time", vm);
		st = dom_xs_read(xs, p);
		free(p);
	}
	if (st) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		t = now.tv_sec + now.tv_nsec / 1e9 - strtod(st, NULL);
		if (t < 0)
			t = 0;
	}
	free(vm);
	free(st);
	return t < 0 ? -1 : (long)t;
}

/* "N days, H:MM:SS" or "H:MM:SS", as xl prints uptimes. */
static void
xl_uptime_format(long t, char *buf, size_t len)
{
	long days = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, s = t % 60;

	if (t < 0)
		snprintf(buf, len, "-");
	else if (days)
		snprintf(buf, len, "%ld day%s, %2ld:%02ld:%02ld", days, days == 1 ? "" : "s", h, m, s);
	else
		snprintf(buf, len, "%2ld:%02ld:%02ld", h, m, s);
}

/* One domain's line, long or short (-s) form. */
static void
xl_uptime_print(struct xl_ctx *ctx, hv_domid_t domid, int brief)
{
	char up[64], now[16];
	char *name = dom_find_name(ctx->xc_xs, domid);
	time_t t = time(NULL);
	struct tm tm;

	xl_uptime_format(xl_uptime_of(ctx->xc_xs, domid), up, sizeof(up));
	if (brief) {
		strftime(now, sizeof(now), "%H:%M:%S", localtime_r(&t, &tm));
		printf(" %s up %s, %s (%u)\n", now, up, name ? name : "-", domid);
	} else {
		printf("%-33s %4u %s\n", name ? name : "-", domid, up);
	}
	free(name);
}

/* xl uptime [-s] [Domain...]. */
static int
xl_uptime_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	struct hv_dominfo *all;
	unsigned n;
	int brief = xl_has(a, 's');

	if (!brief)
		printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
	if (a->xa_argc) {
		for (int i = 0; i < a->xa_argc; i++) {
			hv_domid_t domid;
			if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[i], &domid) < 0)
				return 1;
			xl_uptime_print(ctx, domid, brief);
		}
		return 0;
	}
	if ((all = dom_find_all(ctx->xc_hv, &n)) == NULL) {
		log_warn("cannot list domains");
		return 1;
	}
	for (unsigned i = 0; i < n; i++)
		xl_uptime_print(ctx, all[i].domid, brief);
	free(all);
	return 0;
}

const struct xl_cmd xl_cmd_uptime = {
	.xc_name = "uptime",
	.xc_usage = "[-s] [Domain...]",
	.xc_summary = "Print uptime for all/some domains",
	.xc_help = "-s                        Uptime in short format\n",
	.xc_opts = "s",
	.xc_min_args = 0,
	.xc_max_args = -1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_uptime_exec,
};
