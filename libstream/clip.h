/* clip.h: the statistics and the per-pixel map of clipnorm(1).
 *
 * Statistics run on the host (on a CPU device that is the fast path: they
 * are one streaming read of each frame, limited by memory bandwidth); the
 * map y = clip((x - lo) / (hi - lo), 0, 1) runs through OpenCL
 * (kernels/clipnorm.cl), with tg_clip_map_ref as its plain-C reference.
 *
 * Pieces:
 *   - a circular mask, as row spans, with the geometry of TomoPy's
 *     circ_mask, so statistics can leave out the zero corners of a
 *     reconstruction;
 *   - per-frame minimum and maximum (NaN left out) over all values or the
 *     masked ones;
 *   - exact percentiles of any number of float values in fixed memory: a
 *     two-pass radix selection on the order-preserving 32-bit key of each
 *     float (pass 1 counts the top 16 bits, pass 2 the low 16 bits of the
 *     values in the buckets that hold the wanted ranks);
 *   - a spool file, so a pipe can be read twice;
 *   - the map, on the host (reference) and on the OpenCL device.
 *
 * Percentiles follow stats.h (NumPy's default "linear" definition).
 */
#ifndef TOMOGAN_CLIP_H
#define TOMOGAN_CLIP_H

#include <stddef.h>
#include <stdint.h>

#include "tstream.h"

/* ---- circular mask ----
 * Pixel (i, j) of an h x w plane is inside when x*x + y*y < (ratio*r)^2
 * with y = i + 0.5 - h/2, x = j + 0.5 - w/2 and r = min(h, w)/2, all in
 * double precision: the test tomopy.misc.corr.circ_mask makes.  Inside
 * pixels of row i are the span [x0[i], x1[i]) (empty when equal). */
typedef struct {
	uint64_t h, w;
	uint32_t *x0, *x1;
	uint64_t inside;     /* pixels inside, per plane */
} tg_clip_mask;

/* 0 ok, -1 bad size or ratio (ratio > 0 needed), -2 out of memory. */
int tg_clip_mask_init(tg_clip_mask *m, uint64_t h, uint64_t w, double ratio);
void tg_clip_mask_free(tg_clip_mask *m);

/* ---- per-frame minimum and maximum ----
 * Over x[0..n-1], NaN left out (as numpy.nanmin/nanmax); infinities count.
 * Returns 1, or 0 when there was no value but NaN (then *mn and *mx are
 * untouched). */
int tg_clip_minmax(const float *x, size_t n, float *mn, float *mx);
/* The same over n values of type t (converted to float as
 * ts_convert_to_f32 does, a block at a time on the stack). */
int tg_clip_minmax_typed(ts_dtype t, const void *x, size_t n, float *mn, float *mx);
/* The same over the masked pixels of planes of m->h x m->w values
 * (n a multiple of h*w: every plane of a C x H x W frame is masked alike). */
int tg_clip_minmax_masked(const float *x, size_t n, const tg_clip_mask *m,
                          float *mn, float *mx);

/* ---- per-frame extrema carried in a stream's header ----
 * A program that reads its source twice anyway (h5slice --extrema) can
 * record every frame's minimum and maximum in the header, so that
 * clipnorm's default rule needs no first pass over the stream (nor a
 * spool for a pipe): keys "extrema.min" and "extrema.max", one value per
 * frame in order, separated by spaces, each the float's shortest "%.9g"
 * (which reads back as the same float), "nan" for a frame with no value
 * but NaN.  They describe the frames exactly as written: a program that
 * writes other frames under a copy of the header drops them
 * (tg_extrema_drop), and clipnorm checks every frame against them. */
/* Sets the two keys from mn[i], mx[i] (NaN: a frame with no value). */
ts_status tg_extrema_set(ts_meta *m, const float *mn, const float *mx, size_t n);
/* 1 with fresh arrays of *n values each (free both), 0 when the header has
 * neither key, -1 when the keys are malformed (only one of them, a value
 * that is not a number, lists of different lengths, min > max) or memory
 * ran out. */
int tg_extrema_get(const ts_meta *m, float **mn, float **mx, size_t *n);
void tg_extrema_drop(ts_meta *m);

/* ---- exact percentiles by two-pass radix selection ----
 * Usage: init with up to TG_RSEL_MAXQ percentiles; feed every value with
 * tg_rsel_count (pass 1); tg_rsel_plan; feed the same values again, in any
 * order, with tg_rsel_refine (pass 2); tg_rsel_result.  NaN values are left
 * out; infinities count.  The results are exact: the order statistics are
 * found bit for bit and interpolated as stats.h does. */
#define TG_RSEL_MAXQ 2
#define TG_RSEL_MAXT (2 * TG_RSEL_MAXQ)  /* buckets refined in pass 2 */

typedef struct {
	size_t nq;
	double q[TG_RSEL_MAXQ];
	uint64_t total;               /* values counted in pass 1 */
	uint64_t *top;                /* 65536 bucket counts (pass 1) */
	uint32_t *top32;              /* pending counts (flushed into top) */
	uint64_t pending;
	int planned;
	uint64_t rank[2 * TG_RSEL_MAXQ];   /* wanted order statistics */
	double t[TG_RSEL_MAXQ];            /* interpolation weights */
	uint32_t target[TG_RSEL_MAXT];     /* buckets to refine; 65536 = none */
	uint64_t below[TG_RSEL_MAXT];      /* values in buckets before each */
	uint8_t *row_of;              /* bucket -> 1 + its target index, or 0 */
	uint64_t *low;                /* TG_RSEL_MAXT x 65536 counts (pass 2) */
	uint32_t *low32;
	uint64_t pending2;
} tg_rsel;

