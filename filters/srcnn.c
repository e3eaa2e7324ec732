/* srcnn: trains the SRCNN super-resolution network on a stream of
 * high-resolution frames and applies it to upscaled frames (srcnn(1)).
 *
 * The network (libstream/sr/srcnn.h) refines an image that was already
 * upscaled by bicubic interpolation; it never changes the size.  Training
 * follows SRCNN-PyTorch (seed 000 section 5.3, anchors section 3): inputs
 * made by an antialiased bicubic downscale by the scale factor and a
 * bicubic upscale back (Pillow's filter, resample.h), 33x33 windows at
 * stride 14 each cropped at random to the patch size, MSE loss, SGD with
 * momentum 0.9, learning rate 1e-4 with the reconstruction layer at a
 * tenth of it, weight decay 1e-4; validation PSNR and SSIM every epoch,
 * the best checkpoint kept, early stopping on the validation MSE.
 *
 * Values: the network sees every frame mapped from its data range [lo, hi]
 * (metadata key "range", else [0, 1] for floats and the type's range for
 * integers) onto [0, 1], as SRCNN-PyTorch divides 8-bit images by 255;
 * apply maps its results back into the input's range. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clip.h"
#include "metrics.h"
#include "nn/ckpt.h"
#include "nn/nn.h"
#include "nn/optim.h"
#include "resample.h"
#include "sr/srcnn.h"

#define USAGE "srcnn train [-q] [--adam] [--arch 9-1-5|9-5-5] [--batch N] [--epochs N] " \
	"[--last FILE] [--log FILE] [--lr LR] [--min-delta D] [--pairs FILE] [--patch N] " \
	"[--patience N] [--resume] [--scale S] [--seed N] [--steps N] [--time SECONDS] " \
	"[--val FRAC|FILE] [--wd WD] -o ckpt [file]\n" \
	"       srcnn apply [-q] [--clamp] [--tile N] [--upscale S] [-o output] [-z level] " \
	"ckpt [file]"

#define WINDOW 33    /* SRCNN's sub-images: 33x33 at stride 14 */
#define STRIDE 14
#define LAST_LR_FACTOR 0.1   /* reconstruction layer: a tenth of the rate (Dong et al.) */

/* ---- frames in memory ---- */

struct images {
	int n, H, W;
	float *px;           /* n * H * W, each mapped onto [0, 1] */
	double lo, hi;       /* the data range the values were mapped from */
};

static float *frame(const struct images *im, int i)
{
	return im->px + (size_t)i * im->H * im->W;
}

/* The data range of a stream: metadata "range", else by type. */
static void data_range(const ts_header *h, double *lo, double *hi)
{
	if (ts_meta_get_range(&h->meta, lo, hi) == 0 && *hi > *lo)
		return;
	switch (h->dtype) {
	case TS_U8: *lo = 0; *hi = 255; break;
	case TS_U16: *lo = 0; *hi = 65535; break;
	case TS_I16: *lo = -32768; *hi = 32767; break;
	default: *lo = 0; *hi = 1; break;
	}
}

static void check_rank2(const ts_header *h, const char *name)
{
	if (h->rank != 2) {
		char desc[96];
		ts_header_describe(h, desc, sizeof desc);
		tg_die(TG_EX_DATAERR, "%s: frames are %s: srcnn needs single-channel HxW frames", name,
		       desc);
	}
}

static void to_unit(const ts_header *h, const void *raw, float *dst, size_t n, double lo,
                    double hi)
{
	ts_convert_to_f32(h->dtype, raw, dst, n);
	double s = 1.0 / (hi - lo);
	for (size_t i = 0; i < n; i++)
		dst[i] = (float)((dst[i] - lo) * s);
}

static void read_images(const char *path, struct images *im)
{
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	ts_reader *r = tg_reader_open(path, 0);
	const ts_header *h = ts_reader_header(r);
	check_rank2(h, name);
	memset(im, 0, sizeof *im);
	im->H = (int)h->dims[0];
	im->W = (int)h->dims[1];
	data_range(h, &im->lo, &im->hi);
	size_t n = (size_t)im->H * im->W, cap = 0;
	void *raw = tg_malloc((size_t)ts_frame_bytes(h));
	while (tg_read_frame(r, raw)) {
		if ((size_t)im->n == cap) {
			cap = cap ? 2 * cap : 16;
			im->px = realloc(im->px, cap * n * sizeof(float));
			if (!im->px)
				tg_die(TG_EX_SOFTWARE, "%s: out of memory for %zu frames", name, cap);
		}
		to_unit(h, raw, frame(im, im->n), n, im->lo, im->hi);
		im->n++;
	}
	free(raw);
	ts_reader_close(r);
	if (im->n == 0)
		tg_die(TG_EX_DATAERR, "%s: no frames", name);
}

/* Bicubic (Pillow, antialiased) from iw x ih to ow x oh. */
static void bicubic(const float *src, int iw, int ih, float *dst, int ow, int oh)
{
	tg_rs_plan p;
	if (tg_rs_plan_init(&p, TG_RS_BICUBIC, iw, ih, ow, oh))
		tg_die(TG_EX_SOFTWARE, "out of memory for the resampling tables");
	float *tmp = tg_malloc(tg_rs_tmp_elems(&p) * sizeof *tmp + 1);
	tg_rs_ref_plane(&p, src, (size_t)iw, dst, tmp);
	free(tmp);
	tg_rs_plan_free(&p);
}

