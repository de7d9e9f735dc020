/*
 * t/testpeer.c - a small peer for the network tests: it does one thing,
 * well or badly, to a node and reports what happened.
 *
 * usage: t/testpeer [-L] [-b SRCIP] HOST PORT MODE [N [SECONDS]]
 *   -L          say services 0 in the version: a light peer
 *   good        handshake, then ping; exit 0 if the pong comes back
 *   garbage, magic, checksum, huge, early, addrflood, inv
 *               one protocol violation (twice for the last three, which
 *               cost W_MALFORMED; after a handshake for the last two);
 *               exit 0 if the node then closes the connection
 *   hold N S    open N connections, say nothing; print how many the node
 *               closed within S seconds
 *   conns N S   N connections with handshakes, source addresses spread
 *               over 127.0.0.0/8 unless -b; print how many completed, then
 *               hold them S seconds
 *   ping N      handshake, then N pings; print the median round trip, us
 *   noread N    handshake, then N pings without ever reading a pong;
 *               exit 0 if the node hangs up
 *   addrs N G   handshake, then two addr messages of N addresses each
 *               (ports by process: each run has its own addresses),
 *               spread over G groups (127.g.0.0/16); then hang up
 *   announce TXID S
 *               handshake, then announce the transaction TXID (as the node
 *               shows it) and never deliver it; print how many getdata for
 *               it came within S seconds
 *   notfound    handshake, then a getdata for an unknown transaction and
 *               an unknown block; exit 0 if one notfound names both, each
 *               with its own type (1, then 2)
 *   badblock, badtx
 *               handshake, then a block on the tip whose coinbase pays over
 *               all money, or a transaction paying as much; print
 *               its hash as the node shows hashes; exit 0 if the node then
 *               hangs up
 * The attacks of the hostile-peer suite (t/hostile_test.sh):
 *   fetch H     handshake, then print the hex of the block at height H
 *   push HEX    handshake, then send the block HEX; exit 0 if the node
 *               then hangs up
 *   bigblock    handshake, then mine and send a block of about 1 MB on the
 *               node's tip; print its hash
 *   sidebranch N
 *               push N blocks of 100 kB, unasked, on a branch from
 *               genesis; exit 0 if the node stays connected
 *   hog N S HASH
 *               N connections, each asking 15 times for block HASH and
 *               never reading; print how many completed; hold S seconds
 *   unfinished N S
 *               N connections, each sending half of a 2 MiB frame; print
 *               how many the node closed within S seconds
 *   dupget N HASH
 *               one getdata naming block HASH N times; print how many
 *               blocks came within 2 s
 *   slowloris S one ping a byte every 200 ms; exit 0 if the node hangs
 *               up within S seconds
 *   getheaders N
 *               N getheaders, each with a fresh random first locator
 *               hash; print how many answers came
 *   headers N S N regtest headers on the node's tip, no bodies; hold S s
 *   invflood N S
 *               every second for S seconds, an inv of N random
 *               transactions (the getdata that come are read, not answered)
 *   key         print the address of the attacker's key (no connection)
 *   chains H K N
 *               from the coinbases of blocks H, H+1, ... (mined to that
 *               key), K lines of N payments each spending the one before,
 *               pushed in order (last first with TESTPEER_REVERSE set);
 *               exit 0 once the node has read them
 *   dust H N ADDRESS
 *               from the coinbases of blocks H, ..., N outputs of 0.001
 *               coin to ADDRESS (2,000 a transaction); exit 0 as chains
 *   tell IP:PORT...
 *               one addr naming these (at most 16); exit 0 once read
 *   once        one malformed inv, then a ping; exit 0 if the pong comes
 *   spam N      N connections from N addresses (spread as conns), each
 *               sending garbage; print how many the node hung up on
 *   bansdat N   write to stdout a bans.dat of N bans of those addresses,
 *               the last record cut short (no connection)
 *   group N S   N connections from one /16 (127.72.0.0/16) that answer
 *               every ping at once (all alike); print how many completed;
 *               hold S seconds
 *   getflood N S HASH
 *               every 200 ms for S seconds, a getdata naming block HASH N
 *               times; what comes back is read and dropped
 *   liar S      claim height 2^32-1, answer nothing; print how many
 *               getdata came within S seconds
 *   blockinv S announce a block nobody has; print how many getdata came
 *               for it within S seconds
 *   frame H N   from the coinbase of block H (ours), N payments in a
 *               line: each announced by this peer and, once the node asks
 *               for it, pushed first by a second connection (127.0.0.1),
 *               then sent by this one; exit 0 if this peer is still served
 *   twice S     a malformed inv, another S seconds later, then a ping;
 *               exit 0 if the pong comes
 *   proofs N S  N connections sending getproofs for 16 addresses nothing
 *               pays, about the genesis block, for S seconds as fast as
 *               the node takes them; print how many reads of answers
 *               there were
 *   fork N S    as headers, but forking from the genesis block
 *   control PATH N S
 *               N connections to the control socket PATH: the first asks
 *               `status` and never reads, the rest say nothing; hold S s
 * A false full node for a light node (t/light_test.sh):
 *   proxy P KIND
 *               listen on -b's address, port P; relay each connection to
 *               the node, frame by frame, changing the first proof of
 *               every proofs it answers as KIND says: branch (a byte of
 *               its merkle branch), pay (it names the transaction's other
 *               output), block (its block's height), withhold (no proofs at
 *               all, 300 ms late), fork (the light node's first
 *               getheaders is answered with 2,000 headers of a heavier
 *               fork from 10 blocks below its tip; no getheaders or
 *               getproofs is answered after); runs until killed
 * Privacy (t/privacy_test.sh, make bench ONLY=privacy):
 *   spy N S     N connections with handshakes, sources as conns, that
 *               answer pings; for S seconds print "MS CONN TXID" for every
 *               transaction any of them hears announced (MS: monotonic)
 *   sink P S    listen on -b's address, port P, as a full node taking
 *               stem transactions (SERVICE_STEM); swallow all; print how
 *               many stem messages came in S seconds
 *   getdata TXID S
 *               handshake, then a getdata for TXID at once: print "tx" if
 *               it is served, else "notfound"; then, once TXID is
 *               announced (S seconds at most), ask again: print "tx"
 *   socks P IP  a SOCKS5 proxy (RFC 1928, no authentication) on -b's
 *               address, port P: print each request's "HOST:PORT" and
 *               connect it to IP at the port asked; relay; until killed
 * With TESTPEER_STEM set, badtx and chains send their transactions as
 * stem messages; with TESTPEER_NOSTEM set, sink says services 1 only (a
 * full node that takes no stem transactions).
 * Every wait is bounded.  The network is regtest, or $TESTPEER_NET.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../node.h"

#define BAN_REC_LEN 24         /* ip[16] | i64 end, in bans.dat */
#define WAIT_MS 5000          /* longest wait for any answer */
#define PAYEES 4000           /* the addresses make_block's outputs pay */

static uint8_t magic[4] = { 'p', 'c', 'r', 't' };  /* TESTPEER_NET sets */
static const char *bind_ip;   /* -b */
static struct sockaddr_in to;
static uint8_t last[MAX_PAYLOAD]; /* the payload await() last matched... */
static size_t lastlen;        /* ...and its length */
static char matched[FRAME_CMD + 1]; /* ...and its command */
static uint32_t claim;        /* the height our version claims */
static uint64_t services = SERVICE_FULL; /* -L: 0, a light peer */

static uint32_t tip_of(int fd, uint8_t prev[HEADER_LEN]);

