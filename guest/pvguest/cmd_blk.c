/*
 * blk: the guest's disks from the shell. Sector numbers and counts are in the
 * disk's own sector size (blk list shows it), so SECTOR n is at byte
 * n * sector-size of the image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_bench.h"
#include "blkfront.h"
#include "pvguest.h"
#include "xmalloc.h"

#define CMD_BLK_READ_MAX	(1u << 20)	/* bytes blk read dumps at most */
#define CMD_BLK_VERIFY_CHUNK	(256u << 10)	/* bytes per verify step */
#define CMD_BLK_MISMATCH_LINES	8

/* The errno names a disk's failures come with (tests match them). */
static const char *
cmd_blk_errname(int err)
{
	static const struct { int e; const char *name; } names[] = {
		{ EIO, "EIO" }, { EROFS, "EROFS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ EPROTO, "EPROTO" }, { EINVAL, "EINVAL" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { ENOSPC, "ENOSPC" },
		{ ESHUTDOWN, "ESHUTDOWN" }, { EBUSY, "EBUSY" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].e == err)
			return names[i].name;
	}
	return "E?";
}

/* "blk write: xvda: EROFS (Read-only file system)" */
static int
cmd_blk_fail(struct shell *sh, const char *op, const char *vdev, int err)
{
	shell_printf(sh, "blk %s: %s: %s (%s)\n", op, vdev, cmd_blk_errname(err), strerror(err));
	return -1;
}

/* The disk the user named, or a message. */
static struct blkfront *
cmd_blk_disk(struct shell *sh, const char *op, const char *vdev)
{
	struct blkfront *bf = blkfront_bus_find(vdev);

	if (bf == NULL)
		shell_printf(sh, "blk %s: %s: no such disk (try blk list)\n", op, vdev);
	return bf;
}

/* A decimal argument; -1 after saying which one is wrong. */
static int
cmd_blk_number(struct shell *sh, const char *op, const char *what, const char *s,
    unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
		shell_printf(sh, "blk %s: %s: not a number: %s\n", op, what, s);
		return -1;
	}
	return 0;
}

/* Sectors of the disk's size to 512-byte ring sectors, checked against the disk. */
static int
cmd_blk_range(struct shell *sh, const char *op, struct blkfront *bf, unsigned long long sector,
    unsigned long long count, uint64_t *first, uint64_t *n)
{
	const struct blkfront_info *bi = blkfront_info(bf);
	uint64_t per = bi->bi_sector_size / 512, total = bi->bi_sectors / per;

	if (count == 0 || sector >= total || count > total - sector) {
		shell_printf(sh, "blk %s: %s: sectors %llu+%llu outside the disk (%llu sectors)\n", op,
		    blkfront_name(bf), sector, count, (unsigned long long)total);
		return -1;
	}
	*first = sector * per;
	*n = count * per;
	return 0;
}

static int
cmd_blk_list_exec(struct shell *sh, int argc, char **argv)
{
	struct blkfront *bf;

	(void)argc;
	(void)argv;
	if (blkfront_bus_get(0) == NULL) {
		shell_printf(sh, "no disks\n");
		return 0;
	}
	shell_printf(sh, "%-8s %-10s %12s %11s %14s %s\n", "VDEV", "NUMBER", "SECTORS",
	    "SECTOR-SIZE", "BYTES", "MODE");
	for (unsigned i = 0; (bf = blkfront_bus_get(i)) != NULL; i++) {
		const struct blkfront_info *bi = blkfront_info(bf);
		unsigned long long bytes = (unsigned long long)bi->bi_sectors * 512;
		shell_printf(sh, "%-8s %-10u %12llu %11u %14llu %s\n", blkfront_name(bf),
		    blkfront_vdev(bf), bytes / bi->bi_sector_size, bi->bi_sector_size, bytes,
		    bi->bi_readonly ? "ro" : "rw");
	}
	return 0;
}

static const struct shell_cmd cmd_blk_list = {
	.sc_name = "list", .sc_usage = "", .sc_help = "disks: vdev, number, size, sector size, mode",
	.sc_min = 0, .sc_max = 0, .sc_exec = cmd_blk_list_exec,
};

