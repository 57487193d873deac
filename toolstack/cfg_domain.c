/*
 * From settings to a validated domain configuration: one table row per key,
 * each handler reads one setting and reports a bad value with file, line and
 * key. Settings are visited in file order so messages come out in line order.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_domain.h"
#include "xmalloc.h"

#define CFG_DOMAIN_MAX_MEM_MIB	(1u << 20)	/* 1 TiB */
#define CFG_DOMAIN_MAX_VCPUS	128
#define CFG_DOMAIN_MAX_DEVICES	64

/* What the cmdline handlers collect before the command line is assembled. */
struct cfg_domain_ctx {
	struct cfg_domain *dom;
	struct cfg_diag *diag;
	char *root, *extra, *cmdline;
	char *ip, *netmask, *gateway, *hostname, *dhcp, *nfs_server, *nfs_root;
	struct cfg_setting *memory, *maxmem;
};

struct cfg_key {
	const char *ck_name;
	int (*ck_apply)(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k);
	size_t ck_off;		/* field in cfg_domain_ctx or cfg_domain, by handler */
	const char *ck_note;	/* for keys accepted but ignored */
};

static const char *const cfg_action_names[] = {
	[CFG_ACT_DESTROY] = "destroy",
	[CFG_ACT_RESTART] = "restart",
	[CFG_ACT_RENAME_RESTART] = "rename-restart",
	[CFG_ACT_PRESERVE] = "preserve",
	[CFG_ACT_COREDUMP_DESTROY] = "coredump-destroy",
	[CFG_ACT_COREDUMP_RESTART] = "coredump-restart",
};

/* The name xl uses for an action. */
const char *
cfg_action_name(enum cfg_action a)
{
	return (unsigned)a < sizeof(cfg_action_names) / sizeof(cfg_action_names[0]) ?
	    cfg_action_names[a] : "?";
}

/* Parses an action name. */
int
cfg_action_parse(const char *name, enum cfg_action *a)
{
	for (size_t i = 0; i < sizeof(cfg_action_names) / sizeof(cfg_action_names[0]); i++)
		if (strcmp(name, cfg_action_names[i]) == 0) {
			*a = (enum cfg_action)i;
			return 0;
		}
	return -1;
}

/* Reports an error on a setting: "file:line: key: message". */
#define CFG_BAD(c, s, ...) \
	cfg_diag_error((c)->diag, (s)->cs_file, (s)->cs_line, __VA_ARGS__)

/* The setting as a single string, or an error naming the key. */
static const char *
cfg_domain_atom(struct cfg_domain_ctx *c, struct cfg_setting *s, const char *what)
{
	if (s->cs_value.cv_kind != CFG_ATOM) {
		CFG_BAD(c, s, "%s: expected %s, got a list", s->cs_key, what);
		return NULL;
	}
	return s->cs_value.cv_atom;
}

/* Parses an unsigned number (decimal or 0x hex) in [min, max]. */
static int
cfg_domain_number(struct cfg_domain_ctx *c, struct cfg_setting *s, uint64_t min, uint64_t max,
    uint64_t *out)
{
	const char *v = cfg_domain_atom(c, s, "a number");
	char *end;

	if (v == NULL)
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	if (!*v || *end || errno || v[0] == '-' || isspace((unsigned char)v[0])) {
		CFG_BAD(c, s, "%s: expected a number, got \"%s\"", s->cs_key, v);
		return -1;
	}
	if (n < min || n > max) {
		CFG_BAD(c, s, "%s: %llu is out of range (%" PRIu64 " to %" PRIu64 ")", s->cs_key,
		    n, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

/* A string key stored in the context (root, extra, ip, ...). */
static int
cfg_domain_key_ctx_string(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "a string");
	char **field = (char **)((char *)c + k->ck_off);

	if (v == NULL)
		return -1;
	free(*field);
	*field = xstrdup(v);
	return 0;
}

/* A string key stored in the domain (kernel, ramdisk). */
static int
cfg_domain_key_dom_string(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "a string");
	char **field = (char **)((char *)c->dom + k->ck_off);

	if (v == NULL)
		return -1;
	if (*v == '\0') {
		CFG_BAD(c, s, "%s: must not be empty", s->cs_key);
		return -1;
	}
	free(*field);
	*field = xstrdup(v);
	return 0;
}

/* name: printable, no '/', not all digits (it would read as a domid). */
static int
cfg_domain_key_name(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "a string");
	int digits = 1;

	(void)k;
	if (v == NULL)
		return -1;
	for (const char *p = v; *p; p++) {
		if (!isgraph((unsigned char)*p) || *p == '/' || *p == '\'' || *p == '"') {
			CFG_BAD(c, s, "name: \"%s\" has a character a domain name cannot hold "
			    "(letters, digits and punctuation other than / and quotes)", v);
			return -1;
		}
		digits &= isdigit((unsigned char)*p) != 0;
	}
	if (*v == '\0' || digits || strlen(v) > 64 || strcmp(v, "Domain-0") == 0) {
		CFG_BAD(c, s, "name: \"%s\" cannot name a guest (empty, all digits, "
		    "longer than 64 or Domain-0)", v);
		return -1;
	}
	free(c->dom->cd_name);
	c->dom->cd_name = xstrdup(v);
	return 0;
}

