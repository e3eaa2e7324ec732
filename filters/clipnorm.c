/* clipnorm: clips intensities to bounds taken from percentiles of the
 * stream and maps them to [0,1], [-1,1], 8 or 16 bits (clipnorm(1)).
 *
 * Default rule (seed 000, section 5.1): lo = P1 of the per-frame minima,
 * hi = P99 of the per-frame maxima, NumPy's "linear" percentiles; then
 * y = clip((x - lo) / (hi - lo), 0, 1).  Statistics need the whole stream
 * before the first output frame, so the input is read twice (three times
 * for --pixels on float data): a regular file is rewound, a pipe is spooled
 * to an unlinked temporary file (clip.h's spool); for the default rule,
 * per-frame extrema in the header (h5slice --extrema) take the place of
 * the first pass, checked frame by frame.  -n stops after the
 * statistics, so it reads a pipe once for the default rule.  Memory: a few
 * frames.  Statistics run on
 * the host; the per-pixel map runs through OpenCL (kernels/clipnorm.cl). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clip.h"
#include "ocl.h"
#include "stats.h"

#define USAGE "clipnorm [-hnq] [--lower P] [--upper Q] [--pixels] [--mask RATIO] " \
	"[--bounds LO,HI | --window C,W | --stats FILE] [--stats-out FILE] " \
	"[--out 01|11|u8|u16] [-o FILE] [-z LEVEL] [FILE]"

enum rule { RULE_MINMAX, RULE_PIXELS, RULE_BOUNDS, RULE_WINDOW, RULE_STATS };

struct opts {
	enum rule rule;
	double lower, upper;  /* percentiles */
	double mask;          /* 0: none */
	double lo, hi;        /* fixed bounds (--bounds, --window, --stats) */
	double center, width;
	int fixed;            /* bounds given, no statistics */
	int stats_only;       /* -n: the statistics file, no stream */
	const char *stats_in, *stats_out, *output, *input;
	tg_clip_out out;
	int zstd;
	char rule_text[256];  /* for clip.rule and the statistics file */
};

enum { OPT_LOWER = 256, OPT_UPPER, OPT_PIXELS, OPT_MASK, OPT_BOUNDS, OPT_WINDOW, OPT_STATS,
       OPT_STATS_OUT, OPT_OUT };

/* ---- the statistics file: key=value lines ---- */

static char *stats_tmp;   /* temporary beside --stats-out until renamed */

static void remove_stats_tmp(void)
{
	if (stats_tmp)
		unlink(stats_tmp);
}

static void read_stats_file(struct opts *o)
{
	FILE *f = fopen(o->stats_in, "r");
	if (!f)
		tg_die(TG_EX_NOINPUT, "%s: %s", o->stats_in, strerror(errno));
	char line[1024];
	int have_lo = 0, have_hi = 0, lineno = 0;
	o->rule_text[0] = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		else if (!feof(f))
			tg_die(TG_EX_DATAERR, "%s: line %d: too long", o->stats_in, lineno);
		if (len == 0 || line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			tg_die(TG_EX_DATAERR, "%s: line %d: not key=value", o->stats_in, lineno);
		*eq = 0;
		const char *val = eq + 1;
		if (strcmp(line, "lo") == 0 || strcmp(line, "hi") == 0) {
			double v;
			if (tg_parse_double(val, -HUGE_VAL, HUGE_VAL, &v))
				tg_die(TG_EX_DATAERR, "%s: line %d: %s is not a finite number: '%s'",
				       o->stats_in, lineno, line, val);
			if (line[0] == 'l')
				o->lo = v, have_lo = 1;
			else
				o->hi = v, have_hi = 1;
		} else if (strcmp(line, "rule") == 0) {
			if (!ts_utf8_valid(val, strlen(val)) || strlen(val) >= sizeof o->rule_text)
				tg_die(TG_EX_DATAERR, "%s: line %d: rule is not UTF-8 text of up to %zu bytes",
				       o->stats_in, lineno, sizeof o->rule_text - 1);
			snprintf(o->rule_text, sizeof o->rule_text, "%s", val);
		}
		/* other keys (frames, values, ...) are information only */
	}
	if (ferror(f))
		tg_die(TG_EX_IOERR, "%s: read failed: %s", o->stats_in, strerror(errno));
	fclose(f);
	if (!have_lo || !have_hi)
		tg_die(TG_EX_DATAERR, "%s: needs both lo= and hi=", o->stats_in);
	if (!(o->lo < o->hi))
		tg_die(TG_EX_DATAERR, "%s: lo=%.17g is not below hi=%.17g", o->stats_in, o->lo, o->hi);
	if (!o->rule_text[0])
		snprintf(o->rule_text, sizeof o->rule_text, "bounds from a statistics file");
}

