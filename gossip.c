/*
 * gossip.c - how transactions and blocks spread, and how a node that is
 * behind catches up.
 *
 * Spreading is announce-then-fetch: a node that accepts something new
 * announces its hash (inv) to every peer not known to have it; a peer
 * that lacks it asks one announcer (getdata) and is sent it (tx, block).
 * An announcer that does not deliver in time is passed over for the next
 * one.  Everything is checked by the chain before it is announced onward,
 * and a peer that sends what breaks a rule is banned.  Blocks are
 * announced at once; transactions wait in a per-peer queue for up to
 * TX_DELAY_MS, so one inv carries many.
 *
 * Catching up is headers first: a block locator (getheaders) brings up to
 * 2,000 headers at a time (headers), checked as a chain of headers; the
 * bodies of the best header chain are then fetched from every peer that
 * has them, WINDOW at a time from each.  A peer that stalls has its
 * requests moved to another.  Messages come in through gossip_message()
 * from net.c; the loop calls gossip_tick() for the timers.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node.h"

#define INV_TX          1        /* inventory types, as Bitcoin's */
#define INV_BLOCK       2
#define MAX_HEADERS     2000     /* headers in one message, as Bitcoin */
#define MAX_LOCATOR     101      /* hashes in one block locator */
#define SEEN_MAX        16384    /* hashes the recently-seen ring holds */
#define KNOWN_MAX       2048     /* hashes a peer is known to have: two
                                    generations of this many */
#define ANNOUNCERS      8        /* peers remembered per wanted hash */
#define WANT_MAX        50000    /* hashes waited for at once */
#define TX_WAIT_MS      2000     /* an announcer's time to deliver a tx... */
#define BLOCK_WAIT_MS   5000     /* ...or a block, before the next is asked */
#define HEADERS_WAIT_MS 10000    /* ...or headers */
#define WINDOW          32       /* blocks in flight from one peer */
#define AHEAD           1024     /* sync fetches at most this far ahead */
#define FETCH_MAX       128      /* blocks considered per scheduling pass */
#define STALL_REST_MS   10000    /* a peer that stalled gets no requests */
#define PROGRESS_MS     5000     /* sync progress is logged this often */
#define BEHIND          16       /* a tip this far below the best header
                                    is not announced: we are syncing */
#define RANDOM_IN_MS    5000     /* -T random: mean delay to inbound... */
#define RANDOM_OUT_MS   2000     /* ...and outbound peers, as Bitcoin */

/* What a peer is known to have: the current generation and the one
 * before, so the set stays bounded yet forgets only old hashes. */
struct known {
	struct map now, old;
};

/* Gossip's side of one handshaked peer. */
struct gpeer {
	struct gpeer *next;
	struct peer *p;              /* net.c's side */
	int outbound;
	uint32_t height;             /* the best height it has shown us */
	struct known known;
	uint8_t (*queue)[SHA256_LEN]; /* transactions to announce to it */
	size_t nqueue, qcap;
	int64_t flush_at;            /* when the queue goes out */
	int inflight;                /* blocks it was asked for and owes */
	int64_t headers_at;          /* when we asked it for headers; 0: not */
	int answered;                /* it sent all the headers it had */
	int64_t rest_until;          /* it stalled: no block requests till */
};

/* A hash we want: who announced it, whom we asked, since when. */
struct want {
	uint8_t hash[SHA256_LEN];
	uint32_t type;
	struct gpeer *from[ANNOUNCERS]; /* announcers not yet tried */
	int nfrom;
	struct gpeer *asked;         /* NULL: nobody yet */
	int64_t asked_at;
};

/* A hash seen lately, and when (wall-clock ms). */
struct seen {
	uint8_t hash[SHA256_LEN];
	int64_t ms;
};

struct gossip {
	struct chain *c;
	struct net *n;
	int delay_ms;                /* batching of tx announcements */
	struct gpeer *peers;
	struct map wants;            /* hash -> struct want */
	struct seen *seen;           /* a ring of SEEN_MAX... */
	size_t seen_at;
	struct map seen_idx;         /* ...and its index: hash -> struct seen */
	uint8_t tip[SHA256_LEN];     /* the active tip we last saw */
	struct gpeer *hdr_peer;      /* asked for headers, if anyone */
	int64_t timers_at, progress_at;
	uint32_t progress_height;
	int syncing;                 /* the last progress check was behind */
	unsigned long tx_inv_in, tx_inv_out, block_inv_in, block_inv_out;
	unsigned long tx_in, tx_dup, block_in, block_dup;
};

