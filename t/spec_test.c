/*
 * t/spec_test.c - the README is a specification, and its examples must be
 * true: every `name value` line it prints (genesis blocks, subsidies, the
 * sample frame, the address and the LMS worked example) is read from the
 * README itself and checked against the code.  The LMS example is also
 * checked by a verifier written here from the README's steps alone, so
 * the text and the code cannot drift apart.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../node.h"

static char *readme;

/* Read the README (the tests run from the top of the tree). */
static void load(void) {
	FILE *f = fopen("README", "rb");
	long n;

	assert(f);
	assert(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0);
	rewind(f);
	readme = malloc((size_t)n + 1);
	assert(readme && fread(readme, 1, (size_t)n, f) == (size_t)n);
	readme[n] = 0;
	fclose(f);
}

/* Is (s, n) all lowercase hex digits? */
static int all_hex(const char *s, size_t n) {
	return n > 0 && strspn(s, "0123456789abcdef") >= n;
}

/* The value of the README line `    KEY VALUE` into out: the words after
 * the key, then the hex lines under it, indented deeper; NULL if the
 * README has no such line. */
static char *value(const char *key, char *out, size_t cap) {
	const char *line = readme, *p, *end;
	size_t indent, n, k = strlen(key), len = 0;

	for (; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		end = end ? end : line + strlen(line);
		indent = strspn(line, " ");
		p = line + indent;
		if (indent >= 4 && strncmp(p, key, k) == 0 && p[k] == ' ')
			break;
	}
	if (!*line) return NULL;
	p += k + strspn(p + k, " ");
	do {
		n = (size_t)(end - p);
		assert(len + n < cap);
		memcpy(out + len, p, n);
		out[len += n] = 0;
		if (!*end) break;
		line = end + 1;
		end = strchr(line, '\n');
		end = end ? end : line + strlen(line);
		p = line + strspn(line, " ");
	} while ((size_t)(p - line) > indent && all_hex(p, (size_t)(end - p)));
	return out;
}

/* The README's hex value of key, decoded into out; its length. */
static size_t hexval(const char *key, uint8_t *out, size_t cap) {
	static char text[8192];
	size_t n;

	if (!value(key, text, sizeof text)) {
		fprintf(stderr, "spec_test: the README has no %s\n", key);
		assert(0);
	}
	n = strlen(text) / 2;
	assert(n <= cap && hex_decode(text, out, n) == 0);
	return n;
}

/* The README's number for key, in base 10 or (bits) 16. */
static unsigned long numval(const char *key, int base) {
	char text[64], *end;
	unsigned long v;

	assert(value(key, text, sizeof text));
	v = strtoul(text, &end, base);
	assert(*end == 0 && end != text);
	return v;
}

/* Every network's genesis block: hash, each header field, the coinbase
 * and its place in the block. */
static void test_genesis(void) {
	static const char *const nets[] = { "main", "local", "regtest",
	                                    "bitcoin" };
	uint8_t b[512], hash[SHA256_LEN], v[512], zero[SHA256_LEN] = { 0 };
	char key[64];
	size_t i, j, n, cb;

	for (i = 0; i < 4; i++) {
		const struct params *p = params_find(nets[i]);

		n = strlen(p->genesis) / 2;
		assert(n <= sizeof b && hex_decode(p->genesis, b, n) == 0);
		sha256d(b, HEADER_LEN, hash);
		snprintf(key, sizeof key, "%s.hash", nets[i]);
		assert(hexval(key, v, sizeof v) == SHA256_LEN);
		for (j = 0; j < SHA256_LEN; j++)
			assert(v[j] == hash[31 - j]);
		snprintf(key, sizeof key, "%s.version", nets[i]);
		assert(numval(key, 10) == get32le(b));
		assert(memcmp(b + HDR_PREV, zero, SHA256_LEN) == 0);
		snprintf(key, sizeof key, "%s.merkle", nets[i]);
		assert(hexval(key, v, sizeof v) == SHA256_LEN);
		assert(memcmp(v, b + HDR_MERKLE, SHA256_LEN) == 0);
		snprintf(key, sizeof key, "%s.time", nets[i]);
		assert(numval(key, 10) == get32le(b + HDR_TIME));
		snprintf(key, sizeof key, "%s.bits", nets[i]);
		assert(numval(key, 16) == get32le(b + HDR_BITS));
		assert(get32le(b + HDR_BITS) == p->limit_bits);
		snprintf(key, sizeof key, "%s.nonce", nets[i]);
		assert(numval(key, 10) == get32le(b + HDR_NONCE));
		if (i == 3) {
			/* bitcoin: the header alone */
			assert(n == HEADER_LEN);
			continue;
		}
		cb = hexval("genesis.coinbase", v, sizeof v);
		assert(n == 226 && cb == n - 84 && get32le(b + 80) == 1);
		assert(memcmp(b + 84, v, cb) == 0);
		sha256d(v, cb, hash);
		assert(memcmp(hash, b + HDR_MERKLE, SHA256_LEN) == 0);
	}
}

