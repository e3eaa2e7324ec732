/* Statistics and the per-pixel map of clipnorm; see clip.h. */
#define _GNU_SOURCE  /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clip.h"
#include "ocl.h"
#include "ocl_internal.h"
#include "stats.h"

/* The counting loops are also built for AVX2, picked at load time on x86-64
 * processors that have it; everything else runs the baseline build. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef MULTIVERSION
#define MULTIVERSION
#endif
#define INLINE static inline __attribute__((always_inline))

/* ---- circular mask ---- */

/* TomoPy's test (tomopy.misc.corr._get_mask) term for term, so the mask
 * matches the pixels circ_mask left alone, to the last pixel. */
static int mask_inside(double y, uint64_t w, uint64_t j, double r2)
{
	double x = (0.5 - (double)w / 2.0) + (double)j;
	return x * x + y * y < r2;
}

int tg_clip_mask_init(tg_clip_mask *m, uint64_t h, uint64_t w, double ratio)
{
	memset(m, 0, sizeof *m);
	if (h == 0 || w == 0 || h > UINT32_MAX || w > UINT32_MAX || !(ratio > 0) || !isfinite(ratio))
		return -1;
	m->x0 = malloc(h * sizeof *m->x0);
	m->x1 = malloc(h * sizeof *m->x1);
	if (!m->x0 || !m->x1) {
		tg_clip_mask_free(m);
		return -2;
	}
	m->h = h;
	m->w = w;
	double rad = (double)(h < w ? h : w) / 2.0;
	double r2 = ratio * ratio * (rad * rad);
	for (uint64_t i = 0; i < h; i++) {
		double y = (0.5 - (double)h / 2.0) + (double)i;
		/* The inside of a row is an interval symmetric about the centre
		 * (x(w-1-j) = -x(j) exactly): estimate its left end from the
		 * square root, then settle it with the exact test. */
		double rem = r2 - y * y;
		uint64_t half = (w + 1) / 2, j0 = half;
		if (rem > 0) {
			double est = floor((double)w / 2.0 - 0.5 - sqrt(rem));
			j0 = est < 0 ? 0 : (est > (double)half ? half : (uint64_t)est);
			while (j0 > 0 && mask_inside(y, w, j0 - 1, r2))
				j0--;
			while (j0 < half && !mask_inside(y, w, j0, r2))
				j0++;
		}
		if (j0 == half) {   /* no pixel of the row's left half (so none) inside */
			m->x0[i] = m->x1[i] = 0;
			continue;
		}
		m->x0[i] = (uint32_t)j0;
		m->x1[i] = (uint32_t)(w - j0);
		m->inside += w - 2 * j0;
	}
	return 0;
}

void tg_clip_mask_free(tg_clip_mask *m)
{
	free(m->x0);
	free(m->x1);
	m->x0 = m->x1 = NULL;
}

/* ---- minimum and maximum ---- */

#define LANES 16

#if defined(__SSE__)
#include <xmmintrin.h>
/* lo = minps(v, lo) is v < lo ? v : lo lane by lane, the comparison of the
 * plain loop below, so NaN never enters here either.  Four registers of
 * each: with the plain loop GCC kept its 16 lanes in memory, a store and
 * a load per vector (18 GB/s on a frame piece in L2 against 45-49 here,
 * AMD EPYC). */
static size_t minmax_sse(const float *x, size_t n, float *lo, float *hi)
{
	__m128 l0 = _mm_set1_ps(INFINITY), l1 = l0, l2 = l0, l3 = l0;
	__m128 h0 = _mm_set1_ps(-INFINITY), h1 = h0, h2 = h0, h3 = h0;
	size_t i = 0;
	for (; i + LANES <= n; i += LANES) {
		__m128 v0 = _mm_loadu_ps(x + i), v1 = _mm_loadu_ps(x + i + 4);
		__m128 v2 = _mm_loadu_ps(x + i + 8), v3 = _mm_loadu_ps(x + i + 12);
		l0 = _mm_min_ps(v0, l0), l1 = _mm_min_ps(v1, l1);
		l2 = _mm_min_ps(v2, l2), l3 = _mm_min_ps(v3, l3);
		h0 = _mm_max_ps(v0, h0), h1 = _mm_max_ps(v1, h1);
		h2 = _mm_max_ps(v2, h2), h3 = _mm_max_ps(v3, h3);
	}
	_mm_storeu_ps(lo, l0), _mm_storeu_ps(lo + 4, l1), _mm_storeu_ps(lo + 8, l2);
	_mm_storeu_ps(lo + 12, l3);
	_mm_storeu_ps(hi, h0), _mm_storeu_ps(hi + 4, h1), _mm_storeu_ps(hi + 8, h2);
	_mm_storeu_ps(hi + 12, h3);
	return i;
}
#endif