/* Creates the temporary beside --stats-out now, so an unwritable place
 * fails before any work; returns the open stream. */
static FILE *open_stats_out(const char *path)
{
	size_t n = strlen(path) + 32;
	stats_tmp = tg_malloc(n);
	snprintf(stats_tmp, n, "%s.tmp%ld", path, (long)getpid());
	int fd = open(stats_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		free(stats_tmp);
		stats_tmp = NULL;
		tg_die(TG_EX_IOERR, "%s: cannot create: %s", path, strerror(errno));
	}
	atexit(remove_stats_tmp);
	FILE *f = fdopen(fd, "w");
	if (!f)
		tg_die(TG_EX_SOFTWARE, "out of memory");
	return f;
}

static void write_stats_file(FILE *f, const char *path, const struct opts *o, double lo, double hi,
                             uint64_t frames, uint64_t values)
{
	fprintf(f, "# clipnorm statistics; reuse with: clipnorm --stats FILE\n"
	           "rule=%s\nlo=%.17g\nhi=%.17g\n", o->rule_text, lo, hi);
	if (!o->fixed)
		fprintf(f, "frames=%llu\nvalues=%llu\n", (unsigned long long)frames,
		        (unsigned long long)values);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
		tg_die(TG_EX_IOERR, "%s: write failed: %s", path, strerror(errno));
	if (rename(stats_tmp, path) != 0)
		tg_die(TG_EX_IOERR, "%s: cannot rename into place: %s", path, strerror(errno));
	free(stats_tmp);
	stats_tmp = NULL;
}

