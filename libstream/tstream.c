/* Tensor stream reader and writer; byte layout in man/tstream.5.
 *
 * Reading never hands a frame to the caller before its record checksum,
 * payload checksum and (for zstd) decompressed size have been verified, and
 * every size is checked against the limits before anything is allocated. */
#define _GNU_SOURCE  /* F_SETPIPE_SZ, vmsplice */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

#include "tstream.h"

static const unsigned char MAGIC[8] = { 0x89, 'T', 'N', 'S', '\r', '\n', 0x1A, '\n' };
#define FIXED_LEN 64   /* stream header without metadata */
#define FRAME_LEN 32   /* frame record header */
#define END_LEN 24     /* end record */
#define RBUF_LEN 65536
#define CODEC_NONE 0
#define CODEC_ZSTD 1

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

/* ================================================================ reader */

enum { RS_FRAMES, RS_SEGEND, RS_DONE, RS_FAILED };

struct ts_reader {
	int fd, own_fd, flags, state;
	char *name;
	ts_header h;
	uint64_t frame_bytes;
	uint64_t offset;        /* input bytes consumed */
	uint64_t seg_frames, frames;
	unsigned char *rbuf;
	size_t rpos, rlen;
	int rbuf_eof;
	void *zbuf;
	size_t zcap;
	ZSTD_DCtx *dctx;
	int last_compressed;
	ts_piece_fn piece_fn;
	void *piece_ctx;
	int last_hash_ok;       /* last_hash is the XXH64 of the decoded frame */
	uint64_t last_hash;
	int seekable;
	off_t start;
	ts_status failed;
	char err[512];
};

static ts_status rfail(ts_reader *r, ts_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static ts_status rfail(ts_reader *r, ts_status st, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof r->err, "%s: %s", r->name, msg);
	r->state = RS_FAILED;
	r->failed = st;
	return st;
}

/* Reads up to n bytes, from the buffer first and then straight from the fd
 * for big reads (frames go from the pipe into the caller's buffer with no
 * extra copy).  Returns the count read (< n only at end of input) or -1. */
static ssize_t rread(ts_reader *r, void *dst, size_t n)
{
	unsigned char *d = dst;
	size_t got = 0;
	while (got < n) {
		if (r->rpos < r->rlen) {
			size_t k = r->rlen - r->rpos;
			if (k > n - got)
				k = n - got;
			memcpy(d + got, r->rbuf + r->rpos, k);
			r->rpos += k;
			got += k;
			continue;
		}
		if (r->rbuf_eof)
			break;
		size_t want = n - got;
		ssize_t k;
		if (want >= RBUF_LEN) {
			k = read(r->fd, d + got, want > ((size_t)1 << 30) ? ((size_t)1 << 30) : want);
			if (k > 0) { got += (size_t)k; continue; }
		} else {
			k = read(r->fd, r->rbuf, RBUF_LEN);
			if (k > 0) { r->rpos = 0; r->rlen = (size_t)k; continue; }
		}
		if (k == 0) { r->rbuf_eof = 1; break; }
		if (errno == EINTR)
			continue;
		return -1;
	}
	r->offset += got;
	return (ssize_t)got;
}

/* Reads exactly n bytes or fails as truncated with what. */
static ts_status rexact(ts_reader *r, void *dst, size_t n, const char *what)
{
	uint64_t at = r->offset;
	ssize_t k = rread(r, dst, n);
	if (k < 0)
		return rfail(r, TS_ERR_IO, "read failed at byte %llu: %s",
		             (unsigned long long)at, strerror(errno));
	if ((size_t)k < n)
		return rfail(r, TS_ERR_TRUNCATED, "truncated %s at byte %llu (%zd of %zu bytes)",
		             what, (unsigned long long)at, k, n);
	return TS_OK;
}

/* Reads a payload of n bytes into dst, hashing it piece by piece while the
 * piece is still in cache (one pass over memory instead of two), and
 * compares the hash with want. */
#define HASH_PIECE ((size_t)256 << 10)
static ts_status read_hashed(ts_reader *r, unsigned char *dst, size_t n, uint64_t want,
                             unsigned long long fno, int pieces)
{
	ts_xxh64_state hs;
	ts_xxh64_init(&hs, 0);
	for (size_t off = 0; off < n; off += HASH_PIECE) {
		size_t k = n - off < HASH_PIECE ? n - off : HASH_PIECE;
		ts_status st = rexact(r, dst + off, k, "frame");
		if (st)
			return st;
		ts_xxh64_update(&hs, dst + off, k);
		if (pieces && r->piece_fn)
			r->piece_fn(r->piece_ctx, dst + off, off, k);
	}
	if (ts_xxh64_digest(&hs) != want)
		return rfail(r, TS_ERR_CHECKSUM, "frame %llu: payload checksum mismatch", fno);
	return TS_OK;
}

