/* imread: PNG and TIFF images to one tensor stream (imread(1)).
 *
 * Two passes over the files: the first reads only headers, so that every
 * file is known to open, to be an image and to have the right shape, and
 * the output type is known, before the first byte is written; the second
 * decodes page by page with memory for one page. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io/image.h"

#define USAGE "imread [-hq] [--gray luma|bt601] [--type type] [--crop WxH] [--resize WxH] " \
	"[--interp nearest|bilinear] [--list file] [-o file] [-z level] [file ...]"

enum gray_mode { GRAY_NONE, GRAY_LUMA, GRAY_BT601 };

struct opts {
	enum gray_mode gray;
	int type_forced;
	ts_dtype type;
	int crop, resize, bilinear;
	uint32_t crop_w, crop_h, resize_w, resize_h;
	const char *out;
	int zstd;
	int quiet;
	char **names;        /* the files, in order: arguments, then the list's */
	size_t nnames, capnames;
	size_t nargs;        /* names from arguments; the rest were allocated */
};

/* What one page becomes before cropping and resizing. */
struct page_kind {
	ts_dtype native;     /* u8, u16 or i16 when the grey values have that type; 0 otherwise */
	int bits;            /* the scale of the values: decoded bits and sample kind */
	tg_img_sample sample;
	uint32_t w, h;       /* shape of the page */
	int color;           /* converted from colour */
};

/* Everything the first pass decides. */
struct plan {
	ts_dtype type;       /* of the output frames */
	uint32_t out_w, out_h;
	int direct;          /* frames keep their decoded integer type: no float stage */
	int have_range;
	double lo, hi;
	const char *range_meaning;
	int any_color;
	size_t *pages;       /* pages per file */
	uint64_t frames;
};

static void add_name(struct opts *o, char *name)
{
	if (o->nnames == o->capnames) {
		o->capnames = o->capnames ? 2 * o->capnames : 64;
		char **p = realloc(o->names, o->capnames * sizeof *p);
		if (!p)
			tg_die(TG_EX_SOFTWARE, "out of memory");
		o->names = p;
	}
	o->names[o->nnames++] = name;
}

/* Names one per line; empty lines are skipped, a trailing CR is dropped. */
static void read_list(struct opts *o, const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!fp)
		tg_die(TG_EX_NOINPUT, "%s: cannot open list: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (n == 0)
			continue;
		char *name = strdup(line);
		if (!name)
			tg_die(TG_EX_SOFTWARE, "out of memory");
		add_name(o, name);
	}
	if (ferror(fp))
		tg_die(TG_EX_IOERR, "%s: cannot read list: %s", path, strerror(errno));
	free(line);
	if (fp != stdin)
		fclose(fp);
}

