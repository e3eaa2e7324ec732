/* resize: crops and resamples every frame of a tensor stream with Pillow's
 * or OpenCV's filters (resize(1)).  Tables and reference in
 * libstream/resample.c, kernels in kernels/resize.cl. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clip.h"
#include "resample.h"

#define USAGE "resize [-hq] [--clamp] [-c crop] [-f filter] [-o output] [-t type] [-z level] " \
	"size | -s scale [file]"

struct opts {
	tg_rs_filter filter;
	long out_w, out_h;         /* from SIZE; 0 with --scale */
	double scale_x, scale_y;   /* --scale; 0 without */
	int crop;                  /* 0 none, 1 X,Y,W,H, 2 centred WxH */
	long crop_x, crop_y, crop_w, crop_h;
	int keep_type;             /* --type keep */
	ts_dtype out_type;
	int clamp;
	int zstd;
	const char *input, *output;
};

/* "WxH" or "N" into w, h in [1, TS_MAX_DIM]; 0 ok. */
static int parse_size(const char *s, long *w, long *h)
{
	char buf[64];
	const char *x = strchr(s, 'x');
	if (!x)
		return tg_parse_long(s, 1, (long)TS_MAX_DIM, w) ? -1 : (*h = *w, 0);
	size_t n = (size_t)(x - s);
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	return tg_parse_long(buf, 1, (long)TS_MAX_DIM, w) || tg_parse_long(x + 1, 1, (long)TS_MAX_DIM, h)
	       ? -1 : 0;
}

