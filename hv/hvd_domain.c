#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "domtab.h"
#include "evmem.h"
#include "hvd.h"
#include "hvd_keeper.h"
#include "hvd_maptrack.h"
#include "log.h"
#include "xmalloc.h"

extern struct event_base *hvd_base;

/* Domains by domid; dom0 always exists. */
static struct domtab hvd_domains = DOMTAB_INIT(struct hvd_domain *);
/* Which domids are in use, 64 a word: a listing skips the empty stretches word by word. */
static uint64_t hvd_domain_used[(DOMID_FIRST_RESERVED + 63) / 64];
static uint32_t hvd_domid_next = 1;
static unsigned hvd_domain_nr;

/* Puts d in its slot (or empties the slot of domid when d is NULL). */
static void
hvd_domain_slot(uint32_t domid, struct hvd_domain *d)
{
	domtab_set(&hvd_domains, domid, d);
	if (d)
		hvd_domain_used[domid / 64] |= 1ull << (domid % 64);
	else
		hvd_domain_used[domid / 64] &= ~(1ull << (domid % 64));
}

/* Host memory from /proc/meminfo, in KiB (0 when unreadable). */
uint64_t
hvd_domain_meminfo(const char *key)
{
	char line[256];
	uint64_t v = 0;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/meminfo", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Sets up dom0, which stands for every dom0 process. */
void
hvd_domain_init(void)
{
	struct hvd_domain *d = xcalloc(1, sizeof(*d));

	d->domid = 0;
	d->vcpus = sysconf(_SC_NPROCESSORS_ONLN);
	d->mem_kib = d->max_mem_kib = hvd_domain_meminfo("MemTotal");
	d->memfd = -1;
	d->pidfd = -1;
	d->netns = -1;
	d->built = true;
	hvd_domain_slot(0, d);
	hvd_domain_nr = 1;
}

/* The domain with this id, or NULL. */
struct hvd_domain *
hvd_domain_get(uint32_t domid)
{
	return domtab_get(&hvd_domains, domid);
}

/*
 * Walks the table in domid order, for getinfolist: a listing that reached
 * the last domain looked at every slot up to the reserved range (32k) before
 * it said there were no more.
 */
struct hvd_domain *
hvd_domain_next(uint32_t first)
{
	for (uint32_t w = first / 64; first < DOMID_FIRST_RESERVED && w < sizeof(hvd_domain_used) /
	    sizeof(hvd_domain_used[0]); w++) {
		uint64_t bits = hvd_domain_used[w];

		if (w == first / 64)
			bits &= ~0ull << (first % 64);
		if (bits) {
			uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(bits);
			return domtab_get(&hvd_domains, id);
		}
	}
	return NULL;
}

/* How many domains exist, dom0 included. */
unsigned
hvd_domain_count(void)
{
	return hvd_domain_nr;
}

/* Next free domid, counting up from the last one and wrapping below the reserved range. */
static int
hvd_domain_alloc_id(uint32_t *domid)
{
	for (uint32_t i = 0; i < DOMID_FIRST_RESERVED - 1; i++) {
		uint32_t id = hvd_domid_next;
		hvd_domid_next = id + 1 >= DOMID_FIRST_RESERVED ? 1 : id + 1;
		if (domtab_get(&hvd_domains, id) == NULL) {
			*domid = id;
			return 0;
		}
	}
	errno = ENOSPC;
	return -1;
}

/* The domain's "physical memory": a sparse memfd sealed against resizing. */
static int
hvd_domain_memfd(uint32_t domid, uint64_t nr_pages)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "pvstack-dom%u", domid);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, nr_pages * HVD_PAGE_SIZE) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* XEN_DOMCTL_createdomain: paused, empty, with its memory. */
int
hvd_domain_create(const struct hv_req_domain_create *req, uint32_t *domid)
{
	uint64_t nr_pages = req->mem_kib / (HVD_PAGE_SIZE / 1024);
	struct hvd_domain *d;
	int memfd;

	if (nr_pages < HV_MIN_MEM_PAGES || req->vcpus == 0 || req->vcpus > 128) {
		errno = EINVAL;
		return -1;
	}
	if (hvd_domain_alloc_id(domid) < 0)
		return -1;
	memfd = hvd_domain_memfd(*domid, nr_pages);
	if (memfd < 0)
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->domid = *domid;
	memcpy(d->uuid, req->uuid, sizeof(d->uuid));
	d->vcpus = req->vcpus;
	d->mem_kib = d->max_mem_kib = nr_pages * (HVD_PAGE_SIZE / 1024);
	d->nr_pages = nr_pages;
	d->memfd = memfd;
	d->pidfd = -1;
	d->netns = -1;
	d->paused = true;
	hvd_domain_slot(d->domid, d);
	hvd_domain_nr++;
	hvd_keeper_dom(d, true);
	hvd_console_printf("d%u: created, %lu KiB, %u vcpus", d->domid,
	    (unsigned long)d->mem_kib, d->vcpus);
	return 0;
}

