/* tstream.h: the tomogan tensor stream, version 1 (byte layout in tstream(5)).
 *
 * A stream is a header (element type, frame shape, key/value metadata)
 * followed by frames of that shape, each checksummed and optionally
 * zstd-compressed, and an end record carrying the frame count.  Streams
 * written one after another (cat a.tns b.tns) read as one when their type
 * and shape agree.
 *
 * Every function returns a ts_status; none of them exits.  Readers and
 * writers keep a one-line description of the last error (ts_reader_error,
 * ts_writer_error) naming the stream, the frame and the byte offset.
 */
#ifndef TOMOGAN_TSTREAM_H
#define TOMOGAN_TSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define TS_VERSION 1
#define TS_MAX_RANK 4
/* Limits applied before any allocation.  A frame may hold at most
 * TS_MAX_FRAME_BYTES bytes (the environment variable TOMOGAN_MAX_FRAME_MB
 * lowers or raises it), each dimension at most TS_MAX_DIM. */
#define TS_MAX_FRAME_BYTES ((uint64_t)4 << 30)
#define TS_MAX_DIM ((uint64_t)1 << 24)
#define TS_MAX_META_BYTES ((uint32_t)16 << 20)

typedef enum {
	TS_OK = 0,
	TS_END,             /* no more frames: a normal end, not an error */
	TS_SEGMENT_END,     /* segment mode only: an end record was read */
	TS_ERR_EMPTY,       /* input had no bytes at all */
	TS_ERR_MAGIC,       /* not a tensor stream */
	TS_ERR_VERSION,     /* a version or flag this reader does not know */
	TS_ERR_TRUNCATED,   /* input ended inside a record or before the end record */
	TS_ERR_CHECKSUM,    /* a header, frame or end record failed its checksum */
	TS_ERR_DIMS,        /* impossible type, rank or dimensions */
	TS_ERR_LIMIT,       /* a size beyond the configured limit */
	TS_ERR_COUNT,       /* the end record's count disagrees with the frames read */
	TS_ERR_CORRUPT,     /* any other malformed record (bad tag, bad metadata) */
	TS_ERR_INCOMPATIBLE,/* a concatenated stream of another type or shape */
	TS_ERR_ZSTD,        /* a compressed frame did not decompress to its size */
	TS_ERR_IO,          /* read or write failed */
	TS_ERR_PIPE,        /* the reader of our output went away */
	TS_ERR_NOMEM,
	TS_ERR_ARG          /* a caller passed something impossible */
} ts_status;

typedef enum {
	TS_U8 = 1, TS_U16 = 2, TS_I16 = 3, TS_F32 = 4, TS_F16 = 5
} ts_dtype;

typedef struct {
	char *key;
	char *val;
} ts_kv;

/* Ordered key/value list; a key may repeat (history does). */
typedef struct {
	size_t n, cap;
	ts_kv *kv;
} ts_meta;

typedef struct {
	ts_dtype dtype;
	int rank;                     /* 1..4 */
	uint64_t dims[TS_MAX_RANK];   /* outermost first, e.g. C,H,W; unused are 0 */
	ts_meta meta;
} ts_header;

typedef struct ts_reader ts_reader;
typedef struct ts_writer ts_writer;

const char *ts_strerror(ts_status st);
/* The exit status (sysexits) a program should use for st. */
int ts_exit_status(ts_status st);

size_t ts_dtype_size(ts_dtype t);       /* 0 for an unknown type */
const char *ts_dtype_name(ts_dtype t);  /* "u8", "u16", "i16", "f32", "f16" */
int ts_dtype_parse(const char *s, ts_dtype *out); /* 0 ok, -1 unknown */

/* Elements and bytes of one frame; 0 if the header is invalid. */
uint64_t ts_frame_elems(const ts_header *h);
uint64_t ts_frame_bytes(const ts_header *h);
/* Checks type, rank, dimensions and limits; TS_OK or TS_ERR_DIMS/LIMIT. */
ts_status ts_header_check(const ts_header *h);
/* Sets rank and dims from a list; dims beyond rank become 0. */
void ts_header_shape(ts_header *h, ts_dtype t, int rank, const uint64_t *dims);
ts_status ts_header_copy(ts_header *dst, const ts_header *src);
void ts_header_free(ts_header *h);
/* "f32 1x512x512" style description into buf. */
void ts_header_describe(const ts_header *h, char *buf, size_t len);
/* Current frame-size limit (TS_MAX_FRAME_BYTES or the environment's). */
uint64_t ts_max_frame_bytes(void);
/* Sets the limit for this process, over the environment's (0: back to
 * it).  For a test that needs another limit once threads run: setenv
 * then would race with getenv in other threads (PoCL's among them). */
void ts_set_max_frame_bytes(uint64_t bytes);

