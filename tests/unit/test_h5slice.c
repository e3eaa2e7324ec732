/* h5slice and libstream/io/h5: slices, types, flat/dark correction and
 * metadata against the outputs tests/make_h5_fixtures.py computed with h5py
 * and numpy (tests/fixtures/h5/).  Slicing must give the very bytes h5py
 * read; flat/dark and minus-log agree to 1e-6 relative.  The real tooth.h5
 * (SHARED/data) is read in both orders and checked against extracts of the
 * same computation; that part skips when SHARED is empty. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "io/h5.h"
#include "tstream.h"

static const char *bin, *fixtures, *shared;
static char tmp[256], small[1024], flat[1024], tooth[1024];

static void *slurp(const char *name, size_t *len)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/h5/%s", fixtures, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Replaces @S, @F and @T in args by the quoted small.h5, flat.h5 and tooth.h5. */
static void expand(const char *args, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = args; *p && n + 1 < len; p++) {
		const char *sub = NULL;
		if (p[0] == '@' && p[1] == 'S')
			sub = small;
		else if (p[0] == '@' && p[1] == 'F')
			sub = flat;
		else if (p[0] == '@' && p[1] == 'T')
			sub = tooth;
		if (sub) {
			n += (size_t)snprintf(out + n, len - n, "'%s'", sub);
			p++;
		} else {
			out[n++] = *p;
		}
		if (n >= len)
			n = len - 1;
	}
	out[n] = 0;
}

