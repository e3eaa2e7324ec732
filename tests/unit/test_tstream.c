/* Unit tests of the tensor stream format v1 (tstream(5)): XXH64 against the
 * reference implementation's values, the byte layout, round trips of every
 * element type and rank with and without compression, metadata,
 * concatenation and segment mode, and every corruption class with its own
 * status: a flip of every byte and a cut at every offset of small streams
 * must never read as a good stream nor hand out a wrong frame. */
#define _GNU_SOURCE  /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "check.h"
#include "tstream.h"

typedef struct {
	unsigned char *p;
	size_t n;
} bytes;

static _Noreturn void fatal(const char *what)
{
	printf("FAIL setup: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint32_t get32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static uint64_t rng_state = 0x243F6A8885A308D3ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* An in-memory regular file holding n bytes, positioned at 0. */
static int mem_fd(const void *p, size_t n)
{
	int fd = memfd_create("tstream-test", 0);
	if (fd < 0)
		fatal("memfd_create");
	const unsigned char *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k <= 0)
			fatal("write");
		c += k;
		n -= (size_t)k;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static bytes fd_contents(int fd)
{
	bytes b;
	off_t end = lseek(fd, 0, SEEK_END);
	b.n = (size_t)end;
	b.p = malloc(b.n + 1);
	if (!b.p || pread(fd, b.p, b.n, 0) != (ssize_t)b.n)
		fatal("pread");
	return b;
}

static bytes cat2(bytes a, bytes b)
{
	bytes c = { malloc(a.n + b.n + 1), a.n + b.n };
	memcpy(c.p, a.p, a.n);
	memcpy(c.p + a.n, b.p, b.n);
	return c;
}

static bytes dup_bytes(bytes a)
{
	bytes c = { malloc(a.n + 1), a.n };
	memcpy(c.p, a.p, a.n);
	return c;
}

/* kind 0: one element value repeated (compresses); 1: random bytes (does
 * not); 2: a ramp */
static void fill(unsigned char *p, size_t n, size_t esize, int kind, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		if (kind == 0)
			p[i] = (unsigned char)(0x40 + seed + (i % esize) * 3);
		else if (kind == 1)
			p[i] = (unsigned char)rng();
		else
			p[i] = (unsigned char)((i / esize) * (seed + 1) + (i % esize));
	}
}

static void header(ts_header *h, ts_dtype t, int rank, const uint64_t *dims)
{
	memset(h, 0, sizeof *h);
	ts_meta_init(&h->meta);
	ts_header_shape(h, t, rank, dims);
}

/* Writes nframes frames of data (consecutive) with level; finish adds the
 * end record. */
static bytes make_stream(const ts_header *h, int level, const unsigned char *data, int nframes, int finish)
{
	int fd = memfd_create("tstream-test", 0);
	if (fd < 0)
		fatal("memfd_create");
	ts_writer *w;
	ts_write_opts o = { level };
	ts_status st = ts_writer_open(&w, fd, "mem", h, &o);
	size_t fb = (size_t)ts_frame_bytes(h);
	for (int i = 0; i < nframes && !st; i++)
		st = ts_write_frame(w, data + i * fb);
	if (!st && finish)
		st = ts_writer_finish(w);
	if (st) {
		printf("FAIL setup: writing a stream: %s\n", ts_writer_error(w));
		exit(1);
	}
	ts_writer_free(w);
	bytes b = fd_contents(fd);
	close(fd);
	return b;
}

typedef struct {
	ts_status st;        /* what ended reading: TS_END or an error */
	int open_failed;
	uint64_t good;       /* frames handed out equal to the expected ones */
	uint64_t wrong;      /* frames handed out that were not (must be 0) */
	int sticky;          /* reading again after the end gives the same status */
	uint64_t frames;     /* ts_reader_frames at the end */
	char err[512];
} rres;

static rres read_stream(const unsigned char *p, size_t n, const unsigned char *want, uint64_t nwant, size_t fbytes)
{
	rres r;
	memset(&r, 0, sizeof r);
	int fd = mem_fd(p, n);
	ts_reader *rd;
	ts_status st = ts_reader_open(&rd, fd, "mem", 0);
	if (st) {
		r.st = st;
		r.open_failed = 1;
		snprintf(r.err, sizeof r.err, "%s", ts_reader_error(rd));
		ts_reader_close(rd);
		close(fd);
		return r;
	}
	size_t fb = (size_t)ts_frame_bytes(ts_reader_header(rd));
	unsigned char *buf = malloc(fb);
	if (!buf)
		fatal("malloc");
	while ((st = ts_read_frame(rd, buf)) == TS_OK) {
		uint64_t i = r.good + r.wrong;
		if (i < nwant && fb == fbytes && memcmp(buf, want + i * fbytes, fb) == 0)
			r.good++;
		else
			r.wrong++;
	}
	r.st = st;
	r.sticky = ts_read_frame(rd, buf) == st;
	r.frames = ts_reader_frames(rd);
	snprintf(r.err, sizeof r.err, "%s", ts_reader_error(rd));
	free(buf);
	ts_reader_close(rd);
	close(fd);
	return r;
}

static rres read_bytes(bytes b, const unsigned char *want, uint64_t nwant, size_t fbytes)
{
	return read_stream(b.p, b.n, want, nwant, fbytes);
}

/* ---------------------------------------------------------------- XXH64 */

static void test_xxh64(void)
{
	unsigned char abc[150];
	for (int i = 0; i < 150; i++)
		abc[i] = (unsigned char)"abc"[i % 3];
	check(ts_xxh64("", 0, 0) == 0xef46db3751d8e999ULL, "xxh64: empty input, seed 0");
	check(ts_xxh64(abc, 150, 0) == 0x2865de897884b1b9ULL, "xxh64: \"abc\" x 50, seed 0");
	check(ts_xxh64("abcdefghijk", 11, 0) == 0x814e257441cf78e0ULL, "xxh64: \"abcdefghijk\", seed 0");
	check(ts_xxh64("", 0, 1) == 0xd5afba1336a3be4bULL, "xxh64: empty input, seed 1");
	check(ts_xxh64("a", 1, 0xFFFFFFFFFFFFFFFFULL) == 0x60c43759873ece62ULL, "xxh64: \"a\", seed 2^64-1");
	/* bytes (7i+3) mod 256; values from the reference implementation
	 * (Python xxhash 3.x), for every tail path: 1-3 bytes, 4, 8, the
	 * 32-byte stripes and their remainders */
	static const struct { size_t n; uint64_t s0, s1; } v[] = {
		{ 1, 0x1f25c8d0bc1f4bb6ULL, 0x79826bcd749d267aULL },
		{ 3, 0x31d2363f52e564c9ULL, 0x78efd77575e26575ULL },
		{ 4, 0x9bb64b7d66ee9fdaULL, 0x6f0a6c97d68bf353ULL },
		{ 5, 0xc7608efddb7051feULL, 0xa677b535c22b67a5ULL },
		{ 7, 0x9a7b149959ce60d8ULL, 0xd97ede93c9d66a0dULL },
		{ 8, 0xdab99d95c6f90092ULL, 0xa2f1e28437a78a1bULL },
		{ 9, 0x170bb6bf975b4c02ULL, 0x9c9a3cd83532d84fULL },
		{ 15, 0x1b47cb8243cc8e32ULL, 0xe2ec50a544faec61ULL },
		{ 16, 0x434850232b787be2ULL, 0x93351859a7286376ULL },
		{ 17, 0x1efa7025f1b97a7aULL, 0x81d900d244223adcULL },
		{ 31, 0xa2aa5f33cc4a6119ULL, 0x755437271d1d0a84ULL },
		{ 32, 0x23c3c17ef790fd97ULL, 0xbf624b932c090428ULL },
		{ 33, 0x50a7cfc7ba588784ULL, 0x7aceaf1e9d34ea35ULL },
		{ 35, 0xa5b3456011d2913bULL, 0x5f3a81e47e467fe2ULL },
		{ 36, 0xc0b52b0dcc5e3f7fULL, 0xc2143dc58c007451ULL },
		{ 39, 0x880bbeea606e4b37ULL, 0xa5164dce04130ff3ULL },
		{ 40, 0xb620306b253d76b6ULL, 0x3b3666e250c83a50ULL },
		{ 63, 0x5e3e54b431c7493cULL, 0x2c8ddce5c85d0d9dULL },
		{ 64, 0x0eb64b3ef6eeb01fULL, 0x4af341f14e3a6fc9ULL },
		{ 65, 0xa383b724b2bd12f1ULL, 0x8e9e580645400102ULL },
		{ 100, 0xa61f8d4c170fe531ULL, 0xf6d8f65c625abb4fULL },
		{ 200, 0xa6cb3c09bc829b24ULL, 0x17e5f0aa6728f859ULL },
	};
	unsigned char d[201];
	for (int i = 0; i < 200; i++)
		d[i] = (unsigned char)(i * 7 + 3);
	const uint64_t seed = 0x9E3779B97F4A7C15ULL;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint64_t a = ts_xxh64(d, v[i].n, 0), b = ts_xxh64(d, v[i].n, seed);
		check(a == v[i].s0 && b == v[i].s1, "xxh64: %zu bytes, seeds 0 and 0x9E3779B97F4A7C15 (got %016llx %016llx)",
		      v[i].n, (unsigned long long)a, (unsigned long long)b);
	}
	/* alignment must not matter */
	unsigned char *u = malloc(256);
	int same = 1;
	for (int off = 1; off < 8; off++) {
		memcpy(u + off, d, 200);
		same &= ts_xxh64(u + off, 200, 0) == 0xa6cb3c09bc829b24ULL && ts_xxh64(u + off, 33, seed) == v[12].s1;
	}
	free(u);
	check(same, "xxh64: same value at every alignment");
}

