/* fidstat: Frechet Inception Distance between two sets of gray frames as
 * pytorch-fid computes it, and KID (fidstat(1)).  The network is
 * libstream/fid/inception.c, the statistics fidstats.h, the distance
 * frechet.h, KID kid.h, the weight and statistics files npz.h, pickle.h
 * and the containers described at save_weights and save_stats_tns. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fid/fidstats.h"
#include "fid/frechet.h"
#include "fid/inception.h"
#include "fid/kid.h"
#include "fid/npz.h"
#include "fid/pickle.h"
#include "ocl.h"
#include "stats.h"

#define USAGE \
	"fidstat [-hq] [--json] [--kid] [--batch n] [--dims d] [--seed s] " \
	"[--weights file | --test-weights] [--split seed | --repeat k -n n] [file1 [file2]]\n" \
	"       fidstat [-hq] [--batch n] [--dims d] [--weights file | --test-weights] " \
	"--save-stats out [file]\n" \
	"       fidstat [-hq] [--test-weights] --convert-weights [in.pth] out"

#define WEIGHTS_FILE "pt_inception-2015-12-05-6726825d.pth"
#define WEIGHTS_URL \
	"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" WEIGHTS_FILE
#define WEIGHTS_KIND "fid-inception"   /* ckpt.kind of the weight container */

struct opts {
	int json, kid, test_weights, convert;
	long batch, dims, repeat, draw;
	int have_split;
	uint64_t split_seed, seed;
	const char *weights, *save_stats;
	const char *in[2];
	int nin;
};

/* One side of a comparison: frames (their features) or saved statistics. */
struct set {
	const char *path;
	int is_stats;
	double *feat;      /* n x d features (frames) */
	size_t n;
	double *mu, *sigma;
};

static const char *label(const char *path)
{
	return strcmp(path, "-") == 0 ? "stdin" : path;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_JSON = 256, O_KID, O_BATCH, O_DIMS, O_SEED, O_WEIGHTS, O_TESTW, O_SPLIT, O_REPEAT,
	       O_SAVE, O_CONVERT };
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, O_BATCH },
		{ "convert-weights", no_argument, NULL, O_CONVERT },
		{ "dims", required_argument, NULL, O_DIMS },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, O_JSON },
		{ "kid", no_argument, NULL, O_KID },
		{ "quiet", no_argument, NULL, 'q' },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "save-stats", required_argument, NULL, O_SAVE },
		{ "seed", required_argument, NULL, O_SEED },
		{ "split", required_argument, NULL, O_SPLIT },
		{ "test-weights", no_argument, NULL, O_TESTW },
		{ "weights", required_argument, NULL, O_WEIGHTS },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	memset(o, 0, sizeof *o);
	o->batch = TG_INC_BATCH;
	o->dims = 2048;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'n': o->draw = tg_opt_long("-n", optarg, 2, 100000000); break;
		case 'q': tg_set_quiet(1); break;
		case O_JSON: o->json = 1; break;
		case O_KID: o->kid = 1; break;
		case O_BATCH: o->batch = tg_opt_long("--batch", optarg, 1, 1000); break;
		case O_DIMS:
			o->dims = tg_opt_long("--dims", optarg, 1, 2048);
			if (tg_inc_tap_of_dims((int)o->dims) < 0)
				tg_usage_error("bad value for --dims: '%s' (64, 192, 768 or 2048)", optarg);
			break;
		case O_SEED:
			o->seed = (uint64_t)tg_opt_long("--seed", optarg, 0, 0x7fffffffffffffffL);
			break;
		case O_WEIGHTS: o->weights = optarg; break;
		case O_TESTW: o->test_weights = 1; break;
		case O_SPLIT:
			o->split_seed = (uint64_t)tg_opt_long("--split", optarg, 0, 0x7fffffffffffffffL);
			o->have_split = 1;
			break;
		case O_REPEAT: o->repeat = tg_opt_long("--repeat", optarg, 1, 10000); break;
		case O_SAVE: o->save_stats = optarg; break;
		case O_CONVERT: o->convert = 1; break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	o->nin = argc - optind;
	for (int i = 0; i < o->nin && i < 2; i++)
		o->in[i] = argv[optind + i];
	if (o->weights && o->test_weights)
		tg_usage_error("--weights and --test-weights exclude each other");
	if (o->convert) {
		if (o->save_stats || o->have_split || o->repeat || o->draw || o->kid || o->json ||
		    o->weights)
			tg_usage_error("--convert-weights takes no other option than --test-weights");
		if (o->nin != (o->test_weights ? 1 : 2))
			tg_usage_error(o->test_weights ? "--convert-weights --test-weights needs one "
			               "operand: the output" : "--convert-weights needs two operands: "
			               "the input weights and the output");
		return;
	}
	if (o->have_split && o->repeat)
		tg_usage_error("--split and --repeat exclude each other");
	if (!o->repeat != !o->draw)
		tg_usage_error("--repeat k and -n n go together");
	if (o->save_stats) {
		if (o->have_split || o->repeat || o->kid || o->json)
			tg_usage_error("--save-stats takes no --split, --repeat, --kid or --json");
		if (o->nin > 1)
			tg_usage_error("--save-stats reads one stream; unexpected argument '%s'", o->in[1]);
		if (o->nin == 0)
			o->in[o->nin++] = "-";
		return;
	}
	if (o->have_split) {
		if (o->nin > 1)
			tg_usage_error("--split reads one stream; unexpected argument '%s'", o->in[1]);
		if (o->nin == 0)
			o->in[o->nin++] = "-";
		return;
	}
	if (o->kid && o->repeat)
		tg_usage_error("--kid and --repeat exclude each other");
	if (o->nin < 2)
		tg_usage_error("two inputs to compare are required (streams or statistics)");
	if (o->nin > 2)
		tg_usage_error("unexpected argument '%s'", argv[optind + 2]);
	if (strcmp(o->in[0], "-") == 0 && strcmp(o->in[1], "-") == 0)
		tg_usage_error("only one of the two inputs can be standard input");
}

