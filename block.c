/*
 * block.c - the formats and rules of one block, as pure functions: the
 * networks' parameters, transactions and blocks read and written, the
 * digest a signature signs, merkle roots, targets and work in 256-bit
 * arithmetic, the rules a header and a body obey on their own, and the
 * miner's inner loop.  The chain's state is chain.c's.
 *
 * A transaction is described once, in tx_rw(), which both reads and writes
 * it; its id is the double SHA-256 of its bytes, and the digest its inputs
 * sign is the same description written without the signatures.  Start
 * reading at tx_rw().
 */
#include "node.h"

#define TX_VERSION   1              /* the only transaction version */
#define MAX_FUTURE   (2 * 60 * 60)  /* seconds a block may be ahead of our
                                       clock, as Bitcoin */
#define EXTRANONCE   (HEADER_LEN + 4 + 4 + 2 + OUTPOINT_LEN)  /* where the
                              coinbase's free key field starts in a block */

/* The genesis blocks, in hex, but for bits and nonce: the coinbase pays
 * the all-zero address, which nobody can spend, and carries a text. */
#define GENESIS(bits_nonce) \
	"0100000000000000000000000000000000000000000000000000000000000000" \
	"000000008b9f73506a511633e35407a25af9cb9b6b4e58021ebe17ee3f84102a" \
	"110fc0fa00df006b" bits_nonce "01000000010000000100000000000000" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"00000000000070656572636861696e3a206120736d616c6c2070726f6f662d6f" \
	"662d776f726b206e6f646500000000000000000000000000010000f2052a0100" \
	"0000000000000000000000000000000000000000000000000000000000000000" \
	"0000"

/* ==== Network parameters ==== */
static const struct params nets[] = {
	/* Bitcoin mainnet's headers, to check our rules on the real chain. */
	{ "bitcoin", { 0xf9, 0xbe, 0xb4, 0xd9 }, 0x1d00ffff, 2016, 600,
	  50 * COIN, 210000, 100, 8333,
	  "0100000000000000000000000000000000000000000000000000000000000000"
	  "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
	  "4b1e5e4a29ab5f49ffff001d1dac2b7c", 0 },
	/* peerchain's own network: a block a minute, a retarget a day. */
	{ "main", { 'p', 'c', 'm', 'n' }, 0x1e0fffff, 1440, 60,
	  50 * COIN, 210000, 100, 9333, GENESIS("ffff0f1e65300400"), 0 },
	/* make localnet: a block every 5 s, a retarget every 10 blocks, from
	 * a target easy enough (4,096 hashes) that the first blocks come at
	 * once and coins mature within the first minute. */
	{ "local", { 'p', 'c', 'l', 'n' }, 0x1f0fffff, 10, 5,
	  50 * COIN, 210000, 10, 19333, GENESIS("ffff0f1f53020000"), 0 },
	/* Tests: the easiest target, no retarget. */
	{ "regtest", { 'p', 'c', 'r', 't' }, 0x207fffff, 0, 5,
	  50 * COIN, 150, 10, 19444, GENESIS("ffff7f2003000000"), 0 },
};

/* The parameters of the network called name, or NULL. */
const struct params *params_find(const char *name) {
	for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
		if (!strcmp(nets[i].name, name)) return &nets[i];
	return NULL;
}

/* The name of a reason code as logs and the command line show it: its
 * name in node.h, in lowercase with dashes (a static buffer). */
const char *reason_text(int r) {
#define NAME(x) #x,
	static const char *const names[] = { REASONS(NAME) };
	static char text[32];
	size_t i;
	if (r < 0 || r >= V_NREASONS) return "unknown";
	for (i = 0; names[r][i] && i < sizeof text - 1; i++)
		text[i] = names[r][i] == '_' ? '-' : (char)(names[r][i] | 0x20);
	text[i] = 0;
	return text;
}

/* ==== Transactions ==== */
/* The outpoint txid | u32 index. */
void outpoint(uint8_t op[OUTPOINT_LEN], const uint8_t *txid, uint32_t index) {
	memcpy(op, txid, SHA256_LEN);
	put32le(op + SHA256_LEN, index);
}

/* A transaction, read or written (sigs = 0: without the signatures and
 * their lengths, which is what a signature signs):
 *   u32 version (1) | u16 nin | nin x (outpoint[36] | public key[56] |
 *   u16 siglen | signature) | u16 nout | nout x (u64 amount | addr[32]).
 * Counts and lengths are checked before anything is allocated. */
