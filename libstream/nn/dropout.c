/* dropout.c: dropout and 2-D (channel) dropout in training mode (ops.h):
 * reference and device versions (kernels/nn_elementwise.cl).  The mask
 * comes from the engine's generator, so the host and the device draw the
 * same mask for the same generator state. */
#include "nn/internal.h"

static float keep_scale(float p)
{
	return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

void nn_ref_dropout_forward(nn_rng *r, float *y, float *mask, const float *x, int rows, int S,
                            float p)
{
	nn_rng_uniform(r, mask, (size_t)rows, 0.0f, 1.0f);
	float scale = keep_scale(p);
	for (int i = 0; i < rows; i++) {
		mask[i] = mask[i] < p ? 0.0f : scale;
		for (int j = 0; j < S; j++)
			y[(size_t)i * S + j] = x[(size_t)i * S + j] * mask[i];
	}
}

void nn_ref_dropout_backward(float *dx, const float *dy, const float *mask, int rows, int S)
{
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < S; j++)
			dx[(size_t)i * S + j] = dy[(size_t)i * S + j] * mask[i];
}

static int apply(nn_ctx *ctx, nn_buf out, nn_buf in, nn_buf mask, int rows, int S)
{
	const char *name = "dropout_apply";
	cl_kernel k = nn_kernel(ctx, "nn_elementwise.cl", name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, out);
	nn_arg_buf(&a, in);
	nn_arg_buf(&a, mask);
	nn_arg_int(&a, S);
	return nn_launch2(ctx, k, name, nn_args_end(&a, name), (size_t)S, (size_t)rows);
}

static int check(const char *name, int rows, int S, float p)
{
	if (rows < 1 || S < 1)
		return nn_fail(TG_CL_FAIL, "%s: sizes must be positive", name);
	if (!(p >= 0.0f && p <= 1.0f))
		return nn_fail(TG_CL_FAIL, "%s: probability %g is not in [0, 1]", name, p);
	return nn_check_count(name, (double)rows * S);
}

int nn_dropout_forward(nn_ctx *ctx, nn_rng *r, nn_buf y, nn_buf mask, nn_buf x, int rows, int S,
                       float p)
{
	const char *name = "dropout_mask";
	int st = check("dropout_forward", rows, S, p);
	if (st == TG_CL_OK)
		st = nn_rng_uniform_dev(ctx, r, mask, (size_t)rows, 0.0f, 1.0f);
	if (st != TG_CL_OK)
		return st;
	cl_kernel k = nn_kernel(ctx, "nn_elementwise.cl", name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, mask);
	nn_arg_int(&a, rows);
	nn_arg_float(&a, p);
	nn_arg_float(&a, keep_scale(p));
	st = nn_launch1(ctx, k, name, nn_args_end(&a, name), (size_t)rows);
	return st == TG_CL_OK ? apply(ctx, y, x, mask, rows, S) : st;
}

int nn_dropout_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf mask, int rows, int S)
{
	if (!nn_has(dx))
		return TG_CL_OK;
	int st = check("dropout_backward", rows, S, 0.0f);
	return st == TG_CL_OK ? apply(ctx, dx, dy, mask, rows, S) : st;
}