/* ---------------------------------------------------------------- layout */

static void test_layout(void)
{
	ts_header h;
	header(&h, TS_U16, 2, (uint64_t[]){ 3, 5 });
	ts_meta_add(&h.meta, "source", "a");
	ts_meta_add(&h.meta, "range", "0 9");
	unsigned char data[2 * 30];
	fill(data, sizeof data, 2, 1, 0);
	bytes b = make_stream(&h, 0, data, 2, 1);
	const unsigned char *p = b.p;
	uint32_t mlen = 8 + 6 + 1 + 8 + 5 + 3;
	static const unsigned char magic[8] = { 0x89, 'T', 'N', 'S', 0x0D, 0x0A, 0x1A, 0x0A };
	check(memcmp(p, magic, 8) == 0, "layout: magic 89 'TNS' 0D 0A 1A 0A");
	check(p[8] == 1 && p[9] == 0 && p[10] == TS_U16 && p[11] == 2 && get32(p + 12) == 0,
	      "layout: version 1 (u16 LE), dtype, rank, flags 0 at bytes 8..15");
	check(get64(p + 16) == 3 && get64(p + 24) == 5 && get64(p + 32) == 0 && get64(p + 40) == 0,
	      "layout: four u64 dims at 16..47, unused 0");
	check(get32(p + 48) == mlen && get32(p + 52) == 0, "layout: meta_len %u at 48, reserved 0 at 52", mlen);
	check(get64(p + 56) == ts_xxh64(p, 56, 0), "layout: header checksum XXH64(bytes 0..55) at 56");
	const unsigned char *m = p + 64;
	check(get32(m) == 6 && get32(m + 4) == 1 && memcmp(m + 8, "source" "a", 7) == 0 && get32(m + 15) == 5 &&
	      get32(m + 19) == 3 && memcmp(m + 23, "range" "0 9", 8) == 0,
	      "layout: metadata entries (u32 key_len, u32 val_len, key, value) in order");
	check(get64(m + mlen) == ts_xxh64(m, mlen, 0), "layout: metadata checksum after the entries");
	const unsigned char *f = m + mlen + 8;
	int frames_ok = 1;
	for (int i = 0; i < 2; i++, f += 32 + 30) {
		frames_ok &= memcmp(f, "FRAM", 4) == 0 && f[4] == 0 && f[5] == 0 && f[6] == 0 && f[7] == 0 &&
		             get64(f + 8) == 30 && get64(f + 16) == ts_xxh64(data + 30 * i, 30, 0) &&
		             get64(f + 24) == ts_xxh64(f, 24, 0) && memcmp(f + 32, data + 30 * i, 30) == 0;
	}
	check(frames_ok, "layout: frame records \"FRAM\", codec 0, stored_len, payload XXH64, record XXH64, payload");
	check(f + 24 == p + b.n && memcmp(f, "ENDS", 4) == 0 && get32(f + 4) == 0 && get64(f + 8) == 2 &&
	      get64(f + 16) == ts_xxh64(f, 16, 0), "layout: end record \"ENDS\", 0, count 2, XXH64, end of stream");
	check(b.n == 64 + mlen + 8 + 2 * (32 + 30) + 24, "layout: stream of %zu bytes", b.n);
	free(b.p);

	/* compressed frame: codec 1 and the payload is one zstd frame */
	unsigned char z[600];
	memset(z, 7, sizeof z);
	ts_header hz;
	header(&hz, TS_U8, 1, (uint64_t[]){ 600 });
	bytes c = make_stream(&hz, 3, z, 1, 1);
	const unsigned char *zr = c.p + 72;
	uint64_t stored = get64(zr + 8);
	unsigned char out[600];
	size_t dn = stored < 600 ? ZSTD_decompress(out, sizeof out, zr + 32, (size_t)stored) : 0;
	check(zr[4] == 1 && stored < 600 && get64(zr + 16) == ts_xxh64(zr + 32, (size_t)stored, 0) && dn == 600 &&
	      memcmp(out, z, 600) == 0 && c.n == 72 + 32 + stored + 24,
	      "layout: zstd frame: codec 1, stored_len %llu, payload a zstd frame of the whole tensor",
	      (unsigned long long)stored);
	free(c.p);
	ts_header_free(&h);
	ts_header_free(&hz);

	/* the example of tstream(5), byte for byte */
	static const unsigned char man[152] = {
		0x89, 0x54, 0x4e, 0x53, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x14, 0x83, 0x57, 0x63, 0xbc, 0x7c, 0x64,
		0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x72, 0x61, 0x6e, 0x67, 0x65, 0x30, 0x20, 0x32,
		0x35, 0x35, 0x5c, 0x56, 0xa8, 0x90, 0x01, 0x2e, 0xfa, 0x99, 0x46, 0x52, 0x41, 0x4d, 0x00, 0x00,
		0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0xd0, 0xe8, 0x45, 0x60, 0x49,
		0x03, 0x7b, 0x68, 0xf2, 0x11, 0xf5, 0x5a, 0x03, 0xee, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
		0x45, 0x4e, 0x44, 0x53, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x7a, 0x92, 0xf8, 0x30, 0xc2, 0x34, 0xf6, 0xe6,
	};
	ts_header hm;
	header(&hm, TS_U8, 2, (uint64_t[]){ 2, 3 });
	ts_meta_set_range(&hm.meta, 0, 255);
	bytes e = make_stream(&hm, 0, (const unsigned char *)"\1\2\3\4\5\6", 1, 1);
	check(e.n == sizeof man && memcmp(e.p, man, sizeof man) == 0, "layout: the 152-byte example of tstream(5)");
	rres rm = read_stream(man, sizeof man, (const unsigned char *)"\1\2\3\4\5\6", 1, 6);
	check(rm.st == TS_END && rm.good == 1, "layout: the example reads back");
	free(e.p);
	ts_header_free(&hm);
}

/* ---------------------------------------------------------------- round trips */

static void test_roundtrips(void)
{
	static const ts_dtype types[] = { TS_U8, TS_U16, TS_I16, TS_F32, TS_F16 };
	static const uint64_t shapes[4][4] = { { 300 }, { 13, 17 }, { 3, 7, 11 }, { 2, 3, 5, 7 } };
	for (int ti = 0; ti < 5; ti++)
		for (int rank = 1; rank <= 4; rank++)
			for (int level = 0; level <= 19; level += 19) {
				int lv = level ? (ti % 2 ? 1 : 19) : 0;
				ts_header h;
				header(&h, types[ti], rank, shapes[rank - 1]);
				ts_meta_setf(&h.meta, "case", "%s rank %d level %d", ts_dtype_name(types[ti]), rank, lv);
				size_t es = ts_dtype_size(types[ti]), fb = (size_t)ts_frame_bytes(&h);
				enum { NF = 4 };
				unsigned char *data = malloc(NF * fb), *buf = malloc(fb);
				int kinds[NF] = { 0, 1, 2, 0 };
				for (int i = 0; i < NF; i++)
					fill(data + i * fb, fb, es, kinds[i], (unsigned)i);
				bytes b = make_stream(&h, lv, data, NF, 1);
				int fd = mem_fd(b.p, b.n);
				ts_reader *r;
				ts_status st = ts_reader_open(&r, fd, "mem", 0);
				int ok = st == TS_OK, comp_ok = 1, n = 0;
				const ts_header *rh = ok ? ts_reader_header(r) : NULL;
				ok = ok && rh->dtype == types[ti] && rh->rank == rank && ts_frame_bytes(rh) == fb &&
				     memcmp(rh->dims, h.dims, sizeof h.dims) == 0 && rh->meta.n == 1 &&
				     strcmp(ts_meta_get(&rh->meta, "case"), ts_meta_get(&h.meta, "case")) == 0;
				while (ok && (st = ts_read_frame(r, buf)) == TS_OK) {
					ok = n < NF && memcmp(buf, data + n * fb, fb) == 0;
					int want = lv == 0 ? 0 : kinds[n] == 0 ? 1 : kinds[n] == 1 ? 0 : -1;
					if (want >= 0 && ts_reader_last_compressed(r) != want)
						comp_ok = 0;
					n++;
				}
				ok = ok && st == TS_END && n == NF && ts_reader_frames(r) == NF && ts_read_frame(r, buf) == TS_END;
				check(ok && comp_ok, "round trip %s rank %d zstd level %d: %d frames equal%s (%zu bytes)",
				      ts_dtype_name(types[ti]), rank, lv, n,
				      lv ? ", constant frames compressed, random ones stored raw" : "", b.n);
				ts_reader_close(r);
				close(fd);
				free(b.p);
				free(data);
				free(buf);
				ts_header_free(&h);
			}
}

