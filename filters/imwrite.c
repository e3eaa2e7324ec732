/* imwrite: a tensor stream to image files, one per frame or one grid
 * (imwrite(1)).
 *
 * Values become PNG pixels through a range lo..hi (from --range, else the
 * stream's "range" metadata, else the full scale of an integer type, else
 * the data's own minimum and maximum):
 *     v = clamp((x - lo) / (hi - lo), 0, 1),  pixel = floor(v * max + 0.5)
 * with max 255 or 65535 and NaN taken as lo.  TIFF and raw files get the
 * values themselves as float32. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "io/image.h"

#define USAGE "imwrite [-hqv] [--bits 8|16] [--range lo,hi] [-z level] [--start n] -p pattern [file]\n" \
	"       imwrite [-hqv] [--bits 8|16] [--range lo,hi] [-z level] [--rows r] [--cols c] [--pad p] " \
	"[--pad-value v] --grid out.png [file]"

enum format { F_PNG, F_TIFF, F_RAW };

struct opts {
	const char *pattern, *grid, *in;
	enum format format;
	int bits;              /* 0 until chosen */
	int have_range;
	double lo, hi;
	long start;
	long rows, cols, pad;
	double pad_value;
	int level;             /* PNG zlib level */
	int verbose, quiet;
};

/* Exactly one integer conversion (d, i, u, o, x or X with optional
 * flags "-+ 0", width and precision) and any number of "%%". */
static int check_pattern(const char *s, char *why, size_t len)
{
	int conversions = 0;
	for (const char *p = s; *p; p++) {
		if (*p != '%')
			continue;
		if (*++p == '%')
			continue;
		while (*p && strchr("-+ 0", *p))
			p++;
		int digits = 0;
		while (isdigit((unsigned char)*p))
			p++, digits++;
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p))
				p++, digits++;
		}
		if (digits > 2) {
			snprintf(why, len, "width or precision above 99");
			return -1;
		}
		if (!*p || !strchr("diuoxX", *p)) {
			snprintf(why, len, "'%%%s' is not an integer conversion like %%04d", *p ? (char[]){ *p, 0 } : "");
			return -1;
		}
		conversions++;
	}
	if (conversions != 1) {
		snprintf(why, len, "%d conversions; it needs exactly one integer conversion like %%04d", conversions);
		return -1;
	}
	return 0;
}

/* The format from the name's extension (after the last '.' of the last
 * path component, with no '%' in it). */
static int format_of(const char *name, enum format *f)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *dot = strrchr(base, '.');
	if (!dot || strchr(dot, '%'))
		return -1;
	dot++;
	if (strcasecmp(dot, "png") == 0)
		*f = F_PNG;
	else if (strcasecmp(dot, "tif") == 0 || strcasecmp(dot, "tiff") == 0)
		*f = F_TIFF;
	else if (strcasecmp(dot, "raw") == 0)
		*f = F_RAW;
	else
		return -1;
	return 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_BITS = 256, O_RANGE, O_START, O_ROWS, O_COLS, O_PAD, O_PADV, O_GRID };
	static const struct option longopts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "grid", required_argument, NULL, O_GRID },
		{ "bits", required_argument, NULL, O_BITS },
		{ "range", required_argument, NULL, O_RANGE },
		{ "start", required_argument, NULL, O_START },
		{ "rows", required_argument, NULL, O_ROWS },
		{ "cols", required_argument, NULL, O_COLS },
		{ "pad", required_argument, NULL, O_PAD },
		{ "pad-value", required_argument, NULL, O_PADV },
		{ "level", required_argument, NULL, 'z' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, grid_opts = 0, start_given = 0, level_given = 0;
	memset(o, 0, sizeof *o);
	o->rows = o->cols = 8;
	o->pad = 2;
	o->level = 3;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hqvp:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 'p': o->pattern = optarg; break;
		case 'z': o->level = (int)tg_opt_long("-z", optarg, 0, 9); level_given = 1; break;
		case O_GRID: o->grid = optarg; break;
		case O_BITS:
			o->bits = (int)tg_opt_long("--bits", optarg, 8, 16);
			if (o->bits != 8 && o->bits != 16)
				tg_usage_error("bad value for --bits: '%s' (8 or 16)", optarg);
			break;
		case O_RANGE:
			if (tg_parse_pair(optarg, &o->lo, &o->hi) || !(o->lo < o->hi))
				tg_usage_error("bad value for --range: '%s' (lo,hi with lo < hi)", optarg);
			o->have_range = 1;
			break;
		case O_START: o->start = tg_opt_long("--start", optarg, 0, 2147483647L); start_given = 1; break;
		case O_ROWS: o->rows = tg_opt_long("--rows", optarg, 1, 65536); grid_opts = 1; break;
		case O_COLS: o->cols = tg_opt_long("--cols", optarg, 1, 65536); grid_opts = 1; break;
		case O_PAD: o->pad = tg_opt_long("--pad", optarg, 0, 4096); grid_opts = 1; break;
		case O_PADV: o->pad_value = tg_opt_double("--pad-value", optarg, 0, 1); grid_opts = 1; break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->in = argv[optind++];
	else
		o->in = "-";
	if (optind < argc)
		tg_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->pattern == !o->grid)
		tg_usage_error(o->pattern ? "give -p or --grid, not both" : "-p pattern or --grid file is required");
	char why[128];
	if (o->pattern) {
		if (grid_opts)
			tg_usage_error("--rows, --cols, --pad and --pad-value need --grid");
		if (check_pattern(o->pattern, why, sizeof why))
			tg_usage_error("bad pattern '%s': %s", o->pattern, why);
		if (format_of(o->pattern, &o->format))
			tg_usage_error("bad pattern '%s': end it in .png, .tif, .tiff or .raw", o->pattern);
		if (o->format != F_PNG && (o->bits || o->have_range || level_given))
			tg_usage_error("--bits, --range and -z apply to PNG output only (TIFF and raw hold the values)");
	} else {
		if (start_given)
			tg_usage_error("--start applies to -p only");
		enum format f = F_PNG;
		if (strcmp(o->grid, "-") != 0 && (format_of(o->grid, &f) || f != F_PNG))
			tg_usage_error("bad value for --grid: '%s' (a .png file, or - for standard output)", o->grid);
		if (strcmp(o->grid, "-") == 0 && isatty(1))
			tg_usage_error("refusing to write a PNG to a terminal (redirect or pipe standard output)");
		o->format = F_PNG;
	}
	tg_set_quiet(o->quiet);
}

