#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "libhv.h"
#include "stack.h"
#include "xs.h"

struct stack st;

const char *
stack_prog(const char *rel)
{
	static char buf[8][512];
	static int n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", BUILD_ROOT, rel);
	return b;
}

/* A built program: a regular executable file (not the subdir of the same name). */
static int
stack_is_prog(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

int
stack_have_daemons(void)
{
	return stack_is_prog(stack_prog("hv/hvd")) &&
	    stack_is_prog(stack_prog("xenstored/xenstored")) &&
	    stack_is_prog(stack_prog("consoled/consoled"));
}

long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* fork + exec with stdout to a log in the rundir. */
static pid_t
stack_spawn(const char *prog, const char *const argv[])
{
	char log[128];
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive a crashed test */
		snprintf(log, sizeof(log), "%s/%s.log", st.st_rundir, strrchr(prog, '/') + 1);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits for a daemon's socket; on failure tears the stack down and fails the test. */
static void
stack_wait_path(const char *path, pid_t pid)
{
	long deadline = now_ms() + 5000;
	const char *why = NULL;

	while (access(path, F_OK) < 0 && why == NULL) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			why = "its daemon died";
		else if (now_ms() > deadline)
			why = "timeout";
		usleep(5000);
	}
	if (why) {
		if (pid == st.st_hvd)
			st.st_hvd = 0;
		if (pid == st.st_xsd)
			st.st_xsd = 0;
		stack_stop();
		cr_assert_fail("%s never appeared: %s", path, why);
	}
}

static const char *stack_cd_extra[2];

/* consoled, with the arguments the suite chose. */
static void
stack_spawn_consoled(void)
{
	const char *cd = stack_prog("consoled/consoled");

	st.st_cd = stack_spawn(cd, (const char *[]){ cd, "--foreground", "-v",
	    stack_cd_extra[0], stack_cd_extra[1], NULL });
}

void
stack_start(const char *extra1, const char *extra2)
{
	char sock[128];
	const char *hvd = stack_prog("hv/hvd"), *xsd = stack_prog("xenstored/xenstored");
	strcpy(st.st_rundir, "/tmp/consoled-test-XXXXXX");
	cr_assert_not_null(mkdtemp(st.st_rundir));
	setenv("PVSTACK_RUNDIR", st.st_rundir, 1);
	unsetenv("XENSTORED_PATH");
	unsetenv("PVSTACK_LOGDIR");
	st.st_hvd = stack_spawn(hvd, (const char *[]){ hvd, "--foreground", NULL });
	snprintf(sock, sizeof(sock), "%s/hvd.sock", st.st_rundir);
	stack_wait_path(sock, st.st_hvd);
	st.st_xsd = stack_spawn(xsd, (const char *[]){ xsd, "-N", NULL });
	stack_wait_path(xs_socket_path(), st.st_xsd);
	stack_cd_extra[0] = extra1;
	stack_cd_extra[1] = extra2;
	stack_spawn_consoled();
	cr_assert_not_null(st.st_hv = hv_open(NULL));
	cr_assert_not_null(st.st_xce = hv_evtchn_open(st.st_hv));
	for (long deadline = now_ms() + 5000; (st.st_xs = xs_open(NULL)) == NULL;) {
		cr_assert_lt(now_ms(), deadline, "xenstored does not answer");
		usleep(5000);
	}
}

/* SIGTERM and reap; the exit status. */
static int
stack_kill(pid_t pid)
{
	int status = -1;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	for (long deadline = now_ms() + 5000; waitpid(pid, &status, WNOHANG) == 0;) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(5000);
	}
	return status;
}

void
stack_restart_consoled(void)
{
	int status = stack_kill(st.st_cd);

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "consoled did not exit cleanly on SIGTERM (status %#x)", status);
	stack_spawn_consoled();
}

void
stack_stop(void)
{
	char cmd[160];
	int status;

	if (st.st_xs)
		xs_close(st.st_xs);
	if (st.st_xce)
		hv_evtchn_close(st.st_xce);
	if (st.st_hv)
		hv_close(st.st_hv);
	status = stack_kill(st.st_cd);
	stack_kill(st.st_xsd);
	stack_kill(st.st_hvd);
	if (getenv("CONSOLED_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", st.st_rundir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", st.st_rundir);
	}
	memset(&st, 0, sizeof(st));
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "consoled did not exit cleanly on SIGTERM (status %#x)", status);
}

