/* optim.c: SGD, Adam and RMSprop over the parameter arena (optim.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"
#include "nn/optim.h"

static const char *state_names[][NN_OPT_MAX_STATE] = {
	[NN_OPT_SGD] = { "sgd.buf", NULL },
	[NN_OPT_ADAM] = { "adam.m", "adam.v" },
	[NN_OPT_RMSPROP] = { "rmsprop.sq", NULL },
};

const char *nn_optim_kind_name(nn_opt_kind kind)
{
	switch (kind) {
	case NN_OPT_SGD: return "sgd";
	case NN_OPT_ADAM: return "adam";
	case NN_OPT_RMSPROP: return "rmsprop";
	}
	return "?";
}

const char *nn_optim_state_name(const nn_optim *o, int i)
{
	if (i < 0 || i >= o->nstate)
		return NULL;
	return state_names[o->kind][i];
}

static int needed_state(const nn_optim *o)
{
	switch (o->kind) {
	case NN_OPT_SGD: return o->momentum != 0.0 ? 1 : 0;
	case NN_OPT_ADAM: return 2;
	case NN_OPT_RMSPROP: return 1;
	}
	return 0;
}

int nn_optim_state_alloc(nn_ctx *ctx, nn_optim *o)
{
	int need = needed_state(o);
	while (o->nstate < need) {
		cl_mem m = nn_arena_alloc_like(ctx, o->arena);
		if (!m)
			return TG_CL_FAIL;
		o->state[o->nstate++] = m;
	}
	return TG_CL_OK;
}

void nn_optim_free(nn_optim *o)
{
	for (int i = 0; i < o->nstate; i++)
		if (o->state[i])
			clReleaseMemObject(o->state[i]);
	free(o->group_of);
	memset(o, 0, sizeof *o);
}

int nn_optim_init(nn_ctx *ctx, nn_optim *o, nn_opt_kind kind, nn_arena *a)
{
	memset(o, 0, sizeof *o);
	if (kind != NN_OPT_SGD && kind != NN_OPT_ADAM && kind != NN_OPT_RMSPROP)
		return nn_fail(TG_CL_FAIL, "optimizer: unknown kind %d", (int)kind);
	if (!a->params || !a->grads)
		return nn_fail(TG_CL_FAIL, "optimizer: the arena is not allocated");
	o->kind = kind;
	strcpy(o->name, "opt");
	o->arena = a;
	o->ngroups = 1;
	switch (kind) {
	case NN_OPT_SGD:
		o->group[0].lr = 0.01;
		break;
	case NN_OPT_ADAM:
		o->group[0].lr = 1e-3;
		o->beta1 = 0.9;
		o->beta2 = 0.999;
		o->eps = 1e-8;
		break;
	case NN_OPT_RMSPROP:
		o->group[0].lr = 1e-2;
		o->alpha = 0.99;
		o->eps = 1e-8;
		break;
	}
	o->group_of = calloc(a->n ? (size_t)a->n : 1, sizeof *o->group_of);
	if (!o->group_of) {
		nn_optim_free(o);
		return nn_fail(TG_CL_FAIL, "optimizer: out of memory");
	}
	int st = nn_optim_state_alloc(ctx, o);
	if (st != TG_CL_OK)
		nn_optim_free(o);
	return st;
}

static int matches(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

int nn_optim_assign(nn_optim *o, const char *pattern, int g)
{
	if (g != NN_OPT_NONE && (g < 0 || g >= NN_OPT_MAX_GROUPS))
		return nn_fail(TG_CL_FAIL, "optimizer: group %d is not 0 to %d", g,
		               NN_OPT_MAX_GROUPS - 1), -1;
	int count = 0;
	for (int i = 0; i < o->arena->n; i++)
		if (matches(pattern, o->arena->p[i].name)) {
			o->group_of[i] = g;
			count++;
		}
	if (count == 0)
		return nn_fail(TG_CL_FAIL, "optimizer: no parameter matches '%s'", pattern), -1;
	while (g >= o->ngroups) {
		o->group[o->ngroups] = o->group[0];
		o->ngroups++;
	}
	return count;
}

/* ---- runs of tensors ----
 * Consecutive tensors of one group form a run [start, end) of the arena,
 * padding between them included (it stays zero under every rule), so a
 * single group over the whole arena takes one launch.  want == NN_OPT_ALL
 * in next_run means every member tensor, whatever its group (runs still
 * end where the group changes). */

typedef struct {
	size_t off, n;
	int group;
} run;

