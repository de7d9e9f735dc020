/*
 * t/lms_test.c - LMS and HSS (RFC 8554): the RFC's own test cases verify,
 * our key generation and signing reproduce the RFC's second-level key and
 * signature, any one changed byte or malformed field is refused, and fresh
 * keys round-trip.  Malformed inputs are copied into buffers of exactly
 * their length, so the sanitizer build catches any read past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "../node.h"
#include "test.h"

#define TC1 "t/vectors/rfc8554_tc1.txt"
#define TC2 "t/vectors/rfc8554_tc2.txt"
#define TC2_KEY "t/vectors/rfc8554_tc2_key.txt"

/* A vector file loaded: HSS public key, message, signature. */
struct tc {
	uint8_t *pub, *msg, *sig;
	size_t publen, msglen, siglen;
};

/* Read a vector file; unload() frees it. */
static struct tc load(const char *path) {
	struct tc t;

	t.pub = vector_field(path, "pubkey", &t.publen);
	t.msg = vector_field(path, "message", &t.msglen);
	t.sig = vector_field(path, "signature", &t.siglen);
	return t;
}

static void unload(struct tc *t) {
	free(t->pub);
	free(t->msg);
	free(t->sig);
}

#define HSS_MAX_LEVELS 2    /* RFC 8554 allows 8; its test cases use two */

/* The length of the LMS signature at the start of s (avail bytes) as its
 * own type codes give it, or 0 if they are unknown or it runs past avail.
 * (Its LMS type code follows q and the LM-OTS signature.) */
static size_t sig_len_at(const uint8_t *s, size_t avail) {
	size_t at, len;

	if (avail < 8 || !(at = lms_sig_len(LMS_SHA256_M32_H5, get32be(s + 4))))
		return 0;
	at -= 4 + 5 * SHA256_LEN;     /* where the LMS type code sits */
	if (avail < at + 4 || !(len = lms_sig_len(get32be(s + at),
	                                          get32be(s + 4))))
		return 0;
	return len <= avail ? len : 0;
}

/*
 * Check an HSS signature (RFC 8554, algorithm 6b, with at most
 * HSS_MAX_LEVELS levels).  The public key is u32str(L) || top LMS key; the
 * signature is u32str(L-1), then for each lower level an LMS signature of
 * the next public key followed by that key, then the signature of msg.
 * Returns LMS_OK, LMS_BAD_FORMAT or LMS_BAD_SIG.
 */
static int hss_verify(const uint8_t *pub, size_t publen, const void *msg,
                      size_t msglen, const uint8_t *sig, size_t siglen) {
	const uint8_t *key = pub + 4;
	uint32_t levels, i;
	size_t off = 4, len;
	int rc;

	if (publen != 4 + LMS_PUB_LEN || siglen < 4) return LMS_BAD_FORMAT;
	levels = get32be(pub);
	if (levels < 1 || levels > HSS_MAX_LEVELS || get32be(sig) != levels - 1)
		return LMS_BAD_FORMAT;
	for (i = 0; i + 1 < levels; i++) {
		len = sig_len_at(sig + off, siglen - off);
		if (len == 0 || siglen - off - len < LMS_PUB_LEN)
			return LMS_BAD_FORMAT;
		rc = lms_verify(key, LMS_PUB_LEN, sig + off + len, LMS_PUB_LEN,
		                sig + off, len);
		if (rc != LMS_OK) return rc;
		key = sig + off + len;
		off += len + LMS_PUB_LEN;
	}
	return lms_verify(key, LMS_PUB_LEN, msg, msglen, sig + off,
	                  siglen - off);
}

/* Verify through exact-length heap copies: a read past either end is a
 * sanitizer error, not a silent pass. */
static int verify_exact(int hss, const uint8_t *pub, size_t publen,
                        const uint8_t *msg, size_t msglen,
                        const uint8_t *sig, size_t siglen) {
	uint8_t *p = malloc(publen ? publen : 1),
	        *s = malloc(siglen ? siglen : 1);
	int rc;

	assert(p && s);
	memcpy(p, pub, publen);
	memcpy(s, sig, siglen);
	rc = hss ? hss_verify(p, publen, msg, msglen, s, siglen)
	         : lms_verify(p, publen, msg, msglen, s, siglen);
	free(p);
	free(s);
	return rc;
}

/* Flip one bit in every byte of pub, msg and sig in turn: each must make
 * verification fail. */
