/* test_fid_stats.c: FID statistics (fid/fidstats.h), the Frechet distance
 * (fid/frechet.h) and KID (fid/kid.h) against values computed by NumPy and
 * SciPy (tests/make_fid_fixtures.py -> tests/fixtures/fid/expected.txt).
 * The features are regenerated here with the fixture script's formula
 * (feature_set), bit for bit. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fid/fidstats.h"
#include "fid/frechet.h"
#include "fid/kid.h"

static char fixdir[1024];

static const char *fixture(const char *name)
{
	static char path[1200];
	snprintf(path, sizeof path, "%s/%s", fixdir, name);
	return path;
}

/* splitmix64 uniforms and the feature formula of make_fid_fixtures.py */
static double *feature_set(uint64_t seed, size_t n, size_t d, double amp, double offset)
{
	double *u = malloc(n * d * sizeof *u), *x = malloc(n * d * sizeof *x);
	uint64_t state = seed;
	for (size_t k = 0; k < n * d; k++) {
		state += 0x9E3779B97F4A7C15ull;
		uint64_t z = state;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		z ^= z >> 31;
		u[k] = (double)(z >> 11) * (1.0 / 9007199254740992.0);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++) {
			const double *r = u + i * d;
			double t = (r[j] - 0.5) + 0.5 * (r[(j + 1) % d] - 0.5);
			t = t + amp * (r[0] - 0.5);
			x[i * d + j] = t * (1.0 + (double)j / (double)d) + offset;
		}
	free(u);
	return x;
}

/* expected.txt: the line starting with "key name" (name may be NULL) split
 * into up to max numbers after the key and name. */
static int expected(const char *key, const char *name, double *v, int max)
{
	FILE *f = fopen(fixture("expected.txt"), "r");
	char line[4096];
	int got = -1;
	while (f && got < 0 && fgets(line, sizeof line, f)) {
		char *save = NULL, *tok = strtok_r(line, " \n", &save);
		if (!tok || strcmp(tok, key) != 0)
			continue;
		if (name) {
			tok = strtok_r(NULL, " \n", &save);
			if (!tok || strcmp(tok, name) != 0)
				continue;
		}
		got = 0;
		while (got < max && (tok = strtok_r(NULL, " \n", &save)))
			v[got++] = strtod(tok, NULL);
	}
	if (f)
		fclose(f);
	return got;
}

static double *read_f64(const char *name, size_t count)
{
	FILE *f = fopen(fixture(name), "rb");
	double *v = malloc(count * sizeof *v);
	if (!f || fread(v, sizeof *v, count, f) != count) {
		free(v);
		v = NULL;
	}
	if (f)
		fclose(f);
	return v;
}

/* max |a - b| / max |b|: a norm-wise relative error (entries near 0 of a
 * covariance make an entry-wise one meaningless) */
static double normwise_rel(const double *a, const double *b, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs(a[i] - b[i]);
		if (!(e <= num))
			num = isnan(e) ? INFINITY : e;
		if (fabs(b[i]) > den)
			den = fabs(b[i]);
	}
	return den > 0 ? num / den : num;
}

static double rel(double a, double b)
{
	return fabs(a - b) / fmax(fabs(b), 1e-300);
}

