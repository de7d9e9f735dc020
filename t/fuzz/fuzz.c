/*
 * t/fuzz/fuzz.c - peerchain's coverage-guided fuzz targets, for clang's
 * libFuzzer (-fsanitize=fuzzer,address,undefined).  One file, one target
 * per build: -DFUZZ_FRAME, _PEER, _BLOCK, _HEADERS, _LMS or _FILES picks
 * which LLVMFuzzerTestOneInput is compiled.  t/fuzz/run.sh builds and
 * runs them all (`make fuzz`); t/fuzz/SEED/ holds each one's seeds.
 *
 *   frame    frame_parse, with the limits after and before the handshake
 *   peer     the whole receive path: a running node (net + gossip + chain)
 *            on loopback; each input is the bytes a new peer sends after
 *            a valid handshake, while the node's loop runs
 *   block    block and transaction parsing and validation, into a chain
 *            and its mempool
 *   headers  a chain of headers (80 bytes each) into a regtest chain
 *   lms      lms_verify: a public key (56 bytes), then a signature
 *   files    the loaders of the data directory: the first byte picks the
 *            file (peers.dat, bans.dat, anchors.dat, mempool.dat,
 *            wallet.dat, blk00000.dat, a light chain's hdr00000.dat), the
 *            rest is its contents
 *   proofs   the proof messages, through gossip.c's own handlers (this
 *            target includes gossip.c): an odd first byte makes the rest
 *            a getproofs to a full node of 12 blocks; an even one, the
 *            rest of a proofs (after the tip asked about) to a light node
 *            of their headers, whose wallet the 12 coinbases pay
 */
#include "../../node.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(FUZZ_PEER) || defined(FUZZ_FILES) || defined(FUZZ_PROOFS)
/* A scratch directory, made once. */
static const char *scratch(void) {
	static char dir[] = "/tmp/peerchain-fuzz-XXXXXX";
	static int made;
	if (!made && !mkdtemp(dir))
		fatal("cannot make a scratch directory");
	made = 1;
	log_min = LOG_ERROR + 1;           /* quiet */
	return dir;
}
#endif

#ifdef FUZZ_FRAME
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static const uint8_t magic[4] = { 'p', 'c', 'r', 't' };
	char cmd[FRAME_CMD + 1];
	const uint8_t *payload;
	const char *why;
	size_t plen;
	long k = frame_parse(data, size, magic, MAX_PAYLOAD, cmd, &payload,
	                     &plen, &why);
	if (k > 0 && (size_t)k != FRAME_HEAD + plen)
		abort();
	frame_parse(data, size, magic, GREET_MAX, cmd, &payload, &plen, &why);
	return 0;
}
#endif

#if defined(FUZZ_PEER) || defined(FUZZ_PROOFS)
/* Mine 11 blocks paying the key of seed {0x67} (H5/W4, I {0x66}): the
 * coinbase of block 1 is spendable, and seed peer/orphan spends it (a
 * child sent before its parent), so the orphan pool wakes and retries. */
static void fund(struct chain *c) {
	static struct lms_key k;
	uint8_t I[LMS_I_LEN] = { 0x66 }, seed[LMS_SEED_LEN] = { 0x67 };
	uint8_t pub[LMS_PUB_LEN], addr[ADDR_LEN], *b;
	size_t len;
	int i;
	lms_keygen(&k, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4, I, seed);
	lms_public_key(&k, pub);
	sha256(pub, LMS_PUB_LEN, addr);
	for (i = 0; i < 11; i++) {
		b = chain_template(c, addr, &len);
		while (block_mine(b, len, 100000, chain_now(c) + 3600) != 1)
			;
		chain_add_block(c, b, len);
		free(b);
	}
}
#endif

#ifdef FUZZ_PEER
static struct net *net;
static struct gossip *gossip;
static struct sockaddr_in at;
static struct pollfd *pfd;       /* room for net->maxfds */

/* Start a regtest node listening on 127.0.0.1 (a port of the system's). */
static void node_up(void) {
	static char *none[1];
	struct net_opts o = { 0 };
	struct chain *c;
	socklen_t len = sizeof at;
	o.p = params_find("regtest");
	o.dir = scratch();
	o.listen = "127.0.0.1:0";
	o.seeds = o.connect = none;
	o.max_in = 8;
	o.handshake_s = o.ping_s = o.idle_s = o.frame_s = 60;
	o.ban_s = 1;
	if (!(c = chain_open(o.p, o.dir, 0)) ||
	    !(net = net_open(&o)))
		fatal(failure);
	fund(c);
	gossip = gossip_open(c, net, 0, 1, NULL);
	pfd = xcalloc((size_t)net->maxfds, sizeof *pfd);
	getsockname(net->listen_fd, (struct sockaddr *)&at, &len);
}