/* Pipes default to 64 KiB; a bigger one lets a frame cross in fewer
 * context switches.  Best effort: failure (a limit) is fine.  Returns
 * whether fd is a pipe. */
static int widen_pipe(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISFIFO(sb.st_mode))
		return 0;
#ifdef F_SETPIPE_SZ
	if (fcntl(fd, F_GETPIPE_SZ) < (1 << 20))
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#endif
	return 1;
}

static ts_status parse_meta(ts_reader *r, const unsigned char *p, uint32_t len, ts_meta *m)
{
	uint32_t pos = 0;
	while (pos < len) {
		if (len - pos < 8)
			return rfail(r, TS_ERR_CORRUPT, "metadata entry header cut short");
		uint32_t kl = get32(p + pos), vl = get32(p + pos + 4);
		pos += 8;
		if (kl == 0 || kl > 255 || kl > len - pos || vl > len - pos - kl)
			return rfail(r, TS_ERR_CORRUPT, "metadata entry length out of range");
		char *k = malloc(kl + 1), *v = malloc((size_t)vl + 1);
		if (!k || !v) {
			free(k);
			free(v);
			return rfail(r, TS_ERR_NOMEM, "out of memory reading metadata");
		}
		memcpy(k, p + pos, kl);
		k[kl] = 0;
		memcpy(v, p + pos + kl, vl);
		v[vl] = 0;
		pos += kl + vl;
		ts_status st = TS_OK;
		if (memchr(k, 0, kl) || !ts_meta_key_ok(k))
			st = rfail(r, TS_ERR_CORRUPT, "metadata key is not printable ASCII");
		else if (!ts_utf8_valid(v, vl))
			st = rfail(r, TS_ERR_CORRUPT, "metadata value of '%s' is not valid UTF-8", k);
		else if (ts_meta_add(m, k, v))
			st = rfail(r, TS_ERR_NOMEM, "out of memory reading metadata");
		free(k);
		free(v);
		if (st)
			return st;
	}
	return TS_OK;
}

/* Reads a stream header.  first: the very start of the input (0 bytes is an
 * empty input); otherwise 0 bytes is a clean end after an end record. */
static ts_status read_header(ts_reader *r, ts_header *h, int first)
{
	unsigned char fx[FIXED_LEN];
	uint64_t at = r->offset;
	ssize_t k = rread(r, fx, 8);
	if (k < 0)
		return rfail(r, TS_ERR_IO, "read failed: %s", strerror(errno));
	if (k == 0) {
		if (first)
			return rfail(r, TS_ERR_EMPTY, "empty input (no stream header)");
		return TS_END;
	}
	if (memcmp(fx, MAGIC, (size_t)k) != 0) {
		if (first)
			return rfail(r, TS_ERR_MAGIC, "not a tensor stream (bad magic)");
		return rfail(r, TS_ERR_MAGIC, "bytes after the end record at byte %llu are not a stream header",
		             (unsigned long long)at);
	}
	if (k < 8)
		return rfail(r, TS_ERR_TRUNCATED, "truncated stream header at byte %llu",
		             (unsigned long long)at);
	ts_status st = rexact(r, fx + 8, FIXED_LEN - 8, "stream header");
	if (st)
		return st;
	uint16_t version = get16(fx + 8);
	if (version != TS_VERSION)
		return rfail(r, TS_ERR_VERSION, "stream version %u at byte %llu is not supported (this reader knows version %d)",
		             version, (unsigned long long)at, TS_VERSION);
	if (ts_xxh64(fx, 56, 0) != get64(fx + 56))
		return rfail(r, TS_ERR_CHECKSUM, "stream header checksum mismatch at byte %llu",
		             (unsigned long long)at);
	uint32_t flags = get32(fx + 12), reserved = get32(fx + 52);
	if (flags != 0 || reserved != 0)
		return rfail(r, TS_ERR_VERSION, "stream header uses unknown flags 0x%x", flags | reserved);
	memset(h, 0, sizeof *h);
	h->dtype = (ts_dtype)fx[10];
	h->rank = fx[11];
	for (int i = 0; i < TS_MAX_RANK; i++)
		h->dims[i] = get64(fx + 16 + 8 * i);
	if (ts_dtype_size(h->dtype) == 0)
		return rfail(r, TS_ERR_DIMS, "unknown element type %u", fx[10]);
	if (h->rank < 1 || h->rank > TS_MAX_RANK)
		return rfail(r, TS_ERR_DIMS, "rank %d is not in 1..4", h->rank);
	st = ts_header_check(h);
	if (st == TS_ERR_DIMS)
		return rfail(r, st, "invalid dimensions %llu x %llu x %llu x %llu for rank %d",
		             (unsigned long long)h->dims[0], (unsigned long long)h->dims[1],
		             (unsigned long long)h->dims[2], (unsigned long long)h->dims[3], h->rank);
	if (st == TS_ERR_LIMIT)
		return rfail(r, st, "frame of %llu x %llu x %llu x %llu %s exceeds the limit of %llu MiB per frame",
		             (unsigned long long)h->dims[0], (unsigned long long)h->dims[1],
		             (unsigned long long)h->dims[2], (unsigned long long)h->dims[3],
		             ts_dtype_name(h->dtype), (unsigned long long)(ts_max_frame_bytes() >> 20));
	uint32_t mlen = get32(fx + 48);
	if (mlen > TS_MAX_META_BYTES)
		return rfail(r, TS_ERR_LIMIT, "metadata of %u bytes exceeds the limit of %u", mlen, TS_MAX_META_BYTES);
	unsigned char *mb = malloc((size_t)mlen + 8);
	if (!mb)
		return rfail(r, TS_ERR_NOMEM, "out of memory for metadata");
	st = rexact(r, mb, (size_t)mlen + 8, "metadata");
	if (!st && ts_xxh64(mb, mlen, 0) != get64(mb + mlen))
		st = rfail(r, TS_ERR_CHECKSUM, "metadata checksum mismatch");
	ts_meta_init(&h->meta);
	if (!st)
		st = parse_meta(r, mb, mlen, &h->meta);
	free(mb);
	if (st)
		ts_meta_free(&h->meta);
	return st;
}

