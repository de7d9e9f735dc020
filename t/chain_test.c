/*
 * t/chain_test.c - the ledger: Bitcoin's real headers under the bitcoin
 * parameters, one block per validation rule (each rejected with that
 * rule's reason, leaving the chain as it was), the block files (torn and
 * flipped tails, the lock), fork choice and reorgs, the mempool, mining.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "../node.h"

#define T0 1800000000       /* the tests' clock: later than every genesis */
#define LEAVES 32           /* the test keys are H5: 32 one-time keys */

static struct lms_key key, key2; /* static: each is over 64 KiB */
static uint8_t pub[LMS_PUB_LEN], addr[ADDR_LEN];
static uint8_t pub2[LMS_PUB_LEN], addr2[ADDR_LEN];
static uint32_t leaf;
static char dir[64];
static uint8_t cbid[64][SHA256_LEN]; /* coinbase txid by height */

/* Two small keys (H5/W4) from fixed seeds, and their addresses. */
static void keys(void) {
	uint8_t I[LMS_I_LEN] = { 1 }, seed[LMS_SEED_LEN] = { 2 };

	assert(lms_keygen(&key, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4, I,
	                  seed) == 0);
	lms_public_key(&key, pub);
	sha256(pub, LMS_PUB_LEN, addr);
	seed[0] = 3;
	assert(lms_keygen(&key2, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4, I,
	                  seed) == 0);
	lms_public_key(&key2, pub2);
	sha256(pub2, LMS_PUB_LEN, addr2);
}

/* A fresh regtest chain in a new temporary directory. */
static struct chain *fresh(const struct params *p) {
	struct chain *c;

	strcpy(dir, "/tmp/pc-chain-XXXXXX");
	assert(mkdtemp(dir));
	c = chain_open(p ? p : params_find("regtest"), dir, 0);
	assert(c);
	c->now = T0;
	return c;
}

/* Reopen the chain in dir. */
static struct chain *reopen(struct chain *c) {
	chain_close(c);
	c = chain_open(params_find("regtest"), dir, 0);
	assert(c);
	c->now = T0;
	return c;
}

/* Close the chain and remove its directory. */
static void done(struct chain *c) {
	char cmd[128];

	chain_close(c);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert(system(cmd) == 0);
}

/* The tip's header. */
static void tip_header(struct chain *c, uint8_t hdr[HEADER_LEN],
                       uint8_t hash[SHA256_LEN]) {
	uint32_t h;

	assert(chain_hash_at(c, chain_height(c), hash) == 0);
	assert(chain_header(c, hash, hdr, &h) == 1);
}

/* Mine a block after prev (at height) holding a coinbase that claims
 * `claim` and then the n transactions given; solved, or with bad_pow set
 * deliberately not. */
static uint8_t *block_after(const uint8_t prev[SHA256_LEN], uint32_t height,
                            uint32_t time, uint8_t **txs, size_t *lens,
                            size_t n, uint64_t claim, int bad_pow,
                            size_t *len) {
	uint8_t cb[512], *all[16], *b;
	size_t alll[16], i;
	int r;

	assert(n < 15);
	alll[0] = coinbase_write(height, addr, claim, cb, sizeof cb);
	all[0] = cb;
	for (i = 0; i < n; i++) {
		all[i + 1] = txs[i];
		alll[i + 1] = lens[i];
	}
	b = block_make(prev, time, 0x207fffff, all, alll, n + 1, len);
	if (height < 64)
		sha256d(cb, alll[0], cbid[height]);
	while ((r = block_mine(b, *len, 1, T0)) != !bad_pow)
		assert(r >= 0);
	return b;
}

/* Find a nonce for a block changed after it was mined. */
static void solve(uint8_t *b, size_t len) {
	while (block_mine(b, len, 1, T0) != 1)
		;
}

/* A block on the tip; see block_after. */
static uint8_t *block_on(struct chain *c, uint8_t **txs, size_t *lens,
                         size_t n, uint64_t claim, size_t *len) {
	uint8_t hdr[HEADER_LEN], hash[SHA256_LEN];

	tip_header(c, hdr, hash);
	return block_after(hash, chain_height(c) + 1,
	                   get32le(hdr + HDR_TIME) + 1, txs, lens, n, claim, 0,
	                   len);
}

/* Add a block on the tip (coinbase claiming 50 coins plus fee); returns
 * the chain's verdict. */
static int add_on(struct chain *c, uint8_t **txs, size_t *lens, size_t n,
                  uint64_t fee) {
	size_t len;
	uint8_t *b = block_on(c, txs, lens, n, 50 * COIN + fee, &len);
	int r = chain_add_block(c, b, len);

	free(b);
	return r;
}

/* Mine n empty blocks on the tip. */
static void grow(struct chain *c, int n) {
	while (n-- > 0)
		assert(add_on(c, NULL, NULL, 0, 0) == V_OK);
}

/* A transaction spending output idx of txid (signed by k, whose public
 * key is kpub) into one or two outputs paying `to`. */
static size_t make_tx(uint8_t *buf, size_t cap, const uint8_t *txid,
                      uint32_t idx, const struct lms_key *k,
                      const uint8_t *kpub, uint64_t a0, uint64_t a1,
                      const uint8_t *to) {
	uint8_t op[OUTPOINT_LEN], sighash[SHA256_LEN];
	static uint8_t sig[LMS_SIG_MAX];
	struct txin in;
	struct txout out[2];
	struct tx t;

	memcpy(op, txid, SHA256_LEN);
	put32le(op + SHA256_LEN, idx);
	memset(&t, 0, sizeof t);
	in.prev = op;
	in.pub = kpub;
	in.sig = NULL;
	in.siglen = 0;
	out[0].amount = a0;
	out[1].amount = a1;
	out[0].addr = out[1].addr = to;
	t.nin = 1;
	t.nout = a1 ? 2 : 1;
	t.in = &in;
	t.out = out;
	tx_sighash(&t, sighash);
	in.siglen = lms_sign(k, leaf++ % LEAVES, sighash, SHA256_LEN, sig,
	                     sizeof sig);
	assert(in.siglen > 0);
	in.sig = sig;
	return tx_write(&t, buf, cap);
}

/* An order-free digest of the UTXO set, to check it is unchanged. */
static void utxo_sum(void *arg, const uint8_t *op, const struct coin *coin) {
	uint8_t buf[OUTPOINT_LEN + 8 + ADDR_LEN + 4], h[SHA256_LEN];
	uint8_t *acc = arg;
	int i;

	memcpy(buf, op, OUTPOINT_LEN);
	put64le(buf + OUTPOINT_LEN, coin->amount);
	memcpy(buf + OUTPOINT_LEN + 8, coin->addr, ADDR_LEN);
	put32le(buf + OUTPOINT_LEN + 8 + ADDR_LEN, coin->height);
	sha256(buf, sizeof buf, h);
	for (i = 0; i < SHA256_LEN; i++)
		acc[i] ^= h[i];
}

/* The UTXO digest and the tip hash together: the chain's state. */
static void state(struct chain *c, uint8_t out[2 * SHA256_LEN]) {
	struct mwalk walk;
	const struct ment *e;
	memset(out, 0, 2 * SHA256_LEN);
	for (e = chain_coins(c, &walk); e; e = map_step(&walk))
		utxo_sum(out, e->key, e->val);
	assert(chain_hash_at(c, chain_height(c), out + SHA256_LEN) == 0);
}

/* ==== Bitcoin's real headers ==== */

/* Feed every header of a file; then, at each of `every`-th header, every
 * single-byte change must be refused before the real header is taken. */
static void feed_headers(struct chain *c, const uint8_t *h, size_t n,
                         size_t every) {
	uint8_t bad[HEADER_LEN];
	size_t i, k;

	for (i = 1; i < n; i++) {
		for (k = 0; i % every == 0 && k < HEADER_LEN; k++) {
			memcpy(bad, h + i * HEADER_LEN, HEADER_LEN);
			bad[k] ^= (uint8_t)(1u << (k % 8));
			assert(chain_add_header(c, bad) != V_OK);
		}
		assert(chain_add_header(c, h + i * HEADER_LEN) == V_OK);
	}
}

/* Heights 0..9999 link, meet their targets and keep bits at the limit. */
static void test_bitcoin_first(void) {
	size_t len;
	uint8_t *h = read_file("t/vectors/btc_headers_0_9999.bin", &len);
	struct chain *c = chain_open(params_find("bitcoin"), NULL, 0);
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN];
	uint32_t height;

	assert(len == 10000 * HEADER_LEN);
	/* our genesis is theirs */
	assert(chain_add_header(c, h) == V_ALREADY_KNOWN);
	feed_headers(c, h, 10000, 7);
	sha256d(h + 9999 * HEADER_LEN, HEADER_LEN, hash);
	assert(chain_header(c, hash, hdr, &height) == 0 && height == 9999);
	chain_close(c);
	free(h);
}

/* Heights 30000..39999 from a trusted first header: every retarget is
 * recomputed, among them the real changes at 32256, 34272, 36288, 38304. */
