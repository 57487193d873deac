/* What the test guest and the tests agree on: the command page the guest
 * publishes at HV_PFN_FIRST_FREE and the commands it obeys there. */
#ifndef PVSTACK_HV_TEST_GUEST_H
#define PVSTACK_HV_TEST_GUEST_H

#include <stdint.h>

#define TG_MAGIC	0x70767467u	/* "pvtg" */
#define TG_PFN_PAGE	7		/* HV_PFN_FIRST_FREE */
#define TG_PFN_RO	8		/* granted read-only to dom0 */
#define TG_PFN_RW	9		/* granted writable to dom0 */
#define TG_PFN_OTHER	10		/* granted to domain 5, not to dom0 */
#define TG_FILL_RO	0xa5
#define TG_FILL_RW	0x5a

enum tg_cmd {
	TG_CMD_NONE = 0,
	TG_CMD_END_ACCESS = 1,	/* arg: ref; result: 0 or -errno */
};

struct tg_page {
	uint32_t magic;		/* set last, when everything below is valid */
	uint32_t ref_ro, ref_rw, ref_other;
	uint32_t cmd;
	uint32_t arg;
	int32_t result;
	uint32_t done;		/* incremented after each command */
};

#endif