static void test_zero_frames(void)
{
	ts_header h;
	header(&h, TS_F32, 3, (uint64_t[]){ 1, 512, 512 });
	bytes b = make_stream(&h, 1, NULL, 0, 1);
	rres r = read_bytes(b, NULL, 0, 0);
	check(b.n == 64 + 8 + 24 && r.st == TS_END && r.good == 0 && r.wrong == 0 && r.sticky && r.frames == 0,
	      "zero frames: header + end record (%zu bytes) reads as TS_END", b.n);
	bytes c = make_stream(&h, 0, NULL, 0, 0);
	r = read_bytes(c, NULL, 0, 0);
	check(c.n == 72 && r.st == TS_ERR_TRUNCATED, "zero frames without an end record: TS_ERR_TRUNCATED (%s)", r.err);
	free(b.p);
	free(c.p);
	ts_header_free(&h);
}

static void test_meta_roundtrip(void)
{
	ts_header h;
	header(&h, TS_U8, 1, (uint64_t[]){ 4 });
	const char *vals[][2] = {
		{ "source", "Scan \xe6\x96\xad\xe5\xb1\x82 \xf0\x9f\xa9\xbb.h5" },
		{ "spacing", "0.7 0.7 \xc2\xb5m" },
		{ "range", "-1024 3071" },
		{ "range.meaning", "HU" },
		{ "empty", "" },
		{ "tabbed", "a\tb\r" },
	};
	for (int i = 0; i < 6; i++)
		ts_meta_add(&h.meta, vals[i][0], vals[i][1]);
	char *argv1[] = { "h5slice", "scan one.h5", "--range", "59:" };
	char *argv2[] = { "clipnorm", "--lo=-1000", "it's" };
	ts_meta_add_history(&h.meta, 4, argv1);
	ts_meta_add_history(&h.meta, 3, argv2);
	char big[4000];
	memset(big, 'v', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ts_meta_add(&h.meta, "long", big);
	bytes b = make_stream(&h, 0, (const unsigned char *)"abcd", 1, 1);
	int fd = mem_fd(b.p, b.n);
	ts_reader *r;
	int ok = ts_reader_open(&r, fd, "mem", 0) == TS_OK;
	const ts_meta *m = ok ? &ts_reader_header(r)->meta : NULL;
	ok = ok && m->n == h.meta.n;
	for (size_t i = 0; ok && i < m->n; i++)
		ok = strcmp(m->kv[i].key, h.meta.kv[i].key) == 0 && strcmp(m->kv[i].val, h.meta.kv[i].val) == 0;
	check(ok, "metadata round trip: %zu entries in order, UTF-8 values, empty value, 3999-byte value", h.meta.n);
	check(ok && strcmp(m->kv[6].val, "h5slice 'scan one.h5' --range 59:") == 0 &&
	      strcmp(m->kv[7].val, "clipnorm --lo=-1000 'it'\\''s'") == 0 && strcmp(ts_meta_get(m, "history"), m->kv[7].val) == 0,
	      "metadata round trip: two history lines, shell-quoted, in order");
	double lo, hi;
	check(ok && ts_meta_get_range(m, &lo, &hi) == 0 && lo == -1024 && hi == 3071 &&
	      strcmp(ts_meta_get(m, "range.meaning"), "HU") == 0, "metadata round trip: ts_meta_get_range -1024 3071");
	ts_reader_close(r);
	close(fd);
	free(b.p);

	/* the writer refuses what the reader would refuse, even when a program
	 * fills the list by hand */
	ts_header bad;
	header(&bad, TS_U8, 1, (uint64_t[]){ 4 });
	ts_meta_add(&bad.meta, "k", "v");
	free(bad.meta.kv[0].val);
	bad.meta.kv[0].val = strdup("two\nlines");
	ts_writer *w;
	int dn = open("/dev/null", O_WRONLY);
	ts_status st = ts_writer_open(&w, dn, "null", &bad, NULL);
	check(st == TS_ERR_ARG, "writer: a value with a newline put in by hand -> TS_ERR_ARG (%s)", ts_strerror(st));
	ts_writer_free(w);
	free(bad.meta.kv[0].key);
	bad.meta.kv[0].key = strdup("a b");
	free(bad.meta.kv[0].val);
	bad.meta.kv[0].val = strdup("v");
	st = ts_writer_open(&w, dn, "null", &bad, NULL);
	check(st == TS_ERR_ARG, "writer: a key with a space put in by hand -> TS_ERR_ARG (%s)", ts_strerror(st));
	ts_writer_free(w);
	ts_header_free(&bad);

	/* metadata limit: 16 MiB */
	ts_header hb;
	header(&hb, TS_U8, 1, (uint64_t[]){ 4 });
	char *huge = malloc(TS_MAX_META_BYTES);
	memset(huge, 'x', TS_MAX_META_BYTES - 1);
	huge[TS_MAX_META_BYTES - 1] = 0;
	ts_meta_add(&hb.meta, "huge", huge);
	st = ts_writer_open(&w, dn, "null", &hb, NULL);
	check(st == TS_ERR_LIMIT, "writer: metadata over 16 MiB -> TS_ERR_LIMIT (%s)", ts_strerror(st));
	ts_writer_free(w);
	ts_header_free(&hb);
	free(huge);
	close(dn);
	ts_header_free(&h);
}

/* Record offsets of a stream of one or more segments. */
typedef struct {
	size_t n;
	size_t off[64], len[64];
	char kind[64];  /* 'H' header+metadata, 'F' frame record (32 bytes + payload), 'E' end */
} layout;

static int walk(bytes b, layout *L)
{
	size_t pos = 0;
	L->n = 0;
	while (pos < b.n && L->n < 64) {
		size_t ml = get32(b.p + pos + 48);
		L->off[L->n] = pos;
		L->len[L->n] = 64 + ml + 8;
		L->kind[L->n++] = 'H';
		pos += 64 + ml + 8;
		while (L->n < 64) {
			L->off[L->n] = pos;
			if (memcmp(b.p + pos, "ENDS", 4) == 0) {
				L->len[L->n] = 24;
				L->kind[L->n++] = 'E';
				pos += 24;
				break;
			}
			L->len[L->n] = 32 + (size_t)get64(b.p + pos + 8);
			L->kind[L->n++] = 'F';
			pos += L->len[L->n - 1];
		}
	}
	return pos == b.n;
}

/* ---------------------------------------------------------------- concatenation */

static void test_concat(void)
{
	ts_header h;
	header(&h, TS_F32, 2, (uint64_t[]){ 4, 6 });
	size_t fb = 96;
	unsigned char data[6 * 96];
	for (int i = 0; i < 6; i++)
		fill(data + i * fb, fb, 4, i % 3, (unsigned)i);
	ts_meta_set(&h.meta, "source", "a");
	bytes a = make_stream(&h, 0, data, 3, 1);
	ts_meta_set(&h.meta, "source", "b");
	bytes b = make_stream(&h, 5, data + 3 * fb, 2, 1);
	bytes z = make_stream(&h, 0, NULL, 0, 1);
	bytes c = make_stream(&h, 1, data + 5 * fb, 1, 1);
	bytes ab = cat2(a, b), abz = cat2(ab, z), all = cat2(abz, c);
	rres r = read_bytes(all, data, 6, fb);
	check(r.st == TS_END && r.good == 6 && r.wrong == 0 && r.frames == 6,
	      "concat: 3 + 2 + 0 + 1 frames of like streams read as 6 (%s)", r.err);
	int fd = mem_fd(all.p, all.n);
	ts_reader *rd;
	ts_reader_open(&rd, fd, "mem", 0);
	unsigned char buf[96];
	while (ts_read_frame(rd, buf) == TS_OK)
		;
	const ts_meta *m = &ts_reader_header(rd)->meta;
	check(m->n == 1 && strcmp(ts_meta_get(m, "source"), "a") == 0, "concat: metadata of the first stream kept");
	ts_reader_close(rd);
	close(fd);

	/* the end record counts its own segment */
	bytes bad = dup_bytes(ab);
	unsigned char *e = bad.p + bad.n - 24;
	put64(e + 8, 5);
	put64(e + 16, ts_xxh64(e, 16, 0));
	r = read_bytes(bad, data, 6, fb);
	check(r.st == TS_ERR_COUNT && r.good == 5 && r.wrong == 0,
	      "concat: second end record with the running total (5) -> TS_ERR_COUNT (%s)", r.err);
	free(bad.p);

	/* another shape, another type */
	ts_header h2;
	header(&h2, TS_F32, 2, (uint64_t[]){ 6, 4 });
	bytes o = make_stream(&h2, 0, data, 1, 1);
	bytes ao = cat2(a, o);
	r = read_bytes(ao, data, 6, fb);
	char at[64];
	snprintf(at, sizeof at, "at byte %zu ", a.n);
	check(r.st == TS_ERR_INCOMPATIBLE && r.good == 3 && r.wrong == 0 && strstr(r.err, "f32 6x4") &&
	      strstr(r.err, "f32 4x6") && strstr(r.err, at),
	      "concat: f32 4x6 then f32 6x4 -> TS_ERR_INCOMPATIBLE after 3 frames, naming the second header's offset (%s)",
	      r.err);
	free(ao.p);
	free(o.p);
	ts_header h3;
	header(&h3, TS_I16, 2, (uint64_t[]){ 4, 12 });
	o = make_stream(&h3, 0, data, 1, 1);
	ao = cat2(a, o);
	r = read_bytes(ao, data, 6, fb);
	check(r.st == TS_ERR_INCOMPATIBLE && r.good == 3 && r.wrong == 0,
	      "concat: same frame bytes but i16 4x12 -> TS_ERR_INCOMPATIBLE (%s)", r.err);
	free(ao.p);
	free(o.p);
	header(&h3, TS_F32, 3, (uint64_t[]){ 1, 4, 6 });
	o = make_stream(&h3, 0, data, 1, 1);
	ao = cat2(a, o);
	r = read_bytes(ao, data, 6, fb);
	check(r.st == TS_ERR_INCOMPATIBLE && r.good == 3, "concat: f32 1x4x6 after f32 4x6 -> TS_ERR_INCOMPATIBLE (%s)",
	      r.err);

	/* segment mode: differently shaped segments one after another */
	ts_header hs[4];
	header(&hs[0], TS_F32, 2, (uint64_t[]){ 2, 3 });
	header(&hs[1], TS_U8, 1, (uint64_t[]){ 5 });
	header(&hs[2], TS_I16, 3, (uint64_t[]){ 2, 2, 2 });
	header(&hs[3], TS_F16, 4, (uint64_t[]){ 1, 1, 1, 3 });
	int nf[4] = { 2, 1, 0, 2 };
	unsigned char sd[4][2 * 24];  /* frames of each segment, consecutive */
	bytes seg = { NULL, 0 };
	for (int s = 0; s < 4; s++) {
		ts_meta_setf(&hs[s].meta, "name", "tensor%d", s);
		fill(sd[s], sizeof sd[s], ts_dtype_size(hs[s].dtype), 1, 0);
		bytes one = make_stream(&hs[s], s == 3 ? 3 : 0, sd[s], nf[s], 1);
		bytes next = seg.p ? cat2(seg, one) : dup_bytes(one);
		free(seg.p);
		free(one.p);
		seg = next;
	}
	fd = mem_fd(seg.p, seg.n);
	ts_reader_open(&rd, fd, "mem", TS_R_SEGMENTS);
	int ok = 1;
	char trace[256] = "";
	for (int s = 0; s < 4 && ok; s++) {
		const ts_header *sh = ts_reader_header(rd);
		char name[16];
		snprintf(name, sizeof name, "tensor%d", s);
		ok = sh->dtype == hs[s].dtype && sh->rank == hs[s].rank &&
		     memcmp(sh->dims, hs[s].dims, sizeof sh->dims) == 0 && sh->meta.n == 1 &&
		     strcmp(ts_meta_get(&sh->meta, "name"), name) == 0;
		unsigned char fbuf[24];
		size_t sfb = (size_t)ts_frame_bytes(sh);
		for (int i = 0; ok && i < nf[s]; i++)
			ok = ts_read_frame(rd, fbuf) == TS_OK && memcmp(fbuf, sd[s] + i * sfb, sfb) == 0;
		ok = ok && ts_read_frame(rd, fbuf) == TS_SEGMENT_END && ts_read_frame(rd, fbuf) == TS_SEGMENT_END;
		if (s < 3)
			ok = ok && ts_reader_next_segment(rd) == TS_OK;
		snprintf(trace + strlen(trace), sizeof trace - strlen(trace), " %d:%s", s, ok ? "ok" : "bad");
	}
	ts_status last = ts_reader_next_segment(rd);
	unsigned char dummy[64];
	check(ok && last == TS_END && ts_read_frame(rd, dummy) == TS_END && ts_reader_frames(rd) == 5,
	      "segments: f32 2x3, u8 5, i16 2x2x2 (0 frames), f16 1x1x1x3 (zstd) read with their own headers and metadata (%s)",
	      trace);
	ts_reader_close(rd);
	close(fd);
	fd = mem_fd(seg.p, seg.n);
	ts_reader_open(&rd, fd, "mem", TS_R_SEGMENTS);
	check(ts_reader_next_segment(rd) == TS_ERR_ARG, "segments: next_segment before the end record -> TS_ERR_ARG");
	ts_reader_close(rd);
	close(fd);
	r = read_bytes(seg, sd[0], 2, 24);
	check(r.st == TS_ERR_INCOMPATIBLE && r.good == 2 && r.wrong == 0,
	      "segments: the same bytes without TS_R_SEGMENTS -> TS_ERR_INCOMPATIBLE after 2 frames");
	/* segment mode still checks every end record */
	bytes sb = dup_bytes(seg);
	layout L;
	walk(sb, &L);
	size_t first_end = 0;
	for (size_t k = 0; k < L.n && !first_end; k++)
		if (L.kind[k] == 'E')
			first_end = L.off[k];
	put64(sb.p + first_end + 8, 1);
	put64(sb.p + first_end + 16, ts_xxh64(sb.p + first_end, 16, 0));
	fd = mem_fd(sb.p, sb.n);
	ts_reader_open(&rd, fd, "mem", TS_R_SEGMENTS);
	ts_read_frame(rd, dummy);
	ts_read_frame(rd, dummy);
	ts_status st = ts_read_frame(rd, dummy);
	check(first_end == 64 + 19 + 8 + 2 * 56 && st == TS_ERR_COUNT && ts_reader_next_segment(rd) == TS_ERR_COUNT,
	      "segments: end record count mismatch -> TS_ERR_COUNT, and it sticks");
	ts_reader_close(rd);
	close(fd);
	free(sb.p);
	for (int s = 0; s < 4; s++)
		ts_header_free(&hs[s]);
	free(seg.p);
	free(ao.p);
	free(o.p);
	free(a.p);
	free(b.p);
	free(z.p);
	free(c.p);
	free(ab.p);
	free(abz.p);
	free(all.p);
	ts_header_free(&h);
	ts_header_free(&h2);
	ts_header_free(&h3);
}

/* ---------------------------------------------------------------- corruption */

/* The status a flip at byte i must give: the magic is checked first, then
 * the version (a newer version may lay its header out differently), then
 * the checksums; a record tag that is neither FRAM nor ENDS is corrupt. */
static ts_status flip_expect(const layout *L, size_t i)
{
	for (size_t k = 0; k < L->n; k++) {
		if (i < L->off[k] || i >= L->off[k] + L->len[k])
			continue;
		size_t at = i - L->off[k];
		if (L->kind[k] == 'H')
			return at < 8 ? TS_ERR_MAGIC : at < 10 ? TS_ERR_VERSION : TS_ERR_CHECKSUM;
		return at < 4 ? TS_ERR_CORRUPT : TS_ERR_CHECKSUM;
	}
	return TS_OK;
}

static void flip_test(const char *name, bytes b, const unsigned char *frames, uint64_t nframes, size_t fb)
{
	layout L;
	int walked = walk(b, &L);
	long trials = 0, bad_status = 0, wrong_frames = 0, not_sticky = 0, good_read = 0;
	char first[1024] = "";
	static const unsigned char masks[] = { 0x01, 0x80, 0xFF, 0x10 };
	for (size_t i = 0; i < b.n; i++)
		for (int mi = 0; mi < 4; mi++) {
			bytes c = dup_bytes(b);
			c.p[i] ^= masks[mi];
			rres r = read_bytes(c, frames, nframes, fb);
			ts_status want = flip_expect(&L, i);
			trials++;
			if (r.st == TS_END || r.st == TS_OK)
				good_read++;
			if (r.wrong)
				wrong_frames++;
			if (!r.sticky && !r.open_failed)
				not_sticky++;
			if (r.st != want && bad_status++ == 0)
				snprintf(first, sizeof first, "byte %zu ^ 0x%02X: %s, wanted %s (%s)", i, masks[mi],
				         ts_strerror(r.st), ts_strerror(want), r.err);
			free(c.p);
		}
	check(walked && good_read == 0, "flip %s: none of %ld one-byte corruptions of %zu bytes reads as a good stream",
	      name, trials, b.n);
	check(walked && wrong_frames == 0, "flip %s: no corrupted stream hands out a wrong frame", name);
	check(walked && bad_status == 0,
	      "flip %s: status by region (magic, version, header/metadata/frame/payload/end checksums, record tags)%s%s",
	      name, bad_status ? ": first bad: " : "", first);
	check(not_sticky == 0, "flip %s: the error sticks on the next read", name);
}

static void cut_test(const char *name, bytes b, const unsigned char *frames, uint64_t nframes, size_t fb,
                     size_t clean_cut)
{
	layout L;
	int walked = walk(b, &L);
	long bad = 0, wrong = 0;
	char first[1024] = "";
	for (size_t cut = 0; cut < b.n; cut++) {
		rres r = read_stream(b.p, cut, frames, nframes, fb);
		/* frames complete before the cut must come out, then the error */
		uint64_t complete = 0;
		for (size_t k = 0; k < L.n; k++)
			if (L.kind[k] == 'F' && L.off[k] + L.len[k] <= cut)
				complete++;
		ts_status want = cut == 0 ? TS_ERR_EMPTY : cut == clean_cut ? TS_END : TS_ERR_TRUNCATED;
		if (r.wrong)
			wrong++;
		if ((r.st != want || r.good != complete) && bad++ == 0)
			snprintf(first, sizeof first, "cut at %zu: %s after %llu frames, wanted %s after %llu (%s)", cut,
			         ts_strerror(r.st), (unsigned long long)r.good, ts_strerror(want),
			         (unsigned long long)complete, r.err);
	}
	check(walked && bad == 0, "cut %s: every cut of %zu bytes gives TS_ERR_TRUNCATED (EMPTY at 0) after the complete frames%s%s",
	      name, b.n, bad ? ": " : "", first);
	check(wrong == 0, "cut %s: no cut stream hands out a wrong frame", name);
}

static void test_flips_and_cuts(void)
{
	ts_header h;
	header(&h, TS_F32, 2, (uint64_t[]){ 3, 4 });
	ts_meta_add(&h.meta, "range", "0 1");
	ts_meta_add(&h.meta, "history", "tsgen -n 3");
	unsigned char raw[3 * 48];
	for (int i = 0; i < 3; i++)
		fill(raw + 48 * i, 48, 4, 1, 0);
	bytes a = make_stream(&h, 0, raw, 3, 1);
	flip_test("raw f32 3x4, 3 frames", a, raw, 3, 48);
	cut_test("raw f32 3x4, 3 frames", a, raw, 3, 48, (size_t)-1);

	ts_header hz;
	header(&hz, TS_U16, 2, (uint64_t[]){ 8, 8 });
	ts_meta_add(&hz.meta, "source", "\xc2\xb5");
	unsigned char zd[3 * 128];
	fill(zd, 128, 2, 0, 1);
	fill(zd + 128, 128, 2, 1, 0);
	fill(zd + 256, 128, 2, 2, 3);
	bytes z = make_stream(&hz, 1, zd, 3, 1);
	layout L;
	walk(z, &L);
	check(L.n == 5 && get64(z.p + L.off[1] + 8) < 128 && z.p[L.off[1] + 4] == 1 && z.p[L.off[2] + 4] == 0,
	      "flip set-up: zstd stream has a compressed and a raw frame");
	flip_test("zstd u16 8x8, 3 frames", z, zd, 3, 128);
	cut_test("zstd u16 8x8, 3 frames", z, zd, 3, 128, (size_t)-1);

	ts_header_free(&h);
	header(&h, TS_F32, 2, (uint64_t[]){ 3, 4 });
	bytes b = make_stream(&h, 2, raw, 2, 1);
	bytes ab = cat2(a, b);
	unsigned char both[5 * 48];
	memcpy(both, raw, 3 * 48);
	memcpy(both + 3 * 48, raw, 2 * 48);
	flip_test("concatenated 3 + 2 frames", ab, both, 5, 48);
	cut_test("concatenated 3 + 2 frames", ab, both, 5, 48, a.n);
	free(a.p);
	free(b.p);
	free(ab.p);
	free(z.p);
	ts_header_free(&h);
	ts_header_free(&hz);
}

/* A header (with checksum) + raw metadata bytes (with checksum) + an end
 * record for zero frames. */
static bytes craft(int dtype, int rank, const uint64_t dims[4], const void *meta, uint32_t mlen)
{
	bytes b = { calloc(1, 64 + mlen + 8 + 24), 64 + mlen + 8 + 24 };
	static const unsigned char magic[8] = { 0x89, 'T', 'N', 'S', 0x0D, 0x0A, 0x1A, 0x0A };
	memcpy(b.p, magic, 8);
	b.p[8] = 1;
	b.p[10] = (unsigned char)dtype;
	b.p[11] = (unsigned char)rank;
	for (int i = 0; i < 4; i++)
		put64(b.p + 16 + 8 * i, dims[i]);
	put32(b.p + 48, mlen);
	put64(b.p + 56, ts_xxh64(b.p, 56, 0));
	if (mlen)
		memcpy(b.p + 64, meta, mlen);
	put64(b.p + 64 + mlen, ts_xxh64(b.p + 64, mlen, 0));
	unsigned char *e = b.p + 64 + mlen + 8;
	memcpy(e, "ENDS", 4);
	put64(e + 16, ts_xxh64(e, 16, 0));
	return b;
}

static void fix_header(bytes b) { put64(b.p + 56, ts_xxh64(b.p, 56, 0)); }
static void fix_record(unsigned char *rec, int payload)
{
	if (payload)
		put64(rec + 16, ts_xxh64(rec + 32, (size_t)get64(rec + 8), 0));
	put64(rec + 24, ts_xxh64(rec, 24, 0));
}

#define EXPECT(name, b, want, nframes)                                                                       \
	do {                                                                                                       \
		rres r_ = read_bytes((b), NULL, 0, 0);                                                             \
		check(r_.st == (want) && r_.good + r_.wrong == (nframes), "%s -> %s after %d frames (got %s: %s)", \
		      (name), ts_strerror(want), (nframes), ts_strerror(r_.st), r_.err);                          \
	} while (0)

static void test_corruptions(void)
{
	ts_header h;
	header(&h, TS_U8, 2, (uint64_t[]){ 16, 16 });
	unsigned char d[3 * 256];
	fill(d, 256, 1, 1, 0);
	fill(d + 256, 256, 1, 0, 0);
	fill(d + 512, 256, 1, 1, 0);
	bytes s = make_stream(&h, 0, d, 3, 1);  /* frames at 72, 360, 648; end at 936 */
	bytes z = make_stream(&h, 1, d, 3, 1);
	layout Lz;
	walk(z, &Lz);
	bytes c;

	c = (bytes){ (unsigned char *)"", 0 };
	EXPECT("empty input", c, TS_ERR_EMPTY, 0);
	unsigned char png[16] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A };
	c = (bytes){ png, 16 };
	EXPECT("PNG signature", c, TS_ERR_MAGIC, 0);
	c = (bytes){ (unsigned char *)"abc", 3 };
	EXPECT("3 bytes of text", c, TS_ERR_MAGIC, 0);
	c = (bytes){ s.p, 5 };
	EXPECT("5 bytes of the magic", c, TS_ERR_TRUNCATED, 0);

	c = dup_bytes(s);
	c.p[8] = 2;
	fix_header(c);
	EXPECT("version 2 (checksum fixed)", c, TS_ERR_VERSION, 0);
	c.p[8] = 0;
	fix_header(c);
	EXPECT("version 0 (checksum fixed)", c, TS_ERR_VERSION, 0);
	c.p[8] = 1;
	c.p[9] = 1;
	fix_header(c);
	EXPECT("version 257 (checksum fixed)", c, TS_ERR_VERSION, 0);
	c.p[9] = 0;
	c.p[8] = 2;
	EXPECT("version 2 (checksum not fixed: the version is read first)", c, TS_ERR_VERSION, 0);
	c.p[8] = 1;
	c.p[12] = 1;
	fix_header(c);
	EXPECT("flags 1 (checksum fixed)", c, TS_ERR_VERSION, 0);
	c.p[12] = 0;
	c.p[55] = 0x80;
	fix_header(c);
	EXPECT("reserved header word set (checksum fixed)", c, TS_ERR_VERSION, 0);
	c.p[55] = 0;
	c.p[10] = 0;
	fix_header(c);
	EXPECT("dtype 0 (checksum fixed)", c, TS_ERR_DIMS, 0);
	c.p[10] = 6;
	fix_header(c);
	EXPECT("dtype 6 (checksum fixed)", c, TS_ERR_DIMS, 0);
	c.p[10] = TS_U8;
	c.p[11] = 0;
	fix_header(c);
	EXPECT("rank 0 (checksum fixed)", c, TS_ERR_DIMS, 0);
	c.p[11] = 5;
	fix_header(c);
	EXPECT("rank 5 (checksum fixed)", c, TS_ERR_DIMS, 0);
	c.p[11] = 2;
	put64(c.p + 24, 0);
	fix_header(c);
	EXPECT("dimension 0 (checksum fixed)", c, TS_ERR_DIMS, 0);
	put64(c.p + 24, 16);
	put64(c.p + 32, 1);
	fix_header(c);
	EXPECT("dimension past the rank (checksum fixed)", c, TS_ERR_DIMS, 0);
	put64(c.p + 32, 0);
	put64(c.p + 16, (uint64_t)1 << 40);
	put64(c.p + 24, (uint64_t)1 << 40);
	fix_header(c);
	EXPECT("dims 2^40 x 2^40 (checksum fixed)", c, TS_ERR_LIMIT, 0);
	put64(c.p + 16, (uint64_t)1 << 24);
	put64(c.p + 24, (uint64_t)1 << 24);
	fix_header(c);
	EXPECT("dims 2^24 x 2^24 = 256 TiB (checksum fixed)", c, TS_ERR_LIMIT, 0);
	put64(c.p + 16, 16);
	put64(c.p + 24, 16);
	put32(c.p + 48, TS_MAX_META_BYTES + 1);
	fix_header(c);
	EXPECT("meta_len 16 MiB + 1 (checksum fixed)", c, TS_ERR_LIMIT, 0);
	put32(c.p + 48, 0xFFFFFFFFu);
	fix_header(c);
	EXPECT("meta_len 2^32-1 (checksum fixed)", c, TS_ERR_LIMIT, 0);
	put32(c.p + 48, 24);
	fix_header(c);
	EXPECT("meta_len past the real metadata (checksum fixed)", c, TS_ERR_CHECKSUM, 0);
	free(c.p);

	/* metadata contents, both checksums right */
	uint64_t dims[4] = { 4, 0, 0, 0 };
	unsigned char m[64];
	c = craft(TS_U8, 1, dims, NULL, 0);
	EXPECT("crafted header, no metadata, 0 frames", c, TS_END, 0);
	free(c.p);
	put32(m, 1), put32(m + 4, 2), memcpy(m + 8, "k\xff\xfe", 3);
	c = craft(TS_U8, 1, dims, m, 11);
	EXPECT("metadata value not UTF-8", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 1), put32(m + 4, 3), memcpy(m + 8, "ka\nb", 4);
	c = craft(TS_U8, 1, dims, m, 12);
	EXPECT("metadata value with a newline", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 1), put32(m + 4, 3), memcpy(m + 8, "ka\0b", 4);
	c = craft(TS_U8, 1, dims, m, 12);
	EXPECT("metadata value with a NUL", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 3), put32(m + 4, 1), memcpy(m + 8, "a bv", 4);
	c = craft(TS_U8, 1, dims, m, 12);
	EXPECT("metadata key with a space", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 3), put32(m + 4, 1), memcpy(m + 8, "a\0bv", 4);
	c = craft(TS_U8, 1, dims, m, 12);
	EXPECT("metadata key with a NUL", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 0), put32(m + 4, 1), memcpy(m + 8, "v", 1);
	c = craft(TS_U8, 1, dims, m, 9);
	EXPECT("metadata key of length 0", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 5), put32(m + 4, 0), memcpy(m + 8, "abc", 3);
	c = craft(TS_U8, 1, dims, m, 11);
	EXPECT("metadata key longer than the metadata", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 1), put32(m + 4, 0xFFFFFFFFu), memcpy(m + 8, "kv", 2);
	c = craft(TS_U8, 1, dims, m, 10);
	EXPECT("metadata value length 2^32-1", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 1), put32(m + 4, 1), memcpy(m + 8, "kv", 2), put32(m + 10, 1);
	c = craft(TS_U8, 1, dims, m, 14);
	EXPECT("metadata entry header cut short", c, TS_ERR_CORRUPT, 0);
	free(c.p);
	put32(m, 1), put32(m + 4, 1), memcpy(m + 8, "kv", 2), put32(m + 10, 1), put32(m + 14, 0), memcpy(m + 18, "k", 1);
	c = craft(TS_U8, 1, dims, m, 19);
	EXPECT("metadata: repeated key, empty value", c, TS_END, 0);
	free(c.p);
	unsigned char key256[8 + 256];
	put32(key256, 256), put32(key256 + 4, 0), memset(key256 + 8, 'k', 256);
	c = craft(TS_U8, 1, dims, key256, sizeof key256);
	EXPECT("metadata key of 256 bytes", c, TS_ERR_CORRUPT, 0);
	free(c.p);

	/* frame records, record checksum (and payload checksum) fixed */
	c = dup_bytes(s);
	c.p[360 + 4] = 2;
	fix_record(c.p + 360, 0);
	EXPECT("codec 2 in frame 1", c, TS_ERR_VERSION, 1);
	c.p[360 + 4] = 0;
	c.p[360 + 7] = 1;
	fix_record(c.p + 360, 0);
	EXPECT("reserved byte set in frame 1", c, TS_ERR_CORRUPT, 1);
	c.p[360 + 7] = 0;
	put64(c.p + 360 + 8, 255);
	fix_record(c.p + 360, 1);
	EXPECT("raw frame 1 with stored_len 255 of 256", c, TS_ERR_CORRUPT, 1);
	put64(c.p + 360 + 8, 256);
	fix_record(c.p + 360, 1);
	memcpy(c.p + 360, "FRAX", 4);
	EXPECT("unknown record tag", c, TS_ERR_CORRUPT, 1);
	memcpy(c.p + 360, "FRAM", 4);
	c.p[360 + 100] ^= 4;
	rres rr = read_bytes(c, d, 3, 256);
	check(rr.st == TS_ERR_CHECKSUM && rr.good == 1 && rr.wrong == 0 && strstr(rr.err, "mem") &&
	      strstr(rr.err, "frame 1"), "payload flip in frame 1 -> TS_ERR_CHECKSUM, message names stream and frame (%s)",
	      rr.err);
	c.p[360 + 100] ^= 4;
	put64(c.p + 936 + 8, 4);
	put64(c.p + 936 + 16, ts_xxh64(c.p + 936, 16, 0));
	EXPECT("end record count 4 of 3 (checksum fixed)", c, TS_ERR_COUNT, 3);
	put64(c.p + 936 + 8, 2);
	put64(c.p + 936 + 16, ts_xxh64(c.p + 936, 16, 0));
	EXPECT("end record count 2 of 3 (checksum fixed)", c, TS_ERR_COUNT, 3);
	put64(c.p + 936 + 8, 3);
	put32(c.p + 936 + 4, 1);
	put64(c.p + 936 + 16, ts_xxh64(c.p + 936, 16, 0));
	EXPECT("end record reserved word set (checksum fixed)", c, TS_ERR_CORRUPT, 3);
	free(c.p);
	c = make_stream(&h, 0, NULL, 0, 1);
	put64(c.p + 72 + 8, 1);
	put64(c.p + 72 + 16, ts_xxh64(c.p + 72, 16, 0));
	EXPECT("zero-frame stream whose end record says 1", c, TS_ERR_COUNT, 0);
	free(c.p);
	c = make_stream(&h, 0, d, 3, 0);
	EXPECT("stream without its end record", c, TS_ERR_TRUNCATED, 3);
	free(c.p);

	/* compressed frames */
	size_t z1 = Lz.off[2];  /* the constant frame, compressed */
	check(z.p[z1 + 4] == 1, "zstd set-up: frame 1 is compressed (%llu bytes)", (unsigned long long)get64(z.p + z1 + 8));
	c = dup_bytes(z);
	put64(c.p + z1 + 8, 0);
	fix_record(c.p + z1, 0);
	EXPECT("zstd frame with stored_len 0", c, TS_ERR_CORRUPT, 1);
	free(c.p);
	c = dup_bytes(z);
	put64(c.p + z1 + 8, ZSTD_compressBound(256) + 1);
	fix_record(c.p + z1, 0);
	EXPECT("zstd frame longer than ZSTD_compressBound", c, TS_ERR_CORRUPT, 1);
	free(c.p);
	c = dup_bytes(z);
	for (size_t i = 0; i < get64(c.p + z1 + 8); i++)
		c.p[z1 + 32 + i] ^= 0x5A;
	fix_record(c.p + z1, 1);
	EXPECT("zstd payload garbage (checksums fixed)", c, TS_ERR_ZSTD, 1);
	free(c.p);
	/* a valid zstd frame of the wrong size */
	unsigned char small[64];
	size_t sn = ZSTD_compress(small, sizeof small, d + 256, 128, 1);
	unsigned char *zz = malloc(z.n + 64);
	size_t zs = (size_t)get64(z.p + z1 + 8);
	memcpy(zz, z.p, z1 + 32);
	memcpy(zz + z1 + 32, small, sn);
	memcpy(zz + z1 + 32 + sn, z.p + z1 + 32 + zs, z.n - (z1 + 32 + zs));
	put64(zz + z1 + 8, sn);
	fix_record(zz + z1, 1);
	c = (bytes){ zz, z.n - zs + sn };
	EXPECT("zstd frame that holds 128 of 256 bytes (checksums fixed)", c, TS_ERR_ZSTD, 1);
	free(zz);

	/* what follows an end record */
	unsigned char tail[16] = "garbage!garbage";
	bytes t = { tail, 16 };
	c = cat2(s, t);
	EXPECT("garbage after the end record", c, TS_ERR_MAGIC, 3);
	free(c.p);
	t.n = 1;
	t.p = (unsigned char *)"\n";
	c = cat2(s, t);
	EXPECT("a newline after the end record", c, TS_ERR_MAGIC, 3);
	free(c.p);
	t = (bytes){ s.p, 3 };
	c = cat2(s, t);
	EXPECT("3 bytes of a magic after the end record", c, TS_ERR_TRUNCATED, 3);
	free(c.p);
	t = (bytes){ s.p, 72 };
	c = cat2(s, t);
	EXPECT("a second header without frames or end record", c, TS_ERR_TRUNCATED, 3);
	free(c.p);
	unsigned char zeros[64] = { 0 };
	t = (bytes){ zeros, 64 };
	c = cat2(s, t);
	EXPECT("zero bytes after the end record", c, TS_ERR_MAGIC, 3);
	free(c.p);

	free(s.p);
	free(z.p);
	ts_header_free(&h);
}

