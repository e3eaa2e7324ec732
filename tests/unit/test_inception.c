/* test_inception: the FID Inception-v3 (libstream/fid/inception.h) against
 * PyTorch 1.13.  Fixtures in $FIXTURES/inception come from
 * tests/make_inception_fixtures.py (format described there): the layout of
 * pytorch-fid's weight file, a sample of the synthetic weights, small gray
 * images and their 64/192/768/2048-d features from the same network
 * written in PyTorch with the same synthetic weights.
 *
 * Checks: the weight table has exactly the names and shapes of the layout
 * in its order; the synthetic rule gives the script's values (relative
 * 1e-6); folding BatchNorm into the convolution equals conv + BatchNorm
 * (eval, eps 1e-3) + ReLU of the engine's references (1e-5 of the largest
 * output); the device's features equal PyTorch's (max |diff| / max |ref|
 * <= 1e-4) for 3 images of 37x41 run in batches of 2 (a full and a partial
 * batch), one 64x64 image and two whose resize to 299 shrinks one axis and
 * enlarges the other (311x29, 23x350), at every tap; bad arguments fail.
 *
 * With arguments, a benchmark instead (tests/bench/bench_inception.sh):
 *   test_inception --bench [batch [images [side]]]
 * prints images/s of 2048-d features for `images` synthetic side x side
 * frames (default 50, 100, 256). */
#include <errno.h>
#include <time.h>

#include "cli.h"
#include "fid/inception.h"
#include "test_nn_util.h"

#define TOL 1e-4

static const char *dir;