/* ---- options ---- */

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "lower", required_argument, NULL, OPT_LOWER },
		{ "upper", required_argument, NULL, OPT_UPPER },
		{ "pixels", no_argument, NULL, OPT_PIXELS },
		{ "mask", required_argument, NULL, OPT_MASK },
		{ "bounds", required_argument, NULL, OPT_BOUNDS },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "stats", required_argument, NULL, OPT_STATS },
		{ "stats-out", required_argument, NULL, OPT_STATS_OUT },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stats-only", no_argument, NULL, 'n' },
		{ "zstd", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, stat_opts = 0, sources = 0, pixels = 0;
	memset(o, 0, sizeof *o);
	o->lower = 1;
	o->upper = 99;
	o->output = "-";
	o->out = TG_CLIP_OUT_01;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hnqo:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'n': o->stats_only = 1; break;
		case 'q': tg_set_quiet(1); break;
		case 'o': o->output = optarg; break;
		case 'z': o->zstd = (int)tg_opt_long("-z", optarg, 0, 19); break;
		case OPT_LOWER: o->lower = tg_opt_double("--lower", optarg, 0, 100); stat_opts++; break;
		case OPT_UPPER: o->upper = tg_opt_double("--upper", optarg, 0, 100); stat_opts++; break;
		case OPT_PIXELS: pixels = 1; stat_opts++; break;
		case OPT_MASK:
			o->mask = tg_opt_double("--mask", optarg, 0, 1.5);
			if (!(o->mask > 0))
				tg_usage_error("bad value for --mask: '%s' (a ratio above 0, at most 1.5)", optarg);
			stat_opts++;
			break;
		case OPT_BOUNDS:
			if (tg_parse_pair(optarg, &o->lo, &o->hi))
				tg_usage_error("bad value for --bounds: '%s' (LO,HI)", optarg);
			if (!(o->lo < o->hi))
				tg_usage_error("bad value for --bounds: '%s' (LO must be below HI)", optarg);
			o->rule = RULE_BOUNDS;
			sources++;
			break;
		case OPT_WINDOW:
			if (tg_parse_pair(optarg, &o->center, &o->width))
				tg_usage_error("bad value for --window: '%s' (CENTER,WIDTH)", optarg);
			if (!(o->width > 0))
				tg_usage_error("bad value for --window: '%s' (WIDTH must be above 0)", optarg);
			o->lo = o->center - o->width / 2;
			o->hi = o->center + o->width / 2;
			if (!isfinite(o->lo) || !isfinite(o->hi) || !(o->lo < o->hi))
				tg_usage_error("bad value for --window: '%s' (bounds out of range)", optarg);
			o->rule = RULE_WINDOW;
			sources++;
			break;
		case OPT_STATS: o->stats_in = optarg; o->rule = RULE_STATS; sources++; break;
		case OPT_STATS_OUT: o->stats_out = optarg; break;
		case OPT_OUT:
			if (strcmp(optarg, "01") == 0)
				o->out = TG_CLIP_OUT_01;
			else if (strcmp(optarg, "11") == 0)
				o->out = TG_CLIP_OUT_11;
			else if (strcmp(optarg, "u8") == 0)
				o->out = TG_CLIP_OUT_U8;
			else if (strcmp(optarg, "u16") == 0)
				o->out = TG_CLIP_OUT_U16;
			else
				tg_usage_error("bad value for --out: '%s' (01, 11, u8 or u16)", optarg);
			break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	o->input = optind < argc ? argv[optind++] : "-";
	if (optind < argc)
		tg_usage_error("unexpected argument '%s'", argv[optind]);
	if (sources > 1)
		tg_usage_error("give at most one of --bounds, --window and --stats");
	if (sources && stat_opts)
		tg_usage_error("--lower, --upper, --pixels and --mask choose statistics; "
		               "--bounds, --window and --stats replace them");
	o->fixed = sources > 0;
	if (!o->fixed)
		o->rule = pixels ? RULE_PIXELS : RULE_MINMAX;
	if (pixels && !(o->lower < o->upper))
		tg_usage_error("--pixels needs --lower below --upper (%g, %g)", o->lower, o->upper);
	if (o->stats_in && o->stats_out && strcmp(o->stats_in, o->stats_out) == 0)
		tg_usage_error("--stats and --stats-out name the same file");
	if (o->stats_only && (o->fixed || !o->stats_out))
		tg_usage_error("-n computes bounds for --stats-out FILE: it needs --stats-out "
		               "and takes none of --bounds, --window and --stats");
	if (o->stats_only && strcmp(o->output, "-") != 0)
		tg_usage_error("-n writes no stream: -o has no use with it");

	char mask[64] = "";
	if (o->mask > 0)
		snprintf(mask, sizeof mask, ", inside mask %g", o->mask);
	switch (o->rule) {
	case RULE_MINMAX:
		snprintf(o->rule_text, sizeof o->rule_text, "p%g of frame minima, p%g of frame maxima%s",
		         o->lower, o->upper, mask);
		break;
	case RULE_PIXELS:
		snprintf(o->rule_text, sizeof o->rule_text, "p%g and p%g of all pixels%s",
		         o->lower, o->upper, mask);
		break;
	case RULE_BOUNDS:
		snprintf(o->rule_text, sizeof o->rule_text, "fixed bounds");
		break;
	case RULE_WINDOW:
		snprintf(o->rule_text, sizeof o->rule_text,
		         "window center %.9g width %.9g (DICOM linear exact: c - w/2, c + w/2)",
		         o->center, o->width);
		break;
	case RULE_STATS:
		break;  /* from the file */
	}
}

/* ---- reading the stream more than once ---- */

struct source {
	ts_reader *r;
	const char *name;
	size_t frame_bytes;
	int spooling, spooled;  /* first pass copies to the spool; later passes read it */
	tg_spool spool;
	float *xmin, *xmax;     /* the header's extrema, the bounds' source (NULL: none) */
	size_t nx;
};

/* The next frame, or NULL at the end; exits on errors.  A frame read from
 * the stream lands in buf; one from the spool (or read into the spool's
 * room for it) is where the returned pointer says, until the next call. */
static const void *source_next(struct source *s, void *buf)
{
	if (s->spooled) {
		const void *rec;
		int st = tg_spool_next(&s->spool, &rec);
		if (st < 0)
			tg_die(TG_EX_IOERR, "temporary file in %s: read failed: %s", s->spool.dir,
			       strerror(errno));
		return st ? rec : NULL;
	}
	if (s->spooling) {
		void *room = tg_spool_claim(&s->spool);
		if (!room)
			tg_die(TG_EX_IOERR, "temporary file in %s (copy of %s for a second pass): "
			       "write failed: %s", s->spool.dir, s->name, strerror(errno));
		if (!tg_read_frame(s->r, room))
			return NULL;
		tg_spool_commit(&s->spool);
		return room;
	}
	return tg_read_frame(s->r, buf) ? buf : NULL;
}

