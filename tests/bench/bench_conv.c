/* bench_conv: GFLOP/s of the engine's conv2d (nn/ops.h) on the WGAN-GP 64x64
 * layers at batch 64 and on SRCNN 9-1-5, next to raw OpenBLAS sgemm 1024^3
 * on host arrays, tg_gemm 1024^3 on device buffers and a device copy, all
 * in one run.
 * Built and run by bench_conv.sh.
 *
 * usage: bench_conv [-s seconds] [-c columns] [-q] [-l layer] [-d 0|1] [-p 0|1] [-m 0|1]
 *   -s  time budget per measurement (default 1): the figure is the median
 *       of the repetitions filling it (at least 3) after one warm-up call
 *   -c  ctx->col_cols, the im2col tile width (default: the engine's)
 *   -q  only the first WGAN-GP layer and the SRCNN training step
 *   -l  only the layers whose name contains this text (and no SRCNN step);
 *       the 256x256 generator's layers ("G256") run only when asked so
 *   -d  0: one-channel layers through the GEMM paths (ctx->conv_direct = 0)
 *   -p  0: the forward of shifted convs by GEMMs per tap, not the direct
 *       kernel on the phase planes (ctx->conv_planes = 0)
 *   -m  0|1: the direct and planes kernels for convs with 8 or more input
 *       and output channels off or on (ctx->conv_multi; default: on where
 *       the device's native float vector is 16 wide)
 * The first line is the CPU's FMA peak: one thread per online CPU, each
 * running 12 independent chains of 16-lane (AVX-512) or 8-lane (AVX2)
 * FMAs from registers, the widest the CPU has; OpenBLAS's sgemm and the
 * layers are measured against it as well as against sgemm.  Then a copy
 * between two device buffers of 64 MiB (nn_copy_channels), the memory
 * ceiling for layers whose bytes moved, not FLOPs, bound them.
 * FLOPs: a conv forward counts 2*B*OC*OH*OW*C*KH*KW; its backward twice
 * that (data and weight gradients), once when the data gradient is
 * skipped (the first layer); bias terms are not counted.  Shapes: the
 * generator and critic of perf-anchors.md 2a and its addendum; SRCNN
 * 9-1-5 with 'same' padding (4, 0, 2) as in perf-anchors.md 2b.
 * After a layer's fwd+bwd GFLOP/s: /gemm, its share of this run's sgemm;
 * mem, the GFLOP/s at which moving the layer's unavoidable bytes (x and y
 * in the forward; dy, x and, if computed, dx in the backward) at this
 * run's copy rate would take all its time; /roof, its share of the lower
 * of mem and sgemm (a roofline).  Where mem is the lower, the layer's
 * bytes, not its FLOPs, bound it on this machine. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <pthread.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cli.h"
#include "nn/nn.h"
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
static double budget = 1.0;
/* this run's OpenBLAS sgemm (GFLOP/s) and device copy (GB/s, bytes read
 * + written), the layers' yardsticks */
static double sgemm_gflops, copy_gbs;
static const char *only;   /* -l */
static const char usage[] = "usage: bench_conv [-s seconds] [-c columns] [-q] [-l layer] [-d 0|1] "
                            "[-p 0|1] [-m 0|1]\n";

static void die(const char *what)
{
	fprintf(stderr, "bench_conv: %s: %s\n", what, nn_error());
	exit(70);
}

typedef int (*job)(void *arg);

/* Median seconds of f (each call ends with the device finished). */
static double median_time(job f, void *arg)
{
	if (f(arg) || tg_cl_finish(ctx.cl))
		die("warm-up");
	double t[100];
	int n = 0;
	double start = now();
	while (n < 100 && (n < 3 || now() - start < budget)) {
		double t0 = now();
		if (f(arg) || tg_cl_finish(ctx.cl))
			die("run");
		t[n++] = now() - t0;
	}
	qsort(t, (size_t)n, sizeof t[0], cmp_double);
	return t[n / 2];
}

