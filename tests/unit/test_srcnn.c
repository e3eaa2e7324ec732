/* test_srcnn: the SRCNN network of libstream/sr against PyTorch 1.13, and
 * tiled inference against untiled.
 *
 * 1. $FIXTURES/srcnn (tests/make_srcnn_fixtures.py): for 9-1-5 and 9-5-5, a
 *    batch of two images, random weights, the output, the MSE loss and its
 *    gradient with respect to every parameter, computed by PyTorch in
 *    float64 from float32 inputs.  Error measure (test_nn_util.h):
 *    max |ours - torch| / max |torch| per tensor; tolerance 1e-4.
 * 2. sr_apply with small tiles (so that tiles meet inside the image and
 *    along every border) against one pass over the whole image: the halo
 *    is read from the image, so the two agree up to the GEMM's summation
 *    order; tolerance 1e-6 of the largest output magnitude.
 * 3. The initialisation: standard deviations of the drawn weights within
 *    5% of SRCNN-PyTorch's, biases zero. */
#include <errno.h>

#include "test_nn_util.h"
#include "nn/init.h"
#include "sr/srcnn.h"

#define TOL 1e-4
#define TILE_TOL 1e-6
#define MAXT 20

typedef struct {
	char role[16];
	size_t n;
	float *data;
} tensor;

typedef struct {
	char name[64];
	int mid, B, H, W;
	tensor t[MAXT];
	int nt;
} fcase;

static nn_ctx *ctx;

static const tensor *find(const fcase *c, const char *role)
{
	for (int i = 0; i < c->nt; i++)
		if (strcmp(c->t[i].role, role) == 0)
			return &c->t[i];
	return NULL;
}