static float *read_f32(const char *name, size_t n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		check(0, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	float *p = nn_test_alloc(n);
	size_t got = fread(p, sizeof(float), n, f);
	int extra = fgetc(f) != EOF;
	fclose(f);
	if (got != n || extra) {
		check(0, "%s: expected %zu floats", path, n);
		free(p);
		return NULL;
	}
	return p;
}

static FILE *open_text(const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		check(0, "open %s: %s", path, strerror(errno));
	return f;
}

static void shape_text(const tg_inc_tensor *t, char *buf, size_t size)
{
	if (t->rank == 0) {
		snprintf(buf, size, "scalar");
		return;
	}
	size_t n = 0;
	for (int i = 0; i < t->rank && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, i ? "x%d" : "%d", t->dim[i]);
}

static void test_layout(const tg_inc_weights *w)
{
	FILE *f = open_text("layout.tsv");
	if (!f)
		return;
	char line[256], shape[64];
	int i = 0, bad = 0;
	while (fgets(line, sizeof line, f)) {
		char *tab = strchr(line, '\t');
		if (!tab) {
			bad++;
			continue;
		}
		*tab = '\0';
		tab[strcspn(tab + 1, "\n") + 1] = '\0';
		if (i >= w->n) {
			i++;
			continue;
		}
		shape_text(&w->t[i], shape, sizeof shape);
		if (strcmp(line, w->t[i].name) != 0 || strcmp(tab + 1, shape) != 0) {
			if (bad++ < 3)
				printf("layout %d: have %s %s, want %s %s\n", i, w->t[i].name, shape, line,
				       tab + 1);
		}
		i++;
	}
	fclose(f);
	check(bad == 0 && i == w->n && w->n == 566,
	      "weight table: %d tensors, names and shapes in the order of the layout (%d in the "
	      "layout, %d differ)", w->n, i, bad);
	check(tg_inc_weights_find(w, "Mixed_7c.branch3x3dbl_3b.conv.weight") &&
	      tg_inc_weights_find(w, "Mixed_7c.branch3x3dbl_3b.conv.weight")->numel == 384 * 384 * 3 &&
	      !tg_inc_weights_find(w, "Mixed_7c.nothing"), "weight table: lookup by name");
}

static void test_synthetic(const tg_inc_weights *w)
{
	FILE *f = open_text("weights_sample.txt");
	if (!f)
		return;
	char name[128];
	size_t idx;
	double want;
	int n = 0, bad = 0;
	double worst = 0;
	while (fscanf(f, "%127s %zu %lf", name, &idx, &want) == 3) {
		const tg_inc_tensor *t = tg_inc_weights_find(w, name);
		n++;
		if (!t || idx >= t->numel) {
			bad++;
			continue;
		}
		double e = fabs(t->data[idx] - want) / fabs(want);
		double e2 = fabs(tg_inc_synthetic_value(name, t->rank, t->dim, idx) - want) / fabs(want);
		e = e > e2 ? e : e2;
		worst = e > worst ? e : worst;
	}
	fclose(f);
	check(n >= 30 && bad == 0 && worst <= 1e-6,
	      "synthetic weights match the script's rule (%d values, worst relative %.2e)", n, worst);
	const tg_inc_tensor *nbt = tg_inc_weights_find(w, "Conv2d_1a_3x3.bn.num_batches_tracked");
	const tg_inc_tensor *var = tg_inc_weights_find(w, "Mixed_6c.branch7x7_2.bn.running_var");
	float lo = INFINITY;
	for (size_t i = 0; var && i < var->numel; i++)
		lo = var->data[i] < lo ? var->data[i] : lo;
	check(nbt && nbt->rank == 0 && nbt->numel == 1 && nbt->data[0] == 0 && var && lo >= 0.5f,
	      "synthetic weights: num_batches_tracked 0, running_var >= 0.5 (min %g)", lo);
}

/* conv(W', b') + ReLU == conv(W) + BatchNorm(eval) + ReLU on the references. */
static void test_fold(void)
{
	nn_rng r;
	nn_rng_init(&r, 77);
	nn_conv2d g;
	if (nn_conv2d_shape(&g, 2, 5, 9, 8, 6, 3, 1, 1, 1, 1, 0) != 0) {
		check(0, "fold: shape: %s", nn_error());
		return;
	}
	size_t nx = 2 * 5 * 9 * 8, nw = 6 * 5 * 3, ny = 2 * 6 * (size_t)g.OH * g.OW;
	float *x = nn_test_uniform(&r, nx, -1, 1), *w = nn_test_uniform(&r, nw, -0.5f, 0.5f);
	float *gamma = nn_test_uniform(&r, 6, 0.5f, 1.5f), *beta = nn_test_uniform(&r, 6, -0.3f, 0.3f);
	float *mean = nn_test_uniform(&r, 6, -0.5f, 0.5f), *var = nn_test_uniform(&r, 6, 0.01f, 2);
	float *y0 = nn_test_alloc(ny), *y1 = nn_test_alloc(ny), *save = nn_test_alloc(12);
	float *w2 = nn_test_alloc(nw), *b2 = nn_test_alloc(6), *yc = nn_test_alloc(ny);
	nn_ref_conv2d_forward(&g, yc, x, w, NULL);
	nn_ref_batchnorm_forward(y0, save, yc, gamma, beta, mean, var, 2, 6, g.OH * g.OW,
	                         TG_INC_BN_EPS, 0.1f, 0);
	nn_ref_relu_forward(y0, y0, ny);
	tg_inc_fold_bn(w2, b2, w, gamma, beta, mean, var, 6, 5 * 3, TG_INC_BN_EPS);
	nn_ref_conv2d_forward(&g, y1, x, w2, b2);
	nn_ref_relu_forward(y1, y1, ny);
	double e = nn_err(y1, y0, ny);
	check(e <= 1e-5, "BatchNorm folded into the conv equals conv + BatchNorm(eval) + ReLU "
	      "(error %.2e)", e);
	free(x), free(w), free(gamma), free(beta), free(mean), free(var);
	free(y0), free(y1), free(save), free(w2), free(b2), free(yc);
}

static void compare(tg_inception *net, const char *set, int n, int H, int W)
{
	char name[64];
	snprintf(name, sizeof name, "in_%s.f32", set);
	float *in = read_f32(name, (size_t)n * H * W);
	if (!in)
		return;
	float *out[TG_INC_NTAPS], *ref[TG_INC_NTAPS];
	for (int t = 0; t < TG_INC_NTAPS; t++) {
		size_t d = (size_t)tg_inc_tap_dims(t);
		snprintf(name, sizeof name, "%s_%zu.f32", set, d);
		ref[t] = read_f32(name, n * d);
		out[t] = nn_test_alloc(n * d);
		for (size_t i = 0; i < n * d; i++)
			out[t][i] = NAN;
	}
	int st = tg_inception_forward_taps(net, in, n, H, W, out);
	check(st == TG_CL_OK, "forward %d frames %dx%d (batch %d)%s%s", n, H, W,
	      tg_inception_batch(net), st ? ": " : "", st ? nn_error() : "");
	for (int t = 0; t < TG_INC_NTAPS; t++) {
		size_t d = (size_t)tg_inc_tap_dims(t);
		if (ref[t]) {
			double e = nn_err(out[t], ref[t], n * d);
			check(e <= TOL, "%zu-d features of %d frames %dx%d vs PyTorch: error %.2e (tol %g)",
			      d, n, H, W, e, TOL);
		}
		free(ref[t]);
	}
	/* the single-tap entry gives the same 2048-d features */
	float *f = nn_test_alloc((size_t)n * 2048);
	st = tg_inception_forward(net, in, n, H, W, 2048, f);
	check(st == TG_CL_OK && memcmp(f, out[TG_INC_TAP2048], (size_t)n * 2048 * sizeof(float)) == 0,
	      "tg_inception_forward(2048) equals the 2048 tap of forward_taps");
	free(f);
	for (int t = 0; t < TG_INC_NTAPS; t++)
		free(out[t]);
	free(in);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long arg(char **argv, int argc, int i, long def, long lo, long hi)
{
	if (i >= argc)
		return def;
	char *end;
	errno = 0;
	long v = strtol(argv[i], &end, 10);
	if (errno || *end || end == argv[i] || v < lo || v > hi) {
		fprintf(stderr, "test_inception: bad number '%s' (%ld to %ld)\n", argv[i], lo, hi);
		exit(64);
	}
	return v;
}

static int bench(nn_ctx *ctx, int argc, char **argv)
{
	int batch = (int)arg(argv, argc, 2, TG_INC_BATCH, 1, 1000);
	int n = (int)arg(argv, argc, 3, 100, 1, 100000);
	int side = (int)arg(argv, argc, 4, 256, 1, 4096);
	tg_inc_weights w;
	tg_inception *net = NULL;
	if (tg_inc_weights_init(&w) != TG_CL_OK)
		return 70;
	tg_inc_weights_synthetic(&w);
	double t0 = now();
	if (tg_inception_create(&net, ctx, &w, batch) != TG_CL_OK) {
		fprintf(stderr, "test_inception: %s\n", nn_error());
		return 70;
	}
	tg_inc_weights_free(&w);
	double t_create = now() - t0;
	nn_rng r;
	nn_rng_init(&r, 5);
	size_t hw = (size_t)side * side;
	float *frames = nn_test_uniform(&r, (size_t)batch * hw, 0, 1);
	float *big = nn_test_alloc((size_t)n * hw);
	for (int i = 0; i < n; i++)
		memcpy(big + (size_t)i * hw, frames + (size_t)(i % batch) * hw, hw * sizeof(float));
	float *feat = nn_test_alloc((size_t)(n > batch ? n : batch) * 2048);
	t0 = now();
	int st = tg_inception_forward(net, frames, batch, side, side, 2048, feat);  /* warm-up */
	double t_warm = now() - t0;
	t0 = now();
	if (st == TG_CL_OK)
		st = tg_inception_forward(net, big, n, side, side, 2048, feat);
	double t = now() - t0;
	if (st != TG_CL_OK) {
		fprintf(stderr, "test_inception: %s\n", nn_error());
		return 70;
	}
	printf("tomogan inception (%s): %d frames %dx%d, batch %d: %.2f s, %.2f images/s "
	       "(create %.2f s, first batch %.2f s)\n", ctx->cl->name, n, side, side, batch, t,
	       n / t, t_create, t_warm);
	tg_inception_free(net);
	free(frames), free(big), free(feat);
	return 0;
}

int main(int argc, char **argv)
{
	/* tg_init: OpenBLAS's fast kernels on CPUs it does not recognise (cli.c) */
	tg_init(argc, argv, "test_inception", "test_inception");
	nn_ctx *ctx = NULL;
	if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
		if (!(ctx = nn_test_ctx("test_inception")))
			return 69;
		return bench(ctx, argc, argv);
	}
	const char *fx = getenv("FIXTURES");
	static char path[1024];
	snprintf(path, sizeof path, "%s/inception", fx ? fx : "tests/fixtures");
	dir = path;

	tg_inc_weights w;
	if (!check(tg_inc_weights_init(&w) == TG_CL_OK, "weight table allocated"))
		return check_finish();
	tg_inc_weights_synthetic(&w);
	test_layout(&w);
	test_synthetic(&w);
	test_fold();

	if (!(ctx = nn_test_ctx("test_inception device"))) {
		tg_inc_weights_free(&w);
		return check_finish();
	}
	tg_inception *net = NULL;
	check(tg_inception_create(&net, ctx, &w, 0) != TG_CL_OK && net == NULL,
	      "batch 0 is refused (%s)", nn_error());
	int st = tg_inception_create(&net, ctx, &w, 2);
	if (!check(st == TG_CL_OK, "create with batch 2%s%s", st ? ": " : "", st ? nn_error() : "")) {
		tg_inc_weights_free(&w);
		return check_finish();
	}
	compare(net, "a", 3, 37, 41);
	compare(net, "b", 1, 64, 64);
	compare(net, "c", 1, 311, 29);
	compare(net, "d", 1, 23, 350);
	float in[4] = { 0.5f, 0.5f, 0.5f, 0.5f }, f[2048];
	check(tg_inception_forward(net, in, 1, 2, 2, 100, f) != TG_CL_OK,
	      "100 dimensions are refused (%s)", nn_error());
	check(tg_inception_forward(net, in, 1, 0, 2, 2048, f) != TG_CL_OK,
	      "an empty frame is refused (%s)", nn_error());
	/* a missing tensor is reported by name */
	tg_inc_tensor *t = tg_inc_weights_find(&w, "Mixed_6e.branch_pool.bn.running_var");
	snprintf(t->name, sizeof t->name, "renamed");
	tg_inception *bad = NULL;
	st = tg_inception_create(&bad, ctx, &w, 1);
	check(st != TG_CL_OK && !bad && strstr(nn_error(), "Mixed_6e.branch_pool.bn.running_var"),
	      "a missing weight is named (%s)", nn_error());
	tg_inception_free(net);
	tg_inc_weights_free(&w);
	return check_finish();
}