static void source_rewind(struct source *s)
{
	if (s->spooling || s->spooled) {
		s->spooling = 0;
		s->spooled = 1;
		if (tg_spool_rewind(&s->spool))
			tg_die(TG_EX_IOERR, "temporary file in %s (copy of %s for a second pass): "
			       "write failed: %s", s->spool.dir, s->name, strerror(errno));
		return;
	}
	ts_status st = ts_reader_rewind(s->r);
	if (st)
		tg_die(ts_exit_status(st), "%s", ts_reader_error(s->r));
}

/* ---- statistics ---- */

struct frame_geom {
	size_t n;               /* values per frame */
	tg_clip_mask mask;      /* h == 0: none */
};

static void frame_values(const ts_header *h, const void *raw, float *f32, size_t n, const float **v)
{
	if (h->dtype == TS_F32) {
		*v = raw;
		return;
	}
	ts_convert_to_f32(h->dtype, raw, f32, n);
	*v = f32;
}

/* Default rule: one pass. */
static void stats_minmax(struct source *s, const ts_header *h, const struct frame_geom *g,
                         const struct opts *o, double *lo, double *hi,
                         uint64_t *frames, uint64_t *values)
{
	void *raw = tg_malloc(s->frame_bytes);
	float *f32 = h->dtype == TS_F32 ? NULL : tg_malloc(g->n * sizeof *f32);
	float *mins = NULL, *maxs = NULL;
	size_t cap = 0, k = 0;
	uint64_t nf = 0;
	const void *fr;
	while ((fr = source_next(s, raw)) != NULL) {
		const float *v;
		frame_values(h, fr, f32, g->n, &v);
		float mn, mx;
		int any = g->mask.h ? tg_clip_minmax_masked(v, g->n, &g->mask, &mn, &mx)
		                    : tg_clip_minmax(v, g->n, &mn, &mx);
		if (any) {
			if (k == cap) {
				cap = cap ? 2 * cap : 1024;
				mins = realloc(mins, cap * sizeof *mins);
				maxs = realloc(maxs, cap * sizeof *maxs);
				if (!mins || !maxs)
					tg_die(TG_EX_SOFTWARE, "out of memory");
			}
			mins[k] = mn;
			maxs[k] = mx;
			k++;
		}
		nf++;
		tg_progress("statistics: frame %llu", (unsigned long long)nf);
	}
	tg_progress_done();
	if (nf == 0)
		tg_die(TG_EX_DATAERR, "%s: no frames to take statistics from", s->name);
	if (k == 0)
		tg_die(TG_EX_DATAERR, "%s: no frame has a value that is not NaN%s", s->name,
		       g->mask.h ? " inside the mask" : "");
	tg_percentiles_f32(mins, k, &o->lower, 1, lo);
	tg_percentiles_f32(maxs, k, &o->upper, 1, hi);
	*frames = nf;
	*values = k;
	free(mins);
	free(maxs);
	free(raw);
	free(f32);
}

/* Integer data: one pass through stats.h's exact histogram. */
static void stats_pixels_hist(struct source *s, const ts_header *h, const struct frame_geom *g,
                              const struct opts *o, double *lo, double *hi,
                              uint64_t *frames, uint64_t *values)
{
	tg_hist hist;
	if (tg_hist_init(&hist, h->dtype))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	void *raw = tg_malloc(s->frame_bytes);
	size_t es = ts_dtype_size(h->dtype);
	uint64_t nf = 0;
	const void *fr;
	while ((fr = source_next(s, raw)) != NULL) {
		if (g->mask.h) {
			size_t plane = (size_t)(g->mask.h * g->mask.w);
			for (size_t p = 0; p + plane <= g->n; p += plane)
				for (size_t i = 0; i < g->mask.h; i++)
					tg_hist_add(&hist, (const char *)fr + (p + i * g->mask.w + g->mask.x0[i]) * es,
					            g->mask.x1[i] - g->mask.x0[i]);
		} else {
			tg_hist_add(&hist, fr, g->n);
		}
		nf++;
		tg_progress("statistics: frame %llu", (unsigned long long)nf);
	}
	tg_progress_done();
	if (nf == 0)
		tg_die(TG_EX_DATAERR, "%s: no frames to take statistics from", s->name);
	if (hist.n == 0)
		tg_die(TG_EX_DATAERR, "%s: no pixel inside the mask", s->name);
	double q[2] = { o->lower, o->upper }, out[2];
	tg_hist_percentiles(&hist, q, 2, out);
	*lo = out[0];
	*hi = out[1];
	*frames = nf;
	*values = hist.n;
	tg_hist_free(&hist);
	free(raw);
}

