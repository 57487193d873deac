/*
 * Whether a file is a guest kernel this hypervisor can run: a 64-bit ELF
 * executable of this machine carrying the pvstack guest note (hv_elfnote.h).
 * hvd's builder gates on it; xl asks the same question before creating a
 * domain, to say what the file is instead.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_elfnote.h"
#include "libhv.h"
#include "xmalloc.h"

#define HV_KERNEL_NOTES_MAX	(64 * 1024)	/* bytes of notes we are willing to read */
#define HV_KERNEL_HDRS_MAX	256

#if defined(__x86_64__)
#define HV_KERNEL_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HV_KERNEL_MACHINE EM_AARCH64
#else
#error "libhv: unknown host machine"
#endif

/* Reads exactly len bytes at off. */
static int
hv_kernel_read(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n != (ssize_t)len) {
		errno = ENOEXEC;
		return -1;
	}
	return 0;
}

/* Records our notes in one note area: the ABI note (*found) and a sandbox profile. */
static void
hv_kernel_scan_notes(const uint8_t *p, size_t len, struct hv_kernel_info *info, int *found)
{
	size_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		size_t nsz = (nh.n_namesz + 3u) & ~3u, dsz = (nh.n_descsz + 3u) & ~3u;
		if (nh.n_namesz > len || nh.n_descsz > len || nsz + dsz > len - off)
			return;
		const char *name = (const char *)p + off, *desc = name + nsz;
		off += nsz + dsz;
		if (nh.n_namesz != sizeof(HV_ELFNOTE_NAME) ||
		    memcmp(name, HV_ELFNOTE_NAME, sizeof(HV_ELFNOTE_NAME)) != 0)
			continue;
		if (nh.n_type == HV_ELFNOTE_GUEST_ABI && nh.n_descsz == sizeof(HV_ELFNOTE_ABI) &&
		    memcmp(desc, HV_ELFNOTE_ABI, sizeof(HV_ELFNOTE_ABI)) == 0)
			*found = 1;
		/* an unterminated or oversized name is kept as "?", which no profile matches */
		if (nh.n_type == HV_ELFNOTE_SANDBOX) {
			if (nh.n_descsz == 0 || nh.n_descsz > HV_ELFNOTE_PROFILE_MAX ||
			    desc[nh.n_descsz - 1] != '\0')
				snprintf(info->profile, sizeof(info->profile), "?");
			else
				memcpy(info->profile, desc, nh.n_descsz);
		}
	}
}

/* Reads one note area from the file and scans it. */
static void
hv_kernel_note_at(int fd, uint64_t off, uint64_t len, struct hv_kernel_info *info, int *found)
{
	uint8_t *buf;

	if (len == 0 || len > HV_KERNEL_NOTES_MAX)
		return;
	buf = xmalloc(len);
	if (hv_kernel_read(fd, buf, len, off) == 0)
		hv_kernel_scan_notes(buf, len, info, found);
	free(buf);
}

/*
 * A whole header table in one read (xl and hvd's builder both check every
 * kernel: one pread per entry was ~70 system calls each); NULL when the file
 * holds less, and the caller reads entry by entry to see as far as it can.
 */
static void *
hv_kernel_table(int fd, uint64_t off, size_t len)
{
	void *t = xmalloc(len ? len : 1);

	if (hv_kernel_read(fd, t, len, off) == 0)
		return t;
	free(t);
	return NULL;
}

/* Entry i of a table read whole (t), or read alone when t is NULL. */
static int
hv_kernel_entry(int fd, const void *t, uint64_t off, unsigned i, void *e, size_t size)
{
	if (t) {
		memcpy(e, (const uint8_t *)t + (size_t)i * size, size);
		return 0;
	}
	return hv_kernel_read(fd, e, size, off + (uint64_t)i * size);
}