/* The next run from tensor *i on; 0 when none is left. */
static int next_run(const nn_optim *o, int want, int *i, run *r)
{
	const nn_arena *a = o->arena;
	while (*i < a->n) {
		int g = o->group_of[*i];
		if (g == NN_OPT_NONE || (want != NN_OPT_ALL && g != want)) {
			(*i)++;
			continue;
		}
		int j = *i;
		size_t end = a->p[j].off + a->p[j].numel;
		for (j++; j < a->n; j++) {
			if (o->group_of[j] != g)
				break;
			end = a->p[j].off + a->p[j].numel;
		}
		r->off = a->p[*i].off;
		r->n = end - r->off;
		r->group = g;
		*i = j;
		return 1;
	}
	return 0;
}

/* Scalars of one step of one group, rounded to float once from double. */
typedef struct {
	float neg_lr, wd;
	float beta1, one_m_beta1, beta2, one_m_beta2, neg_step_size, bc2_sqrt, eps;
	float alpha, one_m_alpha, momentum;
} scalars;

static scalars step_scalars(const nn_optim *o, const nn_opt_group *gr, long long t)
{
	scalars s;
	memset(&s, 0, sizeof s);
	s.neg_lr = (float)-gr->lr;
	s.wd = (float)gr->weight_decay;
	s.eps = (float)o->eps;
	switch (o->kind) {
	case NN_OPT_SGD:
		s.momentum = (float)o->momentum;
		break;
	case NN_OPT_ADAM: {
		double bc1 = 1.0 - pow(o->beta1, (double)t);
		double bc2 = 1.0 - pow(o->beta2, (double)t);
		s.beta1 = (float)o->beta1;
		s.one_m_beta1 = (float)(1.0 - o->beta1);
		s.beta2 = (float)o->beta2;
		s.one_m_beta2 = (float)(1.0 - o->beta2);
		s.neg_step_size = (float)-(gr->lr / bc1);
		s.bc2_sqrt = (float)sqrt(bc2);
		break;
	}
	case NN_OPT_RMSPROP:
		s.alpha = (float)o->alpha;
		s.one_m_alpha = (float)(1.0 - o->alpha);
		break;
	}
	return s;
}

static int launch_step(nn_ctx *ctx, nn_optim *o, const run *r, long long t)
{
	const scalars s = step_scalars(o, &o->group[r->group], t);
	nn_buf p = nn_buf_of(o->arena->params, r->off);
	nn_buf g = nn_buf_of(o->arena->grads, r->off);
	const char *name;
	switch (o->kind) {
	case NN_OPT_SGD: name = o->nstate ? "sgd_momentum_step" : "sgd_step"; break;
	case NN_OPT_ADAM: name = "adam_step"; break;
	default: name = "rmsprop_step"; break;
	}
	cl_kernel k = nn_kernel(ctx, "nn_optim.cl", name);
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, p);
	nn_arg_buf(&a, g);
	for (int i = 0; i < o->nstate; i++)
		nn_arg_buf(&a, nn_buf_of(o->state[i], r->off));
	nn_arg_int(&a, (int)r->n);
	switch (o->kind) {
	case NN_OPT_SGD:
		nn_arg_float(&a, s.neg_lr);
		nn_arg_float(&a, s.wd);
		if (o->nstate) {
			nn_arg_float(&a, s.momentum);
			nn_arg_int(&a, t == 1);
		}
		break;
	case NN_OPT_ADAM:
		nn_arg_float(&a, s.beta1);
		nn_arg_float(&a, s.one_m_beta1);
		nn_arg_float(&a, s.beta2);
		nn_arg_float(&a, s.one_m_beta2);
		nn_arg_float(&a, s.neg_step_size);
		nn_arg_float(&a, s.bc2_sqrt);
		nn_arg_float(&a, s.eps);
		nn_arg_float(&a, s.wd);
		break;
	case NN_OPT_RMSPROP:
		nn_arg_float(&a, s.alpha);
		nn_arg_float(&a, s.one_m_alpha);
		nn_arg_float(&a, s.neg_lr);
		nn_arg_float(&a, s.eps);
		nn_arg_float(&a, s.wd);
		break;
	}
	return nn_launch1(ctx, k, name, nn_args_end(&a, name), r->n);
}

int nn_optim_step(nn_ctx *ctx, nn_optim *o)
{
	if (o->nstate < needed_state(o))
		return nn_fail(TG_CL_FAIL, "optimizer %s: state not allocated (nn_optim_state_alloc "
		               "after setting momentum)", o->name);
	long long t = o->step + 1;
	run r;
	int i = 0;
	while (next_run(o, NN_OPT_ALL, &i, &r)) {
		int st = launch_step(ctx, o, &r, t);
		if (st != TG_CL_OK)
			return st;
	}
	o->step = t;
	return TG_CL_OK;
}

int nn_optim_zero_grad(nn_ctx *ctx, nn_optim *o)
{
	run r;
	int i = 0;
	while (next_run(o, NN_OPT_ALL, &i, &r)) {
		int st = nn_fill(ctx, nn_buf_of(o->arena->grads, r.off), r.n, 0.0f);
		if (st != TG_CL_OK)
			return st;
	}
	return TG_CL_OK;
}

