/* test_nn_step: whole WGAN-GP training iterations (nn/seq.h, nn/gp.h,
 * nn/optim.h) against PyTorch on the OpenCL device.
 *
 * The fixture ($FIXTURES/nn_step, tests/make_nn_step_fixtures.py, torch
 * 1.13, float32) holds the initial weights of a miniature WGAN-GP critic D
 * (1x16x16) and a small generator G, the inputs, and the losses and every
 * weight after each of three iterations of PyTorch-GAN's wgan_gp.py loop
 * with Adam(lr 2e-4, betas (0.5, 0.999)) for both models, batch 4,
 * lambda_gp 10: a critic iteration (d1), a generator iteration (g1), a
 * second critic iteration (d2, Adam's second step for D).
 *
 * Here both models share one parameter arena with one Adam optimizer each
 * (the other model's tensors assigned to NN_OPT_NONE), and the same
 * sequence runs with nn_gp_critic_step / nn_gp_generator_step and
 * nn_optim_step, without re-loading weights between iterations.  After each
 * iteration:
 *  - the loss (and for the critic GP) agrees with torch to 1e-4 relative;
 *  - every weight tensor agrees to 1e-4: max |ours - torch| / max |torch|
 *    over the tensor (nn_err, test_nn_util.h);
 *  - the update of every tensor the iteration trains, ours (after - before)
 *    against torch's, agrees to 1e-2 by the same measure (max |diff| / max
 *    |torch update|).  Adam's update is about lr times the sign of the
 *    gradient, 2e-4, small beside the weights (up to about 0.7): the 1e-4
 *    weight check alone would pass an update that is 15% off;
 *  - the other model's weights are bit-identical to what they were before
 *    (the generator iteration leaves D alone and the critic iteration G).
 */
#include <errno.h>

#include "nn/gp.h"
#include "nn/optim.h"
#include "test_nn_util.h"

#define TOL 1e-4     /* losses, weights */
#define TOL_UPD 1e-2 /* updates */
#define BATCH 4
#define LATENT 8
#define MAXT 160

static nn_ctx *ctx;

typedef struct {
	char role[64];
	size_t n;
	float *data;
} ftensor;

static ftensor fx[MAXT];
static int nfx;

static int load_fixture(const char *dir)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return check(0, "fixture: cannot open %s: %s", path, strerror(errno)), -1;
	char line[512], cn[64], role[64];
	size_t n;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "tensor %63s %63s %zu", cn, role, &n) == 3 &&
		    strcmp(cn, "step") == 0 && nfx < MAXT) {
			snprintf(fx[nfx].role, sizeof fx[nfx].role, "%s", role);
			fx[nfx++].n = n;
		}
	fclose(f);
	snprintf(path, sizeof path, "%s/step.f32", dir);
	f = fopen(path, "rb");
	if (!f || nfx == 0) {
		if (f)
			fclose(f);
		return check(0, "fixture: cannot open %s or no tensors", path), -1;
	}
	int ok = 1;
	for (int i = 0; i < nfx && ok; i++) {
		fx[i].data = nn_test_alloc(fx[i].n);
		ok = fread(fx[i].data, sizeof(float), fx[i].n, f) == fx[i].n;
	}
	ok = ok && fgetc(f) == EOF;
	fclose(f);
	if (!ok)
		return check(0, "fixture: %s does not hold the tensors of the index", path), -1;
	return 0;
}

/* Tensor "PREFIX.NAME" (prefix may be empty) of n elements, or NULL after
 * a FAIL line. */
