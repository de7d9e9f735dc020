/*
 * chain.c - the ledger every node checks for itself: blocks and
 * transactions, their rules, the block files, the set of unspent outputs
 * (UTXO set), the choice of the chain with the most work, and the mempool.
 *
 * A block arrives in chain_add_block().  Its header is checked and joins
 * the block index, a tree of every header we know keyed by hash.  Its body
 * is checked on its own, then appended to a block file and flushed.  Then
 * activate() moves the active chain to the block with the most work,
 * disconnecting blocks back to the fork and connecting the new ones.
 * Connecting spends the block's inputs from the UTXO set and keeps what
 * they spent (undo data), so the block can be disconnected again.
 * Transactions wait in the mempool until a block includes them.  On start,
 * chain_open() replays the block files through that same path: the files
 * alone rebuild everything.  Start reading at chain_add_block().
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

#define MAX_FUTURE   (2 * 60 * 60)  /* seconds a block may be ahead of our
                                       clock, as Bitcoin */
#define MEDIAN_SPAN  11             /* a block's time must pass the median of
                                       this many before it, as Bitcoin */
#define FILE_MAX     (128u << 20)   /* bytes in a block file before the next
                                       one starts, as Bitcoin */
#define RECORD_HEAD  8              /* magic | u32 length */
#define RECORD_TAIL  4              /* checksum */
#define POOL_CAP     (32u << 20)    /* mempool bytes by default */
#define POOL_EXPIRY  (14 * 24 * 60 * 60)  /* seconds a transaction may wait,
                                             as Bitcoin Core (336 hours) */
#define TX_VERSION   1              /* the only transaction version */
#define MIN_INPUT    (OUTPOINT_LEN + LMS_PUB_LEN + 2)  /* unsigned input */
#define MIN_OUTPUT   (8 + ADDR_LEN)
#define MIN_TX       (4 + 2 + MIN_INPUT + 2 + MIN_OUTPUT)
/* The genesis blocks: a coinbase paying to the all-zero address, which
 * nobody can spend; its key field carries a line of text. */
#define GENESIS_MAIN \
	"0100000000000000000000000000000000000000000000000000000000000000" \
	"000000008b9f73506a511633e35407a25af9cb9b6b4e58021ebe17ee3f84102a" \
	"110fc0fa00df006bffff0f1e6530040001000000010000000100000000000000" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"00000000000070656572636861696e3a206120736d616c6c2070726f6f662d6f" \
	"662d776f726b206e6f646500000000000000000000000000010000f2052a0100" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"0000"
#define GENESIS_REGTEST \
	"0100000000000000000000000000000000000000000000000000000000000000" \
	"000000008b9f73506a511633e35407a25af9cb9b6b4e58021ebe17ee3f84102a" \
	"110fc0fa00df006bffff7f200300000001000000010000000100000000000000" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"00000000000070656572636861696e3a206120736d616c6c2070726f6f662d6f" \
	"662d776f726b206e6f646500000000000000000000000000010000f2052a0100" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"0000"
#define GENESIS_LOCAL \
	"0100000000000000000000000000000000000000000000000000000000000000" \
	"000000008b9f73506a511633e35407a25af9cb9b6b4e58021ebe17ee3f84102a" \
	"110fc0fa00df006bffff0f1f5302000001000000010000000100000000000000" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"00000000000070656572636861696e3a206120736d616c6c2070726f6f662d6f" \
	"662d776f726b206e6f646500000000000000000000000000010000f2052a0100" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"0000"
#define EXTRANONCE   (HEADER_LEN + 4 + 4 + 2 + OUTPOINT_LEN)  /* where the
                              coinbase's free key field starts in a block */

/* A block index entry's status bits. */
#define HAVE_DATA 1  /* the body is in a block file */
#define LINKED    2  /* it and every block before it have bodies */
#define FAILED    4  /* it, or a block before it, broke a rule */

/* An unsigned 256-bit number (targets, work): w[0] is the lowest word. */
typedef struct {
	uint32_t w[8];
} u256;

/* One header we know: a node of the block tree. */
struct bnode {
	uint8_t hash[SHA256_LEN];
	uint8_t hdr[HEADER_LEN];
	struct bnode *prev, *child, *sibling; /* parent, first child, next
	                                         child of the same parent */
	uint32_t height;
	uint32_t seq;            /* arrival order: the first seen wins ties */
	u256 work;               /* total work of the chain ending here */
	unsigned status;         /* HAVE_DATA | LINKED | FAILED */
	int reason;              /* why it FAILED */
	uint32_t file, pos, len; /* body: len bytes at pos in blkFILE.dat */
	struct coin *undo;       /* while connected: coins its inputs spent */
	uint32_t nundo;
};

/* A transaction waiting in the mempool. */
struct ptx {
	struct tx tx;            /* parsed; tx.raw is raw */
	uint8_t *raw;
	uint64_t fee;            /* inputs minus outputs */
	int64_t time;            /* when it arrived */
	uint32_t seq;            /* arrival order */
};

/* A block, parsed: transactions point into raw. */
struct block {
	const uint8_t *raw;
	size_t len;
	uint32_t ntx;
	struct tx *tx;
};

/* Transactions set aside during a reorg, to go back into the mempool. */
struct txlist {
	struct { uint8_t *raw; size_t len; int64_t time; } *v;
	size_t n, cap;
};

struct chain {
	const struct params *p;
	char *dir;               /* NULL: nothing is stored */
	int lock, fd;            /* the lock file; the block file appended to */
	uint32_t filenum, filesize, file_max;
	uint8_t *genesis;        /* the genesis block's bytes */
	size_t genesis_len;
	struct map index;        /* block hash -> struct bnode */
	struct bnode *root;      /* the genesis block */
	struct bnode **active;   /* active[i]: the block at root height + i */
	size_t nactive, cap;
	struct bnode *best;      /* most work, LINKED, not FAILED */
	struct bnode **hdrs;     /* hdrs[i]: the block at root height + i on
	                            the chain of the best header, which sync
	                            fetches bodies for (bodies or not) */
	size_t nhdrs, hcap;
	uint32_t seq;
	struct map utxo;         /* outpoint -> struct coin */
	struct map pool;         /* txid -> struct ptx */
	struct map spends;       /* outpoint -> struct ptx spending it */
	size_t pool_bytes, pool_cap;
	int64_t now;             /* 0: the clock; tests set a time */
	int lazy;                /* 1: chain_flush() syncs the block file */
	struct bnode *fresh;     /* the block add_block is checking... */
	struct block *fresh_block; /* ...parsed: no need to read it back */
	uint32_t work_bits;      /* the last block_work() answer, cached */
	u256 work_of;
	char report[512];        /* damage found in the block files */
};

/* ==== Memory and the hash table ==== */

/* Stop the program: memory or our own files failed us, not a peer. */
static void fatal(const char *what)
{
	fprintf(stderr, "peerchain: %s\n", what);
	abort();
}

/* malloc that never returns NULL. */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fatal("out of memory");
	return p;
}

/* calloc that never returns NULL. */
void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		fatal("out of memory");
	return p;
}

/* An empty table for keys of klen bytes (8 to OUTPOINT_LEN). */
void map_init(struct map *m, size_t klen)
{
	static uint64_t count;

	m->nb = 16;
	m->n = 0;
	m->klen = klen;
	m->b = xcalloc(m->nb, sizeof *m->b);
	m->salt = ((uint64_t)time(NULL) << 24 ^ (uint64_t)getpid() << 8 ^
	           ++count) * 0x9e3779b97f4a7c15ULL;
}

/* The bucket of a key: keys are hashes, but an attacker can grind their
 * low bits, so mix them with a secret salt (multiply-shift hashing). */
static size_t slot(const struct map *m, const uint8_t *key)
{
	uint64_t h = get64le(key) ^ m->salt;

	if (m->klen > SHA256_LEN)
		h ^= get32le(key + SHA256_LEN) * 0xff51afd7ed558ccdULL;
	return (size_t)((h * 0x9e3779b97f4a7c15ULL) >> 32) & (m->nb - 1);
}

/* The value stored under key, or NULL. */
void *map_get(const struct map *m, const uint8_t *key)
{
	struct ment *e;

	for (e = m->b[slot(m, key)]; e; e = e->next)
		if (memcmp(e->key, key, m->klen) == 0)
			return e->val;
	return NULL;
}

/* Twice the buckets, when there are as many entries as buckets. */
static void grow(struct map *m)
{
	struct ment **old = m->b, *e, *next;
	size_t i, n = m->nb, s;

	m->nb *= 2;
	m->b = xcalloc(m->nb, sizeof *m->b);
	for (i = 0; i < n; i++) {
		for (e = old[i]; e; e = next) {
			next = e->next;
			s = slot(m, e->key);
			e->next = m->b[s];
			m->b[s] = e;
		}
	}
	free(old);
}

/* Store val under key, which must not be in the table yet. */
void map_put(struct map *m, const uint8_t *key, void *val)
{
	struct ment *e = xmalloc(sizeof *e);
	size_t s;

	if (m->n >= m->nb)
		grow(m);
	s = slot(m, key);
	memcpy(e->key, key, m->klen);
	e->val = val;
	e->next = m->b[s];
	m->b[s] = e;
	m->n++;
}

/* Remove key; returns its value, or NULL if it was not there. */
void *map_del(struct map *m, const uint8_t *key)
{
	struct ment **pp, *e;
	void *val;

	for (pp = &m->b[slot(m, key)]; (e = *pp); pp = &e->next) {
		if (memcmp(e->key, key, m->klen) == 0) {
			*pp = e->next;
			val = e->val;
			free(e);
			m->n--;
			return val;
		}
	}
	return NULL;
}

/* Free the table (not the values: the caller owns those). */
void map_free(struct map *m)
{
	struct ment *e, *next;
	size_t i;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(m->b);
	m->b = NULL;
	m->n = m->nb = 0;
}

/* Every value in the table, in a new array of m->n pointers. */
void **map_values(const struct map *m)
{
	void **v = xcalloc(m->n, sizeof *v);
	struct ment *e;
	size_t i, k = 0;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e; e = e->next)
			v[k++] = e->val;
	return v;
}

