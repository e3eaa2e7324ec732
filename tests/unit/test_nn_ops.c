/* test_nn_ops: the engine's element-wise, shape, loss, pooling and batch
 * normalisation ops on the OpenCL device against their plain-C references
 * (nn/ops.h), dropout, and the parameter arena (nn/nn.h).
 *
 * Error measure (test_nn_util.h): max |device - reference| / max |reference|
 * over each tensor.  Tolerances: 1e-6 for ops that only move or scale
 * values, 1e-5 for arithmetic (activations, pooling, batch normalisation:
 * float on the device, double in the references); losses compare the
 * scalar by |device - reference| / max(|reference|, 1e-6) <= 1e-5.  Device
 * tensors sit 5 elements into their buffers; outputs and activation
 * gradients start as NaN, parameter gradients from random values. */
#include "test_nn_util.h"

#define PAD 5

static nn_rng rng;
static nn_ctx *ctx;

static nn_buf up(const float *host, size_t n)
{
	cl_mem m = nn_alloc(ctx, n + PAD, NULL);
	if (!m) {
		fprintf(stderr, "%s\n", nn_error());
		exit(70);
	}
	nn_buf b = nn_buf_of(m, PAD);
	if (host && nn_write(ctx, b, host, n) != TG_CL_OK) {
		fprintf(stderr, "%s\n", nn_error());
		exit(70);
	}
	return b;
}

static nn_buf up_nan(size_t n)
{
	float *p = nn_test_alloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = NAN;
	nn_buf b = up(p, n);
	free(p);
	return b;
}

static double err_of(nn_buf b, const float *ref, size_t n)
{
	float *d = nn_test_down(ctx, b, n);
	double e = nn_err(d, ref, n);
	free(d);
	return e;
}

static float *uni(size_t n, float lo, float hi)
{
	return nn_test_uniform(&rng, n, lo, hi);
}

static const char *why(int st)
{
	return st == TG_CL_OK ? "" : nn_error();
}

/* ---- fill, axpy ---- */

static void test_fill_axpy(void)
{
	size_t n = 1000;
	float *x = uni(n, -1, 1), *y = uni(n, -1, 1), *ref = nn_test_copy(y, n);
	nn_buf dx = up(x, n), dy = up(y, n);
	int st = nn_axpy(ctx, dy, dx, n, -0.75f);
	nn_ref_axpy(ref, x, n, -0.75f);
	double e = err_of(dy, ref, n);
	check(st == TG_CL_OK && e <= 1e-6, "axpy: error %.2g (tolerance 1e-6)%s", e, why(st));
	float *before = nn_test_down(ctx, dy, n);
	st = nn_fill(ctx, nn_at(dy, 10), 500, 2.5f);
	float *got = nn_test_down(ctx, dy, n);
	int ok = st == TG_CL_OK;
	for (size_t i = 0; i < n; i++)
		ok &= (i >= 10 && i < 510) ? got[i] == 2.5f : got[i] == before[i];
	check(ok, "fill writes exactly its range%s", why(st));
	free(x), free(y), free(ref), free(got), free(before);
	nn_test_free(nn_buf_of(dx.mem, 0));
	nn_test_free(nn_buf_of(dy.mem, 0));
}

/* Kernels flush denormal floats to zero (ocl.c builds them with
 * -cl-denorms-are-zero unless TOMOGAN_DENORMALS=keep): 1000 times the
 * denormal 1e-39 is 0, not the normal 1e-36.  PoCL sets its threads' FTZ
 * and DAZ from that option at every launch; without it a kernel on
 * denormals ran 150 times slower (srcnn apply on 1e-38-scaled frames). */
static void test_denormal_kernels(void)
{
	size_t n = 1000;
	const char *env = getenv("TOMOGAN_DENORMALS");
	int keep = env && strcmp(env, "keep") == 0;
	float *x = nn_test_alloc(n), *y = nn_test_alloc(n);
	for (size_t i = 0; i < n; i++)
		x[i] = 1e-39f, y[i] = 0.0f;
	nn_buf dx = up(x, n), dy = up(y, n);
	int st = nn_axpy(ctx, dy, dx, n, 1000.0f);
	float *got = nn_test_down(ctx, dy, n);
	size_t nonzero = 0;
	for (size_t i = 0; i < n; i++)
		nonzero += got[i] != 0.0f;
	check(st == TG_CL_OK && nonzero == (keep ? n : 0),
	      "axpy of denormals (TOMOGAN_DENORMALS %s): %zu of %zu nonzero, %zu expected%s",
	      keep ? "keep" : "unset", nonzero, n, keep ? n : 0, why(st));
	free(x), free(y), free(got);
	nn_test_free(nn_buf_of(dx.mem, 0));
	nn_test_free(nn_buf_of(dy.mem, 0));
}