static const uint8_t mark = 1;   /* the value of set-like maps */

/* ==== Clocks ==== */

/* Milliseconds since 1970: comparable between nodes on one machine. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==== Sets: known per peer, seen per node ==== */

/* Has the peer shown it has hash? */
static int known_has(const struct gpeer *gp, const uint8_t *hash)
{
	return map_get(&gp->known.now, hash) || map_get(&gp->known.old, hash);
}

/* Note that the peer has hash; a full generation becomes the old one. */
static void known_add(struct gpeer *gp, const uint8_t *hash)
{
	struct known *k = &gp->known;

	if (known_has(gp, hash))
		return;
	if (k->now.n >= KNOWN_MAX) {
		map_free(&k->old);
		k->old = k->now;
		map_init(&k->now, 8);
	}
	map_put(&k->now, hash, (void *)&mark);
}

/* Remember hash as seen now, forgetting the oldest if the ring is full. */
static void seen_add(struct gossip *g, const uint8_t *hash)
{
	struct seen *s = &g->seen[g->seen_at];

	if (map_get(&g->seen_idx, hash))
		return;
	if (s->ms)
		map_del(&g->seen_idx, s->hash);
	memcpy(s->hash, hash, SHA256_LEN);
	s->ms = wall_ms();
	map_put(&g->seen_idx, hash, s);
	g->seen_at = (g->seen_at + 1) % SEEN_MAX;
}

/* When this node first took hash (a block or transaction it accepted or
 * refused lately), in ms since 1970; -1 if not in the ring. */
int64_t gossip_seen(const struct gossip *g, const uint8_t hash[SHA256_LEN])
{
	const struct seen *s = map_get(&g->seen_idx, hash);

	return s ? s->ms : -1;
}

/* ==== Sending ==== */

/* Send an inventory message (inv, getdata, notfound) of n entries. */
static void send_inv(struct gossip *g, struct gpeer *gp, const char *cmd,
                     uint32_t type, uint8_t (*hash)[SHA256_LEN], size_t n)
{
	uint8_t *b = xmalloc(4 + n * INV_REC);
	size_t i;

	put32le(b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		put32le(b + 4 + i * INV_REC, type);
		memcpy(b + 8 + i * INV_REC, hash[i], SHA256_LEN);
	}
	net_send(g->n, gp->p, cmd, b, 4 + n * INV_REC);
	free(b);
}

/* Ask for headers after our chain: a locator of the active chain (the
 * tip, ten more, then steps doubling back to the root), with the best
 * header first if it is ahead; or after one hash we know it has. */
static void send_getheaders(struct gossip *g, struct gpeer *gp,
                            const uint8_t *after)
{
	uint8_t b[4 + (MAX_LOCATOR + 1) * SHA256_LEN] = { 0 };
	uint8_t best[SHA256_LEN];
	uint32_t n = 0, h = chain_height(g->c), step = 1;

	if (after)
		memcpy(b + 4 + n++ * SHA256_LEN, after, SHA256_LEN);
	else if (chain_best_header(g->c, best) > h)
		memcpy(b + 4 + n++ * SHA256_LEN, best, SHA256_LEN);
	while (!after && n < MAX_LOCATOR - 1 &&
	       chain_hash_at(g->c, h, b + 4 + n * SHA256_LEN) == 0) {
		n++;
		if (n > 10)
			step *= 2;
		if (h < step)
			break;
		h -= step;
	}
	if (!after && chain_hash_at(g->c, 0, b + 4 + n * SHA256_LEN) == 0)
		n++;    /* (the root: harmless if repeated) */
	put32le(b, n);
	gp->headers_at = net_now_ms();
	net_send(g->n, gp->p, "getheaders", b, 4 + (n + 1) * SHA256_LEN);
}

/* Queue a transaction's announcement to one peer, unless it has it.  The
 * first in an empty queue sets when the queue goes out. */
