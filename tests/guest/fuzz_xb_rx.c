/*
 * libFuzzer target: whatever xenstored (or a corrupted page) leaves on the
 * response ring goes through the guest's reassembly, error-name and list
 * decoders. Input: 4 bytes of starting rsp_cons, 4 of rsp_prod offset, 1 of
 * chunk size, then the bytes the "daemon" writes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xb_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xenstore_domain_interface intf;
	struct byte_ring r = { intf.rsp, XENSTORE_RING_SIZE, &intf.rsp_prod, &intf.rsp_cons };
	struct xb_rx rx;
	uint32_t cons, skew;

	if (size < 9)
		return 0;
	memcpy(&cons, data, 4);
	memcpy(&skew, data + 4, 4);
	size_t chunk = data[8] % 64 + 1;
	data += 9;
	size -= 9;
	memset(&intf, 0, sizeof(intf));
	intf.rsp_cons = cons;
	intf.rsp_prod = cons + (skew % 4 == 0 ? skew : 0);	/* sometimes corrupt */
	xb_rx_reset(&rx);
	while (size > 0) {
		size_t n = size < chunk ? size : chunk;
		ssize_t put = byte_ring_put(&r, data, n);
		if (put < 0)
			break;
		data += put;
		size -= put;
		int rc;
		while ((rc = xb_rx_pull(&rx, &r)) == 1) {
			unsigned num;
			char **vec = xb_msg_split(rx.xr_msg.xm_body, rx.xr_msg.xm_hdr.len, &num);
			for (unsigned i = 0; i < num; i++)
				(void)strlen(vec[i]);
			free(vec);
			if (rx.xr_msg.xm_hdr.type == XS_ERROR)
				(void)xb_msg_errno(&rx.xr_msg);
			xb_rx_reset(&rx);
		}
		if (rc < 0 || put == 0)
			break;
	}
	return 0;
}
