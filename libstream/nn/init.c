/* init.c: parameter initialisers (init.h). */
#include <math.h>

#include "nn/init.h"
#include "nn/ops.h"

static int find(const nn_arena *a, const char *name)
{
	int i = nn_arena_find(a, name);
	if (i < 0)
		nn_fail(TG_CL_FAIL, "init: no parameter '%s'", name);
	else if (!a->params)
		return nn_fail(TG_CL_FAIL, "init: '%s': the arena is not allocated", name), -1;
	return i;
}

int nn_init_fans(const nn_arena *a, const char *name, double *fan_in, double *fan_out)
{
	int i = nn_arena_find(a, name);
	if (i < 0)
		return nn_fail(TG_CL_FAIL, "init: no parameter '%s'", name), -1;
	const nn_param *p = &a->p[i];
	if (p->rank < 2)
		return nn_fail(TG_CL_FAIL, "init: '%s' has rank %d: fans need a weight of rank 2 to 4",
		               name, p->rank), -1;
	double rf = 1;
	for (int d = 2; d < p->rank; d++)
		rf *= p->dim[d];
	*fan_in = p->dim[1] * rf;
	*fan_out = p->dim[0] * rf;
	return 0;
}

int nn_init_uniform(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *name, float lo, float hi)
{
	int i = find(a, name);
	if (i < 0)
		return TG_CL_FAIL;
	return nn_rng_uniform_dev(ctx, r, nn_arena_param(a, i), a->p[i].numel, lo, hi);
}

int nn_init_normal(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *name, float mean, float std)
{
	int i = find(a, name);
	if (i < 0)
		return TG_CL_FAIL;
	return nn_rng_normal_dev(ctx, r, nn_arena_param(a, i), a->p[i].numel, mean, std);
}

int nn_init_constant(nn_ctx *ctx, nn_arena *a, const char *name, float value)
{
	int i = find(a, name);
	if (i < 0)
		return TG_CL_FAIL;
	return nn_fill(ctx, nn_arena_param(a, i), a->p[i].numel, value);
}

int nn_init_torch_default(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *weight,
                          const char *bias)
{
	double fan_in, fan_out;
	if (nn_init_fans(a, weight, &fan_in, &fan_out) < 0)
		return TG_CL_FAIL;
	/* kaiming_uniform_ with a = sqrt(5): gain sqrt(2 / (1 + 5)), bound
	 * sqrt(3) gain / sqrt(fan_in) = 1 / sqrt(fan_in). */
	float b = (float)(1.0 / sqrt(fan_in));
	int st = nn_init_uniform(ctx, r, a, weight, -b, b);
	if (st == TG_CL_OK && bias)
		st = nn_init_uniform(ctx, r, a, bias, -b, b);
	return st;
}

int nn_init_kaiming_normal_fan_out(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *name)
{
	double fan_in, fan_out;
	if (nn_init_fans(a, name, &fan_in, &fan_out) < 0)
		return TG_CL_FAIL;
	return nn_init_normal(ctx, r, a, name, 0.0f, (float)sqrt(2.0 / fan_out));
}

int nn_init_dcgan_conv(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *weight)
{
	return nn_init_normal(ctx, r, a, weight, 0.0f, 0.02f);
}

int nn_init_dcgan_bn(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *weight, const char *bias)
{
	int st = nn_init_normal(ctx, r, a, weight, 1.0f, 0.02f);
	if (st == TG_CL_OK && bias)
		st = nn_init_constant(ctx, a, bias, 0.0f);
	return st;
}
