/* test_nn_gp: the WGAN-GP critic and generator steps (nn/gp.h) on the
 * OpenCL device.
 *
 * 1. Finite differences.  A tiny critic (conv 1->4 3x3 s1 p1, LeakyReLU
 *    0.2, conv 4->4 3x3 s2 p1, LeakyReLU 0.2, linear 64 -> 1) on 1x8x8
 *    inputs, batch 3, parameters and data from the engine's generator.
 *    The critic loss L(theta) = mean D(fake) - mean D(real) + GP, with
 *    lambda 10, is re-implemented here in double precision (forward, and
 *    the backward for g = grad_x D(x_hat)), and its gradient taken by
 *    central differences with step 1e-4 in double.  Inside a region where
 *    no pre-activation changes sign, L is smooth in theta (a polynomial
 *    under a square root), so the difference is accurate to about 1e-8;
 *    every perturbation is checked not to flip the sign of any
 *    pre-activation of any sample (else the step is shrunk, up to three
 *    times).  Tolerance: 1e-4, measured as max |device - fd| over a tensor
 *    / max(max |fd| over the tensor, 1e-2 max |fd| over all parameters);
 *    the last bias's gradient is zero (-1/B B + 1/B B), and a reference
 *    tensor that is all zero asks for max |device| <= 1e-6.  The device's L,
 *    GP and gradient norms agree with the double values to 1e-5 relative.
 *    The test also checks that dropping the penalty's parameter gradient
 *    would have failed: the gradients with and without GP differ by far
 *    more than the tolerance.
 * 2. PyTorch (tests/make_nn_gp_fixtures.py, torch 1.13, float32): a
 *    miniature WGAN-GP critic on 1x16x16, batch 4, penalty by double
 *    backprop (create_graph=True) as PyTorch-GAN; and a generator step
 *    through the critic.  Scores, GP, loss, norms and every parameter
 *    gradient agree to 1e-4 (error as test_nn_util.h: max |diff| / max |ref|
 *    per tensor, floored at 1e-2 max |ref| of the model's gradients; an
 *    all-zero reference tensor, the last bias's gradient, asks for
 *    max |ours| <= 1e-6).
 * 3. A critic with Tanh is refused with a message.
 */
#include <errno.h>

#include "nn/gp.h"
#include "test_nn_util.h"

#define TOL 1e-4

static nn_ctx *ctx;

/* ---- fixtures: index.txt + NAME.f32 ---- */

#define MAXT 64

typedef struct {
	char role[64];
	size_t n;
	float *data;
} ftensor;

typedef struct {
	char name[64];
	ftensor t[MAXT];
	int nt;
} fcase;

static int load_case(const char *dir, const char *name, fcase *c)
{
	char path[1024];
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(path, sizeof path, "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return check(0, "fixture: cannot open %s: %s", path, strerror(errno)), -1;
	char line[512], cn[64], role[64];
	size_t n;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "tensor %63s %63s %zu", cn, role, &n) == 3 && strcmp(cn, name) == 0 &&
		    c->nt < MAXT) {
			snprintf(c->t[c->nt].role, sizeof c->t[c->nt].role, "%s", role);
			c->t[c->nt++].n = n;
		}
	fclose(f);
	snprintf(path, sizeof path, "%s/%s.f32", dir, name);
	f = fopen(path, "rb");
	if (!f || c->nt == 0) {
		if (f)
			fclose(f);
		return check(0, "fixture %s: cannot open %s or no tensors", name, path), -1;
	}
	int ok = 1;
	for (int i = 0; i < c->nt && ok; i++) {
		c->t[i].data = nn_test_alloc(c->t[i].n);
		ok = fread(c->t[i].data, sizeof(float), c->t[i].n, f) == c->t[i].n;
	}
	ok = ok && fgetc(f) == EOF;
	fclose(f);
	if (!ok)
		return check(0, "fixture %s: %s does not hold the tensors of the index", name, path), -1;
	return 0;
}

static const ftensor *T(const fcase *c, const char *role)
{
	for (int i = 0; i < c->nt; i++)
		if (strcmp(c->t[i].role, role) == 0)
			return &c->t[i];
	fprintf(stderr, "fixture %s: no tensor %s\n", c->name, role);
	return NULL;
}

static void free_case(fcase *c)
{
	for (int i = 0; i < c->nt; i++)
		free(c->t[i].data);
	c->nt = 0;
}

