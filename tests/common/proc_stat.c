#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_stat.h"

int
proc_running(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] != 'Z';
}

int
proc_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long
proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The host pid of the process that is ns_pid inside init's pid namespace
 * (a confined guest only knows its own pids), or -1. */
pid_t
proc_host_pid(pid_t init, pid_t ns_pid)
{
	char path[64], ns[64], other[64], line[256];
	struct dirent *de;
	pid_t found = -1;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init);
	if ((n = readlink(path, ns, sizeof(ns) - 1)) < 0 || (d = opendir("/proc")) == NULL)
		return -1;
	ns[n] = '\0';
	while (found < 0 && (de = readdir(d))) {
		FILE *f;
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		if ((n = readlink(path, other, sizeof(other) - 1)) < 0)
			continue;
		other[n] = '\0';
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		if (strcmp(ns, other) != 0 || (f = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "NSpid:", 6) == 0) {
				char *last = strrchr(line, '\t');
				if (last && atoi(last + 1) == ns_pid)
					found = pid;
			}
		fclose(f);
	}
	closedir(d);
	return found;
}
