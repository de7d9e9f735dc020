/*
 * node.h - the one header of peerchain: the byte-order helpers, then for
 * each file, bottom up (README, "Reading the code"), the types and
 * functions it offers the files above.  Everything else is static.  Read
 * node.c first; come back here to look up a name.
 */
#ifndef NODE_H
#define NODE_H
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L    /* every file: POSIX.1-2008 and C99 */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define PEERCHAIN_VERSION "0.1.0"

/*
 * What functions return, in four kinds, each said again above each
 * function:
 *  - 0 for success, -1 (or NULL) for failure; where a user is to be
 *    told why, the function "fails": failed() puts the sentence in
 *    `failure`, as errno holds a number;
 *  - a reason, V_OK (0) or why a header, block or transaction was
 *    refused (the V_ names below): the ledger's answers;
 *  - a count or a length, where 0 says "none" or "no room" (tx_write,
 *    lms_sign) and a parser's -1 says malformed (frame_parse returns the
 *    bytes a frame takes, 0 while it needs more);
 *  - a message handler's NULL, or why the peer broke the protocol.
 * Three ask a question with three answers, 1, 0 or -1: file_load (read,
 * none, damaged), chain_header (active, known, unknown) and block_mine
 * (solved, not yet, no target).
 */

struct pollfd;
struct blockindex;
struct entry;
struct gossip;
struct gpeer;
struct ban;

/* ==== Byte order ==== */
/* Integers cross the wire and the disk as bytes assembled with shifts,
 * never by casting a byte pointer, so every machine gives the same bytes.
 * Ours are little-endian (le); SHA-256 and RFC 8554 are big-endian (be).
 * putNN stores an NN-bit v at p; getNN reads one from p. */
static inline void put16le(uint8_t *p, uint16_t v) {
	p[0] = v;
	p[1] = v >> 8;
}
static inline uint16_t get16le(const uint8_t *p) {
	return (uint16_t)(p[0] | (unsigned)p[1] << 8); /* (unsigned: an int
	                                                  may be 16 bits) */
}
static inline void put32le(uint8_t *p, uint32_t v) {
	put16le(p, v);
	put16le(p + 2, v >> 16);
}
static inline uint32_t get32le(const uint8_t *p) {
	return (uint32_t)get16le(p) | (uint32_t)get16le(p + 2) << 16;
}
static inline void put64le(uint8_t *p, uint64_t v) {
	put32le(p, v);
	put32le(p + 4, v >> 32);
}
static inline uint64_t get64le(const uint8_t *p) {
	return (uint64_t)get32le(p) | (uint64_t)get32le(p + 4) << 32;
}
static inline void put16be(uint8_t *p, uint16_t v) {
	p[0] = v >> 8;
	p[1] = v;
}
static inline void put32be(uint8_t *p, uint32_t v) {
	put16be(p, v >> 16);
	put16be(p + 2, v);
}
static inline uint32_t get32be(const uint8_t *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
}

