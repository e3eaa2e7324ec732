/* bench_nn_gp: the WGAN-GP critic step with the penalty's exact gradient
 * (nn/gp.h) against the plain critic step without a penalty, on the 64x64
 * critic of perf-anchors.md (conv 1->64 3x3 s2 p1, LeakyReLU 0.2,
 * conv 64->128 3x3 s2 p1, LeakyReLU 0.2, linear 32768 -> 1), batch B.
 *
 *   plain  forward of [real; fake] (2B rows) and backward with parameter
 *          gradients, no input gradient: the WGAN critic step
 *   gp     nn_gp_critic_step: forward and backward of 3B rows, g to the
 *          host, tangent forward of B rows, parameter gradients
 * Each figure is the median of the repetitions filling the time budget
 * (at least 3) after one warm-up; every repetition ends with the device
 * finished.  Built and run by bench_nn_gp.sh.
 *
 * usage: bench_nn_gp [-b batch] [-s seconds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
#include <unistd.h>

#include "cli.h"
#include "nn/gp.h"
#include "nn/ops.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static nn_ctx ctx;
static nn_seq D;
static nn_arena A;
static nn_seq_ws ws;
static nn_gp gp;
static nn_buf X, dy;
static float *alpha;
static int B;

static void die(const char *what)
{
	fprintf(stderr, "bench_nn_gp: %s: %s\n", what, nn_error());
	exit(70);
}

static int plain(void)
{
	int st = nn_arena_zero_grad(&ctx, &A);
	if (!st)
		st = nn_seq_forward(&ctx, &D, &ws, X, 2 * B);
	if (!st)
		st = nn_seq_backward(&ctx, &D, &ws, NN_NONE, dy, 0);
	return st ? st : tg_cl_finish(ctx.cl);
}

static int with_gp(void)
{
	nn_gp_stats s;
	int st = nn_arena_zero_grad(&ctx, &A);
	if (!st)
		st = nn_gp_critic_step(&ctx, &gp, X, nn_at(X, (size_t)B * 64 * 64), alpha, B, &s);
	return st ? st : tg_cl_finish(ctx.cl);
}

static double median_time(int (*f)(void), double budget)
{
	if (f())
		die("warm-up");
	double t[100];
	int n = 0;
	double start = now();
	while (n < 100 && (n < 3 || now() - start < budget)) {
		double t0 = now();
		if (f())
			die("run");
		t[n++] = now() - t0;
	}
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	return t[n / 2];
}

int main(int argc, char **argv)
{
	/* tg_init: OpenBLAS's fast kernels on CPUs it does not recognise (cli.c) */
	tg_init(argc, argv, "bench_nn_gp", "bench_nn_gp");
	double budget = 3;
	int opt;
	B = 64;
	while ((opt = getopt(argc, argv, "b:s:")) != -1) {
		if (opt == 'b')
			B = atoi(optarg);
		else if (opt == 's')
			budget = atof(optarg);
		else {
			fprintf(stderr, "usage: bench_nn_gp [-b batch] [-s seconds]\n");
			return 64;
		}
	}
	if (B < 1 || B > 4096 || !(budget > 0)) {
		fprintf(stderr, "usage: bench_nn_gp [-b batch] [-s seconds]\n");
		return 64;
	}
	tg_cl *cl;
	if (tg_cl_init(&cl) != TG_CL_OK) {
		fprintf(stderr, "bench_nn_gp: no OpenCL device: %s\n", tg_cl_error());
		return 69;
	}
	if (nn_ctx_init(&ctx, cl))
		die("context");
	nn_arena_init(&A);
	if (nn_seq_init(&D, &A, "D", 1, 64, 64) || nn_seq_conv2d(&D, 64, 3, 3, 2, 2, 1, 1, 1) < 0 ||
	    nn_seq_leaky_relu(&D, 0.2f) < 0 || nn_seq_conv2d(&D, 128, 3, 3, 2, 2, 1, 1, 1) < 0 ||
	    nn_seq_leaky_relu(&D, 0.2f) < 0 || nn_seq_flatten(&D) < 0 || nn_seq_linear(&D, 1, 1) < 0)
		die("critic");
	if (nn_arena_alloc(&ctx, &A) || nn_seq_ws_alloc(&ctx, &D, &ws, 2 * B, 0) ||
	    nn_gp_init(&ctx, &gp, &D, B, 10.0f))
		die("setup");
	nn_rng r;
	nn_rng_init(&r, 1);
	for (int i = 0; i < A.n; i++) {
		size_t fan = A.p[i].rank > 1 ? A.p[i].numel / (size_t)A.p[i].dim[0] : 64;
		float bnd = 1.0f / sqrtf((float)fan);
		if (nn_rng_uniform_dev(&ctx, &r, nn_arena_param(&A, i), A.p[i].numel, -bnd, bnd))
			die("init");
	}
	size_t nx = 2 * (size_t)B * 64 * 64;
	cl_mem xm = nn_alloc(&ctx, nx, NULL), dm = nn_alloc(&ctx, 2 * (size_t)B, NULL);
	if (!xm || !dm)
		die("buffers");
	X = nn_buf_of(xm, 0);
	dy = nn_buf_of(dm, 0);
	if (nn_rng_uniform_dev(&ctx, &r, X, nx, -1, 1) ||
	    nn_fill(&ctx, dy, (size_t)B, -1.0f / B) ||
	    nn_fill(&ctx, nn_at(dy, (size_t)B), (size_t)B, 1.0f / B))
		die("data");
	alpha = malloc((size_t)B * sizeof *alpha);
	nn_rng_uniform(&r, alpha, (size_t)B, 0, 1);
	double tp = median_time(plain, budget), tg = median_time(with_gp, budget);
	printf("WGAN-GP 64x64 critic, batch %d, device %s\n", B, cl->name);
	printf("plain critic step (forward + backward of 2B): %8.1f ms\n", 1e3 * tp);
	printf("critic step with exact GP gradient:            %8.1f ms\n", 1e3 * tg);
	printf("ratio gp / plain: %.2f\n", tg / tp);
	return 0;
}
