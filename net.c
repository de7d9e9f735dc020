/*
 * net.c - the peer-to-peer network: connections, the wire format, the
 * handshake, the address book, limits and defences, and the control socket.
 *
 * node.c's loop asks net_pollfds() which descriptors to watch, calls poll()
 * with net_timeout_ms(), then hands the results to net_events() and runs
 * net_tick() for the timers.  Bytes from a peer collect in its receive
 * buffer until frame_parse() finds a whole frame; the frame's command picks
 * a handler from a table.  A peer that breaks the protocol is dropped and
 * its address banned.  Outbound peers are drawn at random from the address
 * book, at most one per network group, so no one operator can surround a
 * node.  Start reading at net_events().
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

#define PROTOCOL      1           /* our protocol version */
#define MAX_AGENT     256         /* bytes of user agent in version */
#define MAX_ADDR      1000        /* addresses in one addr, as Bitcoin */
#define SEND_CAP      (16u << 20) /* unsent bytes before a peer is dropped */
#define READ_CHUNK    65536       /* bytes read from a socket at once */
#define MAX_PER_IP    4           /* connections from one address */
#define BOOK_BUCKETS  64          /* address book: buckets of ...*/
#define BUCKET_SIZE   64          /* ...this many addresses each */
#define ADDR_RATE     0.1         /* addresses a peer may send per second,
                                     with a burst of MAX_ADDR, as Bitcoin */
#define RELAY_FRESH   600         /* seconds an address counts as fresh */
#define SAVE_EVERY    (15 * 60)   /* seconds between saves of peers.dat */
#define RETRY_BASE    10          /* seconds before retrying a failed
                                     address; doubles per failure... */
#define RETRY_MAX     3600        /* ...up to this */
#define MAX_CONTROL   8           /* control connections at once */
#define PROTECT_GROUP 4           /* inbound peers eviction spares: distinct
                                     groups, as Bitcoin */
#define PROTECT_PING  8           /* ...lowest ping */
#define PROTECT_RELAY 4           /* ...most recent useful relay */
#define HOT_MS        5000        /* a peer silent this long goes cold: */
#define COLD_MS       10          /* cold peers are polled this often, not on
                                     every wake-up: poll() costs the kernel a
                                     pass over every descriptor it is given */

/* What the book knows of an address. */
struct entry {
	struct naddr a;
	int64_t seen;            /* wall time it was last heard of */
	int64_t tried_at;        /* monotonic seconds of our last attempt */
	int attempts;            /* failures since the last success */
	int tried;               /* 1: we once completed a handshake with it */
	int bucket;
};

/* A byte queue: data[off, len) waits; room for cap. */
struct buf {
	uint8_t *data;
	size_t off, len, cap;
};

/* One connection.  The fields every wake-up reads come first: one cache
 * line a peer when there are a thousand. */
struct peer {
	struct peer *next;
	int fd;
	int outbound, connecting, handshaked;
	struct buf out, in;      /* unsent output; unparsed input */
	int64_t last_recv;       /* monotonic ms */
	struct naddr a;          /* the far end (for inbound: its source) */
	int got_version, got_verack;
	int asked_addr;          /* it sent getaddr: answered once only */
	int64_t since, ping_at, last_relay; /* monotonic ms */
	uint64_t ping_nonce;     /* 0: no ping out */
	int64_t min_ping;        /* ms; -1 until measured */
	uint16_t listen_port;    /* from its version */
	uint32_t height;         /* from its version */
	char agent[MAX_AGENT + 1];
	double tokens;           /* addresses it may still send */
	int64_t tokens_at;
	struct gpeer *gp;        /* gossip's side of it, once handshaked */
};

/* A control connection: one command line in, the answer out, closed. */
struct ctl {
	int fd;
	char line[512];
	size_t len;
};

/* Messages and bytes of one command, each way. */
struct count {
	char cmd[13];
	unsigned long in, in_bytes, out, out_bytes;
};

struct net {
	struct net_opts o;
	struct chain *chain;
	int listen_fd, ctl_fd;
	struct naddr self;       /* where we listen (port 0: nowhere) */
	struct peer *peers;
	int nin, nout;
	struct ctl ctl[MAX_CONTROL];
	struct peer **who;       /* the peer of each pollfd slot */
	struct naddr *fixed;     /* connect-only mode: the peers to keep */
	int64_t *fixed_at;       /* when each was last dialled */
	struct entry *book;      /* the address book... */
	size_t nbook;
	struct map where;        /* ...and an index: naddr -> entry + 1 */
	uint8_t secret[32];      /* picks buckets; nobody else knows it */
	struct map bans;         /* ip[16] -> int64_t wall-clock end */
	uint64_t nonce;          /* in our version: spots self-connections */
	struct count counts[32];
	int ncounts;
	int64_t saved_at;
	int64_t cold_at;         /* when cold peers were last polled */
	int any_cold;            /* some peer is cold */
	int dropped;             /* a peer was dropped: sweep */
	int64_t timers_at;       /* when the per-peer timers last ran */
	int stop;
	struct gossip *g;        /* takes the messages net.c does not */
	void (*ctl_more)(void *arg, FILE *f, char **word); /* and the */
	void *ctl_arg;           /* control commands */
};

static int log_level = LOG_INFO;
static uint8_t scratch[READ_CHUNK]; /* every read lands here first: only
                                       the pages it touches are resident */

/* ==== Logging and time ==== */

/* Set which events are logged: LOG_DEBUG (-v), LOG_INFO, LOG_WARN (-q). */
void net_log_level(int level)
{
	log_level = level;
}

/* Log one event as a line on stderr: UTC time, level, message. */
void net_log(int level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char when[32];
	time_t t = time(NULL);
	va_list ap;

	if (level < log_level)
		return;
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(stderr, "%s %s ", when, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Milliseconds on a clock that never jumps. */
int64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A random 64-bit number from /dev/urandom (the clock if that fails). */
static uint64_t random64(void)
{
	uint8_t b[8];
	int fd = open("/dev/urandom", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof b)
		return (uint64_t)net_now_ms() * 0x9e3779b97f4a7c15ULL ^
		       (uint64_t)getpid();
	return get64le(b);
}

/* ==== Addresses ==== */

/* Is a an IPv4 address (mapped)? */
static int is_v4(const struct naddr *a)
{
	static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	                                 0xff };

	return memcmp(a->ip, pre, 12) == 0;
}

/* The network group: an IPv4 address's /16 (loopback too), an IPv6
 * address's /32.  Written into g[5]: a family byte and 4 bytes. */
void net_group(const struct naddr *a, uint8_t g[5])
{
	memset(g, 0, 5);
	g[0] = is_v4(a) ? 4 : 6;
	memcpy(g + 1, is_v4(a) ? a->ip + 12 : a->ip, is_v4(a) ? 2 : 4);
}

/* "1.2.3.4:5" or "[::1]:5" for logs (a static buffer). */
static const char *show(const struct naddr *a)
{
	static char buf[64];
	char ip[INET6_ADDRSTRLEN];

	if (is_v4(a))
		inet_ntop(AF_INET, a->ip + 12, ip, sizeof ip);
	else
		inet_ntop(AF_INET6, a->ip, ip, sizeof ip);
	snprintf(buf, sizeof buf, is_v4(a) ? "%s:%u" : "[%s]:%u", ip,
	         (unsigned)a->port);
	return buf;
}

/* A socket address into an naddr. */
static void from_sockaddr(struct naddr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof *a);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;

		a->ip[10] = a->ip[11] = 0xff;
		memcpy(a->ip + 12, &s->sin_addr, 4);
		a->port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;

		memcpy(a->ip, &s->sin6_addr, 16);
		a->port = ntohs(s->sin6_port);
	}
}

