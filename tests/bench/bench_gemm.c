/* bench_gemm: GFLOP/s of tg_gemm through both backends against raw
 * cblas_sgemm on host arrays, in one run, on the same shapes; and the time
 * of a small OpenCL kernel alone and right after an OpenBLAS GEMM (whose
 * idle threads keep spinning for a while and compete with the OpenCL
 * device's threads on a CPU).  Built and run by bench_gemm.sh.
 *
 * usage: bench_gemm [-s seconds] [MxNxK ...]
 * Each figure is the median over repetitions filling about `seconds`
 * (default 1) per contender after one warm-up call, the three contenders
 * taking turns; a GEMM counts 2*M*N*K operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "ocl.h"

struct shape {
	size_t M, N, K;
	const char *what;
};

/* Convolutions as GEMM per image: M = output channels, N = output pixels,
 * K = input channels x kernel area. */
static const struct shape default_shapes[] = {
	{ 1024, 1024, 1024, "square" },
	{ 128, 4096, 1152, "conv 3x3 128->128 at 64x64" },
	{ 64, 16384, 576, "conv 3x3 64->64 at 128x128" },
	{ 256, 1024, 2304, "conv 3x3 256->256 at 32x32" },
	{ 64, 16384, 81, "SRCNN conv 9x9 1->64 at 128x128" },
	{ 32, 16384, 1600, "SRCNN 9-5-5 conv 5x5 64->32 at 128x128" },
	{ 1, 16384, 800, "SRCNN conv 5x5 32->1 at 128x128 (M=1)" },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef void (*runner)(void *ctx);

/* Median seconds of f over repetitions filling about `budget` seconds. */
static double median_time(runner f, void *ctx, double budget)
{
	f(ctx);  /* warm-up: CLBlast compiles, OpenBLAS starts its threads */
	double times[200];
	int n = 0;
	double start = tg_now();
	while (n < 200 && (n < 3 || tg_now() - start < budget)) {
		double t0 = tg_now();
		f(ctx);
		times[n++] = tg_now() - t0;
	}
	qsort(times, (size_t)n, sizeof times[0], cmp_double);
	return times[n / 2];
}

/* The same for several functions taking turns, one call each per round, so
 * that a machine whose speed drifts (other work, a shared VM) treats them
 * alike; med[i] gets f[i]'s median. */
static void median_times_interleaved(int nf, runner *f, void **ctx, double budget, double *med)
{
	enum { MAXREP = 200 };
	static double times[8][MAXREP];
	for (int i = 0; i < nf; i++)
		f[i](ctx[i]);
	int n = 0;
	double start = tg_now();
	while (n < MAXREP && (n < 3 || tg_now() - start < budget)) {
		for (int i = 0; i < nf; i++) {
			double t0 = tg_now();
			f[i](ctx[i]);
			times[i][n] = tg_now() - t0;
		}
		n++;
	}
	for (int i = 0; i < nf; i++) {
		qsort(times[i], (size_t)n, sizeof times[i][0], cmp_double);
		med[i] = times[i][n / 2];
	}
}

struct job {
	tg_cl *cl;
	size_t M, N, K;
	float *a, *b, *c;
	cl_mem da, db, dc, dx;
	cl_kernel axpby;
	cl_ulong n_small;
	tg_gemm_backend backend;
};

static void run_cblas(void *p)
{
	struct job *j = p;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->M, (int)j->N, (int)j->K, 1.0f,
	            j->a, (int)j->K, j->b, (int)j->N, 0.0f, j->c, (int)j->N);
}

static void run_tg_gemm(void *p)
{
	struct job *j = p;
	tg_gemm_set_backend(j->backend);
	tg_clx_check(tg_gemm(j->cl, 0, 0, j->M, j->N, j->K, 1.0f, j->da, 0, j->K, j->db, 0, j->N,
	                     0.0f, j->dc, 0, j->N));
	tg_clx_check(tg_cl_finish(j->cl));
}

/* y = 0.5 x + 0.5 y over 1M floats: a typical elementwise layer. */
static void run_small_kernel(void *p)
{
	struct job *j = p;
	float h = 0.5f;
	cl_ulong z = 0;
	size_t global = (size_t)j->n_small;
	tg_clx_check(tg_cl_args(j->axpby, sizeof j->n_small, &j->n_small, sizeof h, &h,
	                        sizeof(cl_mem), &j->dx, sizeof z, &z, sizeof h, &h,
	                        sizeof(cl_mem), &j->dc, sizeof z, &z, (size_t)0));
	tg_clx_check(tg_cl_run(j->cl, j->axpby, 1, &global, NULL));
	tg_clx_check(tg_cl_finish(j->cl));
}

/* Median seconds of the small kernel launched right after each GEMM. */
static double median_kernel_after_gemm(struct job *j, double budget)
{
	double times[200];
	int n = 0;
	double start = tg_now();
	while (n < 200 && (n < 3 || tg_now() - start < budget)) {
		run_tg_gemm(j);
		double t0 = tg_now();
		run_small_kernel(j);
		times[n++] = tg_now() - t0;
	}
	qsort(times, (size_t)n, sizeof times[0], cmp_double);
	return times[n / 2];
}