/* ---- activations ---- */

static void test_activations(void)
{
	static const char *names[4] = { "relu", "leaky_relu 0.2", "tanh", "sigmoid" };
	size_t n = 3001;
	for (int kind = 0; kind < 4; kind++) {
		float *x = uni(n, -6, 6), *dy = uni(n, -1, 1);
		x[0] = 0.0f;   /* the derivative at 0 is taken as 0 (slope for leaky) */
		float *y = nn_test_alloc(n), *dx = nn_test_alloc(n);
		nn_buf bx = up(x, n), bdy = up(dy, n), by = up_nan(n), bdx = up_nan(n);
		int st = TG_CL_OK;
		switch (kind) {
		case 0:
			nn_ref_relu_forward(y, x, n);
			nn_ref_relu_backward(dx, dy, x, n);
			st = nn_relu_forward(ctx, by, bx, n);
			if (!st)
				st = nn_relu_backward(ctx, bdx, bdy, bx, n);
			break;
		case 1:
			nn_ref_leaky_relu_forward(y, x, n, 0.2f);
			nn_ref_leaky_relu_backward(dx, dy, x, n, 0.2f);
			st = nn_leaky_relu_forward(ctx, by, bx, n, 0.2f);
			if (!st)
				st = nn_leaky_relu_backward(ctx, bdx, bdy, bx, n, 0.2f);
			break;
		case 2:
			nn_ref_tanh_forward(y, x, n);
			nn_ref_tanh_backward(dx, dy, y, n);
			st = nn_tanh_forward(ctx, by, bx, n);
			if (!st)
				st = nn_tanh_backward(ctx, bdx, bdy, by, n);
			break;
		default:
			nn_ref_sigmoid_forward(y, x, n);
			nn_ref_sigmoid_backward(dx, dy, y, n);
			st = nn_sigmoid_forward(ctx, by, bx, n);
			if (!st)
				st = nn_sigmoid_backward(ctx, bdx, bdy, by, n);
		}
		double ey = err_of(by, y, n), ex = err_of(bdx, dx, n);
		check(st == TG_CL_OK && ey <= 1e-5 && ex <= 1e-5,
		      "%s: errors y %.2g dx %.2g (tolerance 1e-5)%s", names[kind], ey, ex, why(st));
		/* In place: y over x, then dx over dy. */
		if (kind == 1 || kind == 3) {
			st = kind == 1 ? nn_leaky_relu_forward(ctx, bx, bx, n, 0.2f)
			               : nn_sigmoid_forward(ctx, bx, bx, n);
			if (!st)
				st = kind == 1 ? nn_leaky_relu_backward(ctx, bdy, bdy, by, n, 0.2f)
				               : nn_sigmoid_backward(ctx, bdy, bdy, bx, n);
			ey = err_of(bx, y, n);
			ex = err_of(bdy, dx, n);
			check(st == TG_CL_OK && ey <= 1e-5 && ex <= 1e-5,
			      "%s in place: errors y %.2g dx %.2g (tolerance 1e-5)%s", names[kind], ey, ex,
			      why(st));
		}
		nn_test_free(nn_buf_of(bx.mem, 0)), nn_test_free(nn_buf_of(bdy.mem, 0));
		nn_test_free(nn_buf_of(by.mem, 0)), nn_test_free(nn_buf_of(bdx.mem, 0));
		free(x), free(dy), free(y), free(dx);
	}
	float big[4] = { 100.0f, -100.0f, 1e-30f, NAN }, out[4];
	nn_buf b = up(big, 4);
	int st = nn_sigmoid_forward(ctx, b, b, 4);
	nn_read(ctx, out, b, 4);
	check(st == TG_CL_OK && out[0] == 1.0f && out[1] >= 0.0f && out[1] < 1e-40f &&
	      out[2] == 0.5f && isnan(out[3]),
	      "sigmoid saturates without overflow: %g %g %g %g", out[0], out[1], out[2], out[3]);
	nn_test_free(nn_buf_of(b.mem, 0));
}

