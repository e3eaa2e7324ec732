/* test_nn_seq: sequential models (nn/seq.h) on the OpenCL device.
 *
 * 1. Forward and backward of a model using every layer kind (conv with
 *    non-square kernel, stride and padding, LeakyReLU, ReLU, upsample,
 *    1x1 conv without bias, Tanh, flatten, linear, Sigmoid) against the
 *    same layers composed by hand from the plain-C references of ops.h:
 *    output, input gradient and every parameter gradient, error
 *    max |diff| / max |ref| per tensor (test_nn_util.h), tolerance 1e-4.
 *    Parameter gradients must accumulate: a second backward doubles them.
 *    A backward without parameter gradients followed by nn_seq_param_grad
 *    over two row ranges gives the same gradients.
 * 2. Tangent forward against the finite-difference directional derivative
 *    (f(x + h v) - f(x - h v)) / 2h of the forward, the forward evaluated
 *    in double precision by a small interpreter of the model here, h 1e-5
 *    (truncation error about h^2 f''' ~ 1e-10 for the smooth layers, and
 *    no perturbation may change the sign of a ReLU/LeakyReLU input; the
 *    test checks).  Rows 1..2 of a batch of 3.  Tolerance 1e-4.
 * 3. Tangent backward of a piecewise-linear model: the gradient of
 *    s(theta) = sum dty * J(theta) v with respect to every weight, against
 *    central differences of s in double (s computed by the interpreter in
 *    forward mode, exact; step 1e-5; kinks avoided and checked), rows 1..2
 *    of 3.  Biases must get nothing.  Tolerance 1e-4 (floor 1e-2 max |ref|).
 * 4. A model that starts with a flatten (its input gradient is a copy).
 * 5. Tangent backward refuses a model with Tanh; shapes are checked when
 *    layers are added.
 * Tests 1-3 run twice: with each conv and the ReLU/LeakyReLU after it in
 * one pass (ctx->fuse_act, the default), and in two passes.
 */
#include "nn/seq.h"
#include "test_nn_util.h"

#define TOL 1e-4

static nn_ctx *ctx;

static int st_ok(const char *what, int st)
{
	if (st != TG_CL_OK)
		check(0, "%s: %s", what, nn_error());
	return st == TG_CL_OK;
}

/* Host copies of the parameters of arena a, random in [-bound, bound)
 * with bound 1/sqrt(fan-in) (fan-in: elements per output row), uploaded. */
static float **random_params(nn_arena *a, nn_rng *r)
{
	float **p = calloc((size_t)a->n, sizeof *p);
	for (int i = 0; i < a->n; i++) {
		size_t fan = a->p[i].rank > 1 ? a->p[i].numel / (size_t)a->p[i].dim[0] : 4;
		float bound = (float)(1.0 / sqrt((double)fan));
		p[i] = nn_test_uniform(r, a->p[i].numel, -bound, bound);
		if (nn_write(ctx, nn_arena_param(a, i), p[i], a->p[i].numel) != TG_CL_OK)
			check(0, "upload %s: %s", a->p[i].name, nn_error());
	}
	return p;
}

static void free_params(nn_arena *a, float **p)
{
	for (int i = 0; i < a->n; i++)
		free(p[i]);
	free(p);
}

static void cmp_dev(const char *what, nn_buf b, const float *ref, size_t n, double scale)
{
	float *got = nn_test_down(ctx, b, n);
	if (scale != 1)
		for (size_t i = 0; i < n; i++)
			got[i] = (float)(got[i] / scale);
	double e = nn_err(got, ref, n);
	check(e <= TOL, "%s: error %.2g (tolerance %g)", what, e, TOL);
	free(got);
}

/* ---- model A: every layer kind ---- */

#define AB 3
#define AH 6
#define AW 7

