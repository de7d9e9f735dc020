/*
 * util.c - the services every other file stands on: memory that never
 * comes back NULL, a hash table, hex, CRC-32, files replaced atomically,
 * the log, the one clock, the one random source, and the serializer.
 * Nothing here knows what a block or a peer is.
 *
 * The serializer is the idea to take from this file.  A record is
 * described once, as a function that calls rw_u32(), rw_bytes() and so on
 * for each field in order; it writes the record (s->out set) or reads it,
 * so reader and writer cannot disagree about a byte.  A read past the end,
 * or a count over its limit, marks the stream bad and every later read
 * gives zeros: the caller checks s->bad once.  Start reading at rw_take().
 */
#include "node.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int log_min = LOG_INFO;
char failure[512];
unsigned long fsyncs;

/* ==== Memory ==== */
/* Stop the program: memory or our own files failed us, never a peer. */
void fatal(const char *what) {
	fprintf(stderr, "peerchain: %s\n", what);
	abort();
}

/* Say why something failed, in `failure` (as errno says it with a
 * number); returns -1. */
int failed(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(failure, sizeof failure, fmt, ap);
	va_end(ap);
	return -1;
}

/* calloc that never returns NULL (xmalloc(n) is xcalloc(n, 1)). */
void *xcalloc(size_t n, size_t size) {
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		fatal("out of memory");
	return p;
}

/* A copy of the n bytes at p, in memory of its own. */
void *xmemdup(const void *p, size_t n) {
	void *v = xmalloc(n);
	memcpy(v, p, n);
	return v;
}

/* Room for `need` elements of `size` bytes in the array v of *cap,
 * doubling it when short: every growing array of the node grows here.
 * Returns the (maybe moved) array. */
void *xgrow(void *v, size_t *cap, size_t need, size_t size) {
	if (need <= *cap) return v;
	*cap = need > 2 * *cap ? need : 2 * *cap;
	if (!(v = realloc(v, *cap * size)))
		fatal("out of memory");
	return v;
}

/* ==== The hash table ==== */
/* An empty table for keys of klen bytes (8 to MAP_KEY_MAX). */
void map_init(struct map *m, size_t klen) {
	m->nb = 16;
	m->bits = 4;
	m->n = 0;
	m->klen = klen;
	m->b = xcalloc(m->nb, sizeof *m->b);
	m->salt = random64();
}

/* The bucket of a key: every 8 bytes of it (the last 8 may overlap the
 * ones before) mixed into a secret salt by multiplying, so nobody can aim
 * keys at one bucket: not hashes whose bits are ground, nor addresses
 * (IPv4 ones all begin with the same 12 bytes).  A product's low bits
 * depend only on its factors' low bits, so the bucket is its top bits,
 * which depend on every bit of the key (Fibonacci hashing). */
static size_t slot(const struct map *m, const uint8_t *key) {
	uint64_t h = m->salt;
	for (size_t i = 0; i < m->klen; i += 8)
		h = (h ^ get64le(key + (i + 8 <= m->klen ? i : m->klen - 8))) *
		    0x9e3779b97f4a7c15ULL;
	return h >> (64 - m->bits);
}

/* The value stored under key, or NULL. */
void *map_get(const struct map *m, const uint8_t *key) {
	for (struct ment *e = m->b[slot(m, key)]; e; e = e->next)
		if (!memcmp(e->key, key, m->klen)) return e->val;
	return NULL;
}

/* Twice the buckets, when there are as many entries as buckets. */
static void grow(struct map *m) {
	struct ment **old = m->b, *e, *next;
	size_t i, n = m->nb, s;
	m->nb *= 2;
	m->bits++;
	m->b = xcalloc(m->nb, sizeof *m->b);
	for (i = 0; i < n; i++)
		for (e = old[i]; e; e = next) {
			next = e->next;
			s = slot(m, e->key);
			e->next = m->b[s];
			m->b[s] = e;
		}
	free(old);
}

/* Store val under key, which must not be in the table yet. */
void map_put(struct map *m, const uint8_t *key, void *val) {
	struct ment *e = xmalloc(sizeof *e);
	if (m->n >= m->nb)
		grow(m);
	size_t s = slot(m, key);
	memcpy(e->key, key, m->klen);
	e->val = val;
	e->next = m->b[s];
	m->b[s] = e;
	m->n++;
}

/* Remove key; returns its value, or NULL if it was not there. */
void *map_del(struct map *m, const uint8_t *key) {
	struct ment **pp, *e;
	void *val;
	for (pp = &m->b[slot(m, key)]; (e = *pp); pp = &e->next)
		if (!memcmp(e->key, key, m->klen)) {
			*pp = e->next;
			val = e->val;
			free(e);
			m->n--;
			return val;
		}
	return NULL;
}

