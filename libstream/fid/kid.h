/* kid.h: Kernel Inception Distance (Binkowski et al., "Demystifying MMD
 * GANs", ICLR 2018) as torch-fidelity defines it (metric_kid.py):
 *
 *   kernel    k(x, y) = (x . y / d + 1)^3     (polynomial, degree 3,
 *                                              gamma = 1/d, coef0 = 1)
 *   per subset of m rows x_1..x_m of the first set and y_1..y_m of the
 *   second, the unbiased estimate of MMD^2:
 *     sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
 *       - 2 sum_{i, j} k(x_i, y_j) / m^2
 *   KID = the mean over the subsets, reported with their standard
 *   deviation (population, numpy.std's ddof = 0).
 * torch-fidelity's defaults are 100 subsets of 1000 rows (TG_KID_SUBSETS,
 * TG_KID_SUBSET_SIZE) and it refuses sets smaller than a subset.
 * clean-fid computes the same per-subset estimate (its subset size is
 * min(n1, n2, 1000)) but reports the mean alone.
 *
 * Subsets.  Both libraries draw them with NumPy's generator; here they come
 * from the project's seeded generator (tg_rng in stats.h, xoshiro256**),
 * so values agree with theirs up to the sampling spread (the std), not
 * digit for digit.  tg_kid_draw_subsets documents the exact order of
 * draws; tg_kid_subsets takes explicit index lists, which is what the tests
 * compare against a NumPy implementation.
 *
 * Features are float64 rows, row-major n x d. */
#ifndef TOMOGAN_FID_KID_H
#define TOMOGAN_FID_KID_H

#include <stddef.h>
#include <stdint.h>

#include "tstream.h"

#define TG_KID_SUBSETS 100
#define TG_KID_SUBSET_SIZE 1000

/* For each of n_subsets subsets, m distinct indices in [0, n1) into idx1
 * and m distinct indices in [0, n2) into idx2 (subset s at idx[s * m]).
 * Order of draws: one tg_rng seeded with seed; for s = 0, 1, ...: first
 * subset s of set 1, then subset s of set 2.  Each subset is the first m
 * entries of a partial Fisher-Yates shuffle of 0..n-1 restarted from the
 * identity: for i = 0..m-1, j = i + tg_rng_below(n - i), swap entries i
 * and j.  TS_ERR_ARG unless 2 <= m <= n1, n2. */
ts_status tg_kid_draw_subsets(uint64_t seed, size_t n1, size_t n2, size_t m,
                              size_t n_subsets, uint64_t *idx1, uint64_t *idx2);

/* The unbiased MMD^2 of every subset (mmd2[s], may be NULL) and their mean
 * and standard deviation (ddof 0).  Indices are checked against n1, n2.
 * When the subsets would recompute more dot products than the sets have
 * pairs (and the Gram matrices fit in 512 MB, n up to about 4700 per set),
 * the Gram matrices of the sets are computed once and the subsets gather
 * from them; otherwise each subset's products are computed on their own
 * (cblas dsyrk/dgemm).  The two ways agree to rounding (1e-12). */
ts_status tg_kid_subsets(const double *f1, size_t n1, const double *f2, size_t n2,
                         size_t d, const uint64_t *idx1, const uint64_t *idx2,
                         size_t n_subsets, size_t m, double *mmd2,
                         double *mean, double *std);

/* Draws the subsets (tg_kid_draw_subsets) and computes KID. */
ts_status tg_kid(const double *f1, size_t n1, const double *f2, size_t n2, size_t d,
                 size_t n_subsets, size_t m, uint64_t seed, double *mean, double *std);

#endif