/* An naddr into a socket address; returns its length. */
static socklen_t to_sockaddr(const struct naddr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (is_v4(a)) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, a->ip + 12, 4);
		s->sin_port = htons(a->port);
		return sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a->ip, 16);
		s->sin6_port = htons(a->port);
		return sizeof *s;
	}
}

/* Resolve "host:port" or "[v6]:port" (getaddrinfo: names work too).
 * Returns 0, or -1 with err set. */
int net_resolve(const char *text, struct naddr *a, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(text, ':');
	struct addrinfo hints, *res;
	size_t n;
	int r;

	if (!colon || colon == text || strlen(colon + 1) == 0 ||
	    (n = (size_t)(colon - text)) >= sizeof host) {
		snprintf(err, errlen, "'%s' is not HOST:PORT", text);
		return -1;
	}
	memcpy(host, text, n);
	host[n] = 0;
	if (host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", text, gai_strerror(r));
		return -1;
	}
	from_sockaddr(a, res->ai_addr);
	freeaddrinfo(res);
	return 0;
}

/* Read an IP address alone ("1.2.3.4", "::1") into a; returns 0 or -1. */
static int parse_ip(const char *s, struct naddr *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->ip + 12) == 1) {
		a->ip[10] = a->ip[11] = 0xff;
		return 0;
	}
	return inet_pton(AF_INET6, s, a->ip) == 1 ? 0 : -1;
}

/* ==== Frames ==== */

/* Write a frame around payload into out (room for FRAME_HEAD + len):
 * magic | command, NUL-padded to 12 | u32 length | u32 CRC-32 of the
 * payload | payload.  (Bitcoin puts double SHA-256 there: twice the
 * hashing of a block again for a mere checksum, which made sync slower
 * than a reindex; a CRC catches transport damage as well.) */
size_t frame_write(uint8_t *out, const uint8_t magic[4], const char *cmd,
                   const uint8_t *payload, size_t len)
{
	memcpy(out, magic, 4);
	memset(out + 4, 0, FRAME_CMD);
	memcpy(out + 4, cmd, strlen(cmd));
	put32le(out + 16, (uint32_t)len);
	put32le(out + 20, crc32(payload, len));
	if (len)
		memcpy(out + FRAME_HEAD, payload, len);
	return FRAME_HEAD + len;
}

/* Find one frame at the start of (buf, len).  Returns the bytes it takes
 * (with *cmd, *payload, *plen set), 0 if more bytes are needed, or -1 with
 * *why: wrong magic, a bad command, a length over MAX_PAYLOAD (known from
 * the head alone, before anything is allocated), a bad checksum. */
long frame_parse(const uint8_t *buf, size_t len, const uint8_t magic[4],
                 char cmd[FRAME_CMD + 1], const uint8_t **payload,
                 size_t *plen, const char **why)
{
	size_t i, n;

	*why = "wrong magic";
	if (memcmp(buf, magic, len < 4 ? len : 4) != 0)
		return -1;
	if (len < FRAME_HEAD)
		return 0;
	*why = "bad command";
	for (i = 0; i < FRAME_CMD && buf[4 + i] >= 'a' && buf[4 + i] <= 'z'; i++)
		cmd[i] = (char)buf[4 + i];
	for (n = i, cmd[n] = 0; i < FRAME_CMD; i++)
		if (buf[4 + i] != 0)
			return -1;
	if (n == 0)
		return -1;
	*why = "oversized frame";
	if ((*plen = get32le(buf + 16)) > MAX_PAYLOAD)
		return -1;
	if (len < FRAME_HEAD + *plen)
		return 0;
	*why = "bad checksum";
	if (crc32(buf + FRAME_HEAD, *plen) != get32le(buf + 20))
		return -1;
	*payload = buf + FRAME_HEAD;
	return (long)(FRAME_HEAD + *plen);
}

/* ==== The address book ==== */

#define ENTRY_REC  (16 + 2 + 8 + 4 + 1)   /* one address in peers.dat */
#define BOOK_MAX   (BOOK_BUCKETS * BUCKET_SIZE)

/* The 18-byte key of an address: ip | u16 port. */
static void addr_key(const struct naddr *a, uint8_t key[18])
{
	memcpy(key, a->ip, 16);
	put16le(key + 16, a->port);
}

/* The bucket of an address: picked by its group through our secret, so a
 * group fills one bucket at most and nobody outside knows which. */
static int bucket_of(const struct net *n, const struct naddr *a)
{
	uint8_t buf[32 + 5], h[SHA256_LEN];

	memcpy(buf, n->secret, 32);
	net_group(a, buf + 32);
	sha256(buf, sizeof buf, h);
	return (int)(get32le(h) % BOOK_BUCKETS);
}

/* The book's entry for an address, or NULL. */
static struct entry *book_find(const struct net *n, const struct naddr *a)
{
	uint8_t key[18];

	addr_key(a, key);
	return map_get(&n->where, key);
}

/* Drop entry i from the book. */
static void book_drop(struct net *n, size_t i)
{
	uint8_t key[18];

	addr_key(&n->book[i].a, key);
	map_del(&n->where, key);
	n->book[i] = n->book[--n->nbook];
	if (i < n->nbook) {
		addr_key(&n->book[i].a, key);
		map_del(&n->where, key);
		map_put(&n->where, key, &n->book[i]);
	}
}

/* Learn of an address heard of at wall time seen.  A full bucket makes
 * room by dropping its oldest address never tried; if all were tried the
 * newcomer is not kept.  Returns 1 if the address is new to the book. */
static int book_add(struct net *n, const struct naddr *a, int64_t seen)
{
	static const uint8_t zero[16];
	struct entry *e = book_find(n, a);
	size_t i, worst = n->nbook, count = 0;
	uint8_t key[18];
	int b = bucket_of(n, a);

	if (e || a->port == 0 || memcmp(a->ip, zero, 16) == 0 ||
	    (is_v4(a) && get32le(a->ip + 12) == 0) ||
	    memcmp(a, &n->self, sizeof *a) == 0) {
		if (e && seen > e->seen)
			e->seen = seen;
		return 0;
	}
	for (i = 0; i < n->nbook; i++) {
		if (n->book[i].bucket != b)
			continue;
		count++;
		if (!n->book[i].tried && (worst == n->nbook ||
		                          n->book[i].seen < n->book[worst].seen))
			worst = i;
	}
	if (count >= BUCKET_SIZE) {
		if (worst == n->nbook)
			return 0;
		book_drop(n, worst);
	}
	e = &n->book[n->nbook++];
	memset(e, 0, sizeof *e);
	e->a = *a;
	e->seen = seen;
	e->bucket = b;
	addr_key(a, key);
	map_put(&n->where, key, e);
	return 1;
}