static int build_a(nn_seq *m, nn_arena *a)
{
	return nn_seq_init(m, a, "A", 1, AH, AW) == 0 &&
	               nn_seq_conv2d(m, 3, 3, 3, 1, 1, 1, 1, 1) >= 0 &&    /* 0: 3x6x7 */
	               nn_seq_leaky_relu(m, 0.1f) >= 0 &&                   /* 1 */
	               nn_seq_conv2d(m, 4, 4, 3, 2, 1, 1, 0, 1) >= 0 &&    /* 2: 4x3x5 */
	               nn_seq_relu(m) >= 0 &&                               /* 3 */
	               nn_seq_upsample(m, 2) >= 0 &&                        /* 4: 4x6x10 */
	               nn_seq_conv2d(m, 2, 1, 1, 1, 1, 0, 0, 0) >= 0 &&    /* 5: 2x6x10 */
	               nn_seq_tanh(m) >= 0 &&                               /* 6 */
	               nn_seq_flatten(m) >= 0 &&                            /* 7: 120 */
	               nn_seq_linear(m, 5, 1) >= 0 &&                       /* 8: 5 */
	               nn_seq_sigmoid(m) >= 0                               /* 9 */
	           ? 0
	           : -1;
}

/* The composition by hand with the references: forward into acts[0..10],
 * backward of dy into dx and grads (+=). */
typedef struct {
	float *a[11], *d[11];
	nn_conv2d g0, g2, g5;
} refrun;

static void ref_a(refrun *R, float **p, float **gr, const float *x, const float *dy, int B)
{
	size_t n1 = (size_t)B * 3 * AH * AW, n2 = (size_t)B * 4 * 3 * 5, n4 = (size_t)B * 4 * 6 * 10,
	       n5 = (size_t)B * 120, n8 = (size_t)B * 5;
	nn_conv2d_shape(&R->g0, B, 1, AH, AW, 3, 3, 3, 1, 1, 1, 1);
	nn_conv2d_shape(&R->g2, B, 3, AH, AW, 4, 4, 3, 2, 1, 1, 0);
	nn_conv2d_shape(&R->g5, B, 4, 6, 10, 2, 1, 1, 1, 1, 0, 0);
	size_t sz[11] = { (size_t)B * AH * AW, n1, n1, n2, n2, n4, n5, n5, n5, n8, n8 };
	for (int i = 0; i < 11; i++) {
		R->a[i] = nn_test_alloc(sz[i]);
		R->d[i] = nn_test_alloc(sz[i]);
	}
	memcpy(R->a[0], x, sz[0] * sizeof(float));
	/* params: 0 w0, 1 b0, 2 w2, 3 b2, 4 w5, 5 w8, 6 b8 */
	nn_ref_conv2d_forward(&R->g0, R->a[1], R->a[0], p[0], p[1]);
	nn_ref_leaky_relu_forward(R->a[2], R->a[1], n1, 0.1f);
	nn_ref_conv2d_forward(&R->g2, R->a[3], R->a[2], p[2], p[3]);
	nn_ref_relu_forward(R->a[4], R->a[3], n2);
	nn_ref_upsample_forward(R->a[5], R->a[4], B, 4, 3, 5, 2);
	nn_ref_conv2d_forward(&R->g5, R->a[6], R->a[5], p[4], NULL);
	nn_ref_tanh_forward(R->a[7], R->a[6], n5);
	memcpy(R->a[8], R->a[7], n5 * sizeof(float));
	nn_ref_linear_forward(R->a[9], R->a[8], p[5], p[6], B, 120, 5);
	nn_ref_sigmoid_forward(R->a[10], R->a[9], n8);
	memcpy(R->d[10], dy, n8 * sizeof(float));
	nn_ref_sigmoid_backward(R->d[9], R->d[10], R->a[10], n8);
	nn_ref_linear_backward(R->d[8], gr[5], gr[6], R->d[9], R->a[8], p[5], B, 120, 5);
	memcpy(R->d[7], R->d[8], n5 * sizeof(float));
	nn_ref_tanh_backward(R->d[6], R->d[7], R->a[7], n5);
	nn_ref_conv2d_backward(&R->g5, R->d[5], gr[4], NULL, R->d[6], R->a[5], p[4]);
	nn_ref_upsample_backward(R->d[4], R->d[5], B, 4, 3, 5, 2);
	nn_ref_relu_backward(R->d[3], R->d[4], R->a[3], n2);
	nn_ref_conv2d_backward(&R->g2, R->d[2], gr[2], gr[3], R->d[3], R->a[2], p[2]);
	nn_ref_leaky_relu_backward(R->d[1], R->d[2], R->a[1], n1, 0.1f);
	nn_ref_conv2d_backward(&R->g0, R->d[0], gr[0], gr[1], R->d[1], R->a[0], p[0]);
}

