/* libFuzzer target: the builder's ELF and note checks on arbitrary kernel files. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvd.h"
#include "libhv.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct hv_kernel_info info;

	if (fd < 0) {
		log_init("fuzz", 0, 0);
		fd = memfd_create("kernel", MFD_CLOEXEC);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	hvd_elf_check(fd, "fuzz", &info);
	return 0;
}
