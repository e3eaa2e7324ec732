/* conv.c: conv2d and transposed conv2d (ops.h): gather-form references
 * with double accumulators, and the device versions as shifted GEMMs
 * (below, for C >= 8) or im2col + tg_gemm (kernels/nn_conv.cl).
 *
 * Device plan with im2col.  The columns of a conv2d are never built for the whole
 * batch at once (hundreds of MB for a batch of 64, and GEMMs over very
 * wide matrices run slower, perf-anchors.md 1.3).  The output is cut into
 * tiles of about ctx->col_cols columns: several whole images when they are
 * small, else bands of output rows of one image.  Each tile is one im2col
 * pass into scratch and one GEMM per image: y_n [OC, pixels] =
 * W [OC, C*KH*KW] x col [C*KH*KW, pixels].  The backward pass runs the
 * same tiles: dW += dy_n col^T (GEMM, accumulating), dcol = W^T dy_n
 * (GEMM) then col2im into dx (assigned; bands of rows add into a zeroed
 * image, since a band of outputs touches overlapping input rows).
 * A stride-1 data gradient is instead the forward convolution of dy with
 * the weights rotated by 180 degrees and padding K-1-P (see
 * flipped_data_gradient).
 * Special cases: a 1x1 kernel with stride 1 and no padding multiplies x
 * itself; one output channel runs direct kernels (an M = 1 GEMM runs at a
 * few GFLOP/s in OpenBLAS, and the columns would be built for nothing).
 * A transposed conv2d is a conv2d run backwards: its forward is conv2d's
 * data gradient and its backward conv2d's forward and weight gradient, on
 * the geometry with input and output exchanged. */
#include <stdlib.h>

#include "nn/internal.h"

#define CONV "nn_conv.cl"
#define OC1_ROWS 8        /* output rows per work-item of conv_oc1_rows (OC1_R) */
#define BAND_ROWS 64      /* output rows per work-item of conv_oc1_band (BAND_R) */
#define TILE_ROWS_3 8     /* output rows per work-item of conv_oc1_tile_3x3 (OT_R3) */
#define TILE_ROWS_5 11    /* and of conv_oc1_tile_5x5 (OT_R5) */
#define DIRECT_W_K 5      /* widest kernel of the direct weight gradients
                             (DIRECT_KMAX and OC1W_K in nn_conv.cl) */

/* Largest im2col tile, in floats (64 MiB); a tile holds at least one row. */
#define COL_MAX_ELEMS ((size_t)16 << 20)

static int fail_shape(const char *op, const char *why)
{
	nn_fail(TG_CL_FAIL, "%s: %s", op, why);
	return -1;
}

int nn_conv2d_shape(nn_conv2d *g, int B, int C, int H, int W, int OC, int KH, int KW,
                    int SH, int SW, int PH, int PW)
{
	if (B < 1 || C < 1 || H < 1 || W < 1 || OC < 1 || KH < 1 || KW < 1)
		return fail_shape("conv2d", "sizes must be positive");
	if (SH < 1 || SW < 1 || PH < 0 || PW < 0)
		return fail_shape("conv2d", "stride must be positive and padding not negative");
	if ((double)H + 2.0 * PH < KH || (double)W + 2.0 * PW < KW)
		return fail_shape("conv2d", "kernel larger than the padded input");
	g->B = B, g->C = C, g->H = H, g->W = W, g->OC = OC, g->KH = KH, g->KW = KW;
	g->SH = SH, g->SW = SW, g->PH = PH, g->PW = PW;
	g->OH = (H + 2 * PH - KH) / SH + 1;
	g->OW = (W + 2 * PW - KW) / SW + 1;
	if (nn_check_count("conv2d input", (double)B * C * H * W) ||
	    nn_check_count("conv2d output", (double)B * OC * g->OH * g->OW) ||
	    nn_check_count("conv2d weight", (double)OC * C * KH * KW))
		return -1;
	return 0;
}

int nn_convt2d_shape(nn_convt2d *g, int B, int C, int H, int W, int OC, int KH, int KW,
                     int SH, int SW, int PH, int PW, int OPH, int OPW)
{
	if (B < 1 || C < 1 || H < 1 || W < 1 || OC < 1 || KH < 1 || KW < 1)
		return fail_shape("conv_transpose2d", "sizes must be positive");
	if (SH < 1 || SW < 1 || PH < 0 || PW < 0)
		return fail_shape("conv_transpose2d", "stride must be positive and padding not negative");
	if (OPH < 0 || OPW < 0 || OPH >= SH || OPW >= SW)
		return fail_shape("conv_transpose2d", "output padding must be below the stride");
	double oh = ((double)H - 1) * SH - 2.0 * PH + KH + OPH;
	double ow = ((double)W - 1) * SW - 2.0 * PW + KW + OPW;
	if (oh < 1 || ow < 1)
		return fail_shape("conv_transpose2d", "padding leaves no output");
	if (nn_check_count("conv_transpose2d output", (double)B * OC * oh * ow) ||
	    nn_check_count("conv_transpose2d input", (double)B * C * H * W) ||
	    nn_check_count("conv_transpose2d weight", (double)OC * C * KH * KW))
		return -1;
	g->B = B, g->C = C, g->H = H, g->W = W, g->OC = OC, g->KH = KH, g->KW = KW;
	g->SH = SH, g->SW = SW, g->PH = PH, g->PW = PW, g->OPH = OPH, g->OPW = OPW;
	g->OH = (int)oh;
	g->OW = (int)ow;
	return 0;
}

/* ---- references ---- */

void nn_ref_conv2d_forward(const nn_conv2d *g, float *y, const float *x, const float *w,
                           const float *b)
{
	const int C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW;
	for (int n = 0; n < g->B; n++)
		for (int oc = 0; oc < g->OC; oc++)
			for (int oh = 0; oh < g->OH; oh++)
				for (int ow = 0; ow < g->OW; ow++) {
					double s = b ? b[oc] : 0.0;
					for (int c = 0; c < C; c++)
						for (int kh = 0; kh < KH; kh++) {
							int ih = oh * g->SH - g->PH + kh;
							if (ih < 0 || ih >= H)
								continue;
							for (int kw = 0; kw < KW; kw++) {
								int iw = ow * g->SW - g->PW + kw;
								if (iw < 0 || iw >= W)
									continue;
								s += (double)w[((oc * C + c) * KH + kh) * KW + kw] *
								     x[(((size_t)n * C + c) * H + ih) * W + iw];
							}
						}
					y[(((size_t)n * g->OC + oc) * g->OH + oh) * g->OW + ow] = (float)s;
				}
}

/* (ih + pad - k) / stride when it is a whole output index in [0, limit), else -1. */
static int tap(int i, int pad, int k, int stride, int limit)
{
	int t = i + pad - k;
	if (t < 0 || t % stride)
		return -1;
	t /= stride;
	return t < limit ? t : -1;
}

/* db[oc] += sum over the batch and the plane of dy[n][oc] (reference,
 * double accumulation). */
static void ref_bias_grad(float *db, const float *dy, int B, int OC, size_t plane)
{
	for (int oc = 0; oc < OC; oc++) {
		double s = 0;
		for (int n = 0; n < B; n++)
			for (size_t p = 0; p < plane; p++)
				s += dy[((size_t)n * OC + oc) * plane + p];
		db[oc] += (float)s;
	}
}

void nn_ref_conv2d_backward(const nn_conv2d *g, float *dx, float *dw, float *db,
                            const float *dy, const float *x, const float *w)
{
	const int C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW, OC = g->OC;
	const int OH = g->OH, OW = g->OW;
	if (db)
		ref_bias_grad(db, dy, g->B, OC, (size_t)OH * OW);
	if (dw)
		for (int oc = 0; oc < OC; oc++)
			for (int c = 0; c < C; c++)
				for (int kh = 0; kh < KH; kh++)
					for (int kw = 0; kw < KW; kw++) {
						double s = 0;
						for (int n = 0; n < g->B; n++)
							for (int oh = 0; oh < OH; oh++) {
								int ih = oh * g->SH - g->PH + kh;
								if (ih < 0 || ih >= H)
									continue;
								for (int ow = 0; ow < OW; ow++) {
									int iw = ow * g->SW - g->PW + kw;
									if (iw < 0 || iw >= W)
										continue;
									s += (double)dy[(((size_t)n * OC + oc) * OH + oh) * OW + ow] *
									     x[(((size_t)n * C + c) * H + ih) * W + iw];
								}
							}
						dw[((oc * C + c) * KH + kh) * KW + kw] += (float)s;
					}
	if (dx)
		for (int n = 0; n < g->B; n++)
			for (int c = 0; c < C; c++)
				for (int ih = 0; ih < H; ih++)
					for (int iw = 0; iw < W; iw++) {
						double s = 0;
						for (int kh = 0; kh < KH; kh++) {
							int oh = tap(ih, g->PH, kh, g->SH, OH);
							if (oh < 0)
								continue;
							for (int kw = 0; kw < KW; kw++) {
								int ow = tap(iw, g->PW, kw, g->SW, OW);
								if (ow < 0)
									continue;
								for (int oc = 0; oc < OC; oc++)
									s += (double)w[((oc * C + c) * KH + kh) * KW + kw] *
									     dy[(((size_t)n * OC + oc) * OH + oh) * OW + ow];
							}
						}
						dx[(((size_t)n * C + c) * H + ih) * W + iw] = (float)s;
					}
}

void nn_ref_convt2d_forward(const nn_convt2d *g, float *y, const float *x, const float *w,
                            const float *b)
{
	const int C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW, OC = g->OC;
	for (int n = 0; n < g->B; n++)
		for (int oc = 0; oc < OC; oc++)
			for (int oh = 0; oh < g->OH; oh++)
				for (int ow = 0; ow < g->OW; ow++) {
					double s = b ? b[oc] : 0.0;
					for (int kh = 0; kh < KH; kh++) {
						int ih = tap(oh, g->PH, kh, g->SH, H);
						if (ih < 0)
							continue;
						for (int kw = 0; kw < KW; kw++) {
							int iw = tap(ow, g->PW, kw, g->SW, W);
							if (iw < 0)
								continue;
							for (int c = 0; c < C; c++)
								s += (double)w[((c * OC + oc) * KH + kh) * KW + kw] *
								     x[(((size_t)n * C + c) * H + ih) * W + iw];
						}
					}
					y[(((size_t)n * OC + oc) * g->OH + oh) * g->OW + ow] = (float)s;
				}
}

void nn_ref_convt2d_backward(const nn_convt2d *g, float *dx, float *dw, float *db,
                             const float *dy, const float *x, const float *w)
{
	const int C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW, OC = g->OC;
	const int OH = g->OH, OW = g->OW;
	if (db)
		ref_bias_grad(db, dy, g->B, OC, (size_t)OH * OW);
	if (dw)
		for (int c = 0; c < C; c++)
			for (int oc = 0; oc < OC; oc++)
				for (int kh = 0; kh < KH; kh++)
					for (int kw = 0; kw < KW; kw++) {
						double s = 0;
						for (int n = 0; n < g->B; n++)
							for (int ih = 0; ih < H; ih++) {
								int oh = ih * g->SH - g->PH + kh;
								if (oh < 0 || oh >= OH)
									continue;
								for (int iw = 0; iw < W; iw++) {
									int ow = iw * g->SW - g->PW + kw;
									if (ow < 0 || ow >= OW)
										continue;
									s += (double)x[(((size_t)n * C + c) * H + ih) * W + iw] *
									     dy[(((size_t)n * OC + oc) * OH + oh) * OW + ow];
								}
							}
						dw[((c * OC + oc) * KH + kh) * KW + kw] += (float)s;
					}
	if (dx)
		for (int n = 0; n < g->B; n++)
			for (int c = 0; c < C; c++)
				for (int ih = 0; ih < H; ih++)
					for (int iw = 0; iw < W; iw++) {
						double s = 0;
						for (int oc = 0; oc < OC; oc++)
							for (int kh = 0; kh < KH; kh++) {
								int oh = ih * g->SH - g->PH + kh;
								if (oh < 0 || oh >= OH)
									continue;
								for (int kw = 0; kw < KW; kw++) {
									int ow = iw * g->SW - g->PW + kw;
									if (ow < 0 || ow >= OW)
										continue;
									s += (double)w[((c * OC + oc) * KH + kh) * KW + kw] *
									     dy[(((size_t)n * OC + oc) * OH + oh) * OW + ow];
								}
							}
						dx[(((size_t)n * C + c) * H + ih) * W + iw] = (float)s;
					}
}

/* ---- device ---- */

/* Tiles: G whole images, or (G = 1) bands of NR output rows. */
static void plan(const nn_ctx *ctx, const nn_conv2d *g, int *G, int *NR)
{
	size_t ckk = (size_t)g->C * g->KH * g->KW;
	size_t target = ctx->col_cols ? ctx->col_cols : 1;
	size_t most = COL_MAX_ELEMS / ckk;
	if (most < (size_t)g->OW)
		most = (size_t)g->OW;
	if (target > most)
		target = most;
	size_t ohw = (size_t)g->OH * g->OW;
	if (ohw <= target) {
		size_t n = target / ohw;
		*G = n < (size_t)g->B ? (int)n : g->B;
		*NR = g->OH;
	} else {
		size_t r = target / (size_t)g->OW;
		*G = 1;
		*NR = r < 1 ? 1 : r > (size_t)g->OH ? g->OH : (int)r;
	}
}

/* C, H, W, KH, KW, SH, SW, PH, PW, OH, OW: the geometry as kernels take it. */
static void arg_geometry(nn_args *a, const nn_conv2d *g)
{
	const int v[11] = { g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW, g->OH, g->OW };
	for (int i = 0; i < 11; i++)
		nn_arg_int(a, v[i]);
}

/* Whether act is one of the activations a forward can fuse (NN_ACT_*). */
static int act_known(int act)
{
	return act >= NN_ACT_NONE && act <= NN_ACT_LEAKY;
}

/* The arguments the direct forward kernels start with: y, x, the
 * weights, the bias (any valid buffer, here the weights, when there is
 * none) and whether there is one. */
static void arg_forward_head(nn_args *a, nn_buf y, nn_buf x, nn_buf w, nn_buf b)
{
	nn_arg_buf(a, y);
	nn_arg_buf(a, x);
	nn_arg_buf(a, w);
	nn_arg_buf(a, nn_has(b) ? b : w);
	nn_arg_int(a, nn_has(b));
}

/* Launch the forward-type conv kernel name (y, x, wt, b, has_b, then the
 * scratch s where given, the n ints v, and *slope where given) over
 * global, in groups of one work-item. */
static int launch_head(nn_ctx *ctx, const char *name, nn_buf y, nn_buf x, nn_buf wt, nn_buf b,
                       nn_buf s, const int *v, int n, const float *slope,
                       const size_t global[3])
{
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	arg_forward_head(&a, y, x, wt, b);
	if (nn_has(s))
		nn_arg_buf(&a, s);
	for (int i = 0; i < n; i++)
		nn_arg_int(&a, v[i]);
	if (slope)
		nn_arg_float(&a, *slope);
	const size_t local[3] = { 1, 1, 1 };
	return nn_launch3(ctx, k, name, nn_args_end(&a, name), global, local);
}

/* launch_head with no scratch and the slope. */
static int launch_forward(nn_ctx *ctx, const char *name, nn_buf y, nn_buf x, nn_buf wt,
                          nn_buf b, const int *v, int n, float slope, const size_t global[3])
{
	return launch_head(ctx, name, y, x, wt, b, NN_NONE, v, n, &slope, global);
}

/* col [C*KH*KW, gn*nr*OW] = columns of images x [gn, C, H, W], rows oh0.. */
static int im2col(nn_ctx *ctx, const nn_conv2d *g, cl_mem col, nn_buf x, int gn, int oh0, int nr)
{
	cl_kernel k = nn_kernel(ctx, CONV, "im2col");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(col, 0));
	nn_arg_buf(&a, x);
	arg_geometry(&a, g);
	nn_arg_int(&a, gn);
	nn_arg_int(&a, oh0);
	nn_arg_int(&a, nr);
	return nn_launch2(ctx, k, "im2col", nn_args_end(&a, "im2col"), (size_t)gn * nr,
	                  (size_t)g->C * g->KH * g->KW);
}

/* dx [gn, C, H, W] = col2im of a tile (assigned for whole images, added
 * for a band of rows). */