/* ---- helpers ---- */

static int st_ok(const char *what, int st)
{
	if (st != TG_CL_OK)
		check(0, "%s: %s", what, nn_error());
	return st == TG_CL_OK;
}

/* max |a - r| / max(max |r|, floor); a reference that is all zero
 * (|r| < 1e-9) divides by 1e-2 instead, so that the tolerance 1e-4 asks
 * for |a| <= 1e-6. */
static double err_floor(const float *a, const float *r, size_t n, double floor_)
{
	double d = 0, m = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)a[i] - r[i]);
		if (isnan(e))
			return INFINITY;
		d = e > d ? e : d;
		m = fabs((double)r[i]) > m ? fabs((double)r[i]) : m;
	}
	return d / (m < 1e-9 ? 1e-2 : fmax(m, floor_));
}

static double rel(double a, double r)
{
	return fabs(a - r) / (fabs(r) > 1e-12 ? fabs(r) : 1e-12);
}

/* Uploads host params of arena a, all in order (p[i] for tensor i). */
static int set_params(nn_arena *a, float *const *p)
{
	for (int i = 0; i < a->n; i++)
		if (nn_write(ctx, nn_arena_param(a, i), p[i], a->p[i].numel) != TG_CL_OK)
			return -1;
	return 0;
}

/* ---- 1. finite differences on a tiny critic ---- */

#define FB 3     /* batch */
#define FH 8     /* input side */
#define C1 4     /* channels */
#define H1 8     /* conv1 output side */
#define H2 4     /* conv2 output side */
#define NF (C1 * H2 * H2)

enum { W1, B1, W2, B2, W3, B3, NP };
static const size_t psz[NP] = { C1 * 9, C1, C1 * C1 * 9, C1, NF, 1 };
static const double LAMBDA = 10.0;

/* y [OC, OH, OW] = conv(x [C, H, W]) + b, 3x3 kernel, padding 1 */
static void dconv(double *y, const double *x, const double *w, const double *b, int C, int H,
                  int OC, int S, int OH)
{
	for (int o = 0; o < OC; o++)
		for (int i = 0; i < OH; i++)
			for (int j = 0; j < OH; j++) {
				double s = b ? b[o] : 0;
				for (int c = 0; c < C; c++)
					for (int u = 0; u < 3; u++)
						for (int v = 0; v < 3; v++) {
							int yy = i * S - 1 + u, xx = j * S - 1 + v;
							if (yy >= 0 && yy < H && xx >= 0 && xx < H)
								s += w[((o * C + c) * 3 + u) * 3 + v] *
								     x[(c * H + yy) * H + xx];
						}
				y[(o * OH + i) * OH + j] = s;
			}
}

/* dx [C, H, W] = conv^T(dy [OC, OH, OW]) */
static void dconv_t(double *dx, const double *dy, const double *w, int C, int H, int OC, int S,
                    int OH)
{
	memset(dx, 0, sizeof(double) * C * H * H);
	for (int o = 0; o < OC; o++)
		for (int i = 0; i < OH; i++)
			for (int j = 0; j < OH; j++)
				for (int c = 0; c < C; c++)
					for (int u = 0; u < 3; u++)
						for (int v = 0; v < 3; v++) {
							int yy = i * S - 1 + u, xx = j * S - 1 + v;
							if (yy >= 0 && yy < H && xx >= 0 && xx < H)
								dx[(c * H + yy) * H + xx] +=
								    w[((o * C + c) * 3 + u) * 3 + v] *
								    dy[(o * OH + i) * OH + j];
						}
}

static double lrelu_slope(double z)
{
	return z > 0 ? 1.0 : 0.2;
}

/* D(x) of one sample; g (if not NULL) = grad_x D; sign bits of the
 * pre-activations into sg [C1*H1*H1 + NF]. */
