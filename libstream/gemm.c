/* gemm.c: tg_gemm, row-major SGEMM on OpenCL buffers through CLBlast or
 * through OpenBLAS on the buffers mapped into host memory (ocl.h says when
 * each is used and why). */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cblas.h>
#include <clblast_c.h>

#include "cli.h"
#include "ocl.h"
#include "ocl_internal.h"

static tg_gemm_backend forced_backend = TG_GEMM_AUTO;

void tg_gemm_set_backend(tg_gemm_backend b)
{
	forced_backend = b;
}

tg_gemm_backend tg_gemm_get_backend(tg_cl *cl)
{
	if (forced_backend != TG_GEMM_AUTO)
		return forced_backend;
	const char *env = getenv("TOMOGAN_GEMM");
	if (env && *env) {
		if (strcasecmp(env, "clblast") == 0)
			return TG_GEMM_CLBLAST;
		if (strcasecmp(env, "openblas") == 0)
			return TG_GEMM_OPENBLAS;
		static int warned;
		if (!warned) {
			warned = 1;
			tg_warn("ignoring TOMOGAN_GEMM=\"%s\" (expected clblast or openblas)", env);
		}
	}
	return cl && cl->is_cpu ? TG_GEMM_OPENBLAS : TG_GEMM_CLBLAST;
}

void tg_gemm_reset(void)
{
	CLBlastClearCache();
}

static const char *clblast_status_name(CLBlastStatusCode s)
{
	switch (s) {
	case CLBlastNotImplemented: return "CLBlastNotImplemented";
	case CLBlastInvalidMatrixA: return "CLBlastInvalidMatrixA";
	case CLBlastInvalidMatrixB: return "CLBlastInvalidMatrixB";
	case CLBlastInvalidMatrixC: return "CLBlastInvalidMatrixC";
	case CLBlastInvalidDimension: return "CLBlastInvalidDimension";
	case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA";
	case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB";
	case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC";
	case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA";
	case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB";
	case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC";
	case CLBlastInsufficientMemoryTemp: return "CLBlastInsufficientMemoryTemp";
	case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage";
	case CLBlastDatabaseError: return "CLBlastDatabaseError";
	case CLBlastUnknownError: return "CLBlastUnknownError";
	case CLBlastUnexpectedError: return "CLBlastUnexpectedError";
	default:
		/* The codes in common with OpenCL have OpenCL's values. */
		return tg_cl_errname((cl_int)s);
	}
}

/* One operand: rows x cols floats at element offset off with leading
 * dimension ld.  Checks ld and that the buffer holds the whole extent;
 * *first and *count give the elements it spans. */
static int check_operand(const char *what, cl_mem buf, size_t off, size_t rows, size_t cols,
                         size_t ld, const char *ldname, size_t *first, size_t *count)
{
	if (!buf)
		return tg_cl_fail(TG_CL_FAIL, "gemm: matrix %s is missing", what);
	if (ld < cols || ld == 0)
		return tg_cl_fail(TG_CL_FAIL, "gemm: %s is %zu x %zu, so %s must be at least %zu, not %zu",
		                  what, rows, cols, ldname, cols ? cols : 1, ld);
	/* extent = (rows - 1) * ld + cols, computed without overflow */
	if (rows - 1 > (SIZE_MAX / sizeof(float) - cols) / ld)
		return tg_cl_fail(TG_CL_FAIL, "gemm: %s of %zu x %zu with %s %zu is too large",
		                  what, rows, cols, ldname, ld);
	size_t extent = (rows - 1) * ld + cols;
	size_t size = 0;
	cl_int err = clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof size, &size, NULL);
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "gemm: matrix %s: %s", what, tg_cl_errname(err));
	size_t have = size / sizeof(float);
	if (off > have || extent > have - off)
		return tg_cl_fail(TG_CL_FAIL, "gemm: %s (%zu x %zu, %s %zu) needs %zu floats from offset "
		                  "%zu but its buffer holds %zu", what, rows, cols, ldname, ld, extent,
		                  off, have);
	*first = off;
	*count = extent;
	return TG_CL_OK;
}

