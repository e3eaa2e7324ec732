/* test_nn_util.h: helpers shared by the tests of the neural-network engine
 * (tests/unit/test_nn_*.c). */
#ifndef TOMOGAN_TEST_NN_UTIL_H
#define TOMOGAN_TEST_NN_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/nn.h"
#include "nn/ops.h"

/* The error measure of every device-vs-reference and PyTorch comparison:
 * max_i |a_i - r_i| / max(max_i |r_i|, 1e-6), i.e. the largest difference
 * relative to the largest reference magnitude of the tensor.  NaN anywhere
 * gives infinity. */
__attribute__((unused))
static double nn_err(const float *a, const float *r, size_t n)
{
	double d = 0, m = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)a[i] - (double)r[i]);
		if (isnan(e))
			return INFINITY;
		if (e > d)
			d = e;
		if (fabs((double)r[i]) > m)
			m = fabs((double)r[i]);
	}
	return d / (m > 1e-6 ? m : 1e-6);
}

__attribute__((unused))
static float *nn_test_alloc(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(70);
	}
	return p;
}

/* n values uniform in [lo, hi) from the engine's generator. */
__attribute__((unused))
static float *nn_test_uniform(nn_rng *r, size_t n, float lo, float hi)
{
	float *p = nn_test_alloc(n);
	nn_rng_uniform(r, p, n, lo, hi);
	return p;
}

__attribute__((unused))
static float *nn_test_copy(const float *src, size_t n)
{
	float *p = nn_test_alloc(n);
	memcpy(p, src, n * sizeof(float));
	return p;
}

/* The device, or NULL after printing a SKIP line (no OpenCL device). */
__attribute__((unused))
static nn_ctx *nn_test_ctx(const char *test)
{
	static nn_ctx ctx;
	tg_cl *cl = NULL;
	if (tg_cl_init(&cl) != TG_CL_OK) {
		printf("SKIP %s: no OpenCL device: %s\n", test, tg_cl_error());
		return NULL;
	}
	if (nn_ctx_init(&ctx, cl) != TG_CL_OK) {
		check(0, "%s: nn_ctx_init: %s", test, nn_error());
		return NULL;
	}
	return &ctx;
}

/* A device copy of host[n] (exits on failure: tests only). */
__attribute__((unused))
static nn_buf nn_test_up(nn_ctx *ctx, const float *host, size_t n)
{
	cl_mem m = nn_alloc(ctx, n, host);
	if (!m) {
		fprintf(stderr, "device buffer: %s\n", nn_error());
		exit(70);
	}
	return nn_buf_of(m, 0);
}

/* host[n] from the device (NaN-filled on failure, so the test fails). */
__attribute__((unused))
static float *nn_test_down(nn_ctx *ctx, nn_buf b, size_t n)
{
	float *p = nn_test_alloc(n);
	if (nn_read(ctx, p, b, n) != TG_CL_OK) {
		fprintf(stderr, "read: %s\n", nn_error());
		for (size_t i = 0; i < n; i++)
			p[i] = NAN;
	}
	return p;
}

__attribute__((unused))
static void nn_test_free(nn_buf b)
{
	if (b.mem)
		clReleaseMemObject(b.mem);
}

#endif
