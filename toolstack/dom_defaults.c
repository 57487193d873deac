/*
 * The random choices of a new domain (its uuid, its vifs' MACs) written into
 * the config itself before it is validated and stored, so a restart keeps them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dom.h"
#include "xmalloc.h"

/* A MAC in Xen's OUI 00:16:3e with the fourth byte below 0x80, as libxl draws them. */
void
dom_defaults_mac(char *buf, size_t len)
{
	uint8_t r[3] = { 0 };

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		r[0] = (uint8_t)rand(), r[1] = (uint8_t)rand(), r[2] = (uint8_t)rand();
	snprintf(buf, len, "00:16:3e:%02x:%02x:%02x", r[0] & 0x7f, r[1], r[2]);
}

/* A relative kernel path made absolute, so the monitor (in /) can restart from it. */
static void
dom_defaults_kernel(struct cfg *cfg)
{
	struct cfg_setting *k = cfg_get(cfg, "kernel");
	char cwd[4096], *abs;

	if (k == NULL || k->cs_value.cv_kind != CFG_ATOM || k->cs_value.cv_atom[0] == '/' ||
	    k->cs_value.cv_atom[0] == '\0' || getcwd(cwd, sizeof(cwd)) == NULL)
		return;
	xasprintf(&abs, "%s/%s", cwd, k->cs_value.cv_atom);
	free(k->cs_value.cv_atom);
	k->cs_value.cv_atom = abs;
}

/* Adds uuid= when absent, mac= to each vif spec that has none, an absolute kernel path. */
void
dom_defaults_fill(struct cfg *cfg)
{
	struct cfg_diag d = { .cd_out = NULL };
	struct cfg_setting *vif;

	dom_defaults_kernel(cfg);
	if (cfg_get(cfg, "uuid") == NULL) {
		uint8_t u[16];
		char uuid[37], *line;
		dom_uuid_generate(u);
		dom_uuid_format(u, uuid);
		xasprintf(&line, "uuid=\"%s\"", uuid);
		cfg_override(cfg, line, &d);
		free(line);
	}
	vif = cfg_get(cfg, "vif");
	for (size_t i = 0; vif && vif->cs_value.cv_kind == CFG_LIST &&
	    i < vif->cs_value.cv_nitems; i++) {
		struct cfg_value *it = &vif->cs_value.cv_items[i];
		char mac[24], *spec;
		if (strstr(it->cv_atom, "mac=") || strstr(it->cv_atom, "mac ="))
			continue;
		dom_defaults_mac(mac, sizeof(mac));
		xasprintf(&spec, "%s%smac=%s", it->cv_atom,
		    strspn(it->cv_atom, " \t") == strlen(it->cv_atom) ? "" : ", ", mac);
		free(it->cv_atom);
		it->cv_atom = spec;
		it->cv_quoted = 1;
	}
	cfg_diag_flush(&d);
}
