/*
 * The domain's disks as UML's virtio-blk devices: per disk a listening unix
 * socket in the domain's own /tmp (UML connects once, when it registers the
 * device early in boot, so the socket listens before UML starts), and on the
 * connection a vhost-user virtio-blk device whose every request goes to
 * blkfront (vhost_user_blkfront.h). UML passes its memory file over the
 * socket and the shim maps it: both are this domain's, so a bad ring or
 * message breaks only this domain's disk.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"
#include "unixsock.h"

static struct guest *shim_vblk_guest;

void
shim_vblk_path(const struct shim *s, unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/%s.sock", s->s_disks[i].sd_name);
}

/* UML closed the device's socket: freed after this round, because a handler
 * of the same round (its kick eventfd) may still be called with it. */
static void
shim_vblk_gone(struct vhubf *vh, void *arg)
{
	struct shim_disk *d = arg;

	(void)vh;
	d->sd_gone = true;
}

/* UML connects: the socket becomes the disk's device; no second connection
 * is taken (a rebooting kernel ends the domain, which restarts it). */
static void
shim_vblk_accept(int fd, short revents, void *arg)
{
	struct shim_disk *d = arg;
	char name[64];
	int c;

	(void)revents;
	if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	events_unwatch_fd(shim_vblk_guest->g_ev, fd);
	close(fd);
	d->sd_listen = -1;
	snprintf(name, sizeof(name), "umlshim %s (%s)", d->sd_name, d->sd_xen);
	/* the connection is vhubf_new's, on failure too */
	d->sd_vh = vhubf_new(shim_vblk_guest, d->sd_bf, c, name, shim_vblk_gone, d);
	if (d->sd_vh == NULL)
		console_printf(shim_vblk_guest->g_cons, "umlshim: %s: %s\n", name, strerror(errno));
	else
		vhubf_batch_calls(d->sd_vh);
}

int
shim_vblk_init(struct shim *s)
{
	char path[64];

	shim_vblk_guest = s->s_g;
	for (unsigned i = 0; i < s->s_ndisks; i++)
		s->s_disks[i].sd_listen = -1;
	for (unsigned i = 0; i < s->s_ndisks; i++) {
		struct shim_disk *d = &s->s_disks[i];
		shim_vblk_path(s, i, path, sizeof(path));
		if ((d->sd_listen = unixsock_listen(path,
		    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0600, 1)) < 0 ||
		    events_watch_fd(s->s_g->g_ev, d->sd_listen, POLLIN, shim_vblk_accept, d) < 0) {
			console_printf(s->s_g->g_cons, "umlshim: %s (%s): socket %s: %s\n",
			    d->sd_name, d->sd_xen, path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void
shim_vblk_round(struct shim *s)
{
	for (unsigned i = 0; i < s->s_ndisks; i++) {
		struct shim_disk *d = &s->s_disks[i];
		if (d->sd_vh == NULL)
			continue;
		if (d->sd_gone) {
			vhubf_free(d->sd_vh);
			d->sd_vh = NULL;
			d->sd_gone = false;
		} else
			vhubf_flush_calls(d->sd_vh);
	}
}