/* Every `subsidy.NET.HEIGHT AMOUNT` line. */
static void test_subsidy(void) {
	const char *p = readme;
	char net[16];
	unsigned long height;
	unsigned long long amount;
	int n = 0;

	while ((p = strstr(p, " subsidy."))) {
		p += 9;
		if (sscanf(p, "%15[a-z].%lu %llu", net, &height, &amount) != 3)
			continue;
		assert(params_find(net));
		assert(block_subsidy(params_find(net), (uint32_t)height) ==
		       amount);
		n++;
	}
	assert(n >= 5);
}

/* The sample frame: written, and read back. */
static void test_frame(void) {
	uint8_t want[64], got[64], nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const uint8_t *payload;
	const char *why;
	char cmd[FRAME_CMD + 1];
	size_t n = hexval("frame.ping", want, sizeof want), plen;

	assert(n == FRAME_HEAD + 8);
	assert(frame_write(got, params_find("main")->magic, "ping", nonce, 8) ==
	       n);
	assert(memcmp(got, want, n) == 0);
	assert(frame_parse(want, n, params_find("main")->magic, 8, cmd,
	                   &payload, &plen, &why) == (long)n);
	assert(strcmp(cmd, "ping") == 0 && plen == 8);
}

/* The worked example's address: its text, parsed back. */
static void test_address(void) {
	uint8_t pub[LMS_PUB_LEN], addr[ADDR_LEN], back[ADDR_LEN];
	char want[128], got[ADDR_TEXT_LEN + 1];

	assert(hexval("lms.pub", pub, sizeof pub) == LMS_PUB_LEN);
	sha256(pub, LMS_PUB_LEN, addr);
	addr_text(addr, got);
	assert(value("lms.address", want, sizeof want));
	assert(strcmp(want, got) == 0);
	assert(addr_parse(want, back) == 0 &&
	       memcmp(back, addr, ADDR_LEN) == 0);
}

/* RFC 8554's hash shape: H(I || u32(a) || u16(b) || u8(j) || d1 || d2),
 * without the u8 when j < 0 (and d2 may be empty). */
static void rfc_hash(const uint8_t *I, uint32_t a, uint16_t b, int j,
                     const uint8_t *d1, size_t n1, const uint8_t *d2,
                     size_t n2, uint8_t out[SHA256_LEN]) {
	uint8_t head[23];
	size_t k = 22;
	sha256_ctx s;

	memcpy(head, I, 16);
	head[16] = (uint8_t)(a >> 24);
	head[17] = (uint8_t)(a >> 16);
	head[18] = (uint8_t)(a >> 8);
	head[19] = (uint8_t)a;
	head[20] = (uint8_t)(b >> 8);
	head[21] = (uint8_t)b;
	if (j >= 0)
		head[k++] = (uint8_t)j;
	sha256_init(&s);
	sha256_update(&s, head, k);
	sha256_update(&s, d1, n1);
	if (n2)
		sha256_update(&s, d2, n2);
	sha256_final(&s, out);
}

