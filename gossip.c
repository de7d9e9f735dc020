/*
 * gossip.c - how transactions and blocks spread, and how a node that is
 * behind catches up.
 *
 * Spreading is announce-then-fetch: a node that accepts something new
 * announces its hash (inv) to every peer not known to have it; a peer that
 * lacks it asks one announcer (getdata) and is sent it (tx, block), or asks
 * the next announcer if it does not come in time.  The chain checks
 * everything before it goes onward; a peer that sends what breaks a rule
 * is charged for it (net_misbehave).  A transaction whose parent has not
 * come yet waits in a small orphan pool.  Blocks are announced at once;
 * transactions wait in a per-peer queue a random delay of mean
 * TX_DELAY_MS (one shared by all inbound peers), so one inv carries many
 * (ANNOUNCE_MAX at most), and a peer gets a transaction by getdata only
 * once it was announced to it.
 *
 * A new payment first goes along a Dandelion++ stem: pushed (stem) from
 * relay to relay, checked at each, announced by none, until a diffuser,
 * an embargo timer or an announcement from elsewhere fluffs it: then it
 * spreads as above.  So the first node to announce it is seldom the one
 * it came from.
 *
 * Catching up is headers first: a block locator (getheaders) brings up to
 * 2,000 headers at a time, checked as a chain; the bodies of the best
 * header chain are then fetched from every peer that has them, WINDOW at a
 * time from each, and a peer that stalls has its requests moved.
 * gossip_open() registers gossip's handlers with net.c; the loop calls
 * gossip_timers() on every turn, which runs what is due and says when the
 * next timer is.
 *
 * A light node syncs the same headers and fetches no bodies.  It proves
 * its wallet's coins instead: it asks every peer (getproofs) for the
 * outputs paying its addresses, each with its transaction and the merkle
 * branch to a header of its best chain (proofs), and again whenever the
 * tip moves.  Full nodes never count a light peer (no SERVICE_FULL) as a
 * source of blocks or headers, nor announce transactions to it.
 */
#include "node.h"

#define INV_TX          1        /* inventory types, as Bitcoin's */
#define INV_BLOCK       2
#define MAX_HEADERS     2000     /* headers in one message, as Bitcoin */
#define MAX_LOCATOR     101      /* hashes in one block locator */
#define RECENT_MAX      16384    /* hashes the ring of recent ones holds, */
#define RECENT_CHUNK    256      /* allocated this many at a time, as used */
#define KNOWN_MAX       2048     /* hashes known per peer (two sets) */
#define ANNOUNCERS      8        /* peers remembered per wanted hash */
#define WANT_MAX        50000    /* hashes waited for at once, shared by
                                    the connections allowed (at least
                                    PEER_WANTS each): none can fill it */
#define PEER_WANTS      (4 * WINDOW)
#define TX_WAIT_MS      2000     /* an announcer's time to deliver a tx, */
#define BLOCK_WAIT_MS   5000     /* a block, before the next is asked, */
#define HEADERS_WAIT_MS 10000    /* or headers */
#define WINDOW          32       /* blocks in flight from one peer */
#define AHEAD           1024     /* sync fetches at most this far ahead */
#define FETCH_MAX       128      /* blocks considered per scheduling pass */
#define STALL_REST_MS   10000    /* a peer that stalled gets no requests */
#define PROGRESS_MS     5000     /* sync progress is logged this often */
#define BEHIND          16       /* a tip this far behind: not announced */
#define EPOCH_MS        600000   /* Dandelion++: an epoch, 10 minutes */
#define DIFFUSE_PCT     10       /* the chance to be a diffuser in one */
#define EMBARGO_MS      10000    /* a stem transaction is fluffed after */
#define EMBARGO_RAND_MS 20000    /* this and a random part of this */
#define STEM_MAX        100      /* stem transactions held at once, */
#define STEM_BYTES      (1u << 20) /* their bytes, */
#define STEM_PEER       10       /* and from one peer */
#define ANNOUNCE_MAX    64       /* transactions announced to a peer each
                                    ANNOUNCE_MS, in the order taken: a
                                    receiver's wanted share (and orphan
                                    pool) is never flooded by an honest
                                    node */
#define ANNOUNCE_MS     100
#define ORPHAN_MAX      100      /* transactions waiting for a parent, as
                                    Bitcoin Core */
#define ORPHAN_BYTES    (1u << 20) /* the orphans' bytes at most */
#define PROOF_ADDRS     16       /* addresses in one getproofs */
#define PROOF_OUTS      100      /* outputs in one proofs; more: refused */
#define RETRY_MS        2000     /* a light node asks a busy peer again */

/* A proofs message's status: the whole answer, or why there is none. */
enum { PROOF_OK, PROOF_TOO_MANY, PROOF_BUSY, PROOF_NO_TIP };

/* One proof in a proofs message: u32 the block's height | u32 the
 * transaction's position in it | u8 depth (at most BRANCH_MAX) | depth x
 * hash[32], the merkle branch | u32 output index | u32 length | the
 * transaction.  A height, not a hash: a light node finds an old header by
 * its height, in its files. */
struct proof {
	const uint8_t *branch, *tx;
	uint32_t height, pos, vout, txlen;
	uint8_t depth;
};

/* A hash we want: who announced it, whom we asked, since when. */
struct want {
	uint8_t hash[SHA256_LEN];
	uint32_t type;
	struct peer *from[ANNOUNCERS]; /* announcers not yet tried */
	int nfrom;
	struct peer *asked;         /* NULL: nobody yet */
	int64_t until;              /* when its answer is late (monotonic ms) */
};

/* A hash this node took (or refused) lately, and when (wall-clock ms). */
struct recent {
	uint8_t hash[SHA256_LEN];
	int64_t ms;
	uint32_t refused;           /* 0: taken; else 1 + the tip count then */
};

/* A stem transaction (Dandelion++): checked in full, but kept out of the
 * mempool, never announced nor served, till it is fluffed. */
struct stem {
	uint8_t id[SHA256_LEN];
	uint8_t *raw;
	size_t len;
	struct peer *from;          /* who sent it; NULL: ours, or gone */
	int route;                  /* the relay it goes to first (0 or 1) */
	int sent;                   /* relay slots tried (2 at most) */
	int64_t embargo;            /* when it is fluffed (monotonic ms) */
};

/* A transaction whose inputs are not all known yet. */
struct orphan {
	struct tx t;                /* parsed from raw */
	uint8_t *raw;
	int ready;                  /* a parent has come: try it again */
};

/* Gossip's state for one peer, which net.c's struct peer reaches by its
 * pointer up: made when the handshake is done, freed when it is gone. */
struct gpeer {
	struct map known, known_old; /* hashes it has: two generations */
	uint8_t (*queue)[SHA256_LEN]; /* transactions to announce to it */
	size_t nqueue, qcap;
	int64_t announce_at;     /* when the queue goes out */
	uint32_t shown;          /* the highest block it has shown it has */
	int wants;               /* wanted hashes it is an announcer of */
	int inflight;            /* blocks it was asked for and owes */
	int64_t headers_at;      /* when we asked it for headers; 0: not */
	int answered;            /* it sent all the headers it had */
	uint32_t answers;        /* headers answers sent it on this tip */
	uint32_t sent_tips;      /* (the tip: gossip's tips then) */
	int64_t rest_until;      /* it stalled: no block requests till then */
	int route;               /* its stem transactions' first relay */
	int owed;                /* light: the proofs it owes us */
	int64_t proof_at;        /* light: when to ask again (0: never) */
};