/* uuid: 32 hex digits with the usual dashes. */
static int
cfg_domain_key_uuid(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "a string");
	uint8_t u[16];
	int n = 0;

	(void)k;
	if (v == NULL)
		return -1;
	for (const char *p = v; *p && n < 32; p++) {
		if (*p == '-' && (n == 8 || n == 12 || n == 16 || n == 20))
			continue;
		if (!isxdigit((unsigned char)*p))
			break;
		int x = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
		u[n / 2] = (uint8_t)((n % 2) ? (u[n / 2] | x) : (x << 4));
		n++;
		if (n == 32 && p[1] == '\0') {
			memcpy(c->dom->cd_uuid, u, 16);
			c->dom->cd_has_uuid = 1;
			return 0;
		}
	}
	CFG_BAD(c, s, "uuid: expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, got \"%s\"", v);
	return -1;
}

/* memory / maxmem in MiB: checked together once both are known. */
static int
cfg_domain_key_memory(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	uint64_t v;

	if (cfg_domain_number(c, s, 1, CFG_DOMAIN_MAX_MEM_MIB, &v) < 0)
		return -1;
	*(uint64_t *)((char *)c->dom + k->ck_off) = v;
	if (k->ck_off == offsetof(struct cfg_domain, cd_memory_mib))
		c->memory = s;
	else
		c->maxmem = s;
	return 0;
}

/* vcpus / maxvcpus. */
static int
cfg_domain_key_vcpus(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	uint64_t v;

	if (cfg_domain_number(c, s, 1, CFG_DOMAIN_MAX_VCPUS, &v) < 0)
		return -1;
	*(unsigned *)((char *)c->dom + k->ck_off) = (unsigned)v;
	return 0;
}

/* One cpus= entry into the domain's map. */
static int
cfg_domain_cpus_one(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_value *v)
{
	char why[192];

	if (v->cv_kind != CFG_ATOM) {
		CFG_BAD(c, s, "%s: expected a CPU list or a list of them", s->cs_key);
		return -1;
	}
	if (cpumap_parse(v->cv_atom, &c->dom->cd_cpus, why, sizeof(why)) < 0) {
		CFG_BAD(c, s, "%s: %s", s->cs_key, why);
		return -1;
	}
	return 0;
}

/*
 * cpus = "0-3" or cpus = ["2", "3"] (one entry per vCPU). A domain's vCPUs
 * share one process group here, so the entries are joined into one set.
 */
static int
cfg_domain_key_cpus(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const struct cfg_value *v = &s->cs_value;

	(void)k;
	memset(&c->dom->cd_cpus, 0, sizeof(c->dom->cd_cpus));
	if (v->cv_kind == CFG_ATOM) {
		if (cfg_domain_cpus_one(c, s, v) < 0)
			return -1;
	} else
		for (size_t i = 0; i < v->cv_nitems; i++)
			if (cfg_domain_cpus_one(c, s, &v->cv_items[i]) < 0)
				return -1;
	if (cpumap_empty(&c->dom->cd_cpus)) {
		CFG_BAD(c, s, "%s: names no CPU", s->cs_key);
		return -1;
	}
	c->dom->cd_has_cpus = true;
	return 0;
}

