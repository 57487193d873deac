/*
 * The domain's vifs as UML's eth<devid>: UML's "daemon" transport speaks the
 * uml_switch protocol (a stream control socket, then one Ethernet frame per
 * unix datagram), and the shim is that switch, with one port per vif whose
 * other side is netfront. Everything stays inside the domain: the sockets
 * live in its /tmp and its own network namespace, and every frame crosses
 * to dom0 through netfront and netback.
 *
 * Protocol facts (arch/um/drivers/daemon_user.c): UML connects to the
 * control socket, sends {magic 0xfeedface, version 3, type 0 (new control),
 * the sockaddr_un of its own datagram socket}, and reads back the
 * sockaddr_un of the switch's datagram socket; frames then go both ways
 * with sendto.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frontend.h"
#include "netfront.h"
#include "shim.h"

#define SHIM_NET_MAGIC		0xfeedfaceu
#define SHIM_NET_VERSION	3
#define SHIM_NET_FRAME_MAX	(64 * 1024)

struct shim_net_req {
	uint32_t magic;
	uint32_t version;
	uint32_t type;
	struct sockaddr_un sock;
};

/* One switch port: the vif's netfront and UML's end of it. */
struct shim_net_port {
	struct netfront *np_nf;
	unsigned np_devid;
	int np_ctl;			/* listening control socket */
	int np_conn;			/* UML's control connection, -1 before */
	int np_data;			/* our datagram socket */
	struct sockaddr_un np_peer;	/* UML's datagram socket */
	bool np_peer_known;
	char np_ctl_path[64];
};

static struct guest *shim_net_guest;
static struct shim_net_port shim_net_ports[SHIM_MAX_NICS];
static unsigned shim_net_nports;
static uint8_t shim_net_frame[SHIM_NET_FRAME_MAX];

/* A frame from dom0 (netfront's RX): to UML, once it has said where. */
static void
shim_net_rx(struct netfront *nf, const uint8_t *frame, size_t len, void *arg)
{
	struct shim_net_port *p = arg;

	(void)nf;
	if (p->np_peer_known)
		(void)!sendto(p->np_data, frame, len, MSG_DONTWAIT, (struct sockaddr *)&p->np_peer,
		    sizeof(p->np_peer));
}

/* Frames from UML: to netfront, one batch per wakeup. */
static void
shim_net_tx(int fd, short revents, void *arg)
{
	struct shim_net_port *p = arg;
	ssize_t n;
	int queued = 0;

	(void)revents;
	while ((n = recv(fd, shim_net_frame, sizeof(shim_net_frame), MSG_DONTWAIT)) > 0) {
		if (netfront_queue(p->np_nf, shim_net_frame, (size_t)n) < 0) {
			/* the ring is full: publish what we have and wait for room once */
			netfront_kick(p->np_nf);
			netfront_wait_tx(p->np_nf, 100);
			if (netfront_queue(p->np_nf, shim_net_frame, (size_t)n) < 0)
				continue;	/* dropped, as a full NIC drops */
		}
		queued++;
	}
	if (queued)
		netfront_kick(p->np_nf);
}

/* UML's control request: learn its datagram address, answer with ours. */
static void
shim_net_request(int fd, short revents, void *arg)
{
	struct shim_net_port *p = arg;
	struct shim_net_req req;
	struct sockaddr_un ours;
	socklen_t len = sizeof(ours);

	(void)revents;
	if (recv(fd, &req, sizeof(req), MSG_WAITALL) != sizeof(req) ||
	    req.magic != SHIM_NET_MAGIC || req.version != SHIM_NET_VERSION || req.type != 0 ||
	    req.sock.sun_family != AF_UNIX ||
	    getsockname(p->np_data, (struct sockaddr *)&ours, &len) < 0 ||
	    send(fd, &ours, sizeof(ours), 0) != sizeof(ours)) {
		events_unwatch_fd(shim_net_guest->g_ev, fd);
		close(fd);
		p->np_conn = -1;
		return;
	}
	p->np_peer = req.sock;
	p->np_peer_known = true;
	/* the connection stays open (UML holds it); nothing more comes on it */
	events_unwatch_fd(shim_net_guest->g_ev, fd);
}

