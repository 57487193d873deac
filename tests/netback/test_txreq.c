/*
 * netback's TX decoder and validator, header parser and rate limiter alone:
 * every rule of txreq.h with a packet that keeps it and one that breaks it.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "nbrate.h"
#include "txreq.h"

static const struct txreq_limits lim = { .max_len = 1518, .gso_tcpv4 = true };

/* A data slot. */
static union txreq_slot
req(uint32_t gref, uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
	union txreq_slot s;

	memset(&s, 0, sizeof(s));
	s.req = (netif_tx_request_t){ .gref = gref, .offset = off, .flags = flags, .id = id,
	    .size = size };
	return s;
}

/* A GSO extra slot. */
static union txreq_slot
gso(uint16_t size, uint8_t type, bool more)
{
	union txreq_slot s;

	memset(&s, 0, sizeof(s));
	s.extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
	s.extra.flags = more ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
	s.extra.u.gso.size = size;
	s.extra.u.gso.type = type;
	return s;
}

Test(txreq, one_slot)
{
	union txreq_slot s[] = { req(9, 100, NETTXF_data_validated, 7, 60) };
	struct txpkt p;

	cr_assert_eq(txreq_decode(&p, s, 1, &lim), TXREQ_OK, "%s", p.why);
	cr_assert_eq(p.nslots, 1);
	cr_assert_eq(p.nfrags, 1);
	cr_assert_eq(p.frag[0].gref, 9);
	cr_assert_eq(p.frag[0].offset, 100);
	cr_assert_eq(p.frag[0].len, 60);
	cr_assert_eq(p.slot[0].id, 7);
	cr_assert_eq(p.flags, NETTXF_data_validated);
}

Test(txreq, fragments_first_is_total_minus_rest)
{
	union txreq_slot s[] = { req(1, 0, NETTXF_more_data, 1, 6000),
	    req(2, 0, NETTXF_more_data, 2, 4096), req(3, 10, 0, 3, 1000), req(4, 0, 0, 4, 60) };
	struct txpkt p;
	struct txreq_limits big = { .max_len = 9018 };

	cr_assert_eq(txreq_decode(&p, s, 4, &big), TXREQ_OK, "%s", p.why);
	cr_assert_eq(p.nslots, 3, "the next packet is not ours");
	cr_assert_eq(p.nfrags, 3);
	cr_assert_eq(p.frag[0].len, 6000 - 4096 - 1000);
	cr_assert_eq(p.frag[2].offset, 10);
	cr_assert_eq(p.len, 6000);
}

