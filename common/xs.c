/*
 * The synchronous xenstore client: one request at a time on a blocking unix
 * socket; watch events that arrive while waiting for a reply are queued.
 * When xenstored goes away (restarted with --state-dir) the client connects
 * again on the same fd number, registers its watches again and sends the
 * request again; a transaction of the lost connection answers EAGAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "unixsock.h"
#include "xmalloc.h"
#include "xs.h"

struct xs_event {
	struct xs_event *next;
	char **vec;
};

/* A watch to register again on a new connection. */
struct xs_watchrec {
	struct xs_watchrec *next;
	char *path, *token;
};

/* A transaction: the caller holds the handle, the daemon knows the id, on one connection. */
struct xs_txrec {
	xs_tx_t handle;
	uint32_t id;
	unsigned epoch;
};

struct xs {
	int fd;
	char *path;
	uint32_t req_id;
	struct xs_event *ev_head, **ev_tail;
	struct xs_watchrec *watches;
	struct xs_txrec *tx;
	unsigned ntx, next_txh;
	unsigned epoch;			/* connections lost so far */
	unsigned reconnect_ms;		/* 0: a lost connection stays lost */
	bool lost;			/* the last exchange saw the daemon go */
};

/* Handles the library gives out have the top bit set; raw daemon ids (tests) never do. */
#define XS_TXH_BIT 0x80000000u
#define XS_BACKOFF_FIRST_MS 10
#define XS_BACKOFF_MAX_MS 500

/* Maps a daemon error name to an errno; unknown names are EINVAL, as in Xen. */
int
xs_errno_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (strcmp(name, xsd_errors[i].errstring) == 0)
			return xsd_errors[i].errnum;
	return EINVAL;
}

/* Maps an errno to the wire name; anything outside the table is EINVAL. */
const char *
xs_errno_name(int err)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EINVAL";
}

/* Where tools and daemons find xenstored, honouring libxenstore's variable. */
const char *
xs_socket_path(void)
{
	static char *path;
	const char *env = getenv("XENSTORED_PATH");

	if (env && *env)
		return env;
	if (path == NULL)
		path = paths_run("xenstored/socket");
	return path;
}

/* Every new connection's reconnect budget: $PVSTACK_XS_RECONNECT_TIMEOUT seconds, else 30. */
unsigned
xs_reconnect_default_ms(void)
{
	const char *env = getenv("PVSTACK_XS_RECONNECT_TIMEOUT");
	char *end;
	double s;

	if (env == NULL || *env == '\0')
		return XS_RECONNECT_DEFAULT_MS;
	s = strtod(env, &end);
	if (*end != '\0' || s < 0 || s > 86400) {
		log_warnx("PVSTACK_XS_RECONNECT_TIMEOUT=%s is not a number of seconds; using %u",
		    env, XS_RECONNECT_DEFAULT_MS / 1000);
		return XS_RECONNECT_DEFAULT_MS;
	}
	return (unsigned)(s * 1000);
}

/* Monotonic milliseconds, for the reconnect deadline. */
static long long
xs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Connects to the daemon's socket. */
struct xs *
xs_open(const char *path)
{
	struct xs *xs;
	int fd;

	if (path == NULL)
		path = xs_socket_path();
	if ((fd = unixsock_connect(path, SOCK_STREAM | SOCK_CLOEXEC)) < 0)
		return NULL;
	xs = xcalloc(1, sizeof(*xs));
	xs->fd = fd;
	xs->path = xstrdup(path);
	xs->ev_tail = &xs->ev_head;
	xs->reconnect_ms = xs_reconnect_default_ms();
	return xs;
}