static int overlaps(cl_mem a, size_t a0, size_t an, cl_mem b, size_t b0, size_t bn)
{
	return a == b && a0 < b0 + bn && b0 < a0 + an;
}

/* C = beta * C over the M x N window, by the scale_matrix kernel of
 * common.cl (beta = 0 assigns zeros). */
static int scale_c(tg_cl *cl, size_t M, size_t N, float beta, cl_mem C, size_t off_c, size_t ldc)
{
	if (beta == 1.0f)
		return TG_CL_OK;
	cl_kernel k = tg_cl_kernel(cl, "common.cl", "scale_matrix", NULL);
	if (!k)
		return TG_CL_FAIL;
	cl_ulong off = off_c, ld = ldc, rows = M, cols = N;
	int st = tg_cl_args(k, sizeof(cl_mem), &C, sizeof off, &off, sizeof ld, &ld, sizeof rows,
	                    &rows, sizeof cols, &cols, sizeof beta, &beta, (size_t)0);
	if (st != TG_CL_OK)
		return st;
	size_t global[2] = { N, M };
	return tg_cl_run(cl, k, 2, global, NULL);
}

/* C = alpha op(A) op(B) + beta C on host memory (row-major). */
static void blas(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                 const float *pa, size_t lda, const float *pb, size_t ldb, float beta, float *pc,
                 size_t ldc)
{
	if (M == 1 && N > 1)
		/* One row of C: C^T = op(B)^T op(A)^T, a matrix-vector product,
		 * which OpenBLAS runs faster as sgemv than as sgemm (1.2-3x on
		 * the development machine; the last convolution of a model, to
		 * one channel, has this shape).  The row of
		 * op(A) has stride 1, or lda when A is transposed. */
		cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans,
		            trans_b ? (int)N : (int)K, trans_b ? (int)K : (int)N, alpha, pb, (int)ldb,
		            pa, trans_a ? (int)lda : 1, beta, pc, 1);
	else if (N == 1 && M > 1)
		/* One column of C (stride ldc) = op(A) times the column of op(B),
		 * whose stride is ldb, or 1 when B is transposed. */
		cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
		            trans_a ? (int)K : (int)M, trans_a ? (int)M : (int)K, alpha, pa, (int)lda,
		            pb, trans_b ? 1 : (int)ldb, beta, pc, (int)ldc);
	else
		cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
		            trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha,
		            pa, (int)lda, pb, (int)ldb, beta, pc, (int)ldc);
}

/* Chunks of a sequence shared out among threads: thread t runs chunks t,
 * t + threads, ... (each in order), OpenBLAS single-threaded in each. */
struct seq_job {
	int trans_a, trans_b;
	size_t M, N, K, lda, ldb, ldc, chunk, chunks;
	float alpha;
	const float *pa, *pb;       /* mapped at elements a0, b0, c0 */
	float *pc;
	size_t a0, b0, c0;
	const size_t *off_a, *off_b, *off_c;
	const float *beta;
	size_t threads;
};

struct seq_worker {
	const struct seq_job *job;
	size_t t;
	pthread_t tid;
};

static void *seq_run(void *arg)
{
	const struct seq_worker *w = arg;
	const struct seq_job *j = w->job;
	for (size_t c = w->t; c < j->chunks; c += j->threads)
		for (size_t i = c * j->chunk; i < (c + 1) * j->chunk; i++)
			blas(j->trans_a, j->trans_b, j->M, j->N, j->K, j->alpha, j->pa + (j->off_a[i] - j->a0),
			     j->lda, j->pb + (j->off_b[i] - j->b0), j->ldb, j->beta[i],
			     j->pc + (j->off_c[i] - j->c0), j->ldc);
	return NULL;
}

/* Runs the chunks of a sequence on up to OpenBLAS's number of threads,
 * each calling OpenBLAS with one thread.  For the per-image GEMMs of a
 * convolution this measured between 5% slower and 20% faster than
 * OpenBLAS splitting every GEMM on a quiet machine, and 17 times
 * faster (5 against 91 GFLOP/s) with two other processes on the two cores
 * (OpenBLAS's threads then wait for one another at every GEMM). */