struct gossip {
	struct chain *c;
	struct net *n;
	struct wallet *w;            /* a light node's, whose coins it proves */
	int delay_ms;                /* batching of tx announcements */
	int64_t inbound_at;          /* when inbound queues go out (shared) */
	int dandelion;               /* Dandelion++ on (not -D) */
	int diffuser;                /* this epoch: fluffs stem transactions */
	struct peer *relay[2];       /* this epoch's stem relays, if any */
	int64_t epoch_at;            /* when the next epoch begins */
	struct stem stems[STEM_MAX];
	int nstems;
	size_t stem_bytes;
	int per_peer;                /* wanted hashes one peer may announce */
	struct map wants;            /* hash -> struct want */
	int64_t wants_at;            /* when the first of them may be late */
	/* a ring of RECENT_MAX hashes, in chunks allocated as reached */
	struct recent *recent[RECENT_MAX / RECENT_CHUNK];
	size_t recent_at;
	/* the ring's index: hash -> struct recent */
	struct map recent_idx;
	uint8_t tip[SHA256_LEN];     /* the active tip we last saw */
	uint32_t tips;               /* how often the tip moved */
	uint8_t asked[SHA256_LEN];   /* light: the tip proofs are asked to */
	int fresh;                   /* light: no proofs came for it yet */
	struct orphan orphans[ORPHAN_MAX];
	int norphans;
	size_t orphan_bytes;
	struct peer *hdr_peer;      /* asked for headers, if anyone */
	uint8_t aside[5];            /* the group of the last that stalled */
	int64_t aside_until;         /* them, and when it is asked again */
	int64_t progress_at;
	uint32_t progress_height;
	int syncing;                 /* the last progress check was behind */
	unsigned long tx_inv_in, tx_inv_out, block_inv_in, block_inv_out;
	unsigned long tx_in, tx_dup, block_in, block_dup;
};

/* ==== Sets: known per peer, recent per node ==== */
/* Is p a handshaked peer still connected: one with gossip's state? */
static int live(const struct peer *p) { return p->fd >= 0 && p->handshaked; }

/* Is p a full node (not a light one)? */
#define is_full(p) ((p)->services & SERVICE_FULL)

/* Has the peer shown it has hash? */
static int known_has(const struct peer *p, const uint8_t *hash) {
	return map_get(&p->up->known, hash) || map_get(&p->up->known_old, hash);
}

/* Note that the peer has hash, marked val: the peer itself if we told it
 * of hash (getdata is answered only with what it was told of), else its
 * gossip state.  A full generation becomes the old one. */
static void mark(struct peer *p, const uint8_t *hash, void *val) {
	struct gpeer *q = p->up;
	if (known_has(p, hash)) return;
	if (q->known.n >= KNOWN_MAX) {
		map_free(&q->known_old, 0);
		q->known_old = q->known;
		map_init(&q->known, 8);
	}
	map_put(&q->known, hash, val);
}

/* Note that the peer has shown it has hash. */
static void known_add(struct peer *p, const uint8_t *hash) {
	mark(p, hash, p->up);
}

/* Did we announce hash to the peer? */
static int told(const struct peer *p, const uint8_t *hash) {
	return map_get(&p->up->known, hash) == p ||
	       map_get(&p->up->known_old, hash) == p;
}

/* Remember in the ring that the node took hash now, or refused it. */
static void recent_add(struct gossip *g, const uint8_t *hash, int refused) {
	struct recent *r = map_get(&g->recent_idx, hash);
	if (r && !r->refused) return;
	if (!r) {
		struct recent **k = &g->recent[g->recent_at / RECENT_CHUNK];
		if (!*k)
			*k = xcalloc(RECENT_CHUNK, sizeof **k);
		r = *k + g->recent_at % RECENT_CHUNK;
		if (r->ms)
			map_del(&g->recent_idx, r->hash);
		memcpy(r->hash, hash, SHA256_LEN);
		map_put(&g->recent_idx, hash, r);
		g->recent_at = (g->recent_at + 1) % RECENT_MAX;
	}
	r->ms = wall_ms();
	r->refused = refused ? g->tips + 1 : 0;
}

/* The ring's entry for hash if it was taken, or refused since the tip
 * last moved (a refusal is remembered till then: the same bytes are not
 * checked twice, yet what was immature or in conflict gets another
 * chance); NULL if neither. */
static const struct recent *recent_of(const struct gossip *g,
                                      const uint8_t *hash) {
	const struct recent *r = map_get(&g->recent_idx, hash);
	return r && (!r->refused || r->refused == g->tips + 1) ? r : NULL;
}

/* When this node lately took hash, in ms since 1970; -1 if not seen. */
int64_t gossip_seen(const struct gossip *g, const uint8_t hash[SHA256_LEN]) {
	const struct recent *r = recent_of(g, hash);
	return r && !r->refused ? r->ms : -1;
}

/* ==== Lists: inv, getdata, notfound, getheaders, headers ==== */
/* The one description of five messages: u32 count (at most max) | count
 * records of `each` bytes | `tail` bytes more (getheaders' stop hash).
 * An inv, getdata or notfound record is u32 type | hash[32] (INV_REC), a
 * headers one a header[80], a getheaders one a hash of the locator.
 * Reading, *v and *end point at the records and the tail in the message;
 * writing, they are taken from there. */
static void list_rw(struct rw *s, uint32_t *n, uint32_t max, size_t each,
                    const uint8_t **v, size_t tail, const uint8_t **end) {
	*n = rw_count(s, *n, 4, max, each);
	rw_ref(s, v, *n * each);
	if (tail)
		rw_ref(s, end, tail);
}

/* Read a list message that fills (b, len) exactly; returns 0, or -1 if
 * it is malformed. */
static int list_read(const uint8_t *b, size_t len, uint32_t max, size_t each,
                     uint32_t *n, const uint8_t **v, size_t tail,
                     const uint8_t **end) {
	struct rw s;
	rw_reader(&s, b, len);
	*n = 0;
	list_rw(&s, n, max, each, v, tail, end);
	return s.bad || s.left ? -1 : 0;
}

/* Send a list message of n records at v (and a tail). */
static void send_list(struct gossip *g, struct peer *p, const char *cmd,
                      uint32_t n, size_t each, const uint8_t *v,
                      size_t tail, const uint8_t *end) {
	struct rw s;
	rw_writer(&s);
	list_rw(&s, &n, n, each, &v, tail, &end);
	net_send(g->n, p, cmd, s.out, s.len);
	free(s.out);
}

/* Send an inventory message (inv, getdata, notfound) of n hashes of one
 * type. */
static void send_inv(struct gossip *g, struct peer *p, const char *cmd,
                     uint32_t type, uint8_t (*hash)[SHA256_LEN], size_t n) {
	uint8_t *e = xmalloc(n * INV_REC);
	for (size_t i = 0; i < n; i++) {
		put32le(e + i * INV_REC, type);
		memcpy(e + i * INV_REC + 4, hash[i], SHA256_LEN);
	}
	send_list(g, p, cmd, n, INV_REC, e, 0, NULL);
	free(e);
}

/* Ask for headers after one hash it has, or after a locator: the best
 * header if ahead, the tip, ten more, then steps doubling to the root. */
static void send_getheaders(struct gossip *g, struct peer *p,
                            const uint8_t *after) {
	static const uint8_t stop[SHA256_LEN];  /* zero: no stop */
	uint8_t b[MAX_LOCATOR][SHA256_LEN];
	uint32_t n = 0, h = chain_height(g->c), step = 1;
	if (after)
		memcpy(b[n++], after, SHA256_LEN);
	else if (chain_best_header(g->c, b[0]) > h)
		n++;
	while (!after && n < MAX_LOCATOR - 1 && !chain_hash_at(g->c, h, b[n])) {
		n++;
		if (n > 10)
			step *= 2;
		if (h < step) break;
		h -= step;
	}
	if (!after && !chain_hash_at(g->c, 0, b[n]))
		n++;    /* (the root: harmless if repeated) */
	p->up->headers_at = mono_ms();
	send_list(g, p, "getheaders", n, SHA256_LEN, b[0], SHA256_LEN, stop);
}

/* How long a new queue waits: -T ms, or by default (-T random) a random
 * delay of mean TX_DELAY_MS, exponential, so announcements leave as a
 * Poisson process.  -log2(u) of a random 32-bit u is its leading zeros,
 * e, and the rest, for which the fraction f after the top bit stands
 * (within 0.09); e - f has the mean 1.5. */
static int64_t delay(const struct gossip *g) {
	uint32_t u = (uint32_t)random64() | 1;
	double e = 1;
	while (u < 0x80000000u) {
		u <<= 1;
		e++;
	}
	e -= (u - 0x80000000u) / 2147483648.0;
	return g->delay_ms >= 0 ? g->delay_ms :
	       (int64_t)(e * TX_DELAY_MS / 1.5);
}

