/* loss.c: MSE, L1, BCE, BCE with logits and the Wasserstein score (ops.h):
 * references in double and device versions (kernels/nn_loss.cl). */
#include <math.h>
#include <stdlib.h>

#include "nn/internal.h"

#define LOSS "nn_loss.cl"

enum { MSE, L1, BCE, BCE_LOGITS, MEAN };   /* the modes of nn_loss.cl */

/* ---- references ---- */

static double ref_term(int mode, double x, double t)
{
	switch (mode) {
	case MSE:
		return (x - t) * (x - t);
	case L1:
		return fabs(x - t);
	case BCE:
		return -(t * fmax(log(x), -100.0) + (1 - t) * fmax(log1p(-x), -100.0));
	case BCE_LOGITS:
		return fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));
	default:
		return x;
	}
}

static double ref_grad(int mode, double x, double t)
{
	switch (mode) {
	case MSE:
		return 2 * (x - t);
	case L1:
		return x > t ? 1.0 : x < t ? -1.0 : 0.0;
	case BCE:
		return (x - t) / fmax(x * (1 - x), 1e-12);
	case BCE_LOGITS:
		return 1 / (1 + exp(-x)) - t;
	default:
		return 1.0;
	}
}

static double ref_forward(int mode, const float *x, const float *t, float tc, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += ref_term(mode, x[i], t ? t[i] : tc);
	return n > 0 ? s / n : 0.0;
}

static void ref_backward(int mode, float *dx, const float *x, const float *t, float tc, int n,
                         float dloss)
{
	for (int i = 0; i < n; i++)
		dx[i] = (float)((double)dloss / n * ref_grad(mode, x[i], t ? t[i] : tc));
}

double nn_ref_mse_forward(const float *x, const float *t, float tc, int n)
{
	return ref_forward(MSE, x, t, tc, n);
}

void nn_ref_mse_backward(float *dx, const float *x, const float *t, float tc, int n, float dloss)
{
	ref_backward(MSE, dx, x, t, tc, n, dloss);
}

double nn_ref_l1_forward(const float *x, const float *t, float tc, int n)
{
	return ref_forward(L1, x, t, tc, n);
}

void nn_ref_l1_backward(float *dx, const float *x, const float *t, float tc, int n, float dloss)
{
	ref_backward(L1, dx, x, t, tc, n, dloss);
}

double nn_ref_bce_forward(const float *x, const float *t, float tc, int n)
{
	return ref_forward(BCE, x, t, tc, n);
}

void nn_ref_bce_backward(float *dx, const float *x, const float *t, float tc, int n, float dloss)
{
	ref_backward(BCE, dx, x, t, tc, n, dloss);
}

double nn_ref_bce_logits_forward(const float *x, const float *t, float tc, int n)
{
	return ref_forward(BCE_LOGITS, x, t, tc, n);
}

void nn_ref_bce_logits_backward(float *dx, const float *x, const float *t, float tc, int n,
                                float dloss)
{
	ref_backward(BCE_LOGITS, dx, x, t, tc, n, dloss);
}

double nn_ref_wasserstein_forward(const float *x, int n, float sign)
{
	return sign * ref_forward(MEAN, x, NULL, 0, n);
}

void nn_ref_wasserstein_backward(float *dx, int n, float sign, float dloss)
{
	for (int i = 0; i < n; i++)
		dx[i] = (float)((double)dloss * sign / n);
}

/* ---- device ---- */

/* Groups of the forward reduction: enough to fill a device, few enough
 * that the host adds them in no time. */
#define LOSS_GROUPS 256

