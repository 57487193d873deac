/*
 * The netback tests' frontend: the test process plays netfront on a real
 * domain's memory (grant entries, the TX and RX rings, the frontend's
 * xenstore keys), while the domain's kernel (tests/blkback's bbguest) relays
 * event-channel notifications; the host side of the VIF is seen through a
 * packet socket on its tap. Everything runs in a network namespace the test
 * makes (nbf_netns), with its own bridge, so no host interface is touched.
 * A hostile frontend is the same code writing what netfront would not.
 */
#ifndef PVSTACK_TEST_NBFRONT_H
#define PVSTACK_TEST_NBFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xen_ring.h"
#include <xen/grant_table.h>
#include <xen/io/netif.h>

#include "stack.h"

#define NBF_MAX_QUEUES		2
#define NBF_MEM_PAGES		2048
#define NBF_PFN_RINGS		16		/* tx, rx per queue */
#define NBF_PFN_TX		128		/* TX data pages */
#define NBF_PFN_RX		640		/* RX buffers, one page per ring slot and queue */
#define NBF_ETHERTYPE		0x88b5		/* IEEE local experimental */

/* Frontend features nbf_connect writes. */
#define NBF_SG			0x1
#define NBF_GSO			0x2
#define NBF_SPLIT		0x4
#define NBF_NO_RX_COPY		0x8		/* leaves request-rx-copy out */

struct nbfront {
	struct stack *f_st;
	uint32_t f_domid, f_devid;
	uint8_t *f_mem;
	grant_entry_v1_t *f_gnt;
	struct hv_evtchn *f_xce;
	int f_bell;
	int f_port[2 * NBF_MAX_QUEUES];		/* guest-side ports */
	unsigned f_nq;
	netif_tx_front_ring_t f_tx[NBF_MAX_QUEUES];
	netif_rx_front_ring_t f_rx[NBF_MAX_QUEUES];
	uint32_t f_next_ref;
	uint32_t f_pfn_ref[NBF_MEM_PAGES];
	char f_fe[128], f_be[128];
	char f_ifname[16];
	int f_pkt;				/* packet socket on the tap, -1 */
};

/* A new network namespace for this test process (and the daemons it starts). */
void nbf_netns(void);
/* A bridge in it, up; and its removal. */
void nbf_bridge_add(const char *name);
void nbf_link_del(const char *name);
/* An interface's properties in our namespace: 0 when absent. */
int nbf_ifindex(const char *name);
int nbf_master(const char *name);
unsigned nbf_mtu(const char *name);
void nbf_mac(const char *name, char out[18]);
/* Whether the interface is up. */
bool nbf_up(const char *name);
/* How many interfaces whose name starts with prefix exist in our namespace. */
int nbf_count_links(const char *prefix);

/* A domain running the relay guest. */
void nbf_domain(struct nbfront *f, struct stack *st);
void nbf_destroy(struct nbfront *f);
/* Both device directories as xl writes them; extra "key=value" backend keys, NULL-ended. */
void nbf_devdirs(struct nbfront *f, uint32_t devid, const char *const *extra);
void nbf_rmdirs(struct nbfront *f);
char *nbf_be_read(struct nbfront *f, const char *key);
int nbf_be_state(struct nbfront *f);
int nbf_wait_be(struct nbfront *f, int state, int ms);
void nbf_fe_state(struct nbfront *f, int state);
/* Rings for nq queues, the keys of features (NBF_*), then frontend state fe_state. */
void nbf_connect(struct nbfront *f, unsigned nq, unsigned features, int fe_state);
/* online=0 and state 5, as xl's detach; waits for 6. */
int nbf_detach(struct nbfront *f, int ms);
uint32_t nbf_grant(struct nbfront *f, uint64_t pfn, bool readonly);
uint32_t nbf_ref(struct nbfront *f, uint64_t pfn);
void *nbf_page(struct nbfront *f, uint64_t pfn);
void nbf_notify(struct nbfront *f);

/* Raw TX slots into queue q (pushed, notified). */
void nbf_tx_put(struct nbfront *f, unsigned q, const void *slot);
void nbf_tx_push(struct nbfront *f, unsigned q);
/* The next TX response; 0 or -1 after ms. */
int nbf_tx_rsp(struct nbfront *f, unsigned q, netif_tx_response_t *rsp, int ms);
/* One frame of len bytes (over pages of at most 4096 bytes each); the first response's status. */
int nbf_send(struct nbfront *f, unsigned q, const uint8_t *frame, size_t len);
/* Posts n RX buffers on queue q. */
void nbf_rx_post(struct nbfront *f, unsigned q, unsigned n);
/* The next received frame (slots joined); its length, or -1 after ms. */
int nbf_recv(struct nbfront *f, unsigned q, uint8_t *buf, size_t cap, int ms);

/* The packet socket on the VIF's tap (its name in f_ifname). */
void nbf_pkt_open(struct nbfront *f);
/* Frames with our ethertype only; their length, -1 after ms. */
int nbf_pkt_recv(struct nbfront *f, uint8_t *buf, size_t cap, int ms);
void nbf_pkt_send(struct nbfront *f, const uint8_t *frame, size_t len);
/* A frame of our ethertype: dst, src, type, then len-14 bytes of pattern seed. */
void nbf_frame(uint8_t *buf, size_t len, uint8_t seed);

#endif
