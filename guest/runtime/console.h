/*
 * The console front on the console ring page (struct xencons_interface):
 * output on the out ring, input from the in ring. Output turns "\n" into
 * "\r\n" (the dom0 side is a raw tty). When the ring is full the writer waits
 * for the backend, at most CONSOLE_STALL_MS per call; past that, output is
 * dropped until the backend drains the ring again, so a guest without a
 * console daemon never hangs. Before the ring is up, console_early_printf
 * writes to the hypervisor console.
 */
#ifndef PVGUEST_CONSOLE_H
#define PVGUEST_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "events.h"
#include "libhv.h"

#define CONSOLE_STALL_MS 2000

struct console;

struct console *console_open(struct events *ev, void *ring_page, hv_port_t port);
void console_close(struct console *cons);
int console_write(struct console *cons, const char *buf, size_t len);
int console_printf(struct console *cons, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int console_vprintf(struct console *cons, const char *fmt, va_list ap);
/* Input bytes the backend wrote (0 when none); never blocks. -1 EIO. */
ssize_t console_read(struct console *cons, char *buf, size_t len);
/* Bytes of output dropped because the ring stayed full. */
unsigned long console_dropped(const struct console *cons);
/* Before the ring: hypervisor console (CONSOLEIO_write). */
void console_early_printf(struct hv *hv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
