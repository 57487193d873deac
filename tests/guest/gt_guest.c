/*
 * A test kernel on the guest runtime: its command line names a scenario, and
 * it reports each step on its console as "GT <what> <value>" lines for the
 * test to read. Input lines from the test move it to the next step.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "guest.h"
#include "hv_elfnote.h"
#include "xb_msg.h"

HV_GUEST_ELFNOTE();

static struct guest g;

/* Waits for one line typed by the test. */
static void
gt_guest_line(char *buf, size_t cap)
{
	size_t len = 0;
	char c;

	for (;;) {
		while (console_read(g.g_cons, &c, 1) == 1) {
			if (c == '\r' || c == '\n') {
				buf[len] = '\0';
				return;
			}
			if (len + 1 < cap)
				buf[len++] = c;
		}
		events_poll(g.g_ev, -1);
	}
}

/* Grant a page to dom0, see its write, fail to end access while mapped. */
static void
gt_guest_grant(void)
{
	hv_gref_t ref;
	uint64_t pfn;
	char line[64];
	char *page = grant_alloc_page(&g, 0, 0, &ref, &pfn);

	if (page == NULL) {
		console_printf(g.g_cons, "GT grant-failed %s\n", xb_msg_errname(errno));
		return;
	}
	strcpy(page, "granted by the guest");
	console_printf(g.g_cons, "GT gref %u pfn %llu\n", ref, (unsigned long long)pfn);
	gt_guest_line(line, sizeof(line));	/* dom0 has mapped and written */
	console_printf(g.g_cons, "GT seen %s\n", page + 2048);
	int rc = grant_free_page(&g, ref, pfn);
	console_printf(g.g_cons, "GT end-mapped %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
	gt_guest_line(line, sizeof(line));	/* dom0 has unmapped */
	rc = grant_free_page(&g, ref, pfn);
	console_printf(g.g_cons, "GT end-unmapped %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
}

/* Frontend side of a handshake: publish our state, wait for the backend's. */
static void
gt_guest_state(void)
{
	XenbusState got;

	xenbus_switch_state(g.g_xb, XENBUS_TX_NONE, "data/fe", XenbusStateInitialised);
	int rc = xenbus_wait_for_state(g.g_xb, "data/be", XenbusStateConnected,
	    XenbusStateConnected, 5000, &got);
	console_printf(g.g_cons, "GT wait %s %s\n", rc == 0 ? "OK" : xb_msg_errname(errno),
	    xenbus_state_name(got));
	rc = xenbus_wait_for_state(g.g_xb, "data/be", XenbusStateClosed, XenbusStateClosed, 300,
	    &got);
	console_printf(g.g_cons, "GT wait-closed %s %s\n", rc == 0 ? "OK" : xb_msg_errname(errno),
	    xenbus_state_name(got));
}

struct gt_tx {
	int attempts;
};

static int
gt_guest_tx_body(struct xenbus *xb, xenbus_tx_t tx, void *arg)
{
	struct gt_tx *t = arg;

	t->attempts++;
	return xenbus_printf(xb, tx, "data/tx", "%d", t->attempts);
}

/* A transaction the store refuses twice with EAGAIN. */
static void
gt_guest_tx(void)
{
	struct gt_tx t = { 0 };
	int rc = xenbus_transaction(g.g_xb, gt_guest_tx_body, &t);

	console_printf(g.g_cons, "GT tx %s attempts %d\n", rc == 0 ? "OK" : xb_msg_errname(errno),
	    t.attempts);
}

/* A batch: writes and a watch sent without waiting, a read in between, one refusal reported at the end. */
static void
gt_guest_batch(void)
{
	xenbus_batch_begin(g.g_xb);
	int w1 = xenbus_write(g.g_xb, XENBUS_TX_NONE, "data/b1", "1");
	int w2 = xenbus_write(g.g_xb, XENBUS_TX_NONE, "/local/domain/0/refused", "x");
	int w3 = xenbus_watch(g.g_xb, "data/b1", "bw", NULL, NULL);
	char *v = xenbus_read(g.g_xb, XENBUS_TX_NONE, "data/b1", NULL);
	int rc = xenbus_batch_end(g.g_xb);
	console_printf(g.g_cons, "GT batch posted %d %d %d read %s end %s\n", w1, w2, w3,
	    v ? v : "-", rc == 0 ? "OK" : xb_msg_errname(errno));
	free(v);
	rc = xenbus_wait_event(g.g_xb, "bw", 2000);
	console_printf(g.g_cons, "GT batch watch %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
	xenbus_batch_begin(g.g_xb);
	xenbus_write(g.g_xb, XENBUS_TX_NONE, "data/b2", "2");
	rc = xenbus_batch_end(g.g_xb);
	console_printf(g.g_cons, "GT batch2 %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
}

/* Output nobody reads: the guest must drop it and go on, not hang. */
static void
gt_guest_flood(void)
{
	char line[101];

	memset(line, 'f', 99);
	line[99] = '\n';
	line[100] = '\0';
	for (int i = 0; i < 100; i++)
		console_write(g.g_cons, line, 100);
	xenbus_write(g.g_xb, XENBUS_TX_NONE, "data/flood", "done");
	char buf[8];
	gt_guest_line(buf, sizeof(buf));	/* the test drains again */
	console_printf(g.g_cons, "GT dropped %lu\n", console_dropped(g.g_cons));
}

/* Messages bigger than the ring go out and come back in pieces. */
static void
gt_guest_big(void)
{
	static char value[XENSTORE_PAYLOAD_MAX + 8];
	size_t len;

	for (size_t i = 0; i < 3000; i++)
		value[i] = 'a' + i % 26;
	value[3000] = '\0';
	int rc = xenbus_write(g.g_xb, XENBUS_TX_NONE, "data/big", value);
	char *back = xenbus_read(g.g_xb, XENBUS_TX_NONE, "data/big", &len);
	console_printf(g.g_cons, "GT big %s %zu %s\n", rc == 0 ? "OK" : xb_msg_errname(errno),
	    back != NULL ? len : 0, back != NULL && strcmp(back, value) == 0 ? "same" : "differs");
	free(back);
	memset(value, 'z', XENSTORE_PAYLOAD_MAX);
	value[XENSTORE_PAYLOAD_MAX] = '\0';
	rc = xenbus_write(g.g_xb, XENBUS_TX_NONE, "data/huge", value);
	console_printf(g.g_cons, "GT huge %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
	back = xenbus_read(g.g_xb, XENBUS_TX_NONE, "data/big", &len);
	console_printf(g.g_cons, "GT after %s\n", back != NULL ? "OK" : xb_msg_errname(errno));
	free(back);
}

struct gt_fe {
	hv_gref_t ring_ref;
	int port;
	int kicks;
};

/* What a blkfront publishes: ring, event channel, protocol. */
static int
gt_fe_publish(struct frontend *fe, xenbus_tx_t tx, void *arg)
{
	struct gt_fe *x = arg;

	if (frontend_printf(fe, tx, "ring-ref", "%u", x->ring_ref) < 0 ||
	    frontend_printf(fe, tx, "event-channel", "%d", x->port) < 0)
		return -1;
	return frontend_printf(fe, tx, "protocol", "x86_64-abi");
}

/* Counts the backend's notifications. */
static void
gt_fe_event(hv_port_t port, void *arg)
{
	struct gt_fe *x = arg;

	(void)port;
	x->kicks++;
}

static bool
gt_fe_kicked(void *arg)
{
	struct gt_fe *x = arg;

	return x->kicks > 0;
}

/* The frontend handshake against a backend the test plays. */
static void
gt_guest_frontend(void)
{
	struct frontend fe;
	struct gt_fe x = { 0 };
	unsigned num;
	uint64_t pfn;
	char **ids = frontend_list(&g, "vbd", &num);

	if (ids == NULL || num != 1 || frontend_init(&fe, &g, "vbd", ids[0]) < 0) {
		console_printf(g.g_cons, "GT fe init %s\n", xb_msg_errname(errno));
		free(ids);
		return;
	}
	free(ids);
	console_printf(g.g_cons, "GT fe backend %s %u\n", fe.fe_backend, fe.fe_backend_id);
	char *page = grant_alloc_page(&g, fe.fe_backend_id, 0, &x.ring_ref, &pfn);
	x.port = frontend_alloc_evtchn(&fe, gt_fe_event, &x);
	if (page == NULL || x.port < 0) {
		console_printf(g.g_cons, "GT fe alloc %s\n", xb_msg_errname(errno));
		return;
	}
	strcpy(page, "ring page");
	int rc = frontend_connect(&fe, gt_fe_publish, &x, 10000);
	console_printf(g.g_cons, "GT fe connected %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
	rc = events_wait(g.g_ev, gt_fe_kicked, &x, 5000);
	console_printf(g.g_cons, "GT fe kicked %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
	rc = frontend_shutdown(&fe, 10000);
	console_printf(g.g_cons, "GT fe closed %s\n", rc == 0 ? "OK" : xb_msg_errname(errno));
}

int
main(void)
{
	if (guest_boot(&g) < 0)
		return 1;
	const char *scenario = (const char *)g.g_start.cmd_line;
	console_printf(g.g_cons, "GT start %s\n", scenario);
	if (strcmp(scenario, "grant") == 0)
		gt_guest_grant();
	else if (strcmp(scenario, "state") == 0)
		gt_guest_state();
	else if (strcmp(scenario, "tx") == 0)
		gt_guest_tx();
	else if (strcmp(scenario, "frontend") == 0)
		gt_guest_frontend();
	else if (strcmp(scenario, "big") == 0)
		gt_guest_big();
	else if (strcmp(scenario, "flood") == 0)
		gt_guest_flood();
	else if (strcmp(scenario, "batch") == 0)
		gt_guest_batch();
	console_printf(g.g_cons, "GT done\n");
	guest_shutdown(&g, SHUTDOWN_poweroff);
}
