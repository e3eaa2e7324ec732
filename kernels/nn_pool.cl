/* nn_pool.cl: max, average and global average pooling of the engine
 * (libstream/nn/pool.c), with the window rules of PyTorch's CPU kernels.
 * x [planes, H, W] -> y [planes, OH, OW], planes = B*C; buffers come as
 * (pointer, offset in elements). */

/* One work-item per output row: dimension 0 over OH, 1 over planes.
 * Windows are clipped to the image (padding is -inf); the first maximum
 * wins, a NaN always does; idx gets h*W + w of the winner in its plane. */
__kernel void maxpool_forward(__global float *y, ulong yo, __global int *idx, ulong io,
                              __global const float *x, ulong xo, int H, int W, int KH, int KW,
                              int SH, int SW, int PH, int PW, int OH, int OW)
{
	int oh = get_global_id(0), plane = get_global_id(1);
	if (oh >= OH)
		return;
	int h0 = oh * SH - PH, h1 = min(h0 + KH, H);
	h0 = max(h0, 0);
	__global const float *xp = x + xo + (size_t)plane * H * W;
	size_t o = ((size_t)plane * OH + oh) * OW;
	for (int ow = 0; ow < OW; ow++) {
		int w0 = ow * SW - PW, w1 = min(w0 + KW, W);
		w0 = max(w0, 0);
		float best = -INFINITY;
		int bi = h0 * W + w0;
		for (int ih = h0; ih < h1; ih++)
			for (int iw = w0; iw < w1; iw++) {
				float v = xp[ih * W + iw];
				if (v > best || isnan(v)) {
					best = v;
					bi = ih * W + iw;
				}
			}
		y[yo + o + ow] = best;
		idx[io + o + ow] = bi;
	}
}

/* First and last+1 output index whose window (stride S, kernel K, pad P)
 * covers input i, clipped to [0, O). */
static int2 covering(int i, int K, int S, int P, int O)
{
	int t = i + P - K + 1;
	int lo = t <= 0 ? 0 : (t + S - 1) / S;
	int hi = min((i + P) / S + 1, O);
	return (int2)(lo, hi);
}

/* dx = dy routed to the recorded maxima (assigned).  One work-item per
 * input row: dimension 0 over H, 1 over planes. */
__kernel void maxpool_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                               __global const int *idx, ulong io, int H, int W, int KH, int KW,
                               int SH, int SW, int PH, int PW, int OH, int OW)
{
	int ih = get_global_id(0), plane = get_global_id(1);
	if (ih >= H)
		return;
	int2 rh = covering(ih, KH, SH, PH, OH);
	size_t base = (size_t)plane * OH * OW;
	__global float *out = dx + dxo + ((size_t)plane * H + ih) * W;
	for (int iw = 0; iw < W; iw++) {
		int2 rw = covering(iw, KW, SW, PW, OW);
		int p = ih * W + iw;
		float sum = 0.0f;
		for (int oh = rh.x; oh < rh.y; oh++)
			for (int ow = rw.x; ow < rw.y; ow++)
				if (idx[io + base + oh * OW + ow] == p)
					sum += dy[dyo + base + oh * OW + ow];
		out[iw] = sum;
	}
}

/* The divisor of output (oh, ow), as PyTorch: the window clipped to the
 * padded image when counting padding, else to the image. */
static int divisor(int oh, int ow, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                   int include_pad)
{
	int h0 = oh * SH - PH, w0 = ow * SW - PW;
	int h1 = min(h0 + KH, H + PH), w1 = min(w0 + KW, W + PW);
	int pool = (h1 - h0) * (w1 - w0);
	if (include_pad)
		return pool;
	h0 = max(h0, 0);
	w0 = max(w0, 0);
	h1 = min(h1, H);
	w1 = min(w1, W);
	return (h1 - h0) * (w1 - w0);
}

/* One work-item per output row: dimension 0 over OH, 1 over planes. */
__kernel void avgpool_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                              int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                              int OH, int OW, int include_pad)
{
	int oh = get_global_id(0), plane = get_global_id(1);
	if (oh >= OH)
		return;
	int h0 = max(oh * SH - PH, 0), h1 = min(oh * SH - PH + KH, H);
	__global const float *xp = x + xo + (size_t)plane * H * W;
	for (int ow = 0; ow < OW; ow++) {
		int w0 = max(ow * SW - PW, 0), w1 = min(ow * SW - PW + KW, W);
		float sum = 0.0f;
		for (int ih = h0; ih < h1; ih++)
			for (int iw = w0; iw < w1; iw++)
				sum += xp[ih * W + iw];
		int d = divisor(oh, ow, H, W, KH, KW, SH, SW, PH, PW, include_pad);
		y[yo + ((size_t)plane * OH + oh) * OW + ow] = sum / (float)d;
	}
}

/* One work-item per input row: dimension 0 over H, 1 over planes. */
__kernel void avgpool_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                               int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                               int OH, int OW, int include_pad)
{
	int ih = get_global_id(0), plane = get_global_id(1);
	if (ih >= H)
		return;
	int2 rh = covering(ih, KH, SH, PH, OH);
	__global const float *g = dy + dyo + (size_t)plane * OH * OW;
	__global float *out = dx + dxo + ((size_t)plane * H + ih) * W;
	for (int iw = 0; iw < W; iw++) {
		int2 rw = covering(iw, KW, SW, PW, OW);
		float sum = 0.0f;
		for (int oh = rh.x; oh < rh.y; oh++)
			for (int ow = rw.x; ow < rw.y; ow++)
				sum += g[oh * OW + ow] /
				       (float)divisor(oh, ow, H, W, KH, KW, SH, SW, PH, PW, include_pad);
		out[iw] = sum;
	}
}

/* y [planes] = mean of x [planes, S]; one work-item per plane. */
__kernel void global_avgpool_forward(__global float *y, ulong yo, __global const float *x,
                                     ulong xo, int S, int planes)
{
	int plane = get_global_id(0);
	if (plane >= planes)
		return;
	__global const float *xp = x + xo + (size_t)plane * S;
	float sum = 0.0f;
	for (int i = 0; i < S; i++)
		sum += xp[i];
	y[yo + plane] = sum / (float)S;
}

/* dx [planes, S] = dy [planes] / S; dimension 0 over S, 1 over planes. */
__kernel void global_avgpool_backward(__global float *dx, ulong dxo, __global const float *dy,
                                      ulong dyo, int S)
{
	int i = get_global_id(0), plane = get_global_id(1);
	if (i < S)
		dx[dxo + (size_t)plane * S + i] = dy[dyo + plane] / (float)S;
}
