/*
 * node.c - peerchain's main() and its command line.
 *
 * peerchain is a small proof-of-work blockchain node.  Every node is client
 * and server at once: it finds peers, gossips transactions and blocks,
 * checks everything itself and keeps the chain with the most work.  What
 * stands today:
 *
 *   chain.c   the ledger: blocks and transactions, every rule they must
 *             obey, the block files, the unspent outputs, the choice of
 *             the chain with the most work, and the mempool.
 *   wallet.c  the owner's keys and addresses, and payments.
 *   lms.c     LMS signatures (RFC 8554): hash-based, so the chain trusts
 *             nothing but SHA-256.  A key signs at most 2^h messages, one
 *             per leaf of its Merkle tree.
 *   sha256.c  SHA-256, the one hash function of the whole system: block
 *             and transaction ids, proof of work, merkle roots, signatures.
 *   net.c     connections: the wire format, the handshake, finding peers,
 *             limits and bans, and the control socket.
 *   gossip.c  what peers tell each other: transactions and blocks spread
 *             by announce-then-fetch, and sync of a node that is behind.
 *   node.h    the byte-order helpers every format is written with, and the
 *             functions each file offers the others.
 *
 * This file is the command line, a table of subcommands, and `run`: the
 * node's one poll() loop, with the miner working in short slices between
 * its turns.  While a node runs, the wallet and chain commands are sent to
 * it through its control socket and run there, by the same code; with no
 * node running they open the data directory themselves.  Start reading
 * main().
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

/* A subcommand: `peerchain NAME ARGS...`. */
struct command {
	const char *name;                  /* what the user types */
	int (*run)(int argc, char **argv); /* returns the exit status */
	int where;                         /* HERE, NODE or EITHER */
	const char *help;                  /* one line for `peerchain help` */
};

