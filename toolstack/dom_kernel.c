/*
 * The early kernel check: hvd's builder refuses (ENOEXEC) anything that is not
 * an ELF program of this machine carrying the pvstack guest note; saying so
 * before a domain exists gives a better message ("a Linux bzImage").
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dom.h"
#include "hv_elfnote.h"
#include "log.h"
#include "xmalloc.h"

#define DOM_KERNEL_NOTES_MAX	(64 * 1024)

#if defined(__x86_64__)
#define DOM_KERNEL_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define DOM_KERNEL_MACHINE EM_AARCH64
#endif

/* What a non-ELF file looks like, for the message. */
static const char *
dom_kernel_kind(const unsigned char *b, size_t n)
{
	if (n >= 0x206 && memcmp(b + 0x202, "HdrS", 4) == 0)
		return "a Linux bzImage";
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return "a gzip-compressed file (a compressed kernel?)";
	if (n >= 2 && b[0] == '#' && b[1] == '!')
		return "a script";
	if (n >= 2 && b[0] == 'M' && b[1] == 'Z')
		return "a PE/EFI image";
	return "not an ELF program";
}

/* Scans a note area for the pvstack guest note. */
static int
dom_kernel_scan(const unsigned char *p, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		size_t nsz = (nh.n_namesz + 3u) & ~3u, dsz = (nh.n_descsz + 3u) & ~3u;
		if (nh.n_namesz > len || nh.n_descsz > len || nsz + dsz > len - off)
			return 0;
		if (nh.n_type == HV_ELFNOTE_GUEST_ABI && nh.n_namesz == sizeof(HV_ELFNOTE_NAME) &&
		    memcmp(p + off, HV_ELFNOTE_NAME, sizeof(HV_ELFNOTE_NAME)) == 0 &&
		    nh.n_descsz == sizeof(HV_ELFNOTE_ABI) &&
		    memcmp(p + off + nsz, HV_ELFNOTE_ABI, sizeof(HV_ELFNOTE_ABI)) == 0)
			return 1;
		off += nsz + dsz;
	}
	return 0;
}

/* Whether any PT_NOTE segment holds our note. */
static int
dom_kernel_has_note(int fd, const Elf64_Ehdr *eh)
{
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > 256)
		return 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), eh->e_phoff + (uint64_t)i * sizeof(ph)) != sizeof(ph))
			return 0;
		if (ph.p_type != PT_NOTE || ph.p_filesz == 0 || ph.p_filesz > DOM_KERNEL_NOTES_MAX)
			continue;
		unsigned char *buf = xmalloc(ph.p_filesz);
		int found = pread(fd, buf, ph.p_filesz, ph.p_offset) == (ssize_t)ph.p_filesz &&
		    dom_kernel_scan(buf, ph.p_filesz);
		free(buf);
		if (found)
			return 1;
	}
	return 0;
}

/* 0 when path can be a guest kernel; otherwise says why not. */
int
dom_kernel_check(const char *path)
{
	unsigned char head[1024];
	Elf64_Ehdr eh;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0) {
		log_warn("kernel %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warnx("kernel %s: not a regular file", path);
		goto out;
	}
	n = pread(fd, head, sizeof(head), 0);
	if (n < (ssize_t)sizeof(eh) || memcmp(head, ELFMAG, SELFMAG) != 0) {
		log_warnx("kernel %s: %s, not a guest program pvstack can run "
		    "(pvstack runs ELF programs built on its guest runtime, such as pvguest)",
		    path, dom_kernel_kind(head, n > 0 ? (size_t)n : 0));
		goto out;
	}
	memcpy(&eh, head, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != DOM_KERNEL_MACHINE ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)) {
		log_warnx("kernel %s: an ELF file for another machine or not a program; "
		    "pvstack cannot run it", path);
		goto out;
	}
	if (!dom_kernel_has_note(fd, &eh)) {
		log_warnx("kernel %s: an ELF program without the pvstack guest note (%s); "
		    "it was not built as a pvstack guest kernel", path, HV_ELFNOTE_ABI);
		goto out;
	}
	if (access(path, X_OK) < 0) {
		log_warnx("kernel %s: not executable", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