/* UML connects to the control socket. */
static void
shim_net_accept(int fd, short revents, void *arg)
{
	struct shim_net_port *p = arg;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	(void)revents;
	if (c < 0)
		return;
	if (p->np_conn >= 0)
		close(p->np_conn);
	p->np_conn = c;
	events_watch_fd(shim_net_guest->g_ev, c, POLLIN, shim_net_request, p);
}

static int
shim_net_bind(int type, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A switch port for one connected vif. */
static int
shim_net_port_open(struct shim *s, struct netfront *nf)
{
	struct shim_net_port *p = &shim_net_ports[shim_net_nports];
	char data[64];

	p->np_nf = nf;
	p->np_devid = (unsigned)atoi(netfront_devid(nf));
	p->np_conn = -1;
	snprintf(p->np_ctl_path, sizeof(p->np_ctl_path), "/tmp/net%u.ctl", p->np_devid);
	snprintf(data, sizeof(data), "/tmp/net%u.data", p->np_devid);
	if ((p->np_ctl = shim_net_bind(SOCK_STREAM, p->np_ctl_path)) < 0 ||
	    (p->np_data = shim_net_bind(SOCK_DGRAM, data)) < 0)
		return -1;
	netfront_set_rx(nf, shim_net_rx, p);
	if (events_watch_fd(s->s_g->g_ev, p->np_ctl, POLLIN, shim_net_accept, p) < 0 ||
	    events_watch_fd(s->s_g->g_ev, p->np_data, POLLIN, shim_net_tx, p) < 0)
		return -1;
	shim_net_nports++;
	return 0;
}

static void
shim_net_report(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_vprintf(g->g_cons, fmt, ap);
	va_end(ap);
}

static unsigned
shim_net_connected(void)
{
	unsigned n = 0;

	while (netfront_bus_get(n))
		n++;
	return n;
}

/* Waits for every vif, then opens a switch port per vif. */
int
shim_net_init(struct shim *s, int timeout_ms)
{
	struct guest *g = s->s_g;
	struct netfront_hooks h = { .nh_report = shim_net_report };
	unsigned want = 0;
	char **ids = frontend_list(g, "vif", &want);
	long long deadline = events_now_ms() + timeout_ms;
	struct netfront *nf;

	free(ids);
	shim_net_guest = g;
	if (netfront_bus_init(g, &h) < 0)
		return -1;
	while (shim_net_connected() < want && events_now_ms() < deadline) {
		events_poll(g->g_ev, 100);
		xenbus_dispatch_watches(g->g_xb);
	}
	for (unsigned i = 0; i < SHIM_MAX_NICS && (nf = netfront_bus_get(i)) != NULL; i++)
		if (shim_net_port_open(s, nf) < 0)
			return -1;
	if (shim_net_nports < want)
		console_printf(g->g_cons, "umlshim: %u of %u interfaces connected; booting without "
		    "the others\n", shim_net_nports, want);
	return 0;
}

/* UML's eth<devid>=daemon,<mac>,unix,<control socket> for each port. */
void
shim_net_args(void (*add)(void *arg, const char *fmt, ...), void *arg)
{
	for (unsigned i = 0; i < shim_net_nports; i++) {
		const uint8_t *m = netfront_info(shim_net_ports[i].np_nf)->ni_mac;
		add(arg, "eth%u=daemon,%02x:%02x:%02x:%02x:%02x:%02x,unix,%s",
		    shim_net_ports[i].np_devid, m[0], m[1], m[2], m[3], m[4], m[5],
		    shim_net_ports[i].np_ctl_path);
	}
}
