/*
 * umlinit: /init of a minimal initramfs that lets UML boot its root from
 * virtio-blk. Debian's linux.uml has virtio_blk as a module only, so the
 * kernel cannot mount /dev/vda by itself: this loads /virtio_blk.ko, waits
 * for the disk, mounts it read-only (as root= ro would), moves /dev along and
 * makes it the root, then runs its /sbin/init. Linked statically: the
 * initramfs holds nothing else.
 *
 * The disk is pvroot= on the kernel command line (the kernel hands unknown
 * name=value words to init as environment), default /dev/vda; its type
 * pvrootfs=, default ext4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What failed, on the console; the kernel panics when init exits. */
static _Noreturn void
umlinit_fail(const char *what)
{
	fprintf(stderr, "umlinit: %s: %m\n", what);
	exit(1);
}

int
main(void)
{
	const char *dev = getenv("pvroot") ? getenv("pvroot") : "/dev/vda";
	const char *type = getenv("pvrootfs") ? getenv("pvrootfs") : "ext4";
	char *const argv[] = { "/sbin/init", NULL };
	struct stat st;
	int fd, i;

	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY)
		umlinit_fail("mount /dev");
	if ((fd = open("/virtio_blk.ko", O_RDONLY | O_CLOEXEC)) < 0)
		umlinit_fail("/virtio_blk.ko");
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		umlinit_fail("loading virtio_blk");
	close(fd);
	/* the driver probes the device while loading; its node follows */
	for (i = 0; i < 500 && stat(dev, &st) < 0; i++)
		usleep(10000);
	mkdir("/root", 0755);
	if (mount(dev, "/root", type, MS_RDONLY, NULL) < 0)
		umlinit_fail(dev);
	if (mount("/dev", "/root/dev", NULL, MS_MOVE, NULL) < 0)
		umlinit_fail("moving /dev");
	if (chdir("/root") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		umlinit_fail("switching root");
	execv(argv[0], argv);
	umlinit_fail(argv[0]);
}