static double dcritic(double *const *th, const double *x, double *g, char *sg)
{
	double z1[C1 * H1 * H1], a1[C1 * H1 * H1], z2[NF], a2[NF];
	dconv(z1, x, th[W1], th[B1], 1, FH, C1, 1, H1);
	for (int i = 0; i < C1 * H1 * H1; i++) {
		a1[i] = z1[i] * lrelu_slope(z1[i]);
		sg[i] = z1[i] > 0;
	}
	dconv(z2, a1, th[W2], th[B2], C1, H1, C1, 2, H2);
	double y = th[B3][0];
	for (int i = 0; i < NF; i++) {
		a2[i] = z2[i] * lrelu_slope(z2[i]);
		sg[C1 * H1 * H1 + i] = z2[i] > 0;
		y += th[W3][i] * a2[i];
	}
	if (g) {
		double d2[NF], d1[C1 * H1 * H1];
		for (int i = 0; i < NF; i++)
			d2[i] = th[W3][i] * lrelu_slope(z2[i]);
		dconv_t(d1, d2, th[W2], C1, H1, C1, 2, H2);
		for (int i = 0; i < C1 * H1 * H1; i++)
			d1[i] *= lrelu_slope(z1[i]);
		dconv_t(g, d1, th[W1], 1, FH, C1, 1, H1);
	}
	return y;
}

#define NSG (C1 * H1 * H1 + NF)
#define NX (FH * FH)

typedef struct {
	double real[FB][NX], fake[FB][NX], xh[FB][NX];
	double gp, loss, norm[FB];
	char sg[3 * FB][NSG];
} fdstate;

/* L(theta) with lambda `lam`; fills the sign pattern. */
static double dloss(double *const *th, fdstate *s, double lam)
{
	double dr = 0, df = 0, pen = 0;
	for (int b = 0; b < FB; b++) {
		double g[NX];
		dr += dcritic(th, s->real[b], NULL, s->sg[b]);
		df += dcritic(th, s->fake[b], NULL, s->sg[FB + b]);
		dcritic(th, s->xh[b], g, s->sg[2 * FB + b]);
		double q = 0;
		for (int i = 0; i < NX; i++)
			q += g[i] * g[i];
		s->norm[b] = sqrt(q);
		pen += (s->norm[b] - 1) * (s->norm[b] - 1);
	}
	s->gp = lam * pen / FB;
	s->loss = (df - dr) / FB + s->gp;
	return s->loss;
}

/* Central-difference gradient of L in double; -1 if a kink could not be
 * avoided. */
static int fd_grad(double *const *th, fdstate *s, double lam, double *const *out, int *shrunk)
{
	static fdstate base, tmp;
	base = *s;
	dloss(th, &base, lam);
	tmp = base;
	for (int k = 0; k < NP; k++)
		for (size_t i = 0; i < psz[k]; i++) {
			double v = th[k][i], h = 1e-4;
			int tries = 0;
			for (;;) {
				th[k][i] = v + h;
				double lp = dloss(th, &tmp, lam);
				int flip = memcmp(tmp.sg, base.sg, sizeof base.sg) != 0;
				th[k][i] = v - h;
				double lm = dloss(th, &tmp, lam);
				flip |= memcmp(tmp.sg, base.sg, sizeof base.sg) != 0;
				th[k][i] = v;
				if (!flip) {
					out[k][i] = (lp - lm) / (2 * h);
					break;
				}
				if (++tries > 3)
					return -1;
				h /= 10;
				(*shrunk)++;
			}
		}
	return 0;
}

