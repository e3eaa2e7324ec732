/* frechet.c: Frechet distance through symmetric eigenproblems (see frechet.h). */
#include "fid/frechet.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copies the upper triangle of s (plus eps on the diagonal) into a full
 * symmetric matrix. */
static void symmetric_copy(double *dst, const double *s, size_t d, double eps)
{
	for (size_t i = 0; i < d; i++) {
		dst[i * d + i] = s[i * d + i] + eps;
		for (size_t j = i + 1; j < d; j++)
			dst[i * d + j] = dst[j * d + i] = s[i * d + j];
	}
}

/* 1 if the upper triangle of the full matrix a has only zeros off the diagonal */
static int is_diagonal(const double *a, size_t d)
{
	for (size_t i = 0; i < d; i++)
		for (size_t j = i + 1; j < d; j++)
			if (a[i * d + j] != 0 || a[j * d + i] != 0)
				return 0;
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

ts_status tg_frechet_distance(const double *mu1, const double *sigma1,
                              const double *mu2, const double *sigma2, size_t d,
                              double eps, tg_frechet_result *r)
{
	memset(r, 0, sizeof *r);
	if (d == 0 || d > ((size_t)1 << 15) || !(eps >= 0) || !isfinite(eps))
		return TS_ERR_ARG;
	for (size_t i = 0; i < d; i++) {
		if (!isfinite(mu1[i]) || !isfinite(mu2[i]))
			return TS_ERR_ARG;
		for (size_t j = i; j < d; j++)
			if (!isfinite(sigma1[i * d + j]) || !isfinite(sigma2[i * d + j]))
				return TS_ERR_ARG;
	}
	for (size_t i = 0; i < d; i++) {
		double diff = mu1[i] - mu2[i];
		r->mean_term += diff * diff;
		r->trace1 += sigma1[i * d + i];
		r->trace2 += sigma2[i * d + i];
	}

	ts_status st = TS_OK;
	double *v = malloc(d * d * sizeof *v);    /* S1, then its eigenvectors, then B */
	double *s2 = malloc(d * d * sizeof *s2);  /* S2 */
	double *t = malloc(d * d * sizeof *t);    /* S2 B, then M */
	double *w = malloc(d * sizeof *w);
	if (!v || !s2 || !t || !w) {
		st = TS_ERR_NOMEM;
		goto out;
	}
	symmetric_copy(v, sigma1, d, eps);
	symmetric_copy(s2, sigma2, d, eps);
	int n = (int)d;
	int diag1 = is_diagonal(v, d);
	if (diag1) {
		/* V = I: no eigenproblem (and exact for diagonal inputs) */
		for (size_t k = 0; k < d; k++)
			w[k] = v[k * d + k];
	} else if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', n, v, n, w) != 0) {
		st = TS_ERR_CORRUPT;
		goto out;
	}
	/* B = V diag(sqrt(max(l, 0))) */
	for (size_t k = 0; k < d; k++) {
		if (w[k] < r->min_eig1)
			r->min_eig1 = w[k];
		w[k] = w[k] > 0 ? sqrt(w[k]) : 0;
	}
	if (diag1) {
		/* B = diag(sqrt(l)): M = B S2 B entry by entry */
		for (size_t i = 0; i < d; i++)
			for (size_t j = 0; j < d; j++)
				s2[i * d + j] *= w[i] * w[j];
	} else {
		for (size_t i = 0; i < d; i++)
			for (size_t k = 0; k < d; k++)
				v[i * d + k] *= w[k];
		/* t = S2 B, then M = B^T t (into s2, no longer needed) */
		cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, n, n, 1.0, s2, n, v, n, 0.0, t, n);
		cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, v, n, t, n, 0.0,
		            s2, n);
	}
	/* M is symmetric up to rounding; dsyevd reads its upper triangle, so
	 * average the two triangles first */
	for (size_t i = 0; i < d; i++)
		for (size_t j = i + 1; j < d; j++)
			s2[i * d + j] = 0.5 * (s2[i * d + j] + s2[j * d + i]);
	if (is_diagonal(s2, d)) {
		for (size_t k = 0; k < d; k++)
			w[k] = s2[k * d + k];
		qsort(w, d, sizeof *w, cmp_double);
	} else if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', n, s2, n, w) != 0) {
		st = TS_ERR_CORRUPT;
		goto out;
	}
	/* eigenvalues ascend: add the square roots from the largest down */
	for (size_t k = d; k-- > 0;) {
		if (w[k] < r->min_eig_m)
			r->min_eig_m = w[k];
		if (w[k] > 0)
			r->trace_sqrt += sqrt(w[k]);
	}
	r->distance = r->mean_term + r->trace1 + r->trace2 - 2 * r->trace_sqrt;
out:
	free(v);
	free(s2);
	free(t);
	free(w);
	return st;
}