/* on_poweroff, on_reboot, on_crash, on_watchdog. */
static int
cfg_domain_key_action(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "an action");
	enum cfg_action a;

	if (v == NULL)
		return -1;
	if (cfg_action_parse(v, &a) < 0) {
		CFG_BAD(c, s, "%s: unknown action \"%s\" (destroy, restart, rename-restart, "
		    "preserve, coredump-destroy, coredump-restart)", s->cs_key, v);
		return -1;
	}
	*(enum cfg_action *)((char *)c->dom + k->ck_off) = a;
	return 0;
}

/* type / builder: only PV guests exist here. */
static int
cfg_domain_key_type(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "a string");

	(void)k;
	if (v == NULL)
		return -1;
	if (strcmp(v, "pv") == 0 || strcmp(v, "generic") == 0 || strcmp(v, "linux") == 0)
		return 0;
	CFG_BAD(c, s, "%s: \"%s\" guests are not supported; pvstack runs PV guests only "
	    "(type = \"pv\")", s->cs_key, v);
	return -1;
}

/* restart_interval (pvstack): seconds a restarted domain must live to be restarted again. */
static int
cfg_domain_key_restart_interval(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "a number of seconds");
	char *end;

	(void)k;
	if (v == NULL)
		return -1;
	errno = 0;
	double d = strtod(v, &end);
	if (!*v || *end || errno || !(d >= 0 && d <= 86400)) {
		CFG_BAD(c, s, "%s: expected a number of seconds from 0 to 86400, got \"%s\"",
		    s->cs_key, v);
		return -1;
	}
	c->dom->cd_restart_interval = d;
	return 0;
}

/* missing_backend (pvstack): "warn" or "error". */
static int
cfg_domain_key_nobackend(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	const char *v = cfg_domain_atom(c, s, "a string");

	(void)k;
	if (v == NULL)
		return -1;
	if (strcmp(v, "warn") == 0)
		c->dom->cd_nobackend = CFG_NOBACKEND_WARN;
	else if (strcmp(v, "error") == 0)
		c->dom->cd_nobackend = CFG_NOBACKEND_ERROR;
	else {
		CFG_BAD(c, s, "%s: expected \"warn\" or \"error\", got \"%s\"", s->cs_key, v);
		return -1;
	}
	return 0;
}

/* The setting as a list of strings, or an error. */
static int
cfg_domain_list(struct cfg_domain_ctx *c, struct cfg_setting *s)
{
	if (s->cs_value.cv_kind != CFG_LIST) {
		CFG_BAD(c, s, "%s: expected a list such as [ '...', '...' ], got \"%s\"",
		    s->cs_key, s->cs_value.cv_atom);
		return -1;
	}
	if (s->cs_value.cv_nitems > CFG_DOMAIN_MAX_DEVICES) {
		CFG_BAD(c, s, "%s: more than %d devices", s->cs_key, CFG_DOMAIN_MAX_DEVICES);
		return -1;
	}
	return 0;
}

/* disk = [ spec, ... ]: every spec is checked, and vdevs must differ. */
static int
cfg_domain_key_disk(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	struct cfg_domain *dom = c->dom;
	char why[256];
	int rc = 0;

	(void)k;
	if (cfg_domain_list(c, s) < 0)
		return -1;
	for (size_t i = 0; i < s->cs_value.cv_nitems; i++) {
		const struct cfg_value *it = &s->cs_value.cv_items[i];
		struct cfg_disk disk;
		if (cfg_disk_parse(it->cv_atom, &disk, why, sizeof(why)) < 0) {
			cfg_diag_error(c->diag, s->cs_file, it->cv_line, "disk: '%s': %s", it->cv_atom, why);
			cfg_disk_free(&disk);
			rc = -1;
			continue;
		}
		for (size_t j = 0; j < dom->cd_ndisks; j++)
			if (dom->cd_disks[j].cd_devid == disk.cd_devid) {
				cfg_diag_error(c->diag, s->cs_file, it->cv_line,
				    "disk: '%s': virtual device %s is already used by '%s'",
				    it->cv_atom, disk.cd_vdev, dom->cd_disks[j].cd_spec);
				rc = -1;
			}
		disk.cd_line = it->cv_line;
		dom->cd_disks = xreallocarray(dom->cd_disks, dom->cd_ndisks + 1, sizeof(disk));
		dom->cd_disks[dom->cd_ndisks++] = disk;
	}
	return rc;
}