/* Float data: two passes of exact radix selection. */
static void stats_pixels(struct source *s, const ts_header *h, const struct frame_geom *g,
                         const struct opts *o, double *lo, double *hi,
                         uint64_t *frames, uint64_t *values)
{
	if (h->dtype != TS_F32 && h->dtype != TS_F16) {
		stats_pixels_hist(s, h, g, o, lo, hi, frames, values);
		return;
	}
	tg_rsel sel;
	double q[2] = { o->lower, o->upper }, out[2];
	if (tg_rsel_init(&sel, 2, q))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	void *raw = tg_malloc(s->frame_bytes);
	float *f32 = h->dtype == TS_F32 ? NULL : tg_malloc(g->n * sizeof *f32);
	uint64_t nf = 0, nf2 = 0;
	for (int pass = 1; pass <= 2; pass++) {
		if (pass == 2)
			source_rewind(s);
		const void *fr;
		while ((fr = source_next(s, raw)) != NULL) {
			const float *v;
			frame_values(h, fr, f32, g->n, &v);
			if (pass == 1 && g->mask.h)
				tg_rsel_count_masked(&sel, v, g->n, &g->mask);
			else if (pass == 1)
				tg_rsel_count(&sel, v, g->n);
			else if (g->mask.h)
				tg_rsel_refine_masked(&sel, v, g->n, &g->mask);
			else
				tg_rsel_refine(&sel, v, g->n);
			uint64_t *count = pass == 1 ? &nf : &nf2;
			++*count;
			tg_progress("statistics, pass %d of 2: frame %llu", pass, (unsigned long long)*count);
		}
		tg_progress_done();
		if (pass == 1 && nf == 0)
			tg_die(TG_EX_DATAERR, "%s: no frames to take statistics from", s->name);
		if (pass == 1) {
			int st = tg_rsel_plan(&sel);
			if (st == -2)
				tg_die(TG_EX_SOFTWARE, "out of memory");
			if (st)
				tg_die(TG_EX_DATAERR, "%s: no pixel that is not NaN%s", s->name,
				       g->mask.h ? " inside the mask" : "");
		}
	}
	if (nf2 != nf || tg_rsel_result(&sel, out))
		tg_die(TG_EX_DATAERR, "%s: the input changed between the two statistics passes", s->name);
	*lo = out[0];
	*hi = out[1];
	*frames = nf;
	*values = sel.total;
	tg_rsel_free(&sel);
	free(raw);
	free(f32);
}

/* ---- output ---- */

static void output_header(ts_header *oh, const ts_header *ih, const struct opts *o, double lo, double hi)
{
	static const char *const meaning[] = {
		"clipnorm: clip.lo maps to 0, clip.hi to 1, clipped",
		"clipnorm: clip.lo maps to -1, clip.hi to 1, clipped",
		"clipnorm: clip.lo maps to 0, clip.hi to 255, clipped, floor(255y+0.5)",
		"clipnorm: clip.lo maps to 0, clip.hi to 65535, clipped, floor(65535y+0.5)",
	};
	static const double range[][2] = { { 0, 1 }, { -1, 1 }, { 0, 255 }, { 0, 65535 } };
	if (ts_header_copy(oh, ih))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	oh->dtype = tg_clip_out_dtype(o->out);
	tg_extrema_drop(&oh->meta);
	if (ts_meta_set_range(&oh->meta, range[o->out][0], range[o->out][1]) ||
	    ts_meta_set(&oh->meta, "range.meaning", meaning[o->out]) ||
	    ts_meta_setf(&oh->meta, "clip.lo", "%.17g", lo) ||
	    ts_meta_setf(&oh->meta, "clip.hi", "%.17g", hi) ||
	    ts_meta_set(&oh->meta, "clip.rule", o->rule_text))
		tg_die(TG_EX_SOFTWARE, "out of memory");
}