ts_status ts_reader_open(ts_reader **out, int fd, const char *name, int flags)
{
	ts_reader *r = calloc(1, sizeof *r);
	*out = r;
	if (!r)
		return TS_ERR_NOMEM;
	r->fd = fd;
	r->flags = flags;
	r->name = strdup(strcmp(name, "-") == 0 ? "stdin" : name);
	r->rbuf = malloc(RBUF_LEN);
	if (!r->name || !r->rbuf)
		return rfail(r, TS_ERR_NOMEM, "out of memory");
	struct stat sb;
	r->start = lseek(fd, 0, SEEK_CUR);
	r->seekable = r->start >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	(void)widen_pipe(fd);
	ts_status st = read_header(r, &r->h, 1);
	if (st)
		return st;
	r->frame_bytes = ts_frame_bytes(&r->h);
	r->state = RS_FRAMES;
	return TS_OK;
}

ts_status ts_reader_open_path(ts_reader **out, const char *path, int flags)
{
	int fd = 0;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			ts_reader *r = calloc(1, sizeof *r);
			*out = r;
			if (!r)
				return TS_ERR_NOMEM;
			r->fd = -1;
			r->name = strdup(path);
			snprintf(r->err, sizeof r->err, "%s: %s", path, strerror(errno));
			r->state = RS_FAILED;
			r->failed = TS_ERR_IO;
			return TS_ERR_IO;
		}
	}
	ts_status st = ts_reader_open(out, fd, path, flags);
	if (*out)
		(*out)->own_fd = fd != 0;
	else if (fd != 0)
		close(fd);
	return st;
}

const ts_header *ts_reader_header(const ts_reader *r) { return &r->h; }

void ts_reader_on_piece(ts_reader *r, ts_piece_fn fn, void *ctx)
{
	r->piece_fn = fn;
	r->piece_ctx = ctx;
}
uint64_t ts_reader_frames(const ts_reader *r) { return r->frames; }
int ts_reader_last_compressed(const ts_reader *r) { return r->last_compressed; }
int ts_reader_seekable(const ts_reader *r) { return r->seekable; }
const char *ts_reader_error(const ts_reader *r) { return r ? r->err : "out of memory"; }

static int same_shape(const ts_header *a, const ts_header *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank)
		return 0;
	for (int i = 0; i < TS_MAX_RANK; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return 1;
}

static ts_status read_end(ts_reader *r, const unsigned char *tag)
{
	unsigned char e[END_LEN];
	uint64_t at = r->offset - 4;
	memcpy(e, tag, 4);
	ts_status st = rexact(r, e + 4, END_LEN - 4, "end record");
	if (st)
		return st;
	if (ts_xxh64(e, 16, 0) != get64(e + 16))
		return rfail(r, TS_ERR_CHECKSUM, "end record checksum mismatch at byte %llu",
		             (unsigned long long)at);
	if (get32(e + 4) != 0)
		return rfail(r, TS_ERR_CORRUPT, "end record at byte %llu has reserved bits set",
		             (unsigned long long)at);
	uint64_t count = get64(e + 8);
	if (count != r->seg_frames)
		return rfail(r, TS_ERR_COUNT, "end record says %llu frames but %llu were read",
		             (unsigned long long)count, (unsigned long long)r->seg_frames);
	return TS_OK;
}

