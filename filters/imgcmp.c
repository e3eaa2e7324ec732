/* imgcmp: PSNR and SSIM between two aligned tensor streams, frame by frame,
 * as scikit-image computes them (imgcmp(1)).  Definitions, reference and
 * OpenCL host side in libstream/metrics.c, kernels in kernels/metrics.cl. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics.h"

#define USAGE "imgcmp [-fhq] [--json] [-c crop] [-p precision] [-R range | -r lo,hi] file1 file2"

enum { PREC_AUTO, PREC_FLOAT, PREC_DOUBLE, PREC_REFERENCE };

struct opts {
	int frames;          /* -f: a line per frame */
	int json;
	long crop;
	int precision;
	int have_range;      /* from -r or -R */
	double lo, hi;
	const char *in[2];
};

struct result {
	double mse, psnr, ssim;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "crop", required_argument, NULL, 'c' },
		{ "shave", required_argument, NULL, 'c' },
		{ "data-range", required_argument, NULL, 'R' },
		{ "frames", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "precision", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "range", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	int c, have_r = 0, have_big_r = 0;
	memset(o, 0, sizeof *o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:fhp:qr:R:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->crop = tg_opt_long("--crop", optarg, 0, (long)TS_MAX_DIM); break;
		case 'f': o->frames = 1; break;
		case 'h': tg_help();
		case OPT_JSON: o->json = 1; break;
		case 'p':
			if (strcmp(optarg, "auto") == 0)
				o->precision = PREC_AUTO;
			else if (strcmp(optarg, "float") == 0)
				o->precision = PREC_FLOAT;
			else if (strcmp(optarg, "double") == 0)
				o->precision = PREC_DOUBLE;
			else if (strcmp(optarg, "reference") == 0)
				o->precision = PREC_REFERENCE;
			else
				tg_usage_error("bad value for --precision: '%s' (auto, float, double or reference)",
				               optarg);
			break;
		case 'q': tg_set_quiet(1); break;
		case 'r':
			if (tg_parse_pair(optarg, &o->lo, &o->hi) || !isfinite(o->lo) || !isfinite(o->hi) ||
			    !(o->hi > o->lo) || !isfinite(o->hi - o->lo))
				tg_usage_error("bad value for --range: '%s' (lo,hi with lo < hi)", optarg);
			have_r = 1;
			break;
		case 'R': {
			double r = tg_opt_double("--data-range", optarg, 0, 1e300);
			if (!(r > 0))
				tg_usage_error("bad value for --data-range: '%s' (a number > 0)", optarg);
			o->lo = 0;
			o->hi = r;
			have_big_r = 1;
			break;
		}
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (have_r && have_big_r)
		tg_usage_error("--range and --data-range exclude each other");
	o->have_range = have_r || have_big_r;
	if (argc - optind < 2)
		tg_usage_error("two streams to compare are required");
	if (argc - optind > 2)
		tg_usage_error("unexpected argument '%s'", argv[optind + 2]);
	o->in[0] = argv[optind];
	o->in[1] = argv[optind + 1];
	if (strcmp(o->in[0], "-") == 0 && strcmp(o->in[1], "-") == 0)
		tg_usage_error("only one of the two streams can be standard input");
}

static const char *label(const char *path)
{
	return strcmp(path, "-") == 0 ? "stdin" : path;
}

/* Planes, height and width of a frame: HxW or CxHxW; exits 65 otherwise. */
static void frame_shape(const ts_header *h, const char *name, size_t shape[3])
{
	char desc[96];
	ts_header_describe(h, desc, sizeof desc);
	if (h->rank != 2 && h->rank != 3)
		tg_die(TG_EX_DATAERR, "%s: frames are %s: need HxW or CxHxW", name, desc);
	shape[0] = h->rank == 3 ? (size_t)h->dims[0] : 1;
	shape[1] = (size_t)h->dims[h->rank - 2];
	shape[2] = (size_t)h->dims[h->rank - 1];
}

/* The full scale of an integer type; 0 for float types. */
static int integer_range(ts_dtype t, double *lo, double *hi)
{
	switch (t) {
	case TS_U8: *lo = 0; *hi = 255; return 1;
	case TS_U16: *lo = 0; *hi = 65535; return 1;
	case TS_I16: *lo = -32768; *hi = 32767; return 1;
	default: return 0;
	}
}

/* The data range: the option, else the metadata of the first stream, else
 * of the second, else the full scale of an integer type (first, then
 * second stream); exits 65 when none is known. */
static void data_range(struct opts *o, const ts_header *h[2])
{
	if (o->have_range)
		return;
	for (int i = 0; i < 2; i++)
		if (ts_meta_get_range(&h[i]->meta, &o->lo, &o->hi) == 0) {
			if (!(o->hi > o->lo) || !isfinite(o->hi - o->lo))
				tg_die(TG_EX_DATAERR, "%s: the range %g %g in the metadata is empty; give --range lo,hi",
				       label(o->in[i]), o->lo, o->hi);
			return;
		}
	for (int i = 0; i < 2; i++)
		if (integer_range(h[i]->dtype, &o->lo, &o->hi))
			return;
	tg_die(TG_EX_DATAERR, "no value range: neither %s nor %s has a range in its metadata; "
	       "give --range lo,hi or --data-range R", label(o->in[0]), label(o->in[1]));
}

/* Copies the crop of each plane of src (planes x h x w) into dst. */
static void crop_planes(const float *src, float *dst, const size_t shape[3], size_t crop)
{
	size_t ch = shape[1] - 2 * crop, cw = shape[2] - 2 * crop;
	for (size_t p = 0; p < shape[0]; p++)
		for (size_t r = 0; r < ch; r++)
			memcpy(dst + (p * ch + r) * cw, src + (p * shape[1] + r + crop) * shape[2] + crop,
			       cw * sizeof *dst);
}

/* %.12g, with inf and nan spelled so; in JSON non-finite values are strings. */
static void put_num(double v, int json)
{
	if (isfinite(v))
		printf("%.12g", v);
	else
		printf(json ? "\"%s\"" : "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static void report(const struct opts *o, const struct result *res, size_t n, const size_t shape[3])
{
	double psnr = 0, ssim = 0, mse = 0;
	for (size_t i = 0; i < n; i++) {
		psnr += res[i].psnr;
		ssim += res[i].ssim;
		mse += res[i].mse;
	}
	psnr /= (double)n;
	ssim /= (double)n;
	mse /= (double)n;
	double range = o->hi - o->lo;
	double psnr_mse = tg_psnr_from_mse(mse, range);
	if (o->json) {
		printf("{\"frames\": %zu, \"planes\": %zu, \"height\": %zu, \"width\": %zu, \"crop\": %ld, "
		       "\"range\": [%.17g, %.17g], \"data_range\": %.17g,\n", n, shape[0],
		       shape[1] - 2 * (size_t)o->crop, shape[2] - 2 * (size_t)o->crop, o->crop, o->lo, o->hi,
		       range);
		printf(" \"psnr\": ");
		put_num(psnr, 1);
		printf(", \"ssim\": ");
		put_num(ssim, 1);
		printf(", \"mse\": ");
		put_num(mse, 1);
		printf(", \"psnr_mse\": ");
		put_num(psnr_mse, 1);
		if (o->frames) {
			printf(",\n \"per_frame\": [");
			for (size_t i = 0; i < n; i++) {
				printf("%s\n  {\"frame\": %zu, \"psnr\": ", i ? "," : "", i);
				put_num(res[i].psnr, 1);
				printf(", \"ssim\": ");
				put_num(res[i].ssim, 1);
				printf(", \"mse\": ");
				put_num(res[i].mse, 1);
				printf("}");
			}
			printf("\n ]");
		}
		printf("}\n");
		return;
	}
	if (o->frames)
		for (size_t i = 0; i < n; i++) {
			printf("frame %zu psnr ", i);
			put_num(res[i].psnr, 0);
			printf(" ssim ");
			put_num(res[i].ssim, 0);
			printf(" mse ");
			put_num(res[i].mse, 0);
			printf("\n");
		}
	printf("mean frames %zu psnr ", n);
	put_num(psnr, 0);
	printf(" ssim ");
	put_num(ssim, 0);
	printf(" mse ");
	put_num(mse, 0);
	printf(" psnr_mse ");
	put_num(psnr_mse, 0);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "imgcmp", USAGE);
	parse_args(argc, argv, &o);

	ts_reader *r[2];
	const ts_header *h[2];
	size_t shape[2][3];
	for (int i = 0; i < 2; i++) {
		r[i] = tg_reader_open(o.in[i], 0);
		h[i] = ts_reader_header(r[i]);
		frame_shape(h[i], label(o.in[i]), shape[i]);
	}
	if (memcmp(shape[0], shape[1], sizeof shape[0]) != 0) {
		char d0[96], d1[96];
		ts_header_describe(h[0], d0, sizeof d0);
		ts_header_describe(h[1], d1, sizeof d1);
		tg_die(TG_EX_DATAERR, "frames differ in shape: %s has %s, %s has %s", label(o.in[0]), d0,
		       label(o.in[1]), d1);
	}
	size_t planes = shape[0][0], fh = shape[0][1], fw = shape[0][2];
	size_t crop = (size_t)o.crop;
	if (2 * crop >= fh || 2 * crop >= fw || fh - 2 * crop < TG_SSIM_WIN || fw - 2 * crop < TG_SSIM_WIN)
		tg_die(TG_EX_DATAERR, "frames of %zux%zu%s are smaller than the %dx%d SSIM window",
		       fw, fh, crop ? " less the crop" : "", TG_SSIM_WIN, TG_SSIM_WIN);
	data_range(&o, h);
	size_t ch = fh - 2 * crop, cw = fw - 2 * crop, n = planes * fh * fw, cn = planes * ch * cw;
	double range = o.hi - o.lo;

	tg_ssim_cl *s = NULL;
	if (o.precision != PREC_REFERENCE) {
		tg_cl *cl = tg_clx_init();
		int prec = o.precision == PREC_FLOAT ? TG_SSIM_FLOAT
		           : o.precision == PREC_DOUBLE ? TG_SSIM_DOUBLE : TG_SSIM_AUTO;
		int st = tg_ssim_cl_create(&s, cl, planes, ch, cw, range, prec);
		if (st == TG_CL_NO_PLATFORM)   /* --precision double without fp64 */
			tg_die(TG_EX_UNAVAILABLE, "%s", tg_cl_error());
		tg_clx_check(st);
	}
	void *raw[2];
	float *f[2], *c[2];
	for (int i = 0; i < 2; i++) {
		raw[i] = tg_malloc((size_t)ts_frame_bytes(h[i]));
		f[i] = tg_malloc(n * sizeof(float));
		c[i] = crop ? tg_malloc(cn * sizeof(float)) : f[i];
	}
	double *plane_ssim = tg_malloc(planes * sizeof(double));
	size_t count = 0, cap = 0;
	struct result *res = NULL;
	for (;;) {
		int got0 = tg_read_frame(r[0], raw[0]);
		int got1 = tg_read_frame(r[1], raw[1]);
		if (got0 != got1)
			tg_die(TG_EX_DATAERR, "the streams differ in length: %s ended after %zu frames, %s has more",
			       label(o.in[got0 ? 1 : 0]), count, label(o.in[got0 ? 0 : 1]));
		if (!got0)
			break;
		for (int i = 0; i < 2; i++) {
			ts_convert_to_f32(h[i]->dtype, raw[i], f[i], n);
			if (crop)
				crop_planes(f[i], c[i], shape[0], crop);
		}
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			res = realloc(res, cap * sizeof *res);
			if (!res)
				tg_die(TG_EX_SOFTWARE, "out of memory");
		}
		struct result *x = &res[count];
		x->mse = tg_mse_f32(c[0], c[1], cn);
		x->psnr = tg_psnr_from_mse(x->mse, range);
		if (s) {
			tg_clx_check(tg_ssim_cl_run(s, c[0], c[1], plane_ssim));
		} else {
			for (size_t p = 0; p < planes; p++)
				if (tg_ssim_ref(c[0] + p * ch * cw, c[1] + p * ch * cw, ch, cw, cw, range,
				                &plane_ssim[p]))
					tg_die(TG_EX_SOFTWARE, "out of memory");
		}
		x->ssim = 0;
		for (size_t p = 0; p < planes; p++)
			x->ssim += plane_ssim[p];
		x->ssim /= (double)planes;
		count++;
		tg_progress("frame %zu", count);
	}
	tg_progress_done();
	if (count == 0)
		tg_die(TG_EX_DATAERR, "the streams have no frames");
	report(&o, res, count, shape[0]);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return 0;   /* the reader went away: not an error */
		tg_die(TG_EX_IOERR, "writing the results: %s", strerror(errno));
	}
	tg_ssim_cl_free(s);
	for (int i = 0; i < 2; i++) {
		free(raw[i]);
		if (c[i] != f[i])
			free(c[i]);
		free(f[i]);
		ts_reader_close(r[i]);
	}
	free(plane_ssim);
	free(res);
	return 0;
}