/* Where a command runs. */
#define HERE   1    /* in this process */
#define NODE   2    /* in the running node (an error if none runs) */
#define EITHER 3    /* in the running node if there is one, else here */

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_address(int argc, char **argv);
static int cmd_wallet(int argc, char **argv);
static int cmd_mine(int argc, char **argv);
static int cmd_tip(int argc, char **argv);
static int cmd_block(int argc, char **argv);
static int cmd_tx(int argc, char **argv);
static int cmd_balance(int argc, char **argv);
static int cmd_send(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_seen(int argc, char **argv);

static const struct command commands[] = {
	{ "help", cmd_help, HERE, "list the commands" },
	{ "version", cmd_version, HERE, "print the version" },
	{ "run", cmd_run, HERE, "be a node: connect, listen, gossip, mine "
	  "with -m, until stopped" },
	{ "address", cmd_address, EITHER, "[new]  the wallet's receiving "
	  "address" },
	{ "wallet", cmd_wallet, EITHER, "the wallet's keys and the leaves they "
	  "used" },
	{ "balance", cmd_balance, EITHER, "the wallet's coins: confirmed, "
	  "immature, unconfirmed" },
	{ "send", cmd_send, NODE, "AMOUNT ADDRESS [FEE]  pay: the node checks "
	  "and gossips it" },
	{ "mine", cmd_mine, EITHER, "N [ADDRESS]  mine N blocks now (a running "
	  "node: regtest only)" },
	{ "tip", cmd_tip, EITHER, "the best block and the mempool" },
	{ "block", cmd_block, EITHER, "HASH|HEIGHT  a block" },
	{ "tx", cmd_tx, EITHER, "TXID  a transaction and its status" },
	{ "seen", cmd_seen, NODE, "HASH  when the node first took a block or "
	  "transaction" },
	{ "status", NULL, NODE, "the running node: height, peers, "
	  "addresses" },
	{ "peers", NULL, NODE, "the running node's connections" },
	{ "stats", NULL, NODE, "messages and bytes by command; gossip's "
	  "counters" },
	{ "connect", NULL, NODE, "HOST:PORT  connect to a peer now" },
	{ "ban", NULL, NODE, "IP [SECONDS]  drop and ban an address" },
	{ "unban", NULL, NODE, "IP  lift a ban" },
	{ "stop", NULL, NODE, "stop the running node" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

#define DEFAULT_NET  "main"
#define DEFAULT_FEE  10000          /* base units: 0.0001 coin */
#define MINE_SLICE   100000         /* nonces between looks at the clock */
#define FLUSH_MS     100            /* a running node flushes its block file
                                       this often at most */
#define MINE_TURN_US 10             /* microseconds the running node's miner
                                       works per turn of the loop: a peer
                                       waits little for an answer, and
                                       poll() costs little against it */
#define MINE_STEP    8              /* nonces between looks at the clock */

/* What need() opens for a command. */
#define CHAIN      1
#define WALLET     2                /* the wallet must exist */
#define NEW_WALLET 4                /* the wallet is made if missing */

static const char *opt_dir;         /* -d: the data directory */
static const char *opt_net = DEFAULT_NET; /* -n: the network */
static struct chain *chain;         /* opened by need(), closed by main() */
static struct wallet *wallet;
static char netdir[4096];           /* -d/-n: where the network's files are */
static struct net_opts nopt = {     /* the node's options (run) */
	NULL, NULL, NULL, NULL, 0, NULL, 0, 8, 117, 0, 60, 120, 20 * 60,
	24 * 60 * 60
};
static volatile sig_atomic_t got_signal; /* SIGINT or SIGTERM arrived */
static int no_listen;                /* -L: outbound only, as behind NAT */
static int opt_mine;                 /* -m: mine in the loop */
static int tx_delay = TX_DELAY_MS;   /* -T: tx announcement batching */
static struct gossip *gossip;        /* set while the node runs */
static FILE *out;                    /* where commands print: stdout, or a
                                        control client's answer */
static int remote;                   /* 1: running for a control client */

/* Say what went wrong: on stderr, or as an error line to a control
 * client. */
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs(remote ? "error: " : "peerchain: ", remote ? out : stderr);
	va_start(ap, fmt);
	vfprintf(remote ? out : stderr, fmt, ap);
	va_end(ap);
}

/* Print a hash as Bitcoin does: byte-reversed hex, so proof of work shows
 * as leading zeros.  Returns a static buffer: one call per printf. */
static const char *hash_text(const uint8_t h[SHA256_LEN])
{
	static char buf[2 * SHA256_LEN + 1];
	uint8_t r[SHA256_LEN];
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		r[i] = h[SHA256_LEN - 1 - i];
	hex_encode(r, SHA256_LEN, buf);
	return buf;
}

/* Read a hash as hash_text shows it; returns 0 or -1. */
static int hash_parse(const char *s, uint8_t h[SHA256_LEN])
{
	uint8_t r[SHA256_LEN];
	int i;

	if (hex_decode(s, r, SHA256_LEN) != 0)
		return -1;
	for (i = 0; i < SHA256_LEN; i++)
		h[i] = r[SHA256_LEN - 1 - i];
	return 0;
}

/* The network's data directory, -d/-n (DIR made if missing), into dir;
 * returns 0, or -1 having said why not. */
static int data_dir(char *dir, size_t size)
{
	const char *home = getenv("HOME");
	char base[4096];

	if (!chain_params(opt_net)) {
		say("unknown network '%s' (main, local, regtest, "
		        "bitcoin)\n", opt_net);
		return -1;
	}
	snprintf(base, sizeof base, "%s%s", opt_dir ? opt_dir : home ? home :
	         ".", opt_dir ? "" : "/.peerchain");
	mkdir(base, 0700);
	if (snprintf(dir, size, "%s/%s", base, opt_net) >= (int)size) {
		say("data directory path too long\n");
		return -1;
	}
	return 0;
}

/* Open what a command needs: the chain of -n in -d (made if missing), and
 * the wallet beside it.  Returns 0, or -1 having said why not. */
static int need(int what)
{
	char *dir = netdir, err[512] = "";

	if (!chain && data_dir(dir, sizeof netdir) != 0)
		return -1;
	if (!chain && (chain = chain_open(chain_params(opt_net), dir, err,
	                                  sizeof err)) && chain_report(chain))
		say("repaired: %s\n", chain_report(chain));
	if (chain && !wallet && what & (WALLET | NEW_WALLET))
		wallet = wallet_open(dir, what & NEW_WALLET, LMS_SHA256_M32_H10,
		                     err, sizeof err);
	if (!chain || (!wallet && what & (WALLET | NEW_WALLET))) {
		say("%s\n", err);
		return -1;
	}
	return 0;
}

/* Print a usage error for one command; returns exit status 2. */
static int bad_usage(const char *syntax)
{
	fprintf(remote ? out : stderr, "usage: peerchain [-d DIR] [-n NET] "
	        "%s\n", syntax);
	return 2;
}

/* `peerchain address [new]`: the wallet's receiving address, making the
 * wallet (or with `new`, a new key) first if need be. */
static int cmd_address(int argc, char **argv)
{
	char err[512], text[ADDR_TEXT_LEN + 1];
	uint8_t addr[ADDR_LEN];

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "new") != 0))
		return bad_usage("address [new]");
	if (need(CHAIN | NEW_WALLET) != 0)
		return 1;
	if (argc == 2 && wallet_new_key(wallet, err, sizeof err) != 0) {
		say("%s\n", err);
		return 1;
	}
	wallet_address(wallet, addr);
	addr_text(addr, text);
	fprintf(out, "%s\n", text);
	return 0;
}