/* "WxH" with both sides from 1 to TS_MAX_DIM. */
static void parse_size(const char *opt, const char *s, uint32_t *w, uint32_t *h)
{
	const char *x = strchr(s, 'x');
	char first[32];
	long a, b;
	if (!x || x == s || (size_t)(x - s) >= sizeof first)
		tg_usage_error("bad value for %s: '%s' (WIDTHxHEIGHT, like 512x512)", opt, s);
	memcpy(first, s, (size_t)(x - s));
	first[x - s] = 0;
	if (tg_parse_long(first, 1, (long)TS_MAX_DIM, &a) || tg_parse_long(x + 1, 1, (long)TS_MAX_DIM, &b))
		tg_usage_error("bad value for %s: '%s' (WIDTHxHEIGHT, each from 1 to %llu)", opt, s,
		               (unsigned long long)TS_MAX_DIM);
	*w = (uint32_t)a;
	*h = (uint32_t)b;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "gray", required_argument, NULL, 'g' },
		{ "type", required_argument, NULL, 't' },
		{ "crop", required_argument, NULL, 'C' },
		{ "resize", required_argument, NULL, 'R' },
		{ "interp", required_argument, NULL, 'I' },
		{ "list", required_argument, NULL, 'L' },
		{ "output", required_argument, NULL, 'o' },
		{ "zstd", required_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *list = NULL, *interp = NULL;
	int c;
	memset(o, 0, sizeof *o);
	o->out = "-";
	o->bilinear = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hqo:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'q': o->quiet = 1; break;
		case 'g':
			if (strcmp(optarg, "luma") == 0)
				o->gray = GRAY_LUMA;
			else if (strcmp(optarg, "bt601") == 0)
				o->gray = GRAY_BT601;
			else
				tg_usage_error("bad value for --gray: '%s' (luma or bt601)", optarg);
			break;
		case 't':
			if (ts_dtype_parse(optarg, &o->type))
				tg_usage_error("bad value for --type: '%s' (u8, u16, i16, f16 or f32)", optarg);
			o->type_forced = 1;
			break;
		case 'C': parse_size("--crop", optarg, &o->crop_w, &o->crop_h); o->crop = 1; break;
		case 'R': parse_size("--resize", optarg, &o->resize_w, &o->resize_h); o->resize = 1; break;
		case 'I': interp = optarg; break;
		case 'L': list = optarg; break;
		case 'o': o->out = optarg; break;
		case 'z': o->zstd = (int)tg_opt_long("-z", optarg, 0, 19); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (interp) {
		if (!o->resize)
			tg_usage_error("--interp needs --resize");
		if (strcmp(interp, "nearest") == 0)
			o->bilinear = 0;
		else if (strcmp(interp, "bilinear") != 0)
			tg_usage_error("bad value for --interp: '%s' (nearest or bilinear)", interp);
	}
	if (!o->resize)
		o->bilinear = 0;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			tg_usage_error("images cannot come from standard input; use --list - for a list of names");
		add_name(o, argv[i]);
	}
	/* refuse a terminal before reading anything (a list may be stdin) */
	if (strcmp(o->out, "-") == 0 && isatty(1))
		tg_usage_error("refusing to write a binary stream to a terminal (redirect or pipe standard output)");
	o->nargs = o->nnames;
	if (list)
		read_list(o, list);
	if (o->nnames == 0)
		tg_usage_error(list ? "the list %s names no files" : "no input files", list);
	tg_set_quiet(o->quiet);
}

/* libpng and libtiff warnings about the file being decoded, shown once
 * all its pages have been read without error (a file that fails shows only
 * its error).  The library passes on at most a handful per file. */
struct warnings {
	int quiet;
	size_t n;
	char line[8][512];
};

static void on_warning(void *user, const char *path, const char *msg)
{
	struct warnings *w = user;
	(void)path;
	if (!w->quiet && w->n < sizeof w->line / sizeof w->line[0])
		snprintf(w->line[w->n++], sizeof w->line[0], "%s", msg);
}

static void flush_warnings(struct warnings *w, const char *path)
{
	for (size_t i = 0; i < w->n; i++)
		tg_warn("%s: warning: %s", path, w->line[i]);
	w->n = 0;
}

/* Ends the program for an image error: "imread: FILE[: page N]: why". */
static noreturn void die_image(tg_img_status st, const tg_img *f, const char *path)
{
	const tg_img_info *p = f ? tg_img_page(f) : NULL;
	if (p && p->format == TG_IMG_TIFF && p->page > 0)
		tg_die(tg_img_exit_status(st), "%s: page %d: %s", path, p->page, tg_img_error(f));
	tg_die(tg_img_exit_status(st), "%s: %s", path, tg_img_error(f));
}

static const char *sample_name(const tg_img_info *p)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "%d-bit %s", p->bits,
	         p->sample == TG_IMG_FLOAT ? "float" : p->sample == TG_IMG_INT ? "signed" : "unsigned");
	return buf;
}

/* Classifies one page and checks that it can be read as asked. */
static struct page_kind classify(const struct opts *o, const tg_img_info *p, const char *path)
{
	struct page_kind k = { 0, p->bits, p->sample, p->width, p->height, p->color };
	char where[32] = "";
	if (p->format == TG_IMG_TIFF && p->page > 0)
		snprintf(where, sizeof where, "page %d: ", p->page);
	if (p->color && o->gray == GRAY_NONE)
		tg_die(TG_EX_DATAERR, "%s: %scolour image (%s%s); convert it with --gray luma or --gray bt601",
		       path, where, p->palette ? "palette" : p->channels == 4 ? "RGBA" : "RGB",
		       p->palette ? "" : p->bits == 16 ? ", 16-bit" : ", 8-bit");
	if (!(p->color && o->gray == GRAY_BT601)) {
		if (p->sample == TG_IMG_UINT && p->bits == 8)
			k.native = TS_U8;
		else if (p->sample == TG_IMG_UINT && p->bits == 16)
			k.native = TS_U16;
		else if (p->sample == TG_IMG_INT && p->bits == 16)
			k.native = TS_I16;
	}
	if (o->crop && (p->width < o->crop_w || p->height < o->crop_h))
		tg_die(TG_EX_DATAERR, "%s: %s%ux%u image is smaller than the crop %ux%u", path, where,
		       (unsigned)p->width, (unsigned)p->height, (unsigned)o->crop_w, (unsigned)o->crop_h);
	return k;
}

