/*
 * wallet.c - the keys of a node's owner, their addresses, and payments.
 *
 * A key is an LMS key from /dev/urandom; it signs once with each of its
 * 2^h leaves.  Signing twice with one leaf would let anyone forge, so
 * wallet.dat records the next free leaf and is flushed to disk BEFORE a
 * signature is made: a crash can waste a leaf, never reuse one.  A key out
 * of leaves is followed by a new one.  A payment spends outputs largest
 * first until they cover amount and fee, with one signature per address
 * drawn on, and sends the change to the newest address.  A key's tree (a
 * quarter of a second for H10) is made when it first signs, then kept.
 * Start reading at wallet_pay().
 */
#include "node.h"
#include <signal.h>
#include <unistd.h>

#define WALLET_MAGIC "PCW1"
#define KEY_REC   (4 + 4 + LMS_I_LEN + LMS_SEED_LEN + LMS_PUB_LEN + 4)
#define MAX_KEYS  65536   /* keys at most: bounds the file we read */

/* An output the wallet may spend. */
struct spendable {
	uint8_t op[OUTPOINT_LEN];
	uint64_t amount;
	uint32_t key;                 /* index in w->keys */
};

/* What a walk over the UTXO set and the mempool finds for the wallet. */
struct gather {
	uint64_t confirmed, immature, unconfirmed;
	struct spendable *v;          /* the confirmed outputs (collect) */
	size_t n, cap;
};

/* Show an address: 64 hex digits, then 8 of a checksum (its double
 * SHA-256's first 4 bytes), so a mistyped address is caught. */
void addr_text(const uint8_t addr[ADDR_LEN], char out[ADDR_TEXT_LEN + 1]) {
	uint8_t sum[SHA256_LEN];
	sha256d(addr, ADDR_LEN, sum);
	hex_encode(addr, ADDR_LEN, out);
	hex_encode(sum, 4, out + 2 * ADDR_LEN);
}

/* Read an address as addr_text shows it.  Returns 0, -1 if it is not 72
 * hex digits, -2 if the checksum is wrong. */
int addr_parse(const char *s, uint8_t addr[ADDR_LEN]) {
	uint8_t raw[ADDR_LEN + 4], sum[SHA256_LEN];
	if (hex_decode(s, raw, sizeof raw)) return -1;
	sha256d(raw, ADDR_LEN, sum);
	if (memcmp(sum, raw + ADDR_LEN, 4)) return -2;
	memcpy(addr, raw, ADDR_LEN);
	return 0;
}

/* wallet.dat: "PCW1" | u32 count | count x (u32 LMS type | u32 LM-OTS
 * type | I[16] | seed[32] | public key[56] | u32 next leaf) | checksum. */
static void wallet_rw(struct rw *s, void *arg) {
	struct wallet *w = arg;
	rw_magic(s, WALLET_MAGIC);
	w->n = rw_count(s, w->n, 4, MAX_KEYS, KEY_REC);
	if (!s->out && !s->bad) {
		w->keys = xcalloc(w->n, sizeof *w->keys);
		w->cap = w->n;
	}
	for (uint32_t i = 0; i < w->n && !s->bad; i++) {
		struct wkey *k = &w->keys[i];
		rw_u32(s, &k->type);
		rw_u32(s, &k->ots);
		rw_bytes(s, k->I, LMS_I_LEN);
		rw_bytes(s, k->seed, LMS_SEED_LEN);
		rw_bytes(s, k->pub, LMS_PUB_LEN);
		rw_u32(s, &k->next);
		sha256(k->pub, LMS_PUB_LEN, k->addr);
		k->leaves = k->type == LMS_SHA256_M32_H5 ? 32 : 1024;
	}
	rw_sum(s);
}

/* Add a key made from fresh randomness, which receives from now on, and
 * save.  Returns 0, or -1 (failed). */