/* ---- losses ---- */

static void test_losses(void)
{
	static const char *names[5] = { "mse", "l1", "bce", "bce_logits", "wasserstein" };
	int n = 5000;
	for (int kind = 0; kind < 5; kind++)
		for (int with_t = 0; with_t < 2; with_t++) {
			if (kind == 4 && with_t)
				continue;
			float *x = kind == 2 ? uni(n, 0, 1) : uni(n, -5, 5);
			float *t = kind >= 2 ? uni(n, 0, 1) : uni(n, -5, 5);
			if (kind == 2) {   /* the clamped ends: log(0) = -inf -> -100 */
				x[0] = 0.0f;
				x[1] = 1.0f;
			}
			float tc = kind == 4 ? 0 : 0.9f, sign = -1.0f, dloss = 0.7f;
			const float *th = with_t ? t : NULL;
			float *dx = nn_test_alloc(n);
			double ref;
			switch (kind) {
			case 0:
				ref = nn_ref_mse_forward(x, th, tc, n);
				nn_ref_mse_backward(dx, x, th, tc, n, dloss);
				break;
			case 1:
				ref = nn_ref_l1_forward(x, th, tc, n);
				nn_ref_l1_backward(dx, x, th, tc, n, dloss);
				break;
			case 2:
				ref = nn_ref_bce_forward(x, th, tc, n);
				nn_ref_bce_backward(dx, x, th, tc, n, dloss);
				break;
			case 3:
				ref = nn_ref_bce_logits_forward(x, th, tc, n);
				nn_ref_bce_logits_backward(dx, x, th, tc, n, dloss);
				break;
			default:
				ref = nn_ref_wasserstein_forward(x, n, sign);
				nn_ref_wasserstein_backward(dx, n, sign, dloss);
			}
			nn_buf bx = up(x, n), bt = up(t, n), bdx = up_nan(n);
			nn_buf dt = with_t ? bt : NN_NONE;
			double got = NAN;
			int st;
			switch (kind) {
			case 0:
				st = nn_mse_forward(ctx, &got, bx, dt, tc, n);
				if (!st)
					st = nn_mse_backward(ctx, bdx, bx, dt, tc, n, dloss);
				break;
			case 1:
				st = nn_l1_forward(ctx, &got, bx, dt, tc, n);
				if (!st)
					st = nn_l1_backward(ctx, bdx, bx, dt, tc, n, dloss);
				break;
			case 2:
				st = nn_bce_forward(ctx, &got, bx, dt, tc, n);
				if (!st)
					st = nn_bce_backward(ctx, bdx, bx, dt, tc, n, dloss);
				break;
			case 3:
				st = nn_bce_logits_forward(ctx, &got, bx, dt, tc, n);
				if (!st)
					st = nn_bce_logits_backward(ctx, bdx, bx, dt, tc, n, dloss);
				break;
			default:
				st = nn_wasserstein_forward(ctx, &got, bx, n, sign);
				if (!st)
					st = nn_wasserstein_backward(ctx, bdx, n, sign, dloss);
			}
			double el = fabs(got - ref) / (fabs(ref) > 1e-6 ? fabs(ref) : 1e-6);
			double ex = err_of(bdx, dx, n);
			/* BCE's gradient at x = 0 and 1 is (x - t) / 1e-12: huge, and the
			 * same on both sides; the error is relative to it. */
			check(st == TG_CL_OK && el <= 1e-5 && ex <= 1e-5 && isfinite(got),
			      "%s loss, %s target: loss %.8g vs %.8g (error %.2g), dx error %.2g "
			      "(tolerance 1e-5)%s", names[kind], with_t ? "tensor" : "constant", got, ref,
			      el, ex, why(st));
			nn_test_free(nn_buf_of(bx.mem, 0)), nn_test_free(nn_buf_of(bt.mem, 0));
			nn_test_free(nn_buf_of(bdx.mem, 0));
			free(x), free(t), free(dx);
		}
	/* BCE of a confident wrong answer is 100 per element, not infinity. */
	float p[2] = { 0.0f, 1.0f };
	double l = nn_ref_bce_forward(p, NULL, 1.0f, 2);
	check(fabs(l - 50.0) < 1e-12, "bce clamps log(0) at -100: mean loss of (0, 1) for target 1 "
	      "is %.6g (50)", l);
}

