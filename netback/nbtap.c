/*
 * A VIF's tap device, made by the daemon (root) and handed to the worker as
 * descriptors: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, so each read or write is
 * one frame behind a virtio-net header (checksum and GSO offload), and
 * IFF_MULTI_QUEUE with one descriptor per queue when the VIF may have several.
 * Not persistent: the device goes when the last descriptor closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "nbtap.h"

/* Opens one queue of the tap name (creating it on the first). */
static int
nbtap_open_queue(const char *name, bool multi, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, hdr = sizeof(struct virtio_net_hdr);

	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		snprintf(err, errlen, "cannot create tap %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* nbtap.h */
int
nbtap_create(const char *name, unsigned nq, int *fds, char *err, size_t errlen)
{
	if (strlen(name) >= IFNAMSIZ || !nbtap_name_ok(name)) {
		snprintf(err, errlen, "interface name \"%s\" is not valid (at most %d characters, "
		    "no '/', ':' or spaces)", name, IFNAMSIZ - 1);
		return -1;
	}
	if (if_nametoindex(name) != 0) {
		snprintf(err, errlen, "an interface named %s already exists", name);
		return -1;
	}
	for (unsigned q = 0; q < nq; q++) {
		if ((fds[q] = nbtap_open_queue(name, nq > 1, err, errlen)) < 0) {
			while (q > 0)
				close(fds[--q]);
			return -1;
		}
	}
	return 0;
}

/* nbtap.h */
bool
nbtap_name_ok(const char *name)
{
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p > '~')
			return false;
	return true;
}

/* nbtap.h */
int
nbtap_offload(int fd, bool csum, bool tso4)
{
	unsigned off = (csum ? TUN_F_CSUM : 0) | (csum && tso4 ? TUN_F_TSO4 : 0);

	return ioctl(fd, TUNSETOFFLOAD, off);
}

/* nbtap.h */
int
nbtap_queue(int fd, bool attach)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0 && errno != EINVAL)
		return -1;	/* EINVAL: already in that state */
	return 0;
}
