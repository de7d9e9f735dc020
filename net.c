/*
 * net.c - the peer-to-peer network: connections, frames, the handshake,
 * the address book, and the limits that keep a node's connections honest.
 *
 * node.c's loop asks net_pollfds() what to watch, calls poll(), hands the
 * results to net_events() and runs net_timers() for the timers.  A peer's
 * bytes collect until frame_parse() finds a whole frame, whose command
 * picks a handler: net.c's own (version, verack, ping, pong, getaddr,
 * addr) or one the layer above registered with net_handle(), as redis's
 * ae registers file events.  A peer that breaks the protocol gains a
 * misbehaviour score by the offence's weight (net_misbehave); at BAN_SCORE
 * it is dropped and banned.  Outbound peers are drawn at random from the
 * address book, one per network group, so no one operator can surround a node.
 * With -x every dial goes through a SOCKS5 proxy (Tor's), hosts given to
 * it by name: socks_reply() reads its answers before the first frame.
 * Start reading at net_events().
 */
#include "node.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROTOCOL      1           /* our protocol version */
#define MAX_ADDR      1000        /* addresses in one addr, as Bitcoin */
#define SEND_HIGH     (256u << 10) /* unsent bytes that pause a peer's
                                      requests till it reads, */
#define SEND_CAP      (4u << 20)  /* and that drop it */
#define BUDGET_BASE   (4u << 20)  /* bytes all peers' queues may hold, */
#define BUDGET_PEER   (32u << 10) /* and this more per connection allowed */
#define READ_CHUNK    65536       /* bytes read from a socket at once */
#define FRAMES_TURN   8           /* frames of one peer handled a turn */
#define SHARE_PCT     50          /* of the node's time, for answering */
#define DEBT_MAX      5000        /* us of answers a peer may owe, and be
                                     served */
#define MAX_PER_IP    4           /* connections from one address */
#define BOOK_BUCKETS  64          /* address book buckets, */
#define BUCKET_SIZE   64          /* each of this many addresses */
#define BOOK_MAX      (BOOK_BUCKETS * BUCKET_SIZE)
#define BAN_MAX       10000       /* bans kept: the oldest goes first */
#define BAN_FILE_MAX  1000000     /* bans read from bans.dat at most */
#define BAN_SAVE_MS   5000        /* bans.dat is written at most this often */
#define ENTRY_REC     31          /* bytes of one entry of peers.dat */
#define BAN_REC       24          /* bytes of one ban of bans.dat */
#define ADDR_MS       10000       /* a group of peers earns an address
                                     every this many ms (0.1 a second),
                                     up to MAX_ADDR (Bitcoin allows as
                                     much to each peer) */
#define RELAY_FRESH   600         /* seconds an address counts as fresh */
#define SAVE_EVERY    (15 * 60)   /* seconds between saves of peers.dat */
#define SCORE_MS      1000        /* a misbehaviour score loses a point */
#define RETRY_BASE    10          /* seconds before a retry, doubled */
#define RETRY_MAX     3600        /* up to this */
#define EXTRA_FDS     64          /* poll slots for peers connected by hand */
#define PROTECT_GROUP 4           /* inbound peers eviction spares: distinct
                                     groups, as Bitcoin */
#define PROTECT_PING  8           /* and of lowest ping, */
#define PROTECT_RELAY 4           /* and of most recent useful relay */
#define HOT_MS        5000        /* a peer silent this long goes cold, */
#define COLD_MS       10          /* and a busy loop polls it this often */
#define DIAL_MS       100         /* between dials, while peers are lacking */
#define TRIED         1           /* an entry's tried bits: a handshake */
#define USEFUL        2           /* and news from it */

/* What the book knows of an address. */
struct entry {
	struct naddr a;
	int64_t heard;           /* wall time (s) it was last heard of */
	uint32_t attempts;       /* failures since the last success */
	uint8_t tried;           /* TRIED: we once completed a handshake with
	                            it; USEFUL: it once gave us news first */
	int64_t tried_at;        /* monotonic seconds of our last attempt */
	int bucket;
};

/* A banned address, and until when (seconds since 1970). */
struct ban {
	uint8_t ip[16];
	int64_t end;
};

static uint8_t scratch[READ_CHUNK]; /* every read lands here first */

/* ==== Addresses ==== */
/* Is a an IPv4 address (mapped)? */
static int is_v4(const struct naddr *a) {
	static const uint8_t pre[12] = { [10] = 0xff, [11] = 0xff };
	return !memcmp(a->ip, pre, 12);
}

/* The network group into g: a family byte, an IPv4 /16 or an IPv6 /32. */
void net_group(const struct naddr *a, uint8_t g[5]) {
	memset(g, 0, 5);
	g[0] = is_v4(a) ? 4 : 6;
	memcpy(g + 1, is_v4(a) ? a->ip + 12 : a->ip, is_v4(a) ? 2 : 4);
}

/* Where an address can be reached from: PUBLIC, LOOPBACK or PRIVATE (a
 * local network: RFC 1918, shared, link-local, unique local), or NOWHERE
 * (port 0, unspecified, multicast, reserved). */
enum { PUBLIC, LOOPBACK, PRIVATE, NOWHERE };
static int reach(const struct naddr *a) {
	static const uint8_t zero[16], one[16] = { [15] = 1 };
	const uint8_t *v = a->ip + 12, *x = a->ip;
	if (a->port == 0 || !memcmp(x, zero, 16)) return NOWHERE;
	if (is_v4(a) && v[0] == 127) return LOOPBACK;
	if (is_v4(a) && (v[0] == 10 || (v[0] == 172 && (v[1] & 0xf0) == 16) ||
	                 (v[0] == 192 && v[1] == 168) || (v[0] == 169 &&
	                 v[1] == 254) || (v[0] == 100 && (v[1] & 0xc0) == 64)))
		return PRIVATE;
	if (is_v4(a)) return v[0] == 0 || v[0] >= 224 ? NOWHERE : PUBLIC;
	if (!memcmp(x, one, 16)) return LOOPBACK;
	if ((x[0] & 0xfe) == 0xfc || (x[0] == 0xfe && (x[1] & 0xc0) == 0x80))
		return PRIVATE;
	return x[0] == 0xff ? NOWHERE : PUBLIC;
}

/* May a peer's word put a in the book: it is public, or of the local kind
 * we listen on ourselves (a test network on loopback, a LAN)? */
static int worth_storing(const struct net *n, const struct naddr *a) {
	int r = reach(a);
	return r == PUBLIC ||
	       (r != NOWHERE && n->self.port && r == reach(&n->self));
}

/* "1.2.3.4:5" or "[::1]:5" for logs (a static buffer). */
const char *net_text(const struct naddr *a) {
	static char buf[64];
	char ip[INET6_ADDRSTRLEN];
	inet_ntop(is_v4(a) ? AF_INET : AF_INET6, a->ip + (is_v4(a) ? 12 : 0),
	          ip, sizeof ip);
	snprintf(buf, sizeof buf, is_v4(a) ? "%s:%u" : "[%s]:%u", ip,
	         (unsigned)a->port);
	return buf;
}

/* A socket address into an naddr. */
static void from_sockaddr(struct naddr *a, const struct sockaddr *sa) {
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	memset(a, 0, sizeof *a);
	if (sa->sa_family == AF_INET) {
		a->ip[10] = a->ip[11] = 0xff;
		memcpy(a->ip + 12, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
	} else {
		memcpy(a->ip, &s6->sin6_addr, 16);
		a->port = ntohs(s6->sin6_port);
	}
}

/* An naddr into a socket address; returns its length. */
static socklen_t to_sockaddr(const struct naddr *a,
                             struct sockaddr_storage *ss) {
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof *ss);
	if (!is_v4(a)) {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->ip, 16);
		s6->sin6_port = htons(a->port);
		return sizeof *s6;
	}
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, a->ip + 12, 4);
	s4->sin_port = htons(a->port);
	return sizeof *s4;
}

