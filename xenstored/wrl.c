/*
 * The write rate limit (XSA-206), with C xenstored's numbers: while any
 * transaction is open, guests' writes cost credit that comes back at 200
 * writes/s shared among the guests, with a burst of 10 per guest and a
 * common reserve of 1000 that idle guests fill and busy ones draw on. A guest
 * in debt is not read until its credit is back, so a guest writing in a loop
 * cannot keep the toolstack's transactions failing with EAGAIN.
 */
#include "log.h"
#include "xenstored.h"

#define WRL_UNIT	1000			/* credit per write: fixed point */
#define WRL_RATE	200			/* writes per second, all guests */
#define WRL_DBURST	(10 * WRL_UNIT)		/* what one guest may save */
#define WRL_GBURST	(1000 * WRL_UNIT)	/* the reserve's ceiling */
#define WRL_NEWDOMS	5			/* a new guest's debt limit on the reserve, in bursts */
#define WRL_MAX		(1000 * 1000 * 1000)

static int64_t wrl_reserve;
static unsigned wrl_nguests;
static unsigned wrl_ntxns;			/* open transactions, all connections */

/* Moves as much as possible from *from (kept >= floor) to *to (kept <= ceil). */
static void
wrl_move(int64_t *from, int64_t floor, int64_t *to, int64_t ceil)
{
	int64_t n = *from - floor < ceil - *to ? *from - floor : ceil - *to;

	if (n > 0) {
		*from -= n;
		*to += n;
	}
}

/* Does the limit apply to this connection? Sockets and dom0 escape it. */
static bool
wrl_applies(const struct conn *c)
{
	return !c->c_priv && c->c_domid != 0;
}

/* A new guest connection: it starts with up to one burst taken from the reserve. */
void
wrl_conn_new(struct conn *c)
{
	if (!wrl_applies(c))
		return;
	c->c_wrl_credit = 0;
	c->c_wrl_stamp = conn_clock();
	wrl_nguests++;
	wrl_move(&wrl_reserve, -(int64_t)WRL_DBURST * WRL_NEWDOMS, &c->c_wrl_credit, WRL_DBURST);
}

/* A guest connection goes: its savings return to the reserve. */
void
wrl_conn_gone(struct conn *c)
{
	if (!wrl_applies(c))
		return;
	wrl_nguests--;
	wrl_move(&c->c_wrl_credit, 0, &wrl_reserve, WRL_DBURST);
}

/* Credit earned since the last look: the rate is shared among all guests. */
static void
wrl_update(struct conn *c, uint64_t now)
{
	uint64_t ms = now - c->c_wrl_stamp;
	int64_t surplus = 0;

	if (ms > WRL_MAX)
		ms = WRL_MAX;
	c->c_wrl_credit += (int64_t)(ms * WRL_RATE * WRL_UNIT / 1000 / (wrl_nguests ? wrl_nguests : 1));
	if (c->c_wrl_credit > WRL_MAX)
		c->c_wrl_credit = WRL_MAX;
	/* in debt: the reserve pays; over a burst: the reserve keeps the rest */
	wrl_move(&wrl_reserve, 0, &c->c_wrl_credit, 0);
	wrl_move(&c->c_wrl_credit, WRL_DBURST, &surplus, WRL_MAX);
	wrl_move(&surplus, 0, &wrl_reserve, WRL_GBURST);
	c->c_wrl_stamp = now;
}

/* Transactions open and close: writes cost only while one is open. */
void
wrl_txn_count(int delta)
{
	wrl_ntxns += delta;
}

/* Charges one write (a store outside a transaction, or a commit while others are open). */
void
wrl_debit(struct conn *c, bool commit)
{
	if (!wrl_applies(c) || wrl_ntxns <= (commit ? 1u : 0u))
		return;
	wrl_update(c, conn_clock());
	c->c_wrl_credit -= WRL_UNIT;
	if (c->c_wrl_credit < 0 && !c->c_wrl_logged) {
		c->c_wrl_logged = true;
		log_warnx("dom%u: write rate limit: requests delayed", c->c_domid);
	}
}

/* Milliseconds until the guest may be read again; 0 when it may now. */
uint64_t
wrl_delay_ms(struct conn *c)
{
	if (!wrl_applies(c) || c->c_wrl_credit >= 0)
		return 0;
	wrl_update(c, conn_clock());
	if (c->c_wrl_credit >= 0)
		return 0;
	/* -credit / (rate per guest), rounded up, at least 1 */
	return ((uint64_t)-c->c_wrl_credit * (wrl_nguests ? wrl_nguests : 1) + WRL_RATE - 1) /
	    WRL_RATE;
}

/* The reserve, for the dump and the tests. */
int64_t
wrl_reserve_now(void)
{
	return wrl_reserve;
}
