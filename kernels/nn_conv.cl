/* nn_conv.cl: the non-GEMM parts of linear, conv2d and transposed conv2d
 * (libstream/nn/conv.c, linear.c): im2col / col2im, bias, and the direct
 * kernels for a convolution with one output channel.  Buffers come as
 * (pointer, offset in elements).
 *
 * Geometry (conv2d): x [B, C, H, W] -> y [B, OC, OH, OW], kernel KH x KW,
 * stride SH, SW, zero padding PH, PW.  Columns: col [C*KH*KW, columns], row
 * (c*KH + kh)*KW + kw holding x[g, c, oh*SH - PH + kh, ow*SW - PW + kw]
 * (0 outside the image) for the output pixel of the column.
 *
 * Work-item shape (as in every nn_*.cl): on a CPU device (PoCL) a work-item
 * pays for its own index arithmetic (integer divisions) and runs its loops
 * as written, so items get whole rows of contiguous work, and accumulate as
 * axpy (which vectorizes) rather than as dot products (which strict float
 * ordering keeps scalar).  Measured on PoCL: im2col went from 0.15 to 1.2-4
 * GB/s, the one-output-channel kernels 5x faster. */

/* Activation epilogues of the forward kernels (nn/ops.h NN_ACT_*): 0 none,
 * 1 ReLU (NaN stays NaN, as relu_forward), 2 LeakyReLU of the given slope,
 * with the formulas of nn_elementwise.cl, so a fused layer gives the bits
 * of the unfused pair. */
#define ACT_RELU 1
#define ACT_LEAKY 2

static float act1(float v, int act, float slope)
{
	if (act == ACT_RELU)
		return v > 0.0f || isnan(v) ? v : 0.0f;
	if (act == ACT_LEAKY)
		return v > 0.0f ? v : v * slope;
	return v;
}

static float16 act16(float16 v, int act, float slope)
{
	if (act == ACT_RELU)
		return select((float16)(0.0f), v, (v > 0.0f) | isnan(v));
	if (act == ACT_LEAKY)
		return select(v * slope, v, v > 0.0f);
	return v;
}

/* The sum of the 16 lanes. */
static float sum16(float16 v)
{
	float8 a = v.lo + v.hi;
	float4 b = a.lo + a.hi;
	float2 c = b.lo + b.hi;
	return c.x + c.y;
}

/* The output columns ow in [lo, hi) whose tap iw = ow*S + iw0 lies in
 * [0, W) (none when hi <= lo). */
static int2 valid_cols(int iw0, int S, int W, int OW)
{
	int lo = iw0 >= 0 ? 0 : (S - 1 - iw0) / S;
	int hi = W - 1 - iw0 < 0 ? 0 : (W - 1 - iw0) / S + 1;
	hi = min(hi, OW);
	return (int2)(min(lo, hi), hi);
}

/* Columns of a tile: images g < G (x points at the first) and output rows
 * [oh0, oh0 + NR); column g*NR*OW + (oh - oh0)*OW + ow.  A tile is either
 * whole images (oh0 = 0, NR = OH) or a band of rows of one image (G = 1).
 * One work-item per row of OW columns (per-item index arithmetic is what
 * costs on a CPU device): dimension 0 over the tile's G*NR output rows,
 * dimension 1 over C*KH*KW. */
__kernel void im2col(__global float *col, ulong co, __global const float *x, ulong xo,
                     int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                     int OH, int OW, int G, int oh0, int NR)
{
	int r = get_global_id(0), k = get_global_id(1);
	if (r >= G * NR)
		return;
	int g = r / NR, oh = oh0 + r - g * NR;
	int KK = KH * KW, c = k / KK, rk = k - c * KK, kh = rk / KW, kw = rk - kh * KW;
	int ih = oh * SH - PH + kh, iw0 = kw - PW;
	__global float *out = col + co + (size_t)k * (size_t)(G * NR * OW) + (size_t)r * OW;
	int2 v = (int2)(0, 0);
	if (ih >= 0 && ih < H)
		v = valid_cols(iw0, SW, W, OW);
	__global const float *in = x + xo + ((size_t)(g * C + c) * H + (size_t)max(ih, 0)) * W;
	for (int ow = 0; ow < v.x; ow++)
		out[ow] = 0.0f;
	for (int ow = v.x; ow < v.y; ow++)
		out[ow] = in[ow * SW + iw0];
	for (int ow = v.y; ow < OW; ow++)
		out[ow] = 0.0f;
}

/* The adjoint of im2col for a tile: dx[g, c, ih, iw] = the sum of the
 * tile's column entries that im2col took from it, for input rows
 * [ih0, ih0 + NI); assigned, or added when acc (tiles of row bands).
 * One work-item per input row: dimension 0 over NI rows, 1 over G*C. */
__kernel void col2im(__global float *dx, ulong xo, __global const float *col, ulong co,
                     int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                     int OH, int OW, int G, int oh0, int NR, int ih0, int NI, int acc)
{
	int i = get_global_id(0), gc = get_global_id(1);
	if (i >= NI)
		return;
	int ih = ih0 + i, g = gc / C, c = gc - g * C;
	size_t ld = (size_t)G * NR * OW;
	__global float *out = dx + xo + ((size_t)gc * H + ih) * W;
	if (!acc)
		for (int iw = 0; iw < W; iw++)
			out[iw] = 0.0f;
	for (int kh = 0; kh < KH; kh++) {
		int th = ih + PH - kh;
		if (th < 0 || th % SH)
			continue;
		int oh = th / SH - oh0;
		if (oh < 0 || oh >= NR)
			continue;
		for (int kw = 0; kw < KW; kw++) {
			int iw0 = kw - PW;
			int2 v = valid_cols(iw0, SW, W, OW);
			__global const float *src = col + co + (size_t)((c * KH + kh) * KW + kw) * ld +
			                            (size_t)(g * NR + oh) * OW;
			for (int ow = v.x; ow < v.y; ow++)
				out[ow * SW + iw0] += src[ow];
		}
	}
}

/* wf [C, OC, KH, KW] = w [OC, C, KH, KW] rotated by 180 degrees in the
 * kernel plane: the weights of the convolution that maps dy to dx for a
 * stride-1 conv2d.  One work-item per element of w. */
__kernel void flip_weights(__global float *wf, ulong fo, __global const float *w, ulong wo,
                           int OC, int C, int KH, int KW)
{
	int i = get_global_id(0);
	int KK = KH * KW;
	if (i >= OC * C * KK)
		return;
	int oc = i / (C * KK), r = i - oc * C * KK, c = r / KK, k = r - c * KK;
	int kh = k / KW, kw = k - kh * KW;
	wf[fo + ((size_t)(c * OC + oc) * KH + (KH - 1 - kh)) * KW + (KW - 1 - kw)] = w[wo + i];
}

/* y [rows = B*OC, S] = act(y + b[row % OC]) (b only if has_b): the bias and
 * the activation (if any) of a conv or linear output in one pass.  One
 * work-item per row. */
__kernel void bias_act(__global float *y, ulong yo, __global const float *b, ulong bo, int has_b,
                       int OC, int S, int rows, int act, float slope)
{
	int row = get_global_id(0);
	if (row >= rows)
		return;
	float v = has_b ? b[bo + row % OC] : 0.0f;
	__global float *p = y + yo + (size_t)row * S;
	for (int i = 0; i < S; i++)
		p[i] = act1(p[i] + v, act, slope);
}

/* A load and a store of 16 floats at any 4-byte alignment as one
 * instruction: with clang through a vector type of 4-byte alignment
 * (PoCL's vload16 and vstore16 of a global row came out as four 128-bit
 * pieces: conv_oc1_strips_5x5 1.83 against 1.99 ms median with them,
 * eight runs alternating; in T16_LOAD and T16_STORE, for SRCNN's 1x1
 * 64->32 at 128 x 33^2 conv_pointwise_weight_cl 3.54 against 3.88 ms
 * and the other kernels with tiles no slower, five runs), else vload16
 * and vstore16. */
#ifdef __clang__
typedef float f16u __attribute__((ext_vector_type(16), aligned(4)));
#define LD16U(p) (*(__global const f16u *)(p))
#define ST16U(v, p) (*(__global f16u *)(p) = (v))
#else
#define LD16U(p) vload16(0, (p))
#define ST16U(v, p) vstore16((v), 0, (p))
#endif

/* A prefetch hint: the compiler's where it has one (PoCL's clang turns
 * it into prefetcht0), else OpenCL's prefetch.  OT_HINT_L2 asks for the
 * line in L2 only (prefetcht1): in the kernels that stream planes from
 * memory while they compute.  On
 * an AMD EPYC VM, two threads running conv_oc1_weight64_3x3's loop over
 * 128 MiB with prefetcht0 4 KiB ahead read 11-13 GB/s, no faster than
 * without hints, and 22 GB/s with prefetcht1 (a C test; a plain read ran
 * at 24-26).  Kernel times, bench_conv, min / median of 8 to 10 runs
 * alternating with prefetcht0: G 64->1 forward 3.76 / 4.45 ms against
 * 4.54 / 5.57, weight gradient 3.51 / 4.11 against 4.32 / 5.68 (at batch
 * 8, from L3: 0.37 / 0.53 against 0.62 / 0.98); SRCNN's 5x5 strips 2.66 /
 * 3.09 against 3.50 / 4.54.  The 1x1 weight gradient's hints (its next
 * block of rows, from L3) and the 5x5 tile's at 256^2 gained nothing and
 * stay prefetcht0; see also CP_HINT and pwf_ahead. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_prefetch)
#define OT_HINT(p) __builtin_prefetch(p)
#define OT_HINT_L2(p) __builtin_prefetch(p, 0, 2)
#endif
#endif
#ifndef OT_HINT
#define OT_HINT(p) prefetch(p, 1)
#define OT_HINT_L2(p) prefetch(p, 1)
#endif

/* db [OC] += sum over B and S of dy [B, OC, S].  One work-item per output
 * channel, 16 lanes at a time into two vector accumulators (a work-group
 * of 64 with a tree in local memory took about 6 times as long on PoCL:
 * 484 against 76 us per call in srcnn train, TOMOGAN_CL_TIMING=1).  While
 * it sums a plane it asks for the same channel's plane of the next image
 * (into L2): a call for G 128->128 at 64 x 32^2 (33.5 MB) 4.0-5.9 -> 3.1-3.5
 * ms, for G 64->64 at 64 x 64^2 (67 MB) 5.3-6.5 -> 4.6-5.1 ms (bench_conv,
 * TOMOGAN_CL_TIMING=1, an AMD EPYC VM, 5 runs alternating); two images
 * ahead, 2.6-3.6 and 4.0-5.2 ms against 3.0-3.4 and 4.4-5.2, no clear
 * gain. */
__kernel void bias_grad(__global float *db, ulong dbo, __global const float *dy, ulong dyo, int B,
                        int OC, int S)
{
	int oc = get_global_id(0);
	if (oc >= OC)
		return;
	float16 a = (float16)(0.0f), c = (float16)(0.0f);
	float t = 0.0f;
	for (int b = 0; b < B; b++) {
		__global const float *p = dy + dyo + (size_t)(b * OC + oc) * S;
		__global const float *q = b + 1 < B ? p + (size_t)OC * S : p;
		int i = 0;
		for (; i + 32 <= S; i += 32) {
			OT_HINT_L2(q + i), OT_HINT_L2(q + i + 16);
			a += vload16(0, p + i);
			c += vload16(0, p + i + 16);
		}
		for (; i < S; i++)
			t += p[i];
	}
	db[dbo + oc] += sum16(a + c) + t;
}

/* ---- one output channel: a GEMV against the implicit columns ---- */

/* y [B, 1, OH, OW] = w [1, C, KH, KW] * x (+ b[0] if has_b).  One
 * work-item per output row, accumulating tap by tap into the row:
 * dimension 0 over OH, 1 over B. */
__kernel void conv_oc1_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                               __global const float *w, ulong wo, __global const float *b,
                               ulong bo, int has_b, int C, int H, int W, int KH, int KW,
                               int SH, int SW, int PH, int PW, int OH, int OW)
{
	int oh = get_global_id(0), n = get_global_id(1);
	if (oh >= OH)
		return;
	__global float *out = y + yo + ((size_t)n * OH + oh) * OW;
	float bias = has_b ? b[bo] : 0.0f;
	for (int ow = 0; ow < OW; ow++)
		out[ow] = bias;
	for (int c = 0; c < C; c++)
		for (int kh = 0; kh < KH; kh++) {
			int ih = oh * SH - PH + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *in = x + xo + ((size_t)(n * C + c) * H + ih) * W;
			for (int kw = 0; kw < KW; kw++) {
				int iw0 = kw - PW;
				int2 v = valid_cols(iw0, SW, W, OW);
				float wv = w[wo + (c * KH + kh) * KW + kw];
				for (int ow = v.x; ow < v.y; ow++)
					out[ow] += wv * in[ow * SW + iw0];
			}
		}
}

/* dx [B, C, H, W] = the adjoint of conv_oc1_forward applied to dy
 * [B, 1, OH, OW] (assigned).  One work-item per input row: dimension 0
 * over H, 1 over B*C. */
__kernel void conv_oc1_backward_data(__global float *dx, ulong dxo, __global const float *dy,
                                     ulong dyo, __global const float *w, ulong wo, int C, int H,
                                     int W, int KH, int KW, int SH, int SW, int PH, int PW,
                                     int OH, int OW)
{
	int ih = get_global_id(0), row = get_global_id(1);
	if (ih >= H)
		return;
	int n = row / C, c = row - n * C;
	__global float *out = dx + dxo + ((size_t)row * H + ih) * W;
	__global const float *g = dy + dyo + (size_t)n * OH * OW;
	for (int iw = 0; iw < W; iw++)
		out[iw] = 0.0f;
	for (int kh = 0; kh < KH; kh++) {
		int th = ih + PH - kh;
		if (th < 0 || th % SH)
			continue;
		int oh = th / SH;
		if (oh >= OH)
			continue;
		for (int kw = 0; kw < KW; kw++) {
			int iw0 = kw - PW;
			int2 v = valid_cols(iw0, SW, W, OW);
			float wv = w[wo + (c * KH + kh) * KW + kw];
			__global const float *src = g + oh * OW;
			for (int ow = v.x; ow < v.y; ow++)
				out[ow * SW + iw0] += wv * src[ow];
		}
	}
}

/* dw [1, C, KH, KW] += sum over B, OH, OW of dy * x at the tap.  One
 * work-item per weight k = (c, kh, kw); it accumulates per output column
 * into its row of acc [C*KH*KW, OW] (scratch) and adds the row up at the
 * end, so the inner loop is an axpy, which vectorizes, rather than a dot
 * product, which strict floating point keeps scalar. */
__kernel void conv_oc1_backward_weight(__global float *dw, ulong dwo, __global const float *dy,
                                       ulong dyo, __global const float *x, ulong xo,
                                       __global float *acc, ulong ao, int B, int C, int H, int W,
                                       int KH, int KW, int SH, int SW, int PH, int PW, int OH,
                                       int OW)
{
	int k = get_global_id(0);
	int KK = KH * KW;
	if (k >= C * KK)
		return;
	int c = k / KK, r = k - c * KK, kh = r / KW, kw = r - kh * KW;
	int iw0 = kw - PW;
	int2 v = valid_cols(iw0, SW, W, OW);
	__global float *a = acc + ao + (size_t)k * OW;
	for (int ow = 0; ow < OW; ow++)
		a[ow] = 0.0f;
	for (int b = 0; b < B; b++)
		for (int oh = 0; oh < OH; oh++) {
			int ih = oh * SH - PH + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *g = dy + dyo + ((size_t)b * OH + oh) * OW;
			__global const float *in = x + xo + ((size_t)(b * C + c) * H + ih) * W;
			for (int ow = v.x; ow < v.y; ow++)
				a[ow] += g[ow] * in[ow * SW + iw0];
		}
	float sum = 0.0f;
	for (int ow = 0; ow < OW; ow++)
		sum += a[ow];
	dw[dwo + k] += sum;
}

/* ---- shifted GEMMs (conv2d without columns, nn/conv.c) ----
 * The input of G images is copied into zero-padded, channel-major phase
 * planes xq [SH*SW, C, G, Hq, Wq]: row i', column j' of phase (rh, rw)
 * holds input row SH*(i' + qh0) + rh, column SW*(j' + qw0) + rw (qh0,
 * qw0 <= 0), so that every tap of the convolution is one GEMM over a
 * strided view of one phase. */

/* dst [SH*SW, C, G, Hd, Wd] = the phase planes of src [G, C, H, W], zeros
 * outside src.  With SH = SW = 1 and qh0 = -top, qw0 = -left this is src
 * placed at (top, left) in larger planes.  A work-item writes the rows
 * of one destination plane from row get_global_id(0) on, in steps of the
 * global size (nn/conv.c's launch_planes: one work-item per plane):
 * dimension 0 over the Hd rows, 1 over the SH*SW*C*G planes. */
static void embed_row(__global float *dst, ulong dso, __global const float *src, ulong sro,
                      int G, int C, int H, int W, int Hd, int Wd, int SH, int SW, int qh0, int qw0,
                      int r, int pl)
{
	int g = pl % G, c = (pl / G) % C, ph = pl / (G * C), rh = ph / SW, rw = ph - rh * SW;
	__global float *out = dst + dso + ((size_t)pl * Hd + r) * (size_t)Wd;
	int sr = SH * (r + qh0) + rh;
	if (sr < 0 || sr >= H) {
		for (int i = 0; i < Wd; i++)
			out[i] = 0.0f;
		return;
	}
	__global const float *in = src + sro + ((size_t)(g * C + c) * H + sr) * (size_t)W;
	/* columns j with 0 <= SW*(j + qw0) + rw < W */
	int lo = min(Wd, (SW - 1 - SW * qw0 - rw) / SW);
	int hi = W - 1 - rw < 0 ? lo : clamp((W - 1 - rw) / SW - qw0 + 1, lo, Wd);
	for (int i = 0; i < lo; i++)
		out[i] = 0.0f;
	if (SW == 1) {
		__global const float *p = in + qw0 + rw;
		for (int i = lo; i < hi; i++)
			out[i] = p[i];
	} else if (SW == 2) {
		/* pairs of input columns: phase rw takes the first or the second */
		__global const float *p = in + 2 * qw0;
		if (rw == 0)
			for (int i = lo; i < hi; i++)
				out[i] = vload2(i, p).s0;
		else
			for (int i = lo; i < hi; i++)
				out[i] = vload2(i, p).s1;
	} else {
		for (int i = lo; i < hi; i++)
			out[i] = in[SW * (i + qw0) + rw];
	}
	for (int i = hi; i < Wd; i++)
		out[i] = 0.0f;
}

__kernel void embed_phases(__global float *dst, ulong dso, __global const float *src, ulong sro,
                           int G, int C, int H, int W, int Hd, int Wd, int SH, int SW, int qh0,
                           int qw0)
{
	int pl = get_global_id(1);
	for (int r = get_global_id(0); r < Hd; r += get_global_size(0))
		embed_row(dst, dso, src, sro, G, C, H, W, Hd, Wd, SH, SW, qh0, qw0, r, pl);
}

/* dx [G, C, H, W] = the values of the phase planes xq [SH*SW, C, G, Hq, Wq]
 * at the positions embed_phases takes each input pixel from (0 for pixels
 * past the planes, which no output reads).  One work-item per row of dx:
 * dimension 0 over H, 1 over G*C. */
__kernel void gather_phases(__global float *dx, ulong dxo, __global const float *xq, ulong xqo,
                            int G, int C, int H, int W, int Hq, int Wq, int SH, int SW, int qh0,
                            int qw0)
{
	int ih = get_global_id(0), gc = get_global_id(1);
	if (ih >= H)
		return;
	int g = gc / C, c = gc - g * C;
	int rh = ih % SH, i = ih / SH - qh0;
	__global float *out = dx + dxo + ((size_t)gc * H + ih) * (size_t)W;
	if (i >= Hq) {
		for (int iw = 0; iw < W; iw++)
			out[iw] = 0.0f;
		return;
	}
	for (int rw = 0; rw < SW; rw++) {
		__global const float *in =
			xq + xqo + ((((size_t)(rh * SW + rw) * C + c) * G + g) * Hq + i) * (size_t)Wq;
		for (int iw = rw, j = -qw0; iw < W; iw += SW, j++)
			out[iw] = j < Wq ? in[j] : 0.0f;
	}
}

/* dst [G, OC, OH, OW] = the first OW columns of the output grid rows, plus
 * b [OC] when has_bias, through the activation act (act1): row oh of
 * channel oc of image i starts at src[i*si + oc*so + oh*Wq].  One
 * work-item per row of dst: dimension 0 over OH, 1 over G*OC. */
__kernel void extract_rows(__global float *dst, ulong dso, __global const float *src, ulong sro,
                           __global const float *b, ulong bo, int has_bias, int OC, int OH,
                           int OW, int Wq, ulong si, ulong so, int act, float slope)
{
	int r = get_global_id(0), p = get_global_id(1);
	if (r >= OH)
		return;
	int i = p / OC, oc = p - i * OC;
	__global const float *in = src + sro + i * si + oc * so + (size_t)r * Wq;
	__global float *out = dst + dso + ((size_t)p * OH + r) * (size_t)OW;
	float v = has_bias ? b[bo + oc] : 0.0f;
	for (int j = 0; j < OW; j++)
		out[j] = act1(in[j] + v, act, slope);
}

/* wt [KK, OC, C] = w [OC, C, KK] regrouped by tap; with flip, the weights
 * of the conv that maps dy to dx: wt [KK, C, OC], tap k holding tap
 * KK-1-k of w.  cmajor swaps the two channel dimensions of each tap
 * (wt [KK, C, OC], or [KK, OC, C] with flip: input channel before output
 * channel, as conv_planes_forward reads them).  One work-item per element
 * of w. */
__kernel void taps_major(__global float *wt, ulong wto, __global const float *w, ulong wo,
                         int OC, int C, int KK, int flip, int cmajor)
{
	int i = get_global_id(0);
	if (i >= OC * C * KK)
		return;
	int oc = i / (C * KK), r = i - oc * C * KK, c = r / KK, k = r - c * KK;
	/* the convolution the taps are for: its tap, output and input channel */
	int kt = flip ? KK - 1 - k : k, ot = flip ? c : oc, it = flip ? oc : c;
	int OT = flip ? C : OC, CT = flip ? OC : C;
	size_t j = cmajor ? ((size_t)kt * CT + it) * OT + ot : ((size_t)kt * OT + ot) * CT + it;
	wt[wto + j] = w[wo + i];
}

/* wt = w [OC, C, KK] by blocks of OB channels: blocks of output channels,
 * wt [ceil(OC / OB), C, KK, OB], or with over_c of input channels, wt
 * [ceil(C / OB), OC, KK, OB]; the channels past the last repeat it; with
 * flip, tap k holds w's tap KK-1-k (the conv of the data gradient).  The
 * weights that one work-item of conv_s1_forward or conv_s2_forward (or
 * conv_s2_data) takes per input (output) channel are then contiguous:
 * 288 (216) bytes where the [KK, OC, C] layout spread them over 9 cache
 * lines (conv_s2_data, bench_conv -l "D conv 3x3 s2 128->128",
 * TOMOGAN_CL_TIMING=1: 28.5 -> 16.8 ms a call).  One work-item per
 * element of wt. */
__kernel void taps_blocked(__global float *wt, ulong wto, __global const float *w, ulong wo,
                           int OC, int C, int KK, int OB, int over_c, int flip)
{
	int A = over_c ? C : OC, Bd = over_c ? OC : C, NB = (A + OB - 1) / OB;
	int i = get_global_id(0);
	if (i >= NB * Bd * KK * OB)
		return;
	int j = i % OB, r = i / OB, k = r % KK, q = r / KK, bd = q % Bd, ab = q / Bd;
	int a = min(ab * OB + j, A - 1);
	int oc = over_c ? bd : a, c = over_c ? a : bd;
	wt[wto + i] = w[wo + ((size_t)oc * C + c) * KK + (flip ? KK - 1 - k : k)];
}

/* dw [OC, C, KK] += dwt [KK, OC, C].  One work-item per element of dw. */
__kernel void taps_accumulate(__global float *dw, ulong dwo, __global const float *dwt,
                              ulong dto, int OC, int C, int KK)
{
	int i = get_global_id(0);
	if (i >= OC * C * KK)
		return;
	int oc = i / (C * KK), r = i - oc * C * KK, c = r / KK, k = r - c * KK;
	dw[dwo + i] += dwt[dto + ((size_t)k * OC + oc) * C + c];
}

/* ---- direct kernels for one input or one output channel ----
 * A convolution with C = 1 or OC = 1 is too thin for a GEMM (one of its
 * dimensions is 1) and, at 9-81 taps per pixel, too thick for axpy loops
 * that load and store their accumulator at every tap.  These kernels keep
 * 16 output columns per accumulator in a float16 (one AVX-512 register on
 * PoCL's CPU device), several accumulators per work-item in registers,
 * and read each input window once for all of them: a window of 16 input
 * columns feeds 16 output channels (conv_c1_forward), up to OC1_R output
 * rows (conv_oc1_rows) or a row of weight gradients (conv_*_weight).  A
 * window inside the row is one unaligned load (stride 1) or two and a
 * shuffle (stride 2) straight from the row; the columns of a vector that
 * crosses an image border are first staged, zero-padded, in a private
 * array t[STAGE] (stage), and its windows read from there.  nn/conv.c
 * sends only strides 1 and 2 with 15*S + KW <= 48 here (stage fills at
 * most 48 floats; a stride-2 window reads up to 16 past its start + 16,
 * hence the 64), and to the weight gradients kernels up to DIRECT_KMAX
 * (conv_c1_weight) or OC1W_K (conv_oc1_weight) wide.  Measured on PoCL
 * (bench_conv -d 0|1): SRCNN's 9x9 1->64 forward 2x, the 3x3 ones 4-7x, one-output-channel layers
 * 1.3-2x forward and 2.5x backward faster than the GEMM paths. */

#define OC1_R 8       /* output rows per work-item of conv_oc1_rows */
#define DIRECT_KMAX 5 /* widest kernel of conv_c1_weight (nn/conv.c) */
#define STAGE 64      /* floats of a staged row segment */

/* Lanes i < 16 of row[s + i], 0 outside [0, W), for a vector across an
 * end of the row: the 16 floats at that end are stored shifted into a
 * zeroed scratch array and read back (lane by lane only for rows narrower
 * than 16). */
static float16 edge16(__global const float *row, int W, int s)
{
	float u[48];
	vstore16((float16)(0.0f), 0, u);
	vstore16((float16)(0.0f), 0, u + 16);
	vstore16((float16)(0.0f), 0, u + 32);
	if (W >= 16 && s < 0) {          /* u[16 - s + j] = row[j] */
		vstore16(vload16(0, row), 0, u + 16 - s);
	} else if (W >= 16) {            /* u[W - s + j] = row[W - 16 + j] */
		vstore16(vload16(0, row + W - 16), 0, u + W - s);
	} else {
		for (int i = 0; i < 16; i++) {
			int j = s + i;
			u[16 + i] = j >= 0 && j < W ? row[j] : 0.0f;
		}
	}
	return vload16(0, u + 16);
}

/* t[0 .. 16*nc) = row[start ..], 0 outside [0, W). */
static void stage(float *t, __global const float *row, int W, int start, int nc)
{
	for (int k = 0; k < nc; k++) {
		int s = start + 16 * k;
		float16 v;
		if (s >= 0 && s + 16 <= W)
			v = vload16(0, row + s);
		else if (s >= W || s + 16 <= 0)
			v = (float16)(0.0f);
		else
			v = edge16(row, W, s);
		vstore16(v, 0, t + 16 * k);
	}
}

/* Chunks of 16 that stage must fill for 16 outputs of stride S, width KW. */
static int stage_chunks(int S, int KW)
{
	return (15 * S + KW + 15) / 16;
}

/* Lanes i < 16 of t[kw + i*S], S = 1 or 2. */
static float16 window(const float *t, int kw, int S)
{
	if (S == 1)
		return vload16(0, t + kw);
	float16 a = vload16(0, t + kw), b = vload16(0, t + kw + 16);
	return (float16)(a.even, b.even);
}