static cl_mem dev_random(size_t n, nn_rng *r, float scale)
{
	cl_mem m = nn_alloc(&ctx, n, NULL);
	if (!m || nn_rng_uniform_dev(&ctx, r, nn_buf_of(m, 0), n, -scale, scale))
		die("device buffer");
	return m;
}

/* ---- raw GEMM ceilings ---- */

struct gemm_job {
	float *a, *b, *c;
	cl_mem A, B, C;
	int n;
};

static int host_gemm(void *arg)
{
	struct gemm_job *j = arg;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->n, j->n, j->n, 1.0f, j->a, j->n,
	            j->b, j->n, 0.0f, j->c, j->n);
	return 0;
}

static int dev_gemm(void *arg)
{
	struct gemm_job *j = arg;
	size_t n = (size_t)j->n;
	return tg_gemm(ctx.cl, 0, 0, n, n, n, 1.0f, j->A, 0, n, j->B, 0, n, 0.0f, j->C, 0, n);
}

/* ---- the FMA peak ---- */

#define PEAK_ITERS 20000000L   /* per thread: 12 FMAs each */

/* 12 named accumulators (an array stays in memory at -O2) */
#define PEAK_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static float peak_avx512(void)
{
	__m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
#define P512_INIT(i) __m512 a##i = _mm512_set1_ps((float)i);
#define P512_FMA(i) a##i = _mm512_fmadd_ps(a##i, m, c);
#define P512_SUM(i) s += _mm512_reduce_add_ps(a##i);
	PEAK_EACH(P512_INIT)
	for (long n = 0; n < PEAK_ITERS; n++) {
		PEAK_EACH(P512_FMA)
	}
	float s = 0;
	PEAK_EACH(P512_SUM)
	return s;
}

__attribute__((target("avx2,fma"))) static float peak_avx2(void)
{
	__m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
#define P256_INIT(i) __m256 a##i = _mm256_set1_ps((float)i);
#define P256_FMA(i) a##i = _mm256_fmadd_ps(a##i, m, c);
#define P256_SUM(i) _mm256_storeu_ps(t, a##i), s += t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
	PEAK_EACH(P256_INIT)
	for (long n = 0; n < PEAK_ITERS; n++) {
		PEAK_EACH(P256_FMA)
	}
	float t[8], s = 0;
	PEAK_EACH(P256_SUM)
	return s;
}
#endif

static int peak_lanes(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return 16;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return 8;
#endif
	return 0;
}

static volatile float peak_sink;

static void *peak_thread(void *arg)
{
#if defined(__x86_64__)
	peak_sink = *(int *)arg == 16 ? peak_avx512() : peak_avx2();
#else
	(void)arg;
#endif
	return NULL;
}

static void bench_peak(void)
{
	int lanes = peak_lanes();
	long nt = sysconf(_SC_NPROCESSORS_ONLN);
	if (!lanes || nt < 1 || nt > 64) {
		printf("%-44s (no AVX2/AVX-512 FMA: not measured)\n", "FMA peak");
		return;
	}
	pthread_t t[64];
	double best = 1e30;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		long ok = 0;
		for (long i = 0; i < nt; i++)
			ok += pthread_create(&t[i], NULL, peak_thread, &lanes) == 0;
		for (long i = 0; i < ok; i++)
			pthread_join(t[i], NULL);
		double dt = now() - t0;
		if (ok == nt && dt < best)
			best = dt;
	}
	char name[64];
	snprintf(name, sizeof name, "FMA peak, %ld threads x %d lanes", nt, lanes);
	if (best == 1e30) {
		printf("%-44s (threads could not be started: not measured)\n", name);
		return;
	}
	printf("%-44s %9.2f ms %7.1f GFLOP/s\n", name, 1e3 * best,
	       2.0 * 12 * lanes * PEAK_ITERS * nt / best * 1e-9);
}

