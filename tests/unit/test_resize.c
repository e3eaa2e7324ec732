/* test_resize.c: resize's tables and reference against Pillow/OpenCV
 * fixtures, and the OpenCL path against the reference.
 *
 * Fixtures (tests/make_resize_fixtures.py; $FIXTURES/resize/cases.txt):
 * every filter on random and real-CT float images, integer and non-integer
 * downscales, upscales, non-square, mixed and tiny shapes.  Tolerances:
 *   reference vs Pillow/OpenCV   max |diff| <= 1e-4 (data in [0, 1])
 *   OpenCL vs reference          max |diff| <= 1e-6
 * Beyond the fixtures, the OpenCL path runs on frames of every stream type,
 * several planes, crops, clamping and several frames in a row (its double
 * buffering), with the CPU's vector kernels and again with one column per
 * work item (TOMOGAN_RESIZE_VEC=1, what GPUs get).  The OpenCL part is
 * skipped (SKIP line) when there is no OpenCL device.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "resample.h"

#define TOL_LIB 1e-4
#define TOL_CL 1e-6

static uint32_t fmix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* The fixture script's pseudo-random image, exactly. */
static void hash_image(float *v, size_t n, uint32_t seed)
{
	uint32_t base = seed * 0x9E3779B9u;
	for (size_t i = 0; i < n; i++)
		v[i] = (float)(fmix32((uint32_t)i + base) >> 8) / 16777216.0f;
}

