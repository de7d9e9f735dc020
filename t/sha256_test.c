/*
 * t/sha256_test.c - SHA-256 against every NIST CAVP vector, fed whole and
 * in random pieces, the miner's midstate shortcut against the plain double
 * hash, and the byte-order helpers everything is written with.
 */
#include <stdlib.h>
#include <string.h>

#include "../node.h"
#include "test.h"

#define SHORT_RSP "t/vectors/SHA256ShortMsg.rsp"
#define LONG_RSP "t/vectors/SHA256LongMsg.rsp"
#define SHORT_COUNT 65   /* messages in each file, as NIST ships them */
#define LONG_COUNT 64

/* One vector of a .rsp file. */
struct vec {
	uint8_t *msg;             /* Len / 8 bytes */
	size_t len;
	uint8_t md[SHA256_LEN];   /* expected digest */
};

/* The start of the line after p's, or NULL after the last. */
static char *next_line(char *p) {
	char *nl = strchr(p, '\n');

	return nl ? nl + 1 : NULL;
}

/* Parse a CAVP .rsp file ("Len = bits", "Msg = hex", "MD = hex", CRLF or
 * LF) into a new array; returns how many vectors it holds. */
static size_t parse_rsp(const char *path, struct vec **out) {
	size_t flen, n = 0, bits = 0;
	char *text = (char *)read_file(path, &flen), *p;
	struct vec *v = malloc(sizeof *v * (flen / 16 + 1));

	assert(v);
	for (p = text; p; p = next_line(p)) {
		if (strncmp(p, "Len = ", 6) == 0) {
			bits = strtoul(p + 6, NULL, 10);
			assert(bits % 8 == 0);
		} else if (strncmp(p, "Msg = ", 6) == 0) {
			v[n].len = bits / 8;
			v[n].msg = malloc(v[n].len + 1);
			assert(v[n].msg);
			/* Len = 0 comes with "Msg = 00": decode, then
			 * trust Len. */
			assert(unhex(p + 6, v[n].msg, v[n].len + 1) >=
			       v[n].len);
		} else if (strncmp(p, "MD = ", 5) == 0) {
			assert(unhex(p + 5, v[n].md, SHA256_LEN) == SHA256_LEN);
			n++;
		}
	}
	free(text);
	*out = v;
	return n;
}

/* Free what parse_rsp() made. */
static void free_vecs(struct vec *v, size_t n) {
	while (n--)
		free(v[n].msg);
	free(v);
}

/* Check every vector of one file, hashed in one call. */
static void check_file(const char *path, size_t expect) {
	struct vec *v;
	size_t n = parse_rsp(path, &v), i;
	uint8_t md[SHA256_LEN];

	assert(n == expect);
	for (i = 0; i < n; i++) {
		sha256(v[i].msg, v[i].len, md);
		assert(memcmp(md, v[i].md, SHA256_LEN) == 0);
	}
	free_vecs(v, n);
}

static void nist_short(void) { check_file(SHORT_RSP, SHORT_COUNT); }
static void nist_long(void) { check_file(LONG_RSP, LONG_COUNT); }

/* Feed every vector of path in random-sized pieces (empty ones too), many
 * times over with different cuts: the digest must not change. */
static void pieces_of(const char *path) {
	struct vec *v;
	size_t n = parse_rsp(path, &v), i, off, take;
	uint8_t md[SHA256_LEN];
	sha256_ctx c;
	int round;

	for (i = 0; i < n; i++) {
		for (round = 0; round < 20; round++) {
			sha256_init(&c);
			for (off = 0; off < v[i].len; off += take) {
				take = test_rand() % (round % 2 ? 70 : 300);
				if (take > v[i].len - off)
					take = v[i].len - off;
				sha256_update(&c, v[i].msg + off, take);
			}
			sha256_final(&c, md);
			assert(memcmp(md, v[i].md, SHA256_LEN) == 0);
		}
	}
	free_vecs(v, n);
}

static void pieces(void) {
	pieces_of(SHORT_RSP);
	pieces_of(LONG_RSP);
}

/* sha256d is SHA-256 applied twice: Bitcoin's genesis header gives the
 * well-known block hash (shown byte-reversed by block explorers). */
static void double_hash(void) {
	static const char genesis[] =
	    "0100000000000000000000000000000000000000000000000000000000000000"
	    "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
	    "4b1e5e4a29ab5f49ffff001d1dac2b7c";
	static const char hash[] =
	    "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000";
	uint8_t hdr[80], want[SHA256_LEN], got[SHA256_LEN], once[SHA256_LEN];

	assert(unhex(genesis, hdr, sizeof hdr) == 80);
	assert(unhex(hash, want, sizeof want) == SHA256_LEN);
	sha256d(hdr, sizeof hdr, got);
	assert(memcmp(got, want, SHA256_LEN) == 0);
	sha256(hdr, sizeof hdr, once);
	sha256(once, sizeof once, want);
	assert(memcmp(got, want, SHA256_LEN) == 0);
}

/* The miner's path: the first 64 header bytes hashed once, then every
 * nonce finished from that midstate in exactly two compressions, with the
 * same result as hashing the whole header twice. */
static void midstate(void) {
	uint8_t hdr[80], full[SHA256_LEN], fast[SHA256_LEN];
	sha256_ctx mid;
	unsigned long before;
	size_t i;
	uint32_t nonce;

	for (i = 0; i < sizeof hdr; i++)
		hdr[i] = (uint8_t)test_rand();
	sha256_init(&mid);
	sha256_update(&mid, hdr, 64);
	for (nonce = 0; nonce < 1000; nonce++) {
		put32le(hdr + HDR_NONCE, nonce * 2654435761u);
		sha256d(hdr, sizeof hdr, full);
		before = sha256_compressions();
		sha256d_from(&mid, hdr + 64, 16, fast);
		assert(sha256_compressions() - before == 2);
		assert(memcmp(full, fast, SHA256_LEN) == 0);
	}
}

/* node.h's byte-order helpers give fixed bytes on any machine (the
 * big-endian CI run checks this on s390x) and read back what they wrote. */
static void byte_order(void) {
	static const uint8_t le[8] = { 0x08, 0x07, 0x06, 0x05,
	                               0x04, 0x03, 0x02, 0x01 };
	uint8_t b[8];

	put64le(b, 0x0102030405060708u);
	assert(memcmp(b, le, 8) == 0);
	assert(get64le(le) == 0x0102030405060708u);
	assert(get32le(le) == 0x05060708u);
	put32le(b, 0xa1b2c3d4u);
	assert(b[0] == 0xd4 && b[3] == 0xa1);
	put32be(b, 0xa1b2c3d4u);
	assert(b[0] == 0xa1 && b[3] == 0xd4 && get32be(b) == 0xa1b2c3d4u);
	put16be(b, 0x8182);
	assert(b[0] == 0x81 && b[1] == 0x82);
}

int main(int argc, char **argv) {
	static const struct test tests[] = {
		{ "nist_short", nist_short },
		{ "nist_long", nist_long },
		{ "pieces", pieces },
		{ "double_hash", double_hash },
		{ "midstate", midstate },
		{ "byte_order", byte_order },
	};

	return test_main(tests, NTESTS(tests), argc, argv);
}
