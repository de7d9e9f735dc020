/*
 * chain.c - the ledger's state: the block index (a tree of every header we
 * know), the choice of the chain with the most work, the unspent outputs
 * (UTXO set) with the undo data that takes a block back, the block files,
 * and the mempool.
 *
 * A block arrives in chain_add_block().  Its header joins the index
 * (header_check), its body is checked (block_check) and appended to a block
 * file, and activate() moves the active chain to the most work: it
 * disconnects back to the fork and connects the new blocks, spending their
 * inputs and keeping what they spent as undo data.  On start, chain_open()
 * replays the block files through that same path.  Start reading at
 * chain_add_block(), the first function: the file is in the story's order
 * (the declarations above it name what comes later), as dwm's is.
 *
 * A light chain (chain_open's light) is the same tree of headers with no
 * bodies: a header is its block, stored alone in hdrNNNNN.dat files of the
 * same records, and connecting one changes nothing but the active chain.
 * Its UTXO set holds only the wallet's outputs that full peers proved
 * (chain_proven), its mempool only the wallet's own payments.
 */
#include "node.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEDIAN_SPAN  11             /* blocks a time must pass the median of */
#define WARP_SLACK   16             /* a window's first block may be a 16th
                                       of a window's time before its parent */
#define FILE_MAX     (128u << 20)   /* bytes in a block file, as Bitcoin */
#define RECORD_HEAD  8              /* magic | u32 length */
#define RECORD_TAIL  4              /* CRC-32 of the block */
#define CHECKED_LEN  44             /* checked.dat: magic, height, hash, sum */
#define POOL_CAP     (32u << 20)    /* mempool bytes by default */
#define POOL_EXPIRY  (14 * 24 * 60 * 60)  /* seconds a transaction may wait,
                                             as Bitcoin Core (336 hours) */
#define EXPIRE_EVERY 60             /* seconds between looks for them */
#define LIGHT_KEEP   300            /* a light chain's headers in memory:
                                       from this many to twice as many */
#define LIGHT_REC    (RECORD_HEAD + HEADER_LEN + RECORD_TAIL)
#define CHAIN_MAX    25             /* a mempool transaction's ancestors in
                                       the mempool, and its descendants,
                                       each with itself: at most this many,
                                       as Bitcoin Core */

/* A block index entry's status bits. */
#define HAVE_DATA 1  /* the body is in a block file */
#define LINKED    2  /* it and every block before it have bodies */
#define FAILED    4  /* it, or a block before it, broke a rule */

/* One header we know: an entry of the block index, a node of its tree. */
struct blockindex {
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN];
	struct blockindex *prev, *child,
	        *sibling; /* parent, first child, next
	                     of its parent's children */
	struct blockindex *skip; /* an ancestor further back (ancestor()) */
	uint32_t height;
	uint32_t seq;            /* arrival order: the first seen wins ties */
	u256 work;               /* total work of the chain ending here */
	unsigned status;         /* HAVE_DATA | LINKED | FAILED */
	int reason;              /* why it FAILED */
	uint32_t file, pos, len; /* body: len bytes at pos in blkFILE.dat */
	struct coin *undo;       /* while connected: coins its inputs spent */
	uint32_t nundo;
};

/* A transaction waiting in the mempool. */
struct ptx {
	struct tx tx;            /* parsed; tx.raw is raw */
	uint8_t *raw;
	uint64_t fee;            /* inputs minus outputs */
	int64_t time;            /* when it arrived (seconds since 1970) */
	uint32_t seq;            /* arrival order */
	uint32_t ndesc;          /* mempool transactions spending it, at any
	                            depth, and itself */
};

/* Transactions set aside during a reorg, to go back into the mempool. */
struct txlist {
	struct {
		uint8_t *raw;
		size_t len;
		int64_t time;        /* when it first arrived */
	} *v;
	size_t n, cap;
};

/* The time and bits fields of a known header. */
#define index_time(n) get32le((n)->hdr + HDR_TIME)
#define index_bits(n) get32le((n)->hdr + HDR_BITS)

/* The tip of the active chain. */
#define tip(c) ((c)->active[(c)->nactive - 1])

/* The block files' names: blkNNNNN.dat, a light chain's hdrNNNNN.dat. */
#define KIND(c) ((c)->light ? "hdr" : "blk")

/* ==== Function declarations ==== */
/* (The functions are in the order of the story; these are met before
 * they are defined.) */
static int add_block(struct chain *c, const uint8_t *blk, size_t len,
                     const struct blockindex *at);
static void activate(struct chain *c, const struct blockindex *fresh,
                     const struct block *fb);
static struct blockindex *fork_point(struct blockindex *a,
                                     struct blockindex *b);
static int connect_tip(struct chain *c, struct blockindex *n,
                       const struct blockindex *fresh, const struct block *fb);
static void disconnect_tip(struct chain *c, struct txlist *back);
static void pool_confirm(struct chain *c, const struct block *b);
static struct blockindex *ancestor(struct blockindex *n, uint32_t h);
static int accept_header(struct chain *c, const uint8_t *hdr,
                         struct blockindex **out);
static void fail(struct chain *c, struct blockindex *n, int r);
static void reroot(struct chain *c);
static void link_body(struct chain *c, struct blockindex *n);
static void unapply(struct chain *c, const struct block *b, uint32_t count,
                    struct blockindex *n);
static int connect_block(struct chain *c, struct blockindex *n,
                         const struct block *b);
static int store(struct chain *c, struct blockindex *n, const uint8_t *blk,
                 size_t len);
static uint8_t *read_block(const struct chain *c, const struct blockindex *n);
static void txlist_add(struct txlist *l, const uint8_t *raw, size_t len,
                       int64_t time);
static void pool_forget(struct chain *c, struct ptx *p);
static void pool_remove(struct chain *c, struct ptx *p);
static void pool_refill(struct chain *c, struct txlist *back);

/* ==== Taking a block: start here ==== */
/* A block from a peer or the miner: check, store, follow the most work.
 * Returns V_OK (stored, maybe off the best chain) or why not (a reason). */
int chain_add_block(struct chain *c, const uint8_t *blk, size_t len) {
	return add_block(c, blk, len, NULL);
}

/* Add a header alone (headers-first sync; to a light chain, a whole
 * block); returns a reason. */
int chain_add_header(struct chain *c, const uint8_t hdr[HEADER_LEN]) {
	uint8_t hash[SHA256_LEN];
	struct blockindex *n;
	sha256d(hdr, HEADER_LEN, hash);
	if (map_get(&c->index, hash)) return V_ALREADY_KNOWN;
	return c->light ? add_block(c, hdr, HEADER_LEN, NULL) :
	       accept_header(c, hdr, &n);
}

/* Take a block: check it, store it (unless replayed from `at`), link it
 * and move to the best chain.  Returns a reason. */
static int add_block(struct chain *c, const uint8_t *blk, size_t len,
                     const struct blockindex *at) {
	struct blockindex *n;
	struct block b = { 0 };
	int r;
	if (len > MAX_BLOCK_SIZE) return V_TOO_BIG;
	if (len < HEADER_LEN || (c->light && len > HEADER_LEN))
		return V_MALFORMED;
	if ((r = accept_header(c, blk, &n)) != V_OK) return r;
	if (n->status & HAVE_DATA) return V_ALREADY_KNOWN;
	if (!c->light && (r = block_parse(&b, blk, len)) != V_OK) return r;
	r = c->light ? V_OK : block_check(&b, n->height);
	if (r != V_OK && r != V_BAD_MERKLE_ROOT && r != V_DUPLICATE_TX)
		/* the body is the header's, and breaks a rule */
		fail(c, n, r);
	if (r == V_OK && at) {
		n->file = at->file;
		n->pos = at->pos;
		n->len = at->len;
		n->status |= HAVE_DATA;
	} else if (r == V_OK) {
		r = store(c, n, blk, len);
	}
	if (r == V_OK) {        /* (else the body may be a mutated copy) */
		link_body(c, n);
		activate(c, n, &b);
		r = n->status & FAILED ? n->reason : V_OK;
		if (c->light && c->nactive >= 2 * LIGHT_KEEP)
			reroot(c);
	}
	block_free(&b);
	return r;
}