/* The default rule from the per-frame extrema in the header (clip.h),
 * which map_frames then checks frame by frame: no statistics pass, so a
 * pipe is read once and needs no spool.  0 when the header has none (or
 * malformed ones, with a warning: the frames themselves are read then). */
static int bounds_from_extrema(struct source *src, const ts_header *ih, const struct opts *o,
                               double *lo, double *hi, uint64_t *frames, uint64_t *values)
{
	float *mn, *mx;
	size_t n;
	int st = tg_extrema_get(&ih->meta, &mn, &mx, &n);
	if (st < 0)
		tg_warn("%s: the header's extrema.min and extrema.max are malformed; "
		        "statistics from the frames instead", src->name);
	if (st <= 0)
		return 0;
	float *a = tg_malloc(n * sizeof *a), *b = tg_malloc(n * sizeof *b);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(mn[i])) {
			a[k] = mn[i];
			b[k++] = mx[i];
		}
	if (k == 0)
		tg_die(TG_EX_DATAERR, "%s: no frame has a value that is not NaN", src->name);
	tg_percentiles_f32(a, k, &o->lower, 1, lo);
	tg_percentiles_f32(b, k, &o->upper, 1, hi);
	free(a);
	free(b);
	src->xmin = mn;
	src->xmax = mx;
	src->nx = n;
	*frames = n;
	*values = k;
	return 1;
}

/* A frame's minimum and maximum taken piece by piece as the reader fills
 * it (ts_reader_on_piece), while each piece is still in cache. */
struct piece_minmax {
	ts_dtype dtype;
	int any;
	float mn, mx;
};

static void piece_minmax(void *ctx, const void *piece, size_t offset, size_t len)
{
	(void)offset;
	struct piece_minmax *pm = ctx;
	float a, b;
	if (tg_clip_minmax_typed(pm->dtype, piece, len / ts_dtype_size(pm->dtype), &a, &b)) {
		pm->mn = pm->any && pm->mn < a ? pm->mn : a;
		pm->mx = pm->any && pm->mx > b ? pm->mx : b;
		pm->any = 1;
	}
}

/* map_frames' check of frame k (0-based), whose extrema pm holds, against
 * the header's. */
static void check_extrema(const struct source *src, const struct piece_minmax *pm, uint64_t k)
{
	if (k >= src->nx)
		tg_die(TG_EX_DATAERR, "%s: more frames than the header's extrema list (%zu)",
		       src->name, src->nx);
	float mn = pm->any ? pm->mn : NAN, mx = pm->any ? pm->mx : NAN;
	float wn = src->xmin[k], wx = src->xmax[k];
	int same = isnan(wn) ? !pm->any : pm->any && mn == wn && mx == wx;
	if (!same)
		tg_die(TG_EX_DATAERR, "%s: frame %llu has minimum %.9g and maximum %.9g, the header's "
		       "extrema say %.9g and %.9g: the frames changed after the extrema were taken",
		       src->name, (unsigned long long)k, mn, mx, wn, wx);
}

/* Finds the bounds (every statistics pass) and leaves the input at its
 * start again, unless only the statistics are wanted (-n). */
static void compute_bounds(struct source *src, const ts_header *ih, const struct frame_geom *g,
                           const struct opts *o, double *lo, double *hi,
                           uint64_t *frames, uint64_t *values)
{
	if (o->rule == RULE_MINMAX && !g->mask.h && !o->stats_only &&
	    bounds_from_extrema(src, ih, o, lo, hi, frames, values))
		return;
	/* exact percentiles of float pixels take two passes */
	int again = !o->stats_only ||
	            (o->rule == RULE_PIXELS && (ih->dtype == TS_F32 || ih->dtype == TS_F16));
	if (again && !ts_reader_seekable(src->r)) {
		if (tg_spool_open(&src->spool, src->frame_bytes))
			tg_die(TG_EX_IOERR, "cannot create a temporary file in %s (set TMPDIR): %s",
			       src->spool.dir, strerror(errno));
		src->spooling = 1;
	}
	if (o->rule == RULE_PIXELS)
		stats_pixels(src, ih, g, o, lo, hi, frames, values);
	else
		stats_minmax(src, ih, g, o, lo, hi, frames, values);
	if (!isfinite(*lo) || !isfinite(*hi) || !(*lo < *hi))
		tg_die(TG_EX_DATAERR, "%s: bounds lo=%.9g hi=%.9g (%s) do not make a range%s",
		       src->name, *lo, *hi, o->rule_text,
		       *lo == *hi ? " (constant data?); give --bounds" : "");
	if (!o->stats_only)
		source_rewind(src);
}