/* `peerchain wallet`: every key, its address and the leaves it used. */
static int cmd_wallet(int argc, char **argv)
{
	char text[ADDR_TEXT_LEN + 1];
	uint8_t addr[ADDR_LEN];
	uint32_t i, used, all;

	(void)argv;
	if (argc != 1)
		return bad_usage("wallet");
	if (need(CHAIN | WALLET) != 0)
		return 1;
	for (i = 0; wallet_key_info(wallet, i, addr, &used, &all) == 0; i++) {
		addr_text(addr, text);
		fprintf(out, "%s leaves %u/%u%s\n", text, (unsigned)used, (unsigned)all,
		       i + 1 == wallet_keys(wallet) ? " receiving" : "");
	}
	return 0;
}

/* Mine one block on the tip paying addr, in slices, and hand it to the
 * chain (through gossip in a running node); returns the chain's verdict,
 * or -1 if the template has no valid target. */
static int mine_one(const uint8_t addr[ADDR_LEN])
{
	size_t len;
	uint8_t *b = chain_template(chain, addr, &len), hash[SHA256_LEN];
	int r;

	while ((r = block_mine(b, len, MINE_SLICE, chain_now(chain) + 3600)) == 0)
		;
	if (r == 1)
		r = gossip ? gossip_block(gossip, b, len) :
		    chain_add_block(chain, b, len);
	if (r == V_OK) {
		sha256d(b, HEADER_LEN, hash);
		fprintf(out, "%u %s\n", (unsigned)chain_height(chain),
		        hash_text(hash));
	} else if (r > 0) {
		say("mined block refused: %s\n", chain_reason(r));
	}
	free(b);
	return r == 1 ? -1 : r;
}

/* `peerchain mine N [ADDRESS]`: mine N blocks now, paying the address or
 * the wallet; prints each block's height and hash.  A running node does
 * this on regtest only: elsewhere it would stop the node for minutes. */
static int cmd_mine(int argc, char **argv)
{
	uint8_t addr[ADDR_LEN];
	char *end;
	long n = argc >= 2 ? strtol(argv[1], &end, 10) : 0;

	if (argc < 2 || argc > 3 || *end || n < 1 || n > 1000000)
		return bad_usage("mine N [ADDRESS]   (N from 1 to 1000000)");
	if (argc == 3 && addr_parse(argv[2], addr) != 0) {
		say("'%s' is not an address (wrong length, digits or "
		    "checksum)\n", argv[2]);
		return 2;
	}
	if (remote && strcmp(opt_net, "regtest") != 0) {
		say("a running node mines on demand on regtest only: here, start "
		    "it with -m\n");
		return 1;
	}
	if (need(argc == 3 ? CHAIN : CHAIN | NEW_WALLET) != 0)
		return 1;
	if (argc == 2)
		wallet_address(wallet, addr);
	while (n-- > 0)
		if (mine_one(addr) != V_OK)
			return 1;
	return 0;
}

