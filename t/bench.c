/*
 * t/bench.c - peerchain's benchmarks: figures, one per line, "name value".
 *
 * usage: t/bench [GROUP...]   (no group: all of them; `make bench ONLY=...`)
 *
 * This measures; it checks nothing (the tests do).  Each figure is the best
 * of a few runs, so a busy machine shows less noise.  Groups:
 *   crypto  SHA-256 against coreutils sha256sum on the same 64 MiB, the
 *           miner's hash rate, LMS key generation, signing, verification.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../node.h"

#define BUF_BYTES (64u << 20)  /* the buffer sha256 and sha256sum hash */
#define TRIES 3                /* best of: */
#define MIN_SECONDS 1.0        /* how long each rate is measured for */
#define MINE_BATCH 1000        /* nonces per timed call */
#define VERIFY_SIGS 16         /* signatures verified in turn: their cost
                                  varies with the message digest */

/* Seconds on a clock that never jumps. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls per second of fn(arg): the best of TRIES runs of at least
 * MIN_SECONDS / TRIES each.  *blocks, if given, gets the compressions one
 * call costs. */
static double rate(void (*fn)(void *), void *arg, double *blocks)
{
	double best = 0, t0, t;
	unsigned long n, c0;
	int k;

	for (k = 0; k < TRIES; k++) {
		n = 0;
		c0 = sha256_compressions();
		t0 = now();
		do {
			fn(arg);
			n++;
		} while ((t = now() - t0) < MIN_SECONDS / TRIES);
		if ((double)n / t > best)
			best = (double)n / t;
		if (blocks)
			*blocks = (double)(sha256_compressions() - c0) / (double)n;
	}
	return best;
}

/* Print one figure. */
static void figure(const char *name, double value)
{
	printf("%s %.*f\n", name, value < 100 ? 2 : 0, value);
	fflush(stdout);
}