static void bench_gemm(nn_rng *r)
{
	struct gemm_job j = { .n = 1024 };
	size_t n2 = (size_t)j.n * j.n;
	j.a = malloc(n2 * sizeof(float));
	j.b = malloc(n2 * sizeof(float));
	j.c = malloc(n2 * sizeof(float));
	if (!j.a || !j.b || !j.c)
		die("out of memory");
	nn_rng_uniform(r, j.a, n2, -1, 1);
	nn_rng_uniform(r, j.b, n2, -1, 1);
	j.A = dev_random(n2, r, 1);
	j.B = dev_random(n2, r, 1);
	j.C = dev_random(n2, r, 1);
	double flop = 2.0 * j.n * j.n * j.n;
	double th = median_time(host_gemm, &j), td = median_time(dev_gemm, &j);
	sgemm_gflops = flop / th * 1e-9;
	printf("%-44s %9.2f ms %7.1f GFLOP/s\n", "OpenBLAS sgemm 1024^3, host arrays", 1e3 * th,
	       sgemm_gflops);
	printf("%-44s %9.2f ms %7.1f GFLOP/s\n", "tg_gemm 1024^3, device buffers", 1e3 * td,
	       flop / td * 1e-9);
	free(j.a), free(j.b), free(j.c);
	clReleaseMemObject(j.A), clReleaseMemObject(j.B), clReleaseMemObject(j.C);
}

/* ---- memory: a device copy, the ceiling of layers that move more bytes
 * per FLOP than the caches can hold (the one-channel layers) ---- */

struct copy_job {
	cl_mem a, b;
	int n;
};

static int dev_copy(void *arg)
{
	struct copy_job *j = arg;
	return nn_copy_channels(&ctx, nn_buf_of(j->b, 0), 1, 0, nn_buf_of(j->a, 0), 1, 0, 1, 1,
	                        j->n);
}

static void bench_copy(nn_rng *r)
{
	struct copy_job j = { .n = 16 << 20 };
	j.a = dev_random((size_t)j.n, r, 1);
	j.b = dev_random((size_t)j.n, r, 1);
	double t = median_time(dev_copy, &j);
	copy_gbs = 2.0 * 4 * j.n / t * 1e-9;
	printf("%-44s %9.2f ms %7.1f GB/s\n", "device copy 64 MiB, bytes read + written", 1e3 * t,
	       copy_gbs);
	clReleaseMemObject(j.a), clReleaseMemObject(j.b);
}

/* ---- one conv layer ---- */

struct conv_job {
	nn_conv2d g;
	cl_mem x, w, b, y, dy, dx, dw, db;
	int want_dx;
};

static int conv_fwd(void *arg)
{
	struct conv_job *j = arg;
	return nn_conv2d_forward(&ctx, &j->g, nn_buf_of(j->y, 0), nn_buf_of(j->x, 0),
	                         nn_buf_of(j->w, 0), nn_buf_of(j->b, 0));
}

static int conv_bwd(void *arg)
{
	struct conv_job *j = arg;
	return nn_conv2d_backward(&ctx, &j->g, j->want_dx ? nn_buf_of(j->dx, 0) : NN_NONE,
	                          nn_buf_of(j->dw, 0), nn_buf_of(j->db, 0), nn_buf_of(j->dy, 0),
	                          nn_buf_of(j->x, 0), nn_buf_of(j->w, 0));
}

static void conv_setup(struct conv_job *j, nn_rng *r, int B, int C, int H, int W, int OC, int K,
                       int S, int P, int want_dx)
{
	if (nn_conv2d_shape(&j->g, B, C, H, W, OC, K, K, S, S, P, P))
		die("shape");
	size_t nx = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K;
	size_t ny = (size_t)B * OC * j->g.OH * j->g.OW;
	j->x = dev_random(nx, r, 1);
	j->w = dev_random(nw, r, 0.1f);
	j->b = dev_random((size_t)OC, r, 0.1f);
	j->y = dev_random(ny, r, 1);
	j->dy = dev_random(ny, r, 1);
	j->dx = dev_random(nx, r, 1);
	j->dw = dev_random(nw, r, 1);
	j->db = dev_random((size_t)OC, r, 1);
	j->want_dx = want_dx;
}

