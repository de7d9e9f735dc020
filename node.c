/*
 * node.c - peerchain's main(), its commands, and the node's loop.
 *
 * peerchain is a small proof-of-work blockchain node: client and server at
 * once, it finds peers, gossips transactions and blocks, checks everything
 * itself and keeps the chain with the most work.  The code is in layers,
 * each file using only those below it: util.c's services, SHA-256, LMS
 * signatures, the rules of one block, the chain's state, the wallet, the
 * network, gossip, and this file on top (README, "Reading the code").
 *
 * This file is the command line: one table of commands, each with its
 * arguments and where it runs.  `run` is the node: one poll() loop over the
 * peers and the control socket (DIR/NET/control.sock), the miner working in
 * short slices between its turns.  While a node runs, another `peerchain`
 * sends it the commands that need it through that socket, and they run
 * there, by the same functions.  Start reading main().
 */
#include "node.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_NET  "main"
#define DEFAULT_FEE  10000          /* base units: 0.0001 coin */
#define MINE_SLICE   100000         /* nonces between looks at the clock, */
#define MINE_STEP    8              /* and in the running node's miner, */
#define MINE_TURN_US 10             /* which works this long a turn */
#define MINE_CYCLE   100            /* ms: -M 20 mines 20 ms of each 100 */
#define FLUSH_MS     100            /* a write is flushed this soon */
#define MAX_CONTROL  8              /* control connections at once, */
#define CONTROL_MS   10000          /* each this long to ask and read */
#define CONTROL_LINE 512            /* bytes in one control command */
#define MAX_ANSWER   (64u << 20)    /* bytes of answer a client reads */

/* Where a command runs. */
#define HERE   1    /* in this process */
#define NODE   2    /* in the running node (an error if none runs) */
#define EITHER 3    /* in the running node if there is one, else here */

/* What need() opens for a command (dispatch, before it runs). */
#define CHAIN      4
#define WALLET     8                /* the wallet must exist */
#define NEW_WALLET 16               /* the wallet is made if missing */

/* A command: `peerchain [OPTIONS] NAME ARGS...`. */
struct command {
	const char *name;                /* what the user types */
	int (*run)(char **arg);          /* its arguments -> exit status */
	int min, max;                    /* how many arguments it takes */
	/* HERE, NODE or EITHER; what it needs */
	int where;
	const char *args;                /* its arguments, for usage */
	const char *help;                /* one line for `peerchain help` */
};

/* A control connection: one command line in, the answer out, closed. */
struct ctl {
	int fd;                          /* -1: a free slot */
	char line[CONTROL_LINE];
	size_t len;
	char *answer;                    /* NULL till the line is complete */
	size_t alen, sent;               /* the answer's bytes, those sent */
	int64_t since;                   /* when it came (monotonic ms) */
};

static const char *opt_dir;          /* -d: the data directory */
static const char *opt_net = DEFAULT_NET; /* -n: the network */
static struct chain *chain;          /* opened by need(), closed by main() */
static struct wallet *wallet;
static char netdir[4096];            /* -d/-n: where the network's files are */
static struct net_opts nopt = {      /* the node's options (run) */
	.max_out = 8, .max_in = 117,
	.handshake_s = 60, .ping_s = 120, .idle_s = 20 * 60,
	.ban_s = 24 * 60 * 60, .frame_s = 60,
};
static volatile sig_atomic_t got_signal; /* SIGINT or SIGTERM arrived */
static int no_listen;                /* -L: outbound only, as behind NAT */
static int opt_mine;                 /* -m, -M: percent of the time mined */
static int opt_chain;                /* -S: CHAIN_LIGHT; -R: CHAIN_REINDEX */
static int tx_delay = TX_DELAY_RANDOM; /* -T: tx announcement batching */
static int opt_stem = 1;             /* Dandelion++; -D: off */
static struct net *net;              /* set while the node runs */
static struct gossip *gossip;
static int stopping;                 /* `stop` sets it: the loop ends */
static int ctl_fd = -1;              /* the control socket */
static unsigned long wakeups;        /* returns from poll(), for `stats` */
static struct ctl ctls[MAX_CONTROL];
/* The running command's output and errors: stdout and stderr, or a
 * control client's (ctl_answer). */
static FILE *cmd_out, *cmd_err;

/* The node's role, as `status` and `peers dot` show it. */
static const char *role(void) {
	if (chain->light)
		return "light";
	return opt_mine ? "mining" : "full";
}

/* Print to the command's output. */
static void out(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vfprintf(cmd_out, fmt, ap);
	va_end(ap);
}

/* Say what went wrong, on the command's error stream; returns 1. */
static int say(const char *fmt, ...) {
	va_list ap;
	fputs("peerchain: ", cmd_err);
	va_start(ap, fmt);
	vfprintf(cmd_err, fmt, ap);
	va_end(ap);
	return 1;
}

/* Read a hash as hash_text shows it; returns 0 or -1. */
static int hash_parse(const char *s, uint8_t h[SHA256_LEN]) {
	uint8_t r[SHA256_LEN];
	if (hex_decode(s, r, SHA256_LEN)) return -1;
	for (int i = 0; i < SHA256_LEN; i++)
		h[i] = r[SHA256_LEN - 1 - i];
	return 0;
}

/* The network's data directory, -d/-n, into netdir; returns 0, or 1
 * having said why not. */