/* ---- options ---- */

struct opts {
	/* train */
	int mid, adam, batch, patch, resume, scale, epochs_set;
	long epochs, patience, steps, seed;
	double lr, wd, min_delta, time_budget, val_frac;
	const char *val_file, *pairs, *log, *last, *ckpt, *input, *output;
	/* apply */
	int clamp, tile, upscale, zstd;
};

enum { OPT_ADAM = 256, OPT_ARCH, OPT_BATCH, OPT_EPOCHS, OPT_LAST, OPT_LOG, OPT_LR, OPT_MIN_DELTA,
       OPT_PAIRS, OPT_PATCH, OPT_PATIENCE, OPT_RESUME, OPT_SCALE, OPT_SEED, OPT_STEPS, OPT_TIME,
       OPT_VAL, OPT_WD, OPT_CLAMP, OPT_TILE, OPT_UPSCALE };

static void parse_train(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "adam", no_argument, NULL, OPT_ADAM },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "epochs", required_argument, NULL, OPT_EPOCHS },
		{ "last", required_argument, NULL, OPT_LAST },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "lr", required_argument, NULL, OPT_LR },
		{ "min-delta", required_argument, NULL, OPT_MIN_DELTA },
		{ "pairs", required_argument, NULL, OPT_PAIRS },
		{ "patch", required_argument, NULL, OPT_PATCH },
		{ "patience", required_argument, NULL, OPT_PATIENCE },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "steps", required_argument, NULL, OPT_STEPS },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "val", required_argument, NULL, OPT_VAL },
		{ "wd", required_argument, NULL, OPT_WD },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	o->mid = 5;
	o->batch = 16;
	o->patch = 32;
	o->scale = 2;
	o->epochs = 1000;
	o->patience = 20;
	o->min_delta = 1e-5;
	o->lr = -1;
	o->wd = 1e-4;
	o->seed = 0;
	while ((c = getopt_long(argc, argv, ":hqo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'q': tg_set_quiet(1); break;
		case 'o': o->ckpt = optarg; break;
		case OPT_ADAM: o->adam = 1; break;
		case OPT_ARCH:
			if ((o->mid = sr_arch_parse(optarg)) < 0)
				tg_usage_error("bad value for --arch: '%s' (9-1-5 or 9-5-5)", optarg);
			break;
		case OPT_BATCH: o->batch = (int)tg_opt_long("--batch", optarg, 1, 4096); break;
		case OPT_EPOCHS: o->epochs = tg_opt_long("--epochs", optarg, 1, 100000000); break;
		case OPT_LAST: o->last = optarg; break;
		case OPT_LOG: o->log = optarg; break;
		case OPT_LR:
			o->lr = tg_opt_double("--lr", optarg, 0, 10);
			if (!(o->lr > 0))
				tg_usage_error("bad value for --lr: '%s' (above 0)", optarg);
			break;
		case OPT_MIN_DELTA: o->min_delta = tg_opt_double("--min-delta", optarg, 0, 1e30); break;
		case OPT_PAIRS: o->pairs = optarg; break;
		case OPT_PATCH: o->patch = (int)tg_opt_long("--patch", optarg, 8, WINDOW); break;
		case OPT_PATIENCE: o->patience = tg_opt_long("--patience", optarg, 1, 100000000); break;
		case OPT_RESUME: o->resume = 1; break;
		case OPT_SCALE: o->scale = (int)tg_opt_long("--scale", optarg, 2, 8); break;
		case OPT_SEED: o->seed = tg_opt_long("--seed", optarg, 0, 0x7fffffffL); break;
		case OPT_STEPS: o->steps = tg_opt_long("--steps", optarg, 1, 0x7fffffffL); break;
		case OPT_TIME:
			o->time_budget = tg_opt_double("--time", optarg, 0, 1e9);
			if (!(o->time_budget > 0))
				tg_usage_error("bad value for --time: '%s' (seconds above 0)", optarg);
			break;
		case OPT_VAL: {
			double f;
			if (tg_parse_double(optarg, -HUGE_VAL, HUGE_VAL, &f) == 0) {
				if (!(f > 0 && f < 1))
					tg_usage_error("bad value for --val: '%s' (a fraction between 0 and 1, "
					               "or a file)", optarg);
				o->val_frac = f;
				o->val_file = NULL;
			} else {
				o->val_file = optarg;
				o->val_frac = 0;
			}
			break;
		}
		case OPT_WD: o->wd = tg_opt_double("--wd", optarg, 0, 1); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	o->input = optind < argc ? argv[optind++] : "-";
	if (optind < argc)
		tg_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->ckpt)
		tg_usage_error("train needs -o ckpt");
	if (strcmp(o->ckpt, "-") == 0)
		tg_usage_error("-o: a checkpoint must be a file, not standard output");
	if (o->lr < 0)
		o->lr = o->adam ? 1e-3 : 1e-4;
	if (o->val_file && o->pairs)
		tg_usage_error("--val FILE makes its inputs from the scale; with --pairs use --val FRAC");
	if (o->pairs && strcmp(o->pairs, "-") == 0 && strcmp(o->input, "-") == 0)
		tg_usage_error("--pairs and the input cannot both be standard input");
	if (o->val_file && strcmp(o->val_file, "-") == 0 && strcmp(o->input, "-") == 0)
		tg_usage_error("--val and the input cannot both be standard input");
}

static void parse_apply(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "clamp", no_argument, NULL, OPT_CLAMP },
		{ "tile", required_argument, NULL, OPT_TILE },
		{ "upscale", required_argument, NULL, OPT_UPSCALE },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "zstd", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	o->tile = 256;
	o->upscale = 1;
	o->output = "-";
	while ((c = getopt_long(argc, argv, ":hqo:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'q': tg_set_quiet(1); break;
		case 'o': o->output = optarg; break;
		case 'z': o->zstd = (int)tg_opt_long("-z", optarg, 0, 19); break;
		case OPT_CLAMP: o->clamp = 1; break;
		case OPT_TILE: o->tile = (int)tg_opt_long("--tile", optarg, 16, 8192); break;
		case OPT_UPSCALE: o->upscale = (int)tg_opt_long("--upscale", optarg, 1, 16); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		tg_usage_error("apply needs a checkpoint");
	o->ckpt = argv[optind++];
	o->input = optind < argc ? argv[optind++] : "-";
	if (optind < argc)
		tg_usage_error("unexpected argument '%s'", argv[optind]);
	if (strcmp(o->ckpt, "-") == 0 && strcmp(o->input, "-") == 0)
		tg_usage_error("the checkpoint and the input cannot both be standard input");
}

/* ---- device and checkpoints ---- */

static nn_ctx *device(void)
{
	static nn_ctx ctx;
	tg_cl *cl = tg_clx_init();
	if (nn_ctx_init(&ctx, cl) != TG_CL_OK)
		tg_die(TG_EX_UNAVAILABLE, "OpenCL: %s", nn_error());
	return &ctx;
}

static void nn_check(int st, const char *what)
{
	if (st != TG_CL_OK)
		tg_die(TG_EX_SOFTWARE, "%s: %s", what, nn_error());
}

/* The architecture a checkpoint was saved with (its header's srcnn.arch). */
static int ckpt_arch(const char *path)
{
	ts_reader *r;
	int fd = tg_open_in(path);
	ts_status st = ts_reader_open(&r, fd, path, TS_R_SEGMENTS);
	if (st)
		tg_die(ts_exit_status(st), "%s: not a checkpoint: %s", path, ts_strerror(st));
	const ts_header *h = ts_reader_header(r);
	const char *kind = ts_meta_get(&h->meta, "ckpt.kind");
	const char *arch = ts_meta_get(&h->meta, "srcnn.arch");
	if (!kind || strcmp(kind, "srcnn") != 0)
		tg_die(TG_EX_DATAERR, "%s: not an srcnn checkpoint (kind '%s')", path,
		       kind ? kind : "none");
	int mid = arch ? sr_arch_parse(arch) : -1;
	if (mid < 0)
		tg_die(TG_EX_DATAERR, "%s: unknown architecture '%s'", path, arch ? arch : "none");
	ts_reader_close(r);
	return mid;
}

/* ---- apply ---- */

static int cmd_apply(int argc, char **argv)
{
	struct opts o;
	memset(&o, 0, sizeof o);
	parse_apply(argc, argv, &o);
	tg_out out;
	tg_out_open(&out, o.output);
	int mid = ckpt_arch(o.ckpt);
	ts_reader *r = tg_reader_open(o.input, 0);
	const char *name = strcmp(o.input, "-") == 0 ? "stdin" : o.input;
	const ts_header *ih = ts_reader_header(r);
	check_rank2(ih, name);
	int H = (int)ih->dims[0], W = (int)ih->dims[1];
	if ((double)H * o.upscale > TS_MAX_DIM || (double)W * o.upscale > TS_MAX_DIM ||
	    (double)H * W * o.upscale * o.upscale > 1e12)
		tg_die(TG_EX_DATAERR, "%s: %dx%d frames upscaled by %d are too large", name, H, W,
		       o.upscale);
	int OH = H * o.upscale, OW = W * o.upscale;
	double lo, hi;
	data_range(ih, &lo, &hi);

	nn_ctx *ctx = device();
	sr_model m;
	nn_check(sr_model_init(ctx, &m, mid), "model");
	nn_ckpt c;
	memset(&c, 0, sizeof c);
	c.kind = "srcnn";
	c.arena = &m.arena;
	int cst = nn_ckpt_load(ctx, o.ckpt, &c);
	if (cst != NN_CKPT_OK)
		tg_die(nn_ckpt_exit_status(cst), "%s: %s", o.ckpt, nn_error());
	int halo = sr_halo(mid);
	int side = o.tile + 2 * halo;
	sr_ws ws;
	/* frames that fit one tile with its halo run whole */
	if (OH <= side && OW <= side)
		nn_check(sr_ws_alloc(ctx, &ws, 1, OH, OW, 0), "workspace");
	else
		nn_check(sr_ws_alloc(ctx, &ws, 1, side, side, 0), "workspace");

	ts_header h;
	if (ts_header_copy(&h, ih))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	tg_extrema_drop(&h.meta);  /* they describe the frames read */
	uint64_t dims[TS_MAX_RANK] = { (uint64_t)OH, (uint64_t)OW };
	ts_header_shape(&h, TS_F32, 2, dims);
	/* the output is in the input's units: say which range they have */
	if (ts_meta_set_range(&h.meta, lo, hi) != TS_OK)
		tg_die(TG_EX_SOFTWARE, "out of memory");
	ts_writer *w = tg_writer_open(&out, &h, o.zstd);
	size_t in_n = (size_t)H * W, out_n = (size_t)OH * OW;
	void *raw = tg_malloc((size_t)ts_frame_bytes(ih));
	float *x = tg_malloc(in_n * sizeof *x), *up = o.upscale > 1 ? tg_malloc(out_n * sizeof *up) : x;
	float *y = tg_malloc(out_n * sizeof *y);
	while (tg_read_frame(r, raw)) {
		to_unit(ih, raw, x, in_n, lo, hi);
		if (o.upscale > 1)
			bicubic(x, W, H, up, OW, OH);
		nn_check(sr_apply(ctx, &m, &ws, o.tile, up, OH, OW, y), "inference");
		for (size_t i = 0; i < out_n; i++) {
			double v = y[i] * (hi - lo) + lo;
			if (o.clamp)
				v = v < lo ? lo : v > hi ? hi : v;
			y[i] = (float)v;
		}
		tg_write_frame(w, y);
		tg_progress("frame %llu", (unsigned long long)ts_writer_frames(w));
	}
	tg_progress_done();
	tg_writer_close(w, &out);
	ts_reader_close(r);
	ts_header_free(&h);
	sr_ws_free(&ws);
	sr_model_free(&m);
	free(raw);
	free(x);
	if (up != x)
		free(up);
	free(y);
	return 0;
}

/* ---- training ---- */

static volatile sig_atomic_t *stop_signal;  /* tg_catch_stop */

struct pos {
	int frame, y, x;
};

struct val {
	double mse, psnr, ssim;
};

struct state {
	long epoch;           /* epochs completed */
	long step;            /* next step within the current epoch */
	long total_steps;
	double best_psnr, best_ssim, best_mse;
	long wait;            /* epochs without an MSE improvement */
	int finished;         /* early stopping or the epoch limit was reached */
};

/* Crops the HR frames to a multiple of the scale (as SRCNN-PyTorch's
 * "GTmod" images) and makes the bicubic down-up inputs. */
static void make_inputs(struct images *hr, struct images *lr, int s, const char *name, int least)
{
	int H = hr->H - hr->H % s, W = hr->W - hr->W % s;
	if (H < least || W < least)
		tg_die(TG_EX_DATAERR, "%s: %dx%d frames: need at least %dx%d", name, hr->H, hr->W,
		       least, least);
	if (H != hr->H || W != hr->W) {
		for (int i = 0; i < hr->n; i++)
			for (int y = 0; y < H; y++)
				memmove(hr->px + ((size_t)i * H + y) * W,
				        hr->px + ((size_t)i * hr->H + y) * hr->W, (size_t)W * sizeof(float));
		hr->H = H;
		hr->W = W;
	}
	*lr = *hr;
	lr->px = tg_malloc((size_t)hr->n * H * W * sizeof(float));
	float *small = tg_malloc((size_t)(H / s) * (W / s) * sizeof(float));
	for (int i = 0; i < hr->n; i++) {
		bicubic(frame(hr, i), W, H, small, W / s, H / s);
		bicubic(small, W / s, H / s, frame(lr, i), W, H);
	}
	free(small);
}

/* Mean MSE (whole frames) and mean PSNR and SSIM (frames cropped by the
 * scale at every border, as SRCNN-PyTorch) of a against the references;
 * values on [0, 1], so the data range is 1. */
static struct val measure(const float *a, const struct images *ref, int n0, int n, int border)
{
	struct val v = { 0, 0, 0 };
	size_t px = (size_t)ref->H * ref->W;
	int ch = ref->H - 2 * border, cw = ref->W - 2 * border;
	float *ca = tg_malloc((size_t)ch * cw * sizeof *ca), *cb = tg_malloc((size_t)ch * cw * sizeof *cb);
	for (int i = 0; i < n; i++) {
		const float *x = a + (size_t)i * px, *t = frame(ref, n0 + i);
		v.mse += tg_mse_f32(x, t, px);
		for (int y = 0; y < ch; y++) {
			memcpy(ca + (size_t)y * cw, x + (size_t)(y + border) * ref->W + border, cw * sizeof(float));
			memcpy(cb + (size_t)y * cw, t + (size_t)(y + border) * ref->W + border, cw * sizeof(float));
		}
		double s;
		v.psnr += fmin(tg_psnr_from_mse(tg_mse_f32(ca, cb, (size_t)ch * cw), 1.0), 100.0);
		if (tg_ssim_ref(ca, cb, (size_t)ch, (size_t)cw, (size_t)cw, 1.0, &s))
			tg_die(TG_EX_SOFTWARE, "SSIM failed (out of memory)");
		v.ssim += s;
	}
	free(ca);
	free(cb);
	v.mse /= n;
	v.psnr /= n;
	v.ssim /= n;
	return v;
}

struct trainer {
	struct opts *o;
	nn_ctx *ctx;
	sr_model m;
	nn_optim opt;
	sr_ws ws, vws;
	struct images hr, lr, vhr, vlr;
	int ntrain;           /* training frames of hr/lr (the rest validate with --val FRAC) */
	struct pos *pos;
	int npos;
	float *vout;          /* validation outputs */
	char *last;
	FILE *log;
	struct state s;
	double t0, elapsed0;  /* elapsed0: seconds of earlier runs (resume) */
};

static void save(struct trainer *t, const char *path)
{
	ts_meta meta;
	ts_meta_init(&meta);
	int bad = 0;
	bad |= ts_meta_set(&meta, "srcnn.arch", sr_arch_name(t->m.mid)) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.scale", "%d", t->o->scale) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.seed", "%ld", t->o->seed) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.batch", "%d", t->o->batch) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.patch", "%d", t->o->patch) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.windows", "%d", t->npos) != TS_OK;
	bad |= ts_meta_set(&meta, "srcnn.optimizer", t->o->adam ? "adam" : "sgd") != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.epoch", "%ld", t->s.epoch) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.step", "%ld", t->s.step) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.total_steps", "%ld", t->s.total_steps) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.best_psnr", "%.17g", t->s.best_psnr) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.best_ssim", "%.17g", t->s.best_ssim) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.best_mse", "%.17g", t->s.best_mse) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.wait", "%ld", t->s.wait) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.finished", "%d", t->s.finished) != TS_OK;
	bad |= ts_meta_setf(&meta, "srcnn.seconds", "%.3f", t->elapsed0 + tg_now() - t->t0) != TS_OK;
	if (bad)
		tg_die(TG_EX_SOFTWARE, "out of memory");
	nn_ckpt c;
	memset(&c, 0, sizeof c);
	c.kind = "srcnn";
	c.arena = &t->m.arena;
	c.opt[0] = &t->opt;
	c.nopt = 1;
	c.meta = &meta;
	int st = nn_ckpt_save(t->ctx, path, &c);
	if (st != NN_CKPT_OK)
		tg_die(nn_ckpt_exit_status(st), "%s: %s", path, nn_error());
	ts_meta_free(&meta);
}

