/* test_nn_rng: the engine's Philox4x32-10 generator (nn/rng.h): known-answer
 * vectors, stream layout, fixed values, moments, and host/device agreement. */
#include <stdint.h>

#include "test_nn_util.h"

/* Known-answer vectors of Philox4x32-10 as published with the Random123
 * library (kat_vectors): counter, key, output. */
static const uint32_t kat[3][10] = {
	{ 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
	{ 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
	  0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
	{ 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
	  0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
};

static void test_kat(void)
{
	for (int i = 0; i < 3; i++) {
		uint32_t out[4];
		nn_philox4x32_10(kat[i], kat[i] + 4, out);
		check(memcmp(out, kat[i] + 6, sizeof out) == 0,
		      "philox4x32-10 known-answer vector %d (%08x %08x %08x %08x)", i, out[0], out[1],
		      out[2], out[3]);
	}
}

static void test_layout(void)
{
	/* Word j is lane j%4 of block j/4 with the seed as key. */
	uint64_t seed = 0x0123456789abcdefULL;
	uint32_t ctr[4] = { 5, 0, 0, 0 }, key[2] = { 0x89abcdef, 0x01234567 }, blk[4];
	nn_philox4x32_10(ctr, key, blk);
	int ok = 1;
	for (int j = 0; j < 4; j++)
		ok &= nn_rng_word(seed, 20 + (uint64_t)j) == blk[j];
	check(ok, "word 20..23 of a seed = philox(counter 5, key seed)");

	/* Draws start on fresh blocks: 5 words use 8, then the next draw
	 * begins at word 8. */
	nn_rng r;
	nn_rng_init(&r, seed);
	uint32_t a[5], b[3];
	nn_rng_words(&r, a, 5);
	nn_rng_words(&r, b, 3);
	ok = r.counter == 12;
	for (int j = 0; j < 5; j++)
		ok &= a[j] == nn_rng_word(seed, (uint64_t)j);
	for (int j = 0; j < 3; j++)
		ok &= b[j] == nn_rng_word(seed, 8 + (uint64_t)j);
	check(ok, "draws of 5 and 3 words take words 0-4 and 8-10, counter 12 (got %llu)",
	      (unsigned long long)r.counter);

	/* Same seed, same bits; another seed, other bits. */
	nn_rng r1, r2, r3;
	nn_rng_init(&r1, 7);
	nn_rng_init(&r2, 7);
	nn_rng_init(&r3, 8);
	float x1[64], x2[64], x3[64];
	nn_rng_normal(&r1, x1, 64, 0, 1);
	nn_rng_normal(&r2, x2, 64, 0, 1);
	nn_rng_normal(&r3, x3, 64, 0, 1);
	check(memcmp(x1, x2, sizeof x1) == 0 && memcmp(x1, x3, sizeof x1) != 0,
	      "same seed gives the same normals, another seed others");
}

static void test_fixed_values(void)
{
	/* Regression values for seed 42 (computed once from the formulas in
	 * rng.h, which the known-answer vectors above pin down). */
	nn_rng r;
	nn_rng_init(&r, 42);
	float u[6], z[6];
	nn_rng_uniform(&r, u, 6, 0, 1);
	nn_rng_normal(&r, z, 6, 0, 1);
	uint32_t w0 = nn_rng_word(42, 0), w8 = nn_rng_word(42, 8), w9 = nn_rng_word(42, 9);
	double u0 = (double)(w0 >> 8) / 16777216.0;
	double u1 = ((double)(w8 >> 8) + 1) / 16777216.0, u2 = (double)(w9 >> 8) / 16777216.0;
	double z0 = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
	check(u[0] == (float)u0 && fabs(z[0] - z0) < 1e-6,
	      "value formulas: u[0] %.9g (want %.9g), z[0] %.9g (want %.9g)", u[0], u0, z[0], z0);
	static const float want_u[6] = { 0x1.39d5ep-1f, 0x1.dfd524p-2f, 0x1.2bf5p-4f,
	                                 0x1.5d0accp-2f, 0x1.f9b642p-1f, 0x1.4ee9bp-2f };
	int ok = 1;
	for (int i = 0; i < 6; i++)
		ok &= u[i] == want_u[i];
	check(ok, "seed 42: first uniforms %a %a %a %a %a %a", u[0], u[1], u[2], u[3], u[4], u[5]);
}

static void test_moments(void)
{
	enum { N = 1000000 };
	float *x = nn_test_alloc(N);
	nn_rng r;
	nn_rng_init(&r, 2024);
	nn_rng_uniform(&r, x, N, 0, 1);
	double s = 0, s2 = 0, lo = 1, hi = 0;
	for (int i = 0; i < N; i++) {
		s += x[i];
		s2 += (double)x[i] * x[i];
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
	}
	double m = s / N, v = s2 / N - m * m;
	/* Standard errors at 1e6 samples: mean 2.9e-4, variance 7.5e-5;
	 * the bounds are about 5 of them. */
	check(fabs(m - 0.5) < 1.5e-3 && fabs(v - 1.0 / 12) < 4e-4 && lo >= 0 && hi < 1,
	      "uniform: mean %.5f (0.5 +- 1.5e-3), variance %.5f (1/12 +- 4e-4), range [%g, %g]",
	      m, v, lo, hi);

	nn_rng_normal(&r, x, N, 0, 1);
	double s3 = 0, s4 = 0;
	s = s2 = 0;
	for (int i = 0; i < N; i++) {
		double t = x[i];
		s += t;
		s2 += t * t;
		s3 += t * t * t;
		s4 += t * t * t * t;
	}
	m = s / N;
	v = s2 / N - m * m;
	double skew = s3 / N, kurt = s4 / N;
	/* Standard errors: mean 1e-3, variance 1.4e-3, third moment 2.4e-3,
	 * fourth moment 9.8e-3. */
	check(fabs(m) < 5e-3 && fabs(v - 1) < 7e-3 && fabs(skew) < 1.2e-2 && fabs(kurt - 3) < 5e-2,
	      "normal: mean %.5f, variance %.5f, E[x^3] %.4f, E[x^4] %.4f (0, 1, 0, 3)", m, v, skew,
	      kurt);

	nn_rng_normal(&r, x, 1001, 3, 0.5f);
	s = 0;
	for (int i = 0; i < 1001; i++)
		s += x[i];
	check(fabs(s / 1001 - 3) < 0.08, "normal(3, 0.5): mean of 1001 values %.4f (3 +- 0.08)",
	      s / 1001);
	free(x);
}

static void test_device(void)
{
	nn_ctx *ctx = nn_test_ctx("rng on the device");
	if (!ctx)
		return;
	enum { N = 1003 };
	nn_rng host, dev;
	nn_rng_init(&host, 99);
	nn_rng_init(&dev, 99);
	float warm[7];
	nn_rng_uniform(&host, warm, 7, 0, 1);   /* counter 8 on both */
	dev.counter = host.counter;
	float *hu = nn_test_alloc(N), *hz = nn_test_alloc(N);
	nn_rng_uniform(&host, hu, N, -0.3f, 0.7f);
	nn_rng_normal(&host, hz, N, 0.5f, 2.0f);
	nn_buf b = nn_test_up(ctx, NULL, N + 5);
	int st = nn_rng_uniform_dev(ctx, &dev, nn_at(b, 5), N, -0.3f, 0.7f);
	float *du = nn_test_down(ctx, nn_at(b, 5), N);
	if (st == TG_CL_OK)
		st = nn_rng_normal_dev(ctx, &dev, nn_at(b, 5), N, 0.5f, 2.0f);
	float *dz = nn_test_down(ctx, nn_at(b, 5), N);
	check(st == TG_CL_OK, "device draws run (%s)", st == TG_CL_OK ? "ok" : nn_error());
	check(memcmp(hu, du, N * sizeof(float)) == 0, "device uniforms are bit-identical to the host's");
	double e = nn_err(dz, hz, N);
	check(e < 1e-6 && dev.counter == host.counter,
	      "device normals match the host's (error %.2g, tolerance 1e-6; counters %llu %llu)", e,
	      (unsigned long long)dev.counter, (unsigned long long)host.counter);
	/* Same seed, same device, same bits. */
	nn_rng again;
	nn_rng_init(&again, 99);
	again.counter = 8 + 1004;
	st = nn_rng_normal_dev(ctx, &again, b, N, 0.5f, 2.0f);
	float *dz2 = nn_test_down(ctx, b, N);
	check(st == TG_CL_OK && memcmp(dz, dz2, N * sizeof(float)) == 0,
	      "device normals repeat bit for bit");
	nn_test_free(b);
	free(hu);
	free(hz);
	free(du);
	free(dz);
	free(dz2);
}

int main(void)
{
	test_kat();
	test_layout();
	test_fixed_values();
	test_moments();
	test_device();
	return check_finish();
}
