/* kid.c: Kernel Inception Distance, unbiased MMD^2 over subsets (see kid.h). */
#include "fid/kid.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static int valid_sizes(size_t n1, size_t n2, size_t d, size_t m, size_t n_subsets)
{
	return d > 0 && m >= 2 && m <= n1 && m <= n2 && n_subsets > 0 &&
	       m <= ((size_t)1 << 20) && d <= ((size_t)1 << 20) &&
	       n_subsets <= ((size_t)1 << 24);
}

static void draw_one(tg_rng *r, uint64_t *perm, size_t n, size_t m, uint64_t *out)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = 0; i < m; i++) {
		size_t j = i + (size_t)tg_rng_below(r, n - i);
		uint64_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
		out[i] = perm[i];
	}
}

ts_status tg_kid_draw_subsets(uint64_t seed, size_t n1, size_t n2, size_t m,
                              size_t n_subsets, uint64_t *idx1, uint64_t *idx2)
{
	if (!valid_sizes(n1, n2, 1, m, n_subsets))
		return TS_ERR_ARG;
	uint64_t *perm = malloc((n1 > n2 ? n1 : n2) * sizeof *perm);
	if (!perm)
		return TS_ERR_NOMEM;
	tg_rng r;
	tg_rng_seed(&r, seed);
	for (size_t s = 0; s < n_subsets; s++) {
		draw_one(&r, perm, n1, m, idx1 + s * m);
		draw_one(&r, perm, n2, m, idx2 + s * m);
	}
	free(perm);
	return TS_OK;
}

/* Sum of (g + 1)^3 over the kernel's Gram values g = k[i][j] / d, either
 * over i != j of a symmetric matrix with only the upper triangle set
 * (twice the strict upper sum) or over all entries. */
static double kernel_sum(const double *k, size_t m, double inv_d, int offdiag_upper)
{
	double total = 0;
	for (size_t i = 0; i < m; i++) {
		double row = 0;
		for (size_t j = offdiag_upper ? i + 1 : 0; j < m; j++) {
			double v = k[i * m + j] * inv_d + 1;
			row += v * v * v;
		}
		total += row;
	}
	return offdiag_upper ? 2 * total : total;
}

/* Whole Gram matrices of both sets are worth computing once when the
 * subsets together would recompute more products than they hold (and they
 * fit in 512 MB); subsets then only gather entries.  Both ways give the
 * same dot products up to rounding. */
#define GRAM_MAX_VALUES ((uint64_t)1 << 26)

static double gram_sum(const double *g, size_t ld, const uint64_t *ia, const uint64_t *ib,
                       size_t m, double inv_d, int offdiag)
{
	double total = 0;
	for (size_t i = 0; i < m; i++) {
		const double *row = g + ia[i] * ld;
		double acc = 0;
		for (size_t j = offdiag ? i + 1 : 0; j < m; j++) {
			double v = row[ib[j]] * inv_d + 1;
			acc += v * v * v;
		}
		total += acc;
	}
	return offdiag ? 2 * total : total;
}

