/* fid.cl: the non-GEMM parts of the FID Inception-v3 forward pass
 * (libstream/fid/inception.c).  Buffers come as (pointer, offset in
 * elements).
 *
 * Activations are laid out channel-major across the batch, [C, B, H, W]:
 * row c of the matrix [C, B*H*W] holds channel c of every image, so a
 * convolution is one GEMM over all images (columns (b*OH + oh)*OW + ow),
 * a concatenation along channels is a range of rows, and a pooling works
 * on C*B planes of H x W exactly as on NCHW planes. */

/* Bilinear resize of gray frames to OH x OW as
 * torch.nn.functional.interpolate(mode='bilinear', align_corners=False)
 * (no antialiasing), then 2v - 1: x [N, H, W] -> y [N, OH, OW].
 * Dimension 0 over ow, 1 over n*OH + oh. */
__kernel void fid_resize(__global float *y, ulong yo, __global const float *x, ulong xo,
                         int H, int W, int OH, int OW, float sh, float sw)
{
	int ow = get_global_id(0), r = get_global_id(1);
	if (ow >= OW)
		return;
	int n = r / OH, oh = r - n * OH;
	float fy = max(sh * ((float)oh + 0.5f) - 0.5f, 0.0f);
	float fx = max(sw * ((float)ow + 0.5f) - 0.5f, 0.0f);
	int y0 = (int)fy, x0 = (int)fx;
	int y1 = y0 + (y0 < H - 1), x1 = x0 + (x0 < W - 1);
	float ly = fy - (float)y0, lx = fx - (float)x0;
	__global const float *p = x + xo + (size_t)n * H * W;
	float top = (1.0f - lx) * p[y0 * W + x0] + lx * p[y0 * W + x1];
	float bot = (1.0f - lx) * p[y1 * W + x0] + lx * p[y1 * W + x1];
	float v = (1.0f - ly) * top + ly * bot;
	y[yo + (size_t)r * OW + ow] = 2.0f * v - 1.0f;
}

/* Columns of output rows [r0, r0 + NR) of x [C, B, H, W]: output row
 * r = b*OH + oh; col [C*KH*KW, NR*OW], row (c*KH + kh)*KW + kw, column
 * (r - r0)*OW + ow holds x[c, b, oh*SH - PH + kh, ow*SW - PW + kw] (0 outside).
 * One work-item per row of OW columns, as the engine's im2col
 * (kernels/nn_conv.cl): on PoCL this ran 5-7x faster than one item per
 * column looping over the rows of col.  Dimension 0 over NR, 1 over
 * C*KH*KW. */
__kernel void fid_im2col(__global float *col, ulong co, __global const float *x, ulong xo,
                         int C, int B, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                         int OH, int OW, int r0, int NR)
{
	int r = get_global_id(0), k = get_global_id(1);
	if (r >= NR)
		return;
	int rr = r0 + r, b = rr / OH, oh = rr - b * OH;
	int KK = KH * KW, c = k / KK, rk = k - c * KK, kh = rk / KW, kw = rk - kh * KW;
	int ih = oh * SH - PH + kh, iw0 = kw - PW;
	__global float *out = col + co + (size_t)k * (size_t)NR * OW + (size_t)r * OW;
	int lo = 0, hi = 0;
	if (ih >= 0 && ih < H) {
		lo = iw0 >= 0 ? 0 : (SW - 1 - iw0) / SW;
		hi = W - 1 - iw0 < 0 ? 0 : (W - 1 - iw0) / SW + 1;
		hi = min(hi, OW);
		lo = min(lo, hi);
	}
	__global const float *in = x + xo + ((size_t)(c * B + b) * H + (size_t)max(ih, 0)) * W;
	for (int ow = 0; ow < lo; ow++)
		out[ow] = 0.0f;
	for (int ow = lo; ow < hi; ow++)
		out[ow] = in[ow * SW + iw0];
	for (int ow = hi; ow < OW; ow++)
		out[ow] = 0.0f;
}

/* y [OC, N] = max(y + b[oc], 0).  Dimension 0 over N, 1 over OC. */
__kernel void fid_bias_relu(__global float *y, ulong yo, __global const float *b, ulong bo, int N)
{
	int j = get_global_id(0), oc = get_global_id(1);
	if (j >= N)
		return;
	size_t i = yo + (size_t)oc * N + j;
	y[i] = max(y[i] + b[bo + oc], 0.0f);
}

/* 3 x 3 pooling of P planes x [P, H, W] -> y [P, OH, OW], stride S,
 * padding PD (outside the plane does not take part): maximum (fid_maxpool3)
 * or mean over the window's elements inside the plane (fid_avgpool3, as
 * avg_pool2d with count_include_pad=False).  One work-item per output
 * column of a plane, walking down its rows: neighbouring items read
 * neighbouring inputs, so PoCL vectorizes across them.  Dimension 0 over
 * OW, 1 over P. */
#define POOL3(NAME, INIT, ACC, OUT)                                                     \
__kernel void NAME(__global float *y, ulong yo, __global const float *x, ulong xo,      \
                   int H, int W, int OH, int OW, int S, int PD)                         \
{                                                                                       \
	int ow = get_global_id(0), p = get_global_id(1);                                \
	if (ow >= OW)                                                                   \
		return;                                                                 \
	__global const float *in = x + xo + (size_t)p * H * W;                          \
	__global float *out = y + yo + (size_t)p * OH * OW + ow;                        \
	int iw0 = ow * S - PD;                                                          \
	bool ok0 = iw0 >= 0, ok2 = iw0 + 2 < W;                                         \
	int c0 = max(iw0, 0), c1 = iw0 + 1, c2 = min(iw0 + 2, W - 1);                   \
	int ncol = 1 + ok0 + ok2;                                                       \
	for (int oh = 0; oh < OH; oh++) {                                               \
		int ih0 = oh * S - PD;                                                  \
		float acc = INIT;                                                       \
		int nrow = 0;                                                           \
		for (int ih = max(ih0, 0); ih < min(ih0 + 3, H); ih++) {                \
			__global const float *row = in + ih * W;                        \
			float v0 = row[c0], v1 = row[c1], v2 = row[c2];                 \
			ACC;                                                            \
			nrow++;                                                         \
		}                                                                       \
		out[oh * OW] = OUT;                                                     \
	}                                                                               \
}

POOL3(fid_maxpool3, -INFINITY,
      acc = max(acc, max(v1, max(ok0 ? v0 : -INFINITY, ok2 ? v2 : -INFINITY))), acc)
POOL3(fid_avgpool3, 0.0f,
      acc += (ok0 ? v0 : 0.0f) + v1 + (ok2 ? v2 : 0.0f), acc / (float)(nrow * ncol))
