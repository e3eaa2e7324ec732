/* test_nn_grad: every reference backward of the engine (nn/ops.h) against
 * central finite differences.
 *
 * For an op y = f(inputs) and a random upstream gradient r, the loss is
 * L = sum_i r_i y_i, evaluated in double from the float outputs.  The
 * analytic gradient of an input element is what the reference backward
 * gives for dy = r; the numeric one is (L(v + h) - L(v - h)) / (v+ - v-),
 * where v+ and v- are v +- h rounded to float, extrapolated from steps h
 * and h/2 (Richardson: (4 D(h/2) - D(h)) / 3, error O(h^4)).  An element
 * passes when |analytic - numeric| <= 1e-4 or <= 1e-3 |numeric|.  Every
 * element of every input is checked (the shapes are small).  h is 0.5 for
 * ops that are linear in the perturbed input (no truncation error, and a
 * large step keeps rounding noise small), 1e-2 for piecewise-linear ones
 * whose inputs are kept at least 0.05 from any kink, and 2e-2 for smooth
 * nonlinear ones (2e-3 for BCE, whose log varies fast near 0 and 1).
 * Parameter gradients must accumulate (+=): they start from a non-zero
 * value that is subtracted before comparing.  Activation gradients must be
 * assigned: dx starts as NaN. */
#include "test_nn_util.h"

#define MAXIN 6

typedef struct fd_case fd_case;
struct fd_case {
	const char *name;
	void (*forward)(fd_case *c);
	void (*backward)(fd_case *c);
	int nin;
	const char *inname[MAXIN];
	float *in[MAXIN];      /* inputs (perturbed one element at a time) */
	float *grad[MAXIN];    /* analytic gradients, filled by backward */
	size_t nel[MAXIN];
	int is_param[MAXIN];   /* accumulating gradient (else assigned) */
	float *y, *r;          /* output and upstream gradient */
	size_t ny;
	double h;
	const void *geom;      /* op shape */
	int i0, i1, i2, i3, i4;
	float f0, f1;
	float *aux, *aux2;     /* op-specific extra buffers */
};

static double loss(fd_case *c)
{
	c->forward(c);
	double s = 0;
	for (size_t i = 0; i < c->ny; i++)
		s += (double)c->r[i] * c->y[i];
	return s;
}

/* Central difference of L in element i of input k with step h. */
static double central(fd_case *c, int k, size_t i, double h, double (*L)(fd_case *))
{
	float v = c->in[k][i];
	float vp = (float)(v + h), vm = (float)(v - h);
	c->in[k][i] = vp;
	double lp = L(c);
	c->in[k][i] = vm;
	double lm = L(c);
	c->in[k][i] = v;
	return (lp - lm) / ((double)vp - (double)vm);
}

/* Richardson's extrapolation of central differences at h and h/2: the
 * h^2 error term cancels, so h can be large enough to keep the rounding
 * of the float outputs small. */
static double numeric(fd_case *c, int k, size_t i, double (*L)(fd_case *))
{
	double d1 = central(c, k, i, c->h, L), d2 = central(c, k, i, c->h / 2, L);
	return (4 * d2 - d1) / 3;
}

static nn_rng rng;