/* TEXT, zero-padded to whole sectors. */
static int
cmd_blk_write_exec(struct shell *sh, int argc, char **argv)
{
	struct blkfront *bf = cmd_blk_disk(sh, "write", argv[1]);
	unsigned long long sector;
	uint64_t first, n;

	(void)argc;
	if (bf == NULL || cmd_blk_number(sh, "write", "SECTOR", argv[2], &sector) < 0)
		return -1;
	size_t len = strlen(argv[3]), ss = blkfront_info(bf)->bi_sector_size;
	unsigned long long count = len == 0 ? 1 : (len + ss - 1) / ss;
	if (cmd_blk_range(sh, "write", bf, sector, count, &first, &n) < 0)
		return -1;
	char *buf = xcalloc(count, ss);
	memcpy(buf, argv[3], len);
	int rc = blkfront_rw(bf, BLKIF_OP_WRITE, first, n, buf);
	free(buf);
	if (rc < 0)
		return cmd_blk_fail(sh, "write", blkfront_name(bf), errno);
	shell_printf(sh, "ok\n");
	return 0;
}

static const struct shell_cmd cmd_blk_write = {
	.sc_name = "write", .sc_usage = "VDEV SECTOR TEXT",
	.sc_help = "write TEXT zero-padded to a whole sector",
	.sc_min = 3, .sc_max = 3, .sc_exec = cmd_blk_write_exec,
};

/* One hexdump -C line: offset, 16 bytes, their printable form. */
static void
cmd_blk_hexline(struct shell *sh, unsigned long long off, const unsigned char *p)
{
	char hex[16 * 3 + 2], asc[17];
	size_t h = 0;

	for (int i = 0; i < 16; i++) {
		h += (size_t)snprintf(hex + h, sizeof(hex) - h, "%02x %s", p[i], i == 7 ? " " : "");
		asc[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	}
	asc[16] = '\0';
	shell_printf(sh, "%08llx  %s |%s|\n", off, hex, asc);
}

/* hexdump -C's layout: a run of identical lines shows as one "*". */
static void
cmd_blk_hexdump(struct shell *sh, unsigned long long base, const unsigned char *buf, size_t len)
{
	bool starred = false;

	for (size_t off = 0; off < len; off += 16) {
		if (off > 0 && memcmp(buf + off, buf + off - 16, 16) == 0) {
			if (!starred)
				shell_printf(sh, "*\n");
			starred = true;
			continue;
		}
		starred = false;
		cmd_blk_hexline(sh, base + off, buf + off);
	}
	shell_printf(sh, "%08llx\n", base + len);
}

static int
cmd_blk_read_exec(struct shell *sh, int argc, char **argv)
{
	struct blkfront *bf = cmd_blk_disk(sh, "read", argv[1]);
	unsigned long long sector, count = 1;
	uint64_t first, n;

	if (bf == NULL || cmd_blk_number(sh, "read", "SECTOR", argv[2], &sector) < 0 ||
	    (argc == 4 && cmd_blk_number(sh, "read", "COUNT", argv[3], &count) < 0) ||
	    cmd_blk_range(sh, "read", bf, sector, count, &first, &n) < 0)
		return -1;
	if (n * 512 > CMD_BLK_READ_MAX) {
		shell_printf(sh, "blk read: %s: at most %u bytes at a time\n", blkfront_name(bf),
		    CMD_BLK_READ_MAX);
		return -1;
	}
	unsigned char *buf = xmalloc(n * 512);
	if (blkfront_rw(bf, BLKIF_OP_READ, first, n, buf) < 0) {
		free(buf);
		return cmd_blk_fail(sh, "read", blkfront_name(bf), errno);
	}
	cmd_blk_hexdump(sh, first * 512, buf, n * 512);
	free(buf);
	return 0;
}

static const struct shell_cmd cmd_blk_read = {
	.sc_name = "read", .sc_usage = "VDEV SECTOR [COUNT]",
	.sc_help = "hex dump of COUNT sectors (default 1)",
	.sc_min = 2, .sc_max = 3, .sc_exec = cmd_blk_read_exec,
};

/* The pattern of 512-byte sector s in this run: every 8 bytes differ with
 * the sector, the word and the run's seed, so a misplaced or stale sector
 * shows. */
static void
cmd_blk_pattern(uint64_t seed, uint64_t s, uint64_t *words)
{
	for (unsigned w = 0; w < 64; w++)
		words[w] = (s * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)w << 56) ^ seed;
}