static void test_bitcoin_retargets(void) {
	static const uint32_t at[] = { 32256, 34272, 36288, 38304 };
	static const uint32_t bits[] = { 0x1d00d86a, 0x1d00c428, 0x1d00be71,
	                                 0x1d008cc3 };
	struct params p = *params_find("bitcoin");
	char hex[2 * HEADER_LEN + 1];
	size_t len, i;
	uint8_t *h = read_file("t/vectors/btc_headers_30000_39999.bin", &len);
	struct chain *c;

	hex_encode(h, HEADER_LEN, hex);
	p.genesis = hex;
	p.genesis_height = 30000;
	c = chain_open(&p, NULL, 0);
	for (i = 0; i < 4; i++) {
		assert(get32le(h + (at[i] - 30000) * HEADER_LEN + HDR_BITS) ==
		       bits[i]);
		assert(get32le(h + (at[i] - 30001) * HEADER_LEN + HDR_BITS) !=
		       bits[i]);
	}
	feed_headers(c, h, 10000, 7);
	chain_close(c);
	/* the same retarget headers with the previous bits are refused */
	c = chain_open(&p, NULL, 0);
	for (i = 1; i < at[0] - 30000; i++)
		assert(chain_add_header(c, h + i * HEADER_LEN) == V_OK);
	put32le(h + i * HEADER_LEN + 72, 0x1d00ffff);
	assert(chain_add_header(c, h + i * HEADER_LEN) == V_BAD_BITS);
	chain_close(c);
	free(h);
}

/* Every single-byte change of every retarget header is refused. */
static void test_bitcoin_every_byte(void) {
	struct params p = *params_find("bitcoin");
	char hex[2 * HEADER_LEN + 1];
	size_t len;
	uint8_t *h = read_file("t/vectors/btc_headers_30000_39999.bin", &len);
	struct chain *c;

	hex_encode(h, HEADER_LEN, hex);
	p.genesis = hex;
	p.genesis_height = 30000;
	c = chain_open(&p, NULL, 0);
	feed_headers(c, h, 10000, 1);
	chain_close(c);
	free(h);
}

/* ==== One block per rule ==== */

/* A chain 12 blocks high: the coinbases of heights 1 and 2 are mature. */
static struct chain *funded(void) {
	struct chain *c;

	keys();
	c = fresh(NULL);
	grow(c, 12);
	return c;
}

/* Offer a block; it must be refused for reason r, leaving tip and UTXO
 * set as they were. */
static void refused(struct chain *c, const uint8_t *b, size_t len, int r) {
	uint8_t before[2 * SHA256_LEN], after[2 * SHA256_LEN];

	state(c, before);
	assert(chain_add_block(c, b, len) == r);
	state(c, after);
	assert(memcmp(before, after, sizeof before) == 0);
}

/* Build on the tip with the given transactions and coinbase claim; it
 * must be refused for reason r. */
static void refused_with(struct chain *c, uint8_t **txs, size_t *lens,
                         size_t n, uint64_t claim, int r) {
	size_t len;
	uint8_t *b = block_on(c, txs, lens, n, claim, &len);

	refused(c, b, len, r);
	free(b);
}

/* Proof of work, and bits other than the required ones. */
static void test_rule_pow_bits(void) {
	struct chain *c = funded();
	uint8_t hdr[HEADER_LEN], hash[SHA256_LEN], *b;
	size_t len;

	tip_header(c, hdr, hash);
	b = block_after(hash, 13, get32le(hdr + HDR_TIME) + 1, NULL, NULL, 0,
	                50 * COIN, 1, &len);
	refused(c, b, len, V_BAD_POW);
	/* harder than required: still wrong */
	put32le(b + HDR_BITS, 0x1f7fffff);
	solve(b, len);
	refused(c, b, len, V_BAD_BITS);
	free(b);
	done(c);
}

/* Time: above the median of the last 11, at most 2 hours ahead. */
static void test_rule_time(void) {
	struct chain *c = funded();
	uint8_t hdr[HEADER_LEN], hash[SHA256_LEN], *b;
	uint32_t t;
	size_t len;

	tip_header(c, hdr, hash);
	/* times rise by 1: median is t - 5 */
	t = get32le(hdr + HDR_TIME);
	b = block_after(hash, 13, t - 5, NULL, NULL, 0, 50 * COIN, 0, &len);
	refused(c, b, len, V_TIME_TOO_OLD);
	free(b);
	b = block_after(hash, 13, t - 4, NULL, NULL, 0, 50 * COIN, 0, &len);
	assert(chain_add_block(c, b, len) == V_OK);
	free(b);
	tip_header(c, hdr, hash);
	b = block_after(hash, 14, T0 + 7201, NULL, NULL, 0, 50 * COIN, 0,
	                &len);
	refused(c, b, len, V_TIME_TOO_NEW);
	free(b);
	b = block_after(hash, 14, T0 + 7200, NULL, NULL, 0, 50 * COIN, 0,
	                &len);
	assert(chain_add_block(c, b, len) == V_OK);
	free(b);
	done(c);
}

/* A block over the size limit (a coinbase with 25,001 outputs), and a
 * block cut short. */
static void test_rule_size(void) {
	struct chain *c = funded();
	size_t n = MAX_BLOCK_SIZE / (8 + ADDR_LEN) + 1, txlen, len, i;
	uint8_t *tx = calloc(1, 200 + n * 40), op[OUTPOINT_LEN] = { 0 };
	uint8_t hdr[HEADER_LEN], hash[SHA256_LEN], key0[LMS_PUB_LEN] = { 0 };
	struct txout *out = calloc(n, sizeof *out);
	uint8_t *b, *txs[1];
	struct txin in;
	struct tx t;

	put32le(op + SHA256_LEN, 13);
	in.prev = op;
	in.pub = key0;
	in.siglen = 0;
	for (i = 0; i < n; i++)
		out[i].addr = addr;
	memset(&t, 0, sizeof t);
	t.nin = 1;
	t.nout = (uint32_t)n;
	t.in = &in;
	t.out = out;
	txlen = tx_write(&t, tx, 200 + n * 40);
	txs[0] = tx;
	tip_header(c, hdr, hash);
	b = block_make(hash, get32le(hdr + HDR_TIME) + 1, 0x207fffff, txs,
	               &txlen, 1, &len);
	assert(len > MAX_BLOCK_SIZE && len < MAX_BLOCK_SIZE + 300);
	solve(b, len);
	refused(c, b, len, V_TOO_BIG);
	free(b);
	b = block_on(c, NULL, NULL, 0, 50 * COIN, &len);
	for (i = HEADER_LEN; i < len; i++)
		refused(c, b, i, V_MALFORMED);
	free(b);
	free(tx);
	free(out);
	done(c);
}

/* One coinbase, first, committing to the height. */
static void test_rule_coinbase(void) {
	struct chain *c = funded();
	uint8_t tx[4096], cb[512], *txs[2];
	size_t lens[2], len;
	uint8_t *b;

	/* a normal transaction first: the block has no coinbase */
	lens[0] = make_tx(tx, sizeof tx, cbid[1], 0, &key, pub, 50 * COIN, 0,
	                  addr);
	txs[0] = tx;
	b = block_on(c, txs, lens, 1, 50 * COIN, &len);
	memmove(b + HEADER_LEN + 4, b + HEADER_LEN + 4 + (len - HEADER_LEN - 4 -
	        lens[0]), lens[0]);
	put32le(b + HEADER_LEN, 1);
	len = HEADER_LEN + 4 + lens[0];
	block_merkle(b, len);
	solve(b, len);
	refused(c, b, len, V_BAD_COINBASE);
	free(b);
	/* a second coinbase */
	lens[0] = coinbase_write(13, addr2, 1, cb, sizeof cb);
	txs[0] = cb;
	refused_with(c, txs, lens, 1, 50 * COIN, V_BAD_COINBASE);
	/* a coinbase for the wrong height */
	b = block_on(c, NULL, NULL, 0, 50 * COIN, &len);
	put32le(b + HEADER_LEN + 4 + 6 + SHA256_LEN, 12);
	block_merkle(b, len);
	solve(b, len);
	refused(c, b, len, V_BAD_COINBASE);
	free(b);
	done(c);
}

/* The merkle root, and the CVE-2012-2459 mutation: a repeated last
 * transaction gives the same root.  The mutated copy must not poison the
 * header: the real block is taken afterwards. */
static void test_rule_merkle(void) {
	struct chain *c = funded();
	uint8_t t1[4096], t2[4096], *txs[2], *b, *m;
	size_t lens[2], len;

	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 50 * COIN, 0,
	                  addr2);
	lens[1] = make_tx(t2, sizeof t2, cbid[2], 0, &key, pub, 50 * COIN, 0,
	                  addr2);
	txs[0] = t1;
	txs[1] = t2;
	b = block_on(c, txs, lens, 2, 50 * COIN, &len);
	b[40] ^= 1;
	solve(b, len);
	refused(c, b, len, V_BAD_MERKLE_ROOT);
	block_merkle(b, len);
	solve(b, len);
	/* [cb, t1, t2] -> [cb, t1, t2, t2] */
	m = malloc(len + lens[1]);
	memcpy(m, b, len);
	memcpy(m + len, t2, lens[1]);
	put32le(m + HEADER_LEN, 4);
	refused(c, m, len + lens[1], V_DUPLICATE_TX);
	assert(chain_add_block(c, b, len) == V_OK);
	assert(chain_height(c) == 13);
	free(m);
	free(b);
	done(c);
}