/* The same from the row itself, where all the lanes lie inside it
 * (interior): no staging, so no store-to-load round trip. */
static float16 window_g(__global const float *row, int s, int S)
{
	if (S == 1)
		return vload16(0, row + s);
	float16 a = vload16(0, row + s), b = vload16(0, row + s + 16);
	return (float16)(a.even, b.even);
}

/* Whether the windows kw < KW of a vector starting at column s lie inside
 * a row of W (window_g reads 16 or 32 floats from s + kw). */
static int interior(int s, int S, int KW, int W)
{
	return s >= 0 && s + (S == 1 ? 16 : 32) + KW - 1 <= W;
}

/* FOR_WINDOWS(row, s, S, KW, t, nc, v, body): body once per kw < KW with
 * v the window of tap kw, from the row or from t staged. */
#define FOR_WINDOWS(row, s, S, KW, t, nc, v, body)                                  \
	if (interior(s, S, KW, W)) {                                                \
		for (int kw = 0; kw < KW; kw++) {                                   \
			float16 v = window_g(row, s + kw, S);                       \
			body                                                        \
		}                                                                   \
	} else {                                                                    \
		stage(t, row, W, s, nc);                                            \
		for (int kw = 0; kw < KW; kw++) {                                   \
			float16 v = window(t, kw, S);                               \
			body                                                        \
		}                                                                   \
	}

/* The first n lanes (1 <= n) from p, zeros after. */
static float16 load16(__global const float *p, int n)
{
	if (n >= 16)
		return vload16(0, p);
	float t[16];
	for (int i = 0; i < 16; i++)
		t[i] = i < n ? p[i] : 0.0f;
	return vload16(0, t);
}

/* The first n lanes (1 <= n) of v to p. */
static void store16(__global float *p, int n, float16 v)
{
	if (n >= 16) {
		vstore16(v, 0, p);
		return;
	}
	float t[16];
	vstore16(v, 0, t);
	for (int i = 0; i < n; i++)
		p[i] = t[i];
}

/* Non-temporal stores of 16 aligned floats on x86 CPUs, where the compiler
 * has them (PoCL's clang: vmovntps); elsewhere NT_OK is 0 and NT_STORE16
 * a plain store.  No SFENCE per work-item: it waits for the stores to
 * reach memory and made the kernel below take 4.3 ms instead of 2.2 (1.6
 * without).  The stores are ordered before the kernel's completion by
 * the locked instructions with which the runtime's worker thread then
 * signals it (x86 drains write-combining buffers at a LOCK instruction).
 * NT_BYTES: outputs of at least half the L3 cache of the CPUs here (the
 * critic's stride-2 1->64 layer at batch 64 writes exactly that). */
#define NT_BYTES ((size_t)16 << 20)
/* The L3 cache of the CPUs here (32 MiB on the AMD EPYC VMs). */
#define L3_BYTES ((size_t)32 << 20)
#if defined(__has_builtin) && defined(__x86_64__)
#if __has_builtin(__builtin_nontemporal_store)
#define NT_OK 1
#define NT_STORE16(v, p) __builtin_nontemporal_store((v), (__global float16 *)(p))
#endif
#endif
#ifndef NT_OK
#define NT_OK 0
#define NT_STORE16(v, p) vstore16((v), 0, (p))
#endif
/* Whether a work-item of conv_c1_forward (or conv_c1_phases_forward)
 * writes its nl outputs at out of each of its 16 channel planes of `plane`
 * floats with non-temporal stores: whole aligned vectors, and an output of
 * NT_BYTES or more (dimension 2 of the launch: B times the blocks of 16
 * channels). */
#define C1_NT(out, nl, plane)                                                           \
	(NT_OK && (nl) == 16 && (((ulong)(out) | ((size_t)(plane) * 4)) & 63) == 0 &&    \
	 (size_t)get_global_size(2) * 16 * (plane) * 4 >= NT_BYTES)

/* The accumulators are named variables, not arrays: PoCL keeps a private
 * array indexed in a loop in memory even under #pragma unroll, which cost
 * a load and a store per FMA. */
#define C1_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
	X(13) X(14) X(15)
#define OC1_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
/* x += w * v and y += w * u with one weight w broadcast to both vectors
 * (two columns or two rows of a register block) */
#define FMA2(w, v, u, x, y)                                                         \
	{                                                                           \
		float16 w_ = (float16)(w);                                          \
		x = fma(w_, v, x);                                                  \
		y = fma(w_, u, y);                                                  \
	}

/* y [B, OC, OH, OW] = act(w * x (+ b if has_b)) for one input channel and many
 * output channels, the weights given by tap: wt [KH*KW, OC] (nn/conv.c's
 * taps_major of w [OC, 1, KH, KW]), plus 16 floats of slack.  A work-item
 * computes 16 columns of one output row for 16 channels (spare lanes read
 * the slack and are not stored); the weights of a tap for its 16 channels
 * are contiguous, so each FMA takes its weight as a broadcast operand.
 * The data gradient of a stride-1 conv with one output channel is this
 * kernel on dy, with the flipped weights and padding K-1-P.  Dimension 0
 * over the 16-column vectors of a row, 1 over OH, 2 over B times the
 * blocks of 16 channels. */