static int data_dir(void) {
	const char *home = getenv("HOME");
	char base[4096];
	if (!params_find(opt_net))
		return say("unknown network '%s' (main, local, regtest, "
		            "bitcoin)\n", opt_net);
	if (opt_dir)
		snprintf(base, sizeof base, "%s", opt_dir);
	else
		snprintf(base, sizeof base, "%s/.peerchain", home ? home : ".");
	mkdir(base, 0700);
	if (dir_ours(base)) return say("%s\n", failure);
	if (snprintf(netdir, sizeof netdir, "%s/%s", base, opt_net) >=
	    (int)sizeof netdir)
		return say("data directory path too long\n");
	return 0;
}

/* Open the chain of -n in -d, and the wallet beside it; returns 0, or 1
 * having said why not.
 * The chain is light with -S, or if it was made light (chain_open). */
static int need(int what) {
	if (!chain && data_dir()) return 1;
	if (!chain) {
		chain = chain_open(params_find(opt_net), netdir, opt_chain);
		if (!chain) return say("%s\n", failure);
		if (chain->report[0])
			say("repaired: %s\n", chain->report);
	}
	if (wallet || !(what & (WALLET | NEW_WALLET))) return 0;
	wallet = wallet_open(netdir, what & NEW_WALLET, LMS_SHA256_M32_H10);
	return wallet ? 0 : say("%s\n", failure);
}

/* ==== The wallet's commands ==== */
/* `address [new]`: the receiving address (of a new key, with `new`). */
static int cmd_address(char **arg) {
	char text[ADDR_TEXT_LEN + 1];
	if (arg[0] && strcmp(arg[0], "new")) return -1;
	if (arg[0] && wallet_new_key(wallet))
		return say("%s\n", failure);
	addr_text(wallet_address(wallet), text);
	out("%s\n", text);
	return 0;
}

/* `wallet`: every key, its address and the leaves it used. */
static int cmd_wallet(char **arg) {
	char text[ADDR_TEXT_LEN + 1];
	(void)arg;
	for (uint32_t i = 0; i < wallet->n; i++) {
		addr_text(wallet->keys[i].addr, text);
		out("%s leaves %u/%u%s\n", text,
		        (unsigned)wallet->keys[i].next,
		        (unsigned)wallet->keys[i].leaves,
		        i + 1 == wallet->n ? " receiving" : "");
	}
	return 0;
}

/* `balance`: the wallet's spendable, maturing and unconfirmed coins. */
static int cmd_balance(char **arg) {
	char a[AMOUNT_TEXT_LEN], b[AMOUNT_TEXT_LEN], u[AMOUNT_TEXT_LEN];
	uint64_t conf, imm, unconf;
	(void)arg;
	if (chain->light && !net)
		return say(
		        "a light node proves its balance while it runs: start "
		        "it (peerchain run)\n");
	wallet_balance(wallet, chain, &conf, &imm, &unconf);
	out("confirmed %s\nimmature %s\nunconfirmed %s\n",
	        amount_text(conf, a), amount_text(imm, b),
	        amount_text(unconf, u));
	return 0;
}

/* Read an address argument; returns 0, or 2 (a usage error). */
static int address_arg(const char *s, uint8_t addr[ADDR_LEN]) {
	int v = addr_parse(s, addr);
	if (v)
		say("%s\n", v == -2 ? "bad address checksum: is there a typo?" :
		    "not an address: it should be 72 hex digits");
	return v ? 2 : 0;
}

/* `send AMOUNT ADDRESS [FEE]`, in the node (offline, it would reach
 * nobody): pay from the wallet, gossip it, print the txid. */
static int cmd_send(char **arg) {
	uint64_t amount, fee = DEFAULT_FEE;
	uint8_t to[ADDR_LEN], *tx, id[SHA256_LEN];
	size_t len;
	int v;
	if (amount_parse(arg[0], &amount) ||
	    (arg[2] && amount_parse(arg[2], &fee)))
		return -1;
	if ((v = address_arg(arg[1], to))) return v;
	if (!(tx = wallet_pay(wallet, chain, to, amount, fee, &len)))
		return say("%s\n", failure);
	if ((v = gossip_tx(gossip, NULL, tx, len)) != V_OK)
		say("payment refused: %s\n", reason_text(v));
	sha256d(tx, len, id);
	free(tx);
	if (v == V_OK)
		out("%s\n", hash_text(id));
	return v != V_OK;
}

/* Mine one block paying addr and hand it to the chain (through gossip in
 * a running node); returns a reason, or -1 if the bits are no target. */
static int mine_one(const uint8_t addr[ADDR_LEN]) {
	size_t len;
	uint8_t *b = chain_template(chain, addr, &len), hash[SHA256_LEN];
	int r;
	while ((r = block_mine(b, len, MINE_SLICE, chain_now(chain) + 3600)) ==
	       0)
		;
	if (r == 1)
		r = gossip ? gossip_block(gossip, NULL, b, len) :
		    chain_add_block(chain, b, len);
	if (r == V_OK) {
		sha256d(b, HEADER_LEN, hash);
		out("%u %s\n", (unsigned)chain_height(chain),
		        hash_text(hash));
	} else if (r > 0) {
		say("mined block refused: %s\n", reason_text(r));
	}
	free(b);
	return r == 1 ? -1 : r;
}

/* `mine N [ADDRESS]`: mine N blocks now, paying the address or the
 * wallet (a running node: on regtest only, or it would stall for long). */