/* Inputs: unknown, spent on this branch, spent twice in one block. */
static void test_rule_inputs(void) {
	struct chain *c = funded();
	uint8_t t1[4096], t2[4096], none[SHA256_LEN] = { 9 }, *txs[2];
	size_t lens[2];

	lens[0] = make_tx(t1, sizeof t1, none, 0, &key, pub, COIN, 0, addr);
	txs[0] = t1;
	refused_with(c, txs, lens, 1, 50 * COIN, V_MISSING_INPUT);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 1, &key, pub, COIN, 0, addr);
	/* no output 1 */
	refused_with(c, txs, lens, 1, 50 * COIN, V_MISSING_INPUT);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 20 * COIN, 0,
	                  addr2);
	lens[1] = make_tx(t2, sizeof t2, cbid[1], 0, &key, pub, 30 * COIN, 0,
	                  addr2);
	txs[1] = t2;
	refused_with(c, txs, lens, 2, 50 * COIN, V_DOUBLE_SPEND);
	assert(add_on(c, txs, lens, 1, 30 * COIN) == V_OK);
	txs[0] = t2;
	lens[0] = lens[1];
	refused_with(c, txs, lens, 1, 50 * COIN, V_MISSING_INPUT);  /* spent */
	done(c);
}

/* Signatures: valid, and by the key the address names. */
static void test_rule_signature(void) {
	struct chain *c = funded();
	uint8_t t1[4096], *txs[1];
	size_t lens[1];

	txs[0] = t1;
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, COIN, 0, addr);
	t1[lens[0] - 41 - 100] ^= 4;      /* inside the signature */
	refused_with(c, txs, lens, 1, 50 * COIN, V_BAD_SIGNATURE);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key2, pub2, COIN, 0,
	                  addr);           /* valid, by someone else's key */
	refused_with(c, txs, lens, 1, 50 * COIN, V_KEY_NOT_ADDRESS);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, COIN, 0, addr);
	assert(add_on(c, txs, lens, 1, 49 * COIN) == V_OK);
	done(c);
}

/* A block with valid proof of work and a bad signature, stored first at
 * the height of the tip checked.dat then names: the restart, which skips
 * the signatures checked.dat vouches for, does not take it for that tip
 * (and so never falls back to checking every signature). */
static void test_attack_trusted_tie(void) {
	struct chain *c = funded();
	uint8_t t1[4096], *txs[1], tip[SHA256_LEN], after[SHA256_LEN];
	size_t lens[1];

	txs[0] = t1;
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, COIN, 0, addr);
	t1[lens[0] - 41 - 100] ^= 4;      /* inside the signature */
	refused_with(c, txs, lens, 1, 50 * COIN, V_BAD_SIGNATURE);
	grow(c, 1);
	chain_hash_at(c, chain_height(c), tip);
	c = reopen(c);
	assert(strstr(c->report, "every signature") == NULL);
	assert(chain_hash_at(c, chain_height(c), after) == 0);
	assert(memcmp(tip, after, SHA256_LEN) == 0);
	done(c);
}

/* Amounts: outputs within inputs, each and their sum in the money range,
 * the coinbase at most subsidy plus fees. */
static void test_rule_amounts(void) {
	struct chain *c = funded();
	uint8_t t1[4096], *txs[1];
	size_t lens[1];

	txs[0] = t1;
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 50 * COIN + 1,
	                  0, addr);
	refused_with(c, txs, lens, 1, 50 * COIN, V_OUTPUTS_EXCEED_INPUTS);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, MAX_MONEY + 1,
	                  0, addr);
	refused_with(c, txs, lens, 1, 50 * COIN, V_AMOUNT_OUT_OF_RANGE);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, MAX_MONEY,
	                  MAX_MONEY, addr);
	refused_with(c, txs, lens, 1, 50 * COIN, V_AMOUNT_OUT_OF_RANGE);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 40 * COIN, 0,
	                  addr);
	refused_with(c, txs, lens, 1, 60 * COIN + 1, V_COINBASE_TOO_LARGE);
	refused_with(c, NULL, NULL, 0, 50 * COIN + 1, V_COINBASE_TOO_LARGE);
	assert(add_on(c, txs, lens, 1, 10 * COIN) == V_OK);  /* exactly */
	done(c);
}

/* A coinbase is spendable only maturity (10) blocks later. */
static void test_rule_maturity(void) {
	struct chain *c;
	uint8_t t1[4096], *txs[1];
	size_t lens[1];

	keys();
	c = fresh(NULL);
	grow(c, 10);
	txs[0] = t1;
	lens[0] = make_tx(t1, sizeof t1, cbid[2], 0, &key, pub, COIN, 0, addr);
	/* at 11 */
	refused_with(c, txs, lens, 1, 50 * COIN, V_IMMATURE_COINBASE_SPEND);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, COIN, 0, addr);
	assert(add_on(c, txs, lens, 1, 49 * COIN) == V_OK);
	done(c);
}

/* ==== Block files ==== */

