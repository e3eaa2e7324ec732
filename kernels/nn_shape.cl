/* nn_shape.cl: nearest upsampling and channel copies of the engine
 * (libstream/nn/shape.c).  Buffers come as (pointer, offset in elements). */

/* y [B, C, H*s, W*s] = x [B, C, H, W] repeated s x s.  One work-item per
 * input row, writing s output rows: dimension 0 over H, 1 over B*C. */
__kernel void upsample_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                               int H, int W, int s)
{
	int ih = get_global_id(0), plane = get_global_id(1);
	if (ih >= H)
		return;
	int OW = W * s;
	__global const float *in = x + xo + ((size_t)plane * H + ih) * W;
	__global float *out = y + yo + ((size_t)plane * H + ih) * s * OW;
	for (int iw = 0; iw < W; iw++) {
		float v = in[iw];
		for (int j = 0; j < s; j++)
			out[iw * s + j] = v;
	}
	for (int i = 1; i < s; i++)
		for (int ow = 0; ow < OW; ow++)
			out[i * OW + ow] = out[ow];
}

/* dx [B, C, H, W] = sum of the s x s block of dy [B, C, H*s, W*s]
 * (assigned).  One work-item per input row: dimension 0 over H, 1 over B*C. */
__kernel void upsample_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                                int H, int W, int s)
{
	int ih = get_global_id(0), plane = get_global_id(1);
	if (ih >= H)
		return;
	int OW = W * s;
	__global const float *g = dy + dyo + ((size_t)plane * H + ih) * s * OW;
	__global float *out = dx + dxo + ((size_t)plane * H + ih) * W;
	for (int iw = 0; iw < W; iw++) {
		float sum = 0.0f;
		for (int i = 0; i < s; i++)
			for (int j = 0; j < s; j++)
				sum += g[i * OW + iw * s + j];
		out[iw] = sum;
	}
}

/* dst [B, dC, S] channels dc0.. = src [B, sC, S] channels sc0.., n of them.
 * Dimension 0 over n*S, dimension 1 over B. */
__kernel void copy_channels(__global float *dst, ulong dso, int dC, int dc0,
                            __global const float *src, ulong sro, int sC, int sc0, int n, int S)
{
	int i = get_global_id(0), b = get_global_id(1);
	if (i >= n * S)
		return;
	dst[dso + ((size_t)b * dC + dc0) * S + i] = src[sro + ((size_t)b * sC + sc0) * S + i];
}