/* lo..hi for PNG output, in order of precedence; 0 when the data must say. */
static int choose_range(const struct opts *o, const ts_header *h, double *lo, double *hi, const char **from)
{
	if (o->have_range) {
		*lo = o->lo;
		*hi = o->hi;
		*from = "--range";
		return 1;
	}
	if (ts_meta_get_range(&h->meta, lo, hi) == 0) {
		*from = "metadata";
		return 1;
	}
	*from = "type";
	switch (h->dtype) {
	case TS_U8: *lo = 0; *hi = 255; return 1;
	case TS_U16: *lo = 0; *hi = 65535; return 1;
	case TS_I16: *lo = -32768; *hi = 32767; return 1;
	default: break;
	}
	*from = "data";
	return 0;
}

/* Finite minimum and maximum of v, folded into *lo and *hi. */
static void fold_minmax(const float *v, size_t n, double *lo, double *hi)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		if (v[i] < *lo) *lo = v[i];
		if (v[i] > *hi) *hi = v[i];
	}
}

/* A range from the data: an empty one (no finite value) becomes 0..1 and
 * a constant c becomes c..c+1, so every value maps to pixel 0. */
static void settle_minmax(double *lo, double *hi)
{
	if (*lo > *hi) {
		*lo = 0;
		*hi = 1;
	} else if (*lo == *hi) {
		*hi = *lo + 1;
	}
}

static void map_pixels(const float *v, size_t n, double lo, double hi, int bits, void *dst)
{
	double max = bits == 8 ? 255 : 65535, span = hi - lo;
	for (size_t i = 0; i < n; i++) {
		double t = ((double)v[i] - lo) / span;
		if (!(t > 0))
			t = 0;  /* also NaN */
		if (t > 1)
			t = 1;
		double px = floor(t * max + 0.5);
		if (bits == 8)
			((uint8_t *)dst)[i] = (uint8_t)px;
		else
			((uint16_t *)dst)[i] = (uint16_t)px;
	}
}

static void write_all(int fd, const void *buf, size_t n, const char *name)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			tg_die(TG_EX_IOERR, "%s: write failed: %s", name, k < 0 ? strerror(errno) : "no progress");
		p += k;
		n -= (size_t)k;
	}
}