int nn_optim_clamp(nn_ctx *ctx, nn_optim *o, int g, float c)
{
	if (g != NN_OPT_ALL && (g < 0 || g >= o->ngroups))
		return nn_fail(TG_CL_FAIL, "clamp: optimizer %s has no group %d", o->name, g);
	if (!(c >= 0.0f))
		return nn_fail(TG_CL_FAIL, "clamp: bound %g is not >= 0", (double)c);
	cl_kernel k = nn_kernel(ctx, "nn_optim.cl", "clamp_range");
	if (!k)
		return ctx->status;
	run r;
	int i = 0;
	while (next_run(o, g, &i, &r)) {
		nn_args a;
		nn_args_begin(&a, k);
		nn_arg_buf(&a, nn_buf_of(o->arena->params, r.off));
		nn_arg_int(&a, (int)r.n);
		nn_arg_float(&a, c);
		int st = nn_launch1(ctx, k, "clamp_range", nn_args_end(&a, "clamp_range"), r.n);
		if (st != TG_CL_OK)
			return st;
	}
	return TG_CL_OK;
}

/* ---- references ---- */

static float decayed(float g, float p, float wd)
{
	return wd != 0.0f ? g + wd * p : g;
}

void nn_ref_sgd_step(float *p, const float *g, float *buf, size_t n, double lr,
                     double momentum, double wd, long long t)
{
	const float neg_lr = (float)-lr, fwd = (float)wd, mu = (float)momentum;
	for (size_t i = 0; i < n; i++) {
		float d = decayed(g[i], p[i], fwd);
		if (momentum != 0.0) {
			float b = t == 1 ? d : buf[i] * mu + d;
			buf[i] = b;
			d = b;
		}
		p[i] = p[i] + neg_lr * d;
	}
}

void nn_ref_adam_step(float *p, const float *g, float *m, float *v, size_t n, double lr,
                      double beta1, double beta2, double eps, double wd, long long t)
{
	nn_optim o;
	memset(&o, 0, sizeof o);
	o.kind = NN_OPT_ADAM;
	o.beta1 = beta1;
	o.beta2 = beta2;
	o.eps = eps;
	nn_opt_group gr = { lr, wd };
	scalars s = step_scalars(&o, &gr, t);
	for (size_t i = 0; i < n; i++) {
		float d = decayed(g[i], p[i], s.wd);
		float a = m[i] * s.beta1 + s.one_m_beta1 * d;
		float q = v[i] * s.beta2 + s.one_m_beta2 * d * d;
		m[i] = a;
		v[i] = q;
		float denom = sqrtf(q) / s.bc2_sqrt + s.eps;
		p[i] = p[i] + s.neg_step_size * a / denom;
	}
}

void nn_ref_rmsprop_step(float *p, const float *g, float *sq, size_t n, double lr, double alpha,
                         double eps, double wd)
{
	const float a = (float)alpha, oma = (float)(1.0 - alpha), neg_lr = (float)-lr;
	const float fe = (float)eps, fwd = (float)wd;
	for (size_t i = 0; i < n; i++) {
		float d = decayed(g[i], p[i], fwd);
		float s = sq[i] * a + oma * d * d;
		sq[i] = s;
		p[i] = p[i] + neg_lr * d / (sqrtf(s) + fe);
	}
}

void nn_ref_clamp(float *p, size_t n, float c)
{
	for (size_t i = 0; i < n; i++)
		p[i] = p[i] < -c ? -c : (p[i] > c ? c : p[i]);
}

void nn_ref_optim_step(const nn_optim *o, long long t, float *params, const float *grads,
                       float *const *state)
{
	run r;
	int i = 0;
	while (next_run(o, NN_OPT_ALL, &i, &r)) {
		const nn_opt_group *gr = &o->group[r.group];
		float *p = params + r.off;
		const float *g = grads + r.off;
		switch (o->kind) {
		case NN_OPT_SGD:
			nn_ref_sgd_step(p, g, o->nstate ? state[0] + r.off : NULL, r.n, gr->lr,
			                o->nstate ? o->momentum : 0.0, gr->weight_decay, t);
			break;
		case NN_OPT_ADAM:
			nn_ref_adam_step(p, g, state[0] + r.off, state[1] + r.off, r.n, gr->lr, o->beta1,
			                 o->beta2, o->eps, gr->weight_decay, t);
			break;
		case NN_OPT_RMSPROP:
			nn_ref_rmsprop_step(p, g, state[0] + r.off, r.n, gr->lr, o->alpha, o->eps,
			                    gr->weight_decay);
			break;
		}
	}
}
