/*
 * libFuzzer target for the xl.cfg parser: the input is a config file, then a
 * domain config validated from it; its first line is also tried as a disk spec,
 * a vif spec and a command-line override. Nothing may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg cfg = { 0 };
	struct cfg_domain dom;
	struct cfg_diag d = { .cd_out = NULL };
	char why[256], *line;
	struct cfg_disk disk;
	struct cfg_nic nic;
	const char *nl;

	cfg_parse(&cfg, (const char *)data, size, "fuzz.cfg", &d);
	cfg_domain_from(&cfg, &dom, "fuzz.cfg", &d);
	cfg_domain_free(&dom);
	cfg_free(&cfg);

	nl = memchr(data, '\n', size);
	line = strndup((const char *)data, nl ? (size_t)(nl - (const char *)data) : size);
	if (line == NULL)
		return 0;
	cfg_disk_parse(line, &disk, why, sizeof(why));
	cfg_disk_free(&disk);
	cfg_nic_parse(line, &nic, why, sizeof(why));
	cfg_nic_free(&nic);
	cfg_override(&cfg, line, &d);
	cfg_free(&cfg);
	cfg_diag_flush(&d);
	free(line);
	return 0;
}
