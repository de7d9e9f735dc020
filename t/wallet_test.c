/*
 * t/wallet_test.c - addresses and their checksum, amounts, the wallet
 * file, and the one-time-leaf rule over many payments: no leaf is ever
 * used twice and a used-up key is replaced.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../node.h"

static char dir[64];

/* A new temporary directory in dir. */
static void make_dir(void) {
	strcpy(dir, "/tmp/pc-wallet-XXXXXX");
	assert(mkdtemp(dir));
}

/* Remove dir. */
static void remove_dir(void) {
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert(system(cmd) == 0);
}

/* An address reads back; any one changed character is caught. */
static void test_address_text(void) {
	uint8_t addr[ADDR_LEN], back[ADDR_LEN];
	char text[ADDR_TEXT_LEN + 1], bad[ADDR_TEXT_LEN + 2];
	int i;

	for (i = 0; i < ADDR_LEN; i++)
		addr[i] = (uint8_t)test_rand();
	addr_text(addr, text);
	assert(strlen(text) == ADDR_TEXT_LEN);
	assert(addr_parse(text, back) == 0 && memcmp(addr, back, 32) == 0);
	for (i = 0; i < ADDR_TEXT_LEN; i++) {
		strcpy(bad, text);
		bad[i] = bad[i] == '0' ? '1' : '0';
		assert(addr_parse(bad, back) == -2);
		bad[i] = 'x';
		assert(addr_parse(bad, back) == -1);
	}
	strcpy(bad, text);
	strcat(bad, "0");
	assert(addr_parse(bad, back) == -1);
	bad[ADDR_TEXT_LEN - 1] = 0;
	assert(addr_parse(bad, back) == -1);
}

/* Amounts in coins, and what is refused. */
static void test_amounts(void) {
	static const char *bad[] = {"",
	                            ".",
	                            "1.000000001",
	                            "-1",
	                            "1e3",
	                            "21000000.00000001",
	                            "99999999999",
	                            "1.2.3",
	                            " 1"};
	char buf[AMOUNT_TEXT_LEN];
	uint64_t v;
	size_t i;

	assert(amount_parse("1.5", &v) == 0 && v == 150000000);
	assert(amount_parse("0.00000001", &v) == 0 && v == 1);
	assert(amount_parse("21000000", &v) == 0 && v == MAX_MONEY);
	assert(amount_parse("7", &v) == 0 && v == 7 * COIN);
	assert(amount_parse(".25", &v) == 0 && v == COIN / 4);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert(amount_parse(bad[i], &v) == -1);
	assert(strcmp(amount_text(123456789, buf), "1.23456789") == 0);
	assert(strcmp(amount_text(MAX_MONEY, buf), "21000000.00000000") == 0);
}

/* The file keeps the keys; a damaged file is refused and left alone; no
 * file and no create is an error. */
static void test_wallet_file(void) {
	char path[128];
	uint8_t a[ADDR_LEN], b[ADDR_LEN], *buf, *again;
	struct wallet *w;
	size_t len, len2, i;
	FILE *f;

	make_dir();
	assert(!wallet_open(dir, 0, LMS_SHA256_M32_H5));
	assert(strstr(failure, "no wallet"));
	w = wallet_open(dir, 1, LMS_SHA256_M32_H5);
	assert(w && w->n == 1);
	memcpy(a, wallet_address(w), ADDR_LEN);
	assert(wallet_new_key(w) == 0);
	memcpy(b, wallet_address(w), ADDR_LEN);
	assert(memcmp(a, b, ADDR_LEN) != 0);
	assert(memcmp(w->keys[0].addr, a, ADDR_LEN) == 0);
	wallet_close(w);
	w = wallet_open(dir, 0, LMS_SHA256_M32_H5);
	assert(w && w->n == 2 && memcmp(w->keys[0].addr, a, ADDR_LEN) == 0);
	wallet_close(w);
	snprintf(path, sizeof path, "%s/wallet.dat", dir);
	buf = read_file(path, &len);
	for (i = 0; i < len; i++) {
		buf[i] ^= 0x10;
		f = fopen(path, "wb");
		assert(f && fwrite(buf, 1, len, f) == len);
		fclose(f);
		assert(!wallet_open(dir, 1, LMS_SHA256_M32_H5));
		assert(strstr(failure, "damaged"));
		again = read_file(path, &len2);     /* untouched */
		assert(len2 == len && memcmp(again, buf, len) == 0);
		free(again);
		buf[i] ^= 0x10;
	}
	free(buf);
	remove_dir();
}

