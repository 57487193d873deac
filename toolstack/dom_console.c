/*
 * Finding and starting pvconsole, the console client (xenconsole's job):
 * $PVSTACK_BINDIR, next to xl (installed), the build tree's consoled/, PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dom.h"
#include "log.h"
#include "xmalloc.h"

/*
 * A program of pvstack's: the first executable among $PVSTACK_BINDIR/name,
 * name next to xl, then each of rel (relative to xl: the build tree); NULL
 * when none is.
 */
char *
dom_program_path(const char *name, const char *const *rel)
{
	char self[PATH_MAX], *p;
	const char *bindir = getenv("PVSTACK_BINDIR");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (bindir && *bindir) {
		xasprintf(&p, "%s/%s", bindir, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	char *dir = dirname(self);
	xasprintf(&p, "%s/%s", dir, name);
	for (size_t i = 0; access(p, X_OK) < 0; i++) {
		free(p);
		if (rel == NULL || rel[i] == NULL)
			return NULL;
		xasprintf(&p, "%s/%s", dir, rel[i]);
	}
	return p;
}

/* pvconsole, wherever dom_program_path finds it, else from PATH. */
char *
dom_console_path(void)
{
	static const char *const rel[] = { "../consoled/pvconsole", NULL };
	char *p = dom_program_path("pvconsole", rel);

	return p ? p : xstrdup("pvconsole");	/* execvp searches PATH */
}

/* Execs pvconsole; returns only on failure. */
static void
dom_console_execv(hv_domid_t domid, const char *type, int notify_fd)
{
	char *path = dom_console_path(), id[16], fd[16];
	char *argv[8];
	int n = 0;

	snprintf(id, sizeof(id), "%u", domid);
	snprintf(fd, sizeof(fd), "%d", notify_fd);
	argv[n++] = "pvconsole";
	argv[n++] = "--type";
	argv[n++] = (char *)(type ? type : "pv");
	if (notify_fd >= 0) {
		argv[n++] = "--start-notify-fd";
		argv[n++] = fd;
	}
	argv[n++] = id;
	argv[n] = NULL;
	execvp(path, argv);
	log_warn("cannot run the console client %s", path);
	free(path);
}

/* Forks the console client with a notify pipe; the caller reads its start byte. */
pid_t
dom_console_spawn(hv_domid_t domid, const char *type, int *notify_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		fcntl(p[1], F_SETFD, 0);
		dom_console_execv(domid, type, p[1]);
		_exit(127);
	}
	close(p[1]);
	*notify_fd = p[0];
	return pid;
}

/* xl console: becomes pvconsole. */
int
dom_console_exec(hv_domid_t domid, const char *type)
{
	dom_console_execv(domid, type, -1);
	return -1;
}
