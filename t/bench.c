/*
 * t/bench.c - peerchain's benchmarks: figures, one per line, "name value".
 *
 * usage: t/bench [GROUP...]   (no group: all of them; `make bench ONLY=...`)
 *
 * This measures; it checks nothing (the tests do).  Each figure is the best
 * of a few runs, so a busy machine shows less noise.  Groups:
 *   crypto  SHA-256 against coreutils sha256sum on the same 64 MiB, the
 *           miner's hash rate, LMS key generation, signing, verification.
 *   chain   a 10,010-block regtest chain with 20,000 payments (1 input, 2
 *           outputs, H10/W4 signatures) is generated, then reopened by
 *           `peerchain tip`, which replays and checks every block: payments
 *           validated per second, blocks per second, peak memory; and
 *           the time a wallet takes to build and sign one payment.
 *   net     a node holding 1,000 inbound connections (from t/testpeer,
 *           spread over loopback source addresses): its peak memory, and
 *           ping round trips on one more connection against an idle node;
 *           the resident memory of a node with 8 peers.  Linux: /proc.
 *           Then t/bench_idle.sh: the wake-ups, fsyncs and CPU time of
 *           a node with 16 idle peers, and of one with none.
 *   scale   t/scale.sh: 1,000 nodes on one machine (N=...): the time until
 *           all are connected, a block's and a payment's way to all.
 *   privacy t/bench_privacy.sh: a spy's success at naming the senders of
 *           payments, with and without Dandelion++, and its cost.
 *   light   a light node syncing 10,000 and then 100,000 headers from a
 *           full node (the best of three runs each): its speed and
 *           memory, a proof's time, the full node's memory beside it,
 *           and both nodes' data on disk.
 *   small   binary_os_bytes: the size of `make small`'s stripped -Os
 *           binary (cc, which is gcc on the machines we measure).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
#define CHAIN_BLOCKS 10010     /* blocks in the reindexed chain... */
#define PAYS_PER_BLOCK 2       /* ...with this many payments in all but
                                  the first ten */
#define PAYMENTS ((CHAIN_BLOCKS - 10) * PAYS_PER_BLOCK)
#define WALLET_PAYS 5          /* payments timed after the first */

/* Seconds on a clock that never jumps. */
static double now(void) {
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls per second of fn(arg): the best of TRIES runs of at least
 * MIN_SECONDS / TRIES each.  *blocks, if given, gets the compressions one
 * call costs. */
static double rate(void (*fn)(void *), void *arg, double *blocks) {
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
			t = now() - t0;
		} while (t < MIN_SECONDS / TRIES);
		if ((double)n / t > best)
			best = (double)n / t;
		if (blocks)
			*blocks = (double)(sha256_compressions() - c0) /
			          (double)n;
	}
	return best;
}

/* Print one figure. */
static void figure(const char *name, double value) {
	printf("%s %.*f\n", name, value < 100 ? 2 : 0, value);
	fflush(stdout);
}