/* ---- pooling ---- */

static void pool_case(const char *name, int kind, int B, int C, int H, int W, int K, int S, int P,
                      int include_pad)
{
	nn_pool2d g;
	if (nn_pool2d_shape(&g, B, C, H, W, K, K, S, S, P, P)) {
		check(0, "%s: %s", name, nn_error());
		return;
	}
	size_t nx = (size_t)B * C * H * W, ny = (size_t)B * C * g.OH * g.OW;
	/* Values on a coarse grid so that max windows have ties (the first wins). */
	float *x = uni(nx, -4, 4), *dy = uni(ny, -1, 1);
	for (size_t i = 0; i < nx; i++)
		x[i] = roundf(x[i]);
	float *y = nn_test_alloc(ny), *dx = nn_test_alloc(nx);
	int *idx = calloc(ny, sizeof(int));
	nn_buf bx = up(x, nx), bdy = up(dy, ny), by = up_nan(ny), bdx = up_nan(nx), bi = up(NULL, ny);
	int st;
	if (kind == 0) {
		nn_ref_maxpool2d_forward(&g, y, idx, x);
		nn_ref_maxpool2d_backward(&g, dx, dy, idx);
		st = nn_maxpool2d_forward(ctx, &g, by, bi, bx);
		if (!st)
			st = nn_maxpool2d_backward(ctx, &g, bdx, bdy, bi);
	} else {
		nn_ref_avgpool2d_forward(&g, y, x, include_pad);
		nn_ref_avgpool2d_backward(&g, dx, dy, include_pad);
		st = nn_avgpool2d_forward(ctx, &g, by, bx, include_pad);
		if (!st)
			st = nn_avgpool2d_backward(ctx, &g, bdx, bdy, include_pad);
	}
	double ey = err_of(by, y, ny), ex = err_of(bdx, dx, nx);
	int same_idx = 1;
	if (kind == 0) {
		int *di = calloc(ny, sizeof(int));
		if (nn_read(ctx, (float *)di, bi, ny) != TG_CL_OK)
			same_idx = 0;
		for (size_t i = 0; i < ny && same_idx; i++)
			same_idx = di[i] == idx[i];
		free(di);
	}
	check(st == TG_CL_OK && ey <= 1e-5 && ex <= 1e-5 && same_idx,
	      "%s [%d,%d,%d,%d] -> %dx%d: errors y %.2g dx %.2g%s (tolerance 1e-5)%s", name, B, C, H,
	      W, g.OH, g.OW, ey, ex, kind == 0 ? (same_idx ? ", same argmax" : ", ARGMAX DIFFERS") : "",
	      why(st));
	nn_test_free(nn_buf_of(bx.mem, 0)), nn_test_free(nn_buf_of(bdy.mem, 0));
	nn_test_free(nn_buf_of(by.mem, 0)), nn_test_free(nn_buf_of(bdx.mem, 0));
	nn_test_free(nn_buf_of(bi.mem, 0));
	free(x), free(dy), free(y), free(dx), free(idx);
}

