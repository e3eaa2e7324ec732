/* test_nn_seq_ext: the additions to the sequential models (nn/seq.h):
 * batchnorm (1d and 2d), dropout (element-wise and 2d), transposed conv,
 * training and evaluation modes, on the OpenCL device.
 *
 * 1. Model E (transposed conv with output padding, BatchNorm2d eps 0.8
 *    momentum 0.3, LeakyReLU, Dropout2d 0.4, strided conv, flatten,
 *    linear, BatchNorm1d, Dropout 0.5, linear), batch 4, training mode,
 *    against the same layers composed by hand from the plain-C references
 *    of ops.h, the dropout masks drawn by the reference from a copy of the
 *    model's generator: output, input gradient, every parameter gradient,
 *    the running statistics after the forward, and the generator's
 *    position after it.  Then evaluation mode (running statistics,
 *    dropout the identity): output, input gradient and parameter
 *    gradients against the references in evaluation.  Error
 *    max |diff| / max |ref| per tensor (test_nn_util.h), tolerance 1e-4;
 *    except the biases whose shift a training batchnorm removes (zero
 *    gradient in exact arithmetic): both below 1e-5 in absolute value.
 * 2. Model P against PyTorch ($FIXTURES/nn_seq_ext,
 *    tests/make_nn_seq_ext_fixtures.py, torch 1.13): linear, reshape,
 *    BatchNorm2d (eps 0.8), transposed convs (one with output padding),
 *    BatchNorm2d, LeakyReLU, Dropout2d(p = 0, against PyTorch's identity),
 *    Tanh, flatten, linear, BatchNorm1d (eps 0.8, momentum 0.3),
 *    Dropout(p = 0), Sigmoid; training mode: output, dx, every parameter
 *    gradient, running statistics after; evaluation mode output of a
 *    second input.  Tolerance 1e-4 (the two biases before a batchnorm:
 *    zero gradient, as above).
 * 3. Refusals and bookkeeping: the tangent passes refuse model E;
 *    nn_seq_param_grad refuses part of a batchnorm batch; batchnorm1d
 *    refuses a spatial input; dropout refuses p = 1; after
 *    nn_seq_exclude_stats an SGD step with weight decay moves the weights
 *    but leaves the running statistics bit-identical; the dropout_off flag
 *    makes training-mode dropout the identity.
 */
#include <errno.h>

#include "nn/optim.h"
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

static void cmp_dev(const char *what, nn_buf b, const float *ref, size_t n)
{
	float *got = nn_test_down(ctx, b, n);
	double e = nn_err(got, ref, n);
	check(e <= TOL, "%s: error %.2g (tolerance %g)", what, e, TOL);
	free(got);
}

/* The gradient of a bias whose per-channel shift a training batchnorm
 * removes (directly after it, or through a linear map of whole channels)
 * is zero in exact arithmetic: ours and the reference's are rounding noise,
 * so both must be below ZERO_TOL (the other gradients here are O(0.1..1)). */
#define ZERO_TOL 1e-5

static double max_abs(const float *v, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs((double)v[i]));
	return m;
}

static void zero_grad_check(const char *what, const nn_arena *a, int i, const float *ref)
{
	size_t n = a->p[i].numel;
	float *got = nn_test_down(ctx, nn_arena_grad(a, i), n);
	double mg = max_abs(got, n), mr = max_abs(ref, n);
	check(mg <= ZERO_TOL && mr <= ZERO_TOL,
	      "%s: %s gradient zero before a training batchnorm: max %.2g, reference %.2g "
	      "(tolerance %g)",
	      what, a->p[i].name, mg, mr, ZERO_TOL);
	free(got);
}

/* ---- 1. model E against the references ---- */

#define EB 4