static int read_index(const char *dir, fcase *cases, int max)
{
	char path[4096], line[512];
	snprintf(path, sizeof path, "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return check(0, "cannot open %s: %s", path, strerror(errno)), -1;
	int n = -1;
	while (fgets(line, sizeof line, f)) {
		char name[64], role[16];
		size_t cnt;
		fcase *c;
		if (strncmp(line, "case ", 5) == 0) {
			if (n + 1 >= max)
				break;
			c = &cases[++n];
			memset(c, 0, sizeof *c);
			if (sscanf(line, "case %63s mid=%d B=%d H=%d W=%d", c->name, &c->mid, &c->B, &c->H,
			           &c->W) != 5)
				return fclose(f), check(0, "bad index line: %s", line), -1;
		} else if (n >= 0 && sscanf(line, "tensor %63s %15s %zu", name, role, &cnt) == 3) {
			c = &cases[n];
			if (c->nt == MAXT)
				return fclose(f), check(0, "too many tensors in %s", c->name), -1;
			snprintf(c->t[c->nt].role, sizeof c->t[c->nt].role, "%s", role);
			c->t[c->nt++].n = cnt;
		}
	}
	fclose(f);
	for (int k = 0; k <= n; k++) {
		fcase *c = &cases[k];
		snprintf(path, sizeof path, "%s/%s.f32", dir, c->name);
		FILE *d = fopen(path, "rb");
		if (!d)
			return check(0, "cannot open %s", path), -1;
		int ok = 1;
		for (int i = 0; i < c->nt && ok; i++) {
			c->t[i].data = nn_test_alloc(c->t[i].n);
			ok = fread(c->t[i].data, sizeof(float), c->t[i].n, d) == c->t[i].n;
		}
		ok = ok && fgetc(d) == EOF;
		fclose(d);
		if (!ok)
			return check(0, "%s does not hold the tensors of the index", path), -1;
	}
	return n + 1;
}

/* The 9-5-5 map weight of the fixture (make_srcnn_fixtures.py: formula_w2). */
static float *formula_w2(size_t n)
{
	float *w = nn_test_alloc(n);
	for (size_t i = 0; i < n; i++)
		w[i] = (float)((double)((long long)((i * 7919 + 13) % 2001) - 1000) * 2.5e-5);
	return w;
}

static void cmp(const fcase *c, const char *role, const float *got, size_t n, size_t stride)
{
	const tensor *t = find(c, role);
	if (!t) {
		check(0, "%s: no tensor %s", c->name, role);
		return;
	}
	float *sub = nn_test_alloc(t->n);
	for (size_t i = 0; i < t->n && i * stride < n; i++)
		sub[i] = got[i * stride];
	double e = nn_err(sub, t->data, t->n);
	check(e <= TOL, "torch %s %s: error %.2g (tolerance %g)", c->name, role, e, TOL);
	free(sub);
}

static void torch_case(const fcase *c)
{
	sr_model m;
	if (sr_model_init(ctx, &m, c->mid) != TG_CL_OK) {
		check(0, "%s: sr_model_init: %s", c->name, nn_error());
		return;
	}
	const char *roles[6] = { "w1", "b1", "w2", "b2", "w3", "b3" };
	int idx[6] = { m.w1, m.b1, m.w2, m.b2, m.w3, m.b3 };
	for (int i = 0; i < 6; i++) {
		const nn_param *p = &m.arena.p[idx[i]];
		const tensor *t = find(c, roles[i]);
		float *own = NULL;
		const float *src;
		if (t) {
			if (t->n != p->numel) {
				check(0, "%s: %s has %zu values, the model %zu", c->name, roles[i], t->n,
				      p->numel);
				goto out;
			}
			src = t->data;
		} else {
			src = own = formula_w2(p->numel);
		}
		int st = nn_write(ctx, nn_arena_param(&m.arena, idx[i]), src, p->numel);
		free(own);
		if (st) {
			check(0, "%s: write: %s", c->name, nn_error());
			goto out;
		}
	}
	sr_ws ws;
	if (sr_ws_alloc(ctx, &ws, c->B, c->H, c->W, 1) != TG_CL_OK) {
		check(0, "%s: workspace: %s", c->name, nn_error());
		goto out;
	}
	size_t px = (size_t)c->B * c->H * c->W;
	double loss = NAN;
	int st = nn_write(ctx, ws.x, find(c, "x")->data, px);
	if (!st)
		st = nn_write(ctx, ws.t, find(c, "t")->data, px);
	if (!st)
		st = nn_arena_zero_grad(ctx, &m.arena);
	if (!st)
		st = sr_mse_step(ctx, &m, &ws, c->B, c->H, c->W, 1, &loss);
	check(st == TG_CL_OK, "%s: forward and backward: %s", c->name, st ? nn_error() : "ok");
	if (!st) {
		float *y = nn_test_down(ctx, ws.y, px);
		cmp(c, "y", y, px, 1);
		free(y);
		float l = (float)loss;
		cmp(c, "loss", &l, 1, 1);
		const char *groles[6] = { "gw1", "gb1", "gw2", "gb2", "gw3", "gb3" };
		for (int i = 0; i < 6; i++) {
			const nn_param *p = &m.arena.p[idx[i]];
			float *g = nn_test_down(ctx, nn_arena_grad(&m.arena, idx[i]), p->numel);
			const tensor *t = find(c, groles[i]);
			cmp(c, groles[i], g, p->numel, t && t->n < p->numel ? p->numel / t->n : 1);
			free(g);
		}
		/* the same forward on an inference workspace (srcnn apply's:
		 * 9-1-5's first two layers in one pass) */
		sr_ws inf;
		st = sr_ws_alloc(ctx, &inf, c->B, c->H, c->W, 0);
		if (!st) {
			st = nn_write(ctx, inf.x, find(c, "x")->data, px);
			if (!st)
				st = sr_forward(ctx, &m, &inf, c->B, c->H, c->W);
			if (!st) {
				float *y = nn_test_down(ctx, inf.y, px);
				cmp(c, "y", y, px, 1);
				free(y);
			}
			sr_ws_free(&inf);
		}
		check(st == TG_CL_OK, "%s: inference forward: %s", c->name, st ? nn_error() : "ok");
	}
	sr_ws_free(&ws);
out:
	sr_model_free(&m);
}

/* Tiled against untiled, on an image of H x W with tiles of `tile`. */
static void tiled_case(int mid, int H, int W, int tile)
{
	sr_model m;
	nn_rng r;
	nn_rng_init(&r, 77 + mid);
	if (sr_model_init(ctx, &m, mid) != TG_CL_OK) {
		check(0, "tiled %s: sr_model_init: %s", sr_arch_name(mid), nn_error());
		return;
	}
	/* PyTorch's default init: outputs of order 0.1, not SRCNN's tiny last layer */
	int st = nn_init_torch_default(ctx, &r, &m.arena, "features.0.weight", "features.0.bias");
	if (!st)
		st = nn_init_torch_default(ctx, &r, &m.arena, "map.0.weight", "map.0.bias");
	if (!st)
		st = nn_init_torch_default(ctx, &r, &m.arena, "reconstruction.weight",
		                           "reconstruction.bias");
	float *in = nn_test_uniform(&r, (size_t)H * W, 0, 1);
	float *a = nn_test_alloc((size_t)H * W), *b = nn_test_alloc((size_t)H * W);
	sr_ws whole, tiles;
	int h = sr_halo(mid);
	memset(&whole, 0, sizeof whole);
	memset(&tiles, 0, sizeof tiles);
	if (!st)
		st = sr_ws_alloc(ctx, &whole, 1, H, W, 0);
	if (!st)
		st = sr_ws_alloc(ctx, &tiles, 1, tile + 2 * h, tile + 2 * h, 0);
	if (!st)
		st = sr_apply(ctx, &m, &whole, tile, in, H, W, a);
	if (!st)
		st = sr_apply(ctx, &m, &tiles, tile, in, H, W, b);
	if (st) {
		check(0, "tiled %s: %s", sr_arch_name(mid), nn_error());
	} else {
		double e = nn_err(b, a, (size_t)H * W);
		double mag = 0;
		for (size_t i = 0; i < (size_t)H * W; i++)
			mag = fmax(mag, fabs(a[i]));
		check(e <= TILE_TOL && mag > 1e-3,
		      "tiled %s %dx%d tiles %d (halo %d) = untiled: error %.2g (tolerance %g), "
		      "output magnitude %.3g", sr_arch_name(mid), H, W, tile, h, e, TILE_TOL, mag);
	}
	sr_ws_free(&whole);
	sr_ws_free(&tiles);
	free(in);
	free(a);
	free(b);
	sr_model_free(&m);
}

static void init_case(void)
{
	sr_model m;
	nn_rng r;
	nn_rng_init(&r, 5);
	if (sr_model_init(ctx, &m, 5) != TG_CL_OK || sr_model_init_weights(ctx, &m, &r) != TG_CL_OK) {
		check(0, "init: %s", nn_error());
		return;
	}
	const char *names[6] = { "features.0.weight", "features.0.bias", "map.0.weight",
	                         "map.0.bias", "reconstruction.weight", "reconstruction.bias" };
	double want[6] = { sqrt(2.0 / (64 * 81)), 0, sqrt(2.0 / (32 * 25)), 0, 0.001, 0 };
	for (int i = 0; i < 6; i++) {
		int k = nn_arena_find(&m.arena, names[i]);
		size_t n = m.arena.p[k].numel;
		float *v = nn_test_down(ctx, nn_arena_param(&m.arena, k), n);
		double s = 0;
		for (size_t j = 0; j < n; j++)
			s += (double)v[j] * v[j];
		double sd = sqrt(s / n);
		if (want[i] == 0)
			check(sd == 0, "init %s: all zero (rms %g)", names[i], sd);
		else
			check(fabs(sd / want[i] - 1) < 0.05, "init %s: std %.4g, SRCNN-PyTorch %.4g (5%%)",
			      names[i], sd, want[i]);
		free(v);
	}
	sr_model_free(&m);
}

int main(void)
{
	const char *fx = getenv("FIXTURES");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/srcnn", fx ? fx : "tests/fixtures");
	ctx = nn_test_ctx("test_srcnn");
	if (!ctx)
		return check_finish();
	check(sr_arch_parse("9-1-5") == 1 && sr_arch_parse("9-5-5") == 5 && sr_arch_parse("9-3-5") < 0,
	      "architecture names");
	check(sr_halo(1) == 6 && sr_halo(5) == 8, "halo 6 (9-1-5) and 8 (9-5-5)");
	fcase cases[4];
	int n = read_index(dir, cases, 4);
	check(n == 2, "fixture cases: %d (want 2)", n);
	for (int i = 0; i < n; i++) {
		torch_case(&cases[i]);
		for (int k = 0; k < cases[i].nt; k++)
			free(cases[i].t[k].data);
	}
	tiled_case(1, 150, 133, 40);
	tiled_case(5, 97, 140, 32);
	init_case();
	return check_finish();
}
