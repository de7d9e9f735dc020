/*
 * t/test.h - what peerchain's C tests share: a table of named test cases
 * run one per process, and helpers that read the vector files.
 *
 * Each test program ends with test_main(), which lists its cases (-l) or
 * runs the one named on the command line.  A failed assert() aborts that
 * one case only; t/run.sh runs every case and counts the results.
 */
#ifndef TEST_H
#define TEST_H

#undef NDEBUG          /* the tests are their asserts: never compile them out */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

struct test {
	const char *name;     /* what t/run.sh prints */
	void (*run)(void);    /* asserts; returns only if the case passed */
};

#define NTESTS(t) (sizeof (t) / sizeof (t)[0])

int test_main(const struct test *tests, size_t n, int argc, char **argv);
uint8_t *read_file(const char *path, size_t *len);
size_t unhex(const char *hex, uint8_t *out, size_t cap);
uint8_t *vector_field(const char *path, const char *key, size_t *len);
uint32_t test_rand(void);

#endif