/* ==== 256-bit numbers: targets and work ==== */

/* -1, 0 or 1 as a is below, equal to or above b. */
static int u_cmp(const u256 *a, const u256 *b)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

/* a += b (modulo 2^256). */
static void u_add(u256 *a, const u256 *b)
{
	uint64_t carry = 0;
	int i;

	for (i = 0; i < 8; i++) {
		carry += (uint64_t)a->w[i] + b->w[i];
		a->w[i] = (uint32_t)carry;
		carry >>= 32;
	}
}

/* a -= b, for a >= b. */
static void u_sub(u256 *a, const u256 *b)
{
	uint64_t borrow = 0, d;
	int i;

	for (i = 0; i < 8; i++) {
		d = (uint64_t)a->w[i] - b->w[i] - borrow;
		a->w[i] = (uint32_t)d;
		borrow = d >> 63;
	}
}

/* a *= m; returns the word that overflowed past 256 bits. */
static uint32_t u_mul32(u256 *a, uint32_t m)
{
	uint64_t carry = 0;
	int i;

	for (i = 0; i < 8; i++) {
		carry += (uint64_t)a->w[i] * m;
		a->w[i] = (uint32_t)carry;
		carry >>= 32;
	}
	return (uint32_t)carry;
}

/* a = (hi * 2^256 + a) / d, rounding down, for hi < d. */
static void u_div32(u256 *a, uint32_t hi, uint32_t d)
{
	uint64_t r = hi;
	int i;

	for (i = 7; i >= 0; i--) {
		r = r << 32 | a->w[i];
		a->w[i] = (uint32_t)(r / d);
		r %= d;
	}
}

/* q = n / d, by long division one bit at a time (d below 2^255). */
static void u_div(u256 *q, const u256 *n, const u256 *d)
{
	u256 r;
	int i, k;

	memset(q, 0, sizeof *q);
	memset(&r, 0, sizeof r);
	for (i = 255; i >= 0; i--) {
		for (k = 7; k > 0; k--)
			r.w[k] = r.w[k] << 1 | r.w[k - 1] >> 31;
		r.w[0] = r.w[0] << 1 | (n->w[i / 32] >> (i % 32) & 1);
		if (u_cmp(&r, d) >= 0) {
			u_sub(&r, d);
			q->w[i / 32] |= 1u << (i % 32);
		}
	}
}

/* A hash read as Bitcoin reads it: a little-endian number. */
static void u_from_hash(u256 *a, const uint8_t h[SHA256_LEN])
{
	int i;

	for (i = 0; i < 8; i++)
		a->w[i] = get32le(h + 4 * i);
}

/* The target that compact bits stand for: a 3-byte mantissa times
 * 256^(exponent - 3).  Returns 0 for a negative, zero or oversized one. */
static int target_of(uint32_t bits, u256 *t)
{
	uint8_t b[SHA256_LEN] = { 0 };
	uint32_t size = bits >> 24, word = bits & 0x007fffff, v;
	int i, pos, nonzero = 0;

	if (bits & 0x00800000)
		return 0;
	for (i = 0; i < 3; i++) {
		pos = (int)size - 3 + i;
		v = word >> 8 * i & 0xff;
		if (pos >= SHA256_LEN && v)
			return 0;
		if (pos >= 0 && pos < SHA256_LEN) {
			b[pos] = (uint8_t)v;
			nonzero |= v != 0;
		}
	}
	u_from_hash(t, b);
	return nonzero;
}

/* The compact bits of a target, rounding down as Bitcoin does. */
static uint32_t compact_of(const u256 *t)
{
	uint8_t b[SHA256_LEN];
	uint32_t word = 0;
	int i, size = SHA256_LEN;

	for (i = 0; i < 8; i++)
		put32le(b + 4 * i, t->w[i]);
	while (size > 0 && b[size - 1] == 0)
		size--;
	for (i = 1; i <= 3; i++)
		word = word << 8 | (size - i >= 0 ? b[size - i] : 0);
	if (word & 0x00800000) {
		word >>= 8;
		size++;
	}
	return (uint32_t)size << 24 | word;
}

/* The work a block with these bits proves: the expected number of hashes,
 * 2^256 / (target + 1), computed as ~target / (target + 1) + 1. */
static void block_work(struct chain *c, uint32_t bits, u256 *w)
{
	u256 t, n, one = { { 1 } };
	int i;

	if (bits == c->work_bits) {
		*w = c->work_of;
		return;
	}
	memset(w, 0, sizeof *w);
	if (target_of(bits, &t)) {
		for (i = 0; i < 8; i++)
			n.w[i] = ~t.w[i];
		u_add(&t, &one);
		u_div(w, &n, &t);
		u_add(w, &one);
	}
	c->work_bits = bits;
	c->work_of = *w;
}

/* ==== Network parameters ==== */

static const struct params nets[] = {
	/* Bitcoin mainnet: its header rules, for checking ours against the
	 * real chain.  Only headers: its transactions are not ours. */
	{ "bitcoin", { 0xf9, 0xbe, 0xb4, 0xd9 }, 0x1d00ffff, 2016, 600,
	  50 * COIN, 210000, 100, 8333,
	  "0100000000000000000000000000000000000000000000000000000000000000"
	  "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
	  "4b1e5e4a29ab5f49ffff001d1dac2b7c", 0 },
	/* peerchain's own network: a block a minute, a retarget a day. */
	{ "main", { 'p', 'c', 'm', 'n' }, 0x1e0fffff, 1440, 60,
	  50 * COIN, 210000, 100, 9333, GENESIS_MAIN, 0 },
	/* make localnet: a block every 5 s, a retarget every 10 blocks, from
	 * a target easy enough (4,096 hashes) that the first blocks come at
	 * once and coins mature within the first minute. */
	{ "local", { 'p', 'c', 'l', 'n' }, 0x1f0fffff, 10, 5,
	  50 * COIN, 210000, 10, 19333, GENESIS_LOCAL, 0 },
	/* Tests: the easiest target, no retarget. */
	{ "regtest", { 'p', 'c', 'r', 't' }, 0x207fffff, 0, 5,
	  50 * COIN, 150, 10, 19444, GENESIS_REGTEST, 0 },
};

/* The parameters of the network called name, or NULL. */
const struct params *chain_params(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof nets / sizeof nets[0]; i++)
		if (strcmp(nets[i].name, name) == 0)
			return &nets[i];
	return NULL;
}

static const char *const reasons[V_NREASONS] = {
	"ok", "already-known", "malformed", "too-big", "previous-unknown",
	"previous-invalid", "bad-bits", "bad-pow", "time-too-old",
	"time-too-new", "bad-coinbase", "bad-merkle-root", "duplicate-tx",
	"missing-input", "double-spend", "bad-signature", "key-not-address",
	"outputs-exceed-inputs", "amount-out-of-range", "coinbase-too-large",
	"immature-coinbase-spend", "mempool-conflict", "mempool-full",
	"storage-failed",
};

/* The short name of a reason code, as logs and the command line show it. */
const char *chain_reason(int r)
{
	return r >= 0 && r < V_NREASONS ? reasons[r] : "unknown";
}

/* ==== Hex ==== */

/* Write n bytes as 2n lowercase hex digits and a NUL. */
void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

/* The value of a hex digit, or -1. */
static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Read exactly 2n hex digits (and nothing more) into n bytes; returns 0,
 * or -1 if s is anything else. */
int hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = hexdigit(s[2 * i])) < 0 ||
		    (lo = hexdigit(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ==== Parsing: every read goes through take() ==== */

/* A read position in (buf, len) that refuses to run past the end. */
struct cur {
	const uint8_t *p;
	size_t left;
	int bad;                 /* a read ran past the end */
};

/* The next n bytes, or NULL (and bad set) if fewer are left. */
static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || n > c->left) {
		c->bad = 1;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return p;
}

/* The next little-endian integer of n = 2, 4 or 8 bytes; 0 past the end. */
static uint64_t take_int(struct cur *c, size_t n)
{
	const uint8_t *p = take(c, n);

	if (!p)
		return 0;
	return n == 2 ? get16le(p) : n == 4 ? get32le(p) : get64le(p);
}

/* Free what tx_parse allocated. */
void tx_free(struct tx *t)
{
	free(t->in);
	free(t->out);
	t->in = NULL;
	t->out = NULL;
}

/* Read one input; the count was checked against what is left. */
static void take_input(struct cur *c, struct txin *in)
{
	in->prev = take(c, OUTPOINT_LEN);
	in->index = in->prev ? get32le(in->prev + SHA256_LEN) : 0;
	in->pub = take(c, LMS_PUB_LEN);
	in->siglen = (size_t)take_int(c, 2);
	if (in->siglen > LMS_SIG_MAX)
		c->bad = 1;
	in->sig = take(c, in->siglen);
}

/* Parse a transaction at the start of (buf, len).  With used, it may be
 * followed by more bytes and *used gets its length; without, it must fill
 * buf exactly.  Returns V_OK or V_PARSE; t points into buf. */
int tx_parse(struct tx *t, const uint8_t *buf, size_t len, size_t *used)
{
	struct cur c = { buf, len, 0 };
	uint32_t i;

	memset(t, 0, sizeof *t);
	if (take_int(&c, 4) != TX_VERSION)
		return V_PARSE;
	t->nin = (uint32_t)take_int(&c, 2);
	if (c.bad || t->nin == 0 || t->nin > c.left / MIN_INPUT)
		return V_PARSE;
	t->in = xcalloc(t->nin, sizeof *t->in);
	for (i = 0; i < t->nin; i++)
		take_input(&c, &t->in[i]);
	t->nout = (uint32_t)take_int(&c, 2);
	if (c.bad || t->nout == 0 || t->nout > c.left / MIN_OUTPUT)
		goto bad;
	t->out = xcalloc(t->nout, sizeof *t->out);
	for (i = 0; i < t->nout; i++) {
		t->out[i].amount = take_int(&c, 8);
		t->out[i].addr = take(&c, ADDR_LEN);
	}
	if (c.bad || (!used && c.left))
		goto bad;
	t->raw = buf;
	t->len = len - c.left;
	sha256d(buf, t->len, t->id);
	if (used)
		*used = t->len;
	return V_OK;
bad:
	tx_free(t);
	return V_PARSE;
}

/* Free what block_parse allocated. */
static void block_free(struct block *b)
{
	uint32_t i;

	for (i = 0; i < b->ntx; i++)
		tx_free(&b->tx[i]);
	free(b->tx);
	b->tx = NULL;
	b->ntx = 0;
}

/* Parse a whole block: header, u32 count, transactions.  Returns V_OK or
 * V_PARSE (and then nothing is left allocated). */
static int block_parse(struct block *b, const uint8_t *buf, size_t len)
{
	struct cur c = { buf, len, 0 };
	uint32_t i, n;
	size_t used;

	memset(b, 0, sizeof *b);
	b->raw = buf;
	b->len = len;
	take(&c, HEADER_LEN);
	n = (uint32_t)take_int(&c, 4);
	if (c.bad || n > c.left / MIN_TX)
		return V_PARSE;
	b->tx = xcalloc(n, sizeof *b->tx);
	for (i = 0; i < n; i++) {
		if (tx_parse(&b->tx[i], c.p, c.left, &used) != V_OK)
			break;
		b->ntx++;
		take(&c, used);
	}
	if (i < n || c.left) {
		block_free(b);
		return V_PARSE;
	}
	return V_OK;
}

/* A coinbase has one input, whose txid is all zero; its index is the
 * block's height and its key field is free (the miner's extra nonce). */
static int is_coinbase(const struct tx *t)
{
	static const uint8_t zero[SHA256_LEN];

	return t->nin == 1 && memcmp(t->in[0].prev, zero, SHA256_LEN) == 0;
}

/* The outpoint txid | u32 index. */
static void outpoint(uint8_t op[OUTPOINT_LEN], const uint8_t *txid,
                     uint32_t index)
{
	memcpy(op, txid, SHA256_LEN);
	put32le(op + SHA256_LEN, index);
}

/* ==== Building: what the wallet and the miner write ==== */

/* The digest every input's signature signs: double SHA-256 of the
 * transaction with each input's signature and its length left out. */
void tx_sighash(const struct tx *t, uint8_t out[SHA256_LEN])
{
	sha256_ctx c;
	uint8_t b[8], d[SHA256_LEN];
	uint32_t i;

	sha256_init(&c);
	put32le(b, TX_VERSION);
	put16le(b + 4, (uint16_t)t->nin);
	sha256_update(&c, b, 6);
	for (i = 0; i < t->nin; i++) {
		sha256_update(&c, t->in[i].prev, OUTPOINT_LEN);
		sha256_update(&c, t->in[i].pub, LMS_PUB_LEN);
	}
	put16le(b, (uint16_t)t->nout);
	sha256_update(&c, b, 2);
	for (i = 0; i < t->nout; i++) {
		put64le(b, t->out[i].amount);
		sha256_update(&c, b, 8);
		sha256_update(&c, t->out[i].addr, ADDR_LEN);
	}
	sha256_final(&c, d);
	sha256(d, sizeof d, out);
}

/* Serialize t into buf; returns its length, or 0 if cap is too small or
 * a count does not fit its field. */
size_t tx_write(const struct tx *t, uint8_t *buf, size_t cap)
{
	size_t need = 4 + 2 + 2 + (size_t)t->nout * MIN_OUTPUT, k = 0;
	uint32_t i;

	for (i = 0; i < t->nin; i++)
		need += MIN_INPUT + t->in[i].siglen;
	if (need > cap || t->nin > 0xffff || t->nout > 0xffff)
		return 0;
	put32le(buf, TX_VERSION);
	put16le(buf + 4, (uint16_t)t->nin);
	for (i = 0, k = 6; i < t->nin; i++) {
		memcpy(buf + k, t->in[i].prev, OUTPOINT_LEN);
		memcpy(buf + k + OUTPOINT_LEN, t->in[i].pub, LMS_PUB_LEN);
		put16le(buf + k + OUTPOINT_LEN + LMS_PUB_LEN,
		        (uint16_t)t->in[i].siglen);
		k += MIN_INPUT;
		if (t->in[i].siglen)
			memcpy(buf + k, t->in[i].sig, t->in[i].siglen);
		k += t->in[i].siglen;
	}
	put16le(buf + k, (uint16_t)t->nout);
	for (i = 0, k += 2; i < t->nout; i++, k += MIN_OUTPUT) {
		put64le(buf + k, t->out[i].amount);
		memcpy(buf + k + 8, t->out[i].addr, ADDR_LEN);
	}
	return k;
}

/* Write the coinbase of a block at height paying amount to addr. */
size_t coinbase_write(uint32_t height, const uint8_t addr[ADDR_LEN],
                      uint64_t amount, uint8_t *buf, size_t cap)
{
	uint8_t op[OUTPOINT_LEN] = { 0 }, key[LMS_PUB_LEN] = { 0 };
	struct txin in = { NULL, 0, NULL, NULL, 0 };
	struct txout out;
	struct tx t;

	outpoint(op, op, height);
	in.prev = op;
	in.index = height;
	in.pub = key;
	out.amount = amount;
	out.addr = addr;
	memset(&t, 0, sizeof t);
	t.nin = t.nout = 1;
	t.in = &in;
	t.out = &out;
	return tx_write(&t, buf, cap);
}

/* The merkle root of n txids, Bitcoin's way: hash pairs level by level,
 * pairing the last with itself when a level is odd.  h is overwritten.
 * *mutated is set if a pair was equal: the CVE-2012-2459 trick, where a
 * repeated transaction leaves the root unchanged. */
static void merkle(uint8_t (*h)[SHA256_LEN], size_t n,
                   uint8_t root[SHA256_LEN], int *mutated)
{
	uint8_t pair[2 * SHA256_LEN];
	size_t i, j;

	*mutated = 0;
	memset(root, 0, SHA256_LEN);
	if (n == 0)
		return;
	for (; n > 1; n = (n + 1) / 2) {
		for (i = 0; i < n; i += 2) {
			j = i + 1 < n ? i + 1 : i;
			if (j != i && memcmp(h[i], h[j], SHA256_LEN) == 0)
				*mutated = 1;
			memcpy(pair, h[i], SHA256_LEN);
			memcpy(pair + SHA256_LEN, h[j], SHA256_LEN);
			sha256d(pair, sizeof pair, h[i / 2]);
		}
	}
	memcpy(root, h[0], SHA256_LEN);
}

/* The merkle root of a parsed block's transactions. */
static void block_root(const struct block *b, uint8_t root[SHA256_LEN],
                       int *mutated)
{
	uint8_t (*h)[SHA256_LEN] = xcalloc(b->ntx, SHA256_LEN);
	uint32_t i;

	for (i = 0; i < b->ntx; i++)
		memcpy(h[i], b->tx[i].id, SHA256_LEN);
	merkle(h, b->ntx, root, mutated);
	free(h);
}

/* Write a block's merkle root into its header; returns 0, or -1 if the
 * block does not parse. */
int block_merkle(uint8_t *blk, size_t len)
{
	struct block b;
	int mutated;

	if (block_parse(&b, blk, len) != V_OK)
		return -1;
	block_root(&b, blk + 36, &mutated);
	block_free(&b);
	return 0;
}

/* A new block: header (version 1, nonce 0), count, the transactions in
 * order (the coinbase first), with its merkle root filled in. */
uint8_t *block_make(const uint8_t prev[SHA256_LEN], uint32_t time,
                    uint32_t bits, uint8_t *const *txs, const size_t *lens,
                    size_t ntx, size_t *len)
{
	size_t i, k = HEADER_LEN + 4;
	uint8_t *blk;

	for (i = 0, *len = k; i < ntx; i++)
		*len += lens[i];
	blk = xcalloc(1, *len);
	put32le(blk, 1);
	memcpy(blk + 4, prev, SHA256_LEN);
	put32le(blk + 68, time);
	put32le(blk + 72, bits);
	put32le(blk + HEADER_LEN, (uint32_t)ntx);
	for (i = 0; i < ntx; k += lens[i++])
		memcpy(blk + k, txs[i], lens[i]);
	block_merkle(blk, *len);
	return blk;
}

/* The nonce ran out: move the time on, or once it would pass max_time,
 * bump the extra nonce in the coinbase's key field instead. */
static void roll(uint8_t *blk, size_t len, int64_t max_time)
{
	uint32_t t = get32le(blk + 68);

	if ((int64_t)t + 1 <= max_time || len < EXTRANONCE + 8) {
		put32le(blk + 68, t + 1);
		return;
	}
	put64le(blk + EXTRANONCE, get64le(blk + EXTRANONCE) + 1);
	block_merkle(blk, len);
}

/* Try up to tries nonces from the header's own, hashing from a midstate
 * so each costs two compressions.  Returns 1 with the header solved, 0
 * with the next nonce to try stored, -1 if its bits are no target. */
int block_mine(uint8_t *blk, size_t len, unsigned long tries,
               int64_t max_time)
{
	uint32_t nonce = get32le(blk + 76);
	uint8_t out[SHA256_LEN];
	sha256_ctx mid;
	u256 target, h;

	if (!target_of(get32le(blk + 72), &target))
		return -1;
	sha256_init(&mid);
	sha256_update(&mid, blk, 64);
	for (; tries > 0; tries--) {
		put32le(blk + 76, nonce);
		sha256d_from(&mid, blk + 64, 16, out);
		u_from_hash(&h, out);
		if (u_cmp(&h, &target) <= 0)
			return 1;
		if (++nonce == 0) {
			roll(blk, len, max_time);
			sha256_init(&mid);
			sha256_update(&mid, blk, 64);
		}
	}
	put32le(blk + 76, nonce);
	return 0;
}

/* ==== The block index and header rules ==== */

/* The time field of a known header. */
static uint32_t node_time(const struct bnode *n)
{
	return get32le(n->hdr + 68);
}

/* The bits field of a known header. */
static uint32_t node_bits(const struct bnode *n)
{
	return get32le(n->hdr + 72);
}

/* The tip of the active chain. */
static struct bnode *tip(const struct chain *c)
{
	return c->active[c->nactive - 1];
}

/* The clock the rules use: the real one, unless a test set one. */
int64_t chain_now(const struct chain *c)
{
	return c->now ? c->now : (int64_t)time(NULL);
}

/* Median time of the MEDIAN_SPAN blocks ending at n (fewer near the
 * root): a block must be later than this. */
static uint32_t median_time(const struct bnode *n)
{
	uint32_t t[MEDIAN_SPAN], v;
	int k = 0, i, j;

	for (; n && k < MEDIAN_SPAN; n = n->prev)
		t[k++] = node_time(n);
	for (i = 1; i < k; i++) {
		for (v = t[i], j = i; j > 0 && t[j - 1] > v; j--)
			t[j] = t[j - 1];
		t[j] = v;
	}
	return t[k / 2];
}

/* The bits a block after prev must carry.  Every `interval` blocks the
 * target is scaled by how long the last interval took against how long it
 * should have, clamped to [1/4, 4], as Bitcoin does; it never passes the
 * limit.  Returns 0 if that interval lies below a trusted root. */
static uint32_t next_bits(const struct chain *c, const struct bnode *prev)
{
	const struct params *p = c->p;
	const struct bnode *first = prev;
	int64_t want = (int64_t)p->interval * p->spacing, span;
	uint32_t i;
	u256 t, limit;
	uint32_t hi;

	if (!p->interval || (prev->height + 1) % p->interval)
		return node_bits(prev);
	for (i = 1; i < p->interval && first; i++)
		first = first->prev;
	if (!first)
		return 0;
	span = (int64_t)node_time(prev) - node_time(first);
	span = span < want / 4 ? want / 4 : span > want * 4 ? want * 4 : span;
	target_of(node_bits(prev), &t);
	target_of(p->limit_bits, &limit);
	hi = u_mul32(&t, (uint32_t)span);   /* 288 bits: no overflow */
	if (hi < (uint32_t)want)
		u_div32(&t, hi, (uint32_t)want);
	if (hi >= (uint32_t)want || u_cmp(&t, &limit) > 0)
		t = limit;
	return compact_of(&t);
}

/* Check a header against its parent: bits, proof of work, time.  Returns
 * a reason. */
static int check_header(const struct chain *c, const uint8_t *hdr,
                        const uint8_t hash[SHA256_LEN],
                        const struct bnode *prev)
{
	uint32_t bits = get32le(hdr + 72), want = next_bits(c, prev);
	int64_t t = get32le(hdr + 68);
	u256 target, limit, h;

	target_of(c->p->limit_bits, &limit);
	if ((want && bits != want) || !target_of(bits, &target) ||
	    u_cmp(&target, &limit) > 0)
		return V_BITS;
	u_from_hash(&h, hash);
	if (u_cmp(&h, &target) > 0)
		return V_POW;
	if (t <= median_time(prev))
		return V_TIME_OLD;
	if (t > chain_now(c) + MAX_FUTURE)
		return V_TIME_FUTURE;
	return V_OK;
}

/* The header with the most work that broke no rule. */
static struct bnode *best_header(const struct chain *c)
{
	return c->hdrs[c->nhdrs - 1];
}

/* Make n the best header: rewrite hdrs from n down to where it already
 * agrees (only below the old end: entries past it are stale). */
static void set_best_header(struct chain *c, struct bnode *n)
{
	size_t old = c->nhdrs, i = n->prev ? n->height - c->p->genesis_height
	                                   : 0;

	if (i + 1 > c->hcap) {
		c->hcap = 2 * (i + 1);
		if (!(c->hdrs = realloc(c->hdrs, c->hcap * sizeof *c->hdrs)))
			fatal("out of memory");
	}
	c->nhdrs = i + 1;
	for (; n && !(i < old && c->hdrs[i] == n); n = n->prev, i--)
		c->hdrs[i] = n;
}

/* Add a node for a checked header to the tree and the index. */
static struct bnode *new_node(struct chain *c, const uint8_t *hdr,
                              const uint8_t hash[SHA256_LEN],
                              struct bnode *prev)
{
	struct bnode *n = xcalloc(1, sizeof *n);
	u256 w;

	memcpy(n->hash, hash, SHA256_LEN);
	memcpy(n->hdr, hdr, HEADER_LEN);
	n->seq = c->seq++;
	n->prev = prev;
	if (prev) {
		n->height = prev->height + 1;
		n->work = prev->work;
		n->sibling = prev->child;
		prev->child = n;
	}
	block_work(c, get32le(hdr + 72), &w);
	u_add(&n->work, &w);
	map_put(&c->index, hash, n);
	if (!c->nhdrs || u_cmp(&n->work, &best_header(c)->work) > 0)
		set_best_header(c, n);
	return n;
}

/* Find or add the node of a header.  Returns V_OK with *out set, or why
 * the header is refused (a known failed block gives its reason). */
static int accept_header(struct chain *c, const uint8_t *hdr,
                         struct bnode **out)
{
	uint8_t hash[SHA256_LEN];
	struct bnode *prev;
	int r;

	sha256d(hdr, HEADER_LEN, hash);
	if ((*out = map_get(&c->index, hash)))
		return (*out)->status & FAILED ? (*out)->reason : V_OK;
	if (!(prev = map_get(&c->index, hdr + 4)))
		return V_ORPHAN;
	if (prev->status & FAILED)
		return V_BAD_PREV;
	if ((r = check_header(c, hdr, hash, prev)) != V_OK)
		return r;
	*out = new_node(c, hdr, hash, prev);
	return V_OK;
}

/* Add a header alone (headers-first sync, the Bitcoin header tests).
 * Returns V_OK, V_HAVE if known, or why it is refused. */
int chain_add_header(struct chain *c, const uint8_t hdr[HEADER_LEN])
{
	uint8_t hash[SHA256_LEN];
	struct bnode *n;

	sha256d(hdr, HEADER_LEN, hash);
	if (map_get(&c->index, hash))
		return V_HAVE;
	return accept_header(c, hdr, &n);
}

/* Is a a better tip than b: more work, or as much and seen first? */
static int better(const struct bnode *a, const struct bnode *b)
{
	int k = u_cmp(&a->work, &b->work);

	return k > 0 || (k == 0 && a->seq < b->seq);
}

/* The best candidate tip, searched afresh: the active tip unless some
 * block has strictly more work (then the first seen of the heaviest). */
static void find_best(struct chain *c)
{
	struct bnode **v = (struct bnode **)map_values(&c->index), *t = tip(c);
	size_t i, n = c->index.n;

	c->best = t;
	for (i = 0; i < n; i++)
		if ((v[i]->status & (LINKED | FAILED)) == LINKED &&
		    u_cmp(&v[i]->work, &t->work) > 0 &&
		    (c->best == t || better(v[i], c->best)))
			c->best = v[i];
	free(v);
}

/* Mark n failed for reason r, and everything built on it. */
static void fail_tree(struct bnode *n, int r)
{
	struct bnode *k;

	n->status |= FAILED;
	n->reason = r;
	for (k = n->child; k; k = k->sibling)
		fail_tree(k, V_BAD_PREV);
}

/* n broke rule r: fail its subtree and look for the best tip again. */
static void fail(struct chain *c, struct bnode *n, int r)
{
	struct bnode **v, *h;
	size_t i, k;

	fail_tree(n, r);
	if (c->best->status & FAILED)
		find_best(c);
	if (!(best_header(c)->status & FAILED))
		return;
	v = (struct bnode **)map_values(&c->index);
	for (h = c->best, i = 0, k = c->index.n; i < k; i++)
		if (!(v[i]->status & FAILED) && better(v[i], h))
			h = v[i];
	free(v);
	c->nhdrs = 0;               /* (rewritten from scratch) */
	set_best_header(c, h);
}

/* n has its body now: if its parent is LINKED, so are n and the waiting
 * blocks after it, and each may be the new best. */
static void link_node(struct chain *c, struct bnode *n)
{
	struct bnode *k;

	if ((n->status & (HAVE_DATA | LINKED | FAILED)) != HAVE_DATA ||
	    !(n->prev->status & LINKED))
		return;
	n->status |= LINKED;
	if (u_cmp(&n->work, &c->best->work) > 0)
		c->best = n;
	for (k = n->child; k; k = k->sibling)
		link_node(c, k);
}

/* ==== Rules for transactions and blocks ==== */

/* Context-free transaction rule: every amount and their sum within the
 * money range. */
static int check_tx(const struct tx *t)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < t->nout; i++) {
		if (t->out[i].amount > MAX_MONEY)
			return V_MONEY;
		sum += t->out[i].amount;
		if (sum > MAX_MONEY)
			return V_MONEY;
	}
	return V_OK;
}