/* Writes or checks [first, first+n) of the disk in chunks; counts mismatches. */
static int
cmd_blk_verify_pass(struct shell *sh, struct blkfront *bf, uint8_t op, uint64_t seed,
    unsigned long long *bad)
{
	uint64_t total = blkfront_info(bf)->bi_sectors, chunk = CMD_BLK_VERIFY_CHUNK / 512;
	uint64_t *buf = xmalloc(CMD_BLK_VERIFY_CHUNK), want[64];

	for (uint64_t s = 0; s < total; s += chunk) {
		uint64_t n = total - s < chunk ? total - s : chunk;
		for (uint64_t i = 0; op == BLKIF_OP_WRITE && i < n; i++)
			cmd_blk_pattern(seed, s + i, buf + i * 64);
		if (blkfront_rw(bf, op, s, n, buf) < 0) {
			int err = errno;
			free(buf);
			return cmd_blk_fail(sh, "verify", blkfront_name(bf), err);
		}
		for (uint64_t i = 0; op == BLKIF_OP_READ && i < n; i++) {
			cmd_blk_pattern(seed, s + i, want);
			if (memcmp(want, buf + i * 64, 512) == 0)
				continue;
			if (++*bad <= CMD_BLK_MISMATCH_LINES)
				shell_printf(sh, "mismatch at sector %llu\n", (unsigned long long)(s + i));
		}
	}
	free(buf);
	return 0;
}

static int
cmd_blk_verify_exec(struct shell *sh, int argc, char **argv)
{
	struct blkfront *bf = cmd_blk_disk(sh, "verify", argv[1]);
	unsigned long long bad = 0;
	uint64_t seed = (uint64_t)events_now_ms() * 0xff51afd7ed558ccdull;

	(void)argc;
	if (bf == NULL)
		return -1;
	if (blkfront_info(bf)->bi_readonly)
		return cmd_blk_fail(sh, "verify", blkfront_name(bf), EROFS);
	if (cmd_blk_verify_pass(sh, bf, BLKIF_OP_WRITE, seed, &bad) < 0 ||
	    cmd_blk_verify_pass(sh, bf, BLKIF_OP_READ, seed, &bad) < 0)
		return -1;
	shell_printf(sh, "verify %s: %llu sectors written and read back, %llu mismatches\n",
	    blkfront_name(bf), (unsigned long long)blkfront_info(bf)->bi_sectors, bad);
	return bad ? -1 : 0;
}

static const struct shell_cmd cmd_blk_verify = {
	.sc_name = "verify", .sc_usage = "VDEV",
	.sc_help = "write a pattern over the whole disk, read it back, report mismatches",
	.sc_min = 1, .sc_max = 1, .sc_exec = cmd_blk_verify_exec,
};

static int
cmd_blk_discard_exec(struct shell *sh, int argc, char **argv)
{
	struct blkfront *bf = cmd_blk_disk(sh, "discard", argv[1]);
	unsigned long long sector, count;
	uint64_t first, n;

	(void)argc;
	if (bf == NULL || cmd_blk_number(sh, "discard", "SECTOR", argv[2], &sector) < 0 ||
	    cmd_blk_number(sh, "discard", "COUNT", argv[3], &count) < 0 ||
	    cmd_blk_range(sh, "discard", bf, sector, count, &first, &n) < 0)
		return -1;
	if (blkfront_discard(bf, first, n) < 0)
		return cmd_blk_fail(sh, "discard", blkfront_name(bf), errno);
	shell_printf(sh, "ok\n");
	return 0;
}

static const struct shell_cmd cmd_blk_discard = {
	.sc_name = "discard", .sc_usage = "VDEV SECTOR COUNT",
	.sc_help = "tell the backend COUNT sectors are unused (holes in a sparse image)",
	.sc_min = 3, .sc_max = 3, .sc_exec = cmd_blk_discard_exec,
};

static int
cmd_blk_flush_exec(struct shell *sh, int argc, char **argv)
{
	struct blkfront *bf = cmd_blk_disk(sh, "flush", argv[1]);

	(void)argc;
	if (bf == NULL)
		return -1;
	if (blkfront_flush(bf) < 0)
		return cmd_blk_fail(sh, "flush", blkfront_name(bf), errno);
	shell_printf(sh, "ok\n");
	return 0;
}

static const struct shell_cmd cmd_blk_flush = {
	.sc_name = "flush", .sc_usage = "VDEV", .sc_help = "flush the backend's write cache",
	.sc_min = 1, .sc_max = 1, .sc_exec = cmd_blk_flush_exec,
};