static void test_pooling(void)
{
	pool_case("maxpool 3x3 s2", 0, 2, 3, 17, 15, 3, 2, 0, 0);
	pool_case("maxpool 3x3 s1 p1", 0, 2, 2, 8, 9, 3, 1, 1, 0);
	pool_case("maxpool 2x2 s2", 0, 1, 3, 8, 6, 2, 2, 0, 0);
	pool_case("avgpool 3x3 s1 p1 count_include_pad", 1, 2, 3, 8, 7, 3, 1, 1, 1);
	pool_case("avgpool 3x3 s1 p1 exclude pad", 1, 2, 3, 8, 7, 3, 1, 1, 0);
	pool_case("avgpool 5x5 s3 p2 exclude pad", 1, 1, 2, 11, 13, 5, 3, 2, 0);

	/* Padding is -inf for max pooling: an all-negative image keeps its values. */
	nn_pool2d g;
	nn_pool2d_shape(&g, 1, 1, 2, 2, 3, 3, 1, 1, 1, 1);
	float x[4] = { -5, -3, -4, -6 }, y[4];
	nn_buf bx = up(x, 4), by = up(NULL, 4), bi = up(NULL, 4);
	int st = nn_maxpool2d_forward(ctx, &g, by, bi, bx);
	nn_read(ctx, y, by, 4);
	check(st == TG_CL_OK && y[0] == -3 && y[3] == -3,
	      "maxpool pads with -inf (all-negative 2x2, 3x3 p1: %g %g %g %g)", y[0], y[1], y[2], y[3]);
	nn_test_free(nn_buf_of(bx.mem, 0)), nn_test_free(nn_buf_of(by.mem, 0));
	nn_test_free(nn_buf_of(bi.mem, 0));

	int B = 3, C = 5, S = 37;
	size_t n = (size_t)B * C * S;
	float *xx = uni(n, -1, 1), *dy = uni((size_t)B * C, -1, 1);
	float *yy = nn_test_alloc((size_t)B * C), *dx = nn_test_alloc(n);
	nn_ref_global_avgpool_forward(yy, xx, B, C, S);
	nn_ref_global_avgpool_backward(dx, dy, B, C, S);
	nn_buf gx = up(xx, n), gdy = up(dy, (size_t)B * C), gy = up_nan((size_t)B * C), gdx = up_nan(n);
	st = nn_global_avgpool_forward(ctx, gy, gx, B, C, S);
	if (!st)
		st = nn_global_avgpool_backward(ctx, gdx, gdy, B, C, S);
	double ey = err_of(gy, yy, (size_t)B * C), ex = err_of(gdx, dx, n);
	check(st == TG_CL_OK && ey <= 1e-5 && ex <= 1e-5,
	      "global avgpool [3,5,37]: errors y %.2g dx %.2g (tolerance 1e-5)%s", ey, ex, why(st));
	nn_test_free(nn_buf_of(gx.mem, 0)), nn_test_free(nn_buf_of(gdy.mem, 0));
	nn_test_free(nn_buf_of(gy.mem, 0)), nn_test_free(nn_buf_of(gdx.mem, 0));
	free(xx), free(dy), free(yy), free(dx);
}

/* ---- upsample, concat ---- */