Test(txreq, gso_extra_answered_null)
{
	union txreq_slot s[] = { req(1, 0, NETTXF_extra_info | NETTXF_more_data | NETTXF_csum_blank,
	    1, 20000), gso(1448, XEN_NETIF_GSO_TYPE_TCPV4, false), req(2, 0, NETTXF_more_data, 2,
	    4096), req(3, 0, NETTXF_more_data, 3, 4096), req(4, 0, NETTXF_more_data, 4, 4096),
	    req(5, 0, 0, 5, 4096) };
	struct txpkt p;

	cr_assert_eq(txreq_decode(&p, s, 6, &lim), TXREQ_OK, "%s", p.why);
	cr_assert_eq(p.nslots, 6);
	cr_assert(p.slot[1].extra);
	cr_assert_not(p.slot[2].extra);
	cr_assert_eq(p.slot[2].id, 2);
	cr_assert_eq(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
	cr_assert_eq(p.gso_size, 1448);
	cr_assert_eq(p.frag[0].len, 20000 - 4 * 4096);
}

Test(txreq, drops)
{
	struct txpkt p;
	union txreq_slot runt[] = { req(1, 0, 0, 1, 13) };
	union txreq_slot over_mtu[] = { req(1, 0, 0, 1, 1519) };
	union txreq_slot frag_too_big[] = { req(1, 0, NETTXF_more_data, 1, 100), req(2, 0, 0, 2, 200) };
	union txreq_slot gso6[] = { req(1, 0, NETTXF_extra_info | NETTXF_csum_blank, 1, 100),
	    gso(1448, XEN_NETIF_GSO_TYPE_TCPV6, false) };
	union txreq_slot gso_nocsum[] = { req(1, 0, NETTXF_extra_info, 1, 100),
	    gso(1448, XEN_NETIF_GSO_TYPE_TCPV4, false) };

	cr_assert_eq(txreq_decode(&p, runt, 1, &lim), TXREQ_DROP);
	cr_assert_eq(txreq_decode(&p, over_mtu, 1, &lim), TXREQ_DROP);
	cr_assert_eq(txreq_decode(&p, frag_too_big, 2, &lim), TXREQ_DROP);
	cr_assert_eq(p.nslots, 2, "a dropped packet still answers every slot");
	cr_assert_eq(txreq_decode(&p, gso6, 2, &lim), TXREQ_DROP);
	cr_assert_eq(txreq_decode(&p, gso_nocsum, 2, &lim), TXREQ_DROP);
	cr_assert_eq(p.nslots, 2);
}

Test(txreq, slot_counts)
{
	union txreq_slot s[TXREQ_SCAN];
	struct txpkt p;
	struct txreq_limits big = { .max_len = 65535 };

	/* 19 data slots of 100 bytes: too many to send, not yet malicious */
	for (int i = 0; i < 19; i++)
		s[i] = req(i, 0, i < 18 ? NETTXF_more_data : 0, i, i == 0 ? 1900 : 100);
	cr_assert_eq(txreq_decode(&p, s, 19, &big), TXREQ_DROP);
	cr_assert_eq(p.nslots, 19);
	/* 18 is fine */
	for (int i = 0; i < 18; i++)
		s[i] = req(i, 0, i < 17 ? NETTXF_more_data : 0, i, i == 0 ? 1800 : 100);
	cr_assert_eq(txreq_decode(&p, s, 18, &big), TXREQ_OK, "%s", p.why);
	/* 21: the frontend is malicious */
	for (int i = 0; i < 21; i++)
		s[i] = req(i, 0, NETTXF_more_data, i, 100);
	cr_assert_eq(txreq_decode(&p, s, 21, &big), TXREQ_FATAL);
	cr_assert_not_null(strstr(p.why, "slots"), "%s", p.why);
}

Test(txreq, fatal)
{
	struct txpkt p;
	union txreq_slot cross[] = { req(1, 4000, 0, 1, 200) };
	union txreq_slot cross2[] = { req(1, 0, NETTXF_more_data, 1, 300), req(2, 4000, 0, 2, 200) };
	union txreq_slot past[] = { req(1, 0, NETTXF_more_data, 1, 300) };
	union txreq_slot bad_extra[] = { req(1, 0, NETTXF_extra_info, 1, 100), gso(0, 1, false) };
	union txreq_slot extra_type[] = { req(1, 0, NETTXF_extra_info, 1, 100), gso(1448, 1, false) };
	union txreq_slot extras[6];

	extra_type[1].extra.type = XEN_NETIF_EXTRA_TYPE_MAX;
	cr_assert_eq(txreq_decode(&p, cross, 1, &lim), TXREQ_FATAL);
	cr_assert_eq(txreq_decode(&p, cross2, 2, &lim), TXREQ_FATAL);
	cr_assert_eq(txreq_decode(&p, past, 1, &lim), TXREQ_FATAL);
	cr_assert_not_null(strstr(p.why, "producer"));
	cr_assert_eq(txreq_decode(&p, bad_extra, 2, &lim), TXREQ_FATAL);
	cr_assert_eq(txreq_decode(&p, extra_type, 2, &lim), TXREQ_FATAL);
	extras[0] = req(1, 0, NETTXF_extra_info, 1, 100);
	for (int i = 1; i < 6; i++)
		extras[i] = gso(1448, 1, true);
	cr_assert_eq(txreq_decode(&p, extras, 6, &lim), TXREQ_FATAL);
}

/* Ethernet + IPv4 (ihl 5) + TCP (doff 8). */
Test(txhdr, tcp4_and_short)
{
	uint8_t f[128] = { 0 };
	struct txhdr h;

	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = 6;
	f[14 + 20 + 12] = 8 << 4;
	cr_assert_eq(txhdr_parse(&h, f, sizeof(f)), 0);
	cr_assert_eq(h.l4_off, 34);
	cr_assert_eq(h.csum_off, 16);
	cr_assert_eq(h.hdr_len, 34 + 32);
	cr_assert_eq(txhdr_parse(&h, f, 60), -1, "TCP options beyond the copy");
	f[21] = 1;		/* a later IPv4 fragment has no TCP header */
	cr_assert_eq(txhdr_parse(&h, f, sizeof(f)), -1);
}

Test(nbrate, bucket)
{
	struct nbrate r;
	uint64_t wake = 0;

	nbrate_init(&r, 10000, 50000, 0);
	cr_assert(nbrate_take(&r, 6000, 0, &wake));
	cr_assert_not(nbrate_take(&r, 6000, 10, &wake));
	cr_assert_eq(wake, 50000);
	cr_assert(nbrate_take(&r, 6000, 50000, &wake), "a period later the credit is back");
	/* a GSO frame larger than one period's credit passes thanks to the burst */
	nbrate_init(&r, 1000, 1000, 0);
	cr_assert_not(nbrate_take(&r, 65535, 0, &wake));
	for (uint64_t t = 1000; !nbrate_take(&r, 65535, t, &wake); t += 1000)
		cr_assert_lt(t, 1000000, "never enough credit");
}

Test(nbrate, parse)
{
	uint64_t b, u;

	cr_assert_eq(nbrate_parse("12500,50000", &b, &u), 0);
	cr_assert_eq(b, 12500);
	cr_assert_eq(u, 50000);
	cr_assert_eq(nbrate_parse("12500", &b, &u), -1);
	cr_assert_eq(nbrate_parse("0,5", &b, &u), -1);
	cr_assert_eq(nbrate_parse("-1,5", &b, &u), -1);
	cr_assert_eq(nbrate_parse("5,5x", &b, &u), -1);
}
