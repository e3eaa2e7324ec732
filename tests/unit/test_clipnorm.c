/* Tests of clipnorm: libstream/clip.c (mask, minimum/maximum, radix
 * percentiles, the map and its OpenCL kernel) and the program bin/clipnorm
 * end to end against NumPy fixtures (tests/make_clipnorm_fixtures.py).
 *
 * Tolerances:
 *   bounds        |got - want| <= 1e-6 * max(|want|, hi - lo)  (NumPy float64)
 *   f32 outputs   1e-6 absolute (NumPy float64 arithmetic)
 *   u8/u16        exact (the documented single-precision rule)
 *   radix selection against stats.h's quickselect: exact (bit for bit)
 *   kernel against the C reference: exact (same float operations)
 * The OpenCL parts are skipped (SKIP lines) when there is no device, and
 * the program parts when bin/clipnorm is missing. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clip.h"
#include "ocl.h"
#include "stats.h"
#include "tstream.h"

static char fixtures[1024], bindir[1024];

/* ---- helpers ---- */

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* All frames of a stream on fd, one after another; NULL on error. */
static void *read_stream_fd(int fd, ts_header *h, size_t *nframes)
{
	ts_reader *r;
	if (ts_reader_open(&r, fd, "stream", 0)) {
		fprintf(stderr, "%s\n", ts_reader_error(r));
		ts_reader_close(r);
		return NULL;
	}
	ts_header_copy(h, ts_reader_header(r));
	size_t fb = (size_t)ts_frame_bytes(h), cap = 16, n = 0;
	char *buf = malloc(cap * fb + 1);
	ts_status st;
	/* frames stay in the order read; the header copy is the caller's */
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap * fb + 1);
		}
		st = ts_read_frame(r, buf + n * fb);
		if (st != TS_OK)
			break;
		n++;
	}
	if (st != TS_END) {
		fprintf(stderr, "%s\n", ts_reader_error(r));
		free(buf);
		buf = NULL;
	}
	ts_reader_close(r);
	*nframes = n;
	return buf;
}

static void *read_stream(const char *path, ts_header *h, size_t *nframes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	void *frames = read_stream_fd(fileno(f), h, nframes);
	fclose(f);
	return frames;
}

/* Runs bin/clipnorm with args; its output stream is read into *frames.
 * Returns the exit status (-1 if it could not run). */
static int run_clipnorm(char **args, int nargs, ts_header *h, void **frames, size_t *nframes)
{
	char prog[1100];
	snprintf(prog, sizeof prog, "%s/clipnorm", bindir);
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[64];
		int k = 0;
		argv[k++] = prog;
		argv[k++] = "-q";
		for (int i = 0; i < nargs && k < 62; i++)
			argv[k++] = args[i];
		argv[k] = NULL;
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(prog, argv);
		_exit(127);
	}
	close(p[1]);
	*frames = read_stream_fd(p[0], h, nframes);
	close(p[0]);
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
static double urand(void) { return (double)(rnd() >> 11) * 0x1p-53; }

static int bound_ok(double got, double want, double lo, double hi)
{
	double scale = fmax(fabs(want), hi - lo);
	return fabs(got - want) <= 1e-6 * scale;
}

/* ---- mask ---- */

static void test_masks(void)
{
	char path[1400];
	snprintf(path, sizeof path, "%s/masks.txt", fixtures);
	FILE *f = fopen(path, "r");
	if (!check(f != NULL, "masks.txt opens (%s)", path))
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		unsigned long long h, w, inside;
		double ratio;
		char bitmap[256];
		if (sscanf(line, "%llu %llu %lf %llu %255s", &h, &w, &ratio, &inside, bitmap) != 5)
			continue;
		tg_clip_mask m;
		if (!check(tg_clip_mask_init(&m, h, w, ratio) == 0, "mask %llux%llu ratio %g: init", h, w, ratio))
			continue;
		check(m.inside == inside, "mask %llux%llu ratio %g: %llu pixels inside (NumPy %llu)",
		      h, w, ratio, (unsigned long long)m.inside, inside);
		if (strcmp(bitmap, "-") != 0) {
			snprintf(path, sizeof path, "%s/%s", fixtures, bitmap);
			size_t len;
			unsigned char *b = read_file(path, &len);
			size_t bad = 0;
			if (b && len == h * w) {
				for (size_t i = 0; i < h; i++)
					for (size_t j = 0; j < w; j++)
						bad += (b[i * w + j] != 0) != (j >= m.x0[i] && j < m.x1[i]);
			}
			check(b && len == h * w && bad == 0,
			      "mask %llux%llu ratio %g: spans equal TomoPy's mask pixel for pixel (%zu differ)",
			      h, w, ratio, bad);
			free(b);
		}
		tg_clip_mask_free(&m);
	}
	fclose(f);
	tg_clip_mask m;
	check(tg_clip_mask_init(&m, 4, 4, 0) == -1 && tg_clip_mask_init(&m, 0, 4, 1) == -1,
	      "mask: ratio 0 and size 0 refused");
}