int tg_clip_minmax(const float *x, size_t n, float *mn, float *mx)
{
	/* Lanes start at +inf/-inf and take x only when it compares less
	 * (greater), so NaN never enters.  Any value counted leaves min <= max;
	 * only NaN (or nothing) leaves min = +inf > max = -inf. */
	float lo[LANES], hi[LANES];
	size_t i = 0;
#if defined(__SSE__)
	i = minmax_sse(x, n, lo, hi);
#else
	for (int l = 0; l < LANES; l++) {
		lo[l] = INFINITY;
		hi[l] = -INFINITY;
	}
	for (; i + LANES <= n; i += LANES) {
		for (int l = 0; l < LANES; l++) {
			float v = x[i + l];
			lo[l] = v < lo[l] ? v : lo[l];
			hi[l] = v > hi[l] ? v : hi[l];
		}
	}
#endif
	for (; i < n; i++) {
		float v = x[i];
		lo[0] = v < lo[0] ? v : lo[0];
		hi[0] = v > hi[0] ? v : hi[0];
	}
	float a = lo[0], b = hi[0];
	for (int l = 1; l < LANES; l++) {
		a = lo[l] < a ? lo[l] : a;
		b = hi[l] > b ? hi[l] : b;
	}
	if (!(a <= b))
		return 0;
	*mn = a;
	*mx = b;
	return 1;
}

int tg_clip_minmax_typed(ts_dtype t, const void *x, size_t n, float *mn, float *mx)
{
	if (t == TS_F32)
		return tg_clip_minmax(x, n, mn, mx);
	size_t es = ts_dtype_size(t);
	float tmp[1024], a = INFINITY, b = -INFINITY;
	for (size_t i = 0; i < n; i += 1024) {
		size_t k = n - i < 1024 ? n - i : 1024;
		float ra, rb;
		ts_convert_to_f32(t, (const char *)x + i * es, tmp, k);
		if (tg_clip_minmax(tmp, k, &ra, &rb)) {
			a = ra < a ? ra : a;
			b = rb > b ? rb : b;
		}
	}
	if (!(a <= b))
		return 0;
	*mn = a;
	*mx = b;
	return 1;
}

int tg_clip_minmax_masked(const float *x, size_t n, const tg_clip_mask *m,
                          float *mn, float *mx)
{
	size_t plane = (size_t)(m->h * m->w);
	float a = INFINITY, b = -INFINITY;
	for (size_t p = 0; p + plane <= n; p += plane)
		for (size_t i = 0; i < m->h; i++) {
			float ra, rb;
			if (tg_clip_minmax(x + p + i * m->w + m->x0[i], m->x1[i] - m->x0[i], &ra, &rb)) {
				a = ra < a ? ra : a;
				b = rb > b ? rb : b;
			}
		}
	if (!(a <= b))
		return 0;
	*mn = a;
	*mx = b;
	return 1;
}

/* ---- extrema in the header ---- */

#define EXTREMA_MIN "extrema.min"
#define EXTREMA_MAX "extrema.max"

static char *extrema_list(const float *v, size_t n)
{
	char *s = malloc(n * 16 + 1), *p = s;
	if (!s)
		return NULL;
	*p = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ' ';
		p += isnan(v[i]) ? sprintf(p, "nan") : sprintf(p, "%.9g", (double)v[i]);
	}
	return s;
}

ts_status tg_extrema_set(ts_meta *m, const float *mn, const float *mx, size_t n)
{
	char *a = extrema_list(mn, n), *b = extrema_list(mx, n);
	ts_status st = a && b ? ts_meta_set(m, EXTREMA_MIN, a) : TS_ERR_NOMEM;
	if (!st)
		st = ts_meta_set(m, EXTREMA_MAX, b);
	free(a);
	free(b);
	return st;
}

/* The values of a list; NULL (with *n untouched) when one is not a number. */
static float *extrema_parse(const char *s, size_t *n)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ' ';
	float *v = malloc(cap * sizeof *v);
	size_t k = 0;
	for (const char *p = s; v && k < cap; k++) {
		char *end;
		if (strncmp(p, "nan", 3) == 0 && (p[3] == ' ' || !p[3])) {
			v[k] = NAN;
			end = (char *)p + 3;
		} else {
			v[k] = strtof(p, &end);
			if (end == p || isnan(v[k]))
				break;
		}
		if (*end != (k + 1 < cap ? ' ' : 0))
			break;
		p = end + (k + 1 < cap);
	}
	if (v && k < cap) {
		free(v);
		return NULL;
	}
	*n = cap;
	return v;
}

