/*
 * Disk specs: xl's "[key=value|flag,]*[target,[format,[vdev,[access]]]]" with
 * target= taking the rest of the string, and the deprecated xm form
 * "[prefix:]target,vdev[:devtype],access" ("file:/img/root.img,hda1,w").
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_domain.h"
#include "cfg_spec.h"
#include "xmalloc.h"

#define CFG_DISK_MAXPOS 4

static const char *const cfg_disk_formats[] = { "raw", "qcow", "qcow2", "vhd", "qed", NULL };

/* Whether s is one of the NULL-terminated words. */
static int
cfg_disk_is(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

/* Bijective base-26 disk letters ("a" = 0, "z" = 25, "aa" = 26); -1 if none. */
static int
cfg_disk_letters(const char **s)
{
	int n = 0, any = 0;

	while (**s >= 'a' && **s <= 'z') {
		n = n * 26 + (**s - 'a' + 1);
		if (n > 1000000)
			return -1;
		(*s)++;
		any = 1;
	}
	return any ? n - 1 : -1;
}

/* Optional decimal partition number; -1 when malformed. */
static int
cfg_disk_part(const char *s)
{
	int n = 0;

	if (*s == '\0')
		return 0;
	if (*s == '0')
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || n > 100000)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* Encodes a vdev as xen-vbd-interface(7) does. */
int
cfg_disk_vdev_devid(const char *vdev)
{
	const char *s = vdev;
	int disk, part;

	if (isdigit((unsigned char)*s)) {
		char *end;
		long v = strtol(s, &end, 10);
		return *end == '\0' && v > 0 && v < (1L << 30) ? (int)v : -1;
	}
	if (strncmp(s, "xvd", 3) == 0) {
		s += 3;
		if ((disk = cfg_disk_letters(&s)) < 0 || (part = cfg_disk_part(s)) < 0)
			return -1;
		if (disk < 16 && part < 16)
			return (202 << 8) | (disk << 4) | part;
		if (disk >= (1 << 20) || part >= 256)
			return -1;
		return (1 << 28) | (disk << 8) | part;
	}
	if (strncmp(s, "hd", 2) == 0 || strncmp(s, "sd", 2) == 0) {
		int hd = s[0] == 'h';
		s += 2;
		if ((disk = cfg_disk_letters(&s)) < 0 || (part = cfg_disk_part(s)) < 0)
			return -1;
		if (hd) {
			if (disk > 3 || part > 63)
				return -1;
			return disk < 2 ? (3 << 8) | (disk << 6) | part :
			    (22 << 8) | ((disk - 2) << 6) | part;
		}
		if (disk > 15 || part > 15)
			return -1;
		return (8 << 8) | (disk << 4) | part;
	}
	return -1;
}

/* Strips the deprecated "prefix:" words off a target; 1 when one was found. */
static int
cfg_disk_prefixes(struct cfg_disk *disk, char **target)
{
	static const char *const strip[] = { "tapdisk", "tap2", "tap", "aio", "ioemu", "file",
	    "phy", NULL };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd", NULL };
	int found = 0;

	for (;;) {
		char *colon = strchr(*target, ':');
		if (colon == NULL)
			return found;
		char *word = xstrndup(*target, colon - *target);
		int known = 1;
		if (cfg_disk_is(word, cfg_disk_formats)) {
			free(disk->cd_format);
			disk->cd_format = xstrdup(word);
		} else if (cfg_disk_is(word, scripts)) {
			free(disk->cd_script);
			xasprintf(&disk->cd_script, "block-%s", word);
		} else if (!cfg_disk_is(word, strip)) {
			known = 0;
		}
		free(word);
		if (!known)
			return found;
		memmove(*target, colon + 1, strlen(colon + 1) + 1);
		found = 1;
	}
}

/* Applies one key=value or flag token. */
static int
cfg_disk_keyword(struct cfg_disk *disk, const char *tok, char **access, char *why, size_t len)
{
	const char *eq = strchr(tok, '=');
	char *key = eq ? xstrndup(tok, eq - tok) : xstrdup(tok);
	const char *val = eq ? eq + 1 : "";
	int rc = 0;

	if (strcmp(key, "format") == 0)
		rc = cfg_spec_once(&disk->cd_format, key, val, why, len);
	else if (strcmp(key, "vdev") == 0)
		rc = cfg_spec_once(&disk->cd_vdev, key, val, why, len);
	else if (strcmp(key, "access") == 0)
		rc = cfg_spec_once(access, key, val, why, len);
	else if (strcmp(key, "script") == 0)
		rc = cfg_spec_once(&disk->cd_script, key, val, why, len);
	else if (strcmp(key, "backendtype") == 0)
		rc = cfg_spec_once(&disk->cd_backendtype, key, val, why, len);
	else if (strcmp(key, "backend") == 0)
		rc = cfg_spec_once(&disk->cd_backend, key, val, why, len);
	else if (strcmp(key, "devtype") == 0 && (strcmp(val, "cdrom") == 0 ||
	    strcmp(val, "disk") == 0))
		disk->cd_cdrom = strcmp(val, "cdrom") == 0;
	else if (strcmp(key, "devtype") == 0)
		rc = cfg_spec_fail(why, len, "devtype must be disk or cdrom, not \"%s\"", val);
	else if (strcmp(key, "specification") == 0 && strcmp(val, "xen") != 0)
		rc = cfg_spec_fail(why, len, "specification \"%s\" is not supported (only xen)", val);
	else if (strcmp(key, "specification") == 0)
		;
	else if (!eq && strcmp(key, "cdrom") == 0)
		disk->cd_cdrom = 1;
	else if (!eq && (strcmp(key, "discard") == 0 || strcmp(key, "no-discard") == 0))
		disk->cd_discard = key[0] == 'd';
	else if (!eq && (strcmp(key, "trusted") == 0 || strcmp(key, "untrusted") == 0))
		disk->cd_trusted = key[0] == 't';
	else if (!eq && strcmp(key, "direct-io-safe") == 0)
		disk->cd_direct_io_safe = 1;
	else
		rc = cfg_spec_fail(why, len, "unknown disk parameter \"%s\"", tok);
	free(key);
	return rc;
}

/* Splits spec into keywords (applied at once) and positional words. */
static int
cfg_disk_split(struct cfg_disk *disk, const char *spec, char **pos, int *npos, char **access,
    char *why, size_t len)
{
	const char *p = spec;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "target=", 7) == 0) {
			char *t = cfg_spec_trim(p + 7, strlen(p + 7));
			int rc = cfg_spec_once(&disk->cd_target, "target", t, why, len);
			free(t);
			return rc;
		}
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *tok = cfg_spec_trim(p, n);
		int rc = 0;
		if (strchr(tok, '=') || strcmp(tok, "cdrom") == 0 || strcmp(tok, "discard") == 0 ||
		    strcmp(tok, "no-discard") == 0 || strcmp(tok, "trusted") == 0 ||
		    strcmp(tok, "untrusted") == 0 || strcmp(tok, "direct-io-safe") == 0) {
			rc = cfg_disk_keyword(disk, tok, access, why, len);
			free(tok);
		} else if (*npos == CFG_DISK_MAXPOS) {
			free(tok);
			rc = cfg_spec_fail(why, len, "too many positional parameters");
		} else {
			pos[(*npos)++] = tok;
		}
		if (rc < 0 || comma == NULL)
			return rc;
		p = comma + 1;
	}
}