static void test_shape(void)
{
	for (int s = 2; s <= 3; s++) {
		int B = 2, C = 3, H = 5, W = 4;
		size_t nx = (size_t)B * C * H * W, ny = nx * s * s;
		float *x = uni(nx, -1, 1), *dy = uni(ny, -1, 1);
		float *y = nn_test_alloc(ny), *dx = nn_test_alloc(nx);
		nn_ref_upsample_forward(y, x, B, C, H, W, s);
		nn_ref_upsample_backward(dx, dy, B, C, H, W, s);
		nn_buf bx = up(x, nx), bdy = up(dy, ny), by = up_nan(ny), bdx = up_nan(nx);
		int st = nn_upsample_forward(ctx, by, bx, B, C, H, W, s);
		if (!st)
			st = nn_upsample_backward(ctx, bdx, bdy, B, C, H, W, s);
		double ey = err_of(by, y, ny), ex = err_of(bdx, dx, nx);
		check(st == TG_CL_OK && ey == 0 && ex <= 1e-6,
		      "upsample x%d: errors y %.2g (exact) dx %.2g (tolerance 1e-6)%s", s, ey, ex,
		      why(st));
		nn_test_free(nn_buf_of(bx.mem, 0)), nn_test_free(nn_buf_of(bdy.mem, 0));
		nn_test_free(nn_buf_of(by.mem, 0)), nn_test_free(nn_buf_of(bdx.mem, 0));
		free(x), free(dy), free(y), free(dx);
	}
	int B = 2, Ca = 3, Cb = 2, S = 10;
	size_t na = (size_t)B * Ca * S, nb = (size_t)B * Cb * S, ny = na + nb;
	float *a = uni(na, -1, 1), *b = uni(nb, -1, 1), *dy = uni(ny, -1, 1);
	float *y = nn_test_alloc(ny), *da = nn_test_alloc(na), *db = nn_test_alloc(nb);
	nn_ref_concat_forward(y, a, b, B, Ca, Cb, S);
	nn_ref_concat_backward(da, db, dy, B, Ca, Cb, S);
	int ok = 1;   /* channel order: a's channels then b's, per image */
	for (int n = 0; n < B; n++)
		for (int c = 0; c < Ca + Cb; c++)
			for (int p = 0; p < S; p++) {
				float want = c < Ca ? a[((size_t)n * Ca + c) * S + p]
				                    : b[((size_t)n * Cb + c - Ca) * S + p];
				ok &= y[((size_t)n * (Ca + Cb) + c) * S + p] == want;
			}
	check(ok, "concat reference puts a's channels before b's in each image");
	nn_buf ba = up(a, na), bb = up(b, nb), bdy = up(dy, ny), by = up_nan(ny);
	nn_buf bda = up_nan(na), bdb = up_nan(nb);
	int st = nn_concat_forward(ctx, by, ba, bb, B, Ca, Cb, S);
	if (!st)
		st = nn_concat_backward(ctx, bda, bdb, bdy, B, Ca, Cb, S);
	double ey = err_of(by, y, ny), ea = err_of(bda, da, na), eb = err_of(bdb, db, nb);
	check(st == TG_CL_OK && ey == 0 && ea == 0 && eb == 0,
	      "concat on the device: exact (errors %.2g %.2g %.2g)%s", ey, ea, eb, why(st));
	st = nn_copy_channels(ctx, by, 5, 4, ba, 3, 0, 2, B, S);
	check(st != TG_CL_OK, "copy_channels refuses channels beyond the destination (%s)",
	      nn_error());
	nn_test_free(nn_buf_of(ba.mem, 0)), nn_test_free(nn_buf_of(bb.mem, 0));
	nn_test_free(nn_buf_of(bdy.mem, 0)), nn_test_free(nn_buf_of(by.mem, 0));
	nn_test_free(nn_buf_of(bda.mem, 0)), nn_test_free(nn_buf_of(bdb.mem, 0));
	free(a), free(b), free(dy), free(y), free(da), free(db);
}

/* ---- batch normalisation ---- */

static void bn_case(const char *name, int B, int C, int S, float eps, float momentum, int train,
                    int affine)
{
	size_t n = (size_t)B * C * S;
	float *x = uni(n, -3, 5), *dy = uni(n, -1, 1);
	float *gamma = uni(C, 0.5f, 1.5f), *beta = uni(C, -1, 1);
	float *rm = uni(C, -1, 1), *rv = uni(C, 0.5f, 2);
	float *dg0 = uni(C, -1, 1), *db0 = uni(C, -1, 1);
	float *y = nn_test_alloc(n), *dx = nn_test_alloc(n), *save = nn_test_alloc(2 * (size_t)C);
	float *rm_ref = nn_test_copy(rm, C), *rv_ref = nn_test_copy(rv, C);
	float *dg = nn_test_copy(dg0, C), *db = nn_test_copy(db0, C);
	nn_ref_batchnorm_forward(y, save, x, affine ? gamma : NULL, affine ? beta : NULL, rm_ref,
	                         rv_ref, B, C, S, eps, momentum, train);
	nn_ref_batchnorm_backward(dx, affine ? dg : NULL, affine ? db : NULL, dy, x, save,
	                          affine ? gamma : NULL, B, C, S, train);
	nn_buf bx = up(x, n), bdy = up(dy, n), by = up_nan(n), bdx = up_nan(n);
	nn_buf bg = up(gamma, C), bb = up(beta, C), brm = up(rm, C), brv = up(rv, C);
	nn_buf bdg = up(dg0, C), bdb = up(db0, C), bs = up_nan(2 * (size_t)C);
	int st = nn_batchnorm_forward(ctx, by, bs, bx, affine ? bg : NN_NONE, affine ? bb : NN_NONE,
	                              brm, brv, B, C, S, eps, momentum, train);
	if (!st)
		st = nn_batchnorm_backward(ctx, bdx, affine ? bdg : NN_NONE, affine ? bdb : NN_NONE,
		                           bdy, bx, bs, affine ? bg : NN_NONE, B, C, S, train);
	double ey = err_of(by, y, n), ex = err_of(bdx, dx, n), es = err_of(bs, save, 2 * (size_t)C);
	double em = err_of(brm, rm_ref, C), ev = err_of(brv, rv_ref, C);
	double eg = err_of(bdg, affine ? dg : dg0, C), eb = err_of(bdb, affine ? db : db0, C);
	double worst = fmax(fmax(fmax(ey, ex), fmax(es, em)), fmax(ev, fmax(eg, eb)));
	check(st == TG_CL_OK && worst <= 1e-5,
	      "%s [%d,%d,%d]: errors y %.2g dx %.2g save %.2g running %.2g %.2g dgamma %.2g dbeta "
	      "%.2g (tolerance 1e-5)%s", name, B, C, S, ey, ex, es, em, ev, eg, eb, why(st));
	nn_buf all[11] = { bx, bdy, by, bdx, bg, bb, brm, brv, bdg, bdb, bs };
	for (int i = 0; i < 11; i++)
		nn_test_free(nn_buf_of(all[i].mem, 0));
	free(x), free(dy), free(gamma), free(beta), free(rm), free(rv), free(dg0), free(db0);
	free(y), free(dx), free(save), free(rm_ref), free(rv_ref), free(dg), free(db);
}