/* The length of a file. */
static long file_len(const char *path) {
	FILE *f = fopen(path, "rb");
	long n;

	assert(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

/* Rewrite a file as (buf, len). */
static void put_file(const char *path, const uint8_t *buf, size_t len) {
	FILE *f = fopen(path, "wb");

	assert(f);
	assert(fwrite(buf, 1, len, f) == len);
	fclose(f);
}

/* Blocks survive closing; a small file limit spreads them over files. */
static void test_store_reopen(void) {
	struct chain *c;
	uint8_t before[2 * SHA256_LEN], after[2 * SHA256_LEN];
	char path[128];

	keys();
	c = fresh(NULL);
	c->file_max = 1000;
	grow(c, 12);
	state(c, before);
	c = reopen(c);
	assert(!c->report[0]);
	assert(chain_height(c) == 12);
	state(c, after);
	assert(memcmp(before, after, sizeof before) == 0);
	snprintf(path, sizeof path, "%s/blk00002.dat", dir);   /* 4 a file */
	assert(file_len(path) > 0);
	done(c);
}

/* A damaged last record: cut at every byte inside it, or with any one
 * byte flipped.  Each time the store says so, keeps every earlier block,
 * and goes on appending. */
static void test_store_damage(void) {
	struct chain *c;
	uint8_t *orig, *buf;
	size_t len, last, i;
	char path[128];
	int cut;

	keys();
	c = fresh(NULL);
	grow(c, 5);
	snprintf(path, sizeof path, "%s/blk00000.dat", dir);
	last = (size_t)file_len(path);
	grow(c, 1);
	chain_close(c);
	orig = read_file(path, &len);
	buf = malloc(len);
	for (cut = 0; cut < 2; cut++) {
		for (i = last; i < len; i++) {
			memcpy(buf, orig, len);
			buf[i] ^= 0x5a;
			put_file(path, buf, cut ? i : len);
			c = reopen(NULL);
			assert(c->report[0] || (cut && i == last));
			assert(chain_height(c) == 5);
			assert((size_t)file_len(path) == last);
			grow(c, 1);
			c = reopen(c);
			assert(!c->report[0] && chain_height(c) == 6);
			chain_close(c);
		}
	}
	put_file(path, orig, len);
	free(buf);
	free(orig);
	done(reopen(NULL));
}

/* A record claiming 4 GiB, or with another network's magic, is damage to
 * report and cut, not a reason to allocate or crash. */
static void test_store_absurd(void) {
	static const uint8_t huge[] = { 'p', 'c', 'r', 't', 0xff, 0xff, 0xff,
	                                0xff, 1, 2, 3 };
	static const uint8_t other[] = { 0xf9, 0xbe, 0xb4, 0xd9, 100, 0, 0, 0 };
	struct chain *c;
	char path[128];
	FILE *f;
	int k;

	keys();
	c = fresh(NULL);
	grow(c, 3);
	chain_close(c);
	snprintf(path, sizeof path, "%s/blk00000.dat", dir);
	for (k = 0; k < 2; k++) {
		f = fopen(path, "ab");
		assert(f);
		fwrite(k ? other : huge, 1, k ? sizeof other : sizeof huge, f);
		fclose(f);
		c = reopen(NULL);
		assert(c->report[0] && chain_height(c) == 3);
		assert(strstr(c->report, k ? "magic" : "length"));
		chain_close(c);
	}
	done(reopen(NULL));
}

/* CRC-32 bit by bit: a second implementation to check the store's. */
static uint32_t crc_slow(const uint8_t *p, size_t n) {
	uint32_t c = 0xffffffff;
	int i;

	while (n--)
		for (c ^= *p++, i = 0; i < 8; i++)
			c = (c >> 1) ^ (0xedb88320 & (0u - (c & 1)));
	return ~c;
}

/* The record layout of the README: magic | u32 length | block | CRC-32,
 * one record per block, back to back. */
static void test_store_format(void) {
	struct chain *c;
	uint8_t *f, hash[SHA256_LEN], blk_hash[SHA256_LEN];
	size_t len, at = 0, len1;
	char path[128];
	uint32_t h = 1, n;

	assert(crc_slow((const uint8_t *)"123456789", 9) == 0xcbf43926);
	keys();
	c = fresh(NULL);
	grow(c, 3);
	snprintf(path, sizeof path, "%s/blk00000.dat", dir);
	f = read_file(path, &len);
	for (; at < len; at += 12 + n, h++) {
		assert(memcmp(f + at, "pcrt", 4) == 0);
		n = get32le(f + at + 4);
		assert(at + 12 + n <= len);
		assert(get32le(f + at + 8 + n) == crc_slow(f + at + 8, n));
		sha256d(f + at + 8, HEADER_LEN, blk_hash);
		assert(chain_hash_at(c, h, hash) == 0);
		assert(memcmp(hash, blk_hash, SHA256_LEN) == 0);
		free(chain_read_block(c, hash, &len1));
		assert(len1 == n);
	}
	assert(at == len && h == 4);
	free(f);
	done(c);
}

/* Write checked.dat naming the block hash at height, as the node does. */
static void put_checked(uint32_t height, const uint8_t hash[SHA256_LEN]) {
	uint8_t rec[44], sum[SHA256_LEN];
	char path[128];

	memcpy(rec, "PCCK", 4);
	put32le(rec + 4, height);
	memcpy(rec + 8, hash, SHA256_LEN);
	sha256d(rec, 40, sum);
	memcpy(rec + 40, sum, 4);
	snprintf(path, sizeof path, "%s/checked.dat", dir);
	put_file(path, rec, sizeof rec);
}

/* Open dir with chain_open's flags; the report must hold `report`. */
static struct chain *open_with(int flags, const char *report) {
	struct chain *c;

	c = chain_open(params_find("regtest"), dir, flags);
	assert(c && strstr(c->report, report));
	c->now = T0;
	return c;
}

/* Fast restart: replay skips the signatures of the blocks up to the one
 * checked.dat names, and checks them all when the record is damaged, or
 * names a block off the replayed chain, or with CHAIN_REINDEX.  The
 * attack stands in for any block the node never checked: a forged block
 * with a bad signature appended to the files. */
static void test_store_checked(void) {
	struct chain *c = funded();
	uint8_t t1[4096], *txs[1], *b, head[8], sum[4], hash[SHA256_LEN];
	uint8_t *f, other[SHA256_LEN] = { 9 }, *b2, hash2[SHA256_LEN];
	size_t lens[1], len, flen, len2;
	char path[128];
	FILE *out;

	txs[0] = t1;
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, COIN, 0, addr);
	assert(add_on(c, txs, lens, 1, 49 * COIN) == V_OK);   /* height 13 */
	chain_close(c);
	c = open_with(0, "");
	snprintf(path, sizeof path, "%s/checked.dat", dir);
	f = read_file(path, &flen);
	assert(flen == 44 && get32le(f + 4) == 13);
	free(f);
	lens[0] = make_tx(t1, sizeof t1, cbid[2], 0, &key, pub, COIN, 0, addr);
	t1[lens[0] - 41 - 100] ^= 4;      /* inside the signature */
	b = block_on(c, txs, lens, 1, 50 * COIN, &len);
	chain_close(c);
	sha256d(b, HEADER_LEN, hash);
	/* ...and a block 15 on it, which checked.dat will name */
	b2 = block_after(hash, 15, get32le(b + HDR_TIME) + 1, NULL, NULL, 0,
	                 50 * COIN, 0, &len2);
	sha256d(b2, HEADER_LEN, hash2);
	memcpy(head, "pcrt", 4);
	snprintf(path, sizeof path, "%s/blk00000.dat", dir);
	assert((out = fopen(path, "ab")));
	put32le(head + 4, (uint32_t)len);
	put32le(sum, crc32(b, len));
	assert(fwrite(head, 1, 8, out) == 8 && fwrite(b, 1, len, out) == len &&
	       fwrite(sum, 1, 4, out) == 4);
	put32le(head + 4, (uint32_t)len2);
	put32le(sum, crc32(b2, len2));
	assert(fwrite(head, 1, 8, out) == 8 &&
	       fwrite(b2, 1, len2, out) == len2 &&
	       fwrite(sum, 1, 4, out) == 4 && fclose(out) == 0);
	put_checked(15, hash2);           /* 14 trusted: taken unchecked */
	c = open_with(0, "");
	assert(chain_height(c) == 15);
	chain_close(c);
	put_checked(14, hash);            /* its own height: checked */
	c = open_with(0, "checked.dat: its block is not on the active");
	assert(chain_height(c) == 13);
	chain_close(c);
	c = open_with(CHAIN_REINDEX, "");
	assert(chain_height(c) == 13);
	chain_close(c);
	put_checked(14, hash);
	snprintf(path, sizeof path, "%s/checked.dat", dir);
	f = read_file(path, &flen);
	f[20] ^= 1;                       /* damaged: all checked */
	put_file(path, f, flen);
	free(f);
	c = open_with(0, "checked.dat: damaged");
	assert(chain_height(c) == 13);
	chain_close(c);
	put_checked(14, other);           /* off the chain: checked after */
	c = open_with(0, "checked.dat: its block is not on the active");
	assert(chain_height(c) == 13);
	assert(chain_status(c, hash) & CH_FAILED);
	free(b);
	free(b2);
	done(c);
}

/* A second process cannot open a data directory in use. */
static void test_store_lock(void) {
	struct chain *c;
	int st;
	pid_t pid;

	c = fresh(NULL);
	pid = fork();
	assert(pid >= 0);
	if (pid == 0) {
		struct chain *d = chain_open(params_find("regtest"), dir, 0);

		_exit(d == NULL && strstr(failure, "in use") ? 0 : 1);
	}
	assert(waitpid(pid, &st, 0) == pid);
	assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	done(c);
}

/* ==== Fork choice ==== */

/* Mine n blocks on top of the block `from` (at height h, time t), adding
 * each; returns the last block's hash in out.  Blocks pay to addr2 so the
 * branch differs from one mined on the tip. */
static void branch(struct chain *c, const uint8_t from[SHA256_LEN],
                   uint32_t h, uint32_t t, int n, uint8_t **txs,
                   size_t *lens, size_t ntx, int at, uint8_t out[SHA256_LEN]) {
	uint8_t prev[SHA256_LEN], *b;
	size_t len;
	int i;

	memcpy(prev, from, SHA256_LEN);
	for (i = 0; i < n; i++) {
		b = block_after(prev, h + 1 + (uint32_t)i,
		                t + 1000 + (uint32_t)i, i == at ? txs : NULL,
		                lens, i == at ? ntx : 0, 50 * COIN, 0, &len);
		chain_add_block(c, b, len);
		sha256d(b, HEADER_LEN, prev);
		free(b);
	}
	memcpy(out, prev, SHA256_LEN);
}

/* Depth 1: a rival of equal work does not replace the first seen; one
 * more block on it does. */
static void test_reorg_depth1(void) {
	struct chain *c;
	uint8_t base[SHA256_LEN], hdr[HEADER_LEN], a[SHA256_LEN];
	uint8_t b[SHA256_LEN], now[SHA256_LEN];
	uint32_t h;

	keys();
	c = fresh(NULL);
	grow(c, 12);
	assert(chain_hash_at(c, 11, base) == 0);
	assert(chain_header(c, base, hdr, &h) == 1);
	assert(chain_hash_at(c, 12, a) == 0);
	branch(c, base, 11, get32le(hdr + HDR_TIME), 1, NULL, NULL, 0, -1, b);
	assert(chain_hash_at(c, 12, now) == 0 && memcmp(now, a, 32) == 0);
	assert(chain_header(c, b, hdr, &h) == 0 && h == 12);  /* stored aside */
	branch(c, b, 12, get32le(hdr + HDR_TIME), 1, NULL, NULL, 0, -1, b);
	assert(chain_height(c) == 13);
	assert(chain_hash_at(c, 13, now) == 0 && memcmp(now, b, 32) == 0);
	c = reopen(c);                        /* the files replay the same */
	assert(chain_hash_at(c, 13, now) == 0 && memcmp(now, b, 32) == 0);
	done(c);
}

/* Depth 12: the heavier branch wins; a transaction confirmed only on the
 * losing branch goes back to the mempool. */
static void test_reorg_deep(void) {
	struct chain *c;
	uint8_t base[SHA256_LEN], hdr[HEADER_LEN], end[SHA256_LEN], *txs[1];
	uint8_t t1[4096], id[SHA256_LEN];
	size_t lens[1];
	uint32_t h;

	keys();
	c = fresh(NULL);
	grow(c, 12);
	assert(chain_hash_at(c, 12, base) == 0);
	assert(chain_header(c, base, hdr, &h) == 1);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 49 * COIN, 0,
	                  addr2);
	txs[0] = t1;
	sha256d(t1, lens[0], id);
	assert(add_on(c, txs, lens, 1, COIN) == V_OK);
	grow(c, 11);                                 /* 12 blocks past base */
	assert(c->pool.n == 0);
	branch(c, base, 12, get32le(hdr + HDR_TIME), 12, NULL, NULL, 0, -1,
	       end);
	assert(chain_height(c) == 24);               /* equal: no switch */
	branch(c, end, 24, get32le(hdr + HDR_TIME) + 12, 1, NULL, NULL, 0, -1,
	       end);
	assert(chain_height(c) == 25);
	assert(chain_header(c, end, hdr, &h) == 1);
	assert(chain_pool_tx(c, id) != NULL);        /* back in the mempool */
	done(c);
}

/* A heavier branch with an invalid block in its middle: the node stays
 * on its chain, UTXO set unchanged, and the bad branch is failed. */