/* Resolve "host:port" or "[v6]:port"; returns 0, or -1 (failed). */
int net_resolve(const char *text, struct naddr *a) {
	char host[256];
	const char *colon = strrchr(text, ':');
	struct addrinfo hints = { 0 }, *res;
	size_t n;
	int r;
	n = colon ? colon - text : 0;
	if (n == 0 || strlen(colon + 1) == 0 || n >= sizeof host)
		return failed("'%s' is not HOST:PORT", text);
	memcpy(host, text, n);
	host[n] = 0;
	if (host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		return failed("%s: %s", text, gai_strerror(r));
	from_sockaddr(a, res->ai_addr);
	freeaddrinfo(res);
	return 0;
}

/* Read an IP address alone ("1.2.3.4", "::1") into a; returns 0 or -1. */
int net_parse_ip(const char *s, struct naddr *a) {
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->ip + 12) == 1) {
		a->ip[10] = a->ip[11] = 0xff;
		return 0;
	}
	return inet_pton(AF_INET6, s, a->ip) == 1 ? 0 : -1;
}

/* One address as addr and peers.dat carry it: ip[16] | u16 port | i64
 * time (seconds since 1970) it was last heard of. */
static void addr_rw(struct rw *s, struct naddr *a, int64_t *heard) {
	rw_bytes(s, a->ip, 16);
	rw_u16(s, &a->port);
	rw_i64(s, heard);
}

/* ==== Frames ==== */
/* Write a frame around payload into out (room for FRAME_HEAD + len):
 * magic | command, NUL-padded to 12 | u32 length | u32 CRC-32 of the
 * payload | payload.  (Bitcoin's double SHA-256 there made sync slower
 * than a reindex; a CRC catches transport damage as well.) */
size_t frame_write(uint8_t *out, const uint8_t magic[4], const char *cmd,
                   const uint8_t *payload, size_t len) {
	memcpy(out, magic, 4);
	strncpy((char *)out + 4, cmd, FRAME_CMD);   /* (NUL-padded) */
	put32le(out + 16, len);
	put32le(out + 20, crc32(payload, len));
	if (len)
		memcpy(out + FRAME_HEAD, payload, len);
	return FRAME_HEAD + len;
}

/* Find one frame at the start of (buf, len).  Returns the bytes it takes
 * (with *cmd, *payload, *plen set), 0 if more are needed, or -1 with *why
 * (wrong magic, bad command, a payload over max bytes, bad checksum). */
long frame_parse(const uint8_t *buf, size_t len, const uint8_t magic[4],
                 size_t max, char cmd[FRAME_CMD + 1], const uint8_t **payload,
                 size_t *plen, const char **why) {
	size_t i, n;
	*why = "wrong magic";
	if (memcmp(buf, magic, len < 4 ? len : 4)) return -1;
	if (len < FRAME_HEAD) return 0;
	*why = "bad command";
	for (i = 0; i < FRAME_CMD && buf[4 + i] >= 'a' && buf[4 + i] <= 'z';
	     i++)
		cmd[i] = (char)buf[4 + i];
	for (n = i, cmd[n] = 0; i < FRAME_CMD; i++)
		if (buf[4 + i] != 0) return -1;
	if (n == 0) return -1;
	*why = "oversized frame";
	if ((*plen = get32le(buf + 16)) > max) return -1;
	if (len < FRAME_HEAD + *plen) return 0;
	*why = "bad checksum";
	if (crc32(buf + FRAME_HEAD, *plen) != get32le(buf + 20)) return -1;
	*payload = buf + FRAME_HEAD;
	return FRAME_HEAD + *plen;
}

/* ==== The address book ==== */
/* The 18-byte key of an address: ip | u16 port. */
static void addr_key(const struct naddr *a, uint8_t key[18]) {
	memcpy(key, a->ip, 16);
	put16le(key + 16, a->port);
}

/* A number for an address's group, through our secret: a group fills one
 * bucket of the book at most, and has one addr allowance, and nobody
 * outside knows which. */
static uint32_t group_hash(const struct net *n, const struct naddr *a) {
	uint8_t buf[32 + 5], h[SHA256_LEN];
	memcpy(buf, n->secret, 32);
	net_group(a, buf + 32);
	sha256(buf, sizeof buf, h);
	return get32le(h);
}

/* The book's entry for an address, or NULL. */
static struct entry *book_find(const struct net *n, const struct naddr *a) {
	uint8_t key[18];
	addr_key(a, key);
	return map_get(&n->where, key);
}