/* Move the active chain to the best tip: disconnect back to the fork,
 * connect forward (fresh, parsed as fb, is not read back).  A block that
 * breaks a rule fails its branch and the search starts over.  Set-aside
 * transactions go back to the mempool if still valid. */
static void activate(struct chain *c, const struct blockindex *fresh,
                     const struct block *fb) {
	struct txlist back = { NULL, 0, 0 };
	struct blockindex *fork, *next;
	int r = V_OK;
	while (c->best != tip(c)) {
		fork = fork_point(tip(c), c->best);
		while (tip(c) != fork)
			disconnect_tip(c, &back);
		/* Forward to c->best, unless a block fails (then c->best
		 * has moved, and the search starts over). */
		for (r = V_OK; r == V_OK && tip(c) != c->best;) {
			next = ancestor(c->best, tip(c)->height + 1);
			r = connect_tip(c, next, fresh, fb);
		}
	}
	if (back.n)
		pool_refill(c, &back);
	free(back.v);
}

/* The last block two branches share. */
static struct blockindex *fork_point(struct blockindex *a,
                                     struct blockindex *b) {
	a = ancestor(a, b->height);
	b = ancestor(b, a->height);
	while (a != b) {
		a = a->prev;
		b = b->prev;
	}
	return a;
}

/* Connect n, the block after the tip, read back unless it is fresh
 * (parsed as fb).  Returns a reason; on failure n's branch fails. */
static int connect_tip(struct chain *c, struct blockindex *n,
                       const struct blockindex *fresh, const struct block *fb) {
	uint8_t *raw = NULL;
	struct block own;
	const struct block *b = fb;
	int r = V_OK;
	if (n != fresh && !c->light) {
		raw = read_block(c, n);
		r = block_parse(&own, raw, n->len);
		b = &own;
	}
	if (r == V_OK && !c->light)
		r = connect_block(c, n, b);
	if (r == V_OK) {
		c->active = xgrow(c->active, &c->acap, c->nactive + 1,
		                  sizeof *c->active);
		c->active[c->nactive++] = n;
		if (!c->light)
			pool_confirm(c, b);
	}
	if (n != fresh && !c->light && r != V_MALFORMED)
		block_free(&own);
	free(raw);
	if (r != V_OK)
		fail(c, n, r);
	return r;
}

/* Disconnect the tip, setting its transactions aside in back. */
static void disconnect_tip(struct chain *c, struct txlist *back) {
	struct blockindex *n = tip(c);
	struct block b;
	uint8_t *raw;
	c->nactive--;
	if (c->light) return;
	raw = read_block(c, n);
	if (block_parse(&b, raw, n->len) != V_OK)
		fatal("a connected block no longer parses");
	unapply(c, &b, b.ntx, n);
	for (uint32_t i = 1; i < b.ntx; i++)
		txlist_add(back, b.tx[i].raw, b.tx[i].len, chain_now(c));
	block_free(&b);
	free(raw);
}

/* A block is confirmed: its transactions leave the mempool, and so do
 * those that spent the same outputs (with their children). */
static void pool_confirm(struct chain *c, const struct block *b) {
	struct ptx *p;
	uint32_t i, k;
	for (i = 1; i < b->ntx; i++) {
		if ((p = map_get(&c->pool, b->tx[i].id)))
			pool_forget(c, p);
		for (k = 0; k < b->tx[i].nin; k++)
			if ((p = map_get(&c->spends, b->tx[i].in[k].prev)))
				pool_remove(c, p);
	}
}

/* ==== The block index and header rules ==== */
/* The clock the rules use: the real one, unless a test set one. */
int64_t chain_now(const struct chain *c) {
	return c->now ? c->now : wall_s();
}

/* The earliest time a block after prev may carry: past the median time
 * of the MEDIAN_SPAN blocks ending at prev; and for the first block of a
 * retarget window, at most WARP_SLACK of a window's time before prev
 * (BIP94's rule, scaled to the window).  Without that, a miner who stamps
 * each window's last block ahead and the next window's first back again
 * makes every window look long, and the target easier for ever (the
 * time warp); with it, the span of every window counts the time between
 * windows too, less that slack at most. */
static int64_t least_time(const struct chain *c,
                          const struct blockindex *prev) {
	const struct blockindex *n = prev;
	uint32_t t[MEDIAN_SPAN], v;
	int k = 0, i, j;
	for (; n && k < MEDIAN_SPAN; n = n->prev)
		t[k++] = index_time(n);
	for (i = 1; i < k; i++) {
		for (v = t[i], j = i; j > 0 && t[j - 1] > v; j--)
			t[j] = t[j - 1];
		t[j] = v;
	}
	int64_t least = (int64_t)t[k / 2] + 1,
	        warp = (int64_t)index_time(prev) -
	               c->p->interval * c->p->spacing / WARP_SLACK;
	if (c->p->interval && (prev->height + 1) % c->p->interval == 0 &&
	    warp > least)
		return warp;
	return least;
}

/* The bits a block after prev must carry: its parent's, or every interval
 * blocks, scaled by the last interval's time (0: it is below the
 * genesis).  Its first block may be below a light chain's root: then it
 * is on the active chain. */
static uint32_t next_bits(const struct chain *c,
                          const struct blockindex *prev) {
	uint32_t h = prev->height + 1 - c->p->interval;
	uint8_t first[HEADER_LEN];
	if (!c->p->interval || (prev->height + 1) % c->p->interval)
		return index_bits(prev);
	if (h >= c->root->height)
		memcpy(first, ancestor((struct blockindex *)prev, h)->hdr,
		       HEADER_LEN);
	else if (chain_header_at(c, h, first))
		return 0;
	return header_retarget(c->p, index_bits(prev),
	                       (int64_t)index_time(prev) -
	                       get32le(first + HDR_TIME));
}

/* n's ancestor at height h (at most n's own).  Each block's skip leads
 * to the height whose distance from the root is its own with the lowest
 * one bit cleared, so a walk takes O(log^2) steps, not the distance: a
 * peer who makes us look far back makes us walk little. */
static struct blockindex *ancestor(struct blockindex *n, uint32_t h) {
	while (n->height > h)
		n = n->skip && n->skip->height >= h ? n->skip : n->prev;
	return n;
}

/* Add a checked header to the block index and its tree. */
static struct blockindex *index_add(struct chain *c, const uint8_t *hdr,
                              const uint8_t hash[SHA256_LEN],
                              struct blockindex *prev) {
	struct blockindex *n = xmalloc(sizeof *n);
	u256 w;
	memcpy(n->hash, hash, SHA256_LEN);
	memcpy(n->hdr, hdr, HEADER_LEN);
	n->seq = c->seq++;
	n->prev = prev;
	if (prev) {
		n->height = prev->height + 1;
		n->work = prev->work;
		n->sibling = prev->child;
		prev->child = n;
		uint32_t h = n->height - c->root->height;
		n->skip = ancestor(prev, c->root->height + (h & (h - 1)));
	}
	header_work(get32le(hdr + HDR_BITS), &w);
	u256_add(&n->work, &w);
	map_put(&c->index, hash, n);
	if (!c->best_hdr || u256_cmp(&n->work, &c->best_hdr->work) > 0)
		c->best_hdr = n;
	return n;
}