static void test_fd(void)
{
	nn_rng r;
	nn_rng_init(&r, 4242);
	nn_arena a;
	nn_arena_init(&a);
	nn_seq D;
	int ok = nn_seq_init(&D, &a, "D", 1, FH, FH) == 0 &&
	         nn_seq_conv2d(&D, C1, 3, 3, 1, 1, 1, 1, 1) >= 0 && nn_seq_leaky_relu(&D, 0.2f) >= 0 &&
	         nn_seq_conv2d(&D, C1, 3, 3, 2, 2, 1, 1, 1) >= 0 && nn_seq_leaky_relu(&D, 0.2f) >= 0 &&
	         nn_seq_flatten(&D) >= 0 && nn_seq_linear(&D, 1, 1) >= 0;
	if (!check(ok && a.n == NP, "fd: tiny critic built (%s)", ok ? "6 tensors" : nn_error()))
		return;
	if (!st_ok("fd: arena", nn_arena_alloc(ctx, &a)))
		return;
	float *p[NP];
	double *th[NP], *fd[NP], *fd0[NP];
	static const double fan[NP] = { 9, 9, 36, 36, NF, NF };
	for (int k = 0; k < NP; k++) {
		float bound = (float)(1.0 / sqrt(fan[k]));
		p[k] = nn_test_uniform(&r, psz[k], -bound, bound);
		th[k] = calloc(psz[k], sizeof(double));
		fd[k] = calloc(psz[k], sizeof(double));
		fd0[k] = calloc(psz[k], sizeof(double));
		for (size_t i = 0; i < psz[k]; i++)
			th[k][i] = p[k][i];
	}
	float *real = nn_test_uniform(&r, FB * NX, -1, 1), *fake = nn_test_uniform(&r, FB * NX, -1, 1);
	float alpha[FB];
	nn_rng_uniform(&r, alpha, FB, 0, 1);
	static fdstate s;
	for (int b = 0; b < FB; b++)
		for (int i = 0; i < NX; i++) {
			s.real[b][i] = real[b * NX + i];
			s.fake[b][i] = fake[b * NX + i];
			/* as the device forms it: 0 + a real + (1 - a) fake in float */
			float xh = alpha[b] * real[b * NX + i];
			xh = xh + (1.0f - alpha[b]) * fake[b * NX + i];
			s.xh[b][i] = xh;
		}

	nn_buf dreal = nn_test_up(ctx, real, FB * NX), dfake = nn_test_up(ctx, fake, FB * NX);
	nn_gp gp;
	nn_gp_stats st;
	if (set_params(&a, p) || !st_ok("fd: gp init", nn_gp_init(ctx, &gp, &D, FB, (float)LAMBDA)))
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		double lam = pass ? 0.0 : LAMBDA;
		gp.lambda = (float)lam;
		if (!st_ok("fd: zero grad", nn_arena_zero_grad(ctx, &a)) ||
		    !st_ok("fd: critic step", nn_gp_critic_step(ctx, &gp, dreal, dfake, alpha, FB, &st)))
			break;
		int shrunk = 0;
		int fdst = fd_grad(th, &s, lam, pass ? fd0 : fd, &shrunk);
		if (!check(fdst == 0,
		           "fd (lambda %g): perturbations avoid every kink (%d steps shrunk)", lam, shrunk))
			break;
		dloss(th, &s, lam);
		if (!pass) {
			double en = 0;
			for (int b = 0; b < FB; b++)
				en = fmax(en, rel(gp.norms[b], s.norm[b]));
			check(rel(st.gp, s.gp) < 1e-5 && rel(st.loss, s.loss) < 1e-5 && en < 1e-5,
			      "fd: GP %.6g (double %.6g), loss %.6g (double %.6g), norms rel. error %.2g "
			      "(tolerance 1e-5)",
			      st.gp, s.gp, st.loss, s.loss, en);
		}
		double gmax = 0;
		for (int k = 0; k < NP; k++)
			for (size_t i = 0; i < psz[k]; i++)
				gmax = fmax(gmax, fabs((pass ? fd0 : fd)[k][i]));
		double worst = 0;
		for (int k = 0; k < NP; k++) {
			float *got = nn_test_down(ctx, nn_arena_grad(&a, k), psz[k]);
			double *ref = pass ? fd0[k] : fd[k], d = 0, m = 0;
			for (size_t i = 0; i < psz[k]; i++) {
				d = fmax(d, fabs(got[i] - ref[i]));
				m = fmax(m, fabs(ref[i]));
			}
			double e = isnan(d) ? INFINITY : d / (m < 1e-9 ? 1e-2 : fmax(m, 1e-2 * gmax));
			if (m < 1e-9)
				printf("note: %s: zero reference, max |device| %.2g\n", a.p[k].name, d);
			worst = fmax(worst, e);
			check(e <= TOL, "fd (lambda %g): gradient of %s: error %.2g (tolerance %g)", lam,
			      a.p[k].name, e, TOL);
			free(got);
		}
		if (pass) {
			/* without the penalty's term the gradient would be far off */
			double d = 0;
			for (int k = 0; k < NP; k++)
				for (size_t i = 0; i < psz[k]; i++)
					d = fmax(d, fabs(fd[k][i] - fd0[k][i]));
			double m = 0;
			for (int k = 0; k < NP; k++)
				for (size_t i = 0; i < psz[k]; i++)
					m = fmax(m, fabs(fd[k][i]));
			check(d / m > 1000 * TOL,
			      "fd: the penalty changes the gradient by %.2g relative (the test can fail)",
			      d / m);
		}
	}
	nn_gp_free(&gp);