/* Write the book to peers.dat: "PCAB" | secret | u32 count | count x
 * (ip[16] | u16 port | i64 seen | u32 failures | u8 tried), atomically. */
static void book_save(struct net *n)
{
	size_t i, k = 40, len = 40 + n->nbook * ENTRY_REC;
	uint8_t *buf = xmalloc(len);
	char path[4096];

	memcpy(buf, "PCAB", 4);
	memcpy(buf + 4, n->secret, 32);
	put32le(buf + 36, (uint32_t)n->nbook);
	for (i = 0; i < n->nbook; i++, k += ENTRY_REC) {
		memcpy(buf + k, n->book[i].a.ip, 16);
		put16le(buf + k + 16, n->book[i].a.port);
		put64le(buf + k + 18, (uint64_t)n->book[i].seen);
		put32le(buf + k + 26, (uint32_t)n->book[i].attempts);
		buf[k + 30] = (uint8_t)n->book[i].tried;
	}
	snprintf(path, sizeof path, "%s/peers.dat", n->o.dir);
	if (file_replace(path, buf, len) != 0)
		net_log(LOG_WARN, "cannot write %s", path);
	free(buf);
	n->saved_at = net_now_ms();
}

/* Read peers.dat if there is a sound one; else make a new secret. */
static void book_load(struct net *n)
{
	char path[4096];
	size_t len, i, k = 40, count;
	uint8_t *buf;
	struct naddr a;
	struct entry *e;

	snprintf(path, sizeof path, "%s/peers.dat", n->o.dir);
	buf = file_read(path, 40 + (size_t)BOOK_MAX * ENTRY_REC, &len);
	if (!buf || len < 40 || memcmp(buf, "PCAB", 4) != 0 ||
	    (count = get32le(buf + 36)) > BOOK_MAX ||
	    len != 40 + count * ENTRY_REC) {
		if (buf)
			net_log(LOG_WARN, "%s is damaged: starting afresh", path);
		put64le(n->secret, random64());
		put64le(n->secret + 8, random64());
		free(buf);
		return;
	}
	memcpy(n->secret, buf + 4, 32);
	for (i = 0; i < count; i++, k += ENTRY_REC) {
		memcpy(a.ip, buf + k, 16);
		a.port = get16le(buf + k + 16);
		if (book_add(n, &a, (int64_t)get64le(buf + k + 18)) &&
		    (e = book_find(n, &a))) {
			e->attempts = (int)get32le(buf + k + 26);
			e->tried = buf[k + 30] != 0;
		}
	}
	free(buf);
	net_log(LOG_INFO, "address book: %lu addresses from %s",
	        (unsigned long)n->nbook, path);
}

/* ==== Bans ==== */

/* Is this address banned now? */
static int banned(const struct net *n, const struct naddr *a)
{
	const int64_t *until = map_get(&n->bans, a->ip);

	return until && *until > (int64_t)time(NULL);
}

/* Write bans.dat: "PCBN" | u32 count | count x (ip[16] | i64 end). */
static void bans_save(const struct net *n)
{
	size_t k = 8, len = 8 + n->bans.n * 24, i;
	uint8_t *buf = xmalloc(len);
	struct ment *e;
	char path[4096];

	memcpy(buf, "PCBN", 4);
	put32le(buf + 4, (uint32_t)n->bans.n);
	for (i = 0; i < n->bans.nb; i++)
		for (e = n->bans.b[i]; e; e = e->next, k += 24) {
			memcpy(buf + k, e->key, 16);
			put64le(buf + k + 16, (uint64_t)*(int64_t *)e->val);
		}
	snprintf(path, sizeof path, "%s/bans.dat", n->o.dir);
	if (file_replace(path, buf, len) != 0)
		net_log(LOG_WARN, "cannot write %s", path);
	free(buf);
}

/* Ban an IP until wall time `until` (0 lifts the ban), and save. */
static void ban_set(struct net *n, const uint8_t ip[16], int64_t until)
{
	int64_t *v = map_del(&n->bans, ip);

	free(v);
	if (until > 0) {
		v = xmalloc(sizeof *v);
		*v = until;
		map_put(&n->bans, ip, v);
	}
	bans_save(n);
}

/* Read bans.dat, keeping the bans still running. */
static void bans_load(struct net *n)
{
	char path[4096];
	size_t len, i;
	uint8_t *buf;
	int64_t *v;

	snprintf(path, sizeof path, "%s/bans.dat", n->o.dir);
	if (!(buf = file_read(path, 8 + 24 * 100000, &len)))
		return;
	if (len >= 8 && memcmp(buf, "PCBN", 4) == 0 &&
	    len == 8 + 24 * (size_t)get32le(buf + 4)) {
		for (i = 8; i < len; i += 24) {
			if ((int64_t)get64le(buf + i + 16) <= (int64_t)time(NULL) ||
			    map_get(&n->bans, buf + i))
				continue;
			v = xmalloc(sizeof *v);
			*v = (int64_t)get64le(buf + i + 16);
			map_put(&n->bans, buf + i, v);
		}
	}
	free(buf);
}

/* ==== Peers: sending and counting ==== */

/* Bytes waiting in a queue. */
static size_t buf_size(const struct buf *b)
{
	return b->len - b->off;
}

/* Room for n more bytes at the end of a queue: slide what waits to the
 * front, or double the capacity.  Returns where to write. */
static uint8_t *buf_room(struct buf *b, size_t n)
{
	if (b->off && b->len + n > b->cap) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		b->cap = b->len + n > 2 * b->cap ? b->len + n : 2 * b->cap;
		if (!(b->data = realloc(b->data, b->cap)))
			abort();
	}
	return b->data + b->len;
}

/* Drop n bytes from the front; an empty queue gives its memory back, so
 * an idle peer holds no buffers. */
static void buf_take(struct buf *b, size_t n)
{
	if ((b->off += n) == b->len) {
		free(b->data);
		memset(b, 0, sizeof *b);
	}
}

/* The counter of a command, made on first use. */
static struct count *counter(struct net *n, const char *cmd)
{
	int i;

	for (i = 0; i < n->ncounts; i++)
		if (strcmp(n->counts[i].cmd, cmd) == 0)
			return &n->counts[i];
	if (n->ncounts == (int)(sizeof n->counts / sizeof n->counts[0]))
		return &n->counts[n->ncounts - 1];   /* (shared overflow slot) */
	memset(&n->counts[n->ncounts], 0, sizeof n->counts[0]);
	snprintf(n->counts[n->ncounts].cmd, sizeof n->counts[0].cmd, "%s", cmd);
	return &n->counts[n->ncounts++];
}

/* Mark a peer for closing: its fd goes, the next sweep frees it. */
static void drop(struct net *n, struct peer *p, const char *why)
{
	if (p->fd < 0)
		return;
	net_log(LOG_INFO, "peer %s %s dropped: %s", show(&p->a),
	        p->outbound ? "(out)" : "(in)", why);
	close(p->fd);
	p->fd = -1;
	n->dropped = 1;
}