/* Runs h5slice with args into tmp/out.tns; its exit status. */
static int run(const char *args)
{
	char a[4096], cmd[8192];
	expand(args, a, sizeof a);
	snprintf(cmd, sizeof cmd, "'%s/h5slice' %s > '%s/out.tns' 2> '%s/err'", bin, a, tmp, tmp);
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

typedef struct {
	ts_header h;
	unsigned char *data;
	size_t frames, frame_bytes;
} stream;

static int load(stream *s)
{
	char path[300];
	snprintf(path, sizeof path, "%s/out.tns", tmp);
	memset(s, 0, sizeof *s);
	ts_reader *r;
	if (ts_reader_open_path(&r, path, 0)) {
		printf("# %s\n", ts_reader_error(r));
		ts_reader_close(r);
		return -1;
	}
	ts_header_copy(&s->h, ts_reader_header(r));
	s->frame_bytes = (size_t)ts_frame_bytes(&s->h);
	size_t cap = 4;
	s->data = malloc(cap * s->frame_bytes);
	ts_status st;
	for (;;) {
		if (s->frames == cap)
			s->data = realloc(s->data, (cap *= 2) * s->frame_bytes);
		st = ts_read_frame(r, s->data + s->frames * s->frame_bytes);
		if (st != TS_OK)
			break;
		s->frames++;
	}
	if (st != TS_END)
		printf("# %s\n", ts_reader_error(r));
	ts_reader_close(r);
	return st == TS_END ? 0 : -1;
}

static void unload(stream *s)
{
	ts_header_free(&s->h);
	free(s->data);
}

static int meta_is(const stream *s, const char *key, const char *want)
{
	const char *v = ts_meta_get(&s->h.meta, key);
	if (!want)
		return v == NULL;
	return v && strcmp(v, want) == 0;
}

typedef struct {
	const char *name, *args, *expect;
	uint64_t rows, cols;
	long first, step, count;
	ts_dtype type;
	double tol;   /* 0: byte-identical; else largest relative error */
} cli_case;

static const cli_case cases[] = {
	{ "axis 0", "@S", "data_a0.raw", 5, 7, 0, 1, 6, TS_F32, 0 },
	{ "axis 1", "--axis 1 @S", "data_a1.raw", 6, 7, 0, 1, 5, TS_F32, 0 },
	{ "axis 2", "--axis 2 @S:/exchange/data", "data_a2.raw", 6, 5, 0, 1, 7, TS_F32, 0 },
	{ "range 1::2", "--range 1::2 @S", "data_a0.raw", 5, 7, 1, 2, 3, TS_F32, 0 },
	{ "range ::-2", "--range ::-2 @S", "data_a0.raw", 5, 7, 5, -2, 3, TS_F32, 0 },
	{ "range -2:", "--range -2: @S", "data_a0.raw", 5, 7, 4, 1, 2, TS_F32, 0 },
	{ "range 3", "--range 3 @S", "data_a0.raw", 5, 7, 3, 1, 1, TS_F32, 0 },
	{ "range 2:100", "--range 2:100 @S", "data_a0.raw", 5, 7, 2, 1, 4, TS_F32, 0 },
	{ "axis 1 range 1:3", "--axis 1 --range 1:3 @S", "data_a1.raw", 6, 7, 1, 1, 2, TS_F32, 0 },
	{ "axis 2 range 10: (empty)", "--axis 2 --range 10: @S", "data_a2.raw", 6, 5, 7, 1, 0, TS_F32, 0 },
	{ "flat-dark axis 0", "--flat-dark @S", "fd_a0.raw", 5, 7, 0, 1, 6, TS_F32, 1e-6 },
	{ "flat-dark axis 1", "--flat-dark --axis 1 @S", "fd_a1.raw", 6, 7, 0, 1, 5, TS_F32, 1e-6 },
	{ "flat-dark axis 2", "--axis 2 --flat-dark @S", "fd_a2.raw", 6, 5, 0, 1, 7, TS_F32, 1e-6 },
	{ "flat-dark minus-log axis 0", "--flat-dark --minus-log @S", "fdml_a0.raw", 5, 7, 0, 1, 6, TS_F32, 1e-6 },
	{ "flat-dark minus-log axis 1", "--flat-dark --minus-log --axis 1 @S", "fdml_a1.raw", 6, 7, 0, 1, 5, TS_F32, 1e-6 },
	{ "flat-dark minus-log axis 2", "--flat-dark --minus-log --axis 2 @S", "fdml_a2.raw", 6, 5, 0, 1, 7, TS_F32, 1e-6 },
	{ "flat-dark minus-log axis 1 range 4:0:-3", "--flat-dark --minus-log --axis 1 --range 4:0:-3 @S",
	  "fdml_a1.raw", 6, 7, 4, -3, 2, TS_F32, 1e-6 },
	{ "flat-dark, fields from another file", "--flat-dark --white @F:/white --dark @F:/dark @S",
	  "fd_a0.raw", 5, 7, 0, 1, 6, TS_F32, 1e-6 },
	{ "flat-dark, fields named in the file", "--flat-dark --white /exchange/data_white "
	  "--dark exchange/data_dark @S", "fd_a0.raw", 5, 7, 0, 1, 6, TS_F32, 1e-6 },
	{ "minus-log only", "--minus-log @S", "ml_a0.raw", 5, 7, 0, 1, 6, TS_F32, 1e-6 },
	{ "u8 as f32", "@S:/types/u8", "types_u8.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "u8 kept", "--type keep @S:/types/u8", "types_u8.keep", 4, 5, 0, 1, 3, TS_U8, 0 },
	{ "u16 big-endian as f32", "@S:/types/u16be", "types_u16be.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "u16 big-endian kept", "--type keep @S:/types/u16be", "types_u16be.keep", 4, 5, 0, 1, 3, TS_U16, 0 },
	{ "i16 as f32", "--type f32 @S:/types/i16", "types_i16.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "i16 kept", "--type keep @S:/types/i16", "types_i16.keep", 4, 5, 0, 1, 3, TS_I16, 0 },
	{ "i32 big-endian to f32", "--type keep @S:/types/i32be", "types_i32be.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "u32 to f32", "--type keep @S:/types/u32", "types_u32.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "f64 to f32", "--type keep @S:/types/f64", "types_f64.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "i8 to f32", "--type keep @S:/types/i8", "types_i8.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "f16 to f32", "--type keep @S:/types/f16", "types_f16.raw", 4, 5, 0, 1, 3, TS_F32, 0 },
	{ "2-D axis 0", "@S:/types/img2d", "img2d_a0.raw", 4, 5, 0, 1, 1, TS_F32, 0 },
	{ "2-D axis 1", "--axis 1 @S:/types/img2d", "img2d_a1.raw", 1, 5, 0, 1, 4, TS_F32, 0 },
	{ "2-D axis 2", "--axis 2 @S:/types/img2d", "img2d_a2.raw", 1, 4, 0, 1, 5, TS_F32, 0 },
	{ "empty dataset", "@S:/bad/empty", NULL, 4, 5, 0, 1, 0, TS_F32, 0 },
};

/* Compares frames first + i*step of the expected file with the stream. */
static int compare(const stream *s, const char *expect, long first, long step, long count,
                   double tol, const char *name)
{
	if (!expect)
		return 1;
	size_t len;
	unsigned char *want = slurp(expect, &len);
	if (!want)
		return check(0, "%s: fixture %s missing", name, expect);
	size_t fb = s->frame_bytes;
	int ok = 1;
	double worst = 0;
	for (long i = 0; i < count && ok; i++) {
		size_t at = (size_t)(first + i * step) * fb;
		if (at + fb > len) {
			ok = 0;
			break;
		}
		if (tol == 0) {
			ok = memcmp(s->data + (size_t)i * fb, want + at, fb) == 0;
		} else {
			double e = check_max_rel((const float *)(s->data + (size_t)i * fb),
			                         (const float *)(want + at), fb / 4, 1e-6);
			if (e > worst)
				worst = e;
			ok = e <= tol;
		}
	}
	free(want);
	if (tol == 0)
		return check(ok, "%s: %ld frames byte-identical to %s", name, count, expect);
	return check(ok, "%s: %ld frames within %g of %s (worst %.3g)", name, count, tol, expect, worst);
}

static void cli_cases(void)
{
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const cli_case *c = &cases[k];
		int rc = run(c->args);
		stream s;
		if (!check(rc == 0 && load(&s) == 0, "%s: h5slice exits 0 with a valid stream (status %d)",
		           c->name, rc))
			continue;
		int shape_ok = s.h.rank == 2 && s.h.dims[0] == c->rows && s.h.dims[1] == c->cols &&
		               s.h.dtype == c->type && s.frames == (size_t)c->count;
		char desc[100];
		ts_header_describe(&s.h, desc, sizeof desc);
		check(shape_ok, "%s: %ld frames of %s %llux%llu (got %zu of %s)", c->name, c->count,
		      ts_dtype_name(c->type), (unsigned long long)c->rows, (unsigned long long)c->cols,
		      s.frames, desc);
		if (shape_ok)
			compare(&s, c->expect, c->first, c->step, c->count, c->tol, c->name);
		char start[32], step[32], count[32];
		snprintf(start, sizeof start, "%ld", c->first);
		snprintf(step, sizeof step, "%ld", c->step);
		snprintf(count, sizeof count, "%ld", c->count);
		check(c->count == 0 || (meta_is(&s, "index.start", start) && meta_is(&s, "index.step", step) &&
		                        meta_is(&s, "index.count", count)),
		      "%s: index.start %s, index.step %s, index.count %s", c->name, start, step, count);
		unload(&s);
	}
}

/* theta.txt: "RANGE<TAB>angles" lines */
static void theta_cases(void)
{
	size_t len;
	char *text = slurp("theta.txt", &len);
	if (!check(text != NULL, "theta.txt fixture present"))
		return;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = 0;
		char args[300];
		snprintf(args, sizeof args, "%s%s%s @S", line[0] ? "--range " : "", line, line[0] ? "" : "");
		stream s;
		if (run(args) != 0 || load(&s) != 0) {
			check(0, "theta for --range '%s': h5slice failed", line);
			continue;
		}
		check(meta_is(&s, "theta", tab + 1), "theta for --range '%s' is '%s' (got '%s')", line,
		      tab + 1, ts_meta_get(&s.h.meta, "theta"));
		unload(&s);
	}
	free(text);
}

static void metadata_cases(void)
{
	stream s;
	if (run("@S") == 0 && load(&s) == 0) {
		check(meta_is(&s, "source", small) && meta_is(&s, "dataset", "/exchange/data") &&
		      meta_is(&s, "axis", "0") && meta_is(&s, "theta.units", "degrees") &&
		      meta_is(&s, "range", NULL),
		      "metadata of a plain read: source, dataset, axis, theta.units, no range");
		const char *hist = ts_meta_get(&s.h.meta, "history");
		check(hist && strncmp(hist, "h5slice ", 8) == 0, "history records the command (%s)", hist);
		unload(&s);
	}
	if (run("--axis 1 @S") == 0 && load(&s) == 0) {
		check(meta_is(&s, "axis", "1") && meta_is(&s, "theta", NULL),
		      "sinogram order records axis 1 and no theta");
		unload(&s);
	}
	if (run("@S:/types/u8") == 0 && load(&s) == 0) {
		check(meta_is(&s, "theta", NULL) && meta_is(&s, "dataset", "/types/u8"),
		      "another dataset records no theta");
		unload(&s);
	}
	if (run("--flat-dark @S") == 0 && load(&s) == 0) {
		check(meta_is(&s, "range", "0 1") && meta_is(&s, "range.meaning", "transmission") &&
		      meta_is(&s, "white", "/exchange/data_white") && meta_is(&s, "dark", "/exchange/data_dark"),
		      "flat-dark records range 0 1 (transmission) and its fields");
		unload(&s);
	}
	if (run("--flat-dark --minus-log @S") == 0 && load(&s) == 0) {
		check(meta_is(&s, "range", NULL) && meta_is(&s, "range.meaning", NULL),
		      "flat-dark minus-log records no range");
		unload(&s);
	}
}

static tg_h5_status slicer(tg_h5_dset *d, int axis, uint64_t cap, uint64_t *n, uint64_t *r,
                           uint64_t *c, int *thrash)
{
	return tg_h5_slicer(d, axis, cap, n, r, c, thrash);
}

static int count_cb(const tg_h5_info *in, void *arg)
{
	int *n = arg;
	(*n)++;
	if (strcmp(in->path, "/exchange/data") == 0 && in->chunked && in->chunk[0] == 2 &&
	    in->chunk[1] == 3 && in->chunk[2] == 4 && strcmp(in->filters, "shuffle,deflate(4)") == 0 &&
	    strcmp(in->type, "f32") == 0)
		n[1]++;
	if (strcmp(in->path, "/bad/lzf") == 0 && in->filter_missing)
		n[2]++;
	return 0;
}

static void library_cases(void)
{
	tg_h5_file *f;
	tg_h5_status st = tg_h5_open(&f, "/nonexistent/x.h5");
	check(st == TG_H5_ERR_OPEN && tg_h5_exit_status(st) == 66, "missing file: TG_H5_ERR_OPEN, status 66");
	tg_h5_close(f);
	char noth5[1200];
	snprintf(noth5, sizeof noth5, "%s/h5/theta.txt", fixtures);
	st = tg_h5_open(&f, noth5);
	check(st == TG_H5_ERR_FORMAT && strstr(tg_h5_error(f), "not an HDF5 file"),
	      "a text file: not an HDF5 file (%s)", tg_h5_error(f));
	tg_h5_close(f);

	st = tg_h5_open(&f, small);
	if (!check(st == TG_H5_OK, "open small.h5 (%s)", tg_h5_error(f))) {
		tg_h5_close(f);
		return;
	}
	int n[3] = { 0, 0, 0 };
	st = tg_h5_list(f, count_cb, n, NULL);
	check(st == TG_H5_OK && n[0] == 24 && n[1] == 1 && n[2] == 1,
	      "list: 24 datasets, /exchange/data chunked 2x3x4 shuffle+deflate, /bad/lzf unavailable");

	tg_h5_dset *d;
	check(tg_h5_dset_open(f, "/exchange/nothing", &d) == TG_H5_ERR_NOTFOUND &&
	      strstr(tg_h5_error(f), "/exchange/nothing"), "missing dataset named (%s)", tg_h5_error(f));
	check(tg_h5_dset_open(f, "/exchange/data/deeper", &d) == TG_H5_ERR_NOTFOUND,
	      "a path through a dataset is not found");

	if (tg_h5_dset_open(f, "/exchange/data", &d) == TG_H5_OK) {
		uint64_t cnt, rows, cols;
		int thrash = -1;
		st = slicer(d, 1, 0, &cnt, &rows, &cols, &thrash);
		check(st == TG_H5_OK && cnt == 5 && rows == 6 && cols == 7 && thrash == 0,
		      "slicer axis 1: 5 slices of 6x7, chunks fit the cache");
		/* compressed chunks 2x3x4 of f32 (96 bytes); a slice along axis 1
		 * touches 3 x 2 of them, along axis 0 2 x 2 */
		check(tg_h5_cache_bytes(d) == 576, "chunk cache for axis 1 holds 6 chunks (%llu bytes)",
		      (unsigned long long)tg_h5_cache_bytes(d));
		st = slicer(d, 0, 0, &cnt, &rows, &cols, &thrash);
		check(st == TG_H5_OK && tg_h5_cache_bytes(d) == 384, "chunk cache for axis 0 holds 4 chunks (%llu bytes)",
		      (unsigned long long)tg_h5_cache_bytes(d));
		st = slicer(d, 1, 0, &cnt, &rows, &cols, &thrash);
		size_t len;
		float *want = slurp("data_a1.raw", &len), got[42];
		st = tg_h5_read_slice(d, 3, TS_F32, got);
		check(st == TG_H5_OK && want && memcmp(got, want + 3 * 42, sizeof got) == 0,
		      "library slice 3 along axis 1 equals h5py's");
		/* a cache too small for the chunks of one slice still reads right */
		st = slicer(d, 0, 64, &cnt, &rows, &cols, &thrash);
		float got0[35];
		free(want);
		want = slurp("data_a0.raw", &len);
		int ok = st == TG_H5_OK && thrash == 1 && want;
		for (uint64_t i = 0; ok && i < cnt; i++)
			ok = tg_h5_read_slice(d, i, TS_F32, got0) == TG_H5_OK && memcmp(got0, want + i * 35, sizeof got0) == 0;
		check(ok && tg_h5_cache_bytes(d) == 0,
		      "chunks beyond a 64-byte cap: thrashing reported, no cache, same values");
		free(want);
		char *axes = NULL;
		check(tg_h5_attr_string(d, "axes", &axes) == TG_H5_OK && axes && strcmp(axes, "theta:y:x") == 0,
		      "variable-length string attribute axes = theta:y:x");
		free(axes);
		check(tg_h5_attr_string(d, "nothing", &axes) == TG_H5_ERR_NOTFOUND, "missing attribute");
		tg_h5_dset_close(d);
	}

	/* uncompressed chunks: a cache only for axis 2 (single elements per
	 * chunk row); none for a chunk used by one slice only */
	if (tg_h5_dset_open(f, "/types/img2d", &d) == TG_H5_OK) {
		uint64_t cnt, rows, cols;
		uint64_t c1 = slicer(d, 1, 0, &cnt, &rows, &cols, NULL) ? 1 : tg_h5_cache_bytes(d);
		uint64_t c2 = slicer(d, 2, 0, &cnt, &rows, &cols, NULL) ? 1 : tg_h5_cache_bytes(d);
		uint64_t c0 = slicer(d, 0, 0, &cnt, &rows, &cols, NULL) ? 1 : tg_h5_cache_bytes(d);
		/* 4x5 in chunks 2x2 of f32 (16 bytes): a column touches 2 of them */
		check(c1 == 0 && c2 == 32 && c0 == 0, "uncompressed 2-D chunks: cache 0, 32, 0 bytes "
		      "for axes 1, 2, 0 (%llu, %llu, %llu)", (unsigned long long)c1,
		      (unsigned long long)c2, (unsigned long long)c0);
		tg_h5_dset_close(d);
	}

	tg_h5_dset *w, *k, *p;
	if (tg_h5_dset_open(f, "exchange/data_white", &w) == TG_H5_OK &&
	    tg_h5_dset_open(f, "/exchange/data_dark", &k) == TG_H5_OK &&
	    tg_h5_dset_open(f, "/exchange/data", &p) == TG_H5_OK) {
		tg_h5_flatfield ff;
		st = tg_h5_flatfield_load(&ff, f, w, k, 5, 7);
		check(st == TG_H5_OK && ff.clamped == 2, "flat field: 2 denominators clamped (%llu)",
		      (unsigned long long)ff.clamped);
		uint64_t cnt, rows, cols;
		double in[42];
		float out[42];
		size_t len;
		float *want = slurp("fdml_a2.raw", &len);
		int ok = st == TG_H5_OK && want && slicer(p, 2, 0, &cnt, &rows, &cols, NULL) == TG_H5_OK;
		double worst = 0;
		for (uint64_t i = 0; ok && i < cnt; i++) {
			ok = tg_h5_read_slice_f64(p, i, in) == TG_H5_OK;
			tg_h5_flatfield_apply(&ff, 2, i, rows, cols, in, out, 1);
			double e = check_max_rel(out, want + i * rows * cols, rows * cols, 1e-6);
			worst = e > worst ? e : worst;
		}
		check(ok && worst <= 1e-6, "library flat-dark minus-log along axis 2 within 1e-6 (%.3g)", worst);
		free(want);
		if (st == TG_H5_OK)
			tg_h5_flatfield_free(&ff);
		tg_h5_dset_close(w);
		tg_h5_dset_close(k);
		tg_h5_dset_close(p);
	}
	tg_h5_close(f);

	double ml0 = tg_h5_minus_log(0), mlnan = tg_h5_minus_log(NAN), ml1 = tg_h5_minus_log(1);
	check(fabs(ml0 + log(1e-6)) < 1e-12 && mlnan == ml0 && ml1 == 0 && tg_h5_minus_log(-3) == ml0,
	      "minus-log clamps 0, negatives and NaN to 1e-6 (%.9g)", ml0);
}

/* The real tooth.h5 in both orders, plain and corrected. */
/* tg_h5_slice_raw on raw.h5 and raw_ub.h5 (make_h5_fixtures.py mapped()):
 * the layouts it must place (contiguous, chunks of one slice, a 2-D
 * dataset, after a user block) give offsets whose bytes are the slices
 * tg_h5_read_slice reads; the others (compressed, big-endian, chunks
 * never written, an axis other than 0) are refused. */
static void raw_cases(void)
{
	static const struct {
		const char *file, *dset;
		int axis, want;
	} rc[] = {
		{ "raw.h5", "/contig", 0, 1 },   { "raw.h5", "/chunked", 0, 1 },
		{ "raw.h5", "/img", 0, 1 },      { "raw_ub.h5", "/contig", 0, 1 },
		{ "raw.h5", "/deflate", 0, 0 },  { "raw.h5", "/big", 0, 0 },
		{ "raw.h5", "/contig", 1, 0 },   { "raw.h5", "/contig", 2, 0 },
	};
	for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++) {
		char path[1200];
		snprintf(path, sizeof path, "%s/h5/%s", fixtures, rc[i].file);
		tg_h5_file *f;
		tg_h5_dset *d;
		uint64_t n, rows, cols;
		if (!check(tg_h5_open(&f, path) == TG_H5_OK && tg_h5_dset_open(f, rc[i].dset, &d) == TG_H5_OK,
		           "raw: open %s:%s", rc[i].file, rc[i].dset)) {
			tg_h5_close(f);
			continue;
		}
		int ok = slicer(d, rc[i].axis, 0, &n, &rows, &cols, NULL) == TG_H5_OK;
		size_t bytes = (size_t)(rows * cols) * sizeof(float);
		float *a = malloc(bytes), *b = malloc(bytes);
		FILE *fp = fopen(path, "rb");
		int placed = 0, same = 1;
		for (uint64_t k = 0; ok && a && b && fp && k < n; k++) {
			uint64_t off = 0;
			int r = tg_h5_slice_raw(d, k, &off);
			placed += r;
			if (r)
				same = same && fseek(fp, (long)off, SEEK_SET) == 0 &&
				       fread(a, 1, bytes, fp) == bytes &&
				       tg_h5_read_slice(d, k, TS_F32, b) == TG_H5_OK && memcmp(a, b, bytes) == 0;
		}
		uint64_t off;
		if (rc[i].want)
			check(ok && placed == (int)n && same && !tg_h5_slice_raw(d, n, &off),
			      "raw: %s:%s axis %d: all %d slices placed, their bytes as read (%d placed)",
			      rc[i].file, rc[i].dset, rc[i].axis, (int)n, placed);
		else
			check(ok && placed == 0, "raw: %s:%s axis %d: refused (%d placed)", rc[i].file,
			      rc[i].dset, rc[i].axis, placed);
		if (fp)
			fclose(fp);
		free(a);
		free(b);
		tg_h5_dset_close(d);
		tg_h5_close(f);
	}
	/* chunks of one slice, two of four never written: only those written */
	char path[1200];
	snprintf(path, sizeof path, "%s/h5/raw.h5", fixtures);
	tg_h5_file *f;
	tg_h5_dset *d;
	uint64_t n, rows, cols, off;
	if (tg_h5_open(&f, path) == TG_H5_OK && tg_h5_dset_open(f, "/partial", &d) == TG_H5_OK) {
		int ok = slicer(d, 0, 0, &n, &rows, &cols, NULL) == TG_H5_OK;
		check(ok && n == 4 && tg_h5_slice_raw(d, 0, &off) && !tg_h5_slice_raw(d, 1, &off) &&
		      tg_h5_slice_raw(d, 2, &off) && !tg_h5_slice_raw(d, 3, &off),
		      "raw: chunks never written are not placed");
		tg_h5_dset_close(d);
	} else {
		check(0, "raw: open raw.h5:/partial");
	}
	tg_h5_close(f);
}

static void tooth_cases(void)
{
	struct stat st;
	if (!shared || !*shared || stat(tooth, &st) != 0) {
		printf("SKIP tooth.h5: SHARED is empty or has no data/tooth.h5\n");
		return;
	}
	static const struct {
		const char *mode, *args, *frames;
		uint64_t n, rows, cols;
		double tol;
	} modes[] = {
		{ "a0", "@T", "tooth_a0.raw", 181, 2, 640, 0 },
		{ "a0_fd", "--flat-dark @T", NULL, 181, 2, 640, 1e-6 },
		{ "a0_fdml", "--flat-dark --minus-log @T", "tooth_a0_fdml.raw", 181, 2, 640, 1e-6 },
		{ "a1", "--axis 1 @T", "tooth_a1.raw", 2, 181, 640, 0 },
		{ "a1_fd", "--axis 1 --flat-dark @T", NULL, 2, 181, 640, 1e-6 },
		{ "a1_fdml", "--axis 1 --flat-dark --minus-log @T:/exchange/data", "tooth_a1_fdml.raw", 2, 181, 640, 1e-6 },
	};
	size_t len;
	char *sums = slurp("tooth_sums.txt", &len);
	if (!check(sums != NULL, "tooth_sums.txt fixture present"))
		return;
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		stream s;
		int rc = run(modes[m].args);
		if (!check(rc == 0 && load(&s) == 0, "tooth %s: h5slice exits 0 (status %d)", modes[m].mode, rc))
			continue;
		if (!check(s.frames == modes[m].n && s.h.dims[0] == modes[m].rows && s.h.dims[1] == modes[m].cols,
		           "tooth %s: %llu frames of %llux%llu", modes[m].mode, (unsigned long long)modes[m].n,
		           (unsigned long long)modes[m].rows, (unsigned long long)modes[m].cols)) {
			unload(&s);
			continue;
		}
		/* kept: axis 0 frames 0, 90, 180; axis 1 rows 0, 90, 180 of each sinogram */
		if (modes[m].frames) {
			float *want = slurp(modes[m].frames, &len);
			const float *got = (const float *)s.data;
			size_t w = 0, piece = modes[m].rows == 2 ? 1280 : 640;
			double worst = 0;
			for (uint64_t fr = 0; want && fr < s.frames; fr++)
				for (uint64_t r = 0; r < 181; r += 90) {
					const float *g = modes[m].rows == 2 ? got + r * 1280 : got + fr * 181 * 640 + r * 640;
					if (modes[m].rows == 2 && fr > 0)
						break;
					if ((w + piece) * 4 > len) {
						worst = INFINITY;
						break;
					}
					double e = modes[m].tol == 0 ? (memcmp(g, want + w, piece * 4) ? INFINITY : 0)
					                             : check_max_rel(g, want + w, piece, 1e-6);
					worst = e > worst ? e : worst;
					w += piece;
				}
			check(want && w * 4 == len && worst <= modes[m].tol,
			      "tooth %s: kept frames/rows match h5py (%s, worst %.3g)", modes[m].mode,
			      modes[m].tol == 0 ? "byte-identical" : "1e-6 relative", worst);
			free(want);
		}
		/* every frame's sum */
		int ok = 1, found = 0;
		double worst = 0;
		char key[32];
		snprintf(key, sizeof key, "\n%s ", modes[m].mode);
		for (const char *p = strstr(sums, key); p; p = strstr(p + 1, key)) {
			unsigned long fr;
			double want;
			if (sscanf(p + strlen(key), "%lu %lf", &fr, &want) != 2 || fr >= s.frames) {
				ok = 0;
				break;
			}
			const float *g = (const float *)(s.data + fr * s.frame_bytes);
			double sum = 0;
			for (size_t i = 0; i < s.frame_bytes / 4; i++)
				sum += g[i];
			double e = fabs(sum - want) / fmax(fabs(want), 1e-3);
			worst = e > worst ? e : worst;
			found++;
		}
		check(ok && found == (int)s.frames && worst <= 1e-6,
		      "tooth %s: sums of all %d frames within 1e-6 (worst %.3g)", modes[m].mode, found, worst);
		if (m == 0) {
			char *theta = slurp("tooth_theta.txt", &len);
			if (theta && len && theta[len - 1] == '\n')
				theta[len - 1] = 0;
			check(theta && meta_is(&s, "theta", theta) && meta_is(&s, "theta.units", "degrees"),
			      "tooth: theta lists the 181 angles in degrees");
			free(theta);
		}
		unload(&s);
	}
	free(sums);
}

int main(void)
{
	bin = getenv("BIN");
	fixtures = getenv("FIXTURES");
	shared = getenv("SHARED");
	if (!bin || !fixtures) {
		printf("FAIL test_h5slice: run through tests/run.sh (BIN and FIXTURES unset)\n");
		return 1;
	}
	snprintf(tmp, sizeof tmp, "/tmp/test_h5slice.XXXXXX");
	if (!mkdtemp(tmp)) {
		printf("FAIL test_h5slice: cannot make a temporary folder\n");
		return 1;
	}
	snprintf(small, sizeof small, "%s/h5/small.h5", fixtures);
	snprintf(flat, sizeof flat, "%s/h5/flat.h5", fixtures);
	snprintf(tooth, sizeof tooth, "%s/data/tooth.h5", shared ? shared : "");

	library_cases();
	raw_cases();
	cli_cases();
	theta_cases();
	metadata_cases();
	tooth_cases();

	char path[300];
	snprintf(path, sizeof path, "%s/out.tns", tmp);
	unlink(path);
	snprintf(path, sizeof path, "%s/err", tmp);
	unlink(path);
	rmdir(tmp);
	return check_finish();
}
