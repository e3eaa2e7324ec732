/* test_nn_torch: the engine's ops against PyTorch 1.13.  The fixtures in
 * $FIXTURES/nn (written by tests/make_nn_fixtures.py, see there for the
 * format) hold inputs, parameters, outputs and gradients of small cases;
 * each case runs through the plain-C reference and through the OpenCL
 * device, and every output and gradient is compared with PyTorch's.
 *
 * Error measure (test_nn_util.h): max |ours - torch| / max(max |torch|, 1e-6)
 * over each tensor; tolerance 1e-4.  Parameter gradients start at zero. */
#include <errno.h>

#include "test_nn_util.h"

#define TOL 1e-4
#define MAXT 16

typedef struct {
	char role[16];
	size_t n;
	float *data;
} tensor;

typedef struct {
	char name[64], op[32], params[512];
	tensor t[MAXT];
	int nt;
} fcase;

static nn_ctx *ctx;
static const char *dir;

/* ---- fixture access ---- */

static const tensor *find(const fcase *c, const char *role)
{
	for (int i = 0; i < c->nt; i++)
		if (strcmp(c->t[i].role, role) == 0)
			return &c->t[i];
	return NULL;
}

static float *T(const fcase *c, const char *role)
{
	const tensor *t = find(c, role);
	return t ? t->data : NULL;
}

static size_t N(const fcase *c, const char *role)
{
	const tensor *t = find(c, role);
	return t ? t->n : 0;
}

/* Parameter `key` of the case line (key=value), as a double; NAN if absent. */
static double P(const fcase *c, const char *key)
{
	size_t kl = strlen(key);
	const char *s = c->params;
	while (s && *s) {
		while (*s == ' ')
			s++;
		if (strncmp(s, key, kl) == 0 && s[kl] == '=') {
			char *end;
			errno = 0;
			double v = strtod(s + kl + 1, &end);
			return errno || end == s + kl + 1 ? NAN : v;
		}
		s = strchr(s, ' ');
	}
	return NAN;
}

static int I(const fcase *c, const char *key)
{
	double v = P(c, key);
	return isnan(v) ? -1 : (int)v;
}

static int load(fcase *c)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s.f32", dir, c->name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return check(0, "%s: cannot open %s", c->name, path), -1;
	int ok = 1;
	for (int i = 0; i < c->nt && ok; i++) {
		c->t[i].data = nn_test_alloc(c->t[i].n);
		ok = fread(c->t[i].data, sizeof(float), c->t[i].n, f) == c->t[i].n;
	}
	ok = ok && fgetc(f) == EOF;
	fclose(f);
	if (!ok)
		return check(0, "%s: %s does not hold the tensors of the index", c->name, path), -1;
	return 0;
}

/* ---- comparison ---- */

static void cmp(const fcase *c, const char *side, const char *role, const float *got)
{
	const float *want = T(c, role);
	size_t n = N(c, role);
	if (!want) {
		check(0, "%s: no tensor %s in the fixture", c->name, role);
		return;
	}
	double e = nn_err(got, want, n);
	check(e <= TOL, "torch %s (%s) %s: error %.2g (tolerance %g)", c->name, side, role, e, TOL);
}

static nn_buf bufs[32];
static int nbufs;

static nn_buf dev(const float *host, size_t n)
{
	nn_buf b = nn_test_up(ctx, host, n);
	if (nbufs < 32)
		bufs[nbufs++] = b;
	return b;
}

static nn_buf D(const fcase *c, const char *role)
{
	return T(c, role) ? dev(T(c, role), N(c, role)) : NN_NONE;
}

static nn_buf Z(size_t n)
{
	float *z = calloc(n ? n : 1, sizeof(float));
	nn_buf b = dev(z, n);
	free(z);
	return b;
}

static void cmp_dev(const fcase *c, const char *role, nn_buf b)
{
	float *got = nn_test_down(ctx, b, N(c, role));
	cmp(c, "device", role, got);
	free(got);
}

