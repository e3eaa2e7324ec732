/* test_nn_conv: linear, conv2d and transposed conv2d on the OpenCL device
 * against the plain-C references (nn/ops.h), forward and backward.
 *
 * Error measure (test_nn_util.h): max |device - reference| / max |reference|
 * over each tensor; tolerance 1e-5 (the references accumulate in double,
 * the device in float through OpenBLAS or CLBlast).  Every device tensor
 * sits 3 elements into its buffer (offsets are exercised); outputs and dx
 * start as NaN (everything must be written, dx assigned), dW and db start
 * from the same random values on both sides (they must accumulate).  Each
 * conv shape runs with the default tiling and again with tiles of a few
 * columns (bands of output rows, several tiles per image); the first run
 * takes the stride-1 data gradient as a convolution with flipped weights,
 * the second as GEMM + col2im.  A few cases
 * run again with the other GEMM backend forced (CLBlast where OpenBLAS is
 * the default, and the reverse). */
#include "test_nn_util.h"

#define TOL 1e-5
#define PAD 3

static nn_rng rng;
/* floats before each test tensor in its buffer: PAD (an offset that is
 * no multiple of a vector), or 16 for the cases that need 64-byte
 * aligned tensors (pad_of) */
static size_t pad = PAD;

static nn_buf up(nn_ctx *ctx, const float *host, size_t n)
{
	cl_mem m = nn_alloc(ctx, n + pad, NULL);
	if (!m) {
		fprintf(stderr, "%s\n", nn_error());
		exit(70);
	}
	nn_buf b = nn_buf_of(m, pad);
	if (host && nn_write(ctx, b, host, n) != TG_CL_OK) {
		fprintf(stderr, "%s\n", nn_error());
		exit(70);
	}
	return b;
}

static float *nan_filled(size_t n)
{
	float *p = nn_test_alloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = NAN;
	return p;
}

static void free_bufs(nn_buf *b, int n)
{
	for (int i = 0; i < n; i++)
		if (b[i].mem)
			clReleaseMemObject(b[i].mem);
}

/* Compares a device tensor with the reference; returns the error. */
static double compare(nn_ctx *ctx, nn_buf b, const float *ref, size_t n)
{
	float *d = nn_test_down(ctx, b, n);
	double e = nn_err(d, ref, n);
	free(d);
	return e;
}

/* The error of a bias gradient: as compare's, but relative to at least
 * 1 and to the root sum of squares of the terms summed (dy [B, n,
 * plane]), the size their partial sums reach.  Each element sums
 * B*OH*OW terms of up to 1 in size, so a total near 0 is no scale for
 * its rounding: one output channel of 2 x 6 x 21, with other random
 * draws, once summed to 0.02, where float rounding of 1e-6 read as 5e-5;
 * one of 2 x 70 x 20 (partial sums near 30) came to 1.1e-5 off a total
 * under 1. */
static double compare_sum(nn_ctx *ctx, nn_buf b, const float *ref, size_t n, const float *dy,
                          int B, size_t plane)
{
	float *d = nn_test_down(ctx, b, n);
	double e = 0;
	for (size_t i = 0; i < n; i++) {
		double ss = 0;
		for (int k = 0; k < B; k++)
			for (size_t j = 0; j < plane; j++) {
				double t = dy[((size_t)k * n + i) * plane + j];
				ss += t * t;
			}
		double m = fabs((double)ref[i]), r = sqrt(ss);
		m = m > 1 ? m : 1;
		m = r > m ? r : m;
		double a = fabs((double)d[i] - (double)ref[i]) / m;
		e = isnan(a) ? INFINITY : a > e ? a : e;
	}
	free(d);
	return e;
}

/* ---- linear ---- */

static void linear_case(nn_ctx *ctx, int B, int in, int out, int bias)
{
	size_t nx = (size_t)B * in, nw = (size_t)out * in, ny = (size_t)B * out;
	float *x = nn_test_uniform(&rng, nx, -1, 1), *w = nn_test_uniform(&rng, nw, -1, 1);
	float *b = nn_test_uniform(&rng, out, -1, 1), *dy = nn_test_uniform(&rng, ny, -1, 1);
	float *dw0 = nn_test_uniform(&rng, nw, -1, 1), *db0 = nn_test_uniform(&rng, out, -1, 1);
	float *y = nn_test_alloc(ny), *dx = nn_test_alloc(nx);
	float *dw = nn_test_copy(dw0, nw), *db = nn_test_copy(db0, out);
	nn_ref_linear_forward(y, x, w, bias ? b : NULL, B, in, out);
	nn_ref_linear_backward(dx, dw, bias ? db : NULL, dy, x, w, B, in, out);

	float *nan_y = nan_filled(ny), *nan_x = nan_filled(nx);
	nn_buf d[8] = { up(ctx, x, nx), up(ctx, w, nw), up(ctx, b, out), up(ctx, dy, ny),
	                up(ctx, nan_y, ny), up(ctx, nan_x, nx), up(ctx, dw0, nw), up(ctx, db0, out) };
	int st = nn_linear_forward(ctx, d[4], d[0], d[1], bias ? d[2] : NN_NONE, B, in, out);
	if (st == TG_CL_OK)
		st = nn_linear_backward(ctx, d[5], d[6], bias ? d[7] : NN_NONE, d[3], d[0], d[1], B, in,
		                        out);
	double ey = compare(ctx, d[4], y, ny), ex = compare(ctx, d[5], dx, nx);
	double ew = compare(ctx, d[6], dw, nw), eb = compare(ctx, d[7], bias ? db : db0, out);
	check(st == TG_CL_OK && ey <= TOL && ex <= TOL && ew <= TOL && eb <= TOL,
	      "linear B %d, %d -> %d%s: errors y %.2g dx %.2g dW %.2g db %.2g (tolerance %g)%s%s", B,
	      in, out, bias ? "" : " no bias", ey, ex, ew, eb, TOL, st ? ": " : "",
	      st ? nn_error() : "");
	free_bufs(d, 8);
	free(x), free(w), free(b), free(dy), free(dw0), free(db0), free(y), free(dx), free(dw);
	free(db), free(nan_y), free(nan_x);
}

/* ---- conv2d / conv_transpose2d ---- */

typedef struct conv_case {
	const char *name;
	int B, C, H, W, OC, KH, KW, SH, SW, PH, PW, OPH, OPW;
	int bias;
	int transposed;
	int no_dx;
} conv_case;

/* Cases named "past the caches" put their tensors at 64-byte boundaries
 * (conv_c1_forward's non-temporal stores need them). */
static size_t pad_of(const conv_case *k)
{
	return strstr(k->name, "past the caches") ? 16 : PAD;
}

static void run_conv_at(nn_ctx *ctx, const conv_case *k, size_t col_cols);

static void run_conv(nn_ctx *ctx, const conv_case *k, size_t col_cols)
{
	pad = pad_of(k);
	run_conv_at(ctx, k, col_cols);
	pad = PAD;
}

