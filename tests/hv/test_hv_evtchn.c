/* Event channels: an interdomain ping-pong with a guest, VIRQ_DOM_EXC, and Xen's close semantics. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "hv_test_util.h"

static struct hvt t;

static void setup(void) { hvt_start(&t); }
static void teardown(void) { hvt_stop(&t); }

TestSuite(hv_evtchn, .init = setup, .fini = teardown, .timeout = 30);

Test(hv_evtchn, pingpong_with_guest)
{
	hv_port_t sp;
	hv_domid_t domid = hvt_guest(&t, "pingpong", &sp, NULL);
	struct hv_evtchn *xce = hv_evtchn_open(t.hv);
	int local;

	cr_assert_not_null(xce);
	local = hv_evtchn_bind_interdomain(xce, domid, sp);
	cr_assert(local > 0, "bind_interdomain: %s", strerror(errno));
	cr_assert_eq(hv_domain_unpause(t.hv, domid), 0);
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(hv_evtchn_notify(xce, local), 0);
		cr_assert_eq(hvt_wait_event(xce, 5000), local, "round %d", i);
		cr_assert_eq(hv_evtchn_unmask(xce, local), 0);
	}
	/* nothing left over: each ping got exactly one pong */
	cr_assert_eq(hv_evtchn_pending(xce), -1);
	cr_assert_eq(errno, EAGAIN);
	hv_evtchn_close(xce);
	cr_assert_eq(hv_domain_destroy(t.hv, domid), 0);
}

Test(hv_evtchn, two_guests_pingpong_without_dom0)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_build_config b = { .kernel = HVT_GUEST, .cmdline = "pingpong" };
	struct hv_dominfo info;
	hv_domid_t a, p;
	char cmd[64];
	int port;

	/* a's store port is made for b to bind, as a toolstack would for a guest pair */
	cr_assert_eq(hv_domain_create(t.hv, &cfg, &a), 0);
	cr_assert_eq(hv_domain_create(t.hv, &cfg, &p), 0);
	port = hv_evtchn_alloc_unbound(t.hv, a, p);
	cr_assert(port > 0);
	b.store_port = port;
	cr_assert_eq(hv_domain_build(t.hv, a, &b, NULL), 0);
	snprintf(cmd, sizeof(cmd), "ping %u %d 500", a, port);
	b.cmdline = cmd;
	b.store_port = 0;
	cr_assert_eq(hv_domain_build(t.hv, p, &b, NULL), 0);
	cr_assert_eq(hv_domain_unpause(t.hv, a), 0);
	cr_assert_eq(hv_domain_unpause(t.hv, p), 0);
	cr_assert(hvt_wait_flags(&t, p, HV_DOMINF_SHUTDOWN, HV_DOMINF_SHUTDOWN, 10000, &info));
	cr_assert_eq(info.shutdown_reason, SHUTDOWN_poweroff, "ping guest failed (reason %u)",
	    info.shutdown_reason);
	cr_assert_eq(hv_domain_destroy(t.hv, p), 0);
	cr_assert_eq(hv_domain_destroy(t.hv, a), 0);
}