static void dev_status(const fcase *c, int st)
{
	if (st != TG_CL_OK)
		check(0, "torch %s (device): %s", c->name, nn_error());
}

static void release(void)
{
	for (int i = 0; i < nbufs; i++)
		nn_test_free(bufs[i]);
	nbufs = 0;
}

/* ---- the ops ---- */

static void run_linear(const fcase *c)
{
	int B = I(c, "B"), in = I(c, "in"), out = I(c, "out");
	const float *b = T(c, "b");
	float *y = nn_test_alloc(N(c, "y")), *dx = nn_test_alloc(N(c, "dx"));
	float *dW = calloc(N(c, "dW"), sizeof(float)), *db = calloc(out, sizeof(float));
	nn_ref_linear_forward(y, T(c, "x"), T(c, "W"), b, B, in, out);
	nn_ref_linear_backward(dx, dW, b ? db : NULL, T(c, "dy"), T(c, "x"), T(c, "W"), B, in, out);
	cmp(c, "reference", "y", y);
	cmp(c, "reference", "dx", dx);
	cmp(c, "reference", "dW", dW);
	if (b)
		cmp(c, "reference", "db", db);
	if (ctx) {
		nn_buf x = D(c, "x"), W = D(c, "W"), bb = D(c, "b"), dy = D(c, "dy");
		nn_buf by = Z(N(c, "y")), bdx = Z(N(c, "dx")), bdW = Z(N(c, "dW")), bdb = Z(out);
		int st = nn_linear_forward(ctx, by, x, W, bb, B, in, out);
		if (!st)
			st = nn_linear_backward(ctx, bdx, bdW, b ? bdb : NN_NONE, dy, x, W, B, in, out);
		dev_status(c, st);
		cmp_dev(c, "y", by);
		cmp_dev(c, "dx", bdx);
		cmp_dev(c, "dW", bdW);
		if (b)
			cmp_dev(c, "db", bdb);
	}
	free(y), free(dx), free(dW), free(db);
}

static void run_conv(const fcase *c, int transposed)
{
	nn_conv2d g;
	nn_convt2d t;
	int bad = transposed
	              ? nn_convt2d_shape(&t, I(c, "B"), I(c, "C"), I(c, "H"), I(c, "W"), I(c, "OC"),
	                                 I(c, "KH"), I(c, "KW"), I(c, "SH"), I(c, "SW"), I(c, "PH"),
	                                 I(c, "PW"), I(c, "OPH"), I(c, "OPW"))
	              : nn_conv2d_shape(&g, I(c, "B"), I(c, "C"), I(c, "H"), I(c, "W"), I(c, "OC"),
	                                I(c, "KH"), I(c, "KW"), I(c, "SH"), I(c, "SW"), I(c, "PH"),
	                                I(c, "PW"));
	if (bad) {
		check(0, "torch %s: shape refused: %s", c->name, nn_error());
		return;
	}
	int OC = I(c, "OC");
	const float *b = T(c, "b");
	float *y = nn_test_alloc(N(c, "y")), *dx = nn_test_alloc(N(c, "dx"));
	float *dw = calloc(N(c, "dw"), sizeof(float)), *db = calloc(OC, sizeof(float));
	if (transposed) {
		nn_ref_convt2d_forward(&t, y, T(c, "x"), T(c, "w"), b);
		nn_ref_convt2d_backward(&t, dx, dw, b ? db : NULL, T(c, "dy"), T(c, "x"), T(c, "w"));
	} else {
		nn_ref_conv2d_forward(&g, y, T(c, "x"), T(c, "w"), b);
		nn_ref_conv2d_backward(&g, dx, dw, b ? db : NULL, T(c, "dy"), T(c, "x"), T(c, "w"));
	}
	cmp(c, "reference", "y", y);
	cmp(c, "reference", "dx", dx);
	cmp(c, "reference", "dw", dw);
	if (b)
		cmp(c, "reference", "db", db);
	if (ctx) {
		nn_buf x = D(c, "x"), w = D(c, "w"), bb = D(c, "b"), dy = D(c, "dy");
		nn_buf by = Z(N(c, "y")), bdx = Z(N(c, "dx")), bdw = Z(N(c, "dw")), bdb = Z(OC);
		nn_buf dbb = b ? bdb : NN_NONE;
		int st = transposed ? nn_convt2d_forward(ctx, &t, by, x, w, bb)
		                    : nn_conv2d_forward(ctx, &g, by, x, w, bb);
		if (!st)
			st = transposed ? nn_convt2d_backward(ctx, &t, bdx, bdw, dbb, dy, x, w)
			                : nn_conv2d_backward(ctx, &g, bdx, bdw, dbb, dy, x, w);
		dev_status(c, st);
		cmp_dev(c, "y", by);
		cmp_dev(c, "dx", bdx);
		cmp_dev(c, "dw", bdw);
		if (b)
			cmp_dev(c, "db", bdb);
	}
	free(y), free(dx), free(dw), free(db);
}