static void queue_tx(struct gossip *g, struct gpeer *gp, const uint8_t *id)
{
	double mean = gp->outbound ? RANDOM_OUT_MS : RANDOM_IN_MS;

	if (known_has(gp, id))
		return;
	if (!gp->nqueue)        /* (random: uniform in [0, 2 x mean)) */
		gp->flush_at = net_now_ms() + (g->delay_ms >= 0 ? g->delay_ms :
		    (int64_t)(2 * mean * (rand() / (RAND_MAX + 1.0))));
	if (gp->nqueue == gp->qcap) {
		gp->qcap = gp->qcap ? 2 * gp->qcap : 16;
		if (!(gp->queue = realloc(gp->queue, gp->qcap * SHA256_LEN)))
			abort();
	}
	memcpy(gp->queue[gp->nqueue++], id, SHA256_LEN);
	if (gp->nqueue == MAX_INV)
		gp->flush_at = 0;
}

/* Queue a transaction's announcement to every peer but `from`. */
static void relay_tx(struct gossip *g, const uint8_t *id, struct gpeer *from)
{
	struct gpeer *gp;

	for (gp = g->peers; gp; gp = gp->next)
		if (gp != from)
			queue_tx(g, gp, id);
}

/* Send a peer its queued announcements, less what it has shown us
 * meanwhile. */
static void flush_queue(struct gossip *g, struct gpeer *gp)
{
	size_t i, k = 0;

	for (i = 0; i < gp->nqueue; i++)
		if (!known_has(gp, gp->queue[i])) {
			known_add(gp, gp->queue[i]);
			memmove(gp->queue[k++], gp->queue[i], SHA256_LEN);
		}
	if (k)
		send_inv(g, gp, "inv", INV_TX, gp->queue, k);
	g->tx_inv_out += k;
	gp->nqueue = 0;
}

/* Whom relay_pool offers the mempool to. */
struct offer {
	struct gossip *g;
	struct gpeer *only;          /* NULL: every peer */
};

/* chain_each_pooltx callback: offer one transaction. */
static void offer_tx(void *arg, const struct tx *t)
{
	struct offer *o = arg;

	if (o->only)
		queue_tx(o->g, o->only, t->id);
	else
		relay_tx(o->g, t->id, NULL);
}

/* Offer every mempool transaction to one peer (a new connection), or to
 * all (after a reorg put transactions back). */
static void relay_pool(struct gossip *g, struct gpeer *only)
{
	struct offer o;

	o.g = g;
	o.only = only;
	chain_each_pooltx(g->c, offer_tx, &o);
}

/* Announce the active tip at once to every peer that lacks it, if it is
 * new and we are nearly caught up (no point while syncing).  A tip that does not
 * extend the last one means a reorg: the mempool is offered again. */
static void tip_changed(struct gossip *g)
{
	uint8_t tip[SHA256_LEN], best[SHA256_LEN], hdr[HEADER_LEN];
	struct gpeer *gp;
	uint32_t height;

	chain_hash_at(g->c, chain_height(g->c), tip);
	if (memcmp(tip, g->tip, SHA256_LEN) == 0)
		return;
	chain_header(g->c, tip, hdr, &height);
	if (memcmp(hdr + 4, g->tip, SHA256_LEN) != 0 &&
	    !(chain_status(g->c, g->tip) & CH_ACTIVE))
		relay_pool(g, NULL);
	memcpy(g->tip, tip, SHA256_LEN);
	seen_add(g, tip);
	if (chain_best_header(g->c, best) > height + BEHIND)
		return;
	for (gp = g->peers; gp; gp = gp->next)
		if (!known_has(gp, tip)) {
			known_add(gp, tip);
			send_inv(g, gp, "inv", INV_BLOCK, &tip, 1);
			g->block_inv_out++;
		}
}

/* ==== Wanted hashes ==== */

/* Ask an announcer for a wanted hash, the first one left. */
static void ask(struct gossip *g, struct want *w)
{
	w->asked = w->from[0];
	w->asked_at = net_now_ms();
	if (w->type == INV_BLOCK)
		w->asked->inflight++;
	send_inv(g, w->asked, "getdata", w->type, &w->hash, 1);
}