/* ---- minimum and maximum ---- */

static void test_minmax(void)
{
	size_t n = 1000;
	float *x = malloc(n * sizeof *x);
	int ok = 1;
	for (int trial = 0; trial < 50; trial++) {
		size_t m = 1 + rnd() % n;
		float lo = INFINITY, hi = -INFINITY;
		for (size_t i = 0; i < m; i++) {
			x[i] = (float)(urand() * 200 - 100);
			if (rnd() % 10 == 0)
				x[i] = NAN;
			if (x[i] < lo)
				lo = x[i];
			if (x[i] > hi)
				hi = x[i];
		}
		float a = 7, b = 7;
		int any = tg_clip_minmax(x, m, &a, &b);
		if (lo <= hi)
			ok &= any == 1 && a == lo && b == hi;
		else
			ok &= any == 0 && a == 7 && b == 7;
	}
	check(ok, "minmax: 50 random lengths with NaN equal a plain loop");
	for (size_t i = 0; i < 37; i++)
		x[i] = NAN;
	float a = 7, b = 7;
	check(tg_clip_minmax(x, 37, &a, &b) == 0 && a == 7 && tg_clip_minmax(x, 0, &a, &b) == 0,
	      "minmax: all NaN and empty count nothing");
	x[5] = -INFINITY;
	x[30] = INFINITY;
	check(tg_clip_minmax(x, 37, &a, &b) == 1 && a == -INFINITY && b == INFINITY,
	      "minmax: infinities count");

	/* masked: 3 planes of 13x17, against the bitmap of the spans */
	size_t H = 13, W = 17, P = 3;
	float *v = malloc(H * W * P * sizeof *v);
	tg_clip_mask m;
	tg_clip_mask_init(&m, H, W, 0.8);
	float lo = INFINITY, hi = -INFINITY;
	for (size_t p = 0; p < P; p++)
		for (size_t i = 0; i < H; i++)
			for (size_t j = 0; j < W; j++) {
				float val = (float)(urand() * 10);
				int in = j >= m.x0[i] && j < m.x1[i];
				if (!in)
					val = (i + j) % 2 ? 1000.0f : -1000.0f;
				v[(p * H + i) * W + j] = val;
				if (in && val < lo)
					lo = val;
				if (in && val > hi)
					hi = val;
			}
	check(tg_clip_minmax_masked(v, H * W * P, &m, &a, &b) == 1 && a == lo && b == hi,
	      "minmax masked: corners outside the mask are left out (3 planes)");
	tg_clip_mask_free(&m);
	free(v);
	free(x);

	/* typed: u16 and i16 over lengths that end inside, at and past a block
	 * of 1024, and f16 with NaN, against a plain loop over the converted
	 * values (exact) */
	static const size_t lens[] = { 1, 1023, 1024, 1025, 3000 };
	uint16_t *u = malloc(3000 * sizeof *u);
	float *f = malloc(3000 * sizeof *f);
	int tok = 1;
	for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
		size_t len = lens[li];
		static const ts_dtype types[] = { TS_U16, TS_I16, TS_F16 };
		for (int ti = 0; ti < 3; ti++) {
			for (size_t i = 0; i < len; i++)
				u[i] = (uint16_t)(rnd() & 0xffff);
			if (types[ti] == TS_F16)
				for (size_t i = 0; i < len; i++)   /* finite halves, every 7th NaN */
					u[i] = i % 7 == 3 ? 0x7e00 : (uint16_t)(u[i] & 0xbbff);
			ts_convert_to_f32(types[ti], u, f, len);
			float lo2 = INFINITY, hi2 = -INFINITY, ta = 7, tb = 7;
			for (size_t i = 0; i < len; i++) {
				lo2 = f[i] < lo2 ? f[i] : lo2;
				hi2 = f[i] > hi2 ? f[i] : hi2;
			}
			int any = tg_clip_minmax_typed(types[ti], u, len, &ta, &tb);
			tok &= lo2 <= hi2 ? any == 1 && ta == lo2 && tb == hi2 : any == 0 && ta == 7;
		}
	}
	check(tok, "minmax typed: u16, i16 and f16 (with NaN) over 1 to 3000 values equal a plain loop");
	free(u);
	free(f);
}

/* ---- radix selection ---- */

static int same_double(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* The header's extrema lists: every float (denormal, infinite, the
 * extremes, NaN as a frame with no value) reads back as the same bits;
 * malformed lists are refused. */
