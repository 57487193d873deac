/* The device-independent steps of the backend tests' frontends (tfront.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "libhv.h"
#include "tfront.h"

/* A domain whose memory the test fills as its guest would. */
void
tfront_domain(struct stack *st, unsigned pages, int *ports, unsigned nports,
    struct tfront_dom *d)
{
	struct hv_domain_config cfg = { .mem_kib = pages * 4, .vcpus = 1 };
	struct hv_build_config b = { 0 };
	struct hv_build_result res;
	char cmdline[128];
	int n;

	memset(d, 0, sizeof(*d));
	cr_assert_eq(hv_domain_create(st->s_hv, &cfg, &d->td_domid), 0, "create: %s",
	    strerror(errno));
	cr_assert_not_null(d->td_xce = hv_evtchn_open(st->s_hv));
	cr_assert_geq(d->td_bell = hv_evtchn_bind_unbound_port(d->td_xce, d->td_domid), 0);
	n = snprintf(cmdline, sizeof(cmdline), "doorbell=%d ports=", d->td_bell);
	for (unsigned q = 0; q < nports; q++) {
		ports[q] = hv_evtchn_alloc_unbound(st->s_hv, d->td_domid, 0);
		cr_assert_gt(ports[q], 0);
		n += snprintf(cmdline + n, sizeof(cmdline) - n, "%s%d", q ? "," : "", ports[q]);
	}
	b.kernel = stack_prog("tests/blkback/bbguest");
	b.cmdline = cmdline;
	b.store_port = hv_evtchn_alloc_unbound(st->s_hv, d->td_domid, 0);
	b.console_port = hv_evtchn_alloc_unbound(st->s_hv, d->td_domid, 0);
	cr_assert_eq(hv_domain_build(st->s_hv, d->td_domid, &b, &res), 0, "build: %s",
	    strerror(errno));
	cr_assert_eq(hv_domain_unpause(st->s_hv, d->td_domid), 0);
	d->td_mem = hv_foreign_map(st->s_hv, d->td_domid, PROT_READ | PROT_WRITE, 0, pages);
	cr_assert_not_null(d->td_mem);
	d->td_gnt = (grant_entry_v1_t *)(d->td_mem + HV_PFN_GNTTAB * 4096);
}

/* The domain goes; our mapping of it first. */
void
tfront_destroy(struct stack *st, uint32_t domid, struct hv_evtchn *xce)
{
	hv_foreign_forget(st->s_hv, domid);
	hv_evtchn_close(xce);
	hv_domain_destroy(st->s_hv, domid);
}

/* Grants as the guest writes them: frame and domid before the flags. */
uint32_t
tfront_grant(grant_entry_v1_t *gnt, uint32_t *next, uint64_t pfn, bool readonly)
{
	uint32_t ref = (*next)++;
	grant_entry_v1_t *e = &gnt[ref];

	cr_assert_lt(ref, 2048u);
	e->frame = pfn;
	e->domid = 0;
	__atomic_store_n(&e->flags, GTF_permit_access | (readonly ? GTF_readonly : 0),
	    __ATOMIC_RELEASE);
	return ref;
}

/* Every key a test frontend writes must land: a failed write is the test's failure. */
void
tfront_write(struct stack *st, xs_tx_t tx, const char *dir, const char *key, const char *fmt, ...)
{
	char path[256], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	cr_assert_eq(xs_write(st->s_xs, tx, path, val, strlen(val)), 0, "write %s: %s", path,
	    strerror(errno));
}

/* What every device's two directories hold, whatever the kind. */
void
tfront_devdir_keys(struct stack *st, xs_tx_t tx, const char *fe, const char *be,
    uint32_t domid, const char *const *extra)
{
	tfront_write(st, tx, fe, "backend", "%s", be);
	tfront_write(st, tx, fe, "backend-id", "0");
	tfront_write(st, tx, fe, "state", "1");
	tfront_write(st, tx, be, "frontend", "%s", fe);
	tfront_write(st, tx, be, "frontend-id", "%u", domid);
	tfront_write(st, tx, be, "online", "1");
	for (unsigned i = 0; extra && extra[i]; i++) {
		char k[64];
		const char *eq = strchr(extra[i], '=');
		snprintf(k, sizeof(k), "%.*s", (int)(eq - extra[i]), extra[i]);
		tfront_write(st, tx, be, k, "%s", eq + 1);
	}
	tfront_write(st, tx, be, "state", "1");
}

/* A test's extra keys may also change what the frontend expects (a vifname). */
const char *
tfront_extra_get(const char *const *extra, const char *key)
{
	size_t n = strlen(key);

	for (unsigned i = 0; extra && extra[i]; i++) {
		if (strncmp(extra[i], key, n) == 0 && extra[i][n] == '=')
			return extra[i] + n + 1;
	}
	return NULL;
}

/* A device's xenbus state, as a number the tests compare. */
int
tfront_state(struct stack *st, const char *dir)
{
	char *v = stack_xs_read(st, "%s/state", dir);
	int s = v ? atoi(v) : 0;

	free(v);
	return s;
}

/* Polls the state: the tests wait on one end at a time. */
int
tfront_wait_state(struct stack *st, const char *dir, int state, int ms)
{
	long long deadline = stack_now_ms() + ms;

	while (tfront_state(st, dir) != state) {
		if (stack_now_ms() > deadline)
			return -1;
		usleep(1000);
	}
	return 0;
}

/* A closing frontend waits for the backend's Closing before its own next step. */
void
tfront_wait_at_least(struct stack *st, const char *dir, int state, int ms)
{
	long long deadline = stack_now_ms() + ms;

	while (tfront_state(st, dir) < state && stack_now_ms() < deadline)
		usleep(1000);
}

/* xl's detach request, in one transaction as xl writes it. */
void
tfront_detach(struct stack *st, const char *be)
{
	struct xs *xs = st->s_xs;
	char p[192];
	xs_tx_t tx;

	do {
		cr_assert_eq(xs_transaction_start(xs, &tx), 0);
		snprintf(p, sizeof(p), "%s/online", be);
		xs_write(xs, tx, p, "0", 1);
		snprintf(p, sizeof(p), "%s/state", be);
		xs_write(xs, tx, p, "5", 1);
	} while (xs_transaction_end(xs, tx, false) < 0 && errno == EAGAIN);
}

/* What xl removes after a detach. */
void
tfront_rmdirs(struct stack *st, const char *fe, const char *be)
{
	xs_rm(st->s_xs, XS_TX_NONE, be);
	xs_rm(st->s_xs, XS_TX_NONE, fe);
}
