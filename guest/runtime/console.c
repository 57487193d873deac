#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <xen/io/console.h>

#include "byte_ring.h"
#include "console.h"
#include "xmalloc.h"

struct console {
	struct events *co_ev;
	hv_port_t co_port;
	struct byte_ring co_out;
	struct byte_ring co_in;
	bool co_stalled;	/* the backend left the ring full past the stall time */
	unsigned long co_dropped;
};

/* Nothing to do on an event: readers and writers look at the ring themselves. */
static void
console_event(hv_port_t port, void *arg)
{
	(void)port;
	(void)arg;
}

/* The console ring from start_info and its port, attached to the loop. */
struct console *
console_open(struct events *ev, void *ring_page, hv_port_t port)
{
	struct xencons_interface *intf = ring_page;
	struct console *cons = xcalloc(1, sizeof(*cons));

	cons->co_ev = ev;
	cons->co_port = port;
	cons->co_out = (struct byte_ring){ intf->out, sizeof(intf->out), &intf->out_prod, &intf->out_cons };
	cons->co_in = (struct byte_ring){ intf->in, sizeof(intf->in), &intf->in_prod, &intf->in_cons };
	if (events_attach(ev, port, console_event, cons) < 0) {
		free(cons);
		return NULL;
	}
	return cons;
}

/* Unbinds the port; the ring page stays (it is the domain's). */
void
console_close(struct console *cons)
{
	if (cons == NULL)
		return;
	events_unbind(cons->co_ev, cons->co_port);
	free(cons);
}

/* events_wait condition: room on the out ring. */
static bool
console_has_space(void *arg)
{
	struct console *cons = arg;

	return byte_ring_space(&cons->co_out) != 0;
}

/* Puts all of buf on the ring: one notify per batch, and before each wait for room. */
static int
console_put(struct console *cons, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = byte_ring_put(&cons->co_out, buf, len);
		if (n < 0)
			return -1;
		buf += n;
		len -= n;
		if (n > 0) {
			cons->co_stalled = false;
			events_notify(cons->co_ev, cons->co_port);
		}
		if (len == 0)
			break;
		if (cons->co_stalled || events_wait(cons->co_ev, console_has_space, cons,
		    CONSOLE_STALL_MS) < 0) {
			cons->co_stalled = true;
			cons->co_dropped += len;
			return 0;
		}
	}
	return 0;
}

/* Each "\n" goes out as "\r\n", staged so that a line costs one notify. */
int
console_write(struct console *cons, const char *buf, size_t len)
{
	char stage[512];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (n + 2 > sizeof(stage)) {
			if (console_put(cons, stage, n) < 0)
				return -1;
			n = 0;
		}
		if (buf[i] == '\n')
			stage[n++] = '\r';
		stage[n++] = buf[i];
	}
	return console_put(cons, stage, n);
}

/* Formats on the stack, or the heap for long output. */
int
console_vprintf(struct console *cons, const char *fmt, va_list ap)
{
	char small[256], *big = NULL;
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return -1;
	}
	const char *out = small;
	if ((size_t)n >= sizeof(small)) {
		big = xmalloc((size_t)n + 1);
		vsnprintf(big, (size_t)n + 1, fmt, ap2);
		out = big;
	}
	va_end(ap2);
	int rc = console_write(cons, out, (size_t)n);
	free(big);
	return rc;
}

/* printk for guest programs. */
int
console_printf(struct console *cons, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = console_vprintf(cons, fmt, ap);
	va_end(ap);
	return rc;
}

/* Input from the backend; notifies it that room was made. */
ssize_t
console_read(struct console *cons, char *buf, size_t len)
{
	ssize_t n = byte_ring_get(&cons->co_in, buf, len);

	if (n > 0)
		events_notify(cons->co_ev, cons->co_port);
	return n;
}

/* How much output the stall rule threw away. */
unsigned long
console_dropped(const struct console *cons)
{
	return cons->co_dropped;
}

/* Messages before (or instead of) the console ring: hvd's console. */
void
console_early_printf(struct hv *hv, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	hv_guest_console_write(hv, buf, (size_t)n);
}