static void run_unary(const fcase *c)
{
	size_t n = N(c, "x"), ny = N(c, "y");
	const float *x = T(c, "x"), *dy = T(c, "dy");
	float *y = nn_test_alloc(ny), *dx = nn_test_alloc(n);
	float slope = (float)P(c, "slope");
	int B = I(c, "B"), C = I(c, "C"), H = I(c, "H"), W = I(c, "W"), s = I(c, "s");
	int kind = strcmp(c->op, "relu") == 0 ? 0 : strcmp(c->op, "leaky_relu") == 0 ? 1
	         : strcmp(c->op, "tanh") == 0 ? 2 : strcmp(c->op, "sigmoid") == 0 ? 3 : 4;
	switch (kind) {
	case 0: nn_ref_relu_forward(y, x, n); nn_ref_relu_backward(dx, dy, x, n); break;
	case 1:
		nn_ref_leaky_relu_forward(y, x, n, slope);
		nn_ref_leaky_relu_backward(dx, dy, x, n, slope);
		break;
	case 2: nn_ref_tanh_forward(y, x, n); nn_ref_tanh_backward(dx, dy, y, n); break;
	case 3: nn_ref_sigmoid_forward(y, x, n); nn_ref_sigmoid_backward(dx, dy, y, n); break;
	default:
		nn_ref_upsample_forward(y, x, B, C, H, W, s);
		nn_ref_upsample_backward(dx, dy, B, C, H, W, s);
	}
	cmp(c, "reference", "y", y);
	cmp(c, "reference", "dx", dx);
	if (ctx) {
		nn_buf bx = D(c, "x"), bdy = D(c, "dy"), by = Z(ny), bdx = Z(n);
		int st;
		switch (kind) {
		case 0:
			st = nn_relu_forward(ctx, by, bx, n);
			st = st ? st : nn_relu_backward(ctx, bdx, bdy, bx, n);
			break;
		case 1:
			st = nn_leaky_relu_forward(ctx, by, bx, n, slope);
			st = st ? st : nn_leaky_relu_backward(ctx, bdx, bdy, bx, n, slope);
			break;
		case 2:
			st = nn_tanh_forward(ctx, by, bx, n);
			st = st ? st : nn_tanh_backward(ctx, bdx, bdy, by, n);
			break;
		case 3:
			st = nn_sigmoid_forward(ctx, by, bx, n);
			st = st ? st : nn_sigmoid_backward(ctx, bdx, bdy, by, n);
			break;
		default:
			st = nn_upsample_forward(ctx, by, bx, B, C, H, W, s);
			st = st ? st : nn_upsample_backward(ctx, bdx, bdy, B, C, H, W, s);
		}
		dev_status(c, st);
		cmp_dev(c, "y", by);
		cmp_dev(c, "dx", bdx);
	}
	free(y), free(dx);
}