int wallet_new_key(struct wallet *w) {
	struct wkey nk = { .type = w->type, .ots = LMOTS_SHA256_N32_W4 };
	struct lms_key *k = xmalloc(sizeof *k);
	if (w->n >= MAX_KEYS || random_bytes(nk.I, LMS_I_LEN) ||
	    random_bytes(nk.seed, LMS_SEED_LEN) ||
	    lms_keygen(k, nk.type, nk.ots, nk.I, nk.seed)) {
		free(k);
		return failed("%s", w->n >= MAX_KEYS ? "the wallet is full" :
		              "cannot read /dev/urandom for a key");
	}
	lms_public_key(k, nk.pub);
	sha256(nk.pub, LMS_PUB_LEN, nk.addr);
	nk.leaves = nk.type == LMS_SHA256_M32_H5 ? 32 : 1024;
	nk.tree = k;                     /* (made: keep it for signing) */
	w->keys = xgrow(w->keys, &w->cap, w->n + 1, sizeof *w->keys);
	w->keys[w->n++] = nk;
	if (file_save(w->path, wallet_rw, w))
		return failed("cannot write %s", w->path);
	return 0;
}

/* Open DIR/wallet.dat; with create, make it (one key) if missing.  New
 * keys get lms_type (H5 or H10).  Returns NULL if it failed. */
struct wallet *wallet_open(const char *dir, int create, uint32_t lms_type) {
	struct wallet *w = xmalloc(sizeof *w);
	int r;
	snprintf(w->path, sizeof w->path, "%s/wallet.dat", dir);
	w->type = lms_type == LMS_SHA256_M32_H5 ? lms_type : LMS_SHA256_M32_H10;
	r = file_load(w->path, 12 + MAX_KEYS * KEY_REC, wallet_rw, w);
	if (r > 0 && w->n) return w;
	if (r != 0)
		failed("%s is damaged; it was left as it is", w->path);
	else if (!create)
		failed("no wallet in %s (make one with `peerchain address`)",
		       dir);
	else if (wallet_new_key(w) == 0)
		return w;
	wallet_close(w);
	return NULL;
}

/* Free the wallet (it is always saved already). */
void wallet_close(struct wallet *w) {
	if (!w) return;
	for (uint32_t i = 0; i < w->n; i++)
		free(w->keys[i].tree);
	free(w->keys);
	free(w);
}

/* The receiving address: the newest key's. */
const uint8_t *wallet_address(const struct wallet *w) {
	return w->keys[w->n - 1].addr;
}

/* The index of the key whose address this is, or -1. */
long wallet_key(const struct wallet *w, const uint8_t addr[ADDR_LEN]) {
	for (uint32_t i = 0; i < w->n; i++)
		if (!memcmp(w->keys[i].addr, addr, ADDR_LEN))
			return i;
	return -1;
}

/* Walk the UTXO set, then the mempool's unspent outputs, for the
 * wallet's: count them, and with collect keep the spendable ones. */
static void gather(const struct wallet *w, const struct chain *c,
                   struct gather *g, int collect) {
	const struct tx **v = chain_pool_list(c);
	uint32_t height = chain_height(c) + 1, mature = c->p->maturity;
	size_t i, k, n = chain_pool_size(c, NULL);
	struct mwalk walk;
	const struct ment *e;
	const struct coin *coin;
	uint8_t op[OUTPOINT_LEN];
	long key;
	memset(g, 0, sizeof *g);
	for (e = chain_coins(c, &walk); e; e = map_step(&walk)) {
		coin = e->val;
		key = wallet_key(w, coin->addr);
		if (key < 0 || chain_spent(c, e->key))
			continue;
		if (coin->coinbase && height - coin->height < mature) {
			g->immature += coin->amount;
			continue;
		}
		g->confirmed += coin->amount;
		if (!collect)
			continue;
		g->v = xgrow(g->v, &g->cap, g->n + 1, sizeof *g->v);
		memcpy(g->v[g->n].op, e->key, OUTPOINT_LEN);
		g->v[g->n].amount = coin->amount;
		g->v[g->n++].key = key;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < v[i]->nout; k++) {
			outpoint(op, v[i]->id, k);
			if (wallet_key(w, v[i]->out[k].addr) >= 0 &&
			    !chain_spent(c, op))
				g->unconfirmed += v[i]->out[k].amount;
		}
	free(v);
}

/* The wallet's balance: spendable now, coinbases still maturing, and
 * outputs waiting in the mempool. */