static int cmd_mine(char **arg) {
	uint8_t addr[ADDR_LEN];
	char *end;
	long n = strtol(arg[0], &end, 10);
	int v;
	if (*end || n < 1 || n > 1000000) return -1;
	if (arg[1] && (v = address_arg(arg[1], addr))) return v;
	if (net && strcmp(opt_net, "regtest"))
		return say("a running node mines on demand on regtest only: "
		           "here, start it with -m\n");
	if (need(arg[1] ? CHAIN : CHAIN | NEW_WALLET)) return 1;
	if (chain->light) return say("a light node does not mine\n");
	if (!arg[1])
		memcpy(addr, wallet_address(wallet), ADDR_LEN);
	while (n-- > 0)
		if (mine_one(addr) != V_OK) return 1;
	return 0;
}

/* ==== The chain's commands ==== */
/* `tip`: the active tip and the mempool. */
static int cmd_tip(char **arg) {
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN];
	uint32_t height;
	size_t bytes, n = chain_pool_size(chain, &bytes);
	(void)arg;
	chain_hash_at(chain, chain_height(chain), hash);
	chain_header(chain, hash, hdr, &height);
	out("network %s\nheight %u\nhash %s\ntime %u\nbits %08x\n"
	        "mempool %zu transactions, %zu bytes\n", opt_net,
	        (unsigned)height, hash_text(hash),
	        (unsigned)get32le(hdr + HDR_TIME),
	        (unsigned)get32le(hdr + HDR_BITS), n, bytes);
	return 0;
}

/* Print a transaction: inputs (and their leaves), outputs. */
static void print_tx(const struct tx *t) {
	char text[ADDR_TEXT_LEN + 1], amt[AMOUNT_TEXT_LEN];
	out("txid %s\nsize %zu\n", hash_text(t->id), t->len);
	for (uint32_t i = 0; i < t->nin; i++) {
		out("in %s:%u ", hash_text(t->in[i].prev),
		        (unsigned)get32le(t->in[i].prev + SHA256_LEN));
		if (t->in[i].siglen >= 4)
			out("leaf %u\n",
			        (unsigned)get32be(t->in[i].sig));
		else
			out("%s\n",
			        i ? "(signed by an earlier input)"
			          : "(coinbase)");
	}
	for (uint32_t i = 0; i < t->nout; i++) {
		addr_text(t->out[i].addr, text);
		out("out %s %s\n",
		        amount_text(t->out[i].amount, amt), text);
	}
}

/* A stored block, parsed into b from a new buffer; NULL if none. */
static uint8_t *load_block(const uint8_t hash[SHA256_LEN], struct block *b) {
	size_t len;
	uint8_t *raw = chain_read_block(chain, hash, &len);
	if (raw && block_parse(b, raw, len) != V_OK) {
		free(raw);
		return NULL;
	}
	return raw;
}

/* `block HASH|HEIGHT`: a block's header and transactions. */
static int cmd_block(char **arg) {
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN], *raw = NULL;
	struct block b;
	uint32_t height, i;
	char *end;
	long h = strtol(arg[0], &end, 10);
	int on;
	if (chain->light)
		return say(
		        "a light node keeps headers, not blocks: `tip` shows "
		        "its best header\n");
	if ((*end || h < 0 || chain_hash_at(chain, h, hash)) &&
	    hash_parse(arg[0], hash))
		memset(hash, 0, sizeof hash);
	if ((on = chain_header(chain, hash, hdr, &height)) < 0 ||
	    !(raw = load_block(hash, &b)))
		return say("no block '%s'\n", arg[0]);
	out("hash %s\nheight %u%s\n", hash_text(hash),
	        (unsigned)height, on ? "" : " (side branch)");
	out("previous %s\n", hash_text(hdr + HDR_PREV));
	out("merkle %s\n", hash_text(hdr + HDR_MERKLE));
	out("time %u\nbits %08x\nnonce %u\nsize %zu\n",
	        (unsigned)get32le(hdr + HDR_TIME),
	        (unsigned)get32le(hdr + HDR_BITS),
	        (unsigned)get32le(hdr + HDR_NONCE), b.len);
	for (i = 0; i < b.ntx; i++)
		out("tx %u %s\n", (unsigned)i,
		        hash_text(b.tx[i].id));
	block_free(&b);
	free(raw);
	return 0;
}

/* Say a transaction is in block h of the active chain. */
static void confirmed(uint32_t h, const char *how) {
	uint32_t n = chain_height(chain) - h + 1;
	out("status confirmed in block %u, %u confirmation%s%s\n",
	        (unsigned)h, (unsigned)n, n == 1 ? "" : "s", how);
}

/* `tx` on a light node, which keeps no blocks: what it proved of a
 * transaction, the outputs paying the wallet, and their block. */
static int proven_tx(const uint8_t id[SHA256_LEN], const char *arg) {
	char text[ADDR_TEXT_LEN + 1], amt[AMOUNT_TEXT_LEN];
	struct mwalk walk;
	const struct ment *e;
	const struct coin *k;
	uint32_t h = 0, n = 0;
	for (e = chain_coins(chain, &walk); e; e = map_step(&walk)) {
		k = e->val;
		if (memcmp(e->key, id, SHA256_LEN))
			continue;
		if (n == 0)
			out("txid %s\n", hash_text(id));
		n++;
		addr_text(k->addr, text);
		out("out %s %s\n", amount_text(k->amount, amt),
		        text);
		h = k->height;
	}
	if (n)
		confirmed(h, " (proven)");
	return n ? 0 : say("no transaction %s pays this light node's wallet, "
	                   "proven (it keeps no blocks)\n", arg);
}

