/*
 * t/test.c - the helpers of t/test.h: the test-case dispatcher, reading a
 * whole file, hex decoding, named fields of the RFC 8554 vector files and
 * a small repeatable random number generator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* Run the case named argv[1], or list every name with -l.  Returns the
 * process's exit status. */
int test_main(const struct test *tests, size_t n, int argc, char **argv) {
	size_t i;

	if (argc == 2 && strcmp(argv[1], "-l") == 0) {
		for (i = 0; i < n; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	for (i = 0; argc == 2 && i < n; i++) {
		if (strcmp(argv[1], tests[i].name) == 0) {
			tests[i].run();
			return 0;
		}
	}
	fprintf(stderr, "usage: %s -l | CASE\n", argv[0]);
	return 2;
}

/* Read a whole file into a new NUL-terminated buffer; aborts the test if
 * it cannot. */
uint8_t *read_file(const char *path, size_t *len) {
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, got;

	if (!f) {
		perror(path);
		abort();
	}
	*len = 0;
	do {
		cap = cap ? cap * 2 : 65536;
		buf = realloc(buf, cap + 1);
		assert(buf);
		got = fread(buf + *len, 1, cap - *len, f);
		*len += got;
	} while (*len == cap);
	assert(!ferror(f));
	fclose(f);
	buf[*len] = 0;
	return buf;
}

/* The value of one hex digit (the caller checked it is one). */
static unsigned hexval(char c) {
	return c <= '9' ? (unsigned)(c - '0')
	                : (unsigned)((c | 0x20) - 'a' + 10);
}

/* Decode hex digits up to the first non-hex character into out (at most
 * cap bytes); returns the number of bytes.  Aborts on an odd count. */
size_t unhex(const char *hex, uint8_t *out, size_t cap) {
	size_t n = strspn(hex, "0123456789abcdefABCDEF"), i;

	assert(n % 2 == 0 && n / 2 <= cap);
	for (i = 0; i < n / 2; i++)
		out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 |
		                   hexval(hex[2 * i + 1]));
	return n / 2;
}

/* The bytes of the line "key HEX" in a vector file, in a new buffer. */
uint8_t *vector_field(const char *path, const char *key, size_t *len) {
	size_t flen, klen = strlen(key);
	char *text = (char *)read_file(path, &flen), *line = text;
	uint8_t *out = malloc(flen / 2 + 1);

	assert(out);
	while (strncmp(line, key, klen) != 0 || line[klen] != ' ') {
		line = strchr(line, '\n');
		assert(line);           /* the key must be there */
		line++;
	}
	*len = unhex(line + klen + 1, out, flen / 2 + 1);
	free(text);
	return out;
}

/* xorshift32: the same "random" sequence on every run and machine, so a
 * failure can be repeated. */
uint32_t test_rand(void) {
	static uint32_t x = 2463534242u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}
