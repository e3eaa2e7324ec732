/* batchnorm.c: BatchNorm1d/2d, training and evaluation (ops.h): reference
 * in double and device version (kernels/nn_bn.cl). */
#include <math.h>

#include "nn/internal.h"

#define BN "nn_bn.cl"

/* ---- reference ---- */

void nn_ref_batchnorm_forward(float *y, float *save, const float *x, const float *gamma,
                              const float *beta, float *rmean, float *rvar, int B, int C, int S,
                              float eps, float momentum, int train)
{
	size_t n = (size_t)B * S;
	for (int c = 0; c < C; c++) {
		double mean, invstd;
		if (train) {
			double s = 0, s2 = 0;
			for (int b = 0; b < B; b++)
				for (int p = 0; p < S; p++)
					s += x[((size_t)b * C + c) * S + p];
			mean = s / (double)n;
			for (int b = 0; b < B; b++)
				for (int p = 0; p < S; p++) {
					double d = x[((size_t)b * C + c) * S + p] - mean;
					s2 += d * d;
				}
			double var = s2 / (double)n;
			invstd = 1.0 / sqrt(var + eps);
			if (rmean && rvar) {
				rmean[c] = (float)((1.0 - momentum) * rmean[c] + (double)momentum * mean);
				rvar[c] = (float)((1.0 - momentum) * rvar[c] +
				                  (double)momentum * var * (double)n / (double)(n - 1));
			}
		} else {
			mean = rmean[c];
			invstd = 1.0 / sqrt((double)rvar[c] + eps);
		}
		save[c] = (float)mean;
		save[C + c] = (float)invstd;
		double g = gamma ? gamma[c] : 1.0, sh = beta ? beta[c] : 0.0;
		for (int b = 0; b < B; b++)
			for (int p = 0; p < S; p++) {
				size_t i = ((size_t)b * C + c) * S + p;
				y[i] = (float)((x[i] - mean) * invstd * g + sh);
			}
	}
}

void nn_ref_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                               const float *x, const float *save, const float *gamma,
                               int B, int C, int S, int train)
{
	double n = (double)B * S;
	for (int c = 0; c < C; c++) {
		double mean = save[c], invstd = save[C + c];
		double sg = 0, sgx = 0;
		for (int b = 0; b < B; b++)
			for (int p = 0; p < S; p++) {
				size_t i = ((size_t)b * C + c) * S + p;
				sg += dy[i];
				sgx += dy[i] * (x[i] - mean) * invstd;
			}
		if (dgamma)
			dgamma[c] += (float)sgx;
		if (dbeta)
			dbeta[c] += (float)sg;
		if (!dx)
			continue;
		double scale = invstd * (gamma ? gamma[c] : 1.0);
		for (int b = 0; b < B; b++)
			for (int p = 0; p < S; p++) {
				size_t i = ((size_t)b * C + c) * S + p;
				double g = dy[i];
				if (train)
					g = g - sg / n - (x[i] - mean) * invstd * sgx / n;
				dx[i] = (float)(scale * g);
			}
	}
}

/* ---- device ---- */

static int check(const char *name, int B, int C, int S, int train)
{
	if (B < 1 || C < 1 || S < 1)
		return nn_fail(TG_CL_FAIL, "%s: sizes must be positive", name);
	if (train && (size_t)B * S < 2)
		return nn_fail(TG_CL_FAIL, "%s: training needs more than one value per channel", name);
	if (nn_check_count(name, (double)B * C * S))
		return TG_CL_FAIL;
	return TG_CL_OK;
}

