/* resample.c: coefficient tables of Pillow's and OpenCV's resize filters,
 * the plain-C reference resampler, and the host side of the OpenCL path
 * (kernels/resize.cl).  See resample.h for the table form.
 *
 * Facts reproduced (Pillow src/libImaging/Resample.c and Geometry.c,
 * OpenCV modules/imgproc/src/resize.cpp; notes in resize(1)):
 *
 * Pillow convolution filters: scale = in/out, filterscale = max(scale, 1),
 *   support = filter support * filterscale; output o is centred at
 *   center = (o + 0.5) * scale; its window is [(int)(center - support +
 *   0.5), (int)(center + support + 0.5)) clipped to the image; tap x weighs
 *   filter((x - center + 0.5) / filterscale) and the weights of each output
 *   are divided by their sum.  Filters: box (support 1/2: 1 on (-1/2, 1/2]),
 *   triangle (support 1), Keys cubic with a = -0.5 (support 2), Lanczos
 *   sinc(x) sinc(x/3) on [-3, 3) (support 3).  Mode 'F' sums in double.
 * Pillow NEAREST: an affine scan; input index = floor(xo) where xo starts at
 *   scale/2 and grows by scale per output, in double.
 * OpenCV INTER_LINEAR / INTER_CUBIC: scale = 1 / (out/in);
 *   fx = (float)((o + 0.5) * scale - 0.5), sx = floor(fx), t = fx - sx;
 *   taps sx, sx+1 weigh 1-t, t; cubic taps sx-1 .. sx+2 weigh Keys a = -0.75
 *   at t+1, t, 1-t, 2-t (the last as 1 minus the others), in float;
 *   indices outside the image are replicated from the edge.
 * OpenCV INTER_AREA when both scales are >= 1: integer scale: block mean;
 *   otherwise each output covers [o*scale, (o+1)*scale) and each input
 *   pixel weighs its covered length / min(scale, in - o*scale), partial
 *   pixels of less than 1e-3 being dropped.  When either scale is < 1 both
 *   axes interpolate linearly with sx = floor(o * scale) and
 *   t = (o + 1) - (sx + 1) / scale, t = t <= 0 ? 0 : t - floor(t).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"
#include "resample.h"

static const char *const filter_names[TG_RS_NFILTERS] = {
	"nearest", "box", "bilinear", "bicubic", "lanczos3",
	"bilinear-opencv", "cubic-opencv", "area",
};

const char *tg_rs_filter_name(tg_rs_filter f)
{
	return (unsigned)f < TG_RS_NFILTERS ? filter_names[f] : "?";
}

int tg_rs_filter_parse(const char *s, tg_rs_filter *out)
{
	for (int i = 0; i < TG_RS_NFILTERS; i++)
		if (strcmp(s, filter_names[i]) == 0) {
			*out = (tg_rs_filter)i;
			return 0;
		}
	return -1;
}

/* ---- per-output tap lists, before folding into windows ---- */

typedef struct {
	int idx;
	double w;
} tap;

typedef struct {
	int n_out, cap;
	int *count;  /* [n_out] */
	tap *t;      /* [n_out * cap] */
} taplist;

static int taplist_init(taplist *l, int n_out, int cap)
{
	l->n_out = n_out;
	l->cap = cap;
	if (n_out < 1 || cap < 1)
		return -1;
	l->count = calloc((size_t)n_out, sizeof *l->count);
	l->t = calloc((size_t)n_out * (size_t)cap, sizeof *l->t);
	return l->count && l->t ? 0 : -1;
}

static void taplist_free(taplist *l)
{
	free(l->count);
	free(l->t);
}

