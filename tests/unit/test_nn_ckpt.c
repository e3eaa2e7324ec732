/* test_nn_ckpt: checkpoints (nn/ckpt.h).
 *  - round trip: a model with two optimizers (Adam over "g.*", RMSprop
 *    over "d.*") after three steps, saved and loaded into a fresh model:
 *    parameters, optimizer state, step counters, generator state and the
 *    caller's entries come back bit-exact, and one more step gives the same
 *    bits in both models;
 *  - mismatches: model kind, a shape, a missing and an unknown tensor, an
 *    optimizer of another kind, each with its one-line message, leaving the
 *    target model untouched; a weights-only load;
 *  - damaged files: a flipped byte, a truncated file, a file cut at a
 *    segment boundary, a file that is no tensor stream, a stream that is no
 *    checkpoint, a missing file;
 *  - atomicity: no temporary file is left after a save; a save that fails
 *    half-way (a frame beyond the limit, ts_set_max_frame_bytes) leaves
 *    the old file byte-identical and no temporary file. */
/* Needs a device (the arena lives there); skips without one. */
#include <dirent.h>
#include <unistd.h>

#include "nn/ckpt.h"
#include "nn/init.h"
#include "nn/optim.h"
#include "test_nn_util.h"

static nn_ctx *ctx;
static char dir[256];

typedef struct {
	nn_arena a;
	nn_optim g, d;
	nn_rng rng;
	ts_meta meta;
	nn_ckpt c;
} model;

/* Tensors of the test model; big adds a 1.2 MB tensor. */
static int build(model *m, const char *kind, int conv_oc, int extra, int skip_fc, int d_adam,
                 int big)
{
	memset(m, 0, sizeof *m);
	nn_arena_init(&m->a);
	int dims[][4] = { { conv_oc, 1, 3, 3 }, { conv_oc }, { 8, 64, 4, 4 }, { 10, 200 }, { 10 },
	                  { 300000 } };
	int ranks[] = { 4, 1, 4, 2, 1, 1 };
	const char *names[] = { "g.conv1.weight", "g.conv1.bias", "g.up.weight", "d.fc.weight",
	                        "d.fc.bias", "d.big" };
	for (int i = 0; i < 6; i++) {
		if ((i == 3 && skip_fc) || (i == 5 && !big))
			continue;
		if (nn_arena_add(&m->a, names[i], ranks[i], dims[i]) < 0)
			return -1;
	}
	if (extra) {
		int e[1] = { 5 };
		nn_arena_add(&m->a, "d.extra", 1, e);
	}
	if (nn_arena_alloc(ctx, &m->a) != TG_CL_OK)
		return -1;
	if (nn_optim_init(ctx, &m->g, NN_OPT_ADAM, &m->a) != TG_CL_OK ||
	    nn_optim_init(ctx, &m->d, d_adam ? NN_OPT_ADAM : NN_OPT_RMSPROP, &m->a) != TG_CL_OK)
		return -1;
	strcpy(m->g.name, "g");
	strcpy(m->d.name, "d");
	nn_optim_assign(&m->g, "d.*", NN_OPT_NONE);
	nn_optim_assign(&m->d, "g.*", NN_OPT_NONE);
	m->g.group[0].lr = 2e-4;
	m->g.beta1 = 0.5;
	ts_meta_init(&m->meta);
	m->c.kind = kind;
	m->c.arena = &m->a;
	m->c.opt[0] = &m->g;
	m->c.opt[1] = &m->d;
	m->c.nopt = 2;
	m->c.rng[0] = &m->rng;
	m->c.rng_name[0] = "train";
	m->c.nrng = 1;
	m->c.meta = &m->meta;
	return 0;
}

static void destroy(model *m)
{
	nn_optim_free(&m->g);
	nn_optim_free(&m->d);
	nn_arena_free(&m->a);
	ts_meta_free(&m->meta);
}

/* Random weights (seed), then `steps` steps of both optimizers with random
 * gradients drawn from the model's generator. */
static int train(model *m, uint64_t seed, int steps)
{
	nn_rng_init(&m->rng, seed);
	for (int i = 0; i < m->a.n; i++)
		if (nn_init_normal(ctx, &m->rng, &m->a, m->a.p[i].name, 0.0f, 0.1f) != TG_CL_OK)
			return -1;
	float *g = nn_test_alloc(m->a.total);
	int ok = 1;
	for (int s = 0; ok && s < steps; s++) {
		ok = nn_optim_zero_grad(ctx, &m->g) == TG_CL_OK && nn_optim_zero_grad(ctx, &m->d) == TG_CL_OK;
		for (int i = 0; ok && i < m->a.n; i++) {
			nn_rng_normal(&m->rng, g, m->a.p[i].numel, 0.0f, 1.0f);
			ok = nn_write(ctx, nn_arena_grad(&m->a, i), g, m->a.p[i].numel) == TG_CL_OK;
		}
		ok = ok && nn_optim_step(ctx, &m->g) == TG_CL_OK && nn_optim_step(ctx, &m->d) == TG_CL_OK;
	}
	free(g);
	return ok ? 0 : -1;
}