static void flip_every_byte(int hss, uint8_t *pub, size_t publen,
                            uint8_t *msg, size_t msglen,
                            uint8_t *sig, size_t siglen) {
	uint8_t *bufs[3];
	size_t lens[3], b, i;

	bufs[0] = pub;
	lens[0] = publen;
	bufs[1] = msg;
	lens[1] = msglen;
	bufs[2] = sig;
	lens[2] = siglen;
	assert(verify_exact(hss, pub, publen, msg, msglen, sig, siglen) ==
	       LMS_OK);
	for (b = 0; b < 3; b++) {
		for (i = 0; i < lens[b]; i++) {
			bufs[b][i] ^= 0x01;
			assert(verify_exact(hss, pub, publen, msg, msglen, sig,
			                    siglen) != LMS_OK);
			bufs[b][i] ^= 0x01;
		}
	}
}

static void rfc_tc1(void) {
	struct tc t = load(TC1);

	assert(hss_verify(t.pub, t.publen, t.msg, t.msglen, t.sig,
	                  t.siglen) == LMS_OK);
	assert(hss_verify(t.pub, t.publen, t.msg, t.msglen - 1, t.sig,
	                  t.siglen) == LMS_BAD_SIG);
	unload(&t);
}

static void rfc_tc2(void) {
	struct tc t = load(TC2);

	assert(hss_verify(t.pub, t.publen, t.msg, t.msglen, t.sig,
	                  t.siglen) == LMS_OK);
	assert(hss_verify(t.pub, t.publen, "", 0, t.sig, t.siglen) ==
	       LMS_BAD_SIG);
	unload(&t);
}

static void rfc_tc1_flips(void) {
	struct tc t = load(TC1);

	flip_every_byte(1, t.pub, t.publen, t.msg, t.msglen, t.sig, t.siglen);
	unload(&t);
}

static void rfc_tc2_flips(void) {
	struct tc t = load(TC2);

	flip_every_byte(1, t.pub, t.publen, t.msg, t.msglen, t.sig, t.siglen);
	unload(&t);
}

/*
 * RFC 8554 test case 2 gives the second-level key's SEED and I (appendix
 * F).  Our key generation from them must give the public key the top level
 * signed, and our signature at the RFC's leaf q must be the RFC's
 * signature, byte for byte: that checks keygen and signing, not just
 * verification.  The HSS signature is u32 | top sig | level-2 pub | sig.
 */
static void rfc_tc2_keygen_sign(void) {
	static struct lms_key k;
	struct tc t = load(TC2);
	size_t seedlen, qlen, top = lms_sig_len(LMS_SHA256_M32_H10,
	                                         LMOTS_SHA256_N32_W4);
	uint8_t *seed = vector_field(TC2_KEY, "seed", &seedlen);
	uint8_t *q = vector_field(TC2_KEY, "q", &qlen);  /* u32str(q) */
	const uint8_t *pub2 = t.sig + 4 + top, *sig2 = pub2 + LMS_PUB_LEN;
	uint8_t pub[LMS_PUB_LEN], sig[LMS_SIG_MAX];
	size_t len;

	assert(seedlen == LMS_SEED_LEN && qlen == 4);
	assert(lms_keygen(&k, get32be(pub2), get32be(pub2 + 4), pub2 + 8,
	                  seed) == 0);
	lms_public_key(&k, pub);
	assert(memcmp(pub, pub2, LMS_PUB_LEN) == 0);
	len = lms_sign(&k, get32be(q), t.msg, t.msglen, sig, sizeof sig);
	assert(len == t.siglen - (size_t)(sig2 - t.sig));
	assert(memcmp(sig, sig2, len) == 0);
	free(seed);
	free(q);
	unload(&t);
}

/* Every truncation of a valid signature, and every overlong one up to a
 * path hash more, is refused as malformed. */
static void bad_lengths(void) {
	struct tc t = load(TC2);
	uint8_t *longer = calloc(1, t.siglen + 64);
	size_t len;

	assert(longer);
	memcpy(longer, t.sig, t.siglen);
	for (len = 0; len < t.siglen; len++)
		assert(verify_exact(1, t.pub, t.publen, t.msg, t.msglen, t.sig,
		                    len) == LMS_BAD_FORMAT);
	for (len = t.siglen + 1; len <= t.siglen + 64; len++)
		assert(verify_exact(1, t.pub, t.publen, t.msg, t.msglen,
		                    longer, len) == LMS_BAD_FORMAT);
	for (len = 0; len < t.publen + 8; len++)
		if (len != t.publen)
			assert(verify_exact(1, longer, len, t.msg, t.msglen,
			                    t.sig, t.siglen) == LMS_BAD_FORMAT);
	free(longer);
	unload(&t);
}