/* The want of a hash, made if new, with gp among its announcers; NULL if
 * too many hashes are waited for already. */
static struct want *want_of(struct gossip *g, struct gpeer *gp, uint32_t type,
                            const uint8_t *hash)
{
	struct want *w = map_get(&g->wants, hash);
	int i;

	if (!w && g->wants.n >= WANT_MAX)
		return NULL;
	if (!w) {
		w = xcalloc(1, sizeof *w);
		memcpy(w->hash, hash, SHA256_LEN);
		w->type = type;
		map_put(&g->wants, hash, w);
	}
	for (i = 0; i < w->nfrom && w->from[i] != gp; i++)
		;
	if (i == w->nfrom && w->nfrom < ANNOUNCERS && w->asked != gp)
		w->from[w->nfrom++] = gp;
	return w;
}

/* Note that gp announced a hash we lack; ask it if nobody is asked yet. */
static void want(struct gossip *g, struct gpeer *gp, uint32_t type,
                 const uint8_t *hash)
{
	struct want *w = want_of(g, gp, type, hash);

	if (w && !w->asked && w->nfrom)
		ask(g, w);
}

/* Take gp off a want's list; if it was the one asked, ask the next
 * announcer (or, with none left, forget the want: returns 1). */
static int pass_over(struct gossip *g, struct want *w, struct gpeer *gp)
{
	int i, k = 0;

	for (i = 0; i < w->nfrom; i++)
		if (w->from[i] != gp)
			w->from[k++] = w->from[i];
	w->nfrom = k;
	if (w->asked == gp) {
		if (w->type == INV_BLOCK)
			gp->inflight--;
		w->asked = NULL;
		if (k)
			ask(g, w);
	}
	if (w->asked || k)
		return 0;
	free(map_del(&g->wants, w->hash));
	return 1;
}

/* A wanted hash arrived (or is no longer wanted): forget it. */
static void got(struct gossip *g, const uint8_t *hash)
{
	struct want *w = map_del(&g->wants, hash);

	if (w && w->asked && w->type == INV_BLOCK)
		w->asked->inflight--;
	free(w);
}

/* ==== Sync: fetching the bodies of the best header chain ==== */

/* Ask for the next missing blocks of the best header chain, spread over
 * the peers that have them.  A peer is given work once half its WINDOW is
 * free, then filled up in one getdata: fewer, larger messages. */
static void fetch_blocks(struct gossip *g)
{
	static uint8_t hash[FETCH_MAX][SHA256_LEN], batch[WINDOW][SHA256_LEN];
	static uint32_t height[FETCH_MAX];
	size_t i, nb, k = chain_missing(g->c, hash, height, FETCH_MAX, AHEAD);
	int64_t now = net_now_ms();
	struct gpeer *gp;
	struct want *w;

	for (gp = g->peers; k && gp; gp = gp->next) {
		if (gp->inflight > WINDOW / 2 || gp->rest_until > now)
			continue;
		for (i = nb = 0; i < k && gp->inflight < WINDOW; i++) {
			if (height[i] > gp->height ||
			    ((w = map_get(&g->wants, hash[i])) && w->asked) ||
			    !(w = want_of(g, gp, INV_BLOCK, hash[i])))
				continue;
			w->asked = gp;
			w->asked_at = now;
			gp->inflight++;
			memcpy(batch[nb++], hash[i], SHA256_LEN);
		}
		if (nb)
			send_inv(g, gp, "getdata", INV_BLOCK, batch, nb);
	}
}

/* Log sync progress now and then while the best header is ahead. */
static void progress(struct gossip *g, int64_t now)
{
	uint8_t best[SHA256_LEN];
	uint32_t h = chain_height(g->c), top = chain_best_header(g->c, best);
	double secs = (now - g->progress_at) / 1000.0;

	if (now - g->progress_at < PROGRESS_MS)
		return;
	if (top > h)
		net_log(LOG_INFO, "sync: height %u of %u, %.0f blocks/s",
		        (unsigned)h, (unsigned)top,
		        (h - g->progress_height) / secs);
	else if (g->syncing)
		net_log(LOG_INFO, "sync: caught up at height %u", (unsigned)h);
	g->syncing = top > h;
	g->progress_at = now;
	g->progress_height = h;
}

