/* test_ganrun: the wgan-gp model kind and the training loop of ganrun
 * (libstream/gan) on the OpenCL device.
 *
 *  1. One full generator iteration (n_critic 5: five critic steps, the
 *     generator stepped after the first) of the wgan-gp kind at size 16,
 *     latent 4, batch 4, from formula weights and batches and the engine's
 *     noise, against PyTorch-GAN's loop in torch 1.13 ($FIXTURES/ganrun,
 *     tests/make_ganrun_fixtures.py): every loss to 1e-4 relative, every
 *     parameter (sampled elements) to 1e-4 of the tensor's largest
 *     magnitude, and its update over the iteration to 1e-2 of the largest
 *     update (measure nn_err of test_nn_util.h).
 *  2. Resume: training 2 epochs equals training 1 epoch, checkpointing,
 *     loading and training 1 more; and a run stopped after its first batch
 *     (the stop flag a signal sets) then resumed equals the straight run.
 *     Weights and both Adam states bit-identical; counters equal.
 *  3. Learning: 256 16x16 discs of random radius and brightness (mean
 *     pixel 0.175); a short run (6 epochs, batch 16, n_critic 2, Adam
 *     5e-4) brings the mean pixel of 256 samples from fixed noise within
 *     0.05 of the data's, from an untrained generator more than 0.2 away
 *     (about 0.51).
 */
#include <errno.h>
#include <unistd.h>

#include "cli.h"
#include "gan/gan.h"
#include "nn/ckpt.h"
#include "test_nn_util.h"

static nn_ctx *ctx;

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

static float *arena_down(const nn_arena *a, cl_mem buf)
{
	float *h = nn_test_alloc(a->total);
	if (nn_read(ctx, h, nn_buf_of(buf, 0), a->total) != TG_CL_OK)
		check(0, "download: %s", nn_error());
	return h;
}

/* ---- 1. one iteration against PyTorch ---- */

#define MAXF 64

static struct {
	char role[64];
	size_t n;
	float *d;
} fx[MAXF];
static int nfx;

static const float *F(const char *role, size_t n)
{
	for (int i = 0; i < nfx; i++)
		if (strcmp(fx[i].role, role) == 0) {
			if (fx[i].n == n)
				return fx[i].d;
			check(0, "fixture: %s has %zu values, expected %zu", role, fx[i].n, n);
			return NULL;
		}
	check(0, "fixture: no %s", role);
	return NULL;
}