static void run_concat(const fcase *c)
{
	int B = I(c, "B"), Ca = I(c, "Ca"), Cb = I(c, "Cb"), S = I(c, "S");
	float *y = nn_test_alloc(N(c, "y")), *da = nn_test_alloc(N(c, "a")),
	      *db = nn_test_alloc(N(c, "b"));
	nn_ref_concat_forward(y, T(c, "a"), T(c, "b"), B, Ca, Cb, S);
	nn_ref_concat_backward(da, db, T(c, "dy"), B, Ca, Cb, S);
	cmp(c, "reference", "y", y);
	cmp(c, "reference", "da", da);
	cmp(c, "reference", "db", db);
	if (ctx) {
		nn_buf a = D(c, "a"), b = D(c, "b"), dy = D(c, "dy");
		nn_buf by = Z(N(c, "y")), bda = Z(N(c, "a")), bdb = Z(N(c, "b"));
		int st = nn_concat_forward(ctx, by, a, b, B, Ca, Cb, S);
		st = st ? st : nn_concat_backward(ctx, bda, bdb, dy, B, Ca, Cb, S);
		dev_status(c, st);
		cmp_dev(c, "y", by);
		cmp_dev(c, "da", bda);
		cmp_dev(c, "db", bdb);
	}
	free(y), free(da), free(db);
}

static void run_loss(const fcase *c)
{
	int n = (int)N(c, "x"), kind;
	const float *x = T(c, "x"), *t = T(c, "t");
	float dl = T(c, "dloss")[0], sign = (float)P(c, "sign");
	float *dx = nn_test_alloc(n), l;
	double ref;
	if (strcmp(c->op, "mse") == 0)
		kind = 0;
	else if (strcmp(c->op, "l1") == 0)
		kind = 1;
	else if (strcmp(c->op, "bce") == 0)
		kind = 2;
	else if (strcmp(c->op, "bce_logits") == 0)
		kind = 3;
	else
		kind = 4;
	switch (kind) {
	case 0: ref = nn_ref_mse_forward(x, t, 0, n); nn_ref_mse_backward(dx, x, t, 0, n, dl); break;
	case 1: ref = nn_ref_l1_forward(x, t, 0, n); nn_ref_l1_backward(dx, x, t, 0, n, dl); break;
	case 2: ref = nn_ref_bce_forward(x, t, 0, n); nn_ref_bce_backward(dx, x, t, 0, n, dl); break;
	case 3:
		ref = nn_ref_bce_logits_forward(x, t, 0, n);
		nn_ref_bce_logits_backward(dx, x, t, 0, n, dl);
		break;
	default:
		ref = nn_ref_wasserstein_forward(x, n, sign);
		nn_ref_wasserstein_backward(dx, n, sign, dl);
	}
	l = (float)ref;
	cmp(c, "reference", "loss", &l);
	cmp(c, "reference", "dx", dx);
	if (ctx) {
		nn_buf bx = D(c, "x"), bt = D(c, "t"), bdx = Z(n);
		double got = NAN;
		int st;
		switch (kind) {
		case 0:
			st = nn_mse_forward(ctx, &got, bx, bt, 0, n);
			st = st ? st : nn_mse_backward(ctx, bdx, bx, bt, 0, n, dl);
			break;
		case 1:
			st = nn_l1_forward(ctx, &got, bx, bt, 0, n);
			st = st ? st : nn_l1_backward(ctx, bdx, bx, bt, 0, n, dl);
			break;
		case 2:
			st = nn_bce_forward(ctx, &got, bx, bt, 0, n);
			st = st ? st : nn_bce_backward(ctx, bdx, bx, bt, 0, n, dl);
			break;
		case 3:
			st = nn_bce_logits_forward(ctx, &got, bx, bt, 0, n);
			st = st ? st : nn_bce_logits_backward(ctx, bdx, bx, bt, 0, n, dl);
			break;
		default:
			st = nn_wasserstein_forward(ctx, &got, bx, n, sign);
			st = st ? st : nn_wasserstein_backward(ctx, bdx, n, sign, dl);
		}
		dev_status(c, st);
		l = (float)got;
		cmp(c, "device", "loss", &l);
		cmp_dev(c, "dx", bdx);
	}
	free(dx);
}