/* ==== Message handlers ==== */

/* Check an inventory message; returns its entry count, or -1. */
static long inv_count(const uint8_t *b, size_t len)
{
	uint32_t n;

	if (len < 4 || (n = get32le(b)) > MAX_INV ||
	    len != 4 + (size_t)n * INV_REC)
		return -1;
	return (long)n;
}

/* inv: u32 count | count x (u32 type | hash[32]).  Ask for what we lack;
 * a block whose header we know raises what we think the peer has. */
static const char *on_inv(struct gossip *g, struct gpeer *gp,
                          const uint8_t *b, size_t len)
{
	long i, n = inv_count(b, len);
	const uint8_t *e;
	uint8_t hdr[HEADER_LEN];
	uint32_t h;
	int st;

	if (n < 0)
		return "malformed inv";
	for (i = 0, e = b + 4; i < n; i++, e += INV_REC) {
		known_add(gp, e + 4);
		if (get32le(e) == INV_TX) {
			g->tx_inv_in++;
			if (gossip_seen(g, e + 4) < 0 && !chain_pool_tx(g->c, e + 4))
				want(g, gp, INV_TX, e + 4);
		} else if (get32le(e) == INV_BLOCK) {
			g->block_inv_in++;
			st = chain_status(g->c, e + 4);
			if (st && chain_header(g->c, e + 4, hdr, &h) >= 0 &&
			    h > gp->height)
				gp->height = h;
			if (!(st & (CH_BODY | CH_FAILED)))
				want(g, gp, INV_BLOCK, e + 4);
		}
	}
	return NULL;
}

/* getdata: send what we have of what it asks, notfound for the rest. */
static const char *on_getdata(struct gossip *g, struct gpeer *gp,
                              const uint8_t *b, size_t len)
{
	long i, n = inv_count(b, len), miss = 0;
	const uint8_t *e;
	const struct tx *t;
	uint8_t *blk, (*none)[SHA256_LEN];
	size_t blen;

	if (n < 0)
		return "malformed getdata";
	none = xmalloc((size_t)n * SHA256_LEN + 1);
	for (i = 0, e = b + 4; i < n; i++, e += INV_REC) {
		known_add(gp, e + 4);
		if (get32le(e) == INV_TX && (t = chain_pool_tx(g->c, e + 4))) {
			net_send(g->n, gp->p, "tx", t->raw, t->len);
		} else if (get32le(e) == INV_BLOCK &&
		           (blk = chain_read_block(g->c, e + 4, &blen))) {
			net_send(g->n, gp->p, "block", blk, blen);
			free(blk);
		} else {
			memcpy(none[miss++], e + 4, SHA256_LEN);
		}
	}
	if (miss)       /* (one type for all: the hash is what counts) */
		send_inv(g, gp, "notfound", get32le(b + 4), none, (size_t)miss);
	free(none);
	return NULL;
}

/* notfound: the peer has not got what we asked: ask the next one. */
static const char *on_notfound(struct gossip *g, struct gpeer *gp,
                               const uint8_t *b, size_t len)
{
	long i, n = inv_count(b, len);
	struct want *w;

	if (n < 0)
		return "malformed notfound";
	for (i = 0; i < n; i++)
		if ((w = map_get(&g->wants, b + 8 + i * INV_REC)) &&
		    w->asked == gp)
			pass_over(g, w, gp);
	return NULL;
}

/* Does refusing a transaction for reason r show its sender broke the
 * rules (not just that it saw another chain or mempool)? */
static int tx_is_invalid(int r)
{
	return r == V_PARSE || r == V_SIZE || r == V_COINBASE ||
	       r == V_SIG || r == V_KEY || r == V_FEE || r == V_MONEY;
}

/* tx: a transaction.  Checked by the chain; relayed if it was new and
 * valid; its sender banned if it broke a rule. */
