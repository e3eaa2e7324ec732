/* test_nn_optim: optimizers (nn/optim.h) and initialisers (nn/init.h).
 *
 *  1. PyTorch 1.13 fixtures ($FIXTURES/nn_optim, tests/make_nn_optim_fixtures.py):
 *     SGD, Adam, RMSprop over three tensors for three steps with fixed
 *     gradients, with weight decay and two parameter groups; parameters and
 *     optimizer state after every step, through the C reference and through
 *     the device.  Tolerance 1e-6 relative: max |ours - torch| /
 *     max(max |torch|, 1e-6) per tensor (test_nn_util.h).
 *  2. Device against reference on random data (an arena of five tensors,
 *     three groups, one tensor outside the optimizer): tolerance 1e-6 as
 *     above; the tensor outside and the padding stay bit-identical.
 *  3. Weight clipping, zeroing of gradients, the step counter, assignment
 *     errors.
 *  4. Initialisers: bounds, mean and standard deviation of the drawn values
 *     against the intended distribution (tolerances stated per check), and
 *     determinism (same seed, same bits; another seed, other bits).
 * Without an OpenCL device, only the reference half of 1 runs. */
#include <errno.h>

#include "nn/init.h"
#include "nn/optim.h"
#include "test_nn_util.h"

#define TOL 1e-6
#define STEPS 3
#define MAXT 64

static nn_ctx *ctx;

/* ---- fixtures ---- */

typedef struct {
	char role[16];
	size_t n;
	int rank, dim[4];
	float *data;
} tensor;

typedef struct {
	char name[64], opt[16], params[512];
	tensor t[MAXT];
	int nt;
} fcase;

static const tensor *find(const fcase *c, const char *role)
{
	for (int i = 0; i < c->nt; i++)
		if (strcmp(c->t[i].role, role) == 0)
			return &c->t[i];
	return NULL;
}

static const float *T(const fcase *c, const char *fmt, int k, int s)
{
	char role[16];
	snprintf(role, sizeof role, fmt, k, s);
	const tensor *t = find(c, role);
	if (!t)
		check(0, "%s: no tensor %s in the fixture", c->name, role);
	return t ? t->data : NULL;
}

/* Parameter `key` of the case line, NAN if absent. */
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