ts_status tg_kid_subsets(const double *f1, size_t n1, const double *f2, size_t n2,
                         size_t d, const uint64_t *idx1, const uint64_t *idx2,
                         size_t n_subsets, size_t m, double *mmd2,
                         double *mean, double *std)
{
	if (!valid_sizes(n1, n2, d, m, n_subsets))
		return TS_ERR_ARG;
	for (size_t k = 0; k < n_subsets * m; k++)
		if (idx1[k] >= n1 || idx2[k] >= n2)
			return TS_ERR_ARG;
	uint64_t gram_values = (uint64_t)n1 * n1 + (uint64_t)n2 * n2 + (uint64_t)n1 * n2;
	int use_gram = gram_values <= GRAM_MAX_VALUES &&
	               (uint64_t)n_subsets * 3 * m * m > gram_values;
	double *x = NULL, *y = NULL, *k = NULL, *g11 = NULL, *g22 = NULL, *g12 = NULL;
	double *vals = malloc(n_subsets * sizeof *vals);
	int ok = vals != NULL;
	int im = (int)m, id = (int)d;
	if (use_gram) {
		g11 = malloc(n1 * n1 * sizeof *g11);
		g22 = malloc(n2 * n2 * sizeof *g22);
		g12 = malloc(n1 * n2 * sizeof *g12);
		ok = ok && g11 && g22 && g12;
		if (ok) {
			/* full symmetric Grams (both triangles: subsets index either) */
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n1, (int)n1, id, 1.0,
			            f1, id, f1, id, 0.0, g11, (int)n1);
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n2, (int)n2, id, 1.0,
			            f2, id, f2, id, 0.0, g22, (int)n2);
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n1, (int)n2, id, 1.0,
			            f1, id, f2, id, 0.0, g12, (int)n2);
		}
	} else {
		x = malloc(m * d * sizeof *x);
		y = malloc(m * d * sizeof *y);
		k = malloc(m * m * sizeof *k);
		ok = ok && x && y && k;
	}
	if (!ok) {
		free(x), free(y), free(k), free(g11), free(g22), free(g12), free(vals);
		return TS_ERR_NOMEM;
	}
	double inv_d = 1.0 / (double)d, md = (double)m;
	double total = 0;
	for (size_t s = 0; s < n_subsets; s++) {
		const uint64_t *a = idx1 + s * m, *b = idx2 + s * m;
		double kxx, kyy, kxy;
		if (use_gram) {
			kxx = gram_sum(g11, n1, a, a, m, inv_d, 1);
			kyy = gram_sum(g22, n2, b, b, m, inv_d, 1);
			kxy = gram_sum(g12, n2, a, b, m, inv_d, 0);
		} else {
			for (size_t i = 0; i < m; i++) {
				memcpy(x + i * d, f1 + a[i] * d, d * sizeof *x);
				memcpy(y + i * d, f2 + b[i] * d, d * sizeof *y);
			}
			cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, im, id, 1.0, x, id, 0.0, k, im);
			kxx = kernel_sum(k, m, inv_d, 1);
			cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, im, id, 1.0, y, id, 0.0, k, im);
			kyy = kernel_sum(k, m, inv_d, 1);
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, im, im, id, 1.0, x, id, y, id,
			            0.0, k, im);
			kxy = kernel_sum(k, m, inv_d, 0);
		}
		vals[s] = (kxx + kyy) / (md * (md - 1)) - 2 * kxy / (md * md);
		total += vals[s];
	}
	double mu = total / (double)n_subsets, var = 0;
	for (size_t s = 0; s < n_subsets; s++)
		var += (vals[s] - mu) * (vals[s] - mu);
	*mean = mu;
	*std = sqrt(var / (double)n_subsets);
	if (mmd2)
		memcpy(mmd2, vals, n_subsets * sizeof *vals);
	free(x), free(y), free(k), free(g11), free(g22), free(g12), free(vals);
	return TS_OK;
}

ts_status tg_kid(const double *f1, size_t n1, const double *f2, size_t n2, size_t d,
                 size_t n_subsets, size_t m, uint64_t seed, double *mean, double *std)
{
	if (!valid_sizes(n1, n2, d, m, n_subsets))
		return TS_ERR_ARG;
	uint64_t *idx1 = malloc(n_subsets * m * sizeof *idx1);
	uint64_t *idx2 = malloc(n_subsets * m * sizeof *idx2);
	ts_status st = TS_ERR_NOMEM;
	if (idx1 && idx2)
		st = tg_kid_draw_subsets(seed, n1, n2, m, n_subsets, idx1, idx2);
	if (st == TS_OK)
		st = tg_kid_subsets(f1, n1, f2, n2, d, idx1, idx2, n_subsets, m, NULL, mean, std);
	free(idx1);
	free(idx2);
	return st;
}