/* ---- weights ---- */

static const char *const missing_weights =
	"no Inception weights: give --weights FILE or set TOMOGAN_FID_WEIGHTS to pytorch-fid's "
	WEIGHTS_FILE ", which pytorch-fid publishes as a release asset at " WEIGHTS_URL
	" (or to its conversion by fidstat --convert-weights)";

/* Tensors the features do not need: the classifier and BatchNorm's counter. */
static int optional_tensor(const char *name)
{
	return strncmp(name, "fc.", 3) == 0 || ends_with(name, "num_batches_tracked");
}

static void shape_text(const tg_inc_tensor *t, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	if (t->rank == 0)
		snprintf(buf, size, "scalar");
	for (int i = 0; i < t->rank && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, i ? "x%d" : "%d", t->dim[i]);
}

/* pytorch-fid's legacy pickle: every tensor by name, shapes checked. */
static void load_pickle(tg_inc_weights *w, const char *path)
{
	tg_pt_state s;
	char err[TG_PT_ERR_LEN], want[64];
	ts_status st = tg_pt_load_file(path, TG_PT_SKIP_NONFLOAT, &s, err);
	if (st)
		tg_die(st == TS_ERR_IO ? TG_EX_NOINPUT : ts_exit_status(st), "%s: %s", path, err);
	for (int i = 0; i < w->n; i++) {
		tg_inc_tensor *t = &w->t[i];
		const tg_pt_tensor *p = tg_pt_find(&s, t->name);
		if (!p || !p->data) {
			if (optional_tensor(t->name))
				continue;
			tg_die(TG_EX_DATAERR, "%s: no float tensor '%s': not pytorch-fid's %s", path,
			       t->name, WEIGHTS_FILE);
		}
		int ok = p->count == t->numel && p->ndim == t->rank;
		for (int k = 0; ok && k < t->rank; k++)
			ok = p->shape[k] == (uint64_t)t->dim[k];
		if (!ok) {
			shape_text(t, want, sizeof want);
			tg_die(TG_EX_DATAERR, "%s: tensor '%s' has %llu elements in %d dimensions, "
			       "expected %s", path, t->name, (unsigned long long)p->count, p->ndim, want);
		}
		memcpy(t->data, p->data, t->numel * sizeof(float));
	}
	tg_pt_free(&s);
}

/* tomogan's weight container: a checkpoint-like tensor stream of segments
 * (tstream(5), read in segment mode): a header segment, one u8 frame [1],
 * with metadata ckpt.format 1, ckpt.kind fid-inception and ckpt.tensors N,
 * then one segment per tensor of the table in its order: metadata "name",
 * one f32 frame of the tensor's shape (a scalar as [1]). */