/* CPU time of a live process from the kernel's accounting, in ns. */
static uint64_t
hvd_domain_proc_cpu(pid_t pid, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long long cut, cst;
	ssize_t n;
	int fd;

	*state = '?';
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (p == NULL || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
	    state, &ut, &st, &cut, &cst) != 5)
		return 0;
	return (ut + st + (uint64_t)(cut + cst)) * (1000000000ull / sysconf(_SC_CLK_TCK));
}

/* getinfo's view of one domain, with the r/b/p/s/c/d flags xl prints. */
void
hvd_domain_info(struct hvd_domain *d, struct hv_dominfo_wire *w)
{
	char state = '?';

	memset(w, 0, sizeof(*w));
	w->domid = d->domid;
	w->vcpus = d->vcpus;
	w->mem_kib = d->mem_kib;
	w->max_mem_kib = d->max_mem_kib;
	memcpy(w->uuid, d->uuid, sizeof(w->uuid));
	w->pid = d->pid;
	if (d->domid == 0) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		w->cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
		w->flags = HV_DOMINF_RUNNING;
		return;
	}
	w->cpu_ns = d->pid > 0 ? hvd_domain_proc_cpu(d->pid, &state) : d->cpu_ns_dead;
	hvd_cgroup_cpu_ns(d, &w->cpu_ns);	/* the whole group, when it has one */
	if (d->shutdown) {
		w->flags |= HV_DOMINF_SHUTDOWN;
		w->shutdown_reason = d->shutdown_reason;
		if (d->shutdown_reason == SHUTDOWN_crash)
			w->flags |= HV_DOMINF_CRASHED;
	} else if (d->paused)
		w->flags |= HV_DOMINF_PAUSED;
	else if (state == 'R')
		w->flags |= HV_DOMINF_RUNNING;
	else
		w->flags |= HV_DOMINF_BLOCKED;
}

/* Signals the guest's whole process group. */
static int
hvd_domain_signal(struct hvd_domain *d, int sig)
{
	if (d->pid <= 0)
		return 0;
	return kill(-d->pid, sig);
}

/* A killed guest that had not died yet when its domain went: reaped later from the loop. */
struct hvd_orphan {
	struct hvd_orphan *next;
	pid_t pid;
	int pidfd;
	struct event *ev;
};
static struct hvd_orphan *hvd_orphans;

/* Frees an orphan record (its process is reaped or hvd is exiting). */
static void
hvd_domain_orphan_free(struct hvd_orphan *o)
{
	for (struct hvd_orphan **po = &hvd_orphans; *po; po = &(*po)->next)
		if (*po == o) {
			*po = o->next;
			break;
		}
	event_free(o->ev);
	close(o->pidfd);
	free(o);
}

/* The orphan finally exited. */
static void
hvd_domain_orphan_on_exit(evutil_socket_t fd, short what, void *arg)
{
	struct hvd_orphan *o = arg;

	(void)fd, (void)what;
	if (waitpid(o->pid, NULL, WNOHANG) == 0)
		return;
	hvd_domain_orphan_free(o);
}