out:
	nn_test_free(dreal);
	nn_test_free(dfake);
	for (int k = 0; k < NP; k++)
		free(p[k]), free(th[k]), free(fd[k]), free(fd0[k]);
	free(real), free(fake);
	nn_arena_free(&a);
}

/* ---- 2. PyTorch fixtures ---- */

static int build_critic(nn_seq *D, nn_arena *a, int side)
{
	return nn_seq_init(D, a, "D", 1, side, side) == 0 &&
	               nn_seq_conv2d(D, 4, 3, 3, 1, 1, 1, 1, 1) >= 0 &&
	               nn_seq_leaky_relu(D, 0.2f) >= 0 &&
	               nn_seq_conv2d(D, 4, 3, 3, 2, 2, 1, 1, 1) >= 0 &&
	               nn_seq_leaky_relu(D, 0.2f) >= 0 &&
	               nn_seq_conv2d(D, 8, 3, 3, 1, 1, 1, 1, 1) >= 0 &&
	               nn_seq_leaky_relu(D, 0.2f) >= 0 &&
	               nn_seq_conv2d(D, 8, 3, 3, 2, 2, 1, 1, 1) >= 0 &&
	               nn_seq_leaky_relu(D, 0.2f) >= 0 && nn_seq_flatten(D) >= 0 &&
	               nn_seq_linear(D, 1, 1) >= 0
	           ? 0
	           : -1;
}

/* Uploads every parameter of arena a from the fixture (same names). */
static int params_from(nn_arena *a, const fcase *c)
{
	for (int i = 0; i < a->n; i++) {
		const ftensor *t = T(c, a->p[i].name);
		if (!t || t->n != a->p[i].numel)
			return check(0, "%s: parameter %s missing or of another size", c->name,
			             a->p[i].name),
			       -1;
		if (nn_write(ctx, nn_arena_param(a, i), t->data, t->n) != TG_CL_OK)
			return -1;
	}
	return 0;
}

/* Compares every parameter gradient of arena a with grad.NAME. */
static void grads_vs(nn_arena *a, const fcase *c)
{
	double gmax = 0;
	for (int i = 0; i < a->n; i++) {
		char role[80];
		snprintf(role, sizeof role, "grad.%s", a->p[i].name);
		const ftensor *t = T(c, role);
		for (size_t j = 0; t && j < t->n; j++)
			gmax = fmax(gmax, fabs(t->data[j]));
	}
	for (int i = 0; i < a->n; i++) {
		char role[80];
		snprintf(role, sizeof role, "grad.%s", a->p[i].name);
		const ftensor *t = T(c, role);
		if (!t || t->n != a->p[i].numel) {
			check(0, "torch %s: no %s", c->name, role);
			continue;
		}
		float *got = nn_test_down(ctx, nn_arena_grad(a, i), t->n);
		double e = err_floor(got, t->data, t->n, 1e-2 * gmax);
		check(e <= TOL, "torch %s: %s: error %.2g (tolerance %g)", c->name, role, e, TOL);
		free(got);
	}
}

static void test_torch_critic(const char *dir)
{
	fcase c;
	if (load_case(dir, "critic", &c))
		return;
	nn_arena a;
	nn_arena_init(&a);
	nn_seq D;
	nn_gp gp;
	memset(&gp, 0, sizeof gp);
	const int B = 4;
	nn_buf real = NN_NONE, fake = NN_NONE;
	if (!check(build_critic(&D, &a, 16) == 0, "torch critic: model built") ||
	    !st_ok("torch critic: arena", nn_arena_alloc(ctx, &a)) || params_from(&a, &c))
		goto out;
	const ftensor *tr = T(&c, "real"), *tf = T(&c, "fake"), *ta = T(&c, "alpha");
	if (!tr || !tf || !ta)
		goto out;
	real = nn_test_up(ctx, tr->data, tr->n);
	fake = nn_test_up(ctx, tf->data, tf->n);
	nn_gp_stats st;
	if (!st_ok("torch critic: gp init", nn_gp_init(ctx, &gp, &D, B + 2, 10.0f)) ||
	    !st_ok("torch critic: step", nn_gp_critic_step(ctx, &gp, real, fake, ta->data, B, &st)))
		goto out;
	double e = fmax(nn_err(gp.hs, T(&c, "d_real")->data, B),
	                nn_err(gp.hs + B, T(&c, "d_fake")->data, B));
	check(e <= TOL, "torch critic: D(real), D(fake): error %.2g (tolerance %g)", e, TOL);
	float nrm[4];
	for (int b = 0; b < B; b++)
		nrm[b] = (float)gp.norms[b];
	e = nn_err(nrm, T(&c, "gnorm")->data, B);
	check(e <= TOL, "torch critic: gradient norms %.4g..%.4g: error %.2g (tolerance %g)",
	      st.gnorm_min, st.gnorm_max, e, TOL);
	double wgp = T(&c, "gp")->data[0], wl = T(&c, "loss")->data[0];
	check(rel(st.gp, wgp) <= TOL, "torch critic: GP %.6g (torch %.6g)", st.gp, wgp);
	check(rel(st.loss, wl) <= TOL, "torch critic: loss %.6g (torch %.6g)", st.loss, wl);
	grads_vs(&a, &c);
out:
	nn_gp_free(&gp);
	nn_test_free(real);
	nn_test_free(fake);
	nn_arena_free(&a);
	free_case(&c);
}