/* Rules a block body obeys on its own, given its height: merkle root,
 * no duplicated transactions, one coinbase, first, committing to the
 * height, amounts in range.  Returns a reason. */
static int check_block(const struct block *b, uint32_t height)
{
	uint8_t root[SHA256_LEN];
	int mutated, r;
	uint32_t i;

	if (b->ntx == 0)
		return V_COINBASE;
	block_root(b, root, &mutated);
	if (memcmp(root, b->raw + 36, SHA256_LEN) != 0)
		return V_MERKLE;
	if (mutated)
		return V_DUP_TX;
	if (!is_coinbase(&b->tx[0]) || b->tx[0].in[0].index != height)
		return V_COINBASE;
	for (i = 0; i < b->ntx; i++) {
		if (i > 0 && is_coinbase(&b->tx[i]))
			return V_COINBASE;
		if ((r = check_tx(&b->tx[i])) != V_OK)
			return r;
	}
	return V_OK;
}

/* The new coins a coinbase at height may claim. */
static uint64_t subsidy(const struct params *p, uint32_t height)
{
	uint32_t halvings = height / p->halving;

	return halvings >= 64 ? 0 : p->subsidy >> halvings;
}

/* The coin an outpoint names: in the UTXO set, or with pool set, also an
 * output of a mempool transaction (tmp holds it).  NULL with *r set if it
 * is missing, or (pool) already spent by a mempool transaction. */
