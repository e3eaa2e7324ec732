/* stats.h: statistics of pixel values, for tsinfo and for any program that
 * reports or checks value ranges.
 *
 * Moments: one pass over the data, float loads and double accumulators.
 * The data go through in blocks of TG_STATS_BLOCK values; each block is
 * accumulated around its own first value (so a large common offset, as in
 * CT numbers, does not cancel away the variance) and blocks are merged with
 * the pairwise update of Chan, Golub and LeVeque (1979), so results do not
 * drift with the number of values.  NaN values are counted and left out of
 * everything else, as numpy.nanmin/nanmean/nanstd do; infinities are kept
 * and propagate as they do in NumPy (mean +-inf, std NaN).
 *
 * Percentiles: exact, with NumPy's default ("linear") definition: for q in
 * [0, 100] the position p = (n - 1) * q / 100 in the sorted values, and the
 * result a + (b - a) * t between the order statistics a = x[floor(p)] and
 * b = x[floor(p) + 1], t = p - floor(p) (written as b - (b - a) * (1 - t)
 * for t >= 0.5, as NumPy does).  Order statistics come from selection,
 * never a sort of the data: quickselect with a median-of-medians fallback
 * (linear time whatever the input); for large arrays first a sorted sample
 * of 16384 values narrows each wanted rank to a band of values gathered
 * in one branch-free pass (Floyd and Rivest's sampling idea), so a few
 * percentiles cost a few passes.  For 8- and 16-bit integer data a
 * histogram gives them with no copy of the values at all.
 *
 * Also here: the seeded generator behind sampling (tscut --shuffle, tsgen
 * noise).
 */
#ifndef TOMOGAN_STATS_H
#define TOMOGAN_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "tstream.h"

#define TG_STATS_BLOCK 1024

typedef struct {
	uint64_t n;      /* values counted (NaN excluded) */
	uint64_t nans;   /* NaN values seen */
	double min, max; /* NaN while n == 0 */
	double mean;     /* NaN while n == 0 */
	double m2;       /* sum of squared deviations from the mean */
} tg_stats;

void tg_stats_init(tg_stats *s);
/* Adds n values of type t (any stream type). */
void tg_stats_add(tg_stats *s, ts_dtype t, const void *x, size_t n);
void tg_stats_add_f32(tg_stats *s, const float *x, size_t n);
/* Adds the values that src counted to dst. */
void tg_stats_merge(tg_stats *dst, const tg_stats *src);
/* Population variance and standard deviation (NumPy's ddof=0); NaN while
 * n == 0. */
double tg_stats_var(const tg_stats *s);
double tg_stats_std(const tg_stats *s);

/* ---- percentiles ---- */

/* Moves the non-NaN values of a to its front, keeping their order, and
 * returns how many there are. */
size_t tg_drop_nan(float *a, size_t n);
/* The k-th smallest of a[0..n-1] (k < n, no NaN), reordering a so that
 * a[k] holds it, a[i] <= a[k] for i < k and a[i] >= a[k] for i > k.
 * Linear time in the worst case. */
float tg_select(float *a, size_t n, size_t k);
/* The linear-interpolation value for percentile q in [0, 100] given the
 * order statistics: lo = x[floor(p)], hi = x[floor(p) + 1] (or lo again
 * when floor(p) is the last index), t = p - floor(p). */
double tg_lerp_percentile(double lo, double hi, double t);
/* Position of percentile q among n values: *k = floor(p), *t = p - *k. */
void tg_percentile_pos(uint64_t n, double q, uint64_t *k, double *t);
/* Percentiles q[0..nq-1] (each in [0, 100], any order) of a[0..n-1] into
 * out[0..nq-1].  a must hold no NaN (see tg_drop_nan) and is reordered.
 * With n == 0 every result is NaN. */
void tg_percentiles_f32(float *a, size_t n, const double *q, size_t nq, double *out);

/* Histogram of 8- or 16-bit integer values, one bin per possible value:
 * exact percentiles over any number of values in fixed memory. */
typedef struct {
	ts_dtype t;
	size_t bins;
	int64_t offset;      /* value of bin 0 */
	uint64_t *count;
	uint64_t n;
} tg_hist;

/* Sets up a histogram for u8, u16 or i16; -1 for other types (nothing to
 * free then), -2 when out of memory. */
int tg_hist_init(tg_hist *h, ts_dtype t);
void tg_hist_add(tg_hist *h, const void *x, size_t n);
void tg_hist_clear(tg_hist *h);
void tg_hist_percentiles(const tg_hist *h, const double *q, size_t nq, double *out);
void tg_hist_free(tg_hist *h);

/* ---- seeded sampling ----
 * xoshiro256** (Blackman and Vigna, 2018) with its state filled by four
 * outputs of splitmix64 from the seed, as its authors recommend: the same
 * seed gives the same numbers on every machine. */
typedef struct {
	uint64_t s[4];
} tg_rng;

void tg_rng_seed(tg_rng *r, uint64_t seed);
uint64_t tg_rng_next(tg_rng *r);
/* Uniform in [0, bound) (bound >= 1), by rejection on the bits below the
 * next power of two: unbiased. */
uint64_t tg_rng_below(tg_rng *r, uint64_t bound);
/* perm[0..n-1] = a uniformly random permutation of 0..n-1 (Fisher-Yates,
 * from the last position down, each swap partner drawn by tg_rng_below). */
void tg_rng_permutation(tg_rng *r, uint64_t *perm, size_t n);

#endif
