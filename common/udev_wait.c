/*
 * A libudev monitor of udevd's processed events on a libevent loop, matched
 * against pending waits: by SYNTH_UUID for the synthetic hotplug uevents we
 * raise, by subsystem, name and action for a device's own events (udev_wait.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <libudev.h>

#include "log.h"
#include "udev_wait.h"
#include "xmalloc.h"

#define UDEV_WAIT_CONTROL	"/run/udev/control"

struct udev_wait_req {
	struct udev_wait *wr_uw;
	struct udev_wait_req *wr_next;
	char wr_uuid[37];		/* synthetic: our event */
	char *wr_subsystem, *wr_sysname, *wr_action;	/* device: its event */
	struct event *wr_timer;
	udev_wait_cb wr_cb;
	void *wr_arg;
};

struct udev_wait {
	struct udev *uw_udev;
	struct udev_monitor *uw_mon;
	struct event *uw_ev;
	struct udev_wait_req *uw_reqs;
};

/* Unlinks and frees a request (its callback is the caller's business). */
static void
udev_wait_req_free(struct udev_wait_req *r)
{
	struct udev_wait_req **pp = &r->wr_uw->uw_reqs;

	while (*pp && *pp != r)
		pp = &(*pp)->wr_next;
	if (*pp)
		*pp = r->wr_next;
	event_free(r->wr_timer);
	free(r->wr_subsystem);
	free(r->wr_sysname);
	free(r->wr_action);
	free(r);
}

/* Ends a request with err. */
static void
udev_wait_req_end(struct udev_wait_req *r, int err)
{
	udev_wait_cb cb = r->wr_cb;
	void *arg = r->wr_arg;

	udev_wait_req_free(r);
	cb(err, arg);
}

/* A property of the device, "" when absent. */
static const char *
udev_wait_prop(struct udev_device *d, const char *key)
{
	const char *v = udev_device_get_property_value(d, key);

	return v ? v : "";
}

/* Whether a processed event is what r waits for. */
static int
udev_wait_match(const struct udev_wait_req *r, struct udev_device *d)
{
	const char *s;

	if (r->wr_uuid[0])
		return strcmp(udev_wait_prop(d, "SYNTH_UUID"), r->wr_uuid) == 0;
	return (s = udev_device_get_subsystem(d)) && strcmp(s, r->wr_subsystem) == 0 &&
	    (s = udev_device_get_sysname(d)) && strcmp(s, r->wr_sysname) == 0 &&
	    (s = udev_device_get_action(d)) && strcmp(s, r->wr_action) == 0;
}

/* udevd broadcast an event: ends the first wait it answers. */
static void
udev_wait_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct udev_wait *uw = arg;
	struct udev_device *d;

	(void)fd;
	(void)what;
	while ((d = udev_monitor_receive_device(uw->uw_mon)) != NULL) {
		for (struct udev_wait_req *r = uw->uw_reqs; r; r = r->wr_next)
			if (udev_wait_match(r, d)) {
				udev_wait_req_end(r, 0);
				break;
			}
		udev_device_unref(d);
	}
}

/* The monitor, on the loop. */
struct udev_wait *
udev_wait_open(struct event_base *base)
{
	struct udev_wait *uw;
	int fd;

	if (access(UDEV_WAIT_CONTROL, F_OK) < 0)
		return NULL;	/* no udevd: errno ENOENT from access */
	uw = xcalloc(1, sizeof(*uw));
	if ((uw->uw_udev = udev_new()) == NULL ||
	    (uw->uw_mon = udev_monitor_new_from_netlink(uw->uw_udev, "udev")) == NULL ||
	    udev_monitor_enable_receiving(uw->uw_mon) < 0) {
		int saved = errno ? errno : ENOMEM;
		udev_wait_close(uw);
		errno = saved;
		return NULL;
	}
	udev_monitor_set_receive_buffer_size(uw->uw_mon, 4 << 20);
	fd = udev_monitor_get_fd(uw->uw_mon);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	uw->uw_ev = event_new(base, fd, EV_READ | EV_PERSIST, udev_wait_on_event, uw);
	if (uw->uw_ev == NULL)
		fatalx("udev_wait: out of memory for an event");
	event_add(uw->uw_ev, NULL);
	return uw;
}

