/*
 * lms.c - Leighton-Micali hash-based signatures (RFC 8554), on sha256.c:
 * their security rests on nothing but the hash the chain already trusts.
 *
 *   LM-OTS  a one-time signature.  The private key is p secret strings; the
 *           public key hashes the end of a Winternitz chain started at each
 *           (2^w - 1 hash steps).  To sign, the digest and its checksum are
 *           cut into p digits of w bits, and for digit a the signer reveals
 *           the value a steps down chain i.  The verifier finishes each
 *           chain and must land on the public key.
 *   LMS     a Merkle tree of 2^h one-time keys.  The public key is the root;
 *           a signature is one LM-OTS signature, its leaf q, and the h
 *           sibling hashes from that leaf up to the root.
 *   (HSS, LMS keys signing LMS keys, lives in t/lms_test.c for the RFC's
 *   test vectors: the node has no use for it.)
 *
 * A leaf must never sign twice: that reveals enough to forge.  lms_sign()
 * takes the leaf from the caller, who keeps the count (the wallet, on
 * disk).  Hash inputs are big-endian, as the RFC says.  Start reading at
 * lms_verify().
 */
#include "node.h"

/* Domain separators of RFC 8554, so no hash of one kind equals another. */
#define D_PBLC 0x8080  /* one-time public key */
#define D_MESG 0x8181  /* message digest */
#define D_LEAF 0x8282  /* leaf of the tree */
#define D_INTR 0x8383  /* interior node */

#define N 32            /* bytes per hash: n = m = 32 for SHA-256 */
#define OTS_MAX_P 265   /* the most chains any LM-OTS type has (w = 1) */

#define HEAD_LEN (LMS_I_LEN + 4 + 2)  /* I || u32str || u16str, see head() */

/* Byte offsets in the 55-byte chain-step input I || q || i || j || tmp. */
#define STEP_J HEAD_LEN
#define STEP_TMP (STEP_J + 1)
#define STEP_LEN (STEP_TMP + N)

/* An LM-OTS parameter set (RFC 8554, table 1). */
struct ots_param {
	uint32_t type;   /* type code */
	int w;           /* bits per Winternitz digit */
	int p;           /* chains: digits of the digest plus of the checksum */
	int ls;          /* left shift that aligns the checksum's digits */
};

/* An LMS parameter set (RFC 8554, table 2). */
struct lms_param {
	uint32_t type;   /* type code */
	int h;           /* tree height: 2^h one-time keys */
};

static const struct ots_param ots_params[] = {
	{ LMOTS_SHA256_N32_W1, 1, 265, 7 },
	{ LMOTS_SHA256_N32_W2, 2, 133, 6 },
	{ LMOTS_SHA256_N32_W4, 4, 67, 4 },
	{ LMOTS_SHA256_N32_W8, 8, 34, 0 },
};

static const struct lms_param lms_params[] = {
	{ LMS_SHA256_M32_H5, 5 },
	{ LMS_SHA256_M32_H10, 10 },
	{ LMS_SHA256_M32_H15, 15 },
	{ LMS_SHA256_M32_H20, 20 },
	{ LMS_SHA256_M32_H25, 25 },
};

/* ==== Parameters and lengths ==== */
/* The LM-OTS parameters for a type code, or NULL if it is unknown (the
 * tables are in the order of the codes). */
static const struct ots_param *find_ots(uint32_t type) {
	return type >= LMOTS_SHA256_N32_W1 && type <= LMOTS_SHA256_N32_W8 ?
	       &ots_params[type - LMOTS_SHA256_N32_W1] : NULL;
}

/* The LMS parameters for a type code, or NULL if it is unknown. */
static const struct lms_param *find_lms(uint32_t type) {
	return type >= LMS_SHA256_M32_H5 && type <= LMS_SHA256_M32_H25 ?
	       &lms_params[type - LMS_SHA256_M32_H5] : NULL;
}