/* Queue a transaction's announcement to a peer, unless it has it.  The
 * queues of all inbound peers leave at one shared time (a spy with many
 * connections hears no sooner than with one), an outbound peer's at its
 * own. */
static void queue_tx(struct gossip *g, struct peer *p, const uint8_t *id) {
	struct gpeer *q = p->up;
	int64_t now = mono_ms();
	if (known_has(p, id) || !is_full(p)) return;
	if (!p->outbound && g->inbound_at <= now)
		g->inbound_at = now + delay(g);
	if (!q->nqueue)
		q->announce_at = p->outbound ? now + delay(g) :
		                 g->inbound_at;
	q->queue = xgrow(q->queue, &q->qcap, q->nqueue + 1,
	                     SHA256_LEN);
	memcpy(q->queue[q->nqueue++], id, SHA256_LEN);
}

/* Queue a transaction's announcement to every peer but `from`. */
static void relay_tx(struct gossip *g, const uint8_t *id, struct peer *from) {
	for (struct peer *p = g->n->peers; p; p = p->next)
		if (live(p) && p != from)
			queue_tx(g, p, id);
}

/* Send a peer the first ANNOUNCE_MAX of its queued announcements, less
 * what it has shown us; the rest wait ANNOUNCE_MS. */
static void announce_queue(struct gossip *g, struct peer *p) {
	struct gpeer *q = p->up;
	size_t i, k = 0, n = q->nqueue;
	if (n > ANNOUNCE_MAX)
		n = ANNOUNCE_MAX;
	for (i = 0; i < n; i++)
		if (!known_has(p, q->queue[i])) {
			mark(p, q->queue[i], p);
			memmove(q->queue[k++], q->queue[i], SHA256_LEN);
		}
	if (k)
		send_inv(g, p, "inv", INV_TX, q->queue, k);
	g->tx_inv_out += k;
	memmove(q->queue, q->queue + n,
	        (q->nqueue - n) * SHA256_LEN);
	q->nqueue -= n;
	q->announce_at = mono_ms() + ANNOUNCE_MS;
}

/* Offer every mempool transaction to one peer (a new connection), or to
 * all (NULL: after a reorg put transactions back). */
static void relay_pool(struct gossip *g, struct peer *only) {
	const struct tx **v = chain_pool_list(g->c);
	size_t i, n = chain_pool_size(g->c, NULL);
	for (i = 0; i < n; i++)
		if (only)
			queue_tx(g, only, v[i]->id);
		else
			relay_tx(g, v[i]->id, NULL);
	free(v);
}

/* Announce a new tip to every peer that lacks it, unless we are syncing
 * (the tip is on the way to a best header far ahead; a best header off
 * the tip's chain, whose bodies may never come, does not silence us).
 * A tip that does not extend the last means a reorg: offer the mempool. */
static void tip_changed(struct gossip *g) {
	uint8_t tip[SHA256_LEN], hdr[HEADER_LEN];
	uint32_t height;
	chain_hash_at(g->c, chain_height(g->c), tip);
	if (!memcmp(tip, g->tip, SHA256_LEN)) return;
	chain_header(g->c, tip, hdr, &height);
	if (memcmp(hdr + HDR_PREV, g->tip, SHA256_LEN) &&
	    !(chain_status(g->c, g->tip) & CH_ACTIVE))
		relay_pool(g, NULL);
	memcpy(g->tip, tip, SHA256_LEN);
	g->tips++;
	recent_add(g, tip, 0);
	if (chain_best_header(g->c, NULL) > height + BEHIND &&
	    (chain_status(g->c, tip) & CH_BEST))
		return;
	g->n->height = height;
	for (struct peer *p = g->n->peers; p && !g->c->light; p = p->next)
		if (live(p) && !known_has(p, tip)) {
			known_add(p, tip);
			send_inv(g, p, "inv", INV_BLOCK, &tip, 1);
			g->block_inv_out++;
		}
}

/* ==== Wanted hashes ==== */
/* Note that p is asked for w now (a block: one more in flight from it),
 * and when its answer is late. */
static void asked(struct gossip *g, struct want *w, struct peer *p) {
	w->asked = p;
	w->until = mono_ms() + (w->type == INV_TX ? TX_WAIT_MS : BLOCK_WAIT_MS);
	if (w->until < g->wants_at)
		g->wants_at = w->until;
	if (w->type == INV_BLOCK)
		p->up->inflight++;
}

/* Ask an announcer for a wanted hash, the first one left. */
static void ask(struct gossip *g, struct want *w) {
	asked(g, w, w->from[0]);
	send_inv(g, w->asked, "getdata", w->type, &w->hash, 1);
}

/* The want of a hash, with p among its announcers (unless it has its
 * share already); NULL if full. */
static struct want *want_of(struct gossip *g, struct peer *p, uint32_t type,
                            const uint8_t *hash) {
	struct want *w = map_get(&g->wants, hash);
	int i;
	if (!w && (g->wants.n >= WANT_MAX || p->up->wants >= g->per_peer))
		return NULL;
	if (!w) {
		w = xmalloc(sizeof *w);
		memcpy(w->hash, hash, SHA256_LEN);
		w->type = type;
		map_put(&g->wants, hash, w);
	}
	for (i = 0; i < w->nfrom && w->from[i] != p; i++)
		;
	if (i == w->nfrom && w->nfrom < ANNOUNCERS && w->asked != p &&
	    p->up->wants < g->per_peer) {
		w->from[w->nfrom++] = p;
		p->up->wants++;
	}
	return w;
}

/* Note that p announced a hash we lack; ask it if nobody is asked yet. */
static void want(struct gossip *g, struct peer *p, uint32_t type,
                 const uint8_t *hash) {
	struct want *w = want_of(g, p, type, hash);
	if (w && !w->asked && w->nfrom)
		ask(g, w);
}

/* Take p off a want's list, asking the next announcer if p was asked;
 * returns 1 if none is left (the want is forgotten). */
static int pass_over(struct gossip *g, struct want *w, struct peer *p) {
	int i, k = 0;
	for (i = 0; i < w->nfrom; i++)
		if (w->from[i] != p)
			w->from[k++] = w->from[i];
		else
			p->up->wants--;
	w->nfrom = k;
	if (w->asked == p) {
		if (w->type == INV_BLOCK)
			p->up->inflight--;
		w->asked = NULL;
		if (k)
			ask(g, w);
	}
	if (w->asked || k) return 0;
	free(map_del(&g->wants, w->hash));
	return 1;
}

/* A wanted hash arrived from p (or NULL), or is no longer wanted: forget
 * its announcers.  While another peer was asked for it and its answer may
 * be on the way, the want stays, with nobody left to ask, until that
 * answer comes, notfound or a timeout: answering us costs nobody. */
static void got(struct gossip *g, const uint8_t *hash, struct peer *p) {
	struct want *w = map_get(&g->wants, hash);
	if (!w) return;
	for (int i = 0; i < w->nfrom; i++)
		w->from[i]->up->wants--;
	w->nfrom = 0;
	if (w->asked && w->asked != p) return;
	map_del(&g->wants, hash);
	if (w->asked && w->type == INV_BLOCK)
		w->asked->up->inflight--;
	free(w);
}

/* ==== Sync: fetching the bodies of the best header chain ==== */
/* Ask for the next missing blocks of the best header chain from the peers
 * that have them (an outbound peer by its version's height, until it
 * stalls; any other by what it has shown), each filled up to WINDOW once
 * half of it is free. */
