/* ganrun: train GANs on streams of 1-channel frames, sample from their
 * checkpoints, describe checkpoints (ganrun(1)).  The models and the
 * training loop are in libstream/gan. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gan/gan.h"
#include "nn/ckpt.h"

#define USAGE \
	"ganrun train [-q] [--model name] [--size n] [--range lo,hi] [--lr x] [--lr-d x] " \
	"[--beta1 x] [--beta2 x] [--batch n] [--latent n] [--n-critic n] [--lambda-gp x] " \
	"[--clip x] [--epochs n] [--time t] [--seed n] [--snapshot-every n] " \
	"[--snapshot-dir dir] [--log file] [--checkpoint-every n] [--resume ckpt] -o ckpt " \
	"[file]\n" \
	"       ganrun sample [-q] [-n count] [--seed n] [--batch n] [-o output] ckpt\n" \
	"       ganrun info ckpt"

enum {
	OPT_MODEL = 256, OPT_SIZE, OPT_RANGE, OPT_LR, OPT_LR_D, OPT_BETA1, OPT_BETA2, OPT_BATCH,
	OPT_LATENT, OPT_NCRITIC, OPT_LAMBDA, OPT_CLIP, OPT_EPOCHS, OPT_TIME, OPT_SEED,
	OPT_SNAP_EVERY, OPT_SNAP_DIR, OPT_LOG, OPT_CKPT_EVERY, OPT_RESUME
};

static int quiet;

/* "90", "90s", "30m", "4h", "1.5d" in seconds, above 0. */
static double parse_duration(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	double mul = 1;
	if (end != s && *end && !end[1]) {
		switch (*end) {
		case 's': mul = 1; end++; break;
		case 'm': mul = 60; end++; break;
		case 'h': mul = 3600; end++; break;
		case 'd': mul = 86400; end++; break;
		default: break;
		}
	}
	if (end == s || *end || errno || !(v > 0) || !isfinite(v * mul) || v * mul > 1e9)
		tg_usage_error("bad value for %s: '%s' (a duration above 0: 90, 90s, 30m, 4h, 2d)", opt,
		               s);
	return v * mul;
}

static tg_cl *device(void)
{
	return tg_clx_init();
}

static void nn_check(int st, const char *what)
{
	if (st != TG_CL_OK)
		tg_die(TG_EX_SOFTWARE, "%s: %s", what, nn_error());
}

/* ---- train ---- */

struct topts {
	const char *model, *input, *ckpt, *resume, *snap_dir, *log;
	int size, have_range;
	double lo, hi;
	gan_hparams set;          /* values given on the command line */
	int given[16];            /* which of them (OPT_LR - OPT_LR ...) */
	long long epochs;
	double time_budget;
	long snap_every, ckpt_every;
	unsigned long long seed;
	int have_seed;
};

#define GIVEN(o, opt) ((o)->given[(opt) - OPT_LR])