static int col2im(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, cl_mem col, int gn, int oh0, int nr)
{
	int ih0 = 0, ih1 = g->H, acc = nr < g->OH;
	if (acc) {
		ih0 = oh0 * g->SH - g->PH;
		ih1 = (oh0 + nr - 1) * g->SH - g->PH + g->KH;
		ih0 = ih0 < 0 ? 0 : ih0;
		ih1 = ih1 > g->H ? g->H : ih1;
		if (ih1 <= ih0)
			return TG_CL_OK;
	}
	cl_kernel k = nn_kernel(ctx, CONV, "col2im");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dx);
	nn_arg_buf(&a, nn_buf_of(col, 0));
	arg_geometry(&a, g);
	nn_arg_int(&a, gn);
	nn_arg_int(&a, oh0);
	nn_arg_int(&a, nr);
	nn_arg_int(&a, ih0);
	nn_arg_int(&a, ih1 - ih0);
	nn_arg_int(&a, acc);
	return nn_launch2(ctx, k, "col2im", nn_args_end(&a, "col2im"), (size_t)(ih1 - ih0),
	                  (size_t)gn * g->C);
}

static int is_pointwise(const nn_conv2d *g)
{
	return g->KH == 1 && g->KW == 1 && g->SH == 1 && g->SW == 1 && g->PH == 0 && g->PW == 0;
}

/* ---- shifted GEMMs: conv2d without columns ----
 * Input row ih = oh*S + kh - P of tap kh is written S*(oh + q) + r with
 * q = floor((kh - P) / S) and 0 <= r < S: every tap reads one phase r of
 * the input (rows S*i + r), shifted by q rows.  The input of a group of G
 * images is copied once into zero-padded channel-major phase planes
 * xq [SH*SW phases, C, G, Hq, Wq], row i' of a plane holding phase row
 * i' + q0 (q0 = floor(-P / S), the smallest shift), Hq = OH + q1 - q0 with
 * q1 the largest shift; for stride 1 that is simply the input padded by P.
 * Output pixel (oh, ow) of image i sits at grid position p = i*Hq*Wq +
 * oh*Wq + ow, and tap (kh, kw) reads its phase plane at p + (qh - qh0)*Wq +
 * (qw - qw0): each of the KH*KW taps is one GEMM of the tap's weights
 * [OC, C] with a strided view of xq, accumulating into the output grid,
 * whose first OW columns per row are then copied out.  The positions past
 * OW in a row are computed and dropped; no view leaves its image's plane.
 * Compared with im2col this copies about C*H*W values per image instead of
 * writing and reading C*KH*KW*OH*OW (9 times more for a 3x3 stride 1).
 * With OC >= 8 and C <= 128 (planes_ok) the forward skips the GEMMs and
 * the grid: conv_planes_forward (nn_conv.cl) reads the same views straight
 * from the phase planes, 16 output columns of two or three rows
 * (planes_rows) for 8 channels per work-item, and stores the output with
 * its bias and activation.  In a whole wgan-gp iteration at
 * 64x64 (TOMOGAN_CL_TIMING=1) the kernel spent 5.8 s on the forward-type
 * passes (forward, tangent forward, stride-1 data gradient) where the
 * GEMM path spent about 7 s (their share of the sgemm time, and
 * extract_rows): OpenBLAS packs each tap's view of the planes anew, and
 * with K = C small that packing is a quarter of its time.  A 1x1 conv
 * (stride 1, no padding) with OC >= 8 and C <= 128 takes the same loop
 * with the pixels of an image as one row, conv_pointwise_forward, on x
 * itself (pointwise_forward): no copy, bias and activation in the same
 * pass, one launch for the batch.  Its data gradient is that kernel on
 * dy with the weights transposed, its weight gradient
 * conv_pointwise_weight, the bias gradient in the same pass (one launch
 * each, where one GEMM per image took 2-3 times as long at SRCNN's
 * training batches).
 * Weight gradient: for each tap, dW_k [OC, C] += dy_grid [OC, K] xq_k^T
 * over the whole group at once (dy_grid holds zeros at the dropped
 * positions); with OC >= 16 and at most 2304 taps times input channels
 * (ctx->conv_direct) all taps in one kernel, conv_grid_weight, on dy_grid
 * with the channels last (grid_weight: 143 -> 183-200 GFLOP/s backward
 * for the 64x64 generator's 64->64 layer).  Data gradient: stride 1 is
 * the shifted forward of dy with the flipped weights; other strides run
 * one stride-1 conv of dy per phase of dx (phase_data_gradient) or,
 * beyond conv_planes_forward's reach, the adjoint, dxq_k [C, N] +=
 * W_k^T dy_grid, then gather dx from the phase planes.
 * The 3x3 convs of stride 2 and padding 1 on rows twice as wide as the
 * output's, a multiple of 16 (s2_direct_ok: the critics' downsampling
 * layers), skip the phase planes in all three passes: conv_s2_forward
 * deinterleaves x's rows in registers, conv_s2_data computes dx's four
 * phases in one pass and interleaves them on the store, conv_3x3_weight
 * reads x at stride 2.  bench_conv, fwd+bwd in GFLOP/s, before -> after
 * (2026-12-06, one run each, sgemm 321-330): D s2 64->64 143.8 -> 226.2,
 * 64->128 173.5 -> 278.9, 128->128 170.5 -> 255.7.  Likewise the 3x3
 * stride-1 convs with padding 1 on rows a multiple of 16 wide
 * (s1_direct_ok) run their forward and their data gradient (the forward
 * of dy with the flipped weights) by conv_s1_forward straight from x or
 * dy: bench_conv -l "conv 3x3", forward in ms from the padded planes ->
 * from x, same build (ctx->s1_direct): G 128->128 92.9 -> 67.1, G
 * 128->64 177.1 -> 150.2, G 64->64 83.2 -> 75.9, D 64->128 42.3 -> 34.0;
 * and their weight gradient by conv_3x3_weight on x (backward, with the
 * rest: 180.6 -> 146.7, 325.9 -> 279.3, 178.5 -> 153.9, 100.6 -> 79.2). */

/* Images with fewer grid positions run one GEMM per tap for the group. */
#define SHIFT_MERGE_N 2048

/* Largest phase planes + output grid of a group, in floats (128 MiB). */
#define SHIFT_MAX_ELEMS ((size_t)32 << 20)

static int shiftable(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_shift && g->C >= 8 && g->OC >= 2 && !is_pointwise(g);
}

static int floordiv(int a, int b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

typedef struct shift_geom {
	int qh0, qw0;     /* smallest row and column shifts (<= 0) */
	int Hq, Wq;       /* phase plane */
	int phases;       /* SH*SW */
	size_t pl;        /* Hq*Wq */
	size_t N;         /* grid positions of one image: (OH-1)*Wq + OW */
	int G;            /* images per group */
} shift_geom;

/* Images per group of a batch of B when each takes per floats of scratch
 * (ctx->shift_elems in all, at least one image). */
static int group_images(const nn_ctx *ctx, size_t per, int B)
{
	size_t most = ctx->shift_elems ? ctx->shift_elems : SHIFT_MAX_ELEMS, n = most / per;
	return n < 1 ? 1 : n > (size_t)B ? B : (int)n;
}

/* Whether the shifted GEMMs of s run one per tap over a whole group (its
 * grid positions between images included) rather than per image. */
static int merges(const nn_ctx *ctx, const shift_geom *s)
{
	return s->N < (ctx->shift_merge_n ? ctx->shift_merge_n : SHIFT_MERGE_N);
}

/* The geometry of g's phase planes, and the images per group when each
 * also needs oc floats per grid position besides its planes. */
static void shift_plan_oc(const nn_ctx *ctx, const nn_conv2d *g, int oc, shift_geom *s)
{
	s->qh0 = floordiv(-g->PH, g->SH);
	s->qw0 = floordiv(-g->PW, g->SW);
	s->Hq = g->OH + floordiv(g->KH - 1 - g->PH, g->SH) - s->qh0;
	s->Wq = g->OW + floordiv(g->KW - 1 - g->PW, g->SW) - s->qw0;
	s->phases = g->SH * g->SW;
	s->pl = (size_t)s->Hq * s->Wq;
	s->N = (size_t)(g->OH - 1) * s->Wq + g->OW;
	s->G = group_images(ctx, ((size_t)s->phases * g->C + oc) * s->pl, g->B);
}

/* ... with the output grid of the shifted GEMMs (OC floats per position). */
static void shift_plan(const nn_ctx *ctx, const nn_conv2d *g, shift_geom *s)
{
	shift_plan_oc(ctx, g, g->OC, s);
}

/* Tap k: the start of its view in the phase planes of one image (phase
 * base + shift), relative to the planes' start; the rows of the view (one
 * per channel) are G*pl apart. */
static size_t tap_view(const nn_conv2d *g, const shift_geom *s, int k, int G)
{
	int kh = k / g->KW, kw = k % g->KW;
	int qh = floordiv(kh - g->PH, g->SH), qw = floordiv(kw - g->PW, g->SW);
	int rh = kh - g->PH - qh * g->SH, rw = kw - g->PW - qw * g->SW;
	size_t phase = (size_t)rh * g->SW + rw;
	return phase * g->C * G * s->pl + (size_t)(qh - s->qh0) * s->Wq + (size_t)(qw - s->qw0);
}

/* Launch embed_phases(_pairs), whose work-items walk the rows of a plane
 * each (dimension 0 strides over the rows, 1 over n planes), one
 * work-item per plane in groups of one.  One work-item per row in groups
 * of 64 took longer (bench_conv -l "D conv 3x3 s2 64->64",
 * TOMOGAN_CL_TIMING=1: embed_phases_pairs 10.0-11.8 ms a call, 8.0-8.2 ms
 * by plane; for "G conv 3x3 128->128" embed_phases 5.8 -> 4.0 ms).  The
 * same for interleave_phases gained nothing (4.8 -> 5.1 ms), so it keeps
 * a work-item per row. */
static int launch_planes(nn_ctx *ctx, cl_kernel k, const char *name, int st, size_t n)
{
	const size_t global[3] = { 1, n, 1 }, local[3] = { 1, 1, 1 };
	return nn_launch3(ctx, k, name, st, global, local);
}

/* dst [SH*SW, C, G, Hd, Wd] = the phase planes of src [G, C, H, W]: row
 * i', column j' of phase (rh, rw) holds src row SH*(i' + qh0) + rh, column
 * SW*(j' + qw0) + rw, or 0 outside it (embed_phases in nn_conv.cl). */
static int embed(nn_ctx *ctx, nn_buf dst, nn_buf src, int G, int C, int H, int W, int Hd,
                 int Wd, int SH, int SW, int qh0, int qw0)
{
	/* column stride 2: both column phases of a row in one pass over it */
	const int pairs = SW == 2;
	const char *name = pairs ? "embed_phases_pairs" : "embed_phases";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dst);
	nn_arg_buf(&a, src);
	const int v[10] = { G, C, H, W, Hd, Wd, SH, SW, qh0, qw0 };
	for (int i = 0; i < 10; i++)
		if (!pairs || i != 7)   /* embed_phases_pairs takes no SW */
			nn_arg_int(&a, v[i]);
	return launch_planes(ctx, k, name, nn_args_end(&a, name),
	                     (size_t)SH * (pairs ? 1 : SW) * C * G);
}

/* dst [B, OH+KH-1, OW+KW-1] = the one input channel of the stride-1 conv g
 * zero-padded: row oh + kh, column ow + kw holds the input pixel of tap
 * (kh, kw) for output (oh, ow). */
static int embed_padded(nn_ctx *ctx, const nn_conv2d *g, nn_buf dst, nn_buf x)
{
	return embed(ctx, dst, x, g->B, 1, g->H, g->W, g->OH + g->KH - 1, g->OW + g->KW - 1, 1, 1,
	             -g->PH, -g->PW);
}

/* wt = w regrouped by tap (taps_major in nn_conv.cl). */
static int taps_cm(nn_ctx *ctx, nn_buf wt, nn_buf w, int OC, int C, int KK, int flip,
                   int cmajor)
{
	cl_kernel k = nn_kernel(ctx, CONV, "taps_major");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, wt);
	nn_arg_buf(&a, w);
	nn_arg_int(&a, OC);
	nn_arg_int(&a, C);
	nn_arg_int(&a, KK);
	nn_arg_int(&a, flip);
	nn_arg_int(&a, cmajor);
	return nn_launch1(ctx, k, "taps_major", nn_args_end(&a, "taps_major"), (size_t)OC * C * KK);
}

/* k = the conv kernel name with its first arguments: the buffers p and q,
 * then the n ints v. */
static int bufs_ints(nn_ctx *ctx, const char *name, cl_kernel *k, nn_args *a, nn_buf p,
                     nn_buf q, const int *v, int n)
{
	if (!(*k = nn_kernel(ctx, CONV, name)))
		return ctx->status;
	nn_args_begin(a, *k);
	nn_arg_buf(a, p);
	nn_arg_buf(a, q);
	for (int i = 0; i < n; i++)
		nn_arg_int(a, v[i]);
	return TG_CL_OK;
}

/* wt = w [OC, C, KK] by blocks of OB output channels, [ceil(OC / OB), C,
 * KK, OB], or with over_c of input channels, [ceil(C / OB), OC, KK, OB],
 * with flip its taps reversed (taps_blocked in nn_conv.cl). */
static int taps_blocked(nn_ctx *ctx, nn_buf wt, nn_buf w, int OC, int C, int KK, int OB,
                        int over_c, int flip)
{
	const char *name = "taps_blocked";
	const int v[6] = { OC, C, KK, OB, over_c, flip };
	cl_kernel k;
	nn_args a;
	int st = bufs_ints(ctx, name, &k, &a, wt, w, v, 6);
	size_t A = over_c ? C : OC, Bd = over_c ? OC : C;
	return st != TG_CL_OK ? st : nn_launch1(ctx, k, name, nn_args_end(&a, name),
	                                        (A + OB - 1) / OB * OB * Bd * KK);
}

static int taps(nn_ctx *ctx, nn_buf wt, nn_buf w, int OC, int C, int KK, int flip)
{
	return taps_cm(ctx, wt, w, OC, C, KK, flip, 0);
}

/* wt = the taps of the conv g, from its weights w [OC, C, KH, KW] or, with
 * flip, from the weights w [C, OC, KH, KW] of the conv whose data
 * gradient g is. */
static int taps_of(nn_ctx *ctx, nn_buf wt, nn_buf w, const nn_conv2d *g, int flip, int cmajor)
{
	int KK = g->KH * g->KW;
	return flip ? taps_cm(ctx, wt, w, g->C, g->OC, KK, 1, cmajor)
	            : taps_cm(ctx, wt, w, g->OC, g->C, KK, 0, cmajor);
}

/* Whether the data gradient of g is a forward conv of dy with g's
 * weights flipped: stride 1, and padding within the kernel, so that the
 * flipped conv's padding K-1-P is not negative (the direct path for one
 * output channel lacked that check and computed a wrong dx). */
static int flippable(const nn_conv2d *g)
{
	return g->SH == 1 && g->SW == 1 && g->PH < g->KH && g->PW < g->KW;
}

/* The stride-1 conv whose forward on dy is the data gradient of the
 * stride-1 conv g (with g's weights flipped): channels exchanged, padding
 * K-1-P. */
static nn_conv2d data_gradient_conv(const nn_conv2d *g)
{
	nn_conv2d t = { .B = g->B, .C = g->OC, .H = g->OH, .W = g->OW, .OC = g->C, .KH = g->KH,
	                .KW = g->KW, .SH = 1, .SW = 1, .PH = g->KH - 1 - g->PH,
	                .PW = g->KW - 1 - g->PW, .OH = g->H, .OW = g->W };
	return t;
}

/* Offsets and betas of a sequence of GEMMs (tg_gemm_seq). */
typedef struct gemm_list {
	size_t n, *a, *b, *c;
	float *beta;
} gemm_list;

static int list_alloc(gemm_list *l, size_t most)
{
	l->n = 0;
	l->a = malloc(3 * most * sizeof *l->a);
	l->beta = malloc(most * sizeof *l->beta);
	if (!l->a || !l->beta) {
		free(l->a), free(l->beta);
		l->a = NULL, l->beta = NULL;
		return nn_fail(TG_CL_FAIL, "conv2d: out of memory");
	}
	l->b = l->a + most, l->c = l->b + most;
	return TG_CL_OK;
}

static void list_add(gemm_list *l, size_t a, size_t b, size_t c, float beta)
{
	l->a[l->n] = a, l->b[l->n] = b, l->c[l->n] = c, l->beta[l->n] = beta;
	l->n++;
}

static void list_free(gemm_list *l)
{
	free(l->a), free(l->beta);
}

/* Output rows per work-item of conv_planes_forward (2) or
 * conv_planes_forward3 (3) for OH rows (ctx->planes_rows 2 or 3 forces
 * one): three when the rows computed past OH cost less than the tenth
 * that three save (bench_conv, G conv 3x3 64->64 at 64^2: forward
 * 81-83 -> 75-78 ms in three alternated runs; at 16 rows, where three
 * compute 18, two stay). */