static void test_reorg_invalid(void) {
	struct chain *c;
	uint8_t base[SHA256_LEN], hdr[HEADER_LEN], end[SHA256_LEN], *txs[1];
	uint8_t t1[4096], before[2 * SHA256_LEN], after[2 * SHA256_LEN];
	size_t lens[1];
	uint32_t h;

	keys();
	c = fresh(NULL);
	grow(c, 12);
	assert(chain_hash_at(c, 12, base) == 0);
	assert(chain_header(c, base, hdr, &h) == 1);
	grow(c, 10);
	state(c, before);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, COIN, 0, addr);
	t1[200] ^= 1;                              /* a bad signature */
	txs[0] = t1;
	branch(c, base, 12, get32le(hdr + HDR_TIME), 14, txs, lens, 1, 5, end);
	state(c, after);
	assert(chain_height(c) == 22);
	assert(memcmp(before, after, sizeof before) == 0);
	assert(chain_header(c, end, hdr, &h) == -1);  /* after the bad one:
	                                                 refused */
	c = reopen(c);
	state(c, after);
	assert(memcmp(before, after, sizeof before) == 0);
	done(c);
}

/* Longer but lighter loses: on a network retargeting every 4 blocks,
 * branch A retargets to 4x the work per block, branch B stays at the
 * limit; B has more blocks, A more work. */
static void test_reorg_lighter(void) {
	struct params p = *params_find("regtest");
	uint8_t prev[SHA256_LEN], a[SHA256_LEN], now[SHA256_LEN], *b;
	uint8_t g[SHA256_LEN];
	struct chain *c;
	size_t len;
	uint32_t i, bits = 0x207fffff, t0 = 1795219200;

	keys();
	p.interval = 4;
	p.spacing = 600;
	c = fresh(&p);
	assert(chain_hash_at(c, 0, g) == 0);
	memcpy(prev, g, SHA256_LEN);
	for (i = 1; i <= 6; i++) {                 /* A: 1 s apart */
		b = block_after(prev, i, t0 + i, NULL, NULL, 0, 50 * COIN, 0,
		                &len);
		if (i >= 4) {                          /* retargeted: 1/4 */
			bits = 0x201fffff;
			put32le(b + HDR_BITS, bits);
			solve(b, len);
		}
		assert(chain_add_block(c, b, len) == V_OK);
		sha256d(b, HEADER_LEN, prev);
		free(b);
	}
	memcpy(a, prev, SHA256_LEN);
	memcpy(prev, g, SHA256_LEN);
	for (i = 1; i <= 9; i++) {                 /* B: 10,000 s apart */
		b = block_after(prev, i, t0 + 10000 * i, NULL, NULL, 0,
		                50 * COIN, 0, &len);
		assert(chain_add_block(c, b, len) == V_OK);
		sha256d(b, HEADER_LEN, prev);
		free(b);
	}
	assert(chain_height(c) == 6);
	assert(chain_hash_at(c, 6, now) == 0 && memcmp(now, a, 32) == 0);
	done(c);
}

/* ==== The mempool and mining ==== */

/* Valid transactions are taken, also spending mempool outputs; the first
 * seen wins a conflict; a block takes them out; they survive a restart. */
static void test_pool_accept(void) {
	struct chain *c = funded();
	uint8_t t1[4096], t2[4096], t3[4096], id1[SHA256_LEN];
	size_t l1, l2, l3, len;
	uint8_t *b;

	l1 = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 30 * COIN,
	             19 * COIN, addr2);
	sha256d(t1, l1, id1);
	assert(chain_add_tx(c, t1, l1) == V_OK);
	assert(chain_add_tx(c, t1, l1) == V_ALREADY_KNOWN);
	l2 = make_tx(t2, sizeof t2, cbid[1], 0, &key, pub, 40 * COIN, 0, addr);
	assert(chain_add_tx(c, t2, l2) == V_MEMPOOL_CONFLICT);
	l3 = make_tx(t3, sizeof t3, id1, 1, &key2, pub2, 18 * COIN, 0, addr);
	assert(chain_add_tx(c, t3, l3) == V_OK);     /* child of t1 */
	t2[300] ^= 1;
	assert(chain_add_tx(c, t2, l2) != V_OK);
	assert(chain_add_tx(c, t1, l1 - 1) == V_MALFORMED);
	assert(c->pool.n == 2 && c->pool_bytes == l1 + l3);
	c = reopen(c);
	assert(c->pool.n == 2);
	b = chain_template(c, addr, &len);
	solve(b, len);
	assert(chain_add_block(c, b, len) == V_OK);
	assert(c->pool.n == 0);
	free(b);
	done(c);
}

/* A confirmed spend evicts the mempool transaction it conflicts with, and
 * that one's children. */
static void test_pool_conflict(void) {
	struct chain *c = funded();
	uint8_t t1[4096], t2[4096], t3[4096], id1[SHA256_LEN], *txs[1];
	size_t l1, lens[1], l3;

	l1 = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 49 * COIN, 0, addr2);
	sha256d(t1, l1, id1);
	assert(chain_add_tx(c, t1, l1) == V_OK);
	l3 = make_tx(t3, sizeof t3, id1, 0, &key2, pub2, 48 * COIN, 0, addr);
	assert(chain_add_tx(c, t3, l3) == V_OK);
	lens[0] = make_tx(t2, sizeof t2, cbid[1], 0, &key, pub, 50 * COIN, 0,
	                  addr);
	txs[0] = t2;
	assert(add_on(c, txs, lens, 1, 0) == V_OK);
	assert(c->pool.n == 0);
	done(c);
}

/* Over the byte cap the lowest fee rate goes, even the newcomer; old
 * entries expire. */
static void test_pool_cap_expiry(void) {
	struct chain *c = funded();
	uint8_t t[3][4096], low[4096], id[3][SHA256_LEN], hid[SHA256_LEN];
	size_t l[3], ll;
	int i;

	grow(c, 1);                      /* coinbases 1 to 4 are mature */
	for (i = 0; i < 3; i++) {        /* fees of 1, 2 and 3 coins */
		l[i] = make_tx(t[i], sizeof t[i], cbid[i + 1], 0, &key, pub,
		               (uint64_t)(49 - i) * COIN, 0, addr2);
		sha256d(t[i], l[i], id[i]);
		assert(chain_add_tx(c, t[i], l[i]) == V_OK);
	}
	c->pool_cap = l[0] + l[1] + l[2];
	ll = make_tx(low, sizeof low, cbid[4], 0, &key, pub, 50 * COIN, 0,
	             addr);
	assert(chain_add_tx(c, low, ll) == V_FEE_TOO_LOW);     /* fee 0 */
	ll = make_tx(low, sizeof low, cbid[4], 0, &key, pub, 50 * COIN - ll + 1,
	             0, addr);
	/* a byte short */
	assert(chain_add_tx(c, low, ll) == V_FEE_TOO_LOW);
	ll = make_tx(low, sizeof low, cbid[4], 0, &key, pub, 50 * COIN - ll, 0,
	             addr);
	assert(chain_add_tx(c, low, ll) == V_MEMPOOL_FULL);    /* 1 a byte */
	assert(c->pool.n == 3);
	c->now = T0 + 1000;
	ll = make_tx(low, sizeof low, cbid[4], 0, &key, pub, 46 * COIN, 0,
	             addr);
	sha256d(low, ll, hid);
	assert(chain_add_tx(c, low, ll) == V_OK);            /* fee 4 */
	assert(c->pool.n == 3);
	assert(chain_pool_tx(c, id[0]) == NULL);             /* fee 1 went */
	chain_pool_expire(c, 2000);
	assert(c->pool.n == 3);
	chain_pool_expire(c, 500);
	assert(c->pool.n == 1 && chain_pool_tx(c, hid));
	done(c);
}

/* The template orders by fee rate, a parent before its child even when
 * the child pays more, and claims subsidy plus fees. */
static void test_pool_template(void) {
	struct chain *c = funded();
	uint8_t t1[4096], t2[4096], t3[4096], id[3][SHA256_LEN], *b;
	size_t l1, l2, l3, len;
	struct block blk;

	l1 = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 49 * COIN, 0, addr2);
	l2 = make_tx(t2, sizeof t2, cbid[2], 0, &key, pub, 48 * COIN, 0, addr2);
	sha256d(t1, l1, id[0]);
	sha256d(t2, l2, id[1]);
	l3 = make_tx(t3, sizeof t3, id[0], 0, &key2, pub2, 40 * COIN, 0, addr);
	sha256d(t3, l3, id[2]);
	assert(chain_add_tx(c, t1, l1) == V_OK);     /* fee 1 */
	assert(chain_add_tx(c, t2, l2) == V_OK);     /* fee 2 */
	assert(chain_add_tx(c, t3, l3) == V_OK);     /* fee 9, after t1 */
	b = chain_template(c, addr, &len);
	assert(block_parse(&blk, b, len) == V_OK && blk.ntx == 4);
	assert(blk.tx[0].out[0].amount == 62 * COIN);
	assert(memcmp(blk.tx[1].id, id[1], SHA256_LEN) == 0); /* best rate */
	assert(memcmp(blk.tx[2].id, id[0], SHA256_LEN) == 0); /* then parent */
	block_free(&blk);
	solve(b, len);
	assert(chain_add_block(c, b, len) == V_OK);
	free(b);
	done(c);
}

/* When the nonces run out the miner rolls the time, and past max_time it
 * bumps the extra nonce in the coinbase (a new merkle root). */