/* vif = [ spec, ... ]: devids are list positions unless given. */
static int
cfg_domain_key_vif(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	struct cfg_domain *dom = c->dom;
	char why[256];
	int rc = 0;

	(void)k;
	if (cfg_domain_list(c, s) < 0)
		return -1;
	for (size_t i = 0; i < s->cs_value.cv_nitems; i++) {
		const struct cfg_value *it = &s->cs_value.cv_items[i];
		struct cfg_nic nic;
		if (cfg_nic_parse(it->cv_atom, &nic, why, sizeof(why)) < 0) {
			cfg_diag_error(c->diag, s->cs_file, it->cv_line, "vif: '%s': %s", it->cv_atom, why);
			cfg_nic_free(&nic);
			rc = -1;
			continue;
		}
		if (nic.cn_devid < 0)
			nic.cn_devid = (int)i;
		for (size_t j = 0; j < dom->cd_nnics; j++)
			if (dom->cd_nics[j].cn_devid == nic.cn_devid) {
				cfg_diag_error(c->diag, s->cs_file, it->cv_line,
				    "vif: '%s': devid %d is already used", it->cv_atom, nic.cn_devid);
				rc = -1;
			}
		nic.cn_line = it->cv_line;
		dom->cd_nics = xreallocarray(dom->cd_nics, dom->cd_nnics + 1, sizeof(nic));
		dom->cd_nics[dom->cd_nnics++] = nic;
	}
	return rc;
}

/* Keys pvstack accepts but does not act on: a warning that says why. */
static int
cfg_domain_key_ignored(struct cfg_domain_ctx *c, struct cfg_setting *s, const struct cfg_key *k)
{
	cfg_diag_warn(c->diag, s->cs_file, s->cs_line, "%s: %s; ignored", s->cs_key, k->ck_note);
	return 0;
}

#define CTX(f) offsetof(struct cfg_domain_ctx, f)
#define DOM(f) offsetof(struct cfg_domain, f)

