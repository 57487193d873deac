/*
 * libFuzzer target for the ring transport: the input is a guest's whole
 * xenstore page (requests, responses and the four indexes, all hostile),
 * read through the same code as a live guest's ring.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "log.h"
#include "xenstored.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xenstore_domain_interface page;
	static int inited;
	struct domain *d;
	struct conn *c;
	int i;

	if (!inited) {
		db_init();
		watch_init();
		log_init("fuzz", 0, 0);	/* a log line per hostile input would drown the fuzzer */
		inited = 1;
	}
	memset(&page, 0, sizeof(page));
	memcpy(&page, data, size < sizeof(page) ? size : sizeof(page));
	d = domain_adopt(7, NULL);
	d->d_intf = &page;
	c = ring_conn_new(d);
	d->d_conn = c;
	for (i = 0; i < 4 && !c->c_dead; i++) {
		conn_input(c);
		conn_output(c);
		/* the "guest" consumes replies and may rewrite its indexes in between */
		page.rsp_cons = page.rsp_prod - (size > sizeof(page) + (size_t)i ?
		    data[sizeof(page) + i] : 0);
	}
	d->d_intf = NULL;
	domain_destroy(d);
	if (!c->c_dead)
		conn_kill(c);
	conn_free_now(c);
	return 0;
}