static void seq_parallel(struct seq_job *j)
{
	int nt = openblas_get_num_threads();
	j->threads = nt < 1 ? 1 : (size_t)nt;
	if (j->threads > j->chunks)
		j->threads = j->chunks;
	if (j->threads > 16)
		j->threads = 16;
	struct seq_worker w[16];
	if (j->threads > 1)
		openblas_set_num_threads(1);
	size_t started = 1;
	for (size_t t = 1; t < j->threads; t++) {
		w[t] = (struct seq_worker){ .job = j, .t = t };
		if (pthread_create(&w[t].tid, NULL, seq_run, &w[t]) != 0)
			break;
		started++;
	}
	/* Chunks of threads that could not start run here. */
	for (size_t t = 0; t < j->threads; t++)
		if (t == 0 || t >= started) {
			struct seq_worker me = { .job = j, .t = t };
			seq_run(&me);
		}
	for (size_t t = 1; t < started; t++)
		pthread_join(w[t].tid, NULL);
	if (j->threads > 1)
		openblas_set_num_threads(nt);
}

/* The GEMMs of a sequence (count 1 for tg_gemm) through OpenBLAS: each
 * buffer is mapped once, over the span [x0, x0 + xn) of elements that the
 * whole sequence touches in it; chunks of `chunk` GEMMs run in parallel
 * when there are several. */
static int gemm_openblas(tg_cl *cl, int trans_a, int trans_b, size_t M, size_t N, size_t K,
                         float alpha, cl_mem A, size_t a0, size_t an, size_t lda,
                         cl_mem B, size_t b0, size_t bn, size_t ldb, cl_mem C, size_t c0,
                         size_t cn, size_t ldc, size_t count, size_t chunk, const size_t *off_a,
                         const size_t *off_b, const size_t *off_c, const float *beta)
{
	/* OpenBLAS takes int sizes in this build. */
	if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX ||
	    ldc > INT_MAX)
		return tg_cl_fail(TG_CL_FAIL, "gemm: %zu x %zu x %zu (lda %zu, ldb %zu, ldc %zu) is too "
		                  "large for OpenBLAS", M, N, K, lda, ldb, ldc);
	cl_int err = CL_SUCCESS;
	const char *what = "A";
	float *pa = NULL, *pb = NULL, *pc = NULL;
	/* The queue is in order: once the blocking map of C returns, the maps
	 * of A and B, and every command before them, have completed, so only
	 * the last map needs to wait (one round trip instead of three). */
	pa = clEnqueueMapBuffer(cl->queue, A, CL_FALSE, CL_MAP_READ, a0 * sizeof(float),
	                        an * sizeof(float), 0, NULL, NULL, &err);
	if (err == CL_SUCCESS) {
		what = "B";
		pb = clEnqueueMapBuffer(cl->queue, B, CL_FALSE, CL_MAP_READ, b0 * sizeof(float),
		                        bn * sizeof(float), 0, NULL, NULL, &err);
	}
	if (err == CL_SUCCESS) {
		what = "C";
		pc = clEnqueueMapBuffer(cl->queue, C, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE,
		                        c0 * sizeof(float), cn * sizeof(float), 0, NULL, NULL, &err);
	}
	int status = TG_CL_OK;
	if (err != CL_SUCCESS)
		status = tg_cl_fail(TG_CL_FAIL, "gemm: mapping matrix %s into host memory: %s", what,
		                    tg_cl_errname(err));
	else if (chunk < count) {
		struct seq_job j = { .trans_a = trans_a, .trans_b = trans_b, .M = M, .N = N, .K = K,
		                     .lda = lda, .ldb = ldb, .ldc = ldc, .chunk = chunk,
		                     .chunks = count / chunk, .alpha = alpha, .pa = pa, .pb = pb,
		                     .pc = pc, .a0 = a0, .b0 = b0, .c0 = c0, .off_a = off_a,
		                     .off_b = off_b, .off_c = off_c, .beta = beta };
		seq_parallel(&j);
	} else
		for (size_t i = 0; i < count; i++)
			blas(trans_a, trans_b, M, N, K, alpha, pa + (off_a[i] - a0), lda,
			     pb + (off_b[i] - b0), ldb, beta[i], pc + (off_c[i] - c0), ldc);
	cl_mem bufs[3] = { A, B, C };
	float *ptrs[3] = { pa, pb, pc };
	for (int i = 0; i < 3; i++) {
		if (!ptrs[i])
			continue;
		err = clEnqueueUnmapMemObject(cl->queue, bufs[i], ptrs[i], 0, NULL, NULL);
		if (err != CL_SUCCESS && status == TG_CL_OK)
			status = tg_cl_fail(TG_CL_FAIL, "gemm: unmapping matrix %c: %s", "ABC"[i],
			                    tg_cl_errname(err));
	}
	return status;
}