static void test_mine_roll(void) {
	uint8_t cb[512], *txs[1], zero[SHA256_LEN] = { 0 }, root[SHA256_LEN];
	size_t lens[1], len;
	uint8_t *b;

	keys();
	lens[0] = coinbase_write(1, addr, COIN, cb, sizeof cb);
	txs[0] = cb;
	b = block_make(zero, 1000, 0x1d00ffff, txs, lens, 1, &len);
	put32le(b + HDR_NONCE, 0xfffffff0u);
	assert(block_mine(b, len, 32, 5000) == 0);
	assert(get32le(b + HDR_TIME) == 1001 && get32le(b + HDR_NONCE) == 16);
	memcpy(root, b + HDR_MERKLE, SHA256_LEN);
	put32le(b + HDR_NONCE, 0xfffffff0u);
	assert(block_mine(b, len, 32, 1001) == 0);
	assert(get32le(b + HDR_TIME) == 1001);
	assert(memcmp(root, b + HDR_MERKLE, SHA256_LEN) != 0);
	assert(block_merkle(b, len) == 0 &&
	       memcmp(root, b + HDR_MERKLE, 32) != 0);
	free(b);
}

/* ==== A peer's attacks on the ledger ==== */

/* Copies of a block whose body is not the one its header commits to
 * (empty: the 84-byte block, a transaction changed, cut short, over the
 * size limit) are refused and leave the header sound: the real block is
 * taken after them.  A body its header does commit to that breaks a rule
 * (a coinbase for another height) fails the header. */
static void test_attack_bad_copy(void) {
	struct chain *c = funded();
	uint8_t t1[4096], *txs[1], *b, *m, hash[SHA256_LEN], hdr[HEADER_LEN];
	size_t lens[1], len;

	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 50 * COIN, 0,
	                  addr2);
	txs[0] = t1;
	b = block_on(c, txs, lens, 1, 50 * COIN, &len);
	sha256d(b, HEADER_LEN, hash);
	assert((m = calloc(1, MAX_BLOCK_SIZE + 1)));
	memcpy(m, b, HEADER_LEN);
	refused(c, m, HEADER_LEN + 4, V_BAD_MERKLE_ROOT);
	memcpy(m, b, len);
	m[len - 1] ^= 1;
	refused(c, m, len, V_BAD_MERKLE_ROOT);
	m[len - 1] ^= 1;
	refused(c, m, len - 1, V_MALFORMED);
	refused(c, m, MAX_BLOCK_SIZE + 1, V_TOO_BIG);
	assert((chain_status(c, hash) & (CH_FAILED | CH_BODY)) == 0);
	assert(chain_add_block(c, b, len) == V_OK);
	assert(chain_height(c) == 13);
	free(b);
	tip_header(c, hdr, hash);
	b = block_after(hash, 99, get32le(hdr + HDR_TIME) + 1, NULL, NULL, 0,
	                50 * COIN, 0, &len);
	refused(c, b, len, V_BAD_COINBASE);
	sha256d(b, HEADER_LEN, hash);
	assert(chain_status(c, hash) & CH_FAILED);
	free(b);
	free(m);
	done(c);
}

/* A peer sends DEEP headers, every body but the first, then the first,
 * whose coinbase claims too much: linking the waiting blocks and failing
 * them must not recurse, as the peer picks the depth.  (The stack is cut
 * to 128 KiB, where a recursion per block crashes.) */
#define DEEP HEADERS_AHEAD
static void test_attack_deep_branch(void) {
	uint8_t **b = calloc(DEEP + 1, sizeof *b), hash[SHA256_LEN];
	uint8_t hdr[HEADER_LEN];
	size_t *len = calloc(DEEP + 1, sizeof *len);
	struct rlimit r;
	struct chain *c;
	uint32_t i;

	assert(b && len && getrlimit(RLIMIT_STACK, &r) == 0);
	r.rlim_cur = 128 << 10;
	assert(setrlimit(RLIMIT_STACK, &r) == 0);
	keys();
	c = fresh(NULL);
	tip_header(c, hdr, hash);
	for (i = 1; i <= DEEP; i++) {
		b[i] = block_after(hash, i, get32le(hdr + HDR_TIME) + i, NULL,
		                   NULL, 0, (i == 1 ? 51 : 50) * COIN, 0,
		                   &len[i]);
		sha256d(b[i], HEADER_LEN, hash);
		assert(chain_add_header(c, b[i]) == V_OK);
	}
	for (i = 2; i <= DEEP; i++)
		assert(chain_add_block(c, b[i], len[i]) == V_OK);
	assert(chain_add_block(c, b[1], len[1]) == V_COINBASE_TOO_LARGE);
	assert(chain_height(c) == 0);
	assert(chain_status(c, hash) & CH_FAILED);
	assert(chain_best_header(c, NULL) == 0);
	for (i = 1; i <= DEEP; i++)
		free(b[i]);
	free(b);
	free(len);
	done(c);
}

/* Add a mined header to branch b (tip[b], n[b] long, its first block's
 * hash kept in first[b]), times after t0. */
static void branch_add(struct chain *c, uint8_t (*tip)[SHA256_LEN],
                       uint32_t *n, uint8_t (*first)[SHA256_LEN], int b,
                       uint32_t t0) {
	uint8_t h[HEADER_LEN];

	memset(h, b + 1, HEADER_LEN);
	put32le(h, 1);
	memcpy(h + HDR_PREV, tip[b], SHA256_LEN);
	put32le(h + HDR_TIME, t0 + 1 + n[b]);
	put32le(h + HDR_BITS, 0x207fffff);
	while (block_mine(h, HEADER_LEN, 1, 0) != 1)
		;
	assert(chain_add_header(c, h) == V_OK);
	sha256d(h, HEADER_LEN, tip[b]);
	if (n[b] == 0)
		memcpy(first[b], tip[b], SHA256_LEN);
	n[b]++;
}

/* A peer makes the best header switch between two branches from genesis,
 * SWITCH_DEPTH deep (ahead of an empty active chain: a branch deeper
 * than SIDE_MARGIN below the tip is refused now), SWITCHES times (a header
 * or two more on the other each time), within HEADERS_AHEAD and SIDE_MAX:
 * a switch must not cost the depth.  Its CPU time, less the headers it
 * takes, must stay within a few headers' worth (walking the depth costs
 * thousands).  Each time, sync fetches the new best branch from its first
 * block. */
#define SWITCH_DEPTH 8000
#define SWITCHES     5000
static void test_attack_header_switch(void) {
	struct chain *c = fresh(NULL);
	uint8_t tip[2][SHA256_LEN], first[2][SHA256_LEN], miss[4][SHA256_LEN];
	uint8_t hdr[HEADER_LEN];
	uint32_t n[2] = { 0, 0 }, t0, ht[4], i, added;
	clock_t t;
	double per_header, per_switch;
	int b;

	keys();
	tip_header(c, hdr, tip[0]);
	memcpy(tip[1], tip[0], SHA256_LEN);
	t0 = get32le(hdr + HDR_TIME);
	t = clock();
	for (i = 0; i < 2 * SWITCH_DEPTH; i++)
		branch_add(c, tip, n, first, (int)(i % 2), t0);
	per_header = (double)(clock() - t) / (2 * SWITCH_DEPTH);
	t = clock();
	for (i = 0, added = 0; i < SWITCHES; i++) {
		b = (int)(i % 2) ^ 1;
		for (; n[b] <= n[!b]; added++)
			branch_add(c, tip, n, first, b, t0);
		assert(chain_best_header(c, NULL) == n[b]);
		assert(chain_missing(c, miss, ht, 4, 1024) == 4);
		assert(memcmp(miss[0], first[b], SHA256_LEN) == 0 &&
		       ht[3] == 4);
	}
	per_switch = ((double)(clock() - t) - added * per_header) / SWITCHES;
	fprintf(stderr, "header %.0f switch %.0f (clocks)\n", per_header,
	        per_switch);
	assert(per_switch < 10 * per_header);
	done(c);
}

/* A peer's chain of headers from genesis, longer than HEADERS_AHEAD: the
 * chain keeps HEADERS_AHEAD past its tip (TOO_FAR_AHEAD for the rest),
 * and takes more as the tip moves up. */
static void test_attack_headers_ahead(void) {
	struct chain *c = fresh(NULL);
	uint8_t tip[2][SHA256_LEN], first[2][SHA256_LEN], hdr[HEADER_LEN];
	uint8_t h[HEADER_LEN];
	uint32_t n[2] = { 0, 0 }, t0, i;

	keys();
	tip_header(c, hdr, tip[0]);
	t0 = get32le(hdr + HDR_TIME);
	for (i = 0; i < HEADERS_AHEAD; i++)
		branch_add(c, tip, n, first, 0, t0);
	memset(h, 1, HEADER_LEN);
	put32le(h + HDR_BITS, 0x207fffff);
	memcpy(h + HDR_PREV, tip[0], SHA256_LEN);
	put32le(h + HDR_TIME, t0 + 1 + n[0]);
	while (block_mine(h, HEADER_LEN, 1, 0) != 1)
		;
	assert(chain_add_header(c, h) == V_TOO_FAR_AHEAD);
	assert(chain_best_header(c, NULL) == HEADERS_AHEAD);
	grow(c, 1);
	assert(chain_add_header(c, h) == V_OK);
	assert(chain_best_header(c, NULL) == HEADERS_AHEAD + 1);
	done(c);
}

/* A header on prev (a hash) with time t and the bits given, mined; returns
 * the chain's verdict and, if it was taken, its hash in prev. */
static int warp_add(struct chain *c, uint8_t prev[SHA256_LEN], uint32_t bits,
                    uint32_t t) {
	uint8_t h[HEADER_LEN] = { 1 };
	int r;

	memcpy(h + HDR_PREV, prev, SHA256_LEN);
	put32le(h + HDR_TIME, t);
	put32le(h + HDR_BITS, bits);
	while (block_mine(h, HEADER_LEN, 1, 0) != 1)
		;
	if ((r = chain_add_header(c, h)) == V_OK)
		sha256d(h, HEADER_LEN, prev);
	return r;
}