/* "X,Y,W,H" or "WxH" (centred). */
static void parse_crop(const char *s, struct opts *o)
{
	long v[4];
	char buf[128];
	if (strchr(s, 'x') && !strchr(s, ',')) {
		if (parse_size(s, &o->crop_w, &o->crop_h))
			tg_usage_error("bad value for --crop: '%s' (X,Y,W,H or WxH)", s);
		o->crop = 2;
		return;
	}
	if (strlen(s) >= sizeof buf)
		tg_usage_error("bad value for --crop: '%s' (X,Y,W,H or WxH)", s);
	strcpy(buf, s);
	int n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == 4 || tg_parse_long(tok, n < 2 ? 0 : 1, (long)TS_MAX_DIM, &v[n]))
			tg_usage_error("bad value for --crop: '%s' (X,Y,W,H with X,Y >= 0 and W,H >= 1, or WxH)", s);
		n++;
	}
	if (n != 4 || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		tg_usage_error("bad value for --crop: '%s' (X,Y,W,H or WxH)", s);
	o->crop = 1;
	o->crop_x = v[0];
	o->crop_y = v[1];
	o->crop_w = v[2];
	o->crop_h = v[3];
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_CLAMP = 256 };
	static const struct option longopts[] = {
		{ "clamp", no_argument, NULL, OPT_CLAMP },
		{ "crop", required_argument, NULL, 'c' },
		{ "filter", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "scale", required_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "zstd", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	memset(o, 0, sizeof *o);
	o->filter = TG_RS_BICUBIC;
	o->out_type = TS_F32;
	o->output = "-";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hqc:f:o:s:t:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'q': tg_set_quiet(1); break;
		case OPT_CLAMP: o->clamp = 1; break;
		case 'c': parse_crop(optarg, o); break;
		case 'f':
			if (tg_rs_filter_parse(optarg, &o->filter))
				tg_usage_error("unknown filter '%s' (nearest, box, bilinear, bicubic, lanczos3, "
				               "bilinear-opencv, cubic-opencv or area)", optarg);
			break;
		case 'o': o->output = optarg; break;
		case 's':
			if (strchr(optarg, ',')) {
				if (tg_parse_pair(optarg, &o->scale_x, &o->scale_y) || !(o->scale_x > 0) ||
				    !(o->scale_y > 0) || o->scale_x > 1e6 || o->scale_y > 1e6)
					tg_usage_error("bad value for --scale: '%s' (F or FX,FY, each > 0)", optarg);
			} else {
				if (tg_parse_double(optarg, 0, 1e6, &o->scale_x) || !(o->scale_x > 0))
					tg_usage_error("bad value for --scale: '%s' (F or FX,FY, each > 0)", optarg);
				o->scale_y = o->scale_x;
			}
			break;
		case 't':
			if (strcmp(optarg, "keep") == 0)
				o->keep_type = 1;
			else if (ts_dtype_parse(optarg, &o->out_type))
				tg_usage_error("bad value for --type: '%s' (keep, f32, f16, u8, u16 or i16)", optarg);
			break;
		case 'z': o->zstd = (int)tg_opt_long("-z", optarg, 0, 19); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (o->scale_x == 0) {
		if (optind >= argc)
			tg_usage_error("a size (WxH or N) or --scale is required");
		if (parse_size(argv[optind], &o->out_w, &o->out_h))
			tg_usage_error("bad size '%s' (WxH or N, each from 1 to %llu)", argv[optind],
			               (unsigned long long)TS_MAX_DIM);
		optind++;
	}
	o->input = optind < argc ? argv[optind++] : "-";
	if (optind < argc)
		tg_usage_error("unexpected argument '%s'", argv[optind]);
}

/* Frame geometry from the header, the crop and the output size; exits 65
 * with the reason when the frames do not allow them. */
static void geometry(const struct opts *o, const ts_header *h, const char *name,
                     tg_rs_frame *f, long *crop_w, long *crop_h, long *out_w, long *out_h)
{
	char desc[96];
	ts_header_describe(h, desc, sizeof desc);
	if (h->rank < 2)
		tg_die(TG_EX_DATAERR, "%s: frames are %s: need HxW, CxHxW or NxCxHxW", name, desc);
	uint64_t planes = 1;
	for (int i = 0; i < h->rank - 2; i++)
		planes *= h->dims[i];
	if (planes > 0x7fffffff)
		tg_die(TG_EX_DATAERR, "%s: frames are %s: too many planes", name, desc);
	long fh = (long)h->dims[h->rank - 2], fw = (long)h->dims[h->rank - 1];
	memset(f, 0, sizeof *f);
	f->dtype = h->dtype;
	f->planes = (int)planes;
	f->frame_w = (int)fw;
	f->frame_h = (int)fh;
	long cx = 0, cy = 0, cw = fw, ch = fh;
	if (o->crop) {
		cw = o->crop_w;
		ch = o->crop_h;
		if (o->crop == 2) {
			cx = (fw - cw) / 2;
			cy = (fh - ch) / 2;
		} else {
			cx = o->crop_x;
			cy = o->crop_y;
		}
		if (cw > fw || ch > fh || cx < 0 || cy < 0 || cx + cw > fw || cy + ch > fh)
			tg_die(TG_EX_DATAERR, "%s: crop %ldx%ld at %ld,%ld is outside the %ldx%ld frame",
			       name, cw, ch, cx, cy, fw, fh);
	}
	f->crop_x = (int)cx;
	f->crop_y = (int)cy;
	if (o->scale_x > 0) {
		double w = floor(cw * o->scale_x + 0.5), hh = floor(ch * o->scale_y + 0.5);
		if (w < 1 || hh < 1 || w > (double)TS_MAX_DIM || hh > (double)TS_MAX_DIM)
			tg_die(TG_EX_DATAERR, "%s: --scale makes a %.0fx%.0f frame from %ldx%ld", name, w, hh,
			       cw, ch);
		*out_w = (long)w;
		*out_h = (long)hh;
	} else {
		*out_w = o->out_w;
		*out_h = o->out_h;
	}
	*crop_w = cw;
	*crop_h = ch;
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "resize", USAGE);
	parse_args(argc, argv, &o);

	tg_out out;
	tg_out_open(&out, o.output);
	ts_reader *r = tg_reader_open(o.input, 0);
	const char *name = strcmp(o.input, "-") == 0 ? "stdin" : o.input;
	const ts_header *ih = ts_reader_header(r);
	tg_rs_frame f;
	long cw, ch, ow, oh;
	geometry(&o, ih, name, &f, &cw, &ch, &ow, &oh);

	/* output header: same leading dimensions, new H and W */
	ts_header h;
	if (ts_header_copy(&h, ih))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	tg_extrema_drop(&h.meta);  /* they describe the frames read */
	ts_dtype out_type = o.keep_type ? ih->dtype : o.out_type;
	uint64_t dims[TS_MAX_RANK];
	memcpy(dims, ih->dims, sizeof dims);
	dims[h.rank - 2] = (uint64_t)oh;
	dims[h.rank - 1] = (uint64_t)ow;
	ts_header_shape(&h, out_type, h.rank, dims);
	if (ts_header_check(&h) != TS_OK) {
		char desc[96];
		ts_header_describe(&h, desc, sizeof desc);
		tg_die(TG_EX_DATAERR, "%s: output frames of %s would be over the frame size limit", name,
		       desc);
	}
	if (o.clamp) {
		double lo, hi;
		if (ts_meta_get_range(&ih->meta, &lo, &hi))
			tg_die(TG_EX_DATAERR, "%s: --clamp needs the value range in the metadata (key range)",
			       name);
		f.clamp = 1;
		f.lo = (float)lo;
		f.hi = (float)hi;
	}

	tg_rs_plan plan;
	if (tg_rs_plan_init(&plan, o.filter, (int)cw, (int)ch, (int)ow, (int)oh))
		tg_die(TG_EX_SOFTWARE, "out of memory for the resize tables");
	tg_cl *cl = tg_clx_init();
	tg_rs_cl *s;
	tg_clx_check(tg_rs_cl_create(&s, cl, &plan, &f));

	ts_writer *w = tg_writer_open(&out, &h, o.zstd);
	size_t out_n = (size_t)ts_frame_elems(&h);
	void *conv = out_type == TS_F32 ? NULL : tg_malloc((size_t)ts_frame_bytes(&h));
	void *in;
	tg_clx_check(tg_rs_cl_input(s, &in));
	int have = tg_read_frame(r, in);
	while (have) {
		tg_clx_check(tg_rs_cl_run(s));
		/* The next frame is read while the kernels work on this one; a
		 * bad next frame is reported after this one is written. */
		tg_clx_check(tg_rs_cl_input(s, &in));
		ts_status rst = ts_read_frame(r, in);
		have = rst == TS_OK;
		const float *res;
		tg_clx_check(tg_rs_cl_output(s, &res));
		if (conv) {
			ts_convert_from_f32(out_type, res, conv, out_n);
			tg_write_frame(w, conv);
		} else {
			tg_write_frame(w, res);
		}
		tg_clx_check(tg_rs_cl_release_output(s));
		tg_progress("frame %llu", (unsigned long long)ts_writer_frames(w));
		if (rst != TS_OK && rst != TS_END)
			tg_die(ts_exit_status(rst), "%s", ts_reader_error(r));
	}
	tg_progress_done();
	tg_writer_close(w, &out);
	tg_rs_cl_free(s);
	tg_rs_plan_free(&plan);
	free(conv);
	ts_header_free(&h);
	ts_reader_close(r);
	return 0;
}