static void test_stats(void)
{
	const char *names[] = {"s64", "s64off"};
	for (int c = 0; c < 2; c++) {
		double p[5];
		char file[64];
		if (!check(expected("stats", names[c], p, 5) == 5, "stats %s: fixture line", names[c]))
			continue;
		size_t n = (size_t)p[1], d = (size_t)p[2];
		snprintf(file, sizeof file, "%s.f64", names[c]);
		double *want = read_f64(file, d + d * d);
		double *x = feature_set((uint64_t)p[0], n, d, p[3], p[4]);
		double *mu = malloc(d * sizeof *mu), *sig = malloc(d * d * sizeof *sig);
		if (!check(want != NULL, "stats %s: %s readable", names[c], file))
			goto next;
		ts_status st = tg_fid_stats_f64(x, n, d, mu, sig);
		double em = normwise_rel(mu, want, d), es = normwise_rel(sig, want + d, d * d);
		check(st == TS_OK && em <= 1e-10 && es <= 1e-10,
		      "stats %s: mean and numpy.cov(rowvar=False), N=%zu d=%zu: rel err %.2g, %.2g (tol 1e-10)",
		      names[c], n, d, em, es);

		/* batch by batch (1, 7, 100, rest rows) and through a merge */
		tg_fid_acc a, b;
		double *mu2 = malloc(d * sizeof *mu2), *sig2 = malloc(d * d * sizeof *sig2);
		tg_fid_acc_init(&a, d);
		tg_fid_acc_init(&b, d);
		tg_fid_acc_add_f64(&a, x, 1);
		tg_fid_acc_add_f64(&a, x + d, 7);
		tg_fid_acc_add_f64(&a, x + 8 * d, 100);
		tg_fid_acc_add_f64(&b, x + 108 * d, n - 108);
		tg_fid_acc_merge(&a, &b);
		st = tg_fid_acc_result(&a, mu2, sig2);
		em = normwise_rel(mu2, want, d);
		es = normwise_rel(sig2, want + d, d * d);
		check(st == TS_OK && a.n == n && em <= 1e-10 && es <= 1e-10,
		      "stats %s: batches 1+7+100 merged with %zu: rel err %.2g, %.2g (tol 1e-10)",
		      names[c], n - 108, em, es);
		/* float32 rows give the statistics of the rounded values */
		float *xf = malloc(n * d * sizeof *xf);
		for (size_t k = 0; k < n * d; k++) {
			xf[k] = (float)x[k];
			x[k] = xf[k];
		}
		tg_fid_acc_free(&a);
		tg_fid_acc_init(&a, d);
		tg_fid_acc_add_f32(&a, xf, n);
		tg_fid_acc_result(&a, mu2, sig2);
		tg_fid_stats_f64(x, n, d, mu, sig);
		em = normwise_rel(mu2, mu, d);
		es = normwise_rel(sig2, sig, d * d);
		check(em <= 1e-14 && es <= 1e-14, "stats %s: f32 rows as their f64 values: %.2g, %.2g (tol 1e-14)",
		      names[c], em, es);
		tg_fid_acc_free(&a);
		tg_fid_acc_free(&b);
		free(mu2), free(sig2), free(xf);
next:
		free(want), free(x), free(mu), free(sig);
	}
	tg_fid_acc a;
	double mu[4], sig[16], one[4] = {1, 2, 3, 4};
	tg_fid_acc_init(&a, 4);
	tg_fid_acc_add_f64(&a, one, 1);
	check(tg_fid_acc_result(&a, mu, sig) == TS_ERR_ARG, "stats: one row is refused (N - 1 = 0)");
	tg_fid_acc_free(&a);
	check(tg_fid_acc_init(&a, 0) == TS_ERR_ARG, "stats: d = 0 is refused");
}

/* stats of a feature_set, for the Frechet cases */
static void set_stats(const double *p, double **mu, double **sig, size_t *d)
{
	size_t n = (size_t)p[1];
	*d = (size_t)p[2];
	double *x = feature_set((uint64_t)p[0], n, *d, p[3], p[4]);
	*mu = malloc(*d * sizeof **mu);
	*sig = malloc(*d * *d * sizeof **sig);
	tg_fid_stats_f64(x, n, *d, *mu, *sig);
	free(x);
}