void wallet_balance(const struct wallet *w, const struct chain *c,
                    uint64_t *confirmed, uint64_t *immature,
                    uint64_t *unconfirmed) {
	struct gather g;
	gather(w, c, &g, 0);
	*confirmed = g.confirmed;
	*immature = g.immature;
	*unconfirmed = g.unconfirmed;
}

/* Order spendable outputs (qsort) by key, so one key's inputs sit
 * together and share a signature. */
static int by_key(const void *a, const void *b) {
	const struct spendable *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Order spendable outputs (qsort) largest first (the older key first
 * among equals). */
static int by_amount(const void *a, const void *b) {
	const struct spendable *x = a, *y = b;
	return x->amount > y->amount ? -1 : x->amount < y->amount ? 1 :
	       by_key(a, b);
}

/* Choose outputs, largest first, until they cover amount and a fee of at
 * least *fee and MIN_FEE_RATE a byte (passing over keys with no leaf
 * left, and outputs the transaction has no room for).  Moves the chosen,
 * by key, to the front of g->v (*n of them) and marks their keys in
 * chosen; raises *fee to the rate.  Returns their total. */
static uint64_t choose(const struct wallet *w, struct gather *g,
                       uint64_t amount, uint64_t *fee, unsigned char *chosen,
                       size_t *n) {
	size_t i, size = 4 + 2 + 2 + 2 * MIN_OUTPUT, add;
	uint64_t sum = 0;
	qsort(g->v, g->n, sizeof *g->v, by_amount);
	for (i = *n = 0; i < g->n && sum < amount + *fee; i++) {
		const struct wkey *k = &w->keys[g->v[i].key];
		add = MIN_INPUT + (chosen[g->v[i].key] ? 0 :
		                   lms_sig_len(k->type, k->ots));
		if (k->next >= k->leaves || size + add > MAX_TX_SIZE) continue;
		chosen[g->v[i].key] = 1;
		size += add;
		sum += g->v[i].amount;
		struct spendable t = g->v[*n];
		g->v[(*n)++] = g->v[i];
		g->v[i] = t;
		if (*fee < MIN_FEE_RATE * size)
			*fee = MIN_FEE_RATE * size;
	}
	qsort(g->v, *n, sizeof *g->v, by_key);
	return sum;
}

/* Take the next leaf of every chosen key into q[] and write it to disk:
 * only then may a signature be made.  Returns 0, or -1 (failed). */
static int reserve(struct wallet *w, const unsigned char *chosen,
                   uint32_t *q) {
	struct wkey *cur = &w->keys[w->n - 1];
	for (uint32_t k = 0; k < w->n; k++)
		if (chosen[k])
			q[k] = w->keys[k].next++;
	if (cur->next >= cur->leaves) return wallet_new_key(w);
	if (file_save(w->path, wallet_rw, w))
		return failed("cannot write %s", w->path);
	return 0;
}

/* Sign: each key's first input carries a signature at its reserved leaf
 * (v[i]: input i's output and key; sigs: room for one an input), the
 * others borrow it.  Returns 0 or -1. */
static int sign_inputs(struct wallet *w, struct tx *t,
                       const struct spendable *v,
                       const uint32_t *q, uint8_t *sigs) {
	uint8_t sighash[SHA256_LEN];
	tx_sighash(t, sighash);
	for (uint32_t i = 0; i < t->nin; i++) {
		if (i > 0 && v[i].key == v[i - 1].key)
			continue;                  /* borrows the one before */
		struct wkey *wk = &w->keys[v[i].key];
		if (!wk->tree) {           /* (made once, kept for the next) */
			wk->tree = xmalloc(sizeof *wk->tree);
			if (lms_keygen(wk->tree, wk->type, wk->ots, wk->I,
			               wk->seed)) {
				free(wk->tree);
				wk->tree = NULL;
				return -1;
			}
		}
		t->in[i].sig = sigs + i * LMS_SIG_MAX;
		t->in[i].siglen = lms_sign(
		        wk->tree, q[v[i].key], sighash, SHA256_LEN,
		        sigs + i * LMS_SIG_MAX, LMS_SIG_MAX);
		if (!t->in[i].siglen) return -1;
	}
	return 0;
}

/* An amount in coins with 8 decimals, as users read and type it. */
char *amount_text(uint64_t v, char buf[AMOUNT_TEXT_LEN]) {
	snprintf(buf, AMOUNT_TEXT_LEN, "%llu.%08llu",
	         (unsigned long long)(v / COIN),
	         (unsigned long long)(v % COIN));
	return buf;
}

/* Finish t, whose inputs are chosen and leaves reserved (q): keys,
 * payment and change, signatures.  Returns it serialized, or NULL. */
static uint8_t *sign_and_write(struct wallet *w, struct tx *t,
                               const struct spendable *v, const uint32_t *q,
                               struct txout *out, size_t *len) {
	uint8_t *sigs = xmalloc(t->nin * LMS_SIG_MAX);
	uint8_t *buf = xmalloc(MAX_TX_SIZE);
	for (uint32_t i = 0; i < t->nin; i++)
		t->in[i].pub = w->keys[v[i].key].pub;  /* after any new key */
	out[1].addr = wallet_address(w);
	t->out = out;
	t->nout = out[1].amount ? 2 : 1;
	*len = 0;
	if (sign_inputs(w, t, v, q, sigs))
		failed("signing failed");
	else if (!(*len = tx_write(t, buf, MAX_TX_SIZE)))
		failed("the transaction would be too big");
	free(sigs);
	if (*len) return buf;
	free(buf);
	return NULL;
}

/* Build and sign a payment of amount to `to` with a fee of at least fee
 * (and MIN_FEE_RATE a byte), change to the newest address.  Returns it,
 * or NULL if it failed. */
uint8_t *wallet_pay(struct wallet *w, struct chain *c,
                    const uint8_t to[ADDR_LEN], uint64_t amount, uint64_t fee,
                    size_t *len) {
	unsigned char *chosen = xcalloc(w->n, 1);
	uint32_t *q = xcalloc(w->n + 1, sizeof *q);
	uint8_t *buf = NULL;
	struct txout out[2];
	struct txin *in = NULL;
	struct gather g;
	uint64_t have = 0;
	char a[4][AMOUNT_TEXT_LEN];
	struct tx t = { 0 };
	size_t n, i;
	gather(w, c, &g, 1);
	if (amount == 0 || amount > MAX_MONEY || fee > MAX_MONEY - amount) {
		failed("amount or fee out of range");
		goto out;
	}
	if ((have = choose(w, &g, amount, &fee, chosen, &n)) < amount + fee) {
		failed("insufficient funds: %s spendable in one payment of "
		       "%zu inputs (%s maturing, %s unconfirmed), %s needed",
		       amount_text(have, a[0]), n,
		       amount_text(g.immature, a[1]),
		       amount_text(g.unconfirmed, a[2]),
		       amount_text(amount + fee, a[3]));
		goto out;
	}
	in = xcalloc(n, sizeof *in);
	for (i = 0; i < n; i++)
		in[i].prev = g.v[i].op;
	if (reserve(w, chosen, q)) goto out;
	if (getenv("PEERCHAIN_CRASH_AFTER_LEAF"))  /* the test of the rule */
		raise(SIGKILL);
	t.in = in;
	t.nin = n;
	out[0].amount = amount;
	out[0].addr = to;
	out[1].amount = have - amount - fee;
	buf = sign_and_write(w, &t, g.v, q, out, len);
out:
	free(g.v);
	free(chosen);
	free(q);
	free(in);
	return buf;
}

/* Read an amount in coins ("12", "0.5", "1.00000001") into base units.
 * Returns 0, or -1 if malformed, over 8 decimals or over MAX_MONEY. */
int amount_parse(const char *s, uint64_t *v) {
	uint64_t whole = 0, frac = 0;
	int digits = 0, point = 0, any = 0;
	for (; *s; s++) {
		if (*s == '.' && !point) {
			point = 1;
		} else if (*s >= '0' && *s <= '9' && !point) {
			whole = whole * 10 + (*s - '0');
			if (whole > MAX_MONEY / COIN)
				return -1;
			any = 1;
		} else if (*s >= '0' && *s <= '9' && digits < 8) {
			frac = frac * 10 + (*s - '0');
			digits++;
			any = 1;
		} else {
			return -1;
		}
	}
	if (!any) return -1;
	for (; digits < 8; digits++)
		frac *= 10;
	*v = whole * COIN + frac;
	return *v > MAX_MONEY ? -1 : 0;
}