/* Find or add a header's entry into *out; returns V_OK or a reason. */
static int accept_header(struct chain *c, const uint8_t *hdr,
                         struct blockindex **out) {
	uint8_t hash[SHA256_LEN];
	struct blockindex *prev, *t = tip(c);
	u256 w;
	int r;
	sha256d(hdr, HEADER_LEN, hash);
	if ((*out = map_get(&c->index, hash)))
		return (*out)->status & FAILED ? (*out)->reason : V_OK;
	if (!(prev = map_get(&c->index, hdr + HDR_PREV)))
		return V_PREVIOUS_UNKNOWN;
	if (prev->status & FAILED) return V_PREVIOUS_INVALID;
	if (prev->height >= t->height + HEADERS_AHEAD)
		return V_TOO_FAR_AHEAD;
	/* A header that does not make the best chain costs memory and may
	 * never matter: it is kept only if its chain has at least the work
	 * the active chain had SIDE_MARGIN blocks below its tip (it could yet
	 * overtake), and while fewer than SIDE_MAX are held.  A fork deeper
	 * than that is not followed: finality, as rolling checkpoints give. */
	header_work(get32le(hdr + HDR_BITS), &w);
	u256_add(&w, &prev->work);
	if (u256_cmp(&w, &c->best_hdr->work) <= 0 &&
	    (c->side == SIDE_MAX ||
	     (t->height >= c->root->height + SIDE_MARGIN &&
	      u256_cmp(&w, &ancestor(t, t->height - SIDE_MARGIN)->work) < 0)))
		return V_SIDE_TOO_FAR;
	if ((r = header_check(c->p, hdr, hash, next_bits(c, prev),
	                      least_time(c, prev), chain_now(c))) != V_OK)
		return r;
	*out = index_add(c, hdr, hash, prev);
	c->side += *out != c->best_hdr;
	return V_OK;
}

/* Is a a better tip than b: more work, or as much and seen first? */
static int better(const struct blockindex *a, const struct blockindex *b) {
	int k = u256_cmp(&a->work, &b->work);
	return k > 0 || (k == 0 && a->seq < b->seq);
}

/* The best candidate tip, searched afresh: the active tip unless some
 * block has strictly more work (then the first seen of the heaviest). */
static void find_best(struct chain *c) {
	struct blockindex **v = (struct blockindex **)map_values(&c->index);
	struct blockindex *t = tip(c);
	size_t i, n = c->index.n;
	c->best = t;
	for (i = 0; i < n; i++)
		if ((v[i]->status & (LINKED | FAILED)) == LINKED &&
		    u256_cmp(&v[i]->work, &t->work) > 0 &&
		    (c->best == t || better(v[i], c->best)))
			c->best = v[i];
	free(v);
}

/* The block after k in a walk of the tree under root, parents first, by
 * the tree's own links: no recursion, as a peer picks the depth.  down 0
 * skips what is built on k.  NULL when the walk is over. */
static struct blockindex *walk(struct blockindex *k,
                               const struct blockindex *root, int down) {
	if (down && k->child) return k->child;
	for (; k != root; k = k->prev)
		if (k->sibling) return k->sibling;
	return NULL;
}

/* Mark n failed for reason r, and everything built on it. */
static void fail_tree(struct blockindex *n, int r) {
	for (struct blockindex *k = n; k; k = walk(k, n, 1)) {
		k->status |= FAILED;
		k->reason = k == n ? r : V_PREVIOUS_INVALID;
	}
}

/* n broke rule r: fail its subtree and look for the best tip again. */
static void fail(struct chain *c, struct blockindex *n, int r) {
	struct blockindex **v, *h;
	size_t i, k;
	fail_tree(n, r);
	if (c->best->status & FAILED)
		find_best(c);
	if (!(c->best_hdr->status & FAILED)) return;
	v = (struct blockindex **)map_values(&c->index);
	for (h = c->best, i = 0, k = c->index.n; i < k; i++)
		if (!(v[i]->status & FAILED) && better(v[i], h))
			h = v[i];
	free(v);
	c->best_hdr = h;
}

/* n has its body now: if its parent is LINKED, so are n and the waiting
 * blocks after it, and each may be the new best. */
static void link_body(struct chain *c, struct blockindex *n) {
	struct blockindex *k = n;
	int down;
	if (!(n->prev->status & LINKED)) return;
	for (; k; k = walk(k, n, down)) {
		/* Only a block with its body, not linked or failed yet, links,
		 * and only past it does the walk go on down. */
		down = (k->status & (HAVE_DATA | LINKED | FAILED)) == HAVE_DATA;
		if (!down)
			continue;
		k->status |= LINKED;
		if (u256_cmp(&k->work, &c->best->work) > 0)
			c->best = k;
	}
}

/* A light chain holds at most 2 x LIGHT_KEEP headers in memory: past
 * that, the active block LIGHT_KEEP below the tip becomes the root.  The
 * active headers below it join the runs (a run goes on while each is
 * stored right after the one before); every header not built on the new
 * root is forgotten, as a fork that deep is not followed. */
static void reroot(struct chain *c) {
	struct blockindex **v = (struct blockindex **)map_values(&c->index);
	struct blockindex *r = c->active[c->nactive - LIGHT_KEEP], *a;
	size_t i, n = c->index.n, k = r->height - c->root->height;
	struct run next;
	for (i = 0; i < k; i++) {
		a = c->active[i];
		next = (struct run){ a->height, a->file,
		                     a->pos - a->height * LIGHT_REC };
		if (c->nruns && c->runs[c->nruns - 1].file == next.file &&
		    c->runs[c->nruns - 1].base == next.base)
			continue;
		c->runs = xgrow(c->runs, &c->rcap, c->nruns + 1,
		                sizeof *c->runs);
		c->runs[c->nruns++] = next;
	}
	/* Mark what stays (NULL; its skip, which may lead below the root,
	 * goes: ancestor() walks back instead), then free the rest: a walk
	 * to an ancestor reads entries that go. */
	for (i = 0; i < n; i++)
		if (v[i]->height >= r->height &&
		    ancestor(v[i], r->height) == r) {
			v[i]->skip = NULL;
			v[i] = NULL;
		}
	for (i = 0; i < n; i++)
		if (v[i]) {
			map_del(&c->index, v[i]->hash);
			free(v[i]);
		}
	free(v);
	r->prev = r->sibling = NULL;
	memmove(c->active, c->active + k, (c->nactive - k) * sizeof *c->active);
	c->nactive -= k;
	c->root = r;
}

/* ==== Transactions against the UTXO set ==== */
/* The coin an outpoint names, from the UTXO set or (pool) the mempool;
 * returns V_OK, V_MISSING_INPUT or (pool) V_MEMPOOL_CONFLICT. */
static int find_coin(const struct chain *c, const uint8_t *op, int pool,
                     struct coin *coin) {
	const struct coin *u = map_get(&c->utxo, op);
	const struct ptx *p;
	uint32_t k = get32le(op + SHA256_LEN);
	if (pool && map_get(&c->spends, op)) return V_MEMPOOL_CONFLICT;
	if (u) {
		*coin = *u;
		return V_OK;
	}
	if (!pool || !(p = map_get(&c->pool, op)) || k >= p->tx.nout)
		return V_MISSING_INPUT;
	coin->amount = p->tx.out[k].amount;
	memcpy(coin->addr, p->tx.out[k].addr, ADDR_LEN);
	coin->height = tip(c)->height + 1;
	coin->coinbase = 0;
	return V_OK;
}

/* Check t's inputs for a block at height, all but the signatures (the
 * costly part, tx_signed's, made last): each exists, is spent once (in
 * spent), is mature and has the key its address names; they cover the
 * outputs (*fee).  Returns a reason. */