/* Bytes in an LM-OTS signature: type, randomizer C, p chain values. */
static size_t ots_sig_len(const struct ots_param *op) {
	return 4 + N + op->p * N;
}

/* Bytes in an LMS signature of these types (q, LM-OTS signature, LMS
 * type, h path hashes), or 0 if either is unknown. */
size_t lms_sig_len(uint32_t type, uint32_t ots_type) {
	const struct lms_param *lp = find_lms(type);
	const struct ots_param *op = find_ots(ots_type);
	if (!lp || !op) return 0;
	return 4 + ots_sig_len(op) + 4 + lp->h * N;
}

/* ==== LM-OTS ==== */
/* Write I || u32str(r) || u16str(d), the start of every RFC 8554 hash
 * input: r a leaf or node number, d a domain separator or chain number. */
static void head(uint8_t buf[HEAD_LEN], const uint8_t I[LMS_I_LEN],
                 uint32_t r, uint16_t d) {
	memcpy(buf, I, LMS_I_LEN);
	put32be(buf + LMS_I_LEN, r);
	put16be(buf + LMS_I_LEN + 4, d);
}

/* Digit i (w bits) of the byte string s (RFC 8554, section 3.1.3). */
static unsigned coef(const uint8_t *s, int i, int w) {
	int per_byte = 8 / w;
	return (s[i / per_byte] >> (8 - w * (i % per_byte + 1))) &
	       ((1u << w) - 1);
}

/* Write the p digits of Q || Cksm(Q) to digits (RFC 8554, section 4.4). */
static void digest_digits(const struct ots_param *op, const uint8_t Q[N],
                          unsigned digits[OTS_MAX_P]) {
	uint8_t qc[N + 2];
	unsigned max = (1u << op->w) - 1, sum = 0;
	for (int i = 0; i < N * 8 / op->w; i++)
		sum += max - coef(Q, i, op->w);
	memcpy(qc, Q, N);
	put16be(qc + N, sum << op->ls);
	for (int i = 0; i < op->p; i++)
		digits[i] = coef(qc, i, op->w);
}

/* Q = H(I || u32str(q) || u16str(D_MESG) || C || message). */
static void message_hash(const uint8_t I[LMS_I_LEN], uint32_t q,
                         const uint8_t C[N], const void *msg, size_t len,
                         uint8_t Q[N]) {
	sha256_ctx c;
	uint8_t h[HEAD_LEN];
	head(h, I, q, D_MESG);
	sha256_init(&c);
	sha256_update(&c, h, sizeof h);
	sha256_update(&c, C, N);
	sha256_update(&c, msg, len);
	sha256_final(&c, Q);
}

/* Walk chain i of leaf q from step `from` to `to`, in place:
 * tmp = H(I || u32str(q) || u16str(i) || u8str(j) || tmp). */
static void ots_chain(const uint8_t I[LMS_I_LEN], uint32_t q, int i,
                  uint8_t tmp[N], unsigned from, unsigned to) {
	uint8_t buf[STEP_LEN];
	head(buf, I, q, i);
	memcpy(buf + STEP_TMP, tmp, N);
	for (unsigned j = from; j < to; j++) {
		buf[STEP_J] = j;
		sha256(buf, STEP_LEN, buf + STEP_TMP);
	}
	memcpy(tmp, buf + STEP_TMP, N);
}

/* The secret start of chain i of leaf q (RFC 8554, appendix A): H(I ||
 * u32str(q) || u16str(i) || u8str(0xff) || SEED); i = 0xfffd gives C. */
static void derive(const struct lms_key *k, uint32_t q, uint16_t i,
                   uint8_t out[N]) {
	uint8_t buf[HEAD_LEN + 1 + LMS_SEED_LEN];
	head(buf, k->I, q, i);
	buf[HEAD_LEN] = 0xff;
	memcpy(buf + HEAD_LEN + 1, k->seed, LMS_SEED_LEN);
	sha256(buf, sizeof buf, out);
}