__kernel void conv_c1_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                              __global const float *wt, ulong wo, __global const float *b,
                              ulong bo, int has_b, int OC, int C, int H, int W, int KH, int KW,
                              int SH, int SW, int PH, int PW, int OH, int OW, int act,
                              float slope)
{
	int col0 = (int)get_global_id(0) * 16, oh = get_global_id(1), z = get_global_id(2);
	if (col0 >= OW || oh >= OH)
		return;
	int nob = (OC + 15) / 16;
	int n = z / nob, oc0 = (z - n * nob) * 16;
	int nc = stage_chunks(SW, KW);
	float t[STAGE];
#define C1_INIT(o) float16 a##o = (float16)(has_b ? b[bo + min(oc0 + o, OC - 1)] : 0.0f);
	C1_EACH(C1_INIT)
	for (int kh = 0; kh < KH; kh++) {
		int ih = oh * SH - PH + kh;
		if (ih < 0 || ih >= H)
			continue;
		__global const float *row = x + xo + ((size_t)n * H + ih) * W;
		__global const float *wk = wt + wo + (size_t)kh * KW * OC + oc0;
		int s = col0 * SW - PW;
		FOR_WINDOWS(row, s, SW, KW, t, nc, v, {
#define C1_FMA(o) a##o = fma((float16)(wk[kw * OC + o]), v, a##o);
			C1_EACH(C1_FMA)
		})
	}
	int nl = min(16, OW - col0);
	__global float *out = y + yo + ((size_t)(n * OC + oc0) * OH + oh) * OW + col0;
	/* An output of NT_BYTES or more goes past the caches where its
	 * vectors are whole and aligned (no read for ownership of lines it
	 * overwrites): the critic's 3x3 1->64 forward at 64 x 64^2 2.2 -> 1.6
	 * ms, and so the generator's 64->1 data gradient (bench_conv). */
	int nt = C1_NT(out, nl, OH * OW);
#define C1_STORE(o)                                                                 \
	if (oc0 + o < OC) {                                                         \
		if (nt)                                                             \
			NT_STORE16(act16(a##o, act, slope), out + (size_t)o * OH * OW); \
		else                                                                \
			store16(out + (size_t)o * OH * OW, nl, act16(a##o, act, slope)); \
	}
	C1_EACH(C1_STORE)
}

/* shuffle indices: lane i takes lane i - 1 of the second vector (lane 15
 * of the first at i = 0), or lane i + 1 of the first (lane 0 of the
 * second at i = 15) */
#define LANE_PREV 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
#define LANE_NEXT 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
/* The kw = 0 and 2 windows of a run of 4 vectors v0..v3 (64 columns):
 * p##j starts one column before v##j, n##j one after; lf and rt are
 * vectors whose lane 15 and lane 0 hold the columns either side of the
 * run. */
#define RUN4_WINDOWS(lf, rt)                                                              \
	float16 p0 = __builtin_shufflevector(lf, v0, LANE_PREV);                          \
	float16 p1 = __builtin_shufflevector(v0, v1, LANE_PREV);                          \
	float16 p2 = __builtin_shufflevector(v1, v2, LANE_PREV);                          \
	float16 p3 = __builtin_shufflevector(v2, v3, LANE_PREV);                          \
	float16 n0 = __builtin_shufflevector(v0, v1, LANE_NEXT);                          \
	float16 n1 = __builtin_shufflevector(v1, v2, LANE_NEXT);                          \
	float16 n2 = __builtin_shufflevector(v2, v3, LANE_NEXT);                          \
	float16 n3 = __builtin_shufflevector(v3, rt, LANE_NEXT);

/* The kw = 0 and 2 windows p0..p3 and n0..n3 of a row of exactly 64
 * columns whose vectors v0..v3 are loaded: unaligned loads inside the
 * row, lane shifts with zeros past its ends for the first and the last
 * (see conv_oc1_strip64_3x3). */
#define ROW64_WINDOWS(row)                                                              \
	float16 p0 = __builtin_shufflevector((float16)(0.0f), v0, LANE_PREV);           \
	float16 p1 = LD16U((row) + 15), p2 = LD16U((row) + 31), p3 = LD16U((row) + 47); \
	float16 n0 = LD16U((row) + 1), n1 = LD16U((row) + 17), n2 = LD16U((row) + 33);  \
	float16 n3 = __builtin_shufflevector(v3, (float16)(0.0f), LANE_NEXT);

/* conv_c1_forward for 3x3 kernels, stride 1, padding 1, on rows a
 * multiple of 16 wide (the critic's 1->64 layer at 64x64, and so the
 * generator's 64->1 data gradient): a work-item computes one output row
 * for 4 channels, in chunks of up to 4 vectors (64 columns).  Per input
 * row of a chunk, its vectors are loaded aligned (0 past the row: only
 * a last chunk has fewer than 4) and the kw = 0 and 2 windows made by
 * lane shifts (LANE_PREV, LANE_NEXT) with the columns either side of the
 * chunk (0 past the row), 4 weight broadcasts per tap
 * feeding 16 FMAs.  Each channel's row is stored as one run of up to 256
 * bytes: non-temporal stores written 64 bytes at a time to each of 16
 * planes ran at 31 GB/s here, in runs of 4 lines at 43 (a test program
 * writing 64 MiB with two threads), and conv_c1_forward writes 16
 * planes 64 bytes at a time.  The taps are summed in conv_c1_forward's
 * order (bias, then kh, kw).  wt [9, OC] as for conv_c1_forward, OC a
 * multiple of 4.  A work-item takes a band of R rows (c1_s1_row for
 * each): one row each left the FMAs partly outside the time of the
 * stores (the critic's 1->64 forward at 64 x 64^2 2.72-3.19 ms, against
 * 2.49-2.69 in bands of 4 and 2.49-2.79 of 8, and 2.5-2.7 for its stores
 * alone; TOMOGAN_CL_TIMING=1, four runs alternating).  Dimension 0 over
 * the blocks of 4 output channels, 1 over the bands, 2 over B. */
/* (also the 4 accumulators of the narrow forms below) */
#define S4_EACH(X) X(0) X(1) X(2) X(3)
#define S4_EACH_OJ(X) X(0, 0) X(0, 1) X(0, 2) X(0, 3) X(1, 0) X(1, 1) X(1, 2) X(1, 3) \
	X(2, 0) X(2, 1) X(2, 2) X(2, 3) X(3, 0) X(3, 1) X(3, 2) X(3, 3)
static void c1_s1_row(__global float *y, ulong yo, __global const float *x, ulong xo,
                      __global const float *wt, ulong wo, __global const float *b, ulong bo,
                      int has_b, int OC, int H, int W, int act, int narrow, float slope,
                      int oc0, int oh, int n)
{
	size_t plane = (size_t)H * W;
	__global const float *xp = x + xo + (size_t)n * plane;
	__global float *out = y + yo + ((size_t)(n * OC + oc0) * H + oh) * W;
	int nt = NT_OK && (((ulong)out | (plane * 4)) & 63) == 0 &&
	         (size_t)get_global_size(2) * OC * plane * 4 >= NT_BYTES;
	/* narrow vectors (AVX2): one vector of columns at a time, 4
	 * accumulators and its 3 windows (the 16 and 12 of a chunk spill
	 * there), the same sums */
	for (int c0 = 0; narrow && c0 < W; c0 += 16) {
#define S4N_INIT(o) float16 a##o = (float16)(has_b ? b[bo + oc0 + o] : 0.0f);
		S4_EACH(S4N_INIT)
		for (int kh = 0; kh < 3; kh++) {
			int ih = oh - 1 + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *row = xp + (size_t)ih * W + c0;
			float16 v = vload16(0, row);
			float16 pv = __builtin_shufflevector((float16)(c0 > 0 ? row[-1] : 0.0f), v,
			                                     LANE_PREV);
			float16 nx = __builtin_shufflevector(v, (float16)(c0 + 16 < W ? row[16] : 0.0f),
			                                     LANE_NEXT);
			__global const float *wk = wt + wo + (size_t)kh * 3 * OC + oc0;
#define S4N_TAP(o)                                                                        \
	a##o = fma((float16)(wk[o]), pv, a##o);                                           \
	a##o = fma((float16)(wk[OC + o]), v, a##o);                                       \
	a##o = fma((float16)(wk[2 * OC + o]), nx, a##o);
			S4_EACH(S4N_TAP)
		}
#define S4N_STORE(o)                                                                      \
	{                                                                                 \
		__global float *q_ = out + (size_t)o * plane + c0;                        \
		if (nt)                                                                   \
			NT_STORE16(act16(a##o, act, slope), q_);                          \
		else                                                                      \
			vstore16(act16(a##o, act, slope), 0, q_);                         \
	}
		S4_EACH(S4N_STORE)
	}
	for (int c0 = 0; !narrow && c0 < W; c0 += 64) {
		int nv = min(4, (W - c0) / 16);
#define S4_INIT(o, j) float16 a##o##j = (float16)(has_b ? b[bo + oc0 + o] : 0.0f);
		S4_EACH_OJ(S4_INIT)
		for (int kh = 0; kh < 3; kh++) {
			int ih = oh - 1 + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *row = xp + (size_t)ih * W + c0;
			float16 left = (float16)(c0 > 0 ? row[-1] : 0.0f);
			float16 right = (float16)(c0 + 16 * nv < W ? row[16 * nv] : 0.0f);
#define S4_LOAD(j) float16 v##j = j < nv ? vload16(j, row) : (float16)(0.0f);
			S4_EACH(S4_LOAD)
			RUN4_WINDOWS(left, right)
			__global const float *wk = wt + wo + (size_t)kh * 3 * OC + oc0;
#define S4_TAP(o, j)                                                                      \
	a##o##j = fma((float16)(wk[o]), p##j, a##o##j);                                   \
	a##o##j = fma((float16)(wk[OC + o]), v##j, a##o##j);                              \
	a##o##j = fma((float16)(wk[2 * OC + o]), n##j, a##o##j);
			S4_EACH_OJ(S4_TAP)
		}
#define S4_STORE(o, j)                                                                    \
	if (j < nv) {                                                                     \
		__global float *q_ = out + (size_t)o * plane + c0 + 16 * j;               \
		if (nt)                                                                   \
			NT_STORE16(act16(a##o##j, act, slope), q_);                       \
		else                                                                      \
			vstore16(act16(a##o##j, act, slope), 0, q_);                      \
	}
		S4_EACH_OJ(S4_STORE)
	}
}

__kernel void conv_c1_s1_forward(__global float *y, ulong yo, __global const float *x,
                                 ulong xo, __global const float *wt, ulong wo,
                                 __global const float *b, ulong bo, int has_b, int OC, int H,
                                 int W, int R, int act, int narrow, float slope)
{
	int oc0 = (int)get_global_id(0) * 4, oh0 = (int)get_global_id(1) * R;
	int n = get_global_id(2);
	if (oc0 >= OC)
		return;
	for (int oh = oh0; oh < min(H, oh0 + R); oh++)
		c1_s1_row(y, yo, x, xo, wt, wo, b, bo, has_b, OC, H, W, act, narrow, slope, oc0, oh,
		          n);
}

/* Lanes i < 16 of p[j + i], 0 outside [0, n) (n >= 16): one plain load
 * inside, edge16 across an end. */
static float16 flat16(__global const float *p, int j, int n)
{
	if (j >= 0 && j + 16 <= n)
		return vload16(0, p + j);
	if (j >= n || j + 16 <= 0)
		return (float16)(0.0f);
	return edge16(p, n, j);
}

/* conv_c1_forward for stride 1 and OW == W (padding (KW-1)/2 across), with
 * the output plane taken as one flat row of OH*OW floats: a work-item
 * computes 16 consecutive outputs of the plane (across row ends) for 16
 * channels.  Tap (kh, kw) of output i is input i + (kh-PH)*W + kw-PW, one
 * load for the 16 (flat16, zero outside the plane: rows above and below
 * the image), and the lanes whose column ow + kw - PW falls outside [0, W)
 * are then zeroed by a select (they read the end of the row before or the
 * start of the row after).  On 33-wide planes (SRCNN's 33x33 training
 * windows) the row-wise kernel fills 33 of every 48 lanes, this one 1089
 * of 1104, and needs no zero-padded copy of x.  The taps are summed in
 * conv_c1_forward's order.  Dimension 0 over the vectors of a plane, 1 of
 * size 1, 2 over B times the blocks of 16 channels. */
__kernel void conv_c1_flat_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                                   __global const float *wt, ulong wo, __global const float *b,
                                   ulong bo, int has_b, int OC, int H, int W, int KH, int KW,
                                   int PH, int PW, int OH, int act, float slope)
{
	int P = OH * W, XP = H * W;
	int i0 = (int)get_global_id(0) * 16, z = get_global_id(2);
	if (i0 >= P)
		return;
	int nob = (OC + 15) / 16;
	int n = z / nob, oc0 = (z - n * nob) * 16;
	/* the lanes' columns: one division (a remainder per lane took 16
	 * divisions, 17% of the kernel's perf samples) */
	int16 col = (int16)(i0 % W) + (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	col = W >= 16 ? select(col, col - (int16)(W), col >= (int16)(W)) : col % (int16)(W);
	__global const float *plane = x + xo + (size_t)n * XP;
	C1_EACH(C1_INIT)
	for (int kh = 0; kh < KH; kh++) {
		__global const float *wk = wt + wo + (size_t)kh * KW * OC + oc0;
		int j0 = i0 + (kh - PH) * W - PW;
		for (int kw = 0; kw < KW; kw++) {
			uint16 c = convert_uint16(col + (int16)(kw - PW));
			float16 v = select((float16)(0.0f), flat16(plane, j0 + kw, XP), c < (uint16)(W));
			C1_EACH(C1_FMA)
		}
	}
	int nl = min(16, P - i0);
	__global float *out = y + yo + (size_t)(n * OC + oc0) * P + i0;
	int nt = C1_NT(out, nl, P);
#define C1F_STORE(o)                                                                \
	if (oc0 + o < OC) {                                                         \
		if (nt)                                                             \
			NT_STORE16(act16(a##o, act, slope), out + (size_t)o * P);   \
		else                                                                \
			store16(out + (size_t)o * P, nl, act16(a##o, act, slope));  \
	}
	C1_EACH(C1F_STORE)
}

/* y [B, OC2, OH, OW] = act(w2 * act(w1 * x + b1) + b2): a stride-1 conv
 * with one input channel (w1t [KH*KW, OC1], taps_major, + 16 floats of
 * slack) and a 1x1 conv after it (w2t [OC1, OC2], + 16 floats of slack),
 * SRCNN 9-1-5's first two layers, in one pass: the OC1 channels of the
 * first conv for a work-item's 32 columns stay in a private array (8 KiB
 * at OC1 = 64, in the L1 cache) and never go to global memory, which
 * saves writing and reading back 4*OC1 bytes per pixel.  Both convs run
 * in blocks of 8 channels over two vectors of 16 columns: per tap (or
 * input channel of the 1x1 conv) two vector loads and 8 weight
 * broadcasts feed 16 FMAs (one vector and 16 channels took 17 loads for
 * 16 FMAs, and srcnn apply's 256-wide frames 2.63 ms each against 2.32).
 * Each output is summed as conv_c1_forward (bias, then the taps in order)
 * and conv_pointwise_forward (bias, then the input channels in order) sum it,
 * so the output is bit for bit that of the two kernels.  OC1 <= PAIR_C
 * and both OC1 and OC2 multiples of 16 (nn_conv2d_pair_fits).
 * Dimension 0 over the 32-column blocks of a row, 1 over OH, 2 over B. */
#define PAIR_C 64
#define PAIR_COLS 32
#define PR_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
__kernel void conv_c1_pair_forward(__global float *y, ulong yo, __global const float *x,
                                   ulong xo, __global const float *w1t, ulong w1o,
                                   __global const float *b1, ulong b1o, int has_b1,
                                   __global const float *w2t, ulong w2o,
                                   __global const float *b2, ulong b2o, int has_b2, int OC1,
                                   int OC2, int H, int W, int KH, int KW, int PH, int PW, int OH,
                                   int OW, int act, float slope)
{
	int col0 = (int)get_global_id(0) * PAIR_COLS, oh = get_global_id(1), n = get_global_id(2);
	if (col0 >= OW || oh >= OH)
		return;
	int nc = stage_chunks(1, KW + 16); /* 32 outputs: 31 + KW floats */
	float t[STAGE];
	float16 h[2 * PAIR_C];
	for (int oc0 = 0; oc0 < OC1; oc0 += 8) {
#define PR1_INIT(o) float16 a##o = (float16)(has_b1 ? b1[b1o + oc0 + o] : 0.0f), \
	c##o = a##o;
		PR_EACH(PR1_INIT)
		for (int kh = 0; kh < KH; kh++) {
			int ih = oh - PH + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *row = x + xo + ((size_t)n * H + ih) * W;
			__global const float *wk = w1t + w1o + (size_t)kh * KW * OC1 + oc0;
			int s = col0 - PW;
#define PR1_FMA(o) FMA2(wk[kw * OC1 + o], v, u, a##o, c##o)
			if (s >= 0 && s + 31 + KW <= W) {
				for (int kw = 0; kw < KW; kw++) {
					float16 v = vload16(0, row + s + kw);
					float16 u = vload16(0, row + s + 16 + kw);
					PR_EACH(PR1_FMA)
				}
			} else {
				stage(t, row, W, s, nc);
				for (int kw = 0; kw < KW; kw++) {
					float16 v = vload16(0, t + kw), u = vload16(0, t + 16 + kw);
					PR_EACH(PR1_FMA)
				}
			}
		}
#define PR1_KEEP(o)                                                                 \
	h[2 * (oc0 + o)] = act16(a##o, act, slope);                                 \
	h[2 * (oc0 + o) + 1] = act16(c##o, act, slope);
		PR_EACH(PR1_KEEP)
	}
	int nl = min(16, OW - col0), nu = OW - col0 - 16;
	for (int oc0 = 0; oc0 < OC2; oc0 += 8) {
#define PR2_INIT(o) float16 a##o = (float16)(has_b2 ? b2[b2o + oc0 + o] : 0.0f), \
	c##o = a##o;
		PR_EACH(PR2_INIT)
		__global const float *wk = w2t + w2o + oc0;
		for (int c = 0; c < OC1; c++, wk += OC2) {
			float16 v = h[2 * c], u = h[2 * c + 1];
#define PR2_FMA(o) FMA2(wk[o], v, u, a##o, c##o)
			PR_EACH(PR2_FMA)
		}
		__global float *out = y + yo + ((size_t)(n * OC2 + oc0) * OH + oh) * OW + col0;
#define PR2_STORE(o)                                                                \
	store16(out + (size_t)o * OH * OW, nl, act16(a##o, act, slope));            \
	if (nu > 0)                                                                 \
		store16(out + (size_t)o * OH * OW + 16, nu, act16(c##o, act, slope));
		PR_EACH(PR2_STORE)
	}
}

/* y [G, OC, OH, OW] = act(w * x (+ b if has_b)) from x already in phase
 * planes xq [SH*SW, C, G, Hq, Wq] (embed_phases, zero-padded; nn/conv.c's
 * shift_plan): the window of 16 output columns at tap (kh, kw) is 16
 * consecutive floats of one phase plane (row oh + qh - qh0 from column
 * col0 + qw - qw0), so every input vector is one unaligned load and no
 * border is ever checked.  A work-item computes 16 columns of R output
 * rows (R = 2 in conv_planes_forward, 3 in conv_planes_forward3) for 8
 * output channels (8R accumulators), looping over the taps and, inside,
 * over the input channels; per input channel it loads R vectors and 8
 * weight broadcasts for 8R FMAs (with one row and 16 channels, 17 loads
 * for 16 FMAs, it ran 15-20% slower; three rows, 11 loads for 24 FMAs,
 * run 5-10% faster than two where OH wastes few rows: nn/conv.c's
 * planes_rows).  nn/conv.c sends it convolutions of up to 128 input
 * channels only: with 256 and 512 (the 256x256 generator) it reached
 * half the GEMMs' speed, also with the channels in blocks of 16-64 per
 * pass over the taps.  The weights wt [KH*KW, C, OC] (+ 16 floats of
 * slack) of a tap and input channel are
 * contiguous over the output channels.  Lanes past OW read up to 15
 * floats past their row and are not stored, nor are rows past OH, whose
 * loads run up to two rows past the plane (xq has 2*Wq + 16 floats of
 * slack).  Dimension 0 over the blocks of 8 output channels, 1 over the
 * 16-column vectors of a row, 2 over G times the groups of R rows: the
 * blocks that read the same input run one after the other (for SRCNN's
 * 1x1 conv, which this kernel then ran on its input in place, a third
 * less time than with the blocks outermost: srcnn apply,
 * TOMOGAN_CL_TIMING=1). */
/* floor(a / b) for b > 0, any sign of a (nn/conv.c's floordiv). */
static int floor_div(int a, int b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

#define PL8_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define PL8_INIT(o) float16 a##o = (float16)(has_b ? b[bo + min(oc0 + o, OC - 1)] : 0.0f); \
	float16 b##o = a##o;
#define PL8_FMA(o) FMA2(wk[o], v, u, a##o, b##o)
/* R rows (2 or 3): the third row's accumulators c0..c7 and vector t are
 * dead code at R = 2 */
#define PLR_INIT(o) PL8_INIT(o) float16 c##o = a##o;
#define PLR_FMA(o)                                                                  \
	{                                                                           \
		float16 w_ = (float16)(wk[o]);                                      \
		a##o = fma(w_, v, a##o);                                            \
		b##o = fma(w_, u, b##o);                                            \
		if (R > 2)                                                          \
			c##o = fma(w_, t, c##o);                                    \
	}
#define PLR_STORE(o)                                                                 \
	if (oc0 + o < OC) {                                                          \
		__global float *q = out + (size_t)o * OH * OW;                       \
		store16(q, nl, act16(a##o, act, slope));                             \
		if (oh + 1 < OH)                                                     \
			store16(q + OW, nl, act16(b##o, act, slope));                 \
		if (R > 2 && oh + 2 < OH)                                            \
			store16(q + 2 * OW, nl, act16(c##o, act, slope));             \
	}
#define CONV_PLANES_FORWARD(NAME, ROWS)                                                  \
__kernel void NAME(__global float *y, ulong yo, __global const float *xq, ulong xqo,     \
                   __global const float *wt, ulong wo, __global const float *b, ulong bo,  \
                   int has_b, int OC, int C, int G, int KH, int KW, int SH, int SW, int PH, \
                   int PW, int qh0, int qw0, int Hq, int Wq, int OH, int OW, int act,       \
                   float slope)                                                          \
{                                                                                        \
	const int R = ROWS;                                                              \
	int oc0 = (int)get_global_id(0) * 8, col0 = (int)get_global_id(1) * 16;          \
	int z = get_global_id(2), nrp = (OH + R - 1) / R;                                \
	int g = z / nrp, oh = (z - g * nrp) * R;                                         \
	if (col0 >= OW || oc0 >= OC)                                                     \
		return;                                                                  \
	size_t pl = (size_t)Hq * Wq, cs = (size_t)G * pl;                                \
	PL8_EACH(PLR_INIT)                                                               \
	for (int kh = 0; kh < KH; kh++) {                                                \
		int qh = floor_div(kh - PH, SH), rh = kh - PH - qh * SH;                 \
		for (int kw = 0; kw < KW; kw++) {                                        \
			int qw = floor_div(kw - PW, SW), rw = kw - PW - qw * SW;         \
			__global const float *p = xq + xqo + (size_t)(rh * SW + rw) * C * cs + \
			                          (size_t)g * pl +                       \
			                          (size_t)(oh + qh - qh0) * Wq +         \
			                          (col0 + qw - qw0);                     \
			__global const float *wk =                                       \
				wt + wo + (size_t)(kh * KW + kw) * C * OC + oc0;         \
			for (int c = 0; c < C; c++, p += cs, wk += OC) {                 \
				float16 v = vload16(0, p), u = vload16(0, p + Wq);       \
				float16 t = R > 2 ? vload16(0, p + 2 * Wq) : v;          \
				PL8_EACH(PLR_FMA)                                        \
			}                                                                \
		}                                                                        \
	}                                                                                \
	int nl = min(16, OW - col0);                                                     \
	__global float *out = y + yo + ((size_t)(g * OC + oc0) * OH + oh) * OW + col0;   \
	PL8_EACH(PLR_STORE)                                                              \
}
CONV_PLANES_FORWARD(conv_planes_forward, 2)
CONV_PLANES_FORWARD(conv_planes_forward3, 3)

/* y [B, OC, OH, OW] = act(w * x (+ b if has_b)) for a 3x3 conv of stride 2
 * and padding 1 straight from x [B, C, H, W] with W = 2*OW and OW a
 * multiple of 16 (nn/conv.c's s2_direct_ok), without the copy into phase
 * planes that conv_planes_forward needs.  Output columns col0..col0+15 of
 * kernel row kh read input columns 2*col0 - 1 + kw + 2j: the 32 floats
 * from 2*col0, two aligned loads, hold kw = 1 in their even lanes and
 * kw = 2 in their odd ones, and kw = 0 is kw = 2 moved up a lane behind
 * column 2*col0 - 1 (0 at col0 = 0): three two-source shuffles (one
 * vpermt2ps each; OpenCL's .even/.odd and shuffle2 compiled to 4-20
 * instructions) per input row for the 24 FMAs of its 3 taps and 8
 * channels.  A work-item computes 16 columns of two output rows for 8
 * output channels, as conv_planes_forward; input rows outside the image
 * contribute nothing.  Three rows (24 accumulators and 9 vectors) spilled
 * and ran slower: bench_conv -l "D conv 3x3 s2 64->64", TOMOGAN_CL_TIMING=1,
 * 31.6 ms a forward against 23.3-24.2 for two rows, or 25.3 with the rows'
 * FMAs one row after another.  The weights wt [ceil(OC / 8), C, 9, 8]
 * (taps_blocked; with conv_planes_forward's [9, C, OC] the forward took
 * about as long: 23.3-24.2 ms against 23.0, and 19.0 both for "D conv
 * 3x3 s2 128->128").  Dimension 0 over the blocks of 8 output channels,
 * 1 over the 16-column vectors of a row, 2 over B times the pairs of
 * rows. */
#define S2_ROW(v, ok, p) S2_ROW_AT(v, ok, p, col0 > 0)
/* the same where hl says whether column p[-1] lies inside the row.  Its
 * loads by LD16U, as those of conv_c1_weight_3x3_phases (CP_FMA): against
 * vload16 no change measured (bench_conv -l "D conv 3x3",
 * TOMOGAN_CL_TIMING=1, six runs alternating: conv_s2_forward 20.9-23.5
 * against 20.9-24.4 ms, conv_c1_weight_3x3_phases 2.19-3.02 against
 * 2.18-3.05) */
#define S2_ROW_AT(v, ok, p, hl)                                                      \
	float16 v##1, v##2, v##0;                                                    \
	if (ok) {                                                                    \
		float16 A_ = LD16U(p), B_ = LD16U(p + 16);                           \
		v##1 = __builtin_shufflevector(A_, B_, 0, 2, 4, 6, 8, 10, 12, 14, 16, \
		                               18, 20, 22, 24, 26, 28, 30);          \
		v##2 = __builtin_shufflevector(A_, B_, 1, 3, 5, 7, 9, 11, 13, 15, 17, \
		                               19, 21, 23, 25, 27, 29, 31);          \
		v##0 = __builtin_shufflevector((float16)((hl) ? p[-1] : 0.0f), v##2, \
		                               LANE_PREV);                           \
	} else {                                                                     \
		v##0 = v##1 = v##2 = (float16)(0.0f);                                \
	}
#define S2_TAP(kw)                                                                   \
	{                                                                            \
		__global const float *wk = wc + (kw) * 8;                            \
		float16 v = e##kw, u = f##kw, t = v;                                 \
		PL8_EACH(PLR_FMA)                                                    \
	}
__kernel void conv_s2_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                              __global const float *wt, ulong wo, __global const float *b,
                              ulong bo, int has_b, int OC, int C, int H, int W, int OH, int OW,
                              int act, float slope)
{
	const int R = 2;
	int oc0 = (int)get_global_id(0) * 8, col0 = (int)get_global_id(1) * 16;
	int z = get_global_id(2), nrp = (OH + 1) / 2;
	int n = z / nrp, oh = (z - n * nrp) * 2;
	if (col0 >= OW || oc0 >= OC)
		return;
	size_t plane = (size_t)H * W;
	PL8_EACH(PLR_INIT)
	for (int kh = 0; kh < 3; kh++) {
		int i0 = 2 * oh + kh - 1, i1 = i0 + 2;
		int ok0 = i0 >= 0 && i0 < H, ok1 = i1 < H;
		__global const float *p0 = x + xo + (size_t)n * C * plane + 2 * col0;
		__global const float *p1 = p0 + (size_t)(ok1 ? i1 : 0) * W;
		p0 += (size_t)(ok0 ? i0 : 0) * W;
		__global const float *wc = wt + wo + (size_t)oc0 * C * 9 + kh * 24;
		for (int c = 0; c < C; c++, p0 += plane, p1 += plane, wc += 72) {
			S2_ROW(e, ok0, p0)
			S2_ROW(f, ok1, p1)
			S2_TAP(0)
			S2_TAP(1)
			S2_TAP(2)
		}
	}
	int nl = 16;
	__global float *out = y + yo + ((size_t)(n * OC + oc0) * OH + oh) * OW + col0;
	PL8_EACH(PLR_STORE)
}

/* y [B, OC, H, W] = act(w * x (+ b if has_b)) for a 3x3 conv of stride 1
 * and padding 1 (OH = H, OW = W) straight from x [B, C, H, W] with W a
 * multiple of 16 (nn/conv.c's s1_direct_ok), without the padded copy
 * that conv_planes_forward reads.  A work-item computes 16 columns of two
 * output rows oh, oh + 1 for 8 output channels from the four input rows
 * oh - 1 .. oh + 2: per input channel, each row is one aligned load, and
 * its kw = 0 and kw = 2 vectors the same moved a lane (the columns beyond
 * the vector, col0 - 1 and col0 + 16, read as scalars; 0 outside the
 * image), so 4 loads, 8 scalars and 8 two-source shuffles serve 144 FMAs
 * (conv_planes_forward3: 27 unaligned loads, most across two cache
 * lines, for 216).  The weights wt [ceil(OC / 8), C, 9, 8]
 * (taps_blocked).  Dimension 0 over the blocks of 8 output channels, 1
 * over the 16-column vectors of a row, 2 over B times the pairs of rows. */
#define S1_ROW(v, ok, p)                                                             \
	float16 v##0, v##1, v##2;                                                    \
	if (ok) {                                                                    \
		v##1 = vload16(0, p);                                                \
		v##0 = __builtin_shufflevector((float16)(hl ? p[-1] : 0.0f), v##1,   \
		                               LANE_PREV);                           \
		v##2 = __builtin_shufflevector(v##1, (float16)(hr ? p[16] : 0.0f),   \
		                               LANE_NEXT);                           \
	} else {                                                                     \
		v##0 = v##1 = v##2 = (float16)(0.0f);                                \
	}
/* tap (kh, kw): output row oh reads input row oh + kh - 1, oh + 1 the next */
#define S1_TAP(kh, kw, top, bottom)                                                  \
	{                                                                            \
		__global const float *wk = wc + ((kh) * 3 + (kw)) * 8;               \
		float16 v = top##kw, u = bottom##kw, t = v;                          \
		PL8_EACH(PLR_FMA)                                                    \
	}
#define S1_KH(kh, top, bottom) S1_TAP(kh, 0, top, bottom) S1_TAP(kh, 1, top, bottom) \
	S1_TAP(kh, 2, top, bottom)
__kernel void conv_s1_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                              __global const float *wt, ulong wo, __global const float *b,
                              ulong bo, int has_b, int OC, int C, int H, int W, int OH, int OW,
                              int act, float slope)
{
	const int R = 2;
	int oc0 = (int)get_global_id(0) * 8, col0 = (int)get_global_id(1) * 16;
	int z = get_global_id(2), nrp = (H + 1) / 2;
	int n = z / nrp, oh = (z - n * nrp) * 2;
	if (col0 >= W || oc0 >= OC)
		return;
	int hl = col0 > 0, hr = col0 + 16 < W;
	int ok0 = oh >= 1, ok2 = oh + 1 < H, ok3 = oh + 2 < H;
	size_t plane = (size_t)H * W;
	__global const float *p1 = x + xo + (size_t)n * C * plane + (size_t)oh * W + col0;
	__global const float *p0 = ok0 ? p1 - W : p1, *p2 = ok2 ? p1 + W : p1;
	__global const float *p3 = ok3 ? p1 + 2 * W : p1;
	__global const float *wc = wt + wo + (size_t)oc0 * C * 9;
	PL8_EACH(PLR_INIT)
	for (int c = 0; c < C; c++, p0 += plane, p1 += plane, p2 += plane, p3 += plane,
	                       wc += 72) {
		S1_ROW(e, ok0, p0)
		S1_ROW(f, 1, p1)
		S1_ROW(g, ok2, p2)
		S1_ROW(h, ok3, p3)
		S1_KH(0, e, f)
		S1_KH(1, f, g)
		S1_KH(2, g, h)
	}
	int nl = 16;
	__global float *out = y + yo + ((size_t)(n * OC + oc0) * OH + oh) * OW + col0;
	PL8_EACH(PLR_STORE)
}

/* dx [B, C, H, W] = the data gradient of the 3x3 conv of stride 2 and
 * padding 1 that conv_s2_forward runs (W = 2*OW, OW a multiple of 16; H
 * is 2*OH or 2*OH - 1), from dy [B, OC, OH, OW] and the weights by blocks
 * of SD_CB input channels, wt [ceil(C / SD_CB), OC, 9, SD_CB]
 * (taps_blocked with over_c), in one pass without phase planes.  Pixel
 * (2i + a, 2j + b) takes dy (i, j) through tap (1 + a, 1 + b), and for
 * a = 1 or b = 1 also dy (i + 1, j) through (0, 1 + b) and dy (i, j + 1)
 * through (1 + a, 0), and dy (i + 1, j + 1) through (0, 0) at a = b = 1:
 * nine taps for the four pixels (2i..2i+1, 2j..2j+1).  A work-item
 * computes 16 such cells (32 columns of two rows) for SD_CB channels: per
 * output channel of the conv, the vectors dy (i, j0..), its next column
 * (a lane shift), and the same of row i + 1 feed 9*SD_CB FMAs, 4*SD_CB
 * accumulators, whose even and odd columns are interleaved on the store.
 * Channels past C take the last one's weights and are not stored.
 * Dimension 0 over the blocks of SD_CB channels, 1 over the 16-column
 * vectors of a dy row, 2 over B times OH. */
#define SD_CB 6
#define SD_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define SD_INIT(j)                                                                  \
	float16 ee##j = (float16)(0.0f), eo##j = ee##j, oe##j = ee##j, oo##j = ee##j;
#define SD_W(k, j) (float16)(wk[(k) * SD_CB + j])
#define SD_FMA(j)                                                                   \
	ee##j = fma(SD_W(4, j), a, ee##j);                                          \
	eo##j = fma(SD_W(5, j), a, eo##j);                                          \
	eo##j = fma(SD_W(3, j), an, eo##j);                                         \
	oe##j = fma(SD_W(7, j), a, oe##j);                                          \
	oe##j = fma(SD_W(1, j), b, oe##j);                                          \
	oo##j = fma(SD_W(8, j), a, oo##j);                                          \
	oo##j = fma(SD_W(6, j), an, oo##j);                                         \
	oo##j = fma(SD_W(2, j), b, oo##j);                                          \
	oo##j = fma(SD_W(0, j), bn, oo##j);
#define SD_LO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define SD_HI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define SD_STORE(j)                                                                 \
	if (c0 + j < C) {                                                           \
		__global float *q = out + (size_t)j * H * W;                        \
		vstore16(__builtin_shufflevector(ee##j, eo##j, SD_LO), 0, q);       \
		vstore16(__builtin_shufflevector(ee##j, eo##j, SD_HI), 0, q + 16);  \
		if (odd) {                                                          \
			vstore16(__builtin_shufflevector(oe##j, oo##j, SD_LO), 0, q + W); \
			vstore16(__builtin_shufflevector(oe##j, oo##j, SD_HI), 0,   \
			         q + W + 16);                                       \
		}                                                                   \
	}
__kernel void conv_s2_data(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                           __global const float *wt, ulong wo, int OC, int C, int H, int W,
                           int OH, int OW)
{
	int c0 = (int)get_global_id(0) * SD_CB, j0 = (int)get_global_id(1) * 16;
	int z = get_global_id(2), n = z / OH, i = z - n * OH;
	if (c0 >= C || j0 >= OW)
		return;
	/* row i + 1 and column j0 + 16 of dy, where they exist */
	int down = i + 1 < OH, right = j0 + 16 < OW, odd = 2 * i + 1 < H;
	size_t dpl = (size_t)OH * OW;
	__global const float *d0 = dy + dyo + (size_t)n * OC * dpl + (size_t)i * OW + j0;
	__global const float *d1 = d0 + (down ? OW : 0);
	__global const float *wk = wt + wo + (size_t)c0 * OC * 9;
	SD_EACH(SD_INIT)
	for (int oc = 0; oc < OC; oc++, d0 += dpl, d1 += dpl, wk += 9 * SD_CB) {
		float16 a = vload16(0, d0), b = (float16)(0.0f);
		float16 an = __builtin_shufflevector(a, (float16)(right ? d0[16] : 0.0f), LANE_NEXT);
		float16 bn = b;
		if (down) {
			b = vload16(0, d1);
			bn = __builtin_shufflevector(b, (float16)(right ? d1[16] : 0.0f), LANE_NEXT);
		}
		SD_EACH(SD_FMA)
	}
	__global float *out = dx + dxo + ((size_t)(n * C + c0) * H + 2 * i) * W + 2 * j0;
	SD_EACH(SD_STORE)
}

/* y [B, OC, S] = act(w * x (+ b if has_b)) for a 1x1 conv (stride 1, no
 * padding) of x [B, C, S], S = H*W taken as one row per channel, the
 * weights wt [C, OC] (+ 16 floats of slack).  A work-item computes 8
 * output channels for PWF_RUNS runs of 48 pixels of one image: per run
 * and input channel, 3 vector loads and 8 weight broadcasts for 24 FMAs
 * (conv_planes_forward3's loop without the rows: the vectors do not stop
 * at the end of an image row, so SRCNN's 33x33 windows fill 23 runs
 * where rows of 16 columns took 51 with a third of the lanes idle; runs
 * of 32 pixels, 2 loads and 8 broadcasts for 16 FMAs, took 10% longer
 * there, bench_conv -l "SRCNN conv 1x1", forward 3.3-3.5 against
 * 2.9-3.0 ms, and the same at 256x256).  The
 * accumulators start from the bias and take the input channels in order.
 * The last run of an image reads and stores only its own pixels, so
 * nothing past the tensors is read.  Per batch, one launch: at SRCNN's
 * 16 x 32^2 training batches this replaced 16 launches or GEMMs per
 * image (srcnn train, TOMOGAN_CL_TIMING=1).  Dimension 0 over the blocks
 * of 8 output channels, 1 over the groups of PWF_RUNS runs, 2 over B. */
#define PWF_RUNS 4
/* Where the run at xp of the work-item at pixel p0 of image n asks for
 * lines ahead (PWF_RUN): the same run of the next work-item's pixels, or
 * of the next image's first work-item after an image's last (the last
 * image's: xp itself).  The 4 work-items over the blocks of output
 * channels read the same lines, so the one that reads them from memory
 * has them in L2 ahead of it.  Without hints the work-items stalled on
 * memory: at 128 x 33^2, 64->32 and its data gradient 32->64 (bench_conv
 * -l "SRCNN conv 1x1 64->32, 128", TOMOGAN_CL_TIMING=1, an AMD EPYC VM)
 * the mean of the two launches went from 6.75 / 7.71 ms (min / median
 * of 8 runs alternating) to 4.12 / 4.52, and at 4 x 256^2 from 10.98 /
 * 11.66 to 7.54 / 8.61; the layers' fwd+bwd from 71-104 to 120-126
 * GFLOP/s against sgemm's 148-175 (three runs each).  Other forms, in
 * sets of 5 or 6 runs with this one: hints one run ahead, 5.5-7.8 ms;
 * into L1, 5.0-6.0, and two work-items ahead, 4.7-5.2, against 4.3-7.0;
 * each work-item asking at the start of a run for a quarter of the next
 * one's channels, 5.3-6.4 against 4.7-5.4. */
static __global const float *pwf_ahead(__global const float *xp, int p0, int S, int C, int n)
{
	if (p0 + 48 * PWF_RUNS < S)
		return xp + 48 * PWF_RUNS;
	return n + 1 < (int)get_global_size(2) ? xp - p0 + (size_t)C * S : xp;
}
/* The accumulators a0..c7 (PLR_INIT) of the run of 48 pixels at xp for
 * the weights at wk, its vectors' pixel counts n0, n1, n2 (none when
 * n0 <= 0); xp and wk are advanced.  A whole run asks, per input
 * channel, for the 3 lines at pf (pwf_ahead) into L2, pf advanced too. */
#define PWF_RUN(xp, wk, pf)                                                              \
	PL8_EACH(PLR_INIT)                                                               \
	if (n2 == 16) {                                                                  \
		for (int c = 0; c < C; c++, xp += S, wk += OC) {                         \
			float16 v = vload16(0, xp), u = vload16(0, xp + 16);             \
			float16 t = vload16(0, xp + 32);                                 \
			OT_HINT_L2(pf), OT_HINT_L2(pf + 16), OT_HINT_L2(pf + 32);        \
			pf += S;                                                         \
			PL8_EACH(PLR_FMA)                                                \
		}                                                                        \
	} else if (n0 > 0) {                                                             \
		for (int c = 0; c < C; c++, xp += S, wk += OC) {                         \
			float16 v = load16(xp, n0);                                      \
			float16 u = n1 > 0 ? load16(xp + 16, n1) : (float16)(0.0f);      \
			float16 t = n2 > 0 ? load16(xp + 32, n2) : (float16)(0.0f);      \
			PL8_EACH(PLR_FMA)                                                \
		}                                                                        \
	}

/* The non-temporal form of conv_pointwise_forward's work-item, for
 * outputs of NT_BYTES or more.  Its planes of S floats start anywhere in a
 * 64-byte line (SRCNN's 33x33 planes: S = 1089, one float past a line),
 * and a vector stored across two lines cannot be non-temporal.  So in
 * each plane the work-item owns whole lines: the 12 that start at the
 * plane's first line boundary at or after pixel p0 - 16 (p0 = 192 * its
 * index), each of which takes the last 16 - t lanes of one computed
 * vector and the first t of the next (t: the plane's offset from that
 * boundary).  It computes the vectors of its 4 runs of 48 pixels from p0
 * as conv_pointwise_forward does and, before them, the one at p0 - 16,
 * carried in k0..k7 as each run carries its last vector to the next: 13
 * vectors of FMAs for 12 stored (8% more).  Lines that reach past the
 * plane (its first and last, shared with the planes beside it) are
 * written by masked stores of the plane's pixels only.
 *
 * At 128 x 33^2, 64->32 and its data gradient 32->64 (bench_conv -l
 * "SRCNN conv 1x1 64->32, 128", TOMOGAN_CL_TIMING=1) the plain stores
 * took 3.3-3.5 and 5.9-6.3 ms; vectors stored where they were computed,
 * non-temporal where whole in a line and masked where not (a tenth of
 * them, at every work-item's ends), 3.0-3.4 and 3.5-4.1 ms.  By whole
 * lines (this form), the mean of the two launches fell from 4.0-4.4 to
 * 3.1-3.3 ms and the layer's fwd+bwd rose from 137-154 to 183-194
 * GFLOP/s, three runs alternating with the plain stores. */
#define IOTA16 (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#if defined(__AVX512F__) && defined(__has_builtin)
#if __has_builtin(__builtin_ia32_vpermi2varps512) && __has_builtin(__builtin_ia32_storeups512_mask)
#define LINES_AVX512 1
#endif
#endif

/* Lanes t..15 of a then 0..t-1 of b (0 <= t < 16).  OpenCL's shuffle2
 * with a mask known only at run time compiled to a lane-by-lane loop. */
static float16 lanes_from(float16 a, float16 b, int t)
{
#ifdef LINES_AVX512
	return __builtin_ia32_vpermi2varps512(a, (int16)(t) + IOTA16, b);
#else
	float s[32];
	vstore16(a, 0, s);
	vstore16(b, 1, s);
	return vload16(0, s + t);
#endif
}

/* v to the line of 16 floats at q + a (64-byte aligned), its lanes of
 * pixels [0, S) only. */
static void line_store(__global float *q, int a, int S, float16 v)
{
	if (a >= 0 && a + 16 <= S) {
		NT_STORE16(v, q + a);
		return;
	}
	int lo = max(0, -a), hi = min(16, S - a);
	if (lo >= hi)
		return;
#ifdef LINES_AVX512
	/* masked lanes are not touched, whatever lies there */
	__builtin_ia32_storeups512_mask(q + a, v,
	                                (ushort)(((1u << hi) - 1u) & ~((1u << lo) - 1u)));
#else
	float s[16];
	vstore16(v, 0, s);
	for (int i = lo; i < hi; i++)
		q[a + i] = s[i];
#endif
}

static void pointwise_lines(__global float *y, ulong yo, __global const float *x, ulong xo,
                            __global const float *wt, ulong wo, __global const float *b,
                            ulong bo, int has_b, int OC, int C, int S, int act, float slope,
                            int oc0, int n, int p0)
{
	const int R = 3;
	__global float *out = y + yo + ((size_t)n * OC + oc0) * S;
	__global const float *x0 = x + xo + (size_t)n * C * S;
	/* the vector at p0 - 16 */
#define PWL_K(o) float16 k##o = (float16)(0.0f);
	PL8_EACH(PWL_K)
	if (p0 > 0) {
		int nk = min(16, S - (p0 - 16));
		__global const float *xp = x0 + p0 - 16;
		__global const float *wk = wt + wo + oc0;
		PL8_EACH(PL8_INIT)
		for (int c = 0; c < C; c++, xp += S, wk += OC) {
			float16 v = load16(xp, nk);
#define PWL_FMA1(o) a##o = fma((float16)(wk[o]), v, a##o);
			PL8_EACH(PWL_FMA1)
		}
#define PWL_K_SET(o) k##o = act16(a##o, act, slope);
		PL8_EACH(PWL_K_SET)
	}
	for (int r = 0; r < PWF_RUNS; r++) {
		int p = p0 + 48 * r;
		if (p - 16 >= S)
			break;
		int n0 = min(16, S - p), n1 = min(16, S - p - 16), n2 = min(16, S - p - 32);
		__global const float *xp = x0 + p;
		__global const float *wk = wt + wo + oc0;
		__global const float *pf = pwf_ahead(xp, p0, S, C, n);
		PWF_RUN(xp, wk, pf)
		/* (p >= S: only the line from k holds pixels of the plane) */
#define PWL_STORE(o)                                                                     \
	if (oc0 + o < OC) {                                                              \
		__global float *q = out + (size_t)o * S;                                 \
		int t = (int)((16u - ((uint)((ulong)q >> 2) & 15u)) & 15u);               \
		float16 u = act16(a##o, act, slope), v = act16(b##o, act, slope);       \
		float16 w = act16(c##o, act, slope);                                     \
		line_store(q, p - 16 + t, S, lanes_from(k##o, u, t));                    \
		line_store(q, p + t, S, lanes_from(u, v, t));                            \
		line_store(q, p + 16 + t, S, lanes_from(v, w, t));                       \
		k##o = w;                                                                \
	}
		PL8_EACH(PWL_STORE)
	}
}

__kernel void conv_pointwise_forward(__global float *y, ulong yo, __global const float *x,
                                     ulong xo, __global const float *wt, ulong wo,
                                     __global const float *b, ulong bo, int has_b, int OC, int C,
                                     int S, int act, float slope)
{
	const int R = 3;
	int oc0 = (int)get_global_id(0) * 8, n = get_global_id(2);
	int p0 = (int)get_global_id(1) * 48 * PWF_RUNS;
	if (oc0 >= OC)
		return;
	if (NT_OK && (size_t)get_global_size(2) * OC * S * 4 >= NT_BYTES) {
		pointwise_lines(y, yo, x, xo, wt, wo, b, bo, has_b, OC, C, S, act, slope, oc0, n,
		                p0);
		return;
	}
	for (int r = 0; r < PWF_RUNS; r++) {
		int p = p0 + 48 * r;
		if (p >= S)
			break;
		int n0 = min(16, S - p), n1 = min(16, S - p - 16), n2 = min(16, S - p - 32);
		__global const float *xp = x + xo + (size_t)n * C * S + p;
		__global const float *wk = wt + wo + oc0;
		__global const float *pf = pwf_ahead(xp, p0, S, C, n);
		PWF_RUN(xp, wk, pf)
		__global float *out = y + yo + ((size_t)n * OC + oc0) * S + p;
#define PWF_STORE(o)                                                                 \
	if (oc0 + o < OC) {                                                          \
		store16(out + (size_t)o * S, n0, act16(a##o, act, slope));            \
		if (n1 > 0)                                                          \
			store16(out + (size_t)o * S + 16, n1, act16(b##o, act, slope)); \
		if (n2 > 0)                                                          \
			store16(out + (size_t)o * S + 32, n2, act16(c##o, act, slope)); \
	}
		PL8_EACH(PWF_STORE)
	}
}

/* conv_pointwise_forward for narrow vectors (AVX2, 16 registers of 8
 * floats): the same work-items (8 output channels, PWF_RUNS runs of 48
 * pixels of an image) and the same sums in the same order, but per run 4
 * output channels by 16 pixels at a time, 4 float16 accumulators (8
 * registers), so that nothing spills: the run's inputs, 48 pixels of C
 * channels, stay in L1 for its 6 passes.  conv_pointwise_forward holds 24
 * float16, 48 registers there.  Plain stores.  The same launch. */
__kernel void conv_pointwise_narrow(__global float *y, ulong yo, __global const float *x,
                                    ulong xo, __global const float *wt, ulong wo,
                                    __global const float *b, ulong bo, int has_b, int OC, int C,
                                    int S, int act, float slope)
{
	int oc0 = (int)get_global_id(0) * 8, n = get_global_id(2);
	int p0 = (int)get_global_id(1) * 48 * PWF_RUNS;
	if (oc0 >= OC)
		return;
	__global const float *xn = x + xo + (size_t)n * C * S;
	for (int r = 0; r < PWF_RUNS; r++) {
		int p = p0 + 48 * r;
		if (p >= S)
			break;
		__global const float *pf = pwf_ahead(xn + p, p0, S, C, n);
		for (int h = oc0; h < oc0 + 8 && h < OC; h += 4)
			for (int j = p; j < p + 48 && j < S; j += 16) {
				int nj = min(16, S - j);
				__global const float *xp = xn + j;
				__global const float *wk = wt + wo + h;
#define PWN_INIT(o) float16 a##o = (float16)(has_b ? b[bo + min(h + o, OC - 1)] : 0.0f);
				S4_EACH(PWN_INIT)
				if (nj == 16) {
					int hint = h == oc0 && j == p;
					for (int c = 0; c < C; c++, xp += S, wk += OC) {
						float16 v = vload16(0, xp);
						if (hint) {
							OT_HINT_L2(pf), OT_HINT_L2(pf + 16), OT_HINT_L2(pf + 32);
							pf += S;
						}
#define PWN_FMA(o) a##o = fma((float16)(wk[o]), v, a##o);
						S4_EACH(PWN_FMA)
					}
				} else {
					for (int c = 0; c < C; c++, xp += S, wk += OC) {
						float16 v = load16(xp, nj);
						S4_EACH(PWN_FMA)
					}
				}
				__global float *out = y + yo + ((size_t)n * OC + h) * S + j;
#define PWN_STORE(o)                                                                 \
	if (h + o < OC)                                                              \
		store16(out + (size_t)o * S, nj, act16(a##o, act, slope));
				S4_EACH(PWN_STORE)
			}
	}
}

/* y [B, 1, OH, OW] = w [1, C, KH, KW] * x (+ b[0] if has_b): a work-item
 * computes 16 columns of OC1_R output rows.  When all its windows lie
 * inside the image (stride 1), it loops over the taps and, per tap, loads
 * one window per output row (one weight, OC1_R loads and FMAs, no
 * branches); otherwise each input row is read once and each window feeds
 * every output row whose kernel covers it, staged at the borders.  The
 * first way took SRCNN's 5x5 32->1 layer from about 50 to 75 GFLOP/s
 * (srcnn apply, TOMOGAN_CL_TIMING=1): the second tests per FMA whether
 * the row is covered.  nn/conv.c sends here what conv_oc1_tile_KxK and
 * conv_oc1_band do not take: strides other than 1, and kernels other than
 * 3x3 and 5x5 on rows wider than 64.  Dimension
 * 0 over the 16-column vectors of a row, 1 over bands of OC1_R rows, 2
 * over B. */
__kernel void conv_oc1_rows(__global float *y, ulong yo, __global const float *x, ulong xo,
                            __global const float *w, ulong wo, __global const float *b, ulong bo,
                            int has_b, int C, int H, int W, int KH, int KW, int SH, int SW,
                            int PH, int PW, int OH, int OW)
{
	int col0 = (int)get_global_id(0) * 16, oh0 = (int)get_global_id(1) * OC1_R;
	int n = get_global_id(2);
	if (col0 >= OW || oh0 >= OH)
		return;
	float bias = has_b ? b[bo] : 0.0f;
	float t[STAGE];
#define OC1_INIT(q) float16 a##q = (float16)bias;
	OC1_EACH(OC1_INIT)
	int KK = KH * KW, nr = (OC1_R - 1) * SH + KH, nc = stage_chunks(SW, KW);
	int ih0 = oh0 * SH - PH, s0 = col0 * SW - PW;
	int inside = SH == 1 && SW == 1 && ih0 >= 0 && ih0 + nr <= H && interior(s0, 1, KW, W);
	if (inside) {
		/* all windows inside the image: per tap one weight and one
		 * window per output row */
		for (int c = 0; c < C; c++) {
			__global const float *p0 = x + xo + ((size_t)(n * C + c) * H + ih0) * W + s0;
			__global const float *wc = w + wo + (size_t)c * KK;
			for (int kh = 0; kh < KH; kh++, p0 += W) {
				for (int kw = 0; kw < KW; kw++) {
					float16 wv = (float16)(wc[kh * KW + kw]);
					__global const float *p = p0 + kw;
#define OC1_FAST(q) a##q = fma(wv, vload16(0, p + q * W), a##q);
					OC1_EACH(OC1_FAST)
				}
			}
		}
	}
	for (int c = 0; c < C && !inside; c++) {
		__global const float *plane = x + xo + (size_t)(n * C + c) * H * W;
		__global const float *wc = w + wo + (size_t)c * KK;
		for (int r = 0; r < nr; r++) {
			int ih = oh0 * SH - PH + r;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *row = plane + (size_t)ih * W;
			int s = col0 * SW - PW;
			FOR_WINDOWS(row, s, SW, KW, t, nc, v, {
#define OC1_FMA(q)                                                                  \
	if (r - q * SH >= 0 && r - q * SH < KH)                                     \
		a##q = fma((float16)(wc[(r - q * SH) * KW + kw]), v, a##q);
				OC1_EACH(OC1_FMA)
			})
		}
	}
	int nl = min(16, OW - col0);
	__global float *out = y + yo + ((size_t)n * OH + oh0) * OW + col0;
#define OC1_STORE(q)                                                                \
	if (oh0 + q < OH)                                                           \
		store16(out + (size_t)q * OW, nl, a##q);
	OC1_EACH(OC1_STORE)
}

/* The window of 16 columns of a row starting at column s, zero outside
 * [0, W), as one load and a mask where it crosses a border: for rows
 * whose load stays inside the plane (window_masked checks; a row with
 * rows before and after it in a plane wider than 22 always does for
 * kernels up to 5 wide). */
static float16 window_mid(__global const float *row, int s, int W)
{
	if (s >= 0 && s + 16 <= W)
		return vload16(0, row + s);
	int16 col = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + s;
	return select((float16)(0.0f), vload16(0, row + s), col >= 0 && col < W);
}

/* The window of 16 columns of a row starting at column s, zero outside
 * [0, W) (stride 1).  A vector across a left or right border is read
 * straight from the plane when it stays inside it (lanes in the
 * neighbouring rows masked), else through edge16.  ih: the row's index in
 * its plane of H rows. */
static float16 window_masked(__global const float *row, int ih, int s, int W, int H)
{
	int inside = s >= 0 && s + 16 <= W, e = ih * W + s;
	if (!inside && (s >= W || s + 16 <= 0))
		return (float16)(0.0f);
	if (!inside && (e < 0 || e + 16 > H * W))
		return edge16(row, W, s);
	return window_mid(row, s, W);
}

/* load16(p, n) where room floats from p may be read. */
/* The floats from p to end, up to 16 (load16_room's room). */
static int room16(__global const float *p, __global const float *end)
{
	return end - p < 16 ? (int)(end - p) : 16;
}

static float16 load16_room(__global const float *p, int n, int room)
{
	if (n >= 16)
		return vload16(0, p);
	if (room < 16)
		return load16(p, n);
	int16 i = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	return select((float16)(0.0f), vload16(0, p), i < n);
}

/* y [B, 1, OH, OW] = w [1, C, KH, KW] * x (+ b[0] if has_b), stride 1: a
 * work-item computes a band of up to BAND_R output rows of up to 64
 * columns (4 vectors), its sums kept in a private array (L1), and walks the
 * input channel by channel, each channel's rows of the band in order, so
 * that it reads whole row segments one after the other, the way the
 * prefetchers follow (conv_oc1_rows reads 16 columns of 8 rows of every
 * channel per work-item, and waited on memory for most of its time: 11 ms
 * for the generator's 64->1 layer at 64 x 64^2, against 3.7 here).  On
 * rows wider than 64 conv_oc1_rows, whose windows then mostly lie inside
 * the image, is faster (SRCNN's 5x5 32->1 layer on a 256 x 256 frame: 1.6
 * against 2.9 ms), and nn/conv.c sends those there; 3x3 and 5x5 kernels
 * go to conv_oc1_tile_KxK at any width.  Each input row segment
 * adds, four vectors at a time (four independent FMA chains), its KW
 * windows into the sums of the output rows whose kernel covers it.
 * Dimension 0 unused (1), 1 over bands of BAND_R rows, 2 over B. */
#define BAND_R 64     /* rows of a band (nn/conv.c's BAND_ROWS); 4 vectors each */
__kernel void conv_oc1_band(__global float *y, ulong yo, __global const float *x, ulong xo,
                            __global const float *w, ulong wo, __global const float *b, ulong bo,
                            int has_b, int C, int H, int W, int KH, int KW, int SH, int SW,
                            int PH, int PW, int OH, int OW)
{
	int oh0 = (int)get_global_id(1) * BAND_R, n = get_global_id(2);
	int nv = (OW + 15) / 16, nq = min(BAND_R, OH - oh0);   /* nv <= 4 */
	if (nq <= 0)
		return;
	float16 acc[BAND_R * 4];
	float16 bias = (float16)(has_b ? b[bo] : 0.0f);
	for (int i = 0; i < BAND_R * 4; i++)
		acc[i] = bias;
	int KK = KH * KW, ih0 = oh0 - PH;
	for (int c = 0; c < C; c++) {
		__global const float *plane = x + xo + (size_t)(n * C + c) * H * W;
		__global const float *wc = w + wo + (size_t)c * KK;
		for (int r = 0; r < nq + KH - 1; r++) {
			int ih = ih0 + r;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *row = plane + (size_t)ih * W;
			int qlo = max(0, r - KH + 1), qhi = min(nq - 1, r);
			for (int q = qlo; q <= qhi; q++) {
				__global const float *wk = wc + (r - q) * KW;
				float16 *a = acc + q * 4;
				float16 t0 = a[0], t1 = a[1], t2 = a[2], t3 = a[3];
				for (int kw = 0; kw < KW; kw++) {
					float16 wv = (float16)(wk[kw]);
					int s = kw - PW;
					t0 = fma(wv, window_masked(row, ih, s, W, H), t0);
					t1 = fma(wv, window_masked(row, ih, s + 16, W, H), t1);
					t2 = fma(wv, window_masked(row, ih, s + 32, W, H), t2);
					t3 = fma(wv, window_masked(row, ih, s + 48, W, H), t3);
				}
				a[0] = t0;
				a[1] = t1;
				a[2] = t2;
				a[3] = t3;
			}
		}
	}
	for (int q = 0; q < nq; q++)
		for (int v = 0; v < nv; v++)
			store16(y + yo + ((size_t)n * OH + oh0 + q) * OW + v * 16, min(16, OW - v * 16),
			        acc[q * 4 + v]);
}

/* y [B, 1, OH, OW] = w [1, C, K, K] * x (+ b[0] if has_b), stride 1, K = 3
 * or 5 fixed at compile time: a work-item computes 16 columns of OT_R
 * (8 or 11) output rows in named accumulators and walks each input
 * channel's OT_R + K - 1 rows once: per input row it loads the K windows of the row
 * and adds each into the output rows whose kernel covers that row, up to
 * K FMAs per window (conv_oc1_rows loads one window per FMA), with the
 * weight as a broadcast operand.  The row loop is unrolled into straight
 * code: the (output row, kernel row) pairs an input row feeds come from
 * the tables OT_P3_r and OT_P5_r (a switch on a constant folded to the
 * same code but made PoCL's preprocessing, run at every program start,
 * about 25 ms longer).  A tile whose windows all lie inside
 * the rows reads them with plain loads, the others through window_masked;
 * rows outside the image are skipped.  While it works on one channel it
 * prefetches the next channel's rows (without, the first FMA after each
 * row's loads took most of the samples in perf).  Measured with
 * bench_conv against conv_oc1_rows / conv_oc1_band: SRCNN's 5x5 32->1
 * forward 4.2-4.9 -> 2.6-2.9 ms at 4 x 256^2 and 4.6-4.8 -> 2.0-2.1 ms at
 * 128 x 33^2.  Two vectors per work-item (more independent FMA chains)
 * ran slower in every shape, and so did 16-row bands.  The 5x5 kernel
 * takes bands of 11 rows (OT_R5): SRCNN's 33-row patches are 3 whole
 * bands instead of 5 bands of 8 that cover 40 rows, and each input row
 * read feeds more outputs (15 rows read for 11, not 12 for 8); with
 * TOMOGAN_CL_TIMING=1 bench_conv -l "SRCNN conv 5x5", 202 runs of
 * conv_oc1_tile_5x5 took 496-505 ms against 531-558 ms with 8 rows (three
 * runs each, alternating), and the 256^2 shape was unchanged.  Dimension
 * 0 over the 16-column vectors of a row, 1 over bands of OT_R rows, 2
 * over B. */
#define OT_R3 8       /* output rows per work-item (nn/conv.c's TILE_ROWS_3) */
#define OT_R5 11      /* the same for 5x5 (TILE_ROWS_5) */
#define OT_EACH8(X, wv) X(0, wv) X(1, wv) X(2, wv) X(3, wv) X(4, wv) X(5, wv) X(6, wv) X(7, wv)
#define OT_EACH11(X, wv) OT_EACH8(X, wv) X(8, wv) X(9, wv) X(10, wv)
#define OT_ROWS3(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)
#define OT_ROWS5(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)
#define OT_KW3(F, r) F(r, 0) F(r, 1) F(r, 2)
#define OT_KW5(F, r) F(r, 0) F(r, 1) F(r, 2) F(r, 3) F(r, 4)
/* OT_PK_r(F, kw): F(q, kh, kw) for the output rows q < OT_R whose kernel
 * row kh covers input row r = q + kh of the band */
#define OT_P3_0(F, kw) F(0, 0, kw)
#define OT_P3_1(F, kw) F(1, 0, kw) F(0, 1, kw)
#define OT_P3_2(F, kw) F(2, 0, kw) F(1, 1, kw) F(0, 2, kw)
#define OT_P3_3(F, kw) F(3, 0, kw) F(2, 1, kw) F(1, 2, kw)
#define OT_P3_4(F, kw) F(4, 0, kw) F(3, 1, kw) F(2, 2, kw)
#define OT_P3_5(F, kw) F(5, 0, kw) F(4, 1, kw) F(3, 2, kw)
#define OT_P3_6(F, kw) F(6, 0, kw) F(5, 1, kw) F(4, 2, kw)
#define OT_P3_7(F, kw) F(7, 0, kw) F(6, 1, kw) F(5, 2, kw)
#define OT_P3_8(F, kw) F(7, 1, kw) F(6, 2, kw)
#define OT_P3_9(F, kw) F(7, 2, kw)
#define OT_P5_0(F, kw) F(0, 0, kw)
#define OT_P5_1(F, kw) F(1, 0, kw) F(0, 1, kw)
#define OT_P5_2(F, kw) F(2, 0, kw) F(1, 1, kw) F(0, 2, kw)
#define OT_P5_3(F, kw) F(3, 0, kw) F(2, 1, kw) F(1, 2, kw) F(0, 3, kw)
#define OT_P5_4(F, kw) F(4, 0, kw) F(3, 1, kw) F(2, 2, kw) F(1, 3, kw) F(0, 4, kw)
#define OT_P5_5(F, kw) F(5, 0, kw) F(4, 1, kw) F(3, 2, kw) F(2, 3, kw) F(1, 4, kw)
#define OT_P5_6(F, kw) F(6, 0, kw) F(5, 1, kw) F(4, 2, kw) F(3, 3, kw) F(2, 4, kw)
#define OT_P5_7(F, kw) F(7, 0, kw) F(6, 1, kw) F(5, 2, kw) F(4, 3, kw) F(3, 4, kw)
#define OT_P5_8(F, kw) F(8, 0, kw) F(7, 1, kw) F(6, 2, kw) F(5, 3, kw) F(4, 4, kw)
#define OT_P5_9(F, kw) F(9, 0, kw) F(8, 1, kw) F(7, 2, kw) F(6, 3, kw) F(5, 4, kw)
#define OT_P5_10(F, kw) F(10, 0, kw) F(9, 1, kw) F(8, 2, kw) F(7, 3, kw) F(6, 4, kw)
#define OT_P5_11(F, kw) F(10, 1, kw) F(9, 2, kw) F(8, 3, kw) F(7, 4, kw)
#define OT_P5_12(F, kw) F(10, 2, kw) F(9, 3, kw) F(8, 4, kw)
#define OT_P5_13(F, kw) F(10, 3, kw) F(9, 4, kw)
#define OT_P5_14(F, kw) F(10, 4, kw)
#define OT_INIT(q, wv) float16 a##q = wv;
#define OT_STORE(q, wv)                                                                 \
	if (oh0 + q < OH)                                                               \
		store16(out + (size_t)q * OW, nl, a##q);
#define OT_FMA(q, kh, kw) a##q = fma((float16)(wc[kh * OT_K + kw]), v, a##q);
#define OT_WIN_IN(r, kw)                                                                \
	{                                                                               \
		float16 v = vload16(0, row + s0 + kw);                                  \
		OT_PAIRS(r, OT_FMA, kw)                                                 \
	}
#define OT_WIN_EDGE(r, kw)                                                              \
	{                                                                               \
		float16 v = window_masked(row, ih, s0 + kw, W, H);                      \
		OT_PAIRS(r, OT_FMA, kw)                                                 \
	}
#define OT_ROW(r, WIN)                                                                  \
	{                                                                               \
		int ih = ih0 + r;                                                       \
		if (ih >= 0 && ih < H) {                                                \
			__global const float *row = plane + (size_t)ih * W;             \
			OT_KW(WIN, r)                                                   \
		}                                                                       \
	}
#define OT_ROW_IN(r) OT_ROW(r, OT_WIN_IN)
#define OT_ROW_EDGE(r) OT_ROW(r, OT_WIN_EDGE)
/* the first and last lines of row r of the next plane */
#define OT_PREFETCH(r)                                                                  \
	{                                                                               \
		int ih = ih0 + r;                                                       \
		if (ih >= 0 && ih < H) {                                                \
			__global const float *pr = plane + (size_t)(H + ih) * W + max(s0, 0); \
			OT_HINT(pr);                                                    \
			OT_HINT(pr + 14 + OT_K);                                        \
		}                                                                       \
	}
#define OT_KERNEL(K)                                                                    \
__kernel void conv_oc1_tile_##K##x##K(__global float *y, ulong yo,                      \
                                      __global const float *x, ulong xo,                \
                                      __global const float *w, ulong wo,                \
                                      __global const float *b, ulong bo, int has_b,     \
                                      int C, int H, int W, int KH, int KW, int SH,      \
                                      int SW, int PH, int PW, int OH, int OW)           \
{                                                                                       \
	int col0 = (int)get_global_id(0) * 16, oh0 = (int)get_global_id(1) * OT_R;      \
	int n = get_global_id(2);                                                       \
	if (col0 >= OW || oh0 >= OH)                                                    \
		return;                                                                 \
	float16 bias = (float16)(has_b ? b[bo] : 0.0f);                                 \
	OT_EACHQ(OT_INIT, bias)                                                         \
	int ih0 = oh0 - PH, s0 = col0 - PW;                                             \
	int in = s0 >= 0 && s0 + 16 + K - 1 <= W;                                       \
	for (int c = 0; c < C; c++) {                                                   \
		__global const float *plane = x + xo + (size_t)(n * C + c) * H * W;     \
		__global const float *wc = w + wo + (size_t)c * K * K;                  \
		if (c + 1 < C)                                                          \
			OT_ROWS(OT_PREFETCH)                                            \
		if (in) {                                                               \
			OT_ROWS(OT_ROW_IN)                                              \
		} else {                                                                \
			OT_ROWS(OT_ROW_EDGE)                                            \
		}                                                                       \
	}                                                                               \
	int nl = min(16, OW - col0);                                                    \
	__global float *out = y + yo + ((size_t)n * OH + oh0) * OW + col0;              \
	OT_EACHQ(OT_STORE, 0)                                                           \
}
#define OT_K 3
#define OT_R OT_R3
#define OT_EACHQ OT_EACH8
#define OT_ROWS OT_ROWS3
#define OT_KW OT_KW3
#define OT_PAIRS(r, F, kw) OT_P3_##r(F, kw)
OT_KERNEL(3)
#undef OT_K
#undef OT_R
#undef OT_EACHQ
#undef OT_ROWS
#undef OT_KW
#undef OT_PAIRS
#define OT_K 5
#define OT_R OT_R5
#define OT_EACHQ OT_EACH11
#define OT_ROWS OT_ROWS5
#define OT_KW OT_KW5
#define OT_PAIRS(r, F, kw) OT_P5_##r(F, kw)
OT_KERNEL(5)
#undef OT_K
#undef OT_R
#undef OT_EACHQ
#undef OT_ROWS
#undef OT_KW
#undef OT_PAIRS

/* Weight gradient of a conv with few input channels: part [NP, OC*C*KK]
 * holds, for images [B*p/NP, B*(p+1)/NP), the sums of dy * x at each tap.
 * A work-item takes kernel row kh of input channel c for two output
 * channels: each staged input row gives KW windows, each window two FMAs.
 * Dimension 0 over C*KH, 1 over pairs of output channels, 2 over NP. */
__kernel void conv_c1_weight(__global float *part, ulong po, __global const float *dy, ulong dyo,
                             __global const float *x, ulong xo, int B, int NP, int OC, int C,
                             int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                             int OH, int OW)
{
	int ck = get_global_id(0), oc0 = (int)get_global_id(1) * 2, p = get_global_id(2);
	if (ck >= C * KH || oc0 >= OC)
		return;
	int c = ck / KH, kh = ck - c * KH, KK = KH * KW, nc = stage_chunks(SW, KW);
	int two = OC - oc0 > 1;
	float16 acc0[DIRECT_KMAX], acc1[DIRECT_KMAX];
	float t[STAGE];
#pragma unroll
	for (int k = 0; k < DIRECT_KMAX; k++)
		acc0[k] = acc1[k] = (float16)(0.0f);
	for (int n = B * p / NP; n < B * (p + 1) / NP; n++)
		for (int oh = 0; oh < OH; oh++) {
			int ih = oh * SH - PH + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *row = x + xo + ((size_t)(n * C + c) * H + ih) * W;
			__global const float *g0 = dy + dyo + ((size_t)(n * OC + oc0) * OH + oh) * OW;
			__global const float *g1 = two ? g0 + (size_t)OH * OW : g0;
			for (int col0 = 0; col0 < OW; col0 += 16) {
				int nl = min(16, OW - col0);
				int s = col0 * SW - PW;
				float16 d0 = load16(g0 + col0, nl), d1 = load16(g1 + col0, nl);
				if (interior(s, SW, KW, W)) {
#pragma unroll
					for (int kw = 0; kw < DIRECT_KMAX; kw++)
						if (kw < KW) {
							float16 v = window_g(row, s + kw, SW);
							acc0[kw] = fma(d0, v, acc0[kw]);
							acc1[kw] = fma(d1, v, acc1[kw]);
						}
				} else {
					stage(t, row, W, s, nc);
#pragma unroll
					for (int kw = 0; kw < DIRECT_KMAX; kw++)
						if (kw < KW) {
							float16 v = window(t, kw, SW);
							acc0[kw] = fma(d0, v, acc0[kw]);
							acc1[kw] = fma(d1, v, acc1[kw]);
						}
				}
			}
		}
	__global float *out = part + po + (size_t)p * OC * C * KK + (size_t)c * KK + kh * KW;
	for (int kw = 0; kw < KW && kw < DIRECT_KMAX; kw++) {
		out[(size_t)oc0 * C * KK + kw] = sum16(acc0[kw]);
		if (two)
			out[(size_t)(oc0 + 1) * C * KK + kw] = sum16(acc1[kw]);
	}
}

/* Weight gradient of a stride-1 conv with one input channel and a wide
 * kernel (SRCNN's 9x9) from its input in zero-padded planes xq [B, Hq, Wq]
 * (embed_phases: row oh + kh, column ow + kw is the input pixel of tap
 * (kh, kw) for output (oh, ow); Hq >= OH + KH - 1, Wq >= OW + KW - 1, and
 * 48 zeroed floats after the last plane): part [NP, OC, KH*KW] holds,
 * for images [B*p/NP, B*(p+1)/NP), the sums of dy * x at each tap.  A
 * work-item takes 4 output channels and runs over the taps in blocks of
 * 5 of a kernel row; per 16 output columns, 4 gradient vectors and 5
 * unaligned input windows (no border tests: the planes are padded) feed
 * 20 FMAs into vector accumulators summed across their lanes per block.
 * Its images' gradients (4 channels) are read once per block, from the
 * cache: a work-item covers few images (NP up to 64).  Taps past KW read
 * the next columns and are not stored, nor are channels past OC (they
 * read the last one); lanes past OW multiply zeros.  conv_c1_weight with
 * 9 taps per row kept its accumulators in memory and ran at about 30
 * GFLOP/s, im2col + a GEMM per image woke OpenBLAS's threads, whose
 * spinning slowed every kernel after it (srcnn train: 5.6 ms, then 1.2 ms
 * for this kernel at 16 x 32^2, TOMOGAN_CL_TIMING=1).  Dimension 0 over
 * the blocks of 4 output channels, 1 over NP. */
#define PW4_EACH(X) X(0) X(1) X(2) X(3)
#define WT_EACH(X) X(0, 0) X(0, 1) X(0, 2) X(0, 3) X(0, 4) X(1, 0) X(1, 1) X(1, 2) X(1, 3) \
	X(1, 4) X(2, 0) X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(3, 0) X(3, 1) X(3, 2) X(3, 3) X(3, 4)
__kernel void conv_c1_weight_planes(__global float *part, ulong po, __global const float *dy,
                                    ulong dyo, __global const float *xq, ulong xqo, int B, int NP,
                                    int OC, int KH, int KW, int Hq, int Wq, int OH, int OW)
{
	int oc0 = (int)get_global_id(0) * 4, p = get_global_id(1);
	if (oc0 >= OC)
		return;
	int KK = KH * KW;
	__global const float *end = dy + dyo + (size_t)B * OC * OH * OW;
	for (int kh = 0; kh < KH; kh++)
		for (int kw0 = 0; kw0 < KW; kw0 += 5) {
#define WT_INIT(o, k) float16 a##o##k = (float16)(0.0f);
			WT_EACH(WT_INIT)
			for (int n = B * p / NP; n < B * (p + 1) / NP; n++)
				for (int oh = 0; oh < OH; oh++) {
					__global const float *xr =
					        xq + xqo + ((size_t)n * Hq + oh + kh) * Wq + kw0;
#define WT_PTR(i)                                                                       \
	__global const float *g##i =                                                    \
	        dy + dyo + (((size_t)n * OC + min(oc0 + i, OC - 1)) * OH + oh) * OW;
					PW4_EACH(WT_PTR)
					for (int col0 = 0; col0 < OW; col0 += 16) {
						int nl = min(16, OW - col0);
#define WT_LOAD(i) float16 d##i = load16_room(g##i + col0, nl, room16(g##i + col0, end));
						PW4_EACH(WT_LOAD)
#define WT_WIN(k) float16 v##k = vload16(0, xr + col0 + k);
						WT_WIN(0) WT_WIN(1) WT_WIN(2) WT_WIN(3) WT_WIN(4)
#define WT_FMA(o, k) a##o##k = fma(d##o, v##k, a##o##k);
						WT_EACH(WT_FMA)
					}
				}
			__global float *out = part + po + ((size_t)p * OC + oc0) * KK + kh * KW + kw0;
#define WT_STORE(o, k)                                                                  \
	if (oc0 + o < OC && kw0 + k < KW)                                              \
		out[(size_t)o * KK + k] = sum16(a##o##k);
			WT_EACH(WT_STORE)
		}
}

/* Weight and bias gradients of a stride-1 conv with one input channel and
 * 64 output channels (SRCNN's 9x9) from x in zero-padded planes xq
 * [B, Hq, Wq] (embed_padded, as conv_c1_weight_planes) and dy put
 * channels last in the cache: a work-item takes units of R output rows of
 * one image, [U*p/NP, U*(p+1)/NP) of the U = B * ceil(OH/R), and for each
 * copies the unit's dy into its scratch as [R*OW, 64] (16x16 tiles
 * transposed by four rounds of interleaving shuffles, a last partial tile
 * by scalars), then runs over the taps in blocks of CL_T: per output
 * pixel, its 64 gradients as 4 aligned vectors and the block's CL_T input
 * pixels as broadcasts feed 4*CL_T FMAs, every lane useful.  (On 33x33
 * planes the row-wise kernels fill 33 of every 48 lanes, and
 * conv_c1_weight_planes 9 of every 10 taps.)  The block's sums live in the
 * work-item's scratch [KKr, 64] (KKr: KK rounded up to CL_T) between
 * units; at the end they go to part [NP, 64, KK] (w's layout), and the
 * sums of dy over the transposed tiles to pb [NP, 64] if has_b.  scr
 * holds NP areas of R*OW*64 + KKr*64 floats at so, which is a multiple of
 * 16.  Taps past KK read tap 0 and are not stored.  Dimension 0 over
 * NP. */
#define CL_T 6
#define CL_EACH_T(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define CL_EACH_V(X) X(0) X(1) X(2) X(3)
#define ILO16(a, b) __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, \
                                            22, 7, 23)
#define IHI16(a, b) __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, \
                                            14, 30, 15, 31)
/* One round: t[2i] and t[2i+1] interleave r[i] and r[i+8]; four rounds
 * turn the rows of a 16x16 tile into its columns. */
#define CL_ROUND(r, t)                                                                    \
	t##0 = ILO16(r##0, r##8), t##1 = IHI16(r##0, r##8), t##2 = ILO16(r##1, r##9),     \
	t##3 = IHI16(r##1, r##9), t##4 = ILO16(r##2, r##10), t##5 = IHI16(r##2, r##10),  \
	t##6 = ILO16(r##3, r##11), t##7 = IHI16(r##3, r##11), t##8 = ILO16(r##4, r##12), \
	t##9 = IHI16(r##4, r##12), t##10 = ILO16(r##5, r##13),                          \
	t##11 = IHI16(r##5, r##13), t##12 = ILO16(r##6, r##14),                         \
	t##13 = IHI16(r##6, r##14), t##14 = ILO16(r##7, r##15), t##15 = IHI16(r##7, r##15);
/* A 16x16 tile: rows r0..r15 loaded from p, p + st, ..., turned into its
 * columns in place (through t0..t15), or stored to p, p + st, ... */
#define T16_LOAD(r, p, st)                                                                \
	float16 r##0 = LD16U(p), r##1 = LD16U((p) + (st)),                                \
	        r##2 = LD16U((p) + 2 * (st)), r##3 = LD16U((p) + 3 * (st)),               \
	        r##4 = LD16U((p) + 4 * (st)), r##5 = LD16U((p) + 5 * (st)),               \
	        r##6 = LD16U((p) + 6 * (st)), r##7 = LD16U((p) + 7 * (st)),               \
	        r##8 = LD16U((p) + 8 * (st)), r##9 = LD16U((p) + 9 * (st)),               \
	        r##10 = LD16U((p) + 10 * (st)), r##11 = LD16U((p) + 11 * (st)),           \
	        r##12 = LD16U((p) + 12 * (st)), r##13 = LD16U((p) + 13 * (st)),           \
	        r##14 = LD16U((p) + 14 * (st)), r##15 = LD16U((p) + 15 * (st));
#define T16_TRANSPOSE(r, t)                                                               \
	float16 t##0, t##1, t##2, t##3, t##4, t##5, t##6, t##7, t##8, t##9, t##10, t##11, \
	        t##12, t##13, t##14, t##15;                                               \
	CL_ROUND(r, t) CL_ROUND(t, r) CL_ROUND(r, t) CL_ROUND(t, r)
#define T16_STORE(r, p, st)                                                               \
	ST16U(r##0, p), ST16U(r##1, (p) + (st));                                          \
	ST16U(r##2, (p) + 2 * (st)), ST16U(r##3, (p) + 3 * (st));                         \
	ST16U(r##4, (p) + 4 * (st)), ST16U(r##5, (p) + 5 * (st));                         \
	ST16U(r##6, (p) + 6 * (st)), ST16U(r##7, (p) + 7 * (st));                         \
	ST16U(r##8, (p) + 8 * (st)), ST16U(r##9, (p) + 9 * (st));                         \
	ST16U(r##10, (p) + 10 * (st)), ST16U(r##11, (p) + 11 * (st));                     \
	ST16U(r##12, (p) + 12 * (st)), ST16U(r##13, (p) + 13 * (st));                     \
	ST16U(r##14, (p) + 14 * (st)), ST16U(r##15, (p) + 15 * (st));
/* out [NC, n] = sums [n, NC]: a channels-last work-item's sums in w's
 * layout. */
static void sums_out(__global float *out, __global const float *sums, int n, int NC)
{
	for (int t = 0; t < n; t++)
		for (int c = 0; c < NC; c++)
			out[(size_t)c * n + t] = sums[(size_t)t * NC + c];
}

/* A unit's gradients dy (rows of NC channels, P floats apart, from g)
 * into s as [nq, NC]: 16 channels at a time by 16x16 tiles (16 rows of
 * dy read in order), each tile's rows added into b##v (the bias
 * gradient), then a last partial tile by scalars (EACHV over the NC/16
 * vectors).  q runs over the unit's nq pixels. */
#define DY_LAST_TILES(v, g, P, s, NC)                                                     \
	for (q = 0; q + 16 <= nq; q += 16) {                                              \
		T16_LOAD(r, (g) + (size_t)(16 * v) * (P) + q, P)                          \
		T16_TRANSPOSE(r, t)                                                       \
		b##v += ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)) +                \
		        (((r8 + r9) + (r10 + r11)) + ((r12 + r13) + (r14 + r15)));        \
		T16_STORE(r, (s) + (size_t)q * (NC) + 16 * v, NC)                         \
	}
#define DY_LAST_BTAIL(v) b##v += vload16(v, o_);
#define DY_LAST_TAIL(g, P, s, NC, EACHV)                                                  \
	for (; q < nq; q++) {                                                             \
		__global float *o_ = (s) + (size_t)q * (NC);                              \
		for (int c_ = 0; c_ < (NC); c_++)                                         \
			o_[c_] = (g)[(size_t)c_ * (P) + q];                               \
		EACHV(DY_LAST_BTAIL)                                                      \
	}
__kernel void conv_c1_weight_cl(__global float *part, ulong po, __global float *pb, ulong pbo,
                                int has_b, __global float *scr, ulong so,
                                __global const float *dy, ulong dyo, __global const float *xq,
                                ulong xqo, int B, int NP, int KH, int KW, int Hq, int Wq,
                                int OH, int OW, int R, int narrow)
{
	int p = get_global_id(0);
	if (p >= NP)
		return;
	int KK = KH * KW, KKr = (KK + CL_T - 1) / CL_T * CL_T, P = OH * OW;
	int nch = (OH + R - 1) / R, U = B * nch;
	__global float *s = scr + so + (size_t)p * ((size_t)R * OW * 64 + (size_t)KKr * 64);
	__global float *acc = s + (size_t)R * OW * 64;
	for (int i = 0; i < KKr * 64; i += 16)
		vstore16((float16)(0.0f), 0, acc + i);
#define CL_BINIT(v) float16 b##v = (float16)(0.0f);
	CL_EACH_V(CL_BINIT)
	for (int u = (int)((long)U * p / NP); u < (int)((long)U * (p + 1) / NP); u++) {
		int n = u / nch, oh0 = (u - n * nch) * R, oh1 = min(OH, oh0 + R);
		int q0 = oh0 * OW, nq = (oh1 - oh0) * OW, q = 0;
		__global const float *g = dy + dyo + (size_t)n * 64 * P + q0;
#define CL_TILE(v) DY_LAST_TILES(v, g, P, s, 64)
		CL_EACH_V(CL_TILE)
		DY_LAST_TAIL(g, P, s, 64, CL_EACH_V)
		__global const float *xb = xq + xqo + ((size_t)n * Hq + oh0) * Wq;
		for (int t0 = 0; t0 < KK; t0 += CL_T) {
#define CL_OFF(j)                                                                         \
	int f##j = t0 + j < KK ? t0 + j : 0, o##j = f##j / KW * Wq + f##j % KW;
			CL_EACH_T(CL_OFF)
			__global float *at = acc + (size_t)t0 * 64;
			if (narrow) {
				/* narrow vectors (AVX2): 16 channels at a time, as
				 * in conv_c1_last_forward */
				for (int v = 0; v < 4; v++) {
#define CLN_ALOAD(j) float16 a##j = vload16(0, at + 64 * j + 16 * v);
					CL_EACH_T(CLN_ALOAD)
					for (int r = 0; r < oh1 - oh0; r++) {
						__global const float *xr = xb + (size_t)r * Wq;
						__global const float *sr = s + (size_t)r * OW * 64 + 16 * v;
						for (int ow = 0; ow < OW; ow++) {
							float16 d = vload16(0, sr + (size_t)ow * 64);
#define CLN_WFMA(j) a##j = fma((float16)(xr[ow + o##j]), d, a##j);
							CL_EACH_T(CLN_WFMA)
						}
					}
#define CLN_ASTORE(j) vstore16(a##j, 0, at + 64 * j + 16 * v);
					CL_EACH_T(CLN_ASTORE)
				}
				continue;
			}
#define CL_ALOAD_V(j, v) float16 a##j##v = vload16(0, at + 64 * j + 16 * v);
#define CL_ALOAD(j) CL_ALOAD_V(j, 0) CL_ALOAD_V(j, 1) CL_ALOAD_V(j, 2) CL_ALOAD_V(j, 3)
			CL_EACH_T(CL_ALOAD)
			for (int r = 0; r < oh1 - oh0; r++) {
				__global const float *xr = xb + (size_t)r * Wq;
				__global const float *sr = s + (size_t)r * OW * 64;
				for (int ow = 0; ow < OW; ow++) {
					__global const float *d = sr + (size_t)ow * 64;
					float16 d0 = vload16(0, d), d1 = vload16(1, d),
					        d2 = vload16(2, d), d3 = vload16(3, d);
#define CL_FMA(j)                                                                         \
	{                                                                                 \
		float16 v_ = (float16)(xr[ow + o##j]);                                    \
		a##j##0 = fma(v_, d0, a##j##0), a##j##1 = fma(v_, d1, a##j##1);           \
		a##j##2 = fma(v_, d2, a##j##2), a##j##3 = fma(v_, d3, a##j##3);           \
	}
					CL_EACH_T(CL_FMA)
				}
			}
#define CL_ASTORE_V(j, v) vstore16(a##j##v, 0, at + 64 * j + 16 * v);
#define CL_ASTORE(j) CL_ASTORE_V(j, 0) CL_ASTORE_V(j, 1) CL_ASTORE_V(j, 2) CL_ASTORE_V(j, 3)
			CL_EACH_T(CL_ASTORE)
		}
	}
	sums_out(part + po + (size_t)p * 64 * KK, acc, KK, 64);
	if (has_b) {
#define CL_BSTORE(v) vstore16(b##v, v, pb + pbo + (size_t)p * 64);
		CL_EACH_V(CL_BSTORE)
	}
}

/* y [B, NC, OH, OW] = act(w * x (+ b if has_b)) for a stride-1 conv with
 * one input channel and NC = 64 output channels (conv_c1_weight_cl's
 * convs), or 32 with narrow vectors only (the data gradient of SRCNN's
 * 5x5 32->1; with 16-wide vectors conv_c1_flat_forward takes it, see
 * c1_last_forward_fits in nn/conv.c), from x in
 * zero-padded planes xq [B, Hq, Wq] (or x itself without padding) and
 * the weights by tap, wt [KK, NC] (taps_major): a work-item takes
 * conv_c1_weight_cl's units of R output rows, [U*p/NP, U*(p+1)/NP), and
 * computes a unit's outputs channels last into its scratch [R*OW + CL_T,
 * NC] in blocks of CL_T pixels (across row ends): per tap, the NC
 * weights as NC/16 vectors and the block's CL_T input pixels as
 * broadcasts feed NC/16*CL_T FMAs, every lane useful.  Pixels
 * past the unit in a last block repeat its last pixel and are not copied
 * out.  Then the unit goes to y by 16x16 tiles transposed as in
 * conv_c1_weight_cl, a last partial tile by scalars.  Each output is the
 * bias, then the taps in order.  scr holds NP areas of (R*OW + CL_T) *
 * NC floats at so, a multiple of 16.  Dimension 0 over NP. */
__kernel void conv_c1_last_forward(__global float *y, ulong yo, __global const float *xq,
                                   ulong xqo, __global const float *wt, ulong wo,
                                   __global const float *b, ulong bo, int has_b,
                                   __global float *scr, ulong so, int B, int NP, int NC, int KH,
                                   int KW, int Hq, int Wq, int OH, int OW, int R, int act,
                                   int narrow, float slope)
{
	int p = get_global_id(0);
	if (p >= NP)
		return;
	int P = OH * OW, nch = (OH + R - 1) / R, U = B * nch;
	__global float *s = scr + so + (size_t)p * ((size_t)R * OW + CL_T) * NC;
#define CLF_BIAS(v) float16 bias##v = has_b && 16 * v < NC ? vload16(v, b + bo) : (float16)(0.0f);
	CL_EACH_V(CLF_BIAS)
	for (int u = (int)((long)U * p / NP); u < (int)((long)U * (p + 1) / NP); u++) {
		int n = u / nch, oh0 = (u - n * nch) * R, oh1 = min(OH, oh0 + R);
		int q0 = oh0 * OW, nq = (oh1 - oh0) * OW;
		__global const float *xb = xq + xqo + ((size_t)n * Hq + oh0) * Wq;
		/* row rq, column cq of pixel q: the block's pixels by steps, the
		 * last pixel repeated past the unit */
		for (int q = 0, rq = 0, cq = 0; q < nq; q += CL_T) {
#define CLF_PTR(j)                                                                        \
	__global const float *xp##j = xb + (size_t)rq * Wq + cq;                          \
	if (q + j + 1 < nq && ++cq == OW)                                                 \
		cq = 0, rq++;
			CL_EACH_T(CLF_PTR)
			if (narrow) {
				/* narrow vectors (AVX2): 16 channels at a time, CL_T
				 * accumulators of two registers each and one weight
				 * vector, within 16 registers */
				for (int v = 0; v < NC / 16; v++) {
					__global const float *wk = wt + wo + 16 * v;
					float16 bv = has_b ? vload16(v, b + bo) : (float16)(0.0f);
#define CLN_INIT(j) float16 a##j = bv;
					CL_EACH_T(CLN_INIT)
					for (int kh = 0; kh < KH; kh++)
						for (int kw = 0; kw < KW; kw++, wk += NC) {
							int off = kh * Wq + kw;
							float16 d = vload16(0, wk);
#define CLN_FMA(j) a##j = fma((float16)(xp##j[off]), d, a##j);
							CL_EACH_T(CLN_FMA)
						}
#define CLN_STORE(j) vstore16(act16(a##j, act, slope), v, s + (size_t)(q + j) * NC);
					CL_EACH_T(CLN_STORE)
				}
				continue;
			}
#define CLF_INIT_V(j, v) float16 a##j##v = bias##v;
#define CLF_INIT(j) CLF_INIT_V(j, 0) CLF_INIT_V(j, 1) CLF_INIT_V(j, 2) CLF_INIT_V(j, 3)
			CL_EACH_T(CLF_INIT)
			__global const float *wk = wt + wo;
			for (int kh = 0; kh < KH; kh++)
				for (int kw = 0; kw < KW; kw++, wk += 64) {
					int off = kh * Wq + kw;
					float16 d0 = vload16(0, wk), d1 = vload16(1, wk),
					        d2 = vload16(2, wk), d3 = vload16(3, wk);
#define CLF_FMA(j)                                                                        \
	{                                                                                 \
		float16 v_ = (float16)(xp##j[off]);                                       \
		a##j##0 = fma(v_, d0, a##j##0), a##j##1 = fma(v_, d1, a##j##1);           \
		a##j##2 = fma(v_, d2, a##j##2), a##j##3 = fma(v_, d3, a##j##3);           \
	}
					CL_EACH_T(CLF_FMA)
				}
#define CLF_STORE_V(j, v) vstore16(act16(a##j##v, act, slope), v, s + (size_t)(q + j) * NC);
#define CLF_STORE(j) CLF_STORE_V(j, 0) CLF_STORE_V(j, 1) CLF_STORE_V(j, 2) CLF_STORE_V(j, 3)
			CL_EACH_T(CLF_STORE)
		}
		/* 16 channels at a time, so that 16 rows of y are written in
		 * order and each of their lines is whole while in the L1 cache
		 * (all 64 channels per 16 pixels took 12.8 against 4.7 ms
		 * without the copy: 64 lines split between two tiles). */
		__global float *g = y + yo + (size_t)n * NC * P + q0;
		int q = 0;
		for (int v = 0; v < NC / 16; v++)
			for (q = 0; q + 16 <= nq; q += 16) {
				T16_LOAD(r, s + (size_t)q * NC + 16 * v, NC)
				T16_TRANSPOSE(r, t)
				T16_STORE(r, g + (size_t)(16 * v) * P + q, P)
			}
		for (; q < nq; q++)
			for (int c = 0; c < NC; c++)
				g[(size_t)c * P + q] = s[(size_t)q * NC + c];
	}
}

/* y [B, 1, OH, OW] = w * x (+ b[0] if has_b) for a stride-1 conv with one
 * output channel and C a multiple of 32 (SRCNN's 5x5 32->1), from the
 * weights by tap, wt [KK, C] (taps_major of w [1, C, KH, KW] as [C, 1,
 * KH, KW]): a work-item takes conv_c1_weight_cl's units of R output
 * rows, [U*p/NP, U*(p+1)/NP), and first copies the unit's R + KH - 1
 * input rows into its scratch channels last and zero-padded, as [rows,
 * OW + KW - 1, C] (16 columns of 16 channels at a time by the 16x16 tile
 * transpose, a last partial tile by scalars).  Then per block of CL_T
 * output pixels (across row ends), per 32 channels and per tap, the
 * weights as two vectors and the CL_T pixels' input vectors feed 2*CL_T
 * FMAs into two accumulators a pixel, every lane useful; each pixel's
 * lanes are summed at the end.  (On 33x33 planes the row-wise
 * conv_oc1_tile_5x5 fills 33 of every 48 lanes and masks every window:
 * SRCNN's 5x5 at 128 x 33^2, 4.4-4.8 ms against 3.0-3.5 here, of which
 * the copy takes 1.1; bench_conv, TOMOGAN_CL_TIMING=1, five runs each,
 * alternating.  One accumulator a pixel and the channels' loop inside
 * the taps' took 8.8 ms.)  Pixels past the unit in a last block repeat its
 * last pixel and are not stored.  Each output is the sum over the taps
 * and channels, then the bias.  scr holds NP areas of (R + KH - 1) * (OW
 * + KW - 1) * C floats at so.  Dimension 0 over NP. */
__kernel void conv_oc1_last_forward(__global float *y, ulong yo, __global const float *x,
                                    ulong xo, __global const float *wt, ulong wo,
                                    __global const float *b, ulong bo, int has_b,
                                    __global float *scr, ulong so, int B, int NP, int C, int H,
                                    int W, int KH, int KW, int PH, int PW, int OH, int OW, int R)
{
	int p = get_global_id(0);
	if (p >= NP)
		return;
	int Wq = OW + KW - 1, nch = (OH + R - 1) / R, U = B * nch;
	size_t P = (size_t)H * W, rowf = (size_t)Wq * C;
	__global float *s = scr + so + (size_t)p * (R + KH - 1) * rowf;
	float bias = has_b ? b[bo] : 0.0f;
	/* x columns [0, nw) land in columns PW.. of the rows */
	int nw = min(W, Wq - PW);
	for (int u = (int)((long)U * p / NP); u < (int)((long)U * (p + 1) / NP); u++) {
		int n = u / nch, oh0 = (u - n * nch) * R, oh1 = min(OH, oh0 + R);
		__global const float *xn = x + xo + (size_t)n * C * P;
		for (int rr = 0; rr < oh1 - oh0 + KH - 1; rr++) {
			int ih = oh0 - PH + rr;
			__global float *sr = s + (size_t)rr * rowf;
			if (ih < 0 || ih >= H || nw <= 0) {
				for (size_t i = 0; i < rowf; i += 16)
					vstore16((float16)(0.0f), 0, sr + i);
				continue;
			}
			for (size_t i = 0; i < (size_t)PW * C; i++)
				sr[i] = 0.0f;
			for (size_t i = (size_t)(PW + nw) * C; i < rowf; i++)
				sr[i] = 0.0f;
			__global const float *xr = xn + (size_t)ih * W;
			for (int c0 = 0; c0 < C; c0 += 16) {
				int j = 0;
				for (; j + 16 <= nw; j += 16) {
					T16_LOAD(e, xr + (size_t)c0 * P + j, P)
					T16_TRANSPOSE(e, t)
					T16_STORE(e, sr + (size_t)(PW + j) * C + c0, C)
				}
				for (; j < nw; j++)
					for (int c = c0; c < c0 + 16; c++)
						sr[(size_t)(PW + j) * C + c] = xr[(size_t)c * P + j];
			}
		}
		int nq = (oh1 - oh0) * OW;
		__global float *yu = y + yo + ((size_t)n * OH + oh0) * OW;
		for (int q = 0, rq = 0, cq = 0; q < nq; q += CL_T) {
#define OCL_PTR(j)                                                                        \
	__global const float *xp##j = s + ((size_t)rq * Wq + cq) * C;                     \
	float16 a##j = (float16)(0.0f), b##j = a##j;                                      \
	if (q + j + 1 < nq && ++cq == OW)                                                 \
		cq = 0, rq++;
			CL_EACH_T(OCL_PTR)
			/* 32 channels at a time, two accumulators a pixel */
			for (int c0 = 0; c0 < C; c0 += 32)
				for (int kh = 0; kh < KH; kh++) {
					__global const float *wk = wt + wo + (size_t)kh * KW * C + c0;
					size_t off = (size_t)kh * Wq * C + c0;
					for (int kw = 0; kw < KW; kw++, wk += C, off += C) {
						float16 wv = vload16(0, wk), wu = vload16(1, wk);
#define OCL_FMA(j)                                                                        \
	a##j = fma(wv, vload16(0, xp##j + off), a##j);                                    \
	b##j = fma(wu, vload16(1, xp##j + off), b##j);
						CL_EACH_T(OCL_FMA)
					}
				}
#define OCL_STORE(j)                                                                      \
	if (q + j < nq)                                                                   \
		yu[q + j] = sum16(a##j + b##j) + bias;
			CL_EACH_T(OCL_STORE)
		}
	}
}

/* Weight gradient of a conv with one output channel: part [NP, C*KK] as
 * above.  A work-item takes input channel c: each staged input row gives
 * KW windows, each window one FMA per kernel row kh whose output row
 * exists (acc [kh][kw], KH and KW up to 5).  Dimension 0 over C, 1 over
 * NP. */
#define OC1W_K 5
__kernel void conv_oc1_weight(__global float *part, ulong po, __global const float *dy, ulong dyo,
                              __global const float *x, ulong xo, int B, int NP, int C, int H,
                              int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH,
                              int OW)
{
	int c = get_global_id(0), p = get_global_id(1);
	if (c >= C)
		return;
	int KK = KH * KW, nc = stage_chunks(SW, KW);
	float16 acc[OC1W_K][OC1W_K];
	float t[STAGE];
#pragma unroll
	for (int i = 0; i < OC1W_K; i++)
#pragma unroll
		for (int k = 0; k < OC1W_K; k++)
			acc[i][k] = (float16)(0.0f);
	for (int n = B * p / NP; n < B * (p + 1) / NP; n++)
		for (int ih = 0; ih < H; ih++) {
			__global const float *row = x + xo + ((size_t)(n * C + c) * H + ih) * W;
			__global const float *g = dy + dyo + (size_t)n * OH * OW;
			for (int col0 = 0; col0 < OW; col0 += 16) {
				int nl = min(16, OW - col0);
				int s = col0 * SW - PW, in = interior(s, SW, KW, W);
				if (!in)
					stage(t, row, W, s, nc);
				float16 v[OC1W_K];
#pragma unroll
				for (int kw = 0; kw < OC1W_K; kw++)
					v[kw] = kw >= KW ? (float16)(0.0f)
					        : in ? window_g(row, s + kw, SW) : window(t, kw, SW);
#pragma unroll
				for (int kh = 0; kh < OC1W_K; kh++) {
					int th = ih + PH - kh;   /* = oh * SH */
					if (kh >= KH || th < 0 || th % SH || th / SH >= OH)
						continue;
					float16 d = load16(g + (size_t)(th / SH) * OW + col0, nl);
#pragma unroll
					for (int kw = 0; kw < OC1W_K; kw++)
						acc[kh][kw] = fma(d, v[kw], acc[kh][kw]);
				}
			}
		}
	__global float *out = part + po + (size_t)p * C * KK + (size_t)c * KK;
	for (int kh = 0; kh < KH && kh < OC1W_K; kh++)
		for (int kw = 0; kw < KW && kw < OC1W_K; kw++)
			out[kh * KW + kw] = sum16(acc[kh][kw]);
}

/* conv_oc1_weight for stride 1 and square kernels of 3 or 5
 * (conv_oc1_weight_3x3, _5x5): a work-item takes input channel c over the
 * images of its part, reads the channel's rows in order, and per vector
 * of 16 columns loads the K windows of the row once (zero outside it:
 * window_masked, no staging) and, per kernel row kh whose output row
 * exists, one vector of dy and K FMAs into named accumulators a##kh##kw.
 * The kernel size is fixed at compile time, so that the loops over the
 * taps unroll into straight code with the accumulators in registers.
 * Rows with a row before and after them in a plane wider than 22 read
 * their border windows as one load and a mask (window_mid), and a dy
 * vector past the end of its row one load and a mask (load16_room): on
 * 33-column rows, where every vector touches a border, the branches of
 * window_masked and load16's lane loop took most of the time (perf);
 * bench_conv: 4.8 -> 2.7 ms for SRCNN's 5x5 32->1 at 128 x 33^2, 4.5 ->
 * 3.4 ms for the generator's 3x3 64->1 at 64 x 64^2.
 * Dimension 0 over C, 1 over NP. */
/* The weight gradients that read a plane in order prefetch it CW3_AHEAD
 * floats (4 KiB) ahead: most of their perf samples had been on those loads
 * (bench_conv at 64 x 64^2: the critic's 1->64 3.6 -> 2.8 ms, the
 * generator's 64->1 2.6 -> 2.05 ms; 1 and 6 KiB ahead were slower). */
#define CW3_AHEAD 1024
#define CW3_HINT(p) OT_HINT_L2(p)
#define EACH3(X) X(0) X(1) X(2)
#define EACH5(X) X(0) X(1) X(2) X(3) X(4)
#define ROW3(F, kh) F(kh, 0) F(kh, 1) F(kh, 2)
#define ROW5(F, kh) F(kh, 0) F(kh, 1) F(kh, 2) F(kh, 3) F(kh, 4)
#define OW1_INIT(kh, kw) float16 a##kh##kw = (float16)(0.0f);
#define OW1_WIN(kw) float16 v##kw = mid ? window_mid(row, s + kw, W) : window_masked(row, ih, s + kw, W, H);
#define OW1_FMA(kh, kw) a##kh##kw = fma(d, v##kw, a##kh##kw);
#define OW1_STORE(kh, kw) out[kh * KS + kw] = sum16(a##kh##kw);
#define OW1_KERNEL(K, EACH)                                                             \
__kernel void conv_oc1_weight_##K##x##K(__global float *part, ulong po,                 \
                                        __global const float *dy, ulong dyo,            \
                                        __global const float *x, ulong xo, int B, int NP, \
                                        int C, int H, int W, int KH, int KW, int SH, int SW, \
                                        int PH, int PW, int OH, int OW)                 \
{                                                                                       \
	int c = get_global_id(0), p = get_global_id(1);                                 \
	const int KS = K;                                                               \
	if (c >= C)                                                                     \
		return;                                                                 \
	EACH(OW1_ROW_INIT)                                                              \
	for (int n = B * p / NP; n < B * (p + 1) / NP; n++) {                           \
		__global const float *plane = x + xo + (size_t)(n * C + c) * H * W;     \
		__global const float *g = dy + dyo + (size_t)n * OH * OW;               \
		for (int ih = 0; ih < H; ih++) {                                        \
			__global const float *row = plane + (size_t)ih * W;             \
			int full = ih + PH - (K - 1) >= 0 && ih + PH < OH;              \
			int mid = ih > 0 && ih < H - 1 && W > 22;                       \
			for (int col0 = 0; col0 < OW; col0 += 16) {                     \
				int nl = min(16, OW - col0), s = col0 - PW;             \
				CW3_HINT(row + col0 + CW3_AHEAD);                       \
				EACH(OW1_WIN)                                           \
				if (full) {                                             \
					EACH(OW1_ROW_FULL)                              \
				} else {                                                \
					EACH(OW1_ROW_EDGE)                              \
				}                                                       \
			}                                                               \
		}                                                                       \
	}                                                                               \
	__global float *out = part + po + ((size_t)p * C + c) * K * K;                  \
	EACH(OW1_ROW_STORE)                                                             \
}
/* per kernel row kh, F over its taps (OW1_TAPS: ROW3 or ROW5) */
#define OW1_ROW_INIT(kh) OW1_TAPS(OW1_INIT, kh)
#define OW1_ROW_STORE(kh) OW1_TAPS(OW1_STORE, kh)
#define OW1_ROW_FULL(kh)                                                                \
	{                                                                               \
		int e = (ih + PH - kh) * OW + col0;                                     \
		float16 d = load16_room(g + e, nl, OH * OW - e);                        \
		OW1_TAPS(OW1_FMA, kh)                                                   \
	}
#define OW1_ROW_EDGE(kh)                                                                \
	if (ih + PH - kh >= 0 && ih + PH - kh < OH) {                                   \
		int e = (ih + PH - kh) * OW + col0;                                     \
		float16 d = load16_room(g + e, nl, OH * OW - e);                        \
		OW1_TAPS(OW1_FMA, kh)                                                   \
	}
#define OW1_TAPS ROW3
OW1_KERNEL(3, EACH3)
#undef OW1_TAPS
#define OW1_TAPS ROW5
OW1_KERNEL(5, EACH5)
#undef OW1_TAPS

/* conv_oc1_weight_KxK for padding (K-1)/2 across (so OH == H, OW == W)
 * with the planes taken as flat rows (conv_c1_flat_forward's scheme): a
 * work-item walks the flat input plane of channel c in aligned vectors of
 * 16, 69 on a 33x33 plane where the row-wise kernel runs 99 (33 of them
 * with one lane used).  Per vector j0 the K windows x[j0 + kw - KP ..]
 * (lanes whose column plus kw - KP falls outside [0, W) zeroed: they read
 * the row before or after) and, per kernel row kh, the vector of dy at
 * j0 + (KP - kh)*W feed K FMAs: lane l of window kw is input j0 + kw - KP
 * + l, which is the input of tap (kh, kw) for output j0 + (KP - kh)*W + l.
 * dy comes in planes [B, H + 2*KP, W] with KP zero rows above and
 * below (embed_phases), so that its loads need no test: only the first
 * and last vector of a plane, whose windows reach past it, take flat16,
 * which zeroes what lies outside the planes (flat16 for the dy rows of
 * every vector within 2 rows of a plane's ends, 11 of 69 on 33x33, took
 * a third of the kernel's time: SRCNN's 5x5 32->1 at 128 x 33^2, 2.38 ms
 * median against 1.48 with those vectors skipped).  The padding is the
 * compile-time KP, so that every load is a constant offset from one of
 * two pointers: with PH and PW as arguments the compiler kept an index per
 * tap, spilled to the stack with most of the accumulators, and the kernel
 * ran no faster than the row-wise one (2.2 against 2.3 ms; 1.3 ms now for
 * SRCNN's 5x5 32->1 at 128 x 33^2, 2.1 -> 1.6-1.7 ms for the generator's
 * 3x3 64->1 at 64 x 64^2, bench_conv).  At K = 5 the 25 accumulators
 * with the windows and masks still spill 10 accumulators (a load and a
 * store per FMA for those); two passes over the planes, kernel rows 0-2
 * then 3-4, spilled 2 and took longer (SRCNN's layer at 128 x 33^2,
 * 2.2-2.5 against 2.2 ms on an AMD EPYC VM, three runs alternating).
 * Dimension 0 over C, 1 over NP. */
#define WF_WIN(kw, X)                                                                   \
	float16 v##kw = select((float16)(0.0f), X,                                      \
	                       convert_uint16(col + (int16)(kw - KP)) < (uint16)(W));
#define WF_ROW(kh, D)                                                                   \
	{                                                                               \
		float16 d = D;                                                          \
		OW1_TAPS(OW1_FMA, kh)                                                   \
	}
#define WF_WIN_IN(kw) WF_WIN(kw, vload16(0, xj + (kw - KP)))
#define WF_ROW_IN(kh) WF_ROW(kh, vload16(0, gj + (KP - kh) * W))
#define WF_WIN_EDGE(kw) WF_WIN(kw, flat16(plane, j0 + kw - KP, P))
#define WF_ROW_EDGE(kh) WF_ROW(kh, flat16(g - KP * W, j0 + (2 * KP - kh) * W, P + 2 * KP * W))
#define WF_KERNEL(K, EACH)                                                              \
__kernel void conv_oc1_weight_flat_##K##x##K(__global float *part, ulong po,            \
                                             __global const float *dyq, ulong dyo,      \
                                             __global const float *x, ulong xo, int B,  \
                                             int NP, int C, int H, int W)               \
{                                                                                       \
	int c = get_global_id(0), p = get_global_id(1);                                 \
	const int KS = K, KP = (K - 1) / 2;                                             \
	if (c >= C)                                                                     \
		return;                                                                 \
	int P = H * W;                                                                  \
	int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);     \
	EACH(OW1_ROW_INIT)                                                              \
	for (int n = B * p / NP; n < B * (p + 1) / NP; n++) {                           \
		__global const float *plane = x + xo + (size_t)(n * C + c) * P;         \
		__global const float *g = dyq + dyo + (size_t)n * (P + 2 * KP * W) + KP * W; \
		int16 col = lane;                                                       \
		for (int j0 = 0; j0 < P; j0 += 16) {                                    \
			CW3_HINT(plane + j0 + CW3_AHEAD);                               \
			__global const float *xj = plane + j0, *gj = g + j0;            \
			if (j0 - KP >= 0 && j0 + KP + 16 <= P) {                        \
				EACH(WF_WIN_IN)                                         \
				EACH(WF_ROW_IN)                                         \
			} else {                                                        \
				EACH(WF_WIN_EDGE)                                       \
				EACH(WF_ROW_EDGE)                                       \
			}                                                               \
			col += (int16)(16);                                             \
			col = select(col, col - (int16)(W), col >= (int16)(W));         \
		}                                                                       \
	}                                                                               \
	__global float *out = part + po + ((size_t)p * C + c) * K * K;                  \
	EACH(OW1_ROW_STORE)                                                             \
}
#define OW1_TAPS ROW3
WF_KERNEL(3, EACH3)
#undef OW1_TAPS
#define OW1_TAPS ROW5
WF_KERNEL(5, EACH5)
#undef OW1_TAPS

/* conv_oc1_weight_flat_5x5 on zero-padded planes, no masks: for planes
 * whose padded copy stays in the L1 cache (SRCNN's 33x33 training
 * windows; nn/conv.c's pad5_fits).  dy comes in planes [B, H + 5, Wq]
 * (embed_phases: 2 zero rows above, 3 below, zero columns W to Wq - 1,
 * Wq = W + 4), and a work-item copies each x plane it walks into its area
 * of scr, rows of Wq floats: x's row r at row r + 2, column 2, the rest
 * zero.  Then tap (kh, kw) of the output at flat position q of the padded
 * dy plane is the input at q + kh*Wq + kw of the copy, with no wrap
 * across rows (ow + kw < Wq), and the outputs at dy's zero columns add
 * nothing: per vector j over x's rows in the copy the 5 windows
 * x[j + kw] and the 5 dy vectors at j - kh*Wq feed 25 FMAs, 10 loads
 * and no masks, and the 25 accumulators, 5 windows and one dy vector fit
 * the 32 registers (conv_oc1_weight_flat_5x5 spills 10 accumulators and
 * spends 5 selects a vector on the masks).  33 of a row's 37 lanes are
 * used against 1089 of 1104 there.  While a plane computes, the next
 * image's plane is asked for into L2, a line per vector (without it
 * 2.2-2.4 ms against the flat kernel's 1.7-1.8).  SRCNN's 5x5 32->1 at
 * 128 x 33^2, TOMOGAN_CL_TIMING=1, eight runs alternating, AMD EPYC:
 * median 1.69 ms (1.57-1.75) against 1.78 (1.70-1.85).  At 4 x 256^2,
 * where a padded plane is 270 KB, it took 4.0-4.7 ms against the flat
 * kernel's 2.9-3.0.  part [NP, C*25] as for the others, scr NP*C areas
 * of `area` floats, a multiple of 16 and at least (H + 4)*Wq + 32.
 * Dimension 0 over C, 1 over NP. */
#define OW1_TAPS ROW5
#define WP_WIN(kw) float16 v##kw = vload16(0, xj + kw);
#define WP_ROW(kh)                                                                      \
	{                                                                               \
		float16 d = vload16(0, gj - kh * Wq);                                   \
		ROW5(OW1_FMA, kh)                                                       \
	}
__kernel void conv_oc1_weight_pad_5x5(__global float *part, ulong po, __global const float *dyq,
                                      ulong dyo, __global const float *x, ulong xo,
                                      __global float *scr, ulong so, int B, int NP, int C, int H,
                                      int W, int Wq, int area)
{
	int c = get_global_id(0), p = get_global_id(1);
	if (c >= C)
		return;
	__global float *xs = scr + so + ((size_t)p * C + c) * area;
	for (int j = 0; j < area; j += 16)
		vstore16((float16)(0.0f), 0, xs + j);
	EACH5(OW1_ROW_INIT)
	int Q = H * Wq;
	for (int n = B * p / NP; n < B * (p + 1) / NP; n++) {
		__global const float *plane = x + xo + (size_t)(n * C + c) * H * W;
		for (int r = 0; r < H; r++) {
			__global const float *src = plane + (size_t)r * W;
			__global float *dst = xs + (size_t)(r + 2) * Wq + 2;
			int j = 0;
			for (; j + 16 <= W; j += 16)
				vstore16(vload16(0, src + j), 0, dst + j);
			if (j < W)
				vstore16(vload16(0, src + W - 16), 0, dst + W - 16);
		}
		__global const float *g = dyq + dyo + (size_t)n * (H + 5) * Wq + 2 * Wq;
		/* the next image's plane into L2 while this one computes */
		__global const float *nx = plane + (size_t)C * H * W;
		int nlim = n + 1 < B * (p + 1) / NP ? H * W : 0;
		for (int j0 = 0; j0 < Q; j0 += 16) {
			if (j0 < nlim)
				OT_HINT_L2(nx + j0);
			__global const float *xj = xs + 2 * Wq + j0, *gj = g + 2 * Wq + j0;
			EACH5(WP_WIN)
			EACH5(WP_ROW)
		}
	}
	__global float *out = part + po + ((size_t)p * C + c) * 25;
	const int KS = 5;
	EACH5(OW1_ROW_STORE)
}
#undef OW1_TAPS

/* conv_oc1_weight_flat_3x3 on rows of exactly 64 columns (the
 * generator's 64->1 layer): a work-item walks input channel c of its
 * images row by row; per input row, 4 aligned loads and the kw = 0 and
 * 2 windows by ROW64_WINDOWS (with all of them by lane shifts, median
 * 2.75 ms against 2.61 at 64 x 64^2, eight runs alternating,
 * TOMOGAN_CL_TIMING=1), each window multiplied by the dy rows of the up
 * to 3 output rows it reaches (from L1: a dy row serves three input
 * rows), 36 FMAs into 9 vector accumulators.  The flat kernel spilled
 * its accumulators: the generator's 64->1 weight gradient at 64 x 64^2
 * 2.8 ms there, 1.8-1.9 here.  Each row asks for the row CW3_AHEAD
 * floats on (into L2, OT_HINT_L2): without hints, 3.4 ms, as a
 * work-item's plane is new to the prefetcher; two sets of accumulators
 * against the FMAs' latency took 2.1.  part [NP, C*9] as for the
 * others.  Dimension 0 over C, 1 over NP. */
#define W64_FMA(kh, j)                                                                  \
	a##kh##0 = fma(d##j, p##j, a##kh##0), a##kh##1 = fma(d##j, v##j, a##kh##1);     \
	a##kh##2 = fma(d##j, n##j, a##kh##2);
#define W64_KH(kh)                                                                      \
	if (ih + 1 - kh >= 0 && ih + 1 - kh < H) {                                      \
		__global const float *gr = g + (size_t)(ih + 1 - kh) * 64;              \
		float16 d0 = vload16(0, gr), d1 = vload16(1, gr), d2 = vload16(2, gr),  \
		        d3 = vload16(3, gr);                                            \
		W64_FMA(kh, 0) W64_FMA(kh, 1) W64_FMA(kh, 2) W64_FMA(kh, 3)             \
	}
__kernel void conv_oc1_weight64_3x3(__global float *part, ulong po, __global const float *dy,
                                    ulong dyo, __global const float *x, ulong xo, int B, int NP,
                                    int C, int H, int W)
{
	int c = get_global_id(0), p = get_global_id(1);
	if (c >= C)
		return;
	size_t P = (size_t)H * 64;
	float16 a00 = (float16)(0.0f), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
	        a20 = a00, a21 = a00, a22 = a00;
	int nend = B * (p + 1) / NP;
	for (int n = B * p / NP; n < nend; n++) {
		__global const float *plane = x + xo + ((size_t)n * C + c) * P;
		__global const float *g = dy + dyo + (size_t)n * P;
		for (int ih = 0; ih < H; ih++) {
			__global const float *row = plane + (size_t)ih * 64;
			OT_HINT_L2(row + CW3_AHEAD), OT_HINT_L2(row + CW3_AHEAD + 16);
			OT_HINT_L2(row + CW3_AHEAD + 32), OT_HINT_L2(row + CW3_AHEAD + 48);
			float16 v0 = vload16(0, row), v1 = vload16(1, row);
			float16 v2 = vload16(2, row), v3 = vload16(3, row);
			ROW64_WINDOWS(row)
			W64_KH(0) W64_KH(1) W64_KH(2)
		}
	}
	__global float *out = part + po + ((size_t)p * C + c) * 9;
	out[0] = sum16(a00), out[1] = sum16(a01), out[2] = sum16(a02);
	out[3] = sum16(a10), out[4] = sum16(a11), out[5] = sum16(a12);
	out[6] = sum16(a20), out[7] = sum16(a21), out[8] = sum16(a22);
}

/* conv_c1_forward at stride S > 1 from the S*S phase planes of x, xq [S*S,
 * B, Hd, Wd] (nn/conv.c's c1_phases_embed, qh0 = floor(-PH / S), qw0 =
 * floor(-PW / S)): with kh - PH = S*qh + rh and kw - PW = S*qw + rw, tap
 * (kh, kw) of output (oh, ow) is row oh + qh - qh0, column ow + qw - qw0 of
 * phase (rh, rw), so the window of a tap for 16 outputs is one plain load,
 * where conv_c1_forward staged strided windows through a private array
 * (the critic's stride-2 1->64 layer at 64 x 64^2: 0.86-0.95 -> 0.43-0.44
 * ms, and 0.035 ms to make the planes; bench_conv).
 * The planes hold zeros around the image and reach the last vector of a
 * row.  The taps are summed in conv_c1_forward's order.  Dimension 0 over
 * the 16-column vectors of a row, 1 over OH, 2 over B times the blocks of
 * 16 channels. */
__kernel void conv_c1_phases_forward(__global float *y, ulong yo, __global const float *xq,
                                     ulong xqo, __global const float *wt, ulong wo,
                                     __global const float *b, ulong bo, int has_b, int OC,
                                     int B, int Hd, int Wd, int KH, int KW, int S, int PH,
                                     int PW, int OH, int OW, int act, float slope)
{
	int col0 = (int)get_global_id(0) * 16, oh = get_global_id(1), z = get_global_id(2);
	if (col0 >= OW || oh >= OH)
		return;
	int nob = (OC + 15) / 16;
	int n = z / nob, oc0 = (z - n * nob) * 16;
	int qh0 = floor_div(-PH, S), qw0 = floor_div(-PW, S);
	C1_EACH(C1_INIT)
	for (int kh = 0; kh < KH; kh++) {
		int qh = floor_div(kh - PH, S), rh = kh - PH - qh * S;
		__global const float *wk = wt + wo + (size_t)kh * KW * OC + oc0;
		for (int kw = 0; kw < KW; kw++) {
			int qw = floor_div(kw - PW, S), rw = kw - PW - qw * S;
			float16 v = vload16(0, xq + xqo + (((size_t)(rh * S + rw) * B + n) * Hd + oh +
			                                  qh - qh0) * Wd + col0 + qw - qw0);
			C1_EACH(C1_FMA)
		}
	}
	int nl = min(16, OW - col0);
	__global float *out = y + yo + ((size_t)(n * OC + oc0) * OH + oh) * OW + col0;
	int nt = C1_NT(out, nl, OH * OW);
	C1_EACH(C1_STORE)
}

/* conv_c1_phases_forward with each output channel's outputs stored as
 * runs: a work-item computes a band of R output rows of one image for 4
 * channels, in chunks of up to 4 vectors of the band taken as one flat
 * row (at OW = 32 a chunk is two rows): per tap 4 window loads, 4 weight
 * broadcasts and 16 FMAs.  Each channel's chunk is stored as one run,
 * and a channel's band is one run of R*OW floats.  conv_c1_phases_forward
 * writes 16 planes 64 bytes at a time (see conv_c1_s1_forward) and per
 * tap loads 16 weight broadcasts for one window.  A first form of this
 * kernel with a chunk per row left half its lanes idle at 32 columns and
 * took as long as conv_c1_phases_forward (1.4-2.0 ms), with or without
 * the two divisions per tap that find the phase (it now steps without
 * them).  The critic's stride-2 1->64 forward at 64 x 64^2: 1.8-1.9 ->
 * 1.1-1.3 ms (bench_conv, three runs alternating ctx->s2_direct).  OW a
 * multiple of 16, OC of 4.  Dimension 0 over the blocks of 4 output
 * channels, 1 over the bands, 2 over B. */
__kernel void conv_c1_phases_runs(__global float *y, ulong yo, __global const float *xq,
                                  ulong xqo, __global const float *wt, ulong wo,
                                  __global const float *b, ulong bo, int has_b, int OC, int B,
                                  int Hd, int Wd, int KH, int KW, int S, int PH, int PW, int OH,
                                  int OW, int R, int act, float slope)
{
	int oc0 = (int)get_global_id(0) * 4, oh0 = (int)get_global_id(1) * R;
	int n = get_global_id(2);
	if (oc0 >= OC || oh0 >= OH)
		return;
	int qh0 = floor_div(-PH, S), qw0 = floor_div(-PW, S);
	size_t plane = (size_t)OH * OW, pstride = (size_t)B * Hd * Wd;
	__global float *out = y + yo + (size_t)(n * OC + oc0) * plane;
	int nt = NT_OK && (((ulong)out | (plane * 4)) & 63) == 0 &&
	         (size_t)get_global_size(2) * OC * plane * 4 >= NT_BYTES;
	__global const float *xn = xq + xqo + (size_t)n * Hd * Wd;
	int f1 = min(OH, oh0 + R) * OW;
	for (int c0 = oh0 * OW; c0 < f1; c0 += 64) {
		int nv = min(4, (f1 - c0) / 16);
		/* vector j's first output: row r##j, column m##j */
#define PR_BASE(j)                                                                        \
	int r##j = (c0 + 16 * j) / OW, m##j = c0 + 16 * j - r##j * OW;                    \
	__global const float *x##j = xn + (size_t)r##j * Wd + m##j;
		S4_EACH(PR_BASE)
		S4_EACH_OJ(S4_INIT)
		__global const float *wk = wt + wo + oc0;
		/* kh - PH = S*qh + rh, kw - PW = S*qw + rw, stepped without
		 * divisions */
		for (int kh = 0, qh = qh0, rh = -PH - qh0 * S; kh < KH; kh++) {
			for (int kw = 0, qw = qw0, rw = -PW - qw0 * S; kw < KW; kw++, wk += OC) {
				size_t off = (size_t)(rh * S + rw) * pstride + (size_t)(qh - qh0) * Wd +
				             qw - qw0;
#define PR_LOAD(j) float16 v##j = j < nv ? vload16(0, x##j + off) : (float16)(0.0f);
				S4_EACH(PR_LOAD)
#define PR_TAP(o, j) a##o##j = fma((float16)(wk[o]), v##j, a##o##j);
				S4_EACH_OJ(PR_TAP)
				if (++rw == S)
					rw = 0, qw++;
			}
			if (++rh == S)
				rh = 0, qh++;
		}
		S4_EACH_OJ(S4_STORE)
	}
}

/* conv_c1_phases_runs for the 3x3 convs of stride 2 and padding 1 with
 * W = 2*OW (nn/conv.c's s2_direct_ok, here with one input channel)
 * straight from x [B, 1, H, W], without the copy into phase planes: per
 * kernel row, each vector's 32 input columns give its three windows by
 * S2_ROW_AT (two aligned loads, three shuffles), as in conv_s2_forward;
 * rows outside the image add nothing.  The taps are summed in
 * conv_c1_phases_runs' order, so the sums are the same.  Same work-items
 * and weights wt [9, OC]. */
__kernel void conv_c1_s2_runs(__global float *y, ulong yo, __global const float *x, ulong xo,
                              __global const float *wt, ulong wo, __global const float *b,
                              ulong bo, int has_b, int OC, int B, int H, int W, int OH, int OW,
                              int R, int act, float slope)
{
	int oc0 = (int)get_global_id(0) * 4, oh0 = (int)get_global_id(1) * R;
	int n = get_global_id(2);
	if (oc0 >= OC || oh0 >= OH)
		return;
	size_t plane = (size_t)OH * OW;
	__global float *out = y + yo + (size_t)(n * OC + oc0) * plane;
	int nt = NT_OK && (((ulong)out | (plane * 4)) & 63) == 0 &&
	         (size_t)get_global_size(2) * OC * plane * 4 >= NT_BYTES;
	__global const float *xn = x + xo + (size_t)n * H * W;
	int f1 = min(OH, oh0 + R) * OW;
	for (int c0 = oh0 * OW; c0 < f1; c0 += 64) {
		int nv = min(4, (f1 - c0) / 16);
		/* vector j's first output: row r##j, column m##j */
#define SR_BASE(j) int r##j = (c0 + 16 * j) / OW, m##j = c0 + 16 * j - r##j * OW;
		S4_EACH(SR_BASE)
		S4_EACH_OJ(S4_INIT)
		__global const float *wk = wt + wo + oc0;
		for (int kh = 0; kh < 3; kh++, wk += 3 * OC) {
			/* one vector's windows at a time: 16 sums and 3
			 * windows live (half the registers of narrow vectors
			 * hold them all) */
#define SR_TAP(o, j)                                                                      \
	a##o##j = fma((float16)(wk[o]), u0, a##o##j);                                     \
	a##o##j = fma((float16)(wk[OC + o]), u1, a##o##j);                                \
	a##o##j = fma((float16)(wk[2 * OC + o]), u2, a##o##j);
#define SR_VEC(j)                                                                         \
	if (j < nv) {                                                                     \
		int i_ = 2 * r##j + kh - 1;                                               \
		__global const float *p_ = xn + (size_t)(i_ >= 0 ? i_ : 0) * W + 2 * m##j; \
		S2_ROW_AT(u, i_ >= 0 && i_ < H, p_, m##j > 0)                             \
		SR_TAP(0, j) SR_TAP(1, j) SR_TAP(2, j) SR_TAP(3, j)                       \
	}
			S4_EACH(SR_VEC)
		}
		S4_EACH_OJ(S4_STORE)
	}
}

/* Weight and bias gradients of a 3x3 conv of any stride S with one input
 * channel, from the phase planes xq [S*S, B, Hd, Wd] of x that
 * conv_c1_phases_forward reads (at stride 1 the one plane of x
 * zero-padded): part [NP, OC, 9] and partb [NP, OC] hold, for the images of
 * part p, the sums of dy * x at each tap and of dy.  A work-item takes two
 * output channels over the images of its part and reads their dy rows in
 * order (each value of dy once, the bias gradient with it); per vector of
 * 16 columns, the window of each tap is one plain load at a fixed offset
 * (CP_OFF) from the vector's row, for two FMAs into named accumulators.
 * Lanes past OW have dy = 0 and padding zeros in the planes, so they add
 * nothing.  The kernels it replaces read x itself, with two masked loads
 * per window row (at stride 2 also a scalar and three shuffles); the
 * critic's 1->64 layers at 64 x 64^2, weight and bias gradients: stride 1
 * 2.72-2.88 -> 1.63-1.72 ms, stride 2 0.95-1.02 -> 0.35-0.39 ms (bench_conv).
 * Dimension 0 over the pairs of output channels, 1 over NP. */
#define CW3_INIT_ROW(kh) ROW3(CW3_INIT, kh)
#define CW3_INIT(kh, kw) float16 a##kh##kw = (float16)(0.0f), e##kh##kw = (float16)(0.0f);
#define CW3_STORE_ROW(kh) ROW3(CW3_STORE, kh)
#define CW3_STORE(kh, kw)                                                               \
	out[kh * 3 + kw] = sum16(a##kh##kw);                                            \
	if (two)                                                                        \
		out[9 + kh * 3 + kw] = sum16(e##kh##kw);
#define CP_OFF(kh, kw)                                                                  \
	size_t o##kh##kw;                                                               \
	{                                                                               \
		int qh = floor_div(kh - PH, S), qw = floor_div(kw - PW, S);             \
		int ph = (kh - PH - qh * S) * S + kw - PW - qw * S;                     \
		o##kh##kw = ((size_t)ph * B * Hd + qh - qh0) * Wd + qw - qw0;           \
	}
#define CP_OFF_ROW(kh) ROW3(CP_OFF, kh)
#define CP_FMA(kh, kw)                                                                  \
	{                                                                               \
		float16 v = LD16U(xr + o##kh##kw);                                      \
		a##kh##kw = fma(d0, v, a##kh##kw);                                      \
		e##kh##kw = fma(d1, v, e##kh##kw);                                      \
	}
#define CP_ROW(kh) ROW3(CP_FMA, kh)
/* dy read from memory (more than L3_BYTES, the stride-1 layer's 64 MiB):
 * into L2 only, 4.18 / 4.95 ms against 4.87 / 6.05 with prefetcht0;
 * dy that L3 holds (the stride-2 layer's 16 MiB): into L1, 1.03 / 1.75
 * ms against 1.29 / 2.41 (medians of 8 runs alternating, two sets).
 * Near a plane's end the hints ask for the next image's planes of the
 * work-item's part (they reached into other channels' planes): at 64 x
 * 64^2, stride 1, 2.64-3.08 -> 2.24-2.57 ms (two sets of 6 runs
 * alternating), stride 2 0.62-0.75 -> 0.61-0.70 ms (one set).
 * conv_oc1_weight64_3x3 keeps its hints: with one part per image, the
 * next channel's plane past its own is the next work-item's, and hints
 * to the next image there took 2.95-3.64 ms against 2.59-2.93. */
#define CP_HINT(p) (deep ? OT_HINT_L2(p) : OT_HINT(p))
/* Image n's dy planes of the work-item's channels (g0, g1), their size pl
 * and the step nxt to the next image's of its part (0 at its last) */
#define CP_PLANES                                                                       \
	__global const float *g0 = dy + dyo + (size_t)(n * OC + oc0) * OH * OW;         \
	__global const float *g1 = two ? g0 + (size_t)OH * OW : g0;                     \
	size_t pl = (size_t)OH * OW, nxt = n + 1 < B * (p + 1) / NP ? (size_t)OC * pl : 0;
/* the hints CW3_AHEAD past dy's vector at, past the plane's end in the
 * next image's planes */
#define CP_HINTS(at)                                                                    \
	{                                                                               \
		size_t ah = (at) + CW3_AHEAD;                                           \
		ah = ah < pl ? ah : ah - pl + nxt;                                      \
		CP_HINT(g0 + ah);                                                       \
		CP_HINT(g1 + ah);                                                       \
	}
/* the part's sums of the work-item's channels */
#define CP_FINISH                                                                       \
	__global float *out = part + po + ((size_t)p * OC + oc0) * 9;                   \
	EACH3(CW3_STORE_ROW)                                                            \
	partb[pbo + (size_t)p * OC + oc0] = sum16(b0);                                  \
	if (two)                                                                        \
		partb[pbo + (size_t)p * OC + oc0 + 1] = sum16(b1);
__kernel void conv_c1_weight_3x3_phases(__global float *part, ulong po, __global float *partb,
                                        ulong pbo, __global const float *dy, ulong dyo,
                                        __global const float *xq, ulong xqo, int B, int NP,
                                        int OC, int Hd, int Wd, int S, int PH, int PW, int OH,
                                        int OW)
{
	int oc0 = (int)get_global_id(0) * 2, p = get_global_id(1);
	if (oc0 >= OC)
		return;
	int two = OC - oc0 > 1;
	int qh0 = floor_div(-PH, S), qw0 = floor_div(-PW, S);
	__global const float *end = dy + dyo + (size_t)B * OC * OH * OW;
	EACH3(CP_OFF_ROW)
	EACH3(CW3_INIT_ROW)
	float16 b0 = (float16)(0.0f), b1 = (float16)(0.0f);
	int deep = (size_t)B * OC * OH * OW * sizeof(float) > L3_BYTES;
	for (int n = B * p / NP; n < B * (p + 1) / NP; n++) {
		__global const float *xn = xq + xqo + (size_t)n * Hd * Wd;
		CP_PLANES
		for (int oh = 0; oh < OH; oh++)
			for (int col0 = 0; col0 < OW; col0 += 16) {
				int nl = min(16, OW - col0);
				size_t at = (size_t)oh * OW + col0;
				CP_HINTS(at)
				float16 d0 = load16_room(g0 + at, nl, room16(g0 + at, end));
				float16 d1 = load16_room(g1 + at, nl, room16(g1 + at, end));
				b0 += d0;
				b1 += d1;
				__global const float *xr = xn + (size_t)oh * Wd + col0;
				EACH3(CP_ROW)
			}
	}
	CP_FINISH
}

/* xw [B, 2*OH + 1, 3, OW] = the windows of x [B, 1, H, W] for a 3x3
 * conv of stride 2 and padding 1 with W = 2*OW, OW a multiple of 16
 * (nn/conv.c's s2_direct_ok): row r, window kw, column j holds input row
 * r - 1, column 2*j + kw - 1 (0 outside the image), so that the taps
 * (kh, kw) of output row oh are the rows of 2*oh*3*OW + (kh*3 + kw)*OW,
 * nine aligned rows OW apart.  Each input row's 32 columns per vector by
 * S2_ROW_AT.  Dimension 0 over the rows r, 1 over B. */
__kernel void embed_s2_windows(__global float *xw, ulong xwo, __global const float *x, ulong xo,
                               int H, int W, int OH, int OW)
{
	int r = get_global_id(0), n = get_global_id(1), ih = r - 1;
	if (r > 2 * OH)
		return;
	__global float *out = xw + xwo + ((size_t)n * (2 * OH + 1) + r) * 3 * OW;
	__global const float *row = x + xo + ((size_t)n * H + (ih >= 0 ? ih : 0)) * W;
	for (int col0 = 0; col0 < OW; col0 += 16) {
		__global const float *p = row + 2 * col0;
		S2_ROW_AT(u, ih >= 0 && ih < H, p, col0 > 0)
		ST16U(u0, out + col0);
		ST16U(u1, out + OW + col0);
		ST16U(u2, out + 2 * OW + col0);
	}
}

/* conv_c1_weight_3x3_phases for the 3x3 convs of stride 2 and padding 1
 * with W = 2*OW, OW a multiple of 16 (s2_direct_ok, here with one input
 * channel), from the windows xw of embed_s2_windows: the nine windows of
 * a vector of dy are aligned loads OW apart from one pointer.  On the
 * phase planes (33 floats wide at the critic's 64x64 input) most window
 * loads crossed two cache lines and the nine offsets did not stay in
 * the registers.  Same parts, order of sums and work-items. */
#define CS_FMA(kh, kw)                                                                  \
	{                                                                               \
		float16 v = LD16U(xr + (kh * 3 + kw) * OW);                             \
		a##kh##kw = fma(d0, v, a##kh##kw);                                      \
		e##kh##kw = fma(d1, v, e##kh##kw);                                      \
	}
#define CS_ROW(kh) ROW3(CS_FMA, kh)
__kernel void conv_c1_weight_s2(__global float *part, ulong po, __global float *partb, ulong pbo,
                                __global const float *dy, ulong dyo, __global const float *xw,
                                ulong xwo, int B, int NP, int OC, int OH, int OW)
{
	int oc0 = (int)get_global_id(0) * 2, p = get_global_id(1);
	if (oc0 >= OC)
		return;
	int two = OC - oc0 > 1;
	EACH3(CW3_INIT_ROW)
	float16 b0 = (float16)(0.0f), b1 = (float16)(0.0f);
	int deep = (size_t)B * OC * OH * OW * sizeof(float) > L3_BYTES;
	for (int n = B * p / NP; n < B * (p + 1) / NP; n++) {
		__global const float *xn = xw + xwo + (size_t)n * (2 * OH + 1) * 3 * OW;
		CP_PLANES
		for (int oh = 0; oh < OH; oh++)
			for (int col0 = 0; col0 < OW; col0 += 16) {
				size_t at = (size_t)oh * OW + col0;
				CP_HINTS(at)
				float16 d0 = LD16U(g0 + at), d1 = LD16U(g1 + at);
				b0 += d0;
				b1 += d1;
				__global const float *xr = xn + (size_t)oh * 6 * OW + col0;
				EACH3(CS_ROW)
			}
	}
	CP_FINISH
}

/* y [B, 1, H, W] = w [1, C, 3, 3] * x (+ b[0] if has_b) with padding 1
 * on rows of 49 to 64 columns (four vectors), one work-item per image.
 * It takes the input channel by channel, and each channel's plane from
 * its first row to its last, so that it reads the input as one run of
 * memory; the output image (16 KiB at 64 x 64) stays in L1 as the sums
 * so far.  Per band of 4 output rows it loads those sums (the bias for
 * the first channel) into sixteen vector accumulators, reads the 6 input
 * rows that the band needs and stores the sums back: per input row and
 * vector, 3 windows (loads), each added into the up to 3 output rows
 * whose kernel covers that row, 144 FMAs per 16 loads and 16 stores of
 * sums.  Windows that reach past a row end (the first vector's left one,
 * the right ones of the last) are masked.  Each band also asks for the
 * same rows of the next channel's plane (prefetch hints, OT_HINT), a
 * plane of work ahead of their use: 2.4-2.5 -> 2.1 ms below (two planes
 * ahead: no faster).  conv_oc1_tile_3x3, which reads 16 columns of 10
 * rows of every channel per work-item, waited on memory at every
 * channel: the generator's 64->1 layer at 64 x 64^2 in 3.5-3.8 ms,
 * against 2.1 here (a band of 4 rows per work-item over all channels,
 * sums in registers: 4.2-4.6 ms; two channels per band, interleaving two
 * runs of memory: 3.8-4.0 ms; bench_conv, TOMOGAN_CL_TIMING=1).  The arguments after C, H and W are those of
 * the other kernels of one output channel (KH = KW = 3, stride 1, padding
 * 1, OH = H, OW = W here).  Dimensions 0 and 1 unused (1), 2 over B. */
#define ST_EACHQJ(X) X(0, 0) X(0, 1) X(0, 2) X(0, 3) X(1, 0) X(1, 1) X(1, 2) X(1, 3) \
	X(2, 0) X(2, 1) X(2, 2) X(2, 3) X(3, 0) X(3, 1) X(3, 2) X(3, 3)
#define ST_P0(F, j, kw) F(0, 0, j, kw)
#define ST_P1(F, j, kw) F(1, 0, j, kw) F(0, 1, j, kw)
#define ST_P2(F, j, kw) F(2, 0, j, kw) F(1, 1, j, kw) F(0, 2, j, kw)
#define ST_P3(F, j, kw) F(3, 0, j, kw) F(2, 1, j, kw) F(1, 2, j, kw)
#define ST_P4(F, j, kw) F(3, 1, j, kw) F(2, 2, j, kw)
#define ST_P5(F, j, kw) F(3, 2, j, kw)
#define ST_FMA(q, kh, j, kw) a##q##j = fma((float16)(wc[kh * 3 + kw]), v, a##q##j);
#define ST_WIN(P, j, kw)                                                                \
	{                                                                               \
		int s = 16 * j + kw - 1;                                                \
		float16 v = s >= 0 && s + 16 <= W ? vload16(0, row + s)                 \
		                                  : window_masked(row, ih, s, W, H);    \
		P(ST_FMA, j, kw)                                                        \
	}
#define ST_VEC(P, j) ST_WIN(P, j, 0) ST_WIN(P, j, 1) ST_WIN(P, j, 2)
#define ST_ROW(r)                                                                       \
	{                                                                               \
		int ih = ih0 + r;                                                       \
		if (ih >= 0 && ih < H) {                                                \
			__global const float *row = plane + (size_t)ih * W;             \
			ST_VEC(ST_P##r, 0) ST_VEC(ST_P##r, 1)                           \
			ST_VEC(ST_P##r, 2) ST_VEC(ST_P##r, 3)                           \
		}                                                                       \
	}
#define ST_STORE(q, j)                                                                  \
	if (oh0 + q < H && 16 * j < W)                                                  \
		store16(out + (size_t)q * W + 16 * j, min(16, W - 16 * j), a##q##j);
#define ST_LOADACC(q, j)                                                                \
	float16 a##q##j = c == 0 ? bias                                                 \
	                  : oh0 + q < H && 16 * j < W                                   \
	                            ? load16(out + (size_t)q * W + 16 * j, min(16, W - 16 * j)) \
	                            : (float16)(0.0f);
__kernel void conv_oc1_strip_3x3(__global float *y, ulong yo, __global const float *x,
                                 ulong xo, __global const float *w, ulong wo,
                                 __global const float *b, ulong bo, int has_b, int C, int H,
                                 int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH,
                                 int OW)
{
	int n = get_global_id(2);
	float16 bias = (float16)(has_b ? b[bo] : 0.0f);
	for (int c = 0; c < C; c++) {
		__global const float *plane = x + xo + (size_t)(n * C + c) * H * W;
		__global const float *wc = w + wo + (size_t)c * 9;
		for (int oh0 = 0; oh0 < H; oh0 += 4) {
			__global float *out = y + yo + ((size_t)n * H + oh0) * W;
			ST_EACHQJ(ST_LOADACC)
			int ih0 = oh0 - 1;
			if (c + 1 < C) {
				__global const float *nx = plane + (size_t)H * W + (size_t)oh0 * W;
				int e = min(4, H - oh0) * W;
				for (int k = 0; k < e; k += 16)
					OT_HINT(nx + k);
			}
			ST_ROW(0) ST_ROW(1) ST_ROW(2) ST_ROW(3) ST_ROW(4) ST_ROW(5)
			ST_EACHQJ(ST_STORE)
		}
	}
}

/* conv_oc1_strip_3x3 on rows of exactly 64 columns, in bands of 2 output
 * rows, 8 accumulators: per input row, 4 aligned loads, and the kw = 0
 * and 2 windows as unaligned loads inside the row and lane shifts
 * (LANE_PREV, LANE_NEXT) with zeros past the row ends for the first and
 * the last vector, with no masked loads.  With all six windows by lane
 * shifts (RUN4_WINDOWS, on the FMAs' ports) it took 2.68-3.68 ms at 64 x
 * 64^2 against 2.26-3.84, median 2.80 against 2.64 (eleven runs
 * alternating, TOMOGAN_CL_TIMING=1).  The 4-row strip kept 16
 * accumulators, 9 weights and its windows live across branches for the
 * masked ones and spilled (about 6 stack moves per FMA in PoCL's code).
 * The order of the work is the strip's: channel by channel, each plane
 * from its first row to its last, the sums so far in the output image
 * (L1).  Each band asks for the two rows CW3_AHEAD floats on (into the
 * next channel's plane near the end: 1.74-1.81 ms at 64 x 64^2 against
 * 1.93-2.02 for the strip's hints of the next channel's band).  The sums
 * are taken in the strip's order per channel (kh, then kw).  Dimensions
 * 0 and 1 unused, 2 over B. */
#define S64_EACHQJ(X) X(0, 0) X(0, 1) X(0, 2) X(0, 3) X(1, 0) X(1, 1) X(1, 2) X(1, 3)
#define S64_EACHJ(X) X(0) X(1) X(2) X(3)
/* a##q##j += row's windows of vector j times kernel row kh */
#define S64_FMA(q, kh, j)                                                               \
	a##q##j = fma((float16)(wc[kh * 3]), p##j, a##q##j);                            \
	a##q##j = fma((float16)(wc[kh * 3 + 1]), v##j, a##q##j);                        \
	a##q##j = fma((float16)(wc[kh * 3 + 2]), n##j, a##q##j);
#define S64_R0(j) S64_FMA(0, 0, j)
#define S64_R1(j) S64_FMA(1, 0, j) S64_FMA(0, 1, j)
#define S64_R2(j) S64_FMA(1, 1, j) S64_FMA(0, 2, j)
#define S64_R3(j) S64_FMA(1, 2, j)
#define S64_ROW(r)                                                                      \
	{                                                                               \
		int ih = oh0 - 1 + r;                                                   \
		if (ih >= 0 && ih < H) {                                                \
			__global const float *row = plane + (size_t)ih * 64;            \
			float16 v0 = vload16(0, row), v1 = vload16(1, row);             \
			float16 v2 = vload16(2, row), v3 = vload16(3, row);             \
			ROW64_WINDOWS(row)                                              \
			S64_EACHJ(S64_R##r)                                             \
		}                                                                       \
	}
#define S64_LOADACC(q, j)                                                               \
	float16 a##q##j = c == 0 || oh0 + q >= H ? bias : vload16(0, out + q * 64 + 16 * j);
#define S64_STORE(q, j)                                                                 \
	if (oh0 + q < H)                                                                \
		vstore16(a##q##j, 0, out + q * 64 + 16 * j);
__kernel void conv_oc1_strip64_3x3(__global float *y, ulong yo, __global const float *x,
                                   ulong xo, __global const float *w, ulong wo,
                                   __global const float *b, ulong bo, int has_b, int C, int H,
                                   int W, int KH, int KW, int SH, int SW, int PH, int PW,
                                   int OH, int OW)
{
	int n = get_global_id(2);
	float16 bias = (float16)(has_b ? b[bo] : 0.0f);
	for (int c = 0; c < C; c++) {
		__global const float *plane = x + xo + (size_t)(n * C + c) * H * 64;
		__global const float *wc = w + wo + (size_t)c * 9;
		for (int oh0 = 0; oh0 < H; oh0 += 2) {
			__global float *out = y + yo + ((size_t)n * H + oh0) * 64;
			S64_EACHQJ(S64_LOADACC)
			for (int k = 0; k < 128; k += 16)
				OT_HINT_L2(plane + (size_t)oh0 * 64 + CW3_AHEAD + k);
			S64_ROW(0) S64_ROW(1) S64_ROW(2) S64_ROW(3)
			S64_EACHQJ(S64_STORE)
		}
	}
}

/* Weight gradient of a 1x1 conv (stride 1, no padding) of x [B, C, S]
 * into dy [B, OC, S], and with has_b its bias gradient: part [NP, OC, C]
 * holds, for the pixels [q*SPAN, (q+1)*SPAN) of image n (part p = n*G +
 * q, G spans per image), the sums of dy[oc] * x[c], and partb [NP, OC]
 * those of dy[oc].  A work-item takes a span and walks it in ranges of L
 * pixels (a multiple of 16); per range, block of 4 output channels and
 * block of 4 input channels, per 16 pixels, 8 loads and 16 FMAs into
 * vector accumulators, whose lane sums it adds to its part.  A block's 4
 * rows of dy (32 KiB at L = 2048) stay in L1 while the blocks of x pass,
 * and the range's x (C rows) stays in L2 over the blocks of output
 * channels.  One work-item per 4 x 4 channels over a whole image read x
 * and dy from L3 or memory once per block: SRCNN's 1x1 64->32 at 4 x
 * 256^2 took 9.2 ms and the bias gradient 0.9 ms more, against 5.4-5.6
 * ms for both here (ranges of 1024: 5.4, 4096: 6.5; one work-item per
 * block of output channels, each over a span of 8 ranges: 6.3, since x
 * no longer stayed in L2 between them; bench_conv, TOMOGAN_CL_TIMING=1).
 * Channels past OC or C read the last one and are not stored.
 * Dimension 0 over the G spans, 1 over B. */
#define PW_EACH(X) X(0, 0) X(0, 1) X(0, 2) X(0, 3) X(1, 0) X(1, 1) X(1, 2) X(1, 3) \
	X(2, 0) X(2, 1) X(2, 2) X(2, 3) X(3, 0) X(3, 1) X(3, 2) X(3, 3)
__kernel void conv_pointwise_weight(__global float *part, ulong po, __global float *partb,
                                    ulong pbo, int has_b, __global const float *dy, ulong dyo,
                                    __global const float *x, ulong xo, int B, int OC, int C,
                                    int S, int G, int SPAN, int L)
{
	int q = get_global_id(0), n = get_global_id(1);
	if (q >= G)
		return;
	int s0 = q * SPAN, s1 = min(S, s0 + SPAN);
	__global const float *gend = dy + dyo + (size_t)B * OC * S;
	__global const float *xend = x + xo + (size_t)B * C * S;
	size_t p = (size_t)n * G + q;
	__global float *out = part + po + p * OC * C;
	__global float *outb = partb + pbo + p * OC;
	for (int k = 0; k < OC * C; k++)
		out[k] = 0.0f;
	for (int k = 0; k < OC; k++)
		outb[k] = 0.0f;
	for (int i0 = s0; i0 < s1; i0 += L) {
		int i1 = min(s1, i0 + L);
		for (int oc0 = 0; oc0 < OC; oc0 += 4) {
#define PW_GPTR(i) \
	__global const float *g##i = dy + dyo + ((size_t)n * OC + min(oc0 + i, OC - 1)) * S;
			PW4_EACH(PW_GPTR)
			if (has_b) {
#define PW_BINIT(o) float16 b##o = (float16)(0.0f);
				PW4_EACH(PW_BINIT)
				for (int i = i0; i < i1; i += 16) {
					int nl = min(16, i1 - i);
#define PW_BIAS(i_) b##i_ += load16_room(g##i_ + i, nl, room16(g##i_ + i, gend));
					PW4_EACH(PW_BIAS)
				}
#define PW_BADD(o)                                                                  \
	if (oc0 + o < OC)                                                            \
		outb[oc0 + o] += sum16(b##o);
				PW4_EACH(PW_BADD)
			}
			for (int c0 = 0; c0 < C; c0 += 4) {
#define PW_INIT(o, c) float16 a##o##c = (float16)(0.0f);
				PW_EACH(PW_INIT)
#define PW_XPTR(i) \
	__global const float *x##i = x + xo + ((size_t)n * C + min(c0 + i, C - 1)) * S;
				PW4_EACH(PW_XPTR)
				for (int i = i0; i < i1; i += 16) {
					int nl = min(16, i1 - i);
#define PW_LOAD(i_)                                                                     \
	float16 d##i_ = load16_room(g##i_ + i, nl, room16(g##i_ + i, gend));            \
	float16 v##i_ = load16_room(x##i_ + i, nl, room16(x##i_ + i, xend));
					PW4_EACH(PW_LOAD)
#define PW_FMA(o, c) a##o##c = fma(d##o, v##c, a##o##c);
					PW_EACH(PW_FMA)
				}
#define PW_ADD(o, c)                                                                \
	if (oc0 + o < OC && c0 + c < C)                                              \
		out[(size_t)(oc0 + o) * C + c0 + c] += sum16(a##o##c);
				PW_EACH(PW_ADD)
			}
		}
	}
}

/* conv_pointwise_weight for 32 output channels and C a multiple of 8
 * (SRCNN's 1x1 64->32), with dy channels last in the cache: a work-item
 * takes units of up to R pixels of one image ([U*p/NP, U*(p+1)/NP) of
 * the U = B * ceil(S/R)), copies the unit's dy into its scratch as [R,
 * 32] by 16x16 tiles (T16_*; the bias gradient from them, a last partial
 * tile by scalars), then runs over the input channels in blocks of 8:
 * per pixel, its 32 gradients as 2 vectors and the block's 8 inputs as
 * broadcasts feed 16 FMAs, every lane useful and no sums across lanes.
 * The sums live in the work-item's scratch [C, 32] between units and go
 * to part [NP, 32, C] (w's layout) at the end, those of dy to pb [NP,
 * 32] if has_b.  Each pixel asks for a line of the next block's rows
 * every other pixel.  SRCNN's 1x1 64->32 backward at 128 x 33^2 went
 * 11.4-12.5 -> 8.9-9.6 ms (bench_conv, alternating ctx->c1_last).  scr
 * holds NP areas of (R + C) * 32 floats at so, a multiple of 16.
 * Dimension 0 over NP. */
#define PC_EACH8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
__kernel void conv_pointwise_weight_cl(__global float *part, ulong po, __global float *pb,
                                       ulong pbo, int has_b, __global float *scr, ulong so,
                                       __global const float *dy, ulong dyo,
                                       __global const float *x, ulong xo, int B, int NP, int C,
                                       int S, int R, int narrow)
{
	int p = get_global_id(0);
	if (p >= NP)
		return;
	int nch = (S + R - 1) / R, U = B * nch;
	__global float *s = scr + so + (size_t)p * ((size_t)R + C) * 32;
	__global float *acc = s + (size_t)R * 32;
	for (int i = 0; i < C * 32; i += 16)
		vstore16((float16)(0.0f), 0, acc + i);
	float16 b0 = (float16)(0.0f), b1 = b0;
	for (int u = (int)((long)U * p / NP); u < (int)((long)U * (p + 1) / NP); u++) {
		int n = u / nch, q0 = (u - n * nch) * R, nq = min(R, S - q0), q = 0;
		__global const float *g = dy + dyo + (size_t)n * 32 * S + q0;
#define PC_TILE(v) DY_LAST_TILES(v, g, S, s, 32)
#define PC_EACH2(X) X(0) X(1)
		PC_EACH2(PC_TILE)
		DY_LAST_TAIL(g, S, s, 32, PC_EACH2)
		__global const float *xb = x + xo + (size_t)n * C * S + q0;
		/* narrow vectors (AVX2): 4 inputs by 16 gradients at a time, 4
		 * float16 accumulators; the 8-by-32 block's 16 spill there */
		for (int c0 = 0; narrow && c0 < C; c0 += 4)
			for (int v = 0; v < 2; v++) {
				__global float *at = acc + (size_t)c0 * 32 + 16 * v;
#define PCN_LOAD(i) float16 a##i = vload16(0, at + 32 * i); \
	__global const float *x##i = xb + (size_t)(c0 + i) * S;
				S4_EACH(PCN_LOAD)
				for (int k = 0; k < nq; k++) {
					if (v == 0 && (k & 3) == 0)
						OT_HINT(x0 + (size_t)4 * S + 4 * k);
					float16 d = vload16(0, s + (size_t)k * 32 + 16 * v);
#define PCN_FMA(i) a##i = fma((float16)(x##i[k]), d, a##i);
					S4_EACH(PCN_FMA)
				}
#define PCN_STORE(i) vstore16(a##i, 0, at + 32 * i);
				S4_EACH(PCN_STORE)
			}
		for (int c0 = 0; !narrow && c0 < C; c0 += 8) {
			__global float *at = acc + (size_t)c0 * 32;
#define PC_LOAD(i) float16 a##i##0 = vload16(0, at + 32 * i), a##i##1 = vload16(1, at + 32 * i); \
	__global const float *x##i = xb + (size_t)(c0 + i) * S;
			PC_EACH8(PC_LOAD)
			for (int k = 0; k < nq; k++) {
				/* the next block's 8 rows, one line per two pixels */
				if ((k & 1) == 0)
					OT_HINT(x0 + (size_t)8 * S + 8 * k);
				float16 d0 = vload16(0, s + (size_t)k * 32), d1 = vload16(1, s + (size_t)k * 32);
#define PC_FMA(i)                                                                         \
	{                                                                                 \
		float16 v_ = (float16)(x##i[k]);                                          \
		a##i##0 = fma(v_, d0, a##i##0), a##i##1 = fma(v_, d1, a##i##1);           \
	}
				PC_EACH8(PC_FMA)
			}
#define PC_STORE(i) vstore16(a##i##0, 0, at + 32 * i), vstore16(a##i##1, 1, at + 32 * i);
			PC_EACH8(PC_STORE)
		}
	}
	sums_out(part + po + (size_t)p * 32 * C, acc, C, 32);
	if (has_b) {
		vstore16(b0, 0, pb + pbo + (size_t)p * 32);
		vstore16(b1, 1, pb + pbo + (size_t)p * 32);
	}
}

/* dw [NW] += the sum over p < NP of part [p, NW]. */
__kernel void conv_add_parts(__global float *dw, ulong dwo, __global const float *part, ulong po,
                             int NW, int NP)
{
	int k = get_global_id(0);
	if (k >= NW)
		return;
	float s = 0.0f;
	for (int p = 0; p < NP; p++)
		s += part[po + (size_t)p * NW + k];
	dw[dwo + k] += s;
}

/* dst [G, Hd, Wd, Cp] = src [G, C, H, W] with the channels last, pixel
 * (r, j) of an image at row r, column j of its Hd x Wd grid, zero past H,
 * W and C (Cp a multiple of 16): an output gradient as conv_grid_weight
 * reads it, the Cp channels of a grid position contiguous.  A work-item
 * takes 16 channels of an image, its 16 planes read in order, by 16x16
 * tiles: 16 channels' vectors of 16 pixels in, transposed
 * (T16_TRANSPOSE), 16 pixels' vectors of 16 channels out, each a whole
 * line of dst, non-temporal for outputs of NT_BYTES or more.  A call for
 * the generator's 128->128 layer at 64 x 32^2 (33.5 MB; bench_conv,
 * TOMOGAN_CL_TIMING=1, an AMD EPYC VM, 4 runs alternating each step):
 * element by element, a work-item per grid row, 22.9-31.3 ms; by tiles,
 * a work-item per grid row (128 planes read a row at a time), 10.6-14.3;
 * by planes as here with plain stores, 5.7-6.9; non-temporal, 4.8-5.7
 * against 6.4-10.7.  For the critic's s2 64->64 (16.8 MB) the same
 * steps took 11.3-14.0, 3.9-7.8, 2.6-2.9 and 1.6-2.5 ms, and the layers'
 * backward fell by 5-15%.  Dimension 0 over Cp/16, 1 over G. */
#define EC_EACH16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
	X(13) X(14) X(15)
__kernel void embed_channels_last(__global float *dst, ulong dso, __global const float *src,
                                  ulong sro, int C, int H, int W, int Hd, int Wd, int Cp)
{
	int c0 = (int)get_global_id(0) * 16, g = get_global_id(1);
	if (c0 >= Cp)
		return;
	__global float *out = dst + dso + (size_t)g * Hd * Wd * Cp + c0;
	if (c0 >= C) {
		for (int j = 0; j < Hd * Wd; j++)
			vstore16((float16)(0.0f), 0, out + (size_t)j * Cp);
		return;
	}
#define EC_ROW(i)                                                                         \
	int h##i = c0 + i < C;                                                            \
	__global const float *in##i = src + sro + ((size_t)g * C + min(c0 + i, C - 1)) * H * W;
	EC_EACH16(EC_ROW)
	int nt = NT_OK && ((ulong)out & 63) == 0 &&
	         (size_t)get_global_size(1) * Hd * Wd * Cp * 4 >= NT_BYTES;
	for (int r = 0; r < Hd; r++) {
		__global float *o = out + (size_t)r * Wd * Cp;
		if (r >= H) {
			for (int j = 0; j < Wd; j++)
				vstore16((float16)(0.0f), 0, o + (size_t)j * Cp);
			continue;
		}
		for (int j0 = 0; j0 < Wd; j0 += 16, o += 16 * Cp) {
			int nl = min(16, W - j0);
#define EC_LOAD(i)                                                                        \
	float16 r##i = h##i && nl > 0 ? load16(in##i + (size_t)r * W + j0, nl) : (float16)(0.0f);
			EC_EACH16(EC_LOAD)
			T16_TRANSPOSE(r, t)
			if (nt && j0 + 16 <= Wd) {
#define EC_NT(i) NT_STORE16(r##i, o + (size_t)i * Cp);
				EC_EACH16(EC_NT)
			} else if (j0 + 16 <= Wd) {
				T16_STORE(r, o, Cp)
			} else {
#define EC_STORE(i)                                                                       \
	if (j0 + i < Wd)                                                                  \
		vstore16(r##i, 0, o + (size_t)i * Cp);
				EC_EACH16(EC_STORE)
			}
		}
	}
}

/* Weight gradient of a conv from the phase planes of its input, xq
 * [SH*SW, C, G, Hq, Wq] as conv_planes_forward reads them, and its output
 * gradient on the same grid with the channels last, dyt [G*Hq*Wq, OCp]
 * (embed_channels_last: zero at the positions past OH or OW and at the
 * channels past OC): tap (kh, kw) of dw[oc, c] is the sum over the grid
 * positions n < N of dyt[n, oc] * xq[c][view + n], the view being where
 * the forward reads that tap.  part [NP, KK, C, OCp] holds, for part p,
 * the sums over the positions [N*p/NP, N*(p+1)/NP).  A work-item takes 32
 * output channels (two vectors) of a part and walks it in chunks of
 * GW_CHUNK positions; per chunk, block of 8 input channels and tap, it
 * loads 16 accumulators from part (zeros in the first chunk), and per
 * position 2 vectors of dyt and 8 floats of xq for 16 FMAs, then stores
 * them back.  A chunk's dyt (16 KiB) stays in L1 over all channel blocks
 * and taps, so each of dy and x is read from memory about once per
 * block of 32 output channels (one GEMM per tap read both once per tap).
 * Channels past C read the last one and are not stored.  Dimension 0
 * over the blocks of 32 output channels, 1 over NP (NP <= N). */
#define GW_CHUNK 128
/* V vectors of output channels (2 or 4), CB input channels per block (8
 * or 6): the accumulators e, f and the vectors d2, d3 are dead code at
 * V = 2, the channels past CB at CB = 6 */
#define GW_INIT(j)                                                                  \
	__global const float *x##j = v + (size_t)min(c0 + j, C - 1) * cs;          \
	int in##j = n > n0 && c0 + j < C && j < CB;                                \
	float16 a##j = in##j ? vload16(0, out + j * OCp) : (float16)(0.0f);        \
	float16 b##j = in##j ? vload16(0, out + j * OCp + 16) : (float16)(0.0f);   \
	float16 e##j = in##j && V > 2 ? vload16(0, out + j * OCp + 32) : a##j;     \
	float16 f##j = in##j && V > 2 ? vload16(0, out + j * OCp + 48) : a##j;
#define GW_FMA(j)                                                                   \
	if (j < CB) {                                                               \
		float16 s_ = (float16)(x##j[t]);                                    \
		a##j = fma(s_, d0, a##j);                                           \
		b##j = fma(s_, d1, b##j);                                           \
		if (V > 2) {                                                        \
			e##j = fma(s_, d2, e##j);                                   \
			f##j = fma(s_, d3, f##j);                                   \
		}                                                                   \
	}
#define GW_STORE(j)                                                                 \
	if (j < CB && c0 + j < C) {                                                \
		vstore16(a##j, 0, out + j * OCp);                                  \
		vstore16(b##j, 0, out + j * OCp + 16);                             \
		if (V > 2) {                                                       \
			vstore16(e##j, 0, out + j * OCp + 32);                     \
			vstore16(f##j, 0, out + j * OCp + 48);                     \
		}                                                                  \
	}
#define CONV_GRID_WEIGHT(NAME, VECTORS, BLOCK)                                            \
__kernel void NAME(__global float *part, ulong po, __global const float *dyt, ulong dto,   \
                   __global const float *xq, ulong xqo, int C, int OCp, int G, int KH,     \
                   int KW, int SH, int SW, int PH, int PW, int qh0, int qw0, int Hq, int Wq, \
                   int N, int NP)                                                          \
{                                                                                          \
	const int V = VECTORS, CB = BLOCK;                                                 \
	int o0 = (int)get_global_id(0) * 16 * V, p = get_global_id(1);                     \
	int KK = KH * KW;                                                                  \
	int n0 = (int)((long)N * p / NP), n1 = (int)((long)N * (p + 1) / NP);              \
	size_t cs = (size_t)G * Hq * Wq;                                                   \
	__global float *pp = part + po + (size_t)p * KK * C * OCp + o0;                    \
	for (int n = n0; n < n1; n += GW_CHUNK) {                                          \
		int m = min(GW_CHUNK, n1 - n);                                             \
		__global const float *d = dyt + dto + (size_t)n * OCp + o0;                \
		for (int c0 = 0; c0 < C; c0 += CB) {                                       \
			for (int k = 0; k < KK; k++) {                                     \
				int kh = k / KW, kw = k - kh * KW;                         \
				int qh = floor_div(kh - PH, SH), rh = kh - PH - qh * SH;   \
				int qw = floor_div(kw - PW, SW), rw = kw - PW - qw * SW;   \
				__global const float *v = xq + xqo +                       \
				        (size_t)(rh * SW + rw) * C * cs +                  \
				        (size_t)(qh - qh0) * Wq + (qw - qw0) + n;          \
				__global float *out = pp + ((size_t)k * C + c0) * OCp;     \
				PL8_EACH(GW_INIT)                                          \
				for (int t = 0; t < m; t++) {                              \
					__global const float *dt = d + (size_t)t * OCp;    \
					float16 d0 = vload16(0, dt), d1 = vload16(0, dt + 16); \
					float16 d2 = V > 2 ? vload16(0, dt + 32) : d0;     \
					float16 d3 = V > 2 ? vload16(0, dt + 48) : d0;     \
					PL8_EACH(GW_FMA)                                   \
				}                                                          \
				PL8_EACH(GW_STORE)                                         \
			}                                                                  \
		}                                                                          \
	}                                                                                  \
}
CONV_GRID_WEIGHT(conv_grid_weight, 2, 8)
/* The weight gradient of a 3x3 conv with padding 1 and stride S (1, or 2
 * with W = 2*OW: the convs that conv_s1_forward and conv_s2_forward run),
 * as conv_grid_weight(64) but from x itself instead of its phase planes
 * (whose copy took 8.8 of the 52 ms of bench_conv's "D conv 3x3 s2
 * 64->64" backward): part [p, 9, C, OCp] = the sums over the rows
 * [NR*p/NP, NR*(p+1)/NP) of the NR = G*OH rows of dyt [G, OH, OW, OCp]
 * (embed_channels_last, no columns past OW).  Tap (kh, kw) of output
 * pixel (oh, ow) reads x at (S*oh + kh - 1, S*ow + kw - 1): rows outside
 * the image are skipped, and so are the columns [0, lo) and [hi, OW)
 * whose tap falls outside the row; the loop over the rest checks
 * nothing.  A chunk of GW_CHUNK / OW rows stays in L1 over the channel
 * blocks and taps, as in conv_grid_weight. */
#define SW_INIT(j)                                                                  \
	int in##j = !first && c0 + j < C && j < CB;                                 \
	float16 a##j = in##j ? vload16(0, out + j * OCp) : (float16)(0.0f);         \
	float16 b##j = in##j ? vload16(0, out + j * OCp + 16) : (float16)(0.0f);    \
	float16 e##j = in##j && V > 2 ? vload16(0, out + j * OCp + 32) : a##j;      \
	float16 f##j = in##j && V > 2 ? vload16(0, out + j * OCp + 48) : a##j;
#define SW_ROW(j) __global const float *x##j = xr + (size_t)min(c0 + j, C - 1) * plane;
#define CONV_3X3_WEIGHT(NAME, VECTORS, BLOCK)                                              \
__kernel void NAME(__global float *part, ulong po, __global const float *dyt, ulong dto,   \
                   __global const float *x, ulong xo, int C, int OCp, int H, int W, int OH, \
                   int OW, int S, int NR, int NP)                                          \
{                                                                                          \
	const int V = VECTORS, CB = BLOCK;                                                 \
	int o0 = (int)get_global_id(0) * 16 * V, p = get_global_id(1);                     \
	int r0 = (int)((long)NR * p / NP), r1 = (int)((long)NR * (p + 1) / NP);            \
	int CR = max(1, GW_CHUNK / OW);                                                    \
	size_t plane = (size_t)H * W;                                                      \
	__global float *pp = part + po + (size_t)p * 9 * C * OCp + o0;                     \
	for (int r = r0; r < r1; r += CR) {                                                \
		int rn = min(CR, r1 - r), first = r == r0;                                 \
		__global const float *d = dyt + dto + (size_t)r * OW * OCp + o0;           \
		for (int c0 = 0; c0 < C; c0 += CB) {                                       \
			for (int k = 0; k < 9; k++) {                                      \
				int kh = k / 3, kw = k - kh * 3;                           \
				/* the columns whose tap lies inside the row */            \
				int lo = kw == 0, hi = min(OW, (W - kw) / S + 1);          \
				__global float *out = pp + ((size_t)k * C + c0) * OCp;     \
				PL8_EACH(SW_INIT)                                          \
				for (int q = 0; q < rn; q++) {                             \
					int n = (r + q) / OH, oh = r + q - n * OH;         \
					int ih = S * oh + kh - 1;                          \
					if (ih < 0 || ih >= H)                             \
						continue;                                  \
					__global const float *xr = x + xo +                \
						((size_t)n * C * H + ih) * W + kw - 1;     \
					PL8_EACH(SW_ROW)                                   \
					__global const float *dq = d + (size_t)q * OW * OCp; \
					for (int ow = lo; ow < hi; ow++) {                 \
						int t = S * ow;                            \
						__global const float *dt =                 \
							dq + (size_t)ow * OCp;             \
						float16 d0 = vload16(0, dt);               \
						float16 d1 = vload16(0, dt + 16);          \
						float16 d2 = V > 2 ? vload16(0, dt + 32) : d0; \
						float16 d3 = V > 2 ? vload16(0, dt + 48) : d0; \
						PL8_EACH(GW_FMA)                           \
					}                                                  \
				}                                                          \
				PL8_EACH(GW_STORE)                                         \
			}                                                                  \
		}                                                                          \
	}                                                                                  \
}
CONV_3X3_WEIGHT(conv_3x3_weight, 2, 8)
CONV_3X3_WEIGHT(conv_3x3_weight64, 4, 6)

/* conv_grid_weight64, for OCp a multiple of 64: a work-item takes 64
 * output channels (four vectors) and blocks of 6 input channels, so per
 * position 4 vectors of dyt and 6 floats of xq feed 24 FMAs (10 loads
 * where the 32-channel kernel takes 15 for as many).  Kernel time with
 * TOMOGAN_CL_TIMING=1 build/bench_conv, two runs alternating with
 * conv_grid_weight: D s2 64->64 25.3-25.6 -> 20.0-20.5 ms, D s2 128->128
 * 22.0-24.3 -> 18.9-19.7, G 64->64 36.5-38.9 -> 32.6-32.9, D 64->128
 * 37.2-38.8 -> 33.6-35.9, G 128->64 73.1-75.5 -> 68.1-71.0; chunks of
 * 64 positions instead of 128 ran slower (D s2 64->64 25.8-26.3 ms).
 * Channels past C read the last one and are not stored. */
CONV_GRID_WEIGHT(conv_grid_weight64, 4, 6)

/* dw [OC, C, KK] += the sum over p < NP of part [p, KK, C, OCp]
 * (conv_grid_weight), OCp a multiple of 16.  One work-item per 16
 * elements of a part (16 output channels of a tap and input channel):
 * a vector from each part, asking for the line 16 work-items on, and
 * the channels below OC stored.  At G 128->128, 64 x 32^2 (32 parts of
 * 590 KB) a call took 5.3-6.5 ms with a work-item per element, 2.3-2.7
 * by vectors without hints and 1.7-2.1 with them; at D s2 64->64, 1.3-1.7
 * -> 0.4-0.6 ms (bench_conv, TOMOGAN_CL_TIMING=1, an AMD EPYC VM, 5 runs
 * alternating).  Dimension 0 over KK*C*OCp/16. */
__kernel void conv_grid_weight_add(__global float *dw, ulong dwo, __global const float *part,
                                   ulong po, int OC, int C, int KK, int OCp, int NP)
{
	int i = (int)get_global_id(0) * 16, n = KK * C * OCp;
	if (i >= n)
		return;
	int oc0 = i % OCp, r = i / OCp, c = r % C, k = r / C;
	if (oc0 >= OC)
		return;
	__global const float *q = part + po + i;
	float16 s = (float16)(0.0f);
	for (int p = 0; p < NP; p++, q += n) {
		OT_HINT(q + 16 * 16);
		s += vload16(0, q);
	}
	float t[16];
	vstore16(s, 0, t);
	for (int l = 0; l < 16 && oc0 + l < OC; l++)
		dw[dwo + ((size_t)(oc0 + l) * C + c) * KK + k] += t[l];
}

/* embed_phases for SW = 2: one work-item per row r of the two column
 * phases of (rh, c, g), both from one pass over the source row, which
 * embed_phases reads once per phase (from memory: the phases' planes are
 * far apart in its index space).  Rows as embed_phases: dimension 0
 * over Hd, 1 over SH*C*G. */
static void embed_pair_row(__global float *dst, ulong dso, __global const float *src, ulong sro,
                           int G, int C, int H, int W, int Hd, int Wd, int SH, int qh0, int qw0,
                           int r, int q)
{
	int g = q % G, c = (q / G) % C, rh = q / (G * C);
	size_t plane = (size_t)Hd * Wd;
	__global float *o0 = dst + dso + (((size_t)rh * 2 * C + c) * G + g) * plane + (size_t)r * Wd;
	__global float *o1 = o0 + (size_t)C * G * plane;
	int sr = SH * (r + qh0) + rh;
	if (sr < 0 || sr >= H) {
		for (int j = 0; j < Wd; j++)
			o0[j] = o1[j] = 0.0f;
		return;
	}
	__global const float *in = src + sro + ((size_t)(g * C + c) * H + sr) * (size_t)W;
	/* column j of phase rw holds source column 2*(j + qw0) + rw; both
	 * inside the row for j in [lo, hi) */
	int lo = clamp(-qw0, 0, Wd), hi = clamp(floor_div(W - 2, 2) - qw0 + 1, lo, Wd);
	for (int j = 0; j < lo; j++) {
		int s = 2 * (j + qw0);
		o0[j] = s >= 0 && s < W ? in[s] : 0.0f;
		o1[j] = s + 1 >= 0 && s + 1 < W ? in[s + 1] : 0.0f;
	}
	__global const float *p = in + 2 * qw0;
	int j = lo;
	/* 16 columns of both phases from 32 source floats at a time */
	for (; j + 16 <= hi; j += 16) {
		float16 a = vload16(0, p + 2 * j), b = vload16(0, p + 2 * j + 16);
		vstore16((float16)(a.even, b.even), 0, o0 + j);
		vstore16((float16)(a.odd, b.odd), 0, o1 + j);
	}
	for (; j < hi; j++) {
		float2 v = vload2(j, p);
		o0[j] = v.s0;
		o1[j] = v.s1;
	}
	for (int j = hi; j < Wd; j++) {
		int s = 2 * (j + qw0);
		o0[j] = s >= 0 && s < W ? in[s] : 0.0f;
		o1[j] = s + 1 >= 0 && s + 1 < W ? in[s + 1] : 0.0f;
	}
}

__kernel void embed_phases_pairs(__global float *dst, ulong dso, __global const float *src,
                                 ulong sro, int G, int C, int H, int W, int Hd, int Wd, int SH,
                                 int qh0, int qw0)
{
	int q = get_global_id(1);
	for (int r = get_global_id(0); r < Hd; r += get_global_size(0))
		embed_pair_row(dst, dso, src, sro, G, C, H, W, Hd, Wd, SH, qh0, qw0, r, q);
}

/* ---- the data gradient of a strided conv by phases (nn/conv.c
 * phase_data_gradient) ----
 * Input pixel ih = SH*i + rh of a conv with stride SH takes the output
 * rows oh = i + d for the taps kh = rh + PH - SH*d: phase rh of dx is a
 * stride-1 correlation of dy with those taps, d running over a range
 * [h0, h0 + nh) (nh may be 0).  Likewise for the columns. */

/* wt = w's taps for the phases of its data gradient: phase (rh, rw) at
 * wt + (rh*SW + rw)*blk holds [nh*nw, OC, C] (as conv_planes_forward
 * reads the weights of a conv of OC input and C output channels), its tap
 * (a, b) being w's (rh + PH - SH*(h0 + a), rw + PW - SW*(w0 + b)).  One
 * work-item per element of w [OC, C, KH, KW]. */
__kernel void taps_phases(__global float *wt, ulong wto, __global const float *w, ulong wo,
                          int OC, int C, int KH, int KW, int SH, int SW, int PH, int PW,
                          ulong blk)
{
	int i = get_global_id(0);
	if (i >= OC * C * KH * KW)
		return;
	int kw = i % KW, r = i / KW, kh = r % KH;
	r /= KH;
	int c = r % C, oc = r / C;
	int qh = floor_div(kh - PH, SH), rh = kh - PH - qh * SH;
	int qw = floor_div(kw - PW, SW), rw = kw - PW - qw * SW;
	/* the phase's smallest offsets, and its taps per row */
	int h0 = -floor_div(KH - 1 - PH - rh, SH), w0 = -floor_div(KW - 1 - PW - rw, SW);
	int nw = floor_div(PW + rw, SW) - w0 + 1;
	int a = -qh - h0, b = -qw - w0;
	wt[wto + (size_t)(rh * SW + rw) * blk + ((size_t)(a * nw + b) * OC + oc) * C + c] =
		w[wo + i];
}

/* dx [GC, H, W] (GC = images times channels) from the phases
 * t [SH*SW, GC, Hm, Wm]: pixel (ih, iw) is pixel (ih / SH, iw / SW) of
 * phase (ih % SH, iw % SW).  One work-item per row of dx: dimension 0
 * over H, 1 over GC. */
__kernel void interleave_phases(__global float *dx, ulong dxo, __global const float *t,
                                ulong to, int GC, int H, int W, int Hm, int Wm, int SH, int SW)
{
	int ih = get_global_id(0), gc = get_global_id(1);
	if (ih >= H)
		return;
	int rh = ih % SH, i = ih / SH;
	size_t ps = (size_t)GC * Hm * Wm;
	__global const float *in = t + to + (size_t)rh * SW * ps + ((size_t)gc * Hm + i) * Wm;
	__global float *out = dx + dxo + ((size_t)gc * H + ih) * W;
	if (SW == 2) {
		int n = W / 2;
		for (int j = 0; j < n; j++)
			vstore2((float2)(in[j], in[ps + j]), j, out);
		if (W & 1)
			out[W - 1] = in[n];
	} else {
		for (int iw = 0; iw < W; iw++)
			out[iw] = in[(iw % SW) * ps + iw / SW];
	}
}

/* y [B, 1, H, W] = w * x (+ b[0] if has_b) for a stride-1 5x5 conv with
 * padding 2 on both axes (so OH == H, OW == W) and one output channel, x
 * [B, C, H, W], w [1, C, 5, 5], on rows of 16 to 63 (SRCNN's 5x5 32->1 at
 * 33x33).  A unit is STR_R output rows of one image; a work-item takes
 * units [U*p/NP, U*(p+1)/NP) of the U = B * ceil(H/STR_R).  Its scratch
 * holds one channel's STR_R + 4 input rows, zero-padded (a row at column
 * 16, so that the copy's stores are aligned but the last; zero columns
 * 14-15 and W + 16 to W + 17, rows above and below the image zero), rows
 * of Wp floats, and after them the unit's sums, STR_R vectors of 16 per
 * strip.  (With the rows at column 2, where every store of the copy
 * crossed two cache lines, the kernel took a median 1.89 and 2.03 ms
 * against 1.74 and 1.85, two sets of eight runs alternating, SRCNN's layer
 * at 128 x 33^2, TOMOGAN_CL_TIMING=1, AMD EPYC.)  Per input channel it
 * copies that channel's rows into the scratch (the zeros stay from the
 * unit's start), then per strip of 16 output columns loads the strip's
 * sums, runs STR_CORE: per kernel column kw, the 5 taps' weights as
 * broadcasts and the STR_R + 4 windows of 16 inputs, each window
 * multiplied into the up to 5 output rows it reaches, one accumulator a
 * row: 5 loads and 5 broadcasts for 25 FMAs a row, no masks; and stores
 * the sums back.  Rows and sums, 6 KB at 33 columns, stay in the L1 cache:
 * copying a unit's rows of all channels first and then running each strip
 * over the channels (92 KB of scratch, in L2) took 2.30 ms (median)
 * against 2.03 for SRCNN's layer at 128 x 33^2, and 2.03 against 1.83 by
 * the lower quartile (bench_conv, TOMOGAN_CL_TIMING=1, ten runs
 * alternating, AMD EPYC; with no copy at all, wrong sums, 1.5).  Where 8
 * or fewer columns are left, the last strip has 8 columns at W - 8
 * (vectors of 8, half the cost), else it starts at W - 16 and overlaps the
 * one before, whose columns it rewrites with the same values: 33 of 40
 * lanes useful on 33-wide rows (a third strip of 16 took 2.8-3.1 ms
 * against 2.6-2.8, four runs alternating).  While a channel computes, it
 * asks for the rows of the channel two on (at the unit's last two
 * channels, the next unit's first two) into L2 (OT_HINT_L2; without hints
 * the layer took 3.1 ms against 2.6, and four channels ahead or into L1
 * gained nothing).  Each output is the bias, then per channel the taps by
 * kernel column, then by kernel row.  At 4 x 256^2 conv_oc1_tile_5x5 takes
 * the layer (this scheme with a unit's copy of 33.5 MB took 3.9-4.6 ms
 * against 3.2-3.6), and conv_c1_flat_forward its data gradient at 33x33
 * (the same scheme on dy, the output channels one after another on the
 * same rows, took the time of the kernel then in use).  scr holds NP areas
 * of STRIPS_AREA floats (nn/conv.c) at so, Wp a multiple of 16 and at
 * least W + 18.  Dimension 0 over NP. */
#define STR_K 5
#define STR_R 11
#define STR_CORE(acc, sp, Wp, wp, VT, VLOAD)                                             \
	for (int kw = 0; kw < STR_K; kw++) {                                              \
		VT wv[STR_K];                                                             \
		_Pragma("unroll") for (int kh = 0; kh < STR_K; kh++)                     \
			wv[kh] = (VT)((wp)[kh * STR_K + kw]);                             \
		_Pragma("unroll") for (int t = 0; t < STR_R + STR_K - 1; t++)           \
		{                                                                         \
			VT v_ = VLOAD(0, (sp) + (size_t)t * (Wp) + kw);                   \
			_Pragma("unroll") for (int kh = 0; kh < STR_K; kh++)             \
				if (t - kh >= 0 && t - kh < STR_R)                        \
					acc[t - kh] = fma(wv[kh], v_, acc[t - kh]);       \
		}                                                                         \
	}
/* The strip at column c0 (k-th) in vectors VT (float16 or float8, with
 * their loads and stores): its STR_R sums from ya, the channel's taps,
 * the sums back. */
#define STR_STRIP(VT, VLOAD, VSTORE)                                                      \
	{                                                                                 \
		__global float *ys = ya + (size_t)k * STR_R * 16;                         \
		VT acc[STR_R];                                                            \
		_Pragma("unroll") for (int i = 0; i < STR_R; i++) acc[i] =                \
			VLOAD(0, ys + 16 * i);                                            \
		STR_CORE(acc, s + 14 + c0, Wp, wp, VT, VLOAD)                             \
		_Pragma("unroll") for (int i = 0; i < STR_R; i++)                        \
			VSTORE(acc[i], 0, ys + 16 * i);                                   \
	}
/* The rows [r0, r1) of a plane xp [H, W] into s [STR_R + 4, Wp] from row
 * r0 - ih0 on, at column 16: whole vectors, the last one ending at the
 * row's end (W >= 16).  A strip's windows start at column 14 + c0. */
static void str_rows(__global float *s, __global const float *xp, int W, int Wp, int ih0,
                     int r0, int r1)
{
	__global const float *xr = xp + (size_t)r0 * W;
	__global float *sr = s + (size_t)(r0 - ih0) * Wp + 16;
	for (int r = r0; r < r1; r++, xr += W, sr += Wp) {
		int j = 0;
		for (; j + 16 <= W; j += 16)
			ST16U(LD16U(xr + j), sr + j);
		if (j < W)
			ST16U(LD16U(xr + W - 16), sr + W - 16);
	}
}

__kernel void conv_oc1_strips_5x5(__global float *y, ulong yo, __global const float *x,
                                  ulong xo, __global const float *w, ulong wo,
                                  __global const float *b, ulong bo, int has_b,
                                  __global float *scr, ulong so, int B, int NP, int C, int H,
                                  int W, int Wp)
{
	int p = get_global_id(0);
	if (p >= NP)
		return;
	int nb = (H + STR_R - 1) / STR_R, U = B * nb, ns = (W + 15) / 16;
	size_t band = (size_t)(STR_R + STR_K - 1) * Wp, P = (size_t)H * W;
	size_t area = (band + (size_t)ns * STR_R * 16 + 15) / 16 * 16;
	__global float *s = scr + so + (size_t)p * area, *ya = s + band;
	float bias = has_b ? b[bo] : 0.0f;
	int u1 = (int)((long)U * (p + 1) / NP);
	for (int u = (int)((long)U * p / NP); u < u1; u++) {
		int n = u / nb, oh0 = (u - n * nb) * STR_R, ih0 = oh0 - 2;
		int r0 = max(ih0, 0), r1 = min(ih0 + STR_R + STR_K - 1, H);
		__global const float *xn = x + xo + (size_t)n * C * P;
		/* the next unit's rows, asked for during this one's last two
		 * channels (its first two, where it has them) */
		int nn = (u + 1) / nb, qh0 = ((u + 1) - nn * nb) * STR_R - 2;
		int q0 = max(qh0, 0), q1 = min(qh0 + STR_R + STR_K - 1, H);
		__global const float *xq = x + xo + (size_t)nn * C * P;
		/* zeros that no channel's rows overwrite: rows outside the
		 * image, columns 0, 1, W + 2 and W + 3 */
		for (size_t j = 0; j < band; j += 16)
			vstore16((float16)(0.0f), 0, s + j);
		for (int i = 0; i < ns * STR_R; i++)
			vstore16((float16)(bias), i, ya);
		for (int c = 0; c < C; c++) {
			str_rows(s, xn + (size_t)c * P, W, Wp, ih0, r0, r1);
			__global const float *pf = c + 2 < C ? xn + ((size_t)(c + 2) * H + r0) * W
			                           : xq + ((size_t)(c + 2 - C) * H + q0) * W;
			int span = c + 2 < C                    ? (r1 - r0) * W
			           : u + 1 < u1 && c + 2 - C < C ? (q1 - q0) * W
			                                         : 0;
			for (int j = 0; j < span; j += 16)
				OT_HINT_L2(pf + j);
			__global const float *wp = w + wo + (size_t)c * STR_K * STR_K;
			for (int st = 0, k = 0; st < W; st += 16, k++) {
				int c0 = min(st, W - 16);
				if (W - st <= 8 && st > 0) {
					c0 = W - 8;
					STR_STRIP(float8, vload8, vstore8)
				} else {
					STR_STRIP(float16, vload16, vstore16)
				}
			}
		}
		__global float *yn = y + yo + (size_t)n * P + (size_t)oh0 * W;
		for (int st = 0, k = 0; st < W; st += 16, k++) {
			__global const float *ys = ya + (size_t)k * STR_R * 16;
			__global float *yr = yn + min(st, W - 16);
			for (int i = 0; i < STR_R && oh0 + i < H; i++, ys += 16, yr += W) {
				if (W - st <= 8 && st > 0)
					vstore8(vload8(0, ys), 0, yr + 8);
				else
					vstore16(vload16(0, ys), 0, yr);
			}
		}
	}
}