static void test_extrema_meta(void)
{
	const float mn[] = { -0.0f, 1.40129846e-45f, -3.40282347e38f, -INFINITY, NAN, 0.1f };
	const float mx[] = { 0.0f, 1.17549435e-38f, 3.40282347e38f, INFINITY, NAN, 1.0f / 3 };
	size_t n = sizeof mn / sizeof mn[0], got = 0;
	ts_meta m;
	ts_meta_init(&m);
	float *a = NULL, *b = NULL;
	int st = tg_extrema_get(&m, &a, &b, &got);
	check(st == 0, "extrema: none in an empty header (%d)", st);
	check(tg_extrema_set(&m, mn, mx, n) == TS_OK && tg_extrema_get(&m, &a, &b, &got) == 1 && got == n,
	      "extrema: set, then read back %zu values", n);
	int same = a && b;
	for (size_t i = 0; same && i < n; i++)
		same = isnan(mn[i]) ? isnan(a[i]) && isnan(b[i])
		                    : memcmp(&a[i], &mn[i], 4) == 0 && memcmp(&b[i], &mx[i], 4) == 0;
	check(same, "extrema: the same bits (-0, denormal, +-max, +-inf, nan, 0.1, 1/3)");
	free(a);
	free(b);
	static const char *const bad[][2] = {
		{ "1 2", NULL },   { "1 2", "3" },     { "1 x", "2 3" },  { "1  2", "3 4" },
		{ "1 2 ", "3 4" }, { "", "" },         { "3", "2" },      { "nan", "1" },
		{ "1", "nan" },    { "1,2", "3,4" },   { "nanx", "1" },   { " 1", "2" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ts_meta_free(&m);
		ts_meta_init(&m);
		ts_meta_set(&m, "extrema.min", bad[i][0]);
		if (bad[i][1])
			ts_meta_set(&m, "extrema.max", bad[i][1]);
		a = b = NULL;
		st = tg_extrema_get(&m, &a, &b, &got);
		check(st == -1 && !a && !b, "extrema: min '%s' max '%s' refused (%d)", bad[i][0],
		      bad[i][1] ? bad[i][1] : "(none)", st);
	}
	tg_extrema_drop(&m);
	check(!ts_meta_get(&m, "extrema.min") && !ts_meta_get(&m, "extrema.max"),
	      "extrema: drop removes both keys");
	ts_meta_free(&m);
}

static void test_rsel(void)
{
	static const double qs[][2] = { { 1, 99 }, { 0, 100 }, { 50, 50 }, { 33.3, 99.9 }, { 2.5, 75 } };
	size_t n = 20000;
	float *x = malloc(n * sizeof *x), *copy = malloc(n * sizeof *copy);
	int ok = 1, trials = 0;
	float run_value = 0;
	for (int kind = 0; kind < 7; kind++) {
		for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
			size_t m = kind == 5 ? 1 + rnd() % 3 : 1 + rnd() % n;
			for (size_t i = 0; i < m; i++) {
				double u = urand();
				switch (kind) {
				case 0: x[i] = (float)(u * 2 - 1); break;                       /* both signs */
				case 1: x[i] = (float)(1000 + u * 1e-3); break;                 /* narrow range */
				case 2: x[i] = (float)floor(u * 5) - 2; break;                  /* many ties, -0 */
				case 3: x[i] = (float)(exp(u * 80 - 40) * (rnd() % 2 ? 1 : -1)); break; /* wide */
				case 4:                                                         /* specials */
					x[i] = (float)(u * 4);
					if (rnd() % 7 == 0)
						x[i] = NAN;
					if (rnd() % 97 == 0)
						x[i] = rnd() % 2 ? INFINITY : -INFINITY;
					if (rnd() % 13 == 0)
						x[i] = rnd() % 2 ? 0.0f : -0.0f;
					if (rnd() % 31 == 0)
						x[i] = 1e-42f;   /* subnormal */
					break;
				case 6:                                                         /* long runs */
					if (i == 0 || rnd() % 150 == 0)
						run_value = rnd() % 3 == 0 ? 0.0f : (float)floor(u * 8) * 0.25f;
					x[i] = rnd() % 40 ? run_value : (float)u;
					break;
				default: x[i] = (float)(u * 10); break;
				}
			}
			if (kind == 2)
				x[0] = -0.0f;
			tg_rsel s;
			tg_rsel_init(&s, 2, qs[qi]);
			/* in two pieces, as frames arrive */
			tg_rsel_count(&s, x, m / 2);
			tg_rsel_count(&s, x + m / 2, m - m / 2);
			double got[2] = { NAN, NAN }, want[2];
			int planned = tg_rsel_plan(&s);
			tg_rsel_refine(&s, x + m / 3, m - m / 3);   /* another order of pieces */
			tg_rsel_refine(&s, x, m / 3);
			int res = tg_rsel_result(&s, got);
			memcpy(copy, x, m * sizeof *x);
			size_t k = tg_drop_nan(copy, m);
			tg_percentiles_f32(copy, k, qs[qi], 2, want);
			if (k == 0)
				ok &= planned == -1;
			else if (!(planned == 0 && res == 0 && same_double(got[0], want[0]) &&
			           same_double(got[1], want[1]))) {
				ok = 0;
				printf("  kind %d q %g,%g n %zu: radix %.9g %.9g, quickselect %.9g %.9g\n", kind,
				       qs[qi][0], qs[qi][1], m, got[0], got[1], want[0], want[1]);
			}
			tg_rsel_free(&s);
			trials++;
		}
	}
	check(ok, "radix percentiles equal stats.h's quickselect bit for bit (%d cases: signs, "
	      "narrow range, ties, -0, 80 octaves, NaN, inf, subnormals, long runs of one value)", trials);

	/* pass 2 that misses values is detected */
	for (size_t i = 0; i < 1000; i++)
		x[i] = (float)i;
	tg_rsel s;
	double q[2] = { 1, 99 }, out[2];
	tg_rsel_init(&s, 2, q);
	tg_rsel_count(&s, x, 1000);
	tg_rsel_plan(&s);
	tg_rsel_refine(&s, x, 500);
	check(tg_rsel_result(&s, out) == -1, "radix: a second pass that saw other values is refused");
	tg_rsel_free(&s);
	double badq[2] = { -1, 101 };
	check(tg_rsel_init(&s, 2, badq) == -1 && tg_rsel_init(&s, 3, q) == -1,
	      "radix: percentiles outside [0, 100] and more than two refused");

	/* masked passes against the gathered masked values */
	size_t H = 31, W = 23;
	tg_clip_mask mk;
	tg_clip_mask_init(&mk, H, W, 0.95);
	for (size_t i = 0; i < 2 * H * W; i++)
		x[i] = (float)(urand() * 100);
	size_t k = 0;
	for (size_t p = 0; p < 2; p++)
		for (size_t i = 0; i < H; i++)
			for (size_t j = mk.x0[i]; j < mk.x1[i]; j++)
				copy[k++] = x[(p * H + i) * W + j];
	double want[2];
	tg_percentiles_f32(copy, k, q, 2, want);
	tg_rsel_init(&s, 2, q);
	tg_rsel_count_masked(&s, x, 2 * H * W, &mk);
	tg_rsel_plan(&s);
	tg_rsel_refine_masked(&s, x, 2 * H * W, &mk);
	check(tg_rsel_result(&s, out) == 0 && out[0] == want[0] && out[1] == want[1] &&
	      s.total == 2 * mk.inside,
	      "radix masked: equals quickselect over the %zu masked values", k);
	tg_rsel_free(&s);
	tg_clip_mask_free(&mk);
	free(x);
	free(copy);
}