static int load(const char *dir, fcase *c)
{
	char path[1200];
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

static void free_case(fcase *c)
{
	for (int i = 0; i < c->nt; i++)
		free(c->t[i].data);
	memset(c, 0, sizeof *c);
}

/* An arena of the case's tensors p0, p1, p2 (host only unless alloc). */
static int make_arena(const fcase *c, nn_arena *a)
{
	nn_arena_init(a);
	for (int k = 0; k < 3; k++) {
		char role[8], name[8];
		snprintf(role, sizeof role, "p%d", k);
		snprintf(name, sizeof name, "P%d", k);
		const tensor *t = find(c, role);
		if (!t || nn_arena_add(a, name, t->rank, t->dim) != k)
			return check(0, "%s: arena of %s: %s", c->name, role, t ? nn_error() : "missing"), -1;
	}
	return 0;
}

/* Hyperparameters of the case into o (kind, groups); the state buffers
 * are left alone. */
static void setup(const fcase *c, nn_optim *o)
{
	o->kind = strcmp(c->opt, "sgd") == 0 ? NN_OPT_SGD
	        : strcmp(c->opt, "adam") == 0 ? NN_OPT_ADAM : NN_OPT_RMSPROP;
	o->group[0].lr = P(c, "lr");
	o->group[0].weight_decay = P(c, "wd");
	o->ngroups = 1;
	if (!isnan(P(c, "lr1"))) {
		o->ngroups = 2;
		o->group[1].lr = P(c, "lr1");
		o->group[1].weight_decay = P(c, "wd1");
	}
	if (o->kind == NN_OPT_SGD)
		o->momentum = P(c, "momentum");
	if (o->kind == NN_OPT_ADAM) {
		o->beta1 = P(c, "beta1");
		o->beta2 = P(c, "beta2");
	}
	if (o->kind == NN_OPT_RMSPROP)
		o->alpha = P(c, "alpha");
	if (o->kind != NN_OPT_SGD)
		o->eps = P(c, "eps");
}

static const char *state_fmt(const nn_optim *o, int i)
{
	switch (o->kind) {
	case NN_OPT_ADAM: return i == 0 ? "m%d.s%d" : "v%d.s%d";
	case NN_OPT_RMSPROP: return "sq%d.s%d";
	default: return "buf%d.s%d";
	}
}

static int nstate_of(const nn_optim *o)
{
	return o->kind == NN_OPT_ADAM ? 2 : o->kind == NN_OPT_RMSPROP ? 1 : o->momentum != 0;
}

/* Compares host arena copies (params, state) with the fixture after step s;
 * the worst error goes into *worst. */
static int compare(const fcase *c, const nn_arena *a, const nn_optim *o, int s,
                   const float *params, float *const *state, double *worst)
{
	int ok = 1;
	for (int k = 0; k < 3; k++) {
		const float *want = T(c, "p%d.s%d", k, s);
		double e = want ? nn_err(params + a->p[k].off, want, a->p[k].numel) : INFINITY;
		for (int i = 0; i < nstate_of(o); i++) {
			const float *ws = T(c, state_fmt(o, i), k, s);
			double es = ws ? nn_err(state[i] + a->p[k].off, ws, a->p[k].numel) : INFINITY;
			if (es > e)
				e = es;
		}
		if (e > *worst)
			*worst = e;
		ok = ok && e <= TOL;
	}
	return ok;
}

static void run_case(const fcase *c)
{
	nn_arena a;
	if (make_arena(c, &a) < 0)
		return;
	nn_optim o;
	memset(&o, 0, sizeof o);
	setup(c, &o);
	o.arena = &a;
	int group_of[3] = { 0, 0, o.ngroups - 1 };
	o.group_of = group_of;
	o.nstate = nstate_of(&o);

	/* reference */
	float *params = nn_test_alloc(a.total), *grads = nn_test_alloc(a.total);
	float *state[2] = { nn_test_alloc(a.total), nn_test_alloc(a.total) };
	for (int k = 0; k < 3; k++)
		memcpy(params + a.p[k].off, T(c, "p%d", k, 0), a.p[k].numel * sizeof(float));
	double worst = 0;
	int ok = 1;
	for (int s = 1; s <= STEPS; s++) {
		for (int k = 0; k < 3; k++)
			memcpy(grads + a.p[k].off, T(c, "g%d.s%d", k, s), a.p[k].numel * sizeof(float));
		nn_ref_optim_step(&o, s, params, grads, state);
		ok = compare(c, &a, &o, s, params, state, &worst) && ok;
	}
	check(ok, "torch %s (reference): 3 steps, params and state, error %.2g (tolerance %g)",
	      c->name, worst, TOL);

	/* device */
	if (ctx) {
		nn_arena da;
		nn_optim d;
		int st = make_arena(c, &da) == 0 && nn_arena_alloc(ctx, &da) == TG_CL_OK ? 0 : -1;
		if (st == 0) {
			nn_opt_kind kind = o.kind;
			st = nn_optim_init(ctx, &d, kind, &da) == TG_CL_OK ? 0 : -1;
		}
		if (st == 0) {
			setup(c, &d);
			if (d.ngroups == 2 && nn_optim_assign(&d, "P2", 1) != 1)
				st = -1;
			if (nn_optim_state_alloc(ctx, &d) != TG_CL_OK)
				st = -1;
		}
		for (int k = 0; st == 0 && k < 3; k++)
			st = nn_write(ctx, nn_arena_param(&da, k), T(c, "p%d", k, 0), da.p[k].numel);
		worst = 0;
		ok = st == 0;
		for (int s = 1; ok && s <= STEPS; s++) {
			for (int k = 0; ok && k < 3; k++)
				ok = nn_write(ctx, nn_arena_grad(&da, k), T(c, "g%d.s%d", k, s),
				              da.p[k].numel) == TG_CL_OK;
			ok = ok && nn_optim_step(ctx, &d) == TG_CL_OK && d.step == s;
			ok = ok && nn_read(ctx, params, nn_buf_of(da.params, 0), da.total) == TG_CL_OK;
			for (int i = 0; ok && i < d.nstate; i++)
				ok = nn_read(ctx, state[i], nn_buf_of(d.state[i], 0), da.total) == TG_CL_OK;
			ok = ok && compare(c, &da, &d, s, params, state, &worst);
		}
		check(ok, "torch %s (device): 3 steps, params and state, error %.2g (tolerance %g)%s%s",
		      c->name, worst, TOL, st ? ": " : "", st ? nn_error() : "");
		if (st == 0)
			nn_optim_free(&d);
		nn_arena_free(&da);
	}
	free(params);
	free(grads);
	free(state[0]);
	free(state[1]);
	nn_arena_free(&a);
}

static void test_fixtures(void)
{
	const char *fx = getenv("FIXTURES");
	char dir[1024], path[1100];
	snprintf(dir, sizeof dir, "%s/nn_optim", fx ? fx : "tests/fixtures");
	snprintf(path, sizeof path, "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		check(0, "cannot open %s", path);
		return;
	}
	char line[1024];
	fcase c;
	memset(&c, 0, sizeof c);
	int have = 0, ncases = 0;
	for (;;) {
		int eof = !fgets(line, sizeof line, f);
		if ((eof || strncmp(line, "case ", 5) == 0) && have) {
			if (load(dir, &c) == 0)
				run_case(&c);
			free_case(&c);
			have = 0;
			ncases++;
		}
		if (eof)
			break;
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "case ", 5) == 0) {
			int pos = 0;
			if (sscanf(line, "case %63s %15s %n", c.name, c.opt, &pos) >= 2) {
				snprintf(c.params, sizeof c.params, "%s", line + pos);
				have = 1;
			}
		} else if (strncmp(line, "tensor ", 7) == 0 && have && c.nt < MAXT) {
			tensor *t = &c.t[c.nt];
			char nm[64];
			int d[4] = { 0, 0, 0, 0 };
			int got = sscanf(line, "tensor %63s %15s %zu %d %d %d %d", nm, t->role, &t->n, &d[0],
			                 &d[1], &d[2], &d[3]);
			t->rank = got - 3;
			memcpy(t->dim, d, sizeof d);
			c.nt++;
		}
	}
	fclose(f);
	check(ncases == 10, "torch fixtures: %d cases read (10 expected)", ncases);
}