/* Set the 32-bit field at off of a copy of buf to v and verify: the
 * answer for an HSS key/signature with that one field changed. */
static int with_field(struct tc *t, int in_sig, size_t off, uint32_t v) {
	uint8_t *buf = in_sig ? t->sig : t->pub, old[4];
	int rc;

	memcpy(old, buf + off, 4);
	put32be(buf + off, v);
	rc = verify_exact(1, t->pub, t->publen, t->msg, t->msglen, t->sig,
	                  t->siglen);
	memcpy(buf + off, old, 4);
	return rc;
}

/* Unknown or mismatched type codes, wrong level counts and out-of-range
 * leaf numbers are malformed, whatever the rest says. */
static void bad_fields(void) {
	static const uint32_t junk[] = { 0, 2, 10, 0x80000000u, 0xffffffffu };
	struct tc t = load(TC2);
	size_t top = lms_sig_len(LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4), i;
	size_t ots_end = 4 + 4 + 32 + 67 * 32;  /* top sig: its LMS type */

	for (i = 0; i < NTESTS(junk); i++) {
		assert(with_field(&t, 0, 4, junk[i] + 10) == LMS_BAD_FORMAT);
		assert(with_field(&t, 0, 8, junk[i] + 5) == LMS_BAD_FORMAT);
		assert(with_field(&t, 1, 4 + 4, junk[i] + 5) == LMS_BAD_FORMAT);
		assert(with_field(&t, 1, 4 + ots_end, junk[i] + 10) ==
		       LMS_BAD_FORMAT);
	}
	/* Known codes, but not the ones the key names. */
	assert(with_field(&t, 0, 4, LMS_SHA256_M32_H5) == LMS_BAD_FORMAT);
	assert(with_field(&t, 1, 4 + 4, LMOTS_SHA256_N32_W8) == LMS_BAD_FORMAT);
	assert(with_field(&t, 1, 4 + ots_end, LMS_SHA256_M32_H5) ==
	       LMS_BAD_FORMAT);
	/* Levels: the key says 2, the signature must say 1. */
	assert(with_field(&t, 0, 0, 0) == LMS_BAD_FORMAT);
	assert(with_field(&t, 0, 0, 3) == LMS_BAD_FORMAT);
	assert(with_field(&t, 0, 0, 0xffffffffu) == LMS_BAD_FORMAT);
	assert(with_field(&t, 1, 0, 0) == LMS_BAD_FORMAT);
	assert(with_field(&t, 1, 0, 2) == LMS_BAD_FORMAT);
	/* Leaf numbers: 2^10 leaves on top, 2^5 below. */
	assert(with_field(&t, 1, 4, 1024) == LMS_BAD_FORMAT);
	assert(with_field(&t, 1, 4, 0xffffffffu) == LMS_BAD_FORMAT);
	assert(with_field(&t, 1, 4, 1023) == LMS_BAD_SIG);
	assert(with_field(&t, 1, 4 + top + LMS_PUB_LEN, 32) == LMS_BAD_FORMAT);
	assert(with_field(&t, 1, 4 + top + LMS_PUB_LEN, 31) == LMS_BAD_SIG);
	unload(&t);
}

/* A key made from a seed: I is derived from the seed here only to vary
 * it between tests. */
static void make_key(struct lms_key *k, uint32_t type, uint32_t ots,
                     uint8_t tag) {
	uint8_t seed[LMS_SEED_LEN], I[SHA256_LEN];

	memset(seed, tag, sizeof seed);
	sha256(seed, sizeof seed, I);
	assert(lms_keygen(k, type, ots, I, seed) == 0);
}

/* Sign at several leaves of a fresh H10/W4 key (the default); each
 * signature verifies for its message only, and changing any byte of key,
 * message or signature breaks it. */
