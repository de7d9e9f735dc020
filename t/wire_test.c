/*
 * t/wire_test.c - the frame parser and addresses: every prefix of valid
 * frames needs more, whole frames parse exactly, and every kind of bad
 * frame is refused, an oversized one from its head alone.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../node.h"

/* frame_parse with the limit after the handshake, into the locals. */
#define PARSE(b, n) frame_parse((b), (n), magic, MAX_PAYLOAD, cmd, &payload, \
                            &plen, &why)

static const uint8_t magic[4] = { 'p', 'c', 'r', 't' };

/* Frame a payload of len bytes in a new buffer. */
static uint8_t *framed(const char *cmd, size_t len, size_t *flen) {
	uint8_t *p = malloc(len + 1), *f = malloc(FRAME_HEAD + len);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)test_rand();
	*flen = frame_write(f, magic, cmd, p, len);
	free(p);
	return f;
}

/* Every prefix of a frame needs more; the whole frame parses to its
 * command and payload; two frames in a row parse one after the other. */
static void test_prefixes(void) {
	static const char *cmds[] = { "verack", "ping", "version", "addr" };
	static const size_t lens[] = { 0, 8, 46, 2602 };
	const uint8_t *payload;
	const char *why;
	char cmd[FRAME_CMD + 1];
	size_t flen, plen, i, k;
	uint8_t *f, *two;

	for (k = 0; k < 4; k++) {
		f = framed(cmds[k], lens[k], &flen);
		for (i = 0; i < flen; i++) {
			/* ASan sees overreads */
			uint8_t *exact = malloc(i + 1);

			memcpy(exact, f, i);
			assert(PARSE(exact, i) == 0);
			free(exact);
		}
		assert(PARSE(f, flen) == (long)flen);
		assert(strcmp(cmd, cmds[k]) == 0 && plen == lens[k]);
		assert(payload == f + FRAME_HEAD);
		two = malloc(2 * flen);
		memcpy(two, f, flen);
		memcpy(two + flen, f, flen);
		assert(PARSE(two, 2 * flen) == (long)flen);
		assert(PARSE(two + flen, flen) == (long)flen);
		free(two);
		free(f);
	}
}

/* Refused: wrong magic (from its first byte), a command not lowercase
 * ASCII or not NUL-padded, a length over the limit given (with only the
 * head there), a bad checksum.  Exactly the limit is fine. */
static void test_errors(void) {
	const uint8_t *payload;
	const char *why;
	char cmd[FRAME_CMD + 1];
	size_t flen, plen, i;
	uint8_t *f = framed("ping", 8, &flen), bad[FRAME_HEAD + 8];

	for (i = 0; i < 4; i++) {
		memcpy(bad, f, flen);
		bad[i] ^= 1;
		assert(PARSE(bad, i + 1) == -1 &&
		       strcmp(why, "wrong magic") == 0);
	}
	memcpy(bad, f, flen);
	bad[4] = 'P';
	assert(PARSE(bad, flen) == -1);
	memcpy(bad, f, flen);
	bad[10] = 'x';                                 /* after the NUL */
	assert(PARSE(bad, flen) == -1);
	memset(bad + 4, 0, FRAME_CMD);                 /* empty command */
	assert(PARSE(bad, flen) == -1);
	memcpy(bad, f, flen);
	put32le(bad + 16, MAX_PAYLOAD + 1);
	assert(PARSE(bad, FRAME_HEAD) == -1);
	assert(strcmp(why, "oversized frame") == 0);
	put32le(bad + 16, 0xffffffffu);
	assert(PARSE(bad, FRAME_HEAD) == -1);
	put32le(bad + 16, MAX_PAYLOAD);
	assert(PARSE(bad, FRAME_HEAD) == 0);
	assert(frame_parse(bad, FRAME_HEAD, magic, GREET_MAX, cmd, &payload,
	                   &plen, &why) == -1);
	put32le(bad + 16, GREET_MAX);
	assert(frame_parse(bad, FRAME_HEAD, magic, GREET_MAX, cmd, &payload,
	                   &plen, &why) == 0);
	for (i = 0; i < 8; i++) {
		memcpy(bad, f, flen);
		bad[FRAME_HEAD + i] ^= 0x40;
		assert(PARSE(bad, flen) == -1 &&
		       strcmp(why, "bad checksum") == 0);
	}
	free(f);
}

/* Groups: an IPv4 address's /16, loopback included; an IPv6 /32. */
static void test_groups(void) {
	struct naddr a, b;
	uint8_t g[5], h[5];

	assert(net_resolve("127.1.2.3:1", &a) == 0);
	assert(net_resolve("127.1.200.9:2", &b) == 0);
	net_group(&a, g);
	net_group(&b, h);
	assert(memcmp(g, h, 5) == 0);
	assert(net_resolve("127.2.2.3:1", &b) == 0);
	net_group(&b, h);
	assert(memcmp(g, h, 5) != 0);
	assert(net_resolve("[2001:db8:1::1]:8", &a) == 0);
	assert(net_resolve("[2001:db8:ffff::2]:8", &b) == 0);
	net_group(&a, g);
	net_group(&b, h);
	assert(memcmp(g, h, 5) == 0 && g[0] == 6);
	assert(net_resolve("[2001:db9::1]:8", &b) == 0);
	net_group(&b, h);
	assert(memcmp(g, h, 5) != 0);
	assert(a.port == 8);
	assert(net_resolve("127.0.0.1", &a) == -1);
	assert(net_resolve(":80", &a) == -1);
	assert(net_resolve("127.0.0.1:", &a) == -1);
}

/* The hash table spreads the addresses of one /16 (which differ only in
 * their last two bytes) over its buckets: an attacker who holds a /16
 * cannot make every lookup walk one long chain (the bans, the book). */
static void test_map_spread(void) {
	static uint8_t key[16] = { [10] = 0xff, [11] = 0xff, 10, 7 };
	struct map m;
	struct mwalk w;
	size_t i, longest = 0, k;
	map_init(&m, sizeof key);
	for (i = 0; i < 65536; i++) {
		key[14] = i >> 8;
		key[15] = i & 0xff;
		map_put(&m, key, &m);
	}
	for (i = 0; i < m.nb; i++) {
		struct ment *e = m.b[i];
		for (k = 0; e; e = e->next)
			k++;
		longest = k > longest ? k : longest;
	}
	assert(m.n == 65536 && longest <= 16);
	k = 0;
	for (struct ment *e = map_walk(&w, &m); e; e = map_step(&w))
		k++;
	assert(k == 65536);
	map_free(&m, 0);
}

int main(int argc, char **argv) {
	static const struct test tests[] = {
		{ "map_spread", test_map_spread },
		{ "prefixes", test_prefixes },
		{ "errors", test_errors },
		{ "groups", test_groups },
	};

	return test_main(tests, NTESTS(tests), argc, argv);
}
