/*
 * pvconsole: the console client `xl console` runs (xenconsole's job).
 * Takes the per-console lock, then pvconsole_client.c does the rest: waits
 * for the domain's pty, copies between the terminal and the pty; Ctrl+]
 * detaches; exits when the domain dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdint.h>
#include <xen/xen.h>

#include "conlock.h"
#include "pvconsole_client.h"
#include "xmalloc.h"

/* The option summary. */
static void
pvconsole_usage(FILE *f)
{
	fprintf(f,
	    "usage: pvconsole [--type pv|serial] [-n|--num N] [--start-notify-fd FD] DOMID\n"
	    "Attaches the terminal to a domain's console; Ctrl+] detaches.\n");
}

/* Names a bad argument and exits 2. */
static _Noreturn void
pvconsole_die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "pvconsole: %s \"%s\"\n", what, arg);
	pvconsole_usage(stderr);
	exit(2);
}

/* "pvconsole ARGS (from PARENT-CMD)", recorded in the lock for refused clients. */
static char *
pvconsole_describe(int argc, char **argv)
{
	char path[64], pbuf[256], *s, *tmp;
	ssize_t n = 0;
	int i, fd;

	s = xstrdup("pvconsole");
	for (i = 1; i < argc; i++) {
		xasprintf(&tmp, "%s %s", s, argv[i]);
		free(s);
		s = tmp;
	}
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)getppid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, pbuf, sizeof(pbuf) - 1);
		close(fd);
	}
	if (n > 0) {
		for (i = 0; i < n - 1; i++)
			if (pbuf[i] == '\0')
				pbuf[i] = ' ';
		pbuf[n] = '\0';
		xasprintf(&tmp, "%s (from pid %ld: %s)", s, (long)getppid(), pbuf);
		free(s);
		s = tmp;
	}
	return s;
}

struct pvconsole_opts {
	const char *po_type;
	unsigned long po_domid;
	unsigned long po_num;
	int po_notify_fd;
};

/* Parses the command line; exits on a usage error. */
static void
pvconsole_options(int argc, char **argv, struct pvconsole_opts *o)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "num", required_argument, NULL, 'n' },
		{ "start-notify-fd", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long fd;
	int c;

	o->po_type = "pv";
	o->po_num = 0;
	o->po_notify_fd = -1;
	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->po_type = optarg;
			if (strcmp(optarg, "pv") != 0 && strcmp(optarg, "serial") != 0)
				pvconsole_die_usage("unknown console type", optarg);
			break;
		case 'n':
			o->po_num = strtoul(optarg, &end, 10);
			if (*end || end == optarg || o->po_num > 1000)
				pvconsole_die_usage("bad console number", optarg);
			break;
		case 's':
			fd = strtol(optarg, &end, 10);
			if (*end || end == optarg || fd < 0 || fd > 65535)
				pvconsole_die_usage("bad fd", optarg);
			o->po_notify_fd = fd;
			break;
		case 'h':
			pvconsole_usage(stdout);
			exit(0);
		default:
			pvconsole_usage(stderr);
			exit(2);
		}
	}
	if (optind + 1 != argc) {
		pvconsole_usage(stderr);
		exit(2);
	}
	o->po_domid = strtoul(argv[optind], &end, 10);
	if (*end || end == argv[optind] || o->po_domid >= DOMID_FIRST_RESERVED)
		pvconsole_die_usage("bad domain id", argv[optind]);
	if (o->po_domid == 0) {
		fprintf(stderr, "pvconsole: Can't specify Domain-0\n");
		exit(2);
	}
}

/* Says we are attached on --start-notify-fd. */
static void
pvconsole_notify_start(int fd)
{
	char zero = 0;

	if (fd < 0)
		return;
	if (write(fd, &zero, 1) != 1)
		fprintf(stderr, "pvconsole: start notify fd %d: %s\r\n", fd, strerror(errno));
	close(fd);
}

/* Lock, wait for the pty, copy both ways, restore the terminal. */
int
main(int argc, char **argv)
{
	struct pvconsole pc = { .pc_pty = -1, .pc_stdin_open = 1 };
	struct pvconsole_opts o;
	char holder[512], *lockpath, *desc;
	int lockfd, rc = 1;

	pvconsole_options(argc, argv, &o);
	lockpath = conlock_path(o.po_domid, o.po_num);
	desc = pvconsole_describe(argc, argv);
	lockfd = conlock_acquire(lockpath, desc, holder, sizeof(holder));
	free(desc);
	if (lockfd < 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr, "pvconsole: Could not lock %s: console of domain %lu "
			    "is in use by %s\n", lockpath, o.po_domid, holder);
		else
			fprintf(stderr, "pvconsole: Could not lock %s: %s\n", lockpath,
			    strerror(errno));
		goto out;
	}
	if (pvconsole_connect(&pc, o.po_domid, o.po_type, o.po_num) < 0)
		goto out;
	pvconsole_take_terminal();
	pvconsole_notify_start(o.po_notify_fd);
	rc = pvconsole_loop(&pc);
	pvconsole_restore_tty();
out:
	pvconsole_close(&pc);
	conlock_release(lockfd, lockpath);
	free(lockpath);
	return rc;
}
