/*
 * What a dynamically linked kernel needs in its private root: its
 * interpreter (PT_INTERP) and every shared object it needs (DT_NEEDED,
 * transitively), found where the loader will look for them inside the root:
 * DT_RUNPATH/DT_RPATH, then the system directories. ld.so.cache is not bound
 * into the root, so the search here must be the one the loader falls back to.
 * Sanitizer builds of the guests and user-mode Linux are dynamic; the pvguest
 * of a normal build is static and needs nothing.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvd.h"
#include "log.h"
#include "xmalloc.h"

#define HVD_KDEPS_MAX		64
#define HVD_KDEPS_STRTAB_MAX	(1u << 20)
#define HVD_KDEPS_PHDRS_MAX	256

static const char *const hvd_kdeps_sysdirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", NULL,
};

struct hvd_kdeps {
	char *paths[HVD_KDEPS_MAX + 1];
	unsigned n;
};

/* One ELF file's program headers, interpreter, needed names and search path. */
struct hvd_kdeps_elf {
	char interp[256];
	char *strtab;
	uint64_t strsz;
	uint64_t needed[HVD_KDEPS_MAX];
	unsigned nneeded;
	uint64_t runpath;	/* strtab offset, UINT64_MAX when none */
};

static int
hvd_kdeps_pread(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* File offset of virtual address va, through the PT_LOAD segments. */
static int
hvd_kdeps_va2off(const Elf64_Phdr *ph, unsigned n, uint64_t va, uint64_t *off)
{
	for (unsigned i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va - ph[i].p_vaddr < ph[i].p_filesz) {
			*off = ph[i].p_offset + (va - ph[i].p_vaddr);
			return 0;
		}
	return -1;
}

/* Reads the dynamic section's NEEDED/RUNPATH entries and its string table. */
static int
hvd_kdeps_dynamic(int fd, const Elf64_Phdr *ph, unsigned n, const Elf64_Phdr *dyn,
    struct hvd_kdeps_elf *e)
{
	uint64_t strva = 0, stroff, count = dyn->p_filesz / sizeof(Elf64_Dyn);
	Elf64_Dyn d;

	if (count > 4096)
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		if (hvd_kdeps_pread(fd, &d, sizeof(d), dyn->p_offset + i * sizeof(d)) < 0)
			return -1;
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_NEEDED && e->nneeded < HVD_KDEPS_MAX)
			e->needed[e->nneeded++] = d.d_un.d_val;
		else if (d.d_tag == DT_RUNPATH || (d.d_tag == DT_RPATH && e->runpath == UINT64_MAX))
			e->runpath = d.d_un.d_val;
		else if (d.d_tag == DT_STRTAB)
			strva = d.d_un.d_ptr;
		else if (d.d_tag == DT_STRSZ)
			e->strsz = d.d_un.d_val;
	}
	if (e->nneeded == 0)
		return 0;
	if (e->strsz == 0 || e->strsz > HVD_KDEPS_STRTAB_MAX ||
	    hvd_kdeps_va2off(ph, n, strva, &stroff) < 0)
		return -1;
	e->strtab = xmalloc(e->strsz + 1);
	e->strtab[e->strsz] = '\0';
	return hvd_kdeps_pread(fd, e->strtab, e->strsz, stroff);
}

static int
hvd_kdeps_parse(int fd, struct hvd_kdeps_elf *e)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[HVD_KDEPS_PHDRS_MAX];
	const Elf64_Phdr *dyn = NULL;

	memset(e, 0, sizeof(*e));
	e->runpath = UINT64_MAX;
	if (hvd_kdeps_pread(fd, &eh, sizeof(eh), 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		return -1;
	/* no program headers (a kernel module the shim packs for UML): nothing it loads */
	if (eh.e_phnum == 0)
		return 0;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > HVD_KDEPS_PHDRS_MAX ||
	    hvd_kdeps_pread(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) < 0)
		return -1;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = &ph[i];
		if (ph[i].p_type == PT_INTERP) {
			if (ph[i].p_filesz == 0 || ph[i].p_filesz >= sizeof(e->interp) ||
			    hvd_kdeps_pread(fd, e->interp, ph[i].p_filesz, ph[i].p_offset) < 0)
				return -1;
			e->interp[ph[i].p_filesz] = '\0';
		}
	}
	return dyn ? hvd_kdeps_dynamic(fd, ph, eh.e_phnum, dyn, e) : 0;
}

static bool
hvd_kdeps_has(const struct hvd_kdeps *k, const char *path)
{
	for (unsigned i = 0; i < k->n; i++)
		if (strcmp(k->paths[i], path) == 0)
			return true;
	return false;
}

