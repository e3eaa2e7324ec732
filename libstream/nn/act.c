/* act.c: fill, axpy and the activations: reference and device
 * (kernels/nn_elementwise.cl). */
#include <math.h>

#include "nn/internal.h"

#define EW "nn_elementwise.cl"

/* ---- references ---- */

void nn_ref_fill(float *x, size_t n, float value)
{
	for (size_t i = 0; i < n; i++)
		x[i] = value;
}

void nn_ref_axpy(float *y, const float *x, size_t n, float a)
{
	for (size_t i = 0; i < n; i++)
		y[i] += a * x[i];
}

void nn_ref_relu_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0.0f || isnan(x[i]) ? x[i] : 0.0f;
}

void nn_ref_relu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void nn_ref_leaky_relu_forward(float *y, const float *x, size_t n, float slope)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
}

void nn_ref_leaky_relu_backward(float *dx, const float *dy, const float *x, size_t n, float slope)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope;
}

void nn_ref_tanh_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = (float)tanh((double)x[i]);
}

void nn_ref_tanh_backward(float *dx, const float *dy, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void nn_ref_sigmoid_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
}

void nn_ref_sigmoid_backward(float *dx, const float *dy, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

/* ---- device ---- */

static int too_big(const char *what, size_t n)
{
	return n > NN_MAX_ELEMS ? nn_fail(TG_CL_FAIL, "%s: %zu elements is too many", what, n) : 0;
}

int nn_fill(nn_ctx *ctx, nn_buf x, size_t n, float value)
{
	if (n == 0)
		return TG_CL_OK;
	if (too_big("fill", n))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, EW, "fill");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, x);
	nn_arg_int(&a, (int)n);
	nn_arg_float(&a, value);
	return nn_launch1(ctx, k, "fill", nn_args_end(&a, "fill"), n);
}

int nn_axpy(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n, float alpha)
{
	if (n == 0)
		return TG_CL_OK;
	if (too_big("axpy", n))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, EW, "axpy");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, y);
	nn_arg_buf(&a, x);
	nn_arg_int(&a, (int)n);
	nn_arg_float(&a, alpha);
	return nn_launch1(ctx, k, "axpy", nn_args_end(&a, "axpy"), n);
}

/* y = f(x) (forward) or dx = dy * f'(x or y) (backward, src2 set). */
static int act(nn_ctx *ctx, const char *name, nn_buf out, nn_buf src, nn_buf src2, size_t n,
               int has_slope, float slope)
{
	if (n == 0)
		return TG_CL_OK;
	if (too_big(name, n))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, EW, name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, out);
	nn_arg_buf(&a, src);
	if (nn_has(src2))
		nn_arg_buf(&a, src2);
	nn_arg_int(&a, (int)n);
	if (has_slope)
		nn_arg_float(&a, slope);
	return nn_launch1(ctx, k, name, nn_args_end(&a, name), n);
}

int nn_relu_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n)
{
	return act(ctx, "relu_forward", y, x, NN_NONE, n, 0, 0);
}

int nn_relu_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf x, size_t n)
{
	return nn_has(dx) ? act(ctx, "relu_backward", dx, dy, x, n, 0, 0) : TG_CL_OK;
}

int nn_leaky_relu_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n, float slope)
{
	return act(ctx, "leaky_relu_forward", y, x, NN_NONE, n, 1, slope);
}

int nn_leaky_relu_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf x, size_t n, float slope)
{
	return nn_has(dx) ? act(ctx, "leaky_relu_backward", dx, dy, x, n, 1, slope) : TG_CL_OK;
}

int nn_tanh_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n)
{
	return act(ctx, "tanh_forward", y, x, NN_NONE, n, 0, 0);
}

int nn_tanh_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf y, size_t n)
{
	return nn_has(dx) ? act(ctx, "tanh_backward", dx, dy, y, n, 0, 0) : TG_CL_OK;
}

int nn_sigmoid_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n)
{
	return act(ctx, "sigmoid_forward", y, x, NN_NONE, n, 0, 0);
}

int nn_sigmoid_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf y, size_t n)
{
	return nn_has(dx) ? act(ctx, "sigmoid_backward", dx, dy, y, n, 0, 0) : TG_CL_OK;
}