static void conv_free(struct conv_job *j)
{
	cl_mem m[8] = { j->x, j->w, j->b, j->y, j->dy, j->dx, j->dw, j->db };
	for (int i = 0; i < 8; i++)
		clReleaseMemObject(m[i]);
}

static double conv_flop(const nn_conv2d *g)
{
	return 2.0 * g->B * g->OC * g->OH * g->OW * (double)g->C * g->KH * g->KW;
}

static void bench_layer(const char *name, nn_rng *r, int B, int C, int H, int W, int OC, int K,
                        int S, int P, int want_dx)
{
	if (only && !strstr(name, only))
		return;
	struct conv_job j;
	conv_setup(&j, r, B, C, H, W, OC, K, S, P, want_dx);
	double f = conv_flop(&j.g);
	double tf = median_time(conv_fwd, &j), tb = median_time(conv_bwd, &j);
	double fb = f * (want_dx ? 2 : 1), gf = (f + fb) / (tf + tb) * 1e-9;
	/* the bytes no implementation can avoid where the tensors outgrow
	 * the caches (the one-channel GAN layers' y, dy or x: 67 MB): x read
	 * and y written by the forward; dy and x read and dx written (if
	 * asked for) by the backward.  At the copy's rate they bound the
	 * layer at mem GFLOP/s; the last figure is the layer's share of the
	 * lower of that and sgemm */
	double nx = (double)j.g.B * j.g.C * j.g.H * j.g.W, ny = (double)j.g.B * j.g.OC * j.g.OH * j.g.OW;
	double bytes = 4 * (nx + ny + ny + nx + (want_dx ? nx : 0));
	double mem = (f + fb) / (bytes / (copy_gbs * 1e9)) * 1e-9;
	double roof = mem < sgemm_gflops ? mem : sgemm_gflops;
	printf("%-44s %8.1f ms %6.1f | %8.1f ms %6.1f | %6.1f GFLOP/s %5.2f %6.0f %5.2f\n", name,
	       1e3 * tf, f / tf * 1e-9, 1e3 * tb, fb / tb * 1e-9, gf, gf / sgemm_gflops, mem,
	       gf / roof);
	conv_free(&j);
}

/* ---- SRCNN 9-1-5: a whole training step and inference ---- */

struct srcnn {
	struct conv_job l[3];
};

static int srcnn_forward(void *arg)
{
	struct srcnn *s = arg;
	for (int i = 0; i < 3; i++) {
		struct conv_job *j = &s->l[i];
		nn_buf x = i ? nn_buf_of(s->l[i - 1].y, 0) : nn_buf_of(j->x, 0);
		int st = nn_conv2d_forward(&ctx, &j->g, nn_buf_of(j->y, 0), x, nn_buf_of(j->w, 0),
		                           nn_buf_of(j->b, 0));
		if (!st && i < 2) {
			size_t n = (size_t)j->g.B * j->g.OC * j->g.OH * j->g.OW;
			st = nn_relu_forward(&ctx, nn_buf_of(j->y, 0), nn_buf_of(j->y, 0), n);
		}
		if (st)
			return st;
	}
	return 0;
}

/* Forward, MSE gradient against the input as target, backward (no data
 * gradient for the first layer); the optimizer step is not included. */
static int srcnn_step(void *arg)
{
	struct srcnn *s = arg;
	int st = srcnn_forward(s);
	struct conv_job *last = &s->l[2];
	int n = last->g.B * last->g.OH * last->g.OW;
	if (!st)
		st = nn_mse_backward(&ctx, nn_buf_of(last->dy, 0), nn_buf_of(last->y, 0),
		                     nn_buf_of(s->l[0].x, 0), 0, n, 1.0f);
	for (int i = 2; i >= 0 && !st; i--) {
		struct conv_job *j = &s->l[i];
		nn_buf x = i ? nn_buf_of(s->l[i - 1].y, 0) : nn_buf_of(j->x, 0);
		nn_buf dx = i ? nn_buf_of(s->l[i - 1].dy, 0) : NN_NONE;
		st = nn_conv2d_backward(&ctx, &j->g, dx, nn_buf_of(j->dw, 0), nn_buf_of(j->db, 0),
		                        nn_buf_of(j->dy, 0), x, nn_buf_of(j->w, 0));
		if (!st && i) {
			size_t m = (size_t)j->g.B * j->g.C * j->g.H * j->g.W;
			st = nn_relu_backward(&ctx, dx, dx, x, m);
		}
	}
	return st;
}