/* Keeps watching a killed process that is slow to die (stuck in the kernel), without blocking. */
static void
hvd_domain_orphan(struct hvd_domain *d)
{
	extern struct event_base *hvd_base;
	struct hvd_orphan *o = xcalloc(1, sizeof(*o));

	log_warnx("d%u: pid %d not dead yet after SIGKILL, reaping it later", d->domid, (int)d->pid);
	o->pid = d->pid;
	o->pidfd = d->pidfd;
	o->ev = event_new(hvd_base, o->pidfd, EV_READ | EV_PERSIST, hvd_domain_orphan_on_exit, o);
	if (o->ev == NULL || event_add(o->ev, NULL) < 0)
		fatalx("hvd_domain_orphan: libevent");
	o->next = hvd_orphans;
	hvd_orphans = o;
	d->pidfd = -1;
}

/* Kills and reaps the kernel program and stops watching it; never blocks for long. */
static void
hvd_domain_reap(struct hvd_domain *d)
{
	struct rusage ru;
	pid_t r = 0;
	int status;

	if (d->pid <= 0)
		return;
	/* Whatever else the group holds goes with its leader. */
	kill(-d->pid, SIGKILL);
	hvd_cgroup_kill(d);
	/* the pidfd turns readable when the process has exited: wait up to 100 ms for it */
	struct pollfd pfd = { .fd = d->pidfd, .events = POLLIN };
	if (d->pidfd >= 0)
		poll(&pfd, 1, 100);
	r = wait4(d->pid, &status, WNOHANG, &ru);
	if (r == d->pid)
		d->cpu_ns_dead = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
	if (d->pid_ev)
		event_free(d->pid_ev);
	d->pid_ev = NULL;
	if (r == 0)
		hvd_domain_orphan(d);
	if (d->pidfd >= 0)
		close(d->pidfd);
	d->pidfd = -1;
	d->pid = 0;
}

/* The kernel program exited: without a shutdown hypercall that is a crash. */
static void
hvd_domain_on_exit(evutil_socket_t fd, short what, void *arg)
{
	struct hvd_domain *d = arg;

	(void)fd, (void)what;
	hvd_domain_reap(d);
	if (!d->shutdown) {
		hvd_console_printf("d%u: guest died without shutdown, crashed", d->domid);
		d->shutdown = true;
		d->shutdown_reason = SHUTDOWN_crash;
		hvd_evtchn_fire_virq(VIRQ_DOM_EXC);
	}
	hvd_keeper_dom(d, false);
}

/* Watches a freshly built guest's death through its pidfd on the loop. */
int
hvd_domain_attach_process(struct hvd_domain *d, pid_t pid)
{
	extern struct event_base *hvd_base;
	int pidfd = syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return -1;
	d->pid = pid;
	d->pidfd = pidfd;
	d->pid_ev = event_new(hvd_base, pidfd, EV_READ, hvd_domain_on_exit, d);
	if (d->pid_ev == NULL || event_add(d->pid_ev, NULL) < 0)
		fatalx("hvd_domain_attach_process: libevent");
	d->built = true;
	return 0;
}

/* Stops the guest: freezes its cgroup, or SIGSTOP to its process group. */
int
hvd_domain_pause(struct hvd_domain *d)
{
	if (d->domid == 0) {
		errno = EINVAL;
		return -1;
	}
	if (!d->paused && d->pid > 0 && hvd_cgroup_freeze(d, true) < 0 &&
	    hvd_domain_signal(d, SIGSTOP) < 0)
		return -1;
	d->paused = true;
	hvd_keeper_dom(d, false);
	return 0;
}

/* Continues the guest (thaw or SIGCONT); the first time, its HELLO is answered. */
int
hvd_domain_unpause(struct hvd_domain *d)
{
	if (d->domid == 0) {
		errno = EINVAL;
		return -1;
	}
	/* thaw the group (or continue the process group); the first time, answer its HELLO */
	if (d->paused && d->pid > 0) {
		hvd_cgroup_freeze(d, false);
		if (hvd_domain_signal(d, SIGCONT) < 0)
			return -1;
	}
	if (d->guest)
		hvd_conn_serve(d->guest, true);
	d->paused = false;
	hvd_keeper_dom(d, false);
	return 0;
}

/* SCHEDOP_shutdown and xc_domain_shutdown: record the reason, kill, tell dom0. */
void
hvd_domain_shutdown(struct hvd_domain *d, uint32_t reason)
{
	if (d->shutdown)
		return;
	d->shutdown = true;
	d->shutdown_reason = reason;
	hvd_domain_signal(d, SIGKILL);
	hvd_cgroup_kill(d);
	hvd_keeper_dom(d, false);
	hvd_console_printf("d%u: shutdown, reason %u", d->domid, reason);
	hvd_evtchn_fire_virq(VIRQ_DOM_EXC);
}