static void fetch_blocks(struct gossip *g) {
	static uint8_t hash[FETCH_MAX][SHA256_LEN], batch[WINDOW][SHA256_LEN];
	static uint32_t height[FETCH_MAX];
	size_t i, nb, k = chain_missing(g->c, hash, height, FETCH_MAX, AHEAD);
	struct want *w;
	for (struct peer *p = g->n->peers; k && p; p = p->next) {
		if (!live(p) || !is_full(p) || p->up->inflight > WINDOW / 2 ||
		    p->up->rest_until)
			continue;
		uint32_t top = p->outbound ? p->height : p->up->shown;
		for (i = nb = 0; i < k && p->up->inflight < WINDOW; i++) {
			if (height[i] > top ||
			    ((w = map_get(&g->wants, hash[i])) && w->asked) ||
			    !(w = want_of(g, p, INV_BLOCK, hash[i])))
				continue;
			asked(g, w, p);
			memcpy(batch[nb++], hash[i], SHA256_LEN);
		}
		if (nb)
			send_inv(g, p, "getdata", INV_BLOCK, batch, nb);
	}
}

/* Log sync progress every PROGRESS_MS while the best header is ahead,
 * and once when it is caught up. */
static void progress(struct gossip *g, int64_t now, int64_t *next) {
	uint32_t h = chain_height(g->c), top = chain_best_header(g->c, NULL);
	if ((top > h || g->syncing) &&
	    !due(now, g->progress_at + PROGRESS_MS, next))
		return;
	if (top > h)
		log_msg(LOG_INFO, "sync: height %u of %u, %.0f blocks/s",
		        (unsigned)h, (unsigned)top,
		        (h - g->progress_height) * 1000.0 /
		        (now - g->progress_at));
	else if (g->syncing)
		log_msg(LOG_INFO, "sync: caught up at height %u", (unsigned)h);
	g->syncing = top > h;
	g->progress_at = now;
	g->progress_height = h;
}

/* ==== Proofs of payment (README, "Light nodes") ==== */
/* getproofs: tip[32] | u8 count (1 to PROOF_ADDRS) | count x address[32],
 * read or written. */
static void getproofs_rw(struct rw *s, const uint8_t **tip,
                         const uint8_t **addrs, uint32_t *k) {
	rw_ref(s, tip, SHA256_LEN);
	*k = rw_count(s, *k, 1, PROOF_ADDRS, ADDR_LEN);
	rw_ref(s, addrs, *k * ADDR_LEN);
}

/* proofs: tip[32], as asked | u8 status (PROOF_*) | u16 count (at most
 * PROOF_OUTS; 0 unless PROOF_OK) | count x proof_rw. */
static void proofs_rw(struct rw *s, const uint8_t **tip, uint8_t *status,
                      uint32_t *n) {
	rw_ref(s, tip, SHA256_LEN);
	rw_u8(s, status);
	*n = rw_count(s, *n, 2, PROOF_OUTS, 0);
}

/* One proof of a proofs message (struct proof), read or written. */
static void proof_rw(struct rw *s, struct proof *f) {
	rw_u32(s, &f->height);
	rw_u32(s, &f->pos);
	f->depth = rw_count(s, f->depth, 1, BRANCH_MAX, SHA256_LEN);
	rw_ref(s, &f->branch, f->depth * SHA256_LEN);
	rw_u32(s, &f->vout);
	f->txlen = rw_count(s, f->txlen, 4, MAX_BLOCK_SIZE, 1);
	rw_ref(s, &f->tx, f->txlen);
}

/* Ask p (light node) for proofs of the outputs paying the wallet's
 * addresses, up to the tip g->asked: PROOF_ADDRS addresses a request. */
static void ask_proofs(struct gossip *g, struct peer *p) {
	uint8_t addrs[PROOF_ADDRS * ADDR_LEN];
	const uint8_t *tip = g->asked, *a = addrs;
	uint32_t i, k = 0;
	struct rw s;
	for (i = 0; i < g->w->n; i++) {
		memcpy(addrs + k++ * ADDR_LEN, g->w->keys[i].addr, ADDR_LEN);
		if (k < PROOF_ADDRS && i + 1 < g->w->n) continue;
		rw_writer(&s);
		getproofs_rw(&s, &tip, &a, &k);
		net_send(g->n, p, "getproofs", s.out, s.len);
		free(s.out);
		p->up->owed++;
		k = 0;
	}
	p->up->proof_at = 0;
}

/* A light node's rounds: once the tip has moved and no headers are being
 * fetched (or at once, if the tip asked about left the active chain),
 * every peer is asked afresh (the first answer replaces what was proven).
 * (A peer that could not answer is asked again by gossip_timers.) */
static void proof_rounds(struct gossip *g) {
	if (!memcmp(g->asked, g->tip, SHA256_LEN) ||
	    (g->hdr_peer && (chain_status(g->c, g->asked) & CH_ACTIVE)))
		return;
	memcpy(g->asked, g->tip, SHA256_LEN);
	g->fresh = 1;
	for (struct peer *p = g->n->peers; p; p = p->next)
		if (live(p))
			ask_proofs(g, p);
}

/* Send p the proofs of outputs v (a block read each), or none with a
 * status other than PROOF_OK; past MAX_PAYLOAD, PROOF_TOO_MANY instead. */
static void send_proofs(struct gossip *g, struct peer *p, const uint8_t *tip,
                        uint8_t status, const struct outref *v, uint32_t n) {
	uint8_t branch[BRANCH_MAX][SHA256_LEN], hash[SHA256_LEN], *raw;
	struct proof f = { .branch = branch[0] };
	struct block b;
	size_t len;
	struct rw s;
	rw_writer(&s);
	proofs_rw(&s, &tip, &status, &n);
	for (uint32_t i = 0; i < n && s.len <= MAX_PAYLOAD; i++) {
		f.height = v[i].height;
		chain_hash_at(g->c, f.height, hash);
		if (!(raw = chain_read_block(g->c, hash, &len)) ||
		    block_parse(&b, raw, len) != V_OK)
			fatal("a block on the active chain cannot be read");
		for (f.pos = 0; f.pos < b.ntx &&
		     memcmp(b.tx[f.pos].id, v[i].op, SHA256_LEN); f.pos++)
			;
		if (f.pos == b.ntx)
			fatal("an unspent output's block lacks it");
		f.depth = block_branch(&b, f.pos, branch);
		f.vout = get32le(v[i].op + SHA256_LEN);
		f.tx = b.tx[f.pos].raw;
		f.txlen = b.tx[f.pos].len;
		proof_rw(&s, &f);
		block_free(&b);
		free(raw);
	}
	if (s.len > MAX_PAYLOAD) {
		s.len = n = 0;
		status = PROOF_TOO_MANY;
		proofs_rw(&s, &tip, &status, &n);
	}
	net_send(g->n, p, "proofs", s.out, s.len);
	free(s.out);
}

/* getproofs (full node): prove the outputs paying the addresses in blocks
 * up to the tip named, or refuse it all (too many outputs, p not reading,
 * a tip not on our active chain): never half.  What it costs is charged
 * to p as every request's is (net.c's handle_frame). */
static const char *on_getproofs(void *arg, struct peer *p, const uint8_t *b,
                                size_t len) {
	static struct outref v[PROOF_OUTS + 1];
	struct gossip *g = arg;
	const uint8_t *tip, *addrs;
	uint8_t hdr[HEADER_LEN], status = PROOF_OK;
	uint32_t k = 0, h;
	size_t n = 0;
	struct rw s;
	rw_reader(&s, b, len);
	getproofs_rw(&s, &tip, &addrs, &k);
	if (s.bad || s.left || !k) return "malformed getproofs";
	if (!net_room(g->n, p))
		status = PROOF_BUSY;
	else if (chain_header(g->c, tip, hdr, &h) != 1)
		status = PROOF_NO_TIP;
	else if ((n = chain_outputs(g->c, addrs, k, h, v, PROOF_OUTS + 1)) >
	         PROOF_OUTS)
		status = PROOF_TOO_MANY;
	send_proofs(g, p, tip, status, v, status ? 0 : n);
	return NULL;
}

/* Check a proof (light node) into v and k: the transaction sits at its
 * position (the coinbase first, no other) in our active chain's block at
 * its height, by its branch to that block's merkle root, and its output
 * pays one of the wallet's addresses.  Returns 0, or -1 if the proof is
 * false. */