/* PT_NOTE segments, and PT_INTERP for info->is_static. */
static int
hv_kernel_phdrs(int fd, const Elf64_Ehdr *eh, struct hv_kernel_info *info)
{
	int found = 0;

	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > HV_KERNEL_HDRS_MAX)
		return 0;
	void *t = hv_kernel_table(fd, eh->e_phoff, (size_t)eh->e_phnum * sizeof(Elf64_Phdr));
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		if (hv_kernel_entry(fd, t, eh->e_phoff, i, &ph, sizeof(ph)) < 0) {
			found = 0;	/* a truncated table is no proof */
			break;
		}
		if (ph.p_type == PT_INTERP)
			info->is_static = false;
		if (ph.p_type == PT_NOTE)
			hv_kernel_note_at(fd, ph.p_offset, ph.p_filesz, info, &found);
	}
	free(t);
	return found;
}

/*
 * Whether section sh is named name, through the section-name string table
 * (its bytes in names when it was read whole, else read here).
 */
static bool
hv_kernel_shname(int fd, const Elf64_Shdr *strtab, const char *names, const Elf64_Shdr *sh,
    const char *name)
{
	char buf[32];
	size_t len = strlen(name) + 1;

	if (len > sizeof(buf) || sh->sh_name >= strtab->sh_size ||
	    strtab->sh_size - sh->sh_name < len)
		return false;
	if (names)
		return memcmp(names + sh->sh_name, name, len) == 0;
	if (hv_kernel_read(fd, buf, len, strtab->sh_offset + sh->sh_name) < 0)
		return false;
	return memcmp(buf, name, len) == 0;
}

/* SHT_NOTE sections, for linkers that leave our note out of PT_NOTE; and UML's own section. */
static int
hv_kernel_shdrs(int fd, const Elf64_Ehdr *eh, struct hv_kernel_info *info)
{
	Elf64_Shdr strtab;
	int found = 0;

	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum > 4 * HV_KERNEL_HDRS_MAX)
		return 0;
	void *t = hv_kernel_table(fd, eh->e_shoff, (size_t)eh->e_shnum * sizeof(Elf64_Shdr));
	bool names = eh->e_shstrndx < eh->e_shnum &&
	    hv_kernel_entry(fd, t, eh->e_shoff, eh->e_shstrndx, &strtab, sizeof(strtab)) == 0;
	char *nametab = names && strtab.sh_size <= HV_KERNEL_NOTES_MAX ?
	    hv_kernel_table(fd, strtab.sh_offset, strtab.sh_size) : NULL;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh;
		if (hv_kernel_entry(fd, t, eh->e_shoff, i, &sh, sizeof(sh)) < 0) {
			found = 0;	/* a truncated table is no proof */
			break;
		}
		if (sh.sh_type == SHT_NOTE)
			hv_kernel_note_at(fd, sh.sh_offset, sh.sh_size, info, &found);
		if (names && sh.sh_type == SHT_PROGBITS &&
		    hv_kernel_shname(fd, &strtab, nametab, &sh, ".uml.setup.init"))
			info->is_uml = true;
	}
	free(nametab);
	free(t);
	return found;
}

/* The verdict on the file open at fd, and what its notes and headers say (info). */
enum hv_kernel_verdict
hv_kernel_check(int fd, struct hv_kernel_info *info)
{
	Elf64_Ehdr eh;

	memset(info, 0, sizeof(*info));
	info->is_static = true;
	if (hv_kernel_read(fd, &eh, sizeof(eh), 0) < 0 ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return HV_KERNEL_NOT_ELF;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != HV_KERNEL_MACHINE ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		return HV_KERNEL_FOREIGN_ELF;
	/* both always: the sections also say whether this is user-mode Linux */
	int notes = hv_kernel_phdrs(fd, &eh, info);
	if (!hv_kernel_shdrs(fd, &eh, info) && !notes)
		return HV_KERNEL_NO_NOTE;
	return HV_KERNEL_OK;
}