/* ---------------------------------------------------------------- limits */

static void test_limits(void)
{
	unsetenv("TOMOGAN_MAX_FRAME_MB");
	ts_header h;
	header(&h, TS_F32, 2, (uint64_t[]){ 1024, 1024 });  /* 4 MiB */
	unsigned char *d = calloc(1, 4 << 20);
	bytes b = make_stream(&h, 0, d, 1, 1);
	rres r = read_bytes(b, d, 1, 4 << 20);
	check(r.st == TS_END && r.good == 1, "limit: a 4 MiB frame reads under the default limit");
	setenv("TOMOGAN_MAX_FRAME_MB", "1", 1);
	r = read_bytes(b, d, 1, 4 << 20);
	check(r.st == TS_ERR_LIMIT && r.open_failed && strstr(r.err, "1 MiB"),
	      "limit: TOMOGAN_MAX_FRAME_MB=1 -> TS_ERR_LIMIT on a 4 MiB frame (%s)", r.err);
	ts_writer *w;
	int dn = open("/dev/null", O_WRONLY);
	ts_status st = ts_writer_open(&w, dn, "null", &h, NULL);
	check(st == TS_ERR_LIMIT, "limit: the writer refuses a frame over TOMOGAN_MAX_FRAME_MB too (%s: %s)",
	      ts_strerror(st), ts_writer_error(w));
	ts_writer_free(w);
	setenv("TOMOGAN_MAX_FRAME_MB", "4", 1);
	r = read_bytes(b, d, 1, 4 << 20);
	check(r.st == TS_END && r.good == 1, "limit: TOMOGAN_MAX_FRAME_MB=4 allows exactly 4 MiB");
	unsetenv("TOMOGAN_MAX_FRAME_MB");
	close(dn);
	free(b.p);
	free(d);
	ts_header_free(&h);
}