static int check_proof(struct gossip *g, const struct proof *f,
                       struct outref *v, struct coin *k) {
	uint8_t hdr[HEADER_LEN], root[SHA256_LEN];
	struct tx t;
	if (tx_parse(&t, f->tx, f->txlen) != V_OK) return -1;
	if (f->vout >= t.nout || wallet_key(g->w, t.out[f->vout].addr) < 0 ||
	    (f->pos == 0) != tx_is_coinbase(&t) ||
	    chain_header_at(g->c, f->height, hdr) ||
	    block_climb(t.id, f->pos, f->branch, f->depth, root) ||
	    memcmp(root, hdr + HDR_MERKLE, SHA256_LEN)) {
		tx_free(&t);
		return -1;
	}
	k->height = f->height;
	k->amount = t.out[f->vout].amount;
	memcpy(k->addr, t.out[f->vout].addr, ADDR_LEN);
	k->coinbase = f->pos == 0;
	outpoint(v->op, t.id, f->vout);
	tx_free(&t);
	return 0;
}

/* proofs (light node): outputs a full peer proves up to the tip we ask
 * about.  One false proof bans it, and none of its answer is taken; an
 * answer about another tip (an older one), or about one that has left the
 * active chain since we asked (stale, not false), is dropped; a refusal
 * is asked again later (unless there are too many outputs: the other
 * peers may say). */
static const char *on_proofs(void *arg, struct peer *p, const uint8_t *b,
                             size_t len) {
	static struct outref v[PROOF_OUTS];
	static struct coin k[PROOF_OUTS];
	struct gossip *g = arg;
	struct proof f = { 0 };
	const uint8_t *tip;
	uint32_t n = 0, i;
	uint8_t status = 0;
	struct rw s;
	rw_reader(&s, b, len);
	proofs_rw(&s, &tip, &status, &n);
	if (s.bad || (status && n)) return "malformed proofs";
	if (!p->up->owed) return "unrequested proofs";
	p->up->owed--;
	if (memcmp(tip, g->asked, SHA256_LEN) ||
	    !(chain_status(g->c, tip) & CH_ACTIVE))
		return NULL;
	if (status) {
		log_msg(LOG_INFO, "%s refused proofs (%u)", net_text(&p->a),
		        (unsigned)status);
		if (status != PROOF_TOO_MANY)
			p->up->proof_at = mono_ms() + RETRY_MS;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		proof_rw(&s, &f);
		if (s.bad) return "malformed proofs";
		if (check_proof(g, &f, &v[i], &k[i])) {
			net_misbehave(g->n, p, W_FATAL, "false proof");
			return NULL;
		}
	}
	if (s.left) return "malformed proofs";
	chain_proven(g->c, g->fresh, v, k, n);
	g->fresh = 0;
	log_msg(LOG_INFO, "proofs: %u outputs from %s", (unsigned)n,
	        net_text(&p->a));
	return NULL;
}

/* ==== Message handlers ==== */
/* The peer has block hash: raise its heights, if we know the header. */
static void raise_height(struct gossip *g, struct peer *p,
                         const uint8_t *hash) {
	uint8_t hdr[HEADER_LEN];
	uint32_t h;
	if (chain_header(g->c, hash, hdr, &h) < 0) return;
	if (h > p->up->shown)
		p->up->shown = h;
	if (h > p->height)
		p->height = h;
}

/* Read an inv, getdata or notfound into n records at *e; returns 0, or
 * -1 if it is malformed. */
static int inv_read(const uint8_t *b, size_t len, uint32_t *n,
                    const uint8_t **e) {
	return list_read(b, len, MAX_INV, INV_REC, n, e, 0, NULL);
}

/* getdata: send what we have, each once, at most WINDOW blocks, and only
 * while the peer reads (net_room); what we lack or hold back goes back in
 * one notfound. */
static const char *on_getdata(void *arg, struct peer *p, const uint8_t *b,
                              size_t len) {
	struct gossip *g = arg;
	uint32_t i, n, miss = 0, blocks = 0;
	const uint8_t *e;
	const struct tx *t;
	uint8_t *blk, *none;
	size_t blen;
	struct map sent;
	if (inv_read(b, len, &n, &e)) return "malformed getdata";
	none = xmalloc(n * INV_REC);
	map_init(&sent, SHA256_LEN);
	for (i = 0; i < n && p->fd >= 0; i++, e += INV_REC) {
		if (map_get(&sent, e + 4)) continue;
		int room = net_room(g->n, p);
		t = room && get32le(e) == INV_TX && told(p, e + 4) ?
		    chain_pool_tx(g->c, e + 4) : NULL;
		blk = room && get32le(e) == INV_BLOCK && blocks < WINDOW ?
		      chain_read_block(g->c, e + 4, &blen) : NULL;
		if (!t && !blk) {
			memcpy(none + miss++ * INV_REC, e, INV_REC);
			continue;
		}
		map_put(&sent, e + 4, p);         /* (a set) */
		known_add(p, e + 4);
		net_send(g->n, p, t ? "tx" : "block", t ? t->raw : blk,
		         t ? t->len : blen);
		blocks += blk != NULL;
		free(blk);
	}
	if (miss)
		send_list(g, p, "notfound", miss, INV_REC, none, 0, NULL);
	map_free(&sent, 0);
	free(none);
	return NULL;
}

/* notfound: the peer has not got what we asked: ask the next one. */
static const char *on_notfound(void *arg, struct peer *p, const uint8_t *b,
                               size_t len) {
	struct gossip *g = arg;
	const uint8_t *e;
	uint32_t i, n;
	struct want *w;
	if (inv_read(b, len, &n, &e)) return "malformed notfound";
	for (i = 0; i < n; i++, e += INV_REC)
		if ((w = map_get(&g->wants, e + 4)) && w->asked == p)
			pass_over(g, w, p);
	fetch_blocks(g);          /* (a block nobody else announced) */
	return NULL;
}

/* Free orphan o; the last takes its place. */
static void orphan_drop(struct gossip *g, struct orphan *o) {
	g->orphan_bytes -= o->t.len;
	tx_free(&o->t);
	free(o->raw);
	*o = g->orphans[--g->norphans];
}

/* Keep a transaction (id) whose parent has not come, unless kept
 * already, in place of a random one if the pool is full. */
static void orphan_add(struct gossip *g, const uint8_t *id, const uint8_t *b,
                       size_t len) {
	struct orphan *o;
	for (int i = 0; i < g->norphans; i++)
		if (!memcmp(g->orphans[i].t.id, id, SHA256_LEN)) return;
	while (g->norphans == ORPHAN_MAX ||
	       (g->norphans && g->orphan_bytes + len > ORPHAN_BYTES))
		orphan_drop(g, &g->orphans[random64() % g->norphans]);
	o = &g->orphans[g->norphans];
	o->raw = xmemdup(b, len);
	o->ready = 0;
	if (tx_parse(&o->t, o->raw, len) != V_OK) {
		free(o->raw);
		return;
	}
	g->norphans++;
	g->orphan_bytes += len;
}

/* Offer the chain a transaction (id) from p, or NULL: relay it if taken,
 * and wake the orphans it is a parent of; keep it if it is an orphan
 * itself; remember the refusal.  Returns a reason. */
static int take_tx(struct gossip *g, struct peer *p, const uint8_t *id,
                   const uint8_t *b, size_t len) {
	int r = chain_add_tx(g->c, b, len), i;
	if (r == V_MISSING_INPUT)
		orphan_add(g, id, b, len);
	recent_add(g, id, r != V_OK);
	if (r != V_OK) return r;
	relay_tx(g, id, p);
	for (i = 0; i < g->norphans; i++)
		for (uint16_t k = 0; k < g->orphans[i].t.nin; k++)
			if (!memcmp(g->orphans[i].t.in[k].prev, id, SHA256_LEN))
				g->orphans[i].ready = 1;
	return r;
}

/* What refusal r of a peer's block (or transaction) costs the peer:
 * W_FATAL for what an honest node never relays (it checks first),
 * W_MALFORMED if it does not parse (or for a block, if its proof of work
 * is not even valid), 0 for what may be honest (a missing parent, a
 * conflict, our policy; for a transaction also a missing input or an
 * immature spend: a peer a block ahead may see it valid). */