int nn_batchnorm_forward(nn_ctx *ctx, nn_buf y, nn_buf save, nn_buf x, nn_buf gamma, nn_buf beta,
                         nn_buf rmean, nn_buf rvar, int B, int C, int S, float eps,
                         float momentum, int train)
{
	int st = check("batchnorm_forward", B, C, S, train);
	if (st != TG_CL_OK)
		return st;
	if (!train && (!nn_has(rmean) || !nn_has(rvar)))
		return nn_fail(TG_CL_FAIL, "batchnorm_forward: evaluation needs running statistics");
	nn_args a;
	const char *name = train ? "bn_stats" : "bn_eval_stats";
	cl_kernel k = nn_kernel(ctx, BN, name);
	if (!k)
		return ctx->status;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, save);
	if (train) {
		int has_running = nn_has(rmean) && nn_has(rvar);
		nn_arg_buf(&a, x);
		nn_arg_buf(&a, has_running ? rmean : save);
		nn_arg_buf(&a, has_running ? rvar : save);
		nn_arg_int(&a, has_running);
		nn_arg_int(&a, B);
		nn_arg_int(&a, C);
		nn_arg_int(&a, S);
		nn_arg_float(&a, eps);
		nn_arg_float(&a, momentum);
		st = nn_args_end(&a, name);
		if (st == TG_CL_OK && (st = nn_run_groups(ctx, k, (size_t)C, 1)) != TG_CL_OK)
			st = nn_fail_cl(st, name);
	} else {
		nn_arg_buf(&a, rmean);
		nn_arg_buf(&a, rvar);
		nn_arg_int(&a, C);
		nn_arg_float(&a, eps);
		st = nn_launch1(ctx, k, name, nn_args_end(&a, name), (size_t)C);
	}
	if (st != TG_CL_OK)
		return st;
	name = "bn_apply";
	if (!(k = nn_kernel(ctx, BN, name)))
		return ctx->status;
	int affine = nn_has(gamma) && nn_has(beta);
	if (nn_has(gamma) != nn_has(beta))
		return nn_fail(TG_CL_FAIL, "batchnorm_forward: gamma and beta go together");
	nn_args_begin(&a, k);
	nn_arg_buf(&a, y);
	nn_arg_buf(&a, x);
	nn_arg_buf(&a, save);
	nn_arg_buf(&a, affine ? gamma : save);
	nn_arg_buf(&a, affine ? beta : save);
	nn_arg_int(&a, affine);
	nn_arg_int(&a, C);
	nn_arg_int(&a, S);
	nn_arg_int(&a, B * C);
	return nn_launch1(ctx, k, name, nn_args_end(&a, name), (size_t)B * C);
}

int nn_batchnorm_backward(nn_ctx *ctx, nn_buf dx, nn_buf dgamma, nn_buf dbeta, nn_buf dy,
                          nn_buf x, nn_buf save, nn_buf gamma, int B, int C, int S, int train)
{
	int st = check("batchnorm_backward", B, C, S, train);
	if (st != TG_CL_OK)
		return st;
	cl_mem sums;
	if ((st = nn_partials(ctx, 2 * (size_t)C, &sums)) != TG_CL_OK)
		return st;
	nn_buf sb = nn_buf_of(sums, 0);
	nn_args a;
	/* The sums are needed for dgamma, dbeta and the training dx. */
	if (nn_has(dgamma) || nn_has(dbeta) || (train && nn_has(dx))) {
		const char *name = "bn_backward_reduce";
		cl_kernel k = nn_kernel(ctx, BN, name);
		if (!k)
			return ctx->status;
		nn_args_begin(&a, k);
		nn_arg_buf(&a, sb);
		nn_arg_buf(&a, nn_has(dgamma) ? dgamma : sb);
		nn_arg_buf(&a, nn_has(dbeta) ? dbeta : sb);
		nn_arg_int(&a, nn_has(dgamma));
		nn_arg_int(&a, nn_has(dbeta));
		nn_arg_buf(&a, dy);
		nn_arg_buf(&a, x);
		nn_arg_buf(&a, save);
		nn_arg_int(&a, B);
		nn_arg_int(&a, C);
		nn_arg_int(&a, S);
		st = nn_args_end(&a, name);
		if (st == TG_CL_OK && (st = nn_run_groups(ctx, k, (size_t)C, 1)) != TG_CL_OK)
			st = nn_fail_cl(st, name);
		if (st != TG_CL_OK)
			return st;
	}
	if (!nn_has(dx))
		return TG_CL_OK;
	const char *name = "bn_backward_data";
	cl_kernel k = nn_kernel(ctx, BN, name);
	if (!k)
		return ctx->status;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, dx);
	nn_arg_buf(&a, dy);
	nn_arg_buf(&a, x);
	nn_arg_buf(&a, save);
	nn_arg_buf(&a, sb);
	nn_arg_buf(&a, nn_has(gamma) ? gamma : save);
	nn_arg_int(&a, nn_has(gamma));
	nn_arg_int(&a, train != 0);
	nn_arg_int(&a, B);
	nn_arg_int(&a, C);
	nn_arg_int(&a, S);
	return nn_launch1(ctx, k, name, nn_args_end(&a, name), (size_t)B * C);
}