static void load_container(tg_inc_weights *w, const char *path)
{
	ts_reader *r = tg_reader_open(path, TS_R_SEGMENTS);
	const ts_header *h = ts_reader_header(r);
	const char *kind = ts_meta_get(&h->meta, "ckpt.kind");
	if (!kind || strcmp(kind, WEIGHTS_KIND) != 0)
		tg_die(TG_EX_DATAERR, "%s: not FID Inception weights (neither pytorch-fid's %s nor "
		       "a file written by fidstat --convert-weights)", path, WEIGHTS_FILE);
	unsigned char byte;
	char *seen = tg_calloc((size_t)w->n, 1);
	ts_status st = h->dtype == TS_U8 && ts_frame_elems(h) == 1 ? ts_read_frame(r, &byte)
	                                                            : TS_ERR_DIMS;
	while (st == TS_OK) {
		st = ts_read_frame(r, &byte);   /* the segment's end */
		if (st != TS_SEGMENT_END)
			break;
		st = ts_reader_next_segment(r);
		if (st != TS_OK)
			break;
		const char *name = ts_meta_get(&h->meta, "name");
		tg_inc_tensor *t = name ? tg_inc_weights_find(w, name) : NULL;
		if (!t)
			tg_die(TG_EX_DATAERR, "%s: unknown tensor '%s'", path, name ? name : "(no name)");
		int rank = t->rank ? t->rank : 1, ok = h->dtype == TS_F32 && h->rank == rank;
		for (int k = 0; ok && k < rank; k++)
			ok = h->dims[k] == (uint64_t)(t->rank ? t->dim[k] : 1);
		if (!ok)
			tg_die(TG_EX_DATAERR, "%s: tensor '%s' has the wrong type or shape", path, name);
		seen[t - w->t] = 1;
		st = ts_read_frame(r, t->data);
	}
	if (st != TS_END)
		tg_die(ts_exit_status(st) ? ts_exit_status(st) : TG_EX_DATAERR, "%s",
		       ts_exit_status(st) ? ts_reader_error(r) : "weight container: malformed segment");
	for (int i = 0; i < w->n; i++)
		if (!seen[i] && !optional_tensor(w->t[i].name))
			tg_die(TG_EX_DATAERR, "%s: tensor '%s' is missing", path, w->t[i].name);
	free(seen);
	ts_reader_close(r);
}

/* By the first bytes: a pickle starts with PROTO (0x80), a zip-format
 * torch.save with "PK" (refused by the pickle reader with advice). */
