/*
 * The guest kernel the hv tests boot. Its behaviour comes from the command
 * line in start_info: "pingpong", "spin", "sleep", "crash",
 * "shutdown poweroff|reboot|crash|suspend|watchdog", "grant", "console TEXT".
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv_elfnote.h"
#include "hv_test_guest.h"
#include "libhv.h"

HV_GUEST_ELFNOTE();

/* Waits for any event on the handle; returns the port. */
static int
tg_wait(struct hv_evtchn *xce)
{
	struct pollfd pfd = { .fd = hv_evtchn_fd(xce), .events = POLLIN };

	for (;;) {
		int port = hv_evtchn_pending(xce);
		if (port >= 0)
			return port;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

/* Echoes every event on the store port (through the handle) and on the
 * console port (its raw eventfd), for the ping-pong test and the bench. */
static int
tg_pingpong(struct hv *hv, const start_info_t *si)
{
	struct hv_evtchn *xce = hv_evtchn_open(hv);
	int sp = si->store_evtchn, cp = si->console.domU.evtchn;
	struct pollfd pfd[2];
	int n = 1;

	if (xce == NULL || hv_evtchn_attach(xce, sp) < 0)
		return 1;
	pfd[0] = (struct pollfd){ .fd = hv_evtchn_fd(xce), .events = POLLIN };
	if (cp && hv_evtchn_attach(xce, cp) >= 0) {
		pfd[1] = (struct pollfd){ .fd = hv_evtchn_port_fd(xce, cp), .events = POLLIN };
		n = 2;
	}
	for (;;) {
		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			return 1;
		int port;
		while ((port = hv_evtchn_pending(xce)) >= 0)
			hv_evtchn_notify(xce, port);
		if (n == 2 && hv_evtchn_ack(xce, cp) > 0)
			hv_evtchn_notify(xce, cp);
	}
}

/* Publishes three grants and serves end-access commands on the store port. */
static int
tg_grant(struct hv *hv, const struct hv_guest_info *gi)
{
	volatile struct tg_page *pg = (void *)((char *)gi->mem + TG_PFN_PAGE * 4096);
	struct hv_evtchn *xce = hv_evtchn_open(hv);
	int sp = gi->start_info->store_evtchn;
	int ro, rw, other;

	memset((char *)gi->mem + TG_PFN_RO * 4096, TG_FILL_RO, 4096);
	memset((char *)gi->mem + TG_PFN_RW * 4096, TG_FILL_RW, 4096);
	ro = hv_guest_grant(hv, 0, TG_PFN_RO, 1);
	rw = hv_guest_grant(hv, 0, TG_PFN_RW, 0);
	other = hv_guest_grant(hv, 5, TG_PFN_OTHER, 0);
	if (xce == NULL || ro < 0 || rw < 0 || other < 0 || hv_evtchn_attach(xce, sp) < 0)
		return 1;
	pg->ref_ro = ro;
	pg->ref_rw = rw;
	pg->ref_other = other;
	__atomic_store_n(&pg->magic, TG_MAGIC, __ATOMIC_RELEASE);
	hv_evtchn_notify(xce, sp);
	for (;;) {
		if (tg_wait(xce) < 0)
			return 1;
		switch (pg->cmd) {
		case TG_CMD_END_ACCESS:
			pg->result = hv_guest_end_access(hv, pg->arg) < 0 ? -errno : 0;
			break;
		default:
			pg->result = -ENOSYS;
		}
		pg->cmd = TG_CMD_NONE;
		__atomic_fetch_add(&pg->done, 1, __ATOMIC_RELEASE);
		hv_evtchn_notify(xce, sp);
	}
}

/*
 * Tries what a guest must not do on its channel; powers off when every
 * attempt was refused as it should be, else "crashes" with the step number
 * in the console.
 */
static int
tg_probe(struct hv *hv)
{
	struct hv_domain_config cfg = { .mem_kib = 4096, .vcpus = 1 };
	struct hv_evtchn *xce = hv_evtchn_open(hv);
	struct hv_dominfo info;
	hv_domid_t domid;
	int step = 0, self = hv_self(hv);

	if (++step, hv_domain_create(hv, &cfg, &domid) != -1 || errno != EPERM)
		goto fail;
	if (++step, hv_domain_destroy(hv, self) != -1 || errno != EPERM)
		goto fail;
	if (++step, hv_domain_getinfo(hv, 0, &info) != -1 || errno != EPERM)
		goto fail;
	if (++step, hv_domain_unpause(hv, self) != -1 || errno != EPERM)
		goto fail;
	if (++step, hv_evtchn_bind_virq(xce, VIRQ_DOM_EXC) != -1 || errno != EPERM)
		goto fail;
	/* a port in dom0's space, or any other domain's, is not ours to make */
	if (++step, hv_evtchn_alloc_unbound(hv, 0, self) != -1 || errno != EPERM)
		goto fail;
	if (++step, hv_foreign_map(hv, 0, PROT_READ, 0, 1) != NULL || errno != EPERM)
		goto fail;
	if (++step, hv_console_read(hv, 0) != NULL || errno != EPERM)
		goto fail;
	/* our own space is fine: a port for dom0 to bind */
	if (++step, hv_evtchn_bind_unbound_port(xce, 0) <= 0)
		goto fail;
	/* but it is bounded, like xl's max_event_channels */
	int nports = 1;
	while (hv_evtchn_bind_unbound_port(xce, 0) > 0)
		nports++;
	if (++step, errno != ENOSPC || nports < 1000 || nports > 1023)
		goto fail;
	hv_evtchn_close(xce);
	if (++step, (xce = hv_evtchn_open(hv)) == NULL || hv_evtchn_bind_unbound_port(xce, 0) <= 0)
		goto fail;
	hv_guest_shutdown(hv, SHUTDOWN_poweroff);
fail:;
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "probe failed at step %d: %s", step, strerror(errno));
	hv_guest_console_write(hv, msg, n);
	hv_guest_shutdown(hv, SHUTDOWN_crash);
	return 1;
}

/* A child that leaves the guest's process group (setsid) and publishes its pid in arg. */
static int
tg_escape(const struct hv_guest_info *gi)
{
	volatile struct tg_page *pg = (void *)((char *)gi->mem + TG_PFN_PAGE * 4096);
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		setsid();
		pg->arg = getpid();
		__atomic_store_n(&pg->magic, TG_MAGIC, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	for (;;)
		pause();
}

/*
 * "ping DOMID PORT COUNT": binds another guest's port and ping-pongs COUNT
 * times with it; powers off when every pong came back, crashes otherwise.
 */
static int
tg_ping(struct hv *hv, const char *args)
{
	struct hv_evtchn *xce = hv_evtchn_open(hv);
	unsigned dom, port, count;
	int local;

	if (xce == NULL || sscanf(args, "%u %u %u", &dom, &port, &count) != 3)
		goto fail;
	local = hv_evtchn_bind_interdomain(xce, dom, port);
	if (local < 0)
		goto fail;
	for (unsigned i = 0; i < count; i++)
		if (hv_evtchn_notify(xce, local) < 0 || tg_wait(xce) != local)
			goto fail;
	hv_guest_shutdown(hv, SHUTDOWN_poweroff);
fail:
	hv_guest_shutdown(hv, SHUTDOWN_crash);
	return 1;
}

/* SHUTDOWN_* by name. */
static int
tg_reason(const char *s)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
main(void)
{
	struct hv *hv = hv_open_guest();
	const struct hv_guest_info *gi;
	char cmd[1024];

	if (hv == NULL) {
		perror("hv_open_guest");
		return 1;
	}
	gi = hv_guest_info(hv);
	if (strcmp((const char *)gi->start_info->magic, "xen-3.0-x86_64") != 0)
		return 2;
	memcpy(cmd, (const char *)gi->start_info->cmd_line, sizeof(cmd));
	cmd[sizeof(cmd) - 1] = '\0';

	if (strcmp(cmd, "pingpong") == 0)
		return tg_pingpong(hv, gi->start_info);
	if (strcmp(cmd, "grant") == 0)
		return tg_grant(hv, gi);
	if (strcmp(cmd, "probe") == 0)
		return tg_probe(hv);
	if (strcmp(cmd, "escape") == 0)
		return tg_escape(gi);
	if (strncmp(cmd, "ping ", 5) == 0)
		return tg_ping(hv, cmd + 5);
	if (strcmp(cmd, "spin") == 0)
		for (volatile unsigned long i = 0;; i++)
			;
	if (strcmp(cmd, "crash") == 0)
		abort();
	if (strncmp(cmd, "shutdown ", 9) == 0) {
		int r = tg_reason(cmd + 9);
		if (r < 0 || hv_guest_shutdown(hv, r) < 0)
			return 3;
	}
	if (strncmp(cmd, "console ", 8) == 0)
		hv_guest_console_write(hv, cmd + 8, strlen(cmd + 8));
	if (strcmp(cmd, "exit") == 0) {
		hv_close(hv);
		return 0;
	}
	for (;;)
		pause();
}
