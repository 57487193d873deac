#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hvd.h"
#include "log.h"

/* The hypervisor console ring (xl dmesg): the newest bytes win. */
#define HVD_CONSOLE_SIZE (HV_MSG_MAX - sizeof(struct hv_msg_hdr))

static char hvd_console_ring[HVD_CONSOLE_SIZE];
static uint64_t hvd_console_prod, hvd_console_cons;

/* Appends raw bytes, overwriting the oldest when full. */
static void
hvd_console_put(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		hvd_console_ring[hvd_console_prod++ % HVD_CONSOLE_SIZE] = s[i];
	if (hvd_console_prod - hvd_console_cons > HVD_CONSOLE_SIZE)
		hvd_console_cons = hvd_console_prod - HVD_CONSOLE_SIZE;
}

/* hvd's own notes (domain created, crashed, ...), also logged. */
void
hvd_console_printf(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	log_info("%s", line);
	line[n++] = '\n';
	hvd_console_put("(XEN) ", 6);
	hvd_console_put(line, n);
}

/* A guest's CONSOLEIO_write: printable bytes only, prefixed per line like Xen's (d<N>). */
void
hvd_console_guest(uint32_t domid, const char *text, size_t len)
{
	char prefix[24];
	int plen = snprintf(prefix, sizeof(prefix), "(d%u) ", domid);
	bool bol = true;

	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (bol)
			hvd_console_put(prefix, plen);
		if (ch != '\n' && ch != '\t' && (ch < 0x20 || ch == 0x7f))
			ch = '?';
		hvd_console_put(&ch, 1);
		bol = ch == '\n';
	}
	if (!bol)
		hvd_console_put("\n", 1);
}

/* Copies the ring out oldest first; clear empties it. */
size_t
hvd_console_read(char *buf, size_t cap, bool clear)
{
	uint64_t start = hvd_console_cons;
	size_t len = hvd_console_prod - start;

	if (len > cap) {
		start = hvd_console_prod - cap;
		len = cap;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = hvd_console_ring[(start + i) % HVD_CONSOLE_SIZE];
	if (clear)
		hvd_console_cons = hvd_console_prod;
	return len;
}