/* Free the table; with free_values, the values too. */
void map_free(struct map *m, int free_values) {
	struct ment *e, *next;
	for (size_t i = 0; i < m->nb; i++)
		for (e = m->b[i]; e; e = next) {
			next = e->next;
			if (free_values)
				free(e->val);
			free(e);
		}
	free(m->b);
	m->b = NULL;
	m->n = m->nb = 0;
}

/* Start a walk over the table's entries, in no order to rely on; returns
 * the first, or NULL.  The one way to walk a table, which must not change
 * while the walk lasts:
 *	for (e = map_walk(&walk, m); e; e = map_step(&walk))  */
struct ment *map_walk(struct mwalk *w, const struct map *m) {
	w->m = m;
	w->i = 0;
	w->e = NULL;
	return map_step(w);
}

/* The walk's next entry, or NULL after the last. */
struct ment *map_step(struct mwalk *w) {
	if (w->e)
		w->e = w->e->next;
	while (!w->e && w->i < w->m->nb)
		w->e = w->m->b[w->i++];
	return w->e;
}

/* Every value in the table, in a new array of m->n pointers. */
void **map_values(const struct map *m) {
	void **v = xcalloc(m->n, sizeof *v);
	size_t k = 0;
	struct mwalk walk;
	for (struct ment *e = map_walk(&walk, m); e; e = map_step(&walk))
		v[k++] = e->val;
	return v;
}

/* ==== Hex and CRC-32 ==== */
static const char digits[] = "0123456789abcdef";

/* Write n bytes as 2n lowercase hex digits and a NUL. */
void hex_encode(const uint8_t *in, size_t n, char *out) {
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

/* Read exactly 2n hex digits (either case) into n bytes; returns 0 or -1. */
int hex_decode(const char *s, uint8_t *out, size_t n) {
	const char *d;
	if (strlen(s) != 2 * n) return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		if (!(d = strchr(digits, s[i] < 'A' ? s[i] : s[i] | 0x20)))
			return -1;
		out[i / 2] = (i % 2 ? out[i / 2] | (d - digits) :
		                       (d - digits) << 4);
	}
	return 0;
}

/* CRC-32 (zlib's and PNG's), the checksum of block records and frames:
 * cheap next to SHA-256, and it catches what a crash or a bad link does. */
uint32_t crc32(const uint8_t *p, size_t n) {
	static uint32_t table[256];
	uint32_t c = 0xffffffff, v, k;
	int i;
	for (k = 0; !table[255] && k < 256; k++) {
		for (v = k, i = 0; i < 8; i++)
			v = v & 1 ? 0xedb88320 ^ v >> 1 : v >> 1;
		table[k] = v;
	}
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ c >> 8;
	return ~c;
}

/* ==== Files ==== */
/* Read (or write) len bytes at pos, whole; returns 0 or -1. */
int file_io(int fd, uint8_t *buf, size_t len, off_t pos, int write) {
	ssize_t n;
	for (; len > 0; buf += n, len -= n, pos += n) {
		if (write)
			n = pwrite(fd, buf, len, pos);
		else
			n = pread(fd, buf, len, pos);
		if (n <= 0)
			return -1;
	}
	return 0;
}

/* Open a file of the data directory, never through a symbolic link, and
 * only if it is a regular file of ours with no other name: nobody else's
 * file is ever written or cut through ours.  Returns the descriptor, or
 * -1 (errno says why: EPERM for a file that is not ours). */
int file_open(const char *path, int flags) {
	struct stat st;
	int fd = open(path, flags | O_NOFOLLOW, 0600);
	if (fd < 0) return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || st.st_nlink != 1) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Is dir a directory of ours, which no other user may write and which we
 * can?  (As ssh asks of ~/.ssh: another account could plant files in
 * it, or swap it.)  Returns 0, or -1 with failure saying what to do. */
int dir_ours(const char *dir) {
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return failed("%s is not a directory", dir);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return failed("%s must be yours and no one else's to write "
		              "(use a directory of your own, or chmod go-w %s)",
		              dir, dir);
	if (access(dir, W_OK))
		return failed("%s is read-only (%s): the node writes its "
		              "files there", dir, strerror(errno));
	return 0;
}

/* Flush a file's writes to the disk, counting it for `stats`. */
int file_flush(int fd) {
	fsyncs++;
	return fsync(fd);
}

/* Flush a directory, so a file just made or renamed in it stays. */
void file_sync_dir(const char *dir) {
	int fd = open(dir, O_RDONLY);
	if (fd >= 0) {
		file_flush(fd);
		close(fd);
	}
}