/* ---------------------------------------------------------------- rewind, pipes, writer */

static void test_rewind(void)
{
	ts_header h;
	header(&h, TS_I16, 3, (uint64_t[]){ 2, 3, 4 });
	unsigned char d[3 * 48], buf[48];
	fill(d, sizeof d, 2, 1, 0);
	bytes s = make_stream(&h, 0, d, 3, 1);
	/* the stream starts 10 bytes into the file */
	unsigned char *p = malloc(s.n + 10);
	memcpy(p, "0123456789", 10);
	memcpy(p + 10, s.p, s.n);
	int fd = mem_fd(p, s.n + 10);
	lseek(fd, 10, SEEK_SET);
	ts_reader *r;
	int ok = ts_reader_open(&r, fd, "mem", 0) == TS_OK && ts_reader_seekable(r);
	ok = ok && ts_read_frame(r, buf) == TS_OK && ts_read_frame(r, buf) == TS_OK && ts_reader_frames(r) == 2;
	ok = ok && ts_reader_rewind(r) == TS_OK && ts_reader_frames(r) == 0;
	int n = 0;
	ts_status st;
	while (ok && (st = ts_read_frame(r, buf)) == TS_OK)
		ok = memcmp(buf, d + 48 * n++, 48) == 0;
	ok = ok && st == TS_END && n == 3;
	ok = ok && ts_reader_rewind(r) == TS_OK && ts_read_frame(r, buf) == TS_OK && memcmp(buf, d, 48) == 0;
	check(ok, "rewind: a regular file (stream 10 bytes in) is read again from its start, also after TS_END");
	ts_reader_close(r);
	close(fd);

	/* rewind after an error reads the good frames again */
	p[10 + 72 + 80 + 40] ^= 1;  /* payload of frame 1 */
	fd = mem_fd(p + 10, s.n);
	ok = ts_reader_open(&r, fd, "mem", 0) == TS_OK && ts_read_frame(r, buf) == TS_OK &&
	     ts_read_frame(r, buf) == TS_ERR_CHECKSUM && ts_reader_rewind(r) == TS_OK &&
	     ts_read_frame(r, buf) == TS_OK && memcmp(buf, d, 48) == 0 && ts_read_frame(r, buf) == TS_ERR_CHECKSUM;
	check(ok, "rewind: after TS_ERR_CHECKSUM the reader starts over");
	ts_reader_close(r);
	close(fd);
	free(p);

	/* a pipe cannot rewind */
	int pfd[2];
	if (pipe(pfd))
		fatal("pipe");
	if (write(pfd[1], s.p, s.n) != (ssize_t)s.n)
		fatal("write");
	close(pfd[1]);
	ok = ts_reader_open(&r, pfd[0], "-", 0) == TS_OK && !ts_reader_seekable(r) && ts_read_frame(r, buf) == TS_OK;
	st = ts_reader_rewind(r);
	check(ok && st == TS_ERR_IO && strncmp(ts_reader_error(r), "stdin: ", 7) == 0,
	      "rewind: a pipe -> TS_ERR_IO, the reader names \"-\" stdin (%s)", ts_reader_error(r));
	ts_reader_close(r);
	close(pfd[0]);

	/* open_path */
	st = ts_reader_open_path(&r, "/nonexistent/dir/x.tns", 0);
	check(st == TS_ERR_IO && strstr(ts_reader_error(r), "x.tns"), "open_path: a missing file -> TS_ERR_IO naming it (%s)",
	      ts_reader_error(r));
	ts_reader_close(r);
	char path[4096];
	const char *tmpdir = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/tstream-testXXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int tf = mkstemp(path);
	if (tf < 0 || write(tf, s.p, s.n) != (ssize_t)s.n)
		fatal("mkstemp");
	close(tf);
	ok = ts_reader_open_path(&r, path, 0) == TS_OK && ts_reader_seekable(r);
	n = 0;
	while (ok && ts_read_frame(r, buf) == TS_OK)
		n++;
	ok = ok && n == 3 && ts_reader_rewind(r) == TS_OK && ts_read_frame(r, buf) == TS_OK && memcmp(buf, d, 48) == 0;
	check(ok, "open_path: a file reads, rewinds and rereads");
	ts_reader_close(r);
	unlink(path);
	free(s.p);
	ts_header_free(&h);
}

