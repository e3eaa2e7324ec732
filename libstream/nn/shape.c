/* shape.c: nearest upsampling, channel copies and concatenation (ops.h):
 * references and device versions (kernels/nn_shape.cl). */
#include "nn/internal.h"

#define SHAPE "nn_shape.cl"

void nn_ref_upsample_forward(float *y, const float *x, int B, int C, int H, int W, int s)
{
	int OH = H * s, OW = W * s;
	for (size_t plane = 0; plane < (size_t)B * C; plane++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				y[(plane * OH + oh) * OW + ow] = x[(plane * H + oh / s) * W + ow / s];
}

void nn_ref_upsample_backward(float *dx, const float *dy, int B, int C, int H, int W, int s)
{
	int OH = H * s, OW = W * s;
	for (size_t plane = 0; plane < (size_t)B * C; plane++)
		for (int ih = 0; ih < H; ih++)
			for (int iw = 0; iw < W; iw++) {
				double sum = 0;
				for (int i = 0; i < s; i++)
					for (int j = 0; j < s; j++)
						sum += dy[(plane * OH + ih * s + i) * OW + iw * s + j];
				dx[(plane * H + ih) * W + iw] = (float)sum;
			}
}

void nn_ref_copy_channels(float *dst, int dC, int dc0, const float *src, int sC, int sc0,
                          int n, int B, int S)
{
	for (int b = 0; b < B; b++)
		for (int c = 0; c < n; c++)
			for (int p = 0; p < S; p++)
				dst[((size_t)b * dC + dc0 + c) * S + p] = src[((size_t)b * sC + sc0 + c) * S + p];
}

void nn_ref_concat_forward(float *y, const float *a, const float *b, int B, int Ca, int Cb, int S)
{
	nn_ref_copy_channels(y, Ca + Cb, 0, a, Ca, 0, Ca, B, S);
	nn_ref_copy_channels(y, Ca + Cb, Ca, b, Cb, 0, Cb, B, S);
}

void nn_ref_concat_backward(float *da, float *db, const float *dy, int B, int Ca, int Cb, int S)
{
	if (da)
		nn_ref_copy_channels(da, Ca, 0, dy, Ca + Cb, 0, Ca, B, S);
	if (db)
		nn_ref_copy_channels(db, Cb, 0, dy, Ca + Cb, Ca, Cb, B, S);
}

/* One kernel launch over input rows (H) and planes (B*C), both ways. */
static int upsample(nn_ctx *ctx, const char *name, nn_buf out, nn_buf in, int B, int C, int H,
                    int W, int s)
{
	if (B < 1 || C < 1 || H < 1 || W < 1 || s < 1)
		return nn_fail(TG_CL_FAIL, "%s: sizes and scale must be positive", name);
	if (nn_check_count(name, (double)B * C * H * W * s * s))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, SHAPE, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, out);
	nn_arg_buf(&a, in);
	nn_arg_int(&a, H);
	nn_arg_int(&a, W);
	nn_arg_int(&a, s);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)H, (size_t)B * C);
}

int nn_upsample_forward(nn_ctx *ctx, nn_buf y, nn_buf x, int B, int C, int H, int W, int s)
{
	return upsample(ctx, "upsample_forward", y, x, B, C, H, W, s);
}

int nn_upsample_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, int B, int C, int H, int W, int s)
{
	if (!nn_has(dx))
		return TG_CL_OK;
	return upsample(ctx, "upsample_backward", dx, dy, B, C, H, W, s);
}

int nn_copy_channels(nn_ctx *ctx, nn_buf dst, int dC, int dc0, nn_buf src, int sC, int sc0,
                     int n, int B, int S)
{
	const char *name = "copy_channels";
	if (n == 0 || B == 0 || S == 0)
		return TG_CL_OK;
	if (n < 0 || B < 0 || S < 0 || dc0 < 0 || sc0 < 0 || dc0 + n > dC || sc0 + n > sC)
		return nn_fail(TG_CL_FAIL, "copy_channels: channels %d..%d of %d to %d..%d of %d", sc0,
		               sc0 + n, sC, dc0, dc0 + n, dC);
	if (nn_check_count(name, (double)B * (dC > sC ? dC : sC) * S))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, SHAPE, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dst);
	nn_arg_int(&a, dC);
	nn_arg_int(&a, dc0);
	nn_arg_buf(&a, src);
	nn_arg_int(&a, sC);
	nn_arg_int(&a, sc0);
	nn_arg_int(&a, n);
	nn_arg_int(&a, S);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)n * S, (size_t)B);
}

int nn_concat_forward(nn_ctx *ctx, nn_buf y, nn_buf a, nn_buf b, int B, int Ca, int Cb, int S)
{
	int st = nn_copy_channels(ctx, y, Ca + Cb, 0, a, Ca, 0, Ca, B, S);
	if (st == TG_CL_OK)
		st = nn_copy_channels(ctx, y, Ca + Cb, Ca, b, Cb, 0, Cb, B, S);
	return st;
}

int nn_concat_backward(nn_ctx *ctx, nn_buf da, nn_buf db, nn_buf dy, int B, int Ca, int Cb, int S)
{
	int st = TG_CL_OK;
	if (nn_has(da))
		st = nn_copy_channels(ctx, da, Ca, 0, dy, Ca + Cb, 0, Ca, B, S);
	if (st == TG_CL_OK && nn_has(db))
		st = nn_copy_channels(ctx, db, Cb, 0, dy, Ca + Cb, Ca, Cb, B, S);
	return st;
}
