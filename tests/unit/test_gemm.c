/* test_gemm: tg_gemm through both backends (CLBlast and OpenBLAS on mapped
 * buffers) against a naive double-accumulating C reference, for the four
 * transpose combinations, non-zero offsets, leading dimensions larger than
 * the minimum, alpha and beta other than 0 and 1, and odd sizes; plus the
 * BLAS special cases (beta = 0 never reads C, alpha = 0 or K = 0 scale C),
 * bad arguments, and the choice of backend.
 *
 * Error measure: max |C - ref| / max |ref| over the M x N result, at most
 * 1e-4 (float32 sums of up to 385 products of numbers in [-1, 1] stay near
 * 1e-6 of that scale; a wrong element, offset or stride gives O(1)).
 * Everything outside the M x N window (before the offset, the gaps of ldc,
 * the tail) must come back bit for bit unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocl.h"

#define TOL 1e-4

static const char *backend_name[] = { "auto", "clblast", "openblas" };

static float frand(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static float *random_floats(size_t n, uint32_t seed)
{
	float *x = malloc(n * sizeof *x);
	for (size_t i = 0; i < n && x; i++)
		x[i] = frand(&seed);
	return x;
}

/* C = alpha op(A) op(B) + beta C in double, row-major (cblas_sgemm's meaning);
 * beta = 0 does not read C. */
static void gemm_ref(int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                     const float *A, size_t lda, const float *B, size_t ldb,
                     double beta, const float *C, size_t ldc, double *out)
{
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double s = 0;
			for (size_t k = 0; k < K; k++) {
				double a = ta ? A[k * lda + i] : A[i * lda + k];
				double b = tb ? B[j * ldb + k] : B[k * ldb + j];
				s += a * b;
			}
			double c = beta == 0 ? 0 : beta * C[i * ldc + j];
			out[i * N + j] = alpha * s + c;
		}
}

/* max |got - ref| / max |ref| over the window; NaN counts as infinite. */
static double window_error(const float *got, size_t off, size_t ldc, const double *ref, size_t M, size_t N)
{
	double worst = 0, scale = 0;
	for (size_t i = 0; i < M * N; i++)
		scale = fmax(scale, fabs(ref[i]));
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double d = fabs((double)got[off + i * ldc + j] - ref[i * N + j]);
			if (!(d <= worst))
				worst = isnan(d) ? INFINITY : d;
		}
	return worst / (scale > 0 ? scale : 1);
}

/* 1 if every element outside the window equals the original. */
static int outside_unchanged(const float *got, const float *orig, size_t total, size_t off,
                             size_t ldc, size_t M, size_t N)
{
	for (size_t i = 0; i < total; i++) {
		int inside = 0;
		if (i >= off && i < off + (M - 1) * ldc + N)
			inside = (i - off) % ldc < N;
		if (!inside && memcmp(&got[i], &orig[i], sizeof(float)) != 0)
			return 0;
	}
	return 1;
}

struct problem {
	size_t M, N, K;
	int ta, tb;
	size_t off_a, off_b, off_c, lda, ldb, ldc;
	size_t na, nb, nc;        /* buffer lengths in floats */
	float *A, *B, *C;         /* host copies */
	double *ref;
	cl_mem dA, dB, dC;
};

static int problem_make(tg_cl *cl, struct problem *p, size_t M, size_t N, size_t K, int ta, int tb,
                        float alpha, float beta, uint32_t seed)
{
	memset(p, 0, sizeof *p);
	p->M = M, p->N = N, p->K = K, p->ta = ta, p->tb = tb;
	p->off_a = 3, p->off_b = 5, p->off_c = 7;
	size_t rows_a = ta ? K : M, cols_a = ta ? M : K;
	size_t rows_b = tb ? N : K, cols_b = tb ? K : N;
	p->lda = cols_a + 2, p->ldb = cols_b + 3, p->ldc = N + 4;
	p->na = p->off_a + rows_a * p->lda + 11;
	p->nb = p->off_b + rows_b * p->ldb + 13;
	p->nc = p->off_c + M * p->ldc + 17;
	p->A = random_floats(p->na, seed);
	p->B = random_floats(p->nb, seed + 1);
	p->C = random_floats(p->nc, seed + 2);
	p->ref = malloc(M * N * sizeof *p->ref);
	if (!p->A || !p->B || !p->C || !p->ref)
		return 0;
	gemm_ref(ta, tb, M, N, K, alpha, p->A + p->off_a, p->lda, p->B + p->off_b, p->ldb, beta,
	         p->C + p->off_c, p->ldc, p->ref);
	p->dA = tg_cl_alloc(cl, p->na * sizeof(float), p->A);
	p->dB = tg_cl_alloc(cl, p->nb * sizeof(float), p->B);
	p->dC = tg_cl_alloc(cl, p->nc * sizeof(float), NULL);
	return p->dA && p->dB && p->dC;
}