static const struct cfg_key cfg_keys[] = {
	{ "name", cfg_domain_key_name, 0, NULL },
	{ "uuid", cfg_domain_key_uuid, 0, NULL },
	{ "type", cfg_domain_key_type, 0, NULL },
	{ "builder", cfg_domain_key_type, 0, NULL },
	{ "memory", cfg_domain_key_memory, DOM(cd_memory_mib), NULL },
	{ "maxmem", cfg_domain_key_memory, DOM(cd_maxmem_mib), NULL },
	{ "vcpus", cfg_domain_key_vcpus, DOM(cd_vcpus), NULL },
	{ "maxvcpus", cfg_domain_key_vcpus, DOM(cd_maxvcpus), NULL },
	{ "kernel", cfg_domain_key_dom_string, DOM(cd_kernel), NULL },
	{ "ramdisk", cfg_domain_key_dom_string, DOM(cd_ramdisk), NULL },
	{ "cmdline", cfg_domain_key_ctx_string, CTX(cmdline), NULL },
	{ "root", cfg_domain_key_ctx_string, CTX(root), NULL },
	{ "extra", cfg_domain_key_ctx_string, CTX(extra), NULL },
	{ "ip", cfg_domain_key_ctx_string, CTX(ip), NULL },
	{ "netmask", cfg_domain_key_ctx_string, CTX(netmask), NULL },
	{ "gateway", cfg_domain_key_ctx_string, CTX(gateway), NULL },
	{ "hostname", cfg_domain_key_ctx_string, CTX(hostname), NULL },
	{ "dhcp", cfg_domain_key_ctx_string, CTX(dhcp), NULL },
	{ "nfs_server", cfg_domain_key_ctx_string, CTX(nfs_server), NULL },
	{ "nfs_root", cfg_domain_key_ctx_string, CTX(nfs_root), NULL },
	{ "on_poweroff", cfg_domain_key_action, DOM(cd_on_poweroff), NULL },
	{ "on_reboot", cfg_domain_key_action, DOM(cd_on_reboot), NULL },
	{ "on_crash", cfg_domain_key_action, DOM(cd_on_crash), NULL },
	{ "on_watchdog", cfg_domain_key_action, DOM(cd_on_watchdog), NULL },
	{ "disk", cfg_domain_key_disk, 0, NULL },
	{ "vif", cfg_domain_key_vif, 0, NULL },
	{ "restart_interval", cfg_domain_key_restart_interval, 0, NULL },
	{ "missing_backend", cfg_domain_key_nobackend, 0, NULL },
	{ "boot", cfg_domain_key_ignored, 0, "boot order is for HVM guests" },
	{ "bootloader", cfg_domain_key_ignored, 0, "pvstack starts the kernel named by 'kernel'" },
	{ "bootloader_args", cfg_domain_key_ignored, 0, "pvstack has no bootloader" },
	{ "nics", cfg_domain_key_ignored, 0, "the vif list says how many interfaces there are" },
	{ "cpus", cfg_domain_key_cpus, 0, NULL },
	{ "cpus_soft", cfg_domain_key_ignored, 0, "soft affinity is not supported (cpus= pins)" },
	{ "cpu", cfg_domain_key_ignored, 0, "vCPU pinning is not supported" },
	{ "pool", cfg_domain_key_ignored, 0, "cpupools are not supported" },
	{ "cpu_weight", cfg_domain_key_ignored, 0, "scheduler parameters are not supported" },
	{ "cpu_cap", cfg_domain_key_ignored, 0, "scheduler parameters are not supported" },
	{ "on_soft_reset", cfg_domain_key_ignored, 0, "soft reset is HVM only" },
	{ "localtime", cfg_domain_key_ignored, 0, "guests keep dom0's clock" },
	{ "vfb", cfg_domain_key_ignored, 0, "there is no framebuffer" },
	{ "vnc", cfg_domain_key_ignored, 0, "there is no framebuffer" },
	{ "sdl", cfg_domain_key_ignored, 0, "there is no framebuffer" },
	{ "pci", cfg_domain_key_ignored, 0, "PCI passthrough is not supported" },
};