static int planes_rows(const nn_ctx *ctx, int OH)
{
	if (ctx->planes_rows == 2 || ctx->planes_rows == 3)
		return ctx->planes_rows;
	return 9 * 3 * ((OH + 2) / 3) < 10 * 2 * ((OH + 1) / 2) ? 3 : 2;
}

/* Launch conv_planes_forward(3) for gn images of y from the planes xq. */
static int planes_launch(nn_ctx *ctx, const nn_conv2d *g, const shift_geom *s, nn_buf y,
                         nn_buf xq, int gn, nn_buf wt, nn_buf b, int act, float slope)
{
	const int R = planes_rows(ctx, g->OH);
	const char *name = R == 3 ? "conv_planes_forward3" : "conv_planes_forward";
	const int v[16] = { g->OC, g->C, gn, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW,
	                    s->qh0, s->qw0, s->Hq, s->Wq, g->OH, g->OW, act };
	const size_t global[3] = { ((size_t)g->OC + 7) / 8, ((size_t)g->OW + 15) / 16,
	                           (size_t)gn * ((g->OH + R - 1) / R) };
	return launch_forward(ctx, name, y, xq, wt, b, v, 16, slope, global);
}

/* Whether conv_s2_forward takes g (with planes_ok): a 3x3 conv of stride
 * 2 and padding 1 whose rows are twice as wide as its output's, a
 * multiple of 16 wide, so that each vector of 16 output columns reads 32
 * whole input columns (the discriminators' stride-2 layers). */
static int s2_direct_ok(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->s2_direct && g->KH == 3 && g->KW == 3 && g->SH == 2 && g->SW == 2 &&
	       g->PH == 1 && g->PW == 1 && g->W == 2 * g->OW && g->OW % 16 == 0;
}

/* Whether conv_s1_forward takes g (with planes_ok): a 3x3 conv of stride
 * 1 and padding 1 on rows a multiple of 16 wide. */
static int s1_direct_ok(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->s1_direct && g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1 &&
	       g->PH == 1 && g->PW == 1 && g->W % 16 == 0;
}

/* y = act(conv2d(x) + b) for the 3x3 conv g of stride 1 or 2 that
 * s1_direct_ok or s2_direct_ok take, by conv_s1_forward or
 * conv_s2_forward straight from x, one launch for the batch (two output
 * rows per work-item, whatever planes_rows says), for the weights w [OC,
 * C, 3, 3] or, with flip (stride 1), for the conv whose flipped weights w
 * [C, OC, 3, 3] are (the data gradient); the taps by blocks of 8 output
 * channels (taps_blocked).  bench_conv -l "D conv 3x3 s2 64->64", forward
 * 29.0-31.6 -> 23.5-23.7 ms (the copy into the phase planes took 8 ms of
 * it). */
static int direct_3x3_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w,
                              int flip, nn_buf b, int act, float slope)
{
	const char *name = g->SH == 2 ? "conv_s2_forward" : "conv_s1_forward";
	cl_mem wm;
	int st = nn_scratch_aux(ctx, ((size_t)g->OC + 7) / 8 * 8 * g->C * 9, &wm);
	nn_buf wt = nn_buf_of(wm, 0);
	if (st == TG_CL_OK)
		st = flip ? taps_blocked(ctx, wt, w, g->C, g->OC, 9, 8, 1, 1)
		          : taps_blocked(ctx, wt, w, g->OC, g->C, 9, 8, 0, 0);
	if (st != TG_CL_OK)
		return st;
	const int v[7] = { g->OC, g->C, g->H, g->W, g->OH, g->OW, act };
	const size_t global[3] = { ((size_t)g->OC + 7) / 8, (size_t)g->OW / 16,
	                           (size_t)g->B * ((g->OH + 1) / 2) };
	return launch_forward(ctx, name, y, x, wt, b, v, 7, slope, global);
}

/* y = act(conv2d(x) + b) by conv_planes_forward on the phase planes of
 * each group (shift_plan's), wt [KK, C, OC] + 16 floats of slack. */
static int planes_forward(nn_ctx *ctx, const nn_conv2d *g, const shift_geom *s, nn_buf y,
                          nn_buf x, nn_buf wt, nn_buf b, int act, float slope)
{
	const size_t chw = (size_t)g->C * g->H * g->W, ocohw = (size_t)g->OC * g->OH * g->OW;
	cl_mem m;
	/* slack: lanes past OW read up to 15 floats past a row, and the rows
	 * of a last pair or triple past OH up to two rows past a plane */
	int st = nn_scratch(ctx, (size_t)s->G * s->phases * g->C * s->pl + 2 * s->Wq + 16, &m);
	if (st != TG_CL_OK)
		return st;
	nn_buf xq = nn_buf_of(m, 0);
	for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += s->G) {
		int gn = g->B - n0 < s->G ? g->B - n0 : s->G;
		st = embed(ctx, xq, nn_at(x, n0 * chw), gn, g->C, g->H, g->W, s->Hq, s->Wq, g->SH,
		           g->SW, s->qh0, s->qw0);
		if (st == TG_CL_OK)
			st = planes_launch(ctx, g, s, nn_at(y, n0 * ocohw), xq, gn, wt, b, act,
			                   slope);
	}
	return st;
}

/* y = act(conv2d(x) + b) of a 1x1 conv (stride 1, no padding) by
 * conv_pointwise_forward, one launch for the batch.  With flip, w [C, OC]
 * holds the weights of the conv whose data gradient this is (as
 * shifted_forward's flip). */
static int pointwise_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w,
                             int flip, nn_buf b, int act, float slope)
{
	const char *name = ctx->vec_narrow ? "conv_pointwise_narrow" : "conv_pointwise_forward";
	cl_mem wm;
	int st = nn_scratch_aux(ctx, (size_t)g->C * g->OC + 16, &wm);
	nn_buf wt = nn_buf_of(wm, 0);
	if (st == TG_CL_OK)
		st = taps_of(ctx, wt, w, g, flip, 1);
	if (st != TG_CL_OK)
		return st;
	size_t S = (size_t)g->H * g->W;
	const int v[4] = { g->OC, g->C, (int)S, act };
	/* 48 * PWF_RUNS pixels per work-item (nn_conv.cl), and one more
	 * where the non-temporal form's lines of the last run's planes reach
	 * up to 16 pixels further */
	const size_t global[3] = { ((size_t)g->OC + 7) / 8, (S + 16 + 191) / 192, (size_t)g->B };
	return launch_forward(ctx, name, y, x, wt, b, v, 4, slope, global);
}

/* Whether conv_planes_forward takes g: 8 output channels per work-item
 * (not for fewer), and at most PLANES_MAX_C input channels, beyond which
 * it measured slower than the GEMMs (bench_conv -l G256 -p 0|1, 4 x 32^2
 * 512->512: 88 against 194 GFLOP/s forward; 64 and 128 channels: 1.0-1.7x
 * faster). */
#define PLANES_MAX_C 128

/* Whether the kernels for many channels take g (ctx->conv_multi): with 8
 * or more input and output channels, only where they are on. */
static int multi_ok(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_multi || g->C < 8 || g->OC < 8;
}

static int planes_ok(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_planes && g->OC >= 8 && g->C <= PLANES_MAX_C && multi_ok(ctx, g);
}

/* Whether the 1x1 forward (or data gradient) g takes pointwise_forward:
 * as planes_ok, but also for many channels where vectors are narrow, on
 * planes of fewer than PW_NARROW_S pixels (conv_pointwise_narrow,
 * whatever ctx->conv_multi says).  On an AVX2 VM, SRCNN's 1x1 64->32
 * fwd+bwd at 128 x 33^2 went from 20-35 to 55-87 GFLOP/s with it (and
 * conv_pointwise_weight_cl's narrow loops), three runs alternating with
 * the GEMMs per image; at 4 x 256^2 its forward took 30.3 against 20.7
 * ms: the runs' planes, 256 KiB apart, fall in the same L1 sets, and its
 * six passes over a run read from L2. */
#define PW_NARROW_S 4096

static int pointwise_ok(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_planes && g->OC >= 8 && g->C <= PLANES_MAX_C &&
	       (multi_ok(ctx, g) || (ctx->vec_narrow && g->H * g->W < PW_NARROW_S));
}

/* y = act(conv2d(x) + b) (b optional) for the weights w [OC, C, KH, KW]
 * or, with flip, for the conv whose flipped weights w [C, OC, KH, KW] are
 * (the data gradient of a stride-1 conv). */
static int shifted_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w,
                           int flip, nn_buf b, int act, float slope)
{
	const int KK = g->KH * g->KW, planes = planes_ok(ctx, g);
	if (planes && ((!flip && s2_direct_ok(ctx, g)) || s1_direct_ok(ctx, g)))
		return direct_3x3_forward(ctx, g, y, x, w, flip, b, act, slope);
	shift_geom s;
	shift_plan(ctx, g, &s);
	cl_mem wm;
	int st = nn_scratch_aux(ctx, (size_t)KK * g->C * g->OC + 16, &wm);
	nn_buf wt = nn_buf_of(wm, 0);
	if (st == TG_CL_OK)
		st = taps_of(ctx, wt, w, g, flip, planes);
	if (st != TG_CL_OK)
		return st;
	if (planes)
		return planes_forward(ctx, g, &s, y, x, wt, b, act, slope);
	/* Small images: one GEMM per tap over the whole group (output grid
	 * [OC, G*pl]); large ones: one per image and tap (grid [G, OC, OH*Wq]),
	 * which keeps each GEMM's output in cache across the taps. */
	const int merged = merges(ctx, &s);
	const size_t yp = merged ? s.pl : (size_t)g->OH * s.Wq;
	const size_t chw = (size_t)g->C * g->H * g->W, ocohw = (size_t)g->OC * g->OH * g->OW;
	cl_mem m;
	st = nn_scratch(ctx, (size_t)s.G * ((size_t)s.phases * g->C * s.pl + g->OC * yp), &m);
	if (st != TG_CL_OK)
		return st;
	nn_buf xq = nn_buf_of(m, 0), yt = nn_at(xq, (size_t)s.G * s.phases * g->C * s.pl);
	cl_kernel ek = nn_kernel(ctx, CONV, "extract_rows");
	if (!ek)
		return ctx->status;
	gemm_list l;
	if ((st = list_alloc(&l, (size_t)s.G * KK)) != TG_CL_OK)
		return st;
	for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += s.G) {
		int gn = g->B - n0 < s.G ? g->B - n0 : s.G;
		st = embed(ctx, xq, nn_at(x, n0 * chw), gn, g->C, g->H, g->W, s.Hq, s.Wq, g->SH, g->SW,
		           s.qh0, s.qw0);
		if (st != TG_CL_OK)
			break;
		l.n = 0;
		for (int i = 0; i < (merged ? 1 : gn); i++)
			for (int k = 0; k < KK; k++)
				list_add(&l, wt.off + (size_t)k * g->OC * g->C,
				         xq.off + i * s.pl + tap_view(g, &s, k, gn),
				         yt.off + (size_t)i * g->OC * yp, k ? 1.0f : 0.0f);
		size_t N = merged ? (size_t)(gn - 1) * s.pl + s.N : s.N;
		st = tg_gemm_seq(ctx->cl, 0, 0, g->OC, N, g->C, 1.0f, wt.mem, g->C, xq.mem,
		                 (size_t)gn * s.pl, yt.mem, merged ? (size_t)gn * s.pl : yp, l.n, KK, l.a,
		                 l.b, l.c, l.beta);
		if (st != TG_CL_OK) {
			st = nn_fail_cl(st, "conv2d");
			break;
		}
		nn_args a;
		nn_args_begin(&a, ek);
		nn_arg_buf(&a, nn_at(y, n0 * ocohw));
		nn_arg_buf(&a, yt);
		nn_arg_buf(&a, nn_has(b) ? b : wt);   /* any valid buffer when there is no bias */
		nn_arg_int(&a, nn_has(b));
		nn_arg_int(&a, g->OC);
		nn_arg_int(&a, g->OH);
		nn_arg_int(&a, g->OW);
		nn_arg_int(&a, s.Wq);
		nn_arg_ulong(&a, merged ? s.pl : (size_t)g->OC * yp);
		nn_arg_ulong(&a, merged ? (size_t)gn * s.pl : yp);
		nn_arg_int(&a, act);
		nn_arg_float(&a, slope);
		st = nn_launch2(ctx, ek, "extract_rows", nn_args_end(&a, "extract_rows"),
		                (size_t)g->OH, (size_t)gn * g->OC);
	}
	list_free(&l);
	return st;
}

/* The gradients of a conv2d by shifted GEMMs: dw += (when dw is given),
 * dx = (when dx is given; strides above 1 only, stride 1 goes through
 * flipped_data_gradient); wt [KK, OC, C] the weights by tap (for dx). */
static int shifted_backward(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dw, nn_buf dy,
                            nn_buf x, nn_buf wt)
{
	const int KK = g->KH * g->KW;
	shift_geom s;
	shift_plan(ctx, g, &s);
	const size_t chw = (size_t)g->C * g->H * g->W, ocohw = (size_t)g->OC * g->OH * g->OW;
	const size_t nw = (size_t)KK * g->OC * g->C, xqn = (size_t)s.G * s.phases * g->C * s.pl;
	cl_mem m;
	int st = nn_scratch(ctx, xqn + (size_t)s.G * g->OC * s.pl + 2 * nw, &m);
	if (st != TG_CL_OK)
		return st;
	nn_buf xq = nn_buf_of(m, 0), dyg = nn_at(xq, xqn);
	nn_buf dwt = nn_at(dyg, (size_t)s.G * g->OC * s.pl);
	cl_kernel gk = NULL;
	if (nn_has(dx) && !(gk = nn_kernel(ctx, CONV, "gather_phases")))
		return ctx->status;
	if (nn_has(dw) && (st = nn_fill(ctx, dwt, 2 * nw, 0.0f)) != TG_CL_OK)
		return st;
	gemm_list l;
	if ((st = list_alloc(&l, (size_t)(s.G < 2 ? 2 : s.G) * KK)) != TG_CL_OK)
		return st;
	for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += s.G) {
		int gn = g->B - n0 < s.G ? g->B - n0 : s.G;
		size_t ld = (size_t)gn * s.pl;
		st = embed(ctx, dyg, nn_at(dy, n0 * ocohw), gn, g->OC, g->OH, g->OW, s.Hq, s.Wq, 1, 1,
		           0, 0);
		if (st == TG_CL_OK && nn_has(dw)) {
			st = embed(ctx, xq, nn_at(x, n0 * chw), gn, g->C, g->H, g->W, s.Hq, s.Wq, g->SH,
			           g->SW, s.qh0, s.qw0);
			/* Two halves of the group into two accumulators, which may run
			 * at once (tg_gemm_seq), then the odd image into the first. */
			int q = gn / 2;
			for (int part = 0; part < 2 && st == TG_CL_OK; part++) {
				/* part 0: images [0, q) and [q, 2q); part 1: image 2q */
				int halves = part == 0 ? 2 * (q > 0) : gn % 2;
				if (halves == 0)
					continue;
				size_t Kp = part == 0 ? (size_t)(q - 1) * s.pl + s.N : s.N;
				l.n = 0;
				for (int h = 0; h < halves; h++) {
					size_t i0 = part == 0 ? (size_t)h * q : (size_t)2 * q;
					for (int k = 0; k < KK; k++)
						list_add(&l, dyg.off + i0 * s.pl,
						         xq.off + i0 * s.pl + tap_view(g, &s, k, gn),
						         dwt.off + (size_t)h * nw + (size_t)k * g->OC * g->C, 1.0f);
				}
				if ((st = tg_gemm_seq(ctx->cl, 0, 1, g->OC, g->C, Kp, 1.0f, dyg.mem, ld, xq.mem,
				                      ld, dwt.mem, g->C, l.n, KK, l.a, l.b, l.c, l.beta)) !=
				    TG_CL_OK)
					st = nn_fail_cl(st, "conv2d weight gradient");
			}
		}
		if (st == TG_CL_OK && nn_has(dx)) {
			/* xq now receives dx in phase planes. */
			st = nn_fill(ctx, xq, (size_t)s.phases * g->C * ld, 0.0f);
			/* Merged as the forward: one GEMM per tap over the group's
			 * grid, whose positions between images add the zeros that
			 * embed left in dyg there. */
			const int merged = merges(ctx, &s);
			const size_t N = merged ? (size_t)(gn - 1) * s.pl + s.N : s.N;
			l.n = 0;
			for (int i = 0; i < (merged ? 1 : gn); i++)
				for (int k = 0; k < KK; k++)
					list_add(&l, wt.off + (size_t)k * g->OC * g->C, dyg.off + i * s.pl,
					         xq.off + i * s.pl + tap_view(g, &s, k, gn), 1.0f);
			if (st == TG_CL_OK &&
			    (st = tg_gemm_seq(ctx->cl, 1, 0, g->C, N, g->OC, 1.0f, wt.mem, g->C, dyg.mem,
			                      ld, xq.mem, ld, l.n, KK, l.a, l.b, l.c, l.beta)) != TG_CL_OK)
				st = nn_fail_cl(st, "conv2d data gradient");
			if (st == TG_CL_OK) {
				nn_args a;
				nn_args_begin(&a, gk);
				nn_arg_buf(&a, nn_at(dx, n0 * chw));
				nn_arg_buf(&a, xq);
				const int v[10] = { gn, g->C, g->H, g->W, s.Hq, s.Wq, g->SH, g->SW, s.qh0,
				                    s.qw0 };
				for (int i = 0; i < 10; i++)
					nn_arg_int(&a, v[i]);
				st = nn_launch2(ctx, gk, "gather_phases", nn_args_end(&a, "gather_phases"),
				                (size_t)g->H, (size_t)gn * g->C);
			}
		}
	}
	list_free(&l);
	if (st != TG_CL_OK || !nn_has(dw))
		return st;
	cl_kernel k = nn_kernel(ctx, CONV, "taps_accumulate");
	if (!k)
		return ctx->status;
	for (int h = 0; h < 2 && st == TG_CL_OK; h++) {
		nn_args a;
		nn_args_begin(&a, k);
		nn_arg_buf(&a, dw);
		nn_arg_buf(&a, nn_at(dwt, (size_t)h * nw));
		nn_arg_int(&a, g->OC);
		nn_arg_int(&a, g->C);
		nn_arg_int(&a, KK);
		st = nn_launch1(ctx, k, "taps_accumulate", nn_args_end(&a, "taps_accumulate"), nw);
	}
	return st;
}