static int weight(int r, int block) {
	switch (r) {
	case V_MALFORMED: case V_TOO_BIG: case V_BAD_POW: case V_BAD_BITS:
		return W_MALFORMED;
	case V_MISSING_INPUT: case V_IMMATURE_COINBASE_SPEND:
		return block ? W_FATAL : 0;
	case V_BAD_COINBASE: case V_BAD_SIGNATURE: case V_KEY_NOT_ADDRESS:
	case V_OUTPUTS_EXCEED_INPUTS: case V_AMOUNT_OUT_OF_RANGE:
	case V_UNSUPPORTED_KEY: case V_BAD_MERKLE_ROOT: case V_DUPLICATE_TX:
	case V_TIME_TOO_OLD: case V_PREVIOUS_INVALID: case V_DOUBLE_SPEND:
	case V_COINBASE_TOO_LARGE:
		return W_FATAL;
	}
	return 0;
}

/* ==== Dandelion++ (README, "Privacy") ==== */
/* The stem transaction of this id, or NULL. */
static struct stem *stem_find(struct gossip *g, const uint8_t *id) {
	for (int i = 0; i < g->nstems; i++)
		if (!memcmp(g->stems[i].id, id, SHA256_LEN))
			return &g->stems[i];
	return NULL;
}

/* Forget stem transaction s; the last takes its place. */
static void stem_drop(struct gossip *g, struct stem *s) {
	g->stem_bytes -= s->len;
	free(s->raw);
	*s = g->stems[--g->nstems];
}

/* Fluff stem transaction s: into the mempool (ours is there already) and
 * announced as any other, then out of the stem pool. */
static void fluff(struct gossip *g, struct stem *s, const char *why) {
	log_msg(LOG_INFO, "fluff tx %s: %s", hash_text(s->id), why);
	if (chain_pool_tx(g->c, s->id))
		relay_tx(g, s->id, NULL);
	else
		take_tx(g, NULL, s->id, s->raw, s->len);
	stem_drop(g, s);
}

/* Pass stem transaction s on: to the relay in its sender's slot (ours:
 * the first), and if it comes back (a loop), to the other; an empty slot
 * is skipped.  With no relay left to try, the node fluffs it. */
static void stem_on(struct gossip *g, struct stem *s) {
	struct peer *r = NULL;
	while (!r && s->sent < 2) {
		r = g->relay[(s->route + s->sent) % 2];
		s->sent++;
	}
	if (!r) {
		fluff(g, s, "no stem relay left");
		return;
	}
	log_msg(LOG_INFO, "stem tx %s to %s", hash_text(s->id),
	        net_text(&r->a));
	net_send(g->n, r, "stem", s->raw, s->len);
}

/* Keep a checked stem transaction from p (NULL: ours), with its embargo,
 * and pass it on (a diffuser fluffs one from a peer at once). */
static void stem_add(struct gossip *g, struct peer *p, const uint8_t *id,
                     const uint8_t *b, size_t len) {
	struct stem *s = &g->stems[g->nstems++];
	memcpy(s->id, id, SHA256_LEN);
	s->raw = xmemdup(b, len);
	s->len = len;
	s->from = p;
	s->route = p ? p->up->route : 0;
	s->sent = 0;
	s->embargo = mono_ms() + EMBARGO_MS +
	             (int64_t)(random64() % EMBARGO_RAND_MS);
	g->stem_bytes += len;
	if (p && g->diffuser)
		fluff(g, s, "a diffuser");
	else
		stem_on(g, s);
}

/* stem: a transaction in its stem phase, pushed by a peer.  Unless known,
 * or over a limit (then the sender's own embargo fluffs it), it is
 * checked in full (a bad one costs its sender as a bad tx does), kept
 * and passed on.  One that comes back is passed to the other relay. */
static const char *on_stem(void *arg, struct peer *p, const uint8_t *b,
                           size_t len) {
	struct gossip *g = arg;
	uint8_t id[SHA256_LEN];
	struct stem *s;
	int r, k = 0;
	sha256d(b, len, id);
	if ((s = stem_find(g, id))) {
		stem_on(g, s);
		return NULL;
	}
	for (s = g->stems; s < g->stems + g->nstems; s++)
		k += s->from == p;
	if (recent_of(g, id) || chain_pool_tx(g->c, id) || k == STEM_PEER ||
	    g->nstems == STEM_MAX || g->stem_bytes + len > STEM_BYTES)
		return NULL;
	if ((r = chain_check_tx(g->c, b, len)) == V_OK)
		stem_add(g, p, id, b, len);
	else if (weight(r, 0))
		net_misbehave(g->n, p, weight(r, 0), "invalid transaction");
	return NULL;
}

/* Fill the empty relay slots, each with a random outbound full peer that
 * takes stem transactions and is not the other relay. */
static void pick_relays(struct gossip *g) {
	for (int i = 0; i < 2; i++) {
		struct peer *pick = g->relay[i];
		int k = 0;
		for (struct peer *p = g->n->peers; p && !g->relay[i];
		     p = p->next) {
			if (!live(p) || !p->outbound || p == g->relay[!i] ||
			    !(p->services & SERVICE_STEM))
				continue;
			k++;
			if (random64() % k == 0)   /* (each as likely) */
				pick = p;
		}
		g->relay[i] = pick;
	}
}

/* A new epoch: a diffuser or not, and two relays drawn afresh (each
 * peer's stem transactions go to the one in its slot, drawn when it
 * came: so where they go changes with the epoch too). */
static void new_epoch(struct gossip *g) {
	g->epoch_at = mono_ms() + EPOCH_MS;
	g->diffuser = random64() % 100 < DIFFUSE_PCT;
	g->relay[0] = g->relay[1] = NULL;
	pick_relays(g);
}

/* Say this epoch's role and relays (for `status`). */
void gossip_status(const struct gossip *g, FILE *f) {
	fprintf(f, "dandelion %s, relays", !g->dandelion ? "off" :
	        g->diffuser ? "diffuser" : "relayer");
	for (int i = 0; i < 2; i++)
		fprintf(f, " %s", g->relay[i] ? net_text(&g->relay[i]->a) :
		        "none");
	fprintf(f, "\n");
}

/* inv: ask for what we lack; a block may raise the peer's height. */
static const char *on_inv(void *arg, struct peer *p, const uint8_t *b,
                          size_t len) {
	struct gossip *g = arg;
	const uint8_t *e;
	uint32_t i, n;
	struct stem *s;
	if (inv_read(b, len, &n, &e)) return "malformed inv";
	for (i = 0; i < n; i++, e += INV_REC) {
		known_add(p, e + 4);
		if (get32le(e) == INV_TX) {
			g->tx_inv_in++;
			if ((s = stem_find(g, e + 4)))
				fluff(g, s, "announced by a peer");
			else if (!recent_of(g, e + 4) &&
			    !chain_pool_tx(g->c, e + 4) && !g->c->light)
				want(g, p, INV_TX, e + 4);
		} else if (get32le(e) == INV_BLOCK) {
			g->block_inv_in++;
			int st = chain_status(g->c, e + 4);
			raise_height(g, p, e + 4);
			if (g->c->light && !st && !p->up->headers_at)
				/* (a light node's way) */
				send_getheaders(g, p, NULL);
			else if (!g->c->light && is_full(p) &&
			         !(st & (CH_BODY | CH_FAILED)))
				want(g, p, INV_BLOCK, e + 4);
		}
	}
	return NULL;
}

/* A transaction from a peer (p) or the wallet (NULL): checked by the
 * chain, relayed if new and valid; then the orphans it woke are tried,
 * and theirs in turn.  p pays for a rule broken, or a copy it was not
 * asked for.  Returns a reason. */