int tg_extrema_get(const ts_meta *m, float **mn, float **mx, size_t *n)
{
	const char *a = ts_meta_get(m, EXTREMA_MIN), *b = ts_meta_get(m, EXTREMA_MAX);
	if (!a && !b)
		return 0;
	size_t na = 0, nb = 0;
	float *va = a ? extrema_parse(a, &na) : NULL, *vb = b ? extrema_parse(b, &nb) : NULL;
	int ok = va && vb && na == nb;
	for (size_t i = 0; ok && i < na; i++)
		ok = isnan(va[i]) ? isnan(vb[i]) : va[i] <= vb[i];
	if (!ok) {
		free(va);
		free(vb);
		return -1;
	}
	*mn = va;
	*mx = vb;
	*n = na;
	return 1;
}

void tg_extrema_drop(ts_meta *m)
{
	ts_meta_del(m, EXTREMA_MIN);
	ts_meta_del(m, EXTREMA_MAX);
}

/* ---- radix selection ---- */

#define BUCKETS 65536u
#define NONE BUCKETS
/* Pending 32-bit counts are flushed before any could overflow. */
#define FLUSH_AT ((uint64_t)1 << 31)
_Static_assert(TG_RSEL_MAXT == 4, "refine_run compares with four targets");
#define COPIES 4
#define HSTRIDE (BUCKETS + 16)   /* one histogram copy, padded */

/* Order-preserving key: non-NaN floats compare as their keys do
 * (-0 sorts just before +0, which does not change any value). */
static inline uint32_t fkey(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u);
}

static inline float funkey(uint32_t k)
{
	uint32_t u = (k & 0x80000000u) ? k ^ 0x80000000u : ~k;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

int tg_rsel_init(tg_rsel *s, size_t nq, const double *q)
{
	memset(s, 0, sizeof *s);
	if (nq == 0 || nq > TG_RSEL_MAXQ)
		return -1;
	for (size_t i = 0; i < nq; i++) {
		if (!(q[i] >= 0 && q[i] <= 100))
			return -1;
		s->q[i] = q[i];
	}
	s->nq = nq;
	/* one more bucket than the keys have: NaN is counted there and dropped */
	s->top = calloc(BUCKETS + 1, sizeof *s->top);
	s->top32 = calloc(COPIES * HSTRIDE, sizeof *s->top32);
	if (!s->top || !s->top32) {
		tg_rsel_free(s);
		return -2;
	}
	return 0;
}

static void flush_top(tg_rsel *s)
{
	for (size_t c = 0; c < COPIES; c++)
		for (size_t b = 0; b <= BUCKETS; b++) {
			s->top[b] += s->top32[c * HSTRIDE + b];
			s->top32[c * HSTRIDE + b] = 0;
		}
	s->pending = 0;
}

/* Keys of a block of SKIP values are computed first (a loop of integer
 * operations over a fixed count, which the compiler vectorizes), then
 * counted into one of COPIES interleaved histograms, so that runs of
 * nearby values (smooth images) do not wait on each other's increments; a
 * block of one value throughout (the zeros around a masked reconstruction)
 * is counted at once. */
#define SKIP 64

INLINE uint32_t load_bits(const float *x, size_t i)
{
	uint32_t u;
	memcpy(&u, x + i, sizeof u);
	return u;
}

/* A short block is padded with NaN, which is never counted. */
INLINE const float *pad_block(const float *x, size_t m, uint32_t *pad)
{
	if (m == SKIP)
		return x;
	memcpy(pad, x, m * sizeof *pad);
	for (size_t i = m; i < SKIP; i++)
		pad[i] = 0x7fc00000u;
	return (const float *)(const void *)pad;
}

/* Top 16 bits of the keys (NaN: NONE); returns whether all are equal. */
INLINE uint32_t top_keys(const float *x, uint32_t *b)
{
	uint32_t first = load_bits(x, 0), diff = 0;
	for (size_t i = 0; i < SKIP; i++) {
		uint32_t u = load_bits(x, i);
		uint32_t k = (u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u)) >> 16;
		b[i] = (u & 0x7fffffffu) > 0x7f800000u ? NONE : k;
		diff |= u ^ first;
	}
	return diff == 0;
}

MULTIVERSION static void count_run(tg_rsel *s, const float *x, size_t n)
{
	uint32_t b[SKIP], pad[SKIP];
	uint32_t *h0 = s->top32, *h1 = h0 + HSTRIDE, *h2 = h1 + HSTRIDE, *h3 = h2 + HSTRIDE;
	while (n > 0) {
		size_t chunk = n < FLUSH_AT / 2 ? n : FLUSH_AT / 2;
		if (s->pending + chunk >= FLUSH_AT)
			flush_top(s);
		s->pending += chunk;
		n -= chunk;
		while (chunk > 0) {
			size_t m = chunk < SKIP ? chunk : SKIP;
			if (top_keys(pad_block(x, m, pad), b) && m == SKIP) {
				h0[b[0]] += SKIP;
			} else {
				for (size_t i = 0; i < SKIP; i += 4) {
					h0[b[i]]++;
					h1[b[i + 1]]++;
					h2[b[i + 2]]++;
					h3[b[i + 3]]++;
				}
			}
			x += m;
			chunk -= m;
		}
	}
}