static void free_ref(refrun *R)
{
	for (int i = 0; i < 11; i++)
		free(R->a[i]), free(R->d[i]);
}

/* ---- a double-precision interpreter of a model, forward mode ----
 * One sample: x (and tangent tx, may be NULL) -> y (ty).  sg, if not NULL,
 * receives the signs of every ReLU/LeakyReLU input (*nsg of them). */

typedef struct {
	double *w[NN_SEQ_MAX_LAYERS], *b[NN_SEQ_MAX_LAYERS];
} dparams;

static void dparams_from(dparams *dp, const nn_seq *m, float **p)
{
	memset(dp, 0, sizeof *dp);
	for (int i = 0; i < m->n; i++) {
		const nn_layer *l = &m->l[i];
		int idx[2] = { l->w, l->b };
		double **dst[2] = { &dp->w[i], &dp->b[i] };
		for (int k = 0; k < 2; k++)
			if (idx[k] >= 0) {
				size_t n = m->arena->p[idx[k]].numel;
				*dst[k] = calloc(n, sizeof(double));
				for (size_t j = 0; j < n; j++)
					(*dst[k])[j] = p[idx[k]][j];
			}
	}
}

static void dparams_free(dparams *dp)
{
	for (int i = 0; i < NN_SEQ_MAX_LAYERS; i++)
		free(dp->w[i]), free(dp->b[i]);
}

static double dact(int kind, double z, float slope, double *deriv)
{
	double y;
	switch (kind) {
	case NN_LAYER_RELU: y = z > 0 ? z : 0; *deriv = z > 0; break;
	case NN_LAYER_LEAKY_RELU: y = z > 0 ? z : slope * z; *deriv = z > 0 ? 1 : slope; break;
	case NN_LAYER_TANH: y = tanh(z); *deriv = 1 - y * y; break;
	default: y = 1 / (1 + exp(-z)); *deriv = y * (1 - y);
	}
	return y;
}

#define DMAX 4096

static void dforward(const nn_seq *m, const dparams *dp, const double *x, const double *tx,
                     double *y, double *ty, char *sg, int *nsg)
{
	static double a[2][DMAX], t[2][DMAX];
	int cur = 0, ns = 0;
	size_t n0 = nn_seq_in_numel(m);
	for (size_t i = 0; i < n0; i++) {
		a[0][i] = x[i];
		t[0][i] = tx ? tx[i] : 0;
	}
	for (int li = 0; li < m->n; li++) {
		const nn_layer *l = &m->l[li];
		double *ai = a[cur], *ti = t[cur], *ao = a[!cur], *to = t[!cur];
		int C = l->in[0], H = l->in[1], W = l->in[2];
		int OC = l->out[0], OH = l->out[1], OW = l->out[2];
		switch (l->kind) {
		case NN_LAYER_LINEAR:
			for (int o = 0; o < OC; o++) {
				double s = dp->b[li] ? dp->b[li][o] : 0, st = 0;
				for (size_t k = 0; k < l->in_n; k++) {
					s += dp->w[li][o * l->in_n + k] * ai[k];
					st += dp->w[li][o * l->in_n + k] * ti[k];
				}
				ao[o] = s, to[o] = st;
			}
			break;
		case NN_LAYER_CONV2D:
			for (int o = 0; o < OC; o++)
				for (int i = 0; i < OH; i++)
					for (int j = 0; j < OW; j++) {
						double s = dp->b[li] ? dp->b[li][o] : 0, st = 0;
						for (int c = 0; c < C; c++)
							for (int u = 0; u < l->kh; u++)
								for (int v = 0; v < l->kw; v++) {
									int yy = i * l->sh - l->ph + u;
									int xx = j * l->sw - l->pw + v;
									if (yy < 0 || yy >= H || xx < 0 || xx >= W)
										continue;
									double w = dp->w[li][((o * C + c) * l->kh + u) *
									                         l->kw + v];
									s += w * ai[(c * H + yy) * W + xx];
									st += w * ti[(c * H + yy) * W + xx];
								}
						ao[(o * OH + i) * OW + j] = s;
						to[(o * OH + i) * OW + j] = st;
					}
			break;
		case NN_LAYER_UPSAMPLE:
			for (int c = 0; c < OC; c++)
				for (int i = 0; i < OH; i++)
					for (int j = 0; j < OW; j++) {
						size_t src = ((size_t)c * H + i / l->factor) * W + j / l->factor;
						ao[(c * OH + i) * OW + j] = ai[src];
						to[(c * OH + i) * OW + j] = ti[src];
					}
			break;
		case NN_LAYER_RESHAPE:
			memcpy(ao, ai, l->in_n * sizeof(double));
			memcpy(to, ti, l->in_n * sizeof(double));
			break;
		default:
			for (size_t k = 0; k < l->in_n; k++) {
				double d;
				ao[k] = dact(l->kind, ai[k], l->slope, &d);
				to[k] = d * ti[k];
				if (sg && (l->kind == NN_LAYER_RELU || l->kind == NN_LAYER_LEAKY_RELU))
					sg[ns++] = ai[k] > 0;
			}
		}
		cur = !cur;
	}
	size_t no = nn_seq_out_numel(m);
	for (size_t i = 0; i < no; i++) {
		y[i] = a[cur][i];
		if (ty)
			ty[i] = t[cur][i];
	}
	if (nsg)
		*nsg = ns;
}