/* One turn of the node's loop, and read what it sent to fd. */
static void turn(int fd) {
	uint8_t junk[65536];
	int k = net_pollfds(net, pfd);
	if (poll(pfd, (nfds_t)k, 0) > 0)
		net_events(net, pfd, k);
	int64_t next = INT64_MAX;
	net_timers(net, &next);
	gossip_timers(gossip, &next);
	while (fd >= 0 && read(fd, junk, sizeof junk) > 0)
		;
}

/* A frame of cmd around (b, len) onto fd. */
static void say(int fd, const char *cmd, const uint8_t *b, size_t len) {
	uint8_t f[FRAME_HEAD + 64];
	frame_write(f, net->o.p->magic, cmd, b, len);
	if (write(fd, f, FRAME_HEAD + len) < 0) return;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static const uint8_t lo[16] = {[10] = 0xff, [11] = 0xff, 127, 0, 0, 1};
	uint8_t v[46] = { 1 };
	int fd, i;
	if (!net)
		node_up();
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) return 0;
	if (connect(fd, (struct sockaddr *)&at, sizeof at) != 0) {
		close(fd);
		return 0;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	put64le(v + 20, random64());         /* version: nonce, agent */
	put16le(v + 34, 10);
	memcpy(v + 36, "/fuzzpeer/", 10);
	say(fd, "version", v, sizeof v);
	say(fd, "verack", NULL, 0);
	for (i = 0; i < 4; i++)
		turn(-1);
	if (size && write(fd, data, size) < 0)
		size = 0;
	for (i = 0; i < 8; i++)
		turn(fd);
	close(fd);
	for (i = 0; i < 2; i++)
		turn(-1);
	if (net->bans.n)
		net_ban(net, lo, 0);
	return 0;
}
#endif

#ifdef FUZZ_BLOCK
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static struct chain *c;
	struct block b;
	struct tx t;
	if (!c && !(c = chain_open(params_find("regtest"), NULL, 0)))
		fatal(failure);
	if (block_parse(&b, data, size) == V_OK) {
		block_check(&b, 1);
		block_free(&b);
	}
	if (tx_parse(&t, data, size) == V_OK) {
		tx_check(&t);
		tx_free(&t);
	}
	chain_add_block(c, data, size);
	chain_add_tx(c, data, size);
	return 0;
}
#endif

#ifdef FUZZ_HEADERS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static struct chain *c;
	uint8_t hash[SHA256_LEN];
	size_t i;
	if (!c && !(c = chain_open(params_find("regtest"), NULL, 0)))
		fatal(failure);
	c->now = 2000000000;
	for (i = 0; i + HEADER_LEN <= size; i += HEADER_LEN)
		chain_add_header(c, data + i);
	chain_best_header(c, hash);
	chain_status(c, hash);
	return 0;
}
#endif

#ifdef FUZZ_LMS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size >= LMS_PUB_LEN)
		lms_verify(data, LMS_PUB_LEN, "abc", 3, data + LMS_PUB_LEN,
		           size - LMS_PUB_LEN);
	lms_verify(data, size, "abc", 3, data, size);
	return 0;
}
#endif