/* `tx TXID`: a transaction of the mempool or the active chain, and where. */
static int cmd_tx(char **arg) {
	uint8_t id[SHA256_LEN], hash[SHA256_LEN], *raw;
	const struct tx *t;
	struct block b;
	uint32_t h, i;
	int found = 0;
	if (hash_parse(arg[0], id)) return -1;
	if ((t = chain_pool_tx(chain, id))) {
		print_tx(t);
		out("status in mempool\n");
		return 0;
	}
	if (chain->light) return proven_tx(id, arg[0]);
	for (h = chain_height(chain); !found && h > 0; h--) {
		if (chain_hash_at(chain, h, hash) ||
		    !(raw = load_block(hash, &b)))
			continue;
		for (i = 0; !found && i < b.ntx; i++) {
			found = !memcmp(b.tx[i].id, id, SHA256_LEN);
			if (found)
				print_tx(&b.tx[i]);
		}
		if (found)
			confirmed(h, "");
		block_free(&b);
		free(raw);
	}
	return found ? 0 : say("no transaction %s\n", arg[0]);
}

/* ==== The running node's commands ==== */
/* `seen HASH`: when the node first took it, in ms since 1970. */
static int cmd_seen(char **arg) {
	uint8_t h[SHA256_LEN];
	int64_t ms;
	if (hash_parse(arg[0], h)) return -1;
	if ((ms = gossip_seen(gossip, h)) < 0)
		return say("not seen lately: %s\n", arg[0]);
	out("%lld\n", (long long)ms);
	return 0;
}

/* `status`: the node in a few lines. */
static int cmd_status(char **arg) {
	(void)arg;
	out("network %s\nrole %s\nheight %u\npeers %d in, %d out\n"
	        "addresses %zu\nbans %zu\nlisten %s\nbuffers %zu of %zu\n",
	        opt_net, role(),
	        (unsigned)chain_height(chain), net->nin, net->nout,
	        net->nbook, net->bans.n,
	        net->self.port ? net_text(&net->self) : "none",
	        net->held, net->budget);
	gossip_status(gossip, cmd_out);
	return 0;
}

/* `peers [dot]`: one line a connection; with dot, the node and its
 * connections as a Graphviz graph, each edge from the dialer. */
static int cmd_peers(char **arg) {
	char me[64];
	if (arg[0] && strcmp(arg[0], "dot")) return -1;
	snprintf(me, sizeof me, "%s", net->self.port ? net_text(&net->self) :
	         "outbound only");
	if (arg[0])
		out("digraph peerchain {\n\t\"%s\" "
		        "[shape=box, label=\"%s\\n%s\\nheight %u\"];\n",
		        me, me, role(), (unsigned)chain_height(chain));
	for (struct peer *p = net->peers; p; p = p->next) {
		if (p->fd < 0) continue;
		/* (an inbound peer: its listener) */
		struct naddr a = p->a;
		if (!p->outbound && p->listen_port)
			a.port = p->listen_port;
		const char *them = net_text(arg[0] ? &a : &p->a);
		if (!arg[0])
			out("%s %s %s %s height %u ping %lld listen %u %s\n",
			        them, p->outbound ? "out" : "in",
			        p->handshaked ? "ready" : "handshake",
			        p->services & SERVICE_FULL ? "full" : "light",
			        (unsigned)p->height, (long long)p->min_ping,
			        (unsigned)p->listen_port, p->agent);
		else
			out("\t\"%s\" -> \"%s\" [label=%s];\n",
			        p->outbound ? me : them,
			        p->outbound ? them : me,
			        p->outbound ? "out" : "in");
	}
	if (arg[0])
		out("}\n");
	return 0;
}

/* `stats`: messages and bytes per command, each way; the loop's wake-ups
 * and fsyncs; gossip's counters. */
static int cmd_stats(char **arg) {
	const struct count *c;
	(void)arg;
	out("loop wakeups %lu fsyncs %lu\n", wakeups, fsyncs);
	for (c = net->counts; c < net->counts + net->ncounts; c++)
		out("%s in %lu %lu out %lu %lu\n", c->cmd, c->in,
		        c->in_bytes, c->out, c->out_bytes);
	gossip_stats(gossip, cmd_out);
	return 0;
}

/* `connect HOST:PORT`: dial a peer now. */
static int cmd_connect(char **arg) {
	if (net_connect(net, arg[0]))
		return say("%s\n", failure);
	out("ok\n");
	return 0;
}

/* Ban ip for secs seconds (0: lift its ban), as the operator asks. */
static int ban(const char *ip, long secs) {
	struct naddr a;
	if (net_parse_ip(ip, &a)) {
		say("'%s' is not an IP address\n", ip);
		return 2;                  /* (a usage error) */
	}
	net_ban(net, a.ip, secs ? wall_s() + secs : 0);
	log_msg(LOG_WARN, "%s %s by the operator", secs ? "ban" : "unban", ip);
	for (struct peer *p = net->peers; secs && p; p = p->next)
		if (!memcmp(p->a.ip, a.ip, 16))
			net_drop(net, p, "banned by the operator");
	out("ok\n");
	return 0;
}

/* `ban IP [SECONDS]`: drop and ban an address (for -t ban's time). */
static int cmd_ban(char **arg) {
	char *end = "";
	long secs = arg[1] ? strtol(arg[1], &end, 10) : nopt.ban_s;
	return *end || secs < 0 ? -1 : ban(arg[0], secs);
}

/* `unban IP`: lift a ban. */
static int cmd_unban(char **arg) { return ban(arg[0], 0); }

