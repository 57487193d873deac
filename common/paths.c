#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"
#include "xmalloc.h"

static const char *
paths_env(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

const char *
paths_rundir(void)
{
	return paths_env("PVSTACK_RUNDIR", "/run/pvstack");
}

const char *
paths_confdir(void)
{
	return paths_env("PVSTACK_CONFDIR", "/etc/xen");
}

const char *
paths_logdir(void)
{
	static char *dir;
	const char *v = getenv("PVSTACK_LOGDIR");

	if (v && *v)
		return v;
	if (getenv("PVSTACK_RUNDIR") && *getenv("PVSTACK_RUNDIR")) {
		if (dir == NULL)
			xasprintf(&dir, "%s/log", paths_rundir());
		return dir;
	}
	return "/var/log/pvstack";
}

char *
paths_run(const char *rel)
{
	char *p;

	xasprintf(&p, "%s/%s", paths_rundir(), rel);
	return p;
}

char *
paths_log(const char *rel)
{
	char *p;

	xasprintf(&p, "%s/%s", paths_logdir(), rel);
	return p;
}

int
paths_mkdir_p(const char *path, unsigned mode)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	int saved = errno;
	free(p);
	errno = saved;
	return rc;
}
