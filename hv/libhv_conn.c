#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libhv_priv.h"
#include "msg.h"
#include "paths.h"
#include "unixsock.h"
#include "xmalloc.h"

/* Connects a SEQPACKET socket to hvd's listening path. */
static int
hv_conn_connect(const char *path)
{
	return unixsock_connect(path, SOCK_SEQPACKET | SOCK_CLOEXEC);
}

/* dom0 entry point: a privileged (when root) connection to hvd. */
struct hv *
hv_open(const char *sockpath)
{
	char *path = sockpath ? xstrdup(sockpath) : paths_run("hvd.sock");
	struct hv *hv = NULL;
	int fd = hv_conn_connect(path);

	if (fd >= 0) {
		hv = xcalloc(1, sizeof(*hv));
		hv->fd = fd;
		hv->self = 0;
	}
	int saved = errno;
	free(path);
	errno = saved;
	return hv;
}

/* Maps our own memory and points the guest info at start_info and the grant table. */
static int
hv_conn_guest_map(struct hv *hv, const struct hv_rep_guest_hello *h, int memfd)
{
	struct hv_guest_info *gi = &hv->ginfo;
	uint8_t *mem;

	if (h->nr_pages < HV_MIN_MEM_PAGES || h->nr_pages > (1ull << 32) ||
	    h->start_info_pfn >= h->nr_pages ||
	    h->gnttab_pfn + h->gnttab_frames > h->nr_pages || h->gnttab_frames == 0) {
		errno = EPROTO;
		return -1;
	}
	mem = mmap(NULL, h->nr_pages * HV_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		return -1;
	gi->domid = h->domid;
	gi->nr_pages = h->nr_pages;
	gi->mem = mem;
	gi->start_info = (start_info_t *)(mem + h->start_info_pfn * HV_PAGE_SIZE);
	gi->gnttab = (grant_entry_v1_t *)(mem + h->gnttab_pfn * HV_PAGE_SIZE);
	gi->gnttab_entries = h->gnttab_frames * (HV_PAGE_SIZE / sizeof(grant_entry_v1_t));
	hv->gref_used = xcalloc(gi->gnttab_entries, 1);
	hv->self = h->domid;
	return 0;
}

/* Guest entry point: adopts the inherited channel and says hello to get our memory. */
struct hv *
hv_open_guest(void)
{
	const char *env = getenv(HV_GUEST_FD_ENV);
	struct hv_rep_guest_hello hello;
	struct hv_reply rep = { .buf = &hello, .cap = sizeof(hello) };
	struct hv *hv = xcalloc(1, sizeof(*hv));
	int saved;

	hv->fd = env && *env ? atoi(env) : HV_GUEST_FD;
	hv->guest = true;
	if (hv_call(hv, HV_GUEST_HELLO, NULL, 0, &rep) < 0)
		goto fail;
	if (rep.len != sizeof(hello) || rep.nfds != 1) {
		msg_close_fds(rep.fds, rep.nfds);
		errno = EPROTO;
		goto fail;
	}
	if (hv_conn_guest_map(hv, &hello, rep.fds[0]) < 0) {
		msg_close_fds(rep.fds, rep.nfds);
		goto fail;
	}
	close(rep.fds[0]);
	return hv;
fail:
	saved = errno;
	free(hv);
	errno = saved;
	return NULL;
}

/* Drops the connection and every mapping it cached. */
void
hv_close(struct hv *hv)
{
	if (hv == NULL)
		return;
	while (hv->maps) {
		struct hv_mapping *m = hv->maps;
		hv->maps = m->next;
		hv_mapping_free(m);
	}
	if (hv->map_byid)
		domtab_clear(hv->map_byid);
	free(hv->map_byid);
	if (hv->ginfo.mem)
		munmap(hv->ginfo.mem, hv->ginfo.nr_pages * HV_PAGE_SIZE);
	free(hv->gref_used);
	if (hv->fd >= 0)
		close(hv->fd);
	free(hv);
}

/* Who we are in domid terms. */
hv_domid_t
hv_self(struct hv *hv)
{
	return hv->self;
}

/* Receives the reply with our id; replies come in request order, so anything else is a protocol error. */
int
hv_call_recv(struct hv *hv, uint32_t type, uint32_t id, struct hv_reply *rep)
{
	uint8_t buf[HV_MSG_MAX];
	struct hv_msg_hdr hdr;
	int fds[MSG_MAX_FDS], nfds = 0;
	ssize_t n;

again:
	n = msg_recv(hv->fd, buf, sizeof(buf), fds, &nfds);
	if (n < 0)
		return -1;
	if (n == 0) {
		errno = ECONNRESET;
		return -1;
	}
	if ((size_t)n < sizeof(hdr))
		goto proto;
	memcpy(&hdr, buf, sizeof(hdr));
	/* a second answer to an earlier request: hvd restarted after answering it (hvd_conn.c) */
	if ((int32_t)(hdr.id - id) < 0) {
		msg_close_fds(fds, nfds);
		goto again;
	}
	if (hdr.type != type || hdr.id != id || hdr.len != (size_t)n - sizeof(hdr))
		goto proto;
	if (hdr.rc < 0) {
		msg_close_fds(fds, nfds);
		errno = -hdr.rc;
		return -1;
	}
	if (rep == NULL) {
		msg_close_fds(fds, nfds);
		return 0;
	}
	rep->len = hdr.len < rep->cap ? hdr.len : rep->cap;
	if (rep->len)
		memcpy(rep->buf, buf + sizeof(hdr), rep->len);
	if (nfds > (int)(sizeof(rep->fds) / sizeof(rep->fds[0]))) {
		msg_close_fds(fds, nfds);
		goto proto;
	}
	memcpy(rep->fds, fds, nfds * sizeof(int));
	rep->nfds = nfds;
	return 0;
proto:
	msg_close_fds(fds, nfds);
	errno = EPROTO;
	return -1;
}

/* Sends one request; its id goes to *id for hv_call_recv. */
int
hv_call_send(struct hv *hv, uint32_t type, const void *req, size_t len, uint32_t *id)
{
	uint8_t buf[HV_MSG_MAX];
	struct hv_msg_hdr hdr = { .type = type, .len = len, .id = ++hv->next_id };

	if (len > sizeof(buf) - sizeof(hdr)) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, &hdr, sizeof(hdr));
	if (len)
		memcpy(buf + sizeof(hdr), req, len);
	if (msg_send(hv->fd, buf, sizeof(hdr) + len, NULL, 0) < 0)
		return -1;
	*id = hdr.id;
	return 0;
}

/* The one request/reply primitive every libhv call goes through. */
int
hv_call(struct hv *hv, uint32_t type, const void *req, size_t len, struct hv_reply *rep)
{
	uint32_t id;

	if (rep)
		rep->nfds = 0, rep->len = 0;
	if (hv_call_send(hv, type, req, len, &id) < 0)
		return -1;
	return hv_call_recv(hv, type, id, rep);
}