/* Assigns the positional words: target, format, vdev, access (or xm's target, vdev, access). */
static int
cfg_disk_positional(struct cfg_disk *disk, char **pos, int npos, char **access,
    char *why, size_t len)
{
	char *slot[CFG_DISK_MAXPOS] = { 0 };	/* target, format, vdev, access */
	int legacy = 0, rc = 0;

	if (npos == 0)
		return 0;
	if (cfg_disk_prefixes(disk, &pos[0]))
		legacy = npos < 4;
	if (npos >= 2 && npos <= 3 && pos[1][0] && !cfg_disk_is(pos[1], cfg_disk_formats))
		legacy = 1;
	for (int i = 0; i < npos; i++)
		slot[legacy && i > 0 ? i + 1 : i] = pos[i];
	if (slot[0] && slot[0][0])
		rc = cfg_spec_once(&disk->cd_target, "target", slot[0], why, len);
	if (rc == 0 && slot[1] && slot[1][0])
		rc = cfg_spec_once(&disk->cd_format, "format", slot[1], why, len);
	if (rc == 0 && slot[2] && slot[2][0]) {
		char *colon = strchr(slot[2], ':');
		if (colon && (strcmp(colon, ":cdrom") == 0 || strcmp(colon, ":disk") == 0)) {
			disk->cd_cdrom = colon[1] == 'c';
			*colon = '\0';
		}
		rc = cfg_spec_once(&disk->cd_vdev, "vdev", slot[2], why, len);
	}
	if (rc == 0 && slot[3] && slot[3][0])
		rc = cfg_spec_once(access, "access", slot[3], why, len);
	return rc;
}