static int check_inputs(const struct chain *c, const struct tx *t,
                        uint32_t height, struct map *spent, int pool,
                        uint64_t *fee) {
	uint8_t a[ADDR_LEN];
	uint64_t in = 0, out = 0;
	struct coin coin;
	int r;
	for (uint32_t i = 0; i < t->nin; i++) {
		if (map_get(spent, t->in[i].prev)) return V_DOUBLE_SPEND;
		map_put(spent, t->in[i].prev, (void *)t);
		if ((r = find_coin(c, t->in[i].prev, pool, &coin)) != V_OK)
			return r;
		if (coin.coinbase && height - coin.height < c->p->maturity)
			return V_IMMATURE_COINBASE_SPEND;
		sha256(t->in[i].pub, LMS_PUB_LEN, a);
		if (memcmp(a, coin.addr, ADDR_LEN)) return V_KEY_NOT_ADDRESS;
		in += coin.amount;
		if (in > MAX_MONEY)
			return V_AMOUNT_OUT_OF_RANGE;
	}
	for (uint32_t i = 0; i < t->nout; i++)
		out += t->out[i].amount;
	if (in < out) return V_OUTPUTS_EXCEED_INPUTS;
	*fee = in - out;
	return V_OK;
}

/* ==== The UTXO set: connecting and disconnecting blocks ==== */
/* An unspent output of a full chain's UTXO set: its coin, its outpoint,
 * and its place in the list of its address's outputs (c->payees, newest
 * first), which getproofs walks instead of the whole set. */
struct unspent {
	struct coin k;           /* (first: the set's values are coins) */
	uint8_t op[OUTPOINT_LEN];
	struct unspent *next, *prev;
};

/* Put coin k at outpoint op into the UTXO set, first on its address's
 * list. */
static void utxo_put(struct chain *c, const uint8_t *op, const struct coin *k) {
	struct unspent *u = xmalloc(sizeof *u);
	u->k = *k;
	memcpy(u->op, op, OUTPOINT_LEN);
	u->next = map_del(&c->payees, k->addr);
	if (u->next)
		u->next->prev = u;
	map_put(&c->payees, k->addr, u);
	map_put(&c->utxo, op, u);
}

/* Take the output at op out of the UTXO set (and its list), its coin into
 * *k unless k is NULL. */
static void utxo_del(struct chain *c, const uint8_t *op, struct coin *k) {
	struct unspent *u = map_del(&c->utxo, op);
	if (u->next)
		u->next->prev = u->prev;
	if (u->prev) {
		u->prev->next = u->next;
	} else {
		map_del(&c->payees, u->k.addr);
		if (u->next)
			map_put(&c->payees, u->k.addr, u->next);
	}
	if (k)
		*k = u->k;
	free(u);
}

/* Remove t's inputs from the UTXO set, keeping them as n's undo data. */
static void spend(struct chain *c, const struct tx *t, struct blockindex *n) {
	for (uint32_t i = 0; i < t->nin; i++)
		utxo_del(c, t->in[i].prev, &n->undo[n->nundo++]);
}

/* Add t's outputs to the UTXO set. */
static void add_outputs(struct chain *c, const struct tx *t, uint32_t height,
                        int coinbase) {
	uint8_t op[OUTPOINT_LEN];
	struct coin k = { .height = height, .coinbase = coinbase };
	for (uint32_t i = 0; i < t->nout; i++) {
		k.amount = t->out[i].amount;
		memcpy(k.addr, t->out[i].addr, ADDR_LEN);
		outpoint(op, t->id, i);
		utxo_put(c, op, &k);
	}
}

/* Undo the first count transactions of b, last first, from n's undo. */
static void unapply(struct chain *c, const struct block *b, uint32_t count,
                    struct blockindex *n) {
	uint8_t op[OUTPOINT_LEN];
	uint32_t i, k;
	for (i = count; i-- > 0;) {
		const struct tx *t = &b->tx[i];
		for (k = 0; k < t->nout; k++) {
			outpoint(op, t->id, k);
			utxo_del(c, op, NULL);
		}
		for (k = t->nin; i > 0 && k-- > 0;)
			utxo_put(c, t->in[k].prev, &n->undo[--n->nundo]);
	}
	free(n->undo);
	n->undo = NULL;
}

/* Apply block b at node n to the UTXO set, checking every contextual rule
 * on the way.  Returns a reason; on failure the set is as it was. */
static int connect_block(struct chain *c, struct blockindex *n,
                         const struct block *b) {
	uint64_t fees = 0, fee = 0, claimed = 0;
	uint32_t i, k, nin = 0;
	struct map spent;
	int r = V_OK;
	for (i = 1; i < b->ntx; i++)
		nin += b->tx[i].nin;
	n->undo = xcalloc(nin, sizeof *n->undo);
	n->nundo = 0;
	map_init(&spent, OUTPOINT_LEN);
	for (i = 0; i < b->ntx; i++) {
		if (i > 0) {
			r = check_inputs(c, &b->tx[i], n->height, &spent, 0,
			                 &fee);
			/* Signatures last, and not again below the height
			 * checked.dat vouches for (c->trust).  At that height
			 * they are checked: a refused block stored before the
			 * one checked.dat names would tie with it for the tip,
			 * and below it the heavier chain to that one wins. */
			if (r == V_OK && n->height >= c->trust)
				r = tx_signed(&b->tx[i]);
			fees += fee;
			if (r == V_OK && fees > MAX_MONEY)
				r = V_AMOUNT_OUT_OF_RANGE;
			if (r != V_OK)
				break;
			spend(c, &b->tx[i], n);
		}
		add_outputs(c, &b->tx[i], n->height, i == 0);
	}
	map_free(&spent, 0);
	for (k = 0; r == V_OK && k < b->tx[0].nout; k++)
		claimed += b->tx[0].out[k].amount;
	if (r == V_OK && claimed > block_subsidy(c->p, n->height) + fees)
		r = V_COINBASE_TOO_LARGE;
	if (r != V_OK)
		unapply(c, b, r == V_COINBASE_TOO_LARGE ? b->ntx : i, n);
	return r;
}

/* ==== Block files ==== */
/* Open block file number num of the data directory. */
static int open_file(const struct chain *c, uint32_t num, int flags) {
	char path[4096];
	snprintf(path, sizeof path, "%s/%s%05u.dat", c->dir, KIND(c),
	         (unsigned)num);
	return file_open(path, flags);
}

/* Append a block as a record (magic | u32 length | block | CRC-32), in a
 * new file past file_max; chain_sync() flushes it (c->unsynced says when
 * it is due).  Returns V_OK, or V_STORAGE_FAILED with the file as it
 * was. */
static int store(struct chain *c, struct blockindex *n, const uint8_t *blk,
                 size_t len) {
	size_t size = RECORD_HEAD + len + RECORD_TAIL;
	uint8_t *rec;
	off_t at = c->filesize;
	int bad;
	if (!c->dir) return V_STORAGE_FAILED;
	if (c->filesize > 0 && c->filesize + size > c->file_max) {
		/* (checked.dat names only what is on disk) */
		chain_sync(c);
		close(c->fd);
		c->fd = open_file(c, ++c->filenum, O_RDWR | O_CREAT);
		at = c->filesize = 0;
		file_sync_dir(c->dir);
	}
	rec = xmalloc(size);                  /* (one write, not three) */
	memcpy(rec, c->p->magic, 4);
	put32le(rec + 4, len);
	memcpy(rec + RECORD_HEAD, blk, len);
	put32le(rec + RECORD_HEAD + len, crc32(blk, len));
	bad = c->fd < 0 || file_io(c->fd, rec, size, at, 1);
	free(rec);
	if (bad) {
		int e = errno;
		if (c->fd >= 0 && ftruncate(c->fd, at))
			fatal("cannot undo a failed write to a block file");
		log_msg(LOG_ERROR, "cannot store a block in %s/%s%05u.dat: %s",
		        c->dir, KIND(c), (unsigned)c->filenum, strerror(e));
		return V_STORAGE_FAILED;
	}
	if (!c->unsynced)
		c->unsynced = mono_ms();
	n->file = c->filenum;
	n->pos = at + RECORD_HEAD;
	n->len = len;
	n->status |= HAVE_DATA;
	c->filesize += size;
	return V_OK;
}