void tg_rsel_count(tg_rsel *s, const float *x, size_t n)
{
	count_run(s, x, n);
}

void tg_rsel_count_masked(tg_rsel *s, const float *x, size_t n, const tg_clip_mask *m)
{
	size_t plane = (size_t)(m->h * m->w);
	for (size_t p = 0; p + plane <= n; p += plane)
		for (size_t i = 0; i < m->h; i++)
			count_run(s, x + p + i * m->w + m->x0[i], m->x1[i] - m->x0[i]);
}

int tg_rsel_plan(tg_rsel *s)
{
	flush_top(s);
	uint64_t total = 0;
	for (size_t b = 0; b < BUCKETS; b++)
		total += s->top[b];
	s->total = total;
	if (total == 0)
		return -1;
	size_t nr = 2 * s->nq;
	for (size_t i = 0; i < s->nq; i++) {
		uint64_t k;
		tg_percentile_pos(total, s->q[i], &k, &s->t[i]);
		s->rank[2 * i] = k;
		s->rank[2 * i + 1] = k + 1 < total ? k + 1 : k;
	}
	for (size_t j = 0; j < TG_RSEL_MAXT; j++)
		s->target[j] = NONE;
	/* the bucket of each rank, by one cumulative sweep per rank */
	size_t nt = 0;
	for (size_t r = 0; r < nr; r++) {
		uint64_t below = 0;
		size_t b = 0;
		while (below + s->top[b] <= s->rank[r])
			below += s->top[b++];
		size_t j = 0;
		while (j < nt && s->target[j] != b)
			j++;
		if (j == nt) {
			s->target[nt] = (uint32_t)b;
			s->below[nt] = below;
			nt++;
		}
	}
	s->low = calloc(TG_RSEL_MAXT * (size_t)BUCKETS, sizeof *s->low);
	s->low32 = calloc(TG_RSEL_MAXT * (size_t)BUCKETS, sizeof *s->low32);
	s->row_of = calloc(BUCKETS, 1);
	if (!s->low || !s->low32 || !s->row_of)
		return -2;
	for (size_t j = 0; j < nt; j++)
		s->row_of[s->target[j]] = (uint8_t)(j + 1);
	s->pending2 = 0;
	s->planned = 1;
	return 0;
}

static void flush_low(tg_rsel *s)
{
	for (size_t i = 0; i < TG_RSEL_MAXT * (size_t)BUCKETS; i++) {
		s->low[i] += s->low32[i];
		s->low32[i] = 0;
	}
	s->pending2 = 0;
}

/* Full keys of SKIP values (NaN as key 0: bucket 0 holds nothing but NaN
 * patterns, which pass 1 never counted, so it is never a target), whether
 * any of them falls in a target bucket (most blocks, usually, have none and
 * cost just this vectorized loop) and whether all are equal. */
INLINE uint32_t full_keys(const float *x, uint32_t *k, uint32_t *uniform,
                          uint32_t t0, uint32_t t1, uint32_t t2, uint32_t t3)
{
	uint32_t any = 0, diff = 0, first = load_bits(x, 0);
	for (size_t i = 0; i < SKIP; i++) {
		uint32_t u = load_bits(x, i);
		uint32_t key = u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u);
		key = (u & 0x7fffffffu) > 0x7f800000u ? 0 : key;
		k[i] = key;
		diff |= u ^ first;
		uint32_t t = key >> 16;
		any |= (t == t0 ? 1u : 0u) | (t == t1 ? 1u : 0u) | (t == t2 ? 1u : 0u) | (t == t3 ? 1u : 0u);
	}
	*uniform = diff == 0;
	return any;
}

MULTIVERSION static void refine_run(tg_rsel *s, const float *x, size_t n)
{
	uint32_t k[SKIP], pad[SKIP];
	const uint8_t *row = s->row_of;
	uint32_t *h = s->low32;
	uint32_t t0 = s->target[0], t1 = s->target[1], t2 = s->target[2], t3 = s->target[3];
	/* Runs of one value (the exact zeros around a masked reconstruction,
	 * saturated pixels) are counted in a register and added once, instead
	 * of incrementing one counter over and over, each increment waiting
	 * for the last. */
	size_t last = 0;
	uint32_t run = 0;
	while (n > 0) {
		size_t chunk = n < FLUSH_AT / 2 ? n : FLUSH_AT / 2;
		if (s->pending2 + chunk >= FLUSH_AT) {
			h[last] += run;
			run = 0;
			flush_low(s);
		}
		s->pending2 += chunk;
		n -= chunk;
		while (chunk > 0) {
			size_t m = chunk < SKIP ? chunk : SKIP;
			uint32_t uniform;
			if (!full_keys(pad_block(x, m, pad), k, &uniform, t0, t1, t2, t3)) {
				/* no value in a target */
			} else if (uniform && m == SKIP) {
				size_t idx = (size_t)(row[k[0] >> 16] - 1) * BUCKETS + (k[0] & 0xffffu);
				if (idx != last) {
					h[last] += run;
					last = idx;
					run = 0;
				}
				run += SKIP;
			} else {
				for (size_t i = 0; i < m; i++) {
					uint32_t r = row[k[i] >> 16];
					if (!r)
						continue;
					size_t idx = (size_t)(r - 1) * BUCKETS + (k[i] & 0xffffu);
					if (idx == last) {
						run++;
					} else {
						h[last] += run;
						last = idx;
						run = 1;
					}
				}
			}
			x += m;
			chunk -= m;
		}
	}
	h[last] += run;
}