Test(hv_evtchn, dom0_loopback_and_close_makes_peer_unbound)
{
	struct hv_evtchn *a = hv_evtchn_open(t.hv), *b = hv_evtchn_open(t.hv);
	int pa, pb;

	pa = hv_evtchn_bind_unbound_port(a, 0);
	cr_assert(pa > 0);
	pb = hv_evtchn_bind_interdomain(b, 0, pa);
	cr_assert(pb > 0 && pb != pa);
	cr_assert_eq(hv_evtchn_notify(a, pa), 0);
	cr_assert_eq(hvt_wait_event(b, 1000), pb);
	cr_assert_eq(hv_evtchn_notify(b, pb), 0);
	cr_assert_eq(hvt_wait_event(a, 1000), pa);
	/* port_fd takes the port out of the handle's epoll set */
	int fd = hv_evtchn_port_fd(b, pb);
	cr_assert(fd >= 0);
	cr_assert_eq(hv_evtchn_notify(a, pa), 0);
	cr_assert_eq(hv_evtchn_pending(b), -1);
	cr_assert_eq(hv_evtchn_ack(b, pb), 1);
	cr_assert_eq(hv_evtchn_ack(b, pb), 0);
	/* a second bind to a bound port is refused */
	struct hv_evtchn *c = hv_evtchn_open(t.hv);
	cr_assert_eq(hv_evtchn_bind_interdomain(c, 0, pa), -1);
	cr_assert_eq(errno, EINVAL);
	/* closing b leaves a unbound: c may now bind it */
	hv_evtchn_close(b);
	int pc = hv_evtchn_bind_interdomain(c, 0, pa);
	cr_assert(pc > 0, "rebind after close: %s", strerror(errno));
	cr_assert_eq(hv_evtchn_notify(c, pc), 0);
	cr_assert_eq(hvt_wait_event(a, 1000), pa);
	hv_evtchn_close(a);
	hv_evtchn_close(c);
}

Test(hv_evtchn, unknown_remote_refused)
{
	struct hv_evtchn *a = hv_evtchn_open(t.hv);

	cr_assert_eq(hv_evtchn_bind_interdomain(a, 4242, 1), -1);
	cr_assert_eq(errno, ESRCH);
	cr_assert_eq(hv_evtchn_bind_interdomain(a, 0, 999), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(hv_evtchn_notify(a, 1), -1);
	hv_evtchn_close(a);
}

/* Waits for one VIRQ_DOM_EXC and checks no second one is queued. */
static void
expect_one_virq(struct hv_evtchn *xce, int port, const char *what)
{
	cr_assert_eq(hvt_wait_event(xce, 5000), port, "no VIRQ_DOM_EXC for %s", what);
	usleep(20000);
	cr_assert_eq(hv_evtchn_pending(xce), -1, "extra VIRQ_DOM_EXC after %s", what);
}

Test(hv_evtchn, virq_dom_exc_on_shutdown_crash_destroy)
{
	struct hv_evtchn *xce = hv_evtchn_open(t.hv), *xce2 = hv_evtchn_open(t.hv);
	struct hv_dominfo info;
	int port = hv_evtchn_bind_virq(xce, VIRQ_DOM_EXC);
	int port2 = hv_evtchn_bind_virq(xce2, VIRQ_DOM_EXC);

	cr_assert(port > 0 && port2 > 0 && port != port2);

	hv_domid_t d1 = hvt_guest(&t, "shutdown poweroff", NULL, NULL);
	cr_assert_eq(hv_evtchn_pending(xce), -1, "VIRQ before anything happened");
	cr_assert_eq(hv_domain_unpause(t.hv, d1), 0);
	expect_one_virq(xce, port, "shutdown");
	cr_assert(hvt_wait_flags(&t, d1, HV_DOMINF_SHUTDOWN, HV_DOMINF_SHUTDOWN, 5000, &info));
	/* every handle bound to the VIRQ hears it */
	expect_one_virq(xce2, port2, "shutdown (second handle)");

	hv_domid_t d2 = hvt_guest(&t, "crash", NULL, NULL);
	cr_assert_eq(hv_domain_unpause(t.hv, d2), 0);
	expect_one_virq(xce, port, "crash");
	expect_one_virq(xce2, port2, "crash (second handle)");

	cr_assert_eq(hv_domain_destroy(t.hv, d1), 0);
	expect_one_virq(xce, port, "destroy");
	cr_assert_eq(hv_domain_destroy(t.hv, d2), 0);
	expect_one_virq(xce, port, "destroy");

	/* destroying a running guest: shutdown is not involved, destroy still fires */
	hv_domid_t d3 = hvt_guest(&t, "sleep", NULL, NULL);
	cr_assert_eq(hv_domain_unpause(t.hv, d3), 0);
	cr_assert_eq(hv_domain_destroy(t.hv, d3), 0);
	expect_one_virq(xce, port, "destroy of a running guest");
	hv_evtchn_close(xce);
	hv_evtchn_close(xce2);
}
