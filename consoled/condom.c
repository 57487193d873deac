/* One domain's console: reading its configuration from xenstore, and
 * bringing the ring, event channel, pty and log up and down. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "condom.h"
#include "conlog.h"
#include "consoled.h"
#include "libhv.h"
#include "log.h"
#include "xmalloc.h"
#include "xs.h"

struct condom_cfg {
	uint64_t cfg_mfn;
	uint32_t cfg_port;
	size_t cfg_limit;
	char cfg_name[128];
};

/* Starts tracking a domain hvd reported: watch its console directory. */
struct condom *
condom_new(struct consoled *cd, uint32_t domid, const uint8_t uuid[16])
{
	struct condom *dom = xcalloc(1, sizeof(*dom));

	dom->dom_cd = cd;
	dom->dom_domid = domid;
	memcpy(dom->dom_uuid, uuid, sizeof(dom->dom_uuid));
	dom->dom_local_port = -1;
	dom->dom_evtchn_fd = -1;
	dom->dom_master = dom->dom_slave = -1;
	dom->dom_pidfd = -1;
	snprintf(dom->dom_path, sizeof(dom->dom_path), "/local/domain/%u/console", domid);
	snprintf(dom->dom_token, sizeof(dom->dom_token), "dom%u", domid);
	if (xs_watch(cd->cd_xs, dom->dom_path, dom->dom_token) < 0)
		log_warn("dom/%u: watch %s", domid, dom->dom_path);
	else {
		dom->dom_watching = dom->dom_skip_initial = 1;
		dom->dom_skip_epoch = xs_reconnects(cd->cd_xs);
	}
	TAILQ_INSERT_TAIL(&cd->cd_doms, dom, dom_entry);
	log_debug("dom/%u: tracking", domid);
	condom_refresh(dom);
	return dom;
}

/* Forgets a domain that died (or all of them at exit). */
void
condom_free(struct condom *dom, int gone)
{
	struct consoled *cd = dom->dom_cd;

	log_debug("dom/%u: forgetting (%s)", dom->dom_domid, gone ? "domain gone" : "stop");
	condom_down(dom);
	if (dom->dom_watching)
		xs_unwatch(cd->cd_xs, dom->dom_path, dom->dom_token);
	TAILQ_REMOVE(&cd->cd_doms, dom, dom_entry);
	free(dom);
}

/* Reads a node into a private NUL-terminated string; NULL when absent. */
static char *
condom_read_path(struct condom *dom, const char *path)
{
	char *val, *copy;
	size_t len = 0;

	val = xs_read(dom->dom_cd->cd_xs, XS_TX_NONE, path, &len);
	if (val == NULL)
		return NULL;
	copy = xstrndup(val, len);
	free(val);
	return copy;
}

/* Reads one node under the console directory. */
static char *
condom_read_node(struct condom *dom, const char *node)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dom->dom_path, node);
	return condom_read_path(dom, path);
}

/* Parses a whole decimal string; 0 or -1 EINVAL. */
static int
condom_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* The console's configuration; -1 when it is absent, foreign or malformed. */
static int
condom_read_cfg(struct condom *dom, struct condom_cfg *cfg)
{
	char *ref = NULL, *port = NULL, *type = NULL;
	uint64_t v;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	type = condom_read_node(dom, "type");
	if (type && strcmp(type, "xenconsoled") != 0) {
		log_debug("dom/%u: console type %s is not ours", dom->dom_domid, type);
		goto out;
	}
	ref = condom_read_node(dom, "ring-ref");
	port = condom_read_node(dom, "port");
	if (ref == NULL || port == NULL)
		goto out;
	if (condom_parse_u64(ref, UINT64_MAX, &cfg->cfg_mfn) < 0 ||
	    condom_parse_u64(port, UINT32_MAX, &v) < 0) {
		log_warnx("dom/%u: bad console ring-ref \"%s\" or port \"%s\"",
		    dom->dom_domid, ref, port);
		goto out;
	}
	cfg->cfg_port = v;
	rc = 0;
out:
	free(ref);
	free(port);
	free(type);
	return rc;
}