/* Side branches at the easiest target, free on regtest: with an active
 * chain of SIDE_MARGIN + 2 blocks, a branch from genesis is refused (not
 * punished: side-too-far); one from height 2 is kept, but at most
 * SIDE_MAX headers off the best chain are held; the active chain goes on.
 */
static void test_attack_side_branches(void) {
	struct chain *c = fresh(NULL);
	uint8_t prev[SHA256_LEN], hdr[HEADER_LEN], *b;
	uint32_t t, h, i;
	size_t len;

	for (i = 0; i < SIDE_MARGIN + 2; i++) {   /* (coinbases claim 0) */
		b = block_on(c, NULL, NULL, 0, 0, &len);
		assert(chain_add_block(c, b, len) == V_OK);
		free(b);
	}
	chain_hash_at(c, 0, prev);
	chain_header(c, prev, hdr, &h);
	t = get32le(hdr + HDR_TIME) + 1;
	assert(warp_add(c, prev, 0x207fffff, t) == V_SIDE_TOO_FAR);
	chain_hash_at(c, 2, prev);
	chain_header(c, prev, hdr, &h);
	t = get32le(hdr + HDR_TIME) + 1;
	c->side = SIDE_MAX - 1;
	assert(warp_add(c, prev, 0x207fffff, t) == V_OK);
	assert(c->side == SIDE_MAX);
	assert(warp_add(c, prev, 0x207fffff, t + 1) == V_SIDE_TOO_FAR);
	b = block_on(c, NULL, NULL, 0, 0, &len);
	assert(chain_add_block(c, b, len) == V_OK);
	free(b);
	assert(chain_height(c) == SIDE_MARGIN + 3);
	done(c);
}

/* The time warp (on `local`: 10-block windows of 5 s blocks): the last
 * block of a window stamped 2 h ahead makes its span long, so the target
 * stays at the limit; the next window's first block, stamped back in
 * time, is refused (BIP94's rule).  Stamped honestly at its parent's
 * time, it is taken, and the first window's stamp gained no more. */
static void test_attack_time_warp(void) {
	const struct params *p = params_find("local");
	struct chain *c = fresh(p);
	uint8_t hdr[HEADER_LEN], prev[SHA256_LEN];
	uint32_t t, i;

	tip_header(c, hdr, prev);
	t = get32le(hdr + HDR_TIME);
	c->now = t + 100;
	for (i = 1; i < 10; i++)
		assert(warp_add(c, prev, p->limit_bits,
		                t + (i < 9 ? i : 7200)) == V_OK);
	assert(warp_add(c, prev, p->limit_bits, t + 10) == V_TIME_TOO_OLD);
	assert(warp_add(c, prev, p->limit_bits, t + 7200 - 4) ==
	       V_TIME_TOO_OLD);
	assert(warp_add(c, prev, p->limit_bits, t + 7200 - 3) == V_OK);
	assert(chain_best_header(c, NULL) == 10);
	done(c);
}

/* The genesis blocks in the binary: proof of work, and a correct root. */
static void test_genesis(void) {
	static const char *nets[] = { "main", "regtest" };
	const struct params *p;
	uint8_t blk[512], root[SHA256_LEN];
	size_t len;
	int i;

	for (i = 0; i < 2; i++) {
		p = params_find(nets[i]);
		len = strlen(p->genesis) / 2;
		assert(len < sizeof blk &&
		       hex_decode(p->genesis, blk, len) == 0);
		memcpy(root, blk + HDR_MERKLE, SHA256_LEN);
		assert(block_merkle(blk, len) == 0);
		assert(memcmp(root, blk + HDR_MERKLE, SHA256_LEN) == 0);
		/* nonce already good */
		assert(block_mine(blk, len, 1, 0) == 1);
		assert(get32le(blk + HDR_BITS) == p->limit_bits);
	}
	assert(params_find("nonesuch") == NULL);
}

/* ==== Issue 12: the rules stated, cheap checks first, mempool lines ==== */

/* A transaction spending n outpoints (txid[i], idx[i]) all by key k (the
 * first input signs, the rest borrow), paying a0 and (if not 0) a1 to
 * `to`; sigs 0 leaves every signature empty. */
static size_t make_txn(uint8_t *buf, size_t cap, int n, uint8_t (*txid)[32],
                       const uint32_t *idx, const struct lms_key *k,
                       const uint8_t *kpub, uint64_t a0, uint64_t a1,
                       const uint8_t *to, int sigs) {
	static uint8_t op[8][OUTPOINT_LEN], sig[LMS_SIG_MAX];
	uint8_t sighash[SHA256_LEN];
	struct txin in[8];
	struct txout out[2];
	struct tx t;
	int i;

	assert(n <= 8);
	memset(&t, 0, sizeof t);
	memset(in, 0, sizeof in);
	for (i = 0; i < n; i++) {
		outpoint(op[i], txid[i], idx[i]);
		in[i].prev = op[i];
		in[i].pub = kpub;
	}
	out[0].amount = a0;
	out[1].amount = a1;
	out[0].addr = out[1].addr = to;
	t.nin = (uint16_t)n;
	t.nout = a1 ? 2 : 1;
	t.in = in;
	t.out = out;
	tx_sighash(&t, sighash);
	if (sigs) {
		in[0].siglen = lms_sign(k, leaf++ % LEAVES, sighash, SHA256_LEN,
		                        sig, sizeof sig);
		in[0].sig = sig;
	}
	return tx_write(&t, buf, cap);
}

/* Rules the README states that had no test: transaction version 1, an
 * input and an output at least, an outpoint once a transaction, an empty
 * coinbase signature, the one LM-OTS parameter set (W4). */
static void test_rule_form(void) {
	struct chain *c = funded();
	uint8_t t1[4096], cb[512], *txs[2], hdr[HEADER_LEN], hash[SHA256_LEN];
	uint8_t two[2][32], I[LMS_I_LEN] = { 5 }, seed[LMS_SEED_LEN] = { 6 };
	uint8_t wpub[LMS_PUB_LEN], *b;
	static struct lms_key w8;
	uint32_t idx[2] = { 0, 0 };
	size_t lens[2], len;

	txs[0] = t1;
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, COIN, 0, addr);
	t1[0] = 2;                                     /* version 2 */
	refused_with(c, txs, lens, 1, 50 * COIN, V_MALFORMED);
	assert(chain_add_tx(c, t1, lens[0]) == V_MALFORMED);
	t1[0] = 1;
	put16le(t1 + lens[0] - 42, 0);                 /* no outputs */
	lens[0] -= 40;
	refused_with(c, txs, lens, 1, 50 * COIN, V_MALFORMED);
	put32le(t1, 1);                                /* no inputs */
	put16le(t1 + 4, 0);
	put16le(t1 + 6, 1);
	memset(t1 + 8, 0, 40);
	lens[0] = 48;
	refused_with(c, txs, lens, 1, 50 * COIN, V_MALFORMED);
	memcpy(two[0], cbid[1], 32);                   /* one outpoint twice */
	memcpy(two[1], cbid[1], 32);
	lens[0] = make_txn(t1, sizeof t1, 2, two, idx, &key, pub, COIN, 0, addr,
	                   1);
	refused_with(c, txs, lens, 1, 50 * COIN, V_DOUBLE_SPEND);
	assert(chain_add_tx(c, t1, lens[0]) == V_DOUBLE_SPEND);
	lens[1] = coinbase_write(13, addr, 50 * COIN, cb, sizeof cb);
	memmove(cb + 101, cb + 100, lens[1] - 100);    /* a 1-byte signature */
	put16le(cb + 98, 1);
	cb[100] = 0x5a;
	txs[1] = cb;
	lens[1]++;
	tip_header(c, hdr, hash);
	b = block_make(hash, get32le(hdr + HDR_TIME) + 1, 0x207fffff, txs + 1,
	               lens + 1, 1, &len);
	solve(b, len);
	refused(c, b, len, V_BAD_COINBASE);
	free(b);
	assert(lms_keygen(&w8, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W8, I,
	                  seed) == 0);
	lms_public_key(&w8, wpub);
	lens[0] = make_tx(t1, sizeof t1, cbid[1], 0, &w8, wpub, COIN, 0, addr);
	refused_with(c, txs, lens, 1, 50 * COIN, V_UNSUPPORTED_KEY);
	assert(chain_add_tx(c, t1, lens[0]) == V_UNSUPPORTED_KEY);
	done(c);
}

/* Cheap checks before signatures: a transaction with a missing input, a
 * fee under the rate or a W8 key is refused without one signature being
 * verified (counted in SHA-256 compressions); a bad signature costs one
 * verification. */