/* ==== sha256.c: SHA-256 (FIPS 180-4) ==== */
#define SHA256_LEN   32   /* bytes in a digest */
#define SHA256_BLOCK 64   /* bytes the compression function eats at once */
typedef struct {
	uint32_t h[8];              /* chaining state */
	uint64_t len;               /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK];  /* the unfinished block: len % 64 bytes */
} sha256_ctx;
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_LEN]);
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256d(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256d_from(const sha256_ctx *mid, const void *tail, size_t len,
                  uint8_t out[SHA256_LEN]);
unsigned long sha256_compressions(void);

/* ==== util.c: memory, map, hex, files, log, clock, random, serializer ==== */
#define MAP_KEY_MAX 36           /* the longest key: an outpoint */
enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
/* A hash table keyed by fixed-length byte strings (hashes, outpoints). */
struct ment {
	struct ment *next;
	void *val;
	uint8_t key[MAP_KEY_MAX];
};
struct map {
	struct ment **b;         /* buckets: a power of two of them */
	size_t nb, n, klen;      /* buckets, entries, key length */
	int bits;                /* nb is 1 << bits */
	uint64_t salt;           /* so nobody can aim at one bucket */
};
/* A walk over a table's entries (map_walk). */
struct mwalk {
	const struct map *m;
	size_t i;                /* the next bucket to look in */
	struct ment *e;          /* the entry last given; NULL at the start */
};
/* A record being read (in set) or written (out set): see util.c. */
struct rw {
	const uint8_t *base;     /* reading: the first byte, */
	const uint8_t *in;       /* the next one to read, */
	size_t left;             /* and how many are left */
	uint8_t *out;            /* writing: the buffer, grown as needed, */
	size_t len, cap;         /* its bytes so far, its room */
	int bad;                 /* reading: past the end, or over a limit */
};
typedef void (*rw_fn)(struct rw *s, void *arg); /* a file's description */
extern int log_min;          /* events below this level are not logged */
extern char failure[512];    /* why the last call that failed failed */
extern unsigned long fsyncs; /* fsync calls so far (file_flush) */
/* The error of a non-blocking socket call that would block: try again
 * later (where <errno.h> is included). */
#define WOULD_BLOCK (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
void fatal(const char *what);
int failed(const char *fmt, ...);
void *xcalloc(size_t n, size_t size);
#define xmalloc(n) xcalloc((n), 1)
void *xgrow(void *v, size_t *cap, size_t need, size_t size);
void *xmemdup(const void *p, size_t n);
void map_init(struct map *m, size_t klen);
void *map_get(const struct map *m, const uint8_t *key);
void map_put(struct map *m, const uint8_t *key, void *val);
void *map_del(struct map *m, const uint8_t *key);
void map_free(struct map *m, int free_values);
struct ment *map_walk(struct mwalk *w, const struct map *m);
struct ment *map_step(struct mwalk *w);
void **map_values(const struct map *m);
void hex_encode(const uint8_t *in, size_t n, char *out);
int hex_decode(const char *s, uint8_t *out, size_t n);
const char *hash_text(const uint8_t h[SHA256_LEN]);
uint32_t crc32(const uint8_t *p, size_t n);
int file_io(int fd, uint8_t *buf, size_t len, off_t pos, int write);
int file_open(const char *path, int flags);
int dir_ours(const char *dir);
int file_flush(int fd);
void file_sync_dir(const char *dir);
void log_msg(int level, const char *fmt, ...);
int64_t clock_us(int wall);
#define mono_us() clock_us(0)            /* monotonic: timers, the miner */
#define mono_ms() (clock_us(0) / 1000)
#define wall_ms() (clock_us(1) / 1000)   /* since 1970: messages, files */
#define wall_s() (clock_us(1) / 1000000) /* seconds since 1970 */
#define NEVER_MS (60 * 60 * 1000)        /* ms: no timer is set further */
int due(int64_t now, int64_t at, int64_t *next);
int random_bytes(void *buf, size_t n);
uint64_t random64(void);
void rw_writer(struct rw *s);
void rw_reader(struct rw *s, const uint8_t *buf, size_t len);
uint8_t *rw_take(struct rw *s, size_t n);
void rw_bytes(struct rw *s, uint8_t *v, size_t n);
void rw_ref(struct rw *s, const uint8_t **v, size_t n);
void rw_u8(struct rw *s, uint8_t *v);
void rw_u16(struct rw *s, uint16_t *v);
void rw_u32(struct rw *s, uint32_t *v);
void rw_u64(struct rw *s, uint64_t *v);
void rw_i64(struct rw *s, int64_t *v);
uint32_t rw_count(struct rw *s, uint32_t count, size_t n, uint32_t max,
                  size_t each);
void rw_magic(struct rw *s, const char *magic);
void rw_sum(struct rw *s);
int file_save(const char *path, rw_fn fn, void *arg);
int file_load(const char *path, size_t max, rw_fn fn, void *arg);

/* ==== lms.c: LMS hash-based signatures (RFC 8554) ==== */
/* Type codes from RFC 8554 (IANA registry); all use SHA-256 with n = m = 32. */
#define LMS_SHA256_M32_H5   5
#define LMS_SHA256_M32_H10  6
#define LMS_SHA256_M32_H15  7
#define LMS_SHA256_M32_H20  8
#define LMS_SHA256_M32_H25  9
#define LMOTS_SHA256_N32_W1 1
#define LMOTS_SHA256_N32_W2 2
#define LMOTS_SHA256_N32_W4 3
#define LMOTS_SHA256_N32_W8 4
#define LMS_I_LEN      16  /* key identifier I */
#define LMS_SEED_LEN   32  /* secret seed every one-time key derives from */
#define LMS_PUB_LEN    56  /* u32 type | u32 ots type | I | root T[1] */
#define LMS_SIGN_MAX_H 10  /* keys we make: at most 2^10 leaves (64 KiB) */
#define LMS_SIG_LEN_H10_W4 2508 /* 4 + (4 + 32 + 67 * 32) + 4 + 10 * 32 */
#define LMS_SIG_MAX    9324 /* the largest: H25 with W1 */
#define LMS_OK          0   /* lms_verify: the signature is valid */
#define LMS_BAD_FORMAT (-1) /* key or signature malformed: length or type */
#define LMS_BAD_SIG    (-2) /* well formed, but not this key's signature */
/* A private key with its whole tree: over 64 KiB, not for the stack. */
struct lms_key {
	uint32_t type;                 /* LMS type code: tree height */
	uint32_t ots_type;             /* LM-OTS type code: Winternitz w */
	uint8_t I[LMS_I_LEN];          /* public identifier of this key */
	uint8_t seed[LMS_SEED_LEN];    /* secret: every one-time key's seed */
	uint8_t tree[2 << LMS_SIGN_MAX_H][SHA256_LEN]; /* T[r], r = 1 ..
	                                  2^(h+1)-1: root, nodes, leaves */
};
int lms_keygen(struct lms_key *k, uint32_t type, uint32_t ots_type,
               const uint8_t I[LMS_I_LEN], const uint8_t seed[LMS_SEED_LEN]);
void lms_public_key(const struct lms_key *k, uint8_t pub[LMS_PUB_LEN]);
size_t lms_sig_len(uint32_t type, uint32_t ots_type);
size_t lms_sign(const struct lms_key *k, uint32_t q, const void *msg,
                size_t msglen, uint8_t *sig, size_t cap);
int lms_verify(const uint8_t *pub, size_t publen, const void *msg,
               size_t msglen, const uint8_t *sig, size_t siglen);

/* ==== block.c: the formats and the rules of one block ==== */
#define HEADER_LEN     80        /* Bitcoin's block header, byte for byte: */
#define HDR_PREV       4         /* after u32 version: prev hash[32] */
#define HDR_MERKLE     36        /* merkle root[32] */
#define HDR_TIME       68        /* u32 time (seconds since 1970) */
#define HDR_BITS       72        /* u32 target in compact form */
#define HDR_NONCE      76        /* u32 nonce */
#define ADDR_LEN       32        /* an address: SHA-256 of an LMS public key */
#define OUTPOINT_LEN   36        /* txid | u32 output index */
#define MAX_BLOCK_SIZE 1000000   /* bytes, as Bitcoin's original limit */
#define MAX_TX_SIZE    100000    /* bytes, in the mempool, as Bitcoin */
#define MIN_FEE_RATE   1         /* base units a byte, in the mempool */
#define MIN_INPUT      (OUTPOINT_LEN + LMS_PUB_LEN + 2) /* with no signature */
#define MIN_OUTPUT     (8 + ADDR_LEN)
#define MIN_TX         (4 + 2 + MIN_INPUT + 2 + MIN_OUTPUT)
#define BRANCH_MAX     16        /* hashes in a merkle branch: a block
                                    holds fewer than 2^13 transactions */
#define COIN           100000000ULL          /* base units in one coin */
#define MAX_MONEY      (21000000ULL * COIN)  /* no amount may exceed it */
/* What a network agrees on.  Everything else is the same everywhere. */
struct params {
	const char *name;        /* -n NAME on the command line */
	uint8_t magic[4];        /* starts every message and block record */
	uint32_t limit_bits;     /* the easiest target, in compact form */
	uint32_t interval;       /* blocks between retargets; 0: never */
	uint32_t spacing;        /* seconds one block should take */
	uint64_t subsidy;        /* the first coinbase's new coins */
	uint32_t halving;        /* blocks between halvings of the subsidy */
	uint32_t maturity;       /* blocks before a coinbase can be spent */
	uint16_t port;           /* default TCP port */
	const char *genesis;     /* hex of the genesis block (or header) */
	uint32_t genesis_height; /* 0, but in tests that start mid-chain */
};
/* Why a header, block or transaction was refused: V_ and each name below,
 * which prints as the name in lowercase with dashes (reason_text). */
#define REASONS(X) X(OK) X(ALREADY_KNOWN) X(MALFORMED) X(TOO_BIG) \
	X(PREVIOUS_UNKNOWN) X(PREVIOUS_INVALID) X(BAD_BITS) X(BAD_POW) \
	X(TIME_TOO_OLD) X(TIME_TOO_NEW) X(BAD_COINBASE) X(BAD_MERKLE_ROOT) \
	X(DUPLICATE_TX) X(MISSING_INPUT) X(DOUBLE_SPEND) X(BAD_SIGNATURE) \
	X(KEY_NOT_ADDRESS) X(OUTPUTS_EXCEED_INPUTS) X(AMOUNT_OUT_OF_RANGE) \
	X(COINBASE_TOO_LARGE) X(IMMATURE_COINBASE_SPEND) X(MEMPOOL_CONFLICT) \
	X(MEMPOOL_FULL) X(STORAGE_FAILED) X(NOT_REQUESTED) X(TOO_FAR_AHEAD) \
	X(UNSUPPORTED_KEY) X(FEE_TOO_LOW) X(TOO_LONG_CHAIN) X(SIDE_TOO_FAR)
#define V_ENUM(x) V_##x,
enum { REASONS(V_ENUM) V_NREASONS };
/* A transaction, parsed: pointers into raw, which the caller keeps. */
struct txin {
	const uint8_t *prev;     /* the outpoint spent: txid, then u32 index */
	const uint8_t *pub;      /* LMS public key, LMS_PUB_LEN bytes */
	const uint8_t *sig;      /* LMS signature; siglen 0 borrows an earlier
	                            input's signature by the same key */
	uint16_t siglen;
};
struct txout {
	uint64_t amount;         /* base units */
	const uint8_t *addr;     /* ADDR_LEN bytes */
};
struct tx {
	const uint8_t *raw;      /* the serialized transaction */
	size_t len;
	uint8_t id[SHA256_LEN];  /* double SHA-256 of raw */
	uint16_t nin, nout;
	struct txin *in;         /* allocated by tx_parse */
	struct txout *out;
};
/* A block, parsed: transactions point into raw. */
struct block {
	const uint8_t *raw;
	size_t len;
	uint32_t ntx;
	struct tx *tx;
};
/* An unsigned 256-bit number (targets, work): w[0] is the lowest word. */
typedef struct {
	uint32_t w[8];
} u256;
const struct params *params_find(const char *name);
const char *reason_text(int r);
void outpoint(uint8_t op[OUTPOINT_LEN], const uint8_t *txid, uint32_t index);
int tx_parse(struct tx *t, const uint8_t *buf, size_t len);
void tx_free(struct tx *t);
size_t tx_write(const struct tx *t, uint8_t *buf, size_t cap);
void tx_sighash(const struct tx *t, uint8_t out[SHA256_LEN]);
int tx_is_coinbase(const struct tx *t);
int tx_check(const struct tx *t);
int tx_signed(const struct tx *t);
size_t coinbase_write(uint32_t height, const uint8_t addr[ADDR_LEN],
                      uint64_t amount, uint8_t *buf, size_t cap);
int block_parse(struct block *b, const uint8_t *buf, size_t len);
void block_free(struct block *b);
int block_check(const struct block *b, uint32_t height);
uint64_t block_subsidy(const struct params *p, uint32_t height);
uint8_t *block_make(const uint8_t prev[SHA256_LEN], uint32_t time,
                    uint32_t bits, uint8_t *const *txs, const size_t *lens,
                    size_t ntx, size_t *len);
int block_merkle(uint8_t *blk, size_t len);
int block_branch(const struct block *b, uint32_t pos,
                 uint8_t (*branch)[SHA256_LEN]);
int block_climb(const uint8_t id[SHA256_LEN], uint32_t pos,
                const uint8_t *branch, int depth, uint8_t root[SHA256_LEN]);
int block_mine(uint8_t *blk, size_t len, unsigned long tries,
               int64_t max_time);
int u256_cmp(const u256 *a, const u256 *b);
void u256_add(u256 *a, const u256 *b);
void header_work(uint32_t bits, u256 *w);
uint32_t header_retarget(const struct params *p, uint32_t bits, int64_t span);
int header_check(const struct params *p, const uint8_t *hdr,
                 const uint8_t hash[SHA256_LEN], uint32_t want_bits,
                 int64_t least, int64_t now);

/* ==== chain.c: the block index, the UTXO set, block files, the mempool ==== */
/* An unspent output, where it is, and its block's height. */
struct outref {
	uint8_t op[OUTPOINT_LEN];
	uint32_t height;
};
struct coin {
	uint64_t amount;
	uint8_t addr[ADDR_LEN];
	uint32_t height;         /* of the block that made it */
	uint8_t coinbase;        /* 1: matures after params.maturity blocks */
};
/* The ledger of one network in one data directory: first its
 * configuration, set after chain_open(), then its state. */
struct chain {
	const struct params *p;  /* the network's */
	int64_t now;             /* the rules' clock: 0 is the real one */
	uint32_t file_max;       /* bytes in a block file (FILE_MAX) */
	size_t pool_cap;         /* mempool bytes at most (POOL_CAP) */
	int64_t unsynced;        /* a write not flushed yet: when the first
	                            came (monotonic ms; 0: none) */
	int light;               /* headers only; utxo: the proven outputs */
	struct {
		uint32_t height;
		uint8_t hash[SHA256_LEN];
	} checked;               /* the tip checked.dat names */
	uint32_t trust;          /* replay skips the signatures of blocks up to
	                            this height (checked.dat's) */
	char report[512];        /* damage the block files had: "" if none */
	char *dir;               /* NULL: nothing is stored */
	int lock, fd;            /* the lock file; the block file appended to */
	uint32_t filenum, filesize;
	uint8_t *genesis;        /* the genesis block's bytes */
	struct map index;        /* block hash -> struct blockindex */
	struct blockindex *root; /* the genesis block; on a light chain, the
	                            lowest header held in memory */
	/* active[i]: the block at root height + i */
	struct blockindex **active;
	size_t nactive, acap;
	/* A light chain's active headers below the root, on disk: runs of
	 * them, each stored in a row of records from height `from` on, the
	 * header at height h at byte base + h x 92 of hdr`file`.dat (in
	 * 32-bit arithmetic).  A fork below the root is not followed. */
	struct run {
		uint32_t from, file, base;
	} *runs;
	size_t nruns, rcap;
	struct blockindex *best; /* most work, LINKED, not FAILED */
	struct blockindex *best_hdr; /* most work, not FAILED: the header
	                             chain whose bodies sync fetches */
	uint32_t seq;            /* arrival order of headers and transactions */
	struct map utxo;         /* outpoint -> struct coin */
	struct map payees;       /* full: address -> its newest unspent */
	struct map pool;         /* txid -> struct ptx: the mempool */
	struct map spends;       /* outpoint -> struct ptx spending it */
	size_t pool_bytes;       /* the size of every mempool transaction */
	int64_t expired_at;      /* when the mempool was last expired */
	uint32_t side;           /* headers taken off the best chain */
};
#define HEADERS_AHEAD 20000 /* headers kept past the active tip (the rest
                              wait for bodies): a peer's cheap headers
                              cost us that much memory at most */
