/*
 * vif specs: comma-separated key=value pairs (xl-network-configuration(5));
 * the empty string means every default.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_domain.h"
#include "cfg_spec.h"
#include "xmalloc.h"

/* Whether s is six ':'-separated hex bytes. */
static int
cfg_nic_mac_ok(const char *s)
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return 0;
		s += 2;
		if (i < 5 && *s++ != ':')
			return 0;
	}
	return *s == '\0';
}

/* A decimal number with an optional fraction, and the unit after it. */
static int
cfg_nic_number(const char **s, double *v)
{
	char *end;

	if (!isdigit((unsigned char)**s))
		return -1;
	*v = strtod(*s, &end);
	*s = end;
	return 0;
}

/* "<RATE><unit>/s[@<INTERVAL><unit>]" -> "bytes,usecs" (libxl's rate key). */
static int
cfg_nic_rate(const char *spec, char **out)
{
	static const struct { const char *u; double bytes; } units[] = {
		{ "GB", 1e9 }, { "MB", 1e6 }, { "KB", 1e3 }, { "B", 1 },
		{ "Gb", 1e9 / 8 }, { "Mb", 1e6 / 8 }, { "Kb", 1e3 / 8 }, { "b", 1.0 / 8 },
	};
	const char *s = spec;
	double rate, interval = 50000, mult = 0;

	if (cfg_nic_number(&s, &rate) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strncmp(s, units[i].u, strlen(units[i].u)) == 0) {
			mult = units[i].bytes;
			s += strlen(units[i].u);
			break;
		}
	if (mult == 0 || strncmp(s, "/s", 2) != 0)
		return -1;
	s += 2;
	if (*s == '@') {
		s++;
		if (cfg_nic_number(&s, &interval) < 0)
			return -1;
		if (strcmp(s, "s") == 0)
			interval *= 1e6;
		else if (strcmp(s, "ms") == 0)
			interval *= 1e3;
		else if (strcmp(s, "us") != 0)
			return -1;
		s = "";
	}
	if (*s || interval < 1 || interval > 4e9 || rate * mult <= 0)
		return -1;
	double bytes = ceil(rate * mult * interval / 1e6);
	if (bytes > 4e18)
		return -1;
	xasprintf(out, "%.0f,%.0f", bytes, interval);
	return 0;
}

/* Applies one key=value (or flag) of a vif spec. */
static int
cfg_nic_keyword(struct cfg_nic *nic, const char *key, const char *val, int has_val,
    char *why, size_t len)
{
	char *end;

	if (!has_val && (strcmp(key, "trusted") == 0 || strcmp(key, "untrusted") == 0)) {
		nic->cn_trusted = key[0] == 't';
		return 0;
	}
	if (!has_val)
		return cfg_spec_fail(why, len, "unrecognized argument `%s'", key);
	if (strcmp(key, "mac") == 0) {
		if (!cfg_nic_mac_ok(val))
			return cfg_spec_fail(why, len, "invalid mac address \"%s\" "
			    "(expected six hex bytes such as 00:16:3e:01:02:03)", val);
		return cfg_spec_once(&nic->cn_mac, key, val, why, len);
	}
	if (strcmp(key, "bridge") == 0)
		return cfg_spec_once(&nic->cn_bridge, key, val, why, len);
	if (strcmp(key, "gatewaydev") == 0 || strcmp(key, "netdev") == 0)
		return cfg_spec_once(&nic->cn_gatewaydev, key, val, why, len);
	if (strcmp(key, "script") == 0)
		return cfg_spec_once(&nic->cn_script, key, val, why, len);
	if (strcmp(key, "ip") == 0)
		return cfg_spec_once(&nic->cn_ip, key, val, why, len);
	if (strcmp(key, "vifname") == 0)
		return cfg_spec_once(&nic->cn_vifname, key, val, why, len);
	if (strcmp(key, "backend") == 0)
		return cfg_spec_once(&nic->cn_backend, key, val, why, len);
	if (strcmp(key, "model") == 0)
		return cfg_spec_once(&nic->cn_model, key, val, why, len);
	if (strcmp(key, "type") == 0) {
		if (strcmp(val, "vif") != 0 && strcmp(val, "ioemu") != 0)
			return cfg_spec_fail(why, len, "type must be vif or ioemu, not \"%s\"", val);
		return cfg_spec_once(&nic->cn_type, key, val, why, len);
	}
	if (strcmp(key, "rate") == 0) {
		if (nic->cn_rate)
			return cfg_spec_fail(why, len, "rate given more than once");
		if (cfg_nic_rate(val, &nic->cn_rate) < 0)
			return cfg_spec_fail(why, len, "invalid rate \"%s\" "
			    "(expected such as 10MB/s or 100Mb/s@20ms)", val);
		return 0;
	}
	if (strcmp(key, "mtu") == 0 || strcmp(key, "devid") == 0) {
		long v = strtol(val, &end, 10);
		if (!*val || *end || v < (key[0] == 'm' ? 68 : 0) || v > 65535)
			return cfg_spec_fail(why, len, "%s must be a number%s, not \"%s\"", key,
			    key[0] == 'm' ? " from 68 to 65535" : "", val);
		if (key[0] == 'm')
			nic->cn_mtu = (unsigned)v;
		else
			nic->cn_devid = (int)v;
		return 0;
	}
	if (strncmp(key, "colo_", 5) == 0 || strcmp(key, "accel") == 0)
		return 0;
	return cfg_spec_fail(why, len, "unrecognized argument `%s=%s'", key, val);
}

/* Parses one vif spec; nic->cn_devid defaults to -1 (the caller numbers it). */
int
cfg_nic_parse(const char *spec, struct cfg_nic *nic, char *why, size_t len)
{
	const char *p = spec;

	memset(nic, 0, sizeof(*nic));
	nic->cn_devid = -1;
	nic->cn_trusted = -1;
	nic->cn_spec = xstrdup(spec);
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *tok = cfg_spec_trim(p, n);
		char *eq = strchr(tok, '=');
		int rc = 0;
		if (eq) {
			*eq = '\0';
			for (char *e = eq - 1; e >= tok && isspace((unsigned char)*e); e--)
				*e = '\0';
			const char *val = eq + 1;
			while (isspace((unsigned char)*val))
				val++;
			rc = cfg_nic_keyword(nic, tok, val, 1, why, len);
		} else if (*tok) {
			rc = cfg_nic_keyword(nic, tok, "", 0, why, len);
		}
		free(tok);
		if (rc < 0)
			return -1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Frees a nic's strings. */
void
cfg_nic_free(struct cfg_nic *nic)
{
	free(nic->cn_spec);
	free(nic->cn_mac);
	free(nic->cn_bridge);
	free(nic->cn_script);
	free(nic->cn_ip);
	free(nic->cn_vifname);
	free(nic->cn_gatewaydev);
	free(nic->cn_backend);
	free(nic->cn_rate);
	free(nic->cn_model);
	free(nic->cn_type);
	memset(nic, 0, sizeof(*nic));
}