/* Closes the connection and drops queued events. */
void
xs_close(struct xs *xs)
{
	struct xs_event *e, *n;
	struct xs_watchrec *w, *wn;

	if (xs == NULL)
		return;
	for (e = xs->ev_head; e; e = n) {
		n = e->next;
		free(e->vec);
		free(e);
	}
	for (w = xs->watches; w; w = wn) {
		wn = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	free(xs->tx);
	free(xs->path);
	close(xs->fd);
	free(xs);
}

/* How long a lost connection is retried (0: not at all). */
void
xs_set_reconnect_timeout(struct xs *xs, unsigned ms)
{
	xs->reconnect_ms = ms;
}

/* Counts the connections lost and made again, for callers watching xs_fd(). */
unsigned
xs_reconnects(struct xs *xs)
{
	return xs->epoch;
}

/* The socket, for callers that poll for watch events. */
int
xs_fd(struct xs *xs)
{
	return xs->fd;
}

/* Reads exactly len bytes; EPIPE on EOF. */
static int
xs_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Writes the whole of iov-like pieces. */
static int
xs_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Splits a NUL-separated payload into one allocation: pointers then strings. */
static char **
xs_split(const char *data, size_t len, unsigned *num)
{
	unsigned n = 0, i = 0;
	size_t off;
	char **vec, *strs;

	for (off = 0; off < len; off++)
		if (data[off] == '\0')
			n++;
	if (len > 0 && data[len - 1] != '\0')
		n++;
	vec = xmalloc((n + 1) * sizeof(char *) + len + 1);
	strs = (char *)(vec + n + 1);
	memcpy(strs, data, len);
	strs[len] = '\0';
	for (off = 0; off < len && i < n; i++) {
		vec[i] = strs + off;
		off += strlen(strs + off) + 1;
	}
	vec[n] = NULL;
	if (num)
		*num = n;
	return vec;
}

/* Whether a socket error means the daemon is gone (rather than a bad message). */
static bool
xs_gone_errno(int err)
{
	return err == EPIPE || err == ECONNRESET || err == ENOTCONN;
}

/* Notes a failed socket call: lost when the daemon went away. */
static int
xs_io_failed(struct xs *xs)
{
	if (xs_gone_errno(errno))
		xs->lost = true;
	return -1;
}

/* Reads one message; the payload is malloc'd and NUL-terminated. */
static int
xs_recv(struct xs *xs, struct xsd_sockmsg *hdr, char **body)
{
	if (xs_read_full(xs->fd, hdr, sizeof(*hdr)) < 0)
		return xs_io_failed(xs);
	if (hdr->len > XENSTORE_PAYLOAD_MAX) {
		errno = EPROTO;
		return -1;
	}
	*body = xmalloc(hdr->len + 1);
	if (xs_read_full(xs->fd, *body, hdr->len) < 0) {
		free(*body);
		return xs_io_failed(xs);
	}
	(*body)[hdr->len] = '\0';
	return 0;
}

/* Queues a watch event for xs_read_watch. */
static void
xs_queue_event(struct xs *xs, const char *body, size_t len)
{
	struct xs_event *e = xcalloc(1, sizeof(*e));
	unsigned n;

	e->vec = xs_split(body, len, &n);
	if (n < 2) {
		free(e->vec);
		free(e);
		return;
	}
	*xs->ev_tail = e;
	xs->ev_tail = &e->next;
}

/* Sends one request on the current connection and returns its reply payload
 * (NUL-terminated, len in *rlen); xs->lost says whether a failure lost the daemon. */
static char *
xs_talk_once(struct xs *xs, uint32_t type, uint32_t tx, const struct iovec *iov, unsigned niov,
    size_t *rlen)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = ++xs->req_id, .tx_id = tx };
	char *buf, *body = NULL;
	size_t off;
	unsigned i;
	int rc;

	for (i = 0; i < niov; i++)
		hdr.len += iov[i].iov_len;
	if (hdr.len > XENSTORE_PAYLOAD_MAX) {
		errno = E2BIG;
		return NULL;
	}
	buf = xmalloc(sizeof(hdr) + hdr.len);
	memcpy(buf, &hdr, sizeof(hdr));
	for (off = sizeof(hdr), i = 0; i < niov; off += iov[i].iov_len, i++)
		memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
	rc = xs_write_full(xs->fd, buf, off);
	free(buf);
	if (rc < 0) {
		xs_io_failed(xs);
		return NULL;
	}
	for (;;) {
		struct xsd_sockmsg rhdr;

		if (xs_recv(xs, &rhdr, &body) < 0)
			return NULL;
		if (rhdr.type == XS_WATCH_EVENT) {
			xs_queue_event(xs, body, rhdr.len);
			free(body);
			continue;
		}
		if (rhdr.type == XS_ERROR) {
			int err = xs_errno_from_name(body);

			free(body);
			errno = err;
			return NULL;
		}
		if (rhdr.type != type) {
			free(body);
			errno = EBADMSG;
			return NULL;
		}
		if (rlen)
			*rlen = rhdr.len;
		return body;
	}
}

