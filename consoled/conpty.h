/* Raw ptys for the consoles, one opened ahead (conpty.c). */
#ifndef PVSTACK_CONPTY_H
#define PVSTACK_CONPTY_H

struct consoled;

struct conpty {
	int cp_master;		/* nonblocking */
	int cp_slave;		/* held open so output queues while nobody is attached */
	char cp_name[64];	/* /dev/pts/N */
};

int conpty_open(struct conpty *p);
void conpty_close(struct conpty *p);
void conpty_spare_init(struct consoled *cd);
void conpty_spare_fini(struct consoled *cd);
/* Opens a new spare if there is none. */
void conpty_spare_refill(struct consoled *cd);
/* The spare (a new spare opened a little later), or a new pty; -1 with errno. */
int conpty_take(struct consoled *cd, struct conpty *p);

#endif