static void tx_rw(struct rw *s, struct tx *t, int sigs) {
	uint32_t version = TX_VERSION, i;
	rw_u32(s, &version);
	if (version != TX_VERSION)
		s->bad = 1;
	t->nin = rw_count(s, t->nin, 2, 0xffff, MIN_INPUT);
	if (!s->out && !s->bad)
		t->in = xcalloc(t->nin, sizeof *t->in);
	for (i = 0; i < t->nin && !s->bad; i++) {
		rw_ref(s, &t->in[i].prev, OUTPOINT_LEN);
		rw_ref(s, &t->in[i].pub, LMS_PUB_LEN);
		if (!sigs) continue;
		t->in[i].siglen = rw_count(s, t->in[i].siglen, 2,
		                                     LMS_SIG_MAX, 1);
		rw_ref(s, &t->in[i].sig, t->in[i].siglen);
	}
	t->nout = rw_count(s, t->nout, 2, 0xffff, MIN_OUTPUT);
	if (!s->out && !s->bad)
		t->out = xcalloc(t->nout, sizeof *t->out);
	for (i = 0; i < t->nout && !s->bad; i++) {
		rw_u64(s, &t->out[i].amount);
		rw_ref(s, &t->out[i].addr, ADDR_LEN);
	}
	if (!t->nin || !t->nout)
		s->bad = 1;
}

/* Free what tx_parse allocated. */
void tx_free(struct tx *t) {
	free(t->in);
	free(t->out);
	t->in = NULL;
	t->out = NULL;
}

/* Read one transaction at the cursor into t (pointing into the input);
 * returns V_OK, or V_MALFORMED with nothing left allocated. */
static int tx_read(struct rw *s, struct tx *t) {
	const uint8_t *start = s->in;
	memset(t, 0, sizeof *t);
	tx_rw(s, t, 1);
	if (s->bad) {
		tx_free(t);
		return V_MALFORMED;
	}
	t->raw = start;
	t->len = s->in - start;
	sha256d(t->raw, t->len, t->id);
	return V_OK;
}

/* Parse a transaction that fills (buf, len) exactly.  Returns V_OK or
 * V_MALFORMED (nothing allocated); t points into buf. */
int tx_parse(struct tx *t, const uint8_t *buf, size_t len) {
	struct rw s;
	rw_reader(&s, buf, len);
	if (tx_read(&s, t) != V_OK) return V_MALFORMED;
	if (s.left)
		tx_free(t);
	return s.left ? V_MALFORMED : V_OK;
}

/* Serialize t into buf; returns its length, or 0 if cap is too small. */
size_t tx_write(const struct tx *t, uint8_t *buf, size_t cap) {
	struct rw s;
	size_t len;
	rw_writer(&s);
	tx_rw(&s, (struct tx *)t, 1);
	len = s.len <= cap ? s.len : 0;
	memcpy(buf, s.out, len);
	free(s.out);
	return len;
}

/* The digest every input signs: tx_rw without signatures, hashed. */
void tx_sighash(const struct tx *t, uint8_t out[SHA256_LEN]) {
	struct rw s;
	rw_writer(&s);
	tx_rw(&s, (struct tx *)t, 0);
	sha256d(s.out, s.len, out);
	free(s.out);
}

/* A coinbase has one input, whose txid is all zero; its index is the
 * block's height and its key field is free (the miner's extra nonce). */
int tx_is_coinbase(const struct tx *t) {
	static const uint8_t zero[SHA256_LEN];
	return t->nin == 1 && !memcmp(t->in[0].prev, zero, SHA256_LEN);
}

/* The rules a transaction obeys on its own, cheap to check: a coinbase's
 * signature is empty; any other input's key is LMS H5 or H10 with LM-OTS
 * W4 (so no signature costs more CPU a byte than the wallet's own);
 * every amount, and their sum, within the money range.  A reason. */