static void run_case(fd_case *c)
{
	/* Parameter gradients start at 0.25 (to see +=), the others at NaN. */
	for (int k = 0; k < c->nin; k++) {
		if (!c->grad[k])
			continue;
		for (size_t i = 0; i < c->nel[k]; i++)
			c->grad[k][i] = c->is_param[k] ? 0.25f : NAN;
	}
	c->forward(c);
	c->backward(c);
	for (int k = 0; k < c->nin; k++) {
		if (!c->grad[k])
			continue;
		double worst = 0;
		size_t bad = 0, worst_i = 0;
		double worst_an = 0, worst_fd = 0;
		for (size_t i = 0; i < c->nel[k]; i++) {
			double fd = numeric(c, k, i, loss);
			double an = (double)c->grad[k][i] - (c->is_param[k] ? 0.25 : 0.0);
			double e = fabs(an - fd);
			int ok = e <= 1e-4 || e <= 1e-3 * fabs(fd);
			double rel = e / (fabs(fd) > 1e-4 ? fabs(fd) : 1e-4);
			if (!ok || isnan(an))
				bad++;
			if (rel > worst || isnan(an)) {
				worst = isnan(an) ? INFINITY : rel;
				worst_i = i;
				worst_an = an;
				worst_fd = fd;
			}
		}
		check(bad == 0, "%s: d/d%s, %zu elements, h %g: %zu outside tolerance; worst [%zu] "
		      "analytic %.7g numeric %.7g (error %.2g of max(|numeric|, 1e-4))", c->name,
		      c->inname[k], c->nel[k], c->h, bad, worst_i, worst_an, worst_fd, worst);
	}
	/* Restore the forward state for the next case. */
	c->forward(c);
}

static float *uniform(size_t n, float lo, float hi)
{
	return nn_test_uniform(&rng, n, lo, hi);
}

/* n values of magnitude in [lo, hi) with random sign (away from 0). */
static float *away_from_zero(size_t n, float lo, float hi)
{
	float *p = uniform(n, lo, hi);
	float *s = uniform(n, -1, 1);
	for (size_t i = 0; i < n; i++)
		p[i] = s[i] < 0 ? -p[i] : p[i];
	free(s);
	return p;
}

static void add_input(fd_case *c, const char *name, float *v, size_t n, int is_param, int grad)
{
	int k = c->nin++;
	c->inname[k] = name;
	c->in[k] = v;
	c->nel[k] = n;
	c->is_param[k] = is_param;
	c->grad[k] = grad ? nn_test_alloc(n) : NULL;
}

static void set_output(fd_case *c, size_t ny)
{
	c->ny = ny;
	c->y = nn_test_alloc(ny);
	c->r = uniform(ny, -1, 1);
}

static void free_case(fd_case *c)
{
	for (int k = 0; k < c->nin; k++) {
		free(c->in[k]);
		free(c->grad[k]);
	}
	free(c->y);
	free(c->r);
	free(c->aux);
	free(c->aux2);
}

/* ---- linear ---- */

static void linear_f(fd_case *c)
{
	nn_ref_linear_forward(c->y, c->in[0], c->in[1], c->nin > 2 ? c->in[2] : NULL, c->i0, c->i1,
	                      c->i2);
}

static void linear_b(fd_case *c)
{
	nn_ref_linear_backward(c->grad[0], c->grad[1], c->nin > 2 ? c->grad[2] : NULL, c->r,
	                       c->in[0], c->in[1], c->i0, c->i1, c->i2);
}

static void test_linear(void)
{
	fd_case c = { .name = "linear 3x7 -> 5", .forward = linear_f, .backward = linear_b,
	              .h = 0.5, .i0 = 3, .i1 = 7, .i2 = 5 };
	add_input(&c, "x", uniform(21, -1, 1), 21, 0, 1);
	add_input(&c, "W", uniform(35, -1, 1), 35, 1, 1);
	add_input(&c, "b", uniform(5, -1, 1), 5, 1, 1);
	set_output(&c, 15);
	run_case(&c);
	free_case(&c);
}

/* ---- conv2d and transposed conv2d ---- */

static void conv_f(fd_case *c)
{
	nn_ref_conv2d_forward(c->geom, c->y, c->in[0], c->in[1], c->nin > 2 ? c->in[2] : NULL);
}

static void conv_b(fd_case *c)
{
	nn_ref_conv2d_backward(c->geom, c->grad[0], c->grad[1], c->nin > 2 ? c->grad[2] : NULL, c->r,
	                       c->in[0], c->in[1]);
}