/* Cancels what is pending and lets the monitor go. */
void
udev_wait_close(struct udev_wait *uw)
{
	while (uw->uw_reqs)
		udev_wait_req_end(uw->uw_reqs, ECANCELED);
	if (uw->uw_ev)
		event_free(uw->uw_ev);
	if (uw->uw_mon)
		udev_monitor_unref(uw->uw_mon);
	if (uw->uw_udev)
		udev_unref(uw->uw_udev);
	free(uw);
}

/* Its time is up. */
static void
udev_wait_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	udev_wait_req_end(arg, ETIMEDOUT);
}

/* A pending request with its timer armed. */
static struct udev_wait_req *
udev_wait_req_new(struct udev_wait *uw, int timeout_ms, udev_wait_cb cb, void *arg)
{
	struct udev_wait_req *r = xcalloc(1, sizeof(*r));
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	r->wr_uw = uw;
	r->wr_cb = cb;
	r->wr_arg = arg;
	r->wr_timer = evtimer_new(event_get_base(uw->uw_ev), udev_wait_on_timeout, r);
	if (r->wr_timer == NULL)
		fatalx("udev_wait: out of memory for a timer");
	evtimer_add(r->wr_timer, &tv);
	r->wr_next = uw->uw_reqs;
	uw->uw_reqs = r;
	return r;
}

/* A random version-4 UUID, as the kernel wants one in a synthetic uevent. */
static void
udev_wait_uuid(char *buf)
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		fatal("udev_wait: getrandom");
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
	    b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Whether s is a non-empty run of letters and digits (all a synthetic uevent carries). */
static int
udev_wait_alnum(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return 0;
	return 1;
}

/* Writes text to syspath/uevent; 0 or -1 with errno. */
static int
udev_wait_write(const char *syspath, const char *text)
{
	char path[512];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/uevent", syspath);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	if (rc < 0 && errno == 0)
		errno = EIO;
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Raises the synthetic uevent that makes udev run the device's script. */
struct udev_wait_req *
udev_wait_hotplug(struct udev_wait *uw, const char *syspath, const char *kind,
    uint32_t domid, uint32_t devid, enum hotplug_action action, int timeout_ms,
    udev_wait_cb cb, void *arg)
{
	struct udev_wait_req *r;
	char text[256];

	if (!udev_wait_alnum(kind)) {
		errno = EINVAL;
		return NULL;
	}
	r = udev_wait_req_new(uw, timeout_ms, cb, arg);
	udev_wait_uuid(r->wr_uuid);
	snprintf(text, sizeof(text), "change %s XENBUSTYPE=%s DOMID=%u DEVID=%u XENBUSACTION=%s",
	    r->wr_uuid, kind, domid, devid, hotplug_action_name(action));
	if (udev_wait_write(syspath, text) < 0) {
		int saved = errno;
		log_warn("%s: cannot raise the hotplug uevent for %s %u/%u", syspath, kind, domid,
		    devid);
		udev_wait_req_free(r);
		errno = saved;
		return NULL;
	}
	return r;
}

/* Waits for udev to have processed a device's own event. */
struct udev_wait_req *
udev_wait_device(struct udev_wait *uw, const char *subsystem, const char *sysname,
    const char *action, int timeout_ms, udev_wait_cb cb, void *arg)
{
	struct udev_wait_req *r = udev_wait_req_new(uw, timeout_ms, cb, arg);

	r->wr_subsystem = xstrdup(subsystem);
	r->wr_sysname = xstrdup(sysname);
	r->wr_action = xstrdup(action);
	return r;
}

/* Forgets a wait. */
void
udev_wait_cancel(struct udev_wait_req *r)
{
	udev_wait_req_free(r);
}
