/* nn_optim.cl: optimizer steps and weight clipping over a range of the
 * parameter arena (libstream/nn/optim.c, rules in libstream/nn/optim.h).
 * One work-item per element; every buffer comes as (pointer, offset in
 * elements); n bounds the range.  The scalars (lr, 1 - beta1, step size,
 * ...) arrive rounded to float by the host, and each expression keeps the
 * order of operations of PyTorch's kernels and of the C reference. */

/* No fused multiply-add: results round as in the C reference. */
#pragma OPENCL FP_CONTRACT OFF

/* d = g + wd p (PyTorch skips the addition for wd == 0). */
static float decayed(float g, float p, float wd)
{
	return wd != 0.0f ? g + wd * p : g;
}

__kernel void sgd_step(__global float *p, ulong po, __global const float *g, ulong go, int n,
                       float neg_lr, float wd)
{
	int i = get_global_id(0);
	if (i < n) {
		float x = p[po + i];
		p[po + i] = x + neg_lr * decayed(g[go + i], x, wd);
	}
}

/* first != 0: buf = d (PyTorch's first step), else buf = momentum buf + d. */
__kernel void sgd_momentum_step(__global float *p, ulong po, __global const float *g, ulong go,
                                __global float *buf, ulong bo, int n, float neg_lr, float wd,
                                float momentum, int first)
{
	int i = get_global_id(0);
	if (i < n) {
		float x = p[po + i];
		float d = decayed(g[go + i], x, wd);
		float b = first ? d : buf[bo + i] * momentum + d;
		buf[bo + i] = b;
		p[po + i] = x + neg_lr * b;
	}
}

__kernel void adam_step(__global float *p, ulong po, __global const float *g, ulong go,
                        __global float *m, ulong mo, __global float *v, ulong vo, int n,
                        float beta1, float one_m_beta1, float beta2, float one_m_beta2,
                        float neg_step_size, float bc2_sqrt, float eps, float wd)
{
	int i = get_global_id(0);
	if (i < n) {
		float x = p[po + i];
		float d = decayed(g[go + i], x, wd);
		float a = m[mo + i] * beta1 + one_m_beta1 * d;
		float s = v[vo + i] * beta2 + one_m_beta2 * d * d;
		m[mo + i] = a;
		v[vo + i] = s;
		float denom = sqrt(s) / bc2_sqrt + eps;
		p[po + i] = x + neg_step_size * a / denom;
	}
}

__kernel void rmsprop_step(__global float *p, ulong po, __global const float *g, ulong go,
                           __global float *sq, ulong so, int n, float alpha, float one_m_alpha,
                           float neg_lr, float eps, float wd)
{
	int i = get_global_id(0);
	if (i < n) {
		float x = p[po + i];
		float d = decayed(g[go + i], x, wd);
		float s = sq[so + i] * alpha + one_m_alpha * d * d;
		sq[so + i] = s;
		p[po + i] = x + neg_lr * d / (sqrt(s) + eps);
	}
}

/* p = min(max(p, -c), c), as torch.clamp_ (NaN stays NaN). */
__kernel void clamp_range(__global float *p, ulong po, int n, float c)
{
	int i = get_global_id(0);
	if (i < n) {
		float x = p[po + i];
		p[po + i] = x < -c ? -c : (x > c ? c : x);
	}
}