static void taplist_add(taplist *l, int o, int idx, double w)
{
	if (l->count[o] < l->cap) {
		tap *t = &l->t[(size_t)o * (size_t)l->cap + (size_t)l->count[o]++];
		t->idx = idx;
		t->w = w;
	}
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- Pillow ---- */

static double pil_box(double x)
{
	return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double pil_triangle(double x)
{
	x = fabs(x);
	return x < 1.0 ? 1.0 - x : 0.0;
}

/* Keys (1981) cubic convolution kernel with a = -0.5. */
static double pil_cubic(double x)
{
	const double a = -0.5;
	x = fabs(x);
	if (x < 1.0)
		return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
	if (x < 2.0)
		return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
	return 0.0;
}

static double sinc(double x)
{
	if (x == 0.0)
		return 1.0;
	x *= M_PI;
	return sin(x) / x;
}

static double pil_lanczos3(double x)
{
	return x >= -3.0 && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
}

static int pil_taps(taplist *l, int n_in, int n_out, double (*f)(double), double support0)
{
	double scale = (double)n_in / n_out;
	double filterscale = scale < 1.0 ? 1.0 : scale;
	double support = support0 * filterscale;
	int ksize = (int)ceil(support) * 2 + 1;
	if (taplist_init(l, n_out, ksize))
		return -1;
	for (int o = 0; o < n_out; o++) {
		double center = (o + 0.5) * scale, ss = 1.0 / filterscale, sum = 0;
		int xmin = (int)(center - support + 0.5);
		int xmax = (int)(center + support + 0.5);
		if (xmin < 0)
			xmin = 0;
		if (xmax > n_in)
			xmax = n_in;
		tap *t = &l->t[(size_t)o * (size_t)ksize];
		for (int x = xmin; x < xmax; x++) {
			double w = f((x - center + 0.5) * ss);
			taplist_add(l, o, x, w);
			sum += w;
		}
		if (sum != 0.0)
			for (int k = 0; k < l->count[o]; k++)
				t[k].w /= sum;
	}
	return 0;
}

static int pil_nearest_taps(taplist *l, int n_in, int n_out)
{
	if (taplist_init(l, n_out, 1))
		return -1;
	double step = (double)n_in / n_out, pos = step * 0.5;
	for (int o = 0; o < n_out; o++) {
		int i = pos < 0.0 ? -1 : (int)pos;
		taplist_add(l, o, clampi(i, 0, n_in - 1), 1.0);
		pos += step;
	}
	return 0;
}

/* ---- OpenCV ---- */

/* Keys cubic with a = -0.75 at distances t+1, t, 1-t, 2-t, in float as
 * OpenCV evaluates it; the last weight makes the sum 1. */
static void cv_cubic_weights(float t, float c[4])
{
	const float A = -0.75f;
	float u = t + 1.0f, v = 1.0f - t;
	c[0] = ((A * u - 5.0f * A) * u + 8.0f * A) * u - 4.0f * A;
	c[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
	c[2] = ((A + 2.0f) * v - (A + 3.0f)) * v * v + 1.0f;
	c[3] = 1.0f - c[0] - c[1] - c[2];
}

/* INTER_LINEAR, INTER_CUBIC, and INTER_AREA when it interpolates
 * (area_interp). */
static int cv_interp_taps(taplist *l, int n_in, int n_out, int cubic, int area_interp)
{
	if (taplist_init(l, n_out, 4))
		return -1;
	double inv_scale = (double)n_out / n_in, scale = 1.0 / inv_scale;
	for (int o = 0; o < n_out; o++) {
		float t;
		int sx;
		if (!area_interp) {
			t = (float)((o + 0.5) * scale - 0.5);
			sx = (int)floorf(t);
			t -= (float)sx;
		} else {
			sx = (int)floor(o * scale);
			t = (float)((o + 1) - (sx + 1) * inv_scale);
			t = t <= 0.0f ? 0.0f : t - floorf(t);
		}
		if (cubic) {
			float c[4];
			cv_cubic_weights(t, c);
			for (int k = 0; k < 4; k++)
				taplist_add(l, o, clampi(sx - 1 + k, 0, n_in - 1), c[k]);
		} else {
			if (sx < 0)
				t = 0.0f, sx = 0;
			if (sx >= n_in - 1)
				t = 0.0f, sx = n_in - 1;
			taplist_add(l, o, sx, 1.0f - t);
			taplist_add(l, o, clampi(sx + 1, 0, n_in - 1), t);
		}
	}
	return 0;
}

/* INTER_AREA's coverage weights (scale >= 1). */
static int cv_area_taps(taplist *l, int n_in, int n_out)
{
	double scale = 1.0 / ((double)n_out / n_in);
	if (taplist_init(l, n_out, (int)ceil(scale) + 2))
		return -1;
	for (int o = 0; o < n_out; o++) {
		double f1 = o * scale, f2 = f1 + scale;
		double cell = fmin(scale, n_in - f1);
		int s1 = (int)ceil(f1), s2 = (int)floor(f2);
		if (s2 > n_in - 1)
			s2 = n_in - 1;
		if (s1 > s2)
			s1 = s2;
		if (s1 - f1 > 1e-3)
			taplist_add(l, o, s1 - 1, (float)((s1 - f1) / cell));
		for (int s = s1; s < s2; s++)
			taplist_add(l, o, s, (float)(1.0 / cell));
		if (f2 - s2 > 1e-3)
			taplist_add(l, o, s2, (float)(fmin(fmin(f2 - s2, 1.0), cell) / cell));
	}
	return 0;
}

/* ---- folding tap lists into windows ---- */

static void axis_free(tg_rs_axis *a)
{
	free(a->start);
	free(a->w);
	a->start = NULL;
	a->w = NULL;
}

/* The longest span of nonzero weights of any output. */
static int span_of_taps(const taplist *l, int n_in)
{
	int taps = 1;
	for (int o = 0; o < l->n_out; o++) {
		const tap *t = &l->t[(size_t)o * (size_t)l->cap];
		int lo = n_in, hi = -1;
		for (int k = 0; k < l->count[o]; k++)
			if (t[k].w != 0.0) {
				if (t[k].idx < lo)
					lo = t[k].idx;
				if (t[k].idx > hi)
					hi = t[k].idx;
			}
		if (hi >= lo && hi - lo + 1 > taps)
			taps = hi - lo + 1;
	}
	return taps;
}

/* Folds the tap lists into windows of `taps` (>= their span, <= n_in). */
static int axis_from_taps(tg_rs_axis *a, int n_in, const taplist *l, int taps)
{
	int n_out = l->n_out;
	if (n_out < 1 || n_in < 1 || taps < 1 || taps > n_in)
		return -1;
	a->n_in = n_in;
	a->n_out = n_out;
	a->taps = taps;
	a->start = malloc((size_t)(unsigned)n_out * sizeof *a->start);
	a->w = calloc((size_t)(unsigned)n_out * (size_t)(unsigned)taps, sizeof *a->w);
	double *acc = calloc((size_t)taps, sizeof *acc);
	if (!a->start || !a->w || !acc) {
		free(acc);
		return -1;
	}
	for (int o = 0; o < n_out; o++) {
		const tap *t = &l->t[(size_t)o * (size_t)l->cap];
		int lo = n_in;
		for (int k = 0; k < l->count[o]; k++)
			if (t[k].w != 0.0 && t[k].idx < lo)
				lo = t[k].idx;
		if (lo == n_in)
			lo = clampi(o, 0, n_in - 1);
		int s = lo > n_in - taps ? n_in - taps : lo;
		memset(acc, 0, (size_t)taps * sizeof *acc);
		for (int k = 0; k < l->count[o]; k++)
			if (t[k].w != 0.0)
				acc[t[k].idx - s] += t[k].w;
		a->start[o] = s;
		for (int k = 0; k < taps; k++)
			a->w[(size_t)o * (size_t)taps + (size_t)k] = (float)acc[k];
	}
	free(acc);

	/* the special forms */
	a->identity = n_in == n_out;
	for (int o = 0; o < n_out && a->identity; o++)
		for (int k = 0; k < taps; k++)
			if (a->w[(size_t)o * (size_t)taps + (size_t)k] != (a->start[o] + k == o ? 1.0f : 0.0f))
				a->identity = 0;
	a->box = 0;
	if (!a->identity && n_in % n_out == 0 && taps == n_in / n_out && taps > 1) {
		double inv = 1.0 / taps;
		int box = 1;
		for (int o = 0; o < n_out && box; o++) {
			if (a->start[o] != o * taps)
				box = 0;
			for (int k = 0; k < taps && box; k++)
				if (fabs(a->w[(size_t)o * (size_t)taps + (size_t)k] - inv) > 1e-6 * inv)
					box = 0;
		}
		if (box)
			a->box = taps;
	}
	return 0;
}

/* pad: windows of x tables are padded to a multiple of 4 taps (when the
 * image is that wide) for resize_h's float4 loads. */
static int build_axis(tg_rs_axis *a, tg_rs_filter f, int n_in, int n_out, int area_true, int pad)
{
	taplist l = {0};
	int st;
	switch (f) {
	case TG_RS_NEAREST: st = pil_nearest_taps(&l, n_in, n_out); break;
	case TG_RS_BOX: st = pil_taps(&l, n_in, n_out, pil_box, 0.5); break;
	case TG_RS_BILINEAR: st = pil_taps(&l, n_in, n_out, pil_triangle, 1.0); break;
	case TG_RS_BICUBIC: st = pil_taps(&l, n_in, n_out, pil_cubic, 2.0); break;
	case TG_RS_LANCZOS3: st = pil_taps(&l, n_in, n_out, pil_lanczos3, 3.0); break;
	case TG_RS_BILINEAR_CV: st = cv_interp_taps(&l, n_in, n_out, 0, 0); break;
	case TG_RS_CUBIC_CV: st = cv_interp_taps(&l, n_in, n_out, 1, 0); break;
	case TG_RS_AREA_CV:
		st = area_true ? cv_area_taps(&l, n_in, n_out) : cv_interp_taps(&l, n_in, n_out, 0, 1);
		break;
	default: st = -1;
	}
	int span = st == 0 ? span_of_taps(&l, n_in) : 0;
	if (st == 0)
		st = axis_from_taps(a, n_in, &l, span);
	/* Pillow skips the pass of an unchanged axis (its Lanczos weights
	 * there are sin(k pi) / (k pi), not exactly 0). */
	if (st == 0 && f <= TG_RS_LANCZOS3 && n_in == n_out)
		a->identity = 1;
	if (st == 0 && a->identity) {
		/* an exact unit table, for a pass that only crops or converts */
		for (int o = 0; o < n_out; o++) {
			a->start[o] = o;
			a->w[o] = 1.0f;
		}
		a->taps = 1;
		a->box = 0;
	}
	int padded = (span + 3) / 4 * 4;
	if (st == 0 && pad && !a->identity && !a->box && padded != span && padded <= n_in) {
		axis_free(a);
		st = axis_from_taps(a, n_in, &l, padded);
	}
	taplist_free(&l);
	return st;
}

/* Multiply-adds of a pass, by the axis's window. */
static double axis_cost(const tg_rs_axis *a)
{
	return a->box ? a->box : a->taps;
}

int tg_rs_plan_init(tg_rs_plan *p, tg_rs_filter f, int in_w, int in_h, int out_w, int out_h)
{
	memset(p, 0, sizeof *p);
	if ((unsigned)f >= TG_RS_NFILTERS || in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1 ||
	    in_w > TG_RS_MAX_SIDE || in_h > TG_RS_MAX_SIDE || out_w > TG_RS_MAX_SIDE ||
	    out_h > TG_RS_MAX_SIDE)
		return -1;
	p->filter = f;
	p->in_w = in_w;
	p->in_h = in_h;
	p->out_w = out_w;
	p->out_h = out_h;
	/* OpenCV averages areas only when neither axis grows. */
	int area_true = in_w >= out_w && in_h >= out_h;
	if (build_axis(&p->x, f, in_w, out_w, area_true, 1) ||
	    build_axis(&p->y, f, in_h, out_h, area_true, 0)) {
		tg_rs_plan_free(p);
		return -1;
	}
	/* The horizontal pass costs about twice the vertical one per
	 * multiply-add: its windows are not shared by neighbouring outputs. */
	double vfirst = (double)out_h * in_w * axis_cost(&p->y) + 2.0 * out_h * out_w * axis_cost(&p->x);
	double hfirst = 2.0 * in_h * out_w * axis_cost(&p->x) + (double)out_h * out_w * axis_cost(&p->y);
	p->vertical_first = vfirst <= hfirst;
	return 0;
}

void tg_rs_plan_free(tg_rs_plan *p)
{
	axis_free(&p->x);
	axis_free(&p->y);
}

void tg_rs_plan_set_order(tg_rs_plan *p, int vertical_first)
{
	p->vertical_first = vertical_first != 0;
}

size_t tg_rs_tmp_elems(const tg_rs_plan *p)
{
	size_t a = (size_t)p->out_h * (size_t)p->in_w, b = (size_t)p->in_h * (size_t)p->out_w;
	return a > b ? a : b;
}

/* ---- reference passes (the kernels do the same sums in the same order) ---- */

/* dst[o][x] = sum_k w[o][k] * src[start[o] + k][x] for x < width. */
static void ref_vertical(const tg_rs_axis *a, const float *src, size_t spitch, size_t width,
                         float *dst, size_t dpitch)
{
	for (int o = 0; o < a->n_out; o++) {
		float *d = dst + (size_t)o * dpitch;
		if (a->box) {
			const float *s = src + (size_t)o * (size_t)a->box * spitch;
			float inv = 1.0f / (float)a->box;
			for (size_t x = 0; x < width; x++) {
				float acc = 0.0f;
				for (int k = 0; k < a->box; k++)
					acc += s[(size_t)k * spitch + x];
				d[x] = acc * inv;
			}
		} else {
			const float *s = src + (size_t)a->start[o] * spitch;
			const float *w = a->w + (size_t)o * (size_t)a->taps;
			for (size_t x = 0; x < width; x++) {
				float acc = 0.0f;
				for (int k = 0; k < a->taps; k++)
					acc += w[k] * s[(size_t)k * spitch + x];
				d[x] = acc;
			}
		}
	}
}

/* dst[r][o] = sum_k w[o][k] * src[r][start[o] + k] for r < rows, four
 * partial sums over k mod 4 added as (s0 + s1) + (s2 + s3), then the taps
 * left over: the order of resize_h's float4 lanes. */
static void ref_horizontal(const tg_rs_axis *a, const float *src, size_t spitch, size_t rows,
                           float *dst, size_t dpitch)
{
	float inv = a->box ? 1.0f / (float)a->box : 0.0f;
	int n = a->box ? a->box : a->taps;
	for (size_t r = 0; r < rows; r++) {
		const float *row = src + r * spitch;
		float *d = dst + r * dpitch;
		for (int o = 0; o < a->n_out; o++) {
			const float *s = row + (a->box ? (size_t)o * (size_t)a->box : (size_t)a->start[o]);
			const float *w = a->w + (size_t)o * (size_t)a->taps;
			float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};
			int k = 0;
			for (; k + 4 <= n; k += 4)
				for (int j = 0; j < 4; j++)
					part[j] += a->box ? s[k + j] : w[k + j] * s[k + j];
			float acc = (part[0] + part[1]) + (part[2] + part[3]);
			for (; k < n; k++)
				acc += a->box ? s[k] : w[k] * s[k];
			d[o] = a->box ? acc * inv : acc;
		}
	}
}

void tg_rs_ref_plane(const tg_rs_plan *p, const float *src, size_t pitch, float *dst, float *tmp)
{
	size_t iw = (size_t)p->in_w, ih = (size_t)p->in_h, ow = (size_t)p->out_w, oh = (size_t)p->out_h;
	if (p->x.identity && p->y.identity) {
		for (size_t r = 0; r < ih; r++)
			memcpy(dst + r * ow, src + r * pitch, iw * sizeof *dst);
	} else if (p->x.identity) {
		ref_vertical(&p->y, src, pitch, iw, dst, ow);
	} else if (p->y.identity) {
		ref_horizontal(&p->x, src, pitch, ih, dst, ow);
	} else if (p->vertical_first) {
		ref_vertical(&p->y, src, pitch, iw, tmp, iw);
		ref_horizontal(&p->x, tmp, iw, oh, dst, ow);
	} else {
		ref_horizontal(&p->x, src, pitch, ih, tmp, ow);
		ref_vertical(&p->y, tmp, ow, ow, dst, ow);
	}
}

/* ---- OpenCL ---- */

/* Work-group width of the passes: one row of outputs per group, wide
 * enough for PoCL to vectorise across work items. */
#define RS_LOCAL_X 64
#define RS_CPU_VEC 16
/* Rows one work item of the horizontal pass computes (kernel's HROWS). */
#define RS_HROWS 4

struct pass {
	int vertical;
	const tg_rs_axis *axis;
	int from_input;        /* reads the frame (its type, crop) else the intermediate */
	cl_mem dst;
	size_t width, rows;    /* vertical: width of the rows; horizontal: rows */
	cl_ulong src_off, src_plane, dst_plane;
	cl_uint src_pitch, dst_pitch;
	int last;              /* writes the output (applies the clamp) */
	cl_mem start, w;
};

struct tg_rs_cl {
	tg_cl *cl;
	const tg_rs_plan *p;
	tg_rs_frame f;
	int vec;               /* columns per work item of the vertical pass */
	char opt_in[64], opt_float[64];
	struct pass pass[2];
	int npass;
	cl_mem in[2], mid, out;
	cl_mem xstart, xw, ystart, yw;
	void *in_map[2];
	void *out_map;
	int cur;
	size_t in_bytes, out_bytes;
};

static const char *src_type_option(ts_dtype t)
{
	switch (t) {
	case TS_U8: return "-DSRC_T=uchar";
	case TS_U16: return "-DSRC_T=ushort";
	case TS_I16: return "-DSRC_T=short";
	case TS_F16: return "-DSRC_HALF=1";
	default: return "-DSRC_T=float";
	}
}

static cl_mem alloc_host(tg_cl *cl, size_t bytes, cl_mem_flags access)
{
	cl_int err;
	if (bytes == 0)
		bytes = 16;
	cl_mem m = clCreateBuffer(cl->ctx, access | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &err);
	if (!m || err != CL_SUCCESS) {
		tg_cl_fail(TG_CL_FAIL, "allocating a %zu-byte frame buffer on %s: %s", bytes, cl->name,
		           tg_cl_errname(err));
		return NULL;
	}
	return m;
}

static int upload_axis(tg_cl *cl, const tg_rs_axis *a, cl_mem *start, cl_mem *w)
{
	size_t ns = (size_t)a->n_out * sizeof(int), nw = (size_t)a->n_out * (size_t)a->taps * sizeof(float);
	if (!(*start = tg_cl_alloc(cl, ns, NULL)) || !(*w = tg_cl_alloc(cl, nw, NULL)))
		return TG_CL_FAIL;
	int st = tg_cl_write(cl, *start, 0, ns, a->start);
	return st ? st : tg_cl_write(cl, *w, 0, nw, a->w);
}

static void release(cl_mem *m)
{
	if (*m)
		clReleaseMemObject(*m);
	*m = NULL;
}

void tg_rs_cl_free(tg_rs_cl *s)
{
	if (!s)
		return;
	if (s->cl) {
		for (int i = 0; i < 2; i++)
			if (s->in_map[i])
				clEnqueueUnmapMemObject(s->cl->queue, s->in[i], s->in_map[i], 0, NULL, NULL);
		if (s->out_map)
			clEnqueueUnmapMemObject(s->cl->queue, s->out, s->out_map, 0, NULL, NULL);
		clFinish(s->cl->queue);
	}
	release(&s->in[0]);
	release(&s->in[1]);
	release(&s->mid);
	release(&s->out);
	release(&s->xstart);
	release(&s->xw);
	release(&s->ystart);
	release(&s->yw);
	free(s);
}

int tg_rs_cl_create(tg_rs_cl **out, tg_cl *cl, const tg_rs_plan *p, const tg_rs_frame *f)
{
	*out = NULL;
	size_t esz = ts_dtype_size(f->dtype);
	if (!cl || !esz || f->planes < 1 || f->crop_x < 0 || f->crop_y < 0 ||
	    f->crop_x + p->in_w > f->frame_w || f->crop_y + p->in_h > f->frame_h)
		return tg_cl_fail(TG_CL_FAIL, "resample: frame geometry does not hold the plan's input");
	tg_rs_cl *s = calloc(1, sizeof *s);
	if (!s)
		return tg_cl_fail(TG_CL_FAIL, "out of memory");
	s->cl = cl;
	s->p = p;
	s->f = *f;
	/* CPUs: one work item per 16 columns (an AVX-512 register; faster than
	 * 8 on PoCL here) with explicit vector loads; GPUs: one column. */
	s->vec = cl->is_cpu ? RS_CPU_VEC : 1;
	const char *env = getenv("TOMOGAN_RESIZE_VEC");
	if (env && (!strcmp(env, "1") || !strcmp(env, "2") || !strcmp(env, "4") || !strcmp(env, "8") ||
	            !strcmp(env, "16")))
		s->vec = atoi(env);
	snprintf(s->opt_in, sizeof s->opt_in, "%s -DVEC=%d -DHROWS=%d", src_type_option(f->dtype),
	         s->vec, RS_HROWS);
	snprintf(s->opt_float, sizeof s->opt_float, "-DSRC_T=float -DVEC=%d -DHROWS=%d", s->vec,
	         RS_HROWS);
	size_t planes = (size_t)f->planes;
	s->in_bytes = planes * (size_t)f->frame_w * (size_t)f->frame_h * esz;
	s->out_bytes = planes * (size_t)p->out_w * (size_t)p->out_h * sizeof(float);
	int st = TG_CL_FAIL;
	if (!(s->in[0] = alloc_host(cl, s->in_bytes, CL_MEM_READ_ONLY)) ||
	    !(s->in[1] = alloc_host(cl, s->in_bytes, CL_MEM_READ_ONLY)) ||
	    !(s->out = alloc_host(cl, s->out_bytes, CL_MEM_WRITE_ONLY)))
		goto fail;
	if ((st = upload_axis(cl, &p->x, &s->xstart, &s->xw)) ||
	    (st = upload_axis(cl, &p->y, &s->ystart, &s->yw)))
		goto fail;

	/* The passes: none is skipped unless its axis is unchanged; with both
	 * unchanged (a crop, or a type conversion) the vertical identity table
	 * copies. */
	int need_x = !p->x.identity, need_y = !p->y.identity;
	if (!need_x && !need_y)
		need_y = 1;
	int vfirst = need_x && need_y ? p->vertical_first : need_y;
	size_t frame_plane = (size_t)f->frame_w * (size_t)f->frame_h;
	cl_ulong crop_off = (cl_ulong)f->crop_y * (cl_ulong)f->frame_w + (cl_ulong)f->crop_x;
	s->npass = need_x + need_y;
	for (int i = 0; i < s->npass; i++) {
		struct pass *ps = &s->pass[i];
		ps->vertical = i == 0 ? vfirst : !vfirst;
		ps->axis = ps->vertical ? &p->y : &p->x;
		ps->start = ps->vertical ? s->ystart : s->xstart;
		ps->w = ps->vertical ? s->yw : s->xw;
		ps->from_input = i == 0;
		ps->last = i == s->npass - 1;
		/* shape this pass reads: in_w x in_h, or after the first pass */
		size_t rw = i == 0 ? (size_t)p->in_w : (vfirst ? (size_t)p->in_w : (size_t)p->out_w);
		size_t rh = i == 0 ? (size_t)p->in_h : (vfirst ? (size_t)p->out_h : (size_t)p->in_h);
		size_t ow = ps->vertical ? rw : (size_t)p->out_w;
		size_t oh = ps->vertical ? (size_t)ps->axis->n_out : rh;
		ps->width = rw;
		ps->rows = rh;
		if (i == 0) {
			ps->src_off = crop_off;
			ps->src_pitch = (cl_uint)f->frame_w;
			ps->src_plane = frame_plane;
		} else {
			ps->src_off = 0;
			ps->src_pitch = (cl_uint)rw;
			ps->src_plane = rw * rh;
		}
		ps->dst_pitch = (cl_uint)ow;
		ps->dst_plane = ow * oh;
		if (ps->last) {
			ps->dst = s->out;
		} else {
			if (!(s->mid = tg_cl_alloc(cl, planes * ow * oh * sizeof(float), NULL))) {
				st = TG_CL_FAIL;
				goto fail;
			}
			ps->dst = s->mid;
		}
	}
	/* Build the programs now, so a compile error shows before any frame. */
	for (int i = 0; i < s->npass; i++) {
		const char *opt = s->pass[i].from_input ? s->opt_in : s->opt_float;
		const char *name = s->pass[i].vertical ? "resize_v" : "resize_h";
		if (!tg_cl_kernel(cl, "resize.cl", name, opt)) {
			st = TG_CL_BUILD;
			goto fail;
		}
	}
	*out = s;
	return TG_CL_OK;
fail:
	tg_rs_cl_free(s);
	return st ? st : TG_CL_FAIL;
}

static int map_input(tg_rs_cl *s, int i)
{
	if (s->in_map[i])
		return TG_CL_OK;
	cl_int err;
	s->in_map[i] = clEnqueueMapBuffer(s->cl->queue, s->in[i], CL_TRUE,
	                                  CL_MAP_WRITE_INVALIDATE_REGION, 0, s->in_bytes, 0, NULL,
	                                  NULL, &err);
	if (err != CL_SUCCESS || !s->in_map[i]) {
		s->in_map[i] = NULL;
		return tg_cl_fail(TG_CL_FAIL, "mapping the input frame buffer: %s", tg_cl_errname(err));
	}
	return TG_CL_OK;
}

int tg_rs_cl_input(tg_rs_cl *s, void **host)
{
	int st = map_input(s, s->cur);
	*host = s->in_map[s->cur];
	return st;
}

static int run_pass(tg_rs_cl *s, const struct pass *ps, cl_mem src)
{
	const char *opt = ps->from_input ? s->opt_in : s->opt_float;
	cl_kernel k = tg_cl_kernel(s->cl, "resize.cl", ps->vertical ? "resize_v" : "resize_h", opt);
	if (!k)
		return TG_CL_FAIL;
	const tg_rs_axis *a = ps->axis;
	cl_uint n_out = (cl_uint)a->n_out, taps = (cl_uint)a->taps, box = (cl_uint)a->box;
	cl_uint width = (cl_uint)(ps->vertical ? ps->width : (size_t)a->n_out);
	cl_int clamp = ps->last && s->f.clamp;
	float lo = s->f.lo, hi = s->f.hi;
	float inv = a->box ? 1.0f / (float)a->box : 0.0f;
	cl_uint rows = (cl_uint)(ps->vertical ? (size_t)n_out : ps->rows);
	int st = tg_cl_args(k,
		sizeof(cl_mem), &src, sizeof(cl_ulong), &ps->src_off, sizeof(cl_uint), &ps->src_pitch,
		sizeof(cl_ulong), &ps->src_plane,
		sizeof(cl_mem), &ps->dst, sizeof(cl_uint), &ps->dst_pitch, sizeof(cl_ulong), &ps->dst_plane,
		sizeof(cl_uint), &width, sizeof(cl_uint), &taps,
		sizeof(cl_mem), &ps->start, sizeof(cl_mem), &ps->w,
		sizeof(cl_uint), &box, sizeof(float), &inv,
		sizeof(cl_int), &clamp, sizeof(float), &lo, sizeof(float), &hi,
		sizeof(cl_uint), &rows, (size_t)0);
	if (st)
		return st;
	size_t local[3] = {RS_LOCAL_X, 1, 1};
	if (local[0] > s->cl->max_wg)
		local[0] = s->cl->max_wg;
	size_t items = ps->vertical ? ((size_t)width + (size_t)s->vec - 1) / (size_t)s->vec : width;
	size_t per = ps->vertical ? 1 : RS_HROWS;
	size_t groups = ((size_t)rows + per - 1) / per;
	size_t global[3] = {(items + local[0] - 1) / local[0] * local[0], groups, (size_t)s->f.planes};
	return tg_cl_run(s->cl, k, 3, global, local);
}

int tg_rs_cl_run(tg_rs_cl *s)
{
	int cur = s->cur, st;
	if (!s->in_map[cur])
		return tg_cl_fail(TG_CL_FAIL, "resample: run without an input frame");
	/* Map the other input now, while the queue is idle: on an in-order
	 * queue a map issued after the kernels would wait for them. */
	if ((st = map_input(s, cur ^ 1)))
		return st;
	cl_int err = clEnqueueUnmapMemObject(s->cl->queue, s->in[cur], s->in_map[cur], 0, NULL, NULL);
	s->in_map[cur] = NULL;
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "unmapping the input frame buffer: %s", tg_cl_errname(err));
	for (int i = 0; i < s->npass; i++)
		if ((st = run_pass(s, &s->pass[i], i == 0 ? s->in[cur] : s->mid)))
			return st;
	if ((err = clFlush(s->cl->queue)) != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "starting the resize kernels: %s", tg_cl_errname(err));
	s->cur = cur ^ 1;
	return TG_CL_OK;
}

int tg_rs_cl_output(tg_rs_cl *s, const float **host)
{
	cl_int err;
	*host = NULL;
	if (!s->out_map) {
		s->out_map = clEnqueueMapBuffer(s->cl->queue, s->out, CL_TRUE, CL_MAP_READ, 0,
		                                s->out_bytes, 0, NULL, NULL, &err);
		if (err != CL_SUCCESS || !s->out_map) {
			s->out_map = NULL;
			return tg_cl_fail(TG_CL_FAIL, "resize kernels or mapping their output: %s",
			                  tg_cl_errname(err));
		}
	}
	*host = s->out_map;
	return TG_CL_OK;
}

int tg_rs_cl_release_output(tg_rs_cl *s)
{
	if (!s->out_map)
		return TG_CL_OK;
	cl_int err = clEnqueueUnmapMemObject(s->cl->queue, s->out, s->out_map, 0, NULL, NULL);
	s->out_map = NULL;
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "unmapping the output buffer: %s", tg_cl_errname(err));
	return TG_CL_OK;
}
