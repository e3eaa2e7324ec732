/* test_gan_zoo: one training iteration of each model kind of
 * libstream/gan/zoo.c (gan, wgan, dcgan, simple-gan) against PyTorch on the
 * OpenCL device.
 *
 * The fixture ($FIXTURES/gan_zoo, tests/make_gan_zoo_fixtures.py, torch
 * 1.13, float32) holds, per model, the same architecture on 1x16x16 images
 * with hidden widths divided by a factor and a small latent size, its
 * initial weights and running statistics, a real batch of 6, the noise,
 * and after one iteration of PyTorch-GAN's loop (gan.py / wgan.py /
 * dcgan.py; simple-gan with its own optimizers) the generator and
 * discriminator losses and every weight and running statistic.  Dropout
 * layers have p = 0 there and are the identity here
 * (gan_zoo_test_config's dropout_off), since the two generators' masks
 * cannot agree; seq dropout is tested in test_nn_seq_ext.
 *
 * Here each model is created through the registry (gan_model_kind_find,
 * the kind's defaults with batch and latent overridden, gan_model_create),
 * the fixture's initial tensors are loaded by name into the arena (every
 * arena tensor must have one), the noise is injected (gan_zoo_test_noise),
 * and kind->train_step runs once with batch index 0.  Checks:
 *  - the step reports a generator and a discriminator step;
 *  - g_loss and d_loss agree with torch to 1e-4 relative;
 *  - every arena tensor (weights, biases, running statistics) agrees with
 *    torch's after-state to 1e-4 by max |ours - torch| / max |torch| over
 *    the tensor (nn_err, test_nn_util.h), except the bias of a layer
 *    followed by a training BatchNorm (below), whose first update is the
 *    size of the step whatever its noise-level gradient: it agrees to
 *    1e-4 plus twice the largest first step relative to the tensor; a
 *    tensor moved by Adam's first step is measured by adam_first_err,
 *    which allows for the step's conditioning where a gradient is at
 *    rounding-noise level;
 *  - the update of every trainable tensor (after - before) agrees with
 *    torch's to 5e-2 by the same measure: Adam's and RMSprop's first
 *    updates are about lr (times a small factor), small beside the
 *    weights, so the weight check alone would pass a wrong update.  The
 *    first step of either optimizer is about lr g / (|g| + eps), so an
 *    element whose gradient is at rounding-noise level moves by up to lr
 *    either way: hence 5e-2 rather than 1e-4, and no update check for the
 *    bias of a layer followed by a training BatchNorm, directly or through
 *    LeakyReLU and dropout only (its gradient is zero in exact arithmetic,
 *    or near zero when a channel's slopes agree; the weight check still
 *    holds).
 *    For wgan D's weights are compared after clipping, as they are.
 *  - G and D each have at least one tensor that moved (the test fails
 *    when a model is not trained).
 * Also: the defaults of each kind (optimizer, learning rates, n_critic,
 * clip, batch, latent) and their size rules.
 */
#include <errno.h>

#include "gan/gan.h"
#include "gan/zoo.h"
#include "test_nn_util.h"

#define TOL 1e-4
#define TOL_UPD 5e-2
#define MAXT 400

static nn_ctx *ctx;

typedef struct {
	char model[32], role[96];
	size_t n;
	float *data;
} ftensor;

static ftensor fx[MAXT];
static int nfx;

typedef struct {
	char model[32];
	int B, latent, div;
} fcase;

static fcase cases[8];
static int ncases;

static int load_fixture(const char *dir)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return check(0, "fixture: cannot open %s: %s", path, strerror(errno)), -1;
	char line[512], mn[32], role[96];
	size_t n;
	fcase c;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "case %31s %d %d %d", c.model, &c.B, &c.latent, &c.div) == 4 &&
		    ncases < 8)
			cases[ncases++] = c;
		else if (sscanf(line, "tensor %31s %95s %zu", mn, role, &n) == 3 && nfx < MAXT) {
			snprintf(fx[nfx].model, sizeof fx[nfx].model, "%s", mn);
			snprintf(fx[nfx].role, sizeof fx[nfx].role, "%s", role);
			fx[nfx++].n = n;
		}
	}
	fclose(f);
	int ok = ncases > 0;
	for (int k = 0; k < ncases && ok; k++) {
		snprintf(path, sizeof path, "%s/%s.f32", dir, cases[k].model);
		if (!(f = fopen(path, "rb")))
			return check(0, "fixture: cannot open %s: %s", path, strerror(errno)), -1;
		for (int i = 0; i < nfx && ok; i++)
			if (strcmp(fx[i].model, cases[k].model) == 0) {
				fx[i].data = nn_test_alloc(fx[i].n);
				ok = fread(fx[i].data, sizeof(float), fx[i].n, f) == fx[i].n;
			}
		ok = ok && fgetc(f) == EOF;
		fclose(f);
	}
	if (!ok)
		return check(0, "fixture: the files do not hold the tensors of the index"), -1;
	return 0;
}