#ifdef FUZZ_FILES
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static const char *names[] = { "peers.dat", "bans.dat", "anchors.dat",
	                               "mempool.dat", "wallet.dat",
	                               "blk00000.dat", "hdr00000.dat" };
	const struct params *p = params_find("regtest");
	struct net_opts o = { 0 };
	char path[256];
	struct wallet *w;
	struct chain *c;
	struct net *n;
	FILE *f;
	size_t i;
	if (size < 1) return 0;
	for (i = 0; i < 7; i++) {              /* only this input's file */
		snprintf(path, sizeof path, "%s/%s", scratch(), names[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/%s", scratch(), names[data[0] % 7]);
	if (!(f = fopen(path, "wb"))) return 0;
	fwrite(data + 1, 1, size - 1, f);
	fclose(f);
	if (data[0] % 7 < 3) {
		o.p = p;
		o.dir = scratch();
		o.max_out = 8;
		if ((n = net_open(&o)))
			net_close(n);
	} else if (data[0] % 7 == 4) {
		if ((w = wallet_open(scratch(), 0, LMS_SHA256_M32_H5)))
			wallet_close(w);
	} else if ((c = chain_open(p, scratch(), data[0] % 7 == 6))) {
		chain_close(c);
	}
	return 0;
}
#endif

#ifdef FUZZ_PROOFS
#include "../../gossip.c"
static struct gossip *full, *light;
static struct peer fp, lp;        /* the senders of the inputs */
static int ends[4] = { -1, -1, -1, -1 }; /* their sockets' far ends */

/* A fresh connected socket for peer p (after a drop), far end kept. */
static void plug(struct peer *p, int *far) {
	int sv[2];
	if (p->fd >= 0) return;
	if (*far >= 0)
		close(*far);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fatal("socketpair");
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	p->fd = sv[0];
	p->handshaked = 1;
	*far = sv[1];
	if (!p->up) {                  /* gossip's state, as peer_ready makes */
		p->up = xcalloc(1, sizeof *p->up);
		map_init(&p->up->known, 8);
		map_init(&p->up->known_old, 8);
	}
}

/* Write a seed file (FUZZ_SEEDS=DIR): a byte, then bytes. */
static void seed(const char *name, uint8_t first, const uint8_t *b, size_t n) {
	char path[512];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", getenv("FUZZ_SEEDS"), name);
	if (!(f = fopen(path, "wb"))) return;
	fputc(first, f);
	fwrite(b, 1, n, f);
	fclose(f);
}

/* The two nodes: a full chain of 12 blocks on a fixed clock (the same
 * blocks every run), a light chain of their headers, each with its own
 * gossip; the light wallet holds the key fund() pays. */
static void nodes_up(void) {
	static struct wallet w;
	static struct wkey k;
	static struct lms_key key;
	static uint8_t ask[SHA256_LEN + 1 + ADDR_LEN], answer[MAX_PAYLOAD];
	uint8_t I[LMS_I_LEN] = { 0x66 }, s[LMS_SEED_LEN] = { 0x67 }, pub[56];
	uint8_t hdr[HEADER_LEN], hash[SHA256_LEN];
	const struct params *p = params_find("regtest");
	struct net_opts o = { 0 };
	struct chain *c, *lc = NULL;
	char dir[300];
	uint32_t h, i;
	ssize_t n;
	o.p = p;
	o.max_out = 8;
	snprintf(dir, sizeof dir, "%s/light", scratch());
	if (!(c = chain_open(p, scratch(), 0)) ||
	    !(lc = chain_open(p, dir, 1)))
		fatal(failure);
	c->now = lc->now = 1800000000;
	fund(c);
	for (h = 1; h <= chain_height(c); h++) {
		chain_hash_at(c, h, hash);
		chain_header(c, hash, hdr, &i);
		chain_add_header(lc, hdr);
	}
	lms_keygen(&key, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4, I, s);
	lms_public_key(&key, pub);
	sha256(pub, LMS_PUB_LEN, k.addr);
	w.keys = &k;
	w.n = 1;
	full = gossip_open(c, net_open(&o), 0, 1, NULL);
	light = gossip_open(lc, net_open(&o), 0, 1, &w);
	fp.fd = lp.fd = -1;
	plug(&fp, &ends[1]);
	plug(&lp, &ends[3]);
	if (!getenv("FUZZ_SEEDS")) return;
	chain_hash_at(c, chain_height(c), ask);
	ask[SHA256_LEN] = 1;
	memcpy(ask + SHA256_LEN + 1, k.addr, ADDR_LEN);
	seed("getproofs", 1, ask, sizeof ask);
	on_getproofs(full, &fp, ask, sizeof ask);
	if ((n = read(ends[1], answer, sizeof answer)) >
	    FRAME_HEAD + SHA256_LEN)
		seed("proofs", 0, answer + FRAME_HEAD + SHA256_LEN,
		     (size_t)n - FRAME_HEAD - SHA256_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static uint8_t b[MAX_PAYLOAD], junk[65536];
	if (!full)
		nodes_up();
	if (size < 1 || size - 1 > MAX_PAYLOAD - SHA256_LEN) return 0;
	fp.up->proof_at = 0;             /* (a fresh budget each time) */
	lp.up->owed = 1;
	memcpy(light->asked, light->tip, SHA256_LEN);
	if (data[0] & 1) {
		on_getproofs(full, &fp, data + 1, size - 1);
	} else {
		memcpy(b, light->asked, SHA256_LEN);
		memcpy(b + SHA256_LEN, data + 1, size - 1);
		on_proofs(light, &lp, b, SHA256_LEN + size - 1);
	}
	while (read(ends[1], junk, sizeof junk) > 0)
		;
	plug(&fp, &ends[1]);
	plug(&lp, &ends[3]);
	return 0;
}
#endif