static const struct coin *find_coin(const struct chain *c, const uint8_t *op,
                                    int pool, struct coin *tmp, int *r)
{
	const struct coin *coin = map_get(&c->utxo, op);
	const struct ptx *p;
	uint32_t k = get32le(op + SHA256_LEN);

	*r = V_MISSING;
	if (pool && map_get(&c->spends, op)) {
		*r = V_CONFLICT;
		return NULL;
	}
	if (coin || !pool || !(p = map_get(&c->pool, op)) || k >= p->tx.nout)
		return coin;
	tmp->amount = p->tx.out[k].amount;
	memcpy(tmp->addr, p->tx.out[k].addr, ADDR_LEN);
	tmp->height = tip(c)->height + 1;
	tmp->coinbase = 0;
	return tmp;
}

/* Input i of t may spend a coin paying addr: its key hashes to addr and
 * its signature is valid, or it has none and an earlier input with the
 * same key has one (one leaf signs for all inputs of one address). */
static int check_sig(const struct tx *t, uint32_t i, const uint8_t *addr,
                     const uint8_t sighash[SHA256_LEN])
{
	const struct txin *x = &t->in[i];
	uint8_t a[ADDR_LEN];
	uint32_t j;

	sha256(x->pub, LMS_PUB_LEN, a);
	if (memcmp(a, addr, ADDR_LEN) != 0)
		return V_KEY;
	if (x->siglen == 0) {
		for (j = 0; j < i; j++)
			if (t->in[j].siglen &&
			    memcmp(t->in[j].pub, x->pub, LMS_PUB_LEN) == 0)
				return V_OK;
		return V_SIG;
	}
	return lms_verify(x->pub, LMS_PUB_LEN, sighash, SHA256_LEN, x->sig,
	                  x->siglen) == LMS_OK ? V_OK : V_SIG;
}

/* Check t's inputs against the coins they spend, for a block at height:
 * each exists, is spent once (seen collects outpoints), is mature and is
 * signed for; inputs cover outputs.  *fee gets the difference. */
static int check_inputs(const struct chain *c, const struct tx *t,
                        uint32_t height, struct map *seen, int pool,
                        uint64_t *fee)
{
	uint8_t sighash[SHA256_LEN];
	const struct coin *coin;
	uint64_t in = 0, out = 0;
	struct coin tmp;
	uint32_t i;
	int r;

	tx_sighash(t, sighash);
	for (i = 0; i < t->nin; i++) {
		if (map_get(seen, t->in[i].prev))
			return V_DOUBLE_SPEND;
		map_put(seen, t->in[i].prev, (void *)t);
		if (!(coin = find_coin(c, t->in[i].prev, pool, &tmp, &r)))
			return r;
		if (coin->coinbase && height - coin->height < c->p->maturity)
			return V_IMMATURE;
		if ((r = check_sig(t, i, coin->addr, sighash)) != V_OK)
			return r;
		if ((in += coin->amount) > MAX_MONEY)
			return V_MONEY;
	}
	for (i = 0; i < t->nout; i++)
		out += t->out[i].amount;
	if (in < out)
		return V_FEE;
	*fee = in - out;
	return V_OK;
}

/* ==== The UTXO set: connecting and disconnecting blocks ==== */

/* Remove t's inputs from the UTXO set, keeping them as n's undo data. */
static void spend(struct chain *c, const struct tx *t, struct bnode *n)
{
	struct coin *coin;
	uint32_t i;

	for (i = 0; i < t->nin; i++) {
		coin = map_del(&c->utxo, t->in[i].prev);
		n->undo[n->nundo++] = *coin;
		free(coin);
	}
}

/* Add t's outputs to the UTXO set. */
static void add_outputs(struct chain *c, const struct tx *t, uint32_t height,
                        int coinbase)
{
	uint8_t op[OUTPOINT_LEN];
	struct coin *coin;
	uint32_t i;

	for (i = 0; i < t->nout; i++) {
		coin = xmalloc(sizeof *coin);
		coin->amount = t->out[i].amount;
		memcpy(coin->addr, t->out[i].addr, ADDR_LEN);
		coin->height = height;
		coin->coinbase = (uint8_t)coinbase;
		outpoint(op, t->id, i);
		map_put(&c->utxo, op, coin);
	}
}

/* Undo the first count transactions of b, last first: remove their
 * outputs, give back the coins they spent from n's undo data. */
static void unapply(struct chain *c, const struct block *b, uint32_t count,
                    struct bnode *n)
{
	const struct tx *t;
	uint8_t op[OUTPOINT_LEN];
	struct coin *coin;
	uint32_t i, k;

	for (i = count; i-- > 0;) {
		t = &b->tx[i];
		for (k = 0; k < t->nout; k++) {
			outpoint(op, t->id, k);
			free(map_del(&c->utxo, op));
		}
		for (k = t->nin; i > 0 && k-- > 0;) {
			coin = xmalloc(sizeof *coin);
			*coin = n->undo[--n->nundo];
			map_put(&c->utxo, t->in[k].prev, coin);
		}
	}
	free(n->undo);
	n->undo = NULL;
}

/* Apply block b at node n to the UTXO set, checking every contextual rule
 * on the way.  Returns a reason; on failure the set is as it was. */
static int connect_block(struct chain *c, struct bnode *n,
                         const struct block *b)
{
	uint64_t fees = 0, fee, claimed = 0;
	uint32_t i, k, nin = 0;
	struct map seen;
	int r = V_OK;

	for (i = 1; i < b->ntx; i++)
		nin += b->tx[i].nin;
	n->undo = xcalloc(nin, sizeof *n->undo);
	n->nundo = 0;
	map_init(&seen, OUTPOINT_LEN);
	for (i = 0; i < b->ntx; i++) {
		if (i > 0) {
			r = check_inputs(c, &b->tx[i], n->height, &seen, 0, &fee);
			if (r != V_OK || (fees += fee) > MAX_MONEY) {
				r = r ? r : V_MONEY;
				break;
			}
			spend(c, &b->tx[i], n);
		}
		add_outputs(c, &b->tx[i], n->height, i == 0);
	}
	map_free(&seen);
	for (k = 0; r == V_OK && k < b->tx[0].nout; k++)
		claimed += b->tx[0].out[k].amount;
	if (r == V_OK && claimed > subsidy(c->p, n->height) + fees)
		r = V_CB_VALUE;
	if (r != V_OK)
		unapply(c, b, r == V_CB_VALUE ? b->ntx : i, n);
	return r;
}

/* ==== Block files ==== */

/* Open block file number num of the data directory. */
static int open_file(const struct chain *c, uint32_t num, int flags)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/blk%05u.dat", c->dir, (unsigned)num);
	return open(path, flags, 0644);
}

/* Read len bytes at pos, looping over short reads; returns 0 or -1. */
static int read_at(int fd, uint8_t *buf, size_t len, off_t pos)
{
	ssize_t n;

	for (; len > 0; buf += n, len -= (size_t)n, pos += n)
		if ((n = pread(fd, buf, len, pos)) <= 0)
			return -1;
	return 0;
}

/* Write len bytes at pos, looping over short writes; returns 0 or -1. */
static int write_at(int fd, const uint8_t *buf, size_t len, off_t pos)
{
	ssize_t n;

	for (; len > 0; buf += n, len -= (size_t)n, pos += n)
		if ((n = pwrite(fd, buf, len, pos)) <= 0)
			return -1;
	return 0;
}

/* Flush a directory, so a file just made or renamed in it stays. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* CRC-32 with the polynomial of zlib and PNG: the record checksum.  Cheap
 * next to SHA-256, and it catches every torn or flipped byte a crash or a
 * bad disk leaves. */
uint32_t crc32(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c = 0xffffffff, v, k;
	int i;

	for (k = 0; !table[255] && k < 256; k++) {
		for (v = k, i = 0; i < 8; i++)
			v = v & 1 ? 0xedb88320 ^ v >> 1 : v >> 1;
		table[k] = v;
	}
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ c >> 8;
	return ~c;
}

/* Append a block as one record (magic | u32 length | block | checksum)
 * and flush it, unless the node flushes in batches (chain_lazy).  Starts
 * a new file once this one would pass the size limit.  Returns V_OK or V_STORE, with the file as
 * it was before. */
static int store(struct chain *c, struct bnode *n, const uint8_t *blk,
                 size_t len)
{
	uint8_t head[RECORD_HEAD], sum[RECORD_TAIL];
	off_t at = c->filesize;

	if (!c->dir)
		return V_STORE;
	if (c->filesize > 0 && c->filesize + len + RECORD_HEAD + RECORD_TAIL >
	    c->file_max) {
		close(c->fd);
		c->fd = open_file(c, ++c->filenum, O_RDWR | O_CREAT);
		c->filesize = 0;
		at = 0;
		sync_dir(c->dir);
	}
	memcpy(head, c->p->magic, 4);
	put32le(head + 4, (uint32_t)len);
	put32le(sum, crc32(blk, len));
	if (c->fd < 0 || write_at(c->fd, head, RECORD_HEAD, at) ||
	    write_at(c->fd, blk, len, at + RECORD_HEAD) ||
	    write_at(c->fd, sum, RECORD_TAIL, at + RECORD_HEAD + (off_t)len) ||
	    (!c->lazy && fsync(c->fd))) {
		if (c->fd >= 0 && ftruncate(c->fd, at) != 0)
			fatal("cannot undo a failed write to a block file");
		return V_STORE;
	}
	n->file = c->filenum;
	n->pos = (uint32_t)at + RECORD_HEAD;
	n->len = (uint32_t)len;
	n->status |= HAVE_DATA;
	c->filesize += (uint32_t)len + RECORD_HEAD + RECORD_TAIL;
	return V_OK;
}

/* Read the body of a block we hold into a new buffer. */
static uint8_t *read_block(const struct chain *c, const struct bnode *n)
{
	uint8_t *buf;
	int fd;

	if (n == c->root) {
		buf = xmalloc(c->genesis_len);
		memcpy(buf, c->genesis, c->genesis_len);
		return buf;
	}
	buf = xmalloc(n->len);
	if ((fd = open_file(c, n->file, O_RDONLY)) < 0 ||
	    read_at(fd, buf, n->len, n->pos) != 0)
		fatal("a stored block cannot be read back");
	close(fd);
	return buf;
}