static void test_frechet_closed_forms(void)
{
	tg_frechet_result r;
	/* mu1 = 0, mu2 = 1, identity covariances in 2048-d: pytorch-fid's own unit test */
	size_t d = 2048;
	double *mu1 = calloc(d, sizeof *mu1), *mu2 = malloc(d * sizeof *mu2);
	double *s = calloc(d * d, sizeof *s);
	for (size_t i = 0; i < d; i++) {
		mu2[i] = 1;
		s[i * d + i] = 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ts_status st = tg_frechet_distance(mu1, s, mu2, s, d, 0, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
	check(st == TS_OK && fabs(r.distance - 2048) <= 1e-9 * 2048,
	      "frechet: mu 0 vs 1, identity covariances, d=2048: %.17g (want 2048, tol 1e-9 rel; %.2f s)",
	      r.distance, secs);
	free(mu1), free(mu2), free(s);

	/* diagonal covariances: sum (sqrt a_i - sqrt b_i)^2 */
	d = 100;
	double *a = calloc(d * d, sizeof *a), *b = calloc(d * d, sizeof *b);
	double *m1 = malloc(d * sizeof *m1), *m2 = malloc(d * sizeof *m2), want = 0;
	for (size_t i = 0; i < d; i++) {
		a[i * d + i] = 0.5 + (double)i;
		b[i * d + i] = (i % 7 == 0) ? 0 : 3.0 / (1.0 + (double)i);  /* singular too */
		m1[i] = 0.01 * (double)i;
		m2[i] = -0.02 * (double)i;
		double diff = m1[i] - m2[i], q = sqrt(a[i * d + i]) - sqrt(b[i * d + i]);
		want += diff * diff + q * q;
	}
	st = tg_frechet_distance(m1, a, m2, b, d, 0, &r);
	check(st == TS_OK && rel(r.distance, want) <= 1e-12,
	      "frechet: diagonal covariances (one singular), d=100: rel err %.2g (tol 1e-12)",
	      rel(r.distance, want));
	free(a), free(b), free(m1), free(m2);

	/* equicorrelated S1 = a I + b 11^T, S2 = c I + e 11^T (general path: not
	 * diagonal; they commute): eigenvalues a + d b and a (d - 1 times), so
	 * Tr sqrt(S1 S2) = sqrt((a + d b)(c + d e)) + (d - 1) sqrt(a c) */
	d = 256;
	a = malloc(d * d * sizeof *a), b = malloc(d * d * sizeof *b);
	m1 = calloc(d, sizeof *m1), m2 = calloc(d, sizeof *m2);
	double ca = 2.0, cb = 0.3, cc = 0.5, ce = 0.05, dd = (double)d;
	for (size_t i = 0; i < d; i++)
		for (size_t j = 0; j < d; j++) {
			a[i * d + j] = cb + (i == j ? ca : 0);
			b[i * d + j] = ce + (i == j ? cc : 0);
		}
	want = dd * (ca + cb) + dd * (cc + ce) -
	       2 * (sqrt((ca + dd * cb) * (cc + dd * ce)) + (dd - 1) * sqrt(ca * cc));
	st = tg_frechet_distance(m1, a, m2, b, d, 0, &r);
	check(st == TS_OK && rel(r.distance, want) <= 1e-10,
	      "frechet: equicorrelated covariances, d=256: %.15g vs %.15g, rel err %.2g (tol 1e-10)",
	      r.distance, want, rel(r.distance, want));
	free(a), free(b), free(m1), free(m2);

	double p[5];
	if (expected("stats", "s64", p, 5) == 5) {
		double *mu, *sig;
		set_stats(p, &mu, &sig, &d);
		st = tg_frechet_distance(mu, sig, mu, sig, d, 0, &r);
		check(st == TS_OK && fabs(r.distance) <= 1e-9,
		      "frechet: identical statistics (d=64) give 0: %.3g (tol 1e-9)", r.distance);
		sig[3] = NAN;
		check(tg_frechet_distance(mu, sig, mu, sig, d, 0, &r) == TS_ERR_ARG,
		      "frechet: NaN in a covariance is refused");
		free(mu), free(sig);
	}
}

static void test_frechet_fixtures(void)
{
	const char *names[] = {"c64", "c256", "r256", "m64"};
	for (int c = 0; c < 4; c++) {
		double p[13], peps;
		if (!check(expected("frechet", names[c], p, 13) == 13 &&
		           expected("frechet_eps", names[c], &peps, 1) == 1,
		           "frechet %s: fixture lines", names[c]))
			continue;
		double *mu1, *s1, *mu2, *s2;
		size_t d, d2;
		set_stats(p, &mu1, &s1, &d);
		set_stats(p + 5, &mu2, &s2, &d2);
		tg_frechet_result r, re;
		ts_status st = tg_frechet_distance(mu1, s1, mu2, s2, d, 0, &r);
		double e_scipy = rel(r.distance, p[10]), e_eig = rel(r.distance, p[12]);
		check(st == TS_OK && e_scipy <= 1e-6,
		      "frechet %s (N %g and %g, d=%zu): %.17g vs pytorch-fid (scipy sqrtm%s) %.17g: rel err %.2g (tol 1e-6)",
		      names[c], p[1], p[6], d, r.distance, p[11] != 0 ? ", eps fallback" : "", p[10],
		      e_scipy);
		/* rank-deficient cases (N <= d): the square roots of eigenvalues at
		 * the rounding level differ between any two eigensolvers */
		double tol_eig = p[1] <= p[2] || p[6] <= p[7] ? 1e-7 : 1e-11;
		check(st == TS_OK && e_eig <= tol_eig,
		      "frechet %s: vs NumPy's eigen route %.17g: rel err %.2g (tol %.0g)", names[c],
		      p[12], e_eig, tol_eig);
		st = tg_frechet_distance(mu1, s1, mu2, s2, d, 1e-6, &re);
		check(st == TS_OK && rel(re.distance, peps) <= 1e-6,
		      "frechet %s: eps=1e-6 vs pytorch-fid's fallback formula %.17g: rel err %.2g (tol 1e-6)",
		      names[c], peps, rel(re.distance, peps));
		check(r.min_eig1 >= -1e-12 && r.min_eig_m >= -1e-12,
		      "frechet %s: clipped eigenvalues are rounding noise: %.2g, %.2g (tol -1e-12)",
		      names[c], r.min_eig1, r.min_eig_m);
		free(mu1), free(s1), free(mu2), free(s2);
	}
}

static void test_kid(void)
{
	double p[9], want[10];
	if (!check(expected("kid", NULL, p, 9) == 9 && expected("kid_mmd", NULL, want, 10) == 10,
	           "kid: fixture lines"))
		return;
	size_t n1 = (size_t)p[1], n2 = (size_t)p[3], d = (size_t)p[4];
	size_t S = (size_t)p[5], m = (size_t)p[6];
	double *f1 = feature_set((uint64_t)p[0], n1, d, 0.8, 0.0);
	double *f2 = feature_set((uint64_t)p[2], n2, d, 0.3, 0.1);
	uint64_t *idx1 = malloc(S * m * sizeof *idx1), *idx2 = malloc(S * m * sizeof *idx2);
	int32_t *raw = malloc(2 * S * m * sizeof *raw);
	FILE *f = fopen(fixture("kid_idx.i32"), "rb");
	int ok = f && fread(raw, sizeof *raw, 2 * S * m, f) == 2 * S * m;
	if (f)
		fclose(f);
	if (check(ok, "kid: kid_idx.i32 readable")) {
		for (size_t k = 0; k < S * m; k++) {
			idx1[k] = (uint64_t)raw[k];
			idx2[k] = (uint64_t)raw[S * m + k];
		}
		double mmd[10], mean, std, worst = 0;
		ts_status st = tg_kid_subsets(f1, n1, f2, n2, d, idx1, idx2, S, m, mmd, &mean, &std);
		for (size_t s = 0; s < S; s++)
			worst = fmax(worst, rel(mmd[s], want[s]));
		check(st == TS_OK && worst <= 1e-10,
		      "kid: MMD^2 of %zu subsets of %zu (d=%zu) vs NumPy: worst rel err %.2g (tol 1e-10)",
		      S, m, d, worst);
		check(rel(mean, p[7]) <= 1e-10 && rel(std, p[8]) <= 1e-9,
		      "kid: mean %.10g std %.10g vs NumPy %.10g %.10g (tol 1e-10, 1e-9)", mean, std, p[7], p[8]);
		/* 40 subsets take the whole-Gram path; each alone the per-subset one */
		size_t S2 = 40;
		uint64_t *j1 = malloc(S2 * m * sizeof *j1), *j2 = malloc(S2 * m * sizeof *j2);
		double *many = malloc(S2 * sizeof *many), one, worst2 = 0;
		tg_kid_draw_subsets(5, n1, n2, m, S2, j1, j2);
		st = tg_kid_subsets(f1, n1, f2, n2, d, j1, j2, S2, m, many, &mean, &std);
		for (size_t s = 0; s < S2; s++) {
			double mm, sd;
			tg_kid_subsets(f1, n1, f2, n2, d, j1 + s * m, j2 + s * m, 1, m, &one, &mm, &sd);
			worst2 = fmax(worst2, fabs(one - many[s]));
		}
		check(st == TS_OK && worst2 <= 1e-12,
		      "kid: whole-Gram and per-subset products agree: worst abs diff %.2g (tol 1e-12)",
		      worst2);
		free(j1), free(j2), free(many);
		idx1[5] = n1;
		check(tg_kid_subsets(f1, n1, f2, n2, d, idx1, idx2, S, m, NULL, &mean, &std) == TS_ERR_ARG,
		      "kid: an index out of range is refused");
	}

	/* the seeded subsets: reproducible, distinct indices, in range */
	uint64_t *a1 = malloc(S * m * sizeof *a1), *a2 = malloc(S * m * sizeof *a2);
	tg_kid_draw_subsets(42, n1, n2, m, S, idx1, idx2);
	tg_kid_draw_subsets(42, n1, n2, m, S, a1, a2);
	int same = !memcmp(idx1, a1, S * m * sizeof *a1) && !memcmp(idx2, a2, S * m * sizeof *a2);
	int valid = 1;
	for (size_t s = 0; s < S; s++)
		for (size_t i = 0; i < m; i++) {
			valid &= idx1[s * m + i] < n1 && idx2[s * m + i] < n2;
			for (size_t j = 0; j < i; j++)
				valid &= idx1[s * m + i] != idx1[s * m + j] && idx2[s * m + i] != idx2[s * m + j];
		}
	check(same && valid, "kid: seeded subsets are reproducible, in range and without repeats");
	tg_kid_draw_subsets(43, n1, n2, m, S, a1, a2);
	check(memcmp(idx1, a1, S * m * sizeof *a1) != 0, "kid: another seed draws other subsets");
	/* first draws of seed 42, pinned so that a change of the drawing order shows */
	printf("# kid subsets seed 42: first indices %llu %llu %llu / %llu %llu\n",
	       (unsigned long long)idx1[0], (unsigned long long)idx1[1], (unsigned long long)idx1[2],
	       (unsigned long long)idx2[0], (unsigned long long)idx2[1]);
	double mean, std;
	ts_status st = tg_kid(f1, n1, f2, n2, d, S, m, 42, &mean, &std);
	check(st == TS_OK && fabs(mean - p[7]) <= 3 * p[8],
	      "kid: seeded KID %.4g +- %.4g within 3 std of NumPy's subsets' %.4g", mean, std, p[7]);
	check(tg_kid(f1, n1, f2, n2, d, S, n2 + 1, 42, &mean, &std) == TS_ERR_ARG,
	      "kid: a subset larger than a set is refused");
	/* identical sets: the unbiased estimate scatters around 0 */
	st = tg_kid(f1, n1, f1, n1, d, S, m, 7, &mean, &std);
	check(st == TS_OK && fabs(mean) <= 3 * std + 1e-12, "kid: a set against itself: %.3g +- %.3g",
	      mean, std);
	free(f1), free(f2), free(idx1), free(idx2), free(raw), free(a1), free(a2);
}

int main(void)
{
	const char *fx = getenv("FIXTURES");
	snprintf(fixdir, sizeof fixdir, "%s/fid", fx ? fx : "tests/fixtures");
	test_stats();
	test_frechet_closed_forms();
	test_frechet_fixtures();
	test_kid();
	return check_finish();
}