/* XEN_DOMCTL_destroydomain: kill, reap, close channels, free. */
void
hvd_domain_destroy(struct hvd_domain *d)
{
	hvd_domain_reap(d);
	/* its namespace serves another guest only once none of its processes is left:
	 * they are all in its group (none can leave it), which could then be removed */
	if (hvd_cgroup_destroy(d))
		hvd_netns_recycle(d->netns);
	else if (d->netns >= 0)
		close(d->netns);
	d->netns = -1;
	if (d->guest)
		hvd_conn_forget_domain(d->guest);
	hvd_evtchn_close_all(d, NULL);
	hvd_maptrack_domain_gone(d);
	if (d->memfd >= 0)
		close(d->memfd);
	hvd_domain_slot(d->domid, NULL);
	hvd_domain_nr--;
	hvd_keeper_del(HVK_DOM, d->domid, 0);
	hvd_console_printf("d%u: destroyed", d->domid);
	free(d);
	hvd_evtchn_fire_virq(VIRQ_DOM_EXC);
	evmem_trim_soon(hvd_base);	/* its memory goes back */
}

/* SIGTERM: no guest outlives hvd. */
void
hvd_domain_destroy_all(void)
{
	struct hvd_domain *d, *dom0 = domtab_get(&hvd_domains, 0);

	while ((d = hvd_domain_next(1)) != NULL)
		hvd_domain_destroy(d);
	hvd_evtchn_close_all(dom0, NULL);
	free(dom0);
	hvd_domain_slot(0, NULL);
	/* killed already; whoever inherits them reaps them */
	while (hvd_orphans)
		hvd_domain_orphan_free(hvd_orphans);
}

/* The keeper's record carries where domids go on, so a new hvd does not reuse them at once. */
uint32_t
hvd_domain_next_id(void)
{
	return hvd_domid_next;
}

/* A new hvd takes over a domain the keeper held: its record, memory and process. */
struct hvd_domain *
hvd_domain_adopt(uint32_t domid, const struct hvk_dom *r, int memfd, int pidfd)
{
	extern struct event_base *hvd_base;
	struct hvd_domain *d;

	if (domid == 0 || domid >= DOMID_FIRST_RESERVED || domtab_get(&hvd_domains, domid) ||
	    r->nr_pages < HV_MIN_MEM_PAGES || r->vcpus == 0) {
		errno = EINVAL;
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->domid = domid;
	memcpy(d->uuid, r->uuid, sizeof(d->uuid));
	d->vcpus = r->vcpus;
	d->mem_kib = r->mem_kib;
	d->max_mem_kib = r->max_mem_kib;
	d->nr_pages = r->nr_pages;
	d->cpu_ns_dead = r->cpu_ns_dead;
	d->memfd = memfd;
	d->paused = r->paused;
	d->built = r->built;
	d->shutdown = r->shutdown;
	d->shutdown_reason = r->shutdown_reason;
	d->profile = r->profile;
	d->uid = r->uid;
	d->pinned = r->pinned;
	memcpy(d->affinity, r->affinity, sizeof(d->affinity));
	d->cgroup = r->cgroup[0] ? xstrdup(r->cgroup) : NULL;
	d->pidfd = -1;
	d->netns = -1;	/* the namespace stays with the guest; it is not recycled */
	if (r->pid > 0 && pidfd >= 0) {
		/* no longer our child: its death is seen on the pidfd, init reaps it */
		d->pid = r->pid;
		d->pidfd = pidfd;
		d->pid_ev = event_new(hvd_base, pidfd, EV_READ, hvd_domain_on_exit, d);
		if (d->pid_ev == NULL || event_add(d->pid_ev, NULL) < 0)
			fatalx("hvd_domain_adopt: libevent");
	} else if (pidfd >= 0)
		close(pidfd);
	if (r->domid_next > hvd_domid_next && r->domid_next < DOMID_FIRST_RESERVED)
		hvd_domid_next = r->domid_next;
	hvd_domain_slot(domid, d);
	hvd_domain_nr++;
	return d;
}