static const char *on_tx(struct gossip *g, struct gpeer *gp,
                         const uint8_t *b, size_t len)
{
	uint8_t id[SHA256_LEN];
	int r;

	sha256d(b, len, id);
	got(g, id);
	known_add(gp, id);
	g->tx_in++;
	if (gossip_seen(g, id) >= 0 || chain_pool_tx(g->c, id)) {
		g->tx_dup++;
		return NULL;
	}
	r = chain_add_tx(g->c, b, len);
	if (r != V_MISSING)      /* (its parent may yet come: ask again) */
		seen_add(g, id);
	if (r == V_OK) {
		net_relayed(gp->p);
		relay_tx(g, id, gp);
	}
	net_log(r == V_OK ? LOG_DEBUG : LOG_INFO, "tx from %s: %s",
	        net_peer_name(gp->p), chain_reason(r));
	return tx_is_invalid(r) ? "invalid transaction" : NULL;
}

/* Take a block from a peer (gp) or the miner (NULL): the chain checks it;
 * a new tip is announced.  Returns the chain's verdict. */
static int take_block(struct gossip *g, struct gpeer *gp, const uint8_t *b,
                      size_t len)
{
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN];
	uint32_t h;
	int r;

	sha256d(b, HEADER_LEN, hash);
	got(g, hash);
	if (gp)
		known_add(gp, hash);
	if ((r = chain_add_block(g->c, b, len)) == V_OK) {
		seen_add(g, hash);
		if (gp && chain_header(g->c, hash, hdr, &h) >= 0 && h > gp->height)
			gp->height = h;
		if (gp)
			net_relayed(gp->p);
	}
	if (r == V_ORPHAN && gp)          /* we lack its parents: catch up */
		send_getheaders(g, gp, NULL);
	tip_changed(g);
	return r;
}

/* block: a block we asked for (or one pushed at us). */
static const char *on_block(struct gossip *g, struct gpeer *gp,
                            const uint8_t *b, size_t len)
{
	int r;

	if (len < HEADER_LEN)
		return "malformed block";
	g->block_in++;
	r = take_block(g, gp, b, len);
	if (r == V_HAVE)
		g->block_dup++;
	fetch_blocks(g);
	if (r == V_OK || r == V_HAVE || r == V_ORPHAN || r == V_STORE ||
	    r == V_TIME_FUTURE)
		return NULL;
	net_log(LOG_WARN, "block from %s: %s", net_peer_name(gp->p),
	        chain_reason(r));
	return "invalid block";
}

/* getheaders: u32 count | count x hash (a locator) | stop hash.  Answer
 * with the headers of our active chain after the first locator hash on
 * it, up to MAX_HEADERS or the stop hash. */
static const char *on_getheaders(struct gossip *g, struct gpeer *gp,
                                 const uint8_t *b, size_t len)
{
	static uint8_t out[4 + MAX_HEADERS * HEADER_LEN];
	uint32_t n, i, h = 0, from = 0;
	uint8_t hash[SHA256_LEN];

	if (len < 4 || (n = get32le(b)) > MAX_LOCATOR ||
	    len != 4 + ((size_t)n + 1) * SHA256_LEN)
		return "malformed getheaders";
	for (i = 0; i < n; i++)
		if (chain_status(g->c, b + 4 + i * SHA256_LEN) & CH_ACTIVE) {
			chain_header(g->c, b + 4 + i * SHA256_LEN, out + 4, &from);
			break;
		}
	/* (no hash of the locator on our chain: from the root) */
	for (n = 0; n < MAX_HEADERS && chain_hash_at(g->c, from + 1 + n,
	                                             hash) == 0; n++) {
		chain_header(g->c, hash, out + 4 + n * HEADER_LEN, &h);
		if (memcmp(hash, b + len - SHA256_LEN, SHA256_LEN) == 0) {
			n++;
			break;
		}
	}
	put32le(out, n);
	net_send(g->n, gp->p, "headers", out, 4 + (size_t)n * HEADER_LEN);
	return NULL;
}

/* headers: u32 count | count x header[80], each after the one before.
 * Checked as a header chain; 2,000 of them mean there are more to ask
 * for; then the bodies are fetched. */