static void problem_free(struct problem *p)
{
	free(p->A), free(p->B), free(p->C), free(p->ref);
	if (p->dA)
		clReleaseMemObject(p->dA);
	if (p->dB)
		clReleaseMemObject(p->dB);
	if (p->dC)
		clReleaseMemObject(p->dC);
}

/* Runs p with the current backend on a fresh copy of C; returns the
 * result (malloc'd, whole buffer) or NULL with the status in *st. */
static float *problem_run(tg_cl *cl, struct problem *p, float alpha, float beta, int *st)
{
	float *got = malloc(p->nc * sizeof *got);
	*st = tg_cl_write(cl, p->dC, 0, p->nc * sizeof(float), p->C);
	if (*st == TG_CL_OK)
		*st = tg_gemm(cl, p->ta, p->tb, p->M, p->N, p->K, alpha, p->dA, p->off_a, p->lda,
		              p->dB, p->off_b, p->ldb, beta, p->dC, p->off_c, p->ldc);
	if (*st == TG_CL_OK && got)
		*st = tg_cl_read(cl, p->dC, 0, p->nc * sizeof(float), got);
	if (*st != TG_CL_OK) {
		free(got);
		return NULL;
	}
	return got;
}

static void test_shapes(tg_cl *cl)
{
	static const size_t shapes[][3] = {
		{ 1, 1, 1 }, { 7, 13, 5 }, { 64, 33, 100 }, { 1, 50, 70 }, { 33, 1, 17 },
		/* past CLBlast's switch from its direct kernel to the indirect one
		 * (XGEMM_MIN_INDIRECT_SIZE cubed: 320^3 for Intel CPUs, 704^3 for
		 * devices its database does not know) */
		{ 400, 390, 385 },
	};
	const float alpha = 0.75f, beta = -0.5f;
	uint32_t seed = 11;
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int t = 0; t < 4; t++) {
			int ta = t >> 1, tb = t & 1;
			size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
			struct problem p;
			int made = problem_make(cl, &p, M, N, K, ta, tb, alpha, beta, seed += 3);
			for (int b = TG_GEMM_CLBLAST; b <= TG_GEMM_OPENBLAS; b++) {
				tg_gemm_set_backend((tg_gemm_backend)b);
				int st = TG_CL_FAIL;
				float *got = made ? problem_run(cl, &p, alpha, beta, &st) : NULL;
				double err = got ? window_error(got, p.off_c, p.ldc, p.ref, M, N) : INFINITY;
				int kept = got && outside_unchanged(got, p.C, p.nc, p.off_c, p.ldc, M, N);
				check(got && err <= TOL && kept,
				      "gemm %s %zux%zux%zu %c%c lda %zu ldb %zu ldc %zu: err %.2g%s%s%s",
				      backend_name[b], M, N, K, ta ? 'T' : 'N', tb ? 'T' : 'N', p.lda, p.ldb,
				      p.ldc, err, got && !kept ? ", wrote outside C's window" : "",
				      got ? "" : ", failed: ", got ? "" : tg_cl_error());
				free(got);
			}
			problem_free(&p);
		}
}