ts_status ts_reader_next_segment(ts_reader *r)
{
	if (r->state == RS_FAILED)
		return r->failed;
	if (r->state == RS_DONE)
		return TS_END;
	if (r->state != RS_SEGEND)
		return TS_ERR_ARG;
	ts_header nh;
	ts_status st = read_header(r, &nh, 0);
	if (st == TS_END) {
		r->state = RS_DONE;
		return TS_END;
	}
	if (st)
		return st;
	ts_header_free(&r->h);
	r->h = nh;
	r->frame_bytes = ts_frame_bytes(&r->h);
	r->seg_frames = 0;
	r->state = RS_FRAMES;
	return TS_OK;
}

static ts_status ensure_zbuf(ts_reader *r, size_t n)
{
	if (r->zcap >= n)
		return TS_OK;
	void *z = realloc(r->zbuf, n);
	if (!z)
		return rfail(r, TS_ERR_NOMEM, "out of memory for a compressed frame of %zu bytes", n);
	r->zbuf = z;
	r->zcap = n;
	return TS_OK;
}

ts_status ts_read_frame(ts_reader *r, void *buf)
{
	for (;;) {
		if (r->state == RS_FAILED)
			return r->failed;
		if (r->state == RS_DONE)
			return TS_END;
		if (r->state == RS_SEGEND)
			return TS_SEGMENT_END;
		unsigned char rec[FRAME_LEN];
		uint64_t at = r->offset;
		ssize_t k = rread(r, rec, 4);
		if (k < 0)
			return rfail(r, TS_ERR_IO, "read failed: %s", strerror(errno));
		if (k < 4)
			return rfail(r, TS_ERR_TRUNCATED,
			             "stream ends at byte %llu after %llu frames without an end record",
			             (unsigned long long)r->offset, (unsigned long long)r->frames);
		if (memcmp(rec, "ENDS", 4) == 0) {
			ts_status st = read_end(r, rec);
			if (st)
				return st;
			if (r->flags & TS_R_SEGMENTS) {
				r->state = RS_SEGEND;
				return TS_SEGMENT_END;
			}
			ts_header nh;
			st = read_header(r, &nh, 0);
			if (st == TS_END) {
				r->state = RS_DONE;
				return TS_END;
			}
			if (st)
				return st;
			int same = same_shape(&nh, &r->h);
			char a[96], b[96];
			ts_header_describe(&r->h, a, sizeof a);
			ts_header_describe(&nh, b, sizeof b);
			ts_header_free(&nh);
			if (!same)
				return rfail(r, TS_ERR_INCOMPATIBLE,
				             "concatenated stream at byte %llu is %s, not %s like the first",
				             (unsigned long long)(at + END_LEN), b, a);
			r->seg_frames = 0;
			continue;
		}
		if (memcmp(rec, "FRAM", 4) != 0)
			return rfail(r, TS_ERR_CORRUPT, "unknown record tag at byte %llu (frame %llu)",
			             (unsigned long long)at, (unsigned long long)r->frames);
		ts_status st = rexact(r, rec + 4, FRAME_LEN - 4, "frame record");
		if (st)
			return st;
		unsigned long long fno = (unsigned long long)r->frames;
		if (ts_xxh64(rec, 24, 0) != get64(rec + 24))
			return rfail(r, TS_ERR_CHECKSUM, "frame %llu: record checksum mismatch at byte %llu",
			             fno, (unsigned long long)at);
		unsigned codec = rec[4];
		uint64_t stored = get64(rec + 8), sum = get64(rec + 16);
		if (rec[5] | rec[6] | rec[7])
			return rfail(r, TS_ERR_CORRUPT, "frame %llu: reserved bits set", fno);
		if (codec == CODEC_NONE) {
			if (stored != r->frame_bytes)
				return rfail(r, TS_ERR_CORRUPT, "frame %llu: stored size %llu is not the frame size %llu",
				             fno, (unsigned long long)stored, (unsigned long long)r->frame_bytes);
			r->last_hash_ok = 0;
			if ((st = read_hashed(r, buf, (size_t)stored, sum, fno, 1)))
				return st;
			r->last_compressed = 0;
			r->last_hash_ok = 1;
			r->last_hash = sum;
		} else if (codec == CODEC_ZSTD) {
			if (stored == 0 || stored > ZSTD_compressBound((size_t)r->frame_bytes))
				return rfail(r, TS_ERR_CORRUPT, "frame %llu: compressed size %llu impossible for a %llu-byte frame",
				             fno, (unsigned long long)stored, (unsigned long long)r->frame_bytes);
			if ((st = ensure_zbuf(r, (size_t)stored)))
				return st;
			r->last_hash_ok = 0;
			if ((st = read_hashed(r, r->zbuf, (size_t)stored, sum, fno, 0)))
				return st;
			if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
				return rfail(r, TS_ERR_NOMEM, "out of memory for zstd");
			size_t n = ZSTD_decompressDCtx(r->dctx, buf, (size_t)r->frame_bytes, r->zbuf, (size_t)stored);
			if (ZSTD_isError(n))
				return rfail(r, TS_ERR_ZSTD, "frame %llu: zstd: %s", fno, ZSTD_getErrorName(n));
			if (n != r->frame_bytes)
				return rfail(r, TS_ERR_ZSTD, "frame %llu: decompressed to %zu bytes, not %llu",
				             fno, n, (unsigned long long)r->frame_bytes);
			r->last_compressed = 1;
			if (r->piece_fn)
				r->piece_fn(r->piece_ctx, buf, 0, n);
		} else {
			return rfail(r, TS_ERR_VERSION, "frame %llu: unknown codec %u", fno, codec);
		}
		r->seg_frames++;
		r->frames++;
		return TS_OK;
	}
}