/* The LMS worked example: the code makes the README's key and
 * signature and accepts it; the README's steps 2-7, done here, find its
 * Q, checksum, digits, K and root. */
static void test_lms(void) {
	static struct lms_key key;
	static uint8_t sig[LMS_SIG_MAX], want[LMS_SIG_MAX];
	uint8_t I[LMS_I_LEN], seed[LMS_SEED_LEN], pub[LMS_PUB_LEN];
	uint8_t Qc[34], v[64], z[67][SHA256_LEN], node[SHA256_LEN];
	uint8_t K[SHA256_LEN], tmp[SHA256_LEN];
	char digits[80];
	uint32_t q, r, i, j, sum = 0, a;
	size_t n;

	memcpy(I, "peerchain README", LMS_I_LEN);
	for (i = 0; i < LMS_SEED_LEN; i++)
		seed[i] = (uint8_t)i;
	assert(lms_keygen(&key, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4, I,
	                  seed) == 0);
	lms_public_key(&key, pub);
	assert(hexval("lms.pub", v, sizeof v) == LMS_PUB_LEN);
	assert(memcmp(pub, v, LMS_PUB_LEN) == 0);
	n = hexval("lms.sig", want, sizeof want);
	assert(n == 2348);
	assert(lms_sign(&key, 5, "abc", 3, sig, sizeof sig) == n);
	assert(memcmp(sig, want, n) == 0);
	assert(lms_verify(pub, LMS_PUB_LEN, "abc", 3, sig, n) == LMS_OK);

	q = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | sig[2] << 8 |
	    sig[3];
	assert(q == 5);
	rfc_hash(I, q, 0x8181, -1, sig + 8, 32, (const uint8_t *)"abc", 3, Qc);
	assert(hexval("lms.Q", v, sizeof v) == 32 && memcmp(v, Qc, 32) == 0);
	for (i = 0; i < 64; i++)
		sum += 15 - (Qc[i / 2] >> (4 - 4 * (i % 2)) & 15);
	assert(sum == numval("lms.cksm", 10));
	Qc[32] = (uint8_t)((sum << 4) >> 8);
	Qc[33] = (uint8_t)(sum << 4);
	assert(value("lms.digits", digits, sizeof digits) &&
	       strlen(digits) == 67);
	for (i = 0; i < 67; i++) {
		a = Qc[i / 2] >> (4 - 4 * (i % 2)) & 15;
		assert(digits[i] == "0123456789abcdef"[a]);
		memcpy(z[i], sig + 40 + 32 * i, SHA256_LEN);
		for (j = a; j <= 14; j++) {
			rfc_hash(I, q, (uint16_t)i, (int)j, z[i], SHA256_LEN,
			         NULL, 0, tmp);
			memcpy(z[i], tmp, SHA256_LEN);
		}
	}
	rfc_hash(I, q, 0x8080, -1, z[0], sizeof z, NULL, 0, K);
	assert(hexval("lms.K", v, sizeof v) == 32 && memcmp(v, K, 32) == 0);
	r = 32 + q;
	rfc_hash(I, r, 0x8282, -1, K, SHA256_LEN, NULL, 0, node);
	for (i = 0; i < 5; i++, r /= 2) {
		const uint8_t *path = sig + 2188 + 32 * i;

		if (r % 2)
			rfc_hash(I, r / 2, 0x8383, -1, path, 32, node, 32, tmp);
		else
			rfc_hash(I, r / 2, 0x8383, -1, node, 32, path, 32, tmp);
		memcpy(node, tmp, SHA256_LEN);
	}
	assert(memcmp(node, pub + 24, SHA256_LEN) == 0);
}

int main(int argc, char **argv) {
	static const struct test tests[] = {
		{ "genesis", test_genesis },
		{ "subsidy", test_subsidy },
		{ "frame", test_frame },
		{ "address", test_address },
		{ "lms", test_lms },
	};

	load();
	return test_main(tests, NTESTS(tests), argc, argv);
}