static long meta_long(const ts_meta *m, const char *key, const char *path)
{
	const char *v = ts_meta_get(m, key);
	long x;
	if (!v || tg_parse_long(v, -0x7fffffffL, 0x7fffffffL, &x))
		tg_die(TG_EX_DATAERR, "%s: no valid %s in the checkpoint", path, key);
	return x;
}

static double meta_double(const ts_meta *m, const char *key, const char *path)
{
	const char *v = ts_meta_get(m, key);
	double x = 0;
	char *end = NULL;
	if (v) {
		errno = 0;
		x = strtod(v, &end);   /* -inf: nothing validated yet */
	}
	if (!v || end == v || *end || errno || isnan(x))
		tg_die(TG_EX_DATAERR, "%s: no valid %s in the checkpoint", path, key);
	return x;
}

static void resume(struct trainer *t)
{
	const char *path = t->last;
	int mid = ckpt_arch(path);
	if (mid != t->m.mid)
		tg_die(TG_EX_USAGE, "%s: checkpoint is %s, --arch says %s", path, sr_arch_name(mid),
		       sr_arch_name(t->m.mid));
	ts_meta meta;
	ts_meta_init(&meta);
	nn_ckpt c;
	memset(&c, 0, sizeof c);
	c.kind = "srcnn";
	c.arena = &t->m.arena;
	c.opt[0] = &t->opt;
	c.nopt = 1;
	c.meta = &meta;
	int st = nn_ckpt_load(t->ctx, path, &c);
	if (st != NN_CKPT_OK)
		tg_die(nn_ckpt_exit_status(st), "%s: %s", path, nn_error());
	struct { const char *key; long want; } same[] = {
		{ "srcnn.scale", t->o->scale }, { "srcnn.seed", t->o->seed },
		{ "srcnn.batch", t->o->batch }, { "srcnn.patch", t->o->patch },
		{ "srcnn.windows", t->npos } };
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
		if (meta_long(&meta, same[i].key, path) != same[i].want)
			tg_die(TG_EX_USAGE, "%s: checkpoint has %s=%ld, this run %ld: resume with the "
			       "same options and data", path, same[i].key, meta_long(&meta, same[i].key, path),
			       same[i].want);
	const char *optname = ts_meta_get(&meta, "srcnn.optimizer");
	if (!optname || strcmp(optname, t->o->adam ? "adam" : "sgd") != 0)
		tg_die(TG_EX_USAGE, "%s: checkpoint was trained with %s: resume with the same optimizer",
		       path, optname ? optname : "an unknown optimizer");
	t->s.epoch = meta_long(&meta, "srcnn.epoch", path);
	t->s.step = meta_long(&meta, "srcnn.step", path);
	t->s.total_steps = meta_long(&meta, "srcnn.total_steps", path);
	t->s.best_psnr = meta_double(&meta, "srcnn.best_psnr", path);
	t->s.best_ssim = meta_double(&meta, "srcnn.best_ssim", path);
	t->s.best_mse = meta_double(&meta, "srcnn.best_mse", path);
	t->s.wait = meta_long(&meta, "srcnn.wait", path);
	t->elapsed0 = meta_double(&meta, "srcnn.seconds", path);
	ts_meta_free(&meta);
}