/* ---- tests ---- */

static void test_forward_backward(void)
{
	nn_rng r;
	nn_rng_init(&r, 77);
	nn_arena a;
	nn_arena_init(&a);
	nn_seq m;
	nn_seq_ws ws;
	memset(&ws, 0, sizeof ws);
	int built = build_a(&m, &a) == 0;
	if (!check(built && a.n == 7, "model A built: %d layers, %d tensors (%s)", m.n, a.n,
	           built ? "ok" : nn_error()) ||
	    !st_ok("model A: arena", nn_arena_alloc(ctx, &a)) ||
	    !st_ok("model A: workspace", nn_seq_ws_alloc(ctx, &m, &ws, AB, AB)))
		goto out0;
	check(nn_seq_out_numel(&m) == 5 && m.l[4].out[1] == 6 && m.l[4].out[2] == 10 &&
	          strcmp(a.p[2].name, "A.2.weight") == 0 && a.p[2].dim[2] == 4 && a.p[4].dim[1] == 4,
	      "model A: shapes and names (%s [%d %d %d %d])", a.p[2].name, a.p[2].dim[0],
	      a.p[2].dim[1], a.p[2].dim[2], a.p[2].dim[3]);
	float **p = random_params(&a, &r);
	size_t nx = (size_t)AB * AH * AW, ny = AB * 5;
	float *x = nn_test_uniform(&r, nx, -1, 1), *dy = nn_test_uniform(&r, ny, -1, 1);
	float *gr[7];
	for (int i = 0; i < 7; i++)
		gr[i] = nn_test_alloc(a.p[i].numel);
	refrun R;
	ref_a(&R, p, gr, x, dy, AB);
	nn_buf bx = nn_test_up(ctx, x, nx), bdy = nn_test_up(ctx, dy, ny);
	nn_buf bdx = nn_test_up(ctx, x, nx);
	int st = nn_arena_zero_grad(ctx, &a);
	if (!st)
		st = nn_seq_forward(ctx, &m, &ws, bx, AB);
	if (!st)
		st = nn_seq_backward(ctx, &m, &ws, bdx, bdy, 0);
	if (st_ok("model A: forward, backward", st)) {
		/* layers 0-1 and 2-3 are conv + LeakyReLU / ReLU: fused, the
		 * activation's input is its output's buffer; not fused, its own */
		int alias = ws.act[1].mem == ws.act[2].mem && ws.act[1].off == ws.act[2].off &&
		            ws.act[3].mem == ws.act[4].mem && ws.act[3].off == ws.act[4].off;
		check(alias == ctx->fuse_act, "model A: conv and activation %s (ctx->fuse_act %d)",
		      alias ? "in one pass" : "in two passes", ctx->fuse_act);
		cmp_dev("model A: output", nn_seq_output(&ws), R.a[10], ny, 1);
		cmp_dev("model A: input gradient", bdx, R.d[0], nx, 1);
		for (int i = 0; i < 7; i++) {
			char what[160];
			snprintf(what, sizeof what, "model A: gradient of %s", a.p[i].name);
			cmp_dev(what, nn_arena_grad(&a, i), gr[i], a.p[i].numel, 1);
		}
		/* a second backward accumulates */
		st = nn_seq_backward(ctx, &m, &ws, NN_NONE, bdy, 0);
		if (st_ok("model A: second backward", st))
			for (int i = 0; i < 7; i += 2) {
				char what[160];
				snprintf(what, sizeof what, "model A: two backwards accumulate %s (/2)",
				         a.p[i].name);
				cmp_dev(what, nn_arena_grad(&a, i), gr[i], a.p[i].numel, 2);
			}
		/* no parameter gradients, then param_grad over rows 0..1 and 1..3 */
		st = nn_arena_zero_grad(ctx, &a);
		if (!st)
			st = nn_seq_backward(ctx, &m, &ws, NN_NONE, bdy, NN_SEQ_NO_PARAM_GRAD);
		float *z = nn_test_down(ctx, nn_arena_grad(&a, 0), a.p[0].numel);
		double zm = 0;
		for (size_t i = 0; i < a.p[0].numel; i++)
			zm = fmax(zm, fabs(z[i]));
		free(z);
		check(st == 0 && zm == 0, "model A: NN_SEQ_NO_PARAM_GRAD leaves gradients at 0");
		if (!st)
			st = nn_seq_param_grad(ctx, &m, &ws, 0, 1, 0);
		if (!st)
			st = nn_seq_param_grad(ctx, &m, &ws, 1, AB - 1, 0);
		if (st_ok("model A: param_grad", st))
			for (int i = 0; i < 7; i++) {
				char what[160];
				snprintf(what, sizeof what, "model A: param_grad rows 0..1 + 1..3, %s",
				         a.p[i].name);
				cmp_dev(what, nn_arena_grad(&a, i), gr[i], a.p[i].numel, 1);
			}
	}
	free_ref(&R);
	for (int i = 0; i < 7; i++)
		free(gr[i]);
	free(x), free(dy);
	free_params(&a, p);
	nn_test_free(bx), nn_test_free(bdy), nn_test_free(bdx);
out0:
	nn_seq_ws_free(&ws);
	nn_arena_free(&a);
}