/* First pass: headers only. */
static void survey(const struct opts *o, struct plan *pl)
{
	memset(pl, 0, sizeof *pl);
	pl->pages = tg_calloc(o->nnames, sizeof *pl->pages);
	struct page_kind first = { 0 };
	const char *first_path = NULL;
	int first_page = 0;
	int same_native = 1, same_scale = 1;
	for (size_t i = 0; i < o->nnames; i++) {
		const char *path = o->names[i];
		tg_img *f;
		/* warnings are shown when the file is decoded */
		tg_img_status st = tg_img_open(&f, path, NULL, NULL);
		if (st)
			die_image(st, f, path);
		for (;;) {
			const tg_img_info *p = tg_img_page(f);
			struct page_kind k = classify(o, p, path);
			uint32_t w = o->resize ? o->resize_w : o->crop ? o->crop_w : k.w;
			uint32_t h = o->resize ? o->resize_h : o->crop ? o->crop_h : k.h;
			if (!first_path) {
				first = k;
				first_path = path;
				first_page = p->page;
				pl->out_w = w;
				pl->out_h = h;
			} else if (w != pl->out_w || h != pl->out_h) {
				char where[32] = "", fwhere[32] = "";
				if (p->format == TG_IMG_TIFF && p->page > 0)
					snprintf(where, sizeof where, "page %d: ", p->page);
				if (first_page > 0)
					snprintf(fwhere, sizeof fwhere, " page %d", first_page);
				tg_die(TG_EX_DATAERR, "%s: %s%ux%u image differs in shape from %s%s (%ux%u); "
				       "use --resize or --crop", path, where, (unsigned)w, (unsigned)h,
				       first_path, fwhere, (unsigned)pl->out_w, (unsigned)pl->out_h);
			} else {
				same_native &= k.native == first.native;
				same_scale &= k.bits == first.bits && k.sample == first.sample;
			}
			pl->any_color |= k.color;
			pl->pages[i]++;
			pl->frames++;
			st = tg_img_next(f);
			if (st == TG_IMG_END)
				break;
			if (st)
				die_image(st, f, path);
		}
		tg_img_close(f);
		tg_progress("surveyed %zu of %zu files", i + 1, o->nnames);
	}
	tg_progress_done();

	/* the output type: the common integer type of the pages, unless a
	 * bilinear resize or a float page needs float */
	ts_dtype common = same_native ? first.native : 0;
	if (o->bilinear)
		common = 0;
	pl->type = o->type_forced ? o->type : common ? common : TS_F32;
	pl->direct = common != 0 && pl->type == common;

	/* the range: the full scale of 8- and 16-bit integer samples, when
	 * every page has the same */
	if (same_scale && (first.bits == 8 || first.bits == 16) && first.sample != TG_IMG_FLOAT) {
		pl->have_range = 1;
		if (first.sample == TG_IMG_UINT) {
			pl->lo = 0;
			pl->hi = first.bits == 8 ? 255 : 65535;
			pl->range_meaning = first.bits == 8 ? "full scale of 8-bit unsigned samples"
			                                    : "full scale of 16-bit unsigned samples";
		} else {
			pl->lo = first.bits == 8 ? -128 : -32768;
			pl->hi = first.bits == 8 ? 127 : 32767;
			pl->range_meaning = first.bits == 8 ? "full scale of 8-bit signed samples"
			                                    : "full scale of 16-bit signed samples";
		}
	}
}

/* Channel `c` of a decoded page as float (32-bit integers above 2^24 and
 * doubles round to the nearest float). */
