/* Unit tests of the config parser's pieces: vdev numbers, disk and vif specs,
 * overrides, and error recovery. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_domain.h"

Test(cfg_unit, vdev_numbers_follow_xen_vbd_interface)
{
	cr_expect_eq(cfg_disk_vdev_devid("hda1"), 769);
	cr_expect_eq(cfg_disk_vdev_devid("hda"), 768);
	cr_expect_eq(cfg_disk_vdev_devid("hdb"), 832);
	cr_expect_eq(cfg_disk_vdev_devid("hdc"), 5632);
	cr_expect_eq(cfg_disk_vdev_devid("xvda"), 51712);
	cr_expect_eq(cfg_disk_vdev_devid("xvdb1"), 51729);
	cr_expect_eq(cfg_disk_vdev_devid("xvdq"), (1 << 28) | (16 << 8));
	cr_expect_eq(cfg_disk_vdev_devid("xvdaa"), (1 << 28) | (26 << 8));
	cr_expect_eq(cfg_disk_vdev_devid("sda1"), 2049);
	cr_expect_eq(cfg_disk_vdev_devid("51712"), 51712);
	cr_expect_eq(cfg_disk_vdev_devid("hde"), -1);
	cr_expect_eq(cfg_disk_vdev_devid("vda"), -1);
	cr_expect_eq(cfg_disk_vdev_devid("xvda0"), -1);
	cr_expect_eq(cfg_disk_vdev_devid(""), -1);
}

Test(cfg_unit, xm_and_xl_disk_forms_agree)
{
	static const char *const same[] = {
		"/dev/vg/guest-volume,,hda",
		"/dev/vg/guest-volume,raw,hda,rw",
		"format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
		"raw:/dev/vg/guest-volume,hda,w",
		"phy:vg/guest-volume,hda,w",
	};
	char why[256];

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		struct cfg_disk d;
		cr_assert_eq(cfg_disk_parse(same[i], &d, why, sizeof(why)), 0, "%s: %s", same[i], why);
		cr_expect_str_eq(d.cd_target, "/dev/vg/guest-volume", "%s", same[i]);
		cr_expect_str_eq(d.cd_format, "raw");
		cr_expect_eq(d.cd_devid, 768);
		cr_expect_eq(d.cd_readonly, 0);
		cr_expect_eq(d.cd_cdrom, 0);
		cfg_disk_free(&d);
	}
}

Test(cfg_unit, nic_rate_is_stored_as_bytes_per_interval)
{
	struct cfg_nic n;
	char why[256];

	cr_assert_eq(cfg_nic_parse("rate=10MB/s", &n, why, sizeof(why)), 0);
	cr_expect_str_eq(n.cn_rate, "500000,50000");
	cfg_nic_free(&n);
	cr_assert_eq(cfg_nic_parse("rate=100Mb/s@20ms", &n, why, sizeof(why)), 0);
	cr_expect_str_eq(n.cn_rate, "250000,20000");
	cfg_nic_free(&n);
	cr_expect_eq(cfg_nic_parse("accel=x, frob=1", &n, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "unrecognized argument `frob=1'");
	cfg_nic_free(&n);
}

/* Parses text and validates it; returns the diagnostics. */
static char *
unit_run(const char *text, const char *const *overrides, int *errors)
{
	struct cfg cfg = { 0 };
	struct cfg_domain dom;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	struct cfg_diag d = { .cd_out = m };

	cfg_parse(&cfg, text, strlen(text), "t.cfg", &d);
	for (; overrides && *overrides; overrides++)
		cfg_override(&cfg, *overrides, &d);
	cfg_domain_from(&cfg, &dom, "t.cfg", &d);
	cfg_diag_flush(&d);
	if (d.cd_errors == 0)
		cfg_domain_dump(m, &dom);
	*errors = d.cd_errors;
	cfg_domain_free(&dom);
	cfg_free(&cfg);
	fclose(m);
	return out;
}

Test(cfg_unit, overrides_replace_and_append)
{
	static const char *const ov[] = { "memory=512", "name=web 1", NULL };
	int errors;
	char *out = unit_run("name='a'\nkernel='/k'\nmemory=64\ndisk=['/y,raw,xvda']\n", ov,
	    &errors);

	/* "web 1" holds a blank: a bad name, reported against the command line. */
	cr_expect_eq(errors, 1, "%s", out);
	cr_expect(strstr(out, "command line:1: name:") != NULL, "%s", out);
	free(out);
	static const char *const ov2[] = { "memory=512", "name=web1",
	    "disk+=['/x,raw,xvdb']", NULL };
	out = unit_run("name='a'\nkernel='/k'\nmemory=64\ndisk=['/y,raw,xvda']\n", ov2, &errors);
	cr_expect_eq(errors, 0, "%s", out);
	cr_expect(strstr(out, "name: web1\n") != NULL, "%s", out);
	cr_expect(strstr(out, "memory: 512\n") != NULL, "%s", out);
	cr_expect(strstr(out, "disk[0]: target=/y") != NULL, "%s", out);
	cr_expect(strstr(out, "disk[1]: target=/x") != NULL, "%s", out);
	free(out);
}

Test(cfg_unit, every_bad_line_is_reported_once_with_its_line)
{
	const char *text =
	    "name = 'x'\n"
	    "kernel = '/k'\n"
	    "memory = 'a'\n"
	    "vcpus = 'b'\n"
	    "maxvcpus = 'c'\n"
	    "memory = 1 2\n"
	    "on_reboot = 'x'\n";
	int errors;
	char *out = unit_run(text, NULL, &errors);

	/* Line 6 is a syntax error, so line 3's memory stays in force: both are reported. */
	cr_expect_eq(errors, 5, "%s", out);
	cr_expect(strstr(out, "t.cfg:3: memory: expected a number, got \"a\"\n"
	    "t.cfg:4: vcpus:") != NULL, "messages in line order: %s", out);
	cr_expect(strstr(out, "t.cfg:4: vcpus: expected a number, got \"b\"") != NULL, "%s", out);
	cr_expect(strstr(out, "t.cfg:5: maxvcpus:") != NULL, "%s", out);
	cr_expect(strstr(out, "t.cfg:6: memory:") != NULL, "%s", out);
	cr_expect(strstr(out, "t.cfg:7: on_reboot:") != NULL, "%s", out);
	free(out);
}

Test(cfg_unit, garbage_never_crashes_and_is_reported)
{
	static const char *const bad[] = { "", "\x00\x01\x02", "[[[[", "a=[", "a='", "a=\"\\",
	    "= = =", "a=[1,,2]", "a+=[1]\na+='x'", "\\\n\\", "a=\xe2\x80\x98x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg cfg = { 0 };
		struct cfg_diag d = { .cd_out = NULL };
		cfg_parse(&cfg, bad[i], strlen(bad[i]) + (i == 1 ? 3 : 0), "g.cfg", &d);
		cfg_diag_flush(&d);
		cr_expect(i == 0 || i == 9 || d.cd_errors > 0, "case %zu accepted", i);
		cfg_free(&cfg);
	}
}

Test(cfg_unit, overrides_need_a_setting_name)
{
	static const char *const bad[] = { "# comment (a=b", "=5", "9x=1", "a b=c", "[x]=1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg cfg = { 0 };
		struct cfg_diag d = { .cd_out = NULL };
		cr_expect_gt(cfg_override(&cfg, bad[i], &d), 0, "%s accepted", bad[i]);
		cr_expect_eq(cfg.c_nsettings, 0);
		cfg_free(&cfg);
	}
}
