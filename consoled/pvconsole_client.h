/*
 * The console client's work, shared by pvconsole and `xl create -c` (which
 * attaches in its own process rather than starting pvconsole on the path to
 * the prompt): wait for a domain's pty, take the terminal, copy both ways;
 * Ctrl+] detaches; the copy ends when the domain dies.
 */
#ifndef PVSTACK_CONSOLED_PVCONSOLE_CLIENT_H
#define PVSTACK_CONSOLED_PVCONSOLE_CLIENT_H

#include <stddef.h>

struct xs;

/* One attachment: its xenstore connection, the pty, typed bytes not yet written. */
struct pvconsole {
	struct xs *pc_xs;
	char *pc_home;		/* /local/domain/D: gone when the domain is */
	char *pc_path;		/* the tty node */
	char *pc_tty;		/* its value, the pty we use */
	int pc_pty;
	int pc_stdin_open;
	char pc_in[4096];	/* typed bytes not yet accepted by the pty */
	size_t pc_in_len;
};

/* The xenstore node holding the pty path of the chosen console. */
char *pvconsole_tty_node(unsigned domid, const char *type, unsigned num);
/* Waits for the pty and opens it; 0, or -1 after saying why on stderr. */
int pvconsole_connect(struct pvconsole *pc, unsigned long domid, const char *type,
    unsigned long num);
/* The same in two steps: the connection and the tty node's watch, then the wait and the pty. */
int pvconsole_watch(struct pvconsole *pc, unsigned long domid, const char *type, unsigned long num);
int pvconsole_attach(struct pvconsole *pc, unsigned long domid, int while_alive);
/* Raw terminal (when stdin is one) and signals that put it back before dying. */
void pvconsole_take_terminal(void);
/* The copy loop; returns the exit status. */
int pvconsole_loop(struct pvconsole *pc);
/* Puts the terminal back as we found it, on every way out. */
void pvconsole_restore_tty(void);
/* Closes the pty and the xenstore connection, frees the strings. */
void pvconsole_close(struct pvconsole *pc);

#endif