ts_status ts_reader_rewind(ts_reader *r)
{
	if (!r->seekable)
		return rfail(r, TS_ERR_IO, "input cannot be read twice (not a regular file)");
	if (lseek(r->fd, r->start, SEEK_SET) < 0)
		return rfail(r, TS_ERR_IO, "seek failed: %s", strerror(errno));
	ts_header_free(&r->h);
	r->rpos = r->rlen = 0;
	r->rbuf_eof = 0;
	r->offset = 0;
	r->frames = r->seg_frames = 0;
	r->err[0] = 0;
	ts_status st = read_header(r, &r->h, 1);
	if (st)
		return st;
	r->frame_bytes = ts_frame_bytes(&r->h);
	r->state = RS_FRAMES;
	return TS_OK;
}

void ts_reader_close(ts_reader *r)
{
	if (!r)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	ts_header_free(&r->h);
	ZSTD_freeDCtx(r->dctx);
	free(r->zbuf);
	free(r->rbuf);
	free(r->name);
	free(r);
}

/* ================================================================ writer */

struct ts_wq;

struct ts_writer {
	int fd, level, failed;
	int splice;             /* fd is a pipe: large payloads go by vmsplice */
	struct ts_wq *q;        /* the thread that splices them (NULL: none yet) */
	char *name;
	ts_header h;
	uint64_t frame_bytes, frames;
	ZSTD_CCtx *cctx;
	void *zbuf;
	size_t zcap;
	char *pmap;             /* ts_writer_payload's fresh mapping, not yet queued */
	size_t pmap_len;
	void *pbuf;             /* its buffer where the frame is not spliced */
	char err[512];
};

