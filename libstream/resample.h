/* resample.h: separable image resampling as Pillow and OpenCV define it,
 * for resize(1).
 *
 * A plan holds, for each axis, a coefficient table: output o is
 *
 *     out[o] = sum_{k < taps} w[o * taps + k] * in[start[o] + k]
 *
 * with every window inside the input (0 <= start[o], start[o] + taps <= n),
 * so the kernels never test borders.  The tables are built in double
 * precision exactly as the library being matched builds them, then rounded
 * to float; borders are folded into the windows (Pillow truncates the
 * kernel at the edge and renormalises; OpenCV replicates the edge pixel,
 * whose weights are summed onto it).  Two special forms skip the table:
 * `identity` (the axis is unchanged: no pass) and `box` (output o is the
 * mean of inputs o*box .. o*box+box-1: an integer-factor area or box
 * reduction, summed and then scaled by 1/box).
 *
 * A frame is resampled plane by plane in two passes through a float
 * intermediate.  Pillow and OpenCV both go horizontal first; the plan picks
 * whichever order costs fewer multiply-adds (vertical first for large
 * shrinks, where the vertical pass reads whole rows and vectorises).  The
 * order changes results only by float32 rounding (about 1e-7 on [0, 1]
 * data), far below the 1e-4 to which the outputs match the libraries.
 *
 * The plain-C functions (tg_rs_ref_*) are the reference; the OpenCL path
 * (tg_rs_cl_*) does the same arithmetic in kernels/resize.cl, in the same
 * order, so the two agree to float rounding.
 */
#ifndef TOMOGAN_RESAMPLE_H
#define TOMOGAN_RESAMPLE_H

#include <stddef.h>

#include "ocl.h"
#include "tstream.h"

typedef enum {
	TG_RS_NEAREST = 0,   /* Pillow NEAREST */
	TG_RS_BOX,           /* Pillow BOX (support 1/2, antialiased) */
	TG_RS_BILINEAR,      /* Pillow BILINEAR (triangle, antialiased) */
	TG_RS_BICUBIC,       /* Pillow BICUBIC (Keys a = -0.5, antialiased) */
	TG_RS_LANCZOS3,      /* Pillow LANCZOS (3-lobe, antialiased) */
	TG_RS_BILINEAR_CV,   /* cv::resize INTER_LINEAR */
	TG_RS_CUBIC_CV,      /* cv::resize INTER_CUBIC (Keys a = -0.75, 4 taps) */
	TG_RS_AREA_CV,       /* cv::resize INTER_AREA */
	TG_RS_NFILTERS
} tg_rs_filter;

/* "nearest", "box", "bilinear", "bicubic", "lanczos3", "bilinear-opencv",
 * "cubic-opencv", "area". */
const char *tg_rs_filter_name(tg_rs_filter f);
/* 0 ok, -1 unknown name. */
int tg_rs_filter_parse(const char *s, tg_rs_filter *out);

typedef struct {
	int n_in, n_out;
	int taps;        /* window length (1 for identity and box) */
	int *start;      /* [n_out] first input index of each window */
	float *w;        /* [n_out * taps] */
	int box;         /* > 0: output o = mean of inputs o*box .. o*box+box-1 */
	int identity;    /* n_in == n_out and output o = input o: no pass */
} tg_rs_axis;

typedef struct {
	tg_rs_filter filter;
	int in_w, in_h, out_w, out_h;
	tg_rs_axis x, y;
	int vertical_first;  /* pass order (when both axes need one) */
} tg_rs_plan;

/* Largest input or output side a plan accepts. */
#define TG_RS_MAX_SIDE (1 << 24)

/* Builds the tables.  0 ok, -1 on a size out of range (< 1 or above
 * TG_RS_MAX_SIDE) or out of memory. */
int tg_rs_plan_init(tg_rs_plan *p, tg_rs_filter f, int in_w, int in_h, int out_w, int out_h);
void tg_rs_plan_free(tg_rs_plan *p);
/* Forces the pass order (tests); the default comes from the cost. */
void tg_rs_plan_set_order(tg_rs_plan *p, int vertical_first);
/* Floats of scratch tg_rs_ref_plane needs. */
size_t tg_rs_tmp_elems(const tg_rs_plan *p);

/* Reference for one plane.  src: in_h rows of in_w values, row i at
 * src + i * pitch (pitch >= in_w, so src may point into a larger frame for
 * a crop); dst: out_h x out_w, contiguous; tmp: tg_rs_tmp_elems floats. */
void tg_rs_ref_plane(const tg_rs_plan *p, const float *src, size_t pitch,
                     float *dst, float *tmp);

/* ---- OpenCL ----
 * A frame is `planes` planes of frame_h x frame_w values of type `dtype`
 * (any stream type; the first pass converts); the plan's input is the
 * in_w x in_h region at (crop_x, crop_y) of each plane.  The output is
 * planes x out_h x out_w float32, clipped to [lo, hi] when `clamp` is set.
 *
 * Tables go to the device once, in tg_rs_cl_create; the frame buffers are
 * allocated with CL_MEM_ALLOC_HOST_PTR and mapped for reading and writing,
 * which costs no copy when the device is the CPU.  Two input buffers let
 * the next frame be read while the kernels work on the current one:
 *
 *     void *in = tg_rs_cl_input(s);        // fill it with frame 0
 *     for each frame:
 *         tg_rs_cl_run(s);                 // kernels start on it
 *         in = tg_rs_cl_input(s);          // fill the next frame meanwhile
 *         const float *out = tg_rs_cl_output(s);   // waits for the kernels
 *         ...use out...
 *         tg_rs_cl_release_output(s);
 *
 * Functions return TG_CL_OK or an error with the message in tg_cl_error(). */
typedef struct tg_rs_cl tg_rs_cl;

typedef struct {
	ts_dtype dtype;
	int planes;
	int frame_w, frame_h;
	int crop_x, crop_y;
	int clamp;
	float lo, hi;
} tg_rs_frame;

int tg_rs_cl_create(tg_rs_cl **out, tg_cl *cl, const tg_rs_plan *p, const tg_rs_frame *f);
/* The input buffer to fill with the next frame (mapped for writing). */
int tg_rs_cl_input(tg_rs_cl *s, void **host);
/* Unmaps the filled input and enqueues the passes. */
int tg_rs_cl_run(tg_rs_cl *s);
/* Waits for the last run and maps its output (planes * out_h * out_w
 * floats) for reading; valid until tg_rs_cl_release_output. */
int tg_rs_cl_output(tg_rs_cl *s, const float **host);
int tg_rs_cl_release_output(tg_rs_cl *s);
void tg_rs_cl_free(tg_rs_cl *s);

#endif