/* The weight gradient of a shifted conv by conv_grid_weight (OC >= 16,
 * ctx->conv_direct): per group, the input's phase planes (as the forward's)
 * and dy on the same grid with the channels last, then per-part sums over
 * the grid positions, added into dw by conv_grid_weight_add.  It reads dy
 * and x about once per 32 output channels where one GEMM per tap read
 * both once per tap, and keeps OpenBLAS's threads out of the step. */
#define GRID_WEIGHT_ITEMS 64
#define GRID_WEIGHT_SPAN 2048

/* Taps times input channels at most: a work-item's accumulators (that
 * many blocks of 32 floats) pass through its cache at every chunk.  With
 * 9 x 512 (the 256x256 generator's 512->512 layer at 4 x 32^2) the
 * backward ran at 141-159 GFLOP/s against the GEMMs' 173-207 (bench_conv
 * -l G256, alternating builds); 9 x 256 gained. */
#define GRID_WEIGHT_KC 2304

static int grid_weight_ok(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_direct && shiftable(ctx, g) && g->OC >= 16 &&
	       g->KH * g->KW * g->C <= GRID_WEIGHT_KC && multi_ok(ctx, g);
}

/* Parts of conv_grid_weight over N grid positions with ob blocks of 32
 * (conv_grid_weight64: 64) output channels: enough work-items to share
 * out among the cores, each of at least GRID_WEIGHT_SPAN positions
 * (conv_grid_weight_add reads every part whole: with 64 parts of SRCNN
 * 9-5-5's 5x5 64->32 layer at 16 x 33^2 it took 2.2 ms against the
 * kernel's 9.6). */
static size_t grid_parts(size_t ob, size_t N)
{
	size_t np = GRID_WEIGHT_ITEMS / ob, most = N / GRID_WEIGHT_SPAN;
	np = np > most ? most : np;
	return np < 1 ? 1 : np;
}

/* dst [G, Hd, Wd, Cp] = src [G, C, H, W] with the channels last, zero past
 * H, W and C (embed_channels_last in nn_conv.cl: a work-item per 16
 * channels of an image; Cp a multiple of 16). */
static int channels_last(nn_ctx *ctx, nn_buf dst, nn_buf src, int G, int C, int H, int W,
                         int Hd, int Wd, int Cp)
{
	const char *name = "embed_channels_last";
	const int v[6] = { C, H, W, Hd, Wd, Cp };
	cl_kernel k;
	nn_args a;
	int st = bufs_ints(ctx, name, &k, &a, dst, src, v, 6);
	return st != TG_CL_OK ? st
	                      : nn_launch2(ctx, k, name, nn_args_end(&a, name),
	                                   (size_t)Cp / 16, (size_t)G);
}

/* dw [OC, C, KK] += the sum of the np parts [np, KK, C, OCp] of a weight
 * gradient (conv_grid_weight_add; OCp a multiple of 16). */
static int add_grid_parts(nn_ctx *ctx, nn_buf dw, nn_buf part, int OC, int C, int KK, int OCp,
                          int np)
{
	const char *name = "conv_grid_weight_add";
	const int v[5] = { OC, C, KK, OCp, np };
	cl_kernel k;
	nn_args a;
	int st = bufs_ints(ctx, name, &k, &a, dw, part, v, 5);
	return st != TG_CL_OK ? st
	                      : nn_launch1(ctx, k, name, nn_args_end(&a, name),
	                                   (size_t)KK * C * OCp / 16);
}

/* dw += the weight gradient of the 3x3 conv g of stride 2 or 1
 * (s2_direct_ok, s1_direct_ok) by conv_3x3_weight(64) on x itself: dy
 * with the channels last for a group of images at a time, the parts'
 * sums, then conv_grid_weight_add. */
static int weight_3x3(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf dy, nn_buf x)
{
	const int OCp = (g->OC + 31) / 32 * 32, wide = OCp % 64 == 0;
	const size_t chw = (size_t)g->C * g->H * g->W, ocohw = (size_t)g->OC * g->OH * g->OW;
	const size_t ohw = (size_t)g->OH * g->OW, ob = (size_t)OCp / (wide ? 64 : 32);
	const size_t nw = (size_t)9 * g->C * OCp;
	const int G = group_images(ctx, ohw * OCp, g->B);
	const size_t np0 = grid_parts(ob, (size_t)G * ohw);
	cl_mem m;
	int st = nn_scratch(ctx, np0 * nw + (size_t)G * ohw * OCp, &m);
	if (st != TG_CL_OK)
		return st;
	nn_buf part = nn_buf_of(m, 0), dyt = nn_at(part, np0 * nw);
	const char *wname = wide ? "conv_3x3_weight64" : "conv_3x3_weight";
	cl_kernel wk = nn_kernel(ctx, CONV, wname);
	if (!wk)
		return ctx->status;
	for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += G) {
		int gn = g->B - n0 < G ? g->B - n0 : G;
		size_t np = grid_parts(ob, (size_t)gn * ohw);
		st = channels_last(ctx, dyt, nn_at(dy, n0 * ocohw), gn, g->OC, g->OH, g->OW,
		                   g->OH, g->OW, OCp);
		if (st != TG_CL_OK)
			break;
		nn_args a;
		nn_args_begin(&a, wk);
		nn_arg_buf(&a, part);
		nn_arg_buf(&a, dyt);
		nn_arg_buf(&a, nn_at(x, n0 * chw));
		const int v[9] = { g->C, OCp, g->H, g->W, g->OH, g->OW, g->SH, gn * g->OH, (int)np };
		for (int i = 0; i < 9; i++)
			nn_arg_int(&a, v[i]);
		const size_t global[3] = { ob, np, 1 }, local[3] = { 1, 1, 1 };
		st = nn_launch3(ctx, wk, wname, nn_args_end(&a, wname), global, local);
		if (st != TG_CL_OK)
			break;
		st = add_grid_parts(ctx, dw, part, g->OC, g->C, 9, OCp, (int)np);
	}
	return st;
}

static int grid_weight(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf dy, nn_buf x)
{
	if (planes_ok(ctx, g) && (s2_direct_ok(ctx, g) || s1_direct_ok(ctx, g)))
		return weight_3x3(ctx, g, dw, dy, x);
	const int OCp = (g->OC + 31) / 32 * 32, KK = g->KH * g->KW;
	shift_geom s;
	shift_plan_oc(ctx, g, OCp, &s);
	const size_t chw = (size_t)g->C * g->H * g->W, ocohw = (size_t)g->OC * g->OH * g->OW;
	/* blocks of 64 output channels where OCp allows (conv_grid_weight64) */
	const int wide = OCp % 64 == 0;
	const size_t ob = (size_t)OCp / (wide ? 64 : 32), nw = (size_t)KK * g->C * OCp;
	const size_t np0 = grid_parts(ob, (size_t)(s.G - 1) * s.pl + s.N);
	const size_t dtn = (size_t)s.G * s.pl * OCp;
	cl_mem m;
	int st = nn_scratch(ctx, np0 * nw + dtn + (size_t)s.G * s.phases * g->C * s.pl, &m);
	if (st != TG_CL_OK)
		return st;
	nn_buf part = nn_buf_of(m, 0), dyt = nn_at(part, np0 * nw), xq = nn_at(dyt, dtn);
	const char *wname = wide ? "conv_grid_weight64" : "conv_grid_weight";
	cl_kernel wk = nn_kernel(ctx, CONV, wname);
	if (!wk)
		return ctx->status;
	for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += s.G) {
		int gn = g->B - n0 < s.G ? g->B - n0 : s.G;
		int N = (int)((size_t)(gn - 1) * s.pl + s.N);
		size_t np = grid_parts(ob, (size_t)N);
		st = embed(ctx, xq, nn_at(x, n0 * chw), gn, g->C, g->H, g->W, s.Hq, s.Wq, g->SH, g->SW,
		           s.qh0, s.qw0);
		if (st != TG_CL_OK)
			break;
		st = channels_last(ctx, dyt, nn_at(dy, n0 * ocohw), gn, g->OC, g->OH, g->OW,
		                   s.Hq, s.Wq, OCp);
		if (st != TG_CL_OK)
			break;
		nn_args a;
		nn_args_begin(&a, wk);
		nn_arg_buf(&a, part);
		nn_arg_buf(&a, dyt);
		nn_arg_buf(&a, xq);
		const int v[15] = { g->C, OCp, gn, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW,
		                    s.qh0, s.qw0, s.Hq, s.Wq, N, (int)np };
		for (int i = 0; i < 15; i++)
			nn_arg_int(&a, v[i]);
		const size_t global[3] = { ob, np, 1 }, local[3] = { 1, 1, 1 };
		st = nn_launch3(ctx, wk, wname, nn_args_end(&a, wname), global, local);
		if (st != TG_CL_OK)
			break;
		st = add_grid_parts(ctx, dw, part, g->OC, g->C, KK, OCp, (int)np);
	}
	return st;
}

/* Whether conv_oc1_strip_3x3 takes g (stride 1 and direct assumed): a
 * 3x3 kernel with padding 1 on rows of 49 to 64 columns, and at least
 * STRIP_MIN_B images, since it runs one work-item per image. */
#define STRIP_MIN_B 8

static int strip_fits(const nn_conv2d *g)
{
	return g->KH == 3 && g->KW == 3 && g->PH == 1 && g->PW == 1 && g->W > 48 && g->W <= 64 &&
	       g->B >= STRIP_MIN_B;
}

/* Whether conv_oc1_strips_5x5 takes the forward of g (one output
 * channel): stride 1, 5x5, padding 2, rows of 16 to 63 (at 4 x 256^2
 * SRCNN's 5x5 32->1 took 3.9-4.6 ms there against 3.2-3.6 by
 * conv_oc1_tile_5x5; at 128 x 33^2 2.4-2.6 against 2.7-3.8 by
 * conv_oc1_last_forward); with ctx->strips5. */
static int strips5_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->strips5 && g->SH == 1 && g->SW == 1 && g->KH == 5 && g->KW == 5 &&
	       g->PH == 2 && g->PW == 2 && g->W >= 16 && g->W < 64;
}

/* Output rows of a unit of that kernel (STR_R in nn_conv.cl), the most
 * work-items it takes, and the floats of a work-item's area of scratch
 * for rows of W floats in scratch rows of Wp: one channel's STRIPS_ROWS
 * + 4 rows, then the unit's sums, STRIPS_ROWS vectors of 16 per strip of
 * 16 columns. */
#define STRIPS_ROWS 11
#define STRIPS_PARTS 32
#define STRIPS_AREA(W, Wp)                                                                \
	(((STRIPS_ROWS + 4) * (size_t)(Wp) + ((size_t)(W) + 15) / 16 * STRIPS_ROWS * 16 + 15) / \
	 16 * 16)

/* y = conv(x) by conv_oc1_strips_5x5 (strips5_fits), the work-items'
 * areas in scratch. */
static int strips5_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w,
                           nn_buf b)
{
	size_t units = (size_t)g->B * ((g->H + STRIPS_ROWS - 1) / STRIPS_ROWS);
	size_t np = units < STRIPS_PARTS ? units : STRIPS_PARTS;
	/* a scratch row: the row at column 16, its padding 2 columns either side */
	int Wp = (16 + g->W + 2 + 15) / 16 * 16;
	cl_mem m;
	int st = nn_scratch(ctx, np * STRIPS_AREA(g->W, Wp), &m);
	if (st != TG_CL_OK)
		return st;
	const int v[6] = { g->B, (int)np, g->C, g->H, g->W, Wp };
	const size_t global[3] = { np, 1, 1 };
	return launch_head(ctx, "conv_oc1_strips_5x5", y, x, w, b, nn_buf_of(m, 0), v, 6, NULL,
	                   global);
}

/* Whether conv_oc1_last_forward takes the forward of g (one output
 * channel): stride 1, C a multiple of 32, kernels of 5 or wider, rows
 * narrower than 64 (where conv_oc1_tile_5x5 leaves lanes idle: at 4 x
 * 256^2 SRCNN's 5x5 took 8.2-8.5 ms here against 4.8-5.5 by the tile,
 * and at 128 x 33^2 3.3-3.7 against 4.3-4.8); with ctx->c1_last. */
static int oc1_last_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->c1_last && g->SH == 1 && g->SW == 1 && g->C % 32 == 0 && g->KW >= 5 &&
	       g->OW < 64;
}

static int cl_rows(const nn_conv2d *g, size_t *np);

/* y = conv(x) by conv_oc1_last_forward (oc1_last_fits): the weights by
 * tap, then the work-items' areas, in scratch. */
static int oc1_last_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w,
                            nn_buf b)
{
	int KK = g->KH * g->KW;
	size_t np, nw = ((size_t)KK * g->C + 15) / 16 * 16;
	int R = cl_rows(g, &np);
	size_t area = (size_t)(R + g->KH - 1) * (g->OW + g->KW - 1) * g->C;
	cl_mem m;
	int st = nn_scratch(ctx, nw + np * area, &m);
	if (st != TG_CL_OK || (st = taps(ctx, nn_buf_of(m, 0), w, g->C, 1, KK, 0)) != TG_CL_OK)
		return st;
	const int v[12] = { g->B, (int)np, g->C, g->H, g->W, g->KH, g->KW, g->PH, g->PW, g->OH,
		            g->OW, R };
	const size_t global[3] = { np, 1, 1 };
	return launch_head(ctx, "conv_oc1_last_forward", y, x, nn_buf_of(m, 0), b,
	                   nn_buf_of(m, nw), v, 12, NULL, global);
}

/* The kernels for OC == 1 (argument lists in nn_conv.cl): direct and
 * register-blocked, conv_oc1_strips_5x5 (what strips5_fits takes),
 * conv_oc1_last_forward (what oc1_last_fits takes),
 * conv_oc1_strip_3x3 (what strip_fits takes: the generator's 64->1
 * layer at 64 x 64^2, 3.5-3.8 ms by conv_oc1_tile_3x3, 2.1 ms here; on
 * rows of exactly 64, conv_oc1_strip64_3x3: 3.1 -> 1.8-1.9 ms on a later
 * machine), conv_oc1_tile_3x3/_5x5 (stride 1, square 3x3 and 5x5
 * kernels), conv_oc1_band (other stride-1 kernels on rows up to 64 wide)
 * or conv_oc1_rows (the rest), else conv_oc1_forward (a GEMV against the
 * implicit columns, any stride). */
