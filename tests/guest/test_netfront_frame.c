/* netfront's pure parts: TX slot layout, TX response checks, RX frames from
 * their responses, the queue a frame goes to. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "netfront_frame.h"

Test(netfront_tx, slots_per_frame)
{
	cr_assert_eq(netfront_tx_slots(14, 1514, false), 1);
	cr_assert_eq(netfront_tx_slots(1514, 1514, false), 1);
	cr_assert_eq(netfront_tx_slots(4096, 9018, false), 1);
	errno = 0;
	cr_assert_eq(netfront_tx_slots(4097, 9018, false), -1, "over a page needs sg");
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(netfront_tx_slots(4097, 9018, true), 2);
	cr_assert_eq(netfront_tx_slots(9018, 9018, true), 3);
	cr_assert_eq(netfront_tx_slots(9019, 9018, true), -1, "past the MTU");
	cr_assert_eq(netfront_tx_slots(13, 1514, true), -1, "shorter than a header");
	cr_assert_eq(netfront_tx_slots(65535, 65535, true), 16);
	cr_assert_eq(netfront_tx_slots(65536, 70000, true), -1, "past 64 KiB");
}

Test(netfront_tx, first_slot_carries_the_total)
{
	netif_tx_request_t r[3];
	grant_ref_t refs[3] = { 100, 101, 102 };
	uint16_t ids[3] = { 7, 3, 250 };

	memset(r, 0xee, sizeof(r));
	netfront_tx_build(r, 9000, refs, ids);
	cr_assert_eq(r[0].size, 9000);
	cr_assert_eq(r[0].flags, NETTXF_more_data);
	cr_assert_eq(r[0].gref, 100);
	cr_assert_eq(r[0].id, 7);
	cr_assert_eq(r[0].offset, 0);
	cr_assert_eq(r[1].size, 4096);
	cr_assert_eq(r[1].flags, NETTXF_more_data);
	cr_assert_eq(r[1].id, 3);
	cr_assert_eq(r[2].size, 9000 - 8192);
	cr_assert_eq(r[2].flags, 0, "the last slot ends the frame");
	cr_assert_eq(r[2].gref, 102);
	netfront_tx_build(r, 60, refs, ids);
	cr_assert_eq(r[0].size, 60);
	cr_assert_eq(r[0].flags, 0);
}

Test(netfront_tx, a_gso_segment_has_its_extra_in_slot_one)
{
	netif_tx_request_t r[4];
	grant_ref_t refs[3] = { 100, 101, 102 };
	uint16_t ids[3] = { 7, 3, 250 };
	netif_extra_info_t x;

	memset(r, 0xee, sizeof(r));
	netfront_tx_build(r, 9000, refs, ids);
	cr_assert_eq(netfront_tx_add_gso(r, 3, 1460), 4);
	cr_assert_eq(r[0].flags, NETTXF_more_data | NETTXF_csum_blank | NETTXF_data_validated |
	    NETTXF_extra_info);
	cr_assert_eq(r[0].size, 9000);
	memcpy(&x, &r[1], sizeof(x));
	cr_assert_eq(x.type, XEN_NETIF_EXTRA_TYPE_GSO);
	cr_assert_eq(x.flags, 0, "no further extra");
	cr_assert_eq(x.u.gso.size, 1460);
	cr_assert_eq(x.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
	cr_assert_eq(x.u.gso.features, 0);
	for (size_t i = sizeof(x); i < sizeof(r[1]); i++)
		cr_assert_eq(((uint8_t *)&r[1])[i], 0, "no stale byte after the extra");
	cr_assert_eq(r[2].id, 3, "the data slots follow the extra");
	cr_assert_eq(r[3].id, 250);
	cr_assert_eq(r[3].flags, 0);
	/* the extra's answer has no id of ours: NULL is taken whatever it says */
	uint8_t state[4] = { 0 };
	netif_tx_response_t null = { .id = 0xffff, .status = NETIF_RSP_NULL };
	cr_assert_eq(netfront_tx_rsp_check(&null, state, 4), NETIF_RSP_NULL);
}

