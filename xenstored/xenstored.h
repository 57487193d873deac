/*
 * xenstored's shared types: nodes, connections, requests, transactions and
 * the quota settings. Each .c file owns one job; their APIs are below, grouped
 * by file.
 */
#ifndef XENSTORED_H
#define XENSTORED_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <xen/io/xs_wire.h>

#include "htab.h"
#include "xs.h"

struct event_base;
struct event;

#define PERM_READ	1u
#define PERM_WRITE	2u
#define PERM_OWNER	4u
#define PERM_ALL	(PERM_READ | PERM_WRITE | PERM_OWNER)

#define DOMID_NONE	0xffffffffu
#define DOMID_MAX	0x7ff0u		/* DOMID_FIRST_RESERVED */

/*
 * One node record: the flat form C xenstored keeps in its TDB. A node is one
 * allocation (record, perms, path, value, children); a part that outgrows its
 * room moves to its own allocation (a bit in n_heap), so copying a node for a
 * transaction costs one malloc.
 */
struct node {
	char *n_path;
	uint64_t n_gen;			/* bumped on every store */
	struct xs_perm *n_perms;	/* [0] = owner + default */
	unsigned n_nperms;
	unsigned n_pcap;		/* room for perms */
	char *n_value;
	size_t n_vlen;
	size_t n_vcap;			/* room for the value, its NUL not counted */
	char *n_children;		/* names, each NUL-terminated */
	size_t n_clen;
	size_t n_ccap;			/* bytes of room for n_children */
	unsigned n_heap;		/* NODE_HEAP_*: parts allocated on their own */
};
#define NODE_HEAP_PERMS		1u
#define NODE_HEAP_VALUE		2u
#define NODE_HEAP_CHILDREN	4u

/* Limits for unprivileged domains, Xen's defaults, overridable on the command line. */
struct quota {
	unsigned q_entries;		/* -E nodes owned per domain */
	unsigned q_node_size;		/* -S bytes per node record */
	unsigned q_watches;		/* -W watches per domain */
	unsigned q_txns;		/* -t open transactions per connection */
	unsigned q_tx_nodes;		/* -Q transaction-nodes */
	unsigned q_outstanding;		/* -Q outstanding */
	unsigned q_path_max;		/* -M relative path length */
	unsigned q_perms;		/* -A perms per node */
	unsigned q_priv_outstanding;	/* queued replies before a privileged client is throttled */
	unsigned q_event_queue;		/* queued messages beyond which events are dropped */
	unsigned q_mem_hard;		/* -Q memory: bytes a domain may hold (0: off) */
	unsigned q_mem_soft;		/* -q memory: bytes over which the log warns */
	unsigned q_watch_event_ms;	/* -w watch-event: unread guest events expire */
};
extern struct quota quota;
int quota_set_opt(int opt, const char *val);
int quota_set_named(const char *arg);
int quota_set_soft(const char *arg);
int quota_set_timeout(const char *arg);
void quota_mem_charge(uint32_t domid, long delta);
size_t quota_mem_used(uint32_t domid);
struct conn;
int quota_mem_check(const struct conn *c, uint32_t domid, long growth);
bool quota_mem_over(const struct conn *c);

struct conn;
struct txn;

/* How bytes move for one kind of connection (socket, ring, test buffer). */
struct conn_ops {
	/* Bytes read, 0 when nothing is available now, -1 when the peer is gone or bad. */
	ssize_t (*co_read)(struct conn *c, void *buf, size_t len);
	/* Bytes written, 0 when full, -1 when the peer is gone. */
	ssize_t (*co_write)(struct conn *c, const void *buf, size_t len);
	/* Makes what co_read consumed visible to the peer (a guest's req_cons). */
	void (*co_publish)(struct conn *c);
	/* Input throttling (on = stop reading) and interest in writability. */
	void (*co_throttle)(struct conn *c, bool on);
	void (*co_want_write)(struct conn *c, bool on);
	void (*co_free)(struct conn *c);
};