static int oc1_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                       int direct)
{
	if (direct && strips5_fits(ctx, g))
		return strips5_forward(ctx, g, y, x, w, b);
	if (direct && oc1_last_fits(ctx, g))
		return oc1_last_forward(ctx, g, y, x, w, b);
	int s1 = direct && g->SH == 1 && g->SW == 1;
	int tile = s1 && g->KH == g->KW && (g->KH == 3 || g->KH == 5);
	int band = s1 && !tile && g->OW <= 64, strip = tile && strip_fits(g);
	const char *name = !direct ? "conv_oc1_forward"
	                   : strip ? (g->W == 64 ? "conv_oc1_strip64_3x3" : "conv_oc1_strip_3x3")
	                   : tile  ? (g->KH == 3 ? "conv_oc1_tile_3x3" : "conv_oc1_tile_5x5")
	                   : band  ? "conv_oc1_band"
	                           : "conv_oc1_rows";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	arg_forward_head(&a, y, x, w, b);
	arg_geometry(&a, g);
	int st = nn_args_end(&a, name);
	if (!direct)
		return nn_launch2(ctx, k, name, st, (size_t)g->OH, (size_t)g->B);
	/* conv_oc1_band: whole rows, bands of BAND_ROWS; conv_oc1_strip_3x3:
	 * whole images */
	size_t nch = band || strip ? 1 : ((size_t)g->OW + 15) / 16;
	size_t tile_rows = g->KH == 3 ? TILE_ROWS_3 : TILE_ROWS_5;
	size_t rows = strip ? (size_t)g->OH : band ? BAND_ROWS : tile ? tile_rows : OC1_ROWS;
	size_t bands = ((size_t)g->OH + rows - 1) / rows;
	size_t global[3] = { nch, bands, (size_t)g->B }, local[3] = { 1, 1, 1 };
	return nn_launch3(ctx, k, name, st, global, local);
}

static int oc1_backward(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dw, nn_buf dy,
                        nn_buf x, nn_buf w)
{
	int st = TG_CL_OK;
	nn_args a;
	if (nn_has(dw)) {
		const char *name = "conv_oc1_backward_weight";
		cl_kernel k = nn_kernel(ctx, CONV, name);
		if (!k)
			return ctx->status;
		size_t ckk = (size_t)g->C * g->KH * g->KW;
		cl_mem acc;
		if ((st = nn_scratch(ctx, ckk * g->OW, &acc)) != TG_CL_OK)
			return st;
		nn_args_begin(&a, k);
		nn_arg_buf(&a, dw);
		nn_arg_buf(&a, dy);
		nn_arg_buf(&a, x);
		nn_arg_buf(&a, nn_buf_of(acc, 0));
		nn_arg_int(&a, g->B);
		arg_geometry(&a, g);
		if ((st = nn_args_end(&a, name)) != TG_CL_OK)
			return st;
		/* Few work-items, each long: small groups spread them over the
		 * compute units. */
		size_t local = 16, global = (ckk + local - 1) / local * local;
		if ((st = tg_cl_run(ctx->cl, k, 1, &global, &local)) != TG_CL_OK)
			return nn_fail_cl(st, name);
	}
	if (nn_has(dx)) {
		const char *name = "conv_oc1_backward_data";
		cl_kernel k = nn_kernel(ctx, CONV, name);
		if (!k)
			return ctx->status;
		nn_args_begin(&a, k);
		nn_arg_buf(&a, dx);
		nn_arg_buf(&a, dy);
		nn_arg_buf(&a, w);
		arg_geometry(&a, g);
		st = nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)g->H,
		                (size_t)g->B * g->C);
	}
	return st;
}

/* ---- direct kernels for thin convolutions (nn_conv.cl) ----
 * Few input channels and many output channels (the first layer of a
 * critic or of SRCNN), or one output channel (the last layer of a
 * generator or of SRCNN): GEMMs of such shapes have a dimension of 1-4
 * and run at a few percent of the GEMM ceiling, so these layers take
 * register-blocked direct kernels instead (ctx->conv_direct). */
/* The kernels stage 48 input columns per vector of 16 outputs. */
static int direct_fits(int S, int KW)
{
	return S <= 2 && 15 * S + KW <= 48;
}

static int direct_c1(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_direct && g->C == 1 && g->OC >= 8 && direct_fits(g->SW, g->KW);
}

static int direct_oc1(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_direct && g->OC == 1 && direct_fits(g->SW, g->KW);
}

/* The phase planes xq [S*S, B, Hd, Wd] of the one input channel of a conv
 * of stride S = SH = SW (at S = 1 the channel zero-padded) that
 * conv_c1_phases_forward and conv_c1_weight_3x3_phases read: row i',
 * column j' of phase (rh, rw) is input row S*(i' + qh0) + rh, column
 * S*(j' + qw0) + rw (embed), every row an output row's taps reach, and
 * columns for whole vectors of 16 outputs. */
typedef struct c1_phases_geom {
	int S, Hd, Wd, qh0, qw0;
	size_t elems;
} c1_phases_geom;

static c1_phases_geom c1_phases_of(const nn_conv2d *g)
{
	c1_phases_geom p;
	p.S = g->SH;
	p.qh0 = floordiv(-g->PH, p.S);
	p.qw0 = floordiv(-g->PW, p.S);
	p.Hd = g->OH + floordiv(g->KH - 1 - g->PH, p.S) - p.qh0;
	p.Wd = (g->OW + 15) / 16 * 16 + floordiv(g->KW - 1 - g->PW, p.S) - p.qw0;
	p.elems = (size_t)p.S * p.S * g->B * p.Hd * p.Wd;
	return p;
}

static int c1_phases_embed(nn_ctx *ctx, const nn_conv2d *g, const c1_phases_geom *p,
                           nn_buf xq, nn_buf x)
{
	return embed(ctx, xq, x, g->B, 1, g->H, g->W, p->Hd, p->Wd, p->S, p->S, p->qh0, p->qw0);
}

/* Whether the forward of a conv g with one input channel runs on phase
 * planes (strided; stride 1 has conv_c1_forward's padded planes). */
static int c1_phased(const nn_conv2d *g)
{
	return g->SH == g->SW && g->SH > 1;
}

/* Whether the forward of a conv g with one input channel runs on the
 * output plane as one flat row (conv_c1_flat_forward): stride 1 and OW ==
 * W, so that a tap is one offset in the flat plane, on rows that are not
 * a multiple of 16 (at 64 wide, where no lane is idle, the padded planes
 * were faster: the critic's 1->64 forward 1.6 against 1.9 ms). */
static int c1_flat(const nn_conv2d *g)
{
	return g->SH == 1 && g->SW == 1 && g->OW == g->W && g->W % 16 && (size_t)g->H * g->W >= 16;
}

/* Whether conv_c1_last_forward takes the forward and conv_c1_weight_cl
 * the weight and bias gradients: the convs with kernels wider than 5
 * that conv_c1_flat_forward or conv_c1_forward and c1_weight_planes
 * would take, with 64 output channels. */
static int c1_last_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return direct_c1(ctx, g) && ctx->c1_last && g->OC == 64 && g->KW > DIRECT_W_K &&
	       g->SH == 1 && g->SW == 1;
}

/* Whether conv_c1_last_forward takes the forward: c1_last_fits, or with
 * narrow vectors 32 output channels, kernels of 5 or wider and rows
 * narrower than 64 (the data gradient of SRCNN's 5x5 32->1 layer at
 * 33x33; at 4 x 256^2 that layer's backward took 8.6-9.7 ms this way
 * against 5.0-7.5 by conv_c1_forward).  With 16-wide vectors
 * conv_c1_flat_forward takes that data gradient: at 128 x 33^2 1.71 ms
 * (median) against 2.07 here, transposing and storing 17.8 MB from the
 * channels-last scratch a third of this kernel's perf samples
 * (bench_conv, TOMOGAN_CL_TIMING=1, six runs alternating; AMD EPYC with
 * AVX-512), and 1.49 with the input in zero-row planes.  Its 16
 * accumulators of 16 lanes would not stay in the registers of narrow
 * vectors. */
static int c1_last_forward_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return c1_last_fits(ctx, g) ||
	       (direct_c1(ctx, g) && ctx->c1_last && ctx->vec_narrow && g->OC == 32 &&
	        g->KW >= DIRECT_W_K && g->SH == 1 && g->SW == 1 && g->OW < 64);
}

/* Output pixels of a unit of those kernels (at most, in whole rows but
 * at least one): 1152 * 64 floats (288 KiB) channels last stay in the L2
 * cache, and a 33x33 plane is one unit.  Units go to CL_PARTS
 * work-items. */
#define CL_UNIT 1152
#define CL_PARTS 16
#define CL_BLOCK 6 /* pixels or taps of a block (CL_T in nn_conv.cl) */

/* Rows of a unit (CL_UNIT) and the work-items for g's units. */
static int cl_rows(const nn_conv2d *g, size_t *np)
{
	int R = CL_UNIT / g->OW < 1 ? 1 : CL_UNIT / g->OW > g->OH ? g->OH : CL_UNIT / g->OW;
	size_t units = (size_t)g->B * ((g->OH + R - 1) / R);
	*np = units < CL_PARTS ? units : CL_PARTS;
	return R;
}

/* y = conv(x) by conv_c1_last_forward (c1_last_forward_fits), wt the
 * weights by tap: x zero-padded into planes (embed_padded) where g has
 * padding, and after them the work-items' areas. */
static int c1_last_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf wt,
                           nn_buf b, int act, float slope)
{
	int Hq = g->OH + g->KH - 1, Wq = g->OW + g->KW - 1, pad = g->PH > 0 || g->PW > 0;
	size_t np;
	int R = cl_rows(g, &np);
	size_t nq = pad ? (size_t)g->B * Hq * Wq : 0, so = (nq + 15) / 16 * 16;
	cl_mem m;
	int st = nn_scratch(ctx, so + np * ((size_t)R * g->OW + CL_BLOCK) * g->OC, &m);
	if (st != TG_CL_OK || (pad && (st = embed_padded(ctx, g, nn_buf_of(m, 0), x)) != TG_CL_OK))
		return st;
	const int v[12] = { g->B, (int)np, g->OC, g->KH, g->KW, Hq, Wq, g->OH, g->OW, R, act,
		            ctx->vec_narrow };
	const size_t global[3] = { np, 1, 1 };
	return launch_head(ctx, "conv_c1_last_forward", y, pad ? nn_buf_of(m, 0) : x, wt, b,
	                   nn_buf_of(m, so), v, 12, &slope, global);
}

/* Whether conv_c1_s1_forward takes the forward of g (one input channel):
 * 3x3, stride 1, padding 1, rows a multiple of 16 wide, OC a multiple of
 * 4; with ctx->s1_direct. */
static int c1_s1_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->s1_direct && g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1 &&
	       g->PH == 1 && g->PW == 1 && g->W % 16 == 0 && g->OC % 4 == 0;
}

/* Whether conv_c1_phases_runs takes the forward of g (one input channel,
 * strided, on the phase planes): OW a multiple of 16, OC of 4; with
 * ctx->s2_direct. */
static int c1_runs_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->s2_direct && c1_phased(g) && g->OW % 16 == 0 && g->OC % 4 == 0;
}

/* Output rows of a work-item of conv_c1_s1_forward (see there). */
#define S1_ROWS 4

/* Output rows of a band of conv_c1_phases_runs: at the critic's stride-2
 * 1->64 layer (OH 32) bands of 2 to 32 rows took the same time, within
 * this machine's spread (0.72-1.2 ms). */
#define RUNS_ROWS 8

/* y = conv(x) by conv_c1_forward (C = 1); flip: w is the [1, OC, KH, KW]
 * of the conv whose data gradient this is, its taps reversed. */
static int c1_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                      int flip, int act, float slope)
{
	int phased = c1_phased(g), flat = c1_flat(g);
	const char *name = phased ? "conv_c1_phases_forward"
	                   : flat ? "conv_c1_flat_forward"
	                          : "conv_c1_forward";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	size_t KK = (size_t)g->KH * g->KW;
	cl_mem wt;
	int st = nn_scratch_aux(ctx, KK * g->OC + 16, &wt);
	if (st == TG_CL_OK)
		st = flip ? taps(ctx, nn_buf_of(wt, 0), w, 1, g->OC, (int)KK, 1)
		          : taps(ctx, nn_buf_of(wt, 0), w, g->OC, 1, (int)KK, 0);
	if (st != TG_CL_OK)
		return st;
	if (c1_last_forward_fits(ctx, g))
		return c1_last_forward(ctx, g, y, x, nn_buf_of(wt, 0), b, act, slope);
	if (c1_s1_fits(ctx, g)) {
		/* bands of S1_ROWS rows, but at least 16 work-items */
		size_t items = (size_t)g->OC / 4 * g->B;
		int R = items * ((g->H + S1_ROWS - 1) / S1_ROWS) >= 16 ? S1_ROWS : 1;
		const int v[6] = { g->OC, g->H, g->W, R, act, ctx->vec_narrow };
		const size_t global[3] = { (size_t)g->OC / 4, ((size_t)g->H + R - 1) / R,
			                   (size_t)g->B };
		return launch_forward(ctx, "conv_c1_s1_forward", y, x, nn_buf_of(wt, 0), b, v, 6,
		                      slope, global);
	}
	if (phased && c1_runs_fits(ctx, g) && s2_direct_ok(ctx, g)) {
		/* the critic's stride-2 layer: from x itself.  The forward is
		 * bound by its stores (at 64 x 64^2 0.60-0.64 ms with the
		 * FMAs taken out, as with them); the phase planes cost
		 * another launch and 0.04-0.05 ms */
		int R = g->OH < RUNS_ROWS ? g->OH : RUNS_ROWS;
		const int v[8] = { g->OC, g->B, g->H, g->W, g->OH, g->OW, R, act };
		const size_t global[3] = { (size_t)g->OC / 4, ((size_t)g->OH + R - 1) / R,
			                   (size_t)g->B };
		return launch_forward(ctx, "conv_c1_s2_runs", y, x, nn_buf_of(wt, 0), b, v, 8,
		                      slope, global);
	}
	/* Stride 1 with padding: the kernel runs on the input zero-padded
	 * into planes, where its windows lie inside the rows and take the
	 * path without staging (srcnn train at 32x32 windows: every vector
	 * was staged, TOMOGAN_CL_TIMING=1 about 30% less time).  One pass
	 * over the one channel: a 1/OC-th of the output's traffic.  Strided,
	 * it runs on the phase planes of the input, for the same reason.
	 * With OW == W on rows not a multiple of 16 (c1_flat) it needs
	 * neither: conv_c1_flat_forward reads x's planes as flat rows. */
	nn_conv2d gp = *g;
	c1_phases_geom p = c1_phases_of(g);
	cl_mem m;
	if (phased) {
		if ((st = nn_scratch(ctx, p.elems, &m)) != TG_CL_OK ||
		    (st = c1_phases_embed(ctx, g, &p, nn_buf_of(m, 0), x)) != TG_CL_OK)
			return st;
		x = nn_buf_of(m, 0);
		if (c1_runs_fits(ctx, g)) {
			int R = g->OH < RUNS_ROWS ? g->OH : RUNS_ROWS;
			const int v[13] = { g->OC, g->B, p.Hd, p.Wd, g->KH, g->KW, p.S,
				            g->PH, g->PW, g->OH, g->OW, R, act };
			const size_t global[3] = { (size_t)g->OC / 4, ((size_t)g->OH + R - 1) / R,
				                   (size_t)g->B };
			return launch_forward(ctx, "conv_c1_phases_runs", y, x, nn_buf_of(wt, 0), b,
			                      v, 13, slope, global);
		}
	} else if (flat && g->PH > 0) {
		/* zero rows above and below each plane, so that only a
		 * plane's first and last vectors take flat16's lane copy
		 * (SRCNN's 5x5 data gradient at 128 x 33^2: 11 of 69) */
		gp.H = g->OH + g->KH - 1;
		gp.PH = 0;
		if ((st = nn_scratch(ctx, (size_t)g->B * gp.H * g->W, &m)) != TG_CL_OK ||
		    (st = embed(ctx, nn_buf_of(m, 0), x, g->B, 1, g->H, g->W, gp.H, g->W, 1, 1,
		                -g->PH, 0)) != TG_CL_OK)
			return st;
		x = nn_buf_of(m, 0);
		g = &gp;
	} else if (!flat && g->SH == 1 && g->SW == 1 && (g->PH > 0 || g->PW > 0)) {
		gp.H = g->OH + g->KH - 1;
		gp.W = g->OW + g->KW - 1;
		gp.PH = gp.PW = 0;
		if ((st = nn_scratch(ctx, (size_t)g->B * gp.H * gp.W, &m)) != TG_CL_OK ||
		    (st = embed_padded(ctx, g, nn_buf_of(m, 0), x)) != TG_CL_OK)
			return st;
		x = nn_buf_of(m, 0);
		g = &gp;
	}
	nn_args a;
	nn_args_begin(&a, k);
	arg_forward_head(&a, y, x, nn_buf_of(wt, 0), b);
	nn_arg_int(&a, g->OC);
	if (phased) {
		const int v[10] = { g->B, p.Hd, p.Wd, g->KH, g->KW, p.S, g->PH, g->PW, g->OH, g->OW };
		for (int i = 0; i < 10; i++)
			nn_arg_int(&a, v[i]);
	} else if (flat) {
		const int v[7] = { g->H, g->W, g->KH, g->KW, g->PH, g->PW, g->OH };
		for (int i = 0; i < 7; i++)
			nn_arg_int(&a, v[i]);
	} else {
		arg_geometry(&a, g);
	}
	nn_arg_int(&a, act);
	nn_arg_float(&a, slope);
	size_t nch = ((size_t)g->OW + 15) / 16, nob = ((size_t)g->OC + 15) / 16;
	size_t global[3] = { nch, (size_t)g->OH, (size_t)g->B * nob }, local[3] = { nch, 1, 1 };
	if (flat) {
		global[0] = ((size_t)g->OH * g->OW + 15) / 16;
		global[1] = local[0] = 1;
	}
	return nn_launch3(ctx, k, name, nn_args_end(&a, name), global, local);
}

