/* Tests of libstream/stats.c: moments and percentiles against NumPy, the
 * selection on inputs that defeat naive quickselect, the histogram path,
 * and the seeded generator against its published reference values.
 *
 * Expected values come from NumPy 1.24 (float64, nanmin/nanmax/nanmean/
 * nanstd with ddof=0, nanpercentile with the default 'linear' method) on
 * the same data, made in Python by the same formulas as data() below:
 *
 *   M = (1 << 64) - 1
 *   def mix(j):
 *       z = (j * 0x9E3779B97F4A7C15) & M
 *       z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
 *       z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
 *       return z ^ (z >> 31)
 *   A = [(mix(j) >> 40) * 2.0**-16 - 128 for j in range(1000)]
 *   B = [1000 + (mix(j + 7777) >> 48) * 2.0**-10 for j in range(12345)]
 *   C = [mix(j + 3) >> 60 for j in range(5001)]
 *   D = [int16 bits of mix(j) >> 48 for j in range(3000)]
 *   E = A with NaN at every 7th index (0, 7, 14, ...)
 *   q = [0, 1, 2.5, 25, 33.3, 50, 75, 99, 99.9, 100]
 *
 * Tolerance: 1e-9 relative (absolute below 1) on every value. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "stats.h"

#define TOL 1e-9
#define NQ 10

static const double Q[NQ] = { 0, 1, 2.5, 25, 33.3, 50, 75, 99, 99.9, 100 };

struct expect {
	const char *name;
	size_t n;
	double mmms[4];   /* min, max, mean, std */
	double pct[NQ];
};

static const struct expect EXPECT[5] = {
	{ "A", 1000, { -128, 127.62823486328125, -1.954405990600586, 72.857394462790481 },
	  { -128, -125.56795806884766, -121.24730529785157, -63.209941864013672, -45.014014328002936,
	    -3.832427978515625, 60.851970672607422, 124.48337142944335, 127.6116194152832, 127.62823486328125 } },
	{ "B", 12345, { 1000.0009765625, 1063.994140625, 1031.9402472692639, 18.469304906694042 },
	  { 1000.0009765625, 1000.6275390625, 1001.5830078125, 1015.935546875, 1021.3399453125,
	    1031.916015625, 1047.791015625, 1063.4087500000001, 1063.922515625, 1063.994140625 } },
	{ "C", 5001, { 0, 15, 7.4531093781243749, 4.6181365714707354 },
	  { 0, 0, 0, 3, 5, 7, 11, 15, 15, 15 } },
	{ "D", 3000, { -32728, 32709, 122.81433333333334, 18996.99379085705 },
	  { -32728, -31885.02, -30879.025000000001, -16156.5, -11233.977000000006, 428.5,
	    16812.75, 32117.049999999999, 32682.002, 32709 } },
	{ "E", 1000, { -127.87576293945312, 127.62823486328125, -0.74816721823835874, 72.68315811652748 },
	  { -127.87576293945312, -124.008427734375, -120.07068176269532, -62.499755859375, -42.25658154296876,
	    -2.1203460693359375, 62.614303588867188, 124.56422607421874, 127.61399780273437, 127.62823486328125 } },
};