static int gemm_clblast(tg_cl *cl, int trans_a, int trans_b, size_t M, size_t N, size_t K,
                        float alpha, cl_mem A, size_t off_a, size_t lda,
                        cl_mem B, size_t off_b, size_t ldb,
                        float beta, cl_mem C, size_t off_c, size_t ldc)
{
	/* CLBlast, like BLAS, does not read C when beta is 0 (test_gemm checks
	 * both of its kernels with NaN there). */
	cl_command_queue queue = cl->queue;
	tg_cl_note_begin("compiling CLBlast GEMM kernels (first use on this device can take seconds)");
	CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor,
	                                   trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
	                                   trans_b ? CLBlastTransposeYes : CLBlastTransposeNo,
	                                   M, N, K, alpha, A, off_a, lda, B, off_b, ldb,
	                                   beta, C, off_c, ldc, &queue, NULL);
	tg_cl_note_end();
	if (s != CLBlastSuccess)
		return tg_cl_fail(TG_CL_FAIL, "gemm: CLBlastSgemm %zu x %zu x %zu on %s: %s", M, N, K,
		                  cl->name, clblast_status_name(s));
	return TG_CL_OK;
}

/* Extends the span [*lo, *hi) by [first, first + n). */
static void span(size_t *lo, size_t *hi, size_t first, size_t n)
{
	if (first < *lo)
		*lo = first;
	if (first + n > *hi)
		*hi = first + n;
}

int tg_gemm_seq(tg_cl *cl, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                cl_mem A, size_t lda, cl_mem B, size_t ldb, cl_mem C, size_t ldc, size_t count,
                size_t chunk, const size_t *off_a, const size_t *off_b, const size_t *off_c,
                const float *beta)
{
	if (!cl)
		return tg_cl_fail(TG_CL_FAIL, "gemm: the OpenCL runtime is not initialised");
	if (M == 0 || N == 0 || count == 0)
		return TG_CL_OK;
	if (chunk == 0 || chunk > count || count % chunk)
		return tg_cl_fail(TG_CL_FAIL, "gemm: a sequence of %zu GEMMs in chunks of %zu", count,
		                  chunk);
	tg_gemm_backend backend = tg_gemm_get_backend(cl);
	if (K == 0 || alpha == 0.0f || backend != TG_GEMM_OPENBLAS) {
		/* C = beta * C (A and B are not read, as BLAS), or CLBlast: one
		 * call each, in order. */
		for (size_t i = 0; i < count; i++) {
			int st = tg_gemm(cl, trans_a, trans_b, M, N, K, alpha, A, off_a[i], lda, B,
			                 off_b[i], ldb, beta[i], C, off_c[i], ldc);
			if (st != TG_CL_OK)
				return st;
		}
		return TG_CL_OK;
	}
	size_t alo = SIZE_MAX, ahi = 0, blo = SIZE_MAX, bhi = 0, clo = SIZE_MAX, chi = 0;
	for (size_t i = 0; i < count; i++) {
		size_t f, n;
		/* op(A) is M x K: A is M x K, or K x M when transposed; likewise B. */
		int st = check_operand("C", C, off_c[i], M, N, ldc, "ldc", &f, &n);
		if (st != TG_CL_OK)
			return st;
		span(&clo, &chi, f, n);
		st = check_operand("A", A, off_a[i], trans_a ? K : M, trans_a ? M : K, lda, "lda", &f, &n);
		if (st != TG_CL_OK)
			return st;
		span(&alo, &ahi, f, n);
		st = check_operand("B", B, off_b[i], trans_b ? N : K, trans_b ? K : N, ldb, "ldb", &f, &n);
		if (st != TG_CL_OK)
			return st;
		span(&blo, &bhi, f, n);
	}
	if (overlaps(C, clo, chi - clo, A, alo, ahi - alo) ||
	    overlaps(C, clo, chi - clo, B, blo, bhi - blo))
		return tg_cl_fail(TG_CL_FAIL, "gemm: C overlaps %s in the same buffer",
		                  overlaps(C, clo, chi - clo, A, alo, ahi - alo) ? "A" : "B");
	int timing = tg_cl_timing_enabled(), st;
	double t0 = 0;
	if (timing) {
		/* Wall time of the GEMMs alone: nothing else is left in the queue. */
		if ((st = tg_cl_finish(cl)) != TG_CL_OK)
			return st;
		t0 = tg_now();
	}
	st = gemm_openblas(cl, trans_a, trans_b, M, N, K, alpha, A, alo, ahi - alo, lda, B, blo,
	                   bhi - blo, ldb, C, clo, chi - clo, ldc, count, chunk, off_a, off_b, off_c,
	                   beta);
	if (timing && st == TG_CL_OK && (st = tg_cl_finish(cl)) == TG_CL_OK)
		tg_cl_timing_add("sgemm (openblas, wall)", tg_now() - t0);
	return st;
}