/* Drop a peer that broke the protocol and ban its address. */
static void violation(struct net *n, struct peer *p, const char *why)
{
	net_log(LOG_WARN, "ban %s for %lld s: %s", show(&p->a),
	        (long long)n->o.ban_s, why);
	ban_set(n, p->a.ip, (int64_t)time(NULL) + n->o.ban_s);
	drop(n, p, why);
}

/* Write what the socket takes of the send buffer. */
static void flush(struct net *n, struct peer *p)
{
	ssize_t k;

	while (p->fd >= 0 && buf_size(&p->out) > 0 && !p->connecting) {
		k = write(p->fd, p->out.data + p->out.off, buf_size(&p->out));
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		              errno == EINTR))
			return;
		if (k <= 0) {
			drop(n, p, k < 0 ? strerror(errno) : "write failed");
			return;
		}
		buf_take(&p->out, (size_t)k);
	}
}

/* Queue a message for a peer and try to send it.  A peer that lets more
 * than SEND_CAP bytes pile up is dropped. */
void net_send(struct net *n, struct peer *p, const char *cmd,
              const uint8_t *payload, size_t len)
{
	struct count *c = counter(n, cmd);

	if (p->fd < 0)
		return;
	if (buf_size(&p->out) + FRAME_HEAD + len > SEND_CAP) {
		drop(n, p, "send buffer full");
		return;
	}
	p->out.len += frame_write(buf_room(&p->out, FRAME_HEAD + len),
	                          n->o.p->magic, cmd, payload, len);
	c->out++;
	c->out_bytes += FRAME_HEAD + len;
	flush(n, p);
}

/* Send our version: protocol, services, time, nonce, listening port, best
 * height, user agent. */
static void send_version(struct net *n, struct peer *p)
{
	uint8_t b[4 + 8 + 8 + 8 + 2 + 4 + 2 + sizeof PEERCHAIN_AGENT];
	size_t alen = strlen(PEERCHAIN_AGENT);

	put32le(b, PROTOCOL);
	put64le(b + 4, SERVICE_FULL);
	put64le(b + 12, (uint64_t)time(NULL));
	put64le(b + 20, n->nonce);
	put16le(b + 28, n->self.port);
	put32le(b + 30, n->chain ? chain_height(n->chain) : 0);
	put16le(b + 34, (uint16_t)alen);
	memcpy(b + 36, PEERCHAIN_AGENT, alen);
	net_send(n, p, "version", b, 36 + alen);
}

/* Write one address as addr carries it: ip[16] | u16 port | i64 time. */
static void put_addr(uint8_t *b, const struct naddr *a, int64_t seen)
{
	memcpy(b, a->ip, 16);
	put16le(b + 16, a->port);
	put64le(b + 18, (uint64_t)seen);
}

/* Send an addr holding the given book entries (at most MAX_ADDR). */
static void send_addrs(struct net *n, struct peer *p, struct entry **e,
                       size_t count)
{
	uint8_t *b = xmalloc(2 + count * ADDR_REC);
	size_t i;

	put16le(b, (uint16_t)count);
	for (i = 0; i < count; i++)
		put_addr(b + 2 + i * ADDR_REC, &e[i]->a, e[i]->seen);
	net_send(n, p, "addr", b, 2 + count * ADDR_REC);
	free(b);
}

/* Tell a peer where we listen, as an addr of one. */
static void advertise(struct net *n, struct peer *p)
{
	uint8_t b[2 + ADDR_REC];

	if (!n->self.port)
		return;
	put16le(b, 1);
	put_addr(b + 2, &n->self, (int64_t)time(NULL));
	net_send(n, p, "addr", b, sizeof b);
}

/* ==== Message handlers ==== */

/* version: check it, spot a connection to ourselves, answer verack.
 * Returns NULL, or the violation. */
static const char *on_version(struct net *n, struct peer *p,
                              const uint8_t *b, size_t len)
{
	size_t alen;

	if (p->got_version)
		return "second version";
	if (len < 36 || (alen = get16le(b + 34)) > MAX_AGENT || len != 36 + alen)
		return "malformed version";
	if (get64le(b + 20) == n->nonce) {
		drop(n, p, "connected to ourselves");
		return NULL;
	}
	p->got_version = 1;
	p->listen_port = get16le(b + 28);
	p->height = get32le(b + 30);
	memcpy(p->agent, b + 36, alen);
	p->agent[alen] = 0;
	if (!p->outbound)
		send_version(n, p);
	net_send(n, p, "verack", NULL, 0);
	return NULL;
}

/* verack: the handshake is complete once both sides have spoken. */
static const char *on_verack(struct net *n, struct peer *p,
                             const uint8_t *b, size_t len)
{
	struct naddr heard;

	(void)b;
	if (len || !p->got_version || p->got_verack)
		return "unexpected verack";
	p->got_verack = p->handshaked = 1;
	net_log(LOG_INFO, "peer %s %s: handshake done, height %u, %s",
	        show(&p->a), p->outbound ? "(out)" : "(in)",
	        (unsigned)p->height, p->agent);
	if (n->g)
		p->gp = gossip_peer_new(n->g, p, p->outbound, p->height);
	if (p->outbound) {
		struct entry *e = book_find(n, &p->a);

		if (e) {
			e->tried = 1;
			e->attempts = 0;
			e->seen = (int64_t)time(NULL);
		}
		net_send(n, p, "getaddr", NULL, 0);
		advertise(n, p);
	} else if (p->listen_port) {
		heard = p->a;
		heard.port = p->listen_port;
		book_add(n, &heard, (int64_t)time(NULL));
	}
	return NULL;
}

/* ping: answer pong with the same nonce. */
static const char *on_ping(struct net *n, struct peer *p, const uint8_t *b,
                           size_t len)
{
	if (len != 8)
		return "malformed ping";
	net_send(n, p, "pong", b, 8);
	return NULL;
}

/* pong: the round trip of our ping. */
static const char *on_pong(struct net *n, struct peer *p, const uint8_t *b,
                           size_t len)
{
	int64_t rtt = net_now_ms() - p->ping_at;

	(void)n;
	if (len != 8)
		return "malformed pong";
	if (p->ping_nonce && get64le(b) == p->ping_nonce) {
		p->ping_nonce = 0;
		if (p->min_ping < 0 || rtt < p->min_ping)
			p->min_ping = rtt;
	}
	return NULL;
}

/* getaddr: a random sample of the addresses not known to fail. */
static const char *on_getaddr(struct net *n, struct peer *p,
                              const uint8_t *b, size_t len)
{
	struct entry **pick, *t;
	size_t i, k = 0, j;

	(void)b;
	if (len)
		return "malformed getaddr";
	if (p->asked_addr++)         /* once a connection, as Bitcoin */
		return NULL;
	pick = xcalloc(n->nbook + 1, sizeof *pick);
	for (i = 0; i < n->nbook; i++)
		if (n->book[i].attempts < 3)
			pick[k++] = &n->book[i];
	for (i = 0; i < k && i < MAX_ADDR; i++) {   /* partial shuffle */
		j = i + (size_t)(random64() % (k - i));
		t = pick[i];
		pick[i] = pick[j];
		pick[j] = t;
	}
	send_addrs(n, p, pick, k < MAX_ADDR ? k : MAX_ADDR);
	free(pick);
	return NULL;
}