/* Tensor ROLE of model (prefix "init."/"after." or none), or NULL. */
static const float *T(const char *model, const char *prefix, const char *name, size_t n,
                      int report)
{
	char role[160];
	snprintf(role, sizeof role, "%s%s", prefix, name);
	for (int i = 0; i < nfx; i++)
		if (strcmp(fx[i].model, model) == 0 && strcmp(fx[i].role, role) == 0) {
			if (fx[i].n == n)
				return fx[i].data;
			check(0, "%s: fixture %s has %zu elements, expected %zu", model, role, fx[i].n,
			      n);
			return NULL;
		}
	if (report)
		check(0, "%s: fixture has no tensor %s", model, role);
	return NULL;
}

static int st_ok(const char *what, int st)
{
	if (st != TG_CL_OK)
		check(0, "%s: %s", what, nn_error());
	return st == TG_CL_OK;
}

static double rel(double a, double r)
{
	return fabs(a - r) / (fabs(r) > 1e-12 ? fabs(r) : 1e-12);
}

/* 1 if arena tensor i is the bias of a layer followed by a BatchNorm with
 * at most LeakyReLU and dropout between: in training the bias gradient is
 * zero in exact arithmetic without the LeakyReLU, and near zero with it
 * when the slopes within a channel mostly agree. */
static int bias_before_bn(const nn_seq *m, int i)
{
	for (int j = 0; j + 1 < m->n; j++) {
		if (m->l[j].b != i)
			continue;
		int k = j + 1;
		while (k < m->n && (m->l[k].kind == NN_LAYER_LEAKY_RELU ||
		                    m->l[k].kind == NN_LAYER_DROPOUT))
			k++;
		return k < m->n && m->l[k].kind == NN_LAYER_BATCHNORM;
	}
	return 0;
}

/* nn_err(got, after, n) for a tensor moved by Adam's first step, which is
 * lr g / (|g| + eps) per element: ill-conditioned where |g| is within a
 * hundred eps (1e-6 and below, the rounding-noise level of a gradient whose
 * sum nearly cancels, as a BatchNorm shift's does when a padded conv and
 * another training BatchNorm follow), where a relative gradient error d
 * moves the step by up to lr (1 - s) d, s = |step| / lr.  Such an element
 * may differ from torch's by that much more, with d = 1e-2; elements of a
 * full step (s = 1) are held to nn_err's measure alone. */
static double adam_first_err(const float *got, const float *init, const float *after, size_t n,
                             double lr)
{
	double d = 0, m = 0;
	for (size_t j = 0; j < n; j++) {
		double s = fmin(1.0, fabs((double)after[j] - init[j]) / lr);
		double e = fabs((double)got[j] - after[j]) - lr * (1 - s) * 1e-2;
		if (isnan(e))
			return INFINITY;
		d = fmax(d, e);
		m = fmax(m, fabs((double)after[j]));
	}
	return d / (m > 1e-6 ? m : 1e-6);
}

