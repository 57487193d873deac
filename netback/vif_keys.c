/*
 * The backend keys the toolstack writes for a vif (reference devices.md
 * §3.2), read once at probe and checked: a bad one fails the device with a
 * message naming the key, as xl shows it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backend.h"
#include "log.h"
#include "nbrate.h"
#include "nbtap.h"
#include "vif.h"
#include "xmalloc.h"

/* Six ':'-separated hex bytes, normalised to lower case into out. */
static bool
vif_keys_mac_ok(const char *s, char out[18])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
		out[i] = tolower((unsigned char)s[i]);
	}
	out[17] = '\0';
	return true;
}

/* A MAC in Xen's range, 00:16:3e, as libxl makes them (byte 3 below 0x80). */
static void
vif_keys_mac_new(char out[18])
{
	uint8_t b[3] = { 0 };

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		log_warn("getrandom");
	snprintf(out, 18, "00:16:3e:%02x:%02x:%02x", b[0] & 0x7f, b[1], b[2]);
}

/* The guest's MAC: the key, or a new one written back to it (xl always writes one). */
static int
vif_keys_mac(struct vif *v)
{
	struct backend_dev *d = v->v_dev;
	char *mac = backend_dev_read(d, false, "mac");
	int rc = 0;

	if (mac == NULL || *mac == '\0') {
		vif_keys_mac_new(v->v_mac);
		backend_dev_write(d, XS_TX_NONE, "mac", "%s", v->v_mac);
		log_info("%s: no mac key, using %s", backend_dev_name(d), v->v_mac);
	} else if (!vif_keys_mac_ok(mac, v->v_mac)) {
		backend_dev_fail(d, "error", "vif %u: mac \"%s\" is not a MAC address (expected six "
		    "hex bytes such as 00:16:3e:01:02:03)", backend_dev_devid(d), mac);
		rc = -1;
	}
	free(mac);
	return rc;
}

/* The tap's name: vifname, or vif<domid>.<devid> as Xen names it. */
static int
vif_keys_name(struct vif *v)
{
	struct backend_dev *d = v->v_dev;
	char *name = backend_dev_read(d, false, "vifname");
	int rc = 0;

	if (name && *name) {
		if (strlen(name) >= sizeof(v->v_name) || !nbtap_name_ok(name)) {
			backend_dev_fail(d, "error", "vif %u: vifname \"%s\" is not a valid interface "
			    "name (at most %zu characters, no '/', ':' or spaces)",
			    backend_dev_devid(d), name, sizeof(v->v_name) - 1);
			rc = -1;
		} else
			snprintf(v->v_name, sizeof(v->v_name), "%s", name);
	} else if ((size_t)snprintf(v->v_name, sizeof(v->v_name), "vif%u.%u", backend_dev_domid(d),
	    backend_dev_devid(d)) >= sizeof(v->v_name)) {
		backend_dev_fail(d, "error", "vif %u: the name vif%u.%u is too long for an interface; "
		    "give a vifname", backend_dev_devid(d), backend_dev_domid(d), backend_dev_devid(d));
		rc = -1;
	}
	free(name);
	return rc;
}

/* The bridge to enslave the tap to. */
static int
vif_keys_bridge(struct vif *v)
{
	struct backend_dev *d = v->v_dev;
	char *br = backend_dev_read(d, false, "bridge");
	int rc = 0;

	if (br == NULL || *br == '\0')
		snprintf(v->v_bridge, sizeof(v->v_bridge), "%s", NETBACK_DEFAULT_BRIDGE);
	else if (strlen(br) >= sizeof(v->v_bridge) || !nbtap_name_ok(br)) {
		backend_dev_fail(d, "error", "vif %u: bridge \"%s\" is not a valid interface name",
		    backend_dev_devid(d), br);
		rc = -1;
	} else
		snprintf(v->v_bridge, sizeof(v->v_bridge), "%s", br);
	free(br);
	return rc;
}

/* rate: "bytes,usecs"; a malformed one leaves the VIF unlimited, as Xen's netback does. */
static void
vif_keys_rate(struct vif *v)
{
	struct backend_dev *d = v->v_dev;
	char *rate = backend_dev_read(d, false, "rate");

	v->v_credit_bytes = v->v_credit_usec = 0;
	if (rate && *rate && nbrate_parse(rate, &v->v_credit_bytes, &v->v_credit_usec) < 0) {
		log_warnx("%s: rate \"%s\" is not bytes,usecs; no limit", backend_dev_name(d), rate);
		v->v_credit_bytes = v->v_credit_usec = 0;
	}
	free(rate);
}

/* vif.h */
int
vif_keys_read(struct vif *v)
{
	struct backend_dev *d = v->v_dev;
	long long mtu = backend_dev_read_ull(d, false, "mtu", NETBACK_DEFAULT_MTU, 65535);
	char *script;

	if (mtu < 68) {
		backend_dev_fail(d, "error", "vif %u: mtu must be a number from 68 to 65535",
		    backend_dev_devid(d));
		return -1;
	}
	v->v_mtu = mtu;
	if (vif_keys_name(v) < 0 || vif_keys_bridge(v) < 0 || vif_keys_mac(v) < 0)
		return -1;
	vif_keys_rate(v);
	script = backend_dev_read(d, false, "script");
	if (script && *script == '\0') {
		free(script);
		script = NULL;
	}
	if (script && script[0] != '/') {
		backend_dev_fail(d, "error", "vif %u: script \"%s\" is not an absolute path",
		    backend_dev_devid(d), script);
		free(script);
		return -1;
	}
	v->v_script = script;
	return 0;
}