/* rand|seq read|write BS QD SECONDS [POLL_US] into bench parameters. */
static int
cmd_blk_bench_params(struct shell *sh, int argc, char **argv, struct blk_bench_params *p)
{
	unsigned long long qd, secs;

	memset(p, 0, sizeof(*p));
	if (strcmp(argv[2], "rand") != 0 && strcmp(argv[2], "seq") != 0) {
		shell_printf(sh, "blk bench: %s: rand or seq\n", argv[2]);
		return -1;
	}
	p->bp_random = argv[2][0] == 'r';
	if (strcmp(argv[3], "read") != 0 && strcmp(argv[3], "write") != 0) {
		shell_printf(sh, "blk bench: %s: read or write\n", argv[3]);
		return -1;
	}
	p->bp_op = argv[3][0] == 'r' ? BLKIF_OP_READ : BLKIF_OP_WRITE;
	if ((p->bp_bs = blk_bench_size(argv[4])) == 0) {
		shell_printf(sh, "blk bench: BS: not a size: %s (4k, 1M, 4096)\n", argv[4]);
		return -1;
	}
	if (cmd_blk_number(sh, "bench", "QD", argv[5], &qd) < 0 ||
	    cmd_blk_number(sh, "bench", "SECONDS", argv[6], &secs) < 0)
		return -1;
	if (qd == 0 || qd > BLK_BENCH_MAX_QD || secs == 0 || secs > 3600) {
		shell_printf(sh, "blk bench: QD is 1..%u and SECONDS 1..3600\n", BLK_BENCH_MAX_QD);
		return -1;
	}
	p->bp_qd = (unsigned)qd;
	p->bp_seconds = (unsigned)secs;
	p->bp_spin_us = BLK_BENCH_SPIN_US;
	if (argc == 8) {
		unsigned long long us;
		if (cmd_blk_number(sh, "bench", "POLL_US", argv[7], &us) < 0 || us > 100000) {
			shell_printf(sh, "blk bench: POLL_US is 0..100000\n");
			return -1;
		}
		p->bp_spin_us = (unsigned)us;
	}
	return 0;
}

static int
cmd_blk_bench_exec(struct shell *sh, int argc, char **argv)
{
	struct blkfront *bf = cmd_blk_disk(sh, "bench", argv[1]);
	struct blk_bench_params p;
	struct blk_bench_result r;

	if (bf == NULL || cmd_blk_bench_params(sh, argc, argv, &p) < 0)
		return -1;
	if (blk_bench_run(bf, pvguest_guest(sh)->g_ev, &p, &r) < 0)
		return cmd_blk_fail(sh, "bench", blkfront_name(bf), errno);
	if (r.br_error != 0)
		cmd_blk_fail(sh, "bench", blkfront_name(bf), r.br_error);
	double secs = r.br_ms > 0 ? r.br_ms / 1000.0 : 0.001;
	shell_printf(sh, "bench %s: %s %s bs %u qd %u: %llu ios in %lld ms\n", blkfront_name(bf),
	    argv[2], argv[3], p.bp_bs, p.bp_qd, r.br_ios, r.br_ms);
	shell_printf(sh, "IOPS %.0f MiB/s %.1f\n", r.br_ios / secs,
	    r.br_bytes / secs / (1024.0 * 1024.0));
	return r.br_error ? -1 : 0;
}

static const struct shell_cmd cmd_blk_bench = {
	.sc_name = "bench", .sc_usage = "VDEV rand|seq read|write BS QD SECONDS [POLL_US]",
	.sc_help = "QD requests of BS bytes in flight for SECONDS; ends with IOPS n MiB/s m",
	.sc_min = 6, .sc_max = 7, .sc_exec = cmd_blk_bench_exec,
};

static const struct shell_cmd *const cmd_blk_sub[] = {
	&cmd_blk_list, &cmd_blk_read, &cmd_blk_write, &cmd_blk_verify, &cmd_blk_discard,
	&cmd_blk_flush, &cmd_blk_bench, NULL,
};

const struct shell_cmd cmd_blk = {
	.sc_name = "blk", .sc_usage = "list|read|write|verify|discard|flush|bench",
	.sc_help = "the guest's disks", .sc_min = 1, .sc_max = -1, .sc_sub = cmd_blk_sub,
};