static int build_e(nn_seq *m, nn_arena *a)
{
	return nn_seq_init(m, a, "e", 2, 3, 3) == 0 &&
	               nn_seq_conv_transpose2d(m, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1) >= 0 && /* 0 */
	               nn_seq_batchnorm2d(m, 0.8f, 0.3f, 1) >= 0 &&                     /* 1 */
	               nn_seq_leaky_relu(m, 0.2f) >= 0 &&                               /* 2 */
	               nn_seq_dropout2d(m, 0.4f) >= 0 &&                                /* 3 */
	               nn_seq_conv2d(m, 2, 3, 3, 2, 2, 1, 1, 1) >= 0 &&                 /* 4 */
	               nn_seq_flatten(m) >= 0 &&                                        /* 5 */
	               nn_seq_linear(m, 5, 1) >= 0 &&                                   /* 6 */
	               nn_seq_batchnorm1d(m, 1e-5f, 0.1f, 1) >= 0 &&                    /* 7 */
	               nn_seq_dropout(m, 0.5f) >= 0 &&                                  /* 8 */
	               nn_seq_linear(m, 2, 1) >= 0                                      /* 9 */
	           ? 0
	           : -1;
}

/* arena order: 0 w0, 1 b0, 2 g1, 3 be1, 4 rm1, 5 rv1, 6 w4, 7 b4, 8 w6,
 * 9 b6, 10 g7, 11 be7, 12 rm7, 13 rv7, 14 w9, 15 b9 */
enum { W0, B0, G1, BE1, RM1, RV1, W4, B4, W6, B6, G7, BE7, RM7, RV7, W9, B9, NP };

/* Reference pass: forward (train or eval) updating rm/rv (train), then
 * backward of dy into dx and g[] (+=).  r: the generator (train). */
static void ref_e(float **p, float **g, nn_rng *r, const float *x, const float *dy, float *y,
                  float *dx, int train)
{
	int B = EB;
	nn_convt2d g0;
	nn_conv2d g4;
	nn_convt2d_shape(&g0, B, 2, 3, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1);
	nn_conv2d_shape(&g4, B, 3, 6, 6, 2, 3, 3, 2, 2, 1, 1);
	size_t n1 = (size_t)B * 108, n5 = (size_t)B * 18, n7 = (size_t)B * 5;
	float *a1 = nn_test_alloc(n1), *a2 = nn_test_alloc(n1), *a3 = nn_test_alloc(n1),
	      *a4 = nn_test_alloc(n1), *a5 = nn_test_alloc(n5), *a7 = nn_test_alloc(n7),
	      *a8 = nn_test_alloc(n7), *a9 = nn_test_alloc(n7);
	float *d1 = nn_test_alloc(n1), *d2 = nn_test_alloc(n1), *d3 = nn_test_alloc(n1),
	      *d4 = nn_test_alloc(n1), *d5 = nn_test_alloc(n5), *d7 = nn_test_alloc(n7),
	      *d8 = nn_test_alloc(n7), *d9 = nn_test_alloc(n7);
	float s1[6], s7[10], m3[EB * 3], m8[EB * 5];
	nn_ref_convt2d_forward(&g0, a1, x, p[W0], p[B0]);
	nn_ref_batchnorm_forward(a2, s1, a1, p[G1], p[BE1], p[RM1], p[RV1], B, 3, 36, 0.8f, 0.3f,
	                         train);
	nn_ref_leaky_relu_forward(a3, a2, n1, 0.2f);
	if (train)
		nn_ref_dropout_forward(r, a4, m3, a3, B * 3, 36, 0.4f);
	else
		memcpy(a4, a3, n1 * sizeof(float));
	nn_ref_conv2d_forward(&g4, a5, a4, p[W4], p[B4]);
	nn_ref_linear_forward(a7, a5, p[W6], p[B6], B, 18, 5);
	nn_ref_batchnorm_forward(a8, s7, a7, p[G7], p[BE7], p[RM7], p[RV7], B, 5, 1, 1e-5f, 0.1f,
	                         train);
	if (train)
		nn_ref_dropout_forward(r, a9, m8, a8, B * 5, 1, 0.5f);
	else
		memcpy(a9, a8, n7 * sizeof(float));
	nn_ref_linear_forward(y, a9, p[W9], p[B9], B, 5, 2);
	nn_ref_linear_backward(d9, g[W9], g[B9], dy, a9, p[W9], B, 5, 2);
	if (train)
		nn_ref_dropout_backward(d8, d9, m8, B * 5, 1);
	else
		memcpy(d8, d9, n7 * sizeof(float));
	nn_ref_batchnorm_backward(d7, g[G7], g[BE7], d8, a7, s7, p[G7], B, 5, 1, train);
	nn_ref_linear_backward(d5, g[W6], g[B6], d7, a5, p[W6], B, 18, 5);
	nn_ref_conv2d_backward(&g4, d4, g[W4], g[B4], d5, a4, p[W4]);
	if (train)
		nn_ref_dropout_backward(d3, d4, m3, B * 3, 36);
	else
		memcpy(d3, d4, n1 * sizeof(float));
	nn_ref_leaky_relu_backward(d2, d3, a2, n1, 0.2f);
	nn_ref_batchnorm_backward(d1, g[G1], g[BE1], d2, a1, s1, p[G1], B, 3, 36, train);
	nn_ref_convt2d_backward(&g0, dx, g[W0], g[B0], d1, x, p[W0]);
	float *fr[] = { a1, a2, a3, a4, a5, a7, a8, a9, d1, d2, d3, d4, d5, d7, d8, d9 };
	for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++)
		free(fr[i]);
}