/*
 * What the console needs once it is up, not before: its buffer's limit and
 * the log's name. Read after console/tty is published, they are two round
 * trips less between the domain's introduction and its client attaching.
 */
static void
condom_read_extra(struct condom *dom, struct condom_cfg *cfg)
{
	char *limit, *name, path[64];
	uint64_t v;

	limit = condom_read_node(dom, "limit");
	if (limit && condom_parse_u64(limit, SIZE_MAX / 4, &v) == 0)
		cfg->cfg_limit = v;
	snprintf(path, sizeof(path), "/local/domain/%u/name", dom->dom_domid);
	name = condom_read_path(dom, path);
	condom_log_name(name, dom->dom_domid, cfg->cfg_name, sizeof(cfg->cfg_name));
	free(limit);
	free(name);
}

/* Log file names come from the guest: keep them inside the log directory. */
void
condom_log_name(const char *name, uint32_t domid, char *buf, size_t len)
{
	size_t i;

	if (name == NULL || *name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(buf, len, "dom%u", domid);
		return;
	}
	snprintf(buf, len, "%s", name);
	for (i = 0; buf[i]; i++)
		if (buf[i] == '/' || buf[i] < 0x20)
			buf[i] = '_';
}

/* Writes console/tty and its ro_front permissions in one transaction. */
static int
condom_write_tty(struct condom *dom, const char *path, const char *tty)
{
	struct xs *xs = dom->dom_cd->cd_xs;
	/* ours, readable by the guest, never writable by it */
	struct xs_perm perms[2] = {
		{ 0, XS_PERM_NONE }, { dom->dom_domid, XS_PERM_READ },
	};
	xs_tx_t tx;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		if (xs_transaction_start(xs, &tx) < 0)
			return -1;
		/*
		 * The toolstack may have removed the domain meanwhile: never recreate
		 * it. xl writes an empty tty node with the layout: setting its
		 * permissions first fails if it is gone, a round trip less than
		 * reading the directory, which is left for a toolstack that does not.
		 */
		int pre = xs_set_perms(xs, tx, path, perms, 2) == 0;
		char *dir = pre ? NULL : xs_read(xs, tx, dom->dom_path, NULL);
		if (!pre && dir == NULL) {
			xs_transaction_end(xs, tx, true);
			errno = ENOENT;
			return -1;
		}
		free(dir);
		if (xs_write(xs, tx, path, tty, strlen(tty)) < 0 ||
		    (!pre && xs_set_perms(xs, tx, path, perms, 2) < 0)) {
			xs_transaction_end(xs, tx, true);
			return -1;
		}
		if (xs_transaction_end(xs, tx, false) == 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	return -1;
}

/* Writes or removes console/tty. */
static void
condom_publish_tty(struct condom *dom, const char *tty)
{
	char path[128], *cur;

	snprintf(path, sizeof(path), "%s/tty", dom->dom_path);
	if (tty) {
		if (condom_write_tty(dom, path, tty) < 0)
			log_warn("dom/%u: write %s", dom->dom_domid, path);
		return;
	}
	/* Remove only our own value: a newer console may have replaced it. */
	cur = condom_read_path(dom, path);
	if (cur && strcmp(cur, dom->dom_tty) == 0)
		xs_rm(dom->dom_cd->cd_xs, XS_TX_NONE, path);
	free(cur);
}

/* A raw pty for console/tty; its slave stays open so output queues while nobody is attached. */
int
condom_pty_open(struct condom *dom)
{
	struct event_base *base = dom->dom_cd->cd_base;
	struct conpty pty;

	if (conpty_take(dom->dom_cd, &pty) < 0) {
		log_warn("dom/%u: pty", dom->dom_domid);
		dom->dom_tty[0] = '\0';
		return -1;
	}
	_Static_assert(sizeof(dom->dom_tty) == sizeof(pty.cp_name), "a pty's name fits");
	memcpy(dom->dom_tty, pty.cp_name, sizeof(dom->dom_tty));
	dom->dom_master = pty.cp_master;
	dom->dom_slave = pty.cp_slave;
	dom->dom_rd_ev = event_new(base, pty.cp_master, EV_READ | EV_PERSIST, condom_io_input, dom);
	dom->dom_wr_ev = event_new(base, pty.cp_master, EV_WRITE | EV_PERSIST, condom_io_output,
	    dom);
	if (dom->dom_rd_ev == NULL || dom->dom_wr_ev == NULL)
		fatalx("event_new");
	event_add(dom->dom_rd_ev, NULL);
	condom_publish_tty(dom, dom->dom_tty);
	return 0;
}

/* Closes the pty and withdraws its path. */
void
condom_pty_close(struct condom *dom)
{
	if (dom->dom_rd_ev)
		event_free(dom->dom_rd_ev);
	if (dom->dom_wr_ev)
		event_free(dom->dom_wr_ev);
	dom->dom_rd_ev = dom->dom_wr_ev = NULL;
	if (dom->dom_master >= 0)
		close(dom->dom_master);
	if (dom->dom_slave >= 0)
		close(dom->dom_slave);
	dom->dom_master = dom->dom_slave = -1;
	if (dom->dom_tty[0])
		condom_publish_tty(dom, NULL);
	dom->dom_tty[0] = '\0';
	conpty_spare_refill(dom->dom_cd);
}

/* Opens the guest log when --log asks for it. */
static void
condom_log_open(struct condom *dom, const char *name)
{
	struct consoled *cd = dom->dom_cd;
	char *path;

	if (!(cd->cd_log & CONSOLED_LOG_GUEST))
		return;
	xasprintf(&path, "%s/guest-%s.log", cd->cd_log_dir, name);
	dom->dom_log = conlog_open(path, !!(cd->cd_stamp & CONSOLED_LOG_GUEST));
	if (dom->dom_log == NULL)
		log_warn("dom/%u: log %s", dom->dom_domid, path);
	free(path);
}

/* Maps the ring, binds the port, opens the pty; -1 leaves partial state for condom_down. */
static int
condom_up(struct condom *dom, const struct condom_cfg *cfg)
{
	struct condom_cfg extra = *cfg;
	struct consoled *cd = dom->dom_cd;
	int port;

	dom->dom_up = 1;
	dom->dom_mfn = cfg->cfg_mfn;
	dom->dom_remote_port = cfg->cfg_port;
	cbuf_init(&dom->dom_buf, cfg->cfg_limit);
	dom->dom_intf = hv_foreign_map(cd->cd_hv, dom->dom_domid, PROT_READ | PROT_WRITE,
	    cfg->cfg_mfn, 1);
	if (dom->dom_intf == NULL) {
		log_warn("dom/%u: map console frame %" PRIu64, dom->dom_domid, cfg->cfg_mfn);
		return -1;
	}
	port = hv_evtchn_bind_interdomain(cd->cd_xce, dom->dom_domid, cfg->cfg_port);
	if (port < 0) {
		log_warn("dom/%u: bind port %u", dom->dom_domid, cfg->cfg_port);
		return -1;
	}
	dom->dom_local_port = port;
	dom->dom_evtchn_fd = hv_evtchn_port_fd(cd->cd_xce, port);
	if (dom->dom_evtchn_fd < 0) {
		log_warn("dom/%u: port %d fd", dom->dom_domid, port);
		return -1;
	}
	if (condom_pty_open(dom) < 0)
		return -1;
	condom_read_extra(dom, &extra);
	cbuf_set_limit(&dom->dom_buf, extra.cfg_limit);
	dom->dom_evtchn_ev = event_new(cd->cd_base, dom->dom_evtchn_fd, EV_READ | EV_PERSIST,
	    condom_io_evtchn, dom);
	dom->dom_throttle_ev = evtimer_new(cd->cd_base, condom_io_throttle_end, dom);
	dom->dom_inpoll_ev = evtimer_new(cd->cd_base, condom_io_inpoll, dom);
	dom->dom_stall_ev = evtimer_new(cd->cd_base, condom_io_stall_end, dom);
	if (!dom->dom_evtchn_ev || !dom->dom_throttle_ev || !dom->dom_inpoll_ev ||
	    !dom->dom_stall_ev)
		fatalx("event_new");
	event_add(dom->dom_evtchn_ev, NULL);
	condom_log_open(dom, extra.cfg_name);
	log_info("dom/%u: console on %s (frame %" PRIu64 ", port %u, limit %zu)",
	    dom->dom_domid, dom->dom_tty, cfg->cfg_mfn, cfg->cfg_port, dom->dom_buf.cbuf_limit);
	/* Output the guest wrote before we bound is in the ring already. */
	event_active(dom->dom_evtchn_ev, EV_READ, 0);
	return 0;
}

/* Releases everything a console holds: events, pty, port, mapping, log. */
void
condom_down(struct condom *dom)
{
	struct consoled *cd = dom->dom_cd;

	if (!dom->dom_up)
		return;
	if (dom->dom_evtchn_ev)
		event_free(dom->dom_evtchn_ev);
	if (dom->dom_throttle_ev)
		event_free(dom->dom_throttle_ev);
	if (dom->dom_inpoll_ev)
		event_free(dom->dom_inpoll_ev);
	if (dom->dom_stall_ev)
		event_free(dom->dom_stall_ev);
	dom->dom_evtchn_ev = dom->dom_throttle_ev = dom->dom_inpoll_ev = NULL;
	dom->dom_stall_ev = NULL;
	dom->dom_stalled = 0;
	condom_pty_close(dom);
	if (dom->dom_local_port >= 0)
		hv_evtchn_unbind(cd->cd_xce, dom->dom_local_port);
	if (dom->dom_intf)
		hv_foreign_forget(cd->cd_hv, dom->dom_domid);
	conlog_close(dom->dom_log);
	cbuf_free(&dom->dom_buf);
	dom->dom_log = NULL;
	dom->dom_intf = NULL;
	dom->dom_local_port = dom->dom_evtchn_fd = -1;
	dom->dom_throttled = 0;
	dom->dom_events = 0;
	dom->dom_up = 0;
	log_info("dom/%u: console closed", dom->dom_domid);
}

/*
 * Two events change nothing we read, and a refresh is five round trips to
 * xenstored right when the guest starts writing to its console: the watch's
 * first event (condom_new reads the directory after registering it; every
 * later change fires its own event) and console/tty, which we write ourselves
 * and do not read.
 */
int
condom_event_matters(struct condom *dom, const char *path)
{
	size_t n = strlen(dom->dom_path);

	if (dom->dom_skip_initial && strcmp(path, dom->dom_path) == 0) {
		dom->dom_skip_initial = 0;
		if (xs_reconnects(dom->dom_cd->cd_xs) == dom->dom_skip_epoch)
			return 0;
	}
	return !(strncmp(path, dom->dom_path, n) == 0 && strcmp(path + n, "/tty") == 0);
}

/* The console directory changed: set up, keep, or tear down. */
void
condom_refresh(struct condom *dom)
{
	struct condom_cfg cfg;

	if (condom_read_cfg(dom, &cfg) < 0) {
		condom_down(dom);
		return;
	}
	if (dom->dom_up && cfg.cfg_mfn == dom->dom_mfn && cfg.cfg_port == dom->dom_remote_port) {
		condom_read_extra(dom, &cfg);
		cbuf_set_limit(&dom->dom_buf, cfg.cfg_limit);
		return;
	}
	condom_down(dom);
	if (condom_up(dom, &cfg) < 0)
		condom_down(dom);
}

/* SIGHUP: logrotate moved the file. */
void
condom_reopen_log(struct condom *dom)
{
	if (dom->dom_log && conlog_reopen(dom->dom_log) < 0)
		log_warn("dom/%u: reopen log", dom->dom_domid);
}