/* Hex of a digest, for comparing with sha256sum's output. */
static void tohex(const uint8_t *d, char out[2 * SHA256_LEN + 1]) {
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* Run coreutils sha256sum on path; returns the seconds it took, or a
 * negative number if it failed or disagreed with want. */
static double time_sha256sum(const char *path, const char *want) {
	char cmd[512], line[256];
	double t0 = now(), t;
	FILE *p;

	snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
	if (!(p = popen(cmd, "r"))) return -1;
	if (!fgets(line, sizeof line, p))
		line[0] = 0;
	t = now() - t0;
	if (pclose(p) != 0 || strncmp(line, want, 2 * SHA256_LEN) != 0)
		return -1;
	return t;
}

/* Write buf to a new temporary file named from the template path; returns
 * 0, or -1 with nothing left behind. */
static int write_temp(char *path, const uint8_t *buf, size_t len) {
	int fd = mkstemp(path);
	size_t off = 0;
	ssize_t n;

	if (fd < 0) return -1;
	for (; off < len; off += (size_t)n)
		if ((n = write(fd, buf + off, len - off)) <= 0) break;
	close(fd);
	if (off == len) return 0;
	unlink(path);
	return -1;
}

/* SHA-256 over 64 MiB in memory, and sha256sum over the same bytes in a
 * file (warm in the page cache); returns our compressions per second. */
static double bench_sha256(void) {
	uint8_t *buf = malloc(BUF_BYTES), md[SHA256_LEN];
	char path[] = "/tmp/peerchain-bench-XXXXXX", hex[2 * SHA256_LEN + 1];
	double best = 1e9, best_sum = 1e9, t;
	unsigned long c0, blocks = 0;
	size_t i;
	int k;

	if (!buf) return 0;
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
			fprintf(stderr,
			        "bench: sha256sum failed or disagreed\n");
		}
		unlink(path);
	} else {
		fprintf(stderr,
		        "bench: cannot write %s: no sha256sum figures\n", path);
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
static void mine_batch(void *arg) {
	struct work *w = arg;
	uint8_t out[SHA256_LEN];
	int i;

	for (i = 0; i < MINE_BATCH; i++) {
		put32le(w->hdr + HDR_NONCE, w->nonce++);
		sha256d_from(&w->mid, w->hdr + 64, 16, out);
	}
}

/* Make a whole H10/W4 key: 1024 one-time keys and the tree above. */
static void keygen(void *arg) {
	struct work *w = arg;
	uint8_t seed[LMS_SEED_LEN] = { 42 }, I[LMS_I_LEN] = { 7 };

	lms_keygen(&w->key, LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4, I, seed);
}

/* Sign a 32-byte message (a transaction's digest) at the next leaf.  The
 * benchmark reuses leaves, which a real signer must never do. */
static void sign(void *arg) {
	struct work *w = arg;
	uint8_t msg[SHA256_LEN] = { 0 }, sig[LMS_SIG_LEN_H10_W4];

	put32le(msg, w->next);
	lms_sign(&w->key, w->next++ % 1024, msg, sizeof msg, sig, sizeof sig);
}

/* Verify the next of VERIFY_SIGS signatures of different messages. */
static void verify(void *arg) {
	struct work *w = arg;
	uint8_t msg[SHA256_LEN] = { 0 };
	uint32_t i = w->next++ % VERIFY_SIGS;

	put32le(msg, i);
	if (lms_verify(w->pub, LMS_PUB_LEN, msg, sizeof msg, w->sigs[i],
	               LMS_SIG_LEN_H10_W4) != LMS_OK)
		fprintf(stderr, "bench: a signature did not verify\n");
}

/* The crypto group: SHA-256, mining, LMS for H10/W4. */
static void bench_crypto(void) {
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

/* ==== chain: validation and reindexing ==== */

/* The keys and coin a generated chain threads its payments through. */
struct gen {
	struct lms_key *key[2];         /* signing now, and the next one */
	uint8_t pub[2][LMS_PUB_LEN], addr[2][ADDR_LEN];
	uint32_t nkeys;                 /* keys made so far */
	uint8_t coin[OUTPOINT_LEN];     /* the output the next payment spends */
	uint64_t value;
	uint32_t paid;                  /* payments so far */
};

/* Make key number g->nkeys into slot 1 (the next key). */
static void next_key(struct gen *g) {
	uint8_t I[LMS_I_LEN] = { 0 }, seed[LMS_SEED_LEN] = { 0 };

	put32le(I, g->nkeys);
	put32le(seed, ++g->nkeys);
	lms_keygen(g->key[1], LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4, I, seed);
	lms_public_key(g->key[1], g->pub[1]);
	sha256(g->pub[1], LMS_PUB_LEN, g->addr[1]);
}

/* One payment of 1 unit to a stranger, the rest onward: 1 input, 2
 * outputs, signed with the next leaf. */
static size_t pay(struct gen *g, uint8_t *buf) {
	static const uint8_t stranger[ADDR_LEN] = { 1 };
	static uint8_t sig[LMS_SIG_LEN_H10_W4];
	uint8_t sighash[SHA256_LEN], *swap;
	struct txout out[2];
	struct txin in;
	struct tx t;
	int last = g->paid % 1024 == 1023;   /* key used up: pay the next */
	size_t len;

	memset(&t, 0, sizeof t);
	in.prev = g->coin;
	in.pub = g->pub[0];
	in.siglen = 0;
	out[0].amount = 1;
	out[0].addr = stranger;
	out[1].amount = --g->value;
	out[1].addr = g->addr[last];
	t.nin = 1;
	t.nout = 2;
	t.in = &in;
	t.out = out;
	tx_sighash(&t, sighash);
	in.siglen = lms_sign(g->key[0], g->paid++ % 1024, sighash, SHA256_LEN,
	                     sig, sizeof sig);
	in.sig = sig;
	len = tx_write(&t, buf, 4096);
	sha256d(buf, len, g->coin);
	put32le(g->coin + SHA256_LEN, 1);
	if (last) {
		swap = (uint8_t *)g->key[0];
		g->key[0] = g->key[1];
		g->key[1] = (struct lms_key *)swap;
		memcpy(g->pub[0], g->pub[1], LMS_PUB_LEN);
		memcpy(g->addr[0], g->addr[1], ADDR_LEN);
		next_key(g);
	}
	return len;
}

/* Write a regtest chain of CHAIN_BLOCKS blocks into dir/regtest: ten to
 * mature the first coinbase, then PAYS_PER_BLOCK payments a block. */
static int generate(const char *dir) {
	static uint8_t txbuf[PAYS_PER_BLOCK + 1][4096];
	uint8_t *txs[PAYS_PER_BLOCK + 1], prev[SHA256_LEN], *b;
	size_t lens[PAYS_PER_BLOCK + 1], len;
	char path[512];
	struct gen g;
	struct chain *c;
	uint32_t h, i, n;
	int r = 0;

	snprintf(path, sizeof path, "%s/regtest", dir);
	if (!(c = chain_open(params_find("regtest"), path, 0)))
		return -1;
	memset(&g, 0, sizeof g);
	g.key[0] = malloc(sizeof *g.key[0]);
	g.key[1] = malloc(sizeof *g.key[1]);
	next_key(&g);                        /* key 0, then key 1 */
	memcpy(g.key[0], g.key[1], sizeof *g.key[0]);
	memcpy(g.pub[0], g.pub[1], LMS_PUB_LEN);
	memcpy(g.addr[0], g.addr[1], ADDR_LEN);
	next_key(&g);
	for (h = 1; h <= CHAIN_BLOCKS && r == 0; h++) {
		n = h > 10 ? PAYS_PER_BLOCK : 0;
		lens[0] = coinbase_write(h, g.addr[0], h == 1 ? 50 * COIN : 0,
		                         txbuf[0], sizeof txbuf[0]);
		if (h == 1) {
			sha256d(txbuf[0], lens[0], g.coin);
			put32le(g.coin + SHA256_LEN, 0);
			g.value = 50 * COIN;
		}
		for (i = 0; i <= n; i++)
			txs[i] = txbuf[i];
		for (i = 1; i <= n; i++)
			lens[i] = pay(&g, txbuf[i]);
		chain_hash_at(c, h - 1, prev);
		b = block_make(prev, 1795219200 + h, 0x207fffff, txs, lens,
		               n + 1, &len);
		while (block_mine(b, len, 1000, 1795219200 + 2 * h) != 1)
			;
		r = chain_add_block(c, b, len);
		free(b);
	}
	chain_close(c);
	free(g.key[0]);
	free(g.key[1]);
	return r;
}

/* Reopen the chain with `peerchain tip` and time it: with -R, a full
 * replay of the block files, without, a restart that trusts checked.dat;
 * *kib gets the peak memory of the processes so far. */
static double reindex(const char *dir, const char *opt, long *kib) {
	char cmd[600];
	struct rusage ru;
	double t = now();

	snprintf(cmd, sizeof cmd, "./peerchain -d '%s' -n regtest %s tip "
	         ">/dev/null", dir, opt);
	if (system(cmd) != 0) return -1;
	t = now() - t;
	getrusage(RUSAGE_CHILDREN, &ru);
	*kib = ru.ru_maxrss;
	return t;
}

/* Mine one block on c's tip paying addr; returns the chain's verdict. */
static int mine_to(struct chain *c, const uint8_t *addr) {
	size_t len;
	uint8_t *b = chain_template(c, addr, &len);
	int r;

	while (block_mine(b, len, 1000, chain_now(c) + 3600) != 1)
		;
	r = chain_add_block(c, b, len);
	free(b);
	return r;
}

/* Milliseconds one payment from a wallet takes to build and sign (H10
 * key, one or two inputs): the first, which makes the key's tree, and the
 * best of the next WALLET_PAYS, each confirmed before the next. */
static void wallet_figures(void) {
	char dir[] = "/tmp/peerchain-wallet-XXXXXX", cmd[600];
	double first = 0, best = 1e9, t;
	struct chain *c = NULL;
	struct wallet *w = NULL;
	uint8_t *tx, to[ADDR_LEN] = { 7 };
	size_t len;
	int k, ok = mkdtemp(dir) != NULL;

	if (ok &&
	    (c = chain_open(params_find("regtest"), dir, 0)))
		w = wallet_open(dir, 1, LMS_SHA256_M32_H10);
	for (k = 0; w && k < 11; k++)           /* the first coinbase matures */
		mine_to(c, wallet_address(w));
	wallet_close(w);                        /* (as a node starting: the */
	w = ok && c ? wallet_open(dir, 0, LMS_SHA256_M32_H10)
	    : NULL;                             /* key's tree not yet made) */
	for (k = 0; w && k <= WALLET_PAYS; k++) {
		t = now();
		tx = wallet_pay(w, c, to, COIN, 1000, &len);
		t = (now() - t) * 1000;
		if (!tx || chain_add_tx(c, tx, len) != V_OK ||
		    mine_to(c, wallet_address(w)) != V_OK)
			break;
		free(tx);
		if (k == 0)
			first = t;
		else if (t < best)
			best = t;
	}
	if (w && k > WALLET_PAYS) {
		figure("wallet_first_pay_ms", first);
		figure("wallet_pay_ms", best);
	} else {
		fprintf(stderr, "bench: the wallet figures failed: %s\n",
		        failure);
	}
	wallet_close(w);
	chain_close(c);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (ok && system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

/* The chain figures: validation inside blocks, and reindexing. */
static void chain_figures(void) {
	char dir[] = "/tmp/peerchain-bench-XXXXXX", cmd[600];
	double best = 1e9, restart = 1e9, t, verify_s;
	static struct work w;
	long kib = 0;
	int k;

	if (!mkdtemp(dir) || generate(dir) != 0) {
		fprintf(stderr, "bench: cannot generate a chain in %s\n", dir);
		return;
	}
	for (k = 0; k < TRIES; k++)
		if ((t = reindex(dir, "-R", &kib)) > 0 && t < best)
			best = t;
	for (k = 0; k < TRIES; k++)
		if ((t = reindex(dir, "", &kib)) > 0 && t < restart)
			restart = t;
	keygen(&w);
	lms_public_key(&w.key, w.pub);
	for (k = 0; k < VERIFY_SIGS; k++) {
		uint8_t msg[SHA256_LEN] = { 0 };

		put32le(msg, (uint32_t)k);
		lms_sign(&w.key, (uint32_t)k, msg, sizeof msg, w.sigs[k],
		         LMS_SIG_LEN_H10_W4);
	}
	verify_s = rate(verify, &w, NULL);
	if (best < 1e9) {
		figure("validate_tx_s", PAYMENTS / best);
		figure("validate_tx_vs_lms_verify", PAYMENTS / best / verify_s);
		figure("reindex_blocks_s", CHAIN_BLOCKS / best);
		figure("reindex_peak_kib", (double)kib);
		figure("restart_s", restart);
		figure("restart_vs_reindex", restart / best);
	}
	wallet_figures();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

/* ==== net: connections and memory ==== */

/* A line of /proc/PID/status ("VmHWM", "VmRSS") in KiB; -1 if there is
 * no /proc (not Linux). */
static long proc_kib(pid_t pid, const char *key) {
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if (!(f = fopen(path, "r"))) return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Start a program in the background with stdout to /dev/null (unless
 * out), stderr discarded; returns its pid. */
static pid_t spawn(char *const argv[], int quiet) {
	pid_t pid = fork();

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr) ||
		    (quiet && !freopen("/dev/null", "w", stdout)))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Stop a background program and wait for it. */
static void reap(pid_t pid) {
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* The first number a shell command prints; -1 if none. */
static double first_number(const char *cmd) {
	char line[128] = "";
	FILE *p = popen(cmd, "r");
	double v = -1;

	if (p && fgets(line, sizeof line, p))
		v = strtod(line, NULL);
	if (p)
		pclose(p);
	return v;
}

/* A regtest node in dir listening on 127.0.0.1:port; its pid once its
 * control socket answers. */
static pid_t start_node(const char *dir, const char *port, const char *in) {
	char listen[32], cmd[600];
	char *argv[] = { "./peerchain", "-d", NULL, "-n", "regtest", "-l", NULL,
	                 "-o", "0", "-i", NULL, "-q", "run", NULL };
	pid_t pid;
	int k;

	snprintf(listen, sizeof listen, "127.0.0.1:%s", port);
	argv[2] = (char *)dir;
	argv[6] = listen;
	argv[10] = (char *)in;
	pid = spawn(argv, 1);
	snprintf(cmd, sizeof cmd, "./peerchain -d '%s' -n regtest status "
	         ">/dev/null 2>&1", dir);
	for (k = 0; k < 50 && system(cmd) != 0; k++)
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	return pid;
}

/* The net group: 1,000 inbound connections and an idle node. */
static void bench_net(void) {
	char dir[] = "/tmp/peerchain-bench-XXXXXX", cmd[600];
	char *hold[] = { "./t/testpeer", "127.0.0.1", "23001", "conns", "1000",
	                 "60", NULL };
	char *eight[] = { "./t/testpeer", "127.0.0.1", "23002", "conns", "8",
	                  "60", NULL };
	double idle, loaded;
	pid_t node, holder;
	int k;

	if (!mkdtemp(dir)) return;
	node = start_node(dir, "23001", "1100");
	idle = first_number("./t/testpeer 127.0.0.1 23001 ping 200");
	holder = spawn(hold, 1);
	snprintf(cmd, sizeof cmd, "./peerchain -d '%s' -n regtest status | "
	         "sed -n 's/^peers \\([0-9]*\\) in.*/\\1/p'", dir);
	for (k = 0; k < 300 && first_number(cmd) < 1000; k++)
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	nanosleep(&(struct timespec){ 6, 0 }, NULL);   /* idle: they go cold */
	loaded = first_number("./t/testpeer 127.0.0.1 23001 ping 200");
	figure("conn1000_peers", first_number(cmd));
	figure("conn1000_peak_kib", (double)proc_kib(node, "VmHWM"));
	if (idle > 0 && loaded > 0)
		figure("conn1000_ping_ratio", loaded / idle);
	reap(holder);
	reap(node);
	node = start_node(dir, "23002", "117");
	holder = spawn(eight, 1);
	nanosleep(&(struct timespec){ 2, 0 }, NULL);
	figure("idle8_rss_kib", (double)proc_kib(node, "VmRSS"));
	figure("idle8_anon_kib", (double)proc_kib(node, "RssAnon"));
	reap(holder);
	reap(node);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
	fflush(stdout);
	if (system("sh t/bench_idle.sh") != 0)
		fprintf(stderr, "bench: t/bench_idle.sh failed\n");
}

/* ==== gossip: a 32-node network, and sync ==== */

/* Wait until the node in dir answers `status` (a replay may take a
 * while); returns 0, or -1 after 60 s. */
static int wait_up(const char *dir) {
	char cmd[600];
	int k;

	snprintf(cmd, sizeof cmd, "./peerchain -d '%s' -n regtest status "
	         ">/dev/null 2>&1", dir);
	for (k = 0; k < 600 && system(cmd) != 0; k++)
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	return k < 600 ? 0 : -1;
}

/* Milliseconds since 1970, as the nodes' `seen` answers. */
static double bench_ms(void) {
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Sync: two nodes serve the bench chain; a fresh node connected to both
 * pulls it.  Its time runs from its start to when it took the last block
 * (by its own `seen` clock: polling for the end, every half second, need
 * not be precise, and costs the node little).  Returns its blocks per
 * second, or -1. */
static double sync_rate(const char *a, const char *b, const char *fresh) {
	char height[700], last[900],
	        *srv[] = {"./peerchain", "-d", NULL, "-n", "regtest", "-l",
	                  NULL,          "-o", "0",  "-q", "run",     NULL};
	char *cli[] = { "./peerchain", "-d", (char *)fresh, "-n", "regtest",
	     "-L", "-c", "127.0.0.1:23040", "-c", "127.0.0.1:23041", "-q",
	     "run", NULL };
	pid_t pa, pb, pc;
	double t, got = 0;

	srv[2] = (char *)a;
	srv[6] = "127.0.0.1:23040";
	pa = spawn(srv, 1);
	srv[2] = (char *)b;
	srv[6] = "127.0.0.1:23041";
	pb = spawn(srv, 1);
	if (wait_up(a) == 0 && wait_up(b) == 0) {
		snprintf(height, sizeof height,
		         "./peerchain -d '%s' -n regtest "
		         "status 2>/dev/null | sed -n 's/^height //p'",
		         fresh);
		snprintf(last, sizeof last,
		         "./peerchain -d '%s' -n regtest seen "
		         "$(./peerchain -d '%s' -n regtest tip | sed -n "
		         "'s/^hash //p')",
		         fresh, fresh);
		t = bench_ms();
		pc = spawn(cli, 1);
		while ((got = first_number(height)) < CHAIN_BLOCKS &&
		       bench_ms() - t < 300000)
			nanosleep(&(struct timespec){ 0, 500000000 }, NULL);
		t = (first_number(last) - t) / 1000;
		reap(pc);
	}
	reap(pa);
	reap(pb);
	return got >= CHAIN_BLOCKS ? CHAIN_BLOCKS / t : -1;
}

/* Ping round trips of a `local` node, idle and then mining (-m) once
 * past the first 50 blocks, which come at once, to its steady pace: the
 * miner's slices must leave it answering almost as fast. */
static void mining_ping(const char *dir) {
	char *argv[] = { "./peerchain", "-d", (char *)dir, "-n", "local", "-l",
	     "127.0.0.1:23050", "-q", NULL, "run", NULL };
	char cmd[600], height[700];
	double idle = -1, busy = -1;
	pid_t pid;
	int k, i;

	snprintf(cmd, sizeof cmd, "./peerchain -d '%s' -n local status "
	         ">/dev/null 2>&1", dir);
	snprintf(height, sizeof height, "./peerchain -d '%s' -n local status "
	         "2>/dev/null | sed -n 's/^height //p'", dir);
	for (k = 0; k < 2; k++) {
		argv[8] = k ? "-m" : "-q";
		pid = spawn(argv, 1);
		for (i = 0; i < 100 && system(cmd) != 0; i++)
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		for (i = 0; k && i < 600 && first_number(height) < 50; i++)
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
		*(k ? &busy : &idle) = first_number("TESTPEER_NET=local "
		    "./t/testpeer 127.0.0.1 23050 ping 500");
		reap(pid);
	}
	if (idle > 0 && busy > 0)
		figure("mine_ping_ratio", busy / idle);
}

/* The gossip group: the 32-node figures from t/bench_gossip.sh, then
 * sync of the bench chain against a reindex of it. */
static void bench_gossip(void) {
	char dir[] = "/tmp/peerchain-bench-XXXXXX", cmd[700], a[64], b[64];
	char fresh[64];
	double best = 1e9, t, rate;
	long kib;
	int k;

	fflush(stdout);
	if (system("sh t/bench_gossip.sh") != 0)
		fprintf(stderr, "bench: t/bench_gossip.sh failed\n");
	if (!mkdtemp(dir)) return;
	snprintf(a, sizeof a, "%s/a", dir);
	snprintf(b, sizeof b, "%s/b", dir);
	snprintf(fresh, sizeof fresh, "%s/fresh", dir);
	snprintf(cmd, sizeof cmd, "cp -R '%s' '%s'", a, b);
	if (mkdir(a, 0700) != 0 || generate(a) != 0 || system(cmd) != 0) {
		fprintf(stderr, "bench: cannot generate a chain in %s\n", dir);
		return;
	}
	for (k = 0; k < 2; k++)
		if ((t = reindex(a, "-R", &kib)) > 0 && t < best)
			best = t;
	/* best of two, as the reindex */
	for (k = 0, rate = -1; k < 2; k++) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", fresh);
		if (system(cmd) == 0 && (t = sync_rate(a, b, fresh)) > rate)
			rate = t;
	}
	if (rate > 0) {
		figure("sync_blocks_s", rate);
		figure("sync_vs_reindex", rate * best / CHAIN_BLOCKS);
	}
	snprintf(a, sizeof a, "%s/m", dir);
	mining_ping(a);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

/* CPU seconds the waited-for children have used so far. */
static double children_cpu(void) {
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The mine group: the share of a CPU a `local` node mining with -M 25,
 * and with -m, takes over 10 s from its start (a fresh chain: mining all
 * the while), from its CPU time over its lifetime. */
static void bench_mine(void) {
	char dir[] = "/tmp/peerchain-mine-XXXXXX", cmd[600];
	char *argv[] = { "./peerchain", "-d", dir, "-n", "local", "-l",
	                 "127.0.0.1:23051", "-q", "-M", NULL, "run", NULL };
	static const char *const share[] = { "25", "100" };
	double cpu, t;
	pid_t pid;

	for (int k = 0; k < 2 && mkdtemp(dir); k++) {
		argv[9] = (char *)share[k];
		cpu = children_cpu();
		t = now();
		pid = spawn(argv, 1);
		nanosleep(&(struct timespec){ 10, 0 }, NULL);
		reap(pid);
		t = now() - t;
		figure(k ? "mine_m100_cpu" : "mine_m25_cpu",
		       (children_cpu() - cpu) / t);
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: cannot remove %s\n", dir);
		strcpy(dir, "/tmp/peerchain-mine-XXXXXX");
	}
}

/* The attack group: t/bench_attack.sh's figures. */
static void bench_attack(void) {
	fflush(stdout);
	if (system("sh t/bench_attack.sh") != 0)
		fprintf(stderr, "bench: t/bench_attack.sh failed\n");
}

/* A regtest chain of n blocks in dir (made), the last 20 paying the
 * address text: mined in this process on a clock that starts 3 s a block
 * behind and catches up (a running node's `mine` stamps blocks ahead of
 * the clock, and 100,000 of them would pass the two hours' limit).
 * Returns 0, or -1. */
static int light_chain(const char *dir, int n, const char *addr) {
	uint8_t to[ADDR_LEN], none[ADDR_LEN] = { 0 };
	char path[600];
	struct chain *c;
	int i, bad = 0;

	snprintf(path, sizeof path, "%s/regtest", dir);
	if (mkdir(dir, 0700) || addr_parse(addr, to) ||
	    !(c = chain_open(params_find("regtest"), path, 0)))
		return -1;
	for (i = 1; i <= n && !bad; i++) {
		c->now = wall_s() - 3 * (int64_t)(n - i);
		bad = mine_to(c, i <= n - 20 ? none : to);
	}
	if (bad)
		fprintf(stderr, "bench: block %d: %s\n", i - 1,
		        reason_text(bad));
	chain_close(c);
	return bad ? -1 : 0;
}

/* What one light run measured (-1: not measured). */
struct light_figs {
	double headers_s, proof_ms, rss, anon, full_anon, disk, full_disk;
};

/* One light run: a light node syncs `headers` headers from one full
 * node, then proves 20 outputs paying it (the last 20 blocks' coinbases).
 * Measures the headers a second (from its start to its `seen` of the last
 * tip), proof_ms (from that `seen` to its log's line of the 20 outputs
 * proven, polled every 5 ms), its resident and its own (anonymous)
 * memory after the sync, the full node's own memory beside it, and both
 * data directories' size on disk. */
static void light_run(int headers, struct light_figs *m) {
	char dir[] = "/tmp/peerchain-bench-XXXXXX", cmd[1200], addr[128] = "";
	char *argv[] = { "/bin/sh", "-c", cmd, NULL }, f[64];
	double t0, t1 = -1, t2;
	pid_t full, light;
	FILE *p;
	int k;

	*m = (struct light_figs){ -1, -1, -1, -1, -1, -1, -1 };
	if (!mkdtemp(dir)) return;
	snprintf(cmd, sizeof cmd, "./peerchain -d %s/l -n regtest -S address",
	         dir);
	if (!(p = popen(cmd, "r")) || !fgets(addr, sizeof addr, p))
		fprintf(stderr, "bench: no light wallet\n");
	if (p)
		pclose(p);
	addr[strcspn(addr, "\n")] = 0;
	snprintf(f, sizeof f, "%s/f", dir);
	if (light_chain(f, headers, addr))
		fprintf(stderr, "bench: cannot mine\n");
	full = start_node(f, "23301", "8");
	snprintf(cmd, sizeof cmd, "exec ./peerchain -d %s/l -n regtest -S -c "
	         "127.0.0.1:23301 run 2>%s/l.log", dir, dir);
	t0 = bench_ms();
	light = spawn(argv, 1);
	snprintf(cmd, sizeof cmd, "./peerchain -d %s/l -n regtest status "
	         "2>/dev/null | sed -n 's/^height //p'", dir);
	for (k = 0; k < 3000 && first_number(cmd) < headers; k++)
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	snprintf(cmd, sizeof cmd, "./peerchain -d %s/l -n regtest seen $("
	         "./peerchain -d %s/l -n regtest tip | sed -n 's/^hash //p')",
	         dir, dir);
	if ((t1 = first_number(cmd)) > t0)
		m->headers_s = headers / ((t1 - t0) / 1e3);
	snprintf(cmd, sizeof cmd, "grep -c 'proofs: 20 outputs' %s/l.log",
	         dir);
	for (k = 0; k < 2000 && first_number(cmd) <= 0; k++)
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	t2 = bench_ms();
	if (k < 2000 && t1 > t0)
		m->proof_ms = t2 - t1;
	nanosleep(&(struct timespec){ 1, 0 }, NULL);
	m->rss = (double)proc_kib(light, "VmRSS");
	m->anon = (double)proc_kib(light, "RssAnon");
	m->full_anon = (double)proc_kib(full, "RssAnon");
	snprintf(cmd, sizeof cmd, "du -sk %s/l/regtest", dir);
	m->disk = first_number(cmd);
	snprintf(cmd, sizeof cmd, "du -sk %s/f/regtest", dir);
	m->full_disk = first_number(cmd);
	reap(light);
	reap(full);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

/* Print a light figure, its name followed by `suffix`, if measured. */
static void light_figure(const char *name, const char *suffix, double v) {
	char full[64];
	snprintf(full, sizeof full, "%s%s", name, suffix);
	if (v >= 0)
		figure(full, v);
}

/* Three light runs of `headers` headers, and the best of each figure:
 * the most headers a second, the least time and memory.  (glibc keeps
 * freed memory at its heap's top up to twice the largest buffer it last
 * gave back, here a 160 KB headers message, and whether it does at the
 * moment of measuring is chance: a run in three or so shows 150 to 400
 * KiB more.  The least of three is the node's own memory.) */
static void light_best(int headers, const char *suffix) {
	struct light_figs b, m;
	light_run(headers, &b);
	for (int i = 1; i < 3; i++) {
		light_run(headers, &m);
		b.headers_s = m.headers_s > b.headers_s ? m.headers_s :
		              b.headers_s;
		b.proof_ms = m.proof_ms >= 0 && (b.proof_ms < 0 ||
		             m.proof_ms < b.proof_ms) ? m.proof_ms : b.proof_ms;
		b.rss = m.rss >= 0 && m.rss < b.rss ? m.rss : b.rss;
		b.anon = m.anon >= 0 && m.anon < b.anon ? m.anon : b.anon;
		b.full_anon = m.full_anon >= 0 && m.full_anon < b.full_anon ?
		              m.full_anon : b.full_anon;
	}
	light_figure("light_headers_s", suffix, b.headers_s);
	if (!*suffix)
		light_figure("proof_ms", "", b.proof_ms);
	light_figure("light_rss_kib", suffix, b.rss);
	light_figure("light_anon_kib", suffix, b.anon);
	light_figure("light_full_anon_kib", suffix, b.full_anon);
	light_figure("light_disk_kib", suffix, b.disk);
	light_figure("light_full_disk_kib", suffix, b.full_disk);
}

/* The light group: the best of three runs at 10,000 headers, then at
 * 100,000 (the figures' names end in _100k): memory should stay flat. */
static void bench_light(void) {
	light_best(10000, "");
	light_best(100000, "_100k");
}

/* The chain group, in a process of its own: the peak memory it reads
 * from its children is then the replay's alone. */
static void bench_chain(void) {
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		chain_figures();
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		fprintf(stderr, "bench: cannot run the chain group\n");
}

/* The scale group: t/scale.sh, N regtest nodes on one machine (1,000, or
 * `make bench ONLY=scale N=2000`). */
static void bench_scale(void) {
	fflush(stdout);
	if (system("sh t/scale.sh") != 0)
		fprintf(stderr, "bench: t/scale.sh failed\n");
}

/* The privacy group: t/bench_privacy.sh, a spy on 20 nodes, with and
 * without Dandelion++, and a black hole. */
static void bench_privacy(void) {
	fflush(stdout);
	if (system("sh t/bench_privacy.sh") != 0)
		fprintf(stderr, "bench: t/bench_privacy.sh failed\n");
}

/* The small group: `make small`, and its binary's bytes. */
static void bench_small(void) {
	fflush(stdout);
	if (system("make -s small >/dev/null") != 0) {
		fprintf(stderr, "bench: make small failed\n");
		return;
	}
	figure("binary_os_bytes", first_number("wc -c < peerchain-small"));
}

/* A group of figures that `make bench ONLY=name` can pick. */
struct group {
	const char *name;
	void (*run)(void);
};

static const struct group groups[] = {
	{ "crypto", bench_crypto },
	{ "chain", bench_chain },
	{ "net", bench_net },
	{ "gossip", bench_gossip },
	{ "attack", bench_attack },
	{ "mine", bench_mine },
	{ "light", bench_light },
	{ "scale", bench_scale },
	{ "privacy", bench_privacy },
	{ "small", bench_small },
};

#define NGROUPS (sizeof groups / sizeof groups[0])

/* Run the groups named on the command line, or all of them. */
int main(int argc, char **argv) {
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