static void test_torch_generator(const char *dir)
{
	fcase c;
	if (load_case(dir, "generator", &c))
		return;
	nn_arena ga, da;
	nn_arena_init(&ga);
	nn_arena_init(&da);
	nn_seq G, D;
	nn_seq_ws gws;
	nn_gp gp;
	memset(&gws, 0, sizeof gws);
	memset(&gp, 0, sizeof gp);
	const int B = 4;
	nn_buf z = NN_NONE;
	int ok = nn_seq_init(&G, &ga, "G", 8, 1, 1) == 0 && nn_seq_linear(&G, 8 * 8 * 8, 1) >= 0 &&
	         nn_seq_reshape(&G, 8, 8, 8) >= 0 && nn_seq_upsample(&G, 2) >= 0 &&
	         nn_seq_conv2d(&G, 4, 3, 3, 1, 1, 1, 1, 1) >= 0 && nn_seq_relu(&G) >= 0 &&
	         nn_seq_conv2d(&G, 1, 3, 3, 1, 1, 1, 1, 1) >= 0 && nn_seq_tanh(&G) >= 0 &&
	         build_critic(&D, &da, 16) == 0;
	if (!check(ok, "torch generator: models built (%s)", ok ? "G, D" : nn_error()) ||
	    !st_ok("torch generator: arenas", nn_arena_alloc(ctx, &ga)) ||
	    !st_ok("torch generator: arenas", nn_arena_alloc(ctx, &da)) || params_from(&ga, &c) ||
	    params_from(&da, &c))
		goto out;
	const ftensor *tz = T(&c, "z");
	if (!tz)
		goto out;
	z = nn_test_up(ctx, tz->data, tz->n);
	double loss = NAN;
	if (!st_ok("torch generator: workspace", nn_seq_ws_alloc(ctx, &G, &gws, B, 0)) ||
	    !st_ok("torch generator: gp init", nn_gp_init(ctx, &gp, &D, B, 10.0f)) ||
	    !st_ok("torch generator: step",
	           nn_gp_generator_step(ctx, &gp, &G, &gws, z, 0, B, &loss)))
		goto out;
	float *fk = nn_test_down(ctx, nn_seq_output(&gws), 4 * 256);
	double e = nn_err(fk, T(&c, "fake")->data, 4 * 256);
	check(e <= TOL, "torch generator: G(z): error %.2g (tolerance %g)", e, TOL);
	free(fk);
	float *sc = nn_test_down(ctx, nn_seq_output(&gp.ws), B);
	e = nn_err(sc, T(&c, "score")->data, B);
	check(e <= TOL, "torch generator: D(G(z)): error %.2g (tolerance %g)", e, TOL);
	free(sc);
	double wl = T(&c, "g_loss")->data[0];
	check(rel(loss, wl) <= TOL, "torch generator: loss %.6g (torch %.6g)", loss, wl);
	grads_vs(&ga, &c);
	/* the critic's gradients are left alone */
	float *dg = nn_test_down(ctx, nn_arena_grad(&da, 0), da.p[0].numel);
	double m = 0;
	for (size_t i = 0; i < da.p[0].numel; i++)
		m = fmax(m, fabs(dg[i]));
	check(m == 0, "torch generator: critic gradients untouched (max %g)", m);
	free(dg);
	/* the same step on a fake G(z) already in the workspace (as a critic
	 * step leaves it): the same loss and gradients, bit for bit */
	float **g0 = calloc((size_t)ga.n, sizeof *g0), *g1 = NULL;
	int ng = g0 ? ga.n : 0, same = g0 != NULL;
	for (int i = 0; i < ng; i++)
		g0[i] = nn_test_down(ctx, nn_arena_grad(&ga, i), ga.p[i].numel);
	double loss2 = NAN;
	if (st_ok("torch generator: zero grad", nn_arena_zero_grad(ctx, &ga)) &&
	    st_ok("torch generator: forward", nn_seq_forward(ctx, &G, &gws, z, B)) &&
	    st_ok("torch generator: step on the kept fake",
	          nn_gp_generator_step(ctx, &gp, &G, &gws, z, 1, B, &loss2)))
		for (int i = 0; i < ng && same; i++) {
			g1 = nn_test_down(ctx, nn_arena_grad(&ga, i), ga.p[i].numel);
			same = g0[i] && g1 && !memcmp(g0[i], g1, ga.p[i].numel * sizeof(float));
			free(g1);
		}
	check(same && loss2 == loss, "torch generator: step on the kept fake: loss %.9g (%.9g), "
	      "gradients %s", loss2, loss, same ? "bit-identical" : "differ");
	for (int i = 0; i < ng; i++)
		free(g0[i]);
	free(g0);
	/* and G's forward is indeed not run again: with z overwritten after the
	 * forward, the step still scores the fake of the old z */
	double loss3 = NAN;
	if (st_ok("torch generator: forward", nn_seq_forward(ctx, &G, &gws, z, B)) &&
	    st_ok("torch generator: overwrite z", nn_fill(ctx, z, tz->n, 0.5f)) &&
	    st_ok("torch generator: step on the kept fake",
	          nn_gp_generator_step(ctx, &gp, &G, &gws, z, 1, B, &loss3)))
		check(loss3 == loss, "torch generator: the kept fake is used, not G(new z): loss "
		      "%.9g (%.9g)", loss3, loss);
	int st2 = nn_gp_generator_step(ctx, &gp, &G, &gws, z, 1, B - 1, &loss2);
	check(st2 == TG_CL_FAIL && strstr(nn_error(), "does not hold"),
	      "torch generator: kept fake of another batch size refused: %s", nn_error());
out:
	nn_seq_ws_free(&gws);
	nn_gp_free(&gp);
	nn_test_free(z);
	nn_arena_free(&ga);
	nn_arena_free(&da);
	free_case(&c);
}

