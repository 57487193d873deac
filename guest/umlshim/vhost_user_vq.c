/*
 * A split virtqueue seen from the device: chains taken from the available
 * ring (direct or through one indirect table), translated into iovecs over
 * the front-end's mapped memory, and given back on the used ring. The driver
 * runs on another CPU at the same time: the indexes are read with acquire and
 * written with release, as the virtio spec's barriers ask.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

/* A ring forgotten: its eventfds closed, its addresses dropped, its epoch
 * moved on so that chains taken before are not given back to what follows. */
void
vhu_vq_reset(struct vhu_vq *q)
{
	uint32_t epoch = q->q_epoch + 1;

	if (q->q_kick >= 0)
		close(q->q_kick);
	if (q->q_call >= 0)
		close(q->q_call);
	*q = (struct vhu_vq){ .q_kick = -1, .q_call = -1, .q_epoch = epoch };
}

/* The ring's parts found in our mapping of the front-end's memory. */
int
vhu_vq_map(struct vhu_vq *q, const struct vhu_mem *m)
{
	uint64_t n = q->q_num;

	q->q_desc = NULL;
	q->q_avail = NULL;
	q->q_used = NULL;
	if (n == 0 || q->q_desc_uva == 0)
		return -1;
	q->q_desc = vhu_mem_uva(m, q->q_desc_uva, n * sizeof(struct vring_desc_le));
	q->q_avail = vhu_mem_uva(m, q->q_avail_uva, 4 + 2 * n + 2);
	q->q_used = vhu_mem_uva(m, q->q_used_uva, 4 + 8 * n + 2);
	if (q->q_desc == NULL || q->q_avail == NULL || q->q_used == NULL) {
		q->q_desc = NULL;
		return -1;
	}
	return 0;
}

/* Adds one buffer to the chain: readable ones may not follow writable ones. */
static int
vhu_vq_add(struct vhu_chain *c, const struct vhu_mem *m, const struct vring_desc_le *d)
{
	unsigned n = c->c_nout + c->c_nin;
	void *p;

	if (n >= VHU_MAX_IOV)
		return -1;
	if ((p = vhu_mem_gpa(m, d->addr, d->len)) == NULL)
		return -1;
	if (d->flags & VRING_DESC_F_WRITE)
		c->c_nin++;
	else if (c->c_nin > 0)
		return -1;
	else
		c->c_nout++;
	c->c_iov[n].iov_base = p;
	c->c_iov[n].iov_len = d->len;
	return 0;
}

/* Walks the chain from head; the indirect table, if any, ends it. */
static int
vhu_vq_walk(struct vhu_vq *q, const struct vhu_mem *m, struct vhu_chain *c)
{
	const struct vring_desc_le *table = q->q_desc;
	uint32_t tlen = q->q_num, i = c->c_head, steps = 0;
	bool indirect = false;

	for (;;) {
		struct vring_desc_le d;

		if (i >= tlen || ++steps > tlen)
			return -1;
		d = table[i];
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect || (d.flags & VRING_DESC_F_NEXT) || d.len == 0 ||
			    d.len % sizeof(d) != 0 || d.len / sizeof(d) > VHU_VQ_MAX_SIZE)
				return -1;
			table = vhu_mem_gpa(m, d.addr, d.len);
			if (table == NULL)
				return -1;
			tlen = d.len / sizeof(d);
			indirect = true;
			i = 0;
			steps = 0;
			continue;
		}
		if (vhu_vq_add(c, m, &d) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

/* The next available chain, checked descriptor by descriptor. */
int
vhu_vq_pop(struct vhu_vq *q, const struct vhu_mem *m, struct vhu_chain *c)
{
	uint16_t avail;

	if (q->q_desc == NULL)
		return 0;
	avail = __atomic_load_n(&q->q_avail->idx, __ATOMIC_ACQUIRE);
	if (avail == q->q_last_avail)
		return 0;
	if ((uint16_t)(avail - q->q_last_avail) > q->q_num) {
		/* the driver's index ran past the ring: nothing in it can be trusted */
		log_warnx("vhost-user: avail index %u is %u ahead of %u entries",
		    avail, (uint16_t)(avail - q->q_last_avail), q->q_num);
		q->q_desc = NULL;
		return 0;
	}
	c->c_head = q->q_avail->ring[q->q_last_avail % q->q_num];
	c->c_nout = c->c_nin = 0;
	q->q_last_avail++;
	if (vhu_vq_walk(q, m, c) < 0) {
		if (c->c_head < q->q_num)
			vhu_vq_push(q, c->c_head, 0);
		return -1;
	}
	return 1;
}

/* A chain given back; the index is published after the entry. */
void
vhu_vq_push(struct vhu_vq *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem_le *e;

	if (q->q_used == NULL)
		return;
	e = &q->q_used->ring[q->q_used_idx % q->q_num];
	e->id = head;
	e->len = len;
	q->q_used_idx++;
	__atomic_store_n(&q->q_used->idx, q->q_used_idx, __ATOMIC_RELEASE);
	q->q_pending_call = true;
}

/* One signal for a batch of used entries, unless the driver asked for none. */
void
vhu_vq_notify(struct vhu_vq *q)
{
	uint64_t one = 1;

	if (!q->q_pending_call || q->q_call < 0 || q->q_avail == NULL)
		return;
	q->q_pending_call = false;
	/* the used index must be visible before the driver's flag is read */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->q_avail->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT)
		return;
	if (write(q->q_call, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("vhost-user: call eventfd");
}

/* A kick is a wake-up only: the ring itself says what is new. */
void
vhu_vq_drain_kick(struct vhu_vq *q)
{
	uint64_t n;

	if (q->q_kick >= 0)
		(void)!read(q->q_kick, &n, sizeof(n));
}