struct outmsg {
	STAILQ_ENTRY(outmsg) om_link;
	size_t om_len, om_off;
	bool om_raw;			/* restored bytes, not one whole message */
	uint64_t om_stamp;		/* queued at (conn_clock ms): events expire */
	char om_data[];
};

struct watch {
	LIST_ENTRY(watch) w_conn_link;
	LIST_ENTRY(watch) w_path_link;
	struct conn *w_conn;
	char *w_path;			/* canonical */
	char *w_token;
	bool w_relative;
};

struct conn {
	TAILQ_ENTRY(conn) c_link;
	unsigned c_id;
	const struct conn_ops *c_ops;
	void *c_tp;			/* transport state */
	uint32_t c_domid;
	uint32_t c_target;		/* SET_TARGET, or DOMID_NONE */
	bool c_priv;
	bool c_readonly;
	bool c_dead;
	bool c_throttled;
	struct event *c_kick;		/* deferred input / free */
	/* input */
	struct xsd_sockmsg c_hdr;
	size_t c_in_have;
	char *c_in;			/* XENSTORE_PAYLOAD_MAX + 1 */
	/* output */
	STAILQ_HEAD(, outmsg) c_out;
	unsigned c_out_count;
	size_t c_out_bytes;
	/* state */
	LIST_HEAD(, watch) c_watches;
	unsigned c_nwatches;
	LIST_HEAD(, txn) c_txns;
	unsigned c_ntxns;
	uint32_t c_next_txid;
	struct domain *c_domain;	/* ring connections */
	uint64_t c_requests;
	struct event *c_timer;		/* rate limit wake-up, event expiry */
	/* write rate limit (wrl.c) */
	int64_t c_wrl_credit;
	uint64_t c_wrl_stamp;
	bool c_wrl_logged;
	/* guest rings (ring.c) and what the journal holds of them (persist.c) */
	uint32_t c_ring_rd;		/* request bytes read, not yet published as req_cons */
	uint32_t c_out_sent;		/* rsp index of the next byte to send */
	uint32_t c_jr_out_end;		/* rsp index where the journaled output ends */
	bool c_jr_out_full;		/* queued output was dropped: journal it whole */
	bool c_jr_dirty;		/* read input since the last entry: R_GCONN may differ */
	char *c_jr_last;		/* the R_GCONN last journaled */
	size_t c_jr_last_len;
	bool c_out_held;		/* output waits for the journal entry */
	TAILQ_ENTRY(conn) c_held_link;	/* on persist's list of held outputs */
	bool c_jr_pending;		/* changed since the last entry: on persist's list */
	TAILQ_ENTRY(conn) c_jr_link;
};
TAILQ_HEAD(conn_list, conn);
extern struct conn_list conns;

struct req {
	struct xsd_sockmsg r_hdr;
	const char *r_data;		/* NUL-terminated copy of the payload */
	size_t r_len;
	struct txn *r_tx;
};

/* A watch event recorded by an operation, fired on commit; one allocation with its parts. */
struct event_rec {
	STAILQ_ENTRY(event_rec) er_link;
	char *er_path;
	bool er_exact;			/* only exact watches (descendants of an RM) */
	struct xs_perm *er_perms;	/* the node's perms at the change (copy) */
	unsigned er_nperms;
};
STAILQ_HEAD(event_list, event_rec);

struct txn {
	LIST_ENTRY(txn) t_link;
	uint32_t t_id;
	struct conn *t_conn;
	struct htab t_ents;		/* path -> struct txn_ent */
#define TXN_BUCKETS 8			/* a transaction touches a few nodes */
	struct htab_entry *t_buckets[TXN_BUCKETS];	/* t_ents' first buckets: no allocation */
	unsigned t_nents;
	int t_failed;			/* sticky errno, reported at commit */
	struct event_list t_events;
	int t_entry_delta;		/* nodes the connection's domain gained */
	uint64_t t_start_gen;		/* store generation at start: the snapshot */
	bool t_conflict;		/* touched a node changed since the snapshot */
};