/* A one-time public key: chain i of leaf q finished from its value y[i]
 * at step from[i] to its end, and the ends hashed, H(I || u32str(q) ||
 * u16str(D_PBLC) || the ends). */
static void ots_ends(const struct ots_param *op, const uint8_t I[LMS_I_LEN],
                     uint32_t q, const uint8_t *y, const unsigned *from,
                     uint8_t K[N]) {
	uint8_t h[HEAD_LEN], tmp[N];
	sha256_ctx c;
	head(h, I, q, D_PBLC);
	sha256_init(&c);
	sha256_update(&c, h, sizeof h);
	for (int i = 0; i < op->p; i++) {
		memcpy(tmp, y + i * N, N);
		ots_chain(I, q, i, tmp, from[i], (1u << op->w) - 1);
		sha256_update(&c, tmp, N);
	}
	sha256_final(&c, K);
}

/* The one-time public key K of leaf q: every chain from its secret start. */
static void ots_public(const struct lms_key *k, const struct ots_param *op,
                       uint32_t q, uint8_t K[N]) {
	static const unsigned start[OTS_MAX_P];
	uint8_t x[OTS_MAX_P * N];
	for (int i = 0; i < op->p; i++)
		derive(k, q, i, x + i * N);
	ots_ends(op, k->I, q, x, start, K);
}

/* The public key Kc that an LM-OTS signature (C, y[0..p-1]) implies for
 * msg at leaf q (RFC 8554, algorithm 4b): each chain finished from the
 * digit the signer revealed it at.  Only a genuine one gives the key. */
static void ots_candidate(const struct ots_param *op,
                          const uint8_t I[LMS_I_LEN], uint32_t q,
                          const void *msg, size_t len, const uint8_t *C,
                          const uint8_t *y, uint8_t Kc[N]) {
	unsigned digits[OTS_MAX_P];
	uint8_t Q[N];
	message_hash(I, q, C, msg, len, Q);
	digest_digits(op, Q, digits);
	ots_ends(op, I, q, y, digits, Kc);
}

/* ==== LMS: the Merkle tree ==== */
/* Node r of the tree: a leaf, H(I || u32str(r) || u16str(D_LEAF) || K)
 * with K = a, or (b set) H(I || u32str(r) || u16str(D_INTR) || a || b). */
static void tree_hash(const uint8_t I[LMS_I_LEN], uint32_t r,
                      const uint8_t a[N], const uint8_t *b, uint8_t out[N]) {
	uint8_t buf[HEAD_LEN + 2 * N];
	head(buf, I, r, b ? D_INTR : D_LEAF);
	memcpy(buf + HEAD_LEN, a, N);
	if (b)
		memcpy(buf + HEAD_LEN + N, b, N);
	sha256(buf, HEAD_LEN + (b ? 2 : 1) * N, out);
}

/* Make a key of these types from I and seed, its whole tree in k->tree.
 * Returns 0, or -1 for a type we cannot make (unknown, or too tall). */
int lms_keygen(struct lms_key *k, uint32_t type, uint32_t ots_type,
               const uint8_t I[LMS_I_LEN], const uint8_t seed[LMS_SEED_LEN]) {
	const struct lms_param *lp = find_lms(type);
	const struct ots_param *op = find_ots(ots_type);
	uint32_t leaves, r;
	uint8_t K[N];
	if (!lp || !op || lp->h > LMS_SIGN_MAX_H) return -1;
	k->type = type;
	k->ots_type = ots_type;
	memcpy(k->I, I, LMS_I_LEN);
	memcpy(k->seed, seed, LMS_SEED_LEN);
	leaves = 1u << lp->h;
	for (r = 0; r < leaves; r++) {
		ots_public(k, op, r, K);
		tree_hash(I, leaves + r, K, NULL, k->tree[leaves + r]);
	}
	for (r = leaves - 1; r >= 1; r--)
		tree_hash(I, r, k->tree[2 * r], k->tree[2 * r + 1], k->tree[r]);
	return 0;
}