/* Whether dir/name exists; sets *out (malloc'd) when it does. */
static bool
hvd_kdeps_try(const char *dir, size_t dirlen, const char *name, char **out)
{
	char *p;

	xasprintf(&p, "%.*s/%s", (int)dirlen, dir, name);
	if (access(p, R_OK) == 0) {
		*out = p;
		return true;
	}
	free(p);
	return false;
}

/* Resolves one DT_NEEDED name as the loader would, without ld.so.cache. */
static char *
hvd_kdeps_find(const char *name, const char *runpath, const char *origin)
{
	char *out = NULL;

	if (strchr(name, '/'))
		return access(name, R_OK) == 0 ? xstrdup(name) : NULL;
	for (const char *p = runpath; p && *p; p += strcspn(p, ":"), p += *p == ':') {
		size_t len = strcspn(p, ":");
		if (strncmp(p, "$ORIGIN", 7) == 0) {
			char *dir;
			xasprintf(&dir, "%s%.*s", origin, (int)(len - 7), p + 7);
			bool found = hvd_kdeps_try(dir, strlen(dir), name, &out);
			free(dir);
			if (found)
				return out;
		} else if (len && hvd_kdeps_try(p, len, name, &out))
			return out;
	}
	for (int i = 0; hvd_kdeps_sysdirs[i]; i++)
		if (hvd_kdeps_try(hvd_kdeps_sysdirs[i], strlen(hvd_kdeps_sysdirs[i]), name, &out))
			return out;
	return NULL;
}

/* Adds path's interpreter and libraries, breadth first from the kernel. */
static int
hvd_kdeps_walk(struct hvd_kdeps *k, const char *path)
{
	struct hvd_kdeps_elf e;
	char origin[1024], *slash;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return -1;
	if (hvd_kdeps_parse(fd, &e) < 0) {
		log_warnx("build: %s: unreadable dynamic section", path);
		goto out;
	}
	snprintf(origin, sizeof(origin), "%s", path);
	if ((slash = strrchr(origin, '/')))
		*slash = '\0';
	if (e.interp[0] && !hvd_kdeps_has(k, e.interp) && k->n < HVD_KDEPS_MAX)
		k->paths[k->n++] = xstrdup(e.interp);
	for (unsigned i = 0; i < e.nneeded; i++) {
		char *lib;
		if (e.needed[i] >= e.strsz)
			goto out;
		lib = hvd_kdeps_find(e.strtab + e.needed[i],
		    e.runpath < e.strsz ? e.strtab + e.runpath : NULL, origin);
		if (lib == NULL) {
			log_warnx("build: %s needs %s, not found", path, e.strtab + e.needed[i]);
			errno = ENOENT;
			goto out;
		}
		if (hvd_kdeps_has(k, lib) || k->n >= HVD_KDEPS_MAX)
			free(lib);
		else
			k->paths[k->n++] = lib;
	}
	rc = 0;
out:
	free(e.strtab);
	close(fd);
	return rc;
}

/*
 * NULL-terminated list (free with hvd_kdeps_free) of what the root must hold:
 * what a dynamic kernel loads (the kernel itself is exec'd from hvd's
 * descriptor), and a payload program with what it loads.
 */
char **
hvd_kdeps(const char *kernel, bool kernel_dynamic, const char *payload)
{
	struct hvd_kdeps *k = xcalloc(1, sizeof(*k));

	if (kernel_dynamic && hvd_kdeps_walk(k, kernel) < 0)
		goto fail;
	/* the payload: files separated by ':' (a program and what it preloads) */
	for (const char *p = payload; p && *p && k->n < HVD_KDEPS_MAX;
	    p += strcspn(p, ":"), p += *p == ':')
		if (strcspn(p, ":") > 0)
			xasprintf(&k->paths[k->n++], "%.*s", (int)strcspn(p, ":"), p);
	/* the list grows as it is walked: each library's own needs come after it */
	for (unsigned i = 0; i < k->n; i++)
		if (hvd_kdeps_walk(k, k->paths[i]) < 0)
			goto fail;
	k->paths[k->n] = NULL;
	char **paths = xreallocarray(NULL, k->n + 1, sizeof(char *));
	memcpy(paths, k->paths, (k->n + 1) * sizeof(char *));
	free(k);
	return paths;
fail:
	for (unsigned i = 0; i < k->n; i++)
		free(k->paths[i]);
	free(k);
	return NULL;
}

void
hvd_kdeps_free(char **paths)
{
	for (char **p = paths; p && *p; p++)
		free(*p);
	free(paths);
}