static void round_trip_h10_w4(void) {
	static struct lms_key k;
	static const uint32_t leaves[] = { 0, 1, 2, 511, 512, 1022, 1023 };
	uint8_t pub[LMS_PUB_LEN], sig[LMS_SIG_MAX], msg[40];
	size_t i, len;

	make_key(&k, LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4, 7);
	lms_public_key(&k, pub);
	for (i = 0; i < NTESTS(leaves); i++) {
		memset(msg, (int)i, sizeof msg);
		len = lms_sign(&k, leaves[i], msg, sizeof msg, sig, sizeof sig);
		assert(len == LMS_SIG_LEN_H10_W4);
		assert(get32be(sig) == leaves[i]);
		assert(verify_exact(0, pub, sizeof pub, msg, sizeof msg, sig,
		                    len) == LMS_OK);
		msg[0] ^= 0x80;
		assert(lms_verify(pub, sizeof pub, msg, sizeof msg, sig, len) ==
		       LMS_BAD_SIG);
		msg[0] ^= 0x80;
	}
	flip_every_byte(0, pub, sizeof pub, msg, sizeof msg, sig, len);
}

/* The other parameter sets we make keys for round-trip too, and a key of
 * another seed does not accept them. */
static void round_trip_others(void) {
	static const uint32_t ots[] = { LMOTS_SHA256_N32_W1,
	    LMOTS_SHA256_N32_W2, LMOTS_SHA256_N32_W4, LMOTS_SHA256_N32_W8 };
	static struct lms_key k, other;
	uint8_t pub[LMS_PUB_LEN], pub2[LMS_PUB_LEN], sig[LMS_SIG_MAX];
	size_t i, len;

	for (i = 0; i < NTESTS(ots); i++) {
		make_key(&k, LMS_SHA256_M32_H5, ots[i], 1);
		make_key(&other, LMS_SHA256_M32_H5, ots[i], 2);
		lms_public_key(&k, pub);
		lms_public_key(&other, pub2);
		len = lms_sign(&k, 31, "hello", 5, sig, sizeof sig);
		assert(len == lms_sig_len(LMS_SHA256_M32_H5, ots[i]));
		assert(verify_exact(0, pub, sizeof pub,
		                    (const uint8_t *)"hello", 5, sig,
		                    len) == LMS_OK);
		assert(lms_verify(pub2, sizeof pub2, "hello", 5, sig, len) ==
		       LMS_BAD_SIG);
	}
}

/* Signing refuses a leaf past the tree and a buffer too small; key
 * generation refuses unknown types and trees taller than we keep. */
static void sign_refuses(void) {
	static struct lms_key k;
	uint8_t seed[LMS_SEED_LEN] = { 0 }, I[LMS_I_LEN] = { 0 };
	uint8_t sig[LMS_SIG_MAX];

	assert(lms_keygen(&k, LMS_SHA256_M32_H15, LMOTS_SHA256_N32_W4, I,
	                  seed) == -1);
	assert(lms_keygen(&k, 4, LMOTS_SHA256_N32_W4, I, seed) == -1);
	assert(lms_keygen(&k, LMS_SHA256_M32_H5, 5, I, seed) == -1);
	assert(lms_keygen(&k, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W8, I,
	                  seed) == 0);
	assert(lms_sign(&k, 32, "x", 1, sig, sizeof sig) == 0);
	assert(lms_sign(&k, 0, "x", 1, sig,
	                lms_sig_len(k.type, k.ots_type) - 1) == 0);
	assert(lms_sign(&k, 0, "x", 1, sig, sizeof sig) ==
	       lms_sig_len(k.type, k.ots_type));
	assert(lms_sig_len(LMS_SHA256_M32_H25, LMOTS_SHA256_N32_W1) ==
	       LMS_SIG_MAX);
	assert(lms_sig_len(LMS_SHA256_M32_H10, 0) == 0);
}

int main(int argc, char **argv) {
	static const struct test tests[] = {
		{ "rfc_tc1", rfc_tc1 },
		{ "rfc_tc2", rfc_tc2 },
		{ "rfc_tc1_flips", rfc_tc1_flips },
		{ "rfc_tc2_flips", rfc_tc2_flips },
		{ "rfc_tc2_keygen_sign", rfc_tc2_keygen_sign },
		{ "bad_lengths", bad_lengths },
		{ "bad_fields", bad_fields },
		{ "round_trip_h10_w4", round_trip_h10_w4 },
		{ "round_trip_others", round_trip_others },
		{ "sign_refuses", sign_refuses },
	};

	return test_main(tests, NTESTS(tests), argc, argv);
}