static void load_weights(tg_inc_weights *w, const struct opts *o, const char *path)
{
	if (tg_inc_weights_init(w) != TG_CL_OK)
		tg_die(TG_EX_SOFTWARE, "weight table: out of memory");
	if (o->test_weights) {
		tg_inc_weights_synthetic(w);
		return;
	}
	unsigned char magic[2] = { 0, 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		tg_die(TG_EX_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
	size_t got = fread(magic, 1, 2, f);
	fclose(f);
	if (got == 2 && (magic[0] == 0x80 || (magic[0] == 'P' && magic[1] == 'K')))
		load_pickle(w, path);
	else
		load_container(w, path);
}

static void put_segment(int fd, const char *path, ts_header *h, const void *frame)
{
	ts_writer *wr;
	ts_write_opts wo = { 0 };
	ts_status st = ts_writer_open(&wr, fd, path, h, &wo);
	if (!st)
		st = ts_write_frame(wr, frame);
	if (!st)
		st = ts_writer_finish(wr);
	if (st)
		tg_die_stream(st, wr ? ts_writer_error(wr) : ts_strerror(st));
	ts_writer_free(wr);
}

static void save_weights(const tg_inc_weights *w, const char *path)
{
	tg_out o;
	tg_out_open(&o, path);
	ts_header h = { 0 };
	uint64_t one = 1;
	unsigned char zero = 0;
	ts_header_shape(&h, TS_U8, 1, &one);
	if (ts_meta_set(&h.meta, "ckpt.format", "1") || ts_meta_set(&h.meta, "ckpt.kind", WEIGHTS_KIND) ||
	    ts_meta_setf(&h.meta, "ckpt.tensors", "%d", w->n) ||
	    ts_meta_add_history(&h.meta, tg_argc(), tg_argv()))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	put_segment(o.fd, path, &h, &zero);
	for (int i = 0; i < w->n; i++) {
		const tg_inc_tensor *t = &w->t[i];
		ts_header th = { 0 };
		uint64_t dims[4] = { 1, 0, 0, 0 };
		for (int k = 0; k < t->rank; k++)
			dims[k] = (uint64_t)t->dim[k];
		ts_header_shape(&th, TS_F32, t->rank ? t->rank : 1, dims);
		if (ts_meta_set(&th.meta, "name", t->name))
			tg_die(TG_EX_SOFTWARE, "out of memory");
		put_segment(o.fd, path, &th, t->data);
		ts_header_free(&th);
	}
	ts_header_free(&h);
	tg_out_commit(&o);
}

/* ---- statistics files ---- */

/* tomogan's statistics container: a header segment (u8 [1], metadata
 * fid.kind stats, fid.dims d, fid.frames N, fid.encoding f64le), then
 * segments "mu" (u8 [d, 8]) and "sigma" (u8 [d, d, 8]) holding the float64
 * values' little-endian bytes, so nothing is rounded (streams have no
 * float64 type). */
static void save_stats_tns(int fd, const char *path, const double *mu, const double *sigma,
                           size_t d, size_t n)
{
	ts_header h = { 0 };
	uint64_t one = 1, dm[2] = { d, 8 }, ds[3] = { d, d, 8 };
	unsigned char zero = 0;
	ts_header_shape(&h, TS_U8, 1, &one);
	if (ts_meta_set(&h.meta, "fid.kind", "stats") || ts_meta_setf(&h.meta, "fid.dims", "%zu", d) ||
	    ts_meta_setf(&h.meta, "fid.frames", "%zu", n) ||
	    ts_meta_set(&h.meta, "fid.encoding", "f64le") ||
	    ts_meta_add_history(&h.meta, tg_argc(), tg_argv()))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	put_segment(fd, path, &h, &zero);
	ts_header_free(&h);
	const char *names[2] = { "mu", "sigma" };
	const double *vals[2] = { mu, sigma };
	for (int i = 0; i < 2; i++) {
		ts_header_shape(&h, TS_U8, i ? 3 : 2, i ? ds : dm);
		if (ts_meta_set(&h.meta, "name", names[i]))
			tg_die(TG_EX_SOFTWARE, "out of memory");
		put_segment(fd, path, &h, vals[i]);   /* the host is little-endian (tstream(5)) */
		ts_header_free(&h);
	}
}

static void load_stats_tns(struct set *s, size_t d)
{
	ts_reader *r = tg_reader_open(s->path, TS_R_SEGMENTS);
	const ts_header *h = ts_reader_header(r);
	const char *dv = ts_meta_get(&h->meta, "fid.dims");
	long have;
	if (!dv || tg_parse_long(dv, 1, 1 << 20, &have))
		tg_die(TG_EX_DATAERR, "%s: statistics without fid.dims", s->path);
	if ((size_t)have != d)
		tg_die(TG_EX_DATAERR, "%s: statistics of %ld-d features, not %zu-d (--dims)", s->path,
		       have, d);
	s->mu = tg_malloc(d * sizeof(double));
	s->sigma = tg_malloc(d * d * sizeof(double));
	unsigned char byte;
	ts_status st = ts_read_frame(r, &byte);
	int got = 0;
	while (st == TS_OK && (st = ts_read_frame(r, &byte)) == TS_SEGMENT_END &&
	       (st = ts_reader_next_segment(r)) == TS_OK) {
		const char *name = ts_meta_get(&h->meta, "name");
		int which = name && strcmp(name, "mu") == 0 ? 0 : name && strcmp(name, "sigma") == 0 ? 1 : -1;
		if (which < 0 || h->dtype != TS_U8 || ts_frame_bytes(h) != (which ? d * d : d) * 8)
			tg_die(TG_EX_DATAERR, "%s: unexpected segment in the statistics", s->path);
		st = ts_read_frame(r, which ? s->sigma : s->mu);
		got |= 1 << which;
	}
	if (st != TS_END)
		tg_die(ts_exit_status(st) ? ts_exit_status(st) : TG_EX_DATAERR, "%s",
		       ts_exit_status(st) ? ts_reader_error(r) : "statistics: malformed segment");
	if (got != 3)
		tg_die(TG_EX_DATAERR, "%s: statistics without mu or sigma", s->path);
	ts_reader_close(r);
}

static void load_stats(struct set *s, size_t d)
{
	if (s->is_stats == 2) {
		load_stats_tns(s, d);
		return;
	}
	char err[TG_NPZ_ERR_LEN];
	size_t have;
	ts_status st = tg_npz_read_stats(s->path, &have, &s->mu, &s->sigma, err);
	if (st)
		tg_die(st == TS_ERR_IO ? TG_EX_NOINPUT : ts_exit_status(st), "%s: %s", s->path, err);
	if (have != d)
		tg_die(TG_EX_DATAERR, "%s: statistics of %zu-d features, not %zu-d (--dims)", s->path,
		       have, d);
}

/* 1: an .npz (ZIP), 2: tomogan's statistics container, 0: frames. */
static int stats_kind(const char *path)
{
	if (strcmp(path, "-") == 0)
		return 0;
	unsigned char magic[4] = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;   /* reported when opened as a stream */
	size_t got = fread(magic, 1, 4, f);
	fclose(f);
	if (got == 4 && memcmp(magic, "PK", 2) == 0)
		return 1;
	ts_reader *r = NULL;
	int kind = 0;
	if (ts_reader_open_path(&r, path, TS_R_SEGMENTS) == TS_OK) {
		const char *k = ts_meta_get(&ts_reader_header(r)->meta, "fid.kind");
		kind = k && strcmp(k, "stats") == 0 ? 2 : 0;
	}
	if (r)
		ts_reader_close(r);
	return kind;
}

/* ---- features ---- */

/* The time left from the share of the input file read so far (regular
 * files); negative when unknown. */
static double time_left(int fd, double elapsed)
{
	struct stat sb;
	off_t pos = lseek(fd, 0, SEEK_CUR);
	if (pos <= 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0)
		return -1;
	double frac = (double)pos / (double)sb.st_size;
	return frac > 0 && frac <= 1 ? elapsed * (1 - frac) / frac : -1;
}

/* The features of every frame of the stream s->path: frames HxW or 1xHxW,
 * mapped from the range of the metadata to [0, 1] and clamped there. */
static void extract(struct set *s, tg_inception *net, int dims, int batch)
{
	int fd = tg_open_in(s->path);
	ts_reader *r;
	ts_status st = ts_reader_open(&r, fd, s->path, 0);
	if (st)
		tg_die(ts_exit_status(st), "%s", r ? ts_reader_error(r) : ts_strerror(st));
	const ts_header *h = ts_reader_header(r);
	char desc[96];
	ts_header_describe(h, desc, sizeof desc);
	if (!(h->rank == 2 || (h->rank == 3 && h->dims[0] == 1)))
		tg_die(TG_EX_DATAERR, "%s: frames are %s: need gray frames HxW or 1xHxW", label(s->path),
		       desc);
	int H = (int)h->dims[h->rank - 2], W = (int)h->dims[h->rank - 1];
	double lo, hi;
	if (ts_meta_get_range(&h->meta, &lo, &hi) != 0)
		tg_die(TG_EX_DATAERR, "%s: no value range in the metadata (key 'range'), so the frames "
		       "cannot be mapped to [0, 1]; set it with clipnorm or the program that made them",
		       label(s->path));
	if (!(hi > lo) || !isfinite(hi - lo))
		tg_die(TG_EX_DATAERR, "%s: the range %g %g in the metadata is empty", label(s->path), lo,
		       hi);
	size_t hw = (size_t)H * (size_t)W, cap = 0;
	void *raw = tg_malloc(ts_frame_bytes(h));
	float *frames = tg_malloc((size_t)batch * hw * sizeof(float));
	float *f = tg_malloc((size_t)batch * (size_t)dims * sizeof(float));
	double t0 = tg_now(), scale = 1 / (hi - lo);
	s->n = 0;
	for (;;) {
		int nb = 0;
		while (nb < batch && tg_read_frame(r, raw)) {
			float *x = frames + (size_t)nb * hw;
			ts_convert_to_f32(h->dtype, raw, x, hw);
			for (size_t i = 0; i < hw; i++) {
				double v = (x[i] - lo) * scale;
				if (!isfinite(v))
					tg_die(TG_EX_DATAERR, "%s: frame %zu: a value that is not finite",
					       label(s->path), s->n + (size_t)nb);
				x[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
			}
			nb++;
		}
		if (nb == 0)
			break;
		if (tg_inception_forward(net, frames, nb, H, W, dims, f) != TG_CL_OK)
			tg_die(TG_EX_SOFTWARE, "Inception forward pass: %s", nn_error());
		if (s->n + (size_t)nb > cap) {
			cap = 2 * cap + (size_t)batch;
			s->feat = realloc(s->feat, cap * (size_t)dims * sizeof(double));
			if (!s->feat)
				tg_die(TG_EX_SOFTWARE, "out of memory for the features");
		}
		for (size_t i = 0; i < (size_t)nb * (size_t)dims; i++)
			s->feat[s->n * (size_t)dims + i] = f[i];
		s->n += (size_t)nb;
		if (tg_progress_enabled()) {
			double el = tg_now() - t0, left = time_left(fd, el);
			if (left >= 0)
				tg_progress("%s: %zu images, %.1f images/s, %.0f s left", label(s->path), s->n,
				            s->n / el, left);
			else
				tg_progress("%s: %zu images, %.1f images/s", label(s->path), s->n, s->n / el);
		}
		if (nb < batch)
			break;
	}
	tg_progress_done();
	if (s->n == 0)
		tg_die(TG_EX_DATAERR, "%s: no frames", label(s->path));
	ts_reader_close(r);
	if (fd != 0)
		close(fd);
	free(raw), free(frames), free(f);
}

/* mu, sigma of rows idx (all rows when idx is NULL). */
static void stats_of(const double *feat, const uint64_t *idx, size_t n, size_t d, double **mu,
                     double **sigma, const char *what)
{
	if (n < 2)
		tg_die(TG_EX_DATAERR, "%s: %zu frame%s: at least 2 are needed for a covariance", what, n,
		       n == 1 ? "" : "s");
	double *rows = (double *)feat;
	if (idx) {
		rows = tg_malloc(n * d * sizeof(double));
		for (size_t i = 0; i < n; i++)
			memcpy(rows + i * d, feat + idx[i] * d, d * sizeof(double));
	}
	*mu = tg_malloc(d * sizeof(double));
	*sigma = tg_malloc(d * d * sizeof(double));
	if (tg_fid_stats_f64(rows, n, d, *mu, *sigma) != TS_OK)
		tg_die(TG_EX_SOFTWARE, "%s: statistics failed", what);
	if (idx)
		free(rows);
}

static double fid(const double *mu1, const double *s1, const double *mu2, const double *s2,
                  size_t d, tg_frechet_result *res)
{
	ts_status st = tg_frechet_distance(mu1, s1, mu2, s2, d, 0, res);
	if (st)
		tg_die(st == TS_ERR_ARG ? TG_EX_DATAERR : TG_EX_SOFTWARE, "Frechet distance: %s",
		       st == TS_ERR_ARG ? "statistics that are not finite" : ts_strerror(st));
	return res->distance;
}

/* ---- output ---- */

struct result {
	double fid, fid_std;           /* fid_std: --repeat */
	double *runs;
	long nruns, draw;
	tg_frechet_result fr;          /* single distance */
	int have_kid;
	double kid, kid_std;
	size_t kid_subsets, kid_size;
	size_t n[2];                   /* frames of each side, 0 for statistics */
	const char *weights;           /* "test", "file" or "none" (statistics only) */
};

static void put_num(double v, int json)
{
	if (isfinite(v))
		printf("%.12g", v);
	else
		printf(json ? "\"%s\"" : "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static void report(const struct opts *o, const struct result *r)
{
	if (o->json) {
		printf("{\"fid\": ");
		put_num(r->fid, 1);
		printf(", \"dims\": %ld, \"frames\": [%zu, %zu], \"weights\": \"%s\"", o->dims, r->n[0],
		       r->n[1], r->weights);
		if (o->have_split)
			printf(", \"split_seed\": %llu", (unsigned long long)o->split_seed);
		if (o->repeat) {
			printf(", \"fid_std\": ");
			put_num(r->fid_std, 1);
			printf(", \"draws\": %ld, \"draw_frames\": %ld, \"seed\": %llu, \"runs\": [", r->nruns,
			       r->draw, (unsigned long long)o->seed);
			for (long i = 0; i < r->nruns; i++) {
				printf(i ? ", " : "");
				put_num(r->runs[i], 1);
			}
			printf("]");
		} else {
			printf(", \"mean_term\": ");
			put_num(r->fr.mean_term, 1);
			printf(", \"trace1\": ");
			put_num(r->fr.trace1, 1);
			printf(", \"trace2\": ");
			put_num(r->fr.trace2, 1);
			printf(", \"trace_sqrt\": ");
			put_num(r->fr.trace_sqrt, 1);
		}
		if (r->have_kid) {
			printf(", \"kid\": ");
			put_num(r->kid, 1);
			printf(", \"kid_std\": ");
			put_num(r->kid_std, 1);
			printf(", \"kid_subsets\": %zu, \"kid_subset_size\": %zu, \"seed\": %llu",
			       r->kid_subsets, r->kid_size, (unsigned long long)o->seed);
		}
		printf("}\n");
		return;
	}
	printf("fid ");
	put_num(r->fid, 0);
	if (o->repeat) {
		printf(" +- ");
		put_num(r->fid_std, 0);
		printf(" draws %ld of %ld frames", r->nruns, r->draw);
	}
	printf(" dims %ld frames %zu %zu%s\n", o->dims, r->n[0], r->n[1],
	       strcmp(r->weights, "test") == 0 ? " weights test" : "");
	if (r->have_kid) {
		printf("kid ");
		put_num(r->kid, 0);
		printf(" +- ");
		put_num(r->kid_std, 0);
		printf(" subsets %zu size %zu\n", r->kid_subsets, r->kid_size);
	}
}

static void kid(const struct opts *o, const double *f1, size_t n1, const double *f2, size_t n2,
                struct result *r)
{
	size_t d = (size_t)o->dims;
	r->kid_size = n1 < n2 ? n1 : n2;
	if (r->kid_size > TG_KID_SUBSET_SIZE)
		r->kid_size = TG_KID_SUBSET_SIZE;
	r->kid_subsets = TG_KID_SUBSETS;
	if (r->kid_size < 2)
		tg_die(TG_EX_DATAERR, "KID needs at least 2 frames on each side");
	if (tg_kid(f1, n1, f2, n2, d, r->kid_subsets, r->kid_size, o->seed, &r->kid, &r->kid_std))
		tg_die(TG_EX_SOFTWARE, "KID failed");
	r->have_kid = 1;
}

/* m distinct indices of 0..n-1: a partial Fisher-Yates shuffle from the
 * identity (the draw of tg_kid_draw_subsets). */
static void draw(tg_rng *rng, uint64_t *perm, size_t n, size_t m)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = 0; i < m; i++) {
		size_t j = i + (size_t)tg_rng_below(rng, n - i);
		uint64_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "fidstat", USAGE);
	parse_args(argc, argv, &o);
	size_t d = (size_t)o.dims;
	struct set s[2] = { { 0 }, { 0 } };
	int need_net = 0;
	for (int i = 0; i < (o.convert ? 0 : o.nin); i++) {
		s[i].path = o.in[i];
		s[i].is_stats = stats_kind(o.in[i]);
		need_net |= !s[i].is_stats;
	}
	if (!o.convert && (o.save_stats || o.have_split || o.repeat) && s[0].is_stats)
		tg_usage_error("%s holds statistics: --save-stats, --split and --repeat need frames",
		               o.in[0]);
	if (o.kid && (s[0].is_stats || s[1].is_stats))
		tg_usage_error("--kid needs frames on both sides, not saved statistics");
	if (o.save_stats && !ends_with(o.save_stats, ".npz") && !ends_with(o.save_stats, ".tns"))
		tg_usage_error("--save-stats: '%s' must end in .npz or .tns", o.save_stats);

	tg_inc_weights w;
	const char *wpath = o.weights ? o.weights : getenv("TOMOGAN_FID_WEIGHTS");
	if (!o.convert && need_net && !o.test_weights && (!wpath || !*wpath))
		tg_die(TG_EX_NOINPUT, "%s", missing_weights);
	if (o.convert) {
		load_weights(&w, &o, o.in[0]);
		save_weights(&w, o.in[o.nin - 1]);
		tg_inc_weights_free(&w);
		return 0;
	}
	static nn_ctx ctx;
	tg_inception *net = NULL;
	if (need_net) {
		if (o.test_weights)
			tg_warn("--test-weights: deterministic test weights, not a trained network; the "
			        "numbers are not comparable to published FID");
		load_weights(&w, &o, wpath);
		if (nn_ctx_init(&ctx, tg_clx_init()) != TG_CL_OK)
			tg_die(TG_EX_UNAVAILABLE, "OpenCL: %s", nn_error());
		if (tg_inception_create(&net, &ctx, &w, (int)o.batch) != TG_CL_OK)
			tg_die(TG_EX_SOFTWARE, "Inception network: %s", nn_error());
		tg_inc_weights_free(&w);
	}
	for (int i = 0; i < o.nin; i++)
		if (s[i].is_stats)
			load_stats(&s[i], d);
		else
			extract(&s[i], net, (int)o.dims, (int)o.batch);
	tg_inception_free(net);

	struct result r = { 0 };
	r.weights = !need_net ? "none" : o.test_weights ? "test" : "file";
	if (o.save_stats) {
		stats_of(s[0].feat, NULL, s[0].n, d, &s[0].mu, &s[0].sigma, label(s[0].path));
		tg_out out;
		tg_out_open(&out, o.save_stats);
		if (ends_with(o.save_stats, ".npz")) {
			char err[TG_NPZ_ERR_LEN];
			int fd2 = dup(out.fd);
			FILE *f = fd2 >= 0 ? fdopen(fd2, "wb") : NULL;
			if (!f || tg_npz_write_stats(f, s[0].mu, s[0].sigma, d, err) || fclose(f) != 0)
				tg_die(TG_EX_IOERR, "%s: write failed: %s", o.save_stats, strerror(errno));
		} else {
			save_stats_tns(out.fd, o.save_stats, s[0].mu, s[0].sigma, d, s[0].n);
		}
		tg_out_commit(&out);
		return 0;
	}
	if (o.have_split) {
		/* two random halves: a permutation of the frames, the first
		 * floor(N/2) of it against the rest */
		size_t n = s[0].n, h = n / 2;
		if (h < 2)
			tg_die(TG_EX_DATAERR, "%s: %zu frames: --split needs at least 4", label(s[0].path), n);
		uint64_t *perm = tg_malloc(n * sizeof(uint64_t));
		tg_rng rng;
		tg_rng_seed(&rng, o.split_seed);
		tg_rng_permutation(&rng, perm, n);
		stats_of(s[0].feat, perm, h, d, &s[0].mu, &s[0].sigma, "first half");
		stats_of(s[0].feat, perm + h, n - h, d, &s[1].mu, &s[1].sigma, "second half");
		r.fid = fid(s[0].mu, s[0].sigma, s[1].mu, s[1].sigma, d, &r.fr);
		r.n[0] = h;
		r.n[1] = n - h;
		if (o.kid) {
			double *f1 = tg_malloc(h * d * sizeof(double)), *f2 = tg_malloc((n - h) * d * sizeof(double));
			for (size_t i = 0; i < n; i++)
				memcpy(i < h ? f1 + i * d : f2 + (i - h) * d, s[0].feat + perm[i] * d,
				       d * sizeof(double));
			kid(&o, f1, h, f2, n - h, &r);
			free(f1), free(f2);
		}
		free(perm);
		report(&o, &r);
		return 0;
	}
	if (!s[1].is_stats)
		stats_of(s[1].feat, NULL, s[1].n, d, &s[1].mu, &s[1].sigma, label(s[1].path));
	r.n[1] = s[1].n;
	if (o.repeat) {
		/* seed 001's protocol: K draws of N frames of the first input, each
		 * against all of the second; mean and standard deviation (ddof 0) */
		size_t n = s[0].n;
		if ((size_t)o.draw > n)
			tg_die(TG_EX_DATAERR, "%s: %zu frames, fewer than -n %ld", label(s[0].path), n, o.draw);
		uint64_t *perm = tg_malloc(n * sizeof(uint64_t));
		r.runs = tg_malloc((size_t)o.repeat * sizeof(double));
		tg_rng rng;
		tg_rng_seed(&rng, o.seed);
		double sum = 0, sq = 0;
		for (long k = 0; k < o.repeat; k++) {
			double *mu, *sigma;
			tg_frechet_result fr;
			draw(&rng, perm, n, (size_t)o.draw);
			stats_of(s[0].feat, perm, (size_t)o.draw, d, &mu, &sigma, "draw");
			r.runs[k] = fid(mu, sigma, s[1].mu, s[1].sigma, d, &fr);
			sum += r.runs[k];
			free(mu), free(sigma);
		}
		r.fid = sum / (double)o.repeat;
		for (long k = 0; k < o.repeat; k++)
			sq += (r.runs[k] - r.fid) * (r.runs[k] - r.fid);
		r.fid_std = sqrt(sq / (double)o.repeat);
		r.nruns = o.repeat;
		r.draw = o.draw;
		r.n[0] = n;
		free(perm);
		report(&o, &r);
		return 0;
	}
	if (!s[0].is_stats)
		stats_of(s[0].feat, NULL, s[0].n, d, &s[0].mu, &s[0].sigma, label(s[0].path));
	r.n[0] = s[0].n;
	r.fid = fid(s[0].mu, s[0].sigma, s[1].mu, s[1].sigma, d, &r.fr);
	if (o.kid)
		kid(&o, s[0].feat, s[0].n, s[1].feat, s[1].n, &r);
	report(&o, &r);
	return 0;
}