/* Forks a writer of `count` frames (frame i is d + (i mod nd) * fb, zstd
 * at level) into a pipe; returns its pid and the read end in *rfd.  With
 * room, each frame is copied into ts_writer_payload's room (asked for
 * twice, which must give the same) and written from there.  The child
 * exits 0 when all went down and the stream finished, 2 when the reader
 * went away (TS_ERR_PIPE, "output closed"), 1 otherwise. */
static pid_t spawn_writer(const ts_header *h, int level, const unsigned char *d, size_t fb,
                          int nd, int count, int room, int *rfd)
{
	int pfd[2];
	if (pipe(pfd))
		fatal("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid == 0) {
		close(pfd[0]);
		signal(SIGPIPE, SIG_IGN);
		ts_writer *w;
		ts_write_opts o = { level };
		ts_status st = ts_writer_open(&w, pfd[1], "-", h, &o);
		int bad = 0;
		for (int i = 0; i < count && !st; i++) {
			const unsigned char *f = d + (size_t)(i % nd) * fb;
			if (room) {
				unsigned char *p = ts_writer_payload(w);
				if (!p || ts_writer_payload(w) != p) {
					bad = 1;
					break;
				}
				memcpy(p, f, fb);
				f = p;
			}
			st = ts_write_frame(w, f);
		}
		if (!st && !bad)
			st = ts_writer_finish(w);
		int code = bad ? 1 : !st ? 0 : st == TS_ERR_PIPE && strstr(ts_writer_error(w), "output closed") ? 2 : 1;
		ts_writer_free(w);
		_exit(code);
	}
	close(pfd[1]);
	*rfd = pfd[0];
	return pid;
}