/* The table row for key, or NULL. */
static const struct cfg_key *
cfg_domain_key(const char *key)
{
	for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (strcmp(cfg_keys[i].ck_name, key) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* Appends " word" to a growing command line. */
static void
cfg_domain_cat(char **line, const char *word)
{
	char *n;

	if (word == NULL || *word == '\0')
		return;
	xasprintf(&n, "%s%s%s", *line ? *line : "", *line && **line ? " " : "", word);
	free(*line);
	*line = n;
}

/* cmdline, or root= + extra + xm's ip= from the network keys. */
static void
cfg_domain_cmdline(struct cfg_domain_ctx *c, const char *file)
{
	struct cfg_domain *dom = c->dom;

	if (c->cmdline) {
		if (c->root || c->extra)
			cfg_diag_warn(c->diag, file, 0, "cmdline is set, so root and extra are ignored");
		dom->cd_cmdline = xstrdup(c->cmdline);
		return;
	}
	if (c->root) {
		char *r;
		xasprintf(&r, "root=%s", c->root);
		cfg_domain_cat(&dom->cd_cmdline, r);
		free(r);
	}
	if (c->ip || (c->dhcp && strcmp(c->dhcp, "off") != 0)) {
		char *ip;
		xasprintf(&ip, "ip=%s:%s:%s:%s:%s:eth0:%s", c->ip ? c->ip : "",
		    c->nfs_server ? c->nfs_server : "", c->gateway ? c->gateway : "",
		    c->netmask ? c->netmask : "", c->hostname ? c->hostname : "",
		    c->dhcp ? c->dhcp : "off");
		cfg_domain_cat(&dom->cd_cmdline, ip);
		free(ip);
	}
	if (c->nfs_root) {
		char *r;
		xasprintf(&r, "nfsroot=%s", c->nfs_root);
		cfg_domain_cat(&dom->cd_cmdline, r);
		free(r);
	}
	cfg_domain_cat(&dom->cd_cmdline, c->extra);
	if (dom->cd_cmdline == NULL)
		dom->cd_cmdline = xstrdup("");
}

/* Cross-key checks once every setting has been read. */
static void
cfg_domain_finish(struct cfg_domain_ctx *c, struct cfg *cfg, const char *file)
{
	struct cfg_domain *dom = c->dom;

	/* A key that is present but bad has had its message already. */
	if (dom->cd_name == NULL && cfg_get(cfg, "name") == NULL)
		cfg_diag_error(c->diag, file, 0, "name: missing (every domain needs a name)");
	if (dom->cd_kernel == NULL && cfg_get(cfg, "kernel") == NULL)
		cfg_diag_error(c->diag, file, 0, "kernel: missing (the guest program to run)");
	if (dom->cd_maxmem_mib == 0)
		dom->cd_maxmem_mib = dom->cd_memory_mib;
	else if (c->maxmem && dom->cd_maxmem_mib < dom->cd_memory_mib)
		cfg_diag_error(c->diag, c->maxmem->cs_file, c->maxmem->cs_line,
		    "maxmem: %" PRIu64 " is less than memory (%" PRIu64 ")",
		    dom->cd_maxmem_mib, dom->cd_memory_mib);
	if (dom->cd_maxvcpus == 0)
		dom->cd_maxvcpus = dom->cd_vcpus;
	else if (dom->cd_maxvcpus < dom->cd_vcpus)
		cfg_diag_error(c->diag, file, 0, "maxvcpus: %u is less than vcpus (%u)",
		    dom->cd_maxvcpus, dom->cd_vcpus);
	if (dom->cd_ramdisk)
		cfg_diag_warn(c->diag, file, 0, "ramdisk: pvstack guests take no ramdisk; ignored");
	cfg_domain_cmdline(c, file);
}

/* Whether setting i is replaced by a later setting of the same key. */
static int
cfg_domain_overridden(const struct cfg *cfg, size_t i)
{
	for (size_t j = i + 1; j < cfg->c_nsettings; j++)
		if (strcmp(cfg->c_settings[j].cs_key, cfg->c_settings[i].cs_key) == 0)
			return 1;
	return 0;
}

/* Validates every setting in force, in file order. */
int
cfg_domain_from(struct cfg *cfg, struct cfg_domain *dom, const char *file, struct cfg_diag *d)
{
	struct cfg_domain_ctx c = { .dom = dom, .diag = d };
	int before = d->cd_errors;

	memset(dom, 0, sizeof(*dom));
	dom->cd_file = xstrdup(file);
	dom->cd_memory_mib = 128;
	dom->cd_vcpus = 1;
	dom->cd_on_poweroff = CFG_ACT_DESTROY;
	dom->cd_on_reboot = CFG_ACT_RESTART;
	dom->cd_on_crash = CFG_ACT_DESTROY;
	dom->cd_on_watchdog = CFG_ACT_DESTROY;
	dom->cd_restart_interval = 10;
	for (size_t i = 0; i < cfg->c_nsettings; i++) {
		struct cfg_setting *s = &cfg->c_settings[i];
		const struct cfg_key *k;
		s->cs_used = 1;
		if (cfg_domain_overridden(cfg, i))
			continue;
		if ((k = cfg_domain_key(s->cs_key)) == NULL) {
			cfg_diag_warn(d, s->cs_file, s->cs_line, "%s: unknown key; ignored", s->cs_key);
			continue;
		}
		k->ck_apply(&c, s, k);
	}
	cfg_domain_finish(&c, cfg, file);
	free(c.root);
	free(c.extra);
	free(c.cmdline);
	free(c.ip);
	free(c.netmask);
	free(c.gateway);
	free(c.hostname);
	free(c.dhcp);
	free(c.nfs_server);
	free(c.nfs_root);
	return d->cd_errors - before;
}

/* Frees everything dom owns. */
void
cfg_domain_free(struct cfg_domain *dom)
{
	free(dom->cd_file);
	free(dom->cd_name);
	free(dom->cd_kernel);
	free(dom->cd_payload);
	free(dom->cd_ramdisk);
	free(dom->cd_cmdline);
	for (size_t i = 0; i < dom->cd_ndisks; i++)
		cfg_disk_free(&dom->cd_disks[i]);
	free(dom->cd_disks);
	for (size_t i = 0; i < dom->cd_nnics; i++)
		cfg_nic_free(&dom->cd_nics[i]);
	free(dom->cd_nics);
	memset(dom, 0, sizeof(*dom));
}

/* s, or "-" for NULL. */
static const char *
cfg_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* One line per field, in a fixed order: what the golden files compare. */
void
cfg_domain_dump(FILE *f, const struct cfg_domain *dom)
{
	fprintf(f, "name: %s\n", cfg_or(dom->cd_name, "-"));
	if (dom->cd_has_uuid) {
		const uint8_t *u = dom->cd_uuid;
		fprintf(f, "uuid: %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x%02x%02x%02x%02x\n", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		    u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	} else {
		fprintf(f, "uuid: (random)\n");
	}
	fprintf(f, "memory: %" PRIu64 "\nmaxmem: %" PRIu64 "\nvcpus: %u\nmaxvcpus: %u\n",
	    dom->cd_memory_mib, dom->cd_maxmem_mib, dom->cd_vcpus, dom->cd_maxvcpus);
	if (dom->cd_has_cpus) {
		char cpus[256];
		cpumap_format(&dom->cd_cpus, 0, cpus, sizeof(cpus));
		fprintf(f, "cpus: %s\n", cpus);
	}
	fprintf(f, "kernel: %s\nramdisk: %s\ncmdline: \"%s\"\n", cfg_or(dom->cd_kernel, "-"),
	    cfg_or(dom->cd_ramdisk, "-"), cfg_or(dom->cd_cmdline, ""));
	fprintf(f, "on_poweroff: %s\non_reboot: %s\non_crash: %s\non_watchdog: %s\n",
	    cfg_action_name(dom->cd_on_poweroff), cfg_action_name(dom->cd_on_reboot),
	    cfg_action_name(dom->cd_on_crash), cfg_action_name(dom->cd_on_watchdog));
	fprintf(f, "restart_interval: %g\nmissing_backend: %s\n", dom->cd_restart_interval,
	    dom->cd_nobackend == CFG_NOBACKEND_WARN ? "warn" : "error");
	for (size_t i = 0; i < dom->cd_ndisks; i++) {
		const struct cfg_disk *k = &dom->cd_disks[i];
		fprintf(f, "disk[%zu]: target=%s format=%s vdev=%s devid=%d access=%s devtype=%s"
		    " script=%s backendtype=%s\n", i, k->cd_target, k->cd_format, k->cd_vdev,
		    k->cd_devid, k->cd_readonly ? "r" : "rw", k->cd_cdrom ? "cdrom" : "disk",
		    cfg_or(k->cd_script, "-"), cfg_or(k->cd_backendtype, "-"));
	}
	for (size_t i = 0; i < dom->cd_nnics; i++) {
		const struct cfg_nic *n = &dom->cd_nics[i];
		fprintf(f, "vif[%zu]: devid=%d mac=%s bridge=%s script=%s ip=%s vifname=%s"
		    " rate=%s mtu=%u\n", i, n->cn_devid, cfg_or(n->cn_mac, "-"),
		    cfg_or(n->cn_bridge, "-"), cfg_or(n->cn_script, "-"), cfg_or(n->cn_ip, "-"),
		    cfg_or(n->cn_vifname, "-"), cfg_or(n->cn_rate, "-"), n->cn_mtu);
	}
}