static void srcnn_setup(struct srcnn *s, nn_rng *r, int B, int H, int W)
{
	conv_setup(&s->l[0], r, B, 1, H, W, 64, 9, 1, 4, 0);
	conv_setup(&s->l[1], r, B, 64, H, W, 32, 1, 1, 0, 1);
	conv_setup(&s->l[2], r, B, 32, H, W, 1, 5, 1, 2, 1);
}

static void bench_srcnn(nn_rng *r, int quick)
{
	/* Per layer at training size, then the whole step. */
	if (!quick) {
		bench_layer("SRCNN conv 9x9 1->64, 128 x 33^2 (no dx)", r, 128, 1, 33, 33, 64, 9, 1, 4, 0);
		bench_layer("SRCNN conv 1x1 64->32, 128 x 33^2", r, 128, 64, 33, 33, 32, 1, 1, 0, 1);
		bench_layer("SRCNN conv 5x5 32->1, 128 x 33^2", r, 128, 32, 33, 33, 1, 5, 1, 2, 1);
		bench_layer("SRCNN conv 1x1 64->32, 4 x 256^2", r, 4, 64, 256, 256, 32, 1, 1, 0, 1);
		bench_layer("SRCNN conv 5x5 32->1, 4 x 256^2", r, 4, 32, 256, 256, 1, 5, 1, 2, 1);
	}
	if (only)
		return;
	struct srcnn s;
	srcnn_setup(&s, r, 128, 33, 33);
	double t = median_time(srcnn_step, &s);
	double pix = 128.0 * 33 * 33;
	printf("%-44s %8.1f ms = %.0f patches/s, %.1f GFLOP/s (37,824 FLOP/pixel)\n",
	       "SRCNN training step (fwd+bwd), 128 x 33^2", 1e3 * t, 128 / t, 37824 * pix / t * 1e-9);
	for (int i = 0; i < 3; i++)
		conv_free(&s.l[i]);
	if (quick)
		return;
	srcnn_setup(&s, r, 16, 256, 256);
	t = median_time(srcnn_forward, &s);
	pix = 16.0 * 256 * 256;
	printf("%-44s %8.1f ms = %.2f MP/s, %.1f GFLOP/s (16,064 FLOP/pixel)\n",
	       "SRCNN inference, 16 x 256^2", 1e3 * t, pix / t * 1e-6, 16064 * pix / t * 1e-9);
	for (int i = 0; i < 3; i++)
		conv_free(&s.l[i]);
}