/* `peerchain tip`: the active tip and the mempool. */
static int cmd_tip(int argc, char **argv)
{
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN];
	uint32_t height;
	size_t n, bytes;

	(void)argv;
	if (argc != 1)
		return bad_usage("tip");
	if (need(CHAIN) != 0)
		return 1;
	chain_hash_at(chain, chain_height(chain), hash);
	chain_header(chain, hash, hdr, &height);
	n = chain_pool_count(chain, &bytes);
	fprintf(out, "network %s\nheight %u\nhash %s\ntime %u\nbits %08x\n"
	       "mempool %lu transactions, %lu bytes\n", opt_net,
	       (unsigned)height, hash_text(hash), (unsigned)get32le(hdr + 68),
	       (unsigned)get32le(hdr + 72), (unsigned long)n,
	       (unsigned long)bytes);
	return 0;
}

/* Print a transaction: inputs (with the leaf each signature used) and
 * outputs. */
static void print_tx(const struct tx *t)
{
	char text[ADDR_TEXT_LEN + 1], amt[AMOUNT_TEXT_LEN];
	uint32_t i;

	fprintf(out, "txid %s\nsize %lu\n", hash_text(t->id), (unsigned long)t->len);
	for (i = 0; i < t->nin; i++) {
		fprintf(out, "in %s:%u ", hash_text(t->in[i].prev),
		       (unsigned)t->in[i].index);
		if (t->in[i].siglen >= 4)
			fprintf(out, "leaf %u\n", (unsigned)get32be(t->in[i].sig));
		else
			fprintf(out, "%s\n", i ? "(signed by an earlier input)" :
			       "(coinbase)");
	}
	for (i = 0; i < t->nout; i++) {
		addr_text(t->out[i].addr, text);
		fprintf(out, "out %s %s\n", amount_text(t->out[i].amount, amt), text);
	}
}

/* Call fn(arg, tx, k) for each transaction k of a block; stops when fn
 * returns nonzero, and returns that. */
static int each_tx(const uint8_t *b, size_t len,
                   int (*fn)(void *arg, const struct tx *t, uint32_t k),
                   void *arg)
{
	size_t at = HEADER_LEN + 4, used;
	uint32_t k, n = get32le(b + HEADER_LEN);
	struct tx t;
	int r = 0;

	for (k = 0; k < n && !r && tx_parse(&t, b + at, len - at, &used) == 0;
	     k++, at += used) {
		r = fn(arg, &t, k);
		tx_free(&t);
	}
	return r;
}

/* each_tx callback: print a txid. */
static int show_txid(void *arg, const struct tx *t, uint32_t k)
{
	(void)arg;
	fprintf(out, "tx %u %s\n", (unsigned)k, hash_text(t->id));
	return 0;
}

/* `peerchain block HASH|HEIGHT`: a block's header and transactions. */
static int cmd_block(int argc, char **argv)
{
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN], *b;
	uint32_t height;
	size_t len;
	char *end;
	long h;
	int on;

	if (argc != 2)
		return bad_usage("block HASH|HEIGHT");
	if (need(CHAIN) != 0)
		return 1;
	h = strtol(argv[1], &end, 10);
	if ((*end || h < 0 || chain_hash_at(chain, (uint32_t)h, hash) != 0) &&
	    hash_parse(argv[1], hash) != 0)
		memset(hash, 0, sizeof hash);
	if ((on = chain_header(chain, hash, hdr, &height)) < 0 ||
	    !(b = chain_read_block(chain, hash, &len))) {
		say("no block '%s'\n", argv[1]);
		return 1;
	}
	fprintf(out, "hash %s\nheight %u%s\n", hash_text(hash), (unsigned)height,
	       on ? "" : " (side branch)");
	fprintf(out, "previous %s\n", hash_text(hdr + 4));
	fprintf(out, "merkle %s\n", hash_text(hdr + 36));
	fprintf(out, "time %u\nbits %08x\nnonce %u\nsize %lu\n",
	       (unsigned)get32le(hdr + 68), (unsigned)get32le(hdr + 72),
	       (unsigned)get32le(hdr + 76), (unsigned long)len);
	each_tx(b, len, show_txid, NULL);
	free(b);
	return 0;
}

