#include <errno.h>

#include "hv_elfnote.h"
#include "hvd.h"
#include "libhv.h"
#include "log.h"

/* The builder's gate: refuses (ENOEXEC), with a line naming the file, anything
 * hv_kernel_check does not accept. */
int
hvd_elf_check(int fd, const char *path, struct hv_kernel_info *info)
{
	switch (hv_kernel_check(fd, info)) {
	case HV_KERNEL_OK:
		return 0;
	case HV_KERNEL_NOT_ELF:
		log_warnx("build: %s is not an ELF file, refusing it as a kernel", path);
		break;
	case HV_KERNEL_FOREIGN_ELF:
		log_warnx("build: %s is not a 64-bit ELF executable for this machine", path);
		break;
	case HV_KERNEL_NO_NOTE:
		log_warnx("build: %s has no pvstack guest note (" HV_ELFNOTE_SECTION
		    ", ABI " HV_ELFNOTE_ABI "): not a guest kernel", path);
		break;
	}
	errno = ENOEXEC;
	return -1;
}