int tx_check(const struct tx *t) {
	uint64_t sum = 0;
	uint32_t i, h;
	int coinbase = tx_is_coinbase(t);
	if (coinbase && t->in[0].siglen) return V_BAD_COINBASE;
	for (i = 0; i < t->nin && !coinbase; i++) {
		h = get32be(t->in[i].pub);
		if ((h != LMS_SHA256_M32_H5 && h != LMS_SHA256_M32_H10) ||
		    get32be(t->in[i].pub + 4) != LMOTS_SHA256_N32_W4)
			return V_UNSUPPORTED_KEY;
	}
	for (i = 0; i < t->nout; i++) {
		if (t->out[i].amount > MAX_MONEY) return V_AMOUNT_OUT_OF_RANGE;
		sum += t->out[i].amount;
		if (sum > MAX_MONEY) return V_AMOUNT_OUT_OF_RANGE;
	}
	return V_OK;
}

/* The signatures of t's inputs: each verifies over the signed message, or
 * is empty and borrows an earlier input's by the same key.  The costly
 * check, so the last one made.  Returns V_OK or V_BAD_SIGNATURE. */
int tx_signed(const struct tx *t) {
	uint8_t sighash[SHA256_LEN];
	uint32_t i, j;
	tx_sighash(t, sighash);
	for (i = 0; i < t->nin; i++) {
		for (j = 0; !t->in[i].siglen && j < i; j++)   /* a lender? */
			if (t->in[j].siglen &&
			    !memcmp(t->in[j].pub, t->in[i].pub, LMS_PUB_LEN))
				break;
		if (!t->in[i].siglen && j == i) return V_BAD_SIGNATURE;
		if (t->in[i].siglen &&
		    lms_verify(t->in[i].pub, LMS_PUB_LEN, sighash, SHA256_LEN,
		               t->in[i].sig, t->in[i].siglen) != LMS_OK)
			return V_BAD_SIGNATURE;
	}
	return V_OK;
}

/* Write the coinbase of a block at height paying amount to addr. */
size_t coinbase_write(uint32_t height, const uint8_t addr[ADDR_LEN],
                      uint64_t amount, uint8_t *buf, size_t cap) {
	uint8_t op[OUTPOINT_LEN] = { 0 }, key[LMS_PUB_LEN] = { 0 };
	struct txin in = { .prev = op, .pub = key };
	struct txout out = { .amount = amount, .addr = addr };
	struct tx t = { .nin = 1, .nout = 1, .in = &in, .out = &out };
	put32le(op + SHA256_LEN, height);
	return tx_write(&t, buf, cap);
}

/* ==== Blocks ==== */
/* Free what block_parse allocated. */
void block_free(struct block *b) {
	for (uint32_t i = 0; i < b->ntx; i++)
		tx_free(&b->tx[i]);
	free(b->tx);
	b->tx = NULL;
	b->ntx = 0;
}

/* Parse a whole block: header[80] | u32 count | count transactions, and
 * nothing after.  Returns V_OK or V_MALFORMED (nothing allocated). */
int block_parse(struct block *b, const uint8_t *buf, size_t len) {
	struct rw s;
	uint32_t i, n;
	memset(b, 0, sizeof *b);
	b->raw = buf;
	b->len = len;
	rw_reader(&s, buf, len);
	rw_take(&s, HEADER_LEN);
	n = rw_count(&s, 0, 4, MAX_BLOCK_SIZE, MIN_TX);
	if (s.bad) return V_MALFORMED;
	b->tx = xcalloc(n, sizeof *b->tx);
	for (i = 0; i < n && tx_read(&s, &b->tx[i]) == V_OK; i++)
		b->ntx++;
	if (i < n || s.left) {
		block_free(b);
		return V_MALFORMED;
	}
	return V_OK;
}

/* The merkle root of n txids (h, overwritten), Bitcoin's way: hash pairs
 * level by level, the last with itself when a level is odd.  *mutated: a
 * pair was equal (CVE-2012-2459: a repeated transaction, the same root).
 * The hashes paired with leaf pos on the way up go into branch (unless
 * NULL); returns how many. */
