#include <errno.h>
#include <linux/sched.h>
#include <linux/sched/types.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "slice.h"

/* sched_setattr(2) for a fair-class thread: glibc has no wrapper. */
static void
slice_set(unsigned long long ns)
{
	struct sched_attr attr;
	int nice;

	/* the nice value stays: only the slice changes (the kernel sets both at once) */
	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	if (nice == -1 && errno != 0)
		return;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.sched_policy = SCHED_NORMAL;
	attr.sched_nice = nice;
	attr.sched_runtime = ns;
	/* a kernel without custom slices ignores sched_runtime for this class */
	syscall(SYS_sched_setattr, 0, &attr, 0);
}

void
slice_short(void)
{
	slice_set(SLICE_SHORT_NS);
}

void
slice_default(void)
{
	slice_set(0);
}