#define SIDE_MARGIN   1000  /* blocks of the active chain's work a header
                              off the best chain may be behind its tip, */
#define SIDE_MAX      20000 /* and how many such headers are kept */
#define CH_HEADER 1  /* chain_status: the header is known */
#define CH_BODY   2  /* its body is stored */
#define CH_ACTIVE 4  /* it is on the active chain */
#define CH_FAILED 8  /* it, or a block before it, broke a rule */
#define CH_BEST   16 /* it is on the best header's chain */
#define CHAIN_LIGHT   1 /* chain_open: headers only */
#define CHAIN_REINDEX 2 /* chain_open: every signature checked */
struct chain *chain_open(const struct params *p, const char *dir, int flags);
void chain_close(struct chain *c);
void chain_sync(struct chain *c);
int64_t chain_now(const struct chain *c);
int chain_add_header(struct chain *c, const uint8_t hdr[HEADER_LEN]);
int chain_add_block(struct chain *c, const uint8_t *blk, size_t len);
int chain_add_tx(struct chain *c, const uint8_t *tx, size_t len);
int chain_check_tx(const struct chain *c, const uint8_t *raw, size_t len);
uint32_t chain_height(const struct chain *c);
int chain_hash_at(const struct chain *c, uint32_t height,
                  uint8_t hash[SHA256_LEN]);