/* Hex of a digest, for comparing with sha256sum's output. */
static void tohex(const uint8_t *d, char out[2 * SHA256_LEN + 1])
{
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* Run coreutils sha256sum on path; returns the seconds it took, or a
 * negative number if it failed or disagreed with want. */
static double time_sha256sum(const char *path, const char *want)
{
	char cmd[512], line[256];
	double t0 = now(), t;
	FILE *p;

	snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
	if (!(p = popen(cmd, "r")))
		return -1;
	if (!fgets(line, sizeof line, p))
		line[0] = 0;
	t = now() - t0;
	if (pclose(p) != 0 || strncmp(line, want, 2 * SHA256_LEN) != 0)
		return -1;
	return t;
}

/* Write buf to a new temporary file named from the template path; returns
 * 0, or -1 with nothing left behind. */
static int write_temp(char *path, const uint8_t *buf, size_t len)
{
	int fd = mkstemp(path);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	for (; off < len; off += (size_t)n)
		if ((n = write(fd, buf + off, len - off)) <= 0)
			break;
	close(fd);
	if (off == len)
		return 0;
	unlink(path);
	return -1;
}

/* SHA-256 over 64 MiB in memory, and sha256sum over the same bytes in a
 * file (warm in the page cache); returns our compressions per second. */
static double bench_sha256(void)
{
	uint8_t *buf = malloc(BUF_BYTES), md[SHA256_LEN];
	char path[] = "/tmp/peerchain-bench-XXXXXX", hex[2 * SHA256_LEN + 1];
	double best = 1e9, best_sum = 1e9, t;
	unsigned long c0, blocks = 0;
	size_t i;
	int k;

	if (!buf)
		return 0;
	for (i = 0; i < BUF_BYTES; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	for (k = 0; k < TRIES; k++) {
		c0 = sha256_compressions();
		t = now();
		sha256(buf, BUF_BYTES, md);
		t = now() - t;
		blocks = sha256_compressions() - c0;
		best = t < best ? t : best;
	}
	figure("sha256_mb_s", BUF_BYTES / best / 1e6);
	tohex(md, hex);
	if (write_temp(path, buf, BUF_BYTES) == 0) {
		for (k = 0; k < TRIES; k++) {
			t = time_sha256sum(path, hex);
			best_sum = t > 0 && t < best_sum ? t : best_sum;
		}
		if (best_sum < 1e9) {
			figure("sha256sum_mb_s", BUF_BYTES / best_sum / 1e6);
			figure("sha256_vs_sha256sum", best_sum / best);
		} else {
			fprintf(stderr, "bench: sha256sum failed or disagreed\n");
		}
		unlink(path);
	} else {
		fprintf(stderr, "bench: cannot write %s: no sha256sum figures\n",
		        path);
	}
	free(buf);
	figure("sha256_compress_s", (double)blocks / best);
	return (double)blocks / best;
}

/* What the timed LMS and mining calls work on. */
struct work {
	sha256_ctx mid;                 /* header's first 64 bytes, hashed */
	uint8_t hdr[80];                /* the header being mined */
	uint32_t nonce;
	struct lms_key key;             /* H10/W4, the default */
	uint8_t pub[LMS_PUB_LEN];
	uint8_t sigs[VERIFY_SIGS][LMS_SIG_LEN_H10_W4];
	uint32_t next;                  /* signature or leaf to use next */
};

/* MINE_BATCH nonces, each a double hash from the cached midstate. */
static void mine_batch(void *arg)
{
	struct work *w = arg;
	uint8_t out[SHA256_LEN];
	int i;

	for (i = 0; i < MINE_BATCH; i++) {
		put32le(w->hdr + 76, w->nonce++);
		sha256d_from(&w->mid, w->hdr + 64, 16, out);
	}
}

/* Make a whole H10/W4 key: 1024 one-time keys and the tree above. */
static void keygen(void *arg)
{
	struct work *w = arg;
	uint8_t seed[LMS_SEED_LEN] = { 42 }, I[LMS_I_LEN] = { 7 };

	lms_keygen(&w->key, LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4, I, seed);
}

/* Sign a 32-byte message (a transaction's digest) at the next leaf.  The
 * benchmark reuses leaves, which a real signer must never do. */
static void sign(void *arg)
{
	struct work *w = arg;
	uint8_t msg[SHA256_LEN] = { 0 }, sig[LMS_SIG_LEN_H10_W4];

	put32le(msg, w->next);
	lms_sign(&w->key, w->next++ % 1024, msg, sizeof msg, sig, sizeof sig);
}

/* Verify the next of VERIFY_SIGS signatures of different messages. */
static void verify(void *arg)
{
	struct work *w = arg;
	uint8_t msg[SHA256_LEN] = { 0 };
	uint32_t i = w->next++ % VERIFY_SIGS;

	put32le(msg, i);
	if (lms_verify(w->pub, LMS_PUB_LEN, msg, sizeof msg, w->sigs[i],
	               LMS_SIG_LEN_H10_W4) != LMS_OK)
		fprintf(stderr, "bench: a signature did not verify\n");
}

/* The crypto group: SHA-256, mining, LMS for H10/W4. */
static void bench_crypto(void)
{
	static struct work w;
	double compress_s = bench_sha256(), blocks, verify_s;
	uint8_t msg[SHA256_LEN] = { 0 };
	uint32_t i;

	sha256_init(&w.mid);
	sha256_update(&w.mid, w.hdr, 64);
	figure("mine_hashes_s", MINE_BATCH * rate(mine_batch, &w, &blocks));
	figure("mine_compressions_per_hash", blocks / MINE_BATCH);

	figure("lms_keygen_s", rate(keygen, &w, NULL));
	figure("lms_sign_s", rate(sign, &w, NULL));
	lms_public_key(&w.key, w.pub);
	for (i = 0; i < VERIFY_SIGS; i++) {
		put32le(msg, i);
		lms_sign(&w.key, i, msg, sizeof msg, w.sigs[i],
		         LMS_SIG_LEN_H10_W4);
	}
	w.next = 0;
	verify_s = rate(verify, &w, &blocks);
	figure("lms_verify_s", verify_s);
	figure("lms_verify_compressions", blocks);
	figure("lms_verify_bound_s", compress_s / blocks);
	figure("lms_verify_vs_bound", verify_s / (compress_s / blocks));
}

/* A group of figures that `make bench ONLY=name` can pick. */
struct group {
	const char *name;
	void (*run)(void);
};

static const struct group groups[] = {
	{ "crypto", bench_crypto },
};

#define NGROUPS (sizeof groups / sizeof groups[0])

/* Run the groups named on the command line, or all of them. */
int main(int argc, char **argv)
{
	size_t i;
	int a, found;

	for (a = 1; a < argc; a++) {
		for (i = 0, found = 0; i < NGROUPS; i++)
			found |= strcmp(argv[a], groups[i].name) == 0;
		if (!found) {
			fprintf(stderr, "bench: no group '%s'\n", argv[a]);
			return 2;
		}
	}
	for (i = 0; i < NGROUPS; i++) {
		for (a = 1, found = argc == 1; a < argc; a++)
			found |= strcmp(argv[a], groups[i].name) == 0;
		if (found)
			groups[i].run();
	}
	return 0;
}