static void run_conv_at(nn_ctx *ctx, const conv_case *k, size_t col_cols)
{
	nn_conv2d g;
	nn_convt2d t;
	int OH, OW, bad;
	if (k->transposed) {
		bad = nn_convt2d_shape(&t, k->B, k->C, k->H, k->W, k->OC, k->KH, k->KW, k->SH, k->SW,
		                       k->PH, k->PW, k->OPH, k->OPW);
		OH = t.OH, OW = t.OW;
	} else {
		bad = nn_conv2d_shape(&g, k->B, k->C, k->H, k->W, k->OC, k->KH, k->KW, k->SH, k->SW,
		                      k->PH, k->PW);
		OH = g.OH, OW = g.OW;
	}
	if (bad) {
		check(0, "%s: shape refused: %s", k->name, nn_error());
		return;
	}
	size_t nx = (size_t)k->B * k->C * k->H * k->W, nw = (size_t)k->OC * k->C * k->KH * k->KW;
	size_t ny = (size_t)k->B * k->OC * OH * OW;
	float *x = nn_test_uniform(&rng, nx, -1, 1), *w = nn_test_uniform(&rng, nw, -1, 1);
	float *b = nn_test_uniform(&rng, k->OC, -1, 1), *dy = nn_test_uniform(&rng, ny, -1, 1);
	float *dw0 = nn_test_uniform(&rng, nw, -1, 1), *db0 = nn_test_uniform(&rng, k->OC, -1, 1);
	float *y = nn_test_alloc(ny), *dx = nn_test_alloc(nx);
	float *dw = nn_test_copy(dw0, nw), *db = nn_test_copy(db0, k->OC);
	const float *bias = k->bias ? b : NULL;
	if (k->transposed) {
		nn_ref_convt2d_forward(&t, y, x, w, bias);
		nn_ref_convt2d_backward(&t, dx, dw, k->bias ? db : NULL, dy, x, w);
	} else {
		nn_ref_conv2d_forward(&g, y, x, w, bias);
		nn_ref_conv2d_backward(&g, dx, dw, k->bias ? db : NULL, dy, x, w);
	}

	float *nan_y = nan_filled(ny), *nan_x = nan_filled(nx);
	nn_buf d[8] = { up(ctx, x, nx), up(ctx, w, nw), up(ctx, b, k->OC), up(ctx, dy, ny),
	                up(ctx, nan_y, ny), up(ctx, nan_x, nx), up(ctx, dw0, nw),
	                up(ctx, db0, k->OC) };
	nn_buf db_dev = k->bias ? d[7] : NN_NONE, dx_dev = k->no_dx ? NN_NONE : d[5];
	size_t saved = ctx->col_cols;
	int saved_flip = ctx->flip_dx;
	ctx->col_cols = col_cols;
	ctx->flip_dx = col_cols > 64;   /* narrow tiles also take the col2im data gradient */
	ctx->shift_elems = col_cols > 64 ? 0 : 1;   /* and shifted GEMMs one image at a time */
	int st;
	if (k->transposed) {
		st = nn_convt2d_forward(ctx, &t, d[4], d[0], d[1], k->bias ? d[2] : NN_NONE);
		if (st == TG_CL_OK)
			st = nn_convt2d_backward(ctx, &t, dx_dev, d[6], db_dev, d[3], d[0], d[1]);
	} else {
		st = nn_conv2d_forward(ctx, &g, d[4], d[0], d[1], k->bias ? d[2] : NN_NONE);
		if (st == TG_CL_OK)
			st = nn_conv2d_backward(ctx, &g, dx_dev, d[6], db_dev, d[3], d[0], d[1]);
	}
	ctx->col_cols = saved;
	ctx->flip_dx = saved_flip;
	ctx->shift_elems = 0;
	double ey = compare(ctx, d[4], y, ny);
	double ex = k->no_dx ? 0 : compare(ctx, d[5], dx, nx);
	double ew = compare(ctx, d[6], dw, nw);
	double eb = compare_sum(ctx, d[7], k->bias ? db : db0, k->OC, dy, k->B,
	                        (size_t)OH * OW);
	check(st == TG_CL_OK && ey <= TOL && ex <= TOL && ew <= TOL && eb <= TOL,
	      "%s [%d,%d,%d,%d] -> [%d,%d,%d,%d], %zu-column tiles: errors y %.2g dx %.2g dw %.2g "
	      "db %.2g (tolerance %g)%s%s", k->name, k->B, k->C, k->H, k->W, k->B, k->OC, OH, OW,
	      col_cols, ey, ex, ew, eb, TOL, st ? ": " : "", st ? nn_error() : "");
	free_bufs(d, 8);
	free(x), free(w), free(b), free(dy), free(dw0), free(db0), free(y), free(dx), free(dw);
	free(db), free(nan_y), free(nan_x);
}

/* The forward with an activation in the same pass (nn_conv2d_forward_act)
 * against the reference conv followed by the activation on the host, with
 * the formulas of the activation kernels (ReLU keeps NaN; LeakyReLU
 * v > 0 ? v : v * slope).  act alternates between ReLU and LeakyReLU(0.2)
 * from case to case; the check also asks for outputs of both signs.
 * Tolerance as above. */
static void run_act_at(nn_ctx *ctx, const conv_case *k, int act);

static void run_act(nn_ctx *ctx, const conv_case *k, int act)
{
	pad = pad_of(k);
	run_act_at(ctx, k, act);
	pad = PAD;
}

static void run_act_at(nn_ctx *ctx, const conv_case *k, int act)
{
	nn_conv2d g;
	if (nn_conv2d_shape(&g, k->B, k->C, k->H, k->W, k->OC, k->KH, k->KW, k->SH, k->SW, k->PH,
	                    k->PW)) {
		check(0, "%s: shape refused: %s", k->name, nn_error());
		return;
	}
	const float slope = 0.2f;
	size_t nx = (size_t)k->B * k->C * k->H * k->W, nw = (size_t)k->OC * k->C * k->KH * k->KW;
	size_t ny = (size_t)k->B * k->OC * g.OH * g.OW;
	float *x = nn_test_uniform(&rng, nx, -1, 1), *w = nn_test_uniform(&rng, nw, -1, 1);
	/* a bias of at most 0.25: with one of up to 1 and few input channels
	 * every output of a channel could take its sign (a 1x1 conv of 3
	 * channels once had none positive), leaving a side of the activation
	 * untested */
	float *b = nn_test_uniform(&rng, k->OC, -0.25f, 0.25f), *y = nn_test_alloc(ny);
	nn_ref_conv2d_forward(&g, y, x, w, k->bias ? b : NULL);
	size_t neg = 0;
	for (size_t i = 0; i < ny; i++) {
		if (y[i] <= 0.0f)
			neg++;
		y[i] = act == NN_ACT_RELU ? (y[i] > 0.0f ? y[i] : 0.0f)
		                          : (y[i] > 0.0f ? y[i] : y[i] * slope);
	}
	float *nan_y = nan_filled(ny);
	nn_buf d[4] = { up(ctx, x, nx), up(ctx, w, nw), up(ctx, b, k->OC), up(ctx, nan_y, ny) };
	int st = nn_conv2d_forward_act(ctx, &g, d[3], d[0], d[1], k->bias ? d[2] : NN_NONE, act,
	                               slope);
	double ey = compare(ctx, d[3], y, ny);
	check(st == TG_CL_OK && ey <= TOL && neg > 0 && neg < ny,
	      "%s with %s: error y %.2g (tolerance %g), %zu of %zu outputs not positive%s%s",
	      k->name, act == NN_ACT_RELU ? "ReLU" : "LeakyReLU(0.2)", ey, TOL, neg, ny,
	      st ? ": " : "", st ? nn_error() : "");
	free_bufs(d, 4);
	free(x), free(w), free(b), free(y), free(nan_y);
}