static void test_tangent_forward(void)
{
	nn_rng r;
	nn_rng_init(&r, 78);
	nn_arena a;
	nn_arena_init(&a);
	nn_seq m;
	nn_seq_ws ws;
	memset(&ws, 0, sizeof ws);
	if (build_a(&m, &a) || !st_ok("tangent: arena", nn_arena_alloc(ctx, &a)) ||
	    !st_ok("tangent: workspace", nn_seq_ws_alloc(ctx, &m, &ws, AB, 2))) {
		check(0, "tangent forward: setup: %s", nn_error());
		goto out;
	}
	float **p = random_params(&a, &r);
	size_t in = nn_seq_in_numel(&m), out = nn_seq_out_numel(&m);
	float *x = nn_test_uniform(&r, AB * in, -1, 1), *v = nn_test_uniform(&r, 2 * in, -1, 1);
	nn_buf bx = nn_test_up(ctx, x, AB * in), bv = nn_test_up(ctx, v, 2 * in);
	int st = nn_seq_forward(ctx, &m, &ws, bx, AB);
	if (!st)
		st = nn_seq_tangent_forward(ctx, &m, &ws, bv, 1, 2);
	if (st_ok("tangent forward", st)) {
		dparams dp;
		dparams_from(&dp, &m, p);
		float *fd = nn_test_alloc(2 * out);
		double h = 1e-5, xp[DMAX], xm[DMAX], yp[64], ym[64];
		char s0[DMAX], s1[DMAX];
		int flips = 0, n0, n1;
		for (int b = 0; b < 2; b++) {
			const float *xr = x + (size_t)(b + 1) * in, *vr = v + (size_t)b * in;
			for (size_t i = 0; i < in; i++) {
				xp[i] = xr[i] + h * vr[i];
				xm[i] = xr[i] - h * vr[i];
			}
			double x0[DMAX];
			for (size_t i = 0; i < in; i++)
				x0[i] = xr[i];
			dforward(&m, &dp, x0, NULL, yp, NULL, s0, &n0);
			dforward(&m, &dp, xp, NULL, yp, NULL, s1, &n1);
			flips += memcmp(s0, s1, (size_t)n0) != 0;
			dforward(&m, &dp, xm, NULL, ym, NULL, s1, &n1);
			flips += memcmp(s0, s1, (size_t)n0) != 0;
			for (size_t k = 0; k < out; k++)
				fd[b * out + k] = (float)((yp[k] - ym[k]) / (2 * h));
		}
		check(flips == 0, "tangent forward: no ReLU/LeakyReLU input changes sign under +-h v");
		cmp_dev("tangent forward (rows 1..2) vs finite differences", nn_seq_tangent_output(&ws),
		        fd, 2 * out, 1);
		free(fd);
		dparams_free(&dp);
	}
	free(x), free(v);
	free_params(&a, p);
	nn_test_free(bx), nn_test_free(bv);
out:
	nn_seq_ws_free(&ws);
	nn_arena_free(&a);
}