/* beta = 0 with NaN in C, alpha = 0 with NaN in A, K = 0, M = 0. */
static void test_special(tg_cl *cl)
{
	for (int b = TG_GEMM_CLBLAST; b <= TG_GEMM_OPENBLAS; b++) {
		tg_gemm_set_backend((tg_gemm_backend)b);
		const char *name = backend_name[b];
		struct problem p;
		int st = TG_CL_FAIL;
		float *got = NULL;
		double err = INFINITY;
		/* both of CLBlast's paths (direct kernel, indirect one) and the
		 * matrix-vector shortcuts of the OpenBLAS path, all transposes */
		static const size_t sizes[4][3] = {
			{ 9, 10, 11 }, { 400, 390, 385 }, { 1, 50, 70 }, { 33, 1, 17 }
		};
		for (int z = 0; z < 4; z++) {
			size_t M = sizes[z][0], N = sizes[z][1], K = sizes[z][2];
			int bad = 0;
			double worst = 0;
			for (int t = 0; t < 4; t++) {
				got = NULL;
				err = INFINITY;
				if (problem_make(cl, &p, M, N, K, t >> 1, t & 1, 1.25f, 0.0f, 99)) {
					for (size_t i = 0; i < p.nc; i++)
						p.C[i] = NAN;
					got = problem_run(cl, &p, 1.25f, 0.0f, &st);
					if (got)
						err = window_error(got, p.off_c, p.ldc, p.ref, p.M, p.N);
				}
				bad += !(got && err <= TOL);
				worst = fmax(worst, err);
				free(got);
				problem_free(&p);
			}
			check(!bad, "gemm %s %zux%zux%zu beta=0 ignores NaN in C, all transposes: err %.2g",
			      name, M, N, K, worst);
		}

		got = NULL;
		err = INFINITY;
		if (problem_make(cl, &p, 6, 5, 4, 1, 0, 0.0f, 2.0f, 7)) {
			for (size_t i = 0; i < p.na; i++)
				p.A[i] = NAN;
			tg_cl_write(cl, p.dA, 0, p.na * sizeof(float), p.A);
			got = problem_run(cl, &p, 0.0f, 2.0f, &st);
			if (got)
				err = window_error(got, p.off_c, p.ldc, p.ref, p.M, p.N);
		}
		check(got && err == 0 && outside_unchanged(got, p.C, p.nc, p.off_c, p.ldc, p.M, p.N),
		      "gemm %s alpha=0 gives beta*C without reading A: err %.2g", name, err);
		free(got);
		problem_free(&p);

		got = NULL;
		err = INFINITY;
		if (problem_make(cl, &p, 5, 6, 0, 0, 0, 1.0f, -3.0f, 8)) {
			got = problem_run(cl, &p, 1.0f, -3.0f, &st);
			if (got)
				err = window_error(got, p.off_c, p.ldc, p.ref, p.M, p.N);
		}
		/* beta*C in float against double: within an ulp */
		check(got && err <= 1e-6, "gemm %s K=0 gives beta*C: err %.2g", name, err);
		free(got);
		problem_free(&p);
	}
	tg_gemm_set_backend(TG_GEMM_AUTO);

	/* M = 0 does nothing, even with no buffers */
	check(tg_gemm(cl, 0, 0, 0, 5, 5, 1, NULL, 0, 5, NULL, 0, 5, 0, NULL, 0, 5) == TG_CL_OK,
	      "gemm M=0 does nothing");
}

static void test_bad_arguments(tg_cl *cl)
{
	cl_mem a = tg_cl_alloc(cl, 100 * sizeof(float), NULL);
	cl_mem c = tg_cl_alloc(cl, 100 * sizeof(float), NULL);
	/* A is 4 x 5 not transposed: lda 4 is too small */
	int st = tg_gemm(cl, 0, 0, 4, 3, 5, 1, a, 0, 4, a, 0, 3, 0, c, 0, 3);
	check(st == TG_CL_FAIL && strstr(tg_cl_error(), "lda must be at least 5"),
	      "gemm: small lda refused (%s)", tg_cl_error());
	/* C 10 x 10 with ldc 10 from offset 1 needs 101 floats */
	st = tg_gemm(cl, 0, 0, 10, 10, 2, 1, a, 0, 2, a, 0, 10, 0, c, 1, 10);
	check(st == TG_CL_FAIL && strstr(tg_cl_error(), "buffer holds 100"),
	      "gemm: buffer too small refused (%s)", tg_cl_error());
	/* C on top of A */
	st = tg_gemm(cl, 0, 0, 4, 4, 4, 1, a, 0, 4, c, 0, 4, 0, a, 8, 4);
	check(st == TG_CL_FAIL && strstr(tg_cl_error(), "overlaps A"),
	      "gemm: C overlapping A refused (%s)", tg_cl_error());
	clReleaseMemObject(a);
	clReleaseMemObject(c);
}