/* ---- device against reference on random data ---- */

static const char *rnames[] = { "g.conv1.weight", "g.conv1.bias", "d.fc.weight", "d.fc.bias",
                                "d.last.weight" };
static const int rdims[][4] = { { 32, 3, 5, 5 }, { 32 }, { 100, 300 }, { 100 }, { 7, 100 } };
static const int rranks[] = { 4, 1, 2, 1, 2 };

static int random_arena(nn_arena *a, nn_rng *r)
{
	nn_arena_init(a);
	for (int i = 0; i < 5; i++)
		if (nn_arena_add(a, rnames[i], rranks[i], rdims[i]) != i)
			return -1;
	if (nn_arena_alloc(ctx, a) != TG_CL_OK)
		return -1;
	float *p = nn_test_uniform(r, a->total, -1, 1);
	/* zero padding, as the arena keeps it */
	float *z = nn_test_alloc(a->total);
	for (int i = 0; i < a->n; i++)
		memcpy(z + a->p[i].off, p + a->p[i].off, a->p[i].numel * sizeof(float));
	int st = nn_write(ctx, nn_buf_of(a->params, 0), z, a->total);
	free(p);
	free(z);
	return st == TG_CL_OK ? 0 : -1;
}

static void test_random(nn_opt_kind kind, double momentum)
{
	nn_rng r;
	nn_rng_init(&r, 77 + (uint64_t)kind);
	nn_arena a;
	nn_optim o;
	const char *kn = nn_optim_kind_name(kind);
	if (random_arena(&a, &r) < 0 || nn_optim_init(ctx, &o, kind, &a) != TG_CL_OK) {
		check(0, "random %s: setup: %s", kn, nn_error());
		nn_arena_free(&a);
		return;
	}
	o.group[0].lr = 0.01;
	o.group[0].weight_decay = 0.001;
	o.momentum = momentum;
	int ok = nn_optim_state_alloc(ctx, &o) == TG_CL_OK;
	ok = ok && nn_optim_assign(&o, "d.*", 1) == 3;
	ok = ok && nn_optim_assign(&o, "d.last.weight", 2) == 1;
	ok = ok && nn_optim_assign(&o, "g.conv1.bias", NN_OPT_NONE) == 1;
	o.group[1].lr = 0.001;
	o.group[2].lr = 0.05;
	o.group[2].weight_decay = 0;
	size_t n = a.total;
	float *p = nn_test_down(ctx, nn_buf_of(a.params, 0), n);
	float *p0 = nn_test_copy(p, n);
	float *g = nn_test_alloc(n);
	float *s[2] = { nn_test_alloc(n), nn_test_alloc(n) };
	double worst = 0;
	for (int step = 1; ok && step <= 4; step++) {
		float *gr = nn_test_uniform(&r, n, -2, 2);
		for (int i = 0; i < a.n; i++)
			memcpy(g + a.p[i].off, gr + a.p[i].off, a.p[i].numel * sizeof(float));
		free(gr);
		ok = nn_write(ctx, nn_buf_of(a.grads, 0), g, n) == TG_CL_OK;
		ok = ok && nn_optim_step(ctx, &o) == TG_CL_OK;
		nn_ref_optim_step(&o, step, p, g, s);
		float *dp = nn_test_down(ctx, nn_buf_of(a.params, 0), n);
		double e = nn_err(dp, p, n);
		for (int i = 0; i < o.nstate; i++) {
			float *ds = nn_test_down(ctx, nn_buf_of(o.state[i], 0), n);
			double es = nn_err(ds, s[i], n);
			e = es > e ? es : e;
			free(ds);
		}
		worst = e > worst ? e : worst;
		if (step == 4) {
			/* the tensor outside the optimizer and the padding are untouched */
			int b = nn_arena_find(&a, "g.conv1.bias");
			int same = memcmp(dp + a.p[b].off, p0 + a.p[b].off, a.p[b].numel * sizeof(float)) == 0;
			for (int i = 0; i < a.n; i++) {
				size_t end = a.p[i].off + a.p[i].numel;
				size_t next = i + 1 < a.n ? a.p[i + 1].off : a.total;
				for (size_t j = end; j < next; j++)
					same = same && dp[j] == 0.0f;
			}
			check(same, "random %s: a tensor outside the optimizer and the padding unchanged", kn);
			/* something did move */
			check(dp[0] != p0[0] && o.step == 4, "random %s: parameters move, step counter %lld",
			      kn, o.step);
		}
		free(dp);
	}
	check(ok && worst <= TOL, "random %s%s: device vs reference, 4 steps, 3 groups, error %.2g "
	      "(tolerance %g)%s%s", kn, momentum != 0 ? " momentum" : "", worst, TOL, ok ? "" : ": ",
	      ok ? "" : nn_error());
	free(p);
	free(p0);
	free(g);
	free(s[0]);
	free(s[1]);
	nn_optim_free(&o);
	nn_arena_free(&a);
}