/* Registers every remembered watch on a fresh connection; -1 if the daemon went again. */
static int
xs_rewatch(struct xs *xs)
{
	struct xs_watchrec *w;

	for (w = xs->watches; w; w = w->next) {
		struct iovec iov[2] = { { w->path, strlen(w->path) + 1 },
			{ w->token, strlen(w->token) + 1 } };
		char *r = xs_talk_once(xs, XS_WATCH, 0, iov, 2, NULL);

		if (r == NULL && xs->lost)
			return -1;
		if (r == NULL)
			log_warn("xenstore: watch %s again after reconnecting", w->path);
		free(r);
	}
	return 0;
}

/*
 * The daemon went away: connect again (same fd number, so a caller polling
 * xs_fd() carries on) with a growing pause until reconnect_ms have passed,
 * and register the watches again (each fires once, as on any XS_WATCH).
 */
static int
xs_reconnect(struct xs *xs)
{
	long long t0 = xs_now_ms(), deadline = t0 + xs->reconnect_ms;
	unsigned backoff = XS_BACKOFF_FIRST_MS;
	int fd;

	if (xs->reconnect_ms == 0) {
		errno = EPIPE;
		return -1;
	}
	log_warnx("xenstore: lost the connection to %s; reconnecting for up to %.1f s", xs->path,
	    xs->reconnect_ms / 1000.0);
	xs->epoch++;
	for (;;) {
		fd = unixsock_connect(xs->path, SOCK_STREAM | SOCK_CLOEXEC);
		if (fd >= 0) {
			int rc = dup3(fd, xs->fd, O_CLOEXEC);

			close(fd);
			if (rc < 0)
				return xs_io_failed(xs);
			xs->lost = false;
			if (xs_rewatch(xs) == 0) {
				log_info("xenstore: reconnected to %s after %lld ms", xs->path,
				    xs_now_ms() - t0);
				return 0;
			}
		}
		if (xs_now_ms() >= deadline) {
			log_warnx("xenstore: gave up reconnecting to %s after %.1f s", xs->path,
			    xs->reconnect_ms / 1000.0);
			xs->lost = true;
			errno = EPIPE;
			return -1;
		}
		usleep(backoff * 1000);
		backoff = backoff * 2 > XS_BACKOFF_MAX_MS ? XS_BACKOFF_MAX_MS : backoff * 2;
	}
}

/* The transaction behind a handle, or NULL. */
static struct xs_txrec *
xs_tx_find(struct xs *xs, xs_tx_t handle)
{
	unsigned i;

	for (i = 0; i < xs->ntx; i++)
		if (xs->tx[i].handle == handle)
			return &xs->tx[i];
	return NULL;
}

/*
 * One request, across a restart of the daemon: a request outside a
 * transaction is sent again on the new connection; one inside a transaction
 * of the lost connection answers EAGAIN (the transaction is gone; its owner
 * retries). A repeated RM that finds nothing succeeds: the first one did it.
 */