/* persist.c: the state on disk (--state-dir) */
int persist_open(const char *dir);
void persist_close(void);
bool persist_on(void);
void persist_node_dirty(const char *path);
void persist_conn_touch(struct conn *c);
void persist_hold_output(struct conn *c);
void persist_conn_forget(struct conn *c);
void persist_gconn_gone(uint32_t domid);
void persist_dom_dirty(uint32_t domid);
void persist_flush(void);
void persist_hold(void);
void persist_release(void);
bool persist_holding(void);

/* db.c: the node store */
void db_init(void);
void db_store_raw(struct node *n, uint64_t gen);
void db_set_generation(uint64_t gen);
struct node *db_lookup(const char *path);
/* Takes ownership of n, replaces any node at its path, bumps its generation. */
void db_store(struct node *n);
void db_remove(const char *path);
void db_set_value(struct node *n, const void *val, size_t len);
void db_chown(struct node *n, uint32_t owner);
void db_strip_acl(struct node *n, uint32_t domid);
struct node **db_domain_nodes(uint32_t domid, unsigned *n);
unsigned db_domain_entries(uint32_t domid);
unsigned db_count(void);
uint64_t db_generation(void);
void db_foreach(void (*fn)(struct node *n, void *arg), void *arg);
struct node *node_new(const char *path, const struct xs_perm *perms, unsigned nperms);
struct node *node_make(const char *path, const struct xs_perm *perms, unsigned nperms,
    const void *val, size_t vlen, const char *children, size_t clen);
struct node *node_dup(const struct node *n);
void node_free(struct node *n);
void node_set_value(struct node *n, const void *val, size_t len);
void node_set_perms(struct node *n, const struct xs_perm *perms, unsigned nperms);
void node_add_child(struct node *n, const char *name);
void node_del_child(struct node *n, const char *name);
size_t node_record_size(const struct node *n);
size_t node_mem_size(const struct node *n);

/* txn.c: transactions and the access layer every operation goes through */
const struct node *acc_get(struct txn *t, const char *path);
int acc_put(struct txn *t, struct node *n);
int acc_del(struct txn *t, const char *path);
void acc_event(struct txn *t, const char *path, bool exact, const struct node *n);
int acc_entries(struct txn *t, struct conn *c);
void acc_entries_add(struct txn *t, uint32_t owner, int delta);
int txn_start(struct conn *c, uint32_t *id);
struct txn *txn_find(struct conn *c, uint32_t id);
int txn_end(struct txn *t, bool commit);
void txn_free_all(struct conn *c);
void txn_restore(struct conn *c, uint32_t id);
void events_fire(struct event_list *l);

/* path.c: names */
int path_canon(const struct conn *c, const char *in, bool special_ok, char **out);
char *path_parent(const char *path);
const char *path_basename(const char *path);
bool path_is_under(const char *parent, const char *path);
char *path_home(uint32_t domid);

/* perms.c */
unsigned perms_for_conn(const struct conn *c, const struct xs_perm *perms, unsigned n);
int perms_parse(const char *data, size_t len, struct xs_perm **out, unsigned *n);
size_t perms_format(const struct xs_perm *perms, unsigned n, char *buf, size_t cap);
bool perms_equal(const struct xs_perm *a, unsigned na, const struct xs_perm *b, unsigned nb);
void perms_forget_domain(uint32_t domid);

/* watch.c */
void watch_init(void);
int watch_add(struct conn *c, const char *path, const char *token, bool relative);
int watch_remove(struct conn *c, const char *path, const char *token);
void watch_free_all(struct conn *c);
void watch_fire(const char *path, bool exact, const struct xs_perm *perms, unsigned nperms);
void watch_fire_special(const char *name);
void watch_fire_special_domain(const char *name, uint32_t domid);
unsigned watch_count(void);
struct node *watch_special_node(const char *name);

