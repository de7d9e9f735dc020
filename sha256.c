/*
 * sha256.c - SHA-256 as FIPS 180-4 defines it, in portable C.
 *
 * Everything peerchain trusts rests on this file: block hashes and proof of
 * work, merkle roots, transaction ids, addresses and, through lms.c, every
 * signature.  The heart is compress(), which folds one 64-byte block into
 * the eight-word state; sha256_update() cuts input into blocks and
 * sha256_final() pads the last.  The miner's trick is sha256d_from(): the
 * first 64 bytes of a header stay while the nonce changes, so their state
 * is computed once and each nonce costs two compressions, not three.
 * Words are loaded with shifts (get32be), right on any byte order.
 */
#include "node.h"

/* First 32 bits of the fractional parts of the cube roots of the first 64
 * primes (FIPS 180-4, 4.2.2). */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

/* The functions of FIPS 180-4, 4.1.2. */
#define ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))
#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define BSIG0(x) (ROR(x, 2) ^ ROR(x, 13) ^ ROR(x, 22))
#define BSIG1(x) (ROR(x, 6) ^ ROR(x, 11) ^ ROR(x, 25))
#define SSIG0(x) (ROR(x, 7) ^ ROR(x, 18) ^ (x) >> 3)
#define SSIG1(x) (ROR(x, 17) ^ ROR(x, 19) ^ (x) >> 10)

static unsigned long compressions;  /* blocks compressed by this process */

/* Fold one 64-byte block into the state s: 64 rounds over the eight
 * working variables.  The message schedule w is computed as the rounds
 * go, in place in a ring of 16 words: word i (from 16 on) is the sum of
 * words i-2, i-7, i-15 and i-16, the last of which it replaces. */
static void compress(uint32_t s[8], const uint8_t *block) {
	uint32_t w[16], a, b, c, d, e, f, g, h, t1, t2;
	int i;
	for (i = 0; i < 16; i++)
		w[i] = get32be(block + 4 * i);
	a = s[0];
	b = s[1];
	c = s[2];
	d = s[3];
	e = s[4];
	f = s[5];
	g = s[6];
	h = s[7];
	/* Unrolled whole by gcc and clang, the loop runs about 1.6 times as
	 * fast (every ring index becomes a constant and the shuffle of the
	 * variables disappears); a build for size (-Os) keeps the loop. */
#ifndef __OPTIMIZE_SIZE__
#pragma GCC unroll 64
#endif
	for (i = 0; i < 64; i++) {
		if (i >= 16)
			w[i & 15] += SSIG1(w[(i - 2) & 15]) + w[(i - 7) & 15] +
			             SSIG0(w[(i - 15) & 15]);
		t1 = h + BSIG1(e) + CH(e, f, g) + K[i] + w[i & 15];
		t2 = BSIG0(a) + MAJ(a, b, c);
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	s[0] += a;
	s[1] += b;
	s[2] += c;
	s[3] += d;
	s[4] += e;
	s[5] += f;
	s[6] += g;
	s[7] += h;
	compressions++;
}

/* Start a new hash: the initial state of FIPS 180-4, 5.3.3. */
void sha256_init(sha256_ctx *c) {
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};
	memcpy(c->h, iv, sizeof iv);
	c->len = 0;
}

/* Add len bytes to the hash; whole blocks are compressed straight from
 * data, only a partial block is copied into the context. */
void sha256_update(sha256_ctx *c, const void *data, size_t len) {
	const uint8_t *p = data;
	size_t have = c->len % SHA256_BLOCK;
	c->len += len;
	if (have) {
		size_t take = SHA256_BLOCK - have;
		if (len < take) {
			memcpy(c->buf + have, p, len);
			return;
		}
		memcpy(c->buf + have, p, take);
		compress(c->h, c->buf);
		p += take;
		len -= take;
	}
	for (; len >= SHA256_BLOCK; p += SHA256_BLOCK, len -= SHA256_BLOCK)
		compress(c->h, p);
	if (len)
		memcpy(c->buf, p, len);
}

/* Pad (a 1 bit, zeros, the bit length as 64 bits big-endian); the digest. */
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_LEN]) {
	size_t have = c->len % SHA256_BLOCK;
	uint64_t bits = c->len * 8;
	c->buf[have++] = 0x80;
	if (have > SHA256_BLOCK - 8) {
		memset(c->buf + have, 0, SHA256_BLOCK - have);
		compress(c->h, c->buf);
		have = 0;
	}
	memset(c->buf + have, 0, SHA256_BLOCK - 8 - have);
	put32be(c->buf + 56, bits >> 32);
	put32be(c->buf + 60, bits);
	compress(c->h, c->buf);
	for (int i = 0; i < 8; i++)
		put32be(out + 4 * i, c->h[i]);
}

/* Hash len bytes of data in one call. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]) {
	sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

/* SHA-256 of SHA-256, as Bitcoin hashes headers and transactions. */
void sha256d(const void *data, size_t len, uint8_t out[SHA256_LEN]) {
	uint8_t once[SHA256_LEN];
	sha256(data, len, once);
	sha256(once, sizeof once, out);
}

/* Finish a double hash whose first bytes are already in mid, which is
 * left untouched for the next call: for an 80-byte header whose first 64
 * bytes are in mid, two compressions. */
void sha256d_from(const sha256_ctx *mid, const void *tail, size_t len,
                  uint8_t out[SHA256_LEN]) {
	sha256_ctx c = *mid;
	uint8_t once[SHA256_LEN];
	sha256_update(&c, tail, len);
	sha256_final(&c, once);
	sha256(once, sizeof once, out);
}

/* How many blocks this process has compressed (for tests and bench). */
unsigned long sha256_compressions(void) { return compressions; }