/* The leaf and key of every signature in a block's payments. */
struct seen {
	uint8_t who[64][LMS_I_LEN + 4];
	int n;
};

/* Record every signature's (I, q) of a transaction; none may repeat. */
static void record(struct seen *s, const struct tx *t) {
	uint32_t i;
	int k;

	for (i = 0; i < t->nin; i++) {
		if (!t->in[i].siglen) continue;
		assert(s->n < 64);
		memcpy(s->who[s->n], t->in[i].pub + 8, LMS_I_LEN);
		memcpy(s->who[s->n] + LMS_I_LEN, t->in[i].sig, 4);
		for (k = 0; k < s->n; k++)
			assert(memcmp(s->who[k], s->who[s->n], LMS_I_LEN + 4));
		s->n++;
	}
}

/* Mine one block on the tip paying addr. */
static void mine_to(struct chain *c, const uint8_t *addr) {
	size_t len;
	uint8_t *b = chain_template(c, addr, &len);

	while (block_mine(b, len, 1000, chain_now(c) + 3600) != 1)
		;
	assert(chain_add_block(c, b, len) == V_OK);
	free(b);
}

/* Mine one block on the tip paying the wallet. */
static void mine(struct chain *c, struct wallet *w) {
	mine_to(c, wallet_address(w));
}

/* A new regtest chain and a wallet of H5 keys, in a new directory. */
static void open_both(struct chain **c, struct wallet **w) {

	make_dir();
	*c = chain_open(params_find("regtest"), dir, 0);
	*w = wallet_open(dir, 1, LMS_SHA256_M32_H5);
	assert(*c && *w);
}

/* 40 payments from a wallet of 32-leaf keys: every signature a new leaf,
 * a second key once the first is used up, change back to the wallet and
 * the balance as it should be. */
static void test_wallet_leaves(void) {
	static struct seen s;
	uint8_t to[ADDR_LEN] = { 7 }, *tx;
	uint64_t conf, imm, unconf, before, paid = 0, fee, fees = 0;
	struct chain *c;
	struct wallet *w;
	struct tx t;
	size_t len;
	int i;

	open_both(&c, &w);
	for (i = 0; i < 11; i++)
		mine(c, w);
	for (i = 0; i < 40; i++) {
		wallet_balance(w, c, &before, &imm, &unconf);
		tx = wallet_pay(w, c, to, COIN, 1000, &len);
		assert(tx);
		assert(chain_add_tx(c, tx, len) == V_OK);
		assert(tx_parse(&t, tx, len) == V_OK);
		record(&s, &t);
		tx_free(&t);
		free(tx);
		wallet_balance(w, c, &conf, &imm, &unconf);
		/* 1000, raised to the rate */
		fee = before - COIN - conf - unconf;
		assert(fee >= len * MIN_FEE_RATE &&
		       fee < len * MIN_FEE_RATE + 200);
		paid += COIN + fee;
		fees += fee;
		mine(c, w);
	}
	assert(s.n >= 40 && w->n == 2);
	wallet_balance(w, c, &conf, &imm, &unconf);
	assert(conf + imm + unconf == 51 * 50 * COIN - paid + fees);
	tx = wallet_pay(w, c, to, 100000 * COIN, 0, &len);
	assert(!tx && strstr(failure, "insufficient funds"));
	wallet_close(w);
	chain_close(c);
	remove_dir();
}

