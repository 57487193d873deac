/*
 * xl list -l: each domain as libxl's domain configuration in JSON, indented
 * by four spaces as yajl beautifies it, so xendomains-style scripts can grep
 * "^    {$", "^        \"domid\":" and "\"name\":" line by line.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "dom.h"
#include "log.h"
#include "xl_list.h"

/* A string member. */
static void
xl_list_json_str(yajl_gen g, const char *key, const char *val)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	if (val)
		yajl_gen_string(g, (const unsigned char *)val, strlen(val));
	else
		yajl_gen_null(g);
}

/* An integer member. */
static void
xl_list_json_int(yajl_gen g, const char *key, long long val)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_integer(g, val);
}

/* c_info: type, name, uuid. */
static void
xl_list_json_c_info(yajl_gen g, const char *name, const struct hv_dominfo *i)
{
	char uuid[37];

	dom_uuid_format(i->uuid, uuid);
	yajl_gen_string(g, (const unsigned char *)"c_info", 6);
	yajl_gen_map_open(g);
	xl_list_json_str(g, "type", "pv");
	xl_list_json_str(g, "name", name);
	xl_list_json_str(g, "uuid", uuid);
	yajl_gen_map_close(g);
}

/* b_info: vcpus, memory, kernel and command line. */
static void
xl_list_json_b_info(yajl_gen g, const struct hv_dominfo *i, const struct cfg_domain *d)
{
	yajl_gen_string(g, (const unsigned char *)"b_info", 6);
	yajl_gen_map_open(g);
	xl_list_json_int(g, "max_vcpus", d ? d->cd_maxvcpus : i->vcpus);
	xl_list_json_int(g, "max_memkb", d ? (long long)d->cd_maxmem_mib * 1024 : (long long)i->max_mem_kib);
	xl_list_json_int(g, "target_memkb", d ? (long long)d->cd_memory_mib * 1024 : (long long)i->mem_kib);
	if (d) {
		yajl_gen_string(g, (const unsigned char *)"type.pv", 7);
		yajl_gen_map_open(g);
		xl_list_json_str(g, "kernel", d->cd_kernel);
		xl_list_json_str(g, "cmdline", d->cd_cmdline);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

/* disks and nics as libxl names their fields. */
static void
xl_list_json_devices(yajl_gen g, const struct cfg_domain *d)
{
	yajl_gen_string(g, (const unsigned char *)"disks", 5);
	yajl_gen_array_open(g);
	for (size_t k = 0; k < d->cd_ndisks; k++) {
		const struct cfg_disk *dk = &d->cd_disks[k];
		yajl_gen_map_open(g);
		xl_list_json_str(g, "pdev_path", dk->cd_target);
		xl_list_json_str(g, "vdev", dk->cd_vdev);
		xl_list_json_str(g, "backend", dk->cd_backendtype ? dk->cd_backendtype : "phy");
		xl_list_json_str(g, "format", dk->cd_format);
		xl_list_json_int(g, "readwrite", !dk->cd_readonly);
		xl_list_json_int(g, "is_cdrom", dk->cd_cdrom);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_string(g, (const unsigned char *)"nics", 4);
	yajl_gen_array_open(g);
	for (size_t k = 0; k < d->cd_nnics; k++) {
		const struct cfg_nic *n = &d->cd_nics[k];
		yajl_gen_map_open(g);
		xl_list_json_int(g, "devid", n->cn_devid);
		xl_list_json_str(g, "mac", n->cn_mac);
		xl_list_json_str(g, "bridge", n->cn_bridge ? n->cn_bridge : "xenbr0");
		if (n->cn_ip)
			xl_list_json_str(g, "ip", n->cn_ip);
		if (n->cn_vifname)
			xl_list_json_str(g, "ifname", n->cn_vifname);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

/* One domain's object: domid, then its config (from the stored config when there is one). */
static void
xl_list_json_domain(struct xl_ctx *ctx, yajl_gen g, const struct hv_dominfo *i)
{
	char *name = dom_find_name(ctx->xc_xs, i->domid);
	struct cfg cfg = { 0 };
	struct cfg_domain dom = { 0 }, *d = NULL;
	struct cfg_diag diag = { .cd_out = NULL };

	if (i->domid != 0 && dom_store_load(i->domid, &cfg) == 0 &&
	    cfg_domain_from(&cfg, &dom, "stored", &diag) == 0)
		d = &dom;
	cfg_diag_flush(&diag);
	yajl_gen_map_open(g);
	xl_list_json_int(g, "domid", i->domid);
	yajl_gen_string(g, (const unsigned char *)"config", 6);
	yajl_gen_map_open(g);
	xl_list_json_c_info(g, name, i);
	xl_list_json_b_info(g, i, d);
	if (d) {
		xl_list_json_devices(g, d);
		xl_list_json_str(g, "on_poweroff", cfg_action_name(d->cd_on_poweroff));
		xl_list_json_str(g, "on_reboot", cfg_action_name(d->cd_on_reboot));
		xl_list_json_str(g, "on_watchdog", cfg_action_name(d->cd_on_watchdog));
		xl_list_json_str(g, "on_crash", cfg_action_name(d->cd_on_crash));
	}
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	cfg_domain_free(&dom);
	cfg_free(&cfg);
	free(name);
}

/* The whole array, written to stdout. */
int
xl_list_json(struct xl_ctx *ctx, const struct hv_dominfo *info, unsigned n)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;

	if (g == NULL) {
		log_warnx("cannot allocate the JSON generator");
		return 1;
	}
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "    ");
	yajl_gen_array_open(g);
	for (unsigned i = 0; i < n; i++)
		xl_list_json_domain(ctx, g, &info[i]);
	yajl_gen_array_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, stdout);
	yajl_gen_free(g);
	return 0;
}