/* piecewise-linear model for the tangent backward */
static int build_pl(nn_seq *m, nn_arena *a)
{
	return nn_seq_init(m, a, "P", 2, 6, 6) == 0 &&
	               nn_seq_conv2d(m, 3, 3, 3, 1, 1, 1, 1, 1) >= 0 &&   /* 0: 3x6x6 */
	               nn_seq_leaky_relu(m, 0.2f) >= 0 &&                 /* 1 */
	               nn_seq_conv2d(m, 4, 3, 3, 2, 2, 1, 1, 1) >= 0 &&   /* 2: 4x3x3 */
	               nn_seq_relu(m) >= 0 &&                             /* 3 */
	               nn_seq_upsample(m, 2) >= 0 &&                      /* 4: 4x6x6 */
	               nn_seq_conv2d(m, 2, 3, 3, 3, 3, 0, 0, 1) >= 0 &&   /* 5: 2x2x2 */
	               nn_seq_flatten(m) >= 0 &&                          /* 6: 8 */
	               nn_seq_linear(m, 8, 1) >= 0 &&                     /* 7 */
	               nn_seq_leaky_relu(m, 0.3f) >= 0 &&                 /* 8 */
	               nn_seq_linear(m, 2, 1) >= 0                        /* 9: 2 */
	           ? 0
	           : -1;
}

static double s_of(const nn_seq *m, const dparams *dp, const float *x, const float *v,
                   const float *dty, size_t in, size_t out, char *sg, int *nsg)
{
	double s = 0, xd[DMAX], vd[DMAX], y[64], ty[64];
	int off = 0;
	for (int b = 0; b < 2; b++) {
		for (size_t i = 0; i < in; i++) {
			xd[i] = x[(size_t)(b + 1) * in + i];
			vd[i] = v[(size_t)b * in + i];
		}
		int n;
		dforward(m, dp, xd, vd, y, ty, sg + off, &n);
		off += n;
		for (size_t k = 0; k < out; k++)
			s += dty[b * out + k] * ty[k];
	}
	*nsg = off;
	return s;
}