/* wrl.c: the write rate limit */
void wrl_conn_new(struct conn *c);
void wrl_conn_gone(struct conn *c);
void wrl_txn_count(int delta);
void wrl_debit(struct conn *c, bool commit);
uint64_t wrl_delay_ms(struct conn *c);
int64_t wrl_reserve_now(void);

/* conn.c */
extern uint64_t (*conn_clock)(void);	/* monotonic ms; tests replace it */
void conn_expire(struct conn *c);
void conn_restore_output(struct conn *c, const void *p, size_t len, uint32_t at);
void conn_setup(struct event_base *base);
struct conn *conn_new(const struct conn_ops *ops, void *tp, uint32_t domid, bool priv);
void conn_input(struct conn *c);
void conn_output(struct conn *c);
void conn_kill(struct conn *c);
void conn_reply(struct conn *c, const struct req *r, uint32_t type, const void *data, size_t len);
void conn_reply_str(struct conn *c, const struct req *r, const char *s);
void conn_reply_err(struct conn *c, const struct req *r, int err);
void conn_send_event(struct conn *c, const char *path, const char *token);
struct event_base *conn_base(void);
void conn_free_now(struct conn *c);

/* sock.c */
int sock_listen(struct event_base *base, const char *dir);
void sock_shutdown(void);

/* dispatch.c */
void dispatch(struct conn *c, const struct xsd_sockmsg *hdr, const char *data);
int req_args(const struct req *r, const char **argv, unsigned max);
const char *req_onearg(const struct req *r);

/* ops.c: node operations */
int op_read(struct conn *c, struct req *r);
int op_write(struct conn *c, struct req *r);
int op_mkdir(struct conn *c, struct req *r);
int op_rm(struct conn *c, struct req *r);
int op_directory(struct conn *c, struct req *r);
int op_directory_part(struct conn *c, struct req *r);
int op_get_perms(struct conn *c, struct req *r);
int op_set_perms(struct conn *c, struct req *r);
int op_watch(struct conn *c, struct req *r);
int op_unwatch(struct conn *c, struct req *r);
int op_reset_watches(struct conn *c, struct req *r);
int op_transaction_start(struct conn *c, struct req *r);
int op_transaction_end(struct conn *c, struct req *r);
void ops_remove_tree(const char *path);

/* control.c */
int op_control(struct conn *c, struct req *r);
void control_trace(const char *dir, const struct conn *c, const struct xsd_sockmsg *hdr,
    const char *data);
int control_open_trace(const char *path);

/* domain.c: guests, their rings and the domain messages */
struct domain;
void domain_setup(struct event_base *base);
void domain_shutdown(void);
void domain_conn_gone(struct conn *c);
uint32_t domain_target(uint32_t domid);
int op_introduce(struct conn *c, struct req *r);
int op_release(struct conn *c, struct req *r);
int op_is_domain_introduced(struct conn *c, struct req *r);
int op_get_domain_path(struct conn *c, struct req *r);
int op_set_target(struct conn *c, struct req *r);
int op_resume(struct conn *c, struct req *r);
size_t domain_dump(char *buf, size_t cap);
/* Registers a domain whose connection already exists (INTRODUCE, and tests). */
struct domain *domain_adopt(uint32_t domid, struct conn *c);
/* Forgets a domain: @releaseDomain, its nodes and ACL entries go (XSA-322/419). */
void domain_destroy(struct domain *d);
struct domain *domain_find(uint32_t domid);
void domain_foreach(void (*fn)(const struct domain *d, void *arg), void *arg);
struct conn *domain_restore(uint32_t domid, uint64_t mfn, uint32_t port, uint32_t target,
    bool shutdown_reported, bool mapped);
/* heap.c */
void heap_before_trim(void);
void heap_dump(FILE *f);

/* ring.c */
void ring_restore_input(struct conn *c, uint32_t idx);
uint32_t ring_rsp_prod(struct conn *c);
extern bool domain_keep_orphans;

#endif