static void channel_to_f32(const tg_img_info *p, const void *raw, int c, float *dst)
{
	size_t n = (size_t)p->width * p->height, step = (size_t)p->channels;
	const void *base = (const char *)raw + (size_t)c * (size_t)(p->bits / 8);
	int code = (int)p->sample * 100 + p->bits;
	if (code == TG_IMG_UINT * 100 + 8) {
		const uint8_t *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = (float)s[i * step];
	} else if (code == TG_IMG_UINT * 100 + 16) {
		const uint16_t *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = (float)s[i * step];
	} else if (code == TG_IMG_UINT * 100 + 32) {
		const uint32_t *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = (float)s[i * step];
	} else if (code == TG_IMG_INT * 100 + 8) {
		const int8_t *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = (float)s[i * step];
	} else if (code == TG_IMG_INT * 100 + 16) {
		const int16_t *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = (float)s[i * step];
	} else if (code == TG_IMG_INT * 100 + 32) {
		const int32_t *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = (float)s[i * step];
	} else if (code == TG_IMG_FLOAT * 100 + 16) {
		const uint16_t *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = ts_f16_to_f32(s[i * step]);
	} else if (code == TG_IMG_FLOAT * 100 + 32) {
		const float *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = s[i * step];
	} else if (code == TG_IMG_FLOAT * 100 + 64) {
		const double *s = base;
		for (size_t i = 0; i < n; i++) dst[i] = (float)s[i * step];
	} else {
		tg_die(TG_EX_SOFTWARE, "no conversion for %s samples", sample_name(p));
	}
}

/* Crop (x0, y0, cw, ch) of a w-wide plane, resized to ow x oh by nearest
 * neighbour: output x takes input x0 + floor((x + 0.5) * cw / ow), pixel
 * centres aligned (Pillow's NEAREST).  Without a resize (ow == cw) it is
 * a plain crop.  Elements of es bytes. */
static void sample_nearest(const void *src, uint32_t w, size_t es, uint32_t x0, uint32_t y0,
                           uint32_t cw, uint32_t ch, void *dst, uint32_t ow, uint32_t oh)
{
	const char *s = src;
	char *d = dst;
	for (uint32_t y = 0; y < oh; y++) {
		uint64_t sy = y0 + ((2 * (uint64_t)y + 1) * ch) / (2 * (uint64_t)oh);
		const char *row = s + (size_t)sy * w * es;
		if (ow == cw) {
			memcpy(d, row + (size_t)x0 * es, (size_t)ow * es);
		} else {
			for (uint32_t x = 0; x < ow; x++) {
				uint64_t sx = x0 + ((2 * (uint64_t)x + 1) * cw) / (2 * (uint64_t)ow);
				memcpy(d + (size_t)x * es, row + (size_t)sx * es, es);
			}
		}
		d += (size_t)ow * es;
	}
}

/* Bilinear weights for one axis: output i of n_out samples the input at
 * (i + 0.5) * n_in / n_out - 0.5, clamped to [0, n_in - 1] (pixel centres
 * aligned, no antialiasing: OpenCV's INTER_LINEAR, PyTorch's
 * align_corners=False). */
static void bilinear_axis(uint32_t n_in, uint32_t n_out, uint32_t *i0, uint32_t *i1, double *frac)
{
	double scale = (double)n_in / (double)n_out;
	for (uint32_t i = 0; i < n_out; i++) {
		double s = ((double)i + 0.5) * scale - 0.5;
		if (s < 0)
			s = 0;
		if (s > (double)(n_in - 1))
			s = (double)(n_in - 1);
		uint32_t a = (uint32_t)s;
		i0[i] = a;
		i1[i] = a + 1 < n_in ? a + 1 : a;
		frac[i] = s - (double)a;
	}
}

static void sample_bilinear(const float *src, uint32_t w, uint32_t x0, uint32_t y0,
                            uint32_t cw, uint32_t ch, float *dst, uint32_t ow, uint32_t oh)
{
	uint32_t *xa = tg_malloc(ow * sizeof *xa), *xb = tg_malloc(ow * sizeof *xb);
	uint32_t *ya = tg_malloc(oh * sizeof *ya), *yb = tg_malloc(oh * sizeof *yb);
	double *fx = tg_malloc(ow * sizeof *fx), *fy = tg_malloc(oh * sizeof *fy);
	bilinear_axis(cw, ow, xa, xb, fx);
	bilinear_axis(ch, oh, ya, yb, fy);
	for (uint32_t y = 0; y < oh; y++) {
		const float *r0 = src + (size_t)(y0 + ya[y]) * w + x0;
		const float *r1 = src + (size_t)(y0 + yb[y]) * w + x0;
		for (uint32_t x = 0; x < ow; x++) {
			double top = (1 - fx[x]) * r0[xa[x]] + fx[x] * r0[xb[x]];
			double bot = (1 - fx[x]) * r1[xa[x]] + fx[x] * r1[xb[x]];
			dst[(size_t)y * ow + x] = (float)((1 - fy[y]) * top + fy[y] * bot);
		}
	}
	free(xa); free(xb); free(ya); free(yb); free(fx); free(fy);
}