static ts_status wfail(ts_writer *w, ts_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static ts_status wfail(ts_writer *w, ts_status st, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(w->err, sizeof w->err, "%s: %s", w->name ? w->name : "output", msg);
	w->failed = st;
	return st;
}

/* All of iov to fd (iov is consumed): 0, or errno.  Also the queue
 * thread's, so it touches no writer state. */
static int fd_writev(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t k = writev(fd, iov, cnt > 64 ? 64 : cnt);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		size_t left = (size_t)k;
		while (cnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static ts_status write_iov(ts_writer *w, struct iovec *iov, int cnt)
{
	int e = fd_writev(w->fd, iov, cnt);
	if (e == EPIPE)
		return wfail(w, TS_ERR_PIPE, "output closed");
	if (e)
		return wfail(w, TS_ERR_IO, "write failed: %s", strerror(e));
	return TS_OK;
}

ts_status ts_writer_open(ts_writer **out, int fd, const char *name,
                         const ts_header *h, const ts_write_opts *opts)
{
	ts_writer *w = calloc(1, sizeof *w);
	*out = w;
	if (!w)
		return TS_ERR_NOMEM;
	w->fd = fd;
	w->name = strdup(strcmp(name, "-") == 0 ? "stdout" : name);
	if (!w->name)
		return wfail(w, TS_ERR_NOMEM, "out of memory");
	w->level = opts ? opts->zstd_level : 0;
	w->splice = widen_pipe(fd) && !getenv("TOMOGAN_NO_SPLICE");
	if (w->level < 0 || w->level > ZSTD_maxCLevel())
		return wfail(w, TS_ERR_ARG, "zstd level %d is not in 0..%d", w->level, ZSTD_maxCLevel());
	ts_status hst = ts_header_check(h);
	if (hst == TS_ERR_LIMIT)
		return wfail(w, hst, "frame exceeds the limit of %llu MiB per frame",
		             (unsigned long long)(ts_max_frame_bytes() >> 20));
	if (hst)
		return wfail(w, hst, "invalid header for writing");

	/* checked before the copy, which would refuse a bad entry as well */
	size_t mlen = 0;
	for (size_t i = 0; i < h->meta.n; i++) {
		const ts_kv *kv = &h->meta.kv[i];
		if (!ts_meta_key_ok(kv->key) || !ts_utf8_valid(kv->val, strlen(kv->val)))
			return wfail(w, TS_ERR_ARG, "invalid metadata entry '%s'", kv->key);
		mlen += 8 + strlen(kv->key) + strlen(kv->val);
	}
	if (mlen > TS_MAX_META_BYTES)
		return wfail(w, TS_ERR_LIMIT, "metadata of %zu bytes exceeds the limit", mlen);
	if (ts_header_copy(&w->h, h))
		return wfail(w, TS_ERR_NOMEM, "out of memory");
	w->frame_bytes = ts_frame_bytes(h);
	unsigned char *buf = malloc(FIXED_LEN + mlen + 8);
	if (!buf)
		return wfail(w, TS_ERR_NOMEM, "out of memory");
	memset(buf, 0, FIXED_LEN);
	memcpy(buf, MAGIC, 8);
	put16(buf + 8, TS_VERSION);
	buf[10] = (unsigned char)h->dtype;
	buf[11] = (unsigned char)h->rank;
	for (int i = 0; i < TS_MAX_RANK; i++)
		put64(buf + 16 + 8 * i, h->dims[i]);
	put32(buf + 48, (uint32_t)mlen);
	put64(buf + 56, ts_xxh64(buf, 56, 0));
	unsigned char *p = buf + FIXED_LEN;
	for (size_t i = 0; i < h->meta.n; i++) {
		size_t kl = strlen(h->meta.kv[i].key), vl = strlen(h->meta.kv[i].val);
		put32(p, (uint32_t)kl);
		put32(p + 4, (uint32_t)vl);
		memcpy(p + 8, h->meta.kv[i].key, kl);
		memcpy(p + 8 + kl, h->meta.kv[i].val, vl);
		p += 8 + kl + vl;
	}
	put64(p, ts_xxh64(buf + FIXED_LEN, mlen, 0));
	struct iovec iov = { buf, FIXED_LEN + mlen + 8 };
	ts_status st = write_iov(w, &iov, 1);
	free(buf);
	return st;
}

static ts_status write_frame(ts_writer *w, const void *data, int have_hash, uint64_t hash);

/* Payloads into a pipe: write() makes the kernel allocate and fill a pipe
 * page per 4 KiB, which on virtual machines costs more than the copy
 * itself (a 1 MiB pipe took 0.7-1.6 GB/s by write() against 2.5-3.5 GB/s
 * this way, measured with a 16 MiB payload).  The whole pages of the
 * payload are in a fresh anonymous mapping, handed to the pipe with
 * vmsplice and unmapped at once: the pipe then holds the only references
 * to those pages, so nothing this process does later can change data
 * still in flight, whatever the reader does with them (read, or splice
 * them on).  A filter that computes its frame into ts_writer_payload's
 * room has it in such a mapping already; any other payload is copied
 * into one.
 *
 * The copy, if any, is made by the caller; the handing over, which waits
 * for the reader to take the pages, by a thread of the writer's own, with up to
 * WQ_DEPTH frames queued, so that a filter computes its next frame while
 * the one before goes down the pipe.  Everything the writer sends goes in
 * order: other writes wait for the queue to empty.  A failure of the
 * thread (the reader went away) is the writer's at its next call. */
#define SPLICE_MIN ((size_t)1 << 20)   /* a multiple of the page size */
#define WQ_DEPTH 2

struct wq_item {
	unsigned char rec[FRAME_LEN];
	char *map;             /* the payload's whole pages, in a mapping of map_len */
	size_t whole, map_len;
	unsigned char *tail;   /* the rest (under a page), page bytes allocated */
	size_t tail_len;
};

struct ts_wq {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wq_item it[WQ_DEPTH];
	unsigned head, count;  /* next item for the thread; items queued or in hand */
	int quit;
	int nosplice;          /* vmsplice was refused: the thread writes */
	ts_status st;          /* the thread's failure, TS_OK none */
	char msg[200];
};

/* One queued frame down the pipe: 0, or errno. */
static int wq_send(ts_writer *w, struct ts_wq *q, struct wq_item *it)
{
	struct iovec v[2] = { { it->rec, FRAME_LEN }, { NULL, 0 } };
	int e = fd_writev(w->fd, v, 1);
	size_t done = 0;
	while (!e && !q->nosplice && done < it->whole) {
		v[0] = (struct iovec){ it->map + done, it->whole - done };
		ssize_t k = vmsplice(w->fd, v, 1, SPLICE_F_GIFT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EPIPE)
			e = EPIPE;
		else if (k <= 0)
			q->nosplice = 1;   /* refused: write() from now on */
		else
			done += (size_t)k;
	}
	if (!e) {   /* what vmsplice did not take, and the last part page */
		v[0] = (struct iovec){ it->map + done, it->whole - done };
		v[1] = (struct iovec){ it->tail, it->tail_len };
		e = fd_writev(w->fd, v, 2);
	}
	return e;
}

static void *wq_thread(void *arg)
{
	ts_writer *w = arg;
	struct ts_wq *q = w->q;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->count == 0 && !q->quit)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->count == 0)
			break;
		struct wq_item *it = &q->it[q->head];
		int failed = q->st != TS_OK;
		pthread_mutex_unlock(&q->mu);
		int e = failed ? 0 : wq_send(w, q, it);
		munmap(it->map, it->map_len);
		it->map = NULL;
		pthread_mutex_lock(&q->mu);
		if (e && !q->st) {
			q->st = e == EPIPE ? TS_ERR_PIPE : TS_ERR_IO;
			snprintf(q->msg, sizeof q->msg, "%s", e == EPIPE ? "output closed" : strerror(e));
		}
		q->head = (q->head + 1) % WQ_DEPTH;
		q->count--;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* The thread's failure as the writer's (lock held). */
static ts_status wq_status(ts_writer *w)
{
	struct ts_wq *q = w->q;
	if (q->st && !w->failed) {
		if (q->st == TS_ERR_PIPE)
			wfail(w, q->st, "%s", q->msg);
		else
			wfail(w, q->st, "write failed: %s", q->msg);
	}
	return w->failed;
}

/* Waits until every queued frame is down the pipe; the writer's status. */
static ts_status wq_drain(ts_writer *w)
{
	struct ts_wq *q = w->q;
	if (!q)
		return w->failed;
	pthread_mutex_lock(&q->mu);
	while (q->count > 0)
		pthread_cond_wait(&q->cv, &q->mu);
	ts_status st = wq_status(w);
	pthread_mutex_unlock(&q->mu);
	return st;
}

static void wq_free(ts_writer *w)
{
	struct ts_wq *q = w->q;
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->quit = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	for (int i = 0; i < WQ_DEPTH; i++)
		free(q->it[i].tail);
	free(q);
	w->q = NULL;
}

/* Starts the thread; 0 if it cannot (the caller writes itself). */
static int wq_start(ts_writer *w, size_t page)
{
	struct ts_wq *q = calloc(1, sizeof *q);
	if (!q)
		return 0;
	for (int i = 0; i < WQ_DEPTH; i++)
		if (!(q->it[i].tail = malloc(page)))
			goto fail;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	w->q = q;
	/* signals stay with the caller's thread: the thread starts with them blocked */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&q->thread, NULL, wq_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0)
		return 1;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	w->q = NULL;
fail:
	for (int i = 0; i < WQ_DEPTH; i++)
		free(q->it[i].tail);
	free(q);
	return 0;
}

/* Fresh anonymous pages for a payload going to vmsplice (huge pages where
 * the kernel has them); NULL if there is no memory. */
static char *fresh_map(size_t len)
{
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(m, len, MADV_HUGEPAGE);
#endif
	return m;
}

/* Queues frame record rec and its payload (n >= SPLICE_MIN bytes): the
 * payload room itself when data is it (no copy), else a copy in a fresh
 * mapping.  Returns 1 queued (the writer's status then in *st), 0 if it
 * cannot be (no thread, no memory: the caller writes the frame itself). */
static int wq_push(ts_writer *w, const unsigned char *rec, const void *data, size_t n, ts_status *st)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), whole = n / page * page;
	if (!w->q && !wq_start(w, page))
		return 0;
	char *m = w->pmap;
	size_t map_len = w->pmap_len;
	if (data != m) {
		map_len = whole;
		if (!(m = fresh_map(whole)))
			return 0;
		memcpy(m, data, whole);
	}
	struct ts_wq *q = w->q;
	pthread_mutex_lock(&q->mu);
	while (q->count == WQ_DEPTH && !q->st)
		pthread_cond_wait(&q->cv, &q->mu);
	*st = wq_status(w);
	if (*st) {
		pthread_mutex_unlock(&q->mu);
		if (m != w->pmap)
			munmap(m, map_len);
		return 1;
	}
	struct wq_item *it = &q->it[(q->head + q->count) % WQ_DEPTH];
	pthread_mutex_unlock(&q->mu);
	/* the free item is the caller's until counted in; the mapping is the
	 * thread's from here */
	if (m == w->pmap)
		w->pmap = NULL;
	memcpy(it->rec, rec, FRAME_LEN);
	it->map = m;
	it->whole = whole;
	it->map_len = map_len;
	it->tail_len = n - whole;
	memcpy(it->tail, (const char *)data + whole, n - whole);
	pthread_mutex_lock(&q->mu);
	q->count++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 1;
}

