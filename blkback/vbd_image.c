/*
 * Opening what a vbd's params name, as the daemon (root) does it for the
 * worker: files and block devices directly (O_DIRECT where the file system
 * takes it, always a buffered descriptor too), no loop device for file:,
 * raw:, aio: or tap:aio: images. A loop device only for a phy: path that
 * is a regular file, taken with LOOP_CTL_GET_FREE and LO_FLAGS_AUTOCLEAR so it
 * goes away with our last descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "vbd.h"

#define VBD_LOOP_TRIES	16

/* Prefixes that only say "open it directly". */
static const char *const vbd_image_prefixes[] = {
	"tap2:aio:", "tap:aio:", "tap2:", "tap:", "aio:", "file:", "raw:", NULL,
};

/* Strips the access prefix; *phy when it was phy:. */
static const char *
vbd_image_strip(const char *params, bool *phy)
{
	*phy = strncmp(params, "phy:", 4) == 0;
	if (*phy)
		return params + 4;
	for (unsigned i = 0; vbd_image_prefixes[i]; i++)
		if (strncmp(params, vbd_image_prefixes[i], strlen(vbd_image_prefixes[i])) == 0)
			return params + strlen(vbd_image_prefixes[i]);
	return params;
}

/* A loop device over the file fd (phy: on a regular file); its path in img. */
static int
vbd_image_loop(struct vbd_image *img, int fd, bool readonly)
{
	struct loop_config lc = { .fd = fd, .block_size = 0 };
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), lfd = -1, n;

	if (ctl < 0)
		return -1;
	lc.info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0);
	for (int tries = 0; tries < VBD_LOOP_TRIES; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
			break;
		snprintf(img->vi_loop, sizeof(img->vi_loop), "/dev/loop%d", n);
		if ((lfd = open(img->vi_loop, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC)) < 0)
			break;
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0)
			break;
		int saved = errno;
		close(lfd);
		lfd = -1;
		errno = saved;
		if (errno != EBUSY)
			break;		/* EBUSY: someone took it between GET_FREE and us */
	}
	int saved = errno;
	close(ctl);
	errno = saved;
	if (lfd < 0)
		img->vi_loop[0] = '\0';
	return lfd;
}

/* Size and sector sizes of an open file or block device. */
static int
vbd_image_geometry(struct vbd_image *img, int fd, const struct stat *st)
{
	uint64_t bytes;
	int lss = 512, pss = 4096;

	if (!img->vi_blockdev) {
		img->vi_sectors = st->st_size / 512;
		img->vi_sector_size = 512;
		img->vi_phys_sector_size = st->st_blksize >= 512 && st->st_blksize <= 65536 &&
		    (st->st_blksize & (st->st_blksize - 1)) == 0 ? st->st_blksize : 512;
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || ioctl(fd, BLKSSZGET, &lss) < 0)
		return -1;
	if (ioctl(fd, BLKPBSZGET, &pss) < 0)
		pss = lss;
	img->vi_sectors = bytes / 512;
	img->vi_sector_size = lss;
	img->vi_phys_sector_size = pss;
	return 0;
}

/* Opens the image; errors name the reason (the caller names the image). */
int
vbd_image_open(struct vbd_image *img, const char *params, bool readonly, char *err, size_t errlen)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC, fd, lfd;
	struct stat st;
	bool phy;
	const char *path = vbd_image_strip(params, &phy);

	memset(img, 0, sizeof(*img));
	img->vi_fd_buffered = img->vi_fd_direct = -1;
	snprintf(img->vi_path, sizeof(img->vi_path), "%s", path);
	if (*path == '\0')
		return 0;		/* an empty cdrom */
	img->vi_media = true;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "is a directory");
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "neither a regular file nor a block device");
		return -1;
	}
	if ((fd = open(path, flags)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	img->vi_dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	img->vi_ino = S_ISBLK(st.st_mode) ? 0 : st.st_ino;
	if (phy && S_ISREG(st.st_mode)) {
		lfd = vbd_image_loop(img, fd, readonly);
		close(fd);
		if (lfd < 0) {
			snprintf(err, errlen, "no loop device for it: %s", strerror(errno));
			return -1;
		}
		fd = lfd;
		fstat(fd, &st);
	}
	img->vi_blockdev = S_ISBLK(st.st_mode);
	if (vbd_image_geometry(img, fd, &st) < 0) {
		snprintf(err, errlen, "cannot read its size: %s", strerror(errno));
		close(fd);
		return -1;
	}
	img->vi_fd_buffered = fd;
	img->vi_fd_direct = open(img->vi_loop[0] ? img->vi_loop : path, flags | O_DIRECT);
	img->vi_discard = true;
	return 0;
}

/* Closes the image's descriptors (a loop device clears itself with the last one). */
void
vbd_image_close(struct vbd_image *img)
{
	if (img->vi_fd_buffered >= 0)
		close(img->vi_fd_buffered);
	if (img->vi_fd_direct >= 0)
		close(img->vi_fd_direct);
	img->vi_fd_buffered = img->vi_fd_direct = -1;
}

/* Xen's sharing rule: another domain may not use an image one of them writes, unless w!. */
struct vbd *
vbd_image_conflict(struct blkback_state *bs, const struct vbd *v)
{
	struct vbd *o;

	if (!v->v_img.vi_media || v->v_shared)
		return NULL;
	TAILQ_FOREACH(o, &bs->bs_vbds, v_entry) {
		if (o == v || o->v_domid == v->v_domid || o->v_shared ||
		    !o->v_img.vi_media || o->v_img.vi_dev != v->v_img.vi_dev ||
		    o->v_img.vi_ino != v->v_img.vi_ino)
			continue;
		if (!o->v_readonly || !v->v_readonly)
			return o;
	}
	return NULL;
}
