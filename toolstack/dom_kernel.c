/*
 * The early kernel check: hvd's builder refuses (ENOEXEC) anything that is not
 * an ELF program of this machine carrying the pvstack guest note; saying so
 * before a domain exists gives a better message ("a Linux bzImage").
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dom.h"
#include "jail.h"
#include "xmalloc.h"
#include "hv_elfnote.h"
#include "libhv.h"
#include "log.h"

/* Debian's user-mode-linux package: its modules, by kernel version */
#define DOM_KERNEL_UML_VIRTIO_BLK "/usr/lib/uml/modules/*/kernel/drivers/block/virtio_blk.ko"

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

/*
 * The pieces of the initramfs with which the shim boots UML from virtio-blk:
 * its /init (umlinit) and the installed UML's virtio_blk module, as
 * " pvshim.init=... pvshim.virtio_blk=..." for the command line and
 * ":...:..." for the payload hvd binds; both "" when one is missing (the shim
 * then refuses to start, saying so on the console).
 */
static void
dom_kernel_uml_initrd(char **cmd, char **files)
{
	static const char *const irel[] = { "../guest/umlinit", "../libexec/pvstack/umlinit", NULL };
	char *init = dom_program_path("umlinit", irel);
	glob_t gl;

	*cmd = *files = NULL;
	if (glob(DOM_KERNEL_UML_VIRTIO_BLK, 0, NULL, &gl) != 0)
		gl.gl_pathc = 0;
	if (init != NULL && gl.gl_pathc > 0) {
		/* one version is installed with the one linux.uml; the newest otherwise */
		const char *mod = gl.gl_pathv[gl.gl_pathc - 1];
		xasprintf(cmd, " pvshim.init=%s pvshim.virtio_blk=%s", init, mod);
		xasprintf(files, ":%s:%s", init, mod);
	} else
		log_warnx("%s not found: the shim cannot give user-mode Linux its disks",
		    init == NULL ? "umlinit" : "UML's virtio_blk.ko (" DOM_KERNEL_UML_VIRTIO_BLK ")");
	if (gl.gl_pathc > 0)
		globfree(&gl);
	free(init);
	if (*cmd == NULL) {
		*cmd = xstrdup("");
		*files = xstrdup("");
	}
}

/*
 * user-mode Linux runs as the payload of the PV shim: the shim is the domain's
 * kernel, and it learns the UML binary from its command line.
 */
static int
dom_kernel_uml(struct cfg_domain *dom)
{
	static const char *const rel[] = { "../guest/umlshim", "../libexec/pvstack/umlshim", NULL };
	static const char *const xrel[] = { "../guest/umlshim-xstate.so",
		"../libexec/pvstack/umlshim-xstate.so", NULL };
	char *shim = dom_program_path("umlshim", rel), real[PATH_MAX], *cmdline;
	char *xstate = dom_program_path("umlshim-xstate.so", xrel), *icmd, *ifiles;

	if (shim == NULL) {
		log_warnx("kernel %s: a user-mode Linux kernel, but umlshim (the shim that runs it) "
		    "is not installed", dom->cd_kernel);
		return -1;
	}
	if (realpath(dom->cd_kernel, real) == NULL) {
		log_warn("kernel %s", dom->cd_kernel);
		free(shim);
		return -1;
	}
	/* without the preload UML 6.1 cannot run processes on hosts with a large XSAVE area */
	if (xstate == NULL)
		log_warnx("umlshim-xstate.so not found: user-mode Linux may fail on this host's CPU");
	dom_kernel_uml_initrd(&icmd, &ifiles);
	xasprintf(&cmdline, "pvshim.payload=%s%s%s%s%s%s", real, xstate ? " pvshim.preload=" : "",
	    xstate ? xstate : "", icmd, dom->cd_cmdline ? " " : "",
	    dom->cd_cmdline ? dom->cd_cmdline : "");
	free(dom->cd_cmdline);
	dom->cd_cmdline = cmdline;
	free(dom->cd_payload);
	xasprintf(&dom->cd_payload, "%s%s%s%s", real, xstate ? ":" : "", xstate ? xstate : "",
	    ifiles);
	free(xstate);
	free(icmd);
	free(ifiles);
	free(dom->cd_kernel);
	dom->cd_kernel = shim;
	return 0;
}

/* 0 when dom's kernel can be a guest kernel (or is UML, for the shim); otherwise says why not. */
int
dom_kernel_check(struct cfg_domain *dom)
{
	const char *path = dom->cd_kernel;
	unsigned char head[1024];
	struct stat st;
	struct hv_kernel_info info;
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
	switch (hv_kernel_check(fd, &info)) {
	case HV_KERNEL_OK:
		if (info.profile[0] && jail_profile_from_name(info.profile) < 0) {
			log_warnx("kernel %s asks for sandbox profile \"%s\", which pvstack does not "
			    "have", path, info.profile);
			goto out;
		}
		break;
	case HV_KERNEL_NOT_ELF:
		n = pread(fd, head, sizeof(head), 0);
		log_warnx("kernel %s: %s, not a guest program pvstack can run "
		    "(pvstack runs ELF programs built on its guest runtime, such as pvguest, "
		    "and user-mode Linux)", path, dom_kernel_kind(head, n > 0 ? (size_t)n : 0));
		goto out;
	case HV_KERNEL_FOREIGN_ELF:
		log_warnx("kernel %s: an ELF file for another machine or not a program; "
		    "pvstack cannot run it", path);
		goto out;
	case HV_KERNEL_NO_NOTE:
		if (info.is_uml) {
			rc = dom_kernel_uml(dom);
			goto out;
		}
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