void *ts_writer_payload(ts_writer *w)
{
	size_t n = (size_t)w->frame_bytes;
	if (w->pmap)
		return w->pmap;
	if (w->splice && w->level == 0 && n >= SPLICE_MIN) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (n + page - 1) / page * page;
		char *m = fresh_map(len);
		if (m) {
			w->pmap = m;
			w->pmap_len = len;
			return m;
		}
	}
	if (!w->pbuf)
		w->pbuf = malloc(n ? n : 1);
	return w->pbuf;
}

ts_status ts_write_frame(ts_writer *w, const void *data)
{
	return write_frame(w, data, 0, 0);
}

ts_status ts_write_frame_from(ts_writer *w, const ts_reader *r, const void *data)
{
	int ok = r->last_hash_ok && r->state != RS_FAILED && r->frame_bytes == w->frame_bytes;
	return write_frame(w, data, ok, r->last_hash);
}

static ts_status write_frame(ts_writer *w, const void *data, int have_hash, uint64_t hash)
{
	if (w->failed)
		return w->failed;
	unsigned char rec[FRAME_LEN];
	memset(rec, 0, sizeof rec);
	memcpy(rec, "FRAM", 4);
	const void *payload = data;
	size_t stored = (size_t)w->frame_bytes;
	if (w->level > 0) {
		size_t bound = ZSTD_compressBound(stored);
		if (w->zcap < bound) {
			void *z = realloc(w->zbuf, bound);
			if (!z)
				return wfail(w, TS_ERR_NOMEM, "out of memory for compression");
			w->zbuf = z;
			w->zcap = bound;
		}
		if (!w->cctx && !(w->cctx = ZSTD_createCCtx()))
			return wfail(w, TS_ERR_NOMEM, "out of memory for zstd");
		size_t n = ZSTD_compressCCtx(w->cctx, w->zbuf, w->zcap, data, stored, w->level);
		if (ZSTD_isError(n))
			return wfail(w, TS_ERR_ZSTD, "zstd: %s", ZSTD_getErrorName(n));
		/* a frame that does not shrink is stored as it is */
		if (n < stored) {
			rec[4] = CODEC_ZSTD;
			payload = w->zbuf;
			stored = n;
		}
	}
	put64(rec + 8, stored);
	put64(rec + 16, payload == data && have_hash ? hash : ts_xxh64(payload, stored, 0));
	put64(rec + 24, ts_xxh64(rec, 24, 0));
	struct iovec iov[2] = { { rec, FRAME_LEN }, { (void *)payload, stored } };
	ts_status st;
	if (w->splice && stored >= SPLICE_MIN && wq_push(w, rec, payload, stored, &st))
		;
	else if ((st = wq_drain(w)) == TS_OK)
		st = write_iov(w, iov, 2);
	if (!st)
		w->frames++;
	return st;
}

static void writer_free(ts_writer *w)
{
	wq_free(w);
	if (w->pmap)
		munmap(w->pmap, w->pmap_len);
	free(w->pbuf);
	ts_header_free(&w->h);
	ZSTD_freeCCtx(w->cctx);
	free(w->zbuf);
	free(w->name);
	free(w);
}

ts_status ts_writer_finish(ts_writer *w)
{
	ts_status st = wq_drain(w);
	if (!st) {
		unsigned char e[END_LEN];
		memset(e, 0, sizeof e);
		memcpy(e, "ENDS", 4);
		put64(e + 8, w->frames);
		put64(e + 16, ts_xxh64(e, 16, 0));
		struct iovec iov = { e, END_LEN };
		st = write_iov(w, &iov, 1);
		if (!st)  /* nothing may follow the end record */
			wfail(w, TS_ERR_ARG, "stream already finished");
	}
	return st;
}

void ts_writer_free(ts_writer *w)
{
	if (w)
		writer_free(w);
}

uint64_t ts_writer_frames(const ts_writer *w) { return w->frames; }
const char *ts_writer_error(const ts_writer *w) { return w ? w->err : "out of memory"; }