int tg_gemm(tg_cl *cl, int trans_a, int trans_b, size_t M, size_t N, size_t K,
            float alpha, cl_mem A, size_t off_a, size_t lda,
            cl_mem B, size_t off_b, size_t ldb,
            float beta, cl_mem C, size_t off_c, size_t ldc)
{
	if (!cl)
		return tg_cl_fail(TG_CL_FAIL, "gemm: the OpenCL runtime is not initialised");
	if (M == 0 || N == 0)
		return TG_CL_OK;
	size_t a0 = 0, an = 0, b0 = 0, bn = 0, c0, cn;
	int st = check_operand("C", C, off_c, M, N, ldc, "ldc", &c0, &cn);
	if (st != TG_CL_OK)
		return st;
	if (K == 0 || alpha == 0.0f) {
		/* C = beta * C; A and B are not read (as BLAS). */
		return scale_c(cl, M, N, beta, C, off_c, ldc);
	}
	tg_gemm_backend backend = tg_gemm_get_backend(cl);
	if (backend == TG_GEMM_OPENBLAS)   /* a sequence of one: checks, mapping, timing */
		return tg_gemm_seq(cl, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc, 1, 1,
		                   &off_a, &off_b, &off_c, &beta);
	/* op(A) is M x K: A is M x K, or K x M when transposed; likewise B. */
	st = check_operand("A", A, off_a, trans_a ? K : M, trans_a ? M : K, lda, "lda", &a0, &an);
	if (st == TG_CL_OK)
		st = check_operand("B", B, off_b, trans_b ? N : K, trans_b ? K : N, ldb, "ldb", &b0, &bn);
	if (st != TG_CL_OK)
		return st;
	if (overlaps(C, c0, cn, A, a0, an) || overlaps(C, c0, cn, B, b0, bn))
		return tg_cl_fail(TG_CL_FAIL, "gemm: C overlaps %s in the same buffer",
		                  overlaps(C, c0, cn, A, a0, an) ? "A" : "B");
	int timing = tg_cl_timing_enabled();
	double t0 = 0;
	if (timing) {
		/* Wall time of the GEMM alone: nothing else is left in the queue. */
		if ((st = tg_cl_finish(cl)) != TG_CL_OK)
			return st;
		t0 = tg_now();
	}
	st = gemm_clblast(cl, trans_a, trans_b, M, N, K, alpha, A, off_a, lda, B, off_b, ldb, beta, C,
	                  off_c, ldc);
	if (timing && st == TG_CL_OK && (st = tg_cl_finish(cl)) == TG_CL_OK)
		tg_cl_timing_add("sgemm (clblast, wall)", tg_now() - t0);
	return st;
}