static float *read_f32(const char *dir, const char *name, size_t n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *b = malloc(n * 4);
	float *v = malloc(n * sizeof *v);
	size_t got = fread(b, 1, n * 4, f);
	int extra = fgetc(f) != EOF;
	fclose(f);
	if (got != n * 4 || extra) {
		free(b);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
		             (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
		memcpy(&v[i], &u, 4);
	}
	free(b);
	return v;
}

static float *ref_resize(tg_rs_plan *p, const float *src, size_t pitch)
{
	float *dst = malloc((size_t)p->out_w * p->out_h * sizeof *dst);
	float *tmp = malloc(tg_rs_tmp_elems(p) * sizeof *tmp);
	tg_rs_ref_plane(p, src, pitch, dst, tmp);
	free(tmp);
	return dst;
}

/* ---- OpenCL helper: one or more frames through tg_rs_cl ---- */

static tg_cl *cl;

/* Resizes `frames` frames (each planes x frame_h x frame_w of dtype t,
 * consecutive in src) and returns their outputs; NULL with a message on
 * failure. */
static float *cl_resize(const tg_rs_plan *p, const tg_rs_frame *f, const void *src, int frames)
{
	tg_rs_cl *s;
	if (tg_rs_cl_create(&s, cl, p, f) != TG_CL_OK) {
		printf("# %s\n", tg_cl_error());
		return NULL;
	}
	size_t in_bytes = (size_t)f->planes * f->frame_w * f->frame_h * ts_dtype_size(f->dtype);
	size_t out_n = (size_t)f->planes * p->out_w * p->out_h;
	float *out = malloc(out_n * frames * sizeof *out);
	void *in;
	int st = tg_rs_cl_input(s, &in);
	if (!st)
		memcpy(in, src, in_bytes);
	for (int i = 0; i < frames && !st; i++) {
		st = tg_rs_cl_run(s);
		if (!st && i + 1 < frames) {
			st = tg_rs_cl_input(s, &in);
			if (!st)
				memcpy(in, (const char *)src + (i + 1) * in_bytes, in_bytes);
		}
		const float *o;
		if (!st)
			st = tg_rs_cl_output(s, &o);
		if (!st) {
			memcpy(out + i * out_n, o, out_n * sizeof *out);
			st = tg_rs_cl_release_output(s);
		}
	}
	tg_rs_cl_free(s);
	if (st) {
		printf("# %s\n", tg_cl_error());
		free(out);
		return NULL;
	}
	return out;
}

/* ---- fixtures ---- */

struct worst {
	int cases;
	double lib, lib_order, cl_ref, cl_lib;
	char at[256], at_cl[256];
};

static void fixtures(const char *fixdir)
{
	char dir[1024], path[1100], line[512];
	snprintf(dir, sizeof dir, "%s/resize", fixdir);
	snprintf(path, sizeof path, "%s/cases.txt", dir);
	FILE *idx = fopen(path, "r");
	if (!check(idx != NULL, "fixture index %s opens", path))
		return;
	struct worst w[TG_RS_NFILTERS];
	memset(w, 0, sizeof w);
	for (int f = 0; f < TG_RS_NFILTERS; f++)
		strcpy(w[f].at_cl, "-");
	int ncases = 0, bad = 0;
	while (fgets(line, sizeof line, idx)) {
		char input[128], filt[64], output[256];
		int iw, ih, ow, oh;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%127s %d %d %d %d %63s %255s", input, &iw, &ih, &ow, &oh, filt,
		           output) != 7) {
			check(0, "fixture line parses: %s", line);
			bad++;
			continue;
		}
		tg_rs_filter f;
		if (tg_rs_filter_parse(filt, &f)) {
			check(0, "fixture filter %s known", filt);
			bad++;
			continue;
		}
		size_t n = (size_t)iw * ih;
		float *src;
		if (strncmp(input, "hash:", 5) == 0) {
			src = malloc(n * sizeof *src);
			hash_image(src, n, (uint32_t)strtoul(input + 5, NULL, 10));
		} else {
			src = read_f32(dir, input, n);
		}
		float *want = read_f32(dir, output, (size_t)ow * oh);
		if (!src || !want) {
			check(0, "fixture files %s, %s read", input, output);
			bad++;
			free(src);
			free(want);
			continue;
		}
		tg_rs_plan p;
		if (tg_rs_plan_init(&p, f, iw, ih, ow, oh)) {
			check(0, "plan %s %dx%d->%dx%d", filt, iw, ih, ow, oh);
			bad++;
			continue;
		}
		size_t on = (size_t)ow * oh;
		struct worst *wf = &w[f];
		float *got = ref_resize(&p, src, (size_t)iw);
		double d = check_max_abs(got, want, on);
		if (d > wf->lib || wf->cases == 0) {
			wf->lib = d;
			snprintf(wf->at, sizeof wf->at, "%s", output);
		}
		/* the other pass order */
		tg_rs_plan_set_order(&p, !p.vertical_first);
		float *got2 = ref_resize(&p, src, (size_t)iw);
		d = check_max_abs(got2, want, on);
		if (d > wf->lib_order)
			wf->lib_order = d;
		tg_rs_plan_set_order(&p, !p.vertical_first);
		if (cl) {
			tg_rs_frame fr = {TS_F32, 1, iw, ih, 0, 0, 0, 0, 0};
			float *g = cl_resize(&p, &fr, src, 1);
			if (!g) {
				check(0, "OpenCL resize %s runs", output);
				bad++;
			} else {
				d = check_max_abs(g, got, on);
				if (d > wf->cl_ref) {
					wf->cl_ref = d;
					snprintf(wf->at_cl, sizeof wf->at_cl, "%s", output);
				}
				d = check_max_abs(g, want, on);
				if (d > wf->cl_lib)
					wf->cl_lib = d;
			}
			free(g);
		}
		wf->cases++;
		ncases++;
		free(got);
		free(got2);
		free(src);
		free(want);
		tg_rs_plan_free(&p);
	}
	fclose(idx);
	check(ncases >= 100 && bad == 0, "fixtures: %d cases read (%d bad)", ncases, bad);
	for (int f = 0; f < TG_RS_NFILTERS; f++) {
		const char *name = tg_rs_filter_name((tg_rs_filter)f);
		check(w[f].cases > 0 && w[f].lib <= TOL_LIB,
		      "reference %s vs %s: %d cases, max |diff| %.2g <= %.0e (worst %s)", name,
		      f >= TG_RS_BILINEAR_CV ? "OpenCV" : "Pillow", w[f].cases, w[f].lib, TOL_LIB, w[f].at);
		check(w[f].lib_order <= TOL_LIB,
		      "reference %s, other pass order: max |diff| %.2g <= %.0e", name, w[f].lib_order,
		      TOL_LIB);
		if (cl) {
			check(w[f].cl_ref <= TOL_CL, "OpenCL %s vs reference: max |diff| %.2g <= %.0e (worst %s)",
			      name, w[f].cl_ref, TOL_CL, w[f].at_cl);
			check(w[f].cl_lib <= TOL_LIB, "OpenCL %s vs library: max |diff| %.2g <= %.0e", name,
			      w[f].cl_lib, TOL_LIB);
		}
	}
}

/* ---- table properties ---- */