static void test_backend_choice(tg_cl *cl)
{
	tg_gemm_set_backend(TG_GEMM_AUTO);
	unsetenv("TOMOGAN_GEMM");
	tg_gemm_backend def = cl->is_cpu ? TG_GEMM_OPENBLAS : TG_GEMM_CLBLAST;
	check(tg_gemm_get_backend(cl) == def, "backend: default is %s on this %s device",
	      backend_name[def], cl->is_cpu ? "CPU" : "non-CPU");
	setenv("TOMOGAN_GEMM", "clblast", 1);
	int ok = tg_gemm_get_backend(cl) == TG_GEMM_CLBLAST;
	setenv("TOMOGAN_GEMM", "OpenBLAS", 1);
	ok &= tg_gemm_get_backend(cl) == TG_GEMM_OPENBLAS;
	check(ok, "backend: TOMOGAN_GEMM forces either");
	tg_gemm_set_backend(TG_GEMM_CLBLAST);
	ok = tg_gemm_get_backend(cl) == TG_GEMM_CLBLAST;
	setenv("TOMOGAN_GEMM", "clblast", 1);
	tg_gemm_set_backend(TG_GEMM_OPENBLAS);
	ok &= tg_gemm_get_backend(cl) == TG_GEMM_OPENBLAS;
	check(ok, "backend: tg_gemm_set_backend overrides TOMOGAN_GEMM");
	tg_gemm_set_backend(TG_GEMM_AUTO);
	unsetenv("TOMOGAN_GEMM");
}

/* tg_gemm_seq: three GEMMs on one set of buffers, the second adding into
 * the first's C and B views overlapping one another (as the taps of a
 * convolution), the third into another C with beta 0.5; both transposes;
 * against the same sequence in double.  Then a C span overlapping B's. */
static void test_sequence(tg_cl *cl)
{
	const size_t M = 7, N = 13, K = 5, lda = 9, ldb = 17, ldc = 15;
	const size_t na = 3 * 64 + (M > K ? M : K) * lda, nb = 40 + 16 * ldb, nc = 2 * 128;
	for (int be = TG_GEMM_CLBLAST; be <= TG_GEMM_OPENBLAS; be++)
		for (int t = 0; t < 4; t++) {
			int ta = t & 1, tb = t >> 1;
			tg_gemm_set_backend((tg_gemm_backend)be);
			float *a = random_floats(na, 11 + t), *b = random_floats(nb, 23 + t);
			float *c = random_floats(nc, 37 + t);
			const size_t oa[3] = { 0, 64, 128 }, ob[3] = { 0, 1, 40 }, oc[3] = { 0, 0, 128 };
			const float beta[3] = { 0.0f, 1.0f, 0.5f };
			double *ref = malloc(nc * sizeof *ref), *tmp = malloc(M * N * sizeof *tmp);
			for (size_t i = 0; i < nc; i++)
				ref[i] = c[i];
			float *cur = malloc(nc * sizeof *cur);
			for (int q = 0; q < 3; q++) {
				for (size_t i = 0; i < nc; i++)
					cur[i] = (float)ref[i];
				gemm_ref(ta, tb, M, N, K, 0.75, a + oa[q], lda, b + ob[q], ldb, beta[q],
				         cur + oc[q], ldc, tmp);
				for (size_t i = 0; i < M; i++)
					for (size_t j = 0; j < N; j++)
						ref[oc[q] + i * ldc + j] = tmp[i * N + j];
			}
			cl_mem da = tg_cl_alloc(cl, na * sizeof(float), a);
			cl_mem db = tg_cl_alloc(cl, nb * sizeof(float), b);
			cl_mem dc = tg_cl_alloc(cl, nc * sizeof(float), c);
			int st = tg_gemm_seq(cl, ta, tb, M, N, K, 0.75f, da, lda, db, ldb, dc, ldc, 3, 3, oa,
			                     ob, oc, beta);
			float *got = malloc(nc * sizeof *got);
			if (st == TG_CL_OK)
				st = tg_cl_read(cl, dc, 0, nc * sizeof(float), got);
			double e = 0;
			for (size_t i = 0; i < nc && st == TG_CL_OK; i++) {
				double d = fabs(got[i] - ref[i]);
				e = d > e ? d : e;
			}
			check(st == TG_CL_OK && e <= TOL, "gemm sequence (%s, ta %d, tb %d): error %.2g "
			      "(tolerance %g)%s%s", backend_name[be], ta, tb, e, TOL, st ? ": " : "",
			      st ? tg_cl_error() : "");
			if (be == TG_GEMM_OPENBLAS && t == 0) {
				const size_t bad[3] = { 0, 60, 4 };   /* third C inside A's span */
				st = tg_gemm_seq(cl, 0, 0, M, N, K, 1.0f, da, lda, db, ldb, da, ldc, 3, 3, oa, ob,
				                 bad, beta);
				check(st != TG_CL_OK && strstr(tg_cl_error(), "overlaps"),
				      "gemm sequence: C overlapping A refused (%s)", tg_cl_error());
			}
			clReleaseMemObject(da), clReleaseMemObject(db), clReleaseMemObject(dc);
			free(a), free(b), free(c), free(ref), free(tmp), free(cur), free(got);
		}
	tg_gemm_set_backend(TG_GEMM_AUTO);
}