int chain_header_at(const struct chain *c, uint32_t height,
                    uint8_t hdr[HEADER_LEN]);
int chain_header(const struct chain *c, const uint8_t hash[SHA256_LEN],
                 uint8_t hdr[HEADER_LEN], uint32_t *height);
int chain_status(const struct chain *c, const uint8_t hash[SHA256_LEN]);
uint32_t chain_best_header(const struct chain *c, uint8_t hash[SHA256_LEN]);
size_t chain_missing(const struct chain *c, uint8_t (*hash)[SHA256_LEN],
                     uint32_t *height, size_t max, uint32_t ahead);
uint8_t *chain_read_block(const struct chain *c,
                          const uint8_t hash[SHA256_LEN], size_t *len);
const struct tx **chain_pool_list(const struct chain *c);
const struct tx *chain_pool_tx(const struct chain *c,
                               const uint8_t id[SHA256_LEN]);
void chain_pool_expire(struct chain *c, int64_t max_age);
uint8_t *chain_template(struct chain *c, const uint8_t addr[ADDR_LEN],
                        size_t *len);
const struct ment *chain_coins(const struct chain *c, struct mwalk *w);
int chain_spent(const struct chain *c, const uint8_t op[OUTPOINT_LEN]);
size_t chain_pool_size(const struct chain *c, size_t *bytes);
size_t chain_outputs(const struct chain *c, const uint8_t *addrs, size_t n,
                     uint32_t height, struct outref *v, size_t max);
