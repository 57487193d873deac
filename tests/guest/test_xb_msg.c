/* xenstore messages: building requests, errors, splitting, reassembly from the ring. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xb_msg.h"

static struct xenstore_domain_interface xs;
static struct byte_ring rsp = { xs.rsp, XENSTORE_RING_SIZE, &xs.rsp_prod, &xs.rsp_cons };

/* The daemon's side: puts a message on the response ring. */
static void
daemon_put(const void *buf, size_t len)
{
	cr_assert_eq(byte_ring_put(&rsp, buf, len), (ssize_t)len);
}

static void
setup(void)
{
	memset(&xs, 0, sizeof(xs));
}

TestSuite(xb_msg, .init = setup);

Test(xb_msg, write_request_layout)
{
	struct xb_msg m;
	const char *path = "data/x";

	cr_assert_eq(xb_msg_build(&m, XS_WRITE, 7, 3, &path, 1, "hello", 5), 0);
	cr_assert_eq(m.xm_hdr.type, XS_WRITE);
	cr_assert_eq(m.xm_hdr.req_id, 7);
	cr_assert_eq(m.xm_hdr.tx_id, 3);
	cr_assert_eq(m.xm_hdr.len, 12);
	cr_assert_eq(memcmp(m.xm_body, "data/x\0hello", 12), 0);
	cr_assert_eq(xb_msg_size(&m), 16 + 12);
}

Test(xb_msg, watch_request_and_empty_string)
{
	struct xb_msg m;
	const char *strs[] = { "control/shutdown", "tok" };
	const char *empty = "";

	cr_assert_eq(xb_msg_build(&m, XS_WATCH, 1, 0, strs, 2, NULL, 0), 0);
	cr_assert_eq(m.xm_hdr.len, sizeof("control/shutdown") + sizeof("tok"));
	cr_assert_eq(xb_msg_build(&m, XS_TRANSACTION_START, 2, 0, &empty, 1, NULL, 0), 0);
	cr_assert_eq(m.xm_hdr.len, 1);
	cr_assert_eq(m.xm_body[0], '\0');
}

Test(xb_msg, payload_limit)
{
	struct xb_msg m;
	static char big[XENSTORE_PAYLOAD_MAX + 1];
	const char *path = "p";

	memset(big, 'v', sizeof(big));
	cr_assert_eq(xb_msg_build(&m, XS_WRITE, 1, 0, &path, 1, big, XENSTORE_PAYLOAD_MAX - 2), 0);
	cr_assert_eq(m.xm_hdr.len, XENSTORE_PAYLOAD_MAX);
	cr_assert_eq(xb_msg_build(&m, XS_WRITE, 1, 0, &path, 1, big, XENSTORE_PAYLOAD_MAX - 1), -1);
	cr_assert_eq(errno, E2BIG);
	big[XENSTORE_PAYLOAD_MAX] = '\0';
	const char *huge = big;
	cr_assert_eq(xb_msg_build(&m, XS_READ, 1, 0, &huge, 1, NULL, 0), -1);
	cr_assert_eq(errno, E2BIG);
}

Test(xb_msg, error_names)
{
	struct xb_msg m;
	const char *names[] = { "EACCES", "ENOENT", "EAGAIN", "EQUOTA" };
	int want[] = { EACCES, ENOENT, EAGAIN, EINVAL };

	for (int i = 0; i < 4; i++) {
		xb_msg_build(&m, XS_ERROR, 1, 0, &names[i], 1, NULL, 0);
		cr_assert_eq(xb_msg_errno(&m), want[i], "%s", names[i]);
	}
	cr_assert_str_eq(xb_msg_errname(EACCES), "EACCES");
	cr_assert_str_eq(xb_msg_errname(ETIMEDOUT), "ETIMEDOUT");
}

Test(xb_msg, split_lists)
{
	unsigned n;
	char **v = xb_msg_split("a\0bb\0ccc\0", 9, &n);

	cr_assert_eq(n, 3);
	cr_assert_str_eq(v[0], "a");
	cr_assert_str_eq(v[1], "bb");
	cr_assert_str_eq(v[2], "ccc");
	cr_assert_null(v[3]);
	free(v);
	v = xb_msg_split("", 0, &n);
	cr_assert_eq(n, 0);
	cr_assert_null(v[0]);
	free(v);
	v = xb_msg_split("path\0tok", 8, &n);	/* last string without its NUL */
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[1], "tok");
	free(v);
}

Test(xb_msg, rx_reassembles_a_message_in_pieces)
{
	struct xb_rx rx;
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 9, .tx_id = 0, .len = 5 };

	xb_rx_reset(&rx);
	cr_assert_eq(xb_rx_pull(&rx, &rsp), 0);
	daemon_put(&h, 10);	/* half a header */
	cr_assert_eq(xb_rx_pull(&rx, &rsp), 0);
	daemon_put((char *)&h + 10, 6);
	daemon_put("va", 2);
	cr_assert_eq(xb_rx_pull(&rx, &rsp), 0);
	daemon_put("lue", 3);
	cr_assert_eq(xb_rx_pull(&rx, &rsp), 1);
	cr_assert_eq(rx.xr_msg.xm_hdr.req_id, 9);
	cr_assert_str_eq(rx.xr_msg.xm_body, "value");
	cr_assert_eq(xs.rsp_cons, 21);
}

Test(xb_msg, rx_two_messages_across_the_wrap)
{
	struct xb_rx rx;
	struct xsd_sockmsg h1 = { .type = XS_WATCH_EVENT, .len = 6 };
	struct xsd_sockmsg h2 = { .type = XS_WRITE, .req_id = 4, .len = 3 };

	xs.rsp_prod = xs.rsp_cons = XENSTORE_RING_SIZE - 7;
	daemon_put(&h1, sizeof(h1));
	daemon_put("p\0tok\0", 6);
	daemon_put(&h2, sizeof(h2));
	daemon_put("OK\0", 3);
	xb_rx_reset(&rx);
	cr_assert_eq(xb_rx_pull(&rx, &rsp), 1);
	cr_assert_eq(rx.xr_msg.xm_hdr.type, XS_WATCH_EVENT);
	cr_assert_eq(memcmp(rx.xr_msg.xm_body, "p\0tok\0", 6), 0);
	xb_rx_reset(&rx);
	cr_assert_eq(xb_rx_pull(&rx, &rsp), 1);
	cr_assert_eq(rx.xr_msg.xm_hdr.req_id, 4);
	cr_assert_str_eq(rx.xr_msg.xm_body, "OK");
	cr_assert_eq(byte_ring_avail(&rsp), 0);
}

Test(xb_msg, rx_refuses_oversized_and_corrupt)
{
	struct xb_rx rx;
	struct xsd_sockmsg h = { .type = XS_READ, .len = XENSTORE_PAYLOAD_MAX + 1 };

	xb_rx_reset(&rx);
	daemon_put(&h, sizeof(h));
	cr_assert_eq(xb_rx_pull(&rx, &rsp), -1);
	cr_assert_eq(errno, EPROTO);

	setup();
	xb_rx_reset(&rx);
	xs.rsp_prod = 4000;
	cr_assert_eq(xb_rx_pull(&rx, &rsp), -1);
	cr_assert_eq(errno, EIO);
}