/* Drop entry i from the book: the last entry takes its place. */
static void book_drop(struct net *n, size_t i) {
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

/* Learn of an address (not one reach() calls NOWHERE, nor ours) heard of at
 * wall time `heard`.  A full bucket drops its oldest address never tried;
 * if all were tried, the newcomer is not kept.  1 if it is new to the book. */
static int book_add(struct net *n, const struct naddr *a, int64_t heard) {
	struct entry *e = book_find(n, a);
	size_t i, worst = n->nbook, count = 0;
	uint8_t key[18];
	int b = group_hash(n, a) % BOOK_BUCKETS;
	if (e || reach(a) == NOWHERE || !memcmp(a, &n->self, sizeof *a)) {
		if (e && heard > e->heard)
			e->heard = heard;
		return 0;
	}
	for (i = 0; i < n->nbook; i++) {
		if (n->book[i].bucket != b) continue;
		count++;
		if (!n->book[i].tried &&
		    (worst == n->nbook ||
		     n->book[i].heard < n->book[worst].heard))
			worst = i;
	}
	if (count >= BUCKET_SIZE && worst == n->nbook) return 0;
	if (count >= BUCKET_SIZE)
		book_drop(n, worst);
	n->dial_at = 0;                 /* (someone new to dial) */
	e = &n->book[n->nbook++];
	memset(e, 0, sizeof *e);
	e->a = *a;
	e->heard = heard;
	e->bucket = b;
	addr_key(a, key);
	map_put(&n->where, key, e);
	return 1;
}

/* peers.dat: "PCAB" | secret[32] | u32 count | count x (address, as
 * addr_rw | u32 failures | u8 tried).  Read back, each entry goes through
 * book_add, keeping its failures and tried mark. */
static void book_rw(struct rw *s, void *arg) {
	struct net *n = arg;
	struct entry e = { 0 }, *in;
	uint32_t i, count;
	rw_magic(s, "PCAB");
	rw_bytes(s, n->secret, 32);
	count = rw_count(s, n->nbook, 4, BOOK_MAX, ENTRY_REC);
	for (i = 0; i < count && !s->bad; i++) {
		if (s->out)
			e = n->book[i];
		addr_rw(s, &e.a, &e.heard);
		rw_u32(s, &e.attempts);
		rw_u8(s, &e.tried);
		if (!s->out && !s->bad && book_add(n, &e.a, e.heard) &&
		    (in = book_find(n, &e.a))) {
			in->attempts = e.attempts;
			in->tried = e.tried & (TRIED | USEFUL);
		}
	}
}

/* A path in the data directory (a static buffer). */
static const char *path_of(const struct net *n, const char *name) {
	static char path[4096];
	snprintf(path, sizeof path, "%s/%s", n->o.dir, name);
	return path;
}

/* Write peers.dat or bans.dat from its description. */
static void save(struct net *n, const char *name, rw_fn fn) {
	if (file_save(path_of(n, name), fn, n))
		log_msg(LOG_WARN, "cannot write %s", path_of(n, name));
}

/* Read a sound peers.dat; else start afresh, with a new secret. */
static void book_load(struct net *n) {
	int r = file_load(path_of(n, "peers.dat"),
	                  40 + BOOK_MAX * ENTRY_REC, book_rw, n);
	size_t i;
	if (r > 0) {
		log_msg(LOG_INFO, "address book: %zu addresses from %s",
		        n->nbook, path_of(n, "peers.dat"));
		return;
	}
	if (r < 0)
		log_msg(LOG_WARN, "%s is damaged: starting afresh",
		        path_of(n, "peers.dat"));
	while (n->nbook)
		book_drop(n, 0);
	for (i = 0; i < sizeof n->secret; i += 8)   /* (clock, if no urandom) */
		put64le(n->secret + i, random64());
}

/* anchors.dat: "PCAN" | u32 count (at most MAX_ANCHORS) | count addresses
 * as addr_rw: our outbound peers at the last shutdown, dialled first at
 * the next start (as Bitcoin Core's anchors), so a restart does not give
 * our outbound slots to whoever filled the address book meanwhile. */
static void anchors_rw(struct rw *s, void *arg) {
	struct net *n = arg;
	struct peer *p;
	uint32_t i, count = 0;
	int64_t t = 0;
	if (s->out) {              /* writing: the live outbound peers */
		for (p = n->peers; p && count < MAX_ANCHORS; p = p->next)
			if (p->fd >= 0 && p->outbound && p->handshaked)
				n->anchors[count++] = p->a;
	}
	rw_magic(s, "PCAN");
	count = rw_count(s, count, 4, MAX_ANCHORS, ADDR_REC);
	for (i = 0; i < count && !s->bad; i++)
		addr_rw(s, &n->anchors[i], &t);
	if (!s->out && !s->bad)
		n->nanchors = count;
}

/* ==== Bans ==== */
/* Is this address banned now? */
static int banned(const struct net *n, const struct naddr *a) {
	const struct ban *b = map_get(&n->bans, a->ip);
	return b && b->end > wall_s();
}

/* The k-th oldest slot of the ring of bans. */
static struct ban *ring_at(const struct net *n, uint32_t k) {
	return &n->ring[(n->ring_at + k) % BAN_MAX];
}

/* Is ring slot b a ban still running at wall time now (s)? */
static int running(const struct net *n, const struct ban *b, int64_t now) {
	return b->end > now && map_get(&n->bans, b->ip) == b;
}

/* Ban an IP until wall time `until` in seconds (0: lift it).  Bans live
 * in a ring of BAN_MAX (made at the first ban), oldest first, indexed by
 * n->bans: a new one takes the oldest's place, so banning costs no more
 * memory and no disk (bans.dat is written from the timer). */
void net_ban(struct net *n, const uint8_t ip[16], int64_t until) {
	struct ban *b = map_del(&n->bans, ip);
	if (b)
		b->end = 0;
	n->bans_dirty = 1;
	if (until <= 0) return;
	if (!n->ring)
		n->ring = xcalloc(BAN_MAX, sizeof *n->ring);
	b = &n->ring[n->ring_at];
	n->ring_at = (n->ring_at + 1) % BAN_MAX;
	if (map_get(&n->bans, b->ip) == b)
		map_del(&n->bans, b->ip);
	memcpy(b->ip, ip, 16);
	b->end = until;
	map_put(&n->bans, ip, b);
}

/* bans.dat: "PCBN" | u32 count | count x (ip[16] | i64 end, in seconds
 * since 1970), oldest first.  Reading takes the records the file holds
 * (a cut one ends it), the running ones as new bans: of a long file the
 * last BAN_MAX stay. */
static void bans_rw(struct rw *s, void *arg) {
	struct net *n = arg;
	struct ban b = { 0 };
	uint32_t i, k, count = 0;
	int64_t now = wall_s();
	for (k = 0; s->out && n->ring && k < BAN_MAX; k++)
		count += running(n, &n->ring[k], now);
	rw_magic(s, "PCBN");
	count = rw_count(s, count, 4, BAN_FILE_MAX, 0);
	/* Writing: the ring's running bans, oldest first.  Reading: each
	 * record, a running one banned again. */
	for (i = k = 0; i < count && !s->bad; i++) {
		while (s->out && !running(n, ring_at(n, k), now))
			k++;
		if (s->out)
			b = *ring_at(n, k++);
		rw_bytes(s, b.ip, 16);
		rw_i64(s, &b.end);
		if (!s->out && !s->bad && b.end > now)
			net_ban(n, b.ip, b.end);
	}
}

/* ==== Peers: sending and counting ==== */
/* Bytes waiting in a queue. */
static size_t buf_size(const struct buf *b) { return b->len - b->off; }

/* Room for k more bytes at the end of a queue; returns where to write.
 * n->held counts the memory of every queue. */
static uint8_t *buf_room(struct net *n, struct buf *b, size_t k) {
	size_t cap = b->cap;
	if (b->off && b->len + k > b->cap) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	b->data = xgrow(b->data, &b->cap, b->len + k, 1);
	n->held += b->cap - cap;
	return b->data + b->len;
}

/* Give a queue's memory back. */
static void buf_free(struct net *n, struct buf *b) {
	n->held -= b->cap;
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Drop k bytes from the front; an empty queue gives its memory back, so
 * an idle peer holds no buffers. */
static void buf_take(struct net *n, struct buf *b, size_t k) {
	b->off += k;
	if (b->off == b->len)
		buf_free(n, b);
}

/* The counter of a command, made on first use in a slot struct net keeps
 * zeroed (the last slot is shared by the commands that find the table
 * full). */
static struct count *counter(struct net *n, const char *cmd) {
	int i;
	for (i = 0; i < n->ncounts; i++)
		if (!strcmp(n->counts[i].cmd, cmd)) return &n->counts[i];
	if (n->ncounts == MAX_CMDS) return &n->counts[MAX_CMDS - 1];
	snprintf(n->counts[i].cmd, sizeof n->counts[i].cmd, "%s", cmd);
	return &n->counts[n->ncounts++];
}

/* Mark a peer for closing: its fd goes, the next sweep frees it. */
void net_drop(struct net *n, struct peer *p, const char *why) {
	if (p->fd < 0) return;
	log_msg(LOG_INFO, "peer %s %s dropped: %s", net_text(&p->a),
	        p->outbound ? "(out)" : "(in)", why);
	close(p->fd);
	p->fd = -1;
	n->dropped = 1;
	if (p->outbound)
		n->nout--;
	else
		n->nin--;
}

/* Since when a peer holds memory it does not let us use: an unfinished
 * frame, or output it has not read; INT64_MAX if none. */
static int64_t stuck_since(const struct peer *p) {
	int64_t in = buf_size(&p->in) ? p->frame_at : INT64_MAX;
	int64_t out = buf_size(&p->out) ? p->sent_at : INT64_MAX;
	return in < out ? in : out;
}

/* Keep the peers' queues within the budget: while over it, drop the peer
 * stuck longest (but keep) and free its queues now.  Returns 1 if within. */
static int shed(struct net *n, const struct peer *keep) {
	struct peer *p, *worst;
	while (n->held > n->budget) {
		for (worst = NULL, p = n->peers; p; p = p->next)
			if (p != keep && p->in.cap + p->out.cap &&
			    (!worst || stuck_since(p) < stuck_since(worst)))
				worst = p;
		if (!worst) return 0;
		net_drop(n, worst, "over the memory budget");
		buf_free(n, &worst->in);
		buf_free(n, &worst->out);
	}
	return 1;
}

/* May p be sent more now: it reads what it is sent, and the budget has
 * room (made by dropping the peers stuck longest if need be)? */
int net_room(struct net *n, struct peer *p) {
	return p->fd >= 0 && buf_size(&p->out) < SEND_HIGH && shed(n, p);
}

/* p misbehaved (why): its score grows by weight; at BAN_SCORE it is
 * dropped and its address banned for -t ban's time.  A score loses a
 * point every SCORE_MS, so it is kept as the time it is back at 0, and
 * no slow drip of small offences adds up to a ban. */
void net_misbehave(struct net *n, struct peer *p, int weight,
                   const char *why) {
	int64_t now = mono_ms();
	if (p->fd < 0) return;
	if (p->clean_at < now)
		p->clean_at = now;
	p->clean_at += weight * SCORE_MS;
	int score = (p->clean_at - now + SCORE_MS - 1) / SCORE_MS;
	if (score < BAN_SCORE) {
		log_msg(LOG_INFO, "peer %s misbehaved (score %d): %s",
		        net_text(&p->a), score, why);
		return;
	}
	log_msg(LOG_WARN, "ban %s for %lld s: %s", net_text(&p->a),
	        (long long)n->o.ban_s, why);
	net_ban(n, p->a.ip, wall_s() + n->o.ban_s);
	net_drop(n, p, why);
}

/* Write what the socket takes of the send buffer.  Once the bytes that
 * waited at sent_at are gone, the clock restarts on those waiting now. */
static void write_out(struct net *n, struct peer *p) {
	while (p->fd >= 0 && buf_size(&p->out) > 0 && !p->connecting) {
		ssize_t k = write(p->fd, p->out.data + p->out.off,
		                  buf_size(&p->out));
		if (k < 0 && WOULD_BLOCK) return;
		if (k <= 0) {
			net_drop(n, p,
			         k < 0 ? strerror(errno) : "write failed");
			return;
		}
		buf_take(n, &p->out, k);
		p->drain -= (size_t)k < p->drain ? (size_t)k : p->drain;
		if (!p->drain) {
			p->sent_at = mono_ms();
			p->drain = buf_size(&p->out);
		}
	}
}

/* Queue a message for a peer and send it (over SEND_CAP: drop the peer). */
void net_send(struct net *n, struct peer *p, const char *cmd,
              const uint8_t *payload, size_t len) {
	struct count *c = counter(n, cmd);
	if (p->fd >= 0 && buf_size(&p->out) + FRAME_HEAD + len > SEND_CAP)
		net_drop(n, p, "send buffer full");
	if (p->fd < 0) return;
	if (!buf_size(&p->out)) {
		p->sent_at = mono_ms();
		p->drain = FRAME_HEAD + len;
	}
	p->out.len += frame_write(buf_room(n, &p->out, FRAME_HEAD + len),
	                          n->o.p->magic, cmd, payload, len);
	c->out++;
	c->out_bytes += FRAME_HEAD + len;
	write_out(n, p);
}

/* The version message: u32 protocol | u64 services | i64 time (seconds
 * since 1970) | u64 nonce | u16 listening port (0: none) | u32 best
 * height | u16 agent length (at most MAX_AGENT) | agent. */
struct version {
	uint32_t protocol;
	uint64_t services;
	int64_t time;
	uint64_t nonce;
	uint16_t port;
	uint32_t height;
	uint16_t alen;
	uint8_t agent[MAX_AGENT];
};

/* Read or write a version message. */
static void version_rw(struct rw *s, struct version *v) {
	rw_u32(s, &v->protocol);
	rw_u64(s, &v->services);
	rw_i64(s, &v->time);
	rw_u64(s, &v->nonce);
	rw_u16(s, &v->port);
	rw_u32(s, &v->height);
	v->alen = rw_count(s, v->alen, 2, MAX_AGENT, 1);
	rw_bytes(s, v->agent, v->alen);
}

/* Send our version. */
static void send_version(struct net *n, struct peer *p) {
	struct version v = {
	        .protocol = PROTOCOL,
	        .services = n->o.light ? 0 : SERVICE_FULL | SERVICE_STEM,
	        .time = wall_s(),
	        .nonce = n->nonce,
	        .port = n->self.port,
	        .height = n->height,
	        .alen = sizeof PEERCHAIN_AGENT - 1,
	        .agent = PEERCHAIN_AGENT,
	};
	struct rw s;
	rw_writer(&s);
	version_rw(&s, &v);
	net_send(n, p, "version", s.out, s.len);
	free(s.out);
}

/* Send an addr: u16 count (at most MAX_ADDR) | count x addr_rw. */
static void send_addrs(struct net *n, struct peer *p, struct entry **e,
                       size_t count) {
	struct rw s;
	rw_writer(&s);
	rw_count(&s, count, 2, MAX_ADDR, ADDR_REC);
	for (size_t i = 0; i < count; i++)
		addr_rw(&s, &e[i]->a, &e[i]->heard);
	net_send(n, p, "addr", s.out, s.len);
	free(s.out);
}

/* ==== Message handlers ==== */
/* version: check it, spot a connection to ourselves, answer verack. */
static const char *on_version(void *arg, struct peer *p, const uint8_t *b,
                              size_t len) {
	struct net *n = arg;
	struct version v;
	struct rw s;
	if (p->got_version) return "second version";
	rw_reader(&s, b, len);
	version_rw(&s, &v);
	if (s.bad || s.left) return "malformed version";
	if (v.nonce == n->nonce ||
	    (n->o.light && !(v.services & SERVICE_FULL))) {
		net_drop(n, p, v.nonce == n->nonce ? "connected to ourselves" :
		         "a light node wants full peers");
		return NULL;
	}
	p->got_version = 1;
	p->listen_port = v.port;
	p->services = v.services;
	p->height = v.height;
	memcpy(p->agent, v.agent, v.alen);
	p->agent[v.alen] = 0;
	if (!p->outbound)
		send_version(n, p);
	net_send(n, p, "verack", NULL, 0);
	return NULL;
}

/* verack: the handshake is done.  An inbound peer's listening address
 * joins the book; an outbound one's proved good: ask it for addresses. */
static const char *on_verack(void *arg, struct peer *p, const uint8_t *b,
                             size_t len) {
	struct net *n = arg;
	struct entry me, *e;
	(void)b;
	if (len || !p->got_version || p->handshaked) return "unexpected verack";
	p->handshaked = 1;
	log_msg(LOG_INFO, "peer %s %s: handshake done, height %u, %s",
	        net_text(&p->a), p->outbound ? "(out)" : "(in)",
	        (unsigned)p->height, p->agent);
	if (n->ready)
		n->ready(n->up, p);
	if (!p->outbound && p->listen_port) {     /* where it listens */
		me.a = p->a;
		me.a.port = p->listen_port;
		if (worth_storing(n, &me.a))
			book_add(n, &me.a, wall_s());
	}
	if (!p->outbound) return NULL;
	if ((e = book_find(n, &p->a))) {          /* a good address */
		e->tried |= TRIED;
		e->attempts = 0;
		e->heard = wall_s();
	}
	net_send(n, p, "getaddr", NULL, 0);
	me.a = n->self;                           /* where we listen */
	me.heard = wall_s();
	e = &me;
	if (n->self.port)
		send_addrs(n, p, &e, 1);
	return NULL;
}

/* ping: answer pong with the same nonce. */
static const char *on_ping(void *arg, struct peer *p, const uint8_t *b,
                           size_t len) {
	if (len != 8) return "malformed ping";
	net_send(arg, p, "pong", b, 8);
	return NULL;
}

/* pong: the round trip of our ping. */
static const char *on_pong(void *arg, struct peer *p, const uint8_t *b,
                           size_t len) {
	int64_t rtt = mono_ms() - p->ping_at;
	(void)arg;
	if (len != 8) return "malformed pong";
	if (p->ping_nonce && get64le(b) == p->ping_nonce) {
		p->ping_nonce = 0;
		p->ping_at += rtt;         /* (the next ping: ping_s after) */
		if (p->min_ping < 0 || rtt < p->min_ping)
			p->min_ping = rtt;
	}
	return NULL;
}

/* getaddr: a random sample of the addresses not known to fail. */
static const char *on_getaddr(void *arg, struct peer *p, const uint8_t *b,
                              size_t len) {
	struct net *n = arg;
	struct entry **pick, *t;
	size_t i, k = 0, j;
	(void)b;
	if (len) return "malformed getaddr";
	if (p->asked_addr) return NULL;  /* once a connection, as Bitcoin */
	p->asked_addr = 1;
	pick = xcalloc(n->nbook + 1, sizeof *pick);
	for (i = 0; i < n->nbook; i++)
		if (n->book[i].attempts < 3)
			pick[k++] = &n->book[i];
	for (i = 0; i < k && i < MAX_ADDR; i++) {   /* partial shuffle */
		j = i + random64() % (k - i);
		t = pick[i];
		pick[i] = pick[j];
		pick[j] = t;
	}
	send_addrs(n, p, pick, k < MAX_ADDR ? k : MAX_ADDR);
	free(pick);
	return NULL;
}

/* Pass a freshly learned address on to two random peers but its source
 * (reservoir sampling, two slots). */
static void relay_addr(struct net *n, struct peer *from, struct entry *e) {
	struct peer *p, *pick[2] = { NULL, NULL };
	int count = 0, i;
	for (p = n->peers; p; p = p->next) {
		if (p == from || p->fd < 0 || !p->handshaked) continue;
		count++;
		if (count <= 2)
			pick[count - 1] = p;
		else if (random64() % count < 2)
			pick[random64() % 2] = p;
	}
	for (i = 0; i < 2 && pick[i]; i++)
		send_addrs(n, pick[i], &e, 1);
}

/* addr: u16 count | count addresses. Learn them as fast as the token bucket of
 * the peer's group allows (shared by its connections, present and past), if
 * worth storing; relay the fresh ones of a small announcement. */
static const char *on_addr(void *arg, struct peer *p, const uint8_t *b,
                           size_t len) {
	struct net *n = arg;
	int64_t now = mono_ms(), wall = wall_s(), heard;
	uint32_t count, i;
	struct naddr a;
	struct entry *e;
	struct rw s;
	int64_t *full = &n->addr_full[group_hash(n, &p->a) % ADDR_SLOTS];
	if (len >= 2 && get16le(b) > MAX_ADDR)
		return "addr with over 1000 addresses";
	rw_reader(&s, b, len);
	count = rw_count(&s, 0, 2, MAX_ADDR, ADDR_REC);
	if (s.bad || s.left != count * ADDR_REC) return "malformed addr";
	if (*full < now)
		*full = now;
	/* Each address taken puts off the time the allowance is whole; none
	 * is taken while less than one address is left of it. */
	for (i = 0; i < count; i++, *full += ADDR_MS) {
		if (*full - now > (MAX_ADDR - 1) * ADDR_MS) break;
		addr_rw(&s, &a, &heard);
		heard = heard > wall ? wall : heard;
		if (worth_storing(n, &a) && book_add(n, &a, heard) &&
		    count <= 10 && heard > wall - RELAY_FRESH &&
		    (e = book_find(n, &a)))
			relay_addr(n, p, e);
	}
	return NULL;
}

/* The layer above found p useful: it gave us something new.  Eviction
 * spares the peers that did so last, and the address book remembers an
 * outbound one as worth dialling again. */
void net_useful(struct net *n, struct peer *p) {
	struct entry *e = book_find(n, &p->a);
	p->last_relay = mono_ms();
	if (p->outbound && e)
		e->tried |= USEFUL;
}

/* Register the layer above's handlers of a peer whose handshake is done
 * (ready) and of one about to be freed (gone), each called with arg. */
void net_on_peers(struct net *n, net_peer_fn ready, net_peer_fn gone,
                  void *arg) {
	n->ready = ready;
	n->gone = gone;
	n->up = arg;
}

/* Register fn (called with arg) for the messages of command cmd. */
void net_handle(struct net *n, const char *cmd, net_fn fn, void *arg) {
	struct count *c = counter(n, cmd);
	c->fn = fn;
	c->arg = arg;
}

/* Handle a message by its command's handler; unknown ones are ignored, as
 * Bitcoin does.  Before the handshake only version and verack may come.
 * A request (a command that begins with "get") is charged to the peer's
 * debt by the time its answer took: what it cost, not a guess. */
static void handle_frame(struct net *n, struct peer *p, const char *cmd,
                         const uint8_t *b, size_t len) {
	struct count *c = counter(n, cmd);
	const char *bad = NULL;
	int64_t start = mono_us();
	c->in++;
	c->in_bytes += FRAME_HEAD + len;
	if (!p->handshaked && strcmp(cmd, "version") && strcmp(cmd, "verack"))
		bad = "message before the handshake";
	else if (c->fn)
		bad = c->fn(c->arg, p, b, len);
	if (bad)
		net_misbehave(n, p, W_MALFORMED, bad);
	if (!strncmp(cmd, "get", 3)) {
		p->debt += mono_us() - start;
		n->owing = 1;
	}
}

/* Pay off the peers' debts for the time since the last turn: answering
 * requests gets SHARE_PCT of the node's time, shared equally among the
 * peers that owe.  So one peer or 117 take the same share of the node,
 * and a peer that asks little is served at once.  (While nobody owes, an
 * idle node walks no list of its peers.) */
static void repay(struct net *n) {
	int64_t now = mono_us(), owing = 0, pay;
	struct peer *p;
	for (p = n->peers; p && n->owing; p = p->next)
		owing += p->debt > 0;
	pay = owing ? (now - n->repaid_at) * SHARE_PCT / 100 / owing : 0;
	for (p = n->peers; p && owing; p = p->next)
		p->debt = p->debt > pay ? p->debt - pay : 0;
	n->owing = owing > 0;
	n->repaid_at = now;
}

/* ==== SOCKS5 (RFC 1928): every dial through -x's proxy ==== */
/* Queue bytes that are no frame (for the proxy) and send them. */
static void send_raw(struct net *n, struct peer *p, const uint8_t *b,
                     size_t len) {
	memcpy(buf_room(n, &p->out, len), b, len);
	p->out.len += len;
	write_out(n, p);
}

/* A connection is up: send our version, or first, to the proxy, its
 * greeting: version 5, one method, 0 (no authentication). */
static void greet(struct net *n, struct peer *p) {
	static const uint8_t hello[] = { 5, 1, 0 };
	if (!n->o.proxy) {
		send_version(n, p);
		return;
	}
	p->socks = 1;
	send_raw(n, p, hello, 3);
}

/* Ask the proxy to connect to the peer: by name if it has one (see
 * resolve()), else by its IPv4 or IPv6 address; the port big-endian. */
static void socks_request(struct net *n, struct peer *p) {
	uint8_t r[5 + 255 + 2] = { 5, 1, 0, 4 };
	const char *name = map_get(&n->names, p->a.ip);
	size_t k = 20;
	if (name) {
		r[3] = 3;
		r[4] = strlen(name);
		memcpy(r + 5, name, r[4]);
		k = 5 + r[4];
	} else if (is_v4(&p->a)) {
		r[3] = 1;
		memcpy(r + 4, p->a.ip + 12, 4);
		k = 8;
	} else {
		memcpy(r + 4, p->a.ip, 16);
	}
	r[k] = p->a.port >> 8;
	r[k + 1] = p->a.port & 0xff;
	send_raw(n, p, r, k + 2);
}

/* Read the proxy's answers: to the greeting, 5 | 0 (no authentication);
 * to the request, 5 | 0 (connected) | 0 | type | its address | port, and
 * then the peer is ours: our version goes.  Returns 1 while they are not
 * all here (or the proxy said no: the peer is dropped). */
static int socks_reply(struct net *n, struct peer *p) {
	size_t have = buf_size(&p->in), need = p->socks == 1 ? 2 : 5;
	const uint8_t *b = have ? p->in.data + p->in.off : NULL;
	if (have >= need && p->socks == 2)
		need = 6 + (b[3] == 1 ? 4 : b[3] == 4 ? 16 : 1 + b[4]);
	if (have < need) return 1;
	if (b[0] != 5 || b[1] != 0) {
		net_drop(n, p, "the proxy said no");
		return 1;
	}
	buf_take(n, &p->in, need);
	if (p->socks == 1) {
		p->socks = 2;
		socks_request(n, p);
		return 1;
	}
	p->socks = 0;
	send_version(n, p);
	return 0;
}

/* The address of HOST:PORT: for a node behind a proxy, which does no
 * lookup of its own, the host (a name, an .onion one, or an IP) stands
 * as fd and 15 bytes of its hash, remembered, so that the proxy is asked
 * for it by name. */
static int resolve(struct net *n, const char *text, struct naddr *a) {
	const char *colon = strrchr(text, ':');
	size_t k = colon ? (size_t)(colon - text) : 0;
	char host[256];
	uint8_t h[SHA256_LEN];
	if (!n->o.proxy || !k || k >= sizeof host)
		return net_resolve(text, a);
	memcpy(host, text, k);
	host[k] = 0;
	sha256(host, k, h);
	a->ip[0] = 0xfd;
	memcpy(a->ip + 1, h, 15);
	a->port = atoi(colon + 1);
	if (!a->port) return failed("'%s' is not HOST:PORT", text);
	if (!map_get(&n->names, a->ip))
		map_put(&n->names, a->ip, xmemdup(host, k + 1));
	return 0;
}

/* A peer's turn: handle up to FRAMES_TURN of the whole frames it sent,
 * while it reads our answers and owes less than DEBT_MAX; the rest wait
 * for its next turn (back-pressure: it is not read meanwhile).  Before
 * the handshake frames are small. */
static void frames(struct net *n, struct peer *p) {
	const uint8_t *payload;
	const char *why = "";
	char cmd[FRAME_CMD + 1];
	size_t plen, at = 0;
	long used = 0;
	int k = 0;
	if (p->socks && socks_reply(n, p)) return;
	while (p->fd >= 0 && at < buf_size(&p->in) &&
	       buf_size(&p->out) < SEND_HIGH && k < FRAMES_TURN &&
	       p->debt < DEBT_MAX &&
	       (used = frame_parse(p->in.data + p->in.off + at,
	                           buf_size(&p->in) - at, n->o.p->magic,
	                           p->handshaked ? MAX_PAYLOAD : GREET_MAX, cmd,
	                           &payload, &plen, &why)) > 0) {
		p->last_recv = p->frame_at = mono_ms();
		handle_frame(n, p, cmd, payload, plen);
		at += used;
		k++;
	}
	if (used < 0 && p->fd >= 0)
		net_misbehave(n, p, W_FATAL, why);
	if (at)
		buf_take(n, &p->in, at);
	p->backlog = buf_size(&p->in) > 0 &&
	             (k == FRAMES_TURN || p->debt >= DEBT_MAX);
	n->backlog |= p->backlog;
}

/* Read what the socket has, within the budget, and handle it. */
static void receive(struct net *n, struct peer *p) {
	ssize_t k = read(p->fd, scratch, sizeof scratch);
	if (k < 0 && WOULD_BLOCK) return;
	if (k <= 0) {
		net_drop(n, p, k ? strerror(errno) : "closed by peer");
		return;
	}
	if (!buf_size(&p->in))
		p->frame_at = mono_ms();
	memcpy(buf_room(n, &p->in, k), scratch, k);
	p->in.len += k;
	shed(n, NULL);
	frames(n, p);
}

/* ==== Connections ==== */
/* Make a socket non-blocking; returns 0 or -1. */
static int nonblock(int fd) {
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* A new peer on fd. */
static struct peer *add_peer(struct net *n, int fd, const struct naddr *a,
                             int outbound) {
	struct peer *p = xmalloc(sizeof *p);
	int one = 1;                   /* (no Nagle: each message at once) */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	p->fd = fd;
	p->a = *a;
	p->outbound = outbound;
	p->since = p->last_recv = p->ping_at = mono_ms();
	p->frame_at = p->sent_at = p->since;
	p->min_ping = -1;
	p->next = n->peers;
	n->peers = p;
	if (outbound)
		n->nout++;
	else
		n->nin++;
	return p;
}

/* Free the peers that were dropped. */
static void sweep(struct net *n) {
	struct peer **pp = &n->peers, *p;
	if (!n->dropped) return;
	n->dropped = 0;
	for (p = *pp; p; p = *pp) {
		if (p->fd >= 0) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		if (p->handshaked && n->gone)
			n->gone(n->up, p);
		buf_free(n, &p->in);
		buf_free(n, &p->out);
		free(p);
	}
}

/* Start connecting to a, from our listening address if it is of a's
 * family (so the far end can tell us); returns 0, or -1 on failure. */
static int dial(struct net *n, const struct naddr *a) {
	struct sockaddr_storage ss, me;
	struct naddr src = n->self;
	socklen_t len = to_sockaddr(n->o.proxy ? &n->proxy : a, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || nonblock(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	src.port = 0;
	if (n->self.port && !n->o.proxy && is_v4(&n->self) == is_v4(a) &&
	    bind(fd, (struct sockaddr *)&me, to_sockaddr(&src, &me)) < 0)
		log_msg(LOG_DEBUG, "cannot bind the source address");
	struct peer *p = add_peer(n, fd, a, 1);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		greet(n, p);
	} else if (errno == EINPROGRESS) {
		p->connecting = 1;
	} else {
		net_drop(n, p, strerror(errno));
		return -1;
	}
	log_msg(LOG_DEBUG, "connecting to %s", net_text(a));
	return 0;
}

/* Connect to "host:port" now (control socket, connect-only mode). */
int net_connect(struct net *n, const char *text) {
	struct naddr a;
	if (resolve(n, text, &a)) return -1;
	if (banned(n, &a)) return failed("%s is banned", net_text(&a));
	book_add(n, &a, wall_s());
	if (dial(n, &a)) return failed("cannot connect to %s", net_text(&a));
	return 0;
}

/* How many live peers, outbound or inbound, are in a's network group. */
static int group_peers(const struct net *n, const struct naddr *a,
                       int outbound) {
	uint8_t g[5], h[5];
	int count = 0;
	net_group(a, g);
	for (struct peer *p = n->peers; p; p = p->next) {
		net_group(&p->a, h);
		count += p->fd >= 0 && p->outbound == outbound &&
		         !memcmp(g, h, 5);
	}
	return count;
}

/* Do we have a connection to exactly this address?  (Like Bitcoin, a
 * peer connected to us inbound may still be dialled out.) */
static int connected(const struct net *n, const struct naddr *a) {
	for (struct peer *p = n->peers; p; p = p->next)
		if (p->fd >= 0 && !memcmp(&p->a, a, sizeof *a)) return 1;
	return 0;
}

/* Open one more outbound connection: a random address of the book (one
 * that gave us news first, for the first 25 tries, then one that once
 * worked, to 50; then any, walking the whole book from a random place, so
 * that nobody is found only when nobody is there), not connected, banned
 * or backing off, in a group with no outbound peer.  Returns 0, or -1 if
 * it found nobody (the caller then waits RETRY_BASE s). */
static int pick_outbound(struct net *n) {
	int64_t now = mono_ms() / 1000, wait;
	uint64_t from = random64();
	for (size_t tries = 0; n->nbook && tries < 50 + n->nbook; tries++) {
		struct entry *e = &n->book[(tries < 50 ? random64() :
		                            from + tries) % n->nbook];
		wait = e->attempts < 9 ? RETRY_BASE << e->attempts : RETRY_MAX;
		if ((tries < 25 && !(e->tried & USEFUL)) || (tries < 50 &&
		    !e->tried) || connected(n, &e->a) ||
		    banned(n, &e->a) ||
		    (e->tried_at && now - e->tried_at < wait) ||
		    (!n->o.nogroups && group_peers(n, &e->a, 1)))
			continue;
		e->tried_at = now;
		e->attempts++;          /* undone by a completed handshake */
		dial(n, &e->a);
		return 0;
	}
	return -1;
}

/* Is inbound peer v[i] spared from eviction: among the PROTECT_PING
 * fastest, the PROTECT_RELAY last useful, or the PROTECT_GROUP oldest
 * alone in their group (cnt[j], its group's connections, is 1)?  Ranks
 * are strict (a tie goes to the first in v), so no more than those are
 * spared, however alike. */
static int spared(struct peer **v, const int *cnt, int k, int i) {
	const struct peer *p = v[i], *q;
	int j, faster = 0, fresher = 0, older_alone = 0;
	for (j = 0; j < k; j++) {
		q = v[j];
		faster += q->min_ping >= 0 &&
		          (q->min_ping < p->min_ping ||
		           (q->min_ping == p->min_ping && j < i));
		fresher += q->last_relay > p->last_relay ||
		           (q->last_relay == p->last_relay && j < i);
		older_alone += cnt[j] == 1 && (q->since < p->since ||
		                            (q->since == p->since && j < i));
	}
	return (p->min_ping >= 0 && faster < PROTECT_PING) ||
	       (p->last_relay && fresher < PROTECT_RELAY) ||
	       (cnt[i] == 1 && older_alone < PROTECT_GROUP);
}

/* The inbound peer to evict for a newcomer: of those not spared (or of all, if
 * force), the youngest in the group holding most connections; NULL if none. */
static struct peer *evict_choice(struct net *n, int force) {
	struct peer **v = xcalloc(n->nin + 1, sizeof *v), *p, *best;
	int *cnt = xcalloc(n->nin + 1, sizeof *cnt), k = 0, i, most = 0;
	for (p = n->peers; p && k <= n->nin; p = p->next)
		if (p->fd >= 0 && !p->outbound)
			v[k++] = p;
	for (i = 0; i < k; i++)
		cnt[i] = group_peers(n, &v[i]->a, 0);
	for (i = 0, best = NULL; i < k; i++)
		if ((force || !spared(v, cnt, k, i)) &&
		    (!best || cnt[i] > most ||
		     (cnt[i] == most && v[i]->since > best->since))) {
			most = cnt[i];
			best = v[i];
		}
	free(v);
	free(cnt);
	return best;
}

/* Accept an inbound connection: not banned, at most MAX_PER_IP from one
 * address, and when inbound is full only by evicting someone (anyone, for
 * a newcomer from a group not among them). */
static void accept_peer(struct net *n) {
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = accept(n->listen_fd, (struct sockaddr *)&ss, &len), same = 0;
	struct peer *p, *out;
	struct naddr a;
	if (fd < 0) return;
	from_sockaddr(&a, (struct sockaddr *)&ss);
	for (p = n->peers; p; p = p->next)
		same += p->fd >= 0 && !memcmp(p->a.ip, a.ip, 16);
	if (banned(n, &a) || same >= MAX_PER_IP || nonblock(fd) < 0) {
		log_msg(LOG_DEBUG, "refused %s: %s", net_text(&a),
		        banned(n, &a) ? "banned" : "too many from one address");
		close(fd);
		return;
	}
	/* Inbound is full: evict one not spared, or (for a newcomer from a
	 * group not among them) anyone.  The evicted peer is freed by the
	 * next sweep, not mid-pass. */
	if (n->nin >= n->o.max_in) {
		out = evict_choice(n, 0);
		if (!out && !group_peers(n, &a, 0))
			out = evict_choice(n, 1);
		if (!out) {
			close(fd);
			return;
		}
		net_drop(n, out, "evicted for a newcomer");
	}
	add_peer(n, fd, &a, 0);
}

/* An outbound socket became writable: did the connection succeed? */
static void connected_out(struct net *n, struct peer *p) {
	int e = 0;
	socklen_t len = sizeof e;
	getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len);
	p->connecting = 0;
	if (e)
		net_drop(n, p, strerror(e));
	else
		greet(n, p);
}

/* ==== Timers ==== */
/* A peer's timers: drop it if it does not finish its handshake, goes
 * quiet, or leaves a frame half sent or half read too long; ping it when
 * its time comes. */
static void peer_timers(struct net *n, struct peer *p, int64_t now,
                        int64_t *next) {
	uint8_t b[8];
	if (!p->handshaked &&
	    due(now, p->since + n->o.handshake_s * 1000, next))
		net_drop(n, p, p->connecting ? "connect timeout" :
		         "handshake timeout");
	else if (due(now, p->last_recv + n->o.idle_s * 1000, next))
		net_drop(n, p, "no traffic");
	else if (buf_size(&p->out) &&
	         due(now, p->sent_at + n->o.frame_s * 1000, next))
		net_drop(n, p, "does not read");
	else if (buf_size(&p->in) &&
	         due(now, p->frame_at + n->o.frame_s * 1000, next))
		net_drop(n, p, "frame unfinished in time");
	else if (p->handshaked && !p->ping_nonce &&
	         due(now, p->ping_at + n->o.ping_s * 1000, next)) {
		p->ping_nonce = random64() | 1;
		p->ping_at = now;
		put64le(b, p->ping_nonce);
		net_send(n, p, "ping", b, 8);
	}
}

/* Run the network's timers that are due: free the dropped peers, each
 * peer's timers, dial out, write bans.dat and peers.dat; bring *next
 * forward to when the next is due (the loop sleeps till then). */
void net_timers(struct net *n, int64_t *next) {
	int64_t now = mono_ms();
	sweep(n);
	/* The peers' timers, when the first is due; a timer set meanwhile (a
	 * new peer, a frame begun, a pong) is due no sooner than the shortest
	 * timeout, and the walk never waits longer. */
	if (now >= n->walk_at) {
		n->walk_at = now + n->shortest;
		for (struct peer *p = n->peers; p; p = p->next)
			if (p->fd >= 0)
				peer_timers(n, p, now, &n->walk_at);
	}
	due(now, n->walk_at, next);
	if (n->bans_dirty && due(now, n->bans_saved + BAN_SAVE_MS, next)) {
		save(n, "bans.dat", bans_rw);
		n->bans_dirty = 0;
		n->bans_saved = now;
	}
	/* One dial every DIAL_MS while outbound peers are lacking (with
	 * nobody to dial, again in RETRY_BASE s or when news comes); in
	 * connect-only mode, a redial of its peers every RETRY_BASE s. */
	if ((n->o.nconnect || n->nout < n->o.max_out) &&
	    due(now, n->dial_at, next)) {
		n->dial_at = now + DIAL_MS;
		for (size_t i = 0; i < n->o.nconnect; i++)
			if (!connected(n, &n->fixed[i]))
				dial(n, &n->fixed[i]);
		if (n->nanchors && !n->o.nconnect)
			dial(n, &n->anchors[--n->nanchors]);
		else if (n->o.nconnect || pick_outbound(n))
			n->dial_at = now + RETRY_BASE * 1000;
	}
	if (due(now, n->saved_at + SAVE_EVERY * 1000, next)) {
		save(n, "peers.dat", book_rw);
		n->saved_at = now;
	}
	/* While frames wait, the next turn; while busy, the cold peers. */
	if (n->backlog)
		due(now, now + 1, next);
	if (n->busy)
		due(now, n->cold_at + COLD_MS, next);
}

/* ==== The loop's side: what to watch, what happened ==== */
/* Fill pfd (room for n->maxfds) with the listening socket and the peers
 * (n->who[i]: each slot's peer); returns how many.  While the loop is busy
 * (the last poll reported a peer), peers silent for HOT_MS are left out
 * but every COLD_MS: idle connections cost a busy node little.  An idle
 * loop watches everyone, and sleeps. */
int net_pollfds(struct net *n, struct pollfd *pfd) {
	int64_t now = mono_ms();
	int k = 0, hot;
	int cold = !n->busy || now - n->cold_at >= COLD_MS; /* polled now */
	if (n->listen_fd >= 0 && n->nin < n->o.max_in + 1) {
		pfd[k].fd = n->listen_fd;
		pfd[k].events = POLLIN;
		n->who[k++] = NULL;
	}
	shed(n, NULL);
	if (cold)
		n->cold_at = now;
	for (struct peer *p = n->peers; p && k < n->maxfds; p = p->next) {
		if (p->fd < 0) continue;
		hot = buf_size(&p->out) || p->outbound ||
		      now - p->last_recv < HOT_MS;
		if (!hot && !cold) continue;
		pfd[k].fd = p->fd;
		pfd[k].events = 0;
		if (p->connecting || buf_size(&p->out))
			pfd[k].events |= POLLOUT;
		if (!p->connecting && !p->backlog &&
		    buf_size(&p->out) < SEND_HIGH)
			pfd[k].events |= POLLIN;
		n->who[k++] = p;
	}
	return k;
}

/* Act on what poll() reported for net_pollfds' slots: a peer that sent
 * something, or read what it was sent, has its turn at what it sent; then
 * so has every peer whose frames wait. */
void net_events(struct net *n, const struct pollfd *pfd, int count) {
	struct peer *p;
	int waiting = n->backlog;
	repay(n);
	n->backlog = 0;
	n->busy = 0;
	for (int i = 0; i < count; i++) {
		if (!pfd[i].revents) continue;
		n->busy = 1;
		p = n->who[i];
		if (!p)
			accept_peer(n);
		else if (p->fd != pfd[i].fd)
			continue;              /* dropped meanwhile */
		else if (p->connecting)
			connected_out(n, p);
		else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			receive(n, p);
		if (p && p->fd >= 0 && (pfd[i].revents & POLLOUT)) {
			write_out(n, p);
			frames(n, p);
		}
	}
	for (p = n->peers; p && waiting; p = p->next)
		if (p->backlog)
			frames(n, p);
}

/* ==== Opening and closing ==== */
/* A listening TCP socket on a; returns its fd, or -1 (failed). */
static int listen_on(const struct naddr *a) {
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(a, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	                         sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0 ||
	    nonblock(fd) < 0) {
		failed("cannot listen on %s: %s", net_text(a), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Start the network side of a node: the open-file limit raised (each peer
 * is a descriptor), bans, address book, seeds, the listening socket, our
 * own handlers.  Returns NULL (failed) if a socket cannot be made. */
struct net *net_open(const struct net_opts *o) {
	struct net *n = xmalloc(sizeof *n);
	int64_t t[] = { o->handshake_s, o->ping_s, o->idle_s, o->frame_s };
	struct rlimit r;
	struct naddr a;
	n->o = *o;
	n->shortest = NEVER_MS;            /* (net_timers' longest wait) */
	for (int i = 0; i < 4; i++)
		if (t[i] * 1000 < n->shortest)
			n->shortest = t[i] * 1000;
	n->listen_fd = -1;
	n->budget =
	        BUDGET_BASE + BUDGET_PEER * (o->max_in + o->max_out);
	n->book = xcalloc(BOOK_MAX, sizeof *n->book);
	map_init(&n->where, 18);
	map_init(&n->bans, 16);
	n->nonce = random64();
	n->saved_at = mono_ms();
#ifdef RLIMIT_NOFILE                    /* (XSI) */
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
#endif
	file_load(path_of(n, "bans.dat"), 8 + BAN_REC * BAN_FILE_MAX, bans_rw,
	          n);
	n->bans_dirty = 0;
	book_load(n);
	file_load(path_of(n, "anchors.dat"), 8 + ADDR_REC * MAX_ANCHORS,
	          anchors_rw, n);
	unlink(path_of(n, "anchors.dat"));      /* (used once, as Bitcoin) */
	map_init(&n->names, 16);
	if (o->proxy && net_resolve(o->proxy, &n->proxy))
		goto fail;
	n->fixed = xcalloc(o->nconnect, sizeof *n->fixed);
	for (size_t i = 0; i < o->nconnect; i++)
		if (resolve(n, o->connect[i], &n->fixed[i]))
			goto fail;
	for (size_t i = 0; i < o->nseeds; i++)
		if (resolve(n, o->seeds[i], &a) == 0)
			book_add(n, &a, wall_s());
		else
			log_msg(LOG_WARN, "seed %s", failure);
	if (o->listen &&
	    (net_resolve(o->listen, &n->self) ||
	     (n->listen_fd = listen_on(&n->self)) < 0))
		goto fail;
	net_handle(n, "version", on_version, n);
	net_handle(n, "verack", on_verack, n);
	net_handle(n, "ping", on_ping, n);
	net_handle(n, "pong", on_pong, n);
	net_handle(n, "getaddr", on_getaddr, n);
	net_handle(n, "addr", on_addr, n);
	n->maxfds = o->max_in + o->max_out + EXTRA_FDS + 1;
	n->who = xcalloc(n->maxfds, sizeof *n->who);
	log_msg(LOG_INFO, "node up on %s, listening on %s", o->p->name,
	        o->listen ? net_text(&n->self) : "nothing");
	return n;
fail:
	net_close(n);
	return NULL;
}

/* Save the address book and bans, close every socket, free everything. */
void net_close(struct net *n) {
	if (!n) return;
	if (n->who) {
		save(n, "peers.dat", book_rw);
		save(n, "bans.dat", bans_rw);
		save(n, "anchors.dat", anchors_rw);
	}
	for (struct peer *p = n->peers; p; p = p->next)
		if (p->fd >= 0) {
			close(p->fd);
			p->fd = -1;
		}
	n->dropped = 1;
	sweep(n);
	if (n->listen_fd >= 0)
		close(n->listen_fd);
	map_free(&n->bans, 0);
	free(n->ring);
	map_free(&n->where, 0);
	map_free(&n->names, 1);
	free(n->book);
	free(n->who);
	free(n->fixed);
	free(n);
}