void chain_proven(struct chain *c, int fresh, const struct outref *v,
                  const struct coin *k, size_t n);

/* ==== wallet.c: keys, addresses, payments ==== */
#define ADDR_TEXT_LEN 72   /* an address as shown: 64 hex digits, 8 of sum */
#define AMOUNT_TEXT_LEN 32 /* room for "21000000.00000000" */
/* One key: what wallet.dat holds, and what is made from it. */
struct wkey {
	uint32_t type, ots;           /* LMS and LM-OTS type codes */
	uint8_t I[LMS_I_LEN];
	uint8_t seed[LMS_SEED_LEN];   /* secret */
	uint8_t pub[LMS_PUB_LEN];
	uint32_t next;                /* the next leaf never used */
	uint8_t addr[ADDR_LEN];       /* SHA-256 of pub */
	uint32_t leaves;              /* 2^h: leaves in all */
	struct lms_key *tree;         /* made when it first signs, or NULL */
};
struct wallet {
	char path[4096];              /* DIR/wallet.dat */
	struct wkey *keys;            /* the last one receives */
	uint32_t n;
	size_t cap;                   /* room in keys */
	uint32_t type;                /* LMS type for new keys */
};
void addr_text(const uint8_t addr[ADDR_LEN], char out[ADDR_TEXT_LEN + 1]);
int addr_parse(const char *s, uint8_t addr[ADDR_LEN]);
char *amount_text(uint64_t v, char buf[AMOUNT_TEXT_LEN]);
int amount_parse(const char *s, uint64_t *v);
struct wallet *wallet_open(const char *dir, int create, uint32_t lms_type);
void wallet_close(struct wallet *w);
long wallet_key(const struct wallet *w, const uint8_t addr[ADDR_LEN]);
int wallet_new_key(struct wallet *w);
const uint8_t *wallet_address(const struct wallet *w);
void wallet_balance(const struct wallet *w, const struct chain *c,
                    uint64_t *confirmed, uint64_t *immature,
                    uint64_t *unconfirmed);