static const conv_case cases[] = {
	{ "conv2d 3x3 s1 p1", 3, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1", 2, 4, 8, 8, 6, 3, 3, 2, 2, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 1x1 (direct GEMM)", 2, 5, 6, 7, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 1x1 s2 (columns)", 2, 3, 7, 6, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 s2 p2", 2, 3, 11, 10, 4, 5, 5, 2, 2, 2, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 9x9 p4 (SRCNN first layer)", 2, 1, 13, 12, 8, 9, 9, 1, 1, 4, 4, 0, 0, 1, 0, 1 },
	{ "conv2d 9x9 valid", 1, 2, 12, 11, 3, 9, 9, 1, 1, 0, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 p2 one output channel", 3, 4, 9, 8, 1, 5, 5, 1, 1, 2, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 one output channel no bias", 2, 3, 9, 9, 1, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 1x1 one output channel", 2, 6, 5, 5, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 1x7 p(0,3)", 2, 3, 6, 9, 4, 1, 7, 1, 1, 0, 3, 0, 0, 1, 0, 0 },
	{ "conv2d 7x1 p(3,0)", 2, 3, 9, 6, 4, 7, 1, 1, 1, 3, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 3x1 p(1,0)", 2, 3, 7, 5, 4, 3, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 stride (2,1) p(1,0)", 2, 3, 9, 6, 4, 3, 3, 2, 1, 1, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 4x4 s2 p1 no bias", 2, 3, 8, 8, 4, 4, 4, 2, 2, 1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 p2 (padding beyond half)", 1, 2, 5, 6, 3, 3, 3, 1, 1, 2, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s3 (skipped rows)", 2, 2, 10, 11, 3, 3, 3, 3, 3, 0, 0, 0, 0, 1, 0, 0 },
	/* C >= 8, stride 1: shifted GEMMs (conv.c), the data gradient too when OC >= 8 */
	{ "conv2d 3x3 s1 p1 shifted", 3, 9, 9, 7, 10, 3, 3, 1, 1, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 p2 shifted", 2, 8, 11, 6, 8, 5, 5, 1, 1, 2, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 valid shifted, OC 3", 2, 8, 7, 9, 3, 3, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0 },
	{ "conv2d 1x7 p(0,3) shifted", 2, 8, 5, 9, 9, 1, 7, 1, 1, 0, 3, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 p2 shifted (padding beyond half)", 2, 8, 5, 6, 8, 3, 3, 1, 1, 2, 2, 0, 0, 1, 0,
	  0 },
	{ "conv2d 3x1 p(2,0) shifted, no dx", 3, 12, 6, 5, 8, 3, 1, 1, 1, 2, 0, 0, 0, 1, 0, 1 },
	/* strides above 1: phase planes, the data gradient by the adjoint */
	{ "conv2d 3x3 s2 p1 shifted", 3, 8, 9, 8, 9, 3, 3, 2, 2, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 4x4 s2 p1 shifted", 2, 8, 8, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 stride (2,1) p(1,0) shifted", 2, 9, 9, 6, 8, 3, 3, 2, 1, 1, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 s3 p1 shifted (unread rows)", 2, 8, 12, 10, 8, 5, 5, 3, 3, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 1x1 s2 shifted", 2, 8, 7, 6, 8, 1, 1, 2, 2, 0, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 shifted, one column", 2, 8, 5, 1, 8, 3, 3, 2, 2, 1, 1, 0, 0, 1, 0, 0 },
	/* direct kernels (C = 1 with OC >= 8, OC = 1): rows wider than one
	 * vector of 16 (interior windows, partial last vectors), stride 2 */
	{ "conv2d 3x3 p1 direct, one input channel", 2, 1, 11, 40, 20, 3, 3, 1, 1, 1, 1, 0, 0, 1, 0,
	  0 },
	{ "conv2d 3x3 s2 p1 direct, one input channel", 2, 1, 9, 69, 16, 3, 3, 2, 2, 1, 1, 0, 0, 1,
	  0, 1 },
	{ "conv2d 9x9 p4 direct, one input channel", 2, 1, 10, 37, 8, 9, 9, 1, 1, 4, 4, 0, 0, 1, 0,
	  1 },
	/* kernels wider than 5 at stride 1: the weight gradient from padded
	 * planes (conv_c1_weight_planes), taps in blocks of 5 per kernel row,
	 * output channels in blocks of 4 (10 leaves a partial block); at
	 * most 64 parts, so 66 images give parts of two */
	{ "conv2d 7x7 p(2,3) direct, one input channel, wide taps", 3, 1, 6, 19, 10, 7, 7, 1, 1, 2,
	  3, 0, 0, 1, 0, 1 },
	{ "conv2d 7x7 p3 direct, one input channel, wide taps, 66 images", 66, 1, 4, 6, 8, 7, 7, 1,
	  1, 3, 3, 0, 0, 1, 0, 1 },
	/* 64 output channels: the forward (conv_c1_last_forward) and the
	 * weight and bias gradients (conv_c1_weight_cl) channels last in the
	 * cache: 16x16 tiles and a partial last one (370
	 * and 30 pixels), units of whole rows (3 rows of 300 columns, the
	 * last unit of 2), more units than parts and fewer, taps in blocks
	 * of 6 (81, 35 and 7: partial last blocks), no bias */
	{ "conv2d 9x9 p4 direct, 64 channels last", 3, 1, 10, 37, 64, 9, 9, 1, 1, 4, 4, 0, 0, 1, 0,
	  1 },
	{ "conv2d 9x9 p4 direct, 64 channels last, units of rows", 2, 1, 8, 300, 64, 9, 9, 1, 1, 4,
	  4, 0, 0, 0, 0, 1 },
	{ "conv2d 5x7 p(2,3) direct, 64 channels last, 20 images", 20, 1, 5, 6, 64, 5, 7, 1, 1, 2,
	  3, 0, 0, 1, 0, 1 },
	{ "conv2d 1x7 valid direct, 64 channels last", 2, 1, 3, 20, 64, 1, 7, 1, 1, 0, 0, 0, 0, 1,
	  0, 0 },
	/* 3x3 p1 with one input channel on rows a multiple of 16 wide: the
	 * forward by conv_c1_s1_forward in chunks of 4 vectors (one of 4, one
	 * of 4 and one of 1 with the columns either side across the chunks,
	 * one vector and one row), non-temporal stores for an output of 16
	 * MiB, and the data gradient of one output channel (8 input channels:
	 * the same kernel on dy, flipped) */
	{ "conv2d 3x3 p1 one input channel from x, rows of 4 vectors", 3, 1, 7, 64, 8, 3, 3, 1, 1,
	  1, 1, 0, 0, 1, 0, 1 },
	{ "conv2d 3x3 p1 one input channel from x, chunks of 64 and 16", 2, 1, 5, 80, 12, 3, 3, 1,
	  1, 1, 1, 0, 0, 0, 0, 1 },
	{ "conv2d 3x3 p1 one input channel from x, one vector, one row", 2, 1, 1, 16, 4, 3, 3, 1, 1,
	  1, 1, 0, 0, 1, 0, 1 },
	/* bands of 4 rows (16 work-items or more), the last of 3 */
	{ "conv2d 3x3 p1 one input channel from x, bands of rows", 2, 1, 11, 32, 32, 3, 3, 1, 1, 1,
	  1, 0, 0, 1, 0, 1 },
	{ "conv2d 3x3 p1 one input channel from x, past the caches", 4, 1, 128, 128, 64, 3, 3, 1,
	  1, 1, 1, 0, 0, 1, 0, 1 },
	{ "conv2d 3x3 p1 one output channel from x, dx by rows", 2, 8, 9, 32, 1, 3, 3, 1, 1, 1, 1,
	  0, 0, 1, 0, 0 },
	/* the data gradient of a 9x9 conv with 64 input channels and one
	 * output channel: conv_c1_last_forward on dy with the flipped weights */
	{ "conv2d 9x9 p3 one output channel, dx channels last", 2, 64, 12, 20, 1, 9, 9, 1, 1, 3, 3,
	  0, 0, 1, 0, 0 },
	{ "conv2d 1x11 p(0,5) direct, one input channel, wide taps", 2, 1, 3, 40, 9, 1, 11, 1, 1, 0,
	  5, 0, 0, 0, 0, 1 },
	{ "conv2d 5x5 p2 direct, one output channel", 2, 5, 19, 35, 1, 5, 5, 1, 1, 2, 2, 0, 0, 1, 0,
	  0 },
	{ "conv2d 3x3 s2 p1 direct, one output channel", 3, 4, 13, 70, 1, 3, 3, 2, 2, 1, 1, 0, 0, 0,
	  0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, 16 wide", 2, 6, 17, 16, 1, 3, 3, 1, 1, 1, 1, 0,
	  0, 1, 0, 0 },
	{ "conv2d 3x3 p2 direct, one output channel (padding beyond half)", 2, 3, 7, 20, 1, 3, 3, 1,
	  1, 2, 2, 0, 0, 1, 0, 0 },
	{ "conv_transpose2d 4x4 s2 p1", 2, 4, 5, 5, 3, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 0 },
	{ "conv_transpose2d 3x3 s2 p1 op1", 2, 3, 4, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0 },
	{ "conv_transpose2d 3x3 s1 p1", 2, 3, 6, 5, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 1, 0 },
	{ "conv_transpose2d 5x3 s(3,2) p(2,1) op(2,1)", 2, 2, 4, 4, 3, 5, 3, 3, 2, 2, 1, 2, 1, 1, 1,
	  0 },
	{ "conv_transpose2d 2x2 s2 to one channel", 2, 4, 4, 3, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0 },
	{ "conv_transpose2d 3x3 s2 from one channel", 2, 1, 4, 4, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1 },
	/* more shapes for conv_planes_forward (the forward of the shifted
	 * cases with OC >= 8, and their stride-1 data gradient when C >= 8):
	 * partial vectors of 16 columns, odd OH (a lone last row), OC not a
	 * multiple of 8, strides 1, 2 and (2,1) */
	{ "conv2d 3x3 s1 p1 shifted, planes", 2, 16, 5, 37, 20, 3, 3, 1, 1, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 shifted, planes", 3, 8, 9, 35, 32, 3, 3, 2, 2, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 p2 shifted, planes, no bias", 2, 17, 6, 16, 16, 5, 5, 1, 1, 2, 2, 0, 0, 0, 0,
	  0 },
	{ "conv2d 1x7 p(0,3) shifted, planes", 2, 9, 4, 21, 18, 1, 7, 1, 1, 0, 3, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 stride (2,1) p(1,0) shifted, planes", 2, 8, 7, 20, 17, 3, 3, 2, 1, 1, 0, 0, 0,
	  1, 0, 0 },
	{ "conv2d 3x3 p2 shifted, planes (padding beyond half)", 2, 16, 4, 5, 16, 3, 3, 1, 1, 2, 2,
	  0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p(140,3) shifted, planes (padding far beyond the kernel)", 1, 8, 4, 5, 8, 3,
	  3, 2, 2, 140, 3, 0, 0, 1, 0, 0 },
	/* weight gradients by conv_grid_weight64 (OC rounded up to 32 is a
	 * multiple of 64: 40 -> 64, 100 -> 128), input channels in blocks of
	 * 6 with a partial last block (9, 13) */
	{ "conv2d 3x3 s1 p1 shifted, planes, 40 output channels", 2, 9, 7, 20, 40, 3, 3, 1, 1, 1, 1,
	  0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 shifted, planes, 100 output channels", 2, 13, 9, 18, 100, 3, 3, 2, 2, 1,
	  1, 0, 0, 1, 0, 0 },
	/* output heights whose last group of three rows (planes_rows) holds
	 * one row (13) and two (11, also the phases of the data gradient) */
	{ "conv2d 3x3 s1 p1 shifted, planes, 13 rows", 2, 9, 13, 18, 12, 3, 3, 1, 1, 1, 1, 0, 0, 1,
	  0, 0 },
	{ "conv2d 3x3 s2 p1 shifted, planes, 11 rows", 2, 8, 22, 20, 8, 3, 3, 2, 2, 1, 1, 0, 0, 1,
	  0, 0 },
	/* 1x1 with OC >= 8 and C <= 128: conv_pointwise_forward for the whole
	 * batch (else one GEMM per image), and for the data gradient when
	 * C >= 8; the weight gradient by conv_pointwise_weight.  Images of
	 * 185, 96, 39 and 50 pixels: a last run of 48 that ends in its third
	 * vector, none, one that ends in its third with no whole run before,
	 * and one that ends in its first (and in "spans of ranges" below, in
	 * its second); channel counts that are not multiples of the blocks of
	 * 8 and 4 */
	{ "conv2d 1x1 pointwise kernel", 2, 12, 5, 37, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 1x1 pointwise kernel, a last vector of two", 2, 9, 5, 10, 11, 1, 1, 1, 1, 0, 0, 0,
	  0, 1, 0, 0 },
	{ "conv2d 1x1 pointwise kernel, no bias", 3, 64, 6, 16, 32, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
	  0 },
	{ "conv2d 1x1 pointwise kernel, odd channel counts", 2, 10, 3, 13, 9, 1, 1, 1, 1, 0, 0, 0, 0,
	  1, 0, 0 },
	/* outputs and data gradients of 16 MiB or more: conv_pointwise_forward
	 * stores whole 64-byte lines, non-temporal, each work-item those of
	 * every plane from the first boundary at or after 16 pixels before its
	 * first run (pointwise_lines).  Planes of 1089 pixels (one past a
	 * line: a different offset in each plane); of 187 at an odd offset,
	 * whose last work-item starts past the plane (p0 = 192) but owns its
	 * last line, with a partial block of channels; and of 256 from
	 * aligned tensors, every line at a vector */
	{ "conv2d 1x1 pointwise kernel past the caches, 33x33", 241, 16, 33, 33, 16, 1, 1, 1, 1, 0,
	  0, 0, 0, 1, 0, 0 },
	{ "conv2d 1x1 pointwise kernel beyond 16 MiB, 17x11, 12 channels", 1870, 12, 17, 11, 12, 1,
	  1, 1, 1, 0, 0, 0, 0, 0, 0, 0 },
	{ "conv2d 1x1 pointwise kernel past the caches, 16x16", 1024, 16, 16, 16, 16, 1, 1, 1, 1, 0,
	  0, 0, 0, 1, 0, 0 },
	/* images of 10961 pixels, 8 of them: the weight gradient in ranges of
	 * 1840 pixels, two to a span and three spans to an image, the last
	 * span ending in a range whose last vector holds one pixel */
	/* 32 output channels, C a multiple of 8: the weight and bias
	 * gradients by conv_pointwise_weight_cl with dy channels last (a
	 * 33x33 plane with a last partial tile of one pixel, planes of 1600
	 * in units of 1152 and 448, 20 images of 30 pixels: more units than
	 * parts) */
	{ "conv2d 1x1 pointwise kernel 32 channels last, 33x33", 3, 16, 33, 33, 32, 1, 1, 1, 1, 0, 0,
	  0, 0, 1, 0, 0 },
	{ "conv2d 1x1 pointwise kernel 32 channels last, units", 2, 8, 40, 40, 32, 1, 1, 1, 1, 0, 0, 0,
	  0, 0, 0, 0 },
	{ "conv2d 1x1 pointwise kernel 32 channels last, 20 images", 20, 24, 5, 6, 32, 1, 1, 1, 1, 0,
	  0, 0, 0, 1, 0, 0 },
	{ "conv2d 1x1 pointwise kernel, spans of ranges", 8, 6, 97, 113, 10, 1, 1, 1, 1, 0, 0, 0, 0,
	  1, 0, 0 },
	{ "conv2d 1x1 pointwise kernel, spans of ranges, no bias", 8, 6, 97, 113, 10, 1, 1, 1, 1, 0, 0,
	  0, 0, 0, 0, 0 },
	/* stride 1 with one output channel: conv_oc1_band up to 64 columns
	 * (blocks of 4 vectors that end past the row, several bands of rows,
	 * rows narrower than a vector, kernels other than 3x3 and 5x5),
	 * conv_oc1_rows on wider rows, and the weight gradients
	 * conv_oc1_weight_3x3 and _5x5 (padding 0, 1 and uneven) */
	{ "conv2d 3x3 p1 direct, one output channel, inner bands", 2, 4, 30, 50, 1, 3, 3, 1, 1, 1, 1,
	  0, 0, 1, 0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, two column blocks", 2, 3, 5, 300, 1, 3, 3, 1, 1,
	  1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, two row bands", 2, 2, 70, 50, 1, 3, 3, 1, 1, 1,
	  1, 0, 0, 1, 0, 0 },
	{ "conv2d 9x9 p4 direct, one output channel", 2, 3, 12, 37, 1, 9, 9, 1, 1, 4, 4, 0, 0, 1, 0,
	  0 },
	{ "conv2d 1x1 direct, one output channel", 2, 5, 6, 21, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0 },
	/* conv_oc1_band (3x3 and 5x5 go to conv_oc1_tile_KxK): a second band */
	{ "conv2d 1x1 direct, one output channel, two row bands", 2, 3, 70, 20, 1, 1, 1, 1, 1, 0, 0,
	  0, 0, 1, 0, 0 },
	{ "conv2d 3x3 valid direct, one output channel, narrow", 3, 2, 6, 8, 1, 3, 3, 1, 1, 0, 0, 0,
	  0, 0, 0, 0 },
	{ "conv2d 5x5 p(1,3) direct, one output channel", 2, 3, 9, 40, 1, 5, 5, 1, 1, 1, 3, 0, 0, 1,
	  0, 0 },
	/* conv_oc1_tile_5x5's bands of 11 rows: two whole and a last of 8 */
	{ "conv2d 5x5 p2 direct, one output channel, three row bands", 2, 3, 30, 21, 1, 5, 5, 1, 1,
	  2, 2, 0, 0, 1, 0, 0 },
	/* 3x3 stride 1 with one input channel: weight and bias gradients in
	 * one pass by conv_c1_weight_3x3_phases (an odd OC leaves a lone channel in
	 * the last pair) */
	{ "conv2d 3x3 p(0,2) direct, one input channel, odd OC", 3, 1, 7, 35, 9, 3, 3, 1, 1, 0, 2, 0,
	  0, 1, 0, 0 },
	{ "conv2d 3x3 p1 direct, one input channel, no bias, 16 wide", 2, 1, 5, 16, 8, 3, 3, 1, 1, 1,
	  1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 p1 direct, one input channel, no dx", 4, 1, 9, 20, 12, 3, 3, 1, 1, 1, 1, 0, 0,
	  1, 0, 1 },
	/* an output of more than 16 MiB (17.8 MB), which conv_c1_forward
	 * writes with non-temporal stores (as it writes the data gradient of
	 * a conv with one output channel) */
	{ "conv2d 3x3 p1 direct, one input channel, y past the caches", 17, 1, 64, 64, 64, 3, 3, 1,
	  1, 1, 1, 0, 0, 1, 0, 1 },
	/* the same at stride 2: the forward by conv_c1_phases_forward and
	 * the weight gradient by conv_c1_weight_3x3_phases, both on the four
	 * phase planes of x (an odd padding, an even one, padding beyond a
	 * stride, a last vector partly past OW, even and 5-wide kernels) */
	{ "conv2d 3x3 s2 p(0,2) direct, one input channel, odd OC", 3, 1, 8, 37, 9, 3, 3, 2, 2, 0,
	  2, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 direct, one input channel, no bias, narrow", 2, 1, 7, 11, 8, 3, 3, 2, 2,
	  1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 s2 p1 direct, one input channel, 64 wide, no dx", 3, 1, 6, 64, 10, 3, 3, 2, 2,
	  1, 1, 0, 0, 1, 0, 1 },
	{ "conv2d 3x3 s2 p2 direct, one input channel", 2, 1, 9, 21, 16, 3, 3, 2, 2, 2, 2, 0, 0, 1,
	  0, 0 },
	{ "conv2d 4x4 s2 p1 direct, one input channel", 2, 1, 10, 40, 12, 4, 4, 2, 2, 1, 1, 0, 0, 1,
	  0, 0 },
	{ "conv2d 5x5 s2 p(1,3) direct, one input channel", 2, 1, 11, 26, 8, 5, 5, 2, 2, 1, 3, 0, 0,
	  1, 0, 0 },
	/* an output of exactly 16 MiB, which conv_c1_phases_forward writes
	 * with non-temporal stores */
	{ "conv2d 3x3 s2 p1 direct, one input channel, y past the caches", 16, 1, 128, 128, 64, 3,
	  3, 2, 2, 1, 1, 0, 0, 1, 0, 1 },
	/* strided with OW a multiple of 16 and OC of 4: the forward by
	 * conv_c1_phases_runs, bands of 8 rows in chunks of 4 vectors across
	 * row ends (two rows of 32 a chunk and a last band of 3 rows; rows of
	 * 5 vectors; chunks of 4 rows of 16 and a last chunk of 2; one row of
	 * 3 vectors; even and 5-wide kernels, padding 0 down and 2 across) */
	{ "conv2d 3x3 s2 p1 direct, one input channel, runs", 3, 1, 21, 64, 12, 3, 3, 2, 2, 1, 1, 0,
	  0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 direct, one input channel, runs of 5 vectors, no bias", 2, 1, 9, 160, 8,
	  3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 4x4 s2 p1 direct, one input channel, runs of 16", 2, 1, 20, 32, 8, 4, 4, 2, 2, 1,
	  1, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 direct, one input channel, runs of 3 vectors", 2, 1, 2, 96, 8, 3, 3, 2,
	  2, 1, 1, 0, 0, 1, 0, 0 },
	/* W = 2*OW, OW a multiple of 16, with an odd OC: the forward by
	 * conv_c1_phases_forward, the weight gradient by conv_c1_weight_s2
	 * (a last lone channel), 11 rows */
	{ "conv2d 3x3 s2 p1 direct, one input channel, runs, 5 output channels", 3, 1, 11, 32, 5,
	  3, 3, 2, 2, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 s2 p(1,3) direct, one input channel, runs", 2, 1, 11, 63, 12, 5, 5, 2, 2, 1, 3,
	  0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p(0,2) direct, one input channel, runs", 2, 1, 9, 62, 8, 3, 3, 2, 2, 0, 2,
	  0, 0, 1, 0, 0 },
	/* one output channel, C a multiple of 32, rows narrower than 64: the
	 * forward by conv_oc1_last_forward, input rows channels last in the
	 * cache (a 33x33 plane; 64 channels in units of 28, 28 and 2 rows
	 * with 40 columns of 16x16 tiles; rows of 12 by scalars, valid, 20
	 * images; 9x9 with a partial tile; padding as wide as the kernel
	 * across, no bias: its data gradient takes conv_oc1_backward_data,
	 * as the flipped conv would need a negative padding) */
	{ "conv2d 5x5 p2 direct, one output channel, channels last", 3, 32, 33, 33, 1, 5, 5, 1, 1,
	  2, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 5x7 p(1,3) direct, one output channel, channels last, units of rows", 2, 64, 60,
	  40, 1, 5, 7, 1, 1, 1, 3, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 valid direct, one output channel, channels last, 20 images", 20, 32, 9, 12, 1,
	  5, 5, 1, 1, 0, 0, 0, 0, 1, 0, 0 },
	{ "conv2d 9x9 p4 direct, one output channel, channels last", 2, 32, 20, 21, 1, 9, 9, 1, 1, 4,
	  4, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 p(3,5) direct, one output channel, channels last, no bias", 1, 32, 6, 20, 1, 5,
	  5, 1, 1, 3, 5, 0, 0, 0, 0, 0 },
	/* 32 output channels, kernels of 5 or wider: the forward by
	 * conv_c1_flat_forward (16-wide vectors) or, with vec_narrow below,
	 * by conv_c1_last_forward's narrow loops (a 33x33 plane; units of 23
	 * and 17 rows of 50, no bias); the data gradients of the
	 * one-output-channel cases above take them too */
	{ "conv2d 5x5 p2 direct, 32 channels last", 3, 1, 33, 33, 32, 5, 5, 1, 1, 2, 2, 0, 0, 1, 0,
	  1 },
	{ "conv2d 7x5 p(3,2) direct, 32 channels last, units of rows, no bias", 2, 1, 40, 50, 32, 7,
	  5, 1, 1, 3, 2, 0, 0, 0, 0, 1 },
	/* stride 1 with OW == W on rows not a multiple of 16: the forward
	 * with one input channel (and so the data gradient of one output
	 * channel) by conv_c1_flat_forward on the plane as one flat row,
	 * windows across row ends masked by column, taps above and below
	 * the plane by flat16 (a padding only across, rows of 17, a plane of
	 * 3 rows whose every vector meets an end, OC not a multiple of 16);
	 * the weight gradient of one output channel with "same" padding by
	 * conv_oc1_weight_flat_3x3/_5x5 (rows of 33, 64 and 17, 1 and 3
	 * rows) */
	{ "conv2d 3x5 p(0,2) direct, one input channel, flat, odd OC", 3, 1, 7, 33, 20, 3, 5, 1, 1,
	  0, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 p2 direct, one input channel, flat, 3 rows", 2, 1, 3, 17, 16, 5, 5, 1, 1, 2,
	  2, 0, 0, 0, 0, 0 },
	/* 17 MB of output in planes of 32 x 33 = 66 whole vectors: the
	 * non-temporal stores of conv_c1_flat_forward */
	{ "conv2d 3x3 p1 direct, one input channel, flat, y past the caches", 63, 1, 32, 33, 64, 3,
	  3, 1, 1, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 p2 direct, one output channel, flat, 33x33", 5, 6, 33, 33, 1, 5, 5, 1, 1, 2,
	  2, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, flat, 64 wide", 3, 4, 9, 64, 1, 3, 3, 1, 1, 1,
	  1, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, flat, one row", 2, 3, 1, 17, 1, 3, 3, 1, 1, 1,
	  1, 0, 0, 0, 0, 0 },
	{ "conv2d 5x5 p2 direct, one output channel, flat, 3 rows", 2, 3, 3, 19, 1, 5, 5, 1, 1, 2,
	  2, 0, 0, 1, 0, 0 },
	/* the weight gradient of those with a padded plane past 16 KiB
	 * (74 x 65 floats): conv_oc1_weight_flat_5x5; with 16-wide vectors
	 * the smaller ones above and below take conv_oc1_weight_pad_5x5
	 * (several images a part in the 40-image case), with narrow ones the
	 * flat kernel */
	{ "conv2d 5x5 p2 direct, one output channel, flat, plane past 16 KiB", 2, 3, 70, 61, 1, 5,
	  5, 1, 1, 2, 2, 0, 0, 1, 0, 0 },
	/* the forward of 3x3 convs with padding 1 to one output channel on
	 * rows of 49 to 64 columns, 8 images or more, by conv_oc1_strip_3x3:
	 * a last band of 2 rows, a last vector of one column, a single row */
	{ "conv2d 3x3 p1 direct, one output channel, strips, 64 wide", 8, 5, 10, 64, 1, 3, 3, 1, 1,
	  1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, strips, 49 wide", 9, 3, 7, 49, 1, 3, 3, 1, 1, 1,
	  1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, strips, one row", 8, 2, 1, 57, 1, 3, 3, 1, 1, 1,
	  1, 0, 0, 1, 0, 0 },
	/* exactly 64 wide: conv_oc1_strip64_3x3, bands of 2 rows (a last band
	 * of one row, a single row) */
	{ "conv2d 3x3 p1 direct, one output channel, strips, 64 wide, odd height", 8, 4, 9, 64, 1,
	  3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 p1 direct, one output channel, strips, 64 wide, one row", 8, 3, 1, 64, 1, 3,
	  3, 1, 1, 1, 1, 0, 0, 1, 0, 0 },
	/* the weight gradient of shifted convs with OC >= 16 by
	 * conv_grid_weight: parts of more than one chunk of 128 grid
	 * positions (with whole-batch groups), a last block of 32 output
	 * channels only partly used, input channels not a multiple of 8 */
	{ "conv2d 3x3 s1 p1 shifted, grid weight in chunks", 2, 12, 48, 50, 40, 3, 3, 1, 1, 1, 1, 0,
	  0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 shifted, grid weight in chunks", 2, 8, 130, 130, 16, 3, 3, 2, 2, 1, 1, 0,
	  0, 1, 0, 0 },
	/* the data gradient of strides above 1 as one stride-1 conv per
	 * phase (phase_data_gradient): odd sizes (phases of unequal size),
	 * phases wider than one vector, stride 3 (5x5: phases of 1 and 2
	 * taps; 2x2: phase 2 has none), a padding beyond the kernel (every
	 * offset above 0), and the transposed convs' forward, which is that
	 * data gradient */
	{ "conv2d 3x3 s2 p1 shifted, phases", 3, 16, 17, 69, 24, 3, 3, 2, 2, 1, 1, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 s3 p2 shifted, phases", 2, 8, 13, 20, 12, 5, 5, 3, 3, 2, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 2x2 s3 shifted, phases (no tap in a phase)", 2, 9, 11, 10, 8, 2, 2, 3, 3, 0, 0, 0,
	  0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p(4,3) shifted, phases (padding beyond the kernel)", 2, 8, 6, 7, 8, 3, 3, 2,
	  2, 4, 3, 0, 0, 1, 0, 0 },
	{ "conv_transpose2d 4x4 s2 p1, phases", 2, 16, 9, 11, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 0 },
	{ "conv_transpose2d 3x3 s2 p1 op1, phases", 2, 12, 7, 10, 9, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0 },
	/* 3x3 stride 2 padding 1 with W = 2*OW a multiple of 32: the forward
	 * straight from x (conv_s2_forward, pairs of output rows): odd
	 * heights, where the last kernel row of the last output row lies
	 * below the image (11: that row is the second of a pair; 21: the
	 * first, alone), two vectors a row, 16 rows, OC not a multiple of 8 */
	{ "conv2d 3x3 s2 p1 shifted, planes, from x, odd height", 2, 9, 11, 32, 20, 3, 3, 2, 2, 1,
	  1, 0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s2 p1 shifted, planes, from x, 11 rows, no bias", 3, 8, 21, 64, 8, 3, 3, 2, 2,
	  1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 s2 p1 shifted, planes, from x, 16 rows", 1, 16, 32, 32, 13, 3, 3, 2, 2, 1, 1,
	  0, 0, 1, 0, 0 },
	/* and its weight gradient from x (conv_3x3_weight64, OC >= 16 rounded
	 * up to 32 a multiple of 64; the odd-height case above takes
	 * conv_3x3_weight): 4608 positions in two parts, the second starting
	 * inside an image, 13 input channels in blocks of 6 */
	{ "conv2d 3x3 s2 p1 shifted, planes, from x, 40 output channels, two parts", 9, 13, 63, 32,
	  40, 3, 3, 2, 2, 1, 1, 0, 0, 1, 0, 0 },
	/* 3x3 stride 1 padding 1 on rows a multiple of 16 wide: the forward
	 * and the data gradient straight from x and dy (conv_s1_forward,
	 * pairs of rows): an odd height (a last row alone), two vectors a
	 * row, one row, OC and C not multiples of 8 */
	{ "conv2d 3x3 s1 p1 shifted, planes, from x, odd height", 2, 9, 7, 32, 20, 3, 3, 1, 1, 1, 1,
	  0, 0, 1, 0, 0 },
	{ "conv2d 3x3 s1 p1 shifted, planes, from x, 6 rows, no bias", 3, 8, 6, 16, 8, 3, 3, 1, 1,
	  1, 1, 0, 0, 0, 0, 0 },
	{ "conv2d 3x3 s1 p1 shifted, planes, from x, one row", 2, 10, 1, 16, 9, 3, 3, 1, 1, 1, 1, 0,
	  0, 1, 0, 0 },
	/* and the weight gradient at stride 1 from x (conv_3x3_weight64; the
	 * odd-height case takes conv_3x3_weight): 4352 positions in two parts,
	 * the second starting inside an image */
	{ "conv2d 3x3 s1 p1 shifted, planes, from x, 64 output channels, two parts", 17, 13, 16, 16,
	  64, 3, 3, 1, 1, 1, 1, 0, 0, 1, 0, 0 },
	/* 5x5 padding 2, one output channel, rows of 16 to 63: the forward
	 * by conv_oc1_strips_5x5 (bands of 11 rows, strips of 16 columns).
	 * SRCNN's layer with 40 images (120 units on 32 work-items, the next
	 * unit's rows asked for across images); one strip and one partial
	 * band, no bias; 4 strips, the last overlapping, bands of 11, 11 and
	 * 1 rows.  The one-output-channel cases above of 33, 35, 21 columns
	 * take it too. */
	{ "conv2d 5x5 p2 direct, one output channel, strips, 40 images", 40, 32, 33, 33, 1, 5, 5, 1,
	  1, 2, 2, 0, 0, 1, 0, 0 },
	{ "conv2d 5x5 p2 direct, one output channel, strips, rows of 16, no bias", 3, 7, 4, 16, 1, 5,
	  5, 1, 1, 2, 2, 0, 0, 0, 0, 0 },
	{ "conv2d 5x5 p2 direct, one output channel, strips, rows of 63", 2, 5, 23, 63, 1, 5, 5, 1,
	  1, 2, 2, 0, 0, 1, 0, 0 },
};

/* ---- a one-input-channel conv and a 1x1 conv in one pass ---- */
/* nn_conv2d_pair_forward against the reference (conv, act, 1x1 conv, act)
 * at TOL, and bit for bit against the two nn_conv2d_forward_act calls. */
static void pair_case(nn_ctx *ctx, int B, int H, int W, int OC1, int K, int P, int OC2,
                      int bias, int act)
{
	char name[96];
	snprintf(name, sizeof name, "conv pair %dx1x%dx%d %dx%d p%d -> %d -> %d%s%s", B, H, W, K, K,
	         P, OC1, OC2, bias ? "" : ", no bias", act == NN_ACT_LEAKY ? ", LeakyReLU" : "");
	nn_conv2d g1, g2;
	if (nn_conv2d_shape(&g1, B, 1, H, W, OC1, K, K, 1, 1, P, P) ||
	    nn_conv2d_shape(&g2, B, OC1, g1.OH, g1.OW, OC2, 1, 1, 1, 1, 0, 0)) {
		check(0, "%s: shape refused: %s", name, nn_error());
		return;
	}
	const float slope = 0.2f;
	size_t nx = (size_t)B * H * W, nw1 = (size_t)OC1 * K * K, nw2 = (size_t)OC2 * OC1;
	size_t nh = (size_t)B * OC1 * g1.OH * g1.OW, ny = (size_t)B * OC2 * g1.OH * g1.OW;
	float *x = nn_test_uniform(&rng, nx, -1, 1), *w1 = nn_test_uniform(&rng, nw1, -0.4f, 0.5f);
	float *b1 = nn_test_uniform(&rng, OC1, -0.5f, 0.5f);
	float *w2 = nn_test_uniform(&rng, nw2, -0.3f, 0.3f), *b2 = nn_test_uniform(&rng, OC2, -1, 1);
	float *h = nn_test_alloc(nh), *y = nn_test_alloc(ny);
	nn_ref_conv2d_forward(&g1, h, x, w1, bias ? b1 : NULL);
	for (size_t i = 0; i < nh; i++)
		h[i] = h[i] > 0.0f ? h[i] : act == NN_ACT_LEAKY ? h[i] * slope : 0.0f;
	nn_ref_conv2d_forward(&g2, y, h, w2, bias ? b2 : NULL);
	size_t neg = 0;
	for (size_t i = 0; i < ny; i++) {
		neg += y[i] <= 0.0f;
		y[i] = y[i] > 0.0f ? y[i] : act == NN_ACT_LEAKY ? y[i] * slope : 0.0f;
	}
	float *nan_y = nan_filled(ny);
	nn_buf d[8] = { up(ctx, x, nx),  up(ctx, w1, nw1), up(ctx, b1, OC1),
	                up(ctx, w2, nw2), up(ctx, b2, OC2),  up(ctx, nan_y, ny),
	                up(ctx, NULL, nh), up(ctx, nan_y, ny) };
	int fits = nn_conv2d_pair_fits(ctx, &g1, &g2);
	int st = nn_conv2d_pair_forward(ctx, &g1, &g2, d[5], d[0], d[1], bias ? d[2] : NN_NONE, d[3],
	                                bias ? d[4] : NN_NONE, act, slope);
	double ey = compare(ctx, d[5], y, ny);
	check(fits && st == TG_CL_OK && ey <= TOL && neg > 0 && neg < ny,
	      "%s: error y %.2g (tolerance %g), %zu of %zu outputs not positive%s%s", name, ey, TOL,
	      neg, ny, st ? ": " : "", st ? nn_error() : "");
	/* the same through the two convs one after the other */
	int st2 = nn_conv2d_forward_act(ctx, &g1, d[6], d[0], d[1], bias ? d[2] : NN_NONE, act, slope);
	if (st2 == TG_CL_OK)
		st2 = nn_conv2d_forward_act(ctx, &g2, d[7], d[6], d[3], bias ? d[4] : NN_NONE, act,
		                            slope);
	float *fused = nn_test_down(ctx, d[5], ny), *two = nn_test_down(ctx, d[7], ny);
	check(st2 == TG_CL_OK && memcmp(fused, two, ny * sizeof *fused) == 0,
	      "%s: bit for bit the two convs' output", name);
	free_bufs(d, 8);
	free(x), free(w1), free(b1), free(w2), free(b2), free(h), free(y), free(nan_y);
	free(fused), free(two);
}

/* Shapes the fused kernel does not take are refused, not computed wrong. */
static void pair_refusals(nn_ctx *ctx)
{
	static const int shp[][6] = {
		/* OC1, K, stride, OC2, C of the second, KH of the second */
		{ 80, 3, 1, 32, 80, 1 },  /* more than 64 channels in between */
		{ 24, 3, 1, 16, 24, 1 },  /* not a multiple of 16 */
		{ 32, 3, 2, 16, 32, 1 },  /* stride 2 */
		{ 32, 3, 1, 8, 32, 1 },   /* 8 output channels */
		{ 32, 3, 1, 16, 32, 3 },  /* the second conv 3x3 */
	};
	for (size_t i = 0; i < sizeof shp / sizeof shp[0]; i++) {
		const int *s = shp[i];
		nn_conv2d g1, g2;
		nn_conv2d_shape(&g1, 1, 1, 20, 20, s[0], s[1], s[1], s[2], s[2], 1, 1);
		nn_conv2d_shape(&g2, 1, s[4], g1.OH, g1.OW, s[3], s[5], s[5], 1, 1, s[5] / 2, s[5] / 2);
		nn_buf none = NN_NONE;
		int fits = nn_conv2d_pair_fits(ctx, &g1, &g2);
		int st = nn_conv2d_pair_forward(ctx, &g1, &g2, none, none, none, none, none, none,
		                                NN_ACT_RELU, 0.0f);
		check(!fits && st != TG_CL_OK, "conv pair refuses case %zu (%s)", i, nn_error());
	}
	nn_conv2d g1, g2;
	nn_conv2d_shape(&g1, 1, 1, 20, 20, 64, 9, 9, 1, 1, 4, 4);
	nn_conv2d_shape(&g2, 1, 64, 20, 20, 32, 1, 1, 1, 1, 0, 0);
	ctx->conv_direct = 0;
	check(!nn_conv2d_pair_fits(ctx, &g1, &g2), "conv pair off without the direct kernels");
	ctx->conv_direct = 1;
	check(nn_conv2d_pair_fits(ctx, &g1, &g2), "conv pair takes SRCNN 9-1-5's first layers");
	ctx->vec_narrow = 1;
	check(!nn_conv2d_pair_fits(ctx, &g1, &g2), "conv pair off where vectors are narrow");
	ctx->vec_narrow = 0;
}

/* dy channels last of 16 MiB or more (the grid of 66 x 66 positions,
 * 32 channels a position, 31 images): embed_channels_last writes whole
 * lines non-temporal, 4 channels of the second block of 16 and zeros for
 * the rest, and a last partial tile of 2 positions of a row by plain
 * stores.  Run once, with the default kernels (the variants below
 * change nothing of that kernel). */
static const conv_case big_cases[] = {
	{ "conv2d 3x3 s2 p1 shifted, dy channels last past the caches", 31, 8, 130, 130, 20, 3, 3, 2,
	  2, 1, 1, 0, 0, 1, 0, 0 },
};

int main(void)
{
	nn_rng_init(&rng, 777);
	nn_ctx *ctx = nn_test_ctx("conv on the device");
	if (!ctx)
		return check_finish();
	/* The direct kernels, written for a CPU, are the default on CPU
	 * devices only; elsewhere the GEMMs come in as few launches as can be. */
	int cpu = ctx->cl->is_cpu;
	check(ctx->conv_direct == cpu && ctx->conv_planes == cpu &&
	              (cpu ? ctx->col_cols == 4096 && ctx->shift_merge_n == 0
	                   : ctx->col_cols > 4096 && ctx->shift_merge_n > 2048),
	      "defaults for a %s device: direct kernels %d, planes %d, %zu-column tiles, shift_merge_n "
	      "%zu (0: the default)", cpu ? "CPU" : "non-CPU", ctx->conv_direct, ctx->conv_planes,
	      ctx->col_cols, ctx->shift_merge_n);
	/* The kernels for many channels are on by default where the device's
	 * native float vector is 16 wide; here they are on whatever the CPU,
	 * so that every device checks them, and off once below. */
	check(ctx->conv_multi == (cpu && ctx->cl->vec_width >= 16) &&
	              ctx->vec_narrow == (ctx->cl->vec_width < 16),
	      "many-channel kernels %s and narrow forms %s by default (native float vector %u "
	      "wide)", ctx->conv_multi ? "on" : "off", ctx->vec_narrow ? "on" : "off",
	      ctx->cl->vec_width);
	ctx->conv_multi = 1;
	linear_case(ctx, 3, 17, 5, 1);
	linear_case(ctx, 1, 8, 6, 1);
	linear_case(ctx, 4, 9, 1, 0);
	linear_case(ctx, 64, 40, 3, 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_conv(ctx, &cases[i], 4096);
		run_conv(ctx, &cases[i], 7);
	}
	for (size_t i = 0; i < sizeof big_cases / sizeof big_cases[0]; i++)
		run_conv(ctx, &big_cases[i], 4096);
	/* Every case again without the direct kernels (ctx->conv_direct 0). */
	ctx->conv_direct = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_conv(ctx, &cases[i], 4096);
	ctx->conv_direct = 1;
	/* The forward with a fused activation, on every conv2d path. */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (!cases[i].transposed)
			run_act(ctx, &cases[i], i % 2 ? NN_ACT_LEAKY : NN_ACT_RELU);
	ctx->conv_direct = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (!cases[i].transposed && (cases[i].C == 1 || cases[i].OC == 1))
			run_act(ctx, &cases[i], i % 2 ? NN_ACT_RELU : NN_ACT_LEAKY);
	ctx->conv_direct = 1;
	/* The shifted cases again with im2col (ctx->conv_shift 0). */
	ctx->conv_shift = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strstr(cases[i].name, "shifted"))
			run_conv(ctx, &cases[i], 4096);
	ctx->conv_shift = 1;
	/* And with one GEMM per image and tap, as for large images (the small
	 * test images otherwise take one GEMM per tap for a whole group). */
	ctx->shift_merge_n = 1;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strstr(cases[i].name, "shifted"))
			run_conv(ctx, &cases[i], 4096);
	ctx->shift_merge_n = 0;
	/* The planes, phases and strided shifted cases with GEMMs per tap
	 * (ctx->conv_planes 0; strides above 1 then take the adjoint for dx,
	 * also one image at a time). */
	ctx->conv_planes = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const conv_case *k = &cases[i];
		int strided = strstr(k->name, "shifted") && (k->SH > 1 || k->SW > 1);
		if (strstr(k->name, "planes") || strstr(k->name, "pointwise") ||
		    strstr(k->name, "phases")) {
			run_conv(ctx, k, 4096);
			run_act(ctx, k, NN_ACT_LEAKY);
		}
		if (strided)
			run_conv(ctx, k, 7);
	}
	ctx->conv_planes = 1;
	/* The planes cases with two and with three output rows per work-item
	 * of the planes kernel (ctx->planes_rows; by default the output height
	 * picks one). */
	for (int rows = 2; rows <= 3; rows++) {
		ctx->planes_rows = rows;
		printf("# planes kernel with %d rows per work-item\n", rows);
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			if (strstr(cases[i].name, "planes")) {
				run_conv(ctx, &cases[i], 4096);
				run_act(ctx, &cases[i], rows == 2 ? NN_ACT_LEAKY : NN_ACT_RELU);
			}
	}
	ctx->planes_rows = 0;
	/* The cases that conv_s2_*, conv_s1_forward and conv_3x3_weight take,
	 * from the phase planes instead, and those of conv_c1_phases_runs by
	 * conv_c1_phases_forward (ctx->s2_direct, s1_direct 0). */
	ctx->s2_direct = ctx->s1_direct = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strstr(cases[i].name, "from x") || strstr(cases[i].name, "runs") ||
		    strstr(cases[i].name, "s2 p1 direct, one input channel, y past")) {
			run_conv(ctx, &cases[i], 4096);
			run_act(ctx, &cases[i], NN_ACT_LEAKY);
		}
	ctx->s2_direct = ctx->s1_direct = 1;
	/* The cases that conv_c1_last_forward, conv_c1_weight_cl and
	 * conv_pointwise_weight_cl take, by the row-wise kernels, from padded
	 * planes and by conv_pointwise_weight instead (ctx->c1_last 0). */
	ctx->c1_last = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strstr(cases[i].name, "channels last"))
			run_conv(ctx, &cases[i], 4096);
	ctx->c1_last = 1;
	/* The same cases, the 1x1 ones and those with one input or output
	 * channel with the other loops of conv_c1_last_forward,
	 * conv_c1_weight_cl, conv_pointwise_weight_cl and conv_c1_s1_forward
	 * and the other 1x1 forward (ctx->vec_narrow flipped: the forms for
	 * narrow vectors, or those for 16-wide ones). */
	ctx->vec_narrow = !ctx->vec_narrow;
	printf("# one-channel, channels-last and 1x1 kernels with vec_narrow %d\n",
	       ctx->vec_narrow);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strstr(cases[i].name, "channels last") || strstr(cases[i].name, "pointwise") ||
		    cases[i].C == 1 || cases[i].OC == 1) {
			run_conv(ctx, &cases[i], 4096);
			run_act(ctx, &cases[i], NN_ACT_LEAKY);
		}
	ctx->vec_narrow = !ctx->vec_narrow;
	/* The cases that conv_oc1_strips_5x5 takes, by conv_oc1_last_forward
	 * (C a multiple of 32) or conv_oc1_tile_5x5 instead (ctx->strips5 0). */
	ctx->strips5 = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strstr(cases[i].name, "strips") && cases[i].KH == 5)
			run_conv(ctx, &cases[i], 4096);
	ctx->strips5 = 1;
	/* The cases with 8 or more input and output channels by the GEMM
	 * paths, the kernels for one channel still on (ctx->conv_multi 0, the
	 * default where the native float vector is narrower than 16). */
	ctx->conv_multi = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (cases[i].C >= 8 && cases[i].OC >= 8) {
			run_conv(ctx, &cases[i], 4096);
			if (!cases[i].transposed)
				run_act(ctx, &cases[i], NN_ACT_LEAKY);
		}
	ctx->conv_multi = 1;
	/* SRCNN 9-1-5's first two layers in one pass, a kernel for 16-wide
	 * vectors (ctx->vec_narrow 0; where vectors are narrow the two layers
	 * run apart). */
	int narrow = ctx->vec_narrow;
	ctx->vec_narrow = 0;
	pair_case(ctx, 2, 19, 37, 64, 9, 4, 32, 1, NN_ACT_RELU);
	pair_case(ctx, 1, 40, 70, 64, 9, 4, 32, 1, NN_ACT_RELU);
	pair_case(ctx, 3, 6, 16, 16, 3, 1, 16, 0, NN_ACT_LEAKY);
	pair_case(ctx, 1, 25, 30, 48, 9, 0, 16, 1, NN_ACT_LEAKY);
	pair_case(ctx, 2, 9, 5, 32, 5, 2, 48, 1, NN_ACT_RELU);
	pair_case(ctx, 1, 12, 48, 64, 9, 4, 32, 1, NN_ACT_RELU);
	pair_case(ctx, 2, 7, 33, 16, 7, 3, 16, 1, NN_ACT_RELU);
	pair_refusals(ctx);
	ctx->vec_narrow = narrow;
	/* The other GEMM backend on a few cases (CLBlast on a CPU device, or
	 * OpenBLAS where the default is CLBlast): both must agree with the
	 * reference. */
	tg_gemm_backend other = tg_gemm_get_backend(ctx->cl) == TG_GEMM_OPENBLAS
	                            ? TG_GEMM_CLBLAST : TG_GEMM_OPENBLAS;
	tg_gemm_set_backend(other);
	printf("# GEMM backend forced to %s\n", other == TG_GEMM_CLBLAST ? "CLBlast" : "OpenBLAS");
	linear_case(ctx, 3, 17, 5, 1);
	static const int again[] = { 0, 2, 4, 17, 18, 23, 31, 39 };
	for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
		run_conv(ctx, &cases[again[i]], 7);
	tg_gemm_set_backend(TG_GEMM_AUTO);
	return check_finish();
}