static void run_case(const fcase *c)
{
	const char *name = c->model;
	const gan_model_kind *k = gan_model_kind_find(name);
	if (!check(k != NULL, "%s: kind in the registry", name))
		return;
	gan_hparams hp;
	char why[256];
	memset(&hp, 0, sizeof hp);
	if (!check(k->defaults(16, &hp, why, sizeof why) == 0, "%s: defaults at 16: %s", name, why))
		return;
	hp.batch = c->B;
	hp.latent = c->latent;
	hp.seed = 7;
	gan_zoo_test_config(c->div, 1);
	gan_model m;
	int st = gan_model_create(ctx, k, 16, &hp, &m);
	gan_zoo_test_config(1, 0);
	if (!st_ok(name, st))
		return;
	nn_arena *a = &m.arena;
	/* load the initial state; every arena tensor must be in the fixture */
	int loaded = 1;
	for (int i = 0; i < a->n && loaded; i++) {
		const float *v = T(name, "init.", a->p[i].name, a->p[i].numel, 1);
		loaded = v && st_ok("upload", nn_write(ctx, nn_arena_param(a, i), v, a->p[i].numel));
	}
	int nafter = 0;
	for (int i = 0; i < nfx; i++)
		nafter += strcmp(fx[i].model, name) == 0 && strncmp(fx[i].role, "after.", 6) == 0;
	check(nafter == a->n, "%s: %d arena tensors, %d in the fixture", name, a->n, nafter);
	size_t npix = (size_t)c->B * 16 * 16;
	const float *real = T(name, "", "real", npix, 1), *z = T(name, "", "z",
	                                                          (size_t)c->B * c->latent, 1);
	const float *gl = T(name, "", "g_loss", 1, 1), *dl = T(name, "", "d_loss", 1, 1);
	if (!loaded || !real || !z || !gl || !dl) {
		gan_model_free(&m);
		return;
	}
	nn_buf rb = nn_test_up(ctx, real, npix), zb = nn_test_up(ctx, z, (size_t)c->B * c->latent);
	gan_zoo_test_noise(zb);
	gan_losses L;
	st = k->train_step(&m, rb, c->B, 0, &L);
	gan_zoo_test_noise(NN_NONE);
	if (st_ok("train_step", st)) {
		check(L.g_step == 1 && L.d_step == 1, "%s: one generator and one discriminator step",
		      name);
		check(rel(L.g_loss, gl[0]) <= TOL, "%s: g_loss %.7g, torch %.7g", name, L.g_loss,
		      (double)gl[0]);
		check(rel(L.d_loss, dl[0]) <= TOL, "%s: d_loss %.7g, torch %.7g", name, L.d_loss,
		      (double)dl[0]);
		double worst = 0, worst_u = 0;
		int bad = 0, badu = 0, zero = 0, moved[2] = { 0, 0 };
		for (int i = 0; i < a->n; i++) {
			size_t n = a->p[i].numel;
			const float *after = T(name, "after.", a->p[i].name, n, 1);
			const float *init = T(name, "init.", a->p[i].name, n, 1);
			if (!after || !init) {
				bad++;
				continue;
			}
			float *got = nn_test_down(ctx, nn_arena_param(a, i), n);
			double e = nn_err(got, after, n), tol = TOL;
			int g_side = a->p[i].name[0] == 'g';
			if (hp.optimizer == NN_OPT_ADAM && !nn_seq_is_stat(&m.G, i) &&
			    !nn_seq_is_stat(&m.D, i))
				e = adam_first_err(got, init, after, n, g_side ? hp.lr_g : hp.lr_d);
			if (bias_before_bn(g_side ? &m.G : &m.D, i)) {
				/* Its gradient is rounding noise, and the first step of Adam
				 * or RMSprop moves an element by up to lr / sqrt(1 - alpha)
				 * (RMSprop) or lr (Adam) whatever the gradient's size, in
				 * the direction of that noise: ours and torch's may differ
				 * by twice that, relative to the tensor's largest value. */
				double lr = g_side ? hp.lr_g : hp.lr_d, mx = 0;
				double step = hp.optimizer == NN_OPT_RMSPROP ? lr / sqrt(1 - hp.alpha) : lr;
				for (size_t j = 0; j < n; j++)
					mx = fmax(mx, fabs(after[j]));
				if (mx > 0)
					tol += 2 * step / mx;
			}
			if (tol == TOL && e > worst)
				worst = e;
			if (getenv("ZOO_VERBOSE"))
				printf("note %s: %s error %.2g (tolerance %.2g)\n", name, a->p[i].name, e, tol);
			if (e > tol) {
				bad++;
				check(0, "%s: %s error %.2g (tolerance %.2g)", name, a->p[i].name, e, tol);
			}
			if (!nn_seq_is_stat(&m.G, i) && !nn_seq_is_stat(&m.D, i) &&
			    !bias_before_bn(&m.G, i) && !bias_before_bn(&m.D, i)) {
				float *du = nn_test_alloc(n), *tu = nn_test_alloc(n);
				double mx = 0;
				for (size_t j = 0; j < n; j++) {
					du[j] = got[j] - init[j];
					tu[j] = after[j] - init[j];
					mx = fmax(mx, fabs(du[j]));
				}
				double eu = nn_err(du, tu, n);
				if (mx == 0)
					zero++;
				else
					moved[a->p[i].name[0] == 'g' ? 0 : 1] = 1;
				if (eu > worst_u)
					worst_u = eu;
				if (getenv("ZOO_VERBOSE"))
					printf("note %s: update of %s error %.2g\n", name, a->p[i].name, eu);
				if (eu > TOL_UPD) {
					badu++;
					check(0, "%s: update of %s error %.2g (tolerance %g)", name,
					      a->p[i].name, eu, TOL_UPD);
				}
				free(du);
				free(tu);
			}
			free(got);
		}
		check(bad == 0, "%s: %d tensors after one iteration, worst error %.2g (tolerance %g)",
		      name, a->n, worst, TOL);
		check(badu == 0, "%s: updates, worst error %.2g (tolerance %g)", name, worst_u,
		      TOL_UPD);
		check(moved[0] && moved[1], "%s: G and D trained (%d trainable tensors unchanged)",
		      name, zero);
	}
	nn_test_free(rb);
	nn_test_free(zb);
	gan_model_free(&m);
}