static void conv_case(const char *name, int B, int C, int H, int W, int OC, int KH, int KW,
                      int SH, int SW, int PH, int PW, int bias)
{
	nn_conv2d g;
	if (nn_conv2d_shape(&g, B, C, H, W, OC, KH, KW, SH, SW, PH, PW)) {
		check(0, "%s: shape: %s", name, nn_error());
		return;
	}
	fd_case c = { .name = name, .forward = conv_f, .backward = conv_b, .h = 0.5, .geom = &g };
	size_t nx = (size_t)B * C * H * W, nw = (size_t)OC * C * KH * KW;
	add_input(&c, "x", uniform(nx, -1, 1), nx, 0, 1);
	add_input(&c, "w", uniform(nw, -1, 1), nw, 1, 1);
	if (bias)
		add_input(&c, "b", uniform(OC, -1, 1), OC, 1, 1);
	set_output(&c, (size_t)B * OC * g.OH * g.OW);
	run_case(&c);
	free_case(&c);
}

static void convt_f(fd_case *c)
{
	nn_ref_convt2d_forward(c->geom, c->y, c->in[0], c->in[1], c->nin > 2 ? c->in[2] : NULL);
}

static void convt_b(fd_case *c)
{
	nn_ref_convt2d_backward(c->geom, c->grad[0], c->grad[1], c->nin > 2 ? c->grad[2] : NULL,
	                        c->r, c->in[0], c->in[1]);
}

static void convt_case(const char *name, int B, int C, int H, int W, int OC, int KH, int KW,
                       int SH, int SW, int PH, int PW, int OPH, int OPW, int bias)
{
	nn_convt2d g;
	if (nn_convt2d_shape(&g, B, C, H, W, OC, KH, KW, SH, SW, PH, PW, OPH, OPW)) {
		check(0, "%s: shape: %s", name, nn_error());
		return;
	}
	fd_case c = { .name = name, .forward = convt_f, .backward = convt_b, .h = 0.5, .geom = &g };
	size_t nx = (size_t)B * C * H * W, nw = (size_t)OC * C * KH * KW;
	add_input(&c, "x", uniform(nx, -1, 1), nx, 0, 1);
	add_input(&c, "w", uniform(nw, -1, 1), nw, 1, 1);
	if (bias)
		add_input(&c, "b", uniform(OC, -1, 1), OC, 1, 1);
	set_output(&c, (size_t)B * OC * g.OH * g.OW);
	run_case(&c);
	free_case(&c);
}

static void test_conv(void)
{
	conv_case("conv2d 3x3 s1 p1", 2, 2, 5, 4, 3, 3, 3, 1, 1, 1, 1, 1);
	conv_case("conv2d 3x3 s2 p1", 2, 2, 6, 5, 3, 3, 3, 2, 2, 1, 1, 1);
	conv_case("conv2d 1x1", 2, 3, 3, 4, 2, 1, 1, 1, 1, 0, 0, 1);
	conv_case("conv2d 5x5 p2 one output channel", 1, 2, 6, 5, 1, 5, 5, 1, 1, 2, 2, 1);
	conv_case("conv2d 1x7 p(0,3)", 1, 2, 3, 8, 2, 1, 7, 1, 1, 0, 3, 0);
	conv_case("conv2d 7x1 p(3,0)", 1, 2, 8, 3, 2, 7, 1, 1, 1, 3, 0, 1);
	conv_case("conv2d 3x1 stride (2,1) p(1,0)", 1, 2, 7, 3, 2, 3, 1, 2, 1, 1, 0, 1);
	conv_case("conv2d 4x4 s2 p1 no bias", 1, 2, 6, 6, 2, 4, 4, 2, 2, 1, 1, 0);
	conv_case("conv2d 9x9 p4", 1, 1, 9, 9, 2, 9, 9, 1, 1, 4, 4, 1);
	convt_case("conv_transpose2d 4x4 s2 p1", 2, 2, 3, 3, 2, 4, 4, 2, 2, 1, 1, 0, 0, 1);
	convt_case("conv_transpose2d 3x3 s2 p1 op1", 1, 2, 3, 4, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1);
	convt_case("conv_transpose2d 3x3 s1 p1", 1, 3, 4, 3, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0);
	convt_case("conv_transpose2d 5x3 s(3,2) p(2,1) op(2,1)", 1, 2, 3, 3, 2, 5, 3, 3, 2, 2, 1, 2,
	           1, 1);
}