/* Writes one file atomically (temporary file, then rename). */
static void write_file(const char *name, enum format f, const float *v, const void *pix,
                       uint32_t w, uint32_t h, int bits, int level)
{
	tg_out out;
	tg_out_open(&out, name);
	char err[512];
	tg_img_status st = TG_IMG_OK;
	size_t n = (size_t)w * h;
	if (f == F_PNG) {
		st = tg_png_write_gray(out.fd, name, pix, w, h, bits, level, err, sizeof err);
	} else if (f == F_TIFF) {
		st = tg_tiff_write_f32(out.fd, name, v, w, h, err, sizeof err);
	} else {
		/* raw: float32 little-endian, row-major */
		const uint16_t one = 1;
		if (*(const uint8_t *)&one == 1) {
			write_all(out.fd, v, n * 4, name);
		} else {
			uint8_t *le = tg_malloc(n * 4);
			for (size_t i = 0; i < n; i++) {
				uint32_t b;
				memcpy(&b, &v[i], 4);
				for (int k = 0; k < 4; k++)
					le[4 * i + (size_t)k] = (uint8_t)(b >> (8 * k));
			}
			write_all(out.fd, le, n * 4, name);
			free(le);
		}
	}
	if (st)
		tg_die(tg_img_exit_status(st), "%s", err);
	tg_out_commit(&out);
}

static const char *format_name(enum format f, int bits)
{
	return f == F_TIFF ? "float32 TIFF" : f == F_RAW ? "raw float32" : bits == 16 ? "16-bit PNG" : "8-bit PNG";
}

static void frames_mode(const struct opts *o, ts_reader *r, const ts_header *h,
                        uint32_t w, uint32_t hh, int bits)
{
	size_t n = (size_t)w * hh;
	void *buf = tg_malloc((size_t)ts_frame_bytes(h));
	float *v = tg_malloc(n * sizeof *v);
	void *pix = o->format == F_PNG ? tg_malloc(n * (size_t)(bits / 8)) : NULL;
	double lo = 0, hi = 0;
	const char *from = "";
	if (o->format == F_PNG && !choose_range(o, h, &lo, &hi, &from)) {
		/* float data without a range: a first pass for its extremes */
		if (!ts_reader_seekable(r))
			tg_die(TG_EX_DATAERR, "%s: %s data without range metadata: give --range lo,hi "
			       "(or a regular file, whose minimum and maximum are then used)",
			       strcmp(o->in, "-") ? o->in : "stdin", ts_dtype_name(h->dtype));
		lo = INFINITY;
		hi = -INFINITY;
		while (tg_read_frame(r, buf)) {
			ts_convert_to_f32(h->dtype, buf, v, n);
			fold_minmax(v, n, &lo, &hi);
		}
		settle_minmax(&lo, &hi);
		ts_status st = ts_reader_rewind(r);
		if (st)
			tg_die(ts_exit_status(st), "%s", ts_reader_error(r));
	}
	if (o->verbose) {
		char desc[96];
		ts_header_describe(h, desc, sizeof desc);
		if (o->format == F_PNG)
			tg_warn("input %s, range %.9g %.9g (from %s), writing %s", desc, lo, hi, from,
			        format_name(o->format, bits));
		else
			tg_warn("input %s, writing %s", desc, format_name(o->format, bits));
	}
	size_t namecap = 0;
	char *name = NULL;
	uint64_t count = 0;
	while (tg_read_frame(r, buf)) {
		long long index = (long long)o->start + (long long)count;
		if (index > 2147483647LL)
			tg_die(TG_EX_DATAERR, "frame %llu: index %lld is beyond the largest int",
			       (unsigned long long)count, index);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		/* the pattern was checked: one integer conversion */
		int len = snprintf(NULL, 0, o->pattern, (int)index);
		if (len < 0)
			tg_die(TG_EX_SOFTWARE, "cannot format the pattern");
		if ((size_t)len + 1 > namecap) {
			free(name);
			namecap = (size_t)len + 1;
			name = tg_malloc(namecap);
		}
		snprintf(name, namecap, o->pattern, (int)index);
#pragma GCC diagnostic pop
		ts_convert_to_f32(h->dtype, buf, v, n);
		if (o->format == F_PNG)
			map_pixels(v, n, lo, hi, bits, pix);
		write_file(name, o->format, v, pix, w, hh, bits, o->level);
		count++;
		tg_progress("%llu frames written", (unsigned long long)count);
	}
	tg_progress_done();
	if (o->verbose)
		tg_warn("wrote %llu files", (unsigned long long)count);
	free(name);
	free(buf);
	free(v);
	free(pix);
}

