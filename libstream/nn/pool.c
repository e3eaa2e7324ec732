/* pool.c: max, average and global average pooling (ops.h): references and
 * device versions (kernels/nn_pool.cl).  Window rules follow PyTorch's CPU
 * kernels (ceil_mode False, dilation 1). */
#include <math.h>

#include "nn/internal.h"

#define POOL "nn_pool.cl"

int nn_pool2d_shape(nn_pool2d *g, int B, int C, int H, int W, int KH, int KW,
                    int SH, int SW, int PH, int PW)
{
	if (B < 1 || C < 1 || H < 1 || W < 1 || KH < 1 || KW < 1 || SH < 1 || SW < 1 || PH < 0 ||
	    PW < 0)
		return nn_fail(TG_CL_FAIL, "pool2d: sizes and strides must be positive, padding not "
		               "negative"), -1;
	/* As PyTorch: padding at most half the kernel, so no window is all padding. */
	if (2 * PH > KH || 2 * PW > KW)
		return nn_fail(TG_CL_FAIL, "pool2d: padding %dx%d exceeds half the kernel %dx%d", PH, PW,
		               KH, KW), -1;
	if (H + 2 * PH < KH || W + 2 * PW < KW)
		return nn_fail(TG_CL_FAIL, "pool2d: kernel larger than the padded input"), -1;
	if (nn_check_count("pool2d input", (double)B * C * H * W))
		return -1;
	g->B = B, g->C = C, g->H = H, g->W = W, g->KH = KH, g->KW = KW;
	g->SH = SH, g->SW = SW, g->PH = PH, g->PW = PW;
	g->OH = (H + 2 * PH - KH) / SH + 1;
	g->OW = (W + 2 * PW - KW) / SW + 1;
	return 0;
}

/* ---- references ---- */

void nn_ref_maxpool2d_forward(const nn_pool2d *g, float *y, int *idx, const float *x)
{
	for (size_t plane = 0; plane < (size_t)g->B * g->C; plane++) {
		const float *xp = x + plane * g->H * g->W;
		for (int oh = 0; oh < g->OH; oh++)
			for (int ow = 0; ow < g->OW; ow++) {
				int h0 = oh * g->SH - g->PH, w0 = ow * g->SW - g->PW;
				int h1 = h0 + g->KH < g->H ? h0 + g->KH : g->H;
				int w1 = w0 + g->KW < g->W ? w0 + g->KW : g->W;
				h0 = h0 < 0 ? 0 : h0;
				w0 = w0 < 0 ? 0 : w0;
				float best = -INFINITY;
				int bi = h0 * g->W + w0;
				for (int ih = h0; ih < h1; ih++)
					for (int iw = w0; iw < w1; iw++) {
						float v = xp[ih * g->W + iw];
						if (v > best || isnan(v)) {
							best = v;
							bi = ih * g->W + iw;
						}
					}
				size_t o = (plane * g->OH + oh) * g->OW + ow;
				y[o] = best;
				idx[o] = bi;
			}
	}
}

void nn_ref_maxpool2d_backward(const nn_pool2d *g, float *dx, const float *dy, const int *idx)
{
	size_t hw = (size_t)g->H * g->W, ohw = (size_t)g->OH * g->OW;
	for (size_t plane = 0; plane < (size_t)g->B * g->C; plane++) {
		for (size_t i = 0; i < hw; i++)
			dx[plane * hw + i] = 0;
		for (size_t o = 0; o < ohw; o++)
			dx[plane * hw + (size_t)idx[plane * ohw + o]] += dy[plane * ohw + o];
	}
}

static int ref_divisor(const nn_pool2d *g, int oh, int ow, int include_pad)
{
	int h0 = oh * g->SH - g->PH, w0 = ow * g->SW - g->PW;
	int h1 = h0 + g->KH < g->H + g->PH ? h0 + g->KH : g->H + g->PH;
	int w1 = w0 + g->KW < g->W + g->PW ? w0 + g->KW : g->W + g->PW;
	if (include_pad)
		return (h1 - h0) * (w1 - w0);
	h0 = h0 < 0 ? 0 : h0;
	w0 = w0 < 0 ? 0 : w0;
	h1 = h1 > g->H ? g->H : h1;
	w1 = w1 > g->W ? g->W : w1;
	return (h1 - h0) * (w1 - w0);
}

void nn_ref_avgpool2d_forward(const nn_pool2d *g, float *y, const float *x, int count_include_pad)
{
	for (size_t plane = 0; plane < (size_t)g->B * g->C; plane++) {
		const float *xp = x + plane * g->H * g->W;
		for (int oh = 0; oh < g->OH; oh++)
			for (int ow = 0; ow < g->OW; ow++) {
				double s = 0;
				for (int kh = 0; kh < g->KH; kh++)
					for (int kw = 0; kw < g->KW; kw++) {
						int ih = oh * g->SH - g->PH + kh, iw = ow * g->SW - g->PW + kw;
						if (ih >= 0 && ih < g->H && iw >= 0 && iw < g->W)
							s += xp[ih * g->W + iw];
					}
				y[(plane * g->OH + oh) * g->OW + ow] =
					(float)(s / ref_divisor(g, oh, ow, count_include_pad));
			}
	}
}