void tg_rsel_refine(tg_rsel *s, const float *x, size_t n)
{
	if (s->planned)
		refine_run(s, x, n);
}

void tg_rsel_refine_masked(tg_rsel *s, const float *x, size_t n, const tg_clip_mask *m)
{
	if (!s->planned)
		return;
	size_t plane = (size_t)(m->h * m->w);
	for (size_t p = 0; p + plane <= n; p += plane)
		for (size_t i = 0; i < m->h; i++)
			refine_run(s, x + p + i * m->w + m->x0[i], m->x1[i] - m->x0[i]);
}

int tg_rsel_result(tg_rsel *s, double *out)
{
	if (!s->planned)
		return -1;
	flush_low(s);
	/* pass 2 must have seen exactly the values of pass 1 in each target */
	for (size_t j = 0; j < TG_RSEL_MAXT && s->target[j] != NONE; j++) {
		const uint64_t *row = s->low + j * (size_t)BUCKETS;
		uint64_t sum = 0;
		for (size_t i = 0; i < BUCKETS; i++)
			sum += row[i];
		if (sum != s->top[s->target[j]])
			return -1;
	}
	float v[2 * TG_RSEL_MAXQ];
	for (size_t r = 0; r < 2 * s->nq; r++) {
		size_t j = 0;
		uint64_t below = 0;
		/* the target holding this rank: the last one starting at or below it */
		for (size_t c = 0; c < TG_RSEL_MAXT && s->target[c] != NONE; c++)
			if (s->below[c] <= s->rank[r] && s->rank[r] < s->below[c] + s->top[s->target[c]])
				j = c, below = s->below[c];
		const uint64_t *row = s->low + j * (size_t)BUCKETS;
		uint64_t want = s->rank[r] - below;
		size_t lowbits = 0;
		while (want >= row[lowbits])
			want -= row[lowbits++];
		v[r] = funkey(s->target[j] << 16 | (uint32_t)lowbits);
	}
	for (size_t i = 0; i < s->nq; i++)
		out[i] = tg_lerp_percentile(v[2 * i], v[2 * i + 1], s->t[i]);
	return 0;
}

void tg_rsel_free(tg_rsel *s)
{
	free(s->top);
	free(s->top32);
	free(s->low);
	free(s->low32);
	free(s->row_of);
	s->row_of = NULL;
	s->top = s->low = NULL;
	s->top32 = s->low32 = NULL;
	s->planned = 0;
}

/* ---- spool ----
 * Slots of `per` records each (TG_SPOOL_BLOCK bytes or one record), slot
 * k of the file at k * cap bytes (cap: per records rounded up to 4096).
 * The caller fills (or drains) ring slots in order; the thread writes (or
 * reads ahead) the same slots in the same order; group k lives in slot
 * k mod TG_SPOOL_NBLOCKS.  full[slot] is the hand-over: in writing, 1 =
 * filled, for a thread to write; in reading, 1 = read, for the caller;
 * 2 = a thread's I/O under way.
 * The mutex guards every field below; the thread drops it during I/O, and
 * the caller while it works on a slot it holds. */

#define SPOOL_ALIGN 4096u

struct tg_spool_io {
	pthread_t thread[TG_SPOOL_THREADS];
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t size, per, cap;          /* record bytes, records per slot, slot bytes */
	char *blk[TG_SPOOL_NBLOCKS];
	size_t nrec[TG_SPOOL_NBLOCKS];  /* records in the slot */
	int full[TG_SPOOL_NBLOCKS];
	enum { SPOOL_WRITING, SPOOL_READING, SPOOL_QUIT } mode;
	uint64_t head;       /* caller's group */
	size_t at;           /* caller's records done in it */
	int held;            /* the caller holds a record (claimed, or returned by next) */
	uint64_t next;       /* the threads' next group */
	int busy;            /* threads in I/O */
	int err;             /* first errno of the thread's I/O, 0 none */
};

