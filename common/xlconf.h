/*
 * /etc/xen/xl.conf ($PVSTACK_CONFDIR/xl.conf): the host-wide settings that
 * xl and the backends share, in Xen's xl.conf(5) syntax (KEY=VALUE, "strings"
 * or 'strings', numbers in decimal, 0octal or 0xhex, lists, # comments), read
 * with the same grammar as xl.cfg (cfg.h).
 *
 * Every key pvstack uses is in one table (xlconf.c) with its type and default,
 * so a getter never fails: a missing file, or a key not in the file, gives the
 * default. Values are checked once at load: a malformed line or a value of the
 * wrong type is an error naming the file, the line and the key. Keys pvstack
 * does not know are ignored, as xl ignores them (xl.conf carries many).
 *
 *   run_hotplug_scripts	bool	1: backends run hotplug scripts; 0: udev does
 *   guest_uid_range_base	int	first uid of the guest/worker range (jail.h)
 *   vif.default.bridge		string	xenbr0
 *   vif.default.script		string	vif-bridge
 *   lockfile			string	/var/lock/xl
 *   autoballoon		string	auto (read, ignored: there is no ballooning)
 */
#ifndef PVSTACK_XLCONF_H
#define PVSTACK_XLCONF_H

#include <stdbool.h>
#include <stdio.h>

enum xlconf_type {
	XLCONF_STRING,		/* any single value, kept as text */
	XLCONF_INT,		/* a number within the key's range */
	XLCONF_BOOL,		/* a number: 0 false, anything else true */
};

/* One key's value once loaded (or its default). */
struct xlconf_val {
	char *xv_text;		/* the value as written (the default's text when absent) */
	long long xv_int;	/* XLCONF_INT / XLCONF_BOOL */
	int xv_line;		/* 0: the default */
};

/* The loaded file: one value per key of the table, in table order. */
struct xlconf {
	char *xc_path;		/* the file read (or that was missing) */
	int xc_found;		/* the file existed */
	struct xlconf_val *xc_vals;
};

/* Loads path (a missing file is all defaults); 0, or -1 with every problem in
 * *errors ("file:line: key: why" lines, malloc'd; NULL when there were none). */
int xlconf_load_file(struct xlconf *xc, const char *path, char **errors);
/* Loads $PVSTACK_CONFDIR/xl.conf, reporting problems with log_warnx. */
int xlconf_load(struct xlconf *xc);
void xlconf_free(struct xlconf *xc);

/*
 * The process's own copy, loaded on first use; NULL when the file is malformed
 * (already reported: daemons then refuse to start, xl refuses the command).
 */
const struct xlconf *xlconf_get(void);

/* Typed getters; key must be one of the table's (anything else is a bug: fatalx). */
const char *xlconf_string(const struct xlconf *xc, const char *key);
long long xlconf_int(const struct xlconf *xc, const char *key);
bool xlconf_bool(const struct xlconf *xc, const char *key);

/* Prints every key as "key = value" with where it came from (golden tests, docs). */
void xlconf_dump(FILE *f, const struct xlconf *xc);

#endif