static void run_pool(const fcase *c)
{
	int gp = strcmp(c->op, "global_avgpool") == 0, mx = strcmp(c->op, "maxpool2d") == 0;
	int inc = I(c, "include_pad");
	nn_pool2d g;
	if (!gp && nn_pool2d_shape(&g, I(c, "B"), I(c, "C"), I(c, "H"), I(c, "W"), I(c, "KH"),
	                           I(c, "KW"), I(c, "SH"), I(c, "SW"), I(c, "PH"), I(c, "PW"))) {
		check(0, "torch %s: shape refused: %s", c->name, nn_error());
		return;
	}
	size_t nx = N(c, "x"), ny = N(c, "y");
	float *y = nn_test_alloc(ny), *dx = nn_test_alloc(nx);
	int *idx = calloc(ny, sizeof(int));
	if (gp) {
		nn_ref_global_avgpool_forward(y, T(c, "x"), I(c, "B"), I(c, "C"), I(c, "S"));
		nn_ref_global_avgpool_backward(dx, T(c, "dy"), I(c, "B"), I(c, "C"), I(c, "S"));
	} else if (mx) {
		nn_ref_maxpool2d_forward(&g, y, idx, T(c, "x"));
		nn_ref_maxpool2d_backward(&g, dx, T(c, "dy"), idx);
	} else {
		nn_ref_avgpool2d_forward(&g, y, T(c, "x"), inc);
		nn_ref_avgpool2d_backward(&g, dx, T(c, "dy"), inc);
	}
	cmp(c, "reference", "y", y);
	cmp(c, "reference", "dx", dx);
	if (ctx) {
		nn_buf bx = D(c, "x"), bdy = D(c, "dy"), by = Z(ny), bdx = Z(nx), bi = Z(ny);
		int st;
		if (gp) {
			st = nn_global_avgpool_forward(ctx, by, bx, I(c, "B"), I(c, "C"), I(c, "S"));
			st = st ? st : nn_global_avgpool_backward(ctx, bdx, bdy, I(c, "B"), I(c, "C"),
			                                          I(c, "S"));
		} else if (mx) {
			st = nn_maxpool2d_forward(ctx, &g, by, bi, bx);
			st = st ? st : nn_maxpool2d_backward(ctx, &g, bdx, bdy, bi);
		} else {
			st = nn_avgpool2d_forward(ctx, &g, by, bx, inc);
			st = st ? st : nn_avgpool2d_backward(ctx, &g, bdx, bdy, inc);
		}
		dev_status(c, st);
		cmp_dev(c, "y", by);
		cmp_dev(c, "dx", bdx);
	}
	free(y), free(dx), free(idx);
}