/* Read the record at pos into buf (room for MAX_BLOCK_SIZE + 4).  Returns
 * 1 at the clean end of the file, 0 with *len set, or -1 with *why. */
static int read_record(const struct chain *c, int fd, off_t pos, uint8_t *buf,
                       uint32_t *len, const char **why)
{
	uint8_t head[RECORD_HEAD];
	ssize_t n = pread(fd, head, RECORD_HEAD, pos);

	if (n == 0)
		return 1;
	*why = "torn record";
	if (n != RECORD_HEAD)
		return -1;
	*len = get32le(head + 4);
	*why = "wrong magic";
	if (memcmp(head, c->p->magic, 4) != 0)
		return -1;
	*why = "impossible length";
	if (*len < HEADER_LEN || *len > MAX_BLOCK_SIZE)
		return -1;
	*why = "torn record";
	if (read_at(fd, buf, *len + RECORD_TAIL, pos + RECORD_HEAD) != 0)
		return -1;
	*why = "bad checksum";
	return crc32(buf, *len) == get32le(buf + *len) ? 0 : -1;
}

/* ==== Fork choice ==== */

/* Set aside a copy of a transaction, for the mempool after a reorg. */
static void txlist_add(struct txlist *l, const uint8_t *raw, size_t len,
                       int64_t time)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			fatal("out of memory");
	}
	l->v[l->n].raw = xmalloc(len);
	memcpy(l->v[l->n].raw, raw, len);
	l->v[l->n].len = len;
	l->v[l->n++].time = time;
}

static void pool_forget(struct chain *c, struct ptx *p);
static void pool_remove(struct chain *c, struct ptx *p);
static void pool_refill(struct chain *c, struct txlist *back);

/* A block is confirmed: its transactions leave the mempool, and so do
 * those that spent the same outputs (with their children). */
static void pool_confirm(struct chain *c, const struct block *b)
{
	struct ptx *p;
	uint32_t i, k;

	for (i = 1; i < b->ntx; i++) {
		if ((p = map_get(&c->pool, b->tx[i].id)))
			pool_forget(c, p);
		for (k = 0; k < b->tx[i].nin; k++)
			if ((p = map_get(&c->spends, b->tx[i].in[k].prev)))
				pool_remove(c, p);
	}
}

/* Connect n, the block after the tip: the block add_block just checked
 * is at hand, any other is read back from its file.  Returns a reason;
 * on failure n's branch is marked failed. */
static int connect_tip(struct chain *c, struct bnode *n)
{
	uint8_t *raw = NULL;
	struct block own, *b = c->fresh_block;
	int r = V_OK;

	if (n != c->fresh) {
		raw = read_block(c, n);
		r = block_parse(b = &own, raw, n->len);
	}
	if (r == V_OK && (r = connect_block(c, n, b)) == V_OK) {
		if (c->nactive == c->cap) {
			c->cap *= 2;
			c->active = realloc(c->active, c->cap * sizeof *c->active);
			if (!c->active)
				fatal("out of memory");
		}
		c->active[c->nactive++] = n;
		pool_confirm(c, b);
	}
	if (b == &own)
		block_free(&own);
	free(raw);
	if (r != V_OK)
		fail(c, n, r);
	return r;
}

/* Disconnect the tip, setting its transactions aside in back. */
static void disconnect_tip(struct chain *c, struct txlist *back)
{
	struct bnode *n = tip(c);
	uint8_t *raw = read_block(c, n);
	struct block b;
	uint32_t i;

	if (block_parse(&b, raw, n->len) != V_OK)
		fatal("a connected block no longer parses");
	unapply(c, &b, b.ntx, n);
	for (i = 1; i < b.ntx; i++)
		txlist_add(back, b.tx[i].raw, b.tx[i].len, chain_now(c));
	block_free(&b);
	free(raw);
	c->nactive--;
}

/* The last block two branches share. */
static struct bnode *fork_point(struct bnode *a, struct bnode *b)
{
	while (a->height > b->height)
		a = a->prev;
	while (b->height > a->height)
		b = b->prev;
	while (a != b) {
		a = a->prev;
		b = b->prev;
	}
	return a;
}

/* Move the active chain to the best tip: disconnect back to the fork,
 * then connect forward.  A block that breaks a rule fails its branch and
 * the search starts over, so the node ends on the best valid chain, its
 * UTXO set consistent with it.  Set-aside transactions go back to the
 * mempool if still valid. */
static void activate(struct chain *c)
{
	struct txlist back = { NULL, 0, 0 };
	struct bnode *fork, *k, **path;
	size_t n, i;

	while (c->best != tip(c)) {
		fork = fork_point(tip(c), c->best);
		while (tip(c) != fork)
			disconnect_tip(c, &back);
		n = c->best->height - fork->height;
		path = xcalloc(n, sizeof *path);
		for (k = c->best, i = n; i > 0; k = k->prev)
			path[--i] = k;
		for (i = 0; i < n; i++)
			if (connect_tip(c, path[i]) != V_OK)
				break;
		free(path);
	}
	if (back.n)
		pool_refill(c, &back);
	free(back.v);
}

/* Take a block whose header and body passed their checks: store it
 * (unless it came from a block file, at `at`), link it and move to the
 * best chain.  Returns V_OK or why it was refused. */
static int add_block(struct chain *c, const uint8_t *blk, size_t len,
                     const struct bnode *at)
{
	struct bnode *n;
	struct block b;
	int r;

	if (len > MAX_BLOCK_SIZE)
		return V_SIZE;
	if (len < HEADER_LEN)
		return V_PARSE;
	if ((r = accept_header(c, blk, &n)) != V_OK)
		return r;
	if (n->status & HAVE_DATA)
		return V_HAVE;
	if ((r = block_parse(&b, blk, len)) != V_OK)
		return r;
	if ((r = check_block(&b, n->height)) == V_COINBASE || r == V_MONEY)
		fail(c, n, r);  /* the header commits to a bad body */
	if (r == V_OK && at) {
		n->file = at->file;
		n->pos = at->pos;
		n->len = at->len;
		n->status |= HAVE_DATA;
	} else if (r == V_OK) {
		r = store(c, n, blk, len);
	}
	if (r == V_OK) {        /* (else the body may be a mutated copy) */
		c->fresh = n;
		c->fresh_block = &b;
		link_node(c, n);
		activate(c);
		c->fresh = NULL;
		r = n->status & FAILED ? n->reason : V_OK;
	}
	block_free(&b);
	return r;
}

/* A block from a peer or the miner: check, store, and follow the most-work
 * chain.  Returns V_OK (stored; maybe not on the best chain), V_HAVE, or
 * the rule it breaks. */
int chain_add_block(struct chain *c, const uint8_t *blk, size_t len)
{
	return add_block(c, blk, len, NULL);
}

/* ==== The mempool ==== */

/* Drop p from the mempool alone (a block confirmed it). */
static void pool_forget(struct chain *c, struct ptx *p)
{
	uint32_t i;

	map_del(&c->pool, p->tx.id);
	for (i = 0; i < p->tx.nin; i++)
		map_del(&c->spends, p->tx.in[i].prev);
	c->pool_bytes -= p->tx.len;
	tx_free(&p->tx);
	free(p->raw);
	free(p);
}

/* Drop p and every mempool transaction spending its outputs. */
static void pool_remove(struct chain *c, struct ptx *p)
{
	uint8_t op[OUTPOINT_LEN];
	struct ptx *child;
	uint32_t i;

	for (i = 0; i < p->tx.nout; i++) {
		outpoint(op, p->tx.id, i);
		if ((child = map_get(&c->spends, op)))
			pool_remove(c, child);
	}
	pool_forget(c, p);
}

/* Is a's fee rate (fee per byte) below b's? */
static int cheaper(const struct ptx *a, const struct ptx *b)
{
	return (double)a->fee / (double)a->tx.len <
	       (double)b->fee / (double)b->tx.len;
}

/* The mempool entry with the lowest fee rate, or one older than cutoff
 * when cutoff is set; NULL if there is none. */
static struct ptx *pool_find(const struct chain *c, int64_t cutoff)
{
	struct ptx *worst = NULL, *p;
	struct ment *e;
	size_t i;

	for (i = 0; i < c->pool.nb; i++) {
		for (e = c->pool.b[i]; e; e = e->next) {
			p = e->val;
			if (cutoff && p->time < cutoff)
				return p;
			if (!cutoff && (!worst || cheaper(p, worst)))
				worst = p;
		}
	}
	return worst;
}

/* Drop every mempool transaction that has waited longer than max_age. */
void chain_pool_expire(struct chain *c, int64_t max_age)
{
	struct ptx *p;

	while ((p = pool_find(c, chain_now(c) - max_age)))
		pool_remove(c, p);
}

/* Check a transaction against the tip and the mempool and add it.
 * Returns V_OK, V_HAVE, or why it is refused. */
static int pool_add(struct chain *c, const uint8_t *raw, size_t len,
                    int64_t time)
{
	struct ptx *p;
	uint8_t id[SHA256_LEN];
	struct map seen;
	uint32_t i;
	int r;

	if (len > MAX_TX_SIZE)
		return V_SIZE;
	p = xcalloc(1, sizeof *p);
	p->raw = xmalloc(len);
	memcpy(p->raw, raw, len);
	if ((r = tx_parse(&p->tx, p->raw, len, NULL)) != V_OK)
		;
	else if (map_get(&c->pool, p->tx.id))
		r = V_HAVE;
	else if (is_coinbase(&p->tx))
		r = V_COINBASE;
	else if ((r = check_tx(&p->tx)) == V_OK) {
		map_init(&seen, OUTPOINT_LEN);
		r = check_inputs(c, &p->tx, tip(c)->height + 1, &seen, 1,
		                 &p->fee);
		map_free(&seen);
	}
	if (r != V_OK) {
		tx_free(&p->tx);
		free(p->raw);
		free(p);
		return r;
	}
	p->time = time;
	p->seq = c->seq++;
	memcpy(id, p->tx.id, SHA256_LEN);
	map_put(&c->pool, id, p);
	for (i = 0; i < p->tx.nin; i++)
		map_put(&c->spends, p->tx.in[i].prev, p);
	c->pool_bytes += len;
	while (c->pool_bytes > c->pool_cap)
		pool_remove(c, pool_find(c, 0));
	return map_get(&c->pool, id) ? V_OK : V_POOL_FULL;
}

