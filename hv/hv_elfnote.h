/*
 * The ELF note that marks a program as a pvstack guest kernel, like Xen's
 * __xen_guest / XEN_ELFNOTE_* notes: the builder refuses (ENOEXEC) any kernel
 * without it. A guest puts HV_GUEST_ELFNOTE(); at file scope in one C file.
 *
 * Note: section .note.pvstack, name "pvstack", type HV_ELFNOTE_GUEST_ABI,
 * descriptor the NUL-terminated ABI string HV_ELFNOTE_ABI.
 */
#ifndef PVSTACK_HV_ELFNOTE_H
#define PVSTACK_HV_ELFNOTE_H

#define HV_ELFNOTE_NAME		"pvstack"
#define HV_ELFNOTE_SECTION	".note.pvstack"
#define HV_ELFNOTE_GUEST_ABI	1
#define HV_ELFNOTE_ABI		"pvstack-guest-1"

#define HV_ELFNOTE_STR_(x) #x
#define HV_ELFNOTE_STR(x) HV_ELFNOTE_STR_(x)

#define HV_GUEST_ELFNOTE()						\
	__asm__(".pushsection " HV_ELFNOTE_SECTION ", \"a\", @note\n"	\
	    "\t.balign 4\n"						\
	    "\t.long 2f - 1f\n"						\
	    "\t.long 4f - 3f\n"						\
	    "\t.long " HV_ELFNOTE_STR(HV_ELFNOTE_GUEST_ABI) "\n"	\
	    "1:\t.asciz \"" HV_ELFNOTE_NAME "\"\n"			\
	    "2:\t.balign 4\n"						\
	    "3:\t.asciz \"" HV_ELFNOTE_ABI "\"\n"			\
	    "4:\t.balign 4\n"						\
	    "\t.popsection\n")

#endif