/* Pass a freshly learned address on to two random peers but its source. */
static void relay_addr(struct net *n, struct peer *from, struct entry *e)
{
	struct peer *p, *pick[2] = { NULL, NULL };
	int seen = 0;

	for (p = n->peers; p; p = p->next) {
		if (p == from || p->fd < 0 || !p->handshaked)
			continue;
		seen++;                      /* reservoir sampling, 2 slots */
		if (seen <= 2)
			pick[seen - 1] = p;
		else if (random64() % (uint64_t)seen < 2)
			pick[random64() % 2] = p;
	}
	if (pick[0])
		send_addrs(n, pick[0], &e, 1);
	if (pick[1])
		send_addrs(n, pick[1], &e, 1);
}

/* addr: learn addresses, as fast as the peer's token bucket allows;
 * relay the fresh ones of a small announcement. */
static const char *on_addr(struct net *n, struct peer *p, const uint8_t *b,
                           size_t len)
{
	size_t count, i;
	int64_t now = net_now_ms(), wall = (int64_t)time(NULL), seen;
	struct naddr a;
	struct entry *e;

	if (len < 2 || (count = get16le(b)) > MAX_ADDR)
		return "addr with over 1000 addresses";
	if (len != 2 + count * ADDR_REC)
		return "malformed addr";
	p->tokens += (double)(now - p->tokens_at) / 1000 * ADDR_RATE;
	p->tokens = p->tokens > MAX_ADDR ? MAX_ADDR : p->tokens;
	p->tokens_at = now;
	for (i = 0; i < count && p->tokens >= 1; i++, p->tokens -= 1) {
		memcpy(a.ip, b + 2 + i * ADDR_REC, 16);
		a.port = get16le(b + 2 + i * ADDR_REC + 16);
		seen = (int64_t)get64le(b + 2 + i * ADDR_REC + 18);
		seen = seen > wall ? wall : seen;
		if (book_add(n, &a, seen) && count <= 10 &&
		    seen > wall - RELAY_FRESH && (e = book_find(n, &a)))
			relay_addr(n, p, e);
	}
	return NULL;
}

/* The handler of each command; `early` ones are allowed before the
 * handshake completes. */
static const struct handler {
	const char *cmd;
	const char *(*fn)(struct net *n, struct peer *p, const uint8_t *b,
	                  size_t len);
	int early;
} handlers[] = {
	{ "version", on_version, 1 },
	{ "verack", on_verack, 1 },
	{ "ping", on_ping, 0 },
	{ "pong", on_pong, 0 },
	{ "getaddr", on_getaddr, 0 },
	{ "addr", on_addr, 0 },
};

#define NHANDLERS (sizeof handlers / sizeof handlers[0])

/* Handle one message: ours, or gossip's.  Unknown commands are ignored
 * (as Bitcoin does), but nothing except version and verack may come
 * before the handshake. */
static void dispatch(struct net *n, struct peer *p, const char *cmd,
                     const uint8_t *b, size_t len)
{
	struct count *c = counter(n, cmd);
	const char *bad = NULL;
	size_t i;

	c->in++;
	c->in_bytes += FRAME_HEAD + len;
	for (i = 0; i < NHANDLERS && strcmp(cmd, handlers[i].cmd) != 0; i++)
		;
	if (!p->handshaked && (i == NHANDLERS || !handlers[i].early))
		bad = "message before the handshake";
	else if (i < NHANDLERS)
		bad = handlers[i].fn(n, p, b, len);
	else if (n->g && p->gp)
		bad = gossip_message(n->g, p->gp, cmd, b, len);
	if (bad)
		violation(n, p, bad);
}

/* Read what the socket has, then handle every whole frame. */
static void receive(struct net *n, struct peer *p)
{
	ssize_t k = read(p->fd, scratch, sizeof scratch);
	const uint8_t *payload;
	const char *why = "";
	char cmd[FRAME_CMD + 1];
	size_t plen, at = 0;
	long used = 0;

	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (k <= 0) {
		drop(n, p, k ? strerror(errno) : "closed by peer");
		return;
	}
	memcpy(buf_room(&p->in, (size_t)k), scratch, (size_t)k);
	p->in.len += (size_t)k;
	p->last_recv = net_now_ms();
	while (p->fd >= 0 && (used = frame_parse(p->in.data + p->in.off + at,
	                                         buf_size(&p->in) - at,
	                                         n->o.p->magic, cmd, &payload,
	                                         &plen, &why)) > 0) {
		dispatch(n, p, cmd, payload, plen);
		at += (size_t)used;
	}
	if (used < 0 && p->fd >= 0)
		violation(n, p, why);
	if (at)
		buf_take(&p->in, at);
}

/* ==== Connections ==== */

/* Make a socket non-blocking; returns 0 or -1. */
static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* A new peer on fd. */
static struct peer *add_peer(struct net *n, int fd, const struct naddr *a,
                             int outbound)
{
	struct peer *p = xcalloc(1, sizeof *p);

	p->fd = fd;
	p->a = *a;
	p->outbound = outbound;
	p->since = p->last_recv = p->tokens_at = net_now_ms();
	p->ping_at = p->since;
	p->min_ping = -1;
	p->tokens = MAX_ADDR;
	p->next = n->peers;
	n->peers = p;
	*(outbound ? &n->nout : &n->nin) += 1;
	return p;
}

/* Free the peers that were dropped. */
static void sweep(struct net *n)
{
	struct peer **pp = &n->peers, *p;

	if (!n->dropped)
		return;
	n->dropped = 0;
	while ((p = *pp)) {
		if (p->fd >= 0) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		*(p->outbound ? &n->nout : &n->nin) -= 1;
		if (p->gp)
			gossip_peer_gone(n->g, p->gp);
		free(p->in.data);
		free(p->out.data);
		free(p);
	}
}