/* ---- fixture cases ---- */

struct fcase {
	char name[64], input[128], otype[8], expected[128];
	double lo, hi;
	char *args[16];
	int nargs;
	char argbuf[512];
};

static int load_cases(struct fcase *c, int max)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/cases.txt", fixtures);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[1024];
	int n = 0;
	while (n < max && fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		int used = 0;
		struct fcase *k = &c[n];
		if (sscanf(line, "%63s %127s %7s %lf %lf %127s %n", k->name, k->input, k->otype, &k->lo,
		           &k->hi, k->expected, &used) < 6)
			continue;
		snprintf(k->argbuf, sizeof k->argbuf, "%s", line + used);
		k->nargs = 0;
		for (char *t = strtok(k->argbuf, " \n"); t && k->nargs < 16; t = strtok(NULL, " \n"))
			k->args[k->nargs++] = t;
		n++;
	}
	fclose(f);
	return n;
}

static int out_kind(const struct fcase *c)
{
	for (int i = 0; i + 1 < c->nargs; i++)
		if (strcmp(c->args[i], "--out") == 0) {
			const char *v = c->args[i + 1];
			return strcmp(v, "11") == 0 ? TG_CLIP_OUT_11 : strcmp(v, "u8") == 0 ? TG_CLIP_OUT_U8 :
			       strcmp(v, "u16") == 0 ? TG_CLIP_OUT_U16 : TG_CLIP_OUT_01;
		}
	return TG_CLIP_OUT_01;
}

static int has_arg(const struct fcase *c, const char *a)
{
	for (int i = 0; i < c->nargs; i++)
		if (strcmp(c->args[i], a) == 0)
			return 1;
	return 0;
}

/* Compares n outputs of kind o with the expected file; worst error in *err. */
static int compare_output(const struct fcase *c, int o, const void *got, size_t n, double *err)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", fixtures, c->expected);
	size_t len;
	void *want = read_file(path, &len);
	size_t es = o == TG_CLIP_OUT_U8 ? 1 : o == TG_CLIP_OUT_U16 ? 2 : 4;
	int ok = want && len == n * es;
	*err = INFINITY;
	if (ok && es == 4) {
		*err = check_max_abs(got, want, n);
		ok = *err <= 1e-6;
	} else if (ok) {
		size_t bad = 0;
		for (size_t i = 0; i < n; i++)
			bad += es == 1 ? ((const uint8_t *)got)[i] != ((const uint8_t *)want)[i]
			               : ((const uint16_t *)got)[i] != ((const uint16_t *)want)[i];
		*err = (double)bad;
		ok = bad == 0;
	}
	free(want);
	return ok;
}