static void tables(void)
{
	tg_rs_plan p;
	int ok = tg_rs_plan_init(&p, TG_RS_AREA_CV, 2048, 2048, 256, 256) == 0;
	check(ok && p.x.box == 8 && p.y.box == 8, "area 2048->256 is an 8x8 box mean (box %d, %d)",
	      ok ? p.x.box : -1, ok ? p.y.box : -1);
	tg_rs_plan_free(&p);
	ok = tg_rs_plan_init(&p, TG_RS_BOX, 96, 64, 32, 32) == 0;
	check(ok && p.x.box == 3 && p.y.box == 2, "Pillow BOX 96x64->32x32 is a 3x2 box mean");
	tg_rs_plan_free(&p);
	ok = tg_rs_plan_init(&p, TG_RS_AREA_CV, 100, 60, 30, 18) == 0;
	check(ok && !p.x.box && p.x.taps == 4, "area 100->30 uses coverage weights over 4 taps (%d)",
	      ok ? p.x.taps : -1);
	tg_rs_plan_free(&p);

	/* Pillow normalises every output's weights to sum 1; the windows stay
	 * inside the image; bicubic x8 reaches 2 * 2 * 8 = 32 taps. */
	ok = tg_rs_plan_init(&p, TG_RS_BICUBIC, 2048, 1000, 256, 333) == 0;
	double worst = 0;
	int inside = ok;
	for (int o = 0; ok && o < 256; o++) {
		double s = 0;
		for (int k = 0; k < p.x.taps; k++)
			s += p.x.w[o * p.x.taps + k];
		if (fabs(s - 1) > worst)
			worst = fabs(s - 1);
		if (p.x.start[o] < 0 || p.x.start[o] + p.x.taps > 2048)
			inside = 0;
	}
	check(ok && worst < 1e-6 && inside && p.x.taps == 32,
	      "bicubic 2048->256 weights sum to 1 (worst %.1g), windows inside, 32 taps (%d)", worst,
	      ok ? p.x.taps : -1);
	check(ok && p.vertical_first, "a large shrink runs the vertical pass first");
	tg_rs_plan_free(&p);

	/* OpenCV cubic on an upscale: replicated border folded into windows. */
	ok = tg_rs_plan_init(&p, TG_RS_CUBIC_CV, 16, 16, 37, 37) == 0;
	check(ok && p.x.taps == 4 && p.x.start[0] == 0 && p.x.start[36] == 12,
	      "cubic-opencv 16->37 windows of 4 clamped to the image");
	tg_rs_plan_free(&p);

	ok = tg_rs_plan_init(&p, TG_RS_LANCZOS3, 50, 40, 50, 20) == 0;
	check(ok && p.x.identity && !p.y.identity, "an unchanged axis is an identity (no pass)");
	tg_rs_plan_free(&p);

	check(tg_rs_plan_init(&p, TG_RS_BICUBIC, 0, 10, 5, 5) == -1 &&
	      tg_rs_plan_init(&p, TG_RS_BICUBIC, 10, 10, 5, TG_RS_MAX_SIDE + 1) == -1,
	      "plan refuses empty and oversized sides");
	tg_rs_filter f;
	check(tg_rs_filter_parse("cubic-opencv", &f) == 0 && f == TG_RS_CUBIC_CV &&
	      tg_rs_filter_parse("bicubik", &f) == -1 &&
	      strcmp(tg_rs_filter_name(TG_RS_LANCZOS3), "lanczos3") == 0,
	      "filter names parse and print");
}

/* ---- OpenCL beyond the fixtures ---- */

/* Random frames of several planes, cropped, in every stream type, several
 * frames in a row (double-buffered inputs), with and without clamping. */