int gossip_tx(struct gossip *g, struct peer *p, const uint8_t *b, size_t len) {
	uint8_t id[SHA256_LEN];
	struct want *w = NULL;
	int r, i;
	sha256d(b, len, id);
	if (p && (w = map_get(&g->wants, id)) && w->asked != p)
		w = NULL;
	got(g, id, p);
	g->tx_in += p != NULL;
	if (p)
		known_add(p, id);
	if (recent_of(g, id) || chain_pool_tx(g->c, id)) {
		g->tx_dup += p != NULL;
		if (p && !w)
			net_misbehave(g->n, p, W_UNASKED, "unasked copy");
		return V_ALREADY_KNOWN;
	}
	if (!p && g->dandelion) {      /* ours: the mempool, and the stem */
		if ((r = chain_add_tx(g->c, b, len)) != V_OK) return r;
		recent_add(g, id, 0);
		if (g->nstems < STEM_MAX)
			stem_add(g, NULL, id, b, len);
		else
			relay_tx(g, id, NULL);
		return r;
	}
	if ((r = take_tx(g, p, id, b, len)) == V_OK && p)
		net_useful(g->n, p);
	if (p && r != V_OK) {
		log_msg(LOG_INFO, "tx from %s: %s", net_text(&p->a),
		        reason_text(r));
		if (weight(r, 0))
			net_misbehave(g->n, p, weight(r, 0),
			              "invalid transaction");
	}
	/* A woken orphan is offered again: one still missing a parent stays
	 * (take_tx sees it kept), any other goes, and the pool changed, so
	 * the look starts over. */
	for (i = 0; i < g->norphans; i++) {
		struct orphan *o = &g->orphans[i];
		if (!o->ready) continue;
		o->ready = 0;
		if (take_tx(g, NULL, o->t.id, o->raw, o->t.len) ==
		    V_MISSING_INPUT)
			continue;
		orphan_drop(g, o);
		i = -1;
	}
	return r;
}

/* tx: a transaction we asked for (gossip_tx charges the sender). */
static const char *on_tx(void *arg, struct peer *p, const uint8_t *b,
                         size_t len) {
	gossip_tx(arg, p, b, len);
	return NULL;
}

/* A block from a peer (p) or the miner (NULL): into the chain, and out
 * if it is the new tip.  One a peer was not asked for is taken only on
 * the tip or the best header's chain: nobody fills our disk with side
 * branches.  A body that is not its header's (a bad copy) leaves the hash
 * wanted: the sender is banned, the next announcer asked.  A reason. */
int gossip_block(struct gossip *g, struct peer *p, const uint8_t *b,
                 size_t len) {
	uint8_t hash[SHA256_LEN], tip[SHA256_LEN];
	sha256d(b, HEADER_LEN, hash);
	if (p)
		known_add(p, hash);
	struct want *w = map_get(&g->wants, hash);
	chain_hash_at(g->c, chain_height(g->c), tip);
	if (p && !(w && w->asked == p) &&
	    memcmp(b + HDR_PREV, tip, SHA256_LEN) &&
	    !(chain_status(g->c, hash) & CH_BEST))
		return V_NOT_REQUESTED;
	int r = chain_add_block(g->c, b, len);
	if (r != V_MALFORMED && r != V_TOO_BIG && r != V_BAD_MERKLE_ROOT &&
	    r != V_DUPLICATE_TX)
		got(g, hash, p);
	if (r == V_OK) {
		recent_add(g, hash, 0);
		if (p) {
			raise_height(g, p, hash);
			net_useful(g->n, p);
		}
	}
	if (r == V_PREVIOUS_UNKNOWN && p)  /* we lack its parents: catch up */
		send_getheaders(g, p, NULL);
	tip_changed(g);
	return r;
}

/* block: a block we asked for (or one pushed at us). */
static const char *on_block(void *arg, struct peer *p, const uint8_t *b,
                            size_t len) {
	struct gossip *g = arg;
	if (len < HEADER_LEN) return "malformed block";
	g->block_in++;
	int r = gossip_block(g, p, b, len);
	if (r == V_ALREADY_KNOWN)
		g->block_dup++;
	fetch_blocks(g);
	if (r == V_NOT_REQUESTED)
		net_misbehave(g->n, p, W_UNASKED, "unrequested block");
	if (!weight(r, 1)) return NULL;
	log_msg(LOG_WARN, "block from %s: %s", net_text(&p->a), reason_text(r));
	net_misbehave(g->n, p, weight(r, 1), "invalid block");
	return NULL;
}

/* getheaders: u32 count (at most MAX_LOCATOR) | count x hash | stop hash.
 * Answer with our active chain's headers after the first hash of the
 * locator on it (or the root), up to MAX_HEADERS or the stop hash.  On one
 * tip, a peer gets at most twice as many answers as our chain has
 * batches of headers: a whole sync, with room to ask again, however its
 * locators are dressed up; no more (amplification). */
static const char *on_getheaders(void *arg, struct peer *p, const uint8_t *b,
                                 size_t len) {
	static uint8_t out[MAX_HEADERS][HEADER_LEN];
	struct gossip *g = arg;
	uint32_t n, i, from = 0;
	uint8_t hash[SHA256_LEN];
	const uint8_t *loc, *stop;
	if (list_read(b, len, MAX_LOCATOR, SHA256_LEN, &n, &loc, SHA256_LEN,
	              &stop))
		return "malformed getheaders";
	for (i = 0; i < n; i++, loc += SHA256_LEN)
		if (chain_status(g->c, loc) & CH_ACTIVE) {
			chain_header(g->c, loc, out[0], &from);
			break;
		}
	if (p->up->sent_tips != g->tips)
		p->up->answers = 0;
	p->up->sent_tips = g->tips;
	if (p->up->answers >= 2 * (chain_height(g->c) / MAX_HEADERS + 1))
		return NULL;
	p->up->answers++;
	for (n = 0; n < MAX_HEADERS; n++) {
		if (chain_header_at(g->c, from + 1 + n, out[n]))
			break;
		sha256d(out[n], HEADER_LEN, hash);
		if (!memcmp(hash, stop, SHA256_LEN)) {
			n++;
			break;
		}
	}
	send_list(g, p, "headers", n, HEADER_LEN, out[0], 0, NULL);
	return NULL;
}

/* headers: u32 count (at most MAX_HEADERS) | count x header[80], each
 * after the one before.  MAX_HEADERS of them mean there are more to ask
 * for; then the bodies are fetched. */
static const char *on_headers(void *arg, struct peer *p, const uint8_t *b,
                              size_t len) {
	struct gossip *g = arg;
	const uint8_t *h;
	uint32_t n, i;
	uint8_t hash[SHA256_LEN];
	int r = V_OK;
	if (list_read(b, len, MAX_HEADERS, HEADER_LEN, &n, &h, 0, NULL))
		return "malformed headers";
	for (i = 0; i < n; i++, h += HEADER_LEN) {
		r = chain_add_header(g->c, h);
		if (r == V_PREVIOUS_UNKNOWN && i > 0)
			return "headers not in a chain";
		if (r != V_OK && r != V_ALREADY_KNOWN) break;
		sha256d(h, HEADER_LEN, hash);
		raise_height(g, p, hash);
	}
	p->up->headers_at = 0;
	if (g->hdr_peer == p)
		g->hdr_peer = NULL;
	/* (all it has) */
	p->up->answered = n < MAX_HEADERS && r != V_TOO_FAR_AHEAD;
	if (r != V_OK && r != V_ALREADY_KNOWN && r != V_PREVIOUS_UNKNOWN &&
	    r != V_TIME_TOO_NEW && r != V_TOO_FAR_AHEAD &&
	    r != V_SIDE_TOO_FAR)
		return "invalid header";
	if (n == MAX_HEADERS && i == n) {
		g->hdr_peer = p;
		send_getheaders(g, p, hash);
	}
	fetch_blocks(g);
	if (g->c->light)          /* (proof_rounds: on the timers' turn) */
		tip_changed(g);
	return NULL;
}

/* ==== Peers ==== */
/* Is p to be asked for headers before q: an outbound peer first (we chose
 * it), then one that has given us something new, then the one connected
 * longest?  A stream of fresh connections that claim a great height and
 * never answer so waits behind every peer that does. */
static int sooner(const struct peer *p, const struct peer *q) {
	if (p->outbound != q->outbound) return p->outbound;
	if (!p->last_relay != !q->last_relay) return p->last_relay != 0;
	return p->since < q->since;
}

