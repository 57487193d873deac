/*
 * The main() every backend daemon (blkback, netback) shares: options
 * (-F, -v, --pid-file), daemon start-up, the descriptor limit, xl.conf,
 * hvd, the backend/<kind> watch, the loop and a clean exit. A backend's
 * main.c fills a struct backend_main and calls backend_main().
 */
#ifndef PVSTACK_BACKEND_MAIN_H
#define PVSTACK_BACKEND_MAIN_H

#include <stdbool.h>

struct backend_ops;
struct event_base;

struct backend_main {
	const char *bm_name;			/* "blkback": log name, usage, pid file */
	const struct backend_ops *bm_ops;
	void *bm_priv;				/* handed to backend_new() */
	bool bm_daemon_ready;			/* tell systemd when the watch is set */
	/* Optional: the backend's own settings, once the loop exists and
	 * xl.conf is known good, before hvd is opened. */
	void (*bm_setup)(void *priv, struct event_base *base);
	/* Optional: frees what the backend kept in priv, after backend_free(). */
	void (*bm_cleanup)(void *priv);
};

/* Runs the daemon to its end; returns main()'s exit status. Exits on a bad
 * option or a set-up failure. */
int backend_main(int argc, char **argv, const struct backend_main *bm);

#endif