/* each_tx callback: print the transaction whose id is arg, and stop. */
static int find_tx(void *arg, const struct tx *t, uint32_t k)
{
	(void)k;
	if (memcmp(t->id, arg, SHA256_LEN) != 0)
		return 0;
	print_tx(t);
	return 1;
}

/* `peerchain tx TXID`: a transaction from the mempool or the active
 * chain (searched from the tip down), and where it is. */
static int cmd_tx(int argc, char **argv)
{
	uint8_t id[SHA256_LEN], hash[SHA256_LEN], *b;
	const struct tx *t;
	uint32_t h, top;
	size_t len;
	int found = 0;

	if (argc != 2 || hash_parse(argv[1], id) != 0)
		return bad_usage("tx TXID   (64 hex digits)");
	if (need(CHAIN) != 0)
		return 1;
	if ((t = chain_pool_tx(chain, id))) {
		print_tx(t);
		fprintf(out, "status in mempool\n");
		return 0;
	}
	for (h = top = chain_height(chain); !found && h > 0; h--) {
		chain_hash_at(chain, h, hash);
		b = chain_read_block(chain, hash, &len);
		if ((found = b && each_tx(b, len, find_tx, id)))
			fprintf(out, "status confirmed in block %u, %u confirmations\n",
			       (unsigned)h, (unsigned)(top - h + 1));
		free(b);
	}
	if (!found)
		say("no transaction %s\n", argv[1]);
	return !found;
}

/* `peerchain balance`: the wallet's spendable, maturing and unconfirmed
 * coins. */
static int cmd_balance(int argc, char **argv)
{
	char a[AMOUNT_TEXT_LEN], b[AMOUNT_TEXT_LEN], u[AMOUNT_TEXT_LEN];
	uint64_t conf, imm, unconf;

	(void)argv;
	if (argc != 1)
		return bad_usage("balance");
	if (need(CHAIN | WALLET) != 0)
		return 1;
	wallet_balance(wallet, chain, &conf, &imm, &unconf);
	fprintf(out, "confirmed %s\nimmature %s\nunconfirmed %s\n",
	       amount_text(conf, a), amount_text(imm, b),
	       amount_text(unconf, u));
	return 0;
}

/* `peerchain send AMOUNT ADDRESS [FEE]`, run inside the node: pay from
 * the wallet; the node checks the transaction, adds it to its mempool and
 * gossips it.  Prints the txid.  (A payment made with no node running
 * would reach nobody, so there is no offline send.) */
static int cmd_send(int argc, char **argv)
{
	uint64_t amount, fee = DEFAULT_FEE;
	uint8_t to[ADDR_LEN], *tx, id[SHA256_LEN];
	char err[512];
	size_t len;
	int v;

	if (argc < 3 || argc > 4 || amount_parse(argv[1], &amount) != 0 ||
	    (argc == 4 && amount_parse(argv[3], &fee) != 0))
		return bad_usage("send AMOUNT ADDRESS [FEE]   (in coins: 1.5)");
	if ((v = addr_parse(argv[2], to)) != 0) {
		say("%s\n", v == -2 ? "bad address checksum: is there a typo?"
		    : "not an address: it should be 72 hex digits");
		return 2;
	}
	if (need(CHAIN | WALLET) != 0)
		return 1;
	if (!(tx = wallet_pay(wallet, chain, to, amount, fee, &len, err,
	                      sizeof err))) {
		say("%s\n", err);
		return 1;
	}
	if ((v = gossip ? gossip_tx(gossip, tx, len) :
	          chain_add_tx(chain, tx, len)) != V_OK)
		say("payment refused: %s\n", chain_reason(v));
	sha256d(tx, len, id);
	free(tx);
	if (v == V_OK)
		fprintf(out, "%s\n", hash_text(id));
	return v != V_OK;
}

/* `peerchain seen HASH`, run inside the node: when it first took that
 * block or transaction, in ms since 1970 (for timing propagation). */
static int cmd_seen(int argc, char **argv)
{
	uint8_t h[SHA256_LEN];
	int64_t ms;

	if (argc != 2 || hash_parse(argv[1], h) != 0)
		return bad_usage("seen HASH   (64 hex digits)");
	if (!gossip || (ms = gossip_seen(gossip, h)) < 0) {
		say("not seen lately: %s\n", argv[1]);
		return 1;
	}
	fprintf(out, "%lld\n", (long long)ms);
	return 0;
}