static void test_compose(void)
{
	nn_arena a;
	nn_seq m;
	nn_seq_ws ws;
	nn_arena_init(&a);
	int built = build_e(&m, &a) == 0 && a.n == NP;
	if (!check(built, "model E builds%s%s", built ? "" : ": ", built ? "" : nn_error()) ||
	    !st_ok("arena", nn_arena_alloc(ctx, &a)) ||
	    !st_ok("workspace", nn_seq_ws_alloc(ctx, &m, &ws, EB, 0))) {
		nn_arena_free(&a);
		return;
	}
	check(m.l[0].out[0] == 3 && m.l[0].out[1] == 6 && m.l[0].out[2] == 6 &&
	              m.l[4].out[1] == 3 && nn_seq_out_numel(&m) == 2,
	      "model E shapes: conv_transpose2d 2x3x3 -> 3x6x6, output 2");
	nn_rng r;
	nn_rng_init(&r, 99);
	float *p[NP], *g[NP];
	for (int i = 0; i < NP; i++) {
		size_t n = a.p[i].numel;
		float lo = -0.5f, hi = 0.5f;
		if (i == G1 || i == G7 || i == RV1 || i == RV7)
			lo = 0.5f, hi = 1.5f;
		p[i] = nn_test_uniform(&r, n, lo, hi);
		g[i] = nn_test_alloc(n);
		nn_write(ctx, nn_arena_param(&a, i), p[i], n);
	}
	size_t nx = (size_t)EB * 18, ny = (size_t)EB * 2;
	float *x = nn_test_uniform(&r, nx, -1, 1), *dy = nn_test_uniform(&r, ny, -1, 1);
	nn_buf xb = nn_test_up(ctx, x, nx), dyb = nn_test_up(ctx, dy, ny), dxb = nn_test_up(ctx, x, nx);
	float *y = nn_test_alloc(ny), *dx = nn_test_alloc(nx);

	/* training */
	nn_rng mr, rr;
	nn_rng_init(&mr, 4242);
	rr = mr;
	nn_seq_set_rng(&m, &mr);
	nn_seq_set_mode(&m, NN_SEQ_TRAIN);
	int ok = st_ok("zero grad", nn_arena_zero_grad(ctx, &a)) &&
	         st_ok("forward (train)", nn_seq_forward(ctx, &m, &ws, xb, EB)) &&
	         st_ok("backward (train)", nn_seq_backward(ctx, &m, &ws, dxb, dyb, 0));
	ref_e(p, g, &rr, x, dy, y, dx, 1);
	if (ok) {
		cmp_dev("E train: output", nn_seq_output(&ws), y, ny);
		cmp_dev("E train: dx", dxb, dx, nx);
		for (int i = 0; i < NP; i++) {
			char what[128];
			int stat = i == RM1 || i == RV1 || i == RM7 || i == RV7;
			if (i == B0 || i == B4 || i == B6) {
				zero_grad_check("E train", &a, i, g[i]);
				continue;
			}
			snprintf(what, sizeof what, "E train: %s %s", a.p[i].name,
			         stat ? "after the forward" : "gradient");
			cmp_dev(what, stat ? nn_arena_param(&a, i) : nn_arena_grad(&a, i),
			        stat ? p[i] : g[i], a.p[i].numel);
		}
		check(mr.counter == rr.counter && mr.counter > 0,
		      "E train: the dropout masks took %llu words of the generator (reference %llu)",
		      (unsigned long long)mr.counter, (unsigned long long)rr.counter);
	}

	/* evaluation, from the running statistics as updated */
	for (int i = 0; i < NP; i++)
		memset(g[i], 0, a.p[i].numel * sizeof(float));
	nn_seq_set_mode(&m, NN_SEQ_EVAL);
	uint64_t before = mr.counter;
	ok = st_ok("zero grad", nn_arena_zero_grad(ctx, &a)) &&
	     st_ok("forward (eval)", nn_seq_forward(ctx, &m, &ws, xb, EB)) &&
	     st_ok("backward (eval)", nn_seq_backward(ctx, &m, &ws, dxb, dyb, 0));
	ref_e(p, g, NULL, x, dy, y, dx, 0);
	if (ok) {
		cmp_dev("E eval: output", nn_seq_output(&ws), y, ny);
		cmp_dev("E eval: dx", dxb, dx, nx);
		double worst = 0;
		for (int i = 0; i < NP; i++) {
			if (i == RM1 || i == RV1 || i == RM7 || i == RV7)
				continue;
			float *got = nn_test_down(ctx, nn_arena_grad(&a, i), a.p[i].numel);
			double e = nn_err(got, g[i], a.p[i].numel);
			worst = e > worst ? e : worst;
			free(got);
		}
		check(worst <= TOL, "E eval: parameter gradients, worst error %.2g (tolerance %g)",
		      worst, TOL);
		float *rs = nn_test_down(ctx, nn_arena_param(&a, RV1), 3);
		check(memcmp(rs, p[RV1], 3 * sizeof(float)) == 0 || nn_err(rs, p[RV1], 3) <= TOL,
		      "E eval: running statistics unchanged by an evaluation forward");
		free(rs);
		check(mr.counter == before, "E eval: dropout draws nothing");
	}

	/* 3. refusals and bookkeeping on model E */
	nn_seq_set_mode(&m, NN_SEQ_TRAIN);
	ok = st_ok("forward", nn_seq_forward(ctx, &m, &ws, xb, EB));
	int st = nn_seq_tangent_forward(ctx, &m, &ws, xb, 0, 1);
	check(st != TG_CL_OK && strstr(nn_error(), "tangent") &&
	              strstr(nn_error(), "conv_transpose2d"),
	      "tangent forward refused: %s", nn_error());
	st = nn_seq_tangent_backward(ctx, &m, &ws, dyb);
	check(st != TG_CL_OK && strstr(nn_error(), "tangent"), "tangent backward refused: %s",
	      nn_error());
	if (ok && st_ok("backward", nn_seq_backward(ctx, &m, &ws, dxb, dyb, NN_SEQ_NO_PARAM_GRAD))) {
		st = nn_seq_param_grad(ctx, &m, &ws, 0, 2, 0);
		check(st != TG_CL_OK && strstr(nn_error(), "batchnorm"),
		      "parameter gradient of part of a batchnorm batch refused: %s", nn_error());
		check(st_ok("param grad of the whole batch", nn_seq_param_grad(ctx, &m, &ws, 0, EB, 0)),
		      "parameter gradient of the whole batch accepted");
	}
	nn_optim o;
	if (st_ok("optim", nn_optim_init(ctx, &o, NN_OPT_SGD, &a))) {
		o.group[0].lr = 0.1;
		o.group[0].weight_decay = 0.5;
		int ne = nn_seq_exclude_stats(&o, &m);
		float *rm0 = nn_test_down(ctx, nn_arena_param(&a, RM7), 5);
		float *w0 = nn_test_down(ctx, nn_arena_param(&a, W9), 10);
		if (st_ok("step", nn_optim_step(ctx, &o))) {
			float *rm1 = nn_test_down(ctx, nn_arena_param(&a, RM7), 5);
			float *w1 = nn_test_down(ctx, nn_arena_param(&a, W9), 10);
			check(ne == 4 && memcmp(rm0, rm1, 5 * sizeof(float)) == 0 &&
			              memcmp(w0, w1, 10 * sizeof(float)) != 0 &&
			              nn_seq_is_stat(&m, RM7) && !nn_seq_is_stat(&m, G7),
			      "exclude_stats: %d statistics out of the optimizer; a step with weight "
			      "decay leaves them and moves the weights",
			      ne);
			free(rm1);
			free(w1);
		}
		free(rm0);
		free(w0);
		nn_optim_free(&o);
	}
	/* dropout_off: training forward with identity dropout draws nothing */
	m.dropout_off = 1;
	before = mr.counter;
	ok = st_ok("forward (dropout off)", nn_seq_forward(ctx, &m, &ws, xb, EB));
	check(ok && mr.counter == before, "dropout_off: training forward draws no mask");
	m.dropout_off = 0;

	nn_seq m2;
	nn_arena a2;
	nn_arena_init(&a2);
	nn_seq_init(&m2, &a2, "f", 3, 4, 4);
	check(nn_seq_batchnorm1d(&m2, 1e-5f, 0.1f, 1) < 0 && strstr(nn_error(), "batchnorm1d"),
	      "batchnorm1d on 3x4x4 refused: %s", nn_error());
	check(nn_seq_dropout(&m2, 1.0f) < 0, "dropout with p = 1 refused: %s", nn_error());
	check(nn_seq_batchnorm2d(&m2, 0.0f, 0.1f, 1) < 0, "batchnorm with eps 0 refused");
	check(nn_seq_conv_transpose2d(&m2, 2, 3, 3, 2, 2, 1, 1, 2, 0, 1) < 0,
	      "conv_transpose2d with output padding >= stride refused");
	nn_arena_free(&a2);

	for (int i = 0; i < NP; i++)
		free(p[i]), free(g[i]);
	free(x), free(dy), free(y), free(dx);
	nn_test_free(xb), nn_test_free(dyb), nn_test_free(dxb);
	nn_seq_ws_free(&ws);
	nn_arena_free(&a);
}