static int merkle(uint8_t (*h)[SHA256_LEN], size_t n, uint8_t root[SHA256_LEN],
                  int *mutated, size_t pos, uint8_t (*branch)[SHA256_LEN]) {
	uint8_t pair[2 * SHA256_LEN];
	size_t i, j;
	int depth = 0;
	*mutated = 0;
	memset(root, 0, SHA256_LEN);
	if (n == 0) return 0;
	for (; n > 1; n = (n + 1) / 2, pos /= 2, depth++) {
		if (branch)
			memcpy(branch[depth], h[(pos ^ 1) < n ? pos ^ 1 : pos],
			       SHA256_LEN);
		for (i = 0; i < n; i += 2) {
			j = i + 1 < n ? i + 1 : i;
			if (j != i && !memcmp(h[i], h[j], SHA256_LEN))
				*mutated = 1;
			memcpy(pair, h[i], SHA256_LEN);
			memcpy(pair + SHA256_LEN, h[j], SHA256_LEN);
			sha256d(pair, sizeof pair, h[i / 2]);
		}
	}
	memcpy(root, h[0], SHA256_LEN);
	return depth;
}

/* The merkle root of a parsed block's transactions (and the branch of
 * transaction pos, as merkle() makes it); returns the branch's depth. */
static int block_root(const struct block *b, uint8_t root[SHA256_LEN],
                      int *mutated, uint32_t pos,
                      uint8_t (*branch)[SHA256_LEN]) {
	uint8_t (*h)[SHA256_LEN] = xcalloc(b->ntx, SHA256_LEN);
	uint32_t i;
	for (i = 0; i < b->ntx; i++)
		memcpy(h[i], b->tx[i].id, SHA256_LEN);
	int depth = merkle(h, b->ntx, root, mutated, pos, branch);
	free(h);
	return depth;
}

/* The merkle branch of a block's transaction pos into branch (room for
 * BRANCH_MAX hashes); returns how many hashes it has. */
int block_branch(const struct block *b, uint32_t pos,
                 uint8_t (*branch)[SHA256_LEN]) {
	uint8_t root[SHA256_LEN];
	int mutated;
	return block_root(b, root, &mutated, pos, branch);
}

/* The merkle root that a branch of depth hashes leads to from txid id at
 * position pos, into root; returns 0, or -1 if pos is past the depth. */
int block_climb(const uint8_t id[SHA256_LEN], uint32_t pos,
                const uint8_t *branch, int depth, uint8_t root[SHA256_LEN]) {
	uint8_t pair[2 * SHA256_LEN];
	memcpy(root, id, SHA256_LEN);
	for (int i = 0; i < depth; i++, pos >>= 1) {
		memcpy(pair + (pos & 1 ? SHA256_LEN : 0), root, SHA256_LEN);
		memcpy(pair + (pos & 1 ? 0 : SHA256_LEN),
		       branch + i * SHA256_LEN, SHA256_LEN);
		sha256d(pair, sizeof pair, root);
	}
	return pos ? -1 : 0;
}

/* Write a block's merkle root into its header; returns 0 or -1. */
int block_merkle(uint8_t *blk, size_t len) {
	struct block b;
	int mutated;
	if (block_parse(&b, blk, len) != V_OK) return -1;
	block_root(&b, blk + HDR_MERKLE, &mutated, 0, NULL);
	block_free(&b);
	return 0;
}

/* The rules of a body at height: first, that it is the one its header
 * commits to (the merkle root, no duplicates: if not, V_BAD_MERKLE_ROOT
 * or V_DUPLICATE_TX, which say nothing of the header); then one coinbase,
 * first, committing to the height; amounts in range. */
int block_check(const struct block *b, uint32_t height) {
	uint8_t root[SHA256_LEN];
	int mutated, r;
	block_root(b, root, &mutated, 0, NULL);
	if (b->ntx == 0 || memcmp(root, b->raw + HDR_MERKLE, SHA256_LEN))
		return V_BAD_MERKLE_ROOT;
	if (mutated) return V_DUPLICATE_TX;
	if (!tx_is_coinbase(&b->tx[0]) ||
	    get32le(b->tx[0].in[0].prev + SHA256_LEN) != height)
		return V_BAD_COINBASE;
	for (uint32_t i = 0; i < b->ntx; i++) {
		if (i > 0 && tx_is_coinbase(&b->tx[i])) return V_BAD_COINBASE;
		if ((r = tx_check(&b->tx[i])) != V_OK) return r;
	}
	return V_OK;
}

/* The new coins a coinbase at height may claim: the subsidy halves every
 * p->halving blocks, and is 0 after 64 halvings. */
uint64_t block_subsidy(const struct params *p, uint32_t height) {
	uint32_t halvings = height / p->halving;
	return halvings >= 64 ? 0 : p->subsidy >> halvings;
}