/* ---- upsample, concat ---- */

static void up_f(fd_case *c)
{
	nn_ref_upsample_forward(c->y, c->in[0], c->i0, c->i1, c->i2, c->i3, c->i4);
}

static void up_b(fd_case *c)
{
	nn_ref_upsample_backward(c->grad[0], c->r, c->i0, c->i1, c->i2, c->i3, c->i4);
}

static void cat_f(fd_case *c)
{
	nn_ref_concat_forward(c->y, c->in[0], c->in[1], c->i0, c->i1, c->i2, c->i3);
}

static void cat_b(fd_case *c)
{
	nn_ref_concat_backward(c->grad[0], c->grad[1], c->r, c->i0, c->i1, c->i2, c->i3);
}

static void test_shape(void)
{
	fd_case c = { .name = "upsample x2", .forward = up_f, .backward = up_b, .h = 0.5,
	              .i0 = 2, .i1 = 2, .i2 = 3, .i3 = 4, .i4 = 2 };
	add_input(&c, "x", uniform(48, -1, 1), 48, 0, 1);
	set_output(&c, 48 * 4);
	run_case(&c);
	free_case(&c);
	fd_case d = { .name = "upsample x3", .forward = up_f, .backward = up_b, .h = 0.5,
	              .i0 = 1, .i1 = 2, .i2 = 2, .i3 = 3, .i4 = 3 };
	add_input(&d, "x", uniform(12, -1, 1), 12, 0, 1);
	set_output(&d, 12 * 9);
	run_case(&d);
	free_case(&d);
	fd_case e = { .name = "concat 2+3 channels", .forward = cat_f, .backward = cat_b, .h = 0.5,
	              .i0 = 2, .i1 = 2, .i2 = 3, .i3 = 5 };
	add_input(&e, "a", uniform(20, -1, 1), 20, 0, 1);
	add_input(&e, "b", uniform(30, -1, 1), 30, 0, 1);
	set_output(&e, 50);
	run_case(&e);
	free_case(&e);
}

/* ---- activations ---- */

static void act_f(fd_case *c)
{
	size_t n = c->nel[0];
	switch (c->i0) {
	case 0: nn_ref_relu_forward(c->y, c->in[0], n); break;
	case 1: nn_ref_leaky_relu_forward(c->y, c->in[0], n, c->f0); break;
	case 2: nn_ref_tanh_forward(c->y, c->in[0], n); break;
	default: nn_ref_sigmoid_forward(c->y, c->in[0], n); break;
	}
}

static void act_b(fd_case *c)
{
	size_t n = c->nel[0];
	switch (c->i0) {
	case 0: nn_ref_relu_backward(c->grad[0], c->r, c->in[0], n); break;
	case 1: nn_ref_leaky_relu_backward(c->grad[0], c->r, c->in[0], n, c->f0); break;
	case 2: nn_ref_tanh_backward(c->grad[0], c->r, c->y, n); break;
	default: nn_ref_sigmoid_backward(c->grad[0], c->r, c->y, n); break;
	}
}

static void test_act(void)
{
	static const char *names[4] = { "relu", "leaky_relu 0.2", "tanh", "sigmoid" };
	for (int kind = 0; kind < 4; kind++) {
		fd_case c = { .name = names[kind], .forward = act_f, .backward = act_b,
		              .h = kind < 2 ? 1e-2 : 2e-2, .i0 = kind, .f0 = 0.2f };
		add_input(&c, "x", kind < 2 ? away_from_zero(40, 0.05f, 3) : uniform(40, -4, 4), 40, 0, 1);
		set_output(&c, 40);
		run_case(&c);
		free_case(&c);
	}
}