static int dev_forward(nn_ctx *ctx, const char *name, int mode, double *loss, nn_buf x, nn_buf t,
                       float tc, int n)
{
	*loss = 0;
	if (n < 1)
		return nn_fail(TG_CL_FAIL, "%s: no elements", name);
	cl_kernel k = nn_kernel(ctx, LOSS, "loss_sum");
	if (!k)
		return ctx->status;
	size_t groups = ((size_t)n + NN_RED_WG - 1) / NN_RED_WG;
	if (groups > LOSS_GROUPS)
		groups = LOSS_GROUPS;
	cl_mem part;
	int st = nn_partials(ctx, groups, &part);
	if (st != TG_CL_OK)
		return st;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, nn_buf_of(part, 0));
	nn_arg_buf(&a, x);
	nn_arg_buf(&a, nn_has(t) ? t : x);
	nn_arg_int(&a, nn_has(t));
	nn_arg_float(&a, tc);
	nn_arg_int(&a, n);
	nn_arg_int(&a, mode);
	st = nn_args_end(&a, name);
	if (st == TG_CL_OK && (st = nn_run_groups(ctx, k, groups, 1)) != TG_CL_OK)
		st = nn_fail_cl(st, name);
	float buf[LOSS_GROUPS];
	if (st == TG_CL_OK)
		st = nn_read(ctx, buf, nn_buf_of(part, 0), groups);
	if (st != TG_CL_OK)
		return st;
	double s = 0;
	for (size_t i = 0; i < groups; i++)
		s += buf[i];
	*loss = s / n;
	return TG_CL_OK;
}

static int dev_backward(nn_ctx *ctx, const char *name, int mode, nn_buf dx, nn_buf x, nn_buf t,
                        float tc, int n, float dloss)
{
	if (!nn_has(dx) || n == 0)
		return TG_CL_OK;
	if (n < 0)
		return nn_fail(TG_CL_FAIL, "%s: negative size", name);
	cl_kernel k = nn_kernel(ctx, LOSS, "loss_grad");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dx);
	nn_arg_buf(&a, x);
	nn_arg_buf(&a, nn_has(t) ? t : x);
	nn_arg_int(&a, nn_has(t));
	nn_arg_float(&a, tc);
	nn_arg_int(&a, n);
	nn_arg_int(&a, mode);
	nn_arg_float(&a, (float)((double)dloss / n));
	return nn_launch1(ctx, k, name, nn_args_end(&a, name), (size_t)n);
}

int nn_mse_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n)
{
	return dev_forward(ctx, "mse_forward", MSE, loss, x, t, tc, n);
}

int nn_mse_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n, float dloss)
{
	return dev_backward(ctx, "mse_backward", MSE, dx, x, t, tc, n, dloss);
}

int nn_l1_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n)
{
	return dev_forward(ctx, "l1_forward", L1, loss, x, t, tc, n);
}

int nn_l1_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n, float dloss)
{
	return dev_backward(ctx, "l1_backward", L1, dx, x, t, tc, n, dloss);
}

int nn_bce_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n)
{
	return dev_forward(ctx, "bce_forward", BCE, loss, x, t, tc, n);
}

int nn_bce_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n, float dloss)
{
	return dev_backward(ctx, "bce_backward", BCE, dx, x, t, tc, n, dloss);
}

int nn_bce_logits_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n)
{
	return dev_forward(ctx, "bce_logits_forward", BCE_LOGITS, loss, x, t, tc, n);
}

int nn_bce_logits_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n,
                           float dloss)
{
	return dev_backward(ctx, "bce_logits_backward", BCE_LOGITS, dx, x, t, tc, n, dloss);
}

int nn_wasserstein_forward(nn_ctx *ctx, double *loss, nn_buf x, int n, float sign)
{
	int st = dev_forward(ctx, "wasserstein_forward", MEAN, loss, x, NN_NONE, 0, n);
	*loss *= sign;
	return st;
}

int nn_wasserstein_backward(nn_ctx *ctx, nn_buf dx, int n, float sign, float dloss)
{
	if (!nn_has(dx) || n <= 0)
		return TG_CL_OK;
	return nn_fill(ctx, dx, (size_t)n, (float)((double)dloss * sign / n));
}
