/*
 * The initramfs UML boots with when its disks are virtio-blk: Debian's
 * linux.uml has virtio_blk as a module only, so /init (umlinit.c) loads it
 * and mounts the root disk. Both files are the host's (xl names them on our
 * command line, hvd binds them into our root), so the cpio is made here at
 * each start, in the domain's private /tmp: any image boots, and the module
 * is always the one of the installed kernel.
 *
 * The format is the kernel's "newc" cpio (no compression): per entry a
 * 110-byte ASCII header ("070701" and 13 fields of 8 hex digits), the name
 * with its NUL, the data, each padded to 4 bytes; an entry "TRAILER!!!" ends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"
#include "xmalloc.h"

#define SHIM_INITRD_FILE_MAX	(16u << 20)	/* umlinit and the module are far smaller */

/* One entry; data may be NULL for a directory. */
static int
shim_initrd_entry(FILE *f, unsigned ino, const char *name, unsigned mode, const void *data,
    size_t len)
{
	static const char pad[4];
	size_t nlen = strlen(name) + 1;

	if (fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
	    ino, mode, 0u, 0u, 1u, 0u, len, 0u, 0u, 0u, 0u, nlen, 0u) < 0 ||
	    fwrite(name, 1, nlen, f) != nlen ||
	    fwrite(pad, 1, (4 - (110 + nlen) % 4) % 4, f) != (4 - (110 + nlen) % 4) % 4)
		return -1;
	if (len > 0 && (fwrite(data, 1, len, f) != len ||
	    fwrite(pad, 1, (4 - len % 4) % 4, f) != (4 - len % 4) % 4))
		return -1;
	return 0;
}

/* A whole host file, for one entry; NULL with errno. */
static void *
shim_initrd_slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SHIM_INITRD_FILE_MAX) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

int
shim_initrd_make(struct shim *s, const char *out, const char *init, const char *module)
{
	size_t ilen = 0, mlen = 0;
	void *ib = shim_initrd_slurp(init, &ilen), *mb = NULL;
	FILE *f = NULL;
	int rc = -1;

	if (ib == NULL) {
		console_printf(s->s_g->g_cons, "umlshim: initramfs: %s: %s\n", init, strerror(errno));
		return -1;
	}
	if ((mb = shim_initrd_slurp(module, &mlen)) == NULL) {
		console_printf(s->s_g->g_cons, "umlshim: initramfs: %s: %s\n", module,
		    strerror(errno));
		goto out;
	}
	if ((f = fopen(out, "we")) == NULL ||
	    shim_initrd_entry(f, 1, "dev", 040755, NULL, 0) < 0 ||
	    shim_initrd_entry(f, 2, "root", 040755, NULL, 0) < 0 ||
	    shim_initrd_entry(f, 3, "init", 0100755, ib, ilen) < 0 ||
	    shim_initrd_entry(f, 4, "virtio_blk.ko", 0100644, mb, mlen) < 0 ||
	    shim_initrd_entry(f, 5, "TRAILER!!!", 0, NULL, 0) < 0) {
		console_printf(s->s_g->g_cons, "umlshim: initramfs: %s: %s\n", out, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0 && rc == 0) {
		console_printf(s->s_g->g_cons, "umlshim: initramfs: %s: %s\n", out, strerror(errno));
		rc = -1;
	}
	free(ib);
	free(mb);
	return rc;
}