static void test_tangent_backward(void)
{
	nn_rng r;
	nn_rng_init(&r, 79);
	nn_arena a;
	nn_arena_init(&a);
	nn_seq m;
	nn_seq_ws ws;
	memset(&ws, 0, sizeof ws);
	if (build_pl(&m, &a) || !st_ok("tangent backward: arena", nn_arena_alloc(ctx, &a)) ||
	    !st_ok("tangent backward: workspace", nn_seq_ws_alloc(ctx, &m, &ws, 3, 2))) {
		check(0, "tangent backward: setup: %s", nn_error());
		goto out;
	}
	float **p = random_params(&a, &r);
	size_t in = nn_seq_in_numel(&m), out = nn_seq_out_numel(&m);
	float *x = nn_test_uniform(&r, 3 * in, -1, 1), *v = nn_test_uniform(&r, 2 * in, -1, 1);
	float *dty = nn_test_uniform(&r, 2 * out, -1, 1);
	nn_buf bx = nn_test_up(ctx, x, 3 * in), bv = nn_test_up(ctx, v, 2 * in);
	nn_buf bdty = nn_test_up(ctx, dty, 2 * out);
	int st = nn_arena_zero_grad(ctx, &a);
	if (!st)
		st = nn_seq_forward(ctx, &m, &ws, bx, 3);
	if (!st)
		st = nn_seq_tangent_forward(ctx, &m, &ws, bv, 1, 2);
	if (!st)
		st = nn_seq_tangent_backward(ctx, &m, &ws, bdty);
	if (st_ok("tangent backward", st)) {
		dparams dp;
		dparams_from(&dp, &m, p);
		static char s0[2 * DMAX], s1[2 * DMAX];
		int n0, n1, flips = 0;
		s_of(&m, &dp, x, v, dty, in, out, s0, &n0);
		double gmax = 0;
		double *fd[16] = { 0 };
		for (int li = 0; li < m.n; li++) {
			int pi = m.l[li].w;
			if (pi < 0)
				continue;
			size_t n = a.p[pi].numel;
			fd[pi] = calloc(n, sizeof(double));
			for (size_t j = 0; j < n; j++) {
				double w = dp.w[li][j], h = 1e-5;
				dp.w[li][j] = w + h;
				double sp = s_of(&m, &dp, x, v, dty, in, out, s1, &n1);
				flips += memcmp(s0, s1, (size_t)n0) != 0;
				dp.w[li][j] = w - h;
				double sm = s_of(&m, &dp, x, v, dty, in, out, s1, &n1);
				flips += memcmp(s0, s1, (size_t)n0) != 0;
				dp.w[li][j] = w;
				fd[pi][j] = (sp - sm) / (2 * h);
				gmax = fmax(gmax, fabs(fd[pi][j]));
			}
		}
		check(flips == 0, "tangent backward: no perturbation flips a ReLU/LeakyReLU input");
		for (int pi = 0; pi < a.n; pi++) {
			float *got = nn_test_down(ctx, nn_arena_grad(&a, pi), a.p[pi].numel);
			double d = 0, mref = 0;
			for (size_t j = 0; j < a.p[pi].numel; j++) {
				double ref = fd[pi] ? fd[pi][j] : 0;
				d = fmax(d, fabs(got[j] - ref));
				mref = fmax(mref, fabs(ref));
			}
			if (fd[pi]) {
				double e = isnan(d) ? INFINITY : d / fmax(mref, 1e-2 * gmax);
				check(e <= TOL, "tangent backward: gradient of %s vs differences of s: "
				                "error %.2g (tolerance %g)",
				      a.p[pi].name, e, TOL);
			} else {
				check(d == 0, "tangent backward: bias %s gets nothing (max %g)",
				      a.p[pi].name, d);
			}
			free(got);
			free(fd[pi]);
		}
		dparams_free(&dp);
	}
	free(x), free(v), free(dty);
	free_params(&a, p);
	nn_test_free(bx), nn_test_free(bv), nn_test_free(bdty);
out:
	nn_seq_ws_free(&ws);
	nn_arena_free(&a);
}