/* Note a signal for the loop: it stops at the next wake-up. */
static void on_signal(int sig)
{
	got_signal = sig;
}

/* Catch SIGINT and SIGTERM (without restarting poll, so it wakes at
 * once); ignore SIGPIPE: a peer hanging up mid-write is an error to
 * handle, not a reason to die. */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Microseconds on a clock that never jumps. */
static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The running node's miner: a block template on the tip, worked on
 * MINE_TURN_US per turn of the loop. */
static struct {
	uint8_t *blk;                    /* NULL: no template yet */
	size_t len;
	uint8_t tip[SHA256_LEN];         /* the tip it builds on */
	size_t pool;                     /* mempool size it was made with */
} miner;

/* One turn of the miner: a new template if the tip or the mempool
 * changed, then a few nonces; a solved block goes to gossip. */
static void mine_turn(void)
{
	uint8_t tip[SHA256_LEN], addr[ADDR_LEN], hash[SHA256_LEN];
	size_t bytes, pool = chain_pool_count(chain, &bytes);
	int64_t until = now_us() + MINE_TURN_US;
	int r;

	chain_hash_at(chain, chain_height(chain), tip);
	if (!miner.blk || memcmp(tip, miner.tip, SHA256_LEN) != 0 ||
	    pool != miner.pool) {
		free(miner.blk);
		wallet_address(wallet, addr);
		miner.blk = chain_template(chain, addr, &miner.len);
		memcpy(miner.tip, tip, SHA256_LEN);
		miner.pool = pool;
	}
	while ((r = block_mine(miner.blk, miner.len, MINE_STEP,
	                       chain_now(chain) + 600)) == 0 && now_us() < until)
		;
	if (r == 0)
		return;
	sha256d(miner.blk, HEADER_LEN, hash);
	r = r < 0 ? -1 : gossip_block(gossip, miner.blk, miner.len);
	net_log(r == V_OK ? LOG_INFO : LOG_WARN, "mined block %u %s: %s",
	        (unsigned)chain_height(chain), hash_text(hash),
	        r < 0 ? "no valid target" : chain_reason(r));
	free(miner.blk);
	miner.blk = NULL;
}

/* A control command net.c does not know: run it here if it is one that
 * runs in the node, its output going to the client. */
static void node_control(void *arg, FILE *f, char **word)
{
	size_t i;
	int argc = 0;

	(void)arg;
	while (word[argc])
		argc++;
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(word[0], commands[i].name) == 0 &&
		    commands[i].where & NODE && commands[i].run)
			break;
	if (i == NCOMMANDS) {
		fprintf(f, "error: unknown command or arguments\n");
		return;
	}
	out = f;
	remote = 1;
	commands[i].run(argc, word);
	out = stdout;
	remote = 0;
}

/* Open what the node needs: chain, wallet (made if mining), network and
 * gossip.  Returns the network, or NULL having said why not. */
static struct net *node_open(void)
{
	static char any[32];
	struct net *n;
	char err[512];

	if (need(opt_mine ? CHAIN | NEW_WALLET : CHAIN) != 0)
		return NULL;
	if (!wallet)            /* (an existing one, for the wallet commands) */
		wallet = wallet_open(netdir, 0, LMS_SHA256_M32_H10, err,
		                     sizeof err);
	nopt.p = chain_params(opt_net);
	nopt.dir = netdir;
	if (no_listen)
		nopt.listen = NULL;
	else if (!nopt.listen) {             /* all interfaces, the net's port */
		snprintf(any, sizeof any, "0.0.0.0:%u", (unsigned)nopt.p->port);
		nopt.listen = any;
	}
	if (!(n = net_open(chain, &nopt, err, sizeof err))) {
		say("%s\n", err);
		return NULL;
	}
	gossip = gossip_open(chain, n, tx_delay);
	net_attach(n, gossip, node_control, NULL);
	return n;
}

/* `peerchain run`: be a node until told to stop.  One poll() over every
 * socket; its timeout comes from the nearest timer, or is 0 while the
 * miner has work: then each turn of the loop mines a little. */