static void cl_more(const char *label)
{
	static const struct {
		tg_rs_filter f;
		int fw, fh, cx, cy, iw, ih, ow, oh, planes, frames;
		ts_dtype t;
		int clamp;
	} cases[] = {
		{TG_RS_AREA_CV, 512, 512, 0, 0, 512, 512, 64, 64, 1, 3, TS_F32, 0},
		{TG_RS_BICUBIC, 512, 384, 0, 0, 512, 384, 16, 12, 1, 2, TS_F32, 0},
		{TG_RS_BICUBIC, 300, 200, 17, 9, 250, 180, 77, 64, 3, 2, TS_U16, 1},
		{TG_RS_LANCZOS3, 64, 48, 5, 3, 40, 30, 100, 70, 2, 2, TS_U8, 1},
		{TG_RS_CUBIC_CV, 64, 64, 0, 0, 64, 64, 29, 150, 1, 2, TS_I16, 1},
		{TG_RS_AREA_CV, 130, 90, 1, 2, 100, 60, 30, 18, 2, 3, TS_F16, 0},
		{TG_RS_BILINEAR, 70, 50, 10, 10, 40, 30, 40, 30, 1, 1, TS_U16, 0},  /* crop only */
		{TG_RS_NEAREST, 70, 50, 0, 0, 70, 50, 33, 90, 1, 2, TS_F32, 0},
		{TG_RS_BOX, 96, 64, 0, 0, 96, 64, 32, 32, 4, 1, TS_F32, 1},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		tg_rs_plan p;
		if (tg_rs_plan_init(&p, cases[c].f, cases[c].iw, cases[c].ih, cases[c].ow, cases[c].oh)) {
			check(0, "plan of OpenCL case %zu", c);
			continue;
		}
		tg_rs_frame fr = {cases[c].t, cases[c].planes, cases[c].fw, cases[c].fh, cases[c].cx,
		                  cases[c].cy, cases[c].clamp, 0.2f, 0.8f};
		size_t esz = ts_dtype_size(fr.dtype);
		size_t plane = (size_t)fr.frame_w * fr.frame_h, nplanes = (size_t)fr.planes * cases[c].frames;
		float *vals = malloc(plane * nplanes * sizeof *vals);
		hash_image(vals, plane * nplanes, 100 + (uint32_t)c);
		/* in the type's own range: [0, 1) scaled */
		double scale = fr.dtype == TS_U8 ? 255 : fr.dtype == TS_U16 ? 65535 : fr.dtype == TS_I16 ? 3000 : 1;
		double offset = fr.dtype == TS_I16 ? -1000 : 0;
		if (fr.clamp) {
			fr.lo = (float)(offset + 0.2 * scale);
			fr.hi = (float)(offset + 0.8 * scale);
		}
		for (size_t i = 0; i < plane * nplanes; i++)
			vals[i] = (float)(offset + vals[i] * scale);
		void *raw = malloc(plane * nplanes * esz);
		ts_convert_from_f32(fr.dtype, vals, raw, plane * nplanes);
		ts_convert_to_f32(fr.dtype, raw, vals, plane * nplanes);  /* what the kernels see */
		float *g = cl_resize(&p, &fr, raw, cases[c].frames);
		size_t on = (size_t)p.out_w * p.out_h;
		double worst = 0, mag = 0;
		int clamped = 1;
		for (size_t pl = 0; g && pl < nplanes; pl++) {
			const float *src = vals + pl * plane + (size_t)fr.crop_y * fr.frame_w + fr.crop_x;
			float *want = ref_resize(&p, src, (size_t)fr.frame_w);
			for (size_t i = 0; i < on; i++) {
				if (fr.clamp)
					want[i] = want[i] < fr.lo ? fr.lo : want[i] > fr.hi ? fr.hi : want[i];
				double d = fabs((double)g[pl * on + i] - want[i]);
				if (!(d <= worst))
					worst = d;
				if (fabs(want[i]) > mag)
					mag = fabs(want[i]);
				if (fr.clamp && (g[pl * on + i] < fr.lo || g[pl * on + i] > fr.hi))
					clamped = 0;
			}
			free(want);
		}
		/* the 1e-6 of [0, 1] data, relative to the data's scale */
		double tol = TOL_CL * (mag > 1 ? mag : 1);
		check(g && worst <= tol && clamped,
		      "OpenCL%s %s %s %dx%d crop %dx%d+%d+%d -> %dx%d, %d planes, %d frames%s: "
		      "max |diff| %.2g <= %.2g", label, tg_rs_filter_name(p.filter), ts_dtype_name(fr.dtype),
		      fr.frame_w, fr.frame_h, p.in_w, p.in_h, fr.crop_x, fr.crop_y, p.out_w, p.out_h,
		      fr.planes, cases[c].frames, fr.clamp ? ", clamped" : "", worst, tol);
		free(g);
		free(raw);
		free(vals);
		tg_rs_plan_free(&p);
	}
}

int main(void)
{
	const char *fixdir = getenv("FIXTURES");
	if (!fixdir || !*fixdir)
		fixdir = "tests/fixtures";
	if (tg_cl_init(&cl) != TG_CL_OK) {
		printf("SKIP OpenCL resize: %s\n", tg_cl_error());
		cl = NULL;
	}
	tables();
	fixtures(fixdir);
	if (cl) {
		cl_more("");
		/* the one-column-per-work-item kernels that GPUs get */
		setenv("TOMOGAN_RESIZE_VEC", "1", 1);
		cl_more(" (VEC=1)");
	}
	return check_finish();
}
