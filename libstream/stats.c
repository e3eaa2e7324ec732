/* Statistics of pixel values; see stats.h for the definitions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* Independent accumulators per block: the compiler keeps them in vector
 * registers (and without -ffast-math it may not reassociate a single sum
 * itself), and they hide the latency of the additions. */
#define LANES 4

void tg_stats_init(tg_stats *s)
{
	s->n = s->nans = 0;
	s->min = s->max = s->mean = NAN;
	s->m2 = 0;
}

/* Adds a block of nb values with mean mb, squared deviations m2b and
 * range [mn, mx] (Chan, Golub and LeVeque's pairwise update). */
static void merge_block(tg_stats *s, uint64_t nb, double mb, double m2b, double mn, double mx)
{
	if (nb == 0)
		return;
	if (s->n == 0) {
		s->n = nb;
		s->mean = mb;
		s->m2 = m2b;
		s->min = mn;
		s->max = mx;
		return;
	}
	double na = (double)s->n, nbd = (double)nb, nt = na + nbd;
	double delta = mb - s->mean;
	s->mean += delta * (nbd / nt);
	s->m2 += m2b + delta * delta * (na * nbd / nt);
	s->n += nb;
	if (mn < s->min)
		s->min = mn;
	if (mx > s->max)
		s->max = mx;
}

/* A block with NaN or infinite values: skips NaN, shifts by the first
 * finite value. */
static void block_careful(tg_stats *s, const float *x, size_t n)
{
	double k = 0, s1 = 0, s2 = 0, mn = INFINITY, mx = -INFINITY;
	uint64_t cnt = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i])) {
			k = x[i];
			break;
		}
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		if (isnan(v)) {
			s->nans++;
			continue;
		}
		cnt++;
		double d = (double)v - k;
		s1 += d;
		s2 += d * d;
		if (v < mn)
			mn = v;
		if (v > mx)
			mx = v;
	}
	if (cnt == 0)
		return;
	double c = (double)cnt;
	double m2 = s2 - s1 * s1 / c;
	merge_block(s, cnt, k + s1 / c, m2 > 0 ? m2 : (isnan(m2) ? m2 : 0), mn, mx);
}

/* One block (n <= TG_STATS_BLOCK): sums of x - x[0] and of its square in
 * double, min and max in float, LANES of each. */
static void block_fast(tg_stats *s, const float *x, size_t n)
{
	const float x0 = x[0];
	const double k = x0;
	double s1[LANES], s2[LANES];
	float mn[LANES], mx[LANES];
	for (int l = 0; l < LANES; l++) {
		s1[l] = s2[l] = 0;
		mn[l] = mx[l] = x0;
	}
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (int l = 0; l < LANES; l++) {
			float v = x[i + l];
			double d = (double)v - k;
			s1[l] += d;
			s2[l] += d * d;
			mn[l] = v < mn[l] ? v : mn[l];
			mx[l] = v > mx[l] ? v : mx[l];
		}
	for (; i < n; i++) {
		float v = x[i];
		double d = (double)v - k;
		s1[0] += d;
		s2[0] += d * d;
		mn[0] = v < mn[0] ? v : mn[0];
		mx[0] = v > mx[0] ? v : mx[0];
	}
	double t1 = 0, t2 = 0;
	float lo = mn[0], hi = mx[0];
	for (int l = 0; l < LANES; l++) {
		t1 += s1[l];
		t2 += s2[l];
		lo = mn[l] < lo ? mn[l] : lo;
		hi = mx[l] > hi ? mx[l] : hi;
	}
	/* NaN anywhere (or infinities, which make x - x[0] NaN or the
	 * sums infinite) takes the careful path; plain data never does. */
	if (!isfinite(t1) || !isfinite(t2)) {
		block_careful(s, x, n);
		return;
	}
	double c = (double)n;
	double m2 = t2 - t1 * t1 / c;
	merge_block(s, n, k + t1 / c, m2 > 0 ? m2 : 0, lo, hi);
}

void tg_stats_add_f32(tg_stats *s, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i += TG_STATS_BLOCK)
		block_fast(s, x + i, n - i < TG_STATS_BLOCK ? n - i : TG_STATS_BLOCK);
}

void tg_stats_add(tg_stats *s, ts_dtype t, const void *x, size_t n)
{
	if (t == TS_F32) {
		tg_stats_add_f32(s, x, n);
		return;
	}
	float buf[TG_STATS_BLOCK];
	size_t esize = ts_dtype_size(t);
	const unsigned char *p = x;
	for (size_t i = 0; i < n; i += TG_STATS_BLOCK) {
		size_t m = n - i < TG_STATS_BLOCK ? n - i : TG_STATS_BLOCK;
		ts_convert_to_f32(t, p + i * esize, buf, m);
		block_fast(s, buf, m);
	}
}

