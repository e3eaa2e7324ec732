/* stats.c: streaming mean and covariance of feature vectors (see fidstats.h). */
#include "fid/fidstats.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

ts_status tg_fid_acc_init(tg_fid_acc *a, size_t d)
{
	memset(a, 0, sizeof *a);
	if (d == 0 || d > ((size_t)1 << 15))
		return TS_ERR_ARG;
	a->d = d;
	a->shift = calloc(d, sizeof *a->shift);
	a->sum = calloc(d, sizeof *a->sum);
	a->cross = calloc(d * d, sizeof *a->cross);
	a->block = malloc((size_t)TG_FID_ACC_BLOCK * d * sizeof *a->block);
	if (!a->shift || !a->sum || !a->cross || !a->block) {
		tg_fid_acc_free(a);
		return TS_ERR_NOMEM;
	}
	return TS_OK;
}

void tg_fid_acc_free(tg_fid_acc *a)
{
	free(a->shift);
	free(a->sum);
	free(a->cross);
	free(a->block);
	memset(a, 0, sizeof *a);
}

/* Rows are read as double through one of two element types. */
static double elem(const void *x, int is_f32, size_t k)
{
	return is_f32 ? (double)((const float *)x)[k] : ((const double *)x)[k];
}

static ts_status add_rows(tg_fid_acc *a, const void *x, int is_f32, size_t n)
{
	size_t d = a->d;
	if (!a->shift || (n > 0 && !x))
		return TS_ERR_ARG;
	if (n == 0)
		return TS_OK;
	if (a->n == 0) {
		/* the first batch's mean becomes the shift: summed in double,
		 * one row at a time */
		memset(a->shift, 0, d * sizeof *a->shift);
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < d; j++)
				a->shift[j] += elem(x, is_f32, i * d + j);
		for (size_t j = 0; j < d; j++)
			a->shift[j] /= (double)n;
	}
	for (size_t i0 = 0; i0 < n; i0 += TG_FID_ACC_BLOCK) {
		size_t rows = n - i0 < TG_FID_ACC_BLOCK ? n - i0 : TG_FID_ACC_BLOCK;
		for (size_t i = 0; i < rows; i++) {
			double *b = a->block + i * d;
			for (size_t j = 0; j < d; j++) {
				b[j] = elem(x, is_f32, (i0 + i) * d + j) - a->shift[j];
				a->sum[j] += b[j];
			}
		}
		/* cross += block^T block (d x d, upper triangle) */
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)rows,
		            1.0, a->block, (int)d, 1.0, a->cross, (int)d);
	}
	a->n += n;
	return TS_OK;
}

ts_status tg_fid_acc_add_f64(tg_fid_acc *a, const double *x, size_t n)
{
	return add_rows(a, x, 0, n);
}

ts_status tg_fid_acc_add_f32(tg_fid_acc *a, const float *x, size_t n)
{
	return add_rows(a, x, 1, n);
}

ts_status tg_fid_acc_merge(tg_fid_acc *dst, const tg_fid_acc *src)
{
	size_t d = dst->d;
	if (!dst->shift || !src->shift || src->d != d)
		return TS_ERR_ARG;
	if (src->n == 0)
		return TS_OK;
	if (dst->n == 0) {
		memcpy(dst->shift, src->shift, d * sizeof *dst->shift);
		memcpy(dst->sum, src->sum, d * sizeof *dst->sum);
		memcpy(dst->cross, src->cross, d * d * sizeof *dst->cross);
		dst->n = src->n;
		return TS_OK;
	}
	/* src's rows about dst's shift: y - c_dst = (y - c_src) + delta with
	 * delta = c_src - c_dst, so
	 *   sum   += s_src + n_src delta
	 *   cross += C_src + s_src delta^T + delta s_src^T + n_src delta delta^T */
	double *delta = dst->block;
	double ns = (double)src->n;
	for (size_t j = 0; j < d; j++) {
		delta[j] = src->shift[j] - dst->shift[j];
		dst->sum[j] += src->sum[j] + ns * delta[j];
	}
	for (size_t i = 0; i < d; i++)
		for (size_t j = i; j < d; j++)
			dst->cross[i * d + j] += src->cross[i * d + j];
	cblas_dsyr2(CblasRowMajor, CblasUpper, (int)d, 1.0, src->sum, 1, delta, 1,
	            dst->cross, (int)d);
	cblas_dsyr(CblasRowMajor, CblasUpper, (int)d, ns, delta, 1, dst->cross, (int)d);
	dst->n += src->n;
	return TS_OK;
}

ts_status tg_fid_acc_result(const tg_fid_acc *a, double *mu, double *sigma)
{
	size_t d = a->d;
	if (!a->shift || a->n < 2)
		return TS_ERR_ARG;
	double n = (double)a->n;
	for (size_t j = 0; j < d; j++)
		mu[j] = a->shift[j] + a->sum[j] / n;
	/* sigma = (C - s s^T / n) / (n - 1), mirrored into the lower triangle */
	for (size_t i = 0; i < d; i++) {
		double mi = a->sum[i] / n;
		for (size_t j = i; j < d; j++) {
			double v = (a->cross[i * d + j] - mi * a->sum[j]) / (n - 1);
			sigma[i * d + j] = v;
			sigma[j * d + i] = v;
		}
	}
	return TS_OK;
}

ts_status tg_fid_stats_f64(const double *x, size_t n, size_t d, double *mu, double *sigma)
{
	tg_fid_acc a;
	ts_status st = tg_fid_acc_init(&a, d);
	if (st == TS_OK)
		st = tg_fid_acc_add_f64(&a, x, n);
	if (st == TS_OK)
		st = tg_fid_acc_result(&a, mu, sigma);
	tg_fid_acc_free(&a);
	return st;
}