/* A transaction from a peer or the wallet: expire old entries, then check
 * and add it.  Returns V_OK, V_HAVE, or why it is refused. */
int chain_add_tx(struct chain *c, const uint8_t *tx, size_t len)
{
	chain_pool_expire(c, POOL_EXPIRY);
	return pool_add(c, tx, len, chain_now(c));
}

/* Order mempool entries by arrival. */
static int by_seq(const void *a, const void *b)
{
	const struct ptx *x = *(struct ptx *const *)a;
	const struct ptx *y = *(struct ptx *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Order mempool entries by fee rate, highest first, then by arrival. */
static int by_rate(const void *a, const void *b)
{
	const struct ptx *x = *(struct ptx *const *)a;
	const struct ptx *y = *(struct ptx *const *)b;

	return cheaper(y, x) ? -1 : cheaper(x, y) ? 1 : by_seq(a, b);
}

/* Every mempool entry, sorted by cmp, in a new array of c->pool.n. */
static struct ptx **pool_list(const struct chain *c,
                              int (*cmp)(const void *, const void *))
{
	struct ptx **v = (struct ptx **)map_values(&c->pool);

	qsort(v, c->pool.n, sizeof *v, cmp);
	return v;
}

/* After a reorg: empty the mempool and offer back, in order, the
 * transactions of disconnected blocks and then the old mempool. */
static void pool_refill(struct chain *c, struct txlist *back)
{
	struct ptx **v = pool_list(c, by_seq);
	size_t i, n = c->pool.n;

	for (i = 0; i < n; i++) {
		txlist_add(back, v[i]->raw, v[i]->tx.len, v[i]->time);
		pool_forget(c, v[i]);
	}
	free(v);
	for (i = 0; i < back->n; i++) {
		pool_add(c, back->v[i].raw, back->v[i].len, back->v[i].time);
		free(back->v[i].raw);
	}
}

/* Write the mempool to mempool.dat (u32 length | tx | u64 arrival time,
 * in arrival order), replacing the old file atomically. */
static void pool_save(const struct chain *c)
{
	struct ptx **v = pool_list(c, by_seq);
	size_t i, k = 0, n = c->pool.n;
	uint8_t *buf = xmalloc(c->pool_bytes + 12 * n);
	char path[4096];

	for (i = 0; i < n; i++) {
		put32le(buf + k, (uint32_t)v[i]->tx.len);
		memcpy(buf + k + 4, v[i]->raw, v[i]->tx.len);
		put64le(buf + k + 4 + v[i]->tx.len, (uint64_t)v[i]->time);
		k += 12 + v[i]->tx.len;
	}
	snprintf(path, sizeof path, "%s/mempool.dat", c->dir);
	if (file_replace(path, buf, k) != 0)
		fprintf(stderr, "peerchain: cannot save %s\n", path);
	free(buf);
	free(v);
}

/* Offer every transaction of mempool.dat to the mempool again; a damaged
 * or stale entry is just not taken. */
static void pool_load(struct chain *c)
{
	struct cur cur;
	const uint8_t *tx;
	uint8_t *buf;
	size_t len;
	uint32_t n;
	char path[4096];

	snprintf(path, sizeof path, "%s/mempool.dat", c->dir);
	if (!(buf = file_read(path, 2 * c->pool_cap + 4096, &len)))
		return;
	cur.p = buf;
	cur.left = len;
	cur.bad = 0;
	while (cur.left > 0 && !cur.bad) {
		n = (uint32_t)take_int(&cur, 4);
		if (n > MAX_TX_SIZE || !(tx = take(&cur, n)))
			break;
		pool_add(c, tx, n, (int64_t)take_int(&cur, 8));
	}
	free(buf);
}

/* ==== Files of the data directory ==== */

/* Replace the file at path with (buf, len): write a temporary file, flush
 * it, rename it over the old one, flush the directory.  A crash leaves
 * the old file or the new one, never a mix.  Returns 0 or -1. */
int file_replace(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[4096], dir[4096], *slash;
	int fd, bad;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	bad = write_at(fd, buf, len, 0) != 0 || fsync(fd) != 0;
	bad |= close(fd) != 0;
	if (bad || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')))
		*slash = 0;
	sync_dir(slash ? dir : ".");
	return 0;
}

/* Read a whole file of at most max bytes into a new buffer; NULL if it is
 * missing, unreadable or bigger. */
uint8_t *file_read(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY);
	off_t size;
	uint8_t *buf;

	if (fd < 0)
		return NULL;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0 || (uint64_t)size > max) {
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)size);
	if (read_at(fd, buf, (size_t)size, 0) != 0) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = (size_t)size;
	return buf;
}

/* Take the data directory's lock: one process per directory.  Returns 0,
 * or -1 with err set. */
static int lock_dir(struct chain *c, char *err, size_t errlen)
{
	struct flock fl;
	char path[4096];

	snprintf(path, sizeof path, "%s/lock", c->dir);
	if ((c->lock = open(path, O_RDWR | O_CREAT, 0600)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		         strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(c->lock, F_SETLK, &fl) != 0) {
		snprintf(err, errlen, "data directory %s is in use by another "
		         "peerchain process", c->dir);
		return -1;
	}
	return 0;
}

/* Note damage found in a block file, for chain_report(). */
static void note_damage(struct chain *c, uint32_t num, off_t pos, off_t end,
                        const char *why)
{
	size_t k = strlen(c->report);

	snprintf(c->report + k, sizeof c->report - k,
	         "%sblk%05u.dat: %s at byte %lld: cut %lld bytes; every block "
	         "before it kept", k ? "\n" : "", (unsigned)num, why,
	         (long long)pos, (long long)(end - pos));
}

/* Stored blocks whose parent came later in the files: sync stores
 * blocks as they arrive, not in order.  Replay tries them again. */
struct later {
	struct bnode *v;
	size_t n, cap;
};

/* Replay block file num record by record; cut it at the first damaged
 * record.  Returns its fd (left open) and length, or -1 if it is absent. */
static int replay_file(struct chain *c, uint32_t num, uint8_t *buf,
                       uint32_t *size, struct later *l)
{
	int fd = open_file(c, num, O_RDWR), r;
	struct bnode at;
	const char *why = "";
	off_t pos = 0, end;

	if (fd < 0)
		return -1;
	while ((r = read_record(c, fd, pos, buf, &at.len, &why)) == 0) {
		at.file = num;
		at.pos = (uint32_t)pos + RECORD_HEAD;
		if (add_block(c, buf, at.len, &at) == V_ORPHAN) {
			if (l->n == l->cap && !(l->v = realloc(l->v,
			        (l->cap = 2 * l->cap + 16) * sizeof *l->v)))
				fatal("out of memory");
			l->v[l->n++] = at;
		}
		pos += at.len + RECORD_HEAD + RECORD_TAIL;
	}
	if (r < 0) {
		end = lseek(fd, 0, SEEK_END);
		note_damage(c, num, pos, end, why);
		if (ftruncate(fd, pos) != 0 || fsync(fd) != 0)
			fatal("cannot cut a damaged block file");
	}
	*size = (uint32_t)pos;
	return fd;
}

/* Add the blocks replay found before their parents, in rounds, until a
 * round adds none (the rest lost their parent to damage). */
static void replay_later(struct chain *c, struct later *l)
{
	size_t i, added = 1;
	uint8_t *b;

	while (added)
		for (added = i = 0; i < l->n; i++) {
			if (!l->v[i].len || !(b = read_block(c, &l->v[i])))
				continue;
			if (add_block(c, b, l->v[i].len, &l->v[i]) != V_ORPHAN) {
				l->v[i].len = 0;
				added++;
			}
			free(b);
		}
	free(l->v);
}

/* Rebuild the index, the UTXO set and the active chain from the block
 * files, and leave the last file open for appending. */
static void replay(struct chain *c)
{
	uint8_t *buf = xmalloc(MAX_BLOCK_SIZE + RECORD_TAIL);
	struct later l = { NULL, 0, 0 };
	uint32_t num, size;
	int fd;

	for (num = 0; (fd = replay_file(c, num, buf, &size, &l)) >= 0; num++) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = fd;
		c->filenum = num;
		c->filesize = size;
	}
	if (c->fd < 0)
		c->fd = open_file(c, 0, O_RDWR | O_CREAT);
	free(buf);
	replay_later(c, &l);
}

/* ==== Opening, closing, questions ==== */

/* The genesis block from the parameters: the root of the tree. */
static void plant_root(struct chain *c)
{
	const char *hex = c->p->genesis;
	uint8_t hash[SHA256_LEN];

	c->genesis_len = strlen(hex) / 2;
	c->genesis = xmalloc(c->genesis_len);
	if (c->genesis_len < HEADER_LEN ||
	    hex_decode(hex, c->genesis, c->genesis_len) != 0)
		fatal("the genesis block in the parameters is not hex");
	sha256d(c->genesis, HEADER_LEN, hash);
	c->root = new_node(c, c->genesis, hash, NULL);
	c->root->height = c->p->genesis_height;
	c->root->status = HAVE_DATA | LINKED;
	c->cap = 1024;
	c->active = xcalloc(c->cap, sizeof *c->active);
	c->active[0] = c->best = c->root;
	c->nactive = 1;
}

/* Open the chain of network p stored in dir (made if missing), replaying
 * its block files; NULL dir keeps nothing (header tests).  Returns NULL
 * with err set if dir cannot be used. */