/* Reads the stream of a writer spawned with spawn_writer from rfd, after
 * letting it fill the pipe and its queue for 0.1 s, and waits for it: 1
 * when every one of the nf frames of d (fb bytes each) came whole and in
 * order, the stream ended, and the writer exited 0. */
static int read_spawned(pid_t pid, int rfd, const unsigned char *d, size_t fb, int nf)
{
	unsigned char *buf = malloc(fb);
	ts_reader *r;
	int ok = ts_reader_open(&r, rfd, "pipe", 0) == TS_OK, n = 0;
	ts_status st = TS_OK;
	usleep(100000);
	while (ok && (st = ts_read_frame(r, buf)) == TS_OK)
		ok = n < nf && memcmp(buf, d + fb * n++, fb) == 0;
	ts_reader_close(r);
	close(rfd);   /* a writer still writing fails now rather than wait */
	int status;
	waitpid(pid, &status, 0);
	free(buf);
	return ok && st == TS_END && n == nf && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_pipe_large(void)
{
	/* frames larger than the reader's 64 KiB buffer go straight from the
	 * pipe into the caller's buffer in pieces */
	ts_header h;
	header(&h, TS_F32, 2, (uint64_t[]){ 300, 301 });
	size_t fb = (size_t)ts_frame_bytes(&h);
	enum { NF = 5 };
	unsigned char *d = malloc(NF * fb), *buf = malloc(fb);
	for (int i = 0; i < NF; i++)
		fill(d + i * fb, fb, 4, i % 3, (unsigned)i);
	for (int level = 0; level <= 1; level++) {
		int pfd[2];
		pid_t pid = spawn_writer(&h, level, d, fb, NF, NF, 0, &pfd[0]);
		ts_reader *r;
		int ok = ts_reader_open(&r, pfd[0], "pipe", 0) == TS_OK, n = 0;
		ts_status st = TS_OK;
		while (ok && (st = ts_read_frame(r, buf)) == TS_OK)
			ok = n < NF && memcmp(buf, d + fb * n++, fb) == 0;
		int status;
		waitpid(pid, &status, 0);
		check(ok && st == TS_END && n == NF && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "pipe: %d frames of f32 300x301 (%zu bytes) %s through a pipe from another process", NF, fb,
		      level ? "with zstd" : "raw");
		ts_reader_close(r);
		close(pfd[0]);
	}
	free(d);
	free(buf);
	ts_header_free(&h);
}

/* Frames of 1 MiB and more go into a pipe by vmsplice from a thread of
 * the writer's, a queue of frames ahead of the reader: every frame arrives
 * whole and in order, also a last part under a page, frames mixed with
 * small ones and zstd-compressed ones (written directly, after the queue
 * empties); a reader that goes away is the writer's TS_ERR_PIPE. */
static void test_pipe_queue(void)
{
	ts_header h;
	header(&h, TS_U8, 1, (uint64_t[]){ (1u << 20) + 1000 });
	size_t fb = (size_t)ts_frame_bytes(&h);
	enum { NF = 7 };
	unsigned char *d = malloc(NF * fb), *buf = malloc(fb);
	for (int i = 0; i < NF; i++)
		fill(d + i * fb, fb, 1, i == 3 ? 0 : 1, (unsigned)i);   /* frame 3 compresses */
	for (int level = 0; level <= 1; level++) {
		int pfd[2];
		pid_t pid = spawn_writer(&h, level, d, fb, NF, NF, 0, &pfd[0]);
		check(read_spawned(pid, pfd[0], d, fb, NF),
		      "pipe queue: %d frames of %zu bytes (a page and 1000 bytes past 1 MiB) %s, whole and in order",
		      NF, fb, level ? "with zstd (one frame shrinks, written directly between queued ones)" : "raw");
	}

	/* the reader takes one frame and goes away */
	int pfd[2];
	pid_t pid = spawn_writer(&h, 0, d, fb, NF, 40, 0, &pfd[0]);
	ts_reader *r;
	int ok = ts_reader_open(&r, pfd[0], "pipe", 0) == TS_OK && ts_read_frame(r, buf) == TS_OK &&
	         memcmp(buf, d, fb) == 0;
	ts_reader_close(r);
	close(pfd[0]);
	int status;
	waitpid(pid, &status, 0);
	check(ok && WIFEXITED(status) && WEXITSTATUS(status) == 2,
	      "pipe queue: the reader goes away after a frame -> the writer's TS_ERR_PIPE \"output closed\"");
	free(d);
	free(buf);
	ts_header_free(&h);
}

/* ts_writer_payload: frames written from the writer's room arrive whole
 * and in order.  Into a pipe a raw frame of 1 MiB or more goes on in that
 * room itself while the caller already fills the next one (a room given
 * again while its frame is still queued would show here as a frame
 * overwritten by the next); small frames, zstd and files use a buffer the
 * writer keeps. */
static void test_payload(void)
{
	enum { NF = 6 };
	const uint64_t lens[2] = { (1u << 20) + 1000, 5000 };
	for (int big = 0; big < 2; big++) {
		ts_header h;
		header(&h, TS_U8, 1, (uint64_t[]){ lens[big] });
		size_t fb = (size_t)ts_frame_bytes(&h);
		unsigned char *d = malloc(NF * fb);
		for (int i = 0; i < NF; i++)
			fill(d + i * fb, fb, 1, i == 2 ? 0 : 1, (unsigned)i + 17);
		for (int level = 0; level <= 1; level++) {
			int pfd[2];
			pid_t pid = spawn_writer(&h, level, d, fb, NF, NF, 1, &pfd[0]);
			check(read_spawned(pid, pfd[0], d, fb, NF),
			      "payload room: %d frames of %zu bytes %s into a pipe, whole and in order", NF, fb,
			      level ? "with zstd" : "raw");
		}
		free(d);
		ts_header_free(&h);
	}
	/* into a file: the same room every frame */
	ts_header h;
	header(&h, TS_F32, 2, (uint64_t[]){ 512, 600 });
	size_t fb = (size_t)ts_frame_bytes(&h);
	char path[] = "/tmp/tomogan_payload_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		fatal("mkstemp");
	ts_writer *w;
	int ok = ts_writer_open(&w, fd, path, &h, NULL) == TS_OK, same = 1;
	unsigned char *first = NULL;
	for (int i = 0; ok && i < 3; i++) {
		unsigned char *p = ts_writer_payload(w);
		ok = p != NULL;
		if (ok) {
			same &= !first || p == first;
			first = p;
			fill(p, fb, 4, 2, (unsigned)i);
			ok = ts_write_frame(w, p) == TS_OK;
		}
	}
	ok = ok && ts_writer_finish(w) == TS_OK;
	ts_writer_free(w);
	unsigned char *want = malloc(fb), *buf = malloc(fb);
	ts_reader *r;
	int n = 0;
	if (ok && lseek(fd, 0, SEEK_SET) == 0 && ts_reader_open(&r, fd, path, 0) == TS_OK) {
		while (ts_read_frame(r, buf) == TS_OK) {
			fill(want, fb, 4, 2, (unsigned)n);
			ok &= memcmp(buf, want, fb) == 0;
			n++;
		}
		ts_reader_close(r);
	} else {
		ok = 0;
	}
	close(fd);
	unlink(path);
	check(ok && same && n == 3, "payload room: 3 frames into a file from one room the writer keeps");
	free(want);
	free(buf);
	ts_header_free(&h);
}

static void test_writer(void)
{
	ts_header h;
	header(&h, TS_U8, 1, (uint64_t[]){ 8 });
	ts_writer *w;
	int dn = open("/dev/null", O_WRONLY);
	ts_write_opts o = { ZSTD_maxCLevel() + 1 };
	check(ts_writer_open(&w, dn, "null", &h, &o) == TS_ERR_ARG, "writer: zstd level %d -> TS_ERR_ARG", ZSTD_maxCLevel() + 1);
	ts_writer_free(w);
	o.zstd_level = -1;
	check(ts_writer_open(&w, dn, "null", &h, &o) == TS_ERR_ARG, "writer: zstd level -1 -> TS_ERR_ARG");
	ts_writer_free(w);
	ts_header bad;
	header(&bad, TS_U8, 2, (uint64_t[]){ 8, 0 });
	check(ts_writer_open(&w, dn, "null", &bad, NULL) == TS_ERR_DIMS, "writer: a zero dimension -> TS_ERR_DIMS");
	ts_writer_free(w);
	unsigned char f[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	ts_status st = ts_writer_open(&w, dn, "null", &h, NULL);
	int ok = st == TS_OK && ts_write_frame(w, f) == TS_OK && ts_write_frame(w, f) == TS_OK && ts_writer_frames(w) == 2 &&
	         ts_writer_finish(w) == TS_OK;
	st = ts_write_frame(w, f);
	check(ok && st != TS_OK && ts_writer_frames(w) == 2 && ts_writer_finish(w) != TS_OK && ts_writer_error(w)[0],
	      "writer: nothing is written after the end record (%s: %s)", ts_strerror(st), ts_writer_error(w));
	ts_writer_free(w);
	close(dn);

	int ro = open("/dev/null", O_RDONLY);
	st = ts_writer_open(&w, ro, "ro", &h, NULL);
	check(st == TS_ERR_IO && strstr(ts_writer_error(w), "ro: "), "writer: a read-only fd -> TS_ERR_IO (%s)",
	      ts_writer_error(w));
	ts_writer_free(w);
	close(ro);

	signal(SIGPIPE, SIG_IGN);
	int pfd[2];
	if (pipe(pfd))
		fatal("pipe");
	close(pfd[0]);
	st = ts_writer_open(&w, pfd[1], "-", &h, NULL);
	ts_status st2 = ts_write_frame(w, f);
	check(st == TS_ERR_PIPE && st2 == TS_ERR_PIPE && ts_exit_status(st) == 0 && strstr(ts_writer_error(w), "stdout"),
	      "writer: the reader went away -> TS_ERR_PIPE, exit status 0 (%s)", ts_writer_error(w));
	ts_writer_free(w);
	close(pfd[1]);
	ts_header_free(&h);
	ts_header_free(&bad);
}

int main(void)
{
	unsetenv("TOMOGAN_MAX_FRAME_MB");
	test_xxh64();
	test_layout();
	test_roundtrips();
	test_zero_frames();
	test_meta_roundtrip();
	test_concat();
	test_flips_and_cuts();
	test_corruptions();
	test_limits();
	test_rewind();
	test_pipe_large();
	test_pipe_queue();
	test_payload();
	test_writer();
	return check_finish();
}