/* ---- metadata ---- */
void ts_meta_init(ts_meta *m);
void ts_meta_free(ts_meta *m);
ts_status ts_meta_copy(ts_meta *dst, const ts_meta *src);
/* Last value of key, or NULL. */
const char *ts_meta_get(const ts_meta *m, const char *key);
/* Replace every entry of key with one (appended at the end). */
ts_status ts_meta_set(ts_meta *m, const char *key, const char *val);
ts_status ts_meta_setf(ts_meta *m, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append an entry even if the key exists. */
ts_status ts_meta_add(ts_meta *m, const char *key, const char *val);
/* Remove every entry of key; returns how many were removed. */
size_t ts_meta_del(ts_meta *m, const char *key);
/* Append "history" = the command line, shell-quoted where needed. */
ts_status ts_meta_add_history(ts_meta *m, int argc, char **argv);
/* The value range: keys "range" ("lo hi", as %.9g) and optionally
 * "range.meaning".  get returns 0 when present and parseable. */
ts_status ts_meta_set_range(ts_meta *m, double lo, double hi);
int ts_meta_get_range(const ts_meta *m, double *lo, double *hi);
/* Keys: 1-255 bytes of printable ASCII without space or '='.  Values: valid
 * UTF-8 without NUL or newline. */
int ts_meta_key_ok(const char *key);
int ts_utf8_valid(const char *s, size_t n);

/* ---- reading ---- */
enum {
	TS_R_SEGMENTS = 1  /* stop at each end record (TS_SEGMENT_END) instead of
	                      merging concatenated streams; for containers of
	                      differently shaped tensors (checkpoints) */
};

/* Opens a reader on fd and reads the first header.  name labels messages
 * ("-" reads as "stdin").  On error *out is still set (so the message can be
 * read) unless the error is TS_ERR_NOMEM; close it in every case. */
ts_status ts_reader_open(ts_reader **out, int fd, const char *name, int flags);
/* Opens path ("-" for standard input). */
ts_status ts_reader_open_path(ts_reader **out, const char *path, int flags);
const ts_header *ts_reader_header(const ts_reader *r);
/* Reads the next frame into buf (ts_frame_bytes of the header), verified.
 * Returns TS_OK, TS_END, TS_SEGMENT_END (segment mode) or an error.  On any
 * error buf may hold garbage and must not be passed on. */
ts_status ts_read_frame(ts_reader *r, void *buf);
/* Segment mode: after TS_SEGMENT_END, reads the next header.  TS_OK, or
 * TS_END at end of input, or an error. */
ts_status ts_reader_next_segment(ts_reader *r);
/* Optional: a function called while ts_read_frame fills buf, once per piece
 * of the frame as it arrives (offset and length in bytes, whole elements),
 * so that a consumer can work on each piece while it is still in cache.
 * The pieces are not yet verified: if ts_read_frame then fails, whatever
 * the callback computed must be thrown away.  NULL removes it. */
typedef void (*ts_piece_fn)(void *ctx, const void *piece, size_t offset, size_t len);
void ts_reader_on_piece(ts_reader *r, ts_piece_fn fn, void *ctx);
/* Frames read so far (all segments). */
uint64_t ts_reader_frames(const ts_reader *r);
/* Whether the last frame read was compressed. */
int ts_reader_last_compressed(const ts_reader *r);
/* Re-reads a seekable input from the start (two-pass programs);
 * TS_ERR_IO if the input cannot seek. */
ts_status ts_reader_rewind(ts_reader *r);
int ts_reader_seekable(const ts_reader *r);
const char *ts_reader_error(const ts_reader *r);
/* Closes the reader (and the fd if it opened the path itself). */
void ts_reader_close(ts_reader *r);

/* ---- writing ---- */
typedef struct {
	int zstd_level;   /* 0: store frames uncompressed; 1..22 zstd level */
} ts_write_opts;

/* Writes the header at once.  The header is copied. */
ts_status ts_writer_open(ts_writer **out, int fd, const char *name,
                         const ts_header *h, const ts_write_opts *opts);
ts_status ts_write_frame(ts_writer *w, const void *buf);
/* Room for one frame (frame_bytes) that the caller fills and then passes
 * to ts_write_frame or ts_write_frame_from.  Into a pipe, a raw frame of
 * 1 MiB or more written from this room goes down the pipe without being
 * copied (the room is fresh memory each frame); otherwise it is a buffer
 * the writer keeps.  Valid until that write; asked for twice before it,
 * the same room.  NULL if out of memory. */
void *ts_writer_payload(ts_writer *w);
/* Writes buf, the frame just read from r and not modified since: when both
 * store frames uncompressed, the checksum r verified is reused instead of
 * hashing the frame again (filters that pass frames through unchanged). */
ts_status ts_write_frame_from(ts_writer *w, const ts_reader *r, const void *buf);
/* Writes the end record; it does not close fd.  After an error nothing
 * more is written. */
ts_status ts_writer_finish(ts_writer *w);
/* Frees the writer.  Without a successful ts_writer_finish the stream has
 * no end record, so a downstream reader reports it truncated: a program
 * that fails mid-stream just frees and exits. */
void ts_writer_free(ts_writer *w);
uint64_t ts_writer_frames(const ts_writer *w);
const char *ts_writer_error(const ts_writer *w);

/* ---- element conversion ---- */
/* To float32 (f16 and integers exactly). */
void ts_convert_to_f32(ts_dtype t, const void *src, float *dst, size_t n);
/* From float32: integers round half away from zero and clamp to the type's
 * range, NaN becomes 0; f16 rounds to nearest even. */
void ts_convert_from_f32(ts_dtype t, const float *src, void *dst, size_t n);
float ts_f16_to_f32(uint16_t h);
uint16_t ts_f32_to_f16(float f);

/* 64-bit xxHash (XXH64) of a buffer; the checksum of the format. */
uint64_t ts_xxh64(const void *data, size_t len, uint64_t seed);
/* The same, fed in pieces (the reader hashes a frame while it arrives). */
typedef struct {
	uint64_t v[4], seed, total;
	unsigned char buf[32];
	size_t nbuf;
} ts_xxh64_state;
void ts_xxh64_init(ts_xxh64_state *st, uint64_t seed);
void ts_xxh64_update(ts_xxh64_state *st, const void *data, size_t len);
uint64_t ts_xxh64_digest(const ts_xxh64_state *st);

#endif
