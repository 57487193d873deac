/*
 * vhublk_file: serves a plain file to UML as a virtio-blk disk over
 * vhost-user, with the library of guest/umlshim/vhost_user.h, so the
 * virtio path can be measured (and tested) without the PV path behind it.
 *
 *   vhublk_file [-d] [-i] [-r] [-t THREADS] [-v] SOCKET FILE
 *   linux.uml ... virtio_uml.device=SOCKET:2     (then modprobe virtio_blk)
 *
 * The main thread owns the session and the queue; THREADS workers (4) do the
 * preadv/pwritev/fdatasync straight into UML's memory, so a queue depth of 4
 * is 4 system calls in flight, and hand their results back through an
 * eventfd; -i does them in the main thread instead, one at a time (no
 * hand-over: less latency at queue depth 1). -d opens the file O_DIRECT (a
 * request whose buffers are not aligned for it goes through the page cache). One front-end; its
 * disconnection ends the program, as does SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

struct vf {
	int fd, dfd;			/* the file, buffered and O_DIRECT (-1) */
	struct vblk *vb;
	int kick;
	int done_efd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vblk_req *work, **work_tail;	/* to the workers, in order */
	struct vblk_req *done;		/* back from them */
	bool quit;
	bool inline_io;
	unsigned long long io_ns;	/* spent in the system calls, all workers */
	/* what the driver asked, printed at the end: the request sizes it chose */
	unsigned long long n_in, n_out, n_flush, b_in, b_out;
};

static volatile sig_atomic_t vf_stop;

/* SIGTERM and SIGINT end the loop; the workers finish first. */
static void
vf_on_term(int sig)
{
	(void)sig;
	vf_stop = 1;
}

/* A whole transfer: preadv/pwritev may stop short; the rest is asked again. */
static int
vf_rw(int fd, struct vblk_req *r)
{
	struct iovec iov[VHU_MAX_IOV];
	unsigned n = r->r_niov, i = 0;
	off_t off = (off_t)r->r_sector * 512;

	memcpy(iov, r->r_iov, n * sizeof(iov[0]));
	while (i < n) {
		ssize_t k = r->r_type == VIRTIO_BLK_T_IN ? preadv(fd, iov + i, (int)(n - i), off) :
		    pwritev(fd, iov + i, (int)(n - i), off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = EIO;	/* past the end: the file shrank */
			return -1;
		}
		off += k;
		while (i < n && (size_t)k >= iov[i].iov_len)
			k -= (ssize_t)iov[i++].iov_len;
		if (i < n) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
			iov[i].iov_len -= (size_t)k;
		}
	}
	return 0;
}