/* `stop`: stop the running node. */
static int cmd_stop(char **arg) {
	(void)arg;
	stopping = 1;
	out("ok\n");
	return 0;
}

/* ==== The node: its loop, the miner, the control socket ==== */
/* Note a signal for the loop: it stops at the next wake-up. */
static void on_signal(int sig) { got_signal = sig; }

/* Catch SIGINT and SIGTERM (poll wakes at once); ignore SIGPIPE: a peer
 * hanging up mid-write is an error to handle, not a reason to die. */
static void catch_signals(void) {
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
#ifdef SIGXFSZ                   /* (XSI: a file limit; a write fails) */
	sigaction(SIGXFSZ, &sa, NULL);
#endif
}

/* The running node's miner: a block template on the tip. */
static struct {
	uint8_t *blk;                    /* NULL: no template yet */
	size_t len;
	uint8_t tip[SHA256_LEN];         /* the tip it builds on */
	size_t pool;                     /* mempool size it was made with */
	int64_t cycle, busy;             /* when this MINE_CYCLE began; µs
	                                    mined in it */
} miner;

/* Milliseconds the miner must rest: 0 while it has not used its share
 * (-M) of this MINE_CYCLE, else until the next cycle. */
static int mine_rest(void) {
	int64_t now = mono_us();
	if (now - miner.cycle >= MINE_CYCLE * 1000) {
		miner.cycle = now;
		miner.busy = 0;
	}
	return miner.busy < MINE_CYCLE * 10 * opt_mine ? 0 :
	       (miner.cycle + MINE_CYCLE * 1000 - now) / 1000 + 1;
}

/* One turn of the miner, unless it must rest: a new template if the tip or the
 * mempool changed, then a few nonces; a solved block goes to gossip. */
static void mine_turn(void) {
	uint8_t tip[SHA256_LEN], hash[SHA256_LEN];
	int64_t start = mono_us(), until = start + MINE_TURN_US;
	int r;
	if (mine_rest()) return;
	chain_hash_at(chain, chain_height(chain), tip);
	if (!miner.blk || memcmp(tip, miner.tip, SHA256_LEN) ||
	    chain_pool_size(chain, NULL) != miner.pool) {
		free(miner.blk);
		miner.blk = chain_template(chain, wallet_address(wallet),
		                           &miner.len);
		memcpy(miner.tip, tip, SHA256_LEN);
		miner.pool = chain_pool_size(chain, NULL);
	}
	while ((r = block_mine(miner.blk, miner.len, MINE_STEP,
	                       chain_now(chain) + 600)) == 0 &&
	       mono_us() < until)
		;
	miner.busy += mono_us() - start;
	if (r == 0) return;
	sha256d(miner.blk, HEADER_LEN, hash);
	r = r < 0 ? -1 : gossip_block(gossip, NULL, miner.blk, miner.len);
	log_msg(r == V_OK ? LOG_INFO : LOG_WARN, "mined block %u %s: %s",
	        (unsigned)chain_height(chain), hash_text(hash),
	        r < 0 ? "no valid target" : reason_text(r));
	free(miner.blk);
	miner.blk = NULL;
}

static int dispatch(int argc, char **argv, int remote);

/* Answer one control line: the command's output, a NUL, its errors, a NUL,
 * its exit status as one digit (the client prints each where it belongs). */
static void ctl_answer(struct ctl *c) {
	char *word[8] = { NULL }, *save = NULL, *o = NULL, *e = NULL;
	size_t olen = 0, elen = 0;
	int k = 0, status;
	c->line[c->len] = 0;
	while (k < 7 &&
	       (word[k] = strtok_r(k ? NULL : c->line, " \t\r\n", &save)))
		k++;
	cmd_out = open_memstream(&o, &olen);
	cmd_err = open_memstream(&e, &elen);
	status = cmd_out && cmd_err ? dispatch(k, word, 1) : 1;
	if (cmd_err)
		fclose(cmd_err);
	if (cmd_out) {
		fputc(0, cmd_out);
		fwrite(e ? e : "", 1, elen, cmd_out);
		out("%c%d", 0, status);
		fclose(cmd_out);
	}
	c->answer = o;
	c->alen = o ? olen : 0;
	c->sent = 0;
	free(e);
	cmd_out = stdout;
	cmd_err = stderr;
}

/* Close a control connection, with any answer it did not take. */
static void ctl_close(struct ctl *c) {
	close(c->fd);
	c->fd = -1;
	free(c->answer);
	c->answer = NULL;
}

/* Send what the socket takes of the answer; close once it is all out. */
static void ctl_write(struct ctl *c) {
	ssize_t k = write(c->fd, c->answer + c->sent, c->alen - c->sent);
	c->sent += k > 0 ? k : 0;
	if (c->sent == c->alen || (k < 0 && !WOULD_BLOCK))
		ctl_close(c);
}

/* Read from a control connection; answer once a line is complete. */
static void ctl_read(struct ctl *c) {
	ssize_t k = read(c->fd, c->line + c->len, sizeof c->line - 1 - c->len);
	if (k < 0 && WOULD_BLOCK) return;
	c->len += k > 0 ? k : 0;
	if (k > 0 && !memchr(c->line, '\n', c->len) &&
	    c->len < sizeof c->line - 1)
		return;
	if (k > 0)
		ctl_answer(c);
	if (c->answer)
		ctl_write(c);
	else
		ctl_close(c);
}