static int cmd_run(int argc, char **argv)
{
	struct pollfd *pfd;
	struct net *n;
	int max, k, r, t;
	int64_t flushed = 0;

	(void)argv;
	if (argc != 1)
		return bad_usage("[-l HOST:PORT] [-s SEED]... [-m] run");
	if (!(n = node_open()))
		return 1;
	chain_lazy(chain, 1);
	catch_signals();
	max = nopt.max_in + nopt.max_out + 32;
	pfd = xcalloc((size_t)max, sizeof *pfd);
	while (!got_signal && !net_stopping(n)) {
		k = net_pollfds(n, pfd, max);
		t = net_timeout_ms(n);
		t = opt_mine ? 0 : gossip_timeout_ms(gossip) < t ?
		    gossip_timeout_ms(gossip) : t;
		if ((r = poll(pfd, (nfds_t)k, t)) > 0)
			net_events(n, pfd, k);
		else if (r < 0 && errno != EINTR)
			net_log(LOG_ERROR, "poll: %s", strerror(errno));
		net_tick(n);
		gossip_tick(gossip);
		if (opt_mine)
			mine_turn();
		if (now_us() - flushed >= FLUSH_MS * 1000) {
			chain_flush(chain);
			flushed = now_us();
		}
	}
	chain_flush(chain);
	net_log(LOG_INFO, "shutting down%s", got_signal ? " on a signal" : "");
	net_close(n);
	gossip_close(gossip);
	gossip = NULL;
	free(miner.blk);
	free(pfd);
	return 0;
}

/* Connect to the running node's control socket; returns the socket, or
 * -1 if no node runs in the data directory. */
static int control_connect(void)
{
	struct sockaddr_un un;
	int fd;

	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	if (!chain_params(opt_net) || data_dir(netdir, sizeof netdir) != 0 ||
	    snprintf(un.sun_path, sizeof un.sun_path, "%s/control.sock",
	             netdir) >= (int)sizeof un.sun_path ||
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&un, sizeof un) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send a command's words as one line to the running node and print its
 * answer: on stderr if it is an error.  Returns the exit status: 1 for
 * an error, 2 for a usage error. */
static int forward(int fd, int argc, char **argv)
{
	char line[512] = "", buf[4096];
	ssize_t k;
	int i, bad = 0, first = 1;

	for (i = 0; i < argc; i++)
		if (strlen(line) + strlen(argv[i]) + 2 < sizeof line)
			strcat(strcat(line, argv[i]), i + 1 < argc ? " " : "\n");
	if (write(fd, line, strlen(line)) < 0)
		bad = 1;
	while ((k = read(fd, buf, sizeof buf)) > 0) {
		if (first && strncmp(buf, "error", 5) == 0)
			bad = 1;
		if (first && strncmp(buf, "usage", 5) == 0)
			bad = 2;
		first = 0;
		fwrite(buf, 1, (size_t)k, bad ? stderr : stdout);
	}
	close(fd);
	if (first)
		fprintf(stderr, "peerchain: the node closed the connection with no "
		        "answer: did it stop?\n");
	return first ? 1 : bad;
}

/* Print the usage and every command to f. */
static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: peerchain [-d DIR] [-n NET] COMMAND [ARGS...]\n\n"
	        "  -d DIR   data directory (default ~/.peerchain); the files of\n"
	        "           each network live in DIR/NET\n"
	        "  -n NET   network: main (default), local, regtest, bitcoin\n"
	        "  -h       this help\n\n"
	        "run's options:\n"
	        "  -l HOST:PORT  listen there (default 0.0.0.0:the network's port)\n"
	        "  -L            listen nowhere: outbound only, as behind NAT\n"
	        "  -s HOST:PORT  a seed to learn addresses from (repeatable)\n"
	        "  -c HOST:PORT  connect to this peer only (repeatable)\n"
	        "  -o N, -i N    outbound (8) and inbound (117) connections\n"
	        "  -G            no one-peer-per-group rule\n"
	        "  -m            mine, paying the wallet\n"
	        "  -T MS|random  batch transaction announcements MS ms (100)\n"
	        "  -t NAME=S     timeouts: handshake, ping, idle, ban (seconds)\n"
	        "  -v, -q        log more, log less\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

/* `peerchain help`: the list of commands, on stdout. */
static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

/* `peerchain version`: the version, on stdout. */
static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("peerchain %s\n", PEERCHAIN_VERSION);
	return 0;
}