/* Start connecting to a; returns 0, or -1 if the socket failed at once. */
static int dial(struct net *n, const struct naddr *a)
{
	struct sockaddr_storage ss, me;
	socklen_t len = to_sockaddr(a, &ss), mlen;
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	struct peer *p;

	if (fd < 0 || nonblock(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (n->self.port && is_v4(&n->self) == is_v4(a)) {
		struct naddr src = n->self;   /* leave from our own address, */

		src.port = 0;                 /* so the far end can tell us */
		mlen = to_sockaddr(&src, &me);
		if (bind(fd, (struct sockaddr *)&me, mlen) < 0)
			net_log(LOG_DEBUG, "cannot bind the source address");
	}
	p = add_peer(n, fd, a, 1);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		send_version(n, p);
	} else if (errno == EINPROGRESS) {
		p->connecting = 1;
	} else {
		drop(n, p, strerror(errno));
		return -1;
	}
	net_log(LOG_DEBUG, "connecting to %s", show(a));
	return 0;
}

/* Connect to "host:port" now (control socket, connect-only mode). */
static int net_connect(struct net *n, const char *text, char *err,
                       size_t errlen)
{
	struct naddr a;

	if (net_resolve(text, &a, err, errlen) != 0)
		return -1;
	if (banned(n, &a)) {
		snprintf(err, errlen, "%s is banned", show(&a));
		return -1;
	}
	book_add(n, &a, (int64_t)time(NULL));
	if (dial(n, &a) != 0) {
		snprintf(err, errlen, "cannot connect to %s", show(&a));
		return -1;
	}
	return 0;
}

/* Is a group already among our outbound peers? */
static int group_taken(const struct net *n, const struct naddr *a)
{
	uint8_t g[5], h[5];
	struct peer *p;

	net_group(a, g);
	for (p = n->peers; p; p = p->next) {
		net_group(&p->a, h);
		if (p->fd >= 0 && p->outbound && memcmp(g, h, 5) == 0)
			return 1;
	}
	return 0;
}

/* Do we have a connection to exactly this address?  (Like Bitcoin, a
 * peer connected to us inbound may still be dialled out.) */
static int connected(const struct net *n, const struct naddr *a)
{
	struct peer *p;

	for (p = n->peers; p; p = p->next)
		if (p->fd >= 0 && memcmp(&p->a, a, sizeof *a) == 0)
			return 1;
	return 0;
}

/* Open one more outbound connection: a random address of the book (tried
 * and new alike), not connected, not banned, not waiting out its backoff,
 * and of a group we have no outbound peer in. */
static void pick_outbound(struct net *n)
{
	int64_t now = net_now_ms() / 1000, wait;
	struct entry *e;
	int tries;

	for (tries = 0; tries < 100 && n->nbook > 0; tries++) {
		e = &n->book[random64() % n->nbook];
		wait = (int64_t)RETRY_BASE << (e->attempts < 9 ? e->attempts : 9);
		if (connected(n, &e->a) || banned(n, &e->a) ||
		    (e->tried_at && now - e->tried_at < (wait < RETRY_MAX ?
		                                          wait : RETRY_MAX)) ||
		    (!n->o.nogroups && group_taken(n, &e->a)))
			continue;
		e->tried_at = now;
		e->attempts++;          /* undone by a completed handshake */
		dial(n, &e->a);
		return;
	}
}

/* How many inbound peers are in a's network group. */
static int group_count(const struct net *n, const struct naddr *a)
{
	uint8_t g[5], h[5];
	struct peer *q;
	int cnt = 0;

	net_group(a, g);
	for (q = n->peers; q; q = q->next) {
		net_group(&q->a, h);
		cnt += q->fd >= 0 && !q->outbound && memcmp(g, h, 5) == 0;
	}
	return cnt;
}

/* Is inbound peer p (one of the k in v) spared from eviction?  Yes if it
 * is among the PROTECT_PING fastest, the PROTECT_RELAY that last relayed
 * something useful, or the PROTECT_GROUP oldest alone in their group. */
static int spared(const struct net *n, struct peer **v, int k,
                  const struct peer *p)
{
	int j, faster = 0, fresher = 0, older_alone = 0;

	for (j = 0; j < k; j++) {
		faster += v[j]->min_ping >= 0 && v[j]->min_ping < p->min_ping;
		fresher += v[j]->last_relay > p->last_relay;
		older_alone += v[j]->since < p->since &&
		               group_count(n, &v[j]->a) == 1;
	}
	return (p->min_ping >= 0 && faster < PROTECT_PING) ||
	       (p->last_relay && fresher < PROTECT_RELAY) ||
	       (group_count(n, &p->a) == 1 && older_alone < PROTECT_GROUP);
}

/* Choose an inbound peer to make room for a newcomer: of those not
 * spared, the youngest in the group holding most connections.  NULL if
 * all are spared. */
static struct peer *evict_choice(struct net *n)
{
	struct peer *p, *v[1024], *best = NULL;
	int k = 0, i, cnt, most = 0;

	for (p = n->peers; p && k < 1024; p = p->next)
		if (p->fd >= 0 && !p->outbound)
			v[k++] = p;
	for (i = 0; i < k; i++) {
		if (spared(n, v, k, v[i]))
			continue;
		cnt = group_count(n, &v[i]->a);
		if (!best || cnt > most || (cnt == most && v[i]->since > best->since)) {
			most = cnt;
			best = v[i];
		}
	}
	return best;
}

/* Accept an inbound connection: not from a banned address, at most
 * MAX_PER_IP from one address, and when inbound is full only by evicting
 * someone. */
static void accept_peer(struct net *n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = accept(n->listen_fd, (struct sockaddr *)&ss, &len), same = 0;
	struct peer *p, *out;
	struct naddr a;

	if (fd < 0)
		return;
	from_sockaddr(&a, (struct sockaddr *)&ss);
	for (p = n->peers; p; p = p->next)
		same += p->fd >= 0 && memcmp(p->a.ip, a.ip, 16) == 0;
	if (banned(n, &a) || same >= MAX_PER_IP || nonblock(fd) < 0) {
		net_log(LOG_DEBUG, "refused %s: %s", show(&a), banned(n, &a) ?
		        "banned" : "too many from one address");
		close(fd);
		return;
	}
	if (n->nin >= n->o.max_in) {
		if (!(out = evict_choice(n))) {
			close(fd);
			return;
		}
		drop(n, out, "evicted for a newcomer");
		sweep(n);
	}
	add_peer(n, fd, &a, 0);
	net_log(LOG_DEBUG, "accepted %s", show(&a));
}

/* An outbound socket became writable: did the connection succeed? */
static void connected_out(struct net *n, struct peer *p)
{
	int e = 0;
	socklen_t len = sizeof e;

	getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e) {
		drop(n, p, strerror(e));
		return;
	}
	p->connecting = 0;
	send_version(n, p);
}

/* ==== Timers ==== */

/* Keep connections alive and honest: drop those that do not finish their
 * handshake or go quiet, ping the rest, open outbound connections, save
 * the address book now and then. */
void net_tick(struct net *n)
{
	int64_t now = net_now_ms();
	struct peer *p;
	size_t i;
	uint8_t b[8];

	for (p = n->peers; now - n->timers_at >= 100 && p; p = p->next) {
		if (p->fd < 0)
			continue;
		if (!p->handshaked && now - p->since > n->o.handshake_s * 1000)
			drop(n, p, p->connecting ? "connect timeout" :
			     "handshake timeout");
		else if (now - p->last_recv > n->o.idle_s * 1000)
			drop(n, p, "no traffic");
		else if (p->handshaked && !p->ping_nonce &&
		         now - p->ping_at >= n->o.ping_s * 1000) {
			p->ping_nonce = random64() | 1;
			p->ping_at = now;
			put64le(b, p->ping_nonce);
			net_send(n, p, "ping", b, 8);
		}
	}
	sweep(n);
	if (now - n->timers_at < 100)
		return;             /* (the rest at most every 100 ms) */
	n->timers_at = now;
	for (i = 0; i < n->o.nconnect; i++)
		if (!connected(n, &n->fixed[i]) &&
		    now - n->fixed_at[i] > RETRY_BASE * 1000) {
			n->fixed_at[i] = now;
			dial(n, &n->fixed[i]);
		}
	if (!n->o.nconnect && n->nout < n->o.max_out)
		pick_outbound(n);
	if (now - n->saved_at > SAVE_EVERY * 1000)
		book_save(n);
}