/* ---- losses: y is the scalar loss ---- */

static void loss_f(fd_case *c)
{
	const float *t = c->nin > 1 ? c->in[1] : NULL;
	int n = (int)c->nel[0];
	double l;
	switch (c->i0) {
	case 0: l = nn_ref_mse_forward(c->in[0], t, c->f1, n); break;
	case 1: l = nn_ref_l1_forward(c->in[0], t, c->f1, n); break;
	case 2: l = nn_ref_bce_forward(c->in[0], t, c->f1, n); break;
	case 3: l = nn_ref_bce_logits_forward(c->in[0], t, c->f1, n); break;
	default: l = nn_ref_wasserstein_forward(c->in[0], n, c->f0); break;
	}
	c->y[0] = (float)l;
	c->aux[0] = (float)(l - (double)c->y[0]);  /* keep the double's low part */
}

static double scalar_loss(fd_case *c)
{
	c->forward(c);
	return c->r[0] * ((double)c->y[0] + (double)c->aux[0]);
}

static void loss_b(fd_case *c)
{
	const float *t = c->nin > 1 ? c->in[1] : NULL;
	int n = (int)c->nel[0];
	float dl = c->r[0];
	switch (c->i0) {
	case 0: nn_ref_mse_backward(c->grad[0], c->in[0], t, c->f1, n, dl); break;
	case 1: nn_ref_l1_backward(c->grad[0], c->in[0], t, c->f1, n, dl); break;
	case 2: nn_ref_bce_backward(c->grad[0], c->in[0], t, c->f1, n, dl); break;
	case 3: nn_ref_bce_logits_backward(c->grad[0], c->in[0], t, c->f1, n, dl); break;
	default: nn_ref_wasserstein_backward(c->grad[0], n, c->f0, dl); break;
	}
}

/* Losses are checked with their double value (the float output would add
 * rounding noise of 1e-8 / h). */
static void run_loss_case(fd_case *c)
{
	for (size_t i = 0; i < c->nel[0]; i++)
		c->grad[0][i] = NAN;
	c->forward(c);
	c->backward(c);
	size_t bad = 0;
	double worst = 0;
	for (size_t i = 0; i < c->nel[0]; i++) {
		double fd = numeric(c, 0, i, scalar_loss);
		double e = fabs((double)c->grad[0][i] - fd);
		if (!(e <= 1e-4 || e <= 1e-3 * fabs(fd)))
			bad++;
		double rel = e / (fabs(fd) > 1e-4 ? fabs(fd) : 1e-4);
		if (!(rel <= worst))
			worst = isnan(rel) ? INFINITY : rel;
	}
	check(bad == 0, "%s: d/dx, %zu elements, h %g: %zu outside tolerance (worst error %.2g of "
	      "max(|numeric|, 1e-4))", c->name, c->nel[0], c->h, bad, worst);
}

static void test_losses(void)
{
	static const char *names[5] = { "mse", "l1", "bce", "bce_logits", "wasserstein" };
	for (int kind = 0; kind < 5; kind++)
		for (int with_t = 0; with_t < 2; with_t++) {
			if (kind == 4 && with_t)
				continue;
			char name[80];
			snprintf(name, sizeof name, "%s loss, %s target", names[kind],
			         with_t ? "tensor" : "constant");
			fd_case c = { .name = name, .forward = loss_f, .backward = loss_b, .i0 = kind,
			              .f0 = -1.0f, .f1 = 0.7f };
			/* BCE's log has large high derivatives near 0 and 1: a smaller step. */
			c.h = kind == 0 || kind == 4 ? 0.5 : kind == 1 ? 1e-2 : kind == 2 ? 2e-3 : 2e-2;
			size_t n = 24;
			float *x = kind == 2 ? uniform(n, 0.05f, 0.95f) : uniform(n, -2, 2);
			float *t = kind == 2 || kind == 3 ? uniform(n, 0, 1) : uniform(n, -2, 2);
			if (kind == 1)   /* keep |x - t| >= 0.05 */
				for (size_t i = 0; i < n; i++)
					if (fabsf(x[i] - (with_t ? t[i] : c.f1)) < 0.05f)
						x[i] += 0.1f;
			add_input(&c, "x", x, n, 0, 1);
			if (with_t)
				add_input(&c, "t", t, n, 0, 0);
			else
				free(t);
			set_output(&c, 1);
			c.r[0] = 1.7f;
			c.aux = nn_test_alloc(1);
			run_loss_case(&c);
			free_case(&c);
		}
}

