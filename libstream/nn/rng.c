/* rng.c: Philox4x32-10 on the host and the device draws (see rng.h). */
#include <math.h>

#include "nn/internal.h"

/* Round constants of Philox4x32 (multipliers) and its Weyl key increments
 * (golden ratio and sqrt(3) - 1 in 32-bit fixed point), from the paper. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void nn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];
	for (int round = 0; round < 10; round++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
		uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
		c0 = hi1 ^ c1 ^ k0;
		c1 = lo1;
		c2 = hi0 ^ c3 ^ k1;
		c3 = lo0;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

static void block(uint64_t seed, uint64_t blk, uint32_t out[4])
{
	const uint32_t ctr[4] = { (uint32_t)blk, (uint32_t)(blk >> 32), 0, 0 };
	const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	nn_philox4x32_10(ctr, key, out);
}

uint32_t nn_rng_word(uint64_t seed, uint64_t index)
{
	uint32_t w[4];
	block(seed, index >> 2, w);
	return w[index & 3];
}

void nn_rng_init(nn_rng *r, uint64_t seed)
{
	r->seed = seed;
	r->counter = 0;
}

uint64_t nn_rng_advance(uint64_t counter, uint64_t words)
{
	return counter + ((words + 3) & ~(uint64_t)3);
}

void nn_rng_words(nn_rng *r, uint32_t *out, size_t n)
{
	uint64_t base = r->counter;   /* a multiple of 4 */
	uint32_t w[4];
	for (size_t i = 0; i < n; i++) {
		if ((i & 3) == 0)
			block(r->seed, (base >> 2) + (i >> 2), w);
		out[i] = w[i & 3];
	}
	r->counter = nn_rng_advance(base, n);
}

/* 2^-24: 24 random bits give every float in [0, 1) spaced 2^-24 apart. */
#define TWO_M24 5.9604644775390625e-08f

void nn_rng_uniform(nn_rng *r, float *out, size_t n, float lo, float hi)
{
	uint64_t base = r->counter;
	uint32_t w[4];
	float span = hi - lo;
	for (size_t i = 0; i < n; i++) {
		if ((i & 3) == 0)
			block(r->seed, (base >> 2) + (i >> 2), w);
		float u = (float)(w[i & 3] >> 8) * TWO_M24;
		out[i] = lo + span * u;
	}
	r->counter = nn_rng_advance(base, n);
}

void nn_rng_normal(nn_rng *r, float *out, size_t n, float mean, float std)
{
	uint64_t base = r->counter;
	uint32_t w[4];
	for (size_t i = 0; i < n; i += 2) {
		if ((i & 3) == 0)
			block(r->seed, (base >> 2) + (i >> 2), w);
		double u1 = ((double)(w[i & 3] >> 8) + 1.0) * TWO_M24;
		double u2 = (double)(w[(i & 3) + 1] >> 8) * TWO_M24;
		double rad = sqrt(-2.0 * log(u1));
		double th = 6.283185307179586 * u2;
		out[i] = mean + std * (float)(rad * cos(th));
		if (i + 1 < n)
			out[i + 1] = mean + std * (float)(rad * sin(th));
	}
	r->counter = nn_rng_advance(base, n + (n & 1));
}

/* ---- device draws (kernels/nn_rng.cl) ---- */

static int draw_dev(nn_ctx *ctx, const char *kname, int pairs, nn_rng *r, nn_buf out,
                    size_t n, float lo, float hi)
{
	if (n == 0)
		return TG_CL_OK;
	if (n > NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "%s: %zu values is too many", kname, n);
	cl_kernel k = nn_kernel(ctx, "nn_rng.cl", kname);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, out);
	nn_arg_int(&a, (int)n);
	nn_arg_ulong(&a, r->seed);
	nn_arg_ulong(&a, r->counter);
	nn_arg_float(&a, lo);
	nn_arg_float(&a, hi);
	/* Each work-item makes one block of four values. */
	int st = nn_launch1(ctx, k, kname, nn_args_end(&a, kname), (n + 3) / 4);
	if (st != TG_CL_OK)
		return st;
	uint64_t used = n;
	if (pairs)
		used += n & 1;
	r->counter = nn_rng_advance(r->counter, used);
	return TG_CL_OK;
}

int nn_rng_uniform_dev(nn_ctx *ctx, nn_rng *r, nn_buf out, size_t n, float lo, float hi)
{
	return draw_dev(ctx, "rng_uniform", 0, r, out, n, lo, hi);
}

int nn_rng_normal_dev(nn_ctx *ctx, nn_rng *r, nn_buf out, size_t n, float mean, float std)
{
	return draw_dev(ctx, "rng_normal", 1, r, out, n, mean, std);
}