/* ==== The log, the clock, randomness ==== */
/* Log one event as a line on stderr: UTC time, level, message (unless
 * the level is below log_min: -v lowers it, -q raises it).  A message
 * that repeats the last is counted, not written: the next other message
 * says how often it came, so a flood of one line (a full disk under a
 * peer's re-sends) is one line. */
void log_msg(int level, const char *fmt, ...) {
	static const char *names[] = { "debug", "info", "warn", "error" };
	static char last[512];
	static unsigned long again;
	char when[32], line[512];
	time_t t = (time_t)(wall_s());
	va_list ap;
	if (level < log_min) return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (!strcmp(line, last)) {
		again++;
		return;
	}
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (again)
		fprintf(stderr, "%s %s the line before came %lu times more\n",
		        when, names[level], again);
	fprintf(stderr, "%s %s %s\n", when, names[level], line);
	memcpy(last, line, sizeof last);
	again = 0;
}

/* The one clock, in microseconds: monotonic, or (wall) since 1970. */
int64_t clock_us(int wall) {
	struct timespec ts;
	/* (The monotonic clock is an option of POSIX: without it, the
	 * timers follow the wall clock.) */
	if (wall || clock_gettime(CLOCK_MONOTONIC, &ts))
		clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Print a hash as Bitcoin does: byte-reversed hex, so proof of work shows
 * as leading zeros.  Returns a static buffer: one call per printf. */
const char *hash_text(const uint8_t h[SHA256_LEN]) {
	static char buf[2 * SHA256_LEN + 1];
	uint8_t r[SHA256_LEN];
	for (int i = 0; i < SHA256_LEN; i++)
		r[i] = h[SHA256_LEN - 1 - i];
	hex_encode(r, SHA256_LEN, buf);
	return buf;
}

/* Is the timer set for `at` due by now?  Either way *next, when the loop
 * looks again, is brought forward: to `at`, or, if it is due, to now (one
 * more turn at once, so that whatever the timer's work set or left to do
 * is seen before the loop sleeps).  All in monotonic ms. */
int due(int64_t now, int64_t at, int64_t *next) {
	if (at < *next)
		*next = at > now ? at : now;
	return at <= now;
}

/* Fill buf with n bytes from /dev/urandom, kept open and read in blocks
 * (a getaddr answer takes a thousand numbers).  Returns 0 or -1. */
int random_bytes(void *buf, size_t n) {
	static int fd = -1;
	static uint8_t pool[256];
	static size_t left;
	uint8_t *out = buf;
	size_t k;
	for (; n > 0; n -= k, out += k, left -= k) {
		if (!left) {
			if (fd < 0)
				fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
			if (fd < 0 ||
			    read(fd, pool, sizeof pool) != (ssize_t)sizeof pool)
				return -1;
			left = sizeof pool;
		}
		k = n < left ? n : left;
		memcpy(out, pool + sizeof pool - left, k);
	}
	return 0;
}

/* A random 64-bit number (from the clock if there is no randomness). */
uint64_t random64(void) {
	uint8_t b[8];
	if (random_bytes(b, sizeof b))
		return ((uint64_t)clock_us(0) ^ (uint64_t)getpid() << 40) *
		       0x9e3779b97f4a7c15ULL;
	return get64le(b);
}

/* ==== The serializer ==== */
/* A writer that appends to a buffer it allocates (free s->out). */
void rw_writer(struct rw *s) {
	memset(s, 0, sizeof *s);
	s->out = xmalloc(64);
	s->cap = 64;
}

/* A reader of (buf, len). */
void rw_reader(struct rw *s, const uint8_t *buf, size_t len) {
	memset(s, 0, sizeof *s);
	s->in = s->base = buf;
	s->left = len;
}

/* The field of n bytes at the cursor: reading, where it is in the input
 * (NULL, and the stream bad, if fewer are left); writing, room at the end
 * of the output.  Every other rw_ function goes through here. */
uint8_t *rw_take(struct rw *s, size_t n) {
	uint8_t *p;
	if (s->out) {
		s->out = xgrow(s->out, &s->cap, s->len + n, 1);
		p = s->out + s->len;
		s->len += n;
		return p;
	}
	if (s->bad || n > s->left) {
		s->bad = 1;
		return NULL;
	}
	p = (uint8_t *)s->in;
	s->in += n;
	s->left -= n;
	return p;
}

/* n bytes of v, as they are. */
void rw_bytes(struct rw *s, uint8_t *v, size_t n) {
	uint8_t *p = rw_take(s, n);
	if (s->out && n)
		memcpy(p, v, n);
	else if (p && n)
		memcpy(v, p, n);
	else if (n)
		memset(v, 0, n);
}

/* n bytes left in place: reading, *v points into the input. */
void rw_ref(struct rw *s, const uint8_t **v, size_t n) {
	uint8_t *p = rw_take(s, n);
	if (s->out && n)
		memcpy(p, *v, n);
	else if (!s->out)
		*v = p;
}

/* An unsigned integer of n bytes, least significant first. */
static uint64_t rw_int(struct rw *s, uint64_t v, size_t n) {
	uint8_t *p = rw_take(s, n);
	size_t i;
	if (!p) return 0;
	if (s->out)
		for (i = 0; i < n; i++)
			p[i] = v >> 8 * i;
	else
		for (v = 0, i = n; i-- > 0;)
			v = v << 8 | p[i];
	return v;
}

/* rw_int on a uint8_t, uint16_t, uint32_t or uint64_t field, and on a
 * signed 64-bit one (times) as its two's complement. */
void rw_u8(struct rw *s, uint8_t *v) { *v = rw_int(s, *v, 1); }
void rw_u16(struct rw *s, uint16_t *v) { *v = rw_int(s, *v, 2); }
void rw_u32(struct rw *s, uint32_t *v) { *v = rw_int(s, *v, 4); }
void rw_u64(struct rw *s, uint64_t *v) { *v = rw_int(s, *v, 8); }
void rw_i64(struct rw *s, int64_t *v) {
	uint64_t u = rw_int(s, (uint64_t)*v, 8);
	/* (A uint64_t past INT64_MAX converts to int64_t as the compiler
	 * likes: this way, as two's complement everywhere.) */
	*v = u > INT64_MAX ? -(int64_t)~u - 1 : (int64_t)u;
}

/* A count of records of at least `each` bytes, in a field of n bytes:
 * reading, one over max or over what is left marks the stream bad and
 * gives 0, so nothing is allocated for it. */
uint32_t rw_count(struct rw *s, uint32_t count, size_t n, uint32_t max,
                  size_t each) {
	count = rw_int(s, count, n);
	if (!s->out && (count > max || (each && count > s->left / each))) {
		s->bad = 1;
		return 0;
	}
	return count;
}

/* A 4-byte magic: written, or checked (a mismatch marks the stream bad). */
void rw_magic(struct rw *s, const char *magic) {
	uint8_t *p = rw_take(s, 4);
	if (s->out)
		memcpy(p, magic, 4);
	else if (p && memcmp(p, magic, 4))
		s->bad = 1;
}

/* A checksum of the record so far (the first 4 bytes of the double
 * SHA-256 of every byte before it), written or checked. */
void rw_sum(struct rw *s) {
	uint8_t sum[SHA256_LEN], *p;
	sha256d(s->out ? s->out : s->base, s->out ? s->len :
	        (size_t)(s->in - s->base), sum);
	if ((p = rw_take(s, 4)) && s->out)
		memcpy(p, sum, 4);
	else if (p && memcmp(p, sum, 4))
		s->bad = 1;
}

/* Write the file at path from its description fn: into a temporary file,
 * flushed, renamed over the old one, the directory flushed.  A crash
 * leaves the old file or the new one, never a mix.  Returns 0 or -1. */
int file_save(const char *path, rw_fn fn, void *arg) {
	char tmp[4096], dir[4096], *slash;
	struct rw s;
	int fd, bad = 1;
	rw_writer(&s);
	fn(&s, arg);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);                    /* (a crash's: made afresh) */
	if ((fd = file_open(tmp, O_WRONLY | O_CREAT | O_EXCL)) >= 0) {
		bad = file_io(fd, s.out, s.len, 0, 1) || file_flush(fd);
		bad |= close(fd);
		if (bad || rename(tmp, path)) {
			unlink(tmp);
			bad = 1;
		}
	}
	free(s.out);
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')))
		*slash = 0;
	if (!bad)
		file_sync_dir(slash ? dir : ".");
	return bad ? -1 : 0;
}

/* Read the file at path (at most max bytes) through its description fn.
 * Returns 1 if it was read whole and sound, 0 if there is none, -1 if it
 * is damaged, too big or unreadable (fn may have taken part of it). */
int file_load(const char *path, size_t max, rw_fn fn, void *arg) {
	int fd = file_open(path, O_RDONLY);
	off_t size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	uint8_t *buf = size < 0 || (uint64_t)size > max ? NULL :
	               xmalloc(size);
	struct rw s;
	int r = -1;
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	if (buf && file_io(fd, buf, size, 0, 0) == 0) {
		rw_reader(&s, buf, size);
		fn(&s, arg);
		r = s.bad || s.left ? -1 : 1;
	}
	close(fd);
	free(buf);
	return r;
}