/* How long poll() may sleep: until the next timer could fire. */
int net_timeout_ms(const struct net *n)
{
	int64_t t = n->o.ping_s * 1000, h = n->o.handshake_s * 1000;

	t = h < t ? h : t;
	if (n->nout < n->o.max_out)
		t = t < 200 ? t : 200;
	if (n->any_cold)
		t = t < COLD_MS ? t : COLD_MS;
	return (int)(t < 1000 ? t : 1000);
}

/* Hand gossip the messages net.c does not take, and more_fn the control
 * commands (its words end with a NULL). */
void net_attach(struct net *n, struct gossip *g,
                void (*more_fn)(void *arg, FILE *f, char **word), void *arg)
{
	n->g = g;
	n->ctl_more = more_fn;
	n->ctl_arg = arg;
}

/* The far end of a peer, for logs. */
const char *net_peer_name(const struct peer *p)
{
	return show(&p->a);
}

/* A peer just gave us something new and valid: eviction spares such. */
void net_relayed(struct peer *p)
{
	p->last_relay = net_now_ms();
}

/* Has the node been asked to stop? */
int net_stopping(const struct net *n)
{
	return n->stop;
}

/* ==== The control socket ==== */

/* `status`: the node in a few lines. */
static void ctl_status(struct net *n, FILE *f, char **arg)
{
	(void)arg;
	fprintf(f, "network %s\nheight %u\npeers %d in, %d out\naddresses %lu\n"
	        "bans %lu\nlisten %s\n", n->o.p->name,
	        n->chain ? (unsigned)chain_height(n->chain) : 0, n->nin, n->nout,
	        (unsigned long)n->nbook, (unsigned long)n->bans.n,
	        n->self.port ? show(&n->self) : "none");
}

/* `peers`: one line a connection. */
static void ctl_peers(struct net *n, FILE *f, char **arg)
{
	struct peer *p;

	(void)arg;
	for (p = n->peers; p; p = p->next)
		if (p->fd >= 0)
			fprintf(f, "%s %s %s height %u ping %lld listen %u %s\n",
			        show(&p->a), p->outbound ? "out" : "in",
			        p->handshaked ? "ready" : "handshake",
			        (unsigned)p->height, (long long)p->min_ping,
			        (unsigned)p->listen_port, p->agent);
}

/* `stats`: messages and bytes per command, each way. */
static void ctl_stats(struct net *n, FILE *f, char **arg)
{
	int i;

	(void)arg;
	for (i = 0; i < n->ncounts; i++)
		fprintf(f, "%s in %lu %lu out %lu %lu\n", n->counts[i].cmd,
		        n->counts[i].in, n->counts[i].in_bytes, n->counts[i].out,
		        n->counts[i].out_bytes);
	if (n->g)
		gossip_stats(n->g, f);
}

/* `connect HOST:PORT`. */
static void ctl_connect(struct net *n, FILE *f, char **arg)
{
	char err[256];

	if (net_connect(n, arg[0], err, sizeof err) == 0)
		fprintf(f, "ok\n");
	else
		fprintf(f, "error: %s\n", err);
}

/* `ban IP [SECONDS]` and `unban IP`. */
static void ctl_ban(struct net *n, FILE *f, char **arg)
{
	long secs = arg[1] ? strtol(arg[1], NULL, 10) : (long)n->o.ban_s;
	struct naddr a;
	struct peer *p;

	if (parse_ip(arg[0], &a) != 0 || secs < 0) {
		fprintf(f, "error: '%s' is not an IP address\n", arg[0]);
		return;
	}
	ban_set(n, a.ip, secs ? (int64_t)time(NULL) + secs : 0);
	net_log(LOG_WARN, "%s %s by the operator", secs ? "ban" : "unban",
	        arg[0]);
	for (p = n->peers; secs && p; p = p->next)
		if (memcmp(p->a.ip, a.ip, 16) == 0)
			drop(n, p, "banned by the operator");
	fprintf(f, "ok\n");
}

/* `unban IP`. */
static void ctl_unban(struct net *n, FILE *f, char **arg)
{
	char *two[2];

	two[0] = arg[0];
	two[1] = "0";
	ctl_ban(n, f, two);
}

/* `stop`. */
static void ctl_stop(struct net *n, FILE *f, char **arg)
{
	(void)arg;
	n->stop = 1;
	fprintf(f, "ok\n");
}

/* The control commands, with how many arguments each needs (and at most
 * one more). */
static const struct {
	const char *name;
	void (*fn)(struct net *n, FILE *f, char **arg);
	int args;
} controls[] = {
	{ "status", ctl_status, 0 }, { "peers", ctl_peers, 0 },
	{ "stats", ctl_stats, 0 }, { "connect", ctl_connect, 1 },
	{ "ban", ctl_ban, 1 }, { "unban", ctl_unban, 1 }, { "stop", ctl_stop, 0 },
};

/* Answer one control line and close the connection. */
static void ctl_answer(struct net *n, struct ctl *c)
{
	char *word[6] = { NULL }, *save = NULL, *out = NULL;
	size_t i, k = 0, len = 0;
	FILE *f = open_memstream(&out, &len);

	c->line[c->len] = 0;
	while (k < 5 && (word[k] = strtok_r(k ? NULL : c->line, " \t\r\n",
	                                    &save)))
		k++;
	for (i = 0; f && word[0] && i < sizeof controls / sizeof controls[0];
	     i++)
		if (strcmp(word[0], controls[i].name) == 0)
			break;
	if (f && word[0] && i == sizeof controls / sizeof controls[0] &&
	    n->ctl_more)
		n->ctl_more(n->ctl_arg, f, word);
	else if (!f || !word[0] || i == sizeof controls / sizeof controls[0] ||
	         (int)k - 1 < controls[i].args ||
	         (int)k - 1 > controls[i].args + 1)
		fprintf(f ? f : stderr, "error: unknown command or arguments\n");
	else
		controls[i].fn(n, f, word + 1);
	if (f)
		fclose(f);
	if (out && write(c->fd, out, len) < 0)
		net_log(LOG_DEBUG, "control client went away");
	free(out);
	close(c->fd);
	c->fd = -1;
}

/* Read from a control connection; answer once a line is complete. */
static void ctl_read(struct net *n, struct ctl *c)
{
	ssize_t k = read(c->fd, c->line + c->len, sizeof c->line - 1 - c->len);

	if (k <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->len += (size_t)k;
	if (memchr(c->line, '\n', c->len) || c->len == sizeof c->line - 1)
		ctl_answer(n, c);
}

/* Accept a control connection (only the node's user can reach the
 * socket: it is made mode 0600). */
static void ctl_accept(struct net *n)
{
	int fd = accept(n->ctl_fd, NULL, NULL), i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONTROL && n->ctl[i].fd >= 0; i++)
		;
	if (i == MAX_CONTROL) {
		close(fd);
		return;
	}
	n->ctl[i].fd = fd;
	n->ctl[i].len = 0;
}

/* ==== The loop's side: what to watch, what happened ==== */

/* Fill pfd (room for max) with the descriptors to watch; returns how
 * many.  n->who[i] remembers the peer of each slot.  Peers silent for
 * HOT_MS are left out but every COLD_MS: a node with many idle
 * connections then answers a busy peer almost as fast as an idle node. */