/* Milliseconds on the monotonic clock. */
static long long ms(void) {
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A blocking connection from src (or the default source) to the node;
 * -1 if it fails. */
static int dial(const char *src) {
	struct sockaddr_in me;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) return -1;
	if (src) {
		memset(&me, 0, sizeof me);
		me.sin_family = AF_INET;
		inet_pton(AF_INET, src, &me.sin_addr);
		if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send a message as a frame. */
static void say(int fd, const char *cmd, const uint8_t *b, size_t len) {
	uint8_t *f = malloc(FRAME_HEAD + len);

	frame_write(f, magic, cmd, b, len);
	if (write(fd, f, FRAME_HEAD + len) < 0)
		perror("write");
	free(f);
}

/* Is got one of the commands in list ("tx" or "tx|notfound")? */
static int named(const char *list, const char *got) {
	size_t n = strlen(got);
	const char *c;

	for (c = list; (c = strstr(c, got)) != NULL; c += n)
		if ((c == list || c[-1] == '|') && (!c[n] || c[n] == '|'))
			return 1;
	return 0;
}

/* Wait for a message named cmd (or one of "a|b"; skipping others),
 * copying the first 80
 * bytes of its payload to out80 if given; returns 0, or -1 on close,
 * error or timeout. */
static int await(int fd, const char *cmd, uint8_t *out80) {
	static uint8_t buf[FRAME_HEAD + MAX_PAYLOAD];
	static size_t have;
	long long end = ms() + WAIT_MS;
	struct pollfd p = { 0, POLLIN, 0 };
	const uint8_t *pl;
	const char *why;
	char got[FRAME_CMD + 1];
	size_t plen;
	long used;
	ssize_t k;

	p.fd = fd;
	for (;;) {
		while ((used = frame_parse(buf, have, magic, MAX_PAYLOAD, got,
		                           &pl, &plen, &why)) > 0) {
			int match = named(cmd, got);

			if (match && out80)
				memcpy(out80, pl, plen < 80 ? plen : 80);
			if (match) {
				memcpy(last, pl, lastlen = plen);
				strcpy(matched, got);
			}
			memmove(buf, buf + used, have - (size_t)used);
			have -= (size_t)used;
			if (match) return 0;
		}
		if (used < 0 || ms() > end || poll(&p, 1, 100) < 0) return -1;
		if (p.revents &&
		    (k = read(fd, buf + have, sizeof buf - have)) <= 0)
			return -1;
		if (p.revents)
			have += (size_t)k;
	}
}

/* Our version message. */
static void version(int fd) {
	uint8_t b[36 + 10];

	memset(b, 0, sizeof b);
	put32le(b, 1);
	put64le(b + 4, services);
	put64le(b + 12, (uint64_t)time(NULL));
	put64le(b + 20, (uint64_t)ms() * 7919 + (uint64_t)getpid());
	put32le(b + 30, claim);
	put16le(b + 34, 10);
	memcpy(b + 36, "/testpeer/", 10);
	say(fd, "version", b, sizeof b);
}

/* Handshake on a connected socket; returns 0 or -1. */
static int handshake(int fd) {
	version(fd);
	if (await(fd, "version", NULL) != 0) return -1;
	say(fd, "verack", NULL, 0);
	return await(fd, "verack", NULL);
}

/* Does the node close the connection within WAIT_MS? */
static int closed_by_node(int fd) {
	struct pollfd p = { 0, POLLIN, 0 };
	long long end = ms() + WAIT_MS;
	char buf[4096];

	p.fd = fd;
	while (ms() < end)
		if (poll(&p, 1, 100) > 0 && read(fd, buf, sizeof buf) <= 0)
			return 1;
	return 0;
}

/* A getdata of an unknown transaction and an unknown block: exit status
 * 0 if the notfound that answers it types each entry as it was asked. */
static int notfound(void) {
	uint8_t b[4 + 2 * INV_REC], got[80] = { 0 };
	int fd = dial(bind_ip);

	memset(b, 0xab, sizeof b);
	put32le(b, 2);
	put32le(b + 4, 1);
	put32le(b + 4 + INV_REC, 2);
	if (fd < 0 || handshake(fd) != 0) return 1;
	say(fd, "getdata", b, sizeof b);
	if (await(fd, "notfound", got) != 0) return 1;
	return get32le(got) == 2 && get32le(got + 4) == 1 &&
	       get32le(got + 4 + INV_REC) == 2 ? 0 : 1;
}

/* A protocol violation (twice, for the kinds that cost W_MALFORMED);
 * exit status 0 if the node hangs up. */
static int violate(const char *mode) {
	int fd = dial(bind_ip), k;
	uint8_t f[FRAME_HEAD + 8] = { 0 }, *big;
	size_t i;

	if (fd < 0) return 2;
	if (!strcmp(mode, "garbage")) {
		for (i = 0; i < sizeof f; i++)
			f[i] = (uint8_t)(i * 37 + 11);
		if (write(fd, f, sizeof f) < 0) return 2;
	} else if (!strcmp(mode, "magic") || !strcmp(mode, "checksum") ||
	           !strcmp(mode, "huge")) {
		frame_write(f, magic, "ping", f + FRAME_HEAD, 8);
		f[0] ^= !strcmp(mode, "magic");
		f[20] ^= !strcmp(mode, "checksum");
		if (!strcmp(mode, "huge"))
			put32le(f + 16, 0xffffffffu);
		if (write(fd, f, sizeof f) < 0) return 2;
	} else if (!strcmp(mode, "early")) {
		for (k = 0; k < 2; k++)
			say(fd, "ping", f, 8);
	} else if (handshake(fd) != 0) {
		return 2;
	} else if (!strcmp(mode, "addrflood")) {
		big = calloc(1, 2 + 1001 * ADDR_REC);
		put16le(big, 1001);
		for (k = 0; k < 2; k++)
			say(fd, "addr", big, 2 + 1001 * ADDR_REC);
		free(big);
	} else {
		big = calloc(1, 4 + 10 * INV_REC);
		put32le(big, 50001);             /* claims more than it holds */
		for (k = 0; k < 2; k++)
			say(fd, "inv", big, 4 + 10 * INV_REC);
		free(big);
	}
	return closed_by_node(fd) ? 0 : 1;
}

/* Print a hash byte-reversed, as the node shows it. */
static void print_hash(const uint8_t h[SHA256_LEN]) {
	int i;

	for (i = SHA256_LEN - 1; i >= 0; i--)
		printf("%02x", h[i]);
	printf("\n");
	fflush(stdout);
}

/* The command a transaction goes in: tx, or with TESTPEER_STEM set, stem
 * (a Dandelion++ stem transaction). */
static const char *txcmd(void) {
	return getenv("TESTPEER_STEM") ? "stem" : "tx";
}

/* A consensus-invalid block or transaction; exit 0 if the node hangs up. */
static int invalid(const char *mode) {
	const struct params *p = params_find("regtest");
	uint8_t gen[512], hash[SHA256_LEN], cb[512], addr[ADDR_LEN] = { 7 };
	uint8_t tx[4 + 2 + OUTPOINT_LEN + LMS_PUB_LEN + 2 + 2 + 8 + ADDR_LEN];
	uint8_t *txs[1], *blk;
	size_t lens[1], len;
	uint32_t h;
	int fd = dial(bind_ip);

	if (fd < 0 || handshake(fd) != 0) return 2;
	if (!strcmp(mode, "badblock")) {
		h = tip_of(fd, gen) + 1;
		sha256d(gen, HEADER_LEN, hash);
		txs[0] = cb;
		lens[0] = coinbase_write(h, addr, MAX_MONEY + 1, cb, sizeof cb);
		blk = block_make(hash, get32le(gen + HDR_TIME) + 1,
		                 p->limit_bits, txs, lens, 1, &len);
		while (block_mine(blk, len, 100000, time(NULL) + 60) == 0)
			;
		sha256d(blk, HEADER_LEN, hash);
		print_hash(hash);
		say(fd, "block", blk, len);
		free(blk);
	} else {
		memset(tx, 0x5a, sizeof tx);          /* (a made-up input) */
		put32le(tx, 1);
		put16le(tx + 4, 1);
		put16le(tx + 6 + OUTPOINT_LEN + LMS_PUB_LEN, 0);
		put16le(tx + 8 + OUTPOINT_LEN + LMS_PUB_LEN, 1);
		put64le(tx + 10 + OUTPOINT_LEN + LMS_PUB_LEN, MAX_MONEY + 1);
		sha256d(tx, sizeof tx, hash);
		print_hash(hash);
		say(fd, txcmd(), tx, sizeof tx);
	}
	return closed_by_node(fd) ? 0 : 1;
}

/* Announce a transaction and hoard it: the node must ask another
 * announcer.  Prints the getdata messages that came; exit 0. */
static int announce(const char *txid, int s) {
	uint8_t b[4 + INV_REC], r[SHA256_LEN];
	long long end = ms() + s * 1000LL;
	int fd = dial(bind_ip), i, asked = 0;

	if (fd < 0 || handshake(fd) != 0 ||
	    hex_decode(txid, r, SHA256_LEN) != 0)
		return 2;
	put32le(b, 1);
	put32le(b + 4, 1);                   /* type: transaction */
	for (i = 0; i < SHA256_LEN; i++)
		b[8 + i] = r[SHA256_LEN - 1 - i];
	say(fd, "inv", b, sizeof b);
	while (ms() < end && await(fd, "getdata", NULL) == 0)
		asked++;
	printf("%d\n", asked);
	return 0;
}

/* The source address of connection i: spread over 127.0.0.0/8. */
static const char *source(int i) {
	static char ip[32];

	if (bind_ip) return bind_ip;
	snprintf(ip, sizeof ip, "127.%d.%d.%d", 100 + i / 4 / 250 % 100,
	         i / 4 % 250 + 1, 1 + i % 4 * 50);
	return ip;
}

/* Open n connections (quiet, or with handshakes); hold them s seconds.
 * Prints how many the node closed (quiet) or completed (handshakes). */
static int many(int n, int s, int talk) {
	int *fd = calloc((size_t)n, sizeof *fd), i, count = 0;
	long long end;

	for (i = 0; i < n; i++) {
		fd[i] = dial(source(i));
		if (talk && fd[i] >= 0 && handshake(fd[i]) == 0)
			count++;
	}
	for (end = ms() + s * 1000LL; !talk && ms() < end;)
		poll(NULL, 0, 100);
	for (i = 0; !talk && i < n; i++)
		count += fd[i] < 0 || closed_by_node(fd[i]);
	printf("%d\n", count);
	fflush(stdout);
	if (talk)
		sleep((unsigned)s);
	for (i = 0; i < n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(fd);
	return 0;
}

/* Handshake, then n pings in batches, never reading the pongs: the
 * node's send buffer grows until it hangs up.  Exit 0 if it does. */
static int noread(int n) {
	int fd = dial(bind_ip), i;
	uint8_t *f = malloc(1000 * (FRAME_HEAD + 8)), b[8] = { 0 };

	if (fd < 0 || handshake(fd) != 0) return 2;
	for (i = 0; i < 1000; i++)
		frame_write(f + i * (FRAME_HEAD + 8), magic, "ping", b, 8);
	for (i = 0; i < n / 1000; i++)
		if (write(fd, f, 1000 * (FRAME_HEAD + 8)) < 0)
			break;                    /* it hung up: as it should */
	free(f);
	return i < n / 1000 ? 0 : 1;
}

/* ==== Attacks ==== */

/* The node's active headers after genesis (up to 2,000) into last; returns
 * how many, or -1. */
static long headers_of(int fd) {
	uint8_t b[4 + SHA256_LEN] = { 0 };

	say(fd, "getheaders", b, sizeof b);
	return await(fd, "headers", NULL) == 0 ? (long)get32le(last) : -1;
}

/* A hash from its display form (byte-reversed hex); 0 or -1. */
static int hash_arg(const char *s, uint8_t h[SHA256_LEN]) {
	uint8_t r[SHA256_LEN];
	int i;

	if (!s || strlen(s) != 64 || hex_decode(s, r, SHA256_LEN) != 0)
		return -1;
	for (i = 0; i < SHA256_LEN; i++)
		h[i] = r[SHA256_LEN - 1 - i];
	return 0;
}

/* A getdata of one block, count times. */
static void getdata(int fd, const uint8_t hash[SHA256_LEN], uint32_t count) {
	uint8_t *b = malloc(4 + (size_t)count * INV_REC);
	uint32_t i;

	put32le(b, count);
	for (i = 0; i < count; i++) {
		put32le(b + 4 + i * INV_REC, 2);
		memcpy(b + 8 + i * INV_REC, hash, SHA256_LEN);
	}
	say(fd, "getdata", b, 4 + (size_t)count * INV_REC);
	free(b);
}

/* Print the block at height h of the node's chain as hex. */
static int fetch(uint32_t h) {
	uint8_t hash[SHA256_LEN];
	int fd = dial(bind_ip);
	size_t i;

	if (fd < 0 || handshake(fd) != 0 || headers_of(fd) < (long)h || !h)
		return 1;
	sha256d(last + 4 + (h - 1) * HEADER_LEN, HEADER_LEN, hash);
	getdata(fd, hash, 1);
	if (await(fd, "block", NULL) != 0) return 1;
	for (i = 0; i < lastlen; i++)
		printf("%02x", last[i]);
	printf("\n");
	return 0;
}

/* Send the block given in hex; exit 0 if the node hangs up. */
static int push(const char *hex) {
	size_t len = strlen(hex) / 2;
	uint8_t *b = malloc(len + 1);
	int fd = dial(bind_ip);

	if (fd < 0 || handshake(fd) != 0 || hex_decode(hex, b, len) != 0)
		return 2;
	say(fd, "block", b, len);
	free(b);
	return closed_by_node(fd) ? 0 : 1;
}

/* The node's tip's header into prev; returns its height. */
static uint32_t tip_of(int fd, uint8_t prev[HEADER_LEN]) {
	const char *gen = params_find("regtest")->genesis;
	uint8_t g[512];
	long n = headers_of(fd);

	if (n > 0)
		memcpy(prev, last + 4 + (n - 1) * HEADER_LEN, HEADER_LEN);
	else if (hex_decode(gen, g, strlen(gen) / 2) == 0)
		memcpy(prev, g, HEADER_LEN);
	return n > 0 ? (uint32_t)n : 0;
}

/* Mine a regtest block at height h after the header prev, whose coinbase
 * has nout empty outputs (40 bytes each); its length into *len. */
static uint8_t *make_block(const uint8_t prev[HEADER_LEN], uint32_t h,
                           uint16_t nout, size_t *len) {
	static struct txout outs[24000];
	uint8_t hash[SHA256_LEN], op[OUTPOINT_LEN] = { 0 }, *cb, *blk;
	uint8_t key[LMS_PUB_LEN] = { 0 }, addr[ADDR_LEN] = { 9 };
	struct txin in = { op, key, NULL, 0 };
	struct tx t = { NULL, 0, { 0 }, 1, 0, &in, outs };
	size_t cblen, i;

	static uint8_t addrs[24000][ADDR_LEN];

	for (i = 0; i < nout; i++) {          /* (PAYEES addresses) */
		memcpy(addrs[i], addr, ADDR_LEN);
		put16le(addrs[i] + 1, (uint16_t)(i % PAYEES));
		outs[i].addr = addrs[i];
	}
	t.nout = nout;
	put32le(op + SHA256_LEN, h);
	cb = malloc(MAX_BLOCK_SIZE);
	cblen = tx_write(&t, cb, MAX_BLOCK_SIZE);
	sha256d(prev, HEADER_LEN, hash);
	blk = block_make(hash, get32le(prev + HDR_TIME) + 1, 0x207fffff, &cb,
	                 &cblen, 1, len);
	while (block_mine(blk, *len, 100000, time(NULL) + 60) == 0)
		;
	free(cb);
	return blk;
}

/* Mine a block of about 1 MB on the node's tip and send it; print its
 * hash. */
static int bigblock(void) {
	uint8_t prev[HEADER_LEN], hash[SHA256_LEN], *blk;
	size_t len;
	int fd = dial(bind_ip);

	if (fd < 0 || handshake(fd) != 0) return 2;
	blk = make_block(prev, tip_of(fd, prev) + 1, 24000, &len);
	sha256d(blk, HEADER_LEN, hash);
	say(fd, "block", blk, len);
	print_hash(hash);
	free(blk);
	sleep(1);                          /* (a moment to take it) */
	return 0;
}

/* Push n blocks of 100 kB, unasked, on a branch from genesis; exit 0 if
 * the node is still connected after them. */
static int sidebranch(int n) {
	const char *gen = params_find("regtest")->genesis;
	uint8_t prev[512], *blk;
	size_t len;
	int fd = dial(bind_ip), i;

	if (fd < 0 || handshake(fd) != 0 ||
	    hex_decode(gen, prev, strlen(gen) / 2) != 0)
		return 2;
	for (i = 1; i <= n; i++) {
		blk = make_block(prev, (uint32_t)i, 2500, &len);
		say(fd, "block", blk, len);
		memcpy(prev, blk, HEADER_LEN);
		free(blk);
	}
	say(fd, "ping", prev, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* n connections, each asking 15 times for a block and never reading. */
static int hog(int n, int s, const char *hex) {
	uint8_t hash[SHA256_LEN];
	int i, fd, count = 0;

	if (hash_arg(hex, hash) != 0) return 2;
	for (i = 0; i < n; i++)
		if ((fd = dial(source(i))) >= 0 && handshake(fd) == 0) {
			getdata(fd, hash, 15);
			count++;
		}
	printf("%d\n", count);
	fflush(stdout);
	sleep((unsigned)s);
	return 0;
}

/* n connections, each sending half of a frame of 2 MiB; print how many
 * the node closed within s seconds. */
static int unfinished(int n, int s) {
	uint8_t *f = calloc(1, FRAME_HEAD + MAX_PAYLOAD / 2);
	int *fd = calloc((size_t)n, sizeof *fd), i, count = 0;
	long long end;

	frame_write(f, magic, "block", NULL, 0);
	put32le(f + 16, MAX_PAYLOAD);
	for (i = 0; i < n; i++)
		if ((fd[i] = dial(source(i))) >= 0 && handshake(fd[i]) == 0 &&
		    write(fd[i], f, FRAME_HEAD + MAX_PAYLOAD / 2) < 0)
			perror("write");
	for (end = ms() + s * 1000LL; ms() < end;)
		poll(NULL, 0, 100);
	for (i = 0; i < n; i++)
		count += fd[i] < 0 || closed_by_node(fd[i]);
	printf("%d\n", count);
	free(f);
	free(fd);
	return 0;
}

/* Count the messages named cmd that come within 2 s. */
static int count_of(int fd, const char *cmd) {
	long long end = ms() + 2000;
	int n = 0;

	while (ms() < end && await(fd, cmd, NULL) == 0)
		n++;
	return n;
}

/* One getdata naming a block n times; print how many blocks came. */
static int dupget(int n, const char *hex) {
	uint8_t hash[SHA256_LEN];
	int fd = dial(bind_ip);

	if (fd < 0 || handshake(fd) != 0 || hash_arg(hex, hash) != 0) return 2;
	getdata(fd, hash, (uint32_t)n);
	printf("%d\n", count_of(fd, "block"));
	return 0;
}

/* A ping one byte every 200 ms; exit 0 if the node hangs up within s. */
static int slowloris(int s) {
	uint8_t f[FRAME_HEAD + 8] = { 0 };
	int fd = dial(bind_ip);
	long long end = ms() + s * 1000LL;
	size_t i;

	if (fd < 0 || handshake(fd) != 0) return 2;
	frame_write(f, magic, "ping", f + FRAME_HEAD, 8);
	for (i = 0; ms() < end; i = (i + 1) % sizeof f) {
		if (write(fd, f + i, 1) < 0) return 0;
		poll(NULL, 0, 200);
	}
	return 1;
}

/* The same getheaders n times; print how many headers answers came. */
static int getheaders(int n) {
	uint8_t b[4 + 2 * SHA256_LEN] = { 1 };
	int fd = dial(bind_ip), i;

	if (fd < 0 || handshake(fd) != 0) return 2;
	for (i = 0; i < n; i++) {
		put64le(b + 4, (uint64_t)ms() * 7919 + (uint64_t)i);
		say(fd, "getheaders", b, sizeof b);
	}
	printf("%d\n", count_of(fd, "headers"));
	return 0;
}

/* n headers with no bodies ever, on the node's tip (or with root, on the
 * genesis block: a fork); hold s seconds. */
static int headers(int n, int s, int root) {
	uint8_t *b = malloc(4 + (size_t)n * HEADER_LEN), *h, prev[SHA256_LEN];
	uint8_t tip[512];
	const char *gen = params_find("regtest")->genesis;
	int fd = dial(bind_ip), i;

	if (fd < 0 || handshake(fd) != 0) return 2;
	if (root)
		hex_decode(gen, tip, strlen(gen) / 2);
	else
		tip_of(fd, tip);
	sha256d(tip, HEADER_LEN, prev);
	for (i = 0; i < n; i++) {
		h = b + 4 + i * HEADER_LEN;
		memset(h, 0, HEADER_LEN);
		put32le(h, 1);
		memcpy(h + HDR_PREV, prev, SHA256_LEN);
		memset(h + HDR_MERKLE, 0x77 + root, SHA256_LEN);
		put32le(h + HDR_TIME,
		        get32le(tip + HDR_TIME) + 1 + (uint32_t)i);
		put32le(h + HDR_BITS, 0x207fffff);
		while (block_mine(h, HEADER_LEN, 1, 0) == 0)
			;
		sha256d(h, HEADER_LEN, prev);
	}
	put32le(b, (uint32_t)n);
	say(fd, "headers", b, 4 + (size_t)n * HEADER_LEN);
	free(b);
	sleep((unsigned)s);
	return 0;
}

/* For s seconds, every `every` ms, an inv of n random transactions (hash
 * NULL) or a getdata naming block hash n times; what the node sends
 * meanwhile is read and dropped. */
static int flood(int n, int s, int every, const uint8_t *hash) {
	uint8_t *b = malloc(4 + (size_t)n * INV_REC), junk[65536];
	struct pollfd p = { 0, POLLIN, 0 };
	long long end = ms() + s * 1000LL, next;
	int fd = dial(bind_ip), i, j;

	if (fd < 0 || handshake(fd) != 0) return 2;
	p.fd = fd;
	put32le(b, (uint32_t)n);
	while (ms() < end) {
		for (i = 0; i < n; i++) {
			put32le(b + 4 + i * INV_REC, hash ? 2 : 1);
			for (j = 0; j < SHA256_LEN; j++)
				b[8 + i * INV_REC + j] =
				        hash ? hash[j] : (uint8_t)rand();
		}
		say(fd, hash ? "getdata" : "inv", b, 4 + (size_t)n * INV_REC);
		for (next = ms() + every; ms() < next;)
			if (poll(&p, 1, 10) > 0 &&
			    read(fd, junk, sizeof junk) <= 0)
				return 1;
	}
	free(b);
	return 0;
}

/* n connections from one /16, answering pings, for s seconds. */
static int group(int n, int s) {
	struct pollfd *p = calloc((size_t)n, sizeof *p);
	uint8_t b[4096], f[FRAME_HEAD + 8];
	char ip[32];
	long long end = ms() + s * 1000LL;
	int i, count = 0;
	ssize_t k;

	for (i = 0; i < n; i++) {
		snprintf(ip, sizeof ip, "127.72.%d.%d", i / 200, i % 200 + 1);
		p[i].fd = dial(ip);
		p[i].events = POLLIN;
		count += p[i].fd >= 0 && handshake(p[i].fd) == 0;
	}
	printf("%d\n", count);
	fflush(stdout);
	while (ms() < end && poll(p, (nfds_t)n, 100) >= 0)
		/* (a ping comes alone: answer it) */
		for (i = 0; i < n; i++)
			if (p[i].revents &&
			    (k = read(p[i].fd, b, sizeof b)) >=
			            (ssize_t)sizeof f &&
			    memcmp(b + 4, "ping", 5) == 0) {
				frame_write(f, magic, "pong", b + FRAME_HEAD,
				            8);
				if (write(p[i].fd, f, sizeof f) < 0)
					p[i].fd = -1;
			} else if (p[i].revents && k <= 0) {
				p[i].fd = -1;
			}
	return 0;
}

/* Claim to be far ahead and answer nothing: print how many getdata
 * (requests for blocks it cannot have) came within s seconds. */
static int liar(int s) {
	int fd, asked = 0;
	long long end = ms() + s * 1000LL;

	claim = 0xffffffffu;
	if ((fd = dial(bind_ip)) < 0 || handshake(fd) != 0) return 2;
	while (ms() < end)
		if (await(fd, "getdata", NULL) == 0)
			asked++;
	printf("%d\n", asked);
	return 0;
}

/* Announce a block nobody has (a random hash); print how many getdata
 * came for it within s seconds (none, to a light peer: -L). */
static int blockinv(int s) {
	uint8_t b[4 + INV_REC] = { 1, 0, 0, 0, 2 };
	long long end = ms() + s * 1000LL;
	int fd = dial(bind_ip), asked = 0;

	put64le(b + 8, (uint64_t)ms() * 7919 + (uint64_t)getpid());
	if (fd < 0 || handshake(fd) != 0) return 2;
	say(fd, "inv", b, sizeof b);
	while (ms() < end && await(fd, "getdata", NULL) == 0)
		asked++;
	printf("%d\n", asked);
	return 0;
}

/* Wait ms milliseconds. */
static void nap(long msec) {
	struct timespec ts = { msec / 1000, msec % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/* A malformed inv (50 points), another s seconds later, then a ping:
 * exit 0 if the pong comes (the first offence's weight had decayed). */
static int twice(int s) {
	uint8_t b[4 + INV_REC] = { 0x51, 0xc3 };  /* (claims 50,001) */
	int fd = dial(bind_ip);

	if (fd < 0 || handshake(fd) != 0) return 2;
	say(fd, "inv", b, sizeof b);
	nap(s * 1000L);
	say(fd, "inv", b, sizeof b);
	say(fd, "ping", b, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* n connections, each sending getproofs for 16 addresses that nothing
 * pays, about the genesis block (a tip on every active chain: the node
 * looks at its whole chain), for s seconds, as fast as the node takes
 * them; the answers are read and dropped.  Print how many reads there
 * were. */
static int proofs(int n, int s) {
	uint8_t b[SHA256_LEN + 1 + 16 * ADDR_LEN] = { 0 }, gen[512];
	uint8_t junk[65536];
	const char *hex = params_find("regtest")->genesis;
	struct pollfd p[64];
	long long end = ms() + s * 1000LL;
	int i, got = 0, k = 0;

	for (i = 0; i < n && i < 64; i++) {
		p[i].fd = dial(source(i));
		p[i].events = POLLIN | POLLOUT;
		if (p[i].fd < 0 || handshake(p[i].fd) != 0) return 2;
	}
	if (hex_decode(hex, gen, strlen(hex) / 2) != 0) return 2;
	sha256d(gen, HEADER_LEN, b);
	b[SHA256_LEN] = 16;
	while (ms() < end && poll(p, (nfds_t)i, 100) >= 0)
		for (int j = 0; j < i; j++) {
			if (p[j].revents & POLLIN)
				got += read(p[j].fd, junk, sizeof junk) > 0;
			if (!(p[j].revents & POLLOUT)) continue;
			put32le(b + SHA256_LEN + 1, (uint32_t)k++);
			say(p[j].fd, "getproofs", b, sizeof b);
		}
	printf("%d\n", got);
	return 0;
}

/* Control clients that never finish: see the usage. */
static int control(const char *path, int n, int s) {
	struct sockaddr_un un = { 0 };
	int i, fd;

	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
	for (i = 0; i < n; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&un, sizeof un) != 0)
			return 2;
		if (i == 0 && write(fd, "status\n", 7) != 7) return 2;
	}
	sleep((unsigned)s);
	return 0;
}

/* Handshake, then two addr messages of n addresses over g groups. */
static int addrs(int n, int g) {
	int fd = dial(bind_ip), i, k;
	uint8_t *b = calloc(1, 2 + (size_t)n * ADDR_REC), *a;

	if (fd < 0 || handshake(fd) != 0 || g < 1) return 2;
	for (k = 0; k < 2; k++) {
		put16le(b, (uint16_t)n);
		for (i = 0; i < n; i++) {
			a = b + 2 + (size_t)i * ADDR_REC;
			a[10] = a[11] = 0xff;
			/* (loopback: a test node listens there, so it takes
			 * them) */
			a[12] = 127;
			a[13] = (uint8_t)(i % g);
			put16le(a + 14, (uint16_t)(k * n + i + 1));
			put16le(a + 16, (uint16_t)(9000 + getpid() % 1000));
			put64le(a + 18, (uint64_t)time(NULL));
		}
		say(fd, "addr", b, 2 + (size_t)n * ADDR_REC);
	}
	say(fd, "ping", b, 8);
	k = await(fd, "pong", NULL);
	free(b);
	close(fd);
	return k ? 1 : 0;
}

/* Handshake, then pings: print the median round trip in microseconds. */
static int pings(int n) {
	int fd = dial(bind_ip), i, j;
	long long *rtt = calloc((size_t)n, sizeof *rtt), t;
	uint8_t b[8], back[80];
	struct timespec a, z;

	if (fd < 0 || handshake(fd) != 0) return 2;
	for (i = 0; i < n; i++) {
		put64le(b, (uint64_t)i + 1);
		clock_gettime(CLOCK_MONOTONIC, &a);
		say(fd, "ping", b, 8);
		if (await(fd, "pong", back) != 0) return 2;
		clock_gettime(CLOCK_MONOTONIC, &z);
		rtt[i] = (z.tv_sec - a.tv_sec) * 1000000LL +
		         (z.tv_nsec - a.tv_nsec) / 1000;
		for (j = i; j > 0 && rtt[j - 1] > rtt[j]; j--) {
			t = rtt[j];
			rtt[j] = rtt[j - 1];
			rtt[j - 1] = t;
		}
	}
	printf("%lld\n", rtt[n / 2]);
	free(rtt);
	close(fd);
	return 0;
}

/* The attacker's own key (H5/W4, fixed seed; W8 with TESTPEER_W8 set):
 * its coins are mined to it with `peerchain mine N ADDRESS` (mode key
 * prints the address). */
static struct lms_key mine;
static uint8_t mine_pub[LMS_PUB_LEN], mine_addr[ADDR_LEN];

/* Make the key, once. */
static void my_key(void) {
	uint8_t I[LMS_I_LEN] = { 0x7e }, seed[LMS_SEED_LEN] = { 0x7f };

	if (mine_pub[0] || mine_pub[3]) return;
	lms_keygen(&mine, LMS_SHA256_M32_H5, getenv("TESTPEER_W8") ?
	           LMOTS_SHA256_N32_W8 : LMOTS_SHA256_N32_W4, I, seed);
	lms_public_key(&mine, mine_pub);
	sha256(mine_pub, LMS_PUB_LEN, mine_addr);
}

/* Sign and write a transaction of one input (outpoint op, ours) paying
 * n outputs: out[i] to addr[i]; its id into id.  Returns its length. */
static size_t pay(const uint8_t *op, struct txout *out, int n, uint8_t *buf,
                  size_t cap, uint8_t id[SHA256_LEN]) {
	static uint32_t q;
	static uint8_t sig[LMS_SIG_MAX];
	uint8_t sighash[SHA256_LEN];
	struct txin in = { 0 };
	struct tx t = { 0 };
	size_t len;

	in.prev = op;
	in.pub = mine_pub;
	t.nin = 1;
	t.nout = (uint16_t)n;
	t.in = &in;
	t.out = out;
	tx_sighash(&t, sighash);
	in.siglen = (uint16_t)lms_sign(&mine, q++ % 32, sighash, SHA256_LEN,
	                               sig, sizeof sig);
	in.sig = sig;
	len = tx_write(&t, buf, cap);
	sha256d(buf, len, id);
	return len;
}

/* The outpoint of the coinbase of the node's block at height h, which
 * must pay our key: into op; 0 or -1.  (The headers are asked for once:
 * the node answers the same getheaders once.) */
static int coinbase_at(int fd, uint32_t h, uint8_t op[OUTPOINT_LEN]) {
	static uint8_t hdrs[2000 * HEADER_LEN];
	static long n = -1;
	uint8_t hash[SHA256_LEN];
	struct block b;
	int ok;

	if (n < 0 && (n = headers_of(fd)) > 0)
		memcpy(hdrs, last + 4, (size_t)n * HEADER_LEN);
	if (n < (long)h || !h) return -1;
	sha256d(hdrs + (h - 1) * HEADER_LEN, HEADER_LEN, hash);
	getdata(fd, hash, 1);
	if (await(fd, "block", NULL) != 0 || block_parse(&b, last, lastlen))
		return -1;
	ok = memcmp(b.tx[0].out[0].addr, mine_addr, ADDR_LEN) == 0;
	outpoint(op, b.tx[0].id, 0);
	block_free(&b);
	return ok ? 0 : -1;
}

/* From the coinbases of blocks h, h+1, ... (50 coins each, ours): k
 * lines of n payments, each spending the one before (fee 0.0001), made
 * first, then sent at once, in order, as unasked tx messages; exit 0 once
 * the node has them all (a pong after them). */
static int chains(uint32_t h, int k, int n) {
	static uint8_t *buf;              /* (static: held till exit) */
	static size_t *len;
	uint8_t op[OUTPOINT_LEN], id[SHA256_LEN];
	struct txout out = { 50 * COIN, NULL };
	int fd = dial(bind_ip), i, j;

	buf = malloc(4096 * (size_t)(k * n) + 8);
	len = calloc((size_t)(k * n) + 1, sizeof *len);
	my_key();
	out.addr = mine_addr;
	if (fd < 0 || !buf || !len || handshake(fd) != 0) return 2;
	for (i = 0; i < k; i++) {
		if (coinbase_at(fd, h + (uint32_t)i, op) != 0) return 2;
		for (j = 0, out.amount = 50 * COIN; j < n; j++) {
			out.amount -= 10000;
			len[i * n + j] =
			        pay(op, &out, 1, buf + 4096 * (i * n + j), 4096,
			            id);
			outpoint(op, id, 0);
		}
	}
	for (i = 0; i < k * n; i++) {      /* (TESTPEER_REVERSE: last first) */
		j = getenv("TESTPEER_REVERSE") ? k * n - 1 - i : i;
		say(fd, txcmd(), buf + 4096 * j, len[j]);
	}
	say(fd, "ping", buf, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* The framing of an honest peer: from the coinbase of block h, n payments
 * in a line; each is announced by this peer, and when the node asks for
 * it, a second connection (from 127.0.0.1) pushes the same payment first,
 * then this one answers.  Exit 0 if this peer is still served after. */
static int frame(uint32_t h, int n) {
	static uint8_t buf[4096];
	uint8_t op[OUTPOINT_LEN], id[SHA256_LEN], b[4 + INV_REC];
	struct txout out = { 50 * COIN, NULL };
	int fd = dial(bind_ip), fa = dial("127.0.0.1"), i;
	size_t len;

	my_key();
	out.addr = mine_addr;
	if (fd < 0 || fa < 0 || handshake(fd) != 0 || handshake(fa) != 0 ||
	    coinbase_at(fd, h, op) != 0)
		return 2;
	put32le(b, 1);
	put32le(b + 4, 1);
	for (i = 0; i < n; i++) {
		out.amount -= 10000;
		len = pay(op, &out, 1, buf, sizeof buf, id);
		outpoint(op, id, 0);
		memcpy(b + 8, id, SHA256_LEN);
		say(fd, "inv", b, sizeof b);
		if (await(fd, "getdata", NULL) != 0) return 1;
		say(fa, "tx", buf, len);
		nap(100);                 /* (the attacker's copy is taken) */
		say(fd, "tx", buf, len);
	}
	say(fd, "ping", buf, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* Dust: from the coinbases of blocks h, h+1, ..., n outputs of 0.001
 * coin in all to the address given (72 hex digits), 2,000 a transaction,
 * change back to us; exit 0 once the node has them (a pong after). */
static int dust(uint32_t h, int n, const char *to) {
	static struct txout out[2001];
	static uint8_t buf[MAX_TX_SIZE];
	uint8_t op[OUTPOINT_LEN], id[SHA256_LEN], addr[ADDR_LEN];
	int fd = dial(bind_ip), i, k;

	my_key();
	if (fd < 0 || handshake(fd) != 0 || addr_parse(to, addr) != 0) return 2;
	for (; n > 0; n -= k, h++) {
		k = n < 2000 ? n : 2000;
		if (coinbase_at(fd, h, op) != 0) return 2;
		for (i = 0; i < k; i++) {
			out[i].amount = COIN / 1000;
			out[i].addr = addr;
		}
		out[k].amount =
		        50 * COIN - (uint64_t)k * (COIN / 1000) - 100000;
		out[k].addr = mine_addr;
		say(fd, "tx", buf, pay(op, out, k + 1, buf, sizeof buf, id));
	}
	say(fd, "ping", buf, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* Tell the node the addresses given ("IP:PORT" each) in one addr; exit
 * 0 once it has read it (a pong after). */
static int tell(char **arg, int n) {
	uint8_t b[2 + 16 * ADDR_REC] = { 0 }, *a;
	struct naddr x;
	int fd = dial(bind_ip), i;

	if (fd < 0 || handshake(fd) != 0 || n > 16) return 2;
	put16le(b, (uint16_t)n);
	for (i = 0; i < n; i++) {
		a = b + 2 + i * ADDR_REC;
		if (net_resolve(arg[i], &x) != 0) return 2;
		memcpy(a, x.ip, 16);
		put16le(a + 16, x.port);
		put64le(a + 18, (uint64_t)time(NULL));
	}
	say(fd, "addr", b, 2 + (size_t)n * ADDR_REC);
	say(fd, "ping", b, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* One malformed inv (W_MALFORMED: half a ban), then a ping; exit 0 if
 * the pong comes: the peer is still served. */
static int once(void) {
	uint8_t b[4 + INV_REC] = { 0 };
	int fd = dial(bind_ip);

	if (fd < 0 || handshake(fd) != 0) return 2;
	put32le(b, 2);                       /* claims two, holds one */
	say(fd, "inv", b, sizeof b);
	say(fd, "ping", b, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* n connections from n addresses (spread, as conns), each sending
 * garbage: n bans.  Prints how many the node hung up on. */
static int spam(int n) {
	uint8_t junk[FRAME_HEAD];
	int i, fd, count = 0;

	memset(junk, 0x33, sizeof junk);
	for (i = 0; i < n; i++) {
		if ((fd = dial(source(i))) < 0) continue;
		if (write(fd, junk, sizeof junk) == (ssize_t)sizeof junk)
			count += closed_by_node(fd);
		close(fd);
	}
	printf("%d\n", count);
	return 0;
}

/* Write to stdout a bans.dat of n bans (127.a.b.c, record i from the
 * source of connection i, each for an hour), the last record cut short. */
static int bansdat(int n) {
	uint8_t rec[BAN_REC_LEN] = { 0 };
	struct naddr a;
	int i;

	printf("PCBN");
	put32le(rec, (uint32_t)n);
	fwrite(rec, 4, 1, stdout);
	for (i = 0; i < n; i++) {
		net_parse_ip(source(i), &a);
		memcpy(rec, a.ip, 16);
		put64le(rec + 16, (uint64_t)time(NULL) + 3600);
		fwrite(rec, i + 1 < n ? BAN_REC_LEN : BAN_REC_LEN / 2, 1,
		       stdout);
	}
	return fflush(stdout) != 0;
}

/* A proofs payload changed as kind says (see proxy); returns its length:
 * tip[32] | status | u16 count | count x (u32 height | u32 pos | u8 depth |
 * depth x hash[32] | u32 output | u32 length | tx).  A branch is forged in
 * the first proof that has one (a block of the coinbase alone has none). */
static size_t forge(uint8_t *m, size_t len, const char *kind) {
	size_t at = 35, k, i;
	if (len < at + 13 || get16le(m + 33) == 0) return len;
	for (i = 0; !strcmp(kind, "branch") && i + 1 < get16le(m + 33) &&
	     at + 17 <= len && !m[at + 8]; i++)
		at += 9 + 4 + 4 + get32le(m + at + 13);
	if (!strcmp(kind, "withhold")) {       /* (and last to answer) */
		struct timespec ts = { 0, 300000000 };
		nanosleep(&ts, NULL);
		put16le(m + 33, 0);
		return at;
	}
	k = at + 9 + (size_t)m[at + 8] * 32;
	if (!strcmp(kind, "block"))
		m[at] ^= 1;
	if (!strcmp(kind, "branch") && m[at + 8])
		m[at + 9] ^= 1;
	if (!strcmp(kind, "pay"))
		put32le(m + k, get32le(m + k) ^ 1);
	return len;
}

/* For a getheaders payload g (a locator from the light node's tip): into
 * m, a headers message of MAX_HEADERS headers forking from the 11th hash
 * of the locator (10 blocks below that tip), a heavier branch; returns
 * its length, or 0 if the locator is shorter. */
static size_t fork_headers(const uint8_t *g, size_t len, uint8_t *m) {
	uint8_t prev[SHA256_LEN], *h;
	uint32_t i, t = (uint32_t)time(NULL) + 3600;

	if (len < 4 + 12 * SHA256_LEN || get32le(g) < 12) return 0;
	memcpy(prev, g + 4 + 10 * SHA256_LEN, SHA256_LEN);
	put32le(m, 2000);
	for (i = 0; i < 2000; i++) {
		h = m + 4 + i * HEADER_LEN;
		memset(h, 0x5a, HEADER_LEN);
		put32le(h, 1);
		memcpy(h + HDR_PREV, prev, SHA256_LEN);
		put32le(h + HDR_TIME, t + i);
		put32le(h + HDR_BITS, 0x207fffff);
		while (block_mine(h, HEADER_LEN, 1, 0) == 0)
			;
		sha256d(h, HEADER_LEN, prev);
	}
	return 4 + 2000 * HEADER_LEN;
}

/* Relay frames between fd[0] (the light node) and fd[1] (the node) until
 * either hangs up, forging the proofs that come back (or, for kind fork,
 * answering the light node's first getheaders with a heavier fork, and
 * no getheaders or getproofs after). */
static void relay(int fd[2], const char *kind) {
	static uint8_t buf[2][FRAME_HEAD + MAX_PAYLOAD], m[MAX_PAYLOAD],
	               out[FRAME_HEAD + MAX_PAYLOAD];
	struct pollfd p[2] = { { 0, POLLIN, 0 }, { 0, POLLIN, 0 } };
	size_t have[2] = { 0, 0 }, plen, n, sent;
	const uint8_t *pl;
	const char *why;
	char cmd[FRAME_CMD + 1];
	long used = 0;
	ssize_t k;
	int i, to, forked = 0;

	p[0].fd = fd[0];
	p[1].fd = fd[1];
	while (poll(p, 2, 1000) >= 0)
		for (i = 0; i < 2; i++) {
			if (!p[i].revents) continue;
			k = read(fd[i], buf[i] + have[i],
			         sizeof buf[i] - have[i]);
			if (k <= 0) return;
			have[i] += (size_t)k;
			while ((used = frame_parse(buf[i], have[i], magic,
			                           MAX_PAYLOAD, cmd, &pl, &plen,
			                           &why)) > 0) {
				memcpy(m, pl, plen);
				if (i == 1 && !strcmp(cmd, "proofs"))
					plen = forge(m, plen, kind);
				to = fd[1 - i];
				if (i == 0 && !strcmp(cmd, "getproofs") &&
				    !strcmp(kind, "fork"))
					to = -1;      /* (never answered) */
				if (i == 0 && !strcmp(cmd, "getheaders") &&
				    !strcmp(kind, "fork")) {
					plen = forked ? 0 :
					       fork_headers(pl, plen, m);
					forked = 1;
					strcpy(cmd, "headers");
					to = plen ? fd[0] : -1;
				}
				n = frame_write(out, magic, cmd, m, plen);
				for (sent = 0; to >= 0 && sent < n;
				     sent += (size_t)k)
					if ((k = write(to, out + sent,
					               n - sent)) <= 0)
						return;
				memmove(buf[i], buf[i] + used,
				        have[i] - (size_t)used);
				have[i] -= (size_t)used;
			}
			if (used < 0) return;
		}
}

/* A listening socket on -b's address, port; -1 if none can be made. */
static int listener(int port) {
	struct sockaddr_in me;
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&me, 0, sizeof me);
	me.sin_family = AF_INET;
	me.sin_port = htons((uint16_t)port);
	if (ls < 0 || !bind_ip ||
	    inet_pton(AF_INET, bind_ip, &me.sin_addr) != 1)
		return -1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&me, sizeof me) || listen(ls, 8))
		return -1;
	return ls;
}

/* A false full node: see the usage (proxy). */
static int proxy(int port, const char *kind) {
	int ls = listener(port), fd[2];

	if (ls < 0) return 2;
	for (;;) {
		fd[0] = accept(ls, NULL, NULL);
		fd[1] = dial(bind_ip);
		if (fd[0] >= 0 && fd[1] >= 0)
			relay(fd, kind);
		close(fd[0]);
		close(fd[1]);
	}
}

/* ==== Privacy: a spy, a stem sink, a probe ==== */
#define WATCH_MAX 64          /* connections one watch() serves */

/* Print "MS CONN TXID" for each transaction an inv (pl, len) names. */
static void heard(const uint8_t *pl, size_t len, int conn) {
	size_t j;

	for (j = 0; 4 + (j + 1) * INV_REC <= len; j++)
		if (get32le(pl + 4 + j * INV_REC) == 1) {
			printf("%lld %d ", ms(), conn);
			print_hash(pl + 8 + j * INV_REC);
		}
}

/* Serve connections fd[0..n) (and new ones accepted on ls, if not -1)
 * for s seconds: a version is answered with ours and verack, a ping with
 * its pong; every transaction announced prints "MS CONN TXID" (MS on the
 * monotonic clock, CONN the connection's index); returns how many stem
 * messages came. */
static int watch(int *fd, int n, int ls, int s) {
	static uint8_t buf[WATCH_MAX][FRAME_HEAD + 4096];
	size_t have[WATCH_MAX] = { 0 }, plen;
	struct pollfd p[WATCH_MAX + 1];
	long long end = ms() + s * 1000LL;
	const uint8_t *pl;
	const char *why;
	char cmd[FRAME_CMD + 1];
	long used;
	ssize_t k;
	int i, stems = 0;

	while (ms() < end) {
		for (i = 0; i < n; i++) {
			p[i].fd = fd[i];
			p[i].events = POLLIN;
		}
		p[n].fd = ls;
		p[n].events = POLLIN;
		if (poll(p, (nfds_t)n + 1, 100) <= 0) continue;
		for (i = 0; i < n; i++) {
			if (!p[i].revents || fd[i] < 0) continue;
			if (have[i] == sizeof buf[i])    /* (a frame too big) */
				have[i] = 0;
			k = read(fd[i], buf[i] + have[i],
			         sizeof buf[i] - have[i]);
			if (k <= 0) {
				close(fd[i]);
				fd[i] = -1;
				continue;
			}
			have[i] += (size_t)k;
			while ((used = frame_parse(buf[i], have[i], magic,
			                           sizeof buf[i] - FRAME_HEAD,
			                           cmd, &pl, &plen,
			                           &why)) > 0) {
				if (!strcmp(cmd, "version")) {
					version(fd[i]);
					say(fd[i], "verack", NULL, 0);
				}
				if (!strcmp(cmd, "ping"))
					say(fd[i], "pong", pl, plen);
				stems += !strcmp(cmd, "stem");
				if (!strcmp(cmd, "inv"))
					heard(pl, plen, i);
				memmove(buf[i], buf[i] + used,
				        have[i] - (size_t)used);
				have[i] -= (size_t)used;
			}
			if (used < 0)        /* (too big for us: skipped) */
				have[i] = 0;
		}
		/* (a new connection last: its slot had no poll entry yet) */
		if (p[n].revents && n < WATCH_MAX &&
		    (fd[n] = accept(ls, NULL, NULL)) >= 0)
			n++;
	}
	return stems;
}

/* spy N S: N connections with handshakes (sources as conns), watched for
 * S seconds (watch prints what they hear). */
static int spy(int n, int s) {
	int fd[WATCH_MAX], i;

	for (i = 0; i < n && i < WATCH_MAX; i++)
		if ((fd[i] = dial(source(i))) < 0 || handshake(fd[i]) != 0)
			return 2;
	watch(fd, i, -1, s);
	return 0;
}

/* sink P S: listen on -b's address, port P, as a full node that takes
 * stem transactions and swallows them; after S seconds print how many
 * stem messages came. */
static int sink(int port, int s) {
	int ls = listener(port), fd[WATCH_MAX];

	if (ls < 0) return 2;
	services = getenv("TESTPEER_NOSTEM") ? SERVICE_FULL :
	           SERVICE_FULL | SERVICE_STEM;
	printf("%d\n", watch(fd, 0, ls, s));
	return 0;
}

/* getdata TXID S: handshake, then at once a getdata for the transaction
 * (not yet announced to us): print "notfound" or "tx"; then wait up to S
 * seconds for its announcement and ask again: print "tx" if it comes. */
static int probe(const char *txid, int s) {
	uint8_t b[4 + INV_REC], r[SHA256_LEN];
	long long end = ms() + s * 1000LL;
	int fd = dial(bind_ip), i;

	if (fd < 0 || handshake(fd) != 0 ||
	    hex_decode(txid, r, SHA256_LEN) != 0)
		return 2;
	put32le(b, 1);
	put32le(b + 4, 1);
	for (i = 0; i < SHA256_LEN; i++)
		b[8 + i] = r[SHA256_LEN - 1 - i];
	say(fd, "getdata", b, sizeof b);
	if (await(fd, "tx|notfound", NULL) != 0) return 1;
	printf("%s\n", matched);
	while (ms() < end && await(fd, "inv", NULL) == 0)
		if (lastlen == sizeof b && !memcmp(last + 8, b + 8, 32)) {
			say(fd, "getdata", b, sizeof b);
			if (await(fd, "tx|notfound", NULL) != 0) return 1;
			printf("%s\n", matched);
			break;
		}
	fflush(stdout);
	return 0;
}

/* Read exactly n bytes; 0, or -1 if the connection ends first. */
static int readn(int fd, uint8_t *b, size_t n) {
	ssize_t k;

	for (; n > 0; n -= (size_t)k, b += k)
		if ((k = read(fd, b, n)) <= 0) return -1;
	return 0;
}

/* socks P IP: a SOCKS5 proxy (RFC 1928, no authentication) on -b's
 * address, port P.  Each request is printed as "HOST:PORT" (a name as
 * given; an IPv4 address as an IP) and connected to IP, at the port
 * asked, whatever the host; then relayed frame by frame.  One connection
 * at a time, until killed. */
static int socks(int port, const char *ip) {
	static const uint8_t ok[10] = { 5, 0, 0, 1 };
	int ls = listener(port), fd[2];
	uint8_t b[300];
	char host[256];
	size_t at;

	if (ls < 0 || inet_pton(AF_INET, ip, &to.sin_addr) != 1) return 2;
	for (;;) {
		if ((fd[0] = accept(ls, NULL, NULL)) < 0) continue;
		if (readn(fd[0], b, 2) || readn(fd[0], b + 2, b[1]) ||
		    write(fd[0], "\5\0", 2) != 2 || readn(fd[0], b, 5) ||
		    b[0] != 5 || b[1] != 1 || (b[3] != 1 && b[3] != 3) ||
		    readn(fd[0], b + 5, b[3] == 1 ? 5 : (size_t)b[4] + 2)) {
			close(fd[0]);
			continue;
		}
		if (b[3] == 1)
			inet_ntop(AF_INET, b + 4, host, sizeof host);
		else
			snprintf(host, sizeof host, "%.*s", b[4],
			         (char *)b + 5);
		at = b[3] == 1 ? 8 : 5 + (size_t)b[4];   /* (the port) */
		to.sin_port = htons((uint16_t)(b[at] << 8 | b[at + 1]));
		printf("%s:%u\n", host, (unsigned)ntohs(to.sin_port));
		fflush(stdout);
		fd[1] = dial(bind_ip);
		if (fd[1] >= 0 && write(fd[0], ok, sizeof ok) == sizeof ok)
			relay(fd, "plain");
		close(fd[0]);
		close(fd[1]);
	}
}

/* ==== Modes ==== */
/* Each mode's arguments: n and s (the numbers after MODE, 1 and 0 if
 * absent) and every word after MODE, as arg[0...]. */
struct call {
	int n, s;
	char **arg;
	int nargs;
};

/* good: a handshake and a ping answered. */
static int m_good(const struct call *c) {
	uint8_t b[8] = { 1 };
	int fd = dial(bind_ip);
	(void)c;
	if (fd < 0 || handshake(fd) != 0)
		return 1;
	say(fd, "ping", b, 8);
	return await(fd, "pong", NULL) == 0 ? 0 : 1;
}

/* key: print the address of the key the test peer pays and is paid to. */
static int m_key(const struct call *c) {
	char text[ADDR_TEXT_LEN + 1];
	(void)c;
	my_key();
	addr_text(mine_addr, text);
	return printf("%s\n", text) < 0;
}

static int m_hold(const struct call *c) { return many(c->n, c->s, 0); }
static int m_conns(const struct call *c) { return many(c->n, c->s, 1); }
static int m_ping(const struct call *c) { return pings(c->n); }
static int m_addrs(const struct call *c) { return addrs(c->n, c->s); }
static int m_noread(const struct call *c) { return noread(c->n); }
static int m_announce(const struct call *c) {
	return announce(c->arg[0], c->s);
}
static int m_spy(const struct call *c) { return spy(c->n, c->s); }
static int m_socks(const struct call *c) { return socks(c->n, c->arg[1]); }
static int m_sink(const struct call *c) { return sink(c->n, c->s); }
static int m_probe(const struct call *c) { return probe(c->arg[0], c->s); }
static int m_notfound(const struct call *c) {
	(void)c;
	return notfound();
}
static int m_badblock(const struct call *c) {
	(void)c;
	return invalid("badblock");
}
static int m_badtx(const struct call *c) {
	(void)c;
	return invalid("badtx");
}
static int m_fetch(const struct call *c) { return fetch((uint32_t)c->n); }
static int m_push(const struct call *c) { return push(c->arg[0]); }
static int m_bigblock(const struct call *c) {
	(void)c;
	return bigblock();
}
static int m_sidebranch(const struct call *c) { return sidebranch(c->n); }
static int m_hog(const struct call *c) { return hog(c->n, c->s, c->arg[2]); }
static int m_unfinished(const struct call *c) {
	return unfinished(c->n, c->s);
}
static int m_dupget(const struct call *c) { return dupget(c->n, c->arg[1]); }
static int m_slowloris(const struct call *c) { return slowloris(c->n); }
static int m_getheaders(const struct call *c) { return getheaders(c->n); }
static int m_headers(const struct call *c) { return headers(c->n, c->s, 0); }
static int m_liar(const struct call *c) { return liar(c->n); }
static int m_blockinv(const struct call *c) { return blockinv(c->n); }
static int m_frame(const struct call *c) {
	return frame((uint32_t)c->n, c->s);
}
static int m_twice(const struct call *c) { return twice(c->n); }
static int m_proofs(const struct call *c) { return proofs(c->n, c->s); }
static int m_fork(const struct call *c) { return headers(c->n, c->s, 1); }
static int m_invflood(const struct call *c) {
	return flood(c->n, c->s, 1000, NULL);
}
static int m_getflood(const struct call *c) {
	uint8_t b[SHA256_LEN];
	if (hash_arg(c->arg[2], b))
		return 2;
	return flood(c->n, c->s, 200, b);
}
static int m_group(const struct call *c) { return group(c->n, c->s); }
static int m_chains(const struct call *c) {
	return chains((uint32_t)c->n, c->s, atoi(c->arg[2]));
}
static int m_dust(const struct call *c) {
	return dust((uint32_t)c->n, c->s, c->arg[2]);
}
static int m_once(const struct call *c) {
	(void)c;
	return once();
}
static int m_spam(const struct call *c) { return spam(c->n); }
static int m_bansdat(const struct call *c) { return bansdat(c->n); }
static int m_tell(const struct call *c) { return tell(c->arg, c->nargs); }
static int m_proxy(const struct call *c) { return proxy(c->n, c->arg[1]); }
static int m_control(const struct call *c) {
	return control(c->arg[0], atoi(c->arg[1]), atoi(c->arg[2]));
}

/* Every mode: its name, the words it needs after MODE, its function.
 * A mode not here is one of violate()'s protocol violations. */
static const struct mode {
	const char *name;
	int min;
	int (*fn)(const struct call *c);
} modes[] = {
	{ "good", 0, m_good },             { "hold", 0, m_hold },
	{ "conns", 0, m_conns },           { "ping", 0, m_ping },
	{ "addrs", 0, m_addrs },           { "noread", 0, m_noread },
	{ "announce", 2, m_announce },     { "notfound", 0, m_notfound },
	{ "badblock", 0, m_badblock },     { "badtx", 0, m_badtx },
	{ "fetch", 0, m_fetch },           { "push", 1, m_push },
	{ "bigblock", 0, m_bigblock },     { "sidebranch", 0, m_sidebranch },
	{ "hog", 3, m_hog },               { "unfinished", 0, m_unfinished },
	{ "dupget", 2, m_dupget },         { "slowloris", 0, m_slowloris },
	{ "getheaders", 0, m_getheaders }, { "headers", 0, m_headers },
	{ "liar", 0, m_liar },             { "invflood", 0, m_invflood },
	{ "getflood", 3, m_getflood },     { "group", 0, m_group },
	{ "key", 0, m_key },               { "chains", 3, m_chains },
	{ "dust", 3, m_dust },             { "once", 0, m_once },
	{ "spam", 0, m_spam },             { "bansdat", 0, m_bansdat },
	{ "tell", 0, m_tell },             { "proxy", 2, m_proxy },
	{ "control", 3, m_control },       { "blockinv", 1, m_blockinv },
	{ "frame", 2, m_frame },           { "twice", 1, m_twice },
	{ "proofs", 2, m_proofs },         { "fork", 2, m_fork },
	{ "spy", 2, m_spy },               { "sink", 2, m_sink },
	{ "getdata", 2, m_probe },         { "socks", 2, m_socks },
};

/* Run the mode called name with its words; a name the table lacks, or a
 * mode given too few words, falls to violate(). */
static int run_mode(const char *name, int nargs, char **arg, int n, int s) {
	struct call c = { n, s, arg, nargs };
	size_t i;
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(modes[i].name, name) && nargs >= modes[i].min)
			return modes[i].fn(&c);
	return violate(name);
}

int main(int argc, char **argv) {
	int a = 1, n, s;

	signal(SIGPIPE, SIG_IGN);     /* a node hanging up is an answer */
	if (getenv("TESTPEER_NET") && params_find(getenv("TESTPEER_NET")))
		memcpy(magic, params_find(getenv("TESTPEER_NET"))->magic, 4);
	if (argc > 1 && strcmp(argv[1], "-L") == 0) {
		services = 0;
		a = 2;
	}
	if (argc > a + 1 && strcmp(argv[a], "-b") == 0) {
		bind_ip = argv[a + 1];
		a += 2;
	}
	if (argc - a < 3) {
		fprintf(stderr,
		        "usage: testpeer [-b SRCIP] HOST PORT MODE [N [S]]\n");
		return 2;
	}
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(argv[a + 1]));
	if (inet_pton(AF_INET, argv[a], &to.sin_addr) != 1) return 2;
	n = argc - a > 3 ? atoi(argv[a + 3]) : 1;
	s = argc - a > 4 ? atoi(argv[a + 4]) : 0;
	return run_mode(argv[a + 2], argc - a - 3, argv + a + 3, n, s);
}