static void test_clamp_zero(void)
{
	nn_rng r;
	nn_rng_init(&r, 5);
	nn_arena a;
	nn_optim o;
	if (random_arena(&a, &r) < 0 || nn_optim_init(ctx, &o, NN_OPT_RMSPROP, &a) != TG_CL_OK) {
		check(0, "clamp: setup: %s", nn_error());
		nn_arena_free(&a);
		return;
	}
	nn_optim_assign(&o, "g.*", NN_OPT_NONE);
	nn_optim_assign(&o, "d.last.*", 1);
	size_t n = a.total;
	float *p = nn_test_down(ctx, nn_buf_of(a.params, 0), n);
	float *want = nn_test_copy(p, n);
	int d = nn_arena_find(&a, "d.fc.weight"), db = nn_arena_find(&a, "d.fc.bias");
	nn_ref_clamp(want + a.p[d].off, a.p[d].numel, 0.01f);
	nn_ref_clamp(want + a.p[db].off, a.p[db].numel, 0.01f);
	int st = nn_optim_clamp(ctx, &o, 0, 0.01f);
	float *got = nn_test_down(ctx, nn_buf_of(a.params, 0), n);
	int ok = st == TG_CL_OK && memcmp(got, want, n * sizeof(float)) == 0;
	float mx = 0;
	for (size_t i = 0; i < a.p[d].numel; i++)
		mx = fabsf(got[a.p[d].off + i]) > mx ? fabsf(got[a.p[d].off + i]) : mx;
	check(ok && mx == 0.01f, "clamp group 0 to 0.01: group 0 clamped (max |p| %g), others unchanged",
	      (double)mx);
	free(got);
	st = nn_optim_clamp(ctx, &o, NN_OPT_ALL, 0.01f);
	int l = nn_arena_find(&a, "d.last.weight"), gw = nn_arena_find(&a, "g.conv1.weight");
	nn_ref_clamp(want + a.p[l].off, a.p[l].numel, 0.01f);
	got = nn_test_down(ctx, nn_buf_of(a.params, 0), n);
	check(st == TG_CL_OK && memcmp(got, want, n * sizeof(float)) == 0 &&
	      memcmp(got + a.p[gw].off, p + a.p[gw].off, a.p[gw].numel * sizeof(float)) == 0,
	      "clamp all groups: every member clamped, non-members unchanged");
	check(nn_optim_clamp(ctx, &o, 5, 0.01f) != TG_CL_OK && strstr(nn_error(), "no group 5"),
	      "clamp of a missing group fails: %s", nn_error());
	free(got);

	/* zero_grad: members zeroed, non-members kept */
	float *g = nn_test_uniform(&r, n, 1, 2);
	int ok2 = nn_write(ctx, nn_buf_of(a.grads, 0), g, n) == TG_CL_OK &&
	          nn_optim_zero_grad(ctx, &o) == TG_CL_OK;
	float *dg = nn_test_down(ctx, nn_buf_of(a.grads, 0), n);
	for (int i = 0; i < a.n; i++)
		for (size_t j = 0; j < a.p[i].numel; j++) {
			size_t q = a.p[i].off + j;
			ok2 = ok2 && (o.group_of[i] == NN_OPT_NONE ? dg[q] == g[q] : dg[q] == 0.0f);
		}
	check(ok2, "zero_grad: gradients of member tensors zeroed, the others kept");
	free(dg);
	free(g);
	check(nn_optim_assign(&o, "nothing.*", 0) == -1 && strstr(nn_error(), "nothing.*"),
	      "assign of an unknown name fails: %s", nn_error());
	check(nn_optim_assign(&o, "d.fc.bias", NN_OPT_MAX_GROUPS) == -1,
	      "assign to group %d fails: %s", NN_OPT_MAX_GROUPS, nn_error());
	free(p);
	free(want);
	nn_optim_free(&o);
	nn_arena_free(&a);
}