Test(netfront_tx, responses_checked_against_ids_issued)
{
	uint8_t state[4] = { NETFRONT_TX_BUSY, NETFRONT_TX_FREE, NETFRONT_TX_BUSY, NETFRONT_TX_BUSY };
	netif_tx_response_t ok = { .id = 0, .status = NETIF_RSP_OKAY };
	netif_tx_response_t drop = { .id = 2, .status = NETIF_RSP_DROPPED };
	netif_tx_response_t null = { .id = 3, .status = NETIF_RSP_NULL };
	netif_tx_response_t free_id = { .id = 1, .status = NETIF_RSP_OKAY };
	netif_tx_response_t past = { .id = 4, .status = NETIF_RSP_OKAY };
	netif_tx_response_t odd = { .id = 0, .status = 7 };

	cr_assert_eq(netfront_tx_rsp_check(&ok, state, 4), NETIF_RSP_OKAY);
	cr_assert_eq(netfront_tx_rsp_check(&drop, state, 4), NETIF_RSP_DROPPED);
	cr_assert_eq(netfront_tx_rsp_check(&null, state, 4), NETIF_RSP_NULL);
	cr_assert_eq(netfront_tx_rsp_check(&free_id, state, 4), NETFRONT_RSP_BAD, "not outstanding");
	cr_assert_eq(netfront_tx_rsp_check(&past, state, 4), NETFRONT_RSP_BAD, "past the ids");
	cr_assert_eq(netfront_tx_rsp_check(&odd, state, 4), NETFRONT_RSP_BAD, "undefined status");
}

static uint16_t slot_ids[256];

static void
ids_init(void)
{
	for (int i = 0; i < 256; i++)
		slot_ids[i] = (uint16_t)(1000 + i);
}

static netif_rx_response_t
rsp(unsigned idx, uint16_t off, int16_t status, uint16_t flags)
{
	netif_rx_response_t r = { .id = slot_ids[idx & 255], .offset = off, .flags = flags,
	    .status = status };
	return r;
}

Test(netfront_rx, one_slot_frame, .init = ids_init)
{
	netif_rx_response_t r[2] = { rsp(5, 16, 60, 0), rsp(6, 0, 60, 0) };
	struct netfront_rx_frame f;

	cr_assert_eq(netfront_rx_frame(r, 2, 5, 256, slot_ids, true, &f), 1);
	cr_assert_eq(f.rf_slots, 1);
	cr_assert_eq(f.rf_nfrags, 1);
	cr_assert_eq(f.rf_len, 60);
	cr_assert_eq(f.rf_frags[0].id, 1005);
	cr_assert_eq(f.rf_frags[0].offset, 16);
	cr_assert_eq(f.rf_status, 0);
}

Test(netfront_rx, several_slots_sum_and_wrap, .init = ids_init)
{
	netif_rx_response_t r[3] = { rsp(255, 0, 4096, NETRXF_more_data),
	    rsp(256, 0, 4096, NETRXF_more_data), rsp(257, 0, 808, 0) };
	struct netfront_rx_frame f;

	cr_assert_eq(netfront_rx_frame(r, 3, 255, 256, slot_ids, true, &f), 1);
	cr_assert_eq(f.rf_slots, 3);
	cr_assert_eq(f.rf_len, 9000);
	cr_assert_eq(f.rf_frags[1].id, 1000, "index 256 is slot 0");
	cr_assert_eq(netfront_rx_frame(r, 2, 255, 256, slot_ids, true, &f), 0,
	    "the last fragment has not come yet");
	cr_assert_eq(netfront_rx_frame(r, 3, 255, 256, slot_ids, false, &f), -1,
	    "more_data without sg offered");
}