/* Buffers reused from page to page. */
struct work {
	void *raw;  size_t raw_cap;   /* decoded page */
	void *gray; size_t gray_cap;  /* one channel, native type or float */
	void *frame;                  /* output frame */
	float *ffr;                   /* float frame before conversion */
	uint64_t clamped;             /* values clamped into an integer type */
};

static void *grow(void *p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return p;
	free(p);
	*cap = need;
	return tg_malloc(need);
}

/* Counts the values a conversion to t clamps (or NaN it zeroes). */
static uint64_t count_clamped(ts_dtype t, const float *v, size_t n)
{
	double lo, hi;
	switch (t) {
	case TS_U8: lo = 0; hi = 255; break;
	case TS_U16: lo = 0; hi = 65535; break;
	case TS_I16: lo = -32768; hi = 32767; break;
	default: return 0;
	}
	uint64_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += !(v[i] >= lo - 0.5 && v[i] < hi + 0.5);
	return c;
}

/* Turns one decoded page into an output frame in wk->frame. */
static void convert_page(const struct opts *o, const struct plan *pl, const tg_img_info *p, struct work *wk)
{
	size_t n = (size_t)p->width * p->height;
	uint32_t cw = o->crop ? o->crop_w : p->width, ch = o->crop ? o->crop_h : p->height;
	uint32_t x0 = (p->width - cw) / 2, y0 = (p->height - ch) / 2;
	uint32_t ow = pl->out_w, oh = pl->out_h;
	size_t on = (size_t)ow * oh;
	int luma = p->color && o->gray == GRAY_LUMA, bt601 = p->color && o->gray == GRAY_BT601;

	if (pl->direct) {
		size_t es = ts_dtype_size(pl->type);
		const void *g = wk->raw;
		if (luma || p->channels > 1) {
			wk->gray = grow(wk->gray, &wk->gray_cap, n * es);
			if (luma && p->bits == 8)
				tg_luma_u8(wk->raw, p->channels, n, wk->gray);
			else if (luma)
				tg_luma_u16(wk->raw, p->channels, n, wk->gray);
			else  /* grey + alpha, or a palette of greys: the first channel */
				for (size_t i = 0; i < n; i++)
					memcpy((char *)wk->gray + i * es, (const char *)wk->raw + i * es * (size_t)p->channels, es);
			g = wk->gray;
		}
		sample_nearest(g, p->width, es, x0, y0, cw, ch, wk->frame, ow, oh);
		return;
	}

	wk->gray = grow(wk->gray, &wk->gray_cap, n * sizeof(float));
	float *g = wk->gray;
	if (luma && p->bits == 8) {
		uint8_t *tmp = tg_malloc(n);
		tg_luma_u8(wk->raw, p->channels, n, tmp);
		for (size_t i = 0; i < n; i++) g[i] = tmp[i];
		free(tmp);
	} else if (luma) {
		uint16_t *tmp = tg_malloc(n * 2);
		tg_luma_u16(wk->raw, p->channels, n, tmp);
		for (size_t i = 0; i < n; i++) g[i] = tmp[i];
		free(tmp);
	} else if (bt601 && p->bits == 8) {
		tg_bt601_u8(wk->raw, p->channels, n, g);
	} else if (bt601) {
		tg_bt601_u16(wk->raw, p->channels, n, g);
	} else {
		channel_to_f32(p, wk->raw, 0, g);
	}
	if (o->bilinear)
		sample_bilinear(g, p->width, x0, y0, cw, ch, wk->ffr, ow, oh);
	else
		sample_nearest(g, p->width, sizeof(float), x0, y0, cw, ch, wk->ffr, ow, oh);
	wk->clamped += count_clamped(pl->type, wk->ffr, on);
	ts_convert_from_f32(pl->type, wk->ffr, wk->frame, on);
}