static char *
xs_talk(struct xs *xs, uint32_t type, xs_tx_t tx, const struct iovec *iov, unsigned niov,
    size_t *rlen)
{
	uint32_t wire_tx = tx;
	bool again = false;
	char *r;

	if (tx != XS_TX_NONE) {
		struct xs_txrec *t = xs_tx_find(xs, tx);

		if (t && t->epoch != xs->epoch) {
			errno = EAGAIN;
			return NULL;
		}
		if (t == NULL && (tx & XS_TXH_BIT)) {
			errno = ENOENT;
			return NULL;
		}
		if (t)
			wire_tx = t->id;
	}
	for (;;) {
		xs->lost = false;
		if ((r = xs_talk_once(xs, type, wire_tx, iov, niov, rlen)) != NULL || !xs->lost)
			break;
		if (xs_reconnect(xs) < 0)
			return NULL;
		if (tx != XS_TX_NONE) {
			errno = EAGAIN;
			return NULL;
		}
		again = true;
	}
	if (r == NULL && again && type == XS_RM && errno == ENOENT) {
		if (rlen)
			*rlen = 2;
		return xstrdup("OK");
	}
	return r;
}

/* Request whose reply is just "OK". */
static int
xs_talk_ok(struct xs *xs, uint32_t type, xs_tx_t tx, const struct iovec *iov, unsigned niov)
{
	char *r = xs_talk(xs, type, tx, iov, niov, NULL);

	if (r == NULL)
		return -1;
	free(r);
	return 0;
}

/* One string argument including its NUL. */
static struct iovec
xs_iov_str(const char *s)
{
	return (struct iovec){ (void *)s, strlen(s) + 1 };
}

/* XS_READ: the value (NUL-terminated copy), its length in *len. */
char *
xs_read(struct xs *xs, xs_tx_t tx, const char *path, size_t *len)
{
	struct iovec iov = xs_iov_str(path);

	return xs_talk(xs, XS_READ, tx, &iov, 1, len);
}

/* XS_WRITE: binary-safe value. */
int
xs_write(struct xs *xs, xs_tx_t tx, const char *path, const void *val, size_t len)
{
	struct iovec iov[2] = { xs_iov_str(path), { (void *)val, len } };

	return xs_talk_ok(xs, XS_WRITE, tx, iov, 2);
}

/* XS_WRITE of a formatted value. */
int
xs_printf(struct xs *xs, xs_tx_t tx, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc, n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	rc = xs_write(xs, tx, path, s, n);
	free(s);
	return rc;
}

/* XS_MKDIR. */
int
xs_mkdir(struct xs *xs, xs_tx_t tx, const char *path)
{
	struct iovec iov = xs_iov_str(path);

	return xs_talk_ok(xs, XS_MKDIR, tx, &iov, 1);
}

/* XS_RM (recursive). */
int
xs_rm(struct xs *xs, xs_tx_t tx, const char *path)
{
	struct iovec iov = xs_iov_str(path);

	return xs_talk_ok(xs, XS_RM, tx, &iov, 1);
}

/* DIRECTORY_PART paging for lists over one payload, restarting when the node changes. */
static char **
xs_directory_part(struct xs *xs, xs_tx_t tx, const char *path, unsigned *num)
{
	char *acc = NULL, *gen = NULL, off[16], **vec;
	size_t acclen = 0;

	for (;;) {
		struct iovec iov[2] = { xs_iov_str(path), { off, 0 } };
		size_t rlen, glen;
		char *r;

		snprintf(off, sizeof(off), "%zu", acclen);
		iov[1].iov_len = strlen(off) + 1;
		r = xs_talk(xs, XS_DIRECTORY_PART, tx, iov, 2, &rlen);
		if (r == NULL)
			goto fail;
		glen = strnlen(r, rlen) + 1;
		if (glen > rlen) {
			free(r);
			errno = EPROTO;
			goto fail;
		}
		if (gen && strcmp(gen, r) != 0) {
			free(gen);
			free(acc);
			gen = NULL;
			acc = NULL;
			acclen = 0;
			free(r);
			continue;
		}
		if (gen == NULL)
			gen = xstrdup(r);
		acc = xreallocarray(acc, 1, acclen + rlen - glen + 1);
		memcpy(acc + acclen, r + glen, rlen - glen);
		acclen += rlen - glen;
		free(r);
		/* The final chunk ends with an extra NUL (an empty name). */
		if (acclen == 0 || (acclen >= 1 && acc[acclen - 1] == '\0' &&
		    (acclen == 1 || acc[acclen - 2] == '\0'))) {
			if (acclen > 0)
				acclen--;
			break;
		}
	}
	vec = xs_split(acc ? acc : "", acclen, num);
	free(acc);
	free(gen);
	return vec;
fail:
	free(acc);
	free(gen);
	return NULL;
}