uint8_t *wallet_pay(struct wallet *w, struct chain *c,
                    const uint8_t to[ADDR_LEN], uint64_t amount, uint64_t fee,
                    size_t *len);

/* ==== net.c: connections, frames, the handshake, the address book ==== */
#define FRAME_HEAD   24          /* magic | command[12] | u32 length |
                                    checksum[4], then the payload */
#define FRAME_CMD    12          /* command: lowercase ASCII, NUL-padded */
#define MAX_PAYLOAD  (2u << 20)  /* bytes: refused before any allocation
                                    (the largest message: 1.8 MB) */
#define GREET_MAX    1024        /* payload bytes before the handshake */
#define MAX_AGENT    256         /* bytes of user agent in version */
#define ADDR_REC     26          /* in addr: ip[16] | u16 port | i64 time */
#define INV_REC      36          /* in inv: u32 type | hash[32] */
#define MAX_INV      50000       /* entries in one inv, as Bitcoin */
#define MAX_CMDS     32          /* commands counted, and handlers */
#define SERVICE_FULL 1           /* version services: a full node */
#define SERVICE_STEM 2           /* and one that takes stem transactions */
#define ADDR_SLOTS   1024        /* token buckets of addr senders' groups */
#define MAX_ANCHORS  8           /* outbound peers kept across a restart */
#define PEERCHAIN_AGENT "/peerchain:" PEERCHAIN_VERSION "/"
/* A network address: IPv6, or IPv4 mapped into it (::ffff:a.b.c.d). */
struct naddr {
	uint8_t ip[16];
	uint16_t port;
};
/* A byte queue: data[off, len) waits; room for cap. */
struct buf {
	uint8_t *data;
	size_t off, len, cap;
};
/* One connection: net.c's fields, then gossip.c's. */
struct peer {
	struct peer *next;
	int fd;                  /* -1: dropped, freed by the next sweep */
	int outbound, connecting, handshaked;
	struct buf out, in;      /* unsent output; unparsed input */
	int64_t last_recv;       /* monotonic ms: its last whole frame */
	int64_t frame_at;        /* when its unfinished frame began */
	int64_t sent_at;         /* since when it has not taken all of drain: */
	size_t drain;            /* the bytes queued for it by then */
	struct naddr a;          /* the far end (for inbound: its source) */
	int socks;               /* via the proxy: 1, greeted; 2, asked */
	int got_version;
	int asked_addr;          /* it sent getaddr: answered once only */
	int64_t clean_at;        /* when its misbehaviour score is 0 again */
	int64_t debt;            /* us of answers not yet paid off (repay) */
	int backlog;             /* whole frames wait for its next turn */
	int64_t since, ping_at;  /* monotonic ms */
	int64_t last_relay;      /* when it last gave us something new */
	uint64_t ping_nonce;     /* 0: no ping out */
	int64_t min_ping;        /* ms; -1 until measured */
	uint16_t listen_port;    /* from its version */
	uint64_t services;       /* from its version: SERVICE_FULL, or 0 */
	/* from its version (a hint); gossip raises it */
	uint32_t height;
	char agent[MAX_AGENT + 1];
	struct gpeer *up;        /* the layer above's state for it (gossip's) */
};
/* How a node's network side behaves; the command line fills it. */
struct net_opts {
	const struct params *p;
	const char *dir;         /* the network's data directory */
	const char *listen;      /* HOST:PORT to listen on; NULL: none */
	char **seeds;            /* HOST:PORT to learn addresses from */
	size_t nseeds;
	char **connect;          /* connect-only mode: just these peers */
	size_t nconnect;
	int max_out, max_in;     /* connections each way */
	int nogroups;            /* 1: no one-per-group rule (one shared IP) */
	int light;               /* 1: a light node (no SERVICE_FULL), which
	                            keeps only full outbound peers */
	const char *proxy;       /* -x HOST:PORT: dial through this SOCKS5
	                            proxy; NULL: directly */
	int64_t handshake_s, ping_s, idle_s, ban_s, frame_s; /* timeouts (s) */
};
/* Misbehaviour: a peer whose offences weigh BAN_SCORE is banned. */
#define BAN_SCORE   100
#define W_FATAL     100  /* an unreadable frame; a block with valid proof
                            of work, or a transaction, breaking a rule */