/* 0 ok, -1 bad arguments (nq, q outside [0, 100]), -2 out of memory. */
int tg_rsel_init(tg_rsel *s, size_t nq, const double *q);
void tg_rsel_count(tg_rsel *s, const float *x, size_t n);
void tg_rsel_count_masked(tg_rsel *s, const float *x, size_t n, const tg_clip_mask *m);
/* After pass 1: -1 if no value was counted (all NaN or none), else 0. */
int tg_rsel_plan(tg_rsel *s);
void tg_rsel_refine(tg_rsel *s, const float *x, size_t n);
void tg_rsel_refine_masked(tg_rsel *s, const float *x, size_t n, const tg_clip_mask *m);
/* The percentiles, in the order given to init.  -1 if pass 2 did not see
 * the same values as pass 1. */
int tg_rsel_result(tg_rsel *s, double *out);
void tg_rsel_free(tg_rsel *s);

/* ---- spool: a pipe read twice ----
 * An anonymous temporary file in $TMPDIR (else /tmp), unlinked as soon as
 * it is created, so it vanishes on every exit path, holding records of one
 * size (frames).  A spool is written once and read start to end once or
 * more: records go in groups of about TG_SPOOL_BLOCK bytes through
 * TG_SPOOL_THREADS threads of its own (write-behind, then read-ahead); the
 * caller fills records in the spool's blocks (claim) and reads them there
 * (next), so nothing is copied in between; with O_DIRECT where the file
 * system takes it, so that the page cache neither fills with data that is
 * read once nor costs the time of allocating it (TOMOGAN_SPOOL=buffered
 * turns O_DIRECT off).  Groups are padded to multiples of 4096 bytes.
 * Four threads and eight groups in the ring, so that up to four reads are
 * under way at once: a virtual disk reads faster with more of them
 * (O_DIRECT reads of 4.3 GB, 16 MiB each: 1.14 GB/s one at a time, 1.43
 * four at once, 1.68 eight), and the spooled h5slice | clipnorm | resize 64
 * on 4.3 GB took 6.4-7.3 s against 6.8-9.3 with two threads and four
 * groups (four runs alternating).  Memory: eight groups, 32 MiB, or eight
 * frames where a frame is larger. */
#define TG_SPOOL_BLOCK (4u << 20)
#define TG_SPOOL_NBLOCKS 8
#define TG_SPOOL_THREADS 4
struct tg_spool_io;
typedef struct {
	int fd;
	uint64_t records;        /* written */
	int direct;              /* 1: the file takes O_DIRECT */
	char dir[512];           /* for messages */
	struct tg_spool_io *io;
} tg_spool;

/* For records of `size` bytes (> 0): 0 ok, else -1 with errno set (and
 * nothing left open). */
int tg_spool_open(tg_spool *s, size_t size);
/* Room for the next record, to be filled and then committed; NULL with
 * errno set if an earlier write failed. */
void *tg_spool_claim(tg_spool *s);
void tg_spool_commit(tg_spool *s);
/* Back to the first record for reading (after writing, every record is
 * on file first): 0 ok, -1 with errno (a write failed). */
int tg_spool_rewind(tg_spool *s);
/* The next record, valid until the next call: 1 with *rec set, 0 at the
 * end, -1 error (errno). */
int tg_spool_next(tg_spool *s, const void **rec);
void tg_spool_close(tg_spool *s);

/* ---- the map ---- */
typedef enum {
	TG_CLIP_OUT_01 = 0,   /* f32 in [0, 1] */
	TG_CLIP_OUT_11 = 1,   /* f32 in [-1, 1]: 2y - 1 */
	TG_CLIP_OUT_U8 = 2,   /* floor(255 y + 0.5) */
	TG_CLIP_OUT_U16 = 3   /* floor(65535 y + 0.5) */
} tg_clip_out;

/* The stream type of an output kind. */
ts_dtype tg_clip_out_dtype(tg_clip_out o);
/* The single-precision parameters of the map: lo rounded to float and
 * s = 1 / (hi - lo) computed in double and rounded to float. */
void tg_clip_params(double lo, double hi, float *lo_f, float *s_f);
/* Plain-C reference of the kernel: x holds n values of type t, y gets n
 * values of tg_clip_out_dtype(o).  In single precision, without fused
 * multiply-add: v = float(x); y = min(max((v - lo) * s, 0), 1) (NaN gives
 * 0); then 2y - 1, floor(255y + 0.5) or floor(65535y + 0.5). */
void tg_clip_map_ref(ts_dtype t, const void *x, void *y, size_t n,
                     float lo, float s, tg_clip_out o);

/* The same on the OpenCL device (kernels/clipnorm.cl), one frame of n
 * values at a time, from host memory in (n values of type t) into host
 * memory out (n values of the output type).  The kernel works on the
 * caller's memory itself (buffers made with CL_MEM_USE_HOST_PTR): on a
 * CPU device nothing is copied, on others the runtime moves the data.
 * Functions return 0 or an ocl.h error code (message in tg_cl_error()). */
struct tg_cl;
typedef struct tg_clip_dev tg_clip_dev;
int tg_clip_dev_init(tg_clip_dev **out, struct tg_cl *cl, ts_dtype t, tg_clip_out o, size_t n);
int tg_clip_dev_run(tg_clip_dev *d, const void *in, void *out, float lo, float s);
void tg_clip_dev_free(tg_clip_dev *d);

#endif