/* Pay n outputs of `each` to `to` from the coinbase of block h (50 coins
 * to key k), change to `back`, a fee of 0.001; into the mempool. */
static void scatter(struct chain *c, uint32_t h, const struct lms_key *k,
                    const uint8_t *kpub, const uint8_t *to,
                    const uint8_t *back, int n, uint64_t each) {
	static struct txout out[2001];
	static uint8_t sig[LMS_SIG_MAX], buf[MAX_TX_SIZE];
	uint8_t hash[SHA256_LEN], op[OUTPOINT_LEN], sighash[SHA256_LEN], *blk;
	struct txin in = { 0 };
	struct block b;
	struct tx t = { 0 };
	size_t len;
	int i;

	assert(n <= 2000 && chain_hash_at(c, h, hash) == 0);
	assert((blk = chain_read_block(c, hash, &len)));
	assert(block_parse(&b, blk, len) == V_OK);
	outpoint(op, b.tx[0].id, 0);
	block_free(&b);
	free(blk);
	in.prev = op;
	in.pub = kpub;
	for (i = 0; i < n; i++) {
		out[i].amount = each;
		out[i].addr = to;
	}
	out[n].addr = back;
	t.nin = 1;
	t.nout = (uint16_t)(n + 1);
	t.in = &in;
	t.out = out;
	out[n].amount = 50 * COIN - n * each - 100000;
	tx_sighash(&t, sighash);
	in.siglen =
	        (uint16_t)lms_sign(k, h, sighash, SHA256_LEN, sig, sizeof sig);
	in.sig = sig;
	assert(in.siglen && (len = tx_write(&t, buf, sizeof buf)) > 0);
	assert(chain_add_tx(c, buf, len) == V_OK);
}

/* A wallet dusted with 5,000 outputs of 0.001 coin still pays: largest
 * first, hundreds of inputs under one signature, the fee raised to the
 * rate; a payment no one transaction can hold is a clear error. */
static void test_wallet_dust(void) {
	static struct lms_key k;
	uint8_t I[LMS_I_LEN] = { 4 }, seed[LMS_SEED_LEN] = { 5 }, to[ADDR_LEN];
	uint8_t kpub[LMS_PUB_LEN], ka[ADDR_LEN], *tx;
	uint64_t conf, imm, unconf;
	struct chain *c;
	struct wallet *w;
	struct tx t;
	size_t len;
	int i;

	open_both(&c, &w);
	assert(lms_keygen(&k, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4, I,
	                  seed) == 0);
	lms_public_key(&k, kpub);
	sha256(kpub, LMS_PUB_LEN, ka);
	for (i = 0; i < 13; i++)
		mine_to(c, ka);
	for (i = 1; i <= 3; i++)
		scatter(c, (uint32_t)i, &k, kpub, wallet_address(w), ka,
		        i < 3 ? 2000 : 1000, COIN / 1000);
	mine_to(c, ka);
	wallet_balance(w, c, &conf, &imm, &unconf);
	assert(conf == 5 * COIN && !imm && !unconf);
	memset(to, 7, sizeof to);
	tx = wallet_pay(w, c, to, COIN / 2, 0, &len);
	assert(tx && chain_add_tx(c, tx, len) == V_OK);
	assert(tx_parse(&t, tx, len) == V_OK);
	assert(t.nin > 500 && t.nin < 520 && t.in[0].siglen && !t.in[1].siglen);
	tx_free(&t);
	free(tx);
	tx = wallet_pay(w, c, to, 4 * COIN, 0, &len);
	assert(!tx && strstr(failure, "in one payment of"));
	wallet_close(w);
	chain_close(c);
	remove_dir();
}

int main(int argc, char **argv) {
	static const struct test tests[] = {
		{ "address_text", test_address_text },
		{ "amounts", test_amounts },
		{ "wallet_file", test_wallet_file },
		{ "wallet_leaves", test_wallet_leaves },
		{ "wallet_dust", test_wallet_dust },
	};

	return test_main(tests, NTESTS(tests), argc, argv);
}