/* ---- initialisers ---- */

typedef struct {
	double mean, sd, lo, hi;
} moments;

static moments measure(const float *x, size_t n)
{
	moments m = { 0, 0, INFINITY, -INFINITY };
	for (size_t i = 0; i < n; i++) {
		m.mean += x[i];
		m.lo = x[i] < m.lo ? x[i] : m.lo;
		m.hi = x[i] > m.hi ? x[i] : m.hi;
	}
	m.mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		m.sd += (x[i] - m.mean) * (x[i] - m.mean);
	m.sd = sqrt(m.sd / (double)(n - 1));
	return m;
}

/* A model-like arena: conv weights and biases, a BN pair, a linear layer,
 * a transposed conv weight. */
static const char *inames[] = { "conv.weight", "conv.bias", "bn.weight", "bn.bias", "fc.weight",
                                "fc.bias", "up.weight" };
static const int idims[][4] = { { 64, 16, 3, 3 }, { 64 }, { 4096 }, { 4096 }, { 128, 512 }, { 128 },
                                { 32, 64, 4, 4 } };
static const int iranks[] = { 4, 1, 1, 1, 2, 1, 4 };

static float *init_all(uint64_t seed, int scheme, nn_arena *a)
{
	nn_arena_init(a);
	for (int i = 0; i < 7; i++)
		nn_arena_add(a, inames[i], iranks[i], idims[i]);
	if (nn_arena_alloc(ctx, a) != TG_CL_OK)
		return NULL;
	nn_rng r;
	nn_rng_init(&r, seed);
	int st;
	if (scheme == 0) {   /* PyTorch defaults */
		st = nn_init_torch_default(ctx, &r, a, "conv.weight", "conv.bias");
		st = st ? st : nn_init_torch_default(ctx, &r, a, "fc.weight", "fc.bias");
		st = st ? st : nn_init_torch_default(ctx, &r, a, "up.weight", NULL);
		st = st ? st : nn_init_constant(ctx, a, "bn.weight", 1.0f);
		st = st ? st : nn_init_constant(ctx, a, "bn.bias", 0.0f);
	} else if (scheme == 1) {   /* DCGAN */
		st = nn_init_dcgan_conv(ctx, &r, a, "conv.weight");
		st = st ? st : nn_init_dcgan_bn(ctx, &r, a, "bn.weight", "bn.bias");
		st = st ? st : nn_init_kaiming_normal_fan_out(ctx, &r, a, "fc.weight");
		st = st ? st : nn_init_normal(ctx, &r, a, "up.weight", 0.0f, 0.001f);
	} else {
		st = nn_init_uniform(ctx, &r, a, "conv.weight", -0.5f, 0.25f);
	}
	if (st != TG_CL_OK) {
		check(0, "init scheme %d: %s", scheme, nn_error());
		return NULL;
	}
	return nn_test_down(ctx, nn_buf_of(a->params, 0), a->total);
}