static uint64_t mix(uint64_t j)
{
	uint64_t z = j * 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Data set `which` (0..4 for A..E) as float. */
static float *data(int which, size_t n)
{
	float *x = malloc(n * sizeof *x);
	for (size_t j = 0; j < n; j++) {
		switch (which) {
		case 0: case 4: x[j] = (float)((double)(mix(j) >> 40) * 0x1p-16 - 128); break;
		case 1: x[j] = (float)(1000 + (double)(mix(j + 7777) >> 48) * 0x1p-10); break;
		case 2: x[j] = (float)(mix(j + 3) >> 60); break;
		case 3: x[j] = (float)(int16_t)(uint16_t)(mix(j) >> 48); break;
		}
		if (which == 4 && j % 7 == 0)
			x[j] = NAN;
	}
	return x;
}

static int close_to(double got, double want)
{
	if (isnan(want))
		return isnan(got);
	double scale = fabs(want) > 1 ? fabs(want) : 1;
	return fabs(got - want) <= TOL * scale;
}

static double worst_pct(const double *got, const double *want)
{
	double worst = 0;
	for (int i = 0; i < NQ; i++) {
		double scale = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
		double e = fabs(got[i] - want[i]) / scale;
		if (!(e <= worst))
			worst = isnan(e) ? INFINITY : e;
	}
	return worst;
}

static void test_against_numpy(void)
{
	for (int d = 0; d < 5; d++) {
		const struct expect *e = &EXPECT[d];
		float *x = data(d, e->n);
		tg_stats s;
		tg_stats_init(&s);
		tg_stats_add_f32(&s, x, e->n);
		double got[4] = { s.min, s.max, s.mean, tg_stats_std(&s) };
		int ok = 1;
		for (int k = 0; k < 4; k++)
			ok &= close_to(got[k], e->mmms[k]);
		check(ok, "moments %s: min %.17g max %.17g mean %.17g std %.17g (tol %g)",
		      e->name, got[0], got[1], got[2], got[3], TOL);
		size_t nans = d == 4 ? (e->n + 6) / 7 : 0;
		check(s.nans == nans && s.n == e->n - nans, "counts %s: %llu values, %llu NaN",
		      e->name, (unsigned long long)s.n, (unsigned long long)s.nans);

		double pct[NQ];
		size_t m = tg_drop_nan(x, e->n);
		tg_percentiles_f32(x, m, Q, NQ, pct);
		double w = worst_pct(pct, e->pct);
		check(w <= TOL, "percentiles %s by selection: worst relative error %.3g (tol %g)", e->name, w, TOL);
		free(x);
	}
}

/* The same values through every element type's path. */
static void test_types(void)
{
	/* C as u8 and u16, D as i16: histogram percentiles and moments */
	size_t nc = EXPECT[2].n, nd = EXPECT[3].n;
	float *c = data(2, nc), *dv = data(3, nd);
	uint8_t *c8 = malloc(nc);
	uint16_t *c16 = malloc(nc * 2);
	int16_t *d16 = malloc(nd * 2);
	ts_convert_from_f32(TS_U8, c, c8, nc);
	ts_convert_from_f32(TS_U16, c, c16, nc);
	ts_convert_from_f32(TS_I16, dv, d16, nd);
	struct { ts_dtype t; const void *x; size_t n; const struct expect *e; } cases[3] = {
		{ TS_U8, c8, nc, &EXPECT[2] }, { TS_U16, c16, nc, &EXPECT[2] }, { TS_I16, d16, nd, &EXPECT[3] }
	};
	for (int i = 0; i < 3; i++) {
		tg_stats s;
		tg_stats_init(&s);
		tg_stats_add(&s, cases[i].t, cases[i].x, cases[i].n);
		check(close_to(s.mean, cases[i].e->mmms[2]) && close_to(tg_stats_std(&s), cases[i].e->mmms[3]) &&
		      s.min == cases[i].e->mmms[0] && s.max == cases[i].e->mmms[1],
		      "moments of %s data %s: mean %.17g std %.17g", ts_dtype_name(cases[i].t),
		      cases[i].e->name, s.mean, tg_stats_std(&s));
		tg_hist h;
		int hr = tg_hist_init(&h, cases[i].t);
		/* two halves, to exercise accumulation */
		size_t half = cases[i].n / 2, es = ts_dtype_size(cases[i].t);
		tg_hist_add(&h, cases[i].x, half);
		tg_hist_add(&h, (const char *)cases[i].x + half * es, cases[i].n - half);
		double pct[NQ];
		tg_hist_percentiles(&h, Q, NQ, pct);
		double w = worst_pct(pct, cases[i].e->pct);
		check(hr == 0 && h.n == cases[i].n && w <= TOL,
		      "histogram percentiles of %s data %s: worst relative error %.3g",
		      ts_dtype_name(cases[i].t), cases[i].e->name, w);
		tg_hist_clear(&h);
		check(h.n == 0 && h.count[0] == 0 && h.count[h.bins - 1] == 0, "histogram clears");
		tg_hist_free(&h);
	}
	tg_hist h;
	check(tg_hist_init(&h, TS_F32) == -1, "no histogram for f32");

	/* f16: A's values rounded to f16, compared with f32 stats of the
	 * same rounded values */
	size_t na = EXPECT[0].n;
	float *a = data(0, na), *back = malloc(na * sizeof *back);
	uint16_t *a16 = malloc(na * 2);
	ts_convert_from_f32(TS_F16, a, a16, na);
	ts_convert_to_f32(TS_F16, a16, back, na);
	tg_stats s16, s32;
	tg_stats_init(&s16);
	tg_stats_init(&s32);
	tg_stats_add(&s16, TS_F16, a16, na);
	tg_stats_add_f32(&s32, back, na);
	check(s16.mean == s32.mean && s16.m2 == s32.m2 && s16.min == s32.min && s16.max == s32.max,
	      "f16 path equals f32 on the same values");
	free(a);
	free(back);
	free(a16);
	free(c);
	free(dv);
	free(c8);
	free(c16);
	free(d16);
}

/* Merging partial statistics equals one pass over everything, and a large
 * common offset does not hurt the variance. */
static void test_merge_and_offset(void)
{
	size_t n = EXPECT[1].n;
	float *x = data(1, n);
	tg_stats whole, a, b;
	tg_stats_init(&whole);
	tg_stats_init(&a);
	tg_stats_init(&b);
	tg_stats_add_f32(&whole, x, n);
	tg_stats_add_f32(&a, x, 777);
	tg_stats_add_f32(&b, x + 777, n - 777);
	tg_stats_merge(&a, &b);
	check(a.n == whole.n && close_to(a.mean, whole.mean) && fabs(a.m2 - whole.m2) <= 1e-12 * whole.m2 &&
	      a.min == whole.min && a.max == whole.max, "merge of 777 + %zu values equals one pass", n - 777);

	/* 2^16 + k/64, k = j mod 1024: exact in float (23 significant bits),
	 * a mean 4000 times the spread */
	size_t m = 100000;
	float *r = malloc(m * sizeof *r);
	for (size_t j = 0; j < m; j++)
		r[j] = (float)(65536.0 + (double)(j % 1024) / 64);
	tg_stats s;
	tg_stats_init(&s);
	tg_stats_add_f32(&s, r, m);
	double sum = 0, sq = 0;
	for (size_t j = 0; j < m; j++) {
		double d = (double)(j % 1024) / 64;
		sum += d;
		sq += d * d;
	}
	double mean = sum / (double)m, var = sq / (double)m - mean * mean;
	check(close_to(s.mean, 65536.0 + mean) && fabs(tg_stats_var(&s) - var) <= 1e-12 * var,
	      "offset 2^16: mean %.17g variance %.17g (exact %.17g)", s.mean, tg_stats_var(&s), var);

	tg_stats e;
	tg_stats_init(&e);
	check(e.n == 0 && isnan(tg_stats_std(&e)) && isnan(e.mean), "empty statistics are NaN");
	free(x);
	free(r);
}

static void test_special_values(void)
{
	float all_nan[5] = { NAN, NAN, NAN, NAN, NAN };
	tg_stats s;
	tg_stats_init(&s);
	tg_stats_add_f32(&s, all_nan, 5);
	check(s.n == 0 && s.nans == 5 && isnan(s.min) && isnan(s.mean), "all NaN: no values, 5 NaN");

	float with_inf[4] = { 1, INFINITY, 2, 3 };
	tg_stats_init(&s);
	tg_stats_add_f32(&s, with_inf, 4);
	check(s.n == 4 && isinf(s.max) && s.min == 1 && isinf(s.mean) && isnan(tg_stats_std(&s)),
	      "infinity propagates like NumPy: mean inf, std nan");

	float first_nan[3] = { NAN, 2, 4 };
	tg_stats_init(&s);
	tg_stats_add_f32(&s, first_nan, 3);
	check(s.n == 2 && s.nans == 1 && s.mean == 3 && s.min == 2 && s.max == 4 && tg_stats_std(&s) == 1,
	      "leading NaN skipped: mean 3 std 1");

	double out[2];
	double q2[2] = { 0, 50 };
	tg_percentiles_f32(NULL, 0, q2, 2, out);
	check(isnan(out[0]) && isnan(out[1]), "percentiles of no values are NaN");
	float one = 5;
	tg_percentiles_f32(&one, 1, q2, 2, out);
	check(out[0] == 5 && out[1] == 5, "percentiles of one value");
	float two[2] = { 10, 0 };
	double q3[3] = { 25, 50, 100 };
	double o3[3];
	tg_percentiles_f32(two, 2, q3, 3, o3);
	check(o3[0] == 2.5 && o3[1] == 5 && o3[2] == 10, "percentiles of two values: %g %g %g", o3[0], o3[1], o3[2]);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* Inputs that make naive pivot choices quadratic, checked against a sort. */
static void test_select_patterns(void)
{
	const size_t n = 200001;
	float *x = malloc(n * sizeof *x), *ref = malloc(n * sizeof *ref), *w = malloc(n * sizeof *w);
	const char *names[6] = { "sorted", "reversed", "constant", "organ pipe", "two values", "median-of-3 killer" };
	for (int p = 0; p < 6; p++) {
		for (size_t j = 0; j < n; j++) {
			switch (p) {
			case 0: x[j] = (float)j; break;
			case 1: x[j] = (float)(n - j); break;
			case 2: x[j] = 42; break;
			case 3: x[j] = (float)(j < n / 2 ? j : n - j); break;
			case 4: x[j] = (float)(mix(j) >> 63); break;
			case 5: x[j] = (float)(j % 2 ? j : n / 2 + j / 2); break;
			}
		}
		memcpy(ref, x, n * sizeof *x);
		qsort(ref, n, sizeof *ref, cmp_float);
		size_t ks[5] = { 0, 1, n / 3, n / 2, n - 1 };
		int ok = 1;
		for (int i = 0; i < 5; i++) {
			memcpy(w, x, n * sizeof *x);
			float v = tg_select(w, n, ks[i]);
			ok &= v == ref[ks[i]];
			/* partition property around k */
			for (size_t j = 0; j < n && ok; j += 997)
				ok &= j < ks[i] ? w[j] <= v : j > ks[i] ? w[j] >= v : 1;
		}
		double pct[NQ], want[NQ];
		memcpy(w, x, n * sizeof *x);
		tg_percentiles_f32(w, n, Q, NQ, pct);
		for (int i = 0; i < NQ; i++) {
			uint64_t k;
			double t;
			tg_percentile_pos(n, Q[i], &k, &t);
			want[i] = tg_lerp_percentile(ref[k], k + 1 < n ? ref[k + 1] : ref[k], t);
		}
		check(ok && worst_pct(pct, want) == 0, "selection on %s input of %zu values matches a sort", names[p], n);
	}
	/* random values through the sampled bands (n >= 2^17), with many
	 * percentiles at once, and mostly-equal values, which overflow the
	 * bands and take the in-place path */
	for (int p = 0; p < 2; p++) {
		size_t m = (size_t)1 << 20;
		float *r = malloc(m * sizeof *r), *rs = malloc(m * sizeof *rs);
		for (size_t j = 0; j < m; j++)
			r[j] = p == 0 ? (float)((double)(mix(j + 99) >> 40) * 0x1p-24) : (j % 10 ? 0.0f : (float)(mix(j) >> 54));
		memcpy(rs, r, m * sizeof *r);
		qsort(rs, m, sizeof *rs, cmp_float);
		static const double qs[12] = { 0, 0.1, 1, 10, 25, 49.99, 50, 75, 90, 99, 99.9, 100 };
		double got[12], want[12];
		tg_percentiles_f32(r, m, qs, 12, got);
		double worst = 0;
		for (int i = 0; i < 12; i++) {
			uint64_t k;
			double t;
			tg_percentile_pos(m, qs[i], &k, &t);
			want[i] = tg_lerp_percentile(rs[k], k + 1 < m ? rs[k + 1] : rs[k], t);
			double e = fabs(got[i] - want[i]);
			if (!(e <= worst))
				worst = isnan(e) ? INFINITY : e;
		}
		check(worst == 0, "12 percentiles of 2^20 %s values match a sort (worst difference %g)",
		      p == 0 ? "random" : "mostly zero", worst);
		free(r);
		free(rs);
	}
	/* linear time: a constant input of 4M values selects its median in
	 * a small multiple of a pass (a quadratic scheme would need hours) */
	size_t big = (size_t)4 << 20;
	float *c = malloc(big * sizeof *c);
	for (size_t j = 0; j < big; j++)
		c[j] = (float)(j & 1);
	clock_t t0 = clock();
	float med = tg_select(c, big, big / 2);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	check(med == 1 && secs < 5, "median of 4M two-valued values in %.3f s", secs);
	free(c);
	free(x);
	free(ref);
	free(w);
}

static void test_rng(void)
{
	/* xoshiro256** from state {1, 2, 3, 4}: the reference implementation's
	 * first outputs */
	static const uint64_t want[6] = { 11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL,
	                                  1216172134540287360ULL, 607988272756665600ULL };
	tg_rng r = { { 1, 2, 3, 4 } };
	int ok = 1;
	for (int i = 0; i < 6; i++)
		ok &= tg_rng_next(&r) == want[i];
	check(ok, "xoshiro256** reference outputs");
	/* splitmix64 from 0 gives 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, ... */
	tg_rng_seed(&r, 0);
	check(r.s[0] == 0xe220a8397b1dcdafULL && r.s[1] == 0x6e789e6aa1b965f4ULL &&
	      r.s[2] == 0x06c45d188009454fULL, "splitmix64 seeding reference outputs");

	/* a permutation, reproducible, and roughly uniform */
	enum { N = 10 };
	uint64_t p[N], p2[N];
	tg_rng_seed(&r, 7);
	tg_rng_permutation(&r, p, N);
	tg_rng_seed(&r, 7);
	tg_rng_permutation(&r, p2, N);
	int seen[N] = { 0 }, is_perm = 1;
	for (int i = 0; i < N; i++)
		is_perm &= p[i] < N && !seen[p[i]]++;
	check(is_perm && memcmp(p, p2, sizeof p) == 0, "permutation of 10, same for the same seed");

	/* position counts over 20000 shuffles of 4: each of 16 cells expects
	 * 5000; chi-square with 9 degrees of freedom below 30 (p ~ 0.0004) */
	long cnt[4][4] = { { 0 } };
	tg_rng_seed(&r, 12345);
	for (int t = 0; t < 20000; t++) {
		uint64_t q[4];
		tg_rng_permutation(&r, q, 4);
		for (int i = 0; i < 4; i++)
			cnt[i][q[i]]++;
	}
	double chi = 0;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			chi += (cnt[i][j] - 5000.0) * (cnt[i][j] - 5000.0) / 5000.0;
	check(chi < 30, "shuffle positions uniform: chi-square %.2f", chi);
	int in_range = 1;
	for (int i = 0; i < 1000; i++)
		in_range &= tg_rng_below(&r, 3) < 3 && tg_rng_below(&r, 1) == 0;
	check(in_range, "tg_rng_below stays below its bound");
}

int main(void)
{
	test_against_numpy();
	test_types();
	test_merge_and_offset();
	test_special_values();
	test_select_patterns();
	test_rng();
	return check_finish();
}