/* Children names; falls back to DIRECTORY_PART when the list exceeds a payload. */
char **
xs_directory(struct xs *xs, xs_tx_t tx, const char *path, unsigned *num)
{
	struct iovec iov = xs_iov_str(path);
	char *r, **vec;
	size_t len;

	r = xs_talk(xs, XS_DIRECTORY, tx, &iov, 1, &len);
	if (r == NULL) {
		if (errno == E2BIG)
			return xs_directory_part(xs, tx, path, num);
		return NULL;
	}
	vec = xs_split(r, len, num);
	free(r);
	return vec;
}

/* Parses one "r5"-style perm. */
int
xs_perm_parse(const char *s, struct xs_perm *perm)
{
	char *end;
	unsigned long id;

	switch (s[0]) {
	case 'n': perm->perm = XS_PERM_NONE; break;
	case 'r': perm->perm = XS_PERM_READ; break;
	case 'w': perm->perm = XS_PERM_WRITE; break;
	case 'b': perm->perm = XS_PERM_BOTH; break;
	default:
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	id = strtoul(s + 1, &end, 0);
	if (s[1] == '\0' || *end != '\0' || errno || id > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	perm->domid = id;
	return 0;
}

/* Formats one perm as "r5". */
void
xs_perm_format(const struct xs_perm *perm, char *buf, size_t len)
{
	static const char letters[] = "nrwb";

	snprintf(buf, len, "%c%u", letters[perm->perm & 3], perm->domid);
}

/* XS_GET_PERMS, parsed. */
struct xs_perm *
xs_get_perms(struct xs *xs, xs_tx_t tx, const char *path, unsigned *num)
{
	struct iovec iov = xs_iov_str(path);
	struct xs_perm *perms;
	char *r, **vec;
	unsigned n, i;
	size_t len;

	r = xs_talk(xs, XS_GET_PERMS, tx, &iov, 1, &len);
	if (r == NULL)
		return NULL;
	vec = xs_split(r, len, &n);
	free(r);
	perms = xcalloc(n ? n : 1, sizeof(*perms));
	for (i = 0; i < n; i++) {
		if (xs_perm_parse(vec[i], &perms[i]) < 0) {
			free(vec);
			free(perms);
			errno = EPROTO;
			return NULL;
		}
	}
	free(vec);
	*num = n;
	return perms;
}

/* XS_SET_PERMS. */
int
xs_set_perms(struct xs *xs, xs_tx_t tx, const char *path, const struct xs_perm *perms, unsigned num)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	struct iovec iov[2] = { xs_iov_str(path), { buf, 0 } };
	unsigned i;

	for (i = 0; i < num; i++) {
		char one[16];
		size_t l;

		xs_perm_format(&perms[i], one, sizeof(one));
		l = strlen(one) + 1;
		if (iov[1].iov_len + l > sizeof(buf)) {
			errno = E2BIG;
			return -1;
		}
		memcpy(buf + iov[1].iov_len, one, l);
		iov[1].iov_len += l;
	}
	return xs_talk_ok(xs, XS_SET_PERMS, tx, iov, 2);
}

/* XS_WATCH; the initial event arrives through xs_read_watch. Remembered for a reconnect. */
int
xs_watch(struct xs *xs, const char *path, const char *token)
{
	struct iovec iov[2] = { xs_iov_str(path), xs_iov_str(token) };
	struct xs_watchrec *w;

	if (xs_talk_ok(xs, XS_WATCH, 0, iov, 2) < 0)
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->path = xstrdup(path);
	w->token = xstrdup(token);
	w->next = xs->watches;
	xs->watches = w;
	return 0;
}

/* Forgets the remembered watches matching path and token (all with NULL). */
static void
xs_forget_watches(struct xs *xs, const char *path, const char *token)
{
	struct xs_watchrec **pp = &xs->watches, *w;

	while ((w = *pp) != NULL) {
		if (path == NULL || (strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0)) {
			*pp = w->next;
			free(w->path);
			free(w->token);
			free(w);
		} else
			pp = &w->next;
	}
}

/* XS_UNWATCH. */
int
xs_unwatch(struct xs *xs, const char *path, const char *token)
{
	struct iovec iov[2] = { xs_iov_str(path), xs_iov_str(token) };

	xs_forget_watches(xs, path, token);
	return xs_talk_ok(xs, XS_UNWATCH, 0, iov, 2);
}

/* Pops the first queued event. */
static char **
xs_pop_event(struct xs *xs, unsigned *num)
{
	struct xs_event *e = xs->ev_head;
	char **vec;

	if (e == NULL)
		return NULL;
	xs->ev_head = e->next;
	if (xs->ev_head == NULL)
		xs->ev_tail = &xs->ev_head;
	vec = e->vec;
	free(e);
	if (num)
		*num = 2;
	return vec;
}

/* Blocks for the next watch event. */
char **
xs_read_watch(struct xs *xs, unsigned *num)
{
	char **vec, *body;

	while ((vec = xs_pop_event(xs, num)) == NULL) {
		struct xsd_sockmsg hdr;

		xs->lost = false;
		if (xs_recv(xs, &hdr, &body) < 0) {
			if (xs->lost && xs_reconnect(xs) == 0)
				continue;
			return NULL;
		}
		if (hdr.type == XS_WATCH_EVENT)
			xs_queue_event(xs, body, hdr.len);
		free(body);
	}
	return vec;
}

/* A queued or already readable watch event, without blocking. */
char **
xs_check_watch(struct xs *xs)
{
	char **vec = xs_pop_event(xs, NULL);
	char peek;
	ssize_t n;

	if (vec)
		return vec;
	n = recv(xs->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && xs_gone_errno(errno))) {
		/* the daemon went: back with the watches' fresh events, or EPIPE */
		if (xs_reconnect(xs) < 0)
			return NULL;
		if ((vec = xs_pop_event(xs, NULL)) == NULL)
			errno = EAGAIN;
		return vec;
	}
	if (n < 0)
		return NULL;
	return xs_read_watch(xs, NULL);
}