static float *down(cl_mem mem, size_t n)
{
	return nn_test_down(ctx, nn_buf_of(mem, 0), n);
}

/* Every device buffer of two models of the same structure agrees bit for bit. */
static int same_bits(model *x, model *y)
{
	size_t n = x->a.total;
	cl_mem bx[] = { x->a.params, x->g.state[0], x->g.state[1], x->d.state[0] };
	cl_mem by[] = { y->a.params, y->g.state[0], y->g.state[1], y->d.state[0] };
	int ok = 1;
	for (int i = 0; i < 4; i++) {
		float *p = down(bx[i], n), *q = down(by[i], n);
		ok = ok && memcmp(p, q, n * sizeof(float)) == 0;
		free(p);
		free(q);
	}
	return ok;
}

static char *path_in(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static int temp_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
	*len = b ? fread(b, 1, (size_t)n, f) : 0;
	fclose(f);
	return b;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(b, 1, len, f);
		fclose(f);
	}
}

/* Loads `path` into a fresh model built with the given variations and
 * checks the status and the message; the model's weights must not change. */
static void expect_fail(const char *what, const char *path, const char *kind, int oc, int extra,
                        int skip_fc, int d_adam, int want_st, const char *want_msg)
{
	model m;
	if (build(&m, kind, oc, extra, skip_fc, d_adam, 0) < 0 || train(&m, 99, 0) < 0) {
		check(0, "%s: setup: %s", what, nn_error());
		destroy(&m);
		return;
	}
	float *before = down(m.a.params, m.a.total);
	int st = nn_ckpt_load(ctx, path, &m.c);
	float *after = down(m.a.params, m.a.total);
	int untouched = memcmp(before, after, m.a.total * sizeof(float)) == 0 && m.g.step == 0;
	check(st == want_st && strstr(nn_error(), want_msg) && untouched,
	      "%s: status %d (want %d), model untouched %d, message: %s", what, st, want_st, untouched,
	      nn_error());
	free(before);
	free(after);
	destroy(&m);
}