int main(int argc, char **argv)
{
	tg_init(argc, argv, "bench_gemm", "bench_gemm [-s seconds] [MxNxK ...]");
	double budget = 1.0;
	int first = 1;
	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		budget = tg_opt_double("-s", argv[2], 0.01, 600);
		first = 3;
	}
	struct shape *shapes;
	size_t nshapes;
	if (first < argc) {
		nshapes = (size_t)(argc - first);
		shapes = tg_calloc(nshapes, sizeof *shapes);
		for (size_t i = 0; i < nshapes; i++) {
			unsigned long m, n, k;
			char extra;
			if (sscanf(argv[first + (int)i], "%lux%lux%lu%c", &m, &n, &k, &extra) != 3 ||
			    !m || !n || !k || m > 65536 || n > 1 << 20 || k > 65536)
				tg_usage_error("bad shape %s (MxNxK expected)", argv[first + (int)i]);
			shapes[i] = (struct shape){ m, n, k, "" };
		}
	} else {
		nshapes = sizeof default_shapes / sizeof default_shapes[0];
		shapes = tg_calloc(nshapes, sizeof *shapes);
		memcpy(shapes, default_shapes, sizeof default_shapes);
	}

	tg_cl *cl = tg_clx_init();
	printf("device: %s; OpenBLAS threads: %d; median of repetitions over %.1f s each\n",
	       cl->name, openblas_get_num_threads(), budget);
	printf("%-16s %12s %12s %12s  %s\n", "M x N x K", "cblas_sgemm", "tg/openblas",
	       "tg/clblast", "GFLOP/s; shape");
	fflush(stdout);
	struct job big = { 0 };
	for (size_t s = 0; s < nshapes; s++) {
		struct job j = { .cl = cl, .M = shapes[s].M, .N = shapes[s].N, .K = shapes[s].K };
		size_t na = j.M * j.K, nb = j.K * j.N, nc = j.M * j.N;
		j.a = tg_malloc(na * sizeof(float));
		j.b = tg_malloc(nb * sizeof(float));
		j.c = tg_malloc(nc * sizeof(float));
		for (size_t i = 0; i < na; i++)
			j.a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
		for (size_t i = 0; i < nb; i++)
			j.b[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
		memset(j.c, 0, nc * sizeof(float));
		j.da = tg_cl_alloc(cl, na * sizeof(float), j.a);
		j.db = tg_cl_alloc(cl, nb * sizeof(float), j.b);
		j.dc = tg_cl_alloc(cl, nc * sizeof(float), j.c);
		if (!j.da || !j.db || !j.dc)
			tg_die(TG_EX_SOFTWARE, "%s", tg_cl_error());
		double flop = 2.0 * (double)j.M * (double)j.N * (double)j.K;
		/* the same job under each backend: two copies differing in it */
		struct job jo = j, jc = j;
		jo.backend = TG_GEMM_OPENBLAS;
		jc.backend = TG_GEMM_CLBLAST;
		runner f[3] = { run_cblas, run_tg_gemm, run_tg_gemm };
		void *ctx[3] = { &j, &jo, &jc };
		double t[3];
		median_times_interleaved(3, f, ctx, 3 * budget, t);
		double t_blas = t[0], t_ob = t[1], t_cb = t[2];
		char name[48];
		snprintf(name, sizeof name, "%zux%zux%zu", j.M, j.N, j.K);
		printf("%-16s %12.1f %12.1f %12.1f  %s\n", name, flop / t_blas * 1e-9, flop / t_ob * 1e-9,
		       flop / t_cb * 1e-9, shapes[s].what);
		fflush(stdout);
		free(j.a), free(j.b), free(j.c);
		if (s == 0 && nc >= (1u << 20)) {
			big = j;  /* kept for the kernel timing below */
			continue;
		}
		clReleaseMemObject(j.da), clReleaseMemObject(j.db), clReleaseMemObject(j.dc);
	}

	if (big.dc) {
		/* The elementwise kernel alone, then right after each OpenBLAS GEMM. */
		big.n_small = 1u << 20;
		big.dx = tg_cl_alloc(cl, (size_t)big.n_small * sizeof(float), NULL);
		big.axpby = tg_clx_kernel(cl, "common.cl", "axpby", NULL);
		if (!big.dx)
			tg_die(TG_EX_SOFTWARE, "%s", tg_cl_error());
		tg_clx_check(tg_cl_write(cl, big.dx, 0, sizeof(float), &(float){ 1 }));
		big.backend = TG_GEMM_OPENBLAS;
		double t_alone = median_time(run_small_kernel, &big, budget);
		double t_after = median_kernel_after_gemm(&big, budget);
		printf("axpby over 1M floats on the OpenCL device: %.0f us alone, %.0f us right after "
		       "an OpenBLAS GEMM\n", 1e6 * t_alone, 1e6 * t_after);
	}
	return 0;
}
