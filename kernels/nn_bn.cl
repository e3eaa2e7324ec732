/* nn_bn.cl: batch normalisation of the engine (libstream/nn/batchnorm.c).
 * x, y, dy, dx [B, C, S]; per-channel vectors [C]; save [2C] holds the
 * mean and 1/sqrt(var + eps) used to normalise.  Buffers come as (pointer,
 * offset in elements).  Work-items take whole rows of S values or stride
 * along them: index arithmetic per element is what costs on a CPU device. */

#define RED_WG 64

/* Tree sum of one value per work-item of the group (all items get it). */
static float group_sum(__local float *buf, float v)
{
	int l = get_local_id(0);
	barrier(CLK_LOCAL_MEM_FENCE);
	buf[l] = v;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int h = RED_WG / 2; h > 0; h >>= 1) {
		if (l < h)
			buf[l] += buf[l + h];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	return buf[0];
}

/* Training statistics of channel c = group id: mean and biased variance by
 * two compensated passes; save them, and update the running statistics
 * (unbiased variance) when has_running.  n = B*S > 1. */
__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1)))
void bn_stats(__global float *save, ulong so, __global const float *x, ulong xo,
              __global float *rmean, ulong rmo, __global float *rvar, ulong rvo, int has_running,
              int B, int C, int S, float eps, float momentum)
{
	__local float buf[RED_WG];
	int c = get_group_id(0), l = get_local_id(0);
	int n = B * S;
	/* Compensated sums; item l takes elements l, l + RED_WG, ... of each
	 * row (b, c) of S values (short rows leave items idle, which costs
	 * little next to dividing an index per element). */
	float s = 0.0f, comp = 0.0f;
	for (int b = 0; b < B; b++) {
		__global const float *row = x + xo + (size_t)(b * C + c) * S;
		for (int i = l; i < S; i += RED_WG) {
			float v = row[i] - comp;
			float t = s + v;
			comp = (t - s) - v;
			s = t;
		}
	}
	float mean = group_sum(buf, s) / (float)n;
	s = 0.0f;
	comp = 0.0f;
	for (int b = 0; b < B; b++) {
		__global const float *row = x + xo + (size_t)(b * C + c) * S;
		for (int i = l; i < S; i += RED_WG) {
			float d = row[i] - mean;
			float v = d * d - comp;
			float t = s + v;
			comp = (t - s) - v;
			s = t;
		}
	}
	float var = group_sum(buf, s) / (float)n;
	if (l == 0) {
		save[so + c] = mean;
		save[so + C + c] = 1.0f / sqrt(var + eps);
		if (has_running) {
			rmean[rmo + c] = (1.0f - momentum) * rmean[rmo + c] + momentum * mean;
			rvar[rvo + c] = (1.0f - momentum) * rvar[rvo + c] +
			                momentum * var * (float)n / (float)(n - 1);
		}
	}
}

/* Evaluation: save = (running mean, 1/sqrt(running var + eps)). */
__kernel void bn_eval_stats(__global float *save, ulong so, __global const float *rmean, ulong rmo,
                            __global const float *rvar, ulong rvo, int C, float eps)
{
	int c = get_global_id(0);
	if (c < C) {
		save[so + c] = rmean[rmo + c];
		save[so + C + c] = 1.0f / sqrt(rvar[rvo + c] + eps);
	}
}

/* y = (x - mean) * invstd * gamma + beta; one work-item per row (b, c). */
__kernel void bn_apply(__global float *y, ulong yo, __global const float *x, ulong xo,
                       __global const float *save, ulong so, __global const float *gamma,
                       ulong go, __global const float *beta, ulong bo, int affine, int C, int S,
                       int rows)
{
	int row = get_global_id(0);
	if (row >= rows)
		return;
	int c = row % C;
	float scale = save[so + C + c], mean = save[so + c], shift = 0.0f;
	if (affine) {
		scale *= gamma[go + c];
		shift = beta[bo + c];
	}
	size_t base = (size_t)row * S;
	for (int i = 0; i < S; i++)
		y[yo + base + i] = (x[xo + base + i] - mean) * scale + shift;
}

/* Per channel (group id): sums[c] = sum dy, sums[C + c] = sum dy * xhat;
 * dgamma += the second, dbeta += the first (when has_param). */
__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1)))
void bn_backward_reduce(__global float *sums, ulong suo, __global float *dgamma, ulong dgo,
                        __global float *dbeta, ulong dbo, int has_dgamma, int has_dbeta,
                        __global const float *dy, ulong dyo, __global const float *x, ulong xo,
                        __global const float *save, ulong so, int B, int C, int S)
{
	__local float buf[RED_WG];
	int c = get_group_id(0), l = get_local_id(0);
	float mean = save[so + c], invstd = save[so + C + c];
	float sg = 0.0f, sgx = 0.0f;
	for (int b = 0; b < B; b++) {
		size_t r = (size_t)(b * C + c) * S;
		for (int i = l; i < S; i += RED_WG) {
			float g = dy[dyo + r + i];
			sg += g;
			sgx += g * (x[xo + r + i] - mean);
		}
	}
	sg = group_sum(buf, sg);
	sgx = group_sum(buf, sgx) * invstd;
	if (l == 0) {
		sums[suo + c] = sg;
		sums[suo + C + c] = sgx;
		if (has_dgamma)
			dgamma[dgo + c] += sgx;
		if (has_dbeta)
			dbeta[dbo + c] += sg;
	}
}

/* dx = gamma invstd (dy - sum_dy / n - xhat sum_dy_xhat / n) in training,
 * gamma invstd dy in evaluation (assigned); one work-item per row (b, c). */
__kernel void bn_backward_data(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                               __global const float *x, ulong xo, __global const float *save,
                               ulong so, __global const float *sums, ulong suo,
                               __global const float *gamma, ulong go, int affine, int train,
                               int B, int C, int S)
{
	int row = get_global_id(0);
	if (row >= B * C)
		return;
	int c = row % C;
	float invstd = save[so + C + c], mean = save[so + c];
	float scale = affine ? invstd * gamma[go + c] : invstd;
	float n = (float)(B * S);
	float m1 = train ? sums[suo + c] / n : 0.0f, m2 = train ? sums[suo + C + c] / n : 0.0f;
	size_t base = (size_t)row * S;
	for (int i = 0; i < S; i++) {
		float xhat = (x[xo + base + i] - mean) * invstd;
		dx[dxo + base + i] = scale * (dy[dyo + base + i] - m1 - xhat * m2);
	}
}