/* Read the body of a block we hold into a new buffer. */
static uint8_t *read_block(const struct chain *c, const struct blockindex *n) {
	int fd;
	if (n == c->root)
		return xmemdup(c->genesis, n->len);
	uint8_t *buf = xmalloc(n->len);
	if ((fd = open_file(c, n->file, O_RDONLY)) < 0 ||
	    file_io(fd, buf, n->len, n->pos, 0))
		fatal("a stored block cannot be read back");
	close(fd);
	return buf;
}

/* Read the record at pos into buf (room for MAX_BLOCK_SIZE + 4).  Returns
 * 1 at the clean end of the file, 0 with *len set, or -1 with *why. */
static int read_record(const struct chain *c, int fd, off_t pos, uint8_t *buf,
                       uint32_t *len, const char **why) {
	uint8_t head[RECORD_HEAD];
	ssize_t n = pread(fd, head, RECORD_HEAD, pos);
	if (n == 0) return 1;
	*why = "torn record";
	if (n != RECORD_HEAD) return -1;
	*len = get32le(head + 4);
	*why = "wrong magic";
	if (memcmp(head, c->p->magic, 4)) return -1;
	*why = "impossible length";
	if (*len < HEADER_LEN || *len > MAX_BLOCK_SIZE) return -1;
	*why = "torn record";
	if (file_io(fd, buf, *len + RECORD_TAIL, pos + RECORD_HEAD, 0))
		return -1;
	*why = "bad checksum";
	return crc32(buf, *len) == get32le(buf + *len) ? 0 : -1;
}

/* ==== The mempool ==== */
/* Set aside a copy of a transaction, for the mempool after a reorg. */
static void txlist_add(struct txlist *l, const uint8_t *raw, size_t len,
                       int64_t time) {
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n].raw = xmemdup(raw, len);
	l->v[l->n].len = len;
	l->v[l->n++].time = time;
}

/* Drop p from the mempool alone (a block confirmed it). */
static void pool_forget(struct chain *c, struct ptx *p) {
	uint32_t i;
	map_del(&c->pool, p->tx.id);
	for (i = 0; i < p->tx.nin; i++)
		map_del(&c->spends, p->tx.in[i].prev);
	c->pool_bytes -= p->tx.len;
	tx_free(&p->tx);
	free(p->raw);
	free(p);
}

/* Is p among the n entries of v? */
static int listed(struct ptx *const *v, int n, const struct ptx *p) {
	while (n-- > 0)
		if (v[n] == p) return 1;
	return 0;
}

/* t's ancestors in the mempool, found through the parents of each, into
 * v (room for CHAIN_MAX - 1).  Returns how many, or -1 if over that. */
static int ancestors(const struct chain *c, const struct tx *t,
                     struct ptx **v) {
	struct ptx *p;
	int n = 0, k = 0;
	for (;; t = &v[k++]->tx) {
		for (uint32_t i = 0; i < t->nin; i++) {
			if (!(p = map_get(&c->pool, t->in[i].prev)) ||
			    listed(v, n, p))
				continue;
			if (n == CHAIN_MAX - 1) return -1;
			v[n++] = p;
		}
		if (k == n) return n;
	}
}

/* Drop p and every mempool transaction spending its outputs, at any depth
 * (a list, not recursion): each is taken off its ancestors' counts
 * first, while all are there, then all go. */
static void pool_remove(struct chain *c, struct ptx *p) {
	struct ptx *v[CHAIN_MAX], *anc[CHAIN_MAX], *child;
	uint8_t op[OUTPOINT_LEN];
	int n = 1, k, j, na;
	for (v[0] = p, k = 0; k < n; k++)
		for (uint32_t i = 0; i < v[k]->tx.nout && n < CHAIN_MAX; i++) {
			outpoint(op, v[k]->tx.id, i);
			if ((child = map_get(&c->spends, op)) &&
			    !listed(v, n, child))
				v[n++] = child;
		}
	for (k = 0; k < n; k++)
		for (j = 0, na = ancestors(c, &v[k]->tx, anc); j < na; j++)
			anc[j]->ndesc--;
	for (k = 0; k < n; k++)
		pool_forget(c, v[k]);
}

/* Is a's fee rate (fee per byte) below b's? */
static int cheaper(const struct ptx *a, const struct ptx *b) {
	return (double)a->fee / (double)a->tx.len <
	       (double)b->fee / (double)b->tx.len;
}

/* The mempool entry with the lowest fee rate, or NULL if it is empty. */
static struct ptx *pool_cheapest(const struct chain *c) {
	struct ptx *worst = NULL;
	struct mwalk walk;
	struct ment *e;
	for (e = map_walk(&walk, &c->pool); e; e = map_step(&walk))
		if (!worst || cheaper(e->val, worst))
			worst = e->val;
	return worst;
}

