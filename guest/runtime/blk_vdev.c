#include <stdio.h>

#include "blk_vdev.h"

/* Disk index to bijective base-26 letters: 0 "a", 25 "z", 26 "aa". */
static void
blk_vdev_letters(uint32_t disk, char *buf, size_t len)
{
	char rev[8];
	size_t n = 0;

	for (uint64_t d = (uint64_t)disk + 1; d > 0 && n < sizeof(rev); d = (d - 1) / 26)
		rev[n++] = (char)('a' + (d - 1) % 26);
	size_t i = 0;
	for (; i < n && i + 1 < len; i++)
		buf[i] = rev[n - 1 - i];
	buf[i] = '\0';
}

/* prefix + letters + partition (none when 0). */
static char *
blk_vdev_format(const char *prefix, uint32_t disk, uint32_t part, char *buf, size_t len)
{
	char letters[8];

	blk_vdev_letters(disk, letters, sizeof(letters));
	if (part == 0)
		snprintf(buf, len, "%s%s", prefix, letters);
	else
		snprintf(buf, len, "%s%s%u", prefix, letters, part);
	return buf;
}

/* Decodes the schemes of xen-vbd-interface(7): xvd (202 and the extended
 * 1<<28 form), sd (major 8), hd (majors 3 and 22). */
char *
blk_vdev_name(uint32_t vdev, char *buf, size_t len)
{
	if (vdev & (1u << 28))
		return blk_vdev_format("xvd", (vdev >> 8) & 0xfffff, vdev & 0xff, buf, len);
	if (vdev < (1u << 16)) {
		uint32_t major = vdev >> 8, minor = vdev & 0xff;
		if (major == 202)
			return blk_vdev_format("xvd", minor >> 4, minor & 15, buf, len);
		if (major == 8)
			return blk_vdev_format("sd", minor >> 4, minor & 15, buf, len);
		if (major == 3 && (minor >> 6) < 2)
			return blk_vdev_format("hd", minor >> 6, minor & 63, buf, len);
		if (major == 22 && (minor >> 6) < 2)
			return blk_vdev_format("hd", 2 + (minor >> 6), minor & 63, buf, len);
	}
	snprintf(buf, len, "%u", vdev);
	return buf;
}