static void test_pool_cheap_first(void) {
	struct chain *c = funded();
	uint8_t t1[8192], two[2][32], none[32] = { 9 };
	uint32_t idx[2] = { 0, 0 };
	unsigned long before;
	size_t len;

	memcpy(two[0], cbid[1], 32);
	memcpy(two[1], none, 32);
	len = make_txn(t1, sizeof t1, 2, two, idx, &key, pub, COIN, 0, addr, 1);
	before = sha256_compressions();
	assert(chain_add_tx(c, t1, len) == V_MISSING_INPUT);
	assert(sha256_compressions() - before < 400);
	len = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 50 * COIN - 100, 0,
	              addr);
	t1[len - 41 - 100] ^= 4;         /* a bad signature, and a low fee */
	before = sha256_compressions();
	assert(chain_add_tx(c, t1, len) == V_FEE_TOO_LOW);
	assert(sha256_compressions() - before < 400);
	len = make_tx(t1, sizeof t1, cbid[1], 0, &key, pub, 49 * COIN, 0, addr);
	t1[len - 41 - 100] ^= 4;
	before = sha256_compressions();
	assert(chain_add_tx(c, t1, len) == V_BAD_SIGNATURE);
	assert(sha256_compressions() - before > 500);
	done(c);
}

/* Spend output idx of txid (worth `in`) paying fee, into one output, or
 * two if out1 (the second of out1); the new txid in id.  A reason. */
static int spend_on(struct chain *c, const uint8_t *txid, uint32_t idx,
                    uint64_t in, uint64_t out1, uint64_t fee,
                    uint8_t id[SHA256_LEN]) {
	uint8_t t[4096];
	size_t len = make_tx(t, sizeof t, txid, idx, &key, pub, in - fee - out1,
	                     out1, addr);

	sha256d(t, len, id);
	return chain_add_tx(c, t, len);
}

/* A line of unconfirmed transactions holds 25 at most, ancestors or
 * descendants (each with itself); one evicted gives its ancestors the
 * room back. */
static void test_pool_chains(void) {
	struct chain *c = funded();
	uint8_t id[32][SHA256_LEN], side[SHA256_LEN], x[SHA256_LEN];
	uint64_t v = 50 * COIN, f = 20000;
	int i;

	for (i = 0; i < 25; i++, v -= f)       /* a line of 25: the limit */
		assert(spend_on(c, i ? id[i - 1] : cbid[1], 0, v, 0, f,
		                id[i]) == V_OK);
	assert(spend_on(c, id[24], 0, v, 0, f, x) == V_TOO_LONG_CHAIN);
	assert(c->pool.n == 25);
	done(c);
	c = funded();              /* a root, a line of 23 on it, one beside */
	assert(spend_on(c, cbid[1], 0, 50 * COIN, COIN, f, id[0]) == V_OK);
	for (v = 49 * COIN - f, i = 1; i < 24; i++, v -= f)
		assert(spend_on(c, id[i - 1], 0, v, 0, i < 23 ? f : 5000,
		                id[i]) == V_OK);
	assert(spend_on(c, id[0], 1, COIN, 0, f, side) == V_OK);  /* 25th */
	assert(spend_on(c, side, 0, COIN - f, 0, f, x) == V_TOO_LONG_CHAIN);
	c->pool_cap = c->pool_bytes;   /* a newcomer evicts the cheapest, */
	assert(spend_on(c, cbid[2], 0, 50 * COIN, 0, f, x) == V_OK);
	/* the line's end */
	assert(c->pool.n == 25 && !chain_pool_tx(c, id[23]));
	c->pool_cap = 1u << 25;
	assert(spend_on(c, side, 0, COIN - f, 0, f, x) == V_OK);  /* room */
	done(c);
}

/* A light chain in a directory holds a window of headers in memory and
 * reads older ones back from its files: Bitcoin's headers 30000..39999
 * (the genesis at 30000) pass every retarget, whose first header lies
 * 2,015 below, far under the window; every height reads back its own
 * header, before and after a reopen, which replays the file. */
static void test_light_window(void) {
	struct params p = *params_find("bitcoin");
	char hex[2 * HEADER_LEN + 1];
	size_t len;
	uint8_t *h = read_file("t/vectors/btc_headers_30000_39999.bin", &len);
	uint8_t hdr[HEADER_LEN];
	struct chain *c;
	uint32_t i, k;

	hex_encode(h, HEADER_LEN, hex);
	p.genesis = hex;
	p.genesis_height = 30000;
	strcpy(dir, "/tmp/pc-chain-XXXXXX");
	assert(mkdtemp(dir));
	for (k = 0; k < 2; k++) {
		c = chain_open(&p, dir, CHAIN_LIGHT);
		assert(c && c->light);
		for (i = 1; k == 0 && i < 10000; i++)
			assert(chain_add_header(c, h + i * HEADER_LEN) == V_OK);
		assert(chain_height(c) == 39999);
		assert(c->nactive <= 600 && c->nruns >= 1);
		for (i = 30000; i < 40000; i++) {
			assert(chain_header_at(c, i, hdr) == 0);
			assert(!memcmp(hdr, h + (i - 30000) * HEADER_LEN,
			               HEADER_LEN));
		}
		assert(chain_header_at(c, 29999, hdr) == -1);
		assert(chain_header_at(c, 40000, hdr) == -1);
		chain_close(c);
	}
	done(NULL);
	free(h);
}

/* A regtest light chain of 1,500 headers with a side header stored among
 * them at height 650: the active headers below the root are found across
 * the gap it leaves in the file; a header whose parent left memory (a
 * fork below the root) is not followed; after a reopen every height
 * still reads back. */
static void test_light_runs(void) {
	uint8_t (*all)[HEADER_LEN] = calloc(1501, HEADER_LEN);
	uint8_t tip[1][SHA256_LEN], first[1][SHA256_LEN], side[HEADER_LEN];
	uint8_t hdr[HEADER_LEN];
	/* (times from the real clock's: a reopen replays by it) */
	uint32_t n = 0, i, k, t = (uint32_t)wall_s() - 5000;
	struct chain *c;

	strcpy(dir, "/tmp/pc-chain-XXXXXX");
	assert(mkdtemp(dir));
	c = chain_open(params_find("regtest"), dir, CHAIN_LIGHT);
	assert(chain_header_at(c, 0, all[0]) == 0);
	sha256d(all[0], HEADER_LEN, tip[0]);
	for (i = 1; i <= 1500; i++) {
		if (i == 651) {      /* a side header after height 650 */
			memcpy(side, all[649], HEADER_LEN);
			sha256d(all[649], HEADER_LEN, side + HDR_PREV);
			put32le(side + HDR_TIME, t + 4000);
			while (block_mine(side, HEADER_LEN, 1, 0) != 1)
				;
			assert(chain_add_header(c, side) == V_OK);
		}
		branch_add(c, tip, &n, first, 0, t);
		assert(chain_header_at(c, i, all[i]) == 0);
	}
	assert(c->nruns >= 2);
	/* the parent of this one is at height 100: gone from memory */
	memcpy(hdr, all[101], HEADER_LEN);
	put32le(hdr + HDR_TIME, t + 4500);
	while (block_mine(hdr, HEADER_LEN, 1, 0) != 1)
		;
	assert(chain_add_header(c, hdr) == V_PREVIOUS_UNKNOWN);
	for (k = 0; k < 2; k++) {
		for (i = 0; i <= 1500; i++) {
			assert(chain_header_at(c, i, hdr) == 0);
			assert(!memcmp(hdr, all[i], HEADER_LEN));
		}
		assert(c->nactive <= 600);
		chain_close(c);
		c = chain_open(params_find("regtest"), dir, 0);
		assert(c->light && chain_height(c) == 1500);
	}
	done(c);
	free(all);
}

int main(int argc, char **argv) {
	static const struct test tests[] = {
		{ "bitcoin_first", test_bitcoin_first },
		{ "bitcoin_retargets", test_bitcoin_retargets },
		{ "bitcoin_every_byte", test_bitcoin_every_byte },
		{ "rule_pow_bits", test_rule_pow_bits },
		{ "rule_time", test_rule_time },
		{ "rule_size", test_rule_size },
		{ "rule_coinbase", test_rule_coinbase },
		{ "rule_merkle", test_rule_merkle },
		{ "rule_inputs", test_rule_inputs },
		{ "rule_signature", test_rule_signature },
		{ "rule_amounts", test_rule_amounts },
		{ "rule_maturity", test_rule_maturity },
		{ "store_reopen", test_store_reopen },
		{ "store_damage", test_store_damage },
		{ "store_absurd", test_store_absurd },
		{ "store_format", test_store_format },
		{ "store_lock", test_store_lock },
		{ "store_checked", test_store_checked },
		{ "reorg_depth1", test_reorg_depth1 },
		{ "reorg_deep", test_reorg_deep },
		{ "reorg_invalid", test_reorg_invalid },
		{ "reorg_lighter", test_reorg_lighter },
		{ "pool_accept", test_pool_accept },
		{ "pool_conflict", test_pool_conflict },
		{ "pool_cap_expiry", test_pool_cap_expiry },
		{ "pool_template", test_pool_template },
		{ "mine_roll", test_mine_roll },
		{ "genesis", test_genesis },
		{ "attack_bad_copy", test_attack_bad_copy },
		{ "attack_deep_branch", test_attack_deep_branch },
		{ "attack_header_switch", test_attack_header_switch },
		{ "attack_headers_ahead", test_attack_headers_ahead },
		{ "attack_time_warp", test_attack_time_warp },
		{ "attack_trusted_tie", test_attack_trusted_tie },
		{ "attack_side_branches", test_attack_side_branches },
		{ "rule_form", test_rule_form },
		{ "pool_cheap_first", test_pool_cheap_first },
		{ "pool_chains", test_pool_chains },
		{ "light_window", test_light_window },
		{ "light_runs", test_light_runs },
	};

	return test_main(tests, NTESTS(tests), argc, argv);
}
