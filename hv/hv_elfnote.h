/*
 * The ELF note that marks a program as a pvstack guest kernel, like Xen's
 * __xen_guest / XEN_ELFNOTE_* notes: the builder refuses (ENOEXEC) any kernel
 * without it. A guest puts HV_GUEST_ELFNOTE(); at file scope in one C file.
 *
 * Note: section .note.pvstack, name "pvstack", type HV_ELFNOTE_GUEST_ABI,
 * descriptor the NUL-terminated ABI string HV_ELFNOTE_ABI.
 *
 * A kernel that needs a wider seccomp profile than "guest" names it in a second
 * note, type HV_ELFNOTE_SANDBOX, descriptor the profile's name (common/jail.h:
 * "sanitizer", "uml"): HV_GUEST_SANDBOX_ELFNOTE("uml");. Sanitizer builds ask
 * for "sanitizer" by themselves through HV_GUEST_ELFNOTE(). No profile reaches
 * outside the domain's namespaces.
 */
#ifndef PVSTACK_HV_ELFNOTE_H
#define PVSTACK_HV_ELFNOTE_H

#define HV_ELFNOTE_NAME		"pvstack"
#define HV_ELFNOTE_SECTION	".note.pvstack"
#define HV_ELFNOTE_GUEST_ABI	1
#define HV_ELFNOTE_ABI		"pvstack-guest-1"
#define HV_ELFNOTE_SANDBOX	2
#define HV_ELFNOTE_PROFILE_MAX	16	/* descriptor bytes, NUL included */

#define HV_ELFNOTE_STR_(x) #x
#define HV_ELFNOTE_STR(x) HV_ELFNOTE_STR_(x)

#define HV_ELFNOTE_EMIT(type, desc)					\
	__asm__(".pushsection " HV_ELFNOTE_SECTION ", \"a\", @note\n"	\
	    "\t.balign 4\n"						\
	    "\t.long 2f - 1f\n"						\
	    "\t.long 4f - 3f\n"						\
	    "\t.long " HV_ELFNOTE_STR(type) "\n"				\
	    "1:\t.asciz \"" HV_ELFNOTE_NAME "\"\n"			\
	    "2:\t.balign 4\n"						\
	    "3:\t.asciz \"" desc "\"\n"					\
	    "4:\t.balign 4\n"						\
	    "\t.popsection\n")

#define HV_GUEST_SANDBOX_ELFNOTE(profile) HV_ELFNOTE_EMIT(HV_ELFNOTE_SANDBOX, profile)

#if defined(__SANITIZE_ADDRESS__)
#define HV_GUEST_ELFNOTE() HV_ELFNOTE_EMIT(HV_ELFNOTE_GUEST_ABI, HV_ELFNOTE_ABI); \
	HV_GUEST_SANDBOX_ELFNOTE("sanitizer")
#else
#define HV_GUEST_ELFNOTE() HV_ELFNOTE_EMIT(HV_ELFNOTE_GUEST_ABI, HV_ELFNOTE_ABI)
#endif

#endif