/* ---- pooling ---- */

static void pool_f(fd_case *c)
{
	switch (c->i0) {
	case 0: nn_ref_maxpool2d_forward(c->geom, c->y, (int *)c->aux, c->in[0]); break;
	case 1: nn_ref_avgpool2d_forward(c->geom, c->y, c->in[0], c->i1); break;
	default: nn_ref_global_avgpool_forward(c->y, c->in[0], c->i2, c->i3, c->i4); break;
	}
}

static void pool_b(fd_case *c)
{
	switch (c->i0) {
	case 0: nn_ref_maxpool2d_backward(c->geom, c->grad[0], c->r, (const int *)c->aux); break;
	case 1: nn_ref_avgpool2d_backward(c->geom, c->grad[0], c->r, c->i1); break;
	default: nn_ref_global_avgpool_backward(c->grad[0], c->r, c->i2, c->i3, c->i4); break;
	}
}

/* n distinct values at least 0.1 apart, shuffled: no ties in a max window. */
static float *spaced(size_t n)
{
	float *p = nn_test_alloc(n);
	float *u = uniform(n, 0, 1);
	for (size_t i = 0; i < n; i++)
		p[i] = 0.1f * (float)i - 0.05f * (float)n;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(u[i] * (float)(i + 1));
		j = j > i ? i : j;
		float t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
	free(u);
	return p;
}

static void pool_case(const char *name, int kind, int B, int C, int H, int W, int KH, int KW,
                      int SH, int SW, int PH, int PW, int include_pad)
{
	nn_pool2d g;
	if (nn_pool2d_shape(&g, B, C, H, W, KH, KW, SH, SW, PH, PW)) {
		check(0, "%s: shape: %s", name, nn_error());
		return;
	}
	fd_case c = { .name = name, .forward = pool_f, .backward = pool_b, .geom = &g, .i0 = kind,
	              .i1 = include_pad };
	size_t nx = (size_t)B * C * H * W;
	c.h = kind == 0 ? 1e-2 : 0.5;
	add_input(&c, "x", kind == 0 ? spaced(nx) : uniform(nx, -1, 1), nx, 0, 1);
	set_output(&c, (size_t)B * C * g.OH * g.OW);
	c.aux = nn_test_alloc(c.ny);
	run_case(&c);
	free_case(&c);
}

static void test_pool(void)
{
	pool_case("maxpool 3x3 s2", 0, 2, 2, 7, 6, 3, 3, 2, 2, 0, 0, 0);
	pool_case("maxpool 3x3 s1 p1", 0, 1, 2, 5, 5, 3, 3, 1, 1, 1, 1, 0);
	pool_case("maxpool 2x2 s2", 0, 1, 2, 4, 6, 2, 2, 2, 2, 0, 0, 0);
	pool_case("avgpool 3x3 s1 p1 count_include_pad", 1, 2, 2, 5, 4, 3, 3, 1, 1, 1, 1, 1);
	pool_case("avgpool 3x3 s1 p1 exclude pad", 1, 2, 2, 5, 4, 3, 3, 1, 1, 1, 1, 0);
	pool_case("avgpool 2x3 s(2,1) p(1,1)", 1, 1, 2, 6, 5, 2, 3, 2, 1, 1, 1, 0);
	fd_case c = { .name = "global avgpool", .forward = pool_f, .backward = pool_b, .h = 0.5,
	              .i0 = 2, .i2 = 2, .i3 = 3, .i4 = 10 };
	add_input(&c, "x", uniform(60, -1, 1), 60, 0, 1);
	set_output(&c, 6);
	run_case(&c);
	free_case(&c);
}