int main(void)
{
	ctx = nn_test_ctx("nn_ckpt");
	if (!ctx)
		return check_finish();
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/test_nn_ckpt.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		check(0, "mkdtemp %s", dir);
		return check_finish();
	}
	char ck[512];
	snprintf(ck, sizeof ck, "%s", path_in("model.ckpt"));

	/* ---- round trip ---- */
	model x, y;
	int ok = build(&x, "dcgan", 64, 0, 0, 0, 0) == 0 && train(&x, 1, 3) == 0;
	ts_meta_set(&x.meta, "epoch", "7");
	ts_meta_set(&x.meta, "model.nz", "100");
	int st = ok ? nn_ckpt_save(ctx, ck, &x.c) : -1;
	check(st == NN_CKPT_OK && access(ck, R_OK) == 0 && temp_files() == 0,
	      "save: status %d, file present, no temporary file left (%s)", st,
	      st ? nn_error() : "ok");
	ok = build(&y, "dcgan", 64, 0, 0, 0, 0) == 0 && train(&y, 2, 0) == 0;
	nn_rng xr = x.rng;
	st = ok ? nn_ckpt_load(ctx, ck, &y.c) : -1;
	check(st == NN_CKPT_OK, "load: status %d (%s)", st, st ? nn_error() : "ok");
	check(same_bits(&x, &y), "round trip: parameters and Adam/RMSprop state bit-exact");
	check(y.g.step == 3 && y.d.step == 3, "round trip: step counters %lld %lld (want 3 3)",
	      y.g.step, y.d.step);
	check(y.rng.seed == xr.seed && y.rng.counter == xr.counter,
	      "round trip: generator seed %llu counter %llu (want %llu %llu)",
	      (unsigned long long)y.rng.seed, (unsigned long long)y.rng.counter,
	      (unsigned long long)xr.seed, (unsigned long long)xr.counter);
	const char *ep = ts_meta_get(&y.meta, "epoch"), *kd = ts_meta_get(&y.meta, "ckpt.kind");
	check(ep && strcmp(ep, "7") == 0 && kd && strcmp(kd, "dcgan") == 0 &&
	      ts_meta_get(&y.meta, "ckpt.opt.g.lr.0"),
	      "round trip: header entries (epoch %s, kind %s)", ep ? ep : "-", kd ? kd : "-");
	/* resuming: one more step in both gives the same bits */
	ok = train(&x, 5, 0) == 0;   /* re-seeds x's weights: reload them */
	ok = ok && nn_ckpt_load(ctx, ck, &x.c) == NN_CKPT_OK;
	float *g = nn_test_alloc(x.a.total);
	nn_rng gr;
	nn_rng_init(&gr, 11);
	nn_rng_uniform(&gr, g, x.a.total, -1, 1);
	ok = ok && nn_write(ctx, nn_buf_of(x.a.grads, 0), g, x.a.total) == TG_CL_OK &&
	     nn_write(ctx, nn_buf_of(y.a.grads, 0), g, x.a.total) == TG_CL_OK;
	ok = ok && nn_optim_step(ctx, &x.g) == TG_CL_OK && nn_optim_step(ctx, &y.g) == TG_CL_OK &&
	     nn_optim_step(ctx, &x.d) == TG_CL_OK && nn_optim_step(ctx, &y.d) == TG_CL_OK;
	check(ok && same_bits(&x, &y) && y.g.step == 4,
	      "resume: step 4 after loading gives the same bits");
	free(g);
	/* saving again over the file, then loading, still round-trips */
	st = nn_ckpt_save(ctx, ck, &y.c);
	model z;
	ok = st == NN_CKPT_OK && build(&z, "dcgan", 64, 0, 0, 0, 0) == 0 &&
	     nn_ckpt_load(ctx, ck, &z.c) == NN_CKPT_OK;
	check(ok && same_bits(&y, &z) && z.d.step == 4 && temp_files() == 0,
	      "save over an existing checkpoint: replaced, round trip bit-exact, no temporary file");
	destroy(&z);

	/* weights only */
	if (build(&z, "dcgan", 64, 0, 0, 0, 0) == 0) {
		z.c.nopt = 0;
		z.c.nrng = 0;
		st = nn_ckpt_load(ctx, ck, &z.c);
		float *p = down(y.a.params, y.a.total), *q = down(z.a.params, z.a.total);
		check(st == NN_CKPT_OK && memcmp(p, q, y.a.total * sizeof(float)) == 0 && z.g.step == 0,
		      "weights-only load (no optimizers): parameters bit-exact, optimizer untouched (%s)",
		      st ? nn_error() : "ok");
		free(p);
		free(q);
	}
	destroy(&z);

	/* ---- mismatches ---- */
	expect_fail("kind", ck, "wgan-gp", 64, 0, 0, 0, NN_CKPT_ERR_MISMATCH,
	            "checkpoint is of model 'dcgan', not 'wgan-gp'");
	expect_fail("shape", ck, "dcgan", 128, 0, 0, 0, NN_CKPT_ERR_MISMATCH,
	            "checkpoint tensor 'g.conv1.weight' has shape 64x1x3x3, the model expects "
	            "128x1x3x3");
	expect_fail("missing tensor", ck, "dcgan", 64, 1, 0, 0, NN_CKPT_ERR_MISMATCH,
	            "checkpoint has no tensor 'd.extra'");
	expect_fail("unknown tensor", ck, "dcgan", 64, 0, 1, 0, NN_CKPT_ERR_MISMATCH,
	            "checkpoint tensor 'd.fc.weight' is not a parameter of the model");
	expect_fail("optimizer kind", ck, "dcgan", 64, 0, 0, 1, NN_CKPT_ERR_MISMATCH,
	            "checkpoint optimizer 'd' is rmsprop, not adam");

	/* ---- damaged files ---- */
	size_t len = 0;
	unsigned char *orig = slurp(ck, &len);
	check(orig && len > 4096, "checkpoint file of %zu bytes", len);
	if (orig && len > 4096) {
		const char *bad = path_in("bad.ckpt");
		orig[len / 2] ^= 0x40;
		spit(bad, orig, len);
		orig[len / 2] ^= 0x40;
		expect_fail("flipped byte", bad, "dcgan", 64, 0, 0, 0, NN_CKPT_ERR_FORMAT, "checksum");
		spit(bad, orig, len / 2);
		expect_fail("truncated", bad, "dcgan", 64, 0, 0, 0, NN_CKPT_ERR_FORMAT, "truncated");
		spit(bad, (const unsigned char *)"hello, world\n", 13);
		expect_fail("not a stream", bad, "dcgan", 64, 0, 0, 0, NN_CKPT_ERR_FORMAT, bad);
		expect_fail("missing file", path_in("none.ckpt"), "dcgan", 64, 0, 0, 0,
		            NN_CKPT_ERR_OPEN, "cannot open");
		unlink(bad);
	}
	/* a tensor stream that is no checkpoint */
	{
		const char *other = path_in("plain.tns");
		FILE *f = fopen(other, "wb");
		ts_header h;
		memset(&h, 0, sizeof h);
		uint64_t d2[2] = { 2, 2 };
		ts_header_shape(&h, TS_F32, 2, d2);
		ts_writer *w = NULL;
		float four[4] = { 1, 2, 3, 4 };
		ts_write_opts o = { 0 };
		if (f && ts_writer_open(&w, fileno(f), other, &h, &o) == TS_OK)
			if (ts_write_frame(w, four) == TS_OK)
				ts_writer_finish(w);
		ts_writer_free(w);
		if (f)
			fclose(f);
		expect_fail("plain stream", other, "dcgan", 64, 0, 0, 0, NN_CKPT_ERR_FORMAT,
		            "not a checkpoint");
		unlink(other);
	}

	/* a file cut at a segment boundary: the header announces more tensors */
	{
		const char *cut = path_in("cut.ckpt");
		model w;
		int fine = build(&w, "dcgan", 64, 0, 0, 0, 0) == 0;
		FILE *f = fopen(cut, "wb");
		ts_write_opts o = { 0 };
		for (int i = -1; fine && f && i < w.a.n; i++) {
			ts_header h;
			memset(&h, 0, sizeof h);
			ts_meta_init(&h.meta);
			uint64_t dims[4] = { 1, 0, 0, 0 };
			float *vals = NULL;
			unsigned char zero = 0;
			if (i < 0) {
				ts_header_shape(&h, TS_U8, 1, dims);
				ts_meta_set(&h.meta, "ckpt.format", "1");
				ts_meta_set(&h.meta, "ckpt.kind", "dcgan");
				ts_meta_setf(&h.meta, "ckpt.tensors", "%d", w.a.n + 1);
			} else {
				for (int d = 0; d < w.a.p[i].rank; d++)
					dims[d] = (uint64_t)w.a.p[i].dim[d];
				ts_header_shape(&h, TS_F32, w.a.p[i].rank, dims);
				ts_meta_set(&h.meta, "name", w.a.p[i].name);
				vals = nn_test_alloc(w.a.p[i].numel);
			}
			ts_writer *tw = NULL;
			fine = ts_writer_open(&tw, fileno(f), cut, &h, &o) == TS_OK &&
			       ts_write_frame(tw, vals ? (const void *)vals : &zero) == TS_OK &&
			       ts_writer_finish(tw) == TS_OK;
			ts_writer_free(tw);
			ts_header_free(&h);
			free(vals);
		}
		if (f)
			fclose(f);
		w.c.nopt = 0;
		w.c.nrng = 0;
		st = fine ? nn_ckpt_load(ctx, cut, &w.c) : -1;
		check(st == NN_CKPT_ERR_FORMAT && strstr(nn_error(), "truncated checkpoint"),
		      "cut at a segment boundary: status %d, message: %s", st, nn_error());
		destroy(&w);
		unlink(cut);
	}

	/* ---- atomicity of a failing save ---- */
	model big;
	if (build(&big, "dcgan", 64, 0, 0, 0, 1) == 0 && train(&big, 3, 1) == 0) {
		/* not setenv: PoCL's worker thread reads the environment while
		 * it compiles a kernel for its first launch (gdb: getenv of
		 * PATH, POCL_WORK_GROUP_METHOD and others in that thread), and
		 * setenv here made this test segfault now and then */
		ts_set_max_frame_bytes((uint64_t)1 << 20);
		st = nn_ckpt_save(ctx, ck, &big.c);
		ts_set_max_frame_bytes(0);
		size_t len2 = 0;
		unsigned char *now = slurp(ck, &len2);
		check(st != NN_CKPT_OK && now && len2 == len && orig && memcmp(now, orig, len) == 0 &&
		      temp_files() == 0,
		      "failing save (a 1.2 MB frame over a 1 MB limit): status %d, old file intact, no "
		      "temporary file (%s)", st, nn_error());
		free(now);
		st = nn_ckpt_save(ctx, ck, &big.c);
		check(st == NN_CKPT_OK && temp_files() == 0, "the same save without the limit succeeds");
	} else {
		check(0, "big model: %s", nn_error());
	}
	destroy(&big);
	/* the caller's stale "ckpt." entries (from a load) do not override */
	ts_meta_set(&y.meta, "ckpt.kind", "x");
	st = nn_ckpt_save(ctx, path_in("again.ckpt"), &y.c);
	ok = st == NN_CKPT_OK && build(&z, "dcgan", 64, 0, 0, 0, 0) == 0 &&
	     nn_ckpt_load(ctx, path_in("again.ckpt"), &z.c) == NN_CKPT_OK;
	check(ok && same_bits(&y, &z), "a caller's stale ckpt.kind entry is replaced on save (%s)",
	      ok ? "ok" : nn_error());
	destroy(&z);
	unlink(path_in("again.ckpt"));

	free(orig);
	destroy(&x);
	destroy(&y);
	unlink(ck);
	rmdir(dir);
	nn_ctx_free(ctx);
	return check_finish();
}