/* Write the 56-byte public key: type, LM-OTS type, I, root. */
void lms_public_key(const struct lms_key *k, uint8_t pub[LMS_PUB_LEN]) {
	put32be(pub, k->type);
	put32be(pub + 4, k->ots_type);
	memcpy(pub + 8, k->I, LMS_I_LEN);
	memcpy(pub + 24, k->tree[1], N);
}

/* Write the LM-OTS signature of msg by leaf q at out: type, C, y[]. */
static void ots_sign(const struct lms_key *k, const struct ots_param *op,
                     uint32_t q, const void *msg, size_t len, uint8_t *out) {
	unsigned digits[OTS_MAX_P];
	uint8_t Q[N], *C = out + 4, *y = out + 4 + N;
	put32be(out, op->type);
	derive(k, q, 0xfffd, C);
	message_hash(k->I, q, C, msg, len, Q);
	digest_digits(op, Q, digits);
	for (int i = 0; i < op->p; i++) {
		derive(k, q, i, y + i * N);
		ots_chain(k->I, q, i, y + i * N, 0, digits[i]);
	}
}

/* Sign msg with leaf q (never the same q twice) into sig (cap bytes): q,
 * the one-time signature, the LMS type and the sibling of every node from
 * the leaf up.  Returns its length, or 0 if q or cap is too small. */
size_t lms_sign(const struct lms_key *k, uint32_t q, const void *msg,
                size_t msglen, uint8_t *sig, size_t cap) {
	const struct lms_param *lp = find_lms(k->type);
	const struct ots_param *op = find_ots(k->ots_type);
	size_t len = lms_sig_len(k->type, k->ots_type), off;
	if (!lp || !op || q >= 1u << lp->h || cap < len) return 0;
	put32be(sig, q);
	ots_sign(k, op, q, msg, msglen, sig + 4);
	off = 4 + ots_sig_len(op);
	put32be(sig + off, k->type);
	off += 4;
	for (uint32_t r = (1u << lp->h) + q; r > 1; r /= 2, off += N)
		memcpy(sig + off, k->tree[r ^ 1], N);
	return len;
}

/* ==== Verification ==== */
/* Check an LMS signature (RFC 8554, algorithm 6a): key and signature of
 * exact lengths, the one-time key implied, the climb to the root.
 * Returns LMS_OK, LMS_BAD_FORMAT or LMS_BAD_SIG. */
int lms_verify(const uint8_t *pub, size_t publen, const void *msg,
               size_t msglen, const uint8_t *sig, size_t siglen) {
	const uint8_t *I, *path;
	uint8_t tmp[N];
	uint32_t q, r;
	if (publen != LMS_PUB_LEN || siglen < 8) return LMS_BAD_FORMAT;
	I = pub + 8;
	const struct lms_param *lp = find_lms(get32be(pub));
	const struct ots_param *op = find_ots(get32be(pub + 4));
	if (!lp || !op || get32be(sig + 4) != op->type ||
	    siglen != lms_sig_len(lp->type, op->type) ||
	    get32be(sig + 4 + ots_sig_len(op)) != lp->type)
		return LMS_BAD_FORMAT;
	q = get32be(sig);
	if (q >= 1u << lp->h) return LMS_BAD_FORMAT;
	ots_candidate(op, I, q, msg, msglen, sig + 8, sig + 8 + N, tmp);
	r = (1u << lp->h) + q;
	tree_hash(I, r, tmp, NULL, tmp);
	path = sig + 4 + ots_sig_len(op) + 4;
	for (; r > 1; r /= 2, path += N) {
		if (r & 1)
			tree_hash(I, r / 2, path, tmp, tmp);
		else
			tree_hash(I, r / 2, tmp, path, tmp);
	}
	return !memcmp(tmp, pub + 24, N) ? LMS_OK : LMS_BAD_SIG;
}