/* ---- 2. model P against PyTorch ---- */

#define MAXT 64

typedef struct {
	char role[96];
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
	char line[512], role[96];
	size_t n;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "tensor p %95s %zu", role, &n) == 2 && nfx < MAXT) {
			snprintf(fx[nfx].role, sizeof fx[nfx].role, "%s", role);
			fx[nfx++].n = n;
		}
	fclose(f);
	snprintf(path, sizeof path, "%s/p.f32", dir);
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

static const float *T(const char *prefix, const char *name, size_t n)
{
	char role[160];
	snprintf(role, sizeof role, "%s%s", prefix, name);
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

#define PB 5

static void test_torch(const char *dir)
{
	if (load_fixture(dir))
		return;
	nn_arena a;
	nn_seq m;
	nn_seq_ws ws;
	nn_arena_init(&a);
	int built = nn_seq_init(&m, &a, "p", 6, 1, 1) == 0 && nn_seq_linear(&m, 36, 1) >= 0 &&
	            nn_seq_reshape(&m, 4, 3, 3) >= 0 && nn_seq_batchnorm2d(&m, 0.8f, 0.1f, 1) >= 0 &&
	            nn_seq_conv_transpose2d(&m, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1) >= 0 &&
	            nn_seq_batchnorm2d(&m, 1e-5f, 0.1f, 1) >= 0 && nn_seq_leaky_relu(&m, 0.2f) >= 0 &&
	            nn_seq_dropout2d(&m, 0.0f) >= 0 &&
	            nn_seq_conv_transpose2d(&m, 2, 4, 4, 2, 2, 1, 1, 0, 0, 1) >= 0 &&
	            nn_seq_tanh(&m) >= 0 && nn_seq_flatten(&m) >= 0 && nn_seq_linear(&m, 5, 1) >= 0 &&
	            nn_seq_batchnorm1d(&m, 0.8f, 0.3f, 1) >= 0 && nn_seq_dropout(&m, 0.0f) >= 0 &&
	            nn_seq_sigmoid(&m) >= 0;
	if (!check(built, "model P builds%s%s", built ? "" : ": ", built ? "" : nn_error()) ||
	    !st_ok("arena", nn_arena_alloc(ctx, &a)) ||
	    !st_ok("workspace", nn_seq_ws_alloc(ctx, &m, &ws, PB, 0))) {
		nn_arena_free(&a);
		return;
	}
	int ok = 1;
	for (int i = 0; i < a.n && ok; i++) {
		const float *v = T("init.", a.p[i].name, a.p[i].numel);
		ok = v && st_ok("upload", nn_write(ctx, nn_arena_param(&a, i), v, a.p[i].numel));
	}
	const float *x = T("", "x", PB * 6), *dy = T("", "dy", PB * 5), *y = T("", "y", PB * 5),
	            *dx = T("", "dx", PB * 6), *x2 = T("", "x2", PB * 6),
	            *ye = T("", "y_eval", PB * 5);
	if (!ok || !x || !dy || !y || !dx || !x2 || !ye) {
		nn_seq_ws_free(&ws);
		nn_arena_free(&a);
		return;
	}
	nn_buf xb = nn_test_up(ctx, x, PB * 6), dyb = nn_test_up(ctx, dy, PB * 5),
	       dxb = nn_test_up(ctx, x, PB * 6), x2b = nn_test_up(ctx, x2, PB * 6);
	nn_rng r;
	nn_rng_init(&r, 1);
	nn_seq_set_rng(&m, &r);
	if (st_ok("zero grad", nn_arena_zero_grad(ctx, &a)) &&
	    st_ok("forward", nn_seq_forward(ctx, &m, &ws, xb, PB)) &&
	    st_ok("backward", nn_seq_backward(ctx, &m, &ws, dxb, dyb, 0))) {
		cmp_dev("P torch train: output", nn_seq_output(&ws), y, PB * 5);
		cmp_dev("P torch train: dx", dxb, dx, PB * 6);
		double worst_g = 0, worst_s = 0;
		int ng = 0, ns = 0;
		for (int i = 0; i < a.n; i++) {
			int stat = nn_seq_is_stat(&m, i);
			const float *ref = T(stat ? "after." : "grad.", a.p[i].name, a.p[i].numel);
			if (!ref)
				continue;
			if (strcmp(a.p[i].name, "p.3.bias") == 0 ||
			    strcmp(a.p[i].name, "p.10.bias") == 0) {
				zero_grad_check("P torch train", &a, i, ref);
				ng++;
				continue;
			}
			float *got = nn_test_down(ctx, stat ? nn_arena_param(&a, i)
			                                    : nn_arena_grad(&a, i),
			                          a.p[i].numel);
			double e = nn_err(got, ref, a.p[i].numel);
			if (e > TOL)
				check(0, "P torch train: %s error %.2g", a.p[i].name, e);
			if (stat)
				worst_s = e > worst_s ? e : worst_s, ns++;
			else
				worst_g = e > worst_g ? e : worst_g, ng++;
			free(got);
		}
		check(ng == 14 && worst_g <= TOL,
		      "P torch train: %d parameter gradients, worst error %.2g (tolerance %g)", ng,
		      worst_g, TOL);
		check(ns == 6 && worst_s <= TOL,
		      "P torch train: %d running statistics after, worst error %.2g (tolerance %g)",
		      ns, worst_s, TOL);
		check(r.counter == 0, "P: dropout with p = 0 draws nothing (identity, as PyTorch)");
		nn_seq_set_mode(&m, NN_SEQ_EVAL);
		if (st_ok("forward (eval)", nn_seq_forward(ctx, &m, &ws, x2b, PB)))
			cmp_dev("P torch eval: output of x2", nn_seq_output(&ws), ye, PB * 5);
	}
	nn_test_free(xb), nn_test_free(dyb), nn_test_free(dxb), nn_test_free(x2b);
	nn_seq_ws_free(&ws);
	nn_arena_free(&a);
}

int main(void)
{
	if (!(ctx = nn_test_ctx("test_nn_seq_ext")))
		return check_finish();
	test_compose();
	const char *fxd = getenv("FIXTURES");
	char dir[512];
	snprintf(dir, sizeof dir, "%s/nn_seq_ext", fxd ? fxd : "tests/fixtures");
	test_torch(dir);
	for (int i = 0; i < nfx; i++)
		free(fx[i].data);
	return check_finish();
}