static void grid_mode(const struct opts *o, ts_reader *r, const ts_header *h,
                      uint32_t w, uint32_t hh, int bits)
{
	size_t n = (size_t)w * hh;
	uint64_t cells = (uint64_t)o->rows * (uint64_t)o->cols;
	/* frames are kept as float until the range is known; n >= 1 and
	 * cells <= 2^32, so the division avoids any overflow */
	uint64_t keep_limit = 4 * ts_max_frame_bytes();
	if (cells > keep_limit / ((uint64_t)n * sizeof(float)))
		tg_die(TG_EX_DATAERR, "a %ldx%ld grid of %ux%u frames is too large", o->rows, o->cols,
		       (unsigned)w, (unsigned)hh);
	void *buf = tg_malloc((size_t)ts_frame_bytes(h));
	float *frames = tg_malloc((size_t)(cells * n * sizeof(float)));
	uint64_t got = 0;
	while (got < cells && tg_read_frame(r, buf)) {
		ts_convert_to_f32(h->dtype, buf, frames + got * n, n);
		got++;
	}
	if (got == 0)
		tg_die(TG_EX_DATAERR, "%s: no frames to put in a grid", strcmp(o->in, "-") ? o->in : "stdin");
	double lo = INFINITY, hi = -INFINITY;
	const char *from = "";
	if (!choose_range(o, h, &lo, &hi, &from)) {
		lo = INFINITY;
		hi = -INFINITY;
		fold_minmax(frames, (size_t)got * n, &lo, &hi);
		settle_minmax(&lo, &hi);
	}
	uint64_t cols = got < (uint64_t)o->cols ? got : (uint64_t)o->cols;
	uint64_t rows = (got + cols - 1) / cols;
	uint64_t pad = (uint64_t)o->pad;
	uint64_t gw = cols * (w + pad) + pad, gh = rows * (hh + pad) + pad;
	if (gw > 1000000 || gh > 1000000 || gw * gh * (uint64_t)(bits / 8) > ts_max_frame_bytes())
		tg_die(TG_EX_DATAERR, "the grid would be %llux%llu pixels, too large for a PNG here",
		       (unsigned long long)gw, (unsigned long long)gh);
	size_t es = (size_t)(bits / 8);
	uint8_t *grid = tg_malloc((size_t)(gw * gh) * es);
	double max = bits == 8 ? 255 : 65535;
	double padpx = floor(o->pad_value * max + 0.5);
	for (size_t i = 0; i < (size_t)(gw * gh); i++) {
		if (bits == 8)
			grid[i] = (uint8_t)padpx;
		else
			((uint16_t *)(void *)grid)[i] = (uint16_t)padpx;
	}
	void *pix = tg_malloc(n * es);
	for (uint64_t k = 0; k < got; k++) {
		map_pixels(frames + k * n, n, lo, hi, bits, pix);
		uint64_t x0 = pad + (k % cols) * (w + pad), y0 = pad + (k / cols) * (hh + pad);
		for (uint32_t y = 0; y < hh; y++)
			memcpy(grid + ((y0 + y) * gw + x0) * es, (uint8_t *)pix + (size_t)y * w * es, w * es);
	}
	if (o->verbose) {
		char desc[96];
		ts_header_describe(h, desc, sizeof desc);
		tg_warn("input %s, range %.9g %.9g (from %s), writing a %llux%llu grid of %llu frames as %s",
		        desc, lo, hi, from, (unsigned long long)rows, (unsigned long long)cols,
		        (unsigned long long)got, format_name(F_PNG, bits));
	}
	if (strcmp(o->grid, "-") == 0) {
		char err[512];
		tg_img_status st = tg_png_write_gray(1, "stdout", grid, (uint32_t)gw, (uint32_t)gh, bits, o->level,
		                                     err, sizeof err);
		if (st)
			tg_die(tg_img_exit_status(st), "%s", err);
	} else {
		write_file(o->grid, F_PNG, NULL, grid, (uint32_t)gw, (uint32_t)gh, bits, o->level);
	}
	free(pix);
	free(grid);
	free(frames);
	free(buf);
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "imwrite", USAGE);
	parse_args(argc, argv, &o);
	ts_reader *r = tg_reader_open(o.in, 0);
	const ts_header *h = ts_reader_header(r);
	if (!(h->rank == 2 || (h->rank == 3 && h->dims[0] == 1))) {
		char desc[96];
		ts_header_describe(h, desc, sizeof desc);
		tg_die(TG_EX_DATAERR, "%s: frames of %s: only HxW or 1xHxW frames can be written as images",
		       strcmp(o.in, "-") ? o.in : "stdin", desc);
	}
	uint32_t hh = (uint32_t)h->dims[h->rank - 2], w = (uint32_t)h->dims[h->rank - 1];
	int bits = o.bits ? o.bits : (h->dtype == TS_U16 || h->dtype == TS_I16) ? 16 : 8;
	if (o.grid)
		grid_mode(&o, r, h, w, hh, bits);
	else
		frames_mode(&o, r, h, w, hh, bits);
	ts_reader_close(r);
	return 0;
}