/* The map pass: every frame through the device into w; returns the count.
 * The kernel reads the frame where it lies (the spool's block, or buf for
 * a stream read again) and writes it into the writer's room for it, which
 * into a pipe goes on without a copy. */
static uint64_t map_frames(struct source *src, const ts_header *ih, tg_clip_dev *dev,
                           ts_writer *w, double lo, double hi)
{
	float lo_f, s_f;
	tg_clip_params(lo, hi, &lo_f, &s_f);
	void *buf = src->spooled ? NULL : tg_malloc(src->frame_bytes);
	struct piece_minmax pm = { .dtype = ih->dtype };
	if (src->xmin)   /* then the stream is read once, no spool */
		ts_reader_on_piece(src->r, piece_minmax, &pm);
	uint64_t nf = 0;
	const void *fr;
	while (pm.any = 0, (fr = source_next(src, buf)) != NULL) {
		if (src->xmin)
			check_extrema(src, &pm, nf);
		void *y = ts_writer_payload(w);
		if (!y)
			tg_die(TG_EX_SOFTWARE, "out of memory");
		tg_clx_check(tg_clip_dev_run(dev, fr, y, lo_f, s_f));
		tg_write_frame(w, y);
		tg_progress("frame %llu", (unsigned long long)++nf);
	}
	tg_progress_done();
	ts_reader_on_piece(src->r, NULL, NULL);
	free(buf);
	return nf;
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "clipnorm", USAGE);
	parse_args(argc, argv, &o);
	if (o.rule == RULE_STATS)
		read_stats_file(&o);

	tg_out out;
	if (!o.stats_only)
		tg_out_open(&out, o.output);
	FILE *stats_out = o.stats_out ? open_stats_out(o.stats_out) : NULL;
	struct source src = { .r = tg_reader_open(o.input, 0), .spool = { .fd = -1 } };
	src.name = strcmp(o.input, "-") == 0 ? "stdin" : o.input;
	const ts_header *ih = ts_reader_header(src.r);
	src.frame_bytes = (size_t)ts_frame_bytes(ih);
	struct frame_geom g = { .n = (size_t)ts_frame_elems(ih) };
	if (o.mask > 0) {
		char desc[96];
		ts_header_describe(ih, desc, sizeof desc);
		if (ih->rank < 2)
			tg_die(TG_EX_DATAERR, "%s: frames are %s: --mask needs HxW planes", src.name, desc);
		if (tg_clip_mask_init(&g.mask, ih->dims[ih->rank - 2], ih->dims[ih->rank - 1], o.mask))
			tg_die(TG_EX_SOFTWARE, "out of memory");
	}

	/* the device first, so a machine without one fails before any reading;
	 * statistics alone (-n) run on the host */
	tg_clip_dev *dev = NULL;
	if (!o.stats_only)
		tg_clx_check(tg_clip_dev_init(&dev, tg_clx_init(), ih->dtype, o.out, g.n));

	double lo = o.lo, hi = o.hi;
	uint64_t frames = 0, values = 0;
	if (!o.fixed)
		compute_bounds(&src, ih, &g, &o, &lo, &hi, &frames, &values);
	if (stats_out)
		write_stats_file(stats_out, o.stats_out, &o, lo, hi, frames, values);

	if (!o.stats_only) {
		ts_header oh;
		output_header(&oh, ih, &o, lo, hi);
		ts_writer *w = tg_writer_open(&out, &oh, o.zstd);
		uint64_t nf = map_frames(&src, ih, dev, w, lo, hi);
		if (!o.fixed && nf != frames)   /* frames: the extrema's count where they gave the bounds */
			tg_die(TG_EX_DATAERR, src.xmin ? "%s: %llu frames, the header's extrema list %llu"
			                               : "%s: %llu frames on the last pass, %llu on the first: "
			                                 "the input changed",
			       src.name, (unsigned long long)nf, (unsigned long long)frames);
		tg_writer_close(w, &out);
		tg_clip_dev_free(dev);
		ts_header_free(&oh);
	}
	tg_spool_close(&src.spool);
	free(src.xmin);
	free(src.xmax);
	tg_clip_mask_free(&g.mask);
	ts_reader_close(src.r);
	return 0;
}
