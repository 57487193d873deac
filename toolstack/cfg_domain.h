/*
 * A domain's configuration, validated: what xl create builds from. Filled from
 * the generic settings of cfg.h by cfg_domain_from(), which knows every key,
 * warns about unknown ones and reports each bad value with file, line and key.
 */
#ifndef PVSTACK_CFG_DOMAIN_H
#define PVSTACK_CFG_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "cpumap.h"

enum cfg_action {
	CFG_ACT_DESTROY,
	CFG_ACT_RESTART,
	CFG_ACT_RENAME_RESTART,
	CFG_ACT_PRESERVE,
	CFG_ACT_COREDUMP_DESTROY,
	CFG_ACT_COREDUMP_RESTART,
};

/* What create does with a vbd/vif whose backend daemon is not running. */
enum cfg_nobackend {
	CFG_NOBACKEND_WARN,	/* write the layout, skip the wait, warn (default) */
	CFG_NOBACKEND_ERROR,	/* refuse to create the domain */
};

struct cfg_disk {
	char *cd_spec;		/* as written, for messages */
	int cd_line;
	char *cd_target;	/* "" for an empty cdrom */
	char *cd_format;	/* raw, qcow, qcow2, vhd, qed */
	char *cd_vdev;		/* hda1, xvda, ... */
	int cd_devid;		/* encoded virtual-device number */
	int cd_readonly;
	int cd_cdrom;
	char *cd_script;	/* NULL: the default block script */
	char *cd_backendtype;	/* phy, qdisk, standalone; NULL: phy */
	char *cd_backend;	/* backend domain name; NULL: dom0 */
	int cd_discard;		/* -1 default, 0, 1 */
	int cd_direct_io_safe;
	int cd_trusted;		/* -1 default, 0, 1 */
};

struct cfg_nic {
	char *cn_spec;
	int cn_line;
	int cn_devid;
	char *cn_mac;		/* NULL: random 00:16:3e:xx:xx:xx at create */
	char *cn_bridge;	/* NULL: xenbr0 */
	char *cn_script;	/* NULL: vif-bridge */
	char *cn_ip;
	char *cn_vifname;
	char *cn_gatewaydev;
	char *cn_backend;
	char *cn_rate;		/* "bytes,usecs" once parsed */
	char *cn_model;
	char *cn_type;
	unsigned cn_mtu;	/* 0: default */
	int cn_trusted;		/* -1 default */
};

struct cfg_domain {
	char *cd_file;		/* config file name */
	char *cd_name;
	uint8_t cd_uuid[16];
	int cd_has_uuid;
	uint64_t cd_memory_mib;
	uint64_t cd_maxmem_mib;
	unsigned cd_vcpus;
	unsigned cd_maxvcpus;
	bool cd_has_cpus;	/* cpus= given: the domain runs only on cd_cpus */
	struct hv_cpumap cd_cpus;
	char *cd_kernel;
	char *cd_ramdisk;
	char *cd_cmdline;	/* the final command line: cmdline, or root= + extra */
	char *cd_payload;	/* set by xl: a kernel the shim runs (user-mode Linux), or NULL */
	enum cfg_action cd_on_poweroff;
	enum cfg_action cd_on_reboot;
	enum cfg_action cd_on_crash;
	enum cfg_action cd_on_watchdog;
	double cd_restart_interval;	/* seconds; a quicker death is not restarted */
	enum cfg_nobackend cd_nobackend;
	struct cfg_disk *cd_disks;
	size_t cd_ndisks;
	struct cfg_nic *cd_nics;
	size_t cd_nnics;
};

/* Validates cfg into dom; returns the number of errors (reported through d). */
int cfg_domain_from(struct cfg *cfg, struct cfg_domain *dom, const char *file,
    struct cfg_diag *d);
void cfg_domain_free(struct cfg_domain *dom);
/* Prints dom canonically, one "key: value" line per field (golden tests). */
void cfg_domain_dump(FILE *f, const struct cfg_domain *dom);

const char *cfg_action_name(enum cfg_action a);
/* -1 when name is not an action. */
int cfg_action_parse(const char *name, enum cfg_action *a);

/* Disk spec (xl-disk-configuration and the xm "file:/p,hda1,w" form); -1 with a
 * message in whybuf. */
int cfg_disk_parse(const char *spec, struct cfg_disk *disk, char *whybuf, size_t whylen);
void cfg_disk_free(struct cfg_disk *disk);
/* "hda1" -> 769, "xvda" -> 51712, "51712" -> 51712; -1 when not a vdev. */
int cfg_disk_vdev_devid(const char *vdev);

/* vif spec ("mac=..., bridge=..."); -1 with a message in whybuf. */
int cfg_nic_parse(const char *spec, struct cfg_nic *nic, char *whybuf, size_t whylen);
void cfg_nic_free(struct cfg_nic *nic);

#endif
