/*
 * xl vcpu-list and xl vcpu-pin. A domain's vCPUs are the threads of one
 * process group here, not separately scheduled entities, so they share one
 * hard affinity (pinning one vCPU pins the domain, and says so), its CPU
 * time is reported on vCPU 0, and the CPU column is where its kernel
 * program last ran. Soft affinity does not exist: it prints as "all".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpumap.h"
#include "dom.h"
#include "log.h"
#include "xl.h"
#include "xmalloc.h"

/* The CPU a process last ran on (/proc/PID/stat field 39), or -1. */
static int
xl_vcpu_where(pid_t pid)
{
	char path[64], buf[1024], *p;
	int cpu = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL) {
		/* fields from 3 on follow the command name, which may hold spaces */
		int field = 2;
		for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " "))
			if (++field == 39) {
				cpu = atoi(t);
				break;
			}
	}
	fclose(f);
	return cpu;
}

/* The rows of one domain. */
static void
xl_vcpu_rows(struct xl_ctx *ctx, const struct hv_dominfo *i, unsigned nr_cpus)
{
	struct hv_cpumap map;
	char hard[256], *name = dom_find_name(ctx->xc_xs, i->domid);
	int cpu = xl_vcpu_where(i->pid);
	unsigned n = i->vcpus ? i->vcpus : 1;

	if (i->domid == 0 || hv_vcpu_getaffinity(ctx->xc_hv, i->domid, &map) < 0)
		memset(map.bits, 0xff, sizeof(map.bits));
	cpumap_format(&map, nr_cpus, hard, sizeof(hard));
	for (unsigned v = 0; v < n; v++) {
		printf("%-32s %5u %5u", name ? name : i->domid == 0 ? DOM_DOM0_NAME : "(null)",
		    i->domid, v);
		if (cpu >= 0)
			printf(" %5d", cpu);
		else
			printf(" %5s", "-");
		printf(" %c%c%c  %9.1f  %s / all\n", i->flags & HV_DOMINF_RUNNING ? 'r' : '-',
		    i->flags & HV_DOMINF_BLOCKED ? 'b' : '-', i->flags & HV_DOMINF_PAUSED ? 'p' : '-',
		    v == 0 ? (double)i->cpu_ns / 1e9 : 0.0, hard);
	}
	free(name);
}

/* xl vcpu-list [Domain...]. */
static int
xl_vcpu_list_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	struct hv_physinfo pi;
	struct hv_dominfo *all = NULL, one;
	unsigned n = 0;

	if (hv_physinfo(ctx->xc_hv, &pi) < 0) {
		log_warn("cannot read the host's CPUs from hvd");
		return 1;
	}
	printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
	    "Affinity (Hard / Soft)");
	if (a->xa_argc == 0) {
		if ((all = dom_find_all(ctx->xc_hv, &n)) == NULL) {
			log_warn("cannot list domains");
			return 1;
		}
		for (unsigned i = 0; i < n; i++)
			xl_vcpu_rows(ctx, &all[i], pi.nr_cpus);
		free(all);
		return 0;
	}
	for (int i = 0; i < a->xa_argc; i++) {
		hv_domid_t domid;
		if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[i], &domid) < 0 ||
		    hv_domain_getinfo(ctx->xc_hv, domid, &one) < 0)
			return 1;
		xl_vcpu_rows(ctx, &one, pi.nr_cpus);
	}
	return 0;
}

const struct xl_cmd xl_cmd_vcpu_list = {
	.xc_name = "vcpu-list",
	.xc_usage = "[Domain...]",
	.xc_summary = "List the VCPUs for all/some domains",
	.xc_opts = "",
	.xc_min_args = 0,
	.xc_max_args = -1,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_vcpu_list_exec,
};

/* xl vcpu-pin Domain VCPU|all CPUs [SOFT]. */
static int
xl_vcpu_pin_exec(struct xl_ctx *ctx, struct xl_args *a)
{
	const char *vcpu = a->xa_argv[1], *cpus = a->xa_argv[2];
	struct hv_cpumap map = { 0 };
	struct hv_dominfo info;
	hv_domid_t domid;
	char why[192], *end;

	if (dom_find(ctx->xc_xs, ctx->xc_hv, a->xa_argv[0], &domid) < 0 ||
	    hv_domain_getinfo(ctx->xc_hv, domid, &info) < 0)
		return 1;
	if (domid == 0) {
		log_warnx("Domain-0's vCPUs are the host's own CPUs: there is nothing to pin");
		return 1;
	}
	if (strcmp(vcpu, "all") != 0) {
		unsigned long v = strtoul(vcpu, &end, 10);
		if (*vcpu == '\0' || *end || v >= (info.vcpus ? info.vcpus : 1)) {
			log_warnx("vcpu-pin: \"%s\" is not a vCPU of domain %u (0 to %u, or all)",
			    vcpu, domid, (info.vcpus ? info.vcpus : 1) - 1);
			return 1;
		}
		if (info.vcpus > 1)
			log_info("domain %u's vCPUs share one process group: all %u are pinned",
			    domid, info.vcpus);
	}
	if (a->xa_argc > 3 && strcmp(a->xa_argv[3], "-") != 0 && strcmp(a->xa_argv[3], "all") != 0)
		log_warnx("vcpu-pin: soft affinity \"%s\" ignored: not supported", a->xa_argv[3]);
	if (strcmp(cpus, "-") == 0)
		return 0;	/* soft only: nothing else to change */
	if (cpumap_parse(cpus, &map, why, sizeof(why)) < 0) {
		log_warnx("vcpu-pin: %s", why);
		return 1;
	}
	if (cpumap_empty(&map)) {
		log_warnx("vcpu-pin: \"%s\" names no CPU", cpus);
		return 1;
	}
	if (hv_vcpu_setaffinity(ctx->xc_hv, domid, strcmp(cpus, "all") == 0 ? NULL : &map) < 0) {
		log_warn("vcpu-pin: cannot pin domain %u to CPUs %s", domid, cpus);
		return 1;
	}
	return 0;
}

const struct xl_cmd xl_cmd_vcpu_pin = {
	.xc_name = "vcpu-pin",
	.xc_usage = "<Domain> <VCPU|all> <CPUs|all|-> [<CPUs soft>]",
	.xc_summary = "Set which CPUs a VCPU can use",
	.xc_help = "A domain's vCPUs share one process group: pinning one pins them all.\n"
	    "Backend workers started afterwards follow the domain's CPUs.\n",
	.xc_opts = "f",
	.xc_min_args = 3,
	.xc_max_args = 4,
	.xc_flags = XL_NEED_HV | XL_NEED_XS,
	.xc_exec = xl_vcpu_pin_exec,
};
