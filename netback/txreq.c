/*
 * TX packet decoding (txreq.h): slot 0 carries the total size, then come the
 * extra-info slots it announces, then the fragments while more_data is set;
 * slot 0's own fragment is the total minus the others.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "txreq.h"

/* Records the verdict's reason. */
static enum txreq_verdict
txreq_verdict(struct txpkt *p, enum txreq_verdict v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return v;
}

/* One extra-info slot: only the GSO one matters to us; its values are checked. */
static enum txreq_verdict
txreq_extra(struct txpkt *p, const netif_extra_info_t *e, bool *drop)
{
	if (e->type == XEN_NETIF_EXTRA_TYPE_NONE || e->type >= XEN_NETIF_EXTRA_TYPE_MAX)
		return txreq_verdict(p, TXREQ_FATAL, "bad extra info type %u", e->type);
	if (e->type != XEN_NETIF_EXTRA_TYPE_GSO)
		return TXREQ_OK;	/* multicast and hash: we offer neither, ignore */
	if (e->u.gso.size == 0)
		return txreq_verdict(p, TXREQ_FATAL, "GSO extra with size 0");
	if (e->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 && e->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)
		return txreq_verdict(p, TXREQ_FATAL, "bad GSO type %u", e->u.gso.type);
	if (p->gso_type != XEN_NETIF_GSO_TYPE_NONE)
		*drop = true;		/* two GSO extras: ambiguous */
	p->gso_type = e->u.gso.type;
	p->gso_size = e->u.gso.size;
	return TXREQ_OK;
}

/* The extra-info chain after slot 0; *i is the next slot. */
static enum txreq_verdict
txreq_extras(struct txpkt *p, const union txreq_slot *s, unsigned avail, unsigned *i, bool *drop)
{
	unsigned n = 0;
	enum txreq_verdict v;
	netif_extra_info_t e;

	do {
		if (*i >= avail)
			return txreq_verdict(p, TXREQ_FATAL, "extra info past the request producer");
		if (n++ == TXREQ_MAX_EXTRAS)
			return txreq_verdict(p, TXREQ_FATAL, "more than %u extra info slots",
			    TXREQ_MAX_EXTRAS);
		e = s[*i].extra;
		p->slot[*i].id = 0;
		p->slot[*i].extra = true;
		(*i)++;
		if ((v = txreq_extra(p, &e, drop)) != TXREQ_OK)
			return v;
	} while (e.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	return TXREQ_OK;
}

/* The fragments after slot 0 and the extras; sums their sizes into *rest. */
static enum txreq_verdict
txreq_frags(struct txpkt *p, const union txreq_slot *s, unsigned avail, unsigned *i,
    uint32_t *rest, bool *drop)
{
	bool more = s[0].req.flags & NETTXF_more_data;
	netif_tx_request_t r;

	while (more) {
		if (*i >= avail)
			return txreq_verdict(p, TXREQ_FATAL, "packet continues past the request "
			    "producer");
		if (p->nfrags == TXREQ_FATAL_SLOTS)
			return txreq_verdict(p, TXREQ_FATAL, "packet over more than %u slots",
			    TXREQ_FATAL_SLOTS);
		r = s[*i].req;
		p->slot[*i].id = r.id;
		p->slot[*i].extra = false;
		(*i)++;
		if ((uint32_t)r.offset + r.size > TXREQ_PAGE)
			return txreq_verdict(p, TXREQ_FATAL, "fragment at offset %u of %u bytes "
			    "crosses its page", r.offset, r.size);
		if (r.size > p->len - *rest) {
			if (!*drop)
				txreq_verdict(p, TXREQ_DROP, "fragment of %u bytes beyond the "
				    "frame's %u", r.size, p->len);
			*drop = true;
		} else
			*rest += r.size;
		p->frag[p->nfrags++] = (struct txreq_frag){ r.gref, r.offset, r.size };
		more = r.flags & NETTXF_more_data;
	}
	return TXREQ_OK;
}

/* The limits a whole frame must respect once its slots are known. */
static enum txreq_verdict
txreq_frame(struct txpkt *p, const struct txreq_limits *lim)
{
	if (p->nfrags > TXREQ_MAX_SLOTS)
		return txreq_verdict(p, TXREQ_DROP, "packet over %u slots (at most %u)",
		    p->nfrags, TXREQ_MAX_SLOTS);
	if (p->len < TXREQ_ETH_HLEN)
		return txreq_verdict(p, TXREQ_DROP, "frame of %u bytes, shorter than an "
		    "Ethernet header", p->len);
	if (p->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
		if (p->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 || !lim->gso_tcpv4)
			return txreq_verdict(p, TXREQ_DROP, "GSO type %u not offered", p->gso_type);
		if (!(p->flags & NETTXF_csum_blank))
			return txreq_verdict(p, TXREQ_DROP, "GSO frame without csum_blank");
		return TXREQ_OK;
	}
	if (p->len > lim->max_len)
		return txreq_verdict(p, TXREQ_DROP, "frame of %u bytes over the MTU's %u",
		    p->len, lim->max_len);
	return TXREQ_OK;
}

/* The whole packet (txreq.h). */
enum txreq_verdict
txreq_decode(struct txpkt *p, const union txreq_slot *s, unsigned avail,
    const struct txreq_limits *lim)
{
	netif_tx_request_t first;
	uint32_t rest = 0;
	unsigned i = 1;
	bool drop = false;
	enum txreq_verdict v;

	p->nslots = 0;
	p->nfrags = 1;
	p->gso_type = XEN_NETIF_GSO_TYPE_NONE;
	p->gso_size = 0;
	p->why[0] = '\0';
	if (avail == 0)
		return txreq_verdict(p, TXREQ_FATAL, "no request");
	if (avail > TXREQ_SCAN)
		avail = TXREQ_SCAN;
	first = s[0].req;
	p->slot[0].id = first.id;
	p->slot[0].extra = false;
	p->len = first.size;
	p->flags = first.flags & (NETTXF_csum_blank | NETTXF_data_validated);
	if ((first.flags & NETTXF_extra_info) &&
	    (v = txreq_extras(p, s, avail, &i, &drop)) != TXREQ_OK)
		return v;
	if ((v = txreq_frags(p, s, avail, &i, &rest, &drop)) != TXREQ_OK)
		return v;
	p->nslots = i;
	p->frag[0] = (struct txreq_frag){ first.gref, first.offset,
	    drop ? 0 : (uint16_t)(p->len - rest) };
	if ((uint32_t)first.offset + p->frag[0].len > TXREQ_PAGE)
		return txreq_verdict(p, TXREQ_FATAL, "first fragment at offset %u of %u bytes "
		    "crosses its page", first.offset, p->frag[0].len);
	if (drop) {
		if (!p->why[0])
			txreq_verdict(p, TXREQ_DROP, "two GSO extras");
		return TXREQ_DROP;
	}
	return txreq_frame(p, lim);
}