/* XS_TRANSACTION_START; the caller gets a handle that outlives a reconnect as a stale one. */
int
xs_transaction_start(struct xs *xs, xs_tx_t *tx)
{
	struct iovec iov = { "", 1 };
	char *r = xs_talk(xs, XS_TRANSACTION_START, 0, &iov, 1, NULL);
	struct xs_txrec *t;

	if (r == NULL)
		return -1;
	xs->tx = xreallocarray(xs->tx, xs->ntx + 1, sizeof(*xs->tx));
	t = &xs->tx[xs->ntx++];
	t->id = strtoul(r, NULL, 10);
	t->epoch = xs->epoch;
	do
		t->handle = XS_TXH_BIT | (++xs->next_txh & ~XS_TXH_BIT);
	while (t->handle == XS_TXH_BIT);
	free(r);
	*tx = t->handle;
	return 0;
}

/* XS_TRANSACTION_END: commit, or abort when abort is true. A transaction of a
 * lost connection commits nothing: EAGAIN, or 0 for an abort. */
int
xs_transaction_end(struct xs *xs, xs_tx_t tx, bool abort)
{
	struct iovec iov = xs_iov_str(abort ? "F" : "T");
	struct xs_txrec *t = xs_tx_find(xs, tx);
	int rc = xs_talk_ok(xs, XS_TRANSACTION_END, tx, &iov, 1);

	if (t) {
		int e = errno;

		*t = xs->tx[--xs->ntx];
		errno = e;
		if (rc < 0 && abort && errno == EAGAIN)
			rc = 0;
	}
	return rc;
}