/* Checks the assembled fields and fills the defaults. */
static int
cfg_disk_finish(struct cfg_disk *disk, const char *access, char *why, size_t len)
{
	if (disk->cd_target == NULL)
		disk->cd_target = xstrdup("");
	if (disk->cd_target[0] && disk->cd_target[0] != '/' && disk->cd_script == NULL) {
		char *t;
		xasprintf(&t, "/dev/%s", disk->cd_target);
		free(disk->cd_target);
		disk->cd_target = t;
	}
	if (disk->cd_format == NULL)
		disk->cd_format = xstrdup("raw");
	if (!cfg_disk_is(disk->cd_format, cfg_disk_formats))
		return cfg_spec_fail(why, len, "unknown format \"%s\" (raw, qcow, qcow2, vhd, qed)",
		    disk->cd_format);
	if (disk->cd_vdev == NULL || disk->cd_vdev[0] == '\0')
		return cfg_spec_fail(why, len, "no virtual device (vdev) given");
	if ((disk->cd_devid = cfg_disk_vdev_devid(disk->cd_vdev)) < 0)
		return cfg_spec_fail(why, len, "unknown virtual device \"%s\" "
		    "(expected xvdX, hdX, sdX with an optional partition number)", disk->cd_vdev);
	if (access == NULL)
		disk->cd_readonly = disk->cd_cdrom;
	else if (strcmp(access, "r") == 0 || strcmp(access, "ro") == 0)
		disk->cd_readonly = 1;
	else if (strcmp(access, "w") == 0 || strcmp(access, "rw") == 0 || strcmp(access, "w!") == 0)
		disk->cd_readonly = 0;
	else
		return cfg_spec_fail(why, len, "access must be r, ro, w or rw, not \"%s\"", access);
	if (disk->cd_cdrom && !disk->cd_readonly)
		return cfg_spec_fail(why, len, "a cdrom cannot be writable (use access r)");
	if (!disk->cd_cdrom && disk->cd_target[0] == '\0')
		return cfg_spec_fail(why, len, "no target (image file or device) given");
	if (disk->cd_backendtype && strcmp(disk->cd_backendtype, "phy") != 0 &&
	    strcmp(disk->cd_backendtype, "qdisk") != 0 &&
	    strcmp(disk->cd_backendtype, "standalone") != 0)
		return cfg_spec_fail(why, len, "backendtype must be phy, qdisk or standalone");
	return 0;
}

/* Parses one disk spec into disk (zeroed first); -1 with why filled. */
int
cfg_disk_parse(const char *spec, struct cfg_disk *disk, char *why, size_t len)
{
	char *pos[CFG_DISK_MAXPOS] = { 0 }, *access = NULL;
	int npos = 0, rc;

	memset(disk, 0, sizeof(*disk));
	disk->cd_discard = -1;
	disk->cd_trusted = -1;
	disk->cd_spec = xstrdup(spec);
	rc = cfg_disk_split(disk, spec, pos, &npos, &access, why, len);
	if (rc == 0)
		rc = cfg_disk_positional(disk, pos, npos, &access, why, len);
	if (rc == 0)
		rc = cfg_disk_finish(disk, access, why, len);
	for (int i = 0; i < npos; i++)
		free(pos[i]);
	free(access);
	return rc;
}

/* Frees a disk's strings. */
void
cfg_disk_free(struct cfg_disk *disk)
{
	free(disk->cd_spec);
	free(disk->cd_target);
	free(disk->cd_format);
	free(disk->cd_vdev);
	free(disk->cd_script);
	free(disk->cd_backendtype);
	free(disk->cd_backend);
	memset(disk, 0, sizeof(*disk));
}
