/*
 * node.h - the one header of peerchain.
 *
 * It holds what more than one file needs: the byte-order helpers every wire
 * and disk format is written with, and the functions each file offers the
 * others, grouped by the file that defines them.  Everything not listed here
 * is static inside its file.  Read node.c first; come back here to look up a
 * name.
 */
#ifndef NODE_H
#define NODE_H

#include <stddef.h>
#include <stdint.h>

#define PEERCHAIN_VERSION "0.1.0"

/* ==== Byte order ==== */

/*
 * Integers cross the wire and the disk as bytes in a fixed order, assembled
 * with shifts, never by casting a byte pointer to a wider type: the code then
 * gives the same bytes on any machine.  Our own formats are little-endian;
 * SHA-256 and RFC 8554 are big-endian.
 */

/* Store v at p, least significant byte first. */
static inline void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* Read a little-endian 32-bit integer from p. */
static inline uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Store v at p, least significant byte first. */
static inline void put64le(uint8_t *p, uint64_t v)
{
	put32le(p, (uint32_t)v);
	put32le(p + 4, (uint32_t)(v >> 32));
}

/* Read a little-endian 64-bit integer from p. */
static inline uint64_t get64le(const uint8_t *p)
{
	return (uint64_t)get32le(p) | (uint64_t)get32le(p + 4) << 32;
}

/* Store v at p, most significant byte first. */
static inline void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v;
}

/* Store v at p, most significant byte first. */
static inline void put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Read a big-endian 32-bit integer from p. */
static inline uint32_t get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ==== sha256.c: SHA-256 (FIPS 180-4) ==== */

#define SHA256_LEN   32   /* bytes in a digest */
#define SHA256_BLOCK 64   /* bytes the compression function eats at once */

typedef struct {
	uint32_t h[8];              /* chaining state */
	uint64_t len;               /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK];  /* the unfinished block: len % 64 bytes */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_LEN]);
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256d(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256d_from(const sha256_ctx *mid, const void *tail, size_t len,
                  uint8_t out[SHA256_LEN]);
unsigned long sha256_compressions(void);

/* ==== lms.c: LMS hash-based signatures (RFC 8554) ==== */

/* Type codes from RFC 8554 (IANA registry); all use SHA-256 with n = m = 32. */
#define LMS_SHA256_M32_H5   5
#define LMS_SHA256_M32_H10  6
#define LMS_SHA256_M32_H15  7
#define LMS_SHA256_M32_H20  8
#define LMS_SHA256_M32_H25  9
#define LMOTS_SHA256_N32_W1 1
#define LMOTS_SHA256_N32_W2 2
#define LMOTS_SHA256_N32_W4 3
#define LMOTS_SHA256_N32_W8 4

#define LMS_I_LEN      16  /* key identifier I */
#define LMS_SEED_LEN   32  /* secret seed every one-time key derives from */
#define LMS_PUB_LEN    56  /* u32 type | u32 ots type | I | root T[1] */
#define LMS_SIGN_MAX_H 10  /* keys we make have at most 2^10 leaves: the
                              whole tree then fits in 64 KiB */
#define LMS_SIG_LEN_H10_W4 2508 /* 4 + (4 + 32 + 67 * 32) + 4 + 10 * 32 */
#define LMS_SIG_MAX    9324 /* the largest: H25 with W1 */
#define HSS_MAX_LEVELS 2    /* RFC 8554 allows 8; two suffice for us */

/* What verification answers. */
#define LMS_OK          0   /* the signature is valid */
#define LMS_BAD_FORMAT (-1) /* key or signature malformed: length or type */
#define LMS_BAD_SIG    (-2) /* well formed, but not a signature of this
                               message by this key */

/* A private key with its whole tree: over 64 KiB, so keep it static or on
 * the heap, not on a small board's stack. */
struct lms_key {
	uint32_t type;                 /* LMS type code: tree height */
	uint32_t ots_type;             /* LM-OTS type code: Winternitz w */
	uint8_t I[LMS_I_LEN];          /* public identifier of this key */
	uint8_t seed[LMS_SEED_LEN];    /* secret: all one-time keys derive
	                                  from it */
	uint8_t tree[2 << LMS_SIGN_MAX_H][SHA256_LEN]; /* T[r], r = 1 ..
	                                  2^(h+1)-1: root, nodes, leaves */
};

int lms_keygen(struct lms_key *k, uint32_t type, uint32_t ots_type,
               const uint8_t I[LMS_I_LEN], const uint8_t seed[LMS_SEED_LEN]);
void lms_public_key(const struct lms_key *k, uint8_t pub[LMS_PUB_LEN]);
size_t lms_sig_len(uint32_t type, uint32_t ots_type);
size_t lms_sign(const struct lms_key *k, uint32_t q, const void *msg,
                size_t msglen, uint8_t *sig, size_t cap);
int lms_verify(const uint8_t *pub, size_t publen, const void *msg,
               size_t msglen, const uint8_t *sig, size_t siglen);
int hss_verify(const uint8_t *pub, size_t publen, const void *msg,
               size_t msglen, const uint8_t *sig, size_t siglen);

#endif