static void run_batchnorm(const fcase *c)
{
	int B = I(c, "B"), C = I(c, "C"), S = I(c, "S"), train = I(c, "train");
	float eps = (float)P(c, "eps"), mom = (float)P(c, "momentum");
	size_t n = N(c, "x");
	const float *gamma = T(c, "gamma"), *beta = T(c, "beta");
	float *y = nn_test_alloc(n), *dx = nn_test_alloc(n), *save = nn_test_alloc(2 * (size_t)C);
	float *rm = nn_test_copy(T(c, "rmean0"), C), *rv = nn_test_copy(T(c, "rvar0"), C);
	float *dg = calloc(C, sizeof(float)), *db = calloc(C, sizeof(float));
	nn_ref_batchnorm_forward(y, save, T(c, "x"), gamma, beta, rm, rv, B, C, S, eps, mom, train);
	nn_ref_batchnorm_backward(dx, gamma ? dg : NULL, gamma ? db : NULL, T(c, "dy"), T(c, "x"),
	                          save, gamma, B, C, S, train);
	cmp(c, "reference", "y", y);
	cmp(c, "reference", "dx", dx);
	cmp(c, "reference", "rmean", rm);
	cmp(c, "reference", "rvar", rv);
	if (gamma) {
		cmp(c, "reference", "dgamma", dg);
		cmp(c, "reference", "dbeta", db);
	}
	if (ctx) {
		nn_buf bx = D(c, "x"), bdy = D(c, "dy"), bg = D(c, "gamma"), bb = D(c, "beta");
		nn_buf brm = D(c, "rmean0"), brv = D(c, "rvar0"), by = Z(n), bdx = Z(n);
		nn_buf bs = Z(2 * (size_t)C), bdg = Z(C), bdb = Z(C);
		int st = nn_batchnorm_forward(ctx, by, bs, bx, bg, bb, brm, brv, B, C, S, eps, mom, train);
		st = st ? st : nn_batchnorm_backward(ctx, bdx, gamma ? bdg : NN_NONE,
		                                     gamma ? bdb : NN_NONE, bdy, bx, bs, bg, B, C, S,
		                                     train);
		dev_status(c, st);
		cmp_dev(c, "y", by);
		cmp_dev(c, "dx", bdx);
		cmp_dev(c, "rmean", brm);
		cmp_dev(c, "rvar", brv);
		if (gamma) {
			cmp_dev(c, "dgamma", bdg);
			cmp_dev(c, "dbeta", bdb);
		}
	}
	free(y), free(dx), free(save), free(rm), free(rv), free(dg), free(db);
}

static void run(fcase *c)
{
	if (load(c))
		return;
	if (strcmp(c->op, "linear") == 0)
		run_linear(c);
	else if (strcmp(c->op, "conv2d") == 0)
		run_conv(c, 0);
	else if (strcmp(c->op, "conv_transpose2d") == 0)
		run_conv(c, 1);
	else if (strcmp(c->op, "concat") == 0)
		run_concat(c);
	else if (strstr("relu leaky_relu tanh sigmoid upsample", c->op))
		run_unary(c);
	else if (strstr("mse l1 bce bce_logits wasserstein", c->op))
		run_loss(c);
	else if (strstr("maxpool2d avgpool2d global_avgpool", c->op))
		run_pool(c);
	else if (strcmp(c->op, "batchnorm") == 0)
		run_batchnorm(c);
	else
		check(0, "torch %s: unknown op %s", c->name, c->op);
	release();
	for (int i = 0; i < c->nt; i++)
		free(c->t[i].data);
}

int main(void)
{
	const char *fx = getenv("FIXTURES");
	static char path[1024];
	snprintf(path, sizeof path, "%s/nn", fx && *fx ? fx : "tests/fixtures");
	dir = path;
	char ipath[1100];
	snprintf(ipath, sizeof ipath, "%s/index.txt", dir);
	FILE *f = fopen(ipath, "r");
	if (!check(f != NULL, "fixture index %s opens", ipath))
		return check_finish();
	ctx = nn_test_ctx("torch fixtures on the device");
	char line[1024];
	fcase c;
	int have = 0, ncases = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || line[0] == 0)
			continue;
		if (strncmp(line, "case ", 5) == 0) {
			if (have)
				run(&c);
			memset(&c, 0, sizeof c);
			int used = 0;
			if (sscanf(line, "case %63s %31s %n", c.name, c.op, &used) < 2) {
				check(0, "bad index line: %s", line);
				break;
			}
			snprintf(c.params, sizeof c.params, "%s", line + used);
			have = 1;
			ncases++;
		} else if (strncmp(line, "tensor ", 7) == 0 && have && c.nt < MAXT) {
			char cname[64];
			tensor *t = &c.t[c.nt];
			if (sscanf(line, "tensor %63s %15s %zu", cname, t->role, &t->n) != 3 ||
			    strcmp(cname, c.name) != 0) {
				check(0, "bad index line: %s", line);
				break;
			}
			c.nt++;
		} else {
			check(0, "bad index line: %s", line);
			break;
		}
	}
	if (have)
		run(&c);
	fclose(f);
	check(ncases >= 30, "%d fixture cases read (at least 30 expected)", ncases);
	return check_finish();
}