Test(netfront_rx, broken_responses_named, .init = ids_init)
{
	struct netfront_rx_frame f;
	netif_rx_response_t r = rsp(3, 0, 60, 0);

	r.id = 1004;
	cr_assert_eq(netfront_rx_frame(&r, 1, 3, 256, slot_ids, true, &f), -1);
	cr_assert_str_eq(f.rf_why, "response id is not its slot's request's");
	r = rsp(3, 4000, 200, 0);
	cr_assert_eq(netfront_rx_frame(&r, 1, 3, 256, slot_ids, true, &f), -1);
	cr_assert_str_eq(f.rf_why, "fragment past the end of its page");
	netif_rx_response_t many[20];
	for (unsigned i = 0; i < 20; i++)
		many[i] = rsp(i, 0, 100, NETRXF_more_data);
	cr_assert_eq(netfront_rx_frame(many, 20, 0, 256, slot_ids, true, &f), -1);
	cr_assert_str_eq(f.rf_why, "frame over more slots than netif allows");
}

Test(netfront_rx, error_status_loses_the_frame_only, .init = ids_init)
{
	netif_rx_response_t r[2] = { rsp(0, 0, NETIF_RSP_ERROR, NETRXF_more_data), rsp(1, 0, 10, 0) };
	struct netfront_rx_frame f;

	cr_assert_eq(netfront_rx_frame(r, 2, 0, 256, slot_ids, true, &f), 1);
	cr_assert_eq(f.rf_status, NETIF_RSP_ERROR);
	cr_assert_eq(f.rf_slots, 2, "its slots are still taken back");
	netif_rx_response_t runt = rsp(0, 0, 10, 0);
	cr_assert_eq(netfront_rx_frame(&runt, 1, 0, 256, slot_ids, true, &f), 1);
	cr_assert_eq(f.rf_status, NETIF_RSP_ERROR, "shorter than an Ethernet header");
}

Test(netfront_rx, extra_info_slots_skipped, .init = ids_init)
{
	netif_rx_response_t r[4];
	netif_extra_info_t x = { .type = XEN_NETIF_EXTRA_TYPE_GSO, .flags = XEN_NETIF_EXTRA_FLAG_MORE };
	netif_extra_info_t y = { .type = XEN_NETIF_EXTRA_TYPE_HASH };
	struct netfront_rx_frame f;

	r[0] = rsp(0, 0, 100, NETRXF_extra_info | NETRXF_more_data);
	memcpy(&r[1], &x, sizeof(x));
	memcpy(&r[2], &y, sizeof(y));
	r[3] = rsp(3, 0, 50, 0);
	cr_assert_eq(netfront_rx_frame(r, 4, 0, 256, slot_ids, true, &f), 1);
	cr_assert_eq(f.rf_slots, 4);
	cr_assert_eq(f.rf_nfrags, 2);
	cr_assert_eq(f.rf_len, 150);
	cr_assert_eq(f.rf_status, 0);
	cr_assert_eq(netfront_rx_frame(r, 2, 0, 256, slot_ids, true, &f), 0, "extras still coming");
	y.type = 9;
	memcpy(&r[2], &y, sizeof(y));
	cr_assert_eq(netfront_rx_frame(r, 4, 0, 256, slot_ids, true, &f), 1);
	cr_assert_eq(f.rf_status, NETIF_RSP_ERROR, "an unknown extra loses the frame");
}

Test(netfront_queue, flows_spread_and_stay)
{
	uint8_t frame[64] = { 0 };
	unsigned seen[4] = { 0 };

	frame[12] = 0x08;
	for (unsigned port = 1024; port < 1088; port++) {
		frame[34] = (uint8_t)(port >> 8);
		frame[35] = (uint8_t)port;
		unsigned q = netfront_queue_pick(frame, sizeof(frame), 4);
		cr_assert_lt(q, 4);
		cr_assert_eq(netfront_queue_pick(frame, sizeof(frame), 4), q, "a flow keeps its queue");
		seen[q]++;
	}
	for (int q = 0; q < 4; q++)
		cr_assert_gt(seen[q], 0, "queue %d carried some of 64 flows", q);
	frame[12] = 0x08;
	frame[13] = 0x06;
	cr_assert_eq(netfront_queue_pick(frame, sizeof(frame), 4), 0, "not IPv4: queue 0");
	cr_assert_eq(netfront_queue_pick(frame, sizeof(frame), 1), 0);
}