static int load_fixture(const char *dir)
{
	char path[1100], line[256], role[64];
	size_t n;
	snprintf(path, sizeof path, "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return check(0, "fixture: cannot open %s: %s", path, strerror(errno)), -1;
	while (fgets(line, sizeof line, f) && nfx < MAXF)
		if (sscanf(line, "tensor %63s %zu", role, &n) == 2) {
			snprintf(fx[nfx].role, sizeof fx[nfx].role, "%s", role);
			fx[nfx++].n = n;
		}
	fclose(f);
	snprintf(path, sizeof path, "%s/data.f32", dir);
	f = fopen(path, "rb");
	int ok = f != NULL && nfx > 0;
	for (int i = 0; ok && i < nfx; i++) {
		fx[i].d = nn_test_alloc(fx[i].n);
		ok = fread(fx[i].d, sizeof(float), fx[i].n, f) == fx[i].n;
	}
	ok = ok && fgetc(f) == EOF;
	if (f)
		fclose(f);
	if (!ok)
		return check(0, "fixture: %s missing or not matching its index", path), -1;
	return 0;
}

/* The formula weights of tests/make_ganrun_fixtures.py. */
static void formula_weights(const nn_arena *a, float *h)
{
	memset(h, 0, a->total * sizeof *h);
	double fan = 1;
	for (int t = 0; t < a->n; t++) {
		const nn_param *p = &a->p[t];
		size_t len = strlen(p->name);
		if (len >= 6 && strcmp(p->name + len - 6, "weight") == 0)
			fan = (double)(p->numel / (size_t)p->dim[0]);
		for (size_t j = 0; j < p->numel; j++)
			h[p->off + j] = (float)(1.0 / sqrt(fan) * sin(0.7 * (double)j + 1.3 * t + 0.5));
	}
}

static void test_iteration(void)
{
	const char *fxd = getenv("FIXTURES");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/ganrun", fxd ? fxd : "tests/fixtures");
	if (load_fixture(dir))
		return;
	const gan_model_kind *k = gan_model_kind_find("wgan-gp");
	gan_hparams hp;
	char why[128];
	memset(&hp, 0, sizeof hp);
	if (!check(k && k->defaults(16, &hp, why, sizeof why) == 0, "wgan-gp defaults at size 16"))
		return;
	check(hp.n_critic == 5 && hp.lambda_gp == 10 && hp.lr_g == 2e-4 && hp.lr_d == 2e-4 &&
	      hp.beta1 == 0.5 && hp.beta2 == 0.999 && hp.optimizer == NN_OPT_ADAM &&
	      hp.latent == 100,
	      "wgan-gp defaults: n_critic 5, lambda 10, Adam(2e-4, 0.5, 0.999), latent 100");
	gan_hparams h2;
	check(k->defaults(256, &h2, why, sizeof why) == 0 && h2.latent == 200 &&
	      k->defaults(64, &h2, why, sizeof why) == 0 && h2.latent == 100 &&
	      k->defaults(24, &h2, why, sizeof why) != 0 && k->defaults(512, &h2, why, sizeof why) != 0 &&
	      k->defaults(8, &h2, why, sizeof why) != 0,
	      "latent 100 at 64, 200 at 256; sizes 8, 24, 512 refused (%s)", why);
	hp.latent = 4;
	hp.batch = 4;
	hp.seed = 7;
	gan_model m;
	if (!st_ok("model", gan_model_create(ctx, k, 16, &hp, &m)))
		return;
	check(m.arena.n == 14 && strcmp(m.arena.p[0].name, "g.0.weight") == 0 &&
	      strcmp(m.arena.p[m.arena.n - 1].name, "d.5.bias") == 0,
	      "size 16: 14 tensors g.0.weight .. d.5.bias (%d)", m.arena.n);
	float *init = nn_test_alloc(m.arena.total);
	formula_weights(&m.arena, init);
	float *real = nn_test_alloc(5 * 4 * 256);
	for (int b = 0; b < 5; b++)
		for (int i = 0; i < 4; i++)
			for (int p = 0; p < 256; p++)
				real[(b * 4 + i) * 256 + p] =
					(float)(0.9 * sin(0.05 * p * (i + 1) + 0.9 * b + 0.3 * i));
	nn_buf dreal = nn_test_up(ctx, real, 5 * 4 * 256);
	const float *dl = F("d_loss", 5), *gp = F("gp", 5), *wd = F("wdist", 5), *gl = F("g_loss", 1);
	if (!dl || !gp || !wd || !gl ||
	    !st_ok("upload", nn_write(ctx, nn_buf_of(m.arena.params, 0), init, m.arena.total)))
		goto out;
	double worst_l = 0;
	for (long i = 0; i < 5; i++) {
		gan_losses L;
		if (!st_ok("train_step", k->train_step(&m, nn_at(dreal, (size_t)i * 4 * 256), 4, i, &L)))
			goto out;
		double e = fmax(rel(L.d_loss, dl[i]), fmax(rel(L.gp, gp[i]), rel(L.wdist, wd[i])));
		if (i == 0)
			e = fmax(e, rel(L.g_loss, gl[0]));
		worst_l = fmax(worst_l, e);
		check(e <= 1e-4 && L.d_step == 1 && L.g_step == (i == 0),
		      "batch %ld: critic loss %.7g (torch %.7g), GP %.7g (%.7g), W %.7g (%.7g)%s, "
		      "largest relative error %.2g (tolerance 1e-4)",
		      i, L.d_loss, dl[i], L.gp, gp[i], L.wdist, wd[i],
		      i == 0 ? ", generator stepped" : "", e);
	}
	check(m.opt_d.step == 5 && m.opt_g.step == 1, "Adam steps: critic %lld (5), generator %lld (1)",
	      m.opt_d.step, m.opt_g.step);
	float *now = arena_down(&m.arena, m.arena.params);
	double worst_w = 0, worst_u = 0;
	int bad = 0;
	for (int t = 0; t < m.arena.n; t++) {
		const nn_param *p = &m.arena.p[t];
		size_t s = (p->numel + 511) / 512, cnt = (p->numel + s - 1) / s;
		char role[96];
		snprintf(role, sizeof role, "final.%s", p->name);
		const float *ref = F(role, cnt);
		if (!ref) {
			bad = 1;
			continue;
		}
		float *ours = nn_test_alloc(cnt), *du = nn_test_alloc(cnt), *dr = nn_test_alloc(cnt);
		for (size_t j = 0; j < cnt; j++) {
			ours[j] = now[p->off + j * s];
			du[j] = ours[j] - init[p->off + j * s];
			dr[j] = ref[j] - init[p->off + j * s];
		}
		double e = nn_err(ours, ref, cnt), eu = nn_err(du, dr, cnt);
		worst_w = fmax(worst_w, e);
		worst_u = fmax(worst_u, eu);
		if (e > 1e-4 || eu > 1e-2) {
			bad = 1;
			check(0, "%s: weights error %.2g (tolerance 1e-4), update error %.2g (1e-2)",
			      p->name, e, eu);
		}
		free(ours);
		free(du);
		free(dr);
	}
	check(!bad, "after the iteration, all %d tensors against torch: largest weight error %.2g "
	      "(tolerance 1e-4), largest update error %.2g (1e-2)",
	      m.arena.n, worst_w, worst_u);
	free(now);
out:
	free(init);
	free(real);
	nn_test_free(dreal);
	gan_model_free(&m);
	for (int i = 0; i < nfx; i++)
		free(fx[i].d);
}

/* ---- 2. resume ---- */

static char tmpdir[256];

static gan_data upload_data(const float *host, long n, int size)
{
	gan_data d;
	d.x = nn_test_up(ctx, host, (size_t)n * size * size);
	d.n = n;
	d.size = size;
	return d;
}

static int train(gan_model *m, const gan_data *d, long long epochs, const char *ckpt,
                 volatile sig_atomic_t *stop)
{
	gan_train_opts o;
	memset(&o, 0, sizeof o);
	o.epochs = epochs;
	o.ckpt_path = ckpt;
	o.quiet = 1;
	o.prog = "test_ganrun";
	o.stop = stop;
	return gan_train(m, d, &o);
}

/* 1 when the two models have bit-identical parameters, Adam states and
 * counters. */
static int same_state(gan_model *a, gan_model *b, const char *what)
{
	cl_mem bufs[2][6] = {
		{ a->arena.params, a->opt_g.state[0], a->opt_g.state[1], a->opt_d.state[0],
		  a->opt_d.state[1], NULL },
		{ b->arena.params, b->opt_g.state[0], b->opt_g.state[1], b->opt_d.state[0],
		  b->opt_d.state[1], NULL },
	};
	int same = a->arena.total == b->arena.total;
	for (int i = 0; same && bufs[0][i]; i++) {
		float *x = arena_down(&a->arena, bufs[0][i]), *y = arena_down(&b->arena, bufs[1][i]);
		same = memcmp(x, y, a->arena.total * sizeof(float)) == 0;
		free(x);
		free(y);
	}
	int counters = a->epoch == b->epoch && a->g_steps == b->g_steps && a->d_steps == b->d_steps &&
	               a->opt_d.step == b->opt_d.step && a->opt_g.step == b->opt_g.step &&
	               a->rng.counter == b->rng.counter && a->data_rng.counter == b->data_rng.counter &&
	               a->batch_pos == b->batch_pos;
	return check(same && counters,
	             "%s: weights and Adam states bit-identical (%s), counters equal (%s: epoch %lld, "
	             "%lld/%lld generator/critic steps)",
	             what, same ? "yes" : "no", counters ? "yes" : "no", b->epoch, b->g_steps,
	             b->d_steps);
}

static void test_resume(void)
{
	const gan_model_kind *k = gan_model_kind_find("wgan-gp");
	gan_hparams hp;
	char why[128], p2[512], p1[512], ps[512];
	memset(&hp, 0, sizeof hp);
	k->defaults(16, &hp, why, sizeof why);
	hp.batch = 4;
	hp.latent = 8;
	hp.n_critic = 2;
	hp.seed = 11;
	enum { N = 10 };   /* 3 batches an epoch, the last of 2 */
	nn_rng r;
	nn_rng_init(&r, 5);
	float *host = nn_test_uniform(&r, (size_t)N * 256, -1, 1);
	gan_data d = upload_data(host, N, 16);
	snprintf(p2, sizeof p2, "%s/two.ckpt", tmpdir);
	snprintf(p1, sizeof p1, "%s/one.ckpt", tmpdir);
	snprintf(ps, sizeof ps, "%s/stopped.ckpt", tmpdir);
	gan_model a, b, c;
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	if (!st_ok("model a", gan_model_create(ctx, k, 16, &hp, &a)))
		goto out0;
	int rc = train(&a, &d, 2, p2, NULL);
	check(rc == 0 && a.epoch == 2 && a.d_steps == 6 && a.g_steps == 4,
	      "2 epochs of 10 images in batches of 4: 6 critic and 4 generator steps (%lld, %lld)",
	      a.d_steps, a.g_steps);
	/* one epoch, then a fresh process-like load and one more */
	if (!st_ok("model b", gan_model_create(ctx, k, 16, &hp, &b)))
		goto out;
	check(train(&b, &d, 1, p1, NULL) == 0 && b.epoch == 1, "1 epoch trained");
	gan_model_free(&b);
	int st = gan_ckpt_open(ctx, p1, 0, &b);
	if (!check(st == NN_CKPT_OK, "checkpoint after 1 epoch loads (%s)",
	           st == NN_CKPT_OK ? "ok" : nn_error()))
		goto out;
	check(b.epoch == 1 && b.hp.batch == 4 && b.hp.latent == 8 && b.hp.n_critic == 2 &&
	      b.hp.seed == 11 && b.opt_d.step == 3,
	      "checkpoint records epoch 1, batch, latent, n_critic, seed, Adam step 3");
	check(train(&b, &d, 2, p1, NULL) == 0, "resumed for a second epoch");
	same_state(&a, &b, "2 epochs vs 1 + resume 1");
	/* stopped after the first batch (a signal), resumed */
	volatile sig_atomic_t stop = 1;
	if (!st_ok("model c", gan_model_create(ctx, k, 16, &hp, &c)))
		goto out;
	rc = train(&c, &d, 2, ps, &stop);
	check(rc == 0 && c.epoch == 0 && c.batch_pos == 1 && c.d_steps == 1,
	      "stop flag: stops after the first batch, checkpoint written (batch %ld)", c.batch_pos);
	gan_model_free(&c);
	st = gan_ckpt_open(ctx, ps, 0, &c);
	if (!check(st == NN_CKPT_OK && c.batch_pos == 1, "stopped checkpoint loads, batch 1 of epoch 1"))
		goto out;
	check(train(&c, &d, 2, ps, NULL) == 0, "resumed mid-epoch");
	same_state(&a, &c, "2 epochs vs stopped after one batch + resumed");
	/* a damaged checkpoint (one byte of the last tensor changed) */
	FILE *f = fopen(p1, "r+b");
	if (f) {
		fseek(f, -100, SEEK_END);
		fputc('x', f);
		fclose(f);
	}
	gan_model e;
	st = gan_ckpt_open(ctx, p1, 0, &e);
	check(st == NN_CKPT_ERR_FORMAT, "a damaged checkpoint is refused as corrupt: %s", nn_error());
	if (st == NN_CKPT_OK)
		gan_model_free(&e);
out:
	gan_model_free(&a);
	gan_model_free(&b);
	gan_model_free(&c);
out0:
	nn_test_free(d.x);
	free(host);
	unlink(p1);
	unlink(p2);
	unlink(ps);
}

/* ---- 3. learning ---- */

#define LN 256

static double mean_of(const float *x, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

/* Mean pixel in [0, 1] of LN samples from fixed noise. */
static double sample_mean(gan_model *m, const float *z)
{
	size_t npix = 256;
	float *img = nn_test_alloc(npix * LN);
	for (int i = 0; i < LN; i += m->hp.batch) {
		nn_buf y;
		if (!st_ok("noise", nn_write(ctx, m->z, z + (size_t)i * m->hp.latent,
		                             (size_t)m->hp.batch * m->hp.latent)) ||
		    !st_ok("generate", gan_generate(m, m->z, m->hp.batch, &y)) ||
		    !st_ok("read", nn_read(ctx, img + (size_t)i * npix, y, (size_t)m->hp.batch * npix)))
			break;
	}
	for (size_t j = 0; j < npix * LN; j++)
		img[j] = fminf(fmaxf((img[j] + 1) * 0.5f, 0), 1);
	double mu = mean_of(img, npix * LN);
	free(img);
	return mu;
}

static void test_learning(void)
{
	const gan_model_kind *k = gan_model_kind_find("wgan-gp");
	gan_hparams hp;
	char why[128];
	memset(&hp, 0, sizeof hp);
	k->defaults(16, &hp, why, sizeof why);
	/* smaller and quicker than the defaults: 6 epochs of 16 batches,
	 * 48 generator steps, about 20 s on 2 cores with PoCL */
	hp.batch = 16;
	hp.latent = 16;
	hp.n_critic = 2;
	hp.lr_g = hp.lr_d = 5e-4;
	long long epochs = 6;
	hp.seed = 3;
	/* the data: discs of radius 2..6 and brightness 0.5..1 centred in
	 * [5, 11)^2 on black */
	nn_rng r;
	nn_rng_init(&r, 99);
	float *host = nn_test_alloc((size_t)LN * 256), par[5];
	for (int i = 0; i < LN; i++) {
		nn_rng_uniform(&r, par, 4, 0, 1);
		float rad = 2 + 4 * par[0], bri = 0.5f + 0.5f * par[1], cx = 5 + 6 * par[2],
		      cy = 5 + 6 * par[3];
		for (int y = 0; y < 16; y++)
			for (int x = 0; x < 16; x++) {
				float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
				host[i * 256 + y * 16 + x] = dx * dx + dy * dy < rad * rad ? bri : 0;
			}
	}
	double data_mu = mean_of(host, (size_t)LN * 256);
	for (size_t j = 0; j < (size_t)LN * 256; j++)
		host[j] = 2 * host[j] - 1;
	gan_data d = upload_data(host, LN, 16);
	float *z = nn_test_alloc((size_t)LN * hp.latent);
	nn_rng_init(&r, 1234);
	nn_rng_normal(&r, z, (size_t)LN * hp.latent, 0, 1);
	gan_model m;
	char path[512];
	snprintf(path, sizeof path, "%s/learn.ckpt", tmpdir);
	if (!st_ok("model", gan_model_create(ctx, k, 16, &hp, &m)))
		goto out0;
	double mu0 = sample_mean(&m, z);
	double t0 = tg_now();
	int rc = train(&m, &d, epochs, path, NULL);
	double secs = tg_now() - t0;
	double mu1 = sample_mean(&m, z);
	check(fabs(mu0 - data_mu) > 0.2, "untrained: mean pixel %.4f, data %.4f: more than 0.2 apart",
	      mu0, data_mu);
	check(rc == 0 && fabs(mu1 - data_mu) < 0.05,
	      "after %lld epochs (%lld generator steps, %.1f s): mean pixel %.4f, data %.4f: within "
	      "0.05",
	      m.epoch, m.g_steps, secs, mu1, data_mu);
	gan_model_free(&m);
out0:
	unlink(path);
	nn_test_free(d.x);
	free(host);
	free(z);
}

int main(void)
{
	ctx = nn_test_ctx("test_ganrun");
	if (!ctx)
		return check_finish();
	tg_set_quiet(1);
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_ganrun.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		check(0, "mkdtemp %s: %s", tmpdir, strerror(errno));
		return check_finish();
	}
	test_iteration();
	test_resume();
	test_learning();
	rmdir(tmpdir);
	nn_ctx_free(ctx);
	return check_finish();
}