/* The epoch's order of windows and crop offsets: a function of the seed and
 * the epoch only, so a resumed run draws what an uninterrupted one does. */
static void epoch_plan(const struct trainer *t, long epoch, int *order, int *off)
{
	nn_rng r;
	nn_rng_init(&r, (uint64_t)t->o->seed * 1000003u + (uint64_t)epoch + 1);
	uint32_t *u = tg_malloc((size_t)t->npos * 3 * sizeof *u);
	nn_rng_words(&r, u, (size_t)t->npos * 3);
	for (int i = 0; i < t->npos; i++)
		order[i] = i;
	for (int i = t->npos - 1; i > 0; i--) {   /* Fisher-Yates */
		int j = (int)(u[i] % (uint32_t)(i + 1));
		int k = order[i];
		order[i] = order[j];
		order[j] = k;
	}
	int span = WINDOW - t->o->patch + 1;
	for (int i = 0; i < t->npos; i++) {
		off[2 * i] = (int)(u[t->npos + 2 * i] % (uint32_t)span);
		off[2 * i + 1] = (int)(u[t->npos + 2 * i + 1] % (uint32_t)span);
	}
	free(u);
}

static struct val validate(struct trainer *t)
{
	int n = t->vhr.n;
	size_t px = (size_t)t->vhr.H * t->vhr.W;
	for (int i = 0; i < n; i++)
		nn_check(sr_apply(t->ctx, &t->m, &t->vws, 256, frame(&t->vlr, i), t->vhr.H, t->vhr.W,
		                  t->vout + i * px), "validation");
	return measure(t->vout, &t->vhr, 0, n, t->o->scale);
}

