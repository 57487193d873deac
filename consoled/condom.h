/* Between condom.c (set-up and tear-down) and condom_io.c (the data path). */
#ifndef PVSTACK_CONSOLED_CONDOM_H
#define PVSTACK_CONSOLED_CONDOM_H

#include <stddef.h>
#include <stdint.h>

struct condom;

/* condom.c */
void condom_down(struct condom *dom);
int condom_pty_open(struct condom *dom);
void condom_pty_close(struct condom *dom);
/* A file-name-safe log name: the domain's name, or dom<N>. */
void condom_log_name(const char *name, uint32_t domid, char *buf, size_t len);

/* condom_io.c: libevent callbacks, arg is the struct condom */
void condom_io_evtchn(int fd, short what, void *arg);
void condom_io_throttle_end(int fd, short what, void *arg);
void condom_io_inpoll(int fd, short what, void *arg);
void condom_io_stall_end(int fd, short what, void *arg);
void condom_io_input(int fd, short what, void *arg);
void condom_io_output(int fd, short what, void *arg);

#endif