/* pwrite/pread of all n bytes at off; 0 ok, else errno (EIO: short read). */
static int spool_pio(tg_spool *s, int wr, char *p, size_t n, uint64_t off)
{
	int retried = 0;
	while (n > 0) {
		ssize_t k = wr ? pwrite(s->fd, p, n, (off_t)off) : pread(s->fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EINVAL && !retried) {
			/* the file system refused O_DIRECT after all: buffered from
			 * here (another thread may have switched it off already) */
			pthread_mutex_lock(&s->io->mu);
			int fl = fcntl(s->fd, F_GETFL);
			if (fl >= 0 && (fl & O_DIRECT) && fcntl(s->fd, F_SETFL, fl & ~O_DIRECT) == 0)
				s->direct = 0;
			pthread_mutex_unlock(&s->io->mu);
			retried = 1;
			continue;
		}
		if (k < 0)
			return errno;
		if (k == 0)
			return EIO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static void *spool_thread(void *arg)
{
	tg_spool *s = arg;
	struct tg_spool_io *io = s->io;
	pthread_mutex_lock(&io->mu);
	while (io->mode != SPOOL_QUIT) {
		uint64_t g = io->next;
		int slot = (int)(g % TG_SPOOL_NBLOCKS);
		int wr = io->mode == SPOOL_WRITING;
		uint64_t first = g * io->per;   /* its first record */
		if (io->err || (wr ? io->full[slot] != 1 : io->full[slot] || first >= s->records)) {
			pthread_cond_wait(&io->cv, &io->mu);
			continue;
		}
		size_t nrec = wr ? io->nrec[slot]
		                 : (size_t)(s->records - first < io->per ? s->records - first : io->per);
		size_t n = nrec * io->size, whole = (n + SPOOL_ALIGN - 1) / SPOOL_ALIGN * SPOOL_ALIGN;
		io->full[slot] = 2;   /* in I/O */
		io->next++;
		io->busy++;
		pthread_mutex_unlock(&io->mu);
		if (wr)   /* whole sectors: the padding is zeros */
			memset(io->blk[slot] + n, 0, whole - n);
		int e = spool_pio(s, wr, io->blk[slot], whole, g * io->cap);
		pthread_mutex_lock(&io->mu);
		io->busy--;
		if (e && !io->err)
			io->err = e;
		io->nrec[slot] = nrec;
		io->full[slot] = !wr;
		pthread_cond_broadcast(&io->cv);
	}
	pthread_mutex_unlock(&io->mu);
	return NULL;
}

static void spool_io_free(struct tg_spool_io *io)
{
	for (int i = 0; i < TG_SPOOL_NBLOCKS; i++)
		free(io->blk[i]);
	free(io);
}

int tg_spool_open(tg_spool *s, size_t size)
{
	s->io = NULL;
	s->records = 0;
	s->fd = tg_tmpfile(s->dir, sizeof s->dir);
	if (s->fd < 0)
		return -1;
	const char *mode = getenv("TOMOGAN_SPOOL");
	int fl = fcntl(s->fd, F_GETFL);
	s->direct = !(mode && strcmp(mode, "buffered") == 0) && fl >= 0 &&
	            fcntl(s->fd, F_SETFL, fl | O_DIRECT) == 0;
	struct tg_spool_io *io = calloc(1, sizeof *io);
	int e = io ? 0 : ENOMEM;
	if (!e) {
		io->size = size ? size : 1;
		io->per = TG_SPOOL_BLOCK / io->size ? TG_SPOOL_BLOCK / io->size : 1;
		if (io->size > (SIZE_MAX - SPOOL_ALIGN) / io->per)
			e = ENOMEM;
		else
			io->cap = (io->per * io->size + SPOOL_ALIGN - 1) / SPOOL_ALIGN * SPOOL_ALIGN;
	}
	for (int i = 0; !e && i < TG_SPOOL_NBLOCKS; i++)
		e = posix_memalign((void **)&io->blk[i], SPOOL_ALIGN, io->cap);
	if (!e) {
		io->mode = SPOOL_WRITING;
		pthread_mutex_init(&io->mu, NULL);
		pthread_cond_init(&io->cv, NULL);
		s->io = io;
		while (io->nthreads < TG_SPOOL_THREADS &&
		       (e = tg_thread_create(&io->thread[io->nthreads], spool_thread, s)) == 0)
			io->nthreads++;
		if (io->nthreads > 0) {
			e = 0;
		} else {
			pthread_mutex_destroy(&io->mu);
			pthread_cond_destroy(&io->cv);
			s->io = NULL;
		}
	}
	if (e) {
		if (io)
			spool_io_free(io);
		close(s->fd);
		s->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

/* Waits (lock held) until slot's full flag is `want` or the thread failed:
 * 0, or the thread's errno. */
static int spool_wait(struct tg_spool_io *io, int slot, int want)
{
	while (io->full[slot] != want && !io->err)
		pthread_cond_wait(&io->cv, &io->mu);
	return io->full[slot] == want ? 0 : io->err;
}

/* Moves the caller to the next group (lock held); in writing, the one
 * it filled goes to the thread. */
static void spool_advance(struct tg_spool_io *io, int wr)
{
	int slot = (int)(io->head % TG_SPOOL_NBLOCKS);
	if (wr)
		io->nrec[slot] = io->at;
	io->full[slot] = wr;
	io->head++;
	io->at = 0;
	pthread_cond_broadcast(&io->cv);
}

void *tg_spool_claim(tg_spool *s)
{
	struct tg_spool_io *io = s->io;
	int slot = (int)(io->head % TG_SPOOL_NBLOCKS);
	pthread_mutex_lock(&io->mu);
	int e = io->err;
	if (!e && io->at == 0)
		e = spool_wait(io, slot, 0);
	io->held = !e;
	pthread_mutex_unlock(&io->mu);
	if (e) {
		errno = e;
		return NULL;
	}
	return io->blk[slot] + io->at * io->size;
}

void tg_spool_commit(tg_spool *s)
{
	struct tg_spool_io *io = s->io;
	pthread_mutex_lock(&io->mu);
	if (io->held) {
		io->held = 0;
		s->records++;
		if (++io->at == io->per)
			spool_advance(io, 1);
	}
	pthread_mutex_unlock(&io->mu);
}

int tg_spool_rewind(tg_spool *s)
{
	struct tg_spool_io *io = s->io;
	pthread_mutex_lock(&io->mu);
	io->held = 0;
	if (io->mode == SPOOL_WRITING) {
		if (io->at > 0)
			spool_advance(io, 1);
	}
	while ((io->mode == SPOOL_WRITING && io->next < io->head && !io->err) || io->busy)
		pthread_cond_wait(&io->cv, &io->mu);   /* every group on file, no read under way */
	int e = io->err;
	if (!e) {
		io->mode = SPOOL_READING;
		io->head = io->next = 0;
		io->at = 0;
		for (int i = 0; i < TG_SPOOL_NBLOCKS; i++)
			io->full[i] = 0;
		pthread_cond_broadcast(&io->cv);
	}
	pthread_mutex_unlock(&io->mu);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

int tg_spool_next(tg_spool *s, const void **rec)
{
	struct tg_spool_io *io = s->io;
	pthread_mutex_lock(&io->mu);
	int slot = (int)(io->head % TG_SPOOL_NBLOCKS);
	if (io->held && ++io->at == io->nrec[slot]) {   /* done with the last one */
		spool_advance(io, 0);
		slot = (int)(io->head % TG_SPOOL_NBLOCKS);
	}
	io->held = 0;
	int e = 0, got = 0;
	if (io->head * io->per + io->at < s->records) {
		e = spool_wait(io, slot, 1);
		if (!e) {
			*rec = io->blk[slot] + io->at * io->size;
			io->held = got = 1;
		}
	}
	pthread_mutex_unlock(&io->mu);
	if (e) {
		errno = e;
		return -1;
	}
	return got;
}

void tg_spool_close(tg_spool *s)
{
	struct tg_spool_io *io = s->io;
	if (io) {
		pthread_mutex_lock(&io->mu);
		io->mode = SPOOL_QUIT;
		pthread_cond_broadcast(&io->cv);
		pthread_mutex_unlock(&io->mu);
		for (int i = 0; i < io->nthreads; i++)
			pthread_join(io->thread[i], NULL);
		pthread_mutex_destroy(&io->mu);
		pthread_cond_destroy(&io->cv);
		spool_io_free(io);
		s->io = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* ---- the map ---- */

ts_dtype tg_clip_out_dtype(tg_clip_out o)
{
	switch (o) {
	case TG_CLIP_OUT_U8: return TS_U8;
	case TG_CLIP_OUT_U16: return TS_U16;
	default: return TS_F32;
	}
}

void tg_clip_params(double lo, double hi, float *lo_f, float *s_f)
{
	*lo_f = (float)lo;
	*s_f = (float)(1.0 / (hi - lo));
}

static inline float map01(float v, float lo, float s)
{
	float y = (v - lo) * s;
	return fminf(fmaxf(y, 0.0f), 1.0f);   /* fmaxf(NaN, 0) is 0 */
}

static void map_f32(const float *x, void *y, size_t n, float lo, float s, tg_clip_out o)
{
	switch (o) {
	case TG_CLIP_OUT_01:
		for (size_t i = 0; i < n; i++)
			((float *)y)[i] = map01(x[i], lo, s);
		break;
	case TG_CLIP_OUT_11:
		for (size_t i = 0; i < n; i++)
			((float *)y)[i] = map01(x[i], lo, s) * 2.0f - 1.0f;
		break;
	case TG_CLIP_OUT_U8:
		for (size_t i = 0; i < n; i++)
			((uint8_t *)y)[i] = (uint8_t)floorf(map01(x[i], lo, s) * 255.0f + 0.5f);
		break;
	case TG_CLIP_OUT_U16:
		for (size_t i = 0; i < n; i++)
			((uint16_t *)y)[i] = (uint16_t)floorf(map01(x[i], lo, s) * 65535.0f + 0.5f);
		break;
	}
}

void tg_clip_map_ref(ts_dtype t, const void *x, void *y, size_t n,
                     float lo, float s, tg_clip_out o)
{
	if (t == TS_F32) {
		map_f32(x, y, n, lo, s, o);
		return;
	}
	/* other types in blocks through float (exact for the integer types) */
	float buf[1024];
	size_t osz = ts_dtype_size(tg_clip_out_dtype(o)), isz = ts_dtype_size(t);
	for (size_t i = 0; i < n; i += 1024) {
		size_t m = n - i < 1024 ? n - i : 1024;
		ts_convert_to_f32(t, (const char *)x + i * isz, buf, m);
		map_f32(buf, (char *)y + i * osz, m, lo, s, o);
	}
}

/* ---- the map on the device ---- */

struct tg_clip_dev {
	tg_cl *cl;
	cl_kernel k;
	size_t n, in_bytes, out_bytes, local, global;
};

int tg_clip_dev_init(tg_clip_dev **out, tg_cl *cl, ts_dtype t, tg_clip_out o, size_t n)
{
	*out = NULL;
	if (ts_dtype_size(t) == 0 || n == 0)
		return tg_cl_fail(TG_CL_FAIL, "clipnorm map: bad element type or size");
	tg_clip_dev *d = calloc(1, sizeof *d);
	if (!d)
		return tg_cl_fail(TG_CL_FAIL, "clipnorm map: out of memory");
	d->cl = cl;
	d->n = n;
	d->in_bytes = n * ts_dtype_size(t);
	d->out_bytes = n * ts_dtype_size(tg_clip_out_dtype(o));
	char opts[64];
	snprintf(opts, sizeof opts, "-DIN_KIND=%d -DOUT_KIND=%d", (int)t, (int)o);
	d->k = tg_cl_kernel(cl, "clipnorm.cl", "clipnorm_map", opts);
	if (!d->k) {
		free(d);
		return TG_CL_BUILD;
	}
	d->local = cl->max_wg < 256 ? cl->max_wg : 256;
	if (d->local == 0)
		d->local = 1;
	d->global = (n + d->local - 1) / d->local * d->local;
	*out = d;
	return TG_CL_OK;
}

/* Buffers over the caller's memory live for one frame: making one costs
 * microseconds, and the frames come from memory that changes from frame to
 * frame (the spool's blocks, a writer's fresh room for a pipe). */
int tg_clip_dev_run(tg_clip_dev *d, const void *in, void *out, float lo, float s)
{
	cl_int err;
	int st = TG_CL_OK;
	cl_mem a = clCreateBuffer(d->cl->ctx, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, d->in_bytes,
	                          (void *)in, &err), b = NULL;
	if (a)
		b = clCreateBuffer(d->cl->ctx, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR, d->out_bytes,
		                   out, &err);
	if (!a || !b) {
		st = tg_cl_fail(TG_CL_FAIL, "clipnorm map: clCreateBuffer of %zu bytes: %s",
		                d->in_bytes, tg_cl_errname(err));
		goto done;
	}
	cl_ulong n = d->n;
	if ((st = tg_cl_args(d->k, sizeof(cl_mem), &a, sizeof(cl_mem), &b, sizeof n, &n,
	                     sizeof lo, &lo, sizeof s, &s, (size_t)0)) != TG_CL_OK)
		goto done;
	if ((st = tg_cl_run(d->cl, d->k, 1, &d->global, &d->local)) != TG_CL_OK)
		goto done;
	/* mapping makes out hold the result (on a CPU device it already does) */
	void *m = clEnqueueMapBuffer(d->cl->queue, b, CL_TRUE, CL_MAP_READ, 0, d->out_bytes, 0, NULL,
	                             NULL, &err);
	if (!m) {
		st = tg_cl_fail(TG_CL_FAIL, "clipnorm map: clEnqueueMapBuffer (output): %s",
		                tg_cl_errname(err));
		goto done;
	}
	err = clEnqueueUnmapMemObject(d->cl->queue, b, m, 0, NULL, NULL);
	if (err == CL_SUCCESS)
		err = clFinish(d->cl->queue);
	if (err != CL_SUCCESS)
		st = tg_cl_fail(TG_CL_FAIL, "clipnorm map: clEnqueueUnmapMemObject: %s", tg_cl_errname(err));
done:
	if (st != TG_CL_OK && (a || b))
		clFinish(d->cl->queue);
	if (a)
		clReleaseMemObject(a);
	if (b)
		clReleaseMemObject(b);
	return st;
}

void tg_clip_dev_free(tg_clip_dev *d)
{
	/* the kernel belongs to the runtime's program cache */
	free(d);
}