/* ---- a one-input-channel conv and a 1x1 conv in one pass ----
 * conv_c1_pair_forward keeps the first conv's channels of 32 columns in
 * a private array of 2 * PAIR_C float16 (as in nn_conv.cl), so the first
 * conv must be one direct_c1 takes with stride 1 and at most PAIR_C
 * output channels, both convs with a multiple of 16 output channels. */
#define PAIR_C 64

int nn_conv2d_pair_fits(const nn_ctx *ctx, const nn_conv2d *g1, const nn_conv2d *g2)
{
	/* Not where vectors are narrow: conv_c1_pair_forward holds 16
	 * float16, and on an AVX2 VM srcnn apply 9-1-5 on 16 x 256^2 took
	 * 279-286 ms of kernel time with it against 206-242 by the two
	 * layers apart (conv_c1_last_forward's narrow loops, then GEMMs;
	 * TOMOGAN_CL_TIMING=1, three runs alternating). */
	return !ctx->vec_narrow && direct_c1(ctx, g1) && g1->SH == 1 && g1->SW == 1 &&
	       g1->OC % 16 == 0 && g1->OC <= PAIR_C && is_pointwise(g2) && g2->C == g1->OC &&
	       g2->OC % 16 == 0 && g2->B == g1->B && g2->H == g1->OH && g2->W == g1->OW;
}

int nn_conv2d_pair_forward(nn_ctx *ctx, const nn_conv2d *g1, const nn_conv2d *g2, nn_buf y,
                           nn_buf x, nn_buf w1, nn_buf b1, nn_buf w2, nn_buf b2, int act,
                           float slope)
{
	if (!act_known(act))
		return nn_fail(TG_CL_FAIL, "conv2d pair: unknown activation %d", act);
	if (!nn_conv2d_pair_fits(ctx, g1, g2))
		return nn_fail(TG_CL_FAIL, "conv2d pair: shapes the fused kernel does not take");
	const char *name = "conv_c1_pair_forward";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	/* both weights regrouped into one scratch: w1 by tap, w2 [C, OC] */
	size_t KK = (size_t)g1->KH * g1->KW, n1 = KK * g1->OC + 16;
	cl_mem wt;
	int st = nn_scratch_aux(ctx, n1 + (size_t)g2->C * g2->OC + 16, &wt);
	if (st == TG_CL_OK)
		st = taps(ctx, nn_buf_of(wt, 0), w1, g1->OC, 1, (int)KK, 0);
	if (st == TG_CL_OK)
		st = taps_cm(ctx, nn_buf_of(wt, n1), w2, g2->OC, g2->C, 1, 0, 1);
	if (st != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	arg_forward_head(&a, y, x, nn_buf_of(wt, 0), b1);
	nn_arg_buf(&a, nn_buf_of(wt, n1));
	nn_arg_buf(&a, nn_has(b2) ? b2 : w2);   /* any valid buffer when there is none */
	nn_arg_int(&a, nn_has(b2));
	const int v[11] = { g1->OC, g2->OC, g1->H, g1->W, g1->KH, g1->KW, g1->PH, g1->PW,
	                    g1->OH, g1->OW, act };
	for (int i = 0; i < 11; i++)
		nn_arg_int(&a, v[i]);
	nn_arg_float(&a, slope);
	size_t nch = ((size_t)g1->OW + 31) / 32;   /* 32 columns per work-item */
	size_t global[3] = { nch, (size_t)g1->OH, (size_t)g1->B }, local[3] = { nch, 1, 1 };
	return nn_launch3(ctx, k, name, nn_args_end(&a, name), global, local);
}

/* Parts over the B images of a weight gradient of `items` work-items per
 * part: enough work-items for every core, each long. */
static size_t parts(size_t items, int B)
{
	size_t np = 256 / items;
	return np < 1 ? 1 : np > (size_t)B ? (size_t)B : np;
}

/* dw [nw] += the sum of the np parts [np, nw] at off in part
 * (conv_add_parts). */
static int add_parts(nn_ctx *ctx, nn_buf dw, cl_mem part, size_t off, size_t nw, size_t np)
{
	const char *name = "conv_add_parts";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dw);
	nn_arg_buf(&a, nn_buf_of(part, off));
	nn_arg_int(&a, (int)nw);
	nn_arg_int(&a, (int)np);
	return nn_launch1(ctx, k, name, nn_args_end(&a, name), nw);
}

/* Launch the weight-gradient kernel k (arguments in a) over global in
 * groups of one work-item, then dw += the sum of its np parts of nw
 * floats at pw in part, and db (if given) += that of its parts of nb
 * floats at pb. */
static int launch_parts(nn_ctx *ctx, cl_kernel k, const char *name, nn_args *a,
                        const size_t global[3], nn_buf dw, nn_buf db, cl_mem part, size_t pw,
                        size_t nw, size_t pb, size_t nb, size_t np)
{
	const size_t local[3] = { 1, 1, 1 };
	int st = nn_launch3(ctx, k, name, nn_args_end(a, name), global, local);
	if (st != TG_CL_OK || (st = add_parts(ctx, dw, part, pw, nw, np)) != TG_CL_OK ||
	    !nn_has(db))
		return st;
	return add_parts(ctx, db, part, pb, nb, np);
}

/* Whether conv_oc1_weight_pad_5x5 takes the weight gradient of a 5x5
 * conv with one output channel that conv_oc1_weight_flat_5x5 would take:
 * where a padded copy of an input plane, (H + 4) * (W + 4) floats, fits
 * in 16 KiB (half the L1 cache of the CPUs here).  At 4 x 256^2 (270 KB
 * a plane) it took 4.0-4.7 ms against 2.9-3.0 by the flat kernel.  Not
 * where vectors are narrow: its 25 accumulators of 16 lanes fit the 32
 * registers of AVX-512 only, and it was not measured with fewer. */
static int pad5_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return !ctx->vec_narrow && g->KH == 5 && g->KW == 5 &&
	       (size_t)(g->H + 4) * (g->W + 4) * sizeof(float) <= 16384;
}

/* dw += the weight gradient of g (5x5, padding 2, one output channel) by
 * conv_oc1_weight_pad_5x5, in scratch: the per-part sums, dy in padded
 * planes [B, H + 5, W + 4] (2 zero rows above, 3 below, 4 zero columns
 * after), the work-items' areas; then conv_add_parts. */
static int pad5_weight(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf dy, nn_buf x)
{
	const char *name = "conv_oc1_weight_pad_5x5";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	/* a work-item's area: a padded plane of rows of Wq, with slack for
	 * the last vector's windows */
	int Wq = g->W + 4, area = ((g->H + 4) * Wq + 32 + 15) / 16 * 16;
	size_t nw = (size_t)g->C * 25, np = parts((size_t)g->C, g->B);
	size_t qo = (np * nw + 15) / 16 * 16, qn = (size_t)g->B * (g->H + 5) * Wq;
	size_t xo = (qo + qn + 15) / 16 * 16;
	cl_mem part;
	int st = nn_scratch(ctx, xo + np * g->C * (size_t)area, &part);
	if (st != TG_CL_OK || (st = embed(ctx, nn_buf_of(part, qo), dy, g->B, 1, g->H, g->W,
	                                  g->H + 5, Wq, 1, 1, -2, 0)) != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(part, 0));
	nn_arg_buf(&a, nn_buf_of(part, qo));
	nn_arg_buf(&a, x);
	nn_arg_buf(&a, nn_buf_of(part, xo));
	const int v[7] = { g->B, (int)np, g->C, g->H, g->W, Wq, area };
	for (int i = 0; i < 7; i++)
		nn_arg_int(&a, v[i]);
	const size_t global[3] = { (size_t)g->C, np, 1 }, local[3] = { 1, 1, 1 };
	if ((st = nn_launch3(ctx, k, name, nn_args_end(&a, name), global, local)) != TG_CL_OK)
		return st;
	return add_parts(ctx, dw, part, 0, nw, np);
}

/* dw += the weight gradient by conv_c1_weight (oc1 = 0) or conv_oc1_weight
 * (oc1 = 1): per-part sums into scratch, then conv_add_parts. */
static int direct_weight(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf dy, nn_buf x, int oc1)
{
	/* stride 1, 3x3 or 5x5: the kernels with the taps unrolled */
	int sq = oc1 && g->SH == 1 && g->SW == 1 && g->KH == g->KW && (g->KH == 3 || g->KH == 5);
	/* "same" padding and rows wider than 16: on flat planes */
	int flat = sq && 2 * g->PH == g->KH - 1 && 2 * g->PW == g->KW - 1 && g->W > 16;
	/* 3x3 on rows of exactly 64: by rows (conv_oc1_weight64_3x3) */
	int w64 = flat && g->KH == 3 && g->W == 64;
	/* 5x5 on planes whose padded copy stays in L1: on those copies */
	if (flat && pad5_fits(ctx, g))
		return pad5_weight(ctx, g, dw, dy, x);
	const char *name = w64    ? "conv_oc1_weight64_3x3"
	                   : flat ? (g->KH == 5 ? "conv_oc1_weight_flat_5x5"
	                                        : "conv_oc1_weight_flat_3x3")
	                   : sq ? (g->KH == 3 ? "conv_oc1_weight_3x3" : "conv_oc1_weight_5x5")
	                   : oc1 ? "conv_oc1_weight" : "conv_c1_weight";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	size_t KK = (size_t)g->KH * g->KW, nw = (size_t)g->OC * g->C * KK;
	size_t items = oc1 ? (size_t)g->C : (size_t)g->C * g->KH * (((size_t)g->OC + 1) / 2);
	/* the unrolled kernels one part per image
	 * (G 64->1 at 64 x 64^2: 4.5 -> 3.0 ms) */
	size_t np = sq ? (size_t)g->B : parts(items, g->B);
	/* the flat kernels take dy with (K-1)/2 zero rows above and below
	 * each plane, after the parts */
	int dyq = flat && !w64;
	size_t qo = (np * nw + 15) / 16 * 16, KP = (size_t)(g->KH - 1) / 2;
	cl_mem part;
	int st = nn_scratch(ctx, qo + (dyq ? (size_t)g->B * (g->H + 2 * KP) * g->W : 0), &part);
	if (st != TG_CL_OK ||
	    (dyq && (st = embed(ctx, nn_buf_of(part, qo), dy, g->B, 1, g->H, g->W,
	                        g->H + 2 * (int)KP, g->W, 1, 1, -(int)KP, 0)) != TG_CL_OK))
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(part, 0));
	nn_arg_buf(&a, dyq ? nn_buf_of(part, qo) : dy);
	nn_arg_buf(&a, x);
	nn_arg_int(&a, g->B);
	nn_arg_int(&a, (int)np);
	if (!oc1)
		nn_arg_int(&a, g->OC);
	if (flat) {
		nn_arg_int(&a, g->C);
		nn_arg_int(&a, g->H);
		nn_arg_int(&a, g->W);
	} else {
		arg_geometry(&a, g);
	}
	size_t global[3] = { oc1 ? (size_t)g->C : (size_t)g->C * g->KH,
		             oc1 ? np : ((size_t)g->OC + 1) / 2, oc1 ? 1 : np };
	size_t local[3] = { 1, 1, 1 };
	if ((st = nn_launch3(ctx, k, name, nn_args_end(&a, name), global, local)) != TG_CL_OK)
		return st;
	return add_parts(ctx, dw, part, 0, nw, np);
}

/* Whether conv_c1_weight_3x3_phases takes the weight and bias gradients. */
static int c1_weight_3x3_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return direct_c1(ctx, g) && g->KH == 3 && g->KW == 3 && g->SH == g->SW;
}

/* xw = the windows of x for conv_c1_weight_s2 (embed_s2_windows). */
static int embed_s2_windows(nn_ctx *ctx, const nn_conv2d *g, nn_buf xw, nn_buf x)
{
	cl_kernel k = nn_kernel(ctx, CONV, "embed_s2_windows");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, xw);
	nn_arg_buf(&a, x);
	const int v[4] = { g->H, g->W, g->OH, g->OW };
	for (int i = 0; i < 4; i++)
		nn_arg_int(&a, v[i]);
	return nn_launch2(ctx, k, "embed_s2_windows", nn_args_end(&a, "embed_s2_windows"),
	                  2 * (size_t)g->OH + 1, (size_t)g->B);
}

/* dw += and db += (if given) the gradients of a 3x3 conv with one input
 * channel by conv_c1_weight_3x3_phases on the phase planes of x (at stride
 * 1 x zero-padded), after them in the scratch: per-part sums, then
 * conv_add_parts for each.  Stride 2 with W = 2*OW (s2_direct_ok) by
 * conv_c1_weight_s2 on x's windows (embed_s2_windows) instead: the
 * critic's 1->64 layer at 64 x 64^2, TOMOGAN_CL_TIMING=1, four runs
 * alternating, 498-612 against 543-664 us (copies 37-46 against 45-48);
 * reading x itself with S2_ROW_AT's three shuffles per vector and kernel
 * row (no copy) took 696-784 against 574-677 (three runs alternating).
 * What is left waits on dy's loads (perf: the first use of each dy
 * vector). */
static int c1_weight_3x3(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf db, nn_buf dy,
                         nn_buf x)
{
	/* the critic's stride-2 layer: on x's windows */
	const int direct = s2_direct_ok(ctx, g);
	const char *name = direct ? "conv_c1_weight_s2" : "conv_c1_weight_3x3_phases";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	size_t nw = (size_t)g->OC * 9, pairs = ((size_t)g->OC + 1) / 2;
	size_t np = parts(pairs, g->B), pn = np * (nw + g->OC);
	c1_phases_geom p = c1_phases_of(g);
	cl_mem part;
	size_t xwn = (size_t)g->B * (2 * g->OH + 1) * 3 * g->OW;
	int st = nn_scratch(ctx, pn + (direct ? xwn + 16 : p.elems), &part);
	nn_buf xq = nn_buf_of(part, direct ? (pn + 15) / 16 * 16 : pn);
	if (st != TG_CL_OK ||
	    (st = direct ? embed_s2_windows(ctx, g, xq, x) : c1_phases_embed(ctx, g, &p, xq, x)) !=
	            TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(part, 0));
	nn_arg_buf(&a, nn_buf_of(part, np * nw));
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, xq);
	nn_arg_int(&a, g->B);
	nn_arg_int(&a, (int)np);
	nn_arg_int(&a, g->OC);
	/* conv_c1_weight_s2 takes the last two (OH, OW) only */
	const int v[7] = { p.Hd, p.Wd, p.S, g->PH, g->PW, g->OH, g->OW };
	for (int i = direct ? 5 : 0; i < 7; i++)
		nn_arg_int(&a, v[i]);
	const size_t global[3] = { pairs, np, 1 };
	return launch_parts(ctx, k, name, &a, global, dw, db, part, 0, nw, np * nw,
	                    (size_t)g->OC, np);
}

/* dw += the weight gradient of a stride-1 conv with one input channel by
 * conv_c1_weight_planes: x into zero-padded planes (embed_padded) with 48
 * zeroed floats of slack (a last partial vector's windows reach up to 19
 * floats past the last plane, and their products must be 0, not NaN),
 * per-part sums (parts of one image up to 64 images, so a work-item's
 * gradients stay in the cache across its tap blocks), then
 * conv_add_parts. */