/* Set p's network group aside for STALL_REST_MS (a headers request to p
 * stalled, or p left before answering it), or with set 0: is it aside?
 * (Not with -G: there every peer shares one group.) */
static int aside(struct gossip *g, const struct peer *p, int set) {
	uint8_t grp[5];
	int64_t now = mono_ms();
	net_group(&p->a, set ? g->aside : grp);
	if (set)
		g->aside_until = now + STALL_REST_MS;
	return !set && !g->n->o.nogroups && now < g->aside_until &&
	       !memcmp(grp, g->aside, sizeof grp);
}

/* A peer finished its handshake: make its sets, offer it our mempool,
 * and if it is an outbound full node, ask it for headers unless another
 * peer is being asked (the others wait for timeouts' choice). */
static void peer_ready(void *arg, struct peer *p) {
	struct gossip *g = arg;
	p->up = xmalloc(sizeof *p->up);
	map_init(&p->up->known, 8);
	map_init(&p->up->known_old, 8);
	p->up->route = random64() % 2;
	pick_relays(g);
	relay_pool(g, p);
	if (!g->hdr_peer && is_full(p) && p->outbound) {
		g->hdr_peer = p;
		send_getheaders(g, p, NULL);
	}
	if (g->c->light)
		ask_proofs(g, p);
	fetch_blocks(g);
}

/* A peer is gone: what it was asked for goes to the next announcer. */
static void peer_gone(void *arg, struct peer *p) {
	struct gossip *g = arg;
	void **v = map_values(&g->wants);
	size_t i, n = g->wants.n;
	for (i = 0; i < n; i++)
		pass_over(g, v[i], p);
	free(v);
	if (g->hdr_peer == p)
		g->hdr_peer = NULL;
	for (i = 0; i < 2; i++)        /* (a relay gone: another, at once) */
		if (g->relay[i] == p)
			g->relay[i] = NULL;
	for (struct stem *s = g->stems; s < g->stems + g->nstems; s++)
		if (s->from == p)
			s->from = NULL;
	pick_relays(g);
	if (p->up->headers_at)
		aside(g, p, 1);
	map_free(&p->up->known, 0);
	map_free(&p->up->known_old, 0);
	free(p->up->queue);
	free(p->up);
	p->up = NULL;
	fetch_blocks(g);
}

/* ==== Timers ==== */
/* Requests that are late go to the next announcer (a peer that stalled
 * a block rests, and is believed only as far as it has shown). */
static void timeouts(struct gossip *g, int64_t now) {
	void **v = map_values(&g->wants);
	size_t i, n = g->wants.n;
	struct peer *p;
	g->wants_at = INT64_MAX;
	for (i = 0; i < n; i++) {
		struct want *w = v[i];
		if (!w->asked || !due(now, w->until, &g->wants_at)) continue;
		p = w->asked;
		log_msg(LOG_DEBUG, "%s stalled a request", net_text(&p->a));
		if (w->type == INV_BLOCK) {
			p->up->rest_until = now + STALL_REST_MS;
			p->height = p->up->shown;
		}
		pass_over(g, w, p);
	}
	free(v);
}

/* Run gossip's timers that are due: each peer's queue of announcements,
 * its rest after a stall and a light node's retry; the wanted hashes'
 * deadlines; a headers request's stall, and if none is out, a peer to ask
 * that may be ahead; progress.  *next is brought forward to when the
 * next is due. */
void gossip_timers(struct gossip *g, int64_t *next) {
	int64_t now = mono_ms();
	uint32_t top = chain_best_header(g->c, NULL);
	struct peer *p, *best = NULL;
	for (p = g->n->peers; p; p = p->next) {
		if (!live(p)) continue;
		if (p->up->nqueue && due(now, p->up->announce_at, next))
			announce_queue(g, p);
		if (p->up->rest_until && due(now, p->up->rest_until, next)) {
			p->up->rest_until = 0;
			fetch_blocks(g);
		}
		if (p->up->proof_at && due(now, p->up->proof_at, next))
			ask_proofs(g, p);
		if (!g->hdr_peer && is_full(p) && p->height > top &&
		    !p->up->headers_at && !p->up->answered &&
		    top < chain_height(g->c) + HEADERS_AHEAD &&
		    !aside(g, p, 0) && (!best || sooner(p, best)))
			best = p;
	}
	if (due(now, g->wants_at, next)) {
		timeouts(g, now);
		fetch_blocks(g);
	}
	for (int i = g->nstems - 1; i >= 0; i--)   /* (fluff moves the last) */
		if (due(now, g->stems[i].embargo, next))
			fluff(g, &g->stems[i], "its embargo ran out");
	if (g->dandelion && due(now, g->epoch_at, next))
		new_epoch(g);
	if (g->aside_until && due(now, g->aside_until, next))
		g->aside_until = 0;
	if (g->hdr_peer && due(now, g->hdr_peer->up->headers_at +
	                       HEADERS_WAIT_MS, next)) {
		g->hdr_peer->height = g->hdr_peer->up->shown;
		aside(g, g->hdr_peer, 1);
		g->hdr_peer = NULL;
	} else if (best) {
		g->hdr_peer = best;
		send_getheaders(g, best, NULL);
	}
	progress(g, now, next);
	if (g->c->light)
		proof_rounds(g);
}

/* ==== What the node itself makes ==== */
/* Gossip's counters, for the `stats` command. */
void gossip_stats(const struct gossip *g, FILE *f) {
	fprintf(f, "gossip tx-announced in %lu out %lu\n"
	        "gossip block-announced in %lu out %lu\n"
	        "gossip tx-received %lu duplicate %lu\n"
	        "gossip block-received %lu duplicate %lu\n"
	        "gossip waiting %zu\ngossip stem %d\n", g->tx_inv_in,
	        g->tx_inv_out, g->block_inv_in, g->block_inv_out, g->tx_in,
	        g->tx_dup, g->block_in, g->block_dup, g->wants.n, g->nstems);
}

/* Start gossip for a chain over a network, registering its handlers (for
 * a light chain, w is the wallet whose coins it proves). */
struct gossip *gossip_open(struct chain *c, struct net *n, int tx_delay_ms,
                           int dandelion, struct wallet *w) {
	struct gossip *g = xmalloc(sizeof *g);
	g->c = c;
	g->n = n;
	g->w = w;
	g->dandelion = dandelion;
	g->diffuser = !dandelion;   /* (off: fluffs what it is sent) */
	g->fresh = 1;
	g->delay_ms = tx_delay_ms;
	g->per_peer = WANT_MAX / (n->o.max_in + n->o.max_out + 1);
	g->per_peer = g->per_peer > PEER_WANTS ? g->per_peer : PEER_WANTS;
	map_init(&g->wants, SHA256_LEN);
	map_init(&g->recent_idx, SHA256_LEN);
	chain_hash_at(c, chain_height(c), g->tip);
	memcpy(g->asked, g->tip, SHA256_LEN);
	n->height = chain_height(c);
	g->progress_at = mono_ms();
	g->progress_height = chain_height(c);
	net_handle(n, "inv", on_inv, g);
	net_handle(n, "getdata", on_getdata, g);
	net_handle(n, "notfound", on_notfound, g);
	net_handle(n, "getheaders", on_getheaders, g);
	net_handle(n, "headers", on_headers, g);
	if (c->light) {            /* (it takes no transaction, no block) */
		net_handle(n, "proofs", on_proofs, g);
	} else {
		net_handle(n, "tx", on_tx, g);
		net_handle(n, "block", on_block, g);
		net_handle(n, "getproofs", on_getproofs, g);
		net_handle(n, "stem", on_stem, g);
	}
	net_on_peers(n, peer_ready, peer_gone, g);
	return g;
}

/* Free everything (net_close has already said goodbye to the peers). */
void gossip_close(struct gossip *g) {
	if (!g) return;
	while (g->norphans)
		orphan_drop(g, &g->orphans[0]);
	map_free(&g->wants, 1);
	map_free(&g->recent_idx, 0);
	for (int i = 0; i < RECENT_MAX / RECENT_CHUNK; i++)
		free(g->recent[i]);
	free(g);
}