static void parse_train(int argc, char **argv, struct topts *o)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "range", required_argument, NULL, OPT_RANGE },
		{ "lr", required_argument, NULL, OPT_LR },
		{ "lr-d", required_argument, NULL, OPT_LR_D },
		{ "beta1", required_argument, NULL, OPT_BETA1 },
		{ "beta2", required_argument, NULL, OPT_BETA2 },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "latent", required_argument, NULL, OPT_LATENT },
		{ "n-critic", required_argument, NULL, OPT_NCRITIC },
		{ "lambda-gp", required_argument, NULL, OPT_LAMBDA },
		{ "clip", required_argument, NULL, OPT_CLIP },
		{ "epochs", required_argument, NULL, OPT_EPOCHS },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "snapshot-every", required_argument, NULL, OPT_SNAP_EVERY },
		{ "snapshot-dir", required_argument, NULL, OPT_SNAP_DIR },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "checkpoint-every", required_argument, NULL, OPT_CKPT_EVERY },
		{ "resume", required_argument, NULL, OPT_RESUME },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	o->model = "wgan-gp";
	o->epochs = 100;
	o->snap_dir = "snapshots";
	gan_hparams *s = &o->set;
	while ((c = getopt_long(argc, argv, ":hqo:", longopts, NULL)) != -1) {
		if (c >= OPT_LR && c <= OPT_CLIP)
			GIVEN(o, c) = 1;
		switch (c) {
		case 'h': tg_help();
		case 'q': tg_set_quiet(1); quiet = 1; break;
		case 'o': o->ckpt = optarg; break;
		case OPT_MODEL: o->model = optarg; break;
		case OPT_SIZE: o->size = (int)tg_opt_long("--size", optarg, 1, 1 << 16); break;
		case OPT_RANGE:
			if (tg_parse_pair(optarg, &o->lo, &o->hi) || !(o->hi > o->lo) || !isfinite(o->lo) ||
			    !isfinite(o->hi))
				tg_usage_error("bad value for --range: '%s' (lo,hi with lo < hi)", optarg);
			o->have_range = 1;
			break;
		case OPT_LR: s->lr_g = tg_opt_double("--lr", optarg, 1e-12, 10); break;
		case OPT_LR_D: s->lr_d = tg_opt_double("--lr-d", optarg, 1e-12, 10); break;
		case OPT_BETA1: s->beta1 = tg_opt_double("--beta1", optarg, 0, 0.999999); break;
		case OPT_BETA2: s->beta2 = tg_opt_double("--beta2", optarg, 0, 0.999999); break;
		case OPT_BATCH: s->batch = (int)tg_opt_long("--batch", optarg, 1, 65536); break;
		case OPT_LATENT: s->latent = (int)tg_opt_long("--latent", optarg, 1, 65536); break;
		case OPT_NCRITIC: s->n_critic = (int)tg_opt_long("--n-critic", optarg, 1, 1000); break;
		case OPT_LAMBDA: s->lambda_gp = tg_opt_double("--lambda-gp", optarg, 0, 1e6); break;
		case OPT_CLIP: s->clip = tg_opt_double("--clip", optarg, 0, 1e6); break;
		case OPT_EPOCHS: o->epochs = tg_opt_long("--epochs", optarg, 1, 1000000000L); break;
		case OPT_TIME: o->time_budget = parse_duration("--time", optarg); break;
		case OPT_SEED:
			o->seed = (unsigned long long)tg_opt_long("--seed", optarg, 0, 0x7fffffffL);
			o->have_seed = 1;
			break;
		case OPT_SNAP_EVERY:
			o->snap_every = tg_opt_long("--snapshot-every", optarg, 1, 1000000000L);
			break;
		case OPT_SNAP_DIR: o->snap_dir = optarg; break;
		case OPT_LOG: o->log = optarg; break;
		case OPT_CKPT_EVERY:
			o->ckpt_every = tg_opt_long("--checkpoint-every", optarg, 1, 1000000000L);
			break;
		case OPT_RESUME: o->resume = optarg; break;
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
	if (!gan_model_kind_find(o->model)) {
		char list[256] = "";
		for (int i = 0; gan_model_kinds[i]; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
			         gan_model_kinds[i]->name);
		tg_usage_error("unknown model '%s' (%s)", o->model, list);
	}
	if (o->resume) {
		for (int k = OPT_LR; k <= OPT_CLIP; k++)
			if (GIVEN(o, k))
				tg_usage_error("--resume takes the model and its hyperparameters from the "
				               "checkpoint: leave out --lr, --batch and the like");
		if (o->have_seed)
			tg_usage_error("--resume continues the checkpoint's random streams: leave out "
			               "--seed");
	}
}

/* Frames of the input mapped onto [-1, 1]: host array of n * size^2. */
static float *read_data(const struct topts *o, int *size_out, long *n_out)
{
	const char *name = strcmp(o->input, "-") == 0 ? "stdin" : o->input;
	ts_reader *r = tg_reader_open(o->input, 0);
	const ts_header *h = ts_reader_header(r);
	char desc[128];
	ts_header_describe(h, desc, sizeof desc);
	int H, W;
	if (h->rank == 2) {
		H = (int)h->dims[0];
		W = (int)h->dims[1];
	} else if (h->rank == 3 && h->dims[0] == 1) {
		H = (int)h->dims[1];
		W = (int)h->dims[2];
	} else {
		tg_die(TG_EX_DATAERR, "%s: frames are %s: ganrun needs 1-channel frames (HxW or 1xHxW)",
		       name, desc);
	}
	if (H != W)
		tg_die(TG_EX_DATAERR, "%s: frames are %dx%d: ganrun needs square frames", name, H, W);
	if (o->size && o->size != H)
		tg_die(TG_EX_DATAERR, "%s: frames are %dx%d, not --size %d (resize them first)", name, H,
		       W, o->size);
	double lo, hi;
	if (o->have_range) {
		lo = o->lo;
		hi = o->hi;
	} else if (ts_meta_get_range(&h->meta, &lo, &hi) != 0 || !(hi > lo)) {
		tg_die(TG_EX_DATAERR, "%s: no value range in the metadata: give --range lo,hi (the "
		       "values that become 0 and 1)", name);
	}
	const gan_model_kind *k = gan_model_kind_find(o->model);
	gan_hparams tmp;
	char why[256];
	memset(&tmp, 0, sizeof tmp);
	if (!o->resume && k->defaults(H, &tmp, why, sizeof why))
		tg_die(TG_EX_DATAERR, "%s: frames are %dx%d: %s", name, H, W, why);
	size_t npix = (size_t)H * W, cap = 0;
	long n = 0;
	float *px = NULL;
	void *raw = tg_malloc((size_t)ts_frame_bytes(h));
	double s = 2.0 / (hi - lo);
	for (;;) {
		if ((size_t)n == cap) {
			cap = cap ? 2 * cap : 64;
			px = realloc(px, cap * npix * sizeof(float));
			if (!px)
				tg_die(TG_EX_SOFTWARE, "%s: out of memory for %zu frames of %dx%d", name, cap,
				       H, W);
		}
		if (!tg_read_frame(r, raw))
			break;
		float *dst = px + (size_t)n * npix;
		ts_convert_to_f32(h->dtype, raw, dst, npix);
		for (size_t i = 0; i < npix; i++)
			dst[i] = (float)((dst[i] - lo) * s - 1.0);
		n++;
	}
	free(raw);
	ts_reader_close(r);
	if (n == 0)
		tg_die(TG_EX_DATAERR, "%s: no frames to train on", name);
	*size_out = H;
	*n_out = n;
	return px;
}

static int cmd_train(int argc, char **argv)
{
	struct topts o;
	memset(&o, 0, sizeof o);
	parse_train(argc, argv, &o);
	/* a checkpoint to resume is checked before the data are read */
	const gan_model_kind *rk = NULL;
	int rsize = 0;
	gan_hparams rhp;
	if (o.resume) {
		char why[256];
		int st = gan_ckpt_peek(o.resume, &rk, &rsize, &rhp, NULL, why, sizeof why);
		if (st != NN_CKPT_OK)
			tg_die(nn_ckpt_exit_status(st), "%s: %s", o.resume, why);
		o.model = rk->name;
	}
	int size;
	long n;
	float *px = read_data(&o, &size, &n);
	if (o.resume && size != rsize)
		tg_die(TG_EX_DATAERR, "%s: frames are %dx%d but checkpoint %s was trained on %dx%d",
		       strcmp(o.input, "-") == 0 ? "stdin" : o.input, size, size, o.resume, rsize,
		       rsize);
	tg_cl *cl = device();
	size_t bytes = (size_t)n * size * size * sizeof(float);
	if (bytes > cl->max_alloc || bytes > cl->global_mem / 2)
		tg_die(TG_EX_DATAERR,
		       "training set of %ld frames of %dx%d needs %.1f MiB on the device, more than "
		       "%s allows (%.1f MiB in one buffer, half of %.1f MiB memory): use fewer frames",
		       n, size, size, bytes / 1048576.0, cl->name, cl->max_alloc / 1048576.0,
		       cl->global_mem / 1048576.0);
	static nn_ctx ctx;
	nn_check(nn_ctx_init(&ctx, cl), "device");
	gan_data d;
	cl_mem xm = nn_alloc(&ctx, (size_t)n * size * size, px);
	if (!xm)
		tg_die(TG_EX_SOFTWARE, "training set of %.1f MiB on the device: %s", bytes / 1048576.0,
		       nn_error());
	free(px);
	d.x = nn_buf_of(xm, 0);
	d.n = n;
	d.size = size;
	gan_model m;
	if (o.resume) {
		int st = gan_ckpt_open(&ctx, o.resume, 0, &m);
		if (st != NN_CKPT_OK)
			tg_die(nn_ckpt_exit_status(st), "%s: %s", o.resume, nn_error());
	} else {
		const gan_model_kind *k = gan_model_kind_find(o.model);
		gan_hparams hp;
		char why[256];
		memset(&hp, 0, sizeof hp);
		k->defaults(size, &hp, why, sizeof why);
		const gan_hparams *s = &o.set;
		if (GIVEN(&o, OPT_LR))
			hp.lr_g = hp.lr_d = s->lr_g;
		if (GIVEN(&o, OPT_LR_D))
			hp.lr_d = s->lr_d;
		if (GIVEN(&o, OPT_BETA1))
			hp.beta1 = s->beta1;
		if (GIVEN(&o, OPT_BETA2))
			hp.beta2 = s->beta2;
		if (GIVEN(&o, OPT_BATCH))
			hp.batch = s->batch;
		if (GIVEN(&o, OPT_LATENT))
			hp.latent = s->latent;
		if (GIVEN(&o, OPT_NCRITIC))
			hp.n_critic = s->n_critic;
		if (GIVEN(&o, OPT_LAMBDA))
			hp.lambda_gp = s->lambda_gp;
		if (GIVEN(&o, OPT_CLIP))
			hp.clip = s->clip;
		hp.seed = o.seed;
		nn_check(gan_model_create(&ctx, k, size, &hp, &m), "model");
	}
	volatile sig_atomic_t *stop = tg_catch_stop();
	gan_train_opts to;
	memset(&to, 0, sizeof to);
	to.epochs = o.epochs;
	to.time_budget = o.time_budget;
	to.snapshot_every = (int)(o.snap_every > 0x7fffffff ? 0x7fffffff : o.snap_every);
	to.snapshot_dir = o.snap_dir;
	to.log_path = o.log;
	to.checkpoint_every = (int)(o.ckpt_every > 0x7fffffff ? 0x7fffffff : o.ckpt_every);
	to.ckpt_path = o.ckpt;
	to.quiet = quiet;
	to.prog = tg_prog();
	to.stop = stop;
	if (m.epoch >= o.epochs && m.batch_pos == 0)
		fprintf(stderr, "%s: the checkpoint has %lld epochs already (--epochs %lld counts "
		        "all of them): nothing to train\n", tg_prog(), m.epoch, o.epochs);
	int rc = gan_train(&m, &d, &to);
	gan_model_free(&m);
	clReleaseMemObject(xm);
	nn_ctx_free(&ctx);
	return rc;
}

/* ---- sample ---- */

static int cmd_sample(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long count = 64, batch = 0;
	unsigned long long seed = 0;
	const char *out = "-";
	int c;
	while ((c = getopt_long(argc, argv, ":hqo:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'q': tg_set_quiet(1); break;
		case 'o': out = optarg; break;
		case 'n': count = tg_opt_long("-n", optarg, 1, 1000000000L); break;
		case OPT_SEED:
			seed = (unsigned long long)tg_opt_long("--seed", optarg, 0, 0x7fffffffL);
			break;
		case OPT_BATCH: batch = tg_opt_long("--batch", optarg, 1, 65536); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		tg_usage_error("sample needs a checkpoint");
	const char *path = argv[optind++];
	if (optind < argc)
		tg_usage_error("unexpected argument '%s'", argv[optind]);
	if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO))
		tg_usage_error("refusing to write a stream to a terminal (use -o file or a pipe)");
	const gan_model_kind *k;
	int size;
	gan_hparams hp;
	char why[256];
	int st = gan_ckpt_peek(path, &k, &size, &hp, NULL, why, sizeof why);
	if (st != NN_CKPT_OK)
		tg_die(nn_ckpt_exit_status(st), "%s: %s", path, why);
	tg_cl *cl = device();
	static nn_ctx ctx;
	nn_check(nn_ctx_init(&ctx, cl), "device");
	gan_model m;
	st = gan_ckpt_open(&ctx, path, 1, &m);
	if (st != NN_CKPT_OK)
		tg_die(nn_ckpt_exit_status(st), "%s: %s", path, nn_error());
	/* G's workspace and the noise buffer for the sampling batch */
	if (batch > 0 && batch != m.hp.batch && !m.kind->generate) {
		nn_seq_ws_free(&m.gws);
		clReleaseMemObject(m.z.mem);
		m.z = NN_NONE;
		nn_check(nn_seq_ws_alloc(&ctx, &m.G, &m.gws, (int)batch, 0), "workspace");
		cl_mem z = nn_alloc(&ctx, (size_t)batch * m.hp.latent, NULL);
		if (!z)
			tg_die(TG_EX_SOFTWARE, "noise buffer: %s", nn_error());
		m.z = nn_buf_of(z, 0);
		m.hp.batch = (int)batch;
	}
	int B = m.hp.batch;
	size_t npix = (size_t)size * size;
	ts_header h;
	memset(&h, 0, sizeof h);
	ts_meta_init(&h.meta);
	uint64_t dims[2] = { (uint64_t)size, (uint64_t)size };
	ts_header_shape(&h, TS_F32, 2, dims);
	ts_meta_set_range(&h.meta, 0, 1);
	ts_meta_set(&h.meta, "gan.model", m.kind->name);
	ts_meta_setf(&h.meta, "gan.epoch", "%lld", m.epoch);
	ts_meta_setf(&h.meta, "gan.sample.seed", "%llu", seed);
	tg_out o;
	tg_out_open(&o, out);
	ts_writer *w = tg_writer_open(&o, &h, 0);
	ts_header_free(&h);
	float *z = tg_malloc((size_t)B * m.hp.latent * sizeof *z);
	float *img = tg_malloc((size_t)B * npix * sizeof *img);
	nn_rng r;
	nn_rng_init(&r, seed);
	for (long i = 0; i < count; i += B) {
		int b = count - i < B ? (int)(count - i) : B;
		/* one draw per image, so the images do not depend on --batch's
		 * grouping of the draws */
		for (int j = 0; j < b; j++) {
			float *zj = z + (size_t)j * m.hp.latent;
			if (m.kind->noise == GAN_NOISE_UNIFORM)
				nn_rng_uniform(&r, zj, (size_t)m.hp.latent, -1.0f, 1.0f);
			else
				nn_rng_normal(&r, zj, (size_t)m.hp.latent, 0.0f, 1.0f);
		}
		nn_buf y;
		nn_check(nn_write(&ctx, m.z, z, (size_t)b * m.hp.latent), "noise upload");
		nn_check(gan_generate(&m, m.z, b, &y), "generator");
		nn_check(nn_read(&ctx, img, y, (size_t)b * npix), "images download");
		for (size_t j = 0; j < (size_t)b * npix; j++) {
			float v = (img[j] + 1.0f) * 0.5f;
			img[j] = v < 0 ? 0 : v > 1 ? 1 : v;
		}
		for (int j = 0; j < b; j++)
			tg_write_frame(w, img + (size_t)j * npix);
		tg_progress("%ld/%ld images", i + b, count);
	}
	tg_progress_done();
	tg_writer_close(w, &o);
	free(z);
	free(img);
	gan_model_free(&m);
	nn_ctx_free(&ctx);
	return 0;
}

/* ---- info ---- */

/* Reads every segment of a checkpoint, so that a damaged one is reported
 * (the header alone says nothing of the tensors). */
static void verify_ckpt(const char *path)
{
	ts_reader *r = NULL;
	ts_status st = ts_reader_open_path(&r, path, TS_R_SEGMENTS);
	void *buf = NULL;
	size_t cap = 0;
	while (st == TS_OK) {
		size_t need = (size_t)ts_frame_bytes(ts_reader_header(r));
		if (need > cap) {
			free(buf);
			buf = tg_malloc(need);
			cap = need;
		}
		while ((st = ts_read_frame(r, buf)) == TS_OK)
			;
		if (st == TS_SEGMENT_END)
			st = ts_reader_next_segment(r);
	}
	if (st != TS_END)
		tg_die(TG_EX_DATAERR, "%s: damaged checkpoint: %s", path,
		       r ? ts_reader_error(r) : ts_strerror(st));
	free(buf);
	ts_reader_close(r);
}

static int cmd_info(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		tg_help();
	if (argc != 2)
		tg_usage_error(argc < 2 ? "info needs a checkpoint" : "info takes one checkpoint");
	const char *path = argv[1];
	const gan_model_kind *k;
	int size;
	gan_hparams hp;
	char why[256];
	ts_meta mt;
	ts_meta_init(&mt);
	int st = gan_ckpt_peek(path, &k, &size, &hp, &mt, why, sizeof why);
	if (st != NN_CKPT_OK)
		tg_die(nn_ckpt_exit_status(st), "%s: %s", path, why);
	verify_ckpt(path);
	const char *v;
#define G(key) ((v = ts_meta_get(&mt, key)) ? v : "?")
	printf("model: %s\n", k->name);
	printf("size: %dx%d\n", size, size);
	printf("latent: %d\n", hp.latent);
	printf("optimizer: %s\n", nn_optim_kind_name(hp.optimizer));
	printf("lr: %.9g (generator), %.9g (critic)\n", hp.lr_g, hp.lr_d);
	if (hp.optimizer == NN_OPT_ADAM)
		printf("betas: %.9g %.9g\n", hp.beta1, hp.beta2);
	if (hp.optimizer == NN_OPT_RMSPROP)
		printf("alpha: %.9g\n", hp.alpha);
	printf("weight decay: %.9g\n", hp.weight_decay);
	printf("batch: %d\n", hp.batch);
	printf("n_critic: %d\n", hp.n_critic);
	printf("lambda_gp: %.9g\n", hp.lambda_gp);
	printf("clip: %.9g\n", hp.clip);
	printf("seed: %llu\n", hp.seed);
	printf("epochs: %s", G("gan.epoch"));
	if (strcmp(G("gan.batch_pos"), "0") != 0 && strcmp(v, "?") != 0)
		printf(" (and %s batches of the next)", v);
	printf("\n");
	printf("generator steps: %s\n", G("gan.g_steps"));
	printf("critic steps: %s\n", G("gan.d_steps"));
	double wall = strtod(G("gan.wall"), NULL);
	printf("wall time: %.1f s\n", wall);
	printf("last losses: critic %s", G("gan.last.d_loss"));
	printf(", generator %s", G("gan.last.g_loss"));
	printf(", gradient penalty %s", G("gan.last.gp"));
	printf(", wasserstein %s\n", G("gan.last.wdist"));
#undef G
	ts_meta_free(&mt);
	if (fflush(stdout) != 0 || ferror(stdout))
		tg_die(TG_EX_IOERR, "standard output: %s", strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	tg_init(argc, argv, "ganrun", USAGE);
	opterr = 0;
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		tg_help();
	if (argc < 2)
		tg_usage_error("a command is required (train, sample or info)");
	if (strcmp(argv[1], "train") == 0)
		return cmd_train(argc - 1, argv + 1);
	if (strcmp(argv[1], "sample") == 0)
		return cmd_sample(argc - 1, argv + 1);
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	tg_usage_error("unknown command '%s' (train, sample or info)", argv[1]);
}