struct chain *chain_open(const struct params *p, const char *dir, char *err,
                         size_t errlen)
{
	struct chain *c = xcalloc(1, sizeof *c);

	c->p = p;
	c->lock = c->fd = -1;
	c->file_max = FILE_MAX;
	c->pool_cap = POOL_CAP;
	map_init(&c->index, SHA256_LEN);
	map_init(&c->utxo, OUTPOINT_LEN);
	map_init(&c->pool, SHA256_LEN);
	map_init(&c->spends, OUTPOINT_LEN);
	plant_root(c);
	if (!dir)
		return c;
	c->dir = xmalloc(strlen(dir) + 1);
	strcpy(c->dir, dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", dir,
		         strerror(errno));
		chain_close(c);
		return NULL;
	}
	if (lock_dir(c, err, errlen) != 0) {
		chain_close(c);
		return NULL;
	}
	replay(c);
	pool_load(c);
	return c;
}

/* Save the mempool, free everything, and release the data directory. */
void chain_close(struct chain *c)
{
	void **v;
	size_t i, n;

	if (!c)
		return;
	if (c->fd >= 0) {
		pool_save(c);
		close(c->fd);
	}
	v = map_values(&c->pool);
	for (i = 0, n = c->pool.n; i < n; i++)
		pool_forget(c, v[i]);
	free(v);
	v = map_values(&c->utxo);
	for (i = 0, n = c->utxo.n; i < n; i++)
		free(v[i]);
	free(v);
	v = map_values(&c->index);
	for (i = 0, n = c->index.n; i < n; i++) {
		free(((struct bnode *)v[i])->undo);
		free(v[i]);
	}
	free(v);
	map_free(&c->index);
	map_free(&c->utxo);
	map_free(&c->pool);
	map_free(&c->spends);
	if (c->lock >= 0)
		close(c->lock);
	free(c->active);
	free(c->hdrs);
	free(c->genesis);
	free(c->dir);
	free(c);
}

/* Let a running node flush the block file in batches (chain_flush)
 * instead of after each block: fsync per block would make sync wait on
 * the disk.  A crash can then lose the last blocks, never the order:
 * replay still cuts the file at the first damaged record. */
void chain_lazy(struct chain *c, int lazy)
{
	c->lazy = lazy;
}

/* Flush what was appended to the block file to the disk. */
void chain_flush(struct chain *c)
{
	if (c->fd >= 0 && fsync(c->fd) != 0)
		fatal("cannot flush a block file");
}

/* What was wrong with the block files when they were opened, or NULL. */
const char *chain_report(const struct chain *c)
{
	return c->report[0] ? c->report : NULL;
}

/* Use a fixed clock (tests), or the real one again with 0. */
void chain_set_time(struct chain *c, int64_t now)
{
	c->now = now;
}

/* Start a new block file once one would grow past bytes (tests). */
void chain_set_file_limit(struct chain *c, uint32_t bytes)
{
	c->file_max = bytes;
}

/* Hold at most bytes of transactions in the mempool. */
void chain_set_pool_cap(struct chain *c, size_t bytes)
{
	c->pool_cap = bytes;
}

/* The height of the active tip. */
uint32_t chain_height(const struct chain *c)
{
	return tip(c)->height;
}

/* The hash of the active block at height; returns 0, or -1 if the active
 * chain has none there. */
int chain_hash_at(const struct chain *c, uint32_t height,
                  uint8_t hash[SHA256_LEN])
{
	if (height < c->root->height || height > tip(c)->height)
		return -1;
	memcpy(hash, c->active[height - c->root->height]->hash, SHA256_LEN);
	return 0;
}

/* The header and height of a known block; returns 1 if it is on the
 * active chain, 0 if not, -1 if unknown. */
int chain_header(const struct chain *c, const uint8_t hash[SHA256_LEN],
                 uint8_t hdr[HEADER_LEN], uint32_t *height)
{
	const struct bnode *n = map_get(&c->index, hash);

	if (!n)
		return -1;
	memcpy(hdr, n->hdr, HEADER_LEN);
	*height = n->height;
	return n->height <= tip(c)->height &&
	       c->active[n->height - c->root->height] == n;
}

/* What we know of a block: CH_* bits, 0 if nothing. */
int chain_status(const struct chain *c, const uint8_t hash[SHA256_LEN])
{
	const struct bnode *n = map_get(&c->index, hash);

	if (!n)
		return 0;
	return CH_HEADER | (n->status & HAVE_DATA ? CH_BODY : 0) |
	       (n->status & FAILED ? CH_FAILED : 0) |
	       (n->height <= tip(c)->height &&
	        c->active[n->height - c->root->height] == n ? CH_ACTIVE : 0);
}

/* The best header's hash (it may still lack its body); returns its
 * height. */
uint32_t chain_best_header(const struct chain *c, uint8_t hash[SHA256_LEN])
{
	memcpy(hash, best_header(c)->hash, SHA256_LEN);
	return best_header(c)->height;
}

/* Up to max blocks on the best header's chain that we hold no body for,
 * lowest first, looking at most `ahead` blocks past the point where that
 * chain leaves the active one: what sync fetches next.  Returns how many,
 * with each hash and height. */
size_t chain_missing(const struct chain *c, uint8_t (*hash)[SHA256_LEN],
                     uint32_t *height, size_t max, uint32_t ahead)
{
	size_t i = c->nactive < c->nhdrs ? c->nactive : c->nhdrs, k = 0, end;

	while (i > 0 && c->active[i - 1] != c->hdrs[i - 1])
		i--;                         /* down to where they agree */
	for (end = i + ahead; i < c->nhdrs && i < end && k < max; i++)
		if (!(c->hdrs[i]->status & (HAVE_DATA | FAILED))) {
			memcpy(hash[k], c->hdrs[i]->hash, SHA256_LEN);
			height[k++] = c->hdrs[i]->height;
		}
	return k;
}

/* The body of a block we hold, in a new buffer; NULL if we have none. */
uint8_t *chain_read_block(struct chain *c, const uint8_t hash[SHA256_LEN],
                          size_t *len)
{
	const struct bnode *n = map_get(&c->index, hash);

	if (!n || !(n->status & HAVE_DATA))
		return NULL;
	*len = n == c->root ? c->genesis_len : n->len;
	return read_block(c, n);
}

/* Call fn for every unspent output. */
void chain_each_coin(const struct chain *c, void (*fn)(void *arg,
                     const uint8_t *op, const struct coin *coin), void *arg)
{
	struct ment *e;
	size_t i;

	for (i = 0; i < c->utxo.nb; i++)
		for (e = c->utxo.b[i]; e; e = e->next)
			fn(arg, e->key, e->val);
}

/* Call fn for every mempool transaction, in arrival order. */
void chain_each_pooltx(const struct chain *c, void (*fn)(void *arg,
                       const struct tx *t), void *arg)
{
	struct ptx **v = pool_list(c, by_seq);
	size_t i, n = c->pool.n;

	for (i = 0; i < n; i++)
		fn(arg, &v[i]->tx);
	free(v);
}

/* The mempool transaction with this id, or NULL. */
const struct tx *chain_pool_tx(const struct chain *c,
                               const uint8_t id[SHA256_LEN])
{
	const struct ptx *p = map_get(&c->pool, id);

	return p ? &p->tx : NULL;
}

/* Does a mempool transaction spend this outpoint? */
int chain_pool_spent(const struct chain *c, const uint8_t op[OUTPOINT_LEN])
{
	return map_get(&c->spends, op) != NULL;
}

/* How many transactions the mempool holds, and (bytes) their size. */
size_t chain_pool_count(const struct chain *c, size_t *bytes)
{
	if (bytes)
		*bytes = c->pool_bytes;
	return c->pool.n;
}

/* Pick mempool transactions for a block, best fee rate first, a parent
 * always before its child.  Fills txs/lens from index 1; returns how many
 * and adds their fees to *fees. */
static size_t pick(const struct chain *c, uint8_t **txs, size_t *lens,
                   size_t room, uint64_t *fees)
{
	struct ptx **v = pool_list(c, by_rate);
	size_t i, n = c->pool.n, k = 1;
	struct map taken;
	uint32_t j;
	int more = 1;

	map_init(&taken, SHA256_LEN);
	while (more) {
		for (i = 0, more = 0; i < n; i++) {
			if (map_get(&taken, v[i]->tx.id) || v[i]->tx.len > room)
				continue;
			for (j = 0; j < v[i]->tx.nin; j++)
				if (map_get(&c->pool, v[i]->tx.in[j].prev) &&
				    !map_get(&taken, v[i]->tx.in[j].prev))
					break;
			if (j < v[i]->tx.nin)
				continue;
			map_put(&taken, v[i]->tx.id, v[i]);
			txs[k] = v[i]->raw;
			lens[k++] = v[i]->tx.len;
			room -= v[i]->tx.len;
			*fees += v[i]->fee;
			more = 1;
		}
	}
	map_free(&taken);
	free(v);
	return k - 1;
}

/* A block to mine on the tip, paying subsidy and fees to addr: the
 * required bits, a time past the median, mempool transactions by fee
 * rate.  Returns the new block (nonce 0) and its length. */
uint8_t *chain_template(struct chain *c, const uint8_t addr[ADDR_LEN],
                        size_t *len)
{
	const struct bnode *t = tip(c);
	uint8_t **txs = xcalloc(c->pool.n + 1, sizeof *txs), *blk;
	size_t *lens = xcalloc(c->pool.n + 1, sizeof *lens), n;
	uint8_t cb[MIN_TX];
	uint64_t fees = 0;
	int64_t now = chain_now(c), least = (int64_t)median_time(t) + 1;
	uint32_t bits = next_bits(c, t);

	n = pick(c, txs, lens, MAX_BLOCK_SIZE - HEADER_LEN - 4 - MIN_TX,
	         &fees);
	lens[0] = coinbase_write(t->height + 1, addr,
	                         subsidy(c->p, t->height + 1) + fees, cb,
	                         sizeof cb);
	txs[0] = cb;
	blk = block_make(t->hash, (uint32_t)(now > least ? now : least),
	                 bits ? bits : node_bits(t), txs, lens, n + 1, len);
	free(txs);
	free(lens);
	return blk;
}

/* Blocks a coinbase must wait before it can be spent, on this network. */
uint32_t chain_maturity(const struct chain *c)
{
	return c->p->maturity;
}