#define W_MALFORMED 50   /* a malformed message, one out of order, a
                            header breaking a rule */
#define W_UNASKED   1    /* an unrequested block off our chains, an
                            unrequested copy of what we have */
/* A handler of a command (net_handle): returns NULL, or why the peer broke
 * the protocol (a W_MALFORMED offence). */
typedef const char *(*net_fn)(void *arg, struct peer *p, const uint8_t *b,
                              size_t len);
/* A handler of a peer's coming or going (net_on_peers). */
typedef void (*net_peer_fn)(void *arg, struct peer *p);
/* One command: its messages and bytes each way, and its handler. */
struct count {
	char cmd[FRAME_CMD + 1];
	unsigned long in, in_bytes, out, out_bytes;
	net_fn fn;               /* NULL: none (the message is ignored) */
	void *arg;
};
/* The network side of a node. */
struct net {
	struct net_opts o;
	uint32_t height;         /* our height, for version (gossip sets it) */
	net_peer_fn ready;       /* a handshake is done (net_on_peers) */
	net_peer_fn gone;        /* a handshaked peer is to be freed */
	void *up;                /* their argument: the layer above */
	struct count counts[MAX_CMDS]; /* the commands seen or handled */
	int ncounts;
	int listen_fd;
	struct naddr self;       /* where we listen (port 0: nowhere) */
	struct peer *peers;
	int nin, nout;
	size_t held, budget;     /* bytes all peers' queues hold, may hold */
	struct peer **who;       /* the peer of each pollfd slot */
	int maxfds;              /* who has room for this many */
	struct naddr *fixed;     /* connect-only mode: the peers to keep */
	struct naddr proxy;      /* -x, if any */
	struct map names;        /* behind it: ip[16] -> a peer's host name */
	struct entry *book;      /* the address book (BOOK_MAX entries) */
	size_t nbook;
	struct map where;        /* the book's index: address -> entry */
	uint8_t secret[32];      /* picks buckets; nobody else knows it */
	int64_t addr_full[ADDR_SLOTS]; /* when the addr allowance of a group
	                             of senders is whole again (monotonic
	                             ms; slot by group, through secret) */
	struct naddr anchors[MAX_ANCHORS]; /* dialled first, last first */
	int nanchors;
	struct map bans;         /* ip[16] -> its ban in ring: */
	struct ban *ring;        /* BAN_MAX bans, oldest at ring_at */
	size_t ring_at;
	int bans_dirty;          /* bans.dat is to be written, */
	int64_t bans_saved;      /* not before BAN_SAVE_MS after this */
	uint64_t nonce;          /* in our version: spots self-connections */
	int64_t saved_at;        /* when peers.dat was last written */
	int64_t cold_at;         /* when cold peers were last polled */
	int busy;                /* the last poll reported a peer */
	int64_t dial_at;         /* when to dial out next */
	int64_t walk_at;         /* when a peer's timer may be due, */
	int64_t shortest;        /* at the latest this long after the last */
	int dropped;             /* a peer was dropped: sweep */
	int64_t repaid_at;       /* when debts were last paid off (us) */
	int owing, backlog;      /* a peer may owe; a peer's frames wait */
};
void net_group(const struct naddr *a, uint8_t g[5]);
const char *net_text(const struct naddr *a);
int net_resolve(const char *text, struct naddr *a);
int net_parse_ip(const char *s, struct naddr *a);
size_t frame_write(uint8_t *out, const uint8_t magic[4], const char *cmd,
                   const uint8_t *payload, size_t len);