/* Order mempool entries (qsort) by arrival. */
static int by_seq(const void *a, const void *b) {
	const struct ptx *x = *(struct ptx *const *)a,
	                 *y = *(struct ptx *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Order mempool entries (qsort) by fee rate, highest first, then by
 * arrival. */
static int by_rate(const void *a, const void *b) {
	const struct ptx *x = *(struct ptx *const *)a,
	                 *y = *(struct ptx *const *)b;
	return cheaper(y, x) ? -1 : cheaper(x, y) ? 1 : by_seq(a, b);
}

/* Every mempool entry, sorted by cmp, in a new array of c->pool.n. */
static struct ptx **pool_list(const struct chain *c,
                              int (*cmp)(const void *, const void *)) {
	struct ptx **v = (struct ptx **)map_values(&c->pool);
	qsort(v, c->pool.n, sizeof *v, cmp);
	return v;
}

/* Drop mempool transactions older than max_age seconds, and children. */
void chain_pool_expire(struct chain *c, int64_t max_age) {
	struct ptx **v = pool_list(c, by_seq), *p;
	uint8_t (*old)[SHA256_LEN] = xcalloc(c->pool.n, SHA256_LEN);
	size_t i, k = 0, n = c->pool.n;
	for (i = 0; i < n; i++)
		if (v[i]->time < chain_now(c) - max_age)
			memcpy(old[k++], v[i]->tx.id, SHA256_LEN);
	for (i = 0; i < k; i++)          /* (a child may have gone already) */
		if ((p = map_get(&c->pool, old[i])))
			pool_remove(c, p);
	c->expired_at = chain_now(c);
	free(old);
	free(v);
}

/* May parsed p join the mempool?  It is new and no coinbase, obeys the
 * rules against the tip and the mempool, pays a fee rate of at least
 * MIN_FEE_RATE, and makes no line of unconfirmed transactions longer
 * than CHAIN_MAX (its ancestors, into anc, and each one's descendants);
 * its signatures are checked last.  A reason. */
static int pool_check(const struct chain *c, struct ptx *p,
                      struct ptx **anc, int *na) {
	struct map spent;
	int r;
	if (map_get(&c->pool, p->tx.id)) return V_ALREADY_KNOWN;
	if (tx_is_coinbase(&p->tx)) return V_BAD_COINBASE;
	if ((r = tx_check(&p->tx)) != V_OK) return r;
	map_init(&spent, OUTPOINT_LEN);
	r = check_inputs(c, &p->tx, tip(c)->height + 1, &spent, 1, &p->fee);
	map_free(&spent, 0);
	if (r != V_OK) return r;
	if (p->fee < MIN_FEE_RATE * p->tx.len) return V_FEE_TOO_LOW;
	if ((*na = ancestors(c, &p->tx, anc)) < 0) return V_TOO_LONG_CHAIN;
	for (int j = 0; j < *na; j++)
		if (anc[j]->ndesc >= CHAIN_MAX) return V_TOO_LONG_CHAIN;
	return tx_signed(&p->tx);
}

/* Check a transaction (pool_check) and add it.  Returns a reason. */
static int pool_add(struct chain *c, const uint8_t *raw, size_t len,
                    int64_t time) {
	struct ptx *p, *anc[CHAIN_MAX];
	uint8_t id[SHA256_LEN];
	uint32_t i;
	int r, na = 0;
	if (len > MAX_TX_SIZE) return V_TOO_BIG;
	p = xmalloc(sizeof *p);
	p->raw = xmemdup(raw, len);
	if ((r = tx_parse(&p->tx, p->raw, len)) == V_OK)
		r = pool_check(c, p, anc, &na);
	if (r != V_OK) {
		tx_free(&p->tx);
		free(p->raw);
		free(p);
		return r;
	}
	p->time = time;
	p->seq = c->seq++;
	p->ndesc = 1;
	while (na > 0)
		anc[--na]->ndesc++;
	memcpy(id, p->tx.id, SHA256_LEN);
	map_put(&c->pool, id, p);
	for (i = 0; i < p->tx.nin; i++)
		map_put(&c->spends, p->tx.in[i].prev, p);
	c->pool_bytes += len;
	while (c->pool_bytes > c->pool_cap)
		pool_remove(c, pool_cheapest(c));
	return map_get(&c->pool, id) ? V_OK : V_MEMPOOL_FULL;
}

/* A transaction from a peer or the wallet: expire old entries (every
 * EXPIRE_EVERY seconds), then check and add it.  Returns a reason. */
int chain_add_tx(struct chain *c, const uint8_t *tx, size_t len) {
	if (chain_now(c) - c->expired_at >= EXPIRE_EVERY)
		chain_pool_expire(c, POOL_EXPIRY);
	return pool_add(c, tx, len, chain_now(c));
}

/* Would the mempool take this transaction now?  For a stem transaction
 * (Dandelion++), which is checked in full but waits outside it.  A
 * reason. */
int chain_check_tx(const struct chain *c, const uint8_t *raw, size_t len) {
	struct ptx p, *anc[CHAIN_MAX];
	int r, na;
	if (len > MAX_TX_SIZE) return V_TOO_BIG;
	if ((r = tx_parse(&p.tx, raw, len)) == V_OK)
		r = pool_check(c, &p, anc, &na);
	tx_free(&p.tx);
	return r;
}

/* After a reorg: empty the mempool and offer back, in order, the
 * transactions of disconnected blocks and then the old mempool. */
static void pool_refill(struct chain *c, struct txlist *back) {
	struct ptx **v = pool_list(c, by_seq);
	size_t i, n = c->pool.n;
	for (i = 0; i < n; i++) {
		txlist_add(back, v[i]->raw, v[i]->tx.len, v[i]->time);
		pool_forget(c, v[i]);
	}
	free(v);
	for (i = 0; i < back->n; i++) {
		pool_add(c, back->v[i].raw, back->v[i].len, back->v[i].time);
		free(back->v[i].raw);
	}
}

/* One record of mempool.dat: u32 length | transaction | i64 arrival
 * time (seconds since 1970). */
static void pooled_rw(struct rw *s, const uint8_t **raw, size_t *len,
                      int64_t *time) {
	uint32_t n = rw_count(s, *len, 4, MAX_TX_SIZE, 1);
	rw_ref(s, raw, n);
	rw_i64(s, time);
	*len = n;
}

/* mempool.dat: records of u32 length | transaction | i64 arrival time
 * (seconds since 1970), in arrival order, to the end of the file.  Read
 * back, each is offered to the mempool again. */
static void pool_rw(struct rw *s, void *arg) {
	struct chain *c = arg;
	struct ptx **v;
	size_t i, len;
	int64_t time;
	const uint8_t *raw;
	if (s->out) {              /* writing: every entry, by arrival */
		v = pool_list(c, by_seq);
		for (i = 0; i < c->pool.n; i++) {
			raw = v[i]->raw;
			len = v[i]->tx.len;
			pooled_rw(s, &raw, &len, &v[i]->time);
		}
		free(v);
		return;
	}
	while (s->left && !s->bad) {   /* reading: to the end of the file */
		len = 0;
		pooled_rw(s, &raw, &len, &time);
		if (!s->bad)
			pool_add(c, raw, len, time);
	}
}

/* The file name of the data directory (a static buffer). */
static const char *dir_file(const struct chain *c, const char *name) {
	static char path[4096];
	snprintf(path, sizeof path, "%s/%s", c->dir, name);
	return path;
}

/* checked.dat: "PCCK" | u32 height | hash[32] | checksum[4], the tip of
 * the active chain at the last flush: every block up to it was checked,
 * signatures and all, so replay need not check their signatures again. */
static void checked_rw(struct rw *s, void *arg) {
	struct chain *c = arg;
	rw_magic(s, "PCCK");
	rw_u32(s, &c->checked.height);
	rw_bytes(s, c->checked.hash, SHA256_LEN);
	rw_sum(s);
}

/* ==== Opening and closing ==== */
/* Make the data directory if need be and lock it for this process;
 * returns 0, or -1 (failed). */
static int lock_dir(struct chain *c) {
	struct flock fl = { 0 };
	const char *path = dir_file(c, "lock");
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (mkdir(c->dir, 0700) && errno != EEXIST)
		return failed("cannot make %s: %s", c->dir, strerror(errno));
	if (dir_ours(c->dir)) return -1;
	if ((c->lock = file_open(path, O_RDWR | O_CREAT)) < 0)
		return failed("cannot open %s: %s", path, strerror(errno));
	if (fcntl(c->lock, F_SETLK, &fl))
		return failed("data directory %s is in use by another "
		              "peerchain process", c->dir);
	return 0;
}

/* Add a line to the report of what opening repaired. */
static void note(struct chain *c, const char *fmt, ...) {
	size_t k = strlen(c->report);
	va_list ap;
	if (k)
		c->report[k++] = '\n';
	va_start(ap, fmt);
	vsnprintf(c->report + k, sizeof c->report - k, fmt, ap);
	va_end(ap);
}

/* Stored blocks whose parent came later in the files: sync stores
 * blocks as they arrive, not in order.  Replay tries them again. */
struct later {
	struct blockindex *v;
	size_t n, cap;
};

/* Replay block file num, cut at its first damaged record (said in
 * c->report); it becomes the file blocks are appended to.  Returns 0, or
 * -1 if it is absent. */
static int replay_file(struct chain *c, uint32_t num, uint8_t *buf,
                       struct later *l) {
	int fd = open_file(c, num, O_RDWR), r;
	struct blockindex at;
	const char *why = "";
	off_t pos = 0, end;
	if (fd < 0 && errno != ENOENT) {
		failed("%s/%s%05u.dat is not a regular file of ours: %s",
		       c->dir, KIND(c), (unsigned)num, strerror(errno));
		fatal(failure);
	}
	if (fd < 0) return -1;
	while ((r = read_record(c, fd, pos, buf, &at.len, &why)) == 0) {
		at.file = num;
		at.pos = pos + RECORD_HEAD;
		if (add_block(c, buf, at.len, &at) == V_PREVIOUS_UNKNOWN) {
			l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
			l->v[l->n++] = at;
		}
		pos += at.len + RECORD_HEAD + RECORD_TAIL;
	}
	if (r < 0) {
		end = lseek(fd, 0, SEEK_END);
		note(c,
		     "%s%05u.dat: %s at byte %lld: cut %lld bytes; every block "
		     "before it kept",
		     KIND(c), (unsigned)num, why, (long long)pos,
		     (long long)(end - pos));
		if (ftruncate(fd, pos) || file_flush(fd))
			fatal("cannot cut a damaged block file");
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = fd;
	c->filenum = num;
	c->filesize = pos;
	return 0;
}

/* Add the blocks replay found before their parents, in rounds, until a
 * round adds none (the rest lost their parent to damage). */
static void replay_later(struct chain *c, struct later *l) {
	size_t i, added = 1;
	uint8_t *b;
	while (added)
		for (added = i = 0; i < l->n; i++) {
			if (!l->v[i].len) continue;     /* (added already) */
			b = read_block(c, &l->v[i]);
			if (add_block(c, b, l->v[i].len, &l->v[i]) !=
			    V_PREVIOUS_UNKNOWN) {
				l->v[i].len = 0;
				added++;
			}
			free(b);
		}
	free(l->v);
}

/* Rebuild everything from the block files; leave the last one open. */
static void replay(struct chain *c) {
	uint8_t *buf = xmalloc(MAX_BLOCK_SIZE + RECORD_TAIL);
	struct later l = { NULL, 0, 0 };
	uint32_t num;
	for (num = 0; replay_file(c, num, buf, &l) == 0; num++)
		;
	if (c->fd < 0)
		c->fd = open_file(c, 0, O_RDWR | O_CREAT);
	free(buf);
	replay_later(c, &l);
}

/* The genesis block from the parameters: the root of the tree. */
static void plant_root(struct chain *c) {
	const char *hex = c->p->genesis;
	size_t len = strlen(hex) / 2;
	uint8_t hash[SHA256_LEN];
	c->genesis = xmalloc(len);
	if (len < HEADER_LEN || hex_decode(hex, c->genesis, len))
		fatal("the genesis block in the parameters is not hex");
	sha256d(c->genesis, HEADER_LEN, hash);
	c->root = index_add(c, c->genesis, hash, NULL);
	c->root->len = len;
	c->root->height = c->p->genesis_height;
	c->root->status = HAVE_DATA | LINKED;
	c->active = xgrow(NULL, &c->acap, 1024, sizeof *c->active);
	c->active[0] = c->best = c->root;
	c->nactive = 1;
}

/* Open network p's chain in dir (made if missing; NULL keeps nothing),
 * full or light (flags), replaying its block files.  Returns NULL if it
 * failed. */
struct chain *chain_open(const struct params *p, const char *dir,
                         int flags) {
	struct chain *c = xmalloc(sizeof *c);
	char old[sizeof c->report];
	c->p = p;
	c->light = flags & CHAIN_LIGHT;
	c->lock = c->fd = -1;
	c->file_max = FILE_MAX;             /* (the configuration's defaults) */
	c->pool_cap = POOL_CAP;
	map_init(&c->index, SHA256_LEN);
	map_init(&c->utxo, OUTPOINT_LEN);
	map_init(&c->payees, ADDR_LEN);
	map_init(&c->pool, SHA256_LEN);
	map_init(&c->spends, OUTPOINT_LEN);
	plant_root(c);
	if (!dir) return c;
	c->dir = xmemdup(dir, strlen(dir) + 1);
	if (access(dir_file(c, "hdr00000.dat"), F_OK) == 0)
		c->light = 1;            /* (made light: it stays light) */
	if (lock_dir(c)) {
		chain_close(c);
		return NULL;
	}
	if (!(flags & CHAIN_REINDEX) && !c->light &&
	    file_load(dir_file(c, "checked.dat"), CHECKED_LEN, checked_rw,
	              c) < 0) {
		memset(&c->checked, 0, sizeof c->checked);
		note(c, "checked.dat: damaged; every signature checked");
	}
	c->trust = c->checked.height;
	replay(c);
	if (c->trust && !(chain_status(c, c->checked.hash) & CH_ACTIVE)) {
		/* The block checked.dat names is not on the active chain:
		 * open again, checking every signature, and keep the report
		 * (the first replay cut any damage).  Nothing is saved. */
		snprintf(old, sizeof old, "%s", c->report);
		close(c->fd);
		c->fd = -1;
		chain_close(c);
		c = chain_open(p, dir, flags | CHAIN_REINDEX);
		if (c)
			note(c, "%s%schecked.dat: its block is not on the "
			     "active chain; every signature checked", old,
			     *old ? "\n" : "");
		return c;
	}
	c->trust = 0;
	file_load(dir_file(c, "mempool.dat"), 2 * c->pool_cap + 4096, pool_rw,
	          c);
	return c;
}

/* Save the mempool, free everything, and release the data directory. */
void chain_close(struct chain *c) {
	size_t i, n;
	if (!c) return;
	if (c->fd >= 0) {
		chain_sync(c);
		if (file_save(dir_file(c, "mempool.dat"), pool_rw, c))
			fprintf(stderr, "peerchain: cannot save the mempool\n");
		close(c->fd);
	}
	void **v = map_values(&c->pool);
	for (i = 0, n = c->pool.n; i < n; i++)
		pool_forget(c, v[i]);
	free(v);
	for (i = 0; i < c->nactive; i++)   /* (only they hold undo data) */
		free(c->active[i]->undo);
	map_free(&c->index, 1);
	map_free(&c->utxo, 1);
	map_free(&c->payees, 0);
	map_free(&c->pool, 0);
	map_free(&c->spends, 0);
	if (c->lock >= 0)
		close(c->lock);
	free(c->active);
	free(c->runs);
	free(c->genesis);
	free(c->dir);
	free(c);
}

/* Flush the block file if it was written, then name the tip in
 * checked.dat if it moved: a running node does it a moment after a write
 * (node.c's FLUSH_MS), not per block, or sync would wait on the disk (a
 * crash loses the last blocks). */
void chain_sync(struct chain *c) {
	if (c->fd < 0) return;
	if (c->unsynced && file_flush(c->fd))
		fatal("cannot flush a block file");
	c->unsynced = 0;
	if (c->light || !memcmp(c->checked.hash, tip(c)->hash, SHA256_LEN))
		return;
	c->checked.height = tip(c)->height;
	memcpy(c->checked.hash, tip(c)->hash, SHA256_LEN);
	if (file_save(dir_file(c, "checked.dat"), checked_rw, c))
		log_msg(LOG_WARN, "cannot save %s", dir_file(c, "checked.dat"));
}

/* ==== Proofs of payment (README, "Light nodes") ==== */
/* The unspent outputs of a full chain paying any of n addresses (ADDR_LEN
 * bytes each) in blocks up to height, into v, found by walking those
 * addresses' lists: at most max outputs are walked (those of later blocks
 * too), so the cost is the answer's, never the set's.  Returns how many
 * were found, or max if the walk was cut there. */
size_t chain_outputs(const struct chain *c, const uint8_t *addrs, size_t n,
                     uint32_t height, struct outref *v, size_t max) {
	const struct unspent *u;
	size_t j, k = 0, walked = 0;
	for (j = 0; j < n; j++) {
		u = map_get(&c->payees, addrs + j * ADDR_LEN);
		for (; u && walked < max; u = u->next, walked++) {
			if (u->k.height > height) continue;
			memcpy(v[k].op, u->op, OUTPOINT_LEN);
			v[k++].height = u->k.height;
		}
	}
	return walked == max ? max : k;
}

/* A light chain's outputs proven by a full peer (k[i] at v[i].op), which
 * join the others (or, fresh, replace them); the wallet's payments stay in
 * the mempool while what they spend is proven, or in it. */
void chain_proven(struct chain *c, int fresh, const struct outref *v,
                  const struct coin *k, size_t n) {
	struct txlist back = { NULL, 0, 0 };
	if (fresh) {
		map_free(&c->utxo, 1);
		map_init(&c->utxo, OUTPOINT_LEN);
	}
	for (size_t i = 0; i < n; i++)
		if (!map_get(&c->utxo, v[i].op))
			map_put(&c->utxo, v[i].op, xmemdup(&k[i], sizeof *k));
	pool_refill(c, &back);
	free(back.v);
}

/* ==== Questions ==== */
/* Start a walk (map_step goes on) over the UTXO set; returns its first
 * unspent output, or NULL: its outpoint is e->key, its struct coin e->val.
 * On a light chain, the wallet's outputs that peers proved. */
const struct ment *chain_coins(const struct chain *c, struct mwalk *w) {
	return map_walk(w, &c->utxo);
}

/* Does a mempool transaction spend this outpoint? */
int chain_spent(const struct chain *c, const uint8_t op[OUTPOINT_LEN]) {
	return map_get(&c->spends, op) != NULL;
}

/* The mempool's transactions, and (unless NULL) their bytes. */
size_t chain_pool_size(const struct chain *c, size_t *bytes) {
	if (bytes)
		*bytes = c->pool_bytes;
	return c->pool.n;
}

/* The height of the active tip. */
uint32_t chain_height(const struct chain *c) { return tip(c)->height; }

/* The hash of the active block at height; returns 0, or -1 if none (or,
 * on a light chain, below its root). */
int chain_hash_at(const struct chain *c, uint32_t height,
                  uint8_t hash[SHA256_LEN]) {
	if (height < c->root->height || height > tip(c)->height) return -1;
	memcpy(hash, c->active[height - c->root->height]->hash, SHA256_LEN);
	return 0;
}

/* The header of the active block at height; returns 0, or -1 if none.
 * Below a light chain's root, it is read from the run holding it. */
int chain_header_at(const struct chain *c, uint32_t height,
                    uint8_t hdr[HEADER_LEN]) {
	const struct run *r;
	uint32_t g = c->p->genesis_height;
	int fd;
	if (height > tip(c)->height || height < g) return -1;
	if (height >= c->root->height || height == g) {
		memcpy(hdr, height == g ? c->genesis :
		       c->active[height - c->root->height]->hdr, HEADER_LEN);
		return 0;
	}
	r = c->runs + c->nruns;
	while (r[-1].from > height)
		r--;
	if ((fd = open_file(c, r[-1].file, O_RDONLY)) < 0 ||
	    file_io(fd, hdr, HEADER_LEN, r[-1].base + height * LIGHT_REC, 0))
		fatal("a stored header cannot be read back");
	close(fd);
	return 0;
}

/* What we know of a block: CH_* bits, 0 if nothing. */
int chain_status(const struct chain *c, const uint8_t hash[SHA256_LEN]) {
	struct blockindex *n = map_get(&c->index, hash);
	if (!n) return 0;
	/* (An ancestor at a height above the tip's is the tip itself.) */
	return CH_HEADER | (n->status & HAVE_DATA ? CH_BODY : 0) |
	       (ancestor(c->best_hdr, n->height) == n ? CH_BEST : 0) |
	       (n->status & FAILED ? CH_FAILED : 0) |
	       (ancestor(tip(c), n->height) == n ? CH_ACTIVE : 0);
}

/* The header and height of a known block; returns 1 if it is on the
 * active chain, 0 if not, -1 if unknown. */
int chain_header(const struct chain *c, const uint8_t hash[SHA256_LEN],
                 uint8_t hdr[HEADER_LEN], uint32_t *height) {
	const struct blockindex *n = map_get(&c->index, hash);
	if (!n) return -1;
	memcpy(hdr, n->hdr, HEADER_LEN);
	*height = n->height;
	return (chain_status(c, hash) & CH_ACTIVE) != 0;
}

/* The best header's height, and (unless hash is NULL) its hash: a block
 * whose body we may not have yet. */
uint32_t chain_best_header(const struct chain *c, uint8_t hash[SHA256_LEN]) {
	if (hash)
		memcpy(hash, c->best_hdr->hash, SHA256_LEN);
	return c->best_hdr->height;
}

/* What sync fetches next: up to max blocks of the best header's chain we
 * hold no body for, lowest first, at most `ahead` past where it leaves the
 * active chain.  Returns how many, with each hash and
 * height. */
size_t chain_missing(const struct chain *c, uint8_t (*hash)[SHA256_LEN],
                     uint32_t *height, size_t max, uint32_t ahead) {
	struct blockindex *b = c->best_hdr, *n, **v;
	uint32_t lo = fork_point(tip(c), b)->height, end;
	size_t k = 0, i;
	end = b->height - lo < ahead ? b->height : lo + ahead;
	v = xcalloc(end - lo + 1, sizeof *v);
	for (n = ancestor(b, end); n->height > lo; n = n->prev)
		v[n->height - lo - 1] = n;
	for (i = 0; i < end - lo && k < max; i++)
		if (!(v[i]->status & (HAVE_DATA | FAILED))) {
			memcpy(hash[k], v[i]->hash, SHA256_LEN);
			height[k++] = v[i]->height;
		}
	free(v);
	return k;
}

/* The body of a block we hold, in a new buffer; NULL if we have none. */
uint8_t *chain_read_block(const struct chain *c,
                          const uint8_t hash[SHA256_LEN],
                          size_t *len) {
	const struct blockindex *n = map_get(&c->index, hash);
	if (!n || !(n->status & HAVE_DATA) || c->light) return NULL;
	*len = n->len;
	return read_block(c, n);
}

/* Every mempool transaction by arrival, in a new array of c->pool.n. */
const struct tx **chain_pool_list(const struct chain *c) {
	struct ptx **v = pool_list(c, by_seq);
	const struct tx **t = xcalloc(c->pool.n, sizeof *t);
	for (size_t i = 0; i < c->pool.n; i++)
		t[i] = &v[i]->tx;
	free(v);
	return t;
}

/* The mempool transaction with this id, or NULL. */
const struct tx *chain_pool_tx(const struct chain *c,
                               const uint8_t id[SHA256_LEN]) {
	const struct ptx *p = map_get(&c->pool, id);
	return p ? &p->tx : NULL;
}

/* Pick mempool transactions for a block by fee rate, parents first, into
 * txs/lens from index 1; returns how many, adding their fees to *fees. */
static size_t pick(const struct chain *c, uint8_t **txs, size_t *lens,
                   size_t room, uint64_t *fees) {
	struct ptx **v = pool_list(c, by_rate);
	size_t i, n = c->pool.n, k = 1;
	struct map taken;
	uint32_t j;
	int more = 1;
	map_init(&taken, SHA256_LEN);
	while (more) {
		for (i = 0, more = 0; i < n; i++) {
			const struct tx *t = &v[i]->tx;
			if (map_get(&taken, t->id) || t->len > room) continue;
			for (j = 0; j < t->nin; j++)
				if (map_get(&c->pool, t->in[j].prev) &&
				    !map_get(&taken, t->in[j].prev))
					break;
			if (j < t->nin) continue;
			map_put(&taken, t->id, v[i]);
			txs[k] = v[i]->raw;
			lens[k++] = t->len;
			room -= t->len;
			*fees += v[i]->fee;
			more = 1;
		}
	}
	map_free(&taken, 0);
	free(v);
	return k - 1;
}

/* A block to mine on the tip, paying subsidy and fees to addr, with
 * mempool transactions by fee rate.  Returns it (nonce 0) and its length. */
uint8_t *chain_template(struct chain *c, const uint8_t addr[ADDR_LEN],
                        size_t *len) {
	const struct blockindex *t = tip(c);
	uint8_t **txs = xcalloc(c->pool.n + 1, sizeof *txs), *blk;
	size_t *lens = xcalloc(c->pool.n + 1, sizeof *lens), n;
	uint8_t cb[MIN_TX];
	uint64_t fees = 0;
	int64_t now = chain_now(c), least = least_time(c, t);
	uint32_t bits = next_bits(c, t);
	n = pick(c, txs, lens, MAX_BLOCK_SIZE - HEADER_LEN - 4 - MIN_TX, &fees);
	lens[0] = coinbase_write(t->height + 1, addr,
	                         block_subsidy(c->p, t->height + 1) + fees, cb,
	                         sizeof cb);
	txs[0] = cb;
	blk = block_make(t->hash, now > least ? now : least,
	                 bits ? bits : index_bits(t), txs, lens, n + 1, len);
	free(txs);
	free(lens);
	return blk;
}