static const float *at(const nn_arena *a, const float *h, const char *name, size_t *n)
{
	int i = nn_arena_find(a, name);
	*n = a->p[i].numel;
	return h + a->p[i].off;
}

/* Checks a uniform tensor against U[-b, b): within bounds, mean within 5
 * standard errors of 0, sd within 5 standard errors of b / sqrt(3) (the
 * relative standard error of a uniform sample's sd is sqrt(0.2 / n)). */
static void check_uniform(const nn_arena *a, const float *h, const char *name, double b)
{
	size_t n;
	const float *x = at(a, h, name, &n);
	moments m = measure(x, n);
	double se = b / sqrt(3.0) / sqrt((double)n);
	double rt = 5 * sqrt(0.2 / (double)n);
	check(m.lo >= -b && m.hi < b && fabs(m.mean) <= 5 * se && fabs(m.sd / (b / sqrt(3.0)) - 1) <= rt,
	      "init %s: U(-%.4g, %.4g): range [%.4g, %.4g], mean %.3g (tol %.2g), sd %.4g "
	      "(want %.4g, relative tol %.2g)", name, b, b, m.lo, m.hi, m.mean, 5 * se, m.sd,
	      b / sqrt(3.0), rt);
}

/* Normal: mean and sd within 5 standard errors (the relative standard
 * error of the sd is 1 / sqrt(2 n)). */
static void check_normal(const nn_arena *a, const float *h, const char *name, double mean,
                         double sd)
{
	size_t n;
	const float *x = at(a, h, name, &n);
	moments m = measure(x, n);
	double se = sd / sqrt((double)n);
	double rt = 5 / sqrt(2.0 * (double)n);
	check(fabs(m.mean - mean) <= 5 * se && fabs(m.sd / sd - 1) <= rt,
	      "init %s: N(%g, %.4g^2): mean %.5g (tol %.2g), sd %.5g (relative tol %.2g)", name, mean,
	      sd, m.mean, 5 * se, m.sd, rt);
}