static void set_meta(const struct opts *o, const struct plan *pl, ts_meta *m)
{
	ts_status st = TS_OK;
	if (pl->have_range) {
		st |= ts_meta_set_range(m, pl->lo, pl->hi);
		st |= ts_meta_set(m, "range.meaning", pl->range_meaning);
	}
	if (pl->any_color)
		st |= ts_meta_set(m, "gray", o->gray == GRAY_LUMA ? "luma" : "bt601");
	for (size_t i = 0; i < o->nnames && st == TS_OK; i++) {
		if (!ts_utf8_valid(o->names[i], strlen(o->names[i])))
			st = ts_meta_add(m, "source", "(file name not UTF-8)");
		else
			st = ts_meta_add(m, "source", o->names[i]);
	}
	if (st != TS_OK)
		tg_die(TG_EX_SOFTWARE, "cannot record metadata (out of memory or over the %u MiB limit)",
		       (unsigned)(TS_MAX_META_BYTES >> 20));
}

int main(int argc, char **argv)
{
	struct opts o;
	struct plan pl;
	tg_init(argc, argv, "imread", USAGE);
	parse_args(argc, argv, &o);
	survey(&o, &pl);

	ts_header h;
	uint64_t dims[2] = { pl.out_h, pl.out_w };
	ts_header_shape(&h, pl.type, 2, dims);
	ts_meta_init(&h.meta);
	if (ts_header_check(&h) != TS_OK)
		tg_die(TG_EX_DATAERR, "%ux%u frames of %s are over the frame size limit of %llu MiB",
		       (unsigned)pl.out_w, (unsigned)pl.out_h, ts_dtype_name(pl.type),
		       (unsigned long long)(ts_max_frame_bytes() >> 20));
	set_meta(&o, &pl, &h.meta);
	tg_out out;
	tg_out_open(&out, o.out);
	ts_writer *w = tg_writer_open(&out, &h, o.zstd);

	struct work wk = { 0 };
	size_t on = (size_t)pl.out_w * pl.out_h;
	wk.frame = tg_malloc(on * ts_dtype_size(pl.type));
	wk.ffr = tg_malloc(on * sizeof(float));
	struct warnings *warn = tg_calloc(1, sizeof *warn);
	warn->quiet = o.quiet;
	for (size_t i = 0; i < o.nnames; i++) {
		const char *path = o.names[i];
		tg_img *f;
		tg_img_status st = tg_img_open(&f, path, on_warning, warn);
		if (st)
			die_image(st, f, path);
		for (size_t page = 0; page < pl.pages[i]; page++) {
			if (page > 0 && (st = tg_img_next(f)) != TG_IMG_OK) {
				if (st == TG_IMG_END)
					tg_die(TG_EX_DATAERR, "%s: changed while being read (fewer pages)", path);
				die_image(st, f, path);
			}
			const tg_img_info *p = tg_img_page(f);
			struct page_kind k = classify(&o, p, path);
			uint32_t ow = o.resize ? o.resize_w : o.crop ? o.crop_w : k.w;
			uint32_t oh = o.resize ? o.resize_h : o.crop ? o.crop_h : k.h;
			if (ow != pl.out_w || oh != pl.out_h || (pl.direct && k.native != pl.type))
				tg_die(TG_EX_DATAERR, "%s: changed while being read", path);
			wk.raw = grow(wk.raw, &wk.raw_cap, (size_t)tg_img_page_bytes(p));
			if ((st = tg_img_read(f, wk.raw)) != TG_IMG_OK)
				die_image(st, f, path);
			convert_page(&o, &pl, p, &wk);
			tg_write_frame(w, wk.frame);
		}
		tg_img_close(f);
		flush_warnings(warn, path);
		tg_progress("read %zu of %zu files", i + 1, o.nnames);
	}
	tg_progress_done();
	tg_writer_close(w, &out);
	if (wk.clamped && !o.quiet)
		tg_warn("%llu values outside the range of %s were clamped", (unsigned long long)wk.clamped,
		        ts_dtype_name(pl.type));
	free(wk.raw); free(wk.gray); free(wk.frame); free(wk.ffr);
	free(pl.pages);
	free(warn);
	for (size_t i = o.nargs; i < o.nnames; i++)
		free(o.names[i]);
	free(o.names);
	ts_header_free(&h);
	return 0;
}