static int c1_weight_planes(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf dy, nn_buf x)
{
	const char *name = "conv_c1_weight_planes";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	int Hq = g->OH + g->KH - 1, Wq = g->OW + g->KW - 1;
	size_t nq = (size_t)g->B * Hq * Wq, nw = (size_t)g->OC * g->KH * g->KW;
	size_t ob = ((size_t)g->OC + 3) / 4, np = g->B < 64 ? (size_t)g->B : 64;
	cl_mem m;
	int st = nn_scratch(ctx, nq + 48 + np * nw, &m);
	if (st != TG_CL_OK)
		return st;
	nn_buf xq = nn_buf_of(m, 0);
	if ((st = embed_padded(ctx, g, xq, x)) != TG_CL_OK ||
	    (st = nn_fill(ctx, nn_at(xq, nq), 48, 0.0f)) != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_at(xq, nq + 48));
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, xq);
	const int v[9] = { g->B, (int)np, g->OC, g->KH, g->KW, Hq, Wq, g->OH, g->OW };
	for (int i = 0; i < 9; i++)
		nn_arg_int(&a, v[i]);
	size_t global[3] = { ob, np, 1 }, local[3] = { 1, 1, 1 };
	if ((st = nn_launch3(ctx, k, name, nn_args_end(&a, name), global, local)) != TG_CL_OK)
		return st;
	return add_parts(ctx, dw, m, nq + 48, nw, np);
}

/* dw += and db += (if given) the gradients of a conv that
 * c1_last_fits by conv_c1_weight_cl: the scratch holds the padded
 * planes of x (embed_padded), the parts of dw and db, and the work-items'
 * areas (dy channels last and the tap sums); then conv_add_parts. */
static int c1_weight_cl(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf db, nn_buf dy,
                        nn_buf x)
{
	const char *name = "conv_c1_weight_cl";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	int Hq = g->OH + g->KH - 1, Wq = g->OW + g->KW - 1, KK = g->KH * g->KW;
	size_t np;
	int R = cl_rows(g, &np);
	size_t KKr = ((size_t)KK + CL_BLOCK - 1) / CL_BLOCK * CL_BLOCK, nw = (size_t)64 * KK;
	size_t nq = (size_t)g->B * Hq * Wq, pw = nq, pb = pw + np * nw;
	size_t so = (pb + np * 64 + 15) / 16 * 16, area = ((size_t)R * g->OW + KKr) * 64;
	cl_mem m;
	int st = nn_scratch(ctx, so + np * area, &m);
	if (st != TG_CL_OK || (st = embed_padded(ctx, g, nn_buf_of(m, 0), x)) != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(m, pw));
	nn_arg_buf(&a, nn_buf_of(m, pb));
	nn_arg_int(&a, nn_has(db));
	nn_arg_buf(&a, nn_buf_of(m, so));
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, nn_buf_of(m, 0));
	const int v[8] = { g->B, (int)np, g->KH, g->KW, Hq, Wq, g->OH, g->OW };
	for (int i = 0; i < 8; i++)
		nn_arg_int(&a, v[i]);
	nn_arg_int(&a, R);
	nn_arg_int(&a, ctx->vec_narrow);
	const size_t global[3] = { np, 1, 1 };
	return launch_parts(ctx, k, name, &a, global, dw, db, m, pw, nw, pb, 64, np);
}

/* dw += and db += (if given) the gradients of a 1x1 conv with 32 output
 * channels and C a multiple of 8 by conv_pointwise_weight_cl: units of
 * CL_UNIT pixels on CL_PARTS work-items, the scratch holding the parts
 * of dw and db and the work-items' areas; then conv_add_parts. */
static int pointwise_cl_fits(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->c1_last && g->OC == 32 && g->C % 8 == 0;
}

static int pointwise_weight_cl(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf db,
                               nn_buf dy, nn_buf x)
{
	const char *name = "conv_pointwise_weight_cl";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	int S = g->H * g->W, R = S < CL_UNIT ? S : CL_UNIT;
	size_t units = (size_t)g->B * ((S + R - 1) / R);
	size_t np = units < CL_PARTS ? units : CL_PARTS, nw = (size_t)32 * g->C;
	size_t pb = np * nw, so = (pb + np * 32 + 15) / 16 * 16;
	cl_mem m;
	int st = nn_scratch(ctx, so + np * ((size_t)R + g->C) * 32, &m);
	if (st != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(m, 0));
	nn_arg_buf(&a, nn_buf_of(m, pb));
	nn_arg_int(&a, nn_has(db));
	nn_arg_buf(&a, nn_buf_of(m, so));
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, x);
	const int v[6] = { g->B, (int)np, g->C, S, R, ctx->vec_narrow };
	for (int i = 0; i < 6; i++)
		nn_arg_int(&a, v[i]);
	const size_t global[3] = { np, 1, 1 };
	return launch_parts(ctx, k, name, &a, global, dw, db, m, 0, nw, pb, 32, np);
}

/* Pixels per range of conv_pointwise_weight (at most; nn_conv.cl says
 * why), and the parts it aims at for a batch. */
#define PW_RANGE 2048
#define PW_PARTS 32

/* dw += the weight gradient of a 1x1 conv by conv_pointwise_weight, and
 * db += its bias gradient where db is given: per-part sums into scratch,
 * then conv_add_parts. */
static int pointwise_weight(nn_ctx *ctx, const nn_conv2d *g, nn_buf dw, nn_buf db, nn_buf dy,
                            nn_buf x)
{
	if (pointwise_cl_fits(ctx, g))
		return pointwise_weight_cl(ctx, g, dw, db, dy, x);
	const char *name = "conv_pointwise_weight";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	/* ranges of equal length (multiples of 16) up to PW_RANGE; an
	 * image's ranges in G spans, so that the batch has about PW_PARTS
	 * parts and no fewer than one per image */
	int S = g->H * g->W, nr = (S + PW_RANGE - 1) / PW_RANGE;
	int L = ((S + nr - 1) / nr + 15) / 16 * 16;
	nr = (S + L - 1) / L;
	int G = (PW_PARTS + g->B - 1) / g->B;
	G = G < nr ? G : nr;
	int per = (nr + G - 1) / G, span = per * L;
	G = (nr + per - 1) / per;
	size_t nw = (size_t)g->OC * g->C, np = (size_t)g->B * G;
	cl_mem part;
	int st = nn_scratch(ctx, np * (nw + g->OC), &part);
	if (st != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(part, 0));
	nn_arg_buf(&a, nn_buf_of(part, np * nw));
	nn_arg_int(&a, nn_has(db));
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, x);
	nn_arg_int(&a, g->B);
	nn_arg_int(&a, g->OC);
	nn_arg_int(&a, g->C);
	nn_arg_int(&a, S);
	nn_arg_int(&a, G);
	nn_arg_int(&a, span);
	nn_arg_int(&a, L);
	const size_t global[3] = { (size_t)G, (size_t)g->B, 1 };
	return launch_parts(ctx, k, name, &a, global, dw, db, part, 0, nw, np * nw,
	                    (size_t)g->OC, np);
}

/* dx of a stride-1 conv with one output channel: conv_c1_forward on dy
 * with the weights flipped and padding K-1-P. */
static int oc1_data_flipped(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dy, nn_buf w)
{
	nn_conv2d t = data_gradient_conv(g);
	return c1_forward(ctx, &t, dx, dy, w, NN_NONE, 1, NN_ACT_NONE, 0.0f);
}

int nn_conv2d_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w, nn_buf b)
{
	return nn_conv2d_forward_act(ctx, g, y, x, w, b, NN_ACT_NONE, 0.0f);
}

int nn_conv2d_forward_act(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w,
                          nn_buf b, int act, float slope)
{
	const size_t chw = (size_t)g->C * g->H * g->W, ohw = (size_t)g->OH * g->OW;
	const size_t ckk = (size_t)g->C * g->KH * g->KW, ocohw = (size_t)g->OC * ohw;
	int st = TG_CL_OK;
	if (!act_known(act))
		return nn_fail(TG_CL_FAIL, "conv2d: unknown activation %d", act);
	if (g->OC == 1) {
		st = oc1_forward(ctx, g, y, x, w, b, direct_oc1(ctx, g));
		return st == TG_CL_OK ? nn_bias_act(ctx, y, NN_NONE, g->B, 1, (int)ohw, act, slope)
		                      : st;
	}
	if (direct_c1(ctx, g))
		return c1_forward(ctx, g, y, x, w, b, 0, act, slope);
	if (is_pointwise(g) && pointwise_ok(ctx, g))
		return pointwise_forward(ctx, g, y, x, w, 0, b, act, slope);
	if (is_pointwise(g)) {
		for (int n = 0; n < g->B && st == TG_CL_OK; n++)
			st = nn_gemm(ctx, "conv2d 1x1", 0, 0, g->OC, ohw, g->C, 1.0f, w, g->C,
			             nn_at(x, n * chw), ohw, 0.0f, nn_at(y, n * ocohw), ohw);
	} else if (shiftable(ctx, g)) {
		/* bias and activation come with the output */
		return shifted_forward(ctx, g, y, x, w, 0, b, act, slope);
	} else {
		int G, NR;
		plan(ctx, g, &G, &NR);
		cl_mem col;
		st = nn_scratch(ctx, ckk * (size_t)G * NR * g->OW, &col);
		nn_buf cb = nn_buf_of(col, 0);
		for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += G) {
			int gn = g->B - n0 < G ? g->B - n0 : G;
			for (int oh0 = 0; oh0 < g->OH && st == TG_CL_OK; oh0 += NR) {
				int nr = g->OH - oh0 < NR ? g->OH - oh0 : NR;
				size_t np = (size_t)nr * g->OW;
				st = im2col(ctx, g, col, nn_at(x, n0 * chw), gn, oh0, nr);
				for (int i = 0; i < gn && st == TG_CL_OK; i++)
					st = nn_gemm(ctx, "conv2d", 0, 0, g->OC, np, ckk, 1.0f, w, ckk,
					             nn_at(cb, i * np), gn * np, 0.0f,
					             nn_at(y, (n0 + i) * ocohw + (size_t)oh0 * g->OW), ohw);
			}
		}
	}
	if (st == TG_CL_OK)
		st = nn_bias_act(ctx, y, b, g->B, g->OC, (int)ohw, act, slope);
	return st;
}

/* dx = conv2d(dy, flipped w) with padding K-1-P, for a stride-1 conv2d. */
static int flipped_data_gradient(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dy, nn_buf w)
{
	nn_conv2d t = data_gradient_conv(g);
	if (shiftable(ctx, &t))
		return shifted_forward(ctx, &t, dx, dy, w, 1, NN_NONE, NN_ACT_NONE, 0.0f);
	size_t nw = (size_t)g->OC * g->C * g->KH * g->KW;
	cl_mem wf;
	int st = nn_scratch_aux(ctx, nw, &wf);
	if (st != TG_CL_OK)
		return st;
	const char *name = "flip_weights";
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(wf, 0));
	nn_arg_buf(&a, w);
	nn_arg_int(&a, g->OC);
	nn_arg_int(&a, g->C);
	nn_arg_int(&a, g->KH);
	nn_arg_int(&a, g->KW);
	st = nn_launch1(ctx, k, name, nn_args_end(&a, name), nw);
	if (st == TG_CL_OK)
		st = nn_conv2d_forward(ctx, &t, dx, dy, nn_buf_of(wf, 0), NN_NONE);
	return st;
}

/* ---- the data gradient of a strided conv by phases ----
 * Input row ih = SH*i + rh takes the output rows oh = i + d of the taps
 * kh = rh + PH - SH*d, so phase rh of dx (its rows SH*i + rh) is a
 * stride-1 correlation of dy with nh of the taps, and likewise for the
 * columns: SH*SW small stride-1 convs of dy whose taps add up to w's
 * (a 3x3 stride 2 has phases of 1x1, 1x2, 2x1 and 2x2 taps).  Each runs
 * conv_planes_forward on one zero-padded copy of dy (stride-1 planes
 * with the smallest offset of all phases at row and column 0) into
 * phase images of ceil(H/SH) x ceil(W/SW), which interleave_phases
 * (nn_conv.cl) puts in place.  Against the adjoint (one GEMM W_k^T dy per
 * tap into phase planes, then gather_phases) this skips OpenBLAS, which
 * packs each tap's view of dy anew and whose threads spin after the
 * call. */

/* Phase r of a stride-S conv's data gradient along one axis (kernel K,
 * padding P): its taps read dy at offsets [*d0, *d0 + *n), *n <= 0 when
 * no tap falls in the phase. */
static void phase_taps(int K, int P, int S, int r, int *d0, int *n)
{
	*d0 = -floordiv(K - 1 - P - r, S);
	*n = floordiv(P + r, S) - *d0 + 1;
}

/* Whether phase_data_gradient takes g: strides above 1, the phase convs
 * within conv_planes_forward's reach (planes_ok: OC >= 8 and C <= 128 in
 * their terms, g's C and OC). */
static int phase_dx_ok(const nn_ctx *ctx, const nn_conv2d *g)
{
	return ctx->conv_planes && shiftable(ctx, g) && (g->SH > 1 || g->SW > 1) &&
	       g->OC <= PLANES_MAX_C && multi_ok(ctx, g);
}

/* The extent of all phases' offsets along one axis: the smallest (at
 * most 0, so that the planes start at or before dy), the largest, and the
 * most taps of one phase. */
static void phase_span(int K, int P, int S, int *lo, int *hi, int *most)
{
	*lo = 0, *hi = 0, *most = 0;
	for (int r = 0; r < S; r++) {
		int d0, n;
		phase_taps(K, P, S, r, &d0, &n);
		if (n <= 0)
			continue;
		*lo = d0 < *lo ? d0 : *lo;
		*hi = d0 + n - 1 > *hi ? d0 + n - 1 : *hi;
		*most = n > *most ? n : *most;
	}
}

/* dx = the data gradient of the strided conv g (phase_dx_ok). */
static int phase_data_gradient(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dy, nn_buf w)
{
	int h_lo, h_hi, h_most, w_lo, w_hi, w_most;
	phase_span(g->KH, g->PH, g->SH, &h_lo, &h_hi, &h_most);
	phase_span(g->KW, g->PW, g->SW, &w_lo, &w_hi, &w_most);
	const int phases = g->SH * g->SW;
	const int Hm = (g->H + g->SH - 1) / g->SH, Wm = (g->W + g->SW - 1) / g->SW;
	/* dy's planes: row i' holds dy row i' + h_lo; phase rows reach
	 * Hm - 1 + h_hi */
	shift_geom s = { .qh0 = h_lo, .qw0 = w_lo, .Hq = Hm + h_hi - h_lo, .Wq = Wm + w_hi - w_lo,
	                 .phases = 1 };
	s.pl = (size_t)s.Hq * s.Wq;
	const size_t mhw = (size_t)Hm * Wm, chw = (size_t)g->C * g->H * g->W;
	const size_t ocohw = (size_t)g->OC * g->OH * g->OW;
	s.G = group_images(ctx, (size_t)g->OC * s.pl + (size_t)phases * g->C * mhw, g->B);
	/* slack after the planes as planes_forward's */
	const size_t dyn = (size_t)s.G * g->OC * s.pl + 2 * s.Wq + 16;
	const size_t blk = (size_t)h_most * w_most * g->OC * g->C;
	cl_mem m, wm;
	int st = nn_scratch(ctx, dyn + (size_t)s.G * phases * g->C * mhw, &m);
	if (st == TG_CL_OK)
		st = nn_scratch_aux(ctx, phases * blk + 16, &wm);
	if (st != TG_CL_OK)
		return st;
	nn_buf dyq = nn_buf_of(m, 0), ph = nn_at(dyq, dyn), wt = nn_buf_of(wm, 0);
	cl_kernel tk = nn_kernel(ctx, CONV, "taps_phases");
	cl_kernel ik = nn_kernel(ctx, CONV, "interleave_phases");
	if (!tk || !ik)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, tk);
	nn_arg_buf(&a, wt);
	nn_arg_buf(&a, w);
	const int v[8] = { g->OC, g->C, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW };
	for (int i = 0; i < 8; i++)
		nn_arg_int(&a, v[i]);
	nn_arg_ulong(&a, blk);
	st = nn_launch1(ctx, tk, "taps_phases", nn_args_end(&a, "taps_phases"),
	                (size_t)g->OC * g->C * g->KH * g->KW);
	for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += s.G) {
		int gn = g->B - n0 < s.G ? g->B - n0 : s.G;
		const size_t pn = (size_t)gn * g->C * mhw;
		st = embed(ctx, dyq, nn_at(dy, n0 * ocohw), gn, g->OC, g->OH, g->OW, s.Hq, s.Wq, 1, 1,
		           s.qh0, s.qw0);
		for (int p = 0; p < phases && st == TG_CL_OK; p++) {
			int h0, nh, w0, nw;
			phase_taps(g->KH, g->PH, g->SH, p / g->SW, &h0, &nh);
			phase_taps(g->KW, g->PW, g->SW, p % g->SW, &w0, &nw);
			if (nh <= 0 || nw <= 0) {   /* no tap reaches these pixels */
				st = nn_fill(ctx, nn_at(ph, p * pn), pn, 0.0f);
				continue;
			}
			/* offsets h0.. as the taps of a conv padded by -h0 */
			nn_conv2d t = { .B = gn, .C = g->OC, .H = g->OH, .W = g->OW, .OC = g->C, .KH = nh,
			                .KW = nw, .SH = 1, .SW = 1, .PH = -h0, .PW = -w0, .OH = Hm,
			                .OW = Wm };
			st = planes_launch(ctx, &t, &s, nn_at(ph, p * pn), dyq, gn,
			                   nn_at(wt, p * blk), NN_NONE, NN_ACT_NONE, 0.0f);
		}
		if (st != TG_CL_OK)
			break;
		nn_args_begin(&a, ik);
		nn_arg_buf(&a, nn_at(dx, n0 * chw));
		nn_arg_buf(&a, ph);
		const int u[7] = { gn * g->C, g->H, g->W, Hm, Wm, g->SH, g->SW };
		for (int i = 0; i < 7; i++)
			nn_arg_int(&a, u[i]);
		st = nn_launch2(ctx, ik, "interleave_phases", nn_args_end(&a, "interleave_phases"),
		                (size_t)g->H, (size_t)gn * g->C);
	}
	return st;
}