static void log_row(struct trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_row(struct trainer *t, const char *fmt, ...)
{
	if (!t->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(t->log, fmt, ap);
	va_end(ap);
	if (fflush(t->log) != 0)
		tg_die(TG_EX_IOERR, "%s: write failed: %s", t->o->log, strerror(errno));
}

static void setup_data(struct trainer *t)
{
	struct opts *o = t->o;
	const char *name = strcmp(o->input, "-") == 0 ? "stdin" : o->input;
	read_images(o->input, &t->hr);
	if (o->pairs) {
		read_images(o->pairs, &t->lr);
		if (t->lr.n != t->hr.n || t->lr.H != t->hr.H || t->lr.W != t->hr.W)
			tg_die(TG_EX_DATAERR, "%s: %d frames of %dx%d, but %s has %d of %dx%d", o->pairs,
			       t->lr.n, t->lr.H, t->lr.W, name, t->hr.n, t->hr.H, t->hr.W);
		if (t->hr.H < WINDOW || t->hr.W < WINDOW)
			tg_die(TG_EX_DATAERR, "%s: %dx%d frames: need at least %dx%d", name, t->hr.H,
			       t->hr.W, WINDOW, WINDOW);
	} else {
		make_inputs(&t->hr, &t->lr, o->scale, name, WINDOW);
	}
	t->ntrain = t->hr.n;
	if (o->val_frac > 0) {
		int nv = (int)ceil(o->val_frac * t->hr.n);
		if (nv >= t->hr.n)
			tg_die(TG_EX_DATAERR, "%s: %d frames: --val %g leaves none to train on", name,
			       t->hr.n, o->val_frac);
		t->ntrain = t->hr.n - nv;
		t->vhr = t->hr;
		t->vlr = t->lr;
		t->vhr.n = t->vlr.n = nv;
		t->vhr.px = frame(&t->hr, t->ntrain);
		t->vlr.px = frame(&t->lr, t->ntrain);
	} else if (o->val_file) {
		read_images(o->val_file, &t->vhr);
		/* validation frames need SSIM's window inside the cropped border */
		make_inputs(&t->vhr, &t->vlr, o->scale, o->val_file, TG_SSIM_WIN + 2 * o->scale);
	}
	if (t->vhr.n && (t->vhr.H - 2 * o->scale < TG_SSIM_WIN || t->vhr.W - 2 * o->scale < TG_SSIM_WIN))
		tg_die(TG_EX_DATAERR, "validation frames of %dx%d are too small for SSIM", t->vhr.H,
		       t->vhr.W);
	/* windows: 33x33 at stride 14, whole windows only */
	int ny = (t->hr.H - WINDOW) / STRIDE + 1, nx = (t->hr.W - WINDOW) / STRIDE + 1;
	if ((double)t->ntrain * ny * nx > 1e9)
		tg_die(TG_EX_DATAERR, "%s: too many training windows", name);
	t->npos = t->ntrain * ny * nx;
	t->pos = tg_malloc((size_t)t->npos * sizeof *t->pos);
	int k = 0;
	for (int i = 0; i < t->ntrain; i++)
		for (int y = 0; y < ny; y++)
			for (int x = 0; x < nx; x++)
				t->pos[k++] = (struct pos){ i, y * STRIDE, x * STRIDE };
}

static void setup_model(struct trainer *t)
{
	struct opts *o = t->o;
	t->ctx = device();
	nn_check(sr_model_init(t->ctx, &t->m, o->mid), "model");
	nn_check(nn_optim_init(t->ctx, &t->opt, o->adam ? NN_OPT_ADAM : NN_OPT_SGD, &t->m.arena),
	         "optimizer");
	t->opt.group[0].lr = o->lr;
	t->opt.group[0].weight_decay = o->wd;
	if (!o->adam) {
		t->opt.momentum = 0.9;
		nn_check(nn_optim_state_alloc(t->ctx, &t->opt), "optimizer");
	}
	if (nn_optim_assign(&t->opt, "reconstruction.*", 1) < 0)
		tg_die(TG_EX_SOFTWARE, "optimizer: %s", nn_error());
	t->opt.group[1].lr = o->lr * LAST_LR_FACTOR;
	t->opt.group[1].weight_decay = o->wd;
	int B = o->batch < t->npos ? o->batch : t->npos;
	nn_check(sr_ws_alloc(t->ctx, &t->ws, B, o->patch, o->patch, 1), "workspace");
	if (t->vhr.n) {
		int side = 256 + 2 * sr_halo(o->mid);
		nn_check(sr_ws_alloc(t->ctx, &t->vws, 1, t->vhr.H < side ? t->vhr.H : side,
		                     t->vhr.W < side ? t->vhr.W : side, 0), "workspace");
		if (t->vhr.H > side || t->vhr.W > side) {
			sr_ws_free(&t->vws);
			nn_check(sr_ws_alloc(t->ctx, &t->vws, 1, side, side, 0), "workspace");
		}
		t->vout = tg_malloc((size_t)t->vhr.n * t->vhr.H * t->vhr.W * sizeof(float));
	}
	t->s.best_psnr = -HUGE_VAL;
	t->s.best_ssim = -HUGE_VAL;
	t->s.best_mse = HUGE_VAL;
	if (o->resume) {
		resume(t);
	} else {
		nn_rng r;
		nn_rng_init(&r, (uint64_t)o->seed);
		nn_check(sr_model_init_weights(t->ctx, &t->m, &r), "initialisation");
	}
}

/* One optimizer step on `B` windows starting at order[k]. */
static double train_step(struct trainer *t, const int *order, const int *off, long k, int B)
{
	int P = t->o->patch, W = t->hr.W;
	size_t pp = (size_t)P * P;
	float *x = tg_malloc((size_t)B * pp * sizeof *x), *y = tg_malloc((size_t)B * pp * sizeof *y);
	for (int b = 0; b < B; b++) {
		int i = order[k + b];
		const struct pos *p = &t->pos[i];
		int y0 = p->y + off[2 * i], x0 = p->x + off[2 * i + 1];
		const float *in = frame(&t->lr, p->frame), *tg = frame(&t->hr, p->frame);
		for (int r = 0; r < P; r++) {
			memcpy(x + b * pp + (size_t)r * P, in + (size_t)(y0 + r) * W + x0, P * sizeof *x);
			memcpy(y + b * pp + (size_t)r * P, tg + (size_t)(y0 + r) * W + x0, P * sizeof *y);
		}
	}
	double loss;
	nn_check(nn_write(t->ctx, t->ws.x, x, B * pp), "upload");
	nn_check(nn_write(t->ctx, t->ws.t, y, B * pp), "upload");
	nn_check(nn_optim_zero_grad(t->ctx, &t->opt), "zero_grad");
	nn_check(sr_mse_step(t->ctx, &t->m, &t->ws, B, P, P, 1, &loss), "training step");
	nn_check(nn_optim_step(t->ctx, &t->opt), "optimizer step");
	free(x);
	free(y);
	return loss;
}

static int cmd_train(int argc, char **argv)
{
	struct opts o;
	memset(&o, 0, sizeof o);
	parse_train(argc, argv, &o);
	struct trainer t;
	memset(&t, 0, sizeof t);
	t.o = &o;
	if (o.last) {
		t.last = strdup(o.last);
		if (!t.last)
			tg_die(TG_EX_SOFTWARE, "out of memory");
	} else {
		size_t ln = strlen(o.ckpt) + 8;
		t.last = tg_malloc(ln);
		snprintf(t.last, ln, "%s.last", o.ckpt);
	}
	if (strcmp(t.last, o.ckpt) == 0)
		tg_usage_error("--last names the checkpoint of -o");
	if (o.resume && access(t.last, R_OK) != 0)
		tg_die(TG_EX_NOINPUT, "%s: cannot resume: %s", t.last, strerror(errno));
	setup_data(&t);
	setup_model(&t);
	if (o.log) {
		t.log = fopen(o.log, o.resume ? "a" : "w");
		if (!t.log)
			tg_die(TG_EX_IOERR, "%s: %s", o.log, strerror(errno));
		if (fseek(t.log, 0, SEEK_END) != 0 || ftell(t.log) == 0)
			log_row(&t, "epoch,steps,seconds,train_loss,val_mse,val_psnr,val_ssim,best\n");
	}
	stop_signal = tg_catch_stop();
	t.t0 = tg_now();

	int B = t.ws.B;
	long steps_per_epoch = t.npos / B;
	if (t.vhr.n && !o.resume) {
		struct val v = measure(t.vlr.px, &t.vhr, 0, t.vhr.n, o.scale);
		fprintf(stderr, "srcnn: %d training frames (%d windows), %d validation frames; "
		        "bicubic: PSNR %.3f dB, SSIM %.4f, MSE %.4g\n", t.ntrain, t.npos, t.vhr.n,
		        v.psnr, v.ssim, v.mse);
		log_row(&t, "0,0,0,,%.9g,%.6f,%.6f,bicubic\n", v.mse, v.psnr, v.ssim);
	}
	int *order = tg_malloc((size_t)t.npos * sizeof *order);
	int *off = tg_malloc((size_t)t.npos * 2 * sizeof *off);
	int stopped = 0;   /* by a signal, --time or --steps */
	if (t.s.epoch >= o.epochs || (t.vhr.n && t.s.wait >= o.patience))
		t.s.finished = 1;
	while (!t.s.finished && !stopped) {
		epoch_plan(&t, t.s.epoch, order, off);
		double sum = 0;
		long nsum = 0;
		while (t.s.step < steps_per_epoch) {
			sum += train_step(&t, order, off, t.s.step * B, B);
			nsum++;
			t.s.step++;
			t.s.total_steps++;
			tg_progress("epoch %ld step %ld/%ld loss %.4g", t.s.epoch + 1, t.s.step,
			            steps_per_epoch, sum / nsum);
			if (*stop_signal || (o.time_budget > 0 && tg_now() - t.t0 >= o.time_budget) ||
			    (o.steps > 0 && t.s.total_steps >= o.steps)) {
				stopped = 1;
				break;
			}
		}
		if (t.s.step < steps_per_epoch)
			break;   /* interrupted inside the epoch: saved below, resumed there */
		t.s.epoch++;
		t.s.step = 0;
		double secs = t.elapsed0 + tg_now() - t.t0;
		if (t.vhr.n) {
			struct val v = validate(&t);
			int best = v.psnr > t.s.best_psnr ||
			           (v.psnr == t.s.best_psnr && v.ssim > t.s.best_ssim);
			if (best) {
				t.s.best_psnr = v.psnr;
				t.s.best_ssim = v.ssim;
			}
			if (v.mse < t.s.best_mse - o.min_delta) {
				t.s.best_mse = v.mse;
				t.s.wait = 0;
			} else {
				t.s.wait++;
			}
			tg_progress_done();
			log_row(&t, "%ld,%ld,%.3f,%.9g,%.9g,%.6f,%.6f,%d\n", t.s.epoch, t.s.total_steps,
			        secs, nsum ? sum / nsum : NAN, v.mse, v.psnr, v.ssim, best);
			if (t.s.wait >= o.patience)
				t.s.finished = 1;
			if (t.s.epoch >= o.epochs)
				t.s.finished = 1;
			if (best)
				save(&t, o.ckpt);
		} else {
			log_row(&t, "%ld,%ld,%.3f,%.9g,,,,\n", t.s.epoch, t.s.total_steps, secs,
			        nsum ? sum / nsum : NAN);
			if (t.s.epoch >= o.epochs)
				t.s.finished = 1;
			save(&t, o.ckpt);
		}
		save(&t, t.last);
		if (*stop_signal)
			stopped = 1;
	}
	tg_progress_done();
	if (t.s.step != 0 || (stopped && t.s.total_steps == 0))
		save(&t, t.last);
	if (t.vhr.n && access(o.ckpt, F_OK) != 0)
		save(&t, o.ckpt);   /* no epoch finished yet: the current weights */
	else if (!t.vhr.n && t.s.step != 0)
		save(&t, o.ckpt);
	const char *why = *stop_signal ? "stopped by a signal" : stopped ? "stopped (--time or --steps)"
	                  : t.s.wait >= o.patience && t.vhr.n ? "early stopping" : "epoch limit";
	if (t.vhr.n)
		fprintf(stderr, "srcnn: %s after epoch %ld (%ld steps): best PSNR %.3f dB, SSIM %.4f\n",
		        why, t.s.epoch, t.s.total_steps, t.s.best_psnr, t.s.best_ssim);
	else
		fprintf(stderr, "srcnn: %s after epoch %ld (%ld steps)\n", why, t.s.epoch,
		        t.s.total_steps);
	if (t.log && fclose(t.log) != 0)
		tg_die(TG_EX_IOERR, "%s: write failed: %s", o.log, strerror(errno));
	free(order);
	free(off);
	return 0;
}

int main(int argc, char **argv)
{
	tg_init(argc, argv, "srcnn", USAGE);
	opterr = 0;
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		tg_help();
	if (argc < 2)
		tg_usage_error("a command is required (train or apply)");
	if (strcmp(argv[1], "train") == 0)
		return cmd_train(argc - 1, argv + 1);
	if (strcmp(argv[1], "apply") == 0)
		return cmd_apply(argc - 1, argv + 1);
	tg_usage_error("unknown command '%s' (train or apply)", argv[1]);
}