/* ---- 3. refusals ---- */

static void test_refuse(void)
{
	nn_arena a;
	nn_arena_init(&a);
	nn_seq D;
	nn_gp gp;
	int ok = nn_seq_init(&D, &a, "D", 1, 4, 4) == 0 && nn_seq_linear(&D, 4, 1) >= 0 &&
	         nn_seq_tanh(&D) >= 0 && nn_seq_linear(&D, 1, 1) >= 0 &&
	         nn_arena_alloc(ctx, &a) == TG_CL_OK;
	int st = ok ? nn_gp_init(ctx, &gp, &D, 2, 10.0f) : TG_CL_OK;
	check(ok && st == TG_CL_FAIL && strstr(nn_error(), "Tanh") &&
	          strstr(nn_error(), "piecewise-linear"),
	      "critic with Tanh refused: %s", nn_error());
	nn_arena_free(&a);
	nn_arena_init(&a);
	ok = nn_seq_init(&D, &a, "D", 1, 4, 4) == 0 && nn_seq_linear(&D, 2, 1) >= 0 &&
	     nn_arena_alloc(ctx, &a) == TG_CL_OK;
	st = ok ? nn_gp_init(ctx, &gp, &D, 2, 10.0f) : TG_CL_OK;
	check(ok && st == TG_CL_FAIL && strstr(nn_error(), "one score"),
	      "critic with two outputs refused: %s", nn_error());
	nn_arena_free(&a);
}

int main(void)
{
	ctx = nn_test_ctx("test_nn_gp");
	if (!ctx)
		return check_finish();
	const char *fx = getenv("FIXTURES");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/nn_gp", fx ? fx : "tests/fixtures");
	test_fd();
	test_torch_critic(dir);
	test_torch_generator(dir);
	test_refuse();
	nn_ctx_free(ctx);
	return check_finish();
}