long frame_parse(const uint8_t *buf, size_t len, const uint8_t magic[4],
                 size_t max, char cmd[FRAME_CMD + 1], const uint8_t **payload,
                 size_t *plen, const char **why);
struct net *net_open(const struct net_opts *o);
void net_close(struct net *n);
void net_handle(struct net *n, const char *cmd, net_fn fn, void *arg);
void net_on_peers(struct net *n, net_peer_fn ready, net_peer_fn gone,
                  void *arg);
void net_useful(struct net *n, struct peer *p);
int net_pollfds(struct net *n, struct pollfd *pfd);
void net_events(struct net *n, const struct pollfd *pfd, int count);
void net_timers(struct net *n, int64_t *next);
void net_drop(struct net *n, struct peer *p, const char *why);
int net_room(struct net *n, struct peer *p);
void net_send(struct net *n, struct peer *p, const char *cmd,
              const uint8_t *payload, size_t len);
int net_connect(struct net *n, const char *text);
void net_ban(struct net *n, const uint8_t ip[16], int64_t until);
void net_misbehave(struct net *n, struct peer *p, int weight,
                   const char *why);

/* ==== gossip.c: relaying transactions and blocks, and sync ==== */
#define TX_DELAY_MS     100      /* mean ms tx announcements wait, to
                                    batch them */
#define TX_DELAY_RANDOM (-1)     /* -T random, the default: a random
                                    delay of that mean (not -T MS) */
struct gossip *gossip_open(struct chain *c, struct net *n, int tx_delay_ms,
                           int dandelion, struct wallet *w);
void gossip_close(struct gossip *g);
void gossip_timers(struct gossip *g, int64_t *next);
int gossip_block(struct gossip *g, struct peer *from, const uint8_t *blk,
                 size_t len);
int gossip_tx(struct gossip *g, struct peer *from, const uint8_t *tx,
              size_t len);
int64_t gossip_seen(const struct gossip *g, const uint8_t hash[SHA256_LEN]);
void gossip_stats(const struct gossip *g, FILE *f);
void gossip_status(const struct gossip *g, FILE *f);

#endif