int net_pollfds(struct net *n, struct pollfd *pfd, int max)
{
	int64_t now = net_now_ms();
	struct peer *p;
	int k = 0, i, cold, hot;

	if (!(n->who = realloc(n->who, (size_t)max * sizeof *n->who)))
		abort();
	if (n->listen_fd >= 0 && n->nin < n->o.max_in + 1 && k < max) {
		pfd[k].fd = n->listen_fd;
		pfd[k].events = POLLIN;
		n->who[k++] = NULL;
	}
	for (i = 0; i < MAX_CONTROL && k < max; i++)
		if (n->ctl[i].fd >= 0) {
			pfd[k].fd = n->ctl[i].fd;
			pfd[k].events = POLLIN;
			n->who[k++] = NULL;
		}
	if (n->ctl_fd >= 0 && k < max) {
		pfd[k].fd = n->ctl_fd;
		pfd[k].events = POLLIN;
		n->who[k++] = NULL;
	}
	if ((cold = now - n->cold_at >= COLD_MS))
		n->cold_at = now;
	n->any_cold = 0;
	for (p = n->peers; p && k < max; p = p->next) {
		if (p->fd < 0)
			continue;
		hot = buf_size(&p->out) || !p->handshaked || p->outbound ||
		      now - p->last_recv < HOT_MS;
		n->any_cold |= !hot;
		if (!hot && !cold)
			continue;
		pfd[k].fd = p->fd;
		pfd[k].events = (short)(p->connecting ? POLLOUT : POLLIN |
		                        (buf_size(&p->out) ? POLLOUT : 0));
		n->who[k++] = p;
	}
	return k;
}

/* Act on what poll() reported: accept, read, write, answer. */
void net_events(struct net *n, const struct pollfd *pfd, int count)
{
	struct peer *p;
	int i, j;

	for (i = 0; i < count; i++) {
		if (!pfd[i].revents)
			continue;
		if (!(p = n->who[i])) {
			if (pfd[i].fd == n->listen_fd)
				accept_peer(n);
			else if (pfd[i].fd == n->ctl_fd)
				ctl_accept(n);
			for (j = 0; j < MAX_CONTROL; j++)
				if (n->ctl[j].fd == pfd[i].fd &&
				    pfd[i].fd != n->ctl_fd && pfd[i].fd != n->listen_fd)
					ctl_read(n, &n->ctl[j]);
			continue;
		}
		if (p->fd != pfd[i].fd)
			continue;              /* dropped meanwhile */
		if (p->connecting)
			connected_out(n, p);
		else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			receive(n, p);
		if (p->fd >= 0 && (pfd[i].revents & POLLOUT))
			flush(n, p);
	}
}

/* ==== Opening and closing ==== */

/* Raise the open-file limit as far as the hard limit allows: each peer
 * is a descriptor. */
static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* A listening TCP socket on a; returns its fd, or -1 with err set. */
static int listen_on(const struct naddr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(a, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	                         sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0 ||
	    nonblock(fd) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", show(a),
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The control socket DIR/control.sock, mode 0600; fd or -1 with err. */
static int control_on(const char *dir, char *err, size_t errlen)
{
	struct sockaddr_un un;
	int fd;
	mode_t old;

	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	if (snprintf(un.sun_path, sizeof un.sun_path, "%s/control.sock", dir) >=
	    (int)sizeof un.sun_path) {
		snprintf(err, errlen, "data directory path too long for a socket");
		return -1;
	}
	unlink(un.sun_path);             /* stale: the chain lock is ours */
	old = umask(0177);               /* the socket is made mode 0600 */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&un, sizeof un) < 0 ||
	    listen(fd, MAX_CONTROL) < 0 || nonblock(fd) < 0) {
		snprintf(err, errlen, "cannot make %s: %s", un.sun_path,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	umask(old);
	return fd;
}

/* Start the network side of a node: bans and address book from the data
 * directory, seeds, the listening socket, the control socket.  Returns
 * NULL with err set if a socket cannot be made. */
struct net *net_open(struct chain *c, const struct net_opts *o, char *err,
                     size_t errlen)
{
	struct net *n = xcalloc(1, sizeof *n);
	struct naddr a;
	size_t i;
	int k;

	n->o = *o;
	n->chain = c;
	n->listen_fd = n->ctl_fd = -1;
	for (k = 0; k < MAX_CONTROL; k++)
		n->ctl[k].fd = -1;
	n->book = xcalloc(BOOK_MAX, sizeof *n->book);
	map_init(&n->where, 18);
	map_init(&n->bans, 16);
	n->nonce = random64();
	n->saved_at = net_now_ms();
	raise_nofile();
	bans_load(n);
	book_load(n);
	n->fixed = xcalloc(o->nconnect, sizeof *n->fixed);
	n->fixed_at = xcalloc(o->nconnect, sizeof *n->fixed_at);
	for (i = 0; i < o->nconnect; i++) {
		if (net_resolve(o->connect[i], &n->fixed[i], err, errlen) != 0)
			goto fail;
		n->fixed_at[i] = -RETRY_BASE * 1000;
	}
	for (i = 0; i < o->nseeds; i++)
		if (net_resolve(o->seeds[i], &a, err, errlen) == 0)
			book_add(n, &a, (int64_t)time(NULL));
		else
			net_log(LOG_WARN, "seed %s", err);
	if (o->listen && net_resolve(o->listen, &n->self, err, errlen) != 0)
		goto fail;
	if (o->listen && (n->listen_fd = listen_on(&n->self, err, errlen)) < 0)
		goto fail;
	if ((n->ctl_fd = control_on(o->dir, err, errlen)) < 0)
		goto fail;
	net_log(LOG_INFO, "node up on %s, listening on %s", o->p->name,
	        o->listen ? show(&n->self) : "nothing");
	return n;
fail:
	net_close(n);
	return NULL;
}

/* Save the address book and bans, close every socket, free everything. */
void net_close(struct net *n)
{
	struct peer *p;
	char path[4096];
	void **v;
	size_t i, count;
	int k;

	if (!n)
		return;
	if (n->listen_fd >= 0 || n->ctl_fd >= 0) {
		book_save(n);
		bans_save(n);
	}
	for (p = n->peers; p; p = p->next)
		if (p->fd >= 0) {
			close(p->fd);
			p->fd = -1;
		}
	n->dropped = 1;
	sweep(n);
	for (k = 0; k < MAX_CONTROL; k++)
		if (n->ctl[k].fd >= 0)
			close(n->ctl[k].fd);
	if (n->listen_fd >= 0)
		close(n->listen_fd);
	if (n->ctl_fd >= 0) {
		close(n->ctl_fd);
		snprintf(path, sizeof path, "%s/control.sock", n->o.dir);
		unlink(path);
	}
	v = map_values(&n->bans);
	for (i = 0, count = n->bans.n; i < count; i++)
		free(v[i]);
	free(v);
	map_free(&n->bans);
	map_free(&n->where);
	free(n->book);
	free(n->who);
	free(n->fixed);
	free(n->fixed_at);
	free(n);
}
