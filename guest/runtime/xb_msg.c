#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xb_msg.h"
#include "xmalloc.h"

/* Bytes to put on the ring for m. */
size_t
xb_msg_size(const struct xb_msg *m)
{
	return sizeof(m->xm_hdr) + m->xm_hdr.len;
}

/* Every request is strings plus, for XS_WRITE, a raw value. */
int
xb_msg_build(struct xb_msg *m, uint32_t type, uint32_t req_id, uint32_t tx_id,
    const char *const *strs, unsigned nstr, const void *raw, size_t rawlen)
{
	size_t len = 0;

	for (unsigned i = 0; i < nstr; i++) {
		size_t n = strlen(strs[i]) + 1;
		if (n > XENSTORE_PAYLOAD_MAX - len) {
			errno = E2BIG;
			return -1;
		}
		memcpy(m->xm_body + len, strs[i], n);
		len += n;
	}
	if (rawlen > XENSTORE_PAYLOAD_MAX - len) {
		errno = E2BIG;
		return -1;
	}
	if (rawlen > 0)
		memcpy(m->xm_body + len, raw, rawlen);
	len += rawlen;
	m->xm_body[len] = '\0';
	m->xm_hdr.type = type;
	m->xm_hdr.req_id = req_id;
	m->xm_hdr.tx_id = tx_id;
	m->xm_hdr.len = (uint32_t)len;
	return 0;
}

/* The daemon names errors; xs_wire.h holds the table of names. */
int
xb_msg_errno(const struct xb_msg *m)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++) {
		if (strcmp(m->xm_body, xsd_errors[i].errstring) == 0)
			return xsd_errors[i].errnum;
	}
	return EINVAL;
}

/* Shells and logs print the names the daemon uses. */
const char *
xb_msg_errname(int err)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++) {
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	}
	return err == ETIMEDOUT ? "ETIMEDOUT" : "EINVAL";
}

/* Directory replies and watch events are lists of strings. */
char **
xb_msg_split(const char *buf, size_t len, unsigned *num)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\0' || i == len - 1)
			n++;
	}
	char **vec = xmalloc((n + 1) * sizeof(char *) + len + 1);
	char *strs = (char *)(vec + n + 1);
	memcpy(strs, buf, len);
	strs[len] = '\0';
	unsigned k = 0;
	for (size_t i = 0; i < len && k < n; k++) {
		vec[k] = strs + i;
		i += strlen(strs + i) + 1;
	}
	vec[n] = NULL;
	if (num != NULL)
		*num = n;
	return vec;
}

/* Ready for the next message. */
void
xb_rx_reset(struct xb_rx *rx)
{
	rx->xr_have = 0;
}

/* Header first, checked, then the payload it announces. */
int
xb_rx_pull(struct xb_rx *rx, const struct byte_ring *r)
{
	const size_t hdrlen = sizeof(rx->xr_msg.xm_hdr);
	char *base = (char *)&rx->xr_msg;

	for (;;) {
		size_t want;
		if (rx->xr_have < hdrlen)
			want = hdrlen - rx->xr_have;
		else
			want = hdrlen + rx->xr_msg.xm_hdr.len - rx->xr_have;
		if (want == 0) {
			rx->xr_msg.xm_body[rx->xr_msg.xm_hdr.len] = '\0';
			return 1;
		}
		char *dst = rx->xr_have < hdrlen ? base + rx->xr_have
		    : rx->xr_msg.xm_body + (rx->xr_have - hdrlen);
		ssize_t got = byte_ring_get(r, dst, want);
		if (got < 0)
			return -1;
		if (got == 0)
			return 0;
		rx->xr_have += got;
		if (rx->xr_have == hdrlen && rx->xr_msg.xm_hdr.len > XENSTORE_PAYLOAD_MAX) {
			errno = EPROTO;
			return -1;
		}
	}
}