/* A new block (version 1, nonce 0) of these transactions, coinbase first. */
uint8_t *block_make(const uint8_t prev[SHA256_LEN], uint32_t time,
                    uint32_t bits, uint8_t *const *txs, const size_t *lens,
                    size_t ntx, size_t *len) {
	size_t i, k = HEADER_LEN + 4;
	for (i = 0, *len = k; i < ntx; i++)
		*len += lens[i];
	uint8_t *blk = xmalloc(*len);
	put32le(blk, 1);
	memcpy(blk + HDR_PREV, prev, SHA256_LEN);
	put32le(blk + HDR_TIME, time);
	put32le(blk + HDR_BITS, bits);
	put32le(blk + HEADER_LEN, ntx);
	for (i = 0; i < ntx; i++) {
		memcpy(blk + k, txs[i], lens[i]);
		k += lens[i];
	}
	block_merkle(blk, *len);
	return blk;
}

/* ==== 256-bit numbers: targets and work ==== */
/* -1, 0 or 1 as a is below, equal to or above b. */
int u256_cmp(const u256 *a, const u256 *b) {
	for (int i = 7; i >= 0; i--)
		if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

/* a += b (modulo 2^256). */
void u256_add(u256 *a, const u256 *b) {
	uint64_t carry = 0;
	for (int i = 0; i < 8; i++) {
		carry += (uint64_t)a->w[i] + b->w[i];
		a->w[i] = (uint32_t)carry;
		carry >>= 32;
	}
}

/* a -= b, for a >= b. */
static void u_sub(u256 *a, const u256 *b) {
	uint64_t borrow = 0, d;
	for (int i = 0; i < 8; i++) {
		d = (uint64_t)a->w[i] - b->w[i] - borrow;
		a->w[i] = (uint32_t)d;
		borrow = d >> 63;
	}
}

/* a *= m; returns the word that overflowed past 256 bits. */
static uint32_t u_mul32(u256 *a, uint32_t m) {
	uint64_t carry = 0;
	for (int i = 0; i < 8; i++) {
		carry += (uint64_t)a->w[i] * m;
		a->w[i] = (uint32_t)carry;
		carry >>= 32;
	}
	return (uint32_t)carry;
}

/* a = (hi * 2^256 + a) / d, rounding down, for hi < d. */
static void u_div32(u256 *a, uint32_t hi, uint32_t d) {
	uint64_t r = hi;
	for (int i = 7; i >= 0; i--) {
		r = r << 32 | a->w[i];
		a->w[i] = (uint32_t)(r / d);
		r %= d;
	}
}

/* q = n / d, by long division one bit at a time (d below 2^255). */
static void u_div(u256 *q, const u256 *n, const u256 *d) {
	u256 r = { { 0 } };
	int i, k;
	memset(q, 0, sizeof *q);
	for (i = 255; i >= 0; i--) {
		for (k = 7; k > 0; k--)
			r.w[k] = r.w[k] << 1 | r.w[k - 1] >> 31;
		r.w[0] = r.w[0] << 1 | (n->w[i / 32] >> (i % 32) & 1);
		if (u256_cmp(&r, d) >= 0) {
			u_sub(&r, d);
			q->w[i / 32] |= 1u << (i % 32);
		}
	}
}

/* A hash read as Bitcoin reads it: a little-endian number. */
static void u_from_hash(u256 *a, const uint8_t h[SHA256_LEN]) {
	for (int i = 0; i < 8; i++)
		a->w[i] = get32le(h + 4 * i);
}

/* The target that compact bits stand for: a 3-byte mantissa times
 * 256^(exponent - 3).  Returns 0 for a negative, zero or oversized one. */
static int target_of(uint32_t bits, u256 *t) {
	uint8_t b[SHA256_LEN] = { 0 };
	uint32_t size = bits >> 24, word = bits & 0x007fffff, v;
	int i, pos, nonzero = 0;
	if (bits & 0x00800000) return 0;
	for (i = 0; i < 3; i++) {
		pos = (int)size - 3 + i;
		v = word >> 8 * i & 0xff;
		if (pos >= SHA256_LEN && v) return 0;
		if (pos >= 0 && pos < SHA256_LEN) {
			b[pos] = v;
			nonzero |= v != 0;
		}
	}
	u_from_hash(t, b);
	return nonzero;
}

/* The compact bits of a target, rounding down as Bitcoin does. */
static uint32_t compact_of(const u256 *t) {
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

/* The work a header with these bits proves: the expected number of
 * hashes, 2^256 / (target + 1) = ~target / (target + 1) + 1.  The last
 * answer is kept: a chain's bits rarely change. */
void header_work(uint32_t bits, u256 *w) {
	static uint32_t last_bits;
	static u256 last;
	u256 t, n, one = { { 1 } };
	if (bits == last_bits && bits) {
		*w = last;
		return;
	}
	memset(w, 0, sizeof *w);
	if (target_of(bits, &t)) {
		for (int i = 0; i < 8; i++)
			n.w[i] = ~t.w[i];
		u256_add(&t, &one);
		u_div(w, &n, &t);
		u256_add(w, &one);
	}
	last_bits = bits;
	last = *w;
}

/* The bits after a retarget: the target scaled by how long the interval
 * took (span seconds, clamped to [1/4, 4] times what it should), as
 * Bitcoin does; never past the network's limit. */
uint32_t header_retarget(const struct params *p, uint32_t bits, int64_t span) {
	int64_t want = (int64_t)p->interval * p->spacing;
	u256 t, limit;
	span = span < want / 4 ? want / 4 : span > want * 4 ? want * 4 : span;
	target_of(bits, &t);
	target_of(p->limit_bits, &limit);
	uint32_t hi = u_mul32(&t, span);   /* 288 bits: no overflow */
	if (hi < want)
		u_div32(&t, hi, want);
	if (hi >= want || u256_cmp(&t, &limit) > 0)
		t = limit;
	return compact_of(&t);
}

/* The rules of a header given its parent: the bits it must carry
 * (want_bits; 0: unknown), a target within the limit, proof of work, a
 * time at least `least` and at most MAX_FUTURE ahead.  Returns a reason. */
int header_check(const struct params *p, const uint8_t *hdr,
                 const uint8_t hash[SHA256_LEN], uint32_t want_bits,
                 int64_t least, int64_t now) {
	uint32_t bits = get32le(hdr + HDR_BITS);
	int64_t t = get32le(hdr + HDR_TIME);
	u256 target, limit, h;
	target_of(p->limit_bits, &limit);
	if ((want_bits && bits != want_bits) || !target_of(bits, &target) ||
	    u256_cmp(&target, &limit) > 0)
		return V_BAD_BITS;
	u_from_hash(&h, hash);
	if (u256_cmp(&h, &target) > 0) return V_BAD_POW;
	if (t < least) return V_TIME_TOO_OLD;
	if (t > now + MAX_FUTURE) return V_TIME_TOO_NEW;
	return V_OK;
}

/* ==== Mining ==== */
/* The nonce ran out: move the time on, or once it would pass max_time,
 * bump the extra nonce in the coinbase's key field instead. */
static void roll(uint8_t *blk, size_t len, int64_t max_time) {
	uint32_t t = get32le(blk + HDR_TIME);
	if ((int64_t)t + 1 <= max_time || len < EXTRANONCE + 8) {
		put32le(blk + HDR_TIME, t + 1);
		return;
	}
	put64le(blk + EXTRANONCE, get64le(blk + EXTRANONCE) + 1);
	block_merkle(blk, len);
}

/* Try up to tries nonces from the header's own, from a midstate.
 * Returns 1 solved, 0 (the next nonce stored), -1 if bits are no target. */
int block_mine(uint8_t *blk, size_t len, unsigned long tries,
               int64_t max_time) {
	uint32_t nonce = get32le(blk + HDR_NONCE);
	uint8_t out[SHA256_LEN];
	sha256_ctx mid;
	u256 target, h;
	if (!target_of(get32le(blk + HDR_BITS), &target)) return -1;
	sha256_init(&mid);
	sha256_update(&mid, blk, 64);
	for (; tries > 0; tries--) {
		put32le(blk + HDR_NONCE, nonce);
		sha256d_from(&mid, blk + 64, 16, out);
		u_from_hash(&h, out);
		if (u256_cmp(&h, &target) <= 0) return 1;
		nonce++;
		if (nonce == 0) {
			roll(blk, len, max_time);
			sha256_init(&mid);
			sha256_update(&mid, blk, 64);
		}
	}
	put32le(blk + HDR_NONCE, nonce);
	return 0;
}