void
tguest_create(struct tguest *g, const char *name, int run)
{
	struct hv_domain_config cfg = { .mem_kib = 1024, .vcpus = 1 };
	struct hv_build_config bcfg = { 0 };
	struct hv_build_result res;
	char cmdline[64];

	memset(g, 0, sizeof(*g));
	for (unsigned i = 0; i < sizeof(cfg.uuid); i++)
		cfg.uuid[i] = rand();
	snprintf(g->g_name, sizeof(g->g_name), "%s", name);
	g->g_type = "xenconsoled";
	cr_assert_eq(hv_domain_create(st.st_hv, &cfg, &g->g_domid), 0, "create: %s", strerror(errno));
	g->g_con_port = hv_evtchn_alloc_unbound(st.st_hv, g->g_domid, 0);
	g->g_store_port = hv_evtchn_alloc_unbound(st.st_hv, g->g_domid, 0);
	cr_assert_geq(g->g_con_port, 0);
	cr_assert_geq(g->g_store_port, 0);
	g->g_bell = -1;
	if (run) {
		g->g_bell = hv_evtchn_bind_unbound_port(st.st_xce, g->g_domid);
		cr_assert_geq(g->g_bell, 0);
		snprintf(cmdline, sizeof(cmdline), "doorbell=%d", g->g_bell);
		bcfg.kernel = stack_prog("tests/consoled/fakeguest");
		bcfg.cmdline = cmdline;
		bcfg.store_port = g->g_store_port;
		bcfg.console_port = g->g_con_port;
		cr_assert_eq(hv_domain_build(st.st_hv, g->g_domid, &bcfg, &res), 0,
		    "build: %s", strerror(errno));
		cr_assert_eq(res.console_mfn, HV_PFN_CONSOLE);
		cr_assert_eq(hv_domain_unpause(st.st_hv, g->g_domid), 0);
	}
	g->g_intf = hv_foreign_map(st.st_hv, g->g_domid, PROT_READ | PROT_WRITE, HV_PFN_CONSOLE, 1);
	cr_assert_not_null(g->g_intf);
}

static void
tguest_node(struct tguest *g, const char *node, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/local/domain/%u/%s", g->g_domid, node);
	cr_assert_eq(xs_write(st.st_xs, XS_TX_NONE, path, val, strlen(val)), 0,
	    "write %s: %s", path, strerror(errno));
}

void
tguest_publish(struct tguest *g, unsigned limit)
{
	char buf[32];

	tguest_node(g, "name", g->g_name);
	/* type first: a consoled that already watches must not see a typeless console */
	tguest_node(g, "console/type", g->g_type);
	if (limit) {
		snprintf(buf, sizeof(buf), "%u", limit);
		tguest_node(g, "console/limit", buf);
	}
	snprintf(buf, sizeof(buf), "%d", HV_PFN_CONSOLE);
	tguest_node(g, "console/ring-ref", buf);
	snprintf(buf, sizeof(buf), "%d", g->g_con_port);
	tguest_node(g, "console/port", buf);
	tguest_node(g, "console/output", "pty");
	cr_assert_eq(xs_introduce_domain(st.st_xs, g->g_domid, HV_PFN_XENSTORE, g->g_store_port), 0,
	    "introduce: %s", strerror(errno));
}

void
tguest_ring(struct tguest *g)
{
	if (g->g_bell >= 0)
		hv_evtchn_notify(st.st_xce, g->g_bell);
}

void
tguest_write(struct tguest *g, const void *data, size_t len)
{
	struct xencons_interface *intf = g->g_intf;
	const char *p = data;
	long deadline = now_ms() + 20000;
	uint32_t prod, cons;

	while (len > 0) {
		prod = intf->out_prod;
		cons = __atomic_load_n(&intf->out_cons, __ATOMIC_ACQUIRE);
		if (prod - cons >= sizeof(intf->out)) {
			cr_assert_lt(now_ms(), deadline, "consoled stopped draining the ring");
			usleep(200);
			continue;
		}
		while (len > 0 && prod - cons < sizeof(intf->out)) {
			intf->out[MASK_XENCONS_IDX(prod, intf->out)] = *p++;
			prod++;
			len--;
		}
		__atomic_store_n(&intf->out_prod, prod, __ATOMIC_RELEASE);
		tguest_ring(g);
	}
}

char *
tguest_tty(struct tguest *g, int ms)
{
	char path[128], *v;
	size_t len;
	long deadline = now_ms() + ms;

	snprintf(path, sizeof(path), "/local/domain/%u/console/tty", g->g_domid);
	for (;;) {
		v = xs_read(st.st_xs, XS_TX_NONE, path, &len);
		if (v && len > 0)
			return v;
		free(v);
		if (now_ms() > deadline)
			return NULL;
		usleep(2000);
	}
}

void
tguest_destroy(struct tguest *g)
{
	char path[64];

	hv_foreign_forget(st.st_hv, g->g_domid);
	if (g->g_bell >= 0)
		hv_evtchn_unbind(st.st_xce, g->g_bell);
	cr_assert_eq(hv_domain_destroy(st.st_hv, g->g_domid), 0, "destroy: %s", strerror(errno));
	xs_release_domain(st.st_xs, g->g_domid);
	snprintf(path, sizeof(path), "/local/domain/%u", g->g_domid);
	xs_rm(st.st_xs, XS_TX_NONE, path);
	g->g_intf = NULL;
}

char *
read_until(int fd, const char *needle, int ms, size_t *got)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	long deadline = now_ms() + ms, left;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	while ((left = deadline - now_ms()) > 0 && !(needle && memmem(buf, len, needle, strlen(needle)))) {
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if (len == cap)
			buf = realloc(buf, (cap *= 2) + 1);
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
	}
	if (got)
		*got = len;
	return buf;
}