/* ---- dropout: the same mask at every evaluation (the generator is reset) ---- */

static void drop_f(fd_case *c)
{
	nn_rng r;
	nn_rng_init(&r, 5);
	nn_ref_dropout_forward(&r, c->y, c->aux, c->in[0], c->i0, c->i1, c->f0);
}

static void drop_b(fd_case *c)
{
	nn_ref_dropout_backward(c->grad[0], c->r, c->aux, c->i0, c->i1);
}

static void test_dropout(void)
{
	fd_case c = { .name = "dropout2d p 0.4", .forward = drop_f, .backward = drop_b, .h = 0.5,
	              .i0 = 6, .i1 = 5, .f0 = 0.4f };
	add_input(&c, "x", uniform(30, -1, 1), 30, 0, 1);
	set_output(&c, 30);
	c.aux = nn_test_alloc(6);
	run_case(&c);
	free_case(&c);
}

/* ---- batch normalisation ---- */

static void bn_f(fd_case *c)
{
	int has_affine = c->nin > 1;
	/* Running statistics are reset each time so every evaluation is the same. */
	for (int i = 0; i < c->i1; i++) {
		c->aux2[i] = 0.1f * (float)i;
		c->aux2[c->i1 + i] = 1.0f + 0.2f * (float)i;
	}
	nn_ref_batchnorm_forward(c->y, c->aux, c->in[0], has_affine ? c->in[1] : NULL,
	                         has_affine ? c->in[2] : NULL, c->aux2, c->aux2 + c->i1, c->i0,
	                         c->i1, c->i2, c->f0, 0.1f, c->i3);
}

static void bn_b(fd_case *c)
{
	int has_affine = c->nin > 1;
	nn_ref_batchnorm_backward(c->grad[0], has_affine ? c->grad[1] : NULL,
	                          has_affine ? c->grad[2] : NULL, c->r, c->in[0], c->aux,
	                          has_affine ? c->in[1] : NULL, c->i0, c->i1, c->i2, c->i3);
}

static void bn_case(const char *name, int B, int C, int S, float eps, int train, int affine)
{
	fd_case c = { .name = name, .forward = bn_f, .backward = bn_b, .h = 2e-2, .i0 = B, .i1 = C,
	              .i2 = S, .i3 = train, .f0 = eps };
	size_t n = (size_t)B * C * S;
	add_input(&c, "x", uniform(n, -2, 2), n, 0, 1);
	if (affine) {
		add_input(&c, "gamma", uniform(C, 0.5f, 1.5f), C, 1, 1);
		add_input(&c, "beta", uniform(C, -1, 1), C, 1, 1);
	}
	set_output(&c, n);
	c.aux = nn_test_alloc(2 * (size_t)C);
	c.aux2 = nn_test_alloc(2 * (size_t)C);
	run_case(&c);
	free_case(&c);
}

static void test_bn(void)
{
	bn_case("batchnorm2d train eps 1e-5", 3, 2, 6, 1e-5f, 1, 1);
	bn_case("batchnorm2d train eps 0.8", 2, 3, 4, 0.8f, 1, 1);
	bn_case("batchnorm1d train eps 0.8", 5, 4, 1, 0.8f, 1, 1);
	bn_case("batchnorm2d train no affine", 2, 2, 5, 1e-5f, 1, 0);
	bn_case("batchnorm2d eval", 2, 3, 4, 1e-5f, 0, 1);
}

int main(void)
{
	nn_rng_init(&rng, 12345);
	test_linear();
	test_conv();
	test_shape();
	test_act();
	test_losses();
	test_pool();
	test_dropout();
	test_bn();
	return check_finish();
}