static void test_refusals(void)
{
	nn_arena a;
	nn_arena_init(&a);
	nn_seq m;
	nn_seq_ws ws;
	memset(&ws, 0, sizeof ws);
	int st = TG_CL_OK;
	if (build_a(&m, &a) == 0 && nn_arena_alloc(ctx, &a) == TG_CL_OK &&
	    nn_seq_ws_alloc(ctx, &m, &ws, 1, 1) == TG_CL_OK) {
		nn_buf x = nn_test_up(ctx, (float[AH * AW]){ 0 }, AH * AW);
		st = nn_seq_forward(ctx, &m, &ws, x, 1);
		if (!st)
			st = nn_seq_tangent_forward(ctx, &m, &ws, x, 0, 1);
		if (!st)
			st = nn_seq_tangent_backward(ctx, &m, &ws, nn_seq_tangent_output(&ws));
		nn_test_free(x);
	}
	check(st == TG_CL_FAIL && strstr(nn_error(), "tanh") && strstr(nn_error(), "piecewise"),
	      "tangent backward through Tanh refused: %s", nn_error());
	st = nn_seq_forward(ctx, &m, &ws, NN_NONE, 2);
	check(st == TG_CL_FAIL, "forward of more rows than the workspace refused: %s", nn_error());
	nn_seq_ws_free(&ws);
	nn_arena_free(&a);
	nn_arena_init(&a);
	int bad1 = nn_seq_init(&m, &a, "B", 1, 4, 4) == 0 && nn_seq_reshape(&m, 3, 2, 2) < 0;
	int bad2 = nn_seq_init(&m, &a, "C", 1, 4, 4) == 0 &&
	           nn_seq_conv2d(&m, 2, 5, 5, 1, 1, 0, 0, 1) < 0;
	check(bad1 && bad2, "impossible reshape and conv refused: %s", nn_error());
	nn_arena_free(&a);
}

/* A model that starts with a reshape: its input gradient is copied out. */
static void test_reshape_first(void)
{
	nn_rng r;
	nn_rng_init(&r, 80);
	nn_arena a;
	nn_arena_init(&a);
	nn_seq m;
	nn_seq_ws ws;
	memset(&ws, 0, sizeof ws);
	if (nn_seq_init(&m, &a, "R", 1, 4, 4) || nn_seq_flatten(&m) < 0 ||
	    nn_seq_linear(&m, 3, 1) < 0 || nn_arena_alloc(ctx, &a) ||
	    nn_seq_ws_alloc(ctx, &m, &ws, 2, 0)) {
		check(0, "reshape first: setup: %s", nn_error());
		nn_arena_free(&a);
		return;
	}
	float **p = random_params(&a, &r);
	float *x = nn_test_uniform(&r, 32, -1, 1), *dy = nn_test_uniform(&r, 6, -1, 1);
	float y[6], dx[32], dw[48] = { 0 }, db[3] = { 0 };
	nn_ref_linear_forward(y, x, p[0], p[1], 2, 16, 3);
	nn_ref_linear_backward(dx, dw, db, dy, x, p[0], 2, 16, 3);
	nn_buf bx = nn_test_up(ctx, x, 32), bdy = nn_test_up(ctx, dy, 6), bdx = nn_test_up(ctx, x, 32);
	int st = nn_arena_zero_grad(ctx, &a);
	if (!st)
		st = nn_seq_forward(ctx, &m, &ws, bx, 2);
	if (!st)
		st = nn_seq_backward(ctx, &m, &ws, bdx, bdy, 0);
	if (st_ok("reshape first", st)) {
		cmp_dev("reshape first: output", nn_seq_output(&ws), y, 6, 1);
		cmp_dev("reshape first: input gradient", bdx, dx, 32, 1);
		cmp_dev("reshape first: weight gradient", nn_arena_grad(&a, 0), dw, 48, 1);
	}
	free(x), free(dy);
	free_params(&a, p);
	nn_test_free(bx), nn_test_free(bdy), nn_test_free(bdx);
	nn_seq_ws_free(&ws);
	nn_arena_free(&a);
}

int main(void)
{
	ctx = nn_test_ctx("test_nn_seq");
	if (!ctx)
		return check_finish();
	test_forward_backward();
	test_tangent_forward();
	test_tangent_backward();
	/* The models' conv + ReLU/LeakyReLU pairs ran fused (one pass, only the
	 * activation's output kept); again with separate passes. */
	ctx->fuse_act = 0;
	printf("# again with conv and activation in separate passes (ctx->fuse_act 0)\n");
	test_forward_backward();
	test_tangent_forward();
	test_tangent_backward();
	ctx->fuse_act = 1;
	test_reshape_first();
	test_refusals();
	nn_ctx_free(ctx);
	return check_finish();
}