static void test_batchnorm(void)
{
	bn_case("batchnorm2d train eps 1e-5 momentum 0.1", 4, 3, 50, 1e-5f, 0.1f, 1, 1);
	bn_case("batchnorm2d train eps 0.8 (PyTorch-GAN)", 8, 5, 16, 0.8f, 0.1f, 1, 1);
	bn_case("batchnorm1d train eps 0.8", 64, 7, 1, 0.8f, 0.1f, 1, 1);
	bn_case("batchnorm2d train momentum 0.3 no affine", 3, 4, 9, 1e-3f, 0.3f, 1, 0);
	bn_case("batchnorm2d train large plane", 2, 2, 4096, 1e-5f, 0.1f, 1, 1);
	bn_case("batchnorm2d eval", 4, 3, 20, 1e-5f, 0.1f, 0, 1);
	bn_case("batchnorm1d eval no affine", 6, 4, 1, 1e-3f, 0.1f, 0, 0);

	/* The running variance takes the unbiased batch variance: for x = (1, 3)
	 * in one channel, var = 1 (biased) normalises and 2 (unbiased) updates. */
	float x[2] = { 1, 3 }, y[2], save[2], rm = 0, rv = 1;
	nn_ref_batchnorm_forward(y, save, x, NULL, NULL, &rm, &rv, 2, 1, 1, 0.0f, 0.5f, 1);
	check(fabsf(y[0] + 1) < 1e-6f && fabsf(y[1] - 1) < 1e-6f && fabsf(rm - 1) < 1e-6f &&
	      fabsf(rv - 1.5f) < 1e-6f,
	      "batchnorm: biased variance normalises (y %g %g), unbiased updates (mean %g var %g; "
	      "want 1, 1.5)", y[0], y[1], rm, rv);
}

/* ---- dropout ---- */

static void test_dropout(void)
{
	int rows = 2000, S = 7;
	size_t n = (size_t)rows * S;
	float p = 0.25f;
	float *x = uni(n, -1, 1), *dy = uni(n, -1, 1);
	float *y = nn_test_alloc(n), *dx = nn_test_alloc(n), *mask = nn_test_alloc(rows);
	nn_rng host, devr;
	nn_rng_init(&host, 31);
	nn_rng_init(&devr, 31);
	nn_ref_dropout_forward(&host, y, mask, x, rows, S, p);
	nn_ref_dropout_backward(dx, dy, mask, rows, S);
	nn_buf bx = up(x, n), bdy = up(dy, n), by = up_nan(n), bdx = up_nan(n), bm = up_nan(rows);
	int st = nn_dropout_forward(ctx, &devr, by, bm, bx, rows, S, p);
	if (!st)
		st = nn_dropout_backward(ctx, bdx, bdy, bm, rows, S);
	double ey = err_of(by, y, n), ex = err_of(bdx, dx, n), em = err_of(bm, mask, rows);
	int dropped = 0, other = 0;
	for (int i = 0; i < rows; i++) {
		dropped += mask[i] == 0.0f;
		other += mask[i] != 0.0f && mask[i] != 1.0f / 0.75f;
	}
	check(st == TG_CL_OK && ey == 0 && ex == 0 && em == 0 && devr.counter == host.counter,
	      "dropout2d: device mask and outputs equal the reference's (errors %g %g %g)%s", em, ey,
	      ex, why(st));
	/* 2000 draws at p = 0.25: standard deviation of the count 19.4. */
	check(abs(dropped - 500) < 100 && other == 0,
	      "dropout p 0.25 drops %d of 2000 rows (500 +- 100), keeps the rest scaled by 4/3",
	      dropped);
	nn_buf all[5] = { bx, bdy, by, bdx, bm };
	for (int i = 0; i < 5; i++)
		nn_test_free(nn_buf_of(all[i].mem, 0));
	free(x), free(dy), free(y), free(dx), free(mask);
}