static uint8_t
vf_do_io(struct vf *v, struct vblk_req *r)
{
	int rc;

	if (r->r_type == VIRTIO_BLK_T_FLUSH)
		return fdatasync(v->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	if (r->r_len == 0)
		return VIRTIO_BLK_S_OK;
	rc = v->dfd >= 0 ? vf_rw(v->dfd, r) : vf_rw(v->fd, r);
	if (rc < 0 && v->dfd >= 0 && errno == EINVAL)
		rc = vf_rw(v->fd, r);	/* not aligned for O_DIRECT */
	if (rc < 0) {
		log_warn("%s at sector %llu", r->r_type == VIRTIO_BLK_T_IN ? "read" : "write",
		    (unsigned long long)r->r_sector);
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* For the time the system calls take. */
static long long
vf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* The I/O with its time counted: the rest of a request's life is notification. */
static uint8_t
vf_do(struct vf *v, struct vblk_req *r)
{
	long long t0 = vf_now_ns();
	uint8_t st = vf_do_io(v, r);

	__atomic_fetch_add(&v->io_ns, (unsigned long long)(vf_now_ns() - t0), __ATOMIC_RELAXED);
	return st;
}

/* A worker: takes requests in order, does them, hands them back. */
static void *
vf_worker(void *arg)
{
	struct vf *v = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&v->lock);
	for (;;) {
		struct vblk_req *r;
		while (v->work == NULL && !v->quit)
			pthread_cond_wait(&v->cond, &v->lock);
		if (v->work == NULL)
			break;
		r = v->work;
		v->work = r->r_next;
		if (v->work == NULL)
			v->work_tail = &v->work;
		pthread_mutex_unlock(&v->lock);
		r->r_owner = (void *)(uintptr_t)vf_do(v, r);
		pthread_mutex_lock(&v->lock);
		r->r_next = v->done;
		v->done = r;
		(void)!write(v->done_efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

/* The library's request to a worker (or done here with -i). */
static void
vf_submit(void *arg, struct vblk_req *r)
{
	struct vf *v = arg;

	if (r->r_type == VIRTIO_BLK_T_IN) {
		v->n_in++;
		v->b_in += r->r_len;
	} else if (r->r_type == VIRTIO_BLK_T_OUT) {
		v->n_out++;
		v->b_out += r->r_len;
	} else {
		v->n_flush++;
	}
	if (v->inline_io) {
		vblk_complete(r, vf_do(v, r));
		return;
	}
	pthread_mutex_lock(&v->lock);
	r->r_next = NULL;
	*v->work_tail = r;
	v->work_tail = &r->r_next;
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/* The kick fd polled from the next round on. */
static void
vf_kick_changed(void *arg, int oldfd, int newfd)
{
	(void)oldfd;			/* poll() is rebuilt every round */
	((struct vf *)arg)->kick = newfd;
}

/* The workers' answers, given to the library in the main thread. */
static void
vf_reap(struct vf *v)
{
	struct vblk_req *r;
	uint64_t n;

	(void)!read(v->done_efd, &n, sizeof(n));
	pthread_mutex_lock(&v->lock);
	r = v->done;
	v->done = NULL;
	pthread_mutex_unlock(&v->lock);
	while (r) {
		struct vblk_req *next = r->r_next;
		vblk_complete(r, (uint8_t)(uintptr_t)r->r_owner);
		r = next;
	}
	vblk_flush_calls(v->vb);
}

/* The socket UML connects to (it must exist before UML starts). */
static int
vf_listen(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("%s: socket path too long", path);
	strcpy(sun.sun_path, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1) < 0)
		fatal("%s", path);
	return fd;
}

/* Bad arguments. */
static void
vf_usage(void)
{
	fprintf(stderr, "usage: vhublk_file [-d] [-i] [-r] [-t THREADS] [-v] SOCKET FILE\n");
	exit(2);
}

/* Options, the file, the workers, one front-end, the loop. */
int
main(int argc, char **argv)
{
	static struct vf v = { .fd = -1, .dfd = -1, .kick = -1 };
	bool direct = false, ro = false;
	int nthreads = 4, verbose = 0, c, lfd, cfd;
	struct stat st;
	pthread_t th[64];
	char name[128];

	while ((c = getopt(argc, argv, "dirt:v")) != -1) {
		switch (c) {
		case 'd': direct = true; break;
		case 'i': v.inline_io = true; break;
		case 'r': ro = true; break;
		case 't': nthreads = atoi(optarg); break;
		case 'v': verbose = 1; break;
		default: vf_usage();
		}
	}
	if (argc - optind != 2 || nthreads < 1 || nthreads > 64)
		vf_usage();
	log_init("vhublk_file", verbose, LOG_TO_STDERR);
	if ((v.fd = open(argv[optind + 1], (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC)) < 0)
		fatal("%s", argv[optind + 1]);
	if (direct && (v.dfd = open(argv[optind + 1], (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC |
	    O_DIRECT)) < 0)
		fatal("%s: O_DIRECT", argv[optind + 1]);
	if (fstat(v.fd, &st) < 0)
		fatal("%s", argv[optind + 1]);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, vf_on_term);
	signal(SIGINT, vf_on_term);
	pthread_mutex_init(&v.lock, NULL);
	pthread_cond_init(&v.cond, NULL);
	v.work_tail = &v.work;
	if ((v.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		fatal("eventfd");
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, vf_worker, &v) != 0)
			fatalx("pthread_create");

	lfd = vf_listen(argv[optind]);
	do
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (cfd < 0 && errno == EINTR && !vf_stop);
	if (cfd < 0)
		fatal("accept");
	close(lfd);
	snprintf(name, sizeof(name), "vhublk %s", argv[optind + 1]);
	struct vblk_params p = {
		.sectors = (uint64_t)st.st_size / 512, .ro = ro, .serial = "vhublk_file",
		.flush = true, .submit = vf_submit, .kick_changed = vf_kick_changed, .arg = &v,
	};
	v.vb = vblk_new(cfd, name, &p);
	log_info("serving %s (%llu sectors) on %s", argv[optind + 1],
	    (unsigned long long)p.sectors, argv[optind]);

	while (!vf_stop) {
		struct pollfd pfd[3] = {
			{ .fd = cfd, .events = POLLIN },
			{ .fd = v.done_efd, .events = POLLIN },
			{ .fd = v.kick, .events = POLLIN },
		};
		if (poll(pfd, v.kick >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents & POLLIN)
			vf_reap(&v);
		if (v.kick >= 0 && (pfd[2].revents & POLLIN))
			vblk_kick(v.vb);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			if (vblk_dispatch(v.vb) < 0)
				break;
	}

	/* the workers finish what they hold before the memory goes */
	pthread_mutex_lock(&v.lock);
	v.quit = true;
	pthread_cond_broadcast(&v.cond);
	pthread_mutex_unlock(&v.lock);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	vf_reap(&v);
	log_info("%llu reads (%llu KiB each), %llu writes (%llu KiB each), %llu flushes; "
	    "%llu us of I/O per request", v.n_in, v.n_in ? v.b_in / v.n_in / 1024 : 0, v.n_out,
	    v.n_out ? v.b_out / v.n_out / 1024 : 0, v.n_flush,
	    v.io_ns / 1000 / (v.n_in + v.n_out + v.n_flush ? v.n_in + v.n_out + v.n_flush : 1));
	vblk_free(v.vb);
	unlink(argv[optind]);
	return 0;
}