/* The library's statistics and map on the fixtures (no OpenCL). */
static void test_library_cases(struct fcase *cs, int ncases)
{
	for (int ci = 0; ci < ncases; ci++) {
		struct fcase *c = &cs[ci];
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", fixtures, c->input);
		ts_header h;
		size_t nf;
		void *raw = read_stream(path, &h, &nf);
		if (!check(raw != NULL, "%s: fixture %s reads", c->name, c->input))
			continue;
		size_t n = (size_t)ts_frame_elems(&h), es = ts_dtype_size(h.dtype);
		float *v = malloc(n * nf * sizeof *v);
		ts_convert_to_f32(h.dtype, raw, v, n * nf);
		double lower = 1, upper = 99, mask = 0;
		for (int i = 0; i + 1 < c->nargs; i++) {
			if (strcmp(c->args[i], "--lower") == 0)
				lower = atof(c->args[i + 1]);
			if (strcmp(c->args[i], "--upper") == 0)
				upper = atof(c->args[i + 1]);
			if (strcmp(c->args[i], "--mask") == 0)
				mask = atof(c->args[i + 1]);
		}
		tg_clip_mask m = { 0 };
		if (mask > 0)
			tg_clip_mask_init(&m, h.dims[h.rank - 2], h.dims[h.rank - 1], mask);
		double lo = c->lo, hi = c->hi;
		int fixed = has_arg(c, "--bounds") || has_arg(c, "--window");
		if (!fixed && has_arg(c, "--pixels")) {
			tg_rsel s;
			double q[2] = { lower, upper }, out[2] = { NAN, NAN };
			tg_rsel_init(&s, 2, q);
			for (size_t f = 0; f < nf; f++)
				mask > 0 ? tg_rsel_count_masked(&s, v + f * n, n, &m) : tg_rsel_count(&s, v + f * n, n);
			tg_rsel_plan(&s);
			for (size_t f = 0; f < nf; f++)
				mask > 0 ? tg_rsel_refine_masked(&s, v + f * n, n, &m) : tg_rsel_refine(&s, v + f * n, n);
			tg_rsel_result(&s, out);
			tg_rsel_free(&s);
			lo = out[0];
			hi = out[1];
		} else if (!fixed) {
			float *mins = malloc(nf * sizeof *mins), *maxs = malloc(nf * sizeof *maxs);
			size_t k = 0;
			for (size_t f = 0; f < nf; f++) {
				float a, b;
				int any = mask > 0 ? tg_clip_minmax_masked(v + f * n, n, &m, &a, &b)
				                   : tg_clip_minmax(v + f * n, n, &a, &b);
				if (any) {
					mins[k] = a;
					maxs[k++] = b;
				}
			}
			tg_percentiles_f32(mins, k, &lower, 1, &lo);
			tg_percentiles_f32(maxs, k, &upper, 1, &hi);
			free(mins);
			free(maxs);
		}
		if (!fixed)
			check(bound_ok(lo, c->lo, c->lo, c->hi) && bound_ok(hi, c->hi, c->lo, c->hi),
			      "%s: library bounds %.9g %.9g (NumPy %.9g %.9g)", c->name, lo, hi, c->lo, c->hi);
		int o = out_kind(c);
		float lo_f, s_f;
		tg_clip_params(lo, hi, &lo_f, &s_f);
		void *y = malloc(n * nf * 4);
		tg_clip_map_ref(h.dtype, raw, y, n * nf, lo_f, s_f, (tg_clip_out)o);
		double err = 0;
		int same = compare_output(c, o, y, n * nf, &err);
		check(same,
		      "%s: C reference map equals NumPy (%s %g)", c->name,
		      o >= TG_CLIP_OUT_U8 ? "values differing:" : "max abs error", err);
		(void)es;
		free(y);
		free(v);
		free(raw);
		tg_clip_mask_free(&m);
		ts_header_free(&h);
	}
}

/* ---- the kernel against the reference ---- */