/* ---- parameter arena ---- */

static void test_arena(void)
{
	nn_arena a;
	nn_arena_init(&a);
	int d1[2] = { 5, 3 }, d2[1] = { 7 }, d3[4] = { 2, 2, 3, 3 };
	int i1 = nn_arena_add(&a, "fc.weight", 2, d1);
	int i2 = nn_arena_add(&a, "fc.bias", 1, d2);
	int dup = nn_arena_add(&a, "fc.bias", 1, d2);
	int i3 = nn_arena_add(&a, "conv.weight", 4, d3);
	check(i1 == 0 && i2 == 1 && i3 == 2 && dup == -1 && a.p[1].off == 16 && a.p[2].off == 32 &&
	      a.total == 80 && nn_arena_find(&a, "conv.weight") == 2 && nn_arena_find(&a, "x") == -1,
	      "arena: offsets 0, %zu, %zu on 16-float boundaries, total %zu (80), duplicate refused",
	      a.p[1].off, a.p[2].off, a.total);
	int st = nn_arena_alloc(ctx, &a);
	float *p = nn_test_down(ctx, nn_buf_of(a.params, 0), a.total);
	float *g = nn_test_down(ctx, nn_buf_of(a.grads, 0), a.total);
	int zero = st == TG_CL_OK;
	for (size_t i = 0; i < a.total; i++)
		zero &= p[i] == 0 && g[i] == 0;
	check(zero, "arena: parameters and gradients start at zero%s", why(st));
	float ones[36];
	for (int i = 0; i < 36; i++)
		ones[i] = 1;
	nn_write(ctx, nn_arena_grad(&a, i3), ones, 36);
	st = nn_arena_zero_grad(ctx, &a);
	free(g);
	g = nn_test_down(ctx, nn_buf_of(a.grads, 0), a.total);
	zero = st == TG_CL_OK;
	for (size_t i = 0; i < a.total; i++)
		zero &= g[i] == 0;
	check(zero && nn_arena_param(&a, i3).off == 32, "arena: zero_grad clears the gradients");
	nn_arena_free(&a);
	free(p), free(g);

	nn_tensor t;
	int dims[3] = { 2, 3, 5 }, bad[2] = { 4, 0 };
	st = nn_tensor_alloc(ctx, &t, 3, dims);
	float *z = nn_test_down(ctx, t.buf, 30);
	zero = st == TG_CL_OK && nn_numel(&t) == 30 && t.rank == 3 && t.dim[2] == 5;
	for (int i = 0; i < 30; i++)
		zero &= z[i] == 0;
	nn_tensor_free(&t);
	nn_tensor u;
	int refused = nn_tensor_alloc(ctx, &u, 2, bad) != TG_CL_OK && u.buf.mem == NULL;
	check(zero && refused && t.buf.mem == NULL,
	      "tensor: [2,3,5] allocated zeroed with 30 elements, [4,0] refused (%s)", nn_error());
	free(z);
}

int main(void)
{
	nn_rng_init(&rng, 4242);
	ctx = nn_test_ctx("ops on the device");
	if (!ctx)
		return check_finish();
	test_fill_axpy();
	test_denormal_kernels();
	test_activations();
	test_losses();
	test_pooling();
	test_shape();
	test_batchnorm();
	test_dropout();
	test_arena();
	return check_finish();
}