static void test_init(void)
{
	nn_arena a, b;
	float *h = init_all(42, 0, &a);
	if (h) {
		check_uniform(&a, h, "conv.weight", 1 / sqrt(16.0 * 9));
		check_uniform(&a, h, "conv.bias", 1 / sqrt(16.0 * 9));
		check_uniform(&a, h, "fc.weight", 1 / sqrt(512.0));
		check_uniform(&a, h, "fc.bias", 1 / sqrt(512.0));
		/* ConvTranspose2d [C=32, OC=64, 4, 4]: PyTorch's fan_in = 64*4*4 */
		check_uniform(&a, h, "up.weight", 1 / sqrt(64.0 * 16));
		size_t n;
		const float *w = at(&a, h, "bn.weight", &n), *bb = at(&a, h, "bn.bias", &n);
		int ok = 1;
		for (size_t i = 0; i < n; i++)
			ok = ok && w[i] == 1.0f && bb[i] == 0.0f;
		check(ok, "init constant: bn.weight all 1, bn.bias all 0");
		/* determinism: the same seed gives the same bits, another seed others */
		float *h2 = init_all(42, 0, &b);
		check(h2 && memcmp(h, h2, a.total * sizeof(float)) == 0,
		      "init determinism: seed 42 twice gives identical bits (%zu values)", a.total);
		free(h2);
		nn_arena_free(&b);
		h2 = init_all(43, 0, &b);
		size_t same = 0;
		for (size_t i = 0; h2 && i < a.total; i++)
			same += h[i] == h2[i] && h[i] != 0.0f && h[i] != 1.0f;
		check(h2 && same < a.total / 100, "init: seed 43 differs from seed 42 (%zu equal values)",
		      same);
		free(h2);
		nn_arena_free(&b);
		/* the weight's draw comes first: the first values of conv.weight are
		 * the host draw of the same seed */
		nn_rng r;
		nn_rng_init(&r, 42);
		float hw[16];
		nn_rng_uniform(&r, hw, 16, -(float)(1 / sqrt(144.0)), (float)(1 / sqrt(144.0)));
		check(memcmp(hw, h + a.p[0].off, sizeof hw) == 0,
		      "init draws: conv.weight = host draw of seed 42 (documented order)");
		double fi = 0, fo = 0;
		int fst = nn_init_fans(&a, "up.weight", &fi, &fo);
		check(fst == 0 && fi == 1024 && fo == 512,
		      "fans of a transposed conv weight [32, 64, 4, 4]: in %g, out %g (PyTorch: 1024, 512)",
		      fi, fo);
		fst = nn_init_fans(&a, "conv.bias", &fi, &fo);
		check(fst < 0 && strstr(nn_error(), "rank 1"),
		      "fans of a bias fail: %s", nn_error());
		fst = nn_init_normal(ctx, &r, &a, "nope", 0, 1);
		check(fst != TG_CL_OK && strstr(nn_error(), "'nope'"),
		      "init of an unknown name fails: %s", nn_error());
	}
	free(h);
	nn_arena_free(&a);

	h = init_all(7, 1, &a);
	if (h) {
		check_normal(&a, h, "conv.weight", 0, 0.02);
		check_normal(&a, h, "bn.weight", 1, 0.02);
		check_normal(&a, h, "fc.weight", 0, sqrt(2.0 / 128));
		check_normal(&a, h, "up.weight", 0, 0.001);
		size_t n;
		const float *bb = at(&a, h, "bn.bias", &n);
		int ok = 1;
		for (size_t i = 0; i < n; i++)
			ok = ok && bb[i] == 0.0f;
		check(ok, "init dcgan: bn.bias all 0");
		float *h2 = init_all(7, 1, &b);
		check(h2 && memcmp(h, h2, a.total * sizeof(float)) == 0,
		      "init determinism (normal draws): seed 7 twice gives identical bits");
		free(h2);
		nn_arena_free(&b);
	}
	free(h);
	nn_arena_free(&a);

	h = init_all(9, 2, &a);
	if (h) {
		size_t n;
		const float *x = at(&a, h, "conv.weight", &n);
		moments m = measure(x, n);
		double se = 0.75 / sqrt(12.0) / sqrt((double)n);
		check(m.lo >= -0.5 && m.hi < 0.25 && fabs(m.mean + 0.125) <= 5 * se,
		      "init U(-0.5, 0.25): range [%.4g, %.4g], mean %.4g (want -0.125, tol %.2g)", m.lo,
		      m.hi, m.mean, 5 * se);
	}
	free(h);
	nn_arena_free(&a);
}

int main(void)
{
	ctx = nn_test_ctx("nn_optim device");
	test_fixtures();
	if (ctx) {
		test_random(NN_OPT_SGD, 0.0);
		test_random(NN_OPT_SGD, 0.9);
		test_random(NN_OPT_ADAM, 0.0);
		test_random(NN_OPT_RMSPROP, 0.0);
		test_clamp_zero();
		test_init();
		nn_ctx_free(ctx);
	}
	return check_finish();
}