void tg_stats_merge(tg_stats *dst, const tg_stats *src)
{
	dst->nans += src->nans;
	merge_block(dst, src->n, src->mean, src->m2, src->min, src->max);
}

double tg_stats_var(const tg_stats *s)
{
	return s->n ? s->m2 / (double)s->n : NAN;
}

double tg_stats_std(const tg_stats *s)
{
	return sqrt(tg_stats_var(s));
}

/* ================================================================ selection */

size_t tg_drop_nan(float *a, size_t n)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(a[i]))
			a[m++] = a[i];
	return m;
}

static inline void swapf(float *a, size_t i, size_t j)
{
	float t = a[i];
	a[i] = a[j];
	a[j] = t;
}

static void insertion_sort(float *a, size_t lo, size_t hi)
{
	for (size_t i = lo + 1; i <= hi; i++) {
		float v = a[i];
		size_t j = i;
		while (j > lo && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

static size_t median3(const float *a, size_t i, size_t j, size_t k)
{
	if (a[i] < a[j]) {
		if (a[j] < a[k]) return j;
		return a[i] < a[k] ? k : i;
	}
	if (a[i] < a[k]) return i;
	return a[j] < a[k] ? k : j;
}

static void select_range(float *a, size_t lo, size_t hi, size_t k, int careful);

/* Median of medians of groups of five (Blum, Floyd, Pratt, Rivest and
 * Tarjan, 1973): a pivot with at least about 30% of the values on each
 * side.  The group medians are gathered at the front of a[lo..hi]. */
static size_t pivot_mom(float *a, size_t lo, size_t hi)
{
	size_t n = hi - lo + 1, groups = 0;
	for (size_t g = lo; g + 4 <= hi; g += 5) {
		insertion_sort(a, g, g + 4);
		swapf(a, lo + groups, g + 2);
		groups++;
	}
	if (groups == 0)
		return lo + n / 2;
	size_t mid = lo + (groups - 1) / 2;
	select_range(a, lo, lo + groups - 1, mid, 1);
	return mid;
}

/* Median of three, or for larger ranges Tukey's ninther (the median of
 * three medians of three), spread over the range. */
static size_t pivot_sample(const float *a, size_t lo, size_t hi)
{
	size_t n = hi - lo + 1, mid = lo + n / 2;
	if (n < 1024)
		return median3(a, lo, mid, hi);
	size_t e = n / 8;
	return median3(a, median3(a, lo, lo + e, lo + 2 * e),
	               median3(a, mid - e, mid, mid + e),
	               median3(a, hi - 2 * e, hi - e, hi));
}

/* Moves the smallest (or largest) of a[lo..hi] to a[lo] (or a[hi]). */
static void place_min(float *a, size_t lo, size_t hi)
{
	size_t m = lo;
	for (size_t i = lo + 1; i <= hi; i++)
		if (a[i] < a[m])
			m = i;
	swapf(a, lo, m);
}

static void place_max(float *a, size_t lo, size_t hi)
{
	size_t m = lo;
	for (size_t i = lo + 1; i <= hi; i++)
		if (a[i] > a[m])
			m = i;
	swapf(a, hi, m);
}

/* Quickselect over a[lo..hi] (inclusive) for index k, with sampled pivots
 * and Hoare's partition (which splits runs of equal values evenly).  The
 * values partitioned are counted: past 8 times the range (random data
 * needs about 3), pivots become medians of medians, which bounds the whole
 * in linear time whatever the input. */
static void select_range(float *a, size_t lo, size_t hi, size_t k, int careful)
{
	uint64_t budget = 8 * (uint64_t)(hi - lo + 1), spent = 0;
	while (hi > lo) {
		size_t n = hi - lo + 1;
		if (n <= 16) {
			insertion_sort(a, lo, hi);
			return;
		}
		if (k == lo) {
			place_min(a, lo, hi);
			return;
		}
		if (k == hi) {
			place_max(a, lo, hi);
			return;
		}
		spent += n;
		size_t pi = careful || spent > budget ? pivot_mom(a, lo, hi) : pivot_sample(a, lo, hi);
		swapf(a, lo, pi);
		float p = a[lo];
		/* Hoare's scans as Sedgewick writes them: both stop at values
		 * equal to the pivot, which then lands at j with
		 * a[lo..j-1] <= p <= a[j+1..hi] */
		size_t i = lo, j = hi + 1;
		for (;;) {
			while (a[++i] < p)
				if (i == hi)
					break;
			while (p < a[--j]) {}
			if (i >= j)
				break;
			swapf(a, i, j);
		}
		swapf(a, lo, j);
		if (k == j)
			return;
		if (k < j)
			hi = j - 1;
		else
			lo = j + 1;
	}
}

/* Selects every rank of r[0..nr-1] (ascending, distinct, within lo..hi):
 * the middle one first, then each side within its part, so m ranks cost
 * about log2(m) passes rather than m. */
static void select_many(float *a, size_t lo, size_t hi, const size_t *r, size_t nr)
{
	while (nr > 0) {
		size_t m = nr / 2, k = r[m];
		select_range(a, lo, hi, k, 0);
		if (m > 0)
			select_many(a, lo, k - 1, r, m);
		r += m + 1;
		nr -= m + 1;
		lo = k + 1;
	}
}

float tg_select(float *a, size_t n, size_t k)
{
	select_range(a, 0, n - 1, k, 0);
	return a[k];
}

void tg_percentile_pos(uint64_t n, double q, uint64_t *k, double *t)
{
	/* NumPy: virtual index (n - 1) * (q / 100), clamped to the ends */
	double p = (double)(n - 1) * (q / 100.0);
	if (!(p > 0)) {
		*k = 0;
		*t = 0;
		return;
	}
	if (p >= (double)(n - 1)) {
		*k = n - 1;
		*t = 0;
		return;
	}
	double f = floor(p);
	*k = (uint64_t)f;
	*t = p - f;
}

double tg_lerp_percentile(double lo, double hi, double t)
{
	double d = hi - lo;
	return t >= 0.5 ? hi - d * (1 - t) : lo + d * t;
}

static int cmp_size(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	return a < b ? -1 : a > b;
}

static int cmp_floatv(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;
	return a < b ? -1 : a > b;
}

#define SAMPLE 16384
#define SAMPLE_MIN_N ((size_t)1 << 17)

/* Order statistics of large arrays in about one branch-free pass per
 * needed rank (Floyd and Rivest's idea of narrowing by a sample): a
 * strided sample of SAMPLE values, sorted, gives for each rank k a value
 * band that holds the k-th value with high probability (4 binomial
 * standard deviations of margin); one pass counts the values below the
 * band and gathers those in it, and quickselect finishes inside the band.
 * Ranks r[0..nr-1] ascending and distinct; values into v.  Returns -1
 * when a band missed its rank or would hold more than an eighth of the
 * values (runs of equal values), for the caller to select in place. */
static int select_by_sample(const float *a, size_t n, const size_t *r, size_t nr, float *v)
{
	size_t cap = n / 8 + 2048;
	float *smp = malloc(SAMPLE * sizeof *smp), *band = malloc(cap * sizeof *band);
	size_t *rel = malloc(nr * sizeof *rel);
	int ok = smp && band && rel;
	for (size_t i = 0; ok && i < SAMPLE; i++)
		smp[i] = a[(size_t)(((uint64_t)i * n + n / 2) / SAMPLE)];
	if (ok)
		qsort(smp, SAMPLE, sizeof *smp, cmp_floatv);
	for (size_t i = 0; ok && i < nr;) {
		/* band of sample positions [lo, hi] around r[i] and the ranks
		 * after it whose bands overlap */
		double p = (double)r[i] / (double)n;
		double d = 4 * sqrt(SAMPLE * p * (1 - p)) + 4;
		double lo = p * SAMPLE - d, hi = p * SAMPLE + d;
		size_t j = i + 1;
		for (; j < nr; j++) {
			double pj = (double)r[j] / (double)n;
			double dj = 4 * sqrt(SAMPLE * pj * (1 - pj)) + 4;
			if (pj * SAMPLE - dj > hi)
				break;
			hi = pj * SAMPLE + dj;
		}
		float vlo = lo < 0 ? -INFINITY : smp[(size_t)lo];
		float vhi = hi >= SAMPLE - 1 ? INFINITY : smp[(size_t)hi + 1];
		size_t below = 0, m = 0;
		for (size_t b = 0; b < n && ok; b += 4096) {
			size_t e = n - b < 4096 ? n : b + 4096;
			if (m + (e - b) > cap) {
				ok = 0;
				break;
			}
			for (size_t t = b; t < e; t++) {
				float x = a[t];
				below += x < vlo;
				band[m] = x;
				m += (x >= vlo) & (x <= vhi);
			}
		}
		if (!ok || r[i] < below || r[j - 1] >= below + m) {
			ok = 0;
			break;
		}
		for (size_t t = i; t < j; t++)
			rel[t - i] = r[t] - below;
		select_many(band, 0, m - 1, rel, j - i);
		for (size_t t = i; t < j; t++)
			v[t] = band[rel[t - i]];
		i = j;
	}
	free(smp);
	free(band);
	free(rel);
	return ok ? 0 : -1;
}

void tg_percentiles_f32(float *a, size_t n, const double *q, size_t nq, double *out)
{
	if (n == 0) {
		for (size_t i = 0; i < nq; i++)
			out[i] = NAN;
		return;
	}
	/* every order statistic needed, ascending and distinct */
	size_t *ranks = malloc(2 * nq * sizeof *ranks + 1);
	float *vals = malloc(2 * nq * sizeof *vals + 1);
	if (!ranks || !vals) {  /* a few bytes: one selection per rank */
		free(ranks);
		free(vals);
		for (size_t i = 0; i < nq; i++) {
			uint64_t k;
			double t;
			tg_percentile_pos(n, q[i], &k, &t);
			double lo = tg_select(a, n, (size_t)k);
			double hi = k + 1 < n ? tg_select(a, n, (size_t)k + 1) : lo;
			out[i] = tg_lerp_percentile(lo, hi, t);
		}
		return;
	}
	size_t m = 0;
	for (size_t i = 0; i < nq; i++) {
		uint64_t k;
		double t;
		tg_percentile_pos(n, q[i], &k, &t);
		ranks[m++] = (size_t)k;
		if (k + 1 < n)
			ranks[m++] = (size_t)k + 1;
	}
	qsort(ranks, m, sizeof *ranks, cmp_size);
	size_t nr = 0;
	for (size_t i = 0; i < m; i++)
		if (i == 0 || ranks[i] != ranks[nr - 1])
			ranks[nr++] = ranks[i];
	if (n < SAMPLE_MIN_N || select_by_sample(a, n, ranks, nr, vals) != 0) {
		select_many(a, 0, n - 1, ranks, nr);
		for (size_t i = 0; i < nr; i++)
			vals[i] = a[ranks[i]];
	}
	for (size_t i = 0; i < nq; i++) {
		uint64_t k;
		double t;
		tg_percentile_pos(n, q[i], &k, &t);
		size_t at = 0;
		while (ranks[at] != k)
			at++;
		double lo = vals[at];
		double hi = k + 1 < n ? vals[at + 1] : lo;
		out[i] = tg_lerp_percentile(lo, hi, t);
	}
	free(ranks);
	free(vals);
}

/* ================================================================ histogram */

int tg_hist_init(tg_hist *h, ts_dtype t)
{
	memset(h, 0, sizeof *h);
	h->t = t;
	switch (t) {
	case TS_U8: h->bins = 256; break;
	case TS_U16: h->bins = 65536; break;
	case TS_I16: h->bins = 65536; h->offset = -32768; break;
	default: return -1;
	}
	h->count = calloc(h->bins, sizeof *h->count);
	return h->count ? 0 : -2;
}

void tg_hist_add(tg_hist *h, const void *x, size_t n)
{
	uint64_t *c = h->count;
	switch (h->t) {
	case TS_U8: { const uint8_t *p = x; for (size_t i = 0; i < n; i++) c[p[i]]++; break; }
	case TS_U16: { const uint16_t *p = x; for (size_t i = 0; i < n; i++) c[p[i]]++; break; }
	case TS_I16: { const int16_t *p = x; for (size_t i = 0; i < n; i++) c[p[i] + 32768]++; break; }
	default: return;
	}
	h->n += n;
}

void tg_hist_clear(tg_hist *h)
{
	memset(h->count, 0, h->bins * sizeof *h->count);
	h->n = 0;
}

/* Value of the k-th smallest counted value (k < n). */
static double hist_kth(const tg_hist *h, uint64_t k)
{
	uint64_t below = 0;
	for (size_t b = 0; b < h->bins; b++) {
		below += h->count[b];
		if (below > k)
			return (double)((int64_t)b + h->offset);
	}
	return NAN;
}

void tg_hist_percentiles(const tg_hist *h, const double *q, size_t nq, double *out)
{
	for (size_t i = 0; i < nq; i++) {
		if (h->n == 0) {
			out[i] = NAN;
			continue;
		}
		uint64_t k;
		double t;
		tg_percentile_pos(h->n, q[i], &k, &t);
		double lo = hist_kth(h, k);
		double hi = k + 1 < h->n ? hist_kth(h, k + 1) : lo;
		out[i] = tg_lerp_percentile(lo, hi, t);
	}
}

void tg_hist_free(tg_hist *h)
{
	free(h->count);
	h->count = NULL;
}

/* ================================================================ sampling */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void tg_rng_seed(tg_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t tg_rng_next(tg_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t tg_rng_below(tg_rng *r, uint64_t bound)
{
	uint64_t mask = bound - 1;
	mask |= mask >> 1;
	mask |= mask >> 2;
	mask |= mask >> 4;
	mask |= mask >> 8;
	mask |= mask >> 16;
	mask |= mask >> 32;
	for (;;) {
		uint64_t v = tg_rng_next(r) & mask;
		if (v < bound)
			return v;
	}
}

void tg_rng_permutation(tg_rng *r, uint64_t *perm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)tg_rng_below(r, i);
		uint64_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}