/* Accept a control connection (only the node's user can: the socket is
 * mode 0600), non-blocking, into a free slot, or the oldest client's:
 * nobody holds the node's ear.  Clients get CONTROL_MS in all. */
static void ctl_accept(void) {
	int fd = accept(ctl_fd, NULL, NULL), i, old = 0;
	if (fd < 0) return;
	for (i = 0; i < MAX_CONTROL && ctls[i].fd >= 0; i++)
		if (ctls[i].since < ctls[old].since)
			old = i;
	if (i == MAX_CONTROL) {
		i = old;
		ctl_close(&ctls[i]);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ctls[i].fd = fd;
	ctls[i].len = 0;
	ctls[i].since = mono_ms();
}

/* DIR/NET/control.sock into un; returns 0, or -1 if it does not fit. */
static int control_path(struct sockaddr_un *un) {
	memset(un, 0, sizeof *un);
	un->sun_family = AF_UNIX;
	return snprintf(un->sun_path, sizeof un->sun_path, "%s/control.sock",
	                netdir) >= (int)sizeof un->sun_path ? -1 : 0;
}

/* Make the control socket, mode 0600; returns 0, or 1 having said why
 * not. */
static int control_listen(void) {
	struct sockaddr_un un;
	int i, bad;
	for (i = 0; i < MAX_CONTROL; i++)
		ctls[i].fd = -1;
	if (control_path(&un))
		return say("data directory path too long for a socket\n");
	unlink(un.sun_path);             /* stale: the chain lock is ours */
	mode_t old = umask(0177);
	bad = (ctl_fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	      bind(ctl_fd, (struct sockaddr *)&un, sizeof un) < 0 ||
	      listen(ctl_fd, MAX_CONTROL) < 0;
	umask(old);
	return bad ? -say("cannot make %s: %s\n", un.sun_path, strerror(errno))
	           : 0;
}

/* Open what the node needs: chain, wallet (made if mining), network,
 * gossip, control socket.  Returns 0, or 1 having said why not. */
static int node_open(void) {
	static char any[32];
	int what = CHAIN;
	if (opt_mine || opt_chain & CHAIN_LIGHT)
		what |= NEW_WALLET;     /* (it mines to it, or proves it) */
	if (need(what)) return 1;
	if (!wallet)            /* (an existing one, for the wallet commands) */
		wallet = wallet_open(netdir, chain->light, LMS_SHA256_M32_H10);
	if (chain->light && (opt_mine || !wallet))
		return say("%s\n",
		            opt_mine ? "a light node does not mine" : failure);
	nopt.p = params_find(opt_net);
	nopt.dir = netdir;
	nopt.light = chain->light;
	if (nopt.light)
		nopt.max_in = 0;
	if (no_listen || chain->light)
		nopt.listen = NULL;
	/* all interfaces, the net's port */
	else if (!nopt.listen) {
		snprintf(any, sizeof any, "0.0.0.0:%u", (unsigned)nopt.p->port);
		nopt.listen = any;
	}
	if (!(net = net_open(&nopt))) return say("%s\n", failure);
	gossip =
	        gossip_open(chain, net, tx_delay, opt_stem,
	                    chain->light ? wallet : NULL);
	return control_listen();
}

/* Close what node_open opened. */
static void node_close(void) {
	struct sockaddr_un un;
	net_close(net);
	gossip_close(gossip);
	net = NULL;
	gossip = NULL;
	for (int i = 0; i < MAX_CONTROL; i++)
		if (ctls[i].fd >= 0)
			ctl_close(&ctls[i]);
	if (ctl_fd >= 0 && control_path(&un) == 0)
		unlink(un.sun_path);
	if (ctl_fd >= 0)
		close(ctl_fd);
	free(miner.blk);
}

/* Run every timer that is due: each layer's, the block file's flush, the
 * control clients' expiry.  Returns how long poll() may sleep: until the
 * nearest timer (0 while the miner has its share to mine). */
static int timers(void) {
	int64_t now, next = INT64_MAX;
	net_timers(net, &next);
	gossip_timers(gossip, &next);
	now = mono_ms();
	if (chain->unsynced && due(now, chain->unsynced + FLUSH_MS, &next))
		chain_sync(chain);
	for (int i = 0; i < MAX_CONTROL; i++)    /* (a client's time) */
		if (ctls[i].fd >= 0 &&
		    due(now, ctls[i].since + CONTROL_MS, &next))
			ctl_close(&ctls[i]);
	if (opt_mine)
		due(now, now + mine_rest(), &next);
	return next > now ? (int)(next - now) : 0;
}

/* `run`: be a node until told to stop.  One poll() over the control
 * socket, its clients and the peers, which sleeps until a descriptor is
 * ready or the nearest timer is due; then each layer's handlers, the
 * miner's turn, and the timers. */
static int cmd_run(char **arg) {
	struct pollfd *pfd;
	int k, r, t = 0, i;
	(void)arg;
	if (node_open()) {
		node_close();
		return 1;
	}
	catch_signals();
	pfd = xcalloc(1 + MAX_CONTROL + net->maxfds, sizeof *pfd);
	while (!got_signal && !stopping) {
		pfd[0].fd = ctl_fd;
		pfd[0].events = POLLIN;
		for (i = 0; i < MAX_CONTROL; i++) {
			/* (-1: poll skips it) */
			pfd[1 + i].fd = ctls[i].fd;
			pfd[1 + i].events = ctls[i].answer ? POLLOUT : POLLIN;
		}
		k = net_pollfds(net, pfd + 1 + MAX_CONTROL);
		r = poll(pfd, (nfds_t)(1 + MAX_CONTROL + k), t);
		wakeups++;
		/* (net_events runs on a timeout too: peers' turns) */
		if (r >= 0) {
			if (pfd[0].revents)
				ctl_accept();
			for (i = 0; i < MAX_CONTROL; i++)
				if (pfd[1 + i].revents && ctls[i].answer)
					ctl_write(&ctls[i]);
				else if (pfd[1 + i].revents && ctls[i].fd >= 0)
					ctl_read(&ctls[i]);
			net_events(net, pfd + 1 + MAX_CONTROL, k);
		} else if (errno != EINTR) {
			log_msg(LOG_ERROR, "poll: %s", strerror(errno));
		}
		if (opt_mine)
			mine_turn();
		t = timers();
	}
	chain_sync(chain);
	log_msg(LOG_INFO, "shutting down%s", got_signal ? " on a signal" : "");
	node_close();
	free(pfd);
	return 0;
}

/* ==== The command line ==== */
/* Send a command's words as one line to the node running in the data
 * directory, print what comes back (see ctl_answer) and return its exit
 * status; -1 if no node runs there. */
static int forward(int argc, char **argv) {
	char line[CONTROL_LINE] = "", *a, *nul, *end;
	size_t len = 0, cap = 4096;
	struct sockaddr_un un;
	ssize_t k;
	int i, fd;
	if (!params_find(opt_net) || data_dir() ||
	    control_path(&un) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&un, sizeof un)) {
		close(fd);
		return -1;
	}
	for (i = 0; i < argc; i++)
		if (strlen(line) + strlen(argv[i]) + 2 < sizeof line)
			strcat(strcat(line, argv[i]),
			       i + 1 < argc ? " " : "\n");
	a = xmalloc(cap);
	if (write(fd, line, strlen(line)) < 0)
		len = 0;
	while (len < MAX_ANSWER && (k = read(fd, a + len, cap - len)) > 0) {
		len += k;
		if (len == cap)
			a = xgrow(a, &cap, cap + 1, 1);
	}
	close(fd);
	if (!(nul = memchr(a, 0, len)) ||
	    !(end = memchr(nul + 1, 0, len - (nul + 1 - a))) ||
	    end + 1 >= a + len)
		i = say("the node closed the connection with no answer: did it "
		        "stop?\n");
	else {
		fwrite(a, 1, nul - a, stdout);
		fwrite(nul + 1, 1, end - nul - 1, stderr);
		i = end[1] - '0';
	}
	free(a);
	return i;
}

static void usage(FILE *f);

/* `help` and `version`, on stdout. */
static int cmd_help(char **arg) {
	(void)arg;
	usage(cmd_out);
	return 0;
}

static int cmd_version(char **arg) {
	(void)arg;
	out("peerchain %s\n", PEERCHAIN_VERSION);
	return 0;
}

/* Every command.  Its function gets as many arguments as it takes and
 * returns -1 if their form is wrong: then usage and exit status 2. */
static const struct command commands[] = {
        {"help", cmd_help, 0, 0, HERE, "", "list the commands"},
        {"version", cmd_version, 0, 0, HERE, "", "print the version"},
        {"run", cmd_run, 0, 0, HERE, "",
         "be a node: connect, listen, gossip, mine with -m, until stopped"},
        {"address", cmd_address, 0, 1, EITHER | CHAIN | NEW_WALLET, "[new]",
         "the wallet's receiving address"},
        {"wallet", cmd_wallet, 0, 0, EITHER | CHAIN | WALLET, "",
         "the wallet's keys and the leaves they used"},
        {"balance", cmd_balance, 0, 0, EITHER | CHAIN | WALLET, "",
         "the wallet's coins: confirmed, immature, unconfirmed"},
        {"send", cmd_send, 2, 3, NODE | CHAIN | WALLET, "AMOUNT ADDRESS [FEE]",
         "pay (in coins: 1.5): the node checks and gossips it"},
        {"mine", cmd_mine, 1, 2, EITHER, "N [ADDRESS]",
         "mine N (1 to 1000000) blocks now (a running node: regtest only)"},
        {"tip", cmd_tip, 0, 0, EITHER | CHAIN, "",
         "the best block, the mempool"},
        {"block", cmd_block, 1, 1, EITHER | CHAIN, "HASH|HEIGHT", "a block"},
        {"tx", cmd_tx, 1, 1, EITHER | CHAIN, "TXID",
         "a transaction, its status"},
        {"seen", cmd_seen, 1, 1, NODE, "HASH",
         "when the node first took a block or transaction"},
        {"status", cmd_status, 0, 0, NODE, "", "height, peers, addresses"},
        {"peers", cmd_peers, 0, 1, NODE, "[dot]",
         "the connections (dot: as a Graphviz graph)"},
        {"stats", cmd_stats, 0, 0, NODE, "",
         "messages and bytes by command; gossip's counters"},
        {"connect", cmd_connect, 1, 1, NODE, "HOST:PORT", "dial a peer now"},
        {"ban", cmd_ban, 1, 2, NODE, "IP [SECONDS]", "drop and ban an address"},
        {"unban", cmd_unban, 1, 1, NODE, "IP", "lift a ban"},
        {"stop", cmd_stop, 0, 0, NODE, "", "stop the running node"},
        { 0 },

};

/* Print the usage and every command to f. */
static void usage(FILE *f) {
	char name[64];
	fprintf(f, "usage: peerchain [-d DIR] [-n NET] [-R] COMMAND [ARGS...]\n"
	        "       peerchain [-d DIR] [-n NET] [-R] [-DGLmqSv] "
	        "[-c HOST:PORT] [-i N]\n"
	        "                 [-l HOST:PORT] [-M PERCENT] [-o N] "
	        "[-s HOST:PORT]\n"
	        "                 [-T MS|random] [-t NAME=S] [-x HOST:PORT] "
	        "run\n"
	        "(the options: peerchain(1), or the README)\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++) {
		snprintf(name, sizeof name, "%s %s", c->name, c->args);
		fprintf(f, "  %-24s %s%s\n", name, c->help,
		        (c->where & EITHER) == NODE ? " (running node)" : "");
	}
}

/* Run the command argv[0]: here, in the running node (forwarded), or
 * (remote) here inside the node for a control client; its exit status. */
static int dispatch(int argc, char **argv, int remote) {
	const struct command *c;
	int r;
	for (c = commands; argc && c->name && strcmp(argv[0], c->name); c++)
		;
	if (!argc || !c->name || (remote && !(c->where & NODE))) {
		if (argc)
			say("unknown command '%s'\n", argv[0]);
		usage(cmd_err);
		return 2;
	}
	if (argc - 1 < c->min || argc - 1 > c->max) goto usage;
	if (!remote && c->where & NODE) {      /* the running node's, if any */
		if ((r = forward(argc, argv)) >= 0) return r;
		if ((c->where & EITHER) == NODE)
			return say("no node running in %s (start one with "
			           "`peerchain run`)\n", netdir);
	}
	if (c->where > EITHER && need(c->where)) return 1;
	r = c->run(argv + 1);
	if (r != -1) return r;
usage:
	fprintf(cmd_err, "usage: peerchain [-d DIR] [-n NET] %s %s\n", c->name,
	        c->args);
	return 2;
}

/* Take one of run's options; returns 0, or -1 if its value is bad. */
static int node_option(int ch, char *arg) {
	static const char *names[] = { "handshake", "ping", "idle", "ban",
	                               "frame" };
	static int64_t *const t[] = {&nopt.handshake_s, &nopt.ping_s,
	                             &nopt.idle_s, &nopt.ban_s, &nopt.frame_s};
	char *end = arg, *eq = arg ? strchr(arg, '=') : NULL;
	long v = arg ? strtol(arg, &end, 10) : 0;
	int bad = !arg || *end || end == arg, i;
	switch (ch) {
	case 'l':
		nopt.listen = arg;
		return 0;
	case 'L':
		no_listen = 1;
		return 0;
	case 's':
		nopt.seeds[nopt.nseeds++] = arg;
		return 0;
	case 'c':
		nopt.connect[nopt.nconnect++] = arg;
		return 0;
	case 'G':
		nopt.nogroups = 1;
		return 0;
	case 'D':
		opt_stem = 0;
		return 0;
	case 'x':
		nopt.proxy = arg;
		return 0;
	case 'm':
		opt_mine = 100;
		return 0;
	case 'M':
		opt_mine = v;
		return -(bad || v < 1 || v > 100);
	case 'S':
		opt_chain |= CHAIN_LIGHT;
		return 0;
	case 'R':
		opt_chain |= CHAIN_REINDEX;
		return 0;
	case 'v':
		log_min = LOG_DEBUG;
		return 0;
	case 'q':
		log_min = LOG_WARN;
		return 0;
	case 'T':
		if (!strcmp(arg, "random")) {
			tx_delay = TX_DELAY_RANDOM;
			return 0;
		}
		tx_delay = v;
		return -(bad || v < 0 || v > 60000);
	case 'o':
		nopt.max_out = v;
		return -(*end || v < 0 || v > 64);
	case 'i':
		nopt.max_in = v;
		return -(*end || v < 0 || v > 10000);
	}
	for (i = 0; eq && i < (int)(sizeof t / sizeof *t); i++) /* -t N=S */
		if (strlen(names[i]) == (size_t)(eq - arg) &&
		    !strncmp(arg, names[i], eq - arg)) {
			*t[i] = v = strtol(eq + 1, &end, 10);
			return -(*end || v < 1 || end == eq + 1);
		}
	return -1;
}

/* Read the options, then run the command named next (2: a usage error). */
int main(int argc, char **argv) {
	char **list;
	int ch;
	cmd_out = stdout;
	cmd_err = stderr;
	if (argc == 2 && (!strcmp(argv[1], "--help") ||
	                  !strcmp(argv[1], "--version")))
		/* the commands help, version */
		argv[1] += 2;
	list = xcalloc(2 * argc, sizeof *list);   /* -s, then -c */
	nopt.seeds = list;
	nopt.connect = list + argc;
	while ((ch = getopt(argc, argv, "d:n:hl:Ls:c:o:i:GDmM:SRt:T:vqx:")) !=
	       -1) {
		if (ch == 'd')
			opt_dir = optarg;
		else if (ch == 'n')
			opt_net = optarg;
		else if (ch == 'h' || ch == '?' || node_option(ch, optarg)) {
			if (ch != 'h' && ch != '?')
				fprintf(stderr,
				        "peerchain: bad value for -%c\n", ch);
			free(list);
			return ch == 'h' ? cmd_help(NULL) : (usage(stderr), 2);
		}
	}
	ch = dispatch(argc - optind, argv + optind, 0);
	wallet_close(wallet);
	chain_close(chain);
	free(list);
	return ch;
}
