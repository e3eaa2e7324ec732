/* libFuzzer target for the tensor stream reader (make fuzz).
 *
 * Each input is put in an in-memory file and read to its end twice: once
 * merging concatenated streams (with a rewind after the first frame, which
 * re-reads the input from its start) and once in segment mode.  Besides the
 * sanitizers' checks it asserts the reader's contract: a status is one of
 * the enum's, an error sticks, an error always comes with a message, frame
 * counts add up, and no frame is accepted from fewer bytes than a frame
 * record needs.  The frame-size limit is lowered to 1 MiB so that a header
 * claiming a huge frame costs nothing but its refusal.
 *
 * Random mutations almost never get past a checksum, so the same two
 * readings are repeated on a copy whose checksums have been recomputed
 * where the records can be found: that lets the fuzzer reach the metadata
 * parser, the size checks and the zstd path behind them. */
#define _GNU_SOURCE  /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tstream.h"

static int mfd = -1;

static void require(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_reader: contract broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TOMOGAN_MAX_FRAME_MB", "1", 1);
	mfd = memfd_create("fuzz_reader", 0);
	if (mfd < 0) {
		perror("memfd_create");
		exit(1);
	}
	return 0;
}

static int is_error(ts_status st)
{
	return st >= TS_ERR_EMPTY && st <= TS_ERR_ARG;
}

/* Reads every frame; returns the final status. */
static ts_status drain(ts_reader *r, size_t size, int segments, int rewind_once)
{
	const ts_header *h = ts_reader_header(r);
	uint64_t fb = ts_frame_bytes(h);
	require(fb > 0 && fb <= ((uint64_t)1 << 20), "an opened header has a frame size within the limit");
	unsigned char *buf = malloc((size_t)fb);
	require(buf != NULL, "frame buffer");
	uint64_t before = ts_reader_frames(r);
	ts_status st;
	int rewound = !rewind_once;
	for (;;) {
		st = ts_read_frame(r, buf);
		require(st == TS_OK || st == TS_END || st == TS_SEGMENT_END || is_error(st), "status in range");
		if (st == TS_OK) {
			require(ts_reader_frames(r) == before + 1, "frame count increments");
			before++;
			/* every accepted frame came with its own 32-byte record */
			require(before * 32 <= size, "no frame out of thin air");
			if (!rewound) {
				rewound = 1;
				ts_status rs = ts_reader_rewind(r);
				require(rs == TS_OK, "rewind of a stream whose header read once");
				require(ts_reader_frames(r) == 0, "rewind resets the count");
				require(ts_frame_bytes(ts_reader_header(r)) == fb, "same header after rewind");
				before = 0;
			}
			continue;
		}
		if (st == TS_SEGMENT_END) {
			require(segments, "segment ends only in segment mode");
			st = ts_reader_next_segment(r);
			if (st == TS_OK) {
				uint64_t nfb = ts_frame_bytes(ts_reader_header(r));
				require(nfb > 0 && nfb <= ((uint64_t)1 << 20), "next segment's frame size within the limit");
				if (nfb != fb) {
					unsigned char *nb = realloc(buf, (size_t)nfb);
					require(nb != NULL, "frame buffer");
					buf = nb;
					fb = nfb;
				}
				continue;
			}
			require(st == TS_END || is_error(st), "next_segment status");
		}
		break;
	}
	if (st != TS_END) {
		require(is_error(st), "reading ends at TS_END or an error");
		require(ts_read_frame(r, buf) == st, "an error sticks");
		require(ts_reader_error(r)[0] != 0, "an error has a message");
	} else {
		require(ts_read_frame(r, buf) == TS_END, "TS_END sticks");
	}
	free(buf);
	return st;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes every checksum of the records found in p (tstream(5)). */
static void fix_checksums(unsigned char *p, size_t n)
{
	size_t pos = 0;
	while (pos + 64 <= n) {
		put64(p + pos + 56, ts_xxh64(p + pos, 56, 0));
		uint64_t ml = (uint64_t)p[pos + 48] | (uint64_t)p[pos + 49] << 8 | (uint64_t)p[pos + 50] << 16 |
		              (uint64_t)p[pos + 51] << 24;
		if (ml + 8 > n - pos - 64)
			return;
		put64(p + pos + 64 + ml, ts_xxh64(p + pos + 64, (size_t)ml, 0));
		pos += 64 + (size_t)ml + 8;
		for (;;) {
			if (pos + 24 <= n && memcmp(p + pos, "ENDS", 4) == 0) {
				put64(p + pos + 16, ts_xxh64(p + pos, 16, 0));
				pos += 24;
				break;
			}
			if (pos + 32 > n)
				return;
			uint64_t stored = get64(p + pos + 8);
			if (stored <= n - pos - 32)
				put64(p + pos + 16, ts_xxh64(p + pos + 32, (size_t)stored, 0));
			put64(p + pos + 24, ts_xxh64(p + pos, 24, 0));
			if (stored > n - pos - 32)
				return;
			pos += 32 + (size_t)stored;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *fixed = malloc(size ? size : 1);
	if (!fixed)
		abort();
	memcpy(fixed, data, size);
	fix_checksums(fixed, size);
	for (int pass = 0; pass < 4; pass++) {
		if (pass == 0 || (pass == 2 && memcmp(fixed, data, size) != 0)) {
			const unsigned char *src = pass ? fixed : data;
			if (ftruncate(mfd, 0) != 0 || pwrite(mfd, src, size, 0) != (ssize_t)size)
				abort();
		} else if (pass == 2) {
			break;  /* the checksums were right already: nothing new to read */
		}
		if (lseek(mfd, 0, SEEK_SET) != 0)
			abort();
		ts_reader *r;
		int segments = pass & 1;
		ts_status st = ts_reader_open(&r, mfd, "fuzz", segments ? TS_R_SEGMENTS : 0);
		require(r != NULL, "reader allocated");
		if (st == TS_OK) {
			require(ts_reader_seekable(r), "a memfd is seekable");
			drain(r, size, segments, !segments);
		} else {
			require(is_error(st), "open status in range");
			require(ts_reader_error(r)[0] != 0, "an open error has a message");
			require(size > 0 || st == TS_ERR_EMPTY, "empty input is TS_ERR_EMPTY");
		}
		ts_reader_close(r);
	}
	free(fixed);
	return 0;
}