/* dx = the data gradient of the 3x3 stride-2 conv g (s2_direct_ok) by
 * conv_s2_data, one launch for the batch, on the taps by blocks of 6
 * input channels. */
static int s2_data_gradient(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dy, nn_buf w)
{
	const char *name = "conv_s2_data";
	/* SD_CB (6) channels per work-item (nn_conv.cl) */
	const size_t nw = (((size_t)g->C + 5) / 6) * g->OC * 9 * 6;
	cl_mem wm;
	int st = nn_scratch_aux(ctx, nw, &wm);
	if (st != TG_CL_OK)
		return st;
	nn_buf wt = nn_buf_of(wm, 0);
	cl_kernel k = nn_kernel(ctx, CONV, name);
	if (!k)
		return ctx->status;
	if ((st = taps_blocked(ctx, wt, w, g->OC, g->C, 9, 6, 1, 0)) != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dx);
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, wt);
	const int v[6] = { g->OC, g->C, g->H, g->W, g->OH, g->OW };
	for (int i = 0; i < 6; i++)
		nn_arg_int(&a, v[i]);
	const size_t global[3] = { ((size_t)g->C + 5) / 6, (size_t)g->OW / 16,
	                           (size_t)g->B * g->OH };
	const size_t local[3] = { 1, 1, 1 };
	return nn_launch3(ctx, k, name, nn_args_end(&a, name), global, local);
}

int nn_conv2d_backward(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dw, nn_buf db,
                       nn_buf dy, nn_buf x, nn_buf w)
{
	const size_t chw = (size_t)g->C * g->H * g->W, ohw = (size_t)g->OH * g->OW;
	const size_t ckk = (size_t)g->C * g->KH * g->KW, ocohw = (size_t)g->OC * ohw;
	/* the weight and bias gradients in one pass over dy: a 3x3 conv with
	 * one input channel, a wider stride-1 one with 64 output channels,
	 * or a 1x1 conv (with one input or output channel: the kernels
	 * below) */
	int c1_3x3 = c1_weight_3x3_fits(ctx, g), c1_cl = c1_last_fits(ctx, g);
	/* the 1x1 weight gradient by the direct kernels: for many channels
	 * with ctx->conv_multi, or by conv_pointwise_weight_cl's loops for
	 * narrow vectors */
	int pw = is_pointwise(g) && ctx->conv_direct && g->OC > 1 && !direct_c1(ctx, g) &&
	         (multi_ok(ctx, g) || (ctx->vec_narrow && pointwise_cl_fits(ctx, g)));
	if (nn_has(dw) && (c1_3x3 || c1_cl || pw)) {
		int st = c1_3x3  ? c1_weight_3x3(ctx, g, dw, db, dy, x)
		         : c1_cl ? c1_weight_cl(ctx, g, dw, db, dy, x)
		                 : pointwise_weight(ctx, g, dw, db, dy, x);
		if (st != TG_CL_OK || !nn_has(dx))
			return st;
		dw = db = NN_NONE;   /* the data gradient below */
	}
	int st = nn_bias_grad(ctx, db, dy, g->B, g->OC, (int)ohw);
	if (st != TG_CL_OK || (!nn_has(dx) && !nn_has(dw)))
		return st;
	if (direct_oc1(ctx, g)) {
		if (nn_has(dw) && g->KH <= DIRECT_W_K && g->KW <= DIRECT_W_K) {
			if ((st = direct_weight(ctx, g, dw, dy, x, 1)) != TG_CL_OK)
				return st;
			dw = NN_NONE;
		}
		if (nn_has(dx) && flippable(g) && direct_fits(1, g->KW)) {
			if ((st = oc1_data_flipped(ctx, g, dx, dy, w)) != TG_CL_OK)
				return st;
			dx = NN_NONE;
		}
		if (!nn_has(dx) && !nn_has(dw))
			return st;
	}
	if (g->OC == 1)
		return oc1_backward(ctx, g, dx, dw, dy, x, w);
	/* The weight gradient of kernels up to 5 wide by conv_c1_weight (3x3:
	 * 26 against 31 ms for im2col + GEMM, bench_conv -d 0|1; stride 2: 13
	 * against 16), of wider ones at stride 1 (SRCNN's 9x9) from padded
	 * planes (c1_weight_planes; im2col + GEMM otherwise). */
	if (direct_c1(ctx, g) && nn_has(dw) &&
	    (g->KW <= DIRECT_W_K || (g->SH == 1 && g->SW == 1))) {
		st = g->KW <= DIRECT_W_K ? direct_weight(ctx, g, dw, dy, x, 0)
		                         : c1_weight_planes(ctx, g, dw, dy, x);
		if (st != TG_CL_OK || !nn_has(dx))
			return st;
		dw = NN_NONE;   /* the data gradient below */
	}
	if (is_pointwise(g)) {
		/* dx = the 1x1 conv of dy with w transposed, in one launch for
		 * the batch where conv_pointwise_forward takes it; else, and
		 * for dw without the direct kernels, GEMMs per image */
		nn_conv2d t = data_gradient_conv(g);
		if (nn_has(dx) && pointwise_ok(ctx, &t)) {
			if ((st = pointwise_forward(ctx, &t, dx, dy, w, 1, NN_NONE, NN_ACT_NONE, 0.0f)) !=
			    TG_CL_OK)
				return st;
			dx = NN_NONE;
		}
		for (int n = 0; n < g->B && st == TG_CL_OK && (nn_has(dw) || nn_has(dx)); n++) {
			nn_buf dyn = nn_at(dy, n * ocohw);
			if (nn_has(dw))
				st = nn_gemm(ctx, "conv2d 1x1 weight gradient", 0, 1, g->OC, g->C, ohw, 1.0f,
				             dyn, ohw, nn_at(x, n * chw), ohw, 1.0f, dw, g->C);
			if (nn_has(dx) && st == TG_CL_OK)
				st = nn_gemm(ctx, "conv2d 1x1 data gradient", 1, 0, g->C, ohw, g->OC, 1.0f,
				             w, g->C, dyn, ohw, 0.0f, nn_at(dx, n * chw), ohw);
		}
		return st;
	}
	/* Stride 1: dx is the convolution of dy (padded by K-1-P) with the
	 * flipped weights: an NN GEMM and im2col instead of a GEMM writing
	 * C*KH*KW rows of columns and col2im adding them up (measured 5-30 %
	 * faster on PoCL + OpenBLAS).  Not for few input channels, where that
	 * convolution would have too few output channels for a good GEMM,
	 * except one: then it has one output channel and runs as the direct
	 * kernel conv_oc1_rows (the critic's first layer, whose data gradient
	 * the gradient penalty needs: one GEMM and col2im per image before). */
	const nn_conv2d t = data_gradient_conv(g);
	int flip = nn_has(dx) && ctx->flip_dx && flippable(g) &&
	           (g->C >= 8 || (g->C == 1 && direct_oc1(ctx, &t)));
	if (flip) {
		st = flipped_data_gradient(ctx, g, dx, dy, w);
		if (st != TG_CL_OK || !nn_has(dw))
			return st;
		dx = NN_NONE;
	}
	if (nn_has(dx) && phase_dx_ok(ctx, g)) {
		st = s2_direct_ok(ctx, g) ? s2_data_gradient(ctx, g, dx, dy, w)
		                          : phase_data_gradient(ctx, g, dx, dy, w);
		if (st != TG_CL_OK || !nn_has(dw))
			return st;
		dx = NN_NONE;
	}
	if (nn_has(dw) && grid_weight_ok(ctx, g)) {
		if ((st = grid_weight(ctx, g, dw, dy, x)) != TG_CL_OK || !nn_has(dx))
			return st;
		dw = NN_NONE;
	}
	if (shiftable(ctx, g)) {
		cl_mem wt = NULL;
		if (nn_has(dx)) {   /* stride above 1 (stride 1 went through flip) */
			if ((st = nn_scratch_aux(ctx, ckk * g->OC, &wt)) != TG_CL_OK ||
			    (st = taps(ctx, nn_buf_of(wt, 0), w, g->OC, g->C, g->KH * g->KW, 0)) !=
			        TG_CL_OK)
				return st;
		}
		return shifted_backward(ctx, g, dx, dw, dy, x, wt ? nn_buf_of(wt, 0) : NN_NONE);
	}
	int G, NR;
	plan(ctx, g, &G, &NR);
	cl_mem col;
	st = nn_scratch(ctx, ckk * (size_t)G * NR * g->OW, &col);
	nn_buf cb = nn_buf_of(col, 0);
	for (int n0 = 0; n0 < g->B && st == TG_CL_OK; n0 += G) {
		int gn = g->B - n0 < G ? g->B - n0 : G;
		if (nn_has(dx) && NR < g->OH)   /* bands add into the image */
			st = nn_fill(ctx, nn_at(dx, n0 * chw), chw, 0.0f);
		for (int oh0 = 0; oh0 < g->OH && st == TG_CL_OK; oh0 += NR) {
			int nr = g->OH - oh0 < NR ? g->OH - oh0 : NR;
			size_t np = (size_t)nr * g->OW, pix = (size_t)oh0 * g->OW;
			if (nn_has(dw)) {
				st = im2col(ctx, g, col, nn_at(x, n0 * chw), gn, oh0, nr);
				for (int i = 0; i < gn && st == TG_CL_OK; i++)
					st = nn_gemm(ctx, "conv2d weight gradient", 0, 1, g->OC, ckk, np, 1.0f,
					             nn_at(dy, (n0 + i) * ocohw + pix), ohw, nn_at(cb, i * np),
					             gn * np, 1.0f, dw, ckk);
			}
			if (nn_has(dx)) {
				for (int i = 0; i < gn && st == TG_CL_OK; i++)
					st = nn_gemm(ctx, "conv2d data gradient", 1, 0, ckk, np, g->OC, 1.0f, w,
					             ckk, nn_at(dy, (n0 + i) * ocohw + pix), ohw, 0.0f,
					             nn_at(cb, i * np), gn * np);
				if (st == TG_CL_OK)
					st = col2im(ctx, g, nn_at(dx, n0 * chw), col, gn, oh0, nr);
			}
		}
	}
	return st;
}

/* The conv2d whose data gradient is the transposed conv's forward: input
 * and output exchanged, OC and C exchanged, same kernel, stride, padding. */
static void as_conv(const nn_convt2d *t, nn_conv2d *g)
{
	g->B = t->B, g->C = t->OC, g->H = t->OH, g->W = t->OW;
	g->OC = t->C, g->KH = t->KH, g->KW = t->KW;
	g->SH = t->SH, g->SW = t->SW, g->PH = t->PH, g->PW = t->PW;
	g->OH = t->H, g->OW = t->W;
}

int nn_convt2d_forward(nn_ctx *ctx, const nn_convt2d *t, nn_buf y, nn_buf x, nn_buf w, nn_buf b)
{
	nn_conv2d g;
	as_conv(t, &g);
	/* In g's terms: x is dy [B, g.OC, g.OH, g.OW], y is dx [B, g.C, g.H, g.W]. */
	if (phase_dx_ok(ctx, &g)) {
		int st = phase_data_gradient(ctx, &g, y, x, w);
		return st == TG_CL_OK ? nn_bias_add(ctx, y, b, t->B, t->OC, t->OH * t->OW) : st;
	}
	const size_t ychw = (size_t)g.C * g.H * g.W, xhw = (size_t)g.OH * g.OW;
	const size_t ckk = (size_t)g.C * g.KH * g.KW, xchw = (size_t)g.OC * xhw;
	int G, NR;
	plan(ctx, &g, &G, &NR);
	cl_mem col;
	int st = nn_scratch(ctx, ckk * (size_t)G * NR * g.OW, &col);
	nn_buf cb = nn_buf_of(col, 0);
	for (int n0 = 0; n0 < g.B && st == TG_CL_OK; n0 += G) {
		int gn = g.B - n0 < G ? g.B - n0 : G;
		if (NR < g.OH)
			st = nn_fill(ctx, nn_at(y, n0 * ychw), ychw, 0.0f);
		for (int oh0 = 0; oh0 < g.OH && st == TG_CL_OK; oh0 += NR) {
			int nr = g.OH - oh0 < NR ? g.OH - oh0 : NR;
			size_t np = (size_t)nr * g.OW;
			for (int i = 0; i < gn && st == TG_CL_OK; i++)
				st = nn_gemm(ctx, "conv_transpose2d", 1, 0, ckk, np, g.OC, 1.0f, w, ckk,
				             nn_at(x, (n0 + i) * xchw + (size_t)oh0 * g.OW), xhw, 0.0f,
				             nn_at(cb, i * np), gn * np);
			if (st == TG_CL_OK)
				st = col2im(ctx, &g, nn_at(y, n0 * ychw), col, gn, oh0, nr);
		}
	}
	if (st == TG_CL_OK)
		st = nn_bias_add(ctx, y, b, t->B, t->OC, t->OH * t->OW);
	return st;
}

int nn_convt2d_backward(nn_ctx *ctx, const nn_convt2d *t, nn_buf dx, nn_buf dw, nn_buf db,
                        nn_buf dy, nn_buf x, nn_buf w)
{
	nn_conv2d g;
	as_conv(t, &g);
	/* In g's terms: dy is the conv input [B, g.C, g.H, g.W]; dx = conv(dy),
	 * [B, g.OC, g.OH, g.OW]; dw += x_n dycol^T. */
	const size_t ychw = (size_t)g.C * g.H * g.W, xhw = (size_t)g.OH * g.OW;
	const size_t ckk = (size_t)g.C * g.KH * g.KW, xchw = (size_t)g.OC * xhw;
	int st = nn_bias_grad(ctx, db, dy, t->B, t->OC, t->OH * t->OW);
	if (st != TG_CL_OK || (!nn_has(dx) && !nn_has(dw)))
		return st;
	int G, NR;
	plan(ctx, &g, &G, &NR);
	cl_mem col;
	st = nn_scratch(ctx, ckk * (size_t)G * NR * g.OW, &col);
	nn_buf cb = nn_buf_of(col, 0);
	for (int n0 = 0; n0 < g.B && st == TG_CL_OK; n0 += G) {
		int gn = g.B - n0 < G ? g.B - n0 : G;
		for (int oh0 = 0; oh0 < g.OH && st == TG_CL_OK; oh0 += NR) {
			int nr = g.OH - oh0 < NR ? g.OH - oh0 : NR;
			size_t np = (size_t)nr * g.OW, pix = (size_t)oh0 * g.OW;
			st = im2col(ctx, &g, col, nn_at(dy, n0 * ychw), gn, oh0, nr);
			for (int i = 0; i < gn && st == TG_CL_OK; i++) {
				if (nn_has(dx))
					st = nn_gemm(ctx, "conv_transpose2d data gradient", 0, 0, g.OC, np, ckk,
					             1.0f, w, ckk, nn_at(cb, i * np), gn * np, 0.0f,
					             nn_at(dx, (n0 + i) * xchw + pix), xhw);
				if (nn_has(dw) && st == TG_CL_OK)
					st = nn_gemm(ctx, "conv_transpose2d weight gradient", 0, 1, g.OC, ckk, np,
					             1.0f, nn_at(x, (n0 + i) * xchw + pix), xhw, nn_at(cb, i * np),
					             gn * np, 1.0f, dw, ckk);
			}
		}
	}
	return st;
}
