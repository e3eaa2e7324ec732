/* linear.c: y = x W^T + b (ops.h): reference with double accumulators, and
 * the device version as tg_gemm plus the bias kernels of nn_conv.cl. */
#include "nn/internal.h"

void nn_ref_linear_forward(float *y, const float *x, const float *W, const float *b,
                           int B, int in, int out)
{
	for (int n = 0; n < B; n++)
		for (int o = 0; o < out; o++) {
			double s = b ? b[o] : 0.0;
			for (int i = 0; i < in; i++)
				s += (double)x[(size_t)n * in + i] * W[(size_t)o * in + i];
			y[(size_t)n * out + o] = (float)s;
		}
}

void nn_ref_linear_backward(float *dx, float *dW, float *db, const float *dy,
                            const float *x, const float *W, int B, int in, int out)
{
	if (dx)
		for (int n = 0; n < B; n++)
			for (int i = 0; i < in; i++) {
				double s = 0;
				for (int o = 0; o < out; o++)
					s += (double)dy[(size_t)n * out + o] * W[(size_t)o * in + i];
				dx[(size_t)n * in + i] = (float)s;
			}
	if (dW)
		for (int o = 0; o < out; o++)
			for (int i = 0; i < in; i++) {
				double s = 0;
				for (int n = 0; n < B; n++)
					s += (double)dy[(size_t)n * out + o] * x[(size_t)n * in + i];
				dW[(size_t)o * in + i] += (float)s;
			}
	if (db)
		for (int o = 0; o < out; o++) {
			double s = 0;
			for (int n = 0; n < B; n++)
				s += dy[(size_t)n * out + o];
			db[o] += (float)s;
		}
}

static int check(int B, int in, int out)
{
	if (B < 1 || in < 1 || out < 1)
		return nn_fail(TG_CL_FAIL, "linear: sizes must be positive (B %d, in %d, out %d)", B,
		               in, out);
	if (nn_check_count("linear input", (double)B * in) ||
	    nn_check_count("linear output", (double)B * out) ||
	    nn_check_count("linear weight", (double)in * out))
		return TG_CL_FAIL;
	return TG_CL_OK;
}

int nn_linear_forward(nn_ctx *ctx, nn_buf y, nn_buf x, nn_buf W, nn_buf b,
                      int B, int in, int out)
{
	int st = check(B, in, out);
	if (st == TG_CL_OK)
		st = nn_gemm(ctx, "linear", 0, 1, B, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
	if (st == TG_CL_OK)
		st = nn_bias_add(ctx, y, b, B, out, 1);
	return st;
}

int nn_linear_backward(nn_ctx *ctx, nn_buf dx, nn_buf dW, nn_buf db, nn_buf dy,
                       nn_buf x, nn_buf W, int B, int in, int out)
{
	int st = check(B, in, out);
	if (st == TG_CL_OK && nn_has(dx))
		st = nn_gemm(ctx, "linear data gradient", 0, 0, B, in, out, 1.0f, dy, out, W, in,
		             0.0f, dx, in);
	if (st == TG_CL_OK && nn_has(dW))
		st = nn_gemm(ctx, "linear weight gradient", 1, 0, out, in, B, 1.0f, dy, out, x, in,
		             1.0f, dW, in);
	if (st == TG_CL_OK)
		st = nn_bias_grad(ctx, db, dy, B, out, 1);
	return st;
}