/* Take one of run's options; returns 0, or -1 if its value is bad. */
static int node_option(int ch, char *arg)
{
	static const char *names[] = { "handshake", "ping", "idle", "ban" };
	int64_t *t[4];
	char *end = arg;
	long v = arg ? strtol(arg, &end, 10) : 0;
	size_t i;

	t[0] = &nopt.handshake_s;
	t[1] = &nopt.ping_s;
	t[2] = &nopt.idle_s;
	t[3] = &nopt.ban_s;
	switch (ch) {
	case 'l': nopt.listen = arg; return 0;
	case 'L': no_listen = 1; return 0;
	case 's': nopt.seeds[nopt.nseeds++] = arg; return 0;
	case 'c': nopt.connect[nopt.nconnect++] = arg; return 0;
	case 'G': nopt.nogroups = 1; return 0;
	case 'm': opt_mine = 1; return 0;
	case 'T': tx_delay = strcmp(arg, "random") == 0 ? TX_DELAY_RANDOM :
	                     (int)v;
	          return tx_delay < 0 ? 0 : *end || v > 60000 ? -1 : 0;
	case 'v': net_log_level(LOG_DEBUG); return 0;
	case 'q': net_log_level(LOG_WARN); return 0;
	case 'o': nopt.max_out = (int)v; return *end || v < 0 || v > 64 ? -1 : 0;
	case 'i': nopt.max_in = (int)v; return *end || v < 0 || v > 10000 ? -1 : 0;
	}
	for (i = 0; i < 4; i++) {               /* -t NAME=SECONDS */
		size_t len = strlen(names[i]);

		if (strncmp(arg, names[i], len) == 0 && arg[len] == '=') {
			v = strtol(arg + len + 1, &end, 10);
			*t[i] = v;
			return *end || v < 1 || end == arg + len + 1 ? -1 : 0;
		}
	}
	return -1;
}

/* Read the options, then find the command named next and run it; --help
 * and --version work too.  Exit status 2 means a usage error. */
int main(int argc, char **argv)
{
	const char *name;
	char **list;
	size_t i;
	int ch, fd;

	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return cmd_help(1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	for (ch = 1; ch < argc; ch++)       /* -mine, as the docs once said */
		if (strcmp(argv[ch], "-mine") == 0)
			argv[ch] = "-m";
	out = stdout;
	list = xcalloc(2 * (size_t)argc, sizeof *list);   /* -s, then -c */
	nopt.seeds = list;
	nopt.connect = list + argc;
	while ((ch = getopt(argc, argv, "d:n:hl:Ls:c:o:i:Gmt:T:vq")) != -1) {
		if (ch == 'd')
			opt_dir = optarg;
		else if (ch == 'n')
			opt_net = optarg;
		else if (ch == 'h' || ch == '?' || node_option(ch, optarg)) {
			if (ch != 'h' && ch != '?')
				fprintf(stderr, "peerchain: bad value for -%c\n", ch);
			free(list);
			return ch == 'h' ? cmd_help(1, argv) : (usage(stderr), 2);
		}
	}
	name = optind < argc ? argv[optind] : "";
	for (i = 0; i < NCOMMANDS && strcmp(name, commands[i].name) != 0; i++)
		;
	if (i < NCOMMANDS && commands[i].where & NODE &&
	    (fd = control_connect()) >= 0) {
		ch = forward(fd, argc - optind, argv + optind);
	} else if (i < NCOMMANDS && commands[i].where == NODE) {
		fprintf(stderr, "peerchain: no node running in %s (start one with "
		        "`peerchain run`)\n", netdir);
		ch = 1;
	} else if (i < NCOMMANDS) {
		ch = commands[i].run(argc - optind, argv + optind);
	} else {
		if (*name)
			fprintf(stderr, "peerchain: unknown command '%s'\n", name);
		usage(stderr);
		ch = 2;
	}
	wallet_close(wallet);
	chain_close(chain);
	free(list);
	return ch;
}