static const char *on_headers(struct gossip *g, struct gpeer *gp,
                              const uint8_t *b, size_t len)
{
	uint32_t n, i, h;
	uint8_t hash[SHA256_LEN], hdr[HEADER_LEN];
	int r = V_OK;

	if (len < 4 || (n = get32le(b)) > MAX_HEADERS ||
	    len != 4 + (size_t)n * HEADER_LEN)
		return "malformed headers";
	for (i = 0; i < n; i++) {
		r = chain_add_header(g->c, b + 4 + i * HEADER_LEN);
		if (r == V_ORPHAN && i > 0)
			return "headers not in a chain";
		if (r != V_OK && r != V_HAVE)
			break;
		sha256d(b + 4 + i * HEADER_LEN, HEADER_LEN, hash);
		if (chain_header(g->c, hash, hdr, &h) >= 0 && h > gp->height)
			gp->height = h;
	}
	gp->headers_at = 0;
	if (g->hdr_peer == gp)
		g->hdr_peer = NULL;
	gp->answered = n < MAX_HEADERS;
	if (r != V_OK && r != V_HAVE && r != V_ORPHAN && r != V_TIME_FUTURE)
		return "invalid header";
	if (n == MAX_HEADERS && i == n) {
		g->hdr_peer = gp;
		send_getheaders(g, gp, hash);
	}
	fetch_blocks(g);
	return NULL;
}

/* The messages gossip handles. */
static const struct {
	const char *cmd;
	const char *(*fn)(struct gossip *g, struct gpeer *gp, const uint8_t *b,
	                  size_t len);
} handlers[] = {
	{ "inv", on_inv }, { "getdata", on_getdata },
	{ "notfound", on_notfound }, { "tx", on_tx }, { "block", on_block },
	{ "getheaders", on_getheaders }, { "headers", on_headers },
};

/* Handle a message net.c passed on.  Returns NULL, or why the peer is to
 * be banned.  Commands nobody knows are ignored. */
const char *gossip_message(struct gossip *g, struct gpeer *gp,
                           const char *cmd, const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
		if (strcmp(cmd, handlers[i].cmd) == 0)
			return handlers[i].fn(g, gp, b, len);
	return NULL;
}

/* ==== Peers ==== */

/* A peer finished its handshake: offer it our mempool, and ask it for
 * headers unless another peer is being asked. */
struct gpeer *gossip_peer_new(struct gossip *g, struct peer *p, int outbound,
                              uint32_t height)
{
	struct gpeer *gp = xcalloc(1, sizeof *gp);

	gp->p = p;
	gp->outbound = outbound;
	gp->height = height;
	map_init(&gp->known.now, 8);
	map_init(&gp->known.old, 8);
	gp->next = g->peers;
	g->peers = gp;
	relay_pool(g, gp);
	if (!g->hdr_peer) {
		g->hdr_peer = gp;
		send_getheaders(g, gp, NULL);
	}
	return gp;
}

/* A peer is gone: what it was asked for goes to the next announcer. */
void gossip_peer_gone(struct gossip *g, struct gpeer *gp)
{
	struct gpeer **pp;
	void **v = map_values(&g->wants);
	size_t i, n = g->wants.n;

	for (i = 0; i < n; i++)
		pass_over(g, v[i], gp);
	free(v);
	for (pp = &g->peers; *pp != gp; pp = &(*pp)->next)
		;
	*pp = gp->next;
	if (g->hdr_peer == gp)
		g->hdr_peer = NULL;
	map_free(&gp->known.now);
	map_free(&gp->known.old);
	free(gp->queue);
	free(gp);
	fetch_blocks(g);
}

/* ==== Timers ==== */

/* Requests that took too long go to the next announcer; a peer that
 * stalled a block rests.  A headers request that took too long goes to
 * another peer that may be ahead. */
static void timeouts(struct gossip *g, int64_t now)
{
	void **v = map_values(&g->wants);
	size_t i, n = g->wants.n;
	struct want *w;
	struct gpeer *gp;
	uint8_t best[SHA256_LEN];
	uint32_t top = chain_best_header(g->c, best);

	for (i = 0; i < n; i++) {
		w = v[i];
		if (!w->asked || now - w->asked_at < (w->type == INV_TX ?
		                                      TX_WAIT_MS : BLOCK_WAIT_MS))
			continue;
		gp = w->asked;
		net_log(LOG_DEBUG, "%s %s stalled", net_peer_name(gp->p),
		        w->type == INV_TX ? "tx" : "block");
		if (w->type == INV_BLOCK)
			gp->rest_until = now + STALL_REST_MS;
		pass_over(g, w, gp);
	}
	free(v);
	if (g->hdr_peer && now - g->hdr_peer->headers_at > HEADERS_WAIT_MS)
		g->hdr_peer = NULL;
	for (gp = g->peers; !g->hdr_peer && gp; gp = gp->next)
		if (gp->height > top && !gp->headers_at && !gp->answered) {
			g->hdr_peer = gp;
			send_getheaders(g, gp, NULL);
		}
}