/* Requests whose arguments are all decimal numbers. */
static char *
xs_talk_nums(struct xs *xs, uint32_t type, unsigned n, const uint64_t *v, size_t *rlen)
{
	char bufs[3][24];
	struct iovec iov[3];
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "%llu", (unsigned long long)v[i]);
		iov[i] = xs_iov_str(bufs[i]);
	}
	return xs_talk(xs, type, 0, iov, n, rlen);
}

/* Same, for an "OK" reply. */
static int
xs_talk_nums_ok(struct xs *xs, uint32_t type, unsigned n, const uint64_t *v)
{
	char *r = xs_talk_nums(xs, type, n, v, NULL);

	if (r == NULL)
		return -1;
	free(r);
	return 0;
}

/* XS_INTRODUCE. */
int
xs_introduce_domain(struct xs *xs, uint32_t domid, uint64_t mfn, uint32_t port)
{
	uint64_t v[3] = { domid, mfn, port };

	return xs_talk_nums_ok(xs, XS_INTRODUCE, 3, v);
}

/* XS_RELEASE. */
int
xs_release_domain(struct xs *xs, uint32_t domid)
{
	uint64_t v = domid;

	return xs_talk_nums_ok(xs, XS_RELEASE, 1, &v);
}

/* XS_RESUME. */
int
xs_resume_domain(struct xs *xs, uint32_t domid)
{
	uint64_t v = domid;

	return xs_talk_nums_ok(xs, XS_RESUME, 1, &v);
}

/* XS_IS_DOMAIN_INTRODUCED: 1 or 0. */
int
xs_is_domain_introduced(struct xs *xs, uint32_t domid)
{
	uint64_t v = domid;
	char *r = xs_talk_nums(xs, XS_IS_DOMAIN_INTRODUCED, 1, &v, NULL);
	int rc;

	if (r == NULL)
		return -1;
	rc = strcmp(r, "T") == 0;
	free(r);
	return rc;
}

/* XS_GET_DOMAIN_PATH. */
char *
xs_get_domain_path(struct xs *xs, uint32_t domid)
{
	uint64_t v = domid;

	return xs_talk_nums(xs, XS_GET_DOMAIN_PATH, 1, &v, NULL);
}

/* XS_SET_TARGET. */
int
xs_set_target(struct xs *xs, uint32_t domid, uint32_t target)
{
	uint64_t v[2] = { domid, target };

	return xs_talk_nums_ok(xs, XS_SET_TARGET, 2, v);
}

/* XS_RESET_WATCHES. */
int
xs_reset_watches(struct xs *xs)
{
	struct iovec iov = { "", 1 };

	xs_forget_watches(xs, NULL, NULL);
	return xs_talk_ok(xs, XS_RESET_WATCHES, 0, &iov, 1);
}

/* XS_CONTROL with up to 16 arguments; the reply text. */
char *
xs_control(struct xs *xs, const char *const *argv, unsigned argc)
{
	struct iovec iov[16];
	unsigned i;

	if (argc > 16 || argc == 0) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < argc; i++)
		iov[i] = xs_iov_str(argv[i]);
	return xs_talk(xs, XS_CONTROL, 0, iov, argc, NULL);
}