/* tg_gemm_seq in chunks: 5 chunks of 3 GEMMs, each chunk accumulating into
 * its own C block (beta 0, 1, 1), which the OpenBLAS path runs on several
 * threads at once; both backends against the sum in double. */
static void test_sequence_chunks(tg_cl *cl)
{
	const size_t M = 24, N = 37, K = 19, chunks = 5, per = 3, n = chunks * per;
	const size_t na = n * M * K, nb = n * K * N, nc = chunks * M * N;
	float *a = random_floats(na, 5), *b = random_floats(nb, 6), *c = random_floats(nc, 7);
	size_t oa[15], ob[15], oc[15];
	float beta[15];
	double *ref = calloc(nc, sizeof *ref), *tmp = malloc(M * N * sizeof *tmp);
	for (size_t i = 0; i < n; i++) {
		oa[i] = i * M * K, ob[i] = i * K * N, oc[i] = (i / per) * M * N;
		beta[i] = i % per ? 1.0f : 0.0f;
		gemm_ref(0, 0, M, N, K, 1.0, a + oa[i], K, b + ob[i], N, 0.0, NULL, N, tmp);
		for (size_t j = 0; j < M * N; j++)
			ref[oc[i] + j] += tmp[j];
	}
	for (int be = TG_GEMM_CLBLAST; be <= TG_GEMM_OPENBLAS; be++) {
		tg_gemm_set_backend((tg_gemm_backend)be);
		cl_mem da = tg_cl_alloc(cl, na * sizeof(float), a);
		cl_mem db = tg_cl_alloc(cl, nb * sizeof(float), b);
		cl_mem dc = tg_cl_alloc(cl, nc * sizeof(float), c);
		int st = tg_gemm_seq(cl, 0, 0, M, N, K, 1.0f, da, K, db, N, dc, N, n, per, oa, ob, oc,
		                     beta);
		float *got = malloc(nc * sizeof *got);
		if (st == TG_CL_OK)
			st = tg_cl_read(cl, dc, 0, nc * sizeof(float), got);
		double e = 0;
		for (size_t i = 0; i < nc && st == TG_CL_OK; i++)
			e = fmax(e, fabs(got[i] - ref[i]));
		check(st == TG_CL_OK && e <= TOL, "gemm sequence in %zu chunks of %zu (%s): error %.2g "
		      "(tolerance %g)%s%s", chunks, per, backend_name[be], e, TOL, st ? ": " : "",
		      st ? tg_cl_error() : "");
		clReleaseMemObject(da), clReleaseMemObject(db), clReleaseMemObject(dc);
		free(got);
	}
	int st = tg_gemm_seq(cl, 0, 0, M, N, K, 1.0f, NULL, K, NULL, N, NULL, N, 4, 3, oa, ob, oc,
	                     beta);
	check(st != TG_CL_OK && strstr(tg_cl_error(), "chunks of 3"),
	      "gemm sequence: 4 GEMMs in chunks of 3 refused (%s)", tg_cl_error());
	tg_gemm_set_backend(TG_GEMM_AUTO);
	free(a), free(b), free(c), free(ref), free(tmp);
}

int main(void)
{
	tg_cl *cl;
	int st = tg_cl_init(&cl);
	if (!check(st == TG_CL_OK, "init: %s", st ? tg_cl_error() : cl->name))
		return check_finish();
	/* first, before any kernel runs: it sets TOMOGAN_GEMM with setenv,
	 * and PoCL's worker threads read the environment while they compile
	 * a kernel at its first launch (test_nn_ckpt says more) */
	test_backend_choice(cl);
	test_shapes(cl);
	test_special(cl);
	test_bad_arguments(cl);
	test_sequence(cl);
	test_sequence_chunks(cl);
	return check_finish();
}
