/*
 * 1000 attach/detach cycles driven at the xenstore level as xl drives them
 * (both directories in one transaction, InitWait and hotplug-status, the
 * frontend connects, one write, then online=0 and backend Closing, the
 * frontend closes, the directories go): no descriptor, worker process, loop
 * device or grant pin is left behind. Every tenth disk is a phy: file, the
 * one case that takes a loop device.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bbfront.h"
#include "libhv.h"
#include "loops.h"
#include "proc_stat.h"
#include "xs.h"

#define CYCLES	1000

static struct stack st;
static struct bbfront fe;
static char img[160];

static void
setup(void)
{
	bbf_stack_disk(&st, "blkback-cycles", &fe, img, sizeof(img), 8);
}

static void
teardown(void)
{
	bbf_destroy(&fe);
	stack_stop(&st);
}

TestSuite(cycles, .init = setup, .fini = teardown, .timeout = 900);

/* blkback's children (its workers), after a moment for reaping. */
static int
workers(int ms)
{
	char path[96], buf[1024];
	long long deadline = stack_now_ms() + ms;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", st.s_pid[STACK_BLKBACK],
	    st.s_pid[STACK_BLKBACK]);
	do {
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f);
		n = 0;
		if (fgets(buf, sizeof(buf), f))
			for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
				n++;
		fclose(f);
		if (n == 0)
			break;
		usleep(5000);
	} while (stack_now_ms() < deadline);
	return n;
}

/* One attach, connect, write, detach, removal. */
static void
cycle(unsigned i, bool loop)
{
	char params[200], hs[192];

	snprintf(params, sizeof(params), "%s%s", loop ? "phy:" : "", img);
	fe.f_next_ref = 8;
	memset(fe.f_pfn_ref, 0, sizeof(fe.f_pfn_ref));
	bbf_devdirs(&fe, 51712 + (i % 16) * 16, params, "w", NULL);
	snprintf(hs, sizeof(hs), "%s/hotplug-status", fe.f_be);
	cr_assert_eq(stack_xs_wait(&st, hs, "connected", 5000), 0, "cycle %u: no hotplug-status", i);
	cr_assert_eq(bbf_wait_be(&fe, 2, 5000), 0, "cycle %u: no InitWait", i);
	bbf_connect(&fe, 1, 0, i % 2, 4);
	cr_assert_eq(bbf_wait_be(&fe, 4, 5000), 0, "cycle %u: no Connected", i);
	memset(bbf_page(&fe, BBF_PFN_DATA), (int)i, 4096);
	cr_assert_eq(bbf_rw(&fe, 0, BLKIF_OP_WRITE, (i % 64) * 8, BBF_PFN_DATA, 8), BLKIF_RSP_OKAY,
	    "cycle %u: write", i);
	bbf_detach(&fe, 0);
	cr_assert_eq(bbf_wait_be(&fe, 5, 5000), 0, "cycle %u: no Closing", i);
	bbf_close(&fe);
	bbf_rmdirs(&fe);
	for (uint32_t ref = 8; ref < fe.f_next_ref; ref++) {
		cr_assert_eq(fe.f_gnt[ref].flags & (GTF_reading | GTF_writing), 0,
		    "cycle %u: grant %u still pinned", i, ref);
		bbf_ungrant(&fe, ref);
	}
}

Test(cycles, attach_detach_1000)
{
	pid_t bb = st.s_pid[STACK_BLKBACK];
	int fds0, fds1, loops0 = loops_over(img, 0);
	long rss0, rss1;
	long long t0;

	for (unsigned i = 0; i < 10; i++)
		cycle(i, i == 5);
	cr_assert_eq(workers(2000), 0, "workers left after warm-up");
	fds0 = proc_fd_count(bb);
	rss0 = proc_rss_kib(bb);
	t0 = stack_now_ms();
	for (unsigned i = 10; i < CYCLES; i++)
		cycle(i, i % 10 == 5);
	cr_assert_eq(workers(2000), 0, "worker processes left behind");
	fds1 = proc_fd_count(bb);
	rss1 = proc_rss_kib(bb);
	cr_assert_eq(fds1, fds0, "blkback's descriptors: %d after warm-up, %d after %d cycles",
	    fds0, fds1, CYCLES);
	cr_assert_eq(loops_left_over(img), loops0, "loop devices left on %s", img);
	cr_log_info("%d cycles in %lld ms; blkback RSS %ld KiB -> %ld KiB, %d fds", CYCLES - 10,
	    stack_now_ms() - t0, rss0, rss1, fds1);
	fprintf(stderr, "blkback cycles: %d attach/detach in %lld ms; RSS %ld -> %ld KiB, %d fds\n",
	    CYCLES - 10, stack_now_ms() - t0, rss0, rss1, fds1);
}