/* Run the timers: announcement queues due go out; every 100 ms, the
 * request timeouts, fetching, and progress. */
void gossip_tick(struct gossip *g)
{
	int64_t now = net_now_ms();
	struct gpeer *gp;

	for (gp = g->peers; gp; gp = gp->next)
		if (gp->nqueue && now >= gp->flush_at)
			flush_queue(g, gp);
	if (now - g->timers_at < 100)
		return;
	g->timers_at = now;
	timeouts(g, now);
	fetch_blocks(g);
	progress(g, now);
}

/* How long the loop may sleep before gossip_tick has work: the nearest
 * queue, or the next timer pass. */
int gossip_timeout_ms(const struct gossip *g)
{
	int64_t now = net_now_ms(), t = g->timers_at + 100 - now;
	const struct gpeer *gp;

	if (!g->wants.n && !g->hdr_peer)
		t = 1000;
	for (gp = g->peers; gp; gp = gp->next)
		if (gp->nqueue && gp->flush_at - now < t)
			t = gp->flush_at - now;
	return t < 0 ? 0 : (int)t;
}

/* ==== What the node itself makes ==== */

/* A block the miner found: into the chain and, if it is the new tip, out
 * to every peer.  Returns the chain's verdict. */
int gossip_block(struct gossip *g, const uint8_t *blk, size_t len)
{
	return take_block(g, NULL, blk, len);
}

/* A transaction from the wallet: into the mempool and out to every peer.
 * Returns the chain's verdict. */
int gossip_tx(struct gossip *g, const uint8_t *tx, size_t len)
{
	uint8_t id[SHA256_LEN];
	int r = chain_add_tx(g->c, tx, len);

	sha256d(tx, len, id);
	if (r == V_OK) {
		seen_add(g, id);
		relay_tx(g, id, NULL);
	}
	return r;
}

/* Gossip's counters, for the `stats` control command. */
void gossip_stats(const struct gossip *g, FILE *f)
{
	fprintf(f, "gossip tx-announced in %lu out %lu\n"
	        "gossip block-announced in %lu out %lu\n"
	        "gossip tx-received %lu duplicate %lu\n"
	        "gossip block-received %lu duplicate %lu\n"
	        "gossip waiting %lu\n", g->tx_inv_in, g->tx_inv_out,
	        g->block_inv_in, g->block_inv_out, g->tx_in, g->tx_dup,
	        g->block_in, g->block_dup, (unsigned long)g->wants.n);
}

/* Start gossip for a chain over a network; tx_delay_ms batches
 * transaction announcements (TX_DELAY_RANDOM: random delays). */
struct gossip *gossip_open(struct chain *c, struct net *n, int tx_delay_ms)
{
	struct gossip *g = xcalloc(1, sizeof *g);

	g->c = c;
	g->n = n;
	g->delay_ms = tx_delay_ms;
	map_init(&g->wants, SHA256_LEN);
	map_init(&g->seen_idx, SHA256_LEN);
	g->seen = xcalloc(SEEN_MAX, sizeof *g->seen);
	chain_hash_at(c, chain_height(c), g->tip);
	g->progress_at = net_now_ms();
	g->progress_height = chain_height(c);
	srand((unsigned)wall_ms());
	return g;
}

/* Free everything (net_close has already said goodbye to the peers). */
void gossip_close(struct gossip *g)
{
	void **v;
	size_t i, n;

	if (!g)
		return;
	v = map_values(&g->wants);
	for (i = 0, n = g->wants.n; i < n; i++)
		free(v[i]);
	free(v);
	map_free(&g->wants);
	map_free(&g->seen_idx);
	free(g->seen);
	free(g);
}