void nn_ref_avgpool2d_backward(const nn_pool2d *g, float *dx, const float *dy,
                               int count_include_pad)
{
	size_t hw = (size_t)g->H * g->W;
	for (size_t plane = 0; plane < (size_t)g->B * g->C; plane++) {
		float *dp = dx + plane * hw;
		for (size_t i = 0; i < hw; i++)
			dp[i] = 0;
		for (int oh = 0; oh < g->OH; oh++)
			for (int ow = 0; ow < g->OW; ow++) {
				double v = dy[(plane * g->OH + oh) * g->OW + ow] /
				           (double)ref_divisor(g, oh, ow, count_include_pad);
				for (int kh = 0; kh < g->KH; kh++)
					for (int kw = 0; kw < g->KW; kw++) {
						int ih = oh * g->SH - g->PH + kh, iw = ow * g->SW - g->PW + kw;
						if (ih >= 0 && ih < g->H && iw >= 0 && iw < g->W)
							dp[ih * g->W + iw] += (float)v;
					}
			}
	}
}

void nn_ref_global_avgpool_forward(float *y, const float *x, int B, int C, int S)
{
	for (size_t plane = 0; plane < (size_t)B * C; plane++) {
		double s = 0;
		for (int i = 0; i < S; i++)
			s += x[plane * S + i];
		y[plane] = (float)(s / S);
	}
}

void nn_ref_global_avgpool_backward(float *dx, const float *dy, int B, int C, int S)
{
	for (size_t plane = 0; plane < (size_t)B * C; plane++)
		for (int i = 0; i < S; i++)
			dx[plane * S + i] = (float)((double)dy[plane] / S);
}

/* ---- device ---- */

static void arg_window(nn_args *a, const nn_pool2d *g)
{
	const int v[10] = { g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW, g->OH, g->OW };
	for (int i = 0; i < 10; i++)
		nn_arg_int(a, v[i]);
}

int nn_maxpool2d_forward(nn_ctx *ctx, const nn_pool2d *g, nn_buf y, nn_buf idx, nn_buf x)
{
	const char *name = "maxpool_forward";
	cl_kernel k = nn_kernel(ctx, POOL, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, y);
	nn_arg_buf(&a, idx);
	nn_arg_buf(&a, x);
	arg_window(&a, g);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)g->OH, (size_t)g->B * g->C);
}

int nn_maxpool2d_backward(nn_ctx *ctx, const nn_pool2d *g, nn_buf dx, nn_buf dy, nn_buf idx)
{
	const char *name = "maxpool_backward";
	if (!nn_has(dx))
		return TG_CL_OK;
	cl_kernel k = nn_kernel(ctx, POOL, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dx);
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, idx);
	arg_window(&a, g);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)g->H, (size_t)g->B * g->C);
}

int nn_avgpool2d_forward(nn_ctx *ctx, const nn_pool2d *g, nn_buf y, nn_buf x,
                         int count_include_pad)
{
	const char *name = "avgpool_forward";
	cl_kernel k = nn_kernel(ctx, POOL, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, y);
	nn_arg_buf(&a, x);
	arg_window(&a, g);
	nn_arg_int(&a, count_include_pad != 0);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)g->OH, (size_t)g->B * g->C);
}

int nn_avgpool2d_backward(nn_ctx *ctx, const nn_pool2d *g, nn_buf dx, nn_buf dy,
                          int count_include_pad)
{
	const char *name = "avgpool_backward";
	if (!nn_has(dx))
		return TG_CL_OK;
	cl_kernel k = nn_kernel(ctx, POOL, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dx);
	nn_arg_buf(&a, dy);
	arg_window(&a, g);
	nn_arg_int(&a, count_include_pad != 0);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)g->H, (size_t)g->B * g->C);
}

int nn_global_avgpool_forward(nn_ctx *ctx, nn_buf y, nn_buf x, int B, int C, int S)
{
	const char *name = "global_avgpool_forward";
	if (B < 1 || C < 1 || S < 1)
		return nn_fail(TG_CL_FAIL, "%s: sizes must be positive", name);
	if (nn_check_count(name, (double)B * C * S))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, POOL, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, y);
	nn_arg_buf(&a, x);
	nn_arg_int(&a, S);
	nn_arg_int(&a, B * C);
	return nn_launch1(ctx, k, name, nn_args_end(&a, name), (size_t)B * C);
}

int nn_global_avgpool_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, int B, int C, int S)
{
	const char *name = "global_avgpool_backward";
	if (!nn_has(dx))
		return TG_CL_OK;
	if (B < 1 || C < 1 || S < 1)
		return nn_fail(TG_CL_FAIL, "%s: sizes must be positive", name);
	if (nn_check_count(name, (double)B * C * S))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, POOL, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dx);
	nn_arg_buf(&a, dy);
	nn_arg_int(&a, S);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)S, (size_t)B * C);
}