static void test_defaults(void)
{
	gan_hparams hp;
	char why[256];
	const gan_model_kind *g = gan_model_kind_find("gan"), *w = gan_model_kind_find("wgan"),
	                     *d = gan_model_kind_find("dcgan"), *s = gan_model_kind_find("simple-gan");
	if (!check(g && w && d && s, "registry lists gan, wgan, dcgan, simple-gan"))
		return;
	memset(&hp, 0, sizeof hp);
	check(g->defaults(28, &hp, why, sizeof why) == 0 && hp.optimizer == NN_OPT_ADAM &&
	              hp.lr_g == 2e-4 && hp.lr_d == 2e-4 && hp.beta1 == 0.5 && hp.beta2 == 0.999 &&
	              hp.batch == 64 && hp.latent == 100 && g->noise == GAN_NOISE_NORMAL,
	      "gan defaults: Adam 2e-4 (0.5, 0.999), batch 64, latent 100, N(0,1)");
	memset(&hp, 0, sizeof hp);
	check(w->defaults(28, &hp, why, sizeof why) == 0 && hp.optimizer == NN_OPT_RMSPROP &&
	              hp.lr_g == 5e-5 && hp.lr_d == 5e-5 && hp.n_critic == 5 && hp.clip == 0.01,
	      "wgan defaults: RMSprop 5e-5, n_critic 5, clip 0.01");
	memset(&hp, 0, sizeof hp);
	check(d->defaults(32, &hp, why, sizeof why) == 0 && hp.optimizer == NN_OPT_ADAM &&
	              d->defaults(30, &hp, why, sizeof why) != 0 && strstr(why, "divisible by 4"),
	      "dcgan: size 32 accepted, 30 refused (%s)", why);
	memset(&hp, 0, sizeof hp);
	check(s->defaults(40, &hp, why, sizeof why) == 0 && hp.optimizer == NN_OPT_RMSPROP &&
	              hp.lr_d == 1e-4 && hp.lr_g == 2e-4 && hp.weight_decay == 1e-5 &&
	              hp.batch == 16 && hp.latent == 100 && s->noise == GAN_NOISE_UNIFORM,
	      "simple-gan defaults at 40: RMSprop D 1e-4 G 2e-4, L2 1e-5, batch 16, latent 100, "
	      "U[-1,1]");
}

/* A real-size model builds and one step on random data gives finite
 * losses (dropout on, the rng drawing masks). */
static void test_real_size(const char *name, int size)
{
	const gan_model_kind *k = gan_model_kind_find(name);
	gan_hparams hp;
	char why[256];
	memset(&hp, 0, sizeof hp);
	if (!k || k->defaults(size, &hp, why, sizeof why))
		return (void)check(0, "%s: defaults at %d", name, size);
	hp.batch = 4;
	hp.seed = 11;
	gan_model m;
	if (!st_ok(name, gan_model_create(ctx, k, size, &hp, &m)))
		return;
	nn_rng r;
	nn_rng_init(&r, 5);
	size_t n = (size_t)hp.batch * size * size;
	float *x = nn_test_uniform(&r, n, -1.0f, 1.0f);
	nn_buf xb = nn_test_up(ctx, x, n);
	gan_losses L;
	int ok = st_ok("train_step", k->train_step(&m, xb, hp.batch, 0, &L));
	nn_buf out;
	if (ok)
		ok = st_ok("generate", gan_generate(&m, m.z, 2, &out));
	float *img = ok ? nn_test_down(ctx, out, 2 * (size_t)size * size) : NULL;
	int fin = ok;
	for (size_t i = 0; img && i < 2 * (size_t)size * size; i++)
		fin = fin && isfinite(img[i]);
	check(ok && isfinite(L.d_loss) && isfinite(L.g_loss) && fin,
	      "%s at %d (real widths, dropout on): finite losses %g %g and samples", name, size,
	      L.d_loss, L.g_loss);
	free(img);
	free(x);
	nn_test_free(xb);
	gan_model_free(&m);
}

int main(void)
{
	if (!(ctx = nn_test_ctx("test_gan_zoo")))
		return check_finish();
	test_defaults();
	const char *fxd = getenv("FIXTURES");
	char dir[512];
	snprintf(dir, sizeof dir, "%s/gan_zoo", fxd ? fxd : "tests/fixtures");
	if (load_fixture(dir) == 0)
		for (int k = 0; k < ncases; k++)
			run_case(&cases[k]);
	test_real_size("dcgan", 16);
	test_real_size("simple-gan", 16);
	test_real_size("gan", 8);
	for (int i = 0; i < nfx; i++)
		free(fx[i].data);
	return check_finish();
}