static const float *T(const char *prefix, const char *name, size_t n)
{
	char role[128];
	snprintf(role, sizeof role, "%s%s%s", prefix, *prefix ? "." : "", name);
	for (int i = 0; i < nfx; i++)
		if (strcmp(fx[i].role, role) == 0) {
			if (fx[i].n == n)
				return fx[i].data;
			check(0, "fixture: %s has %zu elements, expected %zu", role, fx[i].n, n);
			return NULL;
		}
	check(0, "fixture: no tensor %s", role);
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

static int is_model(const nn_arena *a, int i, char m)
{
	return a->p[i].name[0] == m && a->p[i].name[1] == '.';
}

/* Host copy of every parameter of the arena, h[i] for tensor i. */
static void download(const nn_arena *a, float **h)
{
	for (int i = 0; i < a->n; i++) {
		free(h[i]);
		h[i] = nn_test_down(ctx, nn_arena_param(a, i), a->p[i].numel);
	}
}

static double worst_w, worst_u;   /* over the whole test, for the report */

/* After iteration `it` (which trained model `trained`, 'G' or 'D'): our
 * weights now[] against torch's "it.NAME"; updates now - before against
 * torch's "it.NAME" - "prev.NAME" for the trained model; the other model
 * bit-identical to before[]. */
static void compare(const nn_arena *a, const char *it, const char *prev, char trained,
                    float *const *now, float *const *before)
{
	for (int i = 0; i < a->n; i++) {
		const char *name = a->p[i].name;
		size_t n = a->p[i].numel;
		const float *ref = T(it, name, n), *ref0 = T(prev, name, n);
		if (!ref || !ref0)
			continue;
		double e = nn_err(now[i], ref, n);
		worst_w = fmax(worst_w, e);
		if (!is_model(a, i, trained)) {
			check(e <= TOL && memcmp(now[i], before[i], n * sizeof(float)) == 0,
			      "%s: %s unchanged (bit-identical), error against torch %.2g "
			      "(tolerance %g)",
			      it, name, e, TOL);
			continue;
		}
		float *du = nn_test_alloc(n), *dr = nn_test_alloc(n);
		for (size_t j = 0; j < n; j++) {
			du[j] = now[i][j] - before[i][j];
			dr[j] = ref[j] - ref0[j];
		}
		double eu = nn_err(du, dr, n);
		worst_u = fmax(worst_u, eu);
		check(e <= TOL && eu <= TOL_UPD,
		      "%s: %s: weights error %.2g (tolerance %g), update error %.2g (tolerance %g)",
		      it, name, e, TOL, eu, TOL_UPD);
		free(du);
		free(dr);
	}
}

static int build(nn_seq *G, nn_seq *D, nn_arena *a)
{
	return nn_seq_init(G, a, "G", LATENT, 1, 1) == 0 && nn_seq_linear(G, 8 * 8 * 8, 1) >= 0 &&
	       nn_seq_reshape(G, 8, 8, 8) >= 0 && nn_seq_upsample(G, 2) >= 0 &&
	       nn_seq_conv2d(G, 4, 3, 3, 1, 1, 1, 1, 1) >= 0 && nn_seq_relu(G) >= 0 &&
	       nn_seq_conv2d(G, 1, 3, 3, 1, 1, 1, 1, 1) >= 0 && nn_seq_tanh(G) >= 0 &&
	       nn_seq_init(D, a, "D", 1, 16, 16) == 0 &&
	       nn_seq_conv2d(D, 4, 3, 3, 1, 1, 1, 1, 1) >= 0 && nn_seq_leaky_relu(D, 0.2f) >= 0 &&
	       nn_seq_conv2d(D, 4, 3, 3, 2, 2, 1, 1, 1) >= 0 && nn_seq_leaky_relu(D, 0.2f) >= 0 &&
	       nn_seq_conv2d(D, 8, 3, 3, 1, 1, 1, 1, 1) >= 0 && nn_seq_leaky_relu(D, 0.2f) >= 0 &&
	       nn_seq_conv2d(D, 8, 3, 3, 2, 2, 1, 1, 1) >= 0 && nn_seq_leaky_relu(D, 0.2f) >= 0 &&
	       nn_seq_flatten(D) >= 0 && nn_seq_linear(D, 1, 1) >= 0;
}

static int adam(nn_optim *o, nn_arena *a, const char *other)
{
	if (!st_ok("Adam init", nn_optim_init(ctx, o, NN_OPT_ADAM, a)))
		return -1;
	o->group[0].lr = 2e-4;
	o->beta1 = 0.5;
	o->beta2 = 0.999;
	if (nn_optim_assign(o, other, NN_OPT_NONE) < 1)
		return check(0, "Adam: assign %s: %s", other, nn_error()), -1;
	return 0;
}

/* One critic iteration: zero D's gradients, fake = G(z) (not
 * differentiated), the critic step, Adam. */
static int critic_iteration(nn_optim *oD, nn_gp *gp, const nn_seq *G, nn_seq_ws *gws,
                            nn_buf real, nn_buf z, const float *alpha, nn_gp_stats *st)
{
	return st_ok("critic: zero grad", nn_optim_zero_grad(ctx, oD)) &&
	       st_ok("critic: G forward", nn_seq_forward(ctx, G, gws, z, BATCH)) &&
	       st_ok("critic: step",
	             nn_gp_critic_step(ctx, gp, real, nn_seq_output(gws), alpha, BATCH, st)) &&
	       st_ok("critic: Adam", nn_optim_step(ctx, oD));
}

static void test_steps(const char *dir)
{
	if (load_fixture(dir))
		return;
	nn_arena a;
	nn_arena_init(&a);
	nn_seq G, D;
	nn_seq_ws gws;
	nn_gp gp;
	nn_optim oG, oD;
	memset(&gws, 0, sizeof gws);
	memset(&gp, 0, sizeof gp);
	memset(&oG, 0, sizeof oG);
	memset(&oD, 0, sizeof oD);
	nn_buf real1 = NN_NONE, real2 = NN_NONE, z1 = NN_NONE, z2 = NN_NONE, zg = NN_NONE;
	float *prev[MAXT] = { 0 }, *now[MAXT] = { 0 };
	const size_t NX = BATCH * 256, NZ = BATCH * LATENT;
	const float *h_real1 = T("", "real1", NX), *h_real2 = T("", "real2", NX),
	            *h_z1 = T("", "z1", NZ), *h_z2 = T("", "z2", NZ), *h_zg = T("", "zg", NZ),
	            *alpha1 = T("", "alpha1", BATCH), *alpha2 = T("", "alpha2", BATCH),
	            *l_d1 = T("", "d1.loss", 1), *gp_d1 = T("", "d1.gp", 1),
	            *l_g1 = T("", "g1.loss", 1), *l_d2 = T("", "d2.loss", 1),
	            *gp_d2 = T("", "d2.gp", 1);
	if (!h_real1 || !h_real2 || !h_z1 || !h_z2 || !h_zg || !alpha1 || !alpha2 || !l_d1 ||
	    !gp_d1 || !l_g1 || !l_d2 || !gp_d2)
		goto out;
	int ok = build(&G, &D, &a);
	if (!check(ok && a.n == 16, "models G and D built in one arena (%d tensors)",
	           ok ? a.n : -1) ||
	    !st_ok("arena", nn_arena_alloc(ctx, &a)))
		goto out;
	for (int i = 0; i < a.n; i++) {
		const float *w = T("init", a.p[i].name, a.p[i].numel);
		if (!w || !st_ok("upload", nn_write(ctx, nn_arena_param(&a, i), w, a.p[i].numel)))
			goto out;
	}
	if (adam(&oD, &a, "G.*") || adam(&oG, &a, "D.*") ||
	    !st_ok("G workspace", nn_seq_ws_alloc(ctx, &G, &gws, BATCH, 0)) ||
	    !st_ok("gp init", nn_gp_init(ctx, &gp, &D, BATCH, 10.0f)))
		goto out;
	real1 = nn_test_up(ctx, h_real1, NX);
	real2 = nn_test_up(ctx, h_real2, NX);
	z1 = nn_test_up(ctx, h_z1, NZ);
	z2 = nn_test_up(ctx, h_z2, NZ);
	zg = nn_test_up(ctx, h_zg, NZ);
	download(&a, prev);

	/* d1 */
	nn_gp_stats st;
	if (!critic_iteration(&oD, &gp, &G, &gws, real1, z1, alpha1, &st))
		goto out;
	check(rel(st.loss, l_d1[0]) <= TOL && rel(st.gp, gp_d1[0]) <= TOL,
	      "d1: loss %.7g (torch %.7g), GP %.7g (torch %.7g), tolerance %g relative", st.loss,
	      l_d1[0], st.gp, gp_d1[0], TOL);
	download(&a, now);
	compare(&a, "d1", "init", 'D', now, prev);

	/* g1 */
	double gl = NAN;
	for (int i = 0; i < a.n; i++)
		free(prev[i]), prev[i] = now[i], now[i] = NULL;
	if (!st_ok("generator: zero grad", nn_optim_zero_grad(ctx, &oG)) ||
	    !st_ok("generator: step", nn_gp_generator_step(ctx, &gp, &G, &gws, zg, 0, BATCH, &gl)) ||
	    !st_ok("generator: Adam", nn_optim_step(ctx, &oG)))
		goto out;
	check(rel(gl, l_g1[0]) <= TOL, "g1: loss %.7g (torch %.7g), tolerance %g relative", gl,
	      l_g1[0], TOL);
	download(&a, now);
	compare(&a, "g1", "d1", 'G', now, prev);

	/* d2 */
	for (int i = 0; i < a.n; i++)
		free(prev[i]), prev[i] = now[i], now[i] = NULL;
	if (!critic_iteration(&oD, &gp, &G, &gws, real2, z2, alpha2, &st))
		goto out;
	check(oD.step == 2 && oG.step == 1, "Adam step counters: D %lld (2), G %lld (1)", oD.step,
	      oG.step);
	check(rel(st.loss, l_d2[0]) <= TOL && rel(st.gp, gp_d2[0]) <= TOL,
	      "d2: loss %.7g (torch %.7g), GP %.7g (torch %.7g), tolerance %g relative", st.loss,
	      l_d2[0], st.gp, gp_d2[0], TOL);
	download(&a, now);
	compare(&a, "d2", "g1", 'D', now, prev);
	printf("note: largest weight error %.2g, largest update error %.2g over the three "
	       "iterations\n",
	       worst_w, worst_u);
out:
	for (int i = 0; i < MAXT; i++)
		free(prev[i]), free(now[i]);
	nn_test_free(real1);
	nn_test_free(real2);
	nn_test_free(z1);
	nn_test_free(z2);
	nn_test_free(zg);
	nn_gp_free(&gp);
	nn_seq_ws_free(&gws);
	if (oG.arena)
		nn_optim_free(&oG);
	if (oD.arena)
		nn_optim_free(&oD);
	nn_arena_free(&a);
	for (int i = 0; i < nfx; i++)
		free(fx[i].data);
}

int main(void)
{
	ctx = nn_test_ctx("test_nn_step");
	if (!ctx)
		return check_finish();
	const char *fxd = getenv("FIXTURES");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/nn_step", fxd ? fxd : "tests/fixtures");
	test_steps(dir);
	nn_ctx_free(ctx);
	return check_finish();
}