static void test_kernel(void)
{
	tg_cl *cl;
	if (tg_cl_init(&cl) != TG_CL_OK) {
		printf("SKIP OpenCL clipnorm map: %s\n", tg_cl_error());
		return;
	}
	static const struct { ts_dtype t; int o; } combos[] = {
		{ TS_F32, TG_CLIP_OUT_01 }, { TS_F32, TG_CLIP_OUT_11 }, { TS_F32, TG_CLIP_OUT_U8 },
		{ TS_F32, TG_CLIP_OUT_U16 }, { TS_U8, TG_CLIP_OUT_01 }, { TS_U16, TG_CLIP_OUT_U16 },
		{ TS_I16, TG_CLIP_OUT_U8 }, { TS_F16, TG_CLIP_OUT_01 },
	};
	size_t n = 10007;   /* not a multiple of the work-group size */
	for (size_t ci = 0; ci < sizeof combos / sizeof combos[0]; ci++) {
		ts_dtype t = combos[ci].t;
		int o = combos[ci].o;
		size_t is = ts_dtype_size(t), os = o == TG_CLIP_OUT_U8 ? 1 : o == TG_CLIP_OUT_U16 ? 2 : 4;
		float *xf = malloc(n * sizeof *xf);
		void *x = malloc(n * is), *ref = malloc(n * os);
		float lo_f, s_f;
		double lo = t == TS_F32 || t == TS_F16 ? -0.37 : t == TS_I16 ? -1000 : 10;
		double hi = t == TS_F32 || t == TS_F16 ? 2.9 : t == TS_I16 ? 1500 : t == TS_U8 ? 200 : 60000;
		for (size_t i = 0; i < n; i++) {
			double span = hi - lo;
			xf[i] = (float)(lo - 0.2 * span + urand() * 1.4 * span);
			if (t == TS_F32 && i % 101 == 0)
				xf[i] = i % 202 ? NAN : (i % 303 ? INFINITY : -INFINITY);
		}
		xf[1] = (float)lo;
		xf[2] = (float)hi;
		ts_convert_from_f32(t, xf, x, n);
		tg_clip_params(lo, hi, &lo_f, &s_f);
		tg_clip_map_ref(t, x, ref, n, lo_f, s_f, (tg_clip_out)o);
		tg_clip_dev *d;
		/* output memory 4 bytes past an allocation for odd n: the
		 * runtime may not take it as it is, and must then copy */
		unsigned char *yb = malloc(n * os + 4), *y = yb + (n % 2 ? 4 : 0);
		int ok = tg_clip_dev_init(&d, cl, t, (tg_clip_out)o, n) == TG_CL_OK;
		if (ok)
			ok = tg_clip_dev_run(d, x, y, lo_f, s_f) == TG_CL_OK;
		size_t bad = 0;
		if (ok)
			for (size_t i = 0; i < n; i++)
				bad += memcmp(y + i * os, (char *)ref + i * os, os) != 0;
		check(ok && bad == 0, "kernel %s -> %s equals the C reference exactly on %zu values "
		      "(%zu differ)%s%s", ts_dtype_name(t),
		      (const char *[]){ "01", "11", "u8", "u16" }[o], n, bad, ok ? "" : ": ",
		      ok ? "" : tg_cl_error());
		tg_clip_dev_free(ok ? d : NULL);
		free(yb);
		/* spot checks of the rule itself */
		if (t == TS_F32 && o == TG_CLIP_OUT_01)
			check(((float *)ref)[0] == 0.0f && ((float *)ref)[1] == 0.0f &&
			      fabsf(((float *)ref)[2] - 1.0f) <= 1e-6f,
			      "map: NaN gives 0, lo gives 0, hi gives 1");
		free(xf);
		free(x);
		free(ref);
	}
	/* frames in turn from and into different memory, one of them 64 MiB
	 * in fresh pages as a pipe's writer gives them */
	tg_clip_dev *d;
	float lo_f, s_f;
	tg_clip_params(0, 1, &lo_f, &s_f);
	int ok = tg_clip_dev_init(&d, cl, TS_F32, TG_CLIP_OUT_U8, 3) == TG_CL_OK;
	for (int frame = 0; ok && frame < 3; frame++) {
		float in[3];
		uint8_t y[3] = { 7, 7, 7 }, want[3];
		for (int i = 0; i < 3; i++)
			in[i] = 0.5f * (float)i * (float)(frame + 1) / 3.0f;
		tg_clip_map_ref(TS_F32, in, want, 3, lo_f, s_f, TG_CLIP_OUT_U8);
		ok = tg_clip_dev_run(d, in, y, lo_f, s_f) == TG_CL_OK && memcmp(y, want, 3) == 0;
	}
	check(ok, "kernel: three frames in turn from and into the caller's memory");
	tg_clip_dev_free(d);
	size_t big = (size_t)1 << 24;
	float *xb = malloc(big * sizeof *xb);
	float *yb = mmap(NULL, big * sizeof *yb, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok = xb && yb != MAP_FAILED && tg_clip_dev_init(&d, cl, TS_F32, TG_CLIP_OUT_01, big) == TG_CL_OK;
	size_t bad = 0;
	if (ok) {
		for (size_t i = 0; i < big; i++)
			xb[i] = (float)(i % 1000) * 0.002f - 0.5f;
		ok = tg_clip_dev_run(d, xb, yb, 0.0f, 1.0f) == TG_CL_OK;
		for (size_t i = 0; ok && i < big; i++) {
			float v = (float)(i % 1000) * 0.002f - 0.5f;
			bad += yb[i] != (v < 0 ? 0.0f : v > 1 ? 1.0f : v);
		}
		tg_clip_dev_free(d);
	}
	check(ok && bad == 0, "kernel: a 64 MiB frame into fresh pages (%zu values differ)", bad);
	free(xb);
	if (yb != MAP_FAILED)
		munmap(yb, big * sizeof *yb);
}

/* ---- the program ---- */

static void test_program(struct fcase *cs, int ncases)
{
	char prog[1100];
	snprintf(prog, sizeof prog, "%s/clipnorm", bindir);
	if (access(prog, X_OK) != 0) {
		printf("SKIP program: %s not built\n", prog);
		return;
	}
	tg_cl *cl;
	if (tg_cl_init(&cl) != TG_CL_OK) {
		printf("SKIP program: no OpenCL device: %s\n", tg_cl_error());
		return;
	}
	for (int ci = 0; ci < ncases; ci++) {
		struct fcase *c = &cs[ci];
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", fixtures, c->input);
		char *args[20];
		int na = 0;
		for (int i = 0; i < c->nargs; i++)
			args[na++] = c->args[i];
		args[na++] = path;
		ts_header h;
		void *frames = NULL;
		size_t nf = 0;
		int rc = run_clipnorm(args, na, &h, &frames, &nf);
		if (!check(rc == 0 && frames, "%s: clipnorm runs (exit %d)", c->name, rc)) {
			free(frames);
			continue;
		}
		int o = out_kind(c);
		ts_dtype want_t = o == TG_CLIP_OUT_U8 ? TS_U8 : o == TG_CLIP_OUT_U16 ? TS_U16 : TS_F32;
		const char *slo = ts_meta_get(&h.meta, "clip.lo"), *shi = ts_meta_get(&h.meta, "clip.hi");
		const char *rule = ts_meta_get(&h.meta, "clip.rule");
		double lo = slo ? strtod(slo, NULL) : NAN, hi = shi ? strtod(shi, NULL) : NAN, rlo, rhi;
		check(h.dtype == want_t && bound_ok(lo, c->lo, c->lo, c->hi) && bound_ok(hi, c->hi, c->lo, c->hi) &&
		      rule && *rule,
		      "%s: output %s, clip.lo %.9g clip.hi %.9g (NumPy %.9g %.9g), clip.rule '%s'", c->name,
		      ts_dtype_name(h.dtype), lo, hi, c->lo, c->hi, rule ? rule : "(none)");
		static const double range_hi[] = { 1, 1, 255, 65535 };
		check(ts_meta_get_range(&h.meta, &rlo, &rhi) == 0 && rlo == (o == TG_CLIP_OUT_11 ? -1 : 0) &&
		      rhi == range_hi[o] && ts_meta_get(&h.meta, "range.meaning"),
		      "%s: range metadata", c->name);
		double err = 0;
		size_t n = (size_t)ts_frame_elems(&h) * nf;
		int same = compare_output(c, o, frames, n, &err);
		check(same, "%s: %zu frames equal NumPy (%s %g)", c->name,
		      nf, o >= TG_CLIP_OUT_U8 ? "values differing:" : "max abs error", err);
		free(frames);
		ts_header_free(&h);
	}

	/* statistics file round trip: --stats-out, then --stats gives the same
	 * frames without statistics passes */
	char stats[] = "/tmp/test_clipnorm_statsXXXXXX";
	int fd = mkstemp(stats);
	if (fd >= 0)
		close(fd);
	char vol[1200];
	snprintf(vol, sizeof vol, "%s/vol.tns", fixtures);
	ts_header h1, h2;
	void *f1 = NULL, *f2 = NULL;
	size_t n1 = 0, n2 = 0;
	int rc1 = run_clipnorm((char *[]){ "--mask", "0.9", "--out", "u8", "--stats-out", stats, vol }, 7,
	                       &h1, &f1, &n1);
	size_t len = 0;
	char *text = read_file(stats, &len);
	double flo = NAN, fhi = NAN;
	if (text) {
		text = realloc(text, len + 1);
		text[len] = 0;
		char *p = strstr(text, "\nlo="), *q = strstr(text, "\nhi=");
		if (p && q) {
			flo = strtod(p + 4, NULL);
			fhi = strtod(q + 4, NULL);
		}
	}
	int rc2 = run_clipnorm((char *[]){ "--stats", stats, "--out", "u8", vol }, 5, &h2, &f2, &n2);
	const char *lo1 = f1 ? ts_meta_get(&h1.meta, "clip.lo") : NULL;
	const char *lo2 = f2 ? ts_meta_get(&h2.meta, "clip.lo") : NULL;
	const char *r1 = f1 ? ts_meta_get(&h1.meta, "clip.rule") : NULL;
	const char *r2 = f2 ? ts_meta_get(&h2.meta, "clip.rule") : NULL;
	check(rc1 == 0 && rc2 == 0 && f1 && f2 && n1 == n2 && n1 == 12 &&
	      memcmp(f1, f2, n1 * (size_t)ts_frame_bytes(&h1)) == 0 && lo1 && lo2 &&
	      strcmp(lo1, lo2) == 0 && r1 && r2 && strcmp(r1, r2) == 0,
	      "stats file: --stats reuses the bounds and rule of --stats-out, same frames byte for byte");
	check(text && flo == (lo1 ? strtod(lo1, NULL) : 0) && fhi > flo,
	      "stats file: lo=%.17g hi=%.17g written at full precision", flo, fhi);
	free(text);
	free(f1);
	free(f2);
	if (f1)
		ts_header_free(&h1);
	if (f2)
		ts_header_free(&h2);
	unlink(stats);
}

/* ---- the spool: records out in the order they went in, as often as asked ---- */

static unsigned char spool_byte(uint64_t rec, size_t i)
{
	return (unsigned char)((rec * 131 + i * 7 + (i >> 9)) & 0xff);
}

/* Reads up to `upto` records (all: UINT64_MAX) and checks their bytes;
 * returns the count read, or -1 on a mismatch or an error. */
static int64_t spool_drain(tg_spool *sp, size_t size, uint64_t upto)
{
	const void *rec;
	uint64_t k = 0;
	int st;
	while (k < upto && (st = tg_spool_next(sp, &rec)) == 1) {
		const unsigned char *b = rec;
		for (size_t i = 0; i < size; i++)
			if (b[i] != spool_byte(k, i))
				return -1;
		k++;
	}
	return k < upto && st != 0 ? -1 : (int64_t)k;
}

static void test_spool(void)
{
	/* record sizes: several to a group with a short last group, one to a
	 * group and not a whole number of sectors, groups of 4 MiB exactly */
	static const struct { size_t size; uint64_t n; } cs[] = {
		{ 1000, 9000 }, { (1u << 20) + 12, 13 }, { 1u << 20, 9 }, { 100, 0 },
	};
	const char *modes[] = { "direct", "buffered" };
	for (int m = 0; m < 2; m++) {
		setenv("TOMOGAN_SPOOL", modes[m], 1);
		for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
			size_t size = cs[c].size;
			uint64_t n = cs[c].n;
			tg_spool sp;
			int ok = tg_spool_open(&sp, size) == 0;
			for (uint64_t k = 0; ok && k < n; k++) {
				unsigned char *b = tg_spool_claim(&sp);
				ok = b != NULL;
				for (size_t i = 0; ok && i < size; i++)
					b[i] = spool_byte(k, i);
				if (ok)
					tg_spool_commit(&sp);
			}
			/* whole, then cut short and read whole again (a third pass) */
			int64_t all = ok && tg_spool_rewind(&sp) == 0 ? spool_drain(&sp, size, UINT64_MAX) : -1;
			int64_t part = n && tg_spool_rewind(&sp) == 0 ? spool_drain(&sp, size, n / 2 + 1) : 0;
			int64_t again = tg_spool_rewind(&sp) == 0 ? spool_drain(&sp, size, UINT64_MAX) : -1;
			const void *rec;
			int end = tg_spool_next(&sp, &rec);
			check(ok && all == (int64_t)n && part == (int64_t)(n ? n / 2 + 1 : 0) && again == (int64_t)n &&
			      end == 0 && sp.records == n && (m == 1 ? sp.direct == 0 : 1),
			      "spool (%s, O_DIRECT %s): %llu records of %zu bytes back in order three times "
			      "(read %lld, %lld, %lld)", modes[m], sp.direct ? "on" : "off",
			      (unsigned long long)n, size, (long long)all, (long long)part, (long long)again);
			tg_spool_close(&sp);
		}
	}
	unsetenv("TOMOGAN_SPOOL");
	const char *old = getenv("TMPDIR");
	char *keep = old ? strdup(old) : NULL;
	setenv("TMPDIR", "/nonexistent/tomogan-spool", 1);
	tg_spool sp;
	errno = 0;
	int rc = tg_spool_open(&sp, 64);
	check(rc == -1 && errno == ENOENT && sp.fd == -1 && sp.io == NULL,
	      "spool: a TMPDIR that does not exist -> -1, ENOENT, nothing open");
	if (keep)
		setenv("TMPDIR", keep, 1);
	else
		unsetenv("TMPDIR");
	free(keep);
}

int main(void)
{
	const char *fx = getenv("FIXTURES"), *bin = getenv("BIN");
	snprintf(fixtures, sizeof fixtures, "%s/clipnorm", fx && *fx ? fx : "tests/fixtures");
	snprintf(bindir, sizeof bindir, "%s", bin && *bin ? bin : "bin");
	test_masks();
	test_minmax();
	test_extrema_meta();
	test_rsel();
	/* before any OpenCL: it sets TOMOGAN_SPOOL and TMPDIR with setenv,
	 * which must not race PoCL's worker threads reading the environment
	 * (test_nn_ckpt says more); the spool's own threads are joined by
	 * tg_spool_close before each setenv */
	test_spool();
	static struct fcase cases[64];
	int nc = load_cases(cases, 64);
	if (check(nc > 0, "cases.txt: %d cases", nc)) {
		test_library_cases(cases, nc);
		test_kernel();
		test_program(cases, nc);
	}
	return check_finish();
}