int main(int argc, char **argv)
{
	/* tg_init: OpenBLAS's fast kernels on CPUs it does not recognise (cli.c) */
	tg_init(argc, argv, "bench_conv", "bench_conv");
	int quick = 0, direct = 1, planes = 1, multi = -1, c;
	long cols = 0;
	while ((c = getopt(argc, argv, "s:c:ql:d:p:m:")) != -1) {
		switch (c) {
		case 's':
			budget = strtod(optarg, NULL);
			break;
		case 'c':
			cols = strtol(optarg, NULL, 10);
			break;
		case 'q':
			quick = 1;
			break;
		case 'l':
			only = optarg;
			break;
		case 'd':
			direct = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			planes = (int)strtol(optarg, NULL, 10);
			break;
		case 'm':
			multi = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fputs(usage, stderr);
			return 64;
		}
	}
	if (!(budget > 0) || cols < 0 || (direct != 0 && direct != 1) || (planes != 0 && planes != 1) ||
	    (multi != -1 && multi != 0 && multi != 1)) {
		fputs(usage, stderr);
		return 64;
	}
	tg_cl *cl;
	if (tg_cl_init(&cl) != TG_CL_OK) {
		fprintf(stderr, "bench_conv: %s\n", tg_cl_error());
		return 69;
	}
	if (nn_ctx_init(&ctx, cl))
		die("context");
	if (cols)
		ctx.col_cols = (size_t)cols;
	ctx.conv_direct = direct;
	ctx.conv_planes = planes;
	if (multi >= 0)
		ctx.conv_multi = multi;
	printf("device: %s (native float vector %u wide); GEMM backend: %s; im2col tiles of %zu "
	       "columns; many-channel direct kernels %s; median of >= 3 runs within %.1f s each\n",
	       cl->name, cl->vec_width,
	       tg_gemm_get_backend(cl) == TG_GEMM_OPENBLAS ? "OpenBLAS (mapped)" : "CLBlast",
	       ctx.col_cols, ctx.conv_multi ? "on" : "off", budget);
	nn_rng r;
	nn_rng_init(&r, 1);
	bench_peak();
	bench_gemm(&r);
	bench_copy(&r);
	printf("%-44s %-18s | %-18s | %-14s %5s %6s %5s\n", "conv2d layer (batch x size)", "forward",
	       "backward", "fwd+bwd", "/gemm", "mem", "/roof");
	bench_layer("G conv 3x3 128->128, 64 x 32^2", &r, 64, 128, 32, 32, 128, 3, 1, 1, 1);
	if (!quick) {
		bench_layer("G conv 3x3 128->64, 64 x 64^2", &r, 64, 128, 64, 64, 64, 3, 1, 1, 1);
		bench_layer("G conv 3x3 64->64, 64 x 64^2", &r, 64, 64, 64, 64, 64, 3, 1, 1, 1);
		bench_layer("G conv 3x3 64->1, 64 x 64^2", &r, 64, 64, 64, 64, 1, 3, 1, 1, 1);
		bench_layer("D conv 3x3 1->64, 64 x 64^2 (no dx)", &r, 64, 1, 64, 64, 64, 3, 1, 1, 0);
		bench_layer("D conv 3x3 s2 1->64, 64 x 64^2 (no dx)", &r, 64, 1, 64, 64, 64, 3, 2, 1, 0);
		bench_layer("D conv 3x3 s2 64->64, 64 x 64^2", &r, 64, 64, 64, 64, 64, 3, 2, 1, 1);
		bench_layer("D conv 3x3 64->128, 64 x 32^2", &r, 64, 64, 32, 32, 128, 3, 1, 1, 1);
		bench_layer("D conv 3x3 s2 64->128, 64 x 32^2", &r, 64, 64, 32, 32, 128, 3, 2, 1, 1);
		bench_layer("D conv 3x3 s2 128->128, 64 x 32^2", &r, 64, 128, 32, 32, 128, 3, 2, 1, 1);
		if (only) {   /* the 256x256 generator's layers, batch 4: on request */
			bench_layer("G256 conv 3x3 512->512, 4 x 32^2", &r, 4, 512, 32, 32, 512, 3, 1, 1,
			            1);
			bench_layer("G256 conv 3x3 512->256, 4 x 64^2", &r, 4, 512, 64, 64, 256, 3, 1, 1,
			            1);
			bench_layer("G256 conv 3x3 256->128, 4 x 128^2", &r, 4, 256, 128, 128, 128, 3, 1,
			            1, 1);
			bench_layer("G256 conv 3x3 128->64, 4 x 256^2", &r, 4, 128, 256, 256, 64, 3, 1, 1,
			            1);
			bench_layer("G256 conv 3x3 64->64, 4 x 256^2", &r, 4, 64, 256, 256, 64, 3, 1, 1,
			            1);
		}
	}
	bench_srcnn(&r, quick);
	nn_ctx_free(&ctx);
	return 0;
}
