/* fidstats.h: mean and covariance of feature vectors for the Frechet
 * Inception Distance, accumulated batch by batch.
 *
 * The statistics are those of pytorch-fid: mu = the mean of the N feature
 * vectors (rows of d values), sigma = numpy.cov(features, rowvar=False),
 * the unbiased covariance that divides by N - 1.  Everything is float64,
 * as pytorch-fid's activations array is.
 *
 * Accumulation: every row x is shifted by a fixed vector c before it is
 * summed, s = sum (x - c), C = sum (x - c)(x - c)^T, the outer products
 * taken a block of rows at a time with one cblas_dsyrk (upper triangle).
 * c is the mean of the first batch added, so the shifted values are
 * centred up to the drift between batches and the final correction
 * sigma = (C - s s^T / N) / (N - 1) subtracts little: a large common
 * offset in the features (mu far from 0 relative to their spread) does not
 * cancel the covariance away, as it would with raw sums of x x^T.  mu is
 * c + s / N.
 *
 * Every function returns a ts_status (TS_ERR_NOMEM, TS_ERR_ARG); none
 * prints or exits. */
#ifndef TOMOGAN_FID_FIDSTATS_H
#define TOMOGAN_FID_FIDSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "tstream.h"

/* Rows converted and shifted per dsyrk call. */
#define TG_FID_ACC_BLOCK 256

typedef struct {
	size_t d;        /* feature length */
	uint64_t n;      /* rows added so far */
	double *shift;   /* d: c, the first batch's mean */
	double *sum;     /* d: sum of x - c */
	double *cross;   /* d x d row-major: sum of (x - c)(x - c)^T, upper triangle */
	double *block;   /* TG_FID_ACC_BLOCK x d scratch */
} tg_fid_acc;

/* Prepares an accumulator for d-long features (d >= 1). */
ts_status tg_fid_acc_init(tg_fid_acc *a, size_t d);
void tg_fid_acc_free(tg_fid_acc *a);
/* Adds n rows of d values, row-major (x[i * d + j] is feature j of row i). */
ts_status tg_fid_acc_add_f64(tg_fid_acc *a, const double *x, size_t n);
ts_status tg_fid_acc_add_f32(tg_fid_acc *a, const float *x, size_t n);
/* Adds the rows that src counted to dst (same d): for features computed in
 * parallel parts.  src keeps its contents. */
ts_status tg_fid_acc_merge(tg_fid_acc *dst, const tg_fid_acc *src);
/* mu (d values) and sigma (d x d, row-major, symmetric) of the rows added
 * so far; TS_ERR_ARG with fewer than 2 rows (numpy.cov would give NaN). */
ts_status tg_fid_acc_result(const tg_fid_acc *a, double *mu, double *sigma);

/* One call for a whole n x d array. */
ts_status tg_fid_stats_f64(const double *x, size_t n, size_t d, double *mu, double *sigma);

#endif
