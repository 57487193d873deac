/*
 * libFuzzer target: arbitrary messages on a guest's channel into hvd's real
 * connection, dispatch and handler code (everything but main.c). The input is
 * split into messages at each "\n--\n"; each is sent as one SEQPACKET message,
 * then the loop runs once. hvd must never crash, whatever a guest sends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvd.h"
#include "log.h"

static struct event_base *fz_base;

/* One hvd world per process: dom0, one domain with a couple of ports. */
static void
fz_init(void)
{
	struct hv_req_domain_create req = { .mem_kib = 1024, .vcpus = 1 };
	uint32_t domid, port;

	log_init("fuzz", 0, 0);
	fz_base = event_base_new();
	hvd_build_init(fz_base, "/nonexistent", true);	/* never builds: no confinement to probe */
	hvd_domain_init();
	if (hvd_domain_create(&req, &domid) < 0)
		abort();
	hvd_evtchn_alloc_unbound(hvd_domain_get(domid), 0, NULL, &port);
	hvd_evtchn_alloc_unbound(hvd_domain_get(0), domid, NULL, &port);
}

/* Drains the replies hvd sent to the guest's end, closing any fds they carry. */
static void
fz_drain(int fd)
{
	char buf[HV_MSG_MAX];
	union { struct cmsghdr a; char b[CMSG_SPACE(8 * sizeof(int))]; } ctl;

	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			.msg_controllen = sizeof(ctl.b) };
		if (recvmsg(fd, &mh, MSG_DONTWAIT) <= 0)
			return;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			for (unsigned i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				close(((int *)CMSG_DATA(cm))[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvd_domain *d;
	struct hvd_conn *c;
	int sv[2];

	if (fz_base == NULL)
		fz_init();
	d = hvd_domain_get(1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	c = hvd_conn_new(fz_base, sv[0], d);
	d->guest = c;
	while (size > 0) {
		const uint8_t *end = memmem(data, size, "\n--\n", 4);
		size_t n = end ? (size_t)(end - data) : size;
		if (n > 0 && send(sv[1], data, n, MSG_DONTWAIT) < 0)
			break;
		event_base_loop(fz_base, EVLOOP_NONBLOCK);
		fz_drain(sv[1]);
		data += end ? n + 4 : n;
		size -= end ? n + 4 : n;
	}
	close(sv[1]);
	event_base_loop(fz_base, EVLOOP_NONBLOCK);	/* sees EOF, frees the connection */
	if (d->guest == c)
		hvd_conn_free(c);
	/* a guest shutdown marks the domain; keep the world reusable */
	d->shutdown = false;
	return 0;
}
