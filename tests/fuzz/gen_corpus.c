/* Writes the seed streams of tests/fuzz/corpus/ with the library's own
 * writer: one small stream per feature the reader has (every element type
 * and rank, raw and zstd frames, metadata, zero frames, concatenation,
 * segments of different shapes, a truncated and an incompatible stream).
 *
 *   cc -std=c11 -D_DEFAULT_SOURCE -Ilibstream -o build/gen_corpus \
 *      tests/fuzz/gen_corpus.c libstream/tstream.c libstream/meta.c \
 *      libstream/xxh64.c -lzstd -lm
 *   build/gen_corpus tests/fuzz/corpus
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tstream.h"

static const char *dir;
static int out = -1;
static uint32_t rnd = 12345;

static void new_file(const char *name)
{
	char path[1024];
	if (out >= 0)
		close(out);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		perror(path);
		exit(1);
	}
}

/* kind 0 constant, 1 random, 2 ramp */
static void fill(unsigned char *p, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++) {
		rnd = rnd * 1103515245u + 12345u;
		p[i] = kind == 0 ? 0x3C : kind == 1 ? (unsigned char)(rnd >> 16) : (unsigned char)(i * 3);
	}
}

/* Appends a stream to the current file; finish 0 leaves it without its
 * end record and stops after cut frames. */
static void stream(ts_dtype t, int rank, const uint64_t *dims, int level, int nframes, int finish,
                   const char *const *meta)
{
	ts_header h;
	memset(&h, 0, sizeof h);
	ts_meta_init(&h.meta);
	ts_header_shape(&h, t, rank, dims);
	for (int i = 0; meta && meta[i]; i += 2)
		ts_meta_add(&h.meta, meta[i], meta[i + 1]);
	size_t fb = (size_t)ts_frame_bytes(&h);
	unsigned char *buf = malloc(fb);
	ts_writer *w;
	ts_write_opts o = { level };
	ts_status st = ts_writer_open(&w, out, "corpus", &h, &o);
	for (int i = 0; i < nframes && !st; i++) {
		fill(buf, fb, i % 3);
		st = ts_write_frame(w, buf);
	}
	if (!st && finish)
		st = ts_writer_finish(w);
	if (st) {
		fprintf(stderr, "gen_corpus: %s\n", ts_writer_error(w));
		exit(1);
	}
	ts_writer_free(w);
	ts_header_free(&h);
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 64;
	}
	dir = argv[1];
	static const char *const m1[] = { "range", "0 1", "range.meaning", "intensity", "source", "scan.h5",
	                                  "history", "h5slice scan.h5 --range 59:", "history", "clipnorm", NULL };
	static const char *const m2[] = { "spacing", "0.7 0.7 \xc2\xb5m", "source", "\xe6\x96\xad\xe5\xb1\x82.png",
	                                  "empty", "", NULL };
	new_file("raw_f32.tns");
	stream(TS_F32, 2, (uint64_t[]){ 2, 3 }, 0, 2, 1, m1);
	new_file("zstd_u16.tns");
	stream(TS_U16, 2, (uint64_t[]){ 16, 16 }, 1, 3, 1, m2);
	new_file("u8_rank1.tns");
	stream(TS_U8, 1, (uint64_t[]){ 7 }, 0, 3, 1, NULL);
	new_file("i16_rank3.tns");
	stream(TS_I16, 3, (uint64_t[]){ 2, 3, 4 }, 3, 2, 1, NULL);
	new_file("f16_rank4.tns");
	stream(TS_F16, 4, (uint64_t[]){ 1, 2, 2, 3 }, 0, 2, 1, m2);
	new_file("zero_frames.tns");
	stream(TS_F32, 3, (uint64_t[]){ 1, 512, 512 }, 0, 0, 1, m1);
	new_file("concat.tns");
	stream(TS_U8, 2, (uint64_t[]){ 4, 4 }, 0, 2, 1, m1);
	stream(TS_U8, 2, (uint64_t[]){ 4, 4 }, 1, 0, 1, NULL);
	stream(TS_U8, 2, (uint64_t[]){ 4, 4 }, 1, 3, 1, m2);
	new_file("segments.tns");
	stream(TS_F32, 2, (uint64_t[]){ 2, 3 }, 0, 1, 1, m1);
	stream(TS_U8, 1, (uint64_t[]){ 5 }, 0, 2, 1, NULL);
	stream(TS_I16, 3, (uint64_t[]){ 2, 2, 2 }, 0, 0, 1, NULL);
	stream(TS_F16, 4, (uint64_t[]){ 1, 1, 1, 3 }, 2, 1, 1, m2);
	new_file("incompatible.tns");
	stream(TS_F32, 2, (uint64_t[]){ 2, 3 }, 0, 1, 1, NULL);
	stream(TS_F32, 2, (uint64_t[]){ 3, 2 }, 0, 1, 1, NULL);
	new_file("no_end.tns");
	stream(TS_U16, 1, (uint64_t[]){ 9 }, 0, 2, 0, NULL);
	new_file("big_zstd.tns");  /* a 256 KiB frame that compresses to a few bytes */
	stream(TS_F32, 2, (uint64_t[]){ 256, 256 }, 1, 1, 1, NULL);
	close(out);
	return 0;
}
