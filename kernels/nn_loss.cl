/* nn_loss.cl: the losses of the engine (libstream/nn/loss.c).  A loss is
 * the mean over n elements of a term of x (prediction) and t (target: the
 * buffer when has_t, else the constant tc).  Modes: */
#define MSE 0          /* (x - t)^2 */
#define L1 1           /* |x - t| */
#define BCE 2          /* -(t log x + (1-t) log(1-x)), each log clamped at -100 */
#define BCE_LOGITS 3   /* the same on sigmoid(x), in the stable form */
#define MEAN 4         /* x */

#define RED_WG 64

static float term(int mode, float x, float t)
{
	switch (mode) {
	case MSE:
		return (x - t) * (x - t);
	case L1:
		return fabs(x - t);
	case BCE:
		/* As torch.nn.BCELoss: log clamped at -100 so x = 0 or 1 stays finite. */
		return -(t * fmax(log(x), -100.0f) + (1.0f - t) * fmax(log1p(-x), -100.0f));
	case BCE_LOGITS:
		return fmax(x, 0.0f) - x * t + log1p(exp(-fabs(x)));
	default:
		return x;
	}
}

/* part[group] = sum of the terms the group covers (host adds the groups). */
__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1)))
void loss_sum(__global float *part, ulong po, __global const float *x, ulong xo,
              __global const float *t, ulong to, int has_t, float tc, int n, int mode)
{
	__local float acc[RED_WG];
	int l = get_local_id(0);
	int stride = get_global_size(0);
	float s = 0.0f;
	for (int i = get_global_id(0); i < n; i += stride)
		s += term(mode, x[xo + i], has_t ? t[to + i] : tc);
	acc[l] = s;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int h = RED_WG / 2; h > 0; h >>= 1) {
		if (l < h)
			acc[l] += acc[l + h];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (l == 0)
		part[po + get_group_id(0)] = acc[0];
}

/* dx [n] = scale * d term / dx, scale = dloss / n (assigned). */
__kernel void loss_grad(__global float *dx, ulong dxo, __global const float *x, ulong xo,
                        __global const float *t, ulong to, int has_t, float tc, int n, int mode,
                        float scale)
{
	int i = get_global_id(0);
	if (i >= n)
		return;
	float v = x[xo + i], tv = has_t ? t[to + i] : tc, g;
	switch (mode) {
	case MSE:
		g = 2.0f * (v - tv);
		break;
	case L1:
		g = v > tv ? 1.0f : v < tv ? -1.0f : 0.0f;
		break;
	case BCE:
		/* torch: (x - t) / max(x (1 - x), 1e-12) */
		g = (v - tv) / fmax(v * (1.0f - v), 1e-12f);
		break;
	case BCE_LOGITS: {
		float e = exp(-fabs(v));
		float sig = v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
		g = sig - tv;
		break;
	}
	default:
		g = 1.0f;
	}
	dx[dxo + i] = scale * g;
}
